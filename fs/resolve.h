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
                               cache, nix_daemon (and nix_daemon_unsandboxed),
                               blacklist_scan (--scan) */
  const char *mode, *network, *profile, *view; /* NULL: not given */
};

void mount_flags_init (struct mount_flags *mf);
void mount_flags_free (struct mount_flags *mf);

/* --with git,python312: each name added (checked). */
int mount_flags_add_with (struct mount_flags *mf, const char *list, struct cage_error *err);

/* The options `cagefs mount` and `cagefs config` share, for getopt_long:
   these short options and long option entries. */
#define MOUNT_FLAGS_SHORTOPTS "p:W:P:m:b:n:SD"
/* --nix-daemon-unsandboxed has no short form. */
#define MOUNT_FLAG_NIX_DAEMON_UNSANDBOXED 0x100
#define MOUNT_FLAGS_LONGOPTS                                                                   \
  { "package", required_argument, NULL, 'p' }, { "with", required_argument, NULL, 'W' },      \
    { "profile", required_argument, NULL, 'P' }, { "mode", required_argument, NULL, 'm' },    \
    { "blacklist", required_argument, NULL, 'b' }, { "network", required_argument, NULL, 'n' }, \
    { "scan", no_argument, NULL, 'S' }, { "nix-daemon", no_argument, NULL, 'D' },            \
    { "nix-daemon-unsandboxed", no_argument, NULL, MOUNT_FLAG_NIX_DAEMON_UNSANDBOXED }

/* Take getopt's option C (argument ARG) when it is one of those: 1; not
   one of them: 0; -1 with ERR set. */
int mount_flags_option (struct mount_flags *mf, int c, const char *arg, struct cage_error *err);

/* CFG (initialised by the caller) gets PP's cage.json, MF's flags and the
   profile; checks the blacklist; protects store.expr's file.  ERR names
   the flag or the file:line:column. */
int resolve_config (const struct project_paths *pp, struct mount_flags *mf,
                    struct cage_config *cfg, struct cage_error *err);

#endif
