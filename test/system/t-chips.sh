#!/bin/sh
# System test (guest side, run by vm-run): issue 11's kernel-versus-ours table.  The mock serves
# test/lsusb-chips (FT232R, FT2232H, CP2102, CP2104, CH340, PL2303 HX and HXN).  For each chip,
# first the kernel's own driver (ftdi_sio, cp210x, ch341, pl2303 through vhci-hcd, `usbip
# attach`) is the reference, then usbip-cuse's driver on the same model, the same checks:
#   - a byte-exact loopback (1 MiB on a chip's first port, 256 KiB on others);
#   - chip_table.py: a table of termios settings (speeds 300..3000000, cs5..cs8, parity,
#     cstopb, crtscts, ixon/ixoff) the model must decode to what the driver meant, modem lines
#     both ways, a break;
#   - chip_serial.py: pyserial at 250000 baud, the esptool reset dance, a loopback, flushes,
#     send_break, close;
# and, for usbip-cuse only, a server restart: the daemon sets the chip up again.
# chip_compare.py then compares the two nodes row for row: what the driver meant (termios
# read back) and what the chip decoded must be the same.  Tables in $SYSTEST_OUT:
# chips-kernel-table.txt, chips-ours-table.txt and chips-table.txt (the comparison).
#
# CHIPS selects fixtures as "BUSID:PORTS:NAME ..." (default: the FTDI parts); one guest per chip
# family keeps each run short: t-chips-cp210x.sh, t-chips-ch341.sh and t-chips-pl2303.sh.
. "$(dirname "$0")/lib.sh"
[ -x "$MOCK_SERVER" ] || skip "mock server not built ($MOCK_SERVER)"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
command -v python3 >/dev/null || skip "python3 missing"
python3 -c 'import serial' 2>/dev/null || skip "pyserial (python3-serial) missing"
command -v usbip >/dev/null || skip "usbip (Debian package usbip) missing"
systest_init

: "${CHIPS:=5-1:1:FT232R 5-2:2:FT2232H}"
KTABLE=$SYSTEST_OUT/chips-kernel-table.txt
DTABLE=$SYSTEST_OUT/chips-ours-table.txt
: >"$KTABLE"
: >"$DTABLE"
MOCK_DIR=$SRC/test/lsusb-chips
start_mock_server
# Module auto-loading does not work in the chroot: every driver explicitly.
load_modules vhci-hcd usbserial ftdi_sio cp210x ch341 pl2303

# new_ttys BEFORE: "IFACE NODE" for every /dev/ttyUSB* not in the list BEFORE, IFACE being the
# USB interface directory (e.g. 3-1:1.1) its port hangs off.
new_ttys() {
	for _d in /dev/ttyUSB*; do
		[ -c "$_d" ] || continue
		case " $1 " in *" $_d "*) continue ;; esac
		_if=$(readlink -f "/sys/class/tty/${_d#/dev/}/device/..")
		echo "${_if##*/} $_d"
	done
}

new_tty_count_is() {
	[ "$(new_ttys "$1" | wc -l)" -ge "$2" ]
}

# attach_serial BUSID PORTS: attach BUSID with the kernel's vhci-hcd; prints its PORTS new
# /dev/ttyUSB* nodes in interface order.
attach_serial() {
	_before=$(ls /dev/ttyUSB* 2>/dev/null | tr '\n' ' ')
	usbip attach -r 127.0.0.1 -b "$1" >&2 || return 1
	wait_for 60 new_tty_count_is "$_before" "$2" || return 1
	new_ttys "$_before" | sort | cut -d' ' -f2
}

# detach_all BUSID: every vhci port detached; the mock sees the device free again.
detach_all() {
	for _p in $(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p'); do
		usbip detach -p "$_p" >&2
	done
	mock_wait_state "$1" free 30 || check_fail "$1 not free after usbip detach"
}

# checks WHO NAME BUSID NODES: the loopbacks and both tables on every port, rows to WHO's table.
checks() {
	_who=$1
	_name=$2
	_busid=$3
	shift 3
	_table=$KTABLE
	[ "$_who" = ours ] && _table=$DTABLE
	_intf=0
	for _node in "$@"; do
		_bytes=262144
		[ "$_intf" = 0 ] && _bytes=1048576
		# (a subshell: tty_loopback's fail ends only it; 300 s: the CH340's 32-byte
		# packets take long under TCG)
		if (tty_loopback "$_node" "$_bytes" 300); then
			log "$_who $_name port $_intf: $_bytes bytes looped back byte-exact"
		else
			check_fail "$_who $_name port $_intf ($_node): $_bytes-byte loopback not byte-exact"
		fi
		python3 "$SRC/test/system/chip_table.py" "$_node" "$_busid" "$_intf" \
			--ctl="$MOCK_CTL" --out="$_table" 2>>"$SYSTEST_OUT/chip-table.err" ||
			check_fail "$_who $_name port $_intf: chip_table.py reports mismatches"
		python3 "$SRC/test/system/chip_serial.py" "$_node" "$_busid" "$_intf" \
			--ctl="$MOCK_CTL" --out="$_table" 2>>"$SYSTEST_OUT/chip-table.err" ||
			check_fail "$_who $_name port $_intf: chip_serial.py reports failures"
		_intf=$((_intf + 1))
	done
}

device_back_count() {
	grep -c ': device is back' "$DAEMON_LOG"
}

for spec in $CHIPS; do
	busid=${spec%%:*}
	rest=${spec#*:}
	ports=${rest%%:*}
	name=${rest#*:}

	# --- the kernel's driver ---
	if nodes=$(attach_serial "$busid" "$ports"); then
		log "kernel $name ($busid, $(mock_ctl model "$busid")): $nodes"
		# shellcheck disable=SC2086
		checks kernel "$name" "$busid" $nodes
	else
		check_fail "$name ($busid): no $ports /dev/ttyUSB* after usbip attach"
	fi
	detach_all "$busid"

	# --- usbip-cuse's driver on the same model ---
	start_daemon --server 127.0.0.1 --device "$busid" --backoff-max 500
	# shellcheck disable=SC2086
	set -- $DAEMON_NODES
	[ $# = "$ports" ] || check_fail "$name: usbip-cuse made $# nodes, want $ports"
	checks ours "$name" "$busid" "$@"
	# the server restarts: the daemon sets the chip up again and the node moves data
	back=$(device_back_count)
	stop_mock_server
	start_mock_server
	if wait_for 60 sh -c "[ \$(grep -c ': device is back' '$DAEMON_LOG') -gt $back ]"; then
		if (tty_loopback "$1" 65536 120); then
			log "ours $name: the node works again after a server restart"
		else
			check_fail "ours $name: no loopback after a server restart"
		fi
	else
		check_fail "ours $name: the daemon did not come back after a server restart"
	fi
	stop_daemon
done

dmesg >"$SYSTEST_OUT/dmesg.txt" 2>&1
python3 "$SRC/test/system/chip_compare.py" "$KTABLE" "$DTABLE" \
	--out="$SYSTEST_OUT/chips-table.txt" ||
	check_fail "the kernel's and usbip-cuse's drivers differ (see chips-table.txt)"
echo "----- $SYSTEST_OUT/chips-table.txt -----" >&2
cat "$SYSTEST_OUT/chips-table.txt" >&2
[ -s "$SYSTEST_OUT/chip-table.err" ] && cat "$SYSTEST_OUT/chip-table.err" >&2
systest_done
