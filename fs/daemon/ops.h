/* ops.h - the daemon's FUSE operations (ops.c; the files they share are
   ops_impl.h). */
#ifndef CAGE_OPS_H
#define CAGE_OPS_H

struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops cagefs_ops;

#endif
