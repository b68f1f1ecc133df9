/* daemon.c - start the FUSE session: fork, mount, report readiness to the
   waiting parent over a pipe, then serve with a multithreaded loop. */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
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

#include "agent_repos.h"
#include "audit.h"
#include "cleanup.h"
#include "cow.h"
#include "daemon.h"
#include "ops.h"
#include "tree.h"
#include "hidden_inodes.h"
#include "control.h"
#include "egress.h"
#include "host_watch.h"
#include "quota.h"
#include "scan_cache.h"
#include "tracked.h"
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
    return cage_error_set (err, rc, "run fusermount3 to unmount `%s` (apt-get install fuse3; "
                           "run `cagefs doctor`)", mnt);
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

/* Three sessions, each its own FUSE connection:
   - the root tree (<state>/mnt), the cage's /: the small synthetic tree and,
     for the host side, the views.  Without default_permissions: every
     change to the synthetic tree reaches the daemon, which refuses it
     (EROFS) and logs it.  In the cage the views are covered by their own
     sessions' binds; what the root session still serves there is the
     synthetic tree (world-readable) and the read-only host home view,
     which shows only world-readable entries when the agent is not the
     daemon's user (visibility.h).
   - the workspace (<state>/workspace, bound at /workspace by the
     launcher), with default_permissions: the kernel checks the project's
     modes against the agent.
   - the store (<state>/store, bound at /nix/store).  In the non-writable
     store modes (readonly, shared, isolated) without default_permissions,
     so every change reaches the daemon, which refuses it with EROFS and
     logs it (ops.c), and decides readability itself (only world-readable
     entries are shown: visibility.h).  In copy mode the store is the
     agent's: default_permissions, like the workspace. */
static struct fuse_session *root_se, *store_se, *ws_se;
static const struct project_paths *serve_pp;
static pthread_mutex_t shutdown_lock = PTHREAD_MUTEX_INITIALIZER;

/* What serve started, undone in reverse: the egress proxy (when EGRESS),
   then the first MOUNTED of the root's, the store's and the workspace's
   mounts. */
static void
undo_start (int mounted, bool egress)
{
  if (egress)
    egress_stop ();
  struct fuse_session *se[] = { root_se, store_se, ws_se };
  for (int i = mounted - 1; i >= 0; i--)
    fuse_session_unmount (se[i]);
}

/* Stop serving: end the loops, unmount the mounts, drop our state file.
   Runs once, from the signal thread (umount, SIGTERM) or when the root
   session ends (an external unmount).  */
static void
request_shutdown (void)
{
  static bool done;
  pthread_mutex_lock (&shutdown_lock);
  if (!done)
    {
      done = true;
      fuse_session_exit (root_se);
      fuse_session_exit (store_se);
      fuse_session_exit (ws_se);
      undo_start (3, false);
      struct cage_state cur;
      if (state_read (serve_pp->state_json, &cur, NULL) == 0)
        {
          if (cur.pid == getpid ())
            unlink (serve_pp->state_json);
          state_free (&cur);
        }
      fprintf (stderr, "cagefs: daemon %d stopped\n", (int) getpid ());
      fflush (stderr);
    }
  pthread_mutex_unlock (&shutdown_lock);
}

static atomic_bool loops_done;

static void *
signal_thread (void *arg)
{
  const sigset_t *set = arg;
  int sig = 0;
  while (sigwait (set, &sig) != 0)
    ;
  request_shutdown ();
  /* Unmounted, the connections end and the loops return, and main frees
     everything.  A cage still holding a mount keeps its connection alive:
     then end the process, which ends the connections. */
  for (int i = 0; i < 100 && !atomic_load (&loops_done); i++)
    {
      struct timespec ts = { 0, 20 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  if (!atomic_load (&loops_done))
    exit (0);
  return NULL;
}

/* The loop of a view's own session (the store, the workspace). */
static void *
view_thread (void *arg)
{
  struct fuse_loop_config lc = { .clone_fd = 1, .max_idle_threads = 10 };
  fuse_session_loop_mt ((struct fuse_session *) arg, &lc);
  return NULL;
}

static struct fuse_session *
new_session (bool default_permissions, struct node *root, struct cage_error *err)
{
  char opts[256];
  snprintf (opts, sizeof opts, "fsname=cagefs,subtype=cagefs,nosuid,nodev%s%s",
            default_permissions ? ",default_permissions" : "",
            geteuid () == 0 ? ",allow_other" : "");
  char *argv[] = { (char *) "cagefs", (char *) "-o", opts, NULL };
  struct fuse_args args = FUSE_ARGS_INIT (3, argv);
  struct fuse_session *se = fuse_session_new (&args, &cagefs_ops, sizeof cagefs_ops, root);
  fuse_opt_free_args (&args);
  if (!se)
    cage_error_set (err, 0, "create FUSE session (is fuse3 installed and /dev/fuse present?); "
                    "run `cagefs doctor`");
  return se;
}

static int
mount_session (struct fuse_session *se, const char *mnt, const char *log, struct cage_error *err)
{
  if (fuse_session_mount (se, mnt) == 0)
    return 0;
  char last[512];
  last_log_line (log, last, sizeof last);
  const char *hint = strstr (last, "/dev/fuse")
                       ? "; /dev/fuse must be readable and writable by every user "
                         "(mode 0666, as Debian's udev rule sets it): chmod 0666 /dev/fuse"
                       : "";
  return cage_error_set (err, 0, "mount FUSE at `%s`: %s%s (see %s); run `cagefs doctor`", mnt,
                         last[0] ? last : "failed", hint, log);
}

/* In the child: everything up to and including the loop. */
static int
serve (const struct cage_config *cfg, const struct project_paths *pp, struct cage_state *st,
       const struct store_setup *ss, int ready_fd, struct cage_error *err)
{
  umask (0);
  serve_pp = pp;
  if (chdir ("/") < 0)
    return cage_error_set (err, errno, "chdir `/`");
  if (node_table_init (fd_budget ()) < 0)
    return cage_error_set (err, ENOMEM, "inode table");
  if (tree_build (&cagefs, cfg, pp, st, ss, err) < 0)
    return -1;
  /* Hard links to hidden files: one walk now (a warning when it is not
     complete: the parent shows it to the user too). */
  char warning[1024];
  /* (the cow view's root fd is its upper layer: walk the project, its
     lower layer, through an fd kept for the daemon's life, and the upper
     layer too) */
  static int project_fd = -1;
  int walk_fd = cagefs.workspace.root_fd, upper_fd = -1;
  if (walk_fd < 0 || cagefs.workspace.cow)
    {
      project_fd = open (pp->project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (project_fd < 0)
        return cage_error_set (err, errno, "open the project `%s`", pp->project);
      upper_fd = cagefs.workspace.cow ? cagefs.workspace.root_fd : -1;
      walk_fd = project_fd;
    }
  cagefs.workspace.hidden_inodes = hidden_inodes_new (walk_fd, upper_fd, pp->project,
                                                      &cagefs.blacklist, warning, sizeof warning,
                                                      err);
  if (!cagefs.workspace.hidden_inodes)
    return -1;
  if (warning[0])
    cage_warn ("%s", warning);
  /* Content-aware hiding: verdicts remembered per file version. */
  if (cfg->blacklist_scan
      && !(cagefs.workspace.scan = scan_cache_new (SCAN_CACHE_ENTRIES, SCAN_RACY_SECONDS)))
    return cage_error_set (err, ENOMEM, "the scan cache of `%s`", pp->project);
  if (audit_open (pp->audit, cagefs.root, err) < 0)
    return -1;
  char repos[4096];
  snprintf (repos, sizeof repos, "%s/repos", pp->state);
  if (cagefs.workspace.writable && agent_repos_open (repos, cagefs.workspace.root_fd, err) < 0)
    return -1;
  /* The workspace's free-space floor, on the filesystem its writes land
     on (the cow view's: the state folder's upper layer). */
  static int quota_fd = -1;
  if (cagefs.workspace.writable)
    {
      quota_fd = open (cagefs.workspace.cow ? pp->state : pp->project,
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (quota_fd < 0)
        return cage_error_set (err, errno, "open `%s`",
                               cagefs.workspace.cow ? pp->state : pp->project);
      if (quota_init (&cagefs.workspace, quota_fd, &cfg->limits, err) < 0)
        return -1;
    }

  /* Signals are taken by one thread (sigwait); block them everywhere else,
     in the FUSE workers too, which inherit this mask. */
  static sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGQUIT);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  signal (SIGPIPE, SIG_IGN);

  struct node *ws_root = node_child (cagefs.root, "workspace");
  if (!(root_se = new_session (false, cagefs.root, err))
      || !(store_se = new_session (!cagefs.store.immutable, cagefs.store_root, err))
      || !(ws_se = new_session (true, ws_root, err)))
    return -1;
  cagefs.store_session = store_se;
  /* host edits reach the kernel's caches of both views of the workspace */
  struct fuse_session *watched[] = { ws_se, root_se };
  struct node *watched_roots[] = { ws_root, cagefs.root };
  if (host_watch_start (watched, watched_roots, 2, err) < 0)
    return -1;
  host_watch_dir (ws_root);
  /* cagefs accept / discard while mounted: the daemon applies them */
  if (cagefs.workspace.cow
      && control_start (pp, &cagefs.workspace, ws_root, watched, watched_roots, 2, err) < 0)
    return -1;
  if (mount_session (root_se, pp->mnt, pp->log, err) < 0)
    return -1;
  if (mount_session (store_se, pp->store_mnt, pp->log, err) < 0)
    {
      undo_start (1, false);
      return -1;
    }
  if (mount_session (ws_se, pp->ws_mnt, pp->log, err) < 0)
    {
      undo_start (2, false);
      return -1;
    }
  /* network "filtered": the cages' only way out (after the mount: a cage
     registers once the mount is there) */
  if (cfg->network == NETWORK_FILTERED && egress_start (pp, &cfg->allow, err) < 0)
    {
      undo_start (3, true);
      return -1;
    }
  st->pid = getpid ();
  if (state_write (pp->state_json, st, err) < 0)
    {
      undo_start (3, true);
      return -1;
    }
  pthread_t sig_tid, store_tid, ws_tid;
  int rc = pthread_create (&sig_tid, NULL, signal_thread, &set);
  if (rc == 0)
    rc = pthread_create (&store_tid, NULL, view_thread, store_se);
  if (rc == 0)
    rc = pthread_create (&ws_tid, NULL, view_thread, ws_se);
  if (rc != 0)
    {
      undo_start (3, true);
      unlink (pp->state_json);
      return cage_error_set (err, rc, "start the daemon's threads");
    }
  if (ready_fd >= 0)
    {
      send_msg (ready_fd, "R");
      send_msg (ready_fd, warning);
      close (ready_fd);
    }

  struct fuse_loop_config lc = { .clone_fd = 1, .max_idle_threads = 10 };
  rc = fuse_session_loop_mt (root_se, &lc);
  request_shutdown ();
  control_stop ();
  egress_stop ();
  host_watch_stop ();
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 1;
  if (pthread_timedjoin_np (store_tid, NULL, &deadline) != 0
      || pthread_timedjoin_np (ws_tid, NULL, &deadline) != 0)
    exit (0); /* a cage still holds a view: the process end closes it */
  atomic_store (&loops_done, true);
  /* Wake the signal thread if it is still waiting for a signal. */
  pthread_kill (sig_tid, SIGTERM);
  pthread_join (sig_tid, NULL);
  fuse_session_destroy (ws_se);
  fuse_session_destroy (store_se);
  fuse_session_destroy (root_se);
  audit_close ();
  agent_repos_close ();
  node_table_destroy ();
  if (cagefs.workspace.scan)
    {
      struct scan_cache_stats sst;
      scan_cache_stats (cagefs.workspace.scan, &sst);
      fprintf (stderr, "cagefs: scan: %llu files read, %llu verdicts from the cache, %llu "
               "secrets found\n", (unsigned long long) sst.scans, (unsigned long long) sst.hits,
               (unsigned long long) sst.hidden);
    }
  tree_free (&cagefs);
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
              struct cage_state *st, const struct store_setup *ss, bool foreground,
              struct cage_error *err)
{
  if (foreground)
    return serve (cfg, pp, st, ss, -1, err);

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
          if (serve (cfg, pp, st, ss, pfd[1], &cerr) == 0)
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
      if (len > 1)
        cage_warn ("%s", buf + 1); /* what the daemon could not cover */
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
