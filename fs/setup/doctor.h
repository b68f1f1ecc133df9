/* doctor.h - `cagefs doctor`: does this machine have what the invoking
   user's cages need?  Each check fills one struct doctor_check.

   The checks that read the machine's settings take a struct doctor_env
   whose ROOT prefixes every path they read (/proc/sys/..., /dev/fuse,
   /sys/kernel/security/apparmor/..., PATH's folders): "" for the real
   machine, a fake tree for the unit tests.  The probes (a user namespace,
   a seccomp filter, an io_uring, a nix-daemon connection) use the real
   kernel: features are probed by using them. */
#ifndef CAGE_DOCTOR_H
#define CAGE_DOCTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cage_config;

enum doctor_status
{
  DOCTOR_OK,
  DOCTOR_WARN,
  DOCTOR_FAIL,
};

struct doctor_check
{
  const char *name;          /* static: "userns", "fuse-device", ... */
  enum doctor_status status;
  char detail[1024];         /* what was found */
  char fix[512];             /* "" or the command that fixes it */
};

struct doctor_env
{
  const char *root; /* prefix of every path read ("" for the machine) */
  uid_t euid;       /* whose cages: the decisions for root differ */
  gid_t egid;
  const char *path; /* PATH to search for programs (may be NULL) */
};

/* The environment of the invoking process. */
void doctor_env_real (struct doctor_env *env);

const char *doctor_status_name (enum doctor_status s);

/* The sysctls that allow user namespaces, and AppArmor's restriction. */
void doctor_userns_settings (const struct doctor_env *env, struct doctor_check *c);
/* Make a user namespace (with mount, pid, ipc, uts and net namespaces)
   in a child and write its uid_map; a failure is explained with
   doctor_userns_settings. */
void doctor_userns_probe (const struct doctor_env *env, struct doctor_check *c);
void doctor_fuse_device (const struct doctor_env *env, struct doctor_check *c);
void doctor_fusermount (const struct doctor_env *env, struct doctor_check *c);
void doctor_nix_store (const struct doctor_env *env, struct doctor_check *c);
/* NEEDED: a nix-daemon is needed even for root (store.nix_daemon). */
void doctor_nix_daemon (const struct doctor_env *env, bool needed, struct doctor_check *c);
void doctor_cgroup (const struct doctor_env *env, struct doctor_check *c);
/* The sysctls; *CAP: the most folders the daemon watches. */
void doctor_inotify (const struct doctor_env *env, size_t *cap, struct doctor_check *c);
/* The project's folders against the daemon's watch cap CAP. */
void doctor_project_watches (const char *project, size_t cap, struct doctor_check *c);
void doctor_io_uring (const struct doctor_env *env, struct doctor_check *c);
void doctor_libfuse (struct doctor_check *c);
void doctor_seccomp (struct doctor_check *c);
/* The network of the project's cage.json (CFG loaded, profile applied). */
void doctor_network (const struct cage_config *cfg, struct doctor_check *c);

/* "STATUS NAME DETAIL[; fix: FIX]" (one line, no newline) into BUF. */
void doctor_format (const struct doctor_check *c, char *buf, size_t size);
json_t *doctor_json (const struct doctor_check *c);

#endif
