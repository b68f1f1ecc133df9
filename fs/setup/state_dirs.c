/* state_dirs.c - the projects that have a state folder (see state_dirs.h). */
#include "state_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "state.h"

#define RECORD "project.json"

int
state_dirs_record (const struct project_paths *pp, const char *mode, struct cage_error *err)
{
  autofree char *path = NULL;
  if (asprintf (&path, "%s/" RECORD, pp->state) < 0)
    {
      path = NULL;
      return cage_error_set (err, ENOMEM, "record `%s`", pp->state);
    }
  json_auto_t *o = json_pack ("{s:s, s:s}", "project", pp->project, "mode", mode);
  if (!o)
    return cage_error_set (err, ENOMEM, "record `%s`", path);
  return state_json_write (o, path, err);
}

/* KEY's string in the JSON file DIR/NAME, as a new string, or NULL. */
static char *
json_file_string (const char *dir, const char *name, const char *key)
{
  autofree char *path = NULL;
  if (asprintf (&path, "%s/%s", dir, name) < 0)
    return NULL;
  json_auto_t *o = json_load_file (path, 0, NULL);
  const char *s = json_string_value (json_object_get (o, key));
  return s && s[0] ? strdup (s) : NULL;
}

char *
state_dirs_project_of (const char *state_dir)
{
  char *p = json_file_string (state_dir, RECORD, "project");
  return p ? p : json_file_string (state_dir, "state.json", "project");
}

const char *
session_state_name (enum session_state s)
{
  switch (s)
    {
    case SESSION_NOT_MOUNTED: return "not mounted";
    case SESSION_MOUNTED: return "mounted";
    case SESSION_STALE: return "stale";
    }
  return "unknown";
}

/* A state folder's name: <basename>-<16 hex digits>. */
static bool
is_state_name (const char *name)
{
  size_t n = strlen (name);
  if (n < 18 || name[n - 17] != '-')
    return false;
  for (size_t i = n - 16; i < n; i++)
    if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
      return false;
  return true;
}

static int
session_load (const char *root, const char *name, struct state_dir *s, struct cage_error *err)
{
  memset (s, 0, sizeof *s);
  if (asprintf (&s->state_dir, "%s/%s", root, name) < 0)
    {
      s->state_dir = NULL;
      return cage_error_set (err, ENOMEM, "list `%s`", root);
    }
  if (asprintf (&s->mountpoint, "%s/mnt", s->state_dir) < 0)
    {
      s->mountpoint = NULL;
      return cage_error_set (err, ENOMEM, "list `%s`", root);
    }
  autofree char *state_json = NULL;
  if (asprintf (&state_json, "%s/state.json", s->state_dir) < 0)
    {
      state_json = NULL;
      return cage_error_set (err, ENOMEM, "list `%s`", root);
    }
  struct cage_state st;
  bool have = state_read (state_json, &st, NULL) == 0;
  bool alive = have && state_daemon_alive (&st);
  if (alive)
    s->state = SESSION_MOUNTED;
  else if (have || state_is_fuse_mount (s->mountpoint))
    s->state = SESSION_STALE;
  if (alive)
    s->pid = st.pid;
  s->project = json_file_string (s->state_dir, RECORD, "project");
  if (have && st.project[0] && !s->project)
    s->project = strdup (st.project);
  if (have && st.mode[0])
    s->mode = strdup (st.mode);
  else
    s->mode = json_file_string (s->state_dir, RECORD, "mode");
  if (have)
    state_free (&st);
  struct stat sb;
  s->project_exists = s->project && stat (s->project, &sb) == 0 && S_ISDIR (sb.st_mode);
  return 0;
}

static int
by_project (const void *a, const void *b)
{
  const struct state_dir *x = a, *y = b;
  if (!x->project || !y->project)
    return x->project ? -1 : y->project ? 1 : strcmp (x->state_dir, y->state_dir);
  int c = strcmp (x->project, y->project);
  return c ? c : strcmp (x->state_dir, y->state_dir);
}

int
state_dirs_list (struct state_dir **out, size_t *n, struct cage_error *err)
{
  *out = NULL;
  *n = 0;
  autofree char *root = paths_state_root (err);
  if (!root)
    return -1;
  autoclosedir DIR *d = opendir (root);
  if (!d)
    {
      if (errno == ENOENT)
        return 0;
      return cage_error_set (err, errno, "open the state folder `%s`", root);
    }
  struct state_dir *v = NULL;
  size_t len = 0;
  struct dirent *de;
  while ((errno = 0, de = readdir (d)))
    {
      if (!is_state_name (de->d_name))
        continue;
      struct stat sb;
      if (fstatat (dirfd (d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          cage_error_set (err, errno, "stat `%s/%s`", root, de->d_name);
          goto fail;
        }
      if (!S_ISDIR (sb.st_mode))
        continue;
      struct state_dir *nv = realloc (v, (len + 1) * sizeof *nv);
      if (!nv)
        {
          cage_error_set (err, ENOMEM, "list `%s`", root);
          goto fail;
        }
      v = nv;
      if (session_load (root, de->d_name, &v[len++], err) < 0)
        goto fail;
    }
  if (errno)
    {
      cage_error_set (err, errno, "read the state folder `%s`", root);
      goto fail;
    }
  if (len)
    qsort (v, len, sizeof *v, by_project);
  *out = v;
  *n = len;
  return 0;

fail:
  state_dirs_free (v, len);
  return -1;
}

void
state_dirs_free (struct state_dir *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].state_dir);
      free (v[i].project);
      free (v[i].mountpoint);
      free (v[i].mode);
    }
  free (v);
}
