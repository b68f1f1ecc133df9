/* suggest.c - "did you mean": Levenshtein distance over short names. */
#include "suggest.h"

#include <stdint.h>
#include <string.h>

#define SUGGEST_MAX_LEN 64
#define SUGGEST_MAX_DISTANCE 2

size_t
suggest_distance (const char *a, const char *b)
{
  size_t n = strlen (a), m = strlen (b);
  if (n > SUGGEST_MAX_LEN || m > SUGGEST_MAX_LEN)
    return SIZE_MAX;
  /* One row of the table, updated in place. */
  size_t row[SUGGEST_MAX_LEN + 1];
  for (size_t j = 0; j <= m; j++)
    row[j] = j;
  for (size_t i = 1; i <= n; i++)
    {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= m; j++)
        {
          size_t up = row[j];
          size_t best = diag + (a[i - 1] != b[j - 1]);
          if (up + 1 < best)
            best = up + 1;
          if (row[j - 1] + 1 < best)
            best = row[j - 1] + 1;
          row[j] = best;
          diag = up;
        }
    }
  return row[m];
}

const char *
suggest_closest (const char *word, const char *const *choices)
{
  const char *best = NULL;
  size_t best_d = SUGGEST_MAX_DISTANCE + 1;
  for (const char *const *c = choices; word && c && *c; c++)
    {
      size_t d = suggest_distance (word, *c);
      if (d < best_d)
        {
          best = *c;
          best_d = d;
        }
    }
  /* A word of 3 or more letters that begins exactly one choice ("pack"
     for "packages") names it too. */
  size_t n = word ? strlen (word) : 0;
  for (const char *const *c = choices; !best && n >= 3 && c && *c; c++)
    if (strncmp (*c, word, n) == 0)
      {
        for (const char *const *d = c + 1; *d; d++)
          if (strncmp (*d, word, n) == 0)
            return NULL;
        best = *c;
      }
  return best;
}
