#!/bin/sh
# units-verify.sh BUILD: `systemd-analyze verify` on the units as installed (into a scratch
# root that also holds this machine's own units, so that sysinit.target & co. resolve), for
# the plain unit and an instance of the template. Any complaint fails, warnings included
# (verify exits 0 on unknown keys). Skips (77) without systemd-analyze.
set -u
build=$1
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: systemd-analyze not installed (Debian package systemd)"
	exit 77
}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null 2>&1 || {
	echo "FAIL: meson install"
	exit 1
}
# this machine's units (targets the service orders itself after) inside the root
for d in /lib/systemd/system /usr/lib/systemd/system; do
	[ -d "$d" ] || continue
	mkdir -p "$root/usr/lib/systemd/system"
	cp -rn "$d/." "$root/usr/lib/systemd/system/" 2>/dev/null
done
units="$root$UNITDIR/usbip-cuse.service $root$UNITDIR/usbip-cuse@lab.service"
out=$(systemd-analyze verify --man=no --root="$root" $units 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" = 0 ] || {
	echo "FAIL: systemd-analyze verify exited $rc"
	exit 1
}
[ -z "$out" ] || {
	echo "FAIL: systemd-analyze verify complained"
	exit 1
}
echo "PASS: systemd-analyze verify $(systemd-analyze --version | head -n 1)"
