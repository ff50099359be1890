/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cp210x: probe on real parts' descriptors, the
 * identification rounds, every request each operation emits, the baud
 * rate each part family is given (AN205 table 1 or the actual-rate
 * formula, expected values from the kernel 6.1 algorithm), the flow-block
 * read-modify-write and the GET_MDMSTS decoder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "cp210x.h"
#include "serial_test.h"

#define T_OUT 0x41 /* host to interface */
#define T_IN  0xc1 /* interface to host */
#define T_DEV 0xc0 /* vendor-specific reads */
#define OPTL  SERIAL_XFER_OPTIONAL

/* lsusb -v of a CP2102 (10c4:ea60, bcdDevice 1.00): one vendor interface,
 * bulk 0x81 IN / 0x01 OUT, 64 bytes. */
static const uint8_t cp2102_cfg[] = {
    CFG(32, 1),
    INTF(0, 0, 2, 0xff, 0x00, 0x00),
    BULK(0x81, 64),
    BULK(0x01, 64),
};

/* CP2105 (10c4:ea70): the enhanced (ECI, interface 0) and standard (SCI,
 * interface 1) ports. */
static const uint8_t cp2105_cfg[] = {
    CFG(55, 2),     INTF(0, 0, 2, 0xff, 0x00, 0x00), BULK(0x81, 64),
    BULK(0x01, 64), INTF(1, 0, 2, 0xff, 0x00, 0x00), BULK(0x82, 64),
    BULK(0x02, 64),
};

/* A flow block as GET_FLOW might answer it, with bits the driver must
 * keep: ulControlHandshake 0x00000101 (DTR active + bit 8),
 * ulFlowReplace 0x80000058 (XOFF continue, RTS active, break char, null
 * stripping), ulXonLimit 0x200, ulXoffLimit 0x300. */
static const uint8_t flow_block[16] = {
    0x01, 0x01, 0x00, 0x00, /* control handshake */
    0x58, 0x00, 0x00, 0x80, /* flow replace */
    0x00, 0x02, 0x00, 0x00, /* XON limit */
    0x00, 0x03, 0x00, 0x00, /* XOFF limit */
};

static struct serial_function identified(uint8_t part, const uint8_t *flow)
{
	struct usb_device_desc dd = device(0x10c4, 0xea60, 0x0100);
	struct serial_function f;
	assert_int_equal(cp210x_driver.probe(&dd, parse_cfg(cp2102_cfg, sizeof(cp2102_cfg)), &f, 1),
	                 1);
	assert_int_equal(cp210x_driver.absorb(&f, 1, &part, 1), 0);
	assert_int_equal(cp210x_driver.absorb(&f, 2, flow, flow ? 16 : 0), 0);
	return f;
}

/* ---- probe ----------------------------------------------------------------- */

static void test_probe(void **state)
{
	struct usb_device_desc dd = device(0x10c4, 0xea60, 0x0100);
	struct serial_function f[2];
	memset(f, 0xee, sizeof(f));
	assert_int_equal(cp210x_driver.probe(&dd, parse_cfg(cp2102_cfg, sizeof(cp2102_cfg)), f, 2),
	                 1);
	assert_int_equal(f[0].driver, SERIAL_DRV_CP210X);
	assert_int_equal(f[0].chip, 0); /* not known until GET_PARTNUM */
	assert_int_equal(f[0].intf, 0);
	assert_int_equal(f[0].data_intf, 0);
	assert_int_equal(f[0].port, 0);
	assert_int_equal(f[0].bulk_in_ep, 0x81);
	assert_int_equal(f[0].bulk_out_ep, 0x01);
	assert_int_equal(f[0].bulk_in_mps, 64);
	assert_false(f[0].has_notify);
	assert_int_equal(f[1].intf, 0xee);

	dd.idProduct = 0xea70;
	assert_int_equal(cp210x_driver.probe(&dd, parse_cfg(cp2105_cfg, sizeof(cp2105_cfg)), f, 2),
	                 2);
	assert_int_equal(f[1].intf, 1);
	assert_int_equal(f[1].bulk_in_ep, 0x82);
	assert_int_equal(f[1].bulk_out_ep, 0x02);

	/* the registry */
	assert_int_equal(serial_drv_probe(&dd, &test_cfg, f, 2), 2);
	assert_int_equal(f[0].driver, SERIAL_DRV_CP210X);
	assert_string_equal(serial_drv_name(SERIAL_DRV_CP210X), "cp210x");

	/* not ours */
	dd.idProduct = 0xea59;
	assert_int_equal(cp210x_driver.probe(&dd, &test_cfg, f, 2), 0);
}

/* ---- identify ----------------------------------------------------------------- */

static void test_identify_rounds(void **state)
{
	struct usb_device_desc dd = device(0x10c4, 0xea70, 0x0100);
	struct serial_function f[2];
	struct serial_xfers q;
	assert_int_equal(cp210x_driver.probe(&dd, parse_cfg(cp2105_cfg, sizeof(cp2105_cfg)), f, 2),
	                 2);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.identify(&f[1], &q), 0);
	check_xfers(&q,
	            /* 0xC0 VENDOR_SPECIFIC GET_PARTNUM, interface 1, 1 byte */
	            IN(T_DEV, 0xff, 0x370b, 0x0001, 1, OPTL, 1),
	            /* IFC_ENABLE 1 before anything else on the interface */
	            OUT(T_OUT, 0x00, 0x0001, 0x0001),
	            /* GET_FLOW, 16 bytes */
	            IN(T_IN, 0x14, 0x0000, 0x0001, 16, OPTL, 2));
	uint8_t part = CP210X_PART_CP2105;
	assert_int_equal(cp210x_driver.absorb(&f[1], 1, &part, 1), 0);
	assert_int_equal(cp210x_driver.absorb(&f[1], 2, flow_block, 16), 0);
	assert_int_equal(f[1].chip, CP210X_PART_CP2105);
	/* nothing more to ask a CP2105 */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.identify(&f[1], &q), 0);
	assert_int_equal(q.n, 0);
	/* init starts the next connect's questions afresh (and sends nothing:
	 * the interface was enabled in identify) */
	assert_int_equal(cp210x_driver.init(&f[1], &q), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(cp210x_driver.identify(&f[1], &q), 0);
	assert_int_equal(q.n, 3);
	/* unknown tags */
	assert_int_equal(cp210x_driver.absorb(&f[1], 9, &part, 1), -EINVAL);
	/* a full list */
	xfers_nearly_full(&q, 2);
	assert_int_equal(cp210x_driver.identify(&f[1], &q), -ENOSPC);
}

static void test_identify_cp2102n(void **state)
{
	struct serial_function f = identified(CP210X_PART_CP2102N_QFN28, flow_block);
	struct serial_xfers q;
	/* round 2: the firmware version */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.identify(&f, &q), 0);
	check_xfers(&q, IN(T_DEV, 0xff, 0x0010, 0x0000, 3, OPTL, 3));
	struct serial_function old = f, fixed = f, silent = f;
	static const uint8_t v104[3] = {1, 0, 4}, v108[3] = {1, 0, 8};
	assert_int_equal(cp210x_driver.absorb(&old, 3, v104, 3), 0);
	assert_int_equal(cp210x_driver.absorb(&fixed, 3, v108, 3), 0);
	assert_int_equal(cp210x_driver.absorb(&silent, 3, NULL, 0), 0);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.identify(&old, &q), 0);
	assert_int_equal(q.n, 0);

	/* firmware 1.0.4 (erratum CP2102N_E104): flow control stays off, no
	 * SET_CHARS, the block written back with RTS as set */
	struct serial_line l = line(115200, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1,
	                            SERIAL_FLOW_RTSCTS | SERIAL_FLOW_IXON);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&old, &l, &q, NULL), 0);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.x[2].setup.bRequest, CP210X_SET_FLOW);
	static const uint8_t off[16] = {
	    0x00, 0x01, 0x00, 0x00, /* DTR inactive, no CTS handshake; bit 8 kept */
	    0x18, 0x00, 0x00, 0x80, /* RTS inactive, no auto XON/XOFF */
	    0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, /* limits as read */
	};
	assert_memory_equal(q.x[2].data, off, 16);
	/* later firmware, or none reported: flow control as asked */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&fixed, &l, &q, NULL), 0);
	assert_int_equal(q.n, 4); /* with SET_CHARS */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&silent, &l, &q, NULL), 0);
	assert_int_equal(q.n, 4);
}

static void test_identify_failures(void **state)
{
	/* GET_PARTNUM stalled, or 0xff: driven as an unknown part (2 Mbaud
	 * max, AN205 below 1 Mbaud) */
	struct serial_function f = identified(0, flow_block);
	assert_int_equal(cp210x_driver.absorb(&f, 1, NULL, 0), 0);
	assert_int_equal(f.chip, 0);
	uint8_t ff = 0xff;
	assert_int_equal(cp210x_driver.absorb(&f, 1, &ff, 1), 0);
	assert_int_equal(f.chip, 0);
	struct serial_xfers q;
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.identify(&f, &q), 0);
	assert_int_equal(q.n, 0);
	/* GET_FLOW stalled (or short): no SET_FLOW at all, as the kernel */
	f = identified(CP210X_PART_CP2102, NULL);
	struct serial_line l = line(9600, 8, 0, 0, SERIAL_FLOW_RTSCTS);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), 0);
	check_xfers(&q, OUT_DATA(T_OUT, 0x1e, 0, 0, ((const uint8_t[]){0x80, 0x25, 0x00, 0x00})),
	            OUT(T_OUT, 0x03, 0x0800, 0x0000));
	assert_int_equal(cp210x_driver.absorb(&f, 2, flow_block, 15), 0);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.n, 2);
	/* and set_lines uses SET_MHS since RTS is not under flow control */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_lines(&f, SERIAL_RTS, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x07, 0x0302, 0x0000));
}

/* ---- baud rates ---------------------------------------------------------------- */

struct rate_row {
	uint32_t baud, cp2102, cp2104, cp2102n;
};

/*
 * CP2102/CP2103 (max 1 Mbaud): below 1 Mbaud the AN205 table 1 rate whose
 * range holds the request (31250 falls in 38400's 28913..38601); CP2104
 * (max 2 Mbaud) and CP2102N (max 3 Mbaud): 48 MHz / (2 x d) with d =
 * round(48 MHz / (2 x baud)) (x 4 prescale up to 365 baud), e.g. 115200:
 * d = 208.3 -> 208, 48e6 / 416 = 115384; 57600: d = 416.7 -> 417 -> 57553.
 */
static const struct rate_row rows[] = {
    {300, 300, 300, 300},
    {1200, 1200, 1200, 1200},
    {9600, 9600, 9600, 9600},
    {19200, 19200, 19200, 19200},
    {31250, 38400, 31250, 31250},
    {38400, 38400, 38400, 38400},
    {57600, 57600, 57553, 57553},
    {115200, 115200, 115384, 115384},
    {230400, 230400, 230769, 230769},
    {250000, 250000, 250000, 250000},
    {460800, 460800, 461538, 461538},
    {500000, 500000, 500000, 500000},
    {921600, 921600, 923076, 923076},
    {1000000, 1000000, 1000000, 1000000},
    {1500000, 1000000, 1500000, 1500000},
    {2000000, 1000000, 2000000, 2000000},
    {3000000, 1000000, 2000000, 3000000},
    /* below the minimum: 300 */
    {100, 300, 300, 300},
    /* the prescaler of 4 up to 365 baud: 48e6 / (8 x round(6e6 / 365)) */
    {365, 600, 365, 365},
    /* 366: prescale 1, d = round(65573.8) = 65574 -> 48e6 / 131148 = 365 */
    {366, 600, 365, 365},
    /* AN205 boundaries */
    {9612, 9600, 9611, 9611},
    {9613, 14400, 9611, 9611},
    {273066, 256000, 272727, 272727},
    {273067, 460800, 272727, 272727},
    {999999, 921600, 1000000, 1000000},
    {4000000, 1000000, 2000000, 3000000},
};

static void test_baud(void **state)
{
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		const struct rate_row *r = &rows[k];
		if (cp210x_baud(CP210X_PART_CP2102, 0, r->baud) != r->cp2102 ||
		    cp210x_baud(CP210X_PART_CP2103, 0, r->baud) != r->cp2102 ||
		    cp210x_baud(CP210X_PART_CP2104, 0, r->baud) != r->cp2104 ||
		    cp210x_baud(CP210X_PART_CP2105, 0, r->baud) != r->cp2104 ||
		    cp210x_baud(CP210X_PART_CP2102N_QFN28, 0, r->baud) != r->cp2102n ||
		    cp210x_baud(CP210X_PART_CP2102N_QFN24, 0, r->baud) != r->cp2102n ||
		    cp210x_baud(CP210X_PART_CP2102N_QFN20, 0, r->baud) != r->cp2102n)
			fail_msg("baud %u: %u %u %u", r->baud,
			         cp210x_baud(CP210X_PART_CP2102, 0, r->baud),
			         cp210x_baud(CP210X_PART_CP2104, 0, r->baud),
			         cp210x_baud(CP210X_PART_CP2102N_QFN28, 0, r->baud));
	}
	/* CP2101: AN205 up to 921600 */
	assert_int_equal(cp210x_baud(CP210X_PART_CP2101, 0, 1000000), 921600);
	assert_int_equal(cp210x_baud(CP210X_PART_CP2101, 0, 115200), 115200);
	/* CP2105 standard port: 2400 .. 921600, AN205 */
	assert_int_equal(cp210x_baud(CP210X_PART_CP2105, 1, 300), 2400);
	assert_int_equal(cp210x_baud(CP210X_PART_CP2105, 1, 1000000), 921600);
	assert_int_equal(cp210x_baud(CP210X_PART_CP2105, 1, 31250), 38400);
	/* CP2108 and unknown parts: AN205 below 1 Mbaud, direct to 2 Mbaud */
	assert_int_equal(cp210x_baud(CP210X_PART_CP2108, 0, 31250), 38400);
	assert_int_equal(cp210x_baud(CP210X_PART_CP2108, 0, 1500000), 1500000);
	assert_int_equal(cp210x_baud(CP210X_PART_CP2108, 0, 3000000), 2000000);
	assert_int_equal(cp210x_baud(0, 0, 57600), 57600);
	assert_int_equal(cp210x_baud(0, 0, 2500000), 2000000);
}

/* ---- set_line -------------------------------------------------------------------- */

static void test_set_line(void **state)
{
	struct serial_function f = identified(CP210X_PART_CP2102, flow_block);
	struct serial_xfers q;
	struct serial_line l = line(115200, 8, SERIAL_PARITY_NONE, SERIAL_STOP_1, 0);
	uint32_t actual = 0;
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 115200);
	static const uint8_t none[16] = {
	    0x00, 0x01, 0x00, 0x00, /* DTR inactive (not set yet), no handshakes */
	    0x18, 0x00, 0x00, 0x80, /* RTS inactive; break char, null strip, XOFF continue kept */
	    0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, /* limits untouched */
	};
	check_xfers(
	    &q,
	    /* SET_BAUDRATE 115200 = 0x0001c200 */
	    OUT_DATA(T_OUT, 0x1e, 0x0000, 0x0000, ((const uint8_t[]){0x00, 0xc2, 0x01, 0x00})),
	    /* SET_LINE_CTL: 8 << 8 | none << 4 | one stop */
	    OUT(T_OUT, 0x03, 0x0800, 0x0000),
	    /* SET_FLOW: the block read, changed */
	    OUT_DATA(T_OUT, 0x13, 0x0000, 0x0000, none));

	/* DTR and RTS up: SET_MHS with both write enables */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_lines(&f, SERIAL_DTR | SERIAL_RTS, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x07, 0x0303, 0x0000));

	/* hardware flow control: CTS handshake, RTS under flow control */
	l = line(921600, 7, SERIAL_PARITY_EVEN, SERIAL_STOP_2, SERIAL_FLOW_RTSCTS);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 921600);
	static const uint8_t hw[16] = {
	    0x09, 0x01, 0x00, 0x00, /* DTR active | CTS handshake (0x08) */
	    0x98, 0x00, 0x00, 0x80, /* RTS flow control (0x80) */
	    0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
	};
	check_xfers(&q, OUT_DATA(T_OUT, 0x1e, 0, 0, ((const uint8_t[]){0x00, 0x10, 0x0e, 0x00})),
	            /* 7 << 8 | even (2) << 4 | two stop bits (2) */
	            OUT(T_OUT, 0x03, 0x0722, 0x0000), OUT_DATA(T_OUT, 0x13, 0, 0, hw));
	/* with flow control on, DTR/RTS go through SET_FLOW */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_lines(&f, SERIAL_DTR, &q), 0);
	static const uint8_t rts_off[16] = {
	    0x09, 0x01, 0x00, 0x00, 0x18, 0x00, 0x00, 0x80, /* RTS inactive */
	    0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
	};
	check_xfers(&q, OUT_DATA(T_OUT, 0x13, 0, 0, rts_off));
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_lines(&f, SERIAL_RTS, &q), 0);
	static const uint8_t dtr_off[16] = {
	    0x08, 0x01, 0x00, 0x00, 0x98, 0x00, 0x00, 0x80, /* DTR inactive, RTS flow */
	    0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
	};
	check_xfers(&q, OUT_DATA(T_OUT, 0x13, 0, 0, dtr_off));

	/* XON/XOFF both ways: SET_CHARS first, then auto transmit/receive and
	 * the kernel's limits of 128 */
	l = line(9600, 8, SERIAL_PARITY_MARK, SERIAL_STOP_1, SERIAL_FLOW_IXON | SERIAL_FLOW_IXOFF);
	l.xon = 0x11;
	l.xoff = 0x13;
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), 0);
	static const uint8_t sw[16] = {
	    0x00, 0x01, 0x00, 0x00, /* DTR inactive (last set_lines), no CTS */
	    0x5b, 0x00, 0x00, 0x80, /* RTS active | auto RX (2) | auto TX (1) */
	    0x80, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, /* limits 128 */
	};
	check_xfers(&q, OUT_DATA(T_OUT, 0x1e, 0, 0, ((const uint8_t[]){0x80, 0x25, 0x00, 0x00})),
	            /* mark parity 3 << 4 */
	            OUT(T_OUT, 0x03, 0x0830, 0x0000),
	            /* SET_CHARS: EOF, error, break, event, XON, XOFF */
	            OUT_DATA(T_OUT, 0x19, 0, 0, ((const uint8_t[]){0, 0, 0, 0, 0x11, 0x13})),
	            OUT_DATA(T_OUT, 0x13, 0, 0, sw));
	/* out of SET_MHS mode again */
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_lines(&f, 0, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x07, 0x0300, 0x0000));
}

static void test_line_ctl(void **state)
{
	static const struct {
		uint8_t bits, parity, stop;
		uint16_t ctl;
	} t[] = {
	    {5, SERIAL_PARITY_EVEN, SERIAL_STOP_2, 0x0522},
	    {6, SERIAL_PARITY_ODD, SERIAL_STOP_1, 0x0610},
	    {7, SERIAL_PARITY_SPACE, SERIAL_STOP_1, 0x0740},
	    {8, SERIAL_PARITY_MARK, SERIAL_STOP_1, 0x0830},
	    {5, SERIAL_PARITY_NONE, SERIAL_STOP_1_5, 0x0502}, /* CSTOPB: two, as the kernel */
	};
	struct serial_function f = identified(CP210X_PART_CP2104, flow_block);
	struct serial_xfers q;
	uint32_t actual;
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct serial_line l = line(57600, t[k].bits, t[k].parity, t[k].stop, 0);
		serial_xfers_init(&q);
		assert_int_equal(cp210x_driver.set_line(&f, &l, &q, &actual), 0);
		assert_int_equal(actual, 57553);
		/* 57553 = 0x0000e0d1 */
		assert_memory_equal(q.x[0].data, ((const uint8_t[]){0xd1, 0xe0, 0x00, 0x00}), 4);
		assert_int_equal(q.x[1].setup.wValue, t[k].ctl);
	}
	/* the CP2101 only does CS8, one stop bit and no stick parity */
	f = identified(CP210X_PART_CP2101, flow_block);
	struct serial_line l = line(9600, 7, SERIAL_PARITY_MARK, SERIAL_STOP_2, 0);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.x[1].setup.wValue, 0x0810); /* 8, odd, one */
	l.parity = SERIAL_PARITY_SPACE;
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), 0);
	assert_int_equal(q.x[1].setup.wValue, 0x0820); /* 8, even, one */
	/* out of range */
	l = line(9600, 9, 0, 0, 0);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	assert_int_equal(q.n, 0);
	l = line(0, 8, 0, 0, 0);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	l = line(9600, 8, 5, 0, 0);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), -EINVAL);
	/* full list */
	l = line(9600, 8, 0, 0, 0);
	xfers_nearly_full(&q, 2);
	assert_int_equal(cp210x_driver.set_line(&f, &l, &q, NULL), -ENOSPC);
}

/* ---- break, purge, status ------------------------------------------------------- */

static void test_break_purge(void **state)
{
	struct usb_device_desc dd = device(0x10c4, 0xea70, 0x0100);
	struct serial_function f[2];
	struct serial_xfers q;
	assert_int_equal(cp210x_driver.probe(&dd, parse_cfg(cp2105_cfg, sizeof(cp2105_cfg)), f, 2),
	                 2);
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.set_break(&f[1], true, &q), 0);
	assert_int_equal(cp210x_driver.set_break(&f[1], false, &q), 0);
	check_xfers(&q, OUT(T_OUT, 0x05, 0x0001, 0x0001), OUT(T_OUT, 0x05, 0x0000, 0x0001));
	serial_xfers_init(&q);
	assert_int_equal(cp210x_driver.purge(&f[1], true, false, &q), 0);
	assert_int_equal(cp210x_driver.purge(&f[1], false, true, &q), 0);
	assert_int_equal(cp210x_driver.purge(&f[1], true, true, &q), 0);
	assert_int_equal(cp210x_driver.purge(&f[1], false, false, &q), 0);
	check_xfers(&q,
	            /* AN571: bits 1 and 3 receive, 0 and 2 transmit */
	            OUT(T_OUT, 0x12, 0x000a, 0x0001), OUT(T_OUT, 0x12, 0x0005, 0x0001),
	            OUT(T_OUT, 0x12, 0x000f, 0x0001));
}

static void test_status(void **state)
{
	struct serial_function f = identified(CP210X_PART_CP2102, flow_block);
	struct serial_xfer x;
	unsigned interval = 0;
	f.intf = 2;
	assert_int_equal(cp210x_driver.status_poll(&f, &x, &interval), 0);
	assert_int_equal(interval, CP210X_POLL_MS);
	/* GET_MDMSTS: 0xC1 0x08 wValue 0 wIndex 2, 1 byte */
	assert_int_equal(x.setup.bmRequestType, T_IN);
	assert_int_equal(x.setup.bRequest, 0x08);
	assert_int_equal(x.setup.wValue, 0);
	assert_int_equal(x.setup.wIndex, 2);
	assert_int_equal(x.setup.wLength, 1);
	assert_int_equal(cp210x_driver.status_source, SERIAL_STATUS_POLL);

	static const struct {
		uint8_t b;
		uint16_t lines;
	} t[] = {
	    {0x00, 0},
	    {0x03, 0}, /* DTR and RTS are ours, not inputs */
	    {0x10, SERIAL_CTS},
	    {0x20, SERIAL_DSR},
	    {0x40, SERIAL_RI},
	    {0x80, SERIAL_DCD},
	    {0xf3, SERIAL_CTS | SERIAL_DSR | SERIAL_RI | SERIAL_DCD},
	};
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		struct serial_status st = {.lines = 0xffff, .events = 0xffff};
		assert_int_equal(
		    cp210x_driver.status_decode(&f, SERIAL_ORIGIN_POLL, &t[k].b, 1, &st), 0);
		assert_true(st.has_lines);
		assert_int_equal(st.lines, t[k].lines);
		assert_int_equal(st.events, 0);
	}
	struct serial_status st;
	uint8_t b = 0x10;
	assert_int_equal(cp210x_driver.status_decode(&f, SERIAL_ORIGIN_POLL, &b, 0, &st),
	                 -EMSGSIZE);
	assert_int_equal(cp210x_driver.status_decode(&f, SERIAL_ORIGIN_POLL, NULL, 1, &st),
	                 -EMSGSIZE);
	assert_int_equal(cp210x_driver.status_decode(&f, SERIAL_ORIGIN_INTERRUPT, &b, 1, &st),
	                 -EINVAL);
}

static void test_flow_codec(void **state)
{
	struct cp210x_flow fl;
	uint8_t out[16];
	cp210x_flow_decode(&fl, flow_block);
	assert_int_equal(fl.control_handshake, 0x00000101);
	assert_int_equal(fl.flow_replace, 0x80000058);
	assert_int_equal(fl.xon_limit, 0x200);
	assert_int_equal(fl.xoff_limit, 0x300);
	cp210x_flow_encode(&fl, out);
	assert_memory_equal(out, flow_block, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_identify_rounds),
	    cmocka_unit_test(test_identify_cp2102n),
	    cmocka_unit_test(test_identify_failures),
	    cmocka_unit_test(test_baud),
	    cmocka_unit_test(test_set_line),
	    cmocka_unit_test(test_line_ctl),
	    cmocka_unit_test(test_break_purge),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_flow_codec),
	};
	return cmocka_run_group_tests(tests, NULL, release_test_held);
}
