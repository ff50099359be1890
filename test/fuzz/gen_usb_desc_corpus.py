#!/usr/bin/env python3
"""Write the usb_desc fuzz seed corpus (real-world shaped config descriptors
plus malformed ones) into the directory given as argv[1]."""
import os, struct, sys

def cfg(body, ninterfaces, total=None, value=1):
    tl = 9 + len(body) if total is None else total
    return struct.pack('<BBHBBBBB', 9, 2, tl, ninterfaces, value, 0, 0x80, 50) + body

def iad(first, count, cls=2, sub=2, proto=1, i=0):
    return bytes([8, 0x0b, first, count, cls, sub, proto, i])

def intf(num, alt, neps, cls, sub, proto, i=0):
    return bytes([9, 4, num, alt, neps, cls, sub, proto, i])

def ep(addr, attr, mps, interval):
    return struct.pack('<BBBBHB', 7, 5, addr, attr, mps, interval)

def cdc_header():
    return bytes([5, 0x24, 0x00, 0x10, 0x01])

def cdc_cm(caps, data):
    return bytes([5, 0x24, 0x01, caps, data])

def cdc_acm(caps):
    return bytes([4, 0x24, 0x02, caps])

def cdc_union(ctrl, sub):
    return bytes([5, 0x24, 0x06, ctrl, sub])

def acm_function(c, d, notify, bin_, bout, with_iad=True, union=True, cm=True, mps=64):
    b = iad(c, 2) if with_iad else b''
    b += intf(c, 0, 1, 2, 2, 1) + cdc_header()
    if cm:
        b += cdc_cm(0, d)
    b += cdc_acm(2)
    if union:
        b += cdc_union(c, d)
    b += ep(notify, 3, 10 if mps == 64 else 16, 9 if mps == 512 else 32)
    b += intf(d, 0, 2, 0x0a, 0, 0) + ep(bout, 2, mps, 0) + ep(bin_, 2, mps, 0)
    return b

seeds = {}
seeds['acm_iad'] = cfg(acm_function(0, 1, 0x82, 0x81, 0x01), 2)
seeds['acm_no_iad'] = cfg(acm_function(0, 1, 0x83, 0x82, 0x02, with_iad=False), 2)
seeds['acm_hs_512'] = cfg(acm_function(0, 1, 0x81, 0x82, 0x02, mps=512), 2)
seeds['acm_intf_2_3'] = cfg(
    intf(0, 0, 2, 0xff, 0, 0) + ep(0x81, 2, 64, 0) + ep(0x01, 2, 64, 0) +
    intf(1, 0, 0, 0xff, 0, 0) + acm_function(2, 3, 0x85, 0x84, 0x03, with_iad=False), 4)
seeds['acm_callmgmt_only'] = cfg(acm_function(0, 1, 0x83, 0x81, 0x02, with_iad=False,
                                             union=False), 2)
seeds['acm_no_functional'] = cfg(acm_function(0, 1, 0x83, 0x81, 0x02, with_iad=False,
                                             union=False, cm=False), 2)
seeds['acm_collapsed'] = cfg(
    intf(0, 0, 3, 2, 2, 1) + cdc_header() + cdc_acm(2) + cdc_union(0, 0) +
    ep(0x83, 3, 16, 1) + ep(0x81, 2, 64, 0) + ep(0x02, 2, 64, 0), 1)
seeds['acm_composite_two'] = cfg(
    acm_function(0, 1, 0x81, 0x82, 0x01) + acm_function(2, 3, 0x83, 0x84, 0x03), 4)
seeds['acm_data_alt1'] = cfg(
    intf(0, 0, 1, 2, 2, 1) + cdc_header() + cdc_acm(6) + cdc_union(0, 1) + ep(0x81, 3, 8, 255) +
    intf(1, 0, 0, 0x0a, 0, 0) + intf(1, 1, 2, 0x0a, 0, 0) + ep(0x82, 2, 64, 0) +
    ep(0x02, 2, 64, 0), 2)
seeds['mass_storage'] = cfg(intf(0, 0, 2, 8, 6, 0x50) + ep(0x81, 2, 512, 0) + ep(0x02, 2, 512, 0),
                            1, value=1)
seeds['acm_plus_msc'] = cfg(
    acm_function(0, 1, 0x81, 0x82, 0x01) + iad(2, 1, 8, 6, 0x50) +
    intf(2, 0, 2, 8, 6, 0x50) + ep(0x83, 2, 512, 0) + ep(0x03, 2, 512, 0), 3)
# USB audio style: 9-byte endpoints with CS_ENDPOINT descriptors after them.
seeds['audio_9byte_ep'] = cfg(
    intf(0, 0, 0, 1, 1, 0) + bytes([9, 0x24, 1, 0, 1, 9, 0, 1, 1]) +
    intf(1, 0, 0, 1, 2, 0) + intf(1, 1, 1, 1, 2, 0) + bytes([7, 0x24, 1, 1, 1, 1, 0]) +
    bytes([9, 5, 0x01, 9, 0xc4, 0, 1, 0, 0]) + bytes([7, 0x25, 1, 0, 0, 0, 0]), 2)
# Device descriptor, string descriptors, line coding, notifications.
seeds['device_desc'] = struct.pack('<BBHBBBBHHHBBBB', 18, 1, 0x0200, 2, 0, 0, 64, 0x0525, 0xa4a7,
                                   0x0100, 1, 2, 3, 1)
seeds['string_ascii'] = bytes([2 + 2 * 11, 3]) + 'Gadget ACM!'.encode('utf-16-le')
seeds['string_surrogate'] = bytes([2 + 10, 3]) + 'a\U0001F600b'.encode('utf-16-le') + b'\x00\xd8'
seeds['string_nul_padded'] = bytes([2 + 16, 3]) + 'ABC'.encode('utf-16-le') + bytes(10)
seeds['line_coding_115200'] = struct.pack('<IBBB', 115200, 0, 0, 8)
seeds['serial_state_dcd_dsr'] = bytes([0xa1, 0x20, 0, 0, 2, 0, 2, 0, 3, 0])
seeds['notify_response_available'] = bytes([0xa1, 0x01, 0, 0, 0, 0, 0, 0])

# Malformed shapes.
good = seeds['acm_iad']
seeds['bad_truncated_mid_ep'] = good[:len(good) - 3]
seeds['bad_truncated_header'] = good[:5]
seeds['bad_total_too_big'] = cfg(good[9:], 2, total=len(good) + 40)
seeds['bad_total_too_small'] = cfg(good[9:], 2, total=len(good) - 4)
seeds['bad_total_below_header'] = cfg(good[9:], 2, total=4)
seeds['bad_zero_length'] = cfg(intf(0, 0, 0, 2, 2, 1) + bytes([0, 0x24, 0, 0]), 1)
seeds['bad_length_one'] = cfg(intf(0, 0, 0, 2, 2, 1) + bytes([1, 0x24]), 1)
seeds['bad_short_interface'] = cfg(bytes([5, 4, 0, 0, 0]) + ep(0x81, 2, 64, 0), 1)
seeds['bad_short_endpoint'] = cfg(intf(0, 0, 1, 2, 2, 1) + bytes([6, 5, 0x81, 3, 8, 0]), 1)
seeds['bad_ep_before_intf'] = cfg(ep(0x81, 2, 64, 0) + intf(0, 0, 1, 0xff, 0, 0), 1)
seeds['bad_too_many_intf'] = cfg(b''.join(intf(i, 0, 0, 0xff, 0, 0) for i in range(33)), 33)
seeds['bad_too_many_ep'] = cfg(intf(0, 0, 33, 0xff, 0, 0) +
                               b''.join(ep(0x80 | (i % 15 + 1), 2, 64, 0) for i in range(33)), 1)
seeds['bad_nested_config'] = cfg(intf(0, 0, 0, 2, 2, 1) + cfg(b'', 0), 1)
seeds['bad_past_total'] = cfg(intf(0, 0, 0, 2, 2, 1) + bytes([12, 0x24, 0]), 1)
# Found by libFuzzer: data interface 1 alt 0 appears twice, only the second
# has the bulk pair.
seeds['regress_dup_intf_alt'] = cfg(
    intf(0, 0, 1, 2, 2, 1) + bytes([5, 0x24, 0, 2, 2]) + cdc_union(0, 1) + ep(0x83, 3, 10, 32) +
    intf(1, 0, 2, 0x0a, 0, 0) + intf(1, 0, 2, 0x0a, 0, 0) + ep(0x02, 2, 64, 0) +
    ep(0x82, 2, 64, 0), 2)
seeds['garbage'] = bytes((i * 73 + 41) & 0xff for i in range(96))

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in sorted(seeds.items()):
    with open(os.path.join(out, name + '.bin'), 'wb') as f:
        f.write(data)
print(len(seeds), 'seeds written to', out)
