/* cmd_status.c - `cagefs status PROJECT`: is it mounted, and how. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"
#include "node.h"
#include "paths.h"
#include "state.h"
#include "store_mode.h"

/* Cages running in the project: <state>/agents/<pid> of live processes. */
static long
agents_running (const char *state)
{
  char dir[4096];
  snprintf (dir, sizeof dir, "%s/agents", state);
  DIR *d = opendir (dir);
  if (!d)
    return 0;
  long n = 0;
  struct dirent *e;
  while ((e = readdir (d)))
    {
      char *end;
      long pid = strtol (e->d_name, &end, 10);
      if (pid > 0 && !*end && (kill ((pid_t) pid, 0) == 0 || errno == EPERM))
        n++;
    }
  closedir (d);
  return n;
}

int
cmd_status (int argc, char **argv)
{
  bool json;
  const char *project;
  int urc = cli_parse_project (argc, argv, "status", &json, &project);
  if (urc != 0)
    return urc;

  struct cage_error err = { 0 };
  struct project_paths pp;
  if (paths_project (project, false, &pp, &err) < 0)
    {
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  struct cage_state st;
  bool have = state_read (pp.state_json, &st, NULL) == 0;
  /* A private store (copy or isolated mode, now or earlier). */
  long long priv_own = -1, priv_shared = 0;
  struct stat pst;
  char priv_store[4096];
  snprintf (priv_store, sizeof priv_store, "%s/nix/store", pp.private_root);
  if (stat (priv_store, &pst) == 0
      && store_disk_usage (priv_store, &priv_own, &priv_shared, NULL) < 0)
    priv_own = -1;
  bool alive = have && state_daemon_alive (&st);
  bool stale = (have && !alive) || (!have && state_is_fuse_mount (pp.mnt));
  if (json)
    {
      json_t *o = json_pack ("{s:s, s:b, s:b, s:s, s:s}", "project", pp.project, "mounted", alive,
                             "stale", stale, "mountpoint", pp.mnt, "state_dir", pp.state);
      if (have)
        {
          json_object_set_new (o, "pid", json_integer (st.pid));
          if (alive)
            {
              json_object_set_new (o, "uptime_s", json_integer (state_process_uptime (st.pid)));
              json_object_set_new (o, "agents_running", json_integer (agents_running (pp.state)));
            }
          json_object_set_new (o, "mode", json_string (st.mode));
          json_object_set_new (o, "network", json_string (st.network));
          json_object_set_new (o, "allow", cli_allow_json (&st.allow));
          json_object_set_new (o, "view", json_string (st.view));
          json_object_set_new (o, "scan", json_boolean (st.scan));
          json_object_set_new (o, "nix_daemon", json_boolean (st.nix_daemon));
          json_object_set_new (o, "nix_daemon_unsandboxed",
                               json_boolean (st.nix_daemon_unsandboxed));
          json_object_set_new (o, "user", json_string (st.user));
          json_object_set_new (o, "home", json_string (st.home));
          json_object_set_new (o, "packages", cli_strv_json (st.packages));
          json_object_set_new (o, "closure", cli_strv_json (st.closure));
          json_object_set_new (o, "closure_bytes", json_integer (st.closure_bytes));
          json_object_set_new (o, "profile", json_string (st.profile));
          json_object_set_new (o, "workspace", json_string (st.workspace_readonly ? "read-only"
                                                            : "read-write"));
          json_object_set_new (o, "home_mode", json_string (st.home_mode));
          json_object_set_new (o, "host_home", st.host_home ? json_string (st.host_home)
                                                             : json_null ());
        }
      if (priv_own >= 0)
        {
          json_object_set_new (o, "private_store", json_string (priv_store));
          json_object_set_new (o, "private_store_bytes", json_integer (priv_own));
          json_object_set_new (o, "private_store_shared_bytes", json_integer (priv_shared));
        }
      cli_print_json (o);
    }
  else if (alive)
    {
      printf ("%s: mounted at %s\n  daemon pid %d (up %lld s), %ld cage(s) running\n"
              "  profile %s, store mode %s, network %s, workspace view %s%s\n"
              "  %zu packages, closure of %zu store paths, %.1f MiB\n",
              pp.project, st.mountpoint, (int) st.pid, state_process_uptime (st.pid),
              agents_running (pp.state), st.profile, st.mode, st.network, st.view,
              st.scan ? ", content scan on" : "", cli_strv_len (st.packages),
              cli_strv_len (st.closure),
              (double) st.closure_bytes / 1048576.0);
      if (st.allow.n > 0)
        printf ("  the network allows (%zu):\n", st.allow.n);
      for (size_t i = 0; i < st.allow.n; i++)
        printf ("    %-40s %s\n", st.allow.v[i].text,
                st.allow.v[i].origin ? st.allow.v[i].origin : "");
      if (st.nix_daemon)
        printf ("  the host's nix-daemon socket inside%s\n",
                st.nix_daemon_unsandboxed ? " (unsandboxed: the daemon's builds may run on the "
                                            "host; --nix-daemon-unsandboxed)" : "");
      if (priv_own >= 0)
        printf ("  private store %s: %.1f MiB own, %.1f MiB shared with the host store "
                "(hard links)\n",
                priv_store, (double) priv_own / 1048576.0, (double) priv_shared / 1048576.0);
    }
  else if (stale)
    printf ("%s: stale mount (daemon gone); run: cagefs umount %s\n", pp.project, pp.project);
  else
    printf ("%s: not mounted\n", pp.project);
  if (have)
    state_free (&st);
  paths_free (&pp);
  return alive ? 0 : 1;
}
