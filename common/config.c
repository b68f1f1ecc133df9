/* config.c - the project's cage.json (jansson), overridable by flags.

   Errors name FILE:LINE:COLUMN: jansson's own position for syntax errors,
   json_locate() for errors found after parsing.  A file either loads
   completely or leaves the configuration untouched.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blacklist.h"
#include "cleanup.h"
#include "json_locate.h"
#include "presets.h"
#include "suggest.h"

#define CONFIG_FILE "cage.json"
#define CONFIG_MAX_SIZE (1024 * 1024)
#define VIEW_CHOICES "direct, cow, tracked"
#define MODE_CHOICES "readonly, shared, copy, isolated"
#define NETWORK_CHOICES "off, host, filtered"
#define ALLOW_EXAMPLE "{\"mode\": \"filtered\", \"allow\": [\"api.example.com\", \"*.example.org:443\"]}"
#define PACKAGE_EXAMPLE "\"/nix/store/<hash>-<name>\""

/* ---- names ---------------------------------------------------------- */

/* Each enum's names, indexed by its values (0, 1, ...), NULL-terminated:
   the one place a name is spelled. */
static const char *const mode_names[] = {
  [STORE_READONLY] = "readonly", [STORE_SHARED] = "shared", [STORE_COPY] = "copy",
  [STORE_ISOLATED] = "isolated", NULL,
};
static const char *const network_names[] = {
  [NETWORK_OFF] = "off", [NETWORK_HOST] = "host", [NETWORK_FILTERED] = "filtered", NULL,
};
static const char *const view_names[] = {
  [VIEW_DIRECT] = "direct", [VIEW_COW] = "cow", [VIEW_TRACKED] = "tracked", NULL,
};
static const char *const profile_names[] = {
  [PROFILE_STANDARD] = "standard", [PROFILE_STRICT] = "strict", [PROFILE_RELAXED] = "relaxed", NULL,
};
static const char *const hook_names[] = {
  [HOOK_PRE_MOUNT] = "pre-mount", [HOOK_POST_MOUNT] = "post-mount",
  [HOOK_PRE_UMOUNT] = "pre-umount", [HOOK_POST_UMOUNT] = "post-umount", NULL,
};
#define PROFILE_CHOICES "strict, standard, relaxed"

/* The index of S in NAMES, or -1. */
static int
name_index (const char *const *names, const char *s)
{
  for (int i = 0; s && names[i]; i++)
    if (strcmp (names[i], s) == 0)
      return i;
  return -1;
}

/* NAMES[V], or "unknown" past its end. */
static const char *
name_of (const char *const *names, size_t n, int v)
{
  return v >= 0 && (size_t) v < n - 1 ? names[v] : "unknown";
}

#define NAME_OF(names, v) name_of (names, sizeof names / sizeof *names, (int) (v))

/* Set *OUT to S's index in NAMES: 0, or -1 when S is none of them. */
static int
from_name (const char *const *names, const char *s, int *out)
{
  int i = name_index (names, s);
  if (i < 0)
    return -1;
  *out = i;
  return 0;
}

#define FROM_NAME(names, s, out) from_name (names, s, (int *) (out))

const char *
config_view_name (enum workspace_view v)
{
  return NAME_OF (view_names, v);
}

int
config_parse_view (const char *s, enum workspace_view *out, struct cage_error *err)
{
  if (FROM_NAME (view_names, s, out) < 0)
    return cage_error_set (err, 0, "unknown workspace view %s; valid choices: " VIEW_CHOICES,
                           s ? s : "(none)");
  return 0;
}

const char *
config_profile_name (enum cage_profile p)
{
  return NAME_OF (profile_names, p);
}

void
config_apply_profile (struct cage_config *cfg)
{
  /* A preset's agent talks to its provider: the standard profile's network
     is then the filtered one, with the preset's names. */
  if (!cfg->have_network)
    cfg->network = cfg->profile == PROFILE_RELAXED                  ? NETWORK_HOST
                   : cfg->preset && cfg->profile == PROFILE_STANDARD ? NETWORK_FILTERED
                                                                     : NETWORK_OFF;
  if (!cfg->have_workspace)
    cfg->workspace_readonly = cfg->profile == PROFILE_STRICT;
  if (!cfg->have_home_mode)
    cfg->home_mode = cfg->profile == PROFILE_STRICT ? HOME_EMPTY : HOME_PERSISTENT;
  if (!cfg->have_home_host)
    cfg->home_host = cfg->profile == PROFILE_RELAXED;
  config_profile_limits (cfg, cfg->profile);
}

void
config_profile_limits (struct cage_config *cfg, enum cage_profile p)
{
  if (!cfg->limits.pids)
    cfg->limits.pids = p == PROFILE_STRICT ? CAGE_STRICT_PIDS : CAGE_DEFAULT_PIDS;
}

const char *
config_mode_name (enum store_mode m)
{
  return NAME_OF (mode_names, m);
}

const char *
config_network_name (enum network_mode m)
{
  return NAME_OF (network_names, m);
}

const char *
config_hook_name (enum hook_kind h)
{
  return NAME_OF (hook_names, h);
}

/* S as a JSON-style quoted string for messages: control characters, '"'
   and '\\' escaped, cut (at a character boundary) after about 60 bytes. */
static const char *
quote (char *buf, size_t size, const char *s)
{
  size_t o = 0;
  const size_t limit = size < 72 ? size : 72;
  buf[o++] = '"';
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if (o + 8 >= limit)
        {
          /* Do not end inside a UTF-8 sequence. */
          while (o > 1 && ((unsigned char) buf[o - 1] & 0xC0) == 0x80)
            o--;
          if (o > 1 && ((unsigned char) buf[o - 1] & 0xC0) == 0xC0)
            o--;
          memcpy (buf + o, "...", 3);
          o += 3;
          break;
        }
      if (*p == '"' || *p == '\\')
        {
          buf[o++] = '\\';
          buf[o++] = (char) *p;
        }
      else if (*p == '\n')
        o += (size_t) snprintf (buf + o, size - o, "\\n");
      else if (*p == '\t')
        o += (size_t) snprintf (buf + o, size - o, "\\t");
      else if (*p < 0x20 || *p == 0x7f)
        o += (size_t) snprintf (buf + o, size - o, "\\u%04x", *p);
      else
        buf[o++] = (char) *p;
    }
  buf[o++] = '"';
  buf[o] = '\0';
  return buf;
}

#define QUOTED(s) quote ((char[80]){ 0 }, 80, (s))

/* S with control characters escaped ("\n", "\u0001"), so a message stays
   one line: jansson's syntax errors and the blacklist's reasons quote raw text. */
static const char *
one_line (char *buf, size_t size, const char *s)
{
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *) s; *p && o + 7 < size; p++)
    {
      if (*p == '\n')
        o += (size_t) snprintf (buf + o, size - o, "\\n");
      else if (*p < 0x20 || *p == 0x7f)
        o += (size_t) snprintf (buf + o, size - o, "\\u%04x", *p);
      else
        buf[o++] = (char) *p;
    }
  buf[o] = '\0';
  return buf;
}

int
config_parse_mode (const char *s, enum store_mode *out, struct cage_error *err)
{
  if (FROM_NAME (mode_names, s, out) < 0)
    return cage_error_set (err, 0, "unknown store mode %s; valid choices: " MODE_CHOICES,
                           QUOTED (s ? s : ""));
  return 0;
}

int
config_parse_profile (const char *s, enum cage_profile *out, struct cage_error *err)
{
  if (FROM_NAME (profile_names, s, out) == 0)
    return 0;
  const char *near = suggest_closest (s ? s : "", profile_names);
  if (near)
    return cage_error_set (err, 0, "unknown profile %s; did you mean \"%s\"? valid choices: "
                           PROFILE_CHOICES, QUOTED (s ? s : ""), near);
  return cage_error_set (err, 0, "unknown profile %s; valid choices: " PROFILE_CHOICES,
                         QUOTED (s ? s : ""));
}

int
config_parse_network (const char *s, enum network_mode *out, struct cage_error *err)
{
  if (FROM_NAME (network_names, s, out) < 0)
    return cage_error_set (err, 0, "unknown network mode %s; valid choices: " NETWORK_CHOICES,
                           QUOTED (s ? s : ""));
  return 0;
}

/* ---- environment and limits ------------------------------------------ */

#define ENV_NAME_RULE "letters, digits and _, not starting with a digit"
#define MEMORY_EXAMPLE "e.g. \"512M\" or \"2G\" (K, M, G, T are powers of 1024)"

bool
config_env_name_valid (const char *name)
{
  if (!name || !((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
    return false;
  for (const char *p = name + 1; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
          || *p == '_'))
      return false;
  return true;
}

/* "512M" -> bytes.  0: ok, -1: not a size, -2: too large or zero. */
static int
memory_from_string (const char *s, unsigned long long *out)
{
  if (!s || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull (s, &end, 10);
  if (errno == ERANGE)
    return -2;
  unsigned shift = 0;
  switch (*end)
    {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
  if (shift && (*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
    end += 2;
  else if (shift && (*end == 'b' || *end == 'B'))
    end++;
  if (*end != '\0')
    return -1;
  if (v == 0 || (shift && v > (~0ULL >> shift)))
    return -2;
  *out = v << shift;
  return 0;
}

int
config_parse_memory (const char *s, unsigned long long *out, struct cage_error *err)
{
  int r = memory_from_string (s, out);
  if (r == -1)
    return cage_error_set (err, 0, "memory limit %s is not a size; " MEMORY_EXAMPLE,
                           QUOTED (s ? s : ""));
  if (r < 0)
    return cage_error_set (err, 0, "memory limit %s is out of range; " MEMORY_EXAMPLE,
                           QUOTED (s));
  return 0;
}

int
config_parse_cpus (const char *s, double *out, struct cage_error *err)
{
  char *end = NULL;
  errno = 0;
  double v = s && *s ? strtod (s, &end) : 0;
  if (!s || !*s || *end != '\0' || errno || !(v > 0) || v > 65536)
    return cage_error_set (err, 0, "cpus %s is not a positive number of CPUs; e.g. 1.5",
                           QUOTED (s ? s : ""));
  *out = v;
  return 0;
}

int
config_parse_count (const char *what, const char *s, unsigned long *out,
                    struct cage_error *err)
{
  char *end = NULL;
  errno = 0;
  unsigned long v = s && *s >= '1' && *s <= '9' ? strtoul (s, &end, 10) : 0;
  if (v == 0 || *end != '\0' || errno || v > 1UL << 30)
    return cage_error_set (err, 0, "%s %s is not a positive whole number; e.g. 256", what,
                           QUOTED (s ? s : ""));
  *out = v;
  return 0;
}

/* ---- the configuration ---------------------------------------------- */

void
config_init (struct cage_config *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->mode = STORE_READONLY;
  cfg->network = NETWORK_OFF;
}

void
config_free (struct cage_config *cfg)
{
  if (!cfg)
    return;
  cage_strv_free (cfg->packages);
  cage_strv_free (cfg->blacklist);
  cage_strv_free (cfg->protected);
  cage_strv_free (cfg->env_pass);
  cage_strv_free (cfg->env_set);
  cage_strv_free (cfg->home_writable);
  cage_strv_free (cfg->with);
  free (cfg->preset);
  free (cfg->expr);
  free (cfg->cache);
  free (cfg->network_at);
  net_policy_free (&cfg->allow);
  for (int h = 0; h < HOOK_COUNT; h++)
    free (cfg->hooks[h]);
  config_init (cfg);
}

/* Append a copy of S to the NULL-terminated vector *V of *N strings,
   unless it is already there.  -1 with errno ENOMEM on failure. */
static int
strv_add (char ***v, size_t *n, const char *s)
{
  if (!s)
    {
      errno = EINVAL;
      return -1;
    }
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*v)[i], s) == 0)
      return 0;
  char *copy = strdup (s);
  if (!copy)
    return -1;
  char **nv = realloc (*v, (*n + 2) * sizeof *nv);
  if (!nv)
    {
      free (copy);
      errno = ENOMEM;
      return -1;
    }
  nv[(*n)++] = copy;
  nv[*n] = NULL;
  *v = nv;
  return 0;
}

int
config_add_package (struct cage_config *cfg, const char *path)
{
  return strv_add (&cfg->packages, &cfg->n_packages, path);
}

int
config_add_blacklist (struct cage_config *cfg, const char *glob)
{
  return strv_add (&cfg->blacklist, &cfg->n_blacklist, glob);
}

int
config_add_protected (struct cage_config *cfg, const char *glob)
{
  return strv_add (&cfg->protected, &cfg->n_protected, glob);
}

#define WITH_RULE "letters, digits and _ - ' + ., not starting with - or ."

int
config_add_allow (struct cage_config *cfg, const char *entry, struct cage_error *err)
{
  if (net_policy_add (&cfg->allow, entry, "--allow", err) < 0)
    return cage_error_prefix (err, "--allow %s", QUOTED (entry));
  return 0;
}

int
config_check_network (struct cage_config *cfg, const char *flag, struct cage_error *err)
{
  if (cfg->network == NETWORK_FILTERED)
    {
      if (net_policy_check (&cfg->allow, err) < 0)
        return flag ? cage_error_prefix (err, "%s", flag)
               : cage_error_prefix (err, "%s: network \"filtered\"",
                                    cfg->network_at ? cfg->network_at : CONFIG_FILE);
      return 0;
    }
  for (size_t i = 0; i < cfg->allow.n; i++)
    if (cfg->allow.v[i].origin && strcmp (cfg->allow.v[i].origin, "--allow") == 0)
      return cage_error_set (err, 0, "--allow %s: the network is \"%s\", so nothing is "
                             "filtered; add --network filtered",
                             QUOTED (cfg->allow.v[i].text), NAME_OF (network_names, cfg->network));
  net_policy_free (&cfg->allow);
  return 0;
}

int
config_add_with (struct cage_config *cfg, const char *name, struct cage_error *err)
{
  bool ok = name && name[0] && name[0] != '-' && name[0] != '.' && strlen (name) < 256;
  for (const char *p = name; ok && *p; p++)
    ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
         || strchr ("_-'+.", *p);
  if (!ok)
    return cage_error_set (err, 0, "package name %s is not a Nix attribute name (" WITH_RULE
                           "), e.g. \"git\" or \"python312Packages.requests\"",
                           QUOTED (name ? name : ""));
  if (strv_add (&cfg->with, &cfg->n_with, name) < 0)
    return cage_error_set (err, errno, "package %s", name);
  return 0;
}

int
config_add_home_writable (struct cage_config *cfg, const char *path, struct cage_error *err)
{
  const char *p = path ? path : "";
  if (strncmp (p, "~/", 2) == 0)
    p += 2;
  bool ok = p[0] && p[0] != '/' && p[0] != '~' && strlen (p) < 1024;
  /* no "", "." or ".." component, no "//" */
  for (const char *c = p; ok && *c; )
    {
      size_t n = strcspn (c, "/");
      if (n == 0 && c[n] == '/')
        ok = false;
      else if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
        ok = false;
      c += n;
      if (*c == '/')
        c++;
    }
  if (!ok)
    return cage_error_set (err, 0, "home path %s must be relative to the home, without . or "
                           ".. (a trailing / for a folder), e.g. \"~/.claude/\" or "
                           "\"~/.claude.json\"", QUOTED (path ? path : ""));
  if (strv_add (&cfg->home_writable, &cfg->n_home_writable, p) < 0)
    return cage_error_set (err, errno, "home path %s", p);
  return 0;
}

int
config_add_env_pass (struct cage_config *cfg, const char *name, struct cage_error *err)
{
  if (!config_env_name_valid (name))
    return cage_error_set (err, 0, "environment variable name %s is invalid; use "
                           ENV_NAME_RULE, QUOTED (name ? name : ""));
  if (strv_add (&cfg->env_pass, &cfg->n_env_pass, name) < 0)
    return cage_error_set (err, errno, "environment variable %s", name);
  return 0;
}

/* Put the owned "NAME=value" A into V (N strings, room for one more and the
   NULL already made), replacing an earlier NAME.  Cannot fail. */
static void
env_set_put (char **v, size_t *n, char *a)
{
  size_t len = (size_t) (strchr (a, '=') - a);
  for (size_t i = 0; i < *n; i++)
    if (strncmp (v[i], a, len + 1) == 0)
      {
        free (v[i]);
        v[i] = a;
        return;
      }
  v[(*n)++] = a;
  v[*n] = NULL;
}

/* Make room for MORE more strings in *V (N strings). */
static int
strv_reserve (char ***v, size_t n, size_t more)
{
  if (more == 0)
    return 0;
  char **nv = realloc (*v, (n + more + 1) * sizeof *nv);
  if (!nv)
    return -1;
  nv[n] = NULL;
  *v = nv;
  return 0;
}

int
config_add_env_set (struct cage_config *cfg, const char *assignment, struct cage_error *err)
{
  const char *eq = assignment ? strchr (assignment, '=') : NULL;
  autofree char *name = eq ? strndup (assignment, (size_t) (eq - assignment)) : NULL;
  if (!eq)
    return cage_error_set (err, 0, "environment assignment %s has no `=`; write NAME=value",
                           QUOTED (assignment ? assignment : ""));
  if (!name)
    return cage_error_set (err, ENOMEM, "environment variable");
  if (!config_env_name_valid (name))
    return cage_error_set (err, 0, "environment variable name %s is invalid; use "
                           ENV_NAME_RULE, QUOTED (name));
  char *copy = strdup (assignment);
  if (!copy || strv_reserve (&cfg->env_set, cfg->n_env_set, 1) < 0)
    {
      free (copy);
      return cage_error_set (err, ENOMEM, "environment variable %s", name);
    }
  env_set_put (cfg->env_set, &cfg->n_env_set, copy);
  return 0;
}

/* ---- validating a parsed document ----------------------------------- */

struct loader
{
  const char *text;
  size_t len;
  const char *name;
  struct json_step path[4];
  size_t depth;
  struct cage_error *err;
};

/* "store.packages[2]" */
static const char *
path_name (const struct loader *L, char *buf, size_t size)
{
  size_t o = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < L->depth && o < size; k++)
    {
      int w = L->path[k].key
        ? snprintf (buf + o, size - o, "%s%s", k ? "." : "", L->path[k].key)
        : snprintf (buf + o, size - o, "[%zu]", L->path[k].index);
      if (w < 0)
        break;
      o += (size_t) w;
    }
  return buf;
}

#define PATH_NAME(L) path_name ((L), (char[128]){ 0 }, 128)

/* Set the error "NAME:LINE:COLUMN: MESSAGE" for the element at the current
   path (its key with JSON_LOCATE_KEY).  Returns -1. */
static int __attribute__ ((format (printf, 3, 4)))
fail_at (struct loader *L, enum json_locate_what what, const char *fmt, ...)
{
  char msg[sizeof L->err->msg];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  struct json_pos pos;
  if (json_locate (L->text, L->len, L->path, L->depth, what, &pos) == 0)
    return cage_error_set (L->err, 0, "%s:%d:%d: %s", L->name, pos.line, pos.column, msg);
  return cage_error_set (L->err, 0, "%s: %s", L->name, msg);
}

/* "unknown key K[ in "SECTION"]; [did you mean "X"? ]valid keys: a, b" at
   the key.  Returns -1. */
static int
unknown_key (struct loader *L, const char *key, const char *section,
             const char *const *valid)
{
  char list[256] = "";
  size_t o = 0;
  for (const char *const *k = valid; *k; k++)
    {
      int w = snprintf (list + o, sizeof list - o, "%s%s", k == valid ? "" : ", ", *k);
      if (w > 0 && (size_t) w < sizeof list - o)
        o += (size_t) w;
    }
  char where[64] = "";
  if (section)
    snprintf (where, sizeof where, " in \"%s\"", section);
  char near[96] = "";
  const char *n = suggest_closest (key, valid);
  if (n)
    snprintf (near, sizeof near, "did you mean \"%s\"? ", n);
  return fail_at (L, JSON_LOCATE_KEY, "unknown key %s%s; %svalid keys: %s", QUOTED (key), where,
                  near, list);
}

#define KEYS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char *
type_name (const json_t *v)
{
  switch (json_typeof (v))
    {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
  return "unknown";
}

static void
push_key (struct loader *L, const char *key)
{
  L->path[L->depth++] = JSON_KEY (key);
}

static void
push_index (struct loader *L, size_t i)
{
  L->path[L->depth++] = JSON_INDEX (i);
}

static void
pop (struct loader *L)
{
  L->depth--;
}

static int
load_mode (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_string (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string, not %s; valid choices: "
                    MODE_CHOICES, PATH_NAME (L), type_name (v));
  const char *s = json_string_value (v);
  if (FROM_NAME (mode_names, s, &out->mode) < 0)
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; valid choices: " MODE_CHOICES,
                    PATH_NAME (L), QUOTED (s));
  return 0;
}

/* Record "NAME:LINE:COLUMN" of the current path's value in
   out->network_at: where a filtered network's whole list is blamed. */
static int
note_network_at (struct loader *L, struct cage_config *out)
{
  struct json_pos pos;
  char *at = NULL;
  int n = json_locate (L->text, L->len, L->path, L->depth, JSON_LOCATE_VALUE, &pos) == 0
            ? asprintf (&at, "%s:%d:%d", L->name, pos.line, pos.column)
            : asprintf (&at, "%s", L->name);
  if (n < 0)
    return cage_error_set (L->err, ENOMEM, "%s", L->name);
  free (out->network_at);
  out->network_at = at;
  return 0;
}

/* network.allow: [entries] (net_policy.h), each with the origin "cage.json". */
static int
load_allow (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_array (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an array of hosts, not %s; e.g. "
                    ALLOW_EXAMPLE, PATH_NAME (L), type_name (v));
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
    {
      push_index (L, i);
      if (!json_is_string (e))
        return fail_at (L, JSON_LOCATE_VALUE, "%s must be a string (a host such as "
                        "\"api.example.com\"), not %s", PATH_NAME (L), type_name (e));
      const char *s = json_string_value (e);
      struct cage_error why = { 0 };
      char reason[sizeof why.msg];
      if (net_policy_add (&out->allow, s, CONFIG_FILE, &why) < 0)
        {
          if (why.errnum == ENOMEM)
            return cage_error_set (L->err, ENOMEM, "%s", L->name);
          return fail_at (L, JSON_LOCATE_VALUE, "%s %s: %s", PATH_NAME (L), QUOTED (s),
                          one_line (reason, sizeof reason, why.msg));
        }
      pop (L);
    }
  struct cage_error why = { 0 };
  if (json_array_size (v) > 0 && net_policy_check (&out->allow, &why) < 0)
    return fail_at (L, JSON_LOCATE_VALUE, "%s: %s", PATH_NAME (L), why.msg);
  return note_network_at (L, out);
}

/* "network": "off" | "host" | "filtered", or {"mode": ..., "allow": [...]}
   ("mode" defaults to "filtered"; "allow" only with "filtered"). */
static int
load_network (struct loader *L, json_t *v, struct cage_config *out)
{
  if (json_is_object (v))
    {
      out->network = NETWORK_FILTERED;
      const char *key;
      json_t *m;
      json_object_foreach (v, key, m)
        {
          push_key (L, key);
          int r;
          if (strcmp (key, "mode") == 0)
            r = json_is_string (m) ? load_network (L, m, out)
                : fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string, not %s; valid "
                           "choices: " NETWORK_CHOICES, PATH_NAME (L), type_name (m));
          else if (strcmp (key, "allow") == 0)
            r = load_allow (L, m, out);
          else
            r = unknown_key (L, key, "network", KEYS ("mode", "allow"));
          if (r < 0)
            return -1;
          pop (L);
        }
      json_t *allow = json_object_get (v, "allow");
      if (allow && out->network != NETWORK_FILTERED)
        {
          push_key (L, "allow");
          return fail_at (L, JSON_LOCATE_KEY, "\"%s\" is only for \"mode\": \"filtered\" (the "
                          "mode is \"%s\"); remove it, or set \"mode\": \"filtered\"",
                          PATH_NAME (L), NAME_OF (network_names, out->network));
        }
      if (!allow)
        return note_network_at (L, out);
      return 0;
    }
  if (!json_is_string (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string or an object, not %s; "
                    "valid choices: " NETWORK_CHOICES ", or " ALLOW_EXAMPLE, PATH_NAME (L),
                    type_name (v));
  const char *s = json_string_value (v);
  if (FROM_NAME (network_names, s, &out->network) < 0)
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; valid choices: " NETWORK_CHOICES,
                    PATH_NAME (L), QUOTED (s));
  return L->depth == 1 ? note_network_at (L, out) : 0;
}

static int
load_packages (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_array (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an array of store paths, not %s; "
                    "e.g. [" PACKAGE_EXAMPLE "]", PATH_NAME (L), type_name (v));
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
    {
      push_index (L, i);
      if (!json_is_string (e))
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string, not %s; e.g. "
                        PACKAGE_EXAMPLE, PATH_NAME (L), type_name (e));
      const char *s = json_string_value (e);
      if (s[0] != '/')
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; store paths must be absolute, "
                        "e.g. " PACKAGE_EXAMPLE, PATH_NAME (L), QUOTED (s));
      if (config_add_package (out, s) < 0)
        return cage_error_set (L->err, ENOMEM, "%s", L->name);
      pop (L);
    }
  return 0;
}

/* A list of gitignore-style patterns: "blacklist" or "protected". */
struct pattern_list
{
  const char *key;
  char ***v;
  size_t *n;
  bool *no_defaults;
  bool *scan;           /* "scan" is a key of the object form (blacklist only) */
};

static int load_patterns (struct loader *L, json_t *v, const struct pattern_list *pl);

/* KEY: [globs] or {"defaults": bool, "patterns": [globs]}. */
static int
load_pattern_list (struct loader *L, json_t *v, const struct pattern_list *pl)
{
  if (!json_is_object (v))
    return load_patterns (L, v, pl);
  const char *key;
  json_t *e;
  json_object_foreach (v, key, e)
    {
      push_key (L, key);
      if (strcmp (key, "defaults") == 0)
        {
          if (!json_is_boolean (e))
            return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be true or false, not %s",
                            PATH_NAME (L), type_name (e));
          *pl->no_defaults = json_is_false (e);
        }
      else if (strcmp (key, "patterns") == 0)
        {
          if (load_patterns (L, e, pl) < 0)
            return -1;
        }
      else if (pl->scan && strcmp (key, "scan") == 0)
        {
          if (!json_is_boolean (e))
            return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be true or false, not %s",
                            PATH_NAME (L), type_name (e));
          *pl->scan = json_is_true (e);
        }
      else if (pl->scan)
        return unknown_key (L, key, pl->key, KEYS ("defaults", "patterns", "scan"));
      else
        return unknown_key (L, key, pl->key, KEYS ("defaults", "patterns"));
      pop (L);
    }
  return 0;
}

static int
load_patterns (struct loader *L, json_t *v, const struct pattern_list *pl)
{
  if (!json_is_array (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an array of globs (or an object with \"defaults\" "
                    "and \"patterns\"), not %s; e.g. [\"*.secret\", \"/config/credentials.json\"]",
                    PATH_NAME (L), type_name (v));
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
    {
      push_index (L, i);
      if (!json_is_string (e))
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string (a glob such as "
                        "\"*.secret\"), not %s", PATH_NAME (L), type_name (e));
      const char *s = json_string_value (e);
      struct cage_error why = { 0 };
      char reason[sizeof why.msg];
      /* (the reason may quote part of the pattern, newlines and all) */
      if (blacklist_check_pattern (s, &why) < 0)
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s: %s", PATH_NAME (L),
                        QUOTED (s), one_line (reason, sizeof reason, why.msg));
      if (strv_add (pl->v, pl->n, s) < 0)
        return cage_error_set (L->err, ENOMEM, "%s", L->name);
      pop (L);
    }
  return 0;
}

static int
load_env_pass (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_array (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an array of variable names, not "
                    "%s; e.g. [\"EDITOR\", \"http_proxy\"]", PATH_NAME (L), type_name (v));
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
    {
      push_index (L, i);
      if (!json_is_string (e))
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string (a variable name), "
                        "not %s", PATH_NAME (L), type_name (e));
      const char *s = json_string_value (e);
      if (!config_env_name_valid (s))
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s, not a variable name; use "
                        ENV_NAME_RULE, PATH_NAME (L), QUOTED (s));
      if (config_add_env_pass (out, s, L->err) < 0)
        return -1;
      pop (L);
    }
  return 0;
}

static int
load_env_set (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_object (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an object of names and values, "
                    "not %s; e.g. {\"EDITOR\": \"vi\"}", PATH_NAME (L), type_name (v));
  const char *key;
  json_t *m;
  json_object_foreach (v, key, m)
    {
      push_key (L, key);
      if (!config_env_name_valid (key))
        return fail_at (L, JSON_LOCATE_KEY, "%s is not a variable name; use " ENV_NAME_RULE,
                        QUOTED (key));
      if (!json_is_string (m))
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string, not %s",
                        PATH_NAME (L), type_name (m));
      autofree char *a = NULL;
      if (asprintf (&a, "%s=%s", key, json_string_value (m)) < 0)
        {
          a = NULL;
          return cage_error_set (L->err, ENOMEM, "%s", L->name);
        }
      if (config_add_env_set (out, a, L->err) < 0)
        return -1;
      pop (L);
    }
  return 0;
}

static int
load_env (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_object (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an object, not %s; e.g. "
                    "\"env\": {\"pass\": [\"EDITOR\"], \"set\": {\"CI\": \"1\"}}",
                    PATH_NAME (L), type_name (v));
  const char *key;
  json_t *m;
  json_object_foreach (v, key, m)
    {
      push_key (L, key);
      int r;
      if (strcmp (key, "pass") == 0)
        r = load_env_pass (L, m, out);
      else if (strcmp (key, "set") == 0)
        r = load_env_set (L, m, out);
      else
        r = unknown_key (L, key, "env", KEYS ("pass", "set"));
      if (r < 0)
        return -1;
      pop (L);
    }
  return 0;
}

/* A positive whole number at the current path. */
static int
load_count (struct loader *L, json_t *v, unsigned long *out, const char *example)
{
  if (!json_is_integer (v) || json_integer_value (v) <= 0
      || json_integer_value (v) > (json_int_t) (1L << 30))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a positive whole number, e.g. %s",
                    PATH_NAME (L), example);
  *out = (unsigned long) json_integer_value (v);
  return 0;
}

#define FREE_MIN_EXAMPLE "e.g. \"1G\", \"5%%\" or 0 (no floor)"

/* limits.workspace_free_min: a size ("1G", bytes, 0: none) or "N%". */
static int
load_free_min (struct loader *L, json_t *v, struct cage_limits *out)
{
  out->have_workspace_free_min = true;
  out->workspace_free_min = 0;
  out->workspace_free_min_pct = 0;
  if (json_is_integer (v) && json_integer_value (v) >= 0)
    {
      out->workspace_free_min = (unsigned long long) json_integer_value (v);
      return 0;
    }
  if (!json_is_string (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a size or a percentage, not %s; "
                    FREE_MIN_EXAMPLE, PATH_NAME (L), type_name (v));
  const char *s = json_string_value (v);
  size_t len = strlen (s);
  if (len >= 2 && s[len - 1] == '%')
    {
      char *end;
      errno = 0;
      unsigned long pct = strtoul (s, &end, 10);
      if (end == s + len - 1 && !errno && s[0] >= '0' && s[0] <= '9' && pct < 100)
        {
          out->workspace_free_min_pct = (unsigned) pct;
          return 0;
        }
    }
  else if (strcmp (s, "0") == 0 || memory_from_string (s, &out->workspace_free_min) == 0)
    return 0;
  return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s, not a size or a percentage below 100%%; "
                  FREE_MIN_EXAMPLE, PATH_NAME (L), QUOTED (s));
}

static int
load_limits (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_object (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an object, not %s; e.g. "
                    "\"limits\": {\"memory\": \"512M\", \"cpus\": 1.5, \"pids\": 256, "
                    "\"nofile\": 1024}", PATH_NAME (L), type_name (v));
  const char *key;
  json_t *m;
  json_object_foreach (v, key, m)
    {
      push_key (L, key);
      int r = 0;
      if (strcmp (key, "memory") == 0)
        {
          if (json_is_integer (m) && json_integer_value (m) > 0)
            out->limits.memory = (unsigned long long) json_integer_value (m);
          else if (!json_is_string (m))
            r = fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a size, not %s; "
                         MEMORY_EXAMPLE, PATH_NAME (L), type_name (m));
          else if (memory_from_string (json_string_value (m), &out->limits.memory) < 0)
            r = fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s, not a size; " MEMORY_EXAMPLE,
                         PATH_NAME (L), QUOTED (json_string_value (m)));
        }
      else if (strcmp (key, "cpus") == 0)
        {
          if (!json_is_number (m) || !(json_number_value (m) > 0)
              || json_number_value (m) > 65536)
            r = fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a positive number of CPUs, "
                         "e.g. 1.5", PATH_NAME (L));
          else
            out->limits.cpus = json_number_value (m);
        }
      else if (strcmp (key, "pids") == 0)
        r = load_count (L, m, &out->limits.pids, "256");
      else if (strcmp (key, "nofile") == 0)
        r = load_count (L, m, &out->limits.nofile, "1024");
      else if (strcmp (key, "workspace_free_min") == 0)
        r = load_free_min (L, m, &out->limits);
      else
        r = unknown_key (L, key, "limits",
                         KEYS ("memory", "cpus", "pids", "nofile", "workspace_free_min"));
      if (r < 0)
        return -1;
      pop (L);
    }
  return 0;
}

static int
load_cache (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_string (v) || !json_string_value (v)[0])
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a binary cache URL string, not %s; "
                    "e.g. \"file:///srv/nix-cache\" or \"https://cache.nixos.org\"",
                    PATH_NAME (L), type_name (v));
  const char *s = json_string_value (v);
  if (strncmp (s, "file://", 7) != 0 && strncmp (s, "http://", 7) != 0
      && strncmp (s, "https://", 8) != 0)
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; a binary cache URL starts with "
                    "file://, http:// or https://", PATH_NAME (L), QUOTED (s));
  free (out->cache);
  if (!(out->cache = strdup (s)))
    return fail_at (L, JSON_LOCATE_VALUE, "out of memory");
  return 0;
}

static int
load_nix_daemon (struct loader *L, json_t *v, struct cage_config *out)
{
  bool unsandboxed = json_is_string (v) && strcmp (json_string_value (v), "unsandboxed") == 0;
  if (!json_is_boolean (v) && !unsandboxed)
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be true, false or \"unsandboxed\", not %s",
                    PATH_NAME (L),
                    json_is_string (v) ? QUOTED (json_string_value (v)) : type_name (v));
  out->nix_daemon = unsandboxed || json_is_true (v);
  out->nix_daemon_unsandboxed = unsandboxed;
  out->have_nix_daemon = true;
  return 0;
}


static int
load_hooks (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_object (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an object, not %s; e.g. "
                    "\"hooks\": {\"post-mount\": \"echo mounted\"}", PATH_NAME (L),
                    type_name (v));
  const char *key;
  json_t *m;
  json_object_foreach (v, key, m)
    {
      push_key (L, key);
      int h = name_index (hook_names, key);
      if (h < 0)
        return unknown_key (L, key, "hooks", hook_names);
      if (!json_is_string (m) || !json_string_value (m)[0])
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a shell command string, not %s; "
                        "e.g. \"echo mounted\"", PATH_NAME (L),
                        json_is_string (m) ? "an empty string" : type_name (m));
      free (out->hooks[h]);
      if (!(out->hooks[h] = strdup (json_string_value (m))))
        return cage_error_set (L->err, ENOMEM, "%s", L->name);
      pop (L);
    }
  return 0;
}

static int
load_with (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_array (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an array of Nix attribute names, "
                    "not %s; e.g. [\"git\", \"python312\"]", PATH_NAME (L), type_name (v));
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
    {
      push_index (L, i);
      struct cage_error why = { 0 };
      if (!json_is_string (e))
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string (a Nix attribute name "
                        "such as \"git\"), not %s", PATH_NAME (L), type_name (e));
      if (config_add_with (out, json_string_value (e), &why) < 0)
        return fail_at (L, JSON_LOCATE_VALUE, "\"%s\": %s", PATH_NAME (L), why.msg);
      pop (L);
    }
  return 0;
}

static int
load_expr (struct loader *L, json_t *v, struct cage_config *out)
{
  const char *s = json_is_string (v) ? json_string_value (v) : NULL;
  if (!s || !s[0])
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be the path of a Nix file in the "
                    "project, not %s; e.g. \"nix/tools.nix\"", PATH_NAME (L),
                    s ? "an empty string" : type_name (v));
  bool dotdot = strcmp (s, "..") == 0 || strncmp (s, "../", 3) == 0 || strstr (s, "/../")
                || (strlen (s) >= 3 && strcmp (s + strlen (s) - 3, "/..") == 0);
  if (s[0] == '/' || dotdot)
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; it must be a path inside the "
                    "project, relative to it, e.g. \"nix/tools.nix\"", PATH_NAME (L),
                    QUOTED (s));
  free (out->expr);
  if (!(out->expr = strdup (s)))
    return cage_error_set (L->err, ENOMEM, "%s", L->name);
  return 0;
}

/* A string among CHOICES (NULL-terminated); *OUT its index. */
static int
load_choice (struct loader *L, json_t *v, const char *const *choices, const char *list,
             int *out)
{
  if (!json_is_string (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string, not %s; valid choices: %s",
                    PATH_NAME (L), type_name (v), list);
  const char *s = json_string_value (v);
  for (int i = 0; choices[i]; i++)
    if (strcmp (s, choices[i]) == 0)
      {
        *out = i;
        return 0;
      }
  const char *near = suggest_closest (s, choices);
  if (near)
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; did you mean \"%s\"? valid choices: %s",
                    PATH_NAME (L), QUOTED (s), near, list);
  return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; valid choices: %s", PATH_NAME (L),
                  QUOTED (s), list);
}

static int
load_bool (struct loader *L, json_t *v, bool *out, bool *have)
{
  if (!json_is_boolean (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be true or false, not %s",
                    PATH_NAME (L), type_name (v));
  *out = json_is_true (v);
  *have = true;
  return 0;
}

/* "workspace": "read-write" | "read-only", or {"view": "direct" | "cow" |
   "tracked", "access": "read-write" | "read-only"}. */
static int
load_workspace (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_object (v))
    {
      int i = 0;
      int r = load_choice (L, v, KEYS ("read-write", "read-only"), "read-write, read-only", &i);
      out->workspace_readonly = i == 1;
      out->have_workspace = true;
      return r;
    }
  const char *key;
  json_t *m;
  json_object_foreach (v, key, m)
    {
      push_key (L, key);
      int r = 0;
      if (strcmp (key, "view") == 0)
        {
          if (!json_is_string (m))
            return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string, not %s; valid "
                            "choices: " VIEW_CHOICES, PATH_NAME (L), type_name (m));
          const char *sv = json_string_value (m);
          if (FROM_NAME (view_names, sv, &out->view) < 0)
            return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" is %s; valid choices: " VIEW_CHOICES,
                            PATH_NAME (L), QUOTED (sv));
          out->have_view = true;
        }
      else if (strcmp (key, "access") == 0)
        {
          int i = 0;
          r = load_choice (L, m, KEYS ("read-write", "read-only"), "read-write, read-only", &i);
          out->workspace_readonly = i == 1;
          out->have_workspace = true;
        }
      else
        r = unknown_key (L, key, "workspace", KEYS ("view", "access"));
      if (r < 0)
        return -1;
      pop (L);
    }
  return 0;
}

static int
load_home (struct loader *L, json_t *v, struct cage_config *out)
{
  if (!json_is_object (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an object, not %s; e.g. "
                    "\"home\": {\"mode\": \"persistent\", \"writable\": [\"~/.claude/\"]}",
                    PATH_NAME (L), type_name (v));
  const char *key;
  json_t *m;
  json_object_foreach (v, key, m)
    {
      push_key (L, key);
      int r = 0;
      if (strcmp (key, "mode") == 0)
        {
          int i = 0;
          r = load_choice (L, m, KEYS ("persistent", "empty"), "persistent, empty", &i);
          out->home_mode = i == 1 ? HOME_EMPTY : HOME_PERSISTENT;
          out->have_home_mode = true;
        }
      else if (strcmp (key, "host") == 0)
        r = load_bool (L, m, &out->home_host, &out->have_home_host);
      else if (strcmp (key, "writable") == 0)
        {
          if (!json_is_array (m))
            return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an array of paths in the "
                            "home, not %s; e.g. [\"~/.claude/\", \"~/.claude.json\"]",
                            PATH_NAME (L), type_name (m));
          size_t i;
          json_t *e;
          json_array_foreach (m, i, e)
            {
              push_index (L, i);
              struct cage_error why = { 0 };
              if (!json_is_string (e))
                return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string, not %s",
                                PATH_NAME (L), type_name (e));
              if (config_add_home_writable (out, json_string_value (e), &why) < 0)
                return fail_at (L, JSON_LOCATE_VALUE, "\"%s\": %s", PATH_NAME (L), why.msg);
              pop (L);
            }
        }
      else
        r = unknown_key (L, key, "home", KEYS ("mode", "host", "writable"));
      if (r < 0)
        return -1;
      pop (L);
    }
  return 0;
}

static int
load_store (struct loader *L, json_t *v, struct cage_config *out, bool *have_mode)
{
  if (!json_is_object (v))
    return fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be an object, not %s; e.g. "
                    "\"store\": {\"mode\": \"readonly\", \"packages\": [" PACKAGE_EXAMPLE "]}",
                    PATH_NAME (L), type_name (v));
  const char *key;
  json_t *m;
  json_object_foreach (v, key, m)
    {
      push_key (L, key);
      int r;
      if (strcmp (key, "mode") == 0)
        {
          r = load_mode (L, m, out);
          *have_mode = true;
        }
      else if (strcmp (key, "packages") == 0)
        r = load_packages (L, m, out);
      else if (strcmp (key, "cache") == 0)
        r = load_cache (L, m, out);
      else if (strcmp (key, "with") == 0)
        r = load_with (L, m, out);
      else if (strcmp (key, "expr") == 0)
        r = load_expr (L, m, out);
      else if (strcmp (key, "nix_daemon") == 0)
        r = load_nix_daemon (L, m, out);
      else
        r = unknown_key (L, key, "store", KEYS ("mode", "packages", "with", "expr", "cache",
                                                "nix_daemon"));
      if (r < 0)
        return -1;
      pop (L);
    }
  return 0;
}

const char *const config_root_keys[] = {
  "store", "blacklist", "protected", "network", "env", "limits", "hooks", "profile", "preset",
  "workspace", "home", NULL,
};

static int
load_root (struct loader *L, json_t *root, struct cage_config *out, bool *have_mode,
           bool *have_network)
{
  if (!json_is_object (root))
    return fail_at (L, JSON_LOCATE_VALUE, "the top level must be an object, not %s; "
                    "e.g. {\"store\": {\"mode\": \"readonly\"}, \"network\": \"off\"}",
                    type_name (root));
  const char *key;
  json_t *v;
  json_object_foreach (root, key, v)
    {
      push_key (L, key);
      int r;
      if (strcmp (key, "store") == 0)
        r = load_store (L, v, out, have_mode);
      else if (strcmp (key, "blacklist") == 0)
        r = load_pattern_list (L, v, &(struct pattern_list){ "blacklist", &out->blacklist,
                               &out->n_blacklist, &out->blacklist_no_defaults,
                               &out->blacklist_scan });
      else if (strcmp (key, "protected") == 0)
        r = load_pattern_list (L, v, &(struct pattern_list){ "protected", &out->protected,
                               &out->n_protected, &out->protected_no_defaults, NULL });
      else if (strcmp (key, "network") == 0)
        {
          r = load_network (L, v, out);
          *have_network = true;
        }
      else if (strcmp (key, "env") == 0)
        r = load_env (L, v, out);
      else if (strcmp (key, "limits") == 0)
        r = load_limits (L, v, out);
      else if (strcmp (key, "hooks") == 0)
        r = load_hooks (L, v, out);
      else if (strcmp (key, "profile") == 0)
        {
          int i = 0;
          r = load_choice (L, v, profile_names, PROFILE_CHOICES, &i);
          out->profile = (enum cage_profile) i;
          out->have_profile = true;
        }
      else if (strcmp (key, "preset") == 0)
        {
          struct cage_error why = { 0 };
          const struct preset *p = NULL;
          r = 0;
          if (!json_is_string (v))
            r = fail_at (L, JSON_LOCATE_VALUE, "\"%s\" must be a string (a preset name), not "
                         "%s; `cagefs init --list-presets` lists them", PATH_NAME (L),
                         type_name (v));
          else if (!(p = preset_find (json_string_value (v), &why)))
            r = fail_at (L, JSON_LOCATE_VALUE, "%s", why.msg);
          else if (preset_apply (p, out, L->err) < 0)
            r = -1;
          else if (!(out->preset = strdup (p->name)))
            r = cage_error_set (L->err, ENOMEM, "%s", L->name);
        }
      else if (strcmp (key, "workspace") == 0)
        r = load_workspace (L, v, out);
      else if (strcmp (key, "home") == 0)
        r = load_home (L, v, out);
      else
        r = unknown_key (L, key, NULL, config_root_keys);
      if (r < 0)
        return -1;
      pop (L);
    }
  return 0;
}

/* Move the vector SRC (N strings) onto the end of *DST (*DN strings),
   skipping duplicates.  SRC's strings are taken or freed; SRC itself is
   not freed.  Returns -1 only if *DST cannot grow, leaving it unchanged. */
static int
strv_merge (char ***dst, size_t *dn, char **src, size_t n)
{
  if (n == 0)
    return 0;
  char **nv = realloc (*dst, (*dn + n + 1) * sizeof *nv);
  if (!nv)
    return -1;
  *dst = nv;
  for (size_t i = 0; i < n; i++)
    {
      bool dup = false;
      for (size_t j = 0; j < *dn && !dup; j++)
        dup = strcmp (nv[j], src[i]) == 0;
      if (dup)
        free (src[i]);
      else
        nv[(*dn)++] = src[i];
      src[i] = NULL;
    }
  nv[*dn] = NULL;
  return 0;
}

/* Where a syntax error starts.  jansson reports the position just after
   the offending token and quotes it ("invalid token near 'off'"); step back
   to the token's first character when the text there is that token. */
static struct json_pos
syntax_error_pos (const char *text, size_t len, const json_error_t *e)
{
  struct json_pos pos = { e->line < 1 ? 1 : e->line, e->column < 1 ? 1 : e->column };
  const char *near = strstr (e->text, " near '");
  if (!near || e->position < 0)
    return pos;
  const char *tok = near + strlen (" near '");
  size_t n = strlen (tok);
  size_t end = (size_t) e->position;
  if (n < 2 || tok[n - 1] != '\'')
    return pos;
  n--;
  if (n > end || end > len || memcmp (text + end - n, tok, n) != 0)
    return pos;
  return json_offset_pos (text, len, end - n);
}

int
config_load_string (struct cage_config *cfg, const char *text, const char *name,
                    struct cage_error *err)
{
  if (!name)
    name = CONFIG_FILE;
  if (!text)
    return cage_error_set (err, EINVAL, "%s", name);
  size_t len = strlen (text);

  json_error_t jerr;
  json_auto_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                                  &jerr);
  if (!root)
    {
      if (text[strspn (text, " \t\r\n")] == '\0')
        return cage_error_set (err, 0, "%s:%d:%d: the file is empty; write {} for the "
                               "defaults, or delete it", name, jerr.line < 1 ? 1 : jerr.line,
                               jerr.column < 1 ? 1 : jerr.column);
      bool dup = json_error_code (&jerr) == json_error_duplicate_key;
      struct json_pos pos = syntax_error_pos (text, len, &jerr);
      char what[JSON_ERROR_TEXT_LENGTH * 6];
      return cage_error_set (err, 0, "%s:%d:%d: invalid JSON: %s%s", name, pos.line,
                             pos.column, one_line (what, sizeof what, jerr.text),
                             dup ? "; keep only one of them" : "");
    }

  struct loader L = { .text = text, .len = len, .name = name, .err = err };
  struct cage_config tmp;
  config_init (&tmp);
  bool have_mode = false, have_network = false;
  if (load_root (&L, root, &tmp, &have_mode, &have_network) < 0)
    {
      config_free (&tmp);
      return -1;
    }

  /* Merge: nothing in CFG changes unless everything fits. */
  size_t n_packages = cfg->n_packages, n_allow = cfg->allow.n;
  if (net_policy_copy (&cfg->allow, &tmp.allow, err) < 0
      || strv_reserve (&cfg->env_set, cfg->n_env_set, tmp.n_env_set) < 0
      || strv_reserve (&cfg->env_pass, cfg->n_env_pass, tmp.n_env_pass) < 0
      || strv_merge (&cfg->packages, &cfg->n_packages, tmp.packages, tmp.n_packages) < 0
      || strv_merge (&cfg->blacklist, &cfg->n_blacklist, tmp.blacklist, tmp.n_blacklist) < 0
      || strv_merge (&cfg->protected, &cfg->n_protected, tmp.protected, tmp.n_protected) < 0
      || strv_merge (&cfg->with, &cfg->n_with, tmp.with, tmp.n_with) < 0
      || strv_merge (&cfg->home_writable, &cfg->n_home_writable, tmp.home_writable,
                     tmp.n_home_writable) < 0)
    {
      /* Undo a completed package merge (the strings came from TMP). */
      for (size_t i = n_packages; i < cfg->n_packages; i++)
        free (cfg->packages[i]);
      if (cfg->packages)
        cfg->packages[n_packages] = NULL;
      cfg->n_packages = n_packages;
      while (cfg->allow.n > n_allow)
        net_entry_free (&cfg->allow.v[--cfg->allow.n]);
      config_free (&tmp);
      return cage_error_set (err, ENOMEM, "%s", name);
    }
  /* (room was reserved above: these cannot fail) */
  strv_merge (&cfg->env_pass, &cfg->n_env_pass, tmp.env_pass, tmp.n_env_pass);
  for (size_t i = 0; i < tmp.n_env_set; i++)
    {
      env_set_put (cfg->env_set, &cfg->n_env_set, tmp.env_set[i]);
      tmp.env_set[i] = NULL;
    }
  if (tmp.limits.memory)
    cfg->limits.memory = tmp.limits.memory;
  if (tmp.limits.cpus > 0)
    cfg->limits.cpus = tmp.limits.cpus;
  if (tmp.limits.pids)
    cfg->limits.pids = tmp.limits.pids;
  if (tmp.limits.nofile)
    cfg->limits.nofile = tmp.limits.nofile;
  if (tmp.limits.have_workspace_free_min)
    {
      cfg->limits.workspace_free_min = tmp.limits.workspace_free_min;
      cfg->limits.workspace_free_min_pct = tmp.limits.workspace_free_min_pct;
      cfg->limits.have_workspace_free_min = true;
    }
  if (tmp.blacklist_no_defaults)
    cfg->blacklist_no_defaults = true;
  if (tmp.blacklist_scan)
    cfg->blacklist_scan = true;
  if (tmp.protected_no_defaults)
    cfg->protected_no_defaults = true;
  if (have_mode)
    cfg->mode = tmp.mode;
  if (tmp.cache)
    {
      free (cfg->cache);
      cfg->cache = steal_ptr (&tmp.cache);
    }
  if (tmp.have_nix_daemon)
    {
      cfg->nix_daemon = tmp.nix_daemon;
      cfg->nix_daemon_unsandboxed = tmp.nix_daemon_unsandboxed;
      cfg->have_nix_daemon = true;
    }
  if (have_network)
    {
      cfg->network = tmp.network;
      cfg->have_network = true;
      free (cfg->network_at);
      cfg->network_at = steal_ptr (&tmp.network_at);
    }
  if (tmp.have_profile)
    {
      cfg->profile = tmp.profile;
      cfg->have_profile = true;
    }
  if (tmp.have_workspace)
    {
      cfg->workspace_readonly = tmp.workspace_readonly;
      cfg->have_workspace = true;
    }
  if (tmp.have_view)
    {
      cfg->view = tmp.view;
      cfg->have_view = true;
    }
  if (tmp.have_home_mode)
    {
      cfg->home_mode = tmp.home_mode;
      cfg->have_home_mode = true;
    }
  if (tmp.have_home_host)
    {
      cfg->home_host = tmp.home_host;
      cfg->have_home_host = true;
    }
  if (tmp.preset)
    {
      free (cfg->preset);
      cfg->preset = steal_ptr (&tmp.preset);
    }
  if (tmp.expr)
    {
      free (cfg->expr);
      cfg->expr = steal_ptr (&tmp.expr);
    }
  for (int h = 0; h < HOOK_COUNT; h++)
    if (tmp.hooks[h])
      {
        free (cfg->hooks[h]);
        cfg->hooks[h] = steal_ptr (&tmp.hooks[h]);
      }
  config_free (&tmp);
  return 0;
}

/* Read PATH (a regular file, at most CONFIG_MAX_SIZE bytes) into a
   NUL-terminated buffer.  With NOFOLLOW a symlink is refused; with
   MISSING_OK a missing file returns 1 and sets *OUT to NULL. */
static int
read_config (const char *path, bool nofollow, bool missing_ok, char **out,
             struct cage_error *err)
{
  *out = NULL;
  autoclose int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
                           | (nofollow ? O_NOFOLLOW : 0));
  if (fd < 0)
    {
      if (errno == ENOENT && missing_ok)
        return 1;
      if (errno == ELOOP && nofollow)
        return cage_error_set (err, 0, "%s is a symbolic link; cagefs reads only a regular "
                               "file here, so replace the link with the file itself", path);
      return cage_error_set (err, errno, "read `%s`", path);
    }
  struct stat st;
  if (fstat (fd, &st) < 0)
    return cage_error_set (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return cage_error_set (err, 0, "%s is not a regular file; cage.json must be a JSON file",
                           path);
  if (st.st_size > CONFIG_MAX_SIZE)
    return cage_error_set (err, 0, "%s is %lld bytes; the limit is %d", path,
                           (long long) st.st_size, CONFIG_MAX_SIZE);
  size_t cap = (size_t) st.st_size + 1, len = 0;
  autofree char *buf = malloc (cap + 1);
  if (!buf)
    return cage_error_set (err, ENOMEM, "read `%s`", path);
  for (;;)
    {
      if (len == cap)
        return cage_error_set (err, 0, "%s grew while being read; the limit is %d bytes",
                               path, CONFIG_MAX_SIZE);
      ssize_t r = read (fd, buf + len, cap - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return cage_error_set (err, errno, "read `%s`", path);
      if (r == 0)
        break;
      len += (size_t) r;
    }
  buf[len] = '\0';
  const char *nul = memchr (buf, '\0', len);
  if (nul)
    {
      struct json_pos pos = json_offset_pos (buf, len, (size_t) (nul - buf));
      return cage_error_set (err, 0, "%s:%d:%d: the file contains a NUL byte; cage.json "
                             "must be UTF-8 text", path, pos.line, pos.column);
    }
  *out = steal_ptr (&buf);
  return 0;
}

int
config_load_file (struct cage_config *cfg, const char *path, struct cage_error *err)
{
  autofree char *text = NULL;
  if (read_config (path, false, false, &text, err) < 0)
    return -1;
  return config_load_string (cfg, text, path, err);
}

int
config_load_project (struct cage_config *cfg, const char *project_dir,
                     struct cage_error *err)
{
  autofree char *path = NULL;
  if (asprintf (&path, "%s/" CONFIG_FILE, project_dir) < 0)
    {
      path = NULL;
      return cage_error_set (err, ENOMEM, "%s/" CONFIG_FILE, project_dir);
    }
  /* The project is writable from inside the cage: do not follow a link
     planted there to some other file. */
  autofree char *text = NULL;
  int r = read_config (path, true, true, &text, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  return config_load_string (cfg, text, path, err);
}
