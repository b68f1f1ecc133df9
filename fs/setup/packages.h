/* packages.h - packages by name: store.with / --with and store.expr,
   resolved to store paths with nix-build, and cached. */
#ifndef CAGE_PACKAGES_H
#define CAGE_PACKAGES_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "paths.h"

/* Resolve CFG->with (nixpkgs attribute names, or attributes of CFG->expr)
   and CFG->expr to store paths and append them to CFG->packages.

   With no expr: `nix-build '<nixpkgs>' -A NAME... --no-out-link`.  With an
   expr: its folder is copied to a private folder (fs/setup/expr_copy.h) and
   `nix-build COPY/FILE [-A NAME...] --no-out-link` runs in Nix's restricted
   mode (only the copy, the store and NIX_PATH readable, no URI, no
   builtins.exec); the whole file when there are no names.  The answer is
   cached in <state>/packages/<key>.json, KEY a SHA-256 of the names, the
   expr's path, the copy's digest and NIX_PATH; a cached answer whose paths
   are gone from the store is resolved again.  *CACHED (may be NULL) says whether the cache
   answered.  Nothing to resolve: 0 and nothing changes. */
int packages_resolve (struct cage_config *cfg, const struct project_paths *pp, bool *cached,
                      struct cage_error *err);

#endif
