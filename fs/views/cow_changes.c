/* cow_changes.c - list the changes of the cow upper layer (see
   cow_changes.h): walk the layer beside the project. */
#include "cow_changes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "safe_open.h"

const char *
cow_kind_name (enum cow_kind k)
{
  switch (k)
    {
    case COW_CREATED: return "created";
    case COW_MODIFIED: return "modified";
    case COW_DELETED: return "deleted";
    case COW_RENAMED: return "renamed";
    }
  return "unknown";
}

static struct cow_change *
add (struct cow_changes *c, const char *path, enum cow_kind kind, mode_t mode)
{
  if (c->n == c->cap)
    {
      size_t cap = c->cap ? c->cap * 2 : 64;
      struct cow_change *v = realloc (c->v, cap * sizeof *v);
      if (!v)
        return NULL;
      c->v = v;
      c->cap = cap;
    }
  struct cow_change *ch = &c->v[c->n];
  memset (ch, 0, sizeof *ch);
  if (!(ch->path = strdup (path)))
    return NULL;
  ch->kind = kind;
  ch->mode = mode;
  c->n++;
  return ch;
}

void
cow_changes_free (struct cow_changes *c)
{
  for (size_t i = 0; i < c->n; i++)
    {
      free (c->v[i].path);
      free (c->v[i].from);
    }
  free (c->v);
  if (c->upper_fd >= 0)
    close (c->upper_fd);
  if (c->lower_fd >= 0)
    close (c->lower_fd);
  memset (c, 0, sizeof *c);
  c->upper_fd = c->lower_fd = -1;
}

struct names
{
  char **v;
  size_t n, cap;
};

static int
names_add (struct names *n, const char *s)
{
  if (n->n == n->cap)
    {
      size_t cap = n->cap ? n->cap * 2 : 32;
      char **v = realloc (n->v, cap * sizeof *v);
      if (!v)
        return -1;
      n->v = v;
      n->cap = cap;
    }
  return (n->v[n->n++] = strdup (s)) ? 0 : -1;
}

static void
names_free (struct names *n)
{
  for (size_t i = 0; i < n->n; i++)
    free (n->v[i]);
  free (n->v);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static bool
names_has (const struct names *n, const char *s)
{
  return n->n > 0 && bsearch (&s, n->v, n->n, sizeof (char *), cmp_str) != NULL;
}

/* Is the marker NAME in DFD one the daemon wrote (cow_marker_stat_ok)? */
static bool
marker_ok (int dfd, const char *name)
{
  struct stat st;
  return fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && cow_marker_stat_ok (&st);
}

/* The entries of folder FD (O_PATH): plain names, and with WH and OPAQUE
   the markers (forged ones left out). */
static int
read_names (int fd, struct names *out, struct names *wh, bool *opaque)
{
  int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -errno;
  autoclosedir DIR *d = fdopendir (dfd);
  if (!d)
    {
      close (dfd);
      return -errno;
    }
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)))
    {
      const char *s = de->d_name;
      int r = 0;
      if (strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
        ;
      else if (!cow_reserved (s) || !wh)
        r = names_add (out, s);
      else if (!marker_ok (dirfd (d), s))
        ; /* forged: not a marker the daemon wrote, trusted for nothing */
      else if (strncmp (s, COW_WH, strlen (COW_WH)) == 0)
        r = names_add (wh, s + strlen (COW_WH));
      else if (strcmp (s, COW_OPAQUE) == 0)
        *opaque = true;
      if (r < 0)
        return -ENOMEM;
      errno = 0;
    }
  if (errno)
    return -errno;
  if (out->n > 0)
    qsort (out->v, out->n, sizeof (char *), cmp_str);
  if (wh)
    if (wh->n > 0)
      qsort (wh->v, wh->n, sizeof (char *), cmp_str);
  return 0;
}

static int
join (char *buf, size_t size, const char *dir, const char *name)
{
  int n = dir[0] ? snprintf (buf, size, "%s/%s", dir, name) : snprintf (buf, size, "%s", name);
  return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* Every host entry below the host folder REL (FD) is deleted too. */
static int
deleted_below (struct cow_changes *c, const char *rel, int fd, struct timespec since)
{
  struct names n = { 0 };
  int r = read_names (fd, &n, NULL, NULL);
  for (size_t i = 0; r == 0 && i < n.n; i++)
    {
      char path[4096];
      struct stat st;
      if ((r = join (path, sizeof path, rel, n.v[i])) < 0)
        break;
      if (fstatat (fd, n.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      struct cow_change *ch = add (c, path, COW_DELETED, st.st_mode);
      if (!ch)
        r = -ENOMEM;
      else
        ch->since = since;
      if (r == 0 && S_ISDIR (st.st_mode))
        {
          autoclose int sub = openat (fd, n.v[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            r = deleted_below (c, path, sub, since);
        }
    }
  names_free (&n);
  return r;
}

/* A host entry (LFD/NAME, ST) is deleted; SINCE or the record REC. */
static int
deleted (struct cow_changes *c, const char *path, int lfd, const char *name,
         const struct stat *st, const struct cow_record *rec, bool own, struct timespec since)
{
  struct cow_change *ch = add (c, path, COW_DELETED, st->st_mode);
  if (!ch)
    return -ENOMEM;
  ch->own_marker = own;
  ch->since = since;
  if (rec)
    {
      ch->have_rec = true;
      ch->rec = *rec;
    }
  if (!S_ISDIR (st->st_mode))
    return 0;
  autoclose int sub = openat (lfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return sub < 0 ? -errno : deleted_below (c, path, sub, since);
}

/* Same content?  Regular files byte by byte, symlinks by target. */
static bool
same_content (int ufd, int lfd, const char *name, const struct stat *us, const struct stat *ls)
{
  if (S_ISLNK (us->st_mode))
    {
      char a[PATH_MAX + 1], b[PATH_MAX + 1];
      ssize_t la = readlinkat (ufd, name, a, sizeof a), lb = readlinkat (lfd, name, b, sizeof b);
      return la >= 0 && la == lb && memcmp (a, b, (size_t) la) == 0;
    }
  if (!S_ISREG (us->st_mode))
    return true;
  if (us->st_size != ls->st_size)
    return false;
  autoclose int a = openat (ufd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  autoclose int b = openat (lfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (a < 0 || b < 0)
    return false;
  char ba[65536], bb[65536];
  for (;;)
    {
      ssize_t na = read (a, ba, sizeof ba), nb = read (b, bb, sizeof bb);
      if (na < 0 || nb < 0 || na != nb || memcmp (ba, bb, (size_t) na) != 0)
        return false;
      if (na == 0)
        return true;
    }
}

static int
walk (struct cow_changes *c, const char *rel, int ufd, int lfd)
{
  struct names up = { 0 }, wh = { 0 };
  bool opaque = false;
  int r = read_names (ufd, &up, &wh, &opaque);
  struct stat mst;
  struct timespec since = { 0, 0 };
  if (opaque && fstatat (ufd, COW_OPAQUE, &mst, AT_SYMLINK_NOFOLLOW) == 0)
    since = mst.st_mtim;
  for (size_t i = 0; r == 0 && i < up.n; i++)
    {
      const char *name = up.v[i];
      char path[4096];
      struct stat us, ls;
      if ((r = join (path, sizeof path, rel, name)) < 0)
        break;
      if (fstatat (ufd, name, &us, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      bool have_l = lfd >= 0 && fstatat (lfd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0;
      if (S_ISDIR (us.st_mode))
        {
          bool ldir = have_l && S_ISDIR (ls.st_mode);
          struct cow_change *ch = NULL;
          if (have_l && !ldir)
            r = deleted (c, path, lfd, name, &ls, NULL, false, since);
          if (r == 0 && !ldir && !(ch = add (c, path, COW_CREATED, us.st_mode)))
            r = -ENOMEM;
          if (r == 0 && ldir && (us.st_mode & 07777) != (ls.st_mode & 07777))
            {
              if (!(ch = add (c, path, COW_MODIFIED, us.st_mode)))
                r = -ENOMEM;
              else
                ch->old_mode = ls.st_mode;
            }
          autoclose int usub = openat (ufd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          autoclose int lsub = ldir ? openat (lfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
          if (r == 0 && usub < 0)
            r = -errno;
          if (r == 0)
            r = walk (c, path, usub, lsub);
          continue;
        }
      char om[300];
      struct cow_record rec;
      bool have_rec = cow_marker (om, sizeof om, COW_ORIGIN, name) == 0
                      && cow_record_read (ufd, om, &rec) == 0;
      struct cow_change *ch;
      if (have_rec && rec.ino == 0 && !rec.path[0])
        {
          /* made by the agent where the host had nothing */
          if (!add (c, path, COW_CREATED, us.st_mode))
            r = -ENOMEM;
          continue;
        }
      if (have_rec && strcmp (rec.path, path) != 0)
        {
          if (!(ch = add (c, path, COW_RENAMED, us.st_mode)) || !(ch->from = strdup (rec.path)))
            r = -ENOMEM;
          else
            {
              ch->have_rec = true;
              ch->rec = rec;
            }
          continue;
        }
      if (have_l && S_ISDIR (ls.st_mode))
        {
          r = deleted (c, path, lfd, name, &ls, NULL, false, since);
          if (r == 0 && !add (c, path, COW_CREATED, us.st_mode))
            r = -ENOMEM;
          continue;
        }
      if (have_l && (us.st_mode & S_IFMT) == (ls.st_mode & S_IFMT)
          && (us.st_mode & 07777) == (ls.st_mode & 07777)
          && same_content (ufd, lfd, name, &us, &ls))
        continue; /* copied up, then changed back (or times only) */
      if (!(ch = add (c, path, have_l ? COW_MODIFIED : COW_CREATED, us.st_mode)))
        {
          r = -ENOMEM;
          break;
        }
      ch->old_mode = have_l ? ls.st_mode : 0;
      if (have_rec)
        {
          ch->have_rec = true;
          ch->rec = rec;
        }
    }
  for (size_t i = 0; r == 0 && i < wh.n; i++)
    {
      const char *name = wh.v[i];
      char path[4096], m[300];
      struct stat ls, ms;
      struct cow_record rec;
      if (names_has (&up, name) || lfd < 0 || fstatat (lfd, name, &ls, AT_SYMLINK_NOFOLLOW) < 0)
        continue; /* nothing of the host's left to delete */
      if ((r = join (path, sizeof path, rel, name)) < 0
          || (r = cow_marker (m, sizeof m, COW_WH, name)) < 0)
        break;
      bool have_rec = cow_record_read (ufd, m, &rec) == 0;
      struct timespec when = fstatat (ufd, m, &ms, AT_SYMLINK_NOFOLLOW) == 0 ? ms.st_mtim : since;
      r = deleted (c, path, lfd, name, &ls, have_rec ? &rec : NULL, true, when);
    }
  if (r == 0 && opaque && lfd >= 0)
    {
      struct names low = { 0 };
      r = read_names (lfd, &low, NULL, NULL);
      for (size_t i = 0; r == 0 && i < low.n; i++)
        {
          const char *name = low.v[i];
          char path[4096];
          struct stat ls;
          if (names_has (&up, name) || names_has (&wh, name))
            continue;
          if (fstatat (lfd, name, &ls, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
          if ((r = join (path, sizeof path, rel, name)) == 0)
            r = deleted (c, path, lfd, name, &ls, NULL, false, since);
        }
      names_free (&low);
    }
  names_free (&up);
  names_free (&wh);
  return r;
}

static int
cmp_change (const void *a, const void *b)
{
  return strcmp (((const struct cow_change *) a)->path, ((const struct cow_change *) b)->path);
}

int
cow_changes_collect (const struct project_paths *pp, struct cow_changes *out,
                     struct cage_error *err)
{
  memset (out, 0, sizeof *out);
  out->upper_fd = out->lower_fd = -1;
  out->lower_fd = open (pp->project, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (out->lower_fd < 0)
    return cage_error_set (err, errno, "open project `%s`", pp->project);
  out->upper_fd = open (pp->cow_upper, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (out->upper_fd < 0)
    {
      if (errno == ENOENT)
        return 0; /* never mounted with the cow view: no changes */
      return cage_error_set (err, errno, "open the cow layer `%s`", pp->cow_upper);
    }
  int r = walk (out, "", out->upper_fd, out->lower_fd);
  if (r < 0)
    return cage_error_set (err, -r, "read the cow layer `%s`", pp->cow_upper);
  /* A rename's old name is not also a deletion; a "rename" whose old name
     is still there is a copy: a new file. */
  for (size_t i = 0; i < out->n; i++)
    {
      struct cow_change *ch = &out->v[i];
      if (ch->kind != COW_RENAMED)
        continue;
      bool found = false;
      for (size_t k = 0; k < out->n && !found; k++)
        {
          struct cow_change *d = &out->v[k];
          if (d->kind == COW_DELETED && d->mode != (mode_t) -1 && !S_ISDIR (d->mode)
              && strcmp (d->path, ch->from) == 0)
            {
              found = true;
              d->mode = (mode_t) -1; /* dropped below */
            }
        }
      if (!found)
        {
          ch->kind = COW_CREATED;
          free (ch->from);
          ch->from = NULL;
          ch->have_rec = false;
        }
    }
  size_t o = 0;
  for (size_t i = 0; i < out->n; i++)
    if (out->v[i].kind == COW_DELETED && out->v[i].mode == (mode_t) -1)
      {
        free (out->v[i].path);
        free (out->v[i].from);
      }
    else
      out->v[o++] = out->v[i];
  out->n = o;
  if (out->n > 0)
    qsort (out->v, out->n, sizeof *out->v, cmp_change);
  return 0;
}

bool
cow_selected (const char *path, char **sel)
{
  if (!sel || !sel[0])
    return true;
  for (; *sel; sel++)
    {
      size_t l = strlen (*sel);
      if (l == 0 || (strncmp (path, *sel, l) == 0 && (path[l] == '\0' || path[l] == '/')))
        return true;
    }
  return false;
}

int
cow_normalise_paths (char **paths, const char *project, struct cage_error *err)
{
  size_t pl = strlen (project);
  for (char **p = paths; p && *p; p++)
    {
      char *s = *p;
      if (strncmp (s, project, pl) == 0 && (s[pl] == '/' || s[pl] == '\0'))
        memmove (s, s + pl, strlen (s + pl) + 1);
      else if (strncmp (s, "/workspace", 10) == 0 && (s[10] == '/' || s[10] == '\0'))
        memmove (s, s + 10, strlen (s + 10) + 1);
      else if (s[0] == '/')
        return cage_error_set (err, 0, "`%s` is not inside the project %s", *p, project);
      while (s[0] == '/' || (s[0] == '.' && s[1] == '/'))
        memmove (s, s + 1, strlen (s));
      size_t l = strlen (s);
      while (l > 0 && s[l - 1] == '/')
        s[--l] = '\0';
      if (strcmp (s, ".") == 0)
        s[0] = '\0';
      if (strcmp (s, "..") == 0 || strncmp (s, "../", 3) == 0 || strstr (s, "/../")
          || (l >= 3 && strcmp (s + l - 3, "/..") == 0))
        return cage_error_set (err, 0, "`%s` leaves the project", s);
    }
  return 0;
}
