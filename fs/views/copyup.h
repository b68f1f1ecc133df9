/* copyup.h - copy mode's private store may share files with the host store
   (hard links, made by the copy engine when both are on one filesystem).
   Before anything changes such a file - its data, mode, owner, times or
   xattrs - the daemon gives the private store its own copy ("copy-up"),
   so the host store is never modified and host garbage collection can't
   take anything away.  */
#ifndef CAGE_COPYUP_H
#define CAGE_COPYUP_H

#include "node.h"

/* If N (a real node of a private store view) is a regular file with more
   than one link, replace it beneath its parent by a private copy (data,
   mode, times, xattrs) and re-key N.  Returns 1 when it copied, 0 when
   nothing was needed, -errno on failure (N is then unchanged). */
int copyup_node (struct node *n);
/* (In the cow workspace view this is cow_copyup: fs/views/cow.h.) */

#endif
