/* cow_impl.h - private to cow.c and cow_dirs.c: the layers' fds and the
   helpers both sides of the cow view use.  Everyone else includes cow.h. */
#ifndef CAGE_COW_IMPL_H
#define CAGE_COW_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- cow.c ------------------------------------------------------------ */

/* The upper layer's root (the view's root_fd) and the project's, O_PATH. */
extern int cow_upper_fd, cow_lower_fd;

/* Open REL ("" for the root) beneath ROOT. */
int cow_at (int root, const char *rel, int flags);

/* Is the project's REL hidden from the merged view by a whiteout or an
   opaque folder in the upper layer on its way? */
bool cow_lower_hidden (const char *rel);

/* ---- cow_dirs.c ------------------------------------------------------- */

struct entry
{
  char *name;
  ino_t ino;
  unsigned char type;
};

struct entries
{
  struct entry *v;
  size_t n, cap;
};

void cow_entries_free (struct entries *e);

/* Read the folder DIRFD (O_PATH) into OUT (entries) and WH (whiteouts). */
int cow_read_dir (int dirfd, struct entries *out, struct entries *wh, bool *opaque);

/* The merged entries of the visible folder REL. */
int cow_merged_list (const char *rel, struct entries *out);

#endif
