#!/bin/sh
# System test (guest side, run by vm-run): usbip-cuse start-up errors are clear and fatal, and
# the detaching (non --foreground) mode returns only once the node exists. Against the mock.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init

# expect_error WANT_RC PATTERN ARGS...: run `usbip-cuse ARGS` (bounded by a timeout), require
# exit status WANT_RC and PATTERN (grep -E) in its stderr, and no node left behind.
expect_error() {
	_want_rc=$1
	_pat=$2
	shift 2
	_err=$SYSTEST_OUT/err.txt
	timeout 30 "$USBIP_CUSE" "$@" >"$SYSTEST_OUT/out.txt" 2>"$_err"
	_rc=$?
	log "usbip-cuse $* -> exit $_rc: $(head -c 300 "$_err")"
	[ "$_rc" = "$_want_rc" ] || fail "usbip-cuse $*: exit status $_rc, want $_want_rc"
	grep -qE -- "$_pat" "$_err" || fail "usbip-cuse $*: stderr lacks '$_pat'"
	ls /dev/ttyUSBIP* >/dev/null 2>&1 && fail "usbip-cuse $* left $(ls /dev/ttyUSBIP*)"
	return 0
}

start_mock_server

# 1. No CUSE yet: this must run before anything loads the cuse module.
if [ -d /sys/module/cuse ]; then
	log "NOTE: cuse already loaded or built in: the 'modprobe cuse' check is not possible"
else
	expect_error 1 'modprobe cuse' --foreground --device 1-1
	# The same without --foreground: the error must reach the caller, not a detached child.
	expect_error 1 'modprobe cuse' --device 1-1
fi
load_modules cuse
wait_for 10 test -c /dev/cuse || fail "no /dev/cuse after modprobe cuse"

# 2. A device the server does not export: the message names it and lists what there is.
expect_error 1 'has no device 9-9.*1-1 \(0525:a4a7\)' --foreground --device 9-9
expect_error 1 'has no device dead:beef' --foreground --device dead:beef
# 3. Nobody listening.
expect_error 1 'cannot connect to 127\.0\.0\.1:3999' --foreground --server 127.0.0.1:3999 \
	--device 1-1
# 4. A mass-storage device has no serial port; the import it needed must be released.
expect_error 1 '2-1 .*no serial port we drive' --foreground --device 2-1
mock_wait_state 2-1 free
# 5. One bad device among good ones fails the whole start and releases the good one.
expect_error 1 'has no device 9-9' --foreground --device 1-1 --device 9-9
mock_wait_state 1-1 free
# 6. Usage errors: status 2.
expect_error 2 'at least one --device' --foreground
expect_error 2 'exactly one %u' --foreground --device 1-1 --name 'tty/%u'

# 7. Detaching mode: the parent returns 0 only once the node exists, the daemon keeps running.
"$USBIP_CUSE" --device 1-1 >"$SYSTEST_OUT/detach.out" 2>"$SYSTEST_OUT/detach.err" </dev/null
rc=$?
[ "$rc" = 0 ] || fail "usbip-cuse --device 1-1 (detaching) exited $rc: $(cat \
	"$SYSTEST_OUT/detach.err")"
[ -c /dev/ttyUSBIP0 ] || fail "detaching usbip-cuse returned 0 before /dev/ttyUSBIP0 existed"
# (pgrep only lists: one exec instead of a readlink per /proc entry, slow under TCG)
pid=$(pgrep -x usbip-cuse)
case $pid in *[!0-9]*) fail "more than one usbip-cuse process: $(echo $pid)" ;; esac
[ -n "$pid" ] || fail "no usbip-cuse process left running after it detached"
bg_track "$pid"
log "detached daemon pid $pid (session $(cut -d' ' -f6 "/proc/$pid/stat"))"
[ "$(cut -d' ' -f6 "/proc/$pid/stat")" = "$pid" ] || fail "detached daemon is not a session leader"
mock_expect imported state 1-1
# The node works: stty reaches the device.
stty -F /dev/ttyUSBIP0 57600 cs8 -parenb -cstopb || fail "stty on the detached daemon's node"
mock_expect "57600 8 N 1" linecoding 1-1
kill -TERM "$pid"
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "detached daemon alive 10 s after SIGTERM"
wait_for 5 sh -c '! test -e /dev/ttyUSBIP0' || fail "/dev/ttyUSBIP0 left after SIGTERM"
mock_wait_state 1-1 free
log "detached daemon stopped by SIGTERM, node removed, 1-1 free"
systest_done
