/* review_guard.h - what accept may apply: the project's hidden
   (blacklist) and protected lists, from its cage.json and the defaults, as
   the daemon builds them (resolve_config, then tree_build), the agent's own
   repositories (agent_repos.h) and what git would run (git_guard.h):
   accept applies no change the daemon would have refused, whatever the
   layer says. */
#ifndef CAGE_REVIEW_GUARD_H
#define CAGE_REVIEW_GUARD_H

#include <jansson.h>

#include "blacklist.h"
#include "cow_changes.h"
#include "error.h"
#include "paths.h"

struct review_guard
{
  struct blacklist hidden, protect;
  json_t *repos; /* the repositories the agent made (agent_repos.h) */
};

int review_guard_load (const struct project_paths *pp, struct review_guard *g,
                       struct cage_error *err);
void review_guard_free (struct review_guard *g);
/* Why each change of CS may not be applied (NULL: it may), into WHY[] and
   the path it is about into WHAT[]. */
void review_guard_changes (const struct review_guard *g, const struct cow_changes *cs,
                           const char **why, const char **what);

#endif
