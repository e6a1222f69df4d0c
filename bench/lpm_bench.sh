#!/bin/sh
# Runs the LPM benchmark on the full IPv4 table (and the IPv6 one): writes the MMDB of the
# IPv4 table with bench/mkmmdb.py when it is missing or older than the CSV, then runs
# lpm_bench pinned to CPU 1. Usage: bench/lpm_bench.sh [BUILD_DIR] [-- lpm_bench options]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
csv=${CSV:-/work/shared/data/asn/asn-ipv4.csv.gz}
csv6=${CSV6:-/work/shared/data/asn/asn-ipv6.csv.gz}
mmdb=${MMDB:-$build/bench/asn-ipv4.mmdb}
if [ ! -s "$mmdb" ] || [ "$csv" -nt "$mmdb" ]; then
	python3 "$here/mkmmdb.py" -o "$mmdb" "$csv"
fi
exec taskset -c 1 "$build/bench/lpm_bench" "$@" -6 "$csv6" "$csv" "$mmdb"
