/* seccomp.c - the syscalls an agent never needs.

   Allow by default (an agent runs compilers, interpreters, test suites);
   EPERM for what manages mounts, namespaces, kernel modules, keys, swap,
   tracing of other processes and the like, and for the terminal ioctls
   that inject input (TIOCSTI, TIOCLINUX).  Most of these need a
   capability the agent no longer has; the filter is the second wall.
   clone with CLONE_NEWUSER is EPERM as unshare is; clone3 passes its flags
   in memory a filter cannot read, so it gets ENOSYS and libc falls back to
   clone.  Rules libseccomp does not know on this architecture are skipped.
   On x86-64 the filter covers the i386 and x32 syscall ABIs too.  */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>

#include "launcher.h"

static const char *const denied_syscalls[] = {
  /* mounts and the root */
  "mount", "umount", "umount2", "pivot_root", "chroot",
  "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
  "mount_setattr",
  /* namespaces */
  "setns", "unshare",
  /* the machine */
  "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load",
  "init_module", "finit_module", "delete_module", "acct", "quotactl",
  "quotactl_fd", "syslog", "uselib", "iopl", "ioperm",
  /* the kernel's attack surface and other processes */
  "bpf", "perf_event_open", "userfaultfd", "ptrace",
  "process_vm_readv", "process_vm_writev",
  /* keys */
  "keyctl", "add_key", "request_key",
  /* file handles walk around the mount tree */
  "open_by_handle_at", "name_to_handle_at",
};

struct ioctl_rule
{
  const char *name;
  unsigned long request;
};

static const struct ioctl_rule denied_ioctls[] = {
  { "TIOCSTI", TIOCSTI },     /* push input into a terminal */
  { "TIOCLINUX", TIOCLINUX }, /* the same on a virtual console */
};

static inline void
cage_seccomp_releasep (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
  *ctx = NULL;
}
#define autoseccomp __attribute__ ((cleanup (cage_seccomp_releasep)))

/* libseccomp returns -errno. */
static int
fail (struct cage_error *err, int rc, const char *what, const char *name)
{
  return cage_error_set (err, -rc, "seccomp: %s%s%s", what, name ? " " : "", name ? name : "");
}

int
cage_seccomp_install (struct cage_error *err)
{
  autoseccomp scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (!ctx)
    return cage_error_set (err, ENOMEM, "seccomp: create the filter (seccomp_init)");
  int rc;

#if defined(__x86_64__)
  /* A 64-bit process can still make i386 (int 0x80) and x32 syscalls. */
  rc = seccomp_arch_add (ctx, SCMP_ARCH_X86);
  if (rc < 0 && rc != -EEXIST)
    return fail (err, rc, "add the architecture", "x86");
  rc = seccomp_arch_add (ctx, SCMP_ARCH_X32);
  if (rc < 0 && rc != -EEXIST)
    return fail (err, rc, "add the architecture", "x32");
#endif

  for (size_t i = 0; i < sizeof denied_syscalls / sizeof *denied_syscalls; i++)
    {
      int nr = seccomp_syscall_resolve_name (denied_syscalls[i]);
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown to libseccomp here */
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
      if (rc < 0)
        return fail (err, rc, "deny", denied_syscalls[i]);
    }

  int ioctl_nr = seccomp_syscall_resolve_name ("ioctl");
  for (size_t i = 0; i < sizeof denied_ioctls / sizeof *denied_ioctls; i++)
    {
      /* The request is an int in the kernel: compare the low 32 bits
         only, so garbage in the upper half cannot slip past.  */
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), ioctl_nr, 1,
                             SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffu,
                                      (scmp_datum_t) denied_ioctls[i].request));
      if (rc < 0)
        return fail (err, rc, "deny ioctl", denied_ioctls[i].name);
    }

  int clone_nr = seccomp_syscall_resolve_name ("clone");
  if (clone_nr != __NR_SCMP_ERROR)
    {
#if defined(__s390__) || defined(__s390x__) || defined(__CRIS__)
      struct scmp_arg_cmp flags = SCMP_A1 (SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
#else
      struct scmp_arg_cmp flags = SCMP_A0 (SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
#endif
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), clone_nr, 1, flags);
      if (rc < 0)
        return fail (err, rc, "deny", "clone(CLONE_NEWUSER)");
    }
  int clone3_nr = seccomp_syscall_resolve_name ("clone3");
  if (clone3_nr != __NR_SCMP_ERROR)
    {
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), clone3_nr, 0);
      if (rc < 0)
        return fail (err, rc, "deny", "clone3");
    }

  rc = seccomp_load (ctx);
  if (rc < 0)
    return fail (err, rc, "load the filter", NULL);
  return 0;
}

json_t *
cage_seccomp_plan_json (void)
{
  json_t *names = json_array ();
  for (size_t i = 0; names && i < sizeof denied_syscalls / sizeof *denied_syscalls; i++)
    if (seccomp_syscall_resolve_name (denied_syscalls[i]) != __NR_SCMP_ERROR)
      json_array_append_new (names, json_string (denied_syscalls[i]));
  json_t *ioctls = json_array ();
  for (size_t i = 0; ioctls && i < sizeof denied_ioctls / sizeof *denied_ioctls; i++)
    json_array_append_new (ioctls, json_string (denied_ioctls[i].name));
  return json_pack ("{s:s, s:o, s:o, s:[s], s:[s]}", "default", "allow",
                    "eperm", names, "eperm_ioctl", ioctls,
                    "eperm_clone_flags", "CLONE_NEWUSER", "enosys", "clone3");
}
