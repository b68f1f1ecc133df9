/* agent_repos.h - the git repositories the agent made in the workspace.

   Every repository present at mount stays fully protected: its .git/config
   and .git/hooks are protected files (blacklist.c, protect_defaults).  A
   ".git" folder the agent makes (git init, git clone) is its own: the
   protected patterns do not cover what is beneath it, so clone, fetch,
   commit and checkout work there; what git would run from it is still
   refused (git_guard.h).

   The daemon notes each one by (st_dev, st_ino) when the agent's mkdir
   makes it, and appends its path to <state>/repos, so a later mount knows
   it again and `cagefs check` lists it. */
#ifndef CAGE_AGENT_REPOS_H
#define CAGE_AGENT_REPOS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "node.h"

/* Read PATH (missing: none yet) and note each listed folder that is still
   a folder beneath ROOT_FD; later additions are appended to PATH. */
int agent_repos_open (const char *path, int root_fd, struct cage_error *err);
void agent_repos_close (void);

/* The agent made the folder PARENT/NAME (".git"), REL its path in the
   workspace (policy.h; NULL: too long to list). */
void agent_repos_add (struct node *parent, const char *name, const char *rel);

/* Is the folder (DEV, INO) a ".git" the agent made? */
bool agent_repos_has (dev_t dev, ino_t ino);

/* The repositories listed in STATE/repos that still exist in PROJECT or in
   the cow view's upper layer (STATE/cow/upper), each once, as a JSON array
   of paths relative to the project; NULL when out of memory. */
struct json_t;
struct json_t *agent_repos_list (const char *state, const char *project);

#endif
