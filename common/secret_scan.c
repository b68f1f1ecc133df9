/* secret_scan.c - the secret detector (see secret_scan.h).  Each kind is
   found by memchr/memmem for its fixed start, then a bounded look at what
   follows; every look moves forward, so the whole is linear. */
#include "secret_scan.h"

#include <stdbool.h>
#include <string.h>

static bool
is_upper_digit (char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_alnum (char c)
{
  return is_upper_digit (c) || (c >= 'a' && c <= 'z');
}

static bool
is_word (char c)
{
  return is_alnum (c) || c == '_';
}

static bool
is_json_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Does [S, E) end with the string SUFFIX? */
static bool
ends_with (const char *s, const char *e, const char *suffix)
{
  size_t n = strlen (suffix);
  return (size_t) (e - s) >= n && memcmp (e - n, suffix, n) == 0;
}

/* Does [P, END) start with the string LIT? */
static bool
starts_with (const char *p, const char *end, const char *lit)
{
  size_t n = strlen (lit);
  return (size_t) (end - p) >= n && memcmp (p, lit, n) == 0;
}

/* "-----BEGIN [A-Z ]*PRIVATE KEY-----", and PGP's "... PRIVATE KEY
   BLOCK-----". */
static bool
has_private_key (const char *b, const char *end)
{
  static const char begin[] = "-----BEGIN ";
  for (const char *p = b; (p = memmem (p, (size_t) (end - p), begin, sizeof begin - 1));)
    {
      const char *s = p + sizeof begin - 1, *e = s;
      while (e < end && ((*e >= 'A' && *e <= 'Z') || *e == ' '))
        e++;
      if (starts_with (e, end, "-----")
          && (ends_with (s, e, "PRIVATE KEY") || ends_with (s, e, "PGP PRIVATE KEY BLOCK")))
        return true;
      p = e; /* past "-----BEGIN ": the next one starts after the label */
    }
  return false;
}

/* AKIA or ASIA and 16 [A-Z0-9], not inside a longer word. */
static bool
has_aws_key (const char *b, const char *end)
{
  for (const char *p = b; end - p >= 20 && (p = memchr (p, 'A', (size_t) (end - p) - 19)); p++)
    {
      if ((p[1] != 'K' && p[1] != 'S') || p[2] != 'I' || p[3] != 'A')
        continue;
      if (p > b && is_alnum (p[-1]))
        continue;
      size_t k = 4;
      while (k < 20 && is_upper_digit (p[k]))
        k++;
      if (k == 20 && (p + 20 == end || !is_alnum (p[20])))
        return true;
    }
  return false;
}

/* ghp_, gho_, ghu_, ghs_, ghr_ and 36 [A-Za-z0-9]; github_pat_ and 82
   [A-Za-z0-9_]; not inside a longer word. */
static bool
has_github_token (const char *b, const char *end)
{
  for (const char *p = b; end - p >= 40 && (p = memchr (p, 'g', (size_t) (end - p) - 39)); p++)
    {
      if (p > b && is_alnum (p[-1]))
        continue;
      size_t want, k;
      bool (*ok) (char);
      if (p[1] == 'h' && p[3] == '_' && p[2] != '\0' && strchr ("pousr", p[2]))
        want = 4 + 36, k = 4, ok = is_alnum;
      else if (starts_with (p, end, "github_pat_"))
        want = 11 + 82, k = 11, ok = is_word;
      else
        continue;
      if ((size_t) (end - p) < want)
        continue;
      while (k < want && ok (p[k]))
        k++;
      if (k == want && (p + want == end || !ok (p[want])))
        return true;
    }
  return false;
}

/* After JSON whitespace from P: the character C?  Returns what follows it,
   or NULL. */
static const char *
json_expect (const char *p, const char *end, char c)
{
  while (p < end && is_json_space (*p))
    p++;
  return p < end && *p == c ? p + 1 : NULL;
}

/* Is the JSON member KEY (quoted, as in "\"type\"") followed by ':' (and,
   with VALUE, by that quoted string) somewhere in [B, END)? */
static bool
has_member (const char *b, const char *end, const char *key, const char *value)
{
  size_t kl = strlen (key);
  for (const char *p = b; (p = memmem (p, (size_t) (end - p), key, kl)); p++)
    {
      const char *q = json_expect (p + kl, end, ':');
      if (!q)
        continue;
      if (!value)
        return true;
      while (q < end && is_json_space (*q))
        q++;
      if (starts_with (q, end, value))
        return true;
    }
  return false;
}

static bool
has_gcp_key (const char *b, const char *end)
{
  return has_member (b, end, "\"type\"", "\"service_account\"")
         && has_member (b, end, "\"private_key\"", NULL);
}

enum secret_kind
secret_scan (const void *buf, size_t len)
{
  if (len == 0)
    return SECRET_NONE;
  const char *b = buf;
  const char *end = b + (len < SECRET_SCAN_BYTES ? len : SECRET_SCAN_BYTES);
  if (has_gcp_key (b, end))
    return SECRET_GCP_KEY;
  if (has_private_key (b, end))
    return SECRET_PRIVATE_KEY;
  if (has_github_token (b, end))
    return SECRET_GITHUB_TOKEN;
  if (has_aws_key (b, end))
    return SECRET_AWS_KEY;
  return SECRET_NONE;
}

const char *
secret_kind_name (enum secret_kind kind)
{
  switch (kind)
    {
    case SECRET_PRIVATE_KEY:
      return "private key";
    case SECRET_AWS_KEY:
      return "AWS access key";
    case SECRET_GCP_KEY:
      return "GCP service account key";
    case SECRET_GITHUB_TOKEN:
      return "GitHub token";
    case SECRET_NONE:
      break;
    }
  return "";
}
