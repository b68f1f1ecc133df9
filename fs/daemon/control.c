/* control.c - the daemon's control socket (see control.h). */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "control.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "cow.h"
#include "git_guard.h"
#include "kernel_cache.h"
#include "log.h"
#include "term_escape.h"

#define SOCK_NAME "control.sock"
#define REQUEST_MAX (1 << 20)
#define MAX_SESSIONS 4

/* ---- both sides --------------------------------------------------------- */

/* The socket's address through an O_PATH fd of the state folder (its own
   path may be longer than sun_path holds). */
static socklen_t
sock_addr (int dirfd, struct sockaddr_un *sa)
{
  memset (sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  snprintf (sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/" SOCK_NAME, dirfd);
  return (socklen_t) (offsetof (struct sockaddr_un, sun_path) + strlen (sa->sun_path) + 1);
}

/* (no SIGPIPE when the other end went away: an error) */
static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, buf, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

/* Read FD to its end (at most MAX bytes) into a malloc'd buffer. */
static int
read_all (int fd, size_t max, char **out, size_t *len)
{
  size_t cap = 4096, n = 0;
  char *buf = malloc (cap);
  if (!buf)
    return -ENOMEM;
  for (;;)
    {
      if (n == cap)
        {
          if (cap >= max)
            {
              free (buf);
              return -EMSGSIZE;
            }
          char *b = realloc (buf, cap * 2);
          if (!b)
            {
              free (buf);
              return -ENOMEM;
            }
          buf = b;
          cap *= 2;
        }
      ssize_t r = read (fd, buf + n, cap - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int e = errno;
          free (buf);
          return -e;
        }
      if (r == 0)
        break;
      n += (size_t) r;
    }
  *out = buf;
  *len = n;
  return 0;
}

/* A JSON string of text that may not be UTF-8 (escaped then). */
static json_t *
text_json (const char *s, size_t len)
{
  json_t *j = json_stringn (s, len);
  if (j)
    return j;
  autofree char *e = term_escape (s, len, TERM_KEEP_NEWLINE | TERM_KEEP_TAB);
  return json_string (e ? e : "?");
}

/* ---- the daemon ----------------------------------------------------------- */

static const struct project_paths *c_pp;
static struct view *c_view;
static struct node *c_ws_root;
static struct fuse_session *c_ses[MAX_SESSIONS];
static const struct node *c_roots[MAX_SESSIONS];
static size_t c_n;
static int listen_fd = -1, state_fd = -1;
static pthread_t c_thread;
static bool c_running;

/* One review's bookkeeping. */
struct pending
{
  /* regular files open in the daemon (not O_PATH): (dev, ino) */
  struct key { dev_t dev; ino_t ino; } *open;
  size_t n_open;
  char **paths;              /* what the agent sees changed */
  size_t n_paths, cap_paths;
  uintptr_t *nodes;          /* nodes whose inode changed */
  size_t n_nodes, cap_nodes;
};

static int
cmp_key (const void *a, const void *b)
{
  const struct key *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* The files the cage has open: the daemon's fds of them (a FUSE file
   handle is one).  Taken while no open for writing can run; one more fd
   of the same file (a read-only open meanwhile) only keeps a copy. */
static void
snapshot_open (struct pending *p)
{
  autoclosedir DIR *d = opendir ("/proc/self/fd");
  if (!d)
    {
      cage_warn ("control: list /proc/self/fd: %s (files open in the cage may lose their "
                 "upper copy on accept)", strerror (errno));
      return;
    }
  size_t cap = 0;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      char *end;
      long fd = strtol (de->d_name, &end, 10);
      if (*end || end == de->d_name || fd == dirfd (d))
        continue;
      int fl = fcntl ((int) fd, F_GETFL);
      struct stat st;
      if (fl < 0 || (fl & O_PATH) || fstat ((int) fd, &st) < 0 || !S_ISREG (st.st_mode))
        continue;
      if (p->n_open == cap)
        {
          size_t nc = cap ? cap * 2 : 64;
          struct key *v = realloc (p->open, nc * sizeof *v);
          if (!v)
            break;
          p->open = v;
          cap = nc;
        }
      p->open[p->n_open++] = (struct key){ st.st_dev, st.st_ino };
    }
  if (p->n_open > 0)
    qsort (p->open, p->n_open, sizeof *p->open, cmp_key);
}

static bool
hook_busy (void *ctx, const struct stat *ust)
{
  struct pending *p = ctx;
  struct key k = { ust->st_dev, ust->st_ino };
  return p->n_open > 0 && bsearch (&k, p->open, p->n_open, sizeof k, cmp_key) != NULL;
}

static void
add_node (struct pending *p, struct node *n)
{
  if (!n)
    return;
  if (p->n_nodes == p->cap_nodes)
    {
      size_t nc = p->cap_nodes ? p->cap_nodes * 2 : 32;
      uintptr_t *v = realloc (p->nodes, nc * sizeof *v);
      if (!v)
        return; /* (its cache times out) */
      p->nodes = v;
      p->cap_nodes = nc;
    }
  p->nodes[p->n_nodes++] = (uintptr_t) n;
}

static void
hook_touched (void *ctx, const char *rel)
{
  struct pending *p = ctx;
  if (p->n_paths == p->cap_paths)
    {
      size_t nc = p->cap_paths ? p->cap_paths * 2 : 32;
      char **v = realloc (p->paths, nc * sizeof *v);
      if (!v)
        return;
      p->paths = v;
      p->cap_paths = nc;
    }
  if ((p->paths[p->n_paths] = strdup (rel)))
    p->n_paths++;
}

/* The merged entry REL: its (dev, ino), as the view shows it now. */
static int
merged_key (const char *rel, struct stat *st)
{
  if (!rel[0])
    return -1;
  autoclose int fd = cow_resolve (rel);
  if (fd < 0 || fstatat (fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return -1;
  return 0;
}

/* The upper entry REL (UST) left the layer: the daemon's node of it now
   stands for what the view shows there (the host's entry), so an fd it
   reopens is that one, and a copy-up of it re-keys it again (cow.c).  With
   nothing there it is left to the kernel's forgetting. */
static void
hook_gone (void *ctx, const char *rel, const struct stat *ust)
{
  struct pending *p = ctx;
  hook_touched (ctx, rel);
  struct node *n = node_find (c_view, ust->st_dev, ust->st_ino);
  add_node (p, n);
  struct stat hs;
  if (n && merged_key (rel, &hs) == 0 && !node_find (c_view, hs.st_dev, hs.st_ino))
    node_rekey_key (c_view, ust->st_dev, ust->st_ino, &hs);
}

static fuse_ino_t
id_in (size_t i, uintptr_t n)
{
  return n == (uintptr_t) c_roots[i] ? FUSE_ROOT_ID : (fuse_ino_t) n;
}

/* Tell the kernels (locks released: an invalidation may wait for a
   request of the agent's in that folder).  A session that does not know
   a node answers ENOENT: nothing to drop there. */
static void
invalidate (struct pending *p)
{
  for (size_t k = 0; k < p->n_paths; k++)
    {
      const char *rel = p->paths[k];
      char parent[4096];
      const char *slash = strrchr (rel, '/');
      const char *name = slash ? slash + 1 : rel;
      snprintf (parent, sizeof parent, "%.*s", slash ? (int) (slash - rel) : 0, rel);
      struct stat st;
      struct node *pn = !parent[0] ? c_ws_root
                        : merged_key (parent, &st) == 0 ? node_find (c_view, st.st_dev, st.st_ino)
                                                        : NULL;
      for (size_t i = 0; pn && i < c_n; i++)
        kernel_expire_entry (c_ses[i], id_in (i, (uintptr_t) pn), name);
      if (pn)
        for (size_t i = 0; i < c_n; i++)
          fuse_lowlevel_notify_inval_inode (c_ses[i], id_in (i, (uintptr_t) pn), 0, 0);
      if (merged_key (rel, &st) == 0)
        add_node (p, node_find (c_view, st.st_dev, st.st_ino));
    }
  for (size_t k = 0; k < p->n_nodes; k++)
    for (size_t i = 0; i < c_n; i++)
      fuse_lowlevel_notify_inval_inode (c_ses[i], id_in (i, p->nodes[k]), 0, 0);
}

static void
pending_free (struct pending *p)
{
  for (size_t i = 0; i < p->n_paths; i++)
    free (p->paths[i]);
  free (p->paths);
  free (p->nodes);
  free (p->open);
}

/* Is the peer of CFD the daemon's own uid (or root), in its mount
   namespace?  NULL when so, else why not. */
static const char *
peer_refused (int cfd)
{
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt (cfd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
    return "no peer credentials";
  if (cr.uid != geteuid () && cr.uid != 0)
    return "another user";
  char mine[64], theirs[64], path[64];
  snprintf (path, sizeof path, "/proc/%d/ns/mnt", (int) cr.pid);
  ssize_t a = readlink ("/proc/self/ns/mnt", mine, sizeof mine - 1);
  ssize_t b = readlink (path, theirs, sizeof theirs - 1);
  if (b < 0 && cr.uid == 0 && errno == EACCES)
    return NULL; /* root's: not ours to read, and root may */
  if (a < 0 || b < 0 || a != b || memcmp (mine, theirs, (size_t) a) != 0)
    return "another mount namespace (the cage's?)";
  return NULL;
}

static json_t *
reply_error (const char *fmt, const char *what)
{
  char msg[512];
  snprintf (msg, sizeof msg, fmt, what);
  return json_pack ("{s:i, s:s, s:s}", "rc", 1, "stdout", "", "stderr", msg);
}

/* Run one request. */
static json_t *
handle (const char *req, size_t len)
{
  json_error_t jerr;
  json_t *j = json_loadb (req, len, 0, &jerr);
  const char *op = NULL;
  json_t *paths = NULL;
  int json = 0;
  if (!j || json_unpack (j, "{s:s, s:o, s?b}", "op", &op, "paths", &paths, "json", &json) < 0
      || !json_is_array (paths) || (strcmp (op, "accept") != 0 && strcmp (op, "discard") != 0))
    {
      json_decref (j);
      return reply_error ("cagefs: error: the daemon's control socket: a request it does not "
                          "know (%s); use the cagefs of the daemon's version\n", "bad request");
    }
  enum review what = strcmp (op, "accept") == 0 ? REVIEW_ACCEPT : REVIEW_DISCARD;
  size_t n = json_array_size (paths);
  autostrv char **sel = calloc (n + 1, sizeof *sel);
  for (size_t i = 0; sel && i < n; i++)
    {
      const char *s = json_string_value (json_array_get (paths, i));
      if (!(sel[i] = strdup (s ? s : "")))
        break;
    }
  json_decref (j);
  if (!sel || (n && !sel[n - 1]))
    return reply_error ("cagefs: error: the daemon: %s\n", strerror (ENOMEM));
  char *obuf = NULL, *ebuf = NULL;
  size_t olen = 0, elen = 0;
  FILE *out = open_memstream (&obuf, &olen), *errf = open_memstream (&ebuf, &elen);
  if (!out || !errf)
    {
      if (out)
        fclose (out);
      if (errf)
        fclose (errf);
      free (obuf);
      free (ebuf);
      return reply_error ("cagefs: error: the daemon: %s\n", strerror (ENOMEM));
    }
  struct pending p = { 0 };
  struct review_hooks h = { .ctx = &p, .busy = hook_busy, .gone = hook_gone, .touched = hook_touched };
  git_guard_lock ();
  cow_review_lock ();
  snapshot_open (&p);
  int rc = review_run (c_pp, what, sel, json, out, errf, &h);
  cow_review_unlock ();
  git_guard_unlock ();
  invalidate (&p);
  pending_free (&p);
  fclose (out);
  fclose (errf);
  json_t *r = json_pack ("{s:i, s:o, s:o}", "rc", rc, "stdout", text_json (obuf, olen), "stderr",
                         text_json (ebuf, elen));
  free (obuf);
  free (ebuf);
  return r;
}

static void
serve_conn (int cfd)
{
  const char *why = peer_refused (cfd);
  json_t *reply;
  autofree char *req = NULL;
  size_t len = 0;
  /* The request is read in any case, so the reply is what the client
     reads. */
  int r = read_all (cfd, REQUEST_MAX, &req, &len);
  if (why)
    {
      cage_warn ("control: a connection refused: %s", why);
      reply = reply_error ("cagefs: error: the daemon takes reviews only from its own user in "
                           "its mount namespace, not from %s; run the command in the shell "
                           "that mounted the project\n", why);
    }
  else if (r < 0)
    reply = reply_error ("cagefs: error: the daemon read the request: %s\n", strerror (-r));
  else
    reply = handle (req, len);
  autofree char *s = reply ? json_dumps (reply, JSON_COMPACT) : NULL;
  json_decref (reply);
  if (s && (r = write_all (cfd, s, strlen (s))) < 0)
    cage_warn ("control: send the reply: %s", strerror (-r));
}

static void *
control_thread (void *arg)
{
  (void) arg;
  for (;;)
    {
      int cfd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (cfd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          break; /* shut down (control_stop) */
        }
      serve_conn (cfd);
      close (cfd);
    }
  return NULL;
}

int
control_start (const struct project_paths *pp, struct view *ws, struct node *ws_root,
               struct fuse_session *const *ses, struct node *const *roots, size_t n,
               struct cage_error *err)
{
  c_pp = pp;
  c_view = ws;
  c_ws_root = ws_root;
  c_n = n < MAX_SESSIONS ? n : MAX_SESSIONS;
  for (size_t i = 0; i < c_n; i++)
    {
      c_ses[i] = ses[i];
      c_roots[i] = roots[i];
    }
  state_fd = open (pp->state, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (state_fd < 0)
    return cage_error_set (err, errno, "open the state folder `%s`", pp->state);
  if (unlinkat (state_fd, SOCK_NAME, 0) < 0 && errno != ENOENT)
    return cage_error_set (err, errno, "remove the old `%s/" SOCK_NAME "`", pp->state);
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0)
    return cage_error_set (err, errno, "control socket");
  struct sockaddr_un sa;
  socklen_t sl = sock_addr (state_fd, &sa);
  if (bind (listen_fd, (struct sockaddr *) &sa, sl) < 0)
    return cage_error_set (err, errno, "bind `%s/" SOCK_NAME "`", pp->state);
  if (fchmodat (state_fd, SOCK_NAME, 0600, 0) < 0)
    return cage_error_set (err, errno, "chmod `%s/" SOCK_NAME "`", pp->state);
  if (listen (listen_fd, 8) < 0)
    return cage_error_set (err, errno, "listen on `%s/" SOCK_NAME "`", pp->state);
  int rc = pthread_create (&c_thread, NULL, control_thread, NULL);
  if (rc != 0)
    return cage_error_set (err, rc, "start the control thread");
  c_running = true;
  return 0;
}

void
control_stop (void)
{
  if (c_running)
    {
      shutdown (listen_fd, SHUT_RDWR);
      pthread_join (c_thread, NULL);
      c_running = false;
    }
  if (state_fd >= 0)
    unlinkat (state_fd, SOCK_NAME, 0);
  if (listen_fd >= 0)
    close (listen_fd);
  if (state_fd >= 0)
    close (state_fd);
  listen_fd = state_fd = -1;
}

/* ---- the client ---------------------------------------------------------- */

int
control_review (const struct project_paths *pp, enum review what, char **sel, bool json,
                int *rc, struct cage_error *err)
{
  autoclose int dfd = open (pp->state, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cage_error_set (err, errno, "open the state folder `%s`", pp->state);
  autoclose int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cage_error_set (err, errno, "socket");
  struct sockaddr_un sa;
  socklen_t sl = sock_addr (dfd, &sa);
  if (connect (fd, (struct sockaddr *) &sa, sl) < 0)
    {
      if (errno == ENOENT || errno == ECONNREFUSED)
        return 1;
      return cage_error_set (err, errno, "connect to the daemon at `%s/" SOCK_NAME "`", pp->state);
    }
  json_t *paths = json_array ();
  for (char **s = sel; paths && *s; s++)
    if (json_array_append_new (paths, json_string (*s)) < 0)
      {
        json_decref (paths);
        return cage_error_set (err, EINVAL, "`%s` is not UTF-8 text; name it by a folder above it",
                               *s);
      }
  json_t *req = json_pack ("{s:s, s:o, s:b}", "op", what == REVIEW_ACCEPT ? "accept" : "discard",
                           "paths", paths, "json", json);
  autofree char *s = req ? json_dumps (req, JSON_COMPACT) : NULL;
  json_decref (req);
  if (!s)
    return cage_error_set (err, ENOMEM, "the request to the daemon");
  int r = write_all (fd, s, strlen (s));
  if (r < 0 || shutdown (fd, SHUT_WR) < 0)
    return cage_error_set (err, r < 0 ? -r : errno, "send the request to the daemon at `%s/" SOCK_NAME "`",
                           pp->state);
  autofree char *buf = NULL;
  size_t len = 0;
  if ((r = read_all (fd, 64u << 20, &buf, &len)) < 0)
    return cage_error_set (err, -r, "read the daemon's reply at `%s/" SOCK_NAME "`", pp->state);
  json_error_t jerr;
  json_t *reply = json_loadb (buf, len, 0, &jerr);
  json_int_t code = 1;
  const char *o = NULL, *e = NULL;
  size_t ol = 0, el = 0;
  if (!reply || json_unpack (reply, "{s:I, s:s%, s:s%}", "rc", &code, "stdout", &o, &ol, "stderr",
                             &e, &el) < 0)
    {
      json_decref (reply);
      return cage_error_set (err, EPROTO, "the daemon answered nothing it should (see the log "
                             "`%s`); run: cagefs umount %s, then accept again", pp->log,
                             pp->project);
    }
  fwrite (o, 1, ol, stdout);
  fflush (stdout);
  fwrite (e, 1, el, stderr);
  fflush (stderr);
  *rc = (int) code;
  json_decref (reply);
  return 0;
}
