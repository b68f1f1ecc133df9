/* test_json_locate.c - json_locate() finds the line:column of keys and values. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_locate.h"

#define MAX_STEPS 4

struct locate_case
{
  const char *name;
  const char *text;
  struct json_step path[MAX_STEPS];
  size_t n;
  enum json_locate_what what;
  int line, column; /* 0, 0: expect failure */
};

#define K(k) JSON_KEY (k)
#define I(i) JSON_INDEX (i)
#define VALUE JSON_LOCATE_VALUE
#define KEY JSON_LOCATE_KEY

static const char config_text[] = "{\n"
                                  "  \"store\": {\n"
                                  "    \"mode\": \"copyy\",\n"
                                  "    \"packages\": [\n"
                                  "      \"/nix/store/a\",\n"
                                  "      \"/nix/store/b\"\n"
                                  "    ]\n"
                                  "  },\n"
                                  "  \"blacklist\": [\"*.pem\", {\"x\": [1, 2]}, \"c\"],\n"
                                  "  \"network\": \"off\"\n"
                                  "}\n";

static const struct locate_case cases[] = {
  { "top-level value", config_text, { { 0 } }, 0, VALUE, 1, 1 },
  { "top-level after whitespace", " \n\t [1]", { { 0 } }, 0, VALUE, 2, 3 },
  { "key store", config_text, { K ("store") }, 1, KEY, 2, 3 },
  { "value of store", config_text, { K ("store") }, 1, VALUE, 2, 12 },
  { "store.mode value", config_text, { K ("store"), K ("mode") }, 2, VALUE, 3, 13 },
  { "store.mode key", config_text, { K ("store"), K ("mode") }, 2, KEY, 3, 5 },
  { "store.packages[0]", config_text, { K ("store"), K ("packages"), I (0) }, 3, VALUE, 5, 7 },
  { "store.packages[1]", config_text, { K ("store"), K ("packages"), I (1) }, 3, VALUE, 6, 7 },
  { "index step with KEY is the value", config_text,
    { K ("store"), K ("packages"), I (1) }, 3, KEY, 6, 7 },
  { "blacklist[2] after a nested object", config_text, { K ("blacklist"), I (2) }, 2, VALUE,
    9, 41 },
  { "inside a nested array", config_text, { K ("blacklist"), I (1), K ("x"), I (1) }, 4, VALUE,
    9, 36 },
  { "key after skipped containers", config_text, { K ("network") }, 1, KEY, 10, 3 },
  { "network value", config_text, { K ("network") }, 1, VALUE, 10, 14 },
  { "skips strings holding brackets and quotes",
    "{\"a\": \"}]\\\"{[\", \"b\": [\"]\", {\"}\": \"\\\\\"}], \"c\": true}", { K ("c") }, 1, VALUE,
    1, 47 },
  { "skips numbers and literals", "{\"a\": -1.5e+3, \"b\": null, \"c\": false, \"d\": 0}",
    { K ("d") }, 1, VALUE, 1, 44 },
  { "escaped key matches", "{\"st\\u006fre\": {\"m\\/\": 1}}", { K ("store"), K ("m/") }, 2,
    VALUE, 1, 24 },
  { "surrogate pair key", "{\"\\ud83d\\ude00\": 7}", { K ("\xf0\x9f\x98\x80") }, 1, VALUE,
    1, 18 },
  { "two-byte UTF-8 key", "{\"\xc3\xa9\": 1}", { K ("\xc3\xa9") }, 1, VALUE, 1, 7 },
  { "columns count characters, not bytes", "[\"\xc3\xa9\xc3\xa9\", \"\xe2\x82\xac\", 3]",
    { I (2) }, 1, VALUE, 1, 13 },
  { "prefix of a key does not match", "{\"stor\": 1, \"store\": 2}", { K ("store") }, 1, VALUE,
    1, 22 },
  { "longer key does not match", "{\"stores\": 1}", { K ("store") }, 1, VALUE, 0, 0 },
  { "first of duplicate keys", "{\"a\": 1, \"a\": 2}", { K ("a") }, 1, KEY, 1, 2 },
  { "CRLF line ends", "{\r\n  \"a\": 1\r\n}", { K ("a") }, 1, VALUE, 2, 8 },
  { "tab counts one column", "{\n\t\"a\":\t1}", { K ("a") }, 1, VALUE, 2, 7 },
  { "missing key", config_text, { K ("stor") }, 1, KEY, 0, 0 },
  { "missing nested key", config_text, { K ("store"), K ("modes") }, 2, VALUE, 0, 0 },
  { "index out of range", config_text, { K ("blacklist"), I (3) }, 2, VALUE, 0, 0 },
  { "key step on an array", config_text, { K ("blacklist"), K ("x") }, 2, VALUE, 0, 0 },
  { "index step on an object", config_text, { K ("store"), I (0) }, 2, VALUE, 0, 0 },
  { "empty object", "{ }", { K ("a") }, 1, VALUE, 0, 0 },
  { "empty array", "[ ]", { I (0) }, 1, VALUE, 0, 0 },
  { "empty text", "", { { 0 } }, 0, VALUE, 0, 0 },
  { "unterminated string", "{\"a\": \"xx", { K ("b") }, 1, VALUE, 0, 0 },
  { "unterminated object", "{\"a\": [1, 2", { K ("b") }, 1, VALUE, 0, 0 },
  { "bad escape", "{\"a\\q\": 1}", { K ("a") }, 1, VALUE, 0, 0 },
  { "bad \\u escape", "{\"\\u12\": 1}", { K ("a") }, 1, VALUE, 0, 0 },
  { "missing colon", "{\"a\" 1}", { K ("a") }, 1, VALUE, 0, 0 },
  { "truncated after colon", "{\"a\":", { K ("a") }, 1, VALUE, 0, 0 },
};

static void
test_cases (void **state)
{
  int failures = 0;
  for (size_t i = 0; i < N_ELEMS (cases); i++)
    {
      const struct locate_case *c = &cases[i];
      struct json_pos pos = { -7, -7 };
      int r = json_locate (c->text, strlen (c->text), c->path, c->n, c->what, &pos);
      bool want_ok = c->line != 0;
      if (want_ok ? (r != 0 || pos.line != c->line || pos.column != c->column) : r != -1)
        {
          printf ("# case \"%s\": got r=%d %d:%d, want %s %d:%d\n", c->name, r, pos.line,
                  pos.column, want_ok ? "0" : "-1", c->line, c->column);
          failures++;
        }
      if (!want_ok && (pos.line != -7 || pos.column != -7))
        {
          printf ("# case \"%s\": OUT written on failure\n", c->name);
          failures++;
        }
    }
  assert_int_equal (failures, 0);
}

/* LEN is honoured: text after it is not looked at. */
static void
test_length (void **state)
{
  const char *text = "{\"a\": 1, \"b\": 2}";
  struct json_pos pos;
  struct json_step b = JSON_KEY ("b");
  assert_int_equal (json_locate (text, strlen (text), &b, 1, VALUE, &pos), 0);
  assert_int_equal (pos.column, 15);
  assert_int_equal (json_locate (text, 9, &b, 1, VALUE, &pos), -1);
  assert_int_equal (json_locate (NULL, 0, NULL, 0, VALUE, &pos), -1);
  assert_int_equal (json_locate (text, strlen (text), NULL, 1, VALUE, &pos), -1);
}

/* Deep nesting is skipped without recursion (no stack overflow). */
static void
test_deep_nesting (void **state)
{
  size_t depth = 1000000;
  size_t len = 2 * depth + 32;
  char *text = malloc (len);
  assert_non_null (text);
  size_t o = 0;
  o += (size_t) sprintf (text + o, "{\"a\": ");
  memset (text + o, '[', depth);
  o += depth;
  memset (text + o, ']', depth);
  o += depth;
  o += (size_t) sprintf (text + o, ", \"b\": 1}");
  struct json_pos pos;
  struct json_step b = JSON_KEY ("b");
  assert_int_equal (json_locate (text, o, &b, 1, VALUE, &pos), 0);
  assert_int_equal (pos.line, 1);
  assert_int_equal (pos.column, (int) (2 * depth + 14));
  free (text);
}

static void
test_offset_pos (void **state)
{
  const char *text = "ab\n\xc3\xa9x\n\nz";
  size_t len = strlen (text);
  static const struct
  {
    size_t offset;
    int line, column;
  } want[] = {
    { 0, 1, 1 }, { 1, 1, 2 }, { 2, 1, 3 },  { 3, 2, 1 }, { 5, 2, 2 },
    { 6, 2, 3 }, { 7, 3, 1 }, { 8, 4, 1 }, { 9, 4, 2 }, { 100, 4, 2 },
  };
  for (size_t i = 0; i < N_ELEMS (want); i++)
    {
      struct json_pos p = json_offset_pos (text, len, want[i].offset);
      assert_int_equal (p.line, want[i].line);
      assert_int_equal (p.column, want[i].column);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_cases),
    cmocka_unit_test (test_length),
    cmocka_unit_test (test_deep_nesting),
    cmocka_unit_test (test_offset_pos),
  };
  return unit_run (tests);
}
