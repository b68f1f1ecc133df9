#!/usr/bin/env python3
"""ptydrive - run a command on a pty of ours, as a person at a terminal would.

  ptydrive.py [--rows R] [--cols C] [--log FILE] -- CMD ARGS... ::: STEP...

The command is a session leader whose controlling terminal is the slave of a
fresh pty (the "outer terminal"); we hold the master.  Steps, in order:

  send TEXT       write TEXT (Python escapes: \\r, \\x03) to the master
  expect REGEX    read until REGEX matches the output since the last expect
                  (10 s, else fail with the tail of the output)
  sleep S         wait S seconds, reading output meanwhile
  resize R C      set the outer terminal's size (the kernel sends SIGWINCH)
  signal NAME     send signal NAME to the command
  stop / cont     SIGSTOP / SIGCONT the command
  inq0            the outer terminal's input queue is empty (nothing was
                  pushed into it, e.g. by TIOCSTI)
  nofd            no process below the command (but the command itself)
                  holds the outer terminal open; at least one was checked
  wait            wait for the command to exit (10 s); print "status N"
                  (N: exit code, or 128+signal), then check that the outer
                  terminal's modes are the ones it had before the command

Exits 0 when every step passed, 1 with a message otherwise.
"""
import codecs, fcntl, os, re, select, signal, struct, sys, termios, time

def die(msg):
    sys.stdout.write("ptydrive: FAIL: %s\n" % msg)
    sys.stdout.flush()
    sys.exit(1)

args = sys.argv[1:]
rows, cols, log = 24, 80, None
while args and args[0] != "--":
    if args[0] == "--rows": rows = int(args[1]); args = args[2:]
    elif args[0] == "--cols": cols = int(args[1]); args = args[2:]
    elif args[0] == "--log": log = args[1]; args = args[2:]
    else: die("unknown option " + args[0])
args = args[1:]
sep = args.index(":::")
cmd, steps = args[:sep], args[sep + 1:]

master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
modes_before = termios.tcgetattr(slave)
slave_id = (os.fstat(slave).st_dev, os.fstat(slave).st_ino)  # (not st_rdev: devpts
# instances number their ptys each from 0)

pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.closerange(3, 1 << 16)
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)

logf = open(log, "ab") if log else None
out = b""       # everything not yet matched by an expect
status = None

def pump(timeout):
    global out
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            out += data
            if logf: logf.write(data); logf.flush()
        return bool(data)
    return False

def reap(block_for):
    global status
    end = time.time() + block_for
    while status is None:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = os.waitstatus_to_exitcode(st)
            status = 128 - status if status < 0 else status
            return True
        if time.time() > end:
            return False
        pump(0.05)
    return True

def descendants(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit(): continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(d))
    found, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            found.append(c); todo.append(c)
    return found

for step in steps:
    verb, _, arg = step.partition(" ")
    if verb == "send":
        os.write(master, codecs.decode(arg, "unicode_escape").encode("latin-1"))
    elif verb == "expect":
        rx = re.compile(arg.encode())
        end = time.time() + 10
        while True:
            m = rx.search(out)
            if m:
                out = out[m.end():]
                break
            if time.time() > end:
                die("expected /%s/ within 10 s; output so far: %r" % (arg, out[-600:]))
            pump(0.1)
    elif verb == "sleep":
        end = time.time() + float(arg)
        while time.time() < end:
            pump(max(0, min(0.1, end - time.time())))
    elif verb == "resize":
        r, c = (int(x) for x in arg.split())
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
    elif verb == "signal":
        os.kill(pid, getattr(signal, "SIG" + arg))
    elif verb == "stop":
        os.kill(pid, signal.SIGSTOP)
    elif verb == "cont":
        os.kill(pid, signal.SIGCONT)
    elif verb == "inq0":
        n = struct.unpack("i", fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0"))[0]
        if n:
            die("the outer terminal's input queue holds %d bytes: %r"
                % (n, os.read(slave, n)))
    elif verb == "nofd":
        checked = 0
        for p in descendants(pid):
            try:
                fds = os.listdir("/proc/%d/fd" % p)
            except OSError:
                continue    # not ours to look at (a non-dumpable pid 1)
            checked += 1
            for fd in fds:
                try:
                    st = os.stat("/proc/%d/fd/%s" % (p, fd))
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) == slave_id:
                    comm = open("/proc/%d/comm" % p).read().strip()
                    die("process %d (%s) holds the outer terminal as fd %s" % (p, comm, fd))
        if not checked:
            die("no process below the command could be checked")
        print("nofd: %d processes checked" % checked)
    elif verb == "wait":
        if not reap(10):
            die("the command did not exit within 10 s; output: %r" % out[-600:])
        print("status %d" % status)
        modes_after = termios.tcgetattr(slave)
        if modes_after != modes_before:
            die("the outer terminal's modes changed: %r -> %r" % (modes_before, modes_after))
        print("modes restored")
    else:
        die("unknown step " + step)
sys.stdout.flush()
if status is None:
    os.kill(pid, signal.SIGKILL)
    reap(5)
