/* log.h - diagnostics for people (stderr), never for machines. */
#ifndef CAGE_LOG_H
#define CAGE_LOG_H

extern int cage_log_verbose;          /* 0 quiet, 1 info, 2 debug */
extern const char *cage_log_prog;     /* "cagefs" or "cage" */

void cage_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void cage_info (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void cage_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
