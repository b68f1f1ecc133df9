#include "agent_repos.h"

#include "safe_open.h"

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct key
{
  dev_t dev;
  ino_t ino;
};

static pthread_mutex_t repos_lock = PTHREAD_MUTEX_INITIALIZER;
static struct key *keys;
static size_t n_keys, cap_keys;
static int list_fd = -1;

static void
note (dev_t dev, ino_t ino)
{
  for (size_t i = 0; i < n_keys; i++)
    if (keys[i].dev == dev && keys[i].ino == ino)
      return;
  if (n_keys == cap_keys)
    {
      size_t cap = cap_keys ? cap_keys * 2 : 16;
      struct key *k = realloc (keys, cap * sizeof *k);
      if (!k)
        return; /* not noted: the repository stays protected */
      keys = k;
      cap_keys = cap;
    }
  keys[n_keys++] = (struct key){ dev, ino };
}

/* Call FN (LINE, ARG) for each non-empty line of F (the list's paths). */
static void
each_listed (FILE *f, void (*fn) (const char *line, void *arg), void *arg)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline (&line, &cap, f)) > 0)
    {
      if (line[len - 1] == '\n')
        line[len - 1] = '\0';
      if (line[0])
        fn (line, arg);
    }
  free (line);
}

/* A listed folder still there beneath the root (*ARG): noted. */
static void
note_listed (const char *rel, void *arg)
{
  int fd = safe_openat (*(int *) arg, rel, O_PATH | O_DIRECTORY);
  struct stat st;
  if (fd >= 0 && fstat (fd, &st) == 0)
    note (st.st_dev, st.st_ino);
  if (fd >= 0)
    close (fd);
}

int
agent_repos_open (const char *path, int root_fd, struct cage_error *err)
{
  list_fd = open (path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (list_fd < 0)
    return cage_error_set (err, errno, "open `%s`", path);
  FILE *f = fdopen (dup (list_fd), "r");
  if (!f)
    return cage_error_set (err, errno, "read `%s`", path);
  each_listed (f, note_listed, &root_fd);
  fclose (f);
  return 0;
}

void
agent_repos_close (void)
{
  if (list_fd >= 0)
    close (list_fd);
  list_fd = -1;
  free (keys);
  keys = NULL;
  n_keys = cap_keys = 0;
}

void
agent_repos_add (struct node *parent, const char *name, const char *rel)
{
  int pfd = node_fd_get (parent);
  if (pfd < 0)
    return;
  struct stat st;
  int r = fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW);
  node_fd_put (parent);
  if (r < 0 || !S_ISDIR (st.st_mode))
    return;
  size_t len = rel ? strlen (rel) : 0;
  char line[4096];
  if (len + 3 > sizeof line) /* (as node_relpath_child's limit was) */
    len = 0;
  else if (len)
    {
      memcpy (line, rel, len);
      line[len] = '\n';
    }
  pthread_mutex_lock (&repos_lock);
  note (st.st_dev, st.st_ino);
  if (len > 0 && list_fd >= 0 && !memchr (rel, '\n', len))
    {
      if (write (list_fd, line, len + 1) < 0)
        {
          /* noted for this mount; a later one protects it again */
        }
    }
  pthread_mutex_unlock (&repos_lock);
}

bool
agent_repos_has (dev_t dev, ino_t ino)
{
  pthread_mutex_lock (&repos_lock);
  bool found = false;
  for (size_t i = 0; i < n_keys && !found; i++)
    found = keys[i].dev == dev && keys[i].ino == ino;
  pthread_mutex_unlock (&repos_lock);
  return found;
}

/* Is REL a folder beneath DIR (a path; NULL: no)? */
static bool
folder_beneath (const char *dir, const char *rel)
{
  int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return false;
  int fd = safe_openat (dfd, rel, O_PATH | O_DIRECTORY);
  close (dfd);
  if (fd < 0)
    return false;
  close (fd);
  return true;
}

struct listing
{
  json_t *out;
  const char *project, *upper;
};

/* A listed repository, once, if it is still in the project or the layer. */
static void
list_one (const char *rel, void *arg)
{
  struct listing *l = arg;
  size_t i;
  json_t *v;
  json_array_foreach (l->out, i, v)
    if (strcmp (json_string_value (v), rel) == 0)
      return;
  if (folder_beneath (l->project, rel) || folder_beneath (l->upper, rel))
    json_array_append_new (l->out, json_string (rel));
}

json_t *
agent_repos_list (const char *state, const char *project)
{
  char path[4096], upper[4096];
  snprintf (path, sizeof path, "%s/repos", state);
  snprintf (upper, sizeof upper, "%s/cow/upper", state);
  struct listing l = { json_array (), project, upper };
  FILE *f = l.out ? fopen (path, "re") : NULL;
  if (f)
    {
      each_listed (f, list_one, &l);
      fclose (f);
    }
  return l.out;
}
