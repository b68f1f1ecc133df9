#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

int
project_lock (const struct project_paths *pp, struct cage_error *err)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/lock", pp->state);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return cage_error_set (err, errno, "open lock `%s`", path);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (fd);
        return cage_error_set (err, e, "lock `%s`", path);
      }
  return fd;
}

int
project_clean_stale (const struct project_paths *pp, struct cage_error *err)
{
  int cleaned = 0;
  const char *mnts[] = { pp->ws_mnt, pp->store_mnt, pp->mnt };
  for (size_t i = 0; i < sizeof mnts / sizeof *mnts; i++)
    if (state_is_fuse_mount (mnts[i]))
      {
        if (daemon_unmount (mnts[i], err) < 0)
          return -1;
        cleaned = 1;
      }
  if (unlink (pp->state_json) == 0)
    cleaned = 1;
  else if (errno != ENOENT)
    return cage_error_set (err, errno, "remove stale state `%s`", pp->state_json);
  if (cleaned)
    cage_info ("cleaned a stale mount at %s", pp->mnt);
  return cleaned;
}
