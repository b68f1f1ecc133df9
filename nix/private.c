/* private.c - a project's private Nix store: register, query, fetch. */
#include "private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "run.h"
#include "storepath.h"

static const char *const nix_cmd[] = { "nix", "--extra-experimental-features", "nix-command", NULL };

int
private_check_cache_url (const char *url, struct cage_error *err)
{
  if (strncmp (url, "http://", 7) == 0 || strncmp (url, "https://", 8) == 0)
    return 0;
  if (strncmp (url, "file://", 7) != 0)
    return cage_error_set (err, 0,
                           "binary cache `%s` is not a file://, http:// or https:// URL; "
                           "e.g. file:///srv/cache or https://cache.nixos.org",
                           url);
  const char *dir = url + 7;
  if (dir[0] != '/')
    return cage_error_set (err, 0, "binary cache `%s`: a file:// URL needs an absolute path "
                           "(file:///srv/cache)", url);
  char info[4096];
  if ((size_t) snprintf (info, sizeof info, "%s/nix-cache-info", dir) >= sizeof info)
    return cage_error_set (err, ENAMETOOLONG, "binary cache `%s`", url);
  if (access (info, R_OK) < 0)
    return cage_error_set (err, 0,
                           "binary cache `%s`: cannot read `%s`: %s; make a cache with: nix copy "
                           "--to %s PATHS",
                           url, info, strerror (errno), url);
  return 0;
}

/* argv of nix-store with --store local?root=ROOT, then ARGS, then PATHS. */
static char **
store_argv (const char *prog_args[], const char *store_arg, char *const *paths)
{
  size_t n = 0, k = 0;
  while (paths && paths[n])
    n++;
  while (prog_args[k])
    k++;
  char **argv = calloc (k + n + 4, sizeof (char *));
  if (!argv)
    return NULL;
  size_t a = 0;
  argv[a++] = (char *) prog_args[0];
  if (store_arg)
    {
      argv[a++] = (char *) "--store";
      argv[a++] = (char *) store_arg;
    }
  for (size_t i = 1; i < k; i++)
    argv[a++] = (char *) prog_args[i];
  for (size_t i = 0; i < n; i++)
    argv[a++] = paths[i];
  return argv;
}

int
private_register (const char *root, char *const *paths, struct cage_error *err)
{
  if (!paths || !paths[0])
    return 0;
  autofree char *store_arg = NULL;
  if (asprintf (&store_arg, "local?root=%s", root) < 0)
    return cage_error_set (err, ENOMEM, "register");
  const char *dump[] = { "nix-store", "--dump-db", NULL };
  const char *load[] = { "nix-store", "--load-db", NULL };
  autofree char **dargv = store_argv (dump, NULL, paths);
  autofree char **largv = store_argv (load, store_arg, NULL);
  if (!dargv || !largv)
    return cage_error_set (err, ENOMEM, "register");
  struct nix_output db = { 0 };
  int rc = nix_run (dargv, NULL, 0, &db, err);
  if (rc == 0)
    rc = nix_run (largv, db.out, db.out_len, NULL, err);
  nix_output_free (&db);
  if (rc < 0)
    return cage_error_prefix (err, "register the copied paths in the private store `%s`", root);
  return 0;
}

int
private_valid (const char *root, char *const *paths, char ***out, struct cage_error *err)
{
  *out = NULL;
  size_t n = 0;
  while (paths && paths[n])
    n++;
  char **v = calloc (n + 1, sizeof (char *));
  if (!v)
    return cage_error_set (err, ENOMEM, "private store");
  *out = v;
  if (n == 0)
    return 0;
  autofree char *store_arg = NULL;
  if (asprintf (&store_arg, "local?root=%s", root) < 0)
    return cage_error_set (err, ENOMEM, "private store");
  const char *check[] = { "nix-store", "--check-validity", "--print-invalid", NULL };
  autofree char **argv = store_argv (check, store_arg, paths);
  if (!argv)
    return cage_error_set (err, ENOMEM, "private store");
  struct nix_output o = { 0 };
  if (nix_run (argv, NULL, 0, &o, err) < 0)
    {
      nix_output_free (&o);
      return cage_error_prefix (err, "query the private store `%s`", root);
    }
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    {
      /* --print-invalid prints the invalid ones, one per line. */
      bool invalid = false;
      size_t len = strlen (paths[i]);
      for (const char *p = o.out; p && (p = strstr (p, paths[i])); p += len)
        if ((p == o.out || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0'))
          {
            invalid = true;
            break;
          }
      if (!invalid && !(v[w++] = strdup (paths[i])))
        {
          nix_output_free (&o);
          return cage_error_set (err, ENOMEM, "private store");
        }
    }
  nix_output_free (&o);
  return 0;
}

/* Nix says "path '/nix/store/...' is required, but there is no substituter
   that can build it" for a path the cache lacks: name it plainly. */
static int
fetch_error (struct cage_error *err, const char *url)
{
  const char *p = strstr (err->msg, "path '" NIX_STORE_DIR "/");
  if (p && strstr (err->msg, "no substituter"))
    {
      char path[512];
      p += strlen ("path '");
      size_t len = strcspn (p, "'");
      snprintf (path, sizeof path, "%.*s", (int) (len < sizeof path ? len : sizeof path - 1), p);
      return cage_error_set (err, 0,
                             "store path %s is not in the binary cache %s; add it there (nix copy "
                             "--to %s %s) or use another cache",
                             path, url, url, path);
    }
  return cage_error_prefix (err, "fetch from the binary cache %s (a corrupted or incomplete "
                                 "cache?)", url);
}

int
private_fetch (const char *root, const char *url, char *const *packages, struct cage_error *err)
{
  if (private_check_cache_url (url, err) < 0)
    return -1;
  size_t n = 0;
  while (packages && packages[n])
    n++;
  if (n == 0)
    return 0;
  autofree char *to = NULL;
  if (asprintf (&to, "local?root=%s", root) < 0)
    return cage_error_set (err, ENOMEM, "fetch");
  const char *args[] = { nix_cmd[0], nix_cmd[1], nix_cmd[2], "copy", "--no-check-sigs",
                         /* only this cache: never the network's default one */
                         "--option", "substituters", "", "--from", url, "--to", to, NULL };
  autofree char **argv = store_argv (args, NULL, packages);
  if (!argv)
    return cage_error_set (err, ENOMEM, "fetch");
  if (nix_run (argv, NULL, 0, NULL, err) < 0)
    return fetch_error (err, url);
  return 0;
}
