#include "safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool have_openat2 = true;

static int
walk_openat (int dirfd, const char *path, int flags)
{
  char comp[256];
  int cur = dirfd;
  const char *s = path;
  for (;;)
    {
      const char *slash = strchr (s, '/');
      size_t len = slash ? (size_t) (slash - s) : strlen (s);
      if (len == 0 || len >= sizeof comp)
        {
          if (cur != dirfd)
            close (cur);
          errno = len == 0 ? ENOENT : ENAMETOOLONG;
          return -1;
        }
      memcpy (comp, s, len);
      comp[len] = '\0';
      if (strcmp (comp, "..") == 0 || strcmp (comp, ".") == 0)
        {
          if (cur != dirfd)
            close (cur);
          errno = EXDEV; /* as RESOLVE_BENEATH reports an escape */
          return -1;
        }
      bool last = slash == NULL;
      int f = last ? (flags | O_NOFOLLOW | O_CLOEXEC)
                   : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int fd = openat (cur, comp, f, 0);
      int e = errno;
      if (cur != dirfd)
        close (cur);
      if (fd < 0)
        {
          errno = (!last && e == ENOTDIR) ? ELOOP : e;
          return -1;
        }
      if (last)
        return fd;
      cur = fd;
      s = slash + 1;
    }
}

int
safe_openat (int dirfd, const char *path, int flags)
{
  if (have_openat2)
    {
      struct open_how how = {
        .flags = (unsigned long long) (flags | O_NOFOLLOW | O_CLOEXEC),
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
      };
      int fd = (int) syscall (SYS_openat2, dirfd, path, &how, sizeof how);
      if (fd >= 0 || errno != ENOSYS)
        return fd;
      have_openat2 = false;
    }
  return walk_openat (dirfd, path, flags);
}
