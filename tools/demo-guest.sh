#!/bin/sh
# The demo proper (see tools/demo): run as root where /dev/cuse works.
# Arguments: [SERVER[:PORT] [SELECTOR]]; BUILD and SRC name the trees.
set -eu
: "${BUILD:?}" "${SRC:?}"
server=${1:-}
device=${2:-1-1}
tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.5
	rm -rf "$tmp"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

[ -c /dev/cuse ] || modprobe cuse
ip link set lo up 2>/dev/null || true

if [ -z "$server" ]; then
	say "starting the mock USBIP server (lsusb fixtures of test/lsusb, loopback devices)"
	"$BUILD/tools/mock/usbip-mock-server" --dir "$SRC/test/lsusb" --port 0 \
		--control "$tmp/mock.ctl" >"$tmp/mock.port" 2>"$tmp/mock.log" &
	pids="$pids $!"
	i=0
	while [ ! -s "$tmp/mock.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	server=127.0.0.1:$(head -n 1 "$tmp/mock.port")
fi

say "usbip-cuse list $server"
"$BUILD/src/usbip-cuse" list "$server"

say "usbip-cuse --server $server --device $device --foreground"
"$BUILD/src/usbip-cuse" --server "$server" --device "$device" --foreground \
	>"$tmp/daemon.log" 2>&1 &
pids="$pids $!"
i=0
while ! grep -q "ready with" "$tmp/daemon.log" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
cat "$tmp/daemon.log"
ls -l /dev/ttyUSBIP*

say "stty -F /dev/ttyUSBIP0 115200 cs8 -parenb raw -echo"
stty -F /dev/ttyUSBIP0 115200 cs8 -parenb raw -echo
stty -F /dev/ttyUSBIP0 -a | head -n 1
if [ -S "$tmp/mock.ctl" ]; then
	printf 'the device was told: '
	echo "linecoding $device" | socat - "UNIX-CONNECT:$tmp/mock.ctl"
fi

say "round trip: write a line to /dev/ttyUSBIP0 and read what comes back"
exec 3<>/dev/ttyUSBIP0
msg="hello from $(uname -n) through usbip-cuse"
printf '%s\n' "$msg" >&3
reply=$(timeout 3 head -n 1 <&3 || true)
exec 3>&-
printf 'sent:     %s\nreceived: %s\n' "$msg" "$reply"

if [ -S "$tmp/mock.ctl" ]; then
	printf 'DTR/RTS sequence the device saw: '
	echo "lines $device" | socat - "UNIX-CONNECT:$tmp/mock.ctl"
fi
say "done; stopping the daemon (SIGTERM removes the node)"
[ "$reply" = "$msg" ] && echo "demo: OK" || echo "demo: no loopback reply (a real device need not echo)"
