#!/bin/sh
# System test and benchmark (guest side, run by vm-run): usbip-cuse against the kernel's REAL
# USBIP server (usbipd + usbip-host) exporting a real CDC-ACM gadget (g_serial on dummy_hcd)
# whose far end /dev/ttyGS0 echoes every byte. 16 MiB loop back byte-exact through
# /dev/ttyUSBIP0; then, since a device has one importer at a time, the daemon is stopped and the
# kernel's own client (vhci-hcd + cdc-acm, /dev/ttyACM0) runs the same loopback over the same
# link. Prints MB/s of both, their ratio, and 1-byte round-trip latencies; asserts only on
# correctness, never on the figures.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init

BYTES=${SYSTEST_BENCH_BYTES:-16777216}
PINGS=200
start_real_gadget_server
start_gs_loopback

# rtt DEV: PINGS 1-byte round trips (write one byte, wait for its echo) on a raw DEV; sets
# RTT ("median X ms, p99 Y ms").
cat >/tmp/systest/rtt.py <<'PY'
import os, select, sys, termios, time, tty
dev, n = sys.argv[1], int(sys.argv[2])
fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
termios.tcflush(fd, termios.TCIOFLUSH)
p = select.poll()
p.register(fd, select.POLLIN)
times = []
for i in range(n + 5):
    b = bytes([i & 0xff])
    t0 = time.perf_counter()
    os.write(fd, b)
    if not p.poll(5000):
        sys.exit("no echo of ping %d within 5 s" % i)
    got = os.read(fd, 1)
    t1 = time.perf_counter()
    if got != b:
        sys.exit("ping %d: sent %r, got %r" % (i, b, got))
    if i >= 5:  # the first few warm caches and paths up
        times.append((t1 - t0) * 1000)
times.sort()
print("median %.2f ms, p99 %.2f ms (min %.2f, max %.2f, %d pings)" % (
    times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))], times[0],
    times[-1], len(times)))
PY
rtt() {
	RTT=$(timeout 120 /usr/bin/python3 /tmp/systest/rtt.py "$1" "$PINGS") || {
		check_fail "latency pings on $1 failed: $RTT"
		RTT="failed"
	}
	log "round trip on $1: $RTT"
}

# --- usbip-cuse ---
start_daemon --device 1-1
DEV=/dev/ttyUSBIP0
[ "$DAEMON_NODES" = "$DEV " ] || fail "nodes '$DAEMON_NODES', want '$DEV '"
gs_settle_after_attach
d_mbps=failed
d_secs=-
if (tty_loopback "$DEV" "$BYTES" 300 && echo "$LOOPBACK_MBPS $LOOPBACK_SECONDS" \
	>/tmp/systest/d.res); then
	read -r d_mbps d_secs </tmp/systest/d.res
else
	check_fail "$BYTES bytes through $DEV not looped back byte-exact"
fi
rtt "$DEV"
d_rtt=$RTT
stop_daemon
gs_after_host_session

# --- the kernel's cdc-acm over vhci-hcd, same device, same link ---
acm=$(kernel_attach 1-1) || fail "kernel_attach failed"
gs_settle_after_attach
k_mbps=failed
k_secs=-
if (tty_loopback "$acm" "$BYTES" 300 && echo "$LOOPBACK_MBPS $LOOPBACK_SECONDS" \
	>/tmp/systest/k.res); then
	read -r k_mbps k_secs </tmp/systest/k.res
else
	check_fail "$BYTES bytes through $acm not looped back byte-exact"
fi
rtt "$acm"
k_rtt=$RTT
usbip detach -p 0 >/dev/null 2>&1

ratio=$(awk -v d="$d_mbps" -v k="$k_mbps" 'BEGIN { if (k + 0 > 0 && d + 0 > 0)
	printf "%.2f", d / k; else print "n/a" }')
echo "BENCHMARK real usbipd + g_serial, $BYTES bytes looped back (payload MB/s, 1 MB = 10^6 B):"
echo "  usbip-cuse $DEV: $d_mbps MB/s ($d_secs s); 1-byte RTT $d_rtt"
echo "  kernel cdc-acm $acm:  $k_mbps MB/s ($k_secs s); 1-byte RTT $k_rtt"
echo "  throughput ratio usbip-cuse / kernel: $ratio"
systest_done
