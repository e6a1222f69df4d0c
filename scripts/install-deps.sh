#!/bin/sh
# Installs the Debian 12 packages sheriff needs to build, test and benchmark, when missing.
set -eu
PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
libsqlite3-dev sqlite3 libmaxminddb-dev mmdb-bin libpsl-dev publicsuffix libidn2-dev libjansson-dev zlib1g-dev libcurl4-openssl-dev libssl-dev
libcmocka-dev xz-utils python3 curl ca-certificates bc
rbldnsd dnsperf knot knot-dnsutils bind9-dnsutils unbound nsd nftables ipset chromium fonts-dejavu-core"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
