/* cmd_config.c - `cagefs config PROJECT [MOUNT-OPTIONS] [--json]`: the
   configuration a mount would use, each value with where it came from:
   "default", "profile NAME", "preset NAME", "cage.json:LINE" or "flag". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "json_locate.h"
#include "log.h"
#include "paths.h"
#include "presets.h"
#include "resolve.h"

struct origins
{
  const char *text;     /* cage.json's text, or NULL */
  size_t len;
  json_t *file;         /* parsed, or NULL */
  const struct preset *preset;
  const char *profile;  /* "profile NAME" */
  json_t *out;          /* {"KEY": {"value": .., "from": ..}} */
};

/* "cage.json:LINE" of the value at KEY1[.KEY2][[INDEX]], or NULL. */
static const char *
file_origin (const struct origins *o, char *buf, size_t size, const char *k1, const char *k2,
             long index)
{
  if (!o->file)
    return NULL;
  json_t *v = json_object_get (o->file, k1);
  if (v && k2)
    v = json_object_get (v, k2);
  if (v && index >= 0)
    v = json_array_get (v, (size_t) index);
  if (!v)
    return NULL;
  struct json_step path[3];
  size_t depth = 0;
  path[depth++] = JSON_KEY (k1);
  if (k2)
    path[depth++] = JSON_KEY (k2);
  if (index >= 0)
    path[depth++] = JSON_INDEX ((size_t) index);
  struct json_pos pos;
  if (json_locate (o->text, o->len, path, depth, JSON_LOCATE_VALUE, &pos) < 0)
    snprintf (buf, size, "cage.json");
  else
    snprintf (buf, size, "cage.json:%d", pos.line);
  return buf;
}

static void
put (struct origins *o, const char *key, json_t *value, json_t *from)
{
  json_object_set_new (o->out, key, json_pack ("{s:o, s:o}", "value", value, "from", from));
}

/* A scalar: FLAG given, else the file's K1.K2, else FALLBACK. */
static void
put_scalar (struct origins *o, const char *key, json_t *value, bool flag, const char *k1,
            const char *k2, const char *fallback)
{
  char buf[64];
  const char *f = file_origin (o, buf, sizeof buf, k1, k2, -1);
  put (o, key, value, json_string (flag ? "flag" : f ? f : fallback));
}

static bool
in (const char *s, char *const *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (s, v[i]) == 0)
      return true;
  return false;
}

static bool
in_c (const char *s, const char *const *v)
{
  for (; v && *v; v++)
    if (strcmp (s, *v) == 0 || (strncmp (*v, "~/", 2) == 0 && strcmp (s, *v + 2) == 0))
      return true;
  return false;
}

/* Where the file's K1.K2 array has S (compared after NORM), or -1. */
static long
file_index (const struct origins *o, const char *k1, const char *k2, const char *s)
{
  json_t *a = o->file ? json_object_get (o->file, k1) : NULL;
  if (a && k2)
    a = json_object_get (a, k2);
  if (a && json_is_object (a) && !k2)
    a = json_object_get (a, "patterns");
  size_t i;
  json_t *e;
  json_array_foreach (a, i, e)
    {
      const char *v = json_string_value (e);
      if (v && (strcmp (v, s) == 0 || (strncmp (v, "~/", 2) == 0 && strcmp (v + 2, s) == 0)))
        return (long) i;
    }
  return -1;
}

/* A list: each element from a flag, the file, or the preset. */
static void
put_list (struct origins *o, const char *key, char *const *v, size_t n, char *const *flag,
          size_t n_flag, const char *k1, const char *k2, const char *const *preset_v)
{
  json_t *values = json_array (), *from = json_array ();
  for (size_t i = 0; i < n; i++)
    {
      char buf[64];
      const char *f = NULL;
      long idx = file_index (o, k1, k2, v[i]);
      if (flag && in (v[i], flag, n_flag))
        f = "flag";
      else if (idx >= 0)
        {
          json_t *a = json_object_get (o->file, k1);
          f = file_origin (o, buf, sizeof buf, k1,
                           k2 ? k2 : (json_is_object (a) ? "patterns" : NULL), idx);
        }
      else if (o->preset && in_c (v[i], preset_v))
        {
          snprintf (buf, sizeof buf, "preset %s", o->preset->name);
          f = buf;
        }
      json_array_append_new (values, json_string (v[i]));
      json_array_append_new (from, json_string (f ? f : "default"));
    }
  put (o, key, values, from);
}

/* network.allow: each entry with its origin ("preset NAME", "registries
   (preset NAME)", "--allow", or the file's "cage.json:LINE"). */
static void
put_allow (struct origins *o, const struct net_policy *allow)
{
  json_t *values = json_array (), *from = json_array ();
  for (size_t i = 0; i < allow->n; i++)
    {
      const struct net_entry *e = &allow->v[i];
      char buf[64];
      const char *f = e->origin ? e->origin : "default";
      long idx = strcmp (f, "cage.json") == 0 ? file_index (o, "network", "allow", e->text) : -1;
      if (idx >= 0)
        f = file_origin (o, buf, sizeof buf, "network", "allow", idx);
      json_array_append_new (values, json_string (e->text));
      json_array_append_new (from, json_string (f ? f : "cage.json"));
    }
  put (o, "network.allow", values, from);
}

static void
print_text (json_t *out)
{
  const char *key;
  json_t *e;
  json_object_foreach (out, key, e)
    {
      json_t *v = json_object_get (e, "value"), *f = json_object_get (e, "from");
      if (json_is_array (v))
        {
          if (json_array_size (v) == 0)
            printf ("%-20s []\n", key);
          for (size_t i = 0; i < json_array_size (v); i++)
            {
              char k[64];
              snprintf (k, sizeof k, "%s[%zu]", key, i);
              autofree char *s = json_dumps (json_array_get (v, i), JSON_ENCODE_ANY);
              printf ("%-20s %-40s %s\n", k, s ? s : "?",
                      json_string_value (json_array_get (f, i)));
            }
          continue;
        }
      autofree char *s = json_dumps (v, JSON_ENCODE_ANY);
      printf ("%-20s %-40s %s\n", key, s ? s : "?", json_string_value (f));
    }
}

int
cmd_config (int argc, char **argv)
{
  static const struct option own[] = {
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct cage_error err = { 0 };
  struct mount_flags mf;
  mount_flags_init (&mf);
  bool json = false;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--json") == 0)
      json = true;
  int c, rc = 1;
  optind = 1;
  struct mount_getopt g;
  mount_flags_getopt (&g, own, "jh");
  while ((c = getopt_long (argc, argv, g.shortopts, g.longopts, NULL)) != -1)
    {
      int r = mount_flags_option (&mf, c, optarg, &err);
      if (r < 0)
        {
          cage_error_print (&err, "cagefs", json);
          mount_flags_free (&mf);
          return 2;
        }
      if (r > 0)
        continue;
      switch (c)
        {
        case 'j': break;
        case 'h':
          printf ("usage: cagefs config PROJECT [--json] [--profile P] [--with NAMES] [--package "
                  "STOREPATH]... [--mode M] [--network N] [--allow ENTRY]... [--blacklist GLOB]...\n"
                  "       [--scan] [--cache URL] [--nix-daemon | --nix-daemon-unsandboxed]\n"
                  "       [--workspace-view direct|cow|tracked]\n"
                  "prints the configuration `cagefs mount` would use with these options, each\n"
                  "value with where it came from: default, profile NAME, preset NAME,\n"
                  "cage.json:LINE or flag (network.allow: preset NAME, registries (preset\n"
                  "NAME), cage.json:LINE or --allow)\n");
          mount_flags_free (&mf);
          return 0;
        default:
          mount_flags_free (&mf);
          return cli_bad_option ("config", argv);
        }
    }
  if (optind != argc - 1)
    {
      mount_flags_free (&mf);
      return cli_usage_error ("config", "expected exactly one PROJECT directory");
    }
  struct project_paths pp = { 0 };
  struct cage_config cfg;
  config_init (&cfg);
  struct origins o = { 0 };
  autofree char *text = NULL;
  /* what the flags gave, before resolve_config takes it */
  size_t n_flag_packages = mf.lists.n_packages;
  bool flag_profile = mf.profile, flag_mode = mf.mode, flag_network = mf.network;
  bool flag_view = mf.view;
  bool flag_scan = mf.lists.blacklist_scan, flag_nix_daemon = mf.lists.have_nix_daemon;
  if (paths_project (argv[optind], false, &pp, &err) < 0
      || resolve_config (&pp, &mf, &cfg, &err) < 0)
    goto out;
  {
    char path[4096];
    snprintf (path, sizeof path, "%s/cage.json", pp.project);
    autoclose int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
      {
        json_error_t je;
        o.file = json_loadfd (fd, 0, &je);
        if (o.file && lseek (fd, 0, SEEK_SET) == 0)
          {
            size_t cap = 1 << 20;
            text = calloc (1, cap + 1);
            ssize_t n = text ? read (fd, text, cap) : -1;
            o.text = text;
            o.len = n > 0 ? (size_t) n : 0;
          }
      }
  }
  if (cfg.preset)
    o.preset = preset_find (cfg.preset, &err);
  char profile_from[64];
  snprintf (profile_from, sizeof profile_from, "profile %s", config_profile_name (cfg.profile));
  o.out = json_object ();

  put_scalar (&o, "profile", json_string (config_profile_name (cfg.profile)), flag_profile,
              "profile", NULL, "default");
  put_scalar (&o, "preset", cfg.preset ? json_string (cfg.preset) : json_null (), false,
              "preset", NULL, "default");
  put_scalar (&o, "store.mode", json_string (config_mode_name (cfg.mode)), flag_mode, "store",
              "mode", "default");
  put_list (&o, "store.packages", cfg.packages, cfg.n_packages, n_flag_packages ? cfg.packages
            : NULL, n_flag_packages ? cfg.n_packages : 0, "store", "packages", NULL);
  put_list (&o, "store.with", cfg.with, cfg.n_with, mf.lists.with, mf.lists.n_with, "store",
            "with", o.preset ? o.preset->packages : NULL);
  put_scalar (&o, "store.expr", cfg.expr ? json_string (cfg.expr) : json_null (), false, "store",
              "expr", "default");
  put_scalar (&o, "store.cache", cfg.cache ? json_string (cfg.cache) : json_null (), false,
              "store", "cache", "default");
  put_scalar (&o, "store.nix_daemon", cfg.nix_daemon_unsandboxed ? json_string ("unsandboxed")
              : json_boolean (cfg.nix_daemon), flag_nix_daemon, "store", "nix_daemon", "default");
  char preset_from[64];
  snprintf (preset_from, sizeof preset_from, "preset %s", cfg.preset ? cfg.preset : "");
  put_scalar (&o, "network", json_string (config_network_name (cfg.network)), flag_network,
              "network", NULL,
              cfg.preset && cfg.network == NETWORK_FILTERED ? preset_from : profile_from);
  put_allow (&o, &cfg.allow);
  put_scalar (&o, "workspace", json_string (cfg.workspace_readonly ? "read-only" : "read-write"),
              false, "workspace", NULL, profile_from);
  put_scalar (&o, "workspace.view", json_string (config_view_name (cfg.view)), flag_view,
              "workspace", "view", "default");
  put_scalar (&o, "home.mode", json_string (cfg.home_mode == HOME_EMPTY ? "empty" : "persistent"),
              false, "home", "mode", profile_from);
  put_scalar (&o, "home.host", json_boolean (cfg.home_host), false, "home", "host",
              profile_from);
  put_list (&o, "home.writable", cfg.home_writable, cfg.n_home_writable, NULL, 0, "home",
            "writable", o.preset ? o.preset->home : NULL);
  put_list (&o, "blacklist", cfg.blacklist, cfg.n_blacklist, mf.lists.blacklist,
            mf.lists.n_blacklist, "blacklist", NULL, NULL);
  put_scalar (&o, "blacklist.defaults", json_boolean (!cfg.blacklist_no_defaults), false,
              "blacklist", json_is_object (json_object_get (o.file, "blacklist")) ? "defaults"
              : "\x01", "default");
  put_scalar (&o, "blacklist.scan", json_boolean (cfg.blacklist_scan), flag_scan, "blacklist",
              json_is_object (json_object_get (o.file, "blacklist")) ? "scan" : "\x01",
              "default");
  put_list (&o, "protected", cfg.protected, cfg.n_protected, NULL, 0, "protected", NULL, NULL);
  put_list (&o, "env.pass", cfg.env_pass, cfg.n_env_pass, NULL, 0, "env", "pass",
            o.preset ? o.preset->env : NULL);
  {
    json_t *set = json_object ();
    for (size_t i = 0; i < cfg.n_env_set; i++)
      {
        const char *eq = strchr (cfg.env_set[i], '=');
        char name[256];
        snprintf (name, sizeof name, "%.*s", (int) (eq - cfg.env_set[i]), cfg.env_set[i]);
        json_object_set_new (set, name, json_string (eq + 1));
      }
    put_scalar (&o, "env.set", set, false, "env", "set", "default");
  }
  put_scalar (&o, "limits.memory", cfg.limits.memory ? json_integer ((json_int_t) cfg.limits.memory)
              : json_null (), false, "limits", "memory", "default");
  put_scalar (&o, "limits.cpus", cfg.limits.cpus > 0 ? json_real (cfg.limits.cpus) : json_null (),
              false, "limits", "cpus", "default");
  put_scalar (&o, "limits.pids", cfg.limits.pids ? json_integer ((json_int_t) cfg.limits.pids)
              : json_null (), false, "limits", "pids", "default");
  put_scalar (&o, "limits.nofile", cfg.limits.nofile ? json_integer ((json_int_t) cfg.limits.nofile)
              : json_null (), false, "limits", "nofile", "default");
  char free_min[32] = "";
  if (cfg.limits.workspace_free_min_pct)
    snprintf (free_min, sizeof free_min, "%u%%", cfg.limits.workspace_free_min_pct);
  put_scalar (&o, "limits.workspace_free_min",
              free_min[0] ? json_string (free_min)
              : cfg.limits.have_workspace_free_min
                ? json_integer ((json_int_t) cfg.limits.workspace_free_min)
                : json_string ("min(1G, 5%)"),
              false, "limits", "workspace_free_min", "default");
  for (int h = 0; h < HOOK_COUNT; h++)
    {
      char key[64];
      snprintf (key, sizeof key, "hooks.%s", config_hook_name ((enum hook_kind) h));
      put_scalar (&o, key, cfg.hooks[h] ? json_string (cfg.hooks[h]) : json_null (), false,
                  "hooks", config_hook_name ((enum hook_kind) h), "default");
    }
  if (json)
    cli_print_json (json_pack ("{s:s, s:O}", "project", pp.project, "config", o.out));
  else
    print_text (o.out);
  rc = 0;

out:
  if (rc != 0)
    cage_error_print (&err, "cagefs", json);
  json_decref (o.out);
  json_decref (o.file);
  config_free (&cfg);
  paths_free (&pp);
  mount_flags_free (&mf);
  return rc;
}
