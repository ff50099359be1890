/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cdc_acm: every descriptor layout of design.md section 3
 * written out as bytes, line coding, class request SETUP packets and
 * SERIAL_STATE notifications.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_acm.h"

#define LE16(v)                               ((v)&0xff), (((v) >> 8) & 0xff)
#define CFG(total, nintf)                     9, 2, LE16(total), nintf, 1, 0, 0x80, 50
#define INTF(num, alt, neps, cls, sub, proto) 9, 4, num, alt, neps, cls, sub, proto, 0
#define EP(addr, attr, mps, ival)             7, 5, addr, attr, LE16(mps), ival
#define IAD(first, count)                     8, 0x0b, first, count, 2, 2, 1, 0
#define COMM(num, neps)                       INTF(num, 0, neps, 2, 2, 1)
#define DATA(num, alt, neps)                  INTF(num, alt, neps, 0x0a, 0, 0)
#define HDR                                   5, 0x24, 0x00, 0x10, 0x01
#define CM(caps, data)                        5, 0x24, 0x01, caps, data
#define ACM(caps)                             4, 0x24, 0x02, caps
#define UNION(ctrl, sub)                      5, 0x24, 0x06, ctrl, sub
#define BULK_IN(addr, mps)                    EP(addr, 2, mps, 0)
#define BULK_OUT(addr, mps)                   EP(addr, 2, mps, 0)
#define INT_IN(addr, mps, ival)               EP(addr, 3, mps, ival)

static struct usb_config_desc cfg;

/* Parse an exact-size heap copy (so ASan sees overreads); the blob must
 * be a valid configuration whose wTotalLength is its size.  The copy stays
 * alive until the next call because cfg borrows its `extra` spans. */
static uint8_t *held;

static int find(const uint8_t *b, size_t n, struct cdc_acm_function *f, size_t max)
{
	free(held);
	held = malloc(n);
	assert_non_null(held);
	memcpy(held, b, n);
	assert_int_equal(usb_desc_parse_config(&cfg, held, n), (ssize_t)n);
	return cdc_acm_find(&cfg, f, max);
}

static int release_held(void **state)
{
	free(held);
	held = NULL;
	return 0;
}

static void expect_eps(const struct cdc_acm_function *f, int notify, uint16_t nmps, uint8_t nival,
                       uint8_t in, uint16_t in_mps, uint8_t out, uint16_t out_mps)
{
	if (notify < 0) {
		assert_false(f->has_notify);
		assert_int_equal(f->notify_ep, 0);
	} else {
		assert_true(f->has_notify);
		assert_int_equal(f->notify_ep, notify);
		assert_int_equal(f->notify_mps, nmps);
		assert_int_equal(f->notify_interval, nival);
	}
	assert_int_equal(f->bulk_in_ep, in);
	assert_int_equal(f->bulk_in_mps, in_mps);
	assert_int_equal(f->bulk_out_ep, out);
	assert_int_equal(f->bulk_out_mps, out_mps);
}

/* ---- layouts ---- */

static void test_iad_union(void **state)
{
	static const uint8_t b[] = {
	    CFG(75, 2),
	    IAD(0, 2),
	    COMM(0, 1),
	    HDR,
	    CM(0, 1),
	    ACM(2),
	    UNION(0, 1),
	    INT_IN(0x82, 10, 9),
	    DATA(1, 0, 2),
	    BULK_IN(0x81, 512),
	    BULK_OUT(0x01, 512),
	};
	struct cdc_acm_function f[2];
	memset(f, 0xee, sizeof(f));
	assert_int_equal(find(b, sizeof(b), f, 2), 1);
	assert_int_equal(f[0].comm_intf, 0);
	assert_int_equal(f[0].data_intf, 1);
	assert_int_equal(f[0].data_alt, 0);
	assert_false(f[0].collapsed);
	assert_true(f[0].has_union);
	assert_true(f[0].has_iad);
	assert_int_equal(f[0].acm_caps, 2);
	expect_eps(&f[0], 0x82, 10, 9, 0x81, 512, 0x01, 512);
	/* Only one entry written. */
	assert_int_equal(f[1].comm_intf, 0xee);
}

static void test_union_no_iad_numbers_2_3(void **state)
{
	static const uint8_t b[] = {
	    CFG(94, 4),
	    /* a vendor function with its own bulk pair first */
	    INTF(0, 0, 2, 0xff, 0xff, 0xff),
	    BULK_IN(0x81, 64),
	    BULK_OUT(0x01, 64),
	    INTF(1, 0, 0, 0xff, 0, 0),
	    COMM(2, 1),
	    HDR,
	    ACM(6),
	    UNION(2, 3),
	    INT_IN(0x85, 16, 1),
	    DATA(3, 0, 2),
	    BULK_OUT(0x03, 64),
	    BULK_IN(0x84, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(b, sizeof(b), &f, 1), 1);
	assert_int_equal(f.comm_intf, 2);
	assert_int_equal(f.data_intf, 3);
	assert_true(f.has_union);
	assert_false(f.has_iad);
	assert_false(f.collapsed);
	assert_int_equal(f.acm_caps, 6);
	expect_eps(&f, 0x85, 16, 1, 0x84, 64, 0x03, 64);
}

static void test_call_mgmt_without_union(void **state)
{
	/* bDataInterface says 2; interface 1 (vendor, with bulk endpoints)
	 * is the next one but must not be picked. */
	static const uint8_t b[] = {
	    CFG(85, 3),
	    COMM(0, 1),
	    HDR,
	    CM(3, 2),
	    ACM(2),
	    INT_IN(0x83, 8, 16),
	    INTF(1, 0, 2, 0xff, 0, 0),
	    BULK_IN(0x86, 32),
	    BULK_OUT(0x06, 32),
	    DATA(2, 0, 2),
	    BULK_IN(0x82, 64),
	    BULK_OUT(0x02, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(b, sizeof(b), &f, 1), 1);
	assert_int_equal(f.comm_intf, 0);
	assert_int_equal(f.data_intf, 2);
	assert_false(f.has_union);
	assert_false(f.collapsed);
	expect_eps(&f, 0x83, 8, 16, 0x82, 64, 0x02, 64);
}

static void test_no_functional_next_interface(void **state)
{
	/* No Header/ACM/Union at all, interface numbers 4 and 7: the data
	 * interface is the next interface number. */
	static const uint8_t b[] = {
	    CFG(48, 2),    COMM(4, 1),        INT_IN(0x81, 16, 2),
	    DATA(7, 0, 2), BULK_IN(0x82, 64), BULK_OUT(0x02, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(b, sizeof(b), &f, 1), 1);
	assert_int_equal(f.comm_intf, 4);
	assert_int_equal(f.data_intf, 7);
	assert_false(f.has_union);
	assert_int_equal(f.acm_caps, 0);
	expect_eps(&f, 0x81, 16, 2, 0x82, 64, 0x02, 64);
}

static void test_union_to_missing_interface(void **state)
{
	/* Union names interface 9, which does not exist; a too-short Union
	 * (bLength 4) before it is ignored. Falls back to interface 1. */
	static const uint8_t b[] = {
	    CFG(57, 2),
	    COMM(0, 1),
	    4,
	    0x24,
	    6,
	    0,
	    UNION(0, 9),
	    INT_IN(0x81, 10, 32),
	    DATA(1, 0, 2),
	    BULK_IN(0x82, 64),
	    BULK_OUT(0x02, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(b, sizeof(b), &f, 1), 1);
	assert_int_equal(f.data_intf, 1);
	assert_false(f.has_union);
	expect_eps(&f, 0x81, 10, 32, 0x82, 64, 0x02, 64);
}

static void test_collapsed(void **state)
{
	/* Union pointing at itself. */
	static const uint8_t u[] = {
	    CFG(53, 1),        COMM(0, 3),         HDR, ACM(2), UNION(0, 0), INT_IN(0x83, 16, 1),
	    BULK_IN(0x81, 64), BULK_OUT(0x02, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(u, sizeof(u), &f, 1), 1);
	assert_true(f.collapsed);
	assert_true(f.has_union);
	assert_int_equal(f.comm_intf, 0);
	assert_int_equal(f.data_intf, 0);
	assert_int_equal(f.data_alt, 0);
	expect_eps(&f, 0x83, 16, 1, 0x81, 64, 0x02, 64);

	/* No functional descriptors, endpoints in another order, interface 5. */
	static const uint8_t n[] = {
	    CFG(39, 1), COMM(5, 3), BULK_OUT(0x04, 32), INT_IN(0x86, 8, 4), BULK_IN(0x85, 32),
	};
	assert_int_equal(find(n, sizeof(n), &f, 1), 1);
	assert_true(f.collapsed);
	assert_false(f.has_union);
	assert_int_equal(f.comm_intf, 5);
	assert_int_equal(f.data_intf, 5);
	expect_eps(&f, 0x86, 8, 4, 0x85, 32, 0x04, 32);
}

static const uint8_t two_acm[] = {
    CFG(141, 4),
    IAD(0, 2),
    COMM(0, 1),
    HDR,
    CM(0, 1),
    ACM(2),
    UNION(0, 1),
    INT_IN(0x81, 10, 9),
    DATA(1, 0, 2),
    BULK_IN(0x82, 512),
    BULK_OUT(0x01, 512),
    IAD(2, 2),
    COMM(2, 1),
    HDR,
    CM(0, 3),
    ACM(2),
    UNION(2, 3),
    INT_IN(0x83, 10, 9),
    DATA(3, 0, 2),
    BULK_IN(0x84, 512),
    BULK_OUT(0x03, 512),
};

static void test_two_functions(void **state)
{
	struct cdc_acm_function f[3];
	assert_int_equal(find(two_acm, sizeof(two_acm), f, 3), 2);
	assert_int_equal(f[0].comm_intf, 0);
	assert_int_equal(f[0].data_intf, 1);
	assert_true(f[0].has_iad);
	expect_eps(&f[0], 0x81, 10, 9, 0x82, 512, 0x01, 512);
	assert_int_equal(f[1].comm_intf, 2);
	assert_int_equal(f[1].data_intf, 3);
	assert_true(f[1].has_iad);
	assert_true(f[1].has_union);
	expect_eps(&f[1], 0x83, 10, 9, 0x84, 512, 0x03, 512);
}

static void test_max_smaller_than_found(void **state)
{
	struct cdc_acm_function f[2];
	memset(f, 0xee, sizeof(f));
	/* Returns how many exist, writes only max. */
	assert_int_equal(find(two_acm, sizeof(two_acm), f, 1), 2);
	assert_int_equal(f[0].comm_intf, 0);
	assert_int_equal(f[1].comm_intf, 0xee);
	assert_int_equal(cdc_acm_find(&cfg, NULL, 0), 2);
	assert_int_equal(cdc_acm_find(&cfg, NULL, 1), -EINVAL);
	assert_int_equal(cdc_acm_find(NULL, f, 2), -EINVAL);
}

static void test_reversed_order(void **state)
{
	/* Function 2/3 described before 0/1, data interfaces before their
	 * comm interfaces; only 0/1 has an IAD (so an IAD must cover exactly
	 * bFirstInterface .. bFirstInterface + bInterfaceCount - 1). */
	static const uint8_t b[] = {
	    CFG(123, 4),
	    DATA(3, 0, 2),
	    BULK_IN(0x84, 64),
	    BULK_OUT(0x04, 64),
	    COMM(2, 1),
	    HDR,
	    ACM(2),
	    UNION(2, 3),
	    INT_IN(0x83, 8, 1),
	    IAD(0, 2),
	    DATA(1, 0, 2),
	    BULK_IN(0x82, 64),
	    BULK_OUT(0x02, 64),
	    COMM(0, 1),
	    HDR,
	    ACM(2),
	    UNION(0, 1),
	    INT_IN(0x81, 8, 1),
	};
	struct cdc_acm_function f[2];
	assert_int_equal(find(b, sizeof(b), f, 2), 2);
	assert_int_equal(f[0].comm_intf, 0);
	assert_int_equal(f[0].data_intf, 1);
	assert_true(f[0].has_iad);
	expect_eps(&f[0], 0x81, 8, 1, 0x82, 64, 0x02, 64);
	assert_int_equal(f[1].comm_intf, 2);
	assert_int_equal(f[1].data_intf, 3);
	assert_false(f[1].has_iad);
	expect_eps(&f[1], 0x83, 8, 1, 0x84, 64, 0x04, 64);
}

static void test_duplicate_data_interface(void **state)
{
	/* Data interface 1 alt 0 appears twice; only the first (empty) one
	 * counts, as in the kernel and usb_desc_find_interface(), so the
	 * bulk pair of the second is never reported (it could not be
	 * selected).  Found by the fuzzer. */
	static const uint8_t b[] = {
	    CFG(71, 2),         COMM(0, 1),           HDR,           ACM(2),
	    UNION(0, 1),        INT_IN(0x83, 10, 32), DATA(1, 0, 0), DATA(1, 0, 2),
	    BULK_OUT(0x02, 64), BULK_IN(0x82, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(b, sizeof(b), &f, 1), 0);

	/* With the pair on a distinct alt setting it is found there. */
	static const uint8_t ok[] = {
	    CFG(71, 2),         COMM(0, 1),           HDR,           ACM(2),
	    UNION(0, 1),        INT_IN(0x83, 10, 32), DATA(1, 0, 0), DATA(1, 3, 2),
	    BULK_OUT(0x02, 64), BULK_IN(0x82, 64),
	};
	assert_int_equal(find(ok, sizeof(ok), &f, 1), 1);
	assert_int_equal(f.data_alt, 3);
	expect_eps(&f, 0x83, 10, 32, 0x82, 64, 0x02, 64);
}

static void test_data_on_alt_setting(void **state)
{
	static const uint8_t alt1[] = {
	    CFG(71, 2),        COMM(0, 1),           HDR,           ACM(6),
	    UNION(0, 1),       INT_IN(0x81, 8, 255), DATA(1, 0, 0), DATA(1, 1, 2),
	    BULK_IN(0x82, 64), BULK_OUT(0x02, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(alt1, sizeof(alt1), &f, 1), 1);
	assert_int_equal(f.data_intf, 1);
	assert_int_equal(f.data_alt, 1);
	assert_true(f.has_union);
	expect_eps(&f, 0x81, 8, 255, 0x82, 64, 0x02, 64);

	/* Alt 2 listed before alt 1, both with a bulk pair: lowest wins. */
	static const uint8_t alts[] = {
	    CFG(94, 2),         COMM(0, 1),           HDR,           ACM(6),
	    UNION(0, 1),        INT_IN(0x81, 8, 255), DATA(1, 0, 0), DATA(1, 2, 2),
	    BULK_IN(0x83, 512), BULK_OUT(0x03, 512),  DATA(1, 1, 2), BULK_IN(0x82, 64),
	    BULK_OUT(0x02, 64),
	};
	assert_int_equal(find(alts, sizeof(alts), &f, 1), 1);
	assert_int_equal(f.data_alt, 1);
	expect_eps(&f, 0x81, 8, 255, 0x82, 64, 0x02, 64);

	/* Same, alt 1 listed first. */
	static const uint8_t alts12[] = {
	    CFG(94, 2),          COMM(0, 1),           HDR,           ACM(6),
	    UNION(0, 1),         INT_IN(0x81, 8, 255), DATA(1, 0, 0), DATA(1, 1, 2),
	    BULK_IN(0x82, 64),   BULK_OUT(0x02, 64),   DATA(1, 2, 2), BULK_IN(0x83, 512),
	    BULK_OUT(0x03, 512),
	};
	assert_int_equal(find(alts12, sizeof(alts12), &f, 1), 1);
	assert_int_equal(f.data_alt, 1);
	expect_eps(&f, 0x81, 8, 255, 0x82, 64, 0x02, 64);
}

static void test_no_notify_endpoint(void **state)
{
	static const uint8_t b[] = {
	    CFG(55, 2),        COMM(0, 0),         HDR, ACM(0), UNION(0, 1), DATA(1, 0, 2),
	    BULK_IN(0x81, 64), BULK_OUT(0x01, 64),
	};
	struct cdc_acm_function f;
	assert_int_equal(find(b, sizeof(b), &f, 1), 1);
	expect_eps(&f, -1, 0, 0, 0x81, 64, 0x01, 64);
}

static void test_skipped_functions(void **state)
{
	struct cdc_acm_function f;
	/* Data interface has only a bulk IN endpoint (and an interrupt OUT). */
	static const uint8_t half[] = {
	    CFG(62, 2),    COMM(0, 1),        HDR,
	    ACM(2),        UNION(0, 1),       INT_IN(0x81, 8, 1),
	    DATA(1, 0, 2), BULK_IN(0x82, 64), EP(0x02, 3, 64, 1),
	};
	assert_int_equal(find(half, sizeof(half), &f, 1), 0);

	/* Mass storage only. */
	static const uint8_t msc[] = {
	    CFG(32, 1),
	    INTF(0, 0, 2, 8, 6, 0x50),
	    BULK_IN(0x81, 512),
	    BULK_OUT(0x02, 512),
	};
	assert_int_equal(find(msc, sizeof(msc), &f, 1), 0);

	/* CDC-ECM (comm subclass 6) is not ACM even with a data interface. */
	static const uint8_t ecm[] = {
	    CFG(67, 2),    INTF(0, 0, 1, 2, 6, 0), HDR,
	    UNION(0, 1),   INT_IN(0x81, 16, 9),    DATA(1, 0, 0),
	    DATA(1, 1, 2), BULK_IN(0x82, 64),      BULK_OUT(0x02, 64),
	};
	assert_int_equal(find(ecm, sizeof(ecm), &f, 1), 0);

	/* An ACM comm interface only present as alt 1. */
	static const uint8_t alt[] = {
	    CFG(57, 2),    INTF(0, 0, 0, 0xff, 0, 0), INTF(0, 1, 1, 2, 2, 1), INT_IN(0x81, 8, 1),
	    DATA(1, 0, 2), BULK_IN(0x82, 64),         BULK_OUT(0x02, 64),
	};
	assert_int_equal(find(alt, sizeof(alt), &f, 1), 0);
}

static void test_union_to_other_comm(void **state)
{
	/* Comm 0's Union names interface 1, but 1 is an ACM function of its
	 * own (collapsed).  0 has no data interface and is skipped; 1 is
	 * found, not stolen. */
	static const uint8_t b[] = {
	    CFG(65, 2),         COMM(0, 1),         HDR,
	    UNION(0, 1),        INT_IN(0x81, 8, 1), COMM(1, 3),
	    INT_IN(0x82, 8, 1), BULK_IN(0x83, 64),  BULK_OUT(0x03, 64),
	};
	struct cdc_acm_function f[2];
	assert_int_equal(find(b, sizeof(b), f, 2), 1);
	assert_int_equal(f[0].comm_intf, 1);
	assert_true(f[0].collapsed);
	expect_eps(&f[0], 0x82, 8, 1, 0x83, 64, 0x03, 64);
}

static void test_acm_plus_msc(void **state)
{
	static const uint8_t b[] = {
	    CFG(106, 3),
	    IAD(0, 2),
	    COMM(0, 1),
	    HDR,
	    CM(0, 1),
	    ACM(2),
	    UNION(0, 1),
	    INT_IN(0x81, 10, 9),
	    DATA(1, 0, 2),
	    BULK_IN(0x82, 64),
	    BULK_OUT(0x01, 64),
	    8,
	    0x0b,
	    2,
	    1,
	    8,
	    6,
	    0x50,
	    0,
	    INTF(2, 0, 2, 8, 6, 0x50),
	    BULK_IN(0x83, 512),
	    BULK_OUT(0x03, 512),
	};
	struct cdc_acm_function f[2];
	assert_int_equal(find(b, sizeof(b), f, 2), 1);
	assert_int_equal(f[0].comm_intf, 0);
	assert_true(f[0].has_iad);
	expect_eps(&f[0], 0x81, 10, 9, 0x82, 64, 0x01, 64);
}

/* ---- line coding ---- */

static void test_line_coding_roundtrip(void **state)
{
	uint8_t b[8];
	struct cdc_line_coding lc = {115200, CDC_STOP_1, CDC_PARITY_NONE, 8}, back;
	assert_int_equal(cdc_acm_line_coding_encode(&lc, b, sizeof(b)), 7);
	static const uint8_t w115200[7] = {0x00, 0xc2, 0x01, 0x00, 0, 0, 8};
	assert_memory_equal(b, w115200, 7);
	assert_int_equal(cdc_acm_line_coding_decode(&back, b, 7), 7);
	assert_true(cdc_acm_line_coding_equal(&lc, &back));

	struct cdc_line_coding odd = {0x0a0b0c0d, CDC_STOP_2, CDC_PARITY_SPACE, 16};
	assert_int_equal(cdc_acm_line_coding_encode(&odd, b, 7), 7);
	static const uint8_t wodd[7] = {0x0d, 0x0c, 0x0b, 0x0a, 2, 4, 16};
	assert_memory_equal(b, wodd, 7);
	assert_int_equal(cdc_acm_line_coding_decode(&back, b, 8), 7);
	assert_int_equal(back.rate, 0x0a0b0c0d);
	assert_int_equal(back.stop_bits, 2);
	assert_int_equal(back.parity, 4);
	assert_int_equal(back.data_bits, 16);
	assert_false(cdc_acm_line_coding_equal(&lc, &back));

	struct cdc_line_coding a = lc, c = lc;
	c.parity = CDC_PARITY_EVEN;
	assert_false(cdc_acm_line_coding_equal(&a, &c));
	c = lc;
	c.stop_bits = CDC_STOP_1_5;
	assert_false(cdc_acm_line_coding_equal(&a, &c));
	c = lc;
	c.data_bits = 7;
	assert_false(cdc_acm_line_coding_equal(&a, &c));
	c = lc;
	c.rate = 115201;
	assert_false(cdc_acm_line_coding_equal(&a, &c));
}

static void test_line_coding_ranges(void **state)
{
	uint8_t b[7];
	struct cdc_line_coding lc = {9600, CDC_STOP_1, CDC_PARITY_NONE, 8};
	for (unsigned bits = 0; bits < 32; bits++) {
		lc.data_bits = (uint8_t)bits;
		bool ok = (bits >= 5 && bits <= 8) || bits == 16;
		assert_int_equal(cdc_acm_line_coding_encode(&lc, b, 7), ok ? 7 : -EINVAL);
		static const uint8_t base[6] = {0x80, 0x25, 0, 0, 0, 0};
		uint8_t w[7];
		memcpy(w, base, 6);
		w[6] = (uint8_t)bits;
		struct cdc_line_coding d;
		assert_int_equal(cdc_acm_line_coding_decode(&d, w, 7), ok ? 7 : -EPROTO);
	}
	lc.data_bits = 8;
	lc.stop_bits = 3;
	assert_int_equal(cdc_acm_line_coding_encode(&lc, b, 7), -EINVAL);
	lc.stop_bits = CDC_STOP_2;
	lc.parity = 5;
	assert_int_equal(cdc_acm_line_coding_encode(&lc, b, 7), -EINVAL);
	lc.parity = CDC_PARITY_MARK;
	lc.rate = 0;
	assert_int_equal(cdc_acm_line_coding_encode(&lc, b, 7), -EINVAL);
	lc.rate = 0xffffffffu;
	assert_int_equal(cdc_acm_line_coding_encode(&lc, b, 7), 7);
	assert_int_equal(cdc_acm_line_coding_encode(&lc, b, 6), -EMSGSIZE);
	assert_int_equal(cdc_acm_line_coding_encode(NULL, b, 7), -EINVAL);

	struct cdc_line_coding d;
	static const uint8_t stop3[7] = {0x80, 0x25, 0, 0, 3, 0, 8};
	assert_int_equal(cdc_acm_line_coding_decode(&d, stop3, 7), -EPROTO);
	static const uint8_t par5[7] = {0x80, 0x25, 0, 0, 0, 5, 8};
	assert_int_equal(cdc_acm_line_coding_decode(&d, par5, 7), -EPROTO);
	static const uint8_t zero[7] = {0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(cdc_acm_line_coding_decode(&d, zero, 7), -EPROTO);
	static const uint8_t ok[7] = {0x80, 0x25, 0, 0, 1, 3, 5};
	assert_int_equal(cdc_acm_line_coding_decode(&d, ok, 6), -EMSGSIZE);
	assert_int_equal(cdc_acm_line_coding_decode(&d, ok, 0), -EMSGSIZE);
	assert_int_equal(cdc_acm_line_coding_decode(&d, ok, 7), 7);
	assert_int_equal(d.rate, 9600);
	assert_int_equal(d.stop_bits, CDC_STOP_1_5);
	assert_int_equal(d.parity, CDC_PARITY_MARK);
	assert_int_equal(d.data_bits, 5);
}

/* ---- SETUP packets ---- */

static void expect_setup(const struct usb_setup *s, const uint8_t want[8])
{
	uint8_t enc[8];
	usb_desc_setup_encode(s, enc);
	assert_memory_equal(enc, want, 8);
}

static void test_setup_builders(void **state)
{
	struct usb_setup s;

	cdc_acm_setup_set_line_coding(&s, 2);
	static const uint8_t slc[8] = {0x21, 0x20, 0, 0, 2, 0, 7, 0};
	expect_setup(&s, slc);
	assert_false(usb_desc_setup_is_in(&s));

	cdc_acm_setup_get_line_coding(&s, 0);
	static const uint8_t glc[8] = {0xa1, 0x21, 0, 0, 0, 0, 7, 0};
	expect_setup(&s, glc);
	assert_true(usb_desc_setup_is_in(&s));

	cdc_acm_setup_set_control_line_state(&s, 4, CDC_CTRL_DTR | CDC_CTRL_RTS);
	static const uint8_t cls3[8] = {0x21, 0x22, 3, 0, 4, 0, 0, 0};
	expect_setup(&s, cls3);
	cdc_acm_setup_set_control_line_state(&s, 0, CDC_CTRL_RTS);
	static const uint8_t cls2[8] = {0x21, 0x22, 2, 0, 0, 0, 0, 0};
	expect_setup(&s, cls2);
	cdc_acm_setup_set_control_line_state(&s, 0, CDC_CTRL_DTR);
	static const uint8_t cls1[8] = {0x21, 0x22, 1, 0, 0, 0, 0, 0};
	expect_setup(&s, cls1);
	/* Reserved bits never reach the wire. */
	cdc_acm_setup_set_control_line_state(&s, 1, 0xfffc);
	static const uint8_t cls0[8] = {0x21, 0x22, 0, 0, 1, 0, 0, 0};
	expect_setup(&s, cls0);

	cdc_acm_setup_send_break(&s, 2, 250);
	static const uint8_t brk[8] = {0x21, 0x23, 250, 0, 2, 0, 0, 0};
	expect_setup(&s, brk);
	cdc_acm_setup_send_break(&s, 0x7f, CDC_BREAK_FOREVER);
	static const uint8_t brkf[8] = {0x21, 0x23, 0xff, 0xff, 0x7f, 0, 0, 0};
	expect_setup(&s, brkf);
	cdc_acm_setup_send_break(&s, 0, 0);
	static const uint8_t brk0[8] = {0x21, 0x23, 0, 0, 0, 0, 0, 0};
	expect_setup(&s, brk0);
}

/* ---- SERIAL_STATE ---- */

static void test_serial_state_encode(void **state)
{
	uint8_t b[12];
	memset(b, 0xee, sizeof(b));
	assert_int_equal(
	    cdc_acm_serial_state_encode(2, CDC_SS_DCD | CDC_SS_DSR | CDC_SS_OVERRUN, b, sizeof(b)),
	    10);
	static const uint8_t want[10] = {0xa1, 0x20, 0, 0, 2, 0, 2, 0, 0x43, 0x00};
	assert_memory_equal(b, want, 10);
	assert_int_equal(b[10], 0xee);
	assert_int_equal(cdc_acm_serial_state_encode(0, 0, b, 9), -EMSGSIZE);
}

static void test_serial_state_decode(void **state)
{
	uint16_t intf = 0xffff, st = 0xffff;
	static const uint8_t ss[10] = {0xa1, 0x20, 0, 0, 3, 0, 2, 0, 0x7f, 0x01};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, ss, 10), 10);
	assert_int_equal(intf, 3);
	assert_int_equal(st, 0x017f);

	/* Every bit on its own. */
	static const uint16_t bits[] = {CDC_SS_DCD,     CDC_SS_DSR,    CDC_SS_BREAK,  CDC_SS_RI,
	                                CDC_SS_FRAMING, CDC_SS_PARITY, CDC_SS_OVERRUN};
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		uint8_t b[10];
		assert_int_equal(cdc_acm_serial_state_encode(0, bits[i], b, 10), 10);
		assert_int_equal(b[8], 1u << i);
		assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, b, 10), 10);
		assert_int_equal(st, bits[i]);
		assert_int_equal(intf, 0);
	}

	/* Longer buffer: only the first 10 bytes count. */
	static const uint8_t longer[12] = {0xa1, 0x20, 0, 0, 1, 0, 2, 0, 0x02, 0x00, 0xaa, 0xbb};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, longer, 12), 10);
	assert_int_equal(st, CDC_SS_DSR);
	assert_int_equal(intf, 1);

	/* wValue != 0 is tolerated. */
	static const uint8_t wv[10] = {0xa1, 0x20, 1, 0, 0, 0, 2, 0, 0x01, 0x00};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, wv, 10), 10);
	assert_int_equal(st, CDC_SS_DCD);
}

static void test_serial_state_errors(void **state)
{
	uint16_t intf = 0x5555, st = 0x5555;
	static const uint8_t ss[10] = {0xa1, 0x20, 0, 0, 3, 0, 2, 0, 0x03, 0x00};
	for (size_t n = 0; n < 10; n++)
		assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, ss, n), -EMSGSIZE);
	assert_int_equal(intf, 0x5555);
	assert_int_equal(st, 0x5555);

	/* NETWORK_CONNECTION and RESPONSE_AVAILABLE have no data. */
	static const uint8_t netconn[8] = {0xa1, 0x00, 1, 0, 0, 0, 0, 0};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, netconn, 8), -ENOMSG);
	static const uint8_t resp[8] = {0xa1, 0x01, 0, 0, 0, 0, 0, 0};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, resp, 8), -ENOMSG);
	/* CONNECTION_SPEED_CHANGE carries 8 bytes: incomplete, then whole. */
	static const uint8_t speed[16] = {0xa1, 0x2a, 0, 0, 0,    0,    8, 0,
	                                  0x00, 0xc2, 1, 0, 0x00, 0xc2, 1, 0};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, speed, 8), -EMSGSIZE);
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, speed, 16), -ENOMSG);
	assert_int_equal(intf, 0x5555);

	/* A wrong bmRequestType is taken, as the kernel's cdc-acm takes it. */
	static const uint8_t rt[10] = {0x21, 0x20, 0, 0, 3, 0, 2, 0, 0x03, 0x00};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, rt, 10), 10);
	assert_int_equal(st, 0x0003);
	intf = st = 0x5555; /* the errors below leave both alone */
	/* SERIAL_STATE with the wrong wLength. */
	static const uint8_t wl[12] = {0xa1, 0x20, 0, 0, 3, 0, 4, 0, 0x03, 0x00, 0, 0};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, wl, 12), -EPROTO);
	static const uint8_t wl0[10] = {0xa1, 0x20, 0, 0, 3, 0, 0, 0, 0x03, 0x00};
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, wl0, 10), -EPROTO);
	/* wLength says 2 but the packet stops after the header. */
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, ss, 9), -EMSGSIZE);
	assert_int_equal(cdc_acm_serial_state_decode(NULL, &st, ss, 10), -EINVAL);
	assert_int_equal(cdc_acm_serial_state_decode(&intf, NULL, ss, 10), -EINVAL);
	assert_int_equal(intf, 0x5555);
	assert_int_equal(st, 0x5555);
}

/* ---- the serial driver ---- */

static void test_driver_probe(void **state)
{
	static const struct usb_device_desc dd = {.idVendor = 0x0525, .idProduct = 0xa4a7};
	struct serial_function f[3];
	memset(f, 0xee, sizeof(f));
	find(two_acm, sizeof(two_acm), NULL, 0); /* parse into cfg */
	assert_int_equal(serial_drv_probe(&dd, &cfg, f, 3), 2);
	assert_int_equal(f[0].driver, SERIAL_DRV_CDC_ACM);
	assert_int_equal(f[0].intf, 0); /* requests address the comm interface */
	assert_int_equal(f[0].data_intf, 1);
	assert_int_equal(f[0].notify_ep, 0x81);
	assert_int_equal(f[0].bulk_in_ep, 0x82);
	assert_int_equal(f[0].bulk_out_ep, 0x01);
	assert_int_equal(f[0].priv[0], 0);
	assert_int_equal(f[1].intf, 2);
	assert_int_equal(f[1].bulk_in_ep, 0x84);
	assert_int_equal(f[2].driver, 0xee); /* untouched */
	assert_string_equal(serial_drv_name(SERIAL_DRV_CDC_ACM), "cdc_acm");
	assert_string_equal(serial_drv_name(99), "?");
	/* a class device is not claimed by VID:PID; the vendors' parts are */
	assert_int_equal(serial_drv_match_ids(0x0525, 0xa4a7), -ENOENT);
	assert_int_equal(serial_drv_match_ids(0x0403, 0x6001), SERIAL_DRV_FTDI);
	assert_int_equal(serial_drv_match_ids(0x0403, 0x6010), SERIAL_DRV_FTDI);
	assert_int_equal(serial_drv_match_ids(0x10c4, 0xea60), SERIAL_DRV_CP210X);
	assert_int_equal(serial_drv_match_ids(0x1a86, 0x7523), SERIAL_DRV_CH341);
	assert_int_equal(serial_drv_match_ids(0x067b, 0x2303), SERIAL_DRV_PL2303);
	assert_string_equal(serial_drv_name(SERIAL_DRV_FTDI), "ftdi_sio");
}

static void test_driver_requests(void **state)
{
	const struct serial_driver *d = serial_drv_get(SERIAL_DRV_CDC_ACM);
	struct serial_function f = {.driver = SERIAL_DRV_CDC_ACM, .intf = 2};
	struct serial_xfers q;
	uint32_t actual = 0;
	struct serial_line l = {.baud = 250000,
	                        .data_bits = 7,
	                        .parity = SERIAL_PARITY_EVEN,
	                        .stop_bits = SERIAL_STOP_2,
	                        .flow = SERIAL_FLOW_RTSCTS};

	assert_ptr_equal(d, &cdc_acm_driver);
	serial_xfers_init(&q);
	assert_int_equal(d->set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(actual, 250000);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.x[0].setup.bmRequestType, 0x21);
	assert_int_equal(q.x[0].setup.bRequest, 0x20); /* SET_LINE_CODING */
	assert_int_equal(q.x[0].setup.wIndex, 2);
	assert_int_equal(q.x[0].setup.wLength, 7);
	static const uint8_t coding[7] = {
	    0x90, 0xd0, 0x03, 0x00, /* 250000 LE */
	    2,                      /* 2 stop bits */
	    2,                      /* even */
	    7,                      /* data bits */
	};
	assert_memory_equal(q.x[0].data, coding, 7);
	/* the same coding with only the flow changed: nothing to send */
	l.flow = 0;
	serial_xfers_init(&q);
	assert_int_equal(d->set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(q.n, 0);
	/* a fresh link (priv zeroed) sends it again */
	memset(f.priv, 0, sizeof(f.priv));
	assert_int_equal(d->set_line(&f, &l, &q, &actual), 0);
	assert_int_equal(q.n, 1);
	/* out of range */
	l.data_bits = 9;
	assert_int_equal(d->set_line(&f, &l, &q, &actual), -EINVAL);

	serial_xfers_init(&q);
	assert_int_equal(d->set_lines(&f, SERIAL_RTS, &q), 0);
	assert_int_equal(d->set_break(&f, true, &q), 0);
	assert_int_equal(d->set_break(&f, false, &q), 0);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.x[0].setup.bRequest, 0x22); /* SET_CONTROL_LINE_STATE */
	assert_int_equal(q.x[0].setup.wValue, 0x0002); /* RTS only */
	assert_int_equal(q.x[0].setup.wLength, 0);
	assert_int_equal(q.x[1].setup.bRequest, 0x23); /* SEND_BREAK */
	assert_int_equal(q.x[1].setup.wValue, 0xffff); /* until cleared */
	assert_int_equal(q.x[2].setup.wValue, 0);
}

static void test_driver_status(void **state)
{
	const struct serial_driver *d = &cdc_acm_driver;
	struct serial_function f = {.driver = SERIAL_DRV_CDC_ACM, .intf = 1};
	struct serial_status st;
	uint8_t n[10];

	assert_int_equal(d->status_source, SERIAL_STATUS_INTERRUPT);
	assert_int_equal(d->initial_lines, SERIAL_CTS);
	cdc_acm_serial_state_encode(1, CDC_SS_DCD | CDC_SS_RI | CDC_SS_PARITY, n, sizeof(n));
	memset(&st, 0, sizeof(st));
	assert_int_equal(d->status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n, sizeof(n), &st), 0);
	assert_true(st.has_lines);
	assert_true(st.ri_event);
	assert_int_equal(st.lines, SERIAL_CTS | SERIAL_DCD | SERIAL_RI);
	assert_int_equal(st.events, SERIAL_EV_PARITY);
	/* wIndex naming another interface (firmware that puts the data
	 * interface there) still counts, on this function's endpoint; a short one */
	cdc_acm_serial_state_encode(3, CDC_SS_DCD, n, sizeof(n));
	memset(&st, 0, sizeof(st));
	assert_int_equal(d->status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n, sizeof(n), &st), 0);
	assert_int_equal(st.lines, SERIAL_CTS | SERIAL_DCD);
	assert_int_equal(d->status_decode(&f, SERIAL_ORIGIN_INTERRUPT, n, 9, &st), -EMSGSIZE);
}

static void test_xfers_bounds(void **state)
{
	struct serial_xfers q;
	uint8_t big[SERIAL_XFER_DATA_MAX + 1] = {0};

	serial_xfers_init(&q);
	/* an OUT data stage longer than a transfer holds, or missing */
	assert_int_equal(serial_xfers_add(&q, 0x40, 1, 0, 0, big, sizeof(big)), -EINVAL);
	assert_int_equal(serial_xfers_add(&q, 0x40, 1, 0, 0, NULL, 2), -EINVAL);
	/* IN: wLength is the size asked for; the tag is kept */
	assert_int_equal(serial_xfers_add_ex(&q, 0xc0, 5, 1, 2, NULL, 300, SERIAL_XFER_OPTIONAL, 7),
	                 0);
	assert_int_equal(q.x[0].setup.wLength, 300);
	assert_int_equal(q.x[0].tag, 7);
	assert_int_equal(q.x[0].flags, SERIAL_XFER_OPTIONAL);
	/* an OUT transfer never carries a tag */
	assert_int_equal(serial_xfers_add_ex(&q, 0x40, 5, 1, 2, big, 2, 0, 7), 0);
	assert_int_equal(q.x[1].tag, 0);
	for (unsigned i = 2; i < SERIAL_XFERS_MAX; i++)
		assert_int_equal(serial_xfers_add(&q, 0x40, 1, 0, 0, NULL, 0), 0);
	assert_int_equal(serial_xfers_add(&q, 0x40, 1, 0, 0, NULL, 0), -ENOSPC);
	assert_int_equal(q.n, SERIAL_XFERS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iad_union),
	    cmocka_unit_test(test_union_no_iad_numbers_2_3),
	    cmocka_unit_test(test_call_mgmt_without_union),
	    cmocka_unit_test(test_no_functional_next_interface),
	    cmocka_unit_test(test_union_to_missing_interface),
	    cmocka_unit_test(test_collapsed),
	    cmocka_unit_test(test_two_functions),
	    cmocka_unit_test(test_max_smaller_than_found),
	    cmocka_unit_test(test_reversed_order),
	    cmocka_unit_test(test_duplicate_data_interface),
	    cmocka_unit_test(test_data_on_alt_setting),
	    cmocka_unit_test(test_no_notify_endpoint),
	    cmocka_unit_test(test_skipped_functions),
	    cmocka_unit_test(test_union_to_other_comm),
	    cmocka_unit_test(test_acm_plus_msc),
	    cmocka_unit_test(test_line_coding_roundtrip),
	    cmocka_unit_test(test_line_coding_ranges),
	    cmocka_unit_test(test_setup_builders),
	    cmocka_unit_test(test_serial_state_encode),
	    cmocka_unit_test(test_serial_state_decode),
	    cmocka_unit_test(test_serial_state_errors),
	    cmocka_unit_test(test_driver_probe),
	    cmocka_unit_test(test_driver_requests),
	    cmocka_unit_test(test_driver_status),
	    cmocka_unit_test(test_xfers_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, release_held);
}
