/* run.c - spawn a Nix tool, feed its stdin, collect stdout and stderr. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

struct buf
{
  char *p;
  size_t len, cap;
};

static int
buf_read (struct buf *b, int fd)
{
  if (b->len + 4097 > b->cap)
    {
      size_t cap = b->cap ? b->cap * 2 : 8192;
      while (cap < b->len + 4097)
        cap *= 2;
      char *np = realloc (b->p, cap);
      if (!np)
        return -ENOMEM;
      b->p = np;
      b->cap = cap;
    }
  ssize_t n = read (fd, b->p + b->len, b->cap - b->len - 1);
  if (n < 0)
    return errno == EINTR || errno == EAGAIN ? 1 : -errno;
  b->len += (size_t) n;
  b->p[b->len] = '\0';
  return n == 0 ? 0 : 1;
}

const char *
nix_error_line (char *text)
{
  if (!text)
    return "(no message)";
  char *first = NULL;
  for (char *save = NULL, *l = strtok_r (text, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      while (*l == ' ')
        l++;
      if (strncmp (l, "error: ", 7) == 0)
        return l + 7;
      if (!first && *l)
        first = l;
    }
  return first ? first : "(no message)";
}

void
nix_output_free (struct nix_output *o)
{
  if (!o)
    return;
  free (o->out);
  free (o->errtext);
  o->out = o->errtext = NULL;
  o->out_len = 0;
}

static void
close_pair (int p[2])
{
  for (int i = 0; i < 2; i++)
    if (p[i] >= 0)
      close (p[i]);
}

int
run_capture (char *const *argv, const char *in, size_t in_len, const char *hint,
             struct nix_output *out, int *status_out, struct cage_error *err)
{
  return run_capture_env (argv, environ, in, in_len, hint, out, status_out, err);
}

int
run_capture_env (char *const *argv, char *const *envp, const char *in, size_t in_len,
                 const char *hint, struct nix_output *out, int *status_out,
                 struct cage_error *err)
{
  int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
  struct buf ob = { 0 }, eb = { 0 };
  int rc = -1, oerr = 0;
  size_t written = 0;
  sigset_t pipe_set, old_set;
  if (out)
    *out = (struct nix_output){ 0 };
  if (pipe2 (inp, O_CLOEXEC) < 0 || pipe2 (outp, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0)
    {
      cage_error_set (err, errno, "pipe for %s", argv[0]);
      close_pair (inp);
      close_pair (outp);
      close_pair (errp);
      return -1;
    }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, inp[0], 0);
  posix_spawn_file_actions_adddup2 (&fa, outp[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, errp[1], 2);
  pid_t pid;
  int src = posix_spawnp (&pid, argv[0], &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy (&fa);
  close (inp[0]);
  close (outp[1]);
  close (errp[1]);
  int wfd = inp[1], ofd = outp[0], efd = errp[0];
  if (src != 0)
    {
      close (wfd);
      close (ofd);
      close (efd);
      return cage_error_set (err, src, "run %s (%s)", argv[0], hint);
    }
  if (!in || in_len == 0)
    {
      close (wfd);
      wfd = -1;
    }
  else if (fcntl (wfd, F_SETFL, O_NONBLOCK) < 0)
    {
      oerr = errno;
      kill (pid, SIGKILL);
      close (wfd);
      close (ofd);
      close (efd);
      ofd = efd = -1;
      cage_error_set (err, oerr, "pipe for %s", argv[0]);
      goto reap;
    }
  /* The tool may stop reading its stdin early: don't die of SIGPIPE. */
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old_set);
  while (ofd >= 0 || efd >= 0)
    {
      struct pollfd p[3] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 }, { wfd, POLLOUT, 0 } };
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          oerr = errno;
          break;
        }
      for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0 && p[i].revents)
          {
            int r = buf_read (i == 0 ? &ob : &eb, p[i].fd);
            if (r < 0)
              oerr = -r;
            if (r <= 0)
              {
                close (p[i].fd);
                *(i == 0 ? &ofd : &efd) = -1;
              }
          }
      if (wfd >= 0 && p[2].revents)
        {
          ssize_t n = write (wfd, in + written, in_len - written);
          if (n > 0)
            written += (size_t) n;
          if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == in_len)
            {
              close (wfd);
              wfd = -1;
            }
        }
    }
  if (wfd >= 0)
    close (wfd);
  /* Drop a SIGPIPE raised while it was blocked, then restore the mask. */
  struct timespec zero = { 0, 0 };
  while (sigtimedwait (&pipe_set, NULL, &zero) > 0)
    ;
  pthread_sigmask (SIG_SETMASK, &old_set, NULL);
  if (oerr)
    cage_error_set (err, oerr, "read the output of %s", argv[0]);

reap:;
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        cage_error_set (err, errno, "wait for %s", argv[0]);
        goto out;
      }
  if (ofd >= 0)
    close (ofd);
  if (efd >= 0)
    close (efd);
  if (oerr)
    goto out;
  if (!ob.p && !(ob.p = calloc (1, 1)))
    {
      cage_error_set (err, ENOMEM, "output of %s", argv[0]);
      goto out;
    }
  if (!eb.p && !(eb.p = calloc (1, 1)))
    {
      cage_error_set (err, ENOMEM, "output of %s", argv[0]);
      goto out;
    }
  *status_out = status;
  rc = 0;
  if (out)
    {
      out->out = ob.p;
      out->out_len = ob.len;
      out->errtext = eb.p;
      ob.p = eb.p = NULL;
    }
out:
  free (ob.p);
  free (eb.p);
  return rc;
}

int
nix_run (char *const *argv, const char *in, size_t in_len, struct nix_output *out,
         struct cage_error *err)
{
  struct nix_output o;
  int status;
  if (run_capture (argv, in, in_len, "is nix-bin installed? apt-get install nix-bin", &o, &status,
                   err) < 0)
    {
      if (out)
        *out = (struct nix_output){ 0 };
      return -1;
    }
  int rc = 0;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      autofree char *copy = strdup (o.errtext);
      /* Name the subcommand: `nix --extra-experimental-features X copy`. */
      const char *sub = argv[1] ? argv[1] : "";
      if (argv[1] && argv[2] && argv[3] && !strcmp (argv[1], "--extra-experimental-features"))
        sub = argv[3];
      rc = cage_error_set (err, 0, "%s %s failed: %s%s", argv[0], sub,
                           copy ? nix_error_line (copy) : "(out of memory)",
                           strstr (o.errtext, "daemon-socket") ? "; run `cagefs doctor`" : "");
    }
  if (out)
    *out = o;
  else
    nix_output_free (&o);
  return rc;
}
