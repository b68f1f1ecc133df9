/* reaper.c - signals in, statuses out.

   Two processes use this: the outer cage (forwards to pid 1 and waits for
   it) and pid 1 of the cage (forwards to the agent, reaps every orphan,
   and exits with the agent's status once the agent is gone; the kernel
   then kills whatever is left in the pid namespace).

   The cage is a session of its own (pid 1 calls setsid), so a signal the
   caller's terminal sends to its foreground process group (^C, ^\, ^Z, a
   hang-up: si_code SI_KERNEL) reaches the outer cage only.  The outer
   cage passes such a signal on with sigqueue and the value GROUP_MARK,
   and pid 1 sends a signal so marked to the agent's whole process group,
   as the terminal would have.  Any other signal goes to the agent alone. */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "launcher.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* sigqueue's value for "the terminal's signal: to the agent's group". */
#define GROUP_MARK 0x63616765 /* "cage" */

static const int stops[] = { SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT };

static volatile sig_atomic_t forward_pid;
static volatile sig_atomic_t ready;
static volatile sig_atomic_t cancelled;

void
reaper_forwarded_set (sigset_t *set)
{
  sigemptyset (set);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaddset (set, forwarded[i]);
}

int
reaper_exit_code (int wstatus)
{
  if (WIFEXITED (wstatus))
    return WEXITSTATUS (wstatus);
  if (WIFSIGNALED (wstatus))
    return 128 + WTERMSIG (wstatus);
  return CAGE_EXIT_FAILURE;
}

static void
on_signal (int sig, siginfo_t *si, void *ucontext)
{
  int saved = errno;
  pid_t pid = (pid_t) forward_pid;
  if (pid > 0)
    {
      if (!ready)
        {
          /* Nothing runs that could handle it: give up on the cage. */
          if (!cancelled)
            cancelled = sig;
          kill (pid, SIGKILL);
        }
      else if (si->si_code == SI_KERNEL)
        /* (outer cage) the caller's terminal signalled our process group,
           which holds nothing of the cage: pass it on as the terminal's */
        sigqueue (pid, sig, (union sigval){ .sival_int = GROUP_MARK });
      else if (si->si_code == SI_QUEUE && si->si_value.sival_int == GROUP_MARK)
        {
          /* (pid 1) the terminal's signal: the agent's process group */
          if (kill (-pid, sig) < 0)
            kill (pid, sig);
        }
      else
        kill (pid, sig);
    }
  errno = saved;
}

/* The outer cage of `cage exec`: a stop from the terminal (or anyone)
   stops the cage's agent group too, then us; a SIGCONT (the shell's `fg`)
   continues both.  */
static void
on_stop (int sig, siginfo_t *si, void *ucontext)
{
  int saved = errno;
  pid_t pid = (pid_t) forward_pid;
  if (pid > 0)
    sigqueue (pid, sig, (union sigval){ .sival_int = GROUP_MARK });
  if (sig != SIGCONT)
    raise (SIGSTOP);
  errno = saved;
}

int
reaper_forward_stops (bool outer, struct cage_error *err)
{
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_sigaction = outer ? on_stop : on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset (&sa.sa_mask);
  for (size_t i = 0; i < sizeof stops / sizeof *stops; i++)
    if (sigaction (stops[i], &sa, NULL) < 0)
      return cage_error_set (err, errno, "install a handler for signal %d", stops[i]);
  return 0;
}

int
reaper_forward_to (pid_t pid, struct cage_error *err)
{
  forward_pid = (sig_atomic_t) pid;
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset (&sa.sa_mask);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    if (sigaction (forwarded[i], &sa, NULL) < 0)
      return cage_error_set (err, errno, "install a handler for signal %d", forwarded[i]);
  return 0;
}

void
reaper_ready (void)
{
  ready = 1;
}

int
reaper_cancelled (void)
{
  return (int) cancelled;
}

int
reaper_wait (pid_t pid, int *wstatus, struct cage_error *err)
{
  for (;;)
    {
      pid_t r = waitpid (pid, wstatus, 0);
      if (r == pid)
        return 0;
      if (r < 0 && errno != EINTR)
        return cage_error_set (err, errno, "wait for process %d", (int) pid);
    }
}

int
reaper_run (pid_t agent)
{
  for (;;)
    {
      int wstatus;
      pid_t r = waitpid (-1, &wstatus, 0);
      if (r == agent)
        return wstatus;
      if (r < 0 && errno != EINTR)
        return CAGE_EXIT_FAILURE << 8; /* ECHILD: cannot happen while AGENT lives */
    }
}
