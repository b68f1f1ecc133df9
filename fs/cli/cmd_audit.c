/* cmd_audit.c - `cagefs audit PROJECT [--follow] [--json]`: what the agent
   was refused, from the daemon's audit log (fs/daemon/audit.h).  A line a refusal:
   "12:03:04.123 lookup /workspace/.env hidden (pid 123 cat)", a network
   one "12:03:05.001 connect evil.example:443 denied (pid 124 curl): not in
   the network allowlist" (pid left out when unknown; an allowed
   connection's entry ends "517 bytes up, 4096 down"), or the raw
   NDJSON with --json.  --follow keeps printing new entries (the file is
   polled; a rotation is followed) until interrupted. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "paths.h"
#include "term_escape.h"

#define POLL_MS 100

/* Print one NDJSON line (without its newline). */
static void
print_entry (const char *s, size_t len, bool json)
{
  if (len == 0)
    return;
  if (json)
    {
      fwrite (s, 1, len, stdout);
      fputc ('\n', stdout);
      return;
    }
  json_error_t jerr;
  json_t *o = json_loadb (s, len, 0, &jerr);
  if (!o || !json_is_object (o))
    {
      /* Not ours (or cut): show it rather than lose it, escaped. */
      char *e = term_escape (s, len, 0);
      printf ("? %s\n", e ? e : "(out of memory)");
      free (e);
      json_decref (o);
      return;
    }
  const char *time = json_string_value (json_object_get (o, "time"));
  const char *op = json_string_value (json_object_get (o, "op"));
  const char *path = json_string_value (json_object_get (o, "path"));
  const char *result = json_string_value (json_object_get (o, "result"));
  const char *process = json_string_value (json_object_get (o, "process"));
  const char *reason = json_string_value (json_object_get (o, "reason"));
  const char *host = json_string_value (json_object_get (o, "host"));
  json_int_t port = json_integer_value (json_object_get (o, "port"));
  json_t *jpid = json_object_get (o, "pid");
  json_t *up = json_object_get (o, "bytes_up"), *down = json_object_get (o, "bytes_down");
  json_int_t pid = json_integer_value (jpid);
  json_int_t supp = json_integer_value (json_object_get (o, "suppressed"));
  /* "2026-11-24T12:03:04.123+01:00": the clock time is 11..22. */
  char clock[16] = "?";
  if (time && strlen (time) >= 23)
    snprintf (clock, sizeof clock, "%.12s", time + 11);
  /* The path and the process name are the agent's: escaped (a newline
     would forge an entry, an escape sequence act on the terminal). */
  term_fputs (clock, 0, stdout);
  putchar (' ');
  term_fputs (op ? op : "?", 0, stdout);
  putchar (' ');
  if (!path && host)
    {
      /* a network entry (the egress proxy's): HOST:PORT */
      term_fputs (host, 0, stdout);
      if (port > 0)
        printf (":%lld", (long long) port);
    }
  else
    term_fputs (path ? path : "?", 0, stdout);
  putchar (' ');
  term_fputs (result ? result : "?", 0, stdout);
  if (jpid)
    {
      printf (" (pid %lld ", (long long) pid);
      term_fputs (process && *process ? process : "?", 0, stdout);
      putchar (')');
    }
  if (json_is_integer (up) && json_is_integer (down))
    printf (" %lld bytes up, %lld down", (long long) json_integer_value (up),
            (long long) json_integer_value (down));
  if (reason && *reason)
    {
      fputs (": ", stdout);
      term_fputs (reason, 0, stdout);
    }
  if (supp > 0)
    printf (" [%lld earlier entries dropped by the rate limit]", (long long) supp);
  putchar ('\n');
  json_decref (o);
}

/* A reader of one file: whole lines out, a partial line kept. */
struct reader
{
  int fd;
  ino_t ino;
  char buf[65536];
  size_t len;
};

/* Print what FD has now.  Returns 0, or -1 with ERR set. */
static int
drain (struct reader *r, const char *path, bool json, struct cage_error *err)
{
  for (;;)
    {
      if (r->len == sizeof r->buf)
        {
          /* A line longer than the buffer: print it in pieces. */
          print_entry (r->buf, r->len, json);
          r->len = 0;
        }
      ssize_t n = read (r->fd, r->buf + r->len, sizeof r->buf - r->len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return cage_error_set (err, errno, "read the audit log `%s`", path);
      if (n == 0)
        break;
      r->len += (size_t) n;
      char *start = r->buf, *nl;
      while ((nl = memchr (start, '\n', r->len - (size_t) (start - r->buf))))
        {
          print_entry (start, (size_t) (nl - start), json);
          start = nl + 1;
        }
      r->len -= (size_t) (start - r->buf);
      memmove (r->buf, start, r->len);
    }
  fflush (stdout);
  return 0;
}

/* Open PATH into R.  Returns 1 when opened, 0 when it does not exist. */
static int
reader_open (struct reader *r, const char *path, struct cage_error *err)
{
  r->len = 0;
  r->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return cage_error_set (err, errno, "open the audit log `%s`", path);
    }
  struct stat st;
  if (fstat (r->fd, &st) < 0)
    {
      int e = errno;
      close (r->fd);
      r->fd = -1;
      return cage_error_set (err, e, "stat the audit log `%s`", path);
    }
  r->ino = st.st_ino;
  return 1;
}

static int
print_file (const char *path, bool json, struct cage_error *err)
{
  static struct reader r;
  int o = reader_open (&r, path, err);
  if (o <= 0)
    return o;
  int rc = drain (&r, path, json, err);
  if (rc == 0 && r.len)
    print_entry (r.buf, r.len, json);
  close (r.fd);
  return rc;
}

/* Print PATH's entries, then with FOLLOW new ones as they come, forever
   (until a signal ends us).  A rotation is followed: the old file is
   finished, the new one read from its start. */
static int
print_current (const char *path, bool json, bool follow, struct cage_error *err)
{
  static struct reader r;
  r.fd = -1;
  if (reader_open (&r, path, err) < 0)
    return -1;
  for (;;)
    {
      if (r.fd >= 0 && drain (&r, path, json, err) < 0)
        return -1;
      if (!follow)
        break;
      struct stat st;
      if (stat (path, &st) == 0 && (r.fd < 0 || st.st_ino != r.ino))
        {
          if (r.fd >= 0)
            {
              if (drain (&r, path, json, err) < 0)
                return -1;
              close (r.fd);
            }
          r.fd = -1;
          if (reader_open (&r, path, err) < 0)
            return -1;
          continue;
        }
      struct timespec ts = { 0, POLL_MS * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  if (r.fd >= 0)
    {
      if (r.len)
        print_entry (r.buf, r.len, json);
      close (r.fd);
    }
  fflush (stdout);
  return 0;
}

int
cmd_audit (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "follow", no_argument, NULL, 'f' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false, follow_ = false;
  int c;
  optind = 1;
  opterr = 0; /* one error line: ours */
  while ((c = getopt_long (argc, argv, "jfvh", opts, NULL)) != -1)
    {
      if (c == 'h')
        {
          printf ("usage: cagefs audit PROJECT [--follow] [--json]\n"
                  "  print what the agent was refused (the project's audit log)\n");
          return 0;
        }
      if (c == 'j')
        json = true;
      else if (c == 'f')
        follow_ = true;
      else if (c == 'v')
        cage_log_verbose++;
      else
        return cli_usage_error ("audit", "unknown option `%s` (valid: --follow, --json, -v)",
                                argv[optind - 1]);
    }
  if (optind != argc - 1)
    return cli_usage_error ("audit", "expected exactly one PROJECT directory");
  const char *project = argv[optind];

  struct cage_error err = { 0 };
  struct project_paths pp;
  if (paths_project (project, false, &pp, &err) < 0)
    {
      cage_error_print (&err, "cagefs", json);
      return 1;
    }
  autofree char *old = NULL;
  int rc = 0;
  if (asprintf (&old, "%s.1", pp.audit) < 0)
    {
      old = NULL;
      rc = cage_error_set (&err, ENOMEM, "audit log");
    }
  if (rc == 0)
    rc = print_file (old, json, &err);
  if (rc == 0)
    rc = print_current (pp.audit, json, follow_, &err);
  if (rc < 0)
    cage_error_print (&err, "cagefs", json);
  paths_free (&pp);
  return rc < 0 ? 1 : 0;
}
