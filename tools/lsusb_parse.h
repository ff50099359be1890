/* SPDX-License-Identifier: MIT */
/*
 * lsusb_parse - turn the text of `lsusb -v -d VID:PID` (one device) into the
 * descriptor bytes the device would send: the 18-byte device descriptor, each
 * configuration's wTotalLength blob (with class-specific CDC functional
 * descriptors re-encoded), and the string table.  Level 0: pure, no
 * allocation; the caller owns struct lsusb_device (about 20 KiB).
 *
 * Format: usbutils 014 (Debian 12) as reference; older (decimal
 * wTotalLength) and newer ("Negotiated speed:" line) variants are accepted.
 * Trailing '\r' is ignored.  What becomes bytes, in text order:
 *   - "Device Descriptor:", "Configuration Descriptor:", "Interface
 *     Association:", "Interface Descriptor:", "Endpoint Descriptor:" (7 or,
 *     with bRefresh/bSynchAddress, 9 bytes);
 *   - "CDC Header:", "CDC Call Management:", "CDC ACM:", "CDC Union:" as
 *     CS_INTERFACE (0x24) functional descriptors;
 *   - hex dumps lsusb prints for descriptors it does not decode
 *     ("** UNRECOGNIZED:", "UNRECOGNIZED CDC:", "INVALID CDC (..):",
 *     "INTERFACE CLASS:", "DEVICE CLASS:"), copied verbatim.
 * Every other decoded block (HID, audio, DFU, CDC Ethernet/NCM, SuperSpeed
 * companions, ...) is skipped: its bytes cannot be rebuilt from the text.
 * wTotalLength is therefore always rewritten to the length actually emitted;
 * the printed value is kept in text_total_len (equal when nothing was skipped).
 * Top-level blocks (Device Qualifier, Binary Object Store, Debug descriptor,
 * OTG, Hub, Device Status) and the noise lines "Couldn't ...", "can't ...",
 * "cannot ..." are skipped.
 *
 * Strings: "iProduct 2 Pico" gives index 2 -> "Pico" (the text is everything
 * after the one space that follows the index, trailing spaces included).  An
 * index printed with no text (lsusb could not read it) is not recorded.
 * Text must be valid UTF-8 without NUL.
 *
 * Checks: every field of a block must be present exactly once; bLength and
 * bDescriptorType must be the standard ones; the number of endpoint blocks
 * must equal bNumEndpoints, distinct interface numbers must equal
 * bNumInterfaces, configurations must equal bNumConfigurations; the Bus
 * line's ID must match idVendor:idProduct; "EP n IN", "Transfer Type" and
 * "1x 64 bytes" must agree with the raw fields.
 *
 * Speed (kernel enum usb_device_speed): the "Negotiated speed:" line when
 * present; else SuperSpeed (5) when bcdUSB >= 3.00; else High (3) when a bulk
 * endpoint has wMaxPacketSize 512, Full (2) when bulk endpoints are smaller;
 * without bulk endpoints High when a Device Qualifier block is present,
 * bcdUSB >= 2.00 and bMaxPacketSize0 is 64, else Full.  Never 0 on success.
 *
 * Returns 0 or -errno: -EINVAL for text that is not `lsusb -v` output of one
 * device (no "Device Descriptor:", two devices, a NUL byte), -EPROTO for a
 * field with an impossible value or a missing/duplicated field, -E2BIG when a
 * fixed limit below (or usb_desc.h's interface/endpoint/IAD limits) is
 * exceeded.  *err_line (may be NULL) is set to the 1-based line of the
 * error, 0 when no line applies (and 0 on success).  On error *out holds
 * partial results and must not be used.
 */
#ifndef LSUSB_PARSE_H
#define LSUSB_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define LSUSB_MAX_CONFIGS    4u
#define LSUSB_MAX_CONFIG_LEN 4096u
#define LSUSB_MAX_STRINGS    32u
#define LSUSB_MAX_STRING_LEN 126u /* UTF-8 bytes, without NUL */

struct lsusb_string {
	uint8_t index; /* string descriptor index (never 0) */
	char text[LSUSB_MAX_STRING_LEN + 1];
};

struct lsusb_device {
	uint8_t busnum; /* from the "Bus 001 Device 002:" line, 0 if absent */
	uint8_t devnum;
	uint8_t speed;           /* kernel enum usb_device_speed, derived as described above */
	uint8_t device_desc[18]; /* wire form (little-endian fields) */
	unsigned num_configs;
	struct {
		uint8_t bytes[LSUSB_MAX_CONFIG_LEN]; /* wire form */
		uint16_t len;                        /* == wTotalLength in bytes[2..3] */
		uint16_t text_total_len;             /* wTotalLength as printed */
	} config[LSUSB_MAX_CONFIGS];
	unsigned num_strings;
	struct lsusb_string strings[LSUSB_MAX_STRINGS]; /* in order of first appearance */
};

/* Parse `len` bytes of text (need not be NUL-terminated). */
int lsusb_parse(const char *text, size_t len, struct lsusb_device *out, unsigned *err_line);

/* The string with this index, or NULL (also for index 0). */
const char *lsusb_parse_string(const struct lsusb_device *d, uint8_t index);

#endif /* LSUSB_PARSE_H */
