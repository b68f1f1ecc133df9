/* presets.h - what common coding agents need in a cage: their packages
   (nixpkgs attribute names), the paths of the home they write, and the
   environment variables they read.  cage.json's "preset" key and
   `cagefs init --preset NAME` use them. */
#ifndef CAGE_PRESETS_H
#define CAGE_PRESETS_H

#include "config.h"
#include "error.h"

struct preset
{
  const char *name;
  const char *description;
  const char *const *packages; /* NULL-terminated nixpkgs attribute names */
  const char *const *home;     /* NULL-terminated; "~/.claude/": a folder */
  const char *const *env;      /* NULL-terminated variable names */
};

/* The table, ended by an entry whose name is NULL. */
extern const struct preset presets[];

/* The preset NAME, or NULL with ERR set ("unknown preset ...; did you
   mean ...? valid presets: ..."). */
const struct preset *preset_find (const char *name, struct cage_error *err);

/* Add P's packages to CFG's store.with, its home paths to home.writable
   and its variables to env.pass (no duplicates). */
int preset_apply (const struct preset *p, struct cage_config *cfg, struct cage_error *err);

#endif
