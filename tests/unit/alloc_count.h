/* alloc_count.h - count the allocations made while ALLOC_WATCH is set, for
   tests that check a function does not allocate.  The test binary is
   linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
   (mk/unit.mk); include this in exactly one file of the binary. */
#ifndef CAGE_TEST_ALLOC_COUNT_H
#define CAGE_TEST_ALLOC_COUNT_H

#include <stdbool.h>
#include <stddef.h>

void *__real_malloc (size_t n);
void *__real_calloc (size_t n, size_t size);
void *__real_realloc (void *p, size_t n);
char *__real_strdup (const char *s);
static volatile bool alloc_watch;
static volatile int alloc_count;

void *__wrap_malloc (size_t n);
void *__wrap_calloc (size_t n, size_t size);
void *__wrap_realloc (void *p, size_t n);
char *__wrap_strdup (const char *s);

void *
__wrap_malloc (size_t n)
{
  alloc_count += alloc_watch;
  return __real_malloc (n);
}

void *
__wrap_calloc (size_t n, size_t size)
{
  alloc_count += alloc_watch;
  return __real_calloc (n, size);
}

void *
__wrap_realloc (void *p, size_t n)
{
  alloc_count += alloc_watch;
  return __real_realloc (p, n);
}

char *
__wrap_strdup (const char *s)
{
  alloc_count += alloc_watch;
  return __real_strdup (s);
}

#endif
