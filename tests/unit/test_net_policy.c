/* test_net_policy.c - the filtered network's allowlist: entries, matching,
   refused destinations, ports. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net_policy.h"

/* A sockaddr for TEXT (IPv4 or IPv6). */
static struct sockaddr_storage
addr_of (const char *text)
{
  struct sockaddr_storage ss;
  memset (&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *) &ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
  if (inet_pton (AF_INET, text, &in->sin_addr) == 1)
    in->sin_family = AF_INET;
  else
    {
      assert_int_equal (inet_pton (AF_INET6, text, &in6->sin6_addr), 1);
      in6->sin6_family = AF_INET6;
    }
  return ss;
}

static struct sockaddr_storage sa_buf;
#define SA(text) (sa_buf = addr_of (text), (const struct sockaddr *) &sa_buf)

static void
test_valid (void **state)
{
  static const struct
  {
    const char *text;
    enum net_entry_kind kind;
    const char *name; /* NAME, SUFFIX */
    int family;       /* ADDR */
    const char *addr; /* ADDR: the network, as inet_ntop writes it */
    unsigned prefix;
    uint16_t lo, hi;
  } cases[] = {
    { "api.anthropic.com", NET_ENTRY_NAME, "api.anthropic.com", 0, NULL, 0, 0, 0 },
    { "API.Anthropic.COM.", NET_ENTRY_NAME, "api.anthropic.com", 0, NULL, 0, 0, 0 },
    { "localhost", NET_ENTRY_NAME, "localhost", 0, NULL, 0, 0, 0 },
    { "under_score-x.example", NET_ENTRY_NAME, "under_score-x.example", 0, NULL, 0, 0, 0 },
    { "*.githubusercontent.com", NET_ENTRY_SUFFIX, "githubusercontent.com", 0, NULL, 0, 0, 0 },
    { "*.githubusercontent.com:443", NET_ENTRY_SUFFIX, "githubusercontent.com", 0, NULL, 0,
      443, 443 },
    { "example.com:8000-8100", NET_ENTRY_NAME, "example.com", 0, NULL, 0, 8000, 8100 },
    { "example.com:1", NET_ENTRY_NAME, "example.com", 0, NULL, 0, 1, 1 },
    { "example.com:65535", NET_ENTRY_NAME, "example.com", 0, NULL, 0, 65535, 65535 },
    { "198.18.0.7", NET_ENTRY_ADDR, NULL, AF_INET, "198.18.0.7", 32, 0, 0 },
    { "198.18.0.0/15", NET_ENTRY_ADDR, NULL, AF_INET, "198.18.0.0", 15, 0, 0 },
    { "10.1.2.3/16", NET_ENTRY_ADDR, NULL, AF_INET, "10.1.0.0", 16, 0, 0 },
    { "10.1.0.0/16:22", NET_ENTRY_ADDR, NULL, AF_INET, "10.1.0.0", 16, 22, 22 },
    { "0.0.0.0/0", NET_ENTRY_ADDR, NULL, AF_INET, "0.0.0.0", 0, 0, 0 },
    { "1.2.3.4:8080", NET_ENTRY_ADDR, NULL, AF_INET, "1.2.3.4", 32, 8080, 8080 },
    { "2001:db8::1", NET_ENTRY_ADDR, NULL, AF_INET6, "2001:db8::1", 128, 0, 0 },
    { "fd00::/8", NET_ENTRY_ADDR, NULL, AF_INET6, "fd00::", 8, 0, 0 },
    { "[2001:db8::1]:22", NET_ENTRY_ADDR, NULL, AF_INET6, "2001:db8::1", 128, 22, 22 },
    { "[2001:db8::]", NET_ENTRY_ADDR, NULL, AF_INET6, "2001:db8::", 128, 0, 0 },
    { "[2001:db8::/32]:1000-2000", NET_ENTRY_ADDR, NULL, AF_INET6, "2001:db8::", 32, 1000,
      2000 },
    { "::ffff:10.0.0.1", NET_ENTRY_ADDR, NULL, AF_INET, "10.0.0.1", 32, 0, 0 },
    { "::ffff:10.0.0.0/104", NET_ENTRY_ADDR, NULL, AF_INET, "10.0.0.0", 8, 0, 0 },
  };
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    {
      struct net_entry e;
      struct cage_error err = { 0 };
      if (net_entry_parse (cases[i].text, &e, &err) < 0)
        fail_msg ("%s: %s", cases[i].text, err.msg);
      assert_int_equal (e.kind, cases[i].kind);
      assert_string_equal (e.text, cases[i].text);
      assert_null (e.origin);
      assert_int_equal (e.port_lo, cases[i].lo);
      assert_int_equal (e.port_hi, cases[i].hi);
      if (cases[i].name)
        assert_string_equal (e.name, cases[i].name);
      else
        {
          char buf[INET6_ADDRSTRLEN];
          assert_null (e.name);
          assert_int_equal (e.family, cases[i].family);
          assert_non_null (inet_ntop (e.family, e.addr, buf, sizeof buf));
          assert_string_equal (buf, cases[i].addr);
          assert_int_equal (e.prefix, cases[i].prefix);
        }
      net_entry_free (&e);
    }
}

static void
test_malformed (void **state)
{
  static const struct
  {
    const char *text;
    const char *says; /* in the message */
  } cases[] = {
    { "*", "a bare * would allow every host" },
    { "*:443", "a bare * would allow every host" },
    { "", "an empty entry" },
    { ".", "an empty host name" },
    { "*.", "an empty host name" },
    { ":443", "an empty host name" },
    { "a..b", "an empty label" },
    { ".example.com", "an empty label" },
    { "a.*.com", "* may only be the whole first label" },
    { "*example.com", "* may only be the whole first label" },
    { "**.example.com", "* may only be the whole first label" },
    { "exa mple.com", "spaces" },
    { "http://example.com", "is not a number" },
    { "example.com/path", "'/' cannot be in a host name" },
    { "ex!ample.com", "'!' cannot be in a host name" },
    { "example.com:0", "not a number from 1 to 65535" },
    { "example.com:65536", "not a number from 1 to 65535" },
    { "example.com:655360", "not a number from 1 to 65535" },
    { "example.com:", "not a number from 1 to 65535" },
    { "example.com:https", "not a number from 1 to 65535" },
    { "example.com:80-", "not a number from 1 to 65535" },
    { "example.com:80-90-100", "not a number from 1 to 65535" },
    { "example.com:9000-8000", "ends below its start" },
    { "10.0.0.256", "not a valid IPv4 address" },
    { "1.2.3", "not a valid IPv4 address" },
    { "10.0.0.0/33", "longer than the address" },
    { "10.0.0.0/", "not a number from 0 to 32" },
    { "2001:db8::/129", "longer than the address" },
    { "2001:db8::1:443x", "not a valid IPv6 address" },
    { "[2001:db8::1", "without its ']'" },
    { "[2001:db8::1]443", "is not \":PORT\"" },
    { "[1.2.3.4]:80", "not a valid IPv6 address" },
    { "2001:db8::zz", "port needs brackets" },
  };
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    {
      struct net_entry e = { .kind = NET_ENTRY_SUFFIX, .name = NULL, .port_lo = 7 };
      struct cage_error err = { 0 };
      if (net_entry_parse (cases[i].text, &e, &err) == 0)
        fail_msg ("%s: parsed", cases[i].text);
      if (!strstr (err.msg, cases[i].says))
        fail_msg ("%s: \"%s\" does not say \"%s\"", cases[i].text, err.msg, cases[i].says);
      /* *E untouched. */
      assert_int_equal (e.kind, NET_ENTRY_SUFFIX);
      assert_int_equal (e.port_lo, 7);
      assert_null (e.text);
    }

  /* Label and name lengths: 63 and 253 are the limits. */
  char name[300];
  memset (name, 'a', 64);
  strcpy (name + 64, ".com");
  struct net_entry e;
  struct cage_error err = { 0 };
  assert_int_equal (net_entry_parse (name, &e, &err), -1);
  assert_non_null (strstr (err.msg, "over the limit of 63"));
  assert_int_equal (net_entry_parse (name + 1, &e, &err), 0);
  net_entry_free (&e);
  size_t n = 0;
  for (int l = 0; l < 4; l++)
    {
      memset (name + n, 'b', 63);
      n += 63;
      name[n++] = '.';
    }
  name[n - 1] = '\0'; /* 4 * 64 - 1 = 255 bytes */
  assert_int_equal (net_entry_parse (name, &e, &err), -1);
  assert_non_null (strstr (err.msg, "over the limit of 253"));
  assert_int_equal (net_entry_parse (name + 2, &e, &err), 0); /* 253 */
  net_entry_free (&e);
}

static void
test_names (void **state)
{
  struct net_policy p = { 0 };
  struct cage_error err = { 0 };
  assert_int_equal (net_policy_add (&p, "api.anthropic.com", "preset claude-code", &err), 0);
  assert_int_equal (net_policy_add (&p, "*.githubusercontent.com:443", "cage.json", &err), 0);
  assert_int_equal (net_policy_add (&p, "Dev.Example.org:8000-8100", "--allow", &err), 0);
  assert_int_equal (net_policy_add (&p, "api.anthropic.com", "--allow", &err), 0);
  assert_int_equal (net_policy_add (&p, "*", "--allow", &err), -1);
  assert_int_equal (p.n, 3);
  assert_string_equal (p.v[0].origin, "preset claude-code"); /* the first origin stays */

  static const struct
  {
    const char *name;
    int port; /* -1: any */
    bool allowed;
    size_t which;
  } cases[] = {
    { "api.anthropic.com", -1, true, 0 },
    { "API.ANTHROPIC.COM", -1, true, 0 },
    { "api.anthropic.com.", -1, true, 0 },
    { "api.anthropic.com", 443, true, 0 },
    { "api.anthropic.com", 80, true, 0 },
    { "api.anthropic.com", 8080, false, 0 },
    { "x.api.anthropic.com", -1, false, 0 },
    { "anthropic.com", -1, false, 0 },
    { "api.anthropic.co", -1, false, 0 },
    { "raw.githubusercontent.com", 443, true, 1 },
    { "a.b.GitHubUserContent.com.", 443, true, 1 },
    { "raw.githubusercontent.com", 80, false, 1 },
    { "raw.githubusercontent.com", -1, true, 1 },
    { "githubusercontent.com", -1, false, 0 },
    { "xgithubusercontent.com", -1, false, 0 },
    { "dev.example.org", 8000, true, 2 },
    { "dev.example.org", 8100, true, 2 },
    { "dev.example.org", 8101, false, 2 },
    { "dev.example.org", 443, false, 2 },
    { "", -1, false, 0 },
    { ".", -1, false, 0 },
  };
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    {
      bool got;
      const struct net_entry *which = NULL;
      if (cases[i].port < 0)
        got = net_policy_allows_name (&p, cases[i].name);
      else
        got = net_policy_allows_name_port (&p, cases[i].name, (uint16_t) cases[i].port, &which);
      if (got != cases[i].allowed)
        fail_msg ("%s:%d: %s", cases[i].name, cases[i].port, got ? "allowed" : "refused");
      if (got && cases[i].port >= 0)
        assert_ptr_equal (which, &p.v[cases[i].which]);
    }
  assert_false (net_policy_allows_name (&p, NULL));
  net_policy_free (&p);
  assert_null (p.v);
  assert_int_equal (p.n, 0);
}

static void
test_addrs (void **state)
{
  struct net_policy p = { 0 };
  struct cage_error err = { 0 };
  assert_int_equal (net_policy_add (&p, "198.18.0.0/15", "cage.json", &err), 0);
  assert_int_equal (net_policy_add (&p, "[2001:db8::/32]:22", "cage.json", &err), 0);
  assert_int_equal (net_policy_add (&p, "10.9.8.7:5432", "cage.json", &err), 0);
  assert_int_equal (net_policy_add (&p, "example.com", "cage.json", &err), 0);

  static const struct
  {
    const char *addr;
    uint16_t port;
    bool allowed;
  } cases[] = {
    { "198.18.0.1", 443, true },
    { "198.19.255.255", 80, true },
    { "198.20.0.0", 443, false },
    { "198.17.255.255", 443, false },
    { "198.18.0.1", 22, false },
    { "::ffff:198.18.3.4", 443, true },
    { "2001:db8:ffff::1", 22, true },
    { "2001:db9::1", 22, false },
    { "2001:db8::1", 443, false },
    { "10.9.8.7", 5432, true },
    { "10.9.8.6", 5432, false },
    { "::ffff:10.9.8.7", 5432, true },
    { "8.8.8.8", 443, false },
  };
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    {
      const struct net_entry *which = NULL;
      bool got = net_policy_allows_addr (&p, SA (cases[i].addr), cases[i].port, &which);
      if (got != cases[i].allowed)
        fail_msg ("%s:%u: %s", cases[i].addr, cases[i].port, got ? "allowed" : "refused");
      if (got)
        assert_int_equal (which->kind, NET_ENTRY_ADDR);
    }
  /* A name entry allows no address. */
  struct sockaddr_un_like
  {
    sa_family_t family;
  } other = { AF_UNIX };
  assert_false (net_policy_allows_addr (&p, (const struct sockaddr *) &other, 80, NULL));
  net_policy_free (&p);
}

static void
test_refused (void **state)
{
  static const struct
  {
    const char *addr;
    const char *why; /* NULL: not refused */
  } cases[] = {
    { "127.0.0.1", "a loopback address" },
    { "127.255.255.254", "a loopback address" },
    { "10.0.0.1", "a private address" },
    { "10.255.255.255", "a private address" },
    { "172.16.0.1", "a private address" },
    { "172.31.255.255", "a private address" },
    { "172.32.0.1", NULL },
    { "172.15.255.255", NULL },
    { "192.168.1.1", "a private address" },
    { "192.169.0.1", NULL },
    { "169.254.0.1", "a link-local address" },
    { "169.254.169.254", "a link-local address" },
    { "0.0.0.0", "an unspecified address" },
    { "0.1.2.3", "an unspecified address" },
    { "224.0.0.1", "a multicast address" },
    { "239.255.255.250", "a multicast address" },
    { "255.255.255.255", "a broadcast address" },
    { "::1", "a loopback address" },
    { "::", "an unspecified address" },
    { "fc00::1", "a private address" },
    { "fd12:3456::1", "a private address" },
    { "fe80::1", "a link-local address" },
    { "febf::1", "a link-local address" },
    { "fec0::1", NULL },
    { "ff02::1", "a multicast address" },
    { "::ffff:127.0.0.1", "a loopback address" },
    { "::ffff:169.254.169.254", "a link-local address" },
    { "::ffff:10.1.1.1", "a private address" },
    { "198.18.0.1", NULL },
    { "8.8.8.8", NULL },
    { "1.1.1.1", NULL },
    { "2606:4700::1111", NULL },
    { "::ffff:8.8.8.8", NULL },
  };
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    {
      const char *why = NULL;
      bool got = net_addr_refused (SA (cases[i].addr), &why);
      if (got != (cases[i].why != NULL))
        fail_msg ("%s: %s", cases[i].addr, got ? "refused" : "not refused");
      if (got)
        assert_string_equal (why, cases[i].why);
    }
  assert_true (net_addr_refused (SA ("127.0.0.1"), NULL));
}

static void
test_ports (void **state)
{
  struct net_policy p = { 0 };
  struct cage_error err = { 0 };
  uint16_t ports[NET_MAX_PORTS];

  assert_int_equal (net_policy_ports (&p, ports), 0);
  assert_int_equal (net_policy_check (&p, &err), -1);
  assert_non_null (strstr (err.msg, "empty"));

  assert_int_equal (net_policy_add (&p, "a.example:8443", NULL, &err), 0);
  assert_int_equal (net_policy_add (&p, "b.example", NULL, &err), 0);
  assert_int_equal (net_policy_add (&p, "c.example:443", NULL, &err), 0);
  assert_int_equal (net_policy_add (&p, "10.0.0.0/8:22-24", NULL, &err), 0);
  assert_int_equal (net_policy_add (&p, "d.example:23-81", NULL, &err), 0);
  assert_int_equal (net_policy_check (&p, &err), 0);
  size_t n = net_policy_ports (&p, ports);
  /* 22..81, 443, 8443 */
  assert_int_equal (n, 60 + 2);
  for (size_t i = 0; i < 60; i++)
    assert_int_equal (ports[i], 22 + i);
  assert_int_equal (ports[60], 443);
  assert_int_equal (ports[61], 8443);
  net_policy_free (&p);

  /* Exactly NET_MAX_PORTS is fine, one more is not. */
  char text[64];
  snprintf (text, sizeof text, "x.example:1000-%d", 1000 + NET_MAX_PORTS - 1);
  assert_int_equal (net_policy_add (&p, text, NULL, &err), 0);
  assert_int_equal (net_policy_check (&p, &err), 0);
  assert_int_equal (net_policy_ports (&p, ports), NET_MAX_PORTS);
  assert_int_equal (net_policy_add (&p, "y.example:1000", NULL, &err), 0);
  assert_int_equal (net_policy_check (&p, &err), 0);
  assert_int_equal (net_policy_add (&p, "y.example:999", NULL, &err), 0);
  assert_int_equal (net_policy_check (&p, &err), -1);
  char want[64];
  snprintf (want, sizeof want, "%d distinct ports", NET_MAX_PORTS + 1);
  assert_non_null (strstr (err.msg, want));
  /* The list is still cut at NET_MAX_PORTS, ascending. */
  assert_int_equal (net_policy_ports (&p, ports), NET_MAX_PORTS);
  assert_int_equal (ports[0], 999);
  assert_int_equal (ports[NET_MAX_PORTS - 1], 999 + NET_MAX_PORTS - 1);
  net_policy_free (&p);

  assert_int_equal (net_policy_add (&p, "all.example:1-65535", NULL, &err), 0);
  assert_int_equal (net_policy_check (&p, &err), -1);
  net_policy_free (&p);
}

static void
test_copy (void **state)
{
  struct net_policy a = { 0 }, b = { 0 };
  struct cage_error err = { 0 };
  assert_int_equal (net_policy_add (&a, "a.example", "preset x", &err), 0);
  assert_int_equal (net_policy_add (&a, "10.0.0.0/8", NULL, &err), 0);
  assert_int_equal (net_policy_add (&b, "a.example", "--allow", &err), 0);
  assert_int_equal (net_policy_copy (&b, &a, &err), 0);
  assert_int_equal (b.n, 2);
  assert_string_equal (b.v[0].origin, "--allow");
  assert_string_equal (b.v[1].text, "10.0.0.0/8");
  assert_null (b.v[1].origin);
  net_policy_free (&a);
  net_policy_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_valid),   cmocka_unit_test (test_malformed),
    cmocka_unit_test (test_names),   cmocka_unit_test (test_addrs),
    cmocka_unit_test (test_refused), cmocka_unit_test (test_ports),
    cmocka_unit_test (test_copy),
  };
  return unit_run (tests);
}
