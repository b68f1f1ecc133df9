/* reaper.c - signals in, statuses out.

   Two processes use this: the outer cage (forwards to pid 1 and waits for
   it) and pid 1 of the cage (forwards to the agent, reaps every orphan,
   and exits with the agent's status once the agent is gone; the kernel
   then kills whatever is left in the pid namespace).  */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "launcher.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

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
      else if (si->si_code != SI_KERNEL)
        /* SI_KERNEL: a terminal signalled our whole process group, the
           cage's processes included; sending it again would double it. */
        kill (pid, sig);
    }
  errno = saved;
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
