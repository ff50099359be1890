#!/usr/bin/env python3
"""Write the serial_drv fuzz seed corpus into the directory given as argv[1]:
real parts' descriptors (probe path) and made-up functions of every driver,
each followed by a session stream (see fuzz_serial_drv.c for the layout)."""
import os, struct, sys

def dev(vid, pid, bcd, bcd_usb=0x0200, cls=0, mps0=64, iserial=3):
    return struct.pack('<BBHBBBBHHHBBBB', 18, 1, bcd_usb, cls, 0, 0, mps0,
                       vid, pid, bcd, 1, 2, iserial, 1)

def cfg(body, nintf):
    return struct.pack('<BBHBBBBB', 9, 2, 9 + len(body), nintf, 1, 0, 0x80, 50) + body

def intf(num, neps, cls=0xff, sub=0xff, proto=0xff, alt=0):
    return bytes([9, 4, num, alt, neps, cls, sub, proto, 0])

def ep(addr, attr, mps, ival=0):
    return struct.pack('<BBBBHB', 7, 5, addr, attr, mps, ival)

def bulk(addr, mps):
    return ep(addr, 2, mps)

def int_in(addr, mps, ival):
    return ep(addr, 3, mps, ival)

def probe_seed(d, c, stream):
    return b'\x00' + d[:18] + struct.pack('<H', len(c)) + c + stream

def made_up(driver, chip, mps, ifnum, stream):
    return bytes([1, driver, chip]) + struct.pack('<H', mps) + bytes([ifnum]) + stream

def line(baud, bits=8, parity=0, stop=0, flow=0, xon=0x11, xoff=0x13):
    return struct.pack('<IBBBBBB', baud, bits, parity, stop, flow, xon, xoff)

def msg(b):
    return bytes([len(b)]) + b

def reply(b):
    """An answer to one identify question."""
    return b'\x00' + bytes([len(b)]) + b

STALL = b'\x01'

def tail(lines, ctl, status_int, status_poll, rx):
    return (b''.join(lines) + bytes([ctl]) + msg(status_int) + msg(status_poll) +
            struct.pack('<H', len(rx)) + rx)

DRV_CDC, DRV_FTDI, DRV_CP210X, DRV_CH341, DRV_PL2303 = range(5)

def ftdi_rx(mps, packets):
    out = b''
    for ms, ls, data in packets:
        p = bytes([ms, ls]) + data
        out += p
    return out

seeds = {}
common_lines = [line(115200), line(9600, 7, 2, 2, 1)]

# FTDI
ft232r = cfg(intf(0, 2) + bulk(0x81, 64) + bulk(0x02, 64), 1)
rx = bytes([0x31, 0x60]) + b'A' * 62 + bytes([0x01, 0x04]) + b'parity!' 
seeds['ftdi_ft232r'] = probe_seed(dev(0x0403, 0x6001, 0x0600), ft232r,
                                  tail(common_lines, 3, b'', b'', rx))
ft2232h = cfg(intf(0, 2) + bulk(0x81, 512) + bulk(0x02, 512) +
              intf(1, 2) + bulk(0x83, 512) + bulk(0x04, 512), 2)
seeds['ftdi_ft2232h'] = probe_seed(dev(0x0403, 0x6010, 0x0700), ft2232h,
                                   tail([line(12000000), line(57600, 8, 0, 0, 2)], 1, b'', b'',
                                        bytes([0xf1, 0x60])) +
                                   tail([line(3000000), line(300)], 2, b'', b'', b'\x01\x60xy'))
ft4232h = cfg(b''.join(intf(i, 2) + bulk(0x81 + 2 * i, 512) + bulk(0x02 + 2 * i, 512)
                       for i in range(4)), 4)
seeds['ftdi_ft4232h'] = probe_seed(dev(0x0403, 0x6011, 0x0800), ft4232h,
                                   b''.join(tail([line(921600 * (i + 1)), line(1200 << i)], i, b'', b'',
                                                 bytes([0x01 | (0x10 << i), 0x60]) + b'z' * i)
                                            for i in range(4)))
seeds['ftdi_ft232am_unsure'] = probe_seed(dev(0x0403, 0x6001, 0x0200, iserial=0), ft232r,
                                          reply(b'\x10') + tail(common_lines, 3, b'', b'', b''))
seeds['ftdi_ft232am_stall'] = probe_seed(dev(0x0403, 0x6001, 0x0200, iserial=0), ft232r,
                                         STALL + tail(common_lines, 0, b'', b'', b'\x01'))
seeds['ftdi_unknown_bcd'] = probe_seed(dev(0x0403, 0x6001, 0x0300), ft232r, b'')
seeds['ftdi_made_up_rx'] = made_up(DRV_FTDI, 5, 64, 0,
                                   tail(common_lines, 3, b'', b'',
                                        (bytes([0x11, 0x18]) + b'\x00' * 62) * 3 +
                                        bytes([0x21, 0x10, 0x00])))
seeds['ftdi_made_up_sio'] = made_up(DRV_FTDI, 1, 0, 0, tail([line(31250), line(9600)], 0,
                                                             b'', b'', b'\x01'))

# CP210x
cp2102 = cfg(intf(0, 2, 0xff, 0, 0) + bulk(0x81, 64) + bulk(0x01, 64), 1)
flow = bytes.fromhex('01010000580000800002000000030000')
seeds['cp210x_cp2102'] = probe_seed(dev(0x10c4, 0xea60, 0x0100, 0x0110), cp2102,
                                    reply(b'\x02') + reply(flow) +
                                    tail(common_lines, 3, b'', b'\xf3', b'data'))
seeds['cp210x_cp2102n_old_fw'] = probe_seed(dev(0x10c4, 0xea60, 0x0100), cp2102,
                                            reply(b'\x20') + reply(flow) + reply(b'\x01\x00\x04') +
                                            tail([line(3000000, 8, 0, 0, 7), line(46)], 1, b'',
                                                 b'\x10', b''))
cp2105 = cfg(intf(0, 2, 0xff, 0, 0) + bulk(0x81, 64) + bulk(0x01, 64) +
             intf(1, 2, 0xff, 0, 0) + bulk(0x82, 64) + bulk(0x02, 64), 2)
seeds['cp210x_cp2105'] = probe_seed(dev(0x10c4, 0xea70, 0x0100), cp2105,
                                    reply(b'\x05') + reply(flow) + tail(common_lines, 3, b'',
                                                                       b'\x80', b'') +
                                    STALL + STALL + tail(common_lines, 2, b'', b'', b''))
seeds['cp210x_made_up'] = made_up(DRV_CP210X, 4, 64, 1,
                                  reply(b'\x04') + reply(flow[:15]) + tail(common_lines, 1, b'',
                                                                           b'\x30', b''))

# CH341
ch340 = cfg(intf(0, 3, 0xff, 1, 2) + bulk(0x82, 32) + bulk(0x02, 32) + int_in(0x81, 8, 1), 1)
seeds['ch341_ch340'] = probe_seed(dev(0x1a86, 0x7523, 0x0264, 0x0110, mps0=8), ch340,
                                  reply(b'\x31\x00') + reply(b'\x01\x00') + reply(b'\x01\xc3') +
                                  tail(common_lines, 3, b'\x08\x7d\xf6\xee', b'\x9f\xee', b''))
seeds['ch341_no_break'] = probe_seed(dev(0x1a86, 0x7523, 0x0254, 0x0110, mps0=8), ch340,
                                     reply(b'\x27\x00') + STALL + STALL +
                                     tail([line(1000), line(4000000)], 0, b'\x08\x7d\xfe\xee',
                                          b'\xff\xee', b''))
seeds['ch341_made_up'] = made_up(DRV_CH341, 0, 32, 0,
                                 reply(b'\x30') + reply(b'\x00\x00') + STALL +
                                 tail(common_lines, 1, b'\x08\x7d', b'\x9f', b''))

# PL2303
pl_cfg = cfg(intf(0, 3, 0xff, 0, 0) + int_in(0x81, 10, 1) + bulk(0x02, 64) + bulk(0x83, 64), 1)
notify = bytes([0xa1, 0x20, 0, 0, 0, 0, 2, 0, 0x8b, 0])
seeds['pl2303_hx'] = probe_seed(dev(0x067b, 0x2303, 0x0300, 0x0110), pl_cfg,
                                tail([line(31250), line(9600, 5, 1, 2, 1)], 3, notify, b'', b''))
seeds['pl2303_ta'] = probe_seed(dev(0x067b, 0x2303, 0x0300, 0x0200), pl_cfg,
                                reply(b'\x00') + tail(common_lines, 3, notify, b'', b''))
seeds['pl2303_gt_hxn'] = probe_seed(dev(0x067b, 0x2303, 0x0300, 0x0200), pl_cfg,
                                    STALL + reply(b'\xff') + tail([line(12000000, 8, 0, 0, 2)], 1,
                                                                  notify[:9], b'', b''))
seeds['pl2303_legacy_h'] = probe_seed(dev(0x067b, 0x2303, 0x0300, 0x0110, cls=2), pl_cfg,
                                      tail(common_lines, 0, notify, b'', b''))
split = cfg(intf(0, 1, 0xff, 0, 0) + int_in(0x81, 10, 1) +
            intf(1, 2, 0xff, 0, 0) + bulk(0x02, 64) + bulk(0x83, 64), 2)
seeds['pl2303_endpoint_hack'] = probe_seed(dev(0x067b, 0x2303, 0x0400, 0x0110), split, b'')
seeds['pl2303_siemens'] = probe_seed(dev(0x11f5, 0x0001, 0x0300, 0x0110), pl_cfg,
                                     tail(common_lines, 2, b'\x81', b'', b''))
seeds['pl2303_made_up'] = made_up(DRV_PL2303, 0x46, 64, 0,
                                  STALL + reply(b'') + tail(common_lines, 3, notify, b'', b''))

# CDC-ACM through the registry
acm = cfg(bytes([8, 0x0b, 0, 2, 2, 2, 1, 0]) + intf(0, 1, 2, 2, 1) +
          bytes([5, 0x24, 0, 0x10, 1, 5, 0x24, 1, 0, 1, 4, 0x24, 2, 2, 5, 0x24, 6, 0, 1]) +
          int_in(0x82, 10, 9) + intf(1, 2, 0x0a, 0, 0) + bulk(0x81, 512) + bulk(0x01, 512), 2)
seeds['cdc_acm'] = probe_seed(dev(0x0525, 0xa4a7, 0x0100), acm,
                              tail(common_lines, 3,
                                   bytes([0xa1, 0x20, 0, 0, 0, 0, 2, 0, 3, 0]), b'', b'x'))

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, blob in seeds.items():
    with open(os.path.join(out, name + '.bin'), 'wb') as f:
        f.write(blob)
