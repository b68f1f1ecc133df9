/* seccomp.c - the syscalls an agent never needs.

   Allow by default (an agent runs compilers, interpreters, test suites);
   EPERM for what manages mounts, namespaces, kernel modules, keys, swap,
   tracing of other processes and the like, and for the terminal ioctls
   that inject input (TIOCSTI, TIOCLINUX).  Most of these need a
   capability the agent no longer has; the filter is the second wall.
   clone and unshare with any CLONE_NEW* flag are EPERM (CLONE_NEWUSER is
   allowed with --allow-userns); clone3 passes its flags in memory a filter
   cannot read, so it gets ENOSYS and libc falls back to clone.  ptrace and
   process_vm_readv/writev are EPERM unless --allow-ptrace.  personality
   may only set PER_LINUX or PER_LINUX32 or query (0xffffffff); with
   --allow-ptrace also ADDR_NO_RANDOMIZE, which debuggers use.  Rules
   libseccomp does not know on this architecture are skipped.  On x86-64
   the filter covers the i386 and x32 syscall ABIs too.  */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#include "launcher.h"

static const char *const denied_syscalls[] = {
  /* mounts and the root */
  "mount", "umount", "umount2", "pivot_root", "chroot",
  "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
  "mount_setattr",
  /* namespaces (unshare and clone: by flag, below) */
  "setns",
  /* the machine */
  "swapon", "swapoff", "reboot", "kexec_load", "kexec_file_load",
  "init_module", "finit_module", "delete_module", "acct", "quotactl",
  "quotactl_fd", "syslog", "uselib", "iopl", "ioperm",
  /* the kernel's attack surface and other processes */
  "bpf", "perf_event_open", "userfaultfd",
  /* keys */
  "keyctl", "add_key", "request_key",
  /* file handles walk around the mount tree */
  "open_by_handle_at", "name_to_handle_at",
};

/* Denied unless --allow-ptrace. */
static const char *const ptrace_syscalls[] = {
  "ptrace", "process_vm_readv", "process_vm_writev",
};

/* The namespace flags of clone and unshare. */
static const struct
{
  unsigned long flag;
  const char *name;
} ns_flags[] = {
  { CLONE_NEWNS, "CLONE_NEWNS" },   { CLONE_NEWCGROUP, "CLONE_NEWCGROUP" },
  { CLONE_NEWUTS, "CLONE_NEWUTS" }, { CLONE_NEWIPC, "CLONE_NEWIPC" },
  { CLONE_NEWUSER, "CLONE_NEWUSER" }, { CLONE_NEWPID, "CLONE_NEWPID" },
  { CLONE_NEWNET, "CLONE_NEWNET" }, { 0x00000080 /* CLONE_NEWTIME */, "CLONE_NEWTIME" },
};

#define PERSONALITY_QUERY 0xffffffffu

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

static int
deny_names (scmp_filter_ctx ctx, const char *const *names, size_t n, struct cage_error *err)
{
  for (size_t i = 0; i < n; i++)
    {
      int nr = seccomp_syscall_resolve_name (names[i]);
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown to libseccomp here */
      int rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
      if (rc < 0)
        return fail (err, rc, "deny", names[i]);
    }
  return 0;
}

/* EPERM for personality(P) unless P (its low 32 bits: the kernel takes an
   unsigned int) is the query or sets only bits in ALLOWED.  A rule holds
   one comparison per argument, so: a bit outside ALLOWED set while bit 31
   is clear, or a bit clear while bit 31 is set (only the query has it).  */
static int
deny_personality (scmp_filter_ctx ctx, unsigned allowed, struct cage_error *err)
{
  int nr = seccomp_syscall_resolve_name ("personality");
  if (nr == __NR_SCMP_ERROR)
    return 0;
  const scmp_datum_t top = 0x80000000u;
  for (unsigned b = 0; b < 31; b++)
    {
      scmp_datum_t bit = 1u << b;
      int rc = 0;
      if (!(allowed & bit))
        rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 1,
                               SCMP_A0 (SCMP_CMP_MASKED_EQ, top | bit, bit));
      if (rc == 0)
        rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 1,
                               SCMP_A0 (SCMP_CMP_MASKED_EQ, top | bit, top));
      if (rc < 0)
        return fail (err, rc, "deny", "personality");
    }
  return 0;
}

/* EPERM for clone and unshare with namespace flag FLAG. */
static int
deny_ns_flag (scmp_filter_ctx ctx, unsigned long flag, const char *name, struct cage_error *err)
{
  int rc;
  int unshare_nr = seccomp_syscall_resolve_name ("unshare");
  if (unshare_nr != __NR_SCMP_ERROR)
    {
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), unshare_nr, 1,
                             SCMP_A0 (SCMP_CMP_MASKED_EQ, flag, flag));
      if (rc < 0)
        return fail (err, rc, "deny unshare", name);
    }
  int clone_nr = seccomp_syscall_resolve_name ("clone");
  if (clone_nr != __NR_SCMP_ERROR)
    {
#if defined(__s390__) || defined(__s390x__) || defined(__CRIS__)
      struct scmp_arg_cmp flags = SCMP_A1 (SCMP_CMP_MASKED_EQ, flag, flag);
#else
      struct scmp_arg_cmp flags = SCMP_A0 (SCMP_CMP_MASKED_EQ, flag, flag);
#endif
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), clone_nr, 1, flags);
      if (rc < 0)
        return fail (err, rc, "deny clone", name);
    }
  return 0;
}

/* Read a BPF program (an array of struct sock_filter) from FD into *PROG. */
static int
read_program (int fd, const char *what, struct sock_fprog *prog, struct cage_error *err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return cage_error_set (err, errno, "seccomp: stat %s", what);
  size_t size = (size_t) st.st_size;
  if (size == 0 || size % sizeof (struct sock_filter) != 0
      || size / sizeof (struct sock_filter) > BPF_MAXINSNS)
    return cage_error_set (err, EINVAL, "seccomp: %s is not a BPF program (%zu bytes)", what,
                           size);
  struct sock_filter *insns = malloc (size);
  if (!insns)
    return cage_error_set (err, ENOMEM, "seccomp: %s", what);
  ssize_t n = pread (fd, insns, size, 0);
  if (n != (ssize_t) size)
    {
      int e = n < 0 ? errno : EIO;
      free (insns);
      return cage_error_set (err, e, "seccomp: read %s", what);
    }
  prog->len = (unsigned short) (size / sizeof (struct sock_filter));
  prog->filter = insns;
  return 0;
}

/* The cache file of the filter OPTS asks for, compiled by this very cage
   binary and libseccomp: the key covers the options, libseccomp's version
   and the identity of /proc/self/exe (a rebuilt cage compiles anew). */
static char *
cache_path (const struct seccomp_options *opts, const char *dir)
{
  struct stat exe;
  if (stat ("/proc/self/exe", &exe) < 0)
    return NULL;
  const struct scmp_version *v = seccomp_version ();
  uint64_t key[] = { opts->allow_ptrace, opts->allow_userns, v ? v->major : 0, v ? v->minor : 0,
                     v ? v->micro : 0, exe.st_dev, exe.st_ino, (uint64_t) exe.st_size,
                     (uint64_t) exe.st_mtim.tv_sec, (uint64_t) exe.st_mtim.tv_nsec };
  uint64_t h = 0xcbf29ce484222325ULL;
  const unsigned char *b = (const unsigned char *) key;
  for (size_t i = 0; i < sizeof key; i++)
    h = (h ^ b[i]) * 0x100000001b3ULL;
  char *path;
  if (asprintf (&path, "%s/seccomp-%016llx.bpf", dir, (unsigned long long) h) < 0)
    return NULL;
  return path;
}

/* The cached program at PATH, when it is ours and well formed. */
static bool
cache_read (const char *path, struct sock_fprog *prog)
{
  autoclose int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 022))
    return false;
  struct cage_error ignored = { 0 };
  return read_program (fd, path, prog, &ignored) == 0;
}

/* Best effort: a failure only means the next cage compiles again. */
static void
cache_write (const char *path, const struct sock_fprog *prog)
{
  char tmp[4096];
  if (snprintf (tmp, sizeof tmp, "%s.tmp-%d", path, (int) getpid ()) >= (int) sizeof tmp)
    return;
  int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  size_t size = prog->len * sizeof *prog->filter;
  bool ok = write (fd, prog->filter, size) == (ssize_t) size;
  ok = close (fd) == 0 && ok;
  if (!ok || rename (tmp, path) < 0)
    unlink (tmp);
}

/* Compile the filter OPTS asks for with libseccomp into *PROG. */
static int
compile_filter (const struct seccomp_options *opts, struct sock_fprog *prog,
                struct cage_error *err)
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

  if (deny_names (ctx, denied_syscalls, sizeof denied_syscalls / sizeof *denied_syscalls, err) < 0)
    return -1;
  if (!opts->allow_ptrace
      && deny_names (ctx, ptrace_syscalls, sizeof ptrace_syscalls / sizeof *ptrace_syscalls,
                     err) < 0)
    return -1;
  if (deny_personality (ctx, PER_LINUX32 | (opts->allow_ptrace ? ADDR_NO_RANDOMIZE : 0), err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof ns_flags / sizeof *ns_flags; i++)
    if (!(opts->allow_userns && ns_flags[i].flag == CLONE_NEWUSER)
        && deny_ns_flag (ctx, ns_flags[i].flag, ns_flags[i].name, err) < 0)
      return -1;

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

  int clone3_nr = seccomp_syscall_resolve_name ("clone3");
  if (clone3_nr != __NR_SCMP_ERROR)
    {
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), clone3_nr, 0);
      if (rc < 0)
        return fail (err, rc, "deny", "clone3");
    }

  /* The program libseccomp would load, exported (2.5 exports to an fd). */
  autoclose int mfd = memfd_create ("cage-seccomp", MFD_CLOEXEC);
  if (mfd < 0)
    return cage_error_set (err, errno, "seccomp: memfd_create");
  rc = seccomp_export_bpf (ctx, mfd);
  if (rc < 0)
    return fail (err, rc, "export the filter", NULL);
  return read_program (mfd, "the exported filter", prog, err);
}

int
cage_seccomp_prepare (const struct seccomp_options *opts, const char *cache_dir,
                      struct sock_fprog *prog, struct cage_error *err)
{
  memset (prog, 0, sizeof *prog);
  if (opts->off)
    return 0;
  autofree char *path = cache_dir ? cache_path (opts, cache_dir) : NULL;
  if (path && cache_read (path, prog))
    return 0;
  if (compile_filter (opts, prog, err) < 0)
    return -1;
  if (path)
    cache_write (path, prog);
  return 0;
}

int
cage_seccomp_install (const struct sock_fprog *prog, struct cage_error *err)
{
  if (!prog->filter)
    return 0; /* --seccomp=off */
  /* What seccomp_load does: no_new_privs is already set. */
  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0)
    return cage_error_set (err, errno, "seccomp: load the filter");
  return 0;
}

void
cage_seccomp_free (struct sock_fprog *prog)
{
  free (prog->filter);
  prog->filter = NULL;
  prog->len = 0;
}

json_t *
cage_seccomp_plan_json (const struct seccomp_options *opts)
{
  if (opts->off)
    return json_pack ("{s:b}", "enabled", 0);
  json_t *names = json_array ();
  for (size_t i = 0; names && i < sizeof denied_syscalls / sizeof *denied_syscalls; i++)
    if (seccomp_syscall_resolve_name (denied_syscalls[i]) != __NR_SCMP_ERROR)
      json_array_append_new (names, json_string (denied_syscalls[i]));
  for (size_t i = 0; names && !opts->allow_ptrace && i < sizeof ptrace_syscalls / sizeof *ptrace_syscalls; i++)
    if (seccomp_syscall_resolve_name (ptrace_syscalls[i]) != __NR_SCMP_ERROR)
      json_array_append_new (names, json_string (ptrace_syscalls[i]));
  json_t *ioctls = json_array ();
  for (size_t i = 0; ioctls && i < sizeof denied_ioctls / sizeof *denied_ioctls; i++)
    json_array_append_new (ioctls, json_string (denied_ioctls[i].name));
  json_t *flags = json_array ();
  for (size_t i = 0; flags && i < sizeof ns_flags / sizeof *ns_flags; i++)
    if (!(opts->allow_userns && ns_flags[i].flag == CLONE_NEWUSER))
      json_array_append_new (flags, json_string (ns_flags[i].name));
  json_t *pers = json_pack ("[s,s,s]", "PER_LINUX", "PER_LINUX32", "0xffffffff (query)");
  if (pers && opts->allow_ptrace)
    json_array_append_new (pers, json_string ("ADDR_NO_RANDOMIZE"));
#if defined(__x86_64__)
  json_t *arches = json_pack ("[s,s,s]", "x86_64", "x86", "x32");
#else
  json_t *arches = json_pack ("[s]", "native");
#endif
  return json_pack ("{s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:[s], s:b, s:b}", "enabled", 1,
                    "architectures", arches, "default", "allow", "eperm", names,
                    "eperm_ioctl", ioctls, "eperm_clone_unshare_flags", flags,
                    "personality_allowed", pers, "enosys", "clone3",
                    "allow_ptrace", opts->allow_ptrace, "allow_userns", opts->allow_userns);
}
