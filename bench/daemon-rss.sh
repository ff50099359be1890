#!/bin/sh
# Guest benchmark: resident memory of the daemon with 1 and with 8 devices
# (mock server, 8 copies of the g_serial fixture), after 1 MiB has looped
# through every node.  Prints figures, asserts nothing about them.
#
#   test/system/vm-run --build-dir build --source-dir . bench/daemon-rss.sh
set -eu
: "${BUILD:?run through test/system/vm-run}" "${SRC:?}"
tmp=$(mktemp -d)
ip link set lo up
modprobe cuse
mkdir "$tmp/fx"
for i in 1 2 3 4 5 6 7 8; do
	cp "$SRC/test/lsusb/1-1.lsusb" "$tmp/fx/1-$i.lsusb"
done
"$BUILD/tools/mock/usbip-mock-server" --dir "$tmp/fx" --port 0 >"$tmp/port" 2>"$tmp/mock.log" &
mock=$!
while [ ! -s "$tmp/port" ]; do sleep 0.1; done
server=127.0.0.1:$(head -n 1 "$tmp/port")
head -c 1048576 /dev/urandom >"$tmp/in"

measure() {
	n=$1
	args=
	for i in $(seq 1 "$n"); do args="$args --device 1-$i"; done
	# shellcheck disable=SC2086
	"$BUILD/src/usbip-cuse" --server "$server" $args --foreground >"$tmp/d.log" 2>&1 &
	d=$!
	while ! grep -q "ready with" "$tmp/d.log"; do
		kill -0 $d || { cat "$tmp/d.log"; exit 1; }
		sleep 0.1
	done
	rss0=$(awk '/VmRSS/ {print $2}' /proc/$d/status)
	for i in $(seq 0 $((n - 1))); do
		stty -F /dev/ttyUSBIP$i raw -echo
		(head -c 1048576 /dev/ttyUSBIP$i >"$tmp/out$i") &
		r=$!
		cat "$tmp/in" >/dev/ttyUSBIP$i
		wait $r
		cmp -s "$tmp/in" "$tmp/out$i" || echo "node $i: loopback mismatch"
	done
	rss1=$(awk '/VmRSS/ {print $2}' /proc/$d/status)
	hwm=$(awk '/VmHWM/ {print $2}' /proc/$d/status)
	echo "daemon with $n device(s): RSS $rss0 KiB idle, $rss1 KiB after 1 MiB through each node, peak $hwm KiB"
	kill -TERM $d
	wait $d || true
}
measure 1
measure 8
kill $mock
