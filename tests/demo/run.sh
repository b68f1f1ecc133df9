#!/usr/bin/env bash
# tests/demo/run.sh - the cagefs demo, printed like a terminal transcript.
#
# Builds a small closure in the real Nix store (tests/fixtures/build.sh:
# busybox tools + busybox + a data path), copies tests/demo/project to a temp
# folder (the repo is never touched), points its cage.json at the closure,
# mounts it and runs a few commands in the cage.  Each command is echoed
# before it runs.  Exits 1 if something did not behave as shown.
#
#   CAGEFS_BIN   folder with cagefs and cage (default: <repo>/bin)
#
# As root, the demo also shows the filtered network: it makes upstream hosts
# in a net namespace of their own (tests/fixtures/upstream-net.sh; nothing
# leaves the machine) and runs in a mount namespace of its own where their
# hosts file is /etc/hosts.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CAGEFS_BIN=$(realpath "${CAGEFS_BIN:-$repo/bin}")
export PATH="$CAGEFS_BIN:$PATH"
for b in cagefs cage; do
  [ -x "$CAGEFS_BIN/$b" ] || { echo "demo: error: $CAGEFS_BIN/$b not found; run: make" >&2; exit 1; }
done

FIXTURE_DIR=${FIXTURE_DIR:-$repo/build/fixtures} "$repo/tests/fixtures/build.sh" >/dev/null
# shellcheck source=/dev/null
. "${FIXTURE_DIR:-$repo/build/fixtures}/fixture.env"

# The upstream hosts, then the demo again in its own mount namespace.
if [ "$(id -u)" = 0 ] && [ -z "${DEMO_UPSTREAM:-}" ] && [ -n "${FIX_CURL:-}" ]; then
  up=$(mktemp -d "${TMPDIR:-/tmp}/cagefs-demo-up.XXXXXX")
  trap 'UPSTREAM_NS=cagefs-demo-up "$repo/tests/fixtures/upstream-net.sh" down "$up"; rm -rf "$up"' EXIT
  UPSTREAM_NS=cagefs-demo-up UPSTREAM_BIG_MB=1 "$repo/tests/fixtures/upstream-net.sh" up "$up" \
    || { echo "demo: error: tests/fixtures/upstream-net.sh up failed" >&2; exit 1; }
  rc=0
  DEMO_UPSTREAM=$up unshare -m --propagation private \
    sh -c 'mount --bind "$1/hosts" /etc/hosts && exec "$2"' sh "$up" "${BASH_SOURCE[0]}" || rc=$?
  exit "$rc"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cagefs-demo.XXXXXX")
cleanup () {
  cagefs umount "$work/demo" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
cp -a "$repo/tests/demo/project" "$work/demo"
# the busybox tools, and the host's own git re-rooted in the store when the
# machine has git (tests/fixtures/real-tools.sh)
git_pkg= curl_pkg=
[ -n "${FIX_GIT_MISSING:-}" ] || git_pkg=${FIX_GIT:-}
[ -z "${DEMO_UPSTREAM:-}" ] || curl_pkg=${FIX_CURL:-}
jq --arg p "$FIX_TOOLS" --arg g "$git_pkg" --arg c "$curl_pkg" \
  '.store.packages = ([$p, $g, $c] | map(select(. != "")))' "$work/demo/cage.json" > "$work/cage.json"
mv "$work/cage.json" "$work/demo/cage.json"
cd "$work"

problems=0
# step EXPECT 'COMMAND': echo the command, run it, show a nonzero status.
# EXPECT is ok (must succeed) or fail (must fail).
step () {
  local expect=$1 cmd=$2 rc=0
  printf '\n$ %s\n' "$cmd"
  eval "$cmd" 2>&1 || rc=$?
  [ "$rc" = 0 ] || echo "[exit $rc]"
  if { [ "$expect" = ok ] && [ "$rc" != 0 ]; } || { [ "$expect" = fail ] && [ "$rc" = 0 ]; }; then
    echo "demo: UNEXPECTED: this should have $([ "$expect" = ok ] && echo succeeded || echo failed)" >&2
    problems=$((problems + 1))
  fi
}
note () { printf '\n# %s\n' "$*"; }

note "A project with fake secrets, and its cage.json (packages: the demo closure)"
step ok 'ls -A demo demo/.ssh'
step ok 'cat demo/cage.json'

note "Mount it: a FUSE daemon serves the agent's view of the machine"
step ok 'cagefs mount demo'

note "The store holds exactly the closure of the packages"
step ok 'cage exec demo -- ls /nix/store'
step fail "cage exec demo -- ls $FIX_OTHER"

note "The workspace is the project, minus its secrets"
step ok 'cage exec demo -- ls -a /workspace'
step fail 'cage exec demo -- cat /workspace/.env'
step fail 'cage exec demo -- cat /workspace/.ssh/id_rsa'
step fail 'cage exec demo -- sh -c "echo stolen > /workspace/.env"'

note "...and it is writable: what the agent writes lands in the project"
step ok "cage exec demo -- sh -c 'echo \"written in the cage\" > /workspace/notes.txt'"
step ok 'cat demo/notes.txt && ls -l demo/notes.txt'

if [ -n "$git_pkg" ]; then
  note "Real work: git in the cage; a repository the agent makes is its own..."
  step ok "cage exec demo -- sh -c 'git init -q /workspace/lib && cd /workspace/lib && echo hi > a && git add a && git -c user.name=agent -c user.email=agent@example.org commit -qm first && git log --oneline | sed \"s/^[0-9a-f]* //\"'"
  step ok 'cage exec demo -- git clone -q /workspace/lib /workspace/lib-copy && ls demo/lib-copy'
  note "...but no config key or hook in it may run a program on the host"
  step fail "cage exec demo -- git -C /workspace/lib config core.fsmonitor 'touch /tmp/pwned'"
  step fail 'cage exec demo -- sh -c "echo exit 0 > /workspace/lib/.git/hooks/pre-commit; chmod +x /workspace/lib/.git/hooks/pre-commit"'
  step ok 'cagefs audit demo | tail -n 2 | cut -d" " -f2-'
fi

note "The store is read-only"
step fail 'cage exec demo -- touch /nix/store/evil'

note "No network: only the loopback interface"
step ok 'cage exec demo -- ip link'

note "An unprivileged user, in its own namespaces"
step ok 'cage exec demo -- id'
step ok 'cage exec demo -- ./hello.sh'
step ok 'cage exec demo -- sh -c "exit 7"; echo "exit status: $?"'

note "On the host, the secrets are still there, untouched"
step ok 'cat demo/.env'

note "Review while the agent works: in the cow view its changes wait for you"
step ok 'cagefs umount demo && cagefs mount demo --workspace-view cow'
step ok "cage exec demo -- sh -c 'echo \"a change to review\" > /workspace/review.txt'"
step fail 'cat demo/review.txt'
step ok 'cagefs diff demo --stat'
step ok 'cagefs accept demo review.txt && cat demo/review.txt'
step ok 'cage exec demo -- cat /workspace/review.txt'

if [ -n "${DEMO_UPSTREAM:-}" ]; then
  note "A filtered network: allowed names reachable, nothing else, every attempt in the audit log"
  note "(allowed.test and denied.test: upstream hosts in a net namespace of the demo's own)"
  step ok 'cagefs umount demo && cagefs mount demo --network filtered --allow allowed.test'
  step ok 'cage exec demo -- curl -sS http://allowed.test/hello.txt'
  step ok "cage exec demo -- curl -sS --noproxy '*' http://allowed.test/hello.txt"
  step fail 'cage exec demo -- curl -sS -f http://denied.test/hello.txt'
  step fail "cage exec demo -- curl -sS --noproxy '*' http://denied.test/hello.txt"
  step ok 'cagefs audit demo | tail -n 3'
fi

note "Status, then unmount"
step ok 'cagefs status demo --json | jq .'
step ok 'cagefs umount demo'
step fail 'cagefs status demo'

echo
if [ "$problems" -ne 0 ]; then
  echo "demo: $problems step(s) did not behave as expected" >&2
  exit 1
fi
echo "# demo done"
