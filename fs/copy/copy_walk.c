/* copy_walk.c - plan a store path's copy: walk the source tree beneath the
   store folder (every step an *at() call on a folder fd, never following a
   symlink), make its folders (0700 until finished) and symlinks under the
   temporary name, and list its regular files for the workers.  Anything
   else (devices, fifos, sockets) is refused: a store holds none.  */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "copy_impl.h"

#define PERM_BITS 0777

static char *
join (const char *a, const char *b)
{
  char *s;
  if (asprintf (&s, "%s/%s", a, b) < 0)
    return NULL;
  return s;
}

/* Share the file by a hard link: 1 when done, 0 when it must be copied. */
static int
try_link (struct copy_run *run, int src_dir, const char *name, int dst_dir,
          const char *dst_name, const char *dst_rel)
{
  if (!run->try_link)
    return 0;
  if (linkat (src_dir, name, dst_dir, dst_name, 0) == 0)
    {
      run->linked++;
      atomic_fetch_add (&run->files_done, 1);
      return 1;
    }
  if (errno == EMLINK)
    return 0; /* this file has too many links already: copy it */
  if (errno == EXDEV || errno == EPERM || errno == EACCES || errno == EOPNOTSUPP)
    {
      run->try_link = false; /* another filesystem, or protected_hardlinks */
      return 0;
    }
  return copy_fail (run, errno, "link `%s`", dst_rel);
}

static int
add_file (struct copy_run *run, char *src, char *dst, const struct stat *st)
{
  if (run->nfiles == run->files_cap)
    {
      size_t cap = run->files_cap ? run->files_cap * 2 : 1024;
      struct copy_file *n = realloc (run->files, cap * sizeof *n);
      if (!n)
        {
          free (src);
          free (dst);
          return copy_fail (run, ENOMEM, "plan the copy");
        }
      run->files = n;
      run->files_cap = cap;
    }
  run->files[run->nfiles++] = (struct copy_file){
    .src = src, .dst = dst, .size = (uint64_t) st->st_size,
    .mode = st->st_mode & PERM_BITS, .mtime = st->st_mtim,
  };
  run->total_bytes += (uint64_t) st->st_size;
  return 0;
}

static int
add_dir (struct copy_run *run, char *dst, const struct stat *st)
{
  if (run->ndirs == run->dirs_cap)
    {
      size_t cap = run->dirs_cap ? run->dirs_cap * 2 : 256;
      struct copy_dir *n = realloc (run->dirs, cap * sizeof *n);
      if (!n)
        {
          free (dst);
          return copy_fail (run, ENOMEM, "plan the copy");
        }
      run->dirs = n;
      run->dirs_cap = cap;
    }
  run->dirs[run->ndirs++] = (struct copy_dir){
    .dst = dst, .mode = st->st_mode & PERM_BITS, .mtime = st->st_mtim,
  };
  return 0;
}

static int
make_symlink (struct copy_run *run, int src_dir, const char *name, int dst_dir,
              const char *src_rel, const char *dst_rel, const struct stat *st)
{
  char target[4096];
  ssize_t n = readlinkat (src_dir, name, target, sizeof target);
  if (n < 0)
    return copy_fail (run, errno, "read the symlink `%s`", src_rel);
  if ((size_t) n == sizeof target)
    return copy_fail (run, ENAMETOOLONG, "read the symlink `%s`", src_rel);
  target[n] = '\0';
  if (symlinkat (target, dst_dir, name) < 0)
    return copy_fail (run, errno, "create the symlink `%s`", dst_rel);
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  if (utimensat (dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return copy_fail (run, errno, "set the time of `%s`", dst_rel);
  run->planned_symlinks++;
  return 0;
}

/* Walk the folder SRC_DIR (open) into DST_DIR (open, made by us). */
static int
walk_dir (struct copy_run *run, int src_dir, int dst_dir, const char *src_rel,
          const char *dst_rel, int depth)
{
  if (depth > 256)
    return copy_fail (run, ELOOP, "walk `%s`: folders nested too deep", src_rel);
  int dup_fd = dup (src_dir);
  if (dup_fd < 0)
    return copy_fail (run, errno, "walk `%s`", src_rel);
  autoclosedir DIR *d = fdopendir (dup_fd);
  if (!d)
    {
      close (dup_fd);
      return copy_fail (run, errno, "walk `%s`", src_rel);
    }
  for (;;)
    {
      errno = 0;
      struct dirent *de = readdir (d);
      if (!de)
        {
          if (errno)
            return copy_fail (run, errno, "read the folder `%s`", src_rel);
          break;
        }
      const char *name = de->d_name;
      if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
        continue;
      struct stat st;
      if (fstatat (src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return copy_fail (run, errno, "stat `%s/%s`", src_rel, name);
      autofree char *s = join (src_rel, name);
      autofree char *t = join (dst_rel, name);
      if (!s || !t)
        return copy_fail (run, ENOMEM, "plan the copy");
      if (S_ISREG (st.st_mode))
        {
          int l = try_link (run, src_dir, name, dst_dir, name, t);
          if (l < 0)
            return -1;
          if (l == 0 && add_file (run, steal_ptr (&s), steal_ptr (&t), &st) < 0)
            return -1;
        }
      else if (S_ISLNK (st.st_mode))
        {
          if (make_symlink (run, src_dir, name, dst_dir, s, t, &st) < 0)
            return -1;
        }
      else if (S_ISDIR (st.st_mode))
        {
          if (mkdirat (dst_dir, name, 0700) < 0)
            return copy_fail (run, errno, "create the folder `%s`", t);
          autoclose int sd = openat (src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sd < 0)
            return copy_fail (run, errno, "open the folder `%s`", s);
          autoclose int dd = openat (dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (dd < 0)
            return copy_fail (run, errno, "open the folder `%s`", t);
          if (walk_dir (run, sd, dd, s, t, depth + 1) < 0)
            return -1;
          if (add_dir (run, steal_ptr (&t), &st) < 0)
            return -1;
        }
      else
        return copy_fail (run, 0, "`%s` is not a file, folder or symlink; a store path holds "
                          "no other kind", s);
    }
  return 0;
}

int
copy_walk_path (struct copy_run *run, struct copy_path *p)
{
  struct stat st;
  if (fstatat (run->dst_fd, p->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      p->skip = true;
      return 0;
    }
  if (errno != ENOENT)
    return copy_fail (run, errno, "stat `%s` in the destination", p->name);
  if (fstatat (run->src_fd, p->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return copy_fail (run, errno, "stat the store path `%s`", p->name);
  if (asprintf (&p->tmp, COPY_TMP_PREFIX "%s-%ld", p->name, (long) getpid ()) < 0)
    {
      p->tmp = NULL;
      return copy_fail (run, ENOMEM, "plan the copy");
    }
  if (S_ISREG (st.st_mode))
    {
      int l = try_link (run, run->src_fd, p->name, run->dst_fd, p->tmp, p->tmp);
      if (l != 0)
        return l < 0 ? -1 : 0;
      char *s = strdup (p->name), *t = strdup (p->tmp);
      if (!s || !t)
        {
          free (s);
          free (t);
          return copy_fail (run, ENOMEM, "plan the copy");
        }
      return add_file (run, s, t, &st);
    }
  if (S_ISLNK (st.st_mode))
    {
      if (make_symlink (run, run->src_fd, p->name, run->dst_fd, p->name, p->tmp, &st) < 0)
        return -1;
      /* Top-level symlinks need no finishing, but utimensat above
         happened on the link itself already. */
      return 0;
    }
  if (!S_ISDIR (st.st_mode))
    return copy_fail (run, 0, "store path `%s` is not a file, folder or symlink", p->name);
  if (mkdirat (run->dst_fd, p->tmp, 0700) < 0)
    return copy_fail (run, errno, "create the folder `%s`", p->tmp);
  autoclose int sd = openat (run->src_fd, p->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sd < 0)
    return copy_fail (run, errno, "open the store path `%s`", p->name);
  autoclose int dd = openat (run->dst_fd, p->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dd < 0)
    return copy_fail (run, errno, "open the folder `%s`", p->tmp);
  if (walk_dir (run, sd, dd, p->name, p->tmp, 0) < 0)
    return -1;
  char *t = strdup (p->tmp);
  if (!t)
    return copy_fail (run, ENOMEM, "plan the copy");
  return add_dir (run, t, &st);
}
