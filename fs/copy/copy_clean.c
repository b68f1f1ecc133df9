/* copy_clean.c - remove a temporary tree left by a copy (killed, or failed
   half-way), with rmtree_at (fs/copy/rmtree.c: store folders are 0555, so each
   is made writable first; every step an *at() call, symlinks removed,
   never followed, no other filesystem entered).  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy_impl.h"
#include "rmtree.h"

int
copy_remove_tree (int dir_fd, const char *name, struct cage_error *err)
{
  struct stat st;
  if (fstat (dir_fd, &st) < 0)
    return cage_error_set (err, errno, "stat the destination store");
  return rmtree_at (dir_fd, ".", name, st.st_dev, 0, NULL, err);
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
