#!/usr/bin/env bats
# Nothing the agent writes runs on the host with the host's rights:
# store.expr is evaluated in Nix's restricted mode, from a private copy of
# its folder (hashed: the cache key), reached without following a link; and
# shared mode's --nix-daemon is refused while the daemon builds without a
# sandbox, unless the user takes that risk with --nix-daemon-unsandboxed.

load helpers

setup () { common_setup; }
teardown () {
  [ -z "${OUTSIDE:-}" ] || rm -rf "$OUTSIDE"
  common_teardown
}

# write_expr FILE [NAME-EXPR]: a Nix file in the project with one attribute
# "tool": a derivation built by the fixture's busybox whose bin/tool prints
# the value of NAME-EXPR (a Nix string expression; default "\"tool\"").
write_expr () {
  local file=$PROJECT/$1 what=${2:-'"tool"'}
  mkdir -p "$(dirname "$file")"
  cat > "$file" <<NIX
let bb = "\${builtins.storePath $FIX_BUSYBOX}/bin/busybox";
    what = $what;
in {
  tool = derivation { name = "expr-tool"; system = builtins.currentSystem; builder = bb;
    args = [ "sh" "-e" "-c" ''
      \${bb} mkdir -p \$out/bin
      \${bb} ln -s \${bb} \$out/bin/sh
      echo "echo \${what}" > \$out/bin/tool
      \${bb} chmod 0555 \$out/bin/tool
    '' ]; };
}
NIX
}

# counting_nix_build: a nix-build first on PATH that counts its runs.
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

expr_config () {
  printf '{"store": {"expr": "%s", "with": ["tool"], "packages": ["%s"]}}\n' "$1" "$FIX_TOOLS" \
    > "$PROJECT/cage.json"
}

state_dir () { cagefs status --json "$PROJECT" | jq -r .state_dir; }

# assert_refused PREFIX: the last run failed with one error line starting
# with PREFIX, and left no mount and no copy of the expr's folder.
assert_refused () {
  assert_status 1
  assert_one_line_error "$1"
  assert_equal "$(project_mounts)" "" "mounts left"
  assert_equal "$(find "$(state_dir)" -maxdepth 1 -name 'expr-eval.*')" "" "copies left"
}

# A file outside the project only its owner (the invoking user) may read.
outside_secret () {
  OUTSIDE=$(mktemp -d "${CAGEFS_TEST_TMP:-$BATS_RUN_TMPDIR}/outside.XXXXXX")
  SECRET=$OUTSIDE/secret
  printf 'cagefs-secret-%s\n' "$$" > "$SECRET"
  chmod 0600 "$SECRET"
  chmod 0700 "$OUTSIDE"
}

# ---------------------------------------------------------------------------
# store.expr: restricted evaluation

@test "store.expr: reading a file outside its folder (root-only as root) is refused, nothing mounted" {
  require_namespaces
  outside_secret
  [ "$(id -u)" != 0 ] || assert_equal "$(stat -c '%U %a' "$SECRET")" "root 600" "the secret's owner"
  write_expr nix/tools.nix "builtins.readFile $SECRET"
  expr_config nix/tools.nix
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr: nix-build \`$PROJECT/nix/tools.nix\` failed: access to"
  assert_contains "$stderr" "forbidden in restricted mode" "nix's reason"
  assert_contains "$stderr" "folder \`$PROJECT/nix\`" "what it may read"
  refute_contains "$stderr" "cagefs-secret-" "the secret"
  # the same through a link in its folder, and through a derivation attribute
  ln -s "$SECRET" "$PROJECT/nix/secret"
  write_expr nix/tools.nix 'builtins.readFile ./secret'
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr:"
  assert_contains "$stderr" "forbidden in restricted mode" "nix's reason"
  write_expr nix/tools.nix "builtins.hashFile \"sha256\" $SECRET"
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr:"
  assert_contains "$stderr" "forbidden in restricted mode" "nix's reason"
}

@test "store.expr: no fetch, no environment, no builtins.exec" {
  require_namespaces
  write_expr nix/tools.nix 'builtins.readFile (builtins.fetchurl "http://127.0.0.1:9/x")'
  expr_config nix/tools.nix
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr:"
  assert_contains "$stderr" "forbidden in restricted mode" "fetchurl"
  write_expr nix/tools.nix 'builtins.toString (builtins.exec [ "id" ])'
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr:"
  # getEnv answers "" in restricted mode: the tool prints "home=".
  write_expr nix/tools.nix '"home=${builtins.getEnv "HOME"}"'
  mount_project
  run --separate-stderr cage_sh tool
  assert_success
  assert_equal "$output" "home=" "getEnv HOME"
}

@test "store.expr: a sibling file it imports is used, and a change to it is evaluated again" {
  require_namespaces
  counting_nix_build
  write_expr nix/tools.nix 'import ./what.nix'
  echo '"first"' > "$PROJECT/nix/what.nix"
  mkdir -p "$PROJECT/nix/sub" && echo '"unused"' > "$PROJECT/nix/sub/other.nix"
  expr_config nix/tools.nix
  mount_project
  run --separate-stderr cage_sh tool
  assert_equal "$output" "first" "the sibling's value"
  cagefs umount "$PROJECT"
  mount_project
  assert_equal "$(nix_build_runs)" 1 "nix-build runs, second mount (cached)"
  cagefs umount "$PROJECT"
  echo '"second"' > "$PROJECT/nix/what.nix"
  mount_project
  assert_equal "$(nix_build_runs)" 2 "nix-build runs after the sibling changed"
  run --separate-stderr cage_sh tool
  assert_equal "$output" "second" "the sibling's new value"
  cagefs umount "$PROJECT"
  # any file of the folder is part of the key, nested ones too
  echo '"changed"' > "$PROJECT/nix/sub/other.nix"
  mount_project
  assert_equal "$(nix_build_runs)" 3 "nix-build runs after a nested file changed"
  cagefs umount "$PROJECT"
  # a file outside the folder is not
  echo 'notes' > "$PROJECT/README"
  mount_project
  assert_equal "$(nix_build_runs)" 3 "nix-build runs after a file outside the folder changed"
  assert_equal "$(find "$(state_dir)" -maxdepth 1 -name 'expr-eval.*')" "" "copies left"
}

@test "store.expr: its folder's copy keeps the folder's name (./. in the store is ...-nix)" {
  require_namespaces
  write_expr nix/tools.nix 'builtins.substring 33 100 (builtins.baseNameOf "${./.}")'
  expr_config nix/tools.nix
  mount_project
  run --separate-stderr cage_sh tool
  assert_success
  assert_equal "$output" "nix" "the store name of ./."
}

@test "store.expr: a symbolic link on the way to its folder is refused" {
  require_namespaces
  write_expr real/tools.nix
  ln -s real "$PROJECT/nix"
  expr_config nix/tools.nix
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr: \`$PROJECT/nix\` is or passes through a symbolic link"
  # deeper: a link in the middle
  rm "$PROJECT/nix"
  mkdir -p "$PROJECT/a"
  ln -s ../real "$PROJECT/a/b"
  expr_config a/b/tools.nix
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr: \`$PROJECT/a/b\` is or passes through a symbolic link"
  # the file itself a link
  ln -s ../real/tools.nix "$PROJECT/a/tools.nix"
  expr_config a/tools.nix
  run --separate-stderr cagefs mount "$PROJECT"
  assert_refused "cagefs: error: store.expr: \`$PROJECT/a/tools.nix\` is not a regular file but a symbolic link"
}

# ---------------------------------------------------------------------------
# shared mode's nix-daemon socket

# The daemon's sandbox as cagefs reads it (/etc/nix/nix.conf and Nix's
# defaults, without the user's own configuration).
daemon_sandbox () {
  NIX_USER_CONF_FILES=/dev/null NIX_CONFIG= \
    nix --extra-experimental-features nix-command show-config 2>/dev/null \
    | sed -n 's/^sandbox = //p'
}

@test "shared: --nix-daemon is refused while the daemon builds without a sandbox; nothing mounted" {
  require_namespaces
  [ "$(daemon_sandbox)" = false ] || skip "this host's nix-daemon has sandbox = $(daemon_sandbox)"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --mode shared --nix-daemon
  assert_status 1
  assert_one_line_error "cagefs: error: store.nix_daemon: the nix-daemon builds without a sandbox (sandbox = false)"
  assert_contains "$stderr" "sandbox = true" "the fix"
  assert_contains "$stderr" "--nix-daemon-unsandboxed" "the override"
  assert_equal "$(project_mounts)" "" "mounts left"
  run --separate-stderr cagefs status --json "$PROJECT"
  assert_equal "$(jq -r .mounted <<<"$output")" false "mounted"
  # the same from cage.json, with --json: one error object
  printf '{"store": {"mode": "shared", "nix_daemon": true, "packages": ["%s"]}}\n' "$FIX_TOOLS" \
    > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --json
  assert_status 1
  assert_contains "$(jq -r .error <<<"$output")" "store.nix_daemon: the nix-daemon builds without a sandbox" "JSON error"
  assert_equal "$(project_mounts)" "" "mounts left"
  # in another mode the key is ignored (with a warning), as before
  run --separate-stderr cagefs mount "$PROJECT" --mode readonly
  assert_success
  MNT=$output
  assert_contains "$stderr" "only used in store mode \"shared\"" "warning"
}

@test "shared: --nix-daemon-unsandboxed (or \"nix_daemon\": \"unsandboxed\") mounts, and status shows the override" {
  require_namespaces
  [ -S /nix/var/nix/daemon-socket/socket ] || skip "no nix-daemon socket on this host"
  run --separate-stderr cagefs config "$PROJECT" --json --nix-daemon-unsandboxed
  assert_success
  assert_equal "$(jq -c '.config["store.nix_daemon"]' <<<"$output")" '{"value":"unsandboxed","from":"flag"}' "config"
  mount_tools --mode shared --nix-daemon-unsandboxed
  assert_equal "$(jq -r .nix_daemon_unsandboxed <<<"$MOUNT_JSON")" true "mount --json"
  run --separate-stderr cagefs status --json "$PROJECT"
  assert_equal "$(jq -c '[.nix_daemon, .nix_daemon_unsandboxed]' <<<"$output")" '[true,true]' "status --json"
  run --separate-stderr cagefs status "$PROJECT"
  assert_contains "$output" "nix-daemon socket inside (unsandboxed" "status"
  run --separate-stderr cage exec "$PROJECT" -- stat -c %F /nix/var/nix/daemon-socket/socket
  assert_success
  assert_equal "$output" socket "file type"
  cagefs umount "$PROJECT"
  # from cage.json
  printf '{"store": {"mode": "shared", "nix_daemon": "unsandboxed", "packages": ["%s"]}}\n' \
    "$FIX_TOOLS" > "$PROJECT/cage.json"
  run --separate-stderr cagefs config "$PROJECT" --json
  assert_equal "$(jq -c '.config["store.nix_daemon"]' <<<"$output")" '{"value":"unsandboxed","from":"cage.json:1"}' "config"
  mount_project
  assert_equal "$(jq -c '[.nix_daemon, .nix_daemon_unsandboxed]' <<<"$MOUNT_JSON")" '[true,true]' "mount --json"
  cagefs umount "$PROJECT"
  # without the socket no override is shown
  rm "$PROJECT/cage.json"
  mount_tools --mode shared
  run --separate-stderr cagefs status --json "$PROJECT"
  assert_equal "$(jq -c '[.nix_daemon, .nix_daemon_unsandboxed]' <<<"$output")" '[false,false]' "status --json"
}
