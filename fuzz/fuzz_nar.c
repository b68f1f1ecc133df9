/* fuzz_nar.c - libFuzzer target: NAR archives through the reader and
   nar_unpack.

   The input is an archive.  Checked besides ASan/UBSan:
   - the events nest (directory begin/end pair up, a file's data comes
     between its begin and end and adds up to its size), names obey the
     rules (no '/', not "." or "..", ascending), depth and path agree;
   - an archive the reader accepts unpacks (into a fresh folder), and what
     is written is exactly what the events said: the same entries, types,
     modes (0444/0555 files, 0555 folders), sizes and symlink targets;
   - an archive it refuses makes nothing;
   - read from an fd (nar_parse_fd), the same archive is accepted or
     refused alike.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nar.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

static void
check (bool ok, const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz_nar: broken: %s\n", what);
      abort ();
    }
}

/* ---- the events ---------------------------------------------------------- */

struct walk
{
  unsigned open_dirs;           /* depth of the innermost open directory + 1 */
  char last[NAR_MAX_DEPTH + 1][NAR_MAX_NAME + 1]; /* last name per open dir */
  bool have_last[NAR_MAX_DEPTH + 1];
  bool in_file;
  uint64_t file_size, file_seen;
  unsigned long nodes;
  int root_fd;                  /* when unpacked: the folder holding "t" */
};

static void
check_name (struct walk *w, const struct nar_entry *e)
{
  size_t plen = strlen (e->path);
  check (plen < PATH_MAX, "paths are shorter than PATH_MAX");
  check (e->depth <= NAR_MAX_DEPTH, "depth is bounded");
  check (e->depth == w->open_dirs, "an entry is one level below its directory");
  if (e->depth == 0)
    {
      check (plen == 0 && e->name[0] == '\0', "the root has no path");
      return;
    }
  size_t nlen = strlen (e->name);
  check (nlen > 0 && nlen <= NAR_MAX_NAME, "names are 1..255 bytes");
  check (!strchr (e->name, '/'), "names have no '/'");
  check (strcmp (e->name, ".") != 0 && strcmp (e->name, "..") != 0, "no . or ..");
  check (e->name + nlen == e->path + plen, "the name ends the path");
  unsigned slashes = 0;
  for (const char *p = e->path; *p; p++)
    slashes += *p == '/';
  check (slashes + 1 == e->depth, "the path has depth components");
  unsigned d = e->depth - 1;
  if (w->have_last[d])
    check (strcmp (w->last[d], e->name) < 0, "names ascend");
  memcpy (w->last[d], e->name, nlen + 1);
  w->have_last[d] = true;
}

/* Does the unpacked entry at PATH (beneath root_fd/"t") look as E says? */
static void
check_unpacked (struct walk *w, const struct nar_entry *e)
{
  if (w->root_fd < 0)
    return;
  char rel[PATH_MAX + 2];
  snprintf (rel, sizeof rel, "t%s%s", e->depth ? "/" : "", e->path);
  struct stat st;
  check (fstatat (w->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0, "an entry was unpacked");
  switch (e->event)
    {
    case NAR_DIR_BEGIN:
      check (S_ISDIR (st.st_mode) && (st.st_mode & 07777) == 0555, "folders are 0555");
      break;
    case NAR_FILE_BEGIN:
      check (S_ISREG (st.st_mode), "files are regular");
      check ((st.st_mode & 07777) == (e->executable ? 0555 : 0444), "files are 0444/0555");
      check ((uint64_t) st.st_size == e->size, "files have their size");
      break;
    case NAR_SYMLINK:
      {
        check (S_ISLNK (st.st_mode), "symlinks are symlinks");
        char target[NAR_MAX_TARGET + 2];
        ssize_t n = readlinkat (w->root_fd, rel, target, sizeof target);
        check (n >= 0 && (size_t) n == strlen (e->target)
               && memcmp (target, e->target, (size_t) n) == 0, "symlinks have their target");
        break;
      }
    default:
      break;
    }
}

static int
on_event (const struct nar_entry *e, void *data, struct cage_error *err)
{
  struct walk *w = data;
  switch (e->event)
    {
    case NAR_DIR_BEGIN:
      check (!w->in_file, "no directory inside a file");
      check_name (w, e);
      check_unpacked (w, e);
      w->have_last[e->depth] = false;
      w->open_dirs++;
      w->nodes++;
      break;
    case NAR_DIR_END:
      check (w->open_dirs > 0 && e->depth == w->open_dirs - 1, "directory ends pair up");
      w->open_dirs--;
      break;
    case NAR_FILE_BEGIN:
      check (!w->in_file, "files do not nest");
      check_name (w, e);
      check_unpacked (w, e);
      check (e->size <= NAR_MAX_CONTENTS, "file sizes are bounded");
      w->in_file = true;
      w->file_size = e->size;
      w->file_seen = 0;
      w->nodes++;
      break;
    case NAR_FILE_DATA:
      check (w->in_file && e->len > 0, "data comes inside a file");
      w->file_seen += e->len;
      check (w->file_seen <= w->file_size, "no more data than the size");
      break;
    case NAR_FILE_END:
      check (w->in_file && w->file_seen == w->file_size, "a file's data adds up to its size");
      w->in_file = false;
      break;
    case NAR_SYMLINK:
      check (!w->in_file, "no symlink inside a file");
      check_name (w, e);
      check_unpacked (w, e);
      {
        size_t n = strlen (e->target);
        check (n > 0 && n <= NAR_MAX_TARGET, "targets are 1..4095 bytes");
      }
      w->nodes++;
      break;
    }
  return 0;
}

/* ---- a scratch folder ------------------------------------------------------ */

static char scratch[PATH_MAX];
static int scratch_fd = -1;
static int memfd = -1;

/* Remove NAME beneath DIR (what nar_unpack made: folders are 0555).
   Returns the number of entries removed. */
static unsigned long
remove_at (int dir, const char *name)
{
  struct stat st;
  if (fstatat (dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  unsigned long n = 1;
  if (S_ISDIR (st.st_mode))
    {
      int fd = openat (dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      check (fd >= 0, "open an unpacked folder");
      check (fchmod (fd, 0700) == 0, "chmod an unpacked folder");
      DIR *d = fdopendir (fd);
      check (d != NULL, "read an unpacked folder");
      for (struct dirent *de; (de = readdir (d));)
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          n += remove_at (fd, de->d_name);
      closedir (d);
      check (unlinkat (dir, name, AT_REMOVEDIR) == 0, "remove an unpacked folder");
    }
  else
    check (unlinkat (dir, name, 0) == 0, "remove an unpacked entry");
  return n;
}

static void
remove_scratch (void)
{
  if (scratch_fd >= 0)
    {
      remove_at (scratch_fd, "t");
      close (scratch_fd);
      rmdir (scratch);
    }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* (fuzz/run.sh points TMPDIR at a folder it removes, crash or not) */
  const char *tmp = getenv ("TMPDIR");
  snprintf (scratch, sizeof scratch, "%s/cagefs-fuzz-nar.XXXXXX", tmp ? tmp : "/tmp");
  check (mkdtemp (scratch) != NULL, "make a scratch folder");
  scratch_fd = open (scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check (scratch_fd >= 0, "open the scratch folder");
  atexit (remove_scratch);
  memfd = memfd_create ("fuzz-nar", MFD_CLOEXEC);
  check (memfd >= 0, "make a memfd");
  return 0;
}

/* The archive read from an fd: 0 or -1, as nar_parse_fd says. */
static int
parse_from_fd (const uint8_t *data, size_t size)
{
  check (ftruncate (memfd, 0) == 0, "truncate the memfd");
  for (size_t done = 0; done < size;)
    {
      ssize_t n = pwrite (memfd, data + done, size - done, (off_t) done);
      check (n > 0, "write the memfd");
      done += (size_t) n;
    }
  check (lseek (memfd, 0, SEEK_SET) == 0, "rewind the memfd");
  struct cage_error err = { 0 };
  return nar_parse_fd (memfd, "fuzz", NULL, NULL, &err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static struct walk w;
  memset (&w, 0, sizeof w);
  w.root_fd = -1;
  struct cage_error err = { 0 };
  int r = nar_parse_buffer (data, size, "fuzz", on_event, &w, &err);
  check (parse_from_fd (data, size) == r, "an fd and a buffer agree");
  if (r < 0)
    {
      check (strncmp (err.msg, "NAR fuzz: byte ", 15) == 0, "errors name the archive");
      check (strchr (err.msg, '\n') == NULL, "an error is one line");
      check (nar_unpack (scratch_fd, "t", data, size, &err) < 0, "unpack refuses it too");
      check (faccessat (scratch_fd, "t", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT,
             "a refused archive makes nothing");
      return 0;
    }
  check (w.open_dirs == 0 && !w.in_file, "everything opened is closed");

  /* Unpack it and compare with the events. */
  if (nar_unpack (scratch_fd, "t", data, size, &err) < 0)
    {
      fprintf (stderr, "fuzz_nar: unpack failed: %s\n", err.msg);
      abort ();
    }
  unsigned long nodes = w.nodes;
  memset (&w, 0, sizeof w);
  w.root_fd = scratch_fd;
  check (nar_parse_buffer (data, size, "fuzz", on_event, &w, &err) == 0, "parses again");
  check (remove_at (scratch_fd, "t") == nodes, "exactly the archive's entries were made");
  return 0;
}
