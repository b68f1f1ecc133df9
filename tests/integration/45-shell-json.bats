#!/usr/bin/env bats
# cage shell (an interactive shell on a pty of the cage's own) and
# cage exec --json (NDJSON events).  The shell is driven through a real
# pty by ptydrive.py, as a person at a terminal would (keys in, screen out,
# window size, signals); the events are parsed with jq.

load helpers

setup_file () {
  PROBE=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  export PROBE
}

setup () {
  common_setup
  require_namespaces
  [ -n "${PROBE-}" ] || fail "tests/fixtures/probes.sh printed no store path"
  command -v python3 >/dev/null || fail "python3 not found; run: tests/setup/deps.sh"
  mount_project --package "$FIX_TOOLS" --package "$PROBE"
  # busybox's stty and tty (the tools package has no links for them)
  BB=$FIX_BUSYBOX/bin/busybox
}

teardown () { common_teardown; }

# drive [--rows R --cols C] [CAGE-SHELL-OPTIONS...] ::: STEP...: cage shell
# $PROJECT on a pty of ptydrive's; $output is its report, the screen in
# $BATS_TEST_TMPDIR/screen.
drive () {
  local o=()
  while [ "$1" = --rows ] || [ "$1" = --cols ]; do o+=("$1" "$2"); shift 2; done
  local cage_opts=()
  while [ "$1" != ::: ]; do cage_opts+=("$1"); shift; done
  rm -f "$BATS_TEST_TMPDIR/screen"
  run timeout -k 5 90 python3 "$BATS_TEST_DIRNAME/ptydrive.py" "${o[@]}" \
    --log "$BATS_TEST_TMPDIR/screen" -- "$CAGEFS_BIN/cage" shell "$PROJECT" "${cage_opts[@]}" "$@"
  if [ "$status" -ne 0 ]; then
    echo "screen:" >&2
    cat -v "$BATS_TEST_TMPDIR/screen" >&2 || true
  fi
}

PROMPT='\$ '

# ---- cage shell ------------------------------------------------------------

@test "shell: a typed command runs; tty is the cage's own pty; exit status is the shell's" {
  drive ::: "expect $PROMPT" 'send echo hi-$((6*7))\r' 'expect hi-42' \
    "send $BB tty\r" 'expect \r\n/dev/pts/[0-9]+\r\n' \
    'send id -u; echo $SHELL\r' 'expect \r\n1000\r\n/bin/sh\r\n' \
    'send exit 5\r' wait
  assert_success
  assert_contains "$output" "status 5"
  assert_contains "$output" "modes restored"
}

@test "shell: no process of the cage holds the caller's terminal" {
  drive ::: "expect $PROMPT" 'send sleep 100 &\r' "expect $PROMPT" nofd \
    'send ls -l /proc/self/fd/ >/dev/null; echo checked-$((2+2))\r' 'expect checked-4' \
    'send kill %1; exit\r' wait
  assert_success
  assert_contains "$output" "processes checked"
}

@test "shell: Ctrl-C interrupts sleep 100 and the shell survives" {
  drive ::: "expect $PROMPT" 'send sleep 100\r' 'sleep 0.5' 'send \x03' "expect $PROMPT" \
    'send echo alive-$((1+1))\r' 'expect alive-2' 'send exit\r' wait
  assert_success
  assert_contains "$output" "modes restored"
}

@test "shell: Ctrl-C gets through while the shell prints without end" {
  drive ::: "expect $PROMPT" 'send while :; do echo spam-spam-spam; done\r' 'sleep 1' \
    'send \x03' 'sleep 0.5' 'send echo stopped-$((7+7))\r' 'expect \r\nstopped-14\r\n' \
    'send exit\r' wait
  assert_success
}

@test "shell: Ctrl-Z stops sleep 100; jobs shows it stopped; fg and Ctrl-C end it" {
  drive ::: "expect $PROMPT" 'send sleep 100\r' 'sleep 0.5' 'send \x1a' "expect $PROMPT" \
    'send jobs\r' 'expect Stopped +sleep 100' 'send fg\r' 'expect sleep 100' 'sleep 0.5' \
    'send \x03' "expect $PROMPT" 'send jobs; echo none-$((5+5))\r' 'expect \r\nnone-10' \
    'send exit 0\r' wait
  assert_success
  assert_contains "$output" "status 0"
}

@test "shell: stty size is the outer terminal's, at start and after a resize (SIGWINCH)" {
  drive --rows 33 --cols 101 ::: "expect $PROMPT" "send $BB stty size\r" 'expect \r\n33 101\r\n' \
    'resize 40 120' 'sleep 0.3' "send $BB stty size\r" 'expect \r\n40 120\r\n' \
    'resize 12 50' 'sleep 0.3' "send $BB stty size\r" 'expect \r\n12 50\r\n' \
    'send exit\r' wait
  assert_success
}

# The probe pushes "x" with TIOCSTI, on fd 0 and on /dev/tty (the
# controlling terminal), while cage is stopped: had it reached the outer
# terminal, the byte would wait in that terminal's input queue (inq0).
@test "shell: TIOCSTI in the cage never reaches the outer terminal" {
  local how
  for how in tiocsti tiocsti-tty; do
    local steps=("expect $PROMPT" "send sleep 1; probe $how; echo probe-\$((1+1))\r"
      'expect probe-\$\(\(1\+1\)\)\r\n' stop 'sleep 2' inq0 cont 'expect probe-2')
    drive ::: "${steps[@]}" 'send exit\r' wait
    assert_success
    grep -q 'denied EPERM' "$BATS_TEST_TMPDIR/screen" || fail "the filter did not refuse $how"
    # Without the filter the byte lands in the cage's own terminal: the
    # shell reads it as typed input.
    drive --seccomp=off ::: "${steps[@]}" 'send echo after\r' 'expect xecho: not found' \
      'send exit\r' wait
    assert_success
    grep -q 'allowed ioctl(.*TIOCSTI)' "$BATS_TEST_TMPDIR/screen" \
      || fail "$how: TIOCSTI was not even tried on the cage's terminal"
  done
}

@test "shell: the terminal's modes come back after SIGTERM, SIGHUP (hang-up) and a fatal SIGALRM" {
  local sig
  for sig in TERM HUP ALRM; do
    drive ::: "expect $PROMPT" "signal $sig" wait
    assert_success
    assert_contains "$output" "modes restored"
  done
  # a shell that ignores the hang-up is killed
  drive ::: "expect $PROMPT" "send trap '' HUP TERM; echo trapped-\$((3+3))\r" 'expect trapped-6' \
    'signal TERM' wait
  assert_success
  assert_contains "$output" "modes restored"
}

@test "shell: SIGTSTP gives the terminal back; SIGCONT resumes the session" {
  drive ::: "expect $PROMPT" 'signal TSTP' 'sleep 0.5' cont 'send echo back-$((4+4))\r' \
    'expect back-8' 'send exit 3\r' wait
  assert_success
  assert_contains "$output" "status 3"
}

@test "shell: SHELL picks the shell when the cage has it, else /bin/sh" {
  drive --env SHELL=/bin/ash ::: "expect $PROMPT" 'send echo "sh=$SHELL"\r' 'expect sh=/bin/ash\r\n' \
    'send exit\r' wait
  assert_success
  # the caller's $SHELL, found by name in /bin
  SHELL=/usr/local/bin/ash drive ::: "expect $PROMPT" 'send echo "sh=$SHELL"\r' \
    'expect sh=/bin/ash\r\n' 'send exit\r' wait
  assert_success
  SHELL=/usr/bin/no-such-shell drive ::: "expect $PROMPT" 'send echo "sh=$SHELL"\r' \
    'expect sh=/bin/sh\r\n' 'send exit\r' wait
  assert_success
}

@test "shell: stdin not a terminal is one error line, exit 2; extra words are a usage error" {
  run --separate-stderr cage shell "$PROJECT" </dev/null
  assert_status 2
  assert_one_line_error "cage: error: shell: stdin is not a terminal"
  run --separate-stderr cage shell "$PROJECT" --json </dev/null
  assert_status 2
  assert_equal "$(jq -r .error <<<"$output")" \
    "shell: stdin is not a terminal; for a shell without one run: cage exec PROJECT -- sh" "error"
  run --separate-stderr cage shell "$PROJECT" -- ls
  assert_status 125
  assert_one_line_error "cage: error: shell: unexpected \`ls\`"
  run --separate-stderr cage shell "$PROJECT" --dry-run --json </dev/null
  assert_success
  assert_equal "$(jq -r .stdio <<<"$output")" pty "plan stdio"
  assert_equal "$(jq -r '.shell[-1]' <<<"$output")" /bin/sh "last shell tried"
}

# ---- cage exec on a terminal -------------------------------------------------

# drive_exec CMD... ::: STEP...: cage exec $PROJECT -- CMD on a pty of
# ptydrive's (the caller's terminal, passed through as is).
drive_exec () {
  local cmd=()
  while [ "$1" != ::: ]; do cmd+=("$1"); shift; done
  rm -f "$BATS_TEST_TMPDIR/screen"
  run timeout -k 5 90 python3 "$BATS_TEST_DIRNAME/ptydrive.py" --log "$BATS_TEST_TMPDIR/screen" \
    -- "$CAGEFS_BIN/cage" exec "$PROJECT" -- "${cmd[@]}" "$@"
  if [ "$status" -ne 0 ]; then
    echo "screen:" >&2
    cat -v "$BATS_TEST_TMPDIR/screen" >&2 || true
  fi
}

# The cage is a session of its own, so the terminal's signals reach only the
# outer cage, which passes them to the agent's process group.
@test "exec on a terminal: ^C reaches the command and its children (130)" {
  drive_exec sh -c 'echo ready-$((1+1)); sleep 100; echo not-interrupted' ::: 'expect ready-2' \
    'send \x03' wait
  assert_success
  assert_contains "$output" "status 130"
  refute_contains "$(cat "$BATS_TEST_TMPDIR/screen")" not-interrupted
}

@test "exec on a terminal: ^Z stops the command with cage, SIGCONT (fg) continues both" {
  drive_exec sh -c 'trap "echo got-tstp" TSTP; trap "echo got-cont; exit 7" CONT; echo ready-$((2+2)); read x; read x' ::: \
    'expect ready-4' 'send \x1a' 'expect got-tstp' cont 'expect got-cont' wait
  assert_success
  assert_contains "$output" "status 7"
}

# ---- cage exec --json ------------------------------------------------------

# events: $output as one compact event a line, checked by jq to be JSON.
events_ok () {
  local line
  [ -n "$output" ] || fail "no events"
  while IFS= read -r line; do
    jq -e 'type == "object" and has("event")' <<<"$line" >/dev/null \
      || fail "not an event: $line"
  done <<<"$output"
}

@test "exec --json: start, stdout, stderr and exit events in order" {
  run --separate-stderr cage exec --json "$PROJECT" -- \
    sh -c 'echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three; exit 3'
  assert_status 3
  events_ok
  assert_equal "$(jq -r .event <<<"$output" | tr '\n' ' ')" "start stdout stderr stdout exit " \
    "event order"
  assert_equal "$(jq -r 'select(.event != "start" and .event != "exit") | .event + ":" + .data' \
    <<<"$output" | tr '\n' ' ')" "stdout:one  stderr:two  stdout:three  " "chunks"
  local start
  start=$(head -n 1 <<<"$output")
  jq -e '.pid > 1 and (.limits | type == "object")' <<<"$start" >/dev/null \
    || fail "bad start event: $start"
  assert_equal "$(jq -r '.namespaces | join(",")' <<<"$start")" "user,mount,pid,ipc,uts,net" \
    "namespaces"
  jq -e '.code == 3 and .signal == null and .duration_ms >= 500' <<<"$(tail -n 1 <<<"$output")" \
    >/dev/null || fail "bad exit event: $(tail -n 1 <<<"$output")"
  assert_equal "$stderr" "" "cage's stderr"
}

@test "exec --json: the limits in the start event; a signal in the exit event" {
  run cage exec --json "$PROJECT" --nofile 77 -- sh -c 'kill -9 $$'
  assert_status 137
  events_ok
  assert_equal "$(head -n 1 <<<"$output" | jq -c .limits.nofile.max)" 77 "nofile limit"
  jq -e '.event == "exit" and .code == 137 and .signal == 9' <<<"$(tail -n 1 <<<"$output")" \
    >/dev/null || fail "bad exit event: $(tail -n 1 <<<"$output")"
  # exit 137 is an exit code, not a signal
  run cage exec --json "$PROJECT" -- sh -c 'exit 137'
  assert_status 137
  jq -e '.code == 137 and .signal == null' <<<"$(tail -n 1 <<<"$output")" >/dev/null \
    || fail "bad exit event: $(tail -n 1 <<<"$output")"
}

@test "exec --json: stdin passes through" {
  run --separate-stderr cage exec --json "$PROJECT" -- cat <<<"hi"
  assert_success
  events_ok
  assert_equal "$(jq -r 'select(.event == "stdout") | .data' <<<"$output")" "hi" "stdout data"
}

@test "exec --json: bytes that are not UTF-8 come as data_b64; a character cut by a read stays data" {
  run cage exec --json "$PROJECT" -- printf 'a\377b\n'
  assert_success
  assert_equal "$(jq -r 'select(.event == "stdout") | .data_b64' <<<"$output" | base64 -d | od -An -tx1 | tr -d ' ')" \
    "61ff620a" "decoded bytes"
  # 1 + 2 * 65536 bytes: a 64 KiB read ends inside a two-byte character
  run cage exec --json "$PROJECT" -- sh -c \
    'x=é; for i in $(seq 1 16); do x=$x$x; done; printf "a%s" "$x"'
  assert_success
  events_ok
  assert_equal "$(jq -r 'select(.event == "stdout") | has("data")' <<<"$output" | sort -u)" true \
    "every chunk is data"
  [ "$(jq -r 'select(.event == "stdout")' <<<"$output" | grep -c '"event"')" -ge 2 ] \
    || fail "expected more than one chunk"
  local want got
  want=$(python3 -c 'import sys; sys.stdout.buffer.write(b"a" + "é".encode() * 65536)' | sha256sum)
  got=$(jq -j 'select(.event == "stdout") | .data' <<<"$output" | sha256sum)
  assert_equal "$got" "$want" "the whole output"
}

@test "exec --json: a command that is not found is one error object, exit 127" {
  run -127 --separate-stderr cage exec --json "$PROJECT" -- no-such-command
  assert_status 127
  assert_equal "$(jq -r 'keys | join(",")' <<<"$output")" "errno,error" "the error object"
  assert_contains "$(jq -r .error <<<"$output")" "no-such-command" "error"
  run --separate-stderr cage exec --json --dry-run "$PROJECT" -- true
  assert_success
  assert_equal "$(jq -r .stdio <<<"$output")" events "plan stdio"
}
