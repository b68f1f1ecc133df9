/* proc_owner.c - the process behind an agent's connection (see proc_owner.h). */
#include "proc_owner.h"

#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

/* The inode of the matching socket through sock_diag: 0 when none, -1
   when the socket could not answer. */
static long
diag_inode (int diag, int proto, const struct sockaddr_in *local,
            const struct sockaddr_in *remote)
{
  struct
  {
    struct nlmsghdr nh;
    struct inet_diag_req_v2 r;
  } req;
  memset (&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.nh.nlmsg_flags = NLM_F_REQUEST | (remote ? 0 : NLM_F_DUMP);
  req.r.sdiag_family = AF_INET;
  req.r.sdiag_protocol = (unsigned char) proto;
  req.r.idiag_states = ~0u;
  req.r.id.idiag_sport = local->sin_port;
  req.r.id.idiag_src[0] = local->sin_addr.s_addr;
  if (remote)
    {
      req.r.id.idiag_dport = remote->sin_port;
      req.r.id.idiag_dst[0] = remote->sin_addr.s_addr;
    }
  req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  if (send (diag, &req, sizeof req, MSG_NOSIGNAL) < 0)
    return -1;
  long found = 0;
  _Alignas (struct nlmsghdr) char buf[16384];
  for (;;)
    {
      ssize_t n = recv (diag, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return found ? found : -1;
      for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK (h, (unsigned) n);
           h = NLMSG_NEXT (h, n))
        {
          if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
            return found;
          if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
            continue;
          const struct inet_diag_msg *m = NLMSG_DATA (h);
          if (!found && m->id.idiag_sport == local->sin_port
              && m->id.idiag_src[0] == local->sin_addr.s_addr)
            found = (long) m->idiag_inode;
          if (!(req.nh.nlmsg_flags & NLM_F_DUMP))
            return found;
        }
    }
}

/* The inode of the matching socket in /proc/PID1/net/PROTO, or 0. */
static unsigned long
socket_inode (pid_t pid1, const char *proto, const struct sockaddr_in *local,
              const struct sockaddr_in *remote)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/net/%s", (int) pid1, proto);
  autofclose FILE *f = fopen (path, "re");
  if (!f)
    return 0;
  char line[512];
  if (!fgets (line, sizeof line, f)) /* the heading */
    return 0;
  while (fgets (line, sizeof line, f))
    {
      /* "  12: 0100007F:A1B2 0100007F:01BB 01 00000000:00000000 00:00000000
         00000000  1000  0 123456 ..." (an address is the u32 as stored) */
      unsigned la, lp, ra, rp;
      unsigned long inode;
      if (sscanf (line, " %*u: %8X:%4X %8X:%4X %*X %*X:%*X %*X:%*X %*X %*u %*u %lu", &la, &lp,
                  &ra, &rp, &inode) != 5)
        continue;
      if (la != local->sin_addr.s_addr || lp != ntohs (local->sin_port))
        continue;
      if (remote && (ra != remote->sin_addr.s_addr || rp != ntohs (remote->sin_port)))
        continue;
      if (inode != 0)
        return inode;
    }
  return 0;
}

/* Does process PID have an fd of the socket WANT ("socket:[INODE]")? */
static bool
holds (long pid, const char *want)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%ld/fd", pid);
  autoclosedir DIR *d = opendir (path);
  if (!d)
    return false;
  struct dirent *de;
  size_t wl = strlen (want);
  while ((de = readdir (d)))
    {
      char target[64];
      if (de->d_name[0] == '.')
        continue;
      ssize_t n = readlinkat (dirfd (d), de->d_name, target, sizeof target - 1);
      if (n == (ssize_t) wl && memcmp (target, want, wl) == 0)
        return true;
    }
  return false;
}

/* Every process in PID1's net namespace holding WANT (the slow way). */
static pid_t
scan_netns (pid_t pid1, const char *want)
{
  char path[64], ns[64], their[64];
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int) pid1);
  ssize_t nl = readlink (path, ns, sizeof ns - 1);
  if (nl < 0)
    return 0;
  autoclosedir DIR *d = opendir ("/proc");
  if (!d)
    return 0;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      char *end;
      long pid = strtol (de->d_name, &end, 10);
      if (*end || end == de->d_name || pid <= 0)
        continue;
      /* only the cage's net namespace: one readlink a process */
      snprintf (path, sizeof path, "/proc/%ld/ns/net", pid);
      ssize_t n = readlink (path, their, sizeof their - 1);
      if (n != nl || memcmp (ns, their, (size_t) n) != 0)
        continue;
      if (holds (pid, want))
        return (pid_t) pid;
    }
  return 0;
}

#define TREE_MAX 4096

/* The cage's processes from PID1 down, breadth first (each thread's
   children file); the first holding WANT.  -1: the kernel has no children
   files (CONFIG_PROC_CHILDREN). */
static pid_t
scan_tree (pid_t pid1, const char *want)
{
  autofree pid_t *q = malloc (TREE_MAX * sizeof *q);
  if (!q)
    return 0;
  size_t head = 0, tail = 0;
  q[tail++] = pid1;
  while (head < tail)
    {
      pid_t p = q[head++];
      if (p != pid1 && holds (p, want))
        return p;
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/task", (int) p);
      autoclosedir DIR *d = opendir (path);
      if (!d)
        continue;
      struct dirent *de;
      while ((de = readdir (d)))
        {
          if (de->d_name[0] == '.')
            continue;
          char cpath[128];
          snprintf (cpath, sizeof cpath, "/proc/%d/task/%.20s/children", (int) p, de->d_name);
          autofclose FILE *f = fopen (cpath, "re");
          if (!f)
            {
              if (errno == ENOENT && p == pid1)
                return -1;
              continue;
            }
          long c;
          while (tail < TREE_MAX && fscanf (f, "%ld", &c) == 1)
            if (c > 0)
              q[tail++] = (pid_t) c;
        }
    }
  return 0;
}

pid_t
proc_owner (const struct proc_owner_q *q, int proto, const struct sockaddr_in *local,
            const struct sockaddr_in *remote)
{
  if (q->pid1 <= 0)
    return 0;
  long inode = -1;
  if (q->diag >= 0)
    {
      pthread_mutex_lock (q->diag_lock);
      inode = diag_inode (q->diag, proto, local, remote);
      pthread_mutex_unlock (q->diag_lock);
    }
  if (inode < 0)
    inode = (long) socket_inode (q->pid1, proto == IPPROTO_TCP ? "tcp" : "udp", local, remote);
  if (inode <= 0)
    return 0;
  char want[64];
  snprintf (want, sizeof want, "socket:[%ld]", inode);
  pid_t h = q->hint ? __atomic_load_n (q->hint, __ATOMIC_RELAXED) : 0;
  if (h > 0 && holds (h, want))
    return h;
  pid_t found = scan_tree (q->pid1, want);
  if (found < 0)
    found = scan_netns (q->pid1, want);
  if (found > 0 && q->hint)
    __atomic_store_n (q->hint, found, __ATOMIC_RELAXED);
  return found;
}
