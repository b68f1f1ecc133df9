/* state_dirs.h - every project that has a state folder, mounted or not.

   The state root holds one folder per project (paths.h).  state.json is
   there only while a daemon serves the mount, so `cagefs mount` also keeps
   project.json, which stays until `cagefs destroy`:
     { "project": "/real/path", "mode": "copy" }   (the last mount's mode) */
#ifndef CAGE_STATE_DIRS_H
#define CAGE_STATE_DIRS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "paths.h"

enum session_state
{
  SESSION_NOT_MOUNTED = 0,
  SESSION_MOUNTED,
  SESSION_STALE, /* a state file or a FUSE mount left by a dead daemon */
};

struct state_dir
{
  char *state_dir;
  char *project;    /* NULL when neither state.json nor project.json says */
  char *mountpoint;
  char *mode;       /* the running or last mode; NULL when unknown */
  pid_t pid;        /* the daemon's, 0 when none runs */
  enum session_state state;
  bool project_exists; /* the project folder is still there */
};

/* Write PP's project.json (atomically).  0, or -1 with ERR set. */
int state_dirs_record (const struct project_paths *pp, const char *mode, struct cage_error *err);

/* The project a state folder belongs to (project.json, else state.json),
   as a new string; NULL when neither says. */
char *state_dirs_project_of (const char *state_dir);

/* Every state folder under the state root, sorted by project path (unknown
   last).  A missing state root is an empty list.  0, or -1 with ERR set. */
int state_dirs_list (struct state_dir **out, size_t *n, struct cage_error *err);
void state_dirs_free (struct state_dir *v, size_t n);

const char *session_state_name (enum session_state s);

#endif
