/* control.h - the daemon's control socket: `cagefs accept` and `cagefs
   discard` on a mounted cow project are run by the daemon, which owns the
   upper layer, holds fds into it and knows what the cage has open.

   <state>/control.sock (mode 0600, in the 0700 state folder) takes one
   request a connection, {"op":"accept"|"discard","paths":[...],"json":b},
   from a client of the daemon's own uid or root in the daemon's mount
   namespace (the cage is never one: it runs in a namespace of its own and
   sees the state folder, if at all, only through FUSE, where no socket
   answers).  The reply is {"rc":N,"stdout":"...","stderr":"..."}: what
   accept prints unmounted, printed by the client as it is.

   The daemon applies a review alone: no write, open for writing or rename
   of the agent's runs meanwhile (the git guard's lock, held exclusively,
   and the cow view's lock), then tells the kernel what changed (its
   entries and inodes, in the workspace's session and the root session). */
#ifndef CAGE_CONTROL_H
#define CAGE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "node.h"
#include "paths.h"
#include "review.h"

struct fuse_session;

/* Serve PP's control socket for the cow view WS, whose root node is
   ROOTS[i] in session SES[i] (its FUSE_ROOT_ID there, or a node of it). */
int control_start (const struct project_paths *pp, struct view *ws, struct node *ws_root,
                   struct fuse_session *const *ses, struct node *const *roots, size_t n,
                   struct cage_error *err);
/* Stop serving (a request under way ends first); removes the socket. */
void control_stop (void);

/* In the CLI: have the daemon of PP run the review; its output printed and
   its exit status in *RC: 0.  1: no daemon answers there (not a cow
   mount, or an older cagefs).  -1 with ERR. */
int control_review (const struct project_paths *pp, enum review what, char **sel, bool json,
                    int *rc, struct cage_error *err);

#endif
