/* dns.h - the DNS stub's answers (the cage's resolver: EGRESS_DNS_ADDR:53).

   A query is hostile input: it is parsed with every length checked.  One
   question, class IN, a name of letters, digits, '-' and '_' labels
   without compression (a pointer in a question is refused: FORMERR); a
   response or a packet shorter than a header is not answered at all.

   An allowed name (net_policy_allows_name): type A is answered with its
   made-up address (fake_addr.h), TTL DNS_TTL; every other type NOERROR
   with no answer (no IPv6: the cage's traffic is IPv4).  A name the
   allowlist does not have: NXDOMAIN at once.  */
#ifndef CAGE_DNS_H
#define CAGE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_policy.h"

#define DNS_TTL 60
#define DNS_NAME_MAX 253
/* A reply is never longer (a question is at most 4 + 255 bytes). */
#define DNS_REPLY_MAX 512

enum dns_rcode
{
  DNS_NOERROR = 0,
  DNS_FORMERR = 1,
  DNS_SERVFAIL = 2,
  DNS_NXDOMAIN = 3,
  DNS_NOTIMP = 4,
  DNS_REFUSED = 5,
};

enum dns_verdict
{
  DNS_DROP = 0,  /* not answered (too short, not a query) */
  DNS_MALFORMED, /* answered FORMERR, NOTIMP or REFUSED */
  DNS_ALLOWED,   /* an allowed name */
  DNS_DENIED,    /* NXDOMAIN: not in the allowlist (audit it) */
  DNS_FAILED,    /* SERVFAIL: no made-up address left */
};

struct dns_question
{
  char name[DNS_NAME_MAX + 1]; /* lowercase, no final dot ("" for the root) */
  uint16_t type, cls;
};

/* Parse the query Q (LEN bytes) into *OUT; *QEND (when not NULL) gets
   the offset past its question.  Returns a dns_rcode (DNS_NOERROR: *OUT
   is good), or -1 when the packet is not to be answered. */
int dns_parse (const unsigned char *q, size_t len, struct dns_question *out, size_t *qend);

/* The reply to Q under ALLOW into OUT (DNS_REPLY_MAX bytes): its length,
   or 0 to send nothing.  *V says what it was, *QUESTION what was asked
   (its name "" unless parsed). */
size_t dns_answer (const struct net_policy *allow, const unsigned char *q, size_t len,
                   unsigned char *out, struct dns_question *question, enum dns_verdict *v);

/* Is NAME (text, a final dot allowed) a host name the stub and the proxy
   take: 1..253 bytes, labels of 1..63 letters, digits, '-' or '_', the
   last not all digits (never an address in disguise)? */
bool dns_name_valid (const char *name);

#endif
