#!/bin/sh
# run-unit.sh TEST [ARGS...] - run a cmocka unit test binary, emit clean TAP.
#
# cmocka 1.1.5's TAP (CM_OUTPUT_TAP) has the plan and ok/not ok lines, but
#   - a skipped test is "not ok N # SKIP name", which prove counts as failed
#     (TAP says a skip is "ok N # SKIP reason");
#   - anything the test prints with print_message() is a bare line.
# This rewrites the first into "ok N # SKIP" and turns stray lines into
# "# " comments.  The exit status is the test binary's.
#
#   prove --exec tests/unit/run-unit.sh build/release/tests/unit/test_*
set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 TEST-BINARY [ARGS...]" >&2
	exit 2
fi

status_file=$(mktemp) || exit 1
trap 'rm -f "$status_file"' EXIT

{
	CMOCKA_MESSAGE_OUTPUT=TAP "$@"
	echo $? >"$status_file"
} | sed -e 's/^not ok \([0-9][0-9]*\) # SKIP/ok \1 # SKIP/' \
	-e '/^\(ok\|not ok\|[0-9][0-9]*\.\.[0-9][0-9]*\|#\|Bail out!\)/!s/^/# /'

status=$(cat "$status_file")
exit "${status:-1}"
