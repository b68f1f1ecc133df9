#include "visibility.h"

#include "agent_repos.h"
#include "cow.h"
#include "daemon.h"
#include "hidden_inodes.h"
#include "scan_cache.h"
#include "tracked.h"
#include <unistd.h>

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>

static int
cmp_name (const void *key, const void *elem)
{
  return strcmp ((const char *) key, *(char *const *) elem);
}

/* Top-level names of a private store the agent must not see: the store's
   own files and, in copy mode, earlier closures' paths. */
static bool
private_hidden (const struct view *v, const char *name)
{
  size_t len = strlen (name);
  if (v->private_store && (name[0] == '.' || (len > 5 && strcmp (name + len - 5, ".lock") == 0)))
    return true;
  return v->hidden_top
         && bsearch (name, v->hidden_top, v->n_hidden_top, sizeof (char *), cmp_name);
}

static int hidden_check (struct node *parent, const char *name);

int
visibility_check (struct node *parent, const char *name)
{
  if (name[0] == '\0' || strchr (name, '/') || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0)
    return -ENOENT;
  struct view *v = parent->view;
  if (!v)
    return 0;
  if (v->allowed_top && parent->parent == NULL
      && !bsearch (name, v->allowed_top, v->n_allowed_top, sizeof (char *), cmp_name))
    return -ENOENT;
  if (parent->parent == NULL && (v->hidden_top || v->private_store) && private_hidden (v, name))
    return -ENOENT;
  const struct blacklist *bl = v->blacklist;
  if (!bl)
    return 0;
  int tr = tracked_check (parent, name);
  if (tr < 0)
    return tr;
  return hidden_check (parent, name);
}

int
visibility_check_untracked (struct node *parent, const char *name)
{
  if (name[0] == '\0' || strchr (name, '/') || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0)
    return -ENOENT;
  return parent->view && parent->view->blacklist ? hidden_check (parent, name) : 0;
}

/* The blacklist's verdict on PARENT/NAME (a workspace name). */
static int
hidden_check (struct node *parent, const char *name)
{
  struct view *v = parent->view;
  const struct blacklist *bl = v->blacklist;
  char rel[4096];
  const char *path = name;
  if (bl->has_paths)
    {
      if (node_relpath_child (parent, name, rel, sizeof rel) < 0)
        return -ENOENT;
      path = rel;
    }
  bool as_file = blacklist_match (bl, path, false);
  if (!bl->has_dir_only)
    return as_file ? -ENOENT : 0;
  bool as_dir = blacklist_match (bl, path, true);
  if (as_file == as_dir)
    return as_file ? -ENOENT : 0;
  /* A folder-only pattern ("secrets/") decides: is it a folder? */
  struct stat st;
  bool is_dir;
  if (v->cow)
    {
      int cfd = cow_lookup (parent, name);
      is_dir = cfd >= 0 && fstatat (cfd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0
               && S_ISDIR (st.st_mode);
      if (cfd >= 0)
        close (cfd);
    }
  else
    {
      int fd = node_fd_get (parent);
      if (fd < 0)
        return -ENOENT;
      is_dir = fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
      node_fd_put (parent);
    }
  return (is_dir ? as_dir : as_file) ? -ENOENT : 0;
}

/* May every user read ST (and search it, a folder)?  Symlinks: yes. */
static bool
world_readable (const struct stat *st)
{
  if (S_ISLNK (st->st_mode))
    return true;
  mode_t need = S_ISDIR (st->st_mode) ? S_IROTH | S_IXOTH : S_IROTH;
  return (st->st_mode & need) == need;
}

int
visibility_check_inode (const struct view *view, int fd, const char *name,
                        const struct stat *st)
{
  if (view && view->world_readable_only && !world_readable (st))
    return -ENOENT;
  if (!view || !S_ISREG (st->st_mode))
    return 0;
  if (view->hidden_inodes && st->st_nlink >= 2 && hidden_inodes_hides (view->hidden_inodes, st))
    return -ENOENT;
  if (view->scan && scan_cache_hides (view->scan, fd, name, st, NULL))
    return -ENOENT;
  return 0;
}

bool
visibility_checks_inodes (const struct view *view)
{
  return view && (view->hidden_inodes || view->scan || view->world_readable_only);
}

/* Does NAME match a non-final component of an anchored rule of BL (hiding
   rules, or with NEGATE the re-including ones)? */
static bool
names_a_folder_of (const struct blacklist *bl, const char *name, bool negate)
{
  if (!bl || !bl->has_paths)
    return false;
  for (size_t i = 0; i < bl->n; i++)
    {
      const struct blacklist_rule *r = &bl->rules[i];
      /* Moving a folder named by a hiding path pattern would uncover what
         it hides; moving one to a name of a re-including pattern would
         uncover what the other patterns hide. */
      if (!r->anchored || r->ncomp < 2 || r->negate != negate)
        continue;
      const char *c = r->glob + strlen (r->glob) + 1;
      for (unsigned k = 0; k + 1 < r->ncomp + (r->trailing_dstar ? 1 : 0); k++, c += strlen (c) + 1)
        if (strcmp (c, "**") != 0 && fnmatch (c, name, 0) == 0)
          return true;
    }
  return false;
}

bool
visibility_guards_rename (struct node *parent, const char *name, bool dest)
{
  return names_a_folder_of (parent->view ? parent->view->blacklist : NULL, name, dest);
}

bool
visibility_guards_protected (struct node *parent, const char *name)
{
  return names_a_folder_of (&cagefs.protect, name, false);
}

/* Is RELPATH (in the workspace) protected, as a file or as a folder? */
static bool
protected_path (const char *rel)
{
  return blacklist_match (&cagefs.protect, rel, false) || blacklist_match (&cagefs.protect, rel, true);
}

/* Is N, or the nearest folder named ".git" above it, a repository the
   agent made (agent_repos.h)?  Then the protected patterns do not cover
   it: those guard the repositories present at mount. */
static bool
in_agent_repo (struct node *n)
{
  bool found = false;
  dev_t dev = 0;
  ino_t ino = 0;
  pthread_mutex_lock (&node_lock);
  for (; n && n->parent; n = n->parent)
    if (n->name && strcmp (n->name, ".git") == 0)
      {
        found = true;
        dev = n->dev;
        ino = n->real_ino;
        break;
      }
  pthread_mutex_unlock (&node_lock);
  return found && agent_repos_has (dev, ino);
}

bool
visibility_protected (struct node *parent, const char *name)
{
  if (parent->kind != NODE_REAL || parent->view != &cagefs.workspace || !cagefs.protect.n)
    return false;
  char rel[4096];
  if (node_relpath_child (parent, name, rel, sizeof rel) < 0)
    return true;
  return protected_path (rel) && !in_agent_repo (parent);
}

bool
visibility_protected_node (struct node *n)
{
  if (n->kind != NODE_REAL || n->view != &cagefs.workspace || !n->parent || !cagefs.protect.n)
    return false;
  char rel[4096];
  if (node_relpath (n, rel, sizeof rel) < 0)
    return true;
  return protected_path (rel) && !in_agent_repo (n->parent);
}
