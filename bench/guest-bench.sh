#!/bin/sh
# Guest side of bench/guest-bench (run by test/system/vm-run in the qemu guest): one boot,
# every measurement. Prints figures (results.txt in SYSTEST_OUT), asserts nothing about them;
# fails only when a fixture cannot be set up.
#
# Options (bench/guest-bench passes them on):
#   --rounds N          rounds of the gadget phase (default 5)
#   --phases LIST       comma-separated: gadget, many, trace, profile (default gadget,many)
#   --sizes LIST        write sizes of the loopbacks (default "1 64 512 4096 16384")
#   --totals LIST       loopback sizes in bytes (default "4194304 16777216")
#   --max-writes N      a loopback is at most N writes: BYTES = min(TOTAL, N * SIZE) (8192)
#   --pings N           round trips per reader kind and round (default 300)
#   --readone-bytes N   bytes read one at a time per round (default 4096)
#   --nodes LIST        node counts of the many-nodes phase (default "1 8 32")
#   --many-bytes N      bytes looped back through each node in the many-nodes phase (2 MiB)
#   --before PATH       an older usbip-cuse binary (relative to the build dir): measured as
#                       node "before" in the same rounds as ours and the kernel's
#   --profile-pings N, --profile-readone N, --profile-loop N, --profile-loop-small N
#                       sizes of the profile's workloads (200, 2048, 1 MiB, 128 KiB)
#   --trace-pings N     round trips per trace of the trace phase (200)
#
# Phase gadget: real usbipd + g_serial (busid 1-1, /dev/ttyGS0 echoes, as t-daemon-gadget).
# A device has one importer at a time, so each round attaches in turn usbip-cuse
# (/dev/ttyUSBIP0, node "ours"), the kernel's vhci + cdc-acm (/dev/ttyACMn, node "kernel") -
# in ABBA order over the rounds - and runs the same ttybench measurements on each; the client
# engine alone (build/bench/bench-loopback against its own mock, node "engine") runs too; the
# do-nothing CUSE node (bench/cuse-null; "null" on libfuse's loop, "null-glib" on a GLib loop)
# gives the one-byte-read ceiling, measured around each daemon's one-byte reads.
# Phase many: the mock (tools/mock) serving 32 copies of the g_serial fixture (busids 7-1 ...
# 7-32, distinct serials); one daemon with N of them, all N nodes looping back at once.
# Phase trace: an ftrace of TRACE_PINGS round trips per node and reader kind (bench/guest-trace.sh;
# files in SYSTEST_OUT/trace/, cut into legs on the host by bench/rtt-timeline).
# Phase profile: request counts (libfuse debug output), strace -c and perf of the daemon, and
# system-wide CPU per MB and per ping of both nodes; files in SYSTEST_OUT/profile/.
#
# results.txt: one line per figure, "ROUND NODE KEY VALUE":
#   loop/BYTES/WSIZE MB/s, loopreads/BYTES/WSIZE read() calls, readone bytes/s,
#   rtt/MODE/median|p90|p99 us; for a daemon's node (ours, before) also readone_cpu_us (the
#   daemon's CPU per read), readone_null and readone_null-glib (requests/s of the do-nothing
#   nodes, measured around the node's readone), readone_null_cpu_us and
#   readone_null-glib_cpu_us, and all of these with suffix _1cpu: the reader and the daemon
#   on one vCPU (on_one_cpu),
#   guest: clock_gettime_ns, syscall_ns (ttybench calib: the price of a clock read and of a
#   syscall in this guest),
#   engine: loop MB/s, rtt/median|p99 us, cpu s per MB (bench-loopback's own figures),
#   many-N: agg_MBps, cpu_s_per_MB (daemon), mock_cpu_s_per_MB, rss_idle_kib, rss_kib,
#   rss_hwm_kib.
# rtt/NODE-MODE-rROUND.txt: every round-trip sample (us).
. "$SRC/test/system/lib.sh"
systest_init

ROUNDS=5
PHASES=gadget,many
SIZES="1 64 512 4096 16384"
TOTALS="4194304 16777216"
MAX_WRITES=8192
PINGS=300
READONE_BYTES=4096
NODES="1 8 32"
MANY_BYTES=2097152
BEFORE=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2 ;;
	--phases) PHASES=$2 ;;
	--sizes) SIZES=$2 ;;
	--totals) TOTALS=$2 ;;
	--max-writes) MAX_WRITES=$2 ;;
	--pings) PINGS=$2 ;;
	--readone-bytes) READONE_BYTES=$2 ;;
	--nodes) NODES=$2 ;;
	--many-bytes) MANY_BYTES=$2 ;;
	--before) BEFORE=$BUILD/$2 ;;
	--profile-pings) PROFILE_PINGS=$2 ;;
	--profile-readone) PROFILE_READONE=$2 ;;
	--profile-loop) PROFILE_LOOP=$2 ;;
	--profile-loop-small) PROFILE_LOOP_SMALL=$2 ;;
	--trace-pings) TRACE_PINGS=$2 ;;
	*) fail "unknown option $1" ;;
	esac
	shift 2
done

TTYB=$BUILD/bench/ttybench
NULLNODE=$BUILD/bench/cuse-null
ENGINE=$BUILD/bench/bench-loopback
for b in "$TTYB" "$NULLNODE" "$ENGINE" "$USBIP_CUSE" ${BEFORE:+"$BEFORE"}; do
	[ -x "$b" ] || skip "$b not built"
done
RES=$SYSTEST_OUT/results.txt
: >"$RES"
mkdir -p "$SYSTEST_OUT/rtt"
ROUND=0

# rec NODE KEY VALUE
rec() {
	echo "$ROUND $1 $2 $3" >>"$RES"
}

# field NAME LINE: the value of NAME=... in a ttybench output line
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

phase_on() {
	case ",$PHASES," in *",$1,"*) return 0 ;; esac
	return 1
}

# ---- the measurements of one node (NODE name, DEV path) ---------------------------------------

measure_loops() {
	gb_node=$1
	gb_dev=$2
	for gb_s in $SIZES; do
		gb_last=
		for gb_t in $TOTALS; do
			gb_b=$((gb_s * MAX_WRITES))
			[ "$gb_b" -gt "$gb_t" ] && gb_b=$gb_t
			[ "$gb_b" = "$gb_last" ] && continue
			gb_last=$gb_b
			if gb_o=$("$TTYB" loop --timeout 600 "$gb_b" "$gb_s" "$gb_dev"); then
				gb_l=$(echo "$gb_o" | grep '^loop ')
				rec "$gb_node" "loop/$gb_b/$gb_s" "$(field MBps "$gb_l")"
				gb_l=$(echo "$gb_o" | grep '^loop-node ')
				rec "$gb_node" "loopreads/$gb_b/$gb_s" "$(field reads "$gb_l")"
				log "$gb_node: loop $gb_b bytes in $gb_s-byte writes: $(field MBps "$gb_l") MB/s"
			else
				log "$gb_node: loop $gb_b/$gb_s FAILED"
			fi
		done
	done
}

# measure_readone NODE DEV: one-byte reads on DEV. On a daemon's node (ours, before) each
# measurement sits between two of each do-nothing node (null, null-glib, NODE, null-glib,
# null): the host's load drifts over minutes, so the ceiling is taken in the seconds around
# the figure it bounds (readone_null, readone_null-glib: the mean of the two), and the
# daemons' CPU per request is counted too (readone_cpu_us, readone_null*_cpu_us). Then all
# again with the reader and the daemon on one vCPU (suffix _1cpu): each request is then two
# context switches on that vCPU, never a wakeup of the other (idle) one, whose price in this
# TCG guest depends on where the scheduler happened to put the two.
measure_readone() {
	if [ -z "${DAEMON_PID:-}" ]; then
		if gb_o=$("$TTYB" readone --timeout 600 "$READONE_BYTES" "$2"); then
			rec "$1" readone "$(field Bps "$gb_o")"
			log "$1: one-byte reads: $(field Bps "$gb_o") B/s"
		else
			log "$1: readone FAILED"
		fi
		return 0
	fi
	readone_between_nulls "$1" "$2" ""
	readone_between_nulls "$1" "$2" _1cpu
}

# pinned SFX PID CMD...: CMD, on one vCPU with PID (on_one_cpu) when SFX is _1cpu
pinned() {
	gb_sfx=$1
	gb_pp=$2
	shift 2
	if [ "$gb_sfx" = _1cpu ]; then
		on_one_cpu "$gb_pp" "$@"
	else
		"$@"
	fi
}

# timed_reads SFX PID COUNT RATE CMD...: run CMD (a ttybench command whose output line has
# fields COUNT, the requests it made, and RATE, per second); prints "RATE CPU_US": that rate
# and PID's CPU microseconds per request
timed_reads() {
	gb_sfx=$1
	gb_tp=$2
	gb_cf=$3
	gb_rf=$4
	shift 4
	gb_c0=$(cpu_ticks "$gb_tp")
	gb_to=$(pinned "$gb_sfx" "$gb_tp" "$@") || return 1
	gb_c1=$(cpu_ticks "$gb_tp")
	awk -v r="$(field "$gb_rf" "$gb_to")" -v t=$((gb_c1 - gb_c0)) -v hz="$(getconf CLK_TCK)" \
		-v n="$(field "$gb_cf" "$gb_to")" 'BEGIN { printf "%s %.1f\n", r, t * 1e6 / hz / n }'
}

# readone_between_nulls NODE DEV SFX
readone_between_nulls() {
	gb_rn=$1
	gb_rdev=$2
	gb_rs=$3
	gb_rev=
	for gb_v in $NULL_NAMES; do gb_rev="$gb_v $gb_rev"; done
	gb_seq="$NULL_NAMES node $gb_rev"
	gb_acc=
	for gb_v in $gb_seq; do
		if [ "$gb_v" = node ]; then
			gb_r=$(timed_reads "$gb_rs" "$DAEMON_PID" bytes Bps \
				"$TTYB" readone --timeout 600 "$READONE_BYTES" "$gb_rdev") || {
				log "$gb_rn: readone$gb_rs FAILED"
				return 0
			}
		else
			gb_np=$(cat "$SYSTEST_OUT/bench-$gb_v.pid")
			gb_r=$(timed_reads "$gb_rs" "$gb_np" requests rps \
				"$TTYB" reqrate --seconds 2 "/dev/bench-$gb_v") || {
				log "$gb_v: reqrate$gb_rs FAILED"
				continue
			}
		fi
		gb_acc="$gb_acc$gb_v $gb_r
"
	done
	gb_m=$(printf '%s' "$gb_acc" | awk '$1 == "node" { print $2, $3 }')
	[ -n "$gb_m" ] || return 0
	rec "$gb_rn" "readone$gb_rs" "${gb_m% *}"
	rec "$gb_rn" "readone_cpu_us$gb_rs" "${gb_m#* }"
	log "$gb_rn: one-byte reads$gb_rs: ${gb_m% *} B/s, daemon ${gb_m#* } us CPU a read"
	for gb_v in $NULL_NAMES; do
		gb_m=$(printf '%s' "$gb_acc" | awk -v v="$gb_v" \
			'$1 == v { r += $2; c += $3; n++ } END { if (n) printf "%.1f %.1f", r / n, c / n }')
		[ -n "$gb_m" ] || continue
		rec "$gb_rn" "readone_$gb_v$gb_rs" "${gb_m% *}"
		rec "$gb_rn" "readone_${gb_v}_cpu_us$gb_rs" "${gb_m#* }"
		log "$gb_rn: beside it $gb_v$gb_rs: ${gb_m% *} requests/s, ${gb_m#* } us CPU a request"
	done
}

# on_one_cpu PID CMD...: CMD with itself and every thread of PID on the last vCPU, PID's
# affinity (as its main thread had it) restored after
on_one_cpu() {
	gb_cpu=$(($(nproc --all) - 1))
	gb_pid=$1
	shift
	gb_mask=$(taskset -p "$gb_pid" | sed 's/.*: *//') || return 1
	if taskset -a -p -c "$gb_cpu" "$gb_pid" >/dev/null; then
		taskset -c "$gb_cpu" "$@"
		gb_rc=$?
	else
		gb_rc=1
	fi
	taskset -a -p "$gb_mask" "$gb_pid" >/dev/null
	return $gb_rc
}

measure_rtt() {
	for gb_m in block select poll; do
		gb_f=$SYSTEST_OUT/rtt/$1-$gb_m-r$ROUND.txt
		if gb_o=$("$TTYB" rtt --mode "$gb_m" --out "$gb_f" "$PINGS" "$2"); then
			rec "$1" "rtt/$gb_m/median" "$(field median_us "$gb_o")"
			rec "$1" "rtt/$gb_m/p90" "$(field p90_us "$gb_o")"
			rec "$1" "rtt/$gb_m/p99" "$(field p99_us "$gb_o")"
			log "$1: rtt $gb_m: $gb_o"
		else
			log "$1: rtt $gb_m FAILED"
		fi
	done
}

measure_node() {
	measure_rtt "$1" "$2"
	measure_readone "$1" "$2"
	measure_loops "$1" "$2"
}

# ---- importers of the gadget -------------------------------------------------------------------

# run_daemon NODE BINARY [MEASURE]: usbip-cuse (this tree's, or the older one of --before)
# imports the gadget; MEASURE NODE /dev/ttyUSBIP0 (default measure_node) runs on its node.
run_daemon() {
	gb_bin=$USBIP_CUSE
	USBIP_CUSE=$2
	start_daemon --device 1-1
	USBIP_CUSE=$gb_bin
	gs_settle_after_attach
	"${3:-measure_node}" "$1" /dev/ttyUSBIP0
	stop_daemon
	gs_after_host_session
}

run_ours() {
	run_daemon ours "$USBIP_CUSE"
}

run_before() {
	[ -n "$BEFORE" ] && run_daemon before "$BEFORE"
	return 0
}

vhci_port_in_use() {
	usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\): <Port in Use>.*/\1/p' | head -n 1
}

# run_kernel [MEASURE]: the kernel's vhci + cdc-acm imports the gadget; MEASURE kernel
# /dev/ttyACMn (default measure_node) runs on its node.
run_kernel() {
	gb_acm=$(kernel_attach 1-1) || fail "kernel_attach failed"
	gs_settle_after_attach
	"${1:-measure_node}" kernel "$gb_acm"
	gb_p=$(vhci_port_in_use)
	[ -n "$gb_p" ] || fail "no vhci port in use after the kernel attach"
	usbip detach -p "$((gb_p + 0))" >/dev/null 2>&1 || fail "usbip detach -p $gb_p failed"
	wait_for 15 sh -c "! test -e $gb_acm" || fail "$gb_acm still there after the detach"
	gs_after_host_session
}

# The client engine alone (no CUSE, no tty): bench-loopback's own figures against the mock it
# starts on 127.0.0.1 (the engine benchmark of the README), in the same minutes as the nodes.
run_engine() {
	gb_mib=$((${TOTALS##* } / 1048576))
	[ "$gb_mib" -ge 1 ] || gb_mib=1
	if gb_o=$(timeout 600 "$ENGINE" --mib "$gb_mib" --pings "$PINGS" 2>&1); then
		rec engine loop "$(echo "$gb_o" | sed -n 's/^loopback: .* = \([0-9.]*\) MB\/s.*/\1/p')"
		rec engine cpu "$(echo "$gb_o" | sed -n 's/.* = \([0-9.]*\) CPU-s per MB.*/\1/p')"
		rec engine rtt/median "$(echo "$gb_o" | sed -n 's/.*median \([0-9]*\) us.*/\1/p')"
		rec engine rtt/p99 "$(echo "$gb_o" | sed -n 's/.*p99 \([0-9]*\) us.*/\1/p')"
		log "engine: $(echo "$gb_o" | grep -v Message | tr '\n' ';')"
	else
		log "engine: bench-loopback FAILED: $gb_o"
	fi
}

# ---- the do-nothing CUSE node ------------------------------------------------------------------

NULL_NAMES=
start_null_nodes() {
	load_modules cuse
	for gb_v in null null-glib; do
		gb_name=bench-$gb_v
		gb_args=
		[ "$gb_v" = null-glib ] && gb_args=--glib
		# shellcheck disable=SC2086
		"$NULLNODE" --name "$gb_name" $gb_args >"$SYSTEST_OUT/$gb_name.log" 2>&1 &
		echo $! >"$SYSTEST_OUT/$gb_name.pid"
		bg_track $! "$SYSTEST_OUT/$gb_name.log"
		wait_for 30 grep -q ready "$SYSTEST_OUT/$gb_name.log" ||
			fail "cuse-null $gb_args did not create /dev/$gb_name"
		wait_for 10 test -c "/dev/$gb_name" || fail "no /dev/$gb_name"
		NULL_NAMES="$NULL_NAMES $gb_v"
	done
}

measure_calib() {
	if gb_o=$("$TTYB" calib); then
		rec guest clock_gettime_ns "$(field clock_gettime_ns "$gb_o")"
		rec guest syscall_ns "$(field syscall_ns "$gb_o")"
	fi
}

# ---- phases ------------------------------------------------------------------------------------

GADGET_UP=
gadget_up() {
	[ -n "$GADGET_UP" ] && return 0
	start_real_gadget_server
	start_gs_loopback
	GADGET_UP=1
}

phase_gadget() {
	gadget_up
	start_null_nodes
	ROUND=1
	while [ "$ROUND" -le "$ROUNDS" ]; do
		log "==== round $ROUND of $ROUNDS"
		measure_calib
		if [ $((ROUND % 2)) = 1 ]; then
			run_ours
			run_kernel
			run_before
		else
			run_before
			run_kernel
			run_ours
		fi
		run_engine
		ROUND=$((ROUND + 1))
	done
}

# cpu_ticks PID: utime + stime of PID in clock ticks
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

status_kib() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

phase_many() {
	gb_fx=/tmp/bench-fixtures
	mkdir -p "$gb_fx"
	gb_max=0
	for gb_n in $NODES; do [ "$gb_n" -gt "$gb_max" ] && gb_max=$gb_n; done
	gb_i=1
	while [ "$gb_i" -le "$gb_max" ]; do
		# same device, other bus id and serial
		sed "s/^\(  iSerial  *3 \).*/\1bench$gb_i/" "$SRC/test/lsusb/1-1.lsusb" \
			>"$gb_fx/7-$gb_i.lsusb"
		gb_i=$((gb_i + 1))
	done
	gb_port=3250
	"$MOCK_SERVER" --dir "$gb_fx" --port "$gb_port" --listen 127.0.0.1 \
		>"$SYSTEST_OUT/mock-many.log" 2>&1 &
	gb_mock=$!
	bg_track $gb_mock "$SYSTEST_OUT/mock-many.log"
	wait_for 30 tcp_listening "$gb_port" || fail "mock does not listen on $gb_port"
	gb_hz=$(getconf CLK_TCK)
	ROUND=1
	while [ "$ROUND" -le "$ROUNDS" ]; do
		for gb_n in $NODES; do
			# devices 7-1 ... 7-N become nodes ttyUSBIP0 ... N-1
			gb_args=$(seq 1 "$gb_n" | sed 's/^/--device 7-/')
			gb_nodes=$(seq 0 $((gb_n - 1)) | sed 's,^,/dev/ttyUSBIP,')
			# shellcheck disable=SC2086
			start_daemon --server "127.0.0.1:$gb_port" $gb_args
			sleep 1
			gb_rss0=$(status_kib "$DAEMON_PID" VmRSS)
			gb_d0=$(cpu_ticks "$DAEMON_PID")
			gb_m0=$(cpu_ticks "$gb_mock")
			# shellcheck disable=SC2086
			if gb_o=$("$TTYB" loop --timeout 900 "$MANY_BYTES" 16384 $gb_nodes); then
				gb_d1=$(cpu_ticks "$DAEMON_PID")
				gb_m1=$(cpu_ticks "$gb_mock")
				gb_l=$(echo "$gb_o" | grep '^loop ')
				gb_mb=$(awk -v b="$MANY_BYTES" -v n="$gb_n" 'BEGIN { print b * n / 1e6 }')
				rec "many-$gb_n" agg_MBps "$(field MBps "$gb_l")"
				rec "many-$gb_n" cpu_s_per_MB "$(awk -v a="$gb_d0" -v b="$gb_d1" -v hz="$gb_hz" \
					-v mb="$gb_mb" 'BEGIN { printf "%.4f", (b - a) / hz / mb }')"
				rec "many-$gb_n" mock_cpu_s_per_MB "$(awk -v a="$gb_m0" -v b="$gb_m1" \
					-v hz="$gb_hz" -v mb="$gb_mb" 'BEGIN { printf "%.4f", (b - a) / hz / mb }')"
				rec "many-$gb_n" rss_idle_kib "$gb_rss0"
				rec "many-$gb_n" rss_kib "$(status_kib "$DAEMON_PID" VmRSS)"
				rec "many-$gb_n" rss_hwm_kib "$(status_kib "$DAEMON_PID" VmHWM)"
				log "many-$gb_n: $gb_l; daemon cpu ticks $gb_d0 -> $gb_d1"
			else
				log "many-$gb_n: loop FAILED"
			fi
			stop_daemon 30
		done
		ROUND=$((ROUND + 1))
	done
	kill "$gb_mock"
}

[ -n "${BENCH_PROFILE_SCRIPT:-}" ] || BENCH_PROFILE_SCRIPT=$SRC/bench/guest-profile.sh
phase_on gadget && phase_gadget
phase_on many && phase_many
if phase_on trace; then
	# shellcheck source=guest-trace.sh
	. "$SRC/bench/guest-trace.sh"
	phase_trace
fi
if phase_on profile; then
	# shellcheck source=guest-profile.sh
	. "$BENCH_PROFILE_SCRIPT"
	phase_profile
fi
echo "BENCH results in $RES ($(wc -l <"$RES") figures)"
exit 0
