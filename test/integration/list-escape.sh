#!/bin/sh
# list-escape.sh MOCK USBIP_CUSE FIXTURES: `usbip-cuse list` prints a bus id holding an ANSI
# escape and a newline (from a hostile server) as visible escapes, on one line, in text
# output; --json escapes it as JSON does.
set -u
mock=$1 cli=$2 fixtures=$3
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	exit 1
}
esc=$(printf '\033')
# bus id "1-9<ESC>[2J<NL>x": the mock takes the busid from the file name
mkdir "$tmp/fx"
cp "$fixtures/1-1.lsusb" "$tmp/fx/1-9${esc}[2J
x.lsusb" || fail "cannot create the hostile fixture"
"$mock" --dir "$tmp/fx" --port 0 >"$tmp/port" 2>"$tmp/mock.log" &
pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
port=$(head -n 1 "$tmp/port")
[ -n "$port" ] || fail "mock did not start: $(cat "$tmp/mock.log")"
"$cli" list "127.0.0.1:$port" >"$tmp/out" 2>"$tmp/err" || fail "list failed: $(cat "$tmp/err")"
cat "$tmp/out"
grep -q "$esc" "$tmp/out" && fail "an ESC byte reached the terminal"
[ "$(wc -l <"$tmp/out")" = 2 ] || fail "the bus id's newline split the line"
grep -qF '1-9\x1b[2J\x0ax' "$tmp/out" || fail "the bus id is not shown escaped"
"$cli" list "127.0.0.1:$port" --json >"$tmp/json" || fail "list --json failed"
grep -qF '"1-9\u001b[2J\u000ax"' "$tmp/json" || fail "JSON does not escape it: $(cat "$tmp/json")"
echo "PASS"
