/* suggest.h - "did you mean": the closest of a list of names. */
#ifndef CAGE_SUGGEST_H
#define CAGE_SUGGEST_H

#include <stddef.h>

/* The Levenshtein distance between A and B (insertions, deletions and
   substitutions of bytes), or SIZE_MAX when either is longer than 64. */
size_t suggest_distance (const char *a, const char *b);

/* The name of CHOICES (NULL-terminated) closest to WORD, when it is at most
   2 edits away (the first of equally close ones), or else the only one
   WORD (3 or more characters) begins; else NULL. */
const char *suggest_closest (const char *word, const char *const *choices);

#endif
