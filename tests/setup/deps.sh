#!/usr/bin/env bash
# tests/setup/deps.sh - make this machine able to build and test cagefs.
#
# Debian 12, as root: installs the missing packages (apt is skipped when
# dpkg-query says everything is there), makes sure the test user `cagetest`
# exists and is in nix-users, that a nix-daemon answers (started with setsid
# when none does) and that FUSE is usable through the setuid fusermount3.
# Not root or not Debian: prints the command to run and exits 1 when
# something is missing.  Safe and fast to run again.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config
  libfuse3-dev fuse3 libseccomp-dev libjansson-dev liburing-dev libcap-dev
  libssl-dev              # SHA-256 of store.expr's folder (libcrypto)
  libcmocka-dev
  clang libclang-rt-dev   # make fuzz: libFuzzer is in libclang-rt (only recommended)
  nix-bin nix-setup-systemd
  bats busybox-static jq iproute2 perl procps util-linux passwd kmod valgrind
  apparmor                # apparmor_parser: the AppArmor profile of cage parses
  patchelf                # tests/fixtures/real-tools.sh: the host's git/python/node re-rooted
  git python3             # (nodejs with npm too, where the machine has it)
  curl openssl            # the network suites: the cage's client, the test CA
)
TEST_USER=${CAGEFS_TEST_USER:-cagetest}
NIX_SOCKET=/nix/var/nix/daemon-socket/socket

say () { echo "deps: $*"; }
die () { echo "deps: error: $*" >&2; exit 1; }

is_root () { [ "$(id -u)" = 0 ]; }
is_debian () { [ -r /etc/debian_version ] && command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; }

missing_packages () {
  local p st
  for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case $st in ii*) ;; *) printf '%s\n' "$p" ;; esac
  done
}

# --- packages -------------------------------------------------------------
if ! is_debian; then
  die "not a Debian system; install the equivalents of: ${PACKAGES[*]}"
fi
mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
  if ! is_root; then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] || die "still missing after apt-get: ${missing[*]}"
else
  say "all packages present"
fi

nix_daemon_answers () {
  # As the test user when we can, so nix-users membership is checked too.
  local cmd="nix --extra-experimental-features nix-command store ping --store daemon"
  if is_root && id "$TEST_USER" >/dev/null 2>&1; then
    timeout 20 su -s /bin/sh "$TEST_USER" -c "$cmd" </dev/null >/dev/null 2>&1
  else
    NIX_REMOTE=daemon timeout 20 sh -c "$cmd" </dev/null >/dev/null 2>&1
  fi
}

if ! is_root; then
  # An ordinary user can only check.
  [ -S "$NIX_SOCKET" ] && nix_daemon_answers \
    || die "no nix-daemon answers at $NIX_SOCKET; run as root: tests/setup/deps.sh"
  [ -c /dev/fuse ] || die "/dev/fuse is missing; run as root: tests/setup/deps.sh"
  say "ok"
  exit 0
fi

# --- the unprivileged test user -------------------------------------------
getent group nix-users >/dev/null || groupadd --system nix-users
if ! id "$TEST_USER" >/dev/null 2>&1; then
  say "creating user $TEST_USER"
  useradd --create-home --shell /bin/bash --user-group "$TEST_USER"
fi
if ! id -nG "$TEST_USER" | tr ' ' '\n' | grep -qx nix-users; then
  usermod -aG nix-users "$TEST_USER"
fi
home=$(getent passwd "$TEST_USER" | cut -d: -f6)
if [ ! -d "$home" ]; then
  mkdir -p "$home"
  chown "$TEST_USER:" "$home"
  chmod 0755 "$home"
fi

# --- Nix: build users and a daemon -----------------------------------------
getent group nixbld >/dev/null || groupadd --system nixbld
if [ -z "$(getent group nixbld | cut -d: -f4)" ]; then
  for n in $(seq 1 10); do
    id "nixbld$n" >/dev/null 2>&1 || useradd --system --no-create-home \
      --home-dir /var/empty --shell /usr/sbin/nologin --gid nixbld \
      --groups nixbld "nixbld$n"
  done
fi
mkdir -p /nix/var/nix/daemon-socket
if ! { [ -S "$NIX_SOCKET" ] && nix_daemon_answers; }; then
  say "starting nix-daemon"
  rm -f "$NIX_SOCKET"
  log=/var/log/cagefs-nix-daemon.log
  setsid nix-daemon </dev/null >>"$log" 2>&1 &
  for _ in $(seq 1 100); do
    [ -S "$NIX_SOCKET" ] && nix_daemon_answers && break
    sleep 0.1
  done
  nix_daemon_answers || die "nix-daemon did not answer at $NIX_SOCKET (see $log)"
fi
# The socket's folder must let nix-users in.
chgrp nix-users /nix/var/nix/daemon-socket 2>/dev/null || true
chmod 0770 /nix/var/nix/daemon-socket 2>/dev/null || true
nix_daemon_answers || die "user $TEST_USER cannot reach the nix-daemon"

# --- FUSE ------------------------------------------------------------------
if [ ! -c /dev/fuse ]; then
  modprobe fuse 2>/dev/null || true
  [ -c /dev/fuse ] || mknod -m 0666 /dev/fuse c 10 229
fi
# Debian's udev rule makes /dev/fuse 0666; machines without udev keep 0600,
# and then libfuse cannot open it for an ordinary user.
if [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  say "chmod 0666 /dev/fuse (as Debian's udev rule does)"
  chmod 0666 /dev/fuse
fi
fm=$(command -v fusermount3) || die "fusermount3 not found (package fuse3)"
if [ ! -u "$fm" ]; then
  say "making $fm setuid root"
  chown root:root "$fm"
  chmod 4755 "$fm"
fi
grep -qw fuse /proc/filesystems || die "the kernel has no FUSE (modprobe fuse failed)"

say "ok (user $TEST_USER, nix-daemon, FUSE)"
