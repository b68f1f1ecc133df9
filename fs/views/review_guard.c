/* review_guard.c - what accept may apply (review_guard.h). */
#include "review_guard.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_repos.h"
#include "config.h"
#include "git_guard.h"
#include "resolve.h"

int
review_guard_load (const struct project_paths *pp, struct review_guard *g, struct cage_error *err)
{
  struct mount_flags mf;
  struct cage_config cfg;
  mount_flags_init (&mf);
  config_init (&cfg);
  int r = resolve_config (pp, &mf, &cfg, err);
  if (r == 0)
    r = blacklist_init (&g->hidden, cfg.blacklist, !cfg.blacklist_no_defaults, err);
  if (r == 0 && blacklist_init_with (&g->protect, cfg.protected_no_defaults ? NULL : protect_defaults,
                                     cfg.protected, err) < 0)
    r = cage_error_prefix (err, "protected");
  if (r == 0 && !(g->repos = agent_repos_list (pp->state, pp->project)))
    r = cage_error_set (err, ENOMEM, "the agent's repositories");
  config_free (&cfg);
  mount_flags_free (&mf);
  return r < 0 ? -1 : 0;
}

void
review_guard_free (struct review_guard *g)
{
  blacklist_free (&g->hidden);
  blacklist_free (&g->protect);
  json_decref (g->repos);
}

/* Is PATH in a repository the agent made (its .git folder or below)?
   The protected patterns guard the repositories present at mount only. */
static bool
in_agent_repo (const struct review_guard *g, const char *path)
{
  size_t i;
  json_t *r;
  json_array_foreach (g->repos, i, r)
    {
      const char *repo = json_string_value (r);
      size_t n = strlen (repo);
      if (strncmp (path, repo, n) == 0 && (path[n] == '\0' || path[n] == '/'))
        return true;
    }
  return false;
}

/* Is PATH (of type MODE), or a folder on its way, protected or hidden?
   "protected", "hidden" or NULL.  Protected patterns are matched as file
   and as folder (as the daemon does); hidden ones by the entry's type. */
static const char *
guarded (const struct review_guard *g, const char *path, mode_t mode)
{
  char prefix[4096];
  snprintf (prefix, sizeof prefix, "%s", path);
  for (char *p = prefix;; p++)
    if (*p == '/' || *p == '\0')
      {
        char c = *p;
        *p = '\0';
        bool last = c == '\0';
        if (prefix[0] && (blacklist_match (&g->protect, prefix, false)
                          || blacklist_match (&g->protect, prefix, true))
            && !in_agent_repo (g, prefix))
          return "protected";
        if (prefix[0] && blacklist_match (&g->hidden, prefix, !last || S_ISDIR (mode)))
          return "hidden";
        if (last)
          return NULL;
        *p = c;
      }
}

/* Why each change of CS may not be applied (NULL: it may), into WHY[] and
   the path it is about into WHAT[]: the change's own path, or a rename's
   old one.  A folder deleted with something refused below it is refused
   too (it cannot go while that stays). */
void
review_guard_changes (const struct review_guard *g, const struct cow_changes *cs, const char **why,
               const char **what)
{
  for (size_t i = 0; i < cs->n; i++)
    {
      const struct cow_change *ch = &cs->v[i];
      what[i] = ch->path;
      why[i] = guarded (g, ch->path, ch->mode);
      if (!why[i] && ch->from && (why[i] = guarded (g, ch->from, ch->mode)))
        what[i] = ch->from;
      /* what git would run (git_guard.h): the daemon refused it; the
         layer is checked again all the same */
      char reason[GIT_GUARD_WHY];
      if (!why[i] && ch->kind != COW_DELETED
          && git_guard_file (cs->upper_fd, ch->path, ch->mode, reason) < 0)
        why[i] = "something git would run";
    }
  for (size_t i = 0; i < cs->n; i++)
    {
      const struct cow_change *ch = &cs->v[i];
      if (why[i] || ch->kind != COW_DELETED || !S_ISDIR (ch->mode))
        continue;
      char *one[] = { ch->path, NULL };
      for (size_t k = 0; k < cs->n && !why[i]; k++)
        if (k != i && why[k] && (cow_selected (cs->v[k].path, one)
                                 || (cs->v[k].from && cow_selected (cs->v[k].from, one))))
          why[i] = strcmp (why[k], "hidden") == 0 ? "a folder of hidden entries"
                                                   : "a folder of protected entries";
    }
}

