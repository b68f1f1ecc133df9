/* daemon.h - the FUSE daemon: mount and serve (the tree it serves is
   tree.h, its operations ops.h). */
#ifndef CAGE_DAEMON_H
#define CAGE_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "paths.h"
#include "state.h"
#include "store_mode.h"

/* Mount and serve (daemon.c).  Forks; the parent returns once the mount is
   ready (0) or with ERR set.  The child never returns. */
int daemon_start (const struct cage_config *cfg, const struct project_paths *pp,
                  struct cage_state *st, const struct store_setup *ss, bool foreground,
                  struct cage_error *err);

/* Detach a FUSE mount at MNT (umount2 as root, fusermount3 -u -z otherwise). */
int daemon_unmount (const char *mnt, struct cage_error *err);

#endif
