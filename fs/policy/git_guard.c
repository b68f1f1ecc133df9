#include "git_guard.h"

#include "cleanup.h"
#include "gitconfig.h"
#include "safe_open.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config git reads is small; a bigger one is refused rather than read. */
#define CONFIG_MAX (1 << 20)

static pthread_rwlock_t guard_lock = PTHREAD_RWLOCK_INITIALIZER;

void
git_guard_lock (void)
{
  pthread_rwlock_wrlock (&guard_lock);
}

void
git_guard_lock_shared (void)
{
  pthread_rwlock_rdlock (&guard_lock);
}

void
git_guard_unlock (void)
{
  pthread_rwlock_unlock (&guard_lock);
}

/* The hooks git runs (githooks(5)), sorted for bsearch. */
static const char *const hook_names[] = {
  "applypatch-msg", "commit-msg", "fsmonitor-watchman", "p4-changelist",
  "p4-post-changelist", "p4-pre-submit", "p4-prepare-changelist", "post-applypatch",
  "post-checkout", "post-commit", "post-index-change", "post-merge", "post-receive",
  "post-rewrite", "post-update", "pre-applypatch", "pre-auto-gc", "pre-commit",
  "pre-merge-commit", "pre-push", "pre-rebase", "pre-receive", "prepare-commit-msg",
  "proc-receive", "push-to-checkout", "reference-transaction", "sendemail-validate", "update",
};

static int
cmp_name (const void *key, const void *elem)
{
  return strcmp ((const char *) key, *(const char *const *) elem);
}

static bool
hook_name (const char *name)
{
  return bsearch (name, hook_names, sizeof hook_names / sizeof *hook_names, sizeof *hook_names,
                  cmp_name)
         != NULL;
}

static bool
config_name (const char *name)
{
  return strcmp (name, "config") == 0 || strcmp (name, "config.worktree") == 0;
}

/* Names that may not be symlinks: git follows them. */
static bool
no_link_name (const char *name)
{
  return strcmp (name, ".git") == 0 || strcmp (name, "hooks") == 0 || config_name (name);
}

enum kind
{
  K_NONE,
  K_CONFIG, /* git may read it as a config */
  K_HOOK,   /* git may run it */
};

/* What git makes of the entry PP: its name, and the name of the folder
   holding it (precomputed under node_lock, policy.h). */
static enum kind
kind_of (const struct policy_path *pp)
{
  if (!pp->real || !pp->dir)
    return K_NONE;
  if (config_name (pp->name))
    return K_CONFIG;
  if (!pp->top && strcmp (pp->dir_name, "hooks") == 0 && hook_name (pp->name))
    return K_HOOK;
  return K_NONE;
}

bool
git_guard_path (const struct policy_path *pp)
{
  return kind_of (pp) != K_NONE;
}

static int
refuse (char *why, const char *fmt, const char *arg)
{
  snprintf (why, GIT_GUARD_WHY, fmt, arg);
  return -EACCES;
}

/* Is the config text BUF free of program keys?  0, or -EACCES and WHY. */
static int
check_config (const char *buf, size_t len, char *why)
{
  char key[256];
  if (gitconfig_runs_nothing (buf, len, key, sizeof key))
    return 0;
  return refuse (why, "git config key %s runs a program", key);
}

/* Read the whole regular file FD (opened for reading) into a new buffer
   with room for EXTRA more bytes.  -errno; -EFBIG past CONFIG_MAX. */
static ssize_t
read_all (int fd, char **out, size_t extra)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return -errno;
  if (st.st_size > CONFIG_MAX || extra > CONFIG_MAX)
    return -EFBIG;
  size_t cap = (size_t) st.st_size + extra + 1;
  char *buf = malloc (cap);
  if (!buf)
    return -ENOMEM;
  size_t len = 0;
  for (;;)
    {
      if (len == cap)
        break;
      ssize_t n = pread (fd, buf + len, cap - len, (off_t) len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          free (buf);
          return -e;
        }
      if (n == 0)
        break;
      len += (size_t) n;
      if (len > (size_t) CONFIG_MAX)
        {
          free (buf);
          return -EFBIG;
        }
    }
  *out = buf;
  return (ssize_t) len;
}

/* Check the regular file NAME in DIRFD ("" : DIRFD itself, an O_PATH fd)
   as a config. */
static int
check_config_file (int dirfd, const char *name, char *why)
{
  char p[64];
  int fd;
  if (name[0] == '\0')
    {
      snprintf (p, sizeof p, "/proc/self/fd/%d", dirfd);
      fd = open (p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    }
  else
    fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return refuse (why, "cannot read it to check it as a git config: %s", strerror (errno));
  char *buf = NULL;
  ssize_t len = read_all (fd, &buf, 0);
  close (fd);
  if (len < 0)
    return refuse (why, "cannot read it to check it as a git config: %s", strerror ((int) -len));
  int r = check_config (buf, (size_t) len, why);
  free (buf);
  return r;
}

int
git_guard_new (const struct policy_path *pp, mode_t *mode, char *why)
{
  if (S_ISLNK (*mode))
    {
      if (no_link_name (pp->name) || kind_of (pp) == K_HOOK)
        return refuse (why, "a symlink named %s would lead git to a file nobody checked", pp->name);
      return 0;
    }
  if (S_ISREG (*mode) && kind_of (pp) == K_HOOK)
    *mode &= ~(mode_t) (S_IXUSR | S_IXGRP | S_IXOTH); /* git never runs it */
  return 0;
}

int
git_guard_link (const struct policy_path *src, const struct policy_path *dst, char *why)
{
  if (kind_of (dst) != K_NONE)
    return refuse (why, "a second link named %s could be written through its other name",
                   dst->name);
  if (kind_of (src) != K_NONE)
    return refuse (why, "%s", "a second link to a git config or hook could be written through");
  return 0;
}

/* Does the folder FD (an O_PATH fd) hold a hook git could run? */
static int
check_hooks_folder (int fd, char *why)
{
  int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return refuse (why, "cannot read the folder to check its hooks: %s", strerror (errno));
  DIR *d = fdopendir (dfd);
  if (!d)
    {
      int e = errno;
      close (dfd);
      return refuse (why, "cannot read the folder to check its hooks: %s", strerror (e));
    }
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir (d)))
    {
      if (!hook_name (de->d_name))
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISLNK (st.st_mode) || (S_ISREG (st.st_mode) && ((st.st_mode & 0111) || st.st_nlink > 1)))
        r = refuse (why, "it holds %s, a hook git would run", de->d_name);
    }
  closedir (d);
  return r;
}

int
git_guard_move (int efd, const struct policy_path *dst, char *why)
{
  struct stat st;
  if (efd < 0 || fstatat (efd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return 0; /* the rename itself fails */
  const char *dname = dst->name;
  enum kind k = kind_of (dst);
  if (S_ISLNK (st.st_mode))
    {
      if (no_link_name (dname) || k == K_HOOK)
        return refuse (why, "a symlink named %s would lead git to a file nobody checked", dname);
      return 0;
    }
  if (S_ISDIR (st.st_mode))
    return strcmp (dname, "hooks") == 0 ? check_hooks_folder (efd, why) : 0;
  if (k == K_NONE || !S_ISREG (st.st_mode))
    return 0;
  if (st.st_nlink > 1)
    return refuse (why, "a file with a second link may not become %s", dname);
  if (k == K_HOOK)
    return (st.st_mode & 0111) ? refuse (why, "an executable file may not become the hook %s", dname)
                               : 0;
  return check_config_file (efd, "", why);
}

int
git_guard_chmod (const struct policy_path *pp, int fd, mode_t mode, char *why)
{
  if (!(mode & 0111) || kind_of (pp) != K_HOOK)
    return 0;
  struct stat st;
  if (fstatat (fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
    return 0;
  return refuse (why, "%s", "a git hook may not become executable");
}

int
git_guard_write (const struct policy_path *pp, int fd, const char *data, size_t size, off_t off,
                 char *why)
{
  if (kind_of (pp) != K_CONFIG)
    return 0;
  if (off < 0 || (size_t) off > CONFIG_MAX || size > CONFIG_MAX)
    return refuse (why, "%s", "a git config may not grow past 1 MiB");
  char p[64];
  snprintf (p, sizeof p, "/proc/self/fd/%d", fd);
  int rfd = open (p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (rfd < 0)
    return refuse (why, "cannot read it to check it as a git config: %s", strerror (errno));
  char *buf = NULL;
  size_t end = (size_t) off + (data ? size : 0);
  ssize_t len = read_all (rfd, &buf, end);
  close (rfd);
  if (len < 0)
    return refuse (why, "cannot read it to check it as a git config: %s", strerror ((int) -len));
  size_t newlen;
  if (data)
    {
      if ((size_t) len < (size_t) off)
        memset (buf + len, 0, (size_t) off - (size_t) len);
      memcpy (buf + off, data, size);
      newlen = end > (size_t) len ? end : (size_t) len;
    }
  else
    {
      if ((size_t) len < (size_t) off)
        memset (buf + len, 0, (size_t) off - (size_t) len);
      newlen = (size_t) off;
    }
  int r = check_config (buf, newlen, why);
  free (buf);
  return r;
}

int
git_guard_file (int dirfd, const char *rel, mode_t mode, char *why)
{
  const char *base = strrchr (rel, '/');
  base = base ? base + 1 : rel;
  /* the folder it is in: the component before BASE */
  char parent[256] = "";
  if (base != rel)
    {
      const char *end = base - 1, *start = end;
      while (start > rel && start[-1] != '/')
        start--;
      snprintf (parent, sizeof parent, "%.*s", (int) (end - start), start);
    }
  bool hook = strcmp (parent, "hooks") == 0 && hook_name (base);
  if (S_ISLNK (mode))
    return no_link_name (base) || hook
             ? refuse (why, "a symlink named %s would lead git to a file nobody checked", base)
             : 0;
  if (!S_ISREG (mode))
    return 0;
  if (hook && (mode & 0111))
    return refuse (why, "%s is an executable git hook", base);
  if (!config_name (base))
    return 0;
  int fd = safe_openat (dirfd, rel, O_PATH);
  if (fd < 0)
    return refuse (why, "cannot read it to check it as a git config: %s", strerror (errno));
  int r = check_config_file (fd, "", why);
  close (fd);
  return r;
}
