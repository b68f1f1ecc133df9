#include "storepath.h"

#include <string.h>

static const char nix_base32[] = "0123456789abcdfghijklmnpqrsvwxyz";

bool
storepath_valid_name (const char *name)
{
  size_t len = strlen (name);
  if (len < NIX_HASH_LEN + 2 || len > 211)
    return false;
  for (size_t i = 0; i < NIX_HASH_LEN; i++)
    if (!strchr (nix_base32, name[i]) || name[i] == '\0')
      return false;
  if (name[NIX_HASH_LEN] != '-')
    return false;
  const char *n = name + NIX_HASH_LEN + 1;
  if (n[0] == '.')
    return false;
  for (; *n; n++)
    {
      char c = *n;
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || strchr ("+-._?=", c);
      if (!ok)
        return false;
    }
  return true;
}

bool
storepath_valid (const char *path)
{
  size_t n = strlen (NIX_STORE_DIR);
  if (strncmp (path, NIX_STORE_DIR, n) != 0 || path[n] != '/')
    return false;
  return storepath_valid_name (path + n + 1);
}

const char *
storepath_name (const char *path)
{
  return path + strlen (NIX_STORE_DIR) + 1;
}
