/* tracked.c - the tracked workspace view (see tracked.h). */
#include "tracked.h"

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "run.h"


static struct view *tracked_view;
static char **tracked;        /* sorted: tracked files and their folders */
static size_t n_tracked;
static char **created;        /* what the agent made: unsorted, small */
static size_t n_created, cap_created;
static pthread_mutex_t created_lock = PTHREAD_MUTEX_INITIALIZER;

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
add (char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
  if (*n == *cap)
    {
      size_t c = *cap ? *cap * 2 : 256;
      char **nv = realloc (*v, c * sizeof *nv);
      if (!nv)
        return -1;
      *v = nv;
      *cap = c;
    }
  if (!((*v)[*n] = strndup (s, len)))
    return -1;
  (*n)++;
  return 0;
}

/* Run git ls-files -z in PROJECT; its output into *OUT. */
static int
git_ls_files (const char *project, char **out, size_t *len, struct cage_error *err)
{
  /* Nothing of the repository's own config may run: no fsmonitor, no
     hooks, no pager, no external diff or textconv, no ssh or ext::
     transport; and git writes nothing (no index refresh). */
  char *argv[] = { (char *) "git", (char *) "--no-optional-locks",
                   (char *) "-c", (char *) "core.fsmonitor=false",
                   (char *) "-c", (char *) "core.hooksPath=/dev/null",
                   (char *) "-c", (char *) "core.pager=cat",
                   (char *) "-c", (char *) "core.sshCommand=false",
                   (char *) "-c", (char *) "diff.external=",
                   (char *) "-c", (char *) "protocol.allow=never",
                   (char *) "-C", (char *) project, (char *) "ls-files", (char *) "-z", NULL };
  struct nix_output o;
  int status;
  if (run_capture (argv, NULL, 0, "apt-get install git", &o, &status, err) < 0)
    return cage_error_prefix (err, "workspace view tracked");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      cage_error_set (err, 0, "workspace view tracked: `git -C %s ls-files` failed (is it a git "
                      "work tree?): %s", project, nix_error_line (o.errtext));
      nix_output_free (&o);
      return -1;
    }
  *len = o.out_len;
  *out = steal_ptr (&o.out);
  nix_output_free (&o);
  return 0;
}

int
tracked_init (struct view *view, const char *project, struct cage_error *err)
{
  autofree char *buf = NULL;
  size_t len = 0, cap = 0;
  if (git_ls_files (project, &buf, &len, err) < 0)
    return -1;
  for (size_t i = 0; i < len;)
    {
      size_t l = strnlen (buf + i, len - i);
      /* the file and every folder on its way */
      for (size_t k = 0; k <= l; k++)
        if ((k == l || buf[i + k] == '/') && k > 0
            && add (&tracked, &n_tracked, &cap, buf + i, k) < 0)
          return cage_error_set (err, ENOMEM, "workspace view tracked");
      i += l + 1;
    }
  if (n_tracked > 0)
    qsort (tracked, n_tracked, sizeof (char *), cmp_str);
  /* drop duplicates (folders) */
  size_t o = 0;
  for (size_t i = 0; i < n_tracked; i++)
    if (o > 0 && strcmp (tracked[o - 1], tracked[i]) == 0)
      free (tracked[i]);
    else
      tracked[o++] = tracked[i];
  n_tracked = o;
  tracked_view = view;
  return 0;
}

void
tracked_fini (void)
{
  for (size_t i = 0; i < n_tracked; i++)
    free (tracked[i]);
  for (size_t i = 0; i < n_created; i++)
    free (created[i]);
  free (tracked);
  free (created);
  tracked = created = NULL;
  n_tracked = n_created = 0;
}

/* Did the agent make REL or a folder above it? */
static bool
is_created (const char *rel)
{
  bool found = false;
  pthread_mutex_lock (&created_lock);
  for (size_t i = 0; i < n_created && !found; i++)
    {
      size_t l = strlen (created[i]);
      found = strncmp (rel, created[i], l) == 0 && (rel[l] == '\0' || rel[l] == '/');
    }
  pthread_mutex_unlock (&created_lock);
  return found;
}

int
tracked_check (struct node *parent, const char *name, const char *rel)
{
  if (!tracked_view || parent->view != tracked_view)
    return 0;
  if (!rel)
    return -ENOENT;
  const char *key = rel;
  if ((n_tracked > 0 && bsearch (&key, tracked, n_tracked, sizeof (char *), cmp_str))
      || is_created (rel))
    return 0;
  /* Not tracked: hidden when it is there, free to create when not. */
  int fd = node_fd_get (parent);
  if (fd < 0)
    return -ENOENT;
  struct stat st;
  bool there = fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
  node_fd_put (parent);
  return there ? -ENOENT : 0;
}

void
tracked_created (struct node *parent, const char *name, const char *rel)
{
  if (!tracked_view || parent->view != tracked_view)
    return;
  if (!rel || is_created (rel))
    return;
  const char *key = rel;
  if (n_tracked > 0 && bsearch (&key, tracked, n_tracked, sizeof (char *), cmp_str))
    return;
  pthread_mutex_lock (&created_lock);
  if (add (&created, &n_created, &cap_created, rel, strlen (rel)) < 0)
    fprintf (stderr, "cagefs: tracked view: remember `%s`: out of memory\n", rel);
  pthread_mutex_unlock (&created_lock);
}

int
tracked_rename_check (struct node *parent, const char *name)
{
  if (!tracked_view || parent->view != tracked_view)
    return 0;
  int fd = node_fd_get (parent);
  if (fd < 0)
    return fd;
  struct stat st;
  bool dir = fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
  node_fd_put (parent);
  return dir ? -EXDEV : 0;
}

int
tracked_adopt_empty_dir (struct node *parent, const char *name, const char *rel)
{
  if (!tracked_view || parent->view != tracked_view || !rel || tracked_check (parent, name, rel) == 0)
    return 0;
  int pfd = node_fd_get (parent);
  if (pfd < 0)
    return 0;
  int fd = openat (pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  node_fd_put (parent);
  if (fd < 0)
    return 0;
  DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return 0;
    }
  bool empty = true;
  struct dirent *de;
  while (empty && (de = readdir (d)))
    empty = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0;
  closedir (d);
  if (!empty)
    return 0;
  tracked_created (parent, name, rel);
  return 1;
}
