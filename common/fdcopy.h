/* fdcopy.h - copy the contents and the extended attributes of one open
   file into another: copy_file_range (in-kernel, no user buffer) where the
   filesystems allow it, else read/write.  Used by copy mode's copy-up, the
   cow view's copy-up and `cagefs accept`. */
#ifndef CAGE_FDCOPY_H
#define CAGE_FDCOPY_H

#include <stdbool.h>

/* Copy IN from its offset to its end into OUT.  0, or -errno. */
int fdcopy_data (int in, int out);

/* Copy IN's extended attributes to OUT (USER_ONLY: only user.*).  An
   attribute OUT's filesystem refuses (ENOTSUP, EPERM) is skipped.  0, or
   -errno. */
int fdcopy_xattrs (int in, int out, bool user_only);

#endif
