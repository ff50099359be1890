# lib.sh: fixtures for guest test scripts run by vm-run (POSIX sh, sourced, runs as root in the
# qemu guest chrooted into the host's read-only root).
#
# vm-run exports: BUILD (build dir), SRC (source dir), SYSTEST_OUT (writable artifact dir).
# Module auto-loading does not work in the chroot, so every module is loaded explicitly.
# Call systest_init first: it installs the cleanup trap that stops every background process
# started through these helpers.
#
# Functions print progress to stderr; functions whose result is a value (kernel_attach) print
# only that value on stdout.

: "${BUILD:?BUILD not set: run guest scripts through vm-run}"
: "${SRC:?SRC not set: run guest scripts through vm-run}"
: "${SYSTEST_OUT:=/tmp/systest-out}"
mkdir -p "$SYSTEST_OUT" /tmp/systest

SYSTEST_PIDS=
SYSTEST_LOGS=

log() {
	echo "[$(date +%T.%N | cut -c1-12)] $*" >&2
}

fail() {
	log "FAIL: $*"
	exit 1
}

skip() {
	log "SKIP: $*"
	exit 77
}

# check_fail MESSAGE: record a failed check and carry on (independent checks after it still
# run); systest_done then fails the test. Use fail for errors the rest cannot survive.
SYSTEST_FAILED_CHECKS=0
check_fail() {
	log "CHECK FAILED: $*"
	SYSTEST_FAILED_CHECKS=$((SYSTEST_FAILED_CHECKS + 1))
	echo "$*" >>"$SYSTEST_OUT/failed-checks.txt"
	return 1
}

# systest_done: end of a script: prints PASS, or lists the failed checks and exits 1.
systest_done() {
	if [ "$SYSTEST_FAILED_CHECKS" -gt 0 ]; then
		log "$SYSTEST_FAILED_CHECKS check(s) failed:"
		sed 's/^/    /' "$SYSTEST_OUT/failed-checks.txt" >&2
		exit 1
	fi
	echo "PASS"
	exit 0
}

# bg_track PID LOGFILE: remember a background process (killed by the cleanup trap) and its log
# (shown when the script fails).
bg_track() {
	SYSTEST_PIDS="$SYSTEST_PIDS $1"
	[ -n "${2:-}" ] && SYSTEST_LOGS="$SYSTEST_LOGS $2"
	return 0
}

systest_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	for pid in $SYSTEST_PIDS; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $SYSTEST_PIDS; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 20 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null
	done
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		for f in $SYSTEST_LOGS; do
			[ -s "$f" ] || continue
			echo "----- last 40 lines of $f -----" >&2
			tail -n 40 "$f" >&2
		done
		echo "----- kernel log (last 40 lines) -----" >&2
		dmesg | tail -n 40 >&2
	fi
	exit "$rc"
}

systest_init() {
	trap systest_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ip link set lo up || fail "cannot bring up lo"
}

# uptime_ds: sets _UPTIME_DS to the time since boot in tenths of a second, from /proc/uptime
# ("12345.67 ..."), with shell builtins only (no exec: cheap under TCG).
uptime_ds() {
	read -r _up _rest </proc/uptime
	_ds=${_up%.*}${_up#*.}
	_ds=${_ds%?}
	while :; do
		case $_ds in 0?*) _ds=${_ds#0} ;; *) break ;; esac
	done
	_UPTIME_DS=$_ds
}

# wait_for SECONDS CMD [ARGS...]: run CMD about every 0.1 s until it succeeds; 1 if it has not
# within SECONDS of wall time (a deadline, not a count: CMD itself may be slow under TCG).
wait_for() {
	uptime_ds
	_wf_end=$((_UPTIME_DS + $1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		uptime_ds
		[ "$_UPTIME_DS" -ge "$_wf_end" ] && return 1
		sleep 0.1
	done
	return 0
}

# tcp_listening PORT: true when a TCP socket listens on PORT (IPv4 or IPv6).
tcp_listening() {
	_hex=$(printf ':%04X' "$1")
	# /proc/net/tcp: "sl local_address rem_address st ..."; state 0A is LISTEN.
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$_hex" \
		'substr($2, length($2) - 4) == p && $4 == "0A" { found = 1 } END { exit !found }'
}

# load_modules M1 M2 ...: modprobe one by one, in the given order.
load_modules() {
	for _m in "$@"; do
		modprobe "$_m" || fail "modprobe $_m failed"
	done
}

# start_mock_server: our USBIP mock server on 127.0.0.1:3240 serving the lsusb fixtures of
# MOCK_DIR (default test/lsusb; test/lsusb-chips holds the FTDI/CP210x/CH34x/PL2303 parts), with
# its text control channel on MOCK_CTL (see mock_ctl). Exits 77 if the mock has not been built.
# Sets MOCK_PID. Can be called again after stop_mock_server (server restart tests).
MOCK_SERVER=$BUILD/tools/mock/usbip-mock-server
MOCK_PORT=3240
MOCK_CTL=/run/mock.ctl
MOCK_PID=
MOCK_STARTS=0
start_mock_server() {
	[ -x "$MOCK_SERVER" ] || skip "mock server not built ($MOCK_SERVER)"
	MOCK_STARTS=$((MOCK_STARTS + 1))
	# One log per start, so a restart does not overwrite the first run's log.
	_log=$SYSTEST_OUT/mock-server.log
	[ "$MOCK_STARTS" -gt 1 ] && _log=$SYSTEST_OUT/mock-server.$MOCK_STARTS.log
	"$MOCK_SERVER" --dir "${MOCK_DIR:-$SRC/test/lsusb}" --port "$MOCK_PORT" --listen 127.0.0.1 \
		--control "$MOCK_CTL" --verbose >"$_log" 2>&1 &
	MOCK_PID=$!
	bg_track $MOCK_PID "$_log"
	if ! wait_for 30 mock_up; then
		kill -0 "$MOCK_PID" 2>/dev/null || fail "mock server exited early (see $_log)"
		fail "mock server does not listen on port $MOCK_PORT and $MOCK_CTL after 30 s"
	fi
	log "mock server pid $MOCK_PID listening on 127.0.0.1:$MOCK_PORT, control $MOCK_CTL"
}

mock_up() {
	tcp_listening "$MOCK_PORT" && [ -S "$MOCK_CTL" ]
}

# stop_mock_server [SIGNAL]: kill the mock (default SIGKILL: a server that vanishes) and wait
# until its port is closed.
stop_mock_server() {
	[ -n "$MOCK_PID" ] || fail "stop_mock_server: no mock server running"
	kill -"${1:-KILL}" "$MOCK_PID" 2>/dev/null
	wait "$MOCK_PID" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $MOCK_PID" || fail "mock server $MOCK_PID does not exit"
	rm -f "$MOCK_CTL"
	log "mock server $MOCK_PID stopped (SIG${1:-KILL})"
	MOCK_PID=
}

# mock_ctl CMD [ARGS...]: send one command over the mock's control channel; prints the reply
# (one line, or the block without its final "ok"). Returns 1 when the reply is "error: ..."
# (the message goes to stderr) or the channel cannot be reached.
mock_ctl() {
	_reply=$(printf '%s\n' "$*" | socat -t 5 - "UNIX-CONNECT:$MOCK_CTL") || {
		log "mock_ctl $*: cannot talk to $MOCK_CTL"
		return 1
	}
	case $_reply in
	error:*)
		log "mock_ctl $*: $_reply"
		return 1
		;;
	esac
	# Block replies end with a line "ok"; a one-line "ok" (plain success) prints nothing.
	case $_reply in
	ok) return 0 ;;
	*"
ok") _reply=${_reply%"
ok"} ;;
	esac
	printf '%s\n' "$_reply"
}

# mock_expect WANT CMD [ARGS...]: check (check_fail, returns 1) that `mock_ctl CMD ARGS`
# prints exactly WANT.
mock_expect() {
	_want=$1
	shift
	_got=$(mock_ctl "$@") || {
		check_fail "mock_ctl $* failed (expected '$_want')"
		return 1
	}
	if [ "$_got" != "$_want" ]; then
		check_fail "mock_ctl $*: expected '$_want', got '$_got'"
		return 1
	fi
	log "mock: $* -> $_got"
}

# mock_wait_state BUSID STATE [SECONDS]: wait until the mock reports BUSID in STATE.
mock_wait_state() {
	wait_for "${3:-10}" mock_state_is "$1" "$2" ||
		fail "mock: $1 is '$(mock_ctl state "$1")' after ${3:-10} s, expected '$2'"
}

mock_state_is() {
	[ "$(mock_ctl state "$1")" = "$2" ]
}

# --- the usbip-cuse daemon ---------------------------------------------------------------------
USBIP_CUSE=$BUILD/src/usbip-cuse
DAEMON_PID=
DAEMON_LOG=
DAEMON_STARTS=0

# start_daemon ARGS...: run `usbip-cuse --foreground --verbose ARGS` in the background and wait
# until it logs "ready with N node(s)" (then prints nothing and returns 0) or exits (fails,
# showing its log). Loads cuse. Sets DAEMON_PID, DAEMON_LOG and DAEMON_NODES (the /dev paths of
# the nodes it announced).
start_daemon() {
	[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
	[ -z "$DAEMON_PID" ] || fail "start_daemon: daemon $DAEMON_PID still running"
	load_modules cuse
	DAEMON_STARTS=$((DAEMON_STARTS + 1))
	DAEMON_LOG=$SYSTEST_OUT/daemon.$DAEMON_STARTS.log
	"$USBIP_CUSE" --foreground --verbose "$@" >"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	bg_track $DAEMON_PID "$DAEMON_LOG"
	_i=0
	while ! grep -q 'ready with' "$DAEMON_LOG"; do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			wait "$DAEMON_PID"
			_rc=$?
			DAEMON_PID=
			cat "$DAEMON_LOG" >&2
			fail "usbip-cuse $* exited with status $_rc before it was ready"
		fi
		_i=$((_i + 1))
		[ $_i -ge 600 ] && fail "usbip-cuse $* not ready after 60 s (see $DAEMON_LOG)"
		sleep 0.1
	done
	# The daemon announces each node as "usbip-cuse-Message: TIME: /dev/NAME: SERVER BUSID ...".
	DAEMON_NODES=$(sed -n 's,^usbip-cuse-Message: [^ ]*: \(/dev/[^:]*\): .*$,\1,p' \
		"$DAEMON_LOG" | sort -u |
		tr '\n' ' ')
	for _n in $DAEMON_NODES; do
		[ -c "$_n" ] || fail "daemon announced $_n but it is not a character device"
	done
	log "usbip-cuse pid $DAEMON_PID ready: $(grep -o 'ready with.*' "$DAEMON_LOG"):" \
		"$DAEMON_NODES"
}

# stop_daemon [TIMEOUT]: SIGTERM the daemon, wait (default 10 s) for it to exit, and fail unless
# it exited with status 0 and every node it had announced is gone.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || fail "stop_daemon: no daemon running"
	_t=${1:-10}
	kill -TERM "$DAEMON_PID" 2>/dev/null || fail "daemon $DAEMON_PID already gone"
	if ! wait_for "$_t" sh -c "! kill -0 $DAEMON_PID 2>/dev/null || \
		grep -q '^State:.*Z' /proc/$DAEMON_PID/status"; then
		fail "usbip-cuse $DAEMON_PID still running ${_t} s after SIGTERM"
	fi
	wait "$DAEMON_PID"
	_rc=$?
	_pid=$DAEMON_PID
	DAEMON_PID=
	[ "$_rc" = 0 ] || fail "usbip-cuse $_pid exited with status $_rc after SIGTERM (want 0)"
	for _n in $DAEMON_NODES; do
		wait_for 5 sh -c "! test -e $_n" || fail "$_n still exists after the daemon exited"
	done
	log "usbip-cuse $_pid exited 0 after SIGTERM; nodes removed:$DAEMON_NODES"
}

# start_real_gadget_server: a real CDC-ACM device (g_serial on dummy_hcd, far end /dev/ttyGS0)
# exported by the kernel's usbip-host and usbipd as busid 1-1.
start_real_gadget_server() {
	load_modules dummy_hcd libcomposite u_serial usb_f_acm g_serial usbip-core usbip-host
	wait_for 30 test -e /sys/bus/usb/devices/1-1 || fail "gadget did not enumerate as 1-1"
	wait_for 10 test -c /dev/ttyGS0 || fail "no /dev/ttyGS0"
	# In the foreground (backgrounded here) rather than -D: usbipd then logs to stderr
	# instead of a syslog that does not exist in the guest, and its pid is known.
	_log=$SYSTEST_OUT/usbipd.log
	usbipd -4 -d >"$_log" 2>&1 &
	bg_track $! "$_log"
	wait_for 30 tcp_listening 3240 || fail "usbipd does not listen on 3240"
	usbip bind -b 1-1 >&2 || fail "usbip bind -b 1-1 failed"
	wait_for 10 usbip_busid_exported 1-1 || fail "1-1 not exported after bind"
	log "usbipd exports busid 1-1 ($(cat /sys/bus/usb/devices/1-1/idVendor):$(cat \
		/sys/bus/usb/devices/1-1/idProduct))"
}

usbip_busid_exported() {
	usbip list -r 127.0.0.1 2>/dev/null | grep -q " $1:"
}

# kernel_attach BUSID: attach BUSID from 127.0.0.1 with the kernel's vhci-hcd and cdc-acm;
# prints the new /dev/ttyACM* path.
kernel_attach() {
	load_modules vhci-hcd cdc-acm
	_before=$(ls /dev/ttyACM* 2>/dev/null | tr '\n' ' ')
	usbip attach -r 127.0.0.1 -b "$1" >&2 || fail "usbip attach -b $1 failed"
	_i=0
	while :; do
		for _d in /dev/ttyACM*; do
			[ -c "$_d" ] || continue
			case " $_before " in *" $_d "*) continue ;; esac
			log "kernel attached $1 as $_d"
			echo "$_d"
			return 0
		done
		_i=$((_i + 1))
		[ $_i -ge 600 ] && fail "no new /dev/ttyACM* 60 s after attaching $1"
		sleep 0.1
	done
}

# start_gs_loopback: echo every byte arriving on /dev/ttyGS0 back, unchanged.
# The termios is set on the descriptor cat then uses, so no close/reopen can reset it; raw
# clears ICRNL/OPOST/IXON/ICANON/ISIG so bytes pass unmodified, -echo stops the line
# discipline from echoing a second copy.
# When the USB host goes away (an importer detaches: usbip-host resets the device), g_serial
# hangs ttyGS0 up and cat ends; the loop then opens ttyGS0 again for the next host. Each
# (re)start logs a line "up" to GS_LOOPBACK_LOG once raw mode is in place.
GS_LOOPBACK_LOG=$SYSTEST_OUT/gs-loopback.log
start_gs_loopback() {
	[ -c /dev/ttyGS0 ] || fail "no /dev/ttyGS0"
	: >"$GS_LOOPBACK_LOG"
	sh -c 'trap "kill \$c 2>/dev/null; exit 0" TERM
		while :; do
			sh -c "exec 3<>/dev/ttyGS0 && stty raw -echo <&3 && echo up >&2 &&
				exec cat <&3 >&3" &
			c=$!
			wait $c
			sleep 0.1
		done' >>"$GS_LOOPBACK_LOG" 2>&1 &
	bg_track $! "$GS_LOOPBACK_LOG"
	# Wait until the raw mode is in place before anyone sends data.
	wait_for 10 gs_loopback_starts_reach 1 || fail "ttyGS0 loopback did not start"
	wait_for 10 gs_is_raw || fail "ttyGS0 loopback did not set raw mode"
	echo 1 >"$GS_SEEN_FILE"
	log "ttyGS0 loopback running"
}

gs_loopback_starts() {
	grep -c '^up$' "$GS_LOOPBACK_LOG"
}

gs_loopback_starts_reach() {
	[ "$(gs_loopback_starts)" -ge "$1" ]
}

gs_usbip_status_is() {
	[ "$(cat /sys/bus/usb/devices/1-1/usbip_status)" = "$1" ]
}

# The echo (re)starts accounted for so far, in a file so that helpers run in subshells (a
# pipeline feeding a client) update it too.
GS_SEEN_FILE=/tmp/systest/gs-starts-seen

# gs_settle_after_attach: call once an importer is attaching the gadget (1-1), before data
# flows: its SET_CONFIGURATION on an already configured gadget (usbip-host restores the
# configuration when it resets the device after the previous importer) makes g_serial hang
# ttyGS0 up; this waits for the echo to come back (up to 3 s: a gadget left unconfigured by
# `usbip bind` is not hung up).
gs_settle_after_attach() {
	wait_for 30 gs_usbip_status_is 2 || fail "1-1 not imported (usbip_status" \
		"$(cat /sys/bus/usb/devices/1-1/usbip_status))"
	_seen=$(cat "$GS_SEEN_FILE")
	if wait_for 3 gs_loopback_starts_reach $((_seen + 1)); then
		log "ttyGS0 echo reopened after the importer configured the gadget"
	fi
	gs_loopback_starts >"$GS_SEEN_FILE"
}

# gs_after_host_session: call after an importer of the gadget (1-1) detached: waits until
# usbip-host has released and reset the device, and the ttyGS0 echo has reopened the port
# after g_serial's hangup.
gs_after_host_session() {
	wait_for 15 gs_usbip_status_is 1 || fail "1-1 not available again (usbip_status" \
		"$(cat /sys/bus/usb/devices/1-1/usbip_status))"
	_seen=$(cat "$GS_SEEN_FILE")
	if wait_for 5 gs_loopback_starts_reach $((_seen + 1)); then
		log "ttyGS0 echo reopened after the host left"
	else
		log "NOTE: no ttyGS0 hangup seen after the host left; echo still running"
	fi
	gs_loopback_starts >"$GS_SEEN_FILE"
}

gs_is_raw() {
	_flags=$(stty -F /dev/ttyGS0 -a | tr ' ;' '\n\n')
	echo "$_flags" | grep -qx -- -icanon && echo "$_flags" | grep -qx -- -echo
}

# compare_files EXPECTED ACTUAL: byte-exact comparison; on mismatch prints sizes, hashes and
# the first differing byte, keeps both files in SYSTEST_OUT, and returns 1.
compare_files() {
	if cmp -s "$1" "$2"; then
		log "match: $(sha256sum <"$1" | cut -c1-16) ($(wc -c <"$1") bytes)"
		return 0
	fi
	log "MISMATCH: $1 ($(wc -c <"$1") bytes, sha256 $(sha256sum <"$1" | cut -c1-16))" \
		"vs $2 ($(wc -c <"$2") bytes, sha256 $(sha256sum <"$2" | cut -c1-16))"
	cmp "$1" "$2" >&2
	cp "$1" "$SYSTEST_OUT/expected.bin" 2>/dev/null
	cp "$2" "$SYSTEST_OUT/actual.bin" 2>/dev/null
	return 1
}

# tty_loopback DEV BYTES [TIMEOUT]: send BYTES random bytes to DEV while reading the echo back
# concurrently (a loopback must be running at the far end); fails unless everything comes back
# byte-exact within TIMEOUT seconds (default 120). Sets LOOPBACK_SECONDS and LOOPBACK_MBPS
# (payload MB/s, 1 MB = 10^6 bytes, each direction carries the payload once).
tty_loopback() {
	_dev=$1
	_n=$2
	_t=${3:-120}
	_tx=/tmp/systest/tx.bin
	_rx=/tmp/systest/rx.bin
	head -c "$_n" /dev/urandom >"$_tx" || fail "cannot create test data"
	rm -f "$_rx"
	# One read-write descriptor for both directions, put in raw mode before any byte flows:
	# in cooked mode the tty would echo the incoming bytes straight back to the far end.
	exec 3<>"$_dev" || fail "cannot open $_dev"
	stty raw -echo <&3 || fail "stty raw on $_dev failed"
	_t0=$(date +%s%N)
	timeout "$_t" head -c "$_n" <&3 >"$_rx" &
	_reader=$!
	timeout "$_t" cat "$_tx" >&3
	_wrc=$?
	wait "$_reader"
	_rrc=$?
	_t1=$(date +%s%N)
	exec 3>&-
	[ "$_wrc" = 0 ] || log "writer exit status $_wrc (124 = timeout)"
	[ "$_rrc" = 0 ] || log "reader exit status $_rrc (124 = timeout)"
	compare_files "$_tx" "$_rx" || fail "loopback through $_dev not byte-exact"
	if [ "$_wrc" != 0 ] || [ "$_rrc" != 0 ]; then
		fail "loopback through $_dev failed"
	fi
	LOOPBACK_SECONDS=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	LOOPBACK_MBPS=$(awk -v n="$_n" -v a="$_t0" -v b="$_t1" \
		'BEGIN { printf "%.2f", n / ((b - a) / 1e9) / 1e6 }')
	log "loopback $_n bytes through $_dev in ${LOOPBACK_SECONDS}s: ${LOOPBACK_MBPS} MB/s"
}

# tty_oneway FROM TO BYTES [TIMEOUT]: send BYTES random bytes into tty FROM and read them from
# tty TO (both raw); fails unless all arrive byte-exact within TIMEOUT seconds (default 120).
# Nothing may be echoing on TO. Sets ONEWAY_SECONDS and ONEWAY_MBPS (1 MB = 10^6 bytes).
tty_oneway() {
	_n=$3
	_t=${4:-120}
	_tx=/tmp/systest/tx.bin
	_rx=/tmp/systest/rx.bin
	head -c "$_n" /dev/urandom >"$_tx" || fail "cannot create test data"
	rm -f "$_rx"
	exec 4<>"$2" || fail "cannot open $2"
	stty raw -echo <&4 || fail "stty raw on $2 failed"
	exec 3<>"$1" || fail "cannot open $1"
	stty raw -echo <&3 || fail "stty raw on $1 failed"
	_t0=$(date +%s%N)
	timeout "$_t" head -c "$_n" <&4 >"$_rx" &
	_reader=$!
	timeout "$_t" cat "$_tx" >&3
	_wrc=$?
	wait "$_reader"
	_rrc=$?
	_t1=$(date +%s%N)
	exec 3>&- 4>&-
	compare_files "$_tx" "$_rx" || fail "$1 -> $2 not byte-exact"
	if [ "$_wrc" != 0 ] || [ "$_rrc" != 0 ]; then
		fail "$1 -> $2 failed (writer $_wrc, reader $_rrc; 124 = timeout)"
	fi
	ONEWAY_SECONDS=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	ONEWAY_MBPS=$(awk -v n="$_n" -v a="$_t0" -v b="$_t1" \
		'BEGIN { printf "%.2f", n / ((b - a) / 1e9) / 1e6 }')
	log "$_n bytes $1 -> $2 in ${ONEWAY_SECONDS}s: ${ONEWAY_MBPS} MB/s"
}

# usbmon_start: capture every USB bus's URBs (text API) into SYSTEST_OUT/usbmon.txt, to see
# control requests on the wire. usbmon_stop ends the capture.
USBMON_LOG=$SYSTEST_OUT/usbmon.txt
usbmon_start() {
	load_modules usbmon
	[ -d /sys/kernel/debug/usb ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[ -r /sys/kernel/debug/usb/usbmon/0u ] || fail "no usbmon text interface"
	cat /sys/kernel/debug/usb/usbmon/0u >"$USBMON_LOG" &
	USBMON_PID=$!
	bg_track $USBMON_PID
	# usbmon only records URBs while a reader has the file open: wait for cat to open it.
	wait_for 10 usbmon_reader_open || fail "usbmon reader did not start"
}

usbmon_reader_open() {
	for _fd in /proc/"$USBMON_PID"/fd/*; do
		[ "$(readlink "$_fd")" = /sys/kernel/debug/usb/usbmon/0u ] && return 0
	done
	return 1
}

usbmon_stop() {
	sleep 0.5 # let the reader drain the monitor buffer
	kill "$USBMON_PID" 2>/dev/null
	wait "$USBMON_PID" 2>/dev/null
	return 0
}

# line_coding_hex RATE STOPBITS PARITY DATABITS: the 7-byte CDC line coding as usbmon prints
# it (dwDTERate little-endian, then bCharFormat, bParityType, bDataBits), e.g.
# 115200 0 2 7 -> "00c20100 000207".
line_coding_hex() {
	printf '%02x%02x%02x%02x %02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255)) "$2" "$3" "$4"
}

# usbmon_saw_set_line_coding HEX [BUS]: true when the capture holds a SET_LINE_CODING
# submission (bmRequestType 0x21, bRequest 0x20, wLength 7) carrying HEX, on USB bus BUS if
# given (any bus otherwise).
usbmon_saw_set_line_coding() {
	grep -E "S Co:${2:-[0-9]+}:[0-9]+:0 s 21 20 0000 [0-9a-f]{4} 0007 7 = $1\$" "$USBMON_LOG"
}

# --- the hostile USBIP server (test/hostile, issue 10) -------------------------------------------
# start_hostile_server [BEHAVIOUR...]: usbip-hostile-server on HOSTILE_LISTEN:3240 (default
# 127.0.0.1) with the given behaviours (see test/hostile/hostile_server.h); sets HOSTILE_PID.
# stop_hostile_server [SIGNAL] (default TERM: it writes its counters to HOSTILE_STATS first);
# hostile_stat NAME prints a counter of the last stopped (or SIGUSR1'd) server.
HOSTILE_SERVER=$BUILD/test/hostile/usbip-hostile-server
HOSTILE_STATS=$SYSTEST_OUT/hostile-stats.txt
HOSTILE_LISTEN=127.0.0.1
HOSTILE_PID=
HOSTILE_STARTS=0
start_hostile_server() {
	[ -x "$HOSTILE_SERVER" ] || skip "hostile server not built ($HOSTILE_SERVER)"
	HOSTILE_STARTS=$((HOSTILE_STARTS + 1))
	_log=$SYSTEST_OUT/hostile-server.$HOSTILE_STARTS.log
	"$HOSTILE_SERVER" --listen "$HOSTILE_LISTEN" --port 3240 --stats "$HOSTILE_STATS" "$@" \
		>"$_log" 2>&1 &
	HOSTILE_PID=$!
	bg_track $HOSTILE_PID "$_log"
	# it prints its port once it listens
	wait_for 30 grep -qx 3240 "$_log" || fail "hostile server $* does not listen (see $_log)"
	log "hostile server pid $HOSTILE_PID: $*"
}

stop_hostile_server() {
	[ -n "$HOSTILE_PID" ] || fail "stop_hostile_server: none running"
	kill -"${1:-TERM}" "$HOSTILE_PID" 2>/dev/null
	wait "$HOSTILE_PID" 2>/dev/null
	log "hostile server $HOSTILE_PID stopped (SIG${1:-TERM})"
	HOSTILE_PID=
}

hostile_stat() {
	sed -n "s/^$1=//p" "$HOSTILE_STATS"
}

# daemon_rss_kb / daemon_data_kb: VmRSS / VmData (private writable memory, touched or not:
# what malloc handed out) of the running daemon in kB.
daemon_rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$DAEMON_PID/status"
}
daemon_data_kb() {
	sed -n 's/^VmData:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$DAEMON_PID/status"
}

# --- service plumbing (t-daemon-service, t-daemon-names, t-daemon-crun) -----------------------

# start_sockrecv PATH OUT [journal]: receive datagrams on a Unix socket at PATH (mode 0666) into
# OUT, one block per datagram ending in "--" (sockrecv.py); "journal" decodes the journal's
# native protocol into KEY=VALUE lines. Serves as systemd's notify socket, journald or /dev/log.
start_sockrecv() {
	: >"$2"
	python3 "$SRC/test/system/sockrecv.py" "$@" 2>>"$2.err" &
	bg_track $! "$2.err"
	wait_for 10 test -S "$1" || fail "sockrecv on $1 did not start"
}

# proc_field PID FIELD: the value of FIELD in /proc/PID/status, blanks squeezed ("Uid" ->
# "65534 65534 65534 65534").
proc_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' '  '
}

# udev_start: a real systemd-udevd (the host's) with the build's rules in /run/udev/rules.d
# (on top of the host's own); sets UDEVD_PID. udev_settle waits for its queue to drain.
udev_start() {
	_udevd=/lib/systemd/systemd-udevd
	[ -x "$_udevd" ] || skip "no $_udevd (Debian package udev)"
	mkdir -p /run/udev/rules.d
	cp "$SRC/udev/70-usbip-cuse.rules" /run/udev/rules.d/ || fail "cannot install the rules"
	"$_udevd" >"$SYSTEST_OUT/udevd.log" 2>&1 &
	UDEVD_PID=$!
	bg_track $UDEVD_PID "$SYSTEST_OUT/udevd.log"
	wait_for 10 test -S /run/udev/control || fail "systemd-udevd did not start"
	log "systemd-udevd pid $UDEVD_PID with $SRC/udev/70-usbip-cuse.rules"
}

udev_settle() {
	udevadm settle --timeout=30 || log "udevadm settle timed out"
}
