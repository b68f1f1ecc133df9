/* test_paths.c - the state root, per-project keys, and their errors. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

static char tmp[PATH_MAX]; /* realpath of a fresh directory per test */
static char *saved_xdg, *saved_home;

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
setup (void **state)
{
  char t[] = "/tmp/cage-test-paths-XXXXXX";
  if (!mkdtemp (t) || !realpath (t, tmp))
    return -1;
  const char *x = getenv ("XDG_RUNTIME_DIR"), *h = getenv ("HOME");
  saved_xdg = x ? strdup (x) : NULL;
  saved_home = h ? strdup (h) : NULL;
  return 0;
}

static void
restore (const char *name, char **saved)
{
  if (*saved)
    setenv (name, *saved, 1);
  else
    unsetenv (name);
  free (*saved);
  *saved = NULL;
}

static int
teardown (void **state)
{
  restore ("XDG_RUNTIME_DIR", &saved_xdg);
  restore ("HOME", &saved_home);
  return nftw (tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<tmp>/SUFFIX" in a static buffer (one of 8, round-robin: use it at
   once, do not keep it). */
static const char *
at (const char *suffix)
{
  static char bufs[8][PATH_MAX + 64];
  static int next;
  char *b = bufs[next++ % 8];
  int n = snprintf (b, sizeof bufs[0], "%s%s%s", tmp, suffix[0] ? "/" : "", suffix);
  if (n < 0 || (size_t) n >= sizeof bufs[0])
    fail_msg ("path too long: %s/%s", tmp, suffix);
  return b;
}

static void
make_dir (const char *path)
{
  if (mkdir (path, 0755) < 0)
    fail_msg ("mkdir %s: %s", path, strerror (errno));
}

static void
make_file (const char *path)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail_msg ("create %s: %s", path, strerror (errno));
  close (fd);
}

static void
assert_root (const char *want)
{
  struct cage_error err = { 0 };
  char *root = paths_state_root (&err);
  assert_non_null (root);
  assert_string_equal (root, want);
  free (root);
}

static const char *
passwd_root (void)
{
  static char buf[PATH_MAX + 64];
  struct passwd *pw = getpwuid (geteuid ());
  assert_non_null (pw);
  snprintf (buf, sizeof buf, "%s/.local/state/cagefs", pw->pw_dir);
  return buf;
}

/* ---- the state root ------------------------------------------------- */

static void
test_root_xdg (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  setenv ("HOME", "/nonexistent", 1);
  char want[PATH_MAX + 16];
  snprintf (want, sizeof want, "%s/cagefs", tmp);
  assert_root (want);
}

static void
test_root_home (void **state)
{
  unsetenv ("XDG_RUNTIME_DIR");
  make_dir (at ("home"));
  setenv ("HOME", at ("home"), 1);
  char want[PATH_MAX + 64];
  snprintf (want, sizeof want, "%s/home/.local/state/cagefs", tmp);
  assert_root (want);
}

/* An unusable $XDG_RUNTIME_DIR falls back to $HOME. */
static void
test_root_xdg_unusable (void **state)
{
  make_dir (at ("home"));
  make_file (at ("file"));
  setenv ("HOME", at ("home"), 1);
  char want[PATH_MAX + 64];
  snprintf (want, sizeof want, "%s/home/.local/state/cagefs", tmp);
  const char *bad[] = { "", "run/user/1000", at ("nope"), at ("file") };
  for (size_t i = 0; i < N_ELEMS (bad); i++)
    {
      setenv ("XDG_RUNTIME_DIR", bad[i], 1);
      assert_root (want);
    }
}

/* A directory someone else owns is not used (it might be a trap). */
static void
test_root_xdg_not_ours (void **state)
{
  make_dir (at ("home"));
  setenv ("HOME", at ("home"), 1);
  char want[PATH_MAX + 64];
  snprintf (want, sizeof want, "%s/home/.local/state/cagefs", tmp);
  if (geteuid () == 0)
    {
      make_dir (at ("other"));
      assert_int_equal (chown (at ("other"), 65534, 65534), 0);
      setenv ("XDG_RUNTIME_DIR", at ("other"), 1);
    }
  else
    setenv ("XDG_RUNTIME_DIR", "/", 1); /* root's */
  assert_root (want);
}

/* $HOME unset, relative, missing or not ours: the passwd home. */
static void
test_root_home_unusable (void **state)
{
  unsetenv ("XDG_RUNTIME_DIR");
  unsetenv ("HOME");
  assert_root (passwd_root ());
  const char *bad[] = { "relative/home", at ("nope") };
  for (size_t i = 0; i < N_ELEMS (bad); i++)
    {
      setenv ("HOME", bad[i], 1);
      assert_root (passwd_root ());
    }
  if (geteuid () == 0)
    {
      make_dir (at ("other"));
      assert_int_equal (chown (at ("other"), 65534, 65534), 0);
      setenv ("HOME", at ("other"), 1);
    }
  else
    setenv ("HOME", "/", 1);
  assert_root (passwd_root ());
}

/* ---- project keys --------------------------------------------------- */

/* FNV-1a 64, written again here so that a change to paths.c's hash (which
   would orphan every running mount's state) fails the test. */
static uint64_t
fnv1a (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
  return h;
}

static void
test_fnv_vectors (void **state)
{
  assert_true (fnv1a ("") == 0xcbf29ce484222325ULL);
  assert_true (fnv1a ("a") == 0xaf63dc4c8601ec8cULL);
  assert_true (fnv1a ("foobar") == 0x85944171f73967e8ULL);
}

static void
test_project_root_dir (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  struct project_paths p;
  struct cage_error err = { 0 };
  assert_int_equal (paths_project ("/", false, &p, &err), 0);
  char want[PATH_MAX + 128];
  /* "/" has no basename: "root"; FNV-1a("/") is fixed forever. */
  snprintf (want, sizeof want, "%s/cagefs/root-af63a24c860189fe", tmp);
  assert_string_equal (p.project, "/");
  assert_string_equal (p.state, want);
  snprintf (want, sizeof want, "%s/cagefs/root-af63a24c860189fe/mnt", tmp);
  assert_string_equal (p.mnt, want);
  snprintf (want, sizeof want, "%s/cagefs/root-af63a24c860189fe/home", tmp);
  assert_string_equal (p.home, want);
  snprintf (want, sizeof want, "%s/cagefs/root-af63a24c860189fe/state.json", tmp);
  assert_string_equal (p.state_json, want);
  snprintf (want, sizeof want, "%s/cagefs/root-af63a24c860189fe/daemon.log", tmp);
  assert_string_equal (p.log, want);
  snprintf (want, sizeof want, "%s/cagefs/root-af63a24c860189fe/audit.ndjson", tmp);
  assert_string_equal (p.audit, want);
  /* Not created. */
  struct stat st;
  assert_int_equal (stat (at ("cagefs"), &st), -1);
  paths_free (&p);
  assert_null (p.state);
}

/* Every spelling of a project gives the same key: "<base>-<fnv1a(realpath)>". */
static void
test_project_key_stable (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  make_dir (at ("proj"));
  make_dir (at ("proj/my-app"));
  assert_int_equal (symlink ("proj/my-app", at ("link")), 0);
  char want[PATH_MAX + 128];
  snprintf (want, sizeof want, "%s/cagefs/my-app-%016" PRIx64, tmp,
            fnv1a (at ("proj/my-app")));
  static const char *const spellings[] = { "proj/my-app", "proj/my-app/", "proj/./my-app",
                                           "proj/my-app/../my-app", "link" };
  for (size_t i = 0; i < N_ELEMS (spellings); i++)
    {
      struct project_paths p;
      struct cage_error err = { 0 };
      assert_int_equal (paths_project (at (spellings[i]), false, &p, &err), 0);
      assert_string_equal (p.project, at ("proj/my-app"));
      assert_string_equal (p.state, want);
      paths_free (&p);
    }
  /* Relative to the working directory, too. */
  char cwd[PATH_MAX];
  assert_non_null (getcwd (cwd, sizeof cwd));
  assert_int_equal (chdir (at ("proj")), 0);
  struct project_paths p;
  struct cage_error err = { 0 };
  int r = paths_project ("my-app", false, &p, &err);
  assert_int_equal (chdir (cwd), 0);
  assert_int_equal (r, 0);
  assert_string_equal (p.state, want);
  paths_free (&p);
}

/* Same basename, different projects: different keys. */
static void
test_project_key_distinct (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  make_dir (at ("a"));
  make_dir (at ("b"));
  make_dir (at ("a/app"));
  make_dir (at ("b/app"));
  struct project_paths pa, pb;
  struct cage_error err = { 0 };
  assert_int_equal (paths_project (at ("a/app"), false, &pa, &err), 0);
  assert_int_equal (paths_project (at ("b/app"), false, &pb, &err), 0);
  assert_string_not_equal (pa.state, pb.state);
  const char *ka = strrchr (pa.state, '/') + 1, *kb = strrchr (pb.state, '/') + 1;
  assert_int_equal (strlen (ka), strlen ("app-") + 16);
  assert_int_equal (strncmp (ka, "app-", 4), 0);
  assert_int_equal (strncmp (kb, "app-", 4), 0);
  assert_int_equal (strspn (ka + 4, "0123456789abcdef"), 16);
  paths_free (&pa);
  paths_free (&pb);
}

/* A long basename is cut to 200 bytes so the key fits in a name. */
static void
test_project_key_long_name (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  char name[251];
  memset (name, 'n', 250);
  name[250] = '\0';
  make_dir (at (name));
  struct project_paths p;
  struct cage_error err = { 0 };
  assert_int_equal (paths_project (at (name), false, &p, &err), 0);
  const char *key = strrchr (p.state, '/') + 1;
  assert_int_equal (strlen (key), 200 + 1 + 16);
  assert_int_equal (strspn (key, "n"), 200);
  assert_int_equal (key[200], '-');
  paths_free (&p);
}

static void
assert_dir_0700 (const char *path)
{
  struct stat st;
  if (stat (path, &st) < 0)
    fail_msg ("stat %s: %s", path, strerror (errno));
  assert_true (S_ISDIR (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0700);
}

static void
test_project_create (void **state)
{
  setenv ("XDG_RUNTIME_DIR", at ("xdg"), 1);
  make_dir (at ("xdg"));
  make_dir (at ("proj"));
  mode_t old = umask (0);
  for (int round = 0; round < 2; round++) /* idempotent */
    {
      struct project_paths p;
      struct cage_error err = { 0 };
      if (paths_project (at ("proj"), true, &p, &err) < 0)
        fail_msg ("paths_project: %s", err.msg);
      assert_dir_0700 (at ("xdg/cagefs"));
      assert_dir_0700 (p.state);
      assert_dir_0700 (p.mnt);
      assert_dir_0700 (p.home);
      struct stat st;
      assert_int_equal (stat (p.state_json, &st), -1); /* the daemon writes it */
      paths_free (&p);
    }
  umask (old);
}

/* ---- errors --------------------------------------------------------- */

static void
assert_zeroed (const struct project_paths *p)
{
  assert_null (p->project);
  assert_null (p->state);
  assert_null (p->mnt);
  assert_null (p->home);
  assert_null (p->state_json);
  assert_null (p->log);
}

static void
test_project_missing (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  struct project_paths p;
  struct cage_error err = { 0 };
  assert_int_equal (paths_project (at ("nope"), true, &p, &err), -1);
  assert_int_equal (err.errnum, ENOENT);
  char want[PATH_MAX + 128];
  snprintf (want, sizeof want, "project `%s`: %s", at ("nope"), strerror (ENOENT));
  assert_string_equal (err.msg, want);
  assert_zeroed (&p);
  paths_free (&p);
  /* Nothing was created for it. */
  struct stat st;
  assert_int_equal (stat (at ("cagefs"), &st), -1);
}

static void
test_project_not_dir (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  make_file (at ("file"));
  struct project_paths p;
  struct cage_error err = { 0 };
  assert_int_equal (paths_project (at ("file"), false, &p, &err), -1);
  assert_int_equal (err.errnum, ENOTDIR);
  char want[PATH_MAX + 128];
  snprintf (want, sizeof want, "project `%s`: %s", at ("file"), strerror (ENOTDIR));
  assert_string_equal (err.msg, want);
  assert_zeroed (&p);
}

/* The state root is blocked by a file: an error, nothing half-filled. */
static void
test_project_create_fails (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  make_file (at ("cagefs"));
  make_dir (at ("proj"));
  struct project_paths p;
  struct cage_error err = { 0 };
  assert_int_equal (paths_project (at ("proj"), true, &p, &err), -1);
  assert_int_equal (err.errnum, ENOTDIR);
  assert_non_null (strstr (err.msg, at ("cagefs")));
  assert_zeroed (&p);
}

static void
test_mkdir_p (void **state)
{
  struct cage_error err = { 0 };
  mode_t old = umask (0);
  assert_int_equal (paths_mkdir_p (at ("x/y/z"), 0700, &err), 0);
  umask (old);
  assert_dir_0700 (at ("x"));
  assert_dir_0700 (at ("x/y/z"));
  assert_int_equal (paths_mkdir_p (at ("x/y/z"), 0700, &err), 0);

  make_file (at ("f"));
  assert_int_equal (paths_mkdir_p (at ("f/sub"), 0700, &err), -1);
  assert_int_equal (err.errnum, ENOTDIR);
  char want[PATH_MAX + 128];
  snprintf (want, sizeof want, "create directory `%s`: %s", at ("f/sub"), strerror (ENOTDIR));
  assert_string_equal (err.msg, want);
  assert_int_equal (paths_mkdir_p (at ("f"), 0700, &err), -1);
  assert_int_equal (err.errnum, ENOTDIR);
}

/* A gone project's paths are those it had while it existed. */
static void
test_project_gone (void **state)
{
  setenv ("XDG_RUNTIME_DIR", tmp, 1);
  make_dir (at ("proj"));
  struct cage_error err = { 0 };
  struct project_paths live, gone;
  assert_int_equal (paths_project (at ("proj"), false, &live, &err), 0);
  char spelled[PATH_MAX + 16];
  snprintf (spelled, sizeof spelled, "%s//proj/", tmp);
  assert_int_equal (rmdir (at ("proj")), 0);
  assert_int_equal (paths_project (at ("proj"), false, &gone, &err), -1);
  assert_int_equal (paths_project_gone (spelled, &gone, &err), 0);
  assert_string_equal (gone.project, live.project);
  assert_string_equal (gone.state, live.state);
  assert_string_equal (gone.mnt, live.mnt);
  assert_string_equal (gone.private_root, live.private_root);
  paths_free (&gone);
  paths_free (&live);
  assert_int_equal (paths_project_gone ("proj", &gone, &err), -1);
  assert_int_equal (err.errnum, ENOENT);
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    T (test_root_xdg),
    T (test_root_home),
    T (test_root_xdg_unusable),
    T (test_root_xdg_not_ours),
    T (test_root_home_unusable),
    T (test_fnv_vectors),
    T (test_project_root_dir),
    T (test_project_key_stable),
    T (test_project_key_distinct),
    T (test_project_key_long_name),
    T (test_project_create),
    T (test_project_missing),
    T (test_project_not_dir),
    T (test_project_create_fails),
    T (test_mkdir_p),
    T (test_project_gone),
  };
  return unit_run (tests);
}
