#!/bin/bash
# Network intelligence over the whole URLhaus online-list history (762 snapshots, ~63,000
# indicators, ~150,000 runs): ingest it, import the full IPv4/IPv6 ASN tables and the hosting
# ranges, then time the recomputation from scratch of every survival curve and network score:
#   lifetimes            all indicators: both Kaplan-Meier curves, medians, CIs, one-day share
#   networks --by asn    every indicator attributed, space swept, every network's curves,
#                        figures, score and verdict (end to end, including the ASN table load)
#   lifetimes --by asn   the same plus every network's curves printed
#   report               both passes (by ASN and by country) and the HTML
# Each is run RUNS times and the best wall time kept; `networks --timing` gives the split.
#
#   bench/intel_bench.sh [SHERIFF_BINARY] [RUNS]
# env: HISTORY (default ../shared/data/history/urlhaus-filter-online-2019-06_2020-06.tar.xz),
#      DATA (default ../shared/data), KEEP=DIR to keep the database there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SHERIFF=$(readlink -f "${1:-$root/build/src/cli/sheriff}")
RUNS=${2:-5}
DATA=${DATA:-$root/../shared/data}
HISTORY=${HISTORY:-$DATA/history/urlhaus-filter-online-2019-06_2020-06.tar.xz}
[ -f "$HISTORY" ] || { echo "no history at $HISTORY (set HISTORY)" >&2; exit 1; }
W=${KEEP:-$(mktemp -d /tmp/sheriff-intel-bench.XXXXXX)}
mkdir -p "$W"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
DB=$W/intel.db

now() { date +%s.%N; }
if [ ! -f "$DB" ]; then
	tar xJf "$HISTORY" -C "$W"
	mapfile -t files < <(find "$W" -name '*.txt' | sort)
	t0=$(now)
	"$SHERIFF" ingest --db "$DB" "${files[@]}" 2> "$W/ingest.log"
	t1=$(now)
	"$SHERIFF" asmap import --db "$DB" --format ipldb --as-of 2026-06-17 \
		"$DATA/asn/asn-ipv4.csv.gz" "$DATA/asn/asn-ipv6.csv.gz" 2>/dev/null
	"$SHERIFF" asmap import --db "$DB" "$DATA/country/geo-whois-asn-country.mmdb" 2>/dev/null
	"$SHERIFF" hosting import --db "$DB" "$DATA"/hosting/*.json.gz 2>/dev/null
	t2=$(now)
	printf 'setup: ingest of %d snapshots %.1f s, tables and hosting ranges %.1f s\n' \
		"${#files[@]}" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
	tail -1 "$W/ingest.log"
	find "$W" -name '*.txt' -delete
fi
echo "indicators: $(sqlite3 "$DB" 'select count(*) from indicator'), runs: $(sqlite3 "$DB" 'select count(*) from run')"
cat "$DB" > /dev/null # warm the page cache

best() { # LABEL COMMAND...: best wall time of RUNS runs
	local label=$1 b=999 t0 t1 d
	shift
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$@" > /dev/null 2>&1
		t1=$(now)
		d=$(echo "$t1 - $t0" | bc)
		b=$(echo "if ($d < $b) $d else $b" | bc)
	done
	printf '%-40s %8.3f s\n' "$label" "$b"
}

echo
printf '%-40s %10s\n' "recomputation from scratch (best of $RUNS)" "wall"
best "lifetimes (all indicators)" "$SHERIFF" lifetimes --db "$DB" --json
best "networks --by asn (end to end)" "$SHERIFF" networks --db "$DB" --by asn --limit 0 --json
best "networks --by asn --hosting-only" "$SHERIFF" networks --db "$DB" --by asn --hosting-only --json
best "lifetimes --by asn (every network)" "$SHERIFF" lifetimes --db "$DB" --by asn --limit 0 --json
best "networks --by country" "$SHERIFF" networks --db "$DB" --by country --limit 0 --json
best "report (asn + country passes, HTML)" "$SHERIFF" report --db "$DB" --out "$W/report.html"
echo
echo "split of one 'networks --by asn' run:"
"$SHERIFF" networks --db "$DB" --by asn --limit 0 --json --timing 2>&1 >/dev/null | tail -2
echo
"$SHERIFF" lifetimes --db "$DB"
echo
"$SHERIFF" networks --db "$DB" --by asn --hosting-only --limit 15 2>/dev/null
