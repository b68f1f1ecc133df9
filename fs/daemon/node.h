/* node.h - the daemon's inodes: synthetic nodes (the small root tree we
   make up) and real nodes (entries beneath a view's root directory).

   Real nodes are keyed by (view, st_dev, st_ino) and remember their parent
   and name, so an O_PATH fd can be reopened beneath the view root on demand
   with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).  Only a bounded
   number of those fds is kept open (an LRU cache): a closure easily has
   more entries than the open-file limit.  FORGET drops nodes the kernel no
   longer remembers.  */
#ifndef CAGE_NODE_H
#define CAGE_NODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "blacklist.h"

struct strset;
struct hidden_inodes;
struct scan_cache;

struct view;
struct node;

/* What a view does differently from a plain directory tree, as hooks the
   inode table calls (so it knows nothing of the cow layer or the host
   watches).  NULL members: the plain way. */
struct view_ops
{
  /* The O_PATH fd of the entry REL (relative to the view's root, not "")
     as the view shows it, or -1 with errno (cow.h: the upper layer, else
     the project). */
  int (*reopen) (const struct view *v, const char *rel);
  /* N leaves the table (host_watch.h: its folder's watch goes). */
  void (*node_gone) (struct node *n);
};

/* A view: a real directory tree shown at some place in the root tree. */
struct view
{
  const struct view_ops *ops; /* NULL: a plain directory tree */
  const char *name;          /* "workspace", "store", "home" */
  int root_fd;               /* O_PATH | O_DIRECTORY of the real root */
  bool writable;
  const struct blacklist *blacklist; /* NULL: nothing hidden */
  /* Only these top-level names are visible (readonly store); NULL: all. */
  char **allowed_top;        /* sorted, NULL-terminated */
  size_t n_allowed_top;
  /* These top-level names are hidden (copy mode: earlier closures). */
  char **hidden_top;         /* sorted, NULL-terminated, or NULL */
  size_t n_hidden_top;
  /* A private store: its own files at the top (.links, *.lock, .tmp-*)
     are hidden. */
  bool private_store;
  /* Files with several links, one of them hidden (hidden_inodes.h);
     NULL: not checked. */
  struct hidden_inodes *hidden_inodes;
  /* Files holding a key or token, hidden by content (scan_cache.h);
     NULL: not scanned ("blacklist": {"scan": false}). */
  struct scan_cache *scan;
  double entry_timeout, attr_timeout;
  double negative_timeout;   /* how long "no such name" may be cached */
  bool keep_cache;
  /* The store of the non-writable modes (readonly, shared, isolated): its
     own session is mounted without "ro" and without default_permissions,
     so the daemon is what refuses every change (EROFS, audited) and what
     decides readability: only world-readable entries are shown (files
     S_IROTH, folders S_IROTH | S_IXOTH; visibility_check_inode). */
  bool immutable;
  /* Only entries every user may read are shown (files S_IROTH, folders
     S_IROTH | S_IXOTH): where the kernel checks no permissions (a session
     without default_permissions) and the daemon reads with ids other than
     the agent's (visibility_check_inode). */
  bool world_readable_only;
  bool cow;                  /* the cow workspace view: root_fd is the upper
                                layer, the project is its lower (fs/views/cow.h) */
  bool close_reports;        /* its filesystem may report errors at close
                                (network filesystems): FLUSH is forwarded */
  bool watch_host;           /* its folders get inotify watches: host edits
                                invalidate the kernel's caches (host_watch.h) */
};

enum node_kind
{
  NODE_DIR,    /* synthetic directory */
  NODE_FILE,   /* synthetic regular file, contents in data */
  NODE_LINK,   /* synthetic symlink, target in data */
  NODE_REAL,   /* beneath a view */
};

struct node
{
  enum node_kind kind;
  bool permanent;            /* synthetic nodes and view roots: never freed */
  uint64_t nlookup;          /* kernel references */
  uint64_t nchildren;        /* real children holding us as parent */

  /* synthetic */
  ino_t ino;
  mode_t mode;
  char *data;
  size_t size;
  struct node **children;    /* NODE_DIR: entries, names in child->name */
  size_t n_children;

  /* real (and the name of synthetic entries) */
  struct view *view;
  dev_t dev;
  ino_t real_ino;
  struct node *parent;       /* NULL for a view root */
  char *name;

  /* fd cache (real) */
  int fd;                    /* O_PATH fd, or -1 */
  unsigned pins;
  int old_fd;                /* replaced by node_rekey while pinned, or -1 */
  struct node *lru_prev, *lru_next;
  struct node *hnext;        /* hash chain */
  int wd;                    /* a real folder's inotify watch, or 0 (host_watch.h) */
  struct stat *st_cache;     /* an immutable view's node: its attributes as
                                looked up (they never change), or NULL */
};

/* Global table. */
int node_table_init (unsigned max_fds);
void node_table_destroy (void);
/* Free the synthetic tree rooted at ROOT (after node_table_destroy). */
void node_free_tree (struct node *root);

/* Synthetic nodes. */
struct node *node_new_dir (struct node *parent, const char *name, mode_t mode);
struct node *node_new_file (struct node *parent, const char *name, mode_t mode,
                            const char *data, size_t size);
struct node *node_new_link (struct node *parent, const char *name, const char *target);
/* A view root placed at PARENT/NAME. Takes a reference to ROOT_FD. */
struct node *node_new_view_root (struct node *parent, const char *name, struct view *view);
struct node *node_child (const struct node *dir, const char *name);

/* Find or create the real node for (view, st) below PARENT/NAME.  FD is an
   O_PATH fd for it; it is kept in the cache or closed.  nlookup is
   incremented.  */
struct node *node_get_real (struct node *parent, const char *name,
                            const struct stat *st, int fd);

/* Pin and return the node's O_PATH fd, reopening beneath the view root when
   it is not cached.  Returns -errno on failure.  Every success must be
   followed by node_fd_put. */
int node_fd_get (struct node *n);
void node_fd_put (struct node *n);

/* Drop NLOOKUP kernel references. */
void node_forget (struct node *n, uint64_t nlookup);
void node_ref (struct node *n);   /* nlookup++ */

/* A rename moved the real node (dev, ino) of VIEW to NEWPARENT/NEWNAME. */
void node_moved (struct view *view, dev_t dev, ino_t ino, struct node *newparent,
                 const char *newname);

/* N's file was replaced by another (copy-up): re-key N by ST's (dev, ino)
   and make FD (an O_PATH fd for it, or -1) its cached fd.  A pinned old fd
   is closed when its last user puts it back. */
void node_rekey (struct node *n, const struct stat *st, int fd);
/* The same for the node of VIEW keyed (DEV, INO), if there is one. */
void node_rekey_key (struct view *view, dev_t dev, ino_t ino, const struct stat *st);

/* The real node of VIEW keyed (DEV, INO), or NULL.  No reference is
   taken: use it as a node id for the kernel (an invalidation), nothing
   more. */
struct node *node_find (struct view *view, dev_t dev, ino_t ino);

/* Path of N relative to its view root into BUF ("" for the root).
   Returns length, or -ENAMETOOLONG. */
int node_relpath (struct node *n, char *buf, size_t size);
/* Same for PARENT/NAME. */
int node_relpath_child (struct node *parent, const char *name, char *buf, size_t size);
/* node_relpath for a caller that holds node_lock (policy.c builds a
   request's paths in one acquisition). */
int node_relpath_locked (struct node *n, char *buf, size_t size);

/* Where the request this thread serves counts each node_lock acquisition
   made to build a path (node_relpath, node_relpath_child and policy.c's
   builders; not node_fd_get's reopens, counted in reopens); NULL: not
   counted.  Set by policy_begin (policy.h). */
extern _Thread_local _Atomic unsigned long long *node_path_locks;

/* Counters for status/debugging. */
struct node_stats
{
  uint64_t nodes, fds_cached, reopens;
};
void node_stats (struct node_stats *out);

extern pthread_mutex_t node_lock;

#endif
