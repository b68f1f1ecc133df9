/* home.h - the cage's home before a mount: which folder serves it (the
   persistent <state>/home, or a fresh empty one), the paths a preset needs
   made in it, and the user's real home for home.host. */
#ifndef CAGE_HOME_H
#define CAGE_HOME_H

#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "paths.h"

/* HOME_EMPTY: replace PP->home by PP->home_empty, emptied first.  Then
   make CFG's home.writable paths in it (folders for "dir/", files
   otherwise: a .json file starts as {}), never following a link.  UID and
   GID are the host ids the agent maps to: when they are not ours (root
   invokes), the home folder is given to them at every mount, what is in it
   the first time (a folder not theirs yet), and what this makes in it;
   never through a link, never on another filesystem. */
int home_prepare (const struct cage_config *cfg, struct project_paths *pp, uid_t uid,
                  gid_t gid, struct cage_error *err);

/* The invoking user's real home (passwd), checked to be shown in the cage
   at its own path: absolute, not /, not in or above a folder the cage
   makes (/nix, /bin, /usr, /etc, /tmp, /proc, /dev, /workspace) and not
   /home itself.  Caller frees. */
char *home_host_path (struct cage_error *err);

#endif
