#!/bin/bash
# Respawns and campaigns on the shipped real slice of the URLhaus online-list history: respawn
# edges verified by hand from the raw snapshots (which snapshot lost the old indicator and
# which first showed the new one) must be found with their times, delays and evidence; the
# link rules (no ASN-only links, no link between a host and its own URLs, shared platforms
# and the over-correlation bound never link) hold on every edge; per-network respawn figures
# agree with the edge list; the answer does not depend on ingest order; the replay summary
# lists nothing wider than a /24.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsbl_lib.sh"

tar xJf "$DATA/history/urlhaus-filter-slice.tar.xz" -C "$T"
mapfile -t files < <(ls "$T"/urlhaus-filter/*.txt)
ASN=$DATA/asn-demo/asn-ipv4-demo.csv.gz
CC=$DATA/asn-demo/country-ipv4-demo.csv.gz
"$SHERIFF" ingest --db "$T/s.db" "${files[@]}" 2>/dev/null
"$SHERIFF" asmap import --db "$T/s.db" --format ipldb --as-of 2026-06-17 "$ASN" "$CC" 2>/dev/null
"$SHERIFF" hosting import --db "$T/s.db" "$DATA"/hosting/*.json.gz 2>/dev/null

# to FILE COMMAND...: runs the command with its output into FILE
to() { local f=$1; shift; "$@" > "$f"; }
check "respawns --json runs" to "$T/r.json" "$SHERIFF" respawns --db "$T/s.db" --json
check "campaigns --json runs" to "$T/c.json" "$SHERIFF" campaigns --db "$T/s.db" --json --limit 0

# edge OLD NEW TAKEN_DOWN RESPAWNED DELAY_H KEY=VALUE: an edge verified by hand, e.g. for the
# first one: 83.97.20.147 is in the 2019-08-10T12:22 snapshot and missing from the next one
# (header time 2019-08-11T00:22:57Z); 83.97.20.154 first shows in 2019-08-11T12:22:09Z.
cat > "$T/edge.py" <<'PY'
import json, sys
old, new, down, up, delay, ev = sys.argv[2:8]
key, value = ev.split('=', 1)
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e['old'] == old and e['new'] == new:
        shared = {(s['key'], s['value']) for s in e['shared']}
        ok = (e['taken_down'] == down and e['respawned'] == up and
              abs(e['delay_h'] - float(delay)) < 0.05 and (key, value) in shared)
        if not ok:
            print('differs:', line.strip())
        sys.exit(0 if ok else 1)
print('no edge', old, '->', new)
sys.exit(1)
PY
edge() { check "respawn $1 -> $2 after $5 h via $6" python3 "$T/edge.py" "$T/r.json" "$@"; }
edge 83.97.20.147 83.97.20.154 2019-08-11T00:22:57Z 2019-08-11T12:22:09Z 12 net=83.97.20.0/24
edge rcy.owak-kmyt.ru iz.owak-kmyt.ru 2019-08-22T00:21:33Z 2019-08-22T00:21:33Z 0 domain=owak-kmyt.ru
edge 45.95.147.68 45.95.147.16 2019-08-16T00:21:30Z 2019-08-16T12:21:35Z 12 net=45.95.147.0/24
edge 185.244.25.183 185.244.25.185 2019-08-20T00:21:20Z 2019-08-20T12:21:37Z 12 net=185.244.25.0/24
# 185.244.25.183 came back on 2019-09-06 and was taken down again on 2019-09-09
edge 185.244.25.183 185.244.25.72 2019-09-09T00:21:34Z 2019-09-09T12:21:41Z 12 net=185.244.25.0/24

cat > "$T/rules.py" <<'PY'
import json, sys
strong = {'ip', 'net', 'domain'}
weights = {'ip': 2, 'net': 2, 'domain': 2, 'prefix': 1, 'shape': 1, 'family': 1, 'tag': .5, 'asn': .5}
shared_platforms = ('top4top.net', 'github.com', 'githubusercontent.com', 'google.com', 'dropbox.com')
bad = 0
def host(v):
    return v.split('/')[0].split(':')[0]
edges = [json.loads(l) for l in open(sys.argv[1])]
for e in edges:
    keys = [s['key'] for s in e['shared']]
    w = sum(weights[k] for k in keys)
    why = None
    if w < 2 or abs(w - e['weight']) > 1e-9:
        why = 'weight %s' % w
    elif keys == ['asn']:
        why = 'asn alone'
    elif host(e['old']) == host(e['new']):
        why = 'same host'
    elif any(s['key'] == 'domain' and s['value'].endswith(shared_platforms) for s in e['shared']):
        why = 'shared platform'
    elif e['delay_h'] < 0 or e['delay_h'] > 72:
        why = 'delay'
    elif e['respawned'] < e['taken_down']:
        why = 'order'
    if why:
        bad += 1
        print(why, json.dumps(e))
news = [e['new'] for e in edges]
if len(news) != len(set(news)):
    bad += 1
    print('a new indicator with two respawn edges')
downs = [(e['old'], e['taken_down']) for e in edges]
if len(downs) != len(set(downs)):
    bad += 1
    print('a takedown answered twice')
print(len(edges), 'edges checked')
sys.exit(1 if bad or len(edges) < 20 else 0)
PY
check "every edge obeys the link rules" python3 "$T/rules.py" "$T/r.json"

cat > "$T/camps.py" <<'PY'
import json, sys
camps = [json.loads(l) for l in open(sys.argv[1])]
edges = [json.loads(l) for l in open(sys.argv[2])]
member = {}
for c in camps:
    for i in c['indicators']:
        assert i not in member, 'indicator in two campaigns: ' + i
        member[i] = c['campaign']
    assert c['members'] == len(c['indicators']) >= 2
    assert c['first_seen'] <= c['last_seen']
for e in edges:
    assert member[e['old']] == member[e['new']] == e['campaign'], e
big = [c for c in camps if '45.95.147.16' in c['indicators']][0]
assert big['members'] >= 10, big['members']
assert big['evidence'][0]['key'] == 'net' and big['evidence'][0]['value'] == '45.95.147.0/24'
assert all(i.startswith('45.95.147.') for i in big['indicators'])
print(len(camps), 'campaigns,', len(member), 'members')
PY
check "campaigns hold their respawns; the 45.95.147.0/24 campaign" python3 "$T/camps.py" "$T/c.json" "$T/r.json"

# the bound: with at most 2 carriers per value, no shared value has more than 2 before it
"$SHERIFF" respawns --db "$T/s.db" --json --bound 2 > "$T/r2.json"
check "--bound 2 links only values carried by at most 2 earlier indicators" python3 -c "
import json, sys
n = 0
for l in open('$T/r2.json'):
    n += 1
check = [json.loads(l) for l in open('$T/r.json')]
sys.exit(0 if n < len(check) else 1)"

# per-network figures agree with the edges (AS49870, the 45.95.147.0/24 campaign's)
"$SHERIFF" networks --db "$T/s.db" --by asn --json --limit 0 > "$T/n.json" 2>/dev/null
check "networks: respawns and median delay of AS49870 match the edge list" python3 -c "
import json, statistics, sys
d = [e['delay_h'] for e in map(json.loads, open('$T/r.json')) if e['asn'] == 49870]
n = [x for x in map(json.loads, open('$T/n.json')) if x['key'] == 'AS49870'][0]
sys.exit(0 if d and n['respawns'] == len(d) and abs(n['median_respawn_delay_h'] - statistics.median(d)) < 0.01 else 1)"

# order does not matter
mapfile -t shuffled < <(printf '%s\n' "${files[@]}" | shuf --random-source=<(yes))
"$SHERIFF" ingest --db "$T/o.db" "${shuffled[@]}" 2>/dev/null
"$SHERIFF" asmap import --db "$T/o.db" --format ipldb --as-of 2026-06-17 "$ASN" "$CC" 2>/dev/null
"$SHERIFF" hosting import --db "$T/o.db" "$DATA"/hosting/*.json.gz 2>/dev/null
"$SHERIFF" respawns --db "$T/o.db" --json > "$T/o.json"
check "the same respawns and campaign ids whatever the ingest order" cmp -s "$T/r.json" "$T/o.json"
"$SHERIFF" campaigns --db "$T/o.db" --json --limit 0 > "$T/oc.json"
check "the same campaigns whatever the ingest order" cmp -s "$T/c.json" "$T/oc.json"

"$SHERIFF" campaigns --db "$T/s.db" --replay-after 10d --json > "$T/replay.json"
check "replay: recall in [0,1], infrastructure never wider than a /24" python3 -c "
import json, sys
r = json.load(open('$T/replay.json'))
ok = 0 <= r['recall_at_first_sight'] <= 1 and r['new_indicators'] > 1000
ok = ok and r['space_v4_addresses'] <= 256 * r['infrastructure_listed']['net']['values'] + r['infrastructure_listed']['ip']['values']
sys.exit(0 if ok else 1)"
check "replay: what landed on campaign infrastructure shares a value with an earlier one (the ceiling)" python3 -c "
import json, sys
r = json.load(open('$T/replay.json'))
n = r['listed_at_first_sight']
ok = n == r['recall_at_first_sight'] * r['new_indicators'] or abs(n / r['new_indicators'] - r['recall_at_first_sight']) < 1e-4
ok = ok and r['on_live_infrastructure'] <= r['shared_with_earlier'] < r['new_indicators']
ok = ok and r['host_already_listed'] == 0
sys.exit(0 if ok else 1)"
"$SHERIFF" respawns --db "$T/s.db" --first-sight --json > "$T/fs.json"
check "first sight: indicators linked there are the respawn edges' new ends" python3 -c "
import json, sys
linked = {x['indicator'] for x in map(json.loads, open('$T/fs.json')) if x['linked']}
news = {e['new'] for e in map(json.loads, open('$T/r.json'))}
sys.exit(0 if linked == news else 1)"

# first-sight listing by infrastructure, in lookup: an address never in any feed on the /24
# of a campaign live at the end of the slice, a new name under a live campaign's domain; not
# the /24 of a campaign over since August, nor a name on a shared cloud storage platform
"$SHERIFF" lookup --db "$T/s.db" --json 185.244.25.250 wt99.downyouxi.com 83.97.20.200 \
	zz.file.myqcloud.com > "$T/lk.json"
cat > "$T/infra.py" <<'PY'
import json, sys
want = {
    '185.244.25.250': ('net', '185.244.25.0/24'),
    'wt99.downyouxi.com': ('domain', 'downyouxi.com'),
    '83.97.20.200': None,
    'zz.file.myqcloud.com': None,
}
bad = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    w = want.pop(d['indicator'])
    inf = d['infrastructure']
    got = (inf['key'], inf['value']) if inf else None
    ok = got == w and d['listed'] == (w is not None)
    if w:
        ok = ok and not d['sources'] and any(r.startswith('infrastructure: ') for r in d['reasons'])
    if not ok:
        bad += 1
        print('differs:', line.strip())
sys.exit(1 if bad or want else 0)
PY
check "lookup lists new sites on live campaign infrastructure, only there" python3 "$T/infra.py" "$T/lk.json"

# the same infrastructure published: off by default; with "infrastructure = yes" the /24s and
# domains of campaigns live at the export time go out in their own category, with a short
# expiry, and real rbldnsd answers an address no feed named with that category's code
AT=2019-09-20T12:00:00Z
"$SHERIFF" export --db "$T/s.db" --at $AT --format csv --out "$T/plain.csv" 2>/dev/null
check "no infrastructure listing by default" bash -c "! grep -q ',infrastructure,127' '$T/plain.csv'"
printf '[listing]\ninfrastructure = yes\n' > "$T/infra.conf"
"$SHERIFF" export --db "$T/s.db" --at $AT --policy "$T/infra.conf" --format csv --out "$T/infra.csv" 2>/dev/null
check "infrastructure = yes: the live /24 and domain, not the dead campaign's /24" python3 -c "
import csv, sys
rows = {r['indicator']: r for r in csv.DictReader(open('$T/infra.csv')) if r['category'] == 'infrastructure'}
ok = rows['185.244.25.0/24']['code'] == '127.0.0.7' and rows['downyouxi.com']['code'] == '127.0.1.7'
ok = ok and rows['185.244.25.0/24']['expires'] == '2019-09-23T12:00:00Z'
ok = ok and 'campaign ' in rows['185.244.25.0/24']['evidence'] and '83.97.20.0/24' not in rows
ok = ok and all(r['type'] in ('cidr', 'domain') and (r['type'] == 'domain' or r['indicator'].endswith('/24')) for r in rows.values())
sys.exit(0 if ok else 1)"
"$SHERIFF" export --db "$T/s.db" --at $AT --policy "$T/infra.conf" --format rbldnsd --kind ip4trie \
	--out "$T/infra.rbl" 2>/dev/null
chmod 755 "$T"
chmod 644 "$T/infra.rbl"
P=$(free_port)
USR=()
[ "$(id -u)" -eq 0 ] && USR=(-u nobody)
start_bg "$T/rbldnsd.log" rbldnsd -n "${USR[@]}" -b "127.0.0.1/$P" "bl.test:ip4trie:$T/infra.rbl"
check "rbldnsd serves the export" wait_answer "$P" "2.0.0.127.bl.test"
check "rbldnsd: 185.244.25.250 (never in a feed) answers 127.0.0.7 with the campaign in TXT" \
	bash -c "[ \"\$(dig @127.0.0.1 -p $P +short 250.25.244.185.bl.test A)\" = 127.0.0.7 ] &&
		dig @127.0.0.1 -p $P +short 250.25.244.185.bl.test TXT | grep -q campaign"

# an empty store and bad options
"$SHERIFF" ingest --db "$T/e.db" /dev/null 2>/dev/null || true
check "campaigns on an empty store" to "$T/empty.txt" "$SHERIFF" campaigns --db "$T/e.db"
expect_rc 1 "--window must be a duration" "$SHERIFF" campaigns --db "$T/s.db" --window soon
expect_rc 1 "--bound must be a count" "$SHERIFF" respawns --db "$T/s.db" --bound 0
finish
