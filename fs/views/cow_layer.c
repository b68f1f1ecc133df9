/* cow_layer.c - markers and records of the cow upper layer (cow_layer.h). */
#include "cow_layer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

bool
cow_reserved (const char *name)
{
  return strncmp (name, COW_PREFIX, strlen (COW_PREFIX)) == 0;
}

int
cow_marker (char *buf, size_t size, const char *prefix, const char *name)
{
  int n = snprintf (buf, size, "%s%s", prefix, name ? name : "");
  if (n < 0 || (size_t) n >= size || n > 255)
    return -ENAMETOOLONG;
  return 0;
}

int
cow_record_write (int dirfd, const char *marker, const struct stat *st, const char *origin)
{
  char text[COW_MARKER_MAX + 1];
  int len = snprintf (text, sizeof text, "%" PRIu64 " %lld %ld %lld\n%s%s",
                      (uint64_t) st->st_ino, (long long) st->st_mtim.tv_sec,
                      (long) st->st_mtim.tv_nsec, (long long) st->st_size,
                      origin ? origin : "", origin ? "\n" : "");
  if (len < 0 || (size_t) len >= sizeof text)
    return -ENAMETOOLONG;
  autoclose int fd = openat (dirfd, marker, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                             0600);
  if (fd < 0)
    return -errno;
  if (write (fd, text, (size_t) len) != len)
    return errno ? -errno : -EIO;
  return 0;
}

bool
cow_marker_stat_ok (const struct stat *st)
{
  return S_ISREG (st->st_mode) && st->st_uid == geteuid () && st->st_nlink == 1
         && st->st_size >= 0 && st->st_size <= COW_MARKER_MAX;
}

int
cow_record_read (int dirfd, const char *marker, struct cow_record *out)
{
  memset (out, 0, sizeof *out);
  autoclose int fd = openat (dirfd, marker, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return -errno;
  if (!cow_marker_stat_ok (&st))
    return -EINVAL; /* not what the daemon writes: forged */
  char text[COW_MARKER_MAX + 1];
  ssize_t n = read (fd, text, sizeof text - 1);
  if (n < 0)
    return -errno;
  text[n] = '\0';
  uint64_t ino;
  long long sec, size;
  long nsec;
  if (sscanf (text, "%" SCNu64 " %lld %ld %lld", &ino, &sec, &nsec, &size) != 4)
    return -EINVAL;
  out->ino = (ino_t) ino;
  out->mtime.tv_sec = (time_t) sec;
  out->mtime.tv_nsec = nsec;
  out->size = (off_t) size;
  char *nl = strchr (text, '\n');
  if (nl && nl[1])
    {
      snprintf (out->path, sizeof out->path, "%s", nl + 1);
      out->path[strcspn (out->path, "\n")] = '\0';
    }
  return 0;
}

bool
cow_record_matches (const struct cow_record *r, const struct stat *st)
{
  return r->ino == st->st_ino && r->mtime.tv_sec == st->st_mtim.tv_sec
         && r->mtime.tv_nsec == st->st_mtim.tv_nsec && r->size == st->st_size;
}

bool
cow_has_marker (int dirfd, const char *prefix, const char *name)
{
  char m[300];
  if (cow_marker (m, sizeof m, prefix, name) < 0)
    return false;
  struct stat st;
  return fstatat (dirfd, m, &st, AT_SYMLINK_NOFOLLOW) == 0 && cow_marker_stat_ok (&st);
}
