/* cage_init.c - the processes in the cage: pid 1 (sets up the root,
   hostname and lo, drops to the agent's uid with no capabilities,
   no_new_privs and the seccomp filter, forks the agent, then reaps) and
   the agent (goes to /workspace, takes a clean environment and execs the
   command).  They cannot print: a failure travels to the outer cage over
   the report pipe (struct report, launcher.h). */
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

/* ---- processes in the cage ------------------------------------------- */

static _Noreturn void
report_exit (int fd, int exit_code, const struct cage_error *err)
{
  struct report r;
  memset (&r, 0, sizeof r);
  r.exit_code = exit_code;
  r.err = *err;
  ssize_t n;
  do
    n = write (fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  _exit (exit_code);
}

/* A failed system call in the cage: WHAT failed, errno says why. */
static _Noreturn void
report_errno_exit (int fd, const char *what)
{
  struct cage_error err = { 0 };
  cage_error_set (&err, errno, "%s", what);
  report_exit (fd, CAGE_EXIT_FAILURE, &err);
}

/* close_range, or a loop where the kernel lacks it (before 5.9). */
static int
close_fds (unsigned lo, unsigned hi)
{
  if (close_range (lo, hi, 0) == 0)
    return 0;
  if (errno != ENOSYS)
    return -1;
  long max = sysconf (_SC_OPEN_MAX);
  if (max < 0 || max > 65536)
    max = 65536;
  for (unsigned fd = lo; fd <= hi && fd < (unsigned) max; fd++)
    close ((int) fd);
  return 0;
}

/* Close every fd but 0, 1, 2 and the N in KEEP (-1 ignored): the
   caller's open files (a directory fd would be a way out of the cage) stay
   outside.  */
static int
close_other_fds (const int *keep, size_t n, struct cage_error *err)
{
  unsigned lo = 3;
  for (;;)
    {
      /* the lowest kept fd at or above LO */
      unsigned next = ~0U;
      for (size_t i = 0; i < n; i++)
        if (keep[i] >= 0 && (unsigned) keep[i] >= lo && (unsigned) keep[i] < next)
          next = (unsigned) keep[i];
      if (next == ~0U)
        break;
      if (next > lo && close_fds (lo, next - 1) < 0)
        return cage_error_set (err, errno, "close inherited files (close_range)");
      lo = next + 1;
    }
  if (close_fds (lo, ~0U) < 0)
    return cage_error_set (err, errno, "close inherited files (close_range)");
  return 0;
}

/* Open /dev/null of the cage onto each of FIRST..LAST. */
static int
stdio_to_null (int first, int last, struct cage_error *err)
{
  int fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return cage_error_set (err, errno, "open `/dev/null` in the cage");
  for (int i = first; i <= last; i++)
    if (dup2 (fd, i) < 0)
      {
        int e = errno;
        close (fd);
        return cage_error_set (err, e, "open `/dev/null` in the cage as fd %d", i);
      }
  close (fd);
  return 0;
}

/* The shell `cage shell` runs: the first of PLAN->shells that is a
   program in the cage.  */
static const char *
pick_shell (const struct cage_plan *plan)
{
  for (size_t i = 0; i < sizeof plan->shells / sizeof *plan->shells; i++)
    if (plan->shells[i] && access (plan->shells[i], X_OK) == 0)
      return plan->shells[i];
  return "/bin/sh";
}

/* Give up every privilege, for good: pid 1 does this once the root is
   set up, before it forks the agent, so neither holds anything (when root
   invokes, pid 1 would otherwise keep host uid 0).  The order matters:
   dropping the bounding set needs CAP_SETPCAP, the ids need CAP_SETUID and
   CAP_SETGID, and the filter goes last (it denies nothing used here).  */
static int
drop_privileges (const struct cage_plan *plan, struct cage_error *err)
{
  if (caps_drop_bounding (err) < 0 || caps_lock_securebits (err) < 0
      || userns_become_agent (err) < 0 || caps_clear_all (err) < 0)
    return -1;
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return cage_error_set (err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return cage_seccomp_install (&plan->seccomp_prog, err);
}

/* The agent's stdio in its mode: the pty SLAVE as controlling terminal
   (a session of its own), or the event pipes as stdout and stderr.  */
static int
agent_stdio (const struct cage_plan *plan, int slave, struct cage_error *err)
{
  if (plan->stdio == CAGE_STDIO_PTY)
    return pty_make_controlling (slave, err);
  if (plan->stdio == CAGE_STDIO_EVENTS)
    for (int i = 0; i < 2; i++)
      {
        if (dup2 (plan->event_fds[i][1], 1 + i) < 0)
          return cage_error_set (err, errno, "make the %s pipe fd %d", i ? "stderr" : "stdout",
                                 1 + i);
        close (plan->event_fds[i][1]);
      }
  return 0;
}

/* The agent: pid 2 of the cage, forked by pid 1 after drop_privileges.
   SLAVE: the pty's slave (CAGE_STDIO_PTY), else -1.  Never returns.  */
static _Noreturn void
agent_exec (struct cage_plan *plan, const sigset_t *caller_mask, int report_fd, int slave)
{
  struct cage_error err = { 0 };
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    report_errno_exit (report_fd, "prctl(PR_SET_PDEATHSIG)");
  /* A process group of its own (cage shell: a session, agent_stdio), the
     one pid 1 passes the terminal's signals to (pid 1 does the same from
     its side: whichever runs first). */
  if (plan->stdio != CAGE_STDIO_PTY && setpgid (0, 0) < 0)
    report_errno_exit (report_fd, "put the agent in a process group of its own (setpgid)");
  if (agent_stdio (plan, slave, &err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);
  if (chdir (CAGE_WORKDIR) < 0)
    report_errno_exit (report_fd, "chdir `" CAGE_WORKDIR "` in the cage");
  if (limits_apply_rlimits (&plan->limits, &err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);

  char *shell_argv[3];
  char **argv = plan->argv;
  if (!argv)
    {
      /* A login shell; SHELL names it. */
      const char *sh = pick_shell (plan);
      shell_argv[0] = (char *) sh;
      shell_argv[1] = (char *) "-l";
      shell_argv[2] = NULL;
      argv = shell_argv;
      static char shell_env[4096];
      snprintf (shell_env, sizeof shell_env, "SHELL=%s", sh);
      for (char **e = plan->envp; *e; e++)
        if (strncmp (*e, "SHELL=", 6) == 0)
          *e = shell_env; /* (this copy of the plan is ours: never freed) */
    }
  /* execvp searches the PATH of this environment: the cage's /bin. */
  environ = plan->envp;
  if (sigprocmask (SIG_SETMASK, caller_mask, NULL) < 0)
    report_errno_exit (report_fd, "restore the signal mask");
  execvp (argv[0], argv);
  int e = errno;
  cage_error_set (&err, e, "cannot run `%s` in the cage%s", argv[0],
                  e == ENOENT && !strchr (argv[0], '/') ? " (PATH=/bin)" : "");
  report_exit (report_fd, e == ENOENT ? CAGE_EXIT_NOT_FOUND : CAGE_EXIT_CANNOT_RUN, &err);
}

/* Overwrite our command line, which the agent can read in
   /proc/1/cmdline: it names host paths (the project's, cage's) that the
   cage otherwise hides.  Only when the strings are contiguous, as the
   kernel lays them out.  */
static void
hide_cmdline (char **argv)
{
  if (!argv || !argv[0])
    return;
  char *start = argv[0], *end = argv[0];
  for (char **a = argv; *a; a++)
    {
      if (*a != end)
        return;
      end = *a + strlen (*a) + 1;
    }
  size_t len = (size_t) (end - start);
  memset (start, 0, len);
  memcpy (start, "cage-init", len - 1 < 9 ? len - 1 : 9);
  prctl (PR_SET_NAME, "cage-init", 0, 0, 0);
}

/* Get SIGKILL when the outer cage dies, and die now if it already has.
   LIFELINE is our end of a socket pair whose other end only the outer
   cage holds: POLLHUP means it is gone.  Needed again after every credential
   change (setfsuid too): the kernel then forgets the death signal. */
static int
die_with_parent (int lifeline, struct cage_error *err)
{
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return cage_error_set (err, errno, "prctl(PR_SET_PDEATHSIG)");
  struct pollfd pfd = { .fd = lifeline, .events = POLLIN };
  int n;
  do
    n = poll (&pfd, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return cage_error_set (err, errno, "poll the outer cage's socket");
  if (n > 0 && (pfd.revents & (POLLHUP | POLLERR)))
    _exit (CAGE_EXIT_FAILURE); /* nobody is left to tell */
  return 0;
}

/* Network "filtered": make the sockets the egress proxy serves, hand them
   to the outer cage (which gives them to the daemon) and wait until the
   daemon has them: the agent never runs with a network nobody serves.  */
static void
filtered_network (const struct cage_plan *plan, int sync_fd, int report_fd)
{
  struct cage_error err = { 0 };
  int fds[NET_FDS (NET_MAX_PORTS)];
  size_t n = NET_FDS (plan->n_net_ports);
  if (net_filtered_sockets (plan->net_ports, plan->n_net_ports, fds, &err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);
  int rc = net_send_fds (sync_fd, "n", 1, fds, n, &err);
  net_close_fds (fds, n);
  if (rc < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);
  char ok;
  ssize_t r;
  do
    r = read (sync_fd, &ok, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1 || ok != 'n')
    _exit (CAGE_EXIT_FAILURE); /* the outer cage reports why */
}

/* Pid 1 of the cage.  Never returns.  */
_Noreturn void
cage_init (struct cage_plan *plan, const sigset_t *caller_mask, int sync_fd, int report_fd)
{
  struct cage_error err = { 0 };
  /* A session of our own, without a controlling terminal: kill(0, SIG)
     and kill(-PGID, SIG) in the cage then reach nothing of the caller's
     process group, and TIOCSTI (filtered anyway) has no terminal to push
     into; the terminal's signals come through the outer cage (reaper.c). */
  if (setsid () < 0)
    report_errno_exit (report_fd, "start the cage's own session (setsid)");
  /* The outer cage is our only link to the caller: die with it. */
  const int keep[] = { sync_fd, report_fd, plan->event_fds[0][1], plan->event_fds[1][1] };
  if (die_with_parent (sync_fd, &err) < 0
      || close_other_fds (keep, sizeof keep / sizeof *keep, &err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);

  /* Wait for the uid/gid maps.  End-of-file: the outer cage failed (and
     reports it) or died. */
  char go;
  ssize_t n;
  do
    n = read (sync_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit (CAGE_EXIT_FAILURE);

  if (mounts_setup_root (plan, &err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);
  if (sethostname (CAGE_HOSTNAME, strlen (CAGE_HOSTNAME)) < 0)
    report_errno_exit (report_fd, "set the hostname");
  if (plan->new_net && net_lo_up (&err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);
  if (plan->net_filtered)
    filtered_network (plan, sync_fd, report_fd);
  /* (after the last credential change: re-arm the death signal) */
  if (drop_privileges (plan, &err) < 0 || die_with_parent (sync_fd, &err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);
  /* The agent shares our uid now: keep it out of our /proc files. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    report_errno_exit (report_fd, "prctl(PR_SET_DUMPABLE)");

  /* cage shell: the pty, opened as the agent (it owns the slave); the
     master goes out to the outer cage.  Nothing in the cage keeps the
     caller's terminal, and nothing in it keeps the event stream.  */
  int master = -1, slave = -1;
  if (plan->stdio == CAGE_STDIO_PTY
      && (pty_open (&plan->winsize, &master, &slave, &err) < 0
          || pty_send_fd (sync_fd, master, &err) < 0 || stdio_to_null (0, 2, &err) < 0))
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);
  if (master >= 0)
    close (master);
  if (plan->stdio == CAGE_STDIO_EVENTS && stdio_to_null (1, 2, &err) < 0)
    report_exit (report_fd, CAGE_EXIT_FAILURE, &err);

  /* A signal that came during the set-up (a terminal's ^C reaches us
     directly) cancels the run: the agent has not started to receive it. */
  sigset_t fwd, pending;
  reaper_forwarded_set (&fwd);
  if (sigpending (&pending) == 0)
    for (int sig = 1; sig < NSIG; sig++)
      if (sigismember (&fwd, sig) && sigismember (&pending, sig))
        _exit (128 + sig);

  /* Signals stay blocked until the agent has been forked and our handlers
     are in place; the agent keeps the caller's dispositions.  */
  pid_t agent = fork ();
  if (agent < 0)
    report_errno_exit (report_fd, "fork the agent");
  if (agent == 0)
    agent_exec (plan, caller_mask, report_fd, slave);
  /* (errors ignored: the agent's own setpgid is the one that must work;
     this one only closes the race with a signal, and fails with EACCES
     once the agent has exec'd, ESRCH once it is gone) */
  if (plan->stdio != CAGE_STDIO_PTY)
    (void) setpgid (agent, agent);
  close (report_fd);
  if (slave >= 0)
    close (slave);
  for (int i = 0; i < 2; i++)
    if (plan->event_fds[i][1] >= 0)
      close (plan->event_fds[i][1]);
  hide_cmdline (plan->proc_argv); /* (the agent's argv points into it) */
  if (reaper_forward_to (agent, &err) < 0
      || (plan->stdio != CAGE_STDIO_PTY && reaper_forward_stops (false, &err) < 0))
    {
      kill (agent, SIGKILL);
      _exit (CAGE_EXIT_FAILURE);
    }
  reaper_ready ();
  sigprocmask (SIG_UNBLOCK, &fwd, NULL);
  int wstatus = reaper_run (agent);
  /* The agent's own wait status, for the exit event (ours cannot say
     "killed by signal N": pid 1 of a namespace only exits).  */
  ssize_t sent;
  do
    sent = send (sync_fd, &wstatus, sizeof wstatus, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  _exit (reaper_exit_code (wstatus));
}

