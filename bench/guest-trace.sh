# Trace phase of bench/guest-bench.sh (sourced there; needs its helpers and lib.sh): where a
# one-byte round trip spends its time, ours against the kernel's, from the kernel's own
# tracepoints (ftrace, no sampling: perf's sampling does not work in this TCG guest).
# Writes SYSTEST_OUT/trace/NODE-MODE.txt: the raw trace of TRACE_PINGS round trips of
# ttybench rtt --mode MODE on NODE (ours, kernel, before), NODE-readone.txt of TRACE_READONE
# bytes read one at a time (and null-glib-readone.txt: one second of the do-nothing node), with
#   sched_switch, sched_wakeup  of every task (kernel threads included: vhci_tx/rx, stub_tx/rx,
#                               the kworker of flush_to_ldisc)
#   raw_syscalls sys_enter/exit of ttybench, of the cat that echoes on /dev/ttyGS0 and of the
#                               daemon (ours, before)
# bench/rtt-timeline (run by bench/guest-bench on the host) cuts each round trip into legs.
TRACE_PINGS=${TRACE_PINGS:-200}
TRACE_MODES="block select poll"
TRACE_READONE=${TRACE_READONE:-2048}
TRACEFS=/sys/kernel/tracing

trace_setup() {
	[ -d "$TRACEFS/events" ] || mount -t tracefs nodev "$TRACEFS" 2>/dev/null ||
		mount -t debugfs nodev /sys/kernel/debug 2>/dev/null
	[ -d "$TRACEFS/events" ] || TRACEFS=/sys/kernel/debug/tracing
	[ -d "$TRACEFS/events/raw_syscalls" ] || {
		log "trace: no tracefs with raw_syscalls events in this kernel"
		return 1
	}
	echo 0 >"$TRACEFS/tracing_on"
	echo nop >"$TRACEFS/current_tracer"
	echo 8192 >"$TRACEFS/buffer_size_kb"
	echo mono >"$TRACEFS/trace_clock" 2>/dev/null
	for tr_e in sched/sched_switch sched/sched_wakeup raw_syscalls/sys_enter \
		raw_syscalls/sys_exit; do
		echo 1 >"$TRACEFS/events/$tr_e/enable"
	done
}

# gs_cat_pid: the cat echoing on /dev/ttyGS0
gs_cat_pid() {
	for tr_p in $(pgrep -x cat); do
		[ "$(readlink "/proc/$tr_p/fd/0")" = /dev/ttyGS0 ] && echo "$tr_p" && return 0
	done
	return 1
}

# trace_run FILTER ARGS...: one traced `ttybench ARGS...` run, with the syscalls of ttybench's
# main thread and of the tasks FILTER names
trace_run() {
	tr_f=$1
	shift
	echo >"$TRACEFS/trace"
	# the shell's pid is ttybench's after exec: the filter names it before it runs
	sh -c 'for e in sys_enter sys_exit; do
			echo "$1 || common_pid == $$" >"$2/events/raw_syscalls/$e/filter"
		done
		echo 1 >"$2/tracing_on"
		shift 2
		exec "$@"' trace "$tr_f" "$TRACEFS" "$TTYB" "$@" >>"$SYSTEST_OUT/trace/ttybench.log" 2>&1
	tr_rc=$?
	echo 0 >"$TRACEFS/tracing_on"
	return $tr_rc
}

# trace_save NODE WHAT DEV DAEMON: the trace just taken, as SYSTEST_OUT/trace/NODE-WHAT.txt
trace_save() {
	{
		echo "# node=$1 mode=$2 cat=${tr_cat:-none} daemon=${4:-none} dev=$3"
		cat "$TRACEFS/trace"
	} >"$SYSTEST_OUT/trace/$1-$2.txt"
	log "trace: $1 $2: $(wc -l <"$SYSTEST_OUT/trace/$1-$2.txt") lines"
}

# trace_node NODE DEV: one trace per reader kind (with the syscalls of the daemon DAEMON_PID
# when one runs)
trace_node() {
	for tr_m in $TRACE_MODES; do
		# a node just attached may still be settling (the gadget reconfigures, and the
		# echo's cat may start again): one retry
		tr_ok=
		for tr_try in 1 2; do
			[ "$tr_try" = 1 ] || sleep 2
			tr_cat=$(gs_cat_pid) || continue
			trace_run "common_pid == $tr_cat${DAEMON_PID:+ || common_pid == $DAEMON_PID}" \
				rtt --warmup 10 --mode "$tr_m" \
				--out "$SYSTEST_OUT/trace/$1-$tr_m-samples.txt" "$TRACE_PINGS" "$2" &&
				tr_ok=1 && break
		done
		if [ -n "$tr_ok" ]; then
			trace_save "$1" "$tr_m" "$2" "${DAEMON_PID:-}"
		else
			log "trace: ttybench $tr_m on $1 failed"
		fi
	done
	# one-byte reads: the echo fills the node's buffer first, then every read(fd, 1) is a
	# request the node answers at once (the null node's ceiling below)
	if ! tr_cat=$(gs_cat_pid) ||
		! trace_run "common_pid == $tr_cat${DAEMON_PID:+ || common_pid == $DAEMON_PID}" \
			readone "$TRACE_READONE" "$2"; then
		log "trace: ttybench readone on $1 failed"
	else
		trace_save "$1" readone "$2" "${DAEMON_PID:-}"
	fi
}

# trace_null: the same reads from the do-nothing CUSE node on a GLib loop
trace_null() {
	[ -n "$NULL_NAMES" ] || start_null_nodes
	tr_cat=
	tr_pid=$(cat "$SYSTEST_OUT/bench-null-glib.pid")
	if trace_run "common_pid == $tr_pid" reqrate --seconds 1 /dev/bench-null-glib; then
		trace_save null-glib readone /dev/bench-null-glib "$tr_pid"
	else
		log "trace: ttybench reqrate on bench-null-glib failed"
	fi
}

phase_trace() {
	mkdir -p "$SYSTEST_OUT/trace"
	trace_setup || return 0
	gadget_up
	run_daemon ours "$USBIP_CUSE" trace_node
	run_kernel trace_node
	[ -n "$BEFORE" ] && run_daemon before "$BEFORE" trace_node
	trace_null
	for tr_e in sched/sched_switch sched/sched_wakeup raw_syscalls/sys_enter \
		raw_syscalls/sys_exit; do
		echo 0 >"$TRACEFS/events/$tr_e/enable"
	done
	log "trace: files in $SYSTEST_OUT/trace"
}
