#!/bin/bash
# Respawn linking over the URLhaus online-list history: time and peak memory of linking the
# first half of the snapshots and all of them (store read, attribution to networks as of first
# sight, the time-ordered linking pass, campaigns), then the no-look-ahead replay: of the
# indicators first seen after the first 90 days, how many sheriff listed at first sight
# (linked to a takedown, or landing on live campaign infrastructure), and what that
# infrastructure listing covered. Also the BPH-verdict route's ceiling: new indicators in
# networks whose verdict is bph with all the data (look-ahead, so an upper bound).
#
#   bench/campaign_bench.sh [SHERIFF_BINARY] [RUNS]
# env: HISTORY (default ../shared/data/history/urlhaus-filter-online-2019-06_2020-06.tar.xz),
#      DATA (default ../shared/data), KEEP=DIR to keep the databases there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SHERIFF=$(readlink -f "${1:-$root/build/src/cli/sheriff}")
RUNS=${2:-5}
DATA=${DATA:-$root/../shared/data}
HISTORY=${HISTORY:-$DATA/history/urlhaus-filter-online-2019-06_2020-06.tar.xz}
[ -f "$HISTORY" ] || { echo "no history at $HISTORY (set HISTORY)" >&2; exit 1; }
W=${KEEP:-$(mktemp -d /tmp/sheriff-campaign-bench.XXXXXX)}
mkdir -p "$W"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT

build() { # DB N: the first N snapshots (0: all), with the network tables
	local db=$1 n=$2
	[ -f "$db" ] && return
	mapfile -t files < <(find "$W/h" -name '*.txt' | sort)
	[ "$n" -gt 0 ] && files=("${files[@]:0:$n}")
	"$SHERIFF" ingest --db "$db" "${files[@]}" 2>/dev/null
	"$SHERIFF" asmap import --db "$db" --format ipldb --as-of 2026-06-17 \
		"$DATA/asn/asn-ipv4.csv.gz" "$DATA/asn/asn-ipv6.csv.gz" 2>/dev/null
	"$SHERIFF" hosting import --db "$db" "$DATA"/hosting/*.json.gz 2>/dev/null
}
if [ ! -f "$W/all.db" ] || [ ! -f "$W/half.db" ]; then
	mkdir -p "$W/h"
	tar xJf "$HISTORY" -C "$W/h"
	total=$(find "$W/h" -name '*.txt' | wc -l)
	build "$W/half.db" $((total / 2))
	build "$W/all.db" 0
	rm -rf "$W/h"
fi

measure() { # LABEL DB: best wall time of RUNS, peak RSS, the split
	local label=$1 db=$2 best=999 rss=0 t
	cat "$db" > /dev/null
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M' -o "$W/time" "$SHERIFF" campaigns --db "$db" --timing \
			--limit 0 > /dev/null 2> "$W/timing"
		read -r t r < "$W/time"
		best=$(echo "if ($t < $best) $t else $best" | bc)
		[ "$r" -gt "$rss" ] && rss=$r
	done
	printf '%-5s %8s indicators %7s runs  best %6.2f s  peak RSS %6.1f MiB  (%s)\n' "$label" \
		"$(sqlite3 "$db" 'select count(*) from indicator')" \
		"$(sqlite3 "$db" 'select count(*) from run')" "$best" "$(echo "$rss / 1024" | bc -l)" \
		"$(sed 's/^campaigns: //' "$W/timing")"
}
echo "## linking (campaigns end to end, best of $RUNS)"
measure half "$W/half.db"
measure all "$W/all.db"

echo
echo "## largest campaigns (whole history)"
"$SHERIFF" campaigns --db "$W/all.db" --limit 12

echo
echo "## replay: first sight after the first 90 days, no look-ahead"
for w in 3d 7d; do
	echo "# --window $w"
	"$SHERIFF" campaigns --db "$W/all.db" --replay-after 90d --window "$w"
done

echo
echo "## ceiling of the BPH-verdict route (verdicts from all the data: look-ahead)"
"$SHERIFF" networks --db "$W/all.db" --by asn --json --limit 0 2> /dev/null > "$W/asn.json"
"$SHERIFF" networks --db "$W/all.db" --by prefix --json --limit 0 2> /dev/null > "$W/pfx.json"
"$SHERIFF" respawns --db "$W/all.db" --first-sight --json > "$W/fs.json"
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
bph_asn = {n['asn'] for n in map(json.loads, open(w + '/asn.json')) if n['verdict'] == 'bph'}
bph_pfx = {n['key'] for n in map(json.loads, open(w + '/pfx.json')) if n['verdict'] == 'bph'}
fs = [json.loads(l) for l in open(w + '/fs.json')]
start = min(x['first_seen'] for x in fs)
import datetime
t0 = (datetime.datetime.fromisoformat(start.replace('Z', '+00:00')) + datetime.timedelta(days=90)).isoformat().replace('+00:00', 'Z')
new = [x for x in fs if x['first_seen'] >= t0]
hit = [x for x in new if x['asn'] in bph_asn or x['prefix'] in bph_pfx]
either = [x for x in new if x['linked'] or x['on_live_infrastructure'] or x in hit]
print(f"{len(bph_asn)} ASNs and {len(bph_pfx)} prefixes have a bph verdict; "
      f"{len(hit)} of {len(new)} new indicators ({100 * len(hit) / len(new):.2f}%) are in them; "
      f"with the campaign route: {len(either)} ({100 * len(either) / len(new):.1f}%)")
PY
