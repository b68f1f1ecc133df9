/* store_mode.c - prepare /nix/store for the project's store mode. */
#include "store_mode.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "closure.h"
#include "copy.h"
#include "log.h"
#include "private.h"
#include "storepath.h"

void
store_setup_free (struct store_setup *s)
{
  free (s->root);
  cage_strv_free (s->closure);
  cage_strv_free (s->hidden);
  memset (s, 0, sizeof *s);
}

static bool
strv_has (char **v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

/* The private store's folder <root>/nix/store, made if missing (0755: the
   agent may add paths in copy mode). */
static char *
private_store_dir (const char *root, struct cage_error *err)
{
  char *dir = NULL;
  if (asprintf (&dir, "%s%s", root, NIX_STORE_DIR) < 0)
    {
      cage_error_set (err, ENOMEM, "private store");
      return NULL;
    }
  if (paths_mkdir_p (dir, 0755, err) < 0)
    {
      free (dir);
      return NULL;
    }
  return dir;
}

/* The store paths present in the private store folder DIR and not in
   CLOSURE (may be NULL), as a new NULL-terminated vector. */
static int
present_paths (const char *dir, char **closure, char ***out, struct cage_error *err)
{
  *out = NULL;
  autoclosedir DIR *d = opendir (dir);
  if (!d)
    return cage_error_set (err, errno, "read the private store `%s`", dir);
  size_t n = 0, cap = 16;
  autostrv char **cand = calloc (cap + 1, sizeof (char *));
  if (!cand)
    return cage_error_set (err, ENOMEM, "private store");
  struct dirent *e;
  while ((e = readdir (d)))
    {
      char path[512];
      if (!storepath_valid_name (e->d_name))
        continue;
      snprintf (path, sizeof path, NIX_STORE_DIR "/%s", e->d_name);
      if (strv_has (closure, path))
        continue;
      if (n == cap)
        {
          char **nc = realloc (cand, (cap * 2 + 1) * sizeof (char *));
          if (!nc)
            return cage_error_set (err, ENOMEM, "private store");
          cand = nc;
          cap *= 2;
        }
      if (!(cand[n] = strdup (path)))
        return cage_error_set (err, ENOMEM, "private store");
      cand[++n] = NULL;
    }
  *out = steal_ptr (&cand);
  return 0;
}

/* Copy mode: store paths found in the private store that were registered
   by an earlier mount (an earlier closure) and are not in this closure.
   What the agent made there itself is not registered and stays visible. */
static int
earlier_paths (const char *root, const char *dir, char **closure, char ***out,
               struct cage_error *err)
{
  autostrv char **cand = NULL;
  if (present_paths (dir, closure, &cand, err) < 0)
    return -1;
  return private_valid (root, cand, out, err);
}

/* Isolated mode, after a failed fetch: Nix may leave what it unpacked
   (unregistered, e.g. a NAR whose hash did not match) in the private
   store.  Remove every unregistered path, so nothing partial stays. */
static void
remove_unregistered (const char *root, const char *dir)
{
  struct cage_error e = { 0 };
  autostrv char **cand = NULL, **valid = NULL;
  if (present_paths (dir, NULL, &cand, &e) < 0 || private_valid (root, cand, &valid, &e) < 0)
    {
      cage_warn ("could not clean the private store `%s`: %s", dir, e.msg);
      return;
    }
  autoclose int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (char **p = cand; fd >= 0 && p && *p; p++)
    if (!strv_has (valid, *p))
      {
        const char *name = storepath_name (*p);
        char lock[600];
        snprintf (lock, sizeof lock, "%s.lock", name);
        if (copy_remove_tree (fd, name, &e) < 0)
          cage_warn ("could not remove the partial store path `%s/%s`: %s", dir, name, e.msg);
        unlinkat (fd, lock, 0);
      }
}

static int
prepare_copy (const struct cage_config *cfg, const struct project_paths *pp, bool json,
              struct store_setup *out, struct cage_error *err)
{
  if (closure_resolve (cfg->packages, &out->closure, err) < 0)
    {
      /* Deleted or garbage-collected on the host since an earlier copy:
         the private store still has the closure (registered there). */
      struct cage_error e2 = { 0 };
      struct stat pst;
      char db[4096];
      snprintf (db, sizeof db, "%s/nix/var/nix/db/db.sqlite", pp->private_root);
      if (stat (db, &pst) < 0
          || closure_resolve_in (pp->private_root, cfg->packages, &out->closure, &e2) < 0)
        return -1;
      cage_info ("copy mode: the host store lacks the closure; using the private store's copy");
    }
  if (!(out->root = private_store_dir (pp->private_root, err)))
    return -1;
  autoclose int src = open (NIX_STORE_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (src < 0)
    return cage_error_set (err, errno, "open `%s`", NIX_STORE_DIR);
  autoclose int dst = open (out->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dst < 0)
    return cage_error_set (err, errno, "open the private store `%s`", out->root);
  if (copy_clean_leftovers (dst, err) < 0)
    return -1;
  size_t n = 0;
  while (out->closure[n])
    n++;
  autofree const char **names = calloc (n + 1, sizeof (char *));
  if (!names)
    return cage_error_set (err, ENOMEM, "copy");
  for (size_t i = 0; i < n; i++)
    names[i] = storepath_name (out->closure[i]);
  /* Hard links where the host store is on the same filesystem (the daemon
     copies a shared file up before any change: fs/views/copyup.c). */
  unsigned flags = COPY_DURABLE | COPY_LINK;
  if (json)
    flags |= COPY_JSON; /* NDJSON events on stderr; stdout keeps the result */
  else if (isatty (STDERR_FILENO))
    flags |= COPY_PROGRESS;
  if (copy_store_paths (src, dst, names, n, flags, (flags & (COPY_JSON | COPY_PROGRESS)) ? stderr : NULL,
                        &out->copied, err) < 0)
    return cage_error_prefix (err, "copy the closure into the private store `%s`", out->root);
  /* Register what is not registered yet: asked every time (one query), so
     a mount killed between the copy and the registration is finished. */
  {
    char **valid = NULL;
    if (private_valid (pp->private_root, out->closure, &valid, err) < 0)
      return -1;
    char **todo = calloc (n + 1, sizeof (char *));
    size_t t = 0;
    for (size_t i = 0; todo && i < n; i++)
      if (!strv_has (valid, out->closure[i]))
        todo[t++] = out->closure[i];
    int r = !todo ? cage_error_set (err, ENOMEM, "register")
            : t > 0 ? private_register (pp->private_root, todo, err)
                    : 0;
    free (todo);
    cage_strv_free (valid);
    if (r < 0)
      return -1;
  }
  if (earlier_paths (pp->private_root, out->root, out->closure, &out->hidden, err) < 0)
    return -1;
  out->writable = true;
  out->private_store = true;
  cage_info ("copy mode: %llu store paths copied (%llu files, %llu of them hard links, %llu "
             "bytes) by %s in %.2f s, %llu already there",
                 (unsigned long long) out->copied.paths, (unsigned long long) out->copied.files,
                 (unsigned long long) out->copied.linked,
                 (unsigned long long) out->copied.bytes,
                 out->copied.engine ? out->copied.engine : "nothing", out->copied.seconds,
                 (unsigned long long) out->copied.skipped);
  return 0;
}

static int
prepare_isolated (const struct cage_config *cfg, const struct project_paths *pp,
                  struct store_setup *out, struct cage_error *err)
{
  if (!cfg->cache)
    return cage_error_set (err, 0, "store mode \"isolated\" needs a binary cache: set "
                           "\"store\": {\"cache\": \"file:///...\"} in cage.json or pass "
                           "--cache URL");
  for (char *const *p = cfg->packages; p && *p; p++)
    if (!storepath_valid (*p))
      return cage_error_set (err, 0,
                             "package `%s` is not a store path (expected %s/<32-char hash>-<name>)",
                             *p, NIX_STORE_DIR);
  if (!(out->root = private_store_dir (pp->private_root, err)))
    return -1;
  if (private_fetch (pp->private_root, cfg->cache, cfg->packages, err) < 0)
    {
      remove_unregistered (pp->private_root, out->root);
      return -1;
    }
  if (closure_resolve_in (pp->private_root, cfg->packages, &out->closure, err) < 0)
    return -1;
  out->filter = true;
  out->private_store = true;
  return 0;
}

int
store_mode_prepare (const struct cage_config *cfg, const struct project_paths *pp, bool json,
                    struct store_setup *out, struct cage_error *err)
{
  memset (out, 0, sizeof *out);
  int rc;
  switch (cfg->mode)
    {
    case STORE_COPY:
      rc = prepare_copy (cfg, pp, json, out, err);
      break;
    case STORE_ISOLATED:
      rc = prepare_isolated (cfg, pp, out, err);
      break;
    case STORE_SHARED:
    case STORE_READONLY:
    default:
      out->filter = cfg->mode == STORE_READONLY;
      rc = closure_resolve (cfg->packages, &out->closure, err);
      if (rc == 0 && !(out->root = strdup (NIX_STORE_DIR)))
        rc = cage_error_set (err, ENOMEM, "store");
      break;
    }
  if (rc == 0)
    rc = closure_nar_size (out->private_store ? pp->private_root : NULL, out->closure,
                           &out->closure_bytes, err);
  if (rc < 0)
    store_setup_free (out);
  return rc;
}

static long long usage_own, usage_shared;

static int
usage_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) path;
  (void) flag;
  (void) ftw;
  long long b = (long long) st->st_blocks * 512;
  if (S_ISREG (st->st_mode) && st->st_nlink > 1)
    usage_shared += b;
  else
    usage_own += b;
  return 0;
}

int
store_disk_usage (const char *path, long long *own, long long *shared, struct cage_error *err)
{
  usage_own = usage_shared = 0;
  /* FTW_PHYS: never follow symlinks. */
  if (nftw (path, usage_one, 64, FTW_PHYS | FTW_MOUNT) < 0)
    return cage_error_set (err, errno, "measure `%s`", path);
  *own = usage_own;
  *shared = usage_shared;
  return 0;
}
