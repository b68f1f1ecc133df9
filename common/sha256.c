#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int
sha256_init (struct sha256 *s)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  if (!ctx || EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1)
    {
      EVP_MD_CTX_free (ctx);
      s->ctx = NULL;
      return -1;
    }
  s->ctx = ctx;
  return 0;
}

void
sha256_update (struct sha256 *s, const void *data, size_t len)
{
  if (s->ctx)
    EVP_DigestUpdate (s->ctx, data, len);
}

void
sha256_final (struct sha256 *s, unsigned char out[32])
{
  unsigned int n = 0;
  memset (out, 0, 32);
  if (s->ctx)
    EVP_DigestFinal_ex (s->ctx, out, &n);
  sha256_release (s);
}

void
sha256_release (struct sha256 *s)
{
  EVP_MD_CTX_free (s->ctx);
  s->ctx = NULL;
}

void
sha256_hex (const unsigned char digest[32], char out[65])
{
  for (int i = 0; i < 32; i++)
    snprintf (out + 2 * i, 3, "%02x", digest[i]);
}
