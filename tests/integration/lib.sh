# Shared helpers for the integration tests: a scratch directory, checks that say what they
# checked, and a summary line. Sourced by each test; SHERIFF and SRCDIR come from meson.
set -euo pipefail
: "${SHERIFF:?set SHERIFF to the sheriff binary}" "${SRCDIR:?set SRCDIR to the source tree}"
T=$(mktemp -d "${TMPDIR:-/tmp}/sheriff-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
DATA=$SRCDIR/tests/data
HERE=$SRCDIR/tests/integration
CHECKS=0
FAILS=0

ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS - $*"; }
not_ok() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "not ok $CHECKS - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# expect_rc CODE DESCRIPTION COMMAND...: passes when the command exits with CODE
expect_rc() {
	local want=$1 d=$2 rc=0; shift 2
	"$@" || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$d (exit $rc)"; else not_ok "$d (exit $rc, wanted $want)"; fi
}
finish() {
	echo "# $CHECKS checks, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}
