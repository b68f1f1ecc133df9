/* main.c - cagefs: the agent's whole world is a FUSE mount we control. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static void
usage (FILE *f)
{
  fputs ("usage: cagefs COMMAND [OPTIONS] [PROJECT]\n"
         "\n"
         "commands:\n"
         "  mount PROJECT   mount the project's cage view and print the mount point\n"
         "      -p, --package STOREPATH   a package (repeatable; replaces cage.json's list)\n"
         "      -m, --mode readonly|shared\n"
         "      -b, --blacklist GLOB      hide more (repeatable; added to the defaults)\n"
         "      -n, --network off|host\n"
         "      -f, --foreground          serve in the foreground (debugging)\n"
         "  umount PROJECT  unmount and stop the daemon (idempotent)\n"
         "  status PROJECT  show whether the project is mounted (exit 1 when not)\n"
         "  init [PROJECT]  write a starting cage.json\n"
         "\n"
         "common options: --json (machine-readable output), -v (verbose), -h (help)\n",
         f);
}

void
cli_print_json (json_t *j)
{
  char *s = j ? json_dumps (j, JSON_COMPACT) : NULL;
  if (s)
    {
      puts (s);
      free (s);
    }
  json_decref (j);
  fflush (stdout);
}

int
cli_usage_error (const char *cmd, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "cagefs: error: %s: ", cmd);
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "; see cagefs --help\n");
  va_end (ap);
  return 2;
}

int
main (int argc, char **argv)
{
  cage_log_prog = "cagefs";
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  const char *cmd = argv[1];
  if (strcmp (cmd, "-h") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (cmd, "mount") == 0)
    return cmd_mount (argc - 1, argv + 1);
  if (strcmp (cmd, "umount") == 0 || strcmp (cmd, "unmount") == 0)
    return cmd_umount (argc - 1, argv + 1);
  if (strcmp (cmd, "status") == 0)
    return cmd_status (argc - 1, argv + 1);
  if (strcmp (cmd, "init") == 0)
    return cmd_init (argc - 1, argv + 1);
  fprintf (stderr, "cagefs: error: unknown command `%s`; valid commands: mount, umount, status, init\n",
           cmd);
  return 2;
}
