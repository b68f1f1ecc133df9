/* blacklist.h - gitignore-style patterns that hide secrets in every view.

   Each pattern follows gitignore(5):
   - "*" matches anything but '/', "?" one character but '/', "[a-z]",
     "[!a-z]" a set; a backslash quotes the next character;
   - a pattern without a '/' (but a trailing one) matches a name at any
     depth ("*.pem", ".env.*");
   - a pattern with a '/' at its start or middle is anchored to the view's
     root ("/build.log", "config/prod.yml"); a "**" component matches zero
     or more folders: at the start, in every folder (so "**" then
     "/.kube/config" hides .kube/config at any depth), in the middle, any
     folders between, and at the end everything inside a folder;
   - a trailing '/' matches folders only ("secrets/");
   - a leading '!' re-includes what an earlier pattern hid ("!.env.example");
     the last pattern that matches decides.  As in git, nothing inside a
     hidden folder can be re-included (the view never reaches it).
   Patterns are compiled once; matching does not allocate.  */
#ifndef CAGE_BLACKLIST_H
#define CAGE_BLACKLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The built-in defaults, NULL-terminated: hidden secrets, and protected
   files (the agent may read them, not change, rename or delete them). */
extern const char *const blacklist_defaults[];
extern const char *const protect_defaults[];

struct blacklist_rule
{
  char *glob;            /* without '!', the leading '/' and the trailing '/' */
  const char *source;    /* the pattern as written (points into patterns[]) */
  unsigned ncomp;        /* components of GLOB ('/'-separated) */
  bool negate;           /* "!": re-include */
  bool dir_only;         /* trailing '/' */
  bool anchored;         /* matched against the whole path, else the name */
  bool trailing_dstar;   /* a final "**" component: inside a folder, not itself */
};

struct blacklist
{
  char **patterns;       /* NULL-terminated, as written, defaults first */
  size_t n;
  struct blacklist_rule *rules;
  bool has_paths;        /* some rule needs the whole path (anchored) */
  bool has_dir_only;     /* some rule matches folders only */
  bool has_negations;
};

/* Build from the defaults (when DEFAULTS) plus EXTRA (NULL-terminated, may
   be NULL).  A bad pattern is an error naming it. */
int blacklist_init (struct blacklist *bl, char *const *extra, bool defaults,
                    struct cage_error *err);
/* The same with another list of defaults (NULL: none). */
int blacklist_init_with (struct blacklist *bl, const char *const *defaults, char *const *extra,
                         struct cage_error *err);
void blacklist_free (struct blacklist *bl);

/* Is PATTERN usable?  On error ERR says why and how to fix it, without
   naming the pattern: callers add where it came from.  */
int blacklist_check_pattern (const char *pattern, struct cage_error *err);

/* The rule deciding RELPATH ("a/b/name", relative to the view root, no
   leading '/'; IS_DIR: a folder): the index of the last matching rule, or
   -1 when none matches.  Hidden iff >= 0 and that rule does not negate. */
long blacklist_which (const struct blacklist *bl, const char *relpath, bool is_dir);

/* Is RELPATH hidden? */
bool blacklist_match (const struct blacklist *bl, const char *relpath, bool is_dir);

/* Shorthands for a non-folder: NAME alone (a top-level entry), or a path. */
bool blacklist_match_name (const struct blacklist *bl, const char *name);
bool blacklist_match_path (const struct blacklist *bl, const char *relpath);

/* Glob match of one pattern against a whole path, gitignore's rules for
   "*", "?", "[...]", "\\" and "**" components (exposed for tests). */
bool blacklist_glob (const char *glob, const char *path);

#endif
