/* policy.c - one policy gate (see policy.h). */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_repos.h"
#include "cow.h"
#include "tree.h"
#include "git_guard.h"
#include "tracked.h"
#include "visibility.h"

/* ---- building paths ------------------------------------------------ */

/* What policy_path_finish decides once node_lock is released. */
struct repo_key
{
  bool found;
  dev_t dev;
  ino_t ino;
};

static void
count_lock (void)
{
  if (node_path_locks)
    atomic_fetch_add (node_path_locks, 1);
}

/* Locked: DIR's part of PP (DIR NULL: none). */
static void
dir_locked (struct policy_path *pp, struct node *dir, struct repo_key *key)
{
  pp->dir = dir;
  pp->node = NULL;
  pp->view = dir ? dir->view : NULL;
  pp->real = dir && dir->kind == NODE_REAL;
  pp->top = dir && dir->parent == NULL;
  pp->agent_repo = false;
  pp->err = pp->dir_err = 0;
  pp->name = "";
  pp->dir_len = 0;
  pp->dir_name[0] = pp->own_name[0] = pp->rel[0] = '\0';
  key->found = false;
  if (!pp->real)
    return;
  int r = node_relpath_locked (dir, pp->rel, sizeof pp->rel);
  if (r < 0)
    {
      pp->dir_err = r;
      pp->rel[0] = '\0';
    }
  else
    pp->dir_len = (size_t) r;
  if (dir->parent && dir->name)
    snprintf (pp->dir_name, sizeof pp->dir_name, "%s", dir->name);
  /* The nearest folder named ".git" at or above DIR: the protected
     patterns do not cover a repository the agent made. */
  if (pp->view == &cagefs.workspace && cagefs.protect.n)
    for (struct node *n = dir; n && n->parent; n = n->parent)
      if (n->name && strcmp (n->name, ".git") == 0)
        {
          key->found = true;
          key->dev = n->dev;
          key->ino = n->real_ino;
          break;
        }
}

/* Locked: the node N's part of PP. */
static void
node_locked (struct policy_path *pp, struct node *n, struct repo_key *key)
{
  bool child = n->kind == NODE_REAL && n->parent;
  dir_locked (pp, child ? n->parent : NULL, key);
  pp->node = n;
  if (child)
    snprintf (pp->own_name, sizeof pp->own_name, "%s", n->name ? n->name : "");
  else
    {
      pp->real = n->kind == NODE_REAL;
      pp->view = n->view;
    }
}

/* Unlocked: what needs other locks. */
static void
finish (struct policy_path *pp, const struct repo_key *key)
{
  pp->agent_repo = key->found && agent_repos_has (key->dev, key->ino);
}

void
policy_path_name (struct policy_path *pp, const char *name)
{
  pp->name = name;
  pp->err = pp->dir_err;
  if (!pp->real || pp->dir_err || !pp->dir)
    return;
  size_t l = strlen (name), at = pp->dir_len;
  if (at + l + 2 > sizeof pp->rel)
    {
      pp->err = -ENAMETOOLONG;
      pp->rel[at] = '\0';
      return;
    }
  if (at)
    pp->rel[at++] = '/';
  memcpy (pp->rel + at, name, l + 1);
}

void
policy_path_at (struct policy_path *pp, struct node *parent, const char *name)
{
  struct repo_key key;
  if (parent->kind == NODE_REAL)
    {
      count_lock ();
      pthread_mutex_lock (&node_lock);
      dir_locked (pp, parent, &key);
      pthread_mutex_unlock (&node_lock);
    }
  else
    dir_locked (pp, parent, &key);
  finish (pp, &key);
  policy_path_name (pp, name);
}

void
policy_path_node (struct policy_path *pp, struct node *n)
{
  struct repo_key key;
  if (n->kind == NODE_REAL)
    {
      count_lock ();
      pthread_mutex_lock (&node_lock);
      node_locked (pp, n, &key);
      pthread_mutex_unlock (&node_lock);
    }
  else
    node_locked (pp, n, &key);
  finish (pp, &key);
  policy_path_name (pp, pp->own_name);
}

void
policy_path_pair (struct policy_path *from, struct node *p, const char *name,
                  struct policy_path *to, struct node *np, const char *newname)
{
  struct repo_key k1, k2;
  count_lock ();
  pthread_mutex_lock (&node_lock);
  dir_locked (from, p, &k1);
  dir_locked (to, np, &k2);
  pthread_mutex_unlock (&node_lock);
  finish (from, &k1);
  finish (to, &k2);
  policy_path_name (from, name);
  policy_path_name (to, newname);
}

void
policy_path_link (struct policy_path *src, struct node *n, struct policy_path *dst,
                  struct node *np, const char *newname)
{
  struct repo_key k1, k2;
  count_lock ();
  pthread_mutex_lock (&node_lock);
  node_locked (src, n, &k1);
  dir_locked (dst, np, &k2);
  pthread_mutex_unlock (&node_lock);
  finish (src, &k1);
  finish (dst, &k2);
  policy_path_name (src, src->own_name);
  policy_path_name (dst, newname);
}

/* ---- verdicts ------------------------------------------------------ */

/* Is N somewhere the agent may change? 0, or -EROFS. */
static int
writable (const struct node *n)
{
  if (!n || n->kind != NODE_REAL || !n->view->writable)
    return -EROFS;
  return 0;
}

/* Is PP an existing file hidden by another of its names?  The kernel was
   told it does not exist, so a create, link or rename may come for it: it
   must be neither opened, truncated nor replaced. */
static bool
existing_hidden (const struct policy_path *pp)
{
  struct node *parent = pp->dir;
  if (!visibility_checks_inodes (parent->view))
    return false;
  int pfd = node_fd_get (parent);
  if (pfd < 0)
    return false; /* the operation itself fails on it */
  struct stat st;
  bool hidden = fstatat (pfd, pp->name, &st, AT_SYMLINK_NOFOLLOW) == 0
                && visibility_check_inode (parent->view, pfd, pp->name, &st) < 0;
  node_fd_put (parent);
  return hidden;
}

int
policy_lookup (const struct policy_path *pp)
{
  return visibility_check_path (pp);
}

int
policy_write (const struct policy_path *pp)
{
  int r = writable (pp->node);
  if (r == 0 && visibility_protected_path (pp))
    r = -EACCES;
  return r;
}

int
policy_new_name (const struct policy_path *pp)
{
  int r = writable (pp->dir);
  if (r < 0)
    return r;
  if (visibility_check_path (pp) < 0 || visibility_protected_path (pp) || existing_hidden (pp)
      || cow_name_reserved (pp->dir, pp->name))
    return -EACCES;
  return 0;
}

int
policy_make (const struct policy_path *pp, mode_t *mode, char *why)
{
  int r = policy_new_name (pp);
  if (r == 0 && !S_ISLNK (*mode) && !S_ISDIR (*mode) && !S_ISREG (*mode) && !S_ISFIFO (*mode)
      && !S_ISSOCK (*mode))
    r = -EPERM; /* no device nodes */
  if (r == 0)
    r = git_guard_new (pp, mode, why);
  return r;
}

int
policy_link (const struct policy_path *src, const struct policy_path *dst, char *why)
{
  int r = policy_new_name (dst);
  if (r == 0 && (src->node->kind != NODE_REAL || src->node->view != dst->dir->view))
    r = -EXDEV;
  if (r == 0 && visibility_protected_path (src))
    r = -EACCES;
  if (r == 0)
    r = git_guard_link (src, dst, why);
  return r;
}

int
policy_remove (const struct policy_path *pp)
{
  int r = writable (pp->dir);
  if (r == 0)
    r = visibility_check_path (pp);
  if (r == 0 && visibility_protected_path (pp))
    r = -EACCES;
  return r;
}

/* The O_PATH fd of the entry PP as the agent sees it (its cow view: the
   upper layer's, else the project's), or -1. */
static int
entry_fd (const struct policy_path *pp)
{
  if (pp->dir->view->cow)
    return cow_lookup (pp->dir, pp->name);
  int pfd = node_fd_get (pp->dir);
  if (pfd < 0)
    return -1;
  int fd = openat (pfd, pp->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  node_fd_put (pp->dir);
  return fd;
}

/* git_guard_move for the entry FROM going to TO. */
static int
guard_move (const struct policy_path *from, const struct policy_path *to, char *why)
{
  int efd = entry_fd (from);
  int r = git_guard_move (efd, to, why);
  if (efd >= 0)
    close (efd);
  return r;
}

/* One decision for both ends of a rename: neither end may be hidden or
   protected, or a folder that a hiding or protecting pattern names (moving
   it would uncover or unprotect what it holds, moving another folder to its
   name would put the agent's files under the pattern); with RENAME_EXCHANGE
   both entries move, so each end is checked as a source too.  Then what
   git would run (git_guard.h). */
int
policy_rename (const struct policy_path *from, const struct policy_path *to, unsigned flags,
               char *why)
{
  int r = writable (from->dir);
  if (r == 0)
    r = writable (to->dir);
  if (r == 0 && from->view != to->view)
    r = -EXDEV;
  if (r == 0)
    r = visibility_check_path (from);
  if (r < 0)
    return r;
  bool ws = from->view == &cagefs.workspace;
  bool exchange = flags & RENAME_EXCHANGE;
  if (cow_name_reserved (from->dir, from->name) || policy_new_name (to) < 0
      || visibility_protected_path (from) || visibility_guards_rename (from, false)
      || (ws && visibility_guards_protected (from))
      || visibility_guards_rename (to, true)
      || (ws && visibility_guards_protected (to))
      || (exchange && (visibility_guards_rename (to, false) || policy_new_name (from) < 0
                       || visibility_guards_rename (from, true))))
    return -EACCES;
  r = tracked_rename_check (from->dir, from->name);
  if (r == 0)
    r = guard_move (from, to, why);
  if (r == 0 && exchange)
    r = guard_move (to, from, why);
  return r;
}

bool
policy_rename_blames_target (const struct policy_path *from, const struct policy_path *to, int r)
{
  /* The source is blamed unless it was fine and the target was not. */
  return r != -EROFS && r != -ENOENT && visibility_check_path (from) == 0
         && !visibility_protected_path (from) && !cow_name_reserved (from->dir, from->name)
         && !visibility_guards_rename (from, false) && !visibility_guards_rename (to, true)
         && (visibility_check_path (to) < 0 || visibility_protected_path (to)
             || visibility_guards_protected (to) || cow_name_reserved (to->dir, to->name));
}

/* ---- counters ------------------------------------------------------ */

static const char *const kind_names[POLICY_KINDS] = {
  [POLICY_LOOKUP] = "lookup",   [POLICY_READDIR] = "readdir", [POLICY_CREATE] = "create",
  [POLICY_MKNOD] = "mknod",     [POLICY_MKDIR] = "mkdir",     [POLICY_SYMLINK] = "symlink",
  [POLICY_LINK] = "link",       [POLICY_UNLINK] = "unlink",   [POLICY_RMDIR] = "rmdir",
  [POLICY_RENAME] = "rename",   [POLICY_OPEN] = "open",       [POLICY_SETATTR] = "setattr",
  [POLICY_WRITE] = "write",
};

static struct
{
  _Atomic unsigned long long requests, path_locks;
} stats[POLICY_KINDS];

static _Thread_local int current = -1;

static pthread_once_t stats_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static char stats_file[4096];

static void
read_env (void)
{
  const char *f = getenv ("CAGEFS_POLICY_STATS");
  if (f && f[0] == '/' && strlen (f) + 5 < sizeof stats_file)
    snprintf (stats_file, sizeof stats_file, "%s", f);
}

const char *
policy_kind_name (enum policy_kind kind)
{
  return kind_names[kind];
}

void
policy_stats (enum policy_kind kind, struct policy_stats *out)
{
  out->requests = atomic_load (&stats[kind].requests);
  out->path_locks = atomic_load (&stats[kind].path_locks);
}

/* Rewrite $CAGEFS_POLICY_STATS with the counters. */
static void
dump (void)
{
  pthread_once (&stats_once, read_env);
  if (!stats_file[0])
    return;
  char buf[POLICY_KINDS * 96 + 8], tmp[sizeof stats_file + 8];
  size_t pos = 0;
  buf[pos++] = '{';
  for (int k = 0; k < POLICY_KINDS; k++)
    {
      struct policy_stats s;
      policy_stats ((enum policy_kind) k, &s);
      pos += (size_t) snprintf (buf + pos, sizeof buf - pos,
                                "%s\"%s\":{\"requests\":%llu,\"path_locks\":%llu}",
                                k ? "," : "", kind_names[k], s.requests, s.path_locks);
    }
  pos += (size_t) snprintf (buf + pos, sizeof buf - pos, "}\n");
  snprintf (tmp, sizeof tmp, "%s.tmp", stats_file);
  pthread_mutex_lock (&stats_lock);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd >= 0)
    {
      bool ok = write (fd, buf, pos) == (ssize_t) pos;
      if (close (fd) == 0 && ok)
        rename (tmp, stats_file);
    }
  pthread_mutex_unlock (&stats_lock);
}

void
policy_begin (enum policy_kind kind)
{
  current = (int) kind;
  node_path_locks = &stats[kind].path_locks;
}

void
policy_end (void)
{
  if (current < 0)
    return;
  atomic_fetch_add (&stats[current].requests, 1);
  current = -1;
  node_path_locks = NULL;
  dump ();
}
