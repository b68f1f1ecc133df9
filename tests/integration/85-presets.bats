#!/usr/bin/env bats
# Presets, profiles and packages by name: cage.json's "did you mean", the
# strict / standard / relaxed profiles, the agents' presets (cagefs init
# --preset, --list-presets), store.with / --with / store.expr resolved with
# nix-build and cached, cagefs config's origins, and cage run.

load helpers

# The agents' names, as the preset table has them.
PRESETS="claude-code codex opencode gemini-cli aider goose crush"

# A place of our own in the real home (the relaxed profile shows it).
setup () {
  common_setup
  CANARY=$HOME/cagefs-canary-$$-$BATS_TEST_NUMBER
  SECRET=$HOME/.env.cagefs-canary-$$-$BATS_TEST_NUMBER
}

teardown () {
  rm -f "$CANARY" "$SECRET"
  common_teardown
}

# write_expr FILE ATTR...: a Nix file in the project whose attributes ATTR
# are derivations built by the fixture's busybox: each has bin/ATTR (prints
# "ATTR from the expr") and bin/sh.  No nixpkgs needed.
write_expr () {
  local file=$PROJECT/$1 a
  shift
  {
    echo "let bb = \"\${builtins.storePath $FIX_BUSYBOX}/bin/busybox\";"
    echo "    mk = name: derivation { inherit name; system = builtins.currentSystem; builder = bb;"
    echo "      args = [ \"sh\" \"-e\" \"-c\" ''"
    echo "        \${bb} mkdir -p \$out/bin"
    echo "        \${bb} ln -s \${bb} \$out/bin/sh"
    echo "        echo \"echo \${name} from the expr\" > \$out/bin/\${name}"
    echo "        \${bb} chmod 0555 \$out/bin/\${name}"
    echo "      '' ]; };"
    echo "in {"
    for a in "$@"; do echo "  \"$a\" = mk \"$a\";"; done
    echo "}"
  } > "$file"
}

# counting_nix_build: a nix-build first on PATH that counts its runs in
# $NIX_BUILD_COUNT, then runs the real one.
counting_nix_build () {
  local real
  real=$(command -v nix-build) || skip "no nix-build"
  mkdir -p "$BATS_TEST_TMPDIR/wrap"
  NIX_BUILD_COUNT=$BATS_TEST_TMPDIR/nix-build.count
  : > "$NIX_BUILD_COUNT"
  printf '#!/bin/sh\necho run >> %q\nexec %q "$@"\n' "$NIX_BUILD_COUNT" "$real" \
    > "$BATS_TEST_TMPDIR/wrap/nix-build"
  chmod 0755 "$BATS_TEST_TMPDIR/wrap/nix-build"
  export PATH=$BATS_TEST_TMPDIR/wrap:$PATH
}

nix_build_runs () { grep -c run "$NIX_BUILD_COUNT" || true; }

# The network namespace of the cage, and ours.
cage_netns () { cage exec "$PROJECT" -- readlink /proc/self/ns/net; }

# ---------------------------------------------------------------------------
# cage.json: "did you mean"

@test "cage.json: an unknown key suggests the closest valid one, at its line and column" {
  printf '{\n  "netwrok": "off"\n}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:2:3: unknown key \"netwrok\"; did you mean \"network\"? valid keys: store,"
  printf '{\n  "store": {\n    "pakages": []\n  }\n}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:3:5: unknown key \"pakages\" in \"store\"; did you mean \"packages\"?"
  printf '{"home": {"writeable": []}}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:1:11: unknown key \"writeable\" in \"home\"; did you mean \"writable\"?"
  # nothing close: no suggestion
  printf '{"zzzzzz": 1}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  refute_contains "$stderr" "did you mean"
  assert_equal "$(project_mounts)" "" "mounts left after the errors"
}

@test "profiles: an unknown profile suggests one, in cage.json and as a flag" {
  printf '{"profile": "strikt"}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:1:13: \"profile\" is \"strikt\"; did you mean \"strict\"?"
  rm "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --profile relaxd
  assert_status 1
  assert_one_line_error "cagefs: error: --profile: unknown profile \"relaxd\"; did you mean \"relaxed\"?"
}

# ---------------------------------------------------------------------------
# Profiles

@test "profile standard (the default): workspace read-write, network off, persistent home" {
  require_namespaces
  mount_tools
  assert_equal "$(jq -r .profile <<<"$MOUNT_JSON")" standard "profile"
  run cage_sh 'echo w > /workspace/w.txt && echo kept > ~/kept.txt && ip -o link | wc -l'
  assert_success
  assert_equal "$output" 1 "interfaces (only lo)"
  assert_equal "$(cat "$PROJECT/w.txt")" w "written in the workspace"
  cagefs umount "$PROJECT"
  mount_tools
  run cage_sh 'cat ~/kept.txt'
  assert_success
  assert_equal "$output" kept "the home after a remount"
}

@test "profile strict: workspace read-only (EROFS), network off, an empty home at every mount" {
  require_namespaces
  put a.txt "readable"
  mount_tools --profile strict
  assert_equal "$(jq -r '.profile + " " + .workspace + " " + .home_mode' <<<"$MOUNT_JSON")" \
    "strict read-only empty" "mount --json"
  assert_equal "$(cagefs status "$PROJECT" --json | jq -r '.profile + " " + .workspace + " " + .home_mode')" \
    "strict read-only empty" "status --json"
  run cage_sh 'cat /workspace/a.txt'
  assert_success
  assert_equal "$output" readable
  run cage_sh 'echo x > /workspace/new.txt'
  assert_failure
  assert_contains "$output" "Read-only file system"
  run cage_sh 'echo x >> /workspace/a.txt'
  assert_failure
  assert_contains "$output" "Read-only file system"
  run cage_sh 'rm /workspace/a.txt'
  assert_failure
  [ -f "$PROJECT/a.txt" ] && [ ! -e "$PROJECT/new.txt" ] || fail "the workspace changed"
  [ "$(cat "$PROJECT/a.txt")" = readable ] || fail "a.txt changed"
  run cage_sh 'ip -o link | wc -l'
  assert_equal "$output" 1 "interfaces (only lo)"
  # the home is writable, and empty again at the next mount
  run cage_sh 'ls -A ~; echo here > ~/left.txt && cat ~/left.txt'
  assert_success
  assert_equal "$output" here "an empty, writable home"
  cagefs umount "$PROJECT"
  mount_tools --profile strict
  run cage_sh 'ls -A ~'
  assert_success
  assert_equal "$output" "" "the home after a remount"
}

@test "profile relaxed: network host, the real home read-only at its path with secrets hidden" {
  require_namespaces
  echo "canary $$" > "$CANARY"
  echo "SECRET=fake" > "$SECRET"
  local host_ns real_home
  host_ns=$(readlink /proc/self/ns/net)
  real_home=$(getent passwd "$(id -un)" | cut -d: -f6)
  real_home=$(realpath "$real_home")
  mount_tools --profile relaxed
  assert_equal "$(jq -r .host_home <<<"$MOUNT_JSON")" "$real_home" "host_home"
  assert_equal "$(jq -r .network <<<"$MOUNT_JSON")" host "network"
  assert_equal "$(cage_netns)" "$host_ns" "the cage's network namespace"
  run cage exec "$PROJECT" -- cat "$real_home/$(basename "$CANARY")"
  assert_success
  assert_equal "$output" "canary $$" "a file of the real home"
  run cage exec "$PROJECT" -- cat "$real_home/$(basename "$SECRET")"
  assert_failure
  assert_contains "$output" "No such file"
  run cage exec "$PROJECT" -- ls -a "$real_home"
  refute_contains "$output" "$(basename "$SECRET")" "listing of the real home"
  refute_contains "$output" ".ssh" "listing of the real home"
  run cage exec "$PROJECT" -- sh -c "echo x > '$real_home/$(basename "$CANARY")'"
  assert_failure
  assert_contains "$output" "Read-only file system"
  run cage exec "$PROJECT" -- touch "$real_home/cagefs-new-$$"
  assert_failure
  [ ! -e "$real_home/cagefs-new-$$" ] || { rm -f "$real_home/cagefs-new-$$"; fail "created in the real home"; }
  assert_equal "$(cat "$CANARY")" "canary $$" "the canary"
  # the cage's own home stays writable (beside the real one when they share a path)
  run cage_sh 'echo mine > ~/mine.txt && cat ~/mine.txt && echo $HOME'
  assert_success
  assert_contains "$output" mine
  [ "${lines[1]}" != "$real_home" ] || fail "HOME is the read-only real home"
  assert_equal "${lines[1]}" "$(jq -r .home <<<"$MOUNT_JSON")" "HOME"
  # the workspace is read-write
  run cage_sh 'echo w > /workspace/w.txt'
  assert_success
}

@test "profiles: explicit keys and flags override the profile's values" {
  require_namespaces
  printf '{"profile": "strict", "workspace": "read-write", "home": {"mode": "persistent"}}\n' \
    > "$PROJECT/cage.json"
  mount_tools --network host
  assert_equal "$(jq -r '.profile + " " + .workspace + " " + .home_mode + " " + .network' <<<"$MOUNT_JSON")" \
    "strict read-write persistent host" "mount --json"
  run cage_sh 'echo w > /workspace/w.txt'
  assert_success
  assert_equal "$(cage_netns)" "$(readlink /proc/self/ns/net)" "network host from the flag"
  cagefs umount "$PROJECT"
  # relaxed without the real home
  printf '{"profile": "relaxed", "home": {"host": false}, "network": "off"}\n' > "$PROJECT/cage.json"
  mount_tools
  assert_equal "$(jq -r '.host_home' <<<"$MOUNT_JSON")" null "host_home"
  assert_equal "$(jq -r '.network' <<<"$MOUNT_JSON")" off "network"
}

@test "profiles: cage exec --profile refuses a mount made with another profile" {
  require_namespaces
  mount_tools
  run --separate-stderr cage exec "$PROJECT" --profile strict -- true
  assert_status 125
  assert_one_line_error "cage: error: project $PROJECT is mounted with profile standard, not strict; remount: cagefs umount"
  run cage exec "$PROJECT" --profile standard -- true
  assert_success
  run --separate-stderr cage exec "$PROJECT" --profile stirct -- true
  assert_status 125
  assert_contains "$stderr" 'did you mean "strict"'
}

# ---------------------------------------------------------------------------
# Presets

@test "presets: init --list-presets names every agent with packages, home paths and variables" {
  run --separate-stderr cagefs init --list-presets
  assert_success
  local p
  for p in $PRESETS; do assert_contains "$output" "$p" "--list-presets"; done
  run --separate-stderr cagefs init --list-presets --json
  assert_success
  assert_equal "$(jq -r '[.presets[].name] | join(" ")' <<<"$output")" "$PRESETS" "names"
  assert_equal "$(jq '[.presets[] | select((.packages | length) == 0 or (.home | length) == 0 or (.env | length) == 0)] | length' <<<"$output")" 0 "presets with an empty list"
  assert_equal "$(jq -c '.presets[] | select(.name == "claude-code") | .packages' <<<"$output")" '["claude-code"]'
  jq -e '.presets[] | select(.name == "claude-code") | .home | index("~/.claude/") and index("~/.claude.json")' <<<"$output" >/dev/null \
    || fail "claude-code's home paths:" "$output"
  jq -e '.presets[] | select(.name == "claude-code") | .env | index("ANTHROPIC_API_KEY")' <<<"$output" >/dev/null \
    || fail "claude-code's variables"
  jq -e '.presets[] | select(.name == "codex") | .env | index("OPENAI_API_KEY")' <<<"$output" >/dev/null \
    || fail "codex's variables"
  jq -e '.presets[] | select(.name == "gemini-cli") | .env | index("GEMINI_API_KEY") and index("GOOGLE_API_KEY")' <<<"$output" >/dev/null \
    || fail "gemini-cli's variables"
}

@test "presets: init --preset writes a cage.json that loads; an unknown preset says which was meant" {
  run --separate-stderr cagefs init --preset codex "$PROJECT"
  assert_success
  assert_equal "$(jq -r .preset "$PROJECT/cage.json")" codex "preset"
  run --separate-stderr cagefs config "$PROJECT" --json
  assert_success
  assert_equal "$(jq -c '.config["store.with"]' <<<"$output")" '{"value":["codex"],"from":["preset codex"]}'
  run --separate-stderr cagefs init --preset codex "$PROJECT"
  assert_status 1
  assert_contains "$stderr" "already exists"
  local other
  other=$(new_project)
  EXTRA_PROJECTS+=("$other")
  run --separate-stderr cagefs init --preset claud-code "$other"
  assert_status 2
  assert_one_line_error "cagefs: error: --preset: unknown preset \"claud-code\"; did you mean \"claude-code\"? valid presets: claude-code, codex,"
  [ ! -e "$other/cage.json" ] || fail "a cage.json was written"
  printf '{"preset": "gemini"}\n' > "$other/cage.json"
  run --separate-stderr cagefs mount "$other" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error: $other/cage.json:1:12: unknown preset \"gemini\"; did you mean \"gemini-cli\"?"
}

@test "presets: claude-code's package, home paths and variables in a cage (packages from store.expr)" {
  require_namespaces
  write_expr agents.nix claude-code
  cat > "$PROJECT/cage.json" <<EOF
{
  "preset": "claude-code",
  "store": {"expr": "agents.nix", "packages": ["$FIX_TOOLS"]}
}
EOF
  mount_project
  run cage_sh 'claude-code'
  assert_success
  assert_equal "$output" "claude-code from the expr" "the preset's package"
  run cage_sh 'test -d ~/.claude && test -d ~/.config/claude && cat ~/.claude.json && echo x > ~/.claude/settings.json && echo ok'
  assert_success
  assert_equal "$output" "{}
ok" "the preset's home paths"
  ANTHROPIC_API_KEY=sk-test-123 OPENAI_API_KEY=not-passed run cage_sh 'echo "${ANTHROPIC_API_KEY-unset} ${OPENAI_API_KEY-unset}"'
  assert_success
  assert_equal "$output" "sk-test-123 unset" "variables passed through"
}

# ---------------------------------------------------------------------------
# Packages by name

@test "packages by name: store.with from store.expr, cached by input hash; a changed file is built again" {
  require_namespaces
  counting_nix_build
  write_expr tools.nix hello other
  printf '{"store": {"expr": "tools.nix", "with": ["hello"], "packages": ["%s"]}}\n' "$FIX_TOOLS" \
    > "$PROJECT/cage.json"
  mount_project
  assert_equal "$(nix_build_runs)" 1 "nix-build runs, first mount"
  assert_equal "$(jq '.packages | length' <<<"$MOUNT_JSON")" 2 "packages"
  run cage_sh 'hello; command -v other || echo "no other"'
  assert_equal "$output" "hello from the expr
no other"
  cagefs umount "$PROJECT"
  mount_project
  assert_equal "$(nix_build_runs)" 1 "nix-build runs, second mount (cached)"
  cagefs umount "$PROJECT"
  # --with adds a name: new inputs, one more evaluation
  mount_project --with other
  assert_equal "$(nix_build_runs)" 2 "nix-build runs with --with other"
  run cage_sh 'other'
  assert_equal "$output" "other from the expr"
  cagefs umount "$PROJECT"
  # the file changed: evaluated again
  echo "# changed" >> "$PROJECT/tools.nix"
  mount_project
  assert_equal "$(nix_build_runs)" 3 "nix-build runs after the file changed"
  # the expr file is protected in the cage
  run cage_sh 'echo "{}" > /workspace/tools.nix'
  assert_failure
}

@test "packages by name: store.expr without with builds the whole file" {
  require_namespaces
  write_expr tools.nix alpha beta
  printf '{"store": {"expr": "tools.nix", "packages": ["%s"]}}\n' "$FIX_TOOLS" > "$PROJECT/cage.json"
  mount_project
  run cage_sh 'alpha; beta'
  assert_success
  assert_equal "$output" "alpha from the expr
beta from the expr"
}

@test "packages by name: no nixpkgs gives one error that says how to fix it" {
  command -v nix-build >/dev/null || skip "no nix-build"
  printf '{"store": {"with": ["hello"]}}\n' > "$PROJECT/cage.json"
  NIX_PATH= run --separate-stderr cagefs mount "$PROJECT"
  assert_status 1
  assert_one_line_error "cagefs: error: store.with: no nixpkgs in the Nix search path"
  assert_contains "$stderr" "NIX_PATH=nixpkgs="
  assert_contains "$stderr" "store.expr"
  assert_contains "$stderr" "--package"
  assert_equal "$(project_mounts)" "" "mounts left"
  # a bad name is refused before any evaluation
  run --separate-stderr cagefs mount "$PROJECT" --with 'git,-A'
  assert_status 1
  assert_one_line_error "cagefs: error: --with: package name \"-A\" is not a Nix attribute name"
  # a missing attribute names it
  rm "$PROJECT/cage.json"
  write_expr tools.nix hello
  printf '{"store": {"expr": "tools.nix", "with": ["nope"]}}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT"
  assert_status 1
  assert_one_line_error "cagefs: error: store.expr:"
  assert_contains "$stderr" "nope"
}

# ---------------------------------------------------------------------------
# cagefs config

@test "config: the resolved configuration and where each value came from" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "preset": "claude-code",
  "profile": "relaxed",
  "store": {"mode": "readonly"},
  "env": {"pass": ["EDITOR"]}
}
EOF
  run --separate-stderr cagefs config "$PROJECT" --json
  assert_success
  local c
  c=$(jq -c .config <<<"$output")
  assert_equal "$(jq -c .profile <<<"$c")" '{"value":"relaxed","from":"cage.json:3"}' profile
  assert_equal "$(jq -c .preset <<<"$c")" '{"value":"claude-code","from":"cage.json:2"}' preset
  assert_equal "$(jq -c '.["store.mode"]' <<<"$c")" '{"value":"readonly","from":"cage.json:4"}' store.mode
  assert_equal "$(jq -c .network <<<"$c")" '{"value":"host","from":"profile relaxed"}' network
  assert_equal "$(jq -c '.["home.host"]' <<<"$c")" '{"value":true,"from":"profile relaxed"}' home.host
  assert_equal "$(jq -c '.["store.with"]' <<<"$c")" '{"value":["claude-code"],"from":["preset claude-code"]}' store.with
  assert_equal "$(jq -r '.["env.pass"] | [.value, .from] | transpose | map(select(.[0] == "EDITOR" or .[0] == "ANTHROPIC_API_KEY")) | map(.[0] + "=" + .[1]) | sort | join(" ")' <<<"$c")" \
    "ANTHROPIC_API_KEY=preset claude-code EDITOR=cage.json:5" env.pass
  assert_equal "$(jq -c '.["limits.memory"]' <<<"$c")" '{"value":null,"from":"default"}' limits.memory
  # flags win, and say so
  run --separate-stderr cagefs config "$PROJECT" --json --profile strict --network off --with git
  assert_success
  c=$(jq -c .config <<<"$output")
  assert_equal "$(jq -c .profile <<<"$c")" '{"value":"strict","from":"flag"}' profile
  assert_equal "$(jq -c .network <<<"$c")" '{"value":"off","from":"flag"}' network
  assert_equal "$(jq -c .workspace <<<"$c")" '{"value":"read-only","from":"profile strict"}' workspace
  assert_equal "$(jq -r '.["store.with"].from | join(",")' <<<"$c")" "preset claude-code,flag" store.with
  # the text form: one line a value
  run --separate-stderr cagefs config "$PROJECT"
  assert_success
  assert_contains "$output" "profile relaxed"
  assert_contains "$output" "cage.json:3"
  # a bad file: the loader's error
  printf '{"profil": "strict"}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs config "$PROJECT"
  assert_status 1
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:1:2: unknown key \"profil\"; did you mean \"profile\"?"
}

# ---------------------------------------------------------------------------
# cage run

@test "cage run: mounts, runs, unmounts; exit status is the command's" {
  require_namespaces
  run --separate-stderr cage run "$PROJECT" --package "$FIX_TOOLS" --env A=42 -- sh -c 'echo "a=$A"; exit 7'
  assert_status 7
  assert_equal "$output" "a=42" "the command's output"
  run cagefs status "$PROJECT"
  assert_status 1
  assert_equal "$(project_mounts)" "" "mounts left after cage run"
  # with a profile (a mount option)
  run --separate-stderr cage run "$PROJECT" --package "$FIX_TOOLS" --profile strict -- sh -c 'touch /workspace/x'
  assert_failure
  [ ! -e "$PROJECT/x" ] || fail "strict: written"
  run cagefs status "$PROJECT"
  assert_status 1
}

@test "cage run: a mounted project stays mounted; a failed mount exits 125 with one error" {
  require_namespaces
  mount_tools
  run --separate-stderr cage run "$PROJECT" -- true
  assert_success
  run cagefs status "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r .pid <<<"$output")" "$PID" "the same daemon"
  cagefs umount "$PROJECT"
  run --separate-stderr cage run "$PROJECT" --mode bogus -- true
  assert_status 125
  assert_one_line_error "cagefs: error: --mode: unknown store mode \"bogus\""
  run --separate-stderr cage run
  assert_status 125
}

# ---------------------------------------------------------------------------
# Completion and help

@test "completion and --help: presets, profiles, config and run" {
  local src=${CAGEFS_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
  [ -r "$src/completion/cagefs.bash" ] || skip "the source tree ($src) is not readable here"
  local words
  words () {
    local file=$1 fn=$2
    shift 2
    bash -c '. "$1"; shift; fn=$1; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ));
      "$fn"; printf "%s\n" "${COMPREPLY[@]}"' complete "$file" "$fn" "$@" | LC_ALL=C sort | tr '\n' ' '
  }
  assert_equal "$(words "$src/completion/cagefs.bash" _cagefs cagefs init --preset c)" \
    "claude-code codex crush " "init --preset c"
  assert_equal "$(words "$src/completion/cagefs.bash" _cagefs cagefs mount . --profile s)" \
    "standard strict " "mount --profile s"
  assert_equal "$(words "$src/completion/cagefs.bash" _cagefs cagefs con)" "config " "cagefs con"
  assert_equal "$(words "$src/completion/cage.bash" _cage cage r)" "run " "cage r"
  assert_equal "$(words "$src/completion/cage.bash" _cage cage run . --wi)" "--with " "cage run --wi"
  assert_equal "$(words "$src/completion/cage.bash" _cage cage exec . --profile r)" "relaxed " "--profile r"
  run cagefs --help
  assert_contains "$output" "config PROJECT"
  assert_contains "$output" "--list-presets"
  run cage --help
  assert_contains "$output" "cage run PROJECT"
  run cagefs init --help
  assert_contains "$output" "--preset NAME"
}
