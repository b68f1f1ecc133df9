/* copy_impl.h - the copy engine's parts (copy.c drives them):
     copy_walk.c      plan: walk the source store paths, make their folders
                      and symlinks under temporary names, list the files;
     copy_uring.c     copy small files with linked io_uring chains;
     copy_file.c      copy one file with reflink / copy_file_range /
                      read-write (large files, and the fallback engine);
     copy_progress.c  progress on a TTY or as NDJSON events;
     copy_clean.c     remove a temporary tree (leftovers, failed copies).  */
#ifndef CAGE_COPY_IMPL_H
#define CAGE_COPY_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "copy.h"

#define COPY_TMP_PREFIX ".tmp-"

/* Files up to this size go through io_uring chains (one buffer each);
   larger ones through copy_file.c (reflink or copy_file_range). */
#define COPY_URING_MAX (128 * 1024)

struct copy_file
{
  char *src;              /* relative to run->src_fd: "<name>/sub/file" */
  char *dst;              /* relative to run->dst_fd: ".tmp-<name>-<pid>/sub/file" */
  uint64_t size;
  mode_t mode;            /* permission bits (no set-uid/gid, no sticky) */
  struct timespec mtime;
};

struct copy_dir           /* a folder to finish (mode, mtime) after its files */
{
  char *dst;
  mode_t mode;
  struct timespec mtime;
};

struct copy_path          /* one store path */
{
  const char *name;
  char *tmp;              /* ".tmp-<name>-<pid>" */
  bool skip;              /* already present in DST */
};

struct copy_run
{
  int src_fd, dst_fd;
  unsigned flags;
  struct copy_path *paths;
  size_t npaths;
  struct copy_file *files;
  size_t nfiles, files_cap;
  struct copy_dir *dirs;  /* in post-order: children before their parent */
  size_t ndirs, dirs_cap;
  uint64_t total_bytes;
  uint64_t planned_dirs, planned_symlinks;

  /* Shared by the workers. */
  atomic_size_t next;     /* next file to take */
  atomic_uint_fast64_t files_done, bytes_done;
  atomic_bool failed;
  bool try_link;          /* COPY_LINK and no refusal yet (plan: one thread) */
  uint64_t linked;
  atomic_bool try_clone;  /* FICLONE still worth trying */
  atomic_bool try_cfr;    /* copy_file_range still worth trying */
  atomic_int workers_left;
  pthread_mutex_t lock;   /* guards err */
  struct cage_error *err;
  bool use_uring;
  bool uring_registered_buffers;
};

/* copy_walk.c */
int copy_walk_path (struct copy_run *run, struct copy_path *p);

/* copy_file.c: copy FILE synchronously; 0 or -1 with the error recorded. */
int copy_one_file (struct copy_run *run, const struct copy_file *f);
/* Record the first error of the run (thread safe); returns -1. */
int copy_fail (struct copy_run *run, int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
/* Set the mtime of DST (relative to the run's dst_fd), not following links. */
int copy_set_mtime (struct copy_run *run, const char *dst, const struct timespec *mtime);

/* copy_uring.c */
/* Can this kernel run our chains?  Sets *WHY when not. */
bool copy_uring_usable (const char **why);
/* A worker: takes files from the run until none is left or the run failed. */
int copy_uring_worker (struct copy_run *run);

/* copy_progress.c */
struct copy_progress
{
  FILE *out;
  unsigned flags;
  struct timespec start, last;
};
void copy_progress_start (struct copy_progress *pg, FILE *out, unsigned flags);
void copy_progress_tick (struct copy_progress *pg, const struct copy_run *run, bool final);


double copy_seconds_since (const struct timespec *t0);

#endif
