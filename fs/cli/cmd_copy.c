/* cmd_copy.c - `cagefs copy`: the copy engine on its own, for benchmarks,
   tests and pre-filling a private store.

     cagefs copy --to DIR [--from DIR] [--closure] [--durable] [--no-uring]
                 [--json] [-v] STOREPATH...

   Copies the store paths (with --closure: their closure in the host store)
   from the store folder --from (default /nix/store) into DIR, which is
   made when missing (its parent must exist).  Progress: a line on a TTY;
   with --json NDJSON events on stdout and a final summary object.  */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "closure.h"
#include "copy.h"
#include "log.h"
#include "storepath.h"

#define CMD "copy"

static void
usage (FILE *f)
{
  fputs ("usage: cagefs copy --to DIR [--from DIR] [--closure] [--durable] [--no-uring] [--link] [--json]"
         " STOREPATH...\n"
         "  copy store paths (or, with --closure, their closure) from --from\n"
         "  (default " NIX_STORE_DIR ") into the store folder DIR with the copy engine;\n"
         "  paths already in DIR are skipped, each path appears only when complete.\n"
         "  --durable   on disk before the paths appear (one syncfs)\n"
         "  --no-uring  the plain engine (copy_file_range, read/write)\n"
         "  --link      share files by hard links where possible (as copy mode does;\n"
         "              the daemon copies a shared file before anything changes it)\n",
         f);
}

/* STOREPATH given as /nix/store/<name> or <name>. */
static const char *
entry_name (const char *arg)
{
  if (storepath_valid (arg))
    return storepath_name (arg);
  if (storepath_valid_name (arg))
    return arg;
  return NULL;
}

int
cmd_copy (int argc, char **argv)
{
  static const struct option opts[] = {
    { "to", required_argument, NULL, 't' },     { "from", required_argument, NULL, 'F' },
    { "closure", no_argument, NULL, 'c' },      { "durable", no_argument, NULL, 'd' },
    { "no-uring", no_argument, NULL, 'U' },     { "json", no_argument, NULL, 'j' },
    { "link", no_argument, NULL, 'l' },         { "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *to = NULL, *from = NIX_STORE_DIR;
  bool closure = false, json = false;
  unsigned flags = 0;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "t:F:cdUljvh", opts, NULL)) != -1)
    switch (c)
      {
      case 't': to = optarg; break;
      case 'F': from = optarg; break;
      case 'c': closure = true; break;
      case 'd': flags |= COPY_DURABLE; break;
      case 'U': flags |= COPY_NO_URING; break;
      case 'l': flags |= COPY_LINK; break;
      case 'j': json = true; break;
      case 'v': cage_log_verbose++; break;
      case 'h': usage (stdout); return 0;
      default: return cli_bad_option (CMD, argv);
      }
  if (!to)
    return cli_usage_error (CMD, "--to DIR is required");
  if (optind >= argc)
    return cli_usage_error (CMD, "expected at least one STOREPATH");
  for (int i = optind; i < argc; i++)
    if (!entry_name (argv[i]))
      return cli_usage_error (CMD, "`%s` is not a store path (%s/<32-char hash>-<name>)", argv[i],
                              NIX_STORE_DIR);

  struct cage_error err = { 0 };
  autostrv char **paths = NULL;
  if (closure)
    {
      if (strcmp (from, NIX_STORE_DIR) != 0)
        return cli_usage_error (CMD, "--closure works with the host store only (no --from)");
      autofree char **args = calloc ((size_t) (argc - optind) + 1, sizeof (char *));
      if (!args)
        return cage_error_set (&err, ENOMEM, "copy"), cage_error_print (&err, "cagefs", json), 1;
      for (int i = optind; i < argc; i++)
        args[i - optind] = argv[i];
      if (closure_resolve (args, &paths, &err) < 0)
        {
          cage_error_print (&err, "cagefs", json);
          return 1;
        }
    }
  size_t n = closure ? cli_strv_len (paths) : (size_t) (argc - optind);
  autofree const char **names = calloc (n + 1, sizeof (char *));
  if (!names)
    return cage_error_set (&err, ENOMEM, "copy"), cage_error_print (&err, "cagefs", json), 1;
  for (size_t i = 0; i < n; i++)
    names[i] = entry_name (closure ? paths[i] : argv[optind + (int) i]);

  autoclose int src = open (from, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (src < 0)
    {
      cage_error_set (&err, errno, "open the source store `%s`", from);
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  if (mkdir (to, 0755) < 0 && errno != EEXIST)
    {
      cage_error_set (&err, errno, "create the destination `%s`", to);
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  autoclose int dst = open (to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dst < 0)
    {
      cage_error_set (&err, errno, "open the destination `%s`", to);
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  FILE *progress = NULL;
  if (json)
    {
      flags |= COPY_JSON;
      progress = stdout;
    }
  else if (isatty (STDERR_FILENO))
    {
      flags |= COPY_PROGRESS;
      progress = stderr;
    }
  struct copy_stats st;
  if (copy_clean_leftovers (dst, &err) < 0
      || copy_store_paths (src, dst, names, n, flags, progress, &st, &err) < 0)
    {
      cage_error_prefix (&err, "copy into `%s`", to);
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  if (json)
    cli_print_json (json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:b}", "event",
                               "copied", "paths", (json_int_t) st.paths, "skipped",
                               (json_int_t) st.skipped, "files", (json_int_t) st.files, "dirs",
                               (json_int_t) st.dirs, "symlinks", (json_int_t) st.symlinks, "bytes",
                               (json_int_t) st.bytes, "linked", (json_int_t) st.linked, "seconds", st.seconds, "engine",
                               st.engine ? st.engine : "none", "durable",
                               (flags & COPY_DURABLE) != 0));
  else
    printf ("copied %llu store paths (%llu files, %llu hard links, %llu bytes) in %.3f s with %s; "
            "%llu already there\n",
            (unsigned long long) st.paths, (unsigned long long) st.files,
            (unsigned long long) st.linked,
            (unsigned long long) st.bytes, st.seconds, st.engine ? st.engine : "nothing",
            (unsigned long long) st.skipped);
  return 0;
}
