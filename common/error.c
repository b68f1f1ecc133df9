#include "error.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
cage_error_set (struct cage_error *err, int errnum, const char *fmt, ...)
{
  if (!err)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (err->msg, sizeof err->msg, fmt, ap);
  va_end (ap);
  if (n < 0)
    n = 0;
  if (errnum && (size_t) n < sizeof err->msg)
    snprintf (err->msg + n, sizeof err->msg - n, ": %s", strerror (errnum));
  err->errnum = errnum;
  return -1;
}

int
cage_error_prefix (struct cage_error *err, const char *fmt, ...)
{
  if (!err)
    return -1;
  char prefix[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  char old[sizeof err->msg];
  memcpy (old, err->msg, sizeof old);
  size_t n = strlen (prefix);
  if (n > sizeof err->msg - 3)
    n = sizeof err->msg - 3;
  memcpy (err->msg, prefix, n);
  memcpy (err->msg + n, ": ", 2);
  size_t rest = sizeof err->msg - n - 2;
  strncpy (err->msg + n + 2, old, rest - 1);
  err->msg[sizeof err->msg - 1] = '\0';
  return -1;
}

void
cage_error_print (const struct cage_error *err, const char *prog, bool json)
{
  if (json)
    {
      json_t *o = json_pack ("{s:s, s:i}", "error", err->msg, "errno", err->errnum);
      if (o)
        {
          char *s = json_dumps (o, JSON_COMPACT);
          if (s)
            {
              fprintf (stdout, "%s\n", s);
              free (s);
            }
          json_decref (o);
        }
      fflush (stdout);
    }
  fprintf (stderr, "%s: error: %s\n", prog, err->msg);
}
