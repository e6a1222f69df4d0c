# The constructed store of the network-intelligence tests, sourced by them: a hoster (AS64500,
# 45.0.0.0/22, in hosting ranges) keeping 4 indicators up for weeks, which earns the bph
# verdict; an ISP (AS64501) with 3,000 one-day infections; a network (AS64502) with a single
# indicator. 120 snapshots every 12 h from 2020-06-01.
bph_store() {  # bph_store DIR: builds DIR/c.db (and its inputs in DIR)
	mkdir -p "$1"
	cat > "$1/c.csv" <<'CSV'
45.0.0.0,45.0.3.255,64500,Example Bulletproof Ltd
60.0.0.0,60.63.255.255,64501,Example Broadband ISP
61.1.1.0,61.1.1.255,64502,Lonely Net
CSV
	printf '{"IPv4Prefixes": ["45.0.0.0/22"]}\n' > "$1/examplehost.json"
	python3 - "$1/snaps" <<'PY'
import os, sys, time
d = sys.argv[1]; os.makedirs(d)
t0 = 1590969600  # 2020-06-01T00:00:00Z
for k in range(120):  # every 12 h for 60 days
    t = t0 + k * 43200
    lines = [f'60.{(n >> 16) & 63}.{(n >> 8) & 255}.{n & 255}' for n in range(25 * k + 1, 25 * k + 26)] if 2 <= k < 118 else []
    if 2 <= k <= 100:
        lines += ['45.0.1.10', '45.0.1.11', '45.0.2.12']
    if k >= 3:
        lines += ['45.0.3.13']
    if k == 50:
        lines += ['61.1.1.7']
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(t))
    with open(f'{d}/constructed-{stamp}.txt', 'w') as f:
        f.write('! Title: constructed test list\n! Updated: ' +
                time.strftime('%a, %d %b %Y %H:%M:%S UTC', time.gmtime(t)) + '\n')
        f.write('\n'.join(lines) + '\n')
PY
	"$SHERIFF" ingest --db "$1/c.db" --format plain "$1"/snaps/*.txt 2>/dev/null
	"$SHERIFF" asmap import --db "$1/c.db" --format ipldb --as-of 2020-01-01 "$1/c.csv" 2>/dev/null
	"$SHERIFF" hosting import --db "$1/c.db" --name examplehost "$1/examplehost.json" 2>/dev/null
}
