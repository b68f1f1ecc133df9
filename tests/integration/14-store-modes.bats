#!/usr/bin/env bats
# Store modes beyond readonly: shared (with the host's nix-daemon), copy (a
# private, writable copy made by our copy engine) and isolated (a private
# store filled only from a binary cache).

load helpers

setup () { common_setup; require_namespaces; }
teardown () { common_teardown; chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true; }

nix_cmd () { nix --extra-experimental-features nix-command "$@"; }

# A file:// binary cache holding PATHS' closures; prints its URL.
make_cache () {
  local dir=$BATS_TEST_TMPDIR/cache
  nix_cmd copy --to "file://$dir" "$@" >/dev/null 2>&1 \
    || fail "nix copy --to file://$dir $* failed: $(nix_cmd copy --to "file://$dir" "$@" 2>&1)"
  chmod -R a+rX "$dir"
  echo "file://$dir"
}

# A fresh store path of our own (nix-store --add of a folder): prints it.
unique_path () {
  local d=$BATS_TEST_TMPDIR/uniq-$1
  mkdir -p "$d/sub"
  printf 'unique %s %s\n' "$1" "$(date +%s%N)-$$-$RANDOM" >"$d/data.txt"
  printf 'inner\n' >"$d/sub/inner.txt"
  nix-store --add "$d"
}

# Checksums of every file of the store paths given (relative names).
store_sums () {
  local root=$1; shift
  (cd "$root" && for p in "$@"; do find "$(basename "$p")" -printf '%p %y %m %s %l\n'; done \
    | LC_ALL=C sort && for p in "$@"; do find "$(basename "$p")" -printf '%p %T@\n'; done \
    | LC_ALL=C sort && for p in "$@"; do find "$(basename "$p")" -type f -exec sha256sum {} +; done \
    | LC_ALL=C sort)
}

private_root () { echo "$(cagefs status --json "$PROJECT" | jq -r .state_dir)/private"; }

# A store path big enough that a copy takes a moment: FILES small files in
# 20 folders and one 32 MiB file.  Prints it.
big_path () {
  local d=$BATS_TEST_TMPDIR/big-$1 i
  mkdir -p "$d"
  for i in $(seq 0 19); do mkdir "$d/d$i"; done
  for i in $(seq 1 "$2"); do printf '%s %s\n' "$1" "$i" >"$d/d$((i % 20))/f$i"; done
  head -c 33554432 /dev/urandom >"$d/big.bin"
  printf '#!/bin/sh\n' >"$d/run.sh" && chmod +x "$d/run.sh"
  ln -s d0/f20 "$d/link"
  nix-store --add "$d"
}

# assert_no_partial DST PATH...: each entry of the store folder DST other
# than ".tmp-*" leftovers is one of PATHS, complete.
assert_no_partial () {
  local dst=$1 e q ok; shift
  for e in "$dst"/*; do
    [ -e "$e" ] || continue
    ok=
    for q in "$@"; do
      if [ "$(basename "$e")" = "$(basename "$q")" ]; then
        assert_equal "$(store_sums "$dst" "$q")" "$(store_sums /nix/store "$q")" "visible copy of $q"
        ok=1
      fi
    done
    [ -n "$ok" ] || fail "unexpected entry $e"
  done
}

# ---------------------------------------------------------------------------
# shared

@test "shared: without store.nix_daemon there is no nix-daemon socket inside" {
  mount_tools --mode shared
  run --separate-stderr cage_sh 'test -e /nix/var/nix/daemon-socket/socket'
  assert_failure
}

@test "shared: --nix-daemon puts the host's nix-daemon socket inside, read-only" {
  [ -S /nix/var/nix/daemon-socket/socket ] || skip "no nix-daemon socket on this host"
  # (Debian's daemon builds without a sandbox: only the override mounts;
  # 16-nix-safety.bats tests the refusal)
  mount_tools --mode shared --nix-daemon-unsandboxed
  assert_equal "$(jq -r .mode <<<"$MOUNT_JSON")" shared "mode"
  run --separate-stderr cage exec "$PROJECT" -- stat -c %F /nix/var/nix/daemon-socket/socket
  assert_success
  assert_equal "$output" socket "file type"
  run --separate-stderr cage_sh 'rm /nix/var/nix/daemon-socket/socket'
  assert_failure
  run --separate-stderr cage_sh 'touch /nix/var/nix/daemon-socket/other'
  assert_failure
  [ -S /nix/var/nix/daemon-socket/socket ] || fail "the host's socket is gone"
}

@test "shared: store.nix_daemon in cage.json, ignored with a warning in another mode" {
  cat >"$PROJECT/cage.json" <<EOF
{ "store": { "mode": "readonly", "nix_daemon": true, "packages": [ "$FIX_TOOLS" ] } }
EOF
  run --separate-stderr cagefs mount "$PROJECT"
  assert_success
  MNT=$output
  assert_contains "$stderr" "only used in store mode \"shared\"" "warning"
  run --separate-stderr cage_sh 'test -e /nix/var/nix/daemon-socket/socket'
  assert_failure
}

# ---------------------------------------------------------------------------
# isolated

@test "isolated: the closure comes from a file:// binary cache" {
  local url
  url=$(make_cache "$FIX_TOOLS")
  mount_tools --mode isolated --cache "$url"
  assert_equal "$(jq -r .mode <<<"$MOUNT_JSON")" isolated "mode"
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /nix/store
  assert_success
  assert_equal "$(printf '%s\n' "$output" | LC_ALL=C sort)" "$(closure_names)" "ls /nix/store"
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_success
  assert_equal "$output" "hello from the fixture store path" "data file"
  run --separate-stderr cage exec "$PROJECT" -- "$FIX_TOOLS/bin/echo" from-private-store
  assert_equal "$output" from-private-store "a program of the private store runs"
  # The private store is a real Nix store that Nix can query.
  run nix-store --store "local?root=$(private_root)" --query --requisites "$FIX_TOOLS"
  assert_success
  assert_equal "$(printf '%s\n' "$output" | LC_ALL=C sort)" \
    "$(printf '%s\n' $FIX_CLOSURE | LC_ALL=C sort)" "closure in the private store"
  # And what the cage sees is that store, not the host's.
  local ino_cage ino_priv
  ino_priv=$(stat -c %i "$(private_root)$FIX_DATA/hello.txt")
  [ "$(stat -c %i "$FIX_DATA/hello.txt")" != "$ino_priv" ] || fail "same inode as the host store"
  run --separate-stderr cage_sh 'touch /nix/store/new'
  assert_failure
  assert_contains "$stderr" "Read-only file system"
  run cagefs status --json "$PROJECT"
  assert_success
  assert_equal "$(jq -r .mode <<<"$output")" isolated "status mode"
}

@test "isolated: works with the closure absent from the host store" {
  local p url
  p=$(unique_path gone)
  url=$(make_cache "$p" "$FIX_TOOLS")
  nix-store --delete "$p" >/dev/null 2>&1 || fail "could not delete $p from the host store"
  [ ! -e "$p" ] || fail "$p still on the host"
  mount_project --mode isolated --cache "$url" --package "$FIX_TOOLS" --package "$p"
  run --separate-stderr cage exec "$PROJECT" -- cat "$p/sub/inner.txt"
  assert_success
  assert_equal "$output" inner "file of a path the host no longer has"
  [ ! -e "$p" ] || fail "$p came back to the host store"
}

@test "isolated: cage.json names the cache" {
  local url
  url=$(make_cache "$FIX_TOOLS")
  cat >"$PROJECT/cage.json" <<EOF
{ "store": { "mode": "isolated", "cache": "$url", "packages": [ "$FIX_TOOLS" ] } }
EOF
  mount_project
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_success
}

@test "isolated: no cache, a bad URL, a path missing from the cache: one clear error, no mount" {
  local url
  url=$(make_cache "$FIX_TOOLS")
  run --separate-stderr cagefs mount "$PROJECT" --mode isolated --package "$FIX_TOOLS"
  assert_failure
  assert_one_line_error "cagefs: error: store mode \"isolated\" needs a binary cache"
  run --separate-stderr cagefs mount "$PROJECT" --mode isolated --cache "ftp://x" --package "$FIX_TOOLS"
  assert_failure
  assert_one_line_error "cagefs: error: --cache: binary cache \`ftp://x\` is not a file://"
  run --separate-stderr cagefs mount "$PROJECT" --mode isolated --cache "file:///nonexistent/c" \
    --package "$FIX_TOOLS"
  assert_failure
  assert_one_line_error "cagefs: error: --cache: binary cache \`file:///nonexistent/c\`: cannot read"
  run --separate-stderr cagefs mount "$PROJECT" --mode isolated --cache "$url" --package "$FIX_OTHER"
  assert_failure
  assert_one_line_error "cagefs: error: store path $FIX_OTHER is not in the binary cache $url"
  [ -z "$(project_mounts)" ] || fail "mounts left: $(project_mounts)"
}

@test "isolated: a corrupted NAR in the cache is rejected, nothing of it visible" {
  local p url nar
  p=$(unique_path corrupt)
  url=$(make_cache "$p")
  nar=$(ls "${url#file://}"/nar/*)
  # Flip the file contents inside the (compressed) NAR: the hash must catch it.
  case $nar in
    *.xz) xz -dc "$nar" >"$BATS_TEST_TMPDIR/raw" ;;
    *) cp "$nar" "$BATS_TEST_TMPDIR/raw" ;;
  esac
  sed -i 's/inner/INNER/' "$BATS_TEST_TMPDIR/raw"
  case $nar in
    *.xz) xz -c "$BATS_TEST_TMPDIR/raw" >"$nar" ;;
    *) cp "$BATS_TEST_TMPDIR/raw" "$nar" ;;
  esac
  run --separate-stderr cagefs mount "$PROJECT" --mode isolated --cache "$url" --package "$p"
  assert_failure
  assert_one_line_error "cagefs: error: "
  assert_contains "$stderr" "$url" "the error names the cache"
  [ -z "$(project_mounts)" ] || fail "mounts left: $(project_mounts)"
  # Nothing of it in the private store, registered or not.
  local priv
  priv=$(private_root)
  [ ! -e "$priv/nix/store/$(basename "$p")" ] || fail "the corrupt path is visible in $priv"
  run nix-store --store "local?root=$priv" --check-validity "$p"
  assert_failure
}

# ---------------------------------------------------------------------------
# copy

@test "copy: the cage sees a private copy identical to the host's closure" {
  mount_tools --mode copy
  assert_equal "$(jq -r .mode <<<"$MOUNT_JSON")" copy "mode"
  local priv
  priv=$(private_root)/nix/store
  for p in $FIX_CLOSURE; do [ -d "$priv/$(basename "$p")" ] || fail "$p not copied"; done
  assert_equal "$(store_sums "$priv" $FIX_CLOSURE)" "$(store_sums /nix/store $FIX_CLOSURE)" \
    "private copy vs host"
  run --separate-stderr cage exec "$PROJECT" -- ls -1 /nix/store
  assert_success
  assert_equal "$(printf '%s\n' "$output" | LC_ALL=C sort)" "$(closure_names)" "ls /nix/store"
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_equal "$output" "hello from the fixture store path" "data file"
  # Registered: Nix can query the private store.
  run nix-store --store "local?root=$(private_root)" --query --requisites "$FIX_TOOLS"
  assert_success
  assert_equal "$(printf '%s\n' "$output" | LC_ALL=C sort)" \
    "$(printf '%s\n' $FIX_CLOSURE | LC_ALL=C sort)" "closure registered in the private store"
}

@test "copy: the agent may change and add store paths; the host store never changes" {
  local before
  before=$(store_sums /nix/store $FIX_CLOSURE)
  mount_tools --mode copy
  run --separate-stderr cage_sh "chmod u+w $FIX_DATA $FIX_DATA/hello.txt && echo changed > $FIX_DATA/hello.txt \
    && touch -d 2001-01-01 $FIX_DATA/hello.txt && mkdir /nix/store/agent-made && echo x > /nix/store/agent-made/f \
    && chmod 777 $FIX_DATA && chmod u+w $FIX_DATA/sub && rm $FIX_DATA/sub/deeper.txt"
  assert_success
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_equal "$output" changed "the cage's copy changed"
  assert_equal "$(store_sums /nix/store $FIX_CLOSURE)" "$before" "host store unchanged"
  assert_equal "$(cat "$FIX_DATA/hello.txt")" "hello from the fixture store path" "host file"
}

@test "copy: a second mount copies nothing and keeps the agent's changes" {
  mount_tools --mode copy
  run --separate-stderr cage_sh "chmod u+w $FIX_DATA/hello.txt && echo kept > $FIX_DATA/hello.txt"
  assert_success
  cagefs umount "$PROJECT"
  mount_tools --mode copy -v
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_equal "$output" kept "the agent's change survives a remount"
}

@test "copy: deleting the host path afterwards does not affect the cage, now or at the next mount" {
  local p
  p=$(unique_path gc)
  mount_project --mode copy --package "$FIX_TOOLS" --package "$p"
  nix-store --delete "$p" >/dev/null 2>&1 || fail "could not delete $p from the host store"
  [ ! -e "$p" ] || fail "$p still on the host"
  run --separate-stderr cage exec "$PROJECT" -- cat "$p/sub/inner.txt"
  assert_success
  assert_equal "$output" inner "read after the host deleted it"
  cagefs umount "$PROJECT"
  mount_project --mode copy --package "$FIX_TOOLS" --package "$p"
  run --separate-stderr cage exec "$PROJECT" -- cat "$p/sub/inner.txt"
  assert_success
  assert_equal "$output" inner "read at the next mount"
  [ ! -e "$p" ] || fail "$p came back to the host store"
}

@test "copy: status shows the mode, the closure's size and the private store's size" {
  mount_tools --mode copy
  run cagefs status --json "$PROJECT"
  assert_success
  assert_equal "$(jq -r .mode <<<"$output")" copy "mode"
  [ "$(jq -r .closure_bytes <<<"$output")" -gt 0 ] || fail "closure_bytes: $output"
  [ "$(jq -r '.private_store_bytes + .private_store_shared_bytes' <<<"$output")" -gt 0 ] \
    || fail "private store size: $output"
  run cagefs status "$PROJECT"
  assert_contains "$output" "store mode copy"
  assert_contains "$output" "private store"
}

@test "copy: kill -9 during the copy, then the next mount completes it" {
  local p before i
  p=$(big_path killed 3000)
  before=$(store_sums /nix/store "$p")
  for i in 1 2 3; do
    "$CAGEFS_BIN/cagefs" mount "$PROJECT" --mode copy --package "$FIX_TOOLS" --package "$p" \
      >/dev/null 2>&1 &
    local bg=$!
    sleep "0.0$((i * 3))"
    kill -9 "$bg" 2>/dev/null || true
    wait "$bg" 2>/dev/null || true
    # Whatever moment the kill hit: no partial store path is visible.
    assert_no_partial "$(private_root)/nix/store" "$p" $FIX_CLOSURE
    cagefs umount "$PROJECT" >/dev/null 2>&1 || true
  done
  mount_project --mode copy --package "$FIX_TOOLS" --package "$p"
  assert_equal "$(store_sums "$(private_root)/nix/store" "$p")" "$before" "private copy vs host"
  [ -z "$(ls -A "$(private_root)/nix/store" | grep '^\.tmp-')" ] || fail "leftovers remain"
  assert_equal "$(store_sums /nix/store "$p")" "$before" "host store unchanged"
  run --separate-stderr cage exec "$PROJECT" -- cat "$p/d1/f1"
  assert_equal "$output" "killed 1" "a file of the completed copy"
}

@test "copy: switching an existing project readonly -> copy -> readonly" {
  mount_tools
  cagefs umount "$PROJECT"
  mount_tools --mode copy
  run cagefs status --json "$PROJECT"
  assert_equal "$(jq -r .mode <<<"$output")" copy "status mode"
  run --separate-stderr cage_sh "chmod u+w $FIX_DATA/hello.txt && echo private > $FIX_DATA/hello.txt"
  assert_success
  cagefs umount "$PROJECT"
  mount_tools
  run --separate-stderr cage exec "$PROJECT" -- cat "$FIX_DATA/hello.txt"
  assert_equal "$output" "hello from the fixture store path" "readonly again: the host's path"
  run --separate-stderr cage_sh "touch $FIX_DATA/x"
  assert_contains "$stderr" "Read-only file system"
}

# ---------------------------------------------------------------------------
# the copy engine on its own (cagefs copy)

@test "copy engine: io_uring, plain and hard-link copies are identical to the source" {
  local p dst e
  p=$(big_path engine 2000)
  for e in "" --no-uring --link; do
    dst=$BATS_TEST_TMPDIR/dst$e
    run --separate-stderr cagefs copy --json $e --to "$dst" "$p"
    assert_success
    assert_equal "$(jq -r 'select(.event=="copied") | .paths' <<<"$output")" 1 "paths copied ($e)"
    assert_equal "$(store_sums "$dst" "$p")" "$(store_sums /nix/store "$p")" "copy $e"
    [ -z "$(ls -A "$dst" | grep '^\.tmp-')" ] || fail "leftovers after copy $e"
  done
  # The engine says which it used.
  run --separate-stderr cagefs copy --json --to "$BATS_TEST_TMPDIR/e1" "$p"
  assert_equal "$(jq -r 'select(.event=="copied") | .engine' <<<"$output")" io_uring "engine"
  run --separate-stderr cagefs copy --json --no-uring --to "$BATS_TEST_TMPDIR/e2" "$p"
  refute_contains "$(jq -r 'select(.event=="copied") | .engine' <<<"$output")" io_uring "engine"
  # A second copy skips what is there.
  run --separate-stderr cagefs copy --json --to "$BATS_TEST_TMPDIR/dst" "$p"
  assert_success
  assert_equal "$(jq -r 'select(.event=="copied") | .skipped' <<<"$output")" 1 "skipped"
}

@test "copy engine: --json gives NDJSON progress events ending with the summary" {
  local p
  p=$(big_path progress 500)
  run --separate-stderr cagefs copy --json --to "$BATS_TEST_TMPDIR/d" "$p"
  assert_success
  jq -e . <<<"$output" >/dev/null || fail "not NDJSON: $output"
  assert_equal "$(jq -r .event <<<"$output" | tail -2 | tr '\n' ' ')" "copy-done copied " "last events"
  assert_equal "$(jq -r 'select(.event=="copy-done") | .files_done == .files_total' <<<"$output")" \
    true "files_done"
  run --separate-stderr cagefs copy --to "$BATS_TEST_TMPDIR/d2" "$p"
  assert_success
  assert_equal "$stderr" "" "silent when stderr is not a TTY"
}

@test "copy engine: kill -9 at any moment leaves no partial path; the next copy finishes" {
  local p dst i
  p=$(big_path engkill 3000)
  dst=$BATS_TEST_TMPDIR/dst
  for i in 1 2 3 4; do
    "$CAGEFS_BIN/cagefs" copy --to "$dst" "$p" >/dev/null 2>&1 &
    local bg=$!
    sleep "0.0$((i * 2))"
    kill -9 "$bg" 2>/dev/null || true
    wait "$bg" 2>/dev/null || true
    assert_no_partial "$dst" "$p"
    [ -e "$dst/$(basename "$p")" ] && break
  done
  run --separate-stderr cagefs copy --to "$dst" "$p"
  assert_success
  assert_equal "$(store_sums "$dst" "$p")" "$(store_sums /nix/store "$p")" "completed copy"
  [ -z "$(ls -A "$dst" | grep '^\.tmp-')" ] || fail "leftovers remain"
}

@test "copy engine: a full disk is reported with the path, nothing half-copied visible" {
  [ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
  local p dst
  p=$(big_path full 100)
  dst=$BATS_TEST_TMPDIR/small
  mkdir "$dst"
  mount -t tmpfs -o size=8m tmpfs "$dst" || skip "cannot mount tmpfs"
  run --separate-stderr cagefs copy --to "$dst/store" "$p"
  local left
  left=$(ls -A "$dst/store")
  umount "$dst"
  assert_failure
  assert_one_line_error "cagefs: error: copy into \`$dst/store\`: "
  assert_contains "$stderr" "No space left on device"
  assert_contains "$stderr" "$(basename "$p")" "the error names the path"
  assert_equal "$left" "" "nothing left in the destination"
}

@test "copy engine: an unwritable destination and a bad store path are one-line errors" {
  local dst=$BATS_TEST_TMPDIR/ro
  mkdir -p "$dst" && chmod 555 "$dst"
  if [ "$(id -u)" != 0 ]; then
    run --separate-stderr cagefs copy --to "$dst" "$FIX_DATA"
    assert_failure
    assert_one_line_error "cagefs: error: copy into \`$dst\`: "
    assert_contains "$stderr" "Permission denied"
  fi
  run --separate-stderr cagefs copy --to "$BATS_TEST_TMPDIR/x" /etc/passwd
  assert_failure
  assert_one_line_error "cagefs: error: copy: \`/etc/passwd\` is not a store path"
  run --separate-stderr cagefs copy --to "$BATS_TEST_TMPDIR/x" /nix/store/00000000000000000000000000000000-none
  assert_failure
  assert_one_line_error "cagefs: error: copy into"
  assert_contains "$stderr" "00000000000000000000000000000000-none"
}

@test "copy mode: a file shared with the host by a hard link is copied up before any change" {
  [ "$(id -u)" = 0 ] || skip "hard links to root's store files need root (fs.protected_hardlinks)"
  local before ino
  before=$(store_sums /nix/store $FIX_CLOSURE)
  mount_tools --mode copy
  ino=$(stat -c %i "$FIX_DATA/hello.txt")
  assert_equal "$(stat -c %i "$(private_root)/nix/store/$(basename "$FIX_DATA")/hello.txt")" "$ino" \
    "shared by a hard link"
  run --separate-stderr cage_sh "chmod 600 $FIX_DATA/hello.txt"
  assert_success
  run --separate-stderr cage_sh "touch -d 2001-01-01 $FIX_TOOLS/bin/busybox 2>/dev/null || touch -d 2001-01-01 $(ls -d $FIX_BUSYBOX)/bin/busybox"
  assert_success
  run --separate-stderr cage_sh "echo more >> $FIX_DATA/hello.txt && cat $FIX_DATA/hello.txt"
  assert_success
  assert_equal "$output" "hello from the fixture store path
more" "the cage's copy"
  assert_equal "$(store_sums /nix/store $FIX_CLOSURE)" "$before" "host store unchanged"
  [ "$(stat -c %i "$(private_root)/nix/store/$(basename "$FIX_DATA")/hello.txt")" != "$ino" ] \
    || fail "the private file still shares the host's inode"
  assert_equal "$(stat -c %a "$FIX_DATA/hello.txt")" 444 "host file mode"
}
