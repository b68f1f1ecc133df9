/* blacklist.c - gitignore-style patterns that hide secrets in every view
   (the rules are in blacklist.h). */
#include "blacklist.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

const char *const blacklist_defaults[] = {
  /* Key material and credential stores (directories). */
  ".ssh",
  ".gnupg",
  ".aws",
  ".azure",
  "**/.config/gcloud",
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
  "**/.config/git/credentials",
  ".npmrc",
  ".pypirc",
  ".pgpass",
  ".my.cnf",
  ".s3cfg",
  ".boto",
  ".vault-token",
  ".dockercfg",
  "**/.docker/config.json",
  "**/.kube/config",
  "**/.config/gh/hosts.yml",
  "**/.config/hub",
  "**/.cargo/credentials",
  "**/.cargo/credentials.toml",
  "**/.gem/credentials",
  "**/.terraform.d/credentials.tfrc.json",
  /* The public CA bundle package managers install by that name (pip's
     certifi, in every venv): certificates, not keys.  A name, not a path,
     so no folder's rename is guarded for it. */
  "!cacert.pem",
  NULL,
};


#define MAX_COMPONENTS 63

int
blacklist_check_pattern (const char *pattern, struct cage_error *err)
{
  if (!pattern || pattern[0] == '\0')
    return cage_error_set (err, 0, "the pattern is empty; remove it or write a glob such as "
                           "\"*.secret\"");
  size_t len = strlen (pattern);
  if (len >= PATH_MAX)
    return cage_error_set (err, 0, "the pattern is %zu bytes long; the limit is %d", len,
                           PATH_MAX - 1);
  if (pattern[0] == '#')
    return cage_error_set (err, 0, "a pattern starting with '#' would be a comment in a "
                           ".gitignore; write \"\\#...\" for a name that starts with '#'");
  const char *p = pattern;
  if (*p == '!')
    p++;
  if (*p == '/')
    p++;
  size_t l = strlen (p);
  if (l > 0 && p[l - 1] == '/')
    l--;
  if (l == 0)
    return cage_error_set (err, 0, "the pattern names nothing; write a glob such as "
                           "\"*.secret\" or \"/build/\"");
  unsigned comps = 0;
  for (const char *s = p;;)
    {
      size_t c = strcspn (s, "/");
      if ((size_t) (s - p) + c > l)
        c = l - (size_t) (s - p);
      if (c == 0)
        return cage_error_set (err, 0, "the pattern has an empty component (\"//\"); "
                               "write a single '/' between components");
      if (c == 1 && s[0] == '.')
        return cage_error_set (err, 0, "the pattern has a \".\" component; remove it");
      if (c == 2 && s[0] == '.' && s[1] == '.')
        return cage_error_set (err, 0, "the pattern has a \"..\" component; patterns "
                               "match paths inside the view, which never contain \"..\"");
      if (++comps > MAX_COMPONENTS)
        return cage_error_set (err, 0, "the pattern has more than %d components",
                               MAX_COMPONENTS);
      if ((size_t) (s - p) + c >= l)
        break;
      s += c + 1;
    }
  return 0;
}

static bool
is_dstar (const char *comp)
{
  return comp[0] == '*' && comp[1] == '*' && comp[2] == '\0';
}

/* Copy the component at *S (up to '/' or the end) into BUF; advance *S
   past it and its '/'.  False when it does not fit. */
static bool
next_comp (const char **s, char *buf, size_t size)
{
  size_t c = strcspn (*s, "/");
  bool fits = c < size;
  if (fits)
    {
      memcpy (buf, *s, c);
      buf[c] = '\0';
    }
  *s += c;
  if (**s == '/')
    (*s)++;
  return fits;
}

static uint64_t
closure (const char *const *comps, unsigned m, uint64_t mask)
{
  for (unsigned i = 0; i < m; i++)
    if ((mask >> i & 1) && is_dstar (comps[i]))
      mask |= UINT64_C (1) << (i + 1);
  return mask;
}

/* Match PATH's components against COMPS[0..M) ("**" spans zero or more
   components): a set of reachable pattern positions, advanced one path
   component at a time, so no backtracking blows up.  TRAILING_DSTAR: the
   pattern had a final "**" component: COMPS must match a proper prefix
   of PATH. */
static bool
match_comps (const char *const *comps, unsigned m, const char *path, bool trailing_dstar)
{
  uint64_t mask = closure (comps, m, 1);
  char name[4096];
  const char *s = path;
  while (*s)
    {
      if (trailing_dstar && (mask >> m & 1))
        return true;
      if (!next_comp (&s, name, sizeof name))
        return false;
      uint64_t next = 0;
      for (unsigned i = 0; i < m; i++)
        if (mask >> i & 1)
          {
            if (is_dstar (comps[i]))
              next |= UINT64_C (1) << i;
            else if (fnmatch (comps[i], name, 0) == 0)
              next |= UINT64_C (1) << (i + 1);
          }
      mask = closure (comps, m, next);
      if (!mask)
        return false;
    }
  return !trailing_dstar && (mask >> m & 1);
}

bool
blacklist_glob (const char *glob, const char *path)
{
  char buf[PATH_MAX];
  const char *comps[MAX_COMPONENTS + 1];
  unsigned m = 0;
  size_t len = strlen (glob);
  if (len >= sizeof buf)
    return false;
  memcpy (buf, glob, len + 1);
  for (char *s = buf; *s && m <= MAX_COMPONENTS;)
    {
      comps[m++] = s;
      char *slash = strchr (s, '/');
      if (!slash)
        break;
      *slash = '\0';
      s = slash + 1;
    }
  if (m > MAX_COMPONENTS)
    return false;
  bool trailing = m > 1 && is_dstar (comps[m - 1]);
  return match_comps (comps, trailing ? m - 1 : m, path, trailing);
}

/* Compile PATTERN (checked) into R; the components of R->glob are kept as
   NUL-separated strings after it, so matching needs no allocation. */
static int
compile (struct blacklist_rule *r, const char *pattern, struct cage_error *err)
{
  memset (r, 0, sizeof *r);
  r->source = pattern;
  const char *p = pattern;
  if (*p == '!')
    {
      r->negate = true;
      p++;
    }
  if (*p == '/')
    {
      r->anchored = true;
      p++;
    }
  size_t l = strlen (p);
  if (l > 0 && p[l - 1] == '/')
    {
      r->dir_only = true;
      l--;
    }
  if (memchr (p, '/', l))
    r->anchored = true; /* a '/' in the middle anchors, as in git */
  /* glob, '\0', then the components, each '\0'-terminated. */
  r->glob = malloc (2 * (l + 1));
  if (!r->glob)
    return cage_error_set (err, ENOMEM, "blacklist");
  memcpy (r->glob, p, l);
  r->glob[l] = '\0';
  char *c = r->glob + l + 1;
  memcpy (c, p, l);
  c[l] = '\0';
  r->ncomp = 1;
  for (char *q = c; (q = strchr (q, '/')); q++)
    {
      *q = '\0';
      r->ncomp++;
    }
  if (r->ncomp > 1 && l >= 3 && strcmp (r->glob + l - 3, "/**") == 0)
    {
      r->trailing_dstar = true;
      r->ncomp--;
    }
  return 0;
}

static bool
rule_matches (const struct blacklist_rule *r, const char *relpath, bool is_dir)
{
  if (r->dir_only && !is_dir)
    return false;
  if (!r->anchored)
    {
      const char *slash = strrchr (relpath, '/');
      return fnmatch (r->glob, slash ? slash + 1 : relpath, 0) == 0;
    }
  const char *comps[MAX_COMPONENTS + 1];
  const char *c = r->glob + strlen (r->glob) + 1;
  for (unsigned i = 0; i < r->ncomp; i++, c += strlen (c) + 1)
    comps[i] = c;
  /* Every lookup asks: reject on the last component first (one fnmatch,
     as for a name pattern) before walking the whole path. */
  const char *last = comps[r->ncomp - 1];
  if (!r->trailing_dstar && !is_dstar (last))
    {
      const char *slash = strrchr (relpath, '/');
      if (fnmatch (last, slash ? slash + 1 : relpath, 0) != 0)
        return false;
    }
  return match_comps (comps, r->ncomp, relpath, r->trailing_dstar);
}

static bool
contains (char **v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

const char *const protect_defaults[] = {
  /* The project's own cage: the agent must not loosen its next one. */
  "/cage.json",
  /* Git: what runs on the user's next git command, and where it pushes,
     in every repository present at mount (one the agent makes is its own:
     agent_repos.h; what git would run is refused everywhere: git_guard.h). */
  "**/.git/hooks",
  "**/.git/hooks/**",
  "**/.git/config",
  "**/.git/config.worktree",
  "**/.git/worktrees/**/config.worktree",
  "**/.git/modules/**/config",
  "**/.git/modules/**/config.worktree",
  "**/.git/modules/**/hooks",
  "**/.git/modules/**/hooks/**",
  ".gitmodules",
  /* What git hook managers run from the work tree. */
  "/.husky",
  "/.husky/**",
  "/.pre-commit-config.yaml",
  "/lefthook.yml",
  "/.lefthook.yml",
  "/lefthook-local.yml",
  /* Mercurial's hooks. */
  "**/.hg/hgrc",
  /* What runs when the user enters the folder or opens a shell there. */
  ".envrc",
  ".bashrc",
  ".bash_profile",
  ".bash_login",
  ".profile",
  ".zshrc",
  ".zshenv",
  ".zprofile",
  ".zlogin",
  /* What runs when the user enters the folder (mise, like direnv). */
  "mise.toml",
  ".mise.toml",
  "mise.local.toml",
  ".mise.local.toml",
  /* Editor and agent configuration (tasks, MCP servers and hooks run on
     open or on the agent's next start on the host). */
  "/.vscode",
  "/.vscode/**",
  "/.idea",
  "/.idea/**",
  "/.zed",
  "/.zed/**",
  "*.code-workspace",
  ".exrc",
  ".nvimrc",
  ".nvim.lua",
  ".mcp.json",
  "/.claude/settings.json",
  "/.claude/settings.local.json",
  "/.cursor/mcp.json",
  "/.gemini/settings.json",
  "/.codex/config.toml",
  NULL,
};

int
blacklist_init (struct blacklist *bl, char *const *extra, bool defaults, struct cage_error *err)
{
  return blacklist_init_with (bl, defaults ? blacklist_defaults : NULL, extra, err);
}

int
blacklist_init_with (struct blacklist *bl, const char *const *defaults, char *const *extra,
                     struct cage_error *err)
{
  memset (bl, 0, sizeof *bl);
  size_t n_defaults = 0, n_extra = 0;
  while (defaults && defaults[n_defaults])
    n_defaults++;
  while (extra && extra[n_extra])
    n_extra++;

  autostrv char **v = calloc (n_defaults + n_extra + 1, sizeof *v);
  if (!v)
    return cage_error_set (err, ENOMEM, "blacklist");
  size_t n = 0;
  for (size_t i = 0; i < n_defaults + n_extra; i++)
    {
      const char *p = i < n_defaults ? defaults[i] : extra[i - n_defaults];
      if (blacklist_check_pattern (p, err) < 0)
        {
          /* One line: control characters of the pattern shown as '?'. */
          char shown[256];
          snprintf (shown, sizeof shown, "%s", p ? p : "");
          for (char *c = shown; *c; c++)
            if ((unsigned char) *c < 0x20 || *c == 0x7f)
              *c = '?';
          return cage_error_prefix (err, "blacklist pattern \"%s\"", shown);
        }
      /* A repeat changes nothing, unless a negation came in between. */
      if (contains (v, n, p) && p[0] != '!')
        {
          bool neg_between = false;
          for (size_t j = 0; j < n; j++)
            neg_between |= v[j][0] == '!';
          if (!neg_between)
            continue;
        }
      v[n] = strdup (p);
      if (!v[n])
        return cage_error_set (err, ENOMEM, "blacklist");
      n++;
    }
  struct blacklist_rule *rules = calloc (n ? n : 1, sizeof *rules);
  if (!rules)
    return cage_error_set (err, ENOMEM, "blacklist");
  for (size_t i = 0; i < n; i++)
    {
      if (compile (&rules[i], v[i], err) < 0)
        {
          for (size_t j = 0; j < i; j++)
            free (rules[j].glob);
          free (rules);
          return -1;
        }
      bl->has_paths |= rules[i].anchored;
      bl->has_dir_only |= rules[i].dir_only;
      bl->has_negations |= rules[i].negate;
    }
  bl->patterns = steal_ptr (&v);
  bl->n = n;
  bl->rules = rules;
  return 0;
}

void
blacklist_free (struct blacklist *bl)
{
  if (!bl)
    return;
  for (size_t i = 0; bl->rules && i < bl->n; i++)
    free (bl->rules[i].glob);
  free (bl->rules);
  cage_strv_free (bl->patterns);
  memset (bl, 0, sizeof *bl);
}

long
blacklist_which (const struct blacklist *bl, const char *relpath, bool is_dir)
{
  if (!bl || !bl->rules || !relpath || !*relpath)
    return -1;
  for (size_t i = bl->n; i-- > 0;)
    if (rule_matches (&bl->rules[i], relpath, is_dir))
      return (long) i;
  return -1;
}

bool
blacklist_match (const struct blacklist *bl, const char *relpath, bool is_dir)
{
  if (!bl || !bl->rules || !relpath || !*relpath)
    return false;
  if (!bl->has_negations)
    {
      for (size_t i = 0; i < bl->n; i++)
        if (rule_matches (&bl->rules[i], relpath, is_dir))
          return true;
      return false;
    }
  long w = blacklist_which (bl, relpath, is_dir);
  return w >= 0 && !bl->rules[w].negate;
}

bool
blacklist_match_name (const struct blacklist *bl, const char *name)
{
  return blacklist_match (bl, name, false);
}

bool
blacklist_match_path (const struct blacklist *bl, const char *relpath)
{
  return blacklist_match (bl, relpath, false);
}
