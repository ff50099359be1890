# Profile phase of bench/guest-bench.sh (sourced there; needs its helpers and lib.sh): where
# the time of usbip-cuse goes, against the real usbipd + g_serial gadget. Writes into
# SYSTEST_OUT/profile/:
#   requests.txt      CUSE requests by opcode per workload (from libfuse's --debug-fuse
#                     output), NOTIFY = poll wake-ups sent, and the mean payload of a READ reply
#   sched.txt         per workload, undisturbed: daemon CPU ticks (1/CLK_TCK s) and voluntary
#                     context switches (one per sleep in poll(): the main-loop wakeups)
#   strace-W.txt      strace -c -f of the daemon during workload W
#   callgrind-W.txt   instructions (Ir) the daemon executed during W, by function (valgrind
#                     callgrind; exclusive, then inclusive); callgrind-null*.txt: the same for
#                     the do-nothing CUSE node answering one-byte reads; callgrind-*.out the
#                     raw profiles
#   cpu-NODE-W.txt    CPU ticks of every process and kernel thread of the guest while NODE
#                     (ours, kernel) runs W, and the guest's busy ticks from /proc/stat
#   perf-stat-W.txt   perf stat (counting only) of the daemon: context switches, migrations,
#                     page faults
# Workloads: rtt-block / rtt-select / rtt-poll (PROFILE_PINGS one-byte round trips),
# readone (PROFILE_READONE bytes read one at a time), loop16k (PROFILE_LOOP bytes in 16 KiB
# writes), loop64 (PROFILE_LOOP_SMALL bytes in 64-byte writes).
# perf's sampling (perf record, also -a, cpu-clock or task-clock, -F 100 or 1000) does not
# work in this TCG guest: a 2 s record takes minutes and collects a handful of samples. Hence
# callgrind (instruction counts, which the host's load does not change) and counters.
PROFILE_PINGS=${PROFILE_PINGS:-200}
PROFILE_READONE=${PROFILE_READONE:-2048}
PROFILE_LOOP=${PROFILE_LOOP:-1048576}
PROFILE_LOOP_SMALL=${PROFILE_LOOP_SMALL:-131072}
PROFILE_WORKLOADS="rtt-block rtt-select rtt-poll readone loop16k loop64"

# workload_cmd W DEV: workload W on DEV as one command line
workload_cmd() {
	case $1 in
	rtt-*) echo "$TTYB rtt --warmup 0 --mode ${1#rtt-} $PROFILE_PINGS $2" ;;
	readone) echo "$TTYB readone $PROFILE_READONE $2" ;;
	loop16k) echo "$TTYB loop $PROFILE_LOOP 16384 $2" ;;
	loop64) echo "$TTYB loop $PROFILE_LOOP_SMALL 64 $2" ;;
	*) fail "unknown workload $1" ;;
	esac
}

# workload W DEV: run workload W on DEV (its output goes to workloads.log)
workload() {
	echo "# $1 on $2" >>"$PROF/workloads.log"
	# shellcheck disable=SC2046
	$(workload_cmd "$1" "$2") >>"$PROF/workloads.log" 2>&1 ||
		log "profile: workload $1 on $2 failed"
}

# units W: what one unit of workload W is, and how many there are
units() {
	case $1 in
	rtt-*) echo "$PROFILE_PINGS pings" ;;
	readone) echo "$PROFILE_READONE bytes" ;;
	loop16k) echo "$PROFILE_LOOP bytes" ;;
	loop64) echo "$PROFILE_LOOP_SMALL bytes" ;;
	esac
}

status_field() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# Requests by opcode from the libfuse debug log: lines "unique: N, opcode: NAME (n), ...",
# replies "   unique: N, success, outsize: M" (M includes the 16-byte header), and
# "NOTIFY: code=C length=L" for poll wake-ups.
count_requests() {
	awk -v w="$1" -v units="$2" '
	/^unique: [0-9]+, opcode: / {
		u = $2; sub(",", "", u); op[u] = $4; n[$4]++; total++
	}
	/^   unique: [0-9]+, success, outsize: / {
		u = $2; sub(",", "", u)
		if (op[u] == "READ") { rb += $5 - 16; rn++ }
		delete op[u]
	}
	/NOTIFY: code=/ { notify++ }
	END {
		printf "%s (%s):", w, units
		for (o in n) printf " %s=%d", o, n[o]
		printf " NOTIFY=%d total=%d", notify, total
		if (rn) printf " mean_READ_reply_bytes=%.1f", rb / rn
		printf "\n"
	}'
}

profile_requests() {
	start_daemon --debug-fuse --device 1-1
	gs_settle_after_attach
	: >"$PROF/requests.txt"
	for pf_w in $PROFILE_WORKLOADS; do
		pf_mark=$(wc -l <"$DAEMON_LOG")
		workload "$pf_w" /dev/ttyUSBIP0
		sleep 0.5
		tail -n "+$((pf_mark + 1))" "$DAEMON_LOG" |
			count_requests "$pf_w" "$(units "$pf_w")" >>"$PROF/requests.txt"
	done
	stop_daemon
	gs_after_host_session
}

# proc_snapshot: "PID COMM TICKS" (utime + stime) of every process and kernel thread; the
# first line "0 TOTAL-BUSY TICKS" is the guest's non-idle time from /proc/stat.
proc_snapshot() {
	awk '$1 == "cpu" { print 0, "TOTAL-BUSY", $2 + $3 + $4 + $7 + $8 }' /proc/stat
	# The command name is between the first "(" and the last ")"; utime and stime are the
	# 12th and 13th fields after it.
	cat /proc/[0-9]*/stat 2>/dev/null | awk '{
		l = index($0, "("); r = 0
		for (i = length($0); i > 0; i--) if (substr($0, i, 1) == ")") { r = i; break }
		comm = substr($0, l + 1, r - l - 1); gsub(/ /, "_", comm)
		split(substr($0, r + 2), f, " ")
		print $1, comm, f[12] + f[13]
	}'
}

# cpu_during NODE W DEV: CPU ticks by command while workload W runs on DEV
cpu_during() {
	proc_snapshot >/tmp/snap0
	workload "$2" "$3"
	proc_snapshot >/tmp/snap1
	{
		echo "# CPU ticks (1/$(getconf CLK_TCK) s) while $1 ran $2 ($(units "$2"));" \
			"processes that exited meanwhile (the client) are not counted: see" \
			"cpu_user_s/cpu_sys_s in workloads.log"
		awk 'NR == FNR { t0[$1 " " $2] = $3; next }
			{ d = $3 - t0[$1 " " $2]; if (d > 0) { c = $2; sub(/\/[0-9:]+.*$/, "", c); sum[c] += d } }
			END { for (c in sum) print sum[c], c }' /tmp/snap0 /tmp/snap1 | sort -rn
	} >"$PROF/cpu-$1-$2.txt"
}

# daemon_workloads NODE DEV: each workload on the daemon DAEMON_PID's node DEV, undisturbed
# (sched.txt, cpu-NODE-W.txt), under strace and under perf stat
daemon_workloads() {
	: >"$PROF/sched.txt"
	for pf_w in $PROFILE_WORKLOADS; do
		# 1. undisturbed: CPU and context switches of the daemon, CPU of everything
		pf_c0=$(cpu_ticks "$DAEMON_PID")
		pf_v0=$(status_field "$DAEMON_PID" voluntary_ctxt_switches)
		pf_n0=$(status_field "$DAEMON_PID" nonvoluntary_ctxt_switches)
		pf_t0=$(date +%s.%N)
		cpu_during "$1" "$pf_w" "$2"
		pf_t1=$(date +%s.%N)
		echo "$pf_w ($(units "$pf_w")): wall_s=$(awk -v a="$pf_t0" -v b="$pf_t1" \
			'BEGIN { printf "%.3f", b - a }')" \
			"daemon_cpu_ticks=$(($(cpu_ticks "$DAEMON_PID") - pf_c0))" \
			"voluntary_cs=$(($(status_field "$DAEMON_PID" voluntary_ctxt_switches) - pf_v0))" \
			"involuntary_cs=$(($(status_field "$DAEMON_PID" nonvoluntary_ctxt_switches) - \
			pf_n0))" >>"$PROF/sched.txt"
		# 2. syscalls
		strace -c -f -q -p "$DAEMON_PID" -o "$PROF/strace-$pf_w.txt" &
		pf_st=$!
		sleep 1
		workload "$pf_w" "$2"
		kill -INT "$pf_st"
		wait "$pf_st"
		# 3. counters (perf stat counts; its sampling does not work here)
		# shellcheck disable=SC2046
		timeout 600 perf stat -e context-switches,cpu-migrations,page-faults,task-clock \
			-p "$DAEMON_PID" -o "$PROF/perf-stat-$pf_w.txt" -- \
			$(workload_cmd "$pf_w" "$2") >>"$PROF/workloads.log" 2>&1
	done
}

# kernel_workloads NODE DEV: the CPU of every task while each workload runs on DEV
kernel_workloads() {
	for pf_w in $PROFILE_WORKLOADS; do
		cpu_during "$1" "$pf_w" "$2"
	done
}

# callgrind_report NAME FILE W: annotate a callgrind dump
callgrind_report() {
	{
		echo "# $1: instructions executed during $3 ($(units "$3"))"
		echo "## exclusive"
		callgrind_annotate --threshold=98 "$2" 2>&1 | head -n 60
		echo "## inclusive"
		callgrind_annotate --inclusive=yes --threshold=98 "$2" 2>&1 | head -n 60
	} >"$PROF/callgrind-$1.txt"
	# the raw profile, for callgrind_annotate --tree=caller etc. on the host
	cp "$2" "$PROF/callgrind-$1.out"
}

# One daemon under callgrind, instrumented during each workload only (counters zeroed before
# it, dumped after it).
profile_callgrind() {
	command -v valgrind >/dev/null || {
		log "profile: valgrind missing: no instruction profile"
		return 0
	}
	load_modules cuse
	pf_log=$SYSTEST_OUT/daemon-callgrind.log
	valgrind --tool=callgrind --instr-atstart=no \
		--callgrind-out-file=/tmp/cg.%p "$USBIP_CUSE" --foreground --device 1-1 \
		>"$pf_log" 2>&1 &
	pf_vg=$!
	bg_track $pf_vg "$pf_log"
	wait_for 300 grep -q 'ready with' "$pf_log" || fail "daemon under callgrind not ready"
	gs_settle_after_attach
	for pf_w in $PROFILE_WORKLOADS; do
		rm -f /tmp/cg.*
		callgrind_control --instr=on "$pf_vg" >/dev/null
		callgrind_control -z "$pf_vg" >/dev/null
		workload "$pf_w" /dev/ttyUSBIP0
		callgrind_control --dump="$pf_w" "$pf_vg" >/dev/null
		callgrind_control --instr=off "$pf_vg" >/dev/null
		pf_f=$(ls -t /tmp/cg.* 2>/dev/null | head -n 1)
		if [ -n "$pf_f" ]; then
			callgrind_report "$pf_w" "$pf_f" "$pf_w"
		else
			log "profile: no callgrind dump for $pf_w"
		fi
	done
	kill -TERM "$pf_vg"
	wait_for 60 sh -c "! kill -0 $pf_vg 2>/dev/null"
	gs_after_host_session
}

# The do-nothing node under callgrind, for the floor of a one-byte read.
profile_callgrind_null() {
	command -v valgrind >/dev/null || return 0
	for pf_v in plain glib; do
		pf_a=
		[ "$pf_v" = glib ] && pf_a=--glib
		rm -f /tmp/cg.*
		# shellcheck disable=SC2086
		valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.%p \
			"$NULLNODE" --name bench-cg-$pf_v $pf_a >"$SYSTEST_OUT/null-cg.log" 2>&1 &
		pf_vg=$!
		bg_track $pf_vg
		wait_for 120 test -c "/dev/bench-cg-$pf_v" || fail "no /dev/bench-cg-$pf_v"
		callgrind_control --instr=on "$pf_vg" >/dev/null
		callgrind_control -z "$pf_vg" >/dev/null
		"$TTYB" reqrate --seconds 5 "/dev/bench-cg-$pf_v" >>"$PROF/workloads.log" 2>&1
		callgrind_control --dump=reqrate "$pf_vg" >/dev/null
		callgrind_control --instr=off "$pf_vg" >/dev/null
		pf_f=$(ls -t /tmp/cg.* 2>/dev/null | head -n 1)
		[ -n "$pf_f" ] && callgrind_report "null-$pf_v" "$pf_f" reqrate
		kill -TERM "$pf_vg"
		wait_for 60 sh -c "! kill -0 $pf_vg 2>/dev/null"
	done
}

phase_profile() {
	PROF=$SYSTEST_OUT/profile
	mkdir -p "$PROF"
	for pf_t in strace perf valgrind; do
		command -v $pf_t >/dev/null || log "profile: $pf_t missing (tools/bootstrap installs it)"
	done
	{
		echo "guest clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)" \
			"(available: $(cat /sys/devices/system/clocksource/clocksource0/available_clocksource))"
		echo "CLK_TCK $(getconf CLK_TCK)"
	} >"$PROF/guest.txt"
	gadget_up
	profile_requests
	run_daemon ours "$USBIP_CUSE" daemon_workloads
	run_kernel kernel_workloads
	profile_callgrind
	profile_callgrind_null
	log "profile: files in $PROF"
	# The older daemon of --before the same way (it has no --debug-fuse: no request counts).
	if [ -n "$BEFORE" ]; then
		PROF=$SYSTEST_OUT/profile-before
		mkdir -p "$PROF"
		run_daemon ours "$BEFORE" daemon_workloads
		pf_bin=$USBIP_CUSE
		USBIP_CUSE=$BEFORE
		profile_callgrind
		USBIP_CUSE=$pf_bin
		log "profile: the older daemon's files in $PROF"
	fi
}
