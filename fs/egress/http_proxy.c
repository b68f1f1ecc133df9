/* http_proxy.c - the cage's HTTP proxy (see http_proxy.h). */
#include "http_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cleanup.h"

#define MAX_HEADERS 200

size_t
http_head_end (const char *buf, size_t len)
{
  for (size_t i = 3; i < len; i++)
    if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
      return i + 1;
  return 0;
}

/* RFC 9110 tchar */
static bool
tchar (unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c && strchr ("!#$%&'*+-.^_`|~", c));
}

/* Parse the authority A (LEN bytes: host[:port], [v6][:port]) into R;
   without a port DEFAULT_PORT (0: a port is required). */
static int
parse_authority (const char *a, size_t len, uint16_t default_port, struct http_request *r)
{
  const char *host = a, *colon = NULL;
  size_t hl;
  if (len > 0 && a[0] == '[')
    {
      const char *close = memchr (a, ']', len);
      if (!close)
        return -1;
      host = a + 1;
      hl = (size_t) (close - host);
      if (close + 1 < a + len)
        {
          if (close[1] != ':')
            return -1;
          colon = close + 1;
        }
      if (hl == 0 || hl >= sizeof r->host)
        return -1;
      memcpy (r->host, host, hl);
      r->host[hl] = '\0';
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &r->addr;
      s6->sin6_family = AF_INET6;
      if (inet_pton (AF_INET6, r->host, &s6->sin6_addr) != 1)
        return -1;
      r->host_is_addr = true;
    }
  else
    {
      colon = memchr (a, ':', len);
      hl = colon ? (size_t) (colon - a) : len;
      if (hl == 0 || hl >= sizeof r->host)
        return -1;
      memcpy (r->host, a, hl);
      r->host[hl] = '\0';
      if (strlen (r->host) != hl)
        return -1; /* a NUL */
      struct sockaddr_in *s4 = (struct sockaddr_in *) &r->addr;
      if (inet_pton (AF_INET, r->host, &s4->sin_addr) == 1)
        {
          s4->sin_family = AF_INET;
          r->host_is_addr = true;
        }
      else if (!dns_name_valid (r->host))
        return -1;
      else
        {
          size_t n = strlen (r->host);
          if (r->host[n - 1] == '.')
            r->host[n - 1] = '\0';
          for (char *p = r->host; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
              *p = (char) (*p - 'A' + 'a');
        }
    }
  if (!colon)
    {
      if (!default_port)
        return -1;
      r->port = default_port;
      return 0;
    }
  const char *p = colon + 1, *end = a + len;
  if (p == end || end - p > 5)
    return -1;
  unsigned v = 0;
  for (; p < end; p++)
    {
      if (*p < '0' || *p > '9')
        return -1;
      v = v * 10 + (unsigned) (*p - '0');
    }
  if (v == 0 || v > 65535)
    return -1;
  r->port = (uint16_t) v;
  return 0;
}

int
http_request_parse (const char *buf, size_t head_len, struct http_request *r)
{
  memset (r, 0, sizeof *r);
  if (head_len < 4 || memcmp (buf + head_len - 4, "\r\n\r\n", 4) != 0)
    return -1;
  const char *end = buf + head_len;
  /* the request line: METHOD SP TARGET SP HTTP/1.x CRLF */
  const char *p = buf;
  while (p < end && tchar ((unsigned char) *p))
    p++;
  if (p == buf || p - buf > 32 || p >= end || *p != ' ')
    return -1;
  r->method = buf;
  r->method_len = (size_t) (p - buf);
  const char *target = ++p;
  while (p < end && (unsigned char) *p > 0x20 && *p != 0x7f)
    p++;
  if (p == target || p >= end || *p != ' ')
    return -1;
  size_t tl = (size_t) (p - target);
  p++;
  if (end - p < 10 || (memcmp (p, "HTTP/1.1\r\n", 10) != 0 && memcmp (p, "HTTP/1.0\r\n", 10) != 0))
    return -1;
  r->version = p;
  p += 10;
  r->headers = p;
  r->connect = r->method_len == 7 && memcmp (r->method, "CONNECT", 7) == 0;
  if (r->connect)
    {
      if (parse_authority (target, tl, 0, r) < 0)
        return -1;
    }
  else
    {
      if (tl < 7 || strncasecmp (target, "http://", 7) != 0)
        return -1; /* origin form (not a proxy request) or https:// (use CONNECT) */
      const char *auth = target + 7, *tend = target + tl;
      const char *slash = auth;
      while (slash < tend && *slash != '/' && *slash != '?' && *slash != '#')
        slash++;
      if (memchr (auth, '@', (size_t) (slash - auth)))
        return -1; /* userinfo: a host in disguise */
      if (parse_authority (auth, (size_t) (slash - auth), 80, r) < 0)
        return -1;
      if (slash < tend && *slash == '/')
        {
          r->path = slash;
          r->path_len = (size_t) (tend - slash);
        }
      else if (slash < tend && *slash == '?')
        {
          r->path = slash; /* "/?q" is made when forwarding */
          r->path_len = (size_t) (tend - slash);
        }
      else
        {
          r->path = "/";
          r->path_len = 1;
        }
      if (memchr (r->path, '#', r->path_len))
        r->path_len = (size_t) ((const char *) memchr (r->path, '#', r->path_len) - r->path);
    }
  /* the headers: NAME ":" VALUE CRLF, no folding, no bare CR or LF, no NUL */
  size_t n = 0;
  while (p < end - 2)
    {
      const char *name = p;
      while (p < end && tchar ((unsigned char) *p))
        p++;
      if (p == name || p >= end || *p != ':' || ++n > MAX_HEADERS)
        return -1;
      if ((size_t) (p - name) == 4 && strncasecmp (name, "host", 4) == 0)
        r->has_host = true;
      p++;
      while (p < end && *p != '\r')
        {
          unsigned char c = (unsigned char) *p;
          if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -1;
          p++;
        }
      if (end - p < 2 || p[1] != '\n')
        return -1;
      p += 2;
    }
  if (p != end - 2)
    return -1;
  r->head_len = head_len;
  return 0;
}

static bool
dropped_header (const char *name, size_t len)
{
  static const char *const hop[] = { "connection", "keep-alive", "te", "trailer", "upgrade",
                                     "proxy-connection" };
  if (len >= 6 && strncasecmp (name, "proxy-", 6) == 0)
    return true;
  for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
    if (strlen (hop[i]) == len && strncasecmp (name, hop[i], len) == 0)
      return true;
  return false;
}

int
http_request_forward (const struct http_request *r, char **out, size_t *out_len)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  if (!f)
    return -1;
  fwrite (r->method, 1, r->method_len, f);
  fputc (' ', f);
  if (r->path[0] == '?')
    fputc ('/', f);
  fwrite (r->path, 1, r->path_len, f);
  fputc (' ', f);
  fwrite (r->version, 1, 8, f);
  fputs ("\r\n", f);
  const char *p = r->headers, *end = r->headers + (r->head_len - (size_t) (r->headers - r->method));
  while (p < end - 2)
    {
      const char *eol = memchr (p, '\r', (size_t) (end - p));
      const char *colon = memchr (p, ':', (size_t) (eol - p));
      if (!dropped_header (p, (size_t) (colon - p)))
        fwrite (p, 1, (size_t) (eol - p) + 2, f);
      p = eol + 2;
    }
  if (!r->has_host)
    {
      bool v6 = r->host_is_addr && strchr (r->host, ':');
      fprintf (f, "Host: %s%s%s", v6 ? "[" : "", r->host, v6 ? "]" : "");
      if (r->port != 80)
        fprintf (f, ":%u", (unsigned) r->port);
      fputs ("\r\n", f);
    }
  fputs ("Connection: close\r\n\r\n", f);
  if (fclose (f) != 0)
    {
      free (buf);
      return -1;
    }
  *out = buf;
  *out_len = len;
  return 0;
}

static long long
mono_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the head into BUF (HTTP_HEAD_MAX): its length and all read in
   *GOT, or 0 (too long, closed, timed out, stopped). */
static size_t
read_head (const struct egress_conn *c, char *buf, size_t *got)
{
  size_t n = 0;
  long long deadline = mono_ms () + HTTP_HEAD_TIMEOUT_MS;
  for (;;)
    {
      long long left = deadline - mono_ms ();
      if (left <= 0 || n == HTTP_HEAD_MAX)
        return 0;
      struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN }, { .fd = c->stop_fd, .events = POLLIN } };
      int pr = poll (p, 2, (int) left);
      if (pr < 0 && errno == EINTR)
        continue;
      if (pr <= 0 || p[1].revents)
        return 0;
      ssize_t r = recv (c->fd, buf + n, HTTP_HEAD_MAX - n, MSG_DONTWAIT);
      if (r < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (r <= 0)
        return 0;
      /* (the end may straddle what was read before) */
      size_t from = n >= 3 ? n - 3 : 0;
      n += (size_t) r;
      size_t e = http_head_end (buf + from, n - from);
      if (e)
        {
          *got = n;
          return from + e;
        }
    }
}

static void
reply (int fd, const char *status, const char *body)
{
  char msg[2048];
  int n = snprintf (msg, sizeof msg,
                    "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n\r\n%s",
                    status, strlen (body), body);
  if (n > 0)
    send (fd, msg, (size_t) n < sizeof msg ? (size_t) n : sizeof msg - 1, MSG_NOSIGNAL);
}

void
http_proxy_serve (const struct egress_conn *c)
{
  autofree char *buf = malloc (HTTP_HEAD_MAX);
  if (!buf)
    return;
  size_t got = 0, head = read_head (c, buf, &got);
  struct http_request r;
  if (head == 0 || http_request_parse (buf, head, &r) < 0)
    {
      if (head)
        reply (c->fd, "400 Bad Request", "cagefs: a malformed proxy request\n");
      return;
    }
  struct relay_dest d = { .by_name = !r.host_is_addr, .addr = r.addr, .port = r.port };
  snprintf (d.host, sizeof d.host, "%s", r.host);
  const char *result;
  char why[256];
  RELAY_OWNER_JOB owner;
  relay_owner_start (&owner, c);
  int up = relay_open (c->allow, &d, c->stop_fd, &result, why, sizeof why);
  if (up < 0)
    {
      pid_t pid = relay_owner_finish (&owner);
      bool denied = strcmp (result, "denied") == 0;
      char body[1024];
      snprintf (body, sizeof body, "cagefs %s %s:%u: %s\n",
                denied ? "refused" : "could not reach", r.host, (unsigned) r.port, why);
      reply (c->fd, denied ? "403 Forbidden" : "502 Bad Gateway", body);
      audit_net ("proxy", r.host, r.port, result, why, pid, 0, 0);
      return;
    }
  autofree char *fwd = NULL;
  size_t fwd_len = 0;
  if (r.connect)
    {
      static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
      if (send (c->fd, ok, sizeof ok - 1, MSG_NOSIGNAL) != (ssize_t) sizeof ok - 1)
        {
          close (up);
          return;
        }
      /* what the client sent past the head (a TLS hello) goes on */
      if (got > head && !(fwd = malloc (got - head)))
        {
          close (up);
          return;
        }
      if (fwd)
        {
          memcpy (fwd, buf + head, got - head);
          fwd_len = got - head;
        }
    }
  else
    {
      char *h = NULL;
      size_t hl = 0;
      if (http_request_forward (&r, &h, &hl) < 0)
        {
          close (up);
          return;
        }
      fwd = realloc (h, hl + (got - head));
      if (!fwd)
        {
          free (h);
          close (up);
          return;
        }
      memcpy (fwd + hl, buf + head, got - head);
      fwd_len = hl + (got - head);
    }
  unsigned long long ub, db;
  relay_pump (c->fd, up, c->stop_fd, fwd, fwd_len, &ub, &db);
  close (up);
  audit_net ("proxy", r.host, r.port, "allowed", NULL, relay_owner_finish (&owner), ub, db);
}
