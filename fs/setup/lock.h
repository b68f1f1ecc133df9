/* lock.h - one cagefs command at a time per project (flock on state/lock). */
#ifndef CAGE_LOCK_H
#define CAGE_LOCK_H

#include "error.h"
#include "paths.h"

/* Returns a locked fd, or -1 with ERR set. Close it to unlock. */
int project_lock (const struct project_paths *pp, struct cage_error *err);

/* Clean a mount whose daemon is gone: unmount MNT if it is still a FUSE
   mount and remove the state file.  Returns 1 when something was cleaned. */
int project_clean_stale (const struct project_paths *pp, struct cage_error *err);

#endif
