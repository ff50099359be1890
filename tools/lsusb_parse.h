/* SPDX-License-Identifier: MIT */
/*
 * lsusb_parse - turn the text of `lsusb -v -d VID:PID` (one device) into the
 * descriptor bytes the device would send: the 18-byte device descriptor, each
 * configuration's wTotalLength blob (with class-specific CDC functional
 * descriptors re-encoded), and the string table.  Level 0: pure, no
 * allocation; the caller owns struct lsusb_device (about 20 KiB).
 *
 * Returns 0 or -errno: -EINVAL for text that is not `lsusb -v` output of a
 * device, -EPROTO for a field with an impossible value (with *err_line set to
 * the 1-based line), -E2BIG when a fixed limit below is exceeded.
 */
#ifndef LSUSB_PARSE_H
#define LSUSB_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define LSUSB_MAX_CONFIGS     4u
#define LSUSB_MAX_CONFIG_LEN  4096u
#define LSUSB_MAX_STRINGS     32u
#define LSUSB_MAX_STRING_LEN  126u /* UTF-8 bytes, without NUL */

struct lsusb_string {
	uint8_t index; /* string descriptor index (never 0) */
	char text[LSUSB_MAX_STRING_LEN + 1];
};

struct lsusb_device {
	uint8_t busnum;	  /* from the "Bus 001 Device 002:" line, 0 if absent */
	uint8_t devnum;
	uint8_t speed;	  /* kernel enum usb_device_speed; 0 unknown: see bcdUSB */
	uint8_t device_desc[18];
	unsigned num_configs;
	struct {
		uint8_t bytes[LSUSB_MAX_CONFIG_LEN];
		uint16_t len; /* == wTotalLength */
	} config[LSUSB_MAX_CONFIGS];
	unsigned num_strings;
	struct lsusb_string strings[LSUSB_MAX_STRINGS];
};

/* Parse `len` bytes of text (need not be NUL-terminated). */
int lsusb_parse(const char *text, size_t len, struct lsusb_device *out, unsigned *err_line);

/* The string with this index, or NULL. */
const char *lsusb_parse_string(const struct lsusb_device *d, uint8_t index);

#endif /* LSUSB_PARSE_H */
