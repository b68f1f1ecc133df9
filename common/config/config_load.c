/* config_load.c - reading cage.json: the file (a regular file, bounded,
   not through a link in the project), the JSON text with its syntax errors
   at FILE:LINE:COLUMN, and the merge: a file either loads completely or
   leaves the configuration untouched.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config_impl.h"
#include "json_locate.h"

#define CONFIG_MAX_SIZE (1024 * 1024)

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
