#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static char *
xasprintf (const char *fmt, const char *a, const char *b)
{
  char *s = NULL;
  if (asprintf (&s, fmt, a, b) < 0)
    return NULL;
  return s;
}

char *
paths_state_root (struct cage_error *err)
{
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  struct stat st;
  if (xdg && xdg[0] == '/' && stat (xdg, &st) == 0 && S_ISDIR (st.st_mode)
      && st.st_uid == geteuid ())
    return xasprintf ("%s/%s", xdg, "cagefs");

  const char *home = getenv ("HOME");
  struct passwd *pw = getpwuid (geteuid ());
  /* Trust $HOME only if it is ours; `su` without `-` keeps the caller's. */
  if (!home || home[0] != '/' || stat (home, &st) != 0 || st.st_uid != geteuid ())
    home = pw ? pw->pw_dir : NULL;
  if (!home)
    {
      cage_error_set (err, 0, "cannot find a state directory: neither $XDG_RUNTIME_DIR "
                      "nor $HOME is usable for uid %u; set XDG_RUNTIME_DIR", (unsigned) geteuid ());
      return NULL;
    }
  return xasprintf ("%s/%s", home, ".local/state/cagefs");
}

int
paths_mkdir_p (const char *path, unsigned mode, struct cage_error *err)
{
  if (path[0] == '\0')
    return cage_error_set (err, ENOENT, "create directory ``");
  autofree char *p = strdup (path);
  if (!p)
    return cage_error_set (err, ENOMEM, "mkdir `%s`", path);
  for (char *s = p + 1;; s++)
    {
      if (*s == '/' || *s == '\0')
        {
          char c = *s;
          *s = '\0';
          if (mkdir (p, mode) < 0 && errno != EEXIST)
            return cage_error_set (err, errno, "create directory `%s`", p);
          *s = c;
          if (c == '\0')
            break;
        }
    }
  struct stat st;
  if (stat (path, &st) < 0)
    {
      /* A mount point whose daemon died: cleaned later, by mount/umount. */
      if (errno == ENOTCONN)
        return 0;
      return cage_error_set (err, errno, "stat `%s`", path);
    }
  if (!S_ISDIR (st.st_mode))
    return cage_error_set (err, ENOTDIR, "`%s`", path);
  return 0;
}

static uint64_t
fnv1a (const char *s)
{
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= 1099511628211ULL;
    }
  return h;
}

/* Fill OUT for the project whose real path is REAL. */
static int
paths_fill (const char *real, struct project_paths *out, struct cage_error *err)
{
  autofree char *root = paths_state_root (err);
  if (!root)
    return -1;

  const char *base = strrchr (real, '/');
  base = (base && base[1]) ? base + 1 : "root";
  char key[NAME_MAX];
  snprintf (key, sizeof key, "%.200s-%016llx", base, (unsigned long long) fnv1a (real));

  out->project = strdup (real);
  out->state = xasprintf ("%s/%s", root, key);
  if (!out->project || !out->state)
    goto nomem;
  out->mnt = xasprintf ("%s/%s", out->state, "mnt");
  out->store_mnt = xasprintf ("%s/%s", out->state, "store");
  out->ws_mnt = xasprintf ("%s/%s", out->state, "workspace");
  out->home = xasprintf ("%s/%s", out->state, "home");
  out->home_empty = xasprintf ("%s/%s", out->state, "home-empty");
  out->state_json = xasprintf ("%s/%s", out->state, "state.json");
  out->log = xasprintf ("%s/%s", out->state, "daemon.log");
  out->private_root = xasprintf ("%s/%s", out->state, "private");
  out->audit = xasprintf ("%s/%s", out->state, "audit.ndjson");
  out->cow_upper = xasprintf ("%s/%s", out->state, "cow/upper");
  if (!out->mnt || !out->store_mnt || !out->ws_mnt || !out->home || !out->home_empty || !out->state_json || !out->log
      || !out->private_root || !out->audit || !out->cow_upper)
    goto nomem;
  return 0;

nomem:
  paths_free (out);
  return cage_error_set (err, ENOMEM, "project `%s`", real);
}

int
paths_project (const char *project, bool create, struct project_paths *out,
               struct cage_error *err)
{
  memset (out, 0, sizeof *out);
  char real[PATH_MAX];
  if (!realpath (project, real))
    return cage_error_set (err, errno, "project `%s`", project);
  struct stat st;
  if (stat (real, &st) < 0)
    return cage_error_set (err, errno, "project `%s`", real);
  if (!S_ISDIR (st.st_mode))
    return cage_error_set (err, ENOTDIR, "project `%s`", real);
  if (paths_fill (real, out, err) < 0)
    return -1;

  if (create)
    {
      autofree char *root = paths_state_root (err);
      if (!root || paths_mkdir_p (root, 0700, err) < 0 || paths_mkdir_p (out->state, 0700, err) < 0
          || paths_mkdir_p (out->mnt, 0700, err) < 0
          || paths_mkdir_p (out->store_mnt, 0700, err) < 0
          || paths_mkdir_p (out->ws_mnt, 0700, err) < 0 || paths_mkdir_p (out->home, 0700, err) < 0)
        {
          paths_free (out);
          return -1;
        }
    }
  return 0;
}

int
paths_project_gone (const char *project, struct project_paths *out, struct cage_error *err)
{
  memset (out, 0, sizeof *out);
  if (project[0] != '/')
    return cage_error_set (err, ENOENT, "project `%s`", project);
  /* The real path as it was: no trailing slash (but for "/"), no "//". */
  char real[PATH_MAX];
  size_t o = 0;
  for (const char *p = project; *p && o + 1 < sizeof real; p++)
    if (!(*p == '/' && o > 0 && real[o - 1] == '/'))
      real[o++] = *p;
  while (o > 1 && real[o - 1] == '/')
    o--;
  real[o] = '\0';
  return paths_fill (real, out, err);
}

void
paths_free (struct project_paths *p)
{
  free (p->project);
  free (p->state);
  free (p->mnt);
  free (p->store_mnt);
  free (p->ws_mnt);
  free (p->home);
  free (p->home_empty);
  free (p->state_json);
  free (p->log);
  free (p->private_root);
  free (p->audit);
  free (p->cow_upper);
  memset (p, 0, sizeof *p);
}
