/* cmd_mount.c - `cagefs mount PROJECT`: config, closure, stale-mount
   cleanup, then the daemon; returns once the mount is ready. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "closure.h"
#include "config.h"
#include "daemon.h"
#include "hooks.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "private.h"
#include "sessions.h"
#include "store_mode.h"
#include "state.h"

static void
print_mounted (const struct cage_state *st, bool already, bool json)
{
  if (!json)
    {
      printf ("%s\n", st->mountpoint);
      fflush (stdout);
      return;
    }
  cli_print_json (json_pack ("{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:b, s:s, s:s, s:s}", "project",
                             st->project, "mountpoint", st->mountpoint, "pid",
                             (json_int_t) st->pid, "mode", st->mode, "network", st->network,
                             "packages", cli_strv_json (st->packages), "closure",
                             cli_strv_json (st->closure), "already_mounted", already, "user",
                             st->user, "home", st->home, "view", st->view ? st->view : "direct"));
}

static bool
same_strv (char **a, char **b)
{
  for (; a && *a && b && *b; a++, b++)
    if (strcmp (*a, *b) != 0)
      return false;
  return !(a && *a) && !(b && *b);
}

static int
fail (struct cage_error *err, bool json)
{
  cage_error_print (err, "cagefs", json);
  return 1;
}

int
cmd_mount (int argc, char **argv)
{
  static const struct option opts[] = {
    { "package", required_argument, NULL, 'p' },
    { "mode", required_argument, NULL, 'm' },
    { "blacklist", required_argument, NULL, 'b' },
    { "network", required_argument, NULL, 'n' },
    { "foreground", no_argument, NULL, 'f' },
    { "cache", required_argument, NULL, 'c' },
    { "nix-daemon", no_argument, NULL, 'D' },
    { "workspace-view", required_argument, NULL, 'w' },
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct cage_error err = { 0 };
  struct cage_config flags;
  config_init (&flags);
  const char *mode = NULL, *network = NULL, *view = NULL;
  bool foreground = false, json = false;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "p:m:b:n:fc:Dw:jvh", opts, NULL)) != -1)
    {
      switch (c)
        {
        case 'p':
          if (config_add_package (&flags, optarg) < 0)
            return 1;
          break;
        case 'm':
          mode = optarg;
          break;
        case 'b':
          if (config_add_blacklist (&flags, optarg) < 0)
            return 1;
          break;
        case 'n':
          network = optarg;
          break;
        case 'f':
          foreground = true;
          break;
        case 'c':
          free (flags.cache);
          if (!(flags.cache = strdup (optarg)))
            return 1;
          break;
        case 'D':
          flags.nix_daemon = flags.have_nix_daemon = true;
          break;
        case 'w':
          view = optarg;
          break;
        case 'j':
          json = true;
          break;
        case 'v':
          cage_log_verbose++;
          break;
        case 'h':
          printf ("usage: cagefs mount PROJECT [--package STOREPATH]...\n"
                  "       [--mode readonly|shared|copy|isolated] [--cache URL] [--nix-daemon]\n"
                  "       [--blacklist GLOB]... [--network off|host] [--workspace-view direct|cow|tracked]\n"
                  "       [--json] [--foreground]\n");
          config_free (&flags);
          return 0;
        default:
          config_free (&flags);
          return cli_usage_error ("mount", "bad option");
        }
    }
  if (optind != argc - 1)
    {
      config_free (&flags);
      return cli_usage_error ("mount", "expected exactly one PROJECT directory");
    }
  const char *project = argv[optind];

  struct cage_config cfg;
  config_init (&cfg);
  struct project_paths pp;
  struct cage_state st = { 0 };
  struct store_setup ss = { 0 };
  autoclose int lock = -1;
  int rc = 1;
  if (paths_project (project, true, &pp, &err) < 0)
    {
      config_free (&flags);
      return fail (&err, json);
    }
  if (config_load_project (&cfg, pp.project, &err) < 0)
    goto out;
  /* Flags override the file: packages replace, globs add. */
  if (flags.n_packages > 0)
    {
      cage_strv_free (cfg.packages);
      cfg.packages = steal_ptr (&flags.packages);
      cfg.n_packages = flags.n_packages;
      flags.n_packages = 0;
    }
  for (size_t i = 0; i < flags.n_blacklist; i++)
    if (config_add_blacklist (&cfg, flags.blacklist[i]) < 0)
      {
        cage_error_set (&err, ENOMEM, "blacklist");
        goto out;
      }
  if (mode && config_parse_mode (mode, &cfg.mode, &err) < 0)
    {
      cage_error_prefix (&err, "--mode");
      goto out;
    }
  if (flags.cache)
    {
      if (private_check_cache_url (flags.cache, &err) < 0)
        {
          cage_error_prefix (&err, "--cache");
          goto out;
        }
      free (cfg.cache);
      cfg.cache = steal_ptr (&flags.cache);
    }
  if (flags.have_nix_daemon)
    cfg.nix_daemon = true;
  if (network && config_parse_network (network, &cfg.network, &err) < 0)
    {
      cage_error_prefix (&err, "--network");
      goto out;
    }
  if (view && config_parse_view (view, &cfg.view, &err) < 0)
    {
      cage_error_prefix (&err, "--workspace-view");
      goto out;
    }
  {
    /* The blacklist is checked here so a bad glob fails before mounting. */
    struct blacklist bl;
    if (blacklist_init (&bl, cfg.blacklist, !cfg.blacklist_no_defaults, &err) < 0)
      goto out;
    blacklist_free (&bl);
  }

  if ((lock = project_lock (&pp, &err)) < 0)
    goto out;

  struct cage_state cur;
  if (state_read (pp.state_json, &cur, NULL) == 0)
    {
      bool alive = state_daemon_alive (&cur);
      if (alive && strcmp (cur.mode, config_mode_name (cfg.mode)) == 0
          && strcmp (cur.network, config_network_name (cfg.network)) == 0
          && strcmp (cur.view, config_view_name (cfg.view)) == 0
          && same_strv (cur.packages, cfg.packages))
        {
          print_mounted (&cur, true, json);
          state_free (&cur);
          rc = 0;
          goto out;
        }
      if (alive)
        {
          cage_error_set (&err, 0,
                          "project %s is already mounted with another configuration (mode %s, "
                          "network %s, view %s, %zu packages); run: cagefs umount %s",
                          pp.project, cur.mode, cur.network, cur.view,
                          cli_strv_len (cur.packages), pp.project);
          state_free (&cur);
          goto out;
        }
      state_free (&cur);
    }
  if (project_clean_stale (&pp, &err) < 0)
    goto out;

  if (sessions_record (&pp, config_mode_name (cfg.mode), &err) < 0)
    goto out;
  hooks_run (&cfg, HOOK_PRE_MOUNT, &pp);
  if (store_mode_prepare (&cfg, &pp, json, &ss, &err) < 0)
    goto out;
  char **closure = steal_ptr (&ss.closure);

  state_cage_identity (&st);
  st.project = strdup (pp.project);
  st.mountpoint = strdup (pp.mnt);
  st.store_mountpoint = strdup (pp.store_mnt);
  st.mode = strdup (config_mode_name (cfg.mode));
  st.network = strdup (config_network_name (cfg.network));
  st.view = strdup (config_view_name (cfg.view));
  st.packages = calloc (cfg.n_packages + 1, sizeof (char *));
  st.closure = closure;
  if (!st.project || !st.mountpoint || !st.store_mountpoint || !st.mode || !st.network || !st.view || !st.packages || !st.user
      || !st.home)
    {
      cage_error_set (&err, ENOMEM, "mount");
      goto out;
    }
  for (size_t i = 0; i < cfg.n_packages; i++)
    if (!(st.packages[i] = strdup (cfg.packages[i])))
      {
        cage_error_set (&err, ENOMEM, "mount");
        goto out;
      }
  if (foreground)
    cage_closep (&lock); /* we are the daemon: don't hold the lock for its life */
  st.closure_bytes = ss.closure_bytes;
  if (cfg.mode == STORE_ISOLATED && !(st.cache = strdup (cfg.cache)))
    {
      cage_error_set (&err, ENOMEM, "mount");
      goto out;
    }
  st.nix_daemon = cfg.mode == STORE_SHARED && cfg.nix_daemon;
  if (cfg.nix_daemon && cfg.mode != STORE_SHARED)
    cage_warn ("store.nix_daemon is only used in store mode \"shared\"; ignored in mode \"%s\"",
               config_mode_name (cfg.mode));
  ss.closure = st.closure; /* the daemon reads it from here */
  if (daemon_start (&cfg, &pp, &st, &ss, foreground, &err) < 0)
    goto out;
  if (!foreground)
    {
      hooks_run (&cfg, HOOK_POST_MOUNT, &pp);
      print_mounted (&st, false, json);
    }
  rc = 0;

out:
  if (rc != 0)
    cage_error_print (&err, "cagefs", json);
  ss.closure = NULL; /* owned by st */
  store_setup_free (&ss);
  state_free (&st);
  paths_free (&pp);
  config_free (&cfg);
  config_free (&flags);
  return rc;
}
