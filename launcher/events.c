/* events.c - `cage exec --json`: what happens in the cage, as NDJSON.

   One JSON object a line on stdout (see launcher.h for the events).  The
   agent's stdout and stderr are pipes that the outer cage reads; each
   chunk read becomes one event, in the order the chunks came.  A chunk is
   "data" (a JSON string) when it is UTF-8; a character that a read cut in
   two is held back and starts the next chunk.  Anything else (a binary
   chunk) comes whole as "data_b64" (base64, RFC 4648, with padding).  */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

/* Write O (stolen) as one line on stdout. */
static int
emit (json_t *o, struct cage_error *err)
{
  if (!o)
    return cage_error_set (err, ENOMEM, "make an event");
  char *s = json_dumps (o, JSON_COMPACT);
  json_decref (o);
  if (!s)
    return cage_error_set (err, ENOMEM, "print an event");
  size_t n = strlen (s);
  char *line = realloc (s, n + 2);
  if (!line)
    {
      free (s);
      return cage_error_set (err, ENOMEM, "print an event");
    }
  line[n] = '\n';
  int rc = write_all (STDOUT_FILENO, line, n + 1);
  int e = errno;
  free (line);
  if (rc < 0)
    return cage_error_set (err, e, "write an event on stdout");
  return 0;
}

int
events_start (pid_t pid, json_t *namespaces, json_t *limits, struct cage_error *err)
{
  return emit (json_pack ("{s:s, s:I, s:o, s:o}", "event", "start", "pid", (json_int_t) pid,
                          "namespaces", namespaces ? namespaces : json_array (), "limits",
                          limits ? limits : json_object ()),
               err);
}

static char *
base64 (const unsigned char *p, size_t n)
{
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc ((n + 2) / 3 * 4 + 1), *o = out;
  if (!out)
    return NULL;
  size_t i = 0;
  for (; i + 2 < n; i += 3)
    {
      unsigned v = (unsigned) p[i] << 16 | (unsigned) p[i + 1] << 8 | p[i + 2];
      *o++ = abc[v >> 18 & 63];
      *o++ = abc[v >> 12 & 63];
      *o++ = abc[v >> 6 & 63];
      *o++ = abc[v & 63];
    }
  if (i < n)
    {
      unsigned v = (unsigned) p[i] << 16 | (i + 1 < n ? (unsigned) p[i + 1] << 8 : 0);
      *o++ = abc[v >> 18 & 63];
      *o++ = abc[v >> 12 & 63];
      *o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
      *o++ = '=';
    }
  *o = '\0';
  return out;
}

/* How many bytes at the end of P (N bytes) start a UTF-8 character that
   is not complete yet (0 to 3).  */
static size_t
cut_char (const unsigned char *p, size_t n)
{
  for (size_t k = 1; k <= 3 && k <= n; k++)
    {
      unsigned char c = p[n - k];
      if ((c & 0xC0) == 0x80)
        continue; /* a continuation byte: look further back */
      size_t want = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      return want > k ? k : 0;
    }
  return 0;
}

/* One stream of the agent's: its name, fd, and a held-back partial
   character.  */
struct stream
{
  const char *name;
  int fd;
  unsigned char held[4];
  size_t n_held;
};

/* Emit P (N bytes) as a chunk of S; the last bytes of a character cut in
   two are held back unless AT_END.  */
static int
emit_chunk (struct stream *s, const unsigned char *p, size_t n, bool at_end,
            struct cage_error *err)
{
  size_t keep = at_end ? 0 : cut_char (p, n);
  json_t *data = n - keep > 0 ? json_stringn ((const char *) p, n - keep) : NULL;
  if (n - keep > 0 && !data)
    {
      /* not UTF-8: the whole chunk, as base64 */
      char *b = base64 (p, n);
      if (!b)
        return cage_error_set (err, ENOMEM, "encode a chunk");
      json_t *o = json_pack ("{s:s, s:s}", "event", s->name, "data_b64", b);
      free (b);
      s->n_held = 0;
      return emit (o, err);
    }
  memcpy (s->held, p + n - keep, keep);
  s->n_held = keep;
  if (!data)
    return 0;
  return emit (json_pack ("{s:s, s:o}", "event", s->name, "data", data), err);
}

/* Read S once: -1 on error, 0 at end-of-file (S closed), 1 otherwise. */
static int
pump (struct stream *s, struct cage_error *err)
{
  unsigned char buf[65536 + sizeof s->held];
  memcpy (buf, s->held, s->n_held);
  ssize_t n = read (s->fd, buf + s->n_held, 65536);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 1;
  if (n < 0)
    return cage_error_set (err, errno, "read the command's %s", s->name);
  if (n == 0)
    {
      close (s->fd);
      s->fd = -1;
      if (s->n_held && emit_chunk (s, s->held, s->n_held, true, err) < 0)
        return -1;
      return 0;
    }
  return emit_chunk (s, buf, s->n_held + (size_t) n, false, err) < 0 ? -1 : 1;
}

int
events_relay (int out_fd, int err_fd, struct cage_error *err)
{
  struct stream st[2] = { { .name = "stdout", .fd = out_fd }, { .name = "stderr", .fd = err_fd } };
  int rc = 0;
  /* A reader that went away is EPIPE, not our death (the agent, forked
     already, keeps the default).  */
  if (signal (SIGPIPE, SIG_IGN) == SIG_ERR)
    rc = cage_error_set (err, errno, "ignore SIGPIPE");
  while (rc == 0 && (st[0].fd >= 0 || st[1].fd >= 0))
    {
      struct pollfd p[2] = { { .fd = st[0].fd, .events = POLLIN },
                             { .fd = st[1].fd, .events = POLLIN } };
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue; /* a forwarded signal (reaper.c) */
          rc = cage_error_set (err, errno, "poll the command's stdout and stderr");
          break;
        }
      for (int i = 0; i < 2 && rc == 0; i++)
        if (st[i].fd >= 0 && p[i].revents && pump (&st[i], err) < 0)
          rc = -1;
    }
  /* (on failure: the command gets SIGPIPE or EPIPE on its next write) */
  for (int i = 0; i < 2; i++)
    if (st[i].fd >= 0)
      close (st[i].fd);
  return rc;
}

int
events_exit (int wstatus, const struct timespec *started, struct cage_error *err)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  long long ms = (long long) (now.tv_sec - started->tv_sec) * 1000
                 + (now.tv_nsec - started->tv_nsec) / 1000000;
  json_t *sig = WIFSIGNALED (wstatus) ? json_integer (WTERMSIG (wstatus)) : json_null ();
  return emit (json_pack ("{s:s, s:i, s:o, s:I}", "event", "exit", "code",
                          reaper_exit_code (wstatus), "signal", sig, "duration_ms",
                          (json_int_t) ms),
               err);
}
