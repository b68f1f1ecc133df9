/* proc_owner.h - which process in a cage made a connection (the audit
   log's pid and process), best effort.

   The cage's pid 1 (its host pid: SO_PEERCRED on the registration)
   shares the cage's net namespace: /proc/PID1/net/{tcp,udp} lists its
   sockets, the agent's end of a connection among them, with its inode;
   the process is the one of that namespace with an fd "socket:[INODE]". */
#ifndef CAGE_PROC_OWNER_H
#define CAGE_PROC_OWNER_H

#include <netinet/in.h>
#include <pthread.h>
#include <sys/types.h>

/* Where to look: the cage's pid 1 (host pid), its NETLINK_SOCK_DIAG
   socket (-1: none; DIAG_LOCK serializes its questions) and the last
   process found (HINT, read and written atomically; NULL: none). */
struct proc_owner_q
{
  pid_t pid1;
  int diag;
  pthread_mutex_t *diag_lock;
  pid_t *hint;
};

/* The host pid of a process of the cage's net namespace holding the IPv4
   socket whose local end is LOCAL (and remote end REMOTE, when not NULL),
   of PROTO (IPPROTO_TCP or IPPROTO_UDP).  0 when not found.  The socket's
   inode comes from sock_diag (one exact question), else from
   /proc/PID1/net/{tcp,udp}; its process is the hint when that holds it
   (one process, the agent, makes most connections), else found in the
   cage's process tree from PID1 down (/proc/P/task/T/children), else,
   where the kernel has no such files, among every process in PID1's net
   namespace. */
pid_t proc_owner (const struct proc_owner_q *q, int proto, const struct sockaddr_in *local,
                  const struct sockaddr_in *remote);

#endif
