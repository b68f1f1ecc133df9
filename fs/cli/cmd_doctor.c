/* cmd_doctor.c - `cagefs doctor [PROJECT] [--json]`: does this machine
   have what the invoking user's cages need?  One line per check ("ok",
   "warn" or "fail", its name, what was found and, for a problem, the fix);
   exit 0 when nothing failed, 1 otherwise.  The checks are in doctor.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"
#include "doctor.h"
#include "error.h"
#include "log.h"

#define MAX_CHECKS 16

int
cmd_doctor (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false;
  int o;
  optind = 1;
  while ((o = getopt_long (argc, argv, "jvh", opts, NULL)) != -1)
    {
      if (o == 'j')
        json = true;
      else if (o == 'v')
        cage_log_verbose++;
      else if (o == 'h')
        {
          printf ("usage: cagefs doctor [PROJECT] [--json] [-v]\n");
          return 0;
        }
      else
        return cli_bad_option ("doctor", argv);
    }
  if (argc - optind > 1)
    return cli_usage_error ("doctor", "expected at most one PROJECT directory");
  const char *project = optind < argc ? argv[optind] : NULL;

  struct doctor_env env;
  doctor_env_real (&env);
  struct doctor_check checks[MAX_CHECKS];
  size_t n = 0;
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  bool have_cfg = false, cfg_failed = false;
  if (project)
    {
      if (config_load_project (&cfg, project, &err) < 0)
        cfg_failed = true;
      else
        {
          config_apply_profile (&cfg);
          have_cfg = true;
        }
    }

  size_t cap = 0;
  doctor_userns_settings (&env, &checks[n++]);
  doctor_userns_probe (&env, &checks[n++]);
  doctor_fuse_device (&env, &checks[n++]);
  doctor_fusermount (&env, &checks[n++]);
  doctor_nix_store (&env, &checks[n++]);
  doctor_nix_daemon (&env, have_cfg && cfg.nix_daemon, &checks[n++]);
  doctor_cgroup (&env, &checks[n++]);
  doctor_inotify (&env, &cap, &checks[n++]);
  if (project)
    doctor_project_watches (project, cap, &checks[n++]);
  doctor_io_uring (&env, &checks[n++]);
  doctor_libfuse (&checks[n++]);
  doctor_seccomp (&checks[n++]);
  if (cfg_failed)
    {
      struct doctor_check *c = &checks[n++];
      *c = (struct doctor_check) { .name = "config", .status = DOCTOR_FAIL };
      snprintf (c->detail, sizeof c->detail, "%.1000s", err.msg);
    }
  else if (have_cfg)
    doctor_network (&cfg, &checks[n++]);
  config_free (&cfg);

  bool ok = true;
  for (size_t i = 0; i < n; i++)
    ok = ok && checks[i].status != DOCTOR_FAIL;
  if (json)
    {
      json_t *a = json_array ();
      for (size_t i = 0; a && i < n; i++)
        json_array_append_new (a, doctor_json (&checks[i]));
      cli_print_json (json_pack ("{s:b, s:o}", "ok", ok, "checks", a));
    }
  else
    {
      char line[2048];
      for (size_t i = 0; i < n; i++)
        {
          doctor_format (&checks[i], line, sizeof line);
          puts (line);
        }
      fflush (stdout);
    }
  return ok ? 0 : 1;
}
