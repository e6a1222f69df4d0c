#!/bin/bash
# Bad input through the real command: for every format, a file mixing good and malformed lines
# (truncated lines, wrong column counts, bad addresses, invalid UTF-8, NUL bytes, CRLF, a 1 MB
# line) is ingested; good lines are kept, every bad one is reported as FILE:LINE, exit code 2,
# nothing crashes. Empty files are accepted as empty snapshots. Expectations come from
# tests/data/feeds/malformed/EXPECTED.tsv (file, good items, bad line numbers).
. "$(dirname "$0")/lib.sh"

M=$DATA/feeds/malformed
while IFS=$'\t' read -r file good badlines; do
	case "$file" in ''|'#'*) continue ;; esac
	fmt=${file%%.*}
	cp "$M/$file" "$T/$file"
	rc=0
	"$SHERIFF" ingest --db "$T/m.db" --format "$fmt" --source "m-$fmt" --at 2026-01-01T00:00:00Z \
		--json "$T/$file" > "$T/out.json" 2> "$T/err.txt" || rc=$?
	want_rc=0
	[ -n "$badlines" ] && want_rc=2
	if [ $rc -ne $want_rc ]; then not_ok "$file: exit $rc, wanted $want_rc"; cat "$T/err.txt" | head -5; continue; fi
	items=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["items"])' "$T/out.json")
	if [ "$items" = "$good" ]; then ok "$file: $good good items kept"; else not_ok "$file: $items items kept, wanted $good"; fi
	got=$(grep -oE "^$T/$file:[0-9]+:" "$T/err.txt" | sed -E 's/.*:([0-9]+):$/\1/' | sort -n | uniq | paste -sd, -)
	want=$(printf '%s' "$badlines" | tr ',' '\n' | sort -n | uniq | paste -sd, -)
	if [ "$got" = "$want" ]; then ok "$file: bad lines reported as FILE:LINE ($want)"; else not_ok "$file: reported lines '$got', wanted '$want'"; fi
done < "$M/EXPECTED.tsv"

# a 1 MB line among good ones, for every format
long=$(head -c 1048576 /dev/zero | tr '\0' 'a')
for fmt in $("$SHERIFF" ingest --help | awk '/--format NAME/{f=1; next} f && /^ {20}[a-z]/{print $1} /--source/{f=0}'); do
	printf '198.51.100.77\n%s\n' "$long" > "$T/long.$fmt"
	rc=0
	"$SHERIFF" ingest --db "$T/l.db" --format "$fmt" --source "l-$fmt" --at 2026-01-01T00:00:00Z \
		"$T/long.$fmt" > /dev/null 2> "$T/err.txt" || rc=$?
	if [ $rc -eq 2 ] && grep -q "^$T/long.$fmt:2:" "$T/err.txt"; then ok "$fmt: 1 MB line reported, exit 2"
	elif [ $rc -eq 2 ] && grep -q "^$T/long.$fmt:" "$T/err.txt"; then ok "$fmt: 1 MB input reported as unusable, exit 2"
	else not_ok "$fmt: 1 MB line gave exit $rc"; head -3 "$T/err.txt"; fi
	: > "$T/empty.$fmt"
	expect_rc 0 "$fmt: empty file is an empty snapshot" "$SHERIFF" ingest --db "$T/e.db" --format "$fmt" \
		--source "e-$fmt" --at 2026-01-01T00:00:00Z "$T/empty.$fmt"
done

# an unreadable input and an unknown format fail loudly
expect_rc 3 "missing file" "$SHERIFF" ingest --db "$T/x.db" "$T/does-not-exist.txt"
printf '\x00\x01\x02garbage' > "$T/garbage.bin"
expect_rc 3 "undetectable format without --format" "$SHERIFF" ingest --db "$T/x.db" "$T/garbage.bin"
expect_rc 1 "unknown --format is a usage error" "$SHERIFF" ingest --db "$T/x.db" --format nope "$T/garbage.bin"

# an http:// input is fetched (libcurl) from a server on loopback, a 404 fails loudly
mkdir -p "$T/www"
printf '! Updated: Fri, 07 Feb 2020 12:08:47 UTC\n198.51.100.9\nbad..name\n' > "$T/www/list.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/www" > /dev/null 2>&1 &
web=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
expect_rc 2 "URL input with one bad line" "$SHERIFF" ingest --db "$T/u.db" --format plain "http://127.0.0.1:$port/list.txt"
check "the fetched list's good line is stored with the file's own time" \
	bash -c "'$SHERIFF' lookup --db '$T/u.db' --json 198.51.100.9 | grep -q '\"first_seen\":\"2020-02-07T12:08:47Z\"'"
expect_rc 3 "a URL that answers 404" "$SHERIFF" ingest --db "$T/u.db" "http://127.0.0.1:$port/missing.txt"
kill $web 2>/dev/null || true
wait $web 2>/dev/null || true

finish
