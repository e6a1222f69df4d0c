#!/bin/sh
# Installs what is missing, builds sheriff with warnings as errors, runs the whole test suite
# (unit, fuzz-corpus replay, integration), then builds and runs it again under ASan+UBSan.
# Ends with a line "N passed, N failed"; exits non-zero when anything failed.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

setup() { # DIR ARGS...
	dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

status=0
setup build-test --werror
ninja -C build-test
meson test -C build-test --print-errorlogs --num-processes 2 || status=1

setup build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all
ninja -C build-asan
meson test -C build-asan --print-errorlogs --num-processes 2 || status=1

python3 scripts/test_summary.py build-test/meson-logs/testlog.json build-asan/meson-logs/testlog.json
exit $status
