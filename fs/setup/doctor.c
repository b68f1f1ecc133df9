/* doctor.c - the checks of `cagefs doctor` (see doctor.h).

   Each check says what it found in one line and, when something the
   invoking user's cages need is missing, the command that fixes it.  The
   decisions mirror the code that needs the feature: launcher/userns.c
   (user namespaces), fs/daemon/daemon.c (FUSE), launcher/limits.c (where limits
   go), fs/daemon/host_watch.c (the inotify watch cap), fs/copy/copy.c (io_uring).  */
#define FUSE_USE_VERSION 35
#include "doctor.h"

#include "cgroup_path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <liburing.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "host_watch.h"

#define NIX_DAEMON_SOCKET_PATH "/nix/var/nix/daemon-socket/socket"
#define FUSE_MAJOR 10
#define FUSE_MINOR 229

/* ---- helpers ------------------------------------------------------------- */

static void __attribute__ ((format (printf, 3, 4)))
set (struct doctor_check *c, enum doctor_status s, const char *fmt, ...)
{
  c->status = s;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (c->detail, sizeof c->detail, fmt, ap);
  va_end (ap);
}

static void __attribute__ ((format (printf, 2, 3)))
set_fix (struct doctor_check *c, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (c->fix, sizeof c->fix, fmt, ap);
  va_end (ap);
}

static void
start (struct doctor_check *c, const char *name)
{
  memset (c, 0, sizeof *c);
  c->name = name;
}

/* ROOT + PATH into BUF (a static-size scratch). */
static const char *
at (const struct doctor_env *env, const char *path, char *buf, size_t size)
{
  snprintf (buf, size, "%s%s", env->root ? env->root : "", path);
  return buf;
}

/* The first number in ROOT/FILE into *V: 1, absent (ENOENT): 0, else -1. */
static int
read_number (const struct doctor_env *env, const char *file, long long *v)
{
  char p[4096];
  autofclose FILE *f = fopen (at (env, file, p, sizeof p), "re");
  if (!f)
    return errno == ENOENT ? 0 : -1;
  if (fscanf (f, "%lld", v) != 1)
    return -1;
  return 1;
}

const char *
doctor_status_name (enum doctor_status s)
{
  switch (s)
    {
    case DOCTOR_OK: return "ok";
    case DOCTOR_WARN: return "warn";
    case DOCTOR_FAIL: return "fail";
    }
  return "?";
}

void
doctor_env_real (struct doctor_env *env)
{
  env->root = "";
  env->euid = geteuid ();
  env->egid = getegid ();
  env->path = getenv ("PATH");
}

/* An executable NAME in PATH (then in EXTRA, ':'-separated folders) under
   ROOT: its path (without ROOT) into OUT, its stat into ST. */
static bool
find_program (const struct doctor_env *env, const char *name, const char *extra, char *out,
              size_t size, struct stat *st)
{
  const char *lists[] = { env->path ? env->path : "", extra ? extra : "" };
  for (size_t l = 0; l < 2; l++)
    for (const char *p = lists[l]; *p;)
      {
        size_t n = strcspn (p, ":");
        if (n > 0 && p[0] == '/')
          {
            char full[4096];
            if ((size_t) snprintf (out, size, "%.*s/%s", (int) n, p, name) < size
                && stat (at (env, out, full, sizeof full), st) == 0 && S_ISREG (st->st_mode)
                && (st->st_mode & 0111))
              return true;
          }
        p += n;
        p += *p == ':';
      }
  return false;
}

/* ---- user namespaces -------------------------------------------------------- */

/* Is an AppArmor profile for cage loaded?  1 yes, 0 no, -1 unknown. */
static int
apparmor_cage_profile (const struct doctor_env *env)
{
  char p[4096], line[4096];
  autofclose FILE *f = fopen (at (env, "/sys/kernel/security/apparmor/profiles", p, sizeof p), "re");
  if (!f)
    return -1;
  while (fgets (line, sizeof line, f))
    {
      /* "NAME (MODE)"; our profile is named cage, its attachment .../cage */
      char *sp = strstr (line, " (");
      if (sp)
        *sp = '\0';
      const char *base = strrchr (line, '/');
      base = base ? base + 1 : line;
      if (strcmp (base, "cage") == 0)
        return 1;
    }
  return 0;
}

#define APPARMOR_FIX \
  "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or load cage's AppArmor profile: " \
  "make install (or apparmor_parser -r /etc/apparmor.d/cage)"

void
doctor_userns_settings (const struct doctor_env *env, struct doctor_check *c)
{
  start (c, "userns-settings");
  long long max = -1, clone = -1, aa = -1;
  int r_max = read_number (env, "/proc/sys/user/max_user_namespaces", &max);
  int r_clone = read_number (env, "/proc/sys/kernel/unprivileged_userns_clone", &clone);
  int r_aa = read_number (env, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &aa);
  bool user = env->euid != 0;
  if (r_max == 1 && max == 0)
    {
      set (c, DOCTOR_FAIL, "user.max_user_namespaces is 0: no user namespaces at all");
      set_fix (c, "sysctl -w user.max_user_namespaces=15000");
      return;
    }
  if (user && r_clone == 1 && clone == 0)
    {
      set (c, DOCTOR_FAIL, "kernel.unprivileged_userns_clone is 0: user namespaces are for root "
           "only");
      set_fix (c, "sysctl -w kernel.unprivileged_userns_clone=1");
      return;
    }
  if (user && r_aa == 1 && aa == 1)
    {
      int prof = apparmor_cage_profile (env);
      if (prof != 1)
        {
          set (c, DOCTOR_FAIL, "kernel.apparmor_restrict_unprivileged_userns is 1 and %s",
               prof == 0 ? "no AppArmor profile for cage is loaded"
                         : "the loaded AppArmor profiles cannot be read");
          set_fix (c, APPARMOR_FIX);
          return;
        }
    }
  char more[512] = "";
  size_t o = 0;
  if (r_clone == 1)
    o += (size_t) snprintf (more + o, sizeof more - o, ", kernel.unprivileged_userns_clone %lld",
                            clone);
  if (r_aa == 1 && o < sizeof more)
    o += (size_t) snprintf (more + o, sizeof more - o,
                            ", kernel.apparmor_restrict_unprivileged_userns %lld%s", aa,
                            aa == 1 ? (user ? " (cage's AppArmor profile is loaded)"
                                            : " (not for root)")
                                    : "");
  if (r_max == 1)
    set (c, DOCTOR_OK, "user.max_user_namespaces %lld%s", max, more);
  else
    set (c, DOCTOR_OK, "user.max_user_namespaces cannot be read%s", more);
}

static bool
write_file (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  size_t len = strlen (text);
  bool ok = write (fd, text, len) == (ssize_t) len;
  int e = errno;
  close (fd);
  errno = e;
  return ok;
}

void
doctor_userns_probe (const struct doctor_env *env, struct doctor_check *c)
{
  start (c, "userns");
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      set (c, DOCTOR_FAIL, "pipe: %s", strerror (errno));
      return;
    }
  /* what failed (1 unshare, 2 setgroups, 3 uid_map, 4 gid_map) and errno */
  int report[2] = { 0, 0 };
  pid_t pid = fork ();
  if (pid < 0)
    {
      set (c, DOCTOR_FAIL, "fork: %s", strerror (errno));
      close (p[0]);
      close (p[1]);
      return;
    }
  if (pid == 0)
    {
      close (p[0]);
      char map[64];
      if (unshare (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
                   | CLONE_NEWNET) < 0)
        report[0] = 1;
      else if (!write_file ("/proc/self/setgroups", "deny") && errno != ENOENT)
        report[0] = 2;
      else if (snprintf (map, sizeof map, "0 %u 1\n", (unsigned) env->euid) > 0
               && !write_file ("/proc/self/uid_map", map))
        report[0] = 3;
      else if (snprintf (map, sizeof map, "0 %u 1\n", (unsigned) env->egid) > 0
               && !write_file ("/proc/self/gid_map", map))
        report[0] = 4;
      report[1] = report[0] ? errno : 0;
      ssize_t w = write (p[1], report, sizeof report);
      _exit (w == (ssize_t) sizeof report ? 0 : 1);
    }
  close (p[1]);
  ssize_t n;
  do
    n = read (p[0], report, sizeof report);
  while (n < 0 && errno == EINTR);
  close (p[0]);
  int status;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (n != (ssize_t) sizeof report)
    {
      set (c, DOCTOR_FAIL, "the probe's child reported nothing");
      return;
    }
  static const char *const what[] = { "", "unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID|"
                                      "CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWNET)",
                                      "write /proc/self/setgroups", "write /proc/self/uid_map",
                                      "write /proc/self/gid_map" };
  if (report[0] == 0)
    {
      set (c, DOCTOR_OK, "made user, mount, pid, ipc, uts and net namespaces and wrote uid_map "
           "and gid_map");
      return;
    }
  int e = report[1];
  struct doctor_check s;
  doctor_userns_settings (env, &s);
  long long aa = 0;
  if (env->euid != 0 && s.status == DOCTOR_OK
      && read_number (env, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &aa) == 1
      && aa == 1)
    {
      /* cage has its profile; cagefs (this process) does not. */
      set (c, DOCTOR_OK, "not probed: AppArmor restricts user namespaces to programs whose "
           "profile allows them, and cage's profile is loaded (%s: %s here)",
           what[report[0]], strerror (e));
      return;
    }
  set (c, DOCTOR_FAIL, "%s: %s", what[report[0]], strerror (e));
  if (s.status != DOCTOR_OK)
    set_fix (c, "%s", s.fix);
  else if (e == ENOSPC || e == EUSERS)
    set_fix (c, "sysctl -w user.max_user_namespaces=15000, or leave the nested namespaces "
             "you run in (at most 32 levels)");
  else
    set_fix (c, "none known: no sysctl blocks them; a seccomp filter or security module of "
             "the host, or a container that forbids namespaces, must allow unshare "
             "(e.g. docker run --security-opt seccomp=unconfined)");
}

/* ---- FUSE ------------------------------------------------------------------- */

void
doctor_fuse_device (const struct doctor_env *env, struct doctor_check *c)
{
  start (c, "fuse-device");
  char p[4096];
  const char *dev = at (env, "/dev/fuse", p, sizeof p);
  struct stat st;
  if (stat (dev, &st) < 0)
    {
      set (c, DOCTOR_FAIL, "`/dev/fuse`: %s", strerror (errno));
      set_fix (c, "modprobe fuse (apt-get install fuse3); in a container, pass the device: "
               "--device /dev/fuse");
      return;
    }
  if (!S_ISCHR (st.st_mode) || major (st.st_rdev) != FUSE_MAJOR
      || minor (st.st_rdev) != FUSE_MINOR)
    {
      if (S_ISCHR (st.st_mode))
        set (c, DOCTOR_FAIL, "`/dev/fuse` is the character device %u:%u, not FUSE's %d:%d",
             major (st.st_rdev), minor (st.st_rdev), FUSE_MAJOR, FUSE_MINOR);
      else
        set (c, DOCTOR_FAIL, "`/dev/fuse` is not a character device");
      set_fix (c, "rm /dev/fuse && mknod -m 0666 /dev/fuse c %d %d", FUSE_MAJOR, FUSE_MINOR);
      return;
    }
  int fd = open (dev, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      set (c, DOCTOR_FAIL, "open `/dev/fuse` read-write: %s", strerror (errno));
      set_fix (c, "chmod 0666 /dev/fuse");
      return;
    }
  close (fd);
  set (c, DOCTOR_OK, "`/dev/fuse` (%d:%d, mode %04o) opens read-write", FUSE_MAJOR, FUSE_MINOR,
       (unsigned) (st.st_mode & 07777));
}

void
doctor_fusermount (const struct doctor_env *env, struct doctor_check *c)
{
  start (c, "fusermount3");
  char path[4096];
  struct stat st;
  bool root = env->euid == 0;
  /* libfuse runs its own folder's (Debian: /usr/bin) first, then PATH's;
     NixOS keeps the setuid one in /run/wrappers/bin. */
  if (!find_program (env, "fusermount3", "/usr/bin:/bin:/run/wrappers/bin", path, sizeof path,
                     &st))
    {
      set (c, root ? DOCTOR_WARN : DOCTOR_FAIL, "no fusermount3 in PATH, /usr/bin or "
           "/run/wrappers/bin%s",
           root ? " (root mounts without it; a lazy unmount of a stuck mount needs it)"
                : " (an ordinary user mounts FUSE through it)");
      set_fix (c, "apt-get install fuse3");
      return;
    }
  if (root)
    {
      set (c, DOCTOR_OK, "`%s` (not needed to mount as root)", path);
      return;
    }
  if (st.st_uid != 0 || !(st.st_mode & S_ISUID))
    {
      set (c, DOCTOR_FAIL, "`%s` is not setuid root (owner %u, mode %04o): an ordinary user "
           "cannot mount with it", path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
      set_fix (c, "chown root %s && chmod u+s %s", path, path);
      return;
    }
  set (c, DOCTOR_OK, "`%s` is setuid root", path);
}

/* ---- Nix ---------------------------------------------------------------------- */

void
doctor_nix_store (const struct doctor_env *env, struct doctor_check *c)
{
  start (c, "nix-store");
  char p[4096], prog[4096];
  struct stat st;
  if (stat (at (env, "/nix/store", p, sizeof p), &st) < 0 || !S_ISDIR (st.st_mode))
    {
      set (c, DOCTOR_FAIL, "no Nix store at `/nix/store`%s%s", errno ? ": " : "",
           errno ? strerror (errno) : "");
      set_fix (c, "apt-get install nix-bin");
      return;
    }
  if (!find_program (env, "nix-store", NULL, prog, sizeof prog, &st))
    {
      set (c, DOCTOR_FAIL, "`/nix/store` is there but no nix-store in PATH");
      set_fix (c, "apt-get install nix-bin, or add nix-store's folder to PATH");
      return;
    }
  set (c, DOCTOR_OK, "`/nix/store`; `%s`", prog);
}

/* Connect to the daemon and do the start of the worker protocol's
   handshake: a daemon that refuses the user closes the connection. */
static int
nix_daemon_hello (const char *sock, char *why, size_t size)
{
  autoclose int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return snprintf (why, size, "socket: %s", strerror (errno)), -1;
  /* never hang on a stuck daemon */
  struct timeval tv = { .tv_sec = 10 };
  if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0
      || setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
    return snprintf (why, size, "setsockopt: %s", strerror (errno)), -1;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (sock) >= sizeof sa.sun_path)
    return snprintf (why, size, "the socket's path is too long"), -1;
  strcpy (sa.sun_path, sock);
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return snprintf (why, size, "connect: %s", strerror (errno)), -errno - 1;
  /* WORKER_MAGIC_1, little-endian 64 bits */
  unsigned char out[8] = { 0x63, 0x78, 0x69, 0x6e, 0, 0, 0, 0 };
  if (write (fd, out, sizeof out) != (ssize_t) sizeof out)
    return snprintf (why, size, "the daemon closed the connection (it refuses this user?)"), -1;
  unsigned char in[16];
  size_t got = 0;
  while (got < sizeof in)
    {
      ssize_t n = read (fd, in + got, sizeof in - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return snprintf (why, size, "no answer: %s", strerror (errno)), -1;
      if (n == 0)
        return snprintf (why, size, "the daemon closed the connection: it refuses this "
                         "user"), -2;
      got += (size_t) n;
    }
  uint64_t magic = 0, version = 0;
  for (int i = 7; i >= 0; i--)
    {
      magic = magic << 8 | in[i];
      version = version << 8 | in[8 + i];
    }
  if (magic != 0x6478696f)
    return snprintf (why, size, "the answer is not a nix-daemon's"), -1;
  /* our version (that of the daemon) then close: the daemon sees EOF */
  if (write (fd, in + 8, 8) != 8)
    {
      /* it answered: that is all we wanted */
    }
  return snprintf (why, size, "protocol %u.%u", (unsigned) (version >> 8 & 0xff),
                   (unsigned) (version & 0xff)), 0;
}

void
doctor_nix_daemon (const struct doctor_env *env, bool needed, struct doctor_check *c)
{
  start (c, "nix-daemon");
  char sock[4096], why[256];
  at (env, NIX_DAEMON_SOCKET_PATH, sock, sizeof sock);
  bool root = env->euid == 0;
  int r = nix_daemon_hello (sock, why, sizeof why);
  if (r == 0)
    {
      set (c, DOCTOR_OK, "a nix-daemon answers on `%s` (%s)", NIX_DAEMON_SOCKET_PATH, why);
      return;
    }
  if (root && !needed)
    {
      set (c, DOCTOR_OK, "not needed as root (nix-store uses the store itself); none answers "
           "on `%s` (%s)", NIX_DAEMON_SOCKET_PATH, why);
      return;
    }
  set (c, DOCTOR_FAIL, "no nix-daemon answers on `%s`: %s%s", NIX_DAEMON_SOCKET_PATH, why,
       root ? " (store.nix_daemon is on)" : " (an ordinary user's nix-store goes through it)");
  if (r == -2 || r == -EACCES - 1)
    set_fix (c, "let the user use it: adduser USER nix-users (Debian), or allowed-users in "
             "/etc/nix/nix.conf");
  else
    set_fix (c, "systemctl start nix-daemon (or as root: nix-daemon &)");
}

/* ---- cgroups (as launcher/limits.c places cages) ------------------------------ */

/* Our cgroup in the hierarchy with controller CTL ("" for v2). */
static bool
own_cgroup (const struct doctor_env *env, const char *ctl, char *buf, size_t size)
{
  char p[4096];
  return cgroup_path_of (at (env, "/proc/self/cgroup", p, sizeof p), ctl, buf, size);
}

static bool
hierarchy_mount (const struct doctor_env *env, const char *ctl, char *buf, size_t size)
{
  char p[4096];
  return cgroup_mount_of (at (env, "/proc/self/mountinfo", p, sizeof p), ctl, buf, size);
}

/* The folder (under ROOT) of our cgroup for CTL; *WRITABLE: may we make
   children there. */
static bool
cgroup_dir (const struct doctor_env *env, const char *ctl, char *buf, size_t size,
            bool *writable)
{
  char mnt[1024], path[2048];
  if (!hierarchy_mount (env, ctl, mnt, sizeof mnt) || !own_cgroup (env, ctl, path, sizeof path))
    return false;
  if ((size_t) snprintf (buf, size, "%s%s%s", env->root ? env->root : "", mnt,
                         strcmp (path, "/") == 0 ? "" : path) >= size)
    return false;
  *writable = access (buf, W_OK) == 0;
  return true;
}

void
doctor_cgroup (const struct doctor_env *env, struct doctor_check *c)
{
  start (c, "cgroup-limits");
  static const char *const ctls[] = { "memory", "pids", "cpu" };
  char dir[4096], mnt[1024];
  size_t rl = env->root ? strlen (env->root) : 0;
  bool w = false;
  bool v2 = hierarchy_mount (env, "", mnt, sizeof mnt);
  if (v2 && cgroup_dir (env, "", dir, sizeof dir, &w))
    {
      bool mem = cgroup_has_controller (dir, "memory"), pids = cgroup_has_controller (dir, "pids");
      bool cpu = cgroup_has_controller (dir, "cpu");
      if (w && mem && pids)
        {
          set (c, DOCTOR_OK, "cgroup v2: `%s` is writable and enables memory, pids%s: the "
               "limits go in a cgroup%s", dir + rl, cpu ? " and cpu" : "",
               cpu ? "" : " (not cpus: cpu is not enabled)");
          return;
        }
    }
  /* v1 (hybrid or v1 machines), per controller, as limits.c does */
  bool v1[3];
  int nv1 = 0;
  for (int i = 0; i < 3; i++)
    {
      bool wi = false;
      v1[i] = cgroup_dir (env, ctls[i], dir, sizeof dir, &wi) && wi;
      nv1 += v1[i];
    }
  if (v1[0] && v1[1])
    {
      set (c, DOCTOR_OK, "cgroup v1: memory, pids%s: the limits go in a cgroup%s",
           v1[2] ? " and cpu" : "", v1[2] ? "" : " (not cpus)");
      return;
    }
  const char *where = v2 ? mnt : "nowhere";
  if (!v2)
    set (c, DOCTOR_WARN, "no cgroup2 mounted");
  else if (!cgroup_dir (env, "", dir, sizeof dir, &w))
    set (c, DOCTOR_WARN, "cgroup2 at `%s` but this process's cgroup is not in it", where);
  else if (!w)
    set (c, DOCTOR_WARN, "cgroup2 at `%s`: this user may not write to its cgroup `%s`", where,
         dir + rl);
  else
    set (c, DOCTOR_WARN, "cgroup2 at `%s`: `%s/cgroup.subtree_control` does not enable both "
         "memory and pids", where, dir + rl);
  size_t o = strlen (c->detail);
  snprintf (c->detail + o, sizeof c->detail - o,
            "%s; limits fall back to rlimits: memory as RLIMIT_AS, pids as RLIMIT_NPROC; cpus not "
            "enforced", nv1 ? " (cgroup v1 only for some controllers)" : "");
  set_fix (c, "%s", env->euid != 0
                      ? "run cage from a cgroup delegated to this user whose "
                        "cgroup.subtree_control enables memory and pids, or as root"
                      : "mount cgroup2 (mount -t cgroup2 none /sys/fs/cgroup) with memory and "
                        "pids enabled in cgroup.subtree_control");
}

/* ---- inotify ------------------------------------------------------------------ */

void
doctor_inotify (const struct doctor_env *env, size_t *cap, struct doctor_check *c)
{
  start (c, "inotify");
  long long watches = -1, instances = -1;
  int rw = read_number (env, "/proc/sys/fs/inotify/max_user_watches", &watches);
  int ri = read_number (env, "/proc/sys/fs/inotify/max_user_instances", &instances);
  const char *envcap = getenv ("CAGEFS_MAX_WATCHES");
  char capwhy[128];
  *cap = HOST_WATCH_MAX;
  if (envcap && *envcap)
    {
      char *end;
      errno = 0;
      unsigned long long v = strtoull (envcap, &end, 10);
      if (*end || errno || envcap[0] == '-')
        {
          set (c, DOCTOR_FAIL, "CAGEFS_MAX_WATCHES=`%s` is not a whole number", envcap);
          set_fix (c, "export CAGEFS_MAX_WATCHES=%u (or unset it)", HOST_WATCH_MAX);
          return;
        }
      *cap = (size_t) v;
      snprintf (capwhy, sizeof capwhy, "CAGEFS_MAX_WATCHES");
    }
  else
    {
      if (rw == 1 && watches >= 0 && (unsigned long long) watches / 4 < *cap)
        *cap = (size_t) (watches / 4);
      snprintf (capwhy, sizeof capwhy, "a quarter of max_user_watches, at most %u",
                HOST_WATCH_MAX);
    }
  if (rw != 1 || ri != 1)
    {
      set (c, DOCTOR_WARN, "fs.inotify.max_user_%s cannot be read: host changes may go unseen",
           rw != 1 ? "watches" : "instances");
      return;
    }
  if (instances < 8)
    {
      set (c, DOCTOR_WARN, "fs.inotify.max_user_instances is %lld: the daemon may get no "
           "inotify instance and not see the host's changes", instances);
      set_fix (c, "sysctl -w fs.inotify.max_user_instances=1024");
      return;
    }
  if (*cap < 8192 && !(envcap && *envcap))
    {
      set (c, DOCTOR_WARN, "fs.inotify.max_user_watches is %lld: the daemon watches at most "
           "%zu folders (%s); changes in others go unseen", watches, *cap, capwhy);
      set_fix (c, "sysctl -w fs.inotify.max_user_watches=524288");
      return;
    }
  set (c, DOCTOR_OK, "fs.inotify.max_user_watches %lld, max_user_instances %lld: the daemon "
       "watches up to %zu folders (%s)", watches, instances, *cap, capwhy);
}

/* Folders beneath DIRFD (opened O_NOFOLLOW), not counting .git/objects;
   stop past LIMIT. */
static size_t
count_folders (int dirfd, bool in_git, size_t n, size_t limit)
{
  DIR *d = fdopendir (dirfd);
  if (!d)
    {
      close (dirfd);
      return n;
    }
  struct dirent *e;
  while (n <= limit && (e = readdir (d)))
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
        continue;
      if (in_git && strcmp (e->d_name, "objects") == 0)
        continue;
      int fd = openat (dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        continue; /* not a folder (DT_UNKNOWN), a symlink, or unreadable */
      n = count_folders (fd, strcmp (e->d_name, ".git") == 0, n + 1, limit);
    }
  closedir (d);
  return n;
}

void
doctor_project_watches (const char *project, size_t cap, struct doctor_check *c)
{
  start (c, "project-watches");
  int fd = open (project, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      set (c, DOCTOR_FAIL, "open the project `%s`: %s", project, strerror (errno));
      set_fix (c, "give the project's folder (not a symlink to it)");
      return;
    }
  size_t limit = cap > 4000000 ? cap : 4000000;
  size_t n = count_folders (fd, false, 1, limit);
  if (n <= cap)
    {
      set (c, DOCTOR_OK, "%zu folders (not counting .git/objects), within the daemon's %zu "
           "watches", n, cap);
      return;
    }
  set (c, DOCTOR_WARN, "%s%zu folders (not counting .git/objects), more than the daemon's %zu "
       "watches: host changes in folders past the cap go unseen until the next remount",
       n > limit ? "over " : "", n, cap);
  unsigned long long need = (unsigned long long) n * 4;
  if (need < 524288)
    need = 524288;
  if (n <= HOST_WATCH_MAX)
    set_fix (c, "sysctl -w fs.inotify.max_user_watches=%llu", need);
  else
    set_fix (c, "sysctl -w fs.inotify.max_user_watches=%llu and mount with "
             "CAGEFS_MAX_WATCHES=%zu cagefs mount", need, n);
}

/* ---- io_uring, libfuse, seccomp ------------------------------------------------ */

void
doctor_io_uring (const struct doctor_env *env, struct doctor_check *c)
{
  start (c, "io-uring");
  long long disabled = 0;
  int r = read_number (env, "/proc/sys/kernel/io_uring_disabled", &disabled);
  if (r == 1 && disabled == 2)
    {
      set (c, DOCTOR_WARN, "kernel.io_uring_disabled is 2: the copy engine uses read and write "
           "instead (slower copy and isolated modes)");
      set_fix (c, "sysctl -w kernel.io_uring_disabled=0");
      return;
    }
  struct io_uring ring;
  int e = io_uring_queue_init (4, &ring, 0);
  if (e < 0)
    {
      set (c, DOCTOR_WARN, "io_uring_queue_init: %s%s: the copy engine uses read and write "
           "instead", strerror (-e),
           r == 1 && disabled == 1 ? " (kernel.io_uring_disabled is 1: only the group "
                                     "kernel.io_uring_group may)" : "");
      set_fix (c, r == 1 && disabled == 1 ? "sysctl -w kernel.io_uring_disabled=0"
                                          : "none needed (a container's seccomp filter may "
                                            "refuse io_uring)");
      return;
    }
  io_uring_queue_exit (&ring);
  set (c, DOCTOR_OK, "an io_uring was set up: the copy engine uses it");
}

void
doctor_libfuse (struct doctor_check *c)
{
  start (c, "libfuse");
  int v = fuse_version ();
  if (v < 30)
    {
      set (c, DOCTOR_FAIL, "libfuse %s is older than 3.0", fuse_pkgversion ());
      set_fix (c, "apt-get install libfuse3-3");
      return;
    }
  set (c, DOCTOR_OK, "libfuse %s: the daemon asks the kernel for splice read and write, "
       "readdirplus, cached symlinks and data invalidation on change, where it offers them; "
       "no writeback cache (the host sees writes at once) and no passthrough", fuse_pkgversion ());
}

void
doctor_seccomp (struct doctor_check *c)
{
  start (c, "seccomp");
  int mode = prctl (PR_GET_SECCOMP, 0, 0, 0, 0);
  if (mode < 0)
    {
      set (c, DOCTOR_FAIL, "prctl(PR_GET_SECCOMP): %s: this kernel has no seccomp",
           strerror (errno));
      set_fix (c, "a kernel built with CONFIG_SECCOMP_FILTER (or cage --seccomp off)");
      return;
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      set (c, DOCTOR_FAIL, "fork: %s", strerror (errno));
      return;
    }
  if (pid == 0)
    {
      /* a filter that makes getppid fail with ENOTRECOVERABLE: seen working */
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit (10);
      scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
      if (!ctx || seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOTRECOVERABLE), SCMP_SYS (getppid), 0)
                    < 0)
        _exit (11);
      int rc = seccomp_load (ctx);
      if (rc < 0)
        _exit (rc == -EINVAL ? 12 : 13);
      long r = syscall (SYS_getppid);
      _exit (r < 0 && errno == ENOTRECOVERABLE ? 0 : 14);
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        set (c, DOCTOR_FAIL, "waitpid: %s", strerror (errno));
        return;
      }
  int code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  if (code != 0)
    {
      set (c, DOCTOR_FAIL, "a seccomp filter could not be loaded in a child (step %d)", code);
      set_fix (c, "a kernel with CONFIG_SECCOMP_FILTER, or cage --seccomp off (less safe)");
      return;
    }
  set (c, DOCTOR_OK, "a filter loaded in a child refused a system call as asked%s",
       mode == 2 ? " (cagefs already runs under a filter: cage's is stacked on it)" : "");
}

void
doctor_network (const struct cage_config *cfg, struct doctor_check *c)
{
  start (c, "network");
  if (cfg->network == NETWORK_HOST)
    set (c, DOCTOR_OK, "host: the cage shares the host's network (cage.json or its profile "
         "says so); nothing more is needed");
  else
    set (c, DOCTOR_OK, "%s: the cage has only a loopback of its own; nothing is needed",
         config_network_name (cfg->network));
}

/* ---- output ---------------------------------------------------------------------- */

void
doctor_format (const struct doctor_check *c, char *buf, size_t size)
{
  snprintf (buf, size, "%-4s  %-16s %s%s%s", doctor_status_name (c->status), c->name, c->detail,
            c->fix[0] ? "; fix: " : "", c->fix);
}

json_t *
doctor_json (const struct doctor_check *c)
{
  json_t *o = json_pack ("{s:s, s:s, s:s}", "status", doctor_status_name (c->status), "check",
                         c->name, "detail", c->detail);
  if (o && c->fix[0])
    json_object_set_new (o, "fix", json_string (c->fix));
  return o;
}
