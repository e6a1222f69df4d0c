#!/bin/bash
# Every export loaded into the real consumer Debian ships: rbldnsd serves the rbldnsd datasets,
# unbound applies the RPZ (NXDOMAIN for a listed name, passthru for an allowlisted one), nsd
# loads and serves the RFC 1035 zones, nft -c and ipset restore accept the firewall files
# (unprivileged, in a user and network namespace), the DROP and STIX exports parse back with
# sheriff's own ingest into the same set; Suricata, Zeek and MISP files are checked against
# their documented grammar (and a MISP export deletes the event files its manifest dropped).
# Data: the URLhaus history slice, real DROP/EDROP/Feodo files, the
# hosting ranges, and a small list written here for the allowlist cases.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsbl_lib.sh"
chmod 755 "$T"
CHECK="python3 $HERE/export_check.py"
DB=$T/s.db
AT=2019-09-21T00:00:00Z
F=$DATA/feeds

tar xJf "$DATA/history/urlhaus-filter-slice.tar.xz" -C "$T"
"$SHERIFF" hosting import --db "$DB" "$DATA"/hosting/*.json.gz > /dev/null
"$SHERIFF" ingest --db "$DB" "$T"/urlhaus-filter/*.txt 2> /dev/null
# the network lists as if fetched the day before the export
cat > "$T/extra.txt" <<'EOF'
# inside the DROP prefix 1.19.0.0/16, so the zone needs *.5.19.1 for 1.19.5.6
1.19.5.5
# allowlisted: a public resolver, Cloudflare's shared range, private space
8.8.8.8
104.16.1.1
10.1.2.3
2a06:e881:1::5
blocked.example.com
keep.example.com
EOF
"$SHERIFF" ingest --db "$DB" --at 2019-09-20T12:00:00Z "$F/spamhaus_drop_v4_2025-03-03.json" \
	"$F/spamhaus_edrop_2015-11-03.netset" "$F/feodo_2015-10-23.ipset" 2> /dev/null
"$SHERIFF" ingest --db "$DB" --at 2019-09-20T12:00:00Z --source extra "$T/extra.txt" 2> /dev/null
cat > "$T/policy.conf" <<'EOF'
[dns]
zone = bl.sheriff.test
rpz_zone = rpz.sheriff.test
[allow]
entry = keep.example.com
EOF
X=(--db "$DB" --at "$AT" --policy "$T/policy.conf")

exp() {  # exp FORMAT OUT [ARGS...]
	local fmt=$1 out=$2; shift 2
	"$SHERIFF" export "${X[@]}" --format "$fmt" --out "$out" "$@" 2>> "$T/export.log"
}
expect() {  # expect DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$3', wanted '$2'"; fi
}

check "csv export" exp csv "$T/all.csv"
pick() {  # pick TYPE SOURCE-SUBSTRING: the first online listing of that type
	awk -F, -v t="$1" -v s="$2" 'NR > 1 && $2 == t && $5 == "true" && index($9, s) { print $1; exit }' "$T/all.csv"
}
IP=$(pick ip urlhaus-filter)
DOM=$(pick domain urlhaus-filter)
check "the csv has an online IP ($IP) and domain ($DOM) from URLhaus" test -n "$IP" -a -n "$DOM"
for a in 8.8.8.8 104.16.1.1 10.1.2.3 keep.example.com; do
	check "allowlisted $a is not listed" bash -c "! grep -q '^$a,' '$T/all.csv'"
done
check "blocked.example.com is listed" grep -q '^blocked.example.com,domain,' "$T/all.csv"
check "every entry carries sources, first and last seen" \
	awk -F, 'NR > 1 && ($6 == "" || $7 == "" || $9 == "") { exit 1 }' "$T/all.csv"
rev4() { echo "$1" | awk -F. '{ print $4 "." $3 "." $2 "." $1 }'; }

# ---- rbldnsd ----------------------------------------------------------------------------------
for k in ip4trie ip4set ip6trie dnset; do check "rbldnsd --kind $k" exp rbldnsd "$T/$k.rbl" --kind $k; done
chmod 644 "$T"/*.rbl
P=$(free_port)
USR=()
[ "$(id -u)" -eq 0 ] && USR=(-u nobody)
Z=bl.sheriff.test
start_bg "$T/rbldnsd.log" rbldnsd -n "${USR[@]}" -b "127.0.0.1/$P" "$Z:ip4trie:$T/ip4trie.rbl" \
	"s.$Z:ip4set:$T/ip4set.rbl" "$Z:ip6trie:$T/ip6trie.rbl" "$Z:dnset:$T/dnset.rbl"
check "rbldnsd serves the exports" wait_answer "$P" "2.0.0.127.$Z"
code=$(awk -F, -v v="$IP" '$1 == v { print $4 }' "$T/all.csv")
expect "rbldnsd: listed IP answers its code" "$code" "$(short "$P" "$(rev4 "$IP").$Z" A)"
check "rbldnsd: listed IP has its evidence in TXT" \
	bash -c "dig +short -p $P @127.0.0.1 $(rev4 "$IP").$Z TXT | grep -q 'malware: .* via urlhaus-filter-online; first 20'"
expect "rbldnsd ip4set: same answer" "$code" "$(short "$P" "$(rev4 "$IP").s.$Z" A)"
expect "rbldnsd: RFC 5782 test entry 127.0.0.2" "127.0.0.2" "$(short "$P" "2.0.0.127.$Z" A)"
expect "rbldnsd: 127.0.0.1 never listed" NXDOMAIN "$(rcode "$P" "1.0.0.127.$Z" A)"
expect "rbldnsd: allowlisted 8.8.8.8 not listed" NXDOMAIN "$(rcode "$P" "8.8.8.8.$Z" A)"
expect "rbldnsd: address in a DROP /20 (1.10.16.0/20)" "127.0.0.5" "$(short "$P" "9.30.10.1.$Z" A)"
expect "rbldnsd: listed domain" "127.0.1.2" "$(short "$P" "$DOM.$Z" A)"
expect "rbldnsd: subdomain of a listed domain" "127.0.1.2" "$(short "$P" "www.$DOM.$Z" A)"
expect "rbldnsd: test listed" "127.0.1.2" "$(short "$P" "test.$Z" A)"
expect "rbldnsd: invalid never listed" NXDOMAIN "$(rcode "$P" "invalid.$Z" A)"
expect "rbldnsd: allowlisted domain not listed" NXDOMAIN "$(rcode "$P" "keep.example.com.$Z" A)"
nib() { python3 -c 'import ipaddress,sys; print(".".join(reversed(ipaddress.ip_address(sys.argv[1]).exploded.replace(":", ""))))' "$1"; }
expect "rbldnsd ip6trie: listed IPv6" "127.0.0.10" "$(short "$P" "$(nib 2a06:e881:1::5).$Z" A)"
expect "rbldnsd ip6trie: RFC 5782 ::ffff:7f00:2" "127.0.0.2" "$(short "$P" "$(nib ::ffff:7f00:2).$Z" A)"
expect "rbldnsd ip6trie: ::ffff:7f00:1 never listed" NXDOMAIN "$(rcode "$P" "$(nib ::ffff:7f00:1).$Z" A)"
stop_all

# ---- RPZ in unbound ---------------------------------------------------------------------------
check "rpz export" exp rpz "$T/rpz.zone"
check "the RPZ passes allowlisted names" grep -q '^keep.example.com CNAME rpz-passthru.' "$T/rpz.zone"
UP=$(free_port)
RP=$(free_port)
{
	printf 'server:\n  interface: 127.0.0.1\n  port: %s\n  do-daemonize: no\n  use-syslog: no\n' "$UP"
	printf '  chroot: ""\n  username: ""\n  directory: "%s"\n  pidfile: ""\n  module-config: "iterator"\n' "$T"
	for n in "$DOM" "www.$DOM" blocked.example.com keep.example.com other.example.com; do
		printf '  local-zone: "%s." static\n  local-data: "%s. A 192.0.2.7"\n' "$n" "$n"
	done
	printf 'remote-control:\n  control-enable: no\n'
} > "$T/upstream.conf"
{
	printf 'server:\n  interface: 127.0.0.1\n  port: %s\n  do-daemonize: no\n  use-syslog: no\n' "$RP"
	printf '  chroot: ""\n  username: ""\n  directory: "%s"\n  pidfile: ""\n' "$T"
	printf '  module-config: "respip iterator"\n  do-not-query-localhost: no\n'
	printf 'remote-control:\n  control-enable: no\n'
	printf 'rpz:\n  name: "rpz.sheriff.test."\n  zonefile: "%s/rpz.zone"\n' "$T"
	for z in "$DOM" example.com; do
		printf 'forward-zone:\n  name: "%s."\n  forward-addr: 127.0.0.1@%s\n' "$z" "$UP"
	done
} > "$T/resolver.conf"
check "unbound-checkconf accepts the resolver with the RPZ" unbound-checkconf "$T/resolver.conf"
start_bg "$T/upstream.log" unbound -d -c "$T/upstream.conf"
start_bg "$T/unbound.log" unbound -d -c "$T/resolver.conf"
rq() { dig @127.0.0.1 -p "$RP" +time=2 +tries=2 "$@"; }
rstatus() { rq "$@" | awk '/status:/{s=$6; sub(",", "", s); print s}'; }
for _ in $(seq 50); do rq other.example.com A > /dev/null 2>&1 && break; sleep 0.1; done
expect "unbound: an unlisted name resolves" "192.0.2.7" "$(rq +short other.example.com A)"
expect "unbound + RPZ: listed $DOM is NXDOMAIN" NXDOMAIN "$(rstatus "$DOM" A)"
expect "unbound + RPZ: its subdomain is NXDOMAIN" NXDOMAIN "$(rstatus "www.$DOM" A)"
expect "unbound + RPZ: listed blocked.example.com is NXDOMAIN" NXDOMAIN "$(rstatus blocked.example.com A)"
expect "unbound + RPZ: allowlisted keep.example.com passes" "192.0.2.7" "$(rq +short keep.example.com A)"
stop_all

# ---- RFC 1035 zone in nsd ---------------------------------------------------------------------
for k in ip4 ip6 domain; do
	check "zone --kind $k" exp zone "$T/zone-$k" --kind $k
	check "nsd-checkzone accepts the $k zone" nsd-checkzone "$Z" "$T/zone-$k"
done
check "the /20 became sixteen /24 wildcards" \
	bash -c "[ \$(grep -c -E '^\\*\\.(1[6-9]|2[0-9]|3[01])\\.10\\.1 .* A ' '$T/zone-ip4') -eq 16 ]"
NP=$(free_port)
cat > "$T/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1
  port: $NP
  username: ""
  chroot: ""
  zonesdir: "$T"
  database: ""
  pidfile: ""
  xfrdfile: "$T/xfrd.state"
  zonelistfile: "$T/zone.list"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: $Z
  zonefile: zone-ip4
zone:
  name: d.$Z
  zonefile: zone-domain
EOF
sed "s/^\\\$ORIGIN $Z\\./\$ORIGIN d.$Z./" "$T/zone-domain" > "$T/zone-domain.tmp" && mv "$T/zone-domain.tmp" "$T/zone-domain"
start_bg "$T/nsd.log" nsd -d -c "$T/nsd.conf"
check "nsd serves the zones" wait_answer "$NP" "2.0.0.127.$Z"
expect "nsd: listed IP" "$code" "$(short "$NP" "$(rev4 "$IP").$Z" A)"
expect "nsd: test entry" "127.0.0.2" "$(short "$NP" "2.0.0.127.$Z" A)"
expect "nsd: 127.0.0.1 NXDOMAIN" NXDOMAIN "$(rcode "$NP" "1.0.0.127.$Z" A)"
expect "nsd: an address in the /20" "127.0.0.5" "$(short "$NP" "9.30.10.1.$Z" A)"
expect "nsd: 1.19.5.5 itself" "127.0.0.10" "$(short "$NP" "5.5.19.1.$Z" A)"
expect "nsd: its neighbour 1.19.5.6 is in the /16 (wildcard below an empty non-terminal)" \
	"127.0.0.5" "$(short "$NP" "6.5.19.1.$Z" A)"
expect "nsd: elsewhere in the /16" "127.0.0.5" "$(short "$NP" "7.7.19.1.$Z" A)"
expect "nsd: listed domain" "127.0.1.2" "$(short "$NP" "$DOM.d.$Z" A)"
expect "nsd: its subdomain" "127.0.1.2" "$(short "$NP" "a.b.$DOM.d.$Z" A)"
expect "nsd: test domain" "127.0.1.2" "$(short "$NP" "test.d.$Z" A)"
stop_all

# ---- firewalls --------------------------------------------------------------------------------
check "nft export" exp nft "$T/sheriff.nft"
# Unprivileged, nft's netlink socket keeps its default 208 KiB buffer (SO_SNDBUFFORCE needs
# CAP_NET_ADMIN in the initial namespace), too small for this whole file as one transaction:
# unprivileged, each command is checked on its own (with the table and set it needs); the
# whole file is checked and loaded as root in a fresh network namespace (unshare -n).
python3 - "$T/sheriff.nft" "$T/nftpart" <<'PY'
import sys
text = open(sys.argv[1]).read()
head, *cmds = text.split('add element ')
decl = [l for l in head.splitlines() if l.startswith('add ')]
decl += [l for l in text.splitlines() if l.startswith('add set ')]
for i, c in enumerate(cmds):
    c = c.split('\nadd ')[0].split('\nflush ')[0]
    open('%s.%d' % (sys.argv[2], i), 'w').write('\n'.join(dict.fromkeys(decl)) + '\nadd element ' + c + '\n')
PY
parts_ok=1
for f in "$T"/nftpart.*; do unshare -rn nft -c -f "$f" || { parts_ok=0; echo "# rejected: $f"; }; done
check "nft -c -f accepts every command of the file (unshare -rn, unprivileged)" test $parts_ok -eq 1
if [ "$(id -u)" -eq 0 ]; then
	check "nft -c -f accepts the whole file (root, unshare -n)" unshare -n nft -c -f "$T/sheriff.nft"
	check "nft loads it and $IP and 1.19.5.5 are in the set" unshare -n sh -c \
		"nft -f '$T/sheriff.nft' && nft get element inet sheriff sheriff_v4 '{ $IP }' >/dev/null && nft get element inet sheriff sheriff_v4 '{ 1.19.5.5 }' >/dev/null"
	check "nft: loading the same file again replaces the elements (one transaction)" \
		unshare -n sh -c "nft -f '$T/sheriff.nft' && nft -f '$T/sheriff.nft'"
else
	echo "# not root: the whole-file nft checks need CAP_NET_ADMIN and are skipped"
fi
check "ipset export" exp ipset "$T/sheriff.ipset"
check "ipset restore accepts it (unshare -rn)" unshare -rn ipset restore -f "$T/sheriff.ipset"
check "ipset: $IP and 1.10.20.1 are in the set, 8.8.8.8 is not" unshare -rn sh -c \
	"ipset restore -f '$T/sheriff.ipset' && ipset test sheriff_v4 $IP 2>/dev/null && ipset test sheriff_v4 1.10.20.1 2>/dev/null && ! ipset test sheriff_v4 8.8.8.8 2>/dev/null"
check "ipset: restoring twice swaps in the new set" unshare -rn sh -c \
	"ipset restore -f '$T/sheriff.ipset' && ipset restore -f '$T/sheriff.ipset'"

# ---- parse back: DROP and STIX ----------------------------------------------------------------
check "drop-json export" exp drop-json "$T/drop.json"
check "drop export" exp drop "$T/drop.txt"
check "stix export" exp stix "$T/sheriff.stix.json"
"$SHERIFF" ingest --db "$T/dj.db" "$T/drop.json" 2> "$T/dj.log" || true
check "sheriff ingest reads the drop-json export without a bad line" grep -q ' 0 bad lines' "$T/dj.log"
"$SHERIFF" ingest --db "$T/dt.db" --at 2019-09-20T23:00:00Z "$T/drop.txt" 2> "$T/dt.log" || true
check "sheriff ingest reads the drop export without a bad line" grep -q ' 0 bad lines' "$T/dt.log"
"$SHERIFF" ingest --db "$T/st.db" "$T/sheriff.stix.json" 2> "$T/st.log" || true
check "sheriff ingest reads the stix export without a bad line" grep -q ' 0 bad lines' "$T/st.log"
# --at just after: the snapshot times of the parsed-back files are the export's own time
Y=(--at 2019-09-21T00:00:01Z --policy "$T/policy.conf" --format csv)
"$SHERIFF" export --db "$T/dj.db" "${Y[@]}" --out "$T/dj.csv" 2>> "$T/export.log"
"$SHERIFF" export --db "$T/dt.db" "${Y[@]}" --out "$T/dt.csv" 2>> "$T/export.log"
"$SHERIFF" export --db "$T/st.db" "${Y[@]}" --out "$T/st.csv" 2>> "$T/export.log"
check "drop-json parses back to the same addresses" $CHECK same "$T/all.csv" "$T/dj.csv" ip,cidr
check "drop text parses back to the same addresses" $CHECK same "$T/all.csv" "$T/dt.csv" ip,cidr
check "stix parses back to the same set (addresses, domains, URLs)" \
	$CHECK same "$T/all.csv" "$T/st.csv" ip,cidr,domain,url
"$SHERIFF" lookup --db "$T/st.db" --json "$IP" "$DOM" > "$T/st-lookup.json"
check "lookup in the parsed-back store: both listed" \
	bash -c "[ \$(grep -c '\"listed\":true' '$T/st-lookup.json') -eq 2 ]"
check "STIX 2.1 grammar" $CHECK stix "$T/sheriff.stix.json" 0

# ---- Suricata, Zeek, MISP: documented grammar --------------------------------------------------
check "suricata export" exp suricata "$T/suricata"
check "Suricata iprep, dataset and rules grammar" $CHECK suricata "$T/suricata"
check "zeek export" exp zeek "$T/sheriff.intel"
check "Zeek intel grammar" $CHECK zeek "$T/sheriff.intel"
check "misp export" exp misp "$T/misp"
check "MISP feed grammar (manifest, events, hashes.csv)" $CHECK misp "$T/misp"
# events that drop out of the manifest are deleted on the next export (after the new manifest
# is in place); files that are not event files stay
cat > "$T/misp-events.py" <<'PY'
import json, os, re, sys
d = sys.argv[1]
man = set(json.load(open(os.path.join(d, 'manifest.json'))))
files = {f[:-5] for f in os.listdir(d) if re.fullmatch(r'[0-9a-f-]{36}\.json', f)}
print(' '.join(sorted(man)))
if files != man:
    sys.exit('event files %s, manifest %s' % (sorted(files - man), sorted(man - files)))
PY
check "misp export again: each file replaced stays as its spare" exp misp "$T/misp"
check "...one spare per event file" bash -c "s=\$(ls -A '$T/misp' | grep -c '^\\.[0-9a-f-]*\\.json\\.spare\$'); [ \$s -gt 0 ] && [ \$s -eq \$(ls '$T/misp' | grep -c '^[0-9a-f-]*\\.json\$') ]"
python3 "$T/misp-events.py" "$T/misp" > "$T/misp-1.events"
touch "$T/misp/notes.txt" "$T/misp/Custom.json"
{ cat "$T/policy.conf"; printf '[listing]\ntypes = domain, url\n'; } > "$T/policy-names.conf"
check "misp export of names only: the address-only categories' events drop out (--force)" \
	"$SHERIFF" export --db "$DB" --at "$AT" --policy "$T/policy-names.conf" --format misp \
	--out "$T/misp" --force 2>> "$T/export.log"
check "MISP: every event file is in the new manifest and every manifest event has its file" \
	bash -c "python3 '$T/misp-events.py' '$T/misp' > '$T/misp-2.events'"
check "MISP: events dropped out of the manifest, and their files and spares were deleted" python3 -c 'import os,sys
e1=set(open(sys.argv[1]).read().split()); e2=set(open(sys.argv[2]).read().split())
gone=e1-e2
assert gone and e2 < e1, (len(e1), len(e2))
assert not any(os.path.exists(os.path.join(sys.argv[3], u + ".json")) for u in gone)
assert not any(os.path.exists(os.path.join(sys.argv[3], "." + u + ".json.spare")) for u in gone)' \
	"$T/misp-1.events" "$T/misp-2.events" "$T/misp"
check "MISP: files that are not event files stay" test -e "$T/misp/notes.txt" -a -e "$T/misp/Custom.json"
check "MISP feed grammar after the pruning export" $CHECK misp "$T/misp"
ls -a "$T/misp" > "$T/misp-2.ls"
expect_rc 3 "a MISP export the guard refuses (everything expired)" "$SHERIFF" export --db "$DB" \
	--at 2019-11-01T00:00:00Z --policy "$T/policy.conf" --format misp --out "$T/misp" 2>> "$T/export.log"
check "...deletes nothing" bash -c "ls -a '$T/misp' | cmp -s - '$T/misp-2.ls'"
check "json export is one JSON object per line" \
	bash -c "'$SHERIFF' export ${X[*]} --format json | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]'"

# ---- STIX versions across exports ---------------------------------------------------------------
cp "$T/sheriff.stix.json" "$T/stix-1.json"
# a day later 1.19.5.5 is seen again (its content changes), and blocked.example.com is
# allowlisted (withdrawn: it must come back as revoked)
printf '1.19.5.5\nblocked.example.com\n2a06:e881:1::5\nkeep.example.com\n' > "$T/extra-later.txt"
"$SHERIFF" ingest --db "$DB" --at 2019-09-21T06:00:00Z --source extra "$T/extra-later.txt" 2>/dev/null
printf 'entry = blocked.example.com\n' >> "$T/policy.conf"
"$SHERIFF" export --db "$DB" --at 2019-09-21T12:00:00Z --policy "$T/policy.conf" --format stix \
	--out "$T/sheriff.stix.json" 2>> "$T/export.log"
check "STIX: ids stable, created kept, modified bumped for the changed indicator, withdrawn ones revoked" \
	$CHECK stix-versions "$T/stix-1.json" "$T/sheriff.stix.json" 1.19.5.5
check "STIX: the withdrawn blocked.example.com is published as revoked" \
	$CHECK stix-revoked "$T/sheriff.stix.json" blocked.example.com
check "STIX 2.1 grammar of the second export" $CHECK stix "$T/sheriff.stix.json"

check "no export wrote a partial temp file" bash -c "! ls -a '$T' | grep -q '^\\..*\\.[A-Za-z0-9]\\{6\\}\$'"
finish
