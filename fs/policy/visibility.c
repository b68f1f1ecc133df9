#include "visibility.h"

#include "cow.h"
#include "tree.h"
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

static int check_path (const struct policy_path *pp, bool tracked);

int
visibility_check_path (const struct policy_path *pp)
{
  return check_path (pp, true);
}

int
visibility_check_untracked (const struct policy_path *pp)
{
  return check_path (pp, false);
}

static int
check_path (const struct policy_path *pp, bool tracked)
{
  const char *name = pp->name;
  struct node *parent = pp->dir;
  if (name[0] == '\0' || strchr (name, '/') || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0)
    return -ENOENT;
  struct view *v = pp->view;
  if (!v || !parent)
    return 0;
  if (v->allowed_top && pp->top
      && !bsearch (name, v->allowed_top, v->n_allowed_top, sizeof (char *), cmp_name))
    return -ENOENT;
  if (pp->top && (v->hidden_top || v->private_store) && private_hidden (v, name))
    return -ENOENT;
  const struct blacklist *bl = v->blacklist;
  if (!bl)
    return 0;
  int tr = tracked ? tracked_check (parent, name, pp->err ? NULL : pp->rel) : 0;
  if (tr < 0)
    return tr;
  const char *path = name;
  if (bl->has_paths)
    {
      if (pp->err)
        return -ENOENT;
      path = pp->rel;
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
visibility_guards_rename (const struct policy_path *pp, bool dest)
{
  return names_a_folder_of (pp->view ? pp->view->blacklist : NULL, pp->name, dest);
}

bool
visibility_guards_protected (const struct policy_path *pp)
{
  return names_a_folder_of (&cagefs.protect, pp->name, false);
}

/* Is RELPATH (in the workspace) protected, as a file or as a folder? */
static bool
protected_path (const char *rel)
{
  return blacklist_match (&cagefs.protect, rel, false) || blacklist_match (&cagefs.protect, rel, true);
}

bool
visibility_protected_path (const struct policy_path *pp)
{
  /* (an entry: beneath a view, in the workspace; not its root) */
  if (!pp->real || !pp->dir || pp->view != &cagefs.workspace || !cagefs.protect.n)
    return false;
  if (pp->err)
    return true;
  /* A repository the agent made is not covered: the protected patterns
     guard the repositories present at mount (agent_repos.h). */
  return protected_path (pp->rel) && !pp->agent_repo;
}
