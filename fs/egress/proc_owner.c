/* proc_owner.c - the process behind an agent's connection (see proc_owner.h). */
#include "proc_owner.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

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

pid_t
proc_owner (pid_t pid1, const char *proto, const struct sockaddr_in *local,
            const struct sockaddr_in *remote)
{
  if (pid1 <= 0)
    return 0;
  unsigned long inode = socket_inode (pid1, proto, local, remote);
  if (inode == 0)
    return 0;
  char want[64], path[64], ns[64], their[64];
  snprintf (want, sizeof want, "socket:[%lu]", inode);
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
