/* copyup.c - give a private store its own copy of a file it shares with
   the host store (see copyup.h).  The copy is made as an O_TMPFILE in the
   same folder (invisible until complete), linked under a temporary name
   and renamed over the shared name: at every moment the name shows either
   the shared file or the complete copy.  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "copyup.h"
#include "fdcopy.h"
#include "cow.h"



int
copyup_node (struct node *n)
{
  if (n->kind == NODE_REAL && n->view->cow)
    return cow_copyup (n);
  if (n->kind != NODE_REAL || !n->view->private_store || !n->parent)
    return 0;
  int fd = node_fd_get (n);
  if (fd < 0)
    return fd;
  struct stat st;
  int r = 0;
  if (fstatat (fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    r = -errno;
  else if (!S_ISREG (st.st_mode) || st.st_nlink <= 1)
    {
      node_fd_put (n);
      return 0;
    }
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
  autoclose int in = r < 0 ? -1 : open (p, O_RDONLY | O_CLOEXEC);
  node_fd_put (n);
  if (r < 0)
    return r;
  if (in < 0)
    return -errno;

  int pfd = node_fd_get (n->parent);
  if (pfd < 0)
    return pfd;
  char name[256], tmp[300];
  pthread_mutex_lock (&node_lock);
  snprintf (name, sizeof name, "%s", n->name);
  pthread_mutex_unlock (&node_lock);
  snprintf (tmp, sizeof tmp, ".cagefs-copyup-%lu-%ld", (unsigned long) st.st_ino, (long) gettid ());
  autoclose int out = openat (pfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (out < 0)
    r = -errno;
  if (r == 0)
    r = fdcopy_data (in, out);
  if (r == 0)
    r = fdcopy_xattrs (in, out, false);
  if (r == 0 && fchmod (out, st.st_mode & 07777 & ~(mode_t) (S_ISUID | S_ISGID)) < 0)
    r = -errno;
  struct timespec ts[2] = { st.st_atim, st.st_mtim };
  if (r == 0 && futimens (out, ts) < 0)
    r = -errno;
  char op[64];
  snprintf (op, sizeof op, "/proc/self/fd/%d", out);
  if (r == 0 && linkat (AT_FDCWD, op, pfd, tmp, AT_SYMLINK_FOLLOW) < 0)
    r = -errno;
  if (r == 0 && renameat (pfd, tmp, pfd, name) < 0)
    {
      r = -errno;
      unlinkat (pfd, tmp, 0);
    }
  struct stat nst;
  if (r == 0 && fstat (out, &nst) < 0)
    r = -errno;
  int path_fd = r == 0 ? openat (pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC) : -1;
  node_fd_put (n->parent);
  if (r < 0)
    return r;
  node_rekey (n, &nst, path_fd);
  return 1;
}
