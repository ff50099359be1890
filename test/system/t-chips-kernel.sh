#!/bin/sh
# System test (guest side, run by vm-run): the kernel's own USB serial drivers are the reference
# for the mock's chip models.  ftdi_sio, cp210x, ch341 and pl2303 attach through vhci-hcd
# (`usbip attach`) to the mock serving test/lsusb-chips (FT232R, FT2232H, CP2102, CP2104, CH340,
# PL2303 HX and HXN); on every /dev/ttyUSB* port: a byte-exact loopback (1 MiB on each chip's
# first port), then chip_table.py: a table of termios settings whose decoding by the model must
# match what the driver meant, modem lines both ways and a break.  The table goes to
# $SYSTEST_OUT/chips-kernel-table.txt (one row per chip and setting: requested, driver,
# decoded); a model the kernel driver disagrees with is a wrong model.
#
# CHIPS selects fixtures as "BUSID:PORTS:NAME ..." (default: the FTDI parts).  One guest per
# chip family keeps each run short: t-chips-kernel-cp210x.sh, t-chips-kernel-ch341.sh and
# t-chips-kernel-pl2303.sh run this script on the other parts.
. "$(dirname "$0")/lib.sh"
[ -x "$MOCK_SERVER" ] || skip "mock server not built ($MOCK_SERVER)"
command -v python3 >/dev/null || skip "python3 missing"
command -v usbip >/dev/null || skip "usbip (Debian package usbip) missing"
systest_init

: "${CHIPS:=5-1:1:FT232R 5-2:2:FT2232H}"
TABLE=$SYSTEST_OUT/chips-kernel-table.txt
: >"$TABLE"
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

for spec in $CHIPS; do
	busid=${spec%%:*}
	rest=${spec#*:}
	ports=${rest%%:*}
	name=${rest#*:}
	if ! nodes=$(attach_serial "$busid" "$ports"); then
		check_fail "$name ($busid): no $ports /dev/ttyUSB* after usbip attach"
		continue
	fi
	log "$name ($busid, $(mock_ctl model "$busid")): $nodes"
	intf=0
	for node in $nodes; do
		bytes=262144
		[ "$intf" = 0 ] && bytes=1048576
		# (a subshell: tty_loopback's fail ends only it; 300 s: the CH340's 32-byte URBs
		# take long under TCG)
		if (tty_loopback "$node" "$bytes" 300); then
			log "$name port $intf: $bytes bytes looped back byte-exact"
		else
			check_fail "$name port $intf ($node): $bytes-byte loopback not byte-exact"
		fi
		python3 "$SRC/test/system/chip_table.py" "$node" "$busid" "$intf" --ctl="$MOCK_CTL" \
			--out="$TABLE" 2>>"$SYSTEST_OUT/chip-table.err" ||
			check_fail "$name port $intf: chip_table.py reports mismatches (see $TABLE)"
		intf=$((intf + 1))
	done
done

dmesg >"$SYSTEST_OUT/dmesg.txt" 2>&1
echo "----- $TABLE -----" >&2
cat "$TABLE" >&2
[ -s "$SYSTEST_OUT/chip-table.err" ] && cat "$SYSTEST_OUT/chip-table.err" >&2
systest_done
