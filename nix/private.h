/* private.h - a project's private Nix store (copy and isolated modes): a
   real Nix store rooted at ROOT (paths in ROOT/nix/store, database in
   ROOT/nix/var/nix/db), which Nix's tools reach as `--store local?root=ROOT`.

   Copy mode fills it with our copy engine and registers what it copied
   here; isolated mode fills it from a binary cache with `nix copy`, which
   verifies every NAR hash.  Neither writes the host store.  */
#ifndef CAGE_NIX_PRIVATE_H
#define CAGE_NIX_PRIVATE_H

#include "error.h"

/* Is URL a binary cache URL we accept (file://, http://, https://)?  A
   file:// cache must be a readable folder holding nix-cache-info. */
int private_check_cache_url (const char *url, struct cage_error *err);

/* Register PATHS (host store paths, NULL-terminated, present in ROOT's
   store) in ROOT's database with the host's metadata (narHash, references):
   `nix-store --dump-db PATHS | nix-store --store local?root=ROOT --load-db`. */
int private_register (const char *root, char *const *paths, struct cage_error *err);

/* Of PATHS, the ones registered (valid) in ROOT's database, as a new
   NULL-terminated vector. */
int private_valid (const char *root, char *const *paths, char ***out, struct cage_error *err);

/* Fetch PACKAGES and their closure from the binary cache URL into ROOT:
   `nix copy --from URL --to local?root=ROOT`, no other substituter.  A path
   missing from the cache or a corrupted NAR is an error naming the path and
   the cache; nothing partial is registered. */
int private_fetch (const char *root, const char *url, char *const *packages,
                   struct cage_error *err);

#endif
