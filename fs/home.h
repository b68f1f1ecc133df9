/* home.h - the cage's home before a mount: which folder serves it (the
   persistent <state>/home, or a fresh empty one), the paths a preset needs
   made in it, and the user's real home for home.host. */
#ifndef CAGE_HOME_H
#define CAGE_HOME_H

#include "config.h"
#include "error.h"
#include "paths.h"

/* HOME_EMPTY: replace PP->home by <state>/home-empty, emptied first.  Then
   make CFG's home.writable paths in it (folders for "dir/", files
   otherwise: a .json file starts as {}), never following a link. */
int home_prepare (const struct cage_config *cfg, struct project_paths *pp,
                  struct cage_error *err);

/* The invoking user's real home (passwd), checked to be shown in the cage
   at its own path: absolute, not /, not in or above a folder the cage
   makes (/nix, /bin, /usr, /etc, /tmp, /proc, /dev, /workspace) and not
   /home itself.  Caller frees. */
char *home_host_path (struct cage_error *err);

#endif
