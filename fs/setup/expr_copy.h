/* expr_copy.h - the folder holding store.expr, copied to a private folder
   and hashed, so that what Nix evaluates is exactly what was hashed.

   The project (and so the expr's folder) is the agent's: it may change any
   file there, or put a symbolic link where a folder was, between mounts or
   during one.  The folder is reached from the project's fd with
   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (a link on the way is refused),
   then read through fds only (O_NOFOLLOW; a file that is not a regular one
   when opened is refused), and copied into a new 0700 folder of the
   invoking user.  Nix is then handed the copy, in restricted mode with only
   the copy, the store and NIX_PATH readable (fs/setup/packages.c). */
#ifndef CAGE_EXPR_COPY_H
#define CAGE_EXPR_COPY_H

#include "error.h"

/* At most this much is copied: a bigger folder is refused with the fix
   (give the expr a folder of its own). */
#define EXPR_COPY_MAX_BYTES (64LL * 1024 * 1024)
#define EXPR_COPY_MAX_ENTRIES 10000
#define EXPR_COPY_MAX_DEPTH 64

struct expr_copy
{
  char *dir;        /* PARENT/expr-eval.XXXXXX (0700), removed by free */
  char *folder;     /* the copy: DIR/NAME, NAME the folder's own name (the
                       project's for its root), so that `./.` in the expr
                       gives the store path the name it would have */
  char *file;       /* the expr inside it */
  char digest[65];  /* SHA-256 (hex) of the folder: names, types, exec
                       bits, link targets and contents */
};

/* Copy the folder of EXPR (a path relative to the project PROJECT, already
   checked to stay inside it) into a new folder under PARENT and hash it.
   EXPR itself must be a regular file.  On error nothing is left behind. */
int expr_copy_make (const char *project, const char *expr, const char *parent,
                    struct expr_copy *out, struct cage_error *err);

/* Remove the copy (errors are only logged) and free OUT's strings. */
void expr_copy_free (struct expr_copy *c);

#endif
