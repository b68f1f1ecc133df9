/* agents.c - the cages running in a project, for `cagefs status`: each
   `cage exec`/`shell`/`run` leaves a file named by its pid in
   <state>/agents/ while it runs (removed at its end; one left by a cage
   killed with -9 names a dead pid, which status does not count). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher.h"
#include "log.h"
#include "paths.h"

int
agents_register (const char *project, char *path, size_t size)
{
  path[0] = '\0';
  struct project_paths pp;
  struct cage_error err = { 0 };
  if (paths_project (project, false, &pp, &err) < 0)
    return -1;
  char dir[4096];
  snprintf (dir, sizeof dir, "%s/agents", pp.state);
  paths_free (&pp);
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    {
      cage_debug ("agents: mkdir `%s`: %s", dir, strerror (errno));
      return -1;
    }
  snprintf (path, size, "%s/%d", dir, (int) getpid ());
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      cage_debug ("agents: create `%s`: %s", path, strerror (errno));
      path[0] = '\0';
      return -1;
    }
  close (fd);
  return 0;
}

void
agents_unregister (const char *path)
{
  if (path[0] && unlink (path) < 0 && errno != ENOENT)
    cage_debug ("agents: remove `%s`: %s", path, strerror (errno));
}
