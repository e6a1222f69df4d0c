#!/bin/bash
# sheriff dnsbl on a free loopback port, queried with dig and kdig: listed and unlisted
# IPv4, IPv6 and domains, wildcards, exclusions, TXT substitution, empty non-terminals,
# apex SOA/NS, REFUSED, BADVERS, TC then TCP, pipelined TCP, malformed packets, bounded and
# idle TCP connections, gzip data, AXFR, response rate limiting, and a reload (SIGHUP) that
# keeps old data on failure.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsbl_lib.sh"

D=$DATA/dnsbl
cp "$D"/ip4.txt "$D"/dom.txt "$D"/ip6.txt "$D"/trie4.txt "$D"/domgz.txt.gz "$T"/
P=$(free_port)
start_bg "$T/server.log" "$SHERIFF" dnsbl -b "127.0.0.1/$P" -t 2 --tcp-max 8 --tcp-idle 1 -w "$T" \
	--allow-transfer 127.0.0.1/32 \
	ip4.bl.test:ip4set:ip4.txt dbl.bl.test:dnset:dom.txt ip6.bl.test:ip6trie:ip6.txt \
	t4.bl.test:ip4trie:trie4.txt gz.bl.test:dnset:domgz.txt.gz
SRV=$LAST_PID
check "server answers on 127.0.0.1/$P" wait_answer "$P" 2.0.0.127.ip4.bl.test
check "bad data lines are reported with file and line" grep -q 'ip4.txt:18: invalid address' "$T/server.log"

expect() {  # expect DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$3', wanted '$2'"; fi
}
R4=ip4.bl.test
# IPv4 (ip4set)
expect "listed IPv4: A" "127.0.0.2" "$(short "$P" 2.0.0.127.$R4 A)"
expect "listed IPv4: TXT with \$ and \$1 substitution" \
	'"Listed: 127.0.0.2 - see https://bl.test/lookup?ip=127.0.0.2"' "$(short "$P" 2.0.0.127.$R4 TXT)"
expect "unlisted IPv4: NXDOMAIN" NXDOMAIN "$(rcode "$P" 1.0.0.127.$R4 A)"
expect "unlisted IPv4: SOA in authority" 1 "$(count "$P" AUTHORITY 1.0.0.127.$R4 A)"
expect "CIDR /24: any address inside" "127.0.0.2" "$(short "$P" 77.0.0.10.$R4 A)"
expect "/16 with its own A and TXT" '"Range 10.1.0.5 listed"' "$(short "$P" 5.0.1.10.$R4 TXT)"
expect "exclusion inside a /16: NXDOMAIN" NXDOMAIN "$(rcode "$P" 3.2.1.10.$R4 A)"
expect "more specific /24 wins over the /16" "127.0.0.4" "$(short "$P" 9.2.1.10.$R4 A)"
expect "':5:' means A without TXT: TXT query is NODATA" "NOERROR 0" \
	"$(rcode "$P" 1.2.0.192.$R4 TXT) $(count "$P" ANSWER 1.2.0.192.$R4 TXT)"
expect "range a.b.c.d-e" '"Spam from 192.0.2.15"' "$(short "$P" 15.2.0.192.$R4 TXT)"
expect "range end is inclusive, one past is unlisted" NXDOMAIN "$(rcode "$P" 21.2.0.192.$R4 A)"
expect "prefix range 172.16-31" "127.0.0.2" "$(short "$P" 9.9.20.172.$R4 A)"
expect "two values for one address: two A records" "127.0.0.10 127.0.0.11" "$(short "$P" 7.113.0.203.$R4 A)"
expect "comment after the address: default value" "127.0.0.2" "$(short "$P" 1.0.64.100.$R4 A)"
expect "empty non-terminal 0.1.10: NODATA (RFC 8020)" "NOERROR 0" \
	"$(rcode "$P" 0.1.10.$R4 A) $(count "$P" ANSWER 0.1.10.$R4 A)"
expect "no listing below 9.9.10: NXDOMAIN" NXDOMAIN "$(rcode "$P" 9.9.10.$R4 A)"
expect "five labels: NXDOMAIN" NXDOMAIN "$(rcode "$P" 1.2.0.0.127.$R4 A)"
expect "other type at a listed name: NODATA" "NOERROR 0" \
	"$(rcode "$P" 2.0.0.127.$R4 MX) $(count "$P" ANSWER 2.0.0.127.$R4 MX)"
expect "AAAA at a listed name: NODATA" "NOERROR" "$(rcode "$P" 2.0.0.127.$R4 AAAA)"
expect "ANY is answered minimally (RFC 8482): the A record" "1" "$(count "$P" ANSWER 2.0.0.127.$R4 ANY)"
expect "TTL from \$TTL" "600" "$(q "$P" +noall +answer 2.0.0.127.$R4 A | awk '{print $2}')"
# ip4trie
expect "ip4trie: longest prefix" '"slash14 10.20.9.1"' "$(short "$P" 1.9.20.10.t4.bl.test TXT)"
expect "ip4trie: excluded /24 inside the /14" NXDOMAIN "$(rcode "$P" 1.1.20.10.t4.bl.test A)"
expect "ip4trie: /25 inside the excluded /24" "127.0.0.4" "$(short "$P" 200.1.20.10.t4.bl.test A)"
expect "ip4trie: the first of duplicated prefixes wins" "127.0.0.2" "$(short "$P" 1.1.1.10.t4.bl.test A)"
# IPv6 (ip6trie)
rev6() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer[:-9])' "$1"; }
R6=ip6.bl.test
expect "listed IPv6 /32" '"IPv6 2001:db8::5 listed"' "$(short "$P" "$(rev6 2001:db8::5).$R6" TXT)"
expect "more specific IPv6 /48" "127.0.0.3" "$(short "$P" "$(rev6 2001:db8:1::7).$R6" A)"
expect "excluded IPv6 address" NXDOMAIN "$(rcode "$P" "$(rev6 2001:db8:1::1).$R6" A)"
expect "bare /64 prefix" "127.0.0.4" "$(short "$P" "$(rev6 2001:21ab:def7:4242::99).$R6" A)"
expect "unlisted IPv6" NXDOMAIN "$(rcode "$P" "$(rev6 2001:db9::1).$R6" A)"
expect "IPv6 empty non-terminal (nibble prefix of a listing)" NOERROR "$(rcode "$P" 8.b.d.0.1.0.0.2.$R6 A)"
# domains (dnset)
RD=dbl.bl.test
expect "listed domain with \$ = the entry" '"Domain example.com is listed"' "$(short "$P" example.com.$RD TXT)"
expect "plain entry does not cover subdomains" NXDOMAIN "$(rcode "$P" www.example.com.$RD A)"
expect "'.domain' lists the domain" "127.0.1.4" "$(short "$P" wild.example.$RD A)"
expect "'.domain' lists subdomains, \$ is the base" '"Wildcard wild.example and below"' \
	"$(short "$P" a.b.wild.example.$RD TXT)"
expect "'*.domain' does not list the domain: NODATA (it has listed names below)" "NOERROR 0" \
	"$(rcode "$P" sub.example.$RD A) $(count "$P" ANSWER sub.example.$RD A)"
expect "'*.domain' lists subdomains" "127.0.1.5" "$(short "$P" x.sub.example.$RD A)"
expect "'!name' excludes one name under a wildcard" NXDOMAIN "$(rcode "$P" ok.sub.example.$RD A)"
expect "'!.domain' excludes a subtree" NXDOMAIN "$(rcode "$P" x.excluded.wild.example.$RD A)"
expect "names are case-insensitive" "127.0.1.2" "$(short "$P" UPPER.EXAMPLE.net.$RD A)"
expect "empty non-terminal 'com': NODATA" "NOERROR 0" \
	"$(rcode "$P" com.$RD A) $(count "$P" ANSWER com.$RD A)"
expect "deep name's parents are non-terminals" NOERROR "$(rcode "$P" b.c.example.$RD A)"
expect "gzip data file" "127.0.1.2" "$(short "$P" example.com.gz.bl.test A)"
# zone apex, other zones, EDNS
expect "apex SOA" "ns1.bl.test. hostmaster.bl.test. 42 600 300 604800 300" "$(short "$P" $R4 SOA)"
expect "apex NS" "ns1.bl.test. ns2.bl.test." "$(short "$P" $R4 NS)"
expect "apex A: NODATA" "NOERROR 0" "$(rcode "$P" $R4 A) $(count "$P" ANSWER $R4 A)"
expect "a zone we do not serve: REFUSED" REFUSED "$(rcode "$P" example.org A)"
expect "no recursion offered (RA clear)" "" "$(q "$P" 2.0.0.127.$R4 A | grep -o 'flags:[^;]*' | grep -w ra)"
expect "authoritative (AA set)" "aa" "$(q "$P" 2.0.0.127.$R4 A | grep -o 'flags:[^;]*' | grep -ow aa)"
expect "EDNS version 1: BADVERS" BADVERS "$(q "$P" +edns=1 +noednsneg 2.0.0.127.$R4 A | awk '/status:/{s=$6; sub(",", "", s); print s}')"
expect "kdig agrees" "127.0.0.2" "$(kdig @127.0.0.1 -p "$P" +short 2.0.0.127.$R4 A)"
# truncation and TCP
BIG=1.0.18.198.$R4
expect "large answer over UDP without EDNS: TC set" "tc" \
	"$(q "$P" +noedns +ignore $BIG TXT | grep -o 'flags:[^;]*' | grep -ow tc)"
expect "same answer over TCP: 4 TXT records" 4 "$(count "$P" ANSWER +tcp $BIG TXT)"
expect "dig retries over TCP by itself" 4 "$(count "$P" ANSWER +noedns $BIG TXT)"
expect "EDNS 1232 fits it over UDP" 4 "$(count "$P" ANSWER +bufsize=1232 $BIG TXT)"
check "pipelined TCP queries answered in order" python3 "$HERE/dnsbl_client.py" pipeline "$P" \
	2.0.0.127.$R4 1.0.0.127.$R4 example.com.$RD $BIG 3.2.1.10.$R4 example.org
check "malformed packets (and AXFR over UDP): FORMERR, NOTIMP or silence; server survives" python3 "$HERE/dnsbl_client.py" malformed "$P"
check "idle TCP connection closed by the server" python3 "$HERE/dnsbl_client.py" idle "$P" 1
check "connections past --tcp-max are closed, others keep working" python3 "$HERE/dnsbl_client.py" tcpmax "$P" 8
# AXFR (RFC 5936): SOA first and last; a /16 becomes a wildcard, a /22 four /24 wildcards
dig @127.0.0.1 -p "$P" +norec t4.bl.test AXFR > "$T/axfr.txt"
dig @127.0.0.1 -p "$P" +norec ip4.bl.test AXFR > "$T/axfr4.txt"
expect "AXFR starts and ends with the SOA" "2" "$(grep -c 'IN	SOA' "$T/axfr4.txt")"
check "AXFR: a single address is an exact name" grep -q '^2\.0\.0\.127\.ip4\.bl\.test\..*IN	A	127\.0\.0\.2' "$T/axfr4.txt"
check "AXFR: the /22 became four /24 wildcards" test "$(grep -c '^\*\.\(100\|101\|102\|103\)\.51\.198\.ip4.*IN	A' "$T/axfr4.txt")" = 4
check "AXFR: the exclusion is cut out of the /24 (no *.2.1.10)" bash -c "! grep -q '^\*\.2\.1\.10\.ip4' '$T/axfr4.txt'"
check "AXFR: ip4trie /14 became /16 wildcards" grep -q '^\*\.21\.20\.10\.t4\.bl\.test\..*A	127\.0\.0\.3' "$T/axfr.txt"
check "AXFR from outside --allow-transfer: refused" bash -c \
	"dig @127.0.0.1 -p $P -b 127.0.0.2 ip4.bl.test AXFR | grep -q 'Transfer failed'"
# response rate limiting, on a second server
P2=$(free_port)
while [ "$P2" = "$P" ]; do P2=$(free_port); done
start_bg "$T/rrl.log" "$SHERIFF" dnsbl -b "127.0.0.1/$P2" -t 1 --rrl 5 --rrl-slip 2 -w "$T" ip4.bl.test:ip4set:ip4.txt
check "rrl server answers" wait_answer "$P2" 2.0.0.127.ip4.bl.test
sleep 1.1 # the probes above used up part of this second's allowance
check "RRL: a burst from one /24 is limited, with slip" python3 "$HERE/dnsbl_client.py" rrl "$P2" 5
# reload: a change is served after SIGHUP; a broken file keeps the old data
printf '127.0.0.3 :9:reloaded\n' >> "$T/ip4.txt.new"
cat "$T/ip4.txt" "$T/ip4.txt.new" > "$T/ip4.tmp" && touch -d '+2 seconds' "$T/ip4.tmp" && mv "$T/ip4.tmp" "$T/ip4.txt"
kill -HUP "$SRV"
for _ in $(seq 50); do [ "$(short "$P" 3.0.0.127.$R4 A)" = 127.0.0.9 ] && break; sleep 0.1; done
expect "SIGHUP reloads a changed file" "127.0.0.9" "$(short "$P" 3.0.0.127.$R4 A)"
expect "unchanged datasets are kept across the reload" "127.0.1.2" "$(short "$P" example.com.$RD A)"
mv "$T/dom.txt" "$T/dom.gone"
kill -HUP "$SRV"
for _ in $(seq 50); do grep -q 'keeping the previous data' "$T/server.log" && break; sleep 0.1; done
check "a file that fails to load is logged" grep -q 'dom.txt: unable to open file' "$T/server.log"
expect "and its old data keeps serving" "127.0.1.2" "$(short "$P" example.com.$RD A)"
check "server still running" kill -0 "$SRV"
kill "$SRV"
for _ in $(seq 50); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; done
check "SIGTERM stops the server" bash -c "! kill -0 $SRV 2>/dev/null"
expect_rc 1 "a bad zone spec is a usage error" "$SHERIFF" dnsbl -b 127.0.0.1/"$P" zone:nosuchtype:file
expect_rc 3 "a missing data file at startup is a failure" "$SHERIFF" dnsbl -b 127.0.0.1/"$P" z.test:dnset:"$T/none.txt"
stop_and_check_logs
finish
