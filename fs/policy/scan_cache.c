/* scan_cache.c - the verdicts of the secret scan per file version, and the
   read beneath the view root (see scan_cache.h). */
#include "scan_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define WAYS 4

/* One file version and what its scan found. */
struct scan_entry
{
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
  uint32_t used_at;          /* the cache's clock at the last use */
  uint8_t kind;              /* enum secret_kind */
  bool used;
};

struct scan_cache
{
  pthread_mutex_t lock;
  struct scan_entry *slots;  /* nsets * WAYS */
  size_t nsets;
  double racy;               /* seconds */
  uint32_t clock;
  struct scan_cache_stats stats;
};

struct scan_cache *
scan_cache_new (size_t entries, double racy_seconds)
{
  struct scan_cache *sc = calloc (1, sizeof *sc);
  if (!sc)
    return NULL;
  sc->nsets = entries < WAYS ? 1 : (entries + WAYS - 1) / WAYS;
  /* (calloc: the pages are only touched as sets fill) */
  if (!(sc->slots = calloc (sc->nsets * WAYS, sizeof *sc->slots)))
    {
      free (sc);
      return NULL;
    }
  sc->racy = racy_seconds;
  pthread_mutex_init (&sc->lock, NULL);
  return sc;
}

void
scan_cache_free (struct scan_cache *sc)
{
  if (!sc)
    return;
  pthread_mutex_destroy (&sc->lock);
  free (sc->slots);
  free (sc);
}

static struct scan_entry *
set_of (const struct scan_cache *sc, dev_t dev, ino_t ino)
{
  uint64_t x = (uint64_t) ino ^ ((uint64_t) dev * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 29;
  return &sc->slots[(x % sc->nsets) * WAYS];
}

static bool
same_time (struct timespec a, struct timespec b)
{
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool
same_version (const struct scan_entry *e, const struct stat *st)
{
  return e->size == st->st_size && same_time (e->mtime, st->st_mtim)
         && same_time (e->ctime, st->st_ctim);
}

/* The verdict for ST's version (true, in *KIND), under the lock. */
static bool
lookup (struct scan_cache *sc, const struct stat *st, enum secret_kind *kind)
{
  struct scan_entry *set = set_of (sc, st->st_dev, st->st_ino);
  for (int i = 0; i < WAYS; i++)
    if (set[i].used && set[i].dev == st->st_dev && set[i].ino == st->st_ino
        && same_version (&set[i], st))
      {
        set[i].used_at = ++sc->clock;
        *kind = (enum secret_kind) set[i].kind;
        return true;
      }
  return false;
}

/* Remember KIND for ST's version, under the lock: over an older version of
   the same file, else in a free way, else over the least recently used. */
static void
store (struct scan_cache *sc, const struct stat *st, enum secret_kind kind)
{
  struct scan_entry *set = set_of (sc, st->st_dev, st->st_ino), *e = NULL;
  for (int i = 0; i < WAYS && !e; i++)
    if (set[i].used && set[i].dev == st->st_dev && set[i].ino == st->st_ino)
      e = &set[i];
  for (int i = 0; i < WAYS && !e; i++)
    if (!set[i].used)
      e = &set[i];
  if (!e)
    {
      e = &set[0];
      /* (unsigned differences: right across the clock's wrap) */
      for (int i = 1; i < WAYS; i++)
        if ((uint32_t) (sc->clock - set[i].used_at) > (uint32_t) (sc->clock - e->used_at))
          e = &set[i];
    }
  if (!e->used)
    sc->stats.entries++;
  *e = (struct scan_entry){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
                            .mtime = st->st_mtim, .ctime = st->st_ctim,
                            .used_at = ++sc->clock, .kind = (uint8_t) kind, .used = true };
}

/* Changed so recently that it may change again under the same key? */
static bool
racy (const struct scan_cache *sc, const struct stat *st)
{
  struct timespec now;
  if (clock_gettime (CLOCK_REALTIME, &now) < 0)
    return true;
  double age = (double) (now.tv_sec - st->st_ctim.tv_sec)
               + (double) (now.tv_nsec - st->st_ctim.tv_nsec) / 1e9;
  return age < sc->racy;
}

int
scan_file (int fd, const char *name, const struct stat *st, struct stat *now,
           enum secret_kind *kind)
{
  autoclose int own = -1;
  int pfd = fd;
  if (name[0])
    {
      own = openat (fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (own < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? -ESTALE : -errno;
      pfd = own;
    }
  if (fstat (pfd, now) < 0)
    return -errno;
  if (!S_ISREG (now->st_mode) || now->st_dev != st->st_dev || now->st_ino != st->st_ino)
    return -ESTALE;
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", pfd);
  int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  autoclose int rfd = open (path, flags | O_NOATIME);
  if (rfd < 0 && errno == EPERM) /* O_NOATIME: only for the file's owner */
    rfd = open (path, flags);
  if (rfd < 0)
    {
      if (errno == EACCES || errno == EPERM)
        {
          /* The agent reads through us: it cannot read it either. */
          *kind = SECRET_NONE;
          return 0;
        }
      return -errno;
    }
  autofree char *buf = malloc (SECRET_SCAN_BYTES);
  if (!buf)
    return -ENOMEM;
  size_t got = 0;
  while (got < SECRET_SCAN_BYTES)
    {
      ssize_t r = pread (rfd, buf + got, SECRET_SCAN_BYTES - got, (off_t) got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -errno;
      if (r == 0)
        break;
      got += (size_t) r;
    }
  *kind = secret_scan (buf, got);
  return 0;
}

bool
scan_cache_hides (struct scan_cache *sc, int fd, const char *name, const struct stat *st,
                  enum secret_kind *kind)
{
  enum secret_kind k = SECRET_NONE;
  if (kind)
    *kind = SECRET_NONE;
  if (!S_ISREG (st->st_mode))
    return false;
  pthread_mutex_lock (&sc->lock);
  bool hit = lookup (sc, st, &k);
  if (hit)
    sc->stats.hits++;
  pthread_mutex_unlock (&sc->lock);
  if (!hit)
    {
      struct stat now;
      int r = scan_file (fd, name, st, &now, &k);
      if (r == -ESTALE)
        return true;
      if (r < 0)
        {
          /* What could not be read could be a secret: hidden, and read
             again next time. */
          fprintf (stderr, "cagefs: scan: cannot read `%s`: %s; hidden\n", name[0] ? name : ".",
                   strerror (-r));
          return true;
        }
      pthread_mutex_lock (&sc->lock);
      sc->stats.scans++;
      if (k != SECRET_NONE)
        sc->stats.hidden++;
      if (!racy (sc, &now))
        store (sc, &now, k);
      pthread_mutex_unlock (&sc->lock);
    }
  if (kind)
    *kind = k;
  return k != SECRET_NONE;
}

void
scan_cache_stats (struct scan_cache *sc, struct scan_cache_stats *out)
{
  pthread_mutex_lock (&sc->lock);
  *out = sc->stats;
  pthread_mutex_unlock (&sc->lock);
}
