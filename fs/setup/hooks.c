/* hooks.c - run cage.json's lifecycle hooks (see hooks.h). */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

/* What the child failed to do before exec, sent up a CLOEXEC pipe. */
struct child_failure
{
  int errnum;
  char what[64];
};

static void __attribute__ ((noreturn))
child_fail (int fd, int errnum, const char *what)
{
  struct child_failure f = { .errnum = errnum };
  snprintf (f.what, sizeof f.what, "%s", what);
  ssize_t n = write (fd, &f, sizeof f);
  (void) n;
  _exit (127);
}

static void __attribute__ ((noreturn))
child (int fd, const char *name, const char *cmd, const struct project_paths *pp)
{
  int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0)
    child_fail (fd, errno, "open /dev/null");
  if (dup2 (null, STDIN_FILENO) < 0 || dup2 (STDERR_FILENO, STDOUT_FILENO) < 0)
    child_fail (fd, errno, "redirect stdin and stdout");
  if (chdir (pp->project) < 0)
    child_fail (fd, errno, "enter the project folder");
  if (setenv ("CAGEFS_PROJECT", pp->project, 1) < 0
      || setenv ("CAGEFS_MOUNTPOINT", pp->mnt, 1) < 0
      || setenv ("CAGEFS_STATE_DIR", pp->state, 1) < 0 || setenv ("CAGEFS_HOOK", name, 1) < 0)
    child_fail (fd, errno, "set its environment");
  /* A hook starts with the default dispositions and an empty mask. */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  execl ("/bin/sh", "sh", "-c", cmd, (char *) NULL);
  child_fail (fd, errno, "run /bin/sh");
}

int
hooks_run (const struct cage_config *cfg, enum hook_kind h, const struct project_paths *pp)
{
  const char *cmd = cfg->hooks[h];
  const char *name = config_hook_name (h);
  if (!cmd)
    return 0;
  cage_info ("running the %s hook: %s", name, cmd);
  int pfd[2];
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    {
      cage_warn ("%s hook not run: pipe: %s; going on", name, strerror (errno));
      return -1;
    }
  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (pfd[0]);
      close (pfd[1]);
      cage_warn ("%s hook not run: fork: %s; going on", name, strerror (e));
      return -1;
    }
  if (pid == 0)
    {
      close (pfd[0]);
      child (pfd[1], name, cmd, pp);
    }
  close (pfd[1]);
  autoclose int rfd = pfd[0];
  struct child_failure f;
  ssize_t n;
  do
    n = read (rfd, &f, sizeof f);
  while (n < 0 && errno == EINTR);

  int status;
  pid_t w;
  do
    w = waitpid (pid, &status, 0);
  while (w < 0 && errno == EINTR);
  if (w < 0)
    {
      cage_warn ("%s hook: wait for process %d: %s; going on", name, (int) pid, strerror (errno));
      return -1;
    }
  if (n == (ssize_t) sizeof f)
    {
      f.what[sizeof f.what - 1] = '\0';
      cage_warn ("%s hook not run: %s in `%s`: %s; going on", name, f.what, pp->project,
                 strerror (f.errnum));
      return -1;
    }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status))
    cage_warn ("%s hook failed with exit status %d; going on", name, WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    cage_warn ("%s hook was killed by signal %d (%s); going on", name, WTERMSIG (status),
               strsignal (WTERMSIG (status)));
  else
    cage_warn ("%s hook failed (wait status %#x); going on", name, (unsigned) status);
  return -1;
}
