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

static json_t *
strv_json (char **v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

static size_t
strv_len (char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

int
cmd_status (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "jv", opts, NULL)) != -1)
    {
      if (c == 'j')
        json = true;
      else if (c == 'v')
        cage_log_verbose++;
      else
        return cli_usage_error ("status", "bad option");
    }
  if (optind != argc - 1)
    return cli_usage_error ("status", "expected exactly one PROJECT directory");

  struct cage_error err = { 0 };
  struct project_paths pp;
  if (paths_project (argv[optind], false, &pp, &err) < 0)
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
          json_object_set_new (o, "packages", strv_json (st.packages));
          json_object_set_new (o, "closure", strv_json (st.closure));
        }
      cli_print_json (o);
    }
  else if (alive)
    printf ("%s: mounted at %s\n  daemon pid %d, store mode %s, network %s\n"
            "  %zu packages, closure of %zu store paths\n",
            pp.project, st.mountpoint, (int) st.pid, st.mode, st.network, strv_len (st.packages),
            strv_len (st.closure));
  else if (stale)
    printf ("%s: stale mount (daemon gone); run: cagefs umount %s\n", pp.project, pp.project);
  else
    printf ("%s: not mounted\n", pp.project);
  if (have)
    state_free (&st);
  paths_free (&pp);
  return alive ? 0 : 1;
}
