#!/bin/sh
# System test (guest side, run by vm-run): termios round trips through the usbip-cuse node with
# stty, each checked both ways: the node reports what was set (`stty -a`), and the mock USBIP
# server recorded the matching CDC SET_LINE_CODING / SET_CONTROL_LINE_STATE on the wire.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init

DEV=/dev/ttyUSBIP0
start_mock_server
start_daemon --device 1-1
[ "$DAEMON_NODES" = "$DEV " ] || fail "expected exactly $DEV, daemon announced '$DAEMON_NODES'"
mock_expect imported state 1-1

mock_lines_are() {
	[ "$(mock_ctl lines 1-1)" = "$1" ]
}

# stty_flags: the node's settings, one token per line (speed as a bare number).
stty_flags() {
	stty -F "$DEV" -a | tr ' ;' '\n\n'
}

# The daemon sets the device up with the node's initial termios (9600 8N1, as Linux cdc-acm).
init_speed=$(stty -F "$DEV" speed) || fail "stty speed on $DEV failed"
mock_expect "$init_speed 8 N 1" linecoding 1-1

# --- first open raises DTR|RTS; last close drops them (HUPCL is on by default) ---
mock_ctl clear 1-1 >/dev/null || fail "mock clear failed"
exec 3<>"$DEV" || fail "cannot open $DEV"
wait_for 5 mock_lines_are "0x3" || check_fail "first open: lines '$(mock_ctl lines 1-1)'," \
	"want '0x3' (DTR|RTS raised)"
log "first open raised DTR|RTS"
# From here fd 3 keeps the node open: no `stty -F` below is a last close (no HUPCL drop).

# check_stty CODING SETTING...: `stty -F DEV SETTING...` must succeed, `stty -a` must then show
# every SETTING (speeds as "speed N baud"; raw/-raw by their icanon/opost effects), and the mock
# must have recorded CODING ("RATE DATABITS PARITY STOPBITS") as the last line coding.
check_stty() {
	_coding=$1
	shift
	if ! stty -F "$DEV" "$@" 2>"$SYSTEST_OUT/stty.err"; then
		check_fail "stty -F $DEV $*: $(cat "$SYSTEST_OUT/stty.err")"
		return 1
	fi
	_flags=$(stty_flags) || {
		check_fail "stty -a after '$*' failed"
		return 1
	}
	for _s in "$@"; do
		case $_s in
		raw) _want="-icanon -isig -opost -icrnl -ixon" ;;
		-raw) _want="icanon isig opost icrnl ixon" ;;
		*) _want=$_s ;;
		esac
		for _w in $_want; do
			echo "$_flags" | grep -qx -- "$_w" ||
				check_fail "after 'stty $*': stty -a does not show $_w"
		done
	done
	mock_expect "$_coding" linecoding 1-1 && log "stty $* -> node and mock agree: $_coding"
}

stty -F "$DEV" -a >"$SYSTEST_OUT/stty-a.txt" 2>&1 || check_fail "stty -a failed: $(cat \
	"$SYSTEST_OUT/stty-a.txt")"

# Speeds (8N1). The first one differs from the initial 9600: the records were just cleared.
check_stty "115200 8 N 1" 115200 cs8 -parenb -cstopb
check_stty "9600 8 N 1" 9600
check_stty "230400 8 N 1" 230400
check_stty "921600 8 N 1" 921600
# Character sizes, parity, stop bits (CSTOPB is "2" whatever the size, as Linux cdc-acm sends).
check_stty "921600 7 E 1" cs7 parenb -parodd
check_stty "921600 6 O 1" cs6 parenb parodd
check_stty "921600 5 N 2" cs5 -parenb cstopb
check_stty "9600 8 N 1" 9600 cs8 -cstopb
# Stick parity: PARENB|CMSPAR|PARODD is mark, PARENB|CMSPAR space.
if stty --help 2>&1 | grep -q cmspar; then
	check_stty "9600 8 M 1" parenb parodd cmspar
	check_stty "9600 8 S 1" parenb -parodd cmspar
	check_stty "9600 8 N 1" -parenb -cmspar
else
	log "NOTE: this stty does not know cmspar; mark/space parity not checked"
fi
# Flags that only live in the termios: stored and reported, line coding unchanged.
check_stty "9600 8 N 1" crtscts
check_stty "9600 8 N 1" -crtscts
check_stty "9600 8 N 1" raw
check_stty "9600 8 N 1" -raw
check_stty "9600 8 N 1" -echo
check_stty "9600 8 N 1" echo -icrnl
stty -F "$DEV" -a >"$SYSTEST_OUT/stty-a.txt" 2>&1 || check_fail "final stty -a failed: $(cat \
	"$SYSTEST_OUT/stty-a.txt")"
log "stty -a: $(head -n 1 "$SYSTEST_OUT/stty-a.txt")"

# --- B0 hangs up: DTR and RTS drop; a real rate raises them again ---
# Like Linux cdc-acm, every open (not only the first) raises DTR|RTS unless the speed is B0,
# so each `stty -F` adds a 0x3 of its own.
mock_ctl clear 1-1 >/dev/null || fail "mock clear failed"
# GNU stty 9.1 reports "unable to perform all requested operations" for `stty 0` even on a pty
# (its read-back of the input speed differs), so its status is not the criterion: stty -a is.
stty -F "$DEV" 0 2>"$SYSTEST_OUT/stty.err" || log "stty 0: $(cat "$SYSTEST_OUT/stty.err")"
[ "$(stty -F "$DEV" speed)" = 0 ] || check_fail "speed is not 0 after 'stty 0'"
# open (raise), B0 (drop); the open of `stty speed` at B0 must not raise
wait_for 5 mock_lines_are "0x3 0x0" || check_fail "after stty 0: lines" \
	"'$(mock_ctl lines 1-1)', want '0x3 0x0' (open raises, B0 drops DTR and RTS)"
stty -F "$DEV" 9600 || check_fail "stty 9600 after B0 failed"
# open at B0 (no raise), 9600 (raise)
wait_for 5 mock_lines_are "0x3 0x0 0x3" || check_fail "after stty 0 then 9600: lines" \
	"'$(mock_ctl lines 1-1)', want '0x3 0x0 0x3' (raised again by the rate)"
# B0 is no line rate: nothing with rate 0 may reach the device (Linux cdc-acm keeps the old
# rate, so 9600 -> B0 -> 9600 sends no SET_LINE_CODING at all; resending 9600 is harmless).
lc=$(mock_ctl linecoding 1-1 2>/dev/null)
case $lc in
'' | "9600 8 N 1") log "B0 dropped DTR|RTS, 9600 raised them; line coding '${lc:-unchanged}'" ;;
*) check_fail "after stty 0 and 9600 the device got line coding '$lc'" ;;
esac

# --- last close with HUPCL drops DTR|RTS; with -hupcl it keeps them ---
mock_ctl clear 1-1 >/dev/null
stty -F "$DEV" hupcl || check_fail "stty hupcl failed"
exec 3>&-
wait_for 5 mock_lines_are "0x3 0x0" || check_fail "stty hupcl, then last close: lines" \
	"'$(mock_ctl lines 1-1)', want '0x3 0x0' (open raises, last close drops)"
mock_ctl clear 1-1 >/dev/null
exec 3<>"$DEV" || fail "cannot reopen $DEV"
stty -F "$DEV" -hupcl || check_fail "stty -hupcl failed"
exec 3>&-
sleep 1 # nothing may arrive: give a wrong drop the time to show
mock_lines_are "0x3 0x3" || check_fail "open, stty -hupcl, last close: lines" \
	"'$(mock_ctl lines 1-1)', want '0x3 0x3' (raised by each open, not dropped on close)"
# The settings survive the last close (termios belongs to the port, as on a kernel tty).
stty_flags | grep -qx -- -hupcl || check_fail "-hupcl lost across close/open"

stop_daemon
mock_wait_state 1-1 free
systest_done
