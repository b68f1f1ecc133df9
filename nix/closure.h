/* closure.h - the closure of store paths, asked of the real Nix
   (`nix-store --query --requisites`). */
#ifndef CAGE_CLOSURE_H
#define CAGE_CLOSURE_H

#include "error.h"

/* Validate every path in PACKAGES (NULL-terminated) and return the sorted,
   de-duplicated closure as a NULL-terminated vector in *OUT.  A path that is
   not a valid, existing store path is an error naming it, before Nix is
   asked.  WHERE names the origin of the packages for messages
   ("--package", "cage.json"). */
int closure_resolve (char *const *packages, char ***out, struct cage_error *err);

/* The same in the private store rooted at ROOT (ROOT/nix/store, asked with
   `nix-store --store local?root=ROOT`); the paths need not exist on the
   host.  ROOT NULL: the host store (closure_resolve). */
int closure_resolve_in (const char *root, char *const *packages, char ***out,
                        struct cage_error *err);

/* The sum of the NAR sizes of PATHS (`nix-store --query --size`), in the
   store rooted at ROOT (NULL: the host's). */
int closure_nar_size (const char *root, char *const *paths, long long *bytes,
                      struct cage_error *err);

#endif
