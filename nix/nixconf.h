/* nixconf.h - whether the host's nix-daemon builds in a sandbox: shared
   mode's store.nix_daemon hands the agent the daemon's socket, and without
   a sandbox the daemon runs the agent's builders on the host (as the build
   users, with the host's files and, for fixed-output derivations, its
   network). */
#ifndef CAGE_NIXCONF_H
#define CAGE_NIXCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* TEXT is what `nix show-config` (`nix config show`) prints, one
   "NAME = VALUE" a line.  True when it says `sandbox = true` and
   `sandbox-fallback = false` (with fallback, a daemon that cannot make a
   sandbox builds without one).  Otherwise false and WHY (WHY_SIZE bytes)
   gets the setting at fault, e.g. "sandbox = false". */
bool nix_config_sandboxed (const char *text, char *why, size_t why_size);

/* Ask Nix as the daemon sees it: `nix show-config` (or `nix config show`)
   run without the user's own configuration (NIX_CONFIG, NIX_CONF_DIR and
   the user's nix.conf are the client's, not the daemon's), so only
   /etc/nix/nix.conf and Nix's defaults count.  0 with *SANDBOXED (and WHY
   when false); -1 with ERR when Nix could not be asked. */
int nix_daemon_sandboxed (bool *sandboxed, char *why, size_t why_size, struct cage_error *err);

#endif
