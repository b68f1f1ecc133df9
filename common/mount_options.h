/* mount_options.h - the options that shape a mount, written once: `cagefs
   mount` and `cagefs config` parse them (fs/setup/resolve.c: getopt's tables are
   made from this one), and `cage run` hands every one of them on to
   cagefs mount (launcher/run.c). */
#ifndef CAGE_MOUNT_OPTIONS_H
#define CAGE_MOUNT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

struct mount_option
{
  const char *name;  /* long name, without "--" */
  int key;           /* getopt's value: the short option's letter, or a
                        MOUNT_OPT_* above 0xff for long-only ones */
  bool has_short;    /* KEY is also a short option (-p) */
  const char *arg;   /* the value's placeholder ("STOREPATH"); NULL: a switch */
};

enum
{
  MOUNT_OPT_NIX_DAEMON_UNSANDBOXED = 0x100,
  MOUNT_OPT_CACHE,
  MOUNT_OPT_WORKSPACE_VIEW,
  MOUNT_OPT_ALLOW,
};

/* Every mount option, ended by a NULL name. */
extern const struct mount_option mount_options[];

/* The option named by the argument A ("--mode", "--mode=x", "-p"), or NULL.
   *INLINE_VALUE: the value is in A itself ("--mode=x"). */
const struct mount_option *mount_option_find (const char *a, bool *inline_value);

#endif
