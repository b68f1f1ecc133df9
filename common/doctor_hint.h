/* doctor_hint.h - the end of a startup error that `cagefs doctor`
   explains (user namespaces, /dev/fuse, fusermount3, the nix-daemon,
   cgroups): "...; run `cagefs doctor`". */
#ifndef CAGE_DOCTOR_HINT_H
#define CAGE_DOCTOR_HINT_H

#include <stdio.h>
#include <string.h>

#include "error.h"

#define CAGE_DOCTOR_HINT "; run `cagefs doctor`"

/* Append the hint to ERR's message (if ERR); returns -1 like
   cage_error_set, so `return cage_error_doctor_hint (err);` works. */
static inline int
cage_error_doctor_hint (struct cage_error *err)
{
  if (err && !strstr (err->msg, CAGE_DOCTOR_HINT))
    {
      size_t n = strlen (err->msg);
      snprintf (err->msg + n, sizeof err->msg - n, "%s", CAGE_DOCTOR_HINT);
    }
  return -1;
}

#endif
