/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for lsusb_parse: every fixture in test/lsusb parses, the bytes
 * round-trip through usb_desc + cdc_acm to exactly the functions the text
 * describes, and damaged text (truncated, bad numbers, contradictions,
 * limits) gives the promised error and line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_acm.h"
#include "lsusb_parse.h"
#include "usb_desc.h"

enum { SPEED_FULL = 2, SPEED_HIGH = 3, SPEED_SUPER = 5, SPEED_SUPER_PLUS = 6 };

/* ---- helpers ---------------------------------------------------------- */

static char *load_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("LSUSB_FIXTURES");
	char path[4096];

	if (!dir)
		dir = "test/lsusb";
	snprintf(path, sizeof(path), "%s/%s.lsusb", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (set LSUSB_FIXTURES)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0'; /* for the string helpers only: parse() passes the length */
	*len = (size_t)n;
	return buf;
}

/* Parse from an exact-size heap copy (no NUL) so ASan sees overreads. */
static int parse_n(const char *text, size_t len, struct lsusb_device *d, unsigned *line)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	int r = lsusb_parse(copy, len, d, line);
	free(copy);
	return r;
}

static int parse_s(const char *text, struct lsusb_device *d, unsigned *line)
{
	return parse_n(text, strlen(text), d, line);
}

static struct lsusb_device *new_dev(void)
{
	struct lsusb_device *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	return d;
}

static struct lsusb_device *parse_fixture(const char *name)
{
	size_t len;
	char *text = load_fixture(name, &len);
	struct lsusb_device *d = new_dev();
	unsigned line = 1234;
	int r = parse_n(text, len, d, &line);
	if (r != 0)
		fail_msg("%s: error %d at line %u", name, r, line);
	assert_int_equal(line, 0);
	free(text);
	return d;
}

/* Replace the first occurrence of `from` (which must exist). */
static char *replace(const char *src, const char *from, const char *to)
{
	const char *at = strstr(src, from);
	if (!at)
		fail_msg("test text lacks \"%s\"", from);
	size_t pre = (size_t)(at - src), fl = strlen(from), tl = strlen(to);
	char *out = malloc(strlen(src) - fl + tl + 1);
	assert_non_null(out);
	memcpy(out, src, pre);
	memcpy(out + pre, to, tl);
	strcpy(out + pre + tl, at + fl);
	return out;
}

/* 1-based line of the first occurrence of needle. */
static unsigned line_of(const char *src, const char *needle)
{
	const char *at = strstr(src, needle);
	assert_non_null(at);
	unsigned line = 1;
	for (const char *p = src; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Parse a damaged fixture and check error and line (the line of err_at
 * plus off; no line check when err_at is NULL). */
static void expect_error_off(const char *fixture, const char *from, const char *to, int err,
                             const char *err_at, unsigned off)
{
	size_t len;
	char *text = load_fixture(fixture, &len);
	char *bad = replace(text, from, to);
	struct lsusb_device *d = new_dev();
	unsigned line = 0;
	int r = parse_s(bad, d, &line);
	if (r != err)
		fail_msg("replacing \"%s\" by \"%s\": got %d, want %d", from, to, r, err);
	if (err_at)
		assert_int_equal(line, line_of(bad, err_at) + off);
	free(d);
	free(bad);
	free(text);
}

static void expect_error(const char *fixture, const char *from, const char *to, int err,
                         const char *err_at)
{
	expect_error_off(fixture, from, to, err, err_at, 0);
}

static void round_trip(const struct lsusb_device *d, unsigned ci, struct usb_config_desc *c,
                       struct cdc_acm_function *fn, size_t max, int want_fns)
{
	assert_true(ci < d->num_configs);
	ssize_t n = usb_desc_parse_config(c, d->config[ci].bytes, d->config[ci].len);
	assert_int_equal(n, d->config[ci].len);
	assert_int_equal(c->wTotalLength, d->config[ci].len);
	int found = cdc_acm_find(c, fn, max);
	assert_int_equal(found, want_fns);
}

static void check_fn(const struct cdc_acm_function *f, uint8_t comm, uint8_t data, uint8_t notify,
                     uint16_t notify_mps, uint8_t ival, uint8_t in, uint8_t out, uint16_t mps)
{
	assert_int_equal(f->comm_intf, comm);
	assert_int_equal(f->data_intf, data);
	assert_true(f->has_notify);
	assert_int_equal(f->notify_ep, notify);
	assert_int_equal(f->notify_mps, notify_mps);
	assert_int_equal(f->notify_interval, ival);
	assert_int_equal(f->bulk_in_ep, in);
	assert_int_equal(f->bulk_out_ep, out);
	assert_int_equal(f->bulk_in_mps, mps);
	assert_int_equal(f->bulk_out_mps, mps);
}

/* ---- fixtures --------------------------------------------------------- */

static void test_all_fixtures_parse(void **state)
{
	static const struct {
		const char *name;
		uint8_t bus, dev;
		uint16_t vid, pid;
	} fx[] = {
	    {"1-1", 1, 1, 0x0525, 0xa4a7},     {"1-2", 1, 2, 0x2e8a, 0x000a},
	    {"1-3", 1, 3, 0x2e8a, 0x000a},     {"1-4", 1, 4, 0x1d50, 0x6018},
	    {"1-5", 1, 5, 0x16c0, 0x05e1},     {"2-1", 2, 1, 0x0781, 0x5567},
	    {"99-99", 99, 99, 0x303a, 0x1001},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		struct lsusb_device *d = parse_fixture(fx[i].name);
		struct usb_device_desc dd;
		assert_int_equal(d->busnum, fx[i].bus);
		assert_int_equal(d->devnum, fx[i].dev);
		assert_int_equal(usb_desc_parse_device(&dd, d->device_desc, 18), 18);
		assert_int_equal(dd.idVendor, fx[i].vid);
		assert_int_equal(dd.idProduct, fx[i].pid);
		assert_int_equal(dd.bNumConfigurations, d->num_configs);
		assert_int_equal(d->num_configs, 1);
		assert_true(d->speed != 0);
		/* only the Black Magic Probe has a block we cannot re-encode */
		if (strcmp(fx[i].name, "1-4") != 0)
			assert_int_equal(d->config[0].len, d->config[0].text_total_len);
		free(d);
	}
}

static void test_gadget_serial_exact_bytes(void **state)
{
	static const uint8_t dev[18] = {18,   1,    0x00, 0x02, 2,    0, 0, 64, 0x25,
	                                0x05, 0xa7, 0xa4, 0x01, 0x06, 1, 2, 3,  1};
	static const uint8_t cfg[] = {
	    9, 2,    75,   0,    2,    2,    4, 0xc0, 1, /* config: 2 mA = 1 unit */
	    8, 0x0b, 0,    2,    2,    2,    1, 7,       /* IAD */
	    9, 4,    0,    0,    1,    2,    2, 1,    5, /* comm interface */
	    5, 0x24, 0x00, 0x10, 0x01,                   /* header 1.10 */
	    5, 0x24, 0x01, 0x00, 1,                      /* call management */
	    4, 0x24, 0x02, 0x02,                         /* ACM */
	    5, 0x24, 0x06, 0,    1,                      /* union */
	    7, 5,    0x85, 3,    10,   0,    9,          /* notify */
	    9, 4,    1,    0,    2,    10,   0, 0,    6, /* data interface */
	    7, 5,    0x81, 2,    0x00, 0x02, 0,          /* bulk IN 512 */
	    7, 5,    0x02, 2,    0x00, 0x02, 0,          /* bulk OUT 512 */
	};
	(void)state;
	struct lsusb_device *d = parse_fixture("1-1");
	assert_memory_equal(d->device_desc, dev, sizeof(dev));
	assert_int_equal(d->config[0].len, sizeof(cfg));
	assert_memory_equal(d->config[0].bytes, cfg, sizeof(cfg));
	assert_int_equal(d->speed, SPEED_HIGH); /* bulk 512 */
	assert_int_equal(d->num_strings, 7);
	assert_string_equal(lsusb_parse_string(d, 1), "Linux 6.1.0-18-amd64 with dummy_udc");
	assert_string_equal(lsusb_parse_string(d, 2), "Gadget Serial v2.4");
	assert_string_equal(lsusb_parse_string(d, 3), "3f7a29c1d0b84e56");
	assert_string_equal(lsusb_parse_string(d, 4), "CDC ACM config");
	assert_string_equal(lsusb_parse_string(d, 7), "CDC Serial");
	assert_null(lsusb_parse_string(d, 0));
	assert_null(lsusb_parse_string(d, 8));
	free(d);
}

static void test_gadget_serial_round_trip(void **state)
{
	static struct usb_config_desc c;
	struct cdc_acm_function fn[4];
	(void)state;
	struct lsusb_device *d = parse_fixture("1-1");
	round_trip(d, 0, &c, fn, 4, 1);
	assert_int_equal(c.bConfigurationValue, 2);
	assert_int_equal(c.num_iads, 1);
	assert_int_equal(c.iad[0].iFunction, 7);
	check_fn(&fn[0], 0, 1, 0x85, 10, 9, 0x81, 0x02, 512);
	assert_true(fn[0].has_union);
	assert_true(fn[0].has_iad);
	assert_false(fn[0].collapsed);
	assert_int_equal(fn[0].acm_caps, 0x02);
	assert_string_equal(lsusb_parse_string(d, c.intf[0].iInterface),
	                    "CDC Abstract Control Model (ACM)");
	free(d);
}

static void test_same_vid_pid_different_serials(void **state)
{
	static struct usb_config_desc c;
	struct cdc_acm_function fn[4];
	struct usb_device_desc a, b;
	(void)state;
	struct lsusb_device *d2 = parse_fixture("1-2");
	struct lsusb_device *d3 = parse_fixture("1-3");
	assert_int_equal(usb_desc_parse_device(&a, d2->device_desc, 18), 18);
	assert_int_equal(usb_desc_parse_device(&b, d3->device_desc, 18), 18);
	assert_int_equal(a.idVendor, b.idVendor);
	assert_int_equal(a.idProduct, b.idProduct);
	assert_int_equal(a.iSerialNumber, 3);
	assert_string_equal(lsusb_parse_string(d2, a.iSerialNumber), "E6605838833C6B2A");
	assert_string_equal(lsusb_parse_string(d3, b.iSerialNumber), "E66058388346A52F");
	assert_string_equal(lsusb_parse_string(d2, a.iProduct), "Pico");
	/* only the serial differs */
	assert_memory_equal(d2->config[0].bytes, d3->config[0].bytes, d2->config[0].len);
	assert_int_equal(d2->speed, SPEED_FULL); /* bulk 64 */

	round_trip(d2, 0, &c, fn, 4, 1);
	assert_int_equal(c.num_interfaces, 3); /* + the vendor reset interface */
	assert_int_equal(c.bMaxPower, 125);    /* 250 mA */
	check_fn(&fn[0], 0, 1, 0x81, 8, 16, 0x82, 0x02, 64);
	assert_true(fn[0].has_iad);
	assert_string_equal(lsusb_parse_string(d2, c.intf[0].iInterface), "Board CDC");
	assert_string_equal(lsusb_parse_string(d2, c.intf[2].iInterface), "Reset");
	free(d2);
	free(d3);
}

static void test_composite_two_acm(void **state)
{
	static struct usb_config_desc c;
	struct cdc_acm_function fn[4];
	(void)state;
	struct lsusb_device *d = parse_fixture("1-4");
	/* the 9-byte DFU functional descriptor is skipped */
	assert_int_equal(d->config[0].text_total_len, 175);
	assert_int_equal(d->config[0].len, 166);
	round_trip(d, 0, &c, fn, 4, 2);
	assert_int_equal(c.bNumInterfaces, 6);
	assert_int_equal(c.num_interfaces, 6);
	assert_int_equal(c.num_iads, 2);
	check_fn(&fn[0], 0, 1, 0x82, 16, 255, 0x81, 0x01, 64);
	check_fn(&fn[1], 2, 3, 0x84, 16, 255, 0x83, 0x03, 64);
	assert_true(fn[0].has_iad && fn[1].has_iad);
	assert_int_equal(c.iad[1].iFunction, 5);
	/* an index used by both an IAD and an interface is stored once */
	assert_string_equal(lsusb_parse_string(d, 4), "Black Magic GDB Server");
	assert_string_equal(lsusb_parse_string(d, 5), "Black Magic UART Port");
	assert_string_equal(lsusb_parse_string(d, 7), "Black Magic Trace Capture");
	assert_int_equal(d->num_strings, 7);
	/* the DFU interface itself is still there, without its functional
	 * descriptor */
	const struct usb_interface_desc *dfu = usb_desc_find_interface(&c, 4, 0);
	assert_non_null(dfu);
	assert_int_equal(dfu->bInterfaceClass, 0xfe);
	assert_int_equal(dfu->extra_len, 0);
	free(d);
}

static void test_collapsed_no_union(void **state)
{
	static struct usb_config_desc c;
	struct cdc_acm_function fn[4];
	(void)state;
	struct lsusb_device *d = parse_fixture("1-5");
	round_trip(d, 0, &c, fn, 4, 1);
	assert_int_equal(c.num_interfaces, 1);
	assert_int_equal(c.bmAttributes, 0xa0);
	assert_int_equal(c.bMaxPower, 50);
	check_fn(&fn[0], 0, 0, 0x83, 8, 10, 0x81, 0x02, 64);
	assert_true(fn[0].collapsed);
	assert_false(fn[0].has_union);
	assert_false(fn[0].has_iad);
	assert_int_equal(fn[0].acm_caps, 0x06);
	/* bcdUSB 2.01: the BOS block after the configuration is skipped */
	assert_int_equal(d->device_desc[2], 0x01);
	assert_int_equal(d->device_desc[3], 0x02);
	assert_int_equal(d->speed, SPEED_FULL);
	free(d);
}

static void test_mass_storage(void **state)
{
	static struct usb_config_desc c;
	struct cdc_acm_function fn[4];
	(void)state;
	struct lsusb_device *d = parse_fixture("2-1");
	round_trip(d, 0, &c, fn, 4, 0);
	assert_int_equal(c.intf[0].bInterfaceClass, 8);
	assert_int_equal(c.intf[0].ep[1].bInterval, 1);
	/* the text after the index is kept as is, leading blank included */
	assert_string_equal(lsusb_parse_string(d, 1), " SanDisk'");
	assert_string_equal(lsusb_parse_string(d, 3), "4C530001130625117442");
	assert_int_equal(d->speed, SPEED_HIGH);
	free(d);
}

static void test_reserved_failing_device(void **state)
{
	static struct usb_config_desc c;
	struct cdc_acm_function fn[4];
	(void)state;
	struct lsusb_device *d = parse_fixture("99-99");
	round_trip(d, 0, &c, fn, 4, 1);
	check_fn(&fn[0], 0, 1, 0x82, 64, 1, 0x81, 0x01, 64);
	assert_int_equal(c.num_interfaces, 3);
	free(d);
}

/* ---- format variants -------------------------------------------------- */

static void parse_variant_equal(const char *fixture, const char *from, const char *to)
{
	size_t len;
	char *text = load_fixture(fixture, &len);
	char *var = replace(text, from, to);
	struct lsusb_device *a = new_dev(), *b = new_dev();
	unsigned line = 0;
	assert_int_equal(parse_n(text, len, a, NULL), 0);
	int r = parse_s(var, b, &line);
	if (r != 0)
		fail_msg("variant \"%s\": %d at line %u", to, r, line);
	assert_memory_equal(a->device_desc, b->device_desc, 18);
	assert_int_equal(a->config[0].len, b->config[0].len);
	assert_memory_equal(a->config[0].bytes, b->config[0].bytes, a->config[0].len);
	free(a);
	free(b);
	free(var);
	free(text);
}

static void test_hexdumps_equal_decoded(void **state)
{
	(void)state;
	/* lsusb prints undecodable descriptors as hex: same bytes either way */
	parse_variant_equal("1-1", "      CDC Header:\n        bcdCDC               1.10\n",
	                    "      UNRECOGNIZED CDC:  05 24 00 10 01\n");
	parse_variant_equal("1-1",
	                    "      CDC Union:\n        bMasterInterface        0\n"
	                    "        bSlaveInterface         1 \n",
	                    "      INVALID CDC (Union):  05 24 06 00 01\n");
	parse_variant_equal("1-1",
	                    "      CDC ACM:\n        bmCapabilities       0x02\n"
	                    "          line coding and serial state\n",
	                    "      ** UNRECOGNIZED:  04 24 02 02\n");
	/* older lsusb printed wTotalLength in decimal, trailing blanks vary */
	parse_variant_equal("1-1", "wTotalLength       0x004b", "wTotalLength           75");
	parse_variant_equal("1-1", "bSlaveInterface         1 ", "bSlaveInterface         1");
	/* an unknown class block is skipped with everything below it */
	parse_variant_equal("1-1",
	                    "      Endpoint Descriptor:\n        bLength                 7\n"
	                    "        bDescriptorType         5\n        bEndpointAddress     0x81",
	                    "      HID Device Descriptor:\n        bLength                 9\n"
	                    "          Report Descriptors:\n            ** UNAVAILABLE **\n"
	                    "      Endpoint Descriptor:\n        bLength                 7\n"
	                    "        bDescriptorType         5\n        bEndpointAddress     0x81");
	/* stderr noise interleaved at column 0 */
	parse_variant_equal("1-2", "Device Descriptor:\n",
	                    "Couldn't open device, some information will be missing\n"
	                    "Device Descriptor:\n");
}

static void test_crlf(void **state)
{
	size_t len;
	(void)state;
	char *text = load_fixture("1-4", &len);
	char *crlf = malloc(len * 2 + 1);
	assert_non_null(crlf);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = text[i];
	}
	struct lsusb_device *a = new_dev(), *b = new_dev();
	assert_int_equal(parse_n(text, len, a, NULL), 0);
	assert_int_equal(parse_n(crlf, n, b, NULL), 0);
	assert_memory_equal(a, b, sizeof(*a));
	free(a);
	free(b);
	free(crlf);
	free(text);
}

static void test_negotiated_speed_line(void **state)
{
	static const struct {
		const char *line;
		uint8_t speed;
	} v[] = {
	    {"Negotiated speed: Full Speed (12Mbps)\n", SPEED_FULL},
	    {"Negotiated speed: High Speed (480Mbps)\n", SPEED_HIGH},
	    {"Negotiated speed: SuperSpeed (5Gbps)\n", SPEED_SUPER},
	    {"Negotiated speed: SuperSpeed+ (10Gbps)\n", SPEED_SUPER_PLUS},
	    {"Negotiated speed: Low Speed (1Mbps)\n", 1},
	    /* not understood: the derivation (bulk 512 -> high) applies */
	    {"Negotiated speed: Unknown Speed\n", SPEED_HIGH},
	};
	size_t len;
	(void)state;
	char *text = load_fixture("1-1", &len);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char to[128];
		snprintf(to, sizeof(to), "%sDevice Descriptor:\n", v[i].line);
		char *var = replace(text, "Device Descriptor:\n", to);
		struct lsusb_device *d = new_dev();
		assert_int_equal(parse_s(var, d, NULL), 0);
		assert_int_equal(d->speed, v[i].speed);
		free(d);
		free(var);
	}
	free(text);
}

static void test_speed_without_bulk(void **state)
{
	size_t len;
	(void)state;
	/* 2-1 has bulk 512; make both 64: full speed despite the qualifier */
	char *text = load_fixture("2-1", &len);
	char *a = replace(text, "0x0200  1x 512 bytes", "0x0040  1x 64 bytes");
	char *b = replace(a, "0x0200  1x 512 bytes", "0x0040  1x 64 bytes");
	struct lsusb_device *d = new_dev();
	assert_int_equal(parse_s(b, d, NULL), 0);
	assert_int_equal(d->speed, SPEED_FULL);
	free(d);
	free(a);
	free(b);
	free(text);
}

static void test_audio_endpoint_nine_bytes(void **state)
{
	static struct usb_config_desc c;
	size_t len;
	(void)state;
	char *text = load_fixture("2-1", &len);
	char *var = replace(text,
	                    "        bLength                 7\n        bDescriptorType         5\n"
	                    "        bEndpointAddress     0x81",
	                    "        bLength                 9\n        bDescriptorType         5\n"
	                    "        bEndpointAddress     0x81");
	char *ok = replace(var, "        bInterval               0\n",
	                   "        bInterval               0\n        bRefresh                0\n"
	                   "        bSynchAddress         130\n");
	struct lsusb_device *d = new_dev();
	unsigned line = 0;
	assert_int_equal(parse_s(ok, d, &line), 0);
	assert_int_equal(d->config[0].len, 34);
	assert_int_equal(usb_desc_parse_config(&c, d->config[0].bytes, d->config[0].len), 34);
	assert_int_equal(d->config[0].bytes[18 + 8], 130);
	/* bLength 9 without the two extra fields is a contradiction */
	assert_int_equal(parse_s(var, d, &line), -EPROTO);
	assert_int_equal(line, line_of(var, "      Endpoint Descriptor:"));
	free(d);
	free(ok);
	free(var);
	free(text);
}

/* ---- malformed input -------------------------------------------------- */

static void test_not_lsusb(void **state)
{
	struct lsusb_device *d = new_dev();
	unsigned line = 99;
	(void)state;
	assert_int_equal(lsusb_parse("", 0, d, &line), -EINVAL);
	assert_int_equal(line, 0);
	assert_int_equal(lsusb_parse(NULL, 0, d, NULL), -EINVAL);
	assert_int_equal(lsusb_parse("x", 1, NULL, NULL), -EINVAL);
	assert_int_equal(parse_s("hello\nworld\n", d, NULL), -EINVAL);
	assert_int_equal(parse_s("Bus 001 Device 002: ID 1234:5678 Foo\n", d, NULL), -EINVAL);
	/* a heading with no fields: the device block misses them all */
	assert_int_equal(parse_s("Device Descriptor:\n", d, &line), -EPROTO);
	assert_int_equal(line, 1);
	free(d);
}

static void test_missing_device_descriptor(void **state)
{
	(void)state;
	expect_error("1-1", "Device Descriptor:\n", "", -EINVAL, NULL);
}

static void test_two_devices(void **state)
{
	size_t l1, l2;
	(void)state;
	char *a = load_fixture("1-1", &l1);
	char *b = load_fixture("1-2", &l2);
	char *both = malloc(l1 + l2);
	assert_non_null(both);
	memcpy(both, a, l1);
	memcpy(both + l1, b, l2);
	struct lsusb_device *d = new_dev();
	unsigned line = 0;
	assert_int_equal(parse_n(both, l1 + l2, d, &line), -EINVAL);
	assert_int_equal(line, line_of(a, "Device Status:") + 2); /* the second Bus line */
	/* a second Device Descriptor without a Bus line */
	char *dd = strstr(b, "Device Descriptor:");
	memcpy(both + l1, dd, l2 - (size_t)(dd - b));
	assert_int_equal(parse_n(both, l1 + l2 - (size_t)(dd - b), d, NULL), -EINVAL);
	free(d);
	free(both);
	free(a);
	free(b);
}

static void test_nul_byte(void **state)
{
	size_t len;
	(void)state;
	char *text = load_fixture("1-1", &len);
	text[100] = '\0';
	struct lsusb_device *d = new_dev();
	unsigned line = 0;
	assert_int_equal(parse_n(text, len, d, &line), -EINVAL);
	assert_true(line >= 1 && line <= 5);
	free(d);
	free(text);
}

/* Every cut at a line boundary before the end of the last endpoint is an
 * error; every cut after it parses to the same bytes.  Cuts at every byte
 * must never crash (ASan/UBSan builds). */
static void test_truncated_everywhere(void **state)
{
	const char *const names[] = {"1-1", "1-4", "1-5", "2-1"};
	(void)state;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t len;
		char *text = load_fixture(names[k], &len);
		struct lsusb_device *full = new_dev(), *d = new_dev();
		assert_int_equal(parse_n(text, len, full, NULL), 0);
		/* the descriptor part ends at the first column-0 line after
		 * "Device Descriptor:" */
		const char *dd = strstr(text, "Device Descriptor:\n");
		const char *p = dd;
		do {
			p = strchr(p, '\n') + 1;
		} while (*p == ' ');
		size_t desc_end = (size_t)(p - text);

		for (size_t cut = 0; cut <= len; cut++) {
			unsigned line = 0;
			int r = parse_n(text, cut, d, &line);
			bool at_line = cut == len || (cut > 0 && text[cut - 1] == '\n');
			if (!at_line) {
				assert_true(r == 0 || r == -EPROTO || r == -EINVAL);
				continue;
			}
			if (cut >= desc_end) {
				assert_int_equal(r, 0);
				assert_memory_equal(d->config[0].bytes, full->config[0].bytes,
				                    full->config[0].len);
			} else if (cut <= (size_t)(dd - text)) {
				assert_int_equal(r, -EINVAL);
			} else if (r != -EPROTO) {
				fail_msg("%s cut at %zu: %d", names[k], cut, r);
			}
		}
		free(full);
		free(d);
		free(text);
	}
}

static void test_bad_numbers(void **state)
{
	(void)state;
	expect_error("1-1", "0x000a  1x 10 bytes", "0x00g0  1x 10 bytes", -EPROTO,
	             "wMaxPacketSize     0x00g0");
	expect_error("1-1", "bcdUSB               2.00", "bcdUSB               2.0", -EPROTO,
	             "bcdUSB");
	expect_error("1-1", "bcdUSB               2.00", "bcdUSB               2.0g", -EPROTO,
	             "bcdUSB");
	expect_error("1-1", "bInterval               9", "bInterval             256", -EPROTO,
	             "bInterval             256");
	expect_error("1-1", "bInterval               9",
	             "bInterval             99999999999999999999999", -EPROTO, "bInterval      ");
	expect_error("1-1", "bInterval               9", "bInterval", -EPROTO, "bInterval\n");
	expect_error("1-1", "idVendor           0x0525", "idVendor           0x10525", -EPROTO,
	             "idVendor");
	expect_error("1-1", "MaxPower                2mA", "MaxPower                3mA", -EPROTO,
	             "  Configuration Descriptor:");
	expect_error("1-1", "MaxPower                2mA", "MaxPower                2", -EPROTO,
	             "MaxPower");
	expect_error("1-1", "MaxPower                2mA", "MaxPower              512mA", -EPROTO,
	             "  Configuration Descriptor:");
	expect_error("1-1", "bSlaveInterface         1 ", "bSlaveInterface         ", -EPROTO,
	             "bSlaveInterface");
	expect_error("1-1", "bSlaveInterface         1 ", "bSlaveInterface         1 x", -EPROTO,
	             "bSlaveInterface");
	expect_error("1-1", "bMaxPacketSize0        64", "bMaxPacketSize0        65", -EPROTO,
	             "Device Descriptor:");
}

static void test_contradictions(void **state)
{
	(void)state;
	expect_error("1-1", "0x85  EP 5 IN", "0x85  EP 4 IN", -EPROTO, "0x85  EP 4 IN");
	expect_error("1-1", "0x85  EP 5 IN", "0x85  EP 5 OUT", -EPROTO, "0x85  EP 5 OUT");
	expect_error("1-1", "1x 10 bytes", "1x 11 bytes", -EPROTO, "1x 11 bytes");
	expect_error("1-1", "1x 10 bytes", "2x 10 bytes", -EPROTO, "2x 10 bytes");
	expect_error("1-1", "Transfer Type            Interrupt", "Transfer Type            Bulk",
	             -EPROTO, "      Endpoint Descriptor:");
	expect_error("1-1", "Transfer Type            Interrupt", "Transfer Type            Foo",
	             -EPROTO, "Transfer Type            Foo");
	expect_error("1-1", "ID 0525:a4a7", "ID 0525:a4a8", -EPROTO, "Bus 001");
	expect_error("1-1", "bLength                18", "bLength                17", -EPROTO,
	             "Device Descriptor:");
	expect_error("1-1", "bDescriptorType         2", "bDescriptorType         3", -EPROTO,
	             "  Configuration Descriptor:");
	expect_error("1-1", "bNumEndpoints           1", "bNumEndpoints           2", -EPROTO,
	             "    Interface Descriptor:");
	/* reported at the surplus endpoint's heading, 3 lines above */
	expect_error_off("1-1", "bNumEndpoints           2", "bNumEndpoints           1", -EPROTO,
	                 "        bEndpointAddress     0x02", (unsigned)-3);
	expect_error("1-1", "bNumInterfaces          2", "bNumInterfaces          3", -EPROTO,
	             "  Configuration Descriptor:");
	expect_error("1-1", "bNumConfigurations      1", "bNumConfigurations      2", -EPROTO,
	             "Device Descriptor:");
	expect_error("1-1", "bNumConfigurations      1", "bNumConfigurations      0", -EPROTO,
	             "Device Descriptor:");
	/* the same field twice */
	expect_error_off("1-1", "        bInterval               9\n",
	                 "        bInterval               9\n        bInterval               9\n",
	                 -EPROTO, "        bInterval               9\n        bInterval", 1);
	/* a field missing: reported at its block's heading */
	expect_error("1-1", "        bmCapabilities       0x02\n", "", -EPROTO, "      CDC ACM:");
	/* an endpoint after an IAD belongs to no interface */
	expect_error("1-4",
	             "    Interface Descriptor:\n      bLength                 9\n"
	             "      bDescriptorType         4\n      bInterfaceNumber        2",
	             "      Endpoint Descriptor:", -EPROTO,
	             "      Endpoint Descriptor:\n      bAlternateSetting");
	/* a line that fits nowhere */
	expect_error("1-1", "    MaxPower", "  stray\n    MaxPower", -EPROTO, "  stray");
}

static void test_strings(void **state)
{
	char big[200];
	(void)state;
	/* 126 bytes fit, 127 do not */
	memset(big, 'a', 126);
	strcpy(big + 126, "\n");
	char to[256];
	snprintf(to, sizeof(to), "iProduct                2 %s", big);
	size_t len;
	char *text = load_fixture("1-1", &len);
	char *var = replace(text, "iProduct                2 Gadget Serial v2.4\n", to);
	struct lsusb_device *d = new_dev();
	assert_int_equal(parse_s(var, d, NULL), 0);
	assert_int_equal(strlen(lsusb_parse_string(d, 2)), 126);
	free(var);
	snprintf(to, sizeof(to), "iProduct                2 b%s", big);
	expect_error("1-1", "iProduct                2 Gadget Serial v2.4\n", to, -E2BIG,
	             "iProduct");
	/* one index, two texts */
	expect_error("1-1", "iFunction               7 CDC Serial",
	             "iFunction               2 CDC Serial", -EPROTO, "iFunction");
	/* invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate */
	expect_error("1-1", "Gadget Serial", "Gadget \x80Serial", -EPROTO, "iProduct");
	expect_error("1-1", "Gadget Serial", "Gadget \xc0\xafSerial", -EPROTO, "iProduct");
	expect_error("1-1", "Gadget Serial", "Gadget \xed\xa0\x80Serial", -EPROTO, "iProduct");
	/* valid multi-byte UTF-8 is kept */
	var = replace(text, "Gadget Serial", "Gadget S\xc3\xa9rial \xf0\x9f\x94\x8c");
	assert_int_equal(parse_s(var, d, NULL), 0);
	assert_string_equal(lsusb_parse_string(d, 2), "Gadget S\xc3\xa9rial \xf0\x9f\x94\x8c v2.4");
	free(var);
	/* an index printed without text (lsusb could not read it) */
	var = replace(text, "iSerial                 3 3f7a29c1d0b84e56",
	              "iSerial                 3 ");
	assert_int_equal(parse_s(var, d, NULL), 0);
	assert_null(lsusb_parse_string(d, 3));
	assert_int_equal(d->device_desc[16], 3);
	free(var);
	free(d);
	free(text);
}

/* Insert `n` copies of unit right after (or before) the first `anchor`,
 * to grow a fixture up to and past the limits. */
static char *grow_at(const char *text, const char *anchor, const char *unit, unsigned n,
                     bool before)
{
	size_t ul = strlen(unit), al = strlen(anchor);
	char *ins = malloc(ul * n + al + 1);
	assert_non_null(ins);
	char *p = ins;
	if (!before) {
		memcpy(p, anchor, al);
		p += al;
	}
	for (unsigned i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	if (before) {
		memcpy(p, anchor, al);
		p += al;
	}
	*p = '\0';
	char *out = replace(text, anchor, ins);
	free(ins);
	return out;
}

static char *grow(const char *text, const char *after, const char *unit, unsigned n)
{
	return grow_at(text, after, unit, n, false);
}

static void test_limits(void **state)
{
	char dump[1024];
	size_t len;
	(void)state;
	char *text = load_fixture("1-1", &len);
	struct lsusb_device *d = new_dev();
	unsigned line = 0;

	/* 255-byte hex dumps: 15 fit in 4096 bytes with the rest, 16 do not */
	int n = snprintf(dump, sizeof(dump), "      ** UNRECOGNIZED:  ff 24 99");
	for (int i = 3; i < 255; i++)
		n += snprintf(dump + n, sizeof(dump) - (size_t)n, " %02x", i);
	snprintf(dump + n, sizeof(dump) - (size_t)n, "\n");
	const char *after = "        bcdCDC               1.10\n";
	char *ok = grow(text, after, dump, 15);
	assert_int_equal(parse_s(ok, d, &line), 0);
	assert_int_equal(d->config[0].len, 75 + 15 * 255);
	char *big = grow(text, after, dump, 16);
	assert_int_equal(parse_s(big, d, &line), -E2BIG);
	assert_int_equal(line, line_of(big, "ff 24 99") + 15);
	free(ok);
	free(big);

	/* more interface descriptors than usb_desc can hold */
	const char *alt = "    Interface Descriptor:\n      bLength                 9\n"
	                  "      bDescriptorType         4\n      bInterfaceNumber        1\n"
	                  "      bAlternateSetting       1\n      bNumEndpoints           0\n"
	                  "      bInterfaceClass        10 CDC Data\n"
	                  "      bInterfaceSubClass      0 \n      bInterfaceProtocol      0 \n"
	                  "      iInterface              0 \n";
	ok = grow_at(text, "Device Qualifier", alt, USB_DESC_MAX_INTERFACES - 2, true);
	assert_int_equal(parse_s(ok, d, &line), 0);
	big = grow_at(text, "Device Qualifier", alt, USB_DESC_MAX_INTERFACES - 1, true);
	assert_int_equal(parse_s(big, d, &line), -E2BIG);
	/* the 33rd interface descriptor */
	assert_int_equal(line, line_of(big, "bAlternateSetting       1") - 4 +
	                           10 * (USB_DESC_MAX_INTERFACES - 2));
	free(ok);
	free(big);
	free(d);
	free(text);
}

static void test_too_many_configs(void **state)
{
	size_t len;
	(void)state;
	char *text = load_fixture("2-1", &len);
	const char *cs = strstr(text, "  Configuration Descriptor:");
	const char *ce = strstr(text, "Device Qualifier");
	size_t cl = (size_t)(ce - cs);
	char *cfg = strndup(cs, cl);
	assert_non_null(cfg);
	struct lsusb_device *d = new_dev();
	static struct usb_config_desc c;

	for (unsigned n = 2; n <= LSUSB_MAX_CONFIGS + 1; n++) {
		char num[64];
		snprintf(num, sizeof(num), "bNumConfigurations  %5u", n);
		char *t1 = replace(text, "bNumConfigurations      1", num);
		char *t = grow(t1, cfg, cfg, n - 1);
		unsigned line = 0;
		int r = parse_s(t, d, &line);
		if (n <= LSUSB_MAX_CONFIGS) {
			assert_int_equal(r, 0);
			assert_int_equal(d->num_configs, n);
			assert_int_equal(
			    usb_desc_parse_config(&c, d->config[n - 1].bytes, d->config[n - 1].len),
			    32);
		} else {
			assert_int_equal(r, -E2BIG);
		}
		free(t);
		free(t1);
	}
	free(d);
	free(cfg);
	free(text);
}

static void test_hexdump_errors(void **state)
{
	const char *at = "      CDC Header:\n";
	(void)state;
	expect_error("1-1", at, "      ** UNRECOGNIZED:  05 24 00 10\n      CDC Header:\n", -EPROTO,
	             "UNRECOGNIZED");
	expect_error("1-1", at, "      ** UNRECOGNIZED:  03 24 0g\n      CDC Header:\n", -EPROTO,
	             "UNRECOGNIZED");
	expect_error("1-1", at, "      ** UNRECOGNIZED:  03 24 001\n      CDC Header:\n", -EPROTO,
	             "UNRECOGNIZED");
	expect_error("1-1", at, "      ** UNRECOGNIZED:  01\n      CDC Header:\n", -EPROTO,
	             "UNRECOGNIZED");
	/* standard descriptor types are never dumped */
	expect_error("1-1", at, "      ** UNRECOGNIZED:  07 05 81 02 40 00 00\n      CDC Header:\n",
	             -EPROTO, "UNRECOGNIZED");
	expect_error("1-1", at, "      INVALID CDC (Header):  04 0b 00 00\n      CDC Header:\n",
	             -EPROTO, "INVALID");
	/* a dump outside any configuration */
	expect_error("1-1", "  bNumConfigurations",
	             "  ** UNRECOGNIZED:  02 30\n  bNumConfigurations", -EPROTO, "UNRECOGNIZED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_fixtures_parse),
	    cmocka_unit_test(test_gadget_serial_exact_bytes),
	    cmocka_unit_test(test_gadget_serial_round_trip),
	    cmocka_unit_test(test_same_vid_pid_different_serials),
	    cmocka_unit_test(test_composite_two_acm),
	    cmocka_unit_test(test_collapsed_no_union),
	    cmocka_unit_test(test_mass_storage),
	    cmocka_unit_test(test_reserved_failing_device),
	    cmocka_unit_test(test_hexdumps_equal_decoded),
	    cmocka_unit_test(test_crlf),
	    cmocka_unit_test(test_negotiated_speed_line),
	    cmocka_unit_test(test_speed_without_bulk),
	    cmocka_unit_test(test_audio_endpoint_nine_bytes),
	    cmocka_unit_test(test_not_lsusb),
	    cmocka_unit_test(test_missing_device_descriptor),
	    cmocka_unit_test(test_two_devices),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_bad_numbers),
	    cmocka_unit_test(test_contradictions),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_too_many_configs),
	    cmocka_unit_test(test_hexdump_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
