/* paths.h - where cagefs keeps per-user, per-project state.

   state root:  $XDG_RUNTIME_DIR/cagefs (when set, a directory owned by us)
                else $HOME/.local/state/cagefs (or the passwd home)
   project dir: <state root>/<basename>-<16 hex of FNV-1a(realpath)>
       mnt/          the FUSE mount point (the agent's root tree)
       store/        the store view's own FUSE mount, which the launcher
                     binds at /nix/store (in every mode but copy without
                     default_permissions: the daemon refuses every write
                     with EROFS and logs it)
       workspace/    the workspace view's own FUSE mount (default_permissions),
                     which the launcher binds at /workspace
       home/         the cage's persistent home (the launcher binds it at
                     the cage's home path; when root invokes it belongs to
                     the overflow ids, as the agent's files there do)
       home-empty/   the empty home (home.mode "empty"), made anew at each
                     mount
       state.json    written by the daemon once the mount is ready
       project.json  the project's path and last mode, written by mount and
                     kept until `cagefs destroy` (fs/setup/state_dirs.h)
       daemon.log    the daemon's stderr
       audit.ndjson  the daemon's audit log: what the agent was refused
                     (fs/daemon/audit.h; audit.ndjson.1 after a rotation)
       cow/upper/    the cow workspace view's upper layer (fs/views/cow_layer.h)
       private/      copy and isolated modes: the project's private Nix store
                     (private/nix/store, private/nix/var/nix/db; Nix's tools
                     reach it as --store local?root=<state>/private)
   All directories are created 0700.  */
#ifndef CAGE_PATHS_H
#define CAGE_PATHS_H

#include <stdbool.h>

#include "error.h"

struct project_paths
{
  char *project;   /* realpath of the project */
  char *state;     /* the project's state directory */
  char *mnt;
  char *store_mnt;
  char *ws_mnt;    /* <state>/workspace: the workspace session's mount */
  char *home;
  char *home_empty; /* <state>/home-empty: the empty home (not created here) */
  char *state_json;
  char *log;
  char *audit;     /* audit.ndjson */
  char *private_root; /* not created here: the store modes that use it do */
  char *cow_upper;    /* <state>/cow/upper; made by a cow mount */
};

/* Resolve PROJECT (must be an existing directory) and compute its paths.
   With CREATE, make the state directories (0700). */
int paths_project (const char *project, bool create, struct project_paths *out,
                   struct cage_error *err);
/* The paths of a project whose folder is gone, from the absolute path it
   had (as `cagefs list` shows it): nothing is resolved, checked or made. */
int paths_project_gone (const char *project, struct project_paths *out, struct cage_error *err);
void paths_free (struct project_paths *p);

/* The state root (not created). Caller frees. */
char *paths_state_root (struct cage_error *err);

/* mkdir -p with MODE for each missing component. */
int paths_mkdir_p (const char *path, unsigned mode, struct cage_error *err);

#endif
