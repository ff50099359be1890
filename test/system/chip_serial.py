#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""chip_serial.py NODE BUSID [INTF] [--ctl PATH] [--out FILE]

What pyserial users do with a USB serial port, on a node that drives one port of a chip played
by the mock (the far end loops back), written as rows in chip_table.py's format so that the
kernel's node and usbip-cuse's node compare row for row (chip_compare.py):
  - open at 250000 baud (TCSETS2 BOTHER, as pyserial does) and the lines that open raised;
  - the ESP32/Arduino auto-reset dance, every DTR/RTS step as the chip saw it, in order;
  - 4 KiB written and read back through the loopback, in_waiting, reset_input_buffer;
  - send_break;
  - close with HUPCL: the lines the close dropped.
Exit status 1 when a row fails its own check (data not looped back, an exception).
"""
import os
import sys
import time

import serial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chip_table  # noqa: E402  (its Mock: the control channel)


class Mock(chip_table.Mock):
    def settle(self, line, secs=1.0):
        """The answer once it stops changing (drivers may send after the call returns)."""
        end = time.monotonic() + secs
        last = self.cmd(line)
        while time.monotonic() < end:
            time.sleep(0.1)
            now = self.cmd(line)
            if now == last:
                return now
            last = now
        return last


def main(argv):
    parsed = chip_table.parse_args(argv, __doc__, Mock)
    if not parsed:
        return 2
    node, busid, intf, mock, out = parsed
    label = mock.cmd("chip %s %s" % (busid, intf)).split()
    label = label[1] + ("-" + label[2][5:] if label[2].startswith("port=") else "")
    bad = 0

    def row(setting, requested, driver, decoded, ok):
        nonlocal bad
        out.write("\t".join([label, setting, requested, driver, decoded,
                             "ok" if ok else "FAIL"]) + "\n")
        out.flush()
        if not ok:
            bad += 1
            print("chip_serial: %s %s: %s / %s" % (label, setting, driver, decoded),
                  file=sys.stderr)

    where = "%s %s" % (busid, intf)
    out.write("# CHIP\tSETTING\tREQUESTED\tDRIVER\tDECODED\tVERDICT\n")
    mock.cmd("clear " + busid)
    ser = serial.Serial(node, 250000, timeout=2)
    line = mock.settle("linecoding " + where)
    row("pyserial open 250000", "250000 8 N 1", "%d" % ser.baudrate, line,
        line.startswith("250000 8 N 1"))
    lines = mock.settle("lines " + where)
    row("pyserial open: lines", "dtr,rts", "%d %d" % (ser.dtr, ser.rts), lines,
        lines.endswith("0x3"))

    # esptool's classic reset: EN low (RTS), IO0 low (DTR), then release, step by step
    mock.cmd("clear " + busid)
    for dtr, rts, pause in ((False, True, 0.1), (True, False, 0.05), (False, False, 0)):
        ser.dtr = dtr
        ser.rts = rts
        time.sleep(pause)
    lines = mock.settle("lines " + where)
    row("esptool reset dance", "-", "dtr=0 rts=1, dtr=1 rts=0, dtr=0 rts=0", lines, True)

    data = bytes((i * 7 + 3) & 0xff for i in range(4096))
    ser.reset_input_buffer()
    ser.write(data)
    got = ser.read(len(data))
    row("4 KiB write/read", "4096", "%d" % len(got), "looped back" if got == data else
        "%d bytes, %s" % (len(got), "differ" if got != data[:len(got)] else "short"),
        got == data)
    ser.write(b"leftover")
    end = time.monotonic() + 2
    while ser.in_waiting < 8 and time.monotonic() < end:
        time.sleep(0.02)
    waiting = ser.in_waiting
    ser.reset_input_buffer()
    row("in_waiting, reset_input_buffer", "8 0", "%d %d" % (waiting, ser.in_waiting), "-",
        waiting == 8 and ser.in_waiting == 0)

    mock.cmd("clear " + busid)
    ser.send_break(0.25)
    brk = mock.settle("breaks " + where)
    row("send_break", "on off", "-", brk, brk == "0xffff 0x0")

    mock.cmd("clear " + busid)
    ser.close()
    lines = mock.settle("lines " + where)
    row("close (HUPCL)", "none", "-", lines, lines.endswith("0x0"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
