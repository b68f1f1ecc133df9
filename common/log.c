#include "log.h"

#include <stdarg.h>
#include <stdio.h>

int cage_log_verbose = 0;
const char *cage_log_prog = "cagefs";

static void
vlog (const char *level, const char *fmt, va_list ap)
{
  fprintf (stderr, "%s: %s", cage_log_prog, level);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
}

void
cage_warn (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vlog ("warning: ", fmt, ap);
  va_end (ap);
}

void
cage_info (const char *fmt, ...)
{
  if (cage_log_verbose < 1)
    return;
  va_list ap;
  va_start (ap, fmt);
  vlog ("", fmt, ap);
  va_end (ap);
}

void
cage_debug (const char *fmt, ...)
{
  if (cage_log_verbose < 2)
    return;
  va_list ap;
  va_start (ap, fmt);
  vlog ("debug: ", fmt, ap);
  va_end (ap);
}
