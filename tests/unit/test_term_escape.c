/* test_term_escape.c - what the host commands print for people: control
   characters, C1 controls, bidi controls and invalid UTF-8 as \xNN. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "term_escape.h"

static void
check (const char *in, size_t len, unsigned flags, const char *want)
{
  char *got = term_escape (in, len, flags);
  assert_non_null (got);
  assert_string_equal (got, want);
  /* idempotent: the output has nothing left to escape */
  char *again = term_escape (got, strlen (got), flags);
  assert_non_null (again);
  assert_string_equal (again, want);
  free (again);
  free (got);
}

#define CHECK(lit, flags, want) check (lit, sizeof lit - 1, flags, want)

static void
test_plain_text_unchanged (void **state)
{
  CHECK ("main.c", 0, "main.c");
  CHECK ("a b/c\\d~", 0, "a b/c\\d~");
  CHECK ("", 0, "");
  /* valid UTF-8, 2, 3 and 4 bytes */
  CHECK ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void
test_controls (void **state)
{
  CHECK ("a\nb\x1b[31m", 0, "a\\x0ab\\x1b[31m");
  CHECK ("\r\t\x7f\x01", 0, "\\x0d\\x09\\x7f\\x01");
  /* a NUL inside the text is escaped, not an end */
  CHECK ("a\0b", 0, "a\\x00b");
  /* contents keep their lines and tabs when asked */
  CHECK ("x\ty\nz\x1b]0;t\x07", TERM_KEEP_NEWLINE | TERM_KEEP_TAB, "x\ty\nz\\x1b]0;t\\x07");
  CHECK ("x\ty\n", TERM_KEEP_NEWLINE, "x\\x09y\n");
}

static void
test_c1_and_bidi (void **state)
{
  /* U+009B (CSI) and U+0085 (NEL) */
  CHECK ("a\xc2\x9b" "31m\xc2\x85", 0, "a\\xc2\\x9b31m\\xc2\\x85");
  /* U+202E (right-to-left override), U+2066 (isolate), U+200F */
  CHECK ("x\xe2\x80\xaey\xe2\x81\xa6z\xe2\x80\x8f", 0,
         "x\\xe2\\x80\\xaey\\xe2\\x81\\xa6z\\xe2\\x80\\x8f");
  /* U+00A0 is printable: kept */
  CHECK ("\xc2\xa0", 0, "\xc2\xa0");
}

static void
test_invalid_utf8 (void **state)
{
  CHECK ("\x80", 0, "\\x80");           /* stray continuation byte */
  CHECK ("\xc0\xaf", 0, "\\xc0\\xaf");  /* overlong '/' */
  CHECK ("\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf");
  CHECK ("\xed\xa0\x80", 0, "\\xed\\xa0\\x80"); /* a surrogate */
  CHECK ("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
  CHECK ("\xe2\x82", 0, "\\xe2\\x82");  /* cut at the end */
  CHECK ("\xe2\x82x", 0, "\\xe2\\x82x"); /* cut in the middle */
  CHECK ("\xff\xfe", 0, "\\xff\\xfe");
}

static void
test_every_byte (void **state)
{
  /* No single byte comes out as a control character or invalid UTF-8. */
  for (int c = 0; c < 256; c++)
    {
      char in = (char) c;
      char *got = term_escape (&in, 1, 0);
      assert_non_null (got);
      for (const unsigned char *p = (const unsigned char *) got; *p; p++)
        assert_true (*p >= 0x20 && *p < 0x7f);
      free (got);
    }
}

static void
test_str_helpers (void **state)
{
  char *e = term_escape_str ("a\nb", 0);
  assert_string_equal (e, "a\\x0ab");
  term_escape_free (e);
  e = term_escape_str (NULL, 0);
  assert_string_equal (e, "");
  term_escape_free (e);
  char buf[64] = "";
  FILE *f = fmemopen (buf, sizeof buf, "w");
  assert_non_null (f);
  assert_true (term_fputs ("p\x1b", 0, f) >= 0);
  fclose (f);
  assert_string_equal (buf, "p\\x1b");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plain_text_unchanged),
    cmocka_unit_test (test_controls),
    cmocka_unit_test (test_c1_and_bidi),
    cmocka_unit_test (test_invalid_utf8),
    cmocka_unit_test (test_every_byte),
    cmocka_unit_test (test_str_helpers),
  };
  return unit_run (tests);
}
