/* exec.c - one `cage exec`: plan, then three processes.

     outer cage   reads state.json, makes the plan, clones pid 1 into new
                  user/mount/pid/ipc/uts(/net) namespaces, writes its uid
                  and gid maps, lets it go, forwards signals, waits, and
                  exits with the agent's status;
     pid 1        sets up the root (mounts.c), hostname and lo, becomes
                  uid 1000 without capabilities, with no_new_privs and the
                  seccomp filter, forks the agent, then reaps (reaper.c)
                  until the agent exits;
     the agent    inherits all that, goes to /workspace, takes a clean
                  environment and execs the command.

   The processes in the cage cannot print (only main does): a failure
   there travels to the outer cage over the report pipe as a struct report
   and the process exits with the report's status.  The pipe is O_CLOEXEC,
   so the outer cage reads end-of-file once the command is running.  */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "egress_proto.h"
#include "launcher.h"
#include "log.h"
#include "paths.h"
#include "state.h"


extern char **environ;

/* ---- the outer cage ---------------------------------------------------- */

static pid_t
raw_clone (int flags)
{
  /* fork semantics (a copy of our stack), into new namespaces at once;
     glibc's clone() wants a new stack, fork() takes no flags. */
#if defined(__s390__) || defined(__CRIS__)
  return (pid_t) syscall (SYS_clone, 0L, (long) (flags | SIGCHLD), 0L, 0L, 0L);
#else
  return (pid_t) syscall (SYS_clone, (long) (flags | SIGCHLD), 0L, 0L, 0L, 0L);
#endif
}

/* Read a report, or end-of-file: returns the bytes read. */
static ssize_t
read_report (int fd, struct report *r)
{
  size_t got = 0;
  while (got < sizeof *r)
    {
      ssize_t n = read (fd, (char *) r + got, sizeof *r - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (size_t) n;
    }
  return (ssize_t) got;
}

/* The event pipes' read ends (CAGE_STDIO_EVENTS), closed on every path. */
struct event_pipes
{
  int fds[2][2];
};

static void
event_pipes_close (struct event_pipes *ep)
{
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      cage_closep (&ep->fds[i][j]);
}

/* After the command started: relay its pty or its events until it is
   done, then wait for pid 1.  *WSTATUS gets the agent's wait status
   when pid 1 sent it over SYNC, else pid 1's own.  */
static int
follow (struct cage_plan *plan, pid_t pid, int sync, struct event_pipes *ep,
        const struct timespec *started, int *wstatus, struct cage_error *err)
{
  int rc = 0;
  if (plan->stdio == CAGE_STDIO_PTY)
    {
      int master = pty_recv_fd (sync, err);
      if (master < 0 || pty_relay (master, pid, err) < 0)
        {
          kill (pid, SIGKILL);
          rc = -1;
        }
    }
  else if (plan->stdio == CAGE_STDIO_EVENTS)
    {
      rc = events_start (pid, namespaces_json (plan->clone_flags),
                         limits_plan_json (&plan->limits), err);
      if (rc == 0)
        {
          rc = events_relay (ep->fds[0][0], ep->fds[1][0], err);
          ep->fds[0][0] = ep->fds[1][0] = -1;
        }
      /* (a failed stdout: the command gets EPIPE; we still wait for it) */
    }
  int wrc = reaper_wait (pid, wstatus, rc < 0 ? NULL : err);
  if (rc < 0 || wrc < 0)
    return -1;
  int agent_status;
  if (recv (sync, &agent_status, sizeof agent_status, MSG_DONTWAIT) == (ssize_t) sizeof agent_status)
    *wstatus = agent_status;
  return 0;
}

/* Take pid 1's sockets (net.c) and register them with the egress proxy;
   then let pid 1 go on.  0 with *EGRESS -1 when pid 1 failed first (its
   report says why). */
static int
hand_over_network (const struct cage_plan *plan, pid_t pid, int sync, int *egress,
                   struct cage_error *err)
{
  int fds[NET_FDS (NET_MAX_PORTS)];
  size_t n = NET_FDS (plan->n_net_ports);
  int r = net_recv_fds (sync, fds, n, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  *egress = net_egress_register (plan->state_dir, pid, plan->net_ports, plan->n_net_ports, fds,
                                 err);
  net_close_fds (fds, n);
  if (*egress < 0)
    return -1;
  ssize_t s;
  do
    s = send (sync, "n", 1, MSG_NOSIGNAL);
  while (s < 0 && errno == EINTR);
  return 0;
}

static int
run (struct cage_plan *plan, int *exit_code, struct cage_error *err)
{
  *exit_code = CAGE_EXIT_FAILURE;
  /* The go signal, pid 1's lifeline, and its way back (the pty's master,
     the agent's status): a socket, so that sending to a dead pid 1 is
     EPIPE, not SIGPIPE.  */
  int p[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
    return cage_error_set (err, errno, "create a socket pair");
  autoclose int sync_rd = p[0], sync_wr = p[1];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return cage_error_set (err, errno, "create a pipe");
  autoclose int report_rd = p[0], report_wr = p[1];
  __attribute__ ((cleanup (event_pipes_close))) struct event_pipes ep
    = { { { -1, -1 }, { -1, -1 } } };
  if (plan->stdio == CAGE_STDIO_EVENTS)
    for (int i = 0; i < 2; i++)
      if (pipe2 (ep.fds[i], O_CLOEXEC) < 0)
        return cage_error_set (err, errno, "create a pipe for the command's %s",
                               i ? "stderr" : "stdout");
  memcpy (plan->event_fds, ep.fds, sizeof ep.fds);

  /* We must be able to wait for pid 1, and it for the agent. */
  if (signal (SIGCHLD, SIG_DFL) == SIG_ERR)
    return cage_error_set (err, errno, "reset SIGCHLD");
  /* Root's supplementary groups must not follow the agent. */
  if (geteuid () == 0 && userns_drop_groups (err) < 0)
    return -1;

  /* Block the forwarded signals until someone is there to take them. */
  sigset_t fwd, caller_mask;
  reaper_forwarded_set (&fwd);
  if (sigprocmask (SIG_BLOCK, &fwd, &caller_mask) < 0)
    return cage_error_set (err, errno, "block signals");

  fflush (stdout);
  fflush (stderr);
  struct timespec started;
  clock_gettime (CLOCK_MONOTONIC, &started);
  pid_t pid = raw_clone (plan->clone_flags);
  if (pid < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, &caller_mask, NULL);
      return userns_clone_error (e, err);
    }
  if (pid == 0)
    {
      close (sync_wr);
      close (report_rd);
      for (int i = 0; i < 2; i++)
        if (ep.fds[i][0] >= 0)
          close (ep.fds[i][0]);
      cage_init (plan, &caller_mask, sync_rd, report_wr);
    }
  cage_debug ("pid 1 of the cage is %d", (int) pid);
  cage_closep (&sync_rd);
  cage_closep (&report_wr);
  for (int i = 0; i < 2; i++)
    cage_closep (&ep.fds[i][1]);

  int wstatus;
  /* (limits: pid 1 enters its cgroups before it can fork anything) */
  if (reaper_forward_to (pid, err) < 0
      || userns_write_maps (pid, plan->map_uid, plan->map_gid, err) < 0
      || limits_cgroups_enter (&plan->limits, pid, err) < 0)
    {
      kill (pid, SIGKILL);
      reaper_wait (pid, &wstatus, NULL);
      limits_cgroups_remove (&plan->limits);
      sigprocmask (SIG_SETMASK, &caller_mask, NULL);
      return -1;
    }
  sigprocmask (SIG_SETMASK, &caller_mask, NULL);
  /* Go.  SYNC_WR stays open: pid 1 takes its end-of-file for our death. */
  ssize_t n;
  do
    n = send (sync_wr, "g", 1, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);

  /* Network "filtered": pid 1's sockets go to the daemon's egress proxy;
     EGRESS, held until pid 1 is gone, is the cage's network's life.  */
  autoclose int egress = -1;
  if (plan->net_filtered && hand_over_network (plan, pid, sync_wr, &egress, err) < 0)
    {
      kill (pid, SIGKILL);
      reaper_wait (pid, &wstatus, NULL);
      limits_cgroups_remove (&plan->limits);
      return -1;
    }

  /* End-of-file once the command runs (the pipe is close-on-exec), or a
     report of what failed. */
  struct report r;
  ssize_t got = read_report (report_rd, &r);
  reaper_ready ();
  if (plan->stdio != CAGE_STDIO_PTY && reaper_forward_stops (true, err) < 0)
    {
      kill (pid, SIGKILL);
      reaper_wait (pid, &wstatus, NULL);
      limits_cgroups_remove (&plan->limits);
      return -1;
    }
  int frc;
  if (got == (ssize_t) sizeof r || reaper_cancelled ())
    frc = reaper_wait (pid, &wstatus, err);
  else
    frc = follow (plan, pid, sync_wr, &ep, &started, &wstatus, err);
  limits_cgroups_remove (&plan->limits);
  if (frc < 0)
    return -1;
  if (got == (ssize_t) sizeof r)
    {
      *err = r.err;
      err->msg[sizeof err->msg - 1] = '\0';
      *exit_code = r.exit_code;
      return -1;
    }
  int sig = reaper_cancelled ();
  if (sig)
    wstatus = sig; /* (as if killed by it) */
  *exit_code = reaper_exit_code (wstatus);
  cage_info ("the cage exited with status %d", *exit_code);
  if (plan->stdio == CAGE_STDIO_EVENTS && events_exit (wstatus, &started, err) < 0)
    return -1;
  return 0;
}

int
cage_exec (const struct exec_options *opts, int *exit_code, json_t **plan_json_out,
           struct cage_error *err)
{
  *exit_code = CAGE_EXIT_FAILURE;
  struct cage_plan plan;
  if (plan_build (opts, &plan, err) < 0)
    return -1;
  int rc;
  if (opts->dry_run)
    {
      *plan_json_out = plan_json (&plan);
      rc = *plan_json_out ? 0 : cage_error_set (err, ENOMEM, "describe the plan");
      if (rc == 0)
        *exit_code = 0;
    }
  else
    {
      /* The filter is compiled (or read from the state root's cache)
         here, before the cage exists: pid 1 only loads it. */
      struct cage_error ignored = { 0 };
      autofree char *cache_dir = paths_state_root (&ignored);
      rc = cage_seccomp_prepare (&plan.seccomp, cache_dir, &plan.seccomp_prog, err);
      if (rc == 0)
        {
          char agent_file[4096];
          agents_register (plan.project, agent_file, sizeof agent_file); /* best effort */
          rc = run (&plan, exit_code, err);
          agents_unregister (agent_file);
        }
    }
  plan_free (&plan);
  return rc;
}
