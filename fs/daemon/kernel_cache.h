/* kernel_cache.h - telling the kernel a cached name may be stale.

   An entry is expired, not invalidated: invalidation (d_invalidate)
   unhashes the dentry at once, so a process whose working directory is
   that folder gets ENOENT from getcwd for good ("git: unable to get
   current working directory"), and a mount on it is detached.  Expiry
   only makes the next use look the name up again; the kernel drops the
   dentry then if the name now means another file.  Kernels before 6.2
   cannot expire: there the entry is invalidated.  */
#ifndef CAGEFS_KERNEL_CACHE_H
#define CAGEFS_KERNEL_CACHE_H

#include <errno.h>
#include <string.h>

#include <fuse_lowlevel.h>

static inline int
kernel_expire_entry (struct fuse_session *se, fuse_ino_t parent, const char *name)
{
  int r = fuse_lowlevel_notify_expire_entry (se, parent, name, strlen (name), FUSE_LL_EXPIRE_ONLY);
  if (r == -ENOSYS)
    r = fuse_lowlevel_notify_inval_entry (se, parent, name, strlen (name));
  return r;
}

#endif
