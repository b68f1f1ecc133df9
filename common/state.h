/* state.h - state.json: what a running mount is, shared by cagefs and cage.

   Written atomically (tmp + rename) by the daemon once the mount is ready:
   {
     "version": 1,
     "project": "/real/path/of/project",
     "mountpoint": "<state>/mnt",
     "store_mountpoint": "<state>/store",   the store session's mount
     "pid": 1234,                daemon pid
     "mode": "readonly",
     "network": "off" | "host" | "filtered",
     "allow": [{"entry": "api.anthropic.com", "origin": "preset claude-code"},
               ...],         filtered: the allowlist (net_policy.h)
     "view": "direct" | "cow" | "tracked",   the workspace view
     "user": "alice",            name inside the cage
     "home": "/home/alice",      home inside the cage
     "host_uid": 1000, "host_gid": 1000,   the daemon's (invoking user's) ids
     "cage_uid": 1000, "cage_gid": 1000,   host ids the cage's user maps to
     "packages": [...], "closure": [...],
     "closure_bytes": 123456,    sum of the closure's NAR sizes
     "nix_daemon": false,        shared mode: host nix-daemon socket inside
     "nix_daemon_unsandboxed": false,  ... handed over although the daemon
                                 builds without a sandbox (the user's override)
     "cache": "file:///...",     isolated mode only
     "profile": "standard",      strict | standard | relaxed
     "workspace": "read-write",  or "read-only"
     "home_mode": "persistent",  or "empty"
     "host_home": "/home/alice", home.host: the real home, read-only (else absent)
     "scan": false               "blacklist": {"scan": true}: files hidden by content
   }
   Inside the cage the agent runs as uid/gid CAGE_INNER_UID/GID, mapped to
   cage_uid/cage_gid on the host: the invoking user's own ids, or, when root
   invokes, the unprivileged overflow ids (65534) so the agent never holds
   host uid 0.  */
#ifndef CAGE_STATE_H
#define CAGE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"
#include "net_policy.h"

#define CAGE_INNER_UID 1000
#define CAGE_INNER_GID 1000
#define CAGE_NOBODY_ID 65534
/* Where the host's nix-daemon listens (shared mode's store.nix_daemon). */
#define NIX_DAEMON_SOCKET_DIR "/nix/var/nix/daemon-socket"

struct cage_state
{
  char *project;
  char *mountpoint;
  char *store_mountpoint;
  pid_t pid;
  char *mode;
  char *network;
  struct net_policy allow; /* network "filtered": the entries, with origins */
  char *view;       /* workspace view: "direct", "cow", "tracked" (NULL: direct) */
  char *user;
  char *home;
  uid_t host_uid, cage_uid;
  gid_t host_gid, cage_gid;
  char **packages;  /* NULL-terminated */
  char **closure;   /* NULL-terminated */
  long long closure_bytes; /* the closure's size (sum of NAR sizes) */
  bool nix_daemon;  /* shared mode: the host's nix-daemon socket inside */
  bool nix_daemon_unsandboxed; /* ... by the user's override (no sandbox) */
  char *cache;      /* isolated mode: the binary cache URL, or NULL */
  char *profile;    /* "standard" when the file has none */
  bool workspace_readonly;
  char *home_mode;  /* "persistent" when the file has none */
  char *host_home;  /* home.host: the real home's path, or NULL */
  bool scan;        /* content-aware hiding (fs/policy/scan_cache.h) */
};

int state_write (const char *path, const struct cage_state *st,
                 struct cage_error *err);
/* Returns 0, or -1 with ERR set; errno-like ENOENT in err->errnum when the
   file does not exist. */
int state_read (const char *path, struct cage_state *st, struct cage_error *err);
void state_free (struct cage_state *st);

/* The user name and ids the cage uses for the calling user. */
void state_cage_identity (struct cage_state *st);

/* Is PID alive and is MOUNTPOINT a fuse mount (per /proc/self/mountinfo)? */
/* Is PID a running process (a zombie is not)? */
bool state_pid_running (pid_t pid);
bool state_daemon_alive (const struct cage_state *st);

/* Write O to PATH atomically: a temporary file next to it, then rename. */
int state_json_write (json_t *o, const char *path, struct cage_error *err);

/* Seconds since process PID started, or -1. */
long long state_process_uptime (pid_t pid);
bool state_is_fuse_mount (const char *mountpoint);

#endif
