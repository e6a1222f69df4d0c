#!/bin/bash
# Differential test: rbldnsd (the Debian package) and sheriff dnsbl serve the same rbldnsd
# data files; a few thousand queries must get the same rcode, A, TXT and TTLs from both,
# except the empty non-terminals that rbldnsd answers NXDOMAIN against RFC 8020.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsbl_lib.sh"

command -v rbldnsd >/dev/null || { echo "# rbldnsd not installed (Debian package rbldnsd)"; exit 77; }
cp "$DATA"/dnsbl/*.txt "$T"/
chmod 755 "$T"; chmod 644 "$T"/*.txt
ZONES=(ip4.bl.test:ip4set:ip4.txt dbl.bl.test:dnset:dom.txt ip6.bl.test:ip6trie:ip6.txt
	t4.bl.test:ip4trie:trie4.txt r4.bl.example:ip4set:real_ip4.txt rt.bl.example:ip4trie:real_ip4.txt
	rd.bl.example:dnset:real_dom.txt r6.bl.example:ip6trie:real_ip6.txt)
PA=$(free_port)
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
# rbldnsd refuses to run as root: -u drops to its own user; -a: no NS in the authority section
start_bg "$T/rbldnsd.log" rbldnsd -n -a -u rbldns -b "127.0.0.1/$PA" -w "$T" "${ZONES[@]}"
start_bg "$T/sheriff.log" "$SHERIFF" dnsbl -b "127.0.0.1/$PB" -w "$T" "${ZONES[@]}"
check "rbldnsd answers" wait_answer "$PA" 2.0.0.127.ip4.bl.test
check "sheriff answers" wait_answer "$PB" 2.0.0.127.ip4.bl.test
# the data files' directory is the working directory for both, so relative names resolve alike
cd "$T"
check "the same answers for a few thousand queries" python3 "$HERE/dnsbl_diff.py" "$PA" "$PB" 700 "${ZONES[@]}"
stop_and_check_logs
finish
