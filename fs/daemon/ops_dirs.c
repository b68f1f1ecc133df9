/* ops_dirs.c - FUSE operations on folders: opendir, readdir(plus) (the
   cow view's merged listing; entries the policy hides are skipped),
   releasedir, fsyncdir. */
#include "ops_impl.h"

#include <dirent.h>
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "copyup.h"
#include "cow.h"
#include "hidden_inodes.h"
#include "quota.h"
#include "host_watch.h"
#include "policy.h"
#include "safe_open.h"
#include "tracked.h"
#include "visibility.h"
#include "agent_repos.h"
#include "git_guard.h"

/* ---- directories ----------------------------------------------------- */

struct dir_handle
{
  DIR *dp;
  struct cow_dir *cow;       /* a cow view's merged listing (dp NULL) */
  struct dirent *entry;
  off_t offset;
};

void
op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct node *n = N (ino);
  if (n->kind == NODE_DIR)
    {
      fi->fh = 0;
      fi->cache_readdir = 1;
      fi->keep_cache = 1;
      fuse_reply_open (req, fi);
      return;
    }
  if (n->kind != NODE_REAL)
    {
      fuse_reply_err (req, ENOTDIR);
      return;
    }
  if (store_no_open (req, n))
    {
      /* The kernel stops sending OPENDIR/RELEASEDIR for this session and
         caches the listings (FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE, its
         default for no_opendir); a READDIR then carries fh 0. */
      fuse_reply_err (req, ENOSYS);
      return;
    }
  if (n->view->cow)
    {
      struct dir_handle *d = calloc (1, sizeof *d);
      if (!d || !(d->cow = cow_opendir (n)))
        {
          int e = d ? errno : ENOMEM;
          free (d);
          fuse_reply_err (req, e);
          return;
        }
      fi->fh = (uint64_t) (uintptr_t) d;
      fuse_reply_open (req, fi);
      return;
    }
  int fd = node_fd_get (n);
  if (fd < 0)
    {
      fuse_reply_err (req, -fd);
      return;
    }
  int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int e = errno;
  node_fd_put (n);
  if (dfd < 0)
    {
      fuse_reply_err (req, e);
      return;
    }
  struct dir_handle *d = calloc (1, sizeof *d);
  if (!d || !(d->dp = fdopendir (dfd)))
    {
      e = d ? errno : ENOMEM;
      free (d);
      close (dfd);
      fuse_reply_err (req, e);
      return;
    }
  fi->fh = (uint64_t) (uintptr_t) d;
  if (n->view->keep_cache || host_watch_lists (n))
    {
      fi->cache_readdir = 1;
      fi->keep_cache = 1;
    }
  fuse_reply_open (req, fi);
}

static void
fill_entry (fuse_req_t req, struct fuse_entry_param *e, struct node *n, const struct stat *st)
{
  memset (e, 0, sizeof *e);
  e->ino = ID (n);
  e->attr = *st;
  e->attr_timeout = attr_timeout (n);
  e->entry_timeout = entry_timeout (n);
}

/* One entry for readdir or readdirplus.  With PLUS and a node C, C's
   lookup count was raised: it is dropped again when the entry does not fit.
   Returns false when the buffer is full.  */
static bool
add_entry (fuse_req_t req, bool plus, char *buf, size_t size, size_t *pos, const char *name,
           ino_t ino, mode_t type, struct node *c, const struct stat *cst, off_t next)
{
  size_t len;
  if (plus)
    {
      struct fuse_entry_param e;
      if (c)
        fill_entry (req, &e, c, cst);
      else
        {
          memset (&e, 0, sizeof e);
          e.attr.st_ino = ino;
          e.attr.st_mode = type;
        }
      len = fuse_add_direntry_plus (req, buf + *pos, size - *pos, name, &e, next);
    }
  else
    {
      struct stat st;
      memset (&st, 0, sizeof st);
      st.st_ino = ino;
      st.st_mode = type;
      len = fuse_add_direntry (req, buf + *pos, size - *pos, name, &st, next);
    }
  if (len > size - *pos)
    {
      if (c)
        node_forget (c, 1);
      return false;
    }
  *pos += len;
  return true;
}

/* Plain readdir: may the entry NAME (of type TYPE) of the folder DFD of DIR
   be listed, as far as its inode goes?  (readdirplus decides that in
   real_lookup.)  What cannot be stat'ed is listed and left to the lookup. */
static bool
entry_inode_visible (struct node *dir, int dfd, const char *name, unsigned char type)
{
  if (!visibility_checks_inodes (dir->view) || (type != DT_REG && type != DT_UNKNOWN))
    return true;
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno != ENOENT;
  return visibility_check_inode (dir->view, dfd, name, &st) == 0;
}

static void
do_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi,
            bool plus)
{
  struct node *n = N (ino);
  char *buf = calloc (1, size);
  if (!buf)
    {
      fuse_reply_err (req, ENOMEM);
      return;
    }
  size_t pos = 0;
  if (n->kind == NODE_DIR)
    {
      /* offsets: 1 ".", 2 "..", 3.. children */
      for (off_t i = off; i < (off_t) n->n_children + 2; i++)
        {
          bool ok;
          if (i == 0)
            ok = add_entry (req, plus, buf, size, &pos, ".", n->ino, S_IFDIR, NULL, NULL, 1);
          else if (i == 1)
            ok = add_entry (req, plus, buf, size, &pos, "..", 1, S_IFDIR, NULL, NULL, 2);
          else
            {
              struct node *c = n->children[i - 2];
              struct stat cst;
              bool have = false;
              if (plus)
                {
                  if (c->kind == NODE_REAL)
                    have = real_stat (c, &cst) == 0;
                  else
                    {
                      synth_attr (c, &cst);
                      have = true;
                    }
                  if (have)
                    node_ref (c);
                }
              mode_t m = c->kind == NODE_REAL ? S_IFDIR : (c->mode & S_IFMT);
              ok = add_entry (req, plus, buf, size, &pos, c->name,
                              c->kind == NODE_REAL ? c->real_ino : c->ino, m, have ? c : NULL,
                              have ? &cst : NULL, i + 1);
            }
          if (!ok)
            break;
        }
      fuse_reply_buf (req, buf, pos);
      free (buf);
      return;
    }

  struct dir_handle *d = (struct dir_handle *) (uintptr_t) fi->fh;
  struct dir_handle once = { 0 }; /* no_opendir (store session): this request's */
  if (!d && store_no_open (req, n))
    {
      int fd = node_fd_get (n);
      int dfd = fd < 0 ? -1 : openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int e = fd < 0 ? -fd : errno;
      if (fd >= 0)
        node_fd_put (n);
      if (dfd < 0 || !(once.dp = fdopendir (dfd)))
        {
          e = dfd < 0 ? e : errno;
          if (dfd >= 0)
            close (dfd);
          free (buf);
          fuse_reply_err (req, e);
          return;
        }
      d = &once;
    }
  if (off != d->offset)
    {
      if (d->cow)
        cow_seekdir (d->cow, off);
      else
        seekdir (d->dp, off);
      d->entry = NULL;
      d->offset = off;
    }
  /* the folder's path once; each entry's name appended to it */
  struct policy_path pp;
  policy_path_at (&pp, n, "");
  int err = 0;
  for (;;)
    {
      if (!d->entry)
        {
          errno = 0;
          d->entry = d->cow ? cow_readdir (d->cow) : readdir (d->dp);
          if (!d->entry)
            {
              err = errno;
              break;
            }
        }
      const char *name = d->entry->d_name;
      off_t next = d->entry->d_off;
      bool dot = strcmp (name, ".") == 0 || strcmp (name, "..") == 0;
      bool show = dot;
      if (!dot)
        {
          policy_path_name (&pp, name);
          show = policy_lookup (&pp) == 0;
        }
      struct node *c = NULL;
      struct stat cst;
      if (show && !dot && plus)
        {
          int r = real_lookup (n, name, &c, &cst);
          if (r < 0)
            c = NULL; /* list it without attributes */
          if (r == -ENOENT)
            show = false; /* hidden by another of its names, or gone */
        }
      else if (show && !dot)
        show = entry_inode_visible (n, dirfd (d->dp), name, d->entry->d_type);
      if (show && !add_entry (req, plus, buf, size, &pos, name, d->entry->d_ino,
                              (mode_t) DTTOIF (d->entry->d_type), c, c ? &cst : NULL, next))
        break;
      d->entry = NULL;
      d->offset = next;
    }
  if (err && pos == 0)
    fuse_reply_err (req, err);
  else
    fuse_reply_buf (req, buf, pos);
  free (buf);
  if (once.dp)
    closedir (once.dp);
}

void
op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
  policy_begin (POLICY_READDIR);
  do_readdir (req, ino, size, off, fi, false);
  policy_end ();
}

void
op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi)
{
  policy_begin (POLICY_READDIR);
  do_readdir (req, ino, size, off, fi, true);
  policy_end ();
}

void
op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct dir_handle *d = (struct dir_handle *) (uintptr_t) fi->fh;
  if (d)
    {
      if (d->dp)
        closedir (d->dp);
      cow_closedir (d->cow);
      free (d);
    }
  fuse_reply_err (req, 0);
}

void
op_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
  struct dir_handle *d = (struct dir_handle *) (uintptr_t) fi->fh;
  int res = 0;
  if (d && d->dp)
    res = datasync ? fdatasync (dirfd (d->dp)) : fsync (dirfd (d->dp));
  fuse_reply_err (req, res < 0 ? errno : 0);
}
