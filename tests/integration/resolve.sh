#!/bin/bash
# sheriff resolve against a real knotd (Debian package knot) serving three test zones on a free
# loopback port: what is stored (A, AAAA, NS values, first/last seen widening on a later run),
# CNAME chains and loops, truncated answers retried over TCP, NXDOMAIN counted, REFUSED names
# making the run partial (exit 2), and a dead server (exit 3). No network beyond loopback.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsbl_lib.sh"

command -v knotd >/dev/null || { echo "# knotd not installed (Debian package knot)"; exit 77; }
mkdir -p "$T/knot"
cp "$DATA"/resolve/*.zone "$T/knot/"
KP=$(free_port)
{
	echo "server:"
	echo "    rundir: \"$T/knot\""
	echo "    listen: 127.0.0.1@$KP"
	echo "log:"
	echo "  - target: stderr"
	echo "    any: info"
	echo "database:"
	echo "    storage: \"$T/knot\""
	echo "template:"
	echo "  - id: default"
	echo "    storage: \"$T/knot\""
	echo "    file: \"%s.zone\""
	echo "    zonefile-sync: -1"
	echo "    journal-content: none"
	echo "zone:"
	for z in "$DATA"/resolve/*.zone; do z=${z##*/}; echo "  - domain: ${z%.zone}"; done
} > "$T/knot.conf"
start_bg "$T/knot.log" knotd -c "$T/knot.conf"
check "knotd answers" wait_answer "$KP" www.bph-one.test

DB=$T/s.db
S=127.0.0.1#$KP
"$SHERIFF" ingest --db "$DB" --format plain --source test --at 2026-11-01T00:00:00Z \
	"$DATA/resolve/list.txt" 2>"$T/ingest.log"
sql() { sqlite3 "$DB" "$@"; }
# to OUT ERR COMMAND...: runs the command with its stdout and stderr into files
to() { local out=$1 err=$2; shift 2; "$@" > "$out" 2> "$err"; }
# rows NAME RTYPE: the stored values, sorted, on one line
rows() { sql "SELECT value FROM resolution WHERE name = '$1' AND rtype = $2 ORDER BY value" | tr '\n' ' ' | sed 's/ $//'; }
# js NAME PYEXPR: evaluates PYEXPR on the --json object of NAME (as o)
js() { python3 -c 'import json, sys
o = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["name"] == sys.argv[2]]
sys.exit(0 if len(o) == 1 and eval(sys.argv[3], {"o": o[0]}) else 1)' "$T/r1.json" "$1" "$2"; }

expect_rc 0 "first run resolves every name" to "$T/r1.json" "$T/r1.log" "$SHERIFF" resolve \
	--db "$DB" --server "$S" --at 2026-11-02T00:00:00Z --timeout 1000 --json
sed 's/^/# /' "$T/r1.log"
check "one JSON object per name (8 host names; the IP host is not asked)" test "$(wc -l < "$T/r1.json")" = 8
check "www.bph-one.test A" test "$(rows www.bph-one.test 1)" = "192.0.2.10 192.0.2.11"
check "www.bph-one.test AAAA in canonical form" test "$(rows www.bph-one.test 28)" = "2001:db8::10"
check "bph-one.test A" test "$(rows bph-one.test 1)" = "192.0.2.10"
check "NS of bph-one.test, lowercased, no trailing dot" test "$(rows bph-one.test 2)" = "ns1.bph-one.test ns2.bph-host.test"
check "NS of bph-two.test" test "$(rows bph-two.test 2)" = "ns1.bph-one.test"
check "NS of cdn.test" test "$(rows cdn.test 2)" = "ns.cdn.test"
check "NS stored per registrable domain only" test "$(sql "SELECT count(*) FROM resolution WHERE rtype = 2 AND name NOT IN ('bph-one.test', 'bph-two.test', 'cdn.test')")" = 0
check "CNAME chain followed: www.bph-two.test A" test "$(rows www.bph-two.test 1)" = "198.51.100.21"
check "CNAME chain followed: www.bph-two.test AAAA" test "$(rows www.bph-two.test 28)" = "2001:db8::21"
check "shop.bph-two.test A and AAAA" test "$(rows shop.bph-two.test 1) $(rows shop.bph-two.test 28)" = "198.51.100.20 2001:db8::20"
check "truncated answer asked again over TCP: 32 of the 50 AAAA of edge.cdn.test kept" \
	test "$(sql "SELECT count(*) FROM resolution WHERE name = 'edge.cdn.test' AND rtype = 28")" = 32
check "edge.cdn.test A" test "$(rows edge.cdn.test 1)" = "203.0.113.5"
check "a CNAME out of the zone gives no address (authoritative server)" test "$(rows cdn.bph-one.test 1)" = ""
check "a CNAME loop gives no address" test "$(sql "SELECT count(*) FROM resolution WHERE name = 'loop1.bph-two.test'")" = 0
check "nothing stored for the NXDOMAIN name" test "$(sql "SELECT count(*) FROM resolution WHERE name = 'nx.bph-one.test'")" = 0
check "the IP host was not asked" test "$(sql "SELECT count(*) FROM resolution WHERE name LIKE '198.%'")" = 0
check "first_seen = last_seen = --at" test "$(sql "SELECT DISTINCT first_seen || ' ' || last_seen FROM resolution")" = "1793577600 1793577600"
check "JSON: nx.bph-one.test NXDOMAIN" js nx.bph-one.test 'o["rcode"] == "NXDOMAIN" and o["a"] == [] and o["aaaa"] == []'
check "JSON: www.bph-one.test" js www.bph-one.test 'o["rcode"] == "NOERROR" and o["a"] == ["192.0.2.10", "192.0.2.11"] and o["aaaa"] == ["2001:db8::10"] and sorted(o["ns"]) == ["ns1.bph-one.test", "ns2.bph-host.test"] and o["domain"] == "bph-one.test"'
check "JSON: www.bph-two.test through its CNAMEs" js www.bph-two.test 'o["a"] == ["198.51.100.21"] and o["ns"] == ["ns1.bph-one.test"]'
check "JSON: edge.cdn.test" js edge.cdn.test 'len(o["aaaa"]) == 32 and o["a"] == ["203.0.113.5"]'
check "summary counts the NXDOMAIN name" grep -q "names:   8 asked, 7 answered, 1 NXDOMAIN, 0 failed" "$T/r1.log"
check "summary counts the records" grep -q "recorded: 41 addresses (6 A, 35 AAAA), 4 name servers, 18 records beyond the 32 kept per answer" "$T/r1.log"
check "summary counts the TCP retry" grep -q "1 over TCP" "$T/r1.log"

expect_rc 0 "second run a day later" to "$T/r2.txt" "$T/r2.log" "$SHERIFF" resolve --db "$DB" \
	--server "$S" --at 2026-11-03T00:00:00Z
check "first/last seen widen" test "$(sql "SELECT first_seen || ' ' || last_seen FROM resolution WHERE name = 'www.bph-one.test' AND value = '192.0.2.11'")" = "1793577600 1793664000"
check "no new rows" test "$(sql "SELECT count(*) FROM resolution")" = 45
expect_rc 0 "an earlier run" to /dev/null /dev/null "$SHERIFF" resolve --db "$DB" --server "$S" \
	--at 2026-11-01T12:00:00Z
check "first_seen moves back, last_seen stays" test "$(sql "SELECT first_seen || ' ' || last_seen FROM resolution WHERE name = 'ns1.bph-one.test' OR (name = 'bph-one.test' AND value = 'ns1.bph-one.test')")" = "1793534400 1793664000"

# a later snapshot without edge.cdn.test: offline from then on, still asked with --all
grep -v edge.cdn.test "$DATA/resolve/list.txt" > "$T/list2.txt"
"$SHERIFF" ingest --db "$DB" --format plain --source test --at 2026-11-04T00:00:00Z "$T/list2.txt" 2>/dev/null
"$SHERIFF" resolve --db "$DB" --server "$S" --at 2026-11-05T00:00:00Z --json > "$T/r3.json" 2>"$T/r3.log" || true
check "a name offline at --at is not asked" bash -c "! grep -q edge.cdn.test '$T/r3.json' && test \$(wc -l < '$T/r3.json') = 7"
"$SHERIFF" resolve --db "$DB" --server "$S" --at 2026-11-05T00:00:00Z --all --json > "$T/r4.json" 2>"$T/r4.log" || true
check "--all asks it too" grep -q '"name":"edge.cdn.test"' "$T/r4.json"

# names knotd does not serve: REFUSED, the run is partial
cp "$DB" "$T/p.db"
printf 'elsewhere.test\nhttp://www.unserved.test/\n' > "$T/more.txt"
"$SHERIFF" ingest --db "$T/p.db" --format plain --source more --at 2026-11-05T00:00:00Z "$T/more.txt" 2>/dev/null
expect_rc 2 "names the server refuses make the run partial" to "$T/p.json" "$T/p.log" \
	"$SHERIFF" resolve --db "$T/p.db" --server "$S" --at 2026-11-06T00:00:00Z --json
check "the failures are reported by name" grep -q "resolve: elsewhere.test A: REFUSED" "$T/p.log"
check "and counted" grep -q "names:   9 asked, 6 answered, 1 NXDOMAIN, 2 failed" "$T/p.log"
check "JSON rcode REFUSED" grep -q '"name":"www.unserved.test","domain":"unserved.test","rcode":"REFUSED"' "$T/p.json"
check "the others are stored" test "$(sqlite3 "$T/p.db" "SELECT count(*) FROM resolution WHERE last_seen = 1793923200")" = 11

# only names the server refuses: nothing resolved is a failure
printf 'elsewhere.test\n' > "$T/refused.txt"
"$SHERIFF" ingest --db "$T/n.db" --format plain --source r --at 2026-11-05T00:00:00Z "$T/refused.txt" 2>/dev/null
expect_rc 3 "a server that refuses every question fails the run" to "$T/n.out" "$T/n.log" \
	"$SHERIFF" resolve --db "$T/n.db" --server "$S" --at 2026-11-06T00:00:00Z
check "with a message" grep -q "answered none of 3 questions (0 SERVFAIL, 3 REFUSED, 0 other rcode)" "$T/n.log"

# a dead server: nothing listens on the port
DEAD=$(free_port)
while [ "$DEAD" = "$KP" ]; do DEAD=$(free_port); done
expect_rc 3 "a dead server fails the run" to "$T/d.out" "$T/d.log" "$SHERIFF" resolve --db "$DB" \
	--server "127.0.0.1#$DEAD" --timeout 300 --retries 1
check "with a message" grep -q "no response from 127.0.0.1#$DEAD to any of" "$T/d.log"
check "and nothing stored" test "$(sql "SELECT count(*) FROM resolution WHERE last_seen > 1793836800")" = 0
expect_rc 1 "a bad --server is a usage error" to /dev/null "$T/u.log" "$SHERIFF" resolve --db "$DB" --server "not-an-ip#53"
# Campaigns use what resolve stored. Snapshot 1 names three sites, snapshot 2 twelve hours
# later three others, each site resolved right after its snapshot: new-site.test resolves to
# the next address of old-site.test's /24 and respawns it; gate-b links to gate-a by their
# name servers together with the URL path shape; parked-b shares a parking service's name
# servers and the path shape with parked-a, and links to nothing.
C=$T/c.db
printf 'old-site.test\nhttp://gate-a.test/gate.php\nhttp://parked-a.test/login.php\n' > "$T/c1.txt"
printf 'new-site.test\nhttp://gate-b.test/gate.php\nhttp://parked-b.test/login.php\n' > "$T/c2.txt"
"$SHERIFF" ingest --db "$C" --format plain --source c --at 2026-11-10T00:00:00Z "$T/c1.txt" 2>/dev/null
"$SHERIFF" resolve --db "$C" --server "$S" --at 2026-11-10T00:05:00Z > /dev/null 2>&1
"$SHERIFF" ingest --db "$C" --format plain --source c --at 2026-11-10T12:00:00Z "$T/c2.txt" 2>/dev/null
"$SHERIFF" resolve --db "$C" --server "$S" --at 2026-11-10T12:05:00Z > /dev/null 2>&1
"$SHERIFF" respawns --db "$C" --json > "$T/c.json"
# edge OLD NEW PYEXPR: the respawn OLD -> NEW exists and PYEXPR holds on its shared evidence
edge() { python3 -c 'import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
e = [x for x in e if x["old"] == sys.argv[2] and x["new"] == sys.argv[3]]
sh = {(k["key"], k["value"]) for k in e[0]["shared"]} if len(e) == 1 else set()
sys.exit(0 if len(e) == 1 and eval(sys.argv[4]) else 1)' "$T/c.json" "$@"; }
check "respawn by a resolved address: old-site.test -> new-site.test via net=45.95.168.0/24 and ns" \
	edge old-site.test new-site.test '("net", "45.95.168.0/24") in sh and ("ns", "hoster-x.test") in sh and e[0]["taken_down"] == e[0]["respawned"] == "2026-11-10T12:00:00Z"'
check "respawn by name servers and path shape: gate-a -> gate-b" \
	edge http://gate-a.test/gate.php http://gate-b.test/gate.php 'sh == {("ns", "bph-dns.test"), ("shape", "/gate.*")}'
check "a parking service's name servers link nobody" test "$(grep -c parked "$T/c.json")" = 0
check "two respawns in all" test "$(wc -l < "$T/c.json")" = 2
"$SHERIFF" lookup --db "$C" --json 45.95.168.200 > "$T/l.json"
check "lookup: an address of the respawned site's /24 is live campaign infrastructure" \
	python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))
sys.exit(0 if o["listed"] and o["infrastructure"]["value"] == "45.95.168.0/24" else 1)' "$T/l.json"

stop_and_check_logs
finish
