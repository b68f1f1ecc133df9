/* ops_names.c - FUSE operations that make, link, remove and rename names
   (readlink too); each asks the policy gate (policy.h) once. */
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
#include "tree.h"
#include "hidden_inodes.h"
#include "quota.h"
#include "host_watch.h"
#include "policy.h"
#include "safe_open.h"
#include "tracked.h"
#include "visibility.h"
#include "agent_repos.h"
#include "git_guard.h"

void
op_readlink (fuse_req_t req, fuse_ino_t ino)
{
  struct node *n = N (ino);
  if (n->kind == NODE_LINK)
    {
      fuse_reply_readlink (req, n->data);
      return;
    }
  if (n->kind != NODE_REAL)
    {
      fuse_reply_err (req, EINVAL);
      return;
    }
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      fuse_reply_err (req, -fd);
      return;
    }
  char buf[PATH_MAX + 1];
  ssize_t len = readlinkat (fd, "", buf, sizeof buf);
  int e = errno;
  node_fd_put (n);
  if (len < 0)
    fuse_reply_err (req, e);
  else if (len == sizeof buf)
    fuse_reply_err (req, ENAMETOOLONG);
  else
    {
      buf[len] = '\0';
      fuse_reply_readlink (req, buf);
    }
}

/* After creating the entry PP, look it up and reply. */
static void
reply_new_entry (fuse_req_t req, const struct policy_path *pp)
{
  struct node *parent = pp->dir;
  const char *name = pp->name;
  cow_created (parent, name);
  tracked_created (parent, name, pp->err ? NULL : pp->rel);
  struct node *n;
  struct stat st;
  int r = real_lookup (parent, name, &n, &st);
  if (r < 0)
    fuse_reply_err (req, -r);
  else
    reply_entry (req, n, &st);
}

static void
make_entry (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
            const char *link)
{
  struct node *p = N (parent);
  char why[GIT_GUARD_WHY] = "";
  struct policy_path pp;
  policy_path_at (&pp, p, name);
  /* the tracked view: an untracked empty folder becomes the agent's */
  if (S_ISDIR (mode) && !link && p->kind == NODE_REAL && p->view->writable && !pp.err
      && visibility_check_untracked (&pp) == 0 && !visibility_protected_path (&pp)
      && tracked_adopt_empty_dir (p, name, pp.rel))
    {
      reply_new_entry (req, &pp);
      return;
    }
  int r = policy_make (&pp, &mode, why);
  if (r == 0)
    r = cow_prepare_dir (p);
  if (r < 0)
    {
      audit_path (req, link ? "symlink" : S_ISDIR (mode) ? "mkdir" : "mknod", &pp, r, why);
      fuse_reply_err (req, -r);
      return;
    }
  int pfd = node_fd_get (p);
  if (pfd < 0)
    {
      fuse_reply_err (req, -pfd);
      return;
    }
  mode_t perm = mode & 07777 & ~S_ISUID;
  if (!S_ISDIR (mode))
    perm &= ~S_ISGID;
  int res;
  if (link)
    res = symlinkat (link, pfd, name);
  else if (S_ISDIR (mode))
    res = mkdirat (pfd, name, perm);
  else
    res = mknodat (pfd, name, (mode & S_IFMT) | perm, rdev);
  int e = errno;
  node_fd_put (p);
  if (res < 0)
    {
      fuse_reply_err (req, e);
      return;
    }
  if (S_ISDIR (mode) && !link && strcmp (name, ".git") == 0 && p->view == &cagefs.workspace)
    agent_repos_add (p, name, pp.err ? NULL : pp.rel);
  reply_new_entry (req, &pp);
}

void
op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
  policy_begin (POLICY_MKNOD);
  make_entry (req, parent, name, mode, rdev, NULL);
  policy_end ();
}

void
op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  policy_begin (POLICY_MKDIR);
  make_entry (req, parent, name, S_IFDIR | mode, 0, NULL);
  policy_end ();
}

void
op_symlink (fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
  policy_begin (POLICY_SYMLINK);
  make_entry (req, parent, name, S_IFLNK | 0777, 0, link);
  policy_end ();
}

/* Pin the fds of two nodes; on failure none stays pinned. */
static int
fd_get_pair (struct node *a, struct node *b, int *afd, int *bfd)
{
  *afd = node_fd_get (a);
  if (*afd < 0)
    return *afd;
  *bfd = node_fd_get (b);
  if (*bfd < 0)
    {
      node_fd_put (a);
      return *bfd;
    }
  return 0;
}

static void
do_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
  struct node *n = N (ino), *p = N (newparent);
  char why[GIT_GUARD_WHY] = "";
  struct policy_path src, dst;
  policy_path_link (&src, n, &dst, p, newname);
  int r = policy_link (&src, &dst, why);
  /* A project file is not linked in the cow view: its copy-up would give
     the source a new inode under the caller (git's local clone checks the
     link's inode against the source's and gives up); EXDEV, as between two
     filesystems, and the caller copies. */
  if (r == 0 && p->view->cow && cow_in_lower (n))
    r = -EXDEV;
  if (r == 0 && p->view->cow)
    r = cow_prepare_dir (p);
  if (r < 0)
    {
      audit_path (req, "link", &dst, r, why);
      fuse_reply_err (req, -r);
      return;
    }
  int fd, pfd;
  if ((r = fd_get_pair (n, p, &fd, &pfd)) < 0)
    {
      fuse_reply_err (req, -r);
      return;
    }
  /* The link count before, so the new link is noted without a walk. */
  struct stat before;
  bool note = n->view->hidden_inodes
              && fstatat (fd, "", &before, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
  char path[64];
  procpath (path, sizeof path, fd);
  int res = linkat (AT_FDCWD, path, pfd, newname, AT_SYMLINK_FOLLOW);
  int e = errno;
  node_fd_put (p);
  node_fd_put (n);
  if (res < 0)
    {
      fuse_reply_err (req, e);
      return;
    }
  if (note)
    hidden_inodes_linked (n->view->hidden_inodes, &before);
  reply_new_entry (req, &dst);
}

void
op_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
  policy_begin (POLICY_LINK);
  do_link (req, ino, newparent, newname);
  policy_end ();
}

static void
remove_entry (fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
  struct node *p = N (parent);
  struct policy_path pp;
  policy_path_at (&pp, p, name);
  int r = policy_remove (&pp);
  if (r < 0)
    {
      audit_path (req, flags & AT_REMOVEDIR ? "rmdir" : "unlink", &pp, r, NULL);
      fuse_reply_err (req, -r);
      return;
    }
  int pfd = node_fd_get (p);
  if (pfd < 0)
    {
      fuse_reply_err (req, -pfd);
      return;
    }
  int res = p->view->cow ? cow_remove (p, name, flags) : unlinkat (pfd, name, flags);
  int e = errno;
  node_fd_put (p);
  fuse_reply_err (req, res < 0 ? e : 0);
}

void
op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  policy_begin (POLICY_UNLINK);
  remove_entry (req, parent, name, 0);
  policy_end ();
}

void
op_rmdir (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  policy_begin (POLICY_RMDIR);
  remove_entry (req, parent, name, AT_REMOVEDIR);
  policy_end ();
}

static void
do_rename (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
           const char *newname, unsigned int flags)
{
  struct node *p = N (parent), *np = N (newparent);
  char why[GIT_GUARD_WHY] = "";
  git_guard_lock ();
  /* both ends' paths in one node_lock acquisition, under the guard's lock */
  struct policy_path from, to;
  policy_path_pair (&from, p, name, &to, np, newname);
  int r = policy_rename (&from, &to, flags, why);
  if (r == 0 && p->view->cow)
    r = cow_rename (p, name, np, newname, flags) < 0 ? -errno : 0;
  if (r < 0 || p->view->cow)
    {
      git_guard_unlock ();
      audit_rename (req, &from, &to, r, why);
      fuse_reply_err (req, -r);
      return;
    }
  int pfd, npfd;
  if ((r = fd_get_pair (p, np, &pfd, &npfd)) < 0)
    {
      git_guard_unlock ();
      fuse_reply_err (req, -r);
      return;
    }
  struct stat src_st, dst_st;
  bool have_src = fstatat (pfd, name, &src_st, AT_SYMLINK_NOFOLLOW) == 0;
  bool have_dst = fstatat (npfd, newname, &dst_st, AT_SYMLINK_NOFOLLOW) == 0;
  int res = renameat2 (pfd, name, npfd, newname, flags);
  int e = errno;
  if (res == 0)
    {
      if (have_src)
        node_moved (p->view, src_st.st_dev, src_st.st_ino, np, newname);
      if ((flags & RENAME_EXCHANGE) && have_dst)
        node_moved (p->view, dst_st.st_dev, dst_st.st_ino, p, name);
    }
  git_guard_unlock ();
  node_fd_put (np);
  node_fd_put (p);
  if (res == 0)
    tracked_created (np, newname, to.err ? NULL : to.rel);
  fuse_reply_err (req, res < 0 ? e : 0);
}

void
op_rename (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
           const char *newname, unsigned int flags)
{
  policy_begin (POLICY_RENAME);
  do_rename (req, parent, name, newparent, newname, flags);
  policy_end ();
}
