#!/usr/bin/env bats
# cage exec: status, signals, identity, privileges, namespaces, network.

load helpers

setup () { common_setup; require_namespaces; }

# host_ifaces: the host's network interface names, sorted.
host_ifaces () { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | LC_ALL=C sort; }

@test "the command's exit status is cage's" {
  mount_tools
  run cage exec "$PROJECT" -- true
  assert_status 0
  run cage exec "$PROJECT" -- false
  assert_status 1
  run cage exec "$PROJECT" -- sh -c 'exit 7'
  assert_status 7
  run cage exec "$PROJECT" -- sh -c 'exit 124'
  assert_status 124
}

@test "a command killed by signal N gives 128+N (kill -9 -> 137, TERM -> 143)" {
  mount_tools
  run cage exec "$PROJECT" -- sh -c 'kill -9 $$; sleep 5'
  assert_status 137
  run cage exec "$PROJECT" -- sh -c 'kill -TERM $$; sleep 5'
  assert_status 143
}

@test "a command killed from the host gives 137" {
  mount_tools
  local tag=$$
  cage exec "$PROJECT" -- sleep "9$tag" >/dev/null 2>&1 &
  local c=$! p="" i
  for ((i = 0; i < 100; i++)); do
    p=$(pgrep -x -f "sleep 9$tag" || true)
    [ -n "$p" ] && break
    sleep 0.1
  done
  [ -n "$p" ] || { kill -9 "$c" 2>/dev/null; fail "the sleep in the cage was not found"; }
  kill -9 $p
  local rc=0
  wait "$c" || rc=$?
  assert_equal "$rc" 137 "exit status of cage"
}

@test "stdin, stdout and stderr pass through" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- sh -c 'cat; echo to-stderr >&2' <<<"from-stdin"
  assert_success
  assert_equal "$output" from-stdin "stdout"
  assert_equal "$stderr" to-stderr "stderr"
}

@test "arguments reach the command unchanged" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- printf '<%s>\n' 'a b' '' '$HOME' '*' '-x'
  assert_success
  assert_equal "$output" $'<a b>\n<>\n<$HOME>\n<*>\n<-x>' "output"
}

@test "cage exec on an unmounted project exits 125 with the cagefs mount hint" {
  run --separate-stderr cage exec "$PROJECT" -- true
  assert_status 125
  assert_one_line_error "cage: error:"
  assert_contains "$stderr" "project $PROJECT is not mounted" "error"
  assert_contains "$stderr" "cagefs mount $PROJECT" "error"
}

@test "cage exec after the daemon was killed exits 125" {
  mount_tools
  kill -9 "$PID"
  wait_gone "$PID" 10 || fail "daemon survived kill -9"
  run --separate-stderr cage exec "$PROJECT" -- true
  assert_status 125
  assert_one_line_error "cage: error:"
  assert_contains "$stderr" "cagefs mount" "error"
}

@test "id shows uid 1000" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- id -u
  assert_success
  assert_equal "$output" 1000 "id -u"
  run --separate-stderr cage exec "$PROJECT" -- id
  assert_success
  assert_contains "$output" "uid=1000(" "id"
}

@test "no capabilities and no_new_privs" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- cat /proc/self/status
  assert_success
  local f v fails=()
  for f in CapInh CapPrm CapEff CapAmb; do
    v=$(printf '%s\n' "$output" | awk -v f="$f:" '$1 == f { print $2 }')
    [ "$v" = 0000000000000000 ] || fails+=("$f is '$v'")
  done
  v=$(printf '%s\n' "$output" | awk '$1 == "NoNewPrivs:" { print $2 }')
  [ "$v" = 1 ] || fails+=("NoNewPrivs is '$v'")
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}" "$output"
}

@test "a seccomp filter is installed" {
  grep -q '^Seccomp:' /proc/self/status || skip "kernel: no seccomp"
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- cat /proc/self/status
  assert_success
  assert_equal "$(printf '%s\n' "$output" | awk '$1 == "Seccomp:" { print $2 }')" 2 "Seccomp mode"
}

@test "new user, mount, pid, ipc, uts and net namespaces" {
  mount_tools
  local ns fails=() inside host
  for ns in user mnt pid ipc uts net; do
    run --separate-stderr cage exec "$PROJECT" -- readlink /proc/self/ns/$ns
    [ "$status" -eq 0 ] || { fails+=("$ns: readlink failed: $stderr"); continue; }
    inside=$output
    host=$(readlink /proc/self/ns/$ns)
    [ -n "$inside" ] && [ "$inside" != "$host" ] || fails+=("$ns: $inside is the host's")
  done
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "the cage sees only its own processes" {
  mount_tools
  run --separate-stderr cage_sh 'ls /proc | grep -E "^[0-9]+$"'
  assert_success
  local p
  for p in $output; do
    [ "$p" -lt 100 ] || fail "pid $p in the cage's /proc:" "$output"
  done
  [ -n "$output" ] || fail "no pids in the cage's /proc"
}

@test "network off: only lo exists" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- ip -o link show
  assert_success
  assert_equal "$(printf '%s\n' "$output" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')" lo "interfaces (ip link)"
  run --separate-stderr cage exec "$PROJECT" -- cat /proc/net/dev
  assert_success
  assert_equal "$(printf '%s\n' "$output" | awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }')" lo "interfaces (/proc/net/dev)"
}

@test "network host: the host's interfaces are there" {
  mount_tools --network host
  assert_equal "$(jq -r .network <<<"$MOUNT_JSON")" host "network"
  run --separate-stderr cage exec "$PROJECT" -- ip -o link show
  assert_success
  assert_equal "$(printf '%s\n' "$output" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | LC_ALL=C sort)" \
    "$(host_ifaces)" "interfaces"
  run --separate-stderr cage exec "$PROJECT" -- readlink /proc/self/ns/net
  assert_success
  assert_equal "$output" "$(readlink /proc/self/ns/net)" "net namespace"
}

@test "two cages of two projects run side by side" {
  mount_tools
  local first=$PROJECT
  local second
  second=$(new_project)
  EXTRA_PROJECTS+=("$second")
  echo one > "$first/which"
  echo two > "$second/which"
  run --separate-stderr cagefs mount "$second" --package "$FIX_TOOLS" --json
  assert_success
  local pid2
  pid2=$(jq -r .pid <<<"$output")
  MOUNTED_PIDS+=("$pid2")
  run --separate-stderr cage exec "$first" -- cat /workspace/which
  assert_equal "$output" one "first project"
  run --separate-stderr cage exec "$second" -- cat /workspace/which
  assert_equal "$output" two "second project"
  run --separate-stderr cagefs umount "$second"
  assert_success
  wait_gone "$pid2" 10 || fail "second daemon still running after its umount"
  run --separate-stderr cage exec "$first" -- cat /workspace/which
  assert_equal "$output" one "first project after the second's umount"
}
