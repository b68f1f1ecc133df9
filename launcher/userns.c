/* userns.c - the cage's user namespace: one uid and one gid.

   Inside, the agent is CAGE_INNER_UID/GID; outside, that is the invoking
   user's own ids, or the overflow ids when root invokes (state.h), so the
   agent never holds host uid 0.  The parent writes the maps: an
   unprivileged parent may map only its own euid/egid, and only after
   setgroups is denied.  */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor_hint.h"
#include "launcher.h"
#include "state.h"

static int
write_proc_file (int piddir, pid_t pid, const char *name, const char *text,
                 bool missing_ok, struct cage_error *err)
{
  autoclose int fd = openat (piddir, name, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    {
      if (missing_ok && errno == ENOENT)
        return 0;
      return cage_error_set (err, errno, "open `/proc/%d/%s`", (int) pid, name);
    }
  size_t len = strlen (text);
  ssize_t n = write (fd, text, len);
  if (n < 0)
    return cage_error_set (err, errno, "write \"%.*s\" to `/proc/%d/%s`",
                           (int) strcspn (text, "\n"), text, (int) pid, name);
  if ((size_t) n != len)
    return cage_error_set (err, EIO, "short write to `/proc/%d/%s`", (int) pid, name);
  return 0;
}

int
userns_write_maps (pid_t pid, uid_t map_uid, gid_t map_gid, struct cage_error *err)
{
  char dir[64];
  snprintf (dir, sizeof dir, "/proc/%d", (int) pid);
  autoclose int piddir = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (piddir < 0)
    return cage_error_set (err, errno, "open `%s`", dir);

  char uid_map[64], gid_map[64];
  snprintf (uid_map, sizeof uid_map, "%u %u 1\n", (unsigned) CAGE_INNER_UID, (unsigned) map_uid);
  snprintf (gid_map, sizeof gid_map, "%u %u 1\n", (unsigned) CAGE_INNER_GID, (unsigned) map_gid);

  /* setgroups first: without it an unprivileged gid_map is refused.
     Kernels before 3.19 have no such file and need none.  */
  if (write_proc_file (piddir, pid, "setgroups", "deny", true, err) < 0
      || write_proc_file (piddir, pid, "uid_map", uid_map, false, err) < 0
      || write_proc_file (piddir, pid, "gid_map", gid_map, false, err) < 0)
    return -1;
  return 0;
}

int
userns_become_agent (struct cage_error *err)
{
  gid_t g = CAGE_INNER_GID;
  uid_t u = CAGE_INNER_UID;
  if (setresgid (g, g, g) < 0)
    return cage_error_set (err, errno, "setresgid(%u)", (unsigned) g);
  if (setresuid (u, u, u) < 0)
    return cage_error_set (err, errno, "setresuid(%u)", (unsigned) u);
  return 0;
}

int
userns_use_inner_fs_ids (struct cage_error *err)
{
  /* setfsuid reports nothing but the previous value: ask again. */
  setfsgid (CAGE_INNER_GID);
  if (setfsgid ((gid_t) -1) != (int) CAGE_INNER_GID)
    return cage_error_set (err, EPERM, "setfsgid(%u)", (unsigned) CAGE_INNER_GID);
  setfsuid (CAGE_INNER_UID);
  if (setfsuid ((uid_t) -1) != (int) CAGE_INNER_UID)
    return cage_error_set (err, EPERM, "setfsuid(%u)", (unsigned) CAGE_INNER_UID);
  return 0;
}

int
userns_drop_groups (struct cage_error *err)
{
  if (setgroups (0, NULL) == 0)
    return 0;
  /* uid 0 of a user namespace that denies setgroups (unshare -r) cannot
     change its groups, nor can the cage: they are the ones the namespace's
     owner had, as for any unprivileged caller.  */
  int e = errno;
  char text[16] = "";
  autofclose FILE *f = e == EPERM ? fopen ("/proc/self/setgroups", "re") : NULL;
  if (f && fgets (text, sizeof text, f) && strncmp (text, "deny", 4) == 0)
    return 0;
  return cage_error_set (err, e, "drop supplementary groups (setgroups)");
  return 0;
}

/* The first number in FILE, or -1 when it cannot be read. */
static long
read_sysctl (const char *file)
{
  autofclose FILE *f = fopen (file, "re");
  long v;
  if (!f || fscanf (f, "%ld", &v) != 1)
    return -1;
  return v;
}

static int clone_error (int e, struct cage_error *err);

int
userns_clone_error (int e, struct cage_error *err)
{
  clone_error (e, err);
  return cage_error_doctor_hint (err);
}

static int
clone_error (int e, struct cage_error *err)
{
  if (e != EPERM && e != ENOSPC && e != EACCES && e != EUSERS)
    return cage_error_set (err, e, "create the cage's namespaces (clone)");
  /* Which setting said no?  Ask each in the order the kernel does. */
  if (read_sysctl ("/proc/sys/user/max_user_namespaces") == 0)
    return cage_error_set (err, e, "create the cage's user namespace: the host allows none "
                           "(/proc/sys/user/max_user_namespaces is 0); allow them as root: "
                           "sysctl -w user.max_user_namespaces=15000");
  if (geteuid () != 0 && read_sysctl ("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    return cage_error_set (err, e, "create the cage's user namespace: the host refuses them to "
                           "unprivileged users (/proc/sys/kernel/unprivileged_userns_clone is 0); "
                           "allow them as root: sysctl -w kernel.unprivileged_userns_clone=1");
  if (geteuid () != 0
      && read_sysctl ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
    return cage_error_set (err, e, "create the cage's user namespace: AppArmor restricts them "
                           "for unprivileged users (/proc/sys/kernel/"
                           "apparmor_restrict_unprivileged_userns is 1); allow them as root: "
                           "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or give "
                           "cage an AppArmor profile with `userns,`");
  if (e == ENOSPC || e == EUSERS)
    return cage_error_set (err, e, "create the cage's user namespace: the limit of user "
                           "namespaces (or of their nesting, 32) is reached; see "
                           "/proc/sys/user/max_user_namespaces, or exit the namespaces you "
                           "run in");
  return cage_error_set (err, e, "create the cage's namespaces (clone): the kernel refused "
                         "(no sysctl here blocks them: a seccomp filter or a security module "
                         "of the host, or cage runs inside a chroot?)");
}
