/* ops.c - the FUSE low-level operations over synthetic and real nodes.
   Every real operation is an *at() call on an fd resolved beneath the
   view's root; symlinks are returned as links and never followed here. */
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
#include "ops.h"
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

#define SYNTH_TIMEOUT 86400.0

static struct timespec start_time;


/* The store session of the non-writable modes (its own FUSE connection,
   mounted without default_permissions): its files are immutable, so the
   daemon answers OPEN with ENOSYS once and the kernel stops sending OPEN,
   FLUSH and RELEASE for it ("no_open": every open of a store file is then
   a kernel-only operation, and the page cache is kept, FOPEN_KEEP_CACHE
   being the kernel's default for no_open).  A READ then carries fh 0: the
   file is opened for that request.  An open for writing then succeeds too;
   its WRITE is refused (EROFS, audited). */
static bool
immutable_session (fuse_req_t req)
{
  return fuse_req_userdata (req) == cagefs.store_root && cagefs.store.immutable;
}

bool
store_no_open (fuse_req_t req, const struct node *n)
{
  return n->kind == NODE_REAL && immutable_session (req);
}

/* The fd to read N through: FI's, or (no_open) a fresh one in *TMP. */
int
read_fd (fuse_req_t req, struct node *n, struct fuse_file_info *fi, int *tmp)
{
  *tmp = -1;
  if (fi->fh || !store_no_open (req, n))
    return (int) fi->fh;
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      errno = -fd;
      return -1;
    }
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
  *tmp = open (p, O_RDONLY | O_CLOEXEC);
  int e = errno;
  node_fd_put (n);
  errno = e;
  return *tmp;
}

void
procpath (char *buf, size_t size, int fd)
{
  snprintf (buf, size, "/proc/self/fd/%d", fd);
}

/* ---- attributes ---------------------------------------------------- */

void
synth_attr (const struct node *n, struct stat *st)
{
  memset (st, 0, sizeof *st);
  st->st_ino = n->ino;
  st->st_mode = n->mode;
  st->st_nlink = n->kind == NODE_DIR ? 2 : 1;
  st->st_size = n->kind == NODE_DIR ? 4096 : (off_t) n->size;
  st->st_blksize = 4096;
  st->st_blocks = (st->st_size + 511) / 512;
  st->st_atim = st->st_mtim = st->st_ctim = start_time;
}

/* The invoking user's files are shown as the cage user's. */
void
map_owner (struct stat *st)
{
  if (st->st_uid == cagefs.host_uid)
    st->st_uid = cagefs.cage_uid;
  if (st->st_gid == cagefs.host_gid)
    st->st_gid = cagefs.cage_gid;
}

/* How long the kernel may cache N's attributes and its entry: long where
   a watch reports host edits of it (host_watch.h), else the view's. */
double
attr_timeout (const struct node *n)
{
  if (n->kind != NODE_REAL)
    return SYNTH_TIMEOUT;
  return host_watch_covers (n) ? HOST_WATCH_TIMEOUT : n->view->attr_timeout;
}

double
entry_timeout (const struct node *n)
{
  if (n->kind != NODE_REAL)
    return SYNTH_TIMEOUT;
  return host_watch_covers (n) ? HOST_WATCH_TIMEOUT : n->view->entry_timeout;
}

/* May the kernel keep N's cached pages when it is opened again? */
bool
keep_cache (const struct node *n)
{
  return n->view->keep_cache || host_watch_covers (n);
}

int
real_stat (struct node *n, struct stat *st)
{
  /* An immutable store's attributes are those it was looked up with: the
     kernel asks again after each read it sends (the atime it must refresh
     on a writable superblock), and no syscall is needed to answer. */
  struct stat *cached = __atomic_load_n (&n->st_cache, __ATOMIC_ACQUIRE);
  if (cached)
    *st = *cached;
  else
    {
      int fd = node_fd_get (n);
      if (fd < 0)
        return fd;
      int r = fstatat (fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
      int e = errno;
      node_fd_put (n);
      if (r < 0)
        return -e;
    }
  /* /nix/store is sticky (1775): the kernel would refuse removing or
     renaming a store path (EPERM) before the daemon could log it.  Nothing
     can be removed from an immutable store by anyone: show it without. */
  if (!n->parent && n->view->immutable)
    st->st_mode &= (mode_t) ~S_ISVTX;
  map_owner (st);
  return 0;
}

void
reply_entry (fuse_req_t req, struct node *n, const struct stat *st)
{
  struct fuse_entry_param e;
  memset (&e, 0, sizeof e);
  e.ino = ID (n);
  e.attr = *st;
  e.attr_timeout = attr_timeout (n);
  e.entry_timeout = entry_timeout (n);
  fuse_reply_entry (req, &e);
}

/* Look NAME up beneath the real directory PARENT (visibility already
   checked) and reply with the entry. */
int
real_lookup (struct node *parent, const char *name, struct node **out, struct stat *st)
{
  int pfd = node_fd_get (parent);
  if (pfd < 0)
    return pfd;
  int fd = parent->view->cow ? cow_lookup (parent, name) : safe_openat (pfd, name, O_PATH);
  int e = errno;
  node_fd_put (parent);
  if (fd < 0)
    return -e;
  if (fstatat (fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    {
      e = errno;
      close (fd);
      return -e;
    }
  if (visibility_check_inode (parent->view, fd, "", st) < 0)
    {
      close (fd);
      return -ENOENT;
    }
  struct node *n = node_get_real (parent, name, st, fd);
  if (!n)
    return -ENOMEM;
  if (parent->view->immutable && !__atomic_load_n (&n->st_cache, __ATOMIC_ACQUIRE))
    {
      /* first lookup wins; the attributes of an immutable file never change */
      struct stat *c = malloc (sizeof *c), *expected = NULL;
      if (c)
        {
          *c = *st;
          if (!__atomic_compare_exchange_n (&n->st_cache, &expected, c, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE))
            free (c);
        }
    }
  /* watched before the kernel can cache anything it holds */
  if (S_ISDIR (st->st_mode) && parent->view->watch_host)
    host_watch_dir (n);
  map_owner (st);
  *out = n;
  return 0;
}

static void
op_init (void *userdata, struct fuse_conn_info *conn)
{
  clock_gettime (CLOCK_REALTIME, &start_time);
  /* Never cache writes in the kernel: the host must see them at once. */
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  if (conn->capable & FUSE_CAP_SPLICE_READ)
    conn->want |= FUSE_CAP_SPLICE_READ;
  /* read replies spliced from the file: no copy through our buffers */
  if (conn->capable & FUSE_CAP_SPLICE_WRITE)
    conn->want |= FUSE_CAP_SPLICE_WRITE;
  /* readdir returns attributes too, so a walk is not one lookup per entry */
  if (conn->capable & FUSE_CAP_READDIRPLUS)
    conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  /* symlinks never change in place (a new target is a new inode) */
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
    conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  /* cached pages are dropped when a host edit changes mtime or size */
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
    conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  /* The immutable store session (no_open): an open with O_TRUNC must
     reach the daemon as a SETATTR to be refused; with atomic O_TRUNC the
     kernel would leave the truncation to an OPEN it never sends and drop
     the file's cached size and pages as if it had been done. */
  if (userdata == cagefs.store_root && cagefs.store.immutable)
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  conn->max_write = 1u << 20;
  conn->max_readahead = 1u << 20;
}

/* ENOENT as a negative entry the kernel may cache: hidden and missing
   names cost no round trip the second time.  */
static void
reply_negative (fuse_req_t req, struct node *parent)
{
  struct fuse_entry_param e;
  memset (&e, 0, sizeof e);
  e.ino = 0;
  if (parent->kind != NODE_REAL)
    e.entry_timeout = SYNTH_TIMEOUT;
  else
    e.entry_timeout = host_watch_lists (parent) ? HOST_WATCH_TIMEOUT
                                                : parent->view->negative_timeout;
  fuse_reply_entry (req, &e);
}

static void
do_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct node *p = N (parent);
  struct stat st;
  if (p->kind == NODE_DIR)
    {
      struct node *c = node_child (p, name);
      if (!c)
        {
          reply_negative (req, p);
          return;
        }
      int r = c->kind == NODE_REAL ? real_stat (c, &st) : (synth_attr (c, &st), 0);
      if (r < 0)
        {
          fuse_reply_err (req, -r);
          return;
        }
      node_ref (c);
      reply_entry (req, c, &st);
      return;
    }
  if (p->kind != NODE_REAL)
    {
      fuse_reply_err (req, ENOTDIR);
      return;
    }
  struct policy_path pp;
  policy_path_at (&pp, p, name);
  int r = policy_lookup (&pp);
  audit_lookup (req, &pp, r);
  struct node *n = NULL;
  if (r == 0)
    {
      r = real_lookup (p, name, &n, &st);
      /* Hidden by its inode (a hidden hard link, a secret by content):
         logged when the name exists. */
      if (r == -ENOENT && visibility_checks_inodes (p->view))
        audit_lookup (req, &pp, r);
    }
  if (r == -ENOENT)
    reply_negative (req, p);
  else if (r < 0)
    fuse_reply_err (req, -r);
  else
    reply_entry (req, n, &st);
}

static void
op_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  policy_begin (POLICY_LOOKUP);
  do_lookup (req, parent, name);
  policy_end ();
}

static void
op_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  node_forget (N (ino), nlookup);
  fuse_reply_none (req);
}

static void
op_forget_multi (fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
  for (size_t i = 0; i < count; i++)
    node_forget (N (forgets[i].ino), forgets[i].nlookup);
  fuse_reply_none (req);
  /* The kernel forgets in large batches when it drops its caches: give the
     freed nodes back to the system so the daemon shrinks too. */
  if (count >= 256)
    malloc_trim (0);
}

static void
op_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct node *n = N (ino);
  struct stat st;
  int r = 0;
  if (n->kind != NODE_REAL)
    synth_attr (n, &st);
  else if (fi && fi->fh && n->mode && S_ISREG (n->mode))
    {
      if (fstat ((int) fi->fh, &st) < 0)
        r = -errno;
      else
        map_owner (&st);
    }
  else
    r = real_stat (n, &st);
  if (r < 0)
    fuse_reply_err (req, -r);
  else
    fuse_reply_attr (req, &st, attr_timeout (n));
}

/* Is N somewhere the agent may change? 0, or -EROFS. */
int
writable (struct node *n)
{
  if (n->kind != NODE_REAL || !n->view->writable)
    return -EROFS;
  return 0;
}

static void
op_statfs (fuse_req_t req, fuse_ino_t ino)
{
  struct node *n = N (ino);
  int fd = n->kind == NODE_REAL ? n->view->root_fd : cagefs.workspace.root_fd;
  struct statvfs sv;
  if (fstatvfs (fd, &sv) < 0)
    fuse_reply_err (req, errno);
  else
    fuse_reply_statfs (req, &sv);
}

/* access(2) reaches the daemon only from the immutable store session (the
   root tree's sessions have default_permissions: the kernel decides).
   W_OK: EROFS where the agent may not change anything; R_OK and X_OK by
   the mode bits against the caller's ids (the owner's bits, the group's,
   or the others'; root may read anything and run what has an x bit). */
static void
op_access (fuse_req_t req, fuse_ino_t ino, int mask)
{
  struct node *n = N (ino);
  if ((mask & W_OK) && writable (n) < 0)
    {
      fuse_reply_err (req, EROFS);
      return;
    }
  struct stat st;
  if (n->kind == NODE_REAL)
    {
      int fd = node_fd_get (n);
      if (fd < 0)
        {
          fuse_reply_err (req, -fd);
          return;
        }
      int r = fstatat (fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
      int e = errno;
      node_fd_put (n);
      if (r < 0)
        {
          fuse_reply_err (req, e);
          return;
        }
    }
  else
    synth_attr (n, &st);
  const struct fuse_ctx *ctx = fuse_req_ctx (req);
  mode_t bits = st.st_mode;
  if (ctx->uid == 0)
    {
      bool x_ok = S_ISDIR (st.st_mode) || (bits & (S_IXUSR | S_IXGRP | S_IXOTH));
      fuse_reply_err (req, (mask & X_OK) && !x_ok ? EACCES : 0);
      return;
    }
  int shift = ctx->uid == st.st_uid ? 6 : ctx->gid == st.st_gid ? 3 : 0;
  int have = (int) (bits >> shift) & 7;
  fuse_reply_err (req, (mask & (R_OK | W_OK | X_OK) & ~have) ? EACCES : 0);
}

const struct fuse_lowlevel_ops cagefs_ops = {
  .init = op_init,
  .lookup = op_lookup,
  .forget = op_forget,
  .forget_multi = op_forget_multi,
  .getattr = op_getattr,
  .setattr = op_setattr,
  .readlink = op_readlink,
  .mknod = op_mknod,
  .mkdir = op_mkdir,
  .symlink = op_symlink,
  .link = op_link,
  .unlink = op_unlink,
  .rmdir = op_rmdir,
  .rename = op_rename,
  .open = op_open,
  .create = op_create,
  .read = op_read,
  .write_buf = op_write_buf,
  .flush = op_flush,
  .release = op_release,
  .fsync = op_fsync,
  .opendir = op_opendir,
  .readdir = op_readdir,
  .readdirplus = op_readdirplus,
  .releasedir = op_releasedir,
  .fsyncdir = op_fsyncdir,
  .statfs = op_statfs,
  .getxattr = op_getxattr,
  .listxattr = op_listxattr,
  .setxattr = op_setxattr,
  .removexattr = op_removexattr,
  .fallocate = op_fallocate,
  .lseek = op_lseek,
  .copy_file_range = op_copy_file_range,
  .access = op_access,
};
