#!/usr/bin/env bats
# Network "filtered": the allowlist through the daemon's egress proxy.
# Real parts only: the upstream hosts live in a net namespace of their own
# (tests/fixtures/upstream-net.sh, made by tests/run as root), joined to
# the host's by a veth pair (198.18.0.2, 198.18.0.3); real HTTP, HTTPS
# (a test CA) and line-echo servers; names from a hosts file bound on
# /etc/hosts in this suite's own mount namespace (tests/run).  The client
# in the cage is the host's curl, re-rooted into the Nix store (FIX_CURL).
# Nothing leaves this machine.

load helpers

setup () {
  common_setup
  require_namespaces
  [ -n "${UPSTREAM_ENV:-}" ] && [ -r "$UPSTREAM_ENV" ] \
    || skip "no upstream hosts (tests/run makes them when run as root)"
  . "$UPSTREAM_ENV"
  [ -n "${FIX_CURL:-}" ] || skip "no curl fixture: ${FIX_CURL_MISSING:-not built}"
  cp "$UPSTREAM_CA" "$PROJECT/test-ca.txt"  # (*.pem is hidden by default)
}
teardown () { common_teardown; }

# mount_net [ARGS...]: a filtered mount allowing allowed.test (80, 443),
# *.wild.test and allowed.test:2222, plus ARGS.
mount_net () {
  mount_project --package "$FIX_TOOLS" --package "$FIX_CURL" --network filtered \
    --allow allowed.test --allow '*.wild.test' --allow allowed.test:2222 "$@"
}

# In the cage: curl with the test CA, short timeouts, errors shown.
CURL='curl -sS --cacert /workspace/test-ca.txt --connect-timeout 10 --max-time 60'

# audit_count JQ-FILTER: how many audit entries match.
audit_count () {
  cagefs audit "$PROJECT" --json | jq -s "[.[] | select($1)] | length"
}

@test "filtered: an allowed name works through the proxy variables (http and https)" {
  mount_net
  run --separate-stderr cage_sh "echo \$HTTPS_PROXY; $CURL http://allowed.test/hello.txt; $CURL https://allowed.test/hello.txt"
  assert_success
  assert_equal "$output" "http://127.0.0.1:3128
hello from upstream
hello from upstream"
}

@test "filtered: an allowed name works without the proxy variables (the DNS stub and the port listeners)" {
  mount_net
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://allowed.test/hello.txt
    $CURL --noproxy '*' https://allowed.test/hello.txt
    env -u HTTPS_PROXY -u https_proxy -u ALL_PROXY -u all_proxy $CURL https://allowed.test/hello.txt
    $CURL --noproxy '*' https://a.wild.test/hello.txt"
  assert_success
  assert_equal "$output" "hello from upstream
hello from upstream
hello from upstream
hello from upstream"
  # the closes of allowed connections are logged with their bytes
  [ "$(audit_count '.op == "connect" and .host == "allowed.test" and .result == "allowed" and .bytes_down > 0')" -ge 1 ] \
    || fail "no allowed connect entry with bytes: $(cagefs audit "$PROJECT")"
}

@test "filtered: a denied name fails at once (NXDOMAIN, 403) and leaves audit entries" {
  mount_net
  # (curl exit 6: could not resolve: the stub answered, nothing timed out)
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://denied.test/hello.txt"
  assert_status 6
  run --separate-stderr cage_sh "$CURL -o /dev/null -w '%{http_code}' http://denied.test/hello.txt"
  assert_equal "$output" 403
  run --separate-stderr cage_sh "$CURL https://denied.test/hello.txt"
  assert_failure
  [ "$(audit_count '.op == "dns" and .host == "denied.test" and .result == "denied"')" -ge 1 ] \
    || fail "no dns entry for denied.test: $(cagefs audit "$PROJECT")"
  [ "$(audit_count '.op == "proxy" and .host == "denied.test" and .result == "denied"')" -ge 1 ] \
    || fail "no proxy entry for denied.test: $(cagefs audit "$PROJECT")"
  run cagefs audit "$PROJECT"
  assert_contains "$output" denied.test
}

@test "filtered: a direct IP outside the list fails, one inside it works" {
  mount_net --allow "$UPSTREAM_IP2:80"
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://$UPSTREAM_IP/hello.txt"
  assert_failure
  run --separate-stderr cage_sh "$CURL -o /dev/null -w '%{http_code}' http://$UPSTREAM_IP/hello.txt"
  assert_equal "$output" 403
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://$UPSTREAM_IP2/hello.txt"
  assert_success
  assert_equal "$output" "hello from upstream"
}

@test "filtered: a host loopback service stays unreachable, even through an allowed name resolving to 127.0.0.1" {
  mount_net --allow "rebind.test:$UPSTREAM_LOOPBACK_PORT"
  # (the service answers on the host)
  curl -sS "http://127.0.0.1:$UPSTREAM_LOOPBACK_PORT/hello.txt" >/dev/null || fail "no loopback service"
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://rebind.test:$UPSTREAM_LOOPBACK_PORT/hello.txt"
  assert_failure
  run --separate-stderr cage_sh "$CURL -o /dev/null -w '%{http_code}' http://rebind.test:$UPSTREAM_LOOPBACK_PORT/hello.txt"
  assert_equal "$output" 403
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://127.0.0.1:$UPSTREAM_LOOPBACK_PORT/hello.txt"
  assert_failure
  [ "$(audit_count '.op == "connect" and .host == "rebind.test" and .result == "denied"')" -ge 1 ] \
    || fail "no denied connect entry for rebind.test: $(cagefs audit "$PROJECT")"
}

@test "filtered: the metadata address stays unreachable, by name and by address" {
  mount_net --allow metadata.test
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://metadata.test/latest/meta-data/"
  assert_failure
  run --separate-stderr cage_sh "$CURL --noproxy '*' http://169.254.169.254/latest/meta-data/"
  assert_failure
  run --separate-stderr cage_sh "$CURL -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/"
  assert_equal "$output" 403
}

@test "filtered: raw TCP to an allowed name:port works, another port of it does not" {
  mount_net
  run --separate-stderr cage_sh "printf 'hi\n' | $CURL --noproxy '*' telnet://allowed.test:2222"
  assert_success
  assert_contains "$output" "SSH-2.0-cagefs-test"
  assert_contains "$output" "echo: hi"
  run --separate-stderr cage_sh "printf 'hi\n' | $CURL --noproxy '*' telnet://allowed.test:22"
  assert_failure
}

@test "filtered: 100 parallel connections all arrive" {
  mount_net
  run --separate-stderr cage_sh "i=0; while [ \$i -lt 100 ]; do
      $CURL --noproxy '*' -o /tmp/p\$i http://allowed.test/hello.txt & i=\$((i+1)); done; wait
    cat /tmp/p* | grep -c 'hello from upstream'"
  assert_success
  assert_equal "$output" 100
}

@test "filtered: a 100 MB download arrives intact (proxy and direct)" {
  mount_net
  run --separate-stderr cage_sh "$CURL -o /tmp/big https://allowed.test/big.bin && sha256sum /tmp/big
    rm /tmp/big; $CURL --noproxy '*' -o /tmp/big http://allowed.test/big.bin && sha256sum /tmp/big"
  assert_success
  assert_equal "$output" "$UPSTREAM_BIG_SHA256  /tmp/big
$UPSTREAM_BIG_SHA256  /tmp/big"
}

@test "filtered: the cage's environment, resolv.conf and --dry-run plan say so" {
  mount_net
  run --separate-stderr cage_sh 'cat /etc/resolv.conf; echo "$NO_PROXY"'
  assert_success
  assert_contains "$output" "nameserver 127.0.0.53"
  assert_contains "$output" "localhost,127.0.0.1,::1"
  run --separate-stderr cage exec "$PROJECT" --dry-run --json -- true
  assert_success
  assert_equal "$(jq -r .network.mode <<<"$output")" filtered
  assert_equal "$(jq -r '[.network.allow[].entry] | join(" ")' <<<"$output")" "allowed.test *.wild.test allowed.test:2222"
  assert_equal "$(jq -r '.network.ports | join(" ")' <<<"$output")" "80 443 2222"
}

@test "filtered: killing the daemon makes connections fail, not go direct" {
  mount_net
  local fifo=$BATS_TEST_TMPDIR/cfg
  mkfifo "$fifo"
  # curl waits for its URLs on stdin: they come after the daemon is dead
  cage exec "$PROJECT" -- curl -sS --connect-timeout 10 --max-time 30 -K - 3>&- \
    <"$fifo" >"$BATS_TEST_TMPDIR/out" 2>&1 &
  local c=$!
  exec 5>"$fifo"
  kill -9 "$PID"
  wait_gone "$PID" 10 || fail "daemon survived kill -9"
  printf 'url = "http://allowed.test/hello.txt"\nnoproxy = "*"\nurl = "http://%s/hello.txt"\n' "$UPSTREAM_IP" >&3
  exec 5>&-
  local rc=0
  wait "$c" || rc=$?
  [ "$rc" -ne 0 ] || fail "curl succeeded with the daemon dead: $(cat "$BATS_TEST_TMPDIR/out")"
  refute_contains "$(cat "$BATS_TEST_TMPDIR/out")" "hello from upstream"
}
