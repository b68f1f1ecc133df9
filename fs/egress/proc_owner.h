/* proc_owner.h - which process in a cage made a connection (the audit
   log's pid and process), best effort.

   The cage's pid 1 (its host pid: SO_PEERCRED on the registration)
   shares the cage's net namespace: /proc/PID1/net/{tcp,udp} lists its
   sockets, the agent's end of a connection among them, with its inode;
   the process is the one of that namespace with an fd "socket:[INODE]". */
#ifndef CAGE_PROC_OWNER_H
#define CAGE_PROC_OWNER_H

#include <netinet/in.h>
#include <sys/types.h>

/* The host pid of a process of PID1's net namespace holding the IPv4
   socket whose local end is LOCAL (and remote end REMOTE, when not NULL)
   in /proc/PID1/net/PROTO ("tcp" or "udp").  0 when not found. */
pid_t proc_owner (pid_t pid1, const char *proto, const struct sockaddr_in *local,
                  const struct sockaddr_in *remote);

#endif
