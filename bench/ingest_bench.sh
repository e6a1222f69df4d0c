#!/bin/bash
# End-to-end ingest of the whole URLhaus online-list history (762 snapshots) into SQLite:
# sheriff side by side with the few lines of Python a user would write instead
# (shared/bench/py_ingest_baseline.py), in the same run, then a check that sheriff's per-host
# first seen / last seen / closed runs equal the baseline's tables.
#
#   bench/ingest_bench.sh [SHERIFF_BINARY] [RUNS]
# env: HISTORY=<tar.xz of snapshots> (default ../shared/data/history/urlhaus-filter-online-2019-06_2020-06.tar.xz)
#      BASELINE=<py_ingest_baseline.py> (default ../shared/bench/py_ingest_baseline.py)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SHERIFF=$(readlink -f "${1:-$root/build/src/cli/sheriff}")
RUNS=${2:-3}
HISTORY=${HISTORY:-$root/../shared/data/history/urlhaus-filter-online-2019-06_2020-06.tar.xz}
BASELINE=${BASELINE:-$root/../shared/bench/py_ingest_baseline.py}
[ -f "$HISTORY" ] || { echo "no history at $HISTORY (set HISTORY)" >&2; exit 1; }
W=$(mktemp -d /tmp/sheriff-ingest-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
tar xJf "$HISTORY" -C "$W"
mapfile -t files < <(find "$W" -name '*.txt' | sort)
echo "snapshots: ${#files[@]}, lines: $(cat "${files[@]}" | grep -vc '^!')"
cat "${files[@]}" > /dev/null  # warm the page cache for both

now() { date +%s.%N; }
best_sheriff=999 best_py=999
for r in $(seq "$RUNS"); do
	rm -f "$W"/s.db* "$W"/p.db*
	t0=$(now); "$SHERIFF" ingest --db "$W/s.db" "${files[@]}" 2> "$W/s.log"; t1=$(now)
	python3 "$BASELINE" "$W/p.db" "${files[@]}" > "$W/p.log"; t2=$(now)
	s=$(echo "$t1 - $t0" | bc); p=$(echo "$t2 - $t1" | bc)
	printf 'run %d: sheriff %.2f s, python baseline %.2f s\n' "$r" "$s" "$p"
	best_sheriff=$(echo "if ($s < $best_sheriff) $s else $best_sheriff" | bc)
	best_py=$(echo "if ($p < $best_py) $p else $best_py" | bc)
done
echo
printf '%-26s %10s %8s\n' "ingest (best of $RUNS)" seconds ratio
printf '%-26s %10.2f %8s\n' "python baseline" "$best_py" "1.0x"
printf '%-26s %10.2f %7.1fx\n' "sheriff" "$best_sheriff" "$(echo "$best_py / $best_sheriff" | bc -l)"
echo "sheriff: $(tail -1 "$W/s.log")"
echo "baseline: $(cat "$W/p.log")"

# equality with the baseline's ind and run tables
python3 "$here/ingest_compare.py" "$W/p.db" "$SHERIFF" "$W/s.db" "${files[@]}"
