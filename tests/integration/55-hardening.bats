#!/usr/bin/env bats
# cage exec hardening: seccomp, capabilities and securebits, environment,
# resource limits, user namespaces the host refuses.  Each test runs real
# `cage exec` commands; /bin/probe (tests/fixtures/probes.c) makes the
# system calls busybox cannot.

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

# assert_error_line NEEDLE: stderr (run --separate-stderr) is one line
# that contains NEEDLE.
assert_error_line () {
  [ "$(printf '%s\n' "$stderr" | grep -c '')" -eq 1 ] && [ -n "$stderr" ] \
    || { show_run >&2; fail "expected exactly one line on stderr"; }
  [[ $stderr == *"$1"* ]] || { show_run >&2; fail "stderr does not contain '$1'"; }
}

mount_probe () { mount_project --package "$FIX_TOOLS" --package "$PROBE" "$@"; }

# probe_in [CAGE-OPTIONS...] -- ACTION [ARG]: run probe in the cage.
probe_in () { cage exec "$PROJECT" "$@"; }

# via LIMIT [CAGE-OPTIONS...]: how the dry-run plan enforces LIMIT.
via () {
  local what=$1
  shift
  cage exec "$PROJECT" --dry-run --json "$@" -- true 2>/dev/null | jq -r ".limits.$what.via"
}

# ---- seccomp ---------------------------------------------------------------

@test "seccomp: namespaces, mount, chroot, keys, bpf, setns are EPERM; clone3 is ENOSYS; fork works" {
  mount_probe
  local a
  for a in unshare-user unshare-net unshare-mount clone-newuser clone-newpid mount chroot \
    keyctl bpf; do
    run probe_in -- probe "$a"
    assert_status 1
    assert_contains "$output" "denied EPERM"
  done
  run probe_in -- probe clone3-newuser
  assert_status 1
  assert_contains "$output" "denied ENOSYS"
  run probe_in -- probe fork
  assert_success
  assert_contains "$output" "allowed fork"
}

@test "seccomp: ptrace and process_vm_readv are EPERM unless --allow-ptrace" {
  mount_probe
  run probe_in -- probe ptrace-self-child
  assert_status 1
  assert_contains "$output" "denied EPERM"
  run probe_in -- probe process-vm-read
  assert_status 1
  assert_contains "$output" "denied EPERM"
  run probe_in --allow-ptrace -- probe ptrace-self-child
  assert_success
  run probe_in --allow-ptrace -- probe process-vm-read
  assert_success
  # pid 1 (the cage's init) stays out of reach even then
  run probe_in --allow-ptrace -- probe ptrace-pid 1
  assert_status 1
}

@test "seccomp: a new user namespace only with --allow-userns (other namespaces still EPERM)" {
  mount_probe
  run probe_in --allow-userns -- probe unshare-user
  assert_success
  run probe_in --allow-userns -- probe clone-newuser
  assert_success
  run probe_in --allow-userns -- probe unshare-net
  assert_status 1
  assert_contains "$output" "denied EPERM"
}

@test "seccomp: the compiled filter is cached per options; a damaged or group-writable cache file is compiled again" {
  mount_probe
  local root f n=0
  root=$(dirname "$(cagefs status "$PROJECT" --json | jq -r .state_dir)")
  # (earlier tests cached other option sets: start from none)
  rm -f "$root"/seccomp-*.bpf
  run probe_in -- probe bpf
  assert_status 1
  assert_contains "$output" "denied EPERM"
  run probe_in --allow-userns -- probe unshare-user
  assert_success
  for f in "$root"/seccomp-*.bpf; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
  done
  [ "$n" -eq 2 ] || fail "expected a cache file per option set in $root, found $n"
  # a damaged file (not whole BPF instructions): compiled again, and rewritten
  for f in "$root"/seccomp-*.bpf; do printf 'junk' >"$f"; done
  run probe_in -- probe bpf
  assert_status 1
  assert_contains "$output" "denied EPERM"
  run probe_in --allow-userns -- probe unshare-user
  assert_success
  for f in "$root"/seccomp-*.bpf; do
    local size
    size=$(stat -c %s "$f")
    [ $((size % 8)) = 0 ] && [ "$size" -gt 8 ] || fail "$f was not rewritten: $size bytes"
  done
  # an allow-everything program in a file others could have written: ignored
  for f in "$root"/seccomp-*.bpf; do
    printf '\006\000\000\000\000\000\377\177' >"$f"
    chmod 0660 "$f"
  done
  run probe_in -- probe bpf
  assert_status 1
  assert_contains "$output" "denied EPERM"
  rm -f "$root"/seccomp-*.bpf
}

@test "seccomp: personality only PER_LINUX, PER_LINUX32 and the query (upper bits ignored as the kernel does)" {
  mount_probe
  local p
  for p in 0 8 ffffffff 100000000; do
    run probe_in -- probe personality "$p"
    assert_success
  done
  for p in 400000 40000 20000 1 80000000; do
    run probe_in -- probe personality "$p"
    assert_status 1
    assert_contains "$output" "denied EPERM"
  done
  # ADDR_NO_RANDOMIZE (what debuggers set) with --allow-ptrace
  run probe_in --allow-ptrace -- probe personality 40000
  assert_success
}

@test "seccomp: TIOCSTI is EPERM, also with garbage in the request's upper 32 bits" {
  mount_probe
  run probe_in -- probe tiocsti
  assert_status 1
  assert_contains "$output" "denied EPERM"
  run probe_in -- probe tiocsti-high
  assert_status 1
  assert_contains "$output" "denied EPERM"
}

@test "seccomp: the plan lists the rules; --seccomp=off warns once and drops the filter" {
  mount_probe
  run cage exec "$PROJECT" --dry-run --json -- true
  assert_success
  assert_equal "$(jq -r '.seccomp.enabled' <<<"$output")" true
  assert_equal "$(jq -r '.seccomp.architectures | join(",")' <<<"$output")" "x86_64,x86,x32"
  jq -e '.seccomp.eperm | index("ptrace") and index("mount") and index("setns")' <<<"$output" >/dev/null \
    || fail "ptrace, mount, setns not in the plan: $output"
  jq -e '.seccomp.eperm_clone_unshare_flags | index("CLONE_NEWUSER")' <<<"$output" >/dev/null \
    || fail "CLONE_NEWUSER not in the plan: $output"
  run cage exec "$PROJECT" --dry-run --json --allow-ptrace --allow-userns -- true
  jq -e '(.seccomp.eperm | index("ptrace") | not) and (.seccomp.eperm_clone_unshare_flags | index("CLONE_NEWUSER") | not)' \
    <<<"$output" >/dev/null || fail "--allow-ptrace/--allow-userns not in the plan: $output"

  run --separate-stderr cage exec "$PROJECT" --seccomp=off -- probe personality 400000
  assert_success
  assert_equal "$(grep -c . <<<"$stderr")" 1
  assert_contains "$output" "allowed"
  [[ $stderr == *"--seccomp=off"*"WITHOUT"* ]] || fail "no warning: $stderr"
  # capabilities are still gone
  run cage exec "$PROJECT" --seccomp=off -- probe unshare-net
  assert_status 1
  run cage exec "$PROJECT" --seccomp=bogus -- true
  assert_status 125
}

# ---- capabilities ------------------------------------------------------------

@test "capabilities: all five sets empty, no_new_privs, securebits locked" {
  mount_probe
  run cage exec "$PROJECT" -- grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
  assert_success
  local f
  for f in CapInh CapPrm CapEff CapBnd CapAmb; do
    grep -qx "$f:[[:space:]]*0000000000000000" <<<"$output" || fail "$f not empty: $output"
  done
  grep -qx "NoNewPrivs:[[:space:]]*1" <<<"$output" || fail "no no_new_privs: $output"
  grep -qx "Seccomp:[[:space:]]*2" <<<"$output" || fail "no filter: $output"
  # NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED, NO_CAP_AMBIENT_RAISE, each locked
  run probe_in -- probe securebits
  assert_status 1
  assert_contains "$output" "securebits 0xef"
  assert_contains "$output" "denied EPERM"
}

# ---- environment -------------------------------------------------------------

@test "env: cleared but TERM and LANG; --pass-env and --env add; names are checked" {
  mount_probe
  run env TERM=xterm-test LANG=C.test SECRET_TOKEN=s3 KEEP_ME=k \
    "$CAGEFS_BIN/cage" exec "$PROJECT" -- env
  assert_success
  assert_contains "$output" "TERM=xterm-test"
  assert_contains "$output" "LANG=C.test"
  refute_contains "$output" "SECRET_TOKEN"
  refute_contains "$output" "KEEP_ME"
  run env SECRET_TOKEN=s3 KEEP_ME=k "$CAGEFS_BIN/cage" exec "$PROJECT" --pass-env KEEP_ME \
    --env X=1 --env Y='a b=c' --env X=2 --pass-env NOT_SET_ANYWHERE -- env
  assert_success
  assert_contains "$output" "KEEP_ME=k"
  assert_contains "$output" "Y=a b=c"
  refute_contains "$output" "SECRET_TOKEN"
  refute_contains "$output" "NOT_SET_ANYWHERE"
  assert_equal "$(grep -c '^X=' <<<"$output")" 1
  assert_contains "$output" "X=2"
  run --separate-stderr cage exec "$PROJECT" --env 1BAD=x -- true
  assert_status 125
  assert_error_line "1BAD"
  run cage exec "$PROJECT" --env NOEQUALS -- true
  assert_status 125
  run cage exec "$PROJECT" --pass-env 'A;B' -- true
  assert_status 125
}

@test "env and limits from cage.json; flags win" {
  put cage.json '{"env": {"pass": ["KEEP_ME"], "set": {"FROM_FILE": "yes", "X": "file"}},
                  "limits": {"nofile": 77, "pids": 300}}'
  mount_probe
  run env KEEP_ME=k "$CAGEFS_BIN/cage" exec "$PROJECT" --env X=flag -- sh -c 'env; ulimit -n'
  assert_success
  assert_contains "$output" "KEEP_ME=k"
  assert_contains "$output" "FROM_FILE=yes"
  assert_contains "$output" "X=flag"
  assert_equal "$(tail -n1 <<<"$output")" 77
  run cage exec "$PROJECT" --nofile 66 -- sh -c 'ulimit -n'
  assert_equal "$output" 66
  run cage exec "$PROJECT" --dry-run --json -- true
  assert_equal "$(jq -r '.limits.pids.max' <<<"$output")" 300
  jq -e '.env | index("FROM_FILE=yes")' <<<"$output" >/dev/null || fail "env not in the plan: $output"
  put cage.json '{"limits": {"memory": "lots"}}'
  run --separate-stderr cage exec "$PROJECT" -- true
  assert_status 125
  assert_error_line "limits.memory"
}

# ---- limits ------------------------------------------------------------------

@test "limits: --nofile caps open files" {
  mount_probe
  run cage exec "$PROJECT" --nofile 40 -- probe nofile
  assert_success
  assert_contains "$output" "opened 37 (then EMFILE)"
  assert_equal "$(via nofile --nofile 40)" rlimit
}

@test "limits: --pids stops a fork loop, and the cage still ends" {
  mount_probe
  run cage exec "$PROJECT" --pids 20 -- sh -c 'i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done; echo forked all'
  refute_contains "$output" "forked all"
  assert_contains "$output" "can't fork"
  run cage exec "$PROJECT" --pids 20 -- sh -c 'i=0; while [ $i -lt 5 ]; do sleep 0 & i=$((i+1)); done; wait; echo five'
  assert_success
  assert_contains "$output" five
  local v
  v=$(via pids --pids 20)
  [ "$v" = cgroup1 ] || [ "$v" = cgroup2 ] || [ "$v" = rlimit ] || fail "pids via $v"
}

@test "limits: each profile has a pids limit by default (standard 4096, strict 1024); cage.json's stops a fork loop" {
  mount_probe
  run cage exec "$PROJECT" --dry-run --json -- true
  assert_equal "$(jq -r '.limits.pids.max' <<<"$output")" 4096 "the default pids limit"
  local v
  v=$(via pids)
  [ "$v" = cgroup1 ] || [ "$v" = cgroup2 ] || [ "$v" = rlimit ] || fail "pids via $v"
  cagefs umount "$PROJECT"
  mount_probe --profile strict
  run cage exec "$PROJECT" --dry-run --json -- true
  assert_equal "$(jq -r '.limits.pids.max' <<<"$output")" 1024 "strict's pids limit"
  cagefs umount "$PROJECT"
  put cage.json '{"limits": {"pids": 30}}'
  mount_probe
  run cage exec "$PROJECT" -- sh -c 'i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done; echo forked all'
  refute_contains "$output" "forked all"
  assert_contains "$output" "can't fork"
}

# A floor above the free space the project's filesystem has now: every
# write and create in the workspace is refused.
@test "limits: the workspace's free-space floor refuses writes and creates (ENOSPC, audited); files stay intact" {
  put keep.txt "kept"
  local avail
  avail=$(df -B1 --output=avail "$PROJECT" | tail -n 1 | tr -d ' ')
  put cage.json "{\"limits\": {\"workspace_free_min\": $((avail + (1 << 30)))}}"
  mount_probe
  run --separate-stderr cage_sh 'echo more >> /workspace/keep.txt'
  assert_failure
  assert_contains "$stderr" "No space left on device"
  run --separate-stderr cage_sh 'echo new > /workspace/new.txt'
  assert_failure
  assert_contains "$stderr" "No space left on device"
  run cage_sh 'cat /workspace/keep.txt'
  assert_equal "$output" kept "keep.txt in the cage"
  assert_equal "$(cat "$PROJECT/keep.txt")" kept "keep.txt on the host"
  [ ! -e "$PROJECT/new.txt" ] || fail "new.txt was made on the host"
  local n
  n=$(cagefs audit "$PROJECT" --json | jq -s '[.[] | select(.result == "no-space"
        and ((.op == "write" and .path == "/workspace/keep.txt")
             or (.op == "create" and .path == "/workspace/new.txt")))] | length')
  [ "$n" -ge 2 ] || fail "no no-space audit entries for the write and the create:" "$(cagefs audit "$PROJECT")"
  cagefs umount "$PROJECT"
  # 0: no floor
  put cage.json '{"limits": {"workspace_free_min": 0}}'
  mount_probe
  run cage_sh 'echo more >> /workspace/keep.txt && echo new > /workspace/new.txt && cat /workspace/new.txt'
  assert_success
  assert_equal "$output" new
  cagefs umount "$PROJECT"
  put cage.json '{"limits": {"workspace_free_min": "5 %"}}'
  run --separate-stderr cagefs mount "$PROJECT"
  assert_failure
  assert_contains "$stderr" "limits.workspace_free_min"
}

@test "limits: over --memory the agent is killed (137) or refused memory, never the daemon" {
  mount_probe
  local v
  v=$(via memory --memory 64M)
  run cage exec "$PROJECT" --memory 64M -- probe alloc 16
  assert_success
  run cage exec "$PROJECT" --memory 64M -- probe alloc 300
  case $v in
    cgroup1 | cgroup2) assert_status 137 ;;
    rlimit) assert_status 1; assert_contains "$output" "denied ENOMEM" ;;
    *) fail "memory via $v" ;;
  esac
  run cagefs status "$PROJECT"
  assert_success
  assert_contains "$output" "mounted"
  run cage exec "$PROJECT" -- true
  assert_success
}

@test "limits: the plan and -v say which mechanism; cgroups are made for the run and removed" {
  mount_probe
  run --separate-stderr cage exec "$PROJECT" --dry-run --json --memory 64M --cpus 0.5 --pids 50 --nofile 99 -- true
  assert_success
  local plan=$output v
  assert_equal "$(jq -r .limits.memory.bytes <<<"$plan")" 67108864
  assert_equal "$(jq -r .limits.cpus.cpus <<<"$plan")" 0.5
  assert_equal "$(jq -r .limits.pids.max <<<"$plan")" 50
  assert_equal "$(jq -r .limits.nofile.via <<<"$plan")" rlimit
  v=$(jq -r .limits.memory.via <<<"$plan")
  if [ "$(id -u)" != 0 ]; then
    # An unprivileged user here has no delegated cgroup: rlimits, and says so.
    assert_equal "$v" rlimit
    assert_equal "$(jq -r .limits.memory.rlimit <<<"$plan")" RLIMIT_AS
    assert_equal "$(jq -r .limits.pids.rlimit <<<"$plan")" RLIMIT_NPROC
    assert_equal "$(jq -r .limits.cpus.via <<<"$plan")" unavailable
    run --separate-stderr cage exec "$PROJECT" -v --cpus 0.5 -- true
    assert_success
    [[ $stderr == *"cpus"*"not enforced"* ]] || fail "no cpus warning: $stderr"
  else
    [ "$v" = cgroup1 ] || [ "$v" = cgroup2 ] || fail "root: memory via $v"
    local cg
    cg=$(jq -r .limits.memory.cgroup <<<"$plan")
    [[ $cg == */cagefs-* ]] || fail "cgroup $cg"
    # The agent sees itself in a cagefs-<pid> cgroup; the cgroup is gone
    # after the run (other cages may run meanwhile: only ours is checked).
    run cage exec "$PROJECT" --memory 64M --pids 50 -- cat /proc/self/cgroup
    assert_success
    grep -Eq '^[0-9]+:(memory|):.*/cagefs-[0-9]+$' <<<"$output" || fail "agent not in a cagefs cgroup: $output"
    local ours
    ours=$(grep -Eo 'cagefs-[0-9]+' <<<"$output" | head -n1)
    ! find /sys/fs/cgroup -maxdepth 5 -name "$ours" -type d 2>/dev/null | grep -q . \
      || fail "$ours left behind"
  fi
  run --separate-stderr cage exec "$PROJECT" -v --nofile 99 -- true
  [[ $stderr == *"limits: pids 4096 ("*"), nofile 99 (rlimit)"* ]] || fail "-v does not say: $stderr"
}

@test "limits: bad values are one-line usage errors" {
  mount_probe
  local bad
  for bad in "--memory 0" "--memory 12X" "--cpus 0" "--cpus x" "--pids -1" "--nofile 1.5" "--memory"; do
    # shellcheck disable=SC2086
    run cage exec "$PROJECT" $bad -- true
    assert_status 125
  done
}

# ---- user namespaces refused by the host -------------------------------------

@test "a host that allows no user namespaces: the error names the sysctl and the fix" {
  mount_probe
  # max_user_namespaces is per user namespace: set it to 0 in a private
  # one, so the host's own setting is never touched.
  run --separate-stderr unshare --user --map-root-user sh -c \
    'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" exec "$1" -- true' \
    "$CAGEFS_BIN/cage" "$PROJECT"
  assert_status 125
  assert_error_line "max_user_namespaces is 0"
  assert_contains "$stderr" "sysctl -w user.max_user_namespaces=15000"
}
