/* resolve.c - cage.json + flags + profile: the configuration of a mount. */
#include "resolve.h"

#include "mount_options.h"
#include <stdio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blacklist.h"
#include "cleanup.h"
#include "private.h"

void
mount_flags_init (struct mount_flags *mf)
{
  memset (mf, 0, sizeof *mf);
  config_init (&mf->lists);
}

void
mount_flags_free (struct mount_flags *mf)
{
  config_free (&mf->lists);
}

void
mount_flags_getopt (struct mount_getopt *g, const struct option *extra, const char *extra_short)
{
  size_t n = 0, k = 0;
  for (const struct mount_option *o = mount_options; o->name; o++)
    {
      g->longopts[n++] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
                                          o->key };
      if (o->has_short)
        {
          g->shortopts[k++] = (char) o->key;
          if (o->arg)
            g->shortopts[k++] = ':';
        }
    }
  for (; extra && extra->name; extra++)
    g->longopts[n++] = *extra;
  g->longopts[n] = (struct option){ NULL, 0, NULL, 0 };
  snprintf (g->shortopts + k, sizeof g->shortopts - k, "%s", extra_short);
}

int
mount_flags_option (struct mount_flags *mf, int c, const char *arg, struct cage_error *err)
{
  int r = 0;
  switch (c)
    {
    case 'p': r = config_add_package (&mf->lists, arg); break;
    case 'W': return mount_flags_add_with (mf, arg, err) < 0 ? -1 : 1;
    case 'P': mf->profile = arg; break;
    case 'm': mf->mode = arg; break;
    case 'b': r = config_add_blacklist (&mf->lists, arg); break;
    case 'n': mf->network = arg; break;
    case 'S': mf->lists.blacklist_scan = true; break;
    case 'D': mf->lists.nix_daemon = mf->lists.have_nix_daemon = true; break;
    case MOUNT_OPT_CACHE:
      free (mf->lists.cache);
      r = (mf->lists.cache = strdup (arg)) ? 0 : -1;
      break;
    case MOUNT_OPT_WORKSPACE_VIEW: mf->view = arg; break;
    case MOUNT_OPT_ALLOW: return config_add_allow (&mf->lists, arg, err) < 0 ? -1 : 1;
    case MOUNT_OPT_NIX_DAEMON_UNSANDBOXED:
      mf->lists.nix_daemon = mf->lists.have_nix_daemon = true;
      mf->lists.nix_daemon_unsandboxed = true;
      break;
    default: return 0;
    }
  if (r < 0)
    return cage_error_set (err, ENOMEM, "option -%c", c);
  return 1;
}

int
mount_flags_add_with (struct mount_flags *mf, const char *list, struct cage_error *err)
{
  autofree char *copy = strdup (list);
  if (!copy)
    return cage_error_set (err, ENOMEM, "--with");
  char *save = NULL;
  bool any = false;
  for (char *n = strtok_r (copy, ",", &save); n; n = strtok_r (NULL, ",", &save))
    {
      if (config_add_with (&mf->lists, n, err) < 0)
        return cage_error_prefix (err, "--with");
      any = true;
    }
  if (!any)
    return cage_error_set (err, 0, "--with: no package name; e.g. --with git,python312");
  return 0;
}

int
resolve_config (const struct project_paths *pp, struct mount_flags *mf, struct cage_config *cfg,
                struct cage_error *err)
{
  struct cage_config *fl = &mf->lists;
  if (config_load_project (cfg, pp->project, err) < 0)
    return -1;
  /* Flags override the file: packages replace, globs and names add. */
  if (fl->n_packages > 0)
    {
      cage_strv_free (cfg->packages);
      cfg->packages = steal_ptr (&fl->packages);
      cfg->n_packages = fl->n_packages;
      fl->n_packages = 0;
    }
  for (size_t i = 0; i < fl->n_blacklist; i++)
    if (config_add_blacklist (cfg, fl->blacklist[i]) < 0)
      return cage_error_set (err, ENOMEM, "blacklist");
  if (fl->blacklist_scan)
    cfg->blacklist_scan = true;
  for (size_t i = 0; i < fl->n_with; i++)
    if (config_add_with (cfg, fl->with[i], err) < 0)
      return -1;
  if (mf->profile)
    {
      if (config_parse_profile (mf->profile, &cfg->profile, err) < 0)
        return cage_error_prefix (err, "--profile");
      cfg->have_profile = true;
    }
  if (mf->mode && config_parse_mode (mf->mode, &cfg->mode, err) < 0)
    return cage_error_prefix (err, "--mode");
  if (fl->cache)
    {
      if (private_check_cache_url (fl->cache, err) < 0)
        return cage_error_prefix (err, "--cache");
      free (cfg->cache);
      cfg->cache = steal_ptr (&fl->cache);
    }
  if (fl->have_nix_daemon)
    {
      cfg->nix_daemon = cfg->have_nix_daemon = true;
      if (fl->nix_daemon_unsandboxed)
        cfg->nix_daemon_unsandboxed = true;
    }
  if (mf->network)
    {
      if (config_parse_network (mf->network, &cfg->network, err) < 0)
        return cage_error_prefix (err, "--network");
      cfg->have_network = true;
    }
  if (mf->view)
    {
      if (config_parse_view (mf->view, &cfg->view, err) < 0)
        return cage_error_prefix (err, "--workspace-view");
      cfg->have_view = true;
    }
  if (net_policy_copy (&cfg->allow, &fl->allow, err) < 0)
    return -1;
  config_apply_profile (cfg);
  char network_flag[64];
  snprintf (network_flag, sizeof network_flag, "--network %s",
            mf->network ? mf->network : "");
  if (config_check_network (cfg, mf->network ? network_flag : NULL, err) < 0)
    return -1;

  /* The Nix file that mount evaluates on the host: the agent may read it,
     never change it. */
  if (cfg->expr)
    {
      char pattern[2048];
      size_t o = 0;
      pattern[o++] = '/';
      for (const char *p = cfg->expr; *p && o + 3 < sizeof pattern; p++)
        {
          if (strchr ("*?[]\\!#", *p))
            pattern[o++] = '\\';
          pattern[o++] = *p;
        }
      pattern[o] = '\0';
      if (config_add_protected (cfg, pattern) < 0)
        return cage_error_set (err, ENOMEM, "protected");
    }
  /* The blacklist is checked here so a bad glob fails before mounting. */
  struct blacklist bl;
  if (blacklist_init (&bl, cfg->blacklist, !cfg->blacklist_no_defaults, err) < 0)
    return -1;
  blacklist_free (&bl);
  return 0;
}
