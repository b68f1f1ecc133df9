/* host_watch.c - inotify watches on the workspace's directories; host
   edits invalidate the kernel's caches (see host_watch.h).

   Locking: the map from watch descriptors to nodes has its own mutex.
   host_watch_drop runs with the node table locked and takes the map's
   mutex after it; the event thread takes only the map's mutex, and never
   holds it while it writes a notification to the kernel (an invalidation
   waits for the directory's lock, which a request in flight may hold).  A
   node id copied out of the map may be freed before the notification is
   sent: the kernel then answers ENOENT, or invalidates what it must fetch
   again anyway.  */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "host_watch.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fnmatch.h>

#include "hidden_inodes.h"
#include "kernel_cache.h"
#include "log.h"

#define MAP_BITS 12
#define MAP_SIZE (1u << MAP_BITS)

/* What changes a directory's entries, or a name's contents or attributes. */
#define WATCH_MASK                                                                             \
  (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB                \
   | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR)

struct watch
{
  int wd;
  struct node *dir;
  struct watch *next;
};

#define MAX_SESSIONS 4
static struct fuse_session *sessions[MAX_SESSIONS];
static const struct node *session_roots[MAX_SESSIONS];
static size_t n_sessions;
static int ifd = -1, stop_fd = -1;
static pthread_t thread;
static bool thread_running;
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *map[MAP_SIZE];
static size_t n_watches, max_watches; /* (map_lock) */
static bool full_warned;

static struct watch **
map_slot (int wd)
{
  struct watch **w = &map[(unsigned) wd & (MAP_SIZE - 1)];
  while (*w && (*w)->wd != wd)
    w = &(*w)->next;
  return w;
}

/* The node watched by WD as a FUSE node id (0: none), and its view. */
static fuse_ino_t
map_id (int wd, const struct view **view)
{
  pthread_mutex_lock (&map_lock);
  struct watch *w = *map_slot (wd);
  fuse_ino_t id = w ? (fuse_ino_t) (uintptr_t) w->dir : 0;
  *view = w ? w->dir->view : NULL;
  pthread_mutex_unlock (&map_lock);
  return id;
}

static void
map_remove (int wd)
{
  pthread_mutex_lock (&map_lock);
  struct watch **w = map_slot (wd);
  if (*w)
    {
      struct watch *dead = *w;
      *w = dead->next;
      __atomic_store_n (&dead->dir->wd, 0, __ATOMIC_RELAXED);
      free (dead);
      n_watches--;
    }
  pthread_mutex_unlock (&map_lock);
}

bool
host_watch_covers (const struct node *n)
{
  if (n->kind != NODE_REAL || !n->view->watch_host)
    return false;
  const struct node *d = n->parent ? n->parent : n;
  return __atomic_load_n (&d->wd, __ATOMIC_RELAXED) > 0;
}

bool
host_watch_lists (const struct node *n)
{
  return n->kind == NODE_REAL && n->view->watch_host
         && __atomic_load_n (&n->wd, __ATOMIC_RELAXED) > 0;
}

bool
host_watch_dir (struct node *dir)
{
  if (ifd < 0 || !dir->view->watch_host)
    return false;
  if (__atomic_load_n (&dir->wd, __ATOMIC_RELAXED) > 0)
    return true;
  int fd = node_fd_get (dir);
  if (fd < 0)
    return false;
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
  pthread_mutex_lock (&map_lock);
  bool ok = dir->wd > 0;
  if (!ok && n_watches >= max_watches)
    {
      if (!full_warned)
        {
          full_warned = true;
          cage_warn ("the workspace's folders past the first %zu are cached for 1 s only: this "
                     "daemon's cap of inotify watches (a quarter of fs.inotify.max_user_watches, "
                     "at most %u; CAGEFS_MAX_WATCHES sets it)",
                     max_watches, HOST_WATCH_MAX);
        }
    }
  else if (!ok)
    {
      int wd = inotify_add_watch (ifd, p, WATCH_MASK);
      struct watch *w = wd > 0 ? malloc (sizeof *w) : NULL;
      struct watch **slot = wd > 0 ? map_slot (wd) : NULL;
      if (wd < 0)
        {
          if (!full_warned)
            {
              full_warned = true;
              cage_warn ("cannot watch the workspace's folders for host edits any more (%s%s): "
                         "the rest of them are cached for 1 s only",
                         strerror (errno),
                         errno == ENOSPC ? "; raise the sysctl fs.inotify.max_user_watches" : "");
            }
        }
      else if (*slot)
        {
          /* the same directory under a stale node: it is this one now */
          free (w);
          __atomic_store_n (&(*slot)->dir->wd, 0, __ATOMIC_RELAXED);
          (*slot)->dir = dir;
          __atomic_store_n (&dir->wd, wd, __ATOMIC_RELAXED);
          ok = true;
        }
      else if (w)
        {
          *w = (struct watch){ .wd = wd, .dir = dir };
          *slot = w;
          n_watches++;
          __atomic_store_n (&dir->wd, wd, __ATOMIC_RELAXED);
          ok = true;
        }
      else
        inotify_rm_watch (ifd, wd);
    }
  pthread_mutex_unlock (&map_lock);
  node_fd_put (dir);
  return ok;
}

void
host_watch_drop (struct node *dir)
{
  int wd = dir->wd;
  if (wd <= 0)
    return;
  pthread_mutex_lock (&map_lock);
  struct watch **w = map_slot (wd);
  if (*w && (*w)->dir == dir)
    {
      struct watch *dead = *w;
      *w = dead->next;
      free (dead);
      n_watches--;
      if (ifd >= 0)
        inotify_rm_watch (ifd, wd);
    }
  dir->wd = 0;
  pthread_mutex_unlock (&map_lock);
}

/* Tell each session's kernel cache: the directory DIR (a node's address)
   changed (NAME in it, or its listing and attributes). */
static void
inval_entry (fuse_ino_t dir, const char *name)
{
  for (size_t i = 0; i < n_sessions; i++)
    kernel_expire_entry (sessions[i],
                         dir == (fuse_ino_t) (uintptr_t) session_roots[i] ? FUSE_ROOT_ID : dir,
                         name);
}

static void
inval_inode (fuse_ino_t dir)
{
  for (size_t i = 0; i < n_sessions; i++)
    fuse_lowlevel_notify_inval_inode (sessions[i],
                                      dir == (fuse_ino_t) (uintptr_t) session_roots[i]
                                        ? FUSE_ROOT_ID
                                        : dir,
                                      0, 0);
}

/* Every watched directory: its attributes and listing (the queue
   overflowed, some events are lost).  Their entries age out within
   HOST_WATCH_TIMEOUT. */
static void
invalidate_all (void)
{
  size_t n = 0, cap = 0;
  fuse_ino_t *ids = NULL;
  pthread_mutex_lock (&map_lock);
  for (size_t b = 0; b < MAP_SIZE; b++)
    for (struct watch *w = map[b]; w; w = w->next)
      {
        if (n == cap)
          {
            size_t nc = cap ? cap * 2 : 256;
            fuse_ino_t *g = realloc (ids, nc * sizeof *g);
            if (!g)
              break;
            ids = g;
            cap = nc;
          }
        if (n < cap)
          ids[n++] = (fuse_ino_t) (uintptr_t) w->dir;
      }
  pthread_mutex_unlock (&map_lock);
  for (size_t i = 0; i < n; i++)
    inval_inode (ids[i]);
  free (ids);
}

/* May the blacklist BL hide an entry renamed to NAME (a folder: IS_DIR)
   in some folder, or what a folder so named holds?  Without the folder's
   path: a name rule is asked of NAME, a path rule's last component (a
   folder: any component but "**") is matched against NAME, and a rule
   for everything inside a folder (dir/ then "**") may hide anything.  A superset
   of what the blacklist hides, so a rename that matters is never missed. */
static bool
may_hide (const struct blacklist *bl, const char *name, bool is_dir)
{
  if (!bl)
    return false;
  for (size_t i = 0; i < bl->n; i++)
    {
      const struct blacklist_rule *r = &bl->rules[i];
      if (r->negate)
        continue;
      if (!r->anchored)
        {
          if ((is_dir || !r->dir_only) && fnmatch (r->glob, name, 0) == 0)
            return true;
          continue;
        }
      if (r->trailing_dstar)
        return true;
      const char *c = r->glob + strlen (r->glob) + 1;
      for (unsigned k = 0; k < r->ncomp; k++, c += strlen (c) + 1)
        {
          bool last = k + 1 == r->ncomp;
          if ((last || is_dir) && strcmp (c, "**") != 0 && fnmatch (c, name, 0) == 0)
            return true;
        }
    }
  return false;
}

/* Is there an IN_MOVED_TO with COOKIE in [P, END)?  (The kernel queues a
   rename's two halves one after the other.) */
static bool
moved_to_follows (const char *p, const char *end, uint32_t cookie)
{
  while (p < end)
    {
      const struct inotify_event *ev = (const struct inotify_event *) p;
      if ((ev->mask & IN_MOVED_TO) && ev->cookie == cookie)
        return true;
      p += sizeof *ev + ev->len;
    }
  return false;
}

/* One event: the name's entry (a fresh lookup refetches its attributes,
   and a changed mtime or size drops its cached pages) and, when entries
   came or went, the directory's listing and attributes.  A rename to a
   name the blacklist may hide, or out of every watched folder (into a
   hidden one: MOVED_FROM without its MOVED_TO in REST..END), may hide a
   file with several links under its other names: the set of those is
   stale (hidden_inodes.h); the kernel's open of any of them asks again. */
static void
handle (const struct inotify_event *ev, const char *rest, const char *end)
{
  if (ev->mask & IN_Q_OVERFLOW)
    {
      cage_warn ("host edits: the inotify queue overflowed; cached workspace entries are "
                 "re-read within %.0f s",
                 HOST_WATCH_TIMEOUT);
      invalidate_all ();
      return;
    }
  if (ev->mask & IN_IGNORED)
    {
      map_remove (ev->wd);
      return;
    }
  const struct view *view;
  fuse_ino_t dir = map_id (ev->wd, &view);
  if (!dir)
    return;
  if (view && view->hidden_inodes && ev->len
      && (((ev->mask & IN_MOVED_TO) && may_hide (view->blacklist, ev->name, ev->mask & IN_ISDIR))
          || ((ev->mask & IN_MOVED_FROM) && !moved_to_follows (rest, end, ev->cookie))))
    hidden_inodes_stale (view->hidden_inodes);
  if (ev->len && ev->name[0])
    inval_entry (dir, ev->name);
  if (!ev->len || (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)))
    inval_inode (dir);
}

static void *
watch_thread (void *arg)
{
  (void) arg;
  _Alignas (struct inotify_event) char buf[64 * 1024];
  struct pollfd pf[2] = { { .fd = ifd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };
  for (;;)
    {
      if (poll (pf, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          cage_warn ("host edits: poll the inotify fd: %s", strerror (errno));
          return NULL;
        }
      if (pf[1].revents)
        return NULL;
      ssize_t len = read (ifd, buf, sizeof buf);
      if (len < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          cage_warn ("host edits: read the inotify fd: %s", strerror (errno));
          return NULL;
        }
      /* A write makes one IN_MODIFY per call: handle a run of identical
         events once. */
      const struct inotify_event *last = NULL;
      for (char *p = buf; p < buf + len;)
        {
          const struct inotify_event *ev = (const struct inotify_event *) p;
          p += sizeof *ev + ev->len;
          bool same = last && last->wd == ev->wd && last->mask == ev->mask
                      && last->len == ev->len && memcmp (last->name, ev->name, ev->len) == 0;
          if (!same)
            handle (ev, p, buf + len);
          last = ev;
        }
    }
}

/* The cap: CAGEFS_MAX_WATCHES, else a quarter of the user's budget
   (fs.inotify.max_user_watches, shared by all their programs), at most
   HOST_WATCH_MAX. */
static int
watch_cap (size_t *cap, struct cage_error *err)
{
  const char *env = getenv ("CAGEFS_MAX_WATCHES");
  if (env && *env)
    {
      char *end;
      errno = 0;
      unsigned long long v = strtoull (env, &end, 10);
      if (*end || errno || env[0] == '-' || v > SIZE_MAX)
        return cage_error_set (err, 0, "CAGEFS_MAX_WATCHES=`%s`: expected a whole number of "
                               "inotify watches (0: none)", env);
      *cap = (size_t) v;
      return 0;
    }
  *cap = HOST_WATCH_MAX;
  FILE *f = fopen ("/proc/sys/fs/inotify/max_user_watches", "re");
  unsigned long long budget;
  if (f && fscanf (f, "%llu", &budget) == 1 && budget / 4 < *cap)
    *cap = (size_t) (budget / 4);
  if (f)
    fclose (f);
  return 0;
}

int
host_watch_start (struct fuse_session *const *ses, struct node *const *roots, size_t n,
                  struct cage_error *err)
{
  if (watch_cap (&max_watches, err) < 0)
    return -1;
  n_sessions = n < MAX_SESSIONS ? n : MAX_SESSIONS;
  for (size_t i = 0; i < n_sessions; i++)
    {
      sessions[i] = ses[i];
      session_roots[i] = roots[i];
    }
  ifd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (ifd < 0)
    {
      cage_warn ("cannot watch the workspace for host edits (inotify_init1: %s): it is cached "
                 "for 1 s only",
                 strerror (errno));
      return 0;
    }
  stop_fd = eventfd (0, EFD_CLOEXEC);
  if (stop_fd < 0)
    return cage_error_set (err, errno, "eventfd for the host-edit watcher");
  int rc = pthread_create (&thread, NULL, watch_thread, NULL);
  if (rc != 0)
    return cage_error_set (err, rc, "start the host-edit watcher thread");
  thread_running = true;
  return 0;
}

void
host_watch_stop (void)
{
  if (thread_running)
    {
      uint64_t one = 1;
      if (write (stop_fd, &one, sizeof one) != sizeof one)
        cage_warn ("host edits: stop the watcher: %s", strerror (errno));
      pthread_join (thread, NULL);
      thread_running = false;
    }
  pthread_mutex_lock (&map_lock);
  for (size_t b = 0; b < MAP_SIZE; b++)
    while (map[b])
      {
        struct watch *w = map[b];
        map[b] = w->next;
        w->dir->wd = 0;
        free (w);
      }
  n_watches = 0;
  if (ifd >= 0)
    close (ifd);
  ifd = -1;
  pthread_mutex_unlock (&map_lock);
  if (stop_fd >= 0)
    close (stop_fd);
  stop_fd = -1;
}
