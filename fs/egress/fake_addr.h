/* fake_addr.h - the made-up addresses the DNS stub answers allowed names
   with (egress_proto.h: EGRESS_FAKE_NET/EGRESS_FAKE_PREFIX), and the way
   back from an address the agent connects to, to the name it asked for.

   One table for the daemon's life, shared by its cages: a name keeps its
   address (127.100.0.1 for the first name, and up), so a cached answer
   stays good.  Names are kept lowercase, without a final dot.  Thread-safe. */
#ifndef CAGE_FAKE_ADDR_H
#define CAGE_FAKE_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/* At most this many names (the /16 without its network and broadcast
   address). */
#define FAKE_ADDR_MAX ((1u << (32 - 16)) - 2)

/* The address of NAME (given one now if it has none) into *OUT.  -1 with
   errno ENOSPC (the table is full) or ENOMEM, or EINVAL for an empty name
   or one over 253 bytes. */
int fake_addr_for (const char *name, struct in_addr *out);
/* Is A in EGRESS_FAKE_NET? */
bool fake_addr_is (struct in_addr a);
/* The name A was handed out for, into BUF (SIZE >= 254): 0, or -1 when A
   was never handed out. */
int fake_addr_name (struct in_addr a, char *buf, size_t size);
/* Forget every name (the daemon's teardown; tests). */
void fake_addr_reset (void);

#endif
