/* fake_addr.c - the DNS stub's made-up addresses (see fake_addr.h). */
#include "fake_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "egress_proto.h"

#define NAME_MAX_LEN 253
/* open addressing over indices + 1 (0: empty); a power of two above
   FAKE_ADDR_MAX, so it never fills up */
#define SLOTS (1u << 17)

static pthread_mutex_t fa_lock = PTHREAD_MUTEX_INITIALIZER;
static char **names;      /* names[i] has the address base + i + 1 */
static size_t n_names, cap_names;
static uint32_t *slots;   /* SLOTS entries */

static uint32_t
fake_base (void)
{
  struct in_addr a;
  inet_pton (AF_INET, EGRESS_FAKE_NET, &a);
  return ntohl (a.s_addr);
}

static uint64_t
hash_name (const char *s)
{
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= 1099511628211ULL;
    }
  return h;
}

/* NAME lowercase without a final dot into BUF (NAME_MAX_LEN + 1). */
static int
normalize (const char *name, char *buf)
{
  size_t len = strlen (name);
  if (len > 0 && name[len - 1] == '.')
    len--;
  if (len == 0 || len > NAME_MAX_LEN)
    return -1;
  for (size_t i = 0; i < len; i++)
    buf[i] = (char) tolower ((unsigned char) name[i]);
  buf[len] = '\0';
  return 0;
}

/* The slot of NAME: where it is, or the empty one it would go in. */
static size_t
find_slot (const char *name)
{
  size_t i = (size_t) (hash_name (name) & (SLOTS - 1));
  while (slots[i] != 0 && strcmp (names[slots[i] - 1], name) != 0)
    i = (i + 1) & (SLOTS - 1);
  return i;
}

int
fake_addr_for (const char *name, struct in_addr *out)
{
  char key[NAME_MAX_LEN + 1];
  if (normalize (name, key) < 0)
    {
      errno = EINVAL;
      return -1;
    }
  int rc = -1, e = 0;
  pthread_mutex_lock (&fa_lock);
  if (!slots && !(slots = calloc (SLOTS, sizeof *slots)))
    {
      e = ENOMEM;
      goto out;
    }
  size_t s = find_slot (key);
  if (slots[s] == 0)
    {
      if (n_names == FAKE_ADDR_MAX)
        {
          e = ENOSPC;
          goto out;
        }
      if (n_names == cap_names)
        {
          size_t nc = cap_names ? cap_names * 2 : 64;
          char **v = realloc (names, nc * sizeof *v);
          if (!v)
            {
              e = ENOMEM;
              goto out;
            }
          names = v;
          cap_names = nc;
        }
      if (!(names[n_names] = strdup (key)))
        {
          e = ENOMEM;
          goto out;
        }
      n_names++;
      slots[s] = (uint32_t) n_names;
    }
  out->s_addr = htonl (fake_base () + slots[s]);
  rc = 0;
out:
  pthread_mutex_unlock (&fa_lock);
  if (rc < 0)
    errno = e;
  return rc;
}

bool
fake_addr_is (struct in_addr a)
{
  uint32_t mask = ~0u << (32 - EGRESS_FAKE_PREFIX);
  return (ntohl (a.s_addr) & mask) == (fake_base () & mask);
}

int
fake_addr_name (struct in_addr a, char *buf, size_t size)
{
  if (!fake_addr_is (a))
    return -1;
  uint32_t i = ntohl (a.s_addr) - fake_base ();
  int rc = -1;
  pthread_mutex_lock (&fa_lock);
  if (i >= 1 && i <= n_names && strlen (names[i - 1]) < size)
    {
      strcpy (buf, names[i - 1]);
      rc = 0;
    }
  pthread_mutex_unlock (&fa_lock);
  return rc;
}

void
fake_addr_reset (void)
{
  pthread_mutex_lock (&fa_lock);
  for (size_t i = 0; i < n_names; i++)
    free (names[i]);
  free (names);
  free (slots);
  names = NULL;
  slots = NULL;
  n_names = cap_names = 0;
  pthread_mutex_unlock (&fa_lock);
}
