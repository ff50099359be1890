#!/bin/sh
# System test (guest side, run by vm-run): usbip-cuse as a service. One daemon started from a
# configuration file serves two servers (two mocks); it detaches and, with the journal's socket
# present (a fake one here), logs there with USBIP_NODE/SERVER/BUSID fields and control
# characters of a hostile product string escaped; it speaks sd_notify (READY=1, STATUS= per
# node, STOPPING=1) to a socket of the test's own; it drops root to nobody (checked in
# /proc/PID/status) and still reconnects after a server restart; its env files and CDI spec
# are removed at exit by the keeper. Then --log=syslog (a fake /dev/log) and a bad
# configuration (exit 2, nothing started).
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
command -v python3 >/dev/null || skip "python3 not installed"
systest_init
load_modules cuse

NOTIFY=/run/test-notify.sock
NOTIFY_LOG=$SYSTEST_OUT/notify.txt
JOURNAL_LOG=$SYSTEST_OUT/journal.txt
start_sockrecv "$NOTIFY" "$NOTIFY_LOG"
start_sockrecv /run/systemd/journal/socket "$JOURNAL_LOG" journal

# --- two servers: the usual mock (lab, 127.0.0.1:3240), and one whose device has a hostile
# product string (far, 127.0.0.1:3241, bus id 3-1)
start_mock_server
esc=$(printf '\033')
bel=$(printf '\007')
mkdir -p /tmp/fx-far
sed "s/^\(  iProduct *2 \).*/\1Evil${esc}[31mRed${bel}/" "$SRC/test/lsusb/1-1.lsusb" \
	>/tmp/fx-far/3-1.lsusb
grep -q "Evil${esc}" /tmp/fx-far/3-1.lsusb || fail "could not make the hostile fixture"
"$MOCK_SERVER" --dir /tmp/fx-far --port 3241 --listen 127.0.0.1 --control /run/mock2.ctl \
	>"$SYSTEST_OUT/mock2.log" 2>&1 &
MOCK2_PID=$!
bg_track $MOCK2_PID "$SYSTEST_OUT/mock2.log"
wait_for 30 tcp_listening 3241 || fail "second mock does not listen on 3241"

cat >/tmp/svc.conf <<EOF
[daemon]
user=nobody
[server lab]
address=127.0.0.1:3240
[server far]
address=127.0.0.1:3241
[port pico]
server=lab
device=1-1
node=ttyUSBIP-lab
backoff-max=1000
[port evil]
server=far
device=3-1
node=ttyUSBIP-far
EOF
"$USBIP_CUSE" check-config /tmp/svc.conf >&2 || fail "check-config rejects the test's file"

# detached (no --foreground), log target auto: the journal, since its socket exists
NOTIFY_SOCKET=$NOTIFY "$USBIP_CUSE" --config /tmp/svc.conf >"$SYSTEST_OUT/start.out" \
	2>"$SYSTEST_OUT/start.err" </dev/null
rc=$?
[ "$rc" = 0 ] || fail "usbip-cuse --config exited $rc: $(cat "$SYSTEST_OUT/start.err")"
pid=$(pgrep -x usbip-cuse)
case $pid in '' | *[!0-9]*) fail "not one usbip-cuse process: '$pid'" ;; esac
bg_track "$pid"
keeper=$(pgrep -x usbip-cuse-keep)
log "daemon pid $pid, keeper pid $keeper"
for n in ttyUSBIP-lab ttyUSBIP-far; do
	[ -c /dev/$n ] || check_fail "/dev/$n missing after the detached start returned"
done
[ -s "$SYSTEST_OUT/start.err" ] && check_fail "the detached start printed: $(cat "$SYSTEST_OUT/start.err")"

# notify: READY=1 after the nodes, then STATUS with both nodes up
notified() { grep -qxF -- "$1" "$NOTIFY_LOG"; }
wait_for 10 notified "READY=1" || check_fail "no READY=1 (got: $(tr '\n' '|' <"$NOTIFY_LOG"))"
wait_for 10 notified "STATUS=2 of 2 node(s) up: ttyUSBIP-lab up, ttyUSBIP-far up" ||
	check_fail "no STATUS with both nodes up (got: $(tr '\n' '|' <"$NOTIFY_LOG"))"

# privileges: nobody:nogroup, no supplementary groups, no capabilities at all, no-new-privs
uid=$(proc_field "$pid" Uid)
gid=$(proc_field "$pid" Gid)
log "daemon: Uid $uid, Gid $gid, Groups '$(proc_field "$pid" Groups)'," \
	"CapEff $(proc_field "$pid" CapEff), CapBnd $(proc_field "$pid" CapBnd)," \
	"NoNewPrivs $(proc_field "$pid" NoNewPrivs)"
[ "$uid" = "65534 65534 65534 65534" ] || check_fail "daemon Uid: $uid"
[ "$gid" = "65534 65534 65534 65534" ] || check_fail "daemon Gid: $gid"
[ -z "$(proc_field "$pid" Groups)" ] || check_fail "supplementary groups: $(proc_field "$pid" Groups)"
for f in CapEff CapPrm CapInh CapAmb CapBnd; do
	[ "$(proc_field "$pid" $f)" = 0000000000000000 ] || check_fail "$f $(proc_field "$pid" $f)"
done
[ "$(proc_field "$pid" NoNewPrivs)" = 1 ] || check_fail "NoNewPrivs not set"
[ -n "$keeper" ] && [ "$(proc_field "$keeper" Uid | cut -d' ' -f1)" = 0 ] ||
	check_fail "no root file keeper process"

# files beside the nodes
for n in ttyUSBIP-lab ttyUSBIP-far; do
	[ -s /run/usbip-cuse/$n.env ] || check_fail "no /run/usbip-cuse/$n.env"
done
grep -qx 'USBIP_SERVER=far' /run/usbip-cuse/ttyUSBIP-far.env || check_fail "far env file"
grep -qx 'ID_MODEL=Evil__31mRed_' /run/usbip-cuse/ttyUSBIP-far.env ||
	check_fail "hostile product in the env file: $(grep ID_MODEL= /run/usbip-cuse/ttyUSBIP-far.env)"
cdi=/run/cdi/usbip-cuse-svc.json
python3 "$SRC/test/check-cdi.py" "$cdi" ttyUSBIP-lab ttyUSBIP-far >&2 || check_fail "CDI spec $cdi"

# the journal got every message, node messages with their fields, nothing unescaped
jrec() { # jrec PATTERN...: a journal record holding every pattern (grep -F, whole lines)
	awk -v n=$# 'BEGIN { for (i = 1; i < ARGC; i++) want[ARGV[i]] = 1; ARGC = 1 }
		/^--$/ { if (hit == n) found = 1; hit = 0; delete seen; next }
		($0 in want) && !($0 in seen) { seen[$0] = 1; hit++ }
		END { exit !found }' "$@" <"$JOURNAL_LOG"
}
wait_for 10 jrec 'USBIP_NODE=ttyUSBIP-far' 'USBIP_SERVER=far' 'USBIP_BUSID=3-1' \
	'MESSAGE=/dev/ttyUSBIP-far: 127.0.0.1:3241 3-1 0525:a4a7 "Evil\x1b[31mRed\x07" serial "3f7a29c1d0b84e56" port 0 (cdc_acm)' ||
	check_fail "no journal record announcing ttyUSBIP-far, escaped, with its fields"
grep -q '^RAW:\|=RAW:' "$JOURNAL_LOG" && check_fail "a control character reached the journal: \
$(grep 'RAW:' "$JOURNAL_LOG" | head -n 3)"
grep -q "^MESSAGE=running as nobody" "$JOURNAL_LOG" || check_fail "no 'running as nobody' in the journal"

# --- unprivileged, the daemon still reconnects: the lab server dies and comes back
tty_loopback /dev/ttyUSBIP-lab 4096 30
tty_loopback /dev/ttyUSBIP-far 4096 30
stop_mock_server KILL
wait_for 15 notified "STATUS=1 of 2 node(s) up: ttyUSBIP-lab down (reconnecting), ttyUSBIP-far up" ||
	check_fail "no STATUS with ttyUSBIP-lab down (got: $(tr '\n' '|' <"$NOTIFY_LOG"))"
wait_for 10 jrec 'USBIP_NODE=ttyUSBIP-lab' 'USBIP_SERVER=lab' 'USBIP_BUSID=1-1' 'PRIORITY=5' ||
	check_fail "no journal record of the link loss with ttyUSBIP-lab's fields"
lines_before=$(grep -c '^STATUS=2 of 2' "$NOTIFY_LOG")
start_mock_server
mock_wait_state 1-1 imported 30
wait_for 15 sh -c "[ \$(grep -c '^STATUS=2 of 2' $NOTIFY_LOG) -gt $lines_before ]" ||
	check_fail "no STATUS with both nodes up again after the reconnect"
(tty_loopback /dev/ttyUSBIP-lab 65536 30) || check_fail "no loopback after the unprivileged reconnect"
[ "$(proc_field "$pid" Uid)" = "65534 65534 65534 65534" ] || check_fail "Uid changed"

# --- SIGTERM: STOPPING=1, nodes gone, the keeper removes the root-owned files and exits
kill -TERM "$pid"
wait_for 15 sh -c "! kill -0 $pid 2>/dev/null" || fail "daemon alive 15 s after SIGTERM"
notified "STOPPING=1" || check_fail "no STOPPING=1 (got: $(tr '\n' '|' <"$NOTIFY_LOG"))"
wait_for 5 sh -c '! ls /dev/ttyUSBIP-* >/dev/null 2>&1' || check_fail "nodes left: $(ls /dev/ttyUSBIP-*)"
wait_for 5 sh -c "! pgrep -x usbip-cuse-keep" || check_fail "keeper still running"
[ -e /run/usbip-cuse/ttyUSBIP-lab.env ] && check_fail "env file left after exit"
[ -e "$cdi" ] && check_fail "CDI spec left after exit"
mock_wait_state 1-1 free

# --- --log=syslog: messages reach /dev/log (a fake one), stderr stays quiet
SYSLOG_LOG=$SYSTEST_OUT/syslog.txt
start_sockrecv /dev/log "$SYSLOG_LOG"
"$USBIP_CUSE" --foreground --log syslog --device 1-1 --cdi-spec none >"$SYSTEST_OUT/syslog-run.out" \
	2>"$SYSTEST_OUT/syslog-run.err" &
spid=$!
bg_track $spid
wait_for 30 grep -q 'ready with' "$SYSTEST_OUT/syslog-run.out" || fail "syslog run not ready"
kill -TERM $spid
wait $spid
srec="<29>.* usbip-cuse\\[$spid\\]: /dev/ttyUSBIP0: 127.0.0.1 1-1 0525:a4a7 "
grep -q "$srec" "$SYSLOG_LOG" || check_fail "no syslog line like '$srec': $(head -c 600 "$SYSLOG_LOG")"
[ -s "$SYSTEST_OUT/syslog-run.err" ] && check_fail "--log=syslog wrote to stderr: \
$(head -c 300 "$SYSTEST_OUT/syslog-run.err")"

# --- a bad configuration: status 2, the file, group and key named, nothing started
printf '[server lab]\naddress=127.0.0.1\n[port p]\ndevice=1-1\nrx-urbs=0\n' >/tmp/bad.conf
"$USBIP_CUSE" --config /tmp/bad.conf --foreground >/dev/null 2>"$SYSTEST_OUT/bad.err"
rc=$?
[ "$rc" = 2 ] || check_fail "bad configuration: exit $rc, want 2"
grep -qF '/tmp/bad.conf: [port p] rx-urbs: want a whole number from 1 to 64' "$SYSTEST_OUT/bad.err" ||
	check_fail "bad configuration message: $(cat "$SYSTEST_OUT/bad.err")"
mock_expect free state 1-1
ls /dev/ttyUSBIP* >/dev/null 2>&1 && check_fail "a node exists after a bad configuration"
systest_done
