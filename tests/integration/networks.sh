#!/bin/bash
# Network mapping: lookups of thousands of random IPv4 and IPv6 addresses give the same ASN and
# org as a plain range search over the imported CSV; tables are kept by date and a sighting is
# attributed with the table in force on its date; hosting ranges tag addresses.
. "$(dirname "$0")/lib.sh"

mapfile -t csvs < <(ls "$DATA"/asn/asn-*.csv.gz "$DATA"/asn-demo/asn-*.csv.gz)
expect_rc 0 "import ${#csvs[@]} ip-location-db CSV slices" \
	"$SHERIFF" asmap import --db "$T/n.db" --format ipldb --as-of 2026-06-17 "${csvs[@]}"
python3 "$HERE/asmap_ref.py" gen "${csvs[@]}" 6000 7 > "$T/addrs.jsonl"
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["ip"])' "$T/addrs.jsonl" > "$T/addrs.txt"
"$SHERIFF" lookup --db "$T/n.db" --json - < "$T/addrs.txt" > "$T/lookup.jsonl"
check "6000 random IPv4/IPv6 lookups agree with a range search" \
	python3 "$HERE/asmap_ref.py" check "$T/addrs.jsonl" "$T/lookup.jsonl"

# re-importing the same file for the same date replaces the table instead of adding one
"$SHERIFF" asmap import --db "$T/n.db" --format ipldb --as-of 2026-06-17 "${csvs[0]}" 2>/dev/null
check "re-import keeps one table per file and date" \
	test "$("$SHERIFF" asmap list --db "$T/n.db" --json | wc -l)" -eq "${#csvs[@]}"

# versioned tables: the sighting's date picks the table
cat > "$T/old.csv" <<'CSV'
198.51.99.0,198.51.99.255,64500,Old Hosting Ltd
8.8.8.0,8.8.8.255,15169,Google LLC
CSV
cat > "$T/new.csv" <<'CSV'
198.51.99.0,198.51.99.255,64511,New Owner Inc
8.8.8.0,8.8.8.255,15169,Google LLC
CSV
"$SHERIFF" asmap import --db "$T/v.db" --as-of 2019-01-01 --format ipldb "$T/old.csv" 2>/dev/null
"$SHERIFF" asmap import --db "$T/v.db" --as-of 2024-01-01 --format ipldb "$T/new.csv" 2>/dev/null
printf '198.51.99.7\n' > "$T/list.txt"
"$SHERIFF" ingest --db "$T/v.db" --format plain --source old-list --at 2019-06-01T00:00:00Z "$T/list.txt" 2>/dev/null
"$SHERIFF" lookup --db "$T/v.db" --json 198.51.99.7 198.51.99.8 > "$T/v.jsonl"
check "a 2019 sighting is attributed with the 2019 table" \
	bash -c "sed -n 1p '$T/v.jsonl' | grep -q '\"asn\":64500,\"as_org\":\"Old Hosting Ltd\"'"
check "an address never seen is attributed with the newest table" \
	bash -c "sed -n 2p '$T/v.jsonl' | grep -q '\"asn\":64511,\"as_org\":\"New Owner Inc\"'"

# special-purpose space is never attributed, even when a table covers it
printf '10.0.0.0,10.255.255.255,64501,Private Squatter\n' > "$T/priv.csv"
"$SHERIFF" asmap import --db "$T/v.db" --as-of 2024-01-01 --format ipldb "$T/priv.csv" 2>/dev/null
"$SHERIFF" lookup --db "$T/v.db" --json 10.1.2.3 > "$T/p.json"
check "10.1.2.3 is special-purpose and has no network" \
	bash -c "grep -q '\"asn\":null' '$T/p.json' && grep -q '\"special\":\"private-use\"' '$T/p.json'"

# hosting ranges
expect_rc 0 "hosting import of the shipped provider files" \
	"$SHERIFF" hosting import --db "$T/v.db" "$DATA"/hosting/*.json.gz
"$SHERIFF" hosting list --db "$T/v.db" --json > "$T/h.jsonl"
check "8 providers listed" test "$(wc -l < "$T/h.jsonl")" -eq 8
"$SHERIFF" lookup --db "$T/v.db" --json 88.198.1.1 > "$T/hz.json"
check "an address in 88.198.0.0/16 is Hetzner hosting space" grep -q '"hosting":"hetzner"' "$T/hz.json"

finish
