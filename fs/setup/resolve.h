/* resolve.h - the configuration a mount uses: cage.json (with its preset),
   then the flags, then the profile for what neither gave. */
#ifndef CAGE_RESOLVE_H
#define CAGE_RESOLVE_H

#include <getopt.h>

#include "config.h"
#include "error.h"
#include "paths.h"

/* What `cagefs mount` (and `cagefs config`) were given on the command line. */
struct mount_flags
{
  struct cage_config lists; /* packages (replace), blacklist and with (add),
                               cache, nix_daemon (and nix_daemon_unsandboxed),
                               blacklist_scan (--scan), allow (--allow) */
  const char *mode, *network, *profile, *view; /* NULL: not given */
};

void mount_flags_init (struct mount_flags *mf);
void mount_flags_free (struct mount_flags *mf);

/* --with git,python312: each name added (checked). */
int mount_flags_add_with (struct mount_flags *mf, const char *list, struct cage_error *err);

/* getopt_long's tables for the mount options (common/mount_options.h)
   followed by a command's own. */
struct mount_getopt
{
  struct option longopts[40];
  char shortopts[64];
};
/* Fill G with the mount options, then EXTRA (ended by a zero entry) and
   EXTRA_SHORT. */
void mount_flags_getopt (struct mount_getopt *g, const struct option *extra,
                         const char *extra_short);

/* Take getopt's option C (argument ARG) when it is one of those: 1; not
   one of them: 0; -1 with ERR set. */
int mount_flags_option (struct mount_flags *mf, int c, const char *arg, struct cage_error *err);

/* CFG (initialised by the caller) gets PP's cage.json, MF's flags and the
   profile; checks the blacklist; protects store.expr's file.  ERR names
   the flag or the file:line:column. */
int resolve_config (const struct project_paths *pp, struct mount_flags *mf,
                    struct cage_config *cfg, struct cage_error *err);

#endif
