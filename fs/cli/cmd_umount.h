/* cmd_umount.h - stop a project's daemon and detach its mounts (cmd_umount.c),
   shared by `cagefs umount` and `cagefs destroy`. */
#ifndef CAGE_CMD_UMOUNT_H
#define CAGE_CMD_UMOUNT_H

#include <stdbool.h>

#include "error.h"
#include "paths.h"

/* With the project lock held (when PP's state folder exists): stop a live
   daemon (SIGTERM, then detach, then SIGKILL), clean a stale mount and
   remove state.json, running the pre-umount and post-umount hooks of the
   project's cage.json around a live daemon's stop.  *WAS_MOUNTED says
   whether a live daemon was stopped.  0, or -1 with ERR set. */
int project_umount (const struct project_paths *pp, bool *was_mounted, struct cage_error *err);

#endif
