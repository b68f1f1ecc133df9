/* egress.h - the daemon's egress proxy for network "filtered": the only
   way out of a cage's net namespace (egress_proto.h says how a cage hands
   its sockets over).

   <state>/egress.sock takes one registration a cage from a client of the
   daemon's own uid or root: its DNS socket (dns.h), its proxy listener
   (http_proxy.h) and one listener a port (relay.h), served by a thread
   of the cage until the registration connection closes, one thread a
   connection.  Everything the agent sends is checked against ALLOW; an
   error closes the agent's connection (fail closed), and every refusal,
   failure and allowed connection is in the audit log (audit_net). */
#ifndef CAGE_EGRESS_H
#define CAGE_EGRESS_H

#include "error.h"
#include "net_policy.h"
#include "paths.h"

/* At most this many cages and connections a cage at once; past them a
   registration is refused, a connection reset. */
#define EGRESS_MAX_CAGES 16
#define EGRESS_MAX_CONNS 512

/* Listen on PP's egress.sock and serve cages under ALLOW (kept, not
   copied: it lives as long as the daemon). */
int egress_start (const struct project_paths *pp, const struct net_policy *allow,
                  struct cage_error *err);
/* Stop: every cage's sockets and connections closed, every thread
   joined; removes the socket. */
void egress_stop (void);

#endif
