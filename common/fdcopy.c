/* fdcopy.c - copy a file's data and xattrs between open fds (fdcopy.h). */
#include "fdcopy.h"

#include <errno.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

int
fdcopy_data (int in, int out)
{
  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1 << 30, 0);
      if (n > 0)
        continue;
      if (n == 0)
        return 0;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -errno;
      break; /* the filesystems refuse: read/write from where it stopped */
    }
  char buf[65536];
  for (;;)
    {
      ssize_t n = read (in, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      if (n == 0)
        return 0;
      for (ssize_t off = 0; off < n;)
        {
          ssize_t w = write (out, buf + off, (size_t) (n - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return -errno;
          off += w;
        }
    }
}

int
fdcopy_xattrs (int in, int out, bool user_only)
{
  char names[4096];
  ssize_t len = flistxattr (in, names, sizeof names);
  if (len < 0)
    return errno == ENOTSUP || errno == ERANGE ? 0 : -errno;
  for (char *name = names; name < names + len; name += strlen (name) + 1)
    {
      if (user_only && strncmp (name, "user.", 5) != 0)
        continue;
      char value[4096];
      ssize_t v = fgetxattr (in, name, value, sizeof value);
      if (v < 0)
        continue;
      if (fsetxattr (out, name, value, (size_t) v, 0) < 0 && errno != ENOTSUP && errno != EPERM)
        return -errno;
    }
  return 0;
}
