/* net.c - the network of a cage without the host's: only lo, and up; and
   for network "filtered", the sockets the daemon's egress proxy serves
   (common/net/egress_proto.h), made by pid 1 and handed to the daemon by the
   outer cage. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "egress_proto.h"
#include "launcher.h"

int
net_lo_up (struct cage_error *err)
{
  autoclose int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cage_error_set (err, errno, "bring up lo: socket(AF_INET)");
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  memcpy (ifr.ifr_name, "lo", sizeof "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    return cage_error_set (err, errno, "bring up lo: get flags (SIOCGIFFLAGS)");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    return cage_error_set (err, errno, "bring up lo: set flags (SIOCSIFFLAGS)");
  return 0;
}

/* `ip route add local 0.0.0.0/0 dev lo table local`: every IPv4 address
   is the cage's own, so a connection to any of them on an allowed port
   reaches a listener the daemon serves, and to any other port is refused
   at once.  Nothing is routed anywhere else: lo is the only link. */
static int
route_all_local (struct cage_error *err)
{
  unsigned lo = if_nametoindex ("lo");
  if (lo == 0)
    return cage_error_set (err, errno, "filtered network: find lo (if_nametoindex)");
  autoclose int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return cage_error_set (err, errno, "filtered network: socket(AF_NETLINK)");
  struct
  {
    struct nlmsghdr nh;
    struct rtmsg rt;
    struct rtattr oif_attr;
    unsigned oif;
  } req;
  memset (&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_NEWROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = AF_INET;
  req.rt.rtm_dst_len = 0;
  req.rt.rtm_table = RT_TABLE_LOCAL;
  req.rt.rtm_protocol = RTPROT_BOOT;
  req.rt.rtm_scope = RT_SCOPE_HOST;
  req.rt.rtm_type = RTN_LOCAL;
  req.oif_attr.rta_type = RTA_OIF;
  req.oif_attr.rta_len = RTA_LENGTH (sizeof req.oif);
  req.oif = lo;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto (fd, &req, sizeof req, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    return cage_error_set (err, errno, "filtered network: route 0.0.0.0/0 to lo (send)");
  char buf[4096];
  ssize_t n;
  do
    n = recv (fd, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return cage_error_set (err, errno, "filtered network: route 0.0.0.0/0 to lo (receive)");
  struct nlmsghdr *h = (struct nlmsghdr *) buf;
  if (!NLMSG_OK (h, (unsigned) n) || h->nlmsg_type != NLMSG_ERROR)
    return cage_error_set (err, EPROTO, "filtered network: route 0.0.0.0/0 to lo: no answer");
  struct nlmsgerr *e = NLMSG_DATA (h);
  if (e->error)
    return cage_error_set (err, -e->error, "filtered network: route 0.0.0.0/0 to lo");
  return 0;
}

static int
bound_socket (int type, const char *addr, uint16_t port, struct cage_error *err)
{
  int fd = socket (AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cage_error_set (err, errno, "filtered network: socket for %s:%u", addr, port);
  int one = 1;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  inet_pton (AF_INET, addr, &sa.sin_addr);
  if ((type == SOCK_STREAM && setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
      || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0
      || (type == SOCK_STREAM && listen (fd, 4096) < 0))
    {
      int e = errno;
      close (fd);
      return cage_error_set (err, e, "filtered network: listen on %s:%u%s", addr, port,
                             e == EADDRINUSE ? " (the allowlist's ports and the proxy's "
                                               "port " "3128 must differ)" : "");
    }
  return fd;
}

int
net_filtered_sockets (const uint16_t *ports, size_t n_ports, int *fds, struct cage_error *err)
{
  for (size_t i = 0; i < NET_FDS (n_ports); i++)
    fds[i] = -1;
  if (route_all_local (err) < 0)
    return -1;
  fds[0] = bound_socket (SOCK_DGRAM, EGRESS_DNS_ADDR, 53, err);
  if (fds[0] < 0)
    return -1;
  fds[1] = bound_socket (SOCK_STREAM, EGRESS_PROXY_ADDR, EGRESS_PROXY_PORT, err);
  for (size_t i = 0; fds[1] >= 0 && i < n_ports; i++)
    if ((fds[2 + i] = bound_socket (SOCK_STREAM, "0.0.0.0", ports[i], err)) < 0)
      break;
  /* (the daemon's one way to name the process behind a connection) */
  if (fds[1] >= 0 && fds[n_ports + 1] >= 0
      && (fds[n_ports + 2] = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
    cage_error_set (err, errno, "filtered network: socket(NETLINK_SOCK_DIAG)");
  for (size_t i = 0; i < NET_FDS (n_ports); i++)
    if (fds[i] < 0)
      {
        net_close_fds (fds, NET_FDS (n_ports));
        return -1;
      }
  return 0;
}

void
net_close_fds (int *fds, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      {
        close (fds[i]);
        fds[i] = -1;
      }
}

int
net_send_fds (int sock, const char *data, size_t len, const int *fds, size_t n,
              struct cage_error *err)
{
  size_t cmsg_len = CMSG_SPACE (n * sizeof (int));
  autofree char *cbuf = calloc (1, cmsg_len);
  if (!cbuf)
    return cage_error_set (err, ENOMEM, "filtered network: pass the sockets");
  struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = cmsg_len };
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (n * sizeof (int));
  memcpy (CMSG_DATA (c), fds, n * sizeof (int));
  ssize_t s;
  do
    s = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (s < 0 && errno == EINTR);
  if (s < 0)
    return cage_error_set (err, errno, "filtered network: pass the sockets");
  return 0;
}

int
net_recv_fds (int sock, int *fds, size_t n, struct cage_error *err)
{
  size_t cmsg_len = CMSG_SPACE (n * sizeof (int));
  autofree char *cbuf = calloc (1, cmsg_len);
  if (!cbuf)
    return cage_error_set (err, ENOMEM, "filtered network: take the cage's sockets");
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = cmsg_len };
  ssize_t r;
  do
    r = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return cage_error_set (err, errno, "filtered network: take the cage's sockets");
  if (r == 0)
    return 1; /* pid 1 failed first: its report says why */
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS
      || c->cmsg_len != CMSG_LEN (n * sizeof (int)) || (msg.msg_flags & MSG_CTRUNC))
    {
      if (c && c->cmsg_type == SCM_RIGHTS)
        {
          size_t got = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
          int *in = (int *) CMSG_DATA (c);
          for (size_t i = 0; i < got; i++)
            close (in[i]);
        }
      return cage_error_set (err, EPROTO, "filtered network: the cage sent the wrong sockets");
    }
  memcpy (fds, CMSG_DATA (c), n * sizeof (int));
  return 0;
}

int
net_egress_register (const char *state_dir, pid_t netns_pid, const uint16_t *ports,
                     size_t n_ports, const int *fds, struct cage_error *err)
{
  char path[4096];
  int w = snprintf (path, sizeof path, "%s/" EGRESS_SOCK_NAME, state_dir);
  if (w < 0 || (size_t) w >= sizeof path)
    return cage_error_set (err, ENAMETOOLONG, "filtered network: %s", state_dir);
  autoclose int dir = open (state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return cage_error_set (err, errno, "filtered network: open the state folder %s", state_dir);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/" EGRESS_SOCK_NAME, dir);
  int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cage_error_set (err, errno, "filtered network: socket(AF_UNIX)");
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      int e = errno;
      close (fd);
      return cage_error_set (err, e, "filtered network: no egress proxy answers at %s (the "
                             "mount's daemon is gone or predates it); remount the project",
                             path);
    }
  json_t *ja = json_array ();
  for (size_t i = 0; ja && i < n_ports; i++)
    json_array_append_new (ja, json_integer (ports[i]));
  json_t *msg = json_pack ("{s:i, s:o, s:I}", "v", EGRESS_PROTO_VERSION, "ports", ja,
                           "netns_pid", (json_int_t) netns_pid);
  autofree char *text = msg ? json_dumps (msg, JSON_COMPACT) : NULL;
  json_decref (msg);
  if (!text || strlen (text) >= EGRESS_MSG_MAX)
    {
      close (fd);
      return cage_error_set (err, ENOMEM, "filtered network: describe the sockets");
    }
  if (net_send_fds (fd, text, strlen (text), fds, NET_FDS (n_ports), err) < 0)
    {
      close (fd);
      return -1;
    }
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  int pr;
  do
    pr = poll (&pfd, 1, 30000);
  while (pr < 0 && errno == EINTR);
  char reply[4096];
  ssize_t n = pr > 0 ? recv (fd, reply, sizeof reply - 1, 0) : -1;
  if (n <= 0)
    {
      int e = pr == 0 ? ETIMEDOUT : n == 0 ? ECONNRESET : errno;
      close (fd);
      return cage_error_set (err, e, "filtered network: the egress proxy at %s did not answer",
                             path);
    }
  reply[n] = '\0';
  json_t *r = json_loads (reply, 0, NULL);
  json_t *ok = r ? json_object_get (r, "ok") : NULL;
  if (!json_is_true (ok))
    {
      json_t *why = r ? json_object_get (r, "error") : NULL;
      cage_error_set (err, 0, "filtered network: the egress proxy refused the cage: %s",
                      json_is_string (why) ? json_string_value (why) : reply);
      json_decref (r);
      close (fd);
      return -1;
    }
  json_decref (r);
  return fd;
}
