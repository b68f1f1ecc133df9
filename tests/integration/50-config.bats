#!/usr/bin/env bats
# A bad cage.json or bad flags: one line naming cage.json:LINE:COL and the
# valid choices, exit 1, nothing mounted.

load helpers

# expect_config_error LINE [WORD...]: mount fails with exit 1, one stderr line
# "cagefs: error: ...cage.json:LINE:COL..." that names each WORD; no mount left.
expect_config_error () {
  local line=$1 w
  shift
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_status 1
  assert_one_line_error "cagefs: error:"
  [[ $stderr =~ cage\.json:$line:[0-9]+ ]] || fail "error does not name cage.json:$line:COL:" "$stderr"
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
