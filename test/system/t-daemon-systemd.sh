#!/bin/sh
# System test (guest side, run by vm-run): the units as meson configures them for installation,
# run by a real systemd (the host's, as PID 1 of its own pid, mount and cgroup namespaces in the
# guest), with all their hardening. usbip-cuse.service reads /etc/usbip-cuse/usbip-cuse.conf (here on a tmpfs
# over /etc), becomes active only after READY=1, shows each node's state in its status line,
# reconnects after a server restart, runs as the configured user, is restarted after a crash,
# and on `systemctl stop` removes its node and files. A bad configuration fails the start with
# status 2 and no restart. The template usbip-cuse@NAME.service reads /etc/usbip-cuse/NAME.conf
# and writes its own CDI spec.
# For the test only, a drop-in sets DefaultDependencies=no (this minimal manager has no
# sysinit.target), sends the daemon's output to a file (there is no journald) and turns
# LeakSanitizer off (sanitizer builds: the unit's system call filter forbids its ptrace).
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
[ -x /lib/systemd/systemd ] || skip "no /lib/systemd/systemd (Debian package systemd)"
systest_init
load_modules cuse
start_mock_server

# --- the units as meson configures them for installation (install-check compares the installed
# copies), the binary where their ExecStart wants it, a writable /etc view for the configuration
for u in usbip-cuse.service usbip-cuse@.service; do
	[ -s "$BUILD/systemd/$u" ] || skip "$u not configured in $BUILD/systemd"
done
prefix_bin=$(sed -n 's,^ExecStart=\(/[^ ]*\)/usbip-cuse .*,\1,p' "$BUILD/systemd/usbip-cuse.service")
[ -d "$prefix_bin" ] || skip "no directory $prefix_bin for the unit's ExecStart on this machine"
log "ExecStart binary in $prefix_bin"
mount -t tmpfs tmpfs "$prefix_bin" || fail "cannot mount a tmpfs on $prefix_bin"
# a copy: PrivateTmp=yes would hide a build tree under /tmp (a CI clone) from the service
cp "$USBIP_CUSE" "$prefix_bin/usbip-cuse" || fail "cannot copy the binary"
mkdir -p /run/host-etc
mount --bind /etc /run/host-etc
mount -t tmpfs tmpfs /etc
for f in /run/host-etc/* /run/host-etc/.[!.]*; do
	[ -e "$f" ] && ln -s "$f" "/etc/${f##*/}"
done
mkdir -p /etc/usbip-cuse
cat >/etc/usbip-cuse/usbip-cuse.conf <<EOF
[daemon]
user=nobody
[server lab]
address=127.0.0.1:3240
[port pico]
device=1-1
backoff-max=1000
EOF
cat >/etc/usbip-cuse/lab2.conf <<EOF
[server lab]
address=127.0.0.1:3240
[port probe]
device=1-4
node=ttyLAB2x%u
EOF
printf '[server lab]\naddress=127.0.0.1:3240\n[port p]\ndevice=1-2\nnode=bad/name\n' \
	>/etc/usbip-cuse/bad.conf

mkdir -p /run/systemd/system
cp "$BUILD"/systemd/usbip-cuse*.service /run/systemd/system/
for u in usbip-cuse.service usbip-cuse@.service; do
	mkdir -p /run/systemd/system/$u.d
	# (and LeakSanitizer off in sanitizer builds: the filter forbids its ptrace)
	printf '[Unit]\nDefaultDependencies=no\n[Service]\nStandardOutput=append:%s\nStandardError=inherit\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
		"$SYSTEST_OUT/unit-output.log" >/run/systemd/system/$u.d/test.conf
done
printf '[Unit]\nDescription=usbip-cuse test\nDefaultDependencies=no\nWants=usbip-cuse.service\n' \
	>/run/systemd/system/usbip-test.target
# The host's generators (fstab, getty, ...) have nothing to do here and are slow under TCG:
# masked, as systemd.generator(7) allows, by /dev/null links of the same name.
mkdir -p /run/systemd/system-generators
for g in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/*; do
	[ -e "$g" ] && ln -sf /dev/null "/run/systemd/system-generators/${g##*/}"
done

# --- systemd as PID 1 of its own namespaces, in a cgroup of its own
mkdir -p /run/cg
mount -t cgroup2 cgroup2 /run/cg || fail "cannot mount cgroup2"
mkdir -p /run/cg/systemd-test
sh -c 'echo $$ >/run/cg/systemd-test/cgroup.procs &&
	exec unshare --cgroup --pid --fork --mount --mount-proc --propagation private \
	sh -c "mount -t cgroup2 cgroup2 /sys/fs/cgroup &&
		exec /lib/systemd/systemd --unit=usbip-test.target --log-target=console"' \
	>"$SYSTEST_OUT/systemd.log" 2>&1 &
UNSHARE_PID=$!
bg_track $UNSHARE_PID "$SYSTEST_OUT/systemd.log"
wait_for 240 test -S /run/systemd/private || fail "systemd did not come up"
# systemctl runs in systemd's namespaces (its private socket only takes peers of its own
# pid namespace)
SD_PID=$(pgrep -P $UNSHARE_PID)
[ -n "$SD_PID" ] || fail "cannot find systemd's pid"
SYSTEMCTL="nsenter --target $SD_PID --mount --pid --root --wd systemctl"
sd() { $SYSTEMCTL "$@"; }
prop() { sd show -P "$2" "$1"; }
manager_up() { $SYSTEMCTL show -P Version >/dev/null 2>&1; }
wait_for 120 manager_up || fail "systemctl cannot talk to systemd"
log "systemd $($SYSTEMCTL show -P Version) is up"

is_active() { [ "$(prop "$1" ActiveState)" = active ]; }
status_is() { [ "$(prop "$1" StatusText)" = "$2" ]; }
show() { sd status --no-pager "$1" 2>&1 | head -n 12 >&2; }
wait_for 120 is_active usbip-cuse.service || {
	show usbip-cuse.service
	fail "usbip-cuse.service not active: $(prop usbip-cuse.service ActiveState)"
}
show usbip-cuse.service
[ -c /dev/ttyUSBIP0 ] || check_fail "active, but no /dev/ttyUSBIP0"
wait_for 10 status_is usbip-cuse.service "1 of 1 node(s) up: ttyUSBIP0 up" ||
	check_fail "status line: '$(prop usbip-cuse.service StatusText)'"
# guest_pid N: the guest's pid of the process that is N in systemd's pid namespace
guest_pid() {
	awk -v n="$1" '$1 == "NSpid:" && NF == 3 && $3 == n { split(FILENAME, p, "/"); print p[3] }' \
		/proc/[0-9]*/status 2>/dev/null
}
pid=$(guest_pid "$(prop usbip-cuse.service MainPID)")
[ -n "$pid" ] || fail "cannot find the service's main process"
log "usbip-cuse.service main process: guest pid $pid"
[ "$(proc_field "$pid" Uid)" = "65534 65534 65534 65534" ] || check_fail "MainPID $pid runs as $(proc_field "$pid" Uid)"
[ "$(proc_field "$pid" CapEff)" = 0000000000000000 ] || check_fail "MainPID has capabilities"
(tty_loopback /dev/ttyUSBIP0 4096 30) || check_fail "no loopback through the service's node"
python3 "$SRC/test/check-cdi.py" /run/cdi/usbip-cuse.json ttyUSBIP0 >&2 || check_fail "CDI spec"

# --- a server restart under the hardening
stop_mock_server KILL
wait_for 15 status_is usbip-cuse.service "0 of 1 node(s) up: ttyUSBIP0 down (reconnecting)" ||
	check_fail "status during the loss: '$(prop usbip-cuse.service StatusText)'"
start_mock_server
mock_wait_state 1-1 imported 30
wait_for 15 status_is usbip-cuse.service "1 of 1 node(s) up: ttyUSBIP0 up" ||
	check_fail "status after the reconnect: '$(prop usbip-cuse.service StatusText)'"
(tty_loopback /dev/ttyUSBIP0 4096 30) || check_fail "no loopback after the reconnect"

# --- a crash: Restart=on-failure brings it back
kill -KILL "$pid"
wait_for 60 sh -c "[ \"\$($SYSTEMCTL show -P NRestarts usbip-cuse.service)\" = 1 ]" ||
	check_fail "not restarted after SIGKILL (NRestarts $(prop usbip-cuse.service NRestarts))"
wait_for 60 is_active usbip-cuse.service || check_fail "not active again after the restart"
wait_for 10 test -c /dev/ttyUSBIP0 || check_fail "no node after the restart"
[ "$(guest_pid "$(prop usbip-cuse.service MainPID)")" != "$pid" ] ||
	check_fail "the same main process after a crash?"

# --- the template: its own file, its own CDI spec
sd start usbip-cuse@lab2.service || check_fail "systemctl start usbip-cuse@lab2.service failed"
is_active usbip-cuse@lab2.service || show usbip-cuse@lab2.service
[ -c /dev/ttyLAB2x0 ] && [ -c /dev/ttyLAB2x1 ] || check_fail "no nodes of usbip-cuse@lab2"
python3 "$SRC/test/check-cdi.py" /run/cdi/usbip-cuse-lab2.json ttyLAB2x0 ttyLAB2x1 >&2 ||
	check_fail "CDI spec of usbip-cuse@lab2"
sd stop usbip-cuse@lab2.service
[ -e /dev/ttyLAB2x0 ] && check_fail "usbip-cuse@lab2's node left after stop"
[ -e /run/cdi/usbip-cuse-lab2.json ] && check_fail "usbip-cuse@lab2's CDI spec left after stop"

# --- a bad configuration: the start fails with status 2, no restart
sd start usbip-cuse@bad.service 2>/dev/null && check_fail "usbip-cuse@bad.service started"
sleep 6 # past RestartSec: a restart would have happened
[ "$(prop usbip-cuse@bad.service ExecMainStatus)" = 2 ] ||
	check_fail "bad configuration: ExecMainStatus $(prop usbip-cuse@bad.service ExecMainStatus)"
[ "$(prop usbip-cuse@bad.service NRestarts)" = 0 ] || check_fail "restarted after a configuration error"
grep -q 'bad.conf: \[port p\]: node: "bad/name"' "$SYSTEST_OUT/unit-output.log" ||
	check_fail "the configuration error is not in the unit's output"

# --- systemctl stop: STOPPING, node and files gone (the keeper removes them)
sd stop usbip-cuse.service || check_fail "systemctl stop failed"
[ "$(prop usbip-cuse.service ActiveState)" = inactive ] || check_fail "not inactive after stop"
wait_for 5 sh -c '! test -e /dev/ttyUSBIP0' || check_fail "node left after stop"
[ -e /run/usbip-cuse/ttyUSBIP0.env ] && check_fail "env file left after stop"
[ -e /run/cdi/usbip-cuse.json ] && check_fail "CDI spec left after stop"
mock_wait_state 1-1 free
kill -KILL "$SD_PID" # PID 1 of its namespace: everything in it goes
systest_done
