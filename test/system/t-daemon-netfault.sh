#!/bin/sh
# System test (guest side, run by vm-run): network faults between the daemon and the server.
# The mock server lives in its own network namespace behind a veth pair (10.99.0.2); the daemon
# reaches it over veth0 (10.99.0.1).  While a loopback of BYTES (argument; default 8 MiB)
# streams through /dev/ttyUSBIP0, the path gets tc netem delay, loss and reordering, a short
# `ip link set down` cut (TCP rides it out), an iptables DROP black hole (the daemon must notice
# the dead path within its keepalive / TCP user-timeout bound, then reconnect when it returns)
# and a server restart.  What comes back must be the stream with bytes left out (reported),
# never duplicated, reordered or invented (test/hostile/stream_check.c).
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
STREAM_CHECK=$BUILD/test/hostile/stream-check
[ -x "$STREAM_CHECK" ] || skip "stream-check not built"
command -v iptables >/dev/null || skip "iptables is not installed (tools/bootstrap)"
systest_init

# The stream size: the first argument, else 8 MiB so that the suite stays short under TCG and
# ASan; the full 64 MiB run:
#   test/system/vm-run --build-dir build --timeout 1500 test/system/t-daemon-netfault.sh 67108864
# Each fault starts when a further fifth of the stream has come back, so that the stream spans
# them all whatever the speed.
BYTES=${1:-8388608}
# The bound for noticing a dead path: TCP_USER_TIMEOUT 20 s with data in flight, keepalive
# 10 s + 5 x 2 s when idle (include/usbip_conn.h), plus scheduling slack under TCG.
DEAD_BOUND=35

load_modules veth sch_netem nf_tables
ip netns add srv || fail "ip netns add"
ip link add veth0 type veth peer name veth1 || fail "ip link add veth"
ip link set veth1 netns srv
ip addr add 10.99.0.1/24 dev veth0
ip link set veth0 up
ip netns exec srv ip addr add 10.99.0.2/24 dev veth1
ip netns exec srv ip link set veth1 up
ip netns exec srv ip link set lo up

MOCK_N=0
start_srv_mock() {
	MOCK_N=$((MOCK_N + 1))
	_log=$SYSTEST_OUT/mock-srv.$MOCK_N.log
	ip netns exec srv "$MOCK_SERVER" --dir "$SRC/test/lsusb" --port 3240 --listen 10.99.0.2 \
		--verbose >"$_log" 2>&1 &
	SRV_PID=$!
	bg_track $SRV_PID "$_log"
	wait_for 30 ip netns exec srv sh -c "cat /proc/net/tcp | grep -q ':0CA8 .* 0A '" ||
		fail "mock in netns srv does not listen"
	log "mock server $SRV_PID in netns srv on 10.99.0.2:3240"
}

attached() {
	grep -c 'attached, [0-9]' "$DAEMON_LOG"
}
lost() {
	grep -c 'link lost' "$DAEMON_LOG"
}

start_srv_mock
start_daemon --server 10.99.0.2 --device 1-1 --backoff-max 2000 --keep-open-on-reset
NODE=/dev/ttyUSBIP0

# The loopback: a writer and a reader on one raw descriptor, in the background.
RX=/tmp/systest/netfault-rx.bin
rm -f "$RX"
exec 3<>"$NODE" || fail "cannot open $NODE"
stty raw -echo <&3 || fail "stty raw"
cat <&3 >"$RX" &
reader=$!
bg_track $reader
"$STREAM_CHECK" gen "$BYTES" >&3 &
writer=$!
bg_track $writer
t0=$(date +%s)
FAULTS=

rx_bytes() {
	stat -c %s "$RX"
}

# at_fifth K: wait until K fifths of the stream came back (a fault then hits mid-stream).
at_fifth() {
	wait_for $((BYTES / 65536 + 120)) sh -c "[ \$(stat -c %s '$RX') -ge $((BYTES / 5 * $1)) ]" ||
		check_fail "the stream stalled before $1/5 ($(rx_bytes) bytes back)"
}

# 1. delay, loss and reordering on both ends of the path (TCP repairs them)
at_fifth 1
tc qdisc add dev veth0 root netem delay 20ms 10ms loss 2% reorder 25% 50% ||
	fail "tc netem (sch_netem)"
ip netns exec srv tc qdisc add dev veth1 root netem delay 20ms loss 2% duplicate 1%
sleep 6
tc qdisc del dev veth0 root
ip netns exec srv tc qdisc del dev veth1 root
FAULTS="$FAULTS netem(delay,loss,reorder,duplicate 6s)"
log "after netem: $(rx_bytes) bytes back, $(lost) link losses"

# 2. a short cut: the link goes down for 3 s and comes back before any timeout
at_fifth 2
ip link set veth0 down
sleep 3
ip link set veth0 up
FAULTS="$FAULTS link-down(3s)"
log "after a 3 s cut: $(rx_bytes) bytes back, $(lost) link losses"

# 3. a black hole: every packet dropped; the daemon must declare the path dead
at_fifth 3
lost0=$(lost)
att0=$(attached)
iptables -I OUTPUT -d 10.99.0.2 -j DROP || fail "iptables (nf_tables)"
iptables -I INPUT -s 10.99.0.2 -j DROP
uptime_ds
hole0=$_UPTIME_DS
if wait_for "$DEAD_BOUND" sh -c "[ \$(grep -c 'link lost' '$DAEMON_LOG') -gt $lost0 ]"; then
	uptime_ds
	log "black hole noticed after $(((_UPTIME_DS - hole0) / 10)).$(((_UPTIME_DS - hole0) % 10)) s:" \
		"$(grep 'link lost' "$DAEMON_LOG" | tail -1)"
else
	check_fail "the daemon did not notice a black-holed path within $DEAD_BOUND s"
fi
iptables -D OUTPUT -d 10.99.0.2 -j DROP
iptables -D INPUT -s 10.99.0.2 -j DROP
# The server may still hold the old import (DEV_BUSY) until its own TCP notices the dead
# connection: the mock has no keepalive, so when it has nothing queued for us it never does.
# The server restart below ends that too.
if wait_for 45 sh -c "[ \$(grep -c 'attached, [0-9]' '$DAEMON_LOG') -gt $att0 ]"; then
	log "reconnected after the black hole"
	at_fifth 4
else
	log "the server still holds the old import after 45 s ($(grep 'reconnect attempt' \
		"$DAEMON_LOG" | tail -1 | sed 's/.*failed: //')): its restart ends it"
fi
FAULTS="$FAULTS blackhole"
log "after the black hole: $(rx_bytes) bytes back"

# 4. the server restarts
att0=$(attached)
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
sleep 1
start_srv_mock
wait_for 60 sh -c "[ \$(grep -c 'attached, [0-9]' '$DAEMON_LOG') -gt $att0 ]" ||
	check_fail "no reconnect after the server restart"
FAULTS="$FAULTS server-restart"

# The writer finishes; the reader stops once nothing more arrives for 5 s.
wait_for $((BYTES / 65536 + 120)) sh -c "! kill -0 $writer 2>/dev/null" ||
	check_fail "the writer did not finish"
last=-1
while [ "$(rx_bytes)" != "$last" ]; do
	last=$(rx_bytes)
	sleep 5
done
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
exec 3>&-
t1=$(date +%s)
result=$("$STREAM_CHECK" verify "$BYTES" "$RX" 2>&1) || check_fail "stream: $result"
log "stream of $BYTES bytes across:$FAULTS in $((t1 - t0)) s: $result"
echo "bytes=$BYTES faults=$FAULTS seconds=$((t1 - t0)) link_losses=$(lost) $result" \
	>"$SYSTEST_OUT/netfault.txt"
grep -E 'link lost|written bytes were lost|attached' "$DAEMON_LOG" | sed 's/^/    /' >&2
kill -0 "$DAEMON_PID" || fail "the daemon died"
stop_daemon
systest_done
