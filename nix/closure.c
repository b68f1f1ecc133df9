#include "closure.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "run.h"
#include "storepath.h"

extern char **environ;

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
closure_resolve (char *const *packages, char ***out, struct cage_error *err)
{
  return closure_resolve_in (NULL, packages, out, err);
}

int
closure_resolve_in (const char *root, char *const *packages, char ***out, struct cage_error *err)
{
  *out = NULL;
  size_t n = 0;
  for (; packages && packages[n]; n++)
    {
      const char *p = packages[n];
      if (!storepath_valid (p))
        return cage_error_set (err, 0,
                               "package `%s` is not a store path (expected %s/<32-char hash>-<name>); "
                               "pass a path printed by nix-build or nix-store --add",
                               p, NIX_STORE_DIR);
      struct stat st;
      if (!root && lstat (p, &st) < 0)
        return cage_error_set (err, errno, "package `%s`", p);
    }
  if (n == 0)
    {
      *out = calloc (1, sizeof (char *));
      return *out ? 0 : cage_error_set (err, ENOMEM, "closure");
    }

  /* argv: nix-store [--store local?root=ROOT] --query --requisites P... */
  autofree char **argv = calloc (n + 6, sizeof (char *));
  autofree char *store_arg = NULL;
  if (!argv || (root && asprintf (&store_arg, "local?root=%s", root) < 0))
    return cage_error_set (err, ENOMEM, "closure");
  size_t a = 0;
  argv[a++] = (char *) "nix-store";
  if (root)
    {
      argv[a++] = (char *) "--store";
      argv[a++] = store_arg;
    }
  argv[a++] = (char *) "--query";
  argv[a++] = (char *) "--requisites";
  for (size_t i = 0; i < n; i++)
    argv[a++] = packages[i];
  argv[a] = NULL;

  struct nix_output o;
  if (nix_run (argv, NULL, 0, &o, err) < 0)
    {
      nix_output_free (&o);
      return -1;
    }
  autofree char *obuf = o.out;
  free (o.errtext);

  size_t cap = 16, cnt = 0;
  char **v = calloc (cap + 1, sizeof *v);
  if (!v)
    return cage_error_set (err, ENOMEM, "closure");
  for (char *save = NULL, *line = strtok_r (obuf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      if (!storepath_valid (line))
        {
          cage_strv_free (v);
          return cage_error_set (err, 0, "nix-store printed `%s`, which is not a store path", line);
        }
      if (cnt == cap)
        {
          char **nv = realloc (v, (cap * 2 + 1) * sizeof *v);
          if (!nv)
            {
              cage_strv_free (v);
              return cage_error_set (err, ENOMEM, "closure");
            }
          v = nv;
          cap *= 2;
        }
      v[cnt] = strdup (line);
      if (!v[cnt])
        {
          cage_strv_free (v);
          return cage_error_set (err, ENOMEM, "closure");
        }
      v[++cnt] = NULL;
    }
  qsort (v, cnt, sizeof *v, cmp_str);
  size_t w = 0;
  for (size_t i = 0; i < cnt; i++)
    {
      if (w > 0 && strcmp (v[w - 1], v[i]) == 0)
        free (v[i]);
      else
        v[w++] = v[i];
    }
  v[w] = NULL;
  *out = v;
  return 0;
}

int
closure_nar_size (const char *root, char *const *paths, long long *bytes, struct cage_error *err)
{
  *bytes = 0;
  size_t n = 0;
  while (paths && paths[n])
    n++;
  if (n == 0)
    return 0;
  autofree char **argv = calloc (n + 6, sizeof (char *));
  autofree char *store_arg = NULL;
  if (!argv || (root && asprintf (&store_arg, "local?root=%s", root) < 0))
    return cage_error_set (err, ENOMEM, "closure size");
  size_t a = 0;
  argv[a++] = (char *) "nix-store";
  if (root)
    {
      argv[a++] = (char *) "--store";
      argv[a++] = store_arg;
    }
  argv[a++] = (char *) "--query";
  argv[a++] = (char *) "--size";
  for (size_t i = 0; i < n; i++)
    argv[a++] = paths[i];
  struct nix_output o;
  if (nix_run (argv, NULL, 0, &o, err) < 0)
    {
      nix_output_free (&o);
      return -1;
    }
  for (char *save = NULL, *line = strtok_r (o.out, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    *bytes += strtoll (line, NULL, 10);
  nix_output_free (&o);
  return 0;
}
