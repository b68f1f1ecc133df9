#!/usr/bin/env bats
# Secrets in the workspace: hidden at any depth, never created over, the host
# file never read, replaced or removed.

load helpers

setup () { common_setup; require_namespaces; }

# Make every default secret at the top of the project and two levels down,
# plus ordinary files beside them.
make_secrets () {
  local d n
  for d in "" deep/er/; do
    put "${d}visible.txt" "plain"
    put "${d}.docker/visible.json" "{}"
    put "${d}.kube/visible" "plain"
    for n in "${SECRET_FILES[@]}"; do put "$d$n" "SECRET-$d$n"; done
    for n in "${SECRET_DIRS[@]}"; do put "$d$n/inside" "SECRET-$d$n/inside"; done
  done
}

# The names a listing of folder D (relative to the project) must not show.
hidden_names_in () {
  local n
  for n in "${SECRET_FILES[@]}" "${SECRET_DIRS[@]}"; do
    case $n in
      */*) [[ $1 == *"${n%/*}" ]] && echo "${n##*/}" ;;
      *) [[ $1 == */.docker || $1 == */.kube ]] || echo "$n" ;;
    esac
  done
}

@test "each default secret pattern is absent from ls -a, at any depth" {
  make_secrets
  mount_tools
  local d n fails=()
  for d in /workspace /workspace/.docker /workspace/.kube /workspace/deep/er \
    /workspace/deep/er/.docker /workspace/deep/er/.kube; do
    run --separate-stderr cage exec "$PROJECT" -- ls -1a "$d"
    [ "$status" -eq 0 ] || { fails+=("ls -a $d: exit $status: $stderr"); continue; }
    for n in $(hidden_names_in "$d"); do
      if printf '%s\n' "$output" | grep -qxF -- "$n"; then fails+=("$d/$n is listed"); fi
    done
    case $d in
      */.docker) n=visible.json ;; */.kube) n=visible ;; *) n=visible.txt ;;
    esac
    printf '%s\n' "$output" | grep -qxF "$n" || fails+=("$d/$n (not a secret) is not listed")
  done
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "each default secret pattern is ENOENT on lookup, at any depth" {
  make_secrets
  mount_tools
  local p fails=()
  for p in "${SECRET_FILES[@]}" "${SECRET_DIRS[@]}" "${SECRET_DIRS[@]/%//inside}"; do
    for p in "$p" "deep/er/$p"; do
      run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$p"
      if [ "$status" -eq 0 ] || [[ $stderr != *"No such file or directory"* ]]; then
        fails+=("cat /workspace/$p: exit $status, stderr: $stderr")
      fi
      [[ $output != *SECRET* ]] || fails+=("cat /workspace/$p printed the secret")
    done
  done
  run --separate-stderr cage exec "$PROJECT" -- stat /workspace/.ssh
  [[ $stderr == *"No such file or directory"* ]] || fails+=("stat .ssh: $stderr")
  run --separate-stderr cage exec "$PROJECT" -- grep -r SECRET /workspace
  [[ $output != *SECRET* ]] || fails+=("grep -r found secrets: $output")
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "the host side of the mount hides the secrets too" {
  make_secrets
  mount_tools
  local n fails=()
  for n in "${SECRET_FILES[@]}" "${SECRET_DIRS[@]}"; do
    [ ! -e "$MNT/workspace/$n" ] || fails+=("$MNT/workspace/$n exists")
  done
  run ls -a "$MNT/workspace"
  for n in .env .ssh id_rsa server.pem; do
    [[ " $(echo $output) " != *" $n "* ]] || fails+=("host ls -a lists $n")
  done
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "each default secret pattern cannot be created over (EACCES), host unchanged" {
  make_secrets
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_tools
  local p fails=()
  for p in "${SECRET_FILES[@]}" "${SECRET_DIRS[@]}"; do
    for p in "$p" "deep/er/$p"; do
      run --separate-stderr cage_sh 'echo pwned > "$1"' "/workspace/$p"
      if [ "$status" -eq 0 ] || [[ $stderr != *"Permission denied"* ]]; then
        fails+=("create /workspace/$p: exit $status, stderr: $stderr")
      fi
    done
  done
  # Inside a hidden folder: the folder does not exist for the cage.
  for p in "${SECRET_DIRS[@]/%//inside}"; do
    run --separate-stderr cage_sh 'echo pwned > "$1"' "/workspace/$p"
    [ "$status" -ne 0 ] || fails+=("create /workspace/$p succeeded")
  done
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "new names matching a pattern cannot be created (EACCES)" {
  mkdir -p "$PROJECT/.docker" "$PROJECT/.kube" "$PROJECT/sub"
  mount_tools
  local p fails=()
  for p in .env .env.test new.pem new.key id_rsa_backup id_ed25519_sk id_ecdsa.pub \
    .netrc .git-credentials .npmrc .pypirc .docker/config.json .kube/config \
    sub/.env sub/x.pem; do
    run --separate-stderr cage_sh 'echo new > "$1"' "/workspace/$p"
    if [ "$status" -eq 0 ] || [[ $stderr != *"Permission denied"* ]]; then
      fails+=("create /workspace/$p: exit $status, stderr: $stderr")
    fi
    [ ! -e "$PROJECT/$p" ] || fails+=("$PROJECT/$p appeared on the host")
  done
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "mkdir, mknod, symlink, link and rename onto a secret name are EACCES" {
  put .env "SECRET-env"
  put id_rsa "SECRET-key"
  put plain.txt "plain"
  put other.txt "other"
  mkdir "$PROJECT/plaindir"
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_tools
  local cmd fails=()
  for cmd in \
    "mkdir /workspace/.ssh" "mkdir /workspace/.gnupg" "mkdir /workspace/.aws" \
    "mkdir /workspace/.env" "mkdir /workspace/plaindir/.ssh" \
    "mkfifo /workspace/.netrc" "mknod /workspace/key.pem p" \
    "ln -s plain.txt /workspace/.env" "ln -s plain.txt /workspace/new.key" \
    "ln -s plain.txt /workspace/plaindir/id_ed25519" \
    "ln /workspace/plain.txt /workspace/.git-credentials" "ln /workspace/plain.txt /workspace/id_rsa" \
    "mv /workspace/plain.txt /workspace/.env" "mv /workspace/plain.txt /workspace/id_rsa" \
    "mv /workspace/other.txt /workspace/new.pem" "mv /workspace/plaindir /workspace/.ssh"; do
    run --separate-stderr cage_sh "$cmd"
    if [ "$status" -eq 0 ] || [[ $stderr != *"Permission denied"* ]]; then
      fails+=("'$cmd': exit $status, stderr: $stderr")
    fi
  done
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "secrets cannot be reached by rename, rm or a symlink from inside" {
  put .env "SECRET-env"
  put .ssh/id_rsa "SECRET-key"
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_tools
  local cmd fails=()
  for cmd in "mv /workspace/.env /workspace/not-secret" "rm -f /workspace/.env" \
    "rm -rf /workspace/.ssh" "mv /workspace/.ssh /workspace/ssh"; do
    run --separate-stderr cage_sh "$cmd"
    [ ! -e "$PROJECT/not-secret" ] && [ ! -e "$PROJECT/ssh" ] || fails+=("'$cmd' moved a secret")
  done
  run --separate-stderr cage_sh 'ln -s .env /workspace/link1 && cat /workspace/link1'
  assert_failure
  refute_contains "$output" SECRET "cat through a symlink made in the cage"
  rm -f "$PROJECT/link1"
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "the host secret file is never opened (fifo probe)" {
  mkfifo "$PROJECT/.env" "$PROJECT/id_rsa"
  local flag=$BATS_TEST_TMPDIR/opened
  # A writer blocks until somebody opens the fifo for reading.
  ( exec 2>/dev/null; printf 'SECRET\n' > "$PROJECT/.env" && touch "$flag" ) &
  local w1=$!
  ( exec 2>/dev/null; printf 'SECRET\n' > "$PROJECT/id_rsa" && touch "$flag" ) &
  local w2=$!
  put visible.txt plain
  mount_tools
  run --separate-stderr cage_sh 'ls -la /workspace; cat /workspace/.env; cat /workspace/id_rsa;
    echo x > /workspace/.env; mv /workspace/.env /workspace/e; stat /workspace/id_rsa; true'
  local seen=$output
  ls -la "$MNT/workspace" >/dev/null 2>&1 || true
  cat "$MNT/workspace/.env" >/dev/null 2>&1 || true
  run --separate-stderr cagefs umount "$PROJECT"
  sleep 0.3
  local opened=no
  [ ! -e "$flag" ] || opened=yes
  # Let the writers finish: open the fifos for reading ourselves.
  kill "$w1" "$w2" 2>/dev/null || true
  timeout 2 cat "$PROJECT/.env" >/dev/null 2>&1 || true
  timeout 2 cat "$PROJECT/id_rsa" >/dev/null 2>&1 || true
  wait "$w1" "$w2" 2>/dev/null || true
  assert_equal "$opened" no "a host secret fifo was opened for reading"
  assert_contains "$seen" visible.txt "ls -la /workspace in the cage"
  [ -p "$PROJECT/.env" ] && [ -p "$PROJECT/id_rsa" ] || fail "a host secret was replaced"
}

@test "cage.json blacklist globs and --blacklist flags hide more" {
  cat > "$PROJECT/cage.json" <<EOF
{ "store": { "packages": [ "$FIX_TOOLS" ] }, "blacklist": [ "*.secret", "config/prod.yml" ] }
EOF
  put notes.secret "SECRET-notes"
  put sub/deeper/more.secret "SECRET-more"
  put config/prod.yml "SECRET-prod"
  put prod.yml "visible"
  put config/dev.yml "visible"
  put token.txt "SECRET-token"
  put sub/token.txt "SECRET-token2"
  mount_project --blacklist 'token*'
  local p fails=()
  for p in notes.secret sub/deeper/more.secret config/prod.yml token.txt sub/token.txt; do
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$p"
    [[ $status -ne 0 && $stderr == *"No such file or directory"* ]] || fails+=("cat $p: $status $output $stderr")
  done
  for p in prod.yml config/dev.yml cage.json; do
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$p"
    [ "$status" -eq 0 ] || fails+=("cat $p (not a secret) failed: $stderr")
  done
  run --separate-stderr cage exec "$PROJECT" -- ls -1aR /workspace
  for p in notes.secret more.secret token.txt; do
    [[ $output != *"$p"* ]] || fails+=("ls -aR lists $p")
  done
  [[ $output == *dev.yml* ]] || fails+=("ls -aR does not list config/dev.yml")
  run --separate-stderr cage_sh 'echo x > /workspace/new.secret'
  [[ $status -ne 0 && $stderr == *"Permission denied"* ]] || fails+=("create new.secret: $status $stderr")
  run --separate-stderr cage_sh 'echo x > /workspace/token2'
  [[ $status -ne 0 && $stderr == *"Permission denied"* ]] || fails+=("create token2: $status $stderr")
  # The defaults still apply next to the extra globs.
  put .env "SECRET-env"
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/.env
  [ "$status" -ne 0 ] || fails+=(".env readable with extra globs")
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "gitignore rules: anchored, folder-only, ** and ! re-include, in the running view" {
  cat > "$PROJECT/cage.json" <<EOF2
{ "store": { "packages": [ "$FIX_TOOLS" ] },
  "blacklist": [ "/top.txt", "cache/", "**/deploy/*.yml", "*.log", "!keep.log", "!.env.example" ] }
EOF2
  put top.txt "SECRET-top"
  put sub/top.txt "visible-sub-top"
  put cache/data "SECRET-cache"
  put sub/cache "visible: a file named cache"
  put a/b/deploy/prod.yml "SECRET-prod"
  put deploy/x.yml "SECRET-x"
  put deploy/sub/y.yml "visible-deeper"
  put run.log "SECRET-log"
  put keep.log "visible-keep"
  put .env.example "visible-example"
  put .env "SECRET-env"
  mount_project
  local p fails=()
  for p in top.txt cache/data cache a/b/deploy/prod.yml deploy/x.yml run.log .env; do
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$p"
    [[ $status -ne 0 && $stderr == *"No such file or directory"* ]] \
      || fails+=("$p should be hidden: $status $output $stderr")
  done
  for p in sub/top.txt sub/cache deploy/sub/y.yml keep.log .env.example; do
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$p"
    [ "$status" -eq 0 ] && [[ $output == visible* ]] || fails+=("$p should be visible: $status $stderr")
  done
  run --separate-stderr cage exec "$PROJECT" -- ls -1a /workspace
  for p in top.txt cache run.log .env; do
    grep -qx "$p" <<<"$output" && fails+=("ls lists $p")
  done
  for p in keep.log .env.example sub; do
    grep -qx "$p" <<<"$output" || fails+=("ls does not list $p")
  done
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "\"blacklist\": {\"defaults\": false} turns the defaults off; cagefs check says what hides what" {
  put .env "not a secret here"
  put notes.secret "SECRET"
  put build/out.bin "SECRET-build"
  cat > "$PROJECT/cage.json" <<EOF2
{ "store": { "packages": [ "$FIX_TOOLS" ] },
  "blacklist": { "defaults": false, "patterns": [ "*.secret", "/build/" ] } }
EOF2
  run --separate-stderr cagefs check "$PROJECT"
  assert_success
  assert_contains "$output" "notes.secret	(pattern \"*.secret\")"
  assert_contains "$output" "build/	(pattern \"/build/\")"
  assert_contains "$output" "2 hidden in"
  run --separate-stderr cagefs check --json "$PROJECT"
  assert_success
  assert_equal "$(jq -r '.count, .defaults' <<<"$output" | tr '\n' ' ')" "2 false " "check --json"
  mount_project
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/.env
  assert_success
  assert_equal "$output" "not a secret here"
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/notes.secret
  assert_failure
  # With the defaults on (the default), check lists .env with its pattern.
  cat > "$PROJECT/cage.json" <<EOF2
{ "store": { "packages": [ "$FIX_TOOLS" ] } }
EOF2
  run --separate-stderr cagefs check "$PROJECT" --blacklist '*.secret'
  assert_success
  assert_contains "$output" ".env	(pattern \".env\")"
  assert_contains "$output" "notes.secret	(pattern \"*.secret\")"
}

@test "a workspace deeper than the hard-link walk goes: mount warns in one line; links it met stay hidden" {
  put .env "SECRET-env"
  ln "$PROJECT/.env" "$PROJECT/innocent.txt"
  local deep
  deep=$(printf 'd/%.0s' {1..300})
  mkdir -p "$PROJECT/$deep"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_success
  MOUNTED_MNTS+=("$output")
  [ "$(printf '%s\n' "$stderr" | grep -c .)" -eq 1 ] || fail "expected one warning line:" "$stderr"
  assert_contains "$stderr" "cagefs: warning: \`$PROJECT\`: hard links to hidden files were looked for only among" \
    "the mount's warning"
  assert_contains "$stderr" "deeper than 256 levels" "the mount's warning"
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/innocent.txt
  assert_failure
  refute_contains "$output" SECRET
  # a mount without such a tree says nothing
  local other
  other=$(new_project)
  EXTRA_PROJECTS+=("$other")
  run --separate-stderr cagefs mount "$other" --package "$FIX_TOOLS"
  assert_success
  assert_equal "$stderr" "" "stderr of a plain mount"
}
