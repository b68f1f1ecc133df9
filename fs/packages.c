/* packages.c - packages by name (store.with, --with, store.expr): resolved
   through nix-build, the answers cached by a hash of their inputs. */
#include "packages.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "run.h"
#include "safe_open.h"
#include "storepath.h"

#define EXPR_MAX_SIZE (4 * 1024 * 1024)
#define NIXPKGS_HELP                                                                    \
  "set NIX_PATH=nixpkgs=/path/to/nixpkgs (or add a channel: nix-channel --add "        \
  "https://nixos.org/channels/nixpkgs-unstable nixpkgs && nix-channel --update), or "  \
  "name a Nix file of the project with store.expr, or give store paths with --package"

/* FNV-1a, 64 bits, over a sequence of NUL-terminated fields. */
static void
fnv (uint64_t *h, const void *data, size_t len)
{
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    {
      *h ^= p[i];
      *h *= 0x100000001b3ULL;
    }
}

static void
fnv_field (uint64_t *h, const char *s, size_t len)
{
  fnv (h, s, len);
  fnv (h, "", 1);
}

/* The expr file's contents, read beneath the project (no link followed). */
static int
read_expr (const struct project_paths *pp, const char *expr, char **out, size_t *len,
           struct cage_error *err)
{
  autoclose int pfd = open (pp->project, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return cage_error_set (err, errno, "open the project `%s`", pp->project);
  autoclose int fd = safe_openat (pfd, expr, O_RDONLY);
  if (fd < 0)
    return cage_error_set (err, errno, "store.expr: read `%s/%s`%s", pp->project, expr,
                           errno == ELOOP ? " (a symbolic link: name the file itself)" : "");
  struct stat st;
  if (fstat (fd, &st) < 0)
    return cage_error_set (err, errno, "stat `%s/%s`", pp->project, expr);
  if (!S_ISREG (st.st_mode) || st.st_size > EXPR_MAX_SIZE)
    return cage_error_set (err, 0, "store.expr: `%s/%s` is not a regular file of at most %d "
                           "bytes", pp->project, expr, EXPR_MAX_SIZE);
  autofree char *buf = malloc ((size_t) st.st_size + 1);
  if (!buf)
    return cage_error_set (err, ENOMEM, "read `%s/%s`", pp->project, expr);
  size_t n = 0;
  while (n < (size_t) st.st_size)
    {
      ssize_t r = read (fd, buf + n, (size_t) st.st_size - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return cage_error_set (err, errno, "read `%s/%s`", pp->project, expr);
      if (r == 0)
        break;
      n += (size_t) r;
    }
  buf[n] = '\0';
  *out = steal_ptr (&buf);
  *len = n;
  return 0;
}

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

/* Run nix-build; *OUT gets the store paths it printed. */
static int
build (const struct cage_config *cfg, const struct project_paths *pp, char ***out,
       struct cage_error *err)
{
  autofree char *file = NULL;
  if (cfg->expr && asprintf (&file, "%s/%s", pp->project, cfg->expr) < 0)
    {
      file = NULL;
      return cage_error_set (err, ENOMEM, "nix-build");
    }
  size_t argc = 0;
  char **argv = calloc (2 * cfg->n_with + 5, sizeof *argv);
  if (!argv)
    return cage_error_set (err, ENOMEM, "nix-build");
  argv[argc++] = (char *) "nix-build";
  argv[argc++] = file ? file : (char *) "<nixpkgs>";
  for (size_t i = 0; i < cfg->n_with; i++)
    {
      argv[argc++] = (char *) "-A";
      argv[argc++] = cfg->with[i];
    }
  argv[argc++] = (char *) "--no-out-link";
  argv[argc] = NULL;
  cage_info ("resolving %zu package name(s) with nix-build %s", cfg->n_with, argv[1]);
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

int
packages_resolve (struct cage_config *cfg, const struct project_paths *pp, bool *cached,
                  struct cage_error *err)
{
  if (cached)
    *cached = false;
  if (cfg->n_with == 0 && !cfg->expr)
    return 0;
  uint64_t h = 0xcbf29ce484222325ULL;
  fnv_field (&h, "cagefs-packages-1", 17);
  for (size_t i = 0; i < cfg->n_with; i++)
    fnv_field (&h, cfg->with[i], strlen (cfg->with[i]));
  fnv_field (&h, "\x01", 1);
  if (cfg->expr)
    {
      autofree char *text = NULL;
      size_t len = 0;
      if (read_expr (pp, cfg->expr, &text, &len, err) < 0)
        return -1;
      fnv_field (&h, cfg->expr, strlen (cfg->expr));
      fnv_field (&h, text, len);
    }
  const char *nix_path = getenv ("NIX_PATH") ? getenv ("NIX_PATH") : "";
  fnv_field (&h, nix_path, strlen (nix_path));

  autofree char *dir = NULL, *file = NULL;
  if (asprintf (&dir, "%s/packages", pp->state) < 0)
    dir = NULL;
  if (!dir || asprintf (&file, "%s/%016llx.json", dir, (unsigned long long) h) < 0)
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
      if (build (cfg, pp, &paths, err) < 0)
        return -1;
      if (cache_write (dir, file, cfg, nix_path, paths, err) < 0)
        return -1;
    }
  for (char **p = paths; *p; p++)
    if (config_add_package (cfg, *p) < 0)
      return cage_error_set (err, ENOMEM, "packages");
  return 0;
}
