#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Edge cases on a usbip-cuse node, run in the qemu guest by t-daemon-hostile.sh.

  tty_edges.py ctrl-error DEV           tcsetattr/TIOCMBIS/tcsendbreak get an error, never hang
  tty_edges.py edges DEV                bad pointers, 0-byte writes, huge reads, odd open flags
  tty_edges.py hung-up DEV              (after the link fell) reads EOF, writes EIO
  tty_edges.py excl-hold DEV SECONDS    open, TIOCEXCL, hold the file SECONDS
  tty_edges.py open-refused DEV         opening a TIOCEXCL node is refused (EBUSY)
  tty_edges.py open-allowed DEV         ... allowed (CAP_SYS_ADMIN in the initial user ns)
  tty_edges.py ioctls-refused DEV       TIOCSSERIAL closing_wait, TIOCSLCKTRMIOS: EPERM
  tty_edges.py ioctls-allowed DEV       ... allowed
  tty_edges.py block-reads DEV N SIZE   N threads blocked in read(SIZE); prints "blocked"
                                        and waits for stdin to close

Prints one line per check ("ok: ..." / "FAIL: ..."); exits 1 if a check failed.
"""
import ctypes
import errno
import fcntl
import mmap
import os
import struct
import sys
import termios
import threading
import time

TIOCEXCL = 0x540C
TIOCGSERIAL = 0x541E
TIOCSSERIAL = 0x541F
TIOCMBIS = 0x5416
TIOCMBIC = 0x5417
TIOCSLCKTRMIOS = 0x5457
TIOCGLCKTRMIOS = 0x5456
TCGETS = 0x5401
TIOCMGET = 0x5415
SERIAL_STRUCT = 72  # sizeof(struct serial_struct) on x86_64

libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
failed = 0


def ok(msg):
    print("ok: " + msg, flush=True)


def bad(msg):
    global failed
    failed += 1
    print("FAIL: " + msg, flush=True)


def raw_ioctl(fd, req, ptr):
    """ioctl with a raw pointer; returns 0 or the errno."""
    r = libc.ioctl(fd, req, ptr)
    return 0 if r >= 0 else ctypes.get_errno()


def bounded(what, fn, seconds=15):
    """Run fn in a thread; an operation still blocked after `seconds` is a hang."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except OSError as e:
            box["errno"] = e.errno
        except termios.error as e:
            box["errno"] = e.args[0]

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        bad("%s: still blocked after %d s (a hang)" % (what, seconds))
        return None
    return box


def ctrl_error(dev):
    fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
    attrs = termios.tcgetattr(fd)
    speed = termios.B57600 if attrs[4] != termios.B57600 else termios.B19200
    attrs[4] = attrs[5] = speed

    def setattr():
        termios.tcsetattr(fd, termios.TCSANOW, attrs)

    for what, fn in (("tcsetattr", setattr),
                     # DTR is up since the open: clearing it is a change the device is told
                     ("TIOCMBIC", lambda: fcntl.ioctl(fd, TIOCMBIC, struct.pack("i", 0x002))),
                     ("tcsendbreak", lambda: termios.tcsendbreak(fd, 0))):
        box = bounded(what, fn)
        if box is None:
            continue
        if "errno" in box and 0 < box["errno"] < 512:
            ok("%s failed with %s (device status from the wire)" % (
                what, errno.errorcode.get(box["errno"], box["errno"])))
        else:
            bad("%s: %r, want an errno" % (what, box))
    os.close(fd)


def guarded_page():
    """A read-write page followed by an inaccessible one: (address, mmap objects)."""
    area = mmap.mmap(-1, 2 * mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(area))
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(ctypes.c_void_p(addr + mmap.PAGESIZE), mmap.PAGESIZE, 0) != 0:
        raise OSError(ctypes.get_errno(), "mprotect")
    return addr, area


def edges(dev):
    fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
    # NULL and short user pointers: EFAULT, not a crash
    for name, req in (("TCGETS", TCGETS), ("TIOCMGET", TIOCMGET), ("TIOCGSERIAL", TIOCGSERIAL),
                      ("TIOCSSERIAL", TIOCSSERIAL), ("TIOCMBIS", TIOCMBIS)):
        e = raw_ioctl(fd, req, None)
        (ok if e == errno.EFAULT else bad)("%s(NULL) -> %s" % (name, errno.errorcode.get(e, e)))
    addr, area = guarded_page()
    for name, req, size in (("TCGETS", TCGETS, 36), ("TIOCGSERIAL", TIOCGSERIAL, SERIAL_STRUCT),
                            ("TIOCSSERIAL", TIOCSSERIAL, SERIAL_STRUCT), ("TIOCMGET", TIOCMGET, 4)):
        # the argument's last byte lies in the inaccessible page
        e = raw_ioctl(fd, req, ctypes.c_void_p(addr + mmap.PAGESIZE - size + 1))
        (ok if e == errno.EFAULT else bad)("%s(short pointer) -> %s" % (
            name, errno.errorcode.get(e, e)))
    del area
    # unknown ioctls
    e = raw_ioctl(fd, 0x54FF, None)
    (ok if e == errno.ENOTTY else bad)("ioctl 0x54ff -> %s" % errno.errorcode.get(e, e))
    # 0-byte write and read
    n = os.write(fd, b"")
    (ok if n == 0 else bad)("0-byte write -> %d" % n)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~termios.ICANON
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 1
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    n = len(os.read(fd, 0))
    (ok if n == 0 else bad)("0-byte read -> %d" % n)
    # huge reads: a 64 MiB read with VTIME 0.1 s returns what there is (nothing)
    box = bounded("64 MiB read", lambda: os.read(fd, 64 << 20))
    if box is not None:
        (ok if box.get("value") == b"" else bad)("64 MiB read with VMIN 0 VTIME 1 -> %r" % (
            box.get("value", box),))
    os.set_blocking(fd, False)
    try:
        os.read(fd, 256 << 20)
        bad("256 MiB O_NONBLOCK read with no input returned")
    except BlockingIOError:
        ok("256 MiB O_NONBLOCK read -> EAGAIN")
    os.set_blocking(fd, True)
    attrs[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
    attrs[0] = 0
    attrs[1] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    termios.tcflush(fd, termios.TCIOFLUSH)
    os.close(fd)
    # odd open flags: a tty ignores them
    for name, flags in (("O_EXCL", os.O_EXCL), ("O_TRUNC", os.O_TRUNC),
                        ("O_APPEND", os.O_APPEND), ("O_EXCL|O_TRUNC|O_APPEND",
                                                    os.O_EXCL | os.O_TRUNC | os.O_APPEND)):
        try:
            f2 = os.open(dev, os.O_RDWR | os.O_NOCTTY | flags)
            n = os.write(f2, b"x")
            os.close(f2)
            (ok if n == 1 else bad)("open %s, write -> %d" % (name, n))
        except OSError as e:
            bad("open %s: %s" % (name, e))


def hung_up(dev_fd_path):
    fd = int(dev_fd_path)
    box = bounded("read after hangup", lambda: os.read(fd, 10))
    if box is not None:
        (ok if box.get("value") == b"" else bad)("read after hangup -> %r" % (box,))
    box = bounded("write after hangup", lambda: os.write(fd, b"abc"))
    if box is not None:
        (ok if box.get("errno") == errno.EIO else bad)("write after hangup -> %r" % (box,))


def excl_hold(dev, seconds):
    fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
    fcntl.ioctl(fd, TIOCEXCL)
    print("held", flush=True)
    time.sleep(float(seconds))
    os.close(fd)


def privileged_ops(dev, want_allowed):
    """TIOCEXCL override, closing_wait, termios lock: allowed only for real admins."""
    verdict = "allowed" if want_allowed else "refused"
    try:
        fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
        os.close(fd)
        (ok if want_allowed else bad)("open of a TIOCEXCL node allowed (want %s)" % verdict)
    except OSError as e:
        (bad if want_allowed else ok)("open of a TIOCEXCL node: %s (want %s)" % (
            errno.errorcode.get(e.errno), verdict))


def privileged_ioctls(dev, want_allowed):
    verdict = "allowed" if want_allowed else "refused"
    fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
    ss = bytearray(fcntl.ioctl(fd, TIOCGSERIAL, bytes(SERIAL_STRUCT)))
    # closing_wait is the u16 at offset 40 of struct serial_struct on x86_64: eight ints
    # (type .. baud_base), close_delay u16 at 32, io_type, reserved_char, hub6 int at 36
    cw = struct.unpack_from("H", ss, 40)[0]
    struct.pack_into("H", ss, 40, 100 if cw != 100 else 200)
    for name, fn in (("TIOCSSERIAL closing_wait", lambda: fcntl.ioctl(fd, TIOCSSERIAL, bytes(ss))),
                     ("TIOCSLCKTRMIOS", lambda: fcntl.ioctl(
                         fd, TIOCSLCKTRMIOS, fcntl.ioctl(fd, TIOCGLCKTRMIOS, bytes(36))))):
        try:
            fn()
            (ok if want_allowed else bad)("%s allowed (want %s)" % (name, verdict))
        except OSError as e:
            (bad if want_allowed else ok)("%s: %s (want %s)" % (
                name, errno.errorcode.get(e.errno), verdict))
    # put closing_wait back
    if want_allowed:
        struct.pack_into("H", ss, 40, cw)
        fcntl.ioctl(fd, TIOCSSERIAL, bytes(ss))
    os.close(fd)


def block_reads(dev, n, size):
    fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~(termios.ICANON | termios.ECHO)
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    for _ in range(n):
        threading.Thread(target=lambda: os.read(fd, size), daemon=True).start()
    time.sleep(2)
    print("blocked %d" % threading.active_count(), flush=True)
    sys.stdin.read()
    os._exit(0)


def main():
    cmd, dev = sys.argv[1], sys.argv[2]
    if cmd == "ctrl-error":
        ctrl_error(dev)
    elif cmd == "edges":
        edges(dev)
    elif cmd == "hung-up":
        hung_up(dev)
    elif cmd == "excl-hold":
        excl_hold(dev, sys.argv[3])
    elif cmd in ("open-refused", "open-allowed"):
        privileged_ops(dev, cmd == "open-allowed")
    elif cmd in ("ioctls-refused", "ioctls-allowed"):
        privileged_ioctls(dev, cmd == "ioctls-allowed")
    elif cmd == "block-reads":
        block_reads(dev, int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("unknown command " + cmd)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
