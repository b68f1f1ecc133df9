#!/usr/bin/env bats
# Protected files: the agent may read them, never create, change, rename or
# delete them (cage.json "protected", with defaults: .git/config, .git/hooks,
# shell rc files, .envrc, editor and MCP configuration, the project's
# cage.json).

load helpers

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; }

make_protected () {
  put .git/config "[core]"
  put .git/hooks/pre-commit "#!/bin/sh"
  put .git/HEAD "ref: refs/heads/main"
  put .gitmodules "[submodule]"
  put .envrc "use nix"
  put .bashrc "alias ll=ls"
  put .vscode/tasks.json "{}"
  put .mcp.json "{}"
  put sub/.git/config "[core] sub"
  put docs/guide.md "guide"
  put src/main.c "int main;"
}

@test "protected files are readable, and every change is EACCES; the host files stay" {
  make_protected
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_tools
  local p fails=()
  for p in .git/config .git/hooks/pre-commit .gitmodules .envrc .bashrc .vscode/tasks.json \
           .mcp.json sub/.git/config; do
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$p"
    [ "$status" -eq 0 ] || fails+=("read $p: $stderr")
    for op in "echo x >> /workspace/$p" "echo x > /workspace/$p" "rm /workspace/$p" \
              "mv /workspace/$p /workspace/moved" "chmod 777 /workspace/$p" \
              "touch -d 2001-01-01 /workspace/$p" "ln -s x /workspace/$p.new && mv /workspace/$p.new /workspace/$p"; do
      run --separate-stderr cage_sh "$op"
      [[ $status -ne 0 && $stderr == *"Permission denied"* ]] || fails+=("'$op': $status $stderr")
    done
  done
  # New protected names cannot be made; folders holding them cannot move.
  for op in "echo x > /workspace/.git/hooks/post-checkout" "mkdir -p /workspace/new/.git && echo '[core] fsmonitor = /x' > /workspace/new/.git/config" \
            "mv /workspace/.git /workspace/git2" "mv /workspace/.git/hooks /workspace/hooks2" \
            "mv /workspace/.vscode /workspace/vs" "echo {} > /workspace/sub/.mcp.json"; do
    run --separate-stderr cage_sh "$op"
    [[ $status -ne 0 && $stderr == *"Permission denied"* ]] || fails+=("'$op': $status $stderr")
  done
  # Ordinary files beside them are writable; git's own data too.
  run --separate-stderr cage_sh "echo y >> /workspace/src/main.c && echo ref > /workspace/.git/HEAD && mv /workspace/docs /workspace/docs2"
  [ "$status" -eq 0 ] || fails+=("ordinary writes: $stderr")
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
  for p in .git/config .git/hooks/pre-commit .envrc .bashrc .vscode/tasks.json .mcp.json sub/.git/config; do
    [ -e "$PROJECT/$p" ] || fail "host $p gone"
  done
  assert_equal "$(cat "$PROJECT/.git/config")" "[core]" "host .git/config"
  [ ! -e "$PROJECT/.git/hooks/post-checkout" ] || fail "a hook was made"
}

@test "cage.json protected adds patterns; {\"defaults\": false} turns the defaults off" {
  make_protected
  cat > "$PROJECT/cage.json" <<EOF2
{ "store": { "packages": [ "$FIX_TOOLS" ] }, "protected": [ "docs/*.md" ] }
EOF2
  mount_project
  run --separate-stderr cage_sh 'echo x >> /workspace/docs/guide.md'
  assert_failure
  assert_contains "$stderr" "Permission denied"
  run --separate-stderr cage_sh 'echo x >> /workspace/.envrc'
  assert_failure
  cagefs umount "$PROJECT"
  cat > "$PROJECT/cage.json" <<EOF2
{ "store": { "packages": [ "$FIX_TOOLS" ] }, "protected": { "defaults": false, "patterns": [] } }
EOF2
  mount_project
  run --separate-stderr cage_sh 'echo x >> /workspace/.envrc && echo x >> /workspace/docs/guide.md'
  assert_success
  assert_equal "$(tail -1 "$PROJECT/.envrc")" x "the agent's change reached the host"
}

@test "a bad protected pattern is one clear error naming cage.json:LINE:COLUMN" {
  printf '{\n  "protected": [ "a//b" ]\n}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT"
  assert_failure
  assert_one_line_error "cagefs: error: $PROJECT/cage.json:2:18: \"protected[0]\" is \"a//b\": the pattern has an empty component"
}
