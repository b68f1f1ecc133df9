/* test_secret_scan.c - the secret detector: a table of secrets and of
   near misses, the 64 KiB window, binary content, no allocation. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret_scan.h"

#include "alloc_count.h"

/* Fake credentials, made of runs of the right alphabet and length. */
#define UP16 "ABCDEFGHIJ234567"                     /* 16 [A-Z0-9] */
#define UP15 "ABCDEFGHIJ23456"                      /* 15 */
#define AN36 "0123456789abcdefghijklmnopqrstuvwxyz" /* 36 [A-Za-z0-9] */
#define AN35 "0123456789abcdefghijklmnopqrstuvwxy"  /* 35 */
#define PAT82 "11ABCDEFGHIJKLMNOPQRST_" AN36 "ABCDEFGHIJKLMNOPQRSTUVW" /* 22 + _ + 59 */
#define PAT81 "11ABCDEFGHIJKLMNOPQRST_" AN36 "ABCDEFGHIJKLMNOPQRSTUV"

struct scan_case
{
  const char *what;
  const char *text;
  enum secret_kind want;
};

static const struct scan_case cases[] = {
  /* private keys */
  { "PKCS#8", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n",
    SECRET_PRIVATE_KEY },
  { "PKCS#1 RSA", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", SECRET_PRIVATE_KEY },
  { "EC", "-----BEGIN EC PRIVATE KEY-----", SECRET_PRIVATE_KEY },
  { "DSA", "x\r\n-----BEGIN DSA PRIVATE KEY-----\r\n", SECRET_PRIVATE_KEY },
  { "encrypted PKCS#8", "-----BEGIN ENCRYPTED PRIVATE KEY-----", SECRET_PRIVATE_KEY },
  { "OpenSSH", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n", SECRET_PRIVATE_KEY },
  { "PGP", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n", SECRET_PRIVATE_KEY },
  { "in the middle of a line", "key = \"-----BEGIN PRIVATE KEY-----\\nMII\"", SECRET_PRIVATE_KEY },
  { "after a false start", "-----BEGIN -----BEGIN RSA PRIVATE KEY-----", SECRET_PRIVATE_KEY },
  /* ...and what is not one */
  { "public key", "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n", SECRET_NONE },
  { "RSA public key", "-----BEGIN RSA PUBLIC KEY-----", SECRET_NONE },
  { "certificate", "-----BEGIN CERTIFICATE-----\nMIID\n", SECRET_NONE },
  { "PGP public key", "-----BEGIN PGP PUBLIC KEY BLOCK-----", SECRET_NONE },
  { "PGP signature", "-----BEGIN PGP SIGNATURE-----", SECRET_NONE },
  { "no closing dashes", "-----BEGIN PRIVATE KEY----", SECRET_NONE },
  { "lower case", "-----BEGIN private key-----", SECRET_NONE },
  { "four dashes", "----BEGIN PRIVATE KEY-----", SECRET_NONE },
  { "a digit in the label", "-----BEGIN RSA2 PRIVATE KEY-----", SECRET_NONE },
  { "the END line alone", "-----END PRIVATE KEY-----", SECRET_NONE },
  { "prose", "put your private key in ~/.ssh, never a BEGIN PRIVATE KEY line", SECRET_NONE },
  { "cut short", "-----BEGIN PRIVATE KE", SECRET_NONE },

  /* AWS */
  { "AKIA id", "aws_access_key_id = AKIA" UP16 "\n", SECRET_AWS_KEY },
  { "ASIA id", "ASIA" UP16, SECRET_AWS_KEY },
  { "AKIA in JSON", "{\"AccessKeyId\":\"AKIA" UP16 "\"}", SECRET_AWS_KEY },
  { "AKIA after an underscore", "KEY_AKIA" UP16, SECRET_AWS_KEY },
  { "AKIA + 15", "AKIA" UP15 "\n", SECRET_NONE },
  { "AKIA + 15 at the end", "AKIA" UP15, SECRET_NONE },
  { "AKIA + 17", "AKIA" UP16 "X", SECRET_NONE },
  { "AKIA + 16 then lower case", "AKIA" UP16 "x", SECRET_NONE },
  { "AKIA inside a word", "XAKIA" UP16, SECRET_NONE },
  { "AKIA + lower case", "AKIAabcdefghijklmnop", SECRET_NONE },
  { "AKIB", "AKIB" UP16, SECRET_NONE },
  { "AIDA (a user id, not a key)", "AIDA" UP16, SECRET_NONE },
  { "AKIA alone", "the prefix AKIA means a long-term key", SECRET_NONE },

  /* GCP */
  { "service account", "{\n  \"type\": \"service_account\",\n  \"project_id\": \"p\",\n"
                       "  \"private_key_id\": \"abc\",\n  \"private_key\": \"MII...\"\n}\n",
    SECRET_GCP_KEY },
  { "service account, compact", "{\"private_key\":\"x\",\"type\":\"service_account\"}",
    SECRET_GCP_KEY },
  { "service account with a PEM key (reported as GCP)",
    "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMII\"}",
    SECRET_GCP_KEY },
  { "service account without private_key",
    "{\"type\": \"service_account\", \"client_email\": \"a@b\"}", SECRET_NONE },
  { "private_key_id only", "{\"type\": \"service_account\", \"private_key_id\": \"abc\"}",
    SECRET_NONE },
  { "authorized user", "{\"type\": \"authorized_user\", \"private_key\": \"x\"}", SECRET_NONE },
  { "\"type\" not a member", "[\"type\", \"service_account\", \"private_key\"]", SECRET_NONE },
  { "private_key not a member", "{\"type\": \"service_account\", \"k\": \"private_key\"}",
    SECRET_NONE },

  /* GitHub */
  { "ghp", "token: ghp_" AN36 "\n", SECRET_GITHUB_TOKEN },
  { "gho", "gho_" AN36, SECRET_GITHUB_TOKEN },
  { "ghu", "ghu_" AN36 " ", SECRET_GITHUB_TOKEN },
  { "ghs", "\"ghs_" AN36 "\"", SECRET_GITHUB_TOKEN },
  { "ghr", "ghr_" AN36, SECRET_GITHUB_TOKEN },
  { "fine-grained", "GITHUB_TOKEN=github_pat_" PAT82 "\n", SECRET_GITHUB_TOKEN },
  { "in a URL", "https://x-access-token:ghp_" AN36 "@github.com/o/r", SECRET_GITHUB_TOKEN },
  { "ghp + 35", "ghp_" AN35 "\n", SECRET_NONE },
  { "ghp + 37", "ghp_" AN36 "0", SECRET_NONE },
  { "ghx", "ghx_" AN36, SECRET_NONE },
  { "ghp with a dash", "ghp_" AN35 "-", SECRET_NONE },
  { "inside a word", "aghp_" AN36, SECRET_NONE },
  { "GHP upper case", "GHP_" AN36, SECRET_NONE },
  { "github_pat + 81", "github_pat_" PAT81 "\n", SECRET_NONE },
  { "github_pat + 83", "github_pat_" PAT82 "_", SECRET_NONE },
  { "github_pat cut short", "github_pat_11ABC", SECRET_NONE },

  /* nothing */
  { "empty", "", SECRET_NONE },
  { "code", "int main (void) { return 0; }\n", SECRET_NONE },
  { "a .env without secrets", "PORT=8080\nDEBUG=1\n", SECRET_NONE },
};

static void
test_table (void **state)
{
  int bad = 0;
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    {
      enum secret_kind got = secret_scan (cases[i].text, strlen (cases[i].text));
      if (got != cases[i].want)
        {
          fprintf (stderr, "# %s: %s: got \"%s\", want \"%s\"\n", cases[i].what, cases[i].text,
                   secret_kind_name (got), secret_kind_name (cases[i].want));
          bad++;
        }
    }
  assert_int_equal (bad, 0);
}

/* Only the bytes given count: a token cut by the length is not one. */
static void
test_length_bounds (void **state)
{
  const char *t = "ghp_" AN36 "\n";
  assert_int_equal (secret_scan (t, 40), SECRET_GITHUB_TOKEN); /* ends at the buffer's end */
  assert_int_equal (secret_scan (t, 39), SECRET_NONE);
  const char *k = "-----BEGIN PRIVATE KEY-----";
  assert_int_equal (secret_scan (k, strlen (k)), SECRET_PRIVATE_KEY);
  assert_int_equal (secret_scan (k, strlen (k) - 1), SECRET_NONE);
  assert_int_equal (secret_scan (NULL, 0), SECRET_NONE);
}

/* Within the first 64 KiB, and only there; NULs do not stop the scan. */
static void
test_window (void **state)
{
  size_t size = 2 * SECRET_SCAN_BYTES;
  char *buf = malloc (size);
  assert_non_null (buf);
  const char *key = "-----BEGIN OPENSSH PRIVATE KEY-----";
  size_t kl = strlen (key);

  memset (buf, 0, size);
  memcpy (buf + SECRET_SCAN_BYTES - kl, key, kl);
  assert_int_equal (secret_scan (buf, size), SECRET_PRIVATE_KEY);

  memset (buf, 0, size);
  memcpy (buf + SECRET_SCAN_BYTES - kl + 1, key, kl); /* its last byte is past the window */
  assert_int_equal (secret_scan (buf, size), SECRET_NONE);

  memset (buf, 'A', size); /* a long run of a prefix's letter */
  assert_int_equal (secret_scan (buf, size), SECRET_NONE);
  memset (buf, 'g', size);
  assert_int_equal (secret_scan (buf, size), SECRET_NONE);
  free (buf);
}

static void
test_names (void **state)
{
  assert_string_equal (secret_kind_name (SECRET_NONE), "");
  assert_string_equal (secret_kind_name (SECRET_PRIVATE_KEY), "private key");
  assert_string_equal (secret_kind_name (SECRET_AWS_KEY), "AWS access key");
  assert_string_equal (secret_kind_name (SECRET_GCP_KEY), "GCP service account key");
  assert_string_equal (secret_kind_name (SECRET_GITHUB_TOKEN), "GitHub token");
}

static void
test_does_not_allocate (void **state)
{
  alloc_count = 0;
  alloc_watch = true;
  char *probe = malloc (1);
  alloc_watch = false;
  free (probe);
  assert_int_equal (alloc_count, 1); /* the wrapper is live */

  alloc_count = 0;
  alloc_watch = true;
  int hits = 0;
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    hits += secret_scan (cases[i].text, strlen (cases[i].text)) != SECRET_NONE;
  alloc_watch = false;
  assert_true (hits > 0);
  assert_int_equal (alloc_count, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_table),
    cmocka_unit_test (test_length_bounds),
    cmocka_unit_test (test_window),
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_does_not_allocate),
  };
  return unit_run (tests);
}
