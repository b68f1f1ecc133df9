#!/usr/bin/env bats
# What git runs on the host (fs/policy/git_guard.h, fs/policy/agent_repos.h): the agent
# may make repositories of its own, but no file it writes becomes a program
# that git, or another tool the user runs in the project, runs on the host.
# Repositories present at mount stay fully protected, against renames and
# exchanges of either end or of a folder above them too.

load helpers

setup_file () {
  PROBE=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  export PROBE
}

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; }

mount_probe () { mount_project --package "$FIX_TOOLS" --package "$PROBE" "$@"; }

audit_file () { echo "$(cagefs status "$PROJECT" --json | jq -r .state_dir)/audit.ndjson"; }

# refused OP...: each shell command OP fails in the cage with EACCES.
refused () {
  local op bad=()
  for op in "$@"; do
    run --separate-stderr cage_sh "$op"
    [[ $status -ne 0 && $stderr == *"Permission denied"* ]] || bad+=("'$op': exit $status, $stderr")
  done
  [ "${#bad[@]}" -eq 0 ] || fail "not refused:" "${bad[@]}"
}

# The host project holds no git config key that runs a program and no
# executable hook (checked with the host's own git).
assert_host_clean () {
  local f keys bad=()
  while IFS= read -r -d '' f; do
    keys=$(git config -f "$f" --list 2>/dev/null | grep -Eiv '^core\.fsmonitor=(false|true)$') || true
    if grep -Eiq '^(core\.(fsmonitor|hookspath|pager|editor|sshcommand|worktree)|alias\.|include|diff\..*\.textconv|filter\.)' <<<"$keys"; then
      bad+=("$f: $(tr '\n' ' ' <<<"$keys")")
    fi
  done < <(find "$PROJECT" \( -name config -o -name config.worktree \) -type f -print0)
  while IFS= read -r f; do bad+=("executable hook $f"); done \
    < <(find "$PROJECT" \( -path '*.git/hooks/*' -o -path '*/bare/hooks/*' \) ! -name '*.sample' \( -perm -u+x -o -type l \))
  [ "${#bad[@]}" -eq 0 ] || fail "the host project holds what git would run:" "${bad[@]}"
}

# What git init writes, done step by step as git does it.
make_agent_repo () {
  cage_sh '
    set -e
    cd /workspace
    mkdir -p "$1/.git/hooks" "$1/.git/objects" "$1/.git/refs/heads" "$1/.git/info"
    printf "ref: refs/heads/main\n" > "$1/.git/HEAD"
    printf "#!/bin/sh\nexit 0\n" > "$1/.git/hooks/pre-commit.sample"
    chmod 755 "$1/.git/hooks/pre-commit.sample"
    printf "[core]\n\trepositoryformatversion = 0\n\tbare = false\n" > "$1/.git/config.lock"
    mv "$1/.git/config.lock" "$1/.git/config"
  ' "$1"
}

@test "a repository the agent makes is its own: config, hooks folder, samples, remotes" {
  mount_probe
  run --separate-stderr make_agent_repo new
  assert_success
  run --separate-stderr cage_sh '
    set -e
    cd /workspace/new/.git
    printf "[remote \"origin\"]\n\turl = /workspace/up.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n" >> config
    printf "[user]\n\tname = agent\n[core]\n\tfsmonitor = false\n" > config.lock && mv config.lock config
    printf "#!/bin/sh\n" > hooks/pre-push && echo plain > description && mkdir -p worktrees/w
    printf "../..\n" > worktrees/w/commondir
    rm hooks/pre-push && rm -r worktrees'
  assert_success
  assert_equal "$(git config -f "$PROJECT/new/.git/config" user.name)" agent "the host sees the agent's config"
  [ -x "$PROJECT/new/.git/hooks/pre-commit.sample" ] || fail "the sample hook lost its x bit"
  grep -qx new/.git "$(dirname "$(audit_file)")/repos" || fail "the repository is not listed in <state>/repos"
  run --separate-stderr cagefs check "$PROJECT"
  assert_success
  assert_contains "$output" "repository made by the agent: new/.git"
  run --separate-stderr cagefs check "$PROJECT" --json
  assert_equal "$(jq -c .agent_repositories <<<"$output")" '["new/.git"]' "check --json"
  # A later mount knows it as the agent's again.
  cagefs umount "$PROJECT"
  mount_probe
  run --separate-stderr cage_sh 'printf "[user]\n\temail = a@b\n" >> /workspace/new/.git/config'
  assert_success
  assert_host_clean
}

@test "no git config the agent writes may hold a key that runs a program, by any name git reads" {
  mount_probe
  make_agent_repo new
  mkdir -p "$PROJECT/bare/refs"
  local keys=(
    '[core]\n\tfsmonitor = /workspace/evil' '[core]\n\thooksPath = /workspace/h'
    '[core]\n\tsshCommand = evil' '[core]\n\tpager = evil' '[core]\n\teditor = evil'
    '[core]\n\taskPass = evil' '[sequence]\n\teditor = evil' '[diff "x"]\n\ttextconv = evil'
    '[diff "x"]\n\tcommand = evil' '[diff]\n\texternal = evil' '[merge "m"]\n\tdriver = evil'
    '[filter "f"]\n\tclean = evil' '[filter "f"]\n\tsmudge = evil' '[filter "f"]\n\tprocess = evil'
    '[credential]\n\thelper = evil' '[alias]\n\tst = !evil' '[uploadpack]\n\tpackObjectsHook = evil'
    '[gpg]\n\tprogram = evil' '[gpg "ssh"]\n\tprogram = evil' '[include]\n\tpath = /workspace/inc'
    '[includeIf "gitdir:/"]\n\tpath = /workspace/inc' '[CORE]FSMONITOR=evil' '[diff.x]\n\ttextconv = evil')
  local k ops=()
  for k in "${keys[@]}"; do
    ops+=("printf '$k\n' > /workspace/new/.git/config.lock && mv /workspace/new/.git/config.lock /workspace/new/.git/config"
          "printf '$k\n' | cat >> /workspace/new/.git/config")
  done
  # config.worktree, a bare repository's config, a submodule's, a worktree's
  ops+=("printf '[core]\n\tfsmonitor = evil\n' | cat > /workspace/new/.git/config.worktree"
        "printf '[core]\n\tpager = evil\n' | cat > /workspace/bare/config"
        "mkdir -p /workspace/new/.git/modules/m && printf '[core]\n\tpager = evil\n' | cat > /workspace/new/.git/modules/m/config"
        "mkdir -p /workspace/new/.git/worktrees/w && printf '[core]\n\tpager = evil\n' | cat > /workspace/new/.git/worktrees/w/config.worktree")
  refused "${ops[@]}"
  # The file is whole: each refused write changed nothing.
  assert_equal "$(git config -f "$PROJECT/new/.git/config" core.bare)" false "the agent's config"
  grep -q '"reason":"git config key core.fsmonitor runs a program"' "$(audit_file)" \
    || fail "no audit entry names the key" "$(cat "$(audit_file)")"
  run --separate-stderr cagefs audit "$PROJECT"
  assert_contains "$output" "denied (pid" "cagefs audit"
  assert_contains "$output" ": git config key core.fsmonitor runs a program" "cagefs audit shows the reason"
  assert_host_clean
}

@test "a config cannot be made dangerous by truncation, a hard link, a symlink or fallocate" {
  mount_probe
  make_agent_repo new
  mkdir -p "$PROJECT/bare/refs"
  run --separate-stderr cage_sh 'printf "[core]\n\tpagerx\n" > /workspace/bare/config'
  assert_success
  refused "truncate -s 13 /workspace/bare/config" \
          "printf '[core]\n\tpager = evil\n' > /workspace/notes && ln /workspace/notes /workspace/bare/config.new && mv /workspace/bare/config.new /workspace/bare/config" \
          "ln /workspace/notes /workspace/new/config" \
          "ln /workspace/new/.git/config /workspace/cfg2" \
          "ln -s /workspace/notes /workspace/bare/config.worktree" \
          "ln -s /workspace/notes /workspace/lnk && mv /workspace/lnk /workspace/bare/config"
  # an open fd kept across the rename is checked by its new name
  run --separate-stderr cage_sh 'cd /workspace/bare && printf "[core]\n\tbare = true\n" > c.lock && exec 3>>c.lock && mv c.lock config && printf "[core]\n\tpager = evil\n" | cat >&3'
  assert_failure
  assert_contains "$stderr" "Permission denied"
  run cage exec "$PROJECT" -- probe fallocate /workspace/bare/config
  [ "$status" -eq 1 ] && [[ $output == *"denied EACCES"* ]] || fail "fallocate into a config: $output"
  assert_host_clean
}

@test "no hook git would run can be made executable, by chmod, copy, rename, link or a moved folder" {
  mount_probe
  make_agent_repo new
  mkdir -p "$PROJECT/bare/refs"
  refused "printf '#!/bin/sh\n' > /workspace/new/.git/hooks/pre-commit && chmod +x /workspace/new/.git/hooks/pre-commit" \
          "mv /workspace/new/.git/hooks/pre-commit.sample /workspace/new/.git/hooks/pre-commit" \
          "mkdir /workspace/h && printf '#!/bin/sh\n' > /workspace/h/pre-push && chmod +x /workspace/h/pre-push && mv /workspace/h /workspace/bare/hooks" \
          "ln -s /bin/sh /workspace/new/.git/hooks/post-checkout" \
          "ln -s /workspace/h /workspace/bare/hooks" \
          "printf x > /workspace/hk && ln /workspace/hk /workspace/new/.git/hooks/pre-rebase" \
          "ln -s /workspace/bare /workspace/sub.git && mv /workspace/sub.git /workspace/.git"
  # A hook copied from an executable file arrives without its x bits.
  run --separate-stderr cage_sh 'cp /bin/sh /workspace/new/.git/hooks/post-merge && test ! -x /workspace/new/.git/hooks/post-merge && chmod 644 /workspace/new/.git/hooks/post-merge'
  assert_success
  # Other executables in other folders are the agent's to make.
  run --separate-stderr cage_sh 'printf "#!/bin/sh\n" > /workspace/run.sh && chmod +x /workspace/run.sh && mkdir -p /workspace/hooks && printf x > /workspace/hooks/deploy && chmod +x /workspace/hooks/deploy'
  assert_success
  assert_host_clean
}

@test "the repository present at mount: neither end of a rename or exchange may be .git or a folder above a protected file" {
  put .git/config "[core]"
  put .git/HEAD "ref: refs/heads/main"
  put .git/hooks/x.sample "x"
  put .vscode/tasks.json "{}"
  put sub/.git/config "[core] sub"
  mount_probe
  cage_sh 'mkdir -p /workspace/evil/hooks && printf "[core]\n" > /workspace/evil/config'
  local before
  before=$(tree_fingerprint "$PROJECT")
  local a b bad=()
  for pair in "/workspace/evil /workspace/.git" "/workspace/.git /workspace/evil" \
              "/workspace/evil /workspace/sub/.git" "/workspace/evil /workspace/.vscode" \
              "/workspace/evil /workspace/.git/hooks" "/workspace/.git/hooks /workspace/evil/hooks"; do
    read -r a b <<<"$pair"
    run cage exec "$PROJECT" -- probe exchange "$a" "$b"
    [ "$status" -eq 1 ] && [[ $output == *"denied EACCES"* ]] || bad+=("exchange $pair: $output")
  done
  [ "${#bad[@]}" -eq 0 ] || fail "${bad[@]}"
  refused "mkdir -p /workspace/sub/new && mv /workspace/evil /workspace/sub/new/.git" \
          "mv /workspace/evil /workspace/.vscode2 && mv /workspace/.vscode2 /workspace/.vscode"
  # the existing repository's config and hooks stay protected
  refused "printf '[user]\n' >> /workspace/.git/config" "printf x > /workspace/.git/hooks/new" \
          "printf x > /workspace/.git/config.worktree" "printf x > /workspace/sub/.git/config"
  assert_equal "$(tree_fingerprint "$PROJECT" | grep -v '^\./evil\|^\./\.vscode2\|^\./sub/new\| \./evil\| \./\.vscode2\|/sub/new')" \
               "$(grep -v '^\./evil\|^\./\.vscode2\|^\./sub/new\| \./evil\| \./\.vscode2\|/sub/new' <<<"$before")" "the host tree"
}

@test "other tools' run-on-open files are protected: hook managers, direnv and mise, editors, agents" {
  mount_probe
  refused "mkdir -p /workspace/.husky && printf x > /workspace/.husky/pre-commit" \
          "printf x > /workspace/.pre-commit-config.yaml" "printf x > /workspace/lefthook.yml" \
          "printf x > /workspace/mise.toml" "printf x > /workspace/sub.exrc && mv /workspace/sub.exrc /workspace/.exrc" \
          "mkdir -p /workspace/.claude && printf x > /workspace/.claude/settings.json" \
          "printf x > /workspace/.claude/settings.local.json" "printf x > /workspace/proj.code-workspace" \
          "mkdir -p /workspace/.zed && printf x > /workspace/.zed/tasks.json" \
          "mkdir -p /workspace/.cursor && printf x > /workspace/.cursor/mcp.json"
  run --separate-stderr cage_sh 'printf "notes\n" > /workspace/.claude/notes.md'
  assert_success
}

@test "the same rules in the cow and tracked views" {
  command -v git >/dev/null || skip "git not installed"
  put src/a.c "int a;"
  git -C "$PROJECT" init -q
  git -C "$PROJECT" add src/a.c
  local view config
  config=$(cat "$PROJECT/.git/config")
  for view in cow tracked; do
    mount_probe --workspace-view "$view"
    run --separate-stderr make_agent_repo "new-$view"
    assert_success
    refused "printf '[core]\n\tfsmonitor = evil\n' > /workspace/new-$view/.git/config.lock && mv /workspace/new-$view/.git/config.lock /workspace/new-$view/.git/config" \
            "printf '[alias]\n\tx = !evil\n' | cat >> /workspace/new-$view/.git/config" \
            "printf x > /workspace/new-$view/.git/hooks/pre-push && chmod +x /workspace/new-$view/.git/hooks/pre-push" \
            "mv /workspace/new-$view/.git/hooks/pre-commit.sample /workspace/new-$view/.git/hooks/pre-commit" \
            "mkdir -p /workspace/evil /workspace/sub && mv /workspace/evil /workspace/sub/.git"
    run cage exec "$PROJECT" -- probe exchange /workspace/src /workspace/.git
    # (the tracked view does not show .git at all)
    [ "$status" -eq 1 ] && [[ $output == *"denied EACCES"* || ($view == tracked && $output == *"denied ENOENT"*) ]] \
      || fail "$view: exchange with .git: $output"
    run --separate-stderr cage_sh "printf '[user]\n\tname = a\n' | cat >> /workspace/new-$view/.git/config"
    assert_success
    cagefs umount "$PROJECT"
    if [ "$view" = cow ]; then cagefs accept "$PROJECT" >/dev/null; fi
  done
  assert_equal "$(cat "$PROJECT/.git/config")" "$config" "the project's own config"
  assert_host_clean
}
