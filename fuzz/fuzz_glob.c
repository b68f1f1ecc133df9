/* fuzz_glob.c - libFuzzer target: blacklist patterns and a path.

   The input is lines: every line but the last is a pattern, the last is
   the path (relative to a view root) to match.  Patterns the checker
   refuses are dropped (and must be refused by blacklist_init too).
   Checked besides ASan/UBSan:
   - blacklist_init accepts exactly the patterns blacklist_check_pattern
     accepts;
   - a name that matches also matches as the last component of a path;
   - patterns match the last components: a path that matches still
     matches below another folder ("x/" + path).  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blacklist.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

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
            check (blacklist_init (&bad, one, &err) < 0, "init refuses what check refuses");
          tried_init = true;
        }
    }
  patterns[n] = NULL;

  struct blacklist bl;
  struct cage_error err = { 0 };
  check (blacklist_init (&bl, patterns, &err) == 0, "init accepts what check accepts");

  bool by_path = blacklist_match_path (&bl, path);
  const char *slash = strrchr (path, '/');
  const char *name = slash ? slash + 1 : path;
  if (blacklist_match_name (&bl, name))
    check (by_path, "a matching name matches as a path's last component");

  if (by_path && path[0] != '\0' && path[0] != '/')
    {
      size_t len = strlen (path);
      char *deeper = malloc (len + 3);
      if (deeper)
        {
          memcpy (deeper, "x/", 2);
          memcpy (deeper + 2, path, len + 1);
          check (blacklist_match_path (&bl, deeper), "a match still matches one folder down");
          free (deeper);
        }
    }
  blacklist_free (&bl);
  free (text);
  return 0;
}
