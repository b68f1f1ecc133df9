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
#include "home.h"
#include "hooks.h"
#include "packages.h"
#include "resolve.h"
#include "lock.h"
#include "log.h"
#include "nixconf.h"
#include "paths.h"
#include "private.h"
#include "state_dirs.h"
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
  json_t *o = json_pack ("{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:b, s:s, s:s, s:s, s:s, s:s}",
                         "project", st->project, "mountpoint", st->mountpoint, "pid",
                         (json_int_t) st->pid, "mode", st->mode, "network", st->network,
                         "packages", cli_strv_json (st->packages), "closure",
                         cli_strv_json (st->closure), "already_mounted", already, "user",
                         st->user, "home", st->home, "profile",
                         st->profile ? st->profile : "standard", "workspace",
                         st->workspace_readonly ? "read-only" : "read-write", "home_mode",
                         st->home_mode ? st->home_mode : "persistent");
  if (o)
    {
      json_object_set_new (o, "host_home", st->host_home ? json_string (st->host_home) : json_null ());
      json_object_set_new (o, "view", json_string (st->view ? st->view : "direct"));
      json_object_set_new (o, "scan", json_boolean (st->scan));
      json_object_set_new (o, "nix_daemon", json_boolean (st->nix_daemon));
      json_object_set_new (o, "nix_daemon_unsandboxed", json_boolean (st->nix_daemon_unsandboxed));
      json_object_set_new (o, "allow", cli_allow_json (&st->allow));
    }
  cli_print_json (o);
}

static bool
same_strv (char **a, char **b)
{
  for (; a && *a && b && *b; a++, b++)
    if (strcmp (*a, *b) != 0)
      return false;
  return !(a && *a) && !(b && *b);
}

/* The same entries in the same order (origins aside). */
static bool
same_policy (const struct net_policy *a, const struct net_policy *b)
{
  if (a->n != b->n)
    return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp (a->v[i].text, b->v[i].text) != 0)
      return false;
  return true;
}

/* Shared mode's nix-daemon socket: the daemon runs whatever the agent asks
   it to build, so only a daemon that builds in a sandbox is handed over,
   unless the user took that risk (--nix-daemon-unsandboxed). */
static int
check_nix_daemon (const struct cage_config *cfg, struct cage_error *err)
{
  if (cfg->mode != STORE_SHARED || !cfg->nix_daemon)
    return 0;
  if (cfg->nix_daemon_unsandboxed)
    {
      cage_warn ("store.nix_daemon is \"unsandboxed\": the agent's builds may run on the host "
                 "without a sandbox (your choice)");
      return 0;
    }
  bool sandboxed = false;
  char why[128] = "";
  if (nix_daemon_sandboxed (&sandboxed, why, sizeof why, err) < 0)
    return cage_error_prefix (err, "store.nix_daemon: cannot tell whether the nix-daemon "
                              "builds in a sandbox (fix Nix, or take the risk with "
                              "--nix-daemon-unsandboxed)");
  if (sandboxed)
    return 0;
  return cage_error_set (err, 0, "store.nix_daemon: the nix-daemon builds without a sandbox "
                         "(%s), so what the agent builds through its socket would run on the "
                         "host with the host's network; set `sandbox = true` and "
                         "`sandbox-fallback = false` in /etc/nix/nix.conf and restart the "
                         "nix-daemon, or take that risk with --nix-daemon-unsandboxed "
                         "(store.nix_daemon: \"unsandboxed\")", why);
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
  static const struct option own[] = {
    { "foreground", no_argument, NULL, 'f' },
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct cage_error err = { 0 };
  struct mount_flags mf;
  mount_flags_init (&mf);
  bool foreground = false, json = false;
  int c;
  optind = 1;
  for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    if (strcmp (argv[i], "--json") == 0)
      json = true;
  struct mount_getopt g;
  mount_flags_getopt (&g, own, "fjvh");
  while ((c = getopt_long (argc, argv, g.shortopts, g.longopts, NULL)) != -1)
    {
      int r = mount_flags_option (&mf, c, optarg, &err);
      if (r < 0)
        {
          mount_flags_free (&mf);
          return fail (&err, json);
        }
      if (r > 0)
        continue;
      switch (c)
        {
        case 'f':
          foreground = true;
          break;
        case 'j':
          json = true;
          break;
        case 'v':
          cage_log_verbose++;
          break;
        case 'h':
          printf ("usage: cagefs mount PROJECT [--package STOREPATH]... [--with NAME[,NAME...]]\n"
                  "       [--profile strict|standard|relaxed]\n"
                  "       [--mode readonly|shared|copy|isolated] [--cache URL]\n"
                  "       [--nix-daemon | --nix-daemon-unsandboxed]\n"
                  "       [--blacklist GLOB]... [--scan] [--network off|host|filtered]\n"
                  "       [--allow HOST[:PORT]|ADDR[/PREFIX]]...\n"
                  "       [--workspace-view direct|cow|tracked] [--json] [--foreground]\n");
          mount_flags_free (&mf);
          return 0;
        default:
          mount_flags_free (&mf);
          return cli_bad_option ("mount", argv);
        }
    }
  if (optind != argc - 1)
    {
      mount_flags_free (&mf);
      return cli_usage_error ("mount", "expected exactly one PROJECT directory");
    }
  const char *project = argv[optind];

  struct cage_config cfg;
  config_init (&cfg);
  struct project_paths pp;
  struct cage_state st = { 0 };
  struct store_setup ss = { 0 };
  autoclose int lock = -1;
  autofree char *host_home = NULL;
  int rc = 1;
  if (paths_project (project, true, &pp, &err) < 0)
    {
      mount_flags_free (&mf);
      return fail (&err, json);
    }
  if (resolve_config (&pp, &mf, &cfg, &err) < 0)
    goto out;
  if (cfg.home_host && !(host_home = home_host_path (&err)))
    goto out;
  if (check_nix_daemon (&cfg, &err) < 0)
    goto out;

  if ((lock = project_lock (&pp, &err)) < 0)
    goto out;

  if (packages_resolve (&cfg, &pp, NULL, &err) < 0)
    goto out;

  struct cage_state cur;
  if (state_read (pp.state_json, &cur, NULL) == 0)
    {
      bool alive = state_daemon_alive (&cur);
      if (alive && strcmp (cur.mode, config_mode_name (cfg.mode)) == 0
          && strcmp (cur.network, config_network_name (cfg.network)) == 0
          && strcmp (cur.profile, config_profile_name (cfg.profile)) == 0
          && strcmp (cur.view, config_view_name (cfg.view)) == 0
          && cur.workspace_readonly == cfg.workspace_readonly
          && cur.scan == cfg.blacklist_scan
          && strcmp (cur.home_mode, cfg.home_mode == HOME_EMPTY ? "empty" : "persistent") == 0
          && cur.nix_daemon == (cfg.mode == STORE_SHARED && cfg.nix_daemon)
          && cur.nix_daemon_unsandboxed
               == (cfg.mode == STORE_SHARED && cfg.nix_daemon && cfg.nix_daemon_unsandboxed)
          && !cur.host_home == !host_home
          && same_policy (&cur.allow, &cfg.allow)
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
                          "project %s is already mounted with another configuration (profile "
                          "%s, mode %s, network %s, view %s, %zu packages); run: cagefs umount %s",
                          pp.project, cur.profile, cur.mode, cur.network, cur.view,
                          cli_strv_len (cur.packages), pp.project);
          state_free (&cur);
          goto out;
        }
      state_free (&cur);
    }
  if (project_clean_stale (&pp, &err) < 0)
    goto out;

  if (state_dirs_record (&pp, config_mode_name (cfg.mode), &err) < 0)
    goto out;
  hooks_run (&cfg, HOOK_PRE_MOUNT, &pp);
  /* (the agent's host ids first: the home is theirs) */
  state_cage_identity (&st);
  if (home_prepare (&cfg, &pp, st.cage_uid, st.cage_gid, &err) < 0)
    goto out;
  if (store_mode_prepare (&cfg, &pp, json, &ss, &err) < 0)
    goto out;
  char **closure = steal_ptr (&ss.closure);

  st.project = strdup (pp.project);
  st.mountpoint = strdup (pp.mnt);
  st.store_mountpoint = strdup (pp.store_mnt);
  st.mode = strdup (config_mode_name (cfg.mode));
  st.network = strdup (config_network_name (cfg.network));
  st.view = strdup (config_view_name (cfg.view));
  st.profile = strdup (config_profile_name (cfg.profile));
  st.home_mode = strdup (cfg.home_mode == HOME_EMPTY ? "empty" : "persistent");
  st.workspace_readonly = cfg.workspace_readonly;
  st.scan = cfg.blacklist_scan;
  if (net_policy_copy (&st.allow, &cfg.allow, &err) < 0)
    goto out;
  if (host_home)
    {
      st.host_home = steal_ptr (&host_home);
      /* The real home takes its own path; the cage's home moves aside when
         that is the same one (/home/NAME). */
      if (st.home && strcmp (st.home, st.host_home) == 0)
        {
          char *h = NULL;
          if (asprintf (&h, "%s.cage", st.home) < 0)
            h = NULL;
          free (st.home);
          st.home = h;
        }
    }
  st.packages = calloc (cfg.n_packages + 1, sizeof (char *));
  st.closure = closure;
  if (!st.project || !st.mountpoint || !st.store_mountpoint || !st.mode || !st.network || !st.view || !st.packages || !st.user
      || !st.home || !st.profile || !st.home_mode)
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
  st.nix_daemon_unsandboxed = st.nix_daemon && cfg.nix_daemon_unsandboxed;
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
  mount_flags_free (&mf);
  return rc;
}
