/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ftdi: probe on the descriptors of real parts, chip type
 * by bcdDevice, every request each operation emits, the divisors of both
 * clock families (expected values from the kernel 6.1 algorithm, worked by
 * hand below), and the two status bytes of every bulk-IN packet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "ftdi.h"
#include "serial_test.h"

#define T_OUT 0x40
#define T_IN  0xc0

/* lsusb -v of an FT232R (0403:6001, bcdDevice 6.00): one vendor
 * interface, bulk 0x81 IN / 0x02 OUT, 64 bytes. */
static const uint8_t ft232r_cfg[] = {
    CFG(32, 1),
    VENDOR_INTF(0, 2),
    BULK(0x81, 64),
    BULK(0x02, 64),
};

/* FT2232H (0403:6010, bcdDevice 7.00) at high speed: channels A and B. */
static const uint8_t ft2232h_cfg[] = {
    CFG(55, 2),        VENDOR_INTF(0, 2), BULK(0x81, 512), BULK(0x02, 512),
    VENDOR_INTF(1, 2), BULK(0x83, 512),   BULK(0x04, 512),
};

/* FT4232H (0403:6011, bcdDevice 8.00): channels A to D. */
static const uint8_t ft4232h_cfg[] = {
    CFG(101, 4),       VENDOR_INTF(0, 2), BULK(0x81, 512),   BULK(0x02, 512), VENDOR_INTF(1, 2),
    BULK(0x83, 512),   BULK(0x04, 512),   VENDOR_INTF(2, 2), BULK(0x85, 512), BULK(0x06, 512),
    VENDOR_INTF(3, 2), BULK(0x87, 512),   BULK(0x08, 512),
};

static struct serial_function probe_one(uint16_t pid, uint16_t bcd, const uint8_t *cfg, size_t n)
{
	struct usb_device_desc dd = device(FTDI_VID, pid, bcd);
	struct serial_function f;
	assert_int_equal(ftdi_driver.probe(&dd, parse_cfg(cfg, n), &f, 1), 1);
	return f;
}

static struct serial_function ft232r(void)
{
	return probe_one(0x6001, 0x0600, ft232r_cfg, sizeof(ft232r_cfg));
}

static struct serial_function ft2232h_port(unsigned port)
{
	struct usb_device_desc dd = device(FTDI_VID, 0x6010, 0x0700);
	struct serial_function f[2];
	assert_int_equal(ftdi_driver.probe(&dd, parse_cfg(ft2232h_cfg, sizeof(ft2232h_cfg)), f, 2),
	                 2);
	return f[port];
}

/* ---- probe ------------------------------------------------------------- */

static void test_probe_ft232r(void **state)
{
	struct serial_function f = ft232r();
	assert_int_equal(f.driver, SERIAL_DRV_FTDI);
	assert_int_equal(f.chip, FTDI_CHIP_FT232R);
	assert_int_equal(f.intf, 0);
	assert_int_equal(f.data_intf, 0);
	assert_int_equal(f.data_alt, 0);
	assert_int_equal(f.port, 0);
	assert_int_equal(f.bulk_in_ep, 0x81);
	assert_int_equal(f.bulk_in_mps, 64);
	assert_int_equal(f.bulk_out_ep, 0x02);
	assert_int_equal(f.bulk_out_mps, 64);
	assert_false(f.has_notify);
	assert_int_equal(ftdi_channel(&f), 0); /* legacy chips: wIndex 0 */
	for (unsigned k = 0; k < SERIAL_PRIV_WORDS; k++)
		assert_int_equal(f.priv[k], 0);
}

static void test_probe_multi_channel(void **state)
{
	struct usb_device_desc dd = device(FTDI_VID, 0x6011, 0x0800);
	struct serial_function f[4];
	assert_int_equal(ftdi_driver.probe(&dd, parse_cfg(ft4232h_cfg, sizeof(ft4232h_cfg)), f, 4),
	                 4);
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(f[k].chip, FTDI_CHIP_FT4232H);
		assert_int_equal(f[k].intf, k);
		assert_int_equal(f[k].port, k);
		assert_int_equal(f[k].bulk_in_ep, 0x81 + 2 * k);
		assert_int_equal(f[k].bulk_out_ep, 0x02 + 2 * k);
		assert_int_equal(f[k].bulk_in_mps, 512);
		assert_int_equal(ftdi_channel(&f[k]), k + 1); /* A = 1 ... D = 4 */
	}
	/* max 1: all four counted, one written */
	struct serial_function one[2];
	memset(one, 0xee, sizeof(one));
	assert_int_equal(ftdi_driver.probe(&dd, &test_cfg, one, 1), 4);
	assert_int_equal(one[0].intf, 0);
	assert_int_equal(one[1].intf, 0xee);
	assert_int_equal(ftdi_driver.probe(&dd, &test_cfg, NULL, 0), 4);

	struct serial_function b = ft2232h_port(1);
	assert_int_equal(b.chip, FTDI_CHIP_FT2232H);
	assert_int_equal(ftdi_channel(&b), 2);
}

static void test_probe_chip_types(void **state)
{
	static const struct {
		uint16_t bcd;
		unsigned chip;
		uint16_t channel; /* for interface 0 */
	} t[] = {
	    {0x0000, FTDI_CHIP_SIO, 0},      {0x0100, FTDI_CHIP_SIO, 0},
	    {0x0200, FTDI_CHIP_FT232A, 0},   {0x0400, FTDI_CHIP_FT232B, 0},
	    {0x0500, FTDI_CHIP_FT2232C, 1},  {0x0600, FTDI_CHIP_FT232R, 0},
	    {0x0700, FTDI_CHIP_FT2232H, 1},  {0x0800, FTDI_CHIP_FT4232H, 1},
	    {0x0900, FTDI_CHIP_FT232H, 1},   {0x1000, FTDI_CHIP_FTX, 1},
	    {0x2800, FTDI_CHIP_FT2233HP, 1}, {0x2900, FTDI_CHIP_FT4233HP, 1},
	    {0x3000, FTDI_CHIP_FT2232HP, 1}, {0x3100, FTDI_CHIP_FT4232HP, 1},
	    {0x3200, FTDI_CHIP_FT233HP, 1},  {0x3300, FTDI_CHIP_FT232HP, 1},
	    {0x3600, FTDI_CHIP_FT4232HA, 1},
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct serial_function f =
		    probe_one(0x6001, t[k].bcd, ft232r_cfg, sizeof(ft232r_cfg));
		assert_int_equal(f.chip, t[k].chip);
		assert_int_equal(ftdi_channel(&f), t[k].channel);
		assert_int_equal(ftdi_chip_from_bcd(t[k].bcd), t[k].chip);
	}
	/* values the kernel 6.1 does not know: "unknown device type" */
	static const uint16_t unknown[] = {0x0300, 0x0601, 0x0a00, 0x3400, 0xffff};
	for (size_t k = 0; k < sizeof(unknown) / sizeof(unknown[0]); k++) {
		struct usb_device_desc dd = device(FTDI_VID, 0x6001, unknown[k]);
		struct serial_function f;
		assert_int_equal(ftdi_chip_from_bcd(unknown[k]), 0);
		assert_int_equal(
		    ftdi_driver.probe(&dd, parse_cfg(ft232r_cfg, sizeof(ft232r_cfg)), &f, 1),
		    -ENODEV);
	}
}

static void test_probe_not_ours(void **state)
{
	struct serial_function f;
	struct usb_device_desc cp2102 = device(0x10c4, 0xea60, 0x0100);
	struct usb_device_desc other_pid = device(FTDI_VID, 0x1234, 0x0600);
	const struct usb_config_desc *c = parse_cfg(ft232r_cfg, sizeof(ft232r_cfg));
	assert_int_equal(ftdi_driver.probe(&cp2102, c, &f, 1), 0);
	assert_int_equal(ftdi_driver.probe(&other_pid, c, &f, 1), 0);
	/* an interface without a bulk pair is no port */
	static const uint8_t no_out[] = {CFG(32, 1), VENDOR_INTF(0, 2), BULK(0x81, 64),
	                                 INT_IN(0x83, 8, 1)};
	struct usb_device_desc dd = device(FTDI_VID, 0x6001, 0x0600);
	assert_int_equal(ftdi_driver.probe(&dd, parse_cfg(no_out, sizeof(no_out)), &f, 1), 0);
	/* the registry finds it before cdc_acm */
	assert_int_equal(serial_drv_probe(&dd, parse_cfg(ft232r_cfg, sizeof(ft232r_cfg)), &f, 1),
	                 1);
	assert_int_equal(f.driver, SERIAL_DRV_FTDI);
	assert_string_equal(serial_drv_name(SERIAL_DRV_FTDI), "ftdi_sio");
}

static void test_probe_zero_max_packet(void **state)
{
	/* FT232R programmed with wMaxPacketSize 0: the kernel uses 64 */
	static const uint8_t zero[] = {CFG(32, 1), VENDOR_INTF(0, 2), BULK(0x81, 0), BULK(0x02, 0)};
	struct serial_function f = probe_one(0x6001, 0x0600, zero, sizeof(zero));
	assert_int_equal(f.bulk_in_mps, 64);
	assert_int_equal(f.bulk_out_mps, 64);
}

/* ---- identify ----------------------------------------------------------------- */

static void test_identify_ft232a_or_b(void **state)
{
	struct usb_device_desc dd = device(FTDI_VID, 0x6001, 0x0200);
	struct serial_function f, g;
	struct serial_xfers q;
	const struct usb_config_desc *c = parse_cfg(ft232r_cfg, sizeof(ft232r_cfg));

	/* with a serial number string it is an FT232A: nothing to ask */
	assert_int_equal(ftdi_driver.probe(&dd, c, &f, 1), 1);
	assert_int_equal(f.chip, FTDI_CHIP_FT232A);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 0);

	/* without one it may be an FT232B (iSerialNumber bug): read the
	 * latency timer, which only the B has */
	dd.iSerialNumber = 0;
	assert_int_equal(ftdi_driver.probe(&dd, c, &f, 1), 1);
	assert_int_equal(f.chip, FTDI_CHIP_FT232A | FTDI_CHIP_UNSURE);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.identify(&f, &q), 0);
	/* 0xC0 GET_LATENCY_TIMER wValue 0 wIndex 0 (no channel), 1 byte */
	check_xfers(&q, IN(T_IN, 0x0a, 0x0000, 0x0000, 1, SERIAL_XFER_OPTIONAL, 1));
	g = f;
	static const uint8_t lat[1] = {16};
	assert_int_equal(ftdi_driver.absorb(&g, 1, lat, 1), 0);
	assert_int_equal(g.chip, FTDI_CHIP_FT232B);
	/* a stall: an FT232A */
	assert_int_equal(ftdi_driver.absorb(&f, 1, NULL, 0), 0);
	assert_int_equal(f.chip, FTDI_CHIP_FT232A);
	/* decided: the next round asks nothing */
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 0);
	/* an answer nobody asked for */
	assert_int_equal(ftdi_driver.absorb(&f, 1, lat, 1), -EINVAL);
	assert_int_equal(ftdi_driver.absorb(&g, 7, lat, 1), -EINVAL);
}

/* ---- init --------------------------------------------------------------------- */

static void test_init(void **state)
{
	struct serial_xfers q;
	struct serial_function f = ft232r();
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.init(&f, &q), 0);
	check_xfers(&q,
	            /* RESET SIO, wIndex 0 */
	            OUT(T_OUT, 0x00, 0x0000, 0x0000),
	            /* SET_LATENCY_TIMER 1 ms */
	            OUT(T_OUT, 0x09, FTDI_LATENCY_MS, 0x0000));

	f = ft2232h_port(1);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.init(&f, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x00, 0x0000, 0x0002), OUT(T_OUT, 0x09, 0x0001, 0x0002));

	/* SIO and FT232A have no latency timer */
	f = probe_one(0x6001, 0x0200, ft232r_cfg, sizeof(ft232r_cfg));
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.init(&f, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x00, 0x0000, 0x0000));
	f = probe_one(0x8372, 0x0100, ft232r_cfg, sizeof(ft232r_cfg));
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.init(&f, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x00, 0x0000, 0x0000));

	xfers_nearly_full(&q, 1);
	f = ft232r();
	assert_int_equal(ftdi_driver.init(&f, &q), -ENOSPC);
}

/* ---- divisors ----------------------------------------------------------------- */

struct div_row {
	uint32_t baud, divisor, actual;
};

static void check_divisors(unsigned chip, const struct div_row *r, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uint32_t div = 0xdeadbeef, actual = 0;
		assert_int_equal(ftdi_divisor(chip, r[k].baud, &div, &actual), 0);
		if (div != r[k].divisor || actual != r[k].actual)
			fail_msg("chip %u baud %u: divisor %#x actual %u, want %#x %u", chip,
			         r[k].baud, div, actual, r[k].divisor, r[k].actual);
	}
}

/*
 * 3 MHz family (FT232B/R, FT2232C, FT-X): d = round(24 MHz / baud) eighths;
 * divisor = d >> 3 | code(d & 7) << 14 with codes {0,3,2,4,1,5,6,7} for
 * 0/8 .. 7/8; 1.0 -> 0, 1.5 -> 1; actual = 24 MHz / d.
 *   115200: d = 208.33 -> 208 = 26 + 0/8 -> 0x001a, 24e6/208 = 115385
 *   57600:  d = 416.67 -> 417 = 52 + 1/8 -> 52 | 3 << 14 = 0xc034
 *   921600: d = 26.04 -> 26 = 3 + 2/8 -> 3 | 2 << 14 = 0x8003
 *   460800: d = 52.08 -> 52 = 6 + 4/8 -> 6 | 1 << 14 = 0x4006
 *   9600:   d = 2500 = 312 + 4/8 -> 0x138 | 0x4000 = 0x4138
 *   2000000: d = 12 = 1.5 -> 1;  3000000: d = 8 = 1.0 -> 0
 */
static const struct div_row bm_rows[] = {
    {300, 0x002710, 300},
    {1200, 0x0009c4, 1200},
    {9600, 0x004138, 9600},
    {19200, 0x00809c, 19200},
    {31250, 0x000060, 31250},
    {38400, 0x00c04e, 38400},
    {57600, 0x00c034, 57554},
    {115200, 0x00001a, 115385},
    {230400, 0x00000d, 230769},
    {250000, 0x00000c, 250000},
    {460800, 0x004006, 461538},
    {500000, 0x000006, 500000},
    {921600, 0x008003, 923077},
    {1000000, 0x000003, 1000000},
    {1500000, 0x000002, 1500000},
    {2000000, 0x000001, 2000000},
    {3000000, 0x000000, 3000000},
    /* limits: 184 baud is the slowest 14-bit divisor (16304 + 4/8) */
    {184, 0x013fb0, 184},
    /* 2.5 MHz: d = 9.6 -> 10 = 1 + 2/8, no special code (AN232B-05
     * allows no divisor between 1 and 2 but 1.5; the kernel sends it) */
    {2500000, 0x008001, 2400000},
};

static void test_divisor_3mhz(void **state)
{
	static const unsigned chips[] = {FTDI_CHIP_FT232B, FTDI_CHIP_FT232R, FTDI_CHIP_FT2232C,
	                                 FTDI_CHIP_FTX};
	for (size_t k = 0; k < sizeof(chips) / sizeof(chips[0]); k++)
		check_divisors(chips[k], bm_rows, sizeof(bm_rows) / sizeof(bm_rows[0]));
	uint32_t d, a;
	assert_int_equal(ftdi_divisor(FTDI_CHIP_FT232R, 3000001, &d, &a), -EINVAL);
	assert_int_equal(ftdi_divisor(FTDI_CHIP_FT232R, 183, &d, &a), -EINVAL);
	assert_int_equal(ftdi_divisor(FTDI_CHIP_FT232R, 0, &d, &a), -EINVAL);
	assert_int_equal(ftdi_divisor(FTDI_CHIP_FT232R, 9600, NULL, &a), -EINVAL);
	assert_int_equal(ftdi_divisor(0, 9600, &d, &a), -EINVAL);
}

/*
 * 12 MHz H clock (FT2232H, FT4232H, FT232H) from 1200 baud: d = round(96
 * MHz / baud) eighths, same codes, bit 17 set; actual = 96 MHz / d.
 *   115200: d = 833.33 -> 833 = 104 + 1/8 -> 0x68 | 3 << 14 | bit 17 = 0x2c068
 *   57600:  d = 1666.67 -> 1667 = 208 + 3/8 -> 0xd0 | 4 << 14 = 0x100d0 | bit 17
 *   12 MHz: d = 8 -> 1.0 -> 0 | bit 17
 * Below 1200 baud the 3 MHz formula, without bit 17.
 */
static const struct div_row h_rows[] = {
    {300, 0x002710, 300},
    {1200, 0x022710, 1200},
    {9600, 0x0204e2, 9600},
    {19200, 0x020271, 19200},
    {31250, 0x020180, 31250},
    {38400, 0x024138, 38400},
    {57600, 0x0300d0, 57588},
    {115200, 0x02c068, 115246},
    {230400, 0x02c034, 230216},
    {250000, 0x020030, 250000},
    {460800, 0x02001a, 461538},
    {500000, 0x020018, 500000},
    {921600, 0x02000d, 923077},
    {1000000, 0x02000c, 1000000},
    {1500000, 0x020008, 1500000},
    {2000000, 0x020006, 2000000},
    {3000000, 0x020004, 3000000},
    {6000000, 0x020002, 6000000},
    {8000000, 0x020001, 8000000},
    {12000000, 0x020000, 12000000},
    /* 1199: the 3 MHz formula, d = 20016.68 -> 20017 = 2502 + 1/8 */
    {1199, 0x00c9c6, 1199},
};

static void test_divisor_h(void **state)
{
	static const unsigned chips[] = {FTDI_CHIP_FT2232H,  FTDI_CHIP_FT4232H,  FTDI_CHIP_FT232H,
	                                 FTDI_CHIP_FT2233HP, FTDI_CHIP_FT4233HP, FTDI_CHIP_FT2232HP,
	                                 FTDI_CHIP_FT4232HP, FTDI_CHIP_FT233HP,  FTDI_CHIP_FT232HP,
	                                 FTDI_CHIP_FT4232HA};
	for (size_t k = 0; k < sizeof(chips) / sizeof(chips[0]); k++)
		check_divisors(chips[k], h_rows, sizeof(h_rows) / sizeof(h_rows[0]));
	uint32_t d, a;
	assert_int_equal(ftdi_divisor(FTDI_CHIP_FT232H, 12000001, &d, &a), -EINVAL);
	assert_int_equal(ftdi_divisor(FTDI_CHIP_FT4232HA + 1, 9600, &d, &a), -EINVAL);
}

/*
 * FT232A (AM): eighths rounded to what it expresses: x.7/8 up to x+1,
 * 1/8 -> 0xc000, 2/8 and 3/8 -> 1/4 (0x8000), 4/8..6/8 -> 1/2 (0x4000).
 *   57600: d = 417 = 52 + 1/8 -> 0xc034 (as BM)
 *   2000000: d = 12 = 1 + 4/8 -> 0x4001 (no 1.5 special code on AM)
 *   7200: d = 3333.33 -> 3333 = 416 + 5/8 -> runs 416.5: 0x41a0, 7203
 *   4800: d = 5000 = 625 -> 0x271
 */
static const struct div_row am_rows[] = {
    {300, 0x2710, 300},
    {1200, 0x09c4, 1200},
    {9600, 0x4138, 9600},
    {19200, 0x809c, 19200},
    {31250, 0x0060, 31250},
    {38400, 0xc04e, 38400},
    {57600, 0xc034, 57554},
    {115200, 0x001a, 115385},
    {230400, 0x000d, 230769},
    {250000, 0x000c, 250000},
    {460800, 0x4006, 461538},
    {500000, 0x0006, 500000},
    {921600, 0x8003, 923077},
    {1000000, 0x0003, 1000000},
    {1500000, 0x0002, 1500000},
    {2000000, 0x4001, 2000000},
    {3000000, 0x0000, 3000000},
    {7200, 0x41a0, 7203},
    {4800, 0x0271, 4800},
    /* x.7/8 rounds up: 24e6/3429 is 6999 = 874 + 7/8 -> 875 */
    {3429, 0x036b, 3429},
};

static void test_divisor_am(void **state)
{
	check_divisors(FTDI_CHIP_FT232A, am_rows, sizeof(am_rows) / sizeof(am_rows[0]));
	check_divisors(FTDI_CHIP_FT232A | FTDI_CHIP_UNSURE, am_rows, 3);
	uint32_t d, a;
	assert_int_equal(ftdi_divisor(FTDI_CHIP_FT232A, 3000001, &d, &a), -EINVAL);
}

static void test_divisor_sio(void **state)
{
	/* codes 0..9 for 300 .. 115200; nothing else */
	static const struct div_row rows[] = {
	    {300, 0, 300},     {600, 1, 600},       {1200, 2, 1200},   {2400, 3, 2400},
	    {4800, 4, 4800},   {9600, 5, 9600},     {19200, 6, 19200}, {38400, 7, 38400},
	    {57600, 8, 57600}, {115200, 9, 115200},
	};
	check_divisors(FTDI_CHIP_SIO, rows, sizeof(rows) / sizeof(rows[0]));
	uint32_t d, a;
	assert_int_equal(ftdi_divisor(FTDI_CHIP_SIO, 31250, &d, &a), -EINVAL);
	assert_int_equal(ftdi_divisor(FTDI_CHIP_SIO, 230400, &d, &a), -EINVAL);
}

/* ---- set_line ----------------------------------------------------------------- */

static void test_set_line_ft232r(void **state)
{
	struct serial_function f = ft232r();
	struct serial_xfers q;
	struct serial_line l = line(115200, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);
	uint32_t actual = 0;
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 115385);
	check_xfers(&q,
	            /* SET_DATA: 8 bits, parity none (0 << 8), 1 stop (0 << 11) */
	            OUT(T_OUT, 0x04, 0x0008, 0x0000),
	            /* SET_BAUDRATE divisor 0x0001a: wValue 0x001a, wIndex bits 16.. = 0 */
	            OUT(T_OUT, 0x03, 0x001a, 0x0000),
	            /* SET_FLOW_CTRL: none */
	            OUT(T_OUT, 0x02, 0x0000, 0x0000));

	/* 3 MHz family, fraction in bit 16: 460800 -> 0x4006 (bit 16 clear);
	 * 1200 -> 0x09c4 */
	l = line(1200, 7, SERIAL_PARITY_EVEN, SERIAL_STOP_2, SERIAL_FLOW_RTSCTS);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 1200);
	check_xfers(&q,
	            /* 7 | even (2 << 8) | two stop bits (2 << 11) */
	            OUT(T_OUT, 0x04, 0x1207, 0x0000), OUT(T_OUT, 0x03, 0x09c4, 0x0000),
	            /* RTS/CTS: wIndex 0x0100 | channel 0 */
	            OUT(T_OUT, 0x02, 0x0000, 0x0100));

	/* mark and space parity, XON/XOFF with the characters in wValue */
	l = line(9600, 8, SERIAL_PARITY_MARK, SERIAL_STOP_1, SERIAL_FLOW_IXON);
	l.xon = 0x11;
	l.xoff = 0x13;
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x0308, 0x0000), OUT(T_OUT, 0x03, 0x4138, 0x0000),
	            /* wValue XOFF << 8 | XON, wIndex 0x0400 */
	            OUT(T_OUT, 0x02, 0x1311, 0x0400));
	l = line(9600, 8, SERIAL_PARITY_SPACE, SERIAL_STOP_1,
	         SERIAL_FLOW_IXON | SERIAL_FLOW_RTSCTS);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), 0);
	/* space parity 4 << 8; RTS/CTS wins over XON/XOFF */
	check_xfers(&q, OUT(T_OUT, 0x04, 0x0408, 0x0000), OUT(T_OUT, 0x03, 0x4138, 0x0000),
	            OUT(T_OUT, 0x02, 0x0000, 0x0100));
	/* IXOFF alone: the chip has no such mode */
	l = line(9600, 8, SERIAL_PARITY_ODD, SERIAL_STOP_1, SERIAL_FLOW_IXOFF);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x0108, 0x0000), OUT(T_OUT, 0x03, 0x4138, 0x0000),
	            OUT(T_OUT, 0x02, 0x0000, 0x0000));
}

static void test_set_line_word_sizes(void **state)
{
	struct serial_function f = ft232r();
	struct serial_xfers q;
	struct serial_line l = line(9600, 5, SERIAL_PARITY_NONE, SERIAL_STOP_1_5, 0);
	/* CS5: the kernel's quirk sends 0 data bits; CSTOPB always 2 stop */
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.x[0].setup.wValue, 0x1000);
	/* CS6 exists on no FTDI UART: refused, nothing queued */
	l.data_bits = 6;
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	assert_int_equal(q.n, 0);
	l = line(9600, 9, 0, 0, 0);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	l = line(9600, 8, 5, 0, 0);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	l = line(9600, 8, 0, 3, 0);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	/* a rate with no divisor: refused, nothing queued, data word kept */
	f.priv[0] = 0x0008;
	l = line(3500000, 8, 0, 0, 0);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	assert_int_equal(q.n, 0);
	assert_int_equal(f.priv[0], 0x0008);
	/* a full list */
	l = line(9600, 8, 0, 0, 0);
	xfers_nearly_full(&q, 2);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), -ENOSPC);
}

static void test_set_line_channels(void **state)
{
	/* FT2232H channel B: every wIndex carries channel 2; the divisor's
	 * bits 16.. go to the wIndex high byte */
	struct serial_function f = ft2232h_port(1);
	struct serial_xfers q;
	struct serial_line l =
	    line(57600, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, SERIAL_FLOW_RTSCTS);
	uint32_t actual;
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 57588);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x0008, 0x0002),
	            /* divisor 0x300d0: wValue 0x00d0, wIndex 0x03 << 8 | 2 */
	            OUT(T_OUT, 0x03, 0x00d0, 0x0302), OUT(T_OUT, 0x02, 0x0000, 0x0102));
	/* 12 Mbaud on channel A */
	f = ft2232h_port(0);
	l = line(12000000, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 12000000);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x0008, 0x0001), OUT(T_OUT, 0x03, 0x0000, 0x0201),
	            OUT(T_OUT, 0x02, 0x0000, 0x0001));
	/* FT232H: a single channel, still selected as 1 */
	static const uint8_t ft232h_cfg[] = {CFG(32, 1), VENDOR_INTF(0, 2), BULK(0x81, 512),
	                                     BULK(0x02, 512)};
	f = probe_one(0x6014, 0x0900, ft232h_cfg, sizeof(ft232h_cfg));
	l = line(3000000, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, &actual), 0);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x0008, 0x0001), OUT(T_OUT, 0x03, 0x0004, 0x0201),
	            OUT(T_OUT, 0x02, 0x0000, 0x0001));
	/* FT232R at 184 baud: bit 16 of the divisor goes to wIndex bit 0 */
	f = ft232r();
	l = line(184, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(q.x[1].setup.wValue, 0x3fb0);
	assert_int_equal(q.x[1].setup.wIndex, 0x0001);
}

/* ---- lines, break, purge -------------------------------------------------------- */

static void test_set_lines(void **state)
{
	struct serial_function f = ft232r();
	struct serial_xfers q;
	static const struct {
		unsigned lines;
		uint16_t value;
	} t[] = {
	    {0, 0x0300},                       /* both enables, both low */
	    {SERIAL_DTR, 0x0301},              /* DTR high */
	    {SERIAL_RTS, 0x0302},              /* RTS high */
	    {SERIAL_DTR | SERIAL_RTS, 0x0303}, /* both high */
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		serial_xfers_init(&q);
		assert_int_equal(ftdi_driver.set_lines(&f, t[k].lines, &q), 0);
		check_xfers(&q, OUT(T_OUT, 0x01, t[k].value, 0x0000));
	}
	f = ft2232h_port(1);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_lines(&f, SERIAL_DTR, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x01, 0x0301, 0x0002));
}

static void test_break(void **state)
{
	struct serial_function f = ft232r();
	struct serial_xfers q;
	struct serial_line l = line(9600, 7, SERIAL_PARITY_ODD, SERIAL_STOP_2, 0);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&f, &l, &q, NULL), 0);
	/* break is bit 14 of the SET_DATA word set_line sent (7 | odd | 2 stop) */
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_break(&f, true, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x5107, 0x0000));
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_break(&f, false, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x1107, 0x0000));
	/* on channel D */
	struct usb_device_desc dd = device(FTDI_VID, 0x6011, 0x0800);
	struct serial_function ff[4];
	assert_int_equal(ftdi_driver.probe(&dd, parse_cfg(ft4232h_cfg, sizeof(ft4232h_cfg)), ff, 4),
	                 4);
	l = line(9600, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_line(&ff[3], &l, &q, NULL), 0);
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.set_break(&ff[3], true, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x04, 0x4008, 0x0004));
}

static void test_purge(void **state)
{
	struct serial_function f = ft2232h_port(0);
	struct serial_xfers q;
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.purge(&f, true, false, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x00, 0x0002, 0x0001)); /* receive buffer */
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.purge(&f, false, true, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x00, 0x0001, 0x0001)); /* transmit buffer */
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.purge(&f, true, true, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x00, 0x0002, 0x0001), OUT(T_OUT, 0x00, 0x0001, 0x0001));
	serial_xfers_init(&q);
	assert_int_equal(ftdi_driver.purge(&f, false, false, &q), 0);
	assert_int_equal(q.n, 0);
}

/* ---- rx framing ------------------------------------------------------------------ */

static ssize_t frame(struct serial_function *f, uint8_t *buf, size_t len, struct serial_status *st)
{
	memset(st, 0, sizeof(*st));
	return ftdi_driver.rx_frame(f, buf, len, st);
}

static void test_rx_single_packets(void **state)
{
	struct serial_function f = ft232r();
	struct serial_status st;
	/* modem status 0x31: CTS | DSR (bit 0 is always 1); line status 0x60:
	 * transmitter empty; then "hi" */
	uint8_t p[] = {0x31, 0x60, 'h', 'i'};
	assert_int_equal(frame(&f, p, sizeof(p), &st), 2);
	assert_memory_equal(p, "hi", 2);
	assert_true(st.has_lines);
	assert_int_equal(st.lines, SERIAL_CTS | SERIAL_DSR);
	assert_int_equal(st.events, 0);

	/* status only: lines, no data, no events (0x0e errors repeat in
	 * status-only packets and are ignored there, as the kernel does) */
	uint8_t s[] = {0xc1, 0x0e | 0x10};
	assert_int_equal(frame(&f, s, sizeof(s), &st), 0);
	assert_true(st.has_lines);
	assert_int_equal(st.lines, SERIAL_RI | SERIAL_DCD);
	assert_int_equal(st.events, 0);

	/* every modem bit */
	uint8_t all[] = {0xf1, 0x00};
	assert_int_equal(frame(&f, all, 2, &st), 0);
	assert_int_equal(st.lines, SERIAL_CTS | SERIAL_DSR | SERIAL_RI | SERIAL_DCD);

	/* an empty transfer changes nothing */
	assert_int_equal(frame(&f, s, 0, &st), 0);
	assert_false(st.has_lines);
	/* one byte cannot be a packet */
	uint8_t one[] = {0x01};
	assert_int_equal(frame(&f, one, 1, &st), -EPROTO);
}

static void test_rx_line_errors(void **state)
{
	struct serial_function f = ft232r();
	struct serial_status st;
	/* parity error with data: 0x04 */
	uint8_t pe[] = {0x01, 0x04, 'x'};
	assert_int_equal(frame(&f, pe, sizeof(pe), &st), 1);
	assert_int_equal(st.events, SERIAL_EV_PARITY);
	/* framing 0x08; parity takes precedence when both */
	uint8_t fe[] = {0x01, 0x08, 'x'};
	assert_int_equal(frame(&f, fe, sizeof(fe), &st), 1);
	assert_int_equal(st.events, SERIAL_EV_FRAMING);
	uint8_t both[] = {0x01, 0x0c, 'x'};
	assert_int_equal(frame(&f, both, sizeof(both), &st), 1);
	assert_int_equal(st.events, SERIAL_EV_PARITY);
	/* overrun 0x02 */
	uint8_t oe[] = {0x01, 0x02, 'x', 'y'};
	assert_int_equal(frame(&f, oe, sizeof(oe), &st), 2);
	assert_int_equal(st.events, SERIAL_EV_OVERRUN);
	/* break 0x10 with the NUL it produced as the last byte (and the
	 * framing error a break also raises) */
	uint8_t bi[] = {0x01, 0x18, 'a', 0x00};
	assert_int_equal(frame(&f, bi, sizeof(bi), &st), 2);
	assert_int_equal(st.events, SERIAL_EV_BREAK | SERIAL_EV_FRAMING);
	assert_memory_equal(bi, "a\0", 2);
	/* break bit but the last byte is not a NUL: no break */
	uint8_t nb[] = {0x01, 0x10, 0x00, 'a'};
	assert_int_equal(frame(&f, nb, sizeof(nb), &st), 2);
	assert_int_equal(st.events, 0);
}

static void test_rx_multi_packet(void **state)
{
	struct serial_function f = ft232r(); /* 64-byte packets */
	struct serial_status st;
	uint8_t buf[64 * 3 + 10], want[62 * 3 + 8];
	size_t w = 0;
	/* three full packets and a short one; the second status-only would
	 * be 2 bytes, so make packet 2 a full one with an error */
	for (size_t p = 0; p < 4; p++) {
		size_t at = p * 64, n = p < 3 ? 64 : 10;
		buf[at] = p == 3 ? 0x11 : 0x01;     /* last packet: CTS */
		buf[at + 1] = p == 1 ? 0x02 : 0x60; /* packet 1: overrun */
		for (size_t k = 2; k < n; k++)
			buf[at + k] = want[w++] = (uint8_t)(p * 64 + k);
	}
	assert_int_equal(frame(&f, buf, sizeof(buf), &st), (ssize_t)w);
	assert_memory_equal(buf, want, w);
	assert_true(st.has_lines);
	assert_int_equal(st.lines, SERIAL_CTS); /* the last packet's levels */
	assert_int_equal(st.events, SERIAL_EV_OVERRUN);

	/* status-only packets between data packets: a transfer of 2 + 2 + 5
	 * bytes cannot exist (only the last packet is short), but a status
	 * packet is a short packet that ends a transfer: here a full packet
	 * then a status-only end */
	uint8_t b2[66];
	memset(b2, 'z', sizeof(b2));
	b2[0] = 0x01;
	b2[1] = 0x60;
	b2[64] = 0x21; /* DSR */
	b2[65] = 0x60;
	assert_int_equal(frame(&f, b2, sizeof(b2), &st), 62);
	assert_int_equal(st.lines, SERIAL_DSR);
	for (size_t k = 0; k < 62; k++)
		assert_int_equal(b2[k], 'z');

	/* a trailing 1-byte packet is dropped, as the kernel drops it */
	uint8_t b3[65];
	memset(b3, 'q', sizeof(b3));
	b3[0] = 0x01;
	b3[1] = 0x60;
	assert_int_equal(frame(&f, b3, sizeof(b3), &st), 62);

	/* 512-byte packets on a high-speed FT2232H */
	struct serial_function h = ft2232h_port(0);
	static uint8_t big[1024 + 2];
	memset(big, 'b', sizeof(big));
	big[0] = big[512] = big[1024] = 0x01;
	big[1] = big[513] = big[1025] = 0x60;
	assert_int_equal(frame(&h, big, sizeof(big), &st), 1020);
	for (size_t k = 0; k < 1020; k++)
		assert_int_equal(big[k], 'b');
	/* a transfer of status-only packets is exactly one: 2 bytes */
	uint8_t so[2] = {0x01, 0x60};
	assert_int_equal(frame(&h, so, 2, &st), 0);
	assert_true(st.has_lines);
}

static void test_rx_events_merge(void **state)
{
	/* events from several packets of one transfer are or-ed; has_lines
	 * and lines are set; events already in *st are kept */
	struct serial_function f = ft232r();
	struct serial_status st = {.events = SERIAL_EV_BREAK};
	uint8_t b[64 + 3];
	memset(b, 'k', sizeof(b));
	b[0] = 0x01;
	b[1] = 0x04; /* parity */
	b[64] = 0x01;
	b[65] = 0x08; /* framing */
	assert_int_equal(ftdi_driver.rx_frame(&f, b, sizeof(b), &st), 63);
	assert_int_equal(st.events, SERIAL_EV_BREAK | SERIAL_EV_PARITY | SERIAL_EV_FRAMING);
}

static void test_driver_table(void **state)
{
	assert_ptr_equal(serial_drv_get(SERIAL_DRV_FTDI), &ftdi_driver);
	assert_int_equal(ftdi_driver.status_source, SERIAL_STATUS_INBAND);
	assert_null(ftdi_driver.status_decode);
	assert_non_null(ftdi_driver.rx_frame);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_ft232r),
	    cmocka_unit_test(test_probe_multi_channel),
	    cmocka_unit_test(test_probe_chip_types),
	    cmocka_unit_test(test_probe_not_ours),
	    cmocka_unit_test(test_probe_zero_max_packet),
	    cmocka_unit_test(test_identify_ft232a_or_b),
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_divisor_3mhz),
	    cmocka_unit_test(test_divisor_h),
	    cmocka_unit_test(test_divisor_am),
	    cmocka_unit_test(test_divisor_sio),
	    cmocka_unit_test(test_set_line_ft232r),
	    cmocka_unit_test(test_set_line_word_sizes),
	    cmocka_unit_test(test_set_line_channels),
	    cmocka_unit_test(test_set_lines),
	    cmocka_unit_test(test_break),
	    cmocka_unit_test(test_purge),
	    cmocka_unit_test(test_rx_single_packets),
	    cmocka_unit_test(test_rx_line_errors),
	    cmocka_unit_test(test_rx_multi_packet),
	    cmocka_unit_test(test_rx_events_merge),
	    cmocka_unit_test(test_driver_table),
	};
	return cmocka_run_group_tests(tests, NULL, release_test_held);
}
