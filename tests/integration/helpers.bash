# tests/integration/helpers.bash - shared set-up for the bats suites.
#
# Environment (tests/run sets these; the defaults suit a run from the repo):
#   CAGEFS_BIN        folder holding cagefs and cage        (<repo>/bin)
#   FIXTURE_ENV       fixture.env from tests/fixtures/build.sh
#                                               (<repo>/build/fixtures/fixture.env)
#   CAGEFS_TEST_TMP   where test projects are made          ($BATS_RUN_TMPDIR)
#   CAGEFS_TIMEOUT    seconds before a cagefs/cage call is killed (60)
#   CAGEFS_SANITIZE   1: the binaries are ASan/UBSan builds; every test then
#                     fails if a sanitizer wrote a report (the daemon's
#                     reports included: it is waited for after umount)
#   CAGEFS_ASAN_OPTIONS / CAGEFS_UBSAN_OPTIONS   base sanitizer options

bats_require_minimum_version 1.5.0

HELPERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_repo=$(cd "$HELPERS_DIR/../.." && pwd)
CAGEFS_BIN=${CAGEFS_BIN:-$_repo/bin}
FIXTURE_ENV=${FIXTURE_ENV:-$_repo/build/fixtures/fixture.env}
CAGEFS_TIMEOUT=${CAGEFS_TIMEOUT:-60}

# The default blacklist, one example name per pattern.  Entries with a '/'
# are files inside a visible folder (.docker/config.json, .kube/config).
SECRET_FILES=(.env .env.local .env.production server.pem tls.key id_rsa
  id_rsa.pub id_ed25519 id_ed25519.pub id_ecdsa .netrc .git-credentials
  .npmrc .pypirc .docker/config.json .kube/config)
SECRET_DIRS=(.ssh .gnupg .aws)

# ---------------------------------------------------------------------------
# Running the programs (never hang a suite: everything has a timeout).

cagefs () { timeout -k 5 "$CAGEFS_TIMEOUT" "$CAGEFS_BIN/cagefs" "$@"; }
cage () { timeout -k 5 "$CAGEFS_TIMEOUT" "$CAGEFS_BIN/cage" "$@"; }

# cage_sh SCRIPT [ARGS...]: sh -c SCRIPT inside the cage of $PROJECT.
cage_sh () { local s=$1; shift; cage exec "$PROJECT" -- sh -c "$s" sh "$@"; }

# ---------------------------------------------------------------------------
# Assertions (print what was seen, then fail).

fail () { printf '%s\n' "$@" >&2; return 1; }

show_run () {
  echo "status: $status"
  echo "output: ${output-}"
  [ -z "${stderr+x}" ] || echo "stderr: $stderr"
}

assert_status () {
  [ "$status" -eq "$1" ] || { show_run >&2; fail "expected exit status $1, got $status"; }
}

assert_success () { assert_status 0; }

assert_failure () {
  [ "$status" -ne 0 ] || { show_run >&2; fail "expected a nonzero exit status"; }
}

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains () {
  [[ $1 == *"$2"* ]] || fail "${3:-text} does not contain '$2':" "$1"
}

refute_contains () {
  [[ $1 != *"$2"* ]] || fail "${3:-text} contains '$2' but must not:" "$1"
}

assert_equal () {
  [ "$1" = "$2" ] || fail "${3:-value} differs" "expected: $2" "actual:   $1"
}

# assert_one_line_error PREFIX: $stderr (from run --separate-stderr) is one
# line that starts with PREFIX.
assert_one_line_error () {
  local n
  n=$(printf '%s\n' "$stderr" | grep -c '')
  [ -n "$stderr" ] && [ "$n" -eq 1 ] \
    || { show_run >&2; fail "expected exactly one line on stderr, got $n"; }
  [[ $stderr == "$1"* ]] || { show_run >&2; fail "stderr does not start with '$1'"; }
}

# ---------------------------------------------------------------------------
# Mounts and processes.

# The mount points (field 5 of mountinfo) that belong to $PROJECT: the state
# directory of a project is <state root>/<basename>-<hash>.
project_mounts () {
  awk -v b="/$(basename "$PROJECT")-" 'index($5, b) { print $5 }' /proc/self/mountinfo
}

# assert_no_stale_mounts: the project's mount point is mounted exactly once,
# no mount point of the project is stacked twice, and each one answers (a
# dead daemon's mount fails with ENOTCONN).
assert_no_stale_mounts () {
  local m
  assert_equal "$(project_mounts | grep -cxF -- "$MNT")" 1 "mounts at $MNT"
  assert_equal "$(project_mounts | LC_ALL=C sort | uniq -d)" "" "mount points mounted twice"
  for m in $(project_mounts); do
    stat "$m" >/dev/null 2>&1 || fail "mount $m does not answer: $(stat "$m" 2>&1)"
  done
}

# is_mounted MNT: MNT is a mount point (any fs type).
is_mounted () {
  awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# fstype_of MNT: the fs type of the mount at MNT ("fuse.cagefs", ...).
fstype_of () {
  awk -v m="$1" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }' \
    /proc/self/mountinfo
}

alive () {
  local st
  [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_gone PID [SECONDS]
wait_gone () {
  local i n=$(( ${2:-10} * 10 ))
  for ((i = 0; i < n; i++)); do alive "$1" || return 0; sleep 0.1; done
  return 1
}

# mount_project [ARGS...]: cagefs mount $PROJECT --json ARGS; sets MNT, PID,
# MOUNT_JSON.  Fails the test with the error when the mount fails.
mount_project () {
  local out err rc=0
  err=$BATS_TEST_TMPDIR/mount.err
  out=$(cagefs mount "$PROJECT" --json "$@" 2>"$err") || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "cagefs mount $PROJECT --json $* failed with $rc:" "$(cat "$err")" "$out"
    return 1
  fi
  MOUNT_JSON=$out
  MNT=$(jq -r .mountpoint <<<"$out") && PID=$(jq -r .pid <<<"$out") \
    || { fail "mount --json printed no JSON object:" "$out"; return 1; }
  MOUNTED_PIDS+=("$PID")
  MOUNTED_MNTS+=("$MNT")
}

# mount_tools [ARGS...]: mount with the fixture's tools package.
mount_tools () { mount_project --package "$FIX_TOOLS" "$@"; }

# The basenames of the fixture closure, sorted, one a line.
closure_names () { for p in $FIX_CLOSURE; do basename "$p"; done | LC_ALL=C sort; }

# put FILE CONTENT: write a host file in $PROJECT (parents made).
put () {
  mkdir -p "$(dirname "$PROJECT/$1")"
  printf '%s\n' "$2" > "$PROJECT/$1"
}

# A fingerprint of a host tree (names, types, sizes, inodes, contents).
tree_fingerprint () {
  (cd "$1" && find . -printf '%p %y %s %i %m\n' | LC_ALL=C sort \
    && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# ---------------------------------------------------------------------------
# Set-up and tear-down used by every test.

common_setup () {
  [ -r "$FIXTURE_ENV" ] || fail "no $FIXTURE_ENV: run tests/fixtures/build.sh"
  # shellcheck source=/dev/null
  . "$FIXTURE_ENV"
  [ -x "$CAGEFS_BIN/cagefs" ] || fail "no $CAGEFS_BIN/cagefs: run make"
  [ -x "$CAGEFS_BIN/cage" ] || fail "no $CAGEFS_BIN/cage: run make"
  local base=${CAGEFS_TEST_TMP:-$BATS_RUN_TMPDIR}
  PROJECT=$(mktemp -d "$base/proj.XXXXXXXX")
  PROJECT=$(realpath "$PROJECT")
  chmod 0755 "$PROJECT"
  MOUNTED_PIDS=()
  MOUNTED_MNTS=()
  EXTRA_PROJECTS=()
  if [ "${CAGEFS_SANITIZE:-0}" = 1 ]; then
    SAN_DIR=$BATS_TEST_TMPDIR/sanitizer
    mkdir -p "$SAN_DIR"
    export ASAN_OPTIONS="${CAGEFS_ASAN_OPTIONS:-detect_leaks=1}:log_path=$SAN_DIR/asan"
    export UBSAN_OPTIONS="${CAGEFS_UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:log_path=$SAN_DIR/ubsan"
  fi
}

# cleanup_project DIR: unmount DIR's cage and remove DIR.
cleanup_project () {
  local dir=$1 m p
  cagefs umount "$dir" >/dev/null 2>&1 || true
  # The daemons this test started must be gone after umount.
  for p in "${MOUNTED_PIDS[@]}"; do
    wait_gone "$p" 10 || { kill -9 "$p" 2>/dev/null || true; }
  done
  # Never leave a mount behind, whatever the product did.
  for m in $(PROJECT=$dir project_mounts) "${MOUNTED_MNTS[@]}"; do
    if is_mounted "$m"; then
      fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    fi
  done
  chmod -R u+rwX "$dir" 2>/dev/null || true
  rm -rf --one-file-system "$dir"
}

common_teardown () {
  local d f rc=0
  [ -n "${PROJECT-}" ] || return 0
  for d in "${EXTRA_PROJECTS[@]}" "$PROJECT"; do cleanup_project "$d"; done
  if [ "${CAGEFS_SANITIZE:-0}" = 1 ] && [ -n "$(ls -A "$SAN_DIR" 2>/dev/null)" ]; then
    echo "sanitizer reports:" >&2
    for f in "$SAN_DIR"/*; do echo "== $f" >&2; cat "$f" >&2; done
    rc=1
  fi
  return $rc
}

# new_project: another temp project (cleaned up in teardown); prints it.
new_project () {
  local d
  d=$(mktemp -d "${CAGEFS_TEST_TMP:-$BATS_RUN_TMPDIR}/proj.XXXXXXXX")
  chmod 0755 "$d"
  realpath "$d"
}

# require_namespaces: skip when this kernel (or its settings) will not give
# this user the namespaces cage needs.  Probed by using them, with
# util-linux's unshare, outside cagefs.
require_namespaces () {
  local why
  why=$(unshare --user --map-root-user --mount --pid --ipc --uts --net --fork true 2>&1) \
    || skip "kernel: no unprivileged user/mount/pid/ipc/uts/net namespaces for $(id -un): $why"
}

setup () { common_setup; }
teardown () { common_teardown; }
