/* config.c - the configuration in memory: the enums' names and parsers
   (also for flags), init/free, and adding packages, globs, allow entries,
   environment and home paths to it, with the profile's limits.
   Reading cage.json is config_load.c (the text) and config_keys.c (each
   key's loader).  */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blacklist.h"
#include "cleanup.h"
#include "config_impl.h"
#include "presets.h"
#include "suggest.h"

/* ---- names ---------------------------------------------------------- */

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
const char *
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

/* S with control characters escaped ("\n", "\u0001"), so a message stays
   one line: jansson's syntax errors and the blacklist's reasons quote raw text. */
const char *
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
int
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
int
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
void
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
int
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
