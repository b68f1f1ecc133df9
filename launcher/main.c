/* main.c - cage: run a command in the cage of a mounted project.

     cage exec PROJECT [--json] [-v] [--dry-run] -- CMD [ARGS...]

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

#define USAGE "usage: cage exec PROJECT [--json] [-v] [--dry-run] -- CMD [ARGS...]"

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
         "  -h, --help  this help\n"
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

static int
cmd_exec (int argc, char **argv, char **proc_argv)
{
  struct exec_options opts = { .proc_argv = proc_argv };
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
