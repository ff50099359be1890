#!/bin/sh
# install-check.sh BUILD: `meson install` into a scratch DESTDIR puts every file where it
# belongs, and what is installed works: the binary prints its version, the units start it
# from where it was installed, the example configuration passes check-config, the udev rules
# are ours. Expected places come from the environment (set by test/install/meson.build):
# BINDIR MANDIR DOCDIR UDEVRULESDIR UNITDIR MODULESLOADDIR VERSION.
set -u
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fails=0
check() { # check MESSAGE CMD...: record a failure unless CMD succeeds
	_msg=$1
	shift
	if "$@"; then
		echo "ok: $_msg"
	else
		echo "FAIL: $_msg"
		fails=$((fails + 1))
	fi
}
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1 || {
	cat "$dest.log"
	echo "FAIL: meson install"
	exit 1
}
rm -f "$dest.log"
echo "installed into $dest:"
(cd "$dest" && find . -type f | sort)

bin=$dest$BINDIR/usbip-cuse
check "binary in $BINDIR" test -x "$bin"
check "--version prints $VERSION" test "$("$bin" --version)" = "usbip-cuse $VERSION"
check "man page in $MANDIR/man1" test -s "$dest$MANDIR/man1/usbip-cuse.1"
check "example configuration in $DOCDIR" test -s "$dest$DOCDIR/usbip-cuse.conf.example"
check "the installed example passes check-config" \
	"$bin" check-config "$dest$DOCDIR/usbip-cuse.conf.example"
rules=$dest$UDEVRULESDIR/70-usbip-cuse.rules
check "udev rules in $UDEVRULESDIR" test -s "$rules"
check "the rules make by-id links" grep -q 'serial/by-id/usbip-' "$rules"
check "modules-load.d entry in $MODULESLOADDIR" grep -qx cuse "$dest$MODULESLOADDIR/usbip-cuse.conf"
for u in usbip-cuse.service usbip-cuse@.service; do
	unit=$dest$UNITDIR/$u
	check "$u in $UNITDIR" test -s "$unit"
	check "$u starts $BINDIR/usbip-cuse" grep -q "^ExecStart=$BINDIR/usbip-cuse --config " "$unit"
	check "$u is Type=notify" grep -qx 'Type=notify' "$unit"
done
check "usbip-cuse.service reads /etc/usbip-cuse/usbip-cuse.conf" \
	grep -q -- '--config /etc/usbip-cuse/usbip-cuse.conf ' "$dest$UNITDIR/usbip-cuse.service"
check "usbip-cuse@.service reads /etc/usbip-cuse/%i.conf" \
	grep -q -- '--config /etc/usbip-cuse/%i.conf ' "$dest$UNITDIR/usbip-cuse@.service"
[ "$fails" = 0 ] || {
	echo "$fails check(s) failed"
	exit 1
}
echo PASS
