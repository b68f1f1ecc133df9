/* blacklist.h - glob patterns that hide secrets in every view.

   A pattern without '/' matches an entry's name at any depth ("*.pem",
   ".env.*").  A pattern with '/' ("…/.docker/config.json") matches the last
   components of the entry's path relative to the view root, at component
   boundaries.  Matching uses fnmatch(3); it does not allocate.  */
#ifndef CAGE_BLACKLIST_H
#define CAGE_BLACKLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The built-in defaults, NULL-terminated. */
extern const char *const blacklist_defaults[];

struct blacklist
{
  char **patterns;  /* NULL-terminated, defaults first */
  size_t n;
  bool has_paths;   /* some pattern contains '/' */
};

/* Build from the defaults plus EXTRA (NULL-terminated, may be NULL).
   An empty pattern or one with an empty component is an error. */
int blacklist_init (struct blacklist *bl, char *const *extra,
                    struct cage_error *err);
void blacklist_free (struct blacklist *bl);

/* Is PATTERN usable?  Not empty, no empty, "." or ".." component, no leading
   '/' (anchored patterns are not supported yet).  On error ERR says why and
   how to fix it, without naming the pattern: callers add where it came
   from ("blacklist pattern \"x\": ...", "cage.json:4:5: ...").  */
int blacklist_check_pattern (const char *pattern, struct cage_error *err);

/* Does NAME (a single component) match a name-only pattern? */
bool blacklist_match_name (const struct blacklist *bl, const char *name);

/* Does RELPATH ("a/b/name", relative to the view root, no leading '/')
   match any pattern?  Includes blacklist_match_name on the last component. */
bool blacklist_match_path (const struct blacklist *bl, const char *relpath);

#endif
