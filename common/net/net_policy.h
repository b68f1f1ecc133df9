/* net_policy.h - the filtered network's allowlist: entries, matching, and
   the destinations refused even when a name is allowed.

   An entry (cage.json "network": {"mode": "filtered", "allow": [...]},
   or --allow ENTRY) is one of:
     api.anthropic.com            a DNS name (exact, case-insensitive)
     *.githubusercontent.com      every name below the suffix (not the
                                  suffix itself)
     NAME:443  NAME:8000-8100     with a port or an inclusive port range
                                  (without one: 80 and 443)
     198.18.0.7  10.1.0.0/16      an IPv4 address or CIDR
     [2001:db8::1]:22  fd00::/8   an IPv6 address or CIDR (a port needs
                                  the brackets)
   A bare "*", an empty name, a label over 63 bytes, a name over 253, a
   port of 0 or over 65535, a range whose end is below its start, or a
   prefix longer than the address is malformed.

   Refused destinations (net_addr_refused): loopback, RFC 1918 and ULA
   private ranges, link-local (169.254.0.0/16, the metadata address
   included; fe80::/10), multicast, unspecified, broadcast, and the
   IPv4-mapped forms of these.  An allowed NAME never reaches them, even
   when it resolves there; only an IP/CIDR entry covering the address
   lets a connection to it through. */
#ifndef CAGE_NET_POLICY_H
#define CAGE_NET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

/* At most this many distinct ports over all entries: the cage listens on
   each allowed port, and hands all its sockets to the daemon in one
   message (egress_proto.h: SCM_MAX_FD is 253). */
#define NET_MAX_PORTS 250

enum net_entry_kind
{
  NET_ENTRY_NAME = 0, /* name: an exact DNS name, lowercase, no final dot */
  NET_ENTRY_SUFFIX,   /* name: the suffix after "*." (matches x.suffix, a.b.suffix) */
  NET_ENTRY_ADDR,     /* family, addr, prefix */
};

struct net_entry
{
  enum net_entry_kind kind;
  char *name;               /* NAME, SUFFIX: owned, lowercase */
  int family;               /* ADDR: AF_INET or AF_INET6 */
  unsigned char addr[16];   /* ADDR: network byte order (4 or 16 bytes used) */
  unsigned prefix;          /* ADDR: 0..32 or 0..128 */
  uint16_t port_lo, port_hi; /* both 0: the default ports, 80 and 443 */
  char *text;               /* the entry as written: owned */
  char *origin;             /* where it came from, e.g. "cage.json", "--allow",
                               "preset claude"; owned, may be NULL */
};

struct net_policy
{
  struct net_entry *v;
  size_t n;
};

/* Parse TEXT into *E (origin left NULL).  On error: -1, with ERR saying
   what is wrong and the fix, without position (the caller adds
   cage.json:LINE:COLUMN), and *E untouched. */
int net_entry_parse (const char *text, struct net_entry *e, struct cage_error *err);
void net_entry_free (struct net_entry *e);

/* Append a parsed copy of TEXT with ORIGIN (duplicates, by text, are kept
   once: the first origin stays).  -1 with ERR on a malformed entry. */
int net_policy_add (struct net_policy *p, const char *text, const char *origin,
                    struct cage_error *err);
void net_policy_free (struct net_policy *p);
/* Append copies of SRC's entries (with their origins) to DST, duplicates
   kept once.  -1 with ERR when out of memory. */
int net_policy_copy (struct net_policy *dst, const struct net_policy *src,
                     struct cage_error *err);
/* Whole-list checks for a filtered network: -1 with ERR (what is wrong
   and the fix, without position) when P is empty or its entries allow
   more than NET_MAX_PORTS distinct ports. */
int net_policy_check (const struct net_policy *p, struct cage_error *err);

/* Does any NAME or SUFFIX entry allow NAME (any case, a final dot
   ignored) at all (any port)?  The DNS stub's question. */
bool net_policy_allows_name (const struct net_policy *p, const char *name);
/* ... at PORT?  The entry that allowed it in *WHICH when not NULL. */
bool net_policy_allows_name_port (const struct net_policy *p, const char *name, uint16_t port,
                                  const struct net_entry **which);
/* Does an ADDR entry cover the address SA (AF_INET/AF_INET6; an
   IPv4-mapped IPv6 address counts as IPv4) at PORT? */
bool net_policy_allows_addr (const struct net_policy *p, const struct sockaddr *sa,
                             uint16_t port, const struct net_entry **which);

/* Is SA a refused destination (above)?  *WHY (when not NULL) gets a
   static phrase: "a loopback address", "a private address",
   "a link-local address", "a multicast address", "an unspecified address",
   "a broadcast address". */
bool net_addr_refused (const struct sockaddr *sa, const char **why);

/* The distinct ports the entries allow (80 and 443 for entries without a
   port), ascending, into PORTS (NET_MAX_PORTS long); returns how many. */
size_t net_policy_ports (const struct net_policy *p, uint16_t *ports);

#endif
