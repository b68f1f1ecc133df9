/* relay.c - checks, upstream connect and copy (see relay.h). */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "cleanup.h"
#include "fake_addr.h"
#include "proc_owner.h"

#define PUMP_BUF (256 * 1024)

static void
set_port (struct sockaddr *sa, uint16_t port)
{
  if (sa->sa_family == AF_INET)
    ((struct sockaddr_in *) sa)->sin_port = htons (port);
  else if (sa->sa_family == AF_INET6)
    ((struct sockaddr_in6 *) sa)->sin6_port = htons (port);
}

static socklen_t
sa_len (const struct sockaddr *sa)
{
  return sa->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in);
}

/* Connect to SA within the timeout: the socket, or -1 with errno. */
static int
connect_one (const struct sockaddr *sa, int stop_fd)
{
  autoclose int fd = socket (sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, sa, sa_len (sa)) == 0)
    return steal_fd (&fd);
  if (errno != EINPROGRESS)
    return -1;
  struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = stop_fd, .events = POLLIN } };
  int n;
  do
    n = poll (p, 2, RELAY_CONNECT_TIMEOUT_MS);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  if (n == 0)
    {
      errno = ETIMEDOUT;
      return -1;
    }
  if (p[1].revents)
    {
      errno = ECANCELED;
      return -1;
    }
  int e = 0;
  socklen_t el = sizeof e;
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
    return -1;
  if (e != 0)
    {
      errno = e;
      return -1;
    }
  return steal_fd (&fd);
}

int
relay_open (const struct net_policy *allow, const struct relay_dest *d, int stop_fd,
            const char **result, char *why, size_t size)
{
  *result = "denied";
  if (!d->by_name)
    {
      const struct sockaddr *sa = (const struct sockaddr *) &d->addr;
      if (!net_policy_allows_addr (allow, sa, d->port, NULL))
        {
          snprintf (why, size, "not in the network allowlist");
          return -1;
        }
      struct sockaddr_storage to = d->addr;
      set_port ((struct sockaddr *) &to, d->port);
      int fd = connect_one ((struct sockaddr *) &to, stop_fd);
      if (fd < 0)
        {
          *result = "failed";
          snprintf (why, size, "connect: %s", strerror (errno));
        }
      return fd;
    }
  if (!dns_name_valid (d->host))
    {
      snprintf (why, size, "not a host name");
      return -1;
    }
  if (!net_policy_allows_name_port (allow, d->host, d->port, NULL))
    {
      snprintf (why, size, "not in the network allowlist");
      return -1;
    }
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res = NULL;
  int g = getaddrinfo (d->host, NULL, &hints, &res);
  if (g != 0)
    {
      *result = "failed";
      snprintf (why, size, "resolve: %s", g == EAI_SYSTEM ? strerror (errno) : gai_strerror (g));
      return -1;
    }
  const char *refused = NULL;
  int last_errno = 0;
  int fd = -1;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
    {
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
        continue;
      set_port (ai->ai_addr, d->port);
      const char *w = NULL;
      if (net_addr_refused (ai->ai_addr, &w) && !net_policy_allows_addr (allow, ai->ai_addr,
                                                                          d->port, NULL))
        {
          refused = w; /* DNS rebinding: never reached by name */
          continue;
        }
      fd = connect_one (ai->ai_addr, stop_fd);
      if (fd < 0)
        last_errno = errno;
      if (fd < 0 && last_errno == ECANCELED)
        break;
    }
  freeaddrinfo (res);
  if (fd >= 0)
    return fd;
  if (last_errno == 0)
    {
      snprintf (why, size, "resolves to a refused address (%s)", refused ? refused : "none usable");
      return -1;
    }
  *result = "failed";
  snprintf (why, size, "connect: %s", strerror (last_errno));
  return -1;
}

/* One direction of a relay. */
struct half
{
  int from, to;
  char *buf;
  size_t cap, len, off;
  bool eof;  /* FROM has ended */
  bool done; /* ... and all of it went to TO, which was shut down for writing */
  unsigned long long bytes;
};

/* Move what can be moved now.  -1 on an error that ends the relay. */
static int
half_step (struct half *h, short rev_from, short rev_to)
{
  if (!h->eof && h->len == 0 && (rev_from & (POLLIN | POLLHUP | POLLERR)))
    {
      ssize_t n = read (h->from, h->buf, h->cap);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return -1;
      if (n == 0)
        h->eof = true;
      if (n > 0)
        {
          h->len = (size_t) n;
          h->off = 0;
        }
    }
  if (h->len > 0 && (rev_to & (POLLOUT | POLLERR | POLLHUP)))
    {
      ssize_t n = send (h->to, h->buf + h->off, h->len, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return -1;
      if (n > 0)
        {
          h->off += (size_t) n;
          h->len -= (size_t) n;
          h->bytes += (unsigned long long) n;
        }
    }
  if (h->eof && h->len == 0 && !h->done)
    {
      shutdown (h->to, SHUT_WR); /* the half-close, passed on */
      h->done = true;
    }
  return 0;
}

void
relay_pump (int agent, int up, int stop_fd, const char *pre, size_t pre_len,
            unsigned long long *up_bytes, unsigned long long *down_bytes)
{
  *up_bytes = *down_bytes = 0;
  struct half u = { .from = agent, .to = up, .cap = PUMP_BUF > pre_len ? PUMP_BUF : pre_len };
  struct half dn = { .from = up, .to = agent, .cap = PUMP_BUF };
  autofree char *ubuf = malloc (u.cap);
  autofree char *dbuf = malloc (dn.cap);
  if (!ubuf || !dbuf)
    return;
  u.buf = ubuf;
  dn.buf = dbuf;
  if (pre_len)
    {
      memcpy (u.buf, pre, pre_len);
      u.len = pre_len;
    }
  if (fcntl (agent, F_SETFL, O_NONBLOCK) < 0 || fcntl (up, F_SETFL, O_NONBLOCK) < 0)
    return;
  /* (first a write: the data a step would write needs no poll) */
  short ua = 0, uu = POLLOUT, da = 0, du = 0;
  for (;;)
    {
      if (half_step (&u, ua, uu) < 0 || half_step (&dn, du, da) < 0)
        break;
      if (u.done && dn.done)
        break;
      struct pollfd p[3] = { { .fd = agent }, { .fd = up }, { .fd = stop_fd, .events = POLLIN } };
      if (!u.eof && u.len == 0)
        p[0].events |= POLLIN;
      if (u.len > 0)
        p[1].events |= POLLOUT;
      if (!dn.eof && dn.len == 0)
        p[1].events |= POLLIN;
      if (dn.len > 0)
        p[0].events |= POLLOUT;
      /* (nothing asked of a side: out of the set, or its hangup would spin) */
      for (int i = 0; i < 2; i++)
        if (!p[i].events)
          p[i].fd = -1;
      int n = poll (p, 3, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || p[2].revents)
        break;
      /* an error or hangup with nothing asked is seen by the next read */
      ua = p[0].revents & (short) (POLLIN | POLLHUP | POLLERR);
      da = p[0].revents & (short) (POLLOUT | POLLERR | POLLHUP);
      uu = p[1].revents & (short) (POLLOUT | POLLERR | POLLHUP);
      du = p[1].revents & (short) (POLLIN | POLLHUP | POLLERR);
      if ((p[0].revents & POLLNVAL) || (p[1].revents & POLLNVAL))
        break;
    }
  *up_bytes = u.bytes;
  *down_bytes = dn.bytes;
}

static void *
owner_thread (void *arg)
{
  struct relay_owner_job *j = arg;
  j->pid = relay_owner (j->c);
  return NULL;
}

void
relay_owner_start (struct relay_owner_job *j, const struct egress_conn *c)
{
  j->c = c;
  j->pid = 0;
  j->started = pthread_create (&j->t, NULL, owner_thread, j) == 0;
  if (!j->started)
    j->pid = relay_owner (c);
}

void
relay_owner_joinp (struct relay_owner_job *j)
{
  (void) relay_owner_finish (j);
}

pid_t
relay_owner_finish (struct relay_owner_job *j)
{
  if (j->started)
    pthread_join (j->t, NULL);
  j->started = false;
  return j->pid;
}

pid_t
relay_owner (const struct egress_conn *c)
{
  struct sockaddr_in peer, me;
  socklen_t pl = sizeof peer, ml = sizeof me;
  if (getpeername (c->fd, (struct sockaddr *) &peer, &pl) < 0
      || getsockname (c->fd, (struct sockaddr *) &me, &ml) < 0 || peer.sin_family != AF_INET)
    return 0;
  struct proc_owner_q q = { .pid1 = c->pid1, .diag = c->diag, .diag_lock = c->diag_lock,
                            .hint = c->owner_hint };
  return proc_owner (&q, IPPROTO_TCP, &peer, &me);
}

void
relay_reset (int fd)
{
  struct linger l = { .l_onoff = 1, .l_linger = 0 };
  setsockopt (fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void
relay_serve (const struct egress_conn *c)
{
  struct sockaddr_in dst;
  socklen_t dl = sizeof dst;
  struct relay_dest d = { 0 };
  const char *result = "denied";
  char why[256] = "";
  int up = -1;
  if (getsockname (c->fd, (struct sockaddr *) &dst, &dl) < 0 || dst.sin_family != AF_INET)
    {
      snprintf (why, sizeof why, "no destination address: %s", strerror (errno));
      snprintf (d.host, sizeof d.host, "?");
    }
  else
    {
      d.port = ntohs (dst.sin_port);
      if (fake_addr_is (dst.sin_addr))
        {
          d.by_name = true;
          if (fake_addr_name (dst.sin_addr, d.host, sizeof d.host) < 0)
            {
              inet_ntop (AF_INET, &dst.sin_addr, d.host, sizeof d.host);
              snprintf (why, sizeof why, "an address the DNS stub never handed out");
            }
        }
      else
        {
          memcpy (&d.addr, &dst, sizeof dst);
          inet_ntop (AF_INET, &dst.sin_addr, d.host, sizeof d.host);
        }
    }
  /* (who asked: found beside the connect and the relay, not before) */
  RELAY_OWNER_JOB owner;
  relay_owner_start (&owner, c);
  if (!why[0] && d.host[0] != '?')
    up = relay_open (c->allow, &d, c->stop_fd, &result, why, sizeof why);
  if (up < 0)
    {
      pid_t pid = relay_owner_finish (&owner);
      relay_reset (c->fd);
      audit_net ("connect", d.host, d.port, result, why, pid, 0, 0);
      return;
    }
  unsigned long long ub, db;
  relay_pump (c->fd, up, c->stop_fd, NULL, 0, &ub, &db);
  close (up);
  audit_net ("connect", d.host, d.port, "allowed", NULL, relay_owner_finish (&owner), ub, db);
}
