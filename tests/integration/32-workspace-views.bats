#!/usr/bin/env bats
# Workspace views: "cow" (the agent's changes land in an upper layer the
# user reviews with cagefs diff / accept / discard) and "tracked" (only what
# git tracks, plus what the agent creates).

load helpers

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; }

# A small project: two files, a folder with files, a secret.
cow_project () {
  put a.txt "alpha"
  put b.txt "bravo"
  put keep.txt "keep"
  put dir/one.txt "one"
  put dir/sub/two.txt "two"
  put .env "SECRET=1"
}

mount_cow () { mount_tools --workspace-view cow "$@"; }

@test "cow: the host is untouched by writes, creates, deletes, renames and chmods; the agent sees its changes" {
  cow_project
  before=$(tree_fingerprint "$PROJECT")
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo new > new.txt && rm b.txt &&
    mv keep.txt kept.txt && chmod 0700 a.txt && mkdir -p made/deep && echo d > made/deep/f &&
    mv dir dir2 && ln -s a.txt link'
  assert_success
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host tree after the agent's changes"
  run --separate-stderr cage_sh 'cat a.txt new.txt kept.txt made/deep/f dir2/one.txt dir2/sub/two.txt;
    stat -c %a a.txt; readlink link; ls; ls -a dir2'
  assert_success
  assert_equal "$output" "alpha
more
new
keep
d
one
two
700
a.txt
a.txt
dir2
kept.txt
link
made
new.txt
.
..
one.txt
sub" "what the agent sees"
  run --separate-stderr cage_sh 'cat b.txt'
  assert_failure
  run --separate-stderr cage_sh 'cat dir/one.txt'
  assert_failure
  # secrets stay hidden in the cow view
  run --separate-stderr cage_sh 'cat .env'
  assert_failure
  assert_contains "$stderr" "No such file" "cat .env"
  # and the agent's files are still there after a remount
  cagefs umount "$PROJECT"
  mount_cow
  run --separate-stderr cage_sh 'cat new.txt dir2/sub/two.txt'
  assert_success
  assert_equal "$output" "new"$'\n'"two" "after a remount"
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host tree after the remount"
}

@test "cow: cagefs diff shows the changes as a unified diff, --stat and --json" {
  cow_project
  printf 'bin\0ary' > "$PROJECT/blob.bin"
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo new > new.txt && rm b.txt &&
    mv keep.txt kept.txt && printf "other\0bin" > blob.bin'
  assert_success
  run --separate-stderr cagefs diff "$PROJECT"
  assert_success
  assert_contains "$output" "--- a/a.txt"$'\n'"+++ b/a.txt" "a.txt header"
  assert_contains "$output" " alpha"$'\n'"+more" "a.txt hunk"
  assert_contains "$output" "new file mode 100644" "new.txt"
  assert_contains "$output" "+++ b/new.txt"$'\n'"@@ -0,0 +1 @@"$'\n'"+new" "new.txt hunk"
  assert_contains "$output" "deleted file mode 100644" "b.txt"
  assert_contains "$output" "-bravo" "b.txt hunk"
  assert_contains "$output" "rename from keep.txt"$'\n'"rename to kept.txt" "rename"
  assert_contains "$output" "Binary files a/blob.bin and b/blob.bin differ" "binary"
  run --separate-stderr cagefs diff "$PROJECT" --stat
  assert_success
  assert_contains "$output" " a.txt | 1 +" "stat a.txt"
  assert_contains "$output" " keep.txt => kept.txt |" "stat rename"
  assert_contains "$output" " blob.bin | Bin" "stat binary"
  assert_contains "$output" "5 entries changed, 2 insertions(+), 1 deletions(-)" "stat summary"
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r '.changes[] | "\(.path) \(.status) \(.type) \(.binary) \(.from // "-")"' <<<"$output")" \
"a.txt modified file false -
b.txt deleted file false -
blob.bin modified file true -
kept.txt renamed file false keep.txt
new.txt created file false -" "json changes"
  assert_contains "$(jq -r '.changes[] | select(.path == "a.txt") | .diff' <<<"$output")" \
    "@@ -1 +1,2 @@"$'\n'" alpha"$'\n'"+more" "json diff text"
  # One path only.
  run --separate-stderr cagefs diff "$PROJECT" --json new.txt
  assert_equal "$(jq -r '[.changes[].path] | join(" ")' <<<"$output")" new.txt "diff of one path"
  # The agent's change to a secret-free project changes nothing on the host.
  assert_equal "$(cat "$PROJECT/a.txt")" alpha "host a.txt"
}

@test "cow: accept applies one path, then all; the upper layer is emptied" {
  cow_project
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo new > new.txt && rm b.txt &&
    mv keep.txt kept.txt && mkdir -p made && echo m > made/f'
  assert_success
  # (while mounted: the daemon applies it; 33-live-review.bats)
  run --separate-stderr cagefs accept "$PROJECT" a.txt
  assert_success
  cagefs umount "$PROJECT"
  assert_equal "$(cat "$PROJECT/a.txt")" "alpha"$'\n'"more" "host a.txt after accept"
  [ -f "$PROJECT/b.txt" ] && [ -f "$PROJECT/keep.txt" ] && [ ! -e "$PROJECT/new.txt" ] \
    || fail "accept a.txt applied more than a.txt"
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_equal "$(jq -r '[.changes[].path] | join(" ")' <<<"$output")" \
    "b.txt kept.txt made made/f new.txt" "changes left"
  run --separate-stderr cagefs accept "$PROJECT" no/such/path
  assert_failure
  assert_contains "$stderr" "no/such/path" "unknown path"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_success
  [ ! -e "$PROJECT/b.txt" ] || fail "b.txt not deleted"
  [ ! -e "$PROJECT/keep.txt" ] && [ "$(cat "$PROJECT/kept.txt")" = keep ] || fail "keep.txt not renamed"
  assert_equal "$(cat "$PROJECT/new.txt" "$PROJECT/made/f")" "new"$'\n'"m" "created files"
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_equal "$(jq '.changes | length' <<<"$output")" 0 "changes after accepting all"
  # The cage sees the host as it is now.
  mount_cow
  run --separate-stderr cage_sh 'cat a.txt kept.txt; ls'
  assert_success
  assert_equal "$output" "alpha
more
keep
a.txt
dir
kept.txt
made
new.txt" "after accept and a remount"
}

@test "cow: accept refuses a file the host changed since the agent saw it, and applies nothing of it" {
  cow_project
  mount_cow
  # (keep.txt: replaced as sed -i and editors do, a new file renamed over it)
  run --separate-stderr cage_sh 'echo agent >> a.txt && rm b.txt && echo new > new.txt &&
    echo tmp > .keep.tmp && mv .keep.tmp keep.txt'
  assert_success
  cagefs umount "$PROJECT"
  echo host-edit >> "$PROJECT/keep.txt"
  echo host-edit >> "$PROJECT/a.txt"
  echo host-edit >> "$PROJECT/b.txt"
  printf 'host\n' > "$PROJECT/new.txt"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_failure
  assert_contains "$stderr" "\`a.txt\`: the host file changed since the agent first saw it" "a.txt refused"
  assert_contains "$stderr" "\`b.txt\`" "b.txt refused"
  assert_contains "$stderr" "\`new.txt\`: the host has created it since" "new.txt refused"
  assert_contains "$stderr" "\`keep.txt\`: the host file changed" "keep.txt refused"
  assert_equal "$(cat "$PROJECT/keep.txt")" "keep"$'\n'"host-edit" "host keep.txt kept"
  assert_equal "$(cat "$PROJECT/a.txt")" "alpha"$'\n'"host-edit" "host a.txt kept"
  assert_equal "$(cat "$PROJECT/b.txt")" "bravo"$'\n'"host-edit" "host b.txt kept"
  assert_equal "$(cat "$PROJECT/new.txt")" "host" "host new.txt kept"
  ls -A "$PROJECT" | grep -q cagefs-accept && fail "temporary file left behind"
  # the refused changes stay for review
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_equal "$(jq -r '[.changes[].path] | join(" ")' <<<"$output")" "a.txt b.txt keep.txt new.txt" "still pending"
  run --separate-stderr cagefs accept "$PROJECT" --json a.txt
  assert_failure
  assert_equal "$(jq -r '.refused[0].path' <<<"$output")" a.txt "json refused"
}

@test "cow: renaming a folder with files works, and accept moves it on the host" {
  cow_project
  mount_cow
  put dir/.env "DIR_SECRET=1"
  run --separate-stderr cage_sh 'mv dir renamed && echo 3 > renamed/sub/three.txt && ls -R renamed && ls dir'
  assert_failure
  assert_contains "$output" "renamed/sub:"$'\n'"three.txt"$'\n'"two.txt" "renamed tree"
  [ -f "$PROJECT/dir/one.txt" ] && [ ! -e "$PROJECT/renamed" ] || fail "host changed by the rename"
  # renaming it back over a fresh name and into a new parent
  run --separate-stderr cage_sh 'mkdir top && mv renamed top/again && cat top/again/one.txt top/again/sub/two.txt'
  assert_success
  assert_equal "$output" "one"$'\n'"two" "moved twice"
  cagefs umount "$PROJECT"
  run --separate-stderr cagefs diff "$PROJECT" --stat
  assert_contains "$output" "dir/one.txt => top/again/one.txt" "rename in the stat"
  # the secret moved with its folder; diff never shows it
  run --separate-stderr cagefs diff "$PROJECT"
  assert_contains "$output" "rename from dir/.env" "secret renamed"
  refute_contains "$output" "DIR_SECRET" "diff"
  # accept applies no change to a hidden path, a secret moved along with
  # its folder included: it stays where it was, and so does its folder
  run --separate-stderr cagefs accept "$PROJECT"
  assert_failure
  assert_contains "$stderr" "refused: top/again/.env is hidden" "accept"
  assert_contains "$stderr" "refused: dir is a folder of hidden entries" "accept"
  assert_equal "$(ls -A "$PROJECT/dir")" ".env" "dir on the host: the secret only"
  assert_equal "$(cat "$PROJECT/dir/.env")" "DIR_SECRET=1" "the secret on the host"
  [ ! -e "$PROJECT/top/again/.env" ] || fail "the secret was moved"
  assert_equal "$(cat "$PROJECT/top/again/one.txt" "$PROJECT/top/again/sub/two.txt" "$PROJECT/top/again/sub/three.txt")" \
    "one"$'\n'"two"$'\n'"3" "host after accept"
}

@test "cow: delete then re-create a file and a folder" {
  cow_project
  mount_cow
  run --separate-stderr cage_sh 'rm a.txt && echo again > a.txt && rm -r dir && mkdir dir && echo fresh > dir/new.txt && ls dir && cat a.txt'
  assert_success
  assert_equal "$output" "new.txt"$'\n'"again" "re-created"
  run --separate-stderr cage_sh 'cat dir/one.txt'
  assert_failure
  cagefs umount "$PROJECT"
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_equal "$(jq -r '.changes[] | "\(.path) \(.status)"' <<<"$output")" \
"a.txt modified
dir/new.txt created
dir/one.txt deleted
dir/sub deleted
dir/sub/two.txt deleted" "changes"
  run --separate-stderr cagefs accept "$PROJECT"
  assert_success
  assert_equal "$(cd "$PROJECT/dir" && ls -A)" new.txt "host dir after accept"
  assert_equal "$(cat "$PROJECT/a.txt")" again "host a.txt"
}

@test "cow: discard drops one path, then everything" {
  cow_project
  before=$(tree_fingerprint "$PROJECT")
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo new > new.txt && rm b.txt && mv dir dir2'
  assert_success
  cagefs umount "$PROJECT"
  run --separate-stderr cagefs discard "$PROJECT" b.txt
  assert_success
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_equal "$(jq -r '[.changes[].path] | join(" ")' <<<"$output")" \
    "a.txt dir dir/sub dir2 dir2/one.txt dir2/sub dir2/sub/two.txt new.txt" "after discarding b.txt"
  mount_cow
  run --separate-stderr cage_sh 'cat b.txt a.txt'
  assert_equal "$output" "bravo"$'\n'"alpha"$'\n'"more" "b.txt is back, a.txt still changed"
  cagefs umount "$PROJECT"
  run --separate-stderr cagefs discard "$PROJECT"
  assert_success
  run --separate-stderr cagefs diff "$PROJECT" --json
  assert_equal "$(jq '.changes | length' <<<"$output")" 0 "after discarding all"
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host tree"
  mount_cow
  run --separate-stderr cage_sh 'cat a.txt dir/one.txt; ls'
  assert_equal "$output" "alpha
one
a.txt
b.txt
dir
keep.txt" "the agent sees the host again"
}

# ---- tracked ----------------------------------------------------------------

git_project () {
  put tracked.txt "tracked"
  put src/main.c "int main;"
  put .gitignore "*.log"
  put build.log "ignored"
  put untracked.txt "untracked"
  put scratch/notes.txt "notes"
  git -C "$PROJECT" init -q
  git -C "$PROJECT" add tracked.txt src/main.c .gitignore
}

@test "tracked: only git-tracked files are visible, plus what the agent creates" {
  command -v git >/dev/null || skip "git not installed"
  git_project
  mount_tools --workspace-view tracked
  run --separate-stderr cage_sh 'ls -A; ls src; cat tracked.txt'
  assert_success
  assert_equal "$output" ".gitignore
src
tracked.txt
main.c
tracked" "what the agent sees"
  for f in build.log untracked.txt scratch/notes.txt scratch .git/config; do
    run --separate-stderr cage_sh "cat $f"
    assert_failure
    assert_contains "$stderr" "No such file" "cat $f"
  done
  run --separate-stderr cage_sh 'echo x > untracked.txt'
  assert_failure
  assert_equal "$(cat "$PROJECT/untracked.txt")" untracked "untracked.txt not clobbered"
  run --separate-stderr cage_sh 'echo mine > new.txt && mkdir -p made/deep && echo d > made/deep/f &&
    mv new.txt new2.txt && echo more >> tracked.txt && cat new2.txt made/deep/f && ls'
  assert_success
  assert_equal "$output" "mine
d
made
new2.txt
src
tracked.txt" "the agent's new files"
  assert_equal "$(cat "$PROJECT/tracked.txt")" "tracked"$'\n'"more" "writes reach the host"
  [ -f "$PROJECT/made/deep/f" ] || fail "made/deep/f not on the host"
  # a file created on the host now is untracked: hidden until git tracks it
  put late.txt "late"
  run --separate-stderr cage_sh 'cat late.txt'
  assert_failure
}

@test "tracked: a project that is not a git work tree is one error line" {
  command -v git >/dev/null || skip "git not installed"
  put a.txt a
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --workspace-view tracked
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_contains "$stderr" "ls-files" "error line"
}

@test "workspace.view in cage.json: cow from the file, bad values named" {
  put a.txt "alpha"
  printf '{"workspace": {"view": "cow"}}\n' > "$PROJECT/cage.json"
  mount_tools
  assert_equal "$(jq -r .view <<<"$MOUNT_JSON")" cow "view of the mount"
  run --separate-stderr cage_sh 'echo x > a.txt'
  assert_success
  assert_equal "$(cat "$PROJECT/a.txt")" alpha "host a.txt"
  cagefs umount "$PROJECT"
  printf '{"workspace": {"view": "overlay"}}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_contains "$stderr" "direct, cow, tracked" "error line"
  rm "$PROJECT/cage.json"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --workspace-view bogus
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_contains "$stderr" "--workspace-view" "error line"
}

@test "cage run takes every mount option: --workspace-view cow keeps the agent's write off the project" {
  put notes.txt "host"
  run --separate-stderr cage run "$PROJECT" --package "$FIX_TOOLS" --workspace-view cow -- \
    sh -c 'echo agent > /workspace/notes.txt && cat /workspace/notes.txt'
  assert_success
  assert_equal "$output" agent "what the agent sees"
  assert_equal "$(cat "$PROJECT/notes.txt")" host "the project is untouched until accept"
  run --separate-stderr cagefs diff "$PROJECT" --stat
  assert_contains "$output" notes.txt "cagefs diff shows the change"
  # cagefs config takes the same options as mount
  run --separate-stderr cagefs config "$PROJECT" --workspace-view cow --json
  assert_success
  assert_contains "$output" '"cow"' "cagefs config --workspace-view"
  run --separate-stderr cagefs config "$PROJECT" --cache file:///nonexistent
  assert_failure
  assert_contains "$stderr" "--cache: binary cache" "cagefs config --cache"
}

@test "cow: a project file with several hard links shows (git's local clones make them); one linked to a secret stays hidden" {
  put data/obj "object"
  ln "$PROJECT/data/obj" "$PROJECT/data/obj-clone"
  put .env "SECRET=1"
  ln "$PROJECT/.env" "$PROJECT/notes.txt"
  mount_cow
  run --separate-stderr cage_sh 'cat /workspace/data/obj /workspace/data/obj-clone'
  assert_success
  assert_equal "$output" "object
object" "both names of the linked file"
  run --separate-stderr cage_sh 'cat /workspace/notes.txt'
  assert_failure
  # the agent's own links in the layer show after a remount too
  run --separate-stderr cage_sh 'echo mine > /workspace/a && ln /workspace/a /workspace/b && cat /workspace/b'
  assert_success
  cagefs umount "$PROJECT"
  mount_cow
  run --separate-stderr cage_sh 'cat /workspace/a /workspace/b'
  assert_success
  assert_equal "$output" "mine
mine" "the agent's linked file after a remount"
}
