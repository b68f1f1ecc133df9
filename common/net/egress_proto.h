/* egress_proto.h - how a cage hands its network to the daemon's egress
   proxy (network "filtered").

   The daemon of a filtered mount listens on <state>/egress.sock
   (AF_UNIX, SOCK_SEQPACKET, mode 0600, in the 0700 state folder).  The
   cage's pid 1, in its new net namespace and before it drops its
   capabilities, makes every socket the agent's traffic can reach and
   hands them to the outer cage (launcher/exec.c: the caller's process,
   outside every namespace, the daemon's user or root), which sends them
   in ONE message (so at most SCM_MAX_FD, 253, fds: NET_FDS (NET_MAX_PORTS)):

     data:  {"v":1,"ports":[P1,P2,...],"netns_pid":N}   (JSON, < EGRESS_MSG_MAX)
            netns_pid: the host pid of the cage's pid 1, a process in the
            cage's net namespace while the cage lives
     fds:   SCM_RIGHTS, in this order:
            [0] UDP, bound to EGRESS_DNS_ADDR:53          (the DNS stub)
            [1] TCP, listening on EGRESS_PROXY_ADDR:EGRESS_PROXY_PORT
                (HTTP_PROXY/HTTPS_PROXY/ALL_PROXY: CONNECT and absolute-form
                 requests)
            [2..] TCP, listening on 0.0.0.0:Pi, one per entry of "ports"
                (net_policy_ports: every port some entry allows)
            [last] AF_NETLINK, NETLINK_SOCK_DIAG: the daemon asks it which
                socket of the cage's namespace is the agent's end of a
                connection (then the /proc fd links say whose it is)

   The cage's net namespace has only lo, with every IPv4 address routed
   to it as local (`local 0.0.0.0/0 dev lo`): a connection to any address
   on an allowed port reaches the daemon through [2..], where
   getsockname() tells the address and port the agent asked for.  An
   address in EGRESS_FAKE_NET is one the DNS stub handed out for an
   allowed name; any other is checked against the IP/CIDR entries.  A
   port with no listener is refused by the kernel at once.

   The daemon answers with one message {"ok":true} or {"error":"..."}.
   The connection then stays open for the cage's life: the outer cage
   holds it until pid 1 has exited;
   when it closes, the daemon closes that cage's sockets.  The daemon's
   death closes them too, so the cage is left with no network at all
   (fail closed).  The daemon reads /proc/<netns_pid>/net/{tcp,udp} to
   name the process behind a connection in the audit log.  */
#ifndef CAGE_EGRESS_PROTO_H
#define CAGE_EGRESS_PROTO_H

#define EGRESS_SOCK_NAME "egress.sock"
#define EGRESS_MSG_MAX 16384
#define EGRESS_PROTO_VERSION 1
/* The fds of a registration for N ports. */
#define NET_FDS(n) ((size_t) (n) + 3)

/* In the cage's net namespace. */
#define EGRESS_DNS_ADDR "127.0.0.53"
#define EGRESS_PROXY_ADDR "127.0.0.1"
#define EGRESS_PROXY_PORT 3128
/* The made-up addresses the DNS stub answers allowed names with:
   127.100.0.1 and up (network byte order prefix 127.100.0.0/16). */
#define EGRESS_FAKE_NET "127.100.0.0"
#define EGRESS_FAKE_PREFIX 16

#endif
