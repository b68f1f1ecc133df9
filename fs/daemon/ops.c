/* ops.c - the FUSE low-level operations over synthetic and real nodes.
   Every real operation is an *at() call on an fd resolved beneath the
   view's root; symlinks are returned as links and never followed here. */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

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
#include "daemon.h"
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

/* Each session (the root tree, the store) has its own root node
   as userdata; every other node id is the node's address. */
static struct node *
N_ (fuse_req_t req, fuse_ino_t ino)
{
  return ino == FUSE_ROOT_ID ? (struct node *) fuse_req_userdata (req)
                             : (struct node *) (uintptr_t) ino;
}

static fuse_ino_t
ID_ (fuse_req_t req, struct node *n)
{
  return n == fuse_req_userdata (req) ? FUSE_ROOT_ID : (fuse_ino_t) (uintptr_t) n;
}

#define N(ino) N_ (req, (ino))
#define ID(n) ID_ (req, (n))

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

static bool
store_no_open (fuse_req_t req, const struct node *n)
{
  return n->kind == NODE_REAL && immutable_session (req);
}

/* The fd to read N through: FI's, or (no_open) a fresh one in *TMP. */
static int
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

static void
procpath (char *buf, size_t size, int fd)
{
  snprintf (buf, size, "/proc/self/fd/%d", fd);
}

/* ---- attributes ---------------------------------------------------- */

static void
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
static void
map_owner (struct stat *st)
{
  if (st->st_uid == cagefs.host_uid)
    st->st_uid = cagefs.cage_uid;
  if (st->st_gid == cagefs.host_gid)
    st->st_gid = cagefs.cage_gid;
}

/* How long the kernel may cache N's attributes and its entry: long where
   a watch reports host edits of it (host_watch.h), else the view's. */
static double
attr_timeout (const struct node *n)
{
  if (n->kind != NODE_REAL)
    return SYNTH_TIMEOUT;
  return host_watch_covers (n) ? HOST_WATCH_TIMEOUT : n->view->attr_timeout;
}

static double
entry_timeout (const struct node *n)
{
  if (n->kind != NODE_REAL)
    return SYNTH_TIMEOUT;
  return host_watch_covers (n) ? HOST_WATCH_TIMEOUT : n->view->entry_timeout;
}

/* May the kernel keep N's cached pages when it is opened again? */
static bool
keep_cache (const struct node *n)
{
  return n->view->keep_cache || host_watch_covers (n);
}

static int
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

static void
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
static int
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
static int
writable (struct node *n)
{
  if (n->kind != NODE_REAL || !n->view->writable)
    return -EROFS;
  return 0;
}

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

static void
op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
            struct fuse_file_info *fi)
{
  policy_begin (POLICY_SETATTR);
  do_setattr (req, ino, attr, to_set, fi);
  policy_end ();
}

static void
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

static void
op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
  policy_begin (POLICY_MKNOD);
  make_entry (req, parent, name, mode, rdev, NULL);
  policy_end ();
}

static void
op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
  policy_begin (POLICY_MKDIR);
  make_entry (req, parent, name, S_IFDIR | mode, 0, NULL);
  policy_end ();
}

static void
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

static void
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

static void
op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  policy_begin (POLICY_UNLINK);
  remove_entry (req, parent, name, 0);
  policy_end ();
}

static void
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

static void
op_rename (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
           const char *newname, unsigned int flags)
{
  policy_begin (POLICY_RENAME);
  do_rename (req, parent, name, newparent, newname, flags);
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
static void
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

static void
op_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
           struct fuse_file_info *fi)
{
  policy_begin (POLICY_CREATE);
  do_create (req, parent, name, mode, fi);
  policy_end ();
}

static void
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

static void
op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
              struct fuse_file_info *fi)
{
  policy_begin (POLICY_WRITE);
  do_write_buf (req, ino, in_buf, off, fi);
  policy_end ();
}

static void
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

static void
op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  if (N (ino)->kind == NODE_REAL && (fi->fh || !store_no_open (req, N (ino))))
    close ((int) fi->fh);
  fuse_reply_err (req, 0);
}

static void
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

/* ---- directories ----------------------------------------------------- */

struct dir_handle
{
  DIR *dp;
  struct cow_dir *cow;       /* a cow view's merged listing (dp NULL) */
  struct dirent *entry;
  off_t offset;
};

static void
op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct node *n = N (ino);
  if (n->kind == NODE_DIR)
    {
      fi->fh = 0;
      fi->cache_readdir = 1;
      fi->keep_cache = 1;
      fuse_reply_open (req, fi);
      return;
    }
  if (n->kind != NODE_REAL)
    {
      fuse_reply_err (req, ENOTDIR);
      return;
    }
  if (store_no_open (req, n))
    {
      /* The kernel stops sending OPENDIR/RELEASEDIR for this session and
         caches the listings (FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE, its
         default for no_opendir); a READDIR then carries fh 0. */
      fuse_reply_err (req, ENOSYS);
      return;
    }
  if (n->view->cow)
    {
      struct dir_handle *d = calloc (1, sizeof *d);
      if (!d || !(d->cow = cow_opendir (n)))
        {
          int e = d ? errno : ENOMEM;
          free (d);
          fuse_reply_err (req, e);
          return;
        }
      fi->fh = (uint64_t) (uintptr_t) d;
      fuse_reply_open (req, fi);
      return;
    }
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      fuse_reply_err (req, -fd);
      return;
    }
  int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int e = errno;
  node_fd_put (n);
  if (dfd < 0)
    {
      fuse_reply_err (req, e);
      return;
    }
  struct dir_handle *d = calloc (1, sizeof *d);
  if (!d || !(d->dp = fdopendir (dfd)))
    {
      e = d ? errno : ENOMEM;
      free (d);
      close (dfd);
      fuse_reply_err (req, e);
      return;
    }
  fi->fh = (uint64_t) (uintptr_t) d;
  if (n->view->keep_cache || host_watch_lists (n))
    {
      fi->cache_readdir = 1;
      fi->keep_cache = 1;
    }
  fuse_reply_open (req, fi);
}

static void
fill_entry (fuse_req_t req, struct fuse_entry_param *e, struct node *n, const struct stat *st)
{
  memset (e, 0, sizeof *e);
  e->ino = ID (n);
  e->attr = *st;
  e->attr_timeout = attr_timeout (n);
  e->entry_timeout = entry_timeout (n);
}

/* One entry for readdir or readdirplus.  With PLUS and a node C, C's
   lookup count was raised: it is dropped again when the entry does not fit.
   Returns false when the buffer is full.  */
static bool
add_entry (fuse_req_t req, bool plus, char *buf, size_t size, size_t *pos, const char *name,
           ino_t ino, mode_t type, struct node *c, const struct stat *cst, off_t next)
{
  size_t len;
  if (plus)
    {
      struct fuse_entry_param e;
      if (c)
        fill_entry (req, &e, c, cst);
      else
        {
          memset (&e, 0, sizeof e);
          e.attr.st_ino = ino;
          e.attr.st_mode = type;
        }
      len = fuse_add_direntry_plus (req, buf + *pos, size - *pos, name, &e, next);
    }
  else
    {
      struct stat st;
      memset (&st, 0, sizeof st);
      st.st_ino = ino;
      st.st_mode = type;
      len = fuse_add_direntry (req, buf + *pos, size - *pos, name, &st, next);
    }
  if (len > size - *pos)
    {
      if (c)
        node_forget (c, 1);
      return false;
    }
  *pos += len;
  return true;
}

/* Plain readdir: may the entry NAME (of type TYPE) of the folder DFD of DIR
   be listed, as far as its inode goes?  (readdirplus decides that in
   real_lookup.)  What cannot be stat'ed is listed and left to the lookup. */
static bool
entry_inode_visible (struct node *dir, int dfd, const char *name, unsigned char type)
{
  if (!visibility_checks_inodes (dir->view) || (type != DT_REG && type != DT_UNKNOWN))
    return true;
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno != ENOENT;
  return visibility_check_inode (dir->view, dfd, name, &st) == 0;
}

static void
do_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
            bool plus)
{
  struct node *n = N (ino);
  char *buf = calloc (1, size);
  if (!buf)
    {
      fuse_reply_err (req, ENOMEM);
      return;
    }
  size_t pos = 0;
  if (n->kind == NODE_DIR)
    {
      /* offsets: 1 ".", 2 "..", 3.. children */
      for (off_t i = off; i < (off_t) n->n_children + 2; i++)
        {
          bool ok;
          if (i == 0)
            ok = add_entry (req, plus, buf, size, &pos, ".", n->ino, S_IFDIR, NULL, NULL, 1);
          else if (i == 1)
            ok = add_entry (req, plus, buf, size, &pos, "..", 1, S_IFDIR, NULL, NULL, 2);
          else
            {
              struct node *c = n->children[i - 2];
              struct stat cst;
              bool have = false;
              if (plus)
                {
                  if (c->kind == NODE_REAL)
                    have = real_stat (c, &cst) == 0;
                  else
                    {
                      synth_attr (c, &cst);
                      have = true;
                    }
                  if (have)
                    node_ref (c);
                }
              mode_t m = c->kind == NODE_REAL ? S_IFDIR : (c->mode & S_IFMT);
              ok = add_entry (req, plus, buf, size, &pos, c->name,
                              c->kind == NODE_REAL ? c->real_ino : c->ino, m, have ? c : NULL,
                              have ? &cst : NULL, i + 1);
            }
          if (!ok)
            break;
        }
      fuse_reply_buf (req, buf, pos);
      free (buf);
      return;
    }

  struct dir_handle *d = (struct dir_handle *) (uintptr_t) fi->fh;
  struct dir_handle once = { 0 }; /* no_opendir (store session): this request's */
  if (!d && store_no_open (req, n))
    {
      int fd = node_fd_get (n);
      int dfd = fd < 0 ? -1 : openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int e = fd < 0 ? -fd : errno;
      if (fd >= 0)
        node_fd_put (n);
      if (dfd < 0 || !(once.dp = fdopendir (dfd)))
        {
          e = dfd < 0 ? e : errno;
          if (dfd >= 0)
            close (dfd);
          free (buf);
          fuse_reply_err (req, e);
          return;
        }
      d = &once;
    }
  if (off != d->offset)
    {
      if (d->cow)
        cow_seekdir (d->cow, off);
      else
        seekdir (d->dp, off);
      d->entry = NULL;
      d->offset = off;
    }
  /* the folder's path once; each entry's name appended to it */
  struct policy_path pp;
  policy_path_at (&pp, n, "");
  int err = 0;
  for (;;)
    {
      if (!d->entry)
        {
          errno = 0;
          d->entry = d->cow ? cow_readdir (d->cow) : readdir (d->dp);
          if (!d->entry)
            {
              err = errno;
              break;
            }
        }
      const char *name = d->entry->d_name;
      off_t next = d->entry->d_off;
      bool dot = strcmp (name, ".") == 0 || strcmp (name, "..") == 0;
      bool show = dot;
      if (!dot)
        {
          policy_path_name (&pp, name);
          show = policy_lookup (&pp) == 0;
        }
      struct node *c = NULL;
      struct stat cst;
      if (show && !dot && plus)
        {
          int r = real_lookup (n, name, &c, &cst);
          if (r < 0)
            c = NULL; /* list it without attributes */
          if (r == -ENOENT)
            show = false; /* hidden by another of its names, or gone */
        }
      else if (show && !dot)
        show = entry_inode_visible (n, dirfd (d->dp), name, d->entry->d_type);
      if (show && !add_entry (req, plus, buf, size, &pos, name, d->entry->d_ino,
                              (mode_t) DTTOIF (d->entry->d_type), c, c ? &cst : NULL, next))
        break;
      d->entry = NULL;
      d->offset = next;
    }
  if (err && pos == 0)
    fuse_reply_err (req, err);
  else
    fuse_reply_buf (req, buf, pos);
  free (buf);
  if (once.dp)
    closedir (once.dp);
}

static void
op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  policy_begin (POLICY_READDIR);
  do_readdir (req, ino, size, off, fi, false);
  policy_end ();
}

static void
op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi)
{
  policy_begin (POLICY_READDIR);
  do_readdir (req, ino, size, off, fi, true);
  policy_end ();
}

static void
op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct dir_handle *d = (struct dir_handle *) (uintptr_t) fi->fh;
  if (d)
    {
      if (d->dp)
        closedir (d->dp);
      cow_closedir (d->cow);
      free (d);
    }
  fuse_reply_err (req, 0);
}

static void
op_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  struct dir_handle *d = (struct dir_handle *) (uintptr_t) fi->fh;
  int res = 0;
  if (d && d->dp)
    res = datasync ? fdatasync (dirfd (d->dp)) : fsync (dirfd (d->dp));
  fuse_reply_err (req, res < 0 ? errno : 0);
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

/* ---- extended attributes, fallocate, lseek ----------------------------- */

/* Only the user.* namespace passes: security.capability, trusted.* and
   friends set by a daemon that may run as root would grant powers on the
   host.  */
static bool
xattr_allowed (const char *name)
{
  return strncmp (name, "user.", 5) == 0;
}

static void
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

static void
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

static void
op_setxattr (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
             int flags)
{
  change_xattr (req, ino, name, value, size, flags, false);
}

static void
op_removexattr (fuse_req_t req, fuse_ino_t ino, const char *name)
{
  change_xattr (req, ino, name, NULL, 0, 0, true);
}

static void
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
static void
op_copy_file_range (fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                    struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                    struct fuse_file_info *fi_out, size_t len, int flags)
{
  struct node *out = N (ino_out);
  int r = writable (out);
  audit_node (req, "copy_file_range", out, r);
  fuse_reply_err (req, r < 0 ? -r : ENOSYS);
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

static void
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
