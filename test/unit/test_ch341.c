/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ch341: probe on a CH340's descriptors, the connect
 * sequence and its answers (version, break-register stall), every request
 * each operation emits for chips before and after version 0x30, the
 * prescaler/divisor words (expected values from the kernel 6.1 algorithm),
 * break (register pair and the simulated break), and the status decoders.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "ch341.h"
#include "serial_test.h"

#define T_OUT 0x40
#define T_IN  0xc0
#define OPTL  SERIAL_XFER_OPTIONAL

/* lsusb -v of a CH340 (1a86:7523, bcdDevice 2.64): one vendor interface
 * with bulk 0x82 IN / 0x02 OUT of 32 bytes and interrupt 0x81 IN (8
 * bytes, every 1 ms). */
static const uint8_t ch340_cfg[] = {
    CFG(39, 1), INTF(0, 0, 3, 0xff, 0x01, 0x02), BULK(0x82, 32), BULK(0x02, 32), INT_IN(0x81, 8, 1),
};

/* A probed CH340 that answered version `version` and, unless stall, the
 * break register pair (0x05 = 0x01: not breaking; 0x18 = 0xc3: 8N1). */
static struct serial_function ch340(uint8_t version, bool stall)
{
	struct usb_device_desc dd = device(0x1a86, 0x7523, 0x0264);
	struct serial_function f;
	assert_int_equal(ch341_driver.probe(&dd, parse_cfg(ch340_cfg, sizeof(ch340_cfg)), &f, 1),
	                 1);
	const uint8_t ver[2] = {version, 0x00}, quirk[2] = {0x01, 0x00}, regs[2] = {0x01, 0xc3};
	assert_int_equal(ch341_driver.absorb(&f, 1, ver, 2), 0);
	assert_int_equal(ch341_driver.absorb(&f, 2, stall ? NULL : quirk, stall ? 0 : 2), 0);
	assert_int_equal(ch341_driver.absorb(&f, 3, stall ? NULL : regs, stall ? 0 : 2), 0);
	return f;
}

/* ---- probe, identify --------------------------------------------------------------- */

static void test_probe(void **state)
{
	struct usb_device_desc dd = device(0x1a86, 0x7523, 0x0264);
	struct serial_function f[2];
	memset(f, 0xee, sizeof(f));
	assert_int_equal(ch341_driver.probe(&dd, parse_cfg(ch340_cfg, sizeof(ch340_cfg)), f, 2), 1);
	assert_int_equal(f[0].driver, SERIAL_DRV_CH341);
	assert_int_equal(f[0].intf, 0);
	assert_int_equal(f[0].bulk_in_ep, 0x82);
	assert_int_equal(f[0].bulk_in_mps, 32);
	assert_int_equal(f[0].bulk_out_ep, 0x02);
	assert_int_equal(f[0].bulk_out_mps, 32);
	assert_true(f[0].has_notify);
	assert_int_equal(f[0].notify_ep, 0x81);
	assert_int_equal(f[0].notify_mps, 8);
	assert_int_equal(f[0].notify_interval, 1);
	assert_int_equal(f[1].intf, 0xee);
	assert_int_equal(ch341_driver.probe(&dd, &test_cfg, NULL, 0), 1);
	assert_int_equal(serial_drv_probe(&dd, &test_cfg, f, 1), 1);
	assert_int_equal(f[0].driver, SERIAL_DRV_CH341);
	assert_string_equal(serial_drv_name(SERIAL_DRV_CH341), "ch341");
	/* every id of the kernel table */
	static const uint16_t ids[][2] = {{0x1a86, 0x5523}, {0x1a86, 0x7522}, {0x1a86, 0x7523},
	                                  {0x2184, 0x0057}, {0x4348, 0x5523}, {0x9986, 0x7523}};
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		struct usb_device_desc d = device(ids[k][0], ids[k][1], 0x0254);
		assert_int_equal(ch341_driver.probe(&d, &test_cfg, f, 1), 1);
	}
	/* not ours */
	struct usb_device_desc other = device(0x1a86, 0x5512, 0x0304);
	assert_int_equal(ch341_driver.probe(&other, &test_cfg, f, 1), 0);
	/* no status endpoint: the kernel's open would fail */
	static const uint8_t no_int[] = {CFG(32, 1), INTF(0, 0, 2, 0xff, 0x01, 0x02),
	                                 BULK(0x82, 32), BULK(0x02, 32)};
	assert_int_equal(ch341_driver.probe(&dd, parse_cfg(no_int, sizeof(no_int)), f, 1), -ENODEV);
	static const uint8_t no_bulk[] = {CFG(32, 1), INTF(0, 0, 2, 0xff, 0x01, 0x02),
	                                  BULK(0x82, 32), INT_IN(0x81, 8, 1)};
	assert_int_equal(ch341_driver.probe(&dd, parse_cfg(no_bulk, sizeof(no_bulk)), f, 1),
	                 -ENODEV);
}

static void test_identify(void **state)
{
	struct usb_device_desc dd = device(0x1a86, 0x7523, 0x0264);
	struct serial_function f;
	struct serial_xfers q;
	assert_int_equal(ch341_driver.probe(&dd, parse_cfg(ch340_cfg, sizeof(ch340_cfg)), &f, 1),
	                 1);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.identify(&f, &q), 0);
	check_xfers(&q,
	            /* READ_VERSION, 2 bytes (e.g. 0x31 0x00); required */
	            IN(T_IN, 0x5f, 0x0000, 0x0000, 2, 0, 1),
	            /* SERIAL_INIT */
	            OUT(T_OUT, 0xa1, 0x0000, 0x0000),
	            /* READ_REG 0x05 (and 0x00): stalls on parts without break */
	            IN(T_IN, 0x95, 0x0005, 0x0000, 2, OPTL, 2),
	            /* READ_REG 0x05 and 0x18: the pair set_break changes */
	            IN(T_IN, 0x95, 0x1805, 0x0000, 2, OPTL, 3));
	static const uint8_t ver[2] = {0x31, 0x00}, regs[2] = {0x01, 0xc3};
	assert_int_equal(ch341_driver.absorb(&f, 1, ver, 2), 0);
	assert_int_equal(ch341_driver.absorb(&f, 2, regs, 2), 0);
	assert_int_equal(ch341_driver.absorb(&f, 3, regs, 2), 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 0);
	/* init sends nothing more and lets the next connect ask again */
	assert_int_equal(ch341_driver.init(&f, &q), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(ch341_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 4);
	/* a version read without an answer: an error, but answered, so
	 * identify settles instead of asking round after round */
	assert_int_equal(ch341_driver.init(&f, &q), 0);
	assert_int_equal(ch341_driver.absorb(&f, 1, ver, 0), -EPROTO);
	assert_int_equal(ch341_driver.absorb(&f, 2, regs, 2), 0);
	assert_int_equal(ch341_driver.absorb(&f, 3, regs, 2), 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 0);
	/* unknown tags */
	assert_int_equal(ch341_driver.absorb(&f, 1, NULL, 0), -EPROTO);
	assert_int_equal(ch341_driver.absorb(&f, 4, ver, 2), -EINVAL);
	assert_int_equal(ch341_driver.init(&f, &q), 0);
	xfers_nearly_full(&q, 3);
	assert_int_equal(ch341_driver.identify(&f, &q), -ENOSPC);
}

/* ---- divisors ------------------------------------------------------------------------ */

/*
 * rate = 48 MHz / (2^(12 - 3 ps - fact) x div); word = (256 - div) << 8 |
 * fact << 2 | ps.  Start with the highest prescaler ps whose minimum rate
 * (48e6 / (2^(12-3ps-1) x 512): 45, 366, 2929, 23437) is below the rate,
 * fact 1; halve to fact 0 if div is outside 9..255; take div + 1 when its
 * rate is nearer (compared in 1/16 baud); an even div at fact 1 becomes
 * div / 2 at fact 0.  E.g. 9600: ps 2, fact 1, clk_div 32, div =
 * 48e6 / (32 x 9600) = 156, 156 even -> 78 at fact 0: (256 - 78) << 8 |
 * 2 = 0xb202, 48e6 / (64 x 78) = 9615.
 */
static const struct {
	uint32_t baud;
	uint16_t word;
	uint32_t actual;
} div_rows[] = {
    {300, 0xd900, 300},
    {1200, 0xb201, 1202},
    {9600, 0xb202, 9615},
    {19200, 0xd902, 19231},
    {31250, 0x4003, 31250},
    {38400, 0x6403, 38462},
    {57600, 0x9803, 57692},
    {115200, 0xcc03, 115385},
    {230400, 0xe603, 230769},
    {250000, 0xe803, 250000},
    {460800, 0xf303, 461538},
    {500000, 0xf403, 500000},
    {921600, 0xf307, 923077},
    {1000000, 0xfa03, 1000000},
    {1500000, 0xfc03, 1500000},
    {2000000, 0xfd03, 2000000},
    {3000000, 0xfe03, 3000000},
    /* limits: 46 .. 3000000, clamped */
    {46, 0x0100, 46},
    {1, 0x0100, 46},
    {4000000, 0xfe03, 3000000},
};

static void test_divisor(void **state)
{
	for (size_t k = 0; k < sizeof(div_rows) / sizeof(div_rows[0]); k++) {
		uint16_t w = 0;
		uint32_t a = 0;
		assert_int_equal(ch341_divisor(div_rows[k].baud, false, &w, &a), 0);
		if (w != div_rows[k].word || a != div_rows[k].actual)
			fail_msg("baud %u: word %#x actual %u, want %#x %u", div_rows[k].baud, w, a,
			         div_rows[k].word, div_rows[k].actual);
	}
	/* the limited prescaler of parts without break: fact 0 below ps 3.
	 * 1000: ps 1, clk_div 256, div 187 (odd, stays at fact 1): 0x4505,
	 * 1003; limited: 93 at clk_div 512, 94 is nearer -> (256 - 94) << 8 |
	 * 1 = 0xa201, 48e6 / (512 x 94) = 997.  3600 (ps 2, div 416 is
	 * halved anyway) is the same both ways. */
	static const struct {
		uint32_t baud;
		uint16_t word, unlimited;
		uint32_t actual;
	} lim[] = {
	    {1000, 0xa201, 0x4505, 997}, {92, 0x8100, 0x0104, 92}, {3600, 0x3002, 0x3002, 3606}};
	for (size_t k = 0; k < sizeof(lim) / sizeof(lim[0]); k++) {
		uint16_t w;
		uint32_t a;
		assert_int_equal(ch341_divisor(lim[k].baud, false, &w, &a), 0);
		assert_int_equal(w, lim[k].unlimited);
	}
	for (size_t k = 0; k < sizeof(lim) / sizeof(lim[0]); k++) {
		uint16_t w;
		uint32_t a;
		assert_int_equal(ch341_divisor(lim[k].baud, true, &w, &a), 0);
		assert_int_equal(w, lim[k].word);
		assert_int_equal(a, lim[k].actual);
	}
	uint16_t w;
	uint32_t a;
	assert_int_equal(ch341_divisor(0, false, &w, &a), -EINVAL);
	assert_int_equal(ch341_divisor(9600, false, NULL, &a), -EINVAL);
}

/* ---- set_line, set_lines ---------------------------------------------------------- */

static void test_set_line_versions(void **state)
{
	struct serial_xfers q;
	uint32_t actual;
	struct serial_line l = line(9600, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);

	/* version 0x31: divisor with bit 7 (send without a full packet), LCR */
	struct serial_function f = ch340(0x31, false);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 9615);
	check_xfers(&q,
	            /* WRITE_REG 0x12 (prescaler), 0x13 (divisor) = 0xb282 */
	            OUT(T_OUT, 0x9a, 0x1312, 0xb282),
	            /* WRITE_REG 0x18 (LCR) = 0xc3: RX, TX, CS8; 0x25 = 0 */
	            OUT(T_OUT, 0x9a, 0x2518, 0x00c3));

	/* version 0x27: bit 7 is inverted there, and no LCR before 0x30 */
	f = ch340(0x27, false);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, &actual), 0);
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1312, 0xb202));
	/* version 0x28..0x2f: bit 7 but still no LCR */
	f = ch340(0x2f, false);
	l = line(115200, 7, SERIAL_PARITY_EVEN, SERIAL_STOP_2, SERIAL_FLOW_RTSCTS);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 115385);
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1312, 0xcc83));
	/* version 0x30 on: every baud of the list at 8N1 */
	f = ch340(0x30, false);
	for (size_t k = 0; k < 17; k++) {
		l = line(div_rows[k].baud, 8, 0, 0, 0);
		serial_xfers_init(&q);
		assert_int_equal(ch341_driver.set_line(&f, &l, &q, &actual), 0);
		assert_int_equal(actual, div_rows[k].actual);
		check_xfers(&q, OUT(T_OUT, 0x9a, 0x1312, div_rows[k].word | 0x80),
		            OUT(T_OUT, 0x9a, 0x2518, 0x00c3));
	}
	/* bad settings queue nothing */
	l = line(9600, 4, 0, 0, 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	l = line(0, 8, 0, 0, 0);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	assert_int_equal(q.n, 0);
	l = line(9600, 8, 0, 0, 0);
	xfers_nearly_full(&q, 1);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, NULL), -ENOSPC);
}

static void test_lcr(void **state)
{
	static const struct {
		uint8_t bits, parity, stop, lcr;
	} t[] = {
	    {8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0xc3},  /* RX | TX | CS8 */
	    {7, SERIAL_PARITY_EVEN, SERIAL_STOP_2, 0xde},  /* | CS7 | PAR | EVEN | STOP2 */
	    {5, SERIAL_PARITY_ODD, SERIAL_STOP_1, 0xc8},   /* CS5 | PAR */
	    {6, SERIAL_PARITY_MARK, SERIAL_STOP_1, 0xe9},  /* CS6 | PAR | MARK_SPACE */
	    {8, SERIAL_PARITY_SPACE, SERIAL_STOP_1, 0xfb}, /* CS8 | PAR | EVEN | MARK_SPACE */
	    {5, SERIAL_PARITY_NONE, SERIAL_STOP_1_5, 0xc4},
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct serial_line l = line(9600, t[k].bits, t[k].parity, t[k].stop, 0);
		uint8_t lcr = 0;
		assert_int_equal(ch341_lcr(&l, &lcr), 0);
		assert_int_equal(lcr, t[k].lcr);
	}
	struct serial_line l = line(9600, 9, 0, 0, 0);
	uint8_t lcr;
	assert_int_equal(ch341_lcr(&l, &lcr), -EINVAL);
	l = line(9600, 8, 5, 0, 0);
	assert_int_equal(ch341_lcr(&l, &lcr), -EINVAL);
	l = line(9600, 8, 0, 3, 0);
	assert_int_equal(ch341_lcr(&l, &lcr), -EINVAL);
}

static void test_set_lines(void **state)
{
	struct serial_function f = ch340(0x31, false);
	struct serial_xfers q;
	static const struct {
		unsigned lines;
		uint16_t value;
	} t[] = {
	    /* MODEM_CTRL with ~(DTR 0x20 | RTS 0x40) as a 16-bit value */
	    {0, 0xffff},
	    {SERIAL_DTR, 0xffdf},
	    {SERIAL_RTS, 0xffbf},
	    {SERIAL_DTR | SERIAL_RTS, 0xff9f},
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		serial_xfers_init(&q);
		assert_int_equal(ch341_driver.set_lines(&f, t[k].lines, &q), 0);
		check_xfers(&q, OUT(T_OUT, 0xa4, t[k].value, 0x0000));
	}
}

/* ---- break ----------------------------------------------------------------------------- */

static void test_break_register(void **state)
{
	struct serial_function f = ch340(0x31, false);
	struct serial_xfers q;
	/* as read: 0x05 = 0x01, 0x18 = 0xc3 -> on: clear 0x05 bit 0 and the
	 * LCR's TX enable; WRITE_REG 0x1805 wIndex 0x18 value << 8 | 0x05 value */
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_break(&f, true, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1805, 0x8300));
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_break(&f, false, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1805, 0xc301));
	/* after a 7E2 LCR write the shadow follows it */
	struct serial_line l = line(9600, 7, SERIAL_PARITY_EVEN, SERIAL_STOP_2, 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, NULL), 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_break(&f, true, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1805, 0x9e00));
	/* the registers answered the quirk read but not the pair: no break */
	struct usb_device_desc dd = device(0x1a86, 0x7523, 0x0264);
	assert_int_equal(ch341_driver.probe(&dd, parse_cfg(ch340_cfg, sizeof(ch340_cfg)), &f, 1),
	                 1);
	static const uint8_t ver[2] = {0x31, 0}, ok[2] = {1, 0};
	assert_int_equal(ch341_driver.absorb(&f, 1, ver, 2), 0);
	assert_int_equal(ch341_driver.absorb(&f, 2, ok, 2), 0);
	assert_int_equal(ch341_driver.absorb(&f, 3, NULL, 0), 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_break(&f, true, &q), -EIO);
	assert_int_equal(q.n, 0);
}

static void test_break_simulated(void **state)
{
	/* break register stalled: the kernel's quirk -- slowest rate, 8N1,
	 * one NUL byte sent by the data path; restore afterwards */
	struct serial_function f = ch340(0x31, true);
	struct serial_xfers q;
	struct serial_line l = line(115200, 7, SERIAL_PARITY_ODD, SERIAL_STOP_1, 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, NULL), 0);
	serial_xfers_init(&q);
	/* 11 bits at 46 baud: 240 ms */
	assert_int_equal(ch341_driver.set_break(&f, true, &q), 240);
	check_xfers(&q,
	            /* 46 baud (0x0100) | bit 7 */
	            OUT(T_OUT, 0x9a, 0x1312, 0x0180),
	            /* 8N1 */
	            OUT(T_OUT, 0x9a, 0x2518, 0x00c3));
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_break(&f, false, &q), 0);
	/* 115200 7O1 back: 0xcc83, LCR RX | TX | CS7 | PAR = 0xca */
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1312, 0xcc83), OUT(T_OUT, 0x9a, 0x2518, 0x00ca));

	/* before any set_line: the kernel's 9600 8N1 */
	f = ch340(0x31, true);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_break(&f, false, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1312, 0xb282), OUT(T_OUT, 0x9a, 0x2518, 0x00c3));
	/* old chip: only the divisor, without bit 7 */
	f = ch340(0x27, true);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_break(&f, true, &q), 240);
	check_xfers(&q, OUT(T_OUT, 0x9a, 0x1312, 0x0100));
	/* parts without break also have the limited prescaler: 3600 baud */
	f = ch340(0x31, true);
	l = line(3600, 8, 0, 0, 0);
	serial_xfers_init(&q);
	assert_int_equal(ch341_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.x[0].setup.wIndex, 0x3082);
}

/* ---- status ---------------------------------------------------------------------------- */

static void test_status(void **state)
{
	struct serial_function f = ch340(0x31, false);
	struct serial_status st;
	/* interrupt: 4 bytes, byte 2 the inverted modem status */
	static const struct {
		uint8_t b2;
		uint16_t lines;
	} t[] = {
	    {0xff, 0},          {0xfe, SERIAL_CTS},
	    {0xfd, SERIAL_DSR}, {0xfb, SERIAL_RI},
	    {0xf7, SERIAL_DCD}, {0xf0, SERIAL_CTS | SERIAL_DSR | SERIAL_RI | SERIAL_DCD},
	    {0x9e, SERIAL_CTS}, /* upper bits ignored */
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		const uint8_t n[4] = {0x08, 0x7d, t[k].b2, 0xee};
		memset(&st, 0xff, sizeof(st));
		assert_int_equal(ch341_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n, 4, &st),
		                 0);
		assert_true(st.has_lines);
		assert_int_equal(st.lines, t[k].lines);
		assert_int_equal(st.events, 0);
	}
	static const uint8_t n8[8] = {0x08, 0x7d, 0xf6, 0xee, 1, 2, 3, 4};
	assert_int_equal(ch341_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n8, 8, &st), 0);
	assert_int_equal(st.lines, SERIAL_CTS | SERIAL_DCD);
	assert_int_equal(ch341_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n8, 3, &st),
	                 -EMSGSIZE);
	assert_int_equal(ch341_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, NULL, 4, &st),
	                 -EMSGSIZE);

	/* the initial read: READ_REG 0x0706, 2 bytes, once after init */
	struct serial_xfer x;
	unsigned interval = 99;
	assert_int_equal(ch341_driver.status_poll(&f, &x, &interval), 0);
	assert_int_equal(interval, 0);
	assert_int_equal(x.setup.bmRequestType, T_IN);
	assert_int_equal(x.setup.bRequest, 0x95);
	assert_int_equal(x.setup.wValue, 0x0706);
	assert_int_equal(x.setup.wIndex, 0);
	assert_int_equal(x.setup.wLength, 2);
	/* its answer: byte 0 inverted ("expect 0x9f 0xee" idle) */
	static const uint8_t idle[2] = {0x9f, 0xee}, cts_dcd[2] = {0xf6, 0xee};
	assert_int_equal(ch341_driver.status_decode(&f, SERIAL_ORIGIN_POLL, idle, 2, &st), 0);
	assert_int_equal(st.lines, 0);
	assert_int_equal(ch341_driver.status_decode(&f, SERIAL_ORIGIN_POLL, cts_dcd, 2, &st), 0);
	assert_int_equal(st.lines, SERIAL_CTS | SERIAL_DCD);
	assert_int_equal(ch341_driver.status_decode(&f, SERIAL_ORIGIN_POLL, idle, 1, &st),
	                 -EMSGSIZE);
	assert_int_equal(ch341_driver.status_decode(&f, 7, idle, 2, &st), -EINVAL);
	assert_int_equal(ch341_driver.status_source, SERIAL_STATUS_INTERRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_identify),
	    cmocka_unit_test(test_divisor),
	    cmocka_unit_test(test_set_line_versions),
	    cmocka_unit_test(test_lcr),
	    cmocka_unit_test(test_set_lines),
	    cmocka_unit_test(test_break_register),
	    cmocka_unit_test(test_break_simulated),
	    cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, release_test_held);
}
