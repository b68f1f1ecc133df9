/* copy.h - the copy engine: store paths from one store folder into another
   (copy mode's private store), with batched io_uring submissions.

   Promises:
   - each store path is built under a temporary name in DST (".tmp-<name>-...")
     and renamed into place only when complete (and synced when
     COPY_DURABLE); a copy killed at any moment leaves no partial path
     visible, and the next copy removes the leftovers and finishes the job;
   - a path already present in DST is skipped (later mounts copy only what
     is missing);
   - regular files (contents, executable bit), directories, symlinks and
     the store's fixed mtimes are reproduced; nothing else (no owners, no
     set-uid bits, no devices);
   - with COPY_LINK, files are hard links to the source where possible
     (one syscall per file, no data written);
   - io_uring is used when the kernel allows it; otherwise a plain
     read/write (or copy_file_range) fallback, said once in STATS->engine;
   - errors name the path and strerror; nothing half-copied is visible.  */
#ifndef CAGE_COPY_H
#define CAGE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

enum copy_flags
{
  COPY_DURABLE = 1 << 0,  /* fsync files and folders before the rename */
  COPY_PROGRESS = 1 << 1, /* progress line on PROGRESS (a TTY) */
  COPY_JSON = 1 << 2,     /* NDJSON progress events on PROGRESS */
  COPY_NO_URING = 1 << 3, /* force the fallback (tests, benchmarks) */
  COPY_LINK = 1 << 4,     /* share regular files by hard links where the
                             filesystem allows it (same filesystem, and
                             fs.protected_hardlinks lets us); whoever writes
                             DST must copy up first (fs/views/copyup.c) */
};

struct copy_stats
{
  uint64_t paths;         /* store paths copied (not counting skipped) */
  uint64_t skipped;       /* store paths already present */
  uint64_t files, dirs, symlinks;
  uint64_t bytes;         /* file bytes copied */
  uint64_t linked;        /* files shared by hard links (COPY_LINK) */
  double seconds;
  const char *engine;     /* "hard links", "io_uring", "reflink",
                             "copy_file_range" or "read/write" */
};

/* Copy the store paths NAMES[0..N) (base names "<hash>-<name>") from the
   folder SRC_FD (e.g. /nix/store) into the folder DST_FD.  FLAGS: enum
   copy_flags; PROGRESS: where progress goes (NULL: nowhere).  */
int copy_store_paths (int src_fd, int dst_fd, const char *const *names, size_t n,
                      unsigned flags, FILE *progress, struct copy_stats *stats,
                      struct cage_error *err);

/* Remove NAME (a file, symlink or a whole tree, whatever its modes: store
   folders are 0555) beneath DIR_FD.  Missing is fine. */
int copy_remove_tree (int dir_fd, const char *name, struct cage_error *err);

/* Remove leftovers (".tmp-*") of a copy killed earlier from DST_FD. */
int copy_clean_leftovers (int dst_fd, struct cage_error *err);

#endif
