/* cmd_accept.c - `cagefs accept PROJECT [PATH...]` applies the cow view's
   changes to the project, `cagefs discard PROJECT [PATH...]` drops them.

   Both work mounted or not.  Unmounted, the CLI runs review_run (fs/views/review.c)
   itself; mounted, the daemon serves the upper layer and keeps fds into
   it, so the CLI asks it (control.h: <state>/control.sock) and prints its
   reply, the same lines, JSON and exit status.  The daemon runs the same
   review_run, holding off the agent's writes, renames and opens for
   writing, with hooks: a file the cage has open at accept stays in the
   layer with an origin record of the host's new version (same data: no
   change shown; the open fd keeps working), every upper entry that goes
   re-keys the daemon's node to the host's entry, and the kernel's caches
   of what changed are invalidated.  A file open in the cage when it is
   discarded keeps writing into the dropped copy (lost); its next open sees
   the host's version.  A mount without the cow view (or by an older
   cagefs) is refused: one line, the umount command to run.

   accept writes each file as a temporary file next to the
   host's and renames it over (atomic per file); it refuses a file whose
   host copy changed since the agent first saw it (the inode, mtime and size
   recorded at copy-up or deletion; a new file: the host has none) and
   applies nothing of that file.  What is applied or dropped leaves the
   upper layer; folders that no longer differ are pruned. */
#include <getopt.h>
#include <stdio.h>

#include "cleanup.h"
#include "cli.h"
#include "control.h"
#include "lock.h"
#include "log.h"
#include "review.h"

static int
review (int argc, char **argv, enum review what)
{
  const char *cmd = what == REVIEW_ACCEPT ? "accept" : "discard";
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false;
  int c;
  optind = 1;
  while ((c = getopt_long (argc, argv, "jvh", opts, NULL)) != -1)
    switch (c)
      {
      case 'j': json = true; break;
      case 'v': cage_log_verbose++; break;
      case 'h':
        printf ("usage: cagefs %s PROJECT [PATH...] [--json]\n", cmd);
        return 0;
      default: return cli_bad_option (cmd, argv);
      }
  if (optind >= argc)
    return cli_usage_error (cmd, "expected a PROJECT directory");
  struct cage_error err = { 0 };
  struct project_paths pp;
  if (paths_project (argv[optind], false, &pp, &err) < 0)
    {
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  char **sel = argv + optind + 1;
  int rc = 1;
  autoclose int lock = project_lock (&pp, &err);
  if (lock < 0)
    goto fail;
  if (review_mounted (&pp))
    {
      /* The daemon serves the layer: it applies the review (control.h). */
      int r = control_review (&pp, what, sel, json, &rc, &err);
      if (r == 0)
        goto done;
      if (r > 0)
        cage_error_set (&err, 0, "%s: %s is mounted and its daemon applies no review (not the "
                        "cow view, or an older cagefs); run: cagefs umount %s", cmd, pp.project,
                        pp.project);
      goto fail;
    }
  rc = review_run (&pp, what, sel, json, stdout, stderr, NULL);
  goto done;
fail:
  if (json)
    review_print_json (json_pack ("{s:s, s:i}", "error", err.msg, "errno", err.errnum), stdout);
  review_print_error (err.msg, stderr);
  rc = 1;
done:
  paths_free (&pp);
  return rc;
}
int
cmd_accept (int argc, char **argv)
{
  return review (argc, argv, REVIEW_ACCEPT);
}

int
cmd_discard (int argc, char **argv)
{
  return review (argc, argv, REVIEW_DISCARD);
}
