/* main.c - cage: run a command in the cage of a mounted project.

     cage exec PROJECT [OPTIONS] -- CMD [ARGS...]

   Exit status: CMD's (128+N when it was killed by signal N); 125 when cage
   itself fails, 126 when CMD cannot be run, 127 when it is not found (as
   env(1) and chroot(1)).  This is the only file that prints.  */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "launcher.h"
#include "log.h"

#define USAGE "usage: cage exec PROJECT [OPTIONS] -- CMD [ARGS...]"

static void
usage (FILE *f)
{
  fputs (USAGE "\n"
         "\n"
         "Run CMD in the cage of PROJECT, which `cagefs mount PROJECT` made: new user,\n"
         "mount, pid, ipc, uts and (unless the mount says network host) net\n"
         "namespaces, root on the cagefs view, uid 1000 without capabilities,\n"
         "no_new_privs and a seccomp filter; cwd /workspace; PATH=/bin.\n"
         "\n"
         "options:\n"
         "  --json      errors as one JSON object on stdout\n"
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
         "  -h, --help  this help\n"
         "\n"
         "cage.json's \"env\" {\"pass\": [...], \"set\": {...}} and \"limits\" {\"memory\",\n"
         "\"cpus\", \"pids\", \"nofile\"} apply too; flags win.  Limits use cgroup v2 (a\n"
         "delegated, writable cgroup), else cgroup v1, else rlimits; -v and --dry-run\n"
         "say which.\n"
         "\n"
         "exit status: CMD's, or 128+N when CMD was killed by signal N;\n"
         "125 cage failed, 126 CMD cannot be run, 127 CMD not found.\n",
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

static int cmd_exec_with (int argc, char **argv, char **proc_argv, struct cage_config *flags);

static int
cmd_exec (int argc, char **argv, char **proc_argv)
{
  struct cage_config flags;
  config_init (&flags);
  int rc = cmd_exec_with (argc, argv, proc_argv, &flags);
  config_free (&flags);
  return rc;
}

static int
cmd_exec_with (int argc, char **argv, char **proc_argv, struct cage_config *flags)
{
  struct exec_options opts = { .proc_argv = proc_argv, .flags = flags };
  struct cage_error ferr = { 0 };
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
            return usage_error (json, "exec: --seccomp takes on or off");
          opts.seccomp_off = strcmp (v, "off") == 0;
        }
      else if (opt_value (argc, argv, &i, "--env", &v))
        {
          if (!v)
            return usage_error (json, "exec: --env needs NAME=VALUE");
          if (config_add_env_set (flags, v, &ferr) < 0)
            return usage_error (json, "exec: --env: %s", ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--pass-env", &v))
        {
          if (!v)
            return usage_error (json, "exec: --pass-env needs a NAME");
          if (config_add_env_pass (flags, v, &ferr) < 0)
            return usage_error (json, "exec: --pass-env: %s", ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--memory", &v))
        {
          if (config_parse_memory (v, &flags->limits.memory, &ferr) < 0)
            return usage_error (json, "exec: --memory: %s", ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--cpus", &v))
        {
          if (config_parse_cpus (v, &flags->limits.cpus, &ferr) < 0)
            return usage_error (json, "exec: --cpus: %s", ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--pids", &v))
        {
          if (config_parse_count ("pids", v, &flags->limits.pids, &ferr) < 0)
            return usage_error (json, "exec: --pids: %s", ferr.msg);
        }
      else if (opt_value (argc, argv, &i, "--nofile", &v))
        {
          if (config_parse_count ("nofile", v, &flags->limits.nofile, &ferr) < 0)
            return usage_error (json, "exec: --nofile: %s", ferr.msg);
        }
      else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          usage (stdout);
          return 0;
        }
      else if (a[0] == '-' && a[1] != '\0')
        return usage_error (json, "exec: unknown option `%s`", a);
      else if (!opts.project)
        opts.project = a;
      else
        break; /* the command, without a `--` */
    }
  if (!opts.project)
    return usage_error (json, "exec: missing PROJECT");
  if (i >= argc)
    return usage_error (json, "exec: missing the command to run after `--`");
  if (argv[i][0] == '\0')
    return usage_error (json, "exec: the command is an empty string");
  opts.argv = argv + i;
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
    return cmd_exec (argc - 1, argv + 1, argv);
  bool json = false;
  for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    if (strcmp (argv[i], "--json") == 0)
      json = true;
  return usage_error (json, "unknown command `%s`; the command is: exec", cmd);
}
