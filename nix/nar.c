/* nar.c - a strict streaming reader for Nix ARchives, and unpacking one. */
#include "nar.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define NAR_CHUNK (64 * 1024)
#define TOKEN_MAX 16 /* longer than every keyword ("nix-archive-1", "executable") */

_Static_assert (PATH_MAX > NAR_MAX_TARGET, "a target fits a path");

/* ---- the reader ------------------------------------------------------ */

struct reader
{
  const unsigned char *buf; /* buffer mode: the archive */
  size_t len;
  int fd;                   /* fd mode when >= 0 */
  unsigned char *chunk;     /* fd mode: NAR_CHUNK bytes for file data */
  const char *what;         /* the archive's name in messages */
  uint64_t off;             /* bytes consumed */
  nar_fn fn;
  void *data;
  struct cage_error *err;
  char path[PATH_MAX];      /* the current entry, "" at the root */
  size_t path_len;
};

/* S (N bytes) quoted for a message: control bytes and '"' escaped, cut
   after about 60 bytes. */
static const char *
quote (char *buf, size_t size, const char *s, size_t n)
{
  size_t o = 0;
  buf[o++] = '"';
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) s[i];
      if (o + 8 >= size)
        {
          memcpy (buf + o, "...", 3);
          o += 3;
          break;
        }
      if (c == '"' || c == '\\')
        {
          buf[o++] = '\\';
          buf[o++] = (char) c;
        }
      else if (c < 0x20 || c == 0x7f)
        o += (size_t) snprintf (buf + o, size - o, "\\x%02x", c);
      else
        buf[o++] = (char) c;
    }
  buf[o++] = '"';
  buf[o] = '\0';
  return buf;
}

#define QUOTED(s, n) quote ((char[80]){ 0 }, 80, (s), (n))

/* "WHAT: byte N, at PATH: MESSAGE"; returns -1. */
__attribute__ ((format (printf, 2, 3))) static int
bad (struct reader *r, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (r->path_len)
    return cage_error_set (r->err, 0, "NAR %s: byte %llu, in %s: %s", r->what,
                           (unsigned long long) r->off, QUOTED (r->path, r->path_len), msg);
  return cage_error_set (r->err, 0, "NAR %s: byte %llu: %s", r->what,
                         (unsigned long long) r->off, msg);
}

static int
truncated (struct reader *r)
{
  return bad (r, "the archive is truncated (it ends inside a string)");
}

/* Read up to N bytes from the fd: the count (0 at the end), or -1. */
static ssize_t
fd_read (struct reader *r, void *dst, size_t n)
{
  for (;;)
    {
      ssize_t got = read (r->fd, dst, n);
      if (got >= 0)
        return got;
      if (errno != EINTR)
        return cage_error_set (r->err, errno, "read NAR %s at byte %llu", r->what,
                               (unsigned long long) r->off);
    }
}

/* Copy the next N bytes into DST. */
static int
read_exact (struct reader *r, void *dst, size_t n)
{
  if (r->fd < 0)
    {
      if (n > r->len - r->off)
        return truncated (r);
      memcpy (dst, r->buf + r->off, n);
      r->off += n;
      return 0;
    }
  for (size_t done = 0; done < n;)
    {
      ssize_t got = fd_read (r, (char *) dst + done, n - done);
      if (got < 0)
        return -1;
      if (got == 0)
        return truncated (r);
      done += (size_t) got;
      r->off += (uint64_t) got;
    }
  return 0;
}

/* The next at most WANT (> 0) bytes, without copying them in buffer mode. */
static int
read_chunk (struct reader *r, uint64_t want, const void **out, size_t *got)
{
  if (r->fd < 0)
    {
      size_t left = r->len - r->off;
      if (left == 0)
        return truncated (r);
      *got = want < left ? (size_t) want : left;
      *out = r->buf + r->off;
      r->off += *got;
      return 0;
    }
  ssize_t n = fd_read (r, r->chunk, want < NAR_CHUNK ? (size_t) want : NAR_CHUNK);
  if (n < 0)
    return -1;
  if (n == 0)
    return truncated (r);
  *out = r->chunk;
  *got = (size_t) n;
  r->off += (uint64_t) n;
  return 0;
}

static int
read_u64 (struct reader *r, uint64_t *out)
{
  unsigned char b[8];
  if (read_exact (r, b, 8) < 0)
    return -1;
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | b[i];
  *out = v;
  return 0;
}

/* The zeros after a string of N bytes. */
static int
read_padding (struct reader *r, uint64_t n)
{
  size_t pad = (size_t) ((8 - n % 8) % 8);
  unsigned char b[8] = { 0 };
  if (read_exact (r, b, pad) < 0)
    return -1;
  for (size_t i = 0; i < pad; i++)
    if (b[i] != 0)
      return bad (r, "the padding after a string is not zeros");
  return 0;
}

/* A string of at most MAX bytes into DST (MAX + 1 bytes), NUL-terminated;
   its length in *LEN.  WHAT says what is read, for the message when it is
   longer. */
static int
read_string (struct reader *r, char *dst, size_t max, size_t *len, const char *what)
{
  uint64_t n;
  if (read_u64 (r, &n) < 0)
    return -1;
  if (n > max)
    return bad (r, "%s is %llu bytes long; the limit is %zu", what, (unsigned long long) n,
                max);
  if (read_exact (r, dst, (size_t) n) < 0 || read_padding (r, n) < 0)
    return -1;
  dst[n] = '\0';
  *len = (size_t) n;
  return 0;
}

/* A keyword into TOK (TOKEN_MAX + 1 bytes); *LEN is its length, or
   TOKEN_MAX + 1 (and TOK "") when the string is longer than any keyword. */
static int
read_token (struct reader *r, char *tok, size_t *len)
{
  uint64_t n;
  if (read_u64 (r, &n) < 0)
    return -1;
  if (n > TOKEN_MAX)
    {
      /* (no keyword is this long: the caller says what it expected) */
      tok[0] = '\0';
      *len = TOKEN_MAX + 1;
      return 0;
    }
  if (read_exact (r, tok, (size_t) n) < 0 || read_padding (r, n) < 0)
    return -1;
  tok[n] = '\0';
  *len = (size_t) n;
  return 0;
}

static bool
is_token (const char *tok, size_t len, const char *word)
{
  return len == strlen (word) && memcmp (tok, word, len) == 0;
}

static int
unexpected (struct reader *r, const char *tok, size_t len, const char *expected)
{
  if (len > TOKEN_MAX)
    return bad (r, "expected %s, found a longer string", expected);
  return bad (r, "expected %s, found %s", expected, QUOTED (tok, len));
}

static int
expect (struct reader *r, const char *word)
{
  char tok[TOKEN_MAX + 1];
  size_t len;
  if (read_token (r, tok, &len) < 0)
    return -1;
  if (!is_token (tok, len, word))
    {
      char expected[TOKEN_MAX + 3];
      snprintf (expected, sizeof expected, "\"%s\"", word);
      return unexpected (r, tok, len, expected);
    }
  return 0;
}

static int
emit (struct reader *r, struct nar_entry *e)
{
  if (!r->fn)
    return 0;
  const char *slash = memrchr (r->path, '/', r->path_len);
  e->path = r->path;
  e->name = slash ? slash + 1 : r->path;
  return r->fn (e, r->data, r->err);
}

static int parse_node (struct reader *r, unsigned depth);

static int
parse_regular (struct reader *r, unsigned depth)
{
  char tok[TOKEN_MAX + 1];
  size_t len;
  bool executable = false;
  if (read_token (r, tok, &len) < 0)
    return -1;
  if (is_token (tok, len, "executable"))
    {
      executable = true;
      uint64_t n;
      if (read_u64 (r, &n) < 0)
        return -1;
      if (n != 0)
        return bad (r, "\"executable\" must be followed by an empty string");
      if (read_token (r, tok, &len) < 0)
        return -1;
    }
  if (!is_token (tok, len, "contents"))
    return unexpected (r, tok, len, executable ? "\"contents\"" : "\"executable\" or \"contents\"");
  uint64_t size;
  if (read_u64 (r, &size) < 0)
    return -1;
  if (size > NAR_MAX_CONTENTS)
    return bad (r, "a file of %llu bytes; the limit is %llu", (unsigned long long) size,
                (unsigned long long) NAR_MAX_CONTENTS);
  if (r->fd < 0 && size > r->len - r->off)
    return bad (r, "a file of %llu bytes, but only %zu bytes are left in the archive",
                (unsigned long long) size, r->len - r->off);
  struct nar_entry e = { .event = NAR_FILE_BEGIN, .depth = depth, .executable = executable,
                         .size = size };
  if (emit (r, &e) < 0)
    return -1;
  for (uint64_t left = size; left > 0;)
    {
      const void *p = NULL;
      size_t got = 0;
      if (read_chunk (r, left, &p, &got) < 0)
        return -1;
      left -= got;
      e = (struct nar_entry){ .event = NAR_FILE_DATA, .depth = depth, .data = p, .len = got };
      if (emit (r, &e) < 0)
        return -1;
    }
  if (read_padding (r, size) < 0)
    return -1;
  e = (struct nar_entry){ .event = NAR_FILE_END, .depth = depth, .executable = executable,
                          .size = size };
  return emit (r, &e);
}

static int
parse_symlink (struct reader *r, unsigned depth)
{
  char target[NAR_MAX_TARGET + 1];
  size_t len;
  if (expect (r, "target") < 0
      || read_string (r, target, NAR_MAX_TARGET, &len, "a symlink target") < 0)
    return -1;
  if (len == 0)
    return bad (r, "a symlink target is empty");
  if (memchr (target, '\0', len))
    return bad (r, "a symlink target contains a NUL byte");
  struct nar_entry e = { .event = NAR_SYMLINK, .depth = depth, .target = target };
  return emit (r, &e);
}

static int
check_name (struct reader *r, const char *name, size_t len, const char *prev, size_t prev_len)
{
  if (len == 0)
    return bad (r, "an entry name is empty");
  if (memchr (name, '/', len))
    return bad (r, "entry name %s contains '/'", QUOTED (name, len));
  if (memchr (name, '\0', len))
    return bad (r, "entry name %s contains a NUL byte", QUOTED (name, len));
  if (is_token (name, len, ".") || is_token (name, len, ".."))
    return bad (r, "entry name %s is not allowed", QUOTED (name, len));
  if (prev)
    {
      int c = memcmp (prev, name, len < prev_len ? len : prev_len);
      if (c > 0 || (c == 0 && len <= prev_len))
        return bad (r, "entry name %s does not sort after %s (entries must be strictly "
                    "ascending)", QUOTED (name, len), QUOTED (prev, prev_len));
    }
  return 0;
}

static int
parse_directory (struct reader *r, unsigned depth)
{
  struct nar_entry e = { .event = NAR_DIR_BEGIN, .depth = depth };
  if (emit (r, &e) < 0)
    return -1;
  char prev[NAR_MAX_NAME + 1];
  size_t prev_len = 0;
  bool have_prev = false;
  for (;;)
    {
      char tok[TOKEN_MAX + 1];
      size_t len;
      if (read_token (r, tok, &len) < 0)
        return -1;
      if (is_token (tok, len, ")"))
        break;
      if (!is_token (tok, len, "entry"))
        return unexpected (r, tok, len, "\"entry\" or \")\"");
      char name[NAR_MAX_NAME + 1];
      size_t name_len;
      if (expect (r, "(") < 0 || expect (r, "name") < 0
          || read_string (r, name, NAR_MAX_NAME, &name_len, "an entry name") < 0
          || check_name (r, name, name_len, have_prev ? prev : NULL, prev_len) < 0)
        return -1;
      if (depth + 1 > NAR_MAX_DEPTH)
        return bad (r, "entries are nested more than %d directories deep", NAR_MAX_DEPTH);
      size_t saved = r->path_len;
      size_t need = saved + (saved ? 1 : 0) + name_len;
      if (need >= sizeof r->path)
        return bad (r, "the path of entry %s is %zu bytes long; the limit is %zu",
                    QUOTED (name, name_len), need, sizeof r->path - 1);
      if (saved)
        r->path[r->path_len++] = '/';
      memcpy (r->path + r->path_len, name, name_len);
      r->path_len += name_len;
      r->path[r->path_len] = '\0';
      if (expect (r, "node") < 0 || parse_node (r, depth + 1) < 0)
        return -1;
      r->path_len = saved;
      r->path[saved] = '\0';
      if (expect (r, ")") < 0)
        return -1;
      memcpy (prev, name, name_len + 1);
      prev_len = name_len;
      have_prev = true;
    }
  e = (struct nar_entry){ .event = NAR_DIR_END, .depth = depth };
  /* the closing ")" belongs to the node: parse_node does not read it again */
  return emit (r, &e) < 0 ? -1 : 1;
}

/* "(" "type" ... ")" */
static int
parse_node (struct reader *r, unsigned depth)
{
  char tok[TOKEN_MAX + 1];
  size_t len;
  if (expect (r, "(") < 0 || expect (r, "type") < 0 || read_token (r, tok, &len) < 0)
    return -1;
  int res;
  if (is_token (tok, len, "regular"))
    res = parse_regular (r, depth);
  else if (is_token (tok, len, "symlink"))
    res = parse_symlink (r, depth);
  else if (is_token (tok, len, "directory"))
    res = parse_directory (r, depth);
  else
    return unexpected (r, tok, len, "\"regular\", \"symlink\" or \"directory\"");
  if (res < 0)
    return -1;
  return res == 1 ? 0 : expect (r, ")");
}

static int
parse (struct reader *r)
{
  char tok[TOKEN_MAX + 1];
  size_t len;
  if (read_token (r, tok, &len) < 0)
    return -1;
  if (!is_token (tok, len, NAR_MAGIC))
    return bad (r, "not a NAR: it does not start with \"" NAR_MAGIC "\"");
  if (parse_node (r, 0) < 0)
    return -1;
  if (r->fd < 0)
    {
      if (r->off != r->len)
        return bad (r, "%zu bytes follow the end of the archive", r->len - (size_t) r->off);
      return 0;
    }
  unsigned char extra;
  ssize_t n = fd_read (r, &extra, 1);
  if (n < 0)
    return -1;
  if (n > 0)
    return bad (r, "bytes follow the end of the archive");
  return 0;
}

int
nar_parse_buffer (const void *buf, size_t len, const char *what, nar_fn fn, void *data,
                  struct cage_error *err)
{
  autofree struct reader *r = malloc (sizeof *r);
  if (!r)
    return cage_error_set (err, ENOMEM, "NAR %s", what);
  *r = (struct reader){ .buf = buf, .len = buf ? len : 0, .fd = -1, .what = what,
                        .fn = fn, .data = data, .err = err };
  return parse (r);
}

int
nar_parse_fd (int fd, const char *what, nar_fn fn, void *data, struct cage_error *err)
{
  autofree struct reader *r = malloc (sizeof *r);
  autofree unsigned char *chunk = malloc (NAR_CHUNK);
  if (!r || !chunk)
    return cage_error_set (err, ENOMEM, "NAR %s", what);
  *r = (struct reader){ .fd = fd, .chunk = chunk, .what = what, .fn = fn, .data = data,
                        .err = err };
  return parse (r);
}

/* ---- unpacking --------------------------------------------------------- */

struct unpack
{
  int dir_fd;                      /* where NAME goes */
  const char *name;
  int dirs[NAR_MAX_DEPTH + 1];     /* the open directory at each depth, or -1 */
  bool made[NAR_MAX_DEPTH + 1];    /* undo: that directory was made by us */
  int file;                        /* the regular file being written, or -1 */
  unsigned long made_count;        /* entries made, in archive order */
  unsigned long seen;              /* undo: entries walked */
  bool undo_failed;
};

/* The directory fd an entry at DEPTH lives in, and its name there. */
static int
parent_of (const struct unpack *u, const struct nar_entry *e)
{
  return e->depth == 0 ? u->dir_fd : u->dirs[e->depth - 1];
}

static const char *
name_of (const struct unpack *u, const struct nar_entry *e)
{
  return e->depth == 0 ? u->name : e->name;
}

/* "unpack: OP `NAME/PATH`: strerror (errno)", control bytes escaped so
   the message stays one line. */
static int
unpack_error (const struct unpack *u, const struct nar_entry *e, const char *op,
              struct cage_error *err)
{
  int errnum = errno;
  char where[1024];
  size_t o = 0;
  for (int part = 0; part < 2; part++)
    {
      const char *s = part == 0 ? u->name : e->path;
      if (part == 1 && e->depth > 0 && o + 1 < sizeof where)
        where[o++] = '/';
      for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        {
          if (o + 8 >= sizeof where)
            break;
          if (*p < 0x20 || *p == 0x7f)
            o += (size_t) snprintf (where + o, sizeof where - o, "\\x%02x", *p);
          else
            where[o++] = (char) *p;
        }
    }
  where[o] = '\0';
  return cage_error_set (err, errnum, "unpack: %s `%s`", op, where);
}

static int
unpack_entry (const struct nar_entry *e, void *data, struct cage_error *err)
{
  struct unpack *u = data;
  int parent = parent_of (u, e);
  const char *name = name_of (u, e);
  switch (e->event)
    {
    case NAR_DIR_BEGIN:
      if (mkdirat (parent, name, 0700) < 0)
        return unpack_error (u, e, "mkdir", err);
      u->made_count++;
      u->dirs[e->depth] = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                  | O_CLOEXEC);
      if (u->dirs[e->depth] < 0)
        return unpack_error (u, e, "open", err);
      return 0;
    case NAR_DIR_END:
      {
        autoclose int fd = steal_fd (&u->dirs[e->depth]);
        if (fchmod (fd, 0555) < 0)
          return unpack_error (u, e, "chmod", err);
        if (close (steal_fd (&fd)) < 0)
          return unpack_error (u, e, "close", err);
        return 0;
      }
    case NAR_FILE_BEGIN:
      u->file = openat (parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
                        | O_NOCTTY, 0600);
      if (u->file < 0)
        return unpack_error (u, e, "create", err);
      u->made_count++;
      return 0;
    case NAR_FILE_DATA:
      for (size_t done = 0; done < e->len;)
        {
          ssize_t n = write (u->file, (const char *) e->data + done, e->len - done);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return unpack_error (u, e, "write", err);
          done += (size_t) n;
        }
      return 0;
    case NAR_FILE_END:
      {
        autoclose int fd = steal_fd (&u->file);
        if (fchmod (fd, e->executable ? 0555 : 0444) < 0)
          return unpack_error (u, e, "chmod", err);
        if (close (steal_fd (&fd)) < 0)
          return unpack_error (u, e, "close", err);
        return 0;
      }
    case NAR_SYMLINK:
      if (symlinkat (e->target, parent, name) < 0)
        return unpack_error (u, e, "symlink", err);
      u->made_count++;
      return 0;
    }
  return 0;
}

/* Walk the archive again and remove the first MADE_COUNT entries (those
   made before the failure), children before their directory. */
static int
undo_entry (const struct nar_entry *e, void *data, struct cage_error *err)
{
  struct unpack *u = data;
  int parent = parent_of (u, e);
  const char *name = name_of (u, e);
  bool mine = false;
  if (e->event == NAR_DIR_BEGIN || e->event == NAR_FILE_BEGIN || e->event == NAR_SYMLINK)
    mine = u->seen++ < u->made_count && parent >= 0;
  switch (e->event)
    {
    case NAR_DIR_BEGIN:
      u->made[e->depth] = mine;
      u->dirs[e->depth] = -1;
      if (!mine)
        return 0;
      u->dirs[e->depth] = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                  | O_CLOEXEC);
      /* (our own directory may be 0555 already; a failure here shows as
         a failed removal below) */
      if (u->dirs[e->depth] >= 0 && fchmod (u->dirs[e->depth], 0700) < 0)
        close (steal_fd (&u->dirs[e->depth]));
      return 0;
    case NAR_DIR_END:
      if (u->dirs[e->depth] >= 0)
        close (steal_fd (&u->dirs[e->depth]));
      if (u->made[e->depth] && unlinkat (parent, name, AT_REMOVEDIR) < 0)
        u->undo_failed = true;
      return 0;
    case NAR_FILE_BEGIN:
    case NAR_SYMLINK:
      if (mine && unlinkat (parent, name, 0) < 0)
        u->undo_failed = true;
      return 0;
    case NAR_FILE_DATA:
    case NAR_FILE_END:
      return 0;
    }
  (void) err;
  return 0;
}

int
nar_unpack (int dir_fd, const char *name, const void *buf, size_t len,
            struct cage_error *err)
{
  if (!name || !*name || strchr (name, '/') || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0)
    return cage_error_set (err, 0, "unpack: %s is not a single file name",
                           name ? QUOTED (name, strlen (name)) : "(null)");
  if (nar_parse_buffer (buf, len, name, NULL, NULL, err) < 0)
    return -1;

  autofree struct unpack *u = malloc (sizeof *u);
  if (!u)
    return cage_error_set (err, ENOMEM, "unpack `%s`", name);
  *u = (struct unpack){ .dir_fd = dir_fd, .name = name, .file = -1 };
  for (size_t i = 0; i <= NAR_MAX_DEPTH; i++)
    u->dirs[i] = -1;
  int r = nar_parse_buffer (buf, len, name, unpack_entry, u, err);
  for (size_t i = 0; i <= NAR_MAX_DEPTH; i++)
    if (u->dirs[i] >= 0)
      close (steal_fd (&u->dirs[i]));
  if (u->file >= 0)
    close (steal_fd (&u->file));
  if (r == 0)
    return 0;

  /* Remove what was made; keep the first error. */
  struct cage_error ignored = { 0 };
  nar_parse_buffer (buf, len, name, undo_entry, u, &ignored);
  if (u->undo_failed && err)
    {
      size_t n = strlen (err->msg);
      snprintf (err->msg + n, sizeof err->msg - n, "; `%s` was not removed completely",
                name);
    }
  return -1;
}
