/* ops_files.c - FUSE operations on files: attributes, open, create, read,
   write (a git config's checked: git_guard.h), flush, release, fsync,
   fallocate, copy_file_range, lseek. */
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

static uid_t
unmap_uid (uid_t u)
{
  return u == cagefs.cage_uid ? cagefs.host_uid : u;
}

static gid_t
unmap_gid (gid_t g)
{
  return g == cagefs.cage_gid ? cagefs.host_gid : g;
}

static int
utimens_node (int fd, bool is_link, const struct timespec tv[2])
{
  if (is_link)
    {
      if (utimensat (fd, "", tv, AT_EMPTY_PATH) < 0)
        return errno == EINVAL ? -EPERM : -errno;
      return 0;
    }
  char p[64];
  procpath (p, sizeof p, fd);
  return utimensat (AT_FDCWD, p, tv, 0) < 0 ? -errno : 0;
}

static void
do_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
            struct fuse_file_info *fi)
{
  struct node *n = N (ino);
  struct policy_path pp;
  policy_path_node (&pp, n);
  int r = policy_write (&pp);
  audit_path (req, "setattr", &pp, r, NULL);
  /* A file shared with the host store gets its own copy first; a handle
     of the agent's then still names the shared file: change by path. */
  int copied = r == 0 ? copyup_node (n) : 0;
  if (copied < 0)
    r = copied;
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
  struct stat cur;
  char p[64];
  procpath (p, sizeof p, fd);
  if (fstatat (fd, "", &cur, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    r = -errno;
  bool is_link = r == 0 && S_ISLNK (cur.st_mode);
  int ffd = fi && copied == 0 ? (int) fi->fh : -1;
  /* What git would run: an x bit on a hook, a config cut short.  Checked
     and changed under the guard's lock (git_guard.h). */
  char why[GIT_GUARD_WHY] = "";
  bool guarded = (to_set & FUSE_SET_ATTR_MODE && attr->st_mode & 0111)
                 || (to_set & FUSE_SET_ATTR_SIZE && git_guard_path (&pp));
  if (guarded)
    {
      git_guard_lock ();
      if (r == 0 && (to_set & FUSE_SET_ATTR_MODE))
        r = git_guard_chmod (&pp, fd, attr->st_mode, why);
      if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
        r = git_guard_write (&pp, fd, NULL, 0, attr->st_size, why);
      if (r < 0)
        audit_path (req, "setattr", &pp, r, why);
    }

  if (r == 0 && (to_set & FUSE_SET_ATTR_MODE))
    {
      /* No set-uid binaries made through the cage; keep setgid on dirs. */
      mode_t mode = attr->st_mode & 07777 & ~S_ISUID;
      if (!S_ISDIR (cur.st_mode))
        mode &= ~S_ISGID;
      if (is_link)
        r = -EOPNOTSUPP;
      else if ((ffd >= 0 ? fchmod (ffd, mode) : chmod (p, mode)) < 0)
        r = -errno;
    }
  if (r == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
    {
      uid_t u = (to_set & FUSE_SET_ATTR_UID) ? unmap_uid (attr->st_uid) : (uid_t) -1;
      gid_t g = (to_set & FUSE_SET_ATTR_GID) ? unmap_gid (attr->st_gid) : (gid_t) -1;
      if (fchownat (fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        r = -errno;
    }
  if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
    {
      if ((ffd >= 0 ? ftruncate (ffd, attr->st_size) : truncate (p, attr->st_size)) < 0)
        r = -errno;
    }
  if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
    {
      struct timespec tv[2];
      tv[0].tv_sec = tv[1].tv_sec = 0;
      tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
      if (to_set & FUSE_SET_ATTR_ATIME_NOW)
        tv[0].tv_nsec = UTIME_NOW;
      else if (to_set & FUSE_SET_ATTR_ATIME)
        tv[0] = attr->st_atim;
      if (to_set & FUSE_SET_ATTR_MTIME_NOW)
        tv[1].tv_nsec = UTIME_NOW;
      else if (to_set & FUSE_SET_ATTR_MTIME)
        tv[1] = attr->st_mtim;
      if (ffd >= 0)
        r = futimens (ffd, tv) < 0 ? -errno : 0;
      else
        r = utimens_node (fd, is_link, tv);
    }
  if (guarded)
    git_guard_unlock ();
  struct stat st;
  if (r == 0 && fstatat (fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    r = -errno;
  node_fd_put (n);
  if (r < 0)
    {
      fuse_reply_err (req, -r);
      return;
    }
  map_owner (&st);
  fuse_reply_attr (req, &st, attr_timeout (n));
}

void
op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
            struct fuse_file_info *fi)
{
  policy_begin (POLICY_SETATTR);
  do_setattr (req, ino, attr, to_set, fi);
  policy_end ();
}

/* ---- files ----------------------------------------------------------- */

static void
do_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct node *n = N (ino);
  int acc = fi->flags & O_ACCMODE;
  if (n->kind == NODE_FILE)
    {
      if (acc != O_RDONLY || (fi->flags & O_TRUNC))
        {
          audit_node (req, "write", n, -EROFS);
          fuse_reply_err (req, EROFS);
        }
      else
        {
          fi->fh = 0;
          fi->keep_cache = 1;
          fuse_reply_open (req, fi);
        }
      return;
    }
  if (n->kind != NODE_REAL)
    {
      fuse_reply_err (req, EISDIR);
      return;
    }
  if (store_no_open (req, n) && acc == O_RDONLY && !(fi->flags & O_TRUNC))
    {
      fuse_reply_err (req, ENOSYS);
      return;
    }
  if (acc != O_RDONLY || (fi->flags & O_TRUNC))
    {
      struct policy_path pp;
      policy_path_node (&pp, n);
      int r = policy_write (&pp);
      if (r < 0)
        {
          audit_path (req, "write", &pp, r, NULL);
          fuse_reply_err (req, -r);
          return;
        }
    }
  int cu = (acc != O_RDONLY || (fi->flags & O_TRUNC)) ? copyup_node (n) : 0;
  if (cu < 0)
    {
      fuse_reply_err (req, -cu);
      return;
    }
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      fuse_reply_err (req, -fd);
      return;
    }
  /* Looked up before a hidden name was linked to it, or before a key was
     written into it: no longer opened. */
  if (visibility_checks_inodes (n->view))
    {
      struct stat st;
      int r = fstatat (fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
                ? -errno
                : visibility_check_inode (n->view, fd, "", &st);
      if (r < 0)
        {
          node_fd_put (n);
          fuse_reply_err (req, -r);
          return;
        }
    }
  char p[64];
  procpath (p, sizeof p, fd);
  int ffd = open (p, (fi->flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL | O_NOCTTY)) | O_CLOEXEC);
  int e = errno;
  node_fd_put (n);
  if (ffd < 0)
    {
      fuse_reply_err (req, e);
      return;
    }
  fi->fh = (uint64_t) ffd;
  fi->keep_cache = keep_cache (n);
  /* closing a file opened for reading, or on a local filesystem, has
     nothing to report: no FLUSH round trip */
  fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY || !n->view->close_reports;
  fuse_reply_open (req, fi);
}

/* An open for writing holds the guard's lock shared: an accept the daemon
   applies (control.h) holds it alone, so it sees every such handle. */
void
op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  bool w = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
  policy_begin (POLICY_OPEN);
  if (w)
    git_guard_lock_shared ();
  do_open (req, ino, fi);
  if (w)
    git_guard_unlock ();
  policy_end ();
}

static void
do_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           struct fuse_file_info *fi)
{
  struct node *p = N (parent);
  char why[GIT_GUARD_WHY] = "";
  mode = S_IFREG | (mode & 07777);
  struct policy_path pp;
  policy_path_at (&pp, p, name);
  int r = policy_make (&pp, &mode, why);
  if (r == 0)
    r = cow_prepare_dir (p);
  if (r == 0)
    r = quota_check (req, NULL, p, 0);
  if (r < 0)
    {
      audit_path (req, "create", &pp, r, why);
      fuse_reply_err (req, -r);
      return;
    }
  int pfd = node_fd_get (p);
  if (pfd < 0)
    {
      fuse_reply_err (req, -pfd);
      return;
    }
  mode_t perm = mode & 07777 & ~(S_ISUID | S_ISGID);
  int fd = openat (pfd, name, (fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC) & ~O_NOCTTY, perm);
  int e = errno;
  node_fd_put (p);
  if (fd < 0)
    {
      fuse_reply_err (req, e);
      return;
    }
  cow_created (p, name);
  tracked_created (p, name, pp.err ? NULL : pp.rel);
  struct node *n;
  struct stat st;
  r = real_lookup (p, name, &n, &st);
  if (r < 0)
    {
      close (fd);
      fuse_reply_err (req, -r);
      return;
    }
  fi->fh = (uint64_t) fd;
  fi->keep_cache = keep_cache (n);
  fi->noflush = !n->view->close_reports;
  struct fuse_entry_param ep;
  memset (&ep, 0, sizeof ep);
  ep.ino = ID (n);
  ep.attr = st;
  ep.attr_timeout = attr_timeout (n);
  ep.entry_timeout = entry_timeout (n);
  if (fuse_reply_create (req, &ep, fi) != 0)
    close (fd);
}

void
op_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           struct fuse_file_info *fi)
{
  policy_begin (POLICY_CREATE);
  do_create (req, parent, name, mode, fi);
  policy_end ();
}

void
op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  struct node *n = N (ino);
  if (n->kind == NODE_FILE)
    {
      if ((size_t) off >= n->size)
        fuse_reply_buf (req, NULL, 0);
      else
        fuse_reply_buf (req, n->data + off,
                        size < n->size - (size_t) off ? size : n->size - (size_t) off);
      return;
    }
  int tmp;
  int fd = read_fd (req, n, fi, &tmp);
  if (fd < 0)
    {
      fuse_reply_err (req, errno);
      return;
    }
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT (size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = fd;
  buf.buf[0].pos = off;
  fuse_reply_data (req, &buf, FUSE_BUF_SPLICE_MOVE);
  if (tmp >= 0)
    close (tmp);
}

/* A write to a file git may read as its config: the bytes are read into
   memory, the content they would leave is checked, and only then written,
   all under the guard's lock (git_guard.h). */
static void
write_guarded (fuse_req_t req, const struct policy_path *pp, struct fuse_bufvec *in_buf,
               off_t off, struct fuse_file_info *fi)
{
  struct node *n = pp->node;
  size_t size = fuse_buf_size (in_buf);
  char *mem = malloc (size ? size : 1);
  if (!mem)
    {
      fuse_reply_err (req, ENOMEM);
      return;
    }
  struct fuse_bufvec mb = FUSE_BUFVEC_INIT (size);
  mb.buf[0].mem = mem;
  ssize_t got = fuse_buf_copy (&mb, in_buf, 0);
  char why[GIT_GUARD_WHY] = "";
  int r = got < 0 ? (int) got : 0;
  git_guard_lock ();
  int fd = r == 0 ? node_fd_get (n) : -1;
  if (r == 0 && fd < 0)
    r = fd;
  if (r == 0)
    {
      r = git_guard_write (pp, fd, mem, (size_t) got, off, why);
      node_fd_put (n);
    }
  ssize_t res = 0;
  if (r == 0)
    {
      res = pwrite ((int) fi->fh, mem, (size_t) got, off);
      if (res < 0)
        r = -errno;
    }
  git_guard_unlock ();
  free (mem);
  if (r < 0)
    {
      audit_path (req, "write", pp, r, why);
      fuse_reply_err (req, -r);
    }
  else
    fuse_reply_write (req, (size_t) res);
}

static void
do_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
              struct fuse_file_info *fi)
{
  struct node *n = N (ino);
  if (writable (n) < 0)
    {
      audit_node (req, "write", n, -EROFS);
      fuse_reply_err (req, EROFS);
      /* Written back from a shared writable mapping of an immutable store
         file (no_open lets such a mapping be made): the kernel keeps the
         refused bytes in its cached pages; drop them, so no process reads
         them as the file's.  (A write(2) that fails leaves no such page.
         Only the store session writes to immutable nodes: the root tree's
         opens them read-only.  A WRITE's fuse_req_userdata is not the
         session's, so the node tells.) */
      if (fi->writepage && n->kind == NODE_REAL && n->view->immutable
          && cagefs.store_session)
        fuse_lowlevel_notify_inval_inode (cagefs.store_session, ino, 0, 0);
      return;
    }
  int q = quota_check (req, "write", n, fuse_buf_size (in_buf));
  if (q < 0)
    {
      fuse_reply_err (req, -q);
      return;
    }
  /* (a name git reads: its path is built, once, for the check; under the
     shared lock no rename changes it) */
  git_guard_lock_shared ();
  struct policy_path pp;
  policy_path_node (&pp, n);
  if (git_guard_path (&pp))
    {
      git_guard_unlock ();
      write_guarded (req, &pp, in_buf, off, fi);
      return;
    }
  struct fuse_bufvec out = FUSE_BUFVEC_INIT (fuse_buf_size (in_buf));
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = (int) fi->fh;
  out.buf[0].pos = off;
  ssize_t res = fuse_buf_copy (&out, in_buf, 0);
  git_guard_unlock ();
  if (res < 0)
    fuse_reply_err (req, (int) -res);
  else
    fuse_reply_write (req, (size_t) res);
}

void
op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
              struct fuse_file_info *fi)
{
  policy_begin (POLICY_WRITE);
  do_write_buf (req, ino, in_buf, off, fi);
  policy_end ();
}

void
op_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (N (ino)->kind != NODE_REAL)
    {
      fuse_reply_err (req, 0);
      return;
    }
  if (!fi->fh && store_no_open (req, N (ino)))
    {
      /* nothing of ours is open: ENOSYS, and the kernel sends no FLUSH on
         this connection again (a round trip at every close of a file) */
      fuse_reply_err (req, ENOSYS);
      return;
    }
  int fd = dup ((int) fi->fh);
  int res = fd < 0 ? -1 : close (fd);
  fuse_reply_err (req, res < 0 ? errno : 0);
}

void
op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (N (ino)->kind == NODE_REAL && (fi->fh || !store_no_open (req, N (ino))))
    close ((int) fi->fh);
  fuse_reply_err (req, 0);
}

void
op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  if (N (ino)->kind != NODE_REAL || (!fi->fh && store_no_open (req, N (ino))))
    {
      fuse_reply_err (req, 0);
      return;
    }
  int res = datasync ? fdatasync ((int) fi->fh) : fsync ((int) fi->fh);
  fuse_reply_err (req, res < 0 ? errno : 0);
}

void
op_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
              struct fuse_file_info *fi)
{
  if (writable (N (ino)) < 0)
    {
      audit_node (req, "fallocate", N (ino), -EROFS);
      fuse_reply_err (req, EROFS);
      return;
    }
  struct policy_path pp;
  policy_path_node (&pp, N (ino));
  if (git_guard_path (&pp))
    {
      /* what it leaves in a config is not checked: write instead */
      audit_path (req, "fallocate", &pp, -EACCES, "a git config is changed by writes only");
      fuse_reply_err (req, EACCES);
      return;
    }
  int res = fallocate ((int) fi->fh, mode, offset, length);
  fuse_reply_err (req, res < 0 ? errno : 0);
}

/* copy_file_range: refused (EROFS, audited) into what the agent may not
   change, such as an immutable store file opened for writing (no_open);
   anything else is left to the kernel's own copy (ENOSYS: read and write
   requests, each checked). */
void
op_copy_file_range (fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                    struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                    struct fuse_file_info *fi_out, size_t len, int flags)
{
  struct node *out = N (ino_out);
  int r = writable (out);
  audit_node (req, "copy_file_range", out, r);
  fuse_reply_err (req, r < 0 ? -r : ENOSYS);
}

void
op_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
  if (N (ino)->kind != NODE_REAL)
    {
      fuse_reply_err (req, ENOSYS);
      return;
    }
  int tmp;
  int fd = read_fd (req, N (ino), fi, &tmp);
  off_t res = fd < 0 ? -1 : lseek (fd, off, whence);
  int e = errno;
  if (tmp >= 0)
    close (tmp);
  if (res < 0)
    fuse_reply_err (req, e);
  else
    fuse_reply_lseek (req, res);
}
