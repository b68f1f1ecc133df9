/* test_doctor.c - the decisions of `cagefs doctor` (fs/setup/doctor.c), fed a
   fake tree of /proc, /sys and /dev files through doctor_env.root: the
   AppArmor restriction of user namespaces (which this machine cannot
   have), the sysctls, /dev/fuse, fusermount3, inotify, io_uring, cgroups,
   and the project's folders.  The real probes run in
   tests/integration/05-doctor.bats. */
#include "unit.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"

static char tmp[PATH_MAX];

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
setup (void **state)
{
  char t[] = "/tmp/cage-test-doctor-XXXXXX";
  if (!mkdtemp (t) || !realpath (t, tmp))
    return -1;
  unsetenv ("CAGEFS_MAX_WATCHES");
  return 0;
}

static int
teardown (void **state)
{
  return nftw (tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of the folder above <tmp>/REL, then write TEXT there. */
static void
put (const char *rel, const char *text)
{
  char p[PATH_MAX];
  assert_true (snprintf (p, sizeof p, "%s/%s", tmp, rel) < (int) sizeof p);
  for (char *s = p + strlen (tmp) + 1; (s = strchr (s, '/')); s++)
    {
      *s = '\0';
      mkdir (p, 0755);
      *s = '/';
    }
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (text, f);
  assert_int_equal (fclose (f), 0);
}

static void
mkdirs (const char *rel)
{
  char r[PATH_MAX], p[PATH_MAX];
  assert_true (snprintf (r, sizeof r, "%s/x", rel) < (int) sizeof r);
  put (r, "");
  assert_true (snprintf (p, sizeof p, "%s/%s", tmp, r) < (int) sizeof p);
  assert_int_equal (unlink (p), 0);
}

static struct doctor_env
env_as (uid_t uid)
{
  return (struct doctor_env) { .root = tmp, .euid = uid, .egid = uid, .path = "/usr/bin" };
}

#define assert_contains(hay, needle)                                                   \
  do                                                                                   \
    {                                                                                  \
      if (!strstr ((hay), (needle)))                                                   \
        fail_msg ("'%s' does not contain '%s'", (hay), (needle));                     \
    }                                                                                  \
  while (0)

/* ---- user namespaces ---------------------------------------------------- */

static void
ubuntu_restricted (void)
{
  put ("proc/sys/user/max_user_namespaces", "15000\n");
  put ("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
}

static void
test_apparmor_restriction_fails_for_a_user_without_cage_profile (void **state)
{
  ubuntu_restricted ();
  put ("sys/kernel/security/apparmor/profiles", "/usr/bin/man (enforce)\nbwrap (unconfined)\n");
  struct doctor_env env = env_as (1000);
  struct doctor_check c;
  doctor_userns_settings (&env, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_contains (c.detail, "apparmor_restrict_unprivileged_userns is 1");
  assert_contains (c.detail, "no AppArmor profile for cage is loaded");
  assert_contains (c.fix, "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
  assert_contains (c.fix, "apparmor_parser -r /etc/apparmor.d/cage");
  char line[2048];
  doctor_format (&c, line, sizeof line);
  assert_contains (line, "fail  userns-settings  ");
  assert_contains (line, "; fix: sysctl -w");
}

static void
test_apparmor_restriction_ok_with_cage_profile (void **state)
{
  ubuntu_restricted ();
  put ("sys/kernel/security/apparmor/profiles", "/usr/bin/man (enforce)\ncage (unconfined)\n");
  struct doctor_env env = env_as (1000);
  struct doctor_check c;
  doctor_userns_settings (&env, &c);
  assert_int_equal (c.status, DOCTOR_OK);
  assert_contains (c.detail, "cage's AppArmor profile is loaded");
  assert_string_equal (c.fix, "");
}

static void
test_apparmor_restriction_unreadable_profiles_fail (void **state)
{
  ubuntu_restricted ();
  struct doctor_env env = env_as (1000);
  struct doctor_check c;
  doctor_userns_settings (&env, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_contains (c.detail, "cannot be read");
}

static void
test_apparmor_restriction_not_for_root (void **state)
{
  ubuntu_restricted ();
  struct doctor_env env = env_as (0);
  struct doctor_check c;
  doctor_userns_settings (&env, &c);
  assert_int_equal (c.status, DOCTOR_OK);
  assert_contains (c.detail, "(not for root)");
}

static void
test_no_user_namespaces_fail_even_for_root (void **state)
{
  put ("proc/sys/user/max_user_namespaces", "0\n");
  struct doctor_env env = env_as (0);
  struct doctor_check c;
  doctor_userns_settings (&env, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_string_equal (c.fix, "sysctl -w user.max_user_namespaces=15000");
}

static void
test_debian_unprivileged_userns_clone (void **state)
{
  put ("proc/sys/user/max_user_namespaces", "15000\n");
  put ("proc/sys/kernel/unprivileged_userns_clone", "0\n");
  struct doctor_env user = env_as (1000), root = env_as (0);
  struct doctor_check c;
  doctor_userns_settings (&user, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_string_equal (c.fix, "sysctl -w kernel.unprivileged_userns_clone=1");
  doctor_userns_settings (&root, &c);
  assert_int_equal (c.status, DOCTOR_OK);
  assert_contains (c.detail, "kernel.unprivileged_userns_clone 0");
}

/* ---- FUSE ---------------------------------------------------------------- */

static void
test_fuse_device_missing_or_not_a_device (void **state)
{
  struct doctor_env env = env_as (1000);
  struct doctor_check c;
  doctor_fuse_device (&env, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_contains (c.detail, "No such file or directory");
  assert_contains (c.fix, "modprobe fuse");
  put ("dev/fuse", "");
  doctor_fuse_device (&env, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_contains (c.detail, "not a character device");
  assert_contains (c.fix, "mknod -m 0666 /dev/fuse c 10 229");
}

static void
test_fusermount3_must_be_setuid_root_for_a_user (void **state)
{
  struct doctor_env user = env_as (1000), root = env_as (0);
  struct doctor_check c;
  doctor_fusermount (&user, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_string_equal (c.fix, "apt-get install fuse3");
  doctor_fusermount (&root, &c);
  assert_int_equal (c.status, DOCTOR_WARN);

  put ("usr/bin/fusermount3", "#!/bin/sh\n");
  char p[PATH_MAX];
  assert_true (snprintf (p, sizeof p, "%s/usr/bin/fusermount3", tmp) < (int) sizeof p);
  assert_int_equal (chmod (p, 0755), 0);
  bool as_root = geteuid () == 0; /* else the file is ours, never root's */
  if (as_root)
    assert_int_equal (chown (p, 0, 0), 0);
  doctor_fusermount (&user, &c);
  assert_int_equal (c.status, DOCTOR_FAIL);
  assert_contains (c.detail, "not setuid root");
  assert_string_equal (c.fix, "chown root /usr/bin/fusermount3 && chmod u+s /usr/bin/fusermount3");
  assert_int_equal (chmod (p, 04755), 0);
  doctor_fusermount (&user, &c);
  assert_int_equal (c.status, as_root ? DOCTOR_OK : DOCTOR_FAIL);
}

/* ---- inotify, io_uring ------------------------------------------------------- */

static void
test_inotify_low_watches_warn_with_the_sysctl (void **state)
{
  put ("proc/sys/fs/inotify/max_user_watches", "1000\n");
  put ("proc/sys/fs/inotify/max_user_instances", "128\n");
  struct doctor_env env = env_as (1000);
  struct doctor_check c;
  size_t cap = 0;
  doctor_inotify (&env, &cap, &c);
  assert_int_equal (cap, 250);
  assert_int_equal (c.status, DOCTOR_WARN);
  assert_string_equal (c.fix, "sysctl -w fs.inotify.max_user_watches=524288");
  put ("proc/sys/fs/inotify/max_user_watches", "10000000\n");
  doctor_inotify (&env, &cap, &c);
  assert_int_equal (cap, 65536);
  assert_int_equal (c.status, DOCTOR_OK);
  setenv ("CAGEFS_MAX_WATCHES", "7", 1);
  doctor_inotify (&env, &cap, &c);
  unsetenv ("CAGEFS_MAX_WATCHES");
  assert_int_equal (cap, 7);
  assert_int_equal (c.status, DOCTOR_OK);
}

static void
test_io_uring_disabled_warns (void **state)
{
  put ("proc/sys/kernel/io_uring_disabled", "2\n");
  struct doctor_env env = env_as (1000);
  struct doctor_check c;
  doctor_io_uring (&env, &c);
  assert_int_equal (c.status, DOCTOR_WARN);
  assert_string_equal (c.fix, "sysctl -w kernel.io_uring_disabled=0");
}

/* ---- cgroups -------------------------------------------------------------------- */

static void
test_cgroup_v2_delegated_or_not (void **state)
{
  put ("proc/self/mountinfo", "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n");
  put ("proc/self/cgroup", "0::/user.slice/me\n");
  put ("sys/fs/cgroup/user.slice/me/cgroup.subtree_control", "cpu memory pids\n");
  struct doctor_env env = env_as (1000);
  struct doctor_check c;
  doctor_cgroup (&env, &c);
  assert_int_equal (c.status, DOCTOR_OK);
  assert_contains (c.detail, "cgroup v2: `/sys/fs/cgroup/user.slice/me`");
  put ("sys/fs/cgroup/user.slice/me/cgroup.subtree_control", "cpu\n");
  doctor_cgroup (&env, &c);
  assert_int_equal (c.status, DOCTOR_WARN);
  assert_contains (c.detail, "does not enable both memory and pids");
  assert_contains (c.detail, "RLIMIT_AS");
  assert_true (c.fix[0] != '\0');
}

/* ---- the project's folders ------------------------------------------------------- */

static void
test_project_folders_against_the_cap (void **state)
{
  mkdirs ("p/a/b");
  mkdirs ("p/c");
  mkdirs ("p/.git/objects/00");
  mkdirs ("p/.git/objects/01");
  mkdirs ("p/.git/refs");
  char p[PATH_MAX];
  assert_true (snprintf (p, sizeof p, "%s/p", tmp) < (int) sizeof p);
  struct doctor_check c;
  /* p, a, b, c, .git, .git/refs: not .git/objects */
  doctor_project_watches (p, 6, &c);
  assert_int_equal (c.status, DOCTOR_OK);
  assert_contains (c.detail, "6 folders");
  doctor_project_watches (p, 5, &c);
  assert_int_equal (c.status, DOCTOR_WARN);
  assert_string_equal (c.fix, "sysctl -w fs.inotify.max_user_watches=524288");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)
    T (test_apparmor_restriction_fails_for_a_user_without_cage_profile),
    T (test_apparmor_restriction_ok_with_cage_profile),
    T (test_apparmor_restriction_unreadable_profiles_fail),
    T (test_apparmor_restriction_not_for_root),
    T (test_no_user_namespaces_fail_even_for_root),
    T (test_debian_unprivileged_userns_clone),
    T (test_fuse_device_missing_or_not_a_device),
    T (test_fusermount3_must_be_setuid_root_for_a_user),
    T (test_inotify_low_watches_warn_with_the_sysctl),
    T (test_io_uring_disabled_warns),
    T (test_cgroup_v2_delegated_or_not),
    T (test_project_folders_against_the_cap),
#undef T
  };
  return unit_run (tests);
}
