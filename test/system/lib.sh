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

# wait_for SECONDS CMD [ARGS...]: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
	_wf_limit=$(($1 * 10))
	shift
	_wf_i=0
	while ! "$@" >/dev/null 2>&1; do
		_wf_i=$((_wf_i + 1))
		[ $_wf_i -ge $_wf_limit ] && return 1
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

# start_mock_server: our USBIP mock server on 127.0.0.1:3240 serving the lsusb fixtures.
# Exits 77 if the mock has not been built.
MOCK_SERVER=$BUILD/tools/mock/usbip-mock-server
MOCK_PORT=3240
start_mock_server() {
	[ -x "$MOCK_SERVER" ] || skip "mock server not built ($MOCK_SERVER)"
	_log=$SYSTEST_OUT/mock-server.log
	"$MOCK_SERVER" --dir "$SRC/test/lsusb" --port "$MOCK_PORT" --listen 127.0.0.1 \
		--verbose >"$_log" 2>&1 &
	_pid=$!
	bg_track $_pid "$_log"
	if ! wait_for 30 tcp_listening "$MOCK_PORT"; then
		kill -0 "$_pid" 2>/dev/null || fail "mock server exited early (see $_log)"
		fail "mock server does not listen on port $MOCK_PORT after 30 s"
	fi
	log "mock server pid $_pid listening on 127.0.0.1:$MOCK_PORT"
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
start_gs_loopback() {
	[ -c /dev/ttyGS0 ] || fail "no /dev/ttyGS0"
	_log=$SYSTEST_OUT/gs-loopback.log
	sh -c 'exec 3<>/dev/ttyGS0 && stty raw -echo <&3 && exec cat <&3 >&3' >"$_log" 2>&1 &
	bg_track $! "$_log"
	# Wait until the raw mode is in place before anyone sends data.
	wait_for 10 gs_is_raw || fail "ttyGS0 loopback did not start"
	log "ttyGS0 loopback running"
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
