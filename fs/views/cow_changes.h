/* cow_changes.h - what the cow upper layer changes in the project: the list
   `cagefs diff` shows and `cagefs accept` / `cagefs discard` act on. */
#ifndef CAGE_COW_CHANGES_H
#define CAGE_COW_CHANGES_H

#include <stdbool.h>
#include <sys/stat.h>

#include "cow_layer.h"
#include "error.h"
#include "paths.h"

enum cow_kind
{
  COW_CREATED,
  COW_MODIFIED,
  COW_DELETED,
  COW_RENAMED,
};

struct cow_change
{
  char *path;                /* project-relative */
  char *from;                /* COW_RENAMED: the path it had */
  enum cow_kind kind;
  mode_t mode;               /* the new entry's (deleted: the host's) type and mode */
  mode_t old_mode;           /* COW_MODIFIED: the host's */
  bool have_rec;             /* rec: the host entry as the agent first saw it */
  struct cow_record rec;
  bool own_marker;           /* COW_DELETED: a whiteout of this very name */
  struct timespec since;     /* COW_DELETED without a record: when it was deleted */
};

struct cow_changes
{
  struct cow_change *v;
  size_t n, cap;
  int upper_fd, lower_fd;    /* O_PATH folders of the layer and the project */
};

/* Open the layer of PP (none yet: an empty list) and list its changes,
   sorted by path. */
int cow_changes_collect (const struct project_paths *pp, struct cow_changes *out,
                         struct cage_error *err);
void cow_changes_free (struct cow_changes *c);

/* Is PATH selected by SEL (NULL-terminated project-relative paths; none:
   everything)? */
bool cow_selected (const char *path, char **sel);
/* Normalise the PATH arguments of accept/discard in place: "./x/" -> "x",
   an absolute path inside PROJECT -> relative.  -1 with ERR for one that
   leaves the project. */
int cow_normalise_paths (char **paths, const char *project, struct cage_error *err);

const char *cow_kind_name (enum cow_kind k);

#endif
