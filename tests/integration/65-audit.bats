#!/usr/bin/env bats
# The audit log: every refusal of the daemon leaves an NDJSON entry (op,
# path as the agent sees it, result, host pid, process name) that `cagefs
# audit` shows; repeats and floods are bounded; the file is rotated.

load helpers

setup_file () {
  PROBE=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  export PROBE
}

setup () {
  common_setup
  require_namespaces
  [ -n "${PROBE-}" ] || fail "tests/fixtures/probes.sh printed no store path"
  RESTORE_MODES=()
}

teardown () {
  # A store file a test made unreadable gets its canonical mode back.
  local m
  for m in "${RESTORE_MODES[@]}"; do chmod "${m%% *}" "${m#* }" 2>/dev/null || true; done
  common_teardown
}

nix_cmd () { nix --extra-experimental-features nix-command "$@"; }

# The project's audit log file (after a mount).
audit_file () {
  echo "$(cagefs status "$PROJECT" --json | jq -r .state_dir)/audit.ndjson"
}

# audit_json: the log as one JSON array (fails the test when a line is not
# JSON).
audit_json () {
  cagefs audit "$PROJECT" --json | jq -s . || fail "cagefs audit --json printed a line that is not JSON"
}

# assert_entry OP PATH RESULT [PROCESS]: the log has such an entry, with a
# pid > 0 (and the process name, when given).
assert_entry () {
  local n
  n=$(audit_json | jq --arg op "$1" --arg path "$2" --arg result "$3" --arg proc "${4-}" \
    '[.[] | select(.op == $op and .path == $path and .result == $result
        and (.pid | type == "number" and . > 0)
        and ($proc == "" or .process == $proc))] | length')
  [ "$n" -ge 1 ] || fail "no audit entry {op: $1, path: $2, result: $3${4:+, process: $4}}; the log:" \
    "$(cagefs audit "$PROJECT")"
}

# count_entries JQ-FILTER: how many entries the filter selects.
count_entries () {
  audit_json | jq "[.[] | select($1)] | length"
}

@test "a hidden file looked up: a lookup entry with the agent's path, its host pid and process name" {
  put .env "SECRET"
  put visible.txt "plain"
  mount_tools
  # The shell opens .env itself, then becomes sleep: the pid in the entry is
  # a live process of the cage, seen from the host.
  cage exec "$PROJECT" -- sh -c 'true < /workspace/.env; exec sleep 30' 2>/dev/null &
  local cage_pid=$! pid i
  for ((i = 0; i < 100; i++)); do
    pid=$(audit_json | jq '[.[] | select(.op == "lookup" and .path == "/workspace/.env")][0].pid // empty')
    [ -z "$pid" ] || break
    sleep 0.1
  done
  [ -n "$pid" ] || { kill "$cage_pid"; fail "no lookup entry for /workspace/.env: $(cagefs audit "$PROJECT")"; }
  local comm nspid
  comm=$(cat "/proc/$pid/comm")
  nspid=$(awk '/^NSpid:/ { print NF - 1 }' "/proc/$pid/status")
  kill "$cage_pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait "$cage_pid" || true
  assert_equal "$comm" sleep "the logged pid's process (after exec)"
  assert_equal "$nspid" 2 "pid namespaces of the logged pid (host, cage)"
  assert_entry lookup /workspace/.env hidden sh
  # What the agent may see is not logged.
  cage exec "$PROJECT" -- cat /workspace/visible.txt
  assert_equal "$(count_entries '.path == "/workspace/visible.txt"')" 0 "entries for a visible file"
  # The human-readable form.
  run --separate-stderr cagefs audit "$PROJECT"
  assert_success
  [[ $output =~ ^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\ lookup\ /workspace/\.env\ hidden\ \(pid\ $pid\ sh\)$ ]] \
    || fail "unexpected human-readable line:" "$output"
}

@test "cat of a hidden file, at depth and in a hidden folder: lookup entries" {
  put deep/er/.env "SECRET"
  put .ssh/id_rsa "SECRET"
  mount_tools
  run cage exec "$PROJECT" -- cat /workspace/deep/er/.env
  assert_failure
  run cage exec "$PROJECT" -- cat /workspace/.ssh/id_rsa
  assert_failure
  assert_entry lookup /workspace/deep/er/.env hidden cat
  assert_entry lookup /workspace/.ssh hidden cat
  # A name that does not exist hid nothing: no entry.
  run cage exec "$PROJECT" -- cat /workspace/server.pem
  assert_failure
  assert_equal "$(count_entries '.path == "/workspace/server.pem"')" 0 "entries for a missing name"
}

@test "touch, mkdir, ln -s, ln and mv over hidden names: denied entries with the right op" {
  put a.txt "plain"
  put b.txt "plain"
  mount_tools
  local c
  for c in 'touch /workspace/.env' 'mkdir /workspace/.ssh' 'ln -s a.txt /workspace/id_rsa' \
    'ln /workspace/a.txt /workspace/server.pem' 'mv /workspace/b.txt /workspace/tls.key'; do
    run cage_sh "$c"
    [[ $output == *"Permission denied"* ]] || fail "$c: expected Permission denied, got: $output"
  done
  assert_entry create /workspace/.env denied touch
  assert_entry mkdir /workspace/.ssh denied mkdir
  assert_entry symlink /workspace/id_rsa denied ln
  assert_entry link /workspace/server.pem denied ln
  assert_entry rename /workspace/tls.key denied mv
  [ ! -e "$PROJECT/.env" ] && [ ! -e "$PROJECT/tls.key" ] && [ -e "$PROJECT/b.txt" ]
}

@test "writes to the protected cage.json: write, setattr, unlink and rename entries" {
  printf '{}\n' > "$PROJECT/cage.json"
  mount_tools
  local c
  for c in 'echo x >> /workspace/cage.json' 'touch /workspace/cage.json' 'chmod 600 /workspace/cage.json' \
    'rm /workspace/cage.json' 'mv /workspace/cage.json /workspace/moved.json'; do
    run cage_sh "$c"
    assert_failure
  done
  assert_entry write /workspace/cage.json denied sh
  assert_entry setattr /workspace/cage.json denied touch
  assert_entry setattr /workspace/cage.json denied chmod
  assert_entry unlink /workspace/cage.json denied rm
  assert_entry rename /workspace/cage.json denied mv
  assert_equal "$(cat "$PROJECT/cage.json")" "{}" "cage.json on the host"
}

@test "the store: a path outside the closure is a hidden lookup; a write through the daemon is read-only" {
  mount_tools
  run cage exec "$PROJECT" -- ls "$FIX_OTHER"
  assert_failure
  assert_entry lookup "$FIX_OTHER" hidden ls
  # In the cage the store's writes reach the daemon, which refuses them.
  run cage exec "$PROJECT" -- touch /nix/store/evil
  assert_failure
  assert_contains "$output" "Read-only file system"
  assert_entry create /nix/store/evil read-only touch
  # The daemon's own refusal: a write to the store view of the root tree.
  # Only root gets past the kernel's permission check there (the store is
  # root's).
  [ "$(id -u)" = 0 ] || skip "the host side's store is root's: only root reaches the daemon"
  run touch "$MNT/nix/store/evil"
  assert_failure
  run sh -c "echo x >> '$MNT$FIX_TOOLS/bin/never'"
  assert_failure
  run sh -c "echo x > '$MNT/etc/passwd'"
  assert_failure
  assert_entry create "$FIX_TOOLS/bin/never" read-only
  assert_entry write /etc/passwd read-only
}

# refused_read_only CASE...: each CASE "COMMAND|OP|PATH|PROCESS" run in the
# cage of $PROJECT fails with "Read-only file system" and leaves a read-only
# entry with that op, path and process.
refused_read_only () {
  local c op path proc
  for c in "$@"; do
    IFS='|' read -r c op path proc <<<"$c"
    run cage_sh "$c"
    assert_failure
    assert_contains "$output" "Read-only file system" "$c"
  done
  for c in "$@"; do
    IFS='|' read -r c op path proc <<<"$c"
    assert_entry "$op" "$path" read-only "$proc"
  done
}

# store_changes_refused: every kind of change to the store in the cage of
# $PROJECT (mounted with $PROBE) fails with "Read-only file system" and
# leaves a read-only entry with its op, path, pid and process; the files
# are unchanged on the host.  With "some", only the common ones.
store_changes_refused () {
  local d=$FIX_DATA before
  before=$(tree_fingerprint "$d")
  local cases=(
    "touch $d/new|create|$d/new|touch"
    "echo x >> $d/hello.txt|write|$d/hello.txt|sh"
    "echo x > $d/README|setattr|$d/README|sh"
    "rm $d/hello.txt|unlink|$d/hello.txt|rm"
    "mkdir $d/newdir|mkdir|$d/newdir|mkdir"
    "mv $d/hello.txt $d/moved.txt|rename|$d/hello.txt|mv"
    "chmod 777 $d/hello.txt|setattr|$d/hello.txt|chmod"
    "ln $d/hello.txt $d/hard|link|$d/hard|ln"
    "probe setxattr $d/hello.txt|setxattr|$d/hello.txt|probe"
  )
  [ "${1-}" = some ] || cases+=(
    "ln -s hello.txt $d/soft|symlink|$d/soft|ln"
    "rmdir $d/sub|rmdir|$d/sub|rmdir"
    "mv $d /nix/store/moved|rename|$d|mv"
    "touch $d/README|setattr|$d/README|touch"
    "probe removexattr $d/hello.txt|removexattr|$d/hello.txt|probe"
    "probe fallocate $d/hello.txt|fallocate|$d/hello.txt|probe"
    "probe copy-range $d/README $d/hello.txt|copy_file_range|$d/hello.txt|probe"
  )
  refused_read_only "${cases[@]}"
  assert_equal "$(tree_fingerprint "$d")" "$before" "$d on the host"
  # (a file of a store path: the same in the cage)
  run --separate-stderr cage exec "$PROJECT" -- cat "$d/hello.txt"
  assert_equal "$output" "hello from the fixture store path" "hello.txt in the cage"
}

@test "the store: every change in the cage is refused read-only by the daemon and logged; nothing changes" {
  mount_tools --package "$PROBE"
  store_changes_refused
}

@test "the cage's own tree (/, /etc, /bin, /usr, /nix): every change is refused read-only by the daemon and logged" {
  mount_tools
  local cases=(
    "touch /newfile|create|/newfile|touch"
    "echo x > /etc/passwd|write|/etc/passwd|sh"
    "echo x >> /etc/group|write|/etc/group|sh"
    "chmod 777 /etc/passwd|setattr|/etc/passwd|chmod"
    "mv /etc/passwd /etc/p2|rename|/etc/passwd|mv"
    "ln -s x /etc/l|symlink|/etc/l|ln"
    "rm /bin/sh|unlink|/bin/sh|rm"
    "mkdir /usr/x|mkdir|/usr/x|mkdir"
    "mkdir /nix/x|mkdir|/nix/x|mkdir"
    "rmdir /etc|rmdir|/etc|rmdir"
  )
  refused_read_only "${cases[@]}"
  # nothing changed, and the workspace is still the agent's
  run --separate-stderr cage_sh 'grep -c "" /etc/passwd; ls /bin/sh; echo ok > /workspace/w.txt'
  assert_success
  [ "$(cat "$PROJECT/w.txt")" = ok ] || fail "the workspace write did not reach the host"
}

@test "the store in shared and isolated modes: changes refused read-only and logged" {
  mount_tools --package "$PROBE" --mode shared
  store_changes_refused some
  cagefs umount "$PROJECT"
  local dir=$BATS_TEST_TMPDIR/cache
  nix_cmd copy --to "file://$dir" "$FIX_TOOLS" "$PROBE" >/dev/null 2>&1 \
    || fail "nix copy --to file://$dir failed: $(nix_cmd copy --to "file://$dir" "$FIX_TOOLS" "$PROBE" 2>&1)"
  chmod -R a+rX "$dir"
  mount_tools --package "$PROBE" --mode isolated --cache "file://$dir"
  store_changes_refused some
}

@test "the store: a shared writable mapping's write is refused and its bytes dropped" {
  mount_tools --package "$PROBE"
  run cage exec "$PROJECT" -- probe mmap-write "$FIX_DATA/hello.txt"
  assert_failure
  assert_contains "$output" "denied EROFS (msync"
  # (written back by the kernel: no process to name)
  local n
  n=$(count_entries ".op == \"write\" and .path == \"$FIX_DATA/hello.txt\" and .result == \"read-only\"")
  [ "$n" -ge 1 ] || fail "no write entry for the mapping: $(cagefs audit "$PROJECT")"
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_equal "$output" "hello from the fixture store path" "the file in the cage after the mapping"
  assert_equal "$(cat "$FIX_DATA/hello.txt")" "hello from the fixture store path" "the host file"
}

@test "the store: access() says EROFS for writing, the mode bits for reading and running" {
  mount_tools --package "$PROBE"
  run cage exec "$PROJECT" -- probe access "$FIX_DATA/hello.txt" w
  assert_failure
  assert_contains "$output" "denied EROFS"
  run cage exec "$PROJECT" -- probe access "$FIX_DATA/hello.txt" r
  assert_success
  run cage exec "$PROJECT" -- probe access "$FIX_DATA/hello.txt" x
  assert_failure
  assert_contains "$output" "denied EACCES"
  run cage exec "$PROJECT" -- probe access "$FIX_BUSYBOX/bin/busybox" x
  assert_success
  run cage exec "$PROJECT" -- probe access "$FIX_DATA/sub" x
  assert_success
  run cage_sh "test -w $FIX_DATA/hello.txt"
  assert_failure
  # A probe is no change: nothing logged.
  assert_equal "$(count_entries ".path == \"$FIX_DATA/hello.txt\"")" 0 "entries for access()"
}

@test "the store: what is not world-readable is hidden, like a secret" {
  [ "$(id -u)" = 0 ] || skip "only root may change a store path's modes"
  local d=$BATS_TEST_TMPDIR/cagefs-fixture-unreadable p
  mkdir -p "$d/sub"
  printf 'public\n' >"$d/public.txt"
  printf 'private\n' >"$d/private.txt"
  printf 'inner\n' >"$d/sub/inner.txt"
  p=$(nix-store --add "$d")
  RESTORE_MODES=("0444 $p/private.txt" "0555 $p/sub")
  chmod 0600 "$p/private.txt"
  chmod 0700 "$p/sub"
  mount_tools --package "$p"
  run --separate-stderr cage exec "$PROJECT" -- ls -A "$p"
  assert_success
  assert_equal "$output" "public.txt" "ls of the store path"
  run --separate-stderr cage exec "$PROJECT" -- cat "$p/private.txt"
  assert_failure
  assert_contains "$stderr" "No such file or directory"
  run --separate-stderr cage exec "$PROJECT" -- cat "$p/sub/inner.txt"
  assert_failure
  assert_contains "$stderr" "No such file or directory"
  run --separate-stderr cage exec "$PROJECT" -- cat "$p/public.txt"
  assert_equal "$output" public "a world-readable file"
  assert_entry lookup "$p/private.txt" hidden cat
  assert_entry lookup "$p/sub" hidden
}

@test "cagefs audit --json: every line is an object with the documented fields" {
  put .env "SECRET"
  mount_tools
  run cage_sh 'cat /workspace/.env; touch /workspace/.env.x'
  run --separate-stderr cagefs audit "$PROJECT" --json
  assert_success
  [ -n "$output" ] || fail "cagefs audit --json printed nothing"
  jq -e -s 'length >= 2 and all(.[];
      (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}([+-][0-9]{2}:[0-9]{2}|Z)$"))
      and (.op | type == "string") and (.path | startswith("/workspace/"))
      and (.result | IN("hidden", "denied", "read-only"))
      and (.pid | type == "number") and (.process | type == "string"))' <<<"$output" \
    || fail "unexpected entries:" "$output"
  # The raw log is the same NDJSON.
  assert_equal "$output" "$(cat "$(audit_file)")" "cagefs audit --json vs the file"
}

@test "cagefs audit --follow prints an entry made after it started" {
  mount_tools
  run cage_sh 'touch /workspace/.env'
  local out=$BATS_TEST_TMPDIR/follow.out i
  "$CAGEFS_BIN/cagefs" audit "$PROJECT" --follow > "$out" 2>&1 &
  local fpid=$!
  sleep 0.5
  run cage_sh 'mkdir /workspace/.gnupg'
  for ((i = 0; i < 50; i++)); do
    grep -q 'mkdir /workspace/.gnupg denied' "$out" && break
    sleep 0.1
  done
  alive "$fpid" || fail "cagefs audit --follow exited: $(cat "$out")"
  kill "$fpid"
  wait "$fpid" || true
  grep -q 'create /workspace/.env denied' "$out" || fail "the earlier entry is missing:" "$(cat "$out")"
  grep -q 'mkdir /workspace/.gnupg denied (pid [0-9]* mkdir)' "$out" \
    || fail "the new entry did not show:" "$(cat "$out")"
}

@test "the rate limit: 1000 denied lookups and creates in a loop give a bounded number of lines" {
  put .env "SECRET"
  mount_tools
  # One shell, builtins only: the same (op, path, process) again and again.
  local start end
  start=$(date +%s)
  cage_sh 'i=0; while [ $i -lt 1000 ]; do true < /workspace/.env; true > /workspace/.env; i=$((i + 1)); done' 2>/dev/null
  end=$(date +%s)
  local n limit=$(( end - start + 2 ))
  n=$(count_entries '.op == "lookup" and .path == "/workspace/.env"')
  [ "$n" -ge 1 ] && [ "$n" -le "$limit" ] || fail "$n lookup entries for 1000 lookups in $((end - start)) s"
  n=$(count_entries '.op == "create" and .path == "/workspace/.env"')
  [ "$n" -ge 1 ] && [ "$n" -le "$limit" ] || fail "$n create entries for 1000 creates in $((end - start)) s"
  # 1000 processes (touch): the same name, so the same.
  start=$(date +%s)
  cage_sh 'i=0; while [ $i -lt 1000 ]; do touch /workspace/.env.loop; i=$((i + 1)); done' 2>/dev/null
  end=$(date +%s)
  limit=$(( end - start + 2 ))
  n=$(count_entries '.path == "/workspace/.env.loop"')
  [ "$n" -ge 1 ] && [ "$n" -le "$limit" ] || fail "$n entries for 1000 touch processes in $((end - start)) s"
}

@test "the rate limit: 1000 distinct denied names are capped, and the dropped ones counted" {
  mount_tools
  local start end n dropped
  start=$(date +%s)
  cage_sh 'i=0; while [ $i -lt 1000 ]; do true > /workspace/.env.$i; i=$((i + 1)); done' 2>/dev/null
  end=$(date +%s)
  # One more after a pause carries the count of the dropped ones.
  sleep 1.1
  run cage_sh 'true > /workspace/.env.last'
  n=$(count_entries '.path | test("^/workspace/\\.env\\.[0-9]+$")')
  dropped=$(audit_json | jq '[.[] | .suppressed // 0] | add')
  # burst 200, then 100 a second
  [ "$n" -le $(( 200 + 100 * (end - start + 1) )) ] || fail "$n entries in $((end - start)) s"
  [ "$n" -lt 1000 ] || fail "no entry was dropped ($n entries)"
  assert_equal "$(( n + dropped ))" 1000 "entries logged + dropped"
  assert_entry create /workspace/.env.last denied sh
}

@test "past the size cap the log is rotated to audit.ndjson.1; cagefs audit shows both, --follow follows" {
  CAGEFS_AUDIT_MAX_BYTES=4096 mount_tools
  local f out=$BATS_TEST_TMPDIR/follow.out i
  f=$(audit_file)
  "$CAGEFS_BIN/cagefs" audit "$PROJECT" --follow --json > "$out" 2>&1 &
  local fpid=$!
  sleep 0.3
  # About 140 bytes an entry: 40 entries rotate once.
  cage_sh 'i=0; while [ $i -lt 40 ]; do true > /workspace/.env.$i; i=$((i + 1)); done' 2>/dev/null
  [ -f "$f.1" ] || fail "no $f.1 after 40 entries: $(ls -l "$(dirname "$f")")"
  local s1
  s1=$(stat -c %s "$f.1")
  [ "$s1" -ge 4096 ] && [ "$s1" -lt 4400 ] || fail "audit.ndjson.1 is $s1 bytes (cap 4096)"
  [ "$(stat -c %s "$f")" -lt 4096 ] || fail "audit.ndjson is over the cap"
  assert_equal "$(cagefs audit "$PROJECT" --json | jq -s 'map(.path) | unique | length')" 40 \
    "distinct paths in .1 and the current file"
  for ((i = 0; i < 50; i++)); do
    [ "$(grep -c '' "$out")" -ge 40 ] && break
    sleep 0.1
  done
  kill "$fpid"
  wait "$fpid" || true
  assert_equal "$(jq -s 'map(.path) | unique | length' "$out")" 40 "entries seen by --follow"
}

@test "cagefs audit: bad input is one error line" {
  run --separate-stderr cagefs audit "$PROJECT" --bogus
  assert_status 2
  assert_one_line_error "cagefs: error: audit: unknown option"
  run --separate-stderr cagefs audit "$PROJECT/missing"
  assert_status 1
  assert_one_line_error "cagefs: error: project"
  run --separate-stderr cagefs audit
  assert_status 2
  assert_one_line_error "cagefs: error: audit:"
  # A project never mounted has an empty log.
  run --separate-stderr cagefs audit "$PROJECT"
  assert_success
  assert_equal "$output" "" "output"
}
