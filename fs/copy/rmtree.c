/* rmtree.c - remove a folder and everything in it, without leaving its
   filesystem or following a symlink (cagefs destroy, the empty home, the
   cow layer's entries at accept and discard). */
#include "rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define MAX_DEPTH 256

/* Remove NAME (in DIR_FD, which is DIR_PATH) and all below it. */
int
rmtree_at (int dir_fd, const char *dir_path, const char *name, dev_t dev, int depth,
           const struct rmtree_hook *hook, struct cage_error *err)
{
  autofree char *path = NULL;
  if (asprintf (&path, dir_path[0] ? "%s/%s" : "%s%s", dir_path, name) < 0)
    {
      path = NULL;
      return cage_error_set (err, ENOMEM, "remove `%s/%s`", dir_path, name);
    }
  struct stat st;
  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cage_error_set (err, errno, "stat `%s`", path);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dir_fd, name, 0) < 0)
        return errno == ENOENT ? 0 : cage_error_set (err, errno, "remove `%s`", path);
      if (hook)
        hook->gone (hook->ctx, path, &st);
      return 0;
    }
  if (st.st_dev != dev)
    return cage_error_set (err, EXDEV, "`%s` is on another filesystem (a mount?); not removed",
                           path);
  if (depth > MAX_DEPTH)
    return cage_error_set (err, ELOOP, "`%s` is nested more than %d folders deep; remove it "
                           "by hand", path, MAX_DEPTH);
  int fd = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cage_error_set (err, errno, "open the folder `%s`", path);
  autoclosedir DIR *d = fdopendir (fd);
  if (!d)
    {
      int e = errno;
      close (fd);
      return cage_error_set (err, e, "open the folder `%s`", path);
    }
  struct stat fst;
  if (fstat (fd, &fst) < 0)
    return cage_error_set (err, errno, "stat `%s`", path);
  if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
    return cage_error_set (err, EAGAIN, "`%s` changed while being removed", path);
  /* A private store's folders are 0555: make this one writable first. */
  if ((fst.st_mode & 0700) != 0700 && fchmod (fd, (fst.st_mode & 07777) | 0700) < 0)
    return cage_error_set (err, errno, "make the folder `%s` writable", path);
  struct dirent *de;
  while ((errno = 0, de = readdir (d)))
    {
      if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
        continue;
      if (rmtree_at (fd, path, de->d_name, dev, depth + 1, hook, err) < 0)
        return -1;
    }
  if (errno)
    return cage_error_set (err, errno, "read the folder `%s`", path);
  if (unlinkat (dir_fd, name, AT_REMOVEDIR) < 0)
    return errno == ENOENT ? 0 : cage_error_set (err, errno, "remove the folder `%s`", path);
  if (hook)
    hook->gone (hook->ctx, path, &st);
  return 0;
}

