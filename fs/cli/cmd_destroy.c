/* cmd_destroy.c - `cagefs destroy PROJECT [--yes]`: unmount the project if
   it is mounted, then remove its whole state folder (mount points, home,
   logs, a copy or isolated mode's private store).  Asks first on a
   terminal; without one, --yes is required.

   The folder is removed with *at() calls beneath its parent: symlinks are
   removed, never followed; read-only folders (a private store's are 0555)
   are made writable first; nothing on another filesystem is entered, and
   nothing is removed while anything is mounted below the folder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "rmtree.h"
#include "state_dirs.h"
#include "state.h"
#include "cmd_umount.h"

/* Is anything mounted at DIR or below it?  (mountinfo's field 5, with its
   \ooo escapes undone.) */
static int
mounted_below (const char *dir, char *found, size_t size, struct cage_error *err)
{
  autofclose FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (!f)
    return cage_error_set (err, errno, "read `/proc/self/mountinfo`");
  size_t len = strlen (dir);
  autofree char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) > 0)
    {
      char mp[PATH_MAX];
      if (sscanf (line, "%*s %*s %*s %*s %4095s", mp) != 1)
        continue;
      size_t j = 0;
      for (size_t i = 0; mp[i]; i++)
        if (mp[i] == '\\' && mp[i + 1] && mp[i + 2] && mp[i + 3])
          {
            mp[j++] = (char) (((mp[i + 1] - '0') << 6) | ((mp[i + 2] - '0') << 3)
                              | (mp[i + 3] - '0'));
            i += 3;
          }
        else
          mp[j++] = mp[i];
      mp[j] = '\0';
      if (strncmp (mp, dir, len) == 0 && (mp[len] == '\0' || mp[len] == '/'))
        {
          snprintf (found, size, "%s", mp);
          return 1;
        }
    }
  return 0;
}

/* PROJECT's paths; a project folder that is gone still has its state,
   found under the absolute path it had. */
static int
resolve (const char *project, struct project_paths *pp, struct cage_error *err)
{
  if (paths_project (project, false, pp, err) == 0)
    return 0;
  if (err->errnum != ENOENT)
    return -1;
  struct cage_error first = *err;
  autofree char *abs = NULL;
  if (project[0] == '/')
    abs = strdup (project);
  else
    {
      autofree char *cwd = getcwd (NULL, 0);
      if (cwd && asprintf (&abs, "%s/%s", cwd, project) < 0)
        abs = NULL;
    }
  if (!abs || paths_project_gone (abs, pp, err) < 0)
    {
      *err = first;
      return -1;
    }
  autofree char *recorded = state_dirs_project_of (pp->state);
  if (!recorded || strcmp (recorded, pp->project) != 0)
    {
      paths_free (pp);
      *err = first;
      return -1;
    }
  return 0;
}

/* Ask on the terminal.  1: yes, 0: no, -1: no terminal (ERR set). */
static int
confirm (const struct project_paths *pp, struct cage_error *err)
{
  if (!isatty (STDIN_FILENO))
    return cage_error_set (err, 0, "destroy: stdin is not a terminal to confirm on; nothing "
                           "removed; pass --yes to remove %s without asking", pp->state);
  struct cage_state st;
  bool have = state_read (pp->state_json, &st, NULL) == 0;
  bool mounted = have && state_daemon_alive (&st);
  if (have)
    state_free (&st);
  fprintf (stderr, "cagefs: remove %s, all the state of %s (its home, logs and any private store)%s? "
           "[y/N] ", pp->state, pp->project, mounted ? ", after unmounting it" : "");
  fflush (stderr);
  autofree char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, stdin);
  if (n <= 0)
    return 0;
  line[strcspn (line, "\r\n")] = '\0';
  return strcasecmp (line, "y") == 0 || strcasecmp (line, "yes") == 0;
}

int
cmd_destroy (int argc, char **argv)
{
  static const struct option opts[] = {
    { "yes", no_argument, NULL, 'y' },
    { "json", no_argument, NULL, 'j' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false, yes = false;
  int c;
  optind = 1;
  opterr = 0; /* one error line, ours */
  while ((c = getopt_long (argc, argv, "yjvh", opts, NULL)) != -1)
    {
      if (c == 'y')
        yes = true;
      else if (c == 'j')
        json = true;
      else if (c == 'v')
        cage_log_verbose++;
      else if (c == 'h')
        {
          printf ("usage: cagefs destroy PROJECT [--yes] [--json]\n"
                  "unmount PROJECT if it is mounted and remove its whole state folder\n"
                  "(home, logs, private store); asks first unless --yes\n");
          return 0;
        }
      else
        return cli_usage_error ("destroy", "unknown option `%s`", argv[optind - 1]);
    }
  if (optind != argc - 1)
    return cli_usage_error ("destroy", "expected exactly one PROJECT directory");

  struct cage_error err = { 0 };
  struct project_paths pp;
  if (resolve (argv[optind], &pp, &err) < 0)
    {
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  int rc = 1;
  bool was_mounted = false;
  autoclose int lock = -1;
  struct stat sb;
  if (lstat (pp.state, &sb) < 0)
    {
      if (errno != ENOENT)
        {
          cage_error_set (&err, errno, "stat `%s`", pp.state);
          goto out;
        }
      if (json)
        cli_print_json (json_pack ("{s:s, s:s, s:b, s:b}", "project", pp.project, "state_dir",
                                   pp.state, "was_mounted", false, "removed", false));
      else
        printf ("%s: no state to remove\n", pp.project);
      rc = 0;
      goto out;
    }
  if (!S_ISDIR (sb.st_mode))
    {
      cage_error_set (&err, ENOTDIR, "state folder `%s`", pp.state);
      goto out;
    }
  if (!yes)
    {
      int r = confirm (&pp, &err);
      if (r < 0)
        goto out;
      if (r == 0)
        {
          cage_error_set (&err, 0, "destroy: not confirmed; nothing removed");
          goto out;
        }
    }

  if ((lock = project_lock (&pp, &err)) < 0)
    goto out;
  if (project_umount (&pp, &was_mounted, &err) < 0)
    goto out;
  char busy[PATH_MAX];
  int m = mounted_below (pp.state, busy, sizeof busy, &err);
  if (m < 0)
    goto out;
  if (m > 0)
    {
      cage_error_set (&err, EBUSY, "`%s` is still mounted; nothing removed", busy);
      goto out;
    }
  {
    autofree char *parent = strdup (pp.state);
    char *slash = parent ? strrchr (parent, '/') : NULL;
    if (!slash || slash == parent)
      {
        cage_error_set (&err, EINVAL, "state folder `%s`", pp.state);
        goto out;
      }
    *slash = '\0';
    autoclose int pfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
      {
        cage_error_set (&err, errno, "open `%s`", parent);
        goto out;
      }
    if (rmtree_at (pfd, parent, slash + 1, sb.st_dev, 0, NULL, &err) < 0)
      {
        cage_error_prefix (&err, "destroy %s", pp.project);
        goto out;
      }
  }
  if (json)
    cli_print_json (json_pack ("{s:s, s:s, s:b, s:b}", "project", pp.project, "state_dir",
                               pp.state, "was_mounted", was_mounted, "removed", true));
  else
    printf ("removed %s\n", pp.state);
  rc = 0;
out:
  if (rc != 0)
    cage_error_print (&err, "cagefs", json);
  paths_free (&pp);
  return rc;
}
