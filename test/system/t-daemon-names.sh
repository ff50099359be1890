#!/bin/sh
# System test (guest side, run by vm-run): persistent names through a real systemd-udevd with
# the build's udev rules. The mock's two identical Picos (1-2 and 1-3: 2e8a:000a, serials
# E6605838833C6B2A and E66058388346A52F) get distinct /dev/serial/by-id links to the right
# nodes, by-usbip links per server and bus id, group dialout and mode 0660. When the mock moves
# one Pico to bus id 1-9 the daemon finds it again (VID:PID + serial), rewrites its env file and
# triggers "change": its by-id link still points to the same node, its by-usbip link follows
# the bus id. The links go away when the daemon stops.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init
udev_start
start_mock_server

cat >/tmp/names.conf <<EOF
[server lab]
address=127.0.0.1:3240
[port a]
device=2e8a:000a:E6605838833C6B2A
backoff-max=1000
[port b]
device=2e8a:000a:E66058388346A52F
backoff-max=1000
EOF
start_daemon --config /tmp/names.conf --cdi-spec none
[ "$DAEMON_NODES" = "/dev/ttyUSBIP0 /dev/ttyUSBIP1 " ] || fail "nodes '$DAEMON_NODES'"
udev_settle

byid=/dev/serial/by-id/usbip-Raspberry_Pi_Pico
A=${byid}_E6605838833C6B2A-if00
B=${byid}_E66058388346A52F-if00
# link_is LINK NODE: LINK is a symlink resolving to NODE
link_is() {
	[ -L "$1" ] && [ "$(readlink -f "$1")" = "$2" ]
}
links() {
	ls -l /dev/serial/by-id /dev/serial/by-usbip 2>&1 | tr '\n' '|'
}
wait_for 10 link_is "$A" /dev/ttyUSBIP0 || check_fail "$A does not point to ttyUSBIP0: $(links)"
wait_for 10 link_is "$B" /dev/ttyUSBIP1 || check_fail "$B does not point to ttyUSBIP1: $(links)"
link_is /dev/serial/by-usbip/lab-1-2-if00 /dev/ttyUSBIP0 || check_fail "by-usbip lab-1-2: $(links)"
link_is /dev/serial/by-usbip/lab-1-3-if00 /dev/ttyUSBIP1 || check_fail "by-usbip lab-1-3: $(links)"
for n in /dev/ttyUSBIP0 /dev/ttyUSBIP1; do
	perm=$(stat -c '%U:%G %a' "$n")
	[ "$perm" = "root:dialout 660" ] || check_fail "$n is $perm, want root:dialout 660"
done
udevadm info /dev/ttyUSBIP0 >"$SYSTEST_OUT/udevadm-info-0.txt"
for kv in ID_VENDOR_ID=2e8a ID_MODEL_ID=000a ID_VENDOR=Raspberry_Pi ID_MODEL=Pico \
	ID_SERIAL=Raspberry_Pi_Pico_E6605838833C6B2A ID_SERIAL_SHORT=E6605838833C6B2A \
	ID_USB_INTERFACE_NUM=00 USBIP_SERVER=lab USBIP_BUSID=1-2; do
	grep -qx "E: $kv" "$SYSTEST_OUT/udevadm-info-0.txt" || check_fail "udev property $kv missing"
done
grep -q '^E: TAGS=.*:systemd:' "$SYSTEST_OUT/udevadm-info-0.txt" || check_fail "no TAG systemd"
# The by-id name reaches the right device: data through it comes back (the mock echoes).
tty_loopback "$A" 4096 30

# --- the first Pico re-enumerates as 1-9
mock_ctl move 1-2 1-9 >/dev/null || fail "mock move failed"
mock_wait_state 1-9 imported 30
wait_for 10 grep -qx USBIP_BUSID=1-9 /run/usbip-cuse/ttyUSBIP0.env ||
	check_fail "env file not rewritten: $(cat /run/usbip-cuse/ttyUSBIP0.env)"
udev_settle
wait_for 10 link_is /dev/serial/by-usbip/lab-1-9-if00 /dev/ttyUSBIP0 ||
	check_fail "by-usbip link did not follow to 1-9: $(links)"
[ -e /dev/serial/by-usbip/lab-1-2-if00 ] && check_fail "stale by-usbip link lab-1-2: $(links)"
link_is "$A" /dev/ttyUSBIP0 || check_fail "$A no longer points to ttyUSBIP0: $(links)"
link_is "$B" /dev/ttyUSBIP1 || check_fail "$B changed: $(links)"
grep -q 'the device is now bus id 1-9 on lab (was 1-2)' "$DAEMON_LOG" ||
	check_fail "the daemon did not log the move"
(tty_loopback "$A" 4096 30) || check_fail "no loopback through $A after the move"

# --- the daemon stops: nodes, links and env files go
stop_daemon 15
udev_settle
wait_for 10 sh -c "! ls /dev/serial/by-id/usbip-* >/dev/null 2>&1" ||
	check_fail "by-id links left after the daemon stopped: $(links)"
ls /dev/serial/by-usbip/* >/dev/null 2>&1 && check_fail "by-usbip links left: $(links)"
ls /run/usbip-cuse/*.env >/dev/null 2>&1 && check_fail "env files left: $(ls /run/usbip-cuse)"
systest_done
