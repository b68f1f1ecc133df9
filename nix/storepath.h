/* storepath.h - Nix store path syntax and the closure of a set of paths. */
#ifndef CAGE_STOREPATH_H
#define CAGE_STOREPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define NIX_STORE_DIR "/nix/store"
#define NIX_HASH_LEN 32

/* Is NAME a valid store entry name: 32 nix-base32 chars, '-', a name of
   [A-Za-z0-9+-._?=] not starting with '.'? */
bool storepath_valid_name (const char *name);

/* Is PATH "/nix/store/<valid name>" (no trailing components)? */
bool storepath_valid (const char *path);

/* The entry name of a valid store path (points into PATH). */
const char *storepath_name (const char *path);

#endif
