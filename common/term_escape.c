/* term_escape.c - escape text for the terminal (term_escape.h). */
#include "term_escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char fallback[] = "?";

/* The length of the valid UTF-8 sequence at U (N bytes left), its code
   point in *CP; 0 when it is not one. */
static size_t
utf8_len (const unsigned char *u, size_t n, uint32_t *cp)
{
  unsigned c = u[0];
  size_t len;
  uint32_t v, min;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2, v = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, v = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, v = c & 0x07, min = 0x10000;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t k = 1; k < len; k++)
    {
      if ((u[k] & 0xc0) != 0x80)
        return 0;
      v = (v << 6) | (u[k] & 0x3f);
    }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return len;
}

static bool
bidi_or_c1 (uint32_t cp)
{
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e)
         || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

char *
term_escape (const char *s, size_t len, unsigned flags)
{
  static const char hex[] = "0123456789abcdef";
  /* at most 4 output bytes an input byte */
  if (len > (SIZE_MAX - 1) / 4)
    return NULL;
  char *out = malloc (len * 4 + 1);
  if (!out)
    return NULL;
  const unsigned char *u = (const unsigned char *) s;
  size_t o = 0, i = 0;
  while (i < len)
    {
      unsigned c = u[i];
      size_t n = 1, esc = 0;
      if (c == '\n' && (flags & TERM_KEEP_NEWLINE))
        ;
      else if (c == '\t' && (flags & TERM_KEEP_TAB))
        ;
      else if (c < 0x20 || c == 0x7f)
        esc = 1;
      else if (c >= 0x80)
        {
          uint32_t cp = 0;
          n = utf8_len (u + i, len - i, &cp);
          if (n == 0)
            n = esc = 1;
          else if (bidi_or_c1 (cp))
            esc = n;
        }
      if (!esc)
        {
          memcpy (out + o, u + i, n);
          o += n;
        }
      else
        for (size_t k = 0; k < esc; k++)
          {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[u[i + k] >> 4];
            out[o++] = hex[u[i + k] & 0xf];
          }
      i += n;
    }
  out[o] = '\0';
  return out;
}

char *
term_escape_str (const char *s, unsigned flags)
{
  char *e = term_escape (s ? s : "", s ? strlen (s) : 0, flags);
  return e ? e : fallback;
}

void
term_escape_free (char *s)
{
  if (s != fallback)
    free (s);
}

int
term_fputs (const char *s, unsigned flags, FILE *f)
{
  char *e = term_escape_str (s, flags);
  int r = fputs (e, f);
  term_escape_free (e);
  return r;
}
