#!/usr/bin/env bash
# tests/valgrind.sh - the daemon under valgrind through integration suites.
#
#   tests/valgrind.sh [BATS-FILE...]   (default: a set covering every view)
#
# Puts a `cagefs` wrapper first in CAGEFS_BIN that runs the real binary under
# valgrind (memcheck, full leak check); the forked FUSE daemon stays under
# valgrind and writes its own report (vg.<pid>).  Then runs tests/run as
# root and fails when any report shows a memory error or a definite leak.
# Slow (every FUSE request goes through valgrind): `make valgrind-check`.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
command -v valgrind >/dev/null || { echo "valgrind: installing" >&2; apt-get install -y -q valgrind >&2; }
[ -x bin/cagefs ] || make -j"$(nproc)" >&2

work=$(mktemp -d /tmp/cagefs-valgrind.XXXXXX)
logs=$work/logs
mkdir -p "$logs" "$work/bin"
real=$(realpath bin/cagefs)
cp "$(realpath bin/cage)" "$work/bin/cage"
cat >"$work/bin/cagefs" <<WRAP
#!/bin/sh
exec valgrind -q --tool=memcheck --suppressions=$repo/tests/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite \\
  --show-leak-kinds=definite --track-fds=no --log-file=$logs/vg.%p "$real" "\$@"
WRAP
chmod +x "$work/bin/cagefs"

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/integration/10-store.bats tests/integration/20-secrets.bats
  tests/integration/30-workspace.bats tests/integration/14-store-modes.bats
  tests/integration/65-audit.bats)
rc=0
CAGEFS_BIN=$work/bin CAGEFS_TIMEOUT=${CAGEFS_TIMEOUT:-120} CAGEFS_TEST_USERS=root \
  CAGEFS_TESTS="${files[*]}" tests/run || rc=$?
# -q: errors are the "==PID==" lines ("--PID--" lines are valgrind's own
# warnings, e.g. about openat2, which it does not know: we fall back).
bad=0
for f in "$logs"/vg.*; do
  grep -q '^==[0-9]*== ' "$f" || continue
  echo "== valgrind report $f:" >&2
  grep '^==[0-9]*== ' "$f" >&2
  bad=1
done
n=$(ls "$logs" | wc -l)
echo "# valgrind: $n processes checked, $([ $bad = 0 ] && echo 'no errors, no definite leaks' || echo 'PROBLEMS (above)')"
rm -rf "$work"
[ "$rc" = 0 ] && [ "$bad" = 0 ]
