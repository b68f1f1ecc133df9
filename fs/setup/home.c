/* home.c - the cage's home: persistent or empty, the preset's paths made
   in it, and where the user's real home is shown (home.host). */
#include "home.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "rmtree.h"

#define MAX_DEPTH 256

/* Who the cage's home and everything in it belongs to.  When root invokes,
   the agent is the overflow id on the host (state.h): the home is then
   chowned to it, so the launcher can bind the folder itself into the
   cage.  Otherwise it is the invoking user's, and nothing is chowned. */
struct owner
{
  bool chown;
  uid_t uid;
  gid_t gid;
};

/* Give FD (any fd, O_PATH included) to O; PATH names it in messages. */
static int
give (int fd, const char *path, const struct owner *o, struct cage_error *err)
{
  if (o->chown && fchownat (fd, "", o->uid, o->gid, AT_EMPTY_PATH) < 0)
    return cage_error_set (err, errno, "give `%s` to uid %u (chown)", path, (unsigned) o->uid);
  return 0;
}

/* Give everything below the folder FD (PATH) to O: each entry with
   fchownat(AT_SYMLINK_NOFOLLOW) by its own name in its own folder (a link
   is changed, never followed), folders entered with O_NOFOLLOW, nothing on
   another filesystem (DEV) touched. */
static int
give_tree (int fd, const char *path, dev_t dev, int depth, const struct owner *o,
           struct cage_error *err)
{
  if (depth > MAX_DEPTH)
    return cage_error_set (err, ELOOP, "`%s` is nested more than %d folders deep", path,
                           MAX_DEPTH);
  int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cage_error_set (err, errno, "open the folder `%s`", path);
  autoclosedir DIR *d = fdopendir (dfd);
  if (!d)
    {
      int e = errno;
      close (dfd);
      return cage_error_set (err, e, "open the folder `%s`", path);
    }
  struct dirent *de;
  while ((errno = 0, de = readdir (d)))
    {
      if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
        continue;
      autofree char *sub = NULL;
      if (asprintf (&sub, "%s/%s", path, de->d_name) < 0)
        {
          sub = NULL;
          return cage_error_set (err, ENOMEM, "chown `%s/%s`", path, de->d_name);
        }
      struct stat st;
      if (fstatat (fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          return cage_error_set (err, errno, "stat `%s`", sub);
        }
      if (st.st_dev != dev)
        continue; /* a mount below the home: not ours to change */
      if (S_ISDIR (st.st_mode))
        {
          autoclose int cfd
            = openat (fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (cfd < 0)
            return cage_error_set (err, errno, "open the folder `%s`", sub);
          if (give_tree (cfd, sub, dev, depth + 1, o, err) < 0 || give (cfd, sub, o, err) < 0)
            return -1;
        }
      else if (fchownat (fd, de->d_name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0
               && errno != ENOENT)
        return cage_error_set (err, errno, "give `%s` to uid %u (lchown)", sub,
                               (unsigned) o->uid);
    }
  if (errno)
    return cage_error_set (err, errno, "read the folder `%s`", path);
  return 0;
}

/* mkdir -p REL beneath DIRFD, one component at a time from the folder
   before it (O_NOFOLLOW: a link planted on the way is refused, never
   followed); what it makes goes to O.  Returns an O_PATH fd of the last
   folder, or -1. */
static int
mkdirs_beneath (int dirfd, const char *home, const char *rel, const struct owner *o,
                struct cage_error *err)
{
  char buf[1024];
  snprintf (buf, sizeof buf, "%s", rel);
  size_t len = strlen (buf);
  while (len > 0 && buf[len - 1] == '/')
    buf[--len] = '\0';
  autoclose int cur = fcntl (dirfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return cage_error_set (err, errno, "open the cage's home `%s`", home);
  char *name = buf;
  for (char *p = buf; ; p++)
    {
      if (*p != '/' && *p != '\0')
        continue;
      char c = *p;
      *p = '\0';
      bool made = mkdirat (cur, name, 0700) == 0;
      if (!made && errno != EEXIST)
        return cage_error_set (err, errno, "create the folder `%s/%s`", home, buf);
      /* what exists must be a folder, not a link to one */
      int fd = openat (cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return cage_error_set (err, errno == ENOTDIR ? ELOOP : errno,
                               "open `%s/%s` (a folder is needed there)", home, buf);
      close (cur);
      cur = fd;
      if (made)
        {
          char path[2048];
          snprintf (path, sizeof path, "%s/%s", home, buf);
          if (give (cur, path, o, err) < 0)
            return -1;
        }
      *p = c;
      if (c == '\0')
        break;
      name = p + 1;
    }
  return steal_fd (&cur);
}

static int
make_path (int dirfd, const char *home, const char *rel, const struct owner *o,
           struct cage_error *err)
{
  size_t len = strlen (rel);
  if (rel[len - 1] == '/')
    {
      int fd = mkdirs_beneath (dirfd, home, rel, o, err);
      if (fd < 0)
        return -1;
      close (fd);
      return 0;
    }
  const char *slash = strrchr (rel, '/');
  autoclose int parent = -1;
  const char *name = rel;
  if (slash)
    {
      char dir[1024];
      snprintf (dir, sizeof dir, "%.*s", (int) (slash - rel), rel);
      if ((parent = mkdirs_beneath (dirfd, home, dir, o, err)) < 0)
        return -1;
      name = slash + 1;
    }
  autoclose int fd = openat (parent >= 0 ? parent : dirfd, name,
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      if (errno == EEXIST)
        return 0; /* kept as it is (a link stays a link: nothing follows it) */
      return cage_error_set (err, errno, "create `%s/%s`", home, rel);
    }
  if (len > 5 && strcmp (rel + len - 5, ".json") == 0 && write (fd, "{}\n", 3) != 3)
    return cage_error_set (err, errno ? errno : EIO, "write `%s/%s`", home, rel);
  char path[2048];
  snprintf (path, sizeof path, "%s/%s", home, rel);
  return give (fd, path, o, err);
}

int
home_prepare (const struct cage_config *cfg, struct project_paths *pp, uid_t uid, gid_t gid,
              struct cage_error *err)
{
  struct owner o = { .chown = uid != geteuid (), .uid = uid, .gid = gid };
  if (cfg->home_mode == HOME_EMPTY)
    {
      autoclose int sfd = open (pp->state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct stat st;
      if (sfd < 0 || fstat (sfd, &st) < 0)
        return cage_error_set (err, errno, "open the state folder `%s`", pp->state);
      const char *name = strrchr (pp->home_empty, '/') + 1;
      if (rmtree_at (sfd, pp->state, name, st.st_dev, 0, NULL, err) < 0)
        return -1;
      if (mkdirat (sfd, name, 0700) < 0)
        return cage_error_set (err, errno, "create `%s`", pp->home_empty);
      char *h = strdup (pp->home_empty);
      if (!h)
        return cage_error_set (err, ENOMEM, "home");
      free (pp->home);
      pp->home = h;
    }
  autoclose int hfd = open (pp->home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (hfd < 0)
    return cage_error_set (err, errno, "open the cage's home `%s`", pp->home);
  if (o.chown)
    {
      /* The folder at every mount; what is in it the first time (a folder
         that is not the agent's yet: new, or from before homes were
         chowned).  Later the agent's own files are its already. */
      struct stat st;
      if (fstat (hfd, &st) < 0)
        return cage_error_set (err, errno, "stat the cage's home `%s`", pp->home);
      if ((st.st_uid != uid || st.st_gid != gid)
          && give_tree (hfd, pp->home, st.st_dev, 0, &o, err) < 0)
        return -1;
      if (give (hfd, pp->home, &o, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < cfg->n_home_writable; i++)
    if (make_path (hfd, pp->home, cfg->home_writable[i], &o, err) < 0)
      return cage_error_prefix (err, "home.writable");
  return 0;
}

char *
home_host_path (struct cage_error *err)
{
  static const char *const taken[] = { "/nix", "/bin", "/usr", "/etc", "/tmp", "/proc",
                                       "/dev", "/workspace", NULL };
  struct passwd *pw = getpwuid (geteuid ());
  if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/')
    {
      cage_error_set (err, 0, "home.host: your passwd entry has no home folder; set "
                      "\"home\": {\"host\": false}");
      return NULL;
    }
  char *h = realpath (pw->pw_dir, NULL);
  if (!h)
    {
      cage_error_set (err, errno, "home.host: your home `%s`", pw->pw_dir);
      return NULL;
    }
  bool bad = strcmp (h, "/") == 0 || strcmp (h, "/home") == 0;
  for (const char *const *t = taken; !bad && *t; t++)
    {
      size_t n = strlen (*t);
      bad = strncmp (h, *t, n) == 0 && (h[n] == '\0' || h[n] == '/');
    }
  if (bad)
    {
      cage_error_set (err, 0, "home.host: your home `%s` cannot be shown at its own path in the "
                      "cage (it is /, /home, or in a folder the cage makes); set \"home\": "
                      "{\"host\": false}", h);
      free (h);
      return NULL;
    }
  return h;
}
