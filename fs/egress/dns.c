/* dns.c - the DNS stub's answers (see dns.h). */
#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "fake_addr.h"

#define HDR 12
#define TYPE_A 1
#define CLASS_IN 1
#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define OPCODE(f) (((f) >> 11) & 0xf)

static uint16_t
get16 (const unsigned char *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

static void
put16 (unsigned char *p, uint16_t v)
{
  p[0] = (unsigned char) (v >> 8);
  p[1] = (unsigned char) v;
}

static bool
label_char (unsigned char c)
{
  return isalnum (c) || c == '-' || c == '_';
}

bool
dns_name_valid (const char *name)
{
  size_t len = strlen (name);
  if (len > 0 && name[len - 1] == '.')
    len--;
  if (len == 0 || len > DNS_NAME_MAX)
    return false;
  size_t label = 0;
  bool digits = true;
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) name[i];
      if (c == '.')
        {
          if (label == 0)
            return false;
          label = 0;
          digits = true;
          continue;
        }
      if (!label_char (c) || ++label > 63)
        return false;
      if (!isdigit (c))
        digits = false;
    }
  return label > 0 && !digits;
}

int
dns_parse (const unsigned char *q, size_t len, struct dns_question *out, size_t *qend)
{
  out->name[0] = '\0';
  out->type = out->cls = 0;
  if (len < HDR)
    return -1;
  uint16_t flags = get16 (q + 2);
  if (flags & FLAG_QR)
    return -1; /* a response: never answered (no loops) */
  if (OPCODE (flags) != 0)
    return DNS_NOTIMP;
  if (get16 (q + 4) != 1 || get16 (q + 6) != 0 || get16 (q + 8) != 0)
    return DNS_FORMERR; /* exactly one question, no answers (additional: EDNS, ignored) */
  size_t p = HDR, n = 0;
  for (;;)
    {
      if (p >= len)
        goto formerr;
      unsigned l = q[p++];
      if (l == 0)
        break;
      if (l & 0xc0)
        goto formerr; /* a compression pointer (or an extended label) */
      if (l > len - p || n + l + (n ? 1 : 0) > DNS_NAME_MAX)
        goto formerr;
      if (n)
        out->name[n++] = '.';
      for (unsigned i = 0; i < l; i++)
        {
          unsigned char c = q[p + i];
          if (!label_char (c))
            goto formerr;
          out->name[n++] = (char) tolower (c);
        }
      out->name[n] = '\0';
      p += l;
    }
  if (len - p < 4)
    goto formerr;
  out->type = get16 (q + p);
  out->cls = get16 (q + p + 2);
  if (qend)
    *qend = p + 4;
  if (out->cls != CLASS_IN)
    return DNS_REFUSED;
  if (n && !dns_name_valid (out->name))
    return DNS_FORMERR; /* all-digit last label: an address in disguise */
  return DNS_NOERROR;
formerr:
  out->name[0] = '\0';
  return DNS_FORMERR;
}

/* The header of a reply to Q with RCODE into OUT. */
static void
reply_header (const unsigned char *q, unsigned char *out, int rcode, bool question)
{
  uint16_t flags = get16 (q + 2);
  memcpy (out, q, 2); /* the id */
  put16 (out + 2, (uint16_t) (FLAG_QR | FLAG_AA | (flags & FLAG_RD) | FLAG_RA | (rcode & 0xf)));
  put16 (out + 4, question ? 1 : 0);
  put16 (out + 6, 0);
  put16 (out + 8, 0);
  put16 (out + 10, 0);
}

size_t
dns_answer (const struct net_policy *allow, const unsigned char *q, size_t len,
            unsigned char *out, struct dns_question *question, enum dns_verdict *v)
{
  size_t qend = 0;
  int rc = dns_parse (q, len, question, &qend);
  if (rc < 0)
    {
      *v = DNS_DROP;
      return 0;
    }
  if (rc != DNS_NOERROR)
    {
      /* (the question is echoed only when it parsed whole) */
      bool echo = qend > HDR && qend - HDR <= DNS_REPLY_MAX - HDR;
      reply_header (q, out, rc, echo);
      if (echo)
        memcpy (out + HDR, q + HDR, qend - HDR);
      *v = DNS_MALFORMED;
      return echo ? qend : HDR;
    }
  size_t n = qend;
  memcpy (out + HDR, q + HDR, qend - HDR);
  if (!question->name[0] || !net_policy_allows_name (allow, question->name))
    {
      reply_header (q, out, DNS_NXDOMAIN, true);
      *v = DNS_DENIED;
      return n;
    }
  if (question->type != TYPE_A)
    {
      reply_header (q, out, DNS_NOERROR, true);
      *v = DNS_ALLOWED;
      return n;
    }
  struct in_addr a;
  if (fake_addr_for (question->name, &a) < 0)
    {
      reply_header (q, out, DNS_SERVFAIL, true);
      *v = DNS_FAILED;
      return n;
    }
  reply_header (q, out, DNS_NOERROR, true);
  put16 (out + 6, 1);
  unsigned char *r = out + n;
  put16 (r, 0xc000 | HDR); /* the name: a pointer to the question's */
  put16 (r + 2, TYPE_A);
  put16 (r + 4, CLASS_IN);
  put16 (r + 6, 0);
  put16 (r + 8, DNS_TTL);
  put16 (r + 10, 4);
  memcpy (r + 12, &a.s_addr, 4);
  *v = DNS_ALLOWED;
  return n + 16;
}
