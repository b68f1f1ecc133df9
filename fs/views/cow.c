/* cow.c - the cow workspace view in the daemon (see cow.h): its layers,
   lookups, copy-up, markers, removals and renames; the merged listings are
   cow_dirs.c. */
#include "cow.h"
#include "fdcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "cow_impl.h"
#include "cow_layer.h"
#include "safe_open.h"

int cow_upper_fd = -1, cow_lower_fd = -1;
static struct view *cow_view;
static pthread_mutex_t cow_lock = PTHREAD_MUTEX_INITIALIZER;

int
cow_init (struct view *view, const char *lower, const char *upper, struct cage_error *err)
{
  cow_lower_fd = open (lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cow_lower_fd < 0)
    return cage_error_set (err, errno, "open view root `%s`", lower);
  int fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cage_error_set (err, errno, "open the cow layer `%s`", upper);
  struct stat st;
  if (fstat (cow_lower_fd, &st) < 0)
    return cage_error_set (err, errno, "stat `%s`", lower);
  /* The layer's root shows as the project's root. */
  struct timespec ts[2] = { st.st_atim, st.st_mtim };
  if (fchmod (fd, st.st_mode & 07777) < 0 || futimens (fd, ts) < 0)
    return cage_error_set (err, errno, "set the mode of `%s`", upper);
  view->root_fd = open (upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
  close (fd);
  if (view->root_fd < 0)
    return cage_error_set (err, errno, "open the cow layer `%s`", upper);
  view->cow = true;
  cow_upper_fd = view->root_fd;
  cow_view = view;
  return 0;
}

void
cow_review_lock (void)
{
  pthread_mutex_lock (&cow_lock);
}

void
cow_review_unlock (void)
{
  pthread_mutex_unlock (&cow_lock);
}

void
cow_fini (void)
{
  if (cow_lower_fd >= 0)
    close (cow_lower_fd);
  cow_lower_fd = -1;
}

/* ---- paths ----------------------------------------------------------- */

/* Open REL ("" for the root) beneath ROOT. */
int
cow_at (int root, const char *rel, int flags)
{
  if (!rel[0])
    return openat (root, ".", flags | O_CLOEXEC);
  return safe_openat (root, rel, flags);
}

static int
lstat_at (int root, const char *rel, struct stat *st)
{
  int fd = cow_at (root, rel, O_PATH);
  if (fd < 0)
    return -1;
  int r = fstatat (fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  int e = errno;
  close (fd);
  errno = e;
  return r;
}

/* Split REL into its parent (in PARENT) and last component. */
static const char *
split (const char *rel, char *parent, size_t size)
{
  const char *slash = strrchr (rel, '/');
  if (!slash)
    {
      parent[0] = '\0';
      return rel;
    }
  snprintf (parent, size, "%.*s", (int) (slash - rel), rel);
  return slash + 1;
}

static int
join (char *buf, size_t size, const char *dir, const char *name)
{
  int n = dir[0] ? snprintf (buf, size, "%s/%s", dir, name) : snprintf (buf, size, "%s", name);
  return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* Is the project's REL hidden from the merged view by a whiteout or an
   opaque folder in the upper layer on its way? */
bool
cow_lower_hidden (const char *rel)
{
  char prefix[4096];
  size_t len = 0;
  const char *p = rel;
  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t clen = slash ? (size_t) (slash - p) : strlen (p);
      char comp[256];
      if (clen >= sizeof comp)
        return true;
      memcpy (comp, p, clen);
      comp[clen] = '\0';
      prefix[len] = '\0';
      autoclose int dfd = cow_at (cow_upper_fd, prefix, O_PATH | O_DIRECTORY);
      if (dfd < 0)
        return false; /* no upper folder: nothing below it is marked */
      if (cow_has_marker (dfd, COW_OPAQUE, NULL) || cow_has_marker (dfd, COW_WH, comp))
        return true;
      if (!slash)
        return false;
      if (len + clen + 2 > sizeof prefix)
        return true;
      if (len)
        prefix[len++] = '/';
      memcpy (prefix + len, comp, clen);
      len += clen;
      p = slash + 1;
    }
}

/* The project's REL when it is visible in the merged view. */
static bool
lower_visible (const char *rel, struct stat *st)
{
  return lstat_at (cow_lower_fd, rel, st) == 0 && !cow_lower_hidden (rel);
}

int
cow_resolve (const char *rel)
{
  int fd = cow_at (cow_upper_fd, rel, O_PATH);
  if (fd >= 0 || (errno != ENOENT && errno != ENOTDIR))
    return fd;
  if (cow_lower_hidden (rel))
    {
      errno = ENOENT;
      return -1;
    }
  return cow_at (cow_lower_fd, rel, O_PATH);
}

bool
cow_name_reserved (const struct node *parent, const char *name)
{
  return parent && parent->view && parent->view->cow && cow_reserved (name);
}

int
cow_lookup (struct node *parent, const char *name)
{
  char prel[4096], rel[4096];
  if (cow_reserved (name))
    {
      errno = ENOENT;
      return -1;
    }
  int r = node_relpath (parent, prel, sizeof prel);
  if (r < 0 || join (rel, sizeof rel, prel, name) < 0)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  int fd = cow_at (cow_upper_fd, rel, O_PATH);
  if (fd >= 0 || (errno != ENOENT && errno != ENOTDIR))
    return fd;
  autoclose int dfd = cow_at (cow_upper_fd, prel, O_PATH | O_DIRECTORY);
  if (dfd >= 0 && (cow_has_marker (dfd, COW_OPAQUE, NULL) || cow_has_marker (dfd, COW_WH, name)))
    {
      errno = ENOENT;
      return -1;
    }
  return cow_at (cow_lower_fd, rel, O_PATH);
}

/* ---- copy-up ------------------------------------------------------------ */



/* The upper node now has ST: re-key the node that had LOWER's key. */
static void
rekey (const struct stat *lower, int dirfd, const char *name)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    node_rekey_key (cow_view, lower->st_dev, lower->st_ino, &st);
}

/* Give the folder REL (visible, a folder in the project) its upper copy,
   and its parents theirs.  0 or -errno. */
static int
upper_mkdirs (const char *rel)
{
  struct stat st;
  if (!rel[0] || (lstat_at (cow_upper_fd, rel, &st) == 0 && S_ISDIR (st.st_mode)))
    return 0;
  char parent[4096];
  const char *name = split (rel, parent, sizeof parent);
  int r = upper_mkdirs (parent);
  if (r < 0)
    return r;
  struct stat lst;
  if (lstat_at (cow_lower_fd, rel, &lst) < 0)
    return -errno;
  if (!S_ISDIR (lst.st_mode))
    return -ENOTDIR;
  autoclose int pfd = cow_at (cow_upper_fd, parent, O_PATH | O_DIRECTORY);
  if (pfd < 0)
    return -errno;
  if (mkdirat (pfd, name, lst.st_mode & 07777) < 0 && errno != EEXIST)
    return -errno;
  struct timespec ts[2] = { lst.st_atim, lst.st_mtim };
  if (utimensat (pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  rekey (&lst, pfd, name);
  return 0;
}

/* Copy the visible project entry REL up (a folder: only the folder).
   0 (also when it is up already) or -errno. */
static int
copy_up (const char *rel)
{
  struct stat st;
  if (lstat_at (cow_upper_fd, rel, &st) == 0)
    return 0;
  struct stat lst;
  if (lstat_at (cow_lower_fd, rel, &lst) < 0)
    return -errno;
  if (S_ISDIR (lst.st_mode))
    return upper_mkdirs (rel);
  char parent[4096], origin[300];
  const char *name = split (rel, parent, sizeof parent);
  int r = upper_mkdirs (parent);
  if (r < 0)
    return r;
  if ((r = cow_marker (origin, sizeof origin, COW_ORIGIN, name)) < 0)
    return r;
  autoclose int pfd = cow_at (cow_upper_fd, parent, O_PATH | O_DIRECTORY);
  if (pfd < 0)
    return -errno;
  struct timespec ts[2] = { lst.st_atim, lst.st_mtim };
  if (S_ISREG (lst.st_mode))
    {
      autoclose int in = cow_at (cow_lower_fd, rel, O_RDONLY);
      if (in < 0)
        return -errno;
      autoclose int dfd = openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      autoclose int out = dfd < 0 ? -1 : openat (dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
      if (out < 0)
        return -errno;
      if ((r = fdcopy_data (in, out)) < 0)
        return r;
      fdcopy_xattrs (in, out, true); /* best effort */
      if (fchmod (out, lst.st_mode & 07777 & ~(mode_t) S_ISUID) < 0 || futimens (out, ts) < 0)
        return -errno;
      char p[64];
      snprintf (p, sizeof p, "/proc/self/fd/%d", out);
      if (linkat (AT_FDCWD, p, pfd, name, AT_SYMLINK_FOLLOW) < 0)
        return -errno;
    }
  else if (S_ISLNK (lst.st_mode))
    {
      char target[PATH_MAX + 1];
      autoclose int lfd = cow_at (cow_lower_fd, rel, O_PATH);
      ssize_t len = lfd < 0 ? -1 : readlinkat (lfd, "", target, sizeof target - 1);
      if (len < 0)
        return -errno;
      target[len] = '\0';
      if (symlinkat (target, pfd, name) < 0)
        return -errno;
      if (utimensat (pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    }
  else if (S_ISFIFO (lst.st_mode))
    {
      if (mknodat (pfd, name, S_IFIFO | (lst.st_mode & 0777), 0) < 0)
        return -errno;
    }
  else
    return -EPERM;
  if ((r = cow_record_write (pfd, origin, &lst, rel)) < 0)
    {
      unlinkat (pfd, name, 0);
      return r;
    }
  rekey (&lst, pfd, name);
  return 0;
}

/* Copy the visible folder REL up with everything visible below it. */
static int
copy_up_tree (const char *rel)
{
  int r = copy_up (rel);
  if (r < 0)
    return r;
  struct entries e = { 0 };
  r = cow_merged_list (rel, &e);
  for (size_t i = 0; r == 0 && i < e.n; i++)
    {
      char child[4096];
      if ((r = join (child, sizeof child, rel, e.v[i].name)) < 0)
        break;
      struct stat st;
      if (lstat_at (cow_upper_fd, child, &st) < 0 && lstat_at (cow_lower_fd, child, &st) < 0)
        continue; /* gone meanwhile */
      r = S_ISDIR (st.st_mode) ? copy_up_tree (child) : copy_up (child);
    }
  cow_entries_free (&e);
  return r;
}

int
cow_prepare_dir (struct node *dir)
{
  if (dir->kind != NODE_REAL || !dir->view->cow)
    return 0;
  char rel[4096];
  int r = node_relpath (dir, rel, sizeof rel);
  if (r < 0)
    return r;
  pthread_mutex_lock (&cow_lock);
  r = upper_mkdirs (rel);
  pthread_mutex_unlock (&cow_lock);
  return r;
}

int
cow_copyup (struct node *n)
{
  if (n->kind != NODE_REAL || !n->view->cow || !n->parent)
    return 0;
  char rel[4096];
  int r = node_relpath (n, rel, sizeof rel);
  if (r < 0)
    return r;
  struct stat st;
  if (lstat_at (cow_upper_fd, rel, &st) == 0)
    return 0;
  pthread_mutex_lock (&cow_lock);
  r = copy_up (rel);
  pthread_mutex_unlock (&cow_lock);
  return r < 0 ? r : 1;
}

bool
cow_in_lower (struct node *n)
{
  if (n->kind != NODE_REAL || !n->view->cow || !n->parent)
    return false;
  char rel[4096];
  struct stat st;
  return node_relpath (n, rel, sizeof rel) >= 0 && lstat_at (cow_upper_fd, rel, &st) < 0;
}

/* ---- markers ------------------------------------------------------------- */

/* Remove the markers (whiteouts, opaque) in the upper folder DIRFD. */
static int
clear_markers (int dirfd)
{
  struct entries e = { 0 }, wh = { 0 };
  bool opaque = false;
  int r = cow_read_dir (dirfd, &e, &wh, &opaque);
  for (size_t i = 0; r == 0 && i < wh.n; i++)
    {
      char m[300];
      if (cow_marker (m, sizeof m, COW_WH, wh.v[i].name) == 0 && unlinkat (dirfd, m, 0) < 0
          && errno != ENOENT)
        r = -errno;
    }
  if (r == 0 && opaque && unlinkat (dirfd, COW_OPAQUE, 0) < 0 && errno != ENOENT)
    r = -errno;
  cow_entries_free (&e);
  cow_entries_free (&wh);
  return r;
}

static int
mark_opaque (int dirfd)
{
  int fd = openat (dirfd, COW_OPAQUE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  close (fd);
  return 0;
}

/* The upper folder REL and every folder below it replace the project's:
   opaque, and their whiteouts are moot. */
static int
make_opaque_tree (const char *rel)
{
  autoclose int dfd = cow_at (cow_upper_fd, rel, O_PATH | O_DIRECTORY);
  if (dfd < 0)
    return -errno;
  int r = clear_markers (dfd);
  if (r == 0)
    r = mark_opaque (dfd);
  struct entries e = { 0 };
  if (r == 0)
    r = cow_read_dir (dfd, &e, NULL, NULL);
  for (size_t i = 0; r == 0 && i < e.n; i++)
    if (e.v[i].type == DT_DIR)
      {
        char child[4096];
        if ((r = join (child, sizeof child, rel, e.v[i].name)) == 0)
          r = make_opaque_tree (child);
      }
  cow_entries_free (&e);
  return r;
}

/* Whiteout NAME in the upper folder PFD: a deleted project entry whose
   host state was LST. */
static int
whiteout (int pfd, const char *name, const struct stat *lst)
{
  char m[300];
  int r = cow_marker (m, sizeof m, COW_WH, name);
  if (r < 0)
    return r;
  return cow_record_write (pfd, m, lst, NULL);
}

void
cow_created (struct node *parent, const char *name)
{
  if (parent->kind != NODE_REAL || !parent->view->cow)
    return;
  char prel[4096], rel[4096];
  if (node_relpath (parent, prel, sizeof prel) < 0 || join (rel, sizeof rel, prel, name) < 0)
    return;
  pthread_mutex_lock (&cow_lock);
  autoclose int pfd = cow_at (cow_upper_fd, prel, O_PATH | O_DIRECTORY);
  char m[300], om[300];
  struct stat st;
  if (pfd >= 0 && cow_marker (m, sizeof m, COW_WH, name) == 0
      && cow_marker (om, sizeof om, COW_ORIGIN, name) == 0
      && fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      struct cow_record wrec;
      bool had_rec = cow_record_read (pfd, m, &wrec) == 0;
      bool was_deleted = unlinkat (pfd, m, 0) == 0;
      bool parent_opaque = cow_has_marker (pfd, COW_OPAQUE, NULL);
      if (S_ISDIR (st.st_mode) && (was_deleted || parent_opaque))
        {
          autoclose int dfd = openat (pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (dfd < 0 || mark_opaque (dfd) < 0)
            fprintf (stderr, "cagefs: cow: mark `%s` opaque: %s\n", rel, strerror (errno));
        }
      else if (!S_ISDIR (st.st_mode) && !cow_has_marker (pfd, COW_ORIGIN, name))
        {
          /* For accept's check: the host file it replaces as the agent
             saw it, or that the host had none. */
          struct stat hs;
          memset (&hs, 0, sizeof hs);
          int r = 0;
          if (was_deleted && had_rec)
            {
              hs.st_ino = wrec.ino;
              hs.st_mtim = wrec.mtime;
              hs.st_size = wrec.size;
              r = cow_record_write (pfd, om, &hs, rel);
            }
          else if (!was_deleted && !parent_opaque && lstat_at (cow_lower_fd, rel, &hs) < 0)
            {
              memset (&hs, 0, sizeof hs);
              r = cow_record_write (pfd, om, &hs, "");
            }
          if (r < 0)
            fprintf (stderr, "cagefs: cow: record `%s`: %s\n", rel, strerror (-r));
        }
    }
  pthread_mutex_unlock (&cow_lock);
}

/* The state of the merged entry REL. */
struct merged
{
  bool upper, lower;         /* exists in the upper layer / visible below */
  struct stat ust, lst;
  const struct stat *st;     /* the one the agent sees */
};

static int
merged_stat (const char *rel, struct merged *m)
{
  memset (m, 0, sizeof *m);
  m->upper = lstat_at (cow_upper_fd, rel, &m->ust) == 0;
  m->lower = lower_visible (rel, &m->lst);
  /* An upper entry shadows the project's, but the project's stays visible
     "below" only when no upper entry is there: used for whiteouts. */
  m->st = m->upper ? &m->ust : m->lower ? &m->lst : NULL;
  return m->st ? 0 : -ENOENT;
}

static int
merged_empty (const char *rel)
{
  struct entries e = { 0 };
  int r = cow_merged_list (rel, &e);
  if (r == 0 && e.n > 0)
    r = -ENOTEMPTY;
  cow_entries_free (&e);
  return r;
}

/* What the host entry REL was when the agent first saw it: its origin
   record when it was copied up from REL, else its state now. */
static void
host_record (int upfd, const char *name, const char *rel, const struct stat *lst, struct stat *out)
{
  *out = *lst;
  char origin[300];
  struct cow_record rec;
  if (upfd >= 0 && cow_marker (origin, sizeof origin, COW_ORIGIN, name) == 0
      && cow_record_read (upfd, origin, &rec) == 0 && strcmp (rec.path, rel) == 0)
    {
      out->st_ino = rec.ino;
      out->st_mtim = rec.mtime;
      out->st_size = rec.size;
    }
}

/* Remove the upper entry NAME of PFD (a folder: its markers first) and
   its origin record. */
static int
remove_upper (int pfd, const char *name, bool is_dir)
{
  if (is_dir)
    {
      autoclose int dfd = openat (pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd < 0)
        return -errno;
      int r = clear_markers (dfd);
      if (r < 0)
        return r;
    }
  if (unlinkat (pfd, name, is_dir ? AT_REMOVEDIR : 0) < 0)
    return -errno;
  char origin[300];
  if (!is_dir && cow_marker (origin, sizeof origin, COW_ORIGIN, name) == 0)
    unlinkat (pfd, origin, 0);
  return 0;
}

static int
do_remove (const char *prel, const char *name, int flags)
{
  char rel[4096];
  int r = join (rel, sizeof rel, prel, name);
  struct merged m;
  if (r == 0)
    r = merged_stat (rel, &m);
  if (r < 0)
    return r;
  bool is_dir = S_ISDIR (m.st->st_mode);
  if ((flags & AT_REMOVEDIR) && !is_dir)
    return -ENOTDIR;
  if (!(flags & AT_REMOVEDIR) && is_dir)
    return -EISDIR;
  if (is_dir && (r = merged_empty (rel)) < 0)
    return r;
  if (m.lower && (r = upper_mkdirs (prel)) < 0)
    return r;
  autoclose int pfd = cow_at (cow_upper_fd, prel, O_PATH | O_DIRECTORY);
  if (pfd < 0 && (m.upper || m.lower))
    return -errno;
  if (m.lower)
    {
      struct stat rec;
      host_record (pfd, name, rel, &m.lst, &rec);
      if ((r = whiteout (pfd, name, &rec)) < 0)
        return r;
    }
  if (m.upper)
    return remove_upper (pfd, name, S_ISDIR (m.ust.st_mode));
  return 0;
}

int
cow_remove (struct node *parent, const char *name, int flags)
{
  char prel[4096];
  int r = node_relpath (parent, prel, sizeof prel);
  if (r >= 0 && cow_reserved (name))
    r = -ENOENT;
  if (r >= 0)
    {
      pthread_mutex_lock (&cow_lock);
      r = do_remove (prel, name, flags);
      pthread_mutex_unlock (&cow_lock);
    }
  if (r < 0)
    {
      errno = -r;
      return -1;
    }
  return 0;
}

static int
do_rename (const char *sprel, const char *name, const char *dprel, const char *newname,
           unsigned flags, struct stat *moved)
{
  char srel[4096], drel[4096];
  int r = join (srel, sizeof srel, sprel, name);
  if (r == 0)
    r = join (drel, sizeof drel, dprel, newname);
  if (r < 0)
    return r;
  if (flags & ~(unsigned) RENAME_NOREPLACE)
    return -EINVAL;
  struct merged s, d;
  if ((r = merged_stat (srel, &s)) < 0)
    return r;
  bool src_dir = S_ISDIR (s.st->st_mode);
  bool have_dst = merged_stat (drel, &d) == 0;
  *moved = *s.st;
  if (strcmp (srel, drel) == 0)
    return 0;
  if (have_dst)
    {
      if (flags & RENAME_NOREPLACE)
        return -EEXIST;
      bool dst_dir = S_ISDIR (d.st->st_mode);
      if (src_dir && !dst_dir)
        return -ENOTDIR;
      if (!src_dir && dst_dir)
        return -EISDIR;
      if (dst_dir && (r = merged_empty (drel)) < 0)
        return r;
    }
  /* Everything that moves goes to the upper layer first. */
  if ((r = src_dir ? copy_up_tree (srel) : copy_up (srel)) < 0)
    return r;
  if ((r = upper_mkdirs (dprel)) < 0)
    return r;
  autoclose int spfd = cow_at (cow_upper_fd, sprel, O_PATH | O_DIRECTORY);
  autoclose int dpfd = cow_at (cow_upper_fd, dprel, O_PATH | O_DIRECTORY);
  if (spfd < 0 || dpfd < 0)
    return -errno;
  struct stat dst_up;
  if (have_dst && fstatat (dpfd, newname, &dst_up, AT_SYMLINK_NOFOLLOW) == 0
      && S_ISDIR (dst_up.st_mode))
    {
      autoclose int ddfd = openat (dpfd, newname, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (ddfd < 0 || (r = clear_markers (ddfd)) < 0)
        return ddfd < 0 ? -errno : r;
    }
  struct stat lrec, drec;
  if (s.lower)
    host_record (spfd, name, srel, &s.lst, &lrec);
  /* A file renamed over a host file replaces it: accept checks that host
     file, as the agent saw it. */
  bool dst_lower = have_dst && d.lower && !src_dir;
  if (dst_lower)
    host_record (dpfd, newname, drel, &d.lst, &drec);
  char so[300], dso[300], dwh[300];
  if ((r = cow_marker (so, sizeof so, COW_ORIGIN, name)) < 0
      || (r = cow_marker (dso, sizeof dso, COW_ORIGIN, newname)) < 0)
    return r;
  struct cow_record srec;
  bool src_rec = cow_record_read (spfd, so, &srec) == 0;
  bool src_new = src_rec && srec.ino == 0 && !srec.path[0];
  if (fstatat (spfd, name, moved, AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  /* The whiteout first: the old name never shows the host's file again,
     even for a moment (the upper entry hides it until it moves). */
  if (s.lower && (r = whiteout (spfd, name, &lrec)) < 0)
    return r;
  if (renameat (spfd, name, dpfd, newname) < 0)
    {
      int e = errno;
      char swh[300];
      if (s.lower && cow_marker (swh, sizeof swh, COW_WH, name) == 0)
        unlinkat (spfd, swh, 0);
      return -e;
    }
  if (src_rec && !(src_new && dst_lower))
    renameat (spfd, so, dpfd, dso); /* where it came from goes along */
  else
    {
      unlinkat (spfd, so, 0);
      if (dst_lower)
        r = cow_record_write (dpfd, dso, &drec, drel);
      else
        unlinkat (dpfd, dso, 0);
      if (r < 0)
        return r;
    }
  if (cow_marker (dwh, sizeof dwh, COW_WH, newname) == 0)
    unlinkat (dpfd, dwh, 0);
  if (src_dir)
    return make_opaque_tree (drel);
  return 0;
}

int
cow_rename (struct node *p, const char *name, struct node *np, const char *newname,
            unsigned flags)
{
  char sprel[4096], dprel[4096];
  int r = node_relpath (p, sprel, sizeof sprel);
  if (r >= 0)
    r = node_relpath (np, dprel, sizeof dprel);
  if (r >= 0 && (cow_reserved (name) || cow_reserved (newname)))
    r = -ENOENT;
  struct stat moved;
  if (r >= 0)
    {
      pthread_mutex_lock (&cow_lock);
      r = do_rename (sprel, name, dprel, newname, flags, &moved);
      pthread_mutex_unlock (&cow_lock);
    }
  if (r < 0)
    {
      errno = -r;
      return -1;
    }
  node_moved (p->view, moved.st_dev, moved.st_ino, np, newname);
  return 0;
}
