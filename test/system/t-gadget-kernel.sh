#!/bin/sh
# System test (guest side, run by vm-run): the kernel's own USBIP client path (vhci-hcd +
# cdc-acm) against the kernel's real USBIP server exporting a real CDC-ACM gadget (g_serial on
# dummy_hcd). This is the reference our daemon is compared against: same link, same device.
. "$(dirname "$0")/lib.sh"
systest_init

start_real_gadget_server
dev=$(kernel_attach 1-1) || fail "kernel_attach failed"

# One way first (host -> device), while nothing echoes on ttyGS0.
tty_oneway "$dev" /dev/ttyGS0 1048576 120
echo "THROUGHPUT kernel cdc-acm -> g_serial one way: 1 MiB in ${ONEWAY_SECONDS}s =" \
	"${ONEWAY_MBPS} MB/s"

start_gs_loopback

# 1 MiB of random data out through the ACM port and back through the ttyGS0 echo.
tty_loopback "$dev" 1048576 120
echo "THROUGHPUT kernel cdc-acm <-> g_serial loopback: 1 MiB in ${LOOPBACK_SECONDS}s =" \
	"${LOOPBACK_MBPS} MB/s"

# Line coding: the host side must send SET_LINE_CODING 115200 7E1 over USBIP.
gs_before=$(stty -F /dev/ttyGS0 -a | head -n 1)
usbmon_start
stty -F "$dev" 115200 cs7 parenb || fail "stty on $dev failed"
usbmon_stop
acm_flags=$(stty -F "$dev" -a | tr ' ;' '\n\n')
for f in 115200 cs7 parenb -parodd; do
	echo "$acm_flags" | grep -qx -- "$f" || fail "$dev does not report $f after stty"
done
# Look on the gadget's own bus (dummy_hcd): there the request has crossed the USBIP link and
# been replayed by usbip-host, which proves the whole path, not just vhci's submission.
want=$(line_coding_hex 115200 0 2 7)
gbus=$(cat /sys/bus/usb/devices/1-1/busnum)
usbmon_saw_set_line_coding "$want" "$gbus" >&2 ||
	fail "no SET_LINE_CODING $want on bus $gbus in usbmon capture $USBMON_LOG"
log "usbmon saw SET_LINE_CODING 115200 baud, 1 stop, even, 7 bits ($want) on gadget bus $gbus"

# g_serial keeps the host's line coding inside f_acm and (in 6.1) does not copy it into
# ttyGS0's termios, so the gadget tty cannot show it; report what it shows either way.
gs_after=$(stty -F /dev/ttyGS0 -a | head -n 1)
if [ "$gs_after" != "$gs_before" ]; then
	echo "ttyGS0 termios changed after host stty: '$gs_before' -> '$gs_after'"
else
	echo "NOTE: line coding not observable on /dev/ttyGS0 (stays '$gs_after');" \
		"checked on the wire with usbmon instead"
fi
echo "PASS"
