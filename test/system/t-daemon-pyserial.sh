#!/bin/sh
# System test (guest side, run by vm-run): the usbip-cuse node as programs use a serial port:
# pyserial and the raw tty API (termios, modem-line ioctls, blocking/non-blocking reads, poll,
# signals), each effect checked on the wire through the mock USBIP server's control channel.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
/usr/bin/python3 -c 'import serial' 2>/dev/null || skip "no pyserial for /usr/bin/python3"
systest_init

start_mock_server
start_daemon --device 1-1
[ "$DAEMON_NODES" = "/dev/ttyUSBIP0 " ] || fail "expected /dev/ttyUSBIP0, got '$DAEMON_NODES'"

# The checks run in one python process (one interpreter start under TCG); each failed check
# prints "CHECK FAILED: ..." and the exit status is the number of failed checks.
timeout 240 /usr/bin/python3 - /dev/ttyUSBIP0 "$MOCK_CTL" 1-1 <<'PY'
import ctypes, errno, fcntl, os, select, signal, socket, struct, sys, termios, threading, time
import tty
import serial

DEV, CTL, BUSID = sys.argv[1:4]
failures = []


def log(*a):
    print("[py %.3f]" % time.monotonic(), *a, file=sys.stderr, flush=True)


def check(cond, msg):
    if cond:
        log("ok:", msg)
    else:
        failures.append(msg)
        log("CHECK FAILED:", msg)
    return cond


def ctl(cmd):
    """One mock control command; returns the reply lines (without the final "ok")."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(CTL)
    s.sendall(cmd.encode() + b"\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    lines = data.decode().splitlines()
    if lines and lines[0].startswith("error:"):
        raise RuntimeError("mock %s: %s" % (cmd, lines[0]))
    if lines and lines[-1] == "ok":
        lines = lines[:-1]
    return lines


def mock_one(cmd):
    r = ctl(cmd)
    return r[0] if r else ""


def wait_mock(cmd, want, secs=3.0):
    """Poll a one-line mock reply until it equals want; returns the last reply."""
    end = time.monotonic() + secs
    while True:
        try:
            got = mock_one(cmd)
        except RuntimeError as e:
            got = str(e)
        if got == want or time.monotonic() > end:
            return got
        time.sleep(0.05)


def expect_mock(cmd, want, what, secs=3.0):
    got = wait_mock(cmd, want, secs)
    return check(got == want, "%s: mock '%s' = '%s' (want '%s')" % (what, cmd, got, want))


def modem(fd):
    return struct.unpack("i", fcntl.ioctl(fd, termios.TIOCMGET, struct.pack("i", 0)))[0]


def mset(fd, req, bits):
    fcntl.ioctl(fd, req, struct.pack("i", bits))


def inq(fd, req=termios.FIONREAD):
    return struct.unpack("i", fcntl.ioctl(fd, req, struct.pack("i", 0)))[0]


def wait_inq(fd, n, secs=3.0):
    end = time.monotonic() + secs
    while inq(fd) < n and time.monotonic() < end:
        time.sleep(0.02)
    return inq(fd)


# A hung ioctl or read must fail the test, not the whole guest run.
def watchdog():
    time.sleep(200)
    log("CHECK FAILED: watchdog: python checks hung for 200 s")
    os._exit(100)
threading.Thread(target=watchdog, daemon=True).start()

DTR, RTS = termios.TIOCM_DTR, termios.TIOCM_RTS

# ---- 1. open at 115200 8N1; DTR/RTS sequence exactly as issued ----------------------------
ctl("clear " + BUSID)
ser = serial.Serial(DEV, 115200, timeout=2)
fd = ser.fileno()
expect_mock("linecoding " + BUSID, "115200 8 N 1", "Serial(115200)")
# Open raises DTR|RTS (0x3); pyserial then sets DTR and RTS, already on: nothing new to send.
want = ["0x3"]
steps = [
    ("ser.dtr = False", lambda: setattr(ser, "dtr", False), 0x2),
    ("ser.rts = False", lambda: setattr(ser, "rts", False), 0x0),
    ("ser.dtr = True", lambda: setattr(ser, "dtr", True), 0x1),
    ("ser.rts = True", lambda: setattr(ser, "rts", True), 0x3),
    ("TIOCMSET DTR", lambda: mset(fd, termios.TIOCMSET, DTR), 0x1),
    ("TIOCMBIS RTS", lambda: mset(fd, termios.TIOCMBIS, RTS), 0x3),
    ("TIOCMBIC DTR", lambda: mset(fd, termios.TIOCMBIC, DTR), 0x2),
    ("TIOCMBIC RTS", lambda: mset(fd, termios.TIOCMBIC, RTS), 0x0),
    ("TIOCMSET DTR|RTS", lambda: mset(fd, termios.TIOCMSET, DTR | RTS), 0x3),
]
for name, act, lines in steps:
    act()
    want.append("0x%x" % lines)
    m = modem(fd)
    check((m & (DTR | RTS)) == ((DTR if lines & 1 else 0) | (RTS if lines & 2 else 0)),
          "%s: TIOCMGET 0x%x shows DTR=%d RTS=%d" % (name, m, lines & 1, lines >> 1))
    # Each change must reach the device before the next one (ordering matters to reset
    # circuits): wait for it, then go on.
    expect_mock("lines " + BUSID, " ".join(want), name)

# ---- 2. data: write/read, timeouts, in_waiting, flushes ------------------------------------
ser.timeout = 2
ser.write(b"hello")
got = ser.read(5)
check(got == b"hello", "write/read loopback: %r" % got)
ser.timeout = 1.0
ser.write(b"0123456789")
t0 = time.monotonic()
got = ser.read(100)
dt = time.monotonic() - t0
check(got == b"0123456789" and 0.8 <= dt < 3.0,
      "read(100) with timeout 1 s returns the 10 bytes that came, after %.2f s: %r" % (dt, got))
ser.write(bytes(range(32)))
end = time.monotonic() + 3
while ser.in_waiting < 32 and time.monotonic() < end:
    time.sleep(0.02)
check(ser.in_waiting == 32, "in_waiting == 32 after 32 bytes looped back (%d)" % ser.in_waiting)
check(inq(fd, termios.FIONREAD) == 32, "FIONREAD == 32 (%d)" % inq(fd))
check(ser.read(32) == bytes(range(32)), "the 32 bytes read back")
check(inq(fd) == 0, "FIONREAD == 0 after reading everything")
ser.write(b"x" * 16)
n = wait_inq(fd, 16)
ser.reset_input_buffer()
ser.timeout = 0.3
got = ser.read(16)
check(n == 16 and ser.in_waiting == 0 and got == b"",
      "reset_input_buffer drops %d waiting bytes (then in_waiting %d, read %r)"
      % (n, ser.in_waiting, got))
ser.write(b"y" * 8)
n = wait_inq(fd, 8)
termios.tcflush(fd, termios.TCIFLUSH)
check(n == 8 and inq(fd) == 0, "TCFLSH TCIFLUSH drops %d waiting bytes" % n)
for q, name in ((termios.TCOFLUSH, "TCOFLUSH"), (termios.TCIOFLUSH, "TCIOFLUSH")):
    try:
        termios.tcflush(fd, q)
        check(True, "TCFLSH %s" % name)
    except termios.error as e:
        check(False, "TCFLSH %s: %s" % (name, e))
ser.write(b"z" * 4096)
ser.flush()  # tcdrain
outq = inq(fd, termios.TIOCOUTQ)
check(outq == 0, "TIOCOUTQ == 0 after tcdrain (%d)" % outq)
n = wait_inq(fd, 4096)
ser.timeout = 2
check(n == 4096 and ser.read(4096) == b"z" * 4096, "4096 bytes back after tcdrain (%d)" % n)

# ---- 3. breaks -----------------------------------------------------------------------------
ctl("clear " + BUSID)
ser.break_condition = True
time.sleep(0.1)
ser.break_condition = False
expect_mock("breaks " + BUSID, "0xffff 0x0", "TIOCSBRK then TIOCCBRK")
ctl("clear " + BUSID)
t0 = time.monotonic()
ser.send_break(0.25)  # tcsendbreak(fd, 1): TCSBRKP 1 = a 100 ms break
dt = time.monotonic() - t0
got = wait_mock("breaks " + BUSID, "0xffff 0x0")
check(got in ("0xffff 0x0", "0x64"),
      "send_break: mock breaks '%s' (want '0xffff 0x0' or one timed '0x64')" % got)
check(dt >= 0.09, "send_break blocks for the break's duration (%.3f s)" % dt)
ctl("clear " + BUSID)
termios.tcsendbreak(fd, 0)  # TCSBRK 0: 250 ms
got = wait_mock("breaks " + BUSID, "0xffff 0x0")
check(got in ("0xffff 0x0", "0xfa"),
      "tcsendbreak(fd, 0): mock breaks '%s' (want '0xffff 0x0' or '0xfa')" % got)

# ---- 4. modem status lines from SERIAL_STATE notifications ---------------------------------
CD, DSR, RI = termios.TIOCM_CD, termios.TIOCM_DSR, termios.TIOCM_RI
ctl("serial-state %s 0x3" % BUSID)  # DCD|DSR
end = time.monotonic() + 3
while (modem(fd) & (CD | DSR)) != (CD | DSR) and time.monotonic() < end:
    time.sleep(0.02)
m = modem(fd)
check((m & (CD | DSR | RI)) == (CD | DSR), "SERIAL_STATE DCD|DSR -> TIOCMGET 0x%x" % m)
check(ser.cd and ser.dsr and not ser.ri, "pyserial cd/dsr/ri = %s/%s/%s" % (ser.cd, ser.dsr, ser.ri))


def inject_later(bits, delay):
    def run():
        time.sleep(delay)
        ctl("serial-state %s %s" % (BUSID, bits))
    th = threading.Thread(target=run)
    th.start()
    return th


# TIOCMIWAIT sleeps until a line in the mask changes: DCD drops 0.5 s later.
th = inject_later("0x2", 0.5)
t0 = time.monotonic()
try:
    fcntl.ioctl(fd, termios.TIOCMIWAIT, CD)
    dt = time.monotonic() - t0
    check(0.4 <= dt < 5, "TIOCMIWAIT(CD) woken by the DCD drop after %.2f s" % dt)
except OSError as e:
    check(False, "TIOCMIWAIT(CD): %s" % e)
th.join()
m = modem(fd)
check((m & (CD | DSR)) == DSR, "after DCD drop TIOCMGET 0x%x shows DSR only" % m)
# A change of a line outside the mask must not wake it: RI toggles first, then DSR drops.
th1 = inject_later("0xa", 0.3)  # DSR|RI
th2 = inject_later("0x0", 0.9)  # all off: DSR changes
t0 = time.monotonic()
try:
    fcntl.ioctl(fd, termios.TIOCMIWAIT, DSR)
    dt = time.monotonic() - t0
    check(0.8 <= dt < 5, "TIOCMIWAIT(DSR) ignores RI, woken by DSR after %.2f s" % dt)
except OSError as e:
    check(False, "TIOCMIWAIT(DSR): %s" % e)
th1.join()
th2.join()

# ---- 5. TIOCGSERIAL ----------------------------------------------------------------------
try:
    buf = fcntl.ioctl(fd, termios.TIOCGSERIAL, bytes(72))  # sizeof(struct serial_struct)
    typ, line = struct.unpack_from("ii", buf)
    check(line == 0, "TIOCGSERIAL: line %d (node 0), type %d" % (line, typ))
except OSError as e:
    check(False, "TIOCGSERIAL: %s" % e)

# ---- 6. last close with HUPCL drops DTR|RTS --------------------------------------------------
check(termios.tcgetattr(fd)[2] & termios.HUPCL, "HUPCL is on by default")
ctl("clear " + BUSID)
ser.close()
expect_mock("lines " + BUSID, "0x0", "close with HUPCL")

# ---- 7. a non-standard rate: BOTHER through TCSETS2 -------------------------------------------
ser = serial.Serial(DEV, 250000, timeout=1)
expect_mock("linecoding " + BUSID, "250000 8 N 1", "Serial(250000)")
TCGETS2 = 0x802C542A
t2 = fcntl.ioctl(ser.fileno(), TCGETS2, bytes(44))
cflag, = struct.unpack_from("I", t2, 8)
ispeed, ospeed = struct.unpack_from("II", t2, 36)
check(cflag & termios.CBAUD == 0o010000 and ospeed == 250000 and ispeed == 250000,
      "TCGETS2: BOTHER, speeds %d/%d" % (ispeed, ospeed))
ser.write(b"rate")
check(ser.read(4) == b"rate", "data at 250000")
# -HUPCL: the last close leaves DTR|RTS up.
a = termios.tcgetattr(ser.fileno())
a[2] &= ~termios.HUPCL
termios.tcsetattr(ser.fileno(), termios.TCSANOW, a)
ctl("clear " + BUSID)
ser.close()
time.sleep(1)
check(mock_one("lines " + BUSID) == "none", "close with -HUPCL: lines '%s' (want none)"
      % mock_one("lines " + BUSID))

# ---- 8. raw fd: signals, O_NONBLOCK, poll ---------------------------------------------------
fd = os.open(DEV, os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)  # VMIN 1, VTIME 0: read blocks until a byte comes
libc = ctypes.CDLL(None, use_errno=True)
alarms = []
signal.signal(signal.SIGALRM, lambda s, f: alarms.append(s))
signal.siginterrupt(signal.SIGALRM, True)  # no SA_RESTART
buf = ctypes.create_string_buffer(16)
signal.setitimer(signal.ITIMER_REAL, 0.5)
t0 = time.monotonic()
n = libc.read(fd, buf, 16)
e = ctypes.get_errno()
dt = time.monotonic() - t0
check(n == -1 and e == errno.EINTR and 0.4 <= dt < 5,
      "blocked read interrupted by SIGALRM (no SA_RESTART): returned %d errno %s after %.2f s"
      % (n, errno.errorcode.get(e, e), dt))
# The interrupted read must not have eaten data: the next bytes still arrive.
os.write(fd, b"after")
end = time.monotonic() + 3
got = b""
while len(got) < 5 and time.monotonic() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        got += os.read(fd, 16)
check(got == b"after", "data after the interrupted read: %r" % got)
# A long break is cut short by a signal, as the kernel's send_break: EINTR, and the break
# ends on the device (TCSBRKP 50 = 5 s; the signal comes after 0.3 s).
ctl("clear " + BUSID)
signal.setitimer(signal.ITIMER_REAL, 0.3)
t0 = time.monotonic()
r = libc.ioctl(fd, 0x5425, ctypes.c_ulong(50))  # TCSBRKP
e = ctypes.get_errno()
dt = time.monotonic() - t0
check(r == -1 and e == errno.EINTR and dt < 3,
      "a 5 s tcsendbreak interrupted by SIGALRM: returned %d errno %s after %.2f s"
      % (r, errno.errorcode.get(e, e), dt))
got = wait_mock("breaks " + BUSID, "0xffff 0x0")
check(got == "0xffff 0x0", "interrupted break: mock breaks '%s' (want on then off)" % got)
# With SA_RESTART a read interrupted before any data is restarted by the kernel for a real
# tty; through CUSE the interrupted request can only fail, so only report what happens.
signal.siginterrupt(signal.SIGALRM, False)
th = threading.Thread(target=lambda: (time.sleep(1.0), os.write(fd, b"R")))
th.start()
signal.setitimer(signal.ITIMER_REAL, 0.3)
n = libc.read(fd, buf, 16)
e = ctypes.get_errno()
log("NOTE: read with SA_RESTART, signal at 0.3 s, data at 1.0 s: returned %d%s" %
    (n, "" if n >= 0 else " errno " + errno.errorcode.get(e, str(e))))
th.join()
wait_inq(fd, 1) if n < 0 else None  # the "R" comes back unless that read took it
time.sleep(0.2)
termios.tcflush(fd, termios.TCIFLUSH)
signal.signal(signal.SIGALRM, signal.SIG_DFL)

fl = fcntl.fcntl(fd, fcntl.F_GETFL)
fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
try:
    r = os.read(fd, 16)
    check(False, "O_NONBLOCK read on an empty port returned %r instead of EAGAIN" % r)
except BlockingIOError:
    check(True, "O_NONBLOCK read on an empty port: EAGAIN")
p = select.poll()
p.register(fd, select.POLLIN | select.POLLOUT)
ev = dict(p.poll(0)).get(fd, 0)
check(ev & select.POLLOUT and not ev & select.POLLIN,
      "poll on an idle port: POLLOUT without POLLIN (0x%x)" % ev)
p.modify(fd, select.POLLIN)
t0 = time.monotonic()
th = threading.Thread(target=lambda: (time.sleep(0.3), os.write(fd, b"poll")))
th.start()
ev = dict(p.poll(3000)).get(fd, 0)
dt = time.monotonic() - t0
th.join()
check(ev & select.POLLIN and 0.2 <= dt < 3, "poll woken by arriving data after %.2f s (0x%x)"
      % (dt, ev))
time.sleep(0.2)
got = b""
try:
    while True:
        got += os.read(fd, 16)
except BlockingIOError:
    pass
check(got == b"poll", "O_NONBLOCK read after POLLIN: %r" % got)
r, w, _ = select.select([fd], [fd], [], 0)
check(not r and w, "select: writable, not readable when empty")

# ---- 9. TIOCEXCL ---------------------------------------------------------------------------
os.chmod(DEV, 0o666)  # so that an unprivileged child may open it at all


def open_as_nobody():
    """errno of an open by uid 65534 in a child (0: it worked)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.close(os.open(DEV, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
            os._exit(0)
        except OSError as e:
            os._exit(e.errno)
        os._exit(255)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


r = open_as_nobody()
check(r == 0, "unprivileged open without TIOCEXCL works (%s)" % errno.errorcode.get(r, r))
fcntl.ioctl(fd, termios.TIOCEXCL)
r = open_as_nobody()
check(r == errno.EBUSY, "with TIOCEXCL an unprivileged open fails EBUSY (%s)"
      % errno.errorcode.get(r, r))
# As on a kernel tty, CAP_SYS_ADMIN (root here) passes an exclusive port.
try:
    os.close(os.open(DEV, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
    check(True, "with TIOCEXCL root can still open (CAP_SYS_ADMIN, as the kernel allows)")
except OSError as e:
    check(False, "with TIOCEXCL root open fails: %s" % e)
fcntl.ioctl(fd, termios.TIOCNXCL)
r = open_as_nobody()
check(r == 0, "after TIOCNXCL an unprivileged open works again (%s)"
      % errno.errorcode.get(r, r))
os.close(fd)

log("%d check(s) failed" % len(failures))
for f in failures:
    print("CHECK FAILED:", f, file=sys.stderr)
sys.exit(min(len(failures), 99))
PY
rc=$?
case $rc in
0) ;;
124) check_fail "pyserial checks timed out" ;;
*) check_fail "pyserial checks: exit status $rc (number of failed checks, above)" ;;
esac

stop_daemon
mock_wait_state 1-1 free
systest_done
