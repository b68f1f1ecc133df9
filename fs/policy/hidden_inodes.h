/* hidden_inodes.h - hard links to secrets.

   The blacklist hides names.  A hidden file that also has a hard link under
   an innocent name (`ln .env notes.txt`, what `cp -al` and `rsync
   --link-dest` make) would show its contents under that name.  So the
   daemon walks the workspace once at mount (every step an *at() call, never
   following a symlink, into hidden folders too) and records every regular
   file with more than one link: its (dev, ino), its link count and whether
   one of its names is hidden.  A regular file with more than one link whose
   inode has a hidden name is hidden under every name.

   Links made later are caught by their link count: a file with more links
   than recorded (or one not recorded at all) makes the daemon walk again
   before it answers; concurrent askers share one walk.  The agent's own
   links (made through the daemon, to files it may see) are noted without a
   walk.  Only files with more than one link cost a look into the set.

   Not covered: what a walk stopped early did not reach (at
   HIDDEN_INODES_MAX_ENTRIES entries, HIDDEN_INODES_MAX_DEPTH levels or
   HIDDEN_INODES_MAX_SECONDS; a warning the user sees at mount), folders the
   daemon cannot read and FUSE filesystems mounted inside the workspace (not
   walked: they may be slow, or be our own mount); both are named in the
   daemon's log.

   A host rename of one of a visible file's links to a hidden name keeps
   the link count: the host-edit watcher (host_watch.c) marks the set stale
   when the host renames something in a watched folder to a name the
   blacklist may hide, or out of every watched folder (into a hidden one),
   and the next look at a file with several links walks again.  Not seen:
   such a rename inside a folder the kernel never looked up (no watch), or
   beyond the watch cap (host_watch.h).  */
#ifndef CAGE_HIDDEN_INODES_H
#define CAGE_HIDDEN_INODES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "blacklist.h"
#include "error.h"

#define HIDDEN_INODES_MAX_ENTRIES 1000000
#define HIDDEN_INODES_MAX_DEPTH 256
#define HIDDEN_INODES_MAX_SECONDS 10

struct hidden_inodes;

/* Walk the tree below ROOT_FD (an O_PATH fd of the folder ROOT, named in
   messages; UPPER_FD, the cow view's upper layer, walked too, or -1) with the blacklist BL (kept, not copied).  A walk that was not
   complete leaves a one-line warning in WARNING (else "").  NULL with ERR
   set when ROOT cannot be read or memory runs out. */
struct hidden_inodes *hidden_inodes_new (int root_fd, int upper_fd, const char *root,
                                         const struct blacklist *bl, char *warning,
                                         size_t warning_size, struct cage_error *err);
void hidden_inodes_free (struct hidden_inodes *hi);

/* Is the file ST (just stat'ed beneath the root; a regular file with more
   than one link) also reachable under a hidden name?  May walk again (see
   above). */
bool hidden_inodes_hides (struct hidden_inodes *hi, const struct stat *st);

/* The agent made one more link to the file it could see, BEFORE being its
   stat from just before linkat. */
void hidden_inodes_linked (struct hidden_inodes *hi, const struct stat *before);

/* The host renamed something that may now hide a file under all its names:
   the next look at a file with several links walks again.  Any thread. */
void hidden_inodes_stale (struct hidden_inodes *hi);

#endif
