/* cow.h - the cow workspace view in the daemon.

   The agent's changes land in an upper layer (<state>/cow/upper, format in
   cow_layer.h); the project is the read-only lower layer.  A name is looked
   up in the upper layer first, then in the project unless a whiteout or an
   opaque folder hides it there; a folder lists both, merged.  The view's
   root_fd is the upper layer's root, so every operation on a node that is
   in the upper layer (all new entries) works as in the direct view.  Before
   anything changes a project entry, it is copied up: data, mode, times and
   user.* xattrs, with an origin record (the host file's inode, mtime and
   size then, for `cagefs accept`'s check).  Renaming a folder copies the
   whole visible subtree up first (the cost: one copy of every file below
   it, once), then renames it within the upper layer.

   All changing calls are serialised by one lock; lookups are not.  Every
   function is a no-op returning 0 unless the node is in a cow view.  The
   functions standing in for system calls return -1 with errno set. */
#ifndef CAGE_COW_H
#define CAGE_COW_H

#include <dirent.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "node.h"

/* Make VIEW a cow view over the project LOWER with the upper layer UPPER
   (created if missing): VIEW->root_fd becomes UPPER's root. */
int cow_init (struct view *view, const char *lower, const char *upper, struct cage_error *err);
void cow_fini (void);

/* O_PATH fd of the merged entry REL (relative to the root, not ""), or -1
   with errno (ENOENT when deleted or hidden by an opaque folder). */
int cow_resolve (const char *rel);
/* Same for PARENT/NAME (PARENT visible already). */
int cow_lookup (struct node *parent, const char *name);

/* Is NAME one the cow layer keeps for itself (".cagefs-...": its markers)
   and PARENT in a cow view?  Such a name can be neither made (create,
   mkdir, mknod, symlink, link, a rename's new name) nor moved (a rename's
   old name): the caller refuses with EACCES and an audit entry.  Otherwise
   the agent could forge a whiteout, an origin record or an opaque marker
   that `cagefs accept` acts on. */
bool cow_name_reserved (const struct node *parent, const char *name);

/* Before creating an entry in DIR: give it its upper folder (and its
   parents').  0 or -errno. */
int cow_prepare_dir (struct node *dir);
/* After creating PARENT/NAME in the upper layer: drop a whiteout of the
   name; a folder made over a deleted name becomes opaque. */
void cow_created (struct node *parent, const char *name);
/* Copy N up before it changes.  1 copied, 0 nothing to do, -errno. */
int cow_copyup (struct node *n);
/* Is N a project file not copied up yet (in a cow view)? */
bool cow_in_lower (struct node *n);

/* unlinkat / renameat2 in the merged view.  RENAME_EXCHANGE is refused
   (EINVAL). */
int cow_remove (struct node *parent, const char *name, int flags);
int cow_rename (struct node *p, const char *name, struct node *np, const char *newname,
                unsigned flags);

/* Hold off every change of the cow layer (copy-ups, creations, removals,
   renames) while `cagefs accept` / `discard` runs in the daemon
   (control.h). */
void cow_review_lock (void);
void cow_review_unlock (void);

/* A merged folder listing, read once at opendir.  Offsets are indexes. */
struct cow_dir;
struct cow_dir *cow_opendir (struct node *n);
struct dirent *cow_readdir (struct cow_dir *d);
void cow_seekdir (struct cow_dir *d, off_t off);
void cow_closedir (struct cow_dir *d);

#endif
