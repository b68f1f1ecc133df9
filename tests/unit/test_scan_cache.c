/* test_scan_cache.c - content-aware hiding's cache, on real files in /tmp:
   secrets found and plain files shown, a file read once until it changes,
   what changed recently never remembered, a replaced name, symlinks and
   other non-regular files never read, the bound. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan_cache.h"

#define KEY "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"

static char tmp[PATH_MAX];
static int dir_fd = -1;

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static void
put (const char *name, const char *text)
{
  int fd = openat (dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  assert_int_equal (close (fd), 0);
}

static struct stat
lstat_of (const char *name)
{
  struct stat st;
  assert_int_equal (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
  return st;
}

static int
setup (void **state)
{
  char t[] = "/tmp/cagefs-scan-test.XXXXXX";
  if (!mkdtemp (t) || !realpath (t, tmp))
    return -1;
  dir_fd = open (tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return dir_fd < 0 ? -1 : 0;
}

static int
teardown (void **state)
{
  close (dir_fd);
  nftw (tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

static bool
hides (struct scan_cache *sc, const char *name, enum secret_kind *kind)
{
  struct stat st = lstat_of (name);
  return scan_cache_hides (sc, dir_fd, name, &st, kind);
}

static void
test_kinds (void **state)
{
  struct scan_cache *sc = scan_cache_new (64, 0);
  assert_non_null (sc);
  put ("id", KEY);
  put ("creds.json", "{\"type\": \"service_account\", \"private_key\": \"x\"}");
  put ("notes.txt", "-----BEGIN PUBLIC KEY-----\nMIIB\n");
  put ("empty", "");
  enum secret_kind k;
  assert_true (hides (sc, "id", &k));
  assert_int_equal (k, SECRET_PRIVATE_KEY);
  assert_true (hides (sc, "creds.json", &k));
  assert_int_equal (k, SECRET_GCP_KEY);
  assert_false (hides (sc, "notes.txt", &k));
  assert_int_equal (k, SECRET_NONE);
  assert_false (hides (sc, "empty", NULL));
  /* The O_PATH fd form reads the same file. */
  int pfd = openat (dir_fd, "id", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  assert_true (pfd >= 0);
  struct stat st = lstat_of ("id");
  assert_true (scan_cache_hides (sc, pfd, "", &st, &k));
  assert_int_equal (k, SECRET_PRIVATE_KEY);
  close (pfd);
  scan_cache_free (sc);
}

/* A key past the first 64 KiB is not looked at. */
static void
test_window (void **state)
{
  struct scan_cache *sc = scan_cache_new (64, 0);
  char *big = malloc (SECRET_SCAN_BYTES + sizeof KEY);
  assert_non_null (big);
  memset (big, 'x', SECRET_SCAN_BYTES);
  memcpy (big + SECRET_SCAN_BYTES, KEY, sizeof KEY);
  put ("big", big);
  assert_false (hides (sc, "big", NULL));
  memcpy (big + SECRET_SCAN_BYTES - sizeof KEY + 1, KEY, sizeof KEY); /* ends at 64 KiB */
  put ("big2", big);
  assert_true (hides (sc, "big2", NULL));
  free (big);
  scan_cache_free (sc);
}

static void
test_read_once_until_changed (void **state)
{
  struct scan_cache *sc = scan_cache_new (64, 0);
  put ("app.conf", "port = 8080\n");
  struct scan_cache_stats s;
  for (int i = 0; i < 3; i++)
    assert_false (hides (sc, "app.conf", NULL));
  scan_cache_stats (sc, &s);
  assert_int_equal (s.scans, 1);
  assert_int_equal (s.hits, 2);
  assert_int_equal (s.entries, 1);

  /* The host writes a token into it: a new version, read again. */
  int fd = openat (dir_fd, "app.conf", O_WRONLY | O_APPEND | O_CLOEXEC);
  assert_true (fd >= 0);
  const char *tok = "token = ghp_0123456789abcdefghijklmnopqrstuvwxyz\n";
  assert_int_equal (write (fd, tok, strlen (tok)), (ssize_t) strlen (tok));
  close (fd);
  enum secret_kind k;
  assert_true (hides (sc, "app.conf", &k));
  assert_int_equal (k, SECRET_GITHUB_TOKEN);
  assert_true (hides (sc, "app.conf", NULL));
  scan_cache_stats (sc, &s);
  assert_int_equal (s.scans, 2);
  assert_int_equal (s.hits, 3);
  assert_int_equal (s.hidden, 1);
  assert_int_equal (s.entries, 1); /* the new version replaced the old */

  /* Same size and mtime put back: ctime still tells (a tick later:
     timestamps are as coarse as the kernel's tick). */
  struct stat before = lstat_of ("app.conf");
  usleep (50 * 1000);
  char plain[256];
  memset (plain, '#', strlen ("port = 8080\n") + strlen (tok));
  plain[strlen ("port = 8080\n") + strlen (tok)] = '\0';
  put ("app.conf", plain);
  struct timespec times[2] = { before.st_atim, before.st_mtim };
  assert_int_equal (utimensat (dir_fd, "app.conf", times, AT_SYMLINK_NOFOLLOW), 0);
  struct stat after = lstat_of ("app.conf");
  assert_int_equal (after.st_size, before.st_size);
  assert_int_equal (after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  assert_false (hides (sc, "app.conf", NULL));
  scan_cache_free (sc);
}

/* Changed less than the racy window ago: read every time. */
static void
test_racy_not_remembered (void **state)
{
  struct scan_cache *sc = scan_cache_new (64, 3600.0);
  put ("fresh", "hello\n");
  assert_false (hides (sc, "fresh", NULL));
  assert_false (hides (sc, "fresh", NULL));
  struct scan_cache_stats s;
  scan_cache_stats (sc, &s);
  assert_int_equal (s.scans, 2);
  assert_int_equal (s.hits, 0);
  assert_int_equal (s.entries, 0);
  scan_cache_free (sc);
}

static void
test_not_regular_never_read (void **state)
{
  struct scan_cache *sc = scan_cache_new (64, 0);
  put ("id", KEY);
  assert_int_equal (symlinkat ("id", dir_fd, "link"), 0);
  assert_int_equal (mkfifoat (dir_fd, "fifo", 0644), 0);
  assert_int_equal (mkdirat (dir_fd, "dir", 0755), 0);
  assert_false (hides (sc, "link", NULL)); /* the link itself; its target is judged by name */
  assert_false (hides (sc, "fifo", NULL)); /* would block if it were opened */
  assert_false (hides (sc, "dir", NULL));
  struct scan_cache_stats s;
  scan_cache_stats (sc, &s);
  assert_int_equal (s.scans, 0);
  scan_cache_free (sc);
}

/* The name now leads elsewhere (a symlink, another file): hidden for this
   lookup, nothing remembered. */
static void
test_replaced (void **state)
{
  struct scan_cache *sc = scan_cache_new (64, 0);
  put ("a", "plain\n");
  struct stat st = lstat_of ("a");
  /* (kept open: its inode number is not reused by the files below) */
  int keep = openat (dir_fd, "a", O_RDONLY | O_CLOEXEC);
  assert_true (keep >= 0);
  assert_int_equal (unlinkat (dir_fd, "a", 0), 0);
  assert_int_equal (symlinkat ("/etc/passwd", dir_fd, "a"), 0);
  assert_true (scan_cache_hides (sc, dir_fd, "a", &st, NULL));
  assert_int_equal (unlinkat (dir_fd, "a", 0), 0);
  put ("a", "plain too\n");
  assert_true (scan_cache_hides (sc, dir_fd, "a", &st, NULL)); /* another inode */
  assert_int_equal (unlinkat (dir_fd, "a", 0), 0);
  assert_true (scan_cache_hides (sc, dir_fd, "a", &st, NULL)); /* gone */
  close (keep);
  struct scan_cache_stats s;
  scan_cache_stats (sc, &s);
  assert_int_equal (s.entries, 0);
  scan_cache_free (sc);
}

/* Never more entries than asked for; the most recent stay. */
static void
test_bounded (void **state)
{
  struct scan_cache *sc = scan_cache_new (8, 0);
  char name[32];
  for (int i = 0; i < 100; i++)
    {
      snprintf (name, sizeof name, "f%d", i);
      put (name, i % 10 == 0 ? KEY : "plain\n");
    }
  for (int i = 0; i < 100; i++)
    {
      snprintf (name, sizeof name, "f%d", i);
      assert_int_equal (hides (sc, name, NULL), i % 10 == 0);
    }
  struct scan_cache_stats s;
  scan_cache_stats (sc, &s);
  assert_int_equal (s.scans, 100);
  assert_true (s.entries <= 8);
  assert_true (s.entries >= 4);
  assert_true (hides (sc, "f90", NULL)); /* still right, cached or not */
  assert_false (hides (sc, "f99", NULL));
  assert_false (hides (sc, "f99", NULL));
  scan_cache_stats (sc, &s);
  assert_true (s.hits >= 1); /* f99, just read, was remembered */
  assert_true (s.entries <= 8);
  scan_cache_free (sc);
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    T (test_kinds),
    T (test_window),
    T (test_read_once_until_changed),
    T (test_racy_not_remembered),
    T (test_not_regular_never_read),
    T (test_replaced),
    T (test_bounded),
  };
  return unit_run (tests);
}
