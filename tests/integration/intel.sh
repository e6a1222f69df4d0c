#!/bin/bash
# Network intelligence on a real slice of the URLhaus online-list history: survival curves,
# medians and their confidence intervals, one-day share and per-ASN figures must equal an
# independent computation (intel_ref.py); verdicts are deterministic; a hosting network with a
# few long-lived indicators outranks an ISP with thousands of one-day infections; empty
# stores, a single snapshot and one-indicator networks give figures, never NaN.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bph_store.sh"

REF="$HERE/intel_ref.py"
# no_nan FILE...: every line is JSON without NaN or infinities
cat > "$T/no_nan.py" <<'PY'
import json, sys
def bad(c): raise ValueError(c)
for path in sys.argv[1:]:
    for line in open(path):
        json.loads(line, parse_constant=bad)
PY
no_nan() { python3 "$T/no_nan.py" "$@"; }

tar xJf "$DATA/history/urlhaus-filter-slice.tar.xz" -C "$T"
mapfile -t files < <(ls "$T"/urlhaus-filter/*.txt)
"$SHERIFF" ingest --db "$T/s.db" "${files[@]}" 2>/dev/null
ASN=$DATA/asn-demo/asn-ipv4-demo.csv.gz CC=$DATA/intel/country-ipv4-demo.csv.gz
"$SHERIFF" asmap import --db "$T/s.db" --format ipldb --as-of 2026-06-17 "$ASN" "$CC" 2>/dev/null
"$SHERIFF" hosting import --db "$T/s.db" "$DATA"/hosting/*.json.gz 2>/dev/null
python3 "$REF" ref "$ASN" "$CC" "$DATA/hosting" "${files[@]}" > "$T/ref.json"

expect_rc 0 "lifetimes --by asn --json" \
	bash -c "'$SHERIFF' lifetimes --db '$T/s.db' --by asn --limit 0 --json > '$T/lt.jsonl'"
check "KM curves, medians, CIs, at-risk counts and one-day share equal the reference (all + every ASN)" \
	python3 "$REF" check-lifetimes "$T/ref.json" "$T/lt.jsonl"
"$SHERIFF" networks --db "$T/s.db" --by asn --limit 0 --json > "$T/nw.jsonl" 2>/dev/null
check "per-ASN counts, space, density, medians, one-day share, recurrences equal the reference (every ASN)" \
	python3 "$REF" check-networks "$T/ref.json" "$T/nw.jsonl" asn all
"$SHERIFF" networks --db "$T/s.db" --by country --limit 0 --json > "$T/cc.jsonl" 2>/dev/null
check "per-country figures equal the reference (every country)" \
	python3 "$REF" check-networks "$T/ref.json" "$T/cc.jsonl" country all

"$SHERIFF" networks --db "$T/s.db" --by asn --hosting-only --limit 0 --json > "$T/h.jsonl" 2>/dev/null
check "networks --by asn --hosting-only: figures equal the reference" \
	python3 "$REF" check-networks "$T/ref.json" "$T/h.jsonl"
check "--hosting-only lists only networks tagged hosting, each with its reasons" \
	python3 -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
assert rows and all(r["kind"]=="hosting" and r["reasons"] for r in rows)' "$T/h.jsonl"
check "--hosting-only includes every ASN with most indicators in hosting ranges" \
	python3 -c 'import json,sys
ref=json.load(open(sys.argv[1]))["asn"]
got={json.loads(l)["key"] for l in open(sys.argv[2])}
want={k for k,v in ref.items() if v["in_hosting"]*2>=v["total"]}
assert want and want<=got, want-got' "$T/ref.json" "$T/h.jsonl"
check "the contract's JSON keys are there" \
	python3 -c 'import json,sys
keys="key indicators_total indicators_active density median_lifetime_h median_takedown_h one_day_share score verdict reasons".split()
for l in open(sys.argv[1]):
    o=json.loads(l); assert all(k in o for k in keys), o
    assert o["verdict"] in ("bph","suspicious","abused","clean")' "$T/nw.jsonl"
check "no NaN or infinity in networks or lifetimes output" no_nan "$T/nw.jsonl" "$T/lt.jsonl"
"$SHERIFF" networks --db "$T/s.db" --by asn --limit 0 --csv > "$T/nw.csv" 2>/dev/null
check "--csv gives the same networks, scores and verdicts as --json" python3 -c 'import csv,json,sys
rows=list(csv.DictReader(open(sys.argv[1], newline="")))
js=[json.loads(l) for l in open(sys.argv[2])]
assert [(r["key"],r["verdict"],float(r["score"]),int(r["indicators_total"])) for r in rows] == \
       [(j["key"],j["verdict"],j["score"],j["indicators_total"]) for j in js]' "$T/nw.csv" "$T/nw.jsonl"

# same data, same verdicts: another database from the same files in another order
mapfile -t shuffled < <(printf '%s\n' "${files[@]}" | shuf --random-source=<(yes))
"$SHERIFF" ingest --db "$T/r.db" "${shuffled[@]}" 2>/dev/null
"$SHERIFF" hosting import --db "$T/r.db" "$DATA"/hosting/*.json.gz 2>/dev/null
"$SHERIFF" asmap import --db "$T/r.db" --format ipldb --as-of 2026-06-17 "$ASN" "$CC" 2>/dev/null
"$SHERIFF" networks --db "$T/r.db" --by asn --limit 0 --json > "$T/nw2.jsonl" 2>/dev/null
check "same data in another order gives the same ranking, scores and verdicts" cmp -s "$T/nw.jsonl" "$T/nw2.jsonl"
for by in prefix org; do
	"$SHERIFF" networks --db "$T/s.db" --by $by --limit 0 --json > "$T/by-$by.jsonl" 2>/dev/null
	check "networks --by $by: no NaN" no_nan "$T/by-$by.jsonl"
	check "networks --by $by: each addressed indicator counted at most once" test \
		"$(python3 -c 'import json,sys; print(sum(json.loads(l)["indicators_total"] for l in open(sys.argv[1])))' "$T/by-$by.jsonl")" -le 1048
done

# ---- edge cases -----------------------------------------------------------------------------
expect_rc 0 "networks on an empty store" "$SHERIFF" networks --db "$T/empty.db" --json
"$SHERIFF" networks --db "$T/empty.db" --json > "$T/e1.jsonl" 2>/dev/null
"$SHERIFF" lifetimes --db "$T/empty.db" --json > "$T/e2.jsonl" 2>/dev/null
check "empty store: no networks, one 'all' line with n 0 and null medians" python3 -c 'import json,sys
assert open(sys.argv[1]).read()==""
(o,)=[json.loads(l) for l in open(sys.argv[2])]
assert o["key"]=="all" and o["indicators"]==0 and o["one_day_share"] is None
assert o["lifetime"]["n"]==0 and o["lifetime"]["median_h"] is None and o["takedown"]["points"]==[]' "$T/e1.jsonl" "$T/e2.jsonl"
expect_rc 0 "text tables on an empty store" "$SHERIFF" lifetimes --db "$T/empty.db"

one=${files[40]}
"$SHERIFF" ingest --db "$T/one.db" "$one" 2>/dev/null
"$SHERIFF" asmap import --db "$T/one.db" --format ipldb --as-of 2026-06-17 "$ASN" 2>/dev/null
"$SHERIFF" networks --db "$T/one.db" --by asn --limit 0 --json > "$T/o1.jsonl" 2>/dev/null
"$SHERIFF" lifetimes --db "$T/one.db" --by asn --json > "$T/o2.jsonl" 2>/dev/null
check "a single snapshot: no NaN" no_nan "$T/o1.jsonl" "$T/o2.jsonl"
check "a single snapshot: nobody followed, medians null, networks still counted" python3 -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
assert rows and sum(r["indicators_total"] for r in rows)>0
assert all(r["subjects"]==0 and r["median_takedown_h"] is None and r["one_day_share"] is None for r in rows)
a=json.loads(open(sys.argv[2]).readline()); assert a["lifetime"]["n"]==0' "$T/o1.jsonl" "$T/o2.jsonl"

# constructed: a hoster keeping 4 indicators up for weeks, an ISP with 3000 one-day infections,
# and a network with a single indicator
bph_store "$T"
"$SHERIFF" networks --db "$T/c.db" --by asn --json > "$T/c.jsonl" 2>/dev/null
"$SHERIFF" networks --db "$T/c.db" --by asn > "$T/c.txt" 2>/dev/null
check "the hoster with 4 long-lived indicators ranks first, bph, with its reasons" python3 -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
h=rows[0]
assert h["key"]=="AS64500" and h["verdict"]=="bph" and h["kind"]=="hosting", h
assert h["indicators_total"]==4 and h["indicators_active"]==1
assert any("median takedown" in r for r in h["reasons"]) and any("hosting space" in r for r in h["reasons"]), h["reasons"]' "$T/c.jsonl"
check "the ISP with 2900 one-day infections is eyeball, below the hoster, not bph" python3 -c 'import json,sys
rows={json.loads(l)["key"]:json.loads(l) for l in open(sys.argv[1])}
i,h=rows["AS64501"],rows["AS64500"]
assert i["indicators_total"]==2900 and i["kind"]=="eyeball" and i["verdict"] not in ("bph","suspicious"), i
assert i["one_day_share"]==1 and i["score"]<h["score"] and i["rank"]>h["rank"]' "$T/c.jsonl"
check "constructed networks: no NaN" no_nan "$T/c.jsonl"
check "a network with one indicator gets its figures" python3 -c 'import json,sys
(o,)=[r for r in map(json.loads, open(sys.argv[1])) if r["key"]=="AS64502"]
assert o["indicators_total"]==1 and o["one_day_share"]==1 and o["median_takedown_h"]==6 and o["density"]==1, o' "$T/c.jsonl"
check "the table gives the reasons in plain figures" grep -q "median takedown 49 d vs 6.0 h overall" "$T/c.txt"

finish
