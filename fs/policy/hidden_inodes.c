/* hidden_inodes.c - hard links to secrets: the walk and the set of
   (dev, ino) of files with several links (see hidden_inodes.h).  */
#include "hidden_inodes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define STR_(x) #x
#define STR(x) STR_ (x)

/* A file with several links. */
struct link_entry
{
  dev_t dev;
  ino_t ino;
  nlink_t nlink;  /* links when last seen */
  bool hidden;    /* one of its names is hidden */
  bool used;
};

/* A filesystem met by the walk; FUSE ones are not walked. */
struct link_dev
{
  dev_t dev;
  bool walked;
};

/* What one walk found. */
struct link_map
{
  struct link_entry *slots;  /* open addressing, cap a power of two */
  size_t cap, n, n_hidden;
  struct link_dev *devs;
  size_t n_devs;
  bool truncated;            /* stopped at an entry or depth bound */
};

struct hidden_inodes
{
  int root_fd;               /* the view's; not ours */
  int upper_fd;              /* the cow view's upper layer, walked too; -1 */
  char *root;
  const struct blacklist *bl;
  pthread_mutex_t lock;      /* map */
  struct link_map *map;
  pthread_mutex_t walk_lock; /* one walk at a time */
  atomic_ulong walks;        /* walks started */
  atomic_bool stale;         /* a host rename since the last walk began */
  bool warned;               /* the truncation warning was logged */
};

/* ---- the set ----------------------------------------------------------- */

static size_t
slot_of (dev_t dev, ino_t ino, size_t cap)
{
  uint64_t x = (uint64_t) ino ^ ((uint64_t) dev * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 29;
  return (size_t) x & (cap - 1);
}

static struct link_entry *
map_find (const struct link_map *m, dev_t dev, ino_t ino)
{
  if (!m->cap)
    return NULL;
  for (size_t i = slot_of (dev, ino, m->cap);; i = (i + 1) & (m->cap - 1))
    {
      struct link_entry *e = &m->slots[i];
      if (!e->used)
        return NULL;
      if (e->dev == dev && e->ino == ino)
        return e;
    }
}

static int
map_grow (struct link_map *m)
{
  size_t cap = m->cap ? m->cap * 2 : 256;
  struct link_entry *slots = calloc (cap, sizeof *slots);
  if (!slots)
    return -1;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].used)
      {
        size_t j = slot_of (m->slots[i].dev, m->slots[i].ino, cap);
        while (slots[j].used)
          j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
      }
  free (m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

/* The entry for (dev, ino), made (not hidden, nlink 0) when missing. */
static struct link_entry *
map_insert (struct link_map *m, dev_t dev, ino_t ino)
{
  struct link_entry *e = map_find (m, dev, ino);
  if (e)
    return e;
  if ((m->n + 1) * 2 > m->cap && map_grow (m) < 0)
    return NULL;
  size_t i = slot_of (dev, ino, m->cap);
  while (m->slots[i].used)
    i = (i + 1) & (m->cap - 1);
  m->slots[i] = (struct link_entry){ .dev = dev, .ino = ino, .used = true };
  m->n++;
  return &m->slots[i];
}

static const struct link_dev *
map_dev (const struct link_map *m, dev_t dev)
{
  for (size_t i = 0; i < m->n_devs; i++)
    if (m->devs[i].dev == dev)
      return &m->devs[i];
  return NULL;
}

static int
map_add_dev (struct link_map *m, dev_t dev, bool walked)
{
  if (map_dev (m, dev))
    return 0;
  struct link_dev *v = realloc (m->devs, (m->n_devs + 1) * sizeof *v);
  if (!v)
    return -1;
  m->devs = v;
  m->devs[m->n_devs++] = (struct link_dev){ .dev = dev, .walked = walked };
  return 0;
}

static void
map_free (struct link_map *m)
{
  if (!m)
    return;
  free (m->slots);
  free (m->devs);
  free (m);
}

/* ---- the walk ---------------------------------------------------------- */

struct walk
{
  struct link_map *m;
  const struct blacklist *bl;
  size_t entries;
  double t0;                 /* start, ms */
  const char *why;           /* why the walk stopped early (or skipped) */
  bool halted;               /* stopped altogether: bound or time */
  size_t unreadable;         /* entries we could not stat, open or list */
  int unreadable_errno;
  char unreadable_first[256];
  size_t fuse;               /* FUSE mounts not walked */
  char fuse_first[256];
  char rel[4096];            /* the current path, relative to the root */
};

static void
note_unreadable (struct walk *w, int e)
{
  if (w->unreadable++ == 0)
    {
      snprintf (w->unreadable_first, sizeof w->unreadable_first, "%.200s",
                w->rel[0] ? w->rel : ".");
      w->unreadable_errno = e;
    }
}

/* Does the blacklist hide the entry NAME at w->rel?  (Asked only of folders
   and of files with several links: matching costs more than the stat.) */
static bool
is_hidden (const struct walk *w, const char *name, bool is_dir)
{
  if (!w->bl)
    return false;
  return blacklist_match (w->bl, w->bl->has_paths ? w->rel : name, is_dir);
}

static double now_ms (void);

/* The walk stops early (the map is truncated), for WHY. */
static void
stop (struct walk *w, const char *why)
{
  w->m->truncated = true;
  if (!w->why)
    w->why = why;
}

static int walk_dir (struct walk *w, int fd, size_t len, bool hidden, dev_t dev, unsigned depth);

/* Walk the folder NAME of D (w->rel names it). -1 only when out of memory. */
static int
descend (struct walk *w, DIR *d, const char *name, size_t len, bool hidden, dev_t dev,
         unsigned depth)
{
  if (depth + 1 > HIDDEN_INODES_MAX_DEPTH)
    {
      stop (w, "folders deeper than " STR (HIDDEN_INODES_MAX_DEPTH) " levels");
      return 0;
    }
  int fd = openat (dirfd (d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      /* gone or replaced meanwhile: nothing of it to see */
      if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        note_unreadable (w, errno);
      return 0;
    }
  struct stat st;
  if (fstat (fd, &st) < 0)
    {
      note_unreadable (w, errno);
      close (fd);
      return 0;
    }
  if (st.st_dev != dev)
    {
      struct statfs sf;
      if (fstatfs (fd, &sf) < 0)
        {
          note_unreadable (w, errno);
          close (fd);
          return 0;
        }
      /* Another FUSE filesystem (or our own mount, when the workspace
         holds the state folder): not walked, it may be slow or be us. */
      bool fuse = sf.f_type == FUSE_SUPER_MAGIC;
      if (map_add_dev (w->m, st.st_dev, !fuse) < 0)
        {
          close (fd);
          return -1;
        }
      if (fuse)
        {
          if (w->fuse++ == 0)
            snprintf (w->fuse_first, sizeof w->fuse_first, "%.200s", w->rel);
          close (fd);
          return 0;
        }
    }
  return walk_dir (w, fd, len, hidden, st.st_dev, depth + 1);
}

/* Walk the open folder FD (taken) whose path w->rel has LEN characters;
   HIDDEN when it or a folder above is hidden.  -1 only when out of memory. */
static int
walk_dir (struct walk *w, int fd, size_t len, bool hidden, dev_t dev, unsigned depth)
{
  autoclosedir DIR *d = fdopendir (fd);
  if (!d)
    {
      note_unreadable (w, errno);
      close (fd);
      return 0;
    }
  for (;;)
    {
      errno = 0;
      struct dirent *e = readdir (d);
      if (!e)
        {
          if (errno != 0)
            note_unreadable (w, errno);
          break;
        }
      const char *name = e->d_name;
      if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
        continue;
      if (w->halted)
        break;
      if (w->entries == HIDDEN_INODES_MAX_ENTRIES)
        {
          stop (w, "more than " STR (HIDDEN_INODES_MAX_ENTRIES) " entries");
          w->halted = true;
          break;
        }
      if (++w->entries % 4096 == 0 && now_ms () - w->t0 > HIDDEN_INODES_MAX_SECONDS * 1e3)
        {
          stop (w, "the walk took over " STR (HIDDEN_INODES_MAX_SECONDS) " s");
          w->halted = true;
          break;
        }
      size_t nlen = strlen (name);
      size_t at = len ? len + 1 : 0;
      if (at + nlen >= sizeof w->rel)
        {
          stop (w, "a path longer than 4095 bytes");
          continue;
        }
      if (len)
        w->rel[len] = '/';
      memcpy (w->rel + at, name, nlen + 1);
      int r = 0;
      if (e->d_type == DT_DIR)
        r = descend (w, d, name, at + nlen, hidden || is_hidden (w, name, true), dev, depth);
      else if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN)
        {
          struct stat st;
          if (fstatat (dirfd (d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            {
              if (errno != ENOENT)
                note_unreadable (w, errno);
            }
          else if (S_ISDIR (st.st_mode))
            r = descend (w, d, name, at + nlen, hidden || is_hidden (w, name, true), dev, depth);
          else if (S_ISREG (st.st_mode) && st.st_nlink > 1)
            {
              bool h = hidden || is_hidden (w, name, false);
              struct link_entry *le = map_insert (w->m, st.st_dev, st.st_ino);
              if (!le)
                r = -1;
              else
                {
                  le->nlink = st.st_nlink;
                  if (h && !le->hidden)
                    w->m->n_hidden++;
                  le->hidden |= h;
                }
            }
        }
      w->rel[len] = '\0';
      if (r < 0)
        return -1;
    }
  return 0;
}

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* One walk of the whole tree: a new map, or NULL with ERR set.  WARNING
   gets what was not covered (or ""). */
static struct link_map *
walk_tree (struct hidden_inodes *hi, char *warning, size_t warning_size, struct cage_error *err)
{
  warning[0] = '\0';
  struct link_map *m = calloc (1, sizeof *m);
  struct walk *w = calloc (1, sizeof *w);
  if (!m || !w)
    {
      free (m);
      free (w);
      cage_error_set (err, ENOMEM, "walk `%s` for hard links", hi->root);
      return NULL;
    }
  w->m = m;
  w->bl = hi->bl;
  w->t0 = now_ms ();
  int fd = openat (hi->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  int r = -1;
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      cage_error_set (err, errno, "read `%s` to look for hard links to hidden files", hi->root);
      if (fd >= 0)
        close (fd);
    }
  else if (map_add_dev (m, st.st_dev, true) < 0)
    {
      cage_error_set (err, ENOMEM, "walk `%s` for hard links", hi->root);
      close (fd);
    }
  else if (walk_dir (w, fd, 0, false, st.st_dev, 0) < 0) /* takes fd */
    cage_error_set (err, ENOMEM, "walk `%s` for hard links", hi->root);
  else
    r = 0;
  /* The cow view shows the upper layer over the project: its names count
     too (the same relative paths, so the same patterns). */
  if (r == 0 && hi->upper_fd >= 0)
    {
      int ufd = openat (hi->upper_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct stat ust;
      if (ufd < 0 || fstat (ufd, &ust) < 0)
        {
          r = -1;
          cage_error_set (err, errno, "read the cow layer of `%s` to look for hard links",
                          hi->root);
          if (ufd >= 0)
            close (ufd);
        }
      else if ((!map_dev (m, ust.st_dev) && map_add_dev (m, ust.st_dev, true) < 0)
               || walk_dir (w, ufd, 0, false, ust.st_dev, 0) < 0)
        {
          r = -1;
          cage_error_set (err, ENOMEM, "walk `%s` for hard links", hi->root);
        }
    }
  if (r < 0)
    {
      map_free (m);
      free (w);
      return NULL;
    }

  if (m->truncated)
    snprintf (warning, warning_size,
              "`%s`: hard links to hidden files were looked for only among %zu entries "
              "(stopped early: %s): past them, a hidden file's other names are not hidden",
              hi->root, w->entries, w->why);
  char notes[768] = "";
  size_t off = 0;
  if (w->unreadable)
    off += (size_t) snprintf (notes, sizeof notes, "; %zu entr%s not read (first `%s`: %s)",
                              w->unreadable, w->unreadable == 1 ? "y" : "ies", w->unreadable_first,
                              strerror (w->unreadable_errno));
  if (w->fuse && off < sizeof notes)
    snprintf (notes + off, sizeof notes - off, "; %zu FUSE mount%s not walked (first `%s`)",
              w->fuse, w->fuse == 1 ? "" : "s", w->fuse_first);
  fprintf (stderr, "cagefs: hard-link walk of `%s`: %zu entries, %zu files with several links "
           "(%zu hidden), %.1f ms%s\n", hi->root, w->entries, m->n, m->n_hidden,
           now_ms () - w->t0, notes);
  free (w);
  return m;
}

struct hidden_inodes *
hidden_inodes_new (int root_fd, int upper_fd, const char *root, const struct blacklist *bl,
                   char *warning, size_t warning_size, struct cage_error *err)
{
  struct hidden_inodes *hi = calloc (1, sizeof *hi);
  if (!hi || !(hi->root = strdup (root)))
    {
      free (hi);
      cage_error_set (err, ENOMEM, "walk `%s` for hard links", root);
      return NULL;
    }
  hi->root_fd = root_fd;
  hi->upper_fd = upper_fd;
  hi->bl = bl;
  pthread_mutex_init (&hi->lock, NULL);
  pthread_mutex_init (&hi->walk_lock, NULL);
  atomic_store (&hi->walks, 1);
  if (!(hi->map = walk_tree (hi, warning, warning_size, err)))
    {
      hidden_inodes_free (hi);
      return NULL;
    }
  hi->warned = hi->map->truncated;
  return hi;
}

void
hidden_inodes_free (struct hidden_inodes *hi)
{
  if (!hi)
    return;
  map_free (hi->map);
  pthread_mutex_destroy (&hi->lock);
  pthread_mutex_destroy (&hi->walk_lock);
  free (hi->root);
  free (hi);
}

/* ---- the decision ------------------------------------------------------ */

enum verdict
{
  SHOW,
  HIDE,
  WALK, /* the set may be out of date for this file: walk again */
};

/* FRESH: M comes from a walk that started after ST was taken. */
static enum verdict
decide (const struct link_map *m, const struct stat *st, bool fresh)
{
  const struct link_dev *d = map_dev (m, st->st_dev);
  if (d && !d->walked)
    return SHOW; /* a FUSE mount inside: not searched (warned) */
  if (!d)
    return fresh ? SHOW : WALK; /* a filesystem the walk never met */
  const struct link_entry *e = map_find (m, st->st_dev, st->st_ino);
  if (m->truncated)
    return e && e->hidden ? HIDE : SHOW; /* warned at the walk */
  if (fresh)
    return e && !e->hidden ? SHOW : HIDE; /* not met: moved meanwhile */
  if (e && e->hidden)
    return st->st_nlink >= e->nlink ? HIDE : WALK; /* fewer links: maybe no hidden one left */
  if (e)
    return st->st_nlink <= e->nlink ? SHOW : WALK; /* more links: maybe a hidden one */
  return WALK;
}

static void
walk_again (struct hidden_inodes *hi)
{
  /* (a rename from now on may be missed by this walk: stale again) */
  atomic_store (&hi->stale, false);
  atomic_fetch_add (&hi->walks, 1);
  char warning[1024];
  struct cage_error err = { 0 };
  struct link_map *m = walk_tree (hi, warning, sizeof warning, &err);
  if (!m)
    {
      /* The old set stays; the asker hides what it cannot decide. */
      fprintf (stderr, "cagefs: error: %s\n", err.msg);
      return;
    }
  if (warning[0] && (!hi->warned || !m->truncated))
    fprintf (stderr, "cagefs: warning: %s\n", warning);
  pthread_mutex_lock (&hi->lock);
  struct link_map *old = hi->map;
  hi->map = m;
  hi->warned = m->truncated;
  pthread_mutex_unlock (&hi->lock);
  map_free (old);
}

bool
hidden_inodes_hides (struct hidden_inodes *hi, const struct stat *st)
{
  /* Read before anything else: a walk counted after this started after
     the caller's stat, so it met every name the file had then. */
  unsigned long seen = atomic_load (&hi->walks);
  bool stale = atomic_load (&hi->stale);
  pthread_mutex_lock (&hi->lock);
  enum verdict v = decide (hi->map, st, false);
  pthread_mutex_unlock (&hi->lock);
  if (stale && v == SHOW)
    v = WALK; /* the host renamed a link of it to a hidden name, maybe */
  if (v != WALK)
    return v == HIDE;
  pthread_mutex_lock (&hi->walk_lock);
  if (atomic_load (&hi->walks) == seen)
    walk_again (hi);
  pthread_mutex_lock (&hi->lock);
  v = decide (hi->map, st, true);
  pthread_mutex_unlock (&hi->lock);
  pthread_mutex_unlock (&hi->walk_lock);
  return v != SHOW;
}

void
hidden_inodes_linked (struct hidden_inodes *hi, const struct stat *before)
{
  if (!S_ISREG (before->st_mode))
    return;
  pthread_mutex_lock (&hi->lock);
  struct link_map *m = hi->map;
  struct link_entry *e = map_find (m, before->st_dev, before->st_ino);
  if (e && !e->hidden && e->nlink >= before->st_nlink)
    {
      if (e->nlink < before->st_nlink + 1)
        e->nlink = before->st_nlink + 1;
    }
  else if (!e && before->st_nlink == 1 && map_dev (m, before->st_dev)
           && (e = map_insert (m, before->st_dev, before->st_ino)))
    e->nlink = 2;
  /* Otherwise the next look at it walks again. */
  pthread_mutex_unlock (&hi->lock);
}

void
hidden_inodes_stale (struct hidden_inodes *hi)
{
  atomic_store (&hi->stale, true);
}
