/* secret_scan.h - does a file's beginning hold a secret?

   The content half of the blacklist (cage.json's "blacklist": {"scan":
   true}): the daemon hides a workspace file whose first SECRET_SCAN_BYTES
   hold one of these, as if a pattern named it.

   - a private key block: "-----BEGIN [A-Z ]*PRIVATE KEY-----" (PKCS#1,
     PKCS#8, EC, DSA, OpenSSH, encrypted), or "-----BEGIN PGP PRIVATE KEY
     BLOCK-----";
   - an AWS access key id: AKIA or ASIA and 16 characters [A-Z0-9], not
     inside a longer word of letters and digits;
   - a GCP service account key: JSON with "type": "service_account" and a
     "private_key" member;
   - a GitHub token: ghp_, gho_, ghu_, ghs_ or ghr_ and 36 [A-Za-z0-9], or
     github_pat_ and 82 [A-Za-z0-9_], not inside a longer word.

   A pure function over a buffer: no allocation, no I/O, linear in its
   length.  Public keys, certificates and look-alikes one character short
   are not secrets (tests/unit/test_secret_scan.c has the table). */
#ifndef CAGE_SECRET_SCAN_H
#define CAGE_SECRET_SCAN_H

#include <stddef.h>

/* How much of a file is looked at. */
#define SECRET_SCAN_BYTES (64 * 1024)

enum secret_kind
{
  SECRET_NONE = 0,
  SECRET_PRIVATE_KEY,    /* PEM or OpenSSH private key, PGP private key block */
  SECRET_AWS_KEY,        /* AWS access key id */
  SECRET_GCP_KEY,        /* GCP service account key (JSON) */
  SECRET_GITHUB_TOKEN,   /* GitHub token */
};

/* The secret in BUF (LEN bytes, any content, NULs included), or
   SECRET_NONE.  Only the first SECRET_SCAN_BYTES are looked at.  When
   there are several, the kind reported is the first of: GCP key (its JSON
   holds a private key block too), private key, GitHub token, AWS key. */
enum secret_kind secret_scan (const void *buf, size_t len);

/* "private key", "AWS access key", "GCP service account key", "GitHub
   token" ("" for SECRET_NONE). */
const char *secret_kind_name (enum secret_kind kind);

#endif
