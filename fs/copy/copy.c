/* copy.c - the copy engine (see copy.h for its promises).

   1. plan (copy_walk.c): for each store path not in DST yet, walk it in
      the source, make its folders and symlinks under ".tmp-<name>-<pid>",
      list its files;
   2. copy the files with worker threads (one per CPU, at most 8), largest
      first: io_uring chains for small files (copy_uring.c), reflink or
      copy_file_range for large ones (copy_file.c); the plain engine does
      all with copy_file.c when io_uring is unavailable;
   3. with COPY_DURABLE, syncfs() the destination once (cheaper than an
      fsync per file, and the same guarantee before the renames);
   4. finish: folders get their modes and times (deepest first), and each
      store path is renamed to its name (RENAME_NOREPLACE), then the store
      folder is fsynced.
   A failure removes this run's temporary trees; a kill leaves them for
   copy_clean_leftovers.  The run uses umask 0 so modes are exact.  */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy_impl.h"
#include "log.h"

#define MAX_WORKERS 8

static int
by_size_desc (const void *a, const void *b)
{
  const struct copy_file *x = a, *y = b;
  return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

static void *
worker_main (void *arg)
{
  struct copy_run *run = arg;
  if (run->use_uring)
    copy_uring_worker (run);
  else
    for (size_t i; !atomic_load (&run->failed) && (i = atomic_fetch_add (&run->next, 1)) < run->nfiles;)
      copy_one_file (run, &run->files[i]);
  atomic_fetch_sub (&run->workers_left, 1);
  return NULL;
}

static int
run_workers (struct copy_run *run, struct copy_progress *pg)
{
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  size_t n = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (size_t) cpus;
  if (n > run->nfiles)
    n = run->nfiles;
  if (n == 0)
    return 0;
  pthread_t tids[MAX_WORKERS];
  size_t started = 0;
  atomic_store (&run->workers_left, (int) n);
  for (; started < n; started++)
    {
      int r = pthread_create (&tids[started], NULL, worker_main, run);
      if (r != 0)
        {
          atomic_fetch_sub (&run->workers_left, (int) (n - started));
          if (started == 0)
            return copy_fail (run, r, "start a copy worker");
          break;
        }
    }
  while (atomic_load (&run->workers_left) > 0)
    {
      struct timespec ts = { 0, 50 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      copy_progress_tick (pg, run, false);
    }
  for (size_t i = 0; i < started; i++)
    pthread_join (tids[i], NULL);
  return atomic_load (&run->failed) ? -1 : 0;
}

static int
finish_paths (struct copy_run *run)
{
  for (size_t i = 0; i < run->ndirs; i++)
    {
      const struct copy_dir *d = &run->dirs[i];
      if (fchmodat (run->dst_fd, d->dst, d->mode, 0) < 0)
        return copy_fail (run, errno, "chmod the folder `%s`", d->dst);
      if (copy_set_mtime (run, d->dst, &d->mtime) < 0)
        return -1;
    }
  for (size_t i = 0; i < run->npaths; i++)
    {
      struct copy_path *p = &run->paths[i];
      if (p->skip)
        continue;
      if (renameat2 (run->dst_fd, p->tmp, run->dst_fd, p->name, RENAME_NOREPLACE) == 0)
        continue;
      if (errno != EEXIST)
        return copy_fail (run, errno, "rename `%s` to `%s`", p->tmp, p->name);
      /* Another copy finished it first: ours is not needed. */
      struct cage_error e;
      if (copy_remove_tree (run->dst_fd, p->tmp, &e) < 0)
        return copy_fail (run, e.errnum, "%s", e.msg);
      p->skip = true;
    }
  return 0;
}

static void
run_free (struct copy_run *run)
{
  for (size_t i = 0; i < run->nfiles; i++)
    {
      free (run->files[i].src);
      free (run->files[i].dst);
    }
  free (run->files);
  for (size_t i = 0; i < run->ndirs; i++)
    free (run->dirs[i].dst);
  free (run->dirs);
  for (size_t i = 0; i < run->npaths; i++)
    free (run->paths[i].tmp);
  free (run->paths);
  pthread_mutex_destroy (&run->lock);
}

static int
copy_run_all (struct copy_run *run, FILE *progress, struct copy_stats *stats)
{
  struct copy_progress pg;
  copy_progress_start (&pg, progress, run->flags);
  for (size_t i = 0; i < run->npaths; i++)
    if (copy_walk_path (run, &run->paths[i]) < 0)
      return -1;
  cage_debug ("copy: planned %zu files, %zu folders in %.3f s", run->nfiles, run->ndirs,
              copy_seconds_since (&pg.start));
  if (run->nfiles > 1) /* (files is NULL when every file was linked) */
    qsort (run->files, run->nfiles, sizeof *run->files, by_size_desc);
  const char *why = NULL;
  run->use_uring = !(run->flags & COPY_NO_URING) && run->nfiles > 0 && copy_uring_usable (&why);
  if (why) /* said once per run, not per file */
    cage_warn ("io_uring is unavailable (%s): copying with copy_file_range/read-write", why);
  if (run_workers (run, &pg) < 0)
    return -1;
  cage_debug ("copy: files copied at %.3f s", copy_seconds_since (&pg.start));
  if ((run->flags & COPY_DURABLE) && run->nfiles + run->ndirs > 0 && syncfs (run->dst_fd) < 0)
    return copy_fail (run, errno, "sync the destination store");
  if (finish_paths (run) < 0)
    return -1;
  cage_debug ("copy: paths finished at %.3f s", copy_seconds_since (&pg.start));
  if ((run->flags & COPY_DURABLE) && fsync (run->dst_fd) < 0)
    return copy_fail (run, errno, "sync the destination store folder");
  copy_progress_tick (&pg, run, true);
  stats->engine = run->nfiles == 0 && run->linked > 0 ? "hard links"
                  : run->use_uring ? "io_uring"
                  : atomic_load (&run->try_clone) ? "reflink"
                  : atomic_load (&run->try_cfr) ? "copy_file_range"
                                                 : "read/write";
  return 0;
}

int
copy_store_paths (int src_fd, int dst_fd, const char *const *names, size_t n, unsigned flags,
                  FILE *progress, struct copy_stats *stats, struct cage_error *err)
{
  struct timespec t0;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  memset (stats, 0, sizeof *stats);
  struct copy_run run = {
    .src_fd = src_fd, .dst_fd = dst_fd, .flags = flags, .err = err,
  };
  run.try_link = (flags & COPY_LINK) != 0;
  atomic_init (&run.try_clone, true);
  atomic_init (&run.try_cfr, true);
  pthread_mutex_init (&run.lock, NULL);
  if (!(run.paths = calloc (n ? n : 1, sizeof *run.paths)))
    {
      pthread_mutex_destroy (&run.lock);
      return cage_error_set (err, ENOMEM, "copy");
    }
  run.npaths = n;
  for (size_t i = 0; i < n; i++)
    run.paths[i].name = names[i];
  mode_t old_umask = umask (0);
  int rc = copy_run_all (&run, progress, stats);
  umask (old_umask);
  if (rc < 0)
    {
      /* Nothing half-copied stays: remove this run's temporary trees. */
      for (size_t i = 0; i < run.npaths; i++)
        if (run.paths[i].tmp && !run.paths[i].skip)
          {
            struct cage_error e;
            copy_remove_tree (dst_fd, run.paths[i].tmp, &e);
          }
    }
  else
    {
      for (size_t i = 0; i < n; i++)
        {
          if (run.paths[i].skip)
            stats->skipped++;
          else
            stats->paths++;
        }
      stats->files = run.nfiles + run.linked;
      stats->linked = run.linked;
      stats->dirs = run.ndirs;
      stats->symlinks = run.planned_symlinks;
      stats->bytes = atomic_load (&run.bytes_done);
    }
  stats->seconds = copy_seconds_since (&t0);
  run_free (&run);
  return rc;
}
