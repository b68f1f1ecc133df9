#include "closure.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "storepath.h"

extern char **environ;

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Read all of FD into a NUL-terminated buffer. */
static char *
read_all (int fd, size_t *len_out)
{
  size_t cap = 4096, len = 0;
  char *buf = malloc (cap);
  if (!buf)
    return NULL;
  for (;;)
    {
      if (len + 1 >= cap)
        {
          char *nb = realloc (buf, cap * 2);
          if (!nb)
            {
              free (buf);
              return NULL;
            }
          buf = nb;
          cap *= 2;
        }
      ssize_t n = read (fd, buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  buf[len] = '\0';
  if (len_out)
    *len_out = len;
  return buf;
}

/* First line of TEXT, trimmed of "error: " and trailing newline. */
static const char *
first_error_line (char *text)
{
  char *s = text;
  while (*s == '\n' || *s == ' ')
    s++;
  char *nl = strchr (s, '\n');
  if (nl)
    *nl = '\0';
  if (strncmp (s, "error: ", 7) == 0)
    s += 7;
  return s;
}

int
closure_resolve (char *const *packages, char ***out, struct cage_error *err)
{
  *out = NULL;
  size_t n = 0;
  for (; packages && packages[n]; n++)
    {
      const char *p = packages[n];
      if (!storepath_valid (p))
        return cage_error_set (err, 0,
                               "package `%s` is not a store path (expected %s/<32-char hash>-<name>); "
                               "pass a path printed by nix-build or nix-store --add",
                               p, NIX_STORE_DIR);
      struct stat st;
      if (lstat (p, &st) < 0)
        return cage_error_set (err, errno, "package `%s`", p);
    }
  if (n == 0)
    {
      *out = calloc (1, sizeof (char *));
      return *out ? 0 : cage_error_set (err, ENOMEM, "closure");
    }

  /* argv: nix-store --query --requisites -- P... */
  autofree char **argv = calloc (n + 5, sizeof (char *));
  if (!argv)
    return cage_error_set (err, ENOMEM, "closure");
  size_t a = 0;
  argv[a++] = (char *) "nix-store";
  argv[a++] = (char *) "--query";
  argv[a++] = (char *) "--requisites";
  for (size_t i = 0; i < n; i++)
    argv[a++] = packages[i];
  argv[a] = NULL;

  int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
  if (pipe2 (outp, O_CLOEXEC) < 0)
    return cage_error_set (err, errno, "pipe for nix-store");
  if (pipe2 (errp, O_CLOEXEC) < 0)
    {
      close (outp[0]);
      close (outp[1]);
      return cage_error_set (err, errno, "pipe for nix-store");
    }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, outp[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, errp[1], 2);
  pid_t pid;
  int rc = posix_spawnp (&pid, "nix-store", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (outp[1]);
  close (errp[1]);
  autoclose int ofd = outp[0];
  autoclose int efd = errp[0];
  if (rc != 0)
    return cage_error_set (err, rc, "run nix-store (is nix-bin installed? apt-get install nix-bin)");

  /* nix-store's output is small; read stdout then stderr (stderr fits a pipe
     buffer in the error case, and is empty in the success case). */
  size_t olen = 0;
  autofree char *obuf = read_all (ofd, &olen);
  autofree char *ebuf = read_all (efd, NULL);
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return cage_error_set (err, errno, "wait for nix-store");
  if (!obuf || !ebuf)
    return cage_error_set (err, ENOMEM, "nix-store output");
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return cage_error_set (err, 0, "nix-store --query --requisites failed: %s",
                           first_error_line (ebuf));

  size_t cap = 16, cnt = 0;
  char **v = calloc (cap + 1, sizeof *v);
  if (!v)
    return cage_error_set (err, ENOMEM, "closure");
  for (char *save = NULL, *line = strtok_r (obuf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      if (!storepath_valid (line))
        {
          cage_strv_free (v);
          return cage_error_set (err, 0, "nix-store printed `%s`, which is not a store path", line);
        }
      if (cnt == cap)
        {
          char **nv = realloc (v, (cap * 2 + 1) * sizeof *v);
          if (!nv)
            {
              cage_strv_free (v);
              return cage_error_set (err, ENOMEM, "closure");
            }
          v = nv;
          cap *= 2;
        }
      v[cnt] = strdup (line);
      if (!v[cnt])
        {
          cage_strv_free (v);
          return cage_error_set (err, ENOMEM, "closure");
        }
      v[++cnt] = NULL;
    }
  qsort (v, cnt, sizeof *v, cmp_str);
  size_t w = 0;
  for (size_t i = 0; i < cnt; i++)
    {
      if (w > 0 && strcmp (v[w - 1], v[i]) == 0)
        free (v[i]);
      else
        v[w++] = v[i];
    }
  v[w] = NULL;
  *out = v;
  return 0;
}
