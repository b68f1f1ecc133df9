/* blacklist.c - glob patterns that hide secrets in every view. */
#include "blacklist.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

const char *const blacklist_defaults[] = {
  /* Key material and credential stores (directories). */
  ".ssh",
  ".gnupg",
  ".aws",
  ".azure",
  ".config/gcloud",
  ".password-store",
  /* Environment files. */
  ".env",
  ".env.*",
  /* Private keys and certificate bundles. */
  "*.pem",
  "*.key",
  "*.p12",
  "*.pfx",
  "*.jks",
  "*.keystore",
  "*.kdbx",
  "id_rsa*",
  "id_dsa*",
  "id_ecdsa*",
  "id_ed25519*",
  /* Credential files of common tools. */
  ".netrc",
  "_netrc",
  ".git-credentials",
  ".config/git/credentials",
  ".npmrc",
  ".pypirc",
  ".pgpass",
  ".my.cnf",
  ".s3cfg",
  ".boto",
  ".vault-token",
  ".dockercfg",
  ".docker/config.json",
  ".kube/config",
  ".config/gh/hosts.yml",
  ".config/hub",
  ".cargo/credentials",
  ".cargo/credentials.toml",
  ".gem/credentials",
  ".terraform.d/credentials.tfrc.json",
  NULL,
};

int
blacklist_check_pattern (const char *pattern, struct cage_error *err)
{
  if (!pattern || pattern[0] == '\0')
    return cage_error_set (err, 0, "the pattern is empty; remove it or write a glob such as \"*.secret\"");
  size_t len = strlen (pattern);
  if (len >= PATH_MAX)
    return cage_error_set (err, 0, "the pattern is %zu bytes long; the limit is %d", len,
                           PATH_MAX - 1);
  if (pattern[0] == '/')
    return cage_error_set (err, 0, "a leading '/' (anchoring the pattern to the view "
                           "root) is not supported yet; drop it to match \"%s\" at any depth",
                           pattern + strspn (pattern, "/"));
  if (pattern[len - 1] == '/')
    return cage_error_set (err, 0, "the pattern ends with '/'; drop the trailing '/' "
                           "(a directory is matched by its name, and hiding it hides "
                           "everything below it)");
  for (const char *s = pattern;;)
    {
      size_t l = strcspn (s, "/");
      if (l == 0)
        return cage_error_set (err, 0, "the pattern has an empty component (\"//\"); "
                               "write a single '/' between components");
      if (l == 1 && s[0] == '.')
        return cage_error_set (err, 0, "the pattern has a \".\" component; remove it");
      if (l == 2 && s[0] == '.' && s[1] == '.')
        return cage_error_set (err, 0, "the pattern has a \"..\" component; patterns "
                               "match paths inside the view, which never contain \"..\"");
      if (s[l] == '\0')
        break;
      s += l + 1;
    }
  return 0;
}

static bool
contains (char **v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

int
blacklist_init (struct blacklist *bl, char *const *extra, struct cage_error *err)
{
  memset (bl, 0, sizeof *bl);
  size_t n_defaults = 0, n_extra = 0;
  while (blacklist_defaults[n_defaults])
    n_defaults++;
  while (extra && extra[n_extra])
    n_extra++;

  autostrv char **v = calloc (n_defaults + n_extra + 1, sizeof *v);
  if (!v)
    return cage_error_set (err, ENOMEM, "blacklist");
  size_t n = 0;
  bool has_paths = false;
  for (size_t i = 0; i < n_defaults + n_extra; i++)
    {
      const char *p = i < n_defaults ? blacklist_defaults[i] : extra[i - n_defaults];
      if (blacklist_check_pattern (p, err) < 0)
        return cage_error_prefix (err, "blacklist pattern \"%s\"", p ? p : "");
      if (contains (v, n, p))
        continue;
      v[n] = strdup (p);
      if (!v[n])
        return cage_error_set (err, ENOMEM, "blacklist");
      n++;
      if (strchr (p, '/'))
        has_paths = true;
    }
  bl->patterns = steal_ptr (&v);
  bl->n = n;
  bl->has_paths = has_paths;
  return 0;
}

void
blacklist_free (struct blacklist *bl)
{
  if (!bl)
    return;
  cage_strv_free (bl->patterns);
  memset (bl, 0, sizeof *bl);
}

bool
blacklist_match_name (const struct blacklist *bl, const char *name)
{
  if (!bl || !bl->patterns || !name)
    return false;
  for (char **p = bl->patterns; *p; p++)
    if (!strchr (*p, '/') && fnmatch (*p, name, 0) == 0)
      return true;
  return false;
}

/* The last K components of RELPATH, or NULL if it has fewer. */
static const char *
last_components (const char *relpath, size_t k)
{
  const char *s = relpath + strlen (relpath);
  while (s > relpath)
    {
      if (s[-1] == '/' && --k == 0)
        return s;
      s--;
    }
  return k == 1 ? relpath : NULL;
}

bool
blacklist_match_path (const struct blacklist *bl, const char *relpath)
{
  if (!bl || !bl->patterns || !relpath)
    return false;
  const char *slash = strrchr (relpath, '/');
  if (blacklist_match_name (bl, slash ? slash + 1 : relpath))
    return true;
  if (!bl->has_paths)
    return false;
  for (char **p = bl->patterns; *p; p++)
    {
      size_t k = 1;
      for (const char *s = *p; (s = strchr (s, '/')); s++)
        k++;
      if (k == 1)
        continue;
      /* FNM_PATHNAME: a wildcard never crosses '/', so the pattern's
         components line up with the path's. */
      const char *tail = last_components (relpath, k);
      if (tail && fnmatch (*p, tail, FNM_PATHNAME) == 0)
        return true;
    }
  return false;
}
