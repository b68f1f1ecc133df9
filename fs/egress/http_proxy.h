/* http_proxy.h - the cage's HTTP proxy (EGRESS_PROXY_ADDR:EGRESS_PROXY_PORT,
   the cage's HTTP_PROXY / HTTPS_PROXY).

   One request a connection, its head read within HTTP_HEAD_MAX bytes and
   HTTP_HEAD_TIMEOUT_MS:
     CONNECT host:port HTTP/1.1        checked like a relay by name (by
                                       address for an IP literal), then
                                       "200 Connection established" and a
                                       relay;
     METHOD http://host[:port]/path    (absolute form, any method) checked,
                                       then sent upstream in origin form,
                                       Proxy-* and hop-by-hop headers
                                       dropped, "Connection: close" forced,
                                       and relayed until either side closes
                                       (one connection never reaches a
                                       second host).
   Refused: 403 with one line saying what cagefs refused and why; the
   upstream unreachable: 502; anything malformed: 400.  Audited as
   op "proxy". */
#ifndef CAGE_HTTP_PROXY_H
#define CAGE_HTTP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "relay.h"

#define HTTP_HEAD_MAX (64 * 1024)
#define HTTP_HEAD_TIMEOUT_MS 10000

struct http_request
{
  bool connect;                 /* CONNECT (else absolute form) */
  char host[DNS_NAME_MAX + 1];  /* a name, or an IP literal (without brackets) */
  bool host_is_addr;
  struct sockaddr_storage addr; /* host_is_addr: the address */
  uint16_t port;
  const char *method;           /* into the head: METHOD_LEN bytes */
  size_t method_len;
  const char *path;             /* absolute form: origin form ("/" when none) */
  size_t path_len;
  const char *version;          /* "HTTP/1.1" or "HTTP/1.0" (8 bytes) */
  const char *headers;          /* the first header line (or the final CRLF) */
  bool has_host;                /* a Host header was given */
  size_t head_len;              /* through the blank line */
};

/* Where the head in BUF (LEN bytes) ends: past its "\r\n\r\n", or 0 when
   it has not yet. */
size_t http_head_end (const char *buf, size_t len);

/* Parse the head BUF (HEAD_LEN bytes, as http_head_end measured) into *R
   (pointing into BUF).  0, or -1 when malformed (a 400). */
int http_request_parse (const char *buf, size_t head_len, struct http_request *r);

/* The head to send upstream for the absolute-form request R: origin
   form, the Proxy-*, Connection, Keep-Alive, TE, Trailer, Upgrade headers
   dropped, Host added when missing, "Connection: close".  Malloc'd into
   *OUT; -1 on ENOMEM. */
int http_request_forward (const struct http_request *r, char **out, size_t *out_len);

/* Serve C, accepted on the proxy listener.  Audited. */
void http_proxy_serve (const struct egress_conn *c);

#endif
