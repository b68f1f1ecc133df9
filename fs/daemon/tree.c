/* tree.c - the root tree the agent sees: synthetic directories and files
   (/, /bin, /etc, /home, /nix, /usr/bin/env, mount points for the launcher)
   with the views (workspace, store, the real home) hung into it, and an
   empty folder where the launcher binds the cage's home. */
#include <dirent.h>
#include <errno.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "egress_proto.h"
#include "cow.h"
#include "tree.h"
#include "hidden_inodes.h"
#include "host_watch.h"
#include "scan_cache.h"
#include "paths.h"
#include "safe_open.h"
#include "tracked.h"
#include "storepath.h"

struct cagefs cagefs;

static int
open_root (const char *path, struct cage_error *err)
{
  int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cage_error_set (err, errno, "open view root `%s`", path);
  return fd;
}

/* May close(2) on the filesystem of FD report an error a write did not
   (network and cluster filesystems flush there)?  Local ones never do. */
static bool
close_reports_errors (int fd)
{
  static const unsigned long types[] = {
    0x6969,     /* NFS */        0x517B,     /* SMB */
    0xFF534D42, /* CIFS */       0xFE534D42, /* SMB2 */
    0x65735546, /* FUSE */       0x01021997, /* 9P */
    0x00C36400, /* Ceph */       0x5346414F, /* AFS */
    0x73757245, /* Coda */       0x7461636F, /* OCFS2 */
    0x01161970, /* GFS2 */       0x0BD00BD0, /* Lustre */
  };
  struct statfs sf;
  if (fstatfs (fd, &sf) < 0)
    return true;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if ((unsigned long) sf.f_type == types[i])
      return true;
  return false;
}

#define NEW(expr)                                                                  \
  do                                                                               \
    {                                                                              \
      if (!(expr))                                                                 \
        return cage_error_set (err, ENOMEM, "build the root tree");               \
    }                                                                              \
  while (0)

/* /bin: one symlink per entry of each package's bin/, first package wins. */
static int
add_bin_links (struct node *bin, int store_fd, char *const *packages, const struct blacklist *bl,
               struct cage_error *err)
{
  for (char *const *p = packages; p && *p; p++)
    {
      const char *name = storepath_name (*p);
      char rel[512];
      snprintf (rel, sizeof rel, "%s/bin", name);
      int fd = safe_openat (store_fd, rel, O_RDONLY | O_DIRECTORY);
      if (fd < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            continue; /* a package without bin/ */
          return cage_error_set (err, errno, "read `%s/bin`", *p);
        }
      autoclosedir DIR *d = fdopendir (fd);
      if (!d)
        {
          close (fd);
          return cage_error_set (err, errno, "read `%s/bin`", *p);
        }
      struct dirent *e;
      while ((e = readdir (d)))
        {
          if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
          if (node_child (bin, e->d_name) || blacklist_match_name (bl, e->d_name))
            continue;
          char target[1024];
          snprintf (target, sizeof target, "%s/bin/%s", *p, e->d_name);
          NEW (node_new_link (bin, e->d_name, target));
        }
    }
  return 0;
}

/* /etc/ssl/certs from the first package that has a CA bundle. */
static int
add_certs (struct node *etc, int store_fd, char *const *packages, struct cage_error *err)
{
  static const char *const bundles[] = { "etc/ssl/certs/ca-bundle.crt",
                                         "etc/ssl/certs/ca-certificates.crt", NULL };
  for (char *const *p = packages; p && *p; p++)
    for (const char *const *b = bundles; *b; b++)
      {
        char rel[512];
        snprintf (rel, sizeof rel, "%s/%s", storepath_name (*p), *b);
        int fd = safe_openat (store_fd, rel, O_PATH);
        if (fd < 0)
          continue;
        close (fd);
        char target[1024];
        snprintf (target, sizeof target, "%s/%s", *p, *b);
        struct node *ssl, *certs;
        NEW (ssl = node_new_dir (etc, "ssl", 0755));
        NEW (certs = node_new_dir (ssl, "certs", 0755));
        NEW (node_new_link (certs, "ca-certificates.crt", target));
        NEW (node_new_link (certs, "ca-bundle.crt", target));
        return 0;
      }
  return 0;
}

static int
add_text (struct node *dir, const char *name, const char *text, struct cage_error *err)
{
  NEW (node_new_file (dir, name, 0644, text, strlen (text)));
  return 0;
}

static char *
read_small_file (const char *path)
{
  autoclose int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  char *buf = calloc (1, 65536);
  if (!buf)
    return NULL;
  ssize_t n = read (fd, buf, 65535);
  if (n < 0)
    {
      free (buf);
      return NULL;
    }
  return buf;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The sorted entry names of the store paths PATHS (pointing into them). */
static int
name_list (char **paths, char ***out, size_t *n_out)
{
  size_t n = 0;
  while (paths && paths[n])
    n++;
  char **v = calloc (n + 1, sizeof (char *));
  if (!v)
    return -1;
  for (size_t i = 0; i < n; i++)
    v[i] = (char *) storepath_name (paths[i]);
  qsort (v, n, sizeof (char *), cmp_str);
  *out = v;
  *n_out = n;
  return 0;
}

/* Hang VIEW at the absolute PATH (e.g. "/root"), making the synthetic
   folders on the way; a place already taken is an error.  Without a VIEW,
   an empty synthetic folder (a mount point for the launcher) named WHAT. */
static int
hang_view (struct node *root, const char *path, const char *what, struct view *view,
           struct cage_error *err)
{
  char buf[1024];
  snprintf (buf, sizeof buf, "%s", path);
  struct node *dir = root;
  char *save = NULL;
  char *c = strtok_r (buf, "/", &save);
  while (c)
    {
      char *next = strtok_r (NULL, "/", &save);
      struct node *child = node_child (dir, c);
      if (!next)
        {
          if (child)
            return cage_error_set (err, EEXIST, "show the %s at `%s`: the cage has "
                                   "something there already", what, path);
          NEW (view ? node_new_view_root (dir, c, view) : node_new_dir (dir, c, 0755));
          return 0;
        }
      if (child && child->kind != NODE_DIR)
        return cage_error_set (err, EEXIST, "show the %s at `%s`: `%s` is taken", what, path,
                               c);
      if (!child)
        NEW (child = node_new_dir (dir, c, 0755));
      dir = child;
      c = next;
    }
  return cage_error_set (err, EINVAL, "show the %s at `%s`: not a path", what, path);
}

/* The real home's blacklist: the project's, the agents' sign-in files, and
   the cagefs state root when it is in that home (mount points, the homes of
   other cages). */
static int
host_home_blacklist (struct blacklist *bl, const struct cage_config *cfg, const char *home,
                     struct cage_error *err)
{
  autofree char *root = paths_state_root (err);
  if (!root)
    return -1;
  size_t n = strlen (home);
  /* The agents' own sign-ins, which the defaults do not name. */
  static const char *const logins[] = { "/.claude/.credentials.json", "/.codex/auth.json",
                                        "/.gemini/oauth_creds.json", "/.config/gh/hosts.yml",
                                        "/.local/share/opencode/auth.json", NULL };
  char *extra[cfg->n_blacklist + 8];
  size_t k = 0;
  for (const char *const *l = logins; *l; l++)
    extra[k++] = (char *) *l;
  for (size_t i = 0; i < cfg->n_blacklist; i++)
    extra[k++] = cfg->blacklist[i];
  char pattern[2048];
  if (strncmp (root, home, n) == 0 && root[n] == '/')
    {
      /* anchored, with the glob characters quoted */
      size_t o = 0;
      for (const char *p = root + n; *p && o + 3 < sizeof pattern; p++)
        {
          if (strchr ("*?[]\\!#", *p))
            pattern[o++] = '\\';
          pattern[o++] = *p;
        }
      pattern[o] = '\0';
      extra[k++] = pattern;
    }
  extra[k] = NULL;
  return blacklist_init (bl, extra, !cfg->blacklist_no_defaults, err);
}

/* The workspace's hooks for the inode table (node.h): its folders' host
   watches go with their nodes; the cow view reopens through its layers. */
static int
cow_reopen (const struct view *v, const char *rel)
{
  return cow_resolve (rel);
}

static const struct view_ops watched_ops = { .node_gone = host_watch_drop };
static const struct view_ops cow_ops = { .reopen = cow_reopen, .node_gone = host_watch_drop };

int
tree_build (struct cagefs *fs, const struct cage_config *cfg, const struct project_paths *pp,
            const struct cage_state *st, const struct store_setup *ss, struct cage_error *err)
{
  fs->host_uid = st->host_uid;
  fs->host_gid = st->host_gid;
  fs->cage_uid = st->cage_uid;
  fs->cage_gid = st->cage_gid;
  if (blacklist_init (&fs->blacklist, cfg->blacklist, !cfg->blacklist_no_defaults, err) < 0)
    return -1;
  if (blacklist_init_with (&fs->protect, cfg->protected_no_defaults ? NULL : protect_defaults,
                           cfg->protected, err) < 0)
    return cage_error_prefix (err, "protected");

  fs->workspace = (struct view){ .name = "workspace", .writable = !cfg->workspace_readonly,
                                 .blacklist = &fs->blacklist, .entry_timeout = 1.0,
                                 .attr_timeout = 1.0, .negative_timeout = 1.0,
                                 /* cached long only where a watch reports host
                                    edits (host_watch.h; not the cow view) */
                                 .keep_cache = false, .watch_host = cfg->view != VIEW_COW };
  /* A read-only store's paths never change: cache them for a day.  The
     closure is fixed (readonly, isolated) but a shared store grows.  Copy
     mode's store is the agent's to change, but only through this mount
     (the private store is the daemon's, filled before it serves): the
     kernel sees every change, so it may cache too; 60 s bounds what it
     would miss of a change made behind the mount (nix-store run on the
     private store by hand). */
  bool fixed = !ss->writable;
  double store_timeout = fixed ? 86400.0 : 60.0;
  fs->store = (struct view){ .name = "store", .writable = ss->writable,
                             .blacklist = &fs->blacklist,
                             .entry_timeout = store_timeout,
                             .attr_timeout = store_timeout,
                             /* (a shared store's new paths must show:
                                misses there are cached 1 s) */
                             .negative_timeout = ss->filter || ss->writable ? store_timeout : 1.0,
                             .keep_cache = true, .private_store = ss->private_store,
                             .immutable = !ss->writable,
                             .world_readable_only = !ss->writable };
  if ((fs->workspace.root_fd = open_root (pp->project, err)) < 0
      || (fs->store.root_fd = open_root (ss->root, err)) < 0)
    return -1;
  fs->workspace.close_reports = close_reports_errors (fs->workspace.root_fd);
  /* (served by the root session, which checks no permissions: when root
     invokes, the daemon reads as root for an agent that is not) */
  fs->host_home = (struct view){ .name = "host home", .writable = false,
                                 .blacklist = &fs->host_home_blacklist, .entry_timeout = 1.0,
                                 .attr_timeout = 1.0, .negative_timeout = 1.0,
                                 .keep_cache = false, .root_fd = -1,
                                 .world_readable_only = st->cage_uid != st->host_uid };
  if (st->host_home)
    {
      if (host_home_blacklist (&fs->host_home_blacklist, cfg, st->host_home, err) < 0
          || (fs->host_home.root_fd = open_root (st->host_home, err)) < 0)
        return -1;
    }
  if (cfg->view == VIEW_COW)
    {
      close (fs->workspace.root_fd);
      fs->workspace.root_fd = -1;
      if (paths_mkdir_p (pp->cow_upper, 0700, err) < 0
          || cow_init (&fs->workspace, pp->project, pp->cow_upper, err) < 0)
        return -1;
    }
  if (cfg->view == VIEW_TRACKED && tracked_init (&fs->workspace, pp->project, err) < 0)
    return -1;
  fs->workspace.ops = cfg->view == VIEW_COW ? &cow_ops : &watched_ops;

  if (ss->filter
      && name_list (ss->closure, &fs->store.allowed_top, &fs->store.n_allowed_top) < 0)
    return cage_error_set (err, ENOMEM, "build the root tree");
  if (ss->hidden && ss->hidden[0]
      && name_list (ss->hidden, &fs->store.hidden_top, &fs->store.n_hidden_top) < 0)
    return cage_error_set (err, ENOMEM, "build the root tree");

  struct node *root, *nix, *etc, *bin, *usr, *usrbin;
  NEW (root = node_new_dir (NULL, "", 0755));
  fs->root = root;
  NEW (node_new_view_root (root, "workspace", &fs->workspace));
  NEW (nix = node_new_dir (root, "nix", 0755));
  NEW (fs->store_root = node_new_view_root (nix, "store", &fs->store));
  if (st->nix_daemon)
    {
      /* The launcher binds the host's socket folder here (mounts.c). */
      struct node *var, *vnix, *sock;
      NEW (var = node_new_dir (nix, "var", 0755));
      NEW (vnix = node_new_dir (var, "nix", 0755));
      NEW (sock = node_new_dir (vnix, "daemon-socket", 0755));
      NEW (node_new_file (sock, "socket", 0666, "", 0));
    }
  NEW (bin = node_new_dir (root, "bin", 0755));
  NEW (usr = node_new_dir (root, "usr", 0755));
  NEW (usrbin = node_new_dir (usr, "bin", 0755));
  NEW (etc = node_new_dir (root, "etc", 0755));
  NEW (node_new_dir (root, "home", 0755));
  const char *user = st->user;
  NEW (node_new_dir (root, "tmp", 01777));
  NEW (node_new_dir (root, "proc", 0555));
  NEW (node_new_dir (root, "dev", 0755));
  /* The cage's home is the host folder itself (<state>/home), which the
     launcher binds here: O_TMPFILE and the rest are the host
     filesystem's, not a FUSE view's. */
  if (hang_view (root, st->home, "cage's home", NULL, err) < 0
      || (st->host_home
          && hang_view (root, st->host_home, "host home view", &fs->host_home, err) < 0))
    return -1;

  if (add_bin_links (bin, fs->store.root_fd, cfg->packages, &fs->blacklist, err) < 0)
    return -1;
  if (node_child (bin, "env"))
    NEW (node_new_link (usrbin, "env", "/bin/env"));

  char text[8192];
  snprintf (text, sizeof text,
            "root:x:0:0:root:/root:/bin/sh\n"
            "%s:x:%d:%d:%s:%s:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
            user, CAGE_INNER_UID, CAGE_INNER_GID, user, st->home);
  if (add_text (etc, "passwd", text, err) < 0)
    return -1;
  snprintf (text, sizeof text, "root:x:0:\n%s:x:%d:\nnogroup:x:65534:\n", user, CAGE_INNER_GID);
  if (add_text (etc, "group", text, err) < 0
      || add_text (etc, "hosts", "127.0.0.1 localhost cage\n::1 localhost cage\n", err) < 0
      || add_text (etc, "nsswitch.conf",
                   "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n", err) < 0)
    return -1;
  if (cfg->network == NETWORK_HOST)
    {
      autofree char *resolv = read_small_file ("/etc/resolv.conf");
      if (resolv && add_text (etc, "resolv.conf", resolv, err) < 0)
        return -1;
    }
  /* Network "filtered": the daemon's DNS stub, in the cage's own net
     namespace (common/net/egress_proto.h). */
  if (cfg->network == NETWORK_FILTERED
      && add_text (etc, "resolv.conf", "nameserver " EGRESS_DNS_ADDR "\noptions edns0\n", err) < 0)
    return -1;
  return add_certs (etc, fs->store.root_fd, cfg->packages, err);
}

void
tree_free (struct cagefs *fs)
{
  node_free_tree (fs->root);
  hidden_inodes_free (fs->workspace.hidden_inodes);
  if (fs->workspace.scan)
    scan_cache_free (fs->workspace.scan);
  blacklist_free (&fs->blacklist);
  blacklist_free (&fs->protect);
  blacklist_free (&fs->host_home_blacklist);
  free (fs->store.allowed_top);
  free (fs->store.hidden_top);
  close (fs->workspace.root_fd);
  cow_fini ();
  tracked_fini ();
  close (fs->store.root_fd);
  if (fs->host_home.root_fd >= 0)
    close (fs->host_home.root_fd);
}
