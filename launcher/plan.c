/* plan.c - what one `cage exec` will do, decided before anything is done:
   the project's state and config, the mounts, limits, seccomp filter,
   environment and command (struct cage_plan), and its JSON for
   `--dry-run --json`.  exec.c applies exactly this plan. */
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

/* ---- the plan ---------------------------------------------------------- */

void
plan_free (struct cage_plan *plan)
{
  free (plan->root);
  free (plan->project);
  free (plan->home);
  free (plan->home_src);
  cage_strv_free (plan->envp);
  free (plan->net_ports);
  net_policy_free (&plan->net_allow);
  free (plan->state_dir);
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

#define PROXY_URL "http://" EGRESS_PROXY_ADDR ":" CAGE_STR (EGRESS_PROXY_PORT)
#define CAGE_STR(x) CAGE_STR_ (x)
#define CAGE_STR_(x) #x
static const char *const proxy_vars[][2] = {
  { "HTTP_PROXY", PROXY_URL },  { "HTTPS_PROXY", PROXY_URL }, { "ALL_PROXY", PROXY_URL },
  { "http_proxy", PROXY_URL },  { "https_proxy", PROXY_URL }, { "all_proxy", PROXY_URL },
  { "NO_PROXY", "localhost,127.0.0.1,::1" }, { "no_proxy", "localhost,127.0.0.1,::1" },
};
#define N_PROXY_VARS (sizeof proxy_vars / sizeof *proxy_vars)

/* The agent's whole environment: nothing of the caller's but TERM, LANG
   and the names in CFG->env_pass (those the caller has), then CFG->env_set
   (a later name wins).  */
static char **
agent_env (const struct cage_state *st, const struct cage_config *cfg)
{
  char **envp = calloc (9 + N_PROXY_VARS + cfg->n_env_pass + cfg->n_env_set, sizeof *envp);
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
  /* Network "filtered": tools that honour the proxy variables go through
     the egress proxy (the others through the DNS stub and the port
     listeners: common/net/egress_proto.h).  The agent's own env.set may
     override them; the policy holds either way. */
  for (size_t i = 0; strcmp (st->network, "filtered") == 0 && i < N_PROXY_VARS; i++)
    if (env_add (envp, &n, proxy_vars[i][0], proxy_vars[i][1]) < 0)
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

int
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
  plan->net_filtered = strcmp (st.network, "filtered") == 0;
  if (plan->net_filtered)
    {
      plan->net_ports = calloc (NET_MAX_PORTS, sizeof *plan->net_ports);
      plan->state_dir = strdup (paths.state);
      if (!plan->net_ports || !plan->state_dir)
        {
          cage_error_set (err, ENOMEM, "plan the cage");
          plan_free (plan);
          goto out;
        }
      plan->n_net_ports = net_policy_ports (&st.allow, plan->net_ports);
      plan->net_allow = st.allow;
      memset (&st.allow, 0, sizeof st.allow);
    }
  plan->argv = opts->argv;
  plan->proc_argv = opts->proc_argv;
  plan->seccomp.off = opts->seccomp_off;
  plan->seccomp.allow_ptrace = opts->allow_ptrace;
  plan->seccomp.allow_userns = opts->allow_userns;
  plan->clone_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
                      | (plan->new_net ? CLONE_NEWNET : 0);
  rc = 0;
  cage_info ("project %s: root %s, network %s, uid %u -> host %u", plan->project, plan->root,
             plan->net_filtered ? "filtered" : plan->new_net ? "off" : "host", (unsigned) CAGE_INNER_UID, (unsigned) plan->map_uid);
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
json_t *
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

/* The network plan: its mode and, when filtered, the allowlist with
   where each entry came from and what the cage is given. */
static json_t *
network_json (const struct cage_plan *plan)
{
  const char *mode = plan->net_filtered ? "filtered" : plan->new_net ? "off" : "host";
  if (!plan->net_filtered)
    return json_pack ("{s:s}", "mode", mode);
  json_t *allow = json_array (), *ports = json_array ();
  for (size_t i = 0; allow && i < plan->net_allow.n; i++)
    json_array_append_new (allow, json_pack ("{s:s, s:s?}", "entry", plan->net_allow.v[i].text,
                                             "origin", plan->net_allow.v[i].origin));
  for (size_t i = 0; ports && i < plan->n_net_ports; i++)
    json_array_append_new (ports, json_integer (plan->net_ports[i]));
  return json_pack ("{s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "mode", mode, "allow", allow, "ports",
                    ports, "dns", EGRESS_DNS_ADDR, "proxy", PROXY_URL, "route",
                    "local 0.0.0.0/0 dev lo", "relay", EGRESS_SOCK_NAME " (the daemon)");
}

json_t *
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
  json_t *net = network_json (plan);
  char uid_map[64], gid_map[64];
  snprintf (uid_map, sizeof uid_map, "%u %u 1", (unsigned) CAGE_INNER_UID, (unsigned) plan->map_uid);
  snprintf (gid_map, sizeof gid_map, "%u %u 1", (unsigned) CAGE_INNER_GID, (unsigned) plan->map_gid);
  return json_pack ("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:b, s:o, s:i, s:i, s:[], s:o, s:b, s:o, "
                    "s:o, s:s, s:o, s:o, s:s, s:o, s:o}",
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
                    shells ? shells : json_null (), "network", net);
}

