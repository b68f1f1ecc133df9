/* test_hidden_inodes.c - hard links to hidden files, on a real tree in /tmp:
   found by the walk at start, by a walk again when a file has more links
   than recorded, the agent's own links noted without a walk, the bound. */
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

#include "blacklist.h"
#include "hidden_inodes.h"

static char tmp[PATH_MAX];      /* the tree's root */
static char outside[PATH_MAX];  /* a folder beside it */
static char log_path[2 * PATH_MAX]; /* stderr of the walks */
static int saved_stderr = -1;
static struct blacklist bl;
static int root_fd = -1;
static struct hidden_inodes *hi;
static char warning[1024];

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static void
put (const char *rel, const char *text)
{
  char p[2 * PATH_MAX], dir[2 * PATH_MAX];
  snprintf (p, sizeof p, "%s/%s", tmp, rel);
  snprintf (dir, sizeof dir, "%s", p);
  for (char *s = dir + strlen (tmp) + 1; (s = strchr (s, '/')); s++)
    {
      *s = '\0';
      assert_true (mkdir (dir, 0755) == 0 || errno == EEXIST);
      *s = '/';
    }
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (text, f);
  assert_int_equal (fclose (f), 0);
}

/* Link A to B, both relative to the tree; B "/NAME" is beside it. */
static void
hard_link (const char *a, const char *b)
{
  char pa[2 * PATH_MAX], pb[2 * PATH_MAX];
  snprintf (pa, sizeof pa, "%s/%s", tmp, a);
  if (b[0] == '/')
    snprintf (pb, sizeof pb, "%s%s", outside, b);
  else
    snprintf (pb, sizeof pb, "%s/%s", tmp, b);
  assert_int_equal (link (pa, pb), 0);
}

static void
start (void)
{
  struct cage_error err = { 0 };
  hi = hidden_inodes_new (root_fd, -1, tmp, &bl, warning, sizeof warning, &err);
  if (!hi)
    fail_msg ("hidden_inodes_new: %s", err.msg);
}

/* What the daemon asks at a lookup of REL (visibility_check_inode). */
static bool
hides (const char *rel)
{
  struct stat st;
  assert_int_equal (fstatat (root_fd, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
  if (!S_ISREG (st.st_mode) || st.st_nlink < 2)
    return false;
  return hidden_inodes_hides (hi, &st);
}

/* How many walks the log shows so far. */
static int
walks (void)
{
  fflush (stderr);
  FILE *f = fopen (log_path, "r");
  assert_non_null (f);
  char line[2048];
  int n = 0;
  while (fgets (line, sizeof line, f))
    n += strstr (line, "hard-link walk of") != NULL;
  fclose (f);
  return n;
}

static int
setup (void **state)
{
  char t[] = "/tmp/cage-test-hidden-XXXXXX";
  char o[] = "/tmp/cage-test-hidden-out-XXXXXX";
  if (!mkdtemp (t) || !mkdtemp (o) || !realpath (t, tmp) || !realpath (o, outside))
    return -1;
  snprintf (log_path, sizeof log_path, "%s/walks.log", outside);
  fflush (stderr);
  saved_stderr = dup (2);
  int lfd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (saved_stderr < 0 || lfd < 0 || dup2 (lfd, 2) < 0)
    return -1;
  close (lfd);
  struct cage_error err = { 0 };
  if (blacklist_init (&bl, NULL, true, &err) < 0)
    return -1;
  root_fd = open (tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  hi = NULL;
  return root_fd < 0 ? -1 : 0;
}

static int
teardown (void **state)
{
  hidden_inodes_free (hi);
  blacklist_free (&bl);
  close (root_fd);
  fflush (stderr);
  dup2 (saved_stderr, 2);
  close (saved_stderr);
  nftw (tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  nftw (outside, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

static void
test_links_there_at_start (void **state)
{
  put (".env", "SECRET");
  hard_link (".env", "innocent.txt");
  put ("sub/.ssh/known_hosts", "SECRET"); /* a plain name in a hidden folder */
  hard_link ("sub/.ssh/known_hosts", "hosts.txt");
  put (".kube/config", "SECRET"); /* a path pattern */
  hard_link (".kube/config", "sub/kube.txt");
  put ("a.txt", "plain");
  hard_link ("a.txt", "b.txt");
  put ("single.txt", "plain");
  start ();
  assert_string_equal (warning, "");
  assert_true (hides ("innocent.txt"));
  assert_true (hides (".env"));
  assert_true (hides ("hosts.txt"));
  assert_true (hides ("sub/kube.txt"));
  assert_false (hides ("a.txt"));
  assert_false (hides ("b.txt"));
  assert_false (hides ("single.txt"));
  assert_int_equal (walks (), 1);
}

static void
test_links_made_later (void **state)
{
  put (".env", "SECRET");
  put ("sub/.env", "SECRET");
  hard_link ("sub/.env", "/outside-link"); /* 2 links at the walk, hidden */
  put ("a.txt", "plain");
  start ();
  assert_int_equal (walks (), 1);
  hard_link (".env", "later.txt");
  assert_true (hides ("later.txt")); /* not recorded: walks again */
  assert_int_equal (walks (), 2);
  hard_link ("sub/.env", "sub/later.txt");
  assert_true (hides ("sub/later.txt")); /* recorded hidden: no walk needed */
  assert_int_equal (walks (), 2);
  hard_link ("a.txt", "c.txt");
  assert_false (hides ("c.txt")); /* a visible pair, made later */
  assert_false (hides ("a.txt"));
  assert_int_equal (walks (), 3);
}

static void
test_hidden_name_removed (void **state)
{
  put (".env", "SECRET");
  hard_link (".env", "innocent.txt");
  hard_link (".env", "/outside-link");
  start ();
  assert_true (hides ("innocent.txt"));
  char p[2 * PATH_MAX];
  snprintf (p, sizeof p, "%s/.env", tmp);
  assert_int_equal (unlink (p), 0);
  /* fewer links than recorded: walks again, no hidden name is left */
  assert_false (hides ("innocent.txt"));
  assert_int_equal (walks (), 2);
}

static void
test_agent_links_noted (void **state)
{
  put ("obj/1", "one");
  put ("obj/2", "two");
  hard_link ("obj/2", "clone-2");
  start ();
  struct stat before;
  assert_int_equal (fstatat (root_fd, "obj/1", &before, AT_SYMLINK_NOFOLLOW), 0);
  hard_link ("obj/1", "clone-1");
  hidden_inodes_linked (hi, &before);
  assert_int_equal (fstatat (root_fd, "obj/2", &before, AT_SYMLINK_NOFOLLOW), 0);
  hard_link ("obj/2", "clone-2b");
  hidden_inodes_linked (hi, &before);
  assert_false (hides ("clone-1"));
  assert_false (hides ("clone-2b"));
  assert_false (hides ("obj/2"));
  assert_int_equal (walks (), 1); /* both noted: no walk */
}

static void
test_bound (void **state)
{
  put (".env", "SECRET");
  hard_link (".env", "innocent.txt");
  char deep[PATH_MAX] = "";
  for (int i = 0; i < HIDDEN_INODES_MAX_DEPTH + 10; i++)
    strcat (deep, "d/");
  strcat (deep, "f");
  put (deep, "plain");
  start ();
  assert_non_null (strstr (warning, "deeper than 256 levels"));
  assert_non_null (strstr (warning, tmp));
  assert_true (hides ("innocent.txt")); /* what the walk met stays hidden */
}

#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    T (test_links_there_at_start), T (test_links_made_later), T (test_hidden_name_removed),
    T (test_agent_links_noted), T (test_bound),
  };
  return unit_run (tests);
}
