#!/usr/bin/env bats
# Real agent work in the cage: the host's own git, python3 (venv, pip) and
# node (npm), re-rooted into the Nix store by tests/fixtures/real-tools.sh
# (FIX_GIT, FIX_PYTHON, FIX_NODE), run on /workspace in each workspace view
# (direct, cow, tracked).  Nothing here uses the network: the bare
# repository, the npm cache and the wheel are made by the test on the host.

load helpers

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; }

# need_fix VAR: skip unless the fixture built that program.
need_fix () {
  local miss=${1}_MISSING
  [ -n "${!1:-}" ] || skip "no $1 fixture: ${!miss:-not built by tests/fixtures/build.sh}"
}

# The inputs of the work (shared with bench/real-tools).
. "$BATS_TEST_DIRNAME/../fixtures/real-work.sh"
host_git () { rw_git "$@"; }

# Inside the cage: git with an identity and no system or global config.
CAGE_GIT='git -c user.name=agent -c user.email=agent@cage -c init.defaultBranch=main'

up_repo () { rw_up_repo "$PROJECT" "$BATS_TEST_TMPDIR" || fail "the bare repository"; }
npm_fixture () { rw_npm "$PROJECT" "$BATS_TEST_TMPDIR" || fail "the npm fixture"; }
wheel_fixture () { rw_wheel "$PROJECT" || fail "the wheel"; }

# grep_fixture: files to walk and grep, one secret that must stay hidden.
grep_fixture () {
  put src/a.txt "one NEEDLE here"
  put src/deep/er/b.txt "NEEDLE again"
  put src/c.txt "nothing"
  put .env "NEEDLE=secret"
  rw_walk_script "$PROJECT"
}

# mount_view VIEW: mount $PROJECT in VIEW with the tools and every real
# program built.  For "tracked" the project becomes a git work tree with
# everything the test put there tracked (so the agent sees it).
mount_view () {
  local view=$1 p pkgs=(--package "$FIX_TOOLS")
  for p in "$FIX_GIT" "$FIX_PYTHON" "$FIX_NODE"; do [ -z "$p" ] || pkgs+=(--package "$p"); done
  if [ "$view" = tracked ]; then
    need_fix FIX_GIT
    host_git -C "$PROJECT" init -q
    host_git -C "$PROJECT" add -A .
    host_git -C "$PROJECT" commit -q --allow-empty -m project
  fi
  mount_project "${pkgs[@]}" --workspace-view "$view"
}

# ---- the checks, one function per kind of work ------------------------------

# git reads the host's repository and clones it outside /workspace: nothing
# here makes a repository in the project (no protected .git/hooks, .git/config).
check_git_reads () {
  need_fix FIX_GIT
  up_repo
  mount_view "$1"
  run --separate-stderr cage_sh "git --version && git -C /workspace/up.git log --format=%s &&
    $CAGE_GIT clone -q --bare /workspace/up.git /tmp/c.git && git -C /tmp/c.git log --format=%s main"
  assert_success
  assert_contains "$output" "git version" "git --version"
  assert_equal "$(tail -n 2 <<<"$output")" "first commit"$'\n'"first commit" "log of up.git and of the clone"
}

# (These two need new repositories the agent makes to be writable: the
# protected-file defaults refused .git/hooks and .git/config in them.)
check_git_clone_commit () {
  need_fix FIX_GIT
  up_repo
  mount_view "$1"
  run --separate-stderr cage_sh "$CAGE_GIT clone -q /workspace/up.git /workspace/clone &&
    echo edited >> /workspace/clone/README &&
    $CAGE_GIT -C /workspace/clone commit -qam 'agent edit' &&
    git -C /workspace/clone log --format=%s && cat /workspace/clone/README &&
    git -C /workspace/clone status --porcelain"
  assert_success
  assert_equal "$output" "agent edit
first commit
hello
edited" "log, README, clean status"
  # the upstream is untouched until a push
  run --separate-stderr cage_sh 'git -C /workspace/up.git log --format=%s'
  assert_success
  assert_equal "$output" "first commit" "up.git log"
  run --separate-stderr cage_sh "$CAGE_GIT -C /workspace/clone push -q origin HEAD:main &&
    git -C /workspace/up.git log --format=%s"
  assert_success
  assert_equal "$output" "agent edit"$'\n'"first commit" "up.git log after the push"
}

check_git_init_commit () {
  need_fix FIX_GIT
  mount_view "$1"
  run --separate-stderr cage_sh "$CAGE_GIT init -q /workspace/newrepo && cd /workspace/newrepo &&
    echo a > a.txt && mkdir -p d && echo b > d/b.txt && $CAGE_GIT add -A &&
    $CAGE_GIT commit -qm 'first in the cage' && git log --format=%s && git ls-files &&
    ls .git/hooks | grep -c sample"
  assert_success
  assert_equal "$(head -n 3 <<<"$output")" "first in the cage
a.txt
d/b.txt" "log and files"
  [ "$(tail -n 1 <<<"$output")" -gt 0 ] || fail "no sample hooks from the templates: $output"
}

# git worktree add in the project's own repository (present at mount, so
# protected): the worktree's files and .git/worktrees/NAME are the agent's,
# the repository's config and hooks stay the host's.
check_git_worktree () {
  need_fix FIX_GIT
  put a.txt "a"
  host_git -C "$PROJECT" init -q
  host_git -C "$PROJECT" add a.txt
  host_git -C "$PROJECT" commit -qm project
  local config
  config=$(cat "$PROJECT/.git/config")
  mount_view direct
  run --separate-stderr cage_sh "cd /workspace && $CAGE_GIT worktree add -q /workspace/wt -b feature &&
    cd wt && echo b > b.txt && $CAGE_GIT add b.txt && $CAGE_GIT commit -qm 'in a worktree' &&
    git log --format=%s feature"
  assert_success
  assert_equal "$output" "in a worktree
project" "the worktree's log"
  assert_equal "$(host_git -C "$PROJECT" log --format=%s feature | head -n 1)" "in a worktree" "the host sees the branch"
  assert_equal "$(cat "$PROJECT/.git/config")" "$config" "the project's config"
}

check_npm_ci () {
  need_fix FIX_NODE
  npm_fixture
  mount_view "$1"
  run --separate-stderr cage_sh 'cd /workspace/app &&
    npm ci --offline --cache /workspace/npm-cache --no-audit --no-fund --loglevel=error >/dev/null &&
    node -e "console.log(require(\"cage-dep\")())"'
  assert_success
  assert_equal "$output" "cage-dep works" "require of the installed package"
}

# (Fails while the default blacklist refuses to create *.pem files in the
# workspace: ensurepip installs pip, whose vendored certifi ships
# site-packages/pip/_vendor/certifi/cacert.pem.)
check_venv_pip () {
  need_fix FIX_PYTHON
  wheel_fixture
  mount_view "$1"
  run --separate-stderr cage_sh 'python3 -m venv /workspace/venv &&
    /workspace/venv/bin/pip install -q --no-index --find-links /workspace/wheels hello-cage &&
    /workspace/venv/bin/python -c "import hello_cage, sys; print(hello_cage.hello(), sys.prefix)"'
  assert_success
  assert_equal "$output" "hello from a wheel /workspace/venv" "the wheel, in the venv"
}

# The same without pip in the venv (ensurepip writes pip's cacert.pem): the
# store's pip installs into it.
check_venv_without_pip () {
  need_fix FIX_PYTHON
  wheel_fixture
  mount_view "$1"
  run --separate-stderr cage_sh 'python3 -m venv --without-pip /workspace/venv &&
    python3 -m pip --python /workspace/venv/bin/python install -q --no-index \
      --find-links /workspace/wheels hello-cage &&
    /workspace/venv/bin/python -c "import hello_cage, sys; print(hello_cage.hello(), sys.prefix)"'
  assert_success
  assert_equal "$output" "hello from a wheel /workspace/venv" "the wheel, in the venv"
}

check_walk_grep () {
  need_fix FIX_PYTHON
  grep_fixture
  mount_view "$1"
  run --separate-stderr cage_sh 'python3 /workspace/walk.py /workspace'
  assert_success
  assert_equal "$output" "src/a.txt
src/deep/er/b.txt" "files holding NEEDLE (.env hidden)"
  assert_contains "$stderr" "files: " "the walk's count"
}

# ---- the tests: every check in every view -----------------------------------

@test "direct: git runs, reads the host's repository, clones it into /tmp" { check_git_reads direct; }
@test "cow: git runs, reads the host's repository, clones it into /tmp" { check_git_reads cow; }
@test "tracked: git runs, reads the host's repository, clones it into /tmp" { check_git_reads tracked; }

@test "direct: git clone of a bare repository, commit, log, push" { check_git_clone_commit direct; }
@test "cow: git clone of a bare repository, commit, log, push" { check_git_clone_commit cow; }
@test "tracked: git clone of a bare repository, commit, log, push" { check_git_clone_commit tracked; }

@test "direct: git init of a new repository and a first commit" { check_git_init_commit direct; }
@test "cow: git init of a new repository and a first commit" { check_git_init_commit cow; }
@test "tracked: git init of a new repository and a first commit" { check_git_init_commit tracked; }

@test "direct: git worktree add in the project's repository, a commit there" { check_git_worktree; }

@test "direct: npm ci --offline from a local cache" { check_npm_ci direct; }
@test "cow: npm ci --offline from a local cache" { check_npm_ci cow; }
@test "tracked: npm ci --offline from a local cache" { check_npm_ci tracked; }

@test "direct: python3 -m venv, pip install of a local wheel" { check_venv_pip direct; }
@test "cow: python3 -m venv, pip install of a local wheel" { check_venv_pip cow; }
@test "tracked: python3 -m venv, pip install of a local wheel" { check_venv_pip tracked; }

@test "direct: a venv without pip, the store's pip installs a local wheel into it" { check_venv_without_pip direct; }
@test "cow: a venv without pip, the store's pip installs a local wheel into it" { check_venv_without_pip cow; }
@test "tracked: a venv without pip, the store's pip installs a local wheel into it" { check_venv_without_pip tracked; }

@test "direct: a python script walks and greps the project" { check_walk_grep direct; }
@test "cow: a python script walks and greps the project" { check_walk_grep cow; }
@test "tracked: a python script walks and greps the project" { check_walk_grep tracked; }
