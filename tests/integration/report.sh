#!/bin/bash
# The HTML report: one self-contained file (no script, nothing fetched) that headless Chromium
# renders with all five SVG charts drawn from the real URLhaus slice; data-borne text is
# escaped; an empty store still gives a page.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
chrome() {  # chrome ARGS... : headless Chromium with no network chatter, bounded in time
	timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$T/chr" "$@" 2>/dev/null
}

tar xJf "$DATA/history/urlhaus-filter-slice.tar.xz" -C "$T"
"$SHERIFF" ingest --db "$T/s.db" "$T"/urlhaus-filter/*.txt 2>/dev/null
"$SHERIFF" asmap import --db "$T/s.db" --format ipldb --as-of 2026-06-17 \
	"$DATA/asn-demo/asn-ipv4-demo.csv.gz" "$DATA/intel/country-ipv4-demo.csv.gz" 2>/dev/null
"$SHERIFF" hosting import --db "$T/s.db" "$DATA"/hosting/*.json.gz 2>/dev/null

expect_rc 0 "report --out r.html" "$SHERIFF" report --db "$T/s.db" --out "$T/r.html" --top 15
expect_rc 1 "report without --out is a usage error" "$SHERIFF" report --db "$T/s.db"
check "self-contained: no script, no external reference" python3 - "$T/r.html" <<'PY'
import re, sys
h = open(sys.argv[1], encoding='utf-8').read()
assert '<script' not in h.lower() and '<link' not in h.lower() and '<img' not in h.lower()
assert not re.search(r'\b(src|href)\s*=', h, re.I)
urls = set(re.findall(r'https?://[^\s"\'<>]+', h))
assert urls <= {'http://www.w3.org/2000/svg'}, urls
PY

if [ -z "$CHROMIUM" ]; then
	not_ok "chromium is installed (scripts/install-deps.sh)"
	finish
	exit 1
fi
chrome --dump-dom "file://$T/r.html" > "$T/dom.html"
check "headless Chromium renders the report and draws its five SVG charts" python3 - "$T/dom.html" <<'PY'
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svg, self.count, self.text = None, {}, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'svg':
            self.svg = a.get('id')
            self.count[self.svg] = {}
        elif self.svg:
            c = self.count[self.svg]
            c[tag] = c.get(tag, 0) + 1
    def handle_endtag(self, tag):
        if tag == 'svg':
            self.svg = None
    def handle_data(self, d):
        self.text.append(d)

p = P()
p.feed(open(sys.argv[1], encoding='utf-8').read())
c = p.count
want = {'chart-top', 'chart-survival', 'chart-lifetimes', 'chart-oneday', 'chart-countries'}
assert want <= set(c), c.keys()
assert c['chart-top'].get('rect', 0) == 15, c['chart-top']            # one bar per network
assert c['chart-survival'].get('path', 0) >= 4, c['chart-survival']   # band, all, worst networks
assert c['chart-lifetimes'].get('rect', 0) >= 22, c['chart-lifetimes']  # 11 bins x 2 + legend
assert c['chart-oneday'].get('circle', 0) >= 2, c['chart-oneday']     # months of the slice
assert c['chart-countries'].get('rect', 0) == 15, c['chart-countries']
text = ' '.join(p.text)
assert 'median takedown' in text and 'Ranking' in text
PY
chrome --window-size=1100,3600 --screenshot="$T/r.png" "file://$T/r.html" > /dev/null
check "the screenshot is a real picture (PNG, 1100 px wide, not blank)" python3 - "$T/r.png" <<'PY'
import struct, sys, zlib
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\x89PNG\r\n\x1a\n'
w, h = struct.unpack('>II', b[16:24])
assert w == 1100 and h >= 1000, (w, h)
assert len(b) > 50000, len(b)  # a blank page compresses to a few kB
PY

# data-borne text is escaped
printf '5.6.7.0,5.6.7.255,64500,Evil <script>alert(1)</script> & "Co"\n' > "$T/x.csv"
printf '! Updated: Mon, 01 Jun 2020 00:00:00 UTC\n5.6.7.8\n' > "$T/x1.txt"
printf '! Updated: Mon, 01 Jun 2020 12:00:00 UTC\n5.6.7.8\n' > "$T/x2.txt"
printf '! Updated: Tue, 02 Jun 2020 00:00:00 UTC\n5.6.7.9\n' > "$T/x3.txt"
"$SHERIFF" ingest --db "$T/x.db" --source x "$T"/x?.txt 2>/dev/null
"$SHERIFF" asmap import --db "$T/x.db" --format ipldb --as-of 2020-01-01 "$T/x.csv" 2>/dev/null
"$SHERIFF" report --db "$T/x.db" --out "$T/x.html" 2>/dev/null
chrome --dump-dom "file://$T/x.html" > "$T/xdom.html"
check "an org name with markup is shown as text, not run" python3 - "$T/x.html" "$T/xdom.html" <<'PY'
import sys
raw, dom = (open(p, encoding='utf-8').read() for p in sys.argv[1:])
assert '<script' not in raw and '<script' not in dom
assert 'Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;' in raw
assert 'Evil &lt;script&gt;' in dom
PY

expect_rc 0 "report of an empty store" "$SHERIFF" report --db "$T/empty.db" --out "$T/e.html"
chrome --dump-dom "file://$T/e.html" > "$T/edom.html"
check "the empty report still renders its charts, without NaN" \
	bash -c "grep -q 'id=\"chart-survival\"' '$T/edom.html' && ! grep -qiw nan '$T/e.html'"

finish
