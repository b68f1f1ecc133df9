/* host_watch.h - host edits in the workspace reach the kernel's caches at
   once, so the workspace can be cached as long as the store.

   Every real directory of a watched view (the workspace, unless it is the
   cow view) the kernel looks up gets an inotify watch.  A change made on
   the host (an editor, git, a build outside the cage) then invalidates the
   kernel's entry for that name and the directory's cached listing and
   attributes (fuse_lowlevel_notify_inval_*), from one thread of its own.
   What such a directory holds may therefore be cached for
   HOST_WATCH_TIMEOUT seconds (entries, attributes, misses, file pages,
   listings); where no watch could be added (fs.inotify.max_user_watches
   reached) the view's short timeouts apply, entry by entry.

   The watches count against the invoking user's budget, which all their
   programs share: a daemon takes at most a quarter of it, and at most
   HOST_WATCH_MAX (CAGEFS_MAX_WATCHES in the environment of `cagefs mount`
   sets the cap instead, for tests and big trees); past the cap the short
   timeouts apply too, so an agent making folders without end cannot take
   the user's budget.  */
#ifndef CAGE_HOST_WATCH_H
#define CAGE_HOST_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "node.h"

/* How long the kernel may keep what a watched directory holds: the bound
   on staleness if an event is ever lost (an overflowed queue). */
#define HOST_WATCH_TIMEOUT 60.0
/* The most watches one daemon takes. */
#define HOST_WATCH_MAX 65536u

struct fuse_session;

/* Start watching for the N sessions SES serving the watched views (ROOTS:
   each one's root node, its FUSE_ROOT_ID).  Without inotify the views keep
   their short timeouts: a warning, not an error. */
int host_watch_start (struct fuse_session *const *ses, struct node *const *roots, size_t n,
                      struct cage_error *err);
/* Stop the thread and drop every watch (before SE is destroyed). */
void host_watch_stop (void);

/* Watch the real directory DIR (its view wants it, and it is not watched
   yet).  Returns whether DIR is watched now. */
bool host_watch_dir (struct node *dir);
/* DIR is being freed (node table locked): drop its watch. */
void host_watch_drop (struct node *dir);

/* Is what N is (its name in its parent, its attributes) reported by a
   watch, so the kernel may cache it long? */
bool host_watch_covers (const struct node *n);
/* Is N a directory whose listing is reported by its own watch? */
bool host_watch_lists (const struct node *n);

#endif
