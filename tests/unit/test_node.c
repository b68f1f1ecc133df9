/* test_node.c - the inode table alone (fs/daemon/node.c): real nodes keyed
   by (view, dev, ino) over a real folder, lookup, forget, rename, the
   fd cache's bound, and the view's hooks (node.h: struct view_ops). */
#include "unit.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"

static char tmp[PATH_MAX];
static struct view view;
static struct node *root, *vroot;

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int gone_calls, reopen_calls;

static void
count_gone (struct node *n)
{
  gone_calls++;
}

static int
counting_reopen (const struct view *v, const char *rel)
{
  reopen_calls++;
  return openat (v->root_fd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static const struct view_ops hooks = { .reopen = counting_reopen, .node_gone = count_gone };

static int
setup (void **state)
{
  snprintf (tmp, sizeof tmp, "/tmp/cage-test-node-XXXXXX");
  if (!mkdtemp (tmp))
    return -1;
  char p[PATH_MAX + 32];
  for (int i = 0; i < 40; i++)
    {
      snprintf (p, sizeof p, "%s/f%02d", tmp, i);
      int fd = open (p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0)
        return -1;
      close (fd);
    }
  snprintf (p, sizeof p, "%s/dir", tmp);
  if (mkdir (p, 0755) < 0)
    return -1;
  if (node_table_init (16) < 0)
    return -1;
  memset (&view, 0, sizeof view);
  view.name = "test";
  view.ops = &hooks;
  view.root_fd = open (tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  root = node_new_dir (NULL, "", 0755);
  vroot = root ? node_new_view_root (root, "w", &view) : NULL;
  gone_calls = reopen_calls = 0;
  return vroot ? 0 : -1;
}

static int
teardown (void **state)
{
  node_table_destroy ();
  node_free_tree (root);
  close (view.root_fd);
  return nftw (tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Look NAME up in PARENT as the daemon does: stat it, then get its node. */
static struct node *
lookup (struct node *parent, const char *name)
{
  int pfd = node_fd_get (parent);
  assert_true (pfd >= 0);
  int fd = openat (pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  node_fd_put (parent);
  if (fd < 0)
    return NULL;
  struct stat st;
  assert_int_equal (fstat (fd, &st), 0);
  return node_get_real (parent, name, &st, fd);
}

static void
test_lookup_is_keyed_by_inode (void **state)
{
  struct node *a = lookup (vroot, "f00");
  assert_non_null (a);
  assert_ptr_equal (lookup (vroot, "f00"), a); /* the same inode: the same node */
  assert_true (a != lookup (vroot, "f01"));
  char rel[PATH_MAX];
  assert_int_equal (node_relpath (a, rel, sizeof rel), 3);
  assert_string_equal (rel, "f00");
  struct stat st;
  assert_int_equal (stat (tmp, &st), 0);
  assert_ptr_equal (node_find (&view, a->dev, a->real_ino), a);
}

static void
test_forget_frees_and_calls_the_hook (void **state)
{
  struct node *a = lookup (vroot, "f02");
  dev_t dev = a->dev;
  ino_t ino = a->real_ino;
  struct node_stats before, after;
  node_stats (&before);
  node_forget (a, 1);
  node_stats (&after);
  assert_int_equal (after.nodes, before.nodes - 1);
  assert_null (node_find (&view, dev, ino));
  assert_int_equal (gone_calls, 1);
}

static void
test_rename_moves_the_node (void **state)
{
  struct node *dir = lookup (vroot, "dir");
  struct node *a = lookup (vroot, "f03");
  char from[PATH_MAX + 32], to[PATH_MAX + 32];
  snprintf (from, sizeof from, "%s/f03", tmp);
  snprintf (to, sizeof to, "%s/dir/moved", tmp);
  assert_int_equal (rename (from, to), 0);
  node_moved (&view, a->dev, a->real_ino, dir, "moved");
  char rel[PATH_MAX];
  node_relpath (a, rel, sizeof rel);
  assert_string_equal (rel, "dir/moved");
  assert_ptr_equal (a->parent, dir);
  /* its fd is reopened by its new path through the view's hook */
  int fd = node_fd_get (a);
  assert_true (fd >= 0);
  node_fd_put (a);
}

static void
test_fd_cache_is_bounded (void **state)
{
  char name[16];
  struct node *n[40];
  for (int i = 0; i < 40; i++)
    {
      snprintf (name, sizeof name, "f%02d", i);
      n[i] = lookup (vroot, name);
      assert_non_null (n[i]);
      int fd = node_fd_get (n[i]);
      assert_true (fd >= 0);
      node_fd_put (n[i]);
    }
  struct node_stats s;
  node_stats (&s);
  assert_true (s.fds_cached <= 16);
  /* an evicted node's fd comes back through the view's reopen */
  int before = reopen_calls;
  int fd = node_fd_get (n[0]);
  assert_true (fd >= 0);
  node_fd_put (n[0]);
  assert_int_equal (reopen_calls, before + 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_lookup_is_keyed_by_inode, setup, teardown),
    cmocka_unit_test_setup_teardown (test_forget_frees_and_calls_the_hook, setup, teardown),
    cmocka_unit_test_setup_teardown (test_rename_moves_the_node, setup, teardown),
    cmocka_unit_test_setup_teardown (test_fd_cache_is_bounded, setup, teardown),
  };
  return unit_run (tests);
}
