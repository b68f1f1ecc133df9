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
#include "launcher.h"
#include "log.h"
#include "paths.h"
#include "state.h"

extern char **environ;

/* What a process in the cage sends when it fails: the exit status cage
   must use and why.  Smaller than PIPE_BUF, so one write is atomic.  */
struct report
{
  int exit_code;
  struct cage_error err;
};

_Static_assert (sizeof (struct report) <= 4096, "a report fits in one pipe write");

/* ---- the plan ---------------------------------------------------------- */

static void
plan_free (struct cage_plan *plan)
{
  free (plan->root);
  free (plan->project);
  free (plan->home);
  free (plan->home_src);
  cage_strv_free (plan->envp);
  limits_plan_free (&plan->limits);
  cage_seccomp_free (&plan->seccomp_prog);
  for (size_t i = 0; i < sizeof plan->shells / sizeof *plan->shells; i++)
    free (plan->shells[i]);
  memset (plan, 0, sizeof *plan);
}

/* Is S safe to paste into a shell unquoted? */
static bool
shell_safe (const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@%:,=", *s))
      return false;
  return true;
}

/* S quoted for a shell, in BUF. */
static const char *
shell_quote (char *buf, size_t size, const char *s)
{
  if (shell_safe (s))
    return s;
  size_t j = 0;
  if (j + 1 < size)
    buf[j++] = '\'';
  for (; *s && j + 5 < size; s++)
    {
      if (*s == '\'')
        {
          memcpy (buf + j, "'\\''", 4);
          j += 4;
        }
      else
        buf[j++] = *s;
    }
  if (j + 1 < size)
    buf[j++] = '\'';
  buf[j] = '\0';
  return buf;
}

static int
not_mounted (const char *project, struct cage_error *err)
{
  char quoted[1024];
  return cage_error_set (err, 0, "project %s is not mounted; run: cagefs mount %s", project,
                         shell_quote (quoted, sizeof quoted, project));
}

static int
env_add (char **envp, size_t *n, const char *key, const char *value)
{
  if (!value)
    return 0;
  if (asprintf (&envp[*n], "%s=%s", key, value) < 0)
    {
      envp[*n] = NULL;
      return -1;
    }
  (*n)++;
  return 0;
}

/* Put "NAME=value" (owned) into ENVP (N strings), replacing NAME. */
static void
env_put (char **envp, size_t *n, char *a)
{
  size_t len = strcspn (a, "=");
  for (size_t i = 0; i < *n; i++)
    if (strncmp (envp[i], a, len + 1) == 0)
      {
        free (envp[i]);
        envp[i] = a;
        return;
      }
  envp[(*n)++] = a;
}

/* The agent's whole environment: nothing of the caller's but TERM, LANG
   and the names in CFG->env_pass (those the caller has), then CFG->env_set
   (a later name wins).  */
static char **
agent_env (const struct cage_state *st, const struct cage_config *cfg)
{
  char **envp = calloc (9 + cfg->n_env_pass + cfg->n_env_set, sizeof *envp);
  size_t n = 0;
  if (!envp)
    return NULL;
  const char *home = st->home[0] ? st->home : "/";
  const char *user = st->user[0] ? st->user : "agent";
  if (env_add (envp, &n, "PATH", "/bin") < 0 || env_add (envp, &n, "HOME", home) < 0
      || env_add (envp, &n, "USER", user) < 0 || env_add (envp, &n, "LOGNAME", user) < 0
      || env_add (envp, &n, "SHELL", "/bin/sh") < 0
      || env_add (envp, &n, "TERM", getenv ("TERM")) < 0
      || env_add (envp, &n, "LANG", getenv ("LANG")) < 0)
    {
      cage_strv_free (envp);
      return NULL;
    }
  for (size_t i = 0; i < cfg->n_env_pass; i++)
    {
      const char *v = getenv (cfg->env_pass[i]);
      char *a = NULL;
      if (v && asprintf (&a, "%s=%s", cfg->env_pass[i], v) < 0)
        {
          cage_strv_free (envp);
          return NULL;
        }
      if (a)
        env_put (envp, &n, a);
    }
  for (size_t i = 0; i < cfg->n_env_set; i++)
    {
      char *a = strdup (cfg->env_set[i]);
      if (!a)
        {
          cage_strv_free (envp);
          return NULL;
        }
      env_put (envp, &n, a);
    }
  return envp;
}

/* The flags' env and limits over cage.json's (FLAGS may be NULL). */
static int
merge_flags (struct cage_config *cfg, const struct cage_config *flags, struct cage_error *err)
{
  if (!flags)
    return 0;
  for (size_t i = 0; i < flags->n_env_pass; i++)
    if (config_add_env_pass (cfg, flags->env_pass[i], err) < 0)
      return -1;
  for (size_t i = 0; i < flags->n_env_set; i++)
    if (config_add_env_set (cfg, flags->env_set[i], err) < 0)
      return -1;
  const struct cage_limits *l = &flags->limits;
  if (l->memory)
    cfg->limits.memory = l->memory;
  if (l->cpus > 0)
    cfg->limits.cpus = l->cpus;
  if (l->pids)
    cfg->limits.pids = l->pids;
  if (l->nofile)
    cfg->limits.nofile = l->nofile;
  return 0;
}

/* `cage shell`'s choice, tried in order in the cage: the SHELL the cage's
   environment sets (cage.json env, --env, --pass-env), else the caller's
   $SHELL; then the program of that name in /bin (a host's /usr/bin/zsh is
   the cage's /bin/zsh); then /bin/sh.  */
static int
plan_shells (struct cage_plan *plan)
{
  const char *sh = NULL;
  for (char **e = plan->envp; *e; e++)
    if (strncmp (*e, "SHELL=", 6) == 0)
      sh = *e + 6;
  if (!sh || strcmp (sh, "/bin/sh") == 0)
    sh = getenv ("SHELL");
  size_t n = 0;
  if (sh && sh[0] == '/' && strcmp (sh, "/bin/sh") != 0)
    {
      const char *base = strrchr (sh, '/') + 1;
      if (!(plan->shells[n++] = strdup (sh)))
        return -1;
      if (*base && strncmp (sh, "/bin/", 5) != 0
          && asprintf (&plan->shells[n++], "/bin/%s", base) < 0)
        {
          plan->shells[--n] = NULL;
          return -1;
        }
    }
  plan->shells[n] = strdup ("/bin/sh");
  return plan->shells[n] ? 0 : -1;
}

static int
plan_build (const struct exec_options *opts, struct cage_plan *plan, struct cage_error *err)
{
  memset (plan, 0, sizeof *plan);
  struct project_paths paths;
  if (paths_project (opts->project, false, &paths, err) < 0)
    return -1;
  struct cage_state st;
  int rc = state_read (paths.state_json, &st, err);
  if (rc < 0)
    {
      rc = err->errnum == ENOENT ? not_mounted (paths.project, err) : -1;
      paths_free (&paths);
      return rc;
    }
  rc = -1;
  if (!state_daemon_alive (&st))
    {
      not_mounted (paths.project, err);
      goto out;
    }
  if (st.mountpoint[0] != '/')
    {
      cage_error_set (err, 0, "state file `%s` names no mount point; run: cagefs umount %s",
                      paths.state_json, paths.project);
      goto out;
    }
  /* The agent never maps to host root, whatever the file says. */
  if (st.cage_uid == 0 || st.cage_gid == 0)
    {
      cage_error_set (err, 0, "state file `%s` maps the cage to host root; remount: "
                      "cagefs umount %s && cagefs mount %s", paths.state_json, paths.project,
                      paths.project);
      goto out;
    }
  /* Without CAP_SETUID the kernel maps only our own ids. */
  if (geteuid () != 0 && (st.cage_uid != geteuid () || st.cage_gid != getegid ()))
    {
      cage_error_set (err, 0, "project %s was mounted for uid %u, but you are uid %u",
                      paths.project, (unsigned) st.cage_uid, (unsigned) geteuid ());
      goto out;
    }

  /* The profile is the mount's (its workspace, home and network): a cage
     asked for with another one would not be what it says. */
  if (opts->profile && strcmp (opts->profile, st.profile) != 0)
    {
      cage_error_set (err, 0, "project %s is mounted with profile %s, not %s; remount: "
                      "cagefs umount %s && cagefs mount %s --profile %s", paths.project,
                      st.profile, opts->profile, paths.project, paths.project, opts->profile);
      goto out;
    }

  /* cage.json (the cage cannot change it: the view protects it), then the
     flags over it. */
  struct cage_config cfg;
  config_init (&cfg);
  if (config_load_project (&cfg, paths.project, err) < 0 || merge_flags (&cfg, opts->flags, err) < 0)
    {
      config_free (&cfg);
      goto out;
    }
  /* The mount's profile gives the limits neither set (a pids limit). */
  enum cage_profile profile = PROFILE_STANDARD;
  struct cage_error ignored = { 0 };
  if (config_parse_profile (st.profile, &profile, &ignored) < 0)
    profile = PROFILE_STANDARD;
  config_profile_limits (&cfg, profile);
  rc = limits_plan_make (&cfg.limits, getpid (), &plan->limits, err);
  if (rc == 0)
    {
      plan->envp = agent_env (&st, &cfg);
      plan->root = strdup (st.mountpoint);
      plan->project = strdup (paths.project);
      /* The home is the state folder's (never a path the file names):
         the empty one for home.mode "empty". */
      plan->home = strdup (st.home);
      plan->home_src = strdup (strcmp (st.home_mode, "empty") == 0 ? paths.home_empty
                                                                    : paths.home);
    }
  config_free (&cfg);
  if (rc < 0)
    {
      plan_free (plan);
      goto out;
    }
  rc = -1;
  if (!plan->root || !plan->project || !plan->envp || !plan->home || !plan->home_src)
    {
      cage_error_set (err, ENOMEM, "plan the cage");
      plan_free (plan);
      goto out;
    }
  plan->stdio = opts->stdio;
  memset (plan->event_fds, -1, sizeof plan->event_fds);
  if (plan->stdio == CAGE_STDIO_PTY)
    {
      pty_caller_winsize (&plan->winsize);
      if (plan_shells (plan) < 0)
        {
          cage_error_set (err, ENOMEM, "plan the cage");
          plan_free (plan);
          goto out;
        }
    }
  plan->map_uid = st.cage_uid;
  plan->map_gid = st.cage_gid;
  plan->new_net = strcmp (st.network, "host") != 0;
  plan->argv = opts->argv;
  plan->proc_argv = opts->proc_argv;
  plan->seccomp.off = opts->seccomp_off;
  plan->seccomp.allow_ptrace = opts->allow_ptrace;
  plan->seccomp.allow_userns = opts->allow_userns;
  plan->clone_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
                      | (plan->new_net ? CLONE_NEWNET : 0);
  rc = 0;
  cage_info ("project %s: root %s, network %s, uid %u -> host %u", plan->project, plan->root,
             plan->new_net ? "off" : "host", (unsigned) CAGE_INNER_UID, (unsigned) plan->map_uid);
  char limits[512];
  limits_describe (&plan->limits, limits, sizeof limits);
  cage_info ("limits: %s", limits);
  if (plan->limits.cpus == LIMIT_UNAVAILABLE)
    cage_warn ("the cpus limit needs a writable cgroup (v2 delegated, or v1 as root); it is "
               "not enforced");
out:
  state_free (&st);
  paths_free (&paths);
  return rc;
}

static json_t *
strv_json (char **v)
{
  json_t *a = json_array ();
  for (; a && v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

/* The namespaces of CLONE_FLAGS by name: ["user", "mount", ...]. */
static json_t *
namespaces_json (int clone_flags)
{
  json_t *ns = json_array ();
  static const struct { int flag; const char *name; } nss[] = {
    { CLONE_NEWUSER, "user" }, { CLONE_NEWNS, "mount" }, { CLONE_NEWPID, "pid" },
    { CLONE_NEWIPC, "ipc" },   { CLONE_NEWUTS, "uts" },  { CLONE_NEWNET, "net" },
  };
  for (size_t i = 0; ns && i < sizeof nss / sizeof *nss; i++)
    if (clone_flags & nss[i].flag)
      json_array_append_new (ns, json_string (nss[i].name));
  return ns;
}

static json_t *
plan_json (const struct cage_plan *plan)
{
  static const char *const stdio_names[] = {
    [CAGE_STDIO_INHERIT] = "inherit", [CAGE_STDIO_PTY] = "pty", [CAGE_STDIO_EVENTS] = "events",
  };
  json_t *ns = namespaces_json (plan->clone_flags);
  json_t *shells = NULL;
  if (plan->stdio == CAGE_STDIO_PTY)
    {
      shells = json_array ();
      for (size_t i = 0; shells && i < sizeof plan->shells / sizeof *plan->shells; i++)
        if (plan->shells[i])
          json_array_append_new (shells, json_string (plan->shells[i]));
    }
  char uid_map[64], gid_map[64];
  snprintf (uid_map, sizeof uid_map, "%u %u 1", (unsigned) CAGE_INNER_UID, (unsigned) plan->map_uid);
  snprintf (gid_map, sizeof gid_map, "%u %u 1", (unsigned) CAGE_INNER_GID, (unsigned) plan->map_gid);
  return json_pack ("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:b, s:o, s:i, s:i, s:[], s:o, s:b, s:o, "
                    "s:o, s:s, s:o, s:o, s:s, s:o}",
                    "project", plan->project, "root", plan->root, "namespaces", ns,
                    "uid_map", uid_map, "gid_map", gid_map, "setgroups", "deny",
                    "hostname", CAGE_HOSTNAME, "loopback_up", plan->new_net,
                    "mounts", mounts_plan_json (plan), "uid", CAGE_INNER_UID, "gid", CAGE_INNER_GID,
                    "capabilities", "securebits",
                    json_pack ("[s,s,s,s,s,s,s]", "NOROOT", "NOROOT_LOCKED", "NO_SETUID_FIXUP",
                               "NO_SETUID_FIXUP_LOCKED", "KEEP_CAPS_LOCKED",
                               "NO_CAP_AMBIENT_RAISE", "NO_CAP_AMBIENT_RAISE_LOCKED"),
                    "no_new_privs", 1, "seccomp", cage_seccomp_plan_json (&plan->seccomp),
                    "limits", limits_plan_json (&plan->limits),
                    "cwd", CAGE_WORKDIR, "env", strv_json (plan->envp), "argv",
                    strv_json (plan->argv), "stdio", stdio_names[plan->stdio], "shell",
                    shells ? shells : json_null ());
}

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

/* Pid 1 of the cage.  Never returns.  */
static _Noreturn void
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
