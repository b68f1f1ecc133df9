/* cmd_umount.c - `cagefs umount PROJECT`: stop the daemon, detach the
   mount, remove the state.  Idempotent. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "hooks.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "state.h"
#include "cmd_umount.h"

static bool
gone (pid_t pid)
{
  return !state_pid_running (pid);
}

static void
wait_gone (pid_t pid, int ms)
{
  struct timespec ts = { 0, 20 * 1000 * 1000 };
  for (int i = 0; i < ms / 20 && !gone (pid); i++)
    nanosleep (&ts, NULL);
}

/* The project's cage.json for its hooks: a file that cannot be read now
   is a warning, never a reason not to unmount. */
static void
load_hooks (const struct project_paths *pp, struct cage_config *cfg)
{
  struct cage_error cerr = { 0 };
  config_init (cfg);
  if (config_load_project (cfg, pp->project, &cerr) < 0)
    {
      cage_warn ("umount hooks not run: %s", cerr.msg);
      config_free (cfg);
    }
}

int
project_umount (const struct project_paths *pp, bool *was_mounted, struct cage_error *err)
{
  *was_mounted = false;
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_state st;
  if (state_read (pp->state_json, &st, NULL) == 0)
    {
      if (state_daemon_alive (&st))
        {
          *was_mounted = true;
          load_hooks (pp, &cfg);
          hooks_run (&cfg, HOOK_PRE_UMOUNT, pp);
          if (kill (st.pid, SIGTERM) < 0 && errno != ESRCH)
            {
              cage_error_set (err, errno, "stop daemon %d", (int) st.pid);
              goto fail;
            }
          /* SIGTERM ends the session loop, which unmounts; detach it
             ourselves if the daemon is slow, then make sure it is gone. */
          wait_gone (st.pid, 3000);
          if (!gone (st.pid) && daemon_unmount (pp->mnt, err) < 0)
            goto fail;
          wait_gone (st.pid, 3000);
          if (!gone (st.pid))
            {
              kill (st.pid, SIGKILL);
              wait_gone (st.pid, 2000);
            }
        }
      state_free (&st);
    }
  if (project_clean_stale (pp, err) < 0)
    goto fail_cfg;
  if (state_is_fuse_mount (pp->mnt) || state_is_fuse_mount (pp->store_mnt)
      || state_is_fuse_mount (pp->ws_mnt))
    {
      cage_error_set (err, EBUSY, "`%s` is still mounted", pp->mnt);
      goto fail_cfg;
    }
  if (*was_mounted)
    hooks_run (&cfg, HOOK_POST_UMOUNT, pp);
  config_free (&cfg);
  return 0;

fail:
  state_free (&st);
fail_cfg:
  config_free (&cfg);
  return -1;
}

int
cmd_umount (int argc, char **argv)
{
  bool json;
  const char *project;
  int urc = cli_parse_project (argc, argv, "umount", &json, &project);
  if (urc != 0)
    return urc;

  struct cage_error err = { 0 };
  struct project_paths pp;
  if (paths_project (project, false, &pp, &err) < 0)
    {
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  int rc = 1;
  bool was_mounted = false;
  autoclose int lock = -1;
  if (access (pp.state, F_OK) == 0 && (lock = project_lock (&pp, &err)) < 0)
    goto out;
  if (project_umount (&pp, &was_mounted, &err) < 0)
    goto out;
  if (json)
    cli_print_json (json_pack ("{s:s, s:s, s:b}", "project", pp.project, "mountpoint", pp.mnt,
                               "was_mounted", was_mounted));
  else if (!was_mounted)
    printf ("%s: not mounted\n", pp.project);
  rc = 0;
out:
  if (rc != 0)
    cage_error_print (&err, "cagefs", json);
  paths_free (&pp);
  return rc;
}
