/* copy_clean.c - remove a temporary tree left by a copy (killed, or failed
   half-way).  Store folders are 0555, so each folder is made writable
   (fchmod on its own fd) before its entries go; every step is an *at()
   call beneath the folder fd, symlinks are removed, never followed.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy_impl.h"

static int
remove_in (int dir_fd, const char *name, int depth, struct cage_error *err)
{
  if (unlinkat (dir_fd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return cage_error_set (err, errno, "remove `%s`", name);
  if (depth > 256)
    return cage_error_set (err, ELOOP, "remove `%s`: folders nested too deep", name);
  int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cage_error_set (err, errno, "open the folder `%s`", name);
  if (fchmod (fd, 0700) < 0)
    {
      int e = errno;
      close (fd);
      return cage_error_set (err, e, "chmod the folder `%s`", name);
    }
  autoclosedir DIR *d = fdopendir (fd);
  if (!d)
    {
      int e = errno;
      close (fd);
      return cage_error_set (err, e, "open the folder `%s`", name);
    }
  struct dirent *de;
  while ((errno = 0, de = readdir (d)))
    {
      if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
        continue;
      if (remove_in (dirfd (d), de->d_name, depth + 1, err) < 0)
        return cage_error_prefix (err, "in `%s`", name);
    }
  if (errno)
    return cage_error_set (err, errno, "read the folder `%s`", name);
  if (unlinkat (dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return cage_error_set (err, errno, "remove the folder `%s`", name);
  return 0;
}

int
copy_remove_tree (int dir_fd, const char *name, struct cage_error *err)
{
  return remove_in (dir_fd, name, 0, err);
}

int
copy_clean_leftovers (int dst_fd, struct cage_error *err)
{
  int fd = openat (dst_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cage_error_set (err, errno, "open the destination store");
  autoclosedir DIR *d = fdopendir (fd);
  if (!d)
    {
      int e = errno;
      close (fd);
      return cage_error_set (err, e, "open the destination store");
    }
  struct dirent *de;
  while ((errno = 0, de = readdir (d)))
    if (!strncmp (de->d_name, COPY_TMP_PREFIX, strlen (COPY_TMP_PREFIX))
        && copy_remove_tree (dst_fd, de->d_name, err) < 0)
      return cage_error_prefix (err, "remove the leftovers of an interrupted copy");
  if (errno)
    return cage_error_set (err, errno, "read the destination store");
  return 0;
}
