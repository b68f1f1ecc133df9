/* test_gitconfig.c - git config text read as git reads it: the keys that
   make git run a program are found, however they are spelled. */
#include "unit.h"

#include <string.h>

#include "gitconfig.h"

static bool
safe (const char *text, char *key)
{
  return gitconfig_runs_nothing (text, strlen (text), key, 256);
}

/* What `git clone` and `git init` write, and ordinary agent settings. */
static void
test_ordinary_configs_pass (void **state)
{
  char key[256];
  assert_true (safe ("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
                     "\tlogallrefupdates = true\n[remote \"origin\"]\n\turl = /workspace/up.git\n"
                     "\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n"
                     "\tremote = origin\n\tmerge = refs/heads/main\n",
                     key));
  assert_true (safe ("[user]\n name = Agent\n email = a@example.org\n", key));
  assert_true (safe ("[core]\n fsmonitor = false\n", key));
  assert_true (safe ("[alias]\n st = status -sb\n", key));
  assert_true (safe ("", key));
  /* what git cannot parse runs nothing */
  assert_true (safe ("Host example\n  ProxyCommand evil\n", key));
  assert_true (safe ("[core\nfsmonitor = evil\n", key));
}

static void
expect_key (const char *text, const char *want)
{
  char key[256] = "";
  assert_false (safe (text, key));
  assert_string_equal (key, want);
}

static void
test_program_keys_found (void **state)
{
  expect_key ("[core]\n\tfsmonitor = /tmp/x\n", "core.fsmonitor");
  expect_key ("[core]\n\thooksPath = /tmp\n", "core.hookspath");
  expect_key ("[core]\n\tsshCommand = x\n", "core.sshcommand");
  expect_key ("[core]\n\tpager = x\n", "core.pager");
  expect_key ("[core]\n\teditor = x\n", "core.editor");
  expect_key ("[core]\n\taskPass = x\n", "core.askpass");
  expect_key ("[sequence]\n\teditor = x\n", "sequence.editor");
  expect_key ("[diff \"x\"]\n\ttextconv = x\n", "diff.x.textconv");
  expect_key ("[diff \"x\"]\n\tcommand = x\n", "diff.x.command");
  expect_key ("[diff]\n\texternal = x\n", "diff.external");
  expect_key ("[merge \"m\"]\n\tdriver = x\n", "merge.m.driver");
  expect_key ("[filter \"f\"]\n\tclean = x\n", "filter.f.clean");
  expect_key ("[filter \"f\"]\n\tsmudge = x\n", "filter.f.smudge");
  expect_key ("[filter \"f\"]\n\tprocess = x\n", "filter.f.process");
  expect_key ("[credential]\n\thelper = x\n", "credential.helper");
  expect_key ("[credential \"https://h\"]\n\thelper = x\n", "credential.https://h.helper");
  expect_key ("[alias]\n\tx = !sh -c evil\n", "alias.x");
  expect_key ("[uploadpack]\n\tpackObjectsHook = x\n", "uploadpack.packobjectshook");
  expect_key ("[gpg]\n\tprogram = x\n", "gpg.program");
  expect_key ("[gpg \"ssh\"]\n\tprogram = x\n", "gpg.ssh.program");
  expect_key ("[include]\n\tpath = ../x\n", "include.path");
  expect_key ("[includeIf \"gitdir:/\"]\n\tpath = /etc/x\n", "includeif.gitdir:/.path");
  expect_key ("[pager]\n\tlog = x\n", "pager.log");
  expect_key ("[core]\n\tworktree = /home\n", "core.worktree");
  expect_key ("[submodule \"s\"]\n\tupdate = !evil\n", "submodule.s.update");
  expect_key ("[protocol \"ext\"]\n\tallow = always\n", "protocol.ext.allow");
  expect_key ("[hook \"h\"]\n\tevent = pre-commit\n", "hook.h.event");
}

/* Every way git spells the same key. */
static void
test_spellings (void **state)
{
  expect_key ("[CORE]\n\tFSMonitor = x\n", "core.fsmonitor");
  expect_key ("[core] fsmonitor = x\n", "core.fsmonitor");         /* same line */
  expect_key ("[core]fsmonitor=x", "core.fsmonitor");              /* no newline at the end */
  expect_key ("[core]\r\n\tfsmonitor = x\r\n", "core.fsmonitor"); /* CRLF */
  expect_key ("\xef\xbb\xbf[core]\nfsmonitor = x\n", "core.fsmonitor"); /* BOM */
  expect_key ("[diff.x]\n\ttextconv = x\n", "diff.x.textconv");     /* old subsection form */
  expect_key ("[diff \"X\\\"y\"]\n\ttextconv = x\n", "diff.X\"y.textconv");
  expect_key ("# c\n; c\n[core] ; c\n\tfsmonitor = \"a b\" # c\n", "core.fsmonitor");
  expect_key ("[alias]\n\tx = \"!evil\"\n", "alias.x");              /* quoted */
  expect_key ("[alias]\n\tx = \\\n!evil\n", "alias.x");              /* continued line */
}

/* A bare "fsmonitor" key is true (the built-in daemon): allowed, and the
   keys after it are still read. */
static void
test_reads_past_harmless_keys (void **state)
{
  char key[256];
  assert_true (safe ("[core]\n\tfsmonitor\n", key));
  expect_key ("[core]\n\tfsmonitor\n\tbare = false\n[core]\n\tpager = x\n", "core.pager");
  /* a quote left open at the line end: git refuses the whole file */
  assert_true (safe ("[a]\nb = \"x\ny\" \n[core]\npager = x\n", key));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ordinary_configs_pass),
    cmocka_unit_test (test_program_keys_found),
    cmocka_unit_test (test_spellings),
    cmocka_unit_test (test_reads_past_harmless_keys),
  };
  return unit_run (tests);
}
