/* audit.h - the daemon's audit log: what the agent was refused.

   Every refusal of ours (a hidden name looked up, a create, link, rename or
   remove over a hidden or protected name, a write to a protected file, a
   write to a read-only view) is appended as one NDJSON line to
   <state>/audit.ndjson:

     {"time":"2026-11-24T21:00:03.123+00:00","op":"lookup",
      "path":"/workspace/.env","result":"hidden","pid":4242,"process":"cat"}

   result: "hidden" (ENOENT: blacklisted or outside the closure), "denied"
   (EACCES) or "read-only" (EROFS).  pid is the host pid of the caller
   (fuse_req_ctx), process its /proc/PID/comm.  A line may carry
   "suppressed": N, the entries the rate limit dropped before it.

   The egress proxy's entries (network "filtered", fs/egress/) name a host
   instead of a path:

     {"time":...,"op":"connect","host":"evil.example","port":443,
      "result":"denied","reason":"not in the network allowlist",
      "pid":4242,"process":"curl"}
     {"time":...,"op":"connect","host":"api.example.com","port":443,
      "result":"allowed","bytes_up":517,"bytes_down":4096,"pid":...}
     {"time":...,"op":"dns","host":"evil.example","result":"denied",...}

   op: "connect" (a port listener), "proxy" (HTTP CONNECT or an
   absolute-form request), "dns"; result "denied", "allowed" (one entry
   when the connection closes, with its byte counts) or "failed" (the
   upstream could not be reached: reason says why).  pid and process are
   left out when the process is not known.

   Cheap and bounded: one write(2) of a whole line under a mutex (O_APPEND);
   the same (op, path, process) within 1 s is logged once; at most
   AUDIT_RATE lines a second (burst AUDIT_BURST); past AUDIT_MAX_BYTES
   (16 MiB; $CAGEFS_AUDIT_MAX_BYTES at mount time overrides it) the file is
   renamed to audit.ndjson.1 and a new one started.  */
#ifndef CAGE_AUDIT_H
#define CAGE_AUDIT_H

#include <stdint.h>

#include "error.h"
#include "node.h"
#include "policy.h"

#define AUDIT_RATE 100
#define AUDIT_BURST 200
#define AUDIT_MAX_BYTES (16 * 1024 * 1024)

struct fuse_req;

/* Open PATH for appending (0600) and learn where the views are shown.
   ROOT is the root tree (the synthetic tree holding the view roots). */
int audit_open (const char *path, struct node *root, struct cage_error *err);
void audit_close (void);

/* Log the refusal R (a negative errno) of OP on the entry PP (policy.h:
   the path the verdict was made on, not built again): -ENOENT is "hidden",
   -EACCES "denied", -EROFS "read-only"; other values (and R >= 0) are not
   refusals of ours and log nothing.  REASON (NULL: none) is the entry's
   "reason": what made a change one git would run ("git config key
   core.fsmonitor runs a program"). */
void audit_path (struct fuse_req *req, const char *op, const struct policy_path *pp, int r,
                 const char *reason);
/* The same for an existing node N (its path is built here, once, only
   when R is a refusal): for callers outside the policy gate (quota.h). */
void audit_node (struct fuse_req *req, const char *op, struct node *n, int r);
/* A lookup that visibility refused (R < 0): logged as "hidden" when PP
   exists (a missing name hid nothing). */
void audit_lookup (struct fuse_req *req, const struct policy_path *pp, int r);
/* A refused rename of FROM to TO: the path logged is the side that was
   refused (policy_rename_blames_target); REASON as for audit_path. */
/* A network entry (above): PORT 0 is left out; PID <= 0 leaves pid and
   process out; UP and DOWN are written for "allowed" only.  "allowed"
   entries are never merged by the 1 s dedup (each carries its bytes). */
void audit_net (const char *op, const char *host, unsigned port, const char *result,
                const char *reason, long pid, unsigned long long up, unsigned long long down);
void audit_rename (struct fuse_req *req, const struct policy_path *from,
                   const struct policy_path *to, int r, const char *reason);

#endif
