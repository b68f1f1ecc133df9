#!/usr/bin/env bats
# cagefs doctor: what this machine gives the invoking user's cages.  It
# runs on this machine as it is (it must pass: the other suites need the
# same), then with failures made in private namespaces, never touching the
# host: /dev/fuse covered or gone, no user namespaces, AppArmor's userns
# restriction.  The decisions themselves: tests/unit/test_doctor.c.

load helpers

# The source tree (tests/run passes CAGEFS_SRC; from a checkout it is ../..).
SRC=${CAGEFS_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}

require_src () {
  if ! [ -r "$SRC/Makefile" ] || ! [ -d "$SRC/man" ]; then
    skip "the source tree ($SRC) is not readable here"
  fi
}

CHECKS="userns-settings userns fuse-device fusermount3 nix-store nix-daemon cgroup-limits inotify io-uring libfuse seccomp"

# assert_check_lines: every line of $output is "ok|warn|fail NAME DETAIL".
assert_check_lines () {
  local l
  while IFS= read -r l; do
    [[ $l =~ ^(ok|warn|fail)\ +[a-z0-9-]+\ +[^\ ].*$ ]] || fail "not a check line: '$l'" "$output"
  done <<<"$output"
}

# line NAME: the line of check NAME in $output.
line () { printf '%s\n' "$output" | grep -E "^[a-z]+ +$1 " ; }

@test "doctor: exit 0 on this machine, one line per check, none fails" {
  run --separate-stderr cagefs doctor
  assert_success
  assert_equal "$stderr" "" "stderr"
  assert_check_lines
  local c
  for c in $CHECKS; do
    [ "$(printf '%s\n' "$output" | grep -cE "^[a-z]+ +$c ")" -eq 1 ] || fail "no one line for $c:" "$output"
  done
  assert_equal "$(printf '%s\n' "$output" | grep -c '')" "$(wc -w <<<"$CHECKS")" "number of lines"
  refute_contains "$output" $'\nfail ' "output"
  # the real probes ran
  assert_contains "$(line userns)" "ok    userns           made user, mount, pid, ipc, uts and net namespaces" "userns"
  assert_contains "$(line seccomp)" "ok" "seccomp"
  assert_contains "$(line libfuse)" "libfuse 3." "libfuse"
  if [ "$(id -u)" != 0 ]; then
    assert_contains "$(line fusermount3)" "is setuid root" "fusermount3 for a user"
    assert_contains "$(line nix-daemon)" "a nix-daemon answers" "nix-daemon for a user"
  fi
}

@test "doctor --json: one object per check with status, check and detail; the same as the text" {
  run --separate-stderr cagefs doctor --json
  assert_success
  local j=$output
  jq -e '.ok == true and (.checks | type) == "array"' <<<"$j" >/dev/null || fail "bad JSON: $j"
  jq -e '.checks | all(has("status") and has("check") and has("detail")
                       and (.status | IN("ok", "warn", "fail")))' <<<"$j" >/dev/null \
    || fail "a check without status, check or detail: $j"
  assert_equal "$(jq -r '.checks[].check' <<<"$j" | tr '\n' ' ')" "$CHECKS " "checks"
  run cagefs doctor
  assert_equal "$(printf '%s\n' "$output" | awk '{print $1, $2}')" \
    "$(jq -r '.checks[] | "\(.status) \(.check)"' <<<"$j")" "text and JSON"
}

@test "doctor PROJECT: its folders against the watch cap, and its network (host: said, no warning)" {
  mkdir -p "$PROJECT/a/b" "$PROJECT/c"
  printf '{"network": "host"}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs doctor "$PROJECT"
  assert_success
  assert_check_lines
  assert_contains "$(line project-watches)" "ok    project-watches  " "project-watches"
  assert_contains "$(line network)" "ok    network          host: the cage shares the host's network" "network"
  # more folders than the cap: a warning with the fix, still exit 0
  CAGEFS_MAX_WATCHES=2 run --separate-stderr cagefs doctor "$PROJECT"
  assert_success
  assert_contains "$(line project-watches)" "warn  project-watches  " "project-watches"
  assert_contains "$(line project-watches)" "; fix: sysctl -w fs.inotify.max_user_watches=524288" "fix"
  printf '{"network": "off"}\n' > "$PROJECT/cage.json"
  run cagefs doctor "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r '.checks[] | select(.check == "network") | .status' <<<"$output")" ok "network off"
}

@test "doctor PROJECT with a broken cage.json: the config check fails with the loader's message" {
  printf '{"network": "sideways"}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs doctor "$PROJECT"
  assert_status 1
  assert_contains "$(line config)" "fail  config           $PROJECT/cage.json" "config"
}

@test "doctor: usage errors are one line, exit 2" {
  run --separate-stderr cagefs doctor a b
  assert_status 2
  assert_one_line_error "cagefs: error: doctor: expected at most one PROJECT directory"
  run --separate-stderr cagefs doctor --bogus
  assert_status 2
  assert_one_line_error "cagefs: error: doctor: unknown option"
}

# in_private_ns SCRIPT: SCRIPT in new mount (and, not as root, user)
# namespaces, with $DOCTOR the doctor's path.
in_private_ns () {
  if [ "$(id -u)" = 0 ]; then
    DOCTOR=$CAGEFS_BIN/cagefs unshare --mount sh -c "$1"
  else
    require_namespaces
    DOCTOR=$CAGEFS_BIN/cagefs unshare --user --map-root-user --mount sh -c "$1"
  fi
}

@test "doctor: /dev/fuse covered by /dev/null or by a plain file: fuse-device fails with the fix, exit 1" {
  run --separate-stderr in_private_ns 'mount --bind /dev/null /dev/fuse && exec "$DOCTOR" doctor'
  assert_status 1
  assert_equal "$(line fuse-device)" \
    "fail  fuse-device      \`/dev/fuse\` is the character device 1:3, not FUSE's 10:229; fix: rm /dev/fuse && mknod -m 0666 /dev/fuse c 10 229"
  : > "$BATS_TEST_TMPDIR/plain"
  run --separate-stderr in_private_ns "mount --bind '$BATS_TEST_TMPDIR/plain' /dev/fuse && exec \"\$DOCTOR\" doctor"
  assert_status 1
  assert_contains "$(line fuse-device)" "fail  fuse-device      \`/dev/fuse\` is not a character device; fix: " "plain file"
}

@test "doctor: no /dev/fuse at all (an empty /dev): fuse-device fails with modprobe, exit 1" {
  run --separate-stderr in_private_ns 'mount -t tmpfs tmpfs /dev && exec "$DOCTOR" doctor'
  assert_status 1
  assert_contains "$(line fuse-device)" "fail  fuse-device      \`/dev/fuse\`: No such file or directory; fix: modprobe fuse" "fuse-device"
}

@test "doctor: no user namespaces (max_user_namespaces 0 in a private one): both userns checks fail with the sysctl" {
  require_namespaces
  run --separate-stderr unshare --user --map-root-user sh -c \
    'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" doctor' "$CAGEFS_BIN/cagefs"
  assert_status 1
  assert_equal "$(line userns-settings)" \
    "fail  userns-settings  user.max_user_namespaces is 0: no user namespaces at all; fix: sysctl -w user.max_user_namespaces=15000"
  assert_contains "$(line userns)" "fail  userns           unshare(CLONE_NEWUSER" "probe"
  assert_contains "$(line userns)" "No space left on device; fix: sysctl -w user.max_user_namespaces=15000" "probe"
}

@test "doctor: AppArmor's userns restriction for an ordinary user (the sysctl made in a private mount namespace)" {
  [ "$(id -u)" = 0 ] || skip "needs root: a tmpfs over /proc/sys/kernel, then doctor as an ordinary user"
  id cagetest >/dev/null 2>&1 || skip "no user cagetest to run doctor as"
  [ ! -e /sys/kernel/security/apparmor/profiles ] \
    || skip "this kernel has AppArmor: its real profiles would decide"
  # Only the setting is simulated (the kernel here does not restrict):
  # the settings check fails with the fix, the real probe still succeeds.
  run --separate-stderr unshare --mount sh -c \
    'mount -t tmpfs tmpfs /proc/sys/kernel &&
     echo 1 > /proc/sys/kernel/apparmor_restrict_unprivileged_userns &&
     exec runuser -u cagetest -- "$0" doctor' "$CAGEFS_BIN/cagefs"
  assert_status 1
  assert_equal "$(line userns-settings)" \
    "fail  userns-settings  kernel.apparmor_restrict_unprivileged_userns is 1 and the loaded AppArmor profiles cannot be read; fix: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or load cage's AppArmor profile: make install (or apparmor_parser -r /etc/apparmor.d/cage)"
  # as root it does not apply
  run --separate-stderr unshare --mount sh -c \
    'mount -t tmpfs tmpfs /proc/sys/kernel &&
     echo 1 > /proc/sys/kernel/apparmor_restrict_unprivileged_userns && exec "$0" doctor' \
    "$CAGEFS_BIN/cagefs"
  assert_contains "$(line userns-settings)" "ok    userns-settings  " "as root"
}

# ---------------------------------------------------------------------------
# cage's AppArmor profile

@test "AppArmor profile: make install APPARMOR=yes puts it in place naming PREFIX/bin/cage; apparmor_parser accepts it" {
  require_src
  local d=$BATS_TEST_TMPDIR/dest p
  run --separate-stderr make -s -C "$SRC" install DESTDIR="$d" PREFIX=/opt/cg APPARMOR=yes
  assert_success
  p=$d/etc/apparmor.d/cage
  [ -f "$p" ] || fail "no $p:" "$(cd "$d" && find . -type f)"
  grep -qx 'profile cage /opt/cg/bin/cage flags=(unconfined) {' "$p" || fail "profile line:" "$(cat "$p")"
  grep -qx '  userns,' "$p" || fail "no userns rule:" "$(cat "$p")"
  command -v apparmor_parser >/dev/null || skip "no apparmor_parser (apt-get install apparmor)"
  # -Q: parse and compile, load nothing; -K: no cache
  if printf 'abi <abi/4.0>,\n' | apparmor_parser -Q -K >/dev/null 2>&1 \
     || [ -e /etc/apparmor.d/abi/4.0 ]; then
    run --separate-stderr apparmor_parser -Q -K "$p"
    assert_success
  else
    # AppArmor 3 (Debian 12) knows neither abi 4.0 nor the userns rule:
    # the rest of the profile must parse; the full check needs AppArmor 4.
    sed -e 's|abi/4.0|abi/3.0|' -e '/^  userns,$/d' "$p" > "$BATS_TEST_TMPDIR/cage.aa3"
    run --separate-stderr apparmor_parser -Q -K "$BATS_TEST_TMPDIR/cage.aa3"
    assert_success
    skip "apparmor_parser $(apparmor_parser --version | sed -n '1s/.* //p') predates AppArmor 4: the profile without its userns rule parses"
  fi
}
