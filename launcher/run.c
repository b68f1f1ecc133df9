/* run.c - `cage run PROJECT [MOUNT-OPTIONS] [EXEC-OPTIONS] -- CMD`: mount
   the project when it is not mounted (cagefs mount, the cagefs next to
   this cage), run CMD as `cage exec` does, and unmount afterwards when this
   run mounted it.  Without mount options a mounted project is used as it
   is; with them, cagefs mount checks that the mount has that configuration.
   The exit status is CMD's; 125 when the mount fails. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "launcher.h"
#include "log.h"
#include "mount_options.h"

extern char **environ;

/* The mount options `cage run` hands to cagefs mount: every one of
   common/mount_options.h's table. */
/* cage exec's options that take a value (kept with it). */
static const char *const exec_value_opts[] = { "--env", "--pass-env", "--memory", "--cpus",
                                               "--pids", "--nofile", "--seccomp", NULL };

/* Is A one of OPTS, as `OPT` or `OPT=VALUE`?  *INLINE_VALUE: the latter. */
static bool
is_opt (const char *a, const char *const *opts, bool *inline_value)
{
  for (const char *const *o = opts; *o; o++)
    {
      size_t n = strlen (*o);
      if (strncmp (a, *o, n) == 0 && (a[n] == '\0' || a[n] == '='))
        {
          if (inline_value)
            *inline_value = a[n] == '=';
          return true;
        }
    }
  return false;
}

/* The cagefs next to our own binary, else "cagefs" (PATH). */
static char *
cagefs_path (void)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n > 0)
    {
      self[n] = '\0';
      char *slash = strrchr (self, '/');
      if (slash && (size_t) (slash - self) + sizeof "/cagefs" <= sizeof self)
        {
          strcpy (slash, "/cagefs");
          if (access (self, X_OK) == 0)
            return strdup (self);
        }
    }
  return strdup ("cagefs");
}

/* Run ARGV; its stdout into *OUT (may be NULL: to /dev/null); stderr is
   ours.  Returns its wait status, or -1 with ERR. */
static int
run_cagefs (char **argv, char **out, struct cage_error *err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return cage_error_set (err, errno, "pipe for cagefs");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, p[1], 1);
  pid_t pid;
  int r = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (p[1]);
  if (r != 0)
    {
      close (p[0]);
      return cage_error_set (err, r, "run `%s` (it is installed next to cage)", argv[0]);
    }
  size_t len = 0, cap = 4096;
  char *buf = malloc (cap);
  for (;;)
    {
      if (buf && len + 1 >= cap)
        {
          char *nb = realloc (buf, cap *= 2);
          if (!nb)
            {
              free (buf);
              buf = NULL;
            }
          else
            buf = nb;
        }
      char sink[4096];
      ssize_t n = buf ? read (p[0], buf + len, cap - len - 1) : read (p[0], sink, sizeof sink);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (buf)
        len += (size_t) n;
    }
  close (p[0]);
  if (buf)
    buf[len] = '\0';
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        free (buf);
        return cage_error_set (err, errno, "wait for cagefs");
      }
  if (out)
    *out = buf;
  else
    free (buf);
  return status;
}

int
cage_run (int argc, char **argv, char **proc_argv)
{
  bool json = false;
  for (int i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    if (strcmp (argv[i], "--json") == 0)
      json = true;
  struct cage_error err = { 0 };
  autofree char *cagefs = cagefs_path ();
  /* mount: cagefs mount PROJECT --json OPTS...; exec: run OPTS... PROJECT -- CMD */
  char **margv = calloc ((size_t) argc + 6, sizeof *margv);
  char **eargv = calloc ((size_t) argc + 2, sizeof *eargv);
  if (!cagefs || !margv || !eargv)
    {
      free (margv);
      free (eargv);
      cage_error_set (&err, ENOMEM, "run");
      cage_error_print (&err, "cage", json);
      return CAGE_EXIT_FAILURE;
    }
  int mc = 0, ec = 0, i;
  const char *project = NULL;
  margv[mc++] = cagefs;
  margv[mc++] = (char *) "mount";
  margv[mc++] = NULL; /* PROJECT, below */
  margv[mc++] = (char *) "--json";
  eargv[ec++] = (char *) "run";
  for (i = 1; i < argc && strcmp (argv[i], "--") != 0; i++)
    {
      bool inl = false;
      const struct mount_option *mo = mount_option_find (argv[i], &inl);
      if (mo)
        {
          margv[mc++] = argv[i];
          if (mo->arg && !inl && i + 1 < argc)
            margv[mc++] = argv[++i];
          continue;
        }
      if (is_opt (argv[i], exec_value_opts, &inl))
        {
          eargv[ec++] = argv[i];
          if (!inl && i + 1 < argc)
            eargv[ec++] = argv[++i];
          continue;
        }
      if (strcmp (argv[i], "-v") == 0)
        margv[mc++] = argv[i];
      if (argv[i][0] != '-' && !project)
        project = argv[i];
      else if (argv[i][0] != '-')
        break; /* the command, without `--` */
      eargv[ec++] = argv[i];
    }
  for (; i < argc; i++)
    eargv[ec++] = argv[i];
  eargv[ec] = NULL;
  margv[mc] = NULL;
  int rc = CAGE_EXIT_FAILURE;
  bool mounted = false;
  for (int k = 1; !project && k < argc && strcmp (argv[k], "--") != 0; k++)
    if (strcmp (argv[k], "-h") == 0 || strcmp (argv[k], "--help") == 0)
      {
        printf ("usage: cage run PROJECT [MOUNT-OPTIONS] [EXEC-OPTIONS] -- CMD [ARGS...]\n"
                "  mount PROJECT if needed (cagefs mount), run CMD as cage exec does, and\n"
                "  unmount afterwards if it mounted; the exit status is CMD's\n"
                "  (see cage --help for the options)\n");
        rc = 0;
        goto out;
      }
  if (!project)
    {
      cage_error_set (&err, 0, "run: missing PROJECT; usage: cage run PROJECT [OPTIONS] -- CMD "
                      "[ARGS...]");
      cage_error_print (&err, "cage", json);
      goto out;
    }
  for (int k = 1; k < ec; k++)
    if (strcmp (eargv[k], "-h") == 0 || strcmp (eargv[k], "--help") == 0)
      {
        rc = cage_main_exec (ec, eargv, proc_argv);
        goto out;
      }
  margv[2] = (char *) project;
  if (mc == 4)
    {
      /* No mount options: a mount that is there is used as it is. */
      char *sargv[] = { cagefs, (char *) "status", (char *) project, NULL };
      int st = run_cagefs (sargv, NULL, &err);
      if (st >= 0 && WIFEXITED (st) && WEXITSTATUS (st) == 0)
        {
          rc = cage_main_exec (ec, eargv, proc_argv);
          goto out;
        }
    }
  {
    autofree char *out = NULL;
    int st = run_cagefs (margv, &out, &err);
    if (st < 0)
      {
        cage_error_print (&err, "cage", json);
        goto out;
      }
    if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
      {
        /* cagefs said why on stderr; as JSON too when asked */
        if (json && out)
          fputs (out, stdout);
        goto out;
      }
    json_error_t je;
    json_auto_t *o = out ? json_loads (out, 0, &je) : NULL;
    mounted = o && json_is_false (json_object_get (o, "already_mounted"));
    cage_info ("run: %s %s", project, mounted ? "mounted" : "was mounted already");
  }
  rc = cage_main_exec (ec, eargv, proc_argv);
  if (mounted)
    {
      char *uargv[] = { cagefs, (char *) "umount", (char *) project, NULL };
      int st = run_cagefs (uargv, NULL, &err);
      if (st < 0)
        cage_warn ("run: unmount %s: %s", project, err.msg);
      else if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
        cage_warn ("run: cagefs umount %s failed; run it again", project);
    }

out:
  free (margv);
  free (eargv);
  return rc;
}
