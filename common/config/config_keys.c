/* config_keys.c - each cage.json key's loader: its type, its choices, its
   message at FILE:LINE:COLUMN (json_locate) when the value is wrong, and
   the root object that ties the sections together.  */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blacklist.h"
#include "cleanup.h"
#include "config_impl.h"
#include "json_locate.h"
#include "presets.h"
#include "suggest.h"

#define ALLOW_EXAMPLE "{\"mode\": \"filtered\", \"allow\": [\"api.example.com\", \"*.example.org:443\"]}"
#define PACKAGE_EXAMPLE "\"/nix/store/<hash>-<name>\""

/* ---- validating a parsed document ----------------------------------- */

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

int
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
