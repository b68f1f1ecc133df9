/* config_impl.h - private to config.c, config_keys.c and config_load.c:
   the enums' names, the messages' shared words, and the loader that walks
   a parsed cage.json.  Everyone else includes config.h.  */
#ifndef CAGEFS_CONFIG_IMPL_H
#define CAGEFS_CONFIG_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "json_locate.h"

#define CONFIG_FILE "cage.json"
#define VIEW_CHOICES "direct, cow, tracked"
#define MODE_CHOICES "readonly, shared, copy, isolated"
#define NETWORK_CHOICES "off, host, filtered"
#define ENV_NAME_RULE "letters, digits and _, not starting with a digit"
#define MEMORY_EXAMPLE "e.g. \"512M\" or \"2G\" (K, M, G, T are powers of 1024)"

/* ---- names ---------------------------------------------------------- */

/* Each enum's names, indexed by its values (0, 1, ...), NULL-terminated:
   the one place a name is spelled. */
static const char *const mode_names[] = {
  [STORE_READONLY] = "readonly", [STORE_SHARED] = "shared", [STORE_COPY] = "copy",
  [STORE_ISOLATED] = "isolated", NULL,
};
static const char *const network_names[] = {
  [NETWORK_OFF] = "off", [NETWORK_HOST] = "host", [NETWORK_FILTERED] = "filtered", NULL,
};
static const char *const view_names[] = {
  [VIEW_DIRECT] = "direct", [VIEW_COW] = "cow", [VIEW_TRACKED] = "tracked", NULL,
};
static const char *const profile_names[] = {
  [PROFILE_STANDARD] = "standard", [PROFILE_STRICT] = "strict", [PROFILE_RELAXED] = "relaxed", NULL,
};
static const char *const hook_names[] = {
  [HOOK_PRE_MOUNT] = "pre-mount", [HOOK_POST_MOUNT] = "post-mount",
  [HOOK_PRE_UMOUNT] = "pre-umount", [HOOK_POST_UMOUNT] = "post-umount", NULL,
};
#define PROFILE_CHOICES "strict, standard, relaxed"

/* The index of S in NAMES, or -1. */
static inline int
name_index (const char *const *names, const char *s)
{
  for (int i = 0; s && names[i]; i++)
    if (strcmp (names[i], s) == 0)
      return i;
  return -1;
}

/* NAMES[V], or "unknown" past its end. */
static inline const char *
name_of (const char *const *names, size_t n, int v)
{
  return v >= 0 && (size_t) v < n - 1 ? names[v] : "unknown";
}

#define NAME_OF(names, v) name_of (names, sizeof names / sizeof *names, (int) (v))

/* Set *OUT to S's index in NAMES: 0, or -1 when S is none of them. */
static inline int
from_name (const char *const *names, const char *s, int *out)
{
  int i = name_index (names, s);
  if (i < 0)
    return -1;
  *out = i;
  return 0;
}

#define FROM_NAME(names, s, out) from_name (names, s, (int *) (out))

/* ---- config.c ------------------------------------------------------- */

/* S as a JSON-style quoted string for messages: control characters, '"'
   and '\\' escaped, cut (at a character boundary) after about 60 bytes. */
const char *quote (char *buf, size_t size, const char *s);
#define QUOTED(s) quote ((char[80]){ 0 }, 80, (s))

/* S with control characters escaped ("\n", "\u0001"), so a message stays
   one line: jansson's syntax errors and the blacklist's reasons quote raw text. */
const char *one_line (char *buf, size_t size, const char *s);

/* "512M" -> bytes.  0: ok, -1: not a size, -2: too large or zero. */
int memory_from_string (const char *s, unsigned long long *out);

/* Append a copy of S to the NULL-terminated vector *V of *N strings,
   unless it is already there.  -1 with errno ENOMEM on failure. */
int strv_add (char ***v, size_t *n, const char *s);

/* Put the owned "NAME=value" A into V (N strings, room for one more and the
   NULL already made), replacing an earlier NAME.  Cannot fail. */
void env_set_put (char **v, size_t *n, char *a);

/* Make room for MORE more strings in *V (N strings). */
int strv_reserve (char ***v, size_t n, size_t more);

/* ---- config_keys.c -------------------------------------------------- */

struct loader
{
  const char *text;
  size_t len;
  const char *name;
  struct json_step path[4];
  size_t depth;
  struct cage_error *err;
};

/* Load the document ROOT into OUT (a fresh configuration); *HAVE_MODE and
   *HAVE_NETWORK tell whether it set the store mode and the network. */
int load_root (struct loader *L, json_t *root, struct cage_config *out, bool *have_mode,
               bool *have_network);

#endif
