/* test_http_head.c - the egress HTTP proxy's request-head parser and the
   head it forwards (fs/egress/http_proxy.c). */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "http_proxy.h"

/* (the serving code is linked, not run: no audit log here) */
void
audit_net (const char *op, const char *host, unsigned port, const char *result,
           const char *reason, long pid, unsigned long long up, unsigned long long down)
{
}

static int
parse (const char *head, struct http_request *r)
{
  size_t len = strlen (head);
  if (http_head_end (head, len) != len)
    return -2;
  return http_request_parse (head, len, r);
}

static void
test_connect (void **state)
{
  struct http_request r;
  assert_int_equal (parse ("CONNECT API.Example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
  assert_true (r.connect);
  assert_string_equal (r.host, "api.example.com");
  assert_int_equal (r.port, 443);
  assert_false (r.host_is_addr);
  assert_int_equal (parse ("CONNECT 198.18.0.7:22 HTTP/1.1\r\n\r\n", &r), 0);
  assert_true (r.host_is_addr);
  assert_int_equal (parse ("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", &r), 0);
  assert_true (r.host_is_addr);
  assert_string_equal (r.host, "2001:db8::1");
  /* a port is required; it is 1..65535 digits */
  assert_int_equal (parse ("CONNECT a.example HTTP/1.1\r\n\r\n", &r), -1);
  assert_int_equal (parse ("CONNECT a.example:0 HTTP/1.1\r\n\r\n", &r), -1);
  assert_int_equal (parse ("CONNECT a.example:65536 HTTP/1.1\r\n\r\n", &r), -1);
  assert_int_equal (parse ("CONNECT a.example:+80 HTTP/1.1\r\n\r\n", &r), -1);
  assert_int_equal (parse ("CONNECT a.example:443x HTTP/1.1\r\n\r\n", &r), -1);
  assert_int_equal (parse ("CONNECT 127.1:443 HTTP/1.1\r\n\r\n", &r), -1);
  assert_int_equal (parse ("CONNECT [::1:443 HTTP/1.1\r\n\r\n", &r), -1);
  assert_int_equal (parse ("CONNECT a/b:443 HTTP/1.1\r\n\r\n", &r), -1);
}

static void
test_absolute (void **state)
{
  struct http_request r;
  const char *h = "POST http://up.example:8080/a/b?c=d#frag HTTP/1.1\r\nHost: up.example:8080\r\n"
                  "Proxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\n"
                  "Connection: keep-alive\r\nContent-Length: 3\r\n\r\n";
  assert_int_equal (parse (h, &r), 0);
  assert_false (r.connect);
  assert_string_equal (r.host, "up.example");
  assert_int_equal (r.port, 8080);
  char *out;
  size_t len;
  assert_int_equal (http_request_forward (&r, &out, &len), 0);
  const char *want = "POST /a/b?c=d HTTP/1.1\r\nHost: up.example:8080\r\nContent-Length: 3\r\n"
                     "Connection: close\r\n\r\n";
  assert_int_equal (len, strlen (want));
  assert_memory_equal (out, want, len);
  free (out);

  /* no path, no Host: "/" and a Host added; the default port */
  assert_int_equal (parse ("GET http://Up.Example HTTP/1.0\r\n\r\n", &r), 0);
  assert_int_equal (r.port, 80);
  assert_int_equal (http_request_forward (&r, &out, &len), 0);
  want = "GET / HTTP/1.0\r\nHost: up.example\r\nConnection: close\r\n\r\n";
  assert_int_equal (len, strlen (want));
  assert_memory_equal (out, want, len);
  free (out);
}

static void
test_malformed (void **state)
{
  struct http_request r;
  const char *bad[] = {
    "GET /origin-form HTTP/1.1\r\n\r\n",                 /* not a proxy request */
    "GET https://a.example/ HTTP/1.1\r\n\r\n",           /* https: CONNECT */
    "GET http://user@a.example/ HTTP/1.1\r\n\r\n",       /* userinfo */
    "GET http:///x HTTP/1.1\r\n\r\n",                    /* no host */
    "GET http://a.example/ HTTP/2.0\r\n\r\n",
    "GET  http://a.example/ HTTP/1.1\r\n\r\n",
    "G(T http://a.example/ HTTP/1.1\r\n\r\n",
    "GET http://a.example/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n", /* folding */
    "GET http://a.example/ HTTP/1.1\r\nNoColon\r\n\r\n",
    "GET http://a.example/ HTTP/1.1\r\nX: a\rb\r\n\r\n",  /* a bare CR */
    "GET http://a.example/ HTTP/1.1\r\nX: a\nY: b\r\n\r\n",
    "GET http://a.ex ample/ HTTP/1.1\r\n\r\n",
    "GET http://a.example:99999/ HTTP/1.1\r\n\r\n",
    "\r\n\r\n",
  };
  for (size_t i = 0; i < N_ELEMS (bad); i++)
    assert_int_equal (parse (bad[i], &r), -1);
  /* a NUL in a header value */
  char nul[] = "GET http://a.example/ HTTP/1.1\r\nX: a_b\r\n\r\n";
  nul[strlen ("GET http://a.example/ HTTP/1.1\r\nX: a")] = '\0';
  assert_int_equal (http_request_parse (nul, sizeof nul - 1, &r), -1);
  /* the end of a head */
  assert_int_equal (http_head_end ("GET / HTTP/1.1\r\n", 16), 0);
  assert_int_equal (http_head_end ("ab\r\n\r\nbody", 10), 6);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_connect),
    cmocka_unit_test (test_absolute),
    cmocka_unit_test (test_malformed),
  };
  return unit_run (tests);
}
