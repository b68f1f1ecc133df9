/* config.h - the project's cage.json (jansson), overridable by flags.

   Schema (for now):
     {
       "store":     { "mode": "readonly" | "shared" | "copy" | "isolated",
                      "packages": [ "/nix/store/<hash>-<name>", ... ],
                      "cache": "file:///srv/cache" | "https://...",  isolated
                      "nix_daemon": false | true | "unsandboxed" },   shared
                        (true: only when the daemon builds in a sandbox;
                        "unsandboxed": the user takes the risk)
       "blacklist": [ "<glob>", ... ],          extra gitignore-style globs,
                                                added to the defaults; or
       "blacklist": { "defaults": true, "patterns": [ "<glob>", ... ],
                      "scan": false }           also hide files holding keys
                                                and tokens (secret_scan.h)
       "protected": [ "<glob>", ... ]  or  { "defaults": ..., "patterns": ... }
                                                readable, never changed
       "network":   "off" | "host" | "filtered", or
       "network":   { "mode": "filtered", "allow": [ "api.example.com",
                      "*.example.org:443", "198.51.100.0/24" ] }
                                                (net_policy.h; "mode"
                                                defaults to "filtered")
       "workspace": { "view": "direct" | "cow" | "tracked" },
       "env":       { "pass": [ "NAME", ... ],      caller's variables to keep
                      "set":  { "NAME": "value" } }  explicit values
       "limits":    { "memory": "512M" | bytes, "cpus": 1.5,
                      "pids": 256, "nofile": 1024 },
       "hooks":     { "pre-mount": "sh command", "post-mount": "...",
                      "pre-umount": "...", "post-umount": "..." },
       "profile":   "strict" | "standard" | "relaxed",
       "preset":    "claude-code" | "codex" | ...     (common/presets.c)
       "workspace": "read-write" | "read-only",
       "home":      { "mode": "persistent" | "empty", "host": false,
                      "writable": [ "~/.claude/", "~/.claude.json" ] }
     }
   and in "store": "with": [ "git", ... ] (nixpkgs attribute names) and
   "expr": "nix/tools.nix" (a Nix file of the project, built instead of
   <nixpkgs>).
   Every key is optional.  An unknown key, a wrong type or a bad value is an
   error naming FILE:LINE:COLUMN and the valid choices.  */
#ifndef CAGE_CONFIG_H
#define CAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "net_policy.h"

enum store_mode
{
  STORE_READONLY = 0, /* default: read-only, only the closure visible */
  STORE_SHARED,       /* whole host store visible, read-only */
  STORE_COPY,         /* a private, writable copy of the closure */
  STORE_ISOLATED,     /* a private store filled from a binary cache only */
};

/* What the agent sees at /workspace (fs/views/cow.h, fs/views/tracked.h). */
enum workspace_view
{
  VIEW_DIRECT = 0, /* default: the project, read-write */
  VIEW_COW,        /* writes land in an upper layer in the state folder */
  VIEW_TRACKED,    /* only what git tracks, plus what the agent creates */
};

enum network_mode
{
  NETWORK_OFF = 0, /* default: new net namespace with only lo */
  NETWORK_HOST,
  NETWORK_FILTERED, /* new net namespace; the allowlist through the daemon's
                       egress proxy (net_policy.h, fs/egress/) */
};

/* Resource limits of a cage; 0 means none. */
/* Profiles: a base the other keys override (config_apply_profile). */
enum cage_profile
{
  PROFILE_STANDARD = 0, /* workspace read-write, network off, persistent home */
  PROFILE_STRICT,       /* workspace read-only, network off, empty home */
  PROFILE_RELAXED,      /* workspace read-write, network host, persistent home
                           plus the user's real home read-only */
};

enum home_mode
{
  HOME_PERSISTENT = 0, /* <state>/home, kept across mounts */
  HOME_EMPTY,          /* a fresh empty folder each mount */
};

struct cage_limits
{
  unsigned long long memory; /* bytes */
  double cpus;               /* CPUs' worth of time, e.g. 1.5 */
  unsigned long pids;        /* processes and threads */
  unsigned long nofile;      /* open files per process */
  /* The daemon refuses writes to the workspace (ENOSPC, audited) that
     would leave its filesystem less free space than this: bytes, or
     percent of its size; both 0 with have_workspace_free_min: no floor;
     not given: the smaller of CAGE_DEFAULT_FREE_MIN and
     CAGE_DEFAULT_FREE_MIN_PCT percent. */
  unsigned long long workspace_free_min;
  unsigned workspace_free_min_pct;
  bool have_workspace_free_min;
};

/* The limits a profile gives where none is set: processes and threads. */
#define CAGE_DEFAULT_PIDS 4096
#define CAGE_STRICT_PIDS 1024
/* The workspace's free-space floor (limits.workspace_free_min). */
#define CAGE_DEFAULT_FREE_MIN (1ULL << 30)
#define CAGE_DEFAULT_FREE_MIN_PCT 5

/* Lifecycle hooks: shell commands cagefs runs on the host (fs/setup/hooks.c). */
enum hook_kind
{
  HOOK_PRE_MOUNT = 0,
  HOOK_POST_MOUNT,
  HOOK_PRE_UMOUNT,
  HOOK_POST_UMOUNT,
  HOOK_COUNT,
};

struct cage_config
{
  enum store_mode mode;
  char **packages;      /* NULL-terminated; store paths */
  size_t n_packages;
  char **blacklist;     /* NULL-terminated; extra globs (defaults not included) */
  size_t n_blacklist;
  bool blacklist_no_defaults; /* "blacklist": {"defaults": false} */
  bool blacklist_scan;  /* "blacklist": {"scan": true} or --scan: content-aware hiding */
  char **protected;     /* NULL-terminated; extra globs the agent may read, not change */
  size_t n_protected;
  bool protected_no_defaults; /* "protected": {"defaults": false} */
  enum network_mode network;
  struct net_policy allow; /* NETWORK_FILTERED: "network": {"allow": [...]},
                              --allow, the preset's names */
  char *network_at;     /* "cage.json:LINE:COLUMN" of the file's network (its
                           "allow" when given), or NULL: where an empty or
                           too wide filtered list is blamed */
  enum workspace_view view; /* "workspace": {"view": ...} */
  bool have_view;
  char **env_pass;      /* NULL-terminated; variable names */
  size_t n_env_pass;
  char **env_set;       /* NULL-terminated; "NAME=value", a later NAME wins */
  size_t n_env_set;
  struct cage_limits limits;
  char *cache;          /* binary cache URL (isolated mode), or NULL */
  bool nix_daemon;      /* shared mode: the host's nix-daemon socket inside */
  bool have_nix_daemon; /* nix_daemon was given */
  bool nix_daemon_unsandboxed; /* "unsandboxed": even when the daemon builds
                                  without a sandbox (the user's choice) */
  char *hooks[HOOK_COUNT]; /* shell commands, or NULL */
  bool have_network;    /* network was given (file or flag) */
  enum cage_profile profile;
  bool have_profile;
  char *preset;         /* the preset's name, or NULL (already applied) */
  bool workspace_readonly;
  bool have_workspace;
  enum home_mode home_mode;
  bool have_home_mode;
  bool home_host;       /* the user's real home, read-only, at its path */
  bool have_home_host;
  char **home_writable; /* NULL-terminated; relative to the home, "dir/" */
  size_t n_home_writable;
  char **with;          /* NULL-terminated; Nix attribute names */
  size_t n_with;
  char *expr;           /* store.expr: a Nix file relative to the project */
};

/* Initialise CFG to defaults (readonly, no packages, no extra globs,
   network off).  */
void config_init (struct cage_config *cfg);

/* Read PROJECT_DIR/cage.json if it exists and merge into CFG.  A missing
   file is not an error.  */
int config_load_project (struct cage_config *cfg, const char *project_dir,
                         struct cage_error *err);

/* Parse the JSON file at PATH into CFG (used by config_load_project). */
int config_load_file (struct cage_config *cfg, const char *path,
                      struct cage_error *err);

/* Parse JSON text; NAME is the file name used in messages. */
int config_load_string (struct cage_config *cfg, const char *text,
                        const char *name, struct cage_error *err);

/* Flag overrides. */
int config_add_package (struct cage_config *cfg, const char *path);
int config_add_blacklist (struct cage_config *cfg, const char *glob);
int config_parse_mode (const char *s, enum store_mode *out,
                       struct cage_error *err);
int config_parse_network (const char *s, enum network_mode *out,
                          struct cage_error *err);
int config_parse_view (const char *s, enum workspace_view *out,
                       struct cage_error *err);

/* Environment: NAME must be [A-Za-z_][A-Za-z0-9_]*.  config_add_env_set
   takes "NAME=value" and replaces an earlier NAME.  */
bool config_env_name_valid (const char *name);
int config_add_env_pass (struct cage_config *cfg, const char *name,
                         struct cage_error *err);
int config_add_env_set (struct cage_config *cfg, const char *assignment,
                        struct cage_error *err);

/* Limits as flags give them: "512M" (K, M, G, T: powers of 1024; plain
   bytes), "1.5" CPUs, a count.  Zero is refused.  */
int config_parse_memory (const char *s, unsigned long long *out,
                         struct cage_error *err);
int config_parse_cpus (const char *s, double *out, struct cage_error *err);
int config_parse_count (const char *what, const char *s, unsigned long *out,
                        struct cage_error *err);

/* Profiles: "strict", "standard", "relaxed" (an unknown name's error says
   which one was meant).  config_apply_profile sets what neither the file
   nor a flag gave (have_*): network, workspace, home mode and host home.
   With a preset, the standard profile's network is "filtered". */
int config_parse_profile (const char *s, enum cage_profile *out, struct cage_error *err);
const char *config_profile_name (enum cage_profile p);
void config_apply_profile (struct cage_config *cfg);
/* The limits profile P gives where CFG sets none (limits.pids). */
void config_profile_limits (struct cage_config *cfg, enum cage_profile p);

/* store.with / --with: a Nix attribute path (letters, digits, _ - ' + .,
   not starting with - or .). */
int config_add_with (struct cage_config *cfg, const char *name, struct cage_error *err);
/* home.writable: "~/.claude/" or ".claude/": relative to the home, no
   "..", a trailing / for a folder.  Stored without "~/". */
int config_add_home_writable (struct cage_config *cfg, const char *path,
                              struct cage_error *err);
int config_add_protected (struct cage_config *cfg, const char *glob);

/* --allow ENTRY: added to cfg->allow with the origin "--allow"; a
   malformed entry is one error naming "--allow ENTRY". */
int config_add_allow (struct cage_config *cfg, const char *entry, struct cage_error *err);
/* After the file, the flags and the profile: a filtered network's list is
   not empty and within NET_MAX_PORTS (the error names cfg->network_at or
   FLAG, e.g. "--network filtered"); --allow (ORIGIN "--allow") entries
   without a filtered network are an error; another network's list is
   emptied. */
int config_check_network (struct cage_config *cfg, const char *flag, struct cage_error *err);

/* The top-level keys, NULL-terminated (for docs and suggestions). */
extern const char *const config_root_keys[];

const char *config_mode_name (enum store_mode m);
const char *config_network_name (enum network_mode m);
const char *config_view_name (enum workspace_view v);
/* "pre-mount", "post-mount", "pre-umount", "post-umount". */
const char *config_hook_name (enum hook_kind h);

void config_free (struct cage_config *cfg);

#endif
