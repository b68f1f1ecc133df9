/* test_dns.c - the DNS stub's answers (fs/egress/dns.c) and its made-up
   addresses (fs/egress/fake_addr.c): allowed names get a stable A record,
   other types an empty NOERROR, denied names NXDOMAIN; malformed queries
   (short, compression pointers, several questions, bad bytes, lengths past
   the end) are refused or dropped, never read past. */
#include "unit.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "egress_proto.h"
#include "fake_addr.h"
#include "net_policy.h"

static struct net_policy allow;

static int
setup (void **state)
{
  struct cage_error err = { 0 };
  memset (&allow, 0, sizeof allow);
  if (net_policy_add (&allow, "api.example.com", "test", &err) < 0
      || net_policy_add (&allow, "*.github.test:443", "test", &err) < 0
      || net_policy_add (&allow, "10.1.0.0/16", "test", &err) < 0)
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  net_policy_free (&allow);
  fake_addr_reset ();
  return 0;
}

/* A query for NAME (dotted) of TYPE with id 0x1234, RD set, into BUF. */
static size_t
query (unsigned char *buf, const char *name, uint16_t type)
{
  memset (buf, 0, 12);
  buf[0] = 0x12;
  buf[1] = 0x34;
  buf[2] = 0x01; /* RD */
  buf[5] = 1;    /* one question */
  size_t p = 12;
  const char *s = name;
  while (*s)
    {
      const char *dot = strchr (s, '.');
      size_t l = dot ? (size_t) (dot - s) : strlen (s);
      buf[p++] = (unsigned char) l;
      memcpy (buf + p, s, l);
      p += l;
      s += l + (dot ? 1 : 0);
    }
  buf[p++] = 0;
  buf[p++] = (unsigned char) (type >> 8);
  buf[p++] = (unsigned char) type;
  buf[p++] = 0;
  buf[p++] = 1; /* IN */
  return p;
}

static int
rcode (const unsigned char *r)
{
  return r[3] & 0xf;
}

static int
ancount (const unsigned char *r)
{
  return r[6] << 8 | r[7];
}

static void
test_allowed_a (void **state)
{
  unsigned char q[600], r[DNS_REPLY_MAX];
  struct dns_question dq;
  enum dns_verdict v;
  size_t ql = query (q, "API.Example.com", 1);
  size_t n = dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (v, DNS_ALLOWED);
  assert_string_equal (dq.name, "api.example.com");
  assert_int_equal (n, ql + 16);
  assert_int_equal (r[0], 0x12);
  assert_int_equal (r[1], 0x34);
  assert_true (r[2] & 0x80); /* QR */
  assert_true (r[2] & 0x01); /* RD copied */
  assert_int_equal (rcode (r), DNS_NOERROR);
  assert_int_equal (ancount (r), 1);
  assert_memory_equal (r + 12, q + 12, ql - 12);
  const unsigned char *a = r + ql;
  assert_int_equal (a[0], 0xc0);
  assert_int_equal (a[1], 12);
  assert_int_equal (a[3], 1);  /* A */
  assert_int_equal (a[9], DNS_TTL);
  assert_int_equal (a[11], 4);
  struct in_addr got, net;
  memcpy (&got.s_addr, a + 12, 4);
  inet_pton (AF_INET, EGRESS_FAKE_NET, &net);
  assert_true (fake_addr_is (got));
  assert_int_not_equal (got.s_addr, net.s_addr);
  char name[256];
  assert_int_equal (fake_addr_name (got, name, sizeof name), 0);
  assert_string_equal (name, "api.example.com");

  /* stable: the same address again (a final dot, another case) */
  unsigned char r2[DNS_REPLY_MAX];
  ql = query (q, "api.example.COM", 1);
  n = dns_answer (&allow, q, ql, r2, &dq, &v);
  assert_int_equal (n, ql + 16);
  assert_memory_equal (r2 + ql + 12, &got.s_addr, 4);
  /* a second name: another address */
  ql = query (q, "raw.github.test", 1);
  n = dns_answer (&allow, q, ql, r2, &dq, &v);
  assert_int_equal (v, DNS_ALLOWED);
  assert_int_equal (n, ql + 16);
  assert_memory_not_equal (r2 + ql + 12, &got.s_addr, 4);
}

static void
test_allowed_other_types (void **state)
{
  unsigned char q[600], r[DNS_REPLY_MAX];
  struct dns_question dq;
  enum dns_verdict v;
  uint16_t types[] = { 28 /* AAAA */, 15 /* MX */, 65 /* HTTPS */, 255 /* ANY */ };
  for (size_t i = 0; i < N_ELEMS (types); i++)
    {
      size_t ql = query (q, "a.b.github.test", types[i]);
      size_t n = dns_answer (&allow, q, ql, r, &dq, &v);
      assert_int_equal (v, DNS_ALLOWED);
      assert_int_equal (n, ql);
      assert_int_equal (rcode (r), DNS_NOERROR);
      assert_int_equal (ancount (r), 0);
      assert_int_equal (dq.type, types[i]);
    }
}

static void
test_denied (void **state)
{
  unsigned char q[600], r[DNS_REPLY_MAX];
  struct dns_question dq;
  enum dns_verdict v;
  const char *names[] = { "evil.example", "github.test" /* the suffix itself */, "example.com",
                          "xapi.example.com", "localhost" };
  for (size_t i = 0; i < N_ELEMS (names); i++)
    {
      size_t ql = query (q, names[i], 1);
      size_t n = dns_answer (&allow, q, ql, r, &dq, &v);
      assert_int_equal (v, DNS_DENIED);
      assert_string_equal (dq.name, names[i]);
      assert_int_equal (n, ql);
      assert_int_equal (rcode (r), DNS_NXDOMAIN);
      assert_int_equal (ancount (r), 0);
    }
  /* the root name */
  size_t ql = query (q, "", 1);
  assert_int_equal (dns_answer (&allow, q, ql, r, &dq, &v), ql);
  assert_int_equal (v, DNS_DENIED);
  assert_int_equal (rcode (r), DNS_NXDOMAIN);
}

static void
test_malformed (void **state)
{
  unsigned char q[600], r[DNS_REPLY_MAX];
  struct dns_question dq;
  enum dns_verdict v;
  /* shorter than a header, or a response: nothing */
  size_t ql = query (q, "api.example.com", 1);
  assert_int_equal (dns_answer (&allow, q, 11, r, &dq, &v), 0);
  assert_int_equal (v, DNS_DROP);
  q[2] |= 0x80;
  assert_int_equal (dns_answer (&allow, q, ql, r, &dq, &v), 0);
  assert_int_equal (v, DNS_DROP);

  /* a compression pointer in the question */
  ql = query (q, "api.example.com", 1);
  q[12 + 4] = 0xc0;
  q[12 + 5] = 12;
  size_t n = dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (v, DNS_MALFORMED);
  assert_int_equal (n, 12);
  assert_int_equal (rcode (r), DNS_FORMERR);
  assert_string_equal (dq.name, "");

  /* two questions; an answer count */
  ql = query (q, "api.example.com", 1);
  q[5] = 2;
  dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_FORMERR);
  q[5] = 1;
  q[7] = 1;
  dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_FORMERR);

  /* a label running past the end, and every cut of a good query */
  ql = query (q, "api.example.com", 1);
  for (size_t cut = 12; cut < ql; cut++)
    {
      n = dns_answer (&allow, q, cut, r, &dq, &v);
      assert_int_equal (v, DNS_MALFORMED);
      assert_int_equal (rcode (r), DNS_FORMERR);
      assert_true (n <= DNS_REPLY_MAX);
    }

  /* a byte outside letters, digits, '-', '_' (a NUL, a dot in a label) */
  ql = query (q, "api.example.com", 1);
  q[14] = 0;
  dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_FORMERR);
  q[14] = '.';
  dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_FORMERR);

  /* an address in disguise */
  ql = query (q, "1.2.3.4", 1);
  dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_FORMERR);

  /* another class; another opcode */
  ql = query (q, "api.example.com", 1);
  q[ql - 1] = 3; /* CH */
  n = dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_REFUSED);
  assert_int_equal (n, ql);
  ql = query (q, "api.example.com", 1);
  q[2] |= 0x10; /* opcode 2 */
  dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_NOTIMP);

  /* a label of 64, a name over 253 */
  memset (q, 0, sizeof q);
  q[5] = 1;
  q[12] = 64;
  memset (q + 13, 'a', 64);
  dns_answer (&allow, q, 13 + 64 + 5, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_FORMERR);
  char longname[300];
  memset (longname, 0, sizeof longname);
  for (int i = 0; i < 64; i++)
    memcpy (longname + i * 4, "abc.", 4);
  memcpy (longname + 256, "xyz", 3);
  ql = query (q, longname, 1);
  dns_answer (&allow, q, ql, r, &dq, &v);
  assert_int_equal (rcode (r), DNS_FORMERR);
}

static void
test_name_valid (void **state)
{
  assert_true (dns_name_valid ("api.example.com"));
  assert_true (dns_name_valid ("api.example.com."));
  assert_true (dns_name_valid ("_dmarc.x-y.test"));
  assert_true (dns_name_valid ("1.2.3.example"));
  assert_false (dns_name_valid (""));
  assert_false (dns_name_valid ("."));
  assert_false (dns_name_valid ("a..b"));
  assert_false (dns_name_valid (".a"));
  assert_false (dns_name_valid ("127.0.0.1"));
  assert_false (dns_name_valid ("0x7f.1"));
  assert_false (dns_name_valid ("a b"));
  assert_false (dns_name_valid ("a/b"));
  assert_false (dns_name_valid ("[::1]"));
  assert_false (dns_name_valid ("evil.com:80"));
  char l64[80];
  memset (l64, 'a', 64);
  l64[64] = '\0';
  assert_false (dns_name_valid (l64));
  l64[63] = '\0';
  assert_true (dns_name_valid (l64));
}

static void
test_fake_addr (void **state)
{
  struct in_addr a, b;
  assert_int_equal (fake_addr_for ("Host.Test.", &a), 0);
  assert_int_equal (fake_addr_for ("host.test", &b), 0);
  assert_int_equal (a.s_addr, b.s_addr);
  assert_true (fake_addr_is (a));
  char name[256];
  assert_int_equal (fake_addr_name (a, name, sizeof name), 0);
  assert_string_equal (name, "host.test");
  struct in_addr other;
  inet_pton (AF_INET, "127.100.255.254", &other);
  assert_true (fake_addr_is (other));
  assert_int_equal (fake_addr_name (other, name, sizeof name), -1);
  inet_pton (AF_INET, "127.0.0.1", &other);
  assert_false (fake_addr_is (other));
  assert_int_equal (fake_addr_name (other, name, sizeof name), -1);
  assert_int_equal (fake_addr_for ("", &b), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_allowed_a, setup, teardown),
    cmocka_unit_test_setup_teardown (test_allowed_other_types, setup, teardown),
    cmocka_unit_test_setup_teardown (test_denied, setup, teardown),
    cmocka_unit_test_setup_teardown (test_malformed, setup, teardown),
    cmocka_unit_test (test_name_valid),
    cmocka_unit_test_setup_teardown (test_fake_addr, setup, teardown),
  };
  return unit_run (tests);
}
