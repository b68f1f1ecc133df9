/* rmtree.h - remove a folder tree beneath a directory fd. */
#ifndef CAGE_RMTREE_H
#define CAGE_RMTREE_H

#include <sys/types.h>

#include "error.h"

struct stat;

/* Told of each entry removed, after it is gone: its path (DIR_PATH/.../NAME,
   or NAME/... when DIR_PATH is "") and what it was.  `cagefs accept` and
   `discard` tell the daemon what left the cow layer (review.c). */
struct rmtree_hook
{
  void (*gone) (void *ctx, const char *path, const struct stat *st);
  void *ctx;
};

/* Remove NAME (in DIR_FD, which is DIR_PATH, for messages) and all below
   it; a missing NAME is not an error.  Nothing on a filesystem other than
   DEV is entered (EXDEV); read-only folders are made writable first.
   HOOK (or NULL) hears of every entry removed. */
int rmtree_at (int dir_fd, const char *dir_path, const char *name, dev_t dev, int depth,
               const struct rmtree_hook *hook, struct cage_error *err);

#endif
