#include "gitconfig.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* git's own character classes (sane-ctype.h): ASCII only. */
static bool
g_space (int c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
g_alpha (int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
g_keychar (int c)
{
  return g_alpha (c) || (c >= '0' && c <= '9') || c == '-';
}

static int
g_lower (int c)
{
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

struct src
{
  const unsigned char *p, *end;
  bool eof;
};

/* git's get_next_char: "\r\n" reads as "\n"; the end reads as "\n". */
static int
next_char (struct src *s)
{
  if (s->p >= s->end)
    {
      s->eof = true;
      return '\n';
    }
  int c = *s->p++;
  if (c == '\r' && s->p < s->end && *s->p == '\n')
    c = *s->p++;
  return c;
}

#define NAME_MAX_LEN 2048
#define VALUE_MAX_LEN 8192

struct buf
{
  char s[NAME_MAX_LEN];
  size_t len;
  bool overflow;
};

static void
put (struct buf *b, int c)
{
  if (b->len + 1 >= sizeof b->s)
    {
      b->overflow = true;
      return;
    }
  b->s[b->len++] = (char) c;
  b->s[b->len] = '\0';
}

/* After "[name" and a space: ` "subsection"]`. */
static int
extended_base (struct src *s, struct buf *var, int c)
{
  do
    {
      if (c == '\n')
        return -1;
      c = next_char (s);
    }
  while (g_space (c));
  if (c != '"')
    return -1;
  put (var, '.');
  for (;;)
    {
      c = next_char (s);
      if (c == '\n')
        return -1;
      if (c == '"')
        break;
      if (c == '\\')
        {
          c = next_char (s);
          if (c == '\n')
            return -1;
        }
      put (var, c);
    }
  if (next_char (s) != ']')
    return -1;
  return 0;
}

/* After "[": the section header. */
static int
base_var (struct src *s, struct buf *var)
{
  var->len = 0;
  var->s[0] = '\0';
  for (;;)
    {
      int c = next_char (s);
      if (s->eof)
        return -1;
      if (c == ']')
        return 0;
      if (g_space (c))
        return extended_base (s, var, c);
      if (!g_keychar (c) && c != '.')
        return -1;
      put (var, g_lower (c));
    }
}

/* After "=": the value, unquoted and unescaped, into VAL. */
static int
parse_value (struct src *s, char *val, size_t size)
{
  size_t len = 0;
  int quote = 0, comment = 0, space = 0;
  val[0] = '\0';
  for (;;)
    {
      int c = next_char (s);
      if (c == '\n')
        return quote ? -1 : 0;
      if (comment)
        continue;
      if (g_space (c) && !quote)
        {
          if (len)
            space++;
          continue;
        }
      if (!quote && (c == ';' || c == '#'))
        {
          comment = 1;
          continue;
        }
      for (; space; space--)
        if (len + 1 < size)
          val[len++] = ' ';
      if (c == '\\')
        {
          c = next_char (s);
          switch (c)
            {
            case '\n':
              continue;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'n':
              c = '\n';
              break;
            case '\\':
            case '"':
              break;
            default:
              return -1;
            }
        }
      else if (c == '"')
        {
          quote = 1 - quote;
          continue;
        }
      if (len + 1 < size)
        val[len++] = (char) c;
      val[len] = '\0';
    }
}

static bool
is_bool (const char *v)
{
  static const char *const b[] = { "true", "false", "yes", "no", "on", "off", "1", "0", "", NULL };
  for (size_t i = 0; b[i]; i++)
    if (strcasecmp (v, b[i]) == 0)
      return true;
  return false;
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

bool
gitconfig_key_runs (const char *name, const char *value)
{
  /* section: up to the first dot; key: after the last; git lowercases
     both (a subsection keeps its case). */
  const char *dot = strchr (name, '.'), *last = strrchr (name, '.');
  if (!dot)
    return false;
  char section[64];
  size_t slen = (size_t) (dot - name);
  if (slen >= sizeof section)
    return false;
  for (size_t i = 0; i < slen; i++)
    section[i] = (char) g_lower ((unsigned char) name[i]);
  section[slen] = '\0';
  char key[256];
  snprintf (key, sizeof key, "%s", last + 1);
  for (char *k = key; *k; k++)
    *k = (char) g_lower ((unsigned char) *k);
  bool sub = last != dot;

  /* Whole sections that run programs, read other files as config, or
     write where git is pointed. */
  static const char *const sections[] = {
    "include", "includeif", "pager", "hook", "trace2", "guitool", "instaweb", "safe", NULL,
  };
  for (size_t i = 0; sections[i]; i++)
    if (strcmp (section, sections[i]) == 0)
      return true;

  /* Keys that name a program, by their last word (diff.*.command,
     gpg.program, credential.helper, core.sshCommand, core.askPass,
     difftool.*.cmd, core.hooksPath, uploadpack.packObjectsHook, ...). */
  static const char *const suffixes[] = {
    "command", "cmd", "program", "hook", "hookspath", "helper", "editor", "pager", "textconv",
    "driver", "smudge", "askpass", "external", "browser", "viewer", "proxy", "difffilter",
    "uploadpack", "receivepack", "templatedir", "cookiefile", NULL,
  };
  for (size_t i = 0; suffixes[i]; i++)
    if (ends_with (key, suffixes[i]))
      return true;

  if (strcmp (section, "filter") == 0
      && (strcmp (key, "clean") == 0 || strcmp (key, "process") == 0))
    return true;
  if (strcmp (section, "core") == 0)
    {
      /* a non-boolean fsmonitor is a program to run */
      if (strcmp (key, "fsmonitor") == 0 && value && !is_bool (value))
        return true;
      if (strcmp (key, "worktree") == 0)
        return true; /* git would check out and write elsewhere */
    }
  if (strcmp (section, "alias") == 0 && value && value[0] == '!')
    return true;
  if (strcmp (section, "submodule") == 0 && sub && strcmp (key, "update") == 0 && value
      && value[0] == '!')
    return true;
  if (strcmp (section, "protocol") == 0 && strcmp (key, "allow") == 0)
    return true; /* protocol.ext.allow: remotes that run commands */
  if ((strcmp (section, "man") == 0 || strcmp (section, "difftool") == 0
       || strcmp (section, "mergetool") == 0 || strcmp (section, "lfs") == 0)
      && strcmp (key, "path") == 0)
    return true;
  if (strcmp (section, "sendemail") == 0
      && (strcmp (key, "smtpserver") == 0 || strcmp (key, "validate") == 0))
    return true;
  if (strcmp (section, "http") == 0 && strcmp (key, "savecookies") == 0)
    return true;
  return false;
}

bool
gitconfig_runs_nothing (const char *text, size_t len, char *key, size_t key_size)
{
  struct src s = { (const unsigned char *) text, (const unsigned char *) text + len, false };
  static const unsigned char bom[] = { 0xef, 0xbb, 0xbf };
  if (len >= 3 && memcmp (text, bom, 3) == 0)
    s.p += 3;
  struct buf var = { .len = 0 };
  var.s[0] = '\0';
  size_t baselen = 0;
  bool comment = false;
  char val[VALUE_MAX_LEN];
  for (;;)
    {
      int c = next_char (&s);
      if (c == '\n')
        {
          if (s.eof)
            return true;
          comment = false;
          continue;
        }
      if (comment || g_space (c))
        continue;
      if (c == '#' || c == ';')
        {
          comment = true;
          continue;
        }
      if (c == '[')
        {
          if (base_var (&s, &var) < 0)
            return true; /* git refuses the file */
          put (&var, '.');
          baselen = var.len;
          continue;
        }
      if (!g_alpha (c))
        return true;
      var.len = baselen;
      var.s[baselen] = '\0';
      put (&var, g_lower (c));
      /* get_value: the rest of the key, then "=" VALUE or the line end */
      for (;;)
        {
          c = next_char (&s);
          if (s.eof || !g_keychar (c))
            break;
          put (&var, g_lower (c));
        }
      while (c == ' ' || c == '\t')
        c = next_char (&s);
      const char *value = NULL;
      if (c != '\n')
        {
          if (c != '=' || parse_value (&s, val, sizeof val) < 0)
            return true;
          value = val;
        }
      /* A name too long to check is refused rather than passed. */
      if (var.overflow || gitconfig_key_runs (var.s, value))
        {
          if (key && key_size)
            snprintf (key, key_size, "%s", var.overflow ? "(a name too long to check)" : var.s);
          return false;
        }
      if (s.eof)
        return true;
    }
}
