#!/bin/bash
# Ingest of a real slice of the URLhaus online-list history: per-indicator first seen, last
# seen and online runs must equal an independent computation, whatever the order and split of
# the snapshots, re-ingest must change nothing, and a kill -9 mid-ingest must lose nothing.
. "$(dirname "$0")/lib.sh"

tar xJf "$DATA/history/urlhaus-filter-slice.tar.xz" -C "$T"
mapfile -t files < <(ls "$T"/urlhaus-filter/*.txt)
n=${#files[@]}
python3 "$HERE/history_ref.py" "${files[@]}" > "$T/ref.jsonl"
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["value"])' "$T/ref.jsonl" > "$T/values"
SRC=urlhaus-filter-online

compare() {  # DB LABEL
	"$SHERIFF" lookup --db "$1" --json - < "$T/values" > "$T/$2.jsonl"
	python3 "$HERE/compare_history.py" "$T/ref.jsonl" "$T/$2.jsonl" $SRC
}

# all snapshots in one run, given in shuffled order
mapfile -t shuffled < <(printf '%s\n' "${files[@]}" | shuf --random-source=<(yes))
expect_rc 0 "ingest of $n snapshots in shuffled order" "$SHERIFF" ingest --db "$T/a.db" "${shuffled[@]}"
check "runs equal the reference (one run, shuffled)" compare "$T/a.db" a

# one snapshot per invocation, in time order (the daily-cron path)
for f in "${files[@]}"; do "$SHERIFF" ingest --db "$T/b.db" "$f" 2>/dev/null; done
check "runs equal the reference (one invocation per snapshot)" compare "$T/b.db" b

# newer half first, then the older half arrives late
half=$((n / 2))
"$SHERIFF" ingest --db "$T/c.db" "${files[@]:half}" 2>/dev/null
"$SHERIFF" ingest --db "$T/c.db" "${files[@]:0:half}" 2>/dev/null
check "runs equal the reference (older half ingested late)" compare "$T/c.db" c

# re-ingesting the same files changes nothing
"$SHERIFF" ingest --db "$T/a.db" --json "${files[@]}" > "$T/again.json" 2>/dev/null
check "re-ingest applies no snapshot" grep -q "\"snapshots\":0,\"skipped\":$n," "$T/again.json"
"$SHERIFF" lookup --db "$T/a.db" --json - < "$T/values" > "$T/a2.jsonl"
check "re-ingest leaves every record as it was" cmp -s "$T/a.jsonl" "$T/a2.jsonl"

# kill -9 at several points of an ingest: the store keeps its previous state, stays intact,
# and a re-run completes it
"$SHERIFF" ingest --db "$T/k.db" "${files[@]:0:10}" 2>/dev/null
"$SHERIFF" lookup --db "$T/k.db" --json - < "$T/values" > "$T/k_before.jsonl"
for delay in 0.02 0.05 0.1 0.2 0.3; do
	"$SHERIFF" ingest --db "$T/k.db" "${files[@]}" 2>/dev/null &
	pid=$!
	sleep $delay
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	"$SHERIFF" lookup --db "$T/k.db" --json - < "$T/values" > "$T/k_mid.jsonl"
	if cmp -s "$T/k_mid.jsonl" "$T/k_before.jsonl" || cmp -s "$T/k_mid.jsonl" "$T/a.jsonl"; then
		ok "after kill -9 at ${delay}s the store holds the old or the complete state"
	else
		not_ok "after kill -9 at ${delay}s the store holds a partial state"
	fi
	cp "$T/k_mid.jsonl" "$T/k_before.jsonl"
done
check "database integrity after the kills" \
	bash -c "[ \"\$(sqlite3 '$T/k.db' 'pragma integrity_check')\" = ok ]"
expect_rc 0 "re-run after the kills" "$SHERIFF" ingest --db "$T/k.db" "${files[@]}"
check "runs equal the reference after kills and re-run" compare "$T/k.db" k

finish
