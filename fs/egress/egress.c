/* egress.c - registrations, the cages' listeners, connection threads
   (see egress.h). */
#include "egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cleanup.h"
#include "dns.h"
#include "egress_proto.h"
#include "fake_addr.h"
#include "http_proxy.h"
#include "log.h"
#include "proc_owner.h"
#include "relay.h"

/* SCM_RIGHTS carries at most SCM_MAX_FD (253) fds a message. */
#define MAX_FDS 253
/* pid lookups for denied DNS queries: at most this many a second */
#define DNS_OWNER_RATE 20

/* A thread of ours: joined once it ended (a detached thread may still be
   freeing its resolver state when the daemon exits: a leak to valgrind). */
struct worker
{
  pthread_t t;
  struct worker *next;
};

struct cage
{
  int reg;              /* the registration connection */
  int stop;             /* eventfd: readable once the cage ends */
  pid_t pid1;
  pid_t owner_hint; /* the last process found behind a connection (proc_owner.h) */
  int *fds;             /* [0] DNS, [1] proxy, [2..] ports */
  size_t n_fds;
  int diag;             /* NETLINK_SOCK_DIAG in the cage's net namespace */
  pthread_mutex_t diag_lock; /* (one question at a time on it) */
  size_t conns;         /* connection threads still running */
  bool ended;           /* its thread is done with it */
  struct worker *w;     /* its thread */
  struct cage *next;
};

struct conn_job
{
  struct egress_conn c;
  struct cage *cage;
  struct worker *w;
  bool proxy;
};

static pthread_mutex_t e_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t e_idle = PTHREAD_COND_INITIALIZER;
static struct cage *cages;
static size_t n_threads; /* cage and connection threads running */
static struct worker *ended; /* threads that ended, to join */
static bool stopping;
static const struct net_policy *e_allow;
static int listen_fd = -1, state_fd = -1, stop_fd = -1;
static pthread_t e_thread;
static bool e_running;

static socklen_t
sock_addr (int dirfd, struct sockaddr_un *sa)
{
  memset (sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  snprintf (sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/" EGRESS_SOCK_NAME, dirfd);
  return (socklen_t) (offsetof (struct sockaddr_un, sun_path) + strlen (sa->sun_path) + 1);
}

static void
cage_free (struct cage *c)
{
  for (size_t i = 0; i < c->n_fds; i++)
    close (c->fds[i]);
  if (c->diag >= 0)
    close (c->diag);
  pthread_mutex_destroy (&c->diag_lock);
  free (c->fds);
  free (c->w);
  if (c->reg >= 0)
    close (c->reg);
  if (c->stop >= 0)
    close (c->stop);
  free (c);
}

/* Drop C from the list and free it once its thread and connections are
   done.  Under e_lock. */
static void
cage_release_locked (struct cage *c)
{
  if (!c->ended || c->conns > 0)
    return;
  for (struct cage **p = &cages; *p; p = &(*p)->next)
    if (*p == c)
      {
        *p = c->next;
        break;
      }
  cage_free (c);
}

/* The thread of W ends (its last step under e_lock). */
static void
thread_done_locked (struct worker *w)
{
  w->next = ended;
  ended = w;
  n_threads--;
  pthread_cond_broadcast (&e_idle);
}

/* Join the threads that ended.  Under e_lock (they no longer take it). */
static void
reap_locked (void)
{
  while (ended)
    {
      struct worker *w = ended;
      ended = w->next;
      pthread_join (w->t, NULL);
      free (w);
    }
}

/* ---- one connection ------------------------------------------------------ */

static void *
conn_thread (void *arg)
{
  struct conn_job *j = arg;
  if (j->proxy)
    http_proxy_serve (&j->c);
  else
    relay_serve (&j->c);
  close (j->c.fd);
  struct cage *cage = j->cage;
  struct worker *w = j->w;
  free (j);
  pthread_mutex_lock (&e_lock);
  cage->conns--;
  cage_release_locked (cage);
  thread_done_locked (w);
  pthread_mutex_unlock (&e_lock);
  return NULL;
}

/* Accept on the listener FD of CAGE and start a thread for it. */
static void
accept_one (struct cage *cage, int fd, bool proxy)
{
  autoclose int cfd = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);
  if (cfd < 0)
    return; /* EAGAIN, or the agent gave up */
  struct conn_job *j = calloc (1, sizeof *j);
  struct worker *w = calloc (1, sizeof *w);
  pthread_mutex_lock (&e_lock);
  reap_locked ();
  bool ok = j && w && !stopping && cage->conns < EGRESS_MAX_CONNS;
  if (ok)
    {
      *j = (struct conn_job){ .c = { .fd = cfd, .allow = e_allow, .pid1 = cage->pid1,
                                     .owner_hint = &cage->owner_hint, .diag = cage->diag,
                                     .diag_lock = &cage->diag_lock, .stop_fd = cage->stop },
                              .cage = cage, .w = w, .proxy = proxy };
      ok = pthread_create (&w->t, NULL, conn_thread, j) == 0;
      if (ok)
        {
          cage->conns++;
          n_threads++;
          steal_fd (&cfd);
          j = NULL;
          w = NULL;
        }
    }
  pthread_mutex_unlock (&e_lock);
  free (j);
  free (w);
  if (!ok)
    {
      cage_warn ("egress: a connection refused (%s)", cage->conns >= EGRESS_MAX_CONNS
                 ? "too many at once" : "no thread for it");
      relay_reset (cfd);
    }
}

/* ---- DNS ----------------------------------------------------------------- */

static void
serve_dns (struct cage *cage, int fd)
{
  static long long window;
  static int lookups;
  for (int i = 0; i < 64; i++)
    {
      unsigned char q[4096], out[DNS_REPLY_MAX];
      struct sockaddr_in from;
      struct iovec iov = { q, sizeof q };
      struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                           .msg_iovlen = 1 };
      ssize_t n = recvmsg (fd, &mh, MSG_DONTWAIT);
      if (n < 0)
        return;
      if ((mh.msg_flags & MSG_TRUNC) || mh.msg_namelen != sizeof from)
        continue;
      struct dns_question dq;
      enum dns_verdict v;
      size_t len = dns_answer (e_allow, q, (size_t) n, out, &dq, &v);
      if (len > 0)
        sendto (fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *) &from,
                sizeof from);
      if (v != DNS_DENIED && v != DNS_FAILED)
        continue;
      struct timespec ts;
      clock_gettime (CLOCK_MONOTONIC, &ts);
      if (ts.tv_sec != window)
        {
          window = ts.tv_sec;
          lookups = 0;
        }
      struct proc_owner_q oq = { .pid1 = cage->pid1, .diag = cage->diag,
                                 .diag_lock = &cage->diag_lock, .hint = &cage->owner_hint };
      pid_t pid = lookups++ < DNS_OWNER_RATE ? proc_owner (&oq, IPPROTO_UDP, &from, NULL) : 0;
      audit_net ("dns", dq.name, 0, v == DNS_DENIED ? "denied" : "failed",
                 v == DNS_DENIED ? "not in the network allowlist" : "no made-up address left",
                 pid, 0, 0);
    }
}

/* ---- a cage -------------------------------------------------------------- */

/* Is FD an AF_INET socket of TYPE, listening or not, bound to ADDR:PORT? */
static const char *
check_fd (int fd, int type, bool listening, const char *addr, unsigned port)
{
  int v = 0;
  socklen_t l = sizeof v;
  if (getsockopt (fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_INET)
    return "not an IPv4 socket";
  l = sizeof v;
  if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != type)
    return type == SOCK_DGRAM ? "not a UDP socket" : "not a TCP socket";
  l = sizeof v;
  if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || (v != 0) != listening)
    return listening ? "not listening" : "listening";
  struct sockaddr_in sa, want = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  inet_pton (AF_INET, addr, &want.sin_addr);
  l = sizeof sa;
  if (getsockname (fd, (struct sockaddr *) &sa, &l) < 0 || l != sizeof sa
      || sa.sin_port != want.sin_port || sa.sin_addr.s_addr != want.sin_addr.s_addr)
    return "not bound where egress_proto.h says";
  if (fcntl (fd, F_SETFL, O_NONBLOCK) < 0)
    return "cannot be made nonblocking";
  return NULL;
}

/* Take the registration on C->reg: its fds into C.  NULL, or what is wrong. */
static const char *
take_registration (struct cage *c, char *why, size_t size)
{
  autofree char *data = malloc (EGRESS_MSG_MAX);
  size_t cmsg_size = CMSG_SPACE (MAX_FDS * sizeof (int));
  autofree char *cbuf = calloc (1, cmsg_size);
  if (!data || !cbuf)
    return "out of memory";
  struct iovec iov = { data, EGRESS_MSG_MAX };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = cmsg_size };
  struct pollfd p[2] = { { .fd = c->reg, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };
  if (poll (p, 2, 10000) <= 0 || p[1].revents)
    return "no registration in 10 s";
  ssize_t n = recvmsg (c->reg, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0)
    {
      snprintf (why, size, "receive the registration: %s", strerror (errno));
      return why;
    }
  /* the fds first: whatever else is wrong, they are ours to close */
  for (struct cmsghdr *cm = CMSG_FIRSTHDR (&mh); cm; cm = CMSG_NXTHDR (&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      {
        size_t k = (cm->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        int *v = realloc (c->fds, (c->n_fds + k) * sizeof *v);
        if (!v)
          {
            int tmp;
            for (size_t i = 0; i < k; i++)
              {
                memcpy (&tmp, CMSG_DATA (cm) + i * sizeof (int), sizeof tmp);
                close (tmp);
              }
            return "out of memory";
          }
        c->fds = v;
        memcpy (c->fds + c->n_fds, CMSG_DATA (cm), k * sizeof (int));
        c->n_fds += k;
      }
  if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
    return "the registration is too long";
  json_error_t jerr;
  json_t *j = json_loadb (data, (size_t) n, 0, &jerr);
  json_t *ports = NULL;
  json_int_t ver = 0, netns_pid = 0;
  if (!j
      || json_unpack (j, "{s:I, s:o, s:I !}", "v", &ver, "ports", &ports, "netns_pid", &netns_pid)
           < 0
      || !json_is_array (ports) || netns_pid <= 0 || netns_pid > INT32_MAX)
    {
      json_decref (j);
      return "the registration is not {\"v\":1,\"ports\":[...],\"netns_pid\":N}";
    }
  /* (the outer cage registers; the pid names pid 1, in the cage's net
     namespace: the audit log's owner lookups read its /proc/PID/net) */
  c->pid1 = (pid_t) netns_pid;
  if (ver != EGRESS_PROTO_VERSION)
    {
      json_decref (j);
      snprintf (why, size, "protocol version %lld, this daemon speaks %d", (long long) ver,
                EGRESS_PROTO_VERSION);
      return why;
    }
  size_t np = json_array_size (ports);
  if (c->n_fds != np + 3)
    {
      json_decref (j);
      snprintf (why, size, "%zu sockets for %zu ports (expected %zu)", c->n_fds, np, np + 3);
      return why;
    }
  /* the last: the sock_diag socket, kept apart from the served ones */
  int v = 0;
  socklen_t vl = sizeof v;
  if (getsockopt (c->fds[np + 2], SOL_SOCKET, SO_DOMAIN, &v, &vl) < 0 || v != AF_NETLINK
      || (vl = sizeof v, getsockopt (c->fds[np + 2], SOL_SOCKET, SO_PROTOCOL, &v, &vl) < 0)
      || v != NETLINK_SOCK_DIAG)
    {
      json_decref (j);
      snprintf (why, size, "socket %zu: not a NETLINK_SOCK_DIAG socket", np + 2);
      return why;
    }
  c->diag = c->fds[np + 2];
  c->n_fds--;
  const char *bad = check_fd (c->fds[0], SOCK_DGRAM, false, EGRESS_DNS_ADDR, 53);
  size_t which = 0;
  if (!bad)
    bad = check_fd (c->fds[which = 1], SOCK_STREAM, true, EGRESS_PROXY_ADDR, EGRESS_PROXY_PORT);
  for (size_t i = 0; !bad && i < np; i++)
    {
      json_int_t port = json_integer_value (json_array_get (ports, i));
      if (!json_is_integer (json_array_get (ports, i)) || port < 1 || port > 65535)
        bad = "a port is not 1..65535";
      else
        bad = check_fd (c->fds[which = i + 2], SOCK_STREAM, true, "0.0.0.0", (unsigned) port);
    }
  json_decref (j);
  if (bad)
    {
      snprintf (why, size, "socket %zu: %s", which, bad);
      return why;
    }
  return NULL;
}

static void
send_reply (int fd, const char *error)
{
  json_t *r = error ? json_pack ("{s:s}", "error", error) : json_pack ("{s:b}", "ok", 1);
  autofree char *s = r ? json_dumps (r, JSON_COMPACT) : NULL;
  json_decref (r);
  if (s && send (fd, s, strlen (s), MSG_NOSIGNAL) < 0)
    cage_warn ("egress: reply to a cage: %s", strerror (errno));
}

static void *
cage_thread (void *arg)
{
  struct cage *c = arg;
  char why[512];
  const char *bad = take_registration (c, why, sizeof why);
  send_reply (c->reg, bad);
  if (bad)
    cage_warn ("egress: a cage's registration refused: %s", bad);
  else
    {
      cage_info ("egress: cage (pid %d) registered, %zu ports", (int) c->pid1, c->n_fds - 2);
      size_t np = 3 + c->n_fds;
      struct pollfd *p = calloc (np, sizeof *p);
      while (p)
        {
          p[0] = (struct pollfd){ .fd = c->reg, .events = POLLIN };
          p[1] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
          for (size_t i = 0; i < c->n_fds; i++)
            p[2 + i] = (struct pollfd){ .fd = c->fds[i], .events = POLLIN };
          int n = poll (p, 2 + c->n_fds, -1);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 || p[0].revents || p[1].revents)
            break; /* the cage ended (its pid 1 closed, or sent more), or we stop */
          if (p[2].revents)
            serve_dns (c, c->fds[0]);
          for (size_t i = 1; i < c->n_fds; i++)
            if (p[2 + i].revents)
              accept_one (c, c->fds[i], i == 1);
        }
      free (p);
      cage_info ("egress: cage (pid %d) ended", (int) c->pid1);
    }
  /* its listeners closed now; its connections told to end */
  uint64_t one = 1;
  if (write (c->stop, &one, sizeof one) < 0)
    cage_warn ("egress: wake a cage's connections: %s", strerror (errno));
  pthread_mutex_lock (&e_lock);
  for (size_t i = 0; i < c->n_fds; i++)
    close (c->fds[i]);
  c->n_fds = 0;
  c->ended = true;
  struct worker *w = c->w;
  c->w = NULL; /* the ended list's now */
  cage_release_locked (c);
  thread_done_locked (w);
  pthread_mutex_unlock (&e_lock);
  return NULL;
}

/* ---- the socket ---------------------------------------------------------- */

static bool
peer_ok (int fd, pid_t *pid)
{
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
    return false;
  *pid = cr.pid;
  return cr.uid == geteuid () || cr.uid == 0;
}

static void *
accept_thread (void *arg)
{
  for (;;)
    {
      autoclose int fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              struct timespec ts = { 0, 100 * 1000 * 1000 };
              nanosleep (&ts, NULL);
              continue;
            }
          break; /* shut down (egress_stop) */
        }
      pid_t pid = 0;
      if (!peer_ok (fd, &pid))
        {
          send_reply (fd, "another user's process may not register a cage here");
          continue;
        }
      struct cage *c = calloc (1, sizeof *c);
      if (!c)
        continue;
      c->reg = -1;
      c->diag = -1;
      pthread_mutex_init (&c->diag_lock, NULL);
      c->stop = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
      c->pid1 = pid;
      pthread_mutex_lock (&e_lock);
      size_t n = 0;
      for (struct cage *x = cages; x; x = x->next)
        n++;
      const char *why = c->stop < 0 ? "eventfd failed" : stopping ? "it is stopping"
                        : n >= EGRESS_MAX_CAGES ? "too many cages" : NULL;
      bool ok = !why;
      reap_locked ();
      if (ok && !(c->w = calloc (1, sizeof *c->w)))
        {
          ok = false;
          why = strerror (ENOMEM);
        }
      if (ok)
        {
          c->reg = steal_fd (&fd);
          int rc = pthread_create (&c->w->t, NULL, cage_thread, c);
          ok = rc == 0;
          if (rc != 0)
            why = strerror (rc);
          if (ok)
            {
              c->next = cages;
              cages = c;
              n_threads++;
            }
          else
            fd = steal_fd (&c->reg);
        }
      pthread_mutex_unlock (&e_lock);
      if (!ok)
        {
          cage_warn ("egress: a cage refused: %s", why ? why : "no thread for it");
          send_reply (fd, "the daemon takes no more cages");
          cage_free (c);
        }
    }
  return NULL;
}

int
egress_start (const struct project_paths *pp, const struct net_policy *allow,
              struct cage_error *err)
{
  e_allow = allow;
  stopping = false;
  stop_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0)
    return cage_error_set (err, errno, "egress: eventfd");
  state_fd = open (pp->state, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (state_fd < 0)
    return cage_error_set (err, errno, "open the state folder `%s`", pp->state);
  if (unlinkat (state_fd, EGRESS_SOCK_NAME, 0) < 0 && errno != ENOENT)
    return cage_error_set (err, errno, "remove the old `%s/" EGRESS_SOCK_NAME "`", pp->state);
  listen_fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (listen_fd < 0)
    return cage_error_set (err, errno, "egress socket");
  struct sockaddr_un sa;
  socklen_t sl = sock_addr (state_fd, &sa);
  if (bind (listen_fd, (struct sockaddr *) &sa, sl) < 0)
    return cage_error_set (err, errno, "bind `%s/" EGRESS_SOCK_NAME "`", pp->state);
  if (fchmodat (state_fd, EGRESS_SOCK_NAME, 0600, 0) < 0)
    return cage_error_set (err, errno, "chmod `%s/" EGRESS_SOCK_NAME "`", pp->state);
  if (listen (listen_fd, 8) < 0)
    return cage_error_set (err, errno, "listen on `%s/" EGRESS_SOCK_NAME "`", pp->state);
  int rc = pthread_create (&e_thread, NULL, accept_thread, NULL);
  if (rc != 0)
    return cage_error_set (err, rc, "start the egress thread");
  e_running = true;
  return 0;
}

void
egress_stop (void)
{
  if (e_running)
    {
      shutdown (listen_fd, SHUT_RDWR);
      pthread_join (e_thread, NULL);
      e_running = false;
    }
  pthread_mutex_lock (&e_lock);
  stopping = true;
  pthread_mutex_unlock (&e_lock);
  uint64_t one = 1;
  if (stop_fd >= 0 && write (stop_fd, &one, sizeof one) < 0)
    cage_warn ("egress: stop the cages: %s", strerror (errno));
  /* every cage thread ends on stop_fd, then wakes its connections */
  pthread_mutex_lock (&e_lock);
  while (n_threads > 0)
    pthread_cond_wait (&e_idle, &e_lock);
  reap_locked ();
  pthread_mutex_unlock (&e_lock);
  if (state_fd >= 0)
    unlinkat (state_fd, EGRESS_SOCK_NAME, 0);
  if (listen_fd >= 0)
    close (listen_fd);
  if (state_fd >= 0)
    close (state_fd);
  if (stop_fd >= 0)
    close (stop_fd);
  listen_fd = state_fd = stop_fd = -1;
  fake_addr_reset ();
}
