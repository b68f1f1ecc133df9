#!/usr/bin/env bats
# /workspace (the project, read-write), /home/<user>, /tmp, and escapes.

load helpers

setup () { common_setup; require_namespaces; }

@test "host files are visible in /workspace, which is the cwd" {
  put hello.txt "hello from the host"
  put sub/dir/deep.txt "deep"
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- pwd
  assert_success
  assert_equal "$output" /workspace "cwd"
  run --separate-stderr cage exec "$PROJECT" -- cat hello.txt sub/dir/deep.txt
  assert_success
  assert_equal "$output" "hello from the host"$'\n'"deep" "output"
  # A change on the host shows up in the running mount.
  put hello.txt "changed"
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/hello.txt
  assert_success
  assert_equal "$output" changed "output after a host edit"
}

@test "a workspace write shows up on the host, owned by the invoking user" {
  mount_tools
  run --separate-stderr cage_sh 'echo made-in-cage > /workspace/new.txt && mkdir -p /workspace/d/e && echo x > /workspace/d/e/f'
  assert_success
  [ -f "$PROJECT/new.txt" ] || fail "$PROJECT/new.txt missing on the host"
  assert_equal "$(cat "$PROJECT/new.txt")" made-in-cage "host content"
  assert_equal "$(stat -c %u:%g "$PROJECT/new.txt")" "$(id -u):$(id -g)" "host owner of new.txt"
  assert_equal "$(stat -c %u:%g "$PROJECT/d/e")" "$(id -u):$(id -g)" "host owner of d/e"
  assert_equal "$(stat -c %u:%g "$PROJECT/d/e/f")" "$(id -u):$(id -g)" "host owner of d/e/f"
  # Inside, the agent owns what it made.
  run --separate-stderr cage exec "$PROJECT" -- stat -c %u /workspace/new.txt
  assert_success
  assert_equal "$output" 1000 "owner inside the cage"
}

@test "rm, mv, append and chmod in the workspace reach the host" {
  put a.txt "a"
  put b.txt "b"
  put c.txt "c"
  mount_tools
  run --separate-stderr cage_sh 'rm /workspace/a.txt && mv /workspace/b.txt /workspace/b2.txt &&
    echo more >> /workspace/c.txt && chmod 0700 /workspace/c.txt'
  assert_success
  [ ! -e "$PROJECT/a.txt" ] || fail "a.txt not removed"
  [ ! -e "$PROJECT/b.txt" ] && [ -f "$PROJECT/b2.txt" ] || fail "b.txt not renamed"
  assert_equal "$(cat "$PROJECT/c.txt")" "c"$'\n'"more" "c.txt"
  assert_equal "$(stat -c %a "$PROJECT/c.txt")" 700 "mode of c.txt"
}

@test "hard links between visible names work (host-made before and after the mount, and in the cage)" {
  # what a local git clone makes: objects hard-linked between two repositories
  put repo/.git/objects/ab/cdef "object-1"
  put repo/.git/objects/12/3456 "object-2"
  mkdir -p "$PROJECT/clone/.git"
  cp -al "$PROJECT/repo/.git/objects" "$PROJECT/clone/.git/objects"
  put a.txt "shared"
  ln "$PROJECT/a.txt" "$PROJECT/b.txt"
  put .env "SECRET-env" # a hidden file with one link changes nothing
  mount_tools
  run --separate-stderr cage_sh 'cd /workspace && ls clone/.git/objects/ab && cat a.txt b.txt \
    clone/.git/objects/ab/cdef clone/.git/objects/12/3456 repo/.git/objects/ab/cdef &&
    stat -c "%h %i" a.txt b.txt'
  assert_success
  local lines
  mapfile -t lines <<<"$output"
  assert_equal "${lines[*]:0:6}" "cdef shared shared object-1 object-2 object-1" "ls and cat"
  assert_equal "${lines[6]}" "${lines[7]}" "inode and link count of a.txt and b.txt"
  [[ ${lines[6]} == "2 "* ]] || fail "a.txt should have 2 links in the cage: ${lines[6]}"
  # a write through one name shows through the other
  run --separate-stderr cage_sh 'echo more >> /workspace/a.txt && cat /workspace/b.txt'
  assert_success
  assert_equal "$output" "shared"$'\n'"more" "b.txt after appending to a.txt"
  # links made in the cage (git clone --local) are real hard links on the host
  run --separate-stderr cage_sh 'cd /workspace && mkdir -p clone2/ab && ln repo/.git/objects/ab/cdef clone2/ab/cdef &&
    ln clone2/ab/cdef clone2/ab/again && cat clone2/ab/cdef clone2/ab/again && stat -c %h clone2/ab/again'
  assert_success
  assert_equal "$output" "object-1"$'\n'"object-1"$'\n'"4" "links made in the cage"
  assert_equal "$(stat -c %i "$PROJECT/clone2/ab/again")" "$(stat -c %i "$PROJECT/repo/.git/objects/ab/cdef")" \
    "inode of the cage-made link on the host"
  # a link made on the host after the mount between visible names reads too
  ln "$PROJECT/a.txt" "$PROJECT/c.txt"
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/c.txt /workspace/a.txt
  assert_success
  assert_equal "$output" "shared"$'\n'"more"$'\n'"shared"$'\n'"more" "c.txt (a host link made after the mount)"
}

@test "a workspace symlink to /etc/shadow does not reach the host" {
  ln -s /etc/shadow "$PROJECT/shadow"
  ln -s /etc/passwd "$PROJECT/passwd"
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/shadow
  assert_failure
  assert_contains "$stderr" "No such file or directory" "cat /workspace/shadow"
  refute_contains "$output" "root:" "output"
  # /etc/passwd resolves to the cage's own passwd, not the host's.
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/passwd
  if [ "$status" -eq 0 ]; then
    refute_contains "$output" "$(head -n1 /etc/passwd)" "cat /workspace/passwd"
  fi
}

@test "a workspace symlink to ../.. does not leave the cage" {
  local parent grand
  parent=$(dirname "$PROJECT")
  grand=$(dirname "$parent")
  local s1=$parent/HOST-SENTINEL-$$-${BATS_TEST_NUMBER}
  echo sentinel > "$s1"
  ln -s ../.. "$PROJECT/up"
  ln -s .. "$PROJECT/up1"
  ln -s "$parent" "$PROJECT/abs"
  mount_tools
  run --separate-stderr cage_sh 'ls -a /workspace/up/ /workspace/up1/ /workspace/up/.. /workspace/.. /workspace/../.. /workspace/abs 2>&1'
  rm -f "$s1"
  refute_contains "$output" HOST-SENTINEL "what the cage saw"
  refute_contains "$output" "$(basename "$PROJECT")" "what the cage saw"
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /workspace/up/
  assert_success
  assert_equal "$(echo $output)" "bin dev etc home nix proc tmp usr workspace" "ls /workspace/up/"
}

@test "symlinks to a hidden secret do not reveal it" {
  put .env "SECRET-env"
  ln -s .env "$PROJECT/rel-link"
  ln -s "$PROJECT/.env" "$PROJECT/abs-link"
  mkdir "$PROJECT/sub"
  ln -s ../.env "$PROJECT/sub/up-link"
  mount_tools
  local l
  for l in rel-link abs-link sub/up-link; do
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$l"
    assert_failure
    refute_contains "$output" SECRET "cat /workspace/$l"
  done
}

@test "/home/<user> is HOME, writable and persistent across runs and mounts" {
  mount_tools
  run --separate-stderr cage_sh 'echo "$HOME"; id -un'
  assert_success
  local home user
  home=$(sed -n 1p <<<"$output")
  user=$(sed -n 2p <<<"$output")
  assert_equal "$home" "/home/$user" "HOME"
  run --separate-stderr cage_sh 'echo remembered > "$HOME/.note" && ls -ld "$HOME"'
  assert_success
  run --separate-stderr cage_sh 'cat "$HOME/.note"'
  assert_success
  assert_equal "$output" remembered "home file on the next run"
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  mount_tools
  run --separate-stderr cage_sh 'cat "$HOME/.note"'
  assert_success
  assert_equal "$output" remembered "home file after umount and mount"
  [ ! -e "$PROJECT/.note" ] || fail "the home leaked into the project"
}

# The host uid the agent's files get: root's cages map to the overflow uid.
agent_host_uid () { if [ "$(id -u)" = 0 ]; then echo 65534; else id -u; fi; }

@test "the home is the host folder <state>/home bound in the cage (nosuid, nodev), the agent's on the host" {
  mount_tools
  local sd uid
  sd=$(cagefs status "$PROJECT" --json | jq -r .state_dir)
  uid=$(agent_host_uid)
  run --separate-stderr cage_sh 'echo hi > ~/f && mkdir ~/d && ln -s /etc/passwd ~/l &&
    awk -v h="$HOME" '\''$5 == h { print $6; for (i = 7; i <= NF; i++) if ($i == "-") print $(i + 1) }'\'' /proc/self/mountinfo'
  assert_success
  assert_contains "$(sed -n 1p <<<"$output")" nosuid "the home's mount options"
  assert_contains "$(sed -n 1p <<<"$output")" nodev "the home's mount options"
  [[ $(sed -n 2p <<<"$output") != fuse* ]] || fail "the home is a FUSE mount:" "$output"
  assert_equal "$(cat "$sd/home/f")" hi "the file on the host"
  assert_equal "$(stat -c %u "$sd/home" "$sd/home/f" "$sd/home/d" "$sd/home/l" | sort -u)" "$uid" \
    "host owners of the home, a file, a folder, a link"
  # the dry-run plan shows the bind
  run --separate-stderr cage exec "$PROJECT" --dry-run --json -- true
  assert_success
  assert_equal "$(jq -c --arg h "$(jq -r .home <<<"$MOUNT_JSON")" \
    '[.mounts[] | select(.path == $h) | .op, .source, .flags]' <<<"$output")" \
    "[\"bind\",\"$sd/home\",[\"bind\",\"nosuid\",\"nodev\"]]" "the home in the plan"
}

@test "root: a home not yet the agent's is given to the overflow uid at mount, links changed but never followed" {
  [ "$(id -u)" = 0 ] || skip "only root's cages map the agent to another host uid"
  mount_tools
  local sd victim=$BATS_TEST_TMPDIR/victim
  sd=$(cagefs status "$PROJECT" --json | jq -r .state_dir)
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  # a home as root's mounts left it before: everything root's
  mkdir -p "$sd/home/olddir/sub" "$victim.d"
  echo old > "$sd/home/old.txt"
  echo secret > "$victim"
  ln -s "$victim" "$sd/home/link"
  ln -s "$victim.d" "$sd/home/olddir/dirlink"
  chown -hR 0:0 "$sd/home"
  printf '{"home": {"writable": ["~/.made/", "~/.cfg/x.json"]}}\n' > "$PROJECT/cage.json"
  mount_tools
  assert_equal "$(find "$sd/home" ! -uid 65534 -printf '%p %u\n')" "" "entries not the agent's"
  assert_equal "$(find "$sd/home" ! -gid 65534 -printf '%p %g\n')" "" "entries not the agent's group"
  assert_equal "$(stat -c '%u:%g' "$victim" "$victim.d" | sort -u)" "0:0" "the links' targets"
  run --separate-stderr cage_sh 'echo more >> ~/old.txt && touch ~/olddir/sub/new ~/.made/new &&
    cat ~/.cfg/x.json'
  assert_success
  assert_equal "$output" "{}" "the preset file"
  assert_equal "$(cat "$victim")" secret "the link's target"
}

@test "home.writable through a link planted in the home is refused, nothing made at its target" {
  mount_tools
  local sd out=$BATS_TEST_TMPDIR/outside
  sd=$(cagefs status "$PROJECT" --json | jq -r .state_dir)
  mkdir "$out"
  run --separate-stderr cage_sh 'ln -s "$1" ~/.cfg' "$out"
  assert_success
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  printf '{"home": {"writable": ["~/.cfg/sub/", "~/.cfg/x.json"]}}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: home.writable: open \`$sd/home/.cfg\` (a folder is needed there)"
  assert_equal "$(ls -A "$out")" "" "the link's target"
}

@test "/tmp starts empty and is writable" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- ls -A /tmp
  assert_success
  assert_equal "$output" "" "ls -A /tmp"
  run --separate-stderr cage_sh 'echo t > /tmp/t && cat /tmp/t'
  assert_success
  assert_equal "$output" t "file in /tmp"
}

@test "the environment: PATH=/bin, HOME=/home/<user>" {
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- env
  assert_success
  printf '%s\n' "$output" | grep -qx 'PATH=/bin' || fail "PATH is not /bin:" "$output"
  printf '%s\n' "$output" | grep -qE '^HOME=/home/[^/]+$' || fail "HOME is not /home/<user>:" "$output"
}

@test "host edits while mounted: a running agent sees new content, size, new and removed files" {
  put seen.txt "old"
  put gone.txt "will go"
  mount_tools
  # The agent caches everything, says it is ready, then polls every 0.1 s
  # and counts polls until it sees all three changes.
  cage_sh 'cat seen.txt gone.txt >/dev/null; ls >/dev/null; touch ready; n=0
    while [ $n -lt 50 ]; do
      c=$(cat seen.txt); s=$(stat -c %s seen.txt)
      if [ "$c" = "new and longer" ] && [ "$s" = 15 ] && [ -e fresh.txt ] && [ ! -e gone.txt ]; then
        echo "$n"; exit 0; fi
      sleep 0.1; n=$((n+1)); done; echo "never: $c $s"; exit 1' >"$BATS_TEST_TMPDIR/polls" 2>&1 &
  local bg=$! i
  for ((i = 0; i < 100; i++)); do [ -e "$PROJECT/ready" ] && break; sleep 0.02; done
  printf 'new and longer\n' >"$PROJECT/seen.txt"
  put fresh.txt "fresh"
  rm "$PROJECT/gone.txt"
  # (no assertion on how soon: without the host watch the workspace's
  # 60 s caching would hide these for the whole loop)
  wait "$bg" || fail "the agent never saw the host's edits: $(cat "$BATS_TEST_TMPDIR/polls")"
}

# A host edit of a folder re-checks its name in the kernel's cache; it must
# not unhash the folder an agent's shell stands in (getcwd would then fail
# with ENOENT in every later command: git's "unable to get current working
# directory").  The agent's own mkdir makes the same inotify event.
@test "host edits of the folder the agent is in leave its working directory whole" {
  put d/f.txt "in d"
  mount_tools
  cage_sh 'mkdir made && cd made && cd ../d && touch /workspace/ready
    until [ -e /workspace/go ]; do sleep 0.05; done
    cat f.txt; pwd -P; cd ../made && pwd -P' >"$BATS_TEST_TMPDIR/out" 2>&1 &
  local bg=$! i
  for ((i = 0; i < 250; i++)); do [ -e "$PROJECT/ready" ] && break; sleep 0.02; done
  [ -e "$PROJECT/ready" ] || fail "the agent never got ready: $(cat "$BATS_TEST_TMPDIR/out")"
  touch "$PROJECT/d" "$PROJECT/made"
  chmod 700 "$PROJECT/d"
  put go "go"
  wait "$bg" || fail "the agent failed: $(cat "$BATS_TEST_TMPDIR/out")"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "in d
/workspace/d
/workspace/made"
}

# The workspace is cached long (60 s) where inotify reports host edits
# (fs/daemon/host_watch.c): each kind of edit that long caching could hide, seen by
# an agent that has cached everything first.
@test "host edits while mounted: same-size edits, deep listings, renamed folders, modes and missing names are seen" {
  put deep/er/same.txt "aaaa"
  put deep/er/listed.txt "x"
  put moved/inner.txt "inner"
  put mode.txt "m"
  mount_tools
  cage_sh 'cat deep/er/same.txt moved/inner.txt >/dev/null; ls -R . >/dev/null
    stat -c %a mode.txt >/dev/null; cat late.txt 2>/dev/null; ls deep/er/late 2>/dev/null
    touch ready; n=0
    while [ $n -lt 50 ]; do
      same=$(cat deep/er/same.txt); listing=$(ls deep/er | tr "\n" " ")
      inner=$(cat renamed/inner.txt 2>/dev/null); old=$(ls moved 2>/dev/null)
      m=$(stat -c %a mode.txt); late=$(cat late.txt 2>/dev/null)
      if [ "$same" = bbbb ] && [ "$listing" = "late listed.txt same.txt " ] \
         && [ "$inner" = inner ] && [ -z "$old" ] && [ "$m" = 600 ] && [ "$late" = late ]; then
        echo "$n"; exit 0; fi
      sleep 0.1; n=$((n+1)); done
    echo "never: same=$same listing=$listing inner=$inner old=$old mode=$m late=$late"; exit 1' \
    >"$BATS_TEST_TMPDIR/polls" 2>&1 &
  local bg=$! i
  for ((i = 0; i < 100; i++)); do [ -e "$PROJECT/ready" ] && break; sleep 0.02; done
  [ -e "$PROJECT/ready" ] || fail "the agent never got ready: $(cat "$BATS_TEST_TMPDIR/polls")"
  # same size, new content: only the mtime says it changed
  printf 'bbbb\n' >"$PROJECT/deep/er/same.txt"
  mkdir "$PROJECT/deep/er/late"
  mv "$PROJECT/moved" "$PROJECT/renamed"
  chmod 600 "$PROJECT/mode.txt"
  put late.txt "late"
  wait "$bg" || fail "the agent never saw the host's edits: $(cat "$BATS_TEST_TMPDIR/polls")"
}
