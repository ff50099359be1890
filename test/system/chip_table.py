#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""chip_table.py NODE BUSID [INTF] [--ctl PATH] [--out FILE]

The reference table of issue 11: applies a fixed table of termios settings to a serial node
(the kernel's /dev/ttyUSB* or usbip-cuse's /dev/ttyUSBIP*) that drives one port of a chip
played by the mock USBIP server, and compares, row by row, what the node's driver meant
(its termios read back: the rate it says the port runs at, CSIZE, parity, CSTOPB, CRTSCTS,
IXON/IXOFF) with what the mock's chip model decoded from the requests it received
(`linecoding BUSID INTF`).  Then modem lines both ways (TIOCMSET -> the mock's `lines`;
the mock's `modem` -> TIOCMGET) and a break (tcsendbreak -> the mock's `breaks`).

Settings are applied with TCSETS2/BOTHER (any rate, as pyserial does; GNU stty cannot set
250000 or 31250), one row per setting, in a fixed order, so the same table run against
another node on the same chip model compares line by line.

Output (stdout, or appended to --out): a header line and one tab-separated row per check:
  CHIP  SETTING  REQUESTED  DRIVER  DECODED  VERDICT
REQUESTED is what the row asked, DRIVER the node's termios after it (what the driver meant,
rates as the driver reports them), DECODED the model's reading of the wire, all in the
mock's neutral form "RATE DATABITS PARITY STOPBITS [rtscts] [dtrdsr] [ixon] [ixoff]".
VERDICT: "ok", "ok (rate error X%)" within the chip's rate granularity, "known: REASON"
for a documented difference between what Linux sends and what the chip does, or
"MISMATCH ...".  Exit status 1 when any row is a MISMATCH, 2 on usage or setup errors.
"""
import array
import fcntl
import os
import socket
import struct
import sys
import termios
import time

TCGETS2 = 0x802C542A
TCSETS2 = 0x402C542B
TIOCMGET = 0x5415
TIOCMSET = 0x5418
TIOCM_DTR, TIOCM_RTS = 0x002, 0x004
TIOCM_CTS, TIOCM_CAR, TIOCM_RNG, TIOCM_DSR = 0x020, 0x040, 0x080, 0x100

# asm-generic/termbits.h (x86)
CBAUD, BOTHER, CIBAUD = 0o010017, 0o010000, 0o2003600000
CSIZE, CSTOPB, PARENB, PARODD = 0o60, 0o100, 0o400, 0o1000
CMSPAR, CRTSCTS = 0o10000000000, 0o20000000000
CS = {5: 0o0, 6: 0o20, 7: 0o40, 8: 0o60}
IXON, IXOFF, IXANY = 0o2000, 0o10000, 0o4000
T2 = "4I B 19B 2I"  # c_iflag c_oflag c_cflag c_lflag, c_line, c_cc[19], c_ispeed c_ospeed

SPEEDS = [300, 1200, 2400, 4800, 9600, 19200, 31250, 38400, 57600, 115200, 230400, 250000,
          460800, 500000, 921600, 1000000, 1500000, 2000000, 3000000]
FRAMES = [
    "cs5", "cs6", "cs7", "cs8",
    "cs8 parenb -parodd", "cs8 parenb parodd", "cs7 parenb -parodd",
    "cs8 parenb parodd cmspar", "cs8 parenb -parodd cmspar",
    "cs8 cstopb", "cs5 cstopb", "cs7 parenb parodd cstopb",
]
FLOWS = ["crtscts", "-crtscts ixon", "ixon ixoff", "-ixon -ixoff"]


def rows():
    """(setting, rate, flag words) in table order; every row starts from 8N1 no flow
    except the flow rows, which build on each other like an application would."""
    off = ["-parenb", "-parodd", "-cmspar", "-cstopb", "-crtscts", "-ixon", "-ixoff"]
    for s in SPEEDS:
        yield "%d cs8 -parenb -cstopb" % s, s, ["cs8"] + off
    for f in FRAMES:
        yield "115200 " + f, 115200, ["cs8"] + off + f.split()
    for f in FLOWS:
        yield "115200 cs8 " + f, 115200, ["cs8", "-parenb", "-cstopb"] + f.split()


class Mock:
    def __init__(self, path):
        self.path = path

    def cmd(self, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.path)
        s.sendall(line.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
        out = data.decode().splitlines()
        if out and out[-1] == "ok" and len(out) > 1:
            out = out[:-1]
        return "\n".join(out)


def get2(fd):
    buf = array.array("B", bytes(struct.calcsize(T2)))
    fcntl.ioctl(fd, TCGETS2, buf, True)
    return list(struct.unpack(T2, buf.tobytes()))


def set2(fd, t):
    fcntl.ioctl(fd, TCSETS2, struct.pack(T2, *t))


def apply(fd, rate, words):
    t = get2(fd)
    iflag, cflag = t[0], t[2]
    for w in words:
        neg = w.startswith("-")
        name = w.lstrip("-")
        if name in ("cs5", "cs6", "cs7", "cs8"):
            cflag = (cflag & ~CSIZE) | CS[int(name[2:])]
            continue
        bit, which = {"parenb": (PARENB, "c"), "parodd": (PARODD, "c"),
                      "cmspar": (CMSPAR, "c"), "cstopb": (CSTOPB, "c"),
                      "crtscts": (CRTSCTS, "c"), "ixon": (IXON, "i"),
                      "ixoff": (IXOFF, "i")}[name]
        if which == "c":
            cflag = cflag & ~bit if neg else cflag | bit
        else:
            iflag = iflag & ~bit if neg else iflag | bit
    iflag &= ~IXANY
    cflag = (cflag & ~(CBAUD | CIBAUD)) | BOTHER
    t[0], t[2] = iflag, cflag
    t[-2] = t[-1] = rate
    set2(fd, t)


def rate_text(r):
    if abs(r - round(r)) < 0.0005:
        return "%d" % round(r)
    return ("%.3f" % r).rstrip("0")


def neutral(rate, data, parity, stop, flows):
    return " ".join([rate_text(rate), str(data), parity, stop] + flows)


def termios_words(t):
    """The node's termios in the neutral form: what its driver meant."""
    iflag, cflag = t[0], t[2]
    data = {v: k for k, v in CS.items()}[cflag & CSIZE]
    if not cflag & PARENB:
        parity = "N"
    elif cflag & CMSPAR:
        parity = "M" if cflag & PARODD else "S"
    else:
        parity = "O" if cflag & PARODD else "E"
    flows = []
    if cflag & CRTSCTS:
        flows.append("rtscts")
    if iflag & IXON:
        flows.append("ixon")
    if iflag & IXOFF:
        flows.append("ixoff")
    return t[-1], data, parity, "2" if cflag & CSTOPB else "1", flows


def parse_line(text):
    f = text.split()
    return float(f[0]), int(f[1]), f[2], f[3], f[4:]


class Chip:
    """What each driver means by a termios, as the chips it drives are told it (read from
    the Linux drivers: drivers/usb/serial/{ftdi_sio,cp210x,ch341,pl2303}.c, 6.1)."""

    def __init__(self, model, name):
        self.model, self.name = model, name

    def expect(self, rate, data, parity, stop, flows):
        known = None
        if self.model == "ftdi_sio":
            # 7 or 8 data bits only; CS5 is sent as 0 bits, which the chips run as 8
            data = 7 if data == 7 else 8
            # I_IXON -> XON/XOFF handshaking, both ways; IXOFF alone is not used
            flows = [f for f in flows if f == "rtscts"] + (
                ["ixon", "ixoff"] if "ixon" in flows and "rtscts" not in flows else [])
            tol = 0.03  # the driver reports the requested rate; divisors are 1/8 steps
        elif self.model == "cp210x":
            tol = 0  # the driver reports the rate it sent (AN205 / the CP2104 formula)
            if self.name == "CP2102" and rate >= 1000000:
                known = ("rate", "AN205 Table 1 runs 670255..1053257 at 921600; Linux "
                         "clamps to 1000000 and sends it unquantised")
        elif self.model == "ch341":
            flows = [f for f in flows if f == "rtscts"]  # no software flow control
            tol = 0.03  # the driver reports the requested rate
            if "rtscts" in flows:
                known = ("flow", "Linux 6.1's ch341 keeps CRTSCTS but never writes the "
                         "chip's flow register 0x27 (later drivers do)")
        elif self.model == "cdc_acm":
            flows = []  # CDC-ACM has no flow control request
            tol = 0
        elif self.model == "pl2303":
            if data == 5 and stop == "2":
                stop = "1.5"  # "comply with real UARTs": 1.5 stop bits with CS5
            if "ixon" in flows and "rtscts" not in flows:
                flows = ["ixon", "ixoff"]
            else:
                flows = [f for f in flows if f == "rtscts"]
            tol = 0  # the driver reports the rate it computed
        else:
            tol = 0
        return (rate, data, parity, stop, flows), tol, known


def verdict(chip, drv, dec):
    (rate, data, parity, stop, flows), tol, known = chip.expect(*drv)
    drate, ddata, dpar, dstop, dflows = dec
    err = (drate - rate) / rate if rate else 0.0
    rate_ok = abs(drate - rate) <= max(1.0, tol * rate)
    frame_ok = (ddata, dpar, dstop) == (data, parity, stop)
    flow_ok = sorted(dflows) == sorted(flows)
    if rate_ok and frame_ok and flow_ok:
        return "ok" if abs(err) < 1e-9 else "ok (rate error %+.3f%%)" % (100 * err)
    # a documented difference excuses only the part it is about
    if known and frame_ok and (rate_ok if known[0] == "flow" else flow_ok):
        return "known: " + known[1]
    want = neutral(rate, data, parity, stop, flows)
    return "MISMATCH want %s (rate error %+.3f%%)" % (want, 100 * err)


def wait_mock(mock, line, want_ok, secs=2.0):
    """A node's driver may apply settings after the ioctl returns: ask until the answer
    satisfies want_ok or secs pass; returns the last answer."""
    end = time.monotonic() + secs
    while True:
        got = mock.cmd(line)
        if want_ok(got) or time.monotonic() >= end:
            return got
        time.sleep(0.05)


def parse_args(argv, doc, mock_class):
    """NODE BUSID [INTF] [--ctl=PATH] [--out=FILE] of this script and
    chip_serial.py: (node, busid, intf, mock, out), or None after printing doc."""
    args = [a for a in argv if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    if len(args) not in (2, 3):
        print(doc, file=sys.stderr)
        return None
    intf = args[2] if len(args) == 3 else "0"
    out = open(opts["out"], "a") if "out" in opts else sys.stdout
    return args[0], args[1], intf, mock_class(opts.get("ctl", "/run/mock.ctl")), out


def main(argv):
    parsed = parse_args(argv, __doc__, Mock)
    if not parsed:
        return 2
    node, busid, intf, mock, out = parsed
    desc = mock.cmd("chip %s %s" % (busid, intf)).split()
    if not desc or desc[0].startswith("error"):
        print("chip_table: mock: %s" % " ".join(desc), file=sys.stderr)
        return 2
    chip = Chip(desc[0], desc[1])
    label = desc[1] + ("-" + desc[2][5:] if desc[2].startswith("port=") else "")
    fd = os.open(node, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    bad = 0

    def row(setting, requested, driver, decoded, v):
        nonlocal bad
        out.write("\t".join([label, setting, requested, driver, decoded, v]) + "\n")
        out.flush()
        if v.startswith("MISMATCH"):
            bad += 1
            print("chip_table: %s %s: %s" % (label, setting, v), file=sys.stderr)

    out.write("# CHIP\tSETTING\tREQUESTED\tDRIVER\tDECODED\tVERDICT\n")
    for setting, rate, words in rows():
        try:
            apply(fd, rate, words)
        except OSError as e:
            row(setting, "-", "error: %s" % e.strerror, "-", "MISMATCH ioctl failed")
            continue
        req = neutral(rate, *_requested(words))
        drv = termios_words(get2(fd))
        want = chip.expect(*drv)[0]
        got = wait_mock(mock, "linecoding %s %s" % (busid, intf),
                        lambda g: not g.startswith("error") and
                        parse_line(g)[1:4] == tuple(want[1:4]))
        if got.startswith("error"):
            row(setting, req, neutral(*drv), got, "MISMATCH nothing decoded")
            continue
        row(setting, req, neutral(*drv), got, verdict(chip, drv, parse_line(got)))

    # back to 115200 8N1, no flow control, for the line checks
    apply(fd, 115200, ["cs8", "-parenb", "-cstopb", "-crtscts", "-ixon", "-ixoff"])
    modem_rows(fd, mock, busid, intf, row)
    os.close(fd)
    return 1 if bad else 0


def _requested(words):
    """The row's words over the starting point (8N1, no flow) in the neutral form."""
    data, parity, stop, flows = 8, "N", "1", []
    p = {"parenb": False, "parodd": False, "cmspar": False}
    for w in words:
        neg, name = w.startswith("-"), w.lstrip("-")
        if name in ("cs5", "cs6", "cs7", "cs8"):
            data = int(name[2:])
        elif name in p:
            p[name] = not neg
        elif name == "cstopb":
            stop = "1" if neg else "2"
        elif not neg and name in ("crtscts", "ixon", "ixoff"):
            flows.append({"crtscts": "rtscts"}.get(name, name))
    if p["parenb"]:
        if p["cmspar"]:
            parity = "M" if p["parodd"] else "S"
        else:
            parity = "O" if p["parodd"] else "E"
    return data, parity, stop, flows


def modem_rows(fd, mock, busid, intf, row):
    # DTR/RTS: four TIOCMSETs, each one request on the wire
    mock.cmd("clear %s" % busid)
    seq = [(TIOCM_DTR | TIOCM_RTS, "0x3"), (TIOCM_DTR, "0x1"), (TIOCM_RTS, "0x2"), (0, "0x0")]
    try:
        for bits, _ in seq:
            fcntl.ioctl(fd, TIOCMSET, struct.pack("I", bits))
    except OSError as e:
        row("TIOCMSET DTR|RTS, DTR, RTS, 0", "-", "error: %s" % e.strerror, "-", "MISMATCH")
        return
    want = " ".join(v for _, v in seq)
    got = wait_mock(mock, "lines %s %s" % (busid, intf), lambda g: g.endswith(want))
    row("TIOCMSET DTR|RTS, DTR, RTS, 0", want, want, got,
        "ok" if got.endswith(want) else "MISMATCH")
    # far-end lines -> TIOCMGET (interrupt-endpoint chips report them asynchronously)
    for spec, want_bits in (("cts,dsr,ri,dcd", TIOCM_CTS | TIOCM_DSR | TIOCM_RNG | TIOCM_CAR),
                            ("cts,dcd", TIOCM_CTS | TIOCM_CAR), ("none", 0)):
        r = mock.cmd("modem %s %s %s" % (busid, spec, intf))
        mask = TIOCM_CTS | TIOCM_DSR | TIOCM_RNG | TIOCM_CAR
        end = time.monotonic() + 3
        while True:
            got = struct.unpack("I", fcntl.ioctl(fd, TIOCMGET, struct.pack("I", 0)))[0]
            if got & mask == want_bits or time.monotonic() >= end:
                break
            time.sleep(0.05)
        names = lambda b: ",".join(n for n, m in (("cts", TIOCM_CTS), ("dsr", TIOCM_DSR),
                                                  ("ri", TIOCM_RNG), ("dcd", TIOCM_CAR))
                                   if b & m) or "none"
        row("modem " + spec + " -> TIOCMGET", spec, names(got & mask), r or "ok",
            "ok" if got & mask == want_bits else "MISMATCH")
    # a break: on, then off
    mock.cmd("clear %s" % busid)
    try:
        termios.tcsendbreak(fd, 0)
    except termios.error as e:
        row("tcsendbreak", "0xffff 0x0", "error: %s" % e.args[-1], "-", "MISMATCH")
        return
    got = wait_mock(mock, "breaks %s %s" % (busid, intf), lambda g: g == "0xffff 0x0")
    row("tcsendbreak", "0xffff 0x0", "0xffff 0x0", got,
        "ok" if got == "0xffff 0x0" else "MISMATCH")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
