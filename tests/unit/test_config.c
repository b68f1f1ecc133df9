/* test_config.c - cage.json: values, merging, and FILE:LINE:COLUMN errors. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "presets.h"
#include "suggest.h"

/* ---- valid documents ------------------------------------------------ */

static void
test_defaults (void **state)
{
  struct cage_config cfg;
  config_init (&cfg);
  assert_int_equal (cfg.mode, STORE_READONLY);
  assert_int_equal (cfg.network, NETWORK_OFF);
  assert_int_equal (cfg.n_packages, 0);
  assert_int_equal (cfg.n_blacklist, 0);

  struct cage_error err = { 0 };
  assert_int_equal (config_load_string (&cfg, "{}", "cage.json", &err), 0);
  assert_int_equal (cfg.mode, STORE_READONLY);
  assert_int_equal (cfg.network, NETWORK_OFF);
  assert_int_equal (cfg.n_packages, 0);
  config_free (&cfg);
}

static void
test_full (void **state)
{
  static const char text[] = "{\n"
                             "  \"store\": {\n"
                             "    \"mode\": \"shared\",\n"
                             "    \"packages\": [\"/nix/store/aaa-x\", \"/nix/store/bbb-y\"]\n"
                             "  },\n"
                             "  \"blacklist\": [\"*.secret\", \"config/creds.json\"],\n"
                             "  \"network\": \"host\"\n"
                             "}\n";
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_string (&cfg, text, "cage.json", &err), 0);
  assert_int_equal (cfg.mode, STORE_SHARED);
  assert_int_equal (cfg.network, NETWORK_HOST);
  assert_int_equal (cfg.n_packages, 2);
  assert_string_equal (cfg.packages[0], "/nix/store/aaa-x");
  assert_string_equal (cfg.packages[1], "/nix/store/bbb-y");
  assert_null (cfg.packages[2]);
  assert_int_equal (cfg.n_blacklist, 2);
  assert_string_equal (cfg.blacklist[0], "*.secret");
  assert_string_equal (cfg.blacklist[1], "config/creds.json");
  assert_null (cfg.blacklist[2]);
  config_free (&cfg);
  assert_null (cfg.packages);
  assert_int_equal (cfg.n_packages, 0);
  assert_int_equal (cfg.mode, STORE_READONLY);
}

/* Loading merges: lists are appended (without duplicates), scalars are set
   only when present. */
static void
test_merge (void **state)
{
  struct cage_config cfg;
  config_init (&cfg);
  cfg.network = NETWORK_HOST;
  assert_int_equal (config_add_package (&cfg, "/nix/store/p0"), 0);
  assert_int_equal (config_add_blacklist (&cfg, "*.a"), 0);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_string (&cfg, "{\"store\": {\"packages\": [\"/nix/store/p1\", "
                                        "\"/nix/store/p0\"]}, \"blacklist\": [\"*.a\", \"*.b\"]}",
                                        "cage.json", &err), 0);
  assert_int_equal (cfg.network, NETWORK_HOST); /* not in the file: kept */
  assert_int_equal (cfg.n_packages, 2);
  assert_string_equal (cfg.packages[0], "/nix/store/p0");
  assert_string_equal (cfg.packages[1], "/nix/store/p1");
  assert_null (cfg.packages[2]);
  assert_int_equal (cfg.n_blacklist, 2);
  assert_string_equal (cfg.blacklist[1], "*.b");
  /* Flags after the file. */
  assert_int_equal (config_add_package (&cfg, "/nix/store/p2"), 0);
  assert_int_equal (config_add_package (&cfg, "/nix/store/p2"), 0);
  assert_int_equal (cfg.n_packages, 3);
  assert_null (cfg.packages[3]);
  config_free (&cfg);
}

/* "blacklist": {"scan": true}: off by default, on from the object form. */
static void
test_blacklist_scan (void **state)
{
  struct cage_config cfg;
  config_init (&cfg);
  assert_false (cfg.blacklist_scan);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_string (&cfg, "{\"blacklist\": [\"*.a\"]}", "cage.json", &err), 0);
  assert_false (cfg.blacklist_scan);
  assert_int_equal (config_load_string (&cfg, "{\"blacklist\": {\"scan\": false}}", "cage.json",
                                        &err), 0);
  assert_false (cfg.blacklist_scan);
  assert_int_equal (config_load_string (&cfg, "{\"blacklist\": {\"scan\": true, \"patterns\": "
                                        "[\"*.b\"]}}", "cage.json", &err), 0);
  assert_true (cfg.blacklist_scan);
  assert_false (cfg.blacklist_no_defaults);
  assert_int_equal (cfg.n_blacklist, 2);
  config_free (&cfg);
}

/* A file with an error changes nothing, even after a valid key. */
static void
test_error_leaves_config_alone (void **state)
{
  struct cage_config cfg;
  config_init (&cfg);
  assert_int_equal (config_add_package (&cfg, "/nix/store/p0"), 0);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_string (&cfg, "{\"network\": \"host\", \"store\": {\"packages\": "
                                        "[\"/nix/store/p1\"], \"mode\": \"copyy\"}}",
                                        "cage.json", &err), -1);
  assert_int_equal (cfg.network, NETWORK_OFF);
  assert_int_equal (cfg.mode, STORE_READONLY);
  assert_int_equal (cfg.n_packages, 1);
  assert_null (cfg.packages[1]);
  config_free (&cfg);
}

static void
test_env_and_limits (void **state)
{
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_string (&cfg, "{\"env\": {\"pass\": [\"EDITOR\", \"http_proxy\"], "
                                        "\"set\": {\"CI\": \"1\", \"X\": \"a=b c\"}}, "
                                        "\"limits\": {\"memory\": \"512M\", \"cpus\": 1.5, "
                                        "\"pids\": 256, \"nofile\": 1024}}", "cage.json", &err), 0);
  assert_int_equal (cfg.n_env_pass, 2);
  assert_string_equal (cfg.env_pass[1], "http_proxy");
  assert_int_equal (cfg.n_env_set, 2);
  assert_string_equal (cfg.env_set[0], "CI=1");
  assert_string_equal (cfg.env_set[1], "X=a=b c");
  assert_true (cfg.limits.memory == 512ULL << 20);
  assert_true (cfg.limits.cpus == 1.5);
  assert_int_equal (cfg.limits.pids, 256);
  assert_int_equal (cfg.limits.nofile, 1024);
  /* Flags come later and win; a file's limits stay when it names none. */
  assert_int_equal (config_add_env_set (&cfg, "CI=0", &err), 0);
  assert_string_equal (cfg.env_set[0], "CI=0");
  assert_int_equal (config_add_env_set (&cfg, "EMPTY=", &err), 0);
  assert_string_equal (cfg.env_set[2], "EMPTY=");
  assert_int_equal (config_load_string (&cfg, "{\"limits\": {\"memory\": 1048576}}",
                                        "cage.json", &err), 0);
  assert_true (cfg.limits.memory == 1048576);
  assert_int_equal (cfg.limits.pids, 256);
  assert_int_equal (config_add_env_set (&cfg, "1X=y", &err), -1);
  assert_string_equal (err.msg, "environment variable name \"1X\" is invalid; use letters, "
                       "digits and _, not starting with a digit");
  assert_int_equal (config_add_env_set (&cfg, "NOEQUALS", &err), -1);
  assert_int_equal (config_add_env_pass (&cfg, "A-B", &err), -1);
  assert_int_equal (config_add_env_pass (&cfg, "", &err), -1);
  assert_int_equal (config_add_env_pass (&cfg, "_ok9", &err), 0);
  config_free (&cfg);
}

static void
test_hooks (void **state)
{
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  for (int h = 0; h < HOOK_COUNT; h++)
    assert_null (cfg.hooks[h]);
  assert_int_equal (config_load_string (&cfg, "{\"hooks\": {\"pre-mount\": \"make prep\", "
                                        "\"post-umount\": \"echo 'bye'\"}}", "cage.json", &err), 0);
  assert_string_equal (cfg.hooks[HOOK_PRE_MOUNT], "make prep");
  assert_null (cfg.hooks[HOOK_POST_MOUNT]);
  assert_null (cfg.hooks[HOOK_PRE_UMOUNT]);
  assert_string_equal (cfg.hooks[HOOK_POST_UMOUNT], "echo 'bye'");
  /* A later file replaces a hook it names and keeps the others. */
  assert_int_equal (config_load_string (&cfg, "{\"hooks\": {\"pre-mount\": \"true\"}}",
                                        "cage.json", &err), 0);
  assert_string_equal (cfg.hooks[HOOK_PRE_MOUNT], "true");
  assert_string_equal (cfg.hooks[HOOK_POST_UMOUNT], "echo 'bye'");
  /* A bad file leaves them alone. */
  assert_int_equal (config_load_string (&cfg, "{\"hooks\": {\"pre-mount\": 1}}",
                                        "cage.json", &err), -1);
  assert_string_equal (cfg.hooks[HOOK_PRE_MOUNT], "true");
  assert_string_equal (config_hook_name (HOOK_PRE_UMOUNT), "pre-umount");
  config_free (&cfg);
}

static void
test_limit_flags (void **state)
{
  struct cage_error err = { 0 };
  unsigned long long m = 0;
  assert_int_equal (config_parse_memory ("64M", &m, &err), 0);
  assert_true (m == 64ULL << 20);
  assert_int_equal (config_parse_memory ("2GiB", &m, &err), 0);
  assert_true (m == 2ULL << 30);
  assert_int_equal (config_parse_memory ("4096", &m, &err), 0);
  assert_true (m == 4096);
  assert_int_equal (config_parse_memory ("1k", &m, &err), 0);
  assert_true (m == 1024);
  assert_int_equal (config_parse_memory ("0", &m, &err), -1);
  assert_int_equal (config_parse_memory ("12X", &m, &err), -1);
  assert_string_equal (err.msg, "memory limit \"12X\" is not a size; e.g. \"512M\" or \"2G\" "
                       "(K, M, G, T are powers of 1024)");
  assert_int_equal (config_parse_memory ("-1M", &m, &err), -1);
  assert_int_equal (config_parse_memory ("99999999999T", &m, &err), -1);
  double c = 0;
  assert_int_equal (config_parse_cpus ("0.5", &c, &err), 0);
  assert_true (c == 0.5);
  assert_int_equal (config_parse_cpus ("0", &c, &err), -1);
  assert_int_equal (config_parse_cpus ("nan", &c, &err), -1);
  assert_int_equal (config_parse_cpus ("1x", &c, &err), -1);
  unsigned long n = 0;
  assert_int_equal (config_parse_count ("pids", "20", &n, &err), 0);
  assert_int_equal (n, 20);
  assert_int_equal (config_parse_count ("pids", "0", &n, &err), -1);
  assert_int_equal (config_parse_count ("pids", "-3", &n, &err), -1);
  assert_int_equal (config_parse_count ("nofile", "12a", &n, &err), -1);
  assert_string_equal (err.msg, "nofile \"12a\" is not a positive whole number; e.g. 256");
}

/* ---- errors: one message naming FILE:LINE:COLUMN -------------------- */

struct error_case
{
  const char *text;
  const char *msg;
};

static const struct error_case error_cases[] = {
  /* Unknown keys: the key's position. */
  { "{\n  \"stor\": {}\n}",
    "cage.json:2:3: unknown key \"stor\"; did you mean \"store\"? valid keys: store, blacklist, protected, network, env, limits, hooks, profile, preset, workspace, home" },
  { "{\"network\": \"off\", \"Network\": \"off\"}",
    "cage.json:1:20: unknown key \"Network\"; did you mean \"network\"? valid keys: store, blacklist, protected, network, env, limits, hooks, profile, preset, workspace, home" },
  { "{\"store\": {\"mdoe\": \"shared\"}}",
    "cage.json:1:12: unknown key \"mdoe\" in \"store\"; did you mean \"mode\"? valid keys: mode, "
    "packages, with, expr, cache, nix_daemon" },
  { "{\"netwrok\": \"off\"}",
    "cage.json:1:2: unknown key \"netwrok\"; did you mean \"network\"? valid keys: store, blacklist, protected, network, env, limits, hooks, profile, preset, workspace, home" },
  { "{\"home\": {\"writeable\": []}}",
    "cage.json:1:11: unknown key \"writeable\" in \"home\"; did you mean \"writable\"? valid "
    "keys: mode, host, writable" },
  { "{\"limits\": {\"pid\": 1}}",
    "cage.json:1:13: unknown key \"pid\" in \"limits\"; did you mean \"pids\"? valid keys: "
    "memory, cpus, pids, nofile, workspace_free_min" },
  { "{\"profile\": \"strickt\"}",
    "cage.json:1:13: \"profile\" is \"strickt\"; did you mean \"strict\"? valid choices: "
    "strict, standard, relaxed" },
  { "{\"preset\": \"claude\"}",
    "cage.json:1:12: unknown preset \"claude\"; did you mean \"claude-code\"? valid presets: "
    "claude-code, codex, opencode, "
    "gemini-cli, aider, goose, crush" },
  { "{\"preset\": \"cursor\"}",
    "cage.json:1:12: unknown preset \"cursor\"; valid presets: claude-code, codex, opencode, "
    "gemini-cli, aider, goose, crush" },
  { "{\"preset\": \"codx\"}",
    "cage.json:1:12: unknown preset \"codx\"; did you mean \"codex\"? valid presets: "
    "claude-code, codex, opencode, gemini-cli, aider, goose, crush" },
  { "{\"store\": {\"with\": [\"git\", \"-A\"]}}",
    "cage.json:1:28: \"store.with[1]\": package name \"-A\" is not a Nix attribute name "
    "(letters, digits and _ - ' + ., not starting with - or .), e.g. \"git\" or "
    "\"python312Packages.requests\"" },
  { "{\"store\": {\"expr\": \"../x.nix\"}}",
    "cage.json:1:20: \"store.expr\" is \"../x.nix\"; it must be a path inside the project, "
    "relative to it, e.g. \"nix/tools.nix\"" },
  { "{\"home\": {\"writable\": [\"~/../x\"]}}",
    "cage.json:1:24: \"home.writable[0]\": home path \"~/../x\" must be relative to the home, "
    "without . or .. (a trailing / for a folder), e.g. \"~/.claude/\" or \"~/.claude.json\"" },
  { "{\"workspace\": \"ro\"}",
    "cage.json:1:15: \"workspace\" is \"ro\"; valid choices: read-write, read-only" },
  { "{\"a\\\"b\\n\": 1}",
    "cage.json:1:2: unknown key \"a\\\"b\\n\"; valid keys: store, blacklist, protected, network, env, limits, hooks, profile, preset, workspace, home" },
  /* env, limits */
  { "{\"env\": {\"pass\": [\"A-B\"]}}",
    "cage.json:1:19: \"env.pass[0]\" is \"A-B\", not a variable name; use letters, digits "
    "and _, not starting with a digit" },
  { "{\"env\": {\"set\": {\"9\": \"x\"}}}",
    "cage.json:1:18: \"9\" is not a variable name; use letters, digits and _, not starting "
    "with a digit" },
  { "{\"env\": {\"set\": {\"A\": 1}}}",
    "cage.json:1:23: \"env.set.A\" must be a string, not a number" },
  { "{\"env\": {\"keep\": []}}",
    "cage.json:1:10: unknown key \"keep\" in \"env\"; valid keys: pass, set" },
  { "{\"limits\": {\"memory\": \"lots\"}}",
    "cage.json:1:23: \"limits.memory\" is \"lots\", not a size; e.g. \"512M\" or \"2G\" "
    "(K, M, G, T are powers of 1024)" },
  { "{\"limits\": {\"pids\": 0}}",
    "cage.json:1:21: \"limits.pids\" must be a positive whole number, e.g. 256" },
  { "{\"limits\": {\"cpus\": \"2\"}}",
    "cage.json:1:21: \"limits.cpus\" must be a positive number of CPUs, e.g. 1.5" },
  { "{\"limits\": {\"swap\": 1}}",
    "cage.json:1:13: unknown key \"swap\" in \"limits\"; valid keys: "
    "memory, cpus, pids, nofile, workspace_free_min" },
  /* hooks */
  { "{\"hooks\": {\"post-mount\": \"true\", \"on-mount\": \"x\"}}",
    "cage.json:1:34: unknown key \"on-mount\" in \"hooks\"; valid "
    "keys: pre-mount, post-mount, "
    "pre-umount, post-umount" },
  { "{\"hooks\": {\"pre-mount\": [\"make\"]}}",
    "cage.json:1:25: \"hooks.pre-mount\" must be a shell command string, not an array; "
    "e.g. \"echo mounted\"" },
  { "{\"hooks\": {\"pre-umount\": \"\"}}",
    "cage.json:1:26: \"hooks.pre-umount\" must be a shell command string, not an empty "
    "string; e.g. \"echo mounted\"" },
  { "{\"hooks\": \"make\"}",
    "cage.json:1:11: \"hooks\" must be an object, not a string; e.g. \"hooks\": "
    "{\"post-mount\": \"echo mounted\"}" },
  /* store.mode */
  { "{\n  \"store\": {\n    \"mode\": \"copyy\"\n  }\n}",
    "cage.json:3:13: \"store.mode\" is \"copyy\"; valid choices: readonly, shared, copy, isolated" },
  { "{\"store\": {\"cache\": \"ftp://x\"}}",
    "cage.json:1:21: \"store.cache\" is \"ftp://x\"; a binary cache URL starts with file://, "
    "http:// or https://" },
  { "{\"store\": {\"cache\": 1}}",
    "cage.json:1:21: \"store.cache\" must be a binary cache URL string, not a number; e.g. "
    "\"file:///srv/nix-cache\" or \"https://cache.nixos.org\"" },
  { "{\"store\": {\"nix_daemon\": \"yes\"}}",
    "cage.json:1:26: \"store.nix_daemon\" must be true, false or \"unsandboxed\", not \"yes\"" },
  { "{\"store\": {\"nix_daemon\": 1}}",
    "cage.json:1:26: \"store.nix_daemon\" must be true, false or \"unsandboxed\", not a number" },
  { "{\"store\": {\"mode\": \"ReadOnly\"}}",
    "cage.json:1:20: \"store.mode\" is \"ReadOnly\"; valid choices: readonly, shared, copy, isolated" },
  { "{\"store\": {\"mode\": 3}}",
    "cage.json:1:20: \"store.mode\" must be a string, not a number; valid choices: "
    "readonly, shared, copy, isolated" },
  { "{\"store\": {\"mode\": null}}",
    "cage.json:1:20: \"store.mode\" must be a string, not null; valid choices: "
    "readonly, shared, copy, isolated" },
  /* store */
  { "{\"store\": []}",
    "cage.json:1:11: \"store\" must be an object, not an array; e.g. \"store\": {\"mode\": "
    "\"readonly\", \"packages\": [\"/nix/store/<hash>-<name>\"]}" },
  { "{\"store\": \"shared\"}",
    "cage.json:1:11: \"store\" must be an object, not a string; e.g. \"store\": {\"mode\": "
    "\"readonly\", \"packages\": [\"/nix/store/<hash>-<name>\"]}" },
  /* store.packages */
  { "{\"store\": {\"packages\": \"/nix/store/x\"}}",
    "cage.json:1:24: \"store.packages\" must be an array of store paths, not a string; "
    "e.g. [\"/nix/store/<hash>-<name>\"]" },
  { "{\"store\": {\"packages\": [\n  \"/nix/store/a\",\n  42\n]}}",
    "cage.json:3:3: \"store.packages[1]\" must be a string, not a number; "
    "e.g. \"/nix/store/<hash>-<name>\"" },
  { "{\"store\": {\"packages\": [\"nix/store/a\"]}}",
    "cage.json:1:25: \"store.packages[0]\" is \"nix/store/a\"; store paths must be absolute, "
    "e.g. \"/nix/store/<hash>-<name>\"" },
  { "{\"store\": {\"packages\": [\"/nix/store/a\", \"\"]}}",
    "cage.json:1:41: \"store.packages[1]\" is \"\"; store paths must be absolute, "
    "e.g. \"/nix/store/<hash>-<name>\"" },
  /* blacklist */
  { "{\"blacklist\": \"*.pem\"}",
    "cage.json:1:15: \"blacklist\" must be an array of globs (or an object with \"defaults\" "
    "and \"patterns\"), not a string; e.g. [\"*.secret\", \"/config/credentials.json\"]" },
  { "{\"blacklist\": {\"defaults\": 1}}",
    "cage.json:1:28: \"blacklist.defaults\" must be true or false, not a number" },
  { "{\"blacklist\": {\"default\": false}}",
    "cage.json:1:16: unknown key \"default\" in \"blacklist\"; did you mean \"defaults\"? valid "
    "keys: defaults, patterns, scan" },
  { "{\"blacklist\": {\"scan\": \"yes\"}}",
    "cage.json:1:24: \"blacklist.scan\" must be true or false, not a string" },
  { "{\"protected\": {\"scan\": true}}",
    "cage.json:1:16: unknown key \"scan\" in \"protected\"; valid keys: defaults, patterns" },
  { "{\"blacklist\": [\"a\", null]}",
    "cage.json:1:21: \"blacklist[1]\" must be a string (a glob such as \"*.secret\"), not null" },
  { "{\"blacklist\": [\"#x\"]}",
    "cage.json:1:16: \"blacklist[0]\" is \"#x\": a pattern starting with '#' would be a comment "
    "in a .gitignore; write \"\\#...\" for a name that starts with '#'" },
  { "{\n  \"blacklist\": [\n    \"ok\",\n    \"a/../b\"\n  ]\n}",
    "cage.json:4:5: \"blacklist[1]\" is \"a/../b\": the pattern has a \"..\" component; "
    "patterns match paths inside the view, which never contain \"..\"" },
  { "{\"blacklist\": [\"\"]}",
    "cage.json:1:16: \"blacklist[0]\" is \"\": the pattern is empty; remove it or write a glob "
    "such as \"*.secret\"" },
  /* network */
  { "{\"network\": \"on\"}",
    "cage.json:1:13: \"network\" is \"on\"; valid choices: off, host, filtered" },
  { "{\"network\": true}",
    "cage.json:1:13: \"network\" must be a string or an object, not true; valid choices: off, "
    "host, filtered, or {\"mode\": \"filtered\", \"allow\": [\"api.example.com\", "
    "\"*.example.org:443\"]}" },
  { "{\n\t\"network\": {\"mode\": {}}\n}",
    "cage.json:2:22: \"network.mode\" must be a string, not an object; valid choices: off, host, "
    "filtered" },
  /* Columns count characters; escaped keys are still found. */
  { "{\"blacklist\": [\"\xc3\xa9\", 5]}",
    "cage.json:1:21: \"blacklist[1]\" must be a string (a glob such as \"*.secret\"), "
    "not a number" },
  { "{\"st\\u006fre\": {\"mode\": \"x\"}}",
    "cage.json:1:25: \"store.mode\" is \"x\"; valid choices: readonly, shared, copy, isolated" },
  /* The first error in document order wins. */
  { "{\"network\": \"bad\", \"stor\": 1}",
    "cage.json:1:13: \"network\" is \"bad\"; valid choices: off, host, filtered" },
  /* Top level. */
  { "[1]",
    "cage.json:1:1: the top level must be an object, not an array; e.g. {\"store\": "
    "{\"mode\": \"readonly\"}, \"network\": \"off\"}" },
  { "\n  \"x\"",
    "cage.json:2:3: the top level must be an object, not a string; e.g. {\"store\": "
    "{\"mode\": \"readonly\"}, \"network\": \"off\"}" },
  /* Syntax errors: jansson's position and text. */
  { "{\n  \"network\": \"off\",\n}",
    "cage.json:3:1: invalid JSON: string or '}' expected near '}'" },
  { "{\"network\": \"off\", \"network\": \"host\"}",
    "cage.json:1:20: invalid JSON: duplicate object key near '\"network\"'; keep only one "
    "of them" },
  { "{\"network\": off}", "cage.json:1:13: invalid JSON: invalid token near 'off'" },
  { "{\"a\": \"\xff\"}", "cage.json:1:7: invalid JSON: unable to decode byte 0xff near '\"'" },
  { "{\"a\": 1} x", "cage.json:1:10: invalid JSON: end of file expected near 'x'" },
  { "{\"a\": [1, 2", "cage.json:1:11: invalid JSON: ']' expected near end of file" },
  { "", "cage.json:1:1: the file is empty; write {} for the defaults, or delete it" },
  { " \n", "cage.json:2:1: the file is empty; write {} for the defaults, or delete it" },
};

static void
test_errors (void **state)
{
  int failures = 0;
  for (size_t i = 0; i < N_ELEMS (error_cases); i++)
    {
      struct cage_config cfg;
      config_init (&cfg);
      struct cage_error err = { 0 };
      int r = config_load_string (&cfg, error_cases[i].text, "cage.json", &err);
      if (r != -1 || strcmp (err.msg, error_cases[i].msg) != 0)
        {
          printf ("# case %zu: r=%d\n#  got: %s\n# want: %s\n", i, r, err.msg,
                  error_cases[i].msg);
          failures++;
        }
      config_free (&cfg);
    }
  assert_int_equal (failures, 0);
}

/* Long and odd values are quoted and cut, not copied whole. */
static void
test_long_value (void **state)
{
  char text[1200];
  char big[1000];
  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  snprintf (text, sizeof text, "{\"network\": \"%s\"}", big);
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_string (&cfg, text, "cage.json", &err), -1);
  assert_non_null (strstr (err.msg, "cage.json:1:13: \"network\" is \"xxxx"));
  assert_non_null (strstr (err.msg, "xxx...\"; valid choices: off, host, filtered"));
  assert_true (strlen (err.msg) < 200);

  /* Cutting never splits a UTF-8 sequence. */
  char wide[400] = "";
  for (int k = 0; k < 100; k++)
    strcat (wide, "\xc3\xa9");
  snprintf (text, sizeof text, "{\"network\": \"%s\"}", wide);
  assert_int_equal (config_load_string (&cfg, text, "cage.json", &err), -1);
  const char *q = strstr (err.msg, "...\"");
  assert_non_null (q);
  assert_memory_equal (q - 2, "\xc3\xa9", 2);
  config_free (&cfg);
}

/* ---- flags ---------------------------------------------------------- */

static void
test_parse_mode (void **state)
{
  enum store_mode m = STORE_SHARED;
  struct cage_error err = { 0 };
  assert_int_equal (config_parse_mode ("readonly", &m, &err), 0);
  assert_int_equal (m, STORE_READONLY);
  assert_int_equal (config_parse_mode ("shared", &m, &err), 0);
  assert_int_equal (m, STORE_SHARED);
  assert_int_equal (config_parse_mode ("copy", &m, &err), 0);
  assert_int_equal (m, STORE_COPY);
  assert_int_equal (config_parse_mode ("isolated", &m, &err), 0);
  assert_int_equal (m, STORE_ISOLATED);
  m = STORE_SHARED;
  assert_int_equal (config_parse_mode ("ro", &m, &err), -1);
  assert_string_equal (err.msg, "unknown store mode \"ro\"; valid choices: readonly, shared, copy, isolated");
  assert_int_equal (config_parse_mode ("", &m, &err), -1);
  assert_string_equal (err.msg, "unknown store mode \"\"; valid choices: readonly, shared, copy, isolated");
  assert_int_equal (m, STORE_SHARED);
}

static void
test_parse_network (void **state)
{
  enum network_mode n = NETWORK_HOST;
  struct cage_error err = { 0 };
  assert_int_equal (config_parse_network ("off", &n, &err), 0);
  assert_int_equal (n, NETWORK_OFF);
  assert_int_equal (config_parse_network ("host", &n, &err), 0);
  assert_int_equal (n, NETWORK_HOST);
  assert_int_equal (config_parse_network ("none", &n, &err), -1);
  assert_string_equal (err.msg, "unknown network mode \"none\"; valid choices: off, host, filtered");
  assert_int_equal (n, NETWORK_HOST);
}

static void
test_names (void **state)
{
  assert_string_equal (config_mode_name (STORE_READONLY), "readonly");
  assert_string_equal (config_mode_name (STORE_SHARED), "shared");
  assert_string_equal (config_network_name (NETWORK_OFF), "off");
  assert_string_equal (config_network_name (NETWORK_HOST), "host");
  /* Names round-trip through the parsers. */
  enum store_mode m;
  enum network_mode n;
  assert_int_equal (config_parse_mode (config_mode_name (STORE_SHARED), &m, NULL), 0);
  assert_int_equal (m, STORE_SHARED);
  assert_int_equal (config_parse_network (config_network_name (NETWORK_HOST), &n, NULL), 0);
  assert_int_equal (n, NETWORK_HOST);
}

/* ---- files ---------------------------------------------------------- */

static char tmpdir[64];

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
setup_tmpdir (void **state)
{
  strcpy (tmpdir, "/tmp/cage-test-config-XXXXXX");
  return mkdtemp (tmpdir) ? 0 : -1;
}

static int
teardown_tmpdir (void **state)
{
  return nftw (tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file (const char *dir, const char *name, const char *data, size_t len)
{
  char path[256];
  snprintf (path, sizeof path, "%s/%s", dir, name);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, data, len), (ssize_t) len);
  close (fd);
}

static void
test_project_missing_file (void **state)
{
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), 0);
  assert_int_equal (cfg.mode, STORE_READONLY);
  /* config_load_file insists. */
  char path[256];
  snprintf (path, sizeof path, "%s/cage.json", tmpdir);
  assert_int_equal (config_load_file (&cfg, path, &err), -1);
  assert_int_equal (err.errnum, ENOENT);
  char want[512];
  snprintf (want, sizeof want, "read `%s`: %s", path, strerror (ENOENT));
  assert_string_equal (err.msg, want);
  config_free (&cfg);
}

static void
test_project_file (void **state)
{
  static const char text[] = "{\n  \"store\": {\"mode\": \"shared\"},\n  \"network\": \"host\"\n}\n";
  write_file (tmpdir, "cage.json", text, strlen (text));
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), 0);
  assert_int_equal (cfg.mode, STORE_SHARED);
  assert_int_equal (cfg.network, NETWORK_HOST);
  config_free (&cfg);

  /* Errors name the file by its path. */
  static const char bad[] = "{\n  \"network\": \"hots\"\n}\n";
  write_file (tmpdir, "cage.json", bad, strlen (bad));
  config_init (&cfg);
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), -1);
  char want[512];
  snprintf (want, sizeof want,
            "%s/cage.json:2:14: \"network\" is \"hots\"; valid choices: off, host, filtered", tmpdir);
  assert_string_equal (err.msg, want);
  config_free (&cfg);
}

static void
test_project_nul_byte (void **state)
{
  static const char text[] = "{\n  \0\"network\": \"off\"}";
  write_file (tmpdir, "cage.json", text, sizeof text - 1);
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), -1);
  char want[512];
  snprintf (want, sizeof want, "%s/cage.json:2:3: the file contains a NUL byte; cage.json "
            "must be UTF-8 text", tmpdir);
  assert_string_equal (err.msg, want);
}

/* The project is writable from inside the cage: a symlink is refused. */
static void
test_project_symlink (void **state)
{
  static const char text[] = "{\"network\": \"host\"}";
  write_file (tmpdir, "elsewhere.json", text, strlen (text));
  char link[256], path[256];
  snprintf (link, sizeof link, "%s/cage.json", tmpdir);
  snprintf (path, sizeof path, "%s/elsewhere.json", tmpdir);
  unlink (link);
  assert_int_equal (symlink ("elsewhere.json", link), 0);
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), -1);
  char want[512];
  snprintf (want, sizeof want, "%s is a symbolic link; cagefs reads only a regular file here, "
            "so replace the link with the file itself", link);
  assert_string_equal (err.msg, want);
  assert_int_equal (cfg.network, NETWORK_OFF);
  /* An explicit config_load_file follows it. */
  assert_int_equal (config_load_file (&cfg, link, &err), 0);
  assert_int_equal (cfg.network, NETWORK_HOST);
  config_free (&cfg);
  assert_int_equal (unlink (link), 0);
  assert_int_equal (unlink (path), 0);
}

/* "network": "filtered" and {"mode", "allow"}: entries with their origin,
   errors at the entry, the preset's default. */
static void
test_network_filtered (void **state)
{
  struct cage_config cfg;
  struct cage_error err = { 0 };
  config_init (&cfg);
  assert_int_equal (config_load_string (&cfg, "{\n  \"network\": {\"allow\": [\"a.example\", "
                                        "\"10.0.0.0/8:22\"]}\n}", "cage.json", &err), 0);
  assert_int_equal (cfg.network, NETWORK_FILTERED);
  assert_int_equal (cfg.allow.n, 2);
  assert_string_equal (cfg.allow.v[1].text, "10.0.0.0/8:22");
  assert_string_equal (cfg.allow.v[0].origin, "cage.json");
  assert_string_equal (cfg.network_at, "cage.json:2:24");
  assert_int_equal (config_add_allow (&cfg, "b.example", &err), 0);
  assert_int_equal (config_check_network (&cfg, NULL, &err), 0);
  assert_string_equal (cfg.allow.v[2].origin, "--allow");
  assert_int_equal (config_add_allow (&cfg, "*", &err), -1);
  assert_string_equal (err.msg, "--allow \"*\": a bare * would allow every host; name the "
                       "hosts, e.g. \"*.example.com\"");
  config_free (&cfg);

  static const struct
  {
    const char *text, *want;
  } bad[] = {
    { "{\"network\": {\"mode\": \"filtered\",\n \"allow\": [\"a.b\", \"*\"]}}",
      "cage.json:2:19: network.allow[1] \"*\": a bare * would allow every host" },
    { "{\"network\": {\"mode\": \"off\", \"allow\": [\"a.b\"]}}",
      "cage.json:1:29: \"network.allow\" is only for \"mode\": \"filtered\"" },
    { "{\"network\": {\"allow\": [1]}}", "cage.json:1:24: network.allow[0] must be a string" },
    { "{\"network\": {\"mode\": {}}}", "cage.json:1:22: \"network.mode\" must be a string" },
    { "{\"network\": \"filterd\"}", "cage.json:1:13: \"network\" is \"filterd\"" },
  };
  for (size_t i = 0; i < N_ELEMS (bad); i++)
    {
      config_init (&cfg);
      assert_int_equal (config_load_string (&cfg, bad[i].text, "cage.json", &err), -1);
      if (strncmp (err.msg, bad[i].want, strlen (bad[i].want)) != 0)
        fail_msg ("%s: got \"%s\"", bad[i].text, err.msg);
      assert_int_equal (cfg.allow.n, 0);
      config_free (&cfg);
    }

  /* Empty: blamed on the file's network. */
  config_init (&cfg);
  assert_int_equal (config_load_string (&cfg, "{\n\"network\": \"filtered\"}", "cage.json", &err),
                    0);
  assert_int_equal (config_check_network (&cfg, NULL, &err), -1);
  assert_non_null (strstr (err.msg, "cage.json:2:12: network \"filtered\": the allow list is empty"));
  config_free (&cfg);

  /* A preset: filtered by default with the standard profile, not relaxed. */
  config_init (&cfg);
  assert_int_equal (config_load_string (&cfg, "{\"preset\": \"codex\"}", "cage.json", &err), 0);
  config_apply_profile (&cfg);
  assert_int_equal (cfg.network, NETWORK_FILTERED);
  assert_string_equal (cfg.allow.v[0].text, "api.openai.com");
  assert_string_equal (cfg.allow.v[0].origin, "preset codex");
  assert_string_equal (cfg.allow.v[cfg.allow.n - 1].origin, "registries (preset codex)");
  assert_int_equal (config_check_network (&cfg, NULL, &err), 0);
  config_free (&cfg);
  config_init (&cfg);
  assert_int_equal (config_load_string (&cfg, "{\"preset\": \"codex\", \"profile\": \"relaxed\"}",
                                        "cage.json", &err), 0);
  config_apply_profile (&cfg);
  assert_int_equal (cfg.network, NETWORK_HOST);
  assert_int_equal (config_check_network (&cfg, NULL, &err), 0);
  assert_int_equal (cfg.allow.n, 0);
  config_free (&cfg);
}

static void
test_project_not_regular (void **state)
{
  char path[256];
  snprintf (path, sizeof path, "%s/cage.json", tmpdir);
  unlink (path);
  assert_int_equal (mkdir (path, 0700), 0);
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), -1);
  char want[512];
  snprintf (want, sizeof want, "%s is not a regular file; cage.json must be a JSON file", path);
  assert_string_equal (err.msg, want);
  assert_int_equal (rmdir (path), 0);

  /* A FIFO does not block the reader (if it did, SIGALRM ends the test). */
  assert_int_equal (mkfifo (path, 0600), 0);
  snprintf (want, sizeof want, "%s is not a regular file; cage.json must be a JSON file", path);
  alarm (10);
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), -1);
  alarm (0);
  assert_string_equal (err.msg, want);
  assert_int_equal (unlink (path), 0);
}

static void
test_project_too_big (void **state)
{
  size_t len = 1024 * 1024 + 1;
  char *text = malloc (len);
  assert_non_null (text);
  memset (text, ' ', len);
  text[0] = '{';
  text[len - 1] = '}';
  write_file (tmpdir, "cage.json", text, len);
  free (text);
  struct cage_config cfg;
  config_init (&cfg);
  struct cage_error err = { 0 };
  assert_int_equal (config_load_project (&cfg, tmpdir, &err), -1);
  char path[256], want[512];
  snprintf (path, sizeof path, "%s/cage.json", tmpdir);
  snprintf (want, sizeof want, "%s is 1048577 bytes; the limit is 1048576", path);
  assert_string_equal (err.msg, want);
  assert_int_equal (unlink (path), 0);
}

/* ---- did you mean, profiles, presets ------------------------------- */

static void
test_suggest (void **state)
{
  static const char *const keys[] = { "store", "network", "env", "limits", "hooks", NULL };
  assert_int_equal (suggest_distance ("", ""), 0);
  assert_int_equal (suggest_distance ("netwrok", "network"), 2);
  assert_int_equal (suggest_distance ("stor", "store"), 1);
  assert_int_equal (suggest_distance ("abc", ""), 3);
  assert_string_equal (suggest_closest ("netwrok", keys), "network");
  assert_string_equal (suggest_closest ("Store", keys), "store");
  assert_string_equal (suggest_closest ("lim", keys), "limits"); /* a prefix */
  assert_null (suggest_closest ("zzzzzz", keys));
  assert_string_equal (suggest_closest ("e", keys), "env"); /* 2 edits */
  static const char *const two[] = { "pre-mount", "pre-umount", NULL };
  assert_null (suggest_closest ("prefix", two)); /* too far */
  assert_null (suggest_closest ("pre-", two));   /* begins both */
}

static void
test_profiles (void **state)
{
  struct cage_config cfg;
  struct cage_error err = { 0 };
  config_init (&cfg);
  config_apply_profile (&cfg); /* standard */
  assert_int_equal (cfg.network, NETWORK_OFF);
  assert_false (cfg.workspace_readonly);
  assert_int_equal (cfg.home_mode, HOME_PERSISTENT);
  assert_false (cfg.home_host);
  assert_int_equal (config_load_string (&cfg, "{\"profile\": \"strict\"}", "cage.json", &err), 0);
  config_apply_profile (&cfg);
  assert_int_equal (cfg.network, NETWORK_OFF);
  assert_true (cfg.workspace_readonly);
  assert_int_equal (cfg.home_mode, HOME_EMPTY);
  config_free (&cfg);
  /* explicit keys win over the profile */
  assert_int_equal (config_load_string (&cfg, "{\"profile\": \"relaxed\", \"network\": \"off\", "
                                        "\"home\": {\"host\": false}}", "cage.json", &err), 0);
  config_apply_profile (&cfg);
  assert_int_equal (cfg.profile, PROFILE_RELAXED);
  assert_int_equal (cfg.network, NETWORK_OFF);
  assert_false (cfg.home_host);
  assert_false (cfg.workspace_readonly);
  config_free (&cfg);
  assert_int_equal (config_load_string (&cfg, "{\"profile\": \"relaxed\"}", "cage.json", &err), 0);
  config_apply_profile (&cfg);
  assert_int_equal (cfg.network, NETWORK_HOST);
  assert_true (cfg.home_host);
  config_free (&cfg);
  enum cage_profile p;
  assert_int_equal (config_parse_profile ("relaxd", &p, &err), -1);
  assert_string_equal (err.msg, "unknown profile \"relaxd\"; did you mean \"relaxed\"? valid "
                       "choices: strict, standard, relaxed");
}

static void
test_presets (void **state)
{
  static const char *const names[] = { "claude-code", "codex", "opencode", "gemini-cli",
                                       "aider", "goose", "crush", NULL };
  size_t n = 0;
  for (const struct preset *p = presets; p->name; p++, n++)
    {
      struct cage_config cfg;
      struct cage_error err = { 0 };
      config_init (&cfg);
      assert_string_equal (p->name, names[n]);
      assert_non_null (p->packages[0]);
      assert_non_null (p->home[0]);
      assert_non_null (p->env[0]);
      /* every entry is valid as cage.json would have it */
      assert_int_equal (preset_apply (p, &cfg, &err), 0);
      assert_true (cfg.n_with >= 1 && cfg.n_home_writable >= 1 && cfg.n_env_pass >= 1);
      assert_ptr_equal (preset_find (p->name, &err), p);
      config_free (&cfg);
    }
  assert_int_equal (n, 7);
  struct cage_config cfg;
  struct cage_error err = { 0 };
  config_init (&cfg);
  assert_int_equal (config_load_string (&cfg, "{\"preset\": \"claude-code\", \"store\": "
                                        "{\"with\": [\"git\"]}, \"env\": {\"pass\": [\"EDITOR\"]}}",
                                        "cage.json", &err), 0);
  assert_string_equal (cfg.preset, "claude-code");
  assert_int_equal (cfg.n_with, 2); /* git, claude-code */
  assert_string_equal (cfg.home_writable[0], ".claude/");
  assert_string_equal (cfg.home_writable[1], ".claude.json");
  bool key = false, editor = false;
  for (size_t i = 0; i < cfg.n_env_pass; i++)
    {
      key |= strcmp (cfg.env_pass[i], "ANTHROPIC_API_KEY") == 0;
      editor |= strcmp (cfg.env_pass[i], "EDITOR") == 0;
    }
  assert_true (key && editor);
  config_free (&cfg);
  assert_null (preset_find ("codx", &err));
  assert_string_equal (err.msg, "unknown preset \"codx\"; did you mean \"codex\"? valid presets: "
                       "claude-code, codex, opencode, gemini-cli, aider, goose, crush");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults),
    cmocka_unit_test (test_full),
    cmocka_unit_test (test_merge),
    cmocka_unit_test (test_blacklist_scan),
    cmocka_unit_test (test_error_leaves_config_alone),
    cmocka_unit_test (test_env_and_limits),
    cmocka_unit_test (test_limit_flags),
    cmocka_unit_test (test_hooks),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_long_value),
    cmocka_unit_test (test_parse_mode),
    cmocka_unit_test (test_parse_network),
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_suggest),
    cmocka_unit_test (test_profiles),
    cmocka_unit_test (test_presets),
    cmocka_unit_test_setup_teardown (test_project_missing_file, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_project_file, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_project_nul_byte, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_project_symlink, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test (test_network_filtered),
    cmocka_unit_test_setup_teardown (test_project_not_regular, setup_tmpdir, teardown_tmpdir),
    cmocka_unit_test_setup_teardown (test_project_too_big, setup_tmpdir, teardown_tmpdir),
  };
  return unit_run (tests);
}
