#!/bin/sh
# System test (guest side, run by vm-run): the `usbip-cuse list` and `usbip-cuse cat` clients
# against the kernel's REAL USBIP server (usbipd + usbip-host) exporting a real CDC-ACM gadget
# (g_serial on dummy_hcd), whose far end /dev/ttyGS0 echoes every byte back.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init

start_real_gadget_server
start_gs_loopback

# Linux usbip-host unconfigures a device when it is bound, so usbipd lists it with
# bNumInterfaces 0 and no interface records: the list cannot tell the driver or count the
# ports of a class device from the device list alone. DRIVER/PORTS must then say "cdc_acm 1"
# (found out some other way) or "? ?" (unknown), never "-" (a false "no serial port");
# JSON driver "cdc_acm" or null, ports 1 or null.
log "gadget 1-1 after bind: bNumInterfaces '$(cat /sys/bus/usb/devices/1-1/bNumInterfaces)'"
# --- list: text ---
out=$("$USBIP_CUSE" list 127.0.0.1 2>"$SYSTEST_OUT/list.err")
rc=$?
if [ "$rc" = 0 ]; then
	echo "$out" >&2
	# BUSID VID:PID SPEED IFACES DRIVER PORTS PATH
	echo "$out" | head -n 1 | grep -q ' DRIVER  *PORTS ' ||
		check_fail "list has no DRIVER/PORTS column headers"
	cols=$(echo "$out" | awk '$1 == "1-1" && $2 == "0525:a4a7" { print $5, $6 }')
	case $cols in
	'cdc_acm 1' | '? ?') log "list: 1-1 0525:a4a7 DRIVER PORTS '$cols'" ;;
	'') check_fail "list does not show 1-1 0525:a4a7" ;;
	*) check_fail "list shows 1-1 0525:a4a7 with DRIVER PORTS '$cols' (want cdc_acm 1, or ? ?)" ;;
	esac
else
	cat "$SYSTEST_OUT/list.err" >&2
	check_fail "usbip-cuse list 127.0.0.1 failed (exit $rc)"
fi

# --- list: JSON, parsed by a real JSON parser ---
"$USBIP_CUSE" list --json 127.0.0.1 >"$SYSTEST_OUT/list.json" 2>"$SYSTEST_OUT/list.err"
rc=$?
if [ "$rc" = 0 ]; then
	/usr/bin/python3 - "$SYSTEST_OUT/list.json" <<'PY' || check_fail "list --json content is wrong"
import json, sys
devs = json.load(open(sys.argv[1]))
assert isinstance(devs, list), devs
d = [x for x in devs if x["busid"] == "1-1"]
assert len(d) == 1, devs
d = d[0]
print("list --json:", d, file=sys.stderr)
assert (d["vid"], d["pid"]) == ("0525", "a4a7"), d
assert d["path"].startswith("/sys/devices/"), d
assert (d["driver"], d["ports"]) in (("cdc_acm", 1), (None, None)), "driver/ports %r/%r" % (d["driver"], d["ports"])
PY
else
	cat "$SYSTEST_OUT/list.err" >&2
	check_fail "usbip-cuse list --json 127.0.0.1 failed (exit $rc)"
fi

# cat_loopback SELECTOR [EXTRA...]: 256 KiB of random data through `usbip-cuse cat` and the
# ttyGS0 echo, byte-exact; then the device must be free again (gs_after_host_session).
cat_loopback() {
	_sel=$1
	shift
	_n=262144
	head -c $_n /dev/urandom >/tmp/systest/cat-tx.bin
	_t0=$(date +%s%N)
	# The data waits until the gadget's echo is ready for this importer.
	{
		gs_settle_after_attach
		cat /tmp/systest/cat-tx.bin
	} | timeout 120 "$USBIP_CUSE" cat --server 127.0.0.1 --device "$_sel" --idle-exit 2000 \
		"$@" >/tmp/systest/cat-rx.bin 2>"$SYSTEST_OUT/cat.err"
	_rc=$?
	_t1=$(date +%s%N)
	gs_after_host_session
	if [ "$_rc" != 0 ]; then
		tail -n 20 "$SYSTEST_OUT/cat.err" >&2
		check_fail "cat --device $_sel $*: exit status $_rc"
		return 1
	fi
	compare_files /tmp/systest/cat-tx.bin /tmp/systest/cat-rx.bin || {
		check_fail "cat --device $_sel $* did not loop back byte-exact"
		return 1
	}
	echo "cat --device $_sel $*: 256 KiB looped back in" \
		"$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }') s" \
		"(attach, wait for the echo and exit included)"
}

cat_loopback 1-1
cat_loopback 0525:a4a7
# --bytes ends the copy as soon as everything came back (no idle wait).
cat_loopback 0525:a4a7 --bytes 262144
systest_done
