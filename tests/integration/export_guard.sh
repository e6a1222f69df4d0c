#!/bin/bash
# The publish guard: an export that shrank by more than max_shrink, or that would list the
# whole address space, a too short prefix, allowlisted space or a public suffix, is refused
# (exit 3, the reason on stderr) and the previous output stays byte for byte; --force
# publishes anyway. Replacement is atomic: a reader polling the file during repeated exports
# only ever sees one complete version or another.
. "$(dirname "$0")/lib.sh"
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
	grep -q "^sheriff-export-state	1	rbldnsd	$((n1 - 1))	" "$T/pub/.dnset.rbl.rbldnsd.state"

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
finish
