/* store_mode.h - what each store mode puts behind the agent's /nix/store:

     readonly  the host store, read-only, only the closure visible
     shared    the whole host store, read-only (no store isolation)
     copy      a private copy of the closure in the project's state
               (<state>/private/nix/store), made by the copy engine on the
               first mount and completed by later ones; writable; the host
               store is never written
     isolated  a private store filled only from a binary cache (nix copy,
               NAR hashes verified); read-only; nothing is read from the
               host store  */
#ifndef CAGE_STORE_MODE_H
#define CAGE_STORE_MODE_H

#include <stdbool.h>

#include "config.h"
#include "copy.h"
#include "error.h"
#include "paths.h"

struct store_setup
{
  char *root;          /* the folder shown at /nix/store */
  bool writable;
  bool filter;         /* only the closure's top-level names are visible */
  bool private_store;  /* hide the private store's own files (.links, locks) */
  char **closure;      /* the closure (store paths), sorted */
  char **hidden;       /* copy mode: earlier closures' paths, hidden now */
  long long closure_bytes;  /* sum of the closure's NAR sizes */
  struct copy_stats copied; /* copy mode: what this mount copied */
};

/* Prepare the store for CFG's mode (copying or fetching what is missing).
   Progress goes to stderr when it is a terminal (NDJSON with JSON).  */
int store_mode_prepare (const struct cage_config *cfg, const struct project_paths *pp,
                        bool json, struct store_setup *out, struct cage_error *err);
void store_setup_free (struct store_setup *s);

/* Bytes used on disk by the tree at PATH (st_blocks): *OWN by its own
   files, *SHARED by files with more than one link (copy mode's hard links
   to the host store: no extra space).  Not thread safe (nftw). */
int store_disk_usage (const char *path, long long *own, long long *shared,
                      struct cage_error *err);

#endif
