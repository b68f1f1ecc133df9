/* review.h - the work of `cagefs accept` and `cagefs discard` (fs/cli/cmd_accept.c),
   run by the CLI on an unmounted project and by the daemon (fs/daemon/control.c)
   on a mounted one, so both print the same lines, JSON and exit status. */
#ifndef CAGE_REVIEW_H
#define CAGE_REVIEW_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "paths.h"

enum review
{
  REVIEW_ACCEPT,
  REVIEW_DISCARD,
};

/* What the daemon learns while the layer changes under it; NULL members
   (and NULL hooks: the CLI) do nothing. */
struct review_hooks
{
  void *ctx;
  /* Is the upper file UST open in the cage?  An accepted file that is
     stays in the layer (with a record that it equals the host's new
     version), so the agent's open fd keeps writing where the view reads. */
  bool (*busy) (void *ctx, const struct stat *ust);
  /* The upper entry REL (UST as it was) left the layer. */
  void (*gone) (void *ctx, const char *rel, const struct stat *ust);
  /* What the agent sees at REL changed (or may have). */
  void (*touched) (void *ctx, const char *rel);
};

/* Accept or discard the changes SEL (NULL-terminated PATH arguments,
   normalised here in place; none: all) of PP's cow layer, printing to OUT
   and ERR what the CLI prints to stdout and stderr.  The caller holds the
   project lock.  Returns the exit status (0, or 1). */
int review_run (const struct project_paths *pp, enum review what, char **sel, bool json,
                FILE *out, FILE *err, const struct review_hooks *hooks);

/* Does a daemon serve PP's mount (then it applies a review: control.h)? */
bool review_mounted (const struct project_paths *pp);
/* An error line for people, the agent's names in MSG escaped. */
void review_print_error (const char *msg, FILE *f);
/* J (taken) as one compact JSON line. */
struct json_t;
void review_print_json (struct json_t *j, FILE *f);

#endif
