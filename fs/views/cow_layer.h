/* cow_layer.h - the on-disk format of the cow workspace view's upper layer
   (<state>/cow/upper), shared by the daemon (fs/views/cow.c) and the review
   commands (diff, accept, discard).

   The upper layer mirrors the project's folders.  Beside the agent's files
   it holds markers, all named ".cagefs-..." (names the agent can neither
   see nor create in the cow view):
     .cagefs-wh.NAME      NAME was deleted (a whiteout); its text is the
                          record of the host entry as the agent last saw it
     .cagefs-origin.NAME  NAME was copied up from the host; its text is the
                          record of the host file at copy-up time and the
                          path it came from (NAME may have been renamed since)
     .cagefs-opaque       this folder replaces the host's folder of that path
                          (made by mkdir over a deleted name and by renaming
                          a folder): the host's entries there are not merged
   A record is one line "INO MTIME_SEC MTIME_NSEC SIZE" and, for origins, a
   second line with the project-relative path. */
#ifndef CAGE_COW_LAYER_H
#define CAGE_COW_LAYER_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define COW_PREFIX ".cagefs-"
#define COW_WH ".cagefs-wh."
#define COW_ORIGIN ".cagefs-origin."
#define COW_OPAQUE ".cagefs-opaque"

struct cow_record
{
  ino_t ino;
  struct timespec mtime;
  off_t size;
  char path[4096]; /* origins: where the file came from; else "" */
};

/* The largest marker the daemon writes (a record and a path). */
#define COW_MARKER_MAX 4200

/* Is ST (lstat of a marker) what the daemon writes: a regular file of the
   daemon's (this process's) uid, one link, at most COW_MARKER_MAX bytes?
   Anything else in the layer under a reserved name was forged (by the
   agent, through some way around the daemon's refusal) and is ignored:
   no whiteout, no origin, no opaque folder. */
bool cow_marker_stat_ok (const struct stat *st);

/* Is NAME one of the layer's own (reserved) names? */
bool cow_reserved (const char *name);

/* PREFIX NAME into BUF; -ENAMETOOLONG when it is no valid file name. */
int cow_marker (char *buf, size_t size, const char *prefix, const char *name);

/* Write the marker MARKER in DIRFD (replacing it) with ST's record and,
   when ORIGIN is not NULL, the origin path.  0 or -errno. */
int cow_record_write (int dirfd, const char *marker, const struct stat *st, const char *origin);
/* Read the marker MARKER of DIRFD.  0, or -errno (-ENOENT: none; -EINVAL:
   forged, see cow_marker_stat_ok). */
int cow_record_read (int dirfd, const char *marker, struct cow_record *out);
/* Does the host entry ST still match the record? */
bool cow_record_matches (const struct cow_record *r, const struct stat *st);

/* Does DIRFD hold the marker PREFIX NAME (or COW_OPAQUE with NAME NULL),
   one that is not forged? */
bool cow_has_marker (int dirfd, const char *prefix, const char *name);

#endif
