#!/bin/sh
# System test (guest side, run by vm-run): a container without USB privileges uses a node.
# The daemon runs with a fixed major (--major 240: /dev/ttyUSBIP0 is c 240:0) and writes a CDI
# spec (checked against the CDI schema's required fields and the real device numbers). A crun
# container (OCI bundle, rootfs: a tiny busybox tree) runs as uid 1000 with no capabilities,
# no-new-privs, its own network namespace (loopback only), no /dev/bus/usb and no /dev/cuse;
# it gets only /dev/ttyUSBIP0 (a device entry and a cgroup rule for c 240:0) and loops data
# through it. Then the USBIP server restarts, and later the daemon itself (same major): the
# same container process, never restarted, reopens its node and loops data again each time.
# Also: a major whose minor is taken gives a clear error.
. "$(dirname "$0")/lib.sh"
[ -x "$USBIP_CUSE" ] || skip "usbip-cuse not built ($USBIP_CUSE)"
command -v crun >/dev/null || skip "crun not installed (Debian package crun)"
command -v python3 >/dev/null || skip "python3 not installed"
systest_init
MAJOR=240

# cgroup v2 for crun's device rules (eBPF)
if [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2"
fi

start_mock_server
start_daemon --device 1-1 --major $MAJOR --backoff-max 1000
set -- $(stat -c '%t %T' /dev/ttyUSBIP0)
[ "$((0x$1)):$((0x$2))" = "$MAJOR:0" ] || fail "/dev/ttyUSBIP0 is $((0x$1)):$((0x$2)), want $MAJOR:0"
cdi=/run/cdi/usbip-cuse.json
python3 "$SRC/test/check-cdi.py" "$cdi" ttyUSBIP0 >&2 || check_fail "CDI spec $cdi"
grep -q '"kind": "usbip-cuse.io/serial"' "$cdi" || check_fail "CDI kind"

# A second daemon cannot have 240:0 as well: a clear error, nothing left behind.
"$USBIP_CUSE" --foreground --device 1-4 --major $MAJOR --name ttyZ%u --cdi-spec none \
	>"$SYSTEST_OUT/taken.out" 2>&1
rc=$?
log "second daemon on major $MAJOR: exit $rc: $(grep '^usbip-cuse:' "$SYSTEST_OUT/taken.out")"
[ "$rc" = 1 ] || check_fail "second daemon on a taken minor: exit $rc, want 1"
grep -q "refused /dev/ttyZ0 as character device $MAJOR:0: that number is taken" "$SYSTEST_OUT/taken.out" ||
	check_fail "no clear message for a taken device number"
ls /dev/ttyZ* >/dev/null 2>&1 && check_fail "node left by the refused daemon"
mock_wait_state 1-4 free
# A major a kernel driver holds (4: the virtual consoles and serial ports).
"$USBIP_CUSE" --foreground --device 1-4 --major 4 --name ttyZ%u --cdi-spec none \
	>"$SYSTEST_OUT/taken4.out" 2>&1
rc=$?
log "daemon on major 4: exit $rc: $(grep '^usbip-cuse:' "$SYSTEST_OUT/taken4.out")"
[ "$rc" = 1 ] || check_fail "daemon on major 4: exit $rc, want 1"
grep -q "refused /dev/ttyZ0 as character device 4:0: that number is taken (/proc/devices lists major 4 as " "$SYSTEST_OUT/taken4.out" ||
	check_fail "no clear message for major 4"
mock_wait_state 1-4 free

# --- the bundle: busybox, a script, an /out directory shared with the test
B=/tmp/bundle
OUT=/tmp/cout
rm -rf "$B" "$OUT"
mkdir -p "$B/rootfs/bin" "$B/rootfs/dev" "$B/rootfs/proc" "$B/rootfs/sys" "$B/rootfs/tmp" \
	"$B/rootfs/out" "$OUT"
chmod 777 "$OUT"
cp /bin/busybox "$B/rootfs/bin/busybox" || skip "no /bin/busybox (busybox-static)"
for a in sh cat ls id echo sleep head stty grep ip timeout test printf wc; do
	ln -s busybox "$B/rootfs/bin/$a"
done
cat >"$B/rootfs/loop.sh" <<'EOF'
#!/bin/sh
# Inside the container: who am I, what do I see; then one round trip per phase through
# /dev/ttyUSBIP0 (reopened each time), waiting for the test between phases.
exec 2>>/out/err.txt
id >/out/id.txt
grep -E '^(Cap(Eff|Prm|Bnd)|NoNewPrivs)' /proc/self/status >/out/caps.txt
ls /dev >/out/dev.txt
ls /dev/bus/usb >/out/usb.txt 2>&1
ip -o link >/out/net.txt 2>&1
round() {
	exec 3<>/dev/ttyUSBIP0 || { echo "open failed" >/out/round$1.txt; return; }
	stty raw -echo <&3
	printf 'ping %s\n' "$1" >&3
	timeout 10 head -n 1 <&3 >/out/round$1.txt
	exec 3>&-
}
for phase in 1 2 3; do
	i=0
	while [ ! -e /out/go$phase ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
	round $phase
	echo done >/out/done$phase
done
EOF
chmod 755 "$B/rootfs/loop.sh"
python3 - "$B/config.json" $MAJOR <<'EOF'
import json, sys
path, major = sys.argv[1], int(sys.argv[2])
caps = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
cfg = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False, "user": {"uid": 1000, "gid": 1000},
        "args": ["/bin/sh", "/loop.sh"], "env": ["PATH=/bin"], "cwd": "/",
        "capabilities": caps, "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "serial-user",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        {"destination": "/out", "type": "bind", "source": "/tmp/cout", "options": ["rbind", "rw"]},
    ],
    "linux": {
        # the node, and the cgroup rule that lets it be used: c MAJOR:0 only
        "devices": [{"path": "/dev/ttyUSBIP0", "type": "c", "major": major, "minor": 0,
                     "fileMode": 0o660, "uid": 0, "gid": 1000}],
        "resources": {"devices": [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": major, "minor": 0, "access": "rw"},
        ]},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": ["/proc/kcore", "/sys/firmware"],
        "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
    },
}
json.dump(cfg, open(path, "w"), indent=1)
EOF
crun run --bundle "$B" serial-user </dev/null >"$SYSTEST_OUT/crun.out" 2>&1 &
CRUN_PID=$!
bg_track $CRUN_PID "$SYSTEST_OUT/crun.out"
wait_for 30 test -s "$OUT/net.txt" || fail "the container did not start: $(cat "$SYSTEST_OUT/crun.out")"
ctr_pid=$(crun state serial-user | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
log "container init pid $ctr_pid: $(cat "$OUT/id.txt"); /dev: $(tr '\n' ' ' <"$OUT/dev.txt")"

grep -q '^uid=1000 gid=1000' "$OUT/id.txt" || check_fail "container user: $(cat "$OUT/id.txt")"
for f in CapEff CapPrm CapBnd; do
	grep -q "^$f:[[:space:]]*0000000000000000" "$OUT/caps.txt" || check_fail "container $f"
done
grep -q '^NoNewPrivs:[[:space:]]*1' "$OUT/caps.txt" || check_fail "container NoNewPrivs"
grep -qx cuse "$OUT/dev.txt" && check_fail "/dev/cuse visible in the container"
grep -qx bus "$OUT/dev.txt" && check_fail "/dev/bus visible in the container"
grep -qx ttyUSBIP0 "$OUT/dev.txt" || check_fail "no /dev/ttyUSBIP0 in the container"
grep -q 'No such file' "$OUT/usb.txt" || check_fail "/dev/bus/usb in the container: $(cat "$OUT/usb.txt")"
[ "$(grep -vc ': lo:' "$OUT/net.txt")" = 0 ] || check_fail "network besides lo: $(cat "$OUT/net.txt")"

ctr_same() { # the container's process is still the first one
	[ "$(crun state serial-user | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')" = "$ctr_pid" ]
}
phase() { # phase N WHAT: let the container do round N, check it came back
	ctr_same || check_fail "before round $1 ($2): the container process changed"
	touch "$OUT/go$1"
	wait_for 30 test -e "$OUT/done$1" || fail "container round $1 ($2) did not finish"
	[ "$(cat "$OUT/round$1.txt")" = "ping $1" ] ||
		check_fail "container round $1 ($2): got '$(cat "$OUT/round$1.txt")'"
	log "container round $1 ($2): $(cat "$OUT/round$1.txt")"
}
phase 1 "first"

# --- the USBIP server restarts; the container keeps running
stop_mock_server KILL
start_mock_server
mock_wait_state 1-1 imported 30
phase 2 "after the server restarted"

# --- the daemon restarts with the same major: the container's node (c 240:0) is valid again
stop_daemon 15
start_daemon --device 1-1 --major $MAJOR --backoff-max 1000
phase 3 "after the daemon restarted"
wait_for 15 sh -c "! kill -0 $CRUN_PID 2>/dev/null" || check_fail "the container did not finish"
[ -s "$OUT/err.txt" ] && log "container stderr: $(cat "$OUT/err.txt")"
stop_daemon 15
[ -e "$cdi" ] && check_fail "CDI spec left after the daemon stopped"
systest_done
