/* copy_file.c - copy one regular file synchronously: a reflink (FICLONE)
   where the filesystem shares blocks, else copy_file_range (in-kernel, no
   user-space buffer), else read/write.  Each strategy that the filesystem
   refuses is dropped for the rest of the run, so it is tried once.  Used
   for files too large for an io_uring chain's buffer, and for every file
   when io_uring is unavailable.  */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy_impl.h"
#include "safe_open.h"

int
copy_fail (struct copy_run *run, int errnum, const char *fmt, ...)
{
  pthread_mutex_lock (&run->lock);
  if (!atomic_load (&run->failed))
    {
      char msg[1024];
      va_list ap;
      va_start (ap, fmt);
      vsnprintf (msg, sizeof msg, fmt, ap);
      va_end (ap);
      cage_error_set (run->err, errnum, "%s", msg);
      atomic_store (&run->failed, true);
    }
  pthread_mutex_unlock (&run->lock);
  return -1;
}

int
copy_set_mtime (struct copy_run *run, const char *dst, const struct timespec *mtime)
{
  struct timespec ts[2] = { *mtime, *mtime };
  if (utimensat (run->dst_fd, dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return copy_fail (run, errno, "set the time of `%s`", dst);
  return 0;
}

static int
open_beneath (int dir_fd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_NOFOLLOW | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int) syscall (SYS_openat2, dir_fd, path, &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS)
    return fd;
  /* No openat2 (an old kernel, valgrind): the source a component at a
     time; the destination is our own fresh temporary tree. */
  if (!(flags & O_CREAT))
    return safe_openat (dir_fd, path, flags);
  return openat (dir_fd, path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

static bool
refused (int e)
{
  return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL || e == ENOSYS
         || e == EBADF || e == EPERM;
}

/* Copy with copy_file_range; 1 when the filesystem refused before any byte. */
static int
copy_range (struct copy_run *run, int in, int out, const struct copy_file *f)
{
  uint64_t done = 0;
  while (done < f->size)
    {
      size_t want = f->size - done > (1u << 30) ? (1u << 30) : (size_t) (f->size - done);
      ssize_t n = copy_file_range (in, NULL, out, NULL, want, 0);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (done == 0 && refused (errno))
            return 1;
          return copy_fail (run, errno, "copy `%s` to `%s`", f->src, f->dst);
        }
      if (n == 0)
        return copy_fail (run, 0, "copy `%s`: the file shrank while copied", f->src);
      done += (uint64_t) n;
      atomic_fetch_add (&run->bytes_done, (uint64_t) n);
    }
  return 0;
}

static int
copy_rw (struct copy_run *run, int in, int out, const struct copy_file *f)
{
  static _Thread_local char buf[1 << 20];
  uint64_t done = 0;
  while (done < f->size)
    {
      ssize_t n = read (in, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return copy_fail (run, errno, "read `%s`", f->src);
      if (n == 0)
        return copy_fail (run, 0, "copy `%s`: the file shrank while copied", f->src);
      for (ssize_t off = 0; off < n;)
        {
          ssize_t w = write (out, buf + off, (size_t) (n - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return copy_fail (run, errno, "write `%s`", f->dst);
          off += w;
        }
      done += (uint64_t) n;
      atomic_fetch_add (&run->bytes_done, (uint64_t) n);
    }
  return 0;
}

int
copy_one_file (struct copy_run *run, const struct copy_file *f)
{
  autoclose int in = open_beneath (run->src_fd, f->src, O_RDONLY, 0);
  if (in < 0)
    return copy_fail (run, errno, "open `%s`", f->src);
  autoclose int out = open_beneath (run->dst_fd, f->dst, O_WRONLY | O_CREAT | O_EXCL, f->mode);
  if (out < 0)
    return copy_fail (run, errno, "create `%s`", f->dst);
  int r = 1;
  if (f->size > 0 && atomic_load (&run->try_clone))
    {
      if (ioctl (out, FICLONE, in) == 0)
        {
          atomic_fetch_add (&run->bytes_done, f->size);
          r = 0;
        }
      else if (refused (errno))
        atomic_store (&run->try_clone, false);
      else
        return copy_fail (run, errno, "clone `%s` to `%s`", f->src, f->dst);
    }
  if (r == 1 && f->size > 0 && atomic_load (&run->try_cfr))
    {
      r = copy_range (run, in, out, f);
      if (r < 0)
        return -1;
      if (r == 1)
        atomic_store (&run->try_cfr, false);
    }
  if (r == 1 && f->size > 0 && copy_rw (run, in, out, f) < 0)
    return -1;
  /* The mode is exact: copy.c runs the engine under umask 0. */
  struct timespec ts[2] = { f->mtime, f->mtime };
  if (futimens (out, ts) < 0)
    return copy_fail (run, errno, "set the time of `%s`", f->dst);
  if (close (steal_fd (&out)) < 0)
    return copy_fail (run, errno, "close `%s`", f->dst);
  atomic_fetch_add (&run->files_done, 1);
  return 0;
}
