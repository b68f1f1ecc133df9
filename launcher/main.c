/* main.c - cage: run a command in the cage of a mounted project.

     cage exec PROJECT [OPTIONS] -- CMD [ARGS...]
     cage shell PROJECT [OPTIONS]

   Exit status: CMD's (128+N when it was killed by signal N); 125 when cage
   itself fails, 126 when CMD cannot be run, 127 when it is not found (as
   env(1) and chroot(1)).  This is the only file that prints.  */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "launcher.h"
#include "log.h"

#define USAGE_EXEC "usage: cage exec PROJECT [OPTIONS] -- CMD [ARGS...]"
#define USAGE USAGE_EXEC " | cage shell PROJECT [OPTIONS] | cage run PROJECT [OPTIONS] -- CMD"

/* `cage shell` without a terminal on stdin (as grep and diff: trouble). */
#define EXIT_NOT_A_TERMINAL 2

static void
usage (FILE *f)
{
  fputs (USAGE_EXEC "\n"
         "       cage shell PROJECT [OPTIONS]\n"
         "       cage run PROJECT [MOUNT-OPTIONS] [OPTIONS] -- CMD [ARGS...]\n"
         "\n"
         "exec: run CMD in the cage of PROJECT, which `cagefs mount PROJECT` made: new\n"
         "user, mount, pid, ipc, uts and (unless the mount says network host) net\n"
         "namespaces, root on the cagefs view, uid 1000 without capabilities,\n"
         "no_new_privs and a seccomp filter; cwd /workspace; PATH=/bin.\n"
         "\n"
         "shell: an interactive login shell in the same cage, on a terminal of the\n"
         "cage's own (a pty of its /dev/pts; the shell's controlling terminal); cage\n"
         "relays it to yours, which is raw meanwhile and restored after.  The shell\n"
         "is the cage's SHELL (cage.json env, --env, --pass-env) or else your $SHELL\n"
         "when the cage has it (as is, or by name in /bin), else /bin/sh; run with -l.\n"
         "stdin must be a terminal (else exit 2; use `cage exec PROJECT -- sh`).\n"
         "SIGTERM or SIGHUP to cage hangs the shell's terminal up.\n"
         "\n"
         "run: `cagefs mount PROJECT` first when it is not mounted (the cagefs next to\n"
         "cage), then as exec, then `cagefs umount PROJECT` when run mounted it.  Its\n"
         "MOUNT-OPTIONS go to cagefs mount: --package, --with, --profile, --mode,\n"
         "--blacklist, --scan, --network, --allow, --cache, --nix-daemon (see cagefs\n"
         "--help).\n"
         "\n"
         "options (both):\n"
         "  --json      exec: NDJSON events on stdout, one a line:\n"
         "                {\"event\":\"start\",\"pid\":P,\"namespaces\":[..],\"limits\":{..}}\n"
         "                {\"event\":\"stdout\"|\"stderr\",\"data\":\"...\"} (\"data_b64\" when\n"
         "                  the chunk is not UTF-8)\n"
         "                {\"event\":\"exit\",\"code\":N,\"signal\":S|null,\"duration_ms\":M}\n"
         "              stdin passes through; errors are {\"error\":..,\"errno\":N}.\n"
         "              shell: errors as JSON\n"
         "  -v          say more on stderr (twice: debug)\n"
         "  --dry-run   print what would be done (JSON) and run nothing\n"
         "  --env NAME=VALUE   set a variable in the cage (repeatable)\n"
         "  --pass-env NAME    keep the caller's NAME (repeatable; TERM, LANG always)\n"
         "  --memory SIZE      memory limit, e.g. 512M, 2G (over it: killed, 137)\n"
         "  --cpus N           CPU time limit, e.g. 1.5 (needs a cgroup)\n"
         "  --pids N           processes and threads at most\n"
         "  --nofile N         open files per process at most\n"
         "  --allow-ptrace     allow ptrace and process_vm_* (debuggers)\n"
         "  --allow-userns     allow new user namespaces in the cage\n"
         "  --seccomp=off      no syscall filter (debugging only)\n"
         "  --profile strict|standard|relaxed   refuse to run unless the project was\n"
         "                     mounted with this profile\n"
         "  -h, --help  this help\n"
         "\n"
         "cage.json's \"env\" {\"pass\": [...], \"set\": {...}} and \"limits\" {\"memory\",\n"
         "\"cpus\", \"pids\", \"nofile\"} apply too; flags win.  Limits use cgroup v2 (a\n"
         "delegated, writable cgroup), else cgroup v1, else rlimits; -v and --dry-run\n"
         "say which.\n"
         "\n"
         "exit status: CMD's (the shell's), or 128+N when it was killed by signal N;\n"
         "125 cage failed, 126 CMD cannot be run, 127 CMD not found; 2 shell: stdin\n"
         "is not a terminal.\n",
         f);
}

static int
usage_error (bool json, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
usage_error (bool json, const char *fmt, ...)
{
  struct cage_error err = { 0 };
  char what[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  cage_error_set (&err, 0, "%s; " USAGE, what);
  cage_error_print (&err, "cage", json);
  return CAGE_EXIT_FAILURE;
}

/* Is ARGV[*I] the option NAME, as `NAME VALUE` or `NAME=VALUE`?  Then
   *VALUE is set (NULL when missing) and *I moved past it.  */
static bool
opt_value (int argc, char **argv, int *i, const char *name, const char **value)
{
  size_t n = strlen (name);
  const char *a = argv[*i];
  if (strncmp (a, name, n) != 0)
    return false;
  if (a[n] == '=')
    *value = a + n + 1;
  else if (a[n] == '\0')
    *value = ++*i < argc ? argv[*i] : NULL;
  else
    return false;
  return true;
}

static int cmd_run_with (bool shell, int argc, char **argv, char **proc_argv,
                         struct cage_config *flags);

/* `cage exec` (SHELL false) and `cage shell` (SHELL true). */
static int
cmd_run (bool shell, int argc, char **argv, char **proc_argv)
{
  struct cage_config flags;
  config_init (&flags);
  int rc = cmd_run_with (shell, argc, argv, proc_argv, &flags);
  config_free (&flags);
  return rc;
}

static int
cmd_run_with (bool shell, int argc, char **argv, char **proc_argv, struct cage_config *flags)
{
  struct exec_options opts = { .proc_argv = proc_argv, .flags = flags };
  struct cage_error ferr = { 0 };
  const char *cmd = shell ? "shell" : strcmp (argv[0], "run") == 0 ? "run" : "exec";
  const char *v;
  bool json = false;
  int i;
  /* Options until `--` or the first word after PROJECT: from there on
     everything belongs to CMD.  Look for --json first so that even a
     usage error comes out as JSON when asked.  */
  for (i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    if (strcmp (argv[i], "--json") == 0)
      json = true;
  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          i++;
          break;
        }
      if (strcmp (a, "--json") == 0)
        continue;
      if (strcmp (a, "-v") == 0 || strcmp (a, "--verbose") == 0)
        cage_log_verbose++;
      else if (strcmp (a, "-vv") == 0)
        cage_log_verbose += 2;
      else if (strcmp (a, "--dry-run") == 0)
        opts.dry_run = true;
      else if (strcmp (a, "--allow-ptrace") == 0)
        opts.allow_ptrace = true;
      else if (strcmp (a, "--allow-userns") == 0)
        opts.allow_userns = true;
      else if (opt_value (argc, argv, &i, "--seccomp", &v))
        {
          if (!v || (strcmp (v, "off") != 0 && strcmp (v, "on") != 0))
            return usage_error (json, "%s: --seccomp takes on or off", cmd);
          opts.seccomp_off = strcmp (v, "off") == 0;
        }
      else if (opt_value (argc, argv, &i, "--profile", &v))
        {
          enum cage_profile pr;
          if (config_parse_profile (v, &pr, &ferr) < 0)
            return usage_error (json, "%s: --profile: %s", cmd, ferr.msg);
          opts.profile = v;
        }
      else if (opt_value (argc, argv, &i, "--env", &v))
        {
          if (!v)
            return usage_error (json, "%s: --env needs NAME=VALUE", cmd);
          if (config_add_env_set (flags, v, &ferr) < 0)
            return usage_error (json, "%s: --env: %s", cmd, ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--pass-env", &v))
        {
          if (!v)
            return usage_error (json, "%s: --pass-env needs a NAME", cmd);
          if (config_add_env_pass (flags, v, &ferr) < 0)
            return usage_error (json, "%s: --pass-env: %s", cmd, ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--memory", &v))
        {
          if (config_parse_memory (v, &flags->limits.memory, &ferr) < 0)
            return usage_error (json, "%s: --memory: %s", cmd, ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--cpus", &v))
        {
          if (config_parse_cpus (v, &flags->limits.cpus, &ferr) < 0)
            return usage_error (json, "%s: --cpus: %s", cmd, ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--pids", &v))
        {
          if (config_parse_count ("pids", v, &flags->limits.pids, &ferr) < 0)
            return usage_error (json, "%s: --pids: %s", cmd, ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--nofile", &v))
        {
          if (config_parse_count ("nofile", v, &flags->limits.nofile, &ferr) < 0)
            return usage_error (json, "%s: --nofile: %s", cmd, ferr.msg);
        }
      else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          usage (stdout);
          return 0;
        }
      else if (a[0] == '-' && a[1] != '\0')
        return usage_error (json, "%s: unknown option `%s`", cmd, a);
      else if (!opts.project)
        opts.project = a;
      else
        break; /* the command, without a `--` */
    }
  if (!opts.project)
    return usage_error (json, "%s: missing PROJECT", cmd);
  if (shell)
    {
      if (i < argc)
        return usage_error (json, "shell: unexpected `%s`: the shell takes no command (use "
                            "cage exec PROJECT -- CMD)", argv[i]);
      if (!opts.dry_run && !isatty (STDIN_FILENO))
        {
          struct cage_error err = { 0 };
          cage_error_set (&err, 0, "shell: stdin is not a terminal; for a shell without one "
                          "run: cage exec PROJECT -- sh");
          cage_error_print (&err, "cage", json);
          return EXIT_NOT_A_TERMINAL;
        }
      opts.stdio = CAGE_STDIO_PTY;
    }
  else if (i >= argc)
    return usage_error (json, "%s: missing the command to run after `--`", cmd);
  else if (argv[i][0] == '\0')
    return usage_error (json, "%s: the command is an empty string", cmd);
  else
    {
      opts.argv = argv + i;
      if (json)
        opts.stdio = CAGE_STDIO_EVENTS;
    }
  if (opts.seccomp_off)
    cage_warn ("--seccomp=off: the cage runs WITHOUT its syscall filter; use it only to debug");

  struct cage_error err = { 0 };
  json_t *plan = NULL;
  int status;
  if (cage_exec (&opts, &status, &plan, &err) < 0)
    {
      cage_error_print (&err, "cage", json);
      return status;
    }
  if (plan)
    {
      char *s = json_dumps (plan, json ? JSON_COMPACT : JSON_INDENT (2));
      json_decref (plan);
      if (!s)
        {
          cage_error_set (&err, ENOMEM, "print the plan");
          cage_error_print (&err, "cage", json);
          return CAGE_EXIT_FAILURE;
        }
      puts (s);
      free (s);
      fflush (stdout);
    }
  return status;
}

int
cage_main_exec (int argc, char **argv, char **proc_argv)
{
  return cmd_run (false, argc, argv, proc_argv);
}

int
main (int argc, char **argv)
{
  cage_log_prog = "cage";
  if (argc < 2)
    {
      usage (stderr);
      return CAGE_EXIT_FAILURE;
    }
  const char *cmd = argv[1];
  if (strcmp (cmd, "-h") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (cmd, "exec") == 0)
    return cmd_run (false, argc - 1, argv + 1, argv);
  if (strcmp (cmd, "shell") == 0)
    return cmd_run (true, argc - 1, argv + 1, argv);
  if (strcmp (cmd, "run") == 0)
    return cage_run (argc - 1, argv + 1, argv);
  bool json = false;
  for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    if (strcmp (argv[i], "--json") == 0)
      json = true;
  return usage_error (json, "unknown command `%s`; the commands are: exec, shell, run", cmd);
}
