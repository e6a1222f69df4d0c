# Helpers for the DNSBL integration tests (sourced after lib.sh): free loopback ports,
# servers started in the background and always stopped on exit, dig wrappers.
PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
}
cleanup() {
	stop_all
	rm -rf "$T"
	return 0
}
trap cleanup EXIT

# stop_and_check_logs: stops every server, then no sanitizer report may be in any log
stop_and_check_logs() {
	stop_all
	if grep -l -E 'Sanitizer|runtime error' "$T"/*.log >/dev/null 2>&1; then
		grep -h -A20 -E 'Sanitizer|runtime error' "$T"/*.log | head -60
		not_ok "no sanitizer reports in the server logs"
	else
		ok "no sanitizer reports in the server logs"
	fi
}

# free_port: a port free for both UDP and TCP on 127.0.0.1
free_port() {
	python3 -c 'import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: u.close(); t.close()'
}

# wait_answer PORT NAME: until the server answers NAME (at most ~10 s); false otherwise
wait_answer() {
	for _ in $(seq 100); do
		dig @127.0.0.1 -p "$1" +norec +time=1 +tries=1 "$2" A >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# start_bg LOG CMD...: runs CMD in the background, records its pid in $LAST_PID
start_bg() {
	local log=$1; shift
	"$@" > "$log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# q PORT ARGS...: dig without recursion, one try
q() { local p=$1; shift; dig @127.0.0.1 -p "$p" +norec +time=2 +tries=1 "$@"; }
# rcode PORT ARGS...: the status word of the answer
rcode() { q "$@" | awk '/status:/{s=$6; sub(",", "", s); print s}'; }
# short PORT ARGS...: sorted answer data on one line
short() { q "$@" +short | sort | tr '\n' ' ' | sed 's/ $//'; }
# count PORT SECTION ARGS...: records in ANSWER or AUTHORITY
count() {
	local p=$1 sec=$2; shift 2
	q "$p" "$@" | awk -v s="$sec" '/flags:/{for (i = 1; i <= NF; i++) if ($i == s ":") {v = $(i + 1); sub(",", "", v); print v}}'
}
