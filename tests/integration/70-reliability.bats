#!/usr/bin/env bats
# Faults: the daemon or the launcher dies under a running agent; two cages
# share one project.

load helpers

setup () { common_setup; require_namespaces; }

@test "kill -9 of the daemon while the agent writes: errors, not a hang; written data stays" {
  mount_tools
  # The agent appends numbered lines and reports the last one that worked.
  cage_sh 'i=0; while [ $i -lt 100000 ]; do echo "line $i" >> log.txt || { echo "failed after $i" >&2; exit 3; }; i=$((i+1)); done' \
    > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  local c=$!
  # wait until some lines are on the host, then kill the daemon
  local i
  for ((i = 0; i < 100; i++)); do [ -s "$PROJECT/log.txt" ] && break; sleep 0.05; done
  [ -s "$PROJECT/log.txt" ] || fail "the agent wrote nothing"
  kill -9 "$PID"
  wait_gone "$PID" 10 || fail "daemon survived kill -9"
  # the agent ends on its own, with an error, well before the test timeout
  local rc=0
  wait "$c" || rc=$?
  [ "$rc" -ne 0 ] || fail "the agent did not notice the dead daemon" "$(cat "$BATS_TEST_TMPDIR/err")"
  # every line the host has is complete and in order
  run awk -v n=0 '$0 != "line " n { bad = 1 } { n++ } END { exit bad }' "$PROJECT/log.txt"
  assert_success
  # status reports it, the next mount recovers without a manual fusermount
  run --separate-stderr cagefs status "$PROJECT" --json
  assert_status 1
  assert_equal "$(jq -r .stale <<<"$output")" true "stale"
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- sh -c 'wc -l < log.txt'
  assert_success
  assert_equal "$output" "$(wc -l < "$PROJECT/log.txt")" "lines seen after the remount"
}

@test "kill -9 of cage leaves no agent process behind" {
  mount_tools
  local marker=$((RANDOM % 1000 + 4242))
  # the binary itself, not the timeout wrapper of helpers.bash
  "$CAGEFS_BIN/cage" exec "$PROJECT" -- sh -c "sleep $marker; true" &
  local c=$!
  local i p=
  for ((i = 0; i < 100; i++)); do
    p=$(pgrep -f "^sleep $marker\$" || true)
    [ -n "$p" ] && break
    sleep 0.05
  done
  [ -n "$p" ] || { kill -9 "$c"; fail "the agent's sleep was not found"; }
  kill -9 "$c"
  wait_gone "$p" 10 || fail "agent process $p outlived the launcher"
  run pgrep -f "^sleep $marker\$"
  assert_failure
}

@test "two cages in one project at once see each other's writes" {
  mount_tools
  cage_sh 'for i in 1 2 3 4 5 6 7 8 9 10; do echo a$i > a.$i; done; sleep 0.5; ls b.* | wc -l' > "$BATS_TEST_TMPDIR/a" &
  local a=$!
  run --separate-stderr cage_sh 'for i in 1 2 3 4 5 6 7 8 9 10; do echo b$i > b.$i; done; sleep 0.5; ls a.* | wc -l'
  assert_success
  wait "$a" || fail "the first cage failed"
  assert_equal "$output" 10 "a.* seen by the second cage"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/a")" 10 "b.* seen by the first cage"
  assert_equal "$(ls "$PROJECT" | grep -c '^[ab]\.')" 20 "files on the host"
}

@test "stress: 8 workers in two cages of one project, mixed create/write/rename/unlink/readdir/stat and store reads for 10 s" {
  local probe
  probe=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  mount_tools --package "$probe"
  mkdir -p "$PROJECT/a" "$PROJECT/b"
  local store_file="$FIX_DATA/hello.txt" out_a=$BATS_TEST_TMPDIR/a.out out_b=$BATS_TEST_TMPDIR/b.out
  cage exec "$PROJECT" -- posixcheck --stress /workspace/a 4 10 "$store_file" hello >"$out_a" 2>&1 &
  local pa=$!
  cage exec "$PROJECT" -- posixcheck --stress /workspace/b 4 10 "$store_file" hello >"$out_b" 2>&1 &
  local pb=$!
  local ra=0 rb=0
  wait "$pa" || ra=$?
  wait "$pb" || rb=$?
  [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ] || fail "stress failed ($ra, $rb):" "$(cat "$out_a" "$out_b")"
  grep -qx "ok stress" "$out_a" && grep -qx "ok stress" "$out_b" || fail "$(cat "$out_a" "$out_b")"
  alive "$PID" || fail "the daemon died"
  # The host sees the same end state as the workers' models checked inside.
  local n
  n=$(find "$PROJECT/a" "$PROJECT/b" -type f | wc -l)
  [ "$n" -gt 0 ] || fail "no files on the host"
  run --separate-stderr cage exec "$PROJECT" -- sh -c 'find /workspace/a /workspace/b -type f | wc -l'
  assert_equal "$output" "$n" "files seen in the cage vs on the host"
  cagefs status "$PROJECT" >/dev/null || fail "status after the stress"
}

@test "a full workspace filesystem: ENOSPC for the agent, the daemon stays up, the state stays readable" {
  [ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
  local small=$BATS_TEST_TMPDIR/small
  mkdir -p "$small"
  mount -t tmpfs -o size=4m tmpfs "$small" || skip "cannot mount tmpfs"
  PROJECT=$small
  put keep.txt "kept"
  # (no free-space floor: the filesystem itself is full; 55-hardening tests the floor)
  put cage.json '{"limits": {"workspace_free_min": 0}}'
  mount_tools
  run --separate-stderr cage_sh 'dd if=/dev/zero of=/workspace/fill bs=64k count=200'
  local st=$status err=$stderr
  run --separate-stderr cage_sh 'echo more > /workspace/more.txt'
  local st2=$status err2=$stderr
  alive "$PID"; local alive_rc=$?
  run cagefs status --json "$PROJECT"
  local status_json=$output
  run --separate-stderr cage_sh 'rm /workspace/fill && echo again > /workspace/again.txt && cat /workspace/keep.txt'
  local st3=$status out3=$output
  cagefs umount "$PROJECT"
  umount "$small"
  [ "$st" -ne 0 ] && [[ $err == *"No space left on device"* ]] || fail "dd: $st $err"
  [ "$st2" -ne 0 ] && [[ $err2 == *"No space left on device"* ]] || fail "echo: $st2 $err2"
  [ "$alive_rc" -eq 0 ] || fail "the daemon died"
  assert_equal "$(jq -r .mounted <<<"$status_json")" true "status while full"
  [ "$st3" -eq 0 ] && [[ $out3 == kept ]] || fail "after freeing space: $st3 $out3"
}

@test "a full private store (copy mode): ENOSPC for the agent, the daemon stays up, the state stays readable" {
  [ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
  local small=$BATS_TEST_TMPDIR/state
  mkdir -p "$small"
  mount -t tmpfs -o size=24m,mode=0700 tmpfs "$small" || skip "cannot mount tmpfs"
  # The state (and so the private store) on the small filesystem.
  local rc=0 out err st=0 serr status_json st2=0 out2
  out=$(XDG_RUNTIME_DIR=$small cagefs mount "$PROJECT" --json --mode copy --package "$FIX_TOOLS" 2>&1) || rc=$?
  if [ "$rc" -eq 0 ]; then
    PID=$(jq -r .pid <<<"$out")
    serr=$(XDG_RUNTIME_DIR=$small "$CAGEFS_BIN/cage" exec "$PROJECT" -- \
      sh -c 'mkdir -p /nix/store/agent-fill && dd if=/dev/zero of=/nix/store/agent-fill/f bs=64k count=1000' 2>&1) || st=$?
    status_json=$(XDG_RUNTIME_DIR=$small cagefs status --json "$PROJECT") || true
    out2=$(XDG_RUNTIME_DIR=$small "$CAGEFS_BIN/cage" exec "$PROJECT" -- \
      sh -c "rm /nix/store/agent-fill/f && cat $FIX_DATA/hello.txt" 2>&1) || st2=$?
    XDG_RUNTIME_DIR=$small cagefs umount "$PROJECT" || true
  fi
  umount "$small" || umount -l "$small"
  [ "$rc" -eq 0 ] || fail "mount: $out"
  [ "$st" -ne 0 ] && [[ $serr == *"No space left on device"* ]] || fail "dd: $st $serr"
  assert_equal "$(jq -r .mounted <<<"$status_json")" true "status while full"
  [ "$st2" -eq 0 ] && [[ $out2 == "hello from the fixture store path" ]] || fail "after freeing: $st2 $out2"
}

# The daemon's inotify watches come out of the invoking user's budget
# (fs.inotify.max_user_watches), which all their programs share: the daemon
# takes at most its cap (CAGEFS_MAX_WATCHES here; by default a quarter of
# the budget, at most 65536), and folders past it are cached for 1 s only.
@test "watches: an agent making more folders than the cap leaves the daemon at the cap; host edits past it still show" {
  CAGEFS_MAX_WATCHES=20 mount_tools
  # shellcheck disable=SC2016
  run cage_sh 'cd /workspace && i=0; while [ $i -lt 60 ]; do mkdir d$i && ls d$i; i=$((i+1)); done; echo made-$i'
  assert_contains "$output" made-60
  local n
  n=$(cat "/proc/$PID/fdinfo/"* | grep -c '^inotify wd:') || true
  assert_equal "$n" 20 "the daemon's inotify watches"
  # d59 is past the cap: a host edit in it reaches the agent all the same
  run cage_sh 'ls /workspace/d59; cat /workspace/d59/f'
  assert_failure
  local want i
  for want in edit-one edit-two; do
    echo "$want" > "$PROJECT/d59/f"
    for ((i = 0; i < 50; i++)); do
      run cage_sh 'cat /workspace/d59/f'
      [ "$output" = "$want" ] && break
      sleep 0.1
    done
    assert_equal "$output" "$want" "d59/f in the cage after the host wrote it"
  done
}
