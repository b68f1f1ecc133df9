/* cmd_status.c - `cagefs status PROJECT`: is it mounted, and how. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "node.h"
#include "paths.h"
#include "state.h"

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
  bool alive = have && state_daemon_alive (&st);
  bool stale = (have && !alive) || (!have && state_is_fuse_mount (pp.mnt));
  if (json)
    {
      json_t *o = json_pack ("{s:s, s:b, s:b, s:s, s:s}", "project", pp.project, "mounted", alive,
                             "stale", stale, "mountpoint", pp.mnt, "state_dir", pp.state);
      if (have)
        {
          json_object_set_new (o, "pid", json_integer (st.pid));
          json_object_set_new (o, "mode", json_string (st.mode));
          json_object_set_new (o, "network", json_string (st.network));
          json_object_set_new (o, "user", json_string (st.user));
          json_object_set_new (o, "home", json_string (st.home));
          json_object_set_new (o, "packages", cli_strv_json (st.packages));
          json_object_set_new (o, "closure", cli_strv_json (st.closure));
        }
      cli_print_json (o);
    }
  else if (alive)
    printf ("%s: mounted at %s\n  daemon pid %d, store mode %s, network %s\n"
            "  %zu packages, closure of %zu store paths\n",
            pp.project, st.mountpoint, (int) st.pid, st.mode, st.network, cli_strv_len (st.packages),
            cli_strv_len (st.closure));
  else if (stale)
    printf ("%s: stale mount (daemon gone); run: cagefs umount %s\n", pp.project, pp.project);
  else
    printf ("%s: not mounted\n", pp.project);
  if (have)
    state_free (&st);
  paths_free (&pp);
  return alive ? 0 : 1;
}
