/* fuzz_storepath.c - libFuzzer target: store path and store name syntax.

   The input is tried as a path and as an entry name.  Checked besides
   ASan/UBSan, against a plain reading of the rule (32 nix-base32
   characters, '-', a name of [A-Za-z0-9+-._?=] not starting with '.', at
   most 211 bytes in all):
   - storepath_valid_name agrees with that reading;
   - storepath_valid (P) is "/nix/store/" + a valid name, and
     storepath_name points at that name.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storepath.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok, const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz_storepath: broken: %s\n", what);
      abort ();
    }
}

static bool
reference_valid_name (const char *s)
{
  size_t len = strlen (s);
  if (len < NIX_HASH_LEN + 2 || len > 211)
    return false;
  for (size_t i = 0; i < NIX_HASH_LEN; i++)
    if (!memchr ("0123456789abcdfghijklmnpqrsvwxyz", s[i], 32))
      return false;
  if (s[NIX_HASH_LEN] != '-' || s[NIX_HASH_LEN + 1] == '.')
    return false;
  for (size_t i = NIX_HASH_LEN + 1; i < len; i++)
    {
      char c = s[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || (c != '\0' && memchr ("+-._?=", c, 6))))
        return false;
    }
  return true;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);
  if (!s)
    return 0;
  memcpy (s, data, size);
  s[size] = '\0';

  bool name_ok = storepath_valid_name (s);
  check (name_ok == reference_valid_name (s), "storepath_valid_name follows the rule");

  if (storepath_valid (s))
    {
      check (strncmp (s, NIX_STORE_DIR "/", sizeof NIX_STORE_DIR) == 0,
             "a valid path is in the store");
      const char *name = storepath_name (s);
      check (name == s + sizeof NIX_STORE_DIR, "the name follows the store folder");
      check (storepath_valid_name (name), "a valid path has a valid name");
    }

  /* The same text as a name in the store. */
  char *p = malloc (sizeof NIX_STORE_DIR + size + 1);
  if (p)
    {
      memcpy (p, NIX_STORE_DIR "/", sizeof NIX_STORE_DIR);
      memcpy (p + sizeof NIX_STORE_DIR, s, size + 1);
      check (storepath_valid (p) == name_ok, "/nix/store/NAME is valid iff NAME is");
      free (p);
    }
  free (s);
  return 0;
}
