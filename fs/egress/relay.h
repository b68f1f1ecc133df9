/* relay.h - an agent's connection to an allowed destination: the checks,
   the upstream connect, and the copy both ways.

   A destination is a NAME (an allowed name the DNS stub handed a made-up
   address for, or the host of a proxy request) or an ADDRESS (an IP
   literal).  A name must be allowed at the port (net_policy_allows_name_port);
   it is resolved on the host, and every address net_addr_refused() names
   is dropped unless an IP/CIDR entry covers it (a name resolving to
   127.0.0.1 reaches nothing).  An address must be covered by an IP/CIDR
   entry at the port (net_policy_allows_addr).  Any error closes the
   agent's connection: there is no unfiltered path. */
#ifndef CAGE_RELAY_H
#define CAGE_RELAY_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "dns.h"
#include "net_policy.h"

/* Connecting to one upstream address gives up after this long. */
#define RELAY_CONNECT_TIMEOUT_MS 10000

/* One connection the agent made, as egress.c hands it to a server. */
struct egress_conn
{
  int fd;                         /* the accepted socket (owned by the caller) */
  const struct net_policy *allow;
  pid_t pid1;                     /* the cage's pid 1 (host pid), or 0 */
  pid_t *owner_hint;              /* the cage's last owner found (atomic), or NULL */
  int diag;                       /* the cage's NETLINK_SOCK_DIAG socket, or -1 */
  pthread_mutex_t *diag_lock;
  int stop_fd;                    /* readable once the cage or the daemon stops */
};

struct relay_dest
{
  char host[DNS_NAME_MAX + 1];    /* the name, or the address as text */
  bool by_name;
  struct sockaddr_storage addr;   /* !by_name: the address */
  uint16_t port;
};

/* Check D under ALLOW and connect to it: the connected upstream socket
   (nonblocking), or -1 with *RESULT "denied" or "failed" and the reason
   in WHY (SIZE bytes).  Waits end early when STOP_FD is readable. */
int relay_open (const struct net_policy *allow, const struct relay_dest *d, int stop_fd,
                const char **result, char *why, size_t size);

/* Copy between AGENT and UP both ways (a half-close is passed on with
   shutdown(SHUT_WR)) until both directions ended, an error, or STOP_FD
   is readable.  PRE (PRE_LEN bytes) goes to UP first.  The bytes sent
   each way in *UP_BYTES (PRE counted) and *DOWN_BYTES. */
void relay_pump (int agent, int up, int stop_fd, const char *pre, size_t pre_len,
                 unsigned long long *up_bytes, unsigned long long *down_bytes);

/* The process behind C (best effort, 0: unknown): PROTO "tcp". */
pid_t relay_owner (const struct egress_conn *c);

/* relay_owner in a thread of its own, beside the upstream connect and the
   relay (its /proc scan adds no latency); finish joins it and gives the
   pid.  Declare the job with RELAY_OWNER_JOB: every exit joins it. */
struct relay_owner_job
{
  const struct egress_conn *c;
  pid_t pid;
  pthread_t t;
  bool started;
};
void relay_owner_start (struct relay_owner_job *j, const struct egress_conn *c);
pid_t relay_owner_finish (struct relay_owner_job *j);
void relay_owner_joinp (struct relay_owner_job *j);
#define RELAY_OWNER_JOB __attribute__ ((cleanup (relay_owner_joinp))) struct relay_owner_job

/* Close FD with a reset (SO_LINGER 0): the agent sees it refused. */
void relay_reset (int fd);

/* Serve C, accepted on a port listener: its destination is the address
   and port the agent asked for (getsockname).  Audited. */
void relay_serve (const struct egress_conn *c);

#endif
