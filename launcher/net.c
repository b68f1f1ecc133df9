/* net.c - the network of a cage without the host's: only lo, and up. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "launcher.h"

int
net_lo_up (struct cage_error *err)
{
  autoclose int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cage_error_set (err, errno, "bring up lo: socket(AF_INET)");
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  memcpy (ifr.ifr_name, "lo", sizeof "lo");
  if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
    return cage_error_set (err, errno, "bring up lo: get flags (SIOCGIFFLAGS)");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
    return cage_error_set (err, errno, "bring up lo: set flags (SIOCSIFFLAGS)");
  return 0;
}
