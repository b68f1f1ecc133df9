/* mounts.c - the cage's root: the FUSE view plus the home folder and fresh
   proc, tmp and dev.

   The cagefs daemon presents one tree (workspace, store, bin, etc) with
   empty home, proc, tmp and dev directories; this file binds the cage's
   home folder (<state>/home) and mounts the others in a new mount
   namespace, then pivot_roots into the tree and detaches the
   host's, so nothing of the host's mount tree is left (bubblewrap's
   setup_newroot, as a table).

   Targets are opened beneath the root with safe_openat (no symlink, no
   "..") and mounted on through /proc/self/fd, so a link planted in the
   tree cannot redirect a mount.  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "launcher.h"
#include "state.h"
#include "safe_open.h"

enum root_op_kind
{
  OP_MOUNT,   /* mount a fresh SOURCE (fs type) on PATH */
  OP_DEVICE,  /* create an empty file at PATH, bind the host's SOURCE on it */
  OP_MKDIR,   /* mkdir PATH with MODE */
  OP_SYMLINK, /* PATH -> SOURCE */
  OP_READONLY, /* remount the mount at PATH read-only */
  OP_BIND_RO, /* bind PATH (folder or file) onto itself read-only, when it exists */
};

struct root_op
{
  enum root_op_kind kind;
  const char *path;     /* beneath the root, no leading '/' */
  const char *source;   /* fs type, host device, or link target */
  unsigned long flags;  /* OP_MOUNT: MS_* */
  const char *data;     /* OP_MOUNT: options */
  mode_t mode;          /* OP_MKDIR */
};

#define MOUNT(p, fs, fl, d) { OP_MOUNT, p, fs, fl, d, 0 }
#define DEVICE(name) { OP_DEVICE, "dev/" name, "/dev/" name, 0, NULL, 0 }
#define MKDIR(p, m) { OP_MKDIR, p, NULL, 0, NULL, m }
#define SYMLINK(p, t) { OP_SYMLINK, p, t, 0, NULL, 0 }

static const struct root_op root_ops[] = {
  /* proc of the new pid namespace: only the cage's processes */
  MOUNT ("proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
  /* the kernel's knobs stay read-only (bubblewrap's list) */
  { OP_BIND_RO, "proc/sys", NULL, 0, NULL, 0 },
  { OP_BIND_RO, "proc/sysrq-trigger", NULL, 0, NULL, 0 },
  { OP_BIND_RO, "proc/irq", NULL, 0, NULL, 0 },
  { OP_BIND_RO, "proc/bus", NULL, 0, NULL, 0 },
  MOUNT ("tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"),
  /* a minimal /dev: the harmless devices, bound from the host's, each a
     mount of its own (the tmpfs's nodev does not apply to them) */
  MOUNT ("dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755"),
  DEVICE ("null"),
  DEVICE ("zero"),
  DEVICE ("full"),
  DEVICE ("random"),
  DEVICE ("urandom"),
  DEVICE ("tty"),
  MKDIR ("dev/pts", 0755),
  MOUNT ("dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"),
  SYMLINK ("dev/ptmx", "pts/ptmx"),
  MKDIR ("dev/shm", 01777),
  MOUNT ("dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"),
  SYMLINK ("dev/fd", "/proc/self/fd"),
  SYMLINK ("dev/stdin", "/proc/self/fd/0"),
  SYMLINK ("dev/stdout", "/proc/self/fd/1"),
  SYMLINK ("dev/stderr", "/proc/self/fd/2"),
  /* nothing more appears in /dev (pts and shm are mounts of their own) */
  { OP_READONLY, "dev", NULL, 0, NULL, 0 },
  /* /, /nix, /bin, /usr and /etc are the root session's synthetic tree:
     the daemon refuses every change there itself (EROFS) and logs it, which
     a read-only mount would answer before it could.  */
};

/* "/proc/self/fd/N": mount(2) takes paths, this one names exactly FD. */
static const char *
fd_path (char *buf, size_t size, int fd)
{
  snprintf (buf, size, "/proc/self/fd/%d", fd);
  return buf;
}

/* Open the parent directory of PATH beneath ROOTFD; *NAME gets the last
   component.  */
static int
open_parent (int rootfd, const char *path, const char **name)
{
  const char *slash = strrchr (path, '/');
  if (!slash)
    {
      *name = path;
      return fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
    }
  char parent[256];
  size_t len = (size_t) (slash - path);
  if (len >= sizeof parent)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  memcpy (parent, path, len);
  parent[len] = '\0';
  *name = slash + 1;
  return safe_openat (rootfd, parent, O_PATH | O_DIRECTORY);
}

/* Remount the bind mount at PATH (an fd path) with FLAGS (MS_RDONLY,
   MS_NOSUID, MS_NODEV) added.  A remount must repeat the flags a user
   namespace may not change (read-only, nosuid, nodev, noexec, atime:
   locked on mounts from the host), so they are read back first, as
   bubblewrap does.  */
static int
remount_adding (const char *path, unsigned long add)
{
  static const struct { unsigned long st, ms; } keep[] = {
    { ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
    { ST_NOEXEC, MS_NOEXEC }, { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
    { ST_RELATIME, MS_RELATIME },
  };
  struct statvfs sv;
  if (statvfs (path, &sv) < 0)
    return -1;
  unsigned long flags = MS_REMOUNT | MS_BIND | add;
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
    if (sv.f_flag & keep[i].st)
      flags |= keep[i].ms;
  return mount (NULL, path, NULL, flags, NULL);
}

static int
remount_readonly (const char *path)
{
  return remount_adding (path, MS_RDONLY);
}

static int
apply_op (int rootfd, const char *root, const struct root_op *op, struct cage_error *err)
{
  char proc_path[64];
  const char *name;
  switch (op->kind)
    {
    case OP_MOUNT:
      {
        autoclose int fd = safe_openat (rootfd, op->path, O_PATH | O_DIRECTORY);
        if (fd < 0)
          return cage_error_set (err, errno, "open `%s/%s` to mount %s on it", root, op->path,
                                 op->source);
        if (mount (op->source, fd_path (proc_path, sizeof proc_path, fd), op->source, op->flags,
                   op->data)
            < 0)
          return cage_error_set (err, errno, "mount %s on `%s/%s`", op->source, root, op->path);
        return 0;
      }
    case OP_READONLY:
      {
        autoclose int fd = safe_openat (rootfd, op->path, O_PATH | O_DIRECTORY);
        if (fd < 0)
          return cage_error_set (err, errno, "open `%s/%s`", root, op->path);
        if (remount_readonly (fd_path (proc_path, sizeof proc_path, fd)) < 0)
          return cage_error_set (err, errno, "remount `%s/%s` read-only", root, op->path);
        return 0;
      }
    case OP_BIND_RO:
      {
        autoclose int fd = safe_openat (rootfd, op->path, O_PATH);
        if (fd < 0 && errno == ENOENT)
          return 0;
        if (fd < 0)
          return cage_error_set (err, errno, "open `%s/%s`", root, op->path);
        fd_path (proc_path, sizeof proc_path, fd);
        if (mount (proc_path, proc_path, NULL, MS_BIND | MS_REC, NULL) < 0)
          return cage_error_set (err, errno, "bind `%s/%s` onto itself", root, op->path);
        /* FD is the folder below the new mount: open the mount itself */
        autoclose int top = safe_openat (rootfd, op->path, O_PATH);
        if (top < 0)
          return cage_error_set (err, errno, "open `%s/%s`", root, op->path);
        if (remount_readonly (fd_path (proc_path, sizeof proc_path, top)) < 0)
          return cage_error_set (err, errno, "remount `%s/%s` read-only", root, op->path);
        return 0;
      }
    case OP_DEVICE:
      {
        autoclose int dir = open_parent (rootfd, op->path, &name);
        if (dir < 0)
          return cage_error_set (err, errno, "open the folder of `%s/%s`", root, op->path);
        autoclose int fd
          = openat (dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
          return cage_error_set (err, errno, "create `%s/%s`", root, op->path);
        if (mount (op->source, fd_path (proc_path, sizeof proc_path, fd), NULL, MS_BIND, NULL) < 0)
          return cage_error_set (err, errno, "bind `%s` on `%s/%s`", op->source, root, op->path);
        return 0;
      }
    case OP_MKDIR:
      {
        autoclose int dir = open_parent (rootfd, op->path, &name);
        if (dir < 0)
          return cage_error_set (err, errno, "open the folder of `%s/%s`", root, op->path);
        /* (a mount covers it next: the umask does not matter) */
        if (mkdirat (dir, name, op->mode) < 0)
          return cage_error_set (err, errno, "create directory `%s/%s`", root, op->path);
        return 0;
      }
    case OP_SYMLINK:
      {
        autoclose int dir = open_parent (rootfd, op->path, &name);
        if (dir < 0)
          return cage_error_set (err, errno, "open the folder of `%s/%s`", root, op->path);
        if (symlinkat (op->source, dir, name) < 0)
          return cage_error_set (err, errno, "create symlink `%s/%s`", root, op->path);
        return 0;
      }
    }
  return cage_error_set (err, EINVAL, "unknown root operation for `%s`", op->path);
}

/* The daemon serves the store and the workspace twice: inside the root
   tree, and each as a session of its own mounted next to it in the state
   directory (<state>/store, <state>/workspace: see paths.h).  Bind the
   session NAME at PATH in the cage, nosuid and nodev but not read-only:
   the daemon refuses and logs what may not change there.  (The root tree
   has no default_permissions; the workspace session has them, and so has
   the store session in copy mode: the kernel checks the modes there.)
   Done with the caller's own ids: the state directory is theirs and 0700.
   A daemon without such a session: the root tree's view serves. */
static int
bind_session (int rootfd, const char *root, const char *name, const char *path,
              struct cage_error *err)
{
  char src[4096];
  const char *slash = strrchr (root, '/');
  if (!slash || (size_t) (slash - root) + strlen (name) + 2 > sizeof src)
    return 0;
  snprintf (src, sizeof src, "%.*s/%s", (int) (slash - root), root, name);
  if (!state_is_fuse_mount (src))
    return 0;
  autoclose int fd = safe_openat (rootfd, path, O_PATH | O_DIRECTORY);
  if (fd < 0)
    return cage_error_set (err, errno, "open `%s/%s`", root, path);
  char proc_path[64];
  if (mount (src, fd_path (proc_path, sizeof proc_path, fd), NULL, MS_BIND | MS_REC, NULL) < 0)
    return cage_error_set (err, errno, "bind `%s` at `%s/%s`", src, root, path);
  /* FD is the folder below the new mount: open the mount itself */
  autoclose int top = safe_openat (rootfd, path, O_PATH | O_DIRECTORY);
  if (top < 0)
    return cage_error_set (err, errno, "open `%s/%s`", root, path);
  if (remount_adding (fd_path (proc_path, sizeof proc_path, top), MS_NOSUID | MS_NODEV) < 0)
    return cage_error_set (err, errno, "make `%s/%s` nosuid and nodev", root, path);
  return 0;
}

/* Shared mode with store.nix_daemon: the daemon made the file
   nix/var/nix/daemon-socket/socket in the root tree; bind the host's socket
   onto it (read-only: connecting needs no write access to the mount).  The
   socket itself, not its folder: Debian's folder is 0770 root:nix-users,
   which the agent of a root-run cage (host uid 65534) cannot enter. */
#define NIX_DAEMON_SOCKET NIX_DAEMON_SOCKET_DIR "/socket"
static int
bind_nix_daemon (int rootfd, const char *root, struct cage_error *err)
{
  autoclose int fd = safe_openat (rootfd, NIX_DAEMON_SOCKET + 1, O_PATH);
  if (fd < 0)
    return errno == ENOENT ? 0 : cage_error_set (err, errno, "open `%s%s`", root,
                                                 NIX_DAEMON_SOCKET);
  struct stat st;
  if (stat (NIX_DAEMON_SOCKET, &st) < 0 || !S_ISSOCK (st.st_mode))
    return cage_error_set (err, 0, "store.nix_daemon is on but the host has no nix-daemon socket "
                           "at `%s`; start it (systemctl start nix-daemon) or turn "
                           "store.nix_daemon off; run `cagefs doctor`", NIX_DAEMON_SOCKET);
  char proc_path[64];
  if (mount (NIX_DAEMON_SOCKET, fd_path (proc_path, sizeof proc_path, fd), NULL, MS_BIND, NULL) < 0)
    return cage_error_set (err, errno, "bind the host's `%s` into the cage", NIX_DAEMON_SOCKET);
  /* The fd still names the file below the new mount: open the mount. */
  autoclose int mfd = safe_openat (rootfd, NIX_DAEMON_SOCKET + 1, O_PATH);
  if (mfd < 0)
    return cage_error_set (err, errno, "open `%s%s`", root, NIX_DAEMON_SOCKET);
  if (mount (NULL, fd_path (proc_path, sizeof proc_path, mfd), NULL,
             MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
    return cage_error_set (err, errno, "make `%s` read-only in the cage", NIX_DAEMON_SOCKET);
  return 0;
}

/* The cage's home is a host folder, not a FUSE view (so O_TMPFILE and
   every other POSIX behaviour are the host filesystem's): bind PLAN's
   home_src at its home, nosuid and nodev.  Done with the caller's own ids,
   which reach the 0700 state folder; the folder must be the agent's
   (cagefs mount gives it to the overflow ids when root invokes). */
static int
bind_home (int rootfd, const struct cage_plan *plan, struct cage_error *err)
{
  const char *root = plan->root, *home = plan->home;
  if (home[0] != '/' || !home[1])
    return cage_error_set (err, 0, "the state file names no home for the cage (\"%s\"); "
                           "remount: cagefs umount %s && cagefs mount %s", home, plan->project,
                           plan->project);
  autoclose int src = open (plan->home_src, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (src < 0)
    return cage_error_set (err, errno, "open the cage's home `%s`", plan->home_src);
  struct stat st;
  if (fstat (src, &st) < 0)
    return cage_error_set (err, errno, "stat the cage's home `%s`", plan->home_src);
  /* (seen from the cage's user namespace: the agent's host uid is
     CAGE_INNER_UID here, any other is unmapped) */
  if (st.st_uid != CAGE_INNER_UID)
    return cage_error_set (err, 0, "the cage's home `%s` does not belong to the agent (host "
                           "uid %u); remount: cagefs umount %s && cagefs mount %s",
                           plan->home_src, (unsigned) plan->map_uid, plan->project,
                           plan->project);
  autoclose int dst = safe_openat (rootfd, home + 1, O_PATH | O_DIRECTORY);
  if (dst < 0)
    return cage_error_set (err, errno, "open `%s%s` to bind the cage's home on it", root, home);
  char src_path[64], dst_path[64];
  if (mount (fd_path (src_path, sizeof src_path, src), fd_path (dst_path, sizeof dst_path, dst),
             NULL, MS_BIND | MS_REC, NULL)
      < 0)
    return cage_error_set (err, errno, "bind the cage's home `%s` at `%s%s`", plan->home_src,
                           root, home);
  /* DST still names the folder below the new mount: open the mount. */
  autoclose int top = safe_openat (rootfd, home + 1, O_PATH | O_DIRECTORY);
  if (top < 0)
    return cage_error_set (err, errno, "open `%s%s`", root, home);
  if (remount_adding (fd_path (dst_path, sizeof dst_path, top), MS_NOSUID | MS_NODEV) < 0)
    return cage_error_set (err, errno, "make the cage's home `%s%s` nosuid and nodev", root,
                           home);
  return 0;
}

int
mounts_setup_root (const struct cage_plan *plan, struct cage_error *err)
{
  const char *root = plan->root;
  /* Nothing we mount may reach the host's namespace, and nothing the host
     mounts later shows up here. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return cage_error_set (err, errno, "make the mount tree private (mount --make-rprivate /)");

  /* A mount of our own namespace, so it is not locked and pivot_root
     accepts it (any directory works as a root this way).  */
  if (mount (root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
    return cage_error_set (err, errno, "bind `%s` onto itself", root);
  autoclose int rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return cage_error_set (err, errno, "open `%s`", root);
  if (bind_session (rootfd, root, "store", "nix/store", err) < 0
      || bind_session (rootfd, root, "workspace", "workspace", err) < 0
      || bind_nix_daemon (rootfd, root, err) < 0
      || bind_home (rootfd, plan, err) < 0)
    return -1;
  /* From here on files are made below ROOTFD only, as the agent's ids. */
  if (userns_use_inner_fs_ids (err) < 0)
    return -1;

  for (size_t i = 0; i < sizeof root_ops / sizeof *root_ops; i++)
    if (apply_op (rootfd, root, &root_ops[i], err) < 0)
      return -1;

  /* pivot_root(".", "."): the old root ends up on top of the new one and
     is detached right away; no directory for it is needed.  */
  if (fchdir (rootfd) < 0)
    return cage_error_set (err, errno, "chdir `%s`", root);
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return cage_error_set (err, errno, "pivot_root to `%s`", root);
  if (umount2 (".", MNT_DETACH) < 0)
    return cage_error_set (err, errno, "detach the host's mount tree (umount2)");
  if (chdir ("/") < 0)
    return cage_error_set (err, errno, "chdir `/` in the cage");
  return 0;
}

static void
flags_json (json_t *a, unsigned long flags)
{
  static const struct { unsigned long flag; const char *name; } names[] = {
    { MS_NOSUID, "nosuid" }, { MS_NODEV, "nodev" }, { MS_NOEXEC, "noexec" },
    { MS_RDONLY, "ro" }, { MS_BIND, "bind" },
  };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (flags & names[i].flag)
      json_array_append_new (a, json_string (names[i].name));
}

json_t *
mounts_plan_json (const struct cage_plan *plan)
{
  static const char *const kinds[] = {
    [OP_MOUNT] = "mount", [OP_DEVICE] = "bind", [OP_MKDIR] = "mkdir", [OP_SYMLINK] = "symlink",
    [OP_READONLY] = "remount-ro", [OP_BIND_RO] = "bind-ro",
  };
  json_t *ops = json_array ();
  json_array_append_new (ops, json_pack ("{s:s, s:s, s:s, s:[s,s,s]}", "op", "bind", "path",
                                         "/nix/store", "source",
                                         "<state>/store, when the daemon mounted it", "flags",
                                         "bind", "nosuid", "nodev"));
  json_array_append_new (ops, json_pack ("{s:s, s:s, s:s, s:[s,s,s]}", "op", "bind", "path",
                                         "/workspace", "source",
                                         "<state>/workspace, when the daemon mounted it", "flags",
                                         "bind", "nosuid", "nodev"));
  json_array_append_new (ops, json_pack ("{s:s, s:s, s:s, s:[s,s,s]}", "op", "bind", "path",
                                         plan->home, "source", plan->home_src, "flags", "bind",
                                         "nosuid", "nodev"));
  for (size_t i = 0; ops && i < sizeof root_ops / sizeof *root_ops; i++)
    {
      const struct root_op *op = &root_ops[i];
      char path[256];
      snprintf (path, sizeof path, "/%s", op->path);
      json_t *o = json_pack ("{s:s, s:s}", "op", kinds[op->kind], "path", path);
      if (!o)
        continue;
      switch (op->kind)
        {
        case OP_MOUNT:
          {
            json_t *fl = json_array ();
            flags_json (fl, op->flags);
            json_object_set_new (o, "type", json_string (op->source));
            json_object_set_new (o, "flags", fl);
            if (op->data)
              json_object_set_new (o, "options", json_string (op->data));
            break;
          }
        case OP_DEVICE:
          json_object_set_new (o, "source", json_string (op->source));
          break;
        case OP_MKDIR:
          json_object_set_new (o, "mode", json_integer (op->mode));
          break;
        case OP_SYMLINK:
          json_object_set_new (o, "target", json_string (op->source));
          break;
        case OP_READONLY:
        case OP_BIND_RO:
          break;
        }
      json_array_append_new (ops, o);
    }
  json_array_append_new (ops, json_pack ("{s:s}", "op", "pivot_root"));
  return ops;
}
