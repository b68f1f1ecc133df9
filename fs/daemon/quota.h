/* quota.h - the workspace's free-space floor.

   An agent that writes without end would fill the filesystem the project
   lives on, and every program of the host that writes there with it.  The
   daemon refuses a write or a create in the workspace that would leave
   that filesystem with less free space (for unprivileged users: f_bavail)
   than the floor: ENOSPC for the agent, an audit entry ("no-space").
   Existing files stay as they are; deleting frees space again.

   The floor is limits.workspace_free_min: a size, a percentage of the
   filesystem's size, or 0 for none; by default the smaller of 1 GiB and
   5%.  The free space is asked of the kernel (fstatvfs) at most every
   QUOTA_INTERVAL_MS, sooner once the bytes written since come near the
   margin above the floor; in between, the bytes the agent writes are
   counted against it.  */
#ifndef CAGE_QUOTA_H
#define CAGE_QUOTA_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "node.h"

#define QUOTA_INTERVAL_MS 100
/* Writes below this many bytes since the last look never make another. */
#define QUOTA_MIN_BYTES (1u << 20)

struct fuse_req;

/* Guard VIEW, whose files live on the filesystem of FD (kept open, not
   ours), with the floor LIMITS gives.  Warns when the free space is below
   the floor already. */
int quota_init (const struct view *view, int fd, const struct cage_limits *limits,
                struct cage_error *err);

/* Before N (a file written, or the folder a file is created in) of the
   guarded view grows by SIZE bytes (0: a new file): 0, or -ENOSPC when the
   floor would be crossed, audited as OP on N (OP NULL: the caller audits
   the refusal). */
int quota_check (struct fuse_req *req, const char *op, struct node *n, size_t size);

#endif
