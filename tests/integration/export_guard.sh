#!/bin/bash
# The publish guard: an export that shrank by more than max_shrink, or that would list the
# whole address space, a too short prefix, allowlisted space or a public suffix, is refused
# (exit 3, the reason on stderr) and the previous output stays byte for byte; --force
# publishes anyway. Replacement is atomic: a reader polling the file during repeated exports
# only ever sees one complete version or another, and the spare an export writes over is never
# a file that a reader still holds or that another link names. Whole networks: the routed prefix of a
# network with a bph verdict is listed with its evidence, never shorter than the bounds and
# never over allowlisted space.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bph_store.sh"
DB=$T/s.db
AT1=2019-09-21T00:00:00Z
tar xJf "$DATA/history/urlhaus-filter-slice.tar.xz" -C "$T"
"$SHERIFF" ingest --db "$DB" "$T"/urlhaus-filter/*.txt 2> /dev/null
"$SHERIFF" ingest --db "$DB" --at 2019-09-20T12:00:00Z "$DATA/feeds/spamhaus_drop_v4_2025-03-03.json" 2> /dev/null
OUT=$T/pub/dnset.rbl
mkdir -p "$T/pub"

ex() {  # ex DB AT ARGS...: rbldnsd dnset export to $OUT
	local db=$1 at=$2; shift 2
	"$SHERIFF" export --db "$db" --at "$at" --format rbldnsd --out "$OUT" "$@"
}
expect_rc 0 "first publish" ex "$DB" $AT1 --kind dnset
cp "$OUT" "$T/published"
n1=$(grep -c '^[.a-z0-9]' "$OUT")
check "the first publish lists domains ($n1)" test "$n1" -gt 1000
check "the state beside the output remembers the count" \
	grep -q "^sheriff-export-state	2	rbldnsd	$((n1 - 1))	" "$T/pub/.dnset.rbl.rbldnsd.state"

# ten days later everything from the URLhaus slice has expired: the list would shrink to nothing
expect_rc 3 "a list that shrank by more than 50% is refused" ex "$DB" 2019-10-01T00:00:00Z --kind dnset 2> "$T/shrink.err"
check "the refusal says why" grep -q 'the list shrank from [0-9]* to 0 entries' "$T/shrink.err"
check "the previous output stays byte-identical" cmp -s "$T/published" "$OUT"
check "no temporary file is left beside it" bash -c "[ \$(ls -A '$T/pub' | wc -l) -eq 2 ]"
cat > "$T/lenient.conf" <<'EOF'
[guard]
max_shrink = 100%
EOF
expect_rc 0 "a policy with max_shrink = 100% publishes it" ex "$DB" 2019-10-01T00:00:00Z --kind dnset --policy "$T/lenient.conf"
cp "$T/published" "$OUT"
expect_rc 0 "--force publishes the shrunk list" ex "$DB" 2019-10-01T00:00:00Z --kind dnset --force
check "and the output changed" bash -c "! cmp -s '$T/published' '$OUT'"
expect_rc 0 "after a forced publish, the next one compares with it" ex "$DB" 2019-10-01T00:00:00Z --kind dnset

# over-broad or allowlisted entries in a feed: each refused with its reason
# the first export of each out file is allowed: make it, then add the bad entry and retry
bad_after() {  # bad_after DESCRIPTION ENTRY KIND REASON
	local db=$T/bad.db
	cp "$DB" "$db"
	OUT=$T/pub/$3.rbl
	ex "$db" $AT1 --kind "$3" 2> /dev/null
	cp "$OUT" "$T/published"
	printf '%s\n' "$2" > "$T/bad.txt"
	"$SHERIFF" ingest --db "$db" --at 2019-09-20T12:00:00Z --source bad "$T/bad.txt" 2> /dev/null || true
	expect_rc 3 "$1 is refused" ex "$db" $AT1 --kind "$3" 2> "$T/bad.err"
	check "  with the reason '$4'" grep -q "$4" "$T/bad.err"
	check "  and the previous output is untouched" cmp -s "$T/published" "$OUT"
	expect_rc 3 "  to stdout too, writing nothing" bash -c "'$SHERIFF' export --db '$db' --at $AT1 --format csv > '$T/stdout.txt' 2>/dev/null"
	check "  (stdout empty)" test ! -s "$T/stdout.txt"
	expect_rc 0 "  --force publishes it anyway" ex "$db" $AT1 --kind "$3" --force
	rm -f "$db"
}
bad_after "0.0.0.0/0" 0.0.0.0/0 ip4trie "covers the whole address space"
bad_after "a /8 (shorter than the /10 bound)" 25.0.0.0/8 ip4trie "is shorter than /10"
bad_after "8.8.8.0/24 around the allowlisted 8.8.8.8" 8.8.8.0/24 ip4trie "would list allowlisted addresses (public resolver)"
bad_after "a public suffix (co.uk)" co.uk dnset "is a public suffix"
bad_after "a parent of an allowlisted name (quad9.net)" quad9.net dnset "would list allowlisted names"
cat > "$T/strict.conf" <<'EOF'
[guard]
min_prefix_v4 = 24
EOF
OUT=$T/pub/strict.rbl
expect_rc 3 "min_prefix_v4 = 24 refuses DROP's shorter prefixes" ex "$DB" $AT1 --kind ip4trie --policy "$T/strict.conf"
check "  and no output was created" test ! -e "$OUT"

# atomic replacement: a reader never sees a partial file
OUT=$T/pub/atomic.csv
"$SHERIFF" export --db "$DB" --at $AT1 --format csv --out "$OUT" 2> /dev/null
cp "$OUT" "$T/a.csv"
"$SHERIFF" export --db "$DB" --at 2019-09-22T00:00:00Z --format csv --out "$OUT" --force 2> /dev/null
cp "$OUT" "$T/b.csv"
ha=$(md5sum < "$T/a.csv")
hb=$(md5sum < "$T/b.csv")
(
	for i in $(seq 30); do
		at=$AT1
		[ $((i % 2)) -eq 0 ] && at=2019-09-22T00:00:00Z
		"$SHERIFF" export --db "$DB" --at $at --format csv --out "$OUT" --force 2> /dev/null
	done
) &
writer=$!
seen_bad=0 reads=0
while kill -0 $writer 2> /dev/null && [ $reads -lt 5000 ]; do
	h=$(md5sum < "$OUT")
	reads=$((reads + 1))
	if [ "$h" != "$ha" ] && [ "$h" != "$hb" ]; then seen_bad=$((seen_bad + 1)); fi
done
wait $writer
check "$reads reads during 30 exports: every one a complete version" test $seen_bad -eq 0
check "no temporary file is left" bash -c "! ls -A '$T/pub' | grep -q '^\\.atomic\\.csv\\.[A-Za-z0-9]\\{6\\}\$'"
check "the two versions differ in length (a spare written over is cut to the new one)" \
	test "$(stat -c %s "$T/a.csv")" != "$(stat -c %s "$T/b.csv")"
check "the file the last export replaced is kept as the spare" \
	bash -c "h=\$(md5sum < '$T/pub/.atomic.csv.spare'); [ \"\$h\" = '$ha' ] || [ \"\$h\" = '$hb' ]"

# ---- the spare: written over only when nothing else holds it --------------------------------
# an export writes over the file the one before it replaced; a reader that still has that file
# open, or a backup that links it, keeps it whole
OUT=$T/pub/held.csv
sx() { "$SHERIFF" export --db "$DB" --at "$1" --format csv --out "$OUT" --force 2> /dev/null; }
sx $AT1
sx 2019-09-22T00:00:00Z
hb=$(md5sum < "$OUT")
exec 3< "$OUT"
sx 2019-09-23T00:00:00Z
hc=$(md5sum < "$OUT")
sx $AT1
check "a reader holding the published file across two exports reads it whole" \
	test "$(md5sum <&3)" = "$hb"
exec 3<&-
check "  and the output is the new version" test "$(md5sum < "$OUT")" = "$ha"
check "  and the spare the one before" test "$(md5sum < "$T/pub/.held.csv.spare")" = "$hc"
ln "$OUT" "$T/backup.csv"
sx 2019-09-22T00:00:00Z
sx 2019-09-23T00:00:00Z
check "a hard link to a published file keeps its content through two exports" \
	test "$(md5sum < "$T/backup.csv")" = "$ha"
check "  and the output is the new version" test "$(md5sum < "$OUT")" = "$hc"

# ---- a damaged state file ---------------------------------------------------------------------
# STIX remembers each indicator's version in the state beside the bundle, read as the export
# walks it: a record damaged on disk fails the export, which names it, and the published
# bundle stays as it was
expect_rc 0 "stix export with its state" \
	"$SHERIFF" export --db "$DB" --at $AT1 --format stix --out "$T/pub/b.json" 2> /dev/null
cp "$T/pub/b.json" "$T/b.published"
python3 - "$T/pub/.b.json.stix.state" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
off = d.index(b'\n') + 1
for _ in range(2):  # to the third record: an 80-byte part, then the value and its NUL
    off += 80 + int.from_bytes(d[off + 4:off + 8], 'little') + 1
d[off] = 9  # its type byte
open(p, 'wb').write(d)
PY
expect_rc 3 "the next export fails" \
	"$SHERIFF" export --db "$DB" --at 2019-09-22T00:00:00Z --format stix --out "$T/pub/b.json" \
	2> "$T/damaged.err"
check "  and says where the state is damaged" grep -q 'b.json.stix.state is damaged at entry 3 ' "$T/damaged.err"
check "  and the published bundle stays byte-identical" cmp -s "$T/b.published" "$T/pub/b.json"
check "  and no temporary file is left" bash -c "[ \$(ls -A '$T/pub' | grep -c '^\.b\.json\.') -eq 1 ]"

# ---- whole networks with a bph verdict ---------------------------------------------------------
# the constructed store of intel.sh: a hoster (AS64500, 45.0.0.0/22) keeping 4 indicators up
# for weeks gets the bph verdict; an ISP with one-day infections and a one-indicator network
# do not
N=$T/net
bph_store "$N"
NDB=$N/c.db
NAT=2020-07-30T18:00:00Z
nex() {  # nex FORMAT OUT [ARGS...]: export of the constructed store
	local fmt=$1 out=$2; shift 2
	"$SHERIFF" export --db "$NDB" --at $NAT --format "$fmt" --out "$out" "$@"
}
"$SHERIFF" networks --db "$NDB" --by prefix --json > "$N/nets.jsonl" 2> /dev/null
check "the constructed hoster's prefix has the bph verdict" python3 -c 'import json,sys
v={json.loads(l)["key"]:json.loads(l)["verdict"] for l in open(sys.argv[1])}
assert v["45.0.0.0/22"]=="bph" and v["61.1.1.0/24"]!="bph", v' "$N/nets.jsonl"
expect_rc 0 "csv export with the default policy" nex csv "$N/n.csv"
check "the bph network's routed prefix is listed whole, in bph_network (127.0.0.6), reason network" python3 -c 'import csv,sys
rows={r["indicator"]:r for r in csv.DictReader(open(sys.argv[1], newline=""))}
r=rows["45.0.0.0/22"]
assert r["type"]=="cidr" and r["category"]=="bph_network" and r["code"]=="127.0.0.6", r
assert r["threat"]=="network" and r["sources"]=="sheriff-networks", r
assert "verdict bph" in r["evidence"] and "4 indicators" in r["evidence"] and "score " in r["evidence"], r
assert "61.1.1.0/24" not in rows and not any(k.startswith("60.") and "/" in k for k in rows), sorted(rows)[:5]' "$N/n.csv"
expect_rc 0 "json export" nex json "$N/n.json"
check "json: the network listing carries its reason and evidence" python3 -c 'import json,sys
(o,)=[o for o in map(json.loads, open(sys.argv[1])) if o["indicator"]=="45.0.0.0/22"]
assert o["category"]=="bph_network" and o["threat"]=="network" and "verdict bph" in o["reason"], o' "$N/n.json"
expect_rc 0 "rbldnsd ip4trie export" nex rbldnsd "$N/n.rbl"
check "rbldnsd: the prefix answers 127.0.0.6 with the verdict in its TXT" \
	grep -q '^45\.0\.0\.0/22 :127\.0\.0\.6:bph_network: network 45\.0\.0\.0/22 (AS64500 Example Bulletproof Ltd): verdict bph, score [0-9]*, 4 indicators' "$N/n.rbl"
expect_rc 0 "drop export" nex drop "$N/n.drop"
check "drop: the prefix with its evidence after ;" grep -q '^45\.0\.0\.0/22 ; SH[0-9a-f]\{8\} bph_network: network' "$N/n.drop"

printf '[allow]\nentry = 45.0.2.0/24\n' > "$N/allow.conf"
expect_rc 0 "allowlisted space inside the network: published, not refused" \
	nex csv "$N/a.csv" --policy "$N/allow.conf"
check "the allowlisted /24 is cut out: 45.0.0.0/23 and 45.0.3.0/24 are listed, nothing in 45.0.2.0/24" \
	python3 -c 'import csv,ipaddress,sys
rows=[r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["category"]=="bph_network"]
got=sorted(r["indicator"] for r in rows)
assert got==["45.0.0.0/23","45.0.3.0/24"], got
allow=ipaddress.ip_network("45.0.2.0/24")
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["type"] in ("ip","cidr"):
        assert not ipaddress.ip_network(r["indicator"]).overlaps(allow), r["indicator"]' "$N/a.csv"
printf '[allow]\nentry = 45.0.0.0/21\n' > "$N/allow-all.conf"
expect_rc 0 "a network inside allowlisted space" nex csv "$N/b.csv" --policy "$N/allow-all.conf"
check "...is not listed at all" bash -c "! grep -q '^45\\.0\\.' '$N/b.csv'"
printf '[listing]\nnetwork_min_prefix_v4 = 23\n' > "$N/long.conf"
nex csv "$N/l.csv" --policy "$N/long.conf" 2> /dev/null
check "a routed prefix shorter than network_min_prefix_v4 is not listed whole" \
	bash -c "! grep -q '^45\\.0\\.0\\.0/22,' '$N/l.csv' && grep -q '^45\\.0\\.3\\.13,' '$N/l.csv'"
printf '[guard]\nmin_prefix_v4 = 23\n' > "$N/guard.conf"
expect_rc 0 "the guard's min_prefix_v4 longer than the network bound" nex csv "$N/g.csv" --policy "$N/guard.conf"
check "...counts (the longer of the two): not listed whole, and not refused" \
	bash -c "! grep -q ',bph_network,' '$N/g.csv'"
printf '[listing]\nnetwork_verdicts = none\n' > "$N/off.conf"
nex csv "$N/o.csv" --policy "$N/off.conf" 2> /dev/null
check "network_verdicts = none lists no network" bash -c "! grep -q ',bph_network,' '$N/o.csv'"
printf '[listing]\nnetwork_verdicts = bph, suspicious\nnetwork_category = nope\n' > "$N/bad.conf"
expect_rc 1 "network_category naming no category is a policy error" nex csv "$N/x.csv" --policy "$N/bad.conf"

finish
