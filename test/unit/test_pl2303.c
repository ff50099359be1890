/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for pl2303: chip type detection from the device descriptor
 * and the HXN-or-TA/TB read, probe on real parts' descriptors, the vendor
 * init sequences, the line request with every baud encoding (expected
 * values from the kernel 6.1 algorithm), flow-control register updates,
 * control lines, break and the UART state decoder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "pl2303.h"
#include "serial_test.h"

#define T_CLASS 0x21
#define T_VOUT  0x40
#define T_VIN   0xc0
#define OPTL    SERIAL_XFER_OPTIONAL

/* lsusb -v of a PL2303HX (067b:2303, bcdUSB 1.10, bcdDevice 3.00,
 * bMaxPacketSize0 64): one vendor interface with interrupt 0x81 IN (10
 * bytes, 1 ms), bulk 0x02 OUT and 0x83 IN of 64 bytes. */
static const uint8_t pl2303_cfg[] = {
    CFG(39, 1),     INTF(0, 0, 3, 0xff, 0x00, 0x00), INT_IN(0x81, 10, 1), BULK(0x02, 64),
    BULK(0x83, 64),
};

static struct usb_device_desc pl_device(uint16_t pid, uint16_t bcd_usb, uint16_t bcd_device)
{
	struct usb_device_desc d = device(0x067b, pid, bcd_device);
	d.bcdUSB = bcd_usb;
	return d;
}

static struct serial_function probe_dev(const struct usb_device_desc *dd)
{
	struct serial_function f;
	assert_int_equal(pl2303_driver.probe(dd, parse_cfg(pl2303_cfg, sizeof(pl2303_cfg)), &f, 1),
	                 1);
	return f;
}

static struct serial_function hx(void)
{
	struct usb_device_desc dd = pl_device(0x2303, 0x0110, 0x0300);
	struct serial_function f = probe_dev(&dd);
	struct serial_xfers q;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	return f;
}

/* A PL2303GC whose flow register read answered `reg`. */
static struct serial_function hxn(uint8_t reg)
{
	struct usb_device_desc dd = pl_device(0x23a3, 0x0200, 0x0105);
	struct serial_function f = probe_dev(&dd);
	struct serial_xfers q;
	assert_int_equal(pl2303_driver.absorb(&f, 2, &reg, 1), 0);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	return f;
}

/* ---- chip type -------------------------------------------------------------------- */

static void test_chip_type(void **state)
{
	static const struct {
		uint8_t cls, mps0;
		uint16_t bcd_usb, bcd_device;
		unsigned chip;
	} t[] = {
	    {0x02, 64, 0x0110, 0x0300, PL2303_TYPE_H}, /* CDC class: legacy */
	    {0x00, 8, 0x0110, 0x0300, PL2303_TYPE_H},  /* 8-byte EP0: legacy */
	    {0xff, 16, 0x0200, 0x0100, PL2303_TYPE_H},
	    {0x00, 64, 0x0110, 0x0300, PL2303_TYPE_HX},
	    {0x00, 64, 0x0110, 0x0202, PL2303_TYPE_HX}, /* any other bcdDevice */
	    {0x00, 64, 0x0110, 0x0400, PL2303_TYPE_HXD},
	    {0x00, 64, 0x0101, 0x0400, PL2303_TYPE_HXD}, /* bcdUSB 1.0.1 taken as 1.1 */
	    {0x00, 64, 0x0200, 0x0300, PL2303_TYPE_TA | PL2303_CHIP_UNSURE},
	    {0x00, 64, 0x0200, 0x0500, PL2303_TYPE_TB | PL2303_CHIP_UNSURE},
	    {0x00, 64, 0x0200, 0x0100, PL2303_TYPE_HXN}, /* GC */
	    {0x00, 64, 0x0200, 0x0105, PL2303_TYPE_HXN},
	    {0x00, 64, 0x0200, 0x0305, PL2303_TYPE_HXN},
	    {0x00, 64, 0x0200, 0x0400, PL2303_TYPE_HXN}, /* GL */
	    {0x00, 64, 0x0200, 0x0405, PL2303_TYPE_HXN},
	    {0x00, 64, 0x0200, 0x0505, PL2303_TYPE_HXN},
	    {0x00, 64, 0x0200, 0x0600, PL2303_TYPE_HXN}, /* GS */
	    {0x00, 64, 0x0200, 0x0605, PL2303_TYPE_HXN},
	    {0x00, 64, 0x0200, 0x0700, PL2303_TYPE_HXN}, /* GR */
	    {0x00, 64, 0x0200, 0x0705, PL2303_TYPE_HXN},
	    {0x00, 64, 0x0200, 0x0200, 0}, /* unknown */
	    {0x00, 64, 0x0100, 0x0300, 0},
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct usb_device_desc dd = pl_device(0x2303, t[k].bcd_usb, t[k].bcd_device);
		dd.bDeviceClass = t[k].cls;
		dd.bMaxPacketSize0 = t[k].mps0;
		if (pl2303_chip_from_desc(&dd) != t[k].chip)
			fail_msg("row %zu: %u, want %u", k, pl2303_chip_from_desc(&dd), t[k].chip);
	}
}

/* ---- probe --------------------------------------------------------------------------- */

static void test_probe(void **state)
{
	struct usb_device_desc dd = pl_device(0x2303, 0x0110, 0x0300);
	struct serial_function f = probe_dev(&dd);
	assert_int_equal(f.driver, SERIAL_DRV_PL2303);
	assert_int_equal(f.chip, PL2303_TYPE_HX);
	assert_int_equal(f.intf, 0);
	assert_int_equal(f.bulk_in_ep, 0x83);
	assert_int_equal(f.bulk_out_ep, 0x02);
	assert_int_equal(f.bulk_in_mps, 64);
	assert_true(f.has_notify);
	assert_int_equal(f.notify_ep, 0x81);
	assert_int_equal(f.notify_mps, 10);
	assert_int_equal(f.notify_interval, 1);
	assert_int_equal(serial_drv_probe(&dd, &test_cfg, &f, 1), 1);
	assert_int_equal(f.driver, SERIAL_DRV_PL2303);
	assert_string_equal(serial_drv_name(SERIAL_DRV_PL2303), "pl2303");

	/* unknown type, not ours, no status endpoint */
	struct usb_device_desc unknown = pl_device(0x2303, 0x0200, 0x0200);
	assert_int_equal(pl2303_driver.probe(&unknown, &test_cfg, &f, 1), -ENODEV);
	struct usb_device_desc other = pl_device(0x2305, 0x0110, 0x0300);
	assert_int_equal(pl2303_driver.probe(&other, &test_cfg, &f, 1), 0);
	static const uint8_t no_int[] = {CFG(32, 1), INTF(0, 0, 2, 0xff, 0, 0), BULK(0x02, 64),
	                                 BULK(0x83, 64)};
	assert_int_equal(pl2303_driver.probe(&dd, parse_cfg(no_int, sizeof(no_int)), &f, 1),
	                 -ENODEV);
	assert_int_equal(pl2303_driver.probe(&dd, &test_cfg, NULL, 0), -ENODEV);
}

static void test_probe_endpoint_hack(void **state)
{
	/* the interrupt endpoint on the first interface, the bulk pair on
	 * the second: found for products with the kernel's endpoint quirk */
	static const uint8_t split[] = {CFG(48, 2),          INTF(0, 0, 1, 0xff, 0, 0),
	                                INT_IN(0x81, 10, 1), INTF(1, 0, 2, 0xff, 0, 0),
	                                BULK(0x02, 64),      BULK(0x83, 64)};
	struct usb_device_desc dd = pl_device(0x2303, 0x0110, 0x0300);
	struct serial_function f;
	assert_int_equal(pl2303_driver.probe(&dd, parse_cfg(split, sizeof(split)), &f, 1), 1);
	assert_int_equal(f.intf, 1);
	assert_true(f.has_notify);
	assert_int_equal(f.notify_ep, 0x81);
	struct usb_device_desc aten = device(0x0557, 0x2008, 0x0300);
	aten.bcdUSB = 0x0110;
	assert_int_equal(pl2303_driver.probe(&aten, &test_cfg, &f, 1), 1);
	/* without the quirk: refused */
	struct usb_device_desc gc = pl_device(0x23a3, 0x0200, 0x0105);
	assert_int_equal(pl2303_driver.probe(&gc, &test_cfg, &f, 1), -ENODEV);
}

/* ---- identify ----------------------------------------------------------------------- */

static void test_identify(void **state)
{
	struct serial_xfers q;
	/* HX: nothing to ask */
	struct usb_device_desc dd = pl_device(0x2303, 0x0110, 0x0300);
	struct serial_function f = probe_dev(&dd);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 0);

	/* TA or GT: the old status read */
	dd = pl_device(0x2303, 0x0200, 0x0300);
	f = probe_dev(&dd);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.identify(&f, &q), 0);
	/* 0xC0 VENDOR_READ 0x01 wValue 0x8080, 1 byte */
	check_xfers(&q, IN(T_VIN, 0x01, 0x8080, 0x0000, 1, OPTL, 1));
	struct serial_function ta = f;
	static const uint8_t one[1] = {0x00};
	assert_int_equal(pl2303_driver.absorb(&ta, 1, one, 1), 0);
	assert_int_equal(ta.chip, PL2303_TYPE_TA);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.identify(&ta, &q), 0);
	assert_int_equal(q.n, 0);
	/* a stall: an HXN (GT), whose flow register is read next round */
	assert_int_equal(pl2303_driver.absorb(&f, 1, NULL, 0), 0);
	assert_int_equal(f.chip, PL2303_TYPE_HXN);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.identify(&f, &q), 0);
	/* 0xC0 0x81 (HXN read) register 0x0a */
	check_xfers(&q, IN(T_VIN, 0x81, 0x000a, 0x0000, 1, OPTL, 2));
	static const uint8_t reg[1] = {0xfe};
	assert_int_equal(pl2303_driver.absorb(&f, 2, reg, 1), 0);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 0);
	/* init: the next connect reads it again */
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 1);
	/* answers nobody asked for */
	assert_int_equal(pl2303_driver.absorb(&f, 1, one, 1), -EINVAL);
	assert_int_equal(pl2303_driver.absorb(&f, 3, one, 1), -EINVAL);

	/* TB or GE: likewise */
	dd = pl_device(0x2304, 0x0200, 0x0500);
	f = probe_dev(&dd);
	assert_int_equal(pl2303_driver.absorb(&f, 1, one, 1), 0);
	assert_int_equal(f.chip, PL2303_TYPE_TB);
}

/* ---- init ---------------------------------------------------------------------------- */

static void test_init(void **state)
{
	struct usb_device_desc dd = pl_device(0x2303, 0x0110, 0x0300);
	struct serial_function f = probe_dev(&dd);
	struct serial_xfers q;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	check_xfers(&q,
	            /* the kernel's startup: vendor reads (answers unused) and writes */
	            IN(T_VIN, 0x01, 0x8484, 0, 1, OPTL, 0), OUT_OPT(T_VOUT, 0x01, 0x0404, 0x0000),
	            IN(T_VIN, 0x01, 0x8484, 0, 1, OPTL, 0), IN(T_VIN, 0x01, 0x8383, 0, 1, OPTL, 0),
	            IN(T_VIN, 0x01, 0x8484, 0, 1, OPTL, 0), OUT_OPT(T_VOUT, 0x01, 0x0404, 0x0001),
	            IN(T_VIN, 0x01, 0x8484, 0, 1, OPTL, 0), IN(T_VIN, 0x01, 0x8383, 0, 1, OPTL, 0),
	            /* register 0 = 1, 1 = 0, 2 = 0x44 */
	            OUT_OPT(T_VOUT, 0x01, 0x0000, 0x0001), OUT_OPT(T_VOUT, 0x01, 0x0001, 0x0000),
	            OUT_OPT(T_VOUT, 0x01, 0x0002, 0x0044),
	            /* open: reset the upstream data pipes (registers 8 and 9) */
	            OUT_OPT(T_VOUT, 0x01, 0x0008, 0x0000), OUT_OPT(T_VOUT, 0x01, 0x0009, 0x0000));

	/* legacy H: register 2 = 0x24, no pipe reset */
	dd.bMaxPacketSize0 = 8;
	f = probe_dev(&dd);
	assert_int_equal(f.chip, PL2303_TYPE_H);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	assert_int_equal(q.n, 11);
	assert_int_equal(q.x[10].setup.wValue, 0x0002);
	assert_int_equal(q.x[10].setup.wIndex, 0x0024);

	/* HXN: only the pipe reset, register 7 = 3 with request 0x80 */
	f = hxn(0xff);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	check_xfers(&q, OUT_OPT(T_VOUT, 0x80, 0x0007, 0x0003));

	xfers_nearly_full(&q, 5);
	f = hx();
	assert_int_equal(pl2303_driver.init(&f, &q), -ENOSPC);
}

/* ---- baud ---------------------------------------------------------------------------- */

/*
 * Standard rates (75 .. 6000000, the table of the kernel) go as they are;
 * other rates as divisors: HX mantissa = 384e6 / baud, divided by 4 while
 * >= 512 (exponent <= 7), bytes {m & 0xff, e << 1 | m >> 8, 0, 0x80},
 * rate (384e6 / m) >> 2e.  31250: m = 12288 -> 3072, 768, 192 at e 3:
 * {0xc0, 0x06, 0x00, 0x80}, 2e6 >> 6 = 31250.
 * TA/TB: halve while >= 2048 (e <= 15): 31250 -> 1536 at e 3:
 * {0x00, (3 & ~1) << 4 | 6 = 0x26, 3 & 1 = 0x01, 0x80}.
 * HXN: always the rate itself.  H: at most 1228800.
 */
static const struct {
	uint32_t baud;
	uint8_t hx[4], ta[4], hxn[4];
	uint32_t hx_actual;
} baud_rows[] = {
    {300, {0x2c, 0x01, 0x00, 0x00}, {0x2c, 0x01, 0x00, 0x00}, {0x2c, 0x01, 0x00, 0x00}, 300},
    {1200, {0xb0, 0x04, 0x00, 0x00}, {0xb0, 0x04, 0x00, 0x00}, {0xb0, 0x04, 0x00, 0x00}, 1200},
    {9600, {0x80, 0x25, 0x00, 0x00}, {0x80, 0x25, 0x00, 0x00}, {0x80, 0x25, 0x00, 0x00}, 9600},
    {19200, {0x00, 0x4b, 0x00, 0x00}, {0x00, 0x4b, 0x00, 0x00}, {0x00, 0x4b, 0x00, 0x00}, 19200},
    {31250, {0xc0, 0x06, 0x00, 0x80}, {0x00, 0x26, 0x01, 0x80}, {0x12, 0x7a, 0x00, 0x00}, 31250},
    {38400, {0x00, 0x96, 0x00, 0x00}, {0x00, 0x96, 0x00, 0x00}, {0x00, 0x96, 0x00, 0x00}, 38400},
    {57600, {0x00, 0xe1, 0x00, 0x00}, {0x00, 0xe1, 0x00, 0x00}, {0x00, 0xe1, 0x00, 0x00}, 57600},
    {115200, {0x00, 0xc2, 0x01, 0x00}, {0x00, 0xc2, 0x01, 0x00}, {0x00, 0xc2, 0x01, 0x00}, 115200},
    {230400, {0x00, 0x84, 0x03, 0x00}, {0x00, 0x84, 0x03, 0x00}, {0x00, 0x84, 0x03, 0x00}, 230400},
    /* 250000: m = 1536 -> 384 at e 1; TA: 1536 at e 0 */
    {250000, {0x80, 0x03, 0x00, 0x80}, {0x00, 0x06, 0x00, 0x80}, {0x90, 0xd0, 0x03, 0x00}, 250000},
    {460800, {0x00, 0x08, 0x07, 0x00}, {0x00, 0x08, 0x07, 0x00}, {0x00, 0x08, 0x07, 0x00}, 460800},
    /* 500000: m = 768 -> 192 at e 1; TA: 768 at e 0 */
    {500000, {0xc0, 0x02, 0x00, 0x80}, {0x00, 0x03, 0x00, 0x80}, {0x20, 0xa1, 0x07, 0x00}, 500000},
    {921600, {0x00, 0x10, 0x0e, 0x00}, {0x00, 0x10, 0x0e, 0x00}, {0x00, 0x10, 0x0e, 0x00}, 921600},
    /* 1000000: m = 384 */
    {1000000,
     {0x80, 0x01, 0x00, 0x80},
     {0x80, 0x01, 0x00, 0x80},
     {0x40, 0x42, 0x0f, 0x00},
     1000000},
    {1500000,
     {0x00, 0x01, 0x00, 0x80},
     {0x00, 0x01, 0x00, 0x80},
     {0x60, 0xe3, 0x16, 0x00},
     1500000},
    {2000000,
     {0xc0, 0x00, 0x00, 0x80},
     {0xc0, 0x00, 0x00, 0x80},
     {0x80, 0x84, 0x1e, 0x00},
     2000000},
    {3000000,
     {0xc0, 0xc6, 0x2d, 0x00},
     {0xc0, 0xc6, 0x2d, 0x00},
     {0xc0, 0xc6, 0x2d, 0x00},
     3000000},
    {6000000,
     {0x80, 0x8d, 0x5b, 0x00},
     {0x80, 0x8d, 0x5b, 0x00},
     {0x80, 0x8d, 0x5b, 0x00},
     6000000},
    /* 12 Mbaud: HX and TA clamp to 6000000, HXN takes it */
    {12000000,
     {0x80, 0x8d, 0x5b, 0x00},
     {0x80, 0x8d, 0x5b, 0x00},
     {0x00, 0x1b, 0xb7, 0x00},
     6000000},
    /* 45: m = 8533333, at e 7 still 520 >= 512: trimmed to 511, rate
     * (384e6 / 511) >> 14 = 45 */
    {45, {0xff, 0x0f, 0x00, 0x80}, {0x11, 0xc4, 0x01, 0x80}, {0x2d, 0x00, 0x00, 0x00}, 45},
};

static void test_baud(void **state)
{
	for (size_t k = 0; k < sizeof(baud_rows) / sizeof(baud_rows[0]); k++) {
		uint8_t out[4];
		uint32_t a = 0;
		assert_int_equal(pl2303_encode_baud(PL2303_TYPE_HX, baud_rows[k].baud, out, &a), 0);
		assert_memory_equal(out, baud_rows[k].hx, 4);
		assert_int_equal(a, baud_rows[k].hx_actual);
		assert_int_equal(pl2303_encode_baud(PL2303_TYPE_TA, baud_rows[k].baud, out, &a), 0);
		assert_memory_equal(out, baud_rows[k].ta, 4);
		assert_int_equal(pl2303_encode_baud(PL2303_TYPE_HXN, baud_rows[k].baud, out, &a),
		                 0);
		assert_memory_equal(out, baud_rows[k].hxn, 4);
		assert_int_equal(a, baud_rows[k].baud);
	}
	uint8_t out[4];
	uint32_t a;
	/* H: at most 1228800, then the nearest standard rate goes direct */
	assert_int_equal(pl2303_encode_baud(PL2303_TYPE_H, 3000000, out, &a), 0);
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0xc0, 0x12, 0x00}), 4);
	assert_int_equal(a, 1228800);
	/* TB: alternative divisors up to 12 Mbaud: 8 Mbaud -> m = 48 */
	assert_int_equal(pl2303_encode_baud(PL2303_TYPE_TB, 8000000, out, &a), 0);
	assert_memory_equal(out, ((const uint8_t[]){0x30, 0x00, 0x00, 0x80}), 4);
	assert_int_equal(a, 8000000);
	/* HX divisor rounding: 7000 -> m = 54857 -> 13714, 3428, 857, 214
	 * at e 4: rate (384e6 / 214) >> 8 = 7009 */
	assert_int_equal(pl2303_encode_baud(PL2303_TYPE_HXD, 7000, out, &a), 0);
	assert_memory_equal(out, ((const uint8_t[]){0xd6, 0x08, 0x00, 0x80}), 4);
	assert_int_equal(a, 7009);
	assert_int_equal(pl2303_encode_baud(PL2303_TYPE_HX, 0, out, &a), -EINVAL);
	assert_int_equal(pl2303_encode_baud(0, 9600, out, &a), -EINVAL);
	assert_int_equal(pl2303_encode_baud(7, 9600, out, &a), -EINVAL);
}

/* ---- set_line ----------------------------------------------------------------------- */

static void test_set_line(void **state)
{
	struct serial_function f = hx();
	struct serial_xfers q;
	struct serial_line l = line(9600, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);
	uint32_t actual = 0;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 9600);
	/* SET_LINE_REQUEST: 9600 LE, 1 stop, no parity, 8 bits */
	static const uint8_t lr[7] = {0x80, 0x25, 0x00, 0x00, 0x00, 0x00, 0x08};
	check_xfers(&q, OUT_DATA(T_CLASS, 0x20, 0x0000, 0x0000, lr),
	            /* flow control off: register 0 = 1 (init's) & ~0xf0 */
	            OUT_OPT(T_VOUT, 0x01, 0x0000, 0x0001));
	/* the same line again: no line request (lost bytes otherwise) */
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, &actual), 0);
	check_xfers(&q, OUT_OPT(T_VOUT, 0x01, 0x0000, 0x0001));
	/* RTS/CTS: 0x60 into the upper nibble */
	l = line(31250, 7, SERIAL_PARITY_EVEN, SERIAL_STOP_2, SERIAL_FLOW_RTSCTS);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 31250);
	static const uint8_t lr2[7] = {0xc0, 0x06, 0x00, 0x80, 0x02, 0x02, 0x07};
	check_xfers(&q, OUT_DATA(T_CLASS, 0x20, 0, 0, lr2), OUT_OPT(T_VOUT, 0x01, 0x0000, 0x0061));
	/* XON/XOFF (only DC1/DC3): 0xc0 */
	l = line(31250, 7, SERIAL_PARITY_EVEN, SERIAL_STOP_2, SERIAL_FLOW_IXON);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT_OPT(T_VOUT, 0x01, 0x0000, 0x00c1));
	l.xon = 'q';
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT_OPT(T_VOUT, 0x01, 0x0000, 0x0001));
	/* init: the next line request is sent even if equal */
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.n, 2);
	assert_int_equal(q.x[0].setup.bRequest, 0x20);
}

static void test_line_bytes(void **state)
{
	static const struct {
		uint8_t bits, parity, stop;
		uint8_t b4, b5, b6;
	} t[] = {
	    {5, SERIAL_PARITY_ODD, SERIAL_STOP_2, 1, 1, 5}, /* CSTOPB with CS5: 1.5 */
	    {5, SERIAL_PARITY_ODD, SERIAL_STOP_1_5, 1, 1, 5},
	    {6, SERIAL_PARITY_MARK, SERIAL_STOP_2, 2, 3, 6},
	    {7, SERIAL_PARITY_SPACE, SERIAL_STOP_1, 0, 4, 7},
	    {8, SERIAL_PARITY_EVEN, SERIAL_STOP_1_5, 2, 2, 8}, /* 1.5 only with CS5 */
	};
	struct serial_function f = hx();
	struct serial_xfers q;
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct serial_line l = line(115200, t[k].bits, t[k].parity, t[k].stop, 0);
		f = hx(); /* rows 0 and 1 make the same request: no dedup here */
		serial_xfers_init(&q);
		assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
		assert_int_equal(q.x[0].setup.wLength, 7);
		assert_memory_equal(q.x[0].data, ((const uint8_t[]){0x00, 0xc2, 0x01, 0x00}), 4);
		assert_int_equal(q.x[0].data[4], t[k].b4);
		assert_int_equal(q.x[0].data[5], t[k].b5);
		assert_int_equal(q.x[0].data[6], t[k].b6);
	}
	struct serial_line l = line(9600, 4, 0, 0, 0);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	l = line(0, 8, 0, 0, 0);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	l = line(9600, 8, 0, 3, 0);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	assert_int_equal(q.n, 0);
	l = line(1200, 8, 0, 0, 0);
	xfers_nearly_full(&q, 0);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), -ENOSPC);
	/* the failed request is not remembered as sent */
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.n, 2);
}

static void test_flow_hxn_and_h(void **state)
{
	struct serial_xfers q;
	/* HXN: register 0x0a bits 2..4, request 0x80; other bits kept */
	struct serial_function f = hxn(0xe3);
	struct serial_line l = line(12000000, 8, 0, 0, SERIAL_FLOW_RTSCTS);
	uint32_t actual;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 12000000);
	static const uint8_t lr[7] = {0x00, 0x1b, 0xb7, 0x00, 0x00, 0x00, 0x08};
	check_xfers(&q, OUT_DATA(T_CLASS, 0x20, 0, 0, lr),
	            /* 0xe3 & ~0x1c | 0x18 */
	            OUT_OPT(T_VOUT, 0x80, 0x000a, 0x00fb));
	l.flow = SERIAL_FLOW_IXON;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT_OPT(T_VOUT, 0x80, 0x000a, 0x00ef));
	l.flow = 0;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT_OPT(T_VOUT, 0x80, 0x000a, 0x00ff));
	/* the register read stalled: flow control left alone */
	struct usb_device_desc dd = pl_device(0x23a3, 0x0200, 0x0105);
	f = probe_dev(&dd);
	assert_int_equal(pl2303_driver.absorb(&f, 2, NULL, 0), 0);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.n, 1);

	/* legacy H: RTS/CTS is 0x40, no automatic XON/XOFF */
	dd = pl_device(0x2303, 0x0110, 0x0300);
	dd.bDeviceClass = 0x02;
	f = probe_dev(&dd);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.init(&f, &q), 0);
	l = line(9600, 8, 0, 0, SERIAL_FLOW_RTSCTS);
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q,
	            OUT_DATA(T_CLASS, 0x20, 0, 0, ((const uint8_t[]){0x80, 0x25, 0, 0, 0, 0, 8})),
	            OUT_OPT(T_VOUT, 0x01, 0x0000, 0x0041));
	l.flow = SERIAL_FLOW_IXON;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT_OPT(T_VOUT, 0x01, 0x0000, 0x0001));
}

/* ---- lines, break, status -------------------------------------------------------------- */

static void test_lines_break(void **state)
{
	struct serial_function f = hx();
	struct serial_xfers q;
	serial_xfers_init(&q);
	assert_int_equal(pl2303_driver.set_lines(&f, 0, &q), 0);
	assert_int_equal(pl2303_driver.set_lines(&f, SERIAL_DTR, &q), 0);
	assert_int_equal(pl2303_driver.set_lines(&f, SERIAL_RTS, &q), 0);
	assert_int_equal(pl2303_driver.set_lines(&f, SERIAL_DTR | SERIAL_RTS, &q), 0);
	assert_int_equal(pl2303_driver.set_break(&f, true, &q), 0);
	assert_int_equal(pl2303_driver.set_break(&f, false, &q), 0);
	check_xfers(&q,
	            /* SET_CONTROL_REQUEST: bit 0 DTR, bit 1 RTS */
	            OUT(T_CLASS, 0x22, 0x0000, 0x0000), OUT(T_CLASS, 0x22, 0x0001, 0x0000),
	            OUT(T_CLASS, 0x22, 0x0002, 0x0000), OUT(T_CLASS, 0x22, 0x0003, 0x0000),
	            /* BREAK_REQUEST: 0xffff on, 0 off */
	            OUT(T_CLASS, 0x23, 0xffff, 0x0000), OUT(T_CLASS, 0x23, 0x0000, 0x0000));
}

static void test_status(void **state)
{
	struct serial_function f = hx();
	struct serial_status st;
	/* a 10-byte notification, the UART state at offset 8 */
	static const struct {
		uint8_t s;
		uint16_t lines, events;
	} t[] = {
	    {0x00, 0, 0},
	    {0x01, SERIAL_DCD, 0},
	    {0x02, SERIAL_DSR, 0},
	    {0x04, 0, SERIAL_EV_BREAK},
	    {0x08, SERIAL_RI, 0},
	    {0x10, 0, SERIAL_EV_FRAMING},
	    {0x20, 0, SERIAL_EV_PARITY},
	    {0x40, 0, SERIAL_EV_OVERRUN},
	    {0x80, SERIAL_CTS, 0},
	    {0x8b, SERIAL_CTS | SERIAL_DSR | SERIAL_RI | SERIAL_DCD, 0},
	    {0xff, SERIAL_CTS | SERIAL_DSR | SERIAL_RI | SERIAL_DCD, SERIAL_EV_MASK},
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		const uint8_t n[10] = {0xa1, 0x20, 0, 0, 0, 0, 2, 0, t[k].s, 0};
		memset(&st, 0, sizeof(st));
		assert_int_equal(
		    pl2303_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n, 10, &st), 0);
		assert_true(st.has_lines);
		assert_int_equal(st.lines, t[k].lines);
		assert_int_equal(st.events, t[k].events);
	}
	static const uint8_t n9[9] = {0xa1, 0x20, 0, 0, 0, 0, 2, 0, 0x80};
	assert_int_equal(pl2303_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n9, 9, &st), 0);
	assert_int_equal(pl2303_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n9, 8, &st),
	                 -EMSGSIZE);
	assert_int_equal(pl2303_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, NULL, 9, &st),
	                 -EMSGSIZE);
	assert_int_equal(pl2303_driver.status_decode(&f, SERIAL_ORIGIN_POLL, n9, 9, &st), -EINVAL);

	/* the Siemens phones: state at offset 0 */
	struct usb_device_desc dd = device(0x11f5, 0x0001, 0x0300);
	dd.bcdUSB = 0x0110;
	f = probe_dev(&dd);
	assert_int_equal(f.chip, PL2303_TYPE_HX | PL2303_CHIP_STATE_IDX0);
	static const uint8_t one[1] = {0x81};
	assert_int_equal(pl2303_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, one, 1, &st), 0);
	assert_int_equal(st.lines, SERIAL_CTS | SERIAL_DCD);
	assert_int_equal(pl2303_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, one, 0, &st),
	                 -EMSGSIZE);
	assert_int_equal(pl2303_driver.status_source, SERIAL_STATUS_INTERRUPT);
	assert_null(pl2303_driver.status_poll);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chip_type),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_probe_endpoint_hack),
	    cmocka_unit_test(test_identify),
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_baud),
	    cmocka_unit_test(test_set_line),
	    cmocka_unit_test(test_line_bytes),
	    cmocka_unit_test(test_flow_hxn_and_h),
	    cmocka_unit_test(test_lines_break),
	    cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, release_test_held);
}
