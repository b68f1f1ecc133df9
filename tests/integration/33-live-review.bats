#!/usr/bin/env bats
# Live review of the cow view: `cagefs accept` and `cagefs discard` while
# the project is mounted and the agent works (the daemon applies them:
# fs/control.h).

load helpers

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; }

mount_cow () { mount_tools --workspace-view cow "$@"; }

# diff's paths, one line.
diff_paths () { cagefs diff "$PROJECT" --json | jq -r '[.changes[].path] | join(" ")'; }

@test "live: accept while mounted; the agent sees the host's new version and diff no longer shows it" {
  put a.txt alpha
  put b.txt bravo
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo new > new.txt && echo b2 > b.txt'
  assert_success
  run --separate-stderr cagefs accept "$PROJECT" a.txt new.txt
  assert_success
  assert_equal "$output" "accepted a.txt"$'\n'"accepted new.txt" "accept's lines"
  assert_equal "$stderr" "" "accept's errors"
  assert_equal "$(cat "$PROJECT/a.txt")" "alpha"$'\n'"more" "host a.txt"
  assert_equal "$(cat "$PROJECT/new.txt")" "new" "host new.txt"
  assert_equal "$(diff_paths)" "b.txt" "changes left"
  run --separate-stderr cage_sh 'cat a.txt new.txt b.txt'
  assert_success
  assert_equal "$output" "alpha"$'\n'"more"$'\n'"new"$'\n'"b2" "the agent's view"
  # The agent's next change to an accepted file is a change to the host's
  # new version: it accepts without a conflict.
  run --separate-stderr cage_sh 'echo again >> a.txt'
  assert_success
  assert_equal "$(diff_paths)" "a.txt b.txt" "changes after another write"
  run --separate-stderr cagefs accept "$PROJECT" --json a.txt
  assert_success
  assert_equal "$(jq -r '.accepted | join(" ")' <<<"$output")" a.txt "accept --json"
  assert_equal "$(cat "$PROJECT/a.txt")" "alpha"$'\n'"more"$'\n'"again" "host a.txt"
}

@test "live: discard while mounted; the agent sees the host's version" {
  put a.txt alpha
  put dir/f.txt eff
  mount_cow
  run --separate-stderr cage_sh 'echo more >> a.txt && echo g > dir/g.txt && echo f2 > dir/f.txt && rm -f gone.txt'
  assert_success
  run --separate-stderr cagefs discard "$PROJECT" a.txt
  assert_success
  assert_equal "$output" "discarded a.txt" "discard's line"
  run --separate-stderr cage_sh 'cat a.txt'
  assert_equal "$output" "alpha" "the agent's a.txt"
  run --separate-stderr cagefs discard "$PROJECT"
  assert_success
  run --separate-stderr cage_sh 'cat dir/f.txt; ls dir'
  assert_success
  assert_equal "$output" "eff"$'\n'"f.txt" "the agent's dir"
  assert_equal "$(diff_paths)" "" "changes left"
  # The agent goes on writing where the layer was emptied.
  run --separate-stderr cage_sh 'echo x >> dir/f.txt && cat dir/f.txt'
  assert_success
  assert_equal "$output" "eff"$'\n'"x" "after writing again"
  assert_equal "$(cat "$PROJECT/dir/f.txt")" "eff" "host dir/f.txt"
}
