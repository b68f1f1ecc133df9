#!/usr/bin/env bats
# A bad cage.json or bad flags: one line naming cage.json:LINE:COL and the
# valid choices, exit 1, nothing mounted.

load helpers

# expect_config_error LINE[:COL] [WORD...]: mount fails with exit 1, one stderr
# line "cagefs: error: ...cage.json:LINE:COL..." that names each WORD; no mount
# left.
expect_config_error () {
  local line=$1 w
  shift
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error:"
  local at="$line:[0-9]+"
  [[ $line == *:* ]] && at=$line
  [[ $stderr =~ cage\.json:$at: ]] || fail "error does not name cage.json:$line:COL:" "$stderr"
  for w in "$@"; do assert_contains "$stderr" "$w" "error"; done
  assert_equal "$(project_mounts)" "" "mounts left after the error"
  run --separate-stderr cagefs status "$PROJECT"
  assert_status 1
}

@test "cage.json: an unknown top-level key" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "store": { "mode": "readonly" },
  "netwrk": "off"
}
EOF
  expect_config_error 3 netwrk store blacklist network
}

@test "cage.json: an unknown key inside store" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "store": {
    "mode": "readonly",
    "pkgs": []
  }
}
EOF
  expect_config_error 4 pkgs mode packages
}

@test "cage.json: a bad store mode names the valid modes" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "store": {
    "mode": "readwrite"
  }
}
EOF
  expect_config_error 3 readwrite readonly shared
}

@test "cage.json: a bad network names the valid choices" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "blacklist": [],
  "network": "internet"
}
EOF
  expect_config_error 3 internet off host
}

@test "cage.json: a wrong type (packages as a string)" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "store": {
    "mode": "shared",
    "packages": "/nix/store/x"
  }
}
EOF
  expect_config_error 4 packages
}

@test "cage.json: a wrong type (network as a boolean)" {
  cat > "$PROJECT/cage.json" <<'EOF'
{

  "network": true
}
EOF
  expect_config_error 3 network off host
}

@test "cage.json: a wrong type (blacklist entry not a string)" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "blacklist": [
    "*.log",
    42
  ]
}
EOF
  expect_config_error 4 blacklist
}

@test "cage.json: not a JSON object" {
  printf '[\n  "store"\n]\n' > "$PROJECT/cage.json"
  expect_config_error 1
}

@test "cage.json: a JSON syntax error" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "store": { "mode": "readonly" },
  "network": "off",,
}
EOF
  expect_config_error 3
}

@test "a bad --mode flag is a one-line error naming the choices" {
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --mode bogus
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_contains "$stderr" readonly "error"
  assert_contains "$stderr" shared "error"
  assert_equal "$(project_mounts)" "" "mounts left"
}

@test "a bad --network flag is a one-line error naming the choices" {
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --network bogus
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_contains "$stderr" off "error"
  assert_contains "$stderr" host "error"
  assert_equal "$(project_mounts)" "" "mounts left"
}

@test "an unknown command or option is an error" {
  run --separate-stderr cagefs frobnicate "$PROJECT"
  assert_failure
  [[ $stderr == *"cagefs: error:"* ]] || fail "no 'cagefs: error:' in: $stderr"
  run --separate-stderr cagefs mount "$PROJECT" --no-such-option
  assert_failure
  [[ $stderr == *"cagefs: error:"* ]] || fail "no 'cagefs: error:' in: $stderr"
  assert_equal "$(project_mounts)" "" "mounts left"
}

# ---------------------------------------------------------------------------
# The filtered network's allowlist (common/net/net_policy.h)

@test "cage.json: a malformed network.allow entry names its position, the entry and the fix" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "network": {
    "mode": "filtered",
    "allow": ["api.example.com", "example.com:70000"]
  }
}
EOF
  expect_config_error 4:34 'network.allow[1] "example.com:70000"' "1 to 65535"
}

@test "cage.json: a bare * in network.allow is refused" {
  cat > "$PROJECT/cage.json" <<'EOF'
{
  "network": {
    "mode": "filtered",
    "allow": [
      "api.example.com",
      "*.example.org",
      "*"
    ]
  }
}
EOF
  expect_config_error 7:7 'network.allow[2] "*": a bare * would allow every host' '"*.example.com"'
}

@test "cage.json: a filtered network with nothing allowed is an error" {
  printf '{\n  "network": {"mode": "filtered", "allow": []}\n}\n' > "$PROJECT/cage.json"
  expect_config_error 2 "network" "empty"
  printf '{\n  "blacklist": [],\n  "network": "filtered"\n}\n' > "$PROJECT/cage.json"
  expect_config_error 3 "network \"filtered\"" "empty" "api.example.com"
}

@test "cage.json: network.allow with another mode, and a wrong type" {
  printf '{\n  "network": {"mode": "host",\n    "allow": ["api.example.com"]}\n}\n' > "$PROJECT/cage.json"
  expect_config_error 3 '"network.allow" is only for "mode": "filtered"'
  printf '{\n  "network": {"allow": "api.example.com"}\n}\n' > "$PROJECT/cage.json"
  expect_config_error 2 "network.allow" "must be an array"
  printf '{\n  "network": {"mode": "filtered", "alow": []}\n}\n' > "$PROJECT/cage.json"
  expect_config_error 2 '"alow"' "allow"
}

@test "a bad --allow, or --allow without a filtered network, is one line naming it" {
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --network filtered --allow '*'
  assert_failure
  assert_one_line_error 'cagefs: error: --allow "*": a bare * would allow every host'
  assert_equal "$(project_mounts)" "" "mounts left"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --network filtered --allow 'a..b'
  assert_failure
  assert_one_line_error 'cagefs: error: --allow "a..b": '
  assert_equal "$(project_mounts)" "" "mounts left"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --allow api.example.com
  assert_failure
  assert_one_line_error 'cagefs: error: --allow "api.example.com": the network is "off"'
  assert_contains "$stderr" "--network filtered"
  assert_equal "$(project_mounts)" "" "mounts left"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --network filtered
  assert_failure
  assert_one_line_error 'cagefs: error: --network filtered: the allow list is empty'
  assert_equal "$(project_mounts)" "" "mounts left"
}

@test "config: a preset's network is filtered, with its hosts and the registries, each with its origin" {
  printf '{\n  "preset": "claude-code",\n  "network": {"allow": ["Internal.Example.com:8443"]}\n}\n' \
    > "$PROJECT/cage.json"
  run --separate-stderr cagefs config "$PROJECT" --json --allow 198.18.0.0/15
  assert_success
  local c
  c=$(jq -c .config <<<"$output")
  assert_equal "$(jq -c .network <<<"$c")" '{"value":"filtered","from":"cage.json:3"}' network
  local pairs
  pairs=$(jq -r '.["network.allow"] | [.value, .from] | transpose | map(.[0] + "=" + .[1]) | join(" ")' <<<"$c")
  for p in "api.anthropic.com=preset claude-code" "claude.ai=preset claude-code" \
           "registry.npmjs.org=registries (preset claude-code)" \
           "cache.nixos.org=registries (preset claude-code)" \
           "Internal.Example.com:8443=cage.json:3" "198.18.0.0/15=--allow"; do
    [[ " $pairs " == *" $p "* ]] || fail "no $p in network.allow:" "$pairs"
  done
  # no network key: the preset makes it filtered
  printf '{"preset": "codex"}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs config "$PROJECT"
  assert_success
  assert_contains "$output" 'network              "filtered"'
  assert_contains "$output" "preset codex"
  assert_contains "$output" '"api.openai.com"'
  [[ $output =~ network\.allow\[[0-9]+\]\ +\"pypi.org\"\ +registries\ \(preset\ codex\) ]] \
    || fail "pypi.org from the registries:" "$output"
  # an explicit network wins, and its list is not shown
  run --separate-stderr cagefs config "$PROJECT" --json --network off
  assert_success
  assert_equal "$(jq -c '.config.network' <<<"$output")" '{"value":"off","from":"flag"}' "--network off"
  assert_equal "$(jq -c '.config["network.allow"].value' <<<"$output")" '[]' "no list"
}

@test "a filtered mount mounts and records its allowlist; status shows it" {
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --json \
    --network filtered --allow api.example.com --allow '*.example.org:443'
  assert_success
  MOUNT_JSON=$output
  assert_equal "$(jq -r .network <<<"$MOUNT_JSON")" filtered network
  assert_equal "$(jq -c '[.allow[] | .entry + "=" + .origin]' <<<"$MOUNT_JSON")" \
    '["api.example.com=--allow","*.example.org:443=--allow"]' allow
  local dir
  dir=$(cagefs status "$PROJECT" --json | jq -r .state_dir)
  assert_equal "$(jq -c '[.network, .allow[0].entry, .allow[1].origin]' "$dir/state.json")" \
    '["filtered","api.example.com","--allow"]' "state.json"
  run --separate-stderr cagefs status "$PROJECT" --json
  assert_success
  assert_equal "$(jq -c '[.network, (.allow | length)]' <<<"$output")" '["filtered",2]' "status --json"
  run --separate-stderr cagefs status "$PROJECT"
  assert_success
  assert_contains "$output" "network filtered"
  assert_contains "$output" "*.example.org:443"
  # the same options again: already mounted; another list: another configuration
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --json \
    --network filtered --allow api.example.com --allow '*.example.org:443'
  assert_success
  assert_equal "$(jq -r .already_mounted <<<"$output")" true "already mounted"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --json \
    --network filtered --allow api.example.com
  assert_failure
  assert_contains "$stderr" "another configuration"
  cagefs umount "$PROJECT"
}
