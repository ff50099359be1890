#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""chip_compare.py KERNEL_TABLE OURS_TABLE [--out FILE]

Issue 11's kernel-versus-ours table: two chip_table.py runs on the same chip model, one through
the kernel's driver (/dev/ttyUSB*), one through usbip-cuse (/dev/ttyUSBIP*), compared row for
row.  A row matches when both nodes' drivers meant the same (their termios read back) and the
chip model decoded the same from the wire; rows come in the same fixed order from both.

Output (stdout, or FILE): one tab-separated row per check:
  CHIP  SETTING  KERNEL-DRIVER  KERNEL-DECODED  OURS-DRIVER  OURS-DECODED  SAME
Exit status 1 when a row differs or a table is short, 2 on usage errors.
"""
import sys


def rows(path):
    out = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) != 6:
            raise SystemExit("chip_compare: %s: malformed row %r" % (path, line))
        out.append(f)
    return out


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    kern, ours = rows(args[0]), rows(args[1])
    out = open(opts["out"], "w") if "out" in opts else sys.stdout
    out.write("# CHIP\tSETTING\tKERNEL-DRIVER\tKERNEL-DECODED\tOURS-DRIVER\tOURS-DECODED\tSAME\n")
    bad = 0
    for i in range(max(len(kern), len(ours))):
        k = kern[i] if i < len(kern) else None
        o = ours[i] if i < len(ours) else None
        if not k or not o or k[:2] != o[:2]:
            out.write("\t".join((k or o)[:2] + ["-"] * 4 + ["DIFF: the tables do not line up"])
                      + "\n")
            bad += 1
            continue
        same = k[3:5] == o[3:5]
        out.write("\t".join(k[:2] + [k[3], k[4], o[3], o[4], "yes" if same else "DIFF"]) + "\n")
        if not same:
            bad += 1
            print("chip_compare: %s %s: kernel %s / %s, ours %s / %s"
                  % (k[0], k[1], k[3], k[4], o[3], o[4]), file=sys.stderr)
    print("chip_compare: %d rows, %d differ" % (max(len(kern), len(ours)), bad),
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
