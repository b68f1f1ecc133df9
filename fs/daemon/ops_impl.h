/* ops_impl.h - what the files of the daemon's FUSE operations share
   (ops.c: the helpers, init, lookup, attributes and the operations table;
   ops_names.c: making, linking, removing and renaming names; ops_files.c:
   opening, reading, writing and changing files; ops_dirs.c: listings;
   ops_xattr.c: extended attributes). */
#ifndef CAGE_OPS_IMPL_H
#define CAGE_OPS_IMPL_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <sys/stat.h>

#include "node.h"
#include "policy.h"

/* Each session (the root tree, the store) has its own root node
   as userdata; every other node id is the node's address. */
static inline struct node *
N_ (fuse_req_t req, fuse_ino_t ino)
{
  return ino == FUSE_ROOT_ID ? (struct node *) fuse_req_userdata (req)
                             : (struct node *) (uintptr_t) ino;
}

static inline fuse_ino_t
ID_ (fuse_req_t req, struct node *n)
{
  return n == fuse_req_userdata (req) ? FUSE_ROOT_ID : (fuse_ino_t) (uintptr_t) n;
}

#define N(ino) N_ (req, (ino))
#define ID(n) ID_ (req, (n))

/* ops.c */
bool store_no_open (fuse_req_t req, const struct node *n);
int read_fd (fuse_req_t req, struct node *n, struct fuse_file_info *fi, int *tmp);
void procpath (char *buf, size_t size, int fd);
void synth_attr (const struct node *n, struct stat *st);
void map_owner (struct stat *st);
double attr_timeout (const struct node *n);
double entry_timeout (const struct node *n);
bool keep_cache (const struct node *n);
int real_stat (struct node *n, struct stat *st);
void reply_entry (fuse_req_t req, struct node *n, const struct stat *st);
int real_lookup (struct node *parent, const char *name, struct node **out, struct stat *st);
int writable (struct node *n);

/* the operations (ops_*.c), for the table in ops.c */
void op_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi);
void op_readlink (fuse_req_t req, fuse_ino_t ino);
void op_mknod (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void op_mkdir (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void op_symlink (fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void op_link (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void op_unlink (fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rmdir (fuse_req_t req, fuse_ino_t parent, const char *name);
void op_rename (fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname, unsigned int flags);
void op_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_create (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void op_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void op_write_buf (fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off, struct fuse_file_info *fi);
void op_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsync (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void op_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void op_readdirplus (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void op_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsyncdir (fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void op_getxattr (fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void op_listxattr (fuse_req_t req, fuse_ino_t ino, size_t size);
void op_setxattr (fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size, int flags);
void op_removexattr (fuse_req_t req, fuse_ino_t ino, const char *name);
void op_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi);
void op_copy_file_range (fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags);
void op_lseek (fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi);

#endif
