/* net_policy.c - the filtered network's allowlist: parsing entries,
   matching names and addresses, and the refused destinations
   (net_policy.h). */
#include "net_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63
#define ENTRY_FORMS "a name like \"api.example.com\", \"*.example.com\", an address like " \
                    "\"198.51.100.7\" or a CIDR like \"10.1.0.0/16\""

/* The ports an entry without a port allows. */
static const uint16_t default_ports[] = { 80, 443 };

/* ---- parsing ---------------------------------------------------------- */

/* "N" or "N-M" (S, LEN bytes) into *LO, *HI. */
static int
parse_ports (const char *s, size_t len, uint16_t *lo, uint16_t *hi, struct cage_error *err)
{
  unsigned long v[2] = { 0, 0 };
  int n = 0;
  size_t i = 0;
  while (n < 2)
    {
      size_t start = i;
      unsigned long x = 0;
      while (i < len && isdigit ((unsigned char) s[i]) && x <= 65535)
        x = x * 10 + (unsigned long) (s[i++] - '0');
      if (i == start || x == 0 || x > 65535 || (i < len && isdigit ((unsigned char) s[i])))
        return cage_error_set (err, 0,
                               "port \"%.*s\" is not a number from 1 to 65535 (or a range "
                               "like \"8000-8100\")",
                               (int) len, s);
      v[n++] = x;
      if (i == len)
        break;
      if (s[i] != '-' || n == 2)
        return cage_error_set (err, 0,
                               "port \"%.*s\" is not a number from 1 to 65535 (or a range "
                               "like \"8000-8100\")",
                               (int) len, s);
      i++;
    }
  if (n == 1)
    v[1] = v[0];
  if (v[1] < v[0])
    return cage_error_set (err, 0,
                           "port range %lu-%lu ends below its start; write the lower port "
                           "first, \"%lu-%lu\"",
                           v[0], v[1], v[1], v[0]);
  *lo = (uint16_t) v[0];
  *hi = (uint16_t) v[1];
  return 0;
}

/* Zero the bits of ADDR (LEN bytes) past PREFIX. */
static void
mask_addr (unsigned char *addr, size_t len, unsigned prefix)
{
  for (size_t i = 0; i < len; i++)
    {
      unsigned bits = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
      addr[i] &= (unsigned char) (0xff00u >> bits);
    }
}

static const unsigned char v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* An address (S, LEN bytes) with an optional "/PREFIX" into E. */
static int
parse_addr (const char *s, size_t len, int family, struct net_entry *e, struct cage_error *err)
{
  char buf[INET6_ADDRSTRLEN + 8];
  if (len >= sizeof buf)
    return cage_error_set (err, 0, "\"%.*s\" is not a valid %s address", (int) len, s,
                           family == AF_INET ? "IPv4" : "IPv6");
  memcpy (buf, s, len);
  buf[len] = '\0';
  unsigned max = family == AF_INET ? 32 : 128;
  unsigned prefix = max;
  char *slash = strchr (buf, '/');
  if (slash)
    {
      *slash = '\0';
      const char *p = slash + 1;
      unsigned long x = 0;
      size_t digits = 0;
      for (; isdigit ((unsigned char) *p) && x <= max; p++, digits++)
        x = x * 10 + (unsigned long) (*p - '0');
      if (digits == 0 || *p)
        return cage_error_set (err, 0, "the prefix \"/%s\" is not a number from 0 to %u",
                               slash + 1, max);
      if (x > max)
        return cage_error_set (err, 0,
                               "the prefix /%s is longer than the address (at most /%u)",
                               slash + 1, max);
      prefix = (unsigned) x;
    }
  unsigned char addr[16] = { 0 };
  if (inet_pton (family, buf, addr) != 1)
    {
      if (family == AF_INET6)
        return cage_error_set (err, 0,
                               "\"%s\" is not a valid IPv6 address (an IPv6 address with a "
                               "port needs brackets, e.g. \"[2001:db8::1]:443\")",
                               buf);
      return cage_error_set (err, 0, "\"%s\" is not a valid IPv4 address", buf);
    }
  /* An IPv4-mapped IPv6 entry is kept as the IPv4 one it means. */
  if (family == AF_INET6 && prefix >= 96 && memcmp (addr, v4_mapped_prefix, 12) == 0)
    {
      memmove (addr, addr + 12, 4);
      memset (addr + 4, 0, 12);
      family = AF_INET;
      prefix -= 96;
    }
  mask_addr (addr, family == AF_INET ? 4 : 16, prefix);
  e->kind = NET_ENTRY_ADDR;
  e->family = family;
  memcpy (e->addr, addr, sizeof e->addr);
  e->prefix = prefix;
  return 0;
}

/* Does S (LEN bytes) look like an IPv4 address or CIDR: digits, dots and
   slashes only, starting with a digit? */
static bool
looks_ipv4 (const char *s, size_t len)
{
  if (len == 0 || !isdigit ((unsigned char) s[0]))
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isdigit ((unsigned char) s[i]) && s[i] != '.' && s[i] != '/')
      return false;
  return true;
}

/* A DNS name or "*.suffix" (S, LEN bytes; a final dot dropped) into E. */
static int
parse_name (const char *s, size_t len, struct net_entry *e, struct cage_error *err)
{
  enum net_entry_kind kind = NET_ENTRY_NAME;
  if (len == 1 && s[0] == '*')
    return cage_error_set (err, 0,
                           "a bare * would allow every host; name the hosts, e.g. "
                           "\"*.example.com\"");
  if (len >= 2 && s[0] == '*' && s[1] == '.')
    {
      kind = NET_ENTRY_SUFFIX;
      s += 2;
      len -= 2;
    }
  if (len > 0 && s[len - 1] == '.')
    len--;
  if (len == 0)
    return cage_error_set (err, 0, "an empty host name; write " ENTRY_FORMS);
  if (len > NAME_MAX_LEN)
    return cage_error_set (err, 0, "the name is %zu bytes long, over the limit of %d", len,
                           NAME_MAX_LEN);
  size_t label = 0;
  for (size_t i = 0; i <= len; i++)
    {
      char c = i < len ? s[i] : '.';
      if (c == '.')
        {
          if (label == 0)
            return cage_error_set (err, 0,
                                   "an empty label (a leading dot or \"..\"); write " ENTRY_FORMS);
          if (label > LABEL_MAX_LEN)
            return cage_error_set (err, 0,
                                   "the label \"%.*s\" is %zu bytes long, over the limit of %d",
                                   (int) label, s + i - label, label, LABEL_MAX_LEN);
          label = 0;
          continue;
        }
      if (c == '*')
        return cage_error_set (err, 0,
                               "* may only be the whole first label, as in \"*.example.com\"");
      if (!isalnum ((unsigned char) c) && c != '-' && c != '_')
        {
          if (isprint ((unsigned char) c))
            return cage_error_set (err, 0, "'%c' cannot be in a host name; write " ENTRY_FORMS,
                                   c);
          return cage_error_set (err, 0,
                                 "byte 0x%02x cannot be in a host name; write " ENTRY_FORMS,
                                 (unsigned char) c);
        }
      label++;
    }
  char *name = strndup (s, len);
  if (!name)
    return cage_error_set (err, errno, "allocate a host name");
  for (char *p = name; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  e->kind = kind;
  e->name = name;
  return 0;
}

int
net_entry_parse (const char *text, struct net_entry *e, struct cage_error *err)
{
  struct net_entry r = { 0 };
  size_t len = text ? strlen (text) : 0;
  if (len == 0)
    return cage_error_set (err, 0, "an empty entry; write " ENTRY_FORMS);
  for (size_t i = 0; i < len; i++)
    if (isspace ((unsigned char) text[i]))
      return cage_error_set (err, 0, "an entry cannot hold spaces; write one host per entry");

  const char *host = text;
  size_t host_len = len;
  const char *port = NULL;
  int family = 0;
  const char *colon = strchr (text, ':');
  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');
      if (!close)
        return cage_error_set (err, 0,
                               "a '[' without its ']'; write \"[2001:db8::1]:443\"");
      host = text + 1;
      host_len = (size_t) (close - host);
      family = AF_INET6;
      if (close[1] == ':')
        port = close + 2;
      else if (close[1])
        return cage_error_set (err, 0,
                               "\"%s\" after ']' is not \":PORT\"; write \"[2001:db8::1]:443\"",
                               close + 1);
    }
  else if (colon && strchr (colon + 1, ':'))
    family = AF_INET6; /* two colons or more: an IPv6 address, no port */
  else if (colon)
    {
      host_len = (size_t) (colon - text);
      port = colon + 1;
    }

  if (port && parse_ports (port, strlen (port), &r.port_lo, &r.port_hi, err) < 0)
    return -1;
  if (family == 0 && looks_ipv4 (host, host_len))
    family = AF_INET;
  if (family && parse_addr (host, host_len, family, &r, err) < 0)
    return -1;
  if (!family && parse_name (host, host_len, &r, err) < 0)
    return -1;

  r.text = strdup (text);
  if (!r.text)
    {
      int saved = errno;
      net_entry_free (&r);
      return cage_error_set (err, saved, "allocate an allowlist entry");
    }
  *e = r;
  return 0;
}

void
net_entry_free (struct net_entry *e)
{
  if (!e)
    return;
  free (e->name);
  free (e->text);
  free (e->origin);
  *e = (struct net_entry){ 0 };
}

int
net_policy_add (struct net_policy *p, const char *text, const char *origin,
                struct cage_error *err)
{
  struct net_entry e;
  if (net_entry_parse (text, &e, err) < 0)
    return -1;
  for (size_t i = 0; i < p->n; i++)
    if (strcmp (p->v[i].text, e.text) == 0)
      {
        net_entry_free (&e);
        return 0;
      }
  if (origin && !(e.origin = strdup (origin)))
    {
      int saved = errno;
      net_entry_free (&e);
      return cage_error_set (err, saved, "allocate an allowlist entry");
    }
  struct net_entry *v = realloc (p->v, (p->n + 1) * sizeof *v);
  if (!v)
    {
      int saved = errno;
      net_entry_free (&e);
      return cage_error_set (err, saved, "allocate the allowlist");
    }
  p->v = v;
  p->v[p->n++] = e;
  return 0;
}

void
net_policy_free (struct net_policy *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->n; i++)
    net_entry_free (&p->v[i]);
  free (p->v);
  p->v = NULL;
  p->n = 0;
}

int
net_policy_copy (struct net_policy *dst, const struct net_policy *src, struct cage_error *err)
{
  for (size_t i = 0; i < src->n; i++)
    if (net_policy_add (dst, src->v[i].text, src->v[i].origin, err) < 0)
      return -1;
  return 0;
}

/* ---- ports ------------------------------------------------------------ */

#define PORT_WORDS (65536 / 64)

/* Mark the ports P allows in BITS; returns how many distinct ones. */
static size_t
port_bits (const struct net_policy *p, uint64_t bits[PORT_WORDS])
{
  memset (bits, 0, PORT_WORDS * sizeof *bits);
  size_t n = 0;
  for (size_t i = 0; i < p->n; i++)
    {
      const struct net_entry *e = &p->v[i];
      size_t n_ranges = e->port_lo ? 1 : sizeof default_ports / sizeof *default_ports;
      for (size_t r = 0; r < n_ranges; r++)
        {
          unsigned lo = e->port_lo ? e->port_lo : default_ports[r];
          unsigned hi = e->port_lo ? e->port_hi : default_ports[r];
          for (unsigned port = lo; port <= hi; port++)
            {
              uint64_t bit = (uint64_t) 1 << (port % 64);
              if (!(bits[port / 64] & bit))
                {
                  bits[port / 64] |= bit;
                  n++;
                }
            }
        }
    }
  return n;
}

size_t
net_policy_ports (const struct net_policy *p, uint16_t *ports)
{
  uint64_t bits[PORT_WORDS];
  port_bits (p, bits);
  size_t n = 0;
  for (unsigned port = 1; port < 65536 && n < NET_MAX_PORTS; port++)
    if (bits[port / 64] & ((uint64_t) 1 << (port % 64)))
      ports[n++] = (uint16_t) port;
  return n;
}

int
net_policy_check (const struct net_policy *p, struct cage_error *err)
{
  if (p->n == 0)
    return cage_error_set (err, 0,
                           "the allow list is empty, so a filtered network would reach "
                           "nothing; name the hosts, e.g. [\"api.example.com\"], or use "
                           "network \"off\"");
  uint64_t bits[PORT_WORDS];
  size_t n = port_bits (p, bits);
  if (n > NET_MAX_PORTS)
    return cage_error_set (err, 0,
                           "the entries allow %zu distinct ports, over the limit of %d; "
                           "narrow the port ranges",
                           n, NET_MAX_PORTS);
  return 0;
}

/* ---- matching --------------------------------------------------------- */

static bool
port_allowed (const struct net_entry *e, uint16_t port)
{
  if (e->port_lo == 0)
    {
      for (size_t i = 0; i < sizeof default_ports / sizeof *default_ports; i++)
        if (port == default_ports[i])
          return true;
      return false;
    }
  return port >= e->port_lo && port <= e->port_hi;
}

/* Does E (NAME or SUFFIX) match NAME (LEN bytes, no final dot)? */
static bool
name_matches (const struct net_entry *e, const char *name, size_t len)
{
  if (e->kind != NET_ENTRY_NAME && e->kind != NET_ENTRY_SUFFIX)
    return false; /* an ADDR entry has no name */
  size_t n = strlen (e->name);
  if (e->kind == NET_ENTRY_NAME)
    return len == n && strncasecmp (name, e->name, n) == 0;
  if (e->kind == NET_ENTRY_SUFFIX)
    return len > n + 1 && name[len - n - 1] == '.'
           && strncasecmp (name + len - n, e->name, n) == 0;
  return false;
}

/* Does an entry allow NAME at PORT (ANY_PORT: at any)? */
static bool
allows_name (const struct net_policy *p, const char *name, bool any_port, uint16_t port,
             const struct net_entry **which)
{
  if (!name)
    return false;
  size_t len = strlen (name);
  if (len > 0 && name[len - 1] == '.')
    len--;
  if (len == 0)
    return false;
  for (size_t i = 0; i < p->n; i++)
    if (name_matches (&p->v[i], name, len) && (any_port || port_allowed (&p->v[i], port)))
      {
        if (which)
          *which = &p->v[i];
        return true;
      }
  return false;
}

bool
net_policy_allows_name (const struct net_policy *p, const char *name)
{
  return allows_name (p, name, true, 0, NULL);
}

bool
net_policy_allows_name_port (const struct net_policy *p, const char *name, uint16_t port,
                             const struct net_entry **which)
{
  return allows_name (p, name, false, port, which);
}

/* SA's address as IPv4 (4 bytes) or IPv6 (16), an IPv4-mapped IPv6
   address as IPv4: its family, or 0 for another family. */
static int
canonical_addr (const struct sockaddr *sa, unsigned char out[16])
{
  memset (out, 0, 16);
  if (!sa)
    return 0;
  if (sa->sa_family == AF_INET)
    {
      memcpy (out, &((const struct sockaddr_in *) sa)->sin_addr, 4);
      return AF_INET;
    }
  if (sa->sa_family == AF_INET6)
    {
      const unsigned char *a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
      if (memcmp (a, v4_mapped_prefix, 12) == 0)
        {
          memcpy (out, a + 12, 4);
          return AF_INET;
        }
      memcpy (out, a, 16);
      return AF_INET6;
    }
  return 0;
}

/* Is ADDR (of FAMILY) inside NET/PREFIX? */
static bool
in_prefix (const unsigned char *addr, const unsigned char *net, unsigned prefix)
{
  size_t whole = prefix / 8;
  if (memcmp (addr, net, whole) != 0)
    return false;
  unsigned rest = prefix % 8;
  if (rest == 0)
    return true;
  unsigned char mask = (unsigned char) (0xff00u >> rest);
  return (addr[whole] & mask) == (net[whole] & mask);
}

bool
net_policy_allows_addr (const struct net_policy *p, const struct sockaddr *sa, uint16_t port,
                        const struct net_entry **which)
{
  unsigned char addr[16];
  int family = canonical_addr (sa, addr);
  if (!family)
    return false;
  for (size_t i = 0; i < p->n; i++)
    {
      const struct net_entry *e = &p->v[i];
      if (e->kind == NET_ENTRY_ADDR && e->family == family && in_prefix (addr, e->addr, e->prefix)
          && port_allowed (e, port))
        {
          if (which)
            *which = e;
          return true;
        }
    }
  return false;
}

/* ---- refused destinations --------------------------------------------- */

struct refused_range
{
  int family;
  unsigned char net[16];
  unsigned prefix;
  const char *why;
};

static const char loopback[] = "a loopback address";
static const char private_[] = "a private address";
static const char link_local[] = "a link-local address";
static const char multicast[] = "a multicast address";
static const char unspecified[] = "an unspecified address";
static const char broadcast[] = "a broadcast address";

/* Each refused range once; IPv4-mapped IPv6 addresses are checked as IPv4. */
static const struct refused_range refused_ranges[] = {
  { AF_INET, { 127 }, 8, loopback },
  { AF_INET, { 10 }, 8, private_ },
  { AF_INET, { 172, 16 }, 12, private_ },
  { AF_INET, { 192, 168 }, 16, private_ },
  { AF_INET, { 169, 254 }, 16, link_local },
  { AF_INET, { 0 }, 8, unspecified },
  { AF_INET, { 224 }, 4, multicast },
  { AF_INET, { 255, 255, 255, 255 }, 32, broadcast },
  { AF_INET6, { [15] = 1 }, 128, loopback },
  { AF_INET6, { 0 }, 128, unspecified },
  { AF_INET6, { 0xfc }, 7, private_ },
  { AF_INET6, { 0xfe, 0x80 }, 10, link_local },
  { AF_INET6, { 0xff }, 8, multicast },
};

bool
net_addr_refused (const struct sockaddr *sa, const char **why)
{
  unsigned char addr[16];
  int family = canonical_addr (sa, addr);
  for (size_t i = 0; family && i < sizeof refused_ranges / sizeof *refused_ranges; i++)
    {
      const struct refused_range *r = &refused_ranges[i];
      if (r->family == family && in_prefix (addr, r->net, r->prefix))
        {
          if (why)
            *why = r->why;
          return true;
        }
    }
  return false;
}
