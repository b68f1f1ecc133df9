/* sha256.h - SHA-256 (FIPS 180-4), for cache keys an attacker may try to
   collide (the store.expr folder's contents). */
#ifndef CAGE_SHA256_H
#define CAGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256
{
  uint32_t h[8];
  uint64_t len;        /* bytes hashed so far */
  unsigned char buf[64];
  size_t used;         /* bytes in buf */
};

void sha256_init (struct sha256 *s);
void sha256_update (struct sha256 *s, const void *data, size_t len);
void sha256_final (struct sha256 *s, unsigned char out[32]);
/* OUT gets the 64 lowercase hex digits of DIGEST and a NUL. */
void sha256_hex (const unsigned char digest[32], char out[65]);

#endif
