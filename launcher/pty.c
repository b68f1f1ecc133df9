/* pty.c - `cage shell`: the cage's own terminal, and the relay to ours.

   The pty is opened by pid 1 inside the cage, on the cage's own devpts
   instance (mounts.c: /dev/pts, newinstance), after it has become the
   agent: the slave is /dev/pts/0 of the cage, owned by the agent.  Only
   the master leaves the cage, over the control socket (SCM_RIGHTS), to the
   outer cage, which relays bytes between it and the caller's terminal.  No
   process of the cage holds the caller's terminal (pid 1 gives its stdio
   to /dev/null), so nothing there can push keystrokes into it (TIOCSTI
   works only on one's controlling terminal, and the filter refuses it
   anyway) or change its modes; the agent's controlling terminal is the
   slave (setsid, TIOCSCTTY), so job control, ^C and ^Z work as on any
   terminal: the caller's terminal is raw and passes them on as bytes.  */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "launcher.h"

/* ---- in the cage ------------------------------------------------------- */

int
pty_open (const struct winsize *ws, int *master, int *slave, struct cage_error *err)
{
  autoclose int m = open ("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return cage_error_set (err, errno, "open `/dev/pts/ptmx` in the cage");
  int unlock = 0;
  if (ioctl (m, TIOCSPTLCK, &unlock) < 0)
    return cage_error_set (err, errno, "unlock the cage's pty (TIOCSPTLCK)");
  if ((ws->ws_row || ws->ws_col) && ioctl (m, TIOCSWINSZ, ws) < 0)
    return cage_error_set (err, errno, "set the size of the cage's pty (TIOCSWINSZ)");
  /* The peer of this master, whatever /dev/pts holds (no path lookup). */
  int s = ioctl (m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    return cage_error_set (err, errno, "open the cage's pty slave (TIOCGPTPEER)");
  *slave = s;
  *master = steal_fd (&m);
  return 0;
}

int
pty_make_controlling (int slave, struct cage_error *err)
{
  if (setsid () < 0)
    return cage_error_set (err, errno, "start a session (setsid)");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return cage_error_set (err, errno, "make the cage's pty the controlling terminal (TIOCSCTTY)");
  for (int fd = 0; fd <= 2; fd++)
    if (dup2 (slave, fd) < 0)
      return cage_error_set (err, errno, "make the cage's pty fd %d", fd);
  if (slave > 2)
    close (slave);
  return 0;
}

/* ---- passing the master out -------------------------------------------- */

int
pty_send_fd (int sock, int fd, struct cage_error *err)
{
  char byte = 'm';
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union { struct cmsghdr h; char buf[CMSG_SPACE (sizeof (int))]; } u;
  memset (&u, 0, sizeof u);
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof fd);
  ssize_t n;
  do
    n = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    return cage_error_set (err, n < 0 ? errno : EIO, "send the pty to the outer cage");
  return 0;
}

int
pty_recv_fd (int sock, struct cage_error *err)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union { struct cmsghdr h; char buf[CMSG_SPACE (sizeof (int))]; } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf };
  ssize_t n;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return cage_error_set (err, errno, "receive the cage's pty");
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  if (n != 1 || !c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS
      || c->cmsg_len != CMSG_LEN (sizeof (int)))
    return cage_error_set (err, 0, "receive the cage's pty: the cage sent none");
  int fd;
  memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd;
}

/* ---- the caller's terminal --------------------------------------------- */

void
pty_caller_winsize (struct winsize *ws)
{
  memset (ws, 0, sizeof *ws);
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, ws) < 0 && ioctl (STDOUT_FILENO, TIOCGWINSZ, ws) < 0)
    memset (ws, 0, sizeof *ws);
}

/* The caller's modes, for the handlers that restore them. */
static struct termios saved_modes;
static volatile sig_atomic_t raw_on;

static void
restore_modes (void)
{
  if (raw_on)
    {
      tcsetattr (STDIN_FILENO, TCSADRAIN, &saved_modes); /* async-signal-safe */
      raw_on = 0;
    }
}

static int
raw_modes (struct cage_error *err)
{
  struct termios raw = saved_modes;
  cfmakeraw (&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) < 0)
    return cage_error_set (err, errno, "put the terminal in raw mode (tcsetattr)");
  raw_on = 1;
  return 0;
}

/* Signals whose default action ends cage and that nothing else handles
   during the relay: restore the terminal, then die of it.  */
static const int fatal_signals[] = { SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGPWR,
                                     SIGSYS,  SIGTRAP,   SIGABRT, SIGSEGV, SIGBUS,  SIGILL,
                                     SIGFPE,  SIGSTKFLT };
#define N_FATAL (sizeof fatal_signals / sizeof *fatal_signals)

static void
on_fatal (int sig)
{
  restore_modes ();
  /* (SA_RESETHAND: the default action now; SA_NODEFER: not blocked) */
  raise (sig);
}

/* Copy the caller's window size to the cage's pty (the kernel then sends
   SIGWINCH to the pty's foreground process group).  */
static void
copy_winsize (int master)
{
  struct winsize ws;
  pty_caller_winsize (&ws);
  if (ws.ws_row || ws.ws_col)
    ioctl (master, TIOCSWINSZ, &ws);
}

int
write_all (int fd, const char *p, size_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

/* After a hang-up: give pid 1 two seconds to go (the shell gets SIGHUP),
   then kill it (a shell that ignores SIGHUP).  Not reaped: the caller
   waits for it.  */
static void
await_or_kill (pid_t pid)
{
  for (int i = 0; i < 40; i++)
    {
      siginfo_t si;
      memset (&si, 0, sizeof si);
      if (waitid (P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
        return;
      struct timespec t = { 0, 50 * 1000 * 1000 };
      nanosleep (&t, NULL);
    }
  kill (pid, SIGKILL);
}

struct relay
{
  int master;
  char in[4096];        /* from the caller, not yet taken by the pty */
  size_t in_len, in_off;
  bool stdin_open;
  bool hang_up;         /* close the pty: the caller is gone or asked */
  bool done;            /* the pty's side is closed */
};

/* One signal from the signalfd. */
static int
on_relay_signal (struct relay *r, int sig, struct cage_error *err)
{
  switch (sig)
    {
    case SIGWINCH:
      copy_winsize (r->master);
      return 0;
    case SIGTERM:
    case SIGHUP:
      r->hang_up = true;
      return 0;
    case SIGTSTP:
      /* Give the terminal back while we are stopped. */
      restore_modes ();
      kill (getpid (), SIGSTOP);
      /* (continued: SIGCONT is pending too) */
      __attribute__ ((fallthrough));
    case SIGCONT:
      if (!raw_on)
        {
          if (tcgetattr (STDIN_FILENO, &saved_modes) < 0)
            return cage_error_set (err, errno, "read the terminal's modes (tcgetattr)");
          if (raw_modes (err) < 0)
            return -1;
        }
      copy_winsize (r->master);
      return 0;
    }
  return 0;
}

static void
pump_in (struct relay *r)
{
  if (r->in_len == 0)
    {
      ssize_t n = read (STDIN_FILENO, r->in, sizeof r->in);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
      if (n <= 0)
        {
          /* The terminal is gone (raw mode: ^D is a byte, not an end). */
          r->stdin_open = false;
          r->hang_up = true;
          return;
        }
      r->in_len = (size_t) n;
      r->in_off = 0;
    }
}

static void
push_in (struct relay *r)
{
  while (r->in_off < r->in_len)
    {
      ssize_t w = write (r->master, r->in + r->in_off, r->in_len - r->in_off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && errno == EAGAIN)
        return; /* the cage reads slowly: poll for POLLOUT */
      if (w < 0)
        {
          r->done = true; /* EIO: the pty's side is gone */
          return;
        }
      r->in_off += (size_t) w;
    }
  r->in_len = r->in_off = 0;
}

static void
pump_out (struct relay *r)
{
  /* One read a turn: a shell that prints without end must not keep ^C
     from getting in. */
  char buf[16384];
  ssize_t n = read (r->master, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      /* EIO: every slave fd is closed, everything read. */
      r->done = true;
      return;
    }
  if (write_all (STDOUT_FILENO, buf, (size_t) n) < 0)
    r->hang_up = true; /* our stdout is gone */
}

int
pty_relay (int master, pid_t pid, struct cage_error *err)
{
  autoclose int master_fd = master; /* (closed on the early returns) */
  struct relay r = { .master = master, .stdin_open = true };
  int fl = fcntl (master, F_GETFL);
  if (fl < 0 || fcntl (master, F_SETFL, fl | O_NONBLOCK) < 0)
    return cage_error_set (err, errno, "make the cage's pty non-blocking");
  if (tcgetattr (STDIN_FILENO, &saved_modes) < 0)
    return cage_error_set (err, errno, "read the terminal's modes (tcgetattr)");

  sigset_t set, old_mask;
  sigemptyset (&set);
  sigaddset (&set, SIGWINCH);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGTSTP);
  sigaddset (&set, SIGCONT);
  if (sigprocmask (SIG_BLOCK, &set, &old_mask) < 0)
    return cage_error_set (err, errno, "block signals");
  autoclose int sfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, &old_mask, NULL);
      return cage_error_set (err, e, "create a signalfd");
    }

  struct sigaction fatal, old_fatal[N_FATAL], old_pipe, ign;
  memset (&fatal, 0, sizeof fatal);
  fatal.sa_handler = on_fatal;
  fatal.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigfillset (&fatal.sa_mask);
  memset (&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  for (size_t i = 0; i < N_FATAL; i++)
    sigaction (fatal_signals[i], &fatal, &old_fatal[i]);
  sigaction (SIGPIPE, &ign, &old_pipe); /* a closed stdout is EPIPE */

  int rc = raw_modes (err);
  /* (a resize before we blocked SIGWINCH) */
  copy_winsize (master);
  while (rc == 0 && !r.done && !r.hang_up)
    {
      struct pollfd p[3] = {
        { .fd = sfd, .events = POLLIN },
        { .fd = master, .events = POLLIN | (r.in_len ? POLLOUT : 0) },
        { .fd = r.stdin_open && !r.in_len ? STDIN_FILENO : -1, .events = POLLIN },
      };
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue; /* a forwarded signal (reaper.c) */
          rc = cage_error_set (err, errno, "poll the terminal and the cage's pty");
          break;
        }
      if (p[0].revents)
        {
          struct signalfd_siginfo si;
          while (rc == 0 && read (sfd, &si, sizeof si) == (ssize_t) sizeof si)
            rc = on_relay_signal (&r, (int) si.ssi_signo, err);
        }
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
        pump_out (&r);
      if (p[2].revents)
        pump_in (&r);
      if (r.in_len && !r.done)
        push_in (&r);
    }

  restore_modes ();
  for (size_t i = 0; i < N_FATAL; i++)
    sigaction (fatal_signals[i], &old_fatal[i], NULL);
  sigaction (SIGPIPE, &old_pipe, NULL);
  /* The last master fd: on a hang-up, the shell's session gets SIGHUP. */
  cage_closep (&master_fd);
  if (r.hang_up)
    await_or_kill (pid);
  /* Signals that came meanwhile are dropped: TERM and HUP did their job. */
  struct signalfd_siginfo si;
  while (read (sfd, &si, sizeof si) == (ssize_t) sizeof si)
    ;
  sigprocmask (SIG_SETMASK, &old_mask, NULL);
  return rc;
}
