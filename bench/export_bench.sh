#!/bin/bash
# Export speed: a store with one million listings (synthetic but shaped like real feeds:
# addresses, prefixes, domains, URLs on hosts and on bare IPs, several sources and threats),
# built with the real CLI, then every export format timed (the median of RUNS runs, output to a
# file in the work directory, replacing the previous run's output as a real publisher does),
# beside `sort -u` over the same one million lines as a yardstick. Wall and CPU (user + system,
# summed over threads) time are both reported, and the wall time as a multiple of sort -u's.
#
#   bench/export_bench.sh [SHERIFF_BINARY] [RUNS] [N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SHERIFF=$(readlink -f "${1:-$root/build/src/cli/sheriff}")
RUNS=${2:-5}
N=${3:-1000000}
W=$(mktemp -d /tmp/sheriff-export-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

# Three plain-list sources at one snapshot time each: 60% single IPv4, 5% prefixes, 25%
# domains, 10% URLs (half on bare IPs). Addresses avoid special-purpose space.
python3 - "$W" "$N" <<'PY'
import random, sys
w, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
bad_first = {0, 10, 100, 127, 169, 172, 192, 198, 203} | set(range(224, 256))
tlds = ['com', 'net', 'org', 'ru', 'xyz', 'top', 'info', 'cn', 'br', 'de']
words = ['mail', 'cdn', 'files', 'update', 'secure', 'login', 'shop', 'web', 'api', 'app']
def ip():
    while True:
        a = rnd.randrange(1, 224)
        if a not in bad_first:
            return '%d.%d.%d.%d' % (a, rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
def name():
    label = ''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(rnd.randrange(6, 14)))
    sub = rnd.choice(words) + '.' if rnd.random() < 0.3 else ''
    return sub + label + '.' + rnd.choice(tlds)
seen = set()
lines = []
while len(lines) < n:
    r = rnd.random()
    if r < 0.60:
        v = ip()
    elif r < 0.65:
        p = rnd.choice([16, 20, 22, 23, 24, 24, 24])
        a = [int(x) for x in ip().split('.')]
        x = (a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) & (0xffffffff << (32 - p))
        v = '%d.%d.%d.%d/%d' % (x >> 24, x >> 16 & 255, x >> 8 & 255, x & 255, p)
    elif r < 0.90:
        v = name()
    elif r < 0.95:
        v = 'http://%s/%s/%s.exe' % (name(), rnd.choice(words), rnd.randrange(10**6))
    else:
        v = 'http://%s:%d/bins/mozi.%s' % (ip(), rnd.choice([80, 8080, 52869]), rnd.choice(['a', 'm', 'sh']))
    if v not in seen:
        seen.add(v)
        lines.append(v)
open('%s/all.txt' % w, 'w').write('\n'.join(lines) + '\n')
for k, src in enumerate(['urlhaus-bench', 'feodo-bench', 'abuse-bench']):
    with open('%s/%s.txt' % (w, src), 'w') as f:
        f.write('! Updated: Fri, 07 Feb 2020 12:00:00 UTC\n')
        f.write('\n'.join(lines[k::3]) + '\n')
PY
t0=$(date +%s.%N)
"$SHERIFF" ingest --db "$W/s.db" "$W"/urlhaus-bench.txt "$W"/feodo-bench.txt "$W"/abuse-bench.txt 2> "$W/ingest.log"
t1=$(date +%s.%N)
echo "store: $N indicators ingested in $(echo "$t1 - $t0" | bc) s"
AT=2020-02-07T13:00:00Z

median() {  # median CMD...: median wall and CPU (user + system) seconds of RUNS runs, "wall cpu"
	local ws=() cs=() line
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -o "$W/time" -f '%e %U %S' "$@" > /dev/null 2>&1 || true
		line=$(tail -1 "$W/time")
		ws+=("$(echo "$line" | awk '{ print $1 }')")
		cs+=("$(echo "$line" | awk '{ print $2 + $3 }')")
	done
	printf '%.2f %.2f' "$(printf '%s\n' "${ws[@]}" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')" \
		"$(printf '%s\n' "${cs[@]}" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; median of $RUNS runs"
printf '%-22s %8s %8s %8s %12s %10s\n' format "wall (s)" "cpu (s)" "x sort" "entries" "MB"
ys=$(median sort -u -o "$W/sorted" "$W/all.txt")
yw=${ys%% *}
printf '%-22s %8s %8s %8s %12s %10s\n' "sort -u (yardstick)" $ys 1.00 "$(wc -l < "$W/all.txt")" \
	"$(echo "scale=1; $(stat -c %s "$W/all.txt") / 1048576" | bc)"
for spec in csv json rbldnsd:ip4trie rbldnsd:dnset rpz zone:ip4 zone:domain drop drop-json nft \
	ipset suricata zeek stix misp; do
	fmt=${spec%%:*}
	args=(--db "$W/s.db" --at $AT --format "$fmt" --force)
	[ "$spec" != "$fmt" ] && args+=(--kind "${spec#*:}")
	out=$W/out-${spec/:/-}
	[ "$fmt" = suricata ] || [ "$fmt" = misp ] || out=$out.txt
	# a first export makes the state (STIX and MISP versions) that the timed ones find
	entries=$("$SHERIFF" export "${args[@]}" --out "$out" --json 2> /dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])')
	t=$(median "$SHERIFF" export "${args[@]}" --out "$out")
	x=$(echo "${t%% *} $yw" | awk '{ printf "%.2f", $1 / $2 }')
	mb=$(du -sb --exclude='.*' "$out" | awk '{ printf "%.1f", $1 / 1048576 }')
	printf '%-22s %8s %8s %8s %12s %10s\n' "$spec" $t "$x" "$entries" "$mb"
	rm -rf "$out" "$W/.${out##*/}".*  # with its state and spare
done
