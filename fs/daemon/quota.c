/* quota.c - the workspace's free-space floor (see quota.h). */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "quota.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <time.h>

#include "audit.h"
#include "log.h"

static const struct view *q_view;
static int q_fd = -1;
static unsigned long long q_floor;          /* bytes; 0: no floor */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong q_avail;               /* free bytes at the last look */
static atomic_ullong q_since;               /* bytes written since */
static atomic_llong q_last_ms;              /* when (CLOCK_MONOTONIC) */

static long long
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC_COARSE, &t);
  return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Look at the free space now.  0, or -errno. */
static int
refresh (void)
{
  struct statvfs sv;
  if (fstatvfs (q_fd, &sv) < 0)
    return -errno;
  atomic_store (&q_avail, (unsigned long long) sv.f_bavail * sv.f_frsize);
  atomic_store (&q_since, 0);
  atomic_store (&q_last_ms, now_ms ());
  return 0;
}

static void
human (char *buf, size_t size, unsigned long long v)
{
  if (v >= (1ULL << 30))
    snprintf (buf, size, "%.1f GiB", (double) v / (1 << 30));
  else
    snprintf (buf, size, "%.1f MiB", (double) v / (1 << 20));
}

int
quota_init (const struct view *view, int fd, const struct cage_limits *limits,
            struct cage_error *err)
{
  struct statvfs sv;
  if (fstatvfs (fd, &sv) < 0)
    return cage_error_set (err, errno, "statvfs of the workspace's filesystem");
  unsigned long long total = (unsigned long long) sv.f_blocks * sv.f_frsize;
  if (limits->have_workspace_free_min)
    q_floor = limits->workspace_free_min_pct ? total / 100 * limits->workspace_free_min_pct
                                             : limits->workspace_free_min;
  else
    {
      q_floor = total / 100 * CAGE_DEFAULT_FREE_MIN_PCT;
      if (q_floor > CAGE_DEFAULT_FREE_MIN)
        q_floor = CAGE_DEFAULT_FREE_MIN;
    }
  q_view = view;
  q_fd = fd;
  if (refresh () < 0)
    return cage_error_set (err, errno, "statvfs of the workspace's filesystem");
  unsigned long long avail = atomic_load (&q_avail);
  if (q_floor && avail < q_floor)
    {
      char a[32], f[32];
      human (a, sizeof a, avail);
      human (f, sizeof f, q_floor);
      cage_warn ("the workspace's filesystem has %s free, less than the floor of %s "
                 "(limits.workspace_free_min): the agent's writes there get ENOSPC until "
                 "space is freed; lower the floor in cage.json to allow them",
                 a, f);
    }
  return 0;
}

int
quota_check (struct fuse_req *req, const char *op, struct node *n, size_t size)
{
  if (!q_floor || n->kind != NODE_REAL || n->view != q_view)
    return 0;
  unsigned long long since = atomic_fetch_add (&q_since, size) + size;
  unsigned long long avail = atomic_load (&q_avail);
  unsigned long long margin = avail > q_floor ? avail - q_floor : 0;
  bool due = now_ms () - atomic_load (&q_last_ms) >= QUOTA_INTERVAL_MS
             || (since >= QUOTA_MIN_BYTES && since > margin / 2);
  if (due && pthread_mutex_trylock (&q_lock) == 0)
    {
      /* (a failed look keeps the last one: the write itself will tell) */
      if (refresh () == 0)
        {
          avail = atomic_load (&q_avail);
          since = atomic_fetch_add (&q_since, size) + size;
        }
      pthread_mutex_unlock (&q_lock);
    }
  if (avail >= q_floor + since)
    return 0;
  /* (the refused bytes stay counted until the next look: we are below
     the floor anyway) */
  if (op)
    audit_node (req, op, n, -ENOSPC);
  return -ENOSPC;
}
