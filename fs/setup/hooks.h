/* hooks.h - cage.json's lifecycle hooks, run on the host.

   Each hook is a shell command: /bin/sh -c COMMAND, in the project folder,
   with the caller's environment plus
     CAGEFS_PROJECT     the project's real path
     CAGEFS_MOUNTPOINT  the mount point (the agent's root tree)
     CAGEFS_STATE_DIR   the project's state folder
     CAGEFS_HOOK        the hook's name ("pre-mount", ...)
   stdin is /dev/null and its stdout goes to our stderr, so cagefs's own
   stdout (the mount point, a JSON object) stays clean.  A hook that fails
   is one warning line and the lifecycle goes on.

     pre-mount    before the store is prepared and the daemon started
     post-mount   once the mount is ready (not with --foreground)
     pre-umount   before a running daemon is stopped
     post-umount  after it is gone and the mounts are detached
   Mounting a mounted project, or unmounting one that is not, runs none.
   Hooks run with the project lock held and are waited for: a hook that
   mounts, unmounts or destroys its own project would wait forever. */
#ifndef CAGE_HOOKS_H
#define CAGE_HOOKS_H

#include "config.h"
#include "paths.h"

/* Run CFG's hook H for PP (nothing when it has none) and wait for it.
   Returns 0 when it ran and exited 0 (or there is none), else -1 after
   printing the warning. */
int hooks_run (const struct cage_config *cfg, enum hook_kind h, const struct project_paths *pp);

#endif
