/* home.c - the cage's home: persistent or empty, the preset's paths made
   in it, and where the user's real home is shown (home.host). */
#include "home.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "rmtree.h"
#include "safe_open.h"

#define EMPTY_HOME "home-empty"

/* mkdir -p REL beneath DIRFD (no link followed). */
static int
mkdirs_beneath (int dirfd, const char *home, const char *rel, struct cage_error *err)
{
  char buf[1024];
  snprintf (buf, sizeof buf, "%s", rel);
  size_t len = strlen (buf);
  while (len > 0 && buf[len - 1] == '/')
    buf[--len] = '\0';
  for (char *p = buf; ; p++)
    {
      if (*p != '/' && *p != '\0')
        continue;
      char c = *p;
      *p = '\0';
      if (mkdirat (dirfd, buf, 0700) < 0 && errno != EEXIST)
        return cage_error_set (err, errno, "create the folder `%s/%s`", home, buf);
      /* what exists must be a folder reached without a link */
      int fd = safe_openat (dirfd, buf, O_PATH | O_DIRECTORY);
      if (fd < 0)
        return cage_error_set (err, errno, "open `%s/%s` (a folder is needed there)", home,
                               buf);
      close (fd);
      *p = c;
      if (c == '\0')
        break;
    }
  return 0;
}

static int
make_path (int dirfd, const char *home, const char *rel, struct cage_error *err)
{
  size_t len = strlen (rel);
  if (rel[len - 1] == '/')
    return mkdirs_beneath (dirfd, home, rel, err);
  const char *slash = strrchr (rel, '/');
  autoclose int parent = -1;
  const char *name = rel;
  if (slash)
    {
      char dir[1024];
      snprintf (dir, sizeof dir, "%.*s/", (int) (slash - rel), rel);
      if (mkdirs_beneath (dirfd, home, dir, err) < 0)
        return -1;
      dir[slash - rel] = '\0';
      if ((parent = safe_openat (dirfd, dir, O_PATH | O_DIRECTORY)) < 0)
        return cage_error_set (err, errno, "open `%s/%s`", home, dir);
      name = slash + 1;
    }
  autoclose int fd = openat (parent >= 0 ? parent : dirfd, name,
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      if (errno == EEXIST)
        return 0; /* kept as it is (a link stays a link: the daemon never follows it) */
      return cage_error_set (err, errno, "create `%s/%s`", home, rel);
    }
  if (len > 5 && strcmp (rel + len - 5, ".json") == 0 && write (fd, "{}\n", 3) != 3)
    return cage_error_set (err, errno ? errno : EIO, "write `%s/%s`", home, rel);
  return 0;
}

int
home_prepare (const struct cage_config *cfg, struct project_paths *pp, struct cage_error *err)
{
  if (cfg->home_mode == HOME_EMPTY)
    {
      autoclose int sfd = open (pp->state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      struct stat st;
      if (sfd < 0 || fstat (sfd, &st) < 0)
        return cage_error_set (err, errno, "open the state folder `%s`", pp->state);
      if (rmtree_at (sfd, pp->state, EMPTY_HOME, st.st_dev, 0, err) < 0)
        return -1;
      if (mkdirat (sfd, EMPTY_HOME, 0700) < 0)
        return cage_error_set (err, errno, "create `%s/" EMPTY_HOME "`", pp->state);
      char *h = NULL;
      if (asprintf (&h, "%s/" EMPTY_HOME, pp->state) < 0)
        return cage_error_set (err, ENOMEM, "home");
      free (pp->home);
      pp->home = h;
    }
  if (cfg->n_home_writable == 0)
    return 0;
  autoclose int hfd = open (pp->home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (hfd < 0)
    return cage_error_set (err, errno, "open the cage's home `%s`", pp->home);
  for (size_t i = 0; i < cfg->n_home_writable; i++)
    if (make_path (hfd, pp->home, cfg->home_writable[i], err) < 0)
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
