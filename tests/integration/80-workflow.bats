#!/usr/bin/env bats
# The project workflow: cagefs list, cagefs destroy, cage.json's hooks, the
# man pages and bash completion `make install` puts in place, and the Nix
# packaging (parsed only: no nixpkgs offline).

load helpers

# The source tree (tests/run passes CAGEFS_SRC; from a checkout it is ../..).
SRC=${CAGEFS_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}

require_src () {
  if ! [ -r "$SRC/Makefile" ] || ! [ -d "$SRC/man" ]; then
    skip "the source tree ($SRC) is not readable here"
  fi
}

# The project's state folder (from status --json, which works mounted or not).
state_dir () { cagefs status "$1" --json | jq -r .state_dir; }

# list_entry DIR: DIR's object in `cagefs list --json` (empty when absent).
list_entry () {
  cagefs list --json | jq -c --arg p "$1" '.projects[] | select(.project == $p)'
}

# ---------------------------------------------------------------------------
# cagefs list

@test "list: a mounted project is listed as mounted, with mode, pid and mount point" {
  mount_tools
  run --separate-stderr cagefs list --json
  assert_success
  jq -e '.projects | type == "array"' <<<"$output" >/dev/null || fail "no projects array:" "$output"
  local e
  e=$(list_entry "$PROJECT")
  [ -n "$e" ] || fail "$PROJECT is not in the list:" "$output"
  assert_equal "$(jq -r .state <<<"$e")" mounted "state"
  assert_equal "$(jq -r .mounted <<<"$e")" true "mounted"
  assert_equal "$(jq -r .stale <<<"$e")" false "stale"
  assert_equal "$(jq -r .mode <<<"$e")" readonly "mode"
  assert_equal "$(jq -r .pid <<<"$e")" "$PID" "pid"
  assert_equal "$(jq -r .mountpoint <<<"$e")" "$MNT" "mountpoint"
  assert_equal "$(jq -r .state_dir <<<"$e")" "$(dirname "$MNT")" "state_dir"
  # The text form: one line for the project with the same facts.
  run --separate-stderr cagefs list
  assert_success
  local line
  line=$(grep -F " $PROJECT " <<<"$output") || fail "no line for $PROJECT:" "$output"
  read -r -a f <<<"$line"
  assert_equal "${f[0]} ${f[1]} ${f[2]} ${f[3]} ${f[4]}" "mounted readonly $PID $PROJECT $MNT" "list line"
}

@test "list: after umount the project is still listed, not mounted, with its last mode" {
  mount_tools --mode shared
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  local e
  e=$(list_entry "$PROJECT")
  [ -n "$e" ] || fail "$PROJECT is no longer listed after umount"
  assert_equal "$(jq -r .state <<<"$e")" "not mounted" "state"
  assert_equal "$(jq -r .mounted <<<"$e")" false "mounted"
  assert_equal "$(jq -r .mode <<<"$e")" shared "mode (the last mount's)"
  assert_equal "$(jq -r .pid <<<"$e")" null "pid"
  run --separate-stderr cagefs list
  assert_success
  grep -qE "^not mounted +shared +- +$PROJECT " <<<"$output" || fail "no not-mounted line:" "$output"
}

@test "list: a project whose daemon was killed is stale" {
  mount_tools
  kill -9 "$PID"
  wait_gone "$PID" 10 || fail "daemon $PID survived kill -9"
  local e
  e=$(list_entry "$PROJECT")
  assert_equal "$(jq -r .state <<<"$e")" stale "state"
  assert_equal "$(jq -r .stale <<<"$e")" true "stale"
  assert_equal "$(jq -r .pid <<<"$e")" null "pid"
}

@test "list: with no state at all, an empty list; a PROJECT argument is a usage error" {
  local xdg=$BATS_TEST_TMPDIR/xdg
  mkdir -m 0700 "$xdg"
  XDG_RUNTIME_DIR=$xdg run --separate-stderr cagefs list --json
  assert_success
  assert_equal "$output" '{"projects":[]}' "list --json"
  XDG_RUNTIME_DIR=$xdg run --separate-stderr cagefs list
  assert_success
  assert_equal "$output" "no projects with state" "list"
  run --separate-stderr cagefs list "$PROJECT"
  assert_status 2
  assert_one_line_error "cagefs: error: list:"
}

# ---------------------------------------------------------------------------
# cagefs destroy

@test "destroy --yes unmounts a mounted project, stops its daemon and removes its state folder" {
  put keep.txt "the project stays"
  mount_tools
  local sd
  sd=$(dirname "$MNT")
  [ -f "$sd/state.json" ] || fail "no state.json in $sd"
  run --separate-stderr cagefs destroy "$PROJECT" --yes --json
  assert_success
  assert_equal "$(jq -r .removed <<<"$output")" true "removed"
  assert_equal "$(jq -r .was_mounted <<<"$output")" true "was_mounted"
  assert_equal "$(jq -r .state_dir <<<"$output")" "$sd" "state_dir"
  wait_gone "$PID" 5 || fail "daemon $PID still runs after destroy"
  assert_equal "$(project_mounts)" "" "mounts left for the project"
  [ ! -e "$sd" ] || fail "$sd still exists:" "$(ls -la "$sd")"
  assert_equal "$(list_entry "$PROJECT")" "" "list entry after destroy"
  assert_equal "$(cat "$PROJECT/keep.txt")" "the project stays" "project file"
  # Again: nothing left to remove, still exit 0.
  run --separate-stderr cagefs destroy "$PROJECT" --yes
  assert_success
  assert_equal "$output" "$PROJECT: no state to remove" "second destroy"
}

@test "destroy removes a copy-mode private store (read-only files and folders)" {
  mount_tools --mode copy
  local sd store
  sd=$(dirname "$MNT")
  store=$sd/private/nix/store
  [ -d "$store/$(basename "$FIX_TOOLS")" ] || fail "no private copy of $FIX_TOOLS in $store"
  # What makes this hard: folders without write permission, read-only files.
  [ -n "$(find "$store" -mindepth 1 -type d -perm 0555 -print -quit)" ] \
    || fail "no 0555 folder in the private store:" "$(find "$store" -maxdepth 2 -printf '%m %p\n')"
  [ -n "$(find "$store" -type f -perm 0444 -print -quit)" ] \
    || fail "no 0444 file in the private store"
  run --separate-stderr cagefs destroy "$PROJECT" --yes
  assert_success
  assert_equal "$output" "removed $sd" "destroy output"
  [ ! -e "$sd" ] || fail "$sd still exists:" "$(find "$sd" -maxdepth 3 -printf '%m %p\n')"
  assert_equal "$(project_mounts)" "" "mounts left for the project"
}

@test "destroy without --yes when stdin is not a terminal: one error line, nothing removed" {
  mount_tools
  local sd
  sd=$(dirname "$MNT")
  run --separate-stderr cagefs destroy "$PROJECT" </dev/null
  assert_status 1
  assert_one_line_error "cagefs: error: destroy: stdin is not a terminal"
  assert_contains "$stderr" "--yes"
  assert_equal "$output" "" "stdout"
  [ -d "$sd" ] || fail "$sd was removed"
  alive "$PID" || fail "the daemon was stopped"
  assert_no_stale_mounts
  run --separate-stderr cagefs destroy "$PROJECT" --json </dev/null
  assert_status 1
  assert_contains "$(jq -r .error <<<"$output")" "stdin is not a terminal"
}

@test "destroy on a terminal asks: anything but y keeps the state, y removes it" {
  command -v script >/dev/null || skip "no script(1) to give cagefs a terminal"
  mount_tools
  local sd cmd
  sd=$(dirname "$MNT")
  cmd="$(printf '%q' "$CAGEFS_BIN/cagefs") destroy $(printf '%q' "$PROJECT")"
  run timeout 30 script -qec "$cmd" /dev/null <<<"n"
  assert_status 1
  assert_contains "$output" "remove $sd"
  assert_contains "$output" "[y/N]"
  assert_contains "$output" "nothing removed"
  [ -d "$sd" ] || fail "$sd was removed after answering n"
  alive "$PID" || fail "the daemon was stopped after answering n"
  run timeout 30 script -qec "$cmd" /dev/null <<<""
  assert_status 1
  [ -d "$sd" ] || fail "$sd was removed after an empty answer"
  run timeout 30 script -qec "$cmd" /dev/null <<<"y"
  assert_success
  assert_contains "$output" "removed $sd"
  [ ! -e "$sd" ] || fail "$sd still exists after answering y"
  wait_gone "$PID" 5 || fail "daemon $PID still runs"
}

@test "destroy of a project whose folder is gone removes its state by the path it had" {
  local p sd
  p=$(new_project)
  EXTRA_PROJECTS+=("$p")
  PROJECT=$p mount_tools
  sd=$(dirname "$MNT")
  cagefs umount "$p" >/dev/null
  rmdir "$p"
  local e
  e=$(list_entry "$p")
  assert_equal "$(jq -r .project_exists <<<"$e")" false "project_exists"
  run --separate-stderr cagefs destroy "$p/" --yes
  assert_success
  [ ! -e "$sd" ] || fail "$sd still exists"
  # A path that never had state is still an error naming it.
  run --separate-stderr cagefs destroy "$p-never" --yes
  assert_status 1
  assert_one_line_error "cagefs: error: project \`$p-never\`: No such file or directory"
}

@test "destroy refuses while something is mounted below the state folder" {
  [ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
  mount_tools
  local sd
  sd=$(dirname "$MNT")
  mount -t tmpfs none "$sd/home" || skip "cannot mount a tmpfs"
  MOUNTED_MNTS+=("$sd/home")
  touch "$sd/home/on-tmpfs"
  run --separate-stderr cagefs destroy "$PROJECT" --yes
  umount "$sd/home"
  assert_status 1
  assert_one_line_error "cagefs: error: \`$sd/home\` is still mounted; nothing removed"
  [ -f "$sd/project.json" ] || fail "the state folder was emptied"
}

@test "destroy: a missing PROJECT or a bad option is a usage error" {
  run --separate-stderr cagefs destroy
  assert_status 2
  assert_one_line_error "cagefs: error: destroy:"
  run --separate-stderr cagefs destroy --force "$PROJECT"
  assert_status 2
  assert_one_line_error "cagefs: error: destroy:"
}

# ---------------------------------------------------------------------------
# hooks

# write_hooks_config LOG: a cage.json whose four hooks append to LOG what
# they see: the hook, its folder, the CAGEFS_* variables, whether the mount
# point is mounted and what the workspace shows.
write_hooks_config () {
  local log=$1 h cmd
  local sep=''
  {
    printf '{"store": {"packages": ["%s"]}, "hooks": {' "$FIX_TOOLS"
    for h in pre-mount post-mount pre-umount post-umount; do
      # shellcheck disable=SC2016
      cmd='m=no; grep -qF " $CAGEFS_MOUNTPOINT " /proc/self/mountinfo && m=yes; '
      # shellcheck disable=SC2016
      cmd+='echo "$CAGEFS_HOOK|$PWD|$CAGEFS_PROJECT|$CAGEFS_MOUNTPOINT|$CAGEFS_STATE_DIR|$m" >> '"$log"
      printf '%s"%s": %s' "$sep" "$h" "$(jq -Rn --arg c "$cmd" '$c')"
      sep=', '
    done
    printf '}}\n'
  } > "$PROJECT/cage.json"
}

@test "hooks run in order, in the project folder, with CAGEFS_PROJECT, _MOUNTPOINT and _STATE_DIR" {
  local log=$BATS_TEST_TMPDIR/hooks.log
  write_hooks_config "$log"
  mount_project
  local sd
  sd=$(dirname "$MNT")
  assert_equal "$(cut -d'|' -f1 "$log" | tr '\n' ' ')" "pre-mount post-mount " "hooks run by mount"
  cagefs umount "$PROJECT" >/dev/null
  local want
  want=$(printf '%s\n' \
    "pre-mount|$PROJECT|$PROJECT|$MNT|$sd|no" \
    "post-mount|$PROJECT|$PROJECT|$MNT|$sd|yes" \
    "pre-umount|$PROJECT|$PROJECT|$MNT|$sd|yes" \
    "post-umount|$PROJECT|$PROJECT|$MNT|$sd|no")
  assert_equal "$(cat "$log")" "$want" "hooks log"
}

@test "hooks: nothing to mount or unmount runs no hook" {
  local log=$BATS_TEST_TMPDIR/hooks.log
  write_hooks_config "$log"
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  [ ! -e "$log" ] || fail "umount of an unmounted project ran hooks:" "$(cat "$log")"
  mount_project
  : > "$log"
  mount_project
  assert_equal "$(jq -r .already_mounted <<<"$MOUNT_JSON")" true "already_mounted"
  assert_equal "$(cat "$log")" "" "hooks run by a second mount"
}

@test "a hook's stdout goes to stderr: mount prints only the mount point, --json one object" {
  cat > "$PROJECT/cage.json" <<EOF
{"store": {"packages": ["$FIX_TOOLS"]},
 "hooks": {"pre-mount": "echo from-pre-mount", "post-mount": "echo from-post-mount"}}
EOF
  run --separate-stderr cagefs mount "$PROJECT" --json
  assert_success
  MOUNTED_PIDS+=("$(jq -r .pid <<<"$output")")
  assert_equal "$(printf '%s\n' "$output" | grep -c '')" 1 "lines on stdout"
  jq -e 'type == "object" and .mounted != false' <<<"$output" >/dev/null \
    || fail "stdout is not one JSON object:" "$output"
  assert_contains "$stderr" "from-pre-mount"
  assert_contains "$stderr" "from-post-mount"
}

@test "a failing hook is one warning (which hook, exit status) and the lifecycle goes on" {
  cat > "$PROJECT/cage.json" <<EOF
{"store": {"packages": ["$FIX_TOOLS"]},
 "hooks": {"pre-mount": "exit 3", "post-mount": "kill -9 \$\$",
           "pre-umount": "exit 5", "post-umount": "no-such-command-here 2>/dev/null"}}
EOF
  run --separate-stderr cagefs mount "$PROJECT"
  assert_success
  MNT=$output
  MOUNTED_MNTS+=("$MNT")
  is_mounted "$MNT" || fail "not mounted after failing hooks"
  assert_equal "$stderr" "$(printf '%s\n' \
    "cagefs: warning: pre-mount hook failed with exit status 3; going on" \
    "cagefs: warning: post-mount hook was killed by signal 9 (Killed); going on")" "mount's stderr"
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  assert_equal "$stderr" "$(printf '%s\n' \
    "cagefs: warning: pre-umount hook failed with exit status 5; going on" \
    "cagefs: warning: post-umount hook failed with exit status 127; going on")" "umount's stderr"
  is_mounted "$MNT" && fail "still mounted after umount"
  true
}

@test "hooks: an unknown hook is a one-line error naming cage.json:LINE:COLUMN; nothing mounted" {
  printf '{\n  "hooks": {"post-mnt": "true"}\n}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:2:13: unknown key \"post-mnt\" in \"hooks\"; did you mean \"post-mount\"? valid keys: pre-mount, post-mount, pre-umount, post-umount"
  assert_equal "$(project_mounts)" "" "mounts"
  printf '{"hooks": {"pre-mount": 1}}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:1:25: \"hooks.pre-mount\" must be a shell command string, not a number"
}

@test "destroy of a mounted project runs its umount hooks" {
  local log=$BATS_TEST_TMPDIR/hooks.log
  write_hooks_config "$log"
  mount_project
  run --separate-stderr cagefs destroy "$PROJECT" --yes
  assert_success
  assert_equal "$(cut -d'|' -f1 "$log" | tr '\n' ' ')" "pre-mount post-mount pre-umount post-umount " \
    "hooks run"
}

# ---------------------------------------------------------------------------
# man pages and bash completion

# render PAGE: the page as plain text on stdout, one very long line per
# paragraph (no hyphenation at line ends); warnings on stderr.
render () {
  if command -v man >/dev/null; then
    LC_ALL=C.UTF-8 MANWIDTH=1000 man --warnings -l "$1"
  else
    groff -man -Tutf8 -ww -rLL=1000n "$1" | sed 's/.\x08//g'
  fi
}

@test "make install DESTDIR puts the programs, man pages and completions in place; each page renders without warnings" {
  require_src
  local d=$BATS_TEST_TMPDIR/dest f page
  run --separate-stderr make -s -C "$SRC" install DESTDIR="$d" PREFIX=/usr
  assert_success
  for f in bin/cagefs bin/cage share/man/man1/cagefs.1 share/man/man1/cage.1 \
    share/man/man5/cage.json.5 share/bash-completion/completions/cagefs \
    share/bash-completion/completions/cage; do
    [ -f "$d/usr/$f" ] || fail "make install did not install $f:" "$(cd "$d" && find . -type f)"
  done
  for page in man1/cagefs.1 man1/cage.1 man5/cage.json.5; do
    run --separate-stderr render "$d/usr/share/man/$page"
    assert_success
    assert_equal "$stderr" "" "warnings rendering $page"
    assert_contains "$output" "NAME" "$page"
    assert_contains "$output" "SEE ALSO" "$page"
  done
}

@test "man pages: every command and option of cagefs --help and cage --help is documented" {
  require_src
  local page w
  page=$(render "$SRC/man/cagefs.1")
  # commands: the first word of the help's two-space indented lines
  for w in $(cagefs --help | sed -n 's/^  \([a-z]\+\).*/\1/p'); do
    assert_contains "$page" "$w" "cagefs.1 (command $w)"
  done
  for w in $( { cagefs --help; cagefs mount --help; cagefs list --help; cagefs destroy --help; } \
    | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    assert_contains "$page" "$w" "cagefs.1 (option $w)"
  done
  page=$(render "$SRC/man/cage.1")
  for w in $(cage --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    assert_contains "$page" "$w" "cage.1 (option $w)"
  done
  for w in 125 126 127; do assert_contains "$page" "$w" "cage.1 (exit status $w)"; done
}

# valid_keys JSON: the keys cage.json's loader lists when it meets an unknown
# key in JSON (the loader is the truth: a key added there must be documented).
valid_keys () {
  printf '%s\n' "$1" > "$PROJECT/cage.json"
  cagefs mount "$PROJECT" 2>&1 >/dev/null | sed -n 's/.*valid keys: //p' | tr -d ',' | tr ' ' '\n'
}

@test "cage.json(5) documents every key the loader knows, and the hooks' environment" {
  require_src
  local page k section keys=()
  page=$(render "$SRC/man/cage.json.5")
  for k in $(valid_keys '{"nope": 1}'); do keys+=("$k"); done
  [ "${#keys[@]}" -ge 6 ] || fail "too few top-level keys from the loader: ${keys[*]}"
  for section in store blacklist env limits hooks home; do
    for k in $(valid_keys "{\"$section\": {\"nope\": 1}}"); do keys+=("$section.$k"); done
  done
  assert_contains " ${keys[*]} " " hooks.post-umount " "keys from the loader"
  for k in "${keys[@]}"; do
    assert_contains "$page" "$k" "cage.json.5 (key $k)"
  done
  for k in CAGEFS_PROJECT CAGEFS_MOUNTPOINT CAGEFS_STATE_DIR CAGEFS_HOOK; do
    assert_contains "$page" "$k" "cage.json.5"
  done
}

# complete PROG WORDS...: what PROG's bash completion offers for WORDS (the
# last one being completed), one a line.
complete_words () {
  local file=$1 fn=$2
  shift 2
  bash -c '. "$1"; shift; fn=$1; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ));
    "$fn"; printf "%s\n" "${COMPREPLY[@]}"' complete "$file" "$fn" "$@"
}

@test "bash completion: commands, options and values of cagefs and cage" {
  require_src
  local c=$SRC/completion
  bash -n "$c/cagefs.bash" || fail "cagefs.bash does not parse"
  bash -n "$c/cage.bash" || fail "cage.bash does not parse"
  assert_equal "$(complete_words "$c/cagefs.bash" _cagefs cagefs de)" "destroy" "cagefs de"
  assert_equal "$(complete_words "$c/cagefs.bash" _cagefs cagefs l)" "list" "cagefs l"
  assert_equal "$(complete_words "$c/cagefs.bash" _cagefs cagefs destroy --y)" "--yes" "destroy --y"
  assert_equal "$(complete_words "$c/cagefs.bash" _cagefs cagefs mount . --mode "" | sort | tr '\n' ' ')" \
    "copy isolated readonly shared " "mount --mode"
  assert_equal "$(complete_words "$c/cagefs.bash" _cagefs cagefs mount . --network h)" "host" "--network h"
  assert_equal "$(complete_words "$c/cagefs.bash" _cagefs cagefs list --j)" "--json" "list --j"
  assert_equal "$(complete_words "$c/cage.bash" _cage cage e)" "exec" "cage e"
  assert_equal "$(complete_words "$c/cage.bash" _cage cage exec . --mem)" "--memory" "cage exec --mem"
  assert_equal "$(complete_words "$c/cage.bash" _cage cage exec . --seccomp o | sort | tr '\n' ' ')" \
    "off on " "--seccomp"
  # after `--`: commands of the host, to run in the cage
  complete_words "$c/cage.bash" _cage cage exec . -- ech | grep -qx echo \
    || fail "no echo among the commands after --"
  # and every cagefs command of --help is completed
  local w
  for w in $(cagefs --help | sed -n 's/^  \([a-z]\+\).*/\1/p'); do
    complete_words "$c/cagefs.bash" _cagefs cagefs "$w" | grep -qx "$w" \
      || fail "cagefs $w is not completed"
  done
}

# ---------------------------------------------------------------------------
# Nix packaging (no nixpkgs offline: parsed, and evaluated against stubs)

@test "nix: package.nix, default.nix and flake.nix parse" {
  require_src
  command -v nix-instantiate >/dev/null || skip "no nix-instantiate"
  local f
  for f in nix/package.nix nix/default.nix flake.nix; do
    run --separate-stderr nix-instantiate --parse "$SRC/$f"
    assert_success
    assert_equal "$stderr" "" "nix-instantiate --parse $f"
  done
}

@test "nix: package.nix builds with make and installs with make install PREFIX=\$out; the flake and default.nix call it" {
  require_src
  command -v nix-instantiate >/dev/null || skip "no nix-instantiate"
  local expr
  # package.nix against stubs: mkDerivation returns its attributes.
  expr="let r = import $SRC/nix/package.nix {
      lib = { cleanSource = p: p; cleanSourceWith = a: a.src; platforms.linux = [ ]; };
      stdenv.mkDerivation = a: a;
      pkg-config = \"pkg-config\"; fuse3 = \"fuse3\"; libseccomp = \"libseccomp\";
      jansson = \"jansson\"; liburing = \"liburing\"; libcap = \"libcap\";
      openssl = \"openssl\"; };
    in { inherit (r) pname buildInputs nativeBuildInputs buildPhase installPhase; }"
  run --separate-stderr nix-instantiate --eval --strict --json -E "$expr"
  assert_success
  local j=$output
  assert_equal "$(jq -r .pname <<<"$j")" cagefs "pname"
  assert_equal "$(jq -r '.buildInputs | sort | join(" ")' <<<"$j")" \
    "fuse3 jansson libcap libseccomp liburing openssl" "buildInputs"
  assert_equal "$(jq -r '.nativeBuildInputs | join(" ")' <<<"$j")" "pkg-config" "nativeBuildInputs"
  assert_contains "$(jq -r .buildPhase <<<"$j")" "make -j" "buildPhase"
  assert_contains "$(jq -r .installPhase <<<"$j")" "make install PREFIX=\$out" "installPhase"

  # The flake's packages.x86_64-linux.default and default.nix: callPackage ./nix/package.nix.
  expr="let
      fake = system: { callPackage = p: args: { path = toString p; inherit system args; }; };
      nixpkgs = {
        lib.genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
        legacyPackages = { x86_64-linux = fake \"x86_64-linux\"; aarch64-linux = fake \"aarch64-linux\"; };
      };
      flake = import $SRC/flake.nix;
      out = flake.outputs { self = out; inherit nixpkgs; };
    in { flake = out.packages.x86_64-linux.default;
         url = flake.inputs.nixpkgs.url;
         classic = import $SRC/nix/default.nix { pkgs = fake \"any\"; }; }"
  run --separate-stderr nix-instantiate --eval --strict --json -E "$expr"
  assert_success
  j=$output
  assert_equal "$(jq -r .flake.path <<<"$j")" "$SRC/nix/package.nix" "flake's default package"
  assert_equal "$(jq -r .flake.system <<<"$j")" "x86_64-linux" "flake's system"
  assert_equal "$(jq -c .flake.args <<<"$j")" "{}" "callPackage arguments"
  assert_equal "$(jq -r .classic.path <<<"$j")" "$SRC/nix/package.nix" "default.nix"
  assert_contains "$(jq -r .url <<<"$j")" "nixpkgs" "the flake's nixpkgs input"
}

@test "the state files are the user's alone: state.json and project.json are 0600 (the daemon runs with umask 0)" {
  mount_tools
  local dir
  dir=$(cagefs status "$PROJECT" --json | jq -r .state_dir)
  assert_equal "$(stat -c %a "$dir/state.json")" 600 "state.json mode"
  assert_equal "$(stat -c %a "$dir/project.json")" 600 "project.json mode"
}
