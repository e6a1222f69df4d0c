#!/bin/sh
# Installs what is missing, builds sheriff and runs its main job on the sample data shipped in
# tests/data: import a network table and hosting ranges, ingest 80 real snapshots of the URLhaus
# online list plus one file of each other feed format, then print lookups and the busiest
# networks. The database is left in build/demo.db for further commands.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build >/dev/null
S=build/src/cli/sheriff
DB=build/demo.db
W=build/demo
rm -rf "$DB" "$DB-wal" "$DB-shm" "$W"
mkdir -p "$W"
tar xJf tests/data/history/urlhaus-filter-slice.tar.xz -C "$W"

step() { printf '\n== %s\n$ %s\n' "$1" "$2"; }

step "network table (ip-location-db slice) and hosting ranges" "sheriff asmap import ...; sheriff hosting import ..."
$S asmap import --db $DB --format ipldb --as-of 2019-08-01 tests/data/asn-demo/asn-ipv4-demo.csv.gz \
	tests/data/asn-demo/country-ipv4-demo.csv.gz
$S hosting import --db $DB tests/data/hosting/*.json.gz

step "80 snapshots of the URLhaus online list, 2019-08-10 .. 2019-09-20" "sheriff ingest build/demo/urlhaus-filter/*.txt"
$S ingest --db $DB "$W"/urlhaus-filter/*.txt

F=tests/data/feeds
step "one real file of each other feed" "sheriff ingest urlhaus CSV, Feodo, Spamhaus DROP, ThreatFox, PhishTank, ipsum, FireHOL, STIX"
$S ingest --db $DB $F/urlhaus_csv_online_2026-08-18_head.csv $F/feodo_ipblocklist_2024-04-04.csv \
	$F/spamhaus_drop_v4_2025-03-03.json $F/threatfox_export_json_2026-10-07_first26.json \
	$F/phishtank_online_valid_2026-08-18_head.csv $F/ipsum_2026-08-22_head.txt \
	$F/spamhaus_edrop_2015-11-03.netset $F/stix_bundle_sample.json

step "lookups" "sheriff lookup 79.39.88.20 mutec.jp http://176.65.139.212/eclipse.sh4 176.65.139.1 10.0.0.1"
$S lookup --db $DB 79.39.88.20 mutec.jp 'http://176.65.139.212/eclipse.sh4' 176.65.139.1 10.0.0.1

step "busiest networks (indicators attributed by their first sighting)" "sheriff networks --by asn --limit 10"
$S networks --db $DB --by asn --limit 10

printf '\nDatabase: %s (try: %s lookup --db %s --json 79.39.88.20)\n' "$DB" "$S" "$DB"
