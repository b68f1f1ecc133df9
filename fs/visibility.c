#include "visibility.h"

#include "daemon.h"
#include "hidden_inodes.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

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
  if (!bl->has_paths)
    return blacklist_match_name (bl, name) ? -ENOENT : 0;
  char rel[4096];
  if (node_relpath_child (parent, name, rel, sizeof rel) < 0)
    return -ENOENT;
  return blacklist_match_path (bl, rel) ? -ENOENT : 0;
}

int
visibility_check_inode (const struct view *view, const struct stat *st)
{
  if (!view || !view->hidden_inodes || !S_ISREG (st->st_mode) || st->st_nlink < 2)
    return 0;
  return hidden_inodes_hides (view->hidden_inodes, st) ? -ENOENT : 0;
}

bool
visibility_guards_rename (struct node *parent, const char *name)
{
  const struct blacklist *bl = parent->view ? parent->view->blacklist : NULL;
  if (!bl || !bl->has_paths)
    return false;
  for (char **p = bl->patterns; p && *p; p++)
    {
      const char *pat = *p;
      if (!strchr (pat, '/'))
        continue;
      /* Each component but the last. */
      const char *s = pat;
      for (const char *slash; (slash = strchr (s, '/')); s = slash + 1)
        {
          char comp[256];
          size_t l = (size_t) (slash - s);
          if (l == 0 || l >= sizeof comp)
            continue;
          memcpy (comp, s, l);
          comp[l] = '\0';
          if (fnmatch (comp, name, 0) == 0)
            return true;
        }
    }
  return false;
}

bool
visibility_protected (struct node *parent, const char *name)
{
  return parent->kind == NODE_REAL && parent->view == &cagefs.workspace && parent->parent == NULL
         && strcmp (name, "cage.json") == 0;
}

bool
visibility_protected_node (struct node *n)
{
  if (n->kind != NODE_REAL || n->view != &cagefs.workspace || !n->parent)
    return false;
  pthread_mutex_lock (&node_lock);
  bool r = n->parent->parent == NULL && strcmp (n->name, "cage.json") == 0;
  pthread_mutex_unlock (&node_lock);
  return r;
}
