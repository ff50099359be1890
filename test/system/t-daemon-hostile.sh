#!/bin/sh
# System test (guest side, run by vm-run): the daemon's node against the hostile USBIP server
# (issue 10): server statuses the kernel's fuse device would refuse give the caller an error,
# never a hang; control characters from the device stay out of the log; bad pointers, 0-byte
# writes, huge reads and odd open flags get clear answers; only CAP_SYS_ADMIN in the initial
# user namespace overrides TIOCEXCL or changes closing_wait / termios locks (`unshare -r` does
# not); 300 blocked 128 KiB reads do not grow the daemon by their size; a hung-up file reads
# EOF and fails writes with EIO; the daemon leaves with every unlink answered.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
systest_init

EDGES="python3 $SRC/test/system/tty_edges.py"
NODE=/dev/ttyUSBIP0

# edges CMD ARGS...: run a tty_edges.py check, its lines in the log; check_fail on failure.
edges() {
	$EDGES "$@" >"$SYSTEST_OUT/edges.out" 2>&1
	_rc=$?
	sed 's/^/    /' "$SYSTEST_OUT/edges.out" >&2
	[ "$_rc" = 0 ] || check_fail "tty_edges.py $* (see the lines above)"
}

attached_count() {
	grep -c 'attached, [0-9]' "$DAEMON_LOG"
}

wait_attached() {
	wait_for 60 sh -c "[ \$(grep -c 'attached, [0-9]' '$DAEMON_LOG') -ge $1 ]" ||
		fail "the daemon did not attach a ${1}th time"
}

# --- 1. statuses from the wire: -600, INT32_MIN; strings with control characters ------------
start_hostile_server ctrl-status=-600 evil-strings
start_daemon --device 1-1 --backoff-max 1000
log "SET_LINE_CODING / SET_CONTROL_LINE_STATE / SEND_BREAK answered with status -600"
edges ctrl-error "$NODE"
if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$DAEMON_LOG"; then
	check_fail "the daemon log holds raw control characters from the device's strings"
fi
stop_hostile_server KILL
start_hostile_server ctrl-status=-2147483648 evil-strings # the same serial: the same device
wait_attached 2
log "now answered with status INT32_MIN"
edges ctrl-error "$NODE"
kill -0 "$DAEMON_PID" || fail "the daemon died"
stop_daemon
stop_hostile_server

# --- 2. a well-behaved server: edges of the node ---------------------------------------------
start_hostile_server
start_daemon --device 1-1 --backoff-max 1000
edges edges "$NODE"

# --- 3. the admin check ---------------------------------------------------------------------
chmod 666 "$NODE"
# as_nobody_userns CMD...: CMD as uid 65534 inside its own user namespace (`unshare -r`: a
# full CapEff there).  The kernel refuses CLONE_NEWUSER to a chrooted task, and vm-run runs us
# chrooted into /newroot: take the root of PID 1 (the guest's init, not chrooted), create the
# namespace from there and chroot back into /newroot inside it (unshare --root).  Outside
# /newroot the host's programs need their loader and libraries named.
# The initramfs root may be 0700 (a mktemp directory packed by cpio): let uid 65534 through.
nsenter --target 1 --root -- /bin/busybox chmod 755 / || log "cannot chmod the initramfs root"
as_nobody_userns() {
	_ld=/newroot/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
	_lp=/newroot/usr/lib/x86_64-linux-gnu
	nsenter --target 1 --root -- "$_ld" --library-path "$_lp" /newroot/usr/bin/setpriv \
		--reuid=65534 --regid=65534 --clear-groups "$_ld" --library-path "$_lp" \
		/newroot/usr/bin/unshare -r --root=/newroot --wd="$PWD" "$@"
}
$EDGES excl-hold "$NODE" 30 >"$SYSTEST_OUT/excl.out" 2>&1 &
holder=$!
bg_track $holder
wait_for 15 grep -q held "$SYSTEST_OUT/excl.out" || fail "TIOCEXCL holder did not start"
if as_nobody_userns true 2>"$SYSTEST_OUT/unshare.err"; then
	log "uid 65534 in its own user namespace: $(as_nobody_userns sh -c \
		'echo uid $(id -u), $(grep CapEff /proc/self/status)')"
	edges_nobody() {
		as_nobody_userns $EDGES "$@" >"$SYSTEST_OUT/edges.out" 2>&1
		_rc=$?
		sed 's/^/    /' "$SYSTEST_OUT/edges.out" >&2
		[ "$_rc" = 0 ] || check_fail "unshare -r tty_edges.py $* (see the lines above)"
	}
	edges_nobody open-refused "$NODE"
else
	check_fail "unshare -r as uid 65534 does not work here: $(cat "$SYSTEST_OUT/unshare.err")"
	edges_nobody() { :; }
fi
log "root in the initial user namespace:"
edges open-allowed "$NODE"
kill "$holder"
wait "$holder" 2>/dev/null
edges_nobody ioctls-refused "$NODE"
edges ioctls-allowed "$NODE"

# --- 4. memory held by blocked reads ---------------------------------------------------------
rss0=$(daemon_rss_kb)
data0=$(daemon_data_kb)
rm -f /tmp/systest/hold
mkfifo /tmp/systest/hold
$EDGES block-reads "$NODE" 300 131072 </tmp/systest/hold >"$SYSTEST_OUT/block.out" 2>&1 &
reader=$!
bg_track $reader
exec 6>/tmp/systest/hold
wait_for 60 grep -q blocked "$SYSTEST_OUT/block.out" || fail "300 readers did not start"
sleep 2
rss1=$(daemon_rss_kb)
data1=$(daemon_data_kb)
exec 6>&-
wait "$reader" 2>/dev/null
sleep 1
rss2=$(daemon_rss_kb)
data2=$(daemon_data_kb)
# Untouched malloc memory hardly shows in VmRSS (glibc mmaps 128 KiB blocks lazily): VmData
# counts what was handed out.  300 buffers of 128 KiB would be 38400 kB.
log "daemon VmData/VmRSS: idle $data0/$rss0 kB; 300 blocked 128 KiB reads $data1/$rss1 kB" \
	"(+$((data1 - data0))/+$((rss1 - rss0)) kB); after they left $data2/$rss2 kB"
echo "idle data=$data0 rss=$rss0; 300 blocked reads data=$data1 rss=$rss1;" \
	"after data=$data2 rss=$rss2 (kB)" >"$SYSTEST_OUT/memory.txt"
[ $((data1 - data0)) -lt 12288 ] ||
	check_fail "300 blocked reads took $((data1 - data0)) kB of daemon memory"
[ $((rss2 - rss0)) -lt 12288 ] ||
	check_fail "the daemon kept $((rss2 - rss0)) kB after 300 blocked reads left"
kill -0 "$DAEMON_PID" || fail "the daemon died"

# --- 5. a file open across a link loss is hung up --------------------------------------------
exec 5<>"$NODE"
stty raw -echo <&5
stop_hostile_server KILL
wait_for 60 grep -q 'link lost' "$DAEMON_LOG" || fail "the daemon did not notice the loss"
edges hung-up 5
exec 5>&-
start_hostile_server
wait_attached 2
(tty_loopback "$NODE" 65536 60) || check_fail "loopback after the server came back"

# --- 6. leaving: every unlink answered before the close --------------------------------------
stop_daemon
sleep 0.5
stop_hostile_server
log "server: $(tr '\n' ' ' <"$HOSTILE_STATS")"
[ "$(hostile_stat unlinks_lost)" = 0 ] || check_fail "the daemon closed before the unlink answers"
[ "$(hostile_stat closed_busy)" = 0 ] || check_fail "the daemon closed with URBs outstanding"
systest_done
