#!/bin/sh
# Level-0 modules are pure: no GLib, GIO, fuse or socket headers (design.md 1).
set -eu
root=$1
files="
src/usbip_proto.c include/usbip_proto.h
src/usb_desc.c include/usb_desc.h
src/cdc_acm.c include/cdc_acm.h
include/byteorder.h
src/serial_drv.c include/serial_drv.h
src/serial_match.c include/serial_match.h
src/ftdi.c include/ftdi.h
src/cp210x.c include/cp210x.h
src/ch341.c include/ch341.h
src/pl2303.c include/pl2303.h
src/tty_core.c include/tty_core.h
src/tty_ioctl.c include/tty_ioctl.h
tools/lsusb_parse.c tools/lsusb_parse.h
src/uc_escape.c include/uc_escape.h
src/node_env.c include/node_env.h
"
status=0
for f in $files; do
	if [ ! -f "$root/$f" ]; then
		echo "missing level-0 file $f"
		status=1
		continue
	fi
	if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](glib|gio|glib-unix|fuse|cuse_lowlevel|fuse_lowlevel|sys/socket|netinet/|arpa/|netdb|linux/usbip|sys/un)' "$root/$f"; then
		echo "forbidden include in level-0 file $f"
		status=1
	fi
done
[ $status -eq 0 ] && echo "level-0 includes: ok"
exit $status
