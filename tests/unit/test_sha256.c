/* test_sha256.c - SHA-256 against FIPS 180-4's vectors, fed whole and in
   pieces (the cache key of store.expr's folder). */
#include "unit.h"

#include <string.h>

#include "sha256.h"

static void
check (const char *data, size_t len, size_t piece, const char *want)
{
  struct sha256 s;
  sha256_init (&s);
  for (size_t off = 0; off < len; off += piece)
    sha256_update (&s, data + off, len - off < piece ? len - off : piece);
  unsigned char d[32];
  char hex[65];
  sha256_final (&s, d);
  sha256_hex (d, hex);
  assert_string_equal (hex, want);
}

static void
test_vectors (void **state)
{
  static const struct
  {
    const char *in, *want;
  } v[] = {
    { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
      "lmnopqrsmnopqrstnopqrstu",
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
  };
  for (size_t i = 0; i < N_ELEMS (v); i++)
    for (size_t piece = 1; piece <= 130; piece += 7)
      check (v[i].in, strlen (v[i].in), piece, v[i].want);
}

static void
test_million_a (void **state)
{
  static char a[1000000];
  memset (a, 'a', sizeof a);
  check (a, sizeof a, 4096, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  check (a, sizeof a, 63, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_vectors),
    cmocka_unit_test (test_million_a),
  };
  return unit_run (tests);
}
