/* daemon.c - start the FUSE session: fork, mount, report readiness to the
   waiting parent over a pipe, then serve with a multithreaded loop. */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "daemon.h"
#include "log.h"

extern char **environ;

int
daemon_unmount (const char *mnt, struct cage_error *err)
{
  if (geteuid () == 0)
    {
      if (umount2 (mnt, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return cage_error_set (err, errno, "unmount `%s`", mnt);
      return 0;
    }
  char *argv[] = { (char *) "fusermount3", (char *) "-u", (char *) "-z", (char *) "-q",
                   (char *) "--", (char *) mnt, NULL };
  pid_t pid;
  int rc = posix_spawnp (&pid, "fusermount3", NULL, NULL, argv, environ);
  if (rc != 0)
    return cage_error_set (err, rc, "run fusermount3 to unmount `%s` (apt-get install fuse3)", mnt);
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return cage_error_set (err, errno, "wait for fusermount3");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      if (!state_is_fuse_mount (mnt))
        return 0;
      return cage_error_set (err, 0, "fusermount3 -u -z `%s` failed", mnt);
    }
  return 0;
}

static void
send_msg (int fd, const char *msg)
{
  size_t len = strlen (msg);
  while (len > 0)
    {
      ssize_t n = write (fd, msg, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      msg += n;
      len -= (size_t) n;
    }
}

/* The last non-empty line of the daemon log, for error messages. */
static void
last_log_line (const char *log, char *buf, size_t size)
{
  buf[0] = '\0';
  autofclose FILE *f = fopen (log, "re");
  if (!f)
    return;
  char line[1024];
  while (fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\n")] = '\0';
      if (line[0])
        snprintf (buf, size, "%.500s", line);
    }
}

static unsigned
fd_budget (void)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0)
    {
      if (rl.rlim_cur < rl.rlim_max)
        {
          rl.rlim_cur = rl.rlim_max;
          setrlimit (RLIMIT_NOFILE, &rl);
        }
      rlim_t b = rl.rlim_cur / 4;
      return (unsigned) (b > 8192 ? 8192 : b < 64 ? 64 : b);
    }
  return 256;
}

/* In the child: everything up to and including the loop. */
static int
serve (const struct cage_config *cfg, const struct project_paths *pp, struct cage_state *st,
       int ready_fd, struct cage_error *err)
{
  umask (0);
  if (chdir ("/") < 0)
    return cage_error_set (err, errno, "chdir `/`");
  if (node_table_init (fd_budget ()) < 0)
    return cage_error_set (err, ENOMEM, "inode table");
  if (tree_build (&cagefs, cfg, pp, st, st->closure, err) < 0)
    return -1;

  char opts[256];
  snprintf (opts, sizeof opts, "fsname=cagefs,subtype=cagefs,default_permissions,nosuid,nodev%s",
            geteuid () == 0 ? ",allow_other" : "");
  char *argv[] = { (char *) "cagefs", (char *) "-o", opts, NULL };
  struct fuse_args args = FUSE_ARGS_INIT (3, argv);
  struct fuse_session *se = fuse_session_new (&args, &cagefs_ops, sizeof cagefs_ops, NULL);
  fuse_opt_free_args (&args);
  if (!se)
    return cage_error_set (err, 0, "create FUSE session (is fuse3 installed and /dev/fuse present?)");
  if (fuse_set_signal_handlers (se) != 0)
    {
      fuse_session_destroy (se);
      return cage_error_set (err, 0, "install signal handlers");
    }
  if (fuse_session_mount (se, pp->mnt) != 0)
    {
      char last[512];
      last_log_line (pp->log, last, sizeof last);
      fuse_remove_signal_handlers (se);
      fuse_session_destroy (se);
      const char *hint = strstr (last, "/dev/fuse")
                           ? "; /dev/fuse must be readable and writable by every user "
                             "(mode 0666, as Debian's udev rule sets it): chmod 0666 /dev/fuse"
                           : "";
      return cage_error_set (err, 0, "mount FUSE at `%s`: %s%s (see %s)", pp->mnt,
                             last[0] ? last : "failed", hint, pp->log);
    }
  st->pid = getpid ();
  if (state_write (pp->state_json, st, err) < 0)
    {
      fuse_session_unmount (se);
      fuse_remove_signal_handlers (se);
      fuse_session_destroy (se);
      return -1;
    }
  if (ready_fd >= 0)
    {
      send_msg (ready_fd, "R");
      close (ready_fd);
    }

  struct fuse_loop_config lc = { .clone_fd = 0, .max_idle_threads = 10 };
  int rc = fuse_session_loop_mt (se, &lc);
  fuse_session_unmount (se);
  fuse_remove_signal_handlers (se);
  fuse_session_destroy (se);

  /* Remove the state file if it is still ours. */
  struct cage_state cur;
  if (state_read (pp->state_json, &cur, NULL) == 0)
    {
      if (cur.pid == getpid ())
        unlink (pp->state_json);
      state_free (&cur);
    }
  node_table_destroy ();
  node_free_tree (cagefs.root);
  blacklist_free (&cagefs.blacklist);
  free (cagefs.store.allowed_top);
  close (cagefs.workspace.root_fd);
  close (cagefs.store.root_fd);
  close (cagefs.home.root_fd);
  return rc < 0 ? cage_error_set (err, -rc, "FUSE session loop") : 0;
}

static int
redirect_stdio (const char *log)
{
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int lfd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null < 0 || lfd < 0)
    return -1;
  if (dup2 (null, 0) < 0 || dup2 (lfd, 1) < 0 || dup2 (lfd, 2) < 0)
    return -1;
  close (null);
  close (lfd);
  return 0;
}

int
daemon_start (const struct cage_config *cfg, const struct project_paths *pp,
              struct cage_state *st, bool foreground, struct cage_error *err)
{
  if (foreground)
    return serve (cfg, pp, st, -1, err);

  int pfd[2];
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return cage_error_set (err, errno, "pipe");
  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return cage_error_set (err, errno, "fork the daemon");
    }
  if (pid == 0)
    {
      close (pfd[0]);
      /* Drop every inherited fd (the caller's project lock among them):
         the daemon outlives this command. */
      if (pfd[1] > 3)
        close_range (3, (unsigned) pfd[1] - 1, 0);
      close_range ((unsigned) pfd[1] + 1, ~0U, 0);
      struct cage_error cerr = { 0 };
      if (setsid () < 0 || redirect_stdio (pp->log) < 0)
        cage_error_set (&cerr, errno, "start the daemon (log `%s`)", pp->log);
      else
        {
          signal (SIGPIPE, SIG_IGN);
          fprintf (stderr, "cagefs: daemon %d serving %s at %s\n", (int) getpid (), pp->project,
                   pp->mnt);
          if (serve (cfg, pp, st, pfd[1], &cerr) == 0)
            _exit (0);
        }
      fprintf (stderr, "cagefs: error: %s\n", cerr.msg);
      send_msg (pfd[1], "E");
      send_msg (pfd[1], cerr.msg);
      _exit (1);
    }

  close (pfd[1]);
  autoclose int rfd = pfd[0];
  char buf[sizeof err->msg];
  size_t len = 0;
  for (;;)
    {
      ssize_t n = read (rfd, buf + len, sizeof buf - 1 - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
      if (len == sizeof buf - 1)
        break;
    }
  buf[len] = '\0';
  if (len > 0 && buf[0] == 'R')
    {
      /* The kernel's INIT is answered by now or will be on this stat. */
      struct stat sb;
      if (stat (pp->mnt, &sb) < 0)
        return cage_error_set (err, errno, "the new mount `%s` does not answer", pp->mnt);
      st->pid = pid;
      return 0;
    }
  int status;
  waitpid (pid, &status, 0);
  if (len > 1 && buf[0] == 'E')
    {
      snprintf (err->msg, sizeof err->msg, "%s", buf + 1);
      err->errnum = 0;
      return -1;
    }
  return cage_error_set (err, 0, "the daemon exited before the mount was ready; see %s", pp->log);
}
