/* sha256.h - SHA-256 from OpenSSL's libcrypto (EVP), for cache keys an
   attacker may try to collide (the store.expr folder's contents). */
#ifndef CAGE_SHA256_H
#define CAGE_SHA256_H

#include <stddef.h>

struct sha256
{
  void *ctx; /* EVP_MD_CTX; NULL once final or released */
};

/* 0, or -1 when OpenSSL could not set up a digest (no memory). */
int sha256_init (struct sha256 *s);
void sha256_update (struct sha256 *s, const void *data, size_t len);
/* OUT gets the digest; S is released. */
void sha256_final (struct sha256 *s, unsigned char out[32]);
/* Release S without a digest (an error path); safe after final. */
void sha256_release (struct sha256 *s);
/* OUT gets the 64 lowercase hex digits of DIGEST and a NUL. */
void sha256_hex (const unsigned char digest[32], char out[65]);

#define autosha256 __attribute__ ((cleanup (sha256_release)))

#endif
