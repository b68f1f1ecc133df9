/* nar.h - a strict streaming reader for Nix ARchives, and unpacking one.

   A NAR (what `nix-store --dump` writes) is a sequence of strings, each an
   8-byte little-endian length, the bytes, and zeros up to a multiple of 8:

     nar      = "nix-archive-1" node
     node     = "(" "type" ( regular | symlink | directory ) ")"
     regular  = "regular" [ "executable" "" ] "contents" BYTES
     symlink  = "symlink" "target" TARGET
     directory= "directory" { "entry" "(" "name" NAME "node" node ")" }

   The reader accepts exactly that and nothing else: padding must be zeros,
   a NAME is 1..NAR_MAX_NAME bytes with no '/' or NUL and is not "." or
   "..", names in a directory are strictly ascending (bytewise, so no
   duplicates), a TARGET is 1..NAR_MAX_TARGET bytes with no NUL, a node is
   at most NAR_MAX_DEPTH directories deep, an entry's path (names joined by
   '/') is shorter than PATH_MAX, and nothing may follow the root node.

   It never builds the tree: it calls back once per event, in archive order
   (a directory's entries between its NAR_DIR_BEGIN and NAR_DIR_END, a
   file's bytes as NAR_FILE_DATA chunks between NAR_FILE_BEGIN and
   NAR_FILE_END).  A callback returning -1 (with ERR set) stops the walk.
   Errors name the archive, the byte offset and the entry's path.  */
#ifndef CAGE_NIX_NAR_H
#define CAGE_NIX_NAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NAR_MAGIC "nix-archive-1"
#define NAR_MAX_DEPTH 256
#define NAR_MAX_NAME 255                  /* NAME_MAX */
#define NAR_MAX_TARGET 4095               /* PATH_MAX - 1 */
#define NAR_MAX_CONTENTS (1ULL << 48)     /* 256 TiB: one file's size */

enum nar_event
{
  NAR_DIR_BEGIN,
  NAR_DIR_END,
  NAR_FILE_BEGIN, /* size, executable */
  NAR_FILE_DATA,  /* data, len: the next chunk of the file (len > 0) */
  NAR_FILE_END,
  NAR_SYMLINK,    /* target */
};

struct nar_entry
{
  enum nar_event event;
  const char *path;   /* "" for the root node, else "a/b/name" */
  const char *name;   /* the last component of PATH ("" for the root) */
  unsigned depth;     /* 0 for the root node */
  bool executable;    /* NAR_FILE_BEGIN */
  uint64_t size;      /* NAR_FILE_BEGIN: the file's size in bytes */
  const void *data;   /* NAR_FILE_DATA */
  size_t len;         /* NAR_FILE_DATA */
  const char *target; /* NAR_SYMLINK: NUL-terminated */
};

typedef int (*nar_fn) (const struct nar_entry *e, void *data, struct cage_error *err);

/* Read the NAR in BUF (LEN bytes) and call FN (may be NULL: only validate)
   for each event.  WHAT names the archive in messages.  0 or -1. */
int nar_parse_buffer (const void *buf, size_t len, const char *what, nar_fn fn,
                      void *data, struct cage_error *err);

/* The same, reading the NAR from FD (a pipe, a file) to its end. */
int nar_parse_fd (int fd, const char *what, nar_fn fn, void *data,
                  struct cage_error *err);

/* Write the NAR in BUF beneath the directory DIR_FD as NAME (a single
   component, which must not exist): the whole archive is validated before
   anything is made; then only *at() calls, O_NOFOLLOW and O_EXCL, so no
   symlink (the archive's own included) is ever followed.  Files are 0444
   (0555 when executable), directories 0555 once their entries are written.
   On failure what was made is removed again and ERR names the path.  */
int nar_unpack (int dir_fd, const char *name, const void *buf, size_t len,
                struct cage_error *err);

#endif
