/* expr_copy.c - copy and hash the folder of store.expr through fds. */
#include "expr_copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "rmtree.h"
#include "safe_open.h"
#include "sha256.h"

struct walk
{
  struct sha256 h;
  long long bytes;
  long entries;
  const char *shown; /* PROJECT/FOLDER, for messages */
  struct cage_error *err;
};

/* Every way out of expr_copy releases the folder's digest. */
static void
walk_release (struct walk *w)
{
  sha256_release (&w->h);
}

static int
too_big (struct walk *w)
{
  return cage_error_set (w->err, 0, "store.expr: the folder `%s` holds more than %d entries or "
                         "%lld MiB; cagefs copies the expr's folder to evaluate it: move the "
                         "expr and the files it imports to a folder of their own (e.g. nix/) "
                         "and point store.expr there", w->shown, EXPR_COPY_MAX_ENTRIES,
                         EXPR_COPY_MAX_BYTES >> 20);
}

static int
changed (struct walk *w, const char *rel)
{
  return cage_error_set (w->err, 0, "store.expr: `%s/%s` changed while it was copied (now a "
                         "link or a special file); mount again", w->shown, rel);
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in the folder FD, sorted (without . and ..). */
static char **
sorted_names (int fd, size_t *n_out)
{
  int dfd = dup (fd);
  if (dfd < 0)
    return NULL;
  autoclosedir DIR *d = fdopendir (dfd);
  if (!d)
    {
      close (dfd);
      return NULL;
    }
  size_t n = 0, cap = 16;
  char **v = calloc (cap + 1, sizeof *v);
  struct dirent *e;
  while (v && (errno = 0, e = readdir (d)))
    {
      if (!strcmp (e->d_name, ".") || !strcmp (e->d_name, ".."))
        continue;
      if (n == cap)
        {
          char **nv = realloc (v, (2 * cap + 1) * sizeof *v);
          if (!nv)
            break;
          v = nv;
          cap *= 2;
        }
      if (!(v[n] = strdup (e->d_name)))
        break;
      v[++n] = NULL;
    }
  if (!v || errno || e)
    {
      int saved = errno ? errno : ENOMEM;
      cage_strv_free (v);
      errno = saved;
      return NULL;
    }
  qsort (v, n, sizeof *v, cmp_names);
  *n_out = n;
  return v;
}

static void
hash_record (struct walk *w, char type, const char *rel)
{
  sha256_update (&w->h, &type, 1);
  sha256_update (&w->h, rel, strlen (rel) + 1);
}

/* Copy the regular file NAME of SRC (REL in the folder) into DST. */
static int
copy_file (struct walk *w, int src, int dst, const char *name, const char *rel)
{
  autoclose int in = openat (src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0)
    return errno == ELOOP ? changed (w, rel)
                          : cage_error_set (w->err, errno, "store.expr: read `%s/%s`", w->shown,
                                            rel);
  struct stat st;
  if (fstat (in, &st) < 0)
    return cage_error_set (w->err, errno, "stat `%s/%s`", w->shown, rel);
  if (!S_ISREG (st.st_mode))
    return changed (w, rel);
  bool exec = st.st_mode & 0100;
  autoclose int out = openat (dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                              exec ? 0700 : 0600);
  if (out < 0)
    return cage_error_set (w->err, errno, "store.expr: copy `%s/%s`", w->shown, rel);
  autosha256 struct sha256 fh;
  if (sha256_init (&fh) < 0)
    return cage_error_set (w->err, ENOMEM, "store.expr: hash `%s/%s`", w->shown, rel);
  char buf[65536];
  for (;;)
    {
      ssize_t r = read (in, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return cage_error_set (w->err, errno, "store.expr: read `%s/%s`", w->shown, rel);
      if (r == 0)
        break;
      if ((w->bytes += r) > EXPR_COPY_MAX_BYTES)
        return too_big (w);
      sha256_update (&fh, buf, (size_t) r);
      for (ssize_t off = 0; off < r;)
        {
          ssize_t n = write (out, buf + off, (size_t) (r - off));
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return cage_error_set (w->err, errno, "store.expr: copy `%s/%s`", w->shown, rel);
          off += n;
        }
    }
  unsigned char digest[32];
  sha256_final (&fh, digest);
  hash_record (w, exec ? 'x' : 'f', rel);
  sha256_update (&w->h, digest, sizeof digest);
  return 0;
}

/* Copy the folder SRC (REL: "" at the top) into the folder DST. */
static int
copy_dir (struct walk *w, int src, int dst, const char *rel, int depth)
{
  if (depth > EXPR_COPY_MAX_DEPTH)
    return too_big (w);
  size_t n = 0;
  autostrv char **names = sorted_names (src, &n);
  if (!names)
    return cage_error_set (w->err, errno, "store.expr: read the folder `%s%s%s`", w->shown,
                           *rel ? "/" : "", rel);
  for (size_t i = 0; i < n; i++)
    {
      const char *name = names[i];
      autofree char *child = NULL;
      if (asprintf (&child, "%s%s%s", rel, *rel ? "/" : "", name) < 0)
        {
          child = NULL;
          return cage_error_set (w->err, ENOMEM, "store.expr: copy `%s`", w->shown);
        }
      if (++w->entries > EXPR_COPY_MAX_ENTRIES)
        return too_big (w);
      struct stat st;
      if (fstatat (src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return cage_error_set (w->err, errno, "store.expr: stat `%s/%s`", w->shown, child);
      if (S_ISDIR (st.st_mode))
        {
          autoclose int sfd = openat (src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sfd < 0)
            return errno == ELOOP || errno == ENOTDIR
                     ? changed (w, child)
                     : cage_error_set (w->err, errno, "store.expr: open `%s/%s`", w->shown, child);
          if (mkdirat (dst, name, 0700) < 0)
            return cage_error_set (w->err, errno, "store.expr: copy `%s/%s`", w->shown, child);
          autoclose int dfd = openat (dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (dfd < 0)
            return cage_error_set (w->err, errno, "store.expr: copy `%s/%s`", w->shown, child);
          hash_record (w, 'd', child);
          if (copy_dir (w, sfd, dfd, child, depth + 1) < 0)
            return -1;
          hash_record (w, 'e', child); /* the folder's end */
        }
      else if (S_ISLNK (st.st_mode))
        {
          /* Copied as it is: Nix resolves it and, in restricted mode,
             refuses a target outside what it may read. */
          char target[PATH_MAX];
          ssize_t len = readlinkat (src, name, target, sizeof target - 1);
          if (len < 0)
            return errno == EINVAL ? changed (w, child)
                                   : cage_error_set (w->err, errno, "store.expr: read the link "
                                                     "`%s/%s`", w->shown, child);
          target[len] = '\0';
          if (symlinkat (target, dst, name) < 0)
            return cage_error_set (w->err, errno, "store.expr: copy `%s/%s`", w->shown, child);
          hash_record (w, 'l', child);
          sha256_update (&w->h, target, (size_t) len + 1);
        }
      else if (S_ISREG (st.st_mode))
        {
          if (copy_file (w, src, dst, name, child) < 0)
            return -1;
        }
      /* sockets, FIFOs and devices: not Nix sources; left out */
    }
  return 0;
}

static void
remove_copy (const char *dir)
{
  const char *slash = strrchr (dir, '/');
  if (!slash)
    return;
  autofree char *parent = strndup (dir, (size_t) (slash - dir));
  if (!parent)
    return;
  autoclose int pfd = open (parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  struct cage_error err = { 0 };
  if (pfd < 0 || fstatat (pfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return;
  if (rmtree_at (pfd, parent, slash + 1, st.st_dev, 0, NULL, &err) < 0)
    cage_warn ("%s", err.msg);
}

void
expr_copy_free (struct expr_copy *c)
{
  if (c->dir)
    remove_copy (c->dir);
  free (c->dir);
  free (c->folder);
  free (c->file);
  c->dir = c->folder = c->file = NULL;
}

int
expr_copy_make (const char *project, const char *expr, const char *parent,
                struct expr_copy *out, struct cage_error *err)
{
  memset (out, 0, sizeof *out);
  const char *slash = strrchr (expr, '/');
  const char *base = slash ? slash + 1 : expr;
  autofree char *folder = slash ? strndup (expr, (size_t) (slash - expr)) : strdup ("");
  autofree char *shown = NULL;
  if (!folder || asprintf (&shown, "%s%s%s", project, *folder ? "/" : "", folder) < 0)
    {
      shown = NULL;
      return cage_error_set (err, ENOMEM, "store.expr");
    }
  if (!*base || !strcmp (base, ".") || !strcmp (base, ".."))
    return cage_error_set (err, 0, "store.expr: `%s` names a folder; name the Nix file, e.g. "
                           "\"nix/tools.nix\"", expr);
  autoclose int pfd = open (project, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return cage_error_set (err, errno, "open the project `%s`", project);
  autoclose int src = *folder ? safe_openat (pfd, folder, O_RDONLY | O_DIRECTORY)
                              : openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0)
    {
      if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
        return cage_error_set (err, 0, "store.expr: `%s` is or passes through a symbolic link "
                               "(or is not a folder); cagefs evaluates only a real folder of "
                               "the project: make `%s` a real folder and name the file in it",
                               shown, folder);
      return cage_error_set (err, errno, "store.expr: open the folder `%s`", shown);
    }
  struct stat st;
  if (fstatat (src, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return cage_error_set (err, errno, "store.expr: read `%s/%s`", shown, base);
  if (!S_ISREG (st.st_mode))
    return cage_error_set (err, 0, "store.expr: `%s/%s` is not a regular file%s", shown, base,
                           S_ISLNK (st.st_mode) ? " but a symbolic link: name the file itself"
                                                : "");

  autofree char *dir = NULL;
  if (asprintf (&dir, "%s/expr-eval.XXXXXX", parent) < 0)
    {
      dir = NULL;
      return cage_error_set (err, ENOMEM, "store.expr");
    }
  if (!mkdtemp (dir))
    return cage_error_set (err, errno, "store.expr: make a private folder `%s`", dir);
  struct expr_copy c = { .dir = steal_ptr (&dir) };
  const char *name = strrchr (shown, '/') ? strrchr (shown, '/') + 1 : shown;
  if (!*name || !strcmp (name, ".") || !strcmp (name, ".."))
    name = "project";
  if (asprintf (&c.folder, "%s/%s", c.dir, name) < 0)
    {
      c.folder = NULL;
      expr_copy_free (&c);
      return cage_error_set (err, ENOMEM, "store.expr");
    }
  if (mkdir (c.folder, 0700) < 0)
    {
      cage_error_set (err, errno, "store.expr: make a private folder `%s`", c.folder);
      expr_copy_free (&c);
      return -1;
    }
  autoclose int dst = open (c.folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  __attribute__ ((cleanup (walk_release))) struct walk w = { .shown = shown, .err = err };
  if (dst < 0)
    cage_error_set (err, errno, "store.expr: open `%s`", c.folder);
  else if (sha256_init (&w.h) < 0)
    {
      cage_error_set (err, ENOMEM, "store.expr: hash `%s`", shown);
      close (dst);
      dst = -1;
    }
  else
    sha256_update (&w.h, "cagefs-expr-folder-1", 21);
  if (dst < 0 || copy_dir (&w, src, dst, "", 0) < 0)
    {
      expr_copy_free (&c);
      return -1;
    }
  /* The file Nix reads is the copy's: check it is still a regular file. */
  if (fstatat (dst, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
    {
      changed (&w, base);
      expr_copy_free (&c);
      return -1;
    }
  unsigned char digest[32];
  sha256_final (&w.h, digest);
  sha256_hex (digest, c.digest);
  if (asprintf (&c.file, "%s/%s", c.folder, base) < 0)
    {
      c.file = NULL;
      expr_copy_free (&c);
      return cage_error_set (err, ENOMEM, "store.expr");
    }
  *out = c;
  return 0;
}
