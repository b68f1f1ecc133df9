/* review.c - the work of `cagefs accept` and `cagefs discard` on the cow
   view's upper layer (review.h): run by the CLI on an unmounted project
   (fs/cli/cmd_accept.c) and by the daemon on a mounted one (control.c).

   accept writes each file as a temporary file next to the host's and
   renames it over (atomic per file); it refuses a file whose host copy
   changed since the agent first saw it (the inode, mtime and size recorded
   at copy-up or deletion; a new file: the host has none) and applies
   nothing of that file.  The layer is hostile input: no symlink of the
   layer or of the project is followed, only markers the daemon wrote
   count, and no change to a protected or hidden path, or to what git would
   run, is applied.  What is applied or dropped leaves the upper layer;
   folders that no longer differ are pruned. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blacklist.h"
#include "cleanup.h"
#include "control.h"
#include "config.h"
#include "fdcopy.h"
#include "agent_repos.h"
#include "git_guard.h"
#include "cow_changes.h"
#include "lock.h"
#include "log.h"
#include "resolve.h"
#include "review.h"
#include "review_guard.h"
#include "rmtree.h"
#include "safe_open.h"
#include "state.h"
#include "term_escape.h"

static int
at (int root, const char *rel, int flags)
{
  if (!rel[0])
    return openat (root, ".", flags | O_CLOEXEC);
  return safe_openat (root, rel, flags);
}

static const char *
split (const char *rel, char *parent, size_t size)
{
  const char *slash = strrchr (rel, '/');
  snprintf (parent, size, "%.*s", slash ? (int) (slash - rel) : 0, rel);
  return slash ? slash + 1 : rel;
}

/* The daemon's hooks while it runs a review (one at a time: its control
   thread), else NULL. */
static const struct review_hooks *hooks;

static bool
hook_busy (const struct stat *ust)
{
  return hooks && hooks->busy && hooks->busy (hooks->ctx, ust);
}

static void
hook_gone (const char *rel, const struct stat *ust)
{
  if (hooks && hooks->gone)
    hooks->gone (hooks->ctx, rel, ust);
}

static void
hook_touched (const char *rel)
{
  if (hooks && hooks->touched && rel)
    hooks->touched (hooks->ctx, rel);
}

/* Remove NAME's markers of kind PREFIX in the upper folder of REL's parent. */
static void
drop_marker (int upper, const char *rel, const char *prefix)
{
  char parent[4096], m[300];
  const char *name = split (rel, parent, sizeof parent);
  autoclose int pfd = at (upper, parent, O_PATH | O_DIRECTORY);
  if (pfd >= 0 && cow_marker (m, sizeof m, prefix, name) == 0)
    unlinkat (pfd, m, 0);
}

/* rmtree_at's hook: REL left the layer; the daemon hears of it unless it
   was a marker. */
static void
tree_gone (void *ctx, const char *rel, const struct stat *st)
{
  const char *slash = strrchr (rel, '/');
  if (!cow_reserved (slash ? slash + 1 : rel))
    hook_gone (rel, st);
}

/* rm -r of the upper entry NAME in PFD (markers included), PARENT the
   path of PFD in the layer ("" for its root; for the daemon's hooks).
   0 or -errno, errno set. */
static int
remove_tree (int pfd, const char *parent, const char *name)
{
  struct stat st;
  if (fstat (pfd, &st) < 0)
    return -errno;
  struct cage_error e = { 0 };
  if (rmtree_at (pfd, parent, name, st.st_dev, 0, &(struct rmtree_hook){ tree_gone, NULL },
                 &e) < 0)
    {
      errno = e.errnum;
      return -e.errnum;
    }
  return 0;
}

/* Drop the upper entry REL and its origin record. */
static int
drop_upper (int upper, const char *rel)
{
  char parent[4096];
  const char *name = split (rel, parent, sizeof parent);
  autoclose int pfd = at (upper, parent, O_PATH | O_DIRECTORY);
  if (pfd < 0)
    return errno == ENOENT ? 0 : -errno;
  int r = remove_tree (pfd, parent, name);
  char m[300];
  if (cow_marker (m, sizeof m, COW_ORIGIN, name) == 0)
    unlinkat (pfd, m, 0);
  return r;
}

/* Is REL below an opaque upper folder? */
static bool
under_opaque (int upper, const char *rel)
{
  char prefix[4096];
  snprintf (prefix, sizeof prefix, "%s", rel);
  for (char *slash = strrchr (prefix, '/'); slash; slash = strrchr (prefix, '/'))
    {
      *slash = '\0';
      autoclose int fd = at (upper, prefix, O_PATH | O_DIRECTORY);
      if (fd >= 0 && cow_has_marker (fd, COW_OPAQUE, NULL))
        return true;
    }
  return false;
}

/* Same data and mode as the host's NAME? */
static bool
same_as_host (int ufd, int lfd, const char *name)
{
  struct stat us, ls;
  if (fstatat (ufd, name, &us, AT_SYMLINK_NOFOLLOW) < 0 || fstatat (lfd, name, &ls, AT_SYMLINK_NOFOLLOW) < 0
      || !S_ISREG (us.st_mode) || !S_ISREG (ls.st_mode) || us.st_mode != ls.st_mode
      || us.st_size != ls.st_size)
    return false;
  autoclose int a = openat (ufd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  autoclose int b = openat (lfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  char ba[65536], bb[65536];
  for (;;)
    {
      if (a < 0 || b < 0)
        return false;
      ssize_t na = read (a, ba, sizeof ba), nb = read (b, bb, sizeof bb);
      if (na < 0 || na != nb || memcmp (ba, bb, (size_t) na) != 0)
        return false;
      if (na == 0)
        return true;
    }
}

/* Drop the opaque markers of the upper folders below REL that SEL covers
   whole, unless a change below them was refused. */
static void
unmark_opaque (int upper, const char *rel, char **sel, char **refused, size_t n_refused)
{
  autoclose int fd = at (upper, rel, O_RDONLY | O_DIRECTORY);
  autoclosedir DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d)
    return;
  fd = -1;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      char child[4096];
      snprintf (child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
      if (de->d_type == DT_DIR && !cow_reserved (de->d_name))
        unmark_opaque (upper, child, sel, refused, n_refused);
      else if (rel[0] && strcmp (de->d_name, COW_OPAQUE) == 0 && cow_selected (rel, sel))
        {
          bool blocked = false;
          char *one[] = { (char *) rel, NULL };
          for (size_t i = 0; i < n_refused && !blocked; i++)
            blocked = cow_selected (refused[i], one);
          if (!blocked)
            unlinkat (dirfd (d), COW_OPAQUE, 0);
        }
    }
}

/* Remove upper folders that no longer differ from the project's: empty,
   no markers that matter, same mode.  Bottom-up below REL. */
static void
prune (int upper, int lower, const char *rel)
{
  autoclose int ufd = at (upper, rel, O_RDONLY | O_DIRECTORY);
  if (ufd < 0)
    return;
  autoclosedir DIR *d = fdopendir (ufd);
  if (!d)
    return;
  ufd = -1;
  /* (up to 512 sub-folders a folder are pruned; more stay, harmlessly) */
  autofree char (*names)[256] = calloc (512, sizeof *names);
  if (!names)
    return;
  size_t n = 0;
  bool busy = false, opaque = cow_has_marker (dirfd (d), COW_OPAQUE, NULL);
  autoclose int lfd0 = at (lower, rel, O_PATH | O_DIRECTORY);
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      char om[300] = "";
      struct cow_record rec;
      char path[4096];
      snprintf (path, sizeof path, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
      struct stat fst;
      if (!opaque && lfd0 >= 0 && de->d_type == DT_REG && !cow_reserved (de->d_name)
          && same_as_host (dirfd (d), lfd0, de->d_name)
          && (cow_marker (om, sizeof om, COW_ORIGIN, de->d_name) < 0
              || cow_record_read (dirfd (d), om, &rec) < 0 || strcmp (rec.path, path) == 0)
          && fstatat (dirfd (d), de->d_name, &fst, AT_SYMLINK_NOFOLLOW) == 0)
        {
          /* accepted inside a folder that was opaque then, or unchanged;
             one open in the cage stays (it shows no change) */
          if (hook_busy (&fst))
            {
              busy = true;
              continue;
            }
          if (unlinkat (dirfd (d), de->d_name, 0) == 0)
            hook_gone (path, &fst);
          if (om[0])
            unlinkat (dirfd (d), om, 0);
          continue;
        }
      if (strcmp (de->d_name, COW_OPAQUE) == 0)
        ;
      else if (de->d_type == DT_DIR && !cow_reserved (de->d_name) && n < 512)
        snprintf (names[n++], sizeof *names, "%s", de->d_name);
      else
        busy = true;
    }
  for (size_t i = 0; i < n; i++)
    {
      char child[4096];
      snprintf (child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
      prune (upper, lower, child);
    }
  if (!rel[0] || busy)
    return;
  rewinddir (d);
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0
        && strcmp (de->d_name, COW_OPAQUE) != 0)
      return; /* a sub-folder stayed */
  struct stat us, ls;
  autoclose int lfd = at (lower, rel, O_PATH | O_DIRECTORY);
  if (lfd < 0 || fstatat (dirfd (d), "", &us, AT_EMPTY_PATH) < 0
      || fstatat (lfd, "", &ls, AT_EMPTY_PATH) < 0 || (us.st_mode & 07777) != (ls.st_mode & 07777))
    return;
  if (opaque)
    {
      /* It hides the host's entries: only when there are none left. */
      autoclose int lrd = openat (lfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      autoclosedir DIR *ld = lrd >= 0 ? fdopendir (lrd) : NULL;
      if (!ld)
        return;
      lrd = -1;
      while ((de = readdir (ld)))
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          return;
      unlinkat (dirfd (d), COW_OPAQUE, 0);
    }
  char parent[4096];
  const char *name = split (rel, parent, sizeof parent);
  autoclose int pfd = at (upper, parent, O_PATH | O_DIRECTORY);
  if (pfd >= 0 && unlinkat (pfd, name, AT_REMOVEDIR) == 0)
    hook_gone (rel, &us);
}

/* Does a daemon serve the layer? */
bool
review_mounted (const struct project_paths *pp)
{
  struct cage_state cur;
  bool mounted = false;
  if (state_read (pp->state_json, &cur, NULL) == 0)
    {
      mounted = state_daemon_alive (&cur);
      state_free (&cur);
    }
  return mounted || state_is_fuse_mount (pp->mnt);
}

/* ---- accept --------------------------------------------------------------- */

/* The modes accept gives what the agent made: no set-uid bit, and no
   set-gid bit on a file (the daemon makes neither; a layer that has them
   is not one it wrote). */
static mode_t
dir_mode (mode_t m)
{
  return m & 07777 & ~(mode_t) S_ISUID;
}

static mode_t
file_mode (mode_t m)
{
  return m & 01777;
}

/* chmod NAME in PFD, never through a symlink (EOPNOTSUPP for one). */
static int
chmod_nofollow (int pfd, const char *name, mode_t mode)
{
  return fchmodat (pfd, name, mode, AT_SYMLINK_NOFOLLOW);
}

/* Make the host folders on the way to REL, with the upper folders' modes.
   Each one beneath the one before, without following a symlink: a symlink
   (or a file) where a folder is needed is an error. */
static int
host_mkdirs (int upper, int lower, const char *rel, struct cage_error *err)
{
  char parent[4096];
  const char *name = split (rel, parent, sizeof parent);
  if (!rel[0])
    return 0;
  if (host_mkdirs (upper, lower, parent, err) < 0)
    return -1;
  autoclose int pfd = at (lower, parent, O_PATH | O_DIRECTORY);
  if (pfd < 0)
    return cage_error_set (err, errno, "open the project folder `%s` (a symlink on the way is "
                           "never followed)", parent[0] ? parent : ".");
  struct stat st;
  if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (S_ISDIR (st.st_mode))
        return 0;
      /* A symlink (or a file) where the agent's folder goes: never
         followed, never replaced on the agent's say-so. */
      return cage_error_set (err, ENOTDIR, "`%s` in the project is a %s, not a folder; nothing "
                             "below it is applied (remove it on the host, then accept again)",
                             rel, S_ISLNK (st.st_mode) ? "symlink" : "file");
    }
  if (errno != ENOENT)
    return cage_error_set (err, errno, "`%s` in the project", rel);
  struct stat us;
  autoclose int ufd = at (upper, rel, O_PATH | O_DIRECTORY);
  mode_t mode = ufd >= 0 && fstatat (ufd, "", &us, AT_EMPTY_PATH) == 0 ? dir_mode (us.st_mode) : 0755;
  if (mkdirat (pfd, name, mode) < 0)
    return cage_error_set (err, errno, "make folder `%s`", rel);
  if (chmod_nofollow (pfd, name, mode) < 0)
    return cage_error_set (err, errno, "chmod folder `%s`", rel);
  return 0;
}


/* Write the upper entry REL (file or symlink) over the host's: a temporary
   file next to it, renamed over it. */
static int
write_host (int upper, int lower, const char *rel, struct cage_error *err)
{
  char parent[4096];
  const char *name = split (rel, parent, sizeof parent);
  if (host_mkdirs (upper, lower, parent, err) < 0)
    return -1;
  autoclose int pfd = at (lower, parent, O_PATH | O_DIRECTORY);
  autoclose int upfd = at (upper, parent, O_PATH | O_DIRECTORY);
  if (pfd < 0 || upfd < 0)
    return cage_error_set (err, errno, "open the folder of `%s`", rel);
  struct stat us, hs;
  if (fstatat (upfd, name, &us, AT_SYMLINK_NOFOLLOW) < 0)
    return cage_error_set (err, errno, "`%s` in the cow layer", rel);
  bool have_host = fstatat (pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0;
  char tmp[64];
  snprintf (tmp, sizeof tmp, ".cagefs-accept-%d", (int) getpid ());
  unlinkat (pfd, tmp, 0);
  if (S_ISLNK (us.st_mode))
    {
      char target[PATH_MAX + 1];
      ssize_t n = readlinkat (upfd, name, target, sizeof target - 1);
      if (n < 0)
        return cage_error_set (err, errno, "read the link `%s`", rel);
      target[n] = '\0';
      if (symlinkat (target, pfd, tmp) < 0)
        return cage_error_set (err, errno, "write `%s/%s`", parent, tmp);
    }
  else if (S_ISREG (us.st_mode))
    {
      autoclose int in = openat (upfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (in < 0)
        return cage_error_set (err, errno, "open `%s` in the cow layer", rel);
      autoclose int out = openat (pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0)
        return cage_error_set (err, errno, "create `%s%s%s`", parent, parent[0] ? "/" : "", tmp);
      struct timespec ts[2] = { us.st_atim, us.st_mtim };
      if (fdcopy_data (in, out) < 0 || fchmod (out, file_mode (us.st_mode)) < 0
          || (have_host && geteuid () == 0 && fchown (out, hs.st_uid, hs.st_gid) < 0)
          || futimens (out, ts) < 0 || fsync (out) < 0)
        {
          int e = errno;
          unlinkat (pfd, tmp, 0);
          return cage_error_set (err, e, "write `%s`", rel);
        }
    }
  else
    return cage_error_set (err, EPERM, "`%s`: only files and symlinks can be accepted", rel);
  if (renameat (pfd, tmp, pfd, name) < 0)
    {
      int e = errno;
      unlinkat (pfd, tmp, 0);
      return cage_error_set (err, e, "rename `%s` over `%s`", tmp, rel);
    }
  return 0;
}

/* Is the host's REL as the agent first saw it?  NULL when so, else why not. */
static const char *
conflict (int lower, const struct cow_change *ch, const char *rel)
{
  struct stat hs;
  autoclose int fd = at (lower, rel, O_PATH);
  bool have = fd >= 0 && fstatat (fd, "", &hs, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
  switch (ch->kind)
    {
    case COW_CREATED:
      if (have && !S_ISDIR (ch->mode))
        return "the host has created it since";
      return NULL;
    case COW_MODIFIED:
    case COW_RENAMED:
    case COW_DELETED:
      if (S_ISDIR (ch->mode) && ch->kind != COW_RENAMED)
        return NULL;
      if (!have)
        return ch->kind == COW_DELETED ? NULL : "the host has deleted it since";
      if (ch->have_rec)
        return cow_record_matches (&ch->rec, &hs) ? NULL : "the host file changed since the agent first saw it";
      if (ch->since.tv_sec && (hs.st_ctim.tv_sec > ch->since.tv_sec
                               || (hs.st_ctim.tv_sec == ch->since.tv_sec
                                   && hs.st_ctim.tv_nsec > ch->since.tv_nsec)))
        return "the host file changed since the agent deleted it";
      return NULL;
    }
  return NULL;
}

/* Print an error for people: the agent's names in it escaped. */
void
review_print_error (const char *msg, FILE *f)
{
  fputs ("cagefs: error: ", f);
  term_fputs (msg, 0, f);
  fputc ('\n', f);
}

void
review_print_json (json_t *j, FILE *f)
{
  char *s = j ? json_dumps (j, JSON_COMPACT) : NULL;
  if (s)
    fprintf (f, "%s\n", s);
  free (s);
  json_decref (j);
  fflush (f);
}

/* After accepting REL: drop its upper copy, or, while the cage has it
   open (the daemon's busy hook), keep it with an origin record of the
   host's new version: the same data, so diff shows nothing, and the
   agent's next write through its open fd shows as a change to that
   version (and an accept of it passes the conflict check). */
static int
settle_upper (int up, int low, const char *rel, struct cage_error *err)
{
  char parent[4096], om[300];
  const char *name = split (rel, parent, sizeof parent);
  struct stat us, hs;
  autoclose int upfd = at (up, parent, O_PATH | O_DIRECTORY);
  autoclose int lpfd = at (low, parent, O_PATH | O_DIRECTORY);
  if (upfd >= 0 && lpfd >= 0 && fstatat (upfd, name, &us, AT_SYMLINK_NOFOLLOW) == 0
      && S_ISREG (us.st_mode) && hook_busy (&us))
    {
      if (fstatat (lpfd, name, &hs, AT_SYMLINK_NOFOLLOW) < 0)
        return cage_error_set (err, errno, "`%s` in the project, just accepted", rel);
      int r = cow_marker (om, sizeof om, COW_ORIGIN, name);
      if (r == 0)
        r = cow_record_write (upfd, om, &hs, rel);
      if (r < 0)
        return cage_error_set (err, -r, "record `%s` as accepted in the cow layer", rel);
      return 0;
    }
  int r = drop_upper (up, rel);
  return r < 0 ? cage_error_set (err, -r, "drop `%s` from the cow layer", rel) : 0;
}

static int
accept_one (struct cow_changes *cs, const struct cow_change *ch, struct cage_error *err)
{
  int up = cs->upper_fd, low = cs->lower_fd;
  switch (ch->kind)
    {
    case COW_DELETED:
      {
        char parent[4096];
        const char *name = split (ch->path, parent, sizeof parent);
        autoclose int pfd = at (low, parent, O_PATH | O_DIRECTORY);
        if (pfd < 0 && errno != ENOENT)
          return cage_error_set (err, errno, "delete `%s`: its project folder (a symlink on "
                                 "the way is never followed)", ch->path);
        if (pfd >= 0 && unlinkat (pfd, name, S_ISDIR (ch->mode) ? AT_REMOVEDIR : 0) < 0
            && errno != ENOENT)
          return cage_error_set (err, errno, "delete `%s`", ch->path);
        if (ch->own_marker)
          drop_marker (up, ch->path, COW_WH);
        return 0;
      }
    case COW_CREATED:
    case COW_MODIFIED:
      if (S_ISDIR (ch->mode))
        {
          if (host_mkdirs (up, low, ch->path, err) < 0)
            return -1;
          char parent[4096];
          const char *name = split (ch->path, parent, sizeof parent);
          autoclose int pfd = at (low, parent, O_PATH | O_DIRECTORY);
          if (pfd < 0 || chmod_nofollow (pfd, name, dir_mode (ch->mode)) < 0)
            return cage_error_set (err, errno, "chmod `%s`", ch->path);
          return 0;
        }
      if (write_host (up, low, ch->path, err) < 0)
        return -1;
      if (under_opaque (up, ch->path))
        {
          /* The agent's copy stays while its opaque folder hides the
             host's; pruned once it no longer does. */
          drop_marker (up, ch->path, COW_ORIGIN);
          return 0;
        }
      return settle_upper (up, low, ch->path, err);
    case COW_RENAMED:
      {
        if (write_host (up, low, ch->path, err) < 0)
          return -1;
        char parent[4096];
        const char *name = split (ch->from, parent, sizeof parent);
        autoclose int pfd = at (low, parent, O_PATH | O_DIRECTORY);
        if (pfd < 0 && errno != ENOENT)
          return cage_error_set (err, errno, "delete `%s` (renamed to `%s`): its project folder",
                                 ch->from, ch->path);
        if (pfd >= 0 && unlinkat (pfd, name, 0) < 0 && errno != ENOENT)
          return cage_error_set (err, errno, "delete `%s` (renamed to `%s`)", ch->from, ch->path);
        drop_marker (up, ch->from, COW_WH);
        if (under_opaque (up, ch->path))
          {
            drop_marker (up, ch->path, COW_ORIGIN);
            return 0;
          }
        return settle_upper (up, low, ch->path, err);
      }
    }
  return 0;
}

static int
discard_one (struct cow_changes *cs, const struct cow_change *ch, char **sel,
             struct cage_error *err)
{
  int up = cs->upper_fd;
  switch (ch->kind)
    {
    case COW_CREATED:
      return drop_upper (up, ch->path) < 0 ? cage_error_set (err, errno, "drop `%s`", ch->path) : 0;
    case COW_MODIFIED:
      if (S_ISDIR (ch->mode))
        {
          autoclose int fd = at (up, ch->path, O_RDONLY | O_DIRECTORY);
          if (fd < 0 || fchmod (fd, ch->old_mode & 07777) < 0)
            return cage_error_set (err, errno, "restore the mode of `%s`", ch->path);
          return 0;
        }
      return drop_upper (up, ch->path) < 0 ? cage_error_set (err, errno, "drop `%s`", ch->path) : 0;
    case COW_RENAMED:
      drop_marker (up, ch->from, COW_WH);
      return drop_upper (up, ch->path) < 0 ? cage_error_set (err, errno, "drop `%s`", ch->path) : 0;
    case COW_DELETED:
      if (ch->own_marker)
        {
          drop_marker (up, ch->path, COW_WH);
          return 0;
        }
      /* Deleted with a folder above it: restored with that folder. */
      {
        char parent[4096];
        split (ch->path, parent, sizeof parent);
        if (parent[0] && cow_selected (parent, sel))
          return 0;
        return cage_error_set (err, 0, "`%s` went with its folder `%s` (deleted or replaced by "
                               "the agent); discard `%s` to restore it", ch->path, parent, parent);
      }
    }
  return 0;
}

int
review_run (const struct project_paths *pp, enum review what, char **sel, bool json, FILE *out,
            FILE *errf, const struct review_hooks *h)
{
  const char *cmd = what == REVIEW_ACCEPT ? "accept" : "discard";
  struct cow_changes cs = { .upper_fd = -1, .lower_fd = -1 };
  int rc = 1;
  struct cage_error err = { 0 };
  hooks = h;
  json_t *done = json_array (), *refused = json_array ();
  struct review_guard guard = { 0 };
  const char **why_guarded = NULL, **what_guarded = NULL;
  if (cow_normalise_paths (sel, pp->project, &err) < 0 || cow_changes_collect (pp, &cs, &err) < 0
      || (what == REVIEW_ACCEPT && review_guard_load (pp, &guard, &err) < 0))
    goto out;
  if (what == REVIEW_ACCEPT)
    {
      why_guarded = calloc (cs.n + 1, sizeof *why_guarded);
      what_guarded = calloc (cs.n + 1, sizeof *what_guarded);
      if (!why_guarded || !what_guarded)
        {
          cage_error_set (&err, ENOMEM, "%s", cmd);
          goto out;
        }
      review_guard_changes (&guard, &cs, why_guarded, what_guarded);
    }
  /* Each PATH must name a change. */
  for (char **s = sel; *s; s++)
    {
      char *one[] = { *s, NULL };
      bool any = false;
      for (size_t i = 0; i < cs.n && !any; i++)
        any = cow_selected (cs.v[i].path, one) || (cs.v[i].from && cow_selected (cs.v[i].from, one));
      if (!any)
        {
          cage_error_set (&err, ENOENT, "%s: no change at `%s` (see cagefs diff %s --stat)", cmd,
                          *s, pp->project);
          goto out;
        }
    }
  if (what == REVIEW_DISCARD && !sel[0] && cs.upper_fd >= 0)
    {
      /* everything: empty the layer */
      autoclose int ufd = openat (cs.upper_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      autoclosedir DIR *d = ufd >= 0 ? fdopendir (ufd) : NULL;
      if (!d)
        {
          cage_error_set (&err, errno, "read the cow layer `%s`", pp->cow_upper);
          goto out;
        }
      ufd = -1;
      struct dirent *de;
      while ((de = readdir (d)))
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          {
            int r = remove_tree (dirfd (d), "", de->d_name);
            if (r < 0)
              {
                cage_error_set (&err, -r, "remove `%s/%s`", pp->cow_upper, de->d_name);
                goto out;
              }
          }
      for (size_t i = 0; i < cs.n; i++)
        {
          json_array_append_new (done, json_string (cs.v[i].path));
          hook_touched (cs.v[i].path);
        }
    }
  else
    {
      int failures = 0;
      char **failed = calloc (cs.n + 1, sizeof (char *));
      if (!failed)
        {
          cage_error_set (&err, ENOMEM, "%s", cmd);
          goto out;
        }
      /* Renames first (their old names go), deletions deepest first, then
         the rest in path order (folders before what goes in them). */
      for (int pass = 0; pass < 3; pass++)
        for (size_t k = 0; k < cs.n; k++)
          {
            size_t i = pass == 1 ? cs.n - 1 - k : k;
            const struct cow_change *ch = &cs.v[i];
            int want = ch->kind == COW_RENAMED ? 0 : ch->kind == COW_DELETED ? 1 : 2;
            if (want != pass)
              continue;
            if (!cow_selected (ch->path, sel) && !(ch->from && cow_selected (ch->from, sel)))
              continue;
            struct cage_error one = { 0 };
            const char *why = NULL, *reason = "error";
            if (what == REVIEW_ACCEPT && why_guarded[i])
              {
                /* The daemon would have refused it: never applied. */
                reason = why_guarded[i];
                cage_error_set (&one, 0, "accept: refused: %s is %s; nothing of it applied (the "
                                "agent may not change it; cagefs discard %s %s drops it)",
                                what_guarded[i], why_guarded[i], pp->project, ch->path);
                goto refuse;
              }
            if (what == REVIEW_ACCEPT)
              why = conflict (cs.lower_fd, ch, ch->kind == COW_RENAMED ? ch->from : ch->path);
            if (why)
              reason = "conflict";
            if (why)
              cage_error_set (&one, 0, "accept: `%s`: %s; nothing of it applied (cagefs diff %s %s "
                              "shows the agent's version; discard it or edit the host file)",
                              ch->kind == COW_RENAMED ? ch->from : ch->path, why, pp->project, ch->path);
            else if ((what == REVIEW_ACCEPT ? accept_one (&cs, ch, &one) : discard_one (&cs, ch, sel, &one)) == 0)
              {
                json_array_append_new (done, json_string (ch->path));
                hook_touched (ch->path);
                hook_touched (ch->from);
                if (!json)
                  {
                    fputs (what == REVIEW_ACCEPT ? "accepted " : "discarded ", out);
                    term_fputs (ch->path, 0, out);
                    fputc ('\n', out);
                  }
                continue;
              }
            else if (!strstr (one.msg, ch->path))
              cage_error_prefix (&one, "%s `%s`", cmd, ch->path);
          refuse:
            failed[failures++] = ch->path;
            json_array_append_new (refused, json_pack ("{s:s, s:s, s:s}", "path", ch->path, "error",
                                                       one.msg, "reason", reason));
            if (!json)
              review_print_error (one.msg, errf);
          }
      if (what == REVIEW_ACCEPT)
        unmark_opaque (cs.upper_fd, "", sel, failed, (size_t) failures);
      free (failed);
      if (failures)
        {
          prune (cs.upper_fd, cs.lower_fd, "");
          if (json)
            review_print_json (json_pack ("{s:s, s:O, s:O}", "project", pp->project, what == REVIEW_ACCEPT ? "accepted" : "discarded",
                                     done, "refused", refused), out);
          rc = 1;
          err.msg[0] = '\0';
          goto quiet;
        }
    }
  if (cs.upper_fd >= 0)
    prune (cs.upper_fd, cs.lower_fd, "");
  if (json)
    review_print_json (json_pack ("{s:s, s:O, s:O}", "project", pp->project,
                           what == REVIEW_ACCEPT ? "accepted" : "discarded", done, "refused", refused),
                out);
  rc = 0;
out:
  if (rc != 0 && json)
    review_print_json (json_pack ("{s:s, s:i}", "error", err.msg, "errno", err.errnum), out);
  if (rc != 0)
    review_print_error (err.msg, errf);
quiet:
  free (why_guarded);
  free (what_guarded);
  review_guard_free (&guard);
  json_decref (done);
  json_decref (refused);
  cow_changes_free (&cs);
  hooks = NULL;
  fflush (out);
  fflush (errf);
  return rc;
}
