#!/usr/bin/env bats
# /nix/store, /bin and the rest of the agent's tree (as seen in the cage).

load helpers

setup () { common_setup; require_namespaces; }

@test "readonly: ls /nix/store in the cage shows exactly the closure" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- ls -1a /nix/store
  assert_success
  local seen
  seen=$(printf '%s\n' "$output" | grep -vx -e . -e .. | LC_ALL=C sort)
  assert_equal "$seen" "$(closure_names)" "ls -a /nix/store"
}

@test "readonly: the closure's paths are reachable and run" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_success
  assert_equal "$output" "hello from the fixture store path" "data file"
  run --separate-stderr cage exec "$PROJECT" -- "$FIX_TOOLS/bin/echo" via-store-path
  assert_success
  assert_equal "$output" via-store-path "output"
  run --separate-stderr cage exec "$PROJECT" -- readlink "$FIX_TOOLS/share/cagefs-fixture-data"
  assert_success
  assert_equal "$output" "$FIX_DATA" "symlink in a store path"
}

@test "readonly: a store path outside the closure is ENOENT" {
  mount_tools
  local name
  name=$(basename "$FIX_OTHER")
  run --separate-stderr cage exec "$PROJECT" -- ls "$FIX_OTHER"
  assert_failure
  assert_contains "$stderr" "No such file or directory" "stderr of ls"
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_OTHER/other.txt"
  assert_failure
  assert_contains "$stderr" "No such file or directory" "stderr of cat"
  run --separate-stderr cage exec "$PROJECT" -- stat "$FIX_OTHER"
  assert_failure
  assert_contains "$stderr" "No such file or directory" "stderr of stat"
  # A well-formed name that is in no store at all.
  run --separate-stderr cage exec "$PROJECT" -- stat /nix/store/00000000000000000000000000000000-nothing
  assert_failure
  assert_contains "$stderr" "No such file or directory" "stderr of stat"
  # The host side of the mount agrees.
  [ ! -e "$MNT/nix/store/$name" ] || fail "$MNT/nix/store/$name exists"
  run stat "$MNT/nix/store/$name"
  assert_failure
  assert_contains "$output" "No such file or directory" "host stat"
}

@test "readonly: every write to the store fails with EROFS" {
  mount_tools
  local cmd fails=()
  for cmd in \
    "touch /nix/store/new-file" \
    "mkdir /nix/store/new-dir" \
    "ln -s /bin/sh /nix/store/new-link" \
    "mkfifo /nix/store/new-fifo" \
    "touch $FIX_DATA/new-file" \
    "mkdir $FIX_DATA/new-dir" \
    "echo more >> $FIX_DATA/hello.txt" \
    "echo over > $FIX_DATA/hello.txt" \
    "truncate -s 0 $FIX_DATA/hello.txt" \
    "rm -f $FIX_DATA/hello.txt" \
    "rm -rf $FIX_DATA/sub" \
    "mv $FIX_DATA/hello.txt $FIX_DATA/moved.txt" \
    "ln $FIX_DATA/hello.txt $FIX_DATA/hardlink" \
    "chmod 777 $FIX_DATA/hello.txt" \
    "touch -d 2001-01-01 $FIX_DATA/hello.txt" \
    "rmdir $FIX_DATA/sub"; do
    run --separate-stderr cage_sh "$cmd"
    if [ "$status" -eq 0 ] || [[ $stderr != *"Read-only file system"* ]]; then
      fails+=("'$cmd' -> status $status, stderr: $stderr")
    fi
  done
  [ "${#fails[@]}" -eq 0 ] || fail "writes that did not fail with EROFS:" "${fails[@]}"
  assert_equal "$(cat "$FIX_DATA/hello.txt")" "hello from the fixture store path" "store file"
}

@test "secrets inside a store path are hidden" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- ls -1a "$FIX_DATA" "$FIX_DATA/sub"
  assert_success
  local n
  for n in hello.txt README deeper.txt; do assert_contains "$output" "$n" "ls -a of the data path"; done
  for n in id_rsa server.pem .env tls.key; do refute_contains "$output" "$n" "ls -a of the data path"; done
  for n in id_rsa server.pem .env sub/tls.key; do
    run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/$n"
    assert_failure
    assert_contains "$stderr" "No such file or directory" "cat $n"
    refute_contains "$output" FAKE "output of cat $n"
  done
  # Host side of the mount too.
  run ls -a "$MNT$FIX_DATA"
  refute_contains "$output" id_rsa "host ls"
  [ ! -e "$MNT$FIX_DATA/server.pem" ] || fail "$MNT$FIX_DATA/server.pem is visible"
}

@test "shared: the whole store is reachable, read-only" {
  mount_tools --mode shared
  assert_equal "$(jq -r .mode <<<"$MOUNT_JSON")" shared "mode"
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_OTHER/other.txt"
  assert_success
  assert_equal "$output" "this store path is not in the closure" "other store path"
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /nix/store
  assert_success
  assert_contains "$output" "$(basename "$FIX_OTHER")" "ls /nix/store"
  assert_contains "$output" "$(basename "$FIX_EXTRA")" "ls /nix/store"
  local cmd fails=()
  for cmd in "touch /nix/store/new-file" "touch $FIX_OTHER/new" \
    "echo x >> $FIX_OTHER/other.txt" "rm -f $FIX_OTHER/other.txt" "mkdir /nix/store/d"; do
    run --separate-stderr cage_sh "$cmd"
    if [ "$status" -eq 0 ] || [[ $stderr != *"Read-only file system"* ]]; then
      fails+=("'$cmd' -> status $status, stderr: $stderr")
    fi
  done
  [ "${#fails[@]}" -eq 0 ] || fail "writes that did not fail with EROFS:" "${fails[@]}"
}

@test "shared: secrets inside store paths are hidden too" {
  mount_tools --mode shared
  run --separate-stderr cage exec "$PROJECT" -- ls -1a "$FIX_DATA"
  assert_success
  refute_contains "$output" id_rsa "ls -a"
  refute_contains "$output" server.pem "ls -a"
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/id_rsa"
  assert_failure
  assert_contains "$stderr" "No such file or directory" "cat id_rsa"
}

@test "/bin holds symlinks to the package's bin entries" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- readlink /bin/cat
  assert_success
  assert_equal "$output" "$FIX_TOOLS/bin/cat" "readlink /bin/cat"
  local n want
  want=$(ls -1A "$FIX_TOOLS/bin" | LC_ALL=C sort)
  run --separate-stderr cage exec "$PROJECT" -- ls -1A /bin
  assert_success
  assert_equal "$(printf '%s\n' "$output" | LC_ALL=C sort)" "$want" "ls /bin"
}

@test "/bin: the first package wins a name clash" {
  mount_tools --package "$FIX_EXTRA"
  run --separate-stderr cage_sh 'readlink /bin/cat && readlink /bin/extra-hello'
  assert_success
  assert_equal "$output" "$FIX_TOOLS/bin/cat"$'\n'"$FIX_EXTRA/bin/extra-hello" "readlink"
  run --separate-stderr cage exec "$PROJECT" -- extra-hello
  assert_success
  assert_equal "$output" extra-hello "extra-hello"
  # The closure now holds the second package as well.
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /nix/store
  assert_success
  assert_contains "$output" "$(basename "$FIX_EXTRA")" "ls /nix/store"
}

@test "/bin: with the packages the other way round, the other one wins" {
  mount_project --package "$FIX_EXTRA" --package "$FIX_TOOLS"
  run --separate-stderr cage exec "$PROJECT" -- readlink /bin/cat
  assert_success
  assert_equal "$output" "$FIX_EXTRA/bin/cat" "readlink /bin/cat"
  run --separate-stderr cage exec "$PROJECT" -- cat whatever
  assert_success
  assert_equal "$output" extra-cat "output of the extra cat"
}

@test "the cage's root holds exactly the agent's tree" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /
  assert_success
  assert_equal "$(echo $output)" "bin dev etc home nix proc tmp usr workspace" "ls /"
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /nix
  assert_success
  assert_equal "$output" store "ls /nix"
}

@test "/usr/bin/env works, so #!/usr/bin/env scripts run" {
  printf '#!/usr/bin/env sh\necho shebang-ok\n' > "$PROJECT/script.sh"
  chmod +x "$PROJECT/script.sh"
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- /usr/bin/env sh -c 'echo env-ok'
  assert_success
  assert_equal "$output" env-ok "output"
  run --separate-stderr cage exec "$PROJECT" -- ./script.sh
  assert_success
  assert_equal "$output" shebang-ok "output"
}

@test "/etc has passwd, group, hosts, nsswitch.conf and no shadow" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /etc
  assert_success
  local f
  for f in passwd group hosts nsswitch.conf; do
    printf '%s\n' "$output" | grep -qx "$f" || fail "/etc/$f missing:" "$output"
  done
  refute_contains "$output" shadow "ls /etc"
  run --separate-stderr cage exec "$PROJECT" -- cat /etc/shadow
  assert_failure
  run --separate-stderr cage exec "$PROJECT" -- cat /etc/passwd
  assert_success
  # An entry for uid 1000 whose home is /home/<its name>.
  printf '%s\n' "$output" | awk -F: '$3 == 1000 && $6 == "/home/" $1 { f = 1 } END { exit !f }' \
    || fail "no passwd entry for uid 1000 with home /home/<name>:" "$output"
  run --separate-stderr cage exec "$PROJECT" -- cat /etc/hosts
  assert_success
  assert_contains "$output" localhost "/etc/hosts"
}

@test "a bad --package store path is a one-line error and nothing is mounted" {
  local p fails=()
  for p in /tmp/not-a-store-path /nix/store/abc /nix/store/00000000000000000000000000000000-nope \
    "$FIX_TOOLS/bin" /nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-bad-hash; do
    run --separate-stderr cagefs mount "$PROJECT" --package "$p"
    if [ "$status" -ne 1 ]; then fails+=("$p: exit $status (want 1)"); fi
    if [ "$(printf '%s\n' "$stderr" | grep -c '')" -ne 1 ] || [[ $stderr != "cagefs: error:"* ]]; then
      fails+=("$p: stderr is not one 'cagefs: error:' line: $stderr")
    fi
    [[ $stderr == *"$p"* ]] || fails+=("$p: error does not name the path: $stderr")
    [ -z "$(project_mounts)" ] || fails+=("$p: a mount was left: $(project_mounts)")
    run --separate-stderr cagefs status "$PROJECT"
    [ "$status" -eq 1 ] || fails+=("$p: status exits $status after the failed mount")
  done
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "a bad store path in cage.json is a one-line error and nothing is mounted" {
  local bad=/nix/store/00000000000000000000000000000000-nope
  printf '{\n  "store": { "packages": [ "%s" ] }\n}\n' "$bad" > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT"
  assert_status 1
  assert_one_line_error "cagefs: error:"
  assert_contains "$stderr" "$bad" "error"
  assert_equal "$(project_mounts)" "" "mounts left"
}
