/* cow_dirs.c - the cow view's merged listings: a folder's entries from the
   upper layer, then the project's not hidden by a whiteout or an opaque
   marker; read once at opendir (see cow.h). */
#include "cow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cow_impl.h"
#include "cow_layer.h"

/* ---- merged listings --------------------------------------------------- */

void
cow_entries_free (struct entries *e)
{
  for (size_t i = 0; i < e->n; i++)
    free (e->v[i].name);
  free (e->v);
  memset (e, 0, sizeof *e);
}

static int
entries_add (struct entries *e, const char *name, ino_t ino, unsigned char type)
{
  if (e->n == e->cap)
    {
      size_t cap = e->cap ? e->cap * 2 : 32;
      struct entry *v = realloc (e->v, cap * sizeof *v);
      if (!v)
        return -ENOMEM;
      e->v = v;
      e->cap = cap;
    }
  if (!(e->v[e->n].name = strdup (name)))
    return -ENOMEM;
  e->v[e->n].ino = ino;
  e->v[e->n].type = type;
  e->n++;
  return 0;
}

static int
cmp_entry (const void *a, const void *b)
{
  return strcmp (((const struct entry *) a)->name, ((const struct entry *) b)->name);
}

static bool
entries_has (const struct entries *e, const char *name)
{
  struct entry key = { .name = (char *) name };
  return e->n > 0 && bsearch (&key, e->v, e->n, sizeof *e->v, cmp_entry) != NULL;
}

static bool
dot (const char *name)
{
  return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* Read the folder DIRFD (O_PATH) into OUT (entries) and WH (whiteouts). */
int
cow_read_dir (int dirfd, struct entries *out, struct entries *wh, bool *opaque)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  autoclosedir DIR *d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return -errno;
    }
  struct dirent *de;
  int r = 0;
  errno = 0;
  while (r == 0 && (de = readdir (d)))
    {
      if (dot (de->d_name))
        continue;
      if (!cow_reserved (de->d_name))
        r = entries_add (out, de->d_name, de->d_ino, de->d_type);
      else if (wh && strncmp (de->d_name, COW_WH, strlen (COW_WH)) == 0)
        r = entries_add (wh, de->d_name + strlen (COW_WH), 0, 0);
      else if (opaque && strcmp (de->d_name, COW_OPAQUE) == 0)
        *opaque = true;
      errno = 0;
    }
  if (r == 0 && errno)
    r = -errno;
  return r;
}

/* The merged entries of the visible folder REL. */
int
cow_merged_list (const char *rel, struct entries *out)
{
  struct entries up = { 0 }, wh = { 0 };
  bool opaque = false;
  int r = 0;
  autoclose int ufd = cow_at (cow_upper_fd, rel, O_PATH | O_DIRECTORY);
  if (ufd >= 0)
    r = cow_read_dir (ufd, &up, &wh, &opaque);
  if (up.n > 0)
    qsort (up.v, up.n, sizeof *up.v, cmp_entry);
  if (wh.n > 0)
    qsort (wh.v, wh.n, sizeof *wh.v, cmp_entry);
  for (size_t i = 0; r == 0 && i < up.n; i++)
    r = entries_add (out, up.v[i].name, up.v[i].ino, up.v[i].type);
  if (r == 0 && !opaque)
    {
      struct entries low = { 0 };
      autoclose int lfd = cow_at (cow_lower_fd, rel, O_PATH | O_DIRECTORY);
      if (lfd >= 0 && (!rel[0] || !cow_lower_hidden (rel)))
        r = cow_read_dir (lfd, &low, NULL, NULL);
      for (size_t i = 0; r == 0 && i < low.n; i++)
        if (!entries_has (&up, low.v[i].name) && !entries_has (&wh, low.v[i].name))
          r = entries_add (out, low.v[i].name, low.v[i].ino, low.v[i].type);
      cow_entries_free (&low);
    }
  cow_entries_free (&up);
  cow_entries_free (&wh);
  return r;
}

struct cow_dir
{
  struct dirent *v;
  size_t n, pos;
};

struct cow_dir *
cow_opendir (struct node *n)
{
  char rel[4096];
  if (node_relpath (n, rel, sizeof rel) < 0)
    {
      errno = ENAMETOOLONG;
      return NULL;
    }
  struct entries e = { 0 };
  int r = cow_merged_list (rel, &e);
  struct cow_dir *d = r == 0 ? calloc (1, sizeof *d) : NULL;
  if (d && !(d->v = calloc (e.n + 2, sizeof *d->v)))
    {
      free (d);
      d = NULL;
    }
  if (!d)
    {
      cow_entries_free (&e);
      errno = r < 0 ? -r : ENOMEM;
      return NULL;
    }
  const char *dots[] = { ".", ".." };
  for (size_t i = 0; i < e.n + 2; i++)
    {
      struct dirent *de = &d->v[i];
      snprintf (de->d_name, sizeof de->d_name, "%s", i < 2 ? dots[i] : e.v[i - 2].name);
      de->d_ino = i < 2 ? 1 : e.v[i - 2].ino;
      de->d_type = i < 2 ? DT_DIR : e.v[i - 2].type;
      de->d_off = (off_t) i + 1;
    }
  d->n = e.n + 2;
  cow_entries_free (&e);
  return d;
}

struct dirent *
cow_readdir (struct cow_dir *d)
{
  errno = 0;
  return d->pos < d->n ? &d->v[d->pos++] : NULL;
}

void
cow_seekdir (struct cow_dir *d, off_t off)
{
  d->pos = off < 0 ? 0 : (size_t) off;
}

void
cow_closedir (struct cow_dir *d)
{
  if (d)
    free (d->v);
  free (d);
}
