#!/usr/bin/env bats
# One policy gate (fs/policy/policy.h): each request builds the agent-visible path
# of what it names once, under one node_lock acquisition (a rename: both
# ends in the same one), and asks one function for its verdict.  The
# daemon's counters ($CAGEFS_POLICY_STATS: per request kind, the requests
# and the node_lock acquisitions made to build their paths) show it; the
# verdicts and the audit log's paths stay what they were.

load helpers

setup_file () {
  PROBE=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  export PROBE
}

setup () {
  common_setup
  require_namespaces
  [ -n "${PROBE-}" ] || fail "tests/fixtures/probes.sh printed no store path"
}

teardown () { common_teardown; }

# count KIND FIELD: a counter from the daemon's stats file (0 before any).
count () {
  local v
  v=$(jq -r --arg k "$1" --arg f "$2" '.[$k][$f] // 0' "$STATS" 2>/dev/null) || v=0
  echo "${v:-0}"
}

# wait_requests KIND N: the daemon has counted at least N requests of KIND
# (it rewrites the file after each request it serves).
wait_requests () {
  local i
  for i in $(seq 100); do
    [ "$(count "$1" requests)" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "the daemon counted $(count "$1" requests) $1 requests, expected $2:" "$(cat "$STATS" 2>/dev/null)"
}

# one_lock_each KIND: every request of KIND built its paths in one node_lock
# acquisition.
one_lock_each () {
  local req locks
  req=$(count "$1" requests) locks=$(count "$1" path_locks)
  [ "$req" -gt 0 ] && [ "$locks" -eq "$req" ] \
    || fail "$1: $req requests, $locks node_lock acquisitions to build their paths:" "$(cat "$STATS")"
}

@test "renames (an exchange and a refused one too), creates, mkdirs and unlinks: one path build each; the verdicts hold" {
  put .env "SECRET"
  put keep.txt "keep"
  put sub/deep/x.txt "x"
  put sub/.envrc "export X=1"
  STATS=$BATS_TEST_TMPDIR/policy-stats.json
  CAGEFS_POLICY_STATS=$STATS mount_project --package "$FIX_TOOLS" --package "$PROBE"
  # what the cage's start-up did
  local c0 r0 m0
  cage_sh 'true'
  c0=$(count create requests) r0=$(count rename requests) m0=$(count mkdir requests)

  run --separate-stderr cage_sh 'for i in 1 2 3 4 5; do : > /workspace/sub/deep/f$i; done
    mkdir /workspace/sub/d1 /workspace/sub/d2
    mv /workspace/sub/deep/f1 /workspace/sub/g1 && mv /workspace/sub/deep/f2 /workspace/sub/d1/g2
    printf one > /workspace/sub/g1 && printf two > /workspace/sub/d1/g2
    probe exchange /workspace/sub/g1 /workspace/sub/d1/g2
    rm /workspace/sub/deep/f3'
  assert_success
  wait_requests create $((c0 + 5))
  wait_requests rename $((r0 + 3))
  wait_requests mkdir $((m0 + 2))
  wait_requests unlink 1
  [ "$(cat "$PROJECT/sub/g1")" = two ] && [ "$(cat "$PROJECT/sub/d1/g2")" = one ] \
    || fail "the exchange did not swap the files"

  # refused: onto a hidden name, and a protected file moved away
  run cage_sh 'mv /workspace/keep.txt /workspace/.env'
  assert_failure
  run cage_sh 'mv /workspace/sub/.envrc /workspace/sub/deep/envrc'
  assert_failure
  wait_requests rename $((r0 + 5))
  [ "$(cat "$PROJECT/.env")" = SECRET ] && [ "$(cat "$PROJECT/keep.txt")" = keep ] \
    && [ -e "$PROJECT/sub/.envrc" ] && [ ! -e "$PROJECT/sub/deep/envrc" ] \
    || fail "a refused rename changed the host tree"
  # each logged on the side that was refused, as before
  local log
  log=$(cagefs audit "$PROJECT" --json | jq -s .)
  [ "$(jq '[.[] | select(.op == "rename" and .path == "/workspace/.env" and .result == "denied")] | length' <<<"$log")" -ge 1 ] \
    && [ "$(jq '[.[] | select(.op == "rename" and .path == "/workspace/sub/.envrc" and .result == "denied")] | length' <<<"$log")" -ge 1 ] \
    || fail "no rename entries for /workspace/.env and /workspace/sub/.envrc:" "$log"

  one_lock_each rename
  one_lock_each create
  one_lock_each mkdir
  one_lock_each unlink
  # a lookup builds at most one (none below the root tree's own folders)
  [ "$(count lookup path_locks)" -le "$(count lookup requests)" ] \
    || fail "lookup: more path builds than requests:" "$(cat "$STATS")"
}
