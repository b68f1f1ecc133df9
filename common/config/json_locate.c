/* json_locate.c - a tiny JSON tokenizer that finds where an element starts. */
#include "json_locate.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct cursor
{
  const char *s;
  size_t len;
  size_t i;
  struct json_pos pos; /* of s[i] */
};

static int
peek (const struct cursor *c)
{
  return c->i < c->len ? (unsigned char) c->s[c->i] : -1;
}

static void
advance (struct cursor *c)
{
  if (c->i >= c->len)
    return;
  unsigned char b = (unsigned char) c->s[c->i++];
  if (b == '\n')
    {
      c->pos.line++;
      c->pos.column = 1;
    }
  else if ((b & 0xC0) != 0x80)
    /* A lead byte (or ASCII): the next character is one column further.
       Continuation bytes belong to the character already counted. */
    c->pos.column++;
}

static void
skip_ws (struct cursor *c)
{
  for (int ch; (ch = peek (c)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r';)
    advance (c);
}

static int
hexval (int ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Read the 4 hex digits of a \u escape (cursor after the 'u'). */
static long
read_hex4 (struct cursor *c)
{
  long v = 0;
  for (int k = 0; k < 4; k++)
    {
      int h = hexval (peek (c));
      if (h < 0)
        return -1;
      v = v * 16 + h;
      advance (c);
    }
  return v;
}

/* Compare one decoded byte B with the next byte of the key. */
static void
cmp_byte (bool *eq, const unsigned char **k, unsigned char b)
{
  if (!*eq)
    return;
  if (b != 0 && **k == b)
    (*k)++;
  else
    *eq = false;
}

static void
cmp_codepoint (bool *eq, const unsigned char **k, uint32_t cp)
{
  unsigned char buf[4];
  size_t n;
  if (cp < 0x80)
    {
      buf[0] = (unsigned char) cp;
      n = 1;
    }
  else if (cp < 0x800)
    {
      buf[0] = (unsigned char) (0xC0 | (cp >> 6));
      buf[1] = (unsigned char) (0x80 | (cp & 0x3F));
      n = 2;
    }
  else if (cp < 0x10000)
    {
      buf[0] = (unsigned char) (0xE0 | (cp >> 12));
      buf[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
      buf[2] = (unsigned char) (0x80 | (cp & 0x3F));
      n = 3;
    }
  else
    {
      buf[0] = (unsigned char) (0xF0 | (cp >> 18));
      buf[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
      buf[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
      buf[3] = (unsigned char) (0x80 | (cp & 0x3F));
      n = 4;
    }
  for (size_t j = 0; j < n; j++)
    cmp_byte (eq, k, buf[j]);
}

/* Consume the string at the cursor (which is at its opening quote).  With
   KEY, compare its decoded contents with KEY.  Returns 1 if equal, 0 if
   not (or KEY is NULL), -1 if the string is malformed or unterminated. */
static int
scan_string (struct cursor *c, const char *key)
{
  if (peek (c) != '"')
    return -1;
  advance (c);
  const unsigned char *k = (const unsigned char *) (key ? key : "");
  bool eq = key != NULL;
  for (;;)
    {
      int ch = peek (c);
      if (ch < 0)
        return -1;
      advance (c);
      if (ch == '"')
        return eq && *k == '\0';
      if (ch != '\\')
        {
          cmp_byte (&eq, &k, (unsigned char) ch);
          continue;
        }
      int e = peek (c);
      if (e < 0)
        return -1;
      advance (c);
      switch (e)
        {
        case '"': case '\\': case '/':
          cmp_byte (&eq, &k, (unsigned char) e);
          break;
        case 'b': cmp_byte (&eq, &k, '\b'); break;
        case 'f': cmp_byte (&eq, &k, '\f'); break;
        case 'n': cmp_byte (&eq, &k, '\n'); break;
        case 'r': cmp_byte (&eq, &k, '\r'); break;
        case 't': cmp_byte (&eq, &k, '\t'); break;
        case 'u':
          {
            long cp = read_hex4 (c);
            if (cp < 0)
              return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF && peek (c) == '\\'
                && c->i + 1 < c->len && c->s[c->i + 1] == 'u')
              {
                /* A surrogate pair: \uD83D\uDE00. */
                struct cursor save = *c;
                advance (c);
                advance (c);
                long lo = read_hex4 (c);
                if (lo >= 0xDC00 && lo <= 0xDFFF)
                  cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                  *c = save;
              }
            cmp_codepoint (&eq, &k, (uint32_t) cp);
            break;
          }
        default:
          return -1;
        }
    }
}

/* Skip the value at the cursor.  Containers are skipped by counting
   brackets, without recursion, so deep nesting cannot exhaust the stack. */
static int
skip_value (struct cursor *c)
{
  int ch = peek (c);
  if (ch == '"')
    return scan_string (c, NULL) < 0 ? -1 : 0;
  if (ch == '{' || ch == '[')
    {
      size_t depth = 0;
      for (;;)
        {
          ch = peek (c);
          if (ch < 0)
            return -1;
          if (ch == '"')
            {
              if (scan_string (c, NULL) < 0)
                return -1;
              continue;
            }
          advance (c);
          if (ch == '{' || ch == '[')
            depth++;
          else if ((ch == '}' || ch == ']') && --depth == 0)
            return 0;
        }
    }
  /* A number or a literal (true, false, null). */
  size_t start = c->i;
  while ((ch = peek (c)) >= 0
         && ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
             || (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '+' || ch == '.'))
    advance (c);
  return c->i > start ? 0 : -1;
}

/* Move the cursor to the value of member KEY of the object at the cursor.
   *KEYPOS is set to the key's opening quote. */
static int
enter_member (struct cursor *c, const char *key, struct json_pos *keypos)
{
  if (peek (c) != '{')
    return -1;
  advance (c);
  skip_ws (c);
  if (peek (c) == '}')
    return -1;
  for (;;)
    {
      skip_ws (c);
      *keypos = c->pos;
      int m = scan_string (c, key);
      if (m < 0)
        return -1;
      skip_ws (c);
      if (peek (c) != ':')
        return -1;
      advance (c);
      skip_ws (c);
      if (m)
        return 0;
      if (skip_value (c) < 0)
        return -1;
      skip_ws (c);
      if (peek (c) != ',')
        return -1; /* '}' (not found) or malformed */
      advance (c);
    }
}

/* Move the cursor to element INDEX of the array at the cursor. */
static int
enter_element (struct cursor *c, size_t index)
{
  if (peek (c) != '[')
    return -1;
  advance (c);
  skip_ws (c);
  if (peek (c) == ']')
    return -1;
  for (size_t i = 0;; i++)
    {
      skip_ws (c);
      if (i == index)
        return 0;
      if (skip_value (c) < 0)
        return -1;
      skip_ws (c);
      if (peek (c) != ',')
        return -1;
      advance (c);
    }
}

int
json_locate (const char *text, size_t len, const struct json_step *path,
             size_t n, enum json_locate_what what, struct json_pos *out)
{
  if (!text || (n > 0 && !path))
    return -1;
  struct cursor c = { .s = text, .len = len, .i = 0, .pos = { 1, 1 } };
  struct json_pos keypos = { 0, 0 };
  bool last_is_key = false;
  skip_ws (&c);
  for (size_t k = 0; k < n; k++)
    {
      int r = path[k].key ? enter_member (&c, path[k].key, &keypos)
                          : enter_element (&c, path[k].index);
      if (r < 0)
        return -1;
      last_is_key = path[k].key != NULL;
    }
  if (peek (&c) < 0)
    return -1;
  if (out)
    *out = (what == JSON_LOCATE_KEY && last_is_key) ? keypos : c.pos;
  return 0;
}

struct json_pos
json_offset_pos (const char *text, size_t len, size_t offset)
{
  struct cursor c = { .s = text, .len = offset < len ? offset : len, .i = 0,
                      .pos = { 1, 1 } };
  while (c.i < c.len)
    advance (&c);
  return c.pos;
}
