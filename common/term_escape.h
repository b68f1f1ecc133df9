/* term_escape.h - make text from the agent safe to print for people.

   File names, file contents and process names that the host commands
   (diff, audit, accept) print come from the agent: a newline in a name
   would forge a line of output, an escape sequence would act on the
   user's terminal.  Everything that is not printable text is shown as
   \xNN, one escape per byte:
     - C0 controls (0x00-0x1f) and DEL (0x7f), but the ones the caller keeps
       (TERM_KEEP_NEWLINE, TERM_KEEP_TAB: for file contents);
     - C1 controls (U+0080-U+009F, as their two UTF-8 bytes);
     - bytes that are not valid UTF-8 (stray continuation bytes, overlong
       forms, surrogates, beyond U+10FFFF, cut sequences);
     - Unicode's bidirectional controls (U+202A-U+202E, U+2066-U+2069,
       U+200E, U+200F, U+061C), which reorder what the user reads.
   A backslash is kept: the output names what was there without ambiguity
   for people; exact text is what --json is for.  Valid UTF-8 text stays
   as it is.  Escaping is idempotent (its output has nothing to escape). */
#ifndef CAGE_TERM_ESCAPE_H
#define CAGE_TERM_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

enum
{
  TERM_KEEP_NEWLINE = 1, /* '\n' stays (the lines of a file's content) */
  TERM_KEEP_TAB = 2,     /* '\t' stays */
};

/* The escaped form of the LEN bytes at S, NUL-terminated, malloc'd; NULL
   when out of memory. */
char *term_escape (const char *s, size_t len, unsigned flags);

/* Shorthand for a NUL-terminated string; never NULL: "?" when out of memory
   (a static string: free it with term_escape_free). */
char *term_escape_str (const char *s, unsigned flags);
void term_escape_free (char *s);

/* Write S escaped to F.  Returns what fputs returns. */
int term_fputs (const char *s, unsigned flags, FILE *f);

#endif
