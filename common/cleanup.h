/* cleanup.h - __attribute__((cleanup)) helpers so every exit path frees. */
#ifndef CAGE_CLEANUP_H
#define CAGE_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void cage_freep (void *p)
{
  free (*(void **) p);
}

static inline void cage_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
  *fd = -1;
}

static inline void cage_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
  *f = NULL;
}

static inline void cage_closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
  *d = NULL;
}

/* Free a NULL-terminated vector of strings. */
static inline void cage_strv_free (char **v)
{
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

static inline void cage_strvp (char ***v)
{
  cage_strv_free (*v);
  *v = NULL;
}

#define autofree __attribute__ ((cleanup (cage_freep)))
#define autoclose __attribute__ ((cleanup (cage_closep)))
#define autofclose __attribute__ ((cleanup (cage_fclosep)))
#define autoclosedir __attribute__ ((cleanup (cage_closedirp)))
#define autostrv __attribute__ ((cleanup (cage_strvp)))

/* Hand ownership of an fd / pointer to the caller. */
static inline int steal_fd (int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *steal_ptr (void *pp)
{
  void **p = (void **) pp;
  void *r = *p;
  *p = NULL;
  return r;
}

#endif
