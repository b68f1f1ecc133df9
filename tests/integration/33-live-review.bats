#!/usr/bin/env bats
# Live review of the cow view: `cagefs accept` and `cagefs discard` while
# the project is mounted and the agent works (the daemon applies them:
# fs/daemon/control.h).

load helpers

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; }

mount_cow () { mount_tools --workspace-view cow "$@"; }

# diff's paths, one line.
diff_paths () { cagefs diff "$PROJECT" --json | jq -r '[.changes[].path] | join(" ")'; }

@test "live: accept while mounted; the agent sees the host's new version and diff no longer shows it" {
  put a.txt alpha
  put b.txt bravo
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo new > new.txt && echo b2 > b.txt'
  assert_success
  run --separate-stderr cagefs accept "$PROJECT" a.txt new.txt
  assert_success
  assert_equal "$output" "accepted a.txt"$'\n'"accepted new.txt" "accept's lines"
  assert_equal "$stderr" "" "accept's errors"
  assert_equal "$(cat "$PROJECT/a.txt")" "alpha"$'\n'"more" "host a.txt"
  assert_equal "$(cat "$PROJECT/new.txt")" "new" "host new.txt"
  assert_equal "$(diff_paths)" "b.txt" "changes left"
  run --separate-stderr cage_sh 'cat a.txt new.txt b.txt'
  assert_success
  assert_equal "$output" "alpha"$'\n'"more"$'\n'"new"$'\n'"b2" "the agent's view"
  # The agent's next change to an accepted file is a change to the host's
  # new version: it accepts without a conflict.
  run --separate-stderr cage_sh 'echo again >> a.txt'
  assert_success
  assert_equal "$(diff_paths)" "a.txt b.txt" "changes after another write"
  run --separate-stderr cagefs accept "$PROJECT" --json a.txt
  assert_success
  assert_equal "$(jq -r '.accepted | join(" ")' <<<"$output")" a.txt "accept --json"
  assert_equal "$(cat "$PROJECT/a.txt")" "alpha"$'\n'"more"$'\n'"again" "host a.txt"
}

@test "live: discard while mounted; the agent sees the host's version" {
  put a.txt alpha
  put dir/f.txt eff
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo g > dir/g.txt && echo f2 > dir/f.txt && rm -f gone.txt'
  assert_success
  run --separate-stderr cagefs discard "$PROJECT" a.txt
  assert_success
  assert_equal "$output" "discarded a.txt" "discard's line"
  run --separate-stderr cage_sh 'cat a.txt'
  assert_equal "$output" "alpha" "the agent's a.txt"
  run --separate-stderr cagefs discard "$PROJECT"
  assert_success
  run --separate-stderr cage_sh 'cat dir/f.txt; ls dir'
  assert_success
  assert_equal "$output" "eff"$'\n'"f.txt" "the agent's dir"
  assert_equal "$(diff_paths)" "" "changes left"
  # The agent goes on writing where the layer was emptied.
  run --separate-stderr cage_sh 'echo x >> dir/f.txt && cat dir/f.txt'
  assert_success
  assert_equal "$output" "eff"$'\n'"x" "after writing again"
  assert_equal "$(cat "$PROJECT/dir/f.txt")" "eff" "host dir/f.txt"
}

# wait_for PATH: bounded poll until diff lists PATH (the agent's signal).
wait_for_change () {
  local i
  for i in $(seq 300); do
    [[ " $(diff_paths) " == *" $1 "* ]] && return 0
    kill -0 "$AGENT" 2>/dev/null || break
    sleep 0.1
  done
  fail "the agent never made $1:" "$(cat "$BATS_TEST_TMPDIR/agent.err" 2>/dev/null)"
}

@test "live: a file the agent holds open across an accept keeps taking writes, and the next accept brings them" {
  put held.txt zero
  mount_cow
  cage_sh 'exec 3>>held.txt
    echo one >&3 || exit 2
    echo > ready1
    i=0; while [ ! -e go1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
    [ -e go1 ] || { echo "no go1" >&2; exit 3; }
    echo two >&3 || exit 4
    exec 3>&-
    cat held.txt' >"$BATS_TEST_TMPDIR/agent.out" 2>"$BATS_TEST_TMPDIR/agent.err" &
  AGENT=$!
  wait_for_change ready1
  run --separate-stderr cagefs accept "$PROJECT" held.txt
  assert_success
  assert_equal "$(cat "$PROJECT/held.txt")" "zero"$'\n'"one" "host held.txt after the first accept"
  assert_equal "$(diff_paths)" "ready1" "changes after the first accept"
  touch "$PROJECT/go1"
  rc=0
  wait "$AGENT" || rc=$?
  assert_equal "$rc:$(cat "$BATS_TEST_TMPDIR/agent.err")" "0:" "the agent's status and errors"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/agent.out")" "zero"$'\n'"one"$'\n'"two" "the agent's held.txt"
  assert_equal "$(diff_paths)" "held.txt ready1" "changes after the agent's write"
  run --separate-stderr cagefs accept "$PROJECT" held.txt
  assert_success
  assert_equal "$(cat "$PROJECT/held.txt")" "zero"$'\n'"one"$'\n'"two" "host held.txt"
  assert_equal "$(diff_paths)" "ready1" "changes at the end"
}

@test "live: the agent appends and rewrites in a loop while the host accepts and discards; no error, never a torn version" {
  local t=$BATS_TEST_TMPDIR n=150 k=0 errs=0 f want
  put log.txt 0
  put whole.txt "v 0"
  put other.txt original
  mount_cow
  # log.txt: one line appended a round; whole.txt: 40 lines "v I" written
  # to a temporary file renamed over it; other.txt: rewritten in place.
  cage_sh 'set -e
    i=1
    while [ $i -le '"$n"' ]; do
      echo $i >> log.txt
      j=0; while [ $j -lt 40 ]; do echo "v $i"; j=$((j+1)); done > whole.tmp
      mv whole.tmp whole.txt
      echo "other $i" > other.txt
      i=$((i+1))
    done
    echo > done.txt' >"$t/agent.out" 2>"$t/agent.err" &
  AGENT=$!
  while kill -0 "$AGENT" 2>/dev/null && [ $k -lt 60 ]; do
    for f in log.txt whole.txt; do
      # (nothing to accept when the agent has not written since)
      cagefs accept "$PROJECT" "$f" >>"$t/accept.out" 2>"$t/accept.err" \
        || grep -q "no change at" "$t/accept.err" || { cat "$t/accept.err"; errs=$((errs + 1)); }
    done
    cp "$PROJECT/log.txt" "$t/log.$k"
    cp "$PROJECT/whole.txt" "$t/whole.$k"
    cagefs discard "$PROJECT" other.txt >/dev/null 2>"$t/discard.err" \
      || grep -q "no change at" "$t/discard.err" || { cat "$t/discard.err"; errs=$((errs + 1)); }
    [ "$(cat "$PROJECT/other.txt")" = original ] || fail "host other.txt changed"
    k=$((k + 1))
  done
  rc=0
  wait "$AGENT" || rc=$?
  assert_equal "$rc:$(cat "$t/agent.err")" "0:" "the agent's loop: status and errors"
  assert_equal "$errs" 0 "accept and discard failures"
  [ "$k" -ge 2 ] || fail "the host reviewed only $k times while the agent ran"
  grep -q "^accepted " "$t/accept.out" || fail "nothing accepted while the agent ran"
  # Every host version is one some write made: log.txt the lines 0..m,
  # whole.txt 40 equal lines (or the host's first).
  for f in "$t"/log.*; do
    m=$(($(wc -l <"$f") - 1))
    [ "$(cat "$f")" = "$(seq 0 "$m")" ] || fail "torn $f:" "$(cat "$f")"
  done
  for f in "$t"/whole.*; do
    [ "$(cat "$f")" = "v 0" ] && continue
    [ "$(wc -l <"$f")" = 40 ] && [ "$(sort -u "$f" | wc -l)" = 1 ] || fail "torn $f:" "$(cat "$f")"
  done
  # The last accept brings the agent's last content (what the host's last
  # round did not take already).
  local sel=()
  for f in log.txt whole.txt; do [[ " $(diff_paths) " != *" $f "* ]] || sel+=("$f"); done
  if [ ${#sel[@]} -gt 0 ]; then
    run --separate-stderr cagefs accept "$PROJECT" "${sel[@]}"
    assert_success
  fi
  assert_equal "$(cat "$PROJECT/log.txt")" "$(seq 0 "$n")" "host log.txt at the end"
  want=$(for j in $(seq 40); do echo "v $n"; done)
  assert_equal "$(cat "$PROJECT/whole.txt")" "$want" "host whole.txt at the end"
  # (discarded already when the host's last round came after the agent's)
  if [[ " $(diff_paths) " == *" other.txt "* ]]; then
    run --separate-stderr cagefs discard "$PROJECT" other.txt
    assert_success
  fi
  assert_equal "$(diff_paths)" "done.txt" "changes at the end"
  run --separate-stderr cage_sh 'cat other.txt; tail -n 1 log.txt; head -n 1 whole.txt'
  assert_success
  assert_equal "$output" "original"$'\n'"$n"$'\n'"v $n" "the agent's view at the end"
}

@test "live: the daemon's control socket is its user's only, and takes no review from another mount namespace" {
  put a.txt alpha
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt'
  assert_success
  state=$(cagefs status "$PROJECT" --json | jq -r .state_dir)
  assert_equal "$(stat -c '%a %U' "$state/control.sock")" "600 $(id -un)" "the socket's mode and owner"
  # (the cage runs in a mount namespace of its own, and does not see the
  # state folder at all)
  run --separate-stderr cage_sh "ls '$state'"
  assert_failure
  run --separate-stderr unshare --user --map-root-user --mount "$CAGEFS_BIN/cagefs" accept "$PROJECT"
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_contains "$stderr" "mount namespace" "the refusal"
  assert_equal "$(cat "$PROJECT/a.txt")" alpha "host a.txt"
  assert_equal "$(diff_paths)" a.txt "changes"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_success
  assert_equal "$(cat "$PROJECT/a.txt")" "alpha"$'\n'"more" "host a.txt after accept"
}
