/* presets.h - what common coding agents need in a cage: their packages
   (nixpkgs attribute names), the paths of the home they write, and the
   environment variables they read, and the hosts their filtered network
   allows.  cage.json's "preset" key and
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
  const char *const *hosts;    /* NULL-terminated allowlist entries: the
                                  provider's API and sign-in hosts */
};

/* The package registries every preset's filtered network allows too
   (origin "registries (preset NAME)"), NULL-terminated. */
extern const char *const preset_registries[];

/* The table, ended by an entry whose name is NULL. */
extern const struct preset presets[];

/* The preset NAME, or NULL with ERR set ("unknown preset ...; did you
   mean ...? valid presets: ..."). */
const struct preset *preset_find (const char *name, struct cage_error *err);

/* Add P's packages to CFG's store.with, its home paths to home.writable,
   its variables to env.pass (no duplicates), and its hosts ("preset
   NAME") and the registries ("registries (preset NAME)") to CFG's allow. */
int preset_apply (const struct preset *p, struct cage_config *cfg, struct cage_error *err);

#endif
