#!/usr/bin/env bats
# Content-aware hiding ("blacklist": {"scan": true}, cagefs mount --scan):
# workspace files holding a private key or a token are hidden like
# blacklisted ones; near misses stay visible; a file that becomes a secret
# on the host is hidden at its next lookup; `cagefs check` lists them.

load helpers

setup () { common_setup; require_namespaces; }

# Fake credentials with the right shapes (none is real).
AWS_ID=AKIA"ABCDEFGHIJ234567"
GH_TOKEN=ghp_"0123456789abcdefghijklmnopqrstuvwxyz"
GH_PAT=github_pat_"11ABCDEFGHIJKLMNOPQRST_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"

# The secrets, one file per kind (names no pattern hides), and their kind
# as `cagefs check` names it.
SCAN_SECRETS=(deploy.txt openssh.txt signing.asc aws.ini gcp.json gh.txt pat.txt)
scan_kind () {
  case $1 in
    deploy.txt | openssh.txt | signing.asc) echo "private key" ;;
    aws.ini) echo "AWS access key" ;;
    gcp.json) echo "GCP service account key" ;;
    gh.txt | pat.txt) echo "GitHub token" ;;
  esac
}
# What looks like one but is not.
SCAN_NEAR=(public.txt cert.txt aws-short.ini gcp-user.json gh-short.txt notes.md)

make_scan_files () {
  put deploy.txt "$(printf -- '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----')"
  put openssh.txt "$(printf 'some notes\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n')"
  put signing.asc "$(printf -- '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n')"
  put aws.ini "$(printf '[default]\naws_access_key_id = %s\n' "$AWS_ID")"
  put gcp.json '{"type": "service_account", "project_id": "p", "private_key_id": "1", "private_key": "MII"}'
  put gh.txt "GITHUB_TOKEN=$GH_TOKEN"
  put pat.txt "token: $GH_PAT"
  put public.txt "$(printf -- '-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----')"
  put cert.txt "$(printf -- '-----BEGIN CERTIFICATE-----\nMIID\n-----END CERTIFICATE-----')"
  put aws-short.ini "aws_access_key_id = ${AWS_ID:0:19}"
  put gcp-user.json '{"type": "authorized_user", "client_secret": "x", "refresh_token": "y"}'
  put gh-short.txt "GITHUB_TOKEN=${GH_TOKEN:0:39}"
  put notes.md "Keys start with -----BEGIN PRIVATE KEY; AWS ids with AKIA; tokens with ghp_."
}

@test "scan on: each kind of secret is ENOENT, unlisted and EACCES to create over; near misses stay" {
  make_scan_files
  local before
  before=$(tree_fingerprint "$PROJECT")
  mount_tools --scan
  local f fails=()
  run --separate-stderr cage exec "$PROJECT" -- ls -1a /workspace
  assert_success
  local listing=$output
  for f in "${SCAN_SECRETS[@]}"; do
    ! printf '%s\n' "$listing" | grep -qxF -- "$f" || fails+=("$f is listed")
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$f"
    if [ "$status" -eq 0 ] || [[ $stderr != *"No such file or directory"* ]]; then
      fails+=("cat $f: exit $status, stderr: $stderr")
    fi
    run --separate-stderr cage_sh 'echo pwned > "$1"' "/workspace/$f"
    if [ "$status" -eq 0 ] || [[ $stderr != *"Permission denied"* ]]; then
      fails+=("create over $f: exit $status, stderr: $stderr")
    fi
    run --separate-stderr cage_sh 'mv /workspace/notes.md "$1"' "/workspace/$f"
    [ "$status" -ne 0 ] || fails+=("mv onto $f succeeded")
  done
  for f in "${SCAN_NEAR[@]}"; do
    printf '%s\n' "$listing" | grep -qxF -- "$f" || fails+=("near miss $f is not listed")
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$f"
    [ "$status" -eq 0 ] && [ "$output" = "$(cat "$PROJECT/$f")" ] \
      || fails+=("near miss $f: exit $status, stderr: $stderr")
  done
  run --separate-stderr cage exec "$PROJECT" -- grep -rl -e PRIVATE -e AKIA -e ghp_ -e github_pat /workspace
  for f in "${SCAN_SECRETS[@]}"; do
    [[ $output != *"/$f"* ]] || fails+=("grep -r read $f")
  done
  assert_equal "$(tree_fingerprint "$PROJECT")" "$before" "host project tree"
  # The refused lookups are in the audit log.
  run --separate-stderr cagefs audit "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r 'select(.op == "lookup" and .path == "/workspace/gcp.json") | .result' \
    <<<"$output" | sort -u)" hidden "audit entry of the lookup of gcp.json"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "scan off (the default): the same files are all visible" {
  make_scan_files
  mount_tools
  local f fails=()
  for f in "${SCAN_SECRETS[@]}" "${SCAN_NEAR[@]}"; do
    run --separate-stderr cage exec "$PROJECT" -- cat "/workspace/$f"
    [ "$status" -eq 0 ] && [ "$output" = "$(cat "$PROJECT/$f")" ] \
      || fails+=("cat $f: exit $status, stderr: $stderr")
  done
  assert_equal "$(jq -r .scan <<<"$MOUNT_JSON")" false "mount --json .scan"
  [ "${#fails[@]}" -eq 0 ] || fail "${fails[@]}"
}

@test "cage.json's \"blacklist\": {\"scan\": true} turns it on; status and check report it" {
  make_scan_files
  echo '{"blacklist": {"scan": true, "patterns": ["*.md"]}}' > "$PROJECT/cage.json"
  mount_tools
  assert_equal "$(jq -r .scan <<<"$MOUNT_JSON")" true "mount --json .scan"
  run --separate-stderr cagefs status "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r .scan <<<"$output")" true "status --json .scan"
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/gh.txt /workspace/public.txt
  assert_failure
  assert_contains "$stderr" "/workspace/gh.txt': No such file or directory" "cat gh.txt"
  assert_contains "$output" "BEGIN PUBLIC KEY" "cat public.txt"
  # Mounting again with the same configuration is a no-op; without the
  # scan it is another configuration.
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --json
  assert_success
  assert_equal "$(jq -r .already_mounted <<<"$output")" true "mount again"

  run --separate-stderr cagefs check "$PROJECT"
  assert_success
  local f
  for f in "${SCAN_SECRETS[@]}"; do
    assert_contains "$output" "$f	(content: $(scan_kind "$f"))" "cagefs check"
  done
  assert_contains "$output" "notes.md	(pattern \"*.md\")" "cagefs check"
  for f in "${SCAN_NEAR[@]}"; do
    [ "$f" = notes.md ] || refute_contains "$output" "$f" "cagefs check"
  done
  assert_contains "$output" "$(( ${#SCAN_SECRETS[@]} + 1 )) hidden in $PROJECT" "cagefs check"
  run --separate-stderr cagefs check "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r '.hidden[] | select(.path == "aws.ini") | .pattern' <<<"$output")" \
    "(content: AWS access key)" "check --json"
  assert_equal "$(jq -r .scan <<<"$output")" true "check --json .scan"
}

@test "cagefs check without the scan lists no content hits; --scan adds them" {
  make_scan_files
  run --separate-stderr cagefs check "$PROJECT"
  assert_success
  refute_contains "$output" "(content:" "check without the scan"
  run --separate-stderr cagefs check "$PROJECT" --scan
  assert_success
  assert_contains "$output" "deploy.txt	(content: private key)" "check --scan"
}

@test "a file the host writes a key into after the mount is hidden" {
  put app.conf "port = 8080"
  put later.txt "nothing yet"
  mount_tools --scan
  # The cage reads it and keeps looking it up (the kernel caches entries 1 s).
  run --separate-stderr cage_sh 'cat /workspace/app.conf; ls /workspace'
  assert_success
  assert_contains "$output" "port = 8080"
  printf 'aws_access_key_id = %s\n' "$AWS_ID" >> "$PROJECT/app.conf"
  # (no assertion on how soon: the kernel's 1 s entry cache decides that)
  local i hidden=no
  for ((i = 0; i < 100; i++)); do
    if ! cage_sh 'cat /workspace/app.conf' >/dev/null 2>&1; then hidden=yes; break; fi
    sleep 0.1
  done
  assert_equal "$hidden" yes "app.conf hidden after the host wrote a key into it"
  run --separate-stderr cage_sh 'sleep 1.1; ls -a /workspace'
  refute_contains "$output" app.conf "ls after the change"
  assert_contains "$output" later.txt "ls after the change"
  # ...and shown again once the key is gone.
  echo "port = 8080" > "$PROJECT/app.conf"
  run --separate-stderr cage_sh 'sleep 1.1; cat /workspace/app.conf'
  assert_success
  assert_equal "$output" "port = 8080" "app.conf without the key"
}

@test "a secret by content is hidden under all its hard links, and in the cow view" {
  make_scan_files
  ln "$PROJECT/gh.txt" "$PROJECT/README"
  mount_tools --scan --workspace-view cow
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/README
  assert_failure
  assert_contains "$stderr" "No such file or directory"
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/deploy.txt
  assert_failure
  run --separate-stderr cage exec "$PROJECT" -- cat /workspace/public.txt
  assert_success
  # A key the agent writes into its own file hides that file from it too.
  run --separate-stderr cage_sh 'printf "%s\n" "$1" > /workspace/mine.txt; cat /workspace/mine.txt' "$GH_TOKEN"
  assert_failure
  refute_contains "$output" ghp_ "the agent's own file after it wrote a token"
}

@test "the scan opens no fifo, follows no symlink, and reads nothing of a hidden name" {
  mkfifo "$PROJECT/pipe.txt"
  local flag=$BATS_TEST_TMPDIR/opened
  ( exec 2>/dev/null; printf 'x\n' > "$PROJECT/pipe.txt" && touch "$flag" ) &
  local w=$!
  put deploy.txt "$(printf -- '-----BEGIN PRIVATE KEY-----\nMII')"
  ln -s deploy.txt "$PROJECT/link.txt"
  mount_tools --scan
  run --separate-stderr cage_sh 'ls -la /workspace; readlink /workspace/link.txt; cat /workspace/link.txt'
  local seen=$output
  sleep 0.3
  local opened=no
  [ ! -e "$flag" ] || opened=yes
  kill "$w" 2>/dev/null || true
  timeout 2 cat "$PROJECT/pipe.txt" >/dev/null 2>&1 || true
  wait "$w" 2>/dev/null || true
  assert_equal "$opened" no "the scan opened a fifo"
  assert_contains "$seen" "pipe.txt" "ls -la"
  assert_contains "$seen" "link.txt" "ls -la (a symlink is listed: its target decides when followed)"
  refute_contains "$seen" "BEGIN PRIVATE" "cat through the symlink"
}

@test "cage run passes --scan to the mount it makes" {
  make_scan_files
  run --separate-stderr cage run "$PROJECT" --package "$FIX_TOOLS" --scan -- \
    sh -c 'cat /workspace/public.txt >/dev/null && cat /workspace/gh.txt'
  assert_failure
  assert_contains "$stderr" "/workspace/gh.txt': No such file or directory" "cage run --scan"
  run --separate-stderr cage run "$PROJECT" --package "$FIX_TOOLS" -- cat /workspace/gh.txt
  assert_success
  assert_equal "$output" "GITHUB_TOKEN=$GH_TOKEN" "cage run without --scan"
}
