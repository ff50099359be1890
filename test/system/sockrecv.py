#!/usr/bin/env python3
# sockrecv.py PATH OUT [journal]: receive datagrams on an AF_UNIX socket at PATH (mode 0666,
# like systemd's notify and journal sockets and /dev/log) and append each to OUT as a block
# ending in a line "--" (flushed at once). With "journal", each datagram is decoded from the
# journal's native protocol (KEY=VALUE lines, or KEY, newline, 64-bit little-endian length,
# value, newline) into KEY=VALUE lines; values holding a newline or control bytes are written
# with Python's repr so that a test sees them. Runs until killed. Used by the system tests as
# systemd's notify socket, journald's socket and syslog's /dev/log.
import os
import socket
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
journal = len(sys.argv) > 3 and sys.argv[3] == "journal"


def decode_journal(data):
    fields, i = [], 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            fields.append(("?TRAILING", data[i:]))
            break
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields.append((k, v))
            i = nl + 1
        else:
            (n,) = struct.unpack("<Q", data[nl + 1 : nl + 9])
            fields.append((line, data[nl + 9 : nl + 9 + n]))
            i = nl + 9 + n + 1
    text = []
    for k, v in fields:
        s = v.decode("utf-8", "replace")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
            s = "RAW:" + repr(s)
        text.append(f"{k.decode()}={s}")
    return "\n".join(text)


try:
    os.unlink(path)
except FileNotFoundError:
    pass
os.makedirs(os.path.dirname(path), exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a") as f:
    while True:
        data = s.recv(1 << 20)
        if journal:
            text = decode_journal(data)
        else:
            text = data.decode("utf-8", "replace")
            if any(ord(c) < 0x20 and c != "\n" for c in text):
                text = "RAW:" + repr(text)
        f.write(text + "\n--\n")
        f.flush()
