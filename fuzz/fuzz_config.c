/* fuzz_config.c - libFuzzer target: cage.json text through the loader.

   The input is the file's text.  Checked besides memory safety (ASan) and
   undefined behaviour (UBSan):
   - a failed load leaves the configuration exactly as it was;
   - an error is one line, and names the file;
   - a successful load gives vectors that are NULL-terminated at their
     count, blacklist patterns the blacklist accepts, and loading the same
     text again (a merge) succeeds without adding packages or patterns;
   - the flag parsers (--memory, --cpus, --pids, --env, --mode, --network)
     given the same text give positive values or one-line errors.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blacklist.h"
#include "config.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok, const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz_config: broken: %s\n", what);
      abort ();
    }
}

static void
check_strv (char **v, size_t n)
{
  check (n == 0 || v != NULL, "a vector with a count has strings");
  if (v)
    {
      for (size_t i = 0; i < n; i++)
        check (v[i] != NULL, "no NULL inside a vector");
      check (v[n] == NULL, "a vector is NULL-terminated at its count");
    }
}

/* A configuration with something in every field, to see a failed load
   leave it alone. */
static void
prefill (struct cage_config *cfg)
{
  struct cage_error err;
  config_init (cfg);
  check (config_add_package (cfg, "/nix/store/00000000000000000000000000000000-pre") == 0,
         "prefill package");
  check (config_add_blacklist (cfg, "*.pre") == 0, "prefill blacklist");
  check (config_add_env_pass (cfg, "PRE", &err) == 0, "prefill env pass");
  check (config_add_env_set (cfg, "PRE=1", &err) == 0, "prefill env set");
  cfg->mode = STORE_SHARED;
  cfg->network = NETWORK_HOST;
  cfg->limits.memory = 1;
  cfg->limits.cpus = 1;
  cfg->limits.pids = 1;
  cfg->limits.nofile = 1;
}

static bool
same_strv (char **a, size_t na, char **b, size_t nb)
{
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i++)
    if (strcmp (a[i], b[i]) != 0)
      return false;
  return true;
}

static bool
same_config (const struct cage_config *a, const struct cage_config *b)
{
  return a->mode == b->mode && a->network == b->network
         && same_strv (a->packages, a->n_packages, b->packages, b->n_packages)
         && same_strv (a->blacklist, a->n_blacklist, b->blacklist, b->n_blacklist)
         && same_strv (a->env_pass, a->n_env_pass, b->env_pass, b->n_env_pass)
         && same_strv (a->env_set, a->n_env_set, b->env_set, b->n_env_set)
         && a->limits.memory == b->limits.memory && a->limits.cpus == b->limits.cpus
         && a->limits.pids == b->limits.pids && a->limits.nofile == b->limits.nofile
         && (a->cache == NULL) == (b->cache == NULL)
         && (!a->cache || strcmp (a->cache, b->cache) == 0)
         && a->nix_daemon == b->nix_daemon && a->have_nix_daemon == b->have_nix_daemon;
}

static void
check_error (int r, const struct cage_error *err)
{
  if (r < 0)
    {
      check (err->msg[0] != '\0', "a flag error has a message");
      check (strchr (err->msg, '\n') == NULL, "a flag error is one line");
    }
}

/* The text as the value of each flag. */
static void
flags (const char *text)
{
  struct cage_error err = { 0 };
  unsigned long long memory = 0;
  int r = config_parse_memory (text, &memory, &err);
  check_error (r, &err);
  check (r < 0 || memory > 0, "a memory limit is positive");
  double cpus = 0;
  r = config_parse_cpus (text, &cpus, &err);
  check_error (r, &err);
  check (r < 0 || (cpus > 0 && cpus <= 65536), "cpus are in range");
  unsigned long count = 0;
  r = config_parse_count ("pids", text, &count, &err);
  check_error (r, &err);
  check (r < 0 || (count > 0 && count <= 1UL << 30), "a count is in range");
  enum store_mode mode;
  check_error (config_parse_mode (text, &mode, &err), &err);
  enum network_mode network;
  check_error (config_parse_network (text, &network, &err), &err);

  struct cage_config cfg;
  config_init (&cfg);
  r = config_add_env_set (&cfg, text, &err);
  check_error (r, &err);
  if (r == 0)
    {
      check (cfg.n_env_set == 1 && strcmp (cfg.env_set[0], text) == 0, "--env is kept");
      check (config_add_env_set (&cfg, text, &err) == 0 && cfg.n_env_set == 1,
             "the same --env twice is one variable");
    }
  r = config_add_env_pass (&cfg, text, &err);
  check_error (r, &err);
  check (r == (config_env_name_valid (text) ? 0 : -1), "--pass-env takes valid names");
  config_free (&cfg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* The file loader refuses a NUL byte before parsing. */
  if (memchr (data, '\0', size))
    return 0;
  char *text = malloc (size + 1);
  if (!text)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';

  struct cage_config cfg, before;
  prefill (&cfg);
  prefill (&before);
  struct cage_error err = { 0 };
  if (config_load_string (&cfg, text, "cage.json", &err) < 0)
    {
      check (same_config (&cfg, &before), "a failed load leaves the configuration alone");
      check (err.msg[0] != '\0', "an error has a message");
      check (strchr (err.msg, '\n') == NULL, "an error is one line");
      check (strncmp (err.msg, "cage.json", 9) == 0 || err.errnum != 0,
             "an error names the file");
    }
  else
    {
      check_strv (cfg.packages, cfg.n_packages);
      check_strv (cfg.blacklist, cfg.n_blacklist);
      check_strv (cfg.env_pass, cfg.n_env_pass);
      check_strv (cfg.env_set, cfg.n_env_set);
      for (size_t i = 0; i < cfg.n_env_set; i++)
        check (strchr (cfg.env_set[i], '=') != NULL, "env set entries are NAME=value");
      struct blacklist bl;
      check (blacklist_init (&bl, cfg.blacklist, !cfg.blacklist_no_defaults, &err) == 0,
             "blacklist patterns from cage.json are accepted by the blacklist");
      blacklist_free (&bl);

      size_t n_packages = cfg.n_packages, n_blacklist = cfg.n_blacklist;
      check (config_load_string (&cfg, text, "cage.json", &err) == 0,
             "the same text loads twice");
      check (cfg.n_packages == n_packages && cfg.n_blacklist == n_blacklist,
             "loading again adds no duplicates");
    }
  config_free (&cfg);
  config_free (&before);
  flags (text);
  free (text);
  return 0;
}
