#include "node.h"

#include "safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_BITS 16
#define HASH_SIZE (1u << HASH_BITS)

pthread_mutex_t node_lock = PTHREAD_MUTEX_INITIALIZER;

static struct node **buckets;
static struct node lru;     /* sentinel: lru.lru_next is most recent */
static unsigned max_cached, n_cached;
static uint64_t n_nodes, n_reopens;
static ino_t next_synth_ino = 0xC000000000000001ULL;

int
node_table_init (unsigned max_fds)
{
  buckets = calloc (HASH_SIZE, sizeof *buckets);
  if (!buckets)
    return -ENOMEM;
  lru.lru_next = lru.lru_prev = &lru;
  max_cached = max_fds < 16 ? 16 : max_fds;
  return 0;
}

static size_t
hash_key (const struct view *v, dev_t dev, ino_t ino)
{
  uint64_t h = (uint64_t) (uintptr_t) v * 0x9E3779B97F4A7C15ULL;
  h ^= (uint64_t) dev * 0xC2B2AE3D27D4EB4FULL;
  h ^= (uint64_t) ino * 0x165667B19E3779F9ULL;
  h ^= h >> 29;
  return (size_t) (h & (HASH_SIZE - 1));
}

static void
lru_unlink (struct node *n)
{
  if (n->lru_next)
    {
      n->lru_prev->lru_next = n->lru_next;
      n->lru_next->lru_prev = n->lru_prev;
      n->lru_next = n->lru_prev = NULL;
      n_cached--;
    }
}

static void
lru_push (struct node *n)
{
  n->lru_next = lru.lru_next;
  n->lru_prev = &lru;
  lru.lru_next->lru_prev = n;
  lru.lru_next = n;
  n_cached++;
}

/* Close cached fds beyond the budget, least recently used first. */
static void
lru_evict (void)
{
  struct node *n = lru.lru_prev;
  while (n_cached > max_cached && n != &lru)
    {
      struct node *prev = n->lru_prev;
      if (n->pins == 0)
        {
          lru_unlink (n);
          close (n->fd);
          n->fd = -1;
        }
      n = prev;
    }
}

/* Cache FD as N's O_PATH fd unless N already has one (then FD is closed).
   Returns N's fd.  Locked. */
static int
adopt_fd (struct node *n, int fd)
{
  if (n->fd >= 0)
    {
      close (fd);
      return n->fd;
    }
  n->fd = fd;
  lru_push (n);
  lru_evict ();
  return fd;
}

static struct node *
node_alloc (enum node_kind kind, struct node *parent, const char *name)
{
  struct node *n = calloc (1, sizeof *n);
  if (!n)
    return NULL;
  n->kind = kind;
  n->fd = -1;
  n->old_fd = -1;
  n->name = strdup (name ? name : "");
  if (!n->name)
    {
      free (n);
      return NULL;
    }
  n_nodes++;
  return n;
}

static int
dir_add (struct node *dir, struct node *child)
{
  struct node **c = realloc (dir->children, (dir->n_children + 1) * sizeof *c);
  if (!c)
    return -1;
  dir->children = c;
  dir->children[dir->n_children++] = child;
  return 0;
}

static struct node *
synth_new (enum node_kind kind, struct node *parent, const char *name, mode_t mode)
{
  struct node *n = node_alloc (kind, parent, name);
  if (!n)
    return NULL;
  n->permanent = true;
  n->ino = next_synth_ino++;
  n->mode = mode;
  if (parent && dir_add (parent, n) < 0)
    {
      free (n->name);
      free (n);
      return NULL;
    }
  return n;
}

struct node *
node_new_dir (struct node *parent, const char *name, mode_t mode)
{
  return synth_new (NODE_DIR, parent, name, S_IFDIR | (mode & 07777));
}

struct node *
node_new_file (struct node *parent, const char *name, mode_t mode, const char *data,
               size_t size)
{
  struct node *n = synth_new (NODE_FILE, parent, name, S_IFREG | (mode & 07777));
  if (!n)
    return NULL;
  n->data = malloc (size + 1);
  if (!n->data)
    return NULL;
  memcpy (n->data, data, size);
  n->data[size] = '\0';
  n->size = size;
  return n;
}

struct node *
node_new_link (struct node *parent, const char *name, const char *target)
{
  struct node *n = synth_new (NODE_LINK, parent, name, S_IFLNK | 0777);
  if (!n)
    return NULL;
  n->data = strdup (target);
  n->size = n->data ? strlen (target) : 0;
  return n->data ? n : NULL;
}

struct node *
node_new_view_root (struct node *parent, const char *name, struct view *view)
{
  struct stat st;
  if (fstatat (view->root_fd, "", &st, AT_EMPTY_PATH) < 0)
    return NULL;
  struct node *n = node_alloc (NODE_REAL, parent, name);
  if (!n)
    return NULL;
  n->permanent = true;
  n->view = view;
  n->dev = st.st_dev;
  n->real_ino = st.st_ino;
  n->fd = view->root_fd;
  n->parent = NULL;
  if (parent && dir_add (parent, n) < 0)
    return NULL;
  size_t h = hash_key (view, n->dev, n->real_ino);
  n->hnext = buckets[h];
  buckets[h] = n;
  return n;
}

struct node *
node_child (const struct node *dir, const char *name)
{
  for (size_t i = 0; i < dir->n_children; i++)
    if (strcmp (dir->children[i]->name, name) == 0)
      return dir->children[i];
  return NULL;
}

static struct node *
hash_find (struct view *v, dev_t dev, ino_t ino)
{
  for (struct node *n = buckets[hash_key (v, dev, ino)]; n; n = n->hnext)
    if (n->view == v && n->dev == dev && n->real_ino == ino)
      return n;
  return NULL;
}

static void
hash_remove (struct node *n)
{
  struct node **pp = &buckets[hash_key (n->view, n->dev, n->real_ino)];
  for (; *pp; pp = &(*pp)->hnext)
    if (*pp == n)
      {
        *pp = n->hnext;
        return;
      }
}

/* Free N and then any ancestor that became unreferenced.  Locked. */
static void
maybe_free (struct node *n)
{
  while (n && !n->permanent && n->nlookup == 0 && n->nchildren == 0 && n->pins == 0)
    {
      struct node *p = n->parent;
      hash_remove (n);
      lru_unlink (n);
      if (n->view && n->view->ops && n->view->ops->node_gone)
        n->view->ops->node_gone (n);
      if (n->fd >= 0)
        close (n->fd);
      free (n->st_cache);
      free (n->name);
      free (n);
      n_nodes--;
      if (p)
        p->nchildren--;
      n = p;
    }
}

/* Point N at PARENT/NAME (locked).  The old parent may be freed. */
static int
set_parent (struct node *n, struct node *parent, const char *name)
{
  if (n->parent == parent && strcmp (n->name, name) == 0)
    return 0;
  char *nn = strdup (name);
  if (!nn)
    return -ENOMEM;
  free (n->name);
  n->name = nn;
  if (n->parent != parent)
    {
      struct node *old = n->parent;
      parent->nchildren++;
      n->parent = parent;
      if (old)
        {
          old->nchildren--;
          maybe_free (old);
        }
    }
  return 0;
}

struct node *
node_get_real (struct node *parent, const char *name, const struct stat *st, int fd)
{
  pthread_mutex_lock (&node_lock);
  struct view *v = parent->view;
  struct node *n = hash_find (v, st->st_dev, st->st_ino);
  if (n)
    {
      n->nlookup++;
      if (!n->permanent)
        set_parent (n, parent, name);
      adopt_fd (n, fd);
      pthread_mutex_unlock (&node_lock);
      return n;
    }
  n = node_alloc (NODE_REAL, parent, name);
  if (!n)
    {
      pthread_mutex_unlock (&node_lock);
      close (fd);
      return NULL;
    }
  n->view = v;
  n->dev = st->st_dev;
  n->real_ino = st->st_ino;
  n->mode = st->st_mode;
  n->parent = parent;
  parent->nchildren++;
  n->nlookup = 1;
  n->fd = fd;
  lru_push (n);
  size_t h = hash_key (v, n->dev, n->real_ino);
  n->hnext = buckets[h];
  buckets[h] = n;
  lru_evict ();
  pthread_mutex_unlock (&node_lock);
  return n;
}

_Thread_local _Atomic unsigned long long *node_path_locks;

/* Locked. */
static int
relpath_locked (struct node *n, const char *extra, char *buf, size_t size)
{
  /* Collect components from N up to the view root. */
  const char *comp[512];
  size_t nc = 0;
  if (extra)
    comp[nc++] = extra;
  for (struct node *p = n; p && p->parent; p = p->parent)
    {
      if (nc == sizeof comp / sizeof comp[0])
        return -ENAMETOOLONG;
      comp[nc++] = p->name;
    }
  size_t len = 0;
  for (size_t i = nc; i-- > 0;)
    {
      size_t l = strlen (comp[i]);
      if (len + l + 2 > size)
        return -ENAMETOOLONG;
      memcpy (buf + len, comp[i], l);
      len += l;
      if (i > 0)
        buf[len++] = '/';
    }
  buf[len] = '\0';
  return (int) len;
}

int
node_relpath_locked (struct node *n, char *buf, size_t size)
{
  return relpath_locked (n, NULL, buf, size);
}

int
node_relpath (struct node *n, char *buf, size_t size)
{
  if (node_path_locks)
    atomic_fetch_add (node_path_locks, 1);
  pthread_mutex_lock (&node_lock);
  int r = relpath_locked (n, NULL, buf, size);
  pthread_mutex_unlock (&node_lock);
  return r;
}

int
node_relpath_child (struct node *parent, const char *name, char *buf, size_t size)
{
  if (node_path_locks)
    atomic_fetch_add (node_path_locks, 1);
  pthread_mutex_lock (&node_lock);
  int r = relpath_locked (parent, name, buf, size);
  pthread_mutex_unlock (&node_lock);
  return r;
}

int
node_fd_get (struct node *n)
{
  char path[4096];
  pthread_mutex_lock (&node_lock);
  if (n->fd >= 0)
    {
      n->pins++;
      if (n->lru_next && lru.lru_next != n)
        {
          lru_unlink (n);
          lru_push (n);
        }
      int fd = n->fd;
      pthread_mutex_unlock (&node_lock);
      return fd;
    }
  int r = relpath_locked (n, NULL, path, sizeof path);
  int root_fd = n->view->root_fd;
  n->pins++; /* keep N alive while we reopen */
  n_reopens++;
  pthread_mutex_unlock (&node_lock);
  if (r < 0)
    {
      node_fd_put (n);
      return r;
    }

  const struct view_ops *ops = n->view->ops;
  int fd = ops && ops->reopen ? ops->reopen (n->view, path) : safe_openat (root_fd, path, O_PATH);
  if (fd < 0)
    {
      int e = errno;
      node_fd_put (n);
      return e == ENOENT ? -ESTALE : -e;
    }
  struct stat st;
  if (fstatat (fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != n->dev
      || st.st_ino != n->real_ino)
    {
      /* The name now points at another file (changed on the host). */
      close (fd);
      node_fd_put (n);
      return -ESTALE;
    }
  pthread_mutex_lock (&node_lock);
  fd = adopt_fd (n, fd);
  pthread_mutex_unlock (&node_lock);
  return fd;
}

void
node_fd_put (struct node *n)
{
  pthread_mutex_lock (&node_lock);
  n->pins--;
  if (n->pins == 0 && n->old_fd >= 0)
    {
      close (n->old_fd);
      n->old_fd = -1;
    }
  maybe_free (n);
  if (n_cached > max_cached)
    lru_evict ();
  pthread_mutex_unlock (&node_lock);
}

void
node_ref (struct node *n)
{
  pthread_mutex_lock (&node_lock);
  n->nlookup++;
  pthread_mutex_unlock (&node_lock);
}

void
node_forget (struct node *n, uint64_t nlookup)
{
  pthread_mutex_lock (&node_lock);
  n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
  maybe_free (n);
  pthread_mutex_unlock (&node_lock);
}

void
node_moved (struct view *view, dev_t dev, ino_t ino, struct node *newparent,
            const char *newname)
{
  pthread_mutex_lock (&node_lock);
  struct node *n = hash_find (view, dev, ino);
  if (n && !n->permanent)
    set_parent (n, newparent, newname);
  pthread_mutex_unlock (&node_lock);
}

static void
rekey_locked (struct node *n, const struct stat *st, int fd)
{
  hash_remove (n);
  n->dev = st->st_dev;
  n->real_ino = st->st_ino;
  size_t h = hash_key (n->view, n->dev, n->real_ino);
  n->hnext = buckets[h];
  buckets[h] = n;
  if (n->fd >= 0)
    {
      lru_unlink (n);
      if (n->pins == 0)
        close (n->fd);
      else
        {
          if (n->old_fd >= 0)
            close (n->old_fd); /* cannot happen: one copy-up per node */
          n->old_fd = n->fd;
        }
      n->fd = -1;
    }
  if (fd >= 0)
    adopt_fd (n, fd);
}

void
node_rekey (struct node *n, const struct stat *st, int fd)
{
  pthread_mutex_lock (&node_lock);
  rekey_locked (n, st, fd);
  pthread_mutex_unlock (&node_lock);
}

void
node_rekey_key (struct view *view, dev_t dev, ino_t ino, const struct stat *st)
{
  pthread_mutex_lock (&node_lock);
  struct node *n = hash_find (view, dev, ino);
  if (n && !n->permanent)
    rekey_locked (n, st, -1);
  pthread_mutex_unlock (&node_lock);
}

struct node *
node_find (struct view *view, dev_t dev, ino_t ino)
{
  pthread_mutex_lock (&node_lock);
  struct node *n = hash_find (view, dev, ino);
  pthread_mutex_unlock (&node_lock);
  return n;
}

void
node_stats (struct node_stats *out)
{
  pthread_mutex_lock (&node_lock);
  out->nodes = n_nodes;
  out->fds_cached = n_cached;
  out->reopens = n_reopens;
  pthread_mutex_unlock (&node_lock);
}

static void
free_synth (struct node *n)
{
  for (size_t i = 0; i < n->n_children; i++)
    if (n->children[i]->kind != NODE_REAL)
      free_synth (n->children[i]);
    else
      {
        free (n->children[i]->st_cache);
        free (n->children[i]->name);
        free (n->children[i]);
      }
  free (n->children);
  free (n->data);
  free (n->name);
  free (n);
}

void
node_table_destroy (void)
{
  /* Real nodes first (view roots are freed with the synthetic tree). */
  for (size_t i = 0; buckets && i < HASH_SIZE; i++)
    {
      struct node *n = buckets[i];
      while (n)
        {
          struct node *next = n->hnext;
          if (!n->permanent)
            {
              if (n->fd >= 0)
                close (n->fd);
              free (n->st_cache);
              free (n->name);
              free (n);
            }
          n = next;
        }
    }
  free (buckets);
  buckets = NULL;
}

void
node_free_tree (struct node *root)
{
  free_synth (root);
}
