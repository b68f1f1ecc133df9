/* scan_cache.h - content-aware hiding: which workspace files hold a secret.

   With "blacklist": {"scan": true} (or `cagefs mount --scan`) a regular
   file of the workspace whose first SECRET_SCAN_BYTES hold a private key
   or a token (common/secret_scan.h) is hidden as a blacklisted one is.
   The verdict is remembered per file version, (dev, ino, size, mtime,
   ctime), so a file is read once until it changes: a host edit that makes
   it a secret changes the key, and the next lookup (the kernel caches
   entries for 1 s) or open reads it again.  ctime is in the key because
   nothing can set it: a write that restores the mtime still changes it.

   A file whose ctime is less than SCAN_RACY_SECONDS old is read every
   time and not remembered: timestamps are as coarse as the kernel's tick,
   so it could still change without changing its key ("racily clean", as
   git calls it).

   Bounded: SCAN_CACHE_ENTRIES entries in sets of 4 (hashed on dev, ino),
   the least recently used of a full set replaced.  Files are read beneath
   the view root only: the name is opened O_PATH | O_NOFOLLOW in its folder
   (or the caller's O_PATH fd is used), checked to be the regular file the
   caller stat'ed, then reopened read-only through /proc/self/fd with
   O_NONBLOCK (a leased file does not block us) and O_NOATIME when allowed.
   A file the daemon may not open (EACCES) is not hidden: the agent reads
   through the daemon, so it cannot read it either; one it fails to read
   for another reason is hidden, not remembered, and named in the daemon's
   log.  Safe to call from any thread. */
#ifndef CAGE_SCAN_CACHE_H
#define CAGE_SCAN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "secret_scan.h"

#define SCAN_CACHE_ENTRIES 65536
#define SCAN_RACY_SECONDS 1.0

struct scan_cache;

/* A cache of ENTRIES verdicts (rounded up to a multiple of 4; at least 4);
   files changed less than RACY_SECONDS ago are not remembered.  NULL when
   out of memory. */
struct scan_cache *scan_cache_new (size_t entries, double racy_seconds);
void scan_cache_free (struct scan_cache *sc);

/* Does the file ST (just stat'ed beneath the view root) hold a secret?
   It is NAME in the folder FD, or with NAME "" the O_PATH fd FD itself.
   Not a regular file: false, nothing read.  True also when the name no
   longer leads to the file ST (replaced meanwhile: the caller answers
   "no such file", and the next lookup sees the new one) and when it could
   not be read.  KIND (may be NULL) gets what was found. */
bool scan_cache_hides (struct scan_cache *sc, int fd, const char *name, const struct stat *st,
                       enum secret_kind *kind);

/* The read itself, uncached (cagefs check uses it): the start of FD/NAME
   as above, the regular file ST; *NOW gets its stat from just before the
   read, *KIND the verdict.  0 (a file we may not open: 0 and SECRET_NONE),
   -ESTALE when the name no longer leads to ST, else -errno. */
int scan_file (int fd, const char *name, const struct stat *st, struct stat *now,
               enum secret_kind *kind);

struct scan_cache_stats
{
  uint64_t scans;    /* files read */
  uint64_t hits;     /* verdicts from the cache */
  uint64_t hidden;   /* scans that found a secret */
  size_t entries;    /* verdicts held now */
};
void scan_cache_stats (struct scan_cache *sc, struct scan_cache_stats *out);

#endif
