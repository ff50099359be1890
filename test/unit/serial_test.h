/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the vendor serial driver unit tests (test_ftdi.c,
 * test_cp210x.c, test_ch341.c, test_pl2303.c): descriptor byte macros, a
 * configuration parsed from an exact-size heap copy (so ASan sees
 * overreads), and an expected-transfer checker.  Include after cmocka.h.
 */
#ifndef SERIAL_TEST_H
#define SERIAL_TEST_H

#include <stdlib.h>
#include <string.h>

#include "serial_drv.h"
#include "usb_desc.h"

#define LE16(v)                               ((v)&0xff), (((v) >> 8) & 0xff)
#define CFG(total, nintf)                     9, 2, LE16(total), nintf, 1, 0, 0x80, 50
#define INTF(num, alt, neps, cls, sub, proto) 9, 4, num, alt, neps, cls, sub, proto, 0
#define EP(addr, attr, mps, ival)             7, 5, addr, attr, LE16(mps), ival
#define BULK(addr, mps)                       EP(addr, 2, mps, 0)
#define INT_IN(addr, mps, ival)               EP(addr, 3, mps, ival)
#define VENDOR_INTF(num, neps)                INTF(num, 0, neps, 0xff, 0xff, 0xff)

static struct usb_config_desc test_cfg;
static uint8_t *test_held;

/* Parse blob b (wTotalLength must be its size) into test_cfg. */
static const struct usb_config_desc *parse_cfg(const uint8_t *b, size_t n)
{
	free(test_held);
	test_held = malloc(n);
	assert_non_null(test_held);
	memcpy(test_held, b, n);
	assert_int_equal(usb_desc_parse_config(&test_cfg, test_held, n), (ssize_t)n);
	return &test_cfg;
}

static int release_test_held(void **state)
{
	(void)state;
	free(test_held);
	test_held = NULL;
	return 0;
}

static struct usb_device_desc device(uint16_t vid, uint16_t pid, uint16_t bcd_device)
{
	struct usb_device_desc d;
	memset(&d, 0, sizeof(d));
	d.bcdUSB = 0x0200;
	d.bMaxPacketSize0 = 64;
	d.idVendor = vid;
	d.idProduct = pid;
	d.bcdDevice = bcd_device;
	d.iManufacturer = 1;
	d.iProduct = 2;
	d.iSerialNumber = 3;
	d.bNumConfigurations = 1;
	return d;
}

/* One expected control transfer; data (len bytes) is compared for OUT
 * transfers when given. */
struct xfer_want {
	uint8_t type, req;
	uint16_t value, index, len;
	const uint8_t *data;
	uint8_t flags, tag;
};

#define OUT(t, r, v, i)                                                                            \
	{                                                                                          \
		t, r, v, i, 0, NULL, 0, 0                                                          \
	}
#define OUT_DATA(t, r, v, i, d)                                                                    \
	{                                                                                          \
		t, r, v, i, sizeof(d), d, 0, 0                                                     \
	}
#define OUT_OPT(t, r, v, i)                                                                        \
	{                                                                                          \
		t, r, v, i, 0, NULL, SERIAL_XFER_OPTIONAL, 0                                       \
	}
#define IN(t, r, v, i, l, fl, tag)                                                                 \
	{                                                                                          \
		t, r, v, i, l, NULL, fl, tag                                                       \
	}

static void check_xfers_(const struct serial_xfers *q, const struct xfer_want *w, size_t n)
{
	assert_int_equal(q->n, n);
	for (size_t k = 0; k < n; k++) {
		const struct serial_xfer *x = &q->x[k];
		assert_int_equal(x->setup.bmRequestType, w[k].type);
		assert_int_equal(x->setup.bRequest, w[k].req);
		assert_int_equal(x->setup.wValue, w[k].value);
		assert_int_equal(x->setup.wIndex, w[k].index);
		assert_int_equal(x->setup.wLength, w[k].len);
		assert_int_equal(x->flags, w[k].flags);
		assert_int_equal(x->tag, w[k].tag);
		if (w[k].data)
			assert_memory_equal(x->data, w[k].data, w[k].len);
	}
}
#define check_xfers(q, ...)                                                                        \
	do {                                                                                       \
		const struct xfer_want w_[] = {__VA_ARGS__};                                       \
		check_xfers_((q), w_, sizeof(w_) / sizeof(w_[0]));                                 \
	} while (0)

/* A transfer list with room for only `room` more transfers. */
static void xfers_nearly_full(struct serial_xfers *q, unsigned room)
{
	serial_xfers_init(q);
	while (q->n < SERIAL_XFERS_MAX - room)
		assert_int_equal(serial_xfers_add(q, 0x40, 0, 0, 0, NULL, 0), 0);
}

static struct serial_line line(uint32_t baud, uint8_t bits, uint8_t parity, uint8_t stop,
                               uint8_t flow)
{
	struct serial_line l = {baud, bits, parity, stop, flow, 0x11, 0x13};
	return l;
}

#endif /* SERIAL_TEST_H */
