/* test_blacklist.c - default patterns, validation, name and path matching. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blacklist.h"

#include "alloc_count.h"

static const char *const required_defaults[] = {
  ".ssh", ".gnupg", ".aws", ".env", ".env.*", "*.pem", "*.key", "id_rsa*", "id_ed25519*",
  "id_ecdsa*", ".netrc", ".git-credentials", ".npmrc", ".pypirc", "**/.docker/config.json",
  "**/.kube/config", ".azure", "**/.config/gcloud", "*.p12", "*.pfx", ".pgpass", "id_dsa*",
};

static bool
in_defaults (const char *p)
{
  for (const char *const *d = blacklist_defaults; *d; d++)
    if (strcmp (*d, p) == 0)
      return true;
  return false;
}

static void
test_defaults (void **state)
{
  for (size_t i = 0; i < N_ELEMS (required_defaults); i++)
    if (!in_defaults (required_defaults[i]))
      fail_msg ("default pattern \"%s\" is missing", required_defaults[i]);
  /* Every default is itself a valid pattern, and none is listed twice. */
  for (const char *const *d = blacklist_defaults; *d; d++)
    {
      struct cage_error err = { 0 };
      if (blacklist_check_pattern (*d, &err) < 0)
        fail_msg ("default \"%s\": %s", *d, err.msg);
      for (const char *const *e = d + 1; *e; e++)
        if (strcmp (*d, *e) == 0)
          fail_msg ("default \"%s\" is listed twice", *d);
    }
}

static void
test_init_defaults_only (void **state)
{
  struct blacklist bl;
  struct cage_error err = { 0 };
  assert_int_equal (blacklist_init (&bl, NULL, true, &err), 0);
  size_t n = 0;
  while (blacklist_defaults[n])
    n++;
  assert_int_equal (bl.n, n);
  assert_true (bl.has_paths); /* "**" "/.docker/config.json" */
  for (size_t i = 0; i < n; i++)
    assert_string_equal (bl.patterns[i], blacklist_defaults[i]);
  assert_null (bl.patterns[n]);
  blacklist_free (&bl);
  assert_null (bl.patterns);
  assert_int_equal (bl.n, 0);
  blacklist_free (&bl); /* twice is harmless */
}

static void
test_init_extra (void **state)
{
  char *extra[] = { "*.secret", "config/credentials.json", ".ssh", "*.secret", NULL };
  struct blacklist bl;
  struct cage_error err = { 0 };
  /* (defaults without a negation: a repeat after one is kept) */
  static const char *const defaults[] = { ".ssh", "*.pem", "*.key", NULL };
  assert_int_equal (blacklist_init_with (&bl, defaults, extra, &err), 0);
  size_t n = 0;
  while (defaults[n])
    n++;
  /* Defaults first, then the extras, duplicates dropped. */
  assert_int_equal (bl.n, n + 2);
  assert_string_equal (bl.patterns[n], "*.secret");
  assert_string_equal (bl.patterns[n + 1], "config/credentials.json");
  assert_null (bl.patterns[n + 2]);
  assert_true (blacklist_match_name (&bl, "db.secret"));
  /* A '/' in the middle anchors to the root, as in git. */
  assert_true (blacklist_match_path (&bl, "config/credentials.json"));
  assert_false (blacklist_match_path (&bl, "app/config/credentials.json"));
  assert_false (blacklist_match_path (&bl, "credentials.json"));
  blacklist_free (&bl);
}

struct bad_pattern
{
  const char *pattern;
  const char *msg; /* from blacklist_init */
};

static const struct bad_pattern bad_patterns[] = {
  { "", "blacklist pattern \"\": the pattern is empty; remove it or write a glob such as "
        "\"*.secret\"" },
  { "#x", "blacklist pattern \"#x\": a pattern starting with '#' would be a comment in a "
          ".gitignore; write \"\\#...\" for a name that starts with '#'" },
  { "!", "blacklist pattern \"!\": the pattern names nothing; write a glob such as "
         "\"*.secret\" or \"/build/\"" },
  { "/", "blacklist pattern \"/\": the pattern names nothing; write a glob such as "
         "\"*.secret\" or \"/build/\"" },
  { "a//b", "blacklist pattern \"a//b\": the pattern has an empty component (\"//\"); write "
            "a single '/' between components" },
  { "a/../b", "blacklist pattern \"a/../b\": the pattern has a \"..\" component; patterns "
              "match paths inside the view, which never contain \"..\"" },
  { "..", "blacklist pattern \"..\": the pattern has a \"..\" component; patterns match paths "
          "inside the view, which never contain \"..\"" },
  { "./x", "blacklist pattern \"./x\": the pattern has a \".\" component; remove it" },
  { "x/.", "blacklist pattern \"x/.\": the pattern has a \".\" component; remove it" },
};

static void
test_bad_patterns (void **state)
{
  for (size_t i = 0; i < N_ELEMS (bad_patterns); i++)
    {
      char *extra[] = { "*.ok", (char *) bad_patterns[i].pattern, NULL };
      struct blacklist bl;
      struct cage_error err = { 0 };
      assert_int_equal (blacklist_init (&bl, extra, true, &err), -1);
      assert_string_equal (err.msg, bad_patterns[i].msg);
      assert_int_equal (err.errnum, 0);
      assert_null (bl.patterns);
      blacklist_free (&bl);
    }
}

static void
test_good_patterns (void **state)
{
  static const char *const good[] = { "x", "..x", "x..", ".x.", "a/b", "*/.env", "[ab]/c",
                                      "a.../b", "/etc/secret", ".ssh/", "!keep", "**/x", "a/**", "\\#x" };
  for (size_t i = 0; i < N_ELEMS (good); i++)
    {
      struct cage_error err = { 0 };
      if (blacklist_check_pattern (good[i], &err) < 0)
        fail_msg ("\"%s\" rejected: %s", good[i], err.msg);
    }
}

struct match_case
{
  const char *relpath;
  bool hidden;
};

/* Against the defaults plus the extras of test_match_path. */
static const struct match_case match_cases[] = {
  /* Names, at any depth. */
  { ".ssh", true },
  { "home/u/.ssh", true },
  { ".ssh2", false },
  { "x.ssh", false },
  { ".env", true },
  { "deep/dir/.env", true },
  { ".env.local", true },
  { ".env.production.local", true },
  { ".envrc", false },
  { "env", false },
  { "server.pem", true },
  { ".pem", true }, /* no FNM_PERIOD: '*' matches a leading dot */
  { "pem", false },
  { "server.pem.txt", false },
  { "tls/server.key", true },
  { "keyboard", false },
  { "id_rsa", true },
  { "id_rsa.pub", true },
  { "my_id_rsa", false },
  { "id_ed25519", true },
  { "id_ecdsa_sk", true },
  { "id_dsa", true },
  { ".netrc", true },
  { ".git-credentials", true },
  { ".gitconfig", false },
  { ".npmrc", true },
  { ".pypirc", true },
  { "cert.p12", true },
  { "cert.pfx", true },
  { ".pgpass", true },
  { ".aws", true },
  { ".gnupg", true },
  { ".azure", true },
  { "db.secret", true },
  { "secret", false },
  /* Defaults with "**": at any depth, at component boundaries. */
  { ".docker/config.json", true },
  { "a/b/.docker/config.json", true },
  { "x.docker/config.json", false },
  { "a/x.docker/config.json", false },
  { ".docker/config.json.bak", false },
  { "config.json", false },
  { ".docker", false },
  { ".docker/other.json", false },
  { ".kube/config", true },
  { "home/.kube/config", true },
  { ".kube/config.d", false },
  { "kube/config", false },
  { ".config/gcloud", true },
  { "u/.config/gcloud", true },
  { ".config/gcloudx", false },
  { "build/out.log", true },
  { "src/build/out.log", false }, /* anchored: a '/' in the middle */
  { "build/sub/out.log", false }, /* '*' does not cross '/' */
  { "rebuild/out.log", false },
  { "a/b/c", true },
  { "x/a/b/c", false },
  { "a/b/b/c", false },
  { "a/c", false },
  /* Not hidden. */
  { "src/main.c", false },
  { "README.md", false },
  { "", false },
};

static void
test_match_path (void **state)
{
  char *extra[] = { "*.secret", "build/*.log", "a/*/c", NULL };
  struct blacklist bl;
  struct cage_error err = { 0 };
  assert_int_equal (blacklist_init (&bl, extra, true, &err), 0);
  int failures = 0;
  for (size_t i = 0; i < N_ELEMS (match_cases); i++)
    {
      const struct match_case *c = &match_cases[i];
      if (blacklist_match_path (&bl, c->relpath) != c->hidden)
        {
          printf ("# blacklist_match_path (\"%s\") should be %s\n", c->relpath,
                  c->hidden ? "true" : "false");
          failures++;
        }
      /* A single component: match_name agrees with match_path. */
      if (!strchr (c->relpath, '/') && blacklist_match_name (&bl, c->relpath) != c->hidden)
        {
          printf ("# blacklist_match_name (\"%s\") should be %s\n", c->relpath,
                  c->hidden ? "true" : "false");
          failures++;
        }
    }
  blacklist_free (&bl);
  assert_int_equal (failures, 0);
}

/* blacklist_match_name ignores patterns with '/'. */
static void
test_match_name_only_names (void **state)
{
  char *extra[] = { "dir/name", NULL };
  struct blacklist bl;
  struct cage_error err = { 0 };
  assert_int_equal (blacklist_init (&bl, extra, true, &err), 0);
  assert_false (blacklist_match_name (&bl, "name"));
  assert_false (blacklist_match_name (&bl, "config.json"));
  assert_true (blacklist_match_path (&bl, "dir/name"));
  assert_false (blacklist_match_name (NULL, ".ssh"));
  assert_false (blacklist_match_path (NULL, ".ssh"));
  blacklist_free (&bl);
}

/* gitignore(5) semantics, one small list of patterns per case; most cases
   are the examples of git's own documentation. */
struct gi_case
{
  const char *patterns; /* '\n'-separated, in order */
  const char *path;
  bool is_dir;
  bool hidden;
};

static const struct gi_case gi_cases[] = {
  /* "hello.*" matches any file or folder whose name begins with "hello." */
  { "hello.*", "hello.txt", false, true },
  { "hello.*", "a/b/hello.c", false, true },
  { "hello.*", "a/hello.d", true, true },
  { "hello.*", "hello", false, false },
  /* "/hello.*" only in the root */
  { "/hello.*", "hello.txt", false, true },
  { "/hello.*", "a/hello.c", false, false },
  /* "doc/frotz/": the folder doc/frotz, not a/doc/frotz; "frotz/" any folder */
  { "doc/frotz/", "doc/frotz", true, true },
  { "doc/frotz/", "a/doc/frotz", true, false },
  { "doc/frotz/", "doc/frotz", false, false },
  { "frotz/", "frotz", true, true },
  { "frotz/", "a/frotz", true, true },
  { "frotz/", "a/frotz", false, false },
  /* "foo/" matches a folder foo, not a file foo */
  { "foo/", "foo", false, false },
  { "foo/", "foo", true, true },
  /* "doc/frotz" and "/doc/frotz" are the same */
  { "doc/frotz", "doc/frotz", false, true },
  { "/doc/frotz", "doc/frotz", false, true },
  { "doc/frotz", "x/doc/frotz", false, false },
  // "foo/*" matches foo/test.json and foo/bar, not foo/bar/hello.c
  { "foo/*", "foo/test.json", false, true },
  { "foo/*", "foo/bar", true, true },
  { "foo/*", "foo/bar/hello.c", false, false },
  { "foo/*", "foo", true, false },
  /* "**" at the start: in every folder */
  { "**/foo", "foo", false, true },
  { "**/foo", "a/b/foo", false, true },
  { "**/foo/bar", "foo/bar", false, true },
  { "**/foo/bar", "x/foo/bar", false, true },
  { "**/foo/bar", "x/foo/y/bar", false, false },
  // "abc/**": everything inside abc, not abc itself
  { "abc/**", "abc/x", false, true },
  { "abc/**", "abc/x/y/z", false, true },
  { "abc/**", "abc", true, false },
  { "abc/**", "x/abc/y", false, false },
  // "a/**/b": zero or more folders between
  { "a/**/b", "a/b", false, true },
  { "a/**/b", "a/x/b", false, true },
  { "a/**/b", "a/x/y/b", false, true },
  { "a/**/b", "a/x/y/c", false, false },
  { "a/**/b", "x/a/b", false, false },
  /* other consecutive asterisks are plain '*' */
  { "foo**bar", "fooXbar", false, true },
  { "foo**bar", "foo/bar", false, false },
  /* "?" and sets never match '/' */
  { "a?c", "abc", false, true },
  { "/a?c", "a/c", false, false },
  { "[a-c].txt", "b.txt", false, true },
  { "[a-c].txt", "d.txt", false, false },
  { "[!a-c].txt", "d.txt", false, true },
  { "[!a-c].txt", "a.txt", false, false },
  /* "!" re-includes; the last matching pattern decides */
  { "*.log\n!important.log", "important.log", false, false },
  { "*.log\n!important.log", "a.log", false, true },
  { "!important.log\n*.log", "important.log", false, true },
  { "*.key\n!public/*.key", "public/a.key", false, false },
  { "*.key\n!public/*.key", "private/a.key", false, true },
  { "*.key\n!public/*.key", "x/public/a.key", false, true },
  /* a backslash quotes */
  { "\\!important", "!important", false, true },
  { "\\#x", "#x", false, true },
  { "\\*", "*", false, true },
  { "\\*", "a", false, false },
  /* a leading '*' matches a leading dot (no FNM_PERIOD, as git) */
  { "*.pem", ".pem", false, true },
  /* a name pattern matches folders too */
  { "secrets", "a/secrets", true, true },
};

static void
test_gitignore_table (void **state)
{
  int failures = 0;
  for (size_t i = 0; i < N_ELEMS (gi_cases); i++)
    {
      const struct gi_case *c = &gi_cases[i];
      char buf[256];
      snprintf (buf, sizeof buf, "%s", c->patterns);
      char *extra[8];
      size_t n = 0;
      for (char *save = NULL, *t = strtok_r (buf, "\n", &save); t && n < 7;
           t = strtok_r (NULL, "\n", &save))
        extra[n++] = t;
      extra[n] = NULL;
      struct blacklist bl;
      struct cage_error err = { 0 };
      if (blacklist_init (&bl, extra, false, &err) < 0)
        {
          printf ("# patterns \"%s\": %s\n", c->patterns, err.msg);
          failures++;
          continue;
        }
      if (blacklist_match (&bl, c->path, c->is_dir) != c->hidden)
        {
          printf ("# patterns \"%s\", %s \"%s\": should be %s\n", c->patterns,
                  c->is_dir ? "folder" : "file", c->path, c->hidden ? "hidden" : "visible");
          failures++;
        }
      blacklist_free (&bl);
    }
  assert_int_equal (failures, 0);
}

/* Without defaults nothing is hidden but what is asked. */
static void
test_no_defaults (void **state)
{
  char *extra[] = { "*.secret", NULL };
  struct blacklist bl;
  struct cage_error err = { 0 };
  assert_int_equal (blacklist_init (&bl, extra, false, &err), 0);
  assert_int_equal (bl.n, 1);
  assert_false (blacklist_match_name (&bl, ".env"));
  assert_true (blacklist_match_name (&bl, "a.secret"));
  assert_int_equal (blacklist_which (&bl, "a.secret", false), 0);
  assert_int_equal (blacklist_which (&bl, "a.txt", false), -1);
  blacklist_free (&bl);
}

static void
test_match_does_not_allocate (void **state)
{
  char *extra[] = { "*.secret", "build/*.log", NULL };
  struct blacklist bl;
  struct cage_error err = { 0 };
  assert_int_equal (blacklist_init (&bl, extra, true, &err), 0);
  /* The wrapper is live: blacklist_init itself allocates. */
  alloc_count = 0;
  alloc_watch = true;
  char *probe = strdup ("probe");
  alloc_watch = false;
  free (probe);
  assert_int_equal (alloc_count, 1);

  alloc_count = 0;
  alloc_watch = true;
  bool r = false;
  for (size_t i = 0; i < N_ELEMS (match_cases); i++)
    {
      r |= blacklist_match_path (&bl, match_cases[i].relpath);
      r |= blacklist_match_name (&bl, match_cases[i].relpath);
    }
  alloc_watch = false;
  assert_true (r);
  assert_int_equal (alloc_count, 0);
  blacklist_free (&bl);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults),
    cmocka_unit_test (test_init_defaults_only),
    cmocka_unit_test (test_init_extra),
    cmocka_unit_test (test_bad_patterns),
    cmocka_unit_test (test_good_patterns),
    cmocka_unit_test (test_match_path),
    cmocka_unit_test (test_match_name_only_names),
    cmocka_unit_test (test_gitignore_table),
    cmocka_unit_test (test_no_defaults),
    cmocka_unit_test (test_match_does_not_allocate),
  };
  return unit_run (tests);
}
