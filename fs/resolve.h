/* resolve.h - the configuration a mount uses: cage.json (with its preset),
   then the flags, then the profile for what neither gave. */
#ifndef CAGE_RESOLVE_H
#define CAGE_RESOLVE_H

#include "config.h"
#include "error.h"
#include "paths.h"

/* What `cagefs mount` (and `cagefs config`) were given on the command line. */
struct mount_flags
{
  struct cage_config lists; /* packages (replace), blacklist and with (add),
                               cache, nix_daemon, blacklist_scan (--scan) */
  const char *mode, *network, *profile, *view; /* NULL: not given */
};

void mount_flags_init (struct mount_flags *mf);
void mount_flags_free (struct mount_flags *mf);

/* --with git,python312: each name added (checked). */
int mount_flags_add_with (struct mount_flags *mf, const char *list, struct cage_error *err);

/* CFG (initialised by the caller) gets PP's cage.json, MF's flags and the
   profile; checks the blacklist; protects store.expr's file.  ERR names
   the flag or the file:line:column. */
int resolve_config (const struct project_paths *pp, struct mount_flags *mf,
                    struct cage_config *cfg, struct cage_error *err);

#endif
