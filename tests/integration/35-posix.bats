#!/usr/bin/env bats
# POSIX corners of the workspace view that agents' tools use: extended
# attributes, fallocate, sparse seeks, set-uid bits, device nodes.

load helpers

setup () { common_setup; require_namespaces; }

# pyx CODE: run python3 on the host against the mount ($MNT).
pyx () { MNT=$MNT PROJECT=$PROJECT python3 -c "$1"; }

@test "user.* xattrs round-trip through the workspace to the host" {
  put f.txt data
  mount_tools
  run --separate-stderr pyx '
import os
p = os.environ["MNT"] + "/workspace/f.txt"
os.setxattr(p, "user.agent", b"v1")
print(os.getxattr(p, "user.agent").decode(), os.listxattr(p))
print(os.getxattr(os.environ["PROJECT"] + "/f.txt", "user.agent").decode())
os.removexattr(p, "user.agent")
print(os.listxattr(os.environ["PROJECT"] + "/f.txt"))'
  assert_success
  assert_equal "$output" "v1 ['user.agent']"$'\n'"v1"$'\n'"[]" "xattrs"
}

@test "security.* and trusted.* xattrs cannot be set through the mount" {
  put f.txt data
  mount_tools
  run --separate-stderr pyx '
import os
p = os.environ["MNT"] + "/workspace/f.txt"
for name, val in (("security.capability", b"\x01\x00\x00\x02" + b"\x00" * 16), ("trusted.x", b"1")):
    try:
        os.setxattr(p, name, val)
        print("SET", name)
    except OSError as e:
        print("refused", name)
print(sorted(os.listxattr(os.environ["PROJECT"] + "/f.txt")))'
  assert_success
  assert_equal "$output" "refused security.capability"$'\n'"refused trusted.x"$'\n'"[]" "xattrs"
}

@test "xattrs on the store are read-only (EROFS)" {
  mount_tools
  # the read-only store superblock the launcher binds at /nix/store
  STORE_FILE=$(dirname "$MNT")/store/$(basename "$FIX_DATA")/hello.txt
  run --separate-stderr env F="$STORE_FILE" python3 -c '
import os, errno
try:
    os.setxattr(os.environ["F"], "user.x", b"1"); print("SET")
except OSError as e:
    print(errno.errorcode[e.errno])'
  assert_success
  assert_equal "$output" EROFS "setxattr on the store"
}

@test "fallocate and SEEK_DATA/SEEK_HOLE behave as on the host filesystem" {
  mount_tools
  # the same steps through the mount and natively, side by side
  run --separate-stderr pyx '
import os
def steps(p):
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.posix_fallocate(fd, 0, 1 << 20)
    os.pwrite(fd, b"x", 8 << 20)
    r = (os.fstat(fd).st_size, os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE))
    os.close(fd)
    return r
print(steps(os.environ["MNT"] + "/workspace/sparse.bin"))
print(steps(os.environ["PROJECT"] + "/native.bin"))
print(os.stat(os.environ["PROJECT"] + "/sparse.bin").st_blocks > 0)'
  assert_success
  local a b
  a=$(sed -n 1p <<<"$output")
  b=$(sed -n 2p <<<"$output")
  assert_equal "$a" "$b" "size, SEEK_DATA, SEEK_HOLE through the mount vs natively"
  assert_contains "$a" "8388609"
  assert_equal "$(sed -n 3p <<<"$output")" True "blocks allocated on the host"
}

@test "set-uid and set-gid bits are stripped on files made through the cage" {
  mount_tools
  run --separate-stderr cage_sh 'echo x > su.sh && chmod 6755 su.sh && stat -c %a su.sh'
  assert_success
  assert_equal "$output" 755 "mode inside"
  assert_equal "$(stat -c %a "$PROJECT/su.sh")" 755 "mode on the host"
}

@test "device nodes cannot be made in the workspace" {
  mount_tools
  run --separate-stderr pyx '
import os, stat, errno
try:
    os.mknod(os.environ["MNT"] + "/workspace/null2", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    print("MADE")
except OSError as e:
    print(errno.errorcode[e.errno])
os.mkfifo(os.environ["MNT"] + "/workspace/fifo")
print(stat.S_ISFIFO(os.stat(os.environ["PROJECT"] + "/fifo").st_mode))'
  assert_success
  assert_equal "$output" "EPERM"$'\n'"True" "mknod"
}

# posixcheck (tests/fixtures/posixcheck.c) in DIR: its "ok NAME" / "fail
# NAME: why" lines.  Natively first, on the project's own filesystem; then
# in the cage.  Every check that passes natively must pass in the cage,
# but for the differences documented in the README (KNOWN: "DIR:CHECK").
posix_compare () {
  local where=$1 checks=$2 known=$3 native cage line name fails=()
  local ndir=$BATS_TEST_TMPDIR/native
  mkdir -p "$ndir"
  native=$("$PROBE_DIR/bin/posixcheck" "$ndir" $checks) || true
  # Its own timeout: a folder of 100,000 entries through FUSE (and ASan)
  # takes longer than CAGEFS_TIMEOUT on a busy machine.
  run --separate-stderr timeout -k 5 600 "$CAGEFS_BIN/cage" exec "$PROJECT" -- \
    sh -c "posixcheck $where $checks"
  cage=$output
  [ -n "$cage" ] || fail "posixcheck printed nothing in the cage: $stderr"
  while read -r line; do
    [[ $line == ok\ * ]] || continue
    name=${line#ok }
    if ! grep -qx "ok $name" <<<"$cage"; then
      [[ " $known " == *" $where:$name "* ]] && continue
      fails+=("$where: $(grep "^fail $name:" <<<"$cage" || echo "$name: no result")")
    fi
  done <<<"$native"
  [ "${#fails[@]}" -eq 0 ] || fail "natively fine, not in the cage:" "${fails[@]}" "native:" "$native"
}

@test "what agents' tools do works in /workspace as natively (posixcheck, 20 checks)" {
  PROBE_DIR=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  mount_tools --package "$PROBE_DIR"
  # O_TMPFILE: this libfuse has no tmpfile operation (EOPNOTSUPP); /tmp has it.
  posix_compare /workspace "" "/workspace:o_tmpfile"
}

@test "what agents' tools do works in /tmp and the home as natively (O_TMPFILE included)" {
  PROBE_DIR=$("$BATS_TEST_DIRNAME/../fixtures/probes.sh")
  mount_tools --package "$PROBE_DIR"
  local checks="rename_over_file rename_dirs renameat2 unlink_open hardlink symlink chmod truncate"
  checks+=" utimens_ns o_append o_excl fallocate mmap_write fsync xattr_user name_255 sparse_5g"
  checks+=" locks o_tmpfile"
  posix_compare /tmp "$checks" ""
  # the home is the host folder, bound (not a FUSE view): O_TMPFILE too
  posix_compare '$HOME' "$checks" ""
}
