/* fuzz_scan.c - libFuzzer target: the secret detector over any bytes.

   Checked besides ASan/UBSan:
   - the answer is one of the kinds and has a name (but SECRET_NONE);
   - only the first SECRET_SCAN_BYTES count: the input cut there gives the
     same answer;
   - on inputs without NUL bytes, up to 4 KiB: the answer is what POSIX
     extended regular expressions written from secret_scan.h's rules say
     (the same order of kinds). */
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret_scan.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (bool ok, const char *what)
{
  if (!ok)
    {
      fprintf (stderr, "fuzz_scan: broken: %s\n", what);
      abort ();
    }
}

#define NOT_ALNUM "(^|[^A-Za-z0-9])"
#define JSON_WS "[ \t\r\n]*"

/* The rules, in the detector's order of kinds; a rule holds when all its
   expressions match. */
static const struct
{
  enum secret_kind kind;
  const char *re[2];
} rules[] = {
  { SECRET_GCP_KEY, { "\"type\"" JSON_WS ":" JSON_WS "\"service_account\"",
                      "\"private_key\"" JSON_WS ":" } },
  { SECRET_PRIVATE_KEY, { "-----BEGIN [A-Z ]*PRIVATE KEY-----", NULL } },
  { SECRET_PRIVATE_KEY, { "-----BEGIN [A-Z ]*PGP PRIVATE KEY BLOCK-----", NULL } },
  { SECRET_GITHUB_TOKEN, { NOT_ALNUM "gh[pousr]_[A-Za-z0-9]{36}([^A-Za-z0-9]|$)", NULL } },
  { SECRET_GITHUB_TOKEN, { NOT_ALNUM "github_pat_[A-Za-z0-9_]{82}([^A-Za-z0-9_]|$)", NULL } },
  { SECRET_AWS_KEY, { NOT_ALNUM "A[KS]IA[A-Z0-9]{16}([^A-Za-z0-9]|$)", NULL } },
};

#define N_RULES (sizeof rules / sizeof rules[0])

static enum secret_kind
reference (const char *text)
{
  static regex_t compiled[N_RULES][2];
  static bool ready;
  if (!ready)
    {
      for (size_t i = 0; i < N_RULES; i++)
        for (size_t j = 0; j < 2 && rules[i].re[j]; j++)
          check (regcomp (&compiled[i][j], rules[i].re[j], REG_EXTENDED | REG_NOSUB) == 0,
                 "a reference expression compiles");
      ready = true;
    }
  for (size_t i = 0; i < N_RULES; i++)
    {
      bool all = true;
      for (size_t j = 0; j < 2 && rules[i].re[j] && all; j++)
        all = regexec (&compiled[i][j], text, 0, NULL, 0) == 0;
      if (all)
        return rules[i].kind;
    }
  return SECRET_NONE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  enum secret_kind k = secret_scan (data, size);
  check (k >= SECRET_NONE && k <= SECRET_GITHUB_TOKEN, "a known kind");
  check ((k == SECRET_NONE) == (secret_kind_name (k)[0] == '\0'), "a name for each kind");
  if (size > SECRET_SCAN_BYTES)
    check (secret_scan (data, SECRET_SCAN_BYTES) == k, "only the first 64 KiB count");

  if (size > 4096 || memchr (data, '\0', size))
    return 0;
  char *text = malloc (size + 1);
  if (!text)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';
  enum secret_kind want = reference (text);
  if (k != want)
    {
      fprintf (stderr, "fuzz_scan: detector says \"%s\", the expressions \"%s\"\n",
               secret_kind_name (k), secret_kind_name (want));
      check (false, "detector = reference");
    }
  free (text);
  return 0;
}
