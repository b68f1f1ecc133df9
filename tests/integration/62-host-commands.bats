#!/usr/bin/env bats
# Host commands trust nothing the agent left: `cagefs accept`, `discard`,
# `diff` and `audit` run on the host (often as root) and read the cow
# layer and the audit log the agent filled.  They never follow a symlink
# of the layer or the project, never trust a marker the daemon did not
# write (and the daemon refuses the names markers have), never apply a
# change to a protected or hidden path, and print the agent's names,
# contents and process names escaped.

load helpers

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; }

mount_cow () { mount_tools --workspace-view cow "$@"; }

# The project's cow upper layer (after a first cow mount).
upper () { echo "$(cagefs status "$PROJECT" --json | jq -r .state_dir)/cow/upper"; }

# A fingerprint of a tree for "untouched": names, types, sizes, modes,
# mtimes, link targets and contents (inodes may change: nothing is
# replaced there, but the assertion need not rely on it).
untouched_print () {
  (cd "$1" && find . -printf '%p %y %s %m %T@ %l\n' | LC_ALL=C sort \
    && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

audit_json () {
  cagefs audit "$PROJECT" --json | jq -s . || fail "cagefs audit --json printed a line that is not JSON"
}

# assert_audit OP PATH RESULT: the log has such an entry.
assert_audit () {
  local n
  n=$(audit_json | jq --arg op "$1" --arg path "$2" --arg result "$3" \
    '[.[] | select(.op == $op and .path == $path and .result == $result)] | length')
  [ "$n" -ge 1 ] || fail "no audit entry {op: $1, path: $2, result: $3}; the log:" \
    "$(cagefs audit "$PROJECT" --json)"
}

# A sentinel folder next to the project: what accept must never touch.
make_sentinel () {
  SENTINEL=$(new_project)
  EXTRA_PROJECTS+=("$SENTINEL")
  mkdir "$SENTINEL/dir"
  chmod 0750 "$SENTINEL/dir"
  printf 'sentinel\n' > "$SENTINEL/file"
  chmod 0640 "$SENTINEL/file"
  printf 'inner\n' > "$SENTINEL/dir/inner"
}

# ---------------------------------------------------------------------------
# host commands trust nothing the agent left

@test "cow: the daemon refuses reserved names at create, mkdir, mknod, symlink, link and rename, with audit entries" {
  put a.txt "alpha"
  mount_cow
  # each one alone, so each refusal is its own (and none hides another)
  local op script
  for script in 'echo x > .cagefs-wh.a.txt' 'mkdir .cagefs-opaque' 'mkfifo .cagefs-origin.a.txt' \
    'ln -s /etc/passwd .cagefs-wh.b' 'echo l > l.txt && ln l.txt .cagefs-wh.l' \
    'echo r > r.txt && mv r.txt .cagefs-origin.r.txt' 'mkdir -p sub && echo x > sub/.cagefs-xyz'; do
    run --separate-stderr cage_sh "$script"
    assert_failure
    assert_contains "$stderr" "Permission denied" "$script"
  done
  assert_audit create /workspace/.cagefs-wh.a.txt denied
  assert_audit mkdir /workspace/.cagefs-opaque denied
  assert_audit mknod /workspace/.cagefs-origin.a.txt denied
  assert_audit symlink /workspace/.cagefs-wh.b denied
  assert_audit link /workspace/.cagefs-wh.l denied
  assert_audit rename /workspace/.cagefs-origin.r.txt denied
  assert_audit create /workspace/sub/.cagefs-xyz denied
  cagefs umount "$PROJECT"
  # nothing under a reserved name reached the layer
  local found
  # (r.txt's own origin marker is the daemon's: r.txt was made by the agent)
  found=$(find "$(upper)" -name '.cagefs-wh.a.txt' -o -name '.cagefs-opaque' -o -name '.cagefs-wh.b' \
    -o -name '.cagefs-wh.l' -o -name '.cagefs-xyz' -o -name '.cagefs-origin.a.txt')
  assert_equal "$found" "" "reserved names in the layer"
  [ -f "$(upper)/r.txt" ] || fail "r.txt was moved"
  [ -f "$PROJECT/a.txt" ] || fail "a.txt gone"
}

@test "cow: a rename from a reserved name is refused too (the old name)" {
  put a.txt "alpha"
  mount_cow
  cagefs umount "$PROJECT"
  # (a marker the daemon wrote cannot be reached by the agent: a lookup
  # of it is ENOENT; the rename check comes first all the same)
  mount_cow
  run --separate-stderr cage_sh 'mv .cagefs-opaque x'
  assert_failure
  run --separate-stderr cage_sh 'cat a.txt'
  assert_success
}

@test "accept: a symlink in the project where the agent's folder goes is never followed (no chmod lands outside)" {
  make_sentinel
  put a.txt "alpha"
  ln -s "$SENTINEL/dir" "$PROJECT/lnk"
  before=$(untouched_print "$SENTINEL")
  mount_cow
  run --separate-stderr cage_sh 'rm lnk && mkdir lnk && chmod 0777 lnk && echo x > lnk/f'
  assert_success
  cagefs umount "$PROJECT"
  # Only the file: the host's symlink stays where the agent's folder goes,
  # and neither the folder's mode nor the file may go through it.
  run --separate-stderr cagefs accept "$PROJECT" lnk/f
  assert_failure
  assert_contains "$stderr" "\`lnk\` in the project is a symlink" "accept error"
  assert_contains "$stderr" "lnk" "accept errors"
  assert_equal "$(untouched_print "$SENTINEL")" "$before" "sentinel after accept"
  [ -L "$PROJECT/lnk" ] || fail "the host's symlink was replaced"
}

@test "accept: a symlink in the project on the way to a file is never followed" {
  make_sentinel
  mkdir "$PROJECT/d"
  put d/f "host"
  mount_cow
  run --separate-stderr cage_sh 'echo agent > d/f && echo new > d/g'
  assert_success
  cagefs umount "$PROJECT"
  # (the user replaced the folder by a symlink meanwhile)
  rm -r "$PROJECT/d"
  ln -s "$SENTINEL/dir" "$PROJECT/d"
  before=$(untouched_print "$SENTINEL")
  run --separate-stderr cagefs accept "$PROJECT" d/f d/g
  assert_failure
  assert_contains "$stderr" "\`d/f\`" "accept errors"
  assert_contains "$stderr" "\`d\` in the project is a symlink" "accept errors"
  assert_equal "$(untouched_print "$SENTINEL")" "$before" "sentinel after accept"
  [ -L "$PROJECT/d" ] || fail "the symlink was replaced"
}

@test "accept: symlinks the agent made stay symlinks; what they point to (outside, protected) is untouched" {
  make_sentinel
  put a.txt "alpha"
  put .envrc "export X=1"
  before=$(untouched_print "$SENTINEL")
  envrc=$(untouched_print "$PROJECT" | grep envrc)
  mount_cow
  run --separate-stderr cage_sh "ln -s '$SENTINEL/file' out && ln -s .envrc rc && ln -s '$SENTINEL/dir' outdir &&
    chmod 0777 out || true"
  assert_success
  cagefs umount "$PROJECT"
  # the layer's folder replaced by a symlink to the sentinel
  mkdir -p "$(upper)/made"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_success
  assert_equal "$(readlink "$PROJECT/out")" "$SENTINEL/file" "out"
  assert_equal "$(readlink "$PROJECT/rc")" ".envrc" "rc"
  assert_equal "$(untouched_print "$SENTINEL")" "$before" "sentinel after accept"
  assert_equal "$(untouched_print "$PROJECT" | grep envrc | grep -v '^./rc')" "$envrc" ".envrc after accept"
}

@test "accept: a symlink in the upper layer where a folder was is never followed" {
  make_sentinel
  mkdir "$PROJECT/d"
  put d/f "host"
  mount_cow
  run --separate-stderr cage_sh 'echo agent > d/f && mkdir e && echo e > e/g'
  assert_success
  cagefs umount "$PROJECT"
  # swap the layer's folders for symlinks to the sentinel
  u=$(upper)
  rm -rf "$u/d" "$u/e"
  ln -s "$SENTINEL/dir" "$u/d"
  ln -s "$SENTINEL" "$u/e"
  before=$(untouched_print "$SENTINEL")
  run --separate-stderr cagefs accept "$PROJECT"
  assert_equal "$(untouched_print "$SENTINEL")" "$before" "sentinel after accept"
  # what the project holds now are symlinks, nothing copied from the sentinel
  [ ! -e "$PROJECT/d/inner" ] || [ -L "$PROJECT/d" ] || fail "the sentinel's file was copied in"
  [ ! -f "$PROJECT/e/file" ] || [ -L "$PROJECT/e" ] || fail "the sentinel's file was copied in"
}

@test "accept: forged markers (a symlink, a folder, a FIFO, a hard link, too big, another owner) are trusted for nothing" {
  put keep1 "1"
  put keep2 "2"
  put keep3 "3"
  put keep4 "4"
  put keep5 "5"
  put keep6 "6"
  mkdir "$PROJECT/sub"
  put sub/keep "s"
  mount_cow
  run --separate-stderr cage_sh 'echo n > new.txt'
  assert_success
  cagefs umount "$PROJECT"
  u=$(upper)
  ln -s /dev/null "$u/.cagefs-wh.keep1"
  mkdir "$u/.cagefs-wh.keep2"
  mkfifo "$u/.cagefs-wh.keep3"
  printf '1 2 3 4\n' > "$u/../x"
  ln "$u/../x" "$u/.cagefs-wh.keep4"
  head -c 5000 /dev/zero > "$u/.cagefs-wh.keep5"
  mkdir "$u/sub"
  ln -s /dev/null "$u/sub/.cagefs-opaque"
  if [ "$(id -u)" = 0 ]; then
    printf '1 2 3 4\n' > "$u/.cagefs-wh.keep6"
    chown 65534 "$u/.cagefs-wh.keep6"
  fi
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r '[.changes[].path] | join(" ")' <<<"$output")" "new.txt" "changes"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_success
  for f in keep1 keep2 keep3 keep4 keep5 keep6 sub/keep; do
    [ -f "$PROJECT/$f" ] || fail "$f deleted by a forged whiteout"
  done
  assert_equal "$(cat "$PROJECT/new.txt")" n "new.txt"
}

@test "accept: changes to protected and hidden paths are refused, one line each; the rest applies" {
  put a.txt "alpha"
  put .envrc "export X=1"
  put .env "SECRET=1"
  put cage.json '{}'
  mkdir -p "$PROJECT/.git/hooks"
  put .git/hooks/pre-commit "#!/bin/sh"
  chmod 0755 "$PROJECT/.git/hooks"
  put renamed-src.txt "r"
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo new > new.txt'
  assert_success
  cagefs umount "$PROJECT"
  before=$(cd "$PROJECT" && untouched_print . | grep -E '\./(\.envrc|\.env|cage\.json|\.git)')
  # A layer the daemon would never write (markers as it writes them):
  u=$(upper)
  printf 'export EVIL=1\n' > "$u/.envrc"                          # write
  : > "$u/.cagefs-wh.cage.json"                                   # delete
  printf 'LEAK=1\n' > "$u/.env"                                   # write a hidden file
  : > "$u/.cagefs-wh.renamed-src.txt"
  mkdir -p "$u/.git/hooks"                                        # chmod
  chmod 0777 "$u/.git/hooks"
  printf 'evil\n' > "$u/.git/hooks/post-checkout"                 # create
  run --separate-stderr cagefs accept "$PROJECT"
  assert_failure
  assert_contains "$stderr" "refused: .envrc is protected" "accept stderr"
  assert_contains "$stderr" "refused: cage.json is protected" "accept stderr"
  assert_contains "$stderr" "refused: .env is hidden" "accept stderr"
  assert_contains "$stderr" "refused: .git/hooks is protected" "accept stderr"
  assert_contains "$stderr" "refused: .git/hooks/post-checkout is protected" "accept stderr"
  # one line a refusal
  assert_equal "$(grep -c 'refused: ' <<<"$stderr")" 5 "refusal lines"
  assert_equal "$(cd "$PROJECT" && untouched_print . | grep -E '\./(\.envrc|\.env|cage\.json|\.git)')" \
    "$before" "protected and hidden files after accept"
  [ ! -e "$PROJECT/.git/hooks/post-checkout" ] || fail "a hook was created"
  # the rest went through
  assert_equal "$(cat "$PROJECT/a.txt" "$PROJECT/new.txt")" "alpha"$'\n'"more"$'\n'"new" "accepted files"
  [ ! -e "$PROJECT/renamed-src.txt" ] || fail "renamed-src.txt not deleted"
  # --json lists the refusals
  run --separate-stderr cagefs accept "$PROJECT" --json
  assert_failure
  assert_equal "$(jq -r '[.refused[] | "\(.path):\(.reason)"] | sort | join(" ")' <<<"$output")" \
    ".env:hidden .envrc:protected .git/hooks/post-checkout:protected .git/hooks:protected cage.json:protected" \
    "refused in --json"
  # discard drops them
  run --separate-stderr cagefs discard "$PROJECT"
  assert_success
  run --separate-stderr cagefs accept "$PROJECT"
  assert_success
}

@test "accept: a folder deletion with a protected file below it is refused; set-uid bits are never applied" {
  mkdir -p "$PROJECT/app"
  put app/main.c "int main;"
  put app/.envrc "export X=1"
  mount_cow
  run --separate-stderr cage_sh 'rm app/main.c && echo s > tool'
  assert_success
  cagefs umount "$PROJECT"
  u=$(upper)
  rm -rf "$u/app"
  : > "$u/.cagefs-wh.app"
  chmod 04755 "$u/tool"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_failure
  assert_contains "$stderr" "refused: app/.envrc is protected" "accept stderr"
  assert_contains "$stderr" "refused: app is a folder of protected entries" "accept stderr"
  [ -f "$PROJECT/app/.envrc" ] || fail "app/.envrc deleted"
  [ ! -e "$PROJECT/app/main.c" ] || fail "app/main.c not deleted"
  assert_equal "$(stat -c %a "$PROJECT/tool")" 755 "mode of tool"
}

@test "diff and audit show names, contents and process names escaped; --json stays exact" {
  put a.txt "alpha"
  mount_cow
  name=$'a\nb\e[31m'
  # (a script's process name is its file name: the shell running it makes
  # the refused file)
  run --separate-stderr cage_sh 'printf "x\033]0;pwned\007\n" > "$1"; printf "y\n" > "$2";
    touch "$3" 2>/dev/null; printf "#!/bin/sh\n: > \"\$1\"\n" > /tmp/"$4" && chmod +x /tmp/"$4" &&
    /tmp/"$4" "$5" 2>/dev/null; true' \
    "$name" $'c\xff\xc2\x9bd' $'.cagefs-\n12:00:00.000 lookup .env hidden (pid 1 sh)' \
    $'t\e[1mq' $'.cagefs-p'
  assert_success
  run --separate-stderr cagefs diff "$PROJECT"
  assert_success
  [[ $output != *$'\e'* ]] || fail "diff printed an escape character: $output"
  [[ $output != *$'\xc2\x9b'* ]] || fail "diff printed a C1 control"
  assert_contains "$output" 'diff --cagefs a/a\x0ab\x1b[31m b/a\x0ab\x1b[31m' "diff"
  assert_contains "$output" '+x\x1b]0;pwned\x07' "diff content"
  assert_contains "$output" 'b/c\xff\xc2\x9bd' "diff"
  run --separate-stderr cagefs diff "$PROJECT" --stat
  assert_success
  [[ $output != *$'\e'* ]] || fail "diff --stat printed an escape character"
  assert_equal "$(grep -c '' <<<"$output")" 3 "diff --stat lines (2 files and the summary)"
  assert_contains "$output" ' a\x0ab\x1b[31m | ' "diff --stat"
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r '.changes[0].path' <<<"$output")" "$name" "exact name in --json"
  # audit: one line an entry, the newline and escapes in the path and the
  # process name shown escaped
  run --separate-stderr cagefs audit "$PROJECT"
  assert_success
  [[ $output != *$'\e'* ]] || fail "audit printed an escape character: $output"
  n=$(audit_json | jq length)
  assert_equal "$(grep -c '' <<<"$output")" "$n" "audit lines vs entries"
  assert_contains "$output" 'create /workspace/.cagefs-\x0a12:00:00.000 lookup .env hidden (pid 1 sh) denied' "audit"
  assert_contains "$output" '(pid ' "audit"
  assert_contains "$output" 't\x1b[1mq)' "audit process name"
  run --separate-stderr cagefs audit "$PROJECT" --json
  assert_equal "$(jq -rs '[.[] | select(.op == "create")][0].path' <<<"$output")" \
    $'/workspace/.cagefs-\n12:00:00.000 lookup .env hidden (pid 1 sh)' "exact path in --json"
  # accept prints the names escaped as well
  cagefs umount "$PROJECT"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_success
  [[ $output != *$'\e'* ]] || fail "accept printed an escape character"
  assert_contains "$output" 'accepted a\x0ab\x1b[31m' "accept"
  [ -f "$PROJECT/$name" ] || fail "the file was not accepted under its exact name"
}

# ---------------------------------------------------------------------------
# A property: whatever the layer holds, accept changes nothing outside the
# project and nothing protected or hidden in it.  Random layers from a fixed
# seed (CAGEFS_ACCEPT_SEED overrides it; a failure names the round).

# The project every round starts from: plain files and folders, hidden and
# protected ones, and symlinks to the sentinel.
base_project () {
  find "$PROJECT" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  put a.txt "alpha"
  put b.txt "bravo"
  mkdir -p "$PROJECT/d/sub" "$PROJECT/.git/hooks" "$PROJECT/.ssh"
  put d/e.txt "echo"
  put d/sub/f.txt "foxtrot"
  put .env "SECRET=1"
  put .ssh/id "KEY"
  put .envrc "export X=1"
  put cage.json '{}'
  put .git/hooks/pre-commit "#!/bin/sh"
  put .git/config "[core]"
  ln -s "$SENTINEL/dir" "$PROJECT/plink"
  ln -s "$SENTINEL/file" "$PROJECT/pfile"
  touch -h -d '2020-01-01 00:00:00' "$PROJECT"/* "$PROJECT"/.[!.]* "$PROJECT"/*/* "$PROJECT"/.*/*
}

# What must never change in the project: the hidden and protected entries.
guarded_print () {
  (cd "$PROJECT" && find ./.env ./.ssh ./.envrc ./cage.json ./.git/hooks ./.git/config -printf '%p %y %s %m %T@ %l\n' 2>&1 \
    | LC_ALL=C sort && find ./.env ./.ssh ./.envrc ./cage.json ./.git/hooks ./.git/config -type f -exec sha256sum {} + 2>&1 \
    | LC_ALL=C sort)
}

POOL=(a.txt b.txt c.txt d d/e.txt d/sub d/sub/f.txt n n/new.txt .env .envrc cage.json .git
  .git/hooks .git/hooks/pre-commit .git/hooks/post-checkout .git/config .ssh .ssh/id plink
  plink/x pfile)

pick () { local -n a=$1; echo "${a[RANDOM % ${#a[@]}]}"; }

# One random entry of the layer U.
random_op () {
  local u=$1 p parent name t
  p=$(pick POOL)
  parent=$(dirname "$p"); name=$(basename "$p")
  [ "$parent" = . ] && parent=""
  local targets=("$SENTINEL/file" "$SENTINEL/dir" "$SENTINEL" /etc/passwd ../../.. .envrc ../.env
    "$PROJECT/.envrc" "$SENTINEL/dir/inner")
  local origins=("${POOL[@]}" ../x /etc/passwd "$SENTINEL/file" "../$(basename "$SENTINEL")/file" "")
  # The builder itself never writes through a symlink it made: a symlink
  # on the way ends this op, one at the end is replaced.
  local c="" comp
  for comp in ${parent//\// }; do
    c=${c:+$c/}$comp
    [ ! -L "$u/$c" ] || return 0
    [ ! -e "$u/$c" ] || [ -d "$u/$c" ] || return 0
  done
  mkdir -p "$u/$parent" 2>/dev/null || return 0
  [ ! -L "$u/$p" ] || rm -f "$u/$p"
  [ ! -L "$u/$parent/.cagefs-wh.$name" ] || rm -f "$u/$parent/.cagefs-wh.$name"
  [ ! -L "$u/$parent/.cagefs-origin.$name" ] || rm -f "$u/$parent/.cagefs-origin.$name"
  [ ! -L "$u/$parent/.cagefs-opaque" ] || rm -f "$u/$parent/.cagefs-opaque"
  # nor opens a FIFO it made (the open would wait for a reader forever)
  local f
  for f in "$u/$p" "$u/$parent/.cagefs-wh.$name" "$u/$parent/.cagefs-origin.$name" \
           "$u/$parent/.cagefs-opaque"; do
    [ ! -p "$f" ] || rm -f "$f"
  done
  local op=$((RANDOM % 13))
  # (a step that cannot be made on this layer is skipped)
  { case $op in
    0|1) printf 'agent %s\n' "$RANDOM" 2>/dev/null > "$u/$p" ;;
    2) ln -sfn "$(pick targets)" "$u/$p" 2>/dev/null ;;
    3) : 2>/dev/null > "$u/$parent/.cagefs-wh.$name" ;;
    4) printf '%s %s 0 %s\n' "$RANDOM" "$RANDOM" "$RANDOM" 2>/dev/null > "$u/$parent/.cagefs-wh.$name" ;;
    5) printf '0 0 0 0\n%s\n' "$(pick origins)" 2>/dev/null > "$u/$parent/.cagefs-origin.$name" ;;
    6) : 2>/dev/null > "$u/$parent/.cagefs-opaque" ;;
    7) ln -sfn "$SENTINEL/file" "$u/$parent/.cagefs-wh.$name" 2>/dev/null
       mkdir -p "$u/$parent/.cagefs-origin.$name" 2>/dev/null ;;
    8) ln -fT "$SENTINEL/file" "$u/$p" 2>/dev/null
       ln -fT "$PROJECT/.envrc" "$u/$parent/.cagefs-wh.$name" 2>/dev/null ;;
    9) if [ -d "$u/$p" ] && [ ! -L "$u/$p" ]; then rm -rf "${u:?}/$p"; ln -s "$SENTINEL/dir" "$u/$p"; fi ;;
    10) [ ! -e "$u/$p" ] || [ -L "$u/$p" ] || chmod "$(pick MODES)" "$u/$p" 2>/dev/null ;;
    11) mkfifo "$u/$p" 2>/dev/null ;;
    12) # the project itself: a folder replaced by a symlink to the sentinel
        if [ -d "$PROJECT/d" ] && [ ! -L "$PROJECT/d" ]; then
          rm -rf "$PROJECT/d"; ln -s "$SENTINEL/dir" "$PROJECT/d"
        fi ;;
  esac; } || true
  return 0
}
MODES=(0644 0755 04755 02755 01777 0600 0700 0444)

@test "accept against random hostile layers (CAGEFS_ACCEPT_ROUNDS, default 10): the sentinel, /etc/passwd, hidden and protected files stay untouched" {
  make_sentinel
  mkdir "$SENTINEL/dir/deep"
  printf 'deep\n' > "$SENTINEL/dir/deep/f"
  touch -d '2020-01-01 00:00:00' "$SENTINEL/file" "$SENTINEL/dir/inner" "$SENTINEL/dir/deep/f"
  base_project
  mount_cow
  cagefs umount "$PROJECT"
  local u seed round k status_ok passwd_before
  u=$(upper)
  [ -d "$u" ] || fail "no cow layer at $u"
  seed=${CAGEFS_ACCEPT_SEED:-1517}
  passwd_before=$(sha256sum /etc/passwd; stat -c '%s %m %Y' /etc/passwd)
  for round in $(seq 1 "${CAGEFS_ACCEPT_ROUNDS:-10}"); do
    RANDOM=$((seed + round))
    base_project
    chmod -R u+rwX "$u" 2>/dev/null || true
    find "$u" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    for ((k = 0; k < 4 + RANDOM % 12; k++)); do random_op "$u"; done
    local sent guarded
    sent=$(untouched_print "$SENTINEL")
    guarded=$(guarded_print)
    local what="round $round (CAGEFS_ACCEPT_SEED=$seed); the layer: $(cd "$u" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort | tr '\n' ';')"
    run --separate-stderr cagefs diff "$PROJECT"
    [ "$status" -le 1 ] || fail "$what" "diff exited $status: $stderr"
    [[ $output != *$'\e'* ]] || fail "$what" "diff printed an escape character"
    if ((round % 2)); then
      run --separate-stderr cagefs accept "$PROJECT" --json
      jq -e . >/dev/null <<<"$output" || fail "$what" "accept --json printed no JSON: $output"
    else
      run --separate-stderr cagefs accept "$PROJECT"
    fi
    [ "$status" -le 1 ] || fail "$what" "accept exited $status: $stderr"
    assert_equal "$(untouched_print "$SENTINEL")" "$sent" "the sentinel after $what"
    assert_equal "$(guarded_print)" "$guarded" "hidden and protected files after $what"
    assert_equal "$(sha256sum /etc/passwd; stat -c '%s %m %Y' /etc/passwd)" "$passwd_before" "/etc/passwd after $what"
  done
}
