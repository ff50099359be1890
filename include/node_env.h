/* SPDX-License-Identifier: MIT */
/*
 * node_env - the identity of one tty node as a udev environment file
 * (level 0: pure).
 *
 * A CUSE node has no USB parent, so udev's usb_id never describes it.  The
 * daemon writes, before it creates /dev/NODE, the file
 * /run/usbip-cuse/NODE.env with the same keys usb_id would give the
 * kernel's ttyACM node, and udev/70-usbip-cuse.rules reads it with
 * IMPORT{file} to make the /dev/serial/by-id and by-usbip links:
 *
 *   ID_VENDOR_ID=2e8a                 idVendor, 4 lower-case hex digits
 *   ID_MODEL_ID=000a                  idProduct
 *   ID_VENDOR=Raspberry_Pi            manufacturer string, else ID_VENDOR_ID
 *   ID_MODEL=Pico                     product string, else ID_MODEL_ID
 *   ID_SERIAL=Raspberry_Pi_Pico_E6605838833C6B2A   VENDOR_MODEL[_SERIAL]
 *   ID_SERIAL_SHORT=E6605838833C6B2A  only with a usable serial string
 *   ID_USB_INTERFACE_NUM=00           the function's interface, 2 hex digits
 *   USBIP_SERVER=lab                  the server's name (config group, or
 *                                     the --server address)
 *   USBIP_BUSID=1-2                   the device's bus id on that server
 *
 * Strings go through the rules of systemd's usb_id (checked against
 * udev-builtin-usb_id.c and udev-util.c, systemd 252): leading and trailing
 * white space removed, each run of inner white space (C locale isspace)
 * becomes one '_', then every byte that is not ASCII alphanumeric, one of
 * "#+-.:=@_", part of a "\x" pair or part of a valid multi-byte UTF-8
 * character becomes '_'.  One deliberate difference: C1 control characters
 * (U+0080-U+009F), which udev keeps, become '_' too, so no control
 * character reaches the file.  A serial string holding any byte below 0x20,
 * above 0x7f or a ',' is not used at all (as usb_id does).  The result
 * never holds white space, quotes, '/' or control characters, so every
 * value is one token udev takes as it is and a valid file name component.
 * Keys whose value would be empty are left out (udev rejects empty values).
 *
 * Return values follow snprintf() (length needed without the NUL; output
 * cut at a character boundary and NUL-terminated when size > 0), or
 * -EINVAL for a NULL argument.
 */
#ifndef NODE_ENV_H
#define NODE_ENV_H

#include <stddef.h>
#include <stdint.h>

struct node_env_id {
	uint16_t vid, pid;
	const char *manufacturer; /* UTF-8 from the device; NULL or "" if none */
	const char *product;      /* likewise */
	const char *serial;       /* likewise */
	unsigned intf;            /* bInterfaceNumber the function is named by */
	const char *server;       /* server name (never empty) */
	const char *busid;        /* bus id on the server */
};

/* One string through the usb_id rules above (the ID_VENDOR/ID_MODEL form). */
int node_env_udev_string(char *dst, size_t size, const char *src);

/* The whole file: a comment line, then one KEY=VALUE line per key. */
int node_env_format(char *buf, size_t size, const struct node_env_id *id);

#endif /* NODE_ENV_H */
