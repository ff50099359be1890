#!/bin/sh
# System test (guest side, run by vm-run): usbip-cuse with several devices at once, and its
# nodes surviving the loss of the server (killed and restarted), of a device (unplug/replug)
# and of a connection (drop); then a clean SIGTERM. Against the mock USBIP server.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init

N=65536 # bytes per loopback
start_mock_server
# 1-1 has one ACM function, 1-4 two: three nodes. A short backoff keeps the test short.
start_daemon --device 1-1 --device 1-4 --backoff-max 1000
want_nodes="/dev/ttyUSBIP0 /dev/ttyUSBIP1 /dev/ttyUSBIP2 "
[ "$DAEMON_NODES" = "$want_nodes" ] || fail "nodes '$DAEMON_NODES', want '$want_nodes'"
mock_expect imported state 1-1
mock_expect imported state 1-4

# loop NODE: 64 KiB through NODE and the mock's echo, byte-exact (check_fail otherwise).
loop() {
	(tty_loopback "$1" "$N" 60) || check_fail "loopback through $1 after: $2"
}
for n in $DAEMON_NODES; do
	loop "$n" "start"
done
# The two functions of 1-4 are separate: data sent to one must not come out of the other.
exec 4<>/dev/ttyUSBIP2
stty raw -echo <&4
tty_loopback /dev/ttyUSBIP1 4096 30
timeout 1 head -c 1 <&4 >"$SYSTEST_OUT/leak.bin"
[ -s "$SYSTEST_OUT/leak.bin" ] && check_fail "data for ttyUSBIP1 came out of ttyUSBIP2"
exec 4>&-

# hold_open: fd 5 on ttyUSBIP0, raw, across the next loss.
hold_open() {
	exec 5<>/dev/ttyUSBIP0 || fail "cannot open /dev/ttyUSBIP0"
	stty raw -echo <&5 || fail "stty raw on /dev/ttyUSBIP0"
}

# check_hung_up WHAT: the file open across a loss is hung up as a real tty is: a read returns
# EOF (0) at once, or a write fails with EIO. Then close it.
check_hung_up() {
	timeout 10 dd bs=1 count=1 status=none <&5 >"$SYSTEST_OUT/hup.bin" 2>"$SYSTEST_OUT/hup.err"
	_r=$?
	printf x 2>"$SYSTEST_OUT/hupw.err" >&5
	_w=$?
	log "$1: read on the old fd: status $_r, $(wc -c <"$SYSTEST_OUT/hup.bin") bytes" \
		"$(cat "$SYSTEST_OUT/hup.err"); write: status $_w $(cat "$SYSTEST_OUT/hupw.err")"
	if [ "$_r" = 0 ] && [ ! -s "$SYSTEST_OUT/hup.bin" ]; then
		:
	elif [ "$_w" != 0 ] && grep -q 'I/O error' "$SYSTEST_OUT/hupw.err"; then
		:
	else
		check_fail "$1: the fd open across the loss got neither EOF nor EIO" \
			"(read status $_r, write status $_w)"
	fi
	exec 5>&-
}

nodes_exist() {
	for _n in $want_nodes; do
		[ -c "$_n" ] || return 1
	done
}

# --- the server dies and comes back ---
stty -F /dev/ttyUSBIP0 57600 || check_fail "stty 57600"
hold_open
stop_mock_server KILL
sleep 1
nodes_exist || check_fail "nodes gone while the server is down: $(ls /dev/ttyUSBIP* 2>&1)"
check_hung_up "server killed"
# A new open while the server is away works (a read would wait for the device).
timeout 10 sh -c 'exec 6<>/dev/ttyUSBIP0' || check_fail "open while the server is down failed"
kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon died with the server"
start_mock_server
mock_wait_state 1-1 imported 30
mock_wait_state 1-4 imported 30
log "daemon re-imported 1-1 and 1-4 from the restarted server"
# The restarted server's device is fresh: the daemon must have set it up again with the
# node's termios.
mock_expect "57600 8 N 1" linecoding 1-1
for n in $want_nodes; do
	loop "$n" "server restart"
done

# --- one device unplugged and plugged back; the other device is not disturbed ---
hold_open
mock_ctl unplug 1-1 >/dev/null || fail "mock unplug failed"
mock_wait_state 1-1 unplugged
sleep 1
nodes_exist || check_fail "nodes gone while 1-1 is unplugged: $(ls /dev/ttyUSBIP* 2>&1)"
check_hung_up "1-1 unplugged"
loop /dev/ttyUSBIP2 "1-1 unplugged (1-4 must be unaffected)"
mock_expect imported state 1-4
mock_ctl replug 1-1 >/dev/null || fail "mock replug failed"
mock_wait_state 1-1 imported 30
loop /dev/ttyUSBIP0 "replug"

# --- a dropped connection ---
mock_ctl drop 1-4 >/dev/null || fail "mock drop failed"
sleep 0.5
mock_wait_state 1-4 imported 30
loop /dev/ttyUSBIP1 "drop"
loop /dev/ttyUSBIP2 "drop"

# --- SIGTERM: exit 0, nodes gone, no process left, devices released ---
stop_daemon 15
left=$(pgrep -x usbip-cuse)
[ -z "$left" ] || check_fail "usbip-cuse processes left after SIGTERM: $(echo $left)"
mock_wait_state 1-1 free
mock_wait_state 1-4 free
log "after SIGTERM: 1-1 and 1-4 free"
systest_done
