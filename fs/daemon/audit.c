/* audit.c - the daemon's audit log (see audit.h). */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cow.h"
#include "visibility.h"

#define DEDUP_SLOTS 1024
#define DEDUP_MS 1000
#define MAX_VIEWS 8

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;
static char *log_path;
static struct node *audit_root;
static long long audit_size, audit_max = AUDIT_MAX_BYTES;
static bool audit_failed; /* a write error was reported once */

/* Where each view is shown ("/workspace", "/nix/store", "/home/agent"). */
static struct
{
  const struct view *view;
  char path[256];
} views[MAX_VIEWS];
static size_t n_views;

/* The rate limit: a token bucket, and the recent (op, path, process). */
static double tokens = AUDIT_BURST;
static long long bucket_ms;
static unsigned long long suppressed;
static struct
{
  uint64_t key;
  long long ms;
} recent[DEDUP_SLOTS];

/* A line: an escaped path may be 6 bytes a byte. */
static char line[6 * 4096 + 1024];

static long long
now_ms (clockid_t clock)
{
  struct timespec ts;
  clock_gettime (clock, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record the path of each view root below DIR (whose path is PATH). */
static void
find_views (const struct node *dir, const char *path)
{
  for (size_t i = 0; i < dir->n_children; i++)
    {
      const struct node *c = dir->children[i];
      char p[256];
      snprintf (p, sizeof p, "%s/%s", path, c->name);
      if (c->kind == NODE_REAL && c->view && n_views < MAX_VIEWS)
        {
          views[n_views].view = c->view;
          snprintf (views[n_views].path, sizeof views[n_views].path, "%s", p);
          n_views++;
        }
      else if (c->kind == NODE_DIR)
        find_views (c, p);
    }
}

/* The path of the synthetic node N below DIR (path PATH) into BUF. */
static bool
synth_path (const struct node *dir, const char *path, const struct node *n, char *buf,
            size_t size)
{
  if (dir == n)
    {
      snprintf (buf, size, "%s", path[0] ? path : "/");
      return true;
    }
  for (size_t i = 0; i < dir->n_children; i++)
    {
      const struct node *c = dir->children[i];
      char p[1024];
      snprintf (p, sizeof p, "%s/%s", path, c->name);
      if (c == n)
        {
          snprintf (buf, size, "%s", p);
          return true;
        }
      if (c->kind == NODE_DIR && synth_path (c, p, n, buf, size))
        return true;
    }
  return false;
}

/* The agent's path of the entry PP. */
static void
agent_path (const struct policy_path *pp, char *buf, size_t size)
{
  if (!pp->real)
    {
      /* synthetic: a node, or a name in a synthetic folder */
      const char *name = pp->node ? NULL : pp->name;
      const struct node *n = pp->node ? pp->node : pp->dir;
      char dir[1024];
      if (!synth_path (audit_root, "", n, dir, sizeof dir))
        snprintf (dir, sizeof dir, "?");
      if (name)
        snprintf (buf, size, "%s%s%s", dir, strcmp (dir, "/") == 0 ? "" : "/", name);
      else
        snprintf (buf, size, "%s", dir);
      return;
    }
  const char *prefix = "?";
  for (size_t i = 0; i < n_views; i++)
    if (views[i].view == pp->view)
      prefix = views[i].path;
  const char *rel = pp->rel;
  if (pp->err)
    rel = pp->node ? "?" : pp->name;
  snprintf (buf, size, "%s%s%s", prefix, rel[0] ? "/" : "", rel);
}

int
audit_open (const char *path, struct node *root, struct cage_error *err)
{
  const char *max = getenv ("CAGEFS_AUDIT_MAX_BYTES");
  if (max && *max)
    {
      char *end;
      long long v = strtoll (max, &end, 10);
      if (*end || v < 1024)
        return cage_error_set (err, 0, "CAGEFS_AUDIT_MAX_BYTES=`%s`: expected a number of bytes "
                               ">= 1024", max);
      audit_max = v;
    }
  audit_fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (audit_fd < 0)
    return cage_error_set (err, errno, "open the audit log `%s`", path);
  struct stat st;
  if (fstat (audit_fd, &st) < 0)
    return cage_error_set (err, errno, "stat the audit log `%s`", path);
  audit_size = st.st_size;
  log_path = strdup (path);
  if (!log_path)
    return cage_error_set (err, ENOMEM, "open the audit log `%s`", path);
  audit_root = root;
  n_views = 0;
  find_views (root, "");
  bucket_ms = now_ms (CLOCK_MONOTONIC);
  return 0;
}

void
audit_close (void)
{
  pthread_mutex_lock (&audit_lock);
  if (audit_fd >= 0)
    close (audit_fd);
  audit_fd = -1;
  free (log_path);
  log_path = NULL;
  pthread_mutex_unlock (&audit_lock);
}

static void
report_failure (const char *what, int e)
{
  if (audit_failed)
    return;
  audit_failed = true;
  fprintf (stderr, "cagefs: warning: audit log `%s`: %s: %s\n", log_path, what, strerror (e));
  fflush (stderr);
}

/* Append S as a JSON string (quoted) at *POS; invalid UTF-8 becomes U+FFFD. */
static void
put_json_string (size_t *pos, const char *s)
{
  size_t p = *pos, end = sizeof line - 16;
  line[p++] = '"';
  const unsigned char *u = (const unsigned char *) s;
  while (*u && p < end)
    {
      unsigned c = *u;
      if (c == '"' || c == '\\')
        {
          line[p++] = '\\';
          line[p++] = (char) c;
          u++;
        }
      else if (c < 0x20 || c == 0x7f)
        {
          p += (size_t) snprintf (line + p, 7, "\\u%04x", c);
          u++;
        }
      else if (c < 0x80)
        {
          line[p++] = (char) c;
          u++;
        }
      else
        {
          size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
          size_t k = 1;
          while (n && k < n && (u[k] & 0xc0) == 0x80)
            k++;
          if (n && k == n)
            {
              memcpy (line + p, u, n);
              p += n;
              u += n;
            }
          else
            {
              p += (size_t) snprintf (line + p, 7, "\\ufffd");
              u++;
            }
        }
    }
  line[p++] = '"';
  *pos = p;
}

static uint64_t
fnv1a (uint64_t h, const char *s)
{
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= 1099511628211ULL;
    }
  return h ^ 0xff; /* separates ("ab","c") from ("a","bc") */
}

static void
read_comm (pid_t pid, char *buf, size_t size)
{
  buf[0] = '\0';
  if (pid <= 0)
    return;
  char p[64];
  snprintf (p, sizeof p, "/proc/%d/comm", (int) pid);
  int fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return; /* the process is gone: no name */
  ssize_t n = read (fd, buf, size - 1);
  close (fd);
  if (n < 0)
    n = 0;
  buf[n] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
}

/* Past the size cap: the file becomes audit.ndjson.1, a new one starts. */
static void
rotate_locked (void)
{
  char old[4096];
  snprintf (old, sizeof old, "%s.1", log_path);
  if (rename (log_path, old) < 0)
    {
      report_failure ("rename to .1", errno);
      return;
    }
  int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      report_failure ("reopen after rotation", errno);
      return;
    }
  close (audit_fd);
  audit_fd = fd;
  audit_size = 0;
}

/* One entry: a path's (PATH) or a connection's (HOST, PORT: 0 none). */
struct entry
{
  pid_t pid;          /* 0: unknown (left out of a network entry) */
  const char *op, *path, *host, *result, *reason;
  unsigned port;
  bool bytes;         /* with bytes_up, bytes_down */
  unsigned long long up, down;
  bool dedup;         /* the same (op, what, process) within 1 s is logged once */
};

static void
append_entry (const struct entry *e)
{
  char comm[64];
  read_comm (e->pid, comm, sizeof comm);
  char what[300];
  const char *key_what = e->path;
  if (!key_what)
    {
      snprintf (what, sizeof what, "%s:%u", e->host ? e->host : "", e->port);
      key_what = what;
    }
  uint64_t key = fnv1a (fnv1a (fnv1a (14695981039346656037ULL, e->op), key_what), comm);

  pthread_mutex_lock (&audit_lock);
  if (audit_fd < 0)
    goto out;
  long long mono = now_ms (CLOCK_MONOTONIC);
  size_t slot = (size_t) (key % DEDUP_SLOTS);
  if (e->dedup && recent[slot].key == key && mono - recent[slot].ms < DEDUP_MS)
    goto out; /* the same refusal again within a second */
  tokens += (double) (mono - bucket_ms) * AUDIT_RATE / 1000.0;
  if (tokens > AUDIT_BURST)
    tokens = AUDIT_BURST;
  bucket_ms = mono;
  if (tokens < 1.0)
    {
      suppressed++;
      goto out;
    }
  tokens -= 1.0;
  if (e->dedup)
    {
      recent[slot].key = key;
      recent[slot].ms = mono;
    }

  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  struct tm tm;
  localtime_r (&ts.tv_sec, &tm);
  char date[32], zone[32];
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  long off = tm.tm_gmtoff / 60;
  snprintf (zone, sizeof zone, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs (off) / 60,
            labs (off) % 60);
  size_t pos = (size_t) snprintf (line, sizeof line, "{\"time\":\"%s.%03ld%s\",\"op\":", date,
                                  ts.tv_nsec / 1000000, zone);
  put_json_string (&pos, e->op);
  if (e->path)
    {
      pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"path\":");
      put_json_string (&pos, e->path);
    }
  if (e->host)
    {
      pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"host\":");
      put_json_string (&pos, e->host);
      if (e->port)
        pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"port\":%u", e->port);
    }
  pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"result\":\"%s\"", e->result);
  if (e->reason && e->reason[0])
    {
      pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"reason\":");
      put_json_string (&pos, e->reason);
    }
  if (e->bytes)
    pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"bytes_up\":%llu,"
                              "\"bytes_down\":%llu", e->up, e->down);
  if (e->pid > 0 || e->path)
    {
      pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"pid\":%d,\"process\":",
                                (int) e->pid);
      put_json_string (&pos, comm);
    }
  if (suppressed)
    pos += (size_t) snprintf (line + pos, sizeof line - pos, ",\"suppressed\":%llu", suppressed);
  pos += (size_t) snprintf (line + pos, sizeof line - pos, "}\n");
  suppressed = 0;

  ssize_t n = write (audit_fd, line, pos);
  if (n < 0)
    report_failure ("write", errno);
  else if ((size_t) n != pos)
    report_failure ("write", ENOSPC);
  else
    {
      audit_size += n;
      if (audit_size >= audit_max)
        rotate_locked ();
    }
out:
  pthread_mutex_unlock (&audit_lock);
}

static void
append (pid_t pid, const char *op, const char *path, const char *result, const char *reason)
{
  struct entry e = { .pid = pid, .op = op, .path = path, .result = result, .reason = reason,
                     .dedup = true };
  append_entry (&e);
}

void
audit_net (const char *op, const char *host, unsigned port, const char *result,
           const char *reason, long pid, unsigned long long up, unsigned long long down)
{
  bool allowed = strcmp (result, "allowed") == 0;
  struct entry e = { .pid = pid > 0 ? (pid_t) pid : 0, .op = op, .host = host ? host : "",
                     .port = port, .result = result, .reason = reason, .bytes = allowed,
                     .up = up, .down = down, .dedup = !allowed };
  append_entry (&e);
}

static const char *
result_of (int r)
{
  switch (r)
    {
    case -ENOENT:
      return "hidden";
    case -EACCES:
      return "denied";
    case -EROFS:
      return "read-only";
    case -ENOSPC:
      return "no-space"; /* the workspace's free-space floor (quota.h) */
    default:
      return NULL;
    }
}

static pid_t
req_pid (struct fuse_req *req)
{
  const struct fuse_ctx *ctx = fuse_req_ctx (req);
  return ctx ? ctx->pid : 0;
}

void
audit_path (struct fuse_req *req, const char *op, const struct policy_path *pp, int r,
            const char *reason)
{
  const char *result = result_of (r);
  if (!result)
    return;
  char path[4096 + 512];
  agent_path (pp, path, sizeof path);
  append (req_pid (req), op, path, result, reason);
}

void
audit_node (struct fuse_req *req, const char *op, struct node *n, int r)
{
  if (!result_of (r))
    return;
  struct policy_path pp;
  policy_path_node (&pp, n);
  audit_path (req, op, &pp, r, NULL);
}

void
audit_lookup (struct fuse_req *req, const struct policy_path *pp, int r)
{
  const char *name = pp->name;
  struct node *parent = pp->dir;
  if (r >= 0 || !parent || parent->kind != NODE_REAL || !name[0] || strchr (name, '/')
      || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return;
  int pfd = node_fd_get (parent);
  if (pfd < 0)
    return;
  struct stat st;
  bool exists = fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  node_fd_put (parent);
  if (exists)
    audit_path (req, "lookup", pp, -ENOENT, NULL);
}

void
audit_rename (struct fuse_req *req, const struct policy_path *from, const struct policy_path *to,
              int r, const char *reason)
{
  if (!result_of (r))
    return;
  audit_path (req, "rename", policy_rename_blames_target (from, to, r) ? to : from, r, reason);
}
