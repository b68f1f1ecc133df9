/* packages.c - packages by name (store.with, --with, store.expr): resolved
   through nix-build, the answers cached by a hash of their inputs. */
#include "packages.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "expr_copy.h"
#include "log.h"
#include "run.h"
#include "sha256.h"
#include "storepath.h"

#define NIXPKGS_HELP                                                                    \
  "set NIX_PATH=nixpkgs=/path/to/nixpkgs (or add a channel: nix-channel --add "        \
  "https://nixos.org/channels/nixpkgs-unstable nixpkgs && nix-channel --update), or "  \
  "name a Nix file of the project with store.expr, or give store paths with --package"

/* The cached paths in FILE, when every one is still in the store. */
static char **
cache_read (const char *file)
{
  json_error_t je;
  json_auto_t *o = json_load_file (file, 0, &je);
  json_t *a = o ? json_object_get (o, "paths") : NULL;
  if (!json_is_array (a) || json_array_size (a) == 0)
    return NULL;
  char **v = calloc (json_array_size (a) + 1, sizeof *v);
  if (!v)
    return NULL;
  size_t i;
  json_t *e;
  json_array_foreach (a, i, e)
    {
      const char *s = json_string_value (e);
      struct stat st;
      if (!s || !storepath_valid (s) || lstat (s, &st) < 0 || !(v[i] = strdup (s)))
        {
          cage_strv_free (v);
          return NULL;
        }
    }
  return v;
}

static int
cache_write (const char *dir, const char *file, const struct cage_config *cfg,
             const char *nix_path, char **paths, struct cage_error *err)
{
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return cage_error_set (err, errno, "create `%s`", dir);
  json_t *w = json_array (), *p = json_array ();
  for (size_t i = 0; w && i < cfg->n_with; i++)
    json_array_append_new (w, json_string (cfg->with[i]));
  for (size_t i = 0; p && paths[i]; i++)
    json_array_append_new (p, json_string (paths[i]));
  json_auto_t *o = json_pack ("{s:o, s:s?, s:s, s:o}", "with", w, "expr", cfg->expr,
                              "nix_path", nix_path, "paths", p);
  if (!o)
    return cage_error_set (err, ENOMEM, "write `%s`", file);
  char tmp[4200];
  snprintf (tmp, sizeof tmp, "%s.tmp.%d", file, (int) getpid ());
  if (json_dump_file (o, tmp, JSON_INDENT (2)) < 0)
    {
      int e = errno ? errno : EIO;
      unlink (tmp);
      return cage_error_set (err, e, "write `%s`", tmp);
    }
  if (rename (tmp, file) < 0)
    {
      int e = errno;
      unlink (tmp);
      return cage_error_set (err, e, "rename `%s` to `%s`", tmp, file);
    }
  return 0;
}

/* The expr's evaluation: Nix's restricted mode, where only the copy of the
   expr's folder, the store (world-readable) and NIX_PATH's entries may be
   read, no URI fetched, and no builtins.exec. */
#define EXPR_SEARCH_NAME "cagefs-store-expr"
#define RESTRICTED_HELP                                                                  \
  "store.expr is evaluated in Nix's restricted mode: it may read only the files of its " \
  "folder `%s`, the Nix store and NIX_PATH, and fetch nothing; keep what it imports in "  \
  "that folder"

/* Run nix-build (on COPY's file when there is an expr); *OUT gets the
   store paths it printed. */
static int
build (const struct cage_config *cfg, const struct project_paths *pp,
       const struct expr_copy *copy, char ***out, struct cage_error *err)
{
  const char *file = copy ? copy->file : NULL;
  autofree char *allow_expr = NULL;
  if (copy && asprintf (&allow_expr, EXPR_SEARCH_NAME "=%s", copy->folder) < 0)
    {
      allow_expr = NULL;
      return cage_error_set (err, ENOMEM, "nix-build");
    }
  size_t argc = 0;
  char **argv = calloc (2 * cfg->n_with + 20, sizeof *argv);
  if (!argv)
    return cage_error_set (err, ENOMEM, "nix-build");
  argv[argc++] = (char *) "nix-build";
  argv[argc++] = file ? (char *) file : (char *) "<nixpkgs>";
  if (file)
    {
      argv[argc++] = (char *) "--option";
      argv[argc++] = (char *) "restrict-eval";
      argv[argc++] = (char *) "true";
      argv[argc++] = (char *) "--option";
      argv[argc++] = (char *) "allowed-uris";
      argv[argc++] = (char *) "";
      argv[argc++] = (char *) "--option";
      argv[argc++] = (char *) "allow-unsafe-native-code-during-evaluation";
      argv[argc++] = (char *) "false";
      argv[argc++] = (char *) "-I";
      argv[argc++] = allow_expr;
      argv[argc++] = (char *) "-I";
      argv[argc++] = (char *) "cagefs-nix-store=" NIX_STORE_DIR;
    }
  for (size_t i = 0; i < cfg->n_with; i++)
    {
      argv[argc++] = (char *) "-A";
      argv[argc++] = cfg->with[i];
    }
  argv[argc++] = (char *) "--no-out-link";
  argv[argc] = NULL;
  cage_info ("resolving %zu package name(s) with nix-build %s%s", cfg->n_with,
             file ? cfg->expr : argv[1], file ? " (restricted evaluation)" : "");
  struct nix_output o = { 0 };
  int r = nix_run (argv, NULL, 0, &o, err);
  free (argv);
  if (r < 0)
    {
      if (!file && o.errtext && strstr (o.errtext, "'nixpkgs' was not found"))
        {
          const char *np = getenv ("NIX_PATH");
          cage_error_set (err, 0, "store.with: no nixpkgs in the Nix search path (NIX_PATH=%s); "
                          NIXPKGS_HELP, np ? np : "");
        }
      else if (file && o.errtext)
        {
          /* Name the project's file, not the copy Nix was given. */
          bool restricted = strstr (o.errtext, "forbidden in restricted mode")
                            || strstr (o.errtext, "not allowed in restricted mode");
          const char *slash = strrchr (cfg->expr, '/');
          autofree char *folder = NULL;
          if (asprintf (&folder, "%s%s%.*s", pp->project, slash ? "/" : "",
                        slash ? (int) (slash - cfg->expr) : 0, cfg->expr) < 0)
            folder = NULL;
          char hint[1024] = "";
          if (restricted)
            snprintf (hint, sizeof hint, "; " RESTRICTED_HELP, folder ? folder : pp->project);
          cage_error_set (err, 0, "store.expr: nix-build `%s/%s` failed: %s%s", pp->project,
                          cfg->expr, nix_error_line (o.errtext), hint);
        }
      else
        cage_error_prefix (err, "store.%s", file ? "expr" : "with");
      nix_output_free (&o);
      return -1;
    }
  size_t n = 0;
  char **v = calloc (o.out_len / 2 + 2, sizeof *v);
  if (!v)
    {
      nix_output_free (&o);
      return cage_error_set (err, ENOMEM, "nix-build");
    }
  for (char *save = NULL, *l = strtok_r (o.out, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      if (!storepath_valid (l))
        {
          cage_error_set (err, 0, "nix-build printed `%.200s`, not a store path", l);
          cage_strv_free (v);
          nix_output_free (&o);
          return -1;
        }
      if (!(v[n++] = strdup (l)))
        {
          cage_strv_free (v);
          nix_output_free (&o);
          return cage_error_set (err, ENOMEM, "nix-build");
        }
    }
  nix_output_free (&o);
  if (n == 0)
    {
      cage_strv_free (v);
      return cage_error_set (err, 0, "store.%s: nix-build built nothing", file ? "expr" : "with");
    }
  *out = v;
  return 0;
}

static void
expr_copy_freep (struct expr_copy *c)
{
  expr_copy_free (c);
}

static void
hash_field (struct sha256 *h, const char *s)
{
  sha256_update (h, s, strlen (s) + 1);
}

int
packages_resolve (struct cage_config *cfg, const struct project_paths *pp, bool *cached,
                  struct cage_error *err)
{
  if (cached)
    *cached = false;
  if (cfg->n_with == 0 && !cfg->expr)
    return 0;
  /* The key: the names, the expr's path and its whole folder (what the
     restricted evaluation can read of the project), and NIX_PATH. */
  __attribute__ ((cleanup (expr_copy_freep))) struct expr_copy copy = { 0 };
  autosha256 struct sha256 h;
  if (sha256_init (&h) < 0)
    return cage_error_set (err, ENOMEM, "packages: the cache key");
  hash_field (&h, "cagefs-packages-2");
  for (size_t i = 0; i < cfg->n_with; i++)
    hash_field (&h, cfg->with[i]);
  hash_field (&h, "\x01");
  if (cfg->expr)
    {
      if (expr_copy_make (pp->project, cfg->expr, pp->state, &copy, err) < 0)
        return -1;
      hash_field (&h, cfg->expr);
      hash_field (&h, copy.digest);
    }
  const char *nix_path = getenv ("NIX_PATH") ? getenv ("NIX_PATH") : "";
  hash_field (&h, nix_path);
  unsigned char digest[32];
  char hex[65];
  sha256_final (&h, digest);
  sha256_hex (digest, hex);

  autofree char *dir = NULL, *file = NULL;
  if (asprintf (&dir, "%s/packages", pp->state) < 0)
    dir = NULL;
  if (!dir || asprintf (&file, "%s/%.32s.json", dir, hex) < 0)
    {
      file = NULL;
      return cage_error_set (err, ENOMEM, "packages");
    }
  autostrv char **paths = cache_read (file);
  if (paths)
    {
      cage_info ("package names resolved from the cache %s", file);
      if (cached)
        *cached = true;
    }
  else
    {
      if (build (cfg, pp, cfg->expr ? &copy : NULL, &paths, err) < 0)
        return -1;
      if (cache_write (dir, file, cfg, nix_path, paths, err) < 0)
        return -1;
    }
  for (char **p = paths; *p; p++)
    if (config_add_package (cfg, *p) < 0)
      return cage_error_set (err, ENOMEM, "packages");
  return 0;
}
