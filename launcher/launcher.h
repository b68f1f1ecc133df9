/* launcher.h - cage: run one command in a cage on a mounted project.

   One file per kernel concern, as in crun's libcrun:
     main.c     the command line; the only place that prints
     exec.c     orchestration: plan, clone, sync, pid 1, the agent
     userns.c   uid/gid maps (written by the parent), the agent's ids
     mounts.c   the cage's root: proc, tmp, dev, pivot_root
     net.c      loopback up in a new network namespace
     limits.c   resource limits: cgroup v2, v1 or rlimits
     caps.c     capabilities (libcap)
     seccomp.c  the syscall filter (libseccomp)
     reaper.c   signal forwarding, waiting, pid 1's reaping loop
     pty.c      `cage shell`: the cage's own pty, the relay to the terminal
     events.c   `cage exec --json`: the NDJSON event stream

   Every function returns 0 (or a value >= 0) on success and -1 with ERR set
   on failure; messages name the path and the reason.  */
#ifndef CAGE_LAUNCHER_H
#define CAGE_LAUNCHER_H

#include <jansson.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "error.h"

/* Exit statuses of cage itself (as env(1) and chroot(1)). */
#define CAGE_EXIT_FAILURE 125   /* the launcher failed */
#define CAGE_EXIT_CANNOT_RUN 126 /* CMD found but could not be run */
#define CAGE_EXIT_NOT_FOUND 127  /* CMD not found */

/* The hostname inside every cage. */
#define CAGE_HOSTNAME "cage"
/* The agent's working directory. */
#define CAGE_WORKDIR "/workspace"

/* ---- exec.c ------------------------------------------------------------ */

/* Where the agent's stdin, stdout and stderr go.  */
enum cage_stdio
{
  CAGE_STDIO_INHERIT = 0, /* cage exec: the caller's own */
  CAGE_STDIO_PTY,         /* cage shell: a pty of the cage's devpts, relayed */
  CAGE_STDIO_EVENTS,      /* cage exec --json: stdin the caller's, stdout and
                             stderr pipes turned into NDJSON events */
};

struct exec_options
{
  const char *project;  /* as given on the command line */
  char **argv;          /* the command, NULL-terminated, argv[0] != NULL;
                           NULL with CAGE_STDIO_PTY: a login shell */
  enum cage_stdio stdio;
  bool dry_run;         /* print the plan (JSON) instead of running it */
  char **proc_argv;     /* main's argv: pid 1 overwrites it (may be NULL) */
  /* Flags over cage.json: env_pass, env_set and limits are used. */
  const struct cage_config *flags;
  bool seccomp_off;     /* --seccomp=off: no syscall filter (debugging) */
  bool allow_ptrace;    /* --allow-ptrace */
  bool allow_userns;    /* --allow-userns */
  const char *profile;  /* --profile: the mount must have been made with it */
};

/* How one resource limit is enforced. */
enum limit_via
{
  LIMIT_NONE = 0,  /* not asked for */
  LIMIT_CGROUP2,   /* a child cgroup of ours in the v2 hierarchy */
  LIMIT_CGROUP1,   /* a child cgroup of ours in the controller's v1 hierarchy */
  LIMIT_RLIMIT,    /* setrlimit in the agent */
  LIMIT_UNAVAILABLE, /* asked for, but nothing here can enforce it */
};

/* The cage's limits and where they are enforced, decided before the run:
   cgroup paths end in cagefs-<pid of the outer cage>.  */
struct limits_plan
{
  struct cage_limits want;
  enum limit_via memory, cpus, pids, nofile;
  char *cgroup2;        /* the v2 cgroup to create, or NULL */
  char *cgroup1[3];     /* v1 cgroups to create: memory, cpu, pids (or NULL) */
  bool created2, created1[3];
};

/* The seccomp filter's choices. */
struct seccomp_options
{
  bool off;
  bool allow_ptrace;
  bool allow_userns;
};

/* Everything one `cage exec` does, decided before anything is touched.  */
struct cage_plan
{
  char *root;           /* the FUSE mount point: the cage's / */
  char *project;        /* realpath of the project (for messages) */
  char *home;           /* the cage's home in the cage ("/home/agent") */
  char *home_src;       /* the host folder bound there (<state>/home) */
  bool new_net;         /* network "off" or "filtered": a new net namespace with lo */
  bool net_filtered;    /* "filtered": the egress proxy's sockets (net.c) */
  uint16_t *net_ports;  /* filtered: the allowed ports, ascending (owned) */
  size_t n_net_ports;
  struct net_policy net_allow; /* filtered: the allowlist (for --dry-run) */
  char *state_dir;      /* the project's state folder (egress.sock) */
  uid_t map_uid;        /* host uid that CAGE_INNER_UID maps to */
  gid_t map_gid;        /* host gid that CAGE_INNER_GID maps to */
  char **argv;          /* borrowed from the options */
  char **envp;          /* the agent's whole environment (owned) */
  int clone_flags;      /* CLONE_NEW* */
  char **proc_argv;     /* borrowed from the options */
  struct limits_plan limits;
  struct seccomp_options seccomp;
  struct sock_fprog seccomp_prog; /* the compiled filter (filter NULL: off) */
  enum cage_stdio stdio;
  char *shells[3];      /* CAGE_STDIO_PTY: the shells to try, in order (the
                           last is /bin/sh); the agent runs the first that
                           exists in the cage, with -l */
  struct winsize winsize; /* CAGE_STDIO_PTY: the caller's terminal's size */
  int event_fds[2][2];  /* CAGE_STDIO_EVENTS: stdout and stderr pipes */
};

/* Run OPTS->argv in a cage on the mounted project.  On success returns 0
   and *EXIT_CODE is the command's status (its exit code, or 128+N when it
   was killed by signal N).  On failure returns -1 with ERR set and
   *EXIT_CODE one of CAGE_EXIT_*.  With OPTS->dry_run, *PLAN_JSON receives
   the plan instead (caller decrefs).  */
int cage_exec (const struct exec_options *opts, int *exit_code, json_t **plan_json,
               struct cage_error *err);

/* ---- main.c / run.c -------------------------------------------------- */

/* `cage exec` with ARGV[0] the command's name ("exec", "run"): parses the
   options and runs; returns the exit status.  */
int cage_main_exec (int argc, char **argv, char **proc_argv);

/* `cage run PROJECT [MOUNT-OPTIONS] [EXEC-OPTIONS] -- CMD`: mount when not
   mounted (the cagefs next to /proc/self/exe), exec, unmount what it
   mounted.  The exit status is CMD's (125 when the mount fails). */
int cage_run (int argc, char **argv, char **proc_argv);

/* ---- userns.c ---------------------------------------------------------- */

/* From the parent: deny setgroups, then map CAGE_INNER_UID/GID to
   MAP_UID/MAP_GID in PID's user namespace.  */
int userns_write_maps (pid_t pid, uid_t map_uid, gid_t map_gid, struct cage_error *err);

/* In the cage (pid 1, before it forks the agent): become
   CAGE_INNER_UID/GID (real, effective, saved).  */
int userns_become_agent (struct cage_error *err);

/* In the cage, before creating files on its own tmpfs mounts: use
   CAGE_INNER_UID/GID for file access.  Host root (pid 1's uid when root
   invokes) is not mapped inside, and the kernel refuses to create an inode
   whose owner it cannot map (EOVERFLOW).  */
int userns_use_inner_fs_ids (struct cage_error *err);

/* When root invokes: drop supplementary groups before the clone (setgroups
   is denied inside, so the agent would keep root's groups otherwise).  */
int userns_drop_groups (struct cage_error *err);

/* After clone failed with E: an error naming the host setting that
   refuses user namespaces (sysctl, AppArmor) and how to allow it.  */
int userns_clone_error (int e, struct cage_error *err);

/* ---- limits.c ---------------------------------------------------------- */

/* Decide, without changing anything, how WANT is enforced for a cage
   whose outer process is OUTER_PID: cgroup v2 when our cgroup there has
   the controllers and is writable, else the v1 controllers' hierarchies
   where ours are writable, else rlimits (memory as RLIMIT_AS, pids as
   RLIMIT_NPROC; cpus needs a cgroup).  nofile is always RLIMIT_NOFILE.  */
int limits_plan_make (const struct cage_limits *want, pid_t outer_pid, struct limits_plan *lp,
                      struct cage_error *err);
void limits_plan_free (struct limits_plan *lp);
json_t *limits_plan_json (const struct limits_plan *lp);
/* One line for people: "memory 64M (cgroup v1), nofile 100 (rlimit)". */
void limits_describe (const struct limits_plan *lp, char *buf, size_t size);

/* Outer cage, before pid 1 goes: create the cgroups, write the limits,
   move PID into them.  The outer cage itself stays outside.  */
int limits_cgroups_enter (struct limits_plan *lp, pid_t pid, struct cage_error *err);
/* After the cage is gone: remove the cgroups (errors ignored). */
void limits_cgroups_remove (struct limits_plan *lp);
/* The agent, before exec: the rlimits of the plan.  */
int limits_apply_rlimits (const struct limits_plan *lp, struct cage_error *err);

/* ---- mounts.c ---------------------------------------------------------- */

/* In the new mount namespace: make the tree private, bind PLAN->root onto
   itself, bind the home folder PLAN->home_src at PLAN->home (nosuid, nodev;
   it must belong to PLAN->map_uid), mount proc, tmp, dev (devices, pts,
   shm, links) under it, pivot_root into it and detach the host's tree.
   Afterwards cwd is "/".  */
int mounts_setup_root (const struct cage_plan *plan, struct cage_error *err);

/* The mounts mounts_setup_root makes for PLAN, as a JSON array (for
   --dry-run). */
json_t *mounts_plan_json (const struct cage_plan *plan);

/* ---- net.c ------------------------------------------------------------- */

/* Bring the loopback interface up (in a new network namespace). */
int net_lo_up (struct cage_error *err);

/* Network "filtered", in pid 1 (the new net namespace, capabilities still
   held): route every IPv4 address to lo as local, and make the sockets of
   common/net/egress_proto.h: FDS (NET_FDS (N_PORTS) long) gets the DNS
   stub's UDP socket, the proxy's listener, one listener per port of PORTS
   and the sock_diag socket.  */
int net_filtered_sockets (const uint16_t *ports, size_t n_ports, int *fds,
                          struct cage_error *err);
void net_close_fds (int *fds, size_t n);
/* Send N fds with DATA (LEN > 0 bytes) over the unix socket SOCK; receive
   exactly N (with one byte of data): 1 when the peer closed first. */
int net_send_fds (int sock, const char *data, size_t len, const int *fds, size_t n,
                  struct cage_error *err);
int net_recv_fds (int sock, int *fds, size_t n, struct cage_error *err);
/* In the outer cage: hand FDS (from net_filtered_sockets) to the egress
   proxy of the mount whose state folder is STATE_DIR.  Returns the
   registration's connection, to hold while the cage lives (its close
   closes the cage's network), or -1 with ERR.  */
int net_egress_register (const char *state_dir, pid_t netns_pid, const uint16_t *ports,
                         size_t n_ports, const int *fds, struct cage_error *err);

/* ---- caps.c ------------------------------------------------------------ */

/* Drop every capability from the bounding set (needs CAP_SETPCAP: call it
   before changing uid).  */
int caps_drop_bounding (struct cage_error *err);

/* Lock the securebits: no root magic, no setuid fixup, no keep-caps, no
   ambient raise, each locked (needs CAP_SETPCAP: before the uid change). */
int caps_lock_securebits (struct cage_error *err);

/* Clear the effective, permitted, inheritable and ambient sets.  */
int caps_clear_all (struct cage_error *err);

/* ---- seccomp.c --------------------------------------------------------- */

/* Load the cage's syscall filter: allow by default, EPERM for the syscalls
   that manage mounts, namespaces, modules, keys, tracing and the like,
   TIOCSTI/TIOCLINUX ioctls, personality other than PER_LINUX(32) and the
   query, clone and unshare with any CLONE_NEW* flag (CLONE_NEWUSER too
   unless OPTS->allow_userns); ptrace and process_vm_* unless
   OPTS->allow_ptrace; clone3 gets ENOSYS so libc falls back to the
   inspectable clone.  Needs no_new_privs.  Nothing when OPTS->off.  */
/* Compile the filter OPTS asks for into *PROG (nothing with --seccomp=off),
   or take it from CACHE_DIR, where a compiled filter is kept per options
   and cage binary (compiling takes about a millisecond per cage). */
int cage_seccomp_prepare (const struct seccomp_options *opts, const char *cache_dir,
                          struct sock_fprog *prog, struct cage_error *err);
/* Load PROG (prepared above) into this process. */
int cage_seccomp_install (const struct sock_fprog *prog, struct cage_error *err);
void cage_seccomp_free (struct sock_fprog *prog);

/* The filter's rules as JSON (for --dry-run). */
json_t *cage_seccomp_plan_json (const struct seccomp_options *opts);

/* ---- reaper.c ---------------------------------------------------------- */

/* The signals cage forwards: TERM, INT, HUP, QUIT, USR1, USR2. */
void reaper_forwarded_set (sigset_t *set);

/* The exit status for a wait status: the exit code, or 128+N. */
int reaper_exit_code (int wstatus);

/* Outer parent: forward the signals to PID from now on.  Until
   reaper_ready() a forwarded signal instead cancels the cage (SIGKILL to
   PID), because no agent runs yet to receive it.  The cage is a session of
   its own: a signal the caller's terminal sent to the outer cage's process
   group (^C) goes on to pid 1 marked as the terminal's, and pid 1 sends it
   to the agent's whole process group.  */
int reaper_forward_to (pid_t pid, struct cage_error *err);
/* `cage exec` (not shell, whose pty has job control of its own): OUTER,
   the outer cage stops the agent's group with itself on SIGTSTP, SIGTTIN
   and SIGTTOU and continues it on SIGCONT; else (pid 1) takes those
   signals and passes them to the agent's group.  After reaper_forward_to. */
int reaper_forward_stops (bool outer, struct cage_error *err);
void reaper_ready (void);
/* The signal that cancelled the cage before it was ready, or 0. */
int reaper_cancelled (void);

/* Wait for PID (EINTR-safe); *WSTATUS gets its wait status. */
int reaper_wait (pid_t pid, int *wstatus, struct cage_error *err);

/* Pid 1: forward the signals to AGENT and reap every child until AGENT
   exits; returns AGENT's wait status.  */
int reaper_run (pid_t agent);

/* ---- pty.c ------------------------------------------------------------- */

/* In the cage (pid 1, after the root is set up and privileges dropped):
   open a pty of the cage's own devpts instance; *MASTER and *SLAVE get
   close-on-exec fds, the slave owned by the agent, sized WS.  */
int pty_open (const struct winsize *ws, int *master, int *slave, struct cage_error *err);

/* The agent, before exec: a new session whose controlling terminal is
   SLAVE, which becomes its stdin, stdout and stderr.  */
int pty_make_controlling (int slave, struct cage_error *err);

/* Pass FD over the unix socket SOCK (SCM_RIGHTS), and take it. */
int pty_send_fd (int sock, int fd, struct cage_error *err);
int pty_recv_fd (int sock, struct cage_error *err);

/* The caller's terminal's size (stdin's, else stdout's; 0x0 when neither
   is a terminal).  */
void pty_caller_winsize (struct winsize *ws);

/* The outer cage: put the caller's terminal (stdin) in raw mode, relay
   bytes between it and MASTER, copy its size on SIGWINCH, until the cage
   closes the pty (the shell and everything holding it are gone).  A
   SIGTERM or SIGHUP to cage hangs the pty up (the shell gets SIGHUP);
   SIGTSTP gives the terminal back while cage is stopped.  The terminal's
   modes are restored on return and on any signal that kills cage.  PID is
   the cage's pid 1: killed when it outlives a hang-up by 2 s.  MASTER is
   closed on return.  */
int pty_relay (int master, pid_t pid, struct cage_error *err);

/* ---- events.c ---------------------------------------------------------- */

/* `cage exec --json` writes one JSON object a line on stdout:
     {"event":"start","pid":P,"namespaces":[...],"limits":{...}}
     {"event":"stdout","data":"..."}  or  {"event":"stdout","data_b64":"..."}
     {"event":"stderr", ...}
     {"event":"exit","code":N,"signal":S|null,"duration_ms":M}
   "data" is a chunk as read, when it is UTF-8 (a character cut by the read
   waits for the next chunk); any other chunk comes whole as "data_b64".
   Each returns -1 with ERR (errno EPIPE: our stdout is closed) on failure. */
int events_start (pid_t pid, json_t *namespaces, json_t *limits, struct cage_error *err);

/* Read OUT_FD (the agent's stdout) and ERR_FD (its stderr) until both are
   at end-of-file, writing each chunk as an event.  Both are closed.  */
int events_relay (int out_fd, int err_fd, struct cage_error *err);

/* WSTATUS: the agent's wait status; STARTED: when the cage was started. */
int events_exit (int wstatus, const struct timespec *started, struct cage_error *err);

/* pty.c: write all N bytes of P to FD (EINTR retried); 0 or -1 (errno). */
int write_all (int fd, const char *p, size_t n);

/* agents.c: <state>/agents/<pid> while this cage runs (cagefs status
   counts them).  PATH receives the file's name ("" when none was made). */
int agents_register (const char *project, char *path, size_t size);
void agents_unregister (const char *path);

/* ---- one cage exec (plan.c, cage_init.c, exec.c) ---- */

/* What a process in the cage sends when it fails: the exit status cage
   must use and why.  Smaller than PIPE_BUF, so one write is atomic.  */
struct report
{
  int exit_code;
  struct cage_error err;
};

_Static_assert (sizeof (struct report) <= 4096, "a report fits in one pipe write");

/* plan.c */
int plan_build (const struct exec_options *opts, struct cage_plan *plan, struct cage_error *err);
void plan_free (struct cage_plan *plan);
json_t *plan_json (const struct cage_plan *plan);
/* The namespaces of CLONE_FLAGS as a JSON array of names. */
json_t *namespaces_json (int clone_flags);

/* cage_init.c: pid 1 of the cage (never returns) */
_Noreturn void cage_init (struct cage_plan *plan, const sigset_t *caller_mask, int sync_fd,
                          int report_fd);

#endif
