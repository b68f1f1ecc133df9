/* rmtree.h - remove a folder tree beneath a directory fd. */
#ifndef CAGE_RMTREE_H
#define CAGE_RMTREE_H

#include <sys/types.h>

#include "error.h"

/* Remove NAME (in DIR_FD, which is DIR_PATH, for messages) and all below
   it; a missing NAME is not an error.  Nothing on a filesystem other than
   DEV is entered (EXDEV); read-only folders are made writable first. */
int rmtree_at (int dir_fd, const char *dir_path, const char *name, dev_t dev, int depth,
               struct cage_error *err);

#endif
