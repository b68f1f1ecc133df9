/* error.h - errors travel up as values with context; only main prints. */
#ifndef CAGE_ERROR_H
#define CAGE_ERROR_H

#include <stdbool.h>

struct cage_error
{
  int errnum;      /* errno value, or 0 when not a syscall failure */
  char msg[2048];  /* what failed, where, and the fix when known */
};

/* Set ERR (if non-NULL) and return -1.  With ERRNUM != 0, ": strerror" is
   appended.  Always returns -1 so callers can `return cage_error_set (...)`. */
int cage_error_set (struct cage_error *err, int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

/* Prefix the existing message with more context: "CONTEXT: old message". */
int cage_error_prefix (struct cage_error *err, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* Print the error once: "PROG: error: MSG" on stderr, or with JSON a
   single object {"error": MSG, "errno": N} on stdout. */
void cage_error_print (const struct cage_error *err, const char *prog, bool json);

#endif
