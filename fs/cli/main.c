/* main.c - cagefs: the agent's whole world is a FUSE mount we control. */
#include <getopt.h>
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
         "      -m, --mode readonly|shared|copy|isolated\n"
         "      -c, --cache URL           binary cache of isolated mode (file://, http(s)://)\n"
         "      -D, --nix-daemon          shared mode: the host nix-daemon's socket in the cage\n"
         "                                (refused unless the daemon builds in a sandbox)\n"
         "      --nix-daemon-unsandboxed  the same even when it does not (your risk)\n"
         "      -b, --blacklist GLOB      hide more (repeatable; added to the defaults)\n"
         "      -S, --scan                also hide files holding private keys or tokens\n"
         "      -W, --with NAME[,NAME...] packages by name (nixpkgs, or store.expr's file)\n"
         "      -P, --profile strict|standard|relaxed\n"
         "      -n, --network off|host|filtered   filtered: only the allowed hosts\n"
         "      --allow ENTRY             allow a host (api.example.com, *.example.com,\n"
         "                                NAME:PORT, an address or CIDR; repeatable)\n"
         "      -w, --workspace-view direct|cow|tracked   what /workspace is (default direct)\n"
         "      -f, --foreground          serve in the foreground (debugging)\n"
         "  umount PROJECT  unmount and stop the daemon (idempotent)\n"
         "  status PROJECT  show whether the project is mounted (exit 1 when not)\n"
         "  list            every project with state: mounted, stale or not mounted\n"
         "  destroy PROJECT unmount it and remove its whole state folder\n"
         "      -y, --yes                 do not ask (required when stdin is not a terminal)\n"
         "  diff PROJECT [PATH...]     the cow view's changes as a unified diff\n"
         "      --stat                    one line per changed entry\n"
         "  accept PROJECT [PATH...]   apply the cow view's changes to the project\n"
         "  discard PROJECT [PATH...]  drop the cow view's changes\n"
         "  init [PROJECT]  write a starting cage.json\n"
         "      --preset NAME             for an agent (claude-code, codex, ...)\n"
         "      --list-presets            the presets: packages, home paths, variables\n"
         "  config PROJECT  the resolved configuration, and where each value came from\n"
         "  check PROJECT   list what the blacklist (and the scan) hides in the workspace, and why\n"
         "  copy --to DIR [--closure] [--durable] [--no-uring] STOREPATH...\n"
         "                  copy store paths with the copy engine (copy mode's engine)\n"
         "  audit PROJECT [--follow] [--json]\n"
         "                  what the agent was refused: hidden names, denied writes,\n"
         "                  read-only violations (--json: the raw NDJSON log;\n"
         "                  -f, --follow: keep printing new entries)\n"
         "  doctor [PROJECT] [--json]\n"
         "                  check that this machine has what your cages need\n"
         "                  (user namespaces, FUSE, Nix, cgroups, inotify, io_uring,\n"
         "                  seccomp); each problem with its fix; exit 1 if one fails\n"
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
cli_bad_option (const char *cmd, char **argv)
{
  /* getopt's own message is off (opterr = 0): one line, ours. */
  if (optopt && optopt != '?')
    return cli_usage_error (cmd, "unknown option `-%c`", optopt);
  return cli_usage_error (cmd, "unknown option `%s`", optind > 0 ? argv[optind - 1] : "?");
}

int
cli_parse_project (int argc, char **argv, const char *cmd, bool *json, const char **project)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  *json = false;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "jvh", opts, NULL)) != -1)
    {
      if (c == 'j')
        *json = true;
      else if (c == 'v')
        cage_log_verbose++;
      else if (c == 'h')
        {
          printf ("usage: cagefs %s PROJECT [--json] [-v]\n", cmd);
          exit (0);
        }
      else
        return cli_bad_option (cmd, argv);
    }
  if (optind != argc - 1)
    return cli_usage_error (cmd, "expected exactly one PROJECT directory");
  *project = argv[optind];
  return 0;
}

json_t *
cli_strv_json (char **v)
{
  json_t *a = json_array ();
  for (; a && v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

json_t *
cli_allow_json (const struct net_policy *p)
{
  json_t *a = json_array ();
  for (size_t i = 0; a && i < p->n; i++)
    json_array_append_new (a, json_pack ("{s:s, s:s?}", "entry", p->v[i].text, "origin",
                                         p->v[i].origin));
  return a;
}

size_t
cli_strv_len (char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
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
  opterr = 0; /* every command says what was wrong in one line of its own */
  if (strcmp (cmd, "mount") == 0)
    return cmd_mount (argc - 1, argv + 1);
  if (strcmp (cmd, "umount") == 0 || strcmp (cmd, "unmount") == 0)
    return cmd_umount (argc - 1, argv + 1);
  if (strcmp (cmd, "status") == 0)
    return cmd_status (argc - 1, argv + 1);
  if (strcmp (cmd, "init") == 0)
    return cmd_init (argc - 1, argv + 1);
  if (strcmp (cmd, "copy") == 0)
    return cmd_copy (argc - 1, argv + 1);
  if (strcmp (cmd, "check") == 0)
    return cmd_check (argc - 1, argv + 1);
  if (strcmp (cmd, "list") == 0)
    return cmd_list (argc - 1, argv + 1);
  if (strcmp (cmd, "destroy") == 0)
    return cmd_destroy (argc - 1, argv + 1);
  if (strcmp (cmd, "audit") == 0)
    return cmd_audit (argc - 1, argv + 1);
  if (strcmp (cmd, "config") == 0)
    return cmd_config (argc - 1, argv + 1);
  if (strcmp (cmd, "diff") == 0)
    return cmd_diff (argc - 1, argv + 1);
  if (strcmp (cmd, "accept") == 0)
    return cmd_accept (argc - 1, argv + 1);
  if (strcmp (cmd, "discard") == 0)
    return cmd_discard (argc - 1, argv + 1);
  if (strcmp (cmd, "doctor") == 0)
    return cmd_doctor (argc - 1, argv + 1);
  fprintf (stderr, "cagefs: error: unknown command `%s`; valid commands: mount, umount, status, list, destroy, diff, accept, discard, init, config, check, audit, copy, doctor\n",
           cmd);
  return 2;
}
