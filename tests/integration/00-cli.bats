#!/usr/bin/env bats
# cagefs mount / status / umount / init: the command line and its JSON.

load helpers

@test "mount prints the mount point, which is a FUSE mount holding the agent's tree" {
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_success
  MOUNTED_MNTS+=("$output")
  [ "$(printf '%s\n' "$output" | grep -c '')" -eq 1 ] || fail "expected one line:" "$output"
  [[ $output == /* ]] || fail "not an absolute path: $output"
  is_mounted "$output" || fail "$output is not in /proc/self/mountinfo"
  [[ $(fstype_of "$output") == fuse* ]] || fail "fs type of $output is $(fstype_of "$output")"
  run ls -1 "$output"
  assert_success
  assert_equal "$(echo $output)" "bin dev etc home nix proc tmp usr workspace" "ls of the mount point"
}

@test "mount --json has every field with the right values" {
  mount_tools
  local j=$MOUNT_JSON
  jq -e 'type == "object"' <<<"$j" >/dev/null || fail "not an object: $j"
  for k in project mountpoint pid mode network packages closure already_mounted; do
    jq -e --arg k "$k" 'has($k)' <<<"$j" >/dev/null || fail "no key $k in: $j"
  done
  assert_equal "$(jq -r .project <<<"$j")" "$PROJECT" "project"
  assert_equal "$(jq -r '.pid | type' <<<"$j")" number "type of pid"
  alive "$PID" || fail "daemon pid $PID is not running"
  is_mounted "$MNT" || fail "$MNT is not mounted"
  assert_equal "$(jq -r .mode <<<"$j")" readonly "mode"
  assert_equal "$(jq -r .network <<<"$j")" off "network"
  assert_equal "$(jq -c .packages <<<"$j")" "[\"$FIX_TOOLS\"]" "packages"
  assert_equal "$(jq -r '.closure | sort | join(" ")' <<<"$j")" "$FIX_CLOSURE" "closure"
  assert_equal "$(jq -r .already_mounted <<<"$j")" false "already_mounted"
}

@test "status: exit 0 and JSON fields when mounted" {
  mount_tools
  run --separate-stderr cagefs status "$PROJECT"
  assert_success
  run --separate-stderr cagefs status "$PROJECT" --json
  assert_success
  local j=$output
  for k in project mounted mountpoint pid mode network packages closure; do
    jq -e --arg k "$k" 'has($k)' <<<"$j" >/dev/null || fail "no key $k in: $j"
  done
  assert_equal "$(jq -r .project <<<"$j")" "$PROJECT" "project"
  assert_equal "$(jq -r .mounted <<<"$j")" true "mounted"
  assert_equal "$(jq -r .mountpoint <<<"$j")" "$MNT" "mountpoint"
  assert_equal "$(jq -r .pid <<<"$j")" "$PID" "pid"
  assert_equal "$(jq -r .mode <<<"$j")" readonly "mode"
  assert_equal "$(jq -r .network <<<"$j")" off "network"
  assert_equal "$(jq -c .packages <<<"$j")" "[\"$FIX_TOOLS\"]" "packages"
  assert_equal "$(jq -r '.closure | sort | join(" ")' <<<"$j")" "$FIX_CLOSURE" "closure"
}

@test "status: exit 1 and mounted:false when not mounted" {
  run --separate-stderr cagefs status "$PROJECT"
  assert_status 1
  run --separate-stderr cagefs status "$PROJECT" --json
  assert_status 1
  assert_equal "$(jq -r .mounted <<<"$output")" false "mounted"
  assert_equal "$(jq -r .project <<<"$output")" "$PROJECT" "project"
}

@test "a relative project path is resolved to its real path" {
  cd "$(dirname "$PROJECT")"
  run --separate-stderr cagefs mount "$(basename "$PROJECT")" --package "$FIX_TOOLS" --json
  assert_success
  MOUNTED_PIDS+=("$(jq -r .pid <<<"$output")")
  assert_equal "$(jq -r .project <<<"$output")" "$PROJECT" "project"
}

@test "mounting a mounted project is idempotent (same daemon, already_mounted)" {
  mount_tools
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --json
  assert_success
  assert_equal "$(jq -r .already_mounted <<<"$output")" true "already_mounted"
  assert_equal "$(jq -r .pid <<<"$output")" "$PID" "pid"
  assert_equal "$(jq -r .mountpoint <<<"$output")" "$MNT" "mountpoint"
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS"
  assert_success
  assert_equal "$output" "$MNT" "printed mount point"
  assert_no_stale_mounts
  alive "$PID" || fail "daemon died"
}

@test "umount unmounts, stops the daemon and is idempotent" {
  mount_tools
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  ! is_mounted "$MNT" || fail "$MNT still mounted after umount"
  wait_gone "$PID" 10 || fail "daemon $PID still running 10 s after umount"
  run --separate-stderr cagefs status "$PROJECT"
  assert_status 1
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
}

@test "umount of a project that was never mounted exits 0" {
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
}

@test "a stale mount left by a killed daemon is cleaned by the next mount" {
  put hello.txt "still here"
  mount_tools
  local old=$PID
  kill -9 "$old"
  wait_gone "$old" 10 || fail "daemon $old survived kill -9"
  # (The dead daemon's mount normally stays, failing with ENOTCONN.)
  run --separate-stderr cagefs status "$PROJECT"
  assert_status 1
  run --separate-stderr cagefs mount "$PROJECT" --package "$FIX_TOOLS" --json
  assert_success
  local new
  new=$(jq -r .pid <<<"$output")
  MOUNTED_PIDS+=("$new")
  [ "$new" != "$old" ] || fail "same pid $new after remount"
  alive "$new" || fail "new daemon $new is not running"
  assert_equal "$(jq -r .already_mounted <<<"$output")" false "already_mounted"
  MNT=$(jq -r .mountpoint <<<"$output")
  assert_no_stale_mounts
  run cat "$(jq -r .mountpoint <<<"$output")/workspace/hello.txt"
  assert_success
  assert_equal "$output" "still here" "workspace file through the new mount"
  run --separate-stderr cagefs status "$PROJECT"
  assert_success
}

@test "umount cleans a stale mount left by a killed daemon" {
  mount_tools
  kill -9 "$PID"
  wait_gone "$PID" 10 || fail "daemon $PID survived kill -9"
  run --separate-stderr cagefs umount "$PROJECT"
  assert_success
  assert_equal "$(project_mounts)" "" "mounts left for the project"
}

@test "init writes a valid starter cage.json that mount accepts" {
  run --separate-stderr cagefs init "$PROJECT"
  assert_success
  [ -f "$PROJECT/cage.json" ] || fail "no $PROJECT/cage.json"
  jq -e 'type == "object"' "$PROJECT/cage.json" >/dev/null || fail "not a JSON object:" "$(cat "$PROJECT/cage.json")"
  jq -e 'keys - ["store", "blacklist", "network", "profile"] == []' "$PROJECT/cage.json" >/dev/null \
    || fail "starter cage.json has keys outside the schema:" "$(cat "$PROJECT/cage.json")"
  mount_tools
  run --separate-stderr cagefs status "$PROJECT"
  assert_success
}

@test "init without an argument uses the current directory" {
  cd "$PROJECT"
  run --separate-stderr cagefs init
  assert_success
  [ -f "$PROJECT/cage.json" ] || fail "no $PROJECT/cage.json"
}

@test "init refuses to overwrite an existing cage.json" {
  printf '{"network": "host"}\n' > "$PROJECT/cage.json"
  run --separate-stderr cagefs init "$PROJECT"
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_equal "$(cat "$PROJECT/cage.json")" '{"network": "host"}' "cage.json"
}

@test "cage.json settings are used" {
  cat > "$PROJECT/cage.json" <<EOF
{
  "store": { "mode": "shared", "packages": [ "$FIX_TOOLS" ] },
  "blacklist": [ "*.secret" ],
  "network": "host"
}
EOF
  mount_project
  assert_equal "$(jq -r .mode <<<"$MOUNT_JSON")" shared "mode"
  assert_equal "$(jq -r .network <<<"$MOUNT_JSON")" host "network"
  assert_equal "$(jq -c .packages <<<"$MOUNT_JSON")" "[\"$FIX_TOOLS\"]" "packages"
  run --separate-stderr cagefs status "$PROJECT" --json
  assert_success
  assert_equal "$(jq -r .mode <<<"$output")" shared "status mode"
  assert_equal "$(jq -r .network <<<"$output")" host "status network"
}

@test "flags override cage.json" {
  cat > "$PROJECT/cage.json" <<EOF
{ "store": { "mode": "shared", "packages": [ "$FIX_OTHER" ] }, "network": "host" }
EOF
  mount_project --mode readonly --network off --package "$FIX_TOOLS"
  assert_equal "$(jq -r .mode <<<"$MOUNT_JSON")" readonly "mode"
  assert_equal "$(jq -r .network <<<"$MOUNT_JSON")" off "network"
  jq -e --arg p "$FIX_TOOLS" '.packages | index($p) != null' <<<"$MOUNT_JSON" >/dev/null \
    || fail "--package not in packages: $MOUNT_JSON"
}

@test "mounting a missing project directory is a one-line error" {
  run --separate-stderr cagefs mount "$PROJECT/does-not-exist" --package "$FIX_TOOLS"
  assert_failure
  assert_one_line_error "cagefs: error:"
  assert_equal "$(project_mounts)" "" "mounts left"
}

@test "status --json: the daemon's uptime and the cages running in the project" {
  mount_tools
  cage exec "$PROJECT" -- sleep 3 &
  local bg=$! i n=0
  for ((i = 0; i < 40; i++)); do
    n=$(cagefs status --json "$PROJECT" | jq -r .agents_running)
    [ "$n" = 1 ] && break
    sleep 0.05
  done
  assert_equal "$n" 1 "agents_running while a cage runs"
  [ "$(cagefs status --json "$PROJECT" | jq -r .uptime_s)" -ge 0 ] || fail "no uptime_s"
  run cagefs status "$PROJECT"
  assert_contains "$output" "1 cage(s) running"
  wait "$bg"
  assert_equal "$(cagefs status --json "$PROJECT" | jq -r .agents_running)" 0 "after it ended"
}
