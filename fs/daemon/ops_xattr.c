/* ops_xattr.c - extended attributes: user.* only, read and changed where
   the agent may change the file. */
#include "ops_impl.h"

#include <dirent.h>
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "copyup.h"
#include "cow.h"
#include "hidden_inodes.h"
#include "quota.h"
#include "host_watch.h"
#include "policy.h"
#include "safe_open.h"
#include "tracked.h"
#include "visibility.h"
#include "agent_repos.h"
#include "git_guard.h"

/* ---- extended attributes, fallocate, lseek ----------------------------- */

/* Only the user.* namespace passes: security.capability, trusted.* and
   friends set by a daemon that may run as root would grant powers on the
   host.  */
static bool
xattr_allowed (const char *name)
{
  return strncmp (name, "user.", 5) == 0;
}

void
op_getxattr (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
  struct node *n = N (ino);
  if (n->kind != NODE_REAL)
    {
      fuse_reply_err (req, ENODATA);
      return;
    }
  if (!xattr_allowed (name))
    {
      fuse_reply_err (req, ENODATA);
      return;
    }
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      fuse_reply_err (req, -fd);
      return;
    }
  char p[64];
  procpath (p, sizeof p, fd);
  char *buf = size ? malloc (size) : NULL;
  ssize_t r = (size && !buf) ? (errno = ENOMEM, -1)
              : S_ISLNK (n->mode) ? (errno = ENODATA, -1)
                                  : getxattr (p, name, buf, size);
  int e = errno;
  node_fd_put (n);
  if (r < 0)
    fuse_reply_err (req, e);
  else if (size == 0)
    fuse_reply_xattr (req, (size_t) r);
  else
    fuse_reply_buf (req, buf, (size_t) r);
  free (buf);
}

void
op_listxattr (fuse_req_t req, fuse_ino_t ino, size_t size)
{
  struct node *n = N (ino);
  if (n->kind != NODE_REAL || S_ISLNK (n->mode))
    {
      if (size == 0)
        fuse_reply_xattr (req, 0);
      else
        fuse_reply_buf (req, NULL, 0);
      return;
    }
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      fuse_reply_err (req, -fd);
      return;
    }
  char p[64];
  procpath (p, sizeof p, fd);
  char all[65536];
  ssize_t r = listxattr (p, all, sizeof all);
  int e = errno;
  node_fd_put (n);
  if (r < 0)
    {
      fuse_reply_err (req, e);
      return;
    }
  /* Keep the user.* names. */
  char out[65536];
  size_t len = 0;
  for (ssize_t i = 0; i < r; i += (ssize_t) strlen (all + i) + 1)
    if (xattr_allowed (all + i))
      {
        size_t l = strlen (all + i) + 1;
        memcpy (out + len, all + i, l);
        len += l;
      }
  if (size == 0)
    fuse_reply_xattr (req, len);
  else if (len > size)
    fuse_reply_err (req, ERANGE);
  else
    fuse_reply_buf (req, out, len);
}

static void
change_xattr (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
              int flags, bool remove)
{
  struct node *n = N (ino);
  struct policy_path pp;
  policy_path_node (&pp, n);
  int r = policy_write (&pp);
  audit_path (req, remove ? "removexattr" : "setxattr", &pp, r, NULL);
  if (r == 0 && !xattr_allowed (name))
    r = -EPERM;
  if (r == 0 && S_ISLNK (n->mode))
    r = -EPERM; /* user.* xattrs are not allowed on symlinks */
  if (r == 0)
    {
      int cu = copyup_node (n);
      r = cu < 0 ? cu : 0;
    }
  if (r < 0)
    {
      fuse_reply_err (req, -r);
      return;
    }
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      fuse_reply_err (req, -fd);
      return;
    }
  char p[64];
  procpath (p, sizeof p, fd);
  int res = remove ? removexattr (p, name) : setxattr (p, name, value, size, flags);
  int e = errno;
  node_fd_put (n);
  fuse_reply_err (req, res < 0 ? e : 0);
}

void
op_setxattr (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
             int flags)
{
  change_xattr (req, ino, name, value, size, flags, false);
}

void
op_removexattr (fuse_req_t req, fuse_ino_t ino, const char *name)
{
  change_xattr (req, ino, name, NULL, 0, 0, true);
}
