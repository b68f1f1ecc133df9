#!/usr/bin/env bats
# Escape attempts from inside `cage exec`.  Each test makes one kind of
# attempt for real (the probe reaches the system call, the file or socket is
# really there on the host) and passes only when the attempt FAILS and the
# host is unchanged.  /bin/probe is tests/fixtures/probes.c; it also runs on
# the host (static) as the positive control and as the listener of the
# network tests.
#
# A test marked `skip "HOLE: ..."` is an attempt that SUCCEEDS today: a real
# hole, kept here unweakened until the product closes it.

load helpers

setup_file () {
  PROBE=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  export PROBE
}

setup () {
  common_setup
  require_namespaces
  [ -n "${PROBE-}" ] || fail "tests/fixtures/probes.sh printed no store path"
  HOST_PROBE=$PROBE/bin/probe
  BG_PIDS=()
}

teardown () {
  local p
  for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  common_teardown
}

mount_probe () { mount_project --package "$FIX_TOOLS" --package "$PROBE" "$@"; }

# probe_in ACTION [ARG...]: the probe in the cage of $PROJECT.
probe_in () { cage exec "$PROJECT" -- probe "$@"; }

# assert_denied WHAT [ERRNO]: the probe ran WHAT (its system call was made)
# and the kernel refused it (with ERRNO when given).
assert_denied () {
  [ "$status" -eq 1 ] || { show_run >&2; fail "expected the probe to be denied (exit 1)"; }
  [[ $output == *"denied ${2:-}"*"($1"* ]] \
    || { show_run >&2; fail "expected 'denied ${2:-}... ($1...'"; }
}

# bg CMD...: run CMD on the host in the background (killed in teardown);
# sets BG_PID.
bg () {
  "$@" </dev/null >/dev/null 2>&1 3>&- &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
}

# host_sleep: a sleep on the host; sets SLEEP_PID.
host_sleep () {
  bg sleep 1000
  SLEEP_PID=$BG_PID
  alive "$SLEEP_PID" || fail "the host sleep did not start"
}

# listen KIND [NAME]: a probe listener on the host (KIND tcp, udp or unix);
# sets LISTEN_OUT (what it received, one "got" line each) and LISTEN_PORT.
listen () {
  LISTEN_OUT=$BATS_TEST_TMPDIR/listen-$1.out
  : > "$LISTEN_OUT"
  "$HOST_PROBE" "listen-$1" "${2:-}" </dev/null >"$LISTEN_OUT" 2>&1 3>&- &
  BG_PIDS+=("$!")
  local i
  for ((i = 0; i < 50; i++)); do
    grep -q '^listening' "$LISTEN_OUT" && break
    sleep 0.1
  done
  grep -q '^listening' "$LISTEN_OUT" || fail "host listener did not start: $(cat "$LISTEN_OUT")"
  LISTEN_PORT=$(awk '/^listening/ { print $2; exit }' "$LISTEN_OUT")
}

# received: how many messages the host listener got (after a moment).
received () { sleep 0.3; grep -c '^got' "$LISTEN_OUT" || true; }

# Secrets used by the secret tests: at the top, in a sub folder, inside a
# hidden folder, and under path patterns.
make_secrets () {
  put .env "SECRET-env"
  put sub/.env "SECRET-sub-env"
  put sub/.ssh/id_rsa "SECRET-sub-key"
  put sub/server.pem "SECRET-pem"
  put .kube/config "SECRET-kube"
  put .kube/visible "plain"
  put plain.txt "plain"
  put sub/plain.txt "plain"
}

# ---- reading a hidden secret --------------------------------------------------

@test "secret: direct names in the workspace and in the store are ENOENT (the visible neighbours read)" {
  make_secrets
  mount_probe
  # the control: the folders and plain files next to the secrets are there
  run cage_sh 'cat /workspace/plain.txt /workspace/sub/plain.txt /workspace/.kube/visible "$1/hello.txt"' "$FIX_DATA"
  assert_success
  local p fails=()
  for p in /workspace/.env /workspace/sub/.env /workspace/sub/.ssh/id_rsa /workspace/sub/server.pem \
    /workspace/.kube/config "$FIX_DATA/id_rsa" "$FIX_DATA/.env" "$FIX_DATA/server.pem" \
    "$FIX_DATA/sub/tls.key"; do
    run probe_in open "$p" r
    [[ $status -eq 1 && $output == *"denied ENOENT"* ]] || fails+=("open $p: $status $output")
  done
  run cage_sh 'cat /workspace/.env /workspace/sub/.ssh/id_rsa "$1/id_rsa"; grep -r SECRET /workspace "$1"' "$FIX_DATA"
  refute_contains "$output" SECRET
  refute_contains "$output" FAKE-FIXTURE
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "secret: symlinks to it (made on the host or in the cage, relative, absolute, to its folder) lead nowhere" {
  make_secrets
  ln -s .env "$PROJECT/rel-link"
  ln -s "$PROJECT/.env" "$PROJECT/host-abs-link"
  ln -s /workspace/sub/.ssh/id_rsa "$PROJECT/cage-abs-link"
  ln -s sub/.ssh "$PROJECT/ssh-dir-link"
  ln -s .kube "$PROJECT/kube-dir-link"
  ln -s "$FIX_DATA/id_rsa" "$PROJECT/store-link"
  # the control: on the host, these links do lead to secrets
  grep -q SECRET "$PROJECT/rel-link" || fail "control: rel-link does not reach the secret on the host"
  mount_probe
  run cage_sh 'ls -la /workspace; for l in rel-link host-abs-link cage-abs-link ssh-dir-link/id_rsa \
      kube-dir-link/config store-link; do cat "/workspace/$l"; done
    ln -s .env /workspace/new-link && cat /workspace/new-link
    ln -s sub/.ssh /workspace/new-dir-link && cat /workspace/new-dir-link/id_rsa
    cd /workspace/kube-dir-link && cat config ./config ../.kube/config'
  assert_contains "$output" rel-link "ls -la /workspace (the links are there)"
  refute_contains "$output" SECRET
  refute_contains "$output" FAKE-FIXTURE
}

@test "secret: a hardlink to it cannot be made in the cage (ln, link), host unchanged" {
  make_secrets
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_probe
  local cmd fails=()
  for cmd in "ln /workspace/.env /workspace/h1" "ln /workspace/sub/.ssh/id_rsa /workspace/h2" \
    "link /workspace/sub/server.pem /workspace/h3" "ln /workspace/.kube/config /workspace/h4" \
    "cd /workspace/sub && ln .env ../h5" "ln \"$FIX_DATA/id_rsa\" /workspace/h6"; do
    run --separate-stderr cage_sh "$cmd"
    [ "$status" -ne 0 ] || fails+=("'$cmd' succeeded")
    [[ $stderr == *"No such file or directory"* || $stderr == *"Permission denied"* ]] \
      || fails+=("'$cmd': unexpected error: $stderr")
  done
  run cage_sh 'cat /workspace/h1 /workspace/h2 /workspace/h3 /workspace/h4 /workspace/h5 /workspace/h6'
  refute_contains "$output" SECRET
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "secret: a hardlink made on the host under an innocent name does not expose it" {
  make_secrets
  put sub/.ssh/known_hosts "SECRET-in-hidden-folder"
  ln "$PROJECT/.env" "$PROJECT/innocent.txt"
  ln "$PROJECT/sub/.ssh/id_rsa" "$PROJECT/sub/notes.txt"
  ln "$PROJECT/sub/.ssh/known_hosts" "$PROJECT/hosts.txt"
  ln "$PROJECT/.kube/config" "$PROJECT/sub/kube.txt"
  # what cp -al and rsync --link-dest make: a tree of links beside the original
  mkdir "$PROJECT/backup"
  ln "$PROJECT/sub/server.pem" "$PROJECT/backup/server.txt"
  # the control: on the host these names do hold the secrets
  local p
  for p in innocent.txt sub/notes.txt hosts.txt sub/kube.txt backup/server.txt; do
    grep -q SECRET "$PROJECT/$p" || fail "control: $p does not hold a secret on the host"
  done
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_probe
  local fails=()
  run --separate-stderr cage exec "$PROJECT" -- ls -a /workspace /workspace/sub /workspace/backup
  assert_success
  assert_contains "$output" plain.txt "ls -a (the control: plain files are listed)"
  for p in innocent.txt notes.txt hosts.txt kube.txt server.txt; do
    [[ $output != *"$p"* ]] || fails+=("ls -a lists $p")
  done
  for p in innocent.txt sub/notes.txt hosts.txt sub/kube.txt backup/server.txt; do
    run probe_in open "/workspace/$p" r
    [[ $status -eq 1 && $output == *"denied ENOENT"* ]] || fails+=("open $p: $status $output")
  done
  run cage_sh 'cat /workspace/innocent.txt /workspace/sub/notes.txt /workspace/hosts.txt \
    /workspace/sub/kube.txt /workspace/backup/server.txt; grep -r SECRET /workspace'
  refute_contains "$output" SECRET
  # nor can its name be written, linked or renamed over (the file is the secret)
  local cmd
  for cmd in "echo pwned > /workspace/innocent.txt" "echo pwned >> /workspace/hosts.txt" \
    "ln /workspace/plain.txt /workspace/innocent.txt" "mv /workspace/plain.txt /workspace/sub/notes.txt" \
    "mkdir /workspace/backup/server.txt" "rm /workspace/innocent.txt"; do
    run --separate-stderr cage_sh "$cmd"
    [ "$status" -ne 0 ] || fails+=("'$cmd' succeeded")
  done
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

# The agent links a file it may read; then the host renames the original to
# a hidden name (or into a hidden folder): the file is a secret now, under
# the agent's link too.  The link count does not change, so only the
# host-edit watcher's rename event can tell.
@test "secret: a host rename of a file the agent linked, to a hidden name or into a hidden folder, hides the agent's link" {
  put data "SECRET-renamed-to-env"
  put sub/data2 "SECRET-moved-to-ssh"
  put .ssh/known_hosts "plain"
  mount_probe
  run cage_sh 'cd /workspace && ln data link2 && ln sub/data2 sub/link2 && cat link2 sub/link2'
  assert_success
  assert_contains "$output" SECRET-renamed-to-env "the control: the agent reads its link"
  assert_contains "$output" SECRET-moved-to-ssh "the control: the agent reads its link"
  mv "$PROJECT/data" "$PROJECT/.env"
  mv "$PROJECT/sub/data2" "$PROJECT/.ssh/data2"
  local p i
  for p in link2 sub/link2; do
    for ((i = 0; i < 50; i++)); do
      run probe_in open "/workspace/$p" r
      [[ $output == *"denied ENOENT"* ]] && break
      sleep 0.1
    done
    [[ $status -eq 1 && $output == *"denied ENOENT"* ]] || fail "open $p after the host's rename: $status $output"
  done
  run cage_sh 'cat /workspace/link2 /workspace/sub/link2; grep -r SECRET /workspace'
  refute_contains "$output" SECRET
  # the host's files are what they were
  grep -q SECRET-renamed-to-env "$PROJECT/link2" || fail "the host's link2 changed"
}

@test "secret: a hardlink made on the host under an innocent name after the mount does not expose it" {
  make_secrets
  put sub/.ssh/known_hosts "SECRET-in-hidden-folder"
  # sub/.env already has a second link (outside the project) at mount time
  ln "$PROJECT/sub/.env" "$BATS_TEST_TMPDIR/outside"
  mount_probe
  run cage_sh 'cat /workspace/plain.txt; ls /workspace/later.txt'
  assert_contains "$output" plain "the control: the cage reads the workspace"
  ln "$PROJECT/.env" "$PROJECT/later.txt"
  ln "$PROJECT/sub/.env" "$PROJECT/sub/later.txt"
  ln "$PROJECT/sub/.ssh/known_hosts" "$PROJECT/hosts.txt"
  local p fails=()
  for p in later.txt sub/later.txt hosts.txt; do
    grep -q SECRET "$PROJECT/$p" || fail "control: $p does not hold a secret on the host"
  done
  sleep 1.1 # the negative entry of later.txt cached by the kernel expires
  for p in later.txt sub/later.txt hosts.txt; do
    run probe_in open "/workspace/$p" r
    [[ $status -eq 1 && $output == *"denied ENOENT"* ]] || fails+=("open $p: $status $output")
  done
  run --separate-stderr cage exec "$PROJECT" -- ls -a /workspace /workspace/sub
  assert_success
  assert_contains "$output" plain.txt "ls -a (the control: plain files are listed)"
  refute_contains "$output" later.txt
  refute_contains "$output" hosts.txt
  run cage_sh 'cat /workspace/later.txt /workspace/sub/later.txt /workspace/hosts.txt; grep -r SECRET /workspace'
  refute_contains "$output" SECRET
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "secret: renaming it (or its hidden folder) to a visible name fails, host unchanged" {
  make_secrets
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_probe
  local cmd fails=()
  for cmd in "mv /workspace/.env /workspace/env.txt" "mv /workspace/sub/.ssh /workspace/sub/ssh" \
    "mv /workspace/sub/.ssh/id_rsa /workspace/key.txt" "mv /workspace/sub/server.pem /workspace/server.txt" \
    "mv /workspace/.kube/config /workspace/.kube/cfg" "cd /workspace/sub && mv .env ../e"; do
    run --separate-stderr cage_sh "$cmd"
    [ "$status" -ne 0 ] || fails+=("'$cmd' succeeded")
    [[ -n $stderr ]] || fails+=("'$cmd': no error message")
  done
  run cage_sh 'cat /workspace/env.txt /workspace/sub/ssh/id_rsa /workspace/key.txt /workspace/server.txt \
    /workspace/.kube/cfg /workspace/e'
  refute_contains "$output" SECRET
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "secret: renaming the folder above it keeps it hidden; a folder a path pattern needs cannot be renamed" {
  make_secrets
  put config/prod.yml "SECRET-prod"
  put config/dev.yml "plain"
  mount_probe --blacklist config/prod.yml
  # the folder holding .env, .ssh and server.pem moves: they stay hidden
  run cage_sh 'mv /workspace/sub /workspace/moved && ls -a /workspace/moved'
  assert_success
  assert_contains "$output" plain.txt "ls -a of the moved folder"
  [ -f "$PROJECT/moved/.ssh/id_rsa" ] || fail "the rename did not happen on the host"
  run cage_sh 'cat /workspace/moved/.env /workspace/moved/.ssh/id_rsa /workspace/moved/server.pem'
  assert_failure
  refute_contains "$output" SECRET
  run cage exec "$PROJECT" -- ls -a /workspace/moved
  assert_equal "$(echo $output)" ". .. plain.txt" "ls -a of the moved folder"
  # .kube/config and config/prod.yml match by their folder: moving it is refused
  local d fails=()
  for d in .kube config; do
    run --separate-stderr cage_sh 'mv "/workspace/$1" /workspace/renamed-dir' "$d"
    [ "$status" -ne 0 ] || fails+=("mv $d succeeded")
    run cage_sh 'cat /workspace/renamed-dir/config /workspace/renamed-dir/prod.yml'
    refute_contains "$output" SECRET
    rm -rf "$PROJECT/renamed-dir"
  done
  [ -f "$PROJECT/.kube/config" ] && [ -f "$PROJECT/config/prod.yml" ] || fail "a secret moved on the host"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "secret: /proc/self/root, /proc/self/cwd, /proc/1/root and /proc/1/cwd do not reach it" {
  make_secrets
  mount_probe
  run cage_sh 'cd /workspace/sub && cat /proc/self/cwd/plain.txt'
  assert_success
  assert_equal "$output" plain "control: /proc/self/cwd works"
  run cage_sh 'cd /workspace/sub
    cat /proc/self/root/workspace/.env /proc/self/cwd/.env /proc/self/cwd/.ssh/id_rsa
    cat /proc/1/root/workspace/.env /proc/1/cwd/workspace/.env /proc/1/root/workspace/sub/.ssh/id_rsa
    cat "/proc/self/root$1/.env" "/proc/1/root$1/.env" "/proc/self/root/proc/self/root/workspace/.env"
    cat /proc/self/root/../../workspace/.env' "$PROJECT"
  refute_contains "$output" SECRET
}

@test "secret: /proc/PID/cwd of a host process sitting in the secret folder, or of another cage process" {
  make_secrets
  (cd "$PROJECT/sub/.ssh" && exec sleep 1000) </dev/null >/dev/null 2>&1 3>&- &
  local host=$!
  BG_PIDS+=("$host")
  # the control: on the host, that route reads the key
  local i
  for ((i = 0; i < 50; i++)); do [ -r "/proc/$host/cwd/id_rsa" ] && break; sleep 0.1; done
  grep -q SECRET-sub-key "/proc/$host/cwd/id_rsa" || fail "control: /proc/$host/cwd/id_rsa not readable on the host"
  mount_probe
  run cage_sh 'cat "/proc/$1/cwd/id_rsa" "/proc/$1/root$2/sub/.ssh/id_rsa"
    cd /workspace/sub && sleep 100 & p=$!
    sleep 0.2
    cat /proc/$p/cwd/plain.txt; cat /proc/$p/cwd/.env /proc/$p/cwd/.ssh/id_rsa
    for d in /proc/[0-9]*; do cat $d/cwd/id_rsa $d/cwd/.env $d/cwd/sub/.ssh/id_rsa 2>/dev/null; done
    kill $p' "$host" "$PROJECT"
  assert_contains "$output" plain "control: the cage process's cwd is readable"
  refute_contains "$output" SECRET
}

@test "secret: open_by_handle_at with the host's handle of it, and name_to_handle_at, are EPERM" {
  make_secrets
  local handle type hex
  if handle=$("$HOST_PROBE" name-to-handle "$PROJECT/.env" 2>&1) && [[ $handle == handle* ]]; then
    read -r _ type hex <<<"$handle"
  else
    type=1 hex=0000000000000000   # this host file system gives no handles
  fi
  mount_probe
  local dir
  for dir in /workspace / /nix/store /tmp; do
    run probe_in open-by-handle "$dir" "$type" "$hex"
    assert_denied open_by_handle_at EPERM
    refute_contains "$output" SECRET
  done
  run probe_in name-to-handle /workspace/plain.txt
  assert_denied name_to_handle_at EPERM
}

@test "inherited files: no host fd but 0, 1, 2 reaches the cage (secret, project folder, host file)" {
  make_secrets
  local hostfile=$BATS_TEST_TMPDIR/host-file
  echo host > "$hostfile"
  mount_probe
  # the control: the probe sees an inherited fd when it is run directly
  run "$HOST_PROBE" fds 5<"$PROJECT/.env"
  assert_contains "$output" "fd 5 -> $PROJECT/.env" "control: probe fds on the host"
  run cage exec "$PROJECT" -- probe fds 4<"$PROJECT/.env" 5<"$PROJECT" 6</ 7>>"$hostfile" 9<"$PROJECT/sub/.ssh/id_rsa"
  assert_success
  assert_equal "$(awk '{ print $2 }' <<<"$output" | tr '\n' ' ')" "0 1 2 " "open fds in the cage"
  run cage exec "$PROJECT" -- sh -c 'cat /proc/self/fd/4 /dev/fd/9; ls /proc/self/fd/5/; echo pwned >> /proc/self/fd/7' \
    4<"$PROJECT/.env" 5<"$PROJECT" 7>>"$hostfile" 9<"$PROJECT/sub/.ssh/id_rsa"
  assert_failure
  refute_contains "$output" SECRET
  assert_equal "$(cat "$hostfile")" host "host file"
}

# ---- writing outside /workspace ---------------------------------------------

@test "write: /, /etc, /home and /nix refuse new files; host /etc and the project unchanged" {
  make_secrets
  local before etc_before
  before=$(tree_fingerprint "$PROJECT")
  etc_before=$(sha256sum /etc/passwd /etc/group /etc/hosts)
  mount_probe
  local cmd fails=()
  for cmd in "touch /evil" "mkdir /evil" "ln -s /workspace /evil" "echo pwned >> /etc/passwd" \
    "echo pwned > /etc/hosts" "rm /etc/group" "touch /etc/evil" "mv /etc/passwd /etc/pw" \
    "touch /home/evil" "mkdir /home/evil" "touch /nix/evil" "mv /workspace /w2" "rmdir /tmp" \
    "chmod 777 /etc"; do
    run --separate-stderr cage_sh "$cmd"
    [ "$status" -ne 0 ] || fails+=("'$cmd' succeeded")
    [[ $stderr == *"Permission denied"* || $stderr == *"Read-only file system"* || $stderr == *"Operation not permitted"* || $stderr == *"Device or resource busy"* ]] \
      || fails+=("'$cmd': unexpected error: $stderr")
  done
  run cage exec "$PROJECT" -- ls -a / /etc /home
  refute_contains "$output" evil
  refute_contains "$output" " pw"
  assert_equal "$(sha256sum /etc/passwd /etc/group /etc/hosts)" "$etc_before" "host /etc"
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  [ -z "$(find -P "$(dirname "$MNT")" "$MNT" -xdev -name 'evil*' 2>/dev/null)" ] || fail "an evil file on the host"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "write: /bin and /usr/bin refuse new, changed and removed programs" {
  mount_probe
  local cmd fails=()
  for cmd in "touch /bin/evil" "rm /bin/cat" "echo pwned > /bin/sh" "mv /bin/ls /bin/ls2" \
    "ln -s /workspace/x /bin/evil" "touch /usr/bin/evil" "rm /usr/bin/env" "chmod 777 /bin/probe"; do
    run --separate-stderr cage_sh "$cmd"
    [ "$status" -ne 0 ] || fails+=("'$cmd' succeeded")
    # (/bin/sh is the running busybox: the kernel refuses opening it for
    # writing, ETXTBSY, before the store's daemon could)
    [[ $stderr == *"Read-only file system"* || $stderr == *"Permission denied"* \
      || $stderr == *"Text file busy"* ]] \
      || fails+=("'$cmd': unexpected error: $stderr")
  done
  run cage exec "$PROJECT" -- ls /bin /usr/bin
  refute_contains "$output" evil
  assert_contains "$output" cat "ls /bin"
  [ "$(stat -c %a "$HOST_PROBE")" = 555 ] || fail "the store probe changed mode"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "write: the store (readonly mode) refuses every change; the host store paths are unchanged" {
  mount_probe
  assert_equal "$(jq -r .mode <<<"$MOUNT_JSON")" readonly "mode"
  local before
  before=$(tree_fingerprint "$FIX_DATA"; tree_fingerprint "$FIX_TOOLS")
  local cmd fails=()
  for cmd in "touch /nix/store/evil" "mkdir /nix/store/evil" "echo pwned >> $FIX_DATA/hello.txt" \
    "truncate -s 0 $FIX_DATA/hello.txt" "chmod 777 $FIX_DATA/hello.txt" "rm $FIX_DATA/README" \
    "mv $FIX_DATA/hello.txt $FIX_DATA/moved" "ln -s x $FIX_DATA/evil" "ln $FIX_DATA/hello.txt /nix/store/evil" \
    "rm -rf $FIX_TOOLS/bin" "touch $FIX_DATA/sub/evil" "mv $FIX_DATA /nix/store/renamed" \
    "echo pwned > $FIX_DATA/hello.txt"; do
    run --separate-stderr cage_sh "$cmd"
    [ "$status" -ne 0 ] || fails+=("'$cmd' succeeded")
    [[ $stderr == *"Read-only file system"* || $stderr == *"Permission denied"* ]] \
      || fails+=("'$cmd': unexpected error: $stderr")
  done
  # Opens do not reach the store's daemon (no_open): an open for writing
  # may succeed, what would change the file may not.
  run probe_in open "$FIX_DATA/hello.txt" rw
  [[ $output == "allowed "* || $output == *"denied EROFS"* ]] || fail "open rw: $output"
  run probe_in mmap-write "$FIX_DATA/hello.txt"
  assert_denied msync EROFS
  run probe_in fallocate "$FIX_DATA/hello.txt"
  assert_denied fallocate EROFS
  run probe_in copy-range "$FIX_DATA/README" "$FIX_DATA/hello.txt"
  assert_denied copy_file_range EROFS
  run probe_in setxattr "$FIX_DATA/hello.txt"
  assert_denied setxattr EROFS
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_equal "$output" "hello from the fixture store path" "hello.txt in the cage"
  assert_equal "$(tree_fingerprint "$FIX_DATA"; tree_fingerprint "$FIX_TOOLS")" "$before" "host store paths"
  [ ! -e /nix/store/evil ] || fail "/nix/store/evil exists on the host"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "write: the store cannot be made writable (remount, mount_setattr, a bind over it)" {
  mount_probe
  run probe_in remount-rw /nix/store
  assert_denied "mount(MS_REMOUNT" EPERM
  run probe_in remount-rw /
  assert_denied "mount(MS_REMOUNT" EPERM
  run probe_in mount-setattr
  assert_denied mount_setattr EPERM
  run probe_in bind /tmp /nix/store
  assert_denied "mount(MS_BIND" EPERM
  run probe_in umount /nix/store
  assert_denied umount2 EPERM
  run cage_sh 'touch /nix/store/evil'
  assert_failure
  assert_contains "$output" "Read-only file system"
}

@test "write: /proc/sys is read-only (the current value written back), and its bind cannot be undone" {
  mount_probe
  run cage_sh 'v=$(cat /proc/sys/kernel/printk_ratelimit) && echo "read $v" && echo "$v" > /proc/sys/kernel/printk_ratelimit'
  assert_failure
  assert_contains "$output" "read " "the value was read first"
  [[ $output == *"Read-only file system"* || $output == *"Permission denied"* ]] || fail "unexpected: $output"
  local f
  for f in /proc/sys/kernel/hostname /proc/sys/vm/drop_caches /proc/sys/kernel/core_pattern \
    /proc/sys/user/max_user_namespaces; do
    run probe_in open "$f" w
    [[ $status -eq 1 && ( $output == *"denied EROFS"* || $output == *"denied EACCES"* ) ]] \
      || fail "open $f for writing: $output"
  done
  run probe_in umount /proc/sys
  assert_denied umount2 EPERM
  run probe_in remount-rw /proc/sys
  assert_denied "mount(MS_REMOUNT" EPERM
  run probe_in mount-fs proc /tmp
  assert_denied "mount(new fs)" EPERM
}

@test "write: /proc/sysrq-trigger cannot be written" {
  mount_probe
  run probe_in open /proc/sysrq-trigger w
  assert_status 1
  assert_contains "$output" denied
  run probe_in umount /proc/sysrq-trigger
  assert_denied umount2
  [ -e /proc/sysrq-trigger ] || skip "kernel: no /proc/sysrq-trigger on this host (the write and the umount were refused)"
  run probe_in open /proc/sysrq-trigger w
  [[ $output == *"denied EROFS"* || $output == *"denied EACCES"* ]] || fail "open for writing: $output"
  run cage_sh 'echo h > /proc/sysrq-trigger'
  assert_failure
}

@test "write: symlinks to host paths (host-made or made in the cage) write nothing on the host" {
  local outside=$BATS_TEST_TMPDIR/outside
  mkdir -p "$outside"
  chmod 0777 "$outside"
  ln -s "$outside" "$PROJECT/out"
  ln -s ../../../../../.. "$PROJECT/up"
  mount_probe
  run cage_sh 'echo pwned > /workspace/out/pwned; echo pwned > /workspace/up/pwned
    ln -s "$1" /workspace/l2 && mkdir -p "$1" && echo pwned > /workspace/l2/pwned && cat /workspace/l2/pwned
    ln -s "$2/.." /workspace/l3; echo pwned > /workspace/l3/pwned; true' "$outside" "$PROJECT"
  assert_equal "$(ls -A "$outside")" "" "host folder the links point to"
  [ ! -e "$(dirname "$PROJECT")/pwned" ] || fail "pwned written next to the project"
  [ ! -e /pwned ] || fail "/pwned written on the host"
}

# ---- mounts, roots, namespaces ---------------------------------------------------

@test "mount: tmpfs, proc, sysfs, a bind of / and umount of the cage's mounts are EPERM" {
  mount_probe
  run probe_in mount
  assert_denied "mount(tmpfs" EPERM
  local fs
  for fs in proc sysfs tmpfs devpts; do
    run probe_in mount-fs "$fs" /tmp
    assert_denied "mount(new fs)" EPERM
  done
  run probe_in bind / /tmp
  assert_denied "mount(MS_BIND" EPERM
  local m
  for m in /workspace /proc /dev /tmp /; do
    run probe_in umount "$m"
    assert_denied umount2 EPERM
  done
  run cage exec "$PROJECT" -- ls /sys
  assert_failure
}

@test "pivot_root and chroot are EPERM" {
  mount_probe
  run probe_in pivot-root
  assert_denied pivot_root EPERM
  run probe_in chroot
  assert_denied chroot EPERM
}

@test "the new mount API (fsopen, fsmount, fspick, open_tree, move_mount, mount_setattr) is EPERM" {
  mount_probe
  local a what
  for a in fsopen:fsopen fsmount:fsmount fspick:fspick open-tree:open_tree move-mount:move_mount \
    mount-setattr:mount_setattr; do
    what=${a#*:}
    run probe_in "${a%%:*}"
    assert_denied "$what" EPERM
  done
}

@test "no new user namespace: unshare -U, unshare -r, unshare(2), clone(2), clone3(2)" {
  mount_probe
  run --separate-stderr cage exec "$PROJECT" -- unshare -U true
  assert_failure
  assert_contains "$stderr" "Operation not permitted"
  run --separate-stderr cage exec "$PROJECT" -- unshare -r id -u
  assert_failure
  refute_contains "$output" 0
  run probe_in unshare-user
  assert_denied "unshare(CLONE_NEWUSER" EPERM
  run probe_in clone-newuser
  assert_denied "clone(CLONE_NEWUSER" EPERM
  run probe_in clone3-newuser
  assert_denied "clone3(CLONE_NEWUSER" ENOSYS
  run probe_in unshare-mount
  assert_denied "unshare(CLONE_NEWNS" EPERM
}

@test "setns into any namespace (own, pid 1's) is refused" {
  mount_probe
  local ns
  for ns in mnt user net pid uts ipc cgroup; do
    run probe_in setns-path "/proc/self/ns/$ns"
    assert_denied setns EPERM
    run probe_in setns-path "/proc/1/ns/$ns"
    assert_status 1
    assert_contains "$output" denied
  done
}

# ---- other processes -------------------------------------------------------------

@test "ptrace: the launcher (its host pid) and the cage's init are out of reach, with --allow-ptrace too" {
  mount_probe
  # $$ of this sh is the launcher's host pid: sh execs cage
  local opt
  for opt in "" --allow-ptrace; do
    # shellcheck disable=SC2016
    run timeout -k 5 60 sh -c 'exec "$0" exec "$1" $2 -- probe ptrace-pid $$' "$CAGEFS_BIN/cage" "$PROJECT" "$opt"
    assert_denied "ptrace(PTRACE_ATTACH"
    # shellcheck disable=SC2086
    run cage exec "$PROJECT" $opt -- probe ptrace-pid 1
    assert_denied "ptrace(PTRACE_ATTACH"
  done
  run probe_in open /proc/1/mem rw
  assert_denied "open(/proc/1/mem" EACCES
  run probe_in process-vm-read
  assert_denied process_vm_readv EPERM
}

@test "ptrace: a process on the host cannot be attached to, with --allow-ptrace too" {
  host_sleep
  mount_probe
  run probe_in ptrace-pid "$SLEEP_PID"
  assert_denied "ptrace(PTRACE_ATTACH" EPERM
  run cage exec "$PROJECT" --allow-ptrace -- probe ptrace-pid "$SLEEP_PID"
  assert_denied "ptrace(PTRACE_ATTACH"
  alive "$SLEEP_PID" || fail "the host sleep died"
  assert_equal "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$SLEEP_PID/status")" 0 "TracerPid of the host sleep"
}

@test "kill: a host process (by pid, and kill -1) survives" {
  host_sleep
  mount_probe
  run cage_sh 'kill -9 "$1"' "$SLEEP_PID"
  assert_failure
  assert_contains "$output" "No such process"
  run cage_sh 'sleep 100 & kill -9 -1; echo sent; wait'
  assert_contains "$output" sent
  run cage_sh 'kill -KILL -1 || echo none; kill -TERM -1 || true; kill -9 0 2>/dev/null; true'
  sleep 0.2
  alive "$SLEEP_PID" || fail "the host sleep was killed from the cage"
}

# The sleeper shares cage's process group (setsid makes one for both), and
# as root it runs as the agent's host uid (65534), so that the kernel's
# permission check would let the signals through: only the cage's own
# session stands between them.
@test "kill: kill 0 and kill -1 from the cage miss a host process in cage's process group" {
  mount_probe
  local as=() d=$BATS_TEST_TMPDIR
  [ "$(id -u)" = 0 ] && as=(setpriv --reuid 65534 --regid 65534 --clear-groups)
  cat > "$d/host.sh" <<'EOS'
"$@" sleep 1000 </dev/null >/dev/null 2>&1 &
echo $! > "$D/sleeper"
sed 's/.*) //' /proc/$$/stat | cut -d' ' -f3 > "$D/group"
exec "$CAGE" exec "$PROJECT" -- sh -c 'trap "" TERM HUP INT; kill -TERM 0; kill -HUP 0; kill -INT 0; kill -TERM -1; echo sent-$((2+3))'
EOS
  run env D="$d" CAGE="$CAGEFS_BIN/cage" PROJECT="$PROJECT" timeout -k 5 60 setsid sh "$d/host.sh" "${as[@]}"
  local sleeper
  sleeper=$(cat "$d/sleeper")
  BG_PIDS+=("$sleeper")
  assert_success
  assert_contains "$output" sent-5
  assert_equal "$(sed 's/.*) //' "/proc/$sleeper/stat" | cut -d' ' -f3)" "$(cat "$d/group")" \
    "the sleeper's process group"
  alive "$sleeper" || fail "the sleeper in cage's process group was killed from the cage"
}

@test "kill: the launcher (its host pid) cannot be signalled from the cage" {
  mount_probe
  # shellcheck disable=SC2016
  run timeout -k 5 60 sh -c 'exec "$0" exec "$1" -- sh -c "kill -9 $$; echo still-here"' "$CAGEFS_BIN/cage" "$PROJECT"
  assert_success
  assert_contains "$output" "No such process"
  assert_contains "$output" still-here
}

# cage exec passes the caller's terminal through as fd 0, but the cage is a
# session of its own: the terminal is nobody's controlling terminal there
# (/dev/tty is ENXIO), and the filter refuses TIOCSTI on fd 0 anyway.
@test "TIOCSTI on a real terminal (a pty from script) is EPERM; the cage has no controlling terminal" {
  command -v script >/dev/null || skip "script (util-linux) not installed"
  mount_probe
  local a
  for a in tiocsti tiocsti-high; do
    run timeout -k 5 60 script -qec "$(printf '%q ' "$CAGEFS_BIN/cage" exec "$PROJECT" -- probe "$a")" /dev/null
    refute_contains "$output" "not a tty"
    assert_contains "$output" "denied EPERM (ioctl("
  done
  run timeout -k 5 60 script -qec "$(printf '%q ' "$CAGEFS_BIN/cage" exec "$PROJECT" -- probe tiocsti-tty)" /dev/null
  assert_contains "$output" "denied ENXIO (open(/dev/tty)"
  run timeout -k 5 60 script -qec "$(printf '%q ' "$CAGEFS_BIN/cage" exec "$PROJECT" --seccomp=off -- probe tiocsti-tty)" /dev/null
  assert_contains "$output" "denied ENXIO (open(/dev/tty)"
}

# ---- kernel interfaces -----------------------------------------------------------

@test "rlimits: no hard limit can be raised (nofile from --nofile, memlock, nproc)" {
  mount_probe
  run cage exec "$PROJECT" --nofile 64 -- probe rlimit NOFILE
  assert_contains "$output" "RLIMIT_NOFILE hard 64"
  assert_denied setrlimit EPERM
  local r tried=0
  for r in MEMLOCK NPROC NOFILE MSGQUEUE SIGPENDING; do
    run probe_in rlimit "$r"
    [ "$status" -eq 3 ] && continue   # unlimited: nothing above it
    assert_denied setrlimit EPERM
    tried=$((tried + 1))
  done
  [ "$tried" -ge 2 ] || fail "fewer than 2 finite hard limits to try"
  run cage exec "$PROJECT" --nofile 64 -- sh -c 'ulimit -n 65; ulimit -n'
  assert_contains "$output" 64
}

@test "modules: init_module, finit_module and delete_module are EPERM" {
  mount_probe
  run probe_in init-module
  assert_denied init_module EPERM
  run probe_in finit-module
  assert_denied finit_module EPERM
  run probe_in delete-module
  assert_denied delete_module EPERM
}

@test "bpf: program load and map creation are EPERM" {
  mount_probe
  run probe_in bpf
  assert_denied "bpf(BPF_PROG_LOAD" EPERM
  run probe_in bpf-map
  assert_denied "bpf(BPF_MAP_CREATE" EPERM
}

@test "perf_event_open and userfaultfd are EPERM" {
  mount_probe
  run probe_in perf
  assert_denied perf_event_open EPERM
  run probe_in userfaultfd
  assert_denied userfaultfd EPERM
}

@test "keyctl: add_key, keyctl (the user keyring) and request_key are EPERM" {
  mount_probe
  run probe_in keyctl
  assert_denied add_key EPERM
  run probe_in keyctl-user
  assert_denied keyctl EPERM
  run probe_in request-key
  assert_denied request_key EPERM
}

# ---- the network (network off) -----------------------------------------------------

@test "network off: TCP to a listener on the host's 127.0.0.1 is refused and nothing arrives" {
  listen tcp
  run "$HOST_PROBE" tcp 127.0.0.1 "$LISTEN_PORT"
  assert_success
  assert_equal "$(received)" 1 "control: the listener got the host's connection"
  mount_probe
  run probe_in tcp 127.0.0.1 "$LISTEN_PORT"
  assert_denied connect ECONNREFUSED
  run cage_sh 'ip -o addr; true'
  assert_equal "$(received)" 1 "messages the listener got"
}

@test "network off: TCP to the host's other addresses is unreachable" {
  local addr
  addr=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
  [ -n "$addr" ] || addr=192.0.2.1
  mount_probe
  run probe_in tcp "$addr" 22
  assert_denied connect ENETUNREACH
  run probe_in udp "$addr" 53
  assert_denied sendto ENETUNREACH
}

@test "network off: UDP to a listener on the host's 127.0.0.1 never arrives" {
  listen udp
  run "$HOST_PROBE" udp 127.0.0.1 "$LISTEN_PORT"
  assert_success
  assert_equal "$(received)" 1 "control: the listener got the host's datagram"
  mount_probe
  run probe_in udp 127.0.0.1 "$LISTEN_PORT"
  # the datagram leaves (into the cage's own lo), but never reaches the host
  assert_contains "$output" "sendto"
  assert_equal "$(received)" 1 "datagrams the listener got"
}

@test "network off: a host abstract unix socket cannot be reached" {
  local name
  name=cagefs-escape-$(id -u)-$$-$BATS_TEST_NUMBER
  listen unix "$name"
  run "$HOST_PROBE" unix "$name"
  assert_success
  assert_equal "$(received)" 1 "control: the listener got the host's connection"
  mount_probe
  run probe_in unix "$name"
  assert_denied connect ECONNREFUSED
  assert_equal "$(received)" 1 "connections the listener got"
}

# ---- privileges --------------------------------------------------------------------

@test "setuid: a setuid-root copy made on the host in the workspace gives no uid 0 (nosuid)" {
  [ "$(id -u)" = 0 ] || skip "only root can make a setuid-root file on the host"
  cp "$HOST_PROBE" "$PROJECT/suid"
  chown 0:0 "$PROJECT/suid"
  chmod 6755 "$PROJECT/suid"
  mount_probe
  run cage exec "$PROJECT" -- stat -c %A /workspace/suid
  assert_equal "$output" -rwsr-sr-x "the set-id bits as the cage sees them"
  run cage exec "$PROJECT" -- /workspace/suid ids
  assert_success
  assert_equal "$output" "uid 1000 1000 1000 gid 1000 1000 1000" "ids of the setuid-root program"
  run cage_sh 'find / -path /proc -prune -o \( -perm -4000 -o -perm -2000 \) -print 2>/dev/null'
  assert_equal "$output" /workspace/suid "set-id files in the cage"
}

@test "mknod: device nodes cannot be made anywhere (workspace, /tmp, /dev, /dev/shm, home)" {
  mount_probe
  local d fails=()
  # (~ is the cage's home, /home/<user>)
  for d in /workspace /tmp /dev /dev/shm '~'; do
    run --separate-stderr cage_sh 'd=$1; [ "$d" != "~" ] || d=$HOME; mknod "$d/mem" c 1 1' "$d"
    [ "$status" -ne 0 ] || fails+=("mknod $d/mem c 1 1 succeeded")
    [[ $stderr == *"Operation not permitted"* || $stderr == *"Read-only file system"* || $stderr == *"Permission denied"* ]] \
      || fails+=("mknod $d/mem: unexpected error: $stderr")
    run --separate-stderr cage_sh 'd=$1; [ "$d" != "~" ] || d=$HOME; mknod "$d/sda" b 8 0' "$d"
    [ "$status" -ne 0 ] || fails+=("mknod $d/sda b 8 0 succeeded")
  done
  run cage_sh 'ls -la /workspace /tmp /dev /dev/shm "$HOME"'
  refute_contains "$output" " mem"
  refute_contains "$output" " sda"
  [ -z "$(find "$PROJECT" \( -type c -o -type b \) -print)" ] || fail "a device node on the host"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "/proc: the host's pid 1 and the launcher's environment cannot be read" {
  mount_probe
  local host_cmdline
  host_cmdline=$(tr '\0' ' ' </proc/1/cmdline)
  run env CAGEFS_ESCAPE_TOKEN=leaked-token-77 "$CAGEFS_BIN/cage" exec "$PROJECT" -- sh -c \
    'cat /proc/1/environ; echo "cmdline=$(tr "\0" " " < /proc/1/cmdline)"
     for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr "\0" "\n" < $f; done 2>/dev/null'
  assert_contains "$output" "HOME=/home/" "control: the cage's own environ files were read"
  refute_contains "$output" leaked-token-77
  local cage_cmdline
  cage_cmdline=$(sed -n 's/^cmdline=//p' <<<"$output")
  [ -n "$cage_cmdline" ] || fail "the cage's /proc/1/cmdline is empty: $output"
  [ "$cage_cmdline" != "$host_cmdline" ] || fail "the cage sees the host's pid 1: $cage_cmdline"
  if [ -r /proc/1/environ ] && [ -s /proc/1/environ ]; then
    local first
    first=$(tr '\0' '\n' </proc/1/environ | head -n1)
    refute_contains "$output" "$first" "the cage's view of /proc/*/environ"
  fi
  run probe_in open /proc/1/environ r
  assert_denied "open(/proc/1/environ" EACCES
}

@test "no host files: /etc/shadow, host /root, /var, /sys are absent; .. from /workspace stays inside" {
  mount_probe
  run cage_sh 'cat /etc/shadow /workspace/../../../etc/shadow; ls /root /var /sys /boot /lib; cd /workspace/../../.. && pwd && ls'
  refute_contains "$output" "root:x:"
  assert_contains "$output" workspace "ls of the top"
  run cage exec "$PROJECT" -- ls /
  assert_success
  assert_equal "$(echo $output)" "bin dev etc home nix proc tmp usr workspace" "the cage's /"
  # no nix-daemon socket or database in readonly mode: only the store
  run cage exec "$PROJECT" -- ls -a /nix
  assert_equal "$(echo $output)" ". .. store" "the cage's /nix"
}

# ---- what the host runs: git (issue classes 1 and 2) ------------------------
# The attacks leave a program for the host's git; the test then runs the
# host's own git in the project the way a user would (status, commit) and
# passes only when nothing the agent wrote ran: no PWNED file appears.

@test "host git: .git exchanged, a new sub/.git by rename, an agent repository's fsmonitor and hooks; host git runs none of it" {
  command -v git >/dev/null || skip "git not installed"
  put src/a.c "int a;"
  git -C "$PROJECT" init -q
  git -C "$PROJECT" -c user.name=u -c user.email=u@e add src/a.c
  git -C "$PROJECT" -c user.name=u -c user.email=u@e commit -qm init
  mount_probe
  # The evil repository: a config that runs `touch PWNED`, an executable
  # pre-commit hook; each step may be refused: the attack goes on.
  cage_sh '
    cd /workspace
    mkdir -p evil/hooks evil/objects evil/refs/heads sub new/.git/hooks new/.git/objects new/.git/refs/heads
    printf "ref: refs/heads/master\n" > evil/HEAD
    printf "ref: refs/heads/master\n" > new/.git/HEAD
    printf "[core]\n\trepositoryformatversion = 0\n\tfsmonitor = touch PWNED\n" | cat > evil/config
    printf "[core]\n\trepositoryformatversion = 0\n\tfsmonitor = touch PWNED\n" > new/.git/config.lock
    mv new/.git/config.lock new/.git/config
    printf "[core]\n\trepositoryformatversion = 0\n" > new/.git/config.lock && mv new/.git/config.lock new/.git/config
    printf "[core]\n\tpager = touch PWNED\n" | cat >> new/.git/config
    printf "#!/bin/sh\ntouch PWNED\n" > new/.git/hooks/pre-commit
    chmod +x new/.git/hooks/pre-commit
    printf "#!/bin/sh\ntouch PWNED\n" > evil/hooks/pre-commit.sample && chmod +x evil/hooks/pre-commit.sample
    mv evil/hooks/pre-commit.sample evil/hooks/pre-commit
    probe exchange /workspace/evil /workspace/.git
    mv evil sub/.git
    ln -s /workspace/evil new/.git/hooks/post-commit
    true' >/dev/null 2>&1 || true
  cagefs umount "$PROJECT"
  local d
  for d in "$PROJECT" "$PROJECT/sub" "$PROJECT/new" "$PROJECT/evil"; do
    [ -d "$d" ] || continue
    (cd "$d" && git status >/dev/null 2>&1; git -c user.name=u -c user.email=u@e commit -q --allow-empty -m x >/dev/null 2>&1; git log -1 >/dev/null 2>&1) || true
  done
  local found
  found=$(find "$PROJECT" -name PWNED)
  [ -z "$found" ] || fail "the host's git ran what the agent wrote: $found"
  # the project's own repository is intact
  git -C "$PROJECT" log --oneline | grep -q init || fail "the project's repository was damaged"
}
