/* fuzz_glob.c - libFuzzer target: blacklist patterns and a path.

   The input is lines: every line but the last is a pattern, the last is
   the path (relative to a view root) to match.  Patterns the checker
   refuses are dropped (and must be refused by blacklist_init too).
   Checked besides ASan/UBSan:
   - blacklist_init accepts exactly the patterns blacklist_check_pattern
     accepts;
   - blacklist_match agrees with blacklist_which (hidden iff the deciding
     rule does not negate), for files and folders;
   - without anchored patterns, only the name decides: the path matches as
     its last component alone does, and still matches below another folder
     ("x/" + path);
   - blacklist_glob (the "**" matcher, a set of reachable states) agrees
     with a plain recursive matcher on each pattern against the path.  */
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blacklist.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The reference: gitignore's "**" components by plain recursion over
   '/'-separated components (exponential in the number of "**", so used
   only on short inputs). */
static bool
ref_match (const char *pat, const char *path)
{
  if (!*pat)
    return !*path;
  const char *pe = strchr (pat, '/');
  size_t pl = pe ? (size_t) (pe - pat) : strlen (pat);
  const char *pnext = pe ? pe + 1 : pat + pl;
  if (pl == 2 && pat[0] == '*' && pat[1] == '*')
    {
      if (ref_match (pnext, path))
        return true;
      if (!*path)
        return false;
      const char *se = strchr (path, '/');
      return ref_match (pat, se ? se + 1 : path + strlen (path));
    }
  if (!*path)
    return false;
  const char *se = strchr (path, '/');
  size_t sl = se ? (size_t) (se - path) : strlen (path);
  char pc[4096], sc[4096];
  if (pl >= sizeof pc || sl >= sizeof sc)
    return false;
  memcpy (pc, pat, pl);
  pc[pl] = '\0';
  memcpy (sc, path, sl);
  sc[sl] = '\0';
  if (fnmatch (pc, sc, 0) != 0)
    return false;
  /* Both end here, or both go on. */
  if (!pe && !se)
    return true;
  if (!se)
    return ref_match (pnext, "");
  return ref_match (pnext, se + 1);
}

#define MAX_PATTERNS 64

static void
check (bool ok, const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz_glob: broken: %s\n", what);
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (memchr (data, '\0', size))
    return 0;
  char *text = malloc (size + 1);
  if (!text)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';

  char *patterns[MAX_PATTERNS + 1];
  size_t n = 0;
  char *path = text;
  bool tried_init = false;
  for (char *nl; (nl = strchr (path, '\n')) && n < MAX_PATTERNS; path = nl + 1)
    {
      *nl = '\0';
      struct cage_error err = { 0 };
      if (blacklist_check_pattern (path, &err) == 0)
        patterns[n++] = path;
      else
        {
          check (err.msg[0] != '\0', "a refused pattern says why");
          /* blacklist_init refuses it too (tried once per input: it
             copies every default first) */
          char *one[] = { path, NULL };
          struct blacklist bad;
          if (!tried_init)
            check (blacklist_init (&bad, one, false, &err) < 0, "init refuses what check refuses");
          tried_init = true;
        }
    }
  patterns[n] = NULL;

  struct blacklist bl;
  struct cage_error err = { 0 };
  check (blacklist_init (&bl, patterns, false, &err) == 0, "init accepts what check accepts");

  for (int is_dir = 0; is_dir < 2; is_dir++)
    {
      long w = blacklist_which (&bl, path, is_dir);
      bool hidden = blacklist_match (&bl, path, is_dir);
      check (hidden == (w >= 0 && !bl.rules[w].negate), "match agrees with which");
    }

  bool by_path = blacklist_match_path (&bl, path);
  const char *slash = strrchr (path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!bl.has_paths && path[0] != '\0' && path[strlen (path) - 1] != '/' && !strstr (path, "//"))
    {
      check (blacklist_match_name (&bl, name) == by_path, "without anchored patterns the name decides");
      size_t len = strlen (path);
      char *deeper = malloc (len + 3);
      if (deeper)
        {
          memcpy (deeper, "x/", 2);
          memcpy (deeper + 2, path, len + 1);
          check (blacklist_match_path (&bl, deeper) == by_path, "one folder down, the same");
          free (deeper);
        }
    }

  /* The "**" matcher against the reference, for short inputs. */
  if (strlen (path) < 64)
    for (size_t i = 0; i < n; i++)
      {
        const char *g = patterns[i];
        int stars = 0;
        for (const char *q = g; (q = strstr (q, "**")); q += 2)
          stars++;
        if (strlen (g) < 64 && stars <= 4 && g[0] != '/' && g[strlen (g) - 1] != '/'
            && g[0] != '!' && !strstr (g, "//"))
          {
            // gitignore: a final "**" component is what is inside the
            // folder, not the folder: the reference adds a "*" component.
            char ref[160];
            size_t gl = strlen (g);
            if (gl >= 3 && strcmp (g + gl - 3, "/**") == 0)
              snprintf (ref, sizeof ref, "%.*s/*/**", (int) (gl - 3), g);
            else
              snprintf (ref, sizeof ref, "%s", g);
            check (blacklist_glob (g, path) == ref_match (ref, path), "** matcher = reference");
          }
      }
  blacklist_free (&bl);
  free (text);
  return 0;
}
