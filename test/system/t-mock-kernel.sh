#!/bin/sh
# System test (guest side, run by vm-run): the kernel's own USBIP client path (vhci-hcd +
# cdc-acm) against OUR mock USBIP server. If the kernel accepts the mock's descriptors and URB
# replies and moves data byte-exact, the mock is a faithful stand-in for integration tests.
. "$(dirname "$0")/lib.sh"
[ -x "$MOCK_SERVER" ] || skip "mock server not built ($MOCK_SERVER)"
systest_init

start_mock_server
dev=$(kernel_attach 1-1) || fail "kernel_attach failed"

# The mock echoes bulk OUT data back on bulk IN.
tty_loopback "$dev" 1048576 120
echo "THROUGHPUT kernel cdc-acm <-> mock server loopback: 1 MiB in ${LOOPBACK_SECONDS}s =" \
	"${LOOPBACK_MBPS} MB/s"

stty -F "$dev" 115200 cs7 parenb || fail "stty on $dev failed (mock rejected SET_LINE_CODING?)"
acm_flags=$(stty -F "$dev" -a | tr ' ;' '\n\n')
for f in 115200 cs7 parenb -parodd; do
	echo "$acm_flags" | grep -qx -- "$f" || fail "$dev does not report $f after stty"
done
# The mock decodes the SET_LINE_CODING it received (wire bytes 00 c2 01 00 00 02 07) as
# RATE DATABITS PARITY STOPBITS.
mock_expect "115200 7 E 1" linecoding 1-1
systest_done
