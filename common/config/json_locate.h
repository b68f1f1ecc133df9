/* json_locate.h - where in a JSON text a key or value starts.

   jansson gives positions only for syntax errors; this tiny tokenizer finds
   the line and column of an element named by a path such as
   ["store", "mode"] or ["blacklist", 2], so that errors found after
   parsing (unknown key, wrong type, bad value) can name FILE:LINE:COLUMN.

   Lines and columns are 1-based.  Columns count characters (UTF-8 sequences),
   as jansson's do; a tab is one column.  The text is expected to be valid
   JSON (parse it with jansson first); the locator does not allocate, does
   not recurse, and fails cleanly on malformed input.  With duplicate keys the
   first one is found.  */
#ifndef CAGE_JSON_LOCATE_H
#define CAGE_JSON_LOCATE_H

#include <stddef.h>

/* One step of a path: an object member (KEY != NULL) or an array element
   (KEY == NULL, INDEX). */
struct json_step
{
  const char *key;
  size_t index;
};

#define JSON_KEY(k) ((struct json_step){ .key = (k) })
#define JSON_INDEX(i) ((struct json_step){ .key = NULL, .index = (i) })

struct json_pos
{
  int line;
  int column;
};

enum json_locate_what
{
  JSON_LOCATE_VALUE, /* the first character of the value */
  JSON_LOCATE_KEY,   /* the opening quote of the last step's key; for an
                        index step, same as JSON_LOCATE_VALUE */
};

/* Find the element at PATH (N steps; N == 0 is the top-level value) in TEXT
   (LEN bytes).  Returns 0 and sets *OUT, or -1 when the path does not exist
   or the text is malformed before the element is reached.  */
int json_locate (const char *text, size_t len, const struct json_step *path,
                 size_t n, enum json_locate_what what, struct json_pos *out);

/* The line and column of byte OFFSET in TEXT (clamped to LEN).  */
struct json_pos json_offset_pos (const char *text, size_t len, size_t offset);

#endif
