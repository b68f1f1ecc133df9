/* test_nar.c - the NAR reader on real archives (`nix-store --dump` of a
   folder made here) and on malformed ones (one per rule), and unpacking. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nar.h"

static char tmpdir[64];

/* ---- helpers ----------------------------------------------------------- */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (flag == FTW_DP)
    return rmdir (path);
  return unlink (path);
}

static int
chmod_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (flag == FTW_D)
    return chmod (path, 0700);
  return 0;
}

static int
setup_tmpdir (void **state)
{
  strcpy (tmpdir, "/tmp/cage-test-nar-XXXXXX");
  return mkdtemp (tmpdir) ? 0 : -1;
}

static int
teardown_tmpdir (void **state)
{
  /* unpacked folders are 0555: make them writable first */
  if (nftw (tmpdir, chmod_entry, 16, FTW_PHYS) < 0)
    return -1;
  return nftw (tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file (const char *path, const char *text, mode_t mode)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  assert_true (fd >= 0);
  size_t len = strlen (text);
  assert_int_equal (write (fd, text, len), (ssize_t) len);
  assert_int_equal (close (fd), 0);
  assert_int_equal (chmod (path, mode), 0);
}

static char *
path_in (const char *rel)
{
  static char buf[4][512];
  static int i;
  char *p = buf[i++ % 4];
  snprintf (p, 512, "%s/%s", tmpdir, rel);
  return p;
}

/* `nix-store --dump DIR` on a pipe: the read end, and the child in *PID.
   -1 (the test is skipped) when nix-store cannot be run. */
static int
dump_pipe (const char *dir, pid_t *pid)
{
  int p[2];
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  *pid = fork ();
  assert_true (*pid >= 0);
  if (*pid == 0)
    {
      dup2 (p[1], 1);
      execlp ("nix-store", "nix-store", "--dump", dir, (char *) NULL);
      _exit (127);
    }
  close (p[1]);
  return p[0];
}

static int
wait_dump (pid_t pid)
{
  int status;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* The NAR of DIR, as `nix-store --dump` writes it; skips the test when
   nix-store is missing. */
static unsigned char *
dump (const char *dir, size_t *len)
{
  pid_t pid;
  int fd = dump_pipe (dir, &pid);
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc (cap);
  assert_non_null (buf);
  for (;;)
    {
      if (n == cap)
        {
          buf = realloc (buf, cap *= 2);
          assert_non_null (buf);
        }
      ssize_t r = read (fd, buf + n, cap - n);
      assert_true (r >= 0);
      if (r == 0)
        break;
      n += (size_t) r;
    }
  close (fd);
  int rc = wait_dump (pid);
  if (rc == 127)
    {
      free (buf);
      skip ();
    }
  assert_int_equal (rc, 0);
  *len = n;
  return buf;
}

/* A sample folder: regular, empty, executable files, a symlink, a nested
   and an empty folder; names chosen so byte order matters ("B" < "a"). */
static void
make_sample (const char *dir)
{
  char p[512];
  assert_int_equal (mkdir (dir, 0755), 0);
  snprintf (p, sizeof p, "%s/a", dir);
  write_file (p, "hello\n", 0644);
  snprintf (p, sizeof p, "%s/B", dir);
  write_file (p, "", 0644);
  snprintf (p, sizeof p, "%s/run.sh", dir);
  write_file (p, "#!/bin/sh\necho ok\n", 0755);
  snprintf (p, sizeof p, "%s/link", dir);
  assert_int_equal (symlink ("../a/../../etc/passwd", p), 0);
  snprintf (p, sizeof p, "%s/sub", dir);
  assert_int_equal (mkdir (p, 0755), 0);
  snprintf (p, sizeof p, "%s/sub/deep", dir);
  assert_int_equal (mkdir (p, 0755), 0);
  snprintf (p, sizeof p, "%s/sub/deep/f", dir);
  write_file (p, "0123456789abcdef-seventeen", 0600);
  snprintf (p, sizeof p, "%s/sub/empty", dir);
  assert_int_equal (mkdir (p, 0700), 0);
}

/* Records events as lines: "D path", "/D path", "F path size x",
   "S path -> target", file bytes appended to the F line's data. */
struct record
{
  char text[4096];
  size_t n;
  uint64_t data_seen;
  int fail_at;  /* make the Nth event fail (0: never) */
  int events;
};

static int
record (const struct nar_entry *e, void *data, struct cage_error *err)
{
  struct record *r = data;
  if (r->fail_at && ++r->events == r->fail_at)
    return cage_error_set (err, 0, "stopped at event %d", r->events);
  size_t room = sizeof r->text - r->n;
  int w = 0;
  switch (e->event)
    {
    case NAR_DIR_BEGIN:
      w = snprintf (r->text + r->n, room, "D %s\n", e->path);
      break;
    case NAR_DIR_END:
      w = snprintf (r->text + r->n, room, "/D %s\n", e->path);
      break;
    case NAR_FILE_BEGIN:
      r->data_seen = 0;
      w = snprintf (r->text + r->n, room, "F %s %llu%s [", e->path,
                    (unsigned long long) e->size, e->executable ? " x" : "");
      break;
    case NAR_FILE_DATA:
      w = snprintf (r->text + r->n, room, "%.*s", (int) e->len, (const char *) e->data);
      r->data_seen += e->len;
      break;
    case NAR_FILE_END:
      assert_int_equal (r->data_seen, e->size);
      w = snprintf (r->text + r->n, room, "]\n");
      break;
    case NAR_SYMLINK:
      w = snprintf (r->text + r->n, room, "S %s -> %s\n", e->path, e->target);
      break;
    }
  /* the name is the path's last component */
  const char *slash = strrchr (e->path, '/');
  assert_string_equal (e->name, slash ? slash + 1 : e->path);
  assert_true (w >= 0 && (size_t) w < room);
  r->n += (size_t) w;
  return 0;
}

static const char sample_events[] =
  "D \n"
  "F B 0 []\n"
  "F a 6 [hello\n]\n"
  "S link -> ../a/../../etc/passwd\n"
  "F run.sh 18 x [#!/bin/sh\necho ok\n]\n"
  "D sub\n"
  "D sub/deep\n"
  "F sub/deep/f 26 [0123456789abcdef-seventeen]\n"
  "/D sub/deep\n"
  "D sub/empty\n"
  "/D sub/empty\n"
  "/D sub\n"
  "/D \n";

/* ---- a NAR writer for malformed archives ------------------------------- */

struct nar
{
  unsigned char buf[1 << 16];
  size_t n;
};

static void
put_u64 (struct nar *a, uint64_t v)
{
  assert_true (a->n + 8 <= sizeof a->buf);
  for (int i = 0; i < 8; i++)
    a->buf[a->n++] = (unsigned char) (v >> (8 * i));
}

static void
put_bytes (struct nar *a, const void *s, size_t len)
{
  put_u64 (a, len);
  assert_true (a->n + len + 8 <= sizeof a->buf);
  memcpy (a->buf + a->n, s, len);
  a->n += len;
  while (a->n % 8)
    a->buf[a->n++] = 0;
}

static void
put (struct nar *a, const char *s)
{
  put_bytes (a, s, strlen (s));
}

/* Several strings, NULL-terminated. */
static void
puts_ (struct nar *a, ...)
{
  va_list ap;
  va_start (ap, a);
  for (const char *s; (s = va_arg (ap, const char *));)
    put (a, s);
  va_end (ap);
}

static void
put_file (struct nar *a, const char *contents)
{
  puts_ (a, "(", "type", "regular", "contents", contents, ")", NULL);
}

static void
begin_entry (struct nar *a, const char *name, size_t len)
{
  puts_ (a, "entry", "(", "name", NULL);
  put_bytes (a, name, len);
  put (a, "node");
}

/* A root folder with a file for each name (LEN bytes each, given). */
static void
dir_of (struct nar *a, const char *const *names, const size_t *lens, size_t n)
{
  a->n = 0;
  puts_ (a, NAR_MAGIC, "(", "type", "directory", NULL);
  for (size_t i = 0; i < n; i++)
    {
      begin_entry (a, names[i], lens ? lens[i] : strlen (names[i]));
      put_file (a, "x");
      put (a, ")");
    }
  put (a, ")");
}

static void
assert_bad (const struct nar *a, const char *msg_part)
{
  struct cage_error err = { 0 };
  assert_int_equal (nar_parse_buffer (a->buf, a->n, "t.nar", NULL, NULL, &err), -1);
  if (!strstr (err.msg, msg_part))
    fail_msg ("error \"%s\" does not contain \"%s\"", err.msg, msg_part);
  assert_int_equal (strncmp (err.msg, "NAR t.nar: byte ", 16), 0);
}

static void
assert_good (const struct nar *a)
{
  struct cage_error err = { 0 };
  if (nar_parse_buffer (a->buf, a->n, "t.nar", NULL, NULL, &err) != 0)
    fail_msg ("unexpected error: %s", err.msg);
}

/* ---- real archives -------------------------------------------------------- */

static void
test_real_folder (void **state)
{
  make_sample (path_in ("d"));
  size_t len;
  unsigned char *nar = dump (path_in ("d"), &len);
  struct record r = { 0 };
  struct cage_error err = { 0 };
  assert_int_equal (nar_parse_buffer (nar, len, "d.nar", record, &r, &err), 0);
  assert_string_equal (r.text, sample_events);

  /* every proper prefix is truncated or otherwise refused, never accepted */
  for (size_t n = 0; n < len; n++)
    assert_int_equal (nar_parse_buffer (nar, n, "d.nar", NULL, NULL, &err), -1);
  assert_non_null (strstr (err.msg, "truncated"));

  /* a callback's error stops the walk and is passed on unchanged */
  for (int k = 1; k <= 5; k++)
    {
      struct record stop = { .fail_at = k };
      assert_int_equal (nar_parse_buffer (nar, len, "d.nar", record, &stop, &err), -1);
      char want[64];
      snprintf (want, sizeof want, "stopped at event %d", k);
      assert_string_equal (err.msg, want);
    }
  free (nar);
}

static void
test_real_single_nodes (void **state)
{
  /* a regular file, an executable and a symlink as the root node */
  write_file (path_in ("file"), "just a file", 0644);
  write_file (path_in ("exe"), "", 0755);
  assert_int_equal (symlink ("/nowhere", path_in ("sl")), 0);
  static const char *const names[] = { "file", "exe", "sl" };
  static const char *const want[] = { "F  11 [just a file]\n", "F  0 x []\n",
                                      "S  -> /nowhere\n" };
  for (size_t i = 0; i < 3; i++)
    {
      size_t len;
      unsigned char *nar = dump (path_in (names[i]), &len);
      struct record r = { 0 };
      struct cage_error err = { 0 };
      assert_int_equal (nar_parse_buffer (nar, len, names[i], record, &r, &err), 0);
      assert_string_equal (r.text, want[i]);
      free (nar);
    }
}

static void
test_real_fd (void **state)
{
  /* a file larger than the reader's chunk, so its data comes in pieces */
  make_sample (path_in ("d"));
  char *big = malloc (200001);
  assert_non_null (big);
  for (size_t i = 0; i < 200000; i++)
    big[i] = (char) ('a' + i % 26);
  big[200000] = '\0';
  write_file (path_in ("d/big"), big, 0644);
  free (big);

  pid_t pid;
  int fd = dump_pipe (path_in ("d"), &pid);
  struct cage_error err = { 0 };
  int rc = nar_parse_fd (fd, "pipe", NULL, NULL, &err);
  close (fd);
  int st = wait_dump (pid);
  if (st == 127)
    skip ();
  assert_int_equal (st, 0);
  if (rc != 0)
    fail_msg ("unexpected error: %s", err.msg);

  /* the same archive through a file, with events */
  size_t len;
  unsigned char *nar = dump (path_in ("d"), &len);
  int f = open (path_in ("d.nar"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  assert_true (f >= 0);
  assert_int_equal (write (f, nar, len), (ssize_t) len);
  assert_int_equal (lseek (f, 0, SEEK_SET), 0);
  assert_int_equal (nar_parse_fd (f, "d.nar", NULL, NULL, &err), 0);

  /* trailing bytes after the archive are refused on an fd too */
  assert_int_equal (write (f, "\0\0\0\0\0\0\0\0", 8), 8);
  assert_int_equal (lseek (f, 0, SEEK_SET), 0);
  assert_int_equal (nar_parse_fd (f, "d.nar", NULL, NULL, &err), -1);
  assert_non_null (strstr (err.msg, "bytes follow the end of the archive"));

  /* and a truncated one */
  assert_int_equal (ftruncate (f, (off_t) len - 8), 0);
  assert_int_equal (lseek (f, 0, SEEK_SET), 0);
  assert_int_equal (nar_parse_fd (f, "d.nar", NULL, NULL, &err), -1);
  assert_non_null (strstr (err.msg, "truncated"));
  close (f);
  free (nar);
}

/* ---- malformed archives: one per rule ----------------------------------- */

static void
test_bad_magic (void **state)
{
  struct nar a = { 0 };
  puts_ (&a, "nix-archive-2", NULL);
  put_file (&a, "x");
  assert_bad (&a, "not a NAR");
  a.n = 0;
  assert_bad (&a, "truncated");
  a.n = 0;
  put_u64 (&a, 1ULL << 62); /* a huge first length */
  assert_bad (&a, "not a NAR");
}

static void
test_bad_grammar (void **state)
{
  struct nar a = { 0 };
  puts_ (&a, NAR_MAGIC, "(", "type", "fifo", ")", NULL);
  assert_bad (&a, "expected \"regular\", \"symlink\" or \"directory\", found \"fifo\"");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "[", NULL);
  assert_bad (&a, "expected \"(\", found \"[\"");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "regular", "executable", "yes", "contents", "", ")",
         NULL);
  assert_bad (&a, "\"executable\" must be followed by an empty string");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "regular", ")", NULL);
  assert_bad (&a, "expected \"executable\" or \"contents\", found \")\"");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "regular", "contents", "x", "contents", "y", ")", NULL);
  assert_bad (&a, "expected \")\", found \"contents\"");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "directory", "entry", "(", "name", "a", "node", NULL);
  put_file (&a, "x");
  puts_ (&a, "extra", ")", ")", NULL);
  assert_bad (&a, "expected \")\", found \"extra\"");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "directory", "entrance", NULL);
  assert_bad (&a, "expected \"entry\" or \")\"");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "directory", "a-string-longer-than-any-keyword", NULL);
  assert_bad (&a, "expected \"entry\" or \")\", found a longer string");
}

static void
test_bad_padding (void **state)
{
  struct nar a = { 0 };
  puts_ (&a, NAR_MAGIC, NULL);
  put_file (&a, "abc");
  assert_good (&a);
  /* the padding after "abc" is the 5 bytes before the last ")" */
  a.buf[a.n - 16 - 1] = 1;
  assert_bad (&a, "the padding after a string is not zeros");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, NULL);
  a.buf[8 + 13] = 'x'; /* the magic's padding */
  assert_bad (&a, "not zeros");
}

static void
test_trailing_garbage (void **state)
{
  struct nar a = { 0 };
  puts_ (&a, NAR_MAGIC, NULL);
  put_file (&a, "x");
  assert_good (&a);
  a.buf[a.n++] = 0;
  assert_bad (&a, "1 bytes follow the end of the archive");
  a.n--;
  put (&a, "(");
  assert_bad (&a, "16 bytes follow the end of the archive");
}

static void
test_bad_names (void **state)
{
  struct nar a = { 0 };
  static const char *const slash[] = { "a/b" };
  dir_of (&a, slash, NULL, 1);
  assert_bad (&a, "entry name \"a/b\" contains '/'");

  static const char *const dot[] = { "." };
  dir_of (&a, dot, NULL, 1);
  assert_bad (&a, "entry name \".\" is not allowed");

  static const char *const dotdot[] = { ".." };
  dir_of (&a, dotdot, NULL, 1);
  assert_bad (&a, "entry name \"..\" is not allowed");

  static const char *const empty[] = { "" };
  dir_of (&a, empty, NULL, 1);
  assert_bad (&a, "an entry name is empty");

  static const char *const nul[] = { "a\0b" };
  static const size_t nul_len[] = { 3 };
  dir_of (&a, nul, nul_len, 1);
  assert_bad (&a, "entry name \"a\\x00b\" contains a NUL byte");

  /* fine: dots inside names, and control bytes (quoted in messages) */
  static const char *const ok[] = { "...", ".a", "a\n", "b" };
  dir_of (&a, ok, NULL, 4);
  assert_good (&a);

  char longname[NAR_MAX_NAME + 2];
  memset (longname, 'n', sizeof longname);
  const char *const lng[] = { longname };
  size_t max_len[] = { NAR_MAX_NAME };
  dir_of (&a, lng, max_len, 1);
  assert_good (&a);
  max_len[0] = NAR_MAX_NAME + 1;
  dir_of (&a, lng, max_len, 1);
  assert_bad (&a, "an entry name is 256 bytes long; the limit is 255");
}

static void
test_bad_order (void **state)
{
  struct nar a = { 0 };
  static const char *const sorted[] = { "A", "B", "a", "ab", "b", "\xc3\xa9" };
  dir_of (&a, sorted, NULL, 6);
  assert_good (&a);

  static const char *const unsorted[] = { "a", "c", "b" };
  dir_of (&a, unsorted, NULL, 3);
  assert_bad (&a, "entry name \"b\" does not sort after \"c\"");

  static const char *const dup[] = { "a", "a" };
  dir_of (&a, dup, NULL, 2);
  assert_bad (&a, "entry name \"a\" does not sort after \"a\"");

  static const char *const prefix[] = { "ab", "a" };
  dir_of (&a, prefix, NULL, 2);
  assert_bad (&a, "entry name \"a\" does not sort after \"ab\"");

  /* sorting is per folder: the same name in two folders is fine */
  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "directory", NULL);
  begin_entry (&a, "x", 1);
  puts_ (&a, "(", "type", "directory", NULL);
  begin_entry (&a, "z", 1);
  put_file (&a, "");
  puts_ (&a, ")", ")", ")", NULL);
  begin_entry (&a, "z", 1);
  put_file (&a, "");
  puts_ (&a, ")", ")", NULL);
  assert_good (&a);
}

/* A chain of DEPTH folders named "d", a file at the bottom. */
static void
nested (struct nar *a, unsigned depth, const char *name, size_t name_len)
{
  a->n = 0;
  put (a, NAR_MAGIC);
  for (unsigned i = 0; i < depth; i++)
    {
      puts_ (a, "(", "type", "directory", NULL);
      begin_entry (a, name, name_len);
    }
  put_file (a, "bottom");
  for (unsigned i = 0; i < depth; i++)
    puts_ (a, ")", ")", NULL);
}

static void
test_depth_and_path_limits (void **state)
{
  struct nar a = { 0 };
  nested (&a, NAR_MAX_DEPTH, "d", 1);
  assert_good (&a);
  nested (&a, NAR_MAX_DEPTH + 1, "d", 1);
  assert_bad (&a, "entries are nested more than 256 directories deep");

  /* 16 names of 255 bytes and '/'s: 4095 bytes, the longest path; 17: too long */
  char name[NAR_MAX_NAME];
  memset (name, 'p', sizeof name);
  nested (&a, 16, name, sizeof name);
  assert_good (&a);
  nested (&a, 17, name, sizeof name);
  assert_bad (&a, "bytes long; the limit is 4095");
}

static void
test_bad_symlinks_and_sizes (void **state)
{
  struct nar a = { 0 };
  puts_ (&a, NAR_MAGIC, "(", "type", "symlink", "target", "", ")", NULL);
  assert_bad (&a, "a symlink target is empty");

  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "symlink", "target", NULL);
  put_bytes (&a, "a\0b", 3);
  put (&a, ")");
  assert_bad (&a, "a symlink target contains a NUL byte");

  char target[NAR_MAX_TARGET + 1];
  memset (target, 't', sizeof target);
  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "symlink", "target", NULL);
  put_bytes (&a, target, NAR_MAX_TARGET);
  put (&a, ")");
  assert_good (&a);
  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "symlink", "target", NULL);
  put_bytes (&a, target, NAR_MAX_TARGET + 1);
  put (&a, ")");
  assert_bad (&a, "a symlink target is 4096 bytes long; the limit is 4095");

  /* a file longer than what is left, or than any file may be */
  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "regular", "contents", NULL);
  put_u64 (&a, 1000);
  assert_bad (&a, "a file of 1000 bytes, but only 0 bytes are left in the archive");
  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "regular", "contents", NULL);
  put_u64 (&a, ~0ULL);
  assert_bad (&a, "a file of 18446744073709551615 bytes; the limit is 281474976710656");
  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "symlink", "target", NULL);
  put_u64 (&a, ~0ULL - 3);
  assert_bad (&a, "a symlink target is 18446744073709551612 bytes long");
}

static void
test_error_names_the_entry (void **state)
{
  struct nar a = { 0 };
  puts_ (&a, NAR_MAGIC, "(", "type", "directory", NULL);
  begin_entry (&a, "lib", 3);
  puts_ (&a, "(", "type", "directory", NULL);
  begin_entry (&a, "x\"y", 3);
  puts_ (&a, "(", "type", "socket", NULL);
  struct cage_error err = { 0 };
  assert_int_equal (nar_parse_buffer (a.buf, a.n, "t.nar", NULL, NULL, &err), -1);
  char want[256];
  snprintf (want, sizeof want, "NAR t.nar: byte %zu, in \"lib/x\\\"y\": expected \"regular\", "
            "\"symlink\" or \"directory\", found \"socket\"", a.n);
  assert_string_equal (err.msg, want);
}

/* ---- unpacking -------------------------------------------------------------- */

static void
assert_mode (const char *path, mode_t type, mode_t perm)
{
  struct stat st;
  assert_int_equal (lstat (path, &st), 0);
  assert_int_equal (st.st_mode & S_IFMT, type);
  if (type != S_IFLNK)
    assert_int_equal (st.st_mode & 07777, perm);
}

static void
assert_contents (const char *path, const char *want)
{
  char buf[256] = { 0 };
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_true (read (fd, buf, sizeof buf - 1) >= 0);
  close (fd);
  assert_string_equal (buf, want);
}

static void
test_unpack_round_trip (void **state)
{
  make_sample (path_in ("d"));
  size_t len;
  unsigned char *nar = dump (path_in ("d"), &len);
  int dir = open (tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (dir >= 0);
  struct cage_error err = { 0 };
  if (nar_unpack (dir, "out", nar, len, &err) != 0)
    fail_msg ("unexpected error: %s", err.msg);

  assert_mode (path_in ("out"), S_IFDIR, 0555);
  assert_mode (path_in ("out/a"), S_IFREG, 0444);
  assert_contents (path_in ("out/a"), "hello\n");
  assert_mode (path_in ("out/B"), S_IFREG, 0444);
  assert_mode (path_in ("out/run.sh"), S_IFREG, 0555);
  assert_mode (path_in ("out/sub"), S_IFDIR, 0555);
  assert_mode (path_in ("out/sub/empty"), S_IFDIR, 0555);
  assert_mode (path_in ("out/sub/deep/f"), S_IFREG, 0444);
  assert_contents (path_in ("out/sub/deep/f"), "0123456789abcdef-seventeen");
  assert_mode (path_in ("out/link"), S_IFLNK, 0);
  char target[64] = { 0 };
  assert_int_equal (readlink (path_in ("out/link"), target, sizeof target - 1), 21);
  assert_string_equal (target, "../a/../../etc/passwd");

  /* what was written dumps to the very same archive */
  size_t len2;
  unsigned char *nar2 = dump (path_in ("out"), &len2);
  assert_int_equal (len2, len);
  assert_memory_equal (nar2, nar, len);

  /* a second unpack onto the same name is refused and changes nothing */
  assert_int_equal (nar_unpack (dir, "out", nar, len, &err), -1);
  assert_int_equal (err.errnum, EEXIST);
  char want[256];
  snprintf (want, sizeof want, "unpack: mkdir `out`: %s", strerror (EEXIST));
  assert_string_equal (err.msg, want);
  assert_contents (path_in ("out/a"), "hello\n");

  /* single nodes as the root */
  struct nar a = { 0 };
  puts_ (&a, NAR_MAGIC, "(", "type", "regular", "executable", "", "contents", "#!x", ")", NULL);
  assert_int_equal (nar_unpack (dir, "exe", a.buf, a.n, &err), 0);
  assert_mode (path_in ("exe"), S_IFREG, 0555);
  assert_contents (path_in ("exe"), "#!x");
  a.n = 0;
  puts_ (&a, NAR_MAGIC, "(", "type", "symlink", "target", "/etc", ")", NULL);
  assert_int_equal (nar_unpack (dir, "sl", a.buf, a.n, &err), 0);
  assert_mode (path_in ("sl"), S_IFLNK, 0);
  close (dir);
  free (nar);
  free (nar2);
}

static void
test_unpack_never_follows (void **state)
{
  /* NAME already a symlink to a folder: nothing is written through it */
  assert_int_equal (mkdir (path_in ("victim"), 0755), 0);
  assert_int_equal (symlink ("victim", path_in ("out")), 0);
  struct nar a = { 0 };
  static const char *const names[] = { "planted" };
  dir_of (&a, names, NULL, 1);
  int dir = open (tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (dir >= 0);
  struct cage_error err = { 0 };
  assert_int_equal (nar_unpack (dir, "out", a.buf, a.n, &err), -1);
  assert_int_equal (err.errnum, EEXIST);
  assert_int_equal (access (path_in ("victim/planted"), F_OK), -1);

  /* the same for a file as the root node */
  a.n = 0;
  puts_ (&a, NAR_MAGIC, NULL);
  put_file (&a, "data");
  assert_int_equal (nar_unpack (dir, "out", a.buf, a.n, &err), -1);
  assert_int_equal (err.errnum, EEXIST);
  assert_mode (path_in ("out"), S_IFLNK, 0);
  assert_mode (path_in ("victim"), S_IFDIR, 0755);

  /* NAME must be one component */
  static const char *const bad[] = { "", ".", "..", "a/b", "/abs" };
  for (size_t i = 0; i < N_ELEMS (bad); i++)
    {
      assert_int_equal (nar_unpack (dir, bad[i], a.buf, a.n, &err), -1);
      assert_non_null (strstr (err.msg, "is not a single file name"));
    }
  assert_int_equal (nar_unpack (dir, NULL, a.buf, a.n, &err), -1);

  /* a message stays one line whatever the name holds */
  assert_int_equal (mkdir (path_in ("new\nline"), 0755), 0);
  assert_int_equal (nar_unpack (dir, "new\nline", a.buf, a.n, &err), -1);
  char want[256];
  snprintf (want, sizeof want, "unpack: create `new\\x0aline`: %s", strerror (EEXIST));
  assert_string_equal (err.msg, want);
  close (dir);
}

static void
test_unpack_malformed_makes_nothing (void **state)
{
  /* valid up to a bad name at the very end: nothing may be made */
  struct nar a = { 0 };
  static const char *const names[] = { "a", "b", "c", "b" };
  dir_of (&a, names, NULL, 4);
  int dir = open (tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (dir >= 0);
  struct cage_error err = { 0 };
  assert_int_equal (nar_unpack (dir, "out", a.buf, a.n, &err), -1);
  assert_non_null (strstr (err.msg, "does not sort after"));
  assert_int_equal (access (path_in ("out"), F_OK), -1);
  assert_int_equal (errno, ENOENT);
  close (dir);
}

static void
test_unpack_failure_removes_what_was_made (void **state)
{
  /* a file too large for RLIMIT_FSIZE after some entries: write fails
     with EFBIG, and what was made before is removed again */
  struct nar a = { 0 };
  puts_ (&a, NAR_MAGIC, "(", "type", "directory", NULL);
  begin_entry (&a, "a", 1);
  put_file (&a, "first");
  put (&a, ")");
  begin_entry (&a, "sub", 3);
  puts_ (&a, "(", "type", "directory", NULL);
  begin_entry (&a, "f", 1);
  put_file (&a, "in sub");
  puts_ (&a, ")", ")", ")", NULL);
  begin_entry (&a, "z", 1);
  char big[20000];
  memset (big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  put_file (&a, big);
  puts_ (&a, ")", ")", NULL);
  assert_good (&a);

  struct rlimit old;
  assert_int_equal (getrlimit (RLIMIT_FSIZE, &old), 0);
  struct rlimit lim = { .rlim_cur = 4096, .rlim_max = old.rlim_max };
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  assert_int_equal (setrlimit (RLIMIT_FSIZE, &lim), 0);
  int dir = open (tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (dir >= 0);
  struct cage_error err = { 0 };
  int rc = nar_unpack (dir, "out", a.buf, a.n, &err);
  assert_int_equal (setrlimit (RLIMIT_FSIZE, &old), 0);
  signal (SIGXFSZ, old_handler);
  assert_int_equal (rc, -1);
  assert_int_equal (err.errnum, EFBIG);
  char want[256];
  snprintf (want, sizeof want, "unpack: write `out/z`: %s", strerror (EFBIG));
  assert_string_equal (err.msg, want);
  assert_int_equal (access (path_in ("out"), F_OK), -1);
  assert_int_equal (errno, ENOENT);
  close (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_real_folder, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_real_single_nodes, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_real_fd, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test (test_bad_magic),
    cmocka_unit_test (test_bad_grammar),
    cmocka_unit_test (test_bad_padding),
    cmocka_unit_test (test_trailing_garbage),
    cmocka_unit_test (test_bad_names),
    cmocka_unit_test (test_bad_order),
    cmocka_unit_test (test_depth_and_path_limits),
    cmocka_unit_test (test_bad_symlinks_and_sizes),
    cmocka_unit_test (test_error_names_the_entry),
    cmocka_unit_test_setup_teardown (test_unpack_round_trip, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_unpack_never_follows, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_unpack_malformed_makes_nothing, setup_tmpdir,
                                     teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_unpack_failure_removes_what_was_made, setup_tmpdir,
                                     teardown_tmpdir),
  };
  return unit_run (tests);
}
