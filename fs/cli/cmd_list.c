/* cmd_list.c - `cagefs list [--json]`: every project with state. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "state_dirs.h"

static json_t *
session_json (const struct state_dir *s)
{
  json_t *o = json_object ();
  if (!o)
    return NULL;
  json_object_set_new (o, "project", s->project ? json_string (s->project) : json_null ());
  json_object_set_new (o, "state", json_string (session_state_name (s->state)));
  json_object_set_new (o, "mounted", json_boolean (s->state == SESSION_MOUNTED));
  json_object_set_new (o, "stale", json_boolean (s->state == SESSION_STALE));
  json_object_set_new (o, "mode", s->mode ? json_string (s->mode) : json_null ());
  json_object_set_new (o, "pid", s->pid ? json_integer (s->pid) : json_null ());
  json_object_set_new (o, "mountpoint", json_string (s->mountpoint));
  json_object_set_new (o, "state_dir", json_string (s->state_dir));
  json_object_set_new (o, "project_exists", json_boolean (s->project_exists));
  return o;
}

int
cmd_list (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false;
  int c;
  optind = 1;
  opterr = 0; /* one error line, ours */
  while ((c = getopt_long (argc, argv, "jvh", opts, NULL)) != -1)
    {
      if (c == 'j')
        json = true;
      else if (c == 'v')
        cage_log_verbose++;
      else if (c == 'h')
        {
          printf ("usage: cagefs list [--json]\n"
                  "every project with state: mounted, stale or not mounted\n");
          return 0;
        }
      else
        return cli_usage_error ("list", "unknown option `%s`", argv[optind - 1]);
    }
  if (optind != argc)
    return cli_usage_error ("list", "takes no PROJECT (it lists them all)");

  struct cage_error err = { 0 };
  struct state_dir *v;
  size_t n;
  if (state_dirs_list (&v, &n, &err) < 0)
    {
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  if (json)
    {
      json_t *a = json_array ();
      for (size_t i = 0; a && i < n; i++)
        json_array_append_new (a, session_json (&v[i]));
      cli_print_json (json_pack ("{s:o}", "projects", a));
    }
  else if (n == 0)
    printf ("no projects with state\n");
  else
    {
      printf ("%-11s  %-8s  %7s  %s  %s\n", "STATE", "MODE", "PID", "PROJECT", "MOUNT POINT");
      for (size_t i = 0; i < n; i++)
        {
          const struct state_dir *s = &v[i];
          char pid[16] = "-";
          if (s->pid)
            snprintf (pid, sizeof pid, "%d", (int) s->pid);
          printf ("%-11s  %-8s  %7s  %s%s  %s\n", session_state_name (s->state),
                  s->mode ? s->mode : "-", pid, s->project ? s->project : "(unknown project)",
                  s->project && !s->project_exists ? " (folder gone)" : "", s->mountpoint);
        }
    }
  state_dirs_free (v, n);
  return 0;
}
