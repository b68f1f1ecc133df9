/* test_nixconf.c - the nix-daemon's sandbox, read from `nix show-config`'s
   text (captured from Debian 12's nix-bin 2.8 and edited), and
   store.nix_daemon's three values in cage.json. */
#include "unit.h"

#include <string.h>

#include "config.h"
#include "nixconf.h"

/* As Debian's default /etc/nix/nix.conf gives it (sandbox = false). */
static const char debian[] = "allowed-uris = \n"
                             "build-users-group = nixbld\n"
                             "sandbox = false\n"
                             "sandbox-build-dir = /build\n"
                             "sandbox-dev-shm-size = 50%\n"
                             "sandbox-fallback = true\n"
                             "sandbox-paths = \n"
                             "trusted-users = root\n";

static void
check (const char *text, bool want, const char *why_want)
{
  char why[128] = "";
  assert_int_equal (nix_config_sandboxed (text, why, sizeof why), want);
  if (!want)
    assert_string_equal (why, why_want);
}

static void
test_sandbox (void **state)
{
  check (debian, false, "sandbox = false");
  check ("sandbox-fallback = false\nsandbox = true\n", true, NULL);
  check ("sandbox = true\nsandbox-fallback = false\n", true, NULL);
  /* with fallback a daemon that cannot make a sandbox builds without one */
  check ("sandbox = true\nsandbox-fallback = true\n", false, "sandbox-fallback = true");
  check ("sandbox = true\n", false, "sandbox-fallback = true");
  /* relaxed: a derivation may ask for no sandbox (__noChroot) */
  check ("sandbox = relaxed\nsandbox-fallback = false\n", false, "sandbox = relaxed");
  check ("sandbox-paths = /bin/sh\nsandbox-build-dir = /build\n", false, "no `sandbox` setting");
  check ("", false, "no `sandbox` setting");
  /* spacing, and names that only start like it */
  check ("sandboxed = true\n  sandbox   =   true  \r\nsandbox-fallback=false", true, NULL);
}

static void
test_config_values (void **state)
{
  static const struct
  {
    const char *text;
    bool on, unsandboxed;
  } v[] = {
    { "{\"store\": {\"nix_daemon\": false}}", false, false },
    { "{\"store\": {\"nix_daemon\": true}}", true, false },
    { "{\"store\": {\"nix_daemon\": \"unsandboxed\"}}", true, true },
  };
  for (size_t i = 0; i < N_ELEMS (v); i++)
    {
      struct cage_config cfg;
      config_init (&cfg);
      struct cage_error err = { 0 };
      assert_int_equal (config_load_string (&cfg, v[i].text, "cage.json", &err), 0);
      assert_true (cfg.have_nix_daemon);
      assert_int_equal (cfg.nix_daemon, v[i].on);
      assert_int_equal (cfg.nix_daemon_unsandboxed, v[i].unsandboxed);
      /* a later file's plain true takes the override back */
      assert_int_equal (config_load_string (&cfg, "{\"store\": {\"nix_daemon\": true}}",
                                            "cage.json", &err), 0);
      assert_false (cfg.nix_daemon_unsandboxed);
      config_free (&cfg);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_sandbox),
    cmocka_unit_test (test_config_values),
  };
  return unit_run (tests);
}
