#!/bin/bash
# A real knotd (Debian package knot) as a secondary of sheriff dnsbl: it receives the zones
# by AXFR, answers a sample of queries as sheriff does, then after a data change announced
# by NOTIFY it catches up by IXFR and answers the new data too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnsbl_lib.sh"

command -v knotd >/dev/null || { echo "# knotd not installed (Debian package knot)"; exit 77; }
cp "$DATA"/dnsbl/*.txt "$T"/
mkdir -p "$T/knot"
ZONES=(ip4.bl.test:ip4set:ip4.txt dbl.bl.test:dnset:dom.txt ip6.bl.test:ip6trie:ip6.txt
	r4.bl.example:ip4set:real_ip4.txt rd.bl.example:dnset:real_dom.txt)
P=$(free_port)
KP=$(free_port)
while [ "$KP" = "$P" ]; do KP=$(free_port); done
{
	echo "server:"
	echo "    rundir: \"$T/knot\""
	echo "    listen: 127.0.0.1@$KP"
	echo "log:"
	echo "  - target: stderr"
	echo "    any: info"
	echo "database:"
	echo "    storage: \"$T/knot\""
	echo "remote:"
	echo "  - id: sheriff"
	echo "    address: 127.0.0.1@$P"
	echo "acl:"
	echo "  - id: notify_from_sheriff"
	echo "    address: 127.0.0.1"
	echo "    action: notify"
	echo "template:"
	echo "  - id: default"
	echo "    storage: \"$T/knot\""
	echo "    master: sheriff"
	echo "    acl: notify_from_sheriff"
	echo "    zonefile-sync: -1"
	echo "    zonefile-load: none"
	echo "    journal-content: changes"
	echo "zone:"
	for z in "${ZONES[@]}"; do echo "  - domain: ${z%%:*}"; done
} > "$T/knot.conf"

start_bg "$T/sheriff.log" "$SHERIFF" dnsbl -b "127.0.0.1/$P" -w "$T" --allow-transfer 127.0.0.1/32 \
	--notify "127.0.0.1:$KP" "${ZONES[@]}"
SRV=$LAST_PID
check "sheriff answers" wait_answer "$P" 2.0.0.127.ip4.bl.test
start_bg "$T/knot.log" knotd -c "$T/knot.conf"

serial() { dig @127.0.0.1 -p "$1" +norec +short +time=1 +tries=1 "$2" SOA | awk '{print $3}'; }
# wait_serial ZONE SERIAL: until knotd serves that serial (at most ~30 s)
wait_serial() {
	for _ in $(seq 300); do [ "$(serial "$KP" "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
for z in "${ZONES[@]}"; do
	zn=${z%%:*}
	s=$(serial "$P" "$zn")
	check "knotd holds $zn at sheriff's serial $s" wait_serial "$zn" "$s"
done
check "knotd received the zones by AXFR" grep -q "ip4.bl.test.*AXFR, incoming.*finished" "$T/knot.log"
check "AXFR refused to a client outside --allow-transfer" bash -c \
	"dig @127.0.0.1 -p $P -b 127.0.0.2 ip4.bl.test AXFR | grep -q 'Transfer failed'"
cd "$T"
check "knotd answers a sample of queries exactly as sheriff" python3 "$HERE/dnsbl_diff.py" --secondary "$KP" "$P" 250 "${ZONES[@]}"

# a change: one address listed, one unlisted; sheriff reloads and sends NOTIFY
old=$(serial "$P" ip4.bl.test)
grep -v '^127.0.0.2$' ip4.txt > ip4.new
echo "192.0.2.99 :127.0.0.7:added" >> ip4.new
touch -d '+5 seconds' ip4.new && mv ip4.new ip4.txt
kill -HUP "$SRV"
for _ in $(seq 100); do [ "$(serial "$P" ip4.bl.test)" != "$old" ] && break; sleep 0.1; done
new=$(serial "$P" ip4.bl.test)
check "sheriff serves a new serial after the change ($old -> $new)" test "$new" != "$old"
check "knotd catches up to $new after NOTIFY" wait_serial ip4.bl.test "$new"
check "by IXFR" grep -q "ip4.bl.test.*IXFR, incoming.*finished" "$T/knot.log"
check "sheriff logged the acknowledged NOTIFY" grep -q "NOTIFY for ip4.bl.test serial $new acknowledged" "$T/sheriff.log"
check "knotd has the added address" test "$(dig @127.0.0.1 -p "$KP" +short 99.2.0.192.ip4.bl.test A)" = 127.0.0.7
check "and not the removed one" test "$(rcode "$KP" 2.0.0.127.ip4.bl.test A)" = NXDOMAIN
check "knotd still answers as sheriff after the IXFR" python3 "$HERE/dnsbl_diff.py" --secondary "$KP" "$P" 250 "${ZONES[@]}"
stop_and_check_logs
finish
