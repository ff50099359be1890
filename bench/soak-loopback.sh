#!/bin/sh
# Soak benchmark (guest side; not a CI test): 8 usbip-cuse nodes looping back at once for
# SECONDS (default 600), the daemons' RSS and open fds sampled every 10 s.  Prints one line per
# sample and a summary; the figures are for reading, nothing is asserted but byte-exact loops.
#
#   test/system/vm-run --build-dir build --timeout 900 bench/soak-loopback.sh [SECONDS]
#
# Nodes: the mock on 127.0.0.1 gives 6 (1-1, 1-2, 1-3, 1-4 x2, 1-5; its 99-99 refuses imports
# on purpose), two hostile servers (well-behaved mode) on 127.0.0.2 and .3 one each; one daemon
# per server.
. "$SRC/test/system/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init
SECONDS_TOTAL=${1:-600}
CHUNK=262144

start_mock_server
start_daemon --device 1-1 --device 1-2 --device 1-3 --device 1-4 --device 1-5
PID_A=$DAEMON_PID
NODES_A=$DAEMON_NODES
for i in 2 3; do
	HOSTILE_LISTEN=127.0.0.$i
	start_hostile_server
	DAEMON_PID=
	start_daemon --server 127.0.0.$i --device 1-1 --name ttySOAK${i}x%u
	eval PID_$i=\$DAEMON_PID
	eval NODES_$i=\"\$DAEMON_NODES\"
done
NODES="$NODES_A $NODES_2 $NODES_3"
log "nodes: $NODES"

# loop_once NODE DIR: one CHUNK loopback through NODE (files in DIR), byte-exact or 1.
loop_once() {
	head -c "$CHUNK" /dev/urandom >"$2/tx"
	exec 3<>"$1" || return 1
	stty raw -echo <&3 || return 1
	timeout 120 head -c "$CHUNK" <&3 >"$2/rx" &
	_r=$!
	timeout 120 cat "$2/tx" >&3
	_w=$?
	wait "$_r"
	_rr=$?
	exec 3>&-
	[ "$_w" = 0 ] && [ "$_rr" = 0 ] && cmp -s "$2/tx" "$2/rx"
}

# loop_node NODE: loopbacks back to back until the deadline; counts good and bad ones.
uptime_ds
END=$((_UPTIME_DS + SECONDS_TOTAL * 10))
loop_node() {
	_dir=/tmp/systest/soak-$(basename "$1").d
	mkdir -p "$_dir"
	_ok=0
	_bad=0
	while :; do
		uptime_ds
		[ "$_UPTIME_DS" -ge "$END" ] && break
		if loop_once "$1" "$_dir"; then
			_ok=$((_ok + 1))
		else
			_bad=$((_bad + 1))
		fi
		echo "$_ok $_bad" >"/tmp/systest/soak-$(basename "$1")"
	done
}
for n in $NODES; do
	loop_node "$n" &
	bg_track $!
done

sample() {
	_t=$1
	_line="t=${_t}s"
	for _p in $PID_A $PID_2 $PID_3; do
		_rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$_p/status")
		_fds=$(ls "/proc/$_p/fd" | wc -l)
		_line="$_line pid$_p rss=${_rss}kB fds=$_fds"
	done
	_rounds=0
	for n in $NODES; do
		_f=/tmp/systest/soak-$(basename "$n")
		[ -s "$_f" ] && _rounds=$((_rounds + $(cut -d' ' -f1 "$_f")))
	done
	echo "$_line loops=$_rounds" | tee -a "$SYSTEST_OUT/soak.txt" >&2
}

# Samples on the guest's clock (commands are slow under TCG: a fixed sleep would drift).
uptime_ds
T0=$_UPTIME_DS
next=$T0
while :; do
	uptime_ds
	[ "$_UPTIME_DS" -ge "$next" ] || {
		sleep 1
		continue
	}
	sample $(((_UPTIME_DS - T0) / 10))
	[ "$_UPTIME_DS" -ge "$END" ] && break
	next=$((next + 100))
done
wait_for 180 sh -c "! pgrep -f 'head -c $CHUNK' >/dev/null" || log "loops still running"
sleep 2
total_ok=0
total_bad=0
for n in $NODES; do
	read -r ok bad <"/tmp/systest/soak-$(basename "$n")"
	log "$n: $ok loops of $CHUNK bytes byte-exact, $bad failed"
	total_ok=$((total_ok + ok))
	total_bad=$((total_bad + bad))
done
log "soak: $SECONDS_TOTAL s, 8 nodes, $total_ok loopbacks ok, $total_bad failed" \
	"($((total_ok * CHUNK / 1048576)) MiB each way)"
[ "$total_bad" = 0 ] || check_fail "$total_bad loopbacks failed"
for d in "$PID_A:$NODES_A" "$PID_2:$NODES_2" "$PID_3:$NODES_3"; do
	DAEMON_PID=${d%%:*}
	DAEMON_NODES=${d#*:}
	stop_daemon
done
systest_done
