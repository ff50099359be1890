/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for usb_desc: hand-written descriptor blobs, every malformed
 * case the parser promises to reject, strings, SETUP packets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "usb_desc.h"

/* Byte-level descriptor builders (little-endian 16-bit fields). */
#define LE16(v)                               ((v)&0xff), (((v) >> 8) & 0xff)
#define CFG(total, nintf)                     9, 2, LE16(total), nintf, 1, 0, 0x80, 50
#define INTF(num, alt, neps, cls, sub, proto) 9, 4, num, alt, neps, cls, sub, proto, 0
#define EP(addr, attr, mps, ival)             7, 5, addr, attr, LE16(mps), ival
#define IAD(first, count)                     8, 0x0b, first, count, 2, 2, 1, 0

static struct usb_config_desc cfg;

/* Parse from an exact-size heap copy so ASan sees any read past the end;
 * the copy is returned so borrowed `extra` pointers can be checked. */
static uint8_t *dup_blob(const uint8_t *b, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	if (n)
		memcpy(p, b, n);
	return p;
}

static ssize_t parse(const uint8_t *b, size_t n)
{
	uint8_t *p = dup_blob(b, n);
	ssize_t r = usb_desc_parse_config(&cfg, p, n);
	free(p);
	return r;
}

/* ---- device descriptor ---- */

static const uint8_t dev_gserial[18] = {
    18,   0x01, 0x00, 0x02, /* bcdUSB 2.00 */
    0x02, 0x00, 0x00,       /* class CDC */
    64,                     /* bMaxPacketSize0 */
    0x25, 0x05,             /* idVendor 0x0525 */
    0xa7, 0xa4,             /* idProduct 0xa4a7 */
    0x01, 0x03,             /* bcdDevice 3.01 */
    1,    2,    3,    1,
};

static void test_device_parse(void **state)
{
	struct usb_device_desc d;
	memset(&d, 0xee, sizeof(d));
	assert_int_equal(usb_desc_parse_device(&d, dev_gserial, sizeof(dev_gserial)), 18);
	assert_int_equal(d.bcdUSB, 0x0200);
	assert_int_equal(d.bDeviceClass, 2);
	assert_int_equal(d.bDeviceSubClass, 0);
	assert_int_equal(d.bDeviceProtocol, 0);
	assert_int_equal(d.bMaxPacketSize0, 64);
	assert_int_equal(d.idVendor, 0x0525);
	assert_int_equal(d.idProduct, 0xa4a7);
	assert_int_equal(d.bcdDevice, 0x0301);
	assert_int_equal(d.iManufacturer, 1);
	assert_int_equal(d.iProduct, 2);
	assert_int_equal(d.iSerialNumber, 3);
	assert_int_equal(d.bNumConfigurations, 1);

	uint8_t enc[18];
	assert_int_equal(usb_desc_encode_device(&d, enc, sizeof(enc)), 18);
	assert_memory_equal(enc, dev_gserial, 18);
	assert_int_equal(usb_desc_encode_device(&d, enc, 17), -EMSGSIZE);
}

static void test_device_malformed(void **state)
{
	struct usb_device_desc d;
	uint8_t b[20];
	memcpy(b, dev_gserial, 18);
	b[18] = b[19] = 0;

	assert_int_equal(usb_desc_parse_device(&d, b, 0), -EMSGSIZE);
	assert_int_equal(usb_desc_parse_device(&d, b, 1), -EMSGSIZE);
	assert_int_equal(usb_desc_parse_device(&d, b, 17), -EMSGSIZE);
	assert_int_equal(usb_desc_parse_device(NULL, b, 18), -EINVAL);

	b[1] = USB_DT_CONFIG;
	assert_int_equal(usb_desc_parse_device(&d, b, 18), -EPROTO);
	b[1] = USB_DT_DEVICE;
	b[0] = 17;
	assert_int_equal(usb_desc_parse_device(&d, b, 18), -EPROTO);
	b[0] = 0;
	assert_int_equal(usb_desc_parse_device(&d, b, 18), -EPROTO);
	/* A longer bLength must be backed by bytes, and is then accepted. */
	b[0] = 20;
	assert_int_equal(usb_desc_parse_device(&d, b, 18), -EMSGSIZE);
	assert_int_equal(usb_desc_parse_device(&d, b, 20), 18);
	assert_int_equal(d.idProduct, 0xa4a7);
}

/* ---- configuration descriptor ---- */

/* g_serial-shaped CDC-ACM with an IAD, written out byte by byte. */
static const uint8_t cfg_acm_iad[] = {
    /* 0: config, wTotalLength 75, 2 interfaces, value 1, self-powered */
    0x09,
    0x02,
    0x4b,
    0x00,
    0x02,
    0x01,
    0x04,
    0xc0,
    0x01,
    /* 9: IAD first 0 count 2, CDC/ACM/AT, iFunction 5 */
    0x08,
    0x0b,
    0x00,
    0x02,
    0x02,
    0x02,
    0x01,
    0x05,
    /* 17: interface 0 alt 0, 1 endpoint, CDC comm / ACM / AT, iInterface 6 */
    0x09,
    0x04,
    0x00,
    0x00,
    0x01,
    0x02,
    0x02,
    0x01,
    0x06,
    /* 26: header 1.10, call management (caps 0, data 1), ACM caps 2, union 0->1 */
    0x05,
    0x24,
    0x00,
    0x10,
    0x01,
    0x05,
    0x24,
    0x01,
    0x00,
    0x01,
    0x04,
    0x24,
    0x02,
    0x02,
    0x05,
    0x24,
    0x06,
    0x00,
    0x01,
    /* 45: endpoint 0x82 interrupt, wMaxPacketSize 10, bInterval 9 */
    0x07,
    0x05,
    0x82,
    0x03,
    0x0a,
    0x00,
    0x09,
    /* 52: interface 1 alt 0, 2 endpoints, CDC data, iInterface 7 */
    0x09,
    0x04,
    0x01,
    0x00,
    0x02,
    0x0a,
    0x00,
    0x00,
    0x07,
    /* 61: endpoint 0x81 bulk 512, endpoint 0x01 bulk 512 */
    0x07,
    0x05,
    0x81,
    0x02,
    0x00,
    0x02,
    0x00,
    0x07,
    0x05,
    0x01,
    0x02,
    0x00,
    0x02,
    0x00,
};

static void test_config_acm_iad(void **state)
{
	assert_int_equal(sizeof(cfg_acm_iad), 75);
	uint8_t *b = dup_blob(cfg_acm_iad, sizeof(cfg_acm_iad));
	assert_int_equal(usb_desc_parse_config(&cfg, b, sizeof(cfg_acm_iad)), 75);

	assert_int_equal(cfg.wTotalLength, 75);
	assert_int_equal(cfg.bNumInterfaces, 2);
	assert_int_equal(cfg.bConfigurationValue, 1);
	assert_int_equal(cfg.iConfiguration, 4);
	assert_int_equal(cfg.bmAttributes, 0xc0);
	assert_int_equal(cfg.bMaxPower, 1);

	assert_int_equal(cfg.num_iads, 1);
	assert_int_equal(cfg.iad[0].bFirstInterface, 0);
	assert_int_equal(cfg.iad[0].bInterfaceCount, 2);
	assert_int_equal(cfg.iad[0].bFunctionClass, 2);
	assert_int_equal(cfg.iad[0].bFunctionSubClass, 2);
	assert_int_equal(cfg.iad[0].bFunctionProtocol, 1);
	assert_int_equal(cfg.iad[0].iFunction, 5);

	assert_int_equal(cfg.num_interfaces, 2);
	const struct usb_interface_desc *c = &cfg.intf[0];
	assert_int_equal(c->bInterfaceNumber, 0);
	assert_int_equal(c->bAlternateSetting, 0);
	assert_int_equal(c->bInterfaceClass, 2);
	assert_int_equal(c->bInterfaceSubClass, 2);
	assert_int_equal(c->bInterfaceProtocol, 1);
	assert_int_equal(c->iInterface, 6);
	/* The four functional descriptors, borrowed from our buffer. */
	assert_ptr_equal(c->extra, b + 26);
	assert_int_equal(c->extra_len, 19);
	assert_int_equal(c->num_endpoints, 1);
	assert_int_equal(c->ep[0].bEndpointAddress, 0x82);
	assert_int_equal(c->ep[0].bmAttributes, 3);
	assert_int_equal(usb_desc_ep_type(&c->ep[0]), USB_EP_INTERRUPT);
	assert_int_equal(c->ep[0].wMaxPacketSize, 10);
	assert_int_equal(c->ep[0].bInterval, 9);
	assert_null(c->ep[0].extra);
	assert_int_equal(c->ep[0].extra_len, 0);

	const struct usb_interface_desc *d = &cfg.intf[1];
	assert_int_equal(d->bInterfaceNumber, 1);
	assert_int_equal(d->bInterfaceClass, 0x0a);
	assert_int_equal(d->iInterface, 7);
	assert_null(d->extra);
	assert_int_equal(d->extra_len, 0);
	assert_int_equal(d->num_endpoints, 2);
	assert_int_equal(d->ep[0].bEndpointAddress, 0x81);
	assert_int_equal(usb_desc_ep_type(&d->ep[0]), USB_EP_BULK);
	assert_int_equal(usb_desc_ep_max_packet(&d->ep[0]), 512);
	assert_int_equal(d->ep[0].bInterval, 0);
	assert_int_equal(d->ep[1].bEndpointAddress, 0x01);
	assert_int_equal(usb_desc_ep_max_packet(&d->ep[1]), 512);

	assert_ptr_equal(usb_desc_find_interface(&cfg, 1, 0), d);
	assert_ptr_equal(usb_desc_find_interface(&cfg, 0, 0), c);
	assert_null(usb_desc_find_interface(&cfg, 1, 1));
	assert_null(usb_desc_find_interface(&cfg, 2, 0));
	assert_null(usb_desc_find_interface(NULL, 0, 0));
	free(b);
}

static void test_config_trailing_bytes_ignored(void **state)
{
	/* len > wTotalLength: the rest (here a garbage descriptor with
	 * bLength 0 that would otherwise be an error) is not looked at. */
	uint8_t b[sizeof(cfg_acm_iad) + 4];
	memcpy(b, cfg_acm_iad, sizeof(cfg_acm_iad));
	memset(b + sizeof(cfg_acm_iad), 0, 4);
	assert_int_equal(parse(b, sizeof(b)), 75);
	assert_int_equal(cfg.num_interfaces, 2);
	assert_int_equal(cfg.intf[1].num_endpoints, 2);
}

static void test_config_total_length_lies(void **state)
{
	uint8_t b[sizeof(cfg_acm_iad)];
	memcpy(b, cfg_acm_iad, sizeof(b));

	/* Claims more than we hold: truncated read. */
	b[2] = 76;
	assert_int_equal(parse(b, sizeof(b)), -EMSGSIZE);
	b[2] = 0x4b;
	b[3] = 0x01;
	assert_int_equal(parse(b, sizeof(b)), -EMSGSIZE);
	b[3] = 0;
	/* Every strict prefix of a valid blob is too short. */
	for (size_t n = 0; n < sizeof(b); n++) {
		ssize_t r = parse(b, n);
		assert_true(r == -EMSGSIZE);
	}

	/* Claims less: the last endpoint runs past wTotalLength. */
	b[2] = 74;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	b[2] = 70;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	/* Ends exactly after the interrupt endpoint: a valid shorter blob. */
	b[2] = 52;
	assert_int_equal(parse(b, sizeof(b)), 52);
	assert_int_equal(cfg.num_interfaces, 1);
	/* One byte after a descriptor boundary cannot be a descriptor. */
	b[2] = 53;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	/* Shorter than the config descriptor itself. */
	b[2] = 8;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	b[2] = 0;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	/* Exactly the header: a configuration with nothing in it. */
	b[2] = 9;
	assert_int_equal(parse(b, sizeof(b)), 9);
	assert_int_equal(cfg.num_interfaces, 0);
	assert_int_equal(cfg.num_iads, 0);
}

static void test_config_header_malformed(void **state)
{
	uint8_t b[sizeof(cfg_acm_iad)];
	memcpy(b, cfg_acm_iad, sizeof(b));
	b[1] = USB_DT_DEVICE;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	b[1] = USB_DT_CONFIG;
	b[0] = 8;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	b[0] = 0;
	assert_int_equal(parse(b, sizeof(b)), -EPROTO);
	assert_int_equal(usb_desc_parse_config(NULL, b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_parse_config(&cfg, NULL, 9), -EINVAL);
	assert_int_equal(usb_desc_parse_config(&cfg, NULL, 0), -EMSGSIZE);

	/* A longer config descriptor (bLength 10) is skipped correctly. */
	static const uint8_t longer[] = {10,
	                                 2,
	                                 LE16(26),
	                                 1,
	                                 1,
	                                 0,
	                                 0x80,
	                                 50,
	                                 0xaa,
	                                 INTF(3, 0, 1, 0xff, 0, 0),
	                                 EP(0x81, 2, 64, 0)};
	assert_int_equal(parse(longer, sizeof(longer)), 26);
	assert_int_equal(cfg.num_interfaces, 1);
	assert_int_equal(cfg.intf[0].bInterfaceNumber, 3);
	assert_int_equal(cfg.intf[0].ep[0].bEndpointAddress, 0x81);
}

static void test_config_bad_blength(void **state)
{
	/* bLength 0 inside the blob: must fail, not loop forever. */
	static const uint8_t zero[] = {CFG(9 + 9 + 4, 1), INTF(0, 0, 0, 2, 2, 1), 0, 0x24, 0, 0};
	assert_int_equal(parse(zero, sizeof(zero)), -EPROTO);
	static const uint8_t one[] = {CFG(9 + 9 + 2, 1), INTF(0, 0, 0, 2, 2, 1), 1, 0x24};
	assert_int_equal(parse(one, sizeof(one)), -EPROTO);
	/* bLength 1 where stepping one byte would land on a valid-looking
	 * 3-byte descriptor: still malformed. */
	static const uint8_t one_b[] = {CFG(9 + 9 + 4, 1), INTF(0, 0, 0, 2, 2, 1), 1, 3, 0x42, 0};
	assert_int_equal(parse(one_b, sizeof(one_b)), -EPROTO);
	/* bLength 12 with 3 bytes left. */
	static const uint8_t past[] = {CFG(9 + 9 + 3, 1), INTF(0, 0, 0, 2, 2, 1), 12, 0x24, 0};
	assert_int_equal(parse(past, sizeof(past)), -EPROTO);
	/* bLength 0 as the very first descriptor. */
	static const uint8_t first[] = {CFG(11, 0), 0, 4};
	assert_int_equal(parse(first, sizeof(first)), -EPROTO);
	/* Error leaves nothing half-parsed. */
	assert_int_equal(cfg.num_interfaces, 0);
	assert_int_equal(cfg.wTotalLength, 0);
}

static void test_config_short_structural(void **state)
{
	/* Interface descriptor with bLength 8. */
	static const uint8_t si[] = {CFG(9 + 8, 1), 8, 4, 0, 0, 0, 0xff, 0, 0};
	assert_int_equal(parse(si, sizeof(si)), -EPROTO);
	/* Endpoint descriptor with bLength 6. */
	static const uint8_t se[] = {
	    CFG(9 + 9 + 6, 1), INTF(0, 0, 1, 0xff, 0, 0), 6, 5, 0x81, 2, 64, 0};
	assert_int_equal(parse(se, sizeof(se)), -EPROTO);
	/* IAD with bLength 7. */
	static const uint8_t sa[] = {CFG(9 + 7 + 9, 1),     7, 0x0b, 0, 2, 2, 2, 1,
	                             INTF(0, 0, 0, 2, 2, 1)};
	assert_int_equal(parse(sa, sizeof(sa)), -EPROTO);
	/* Endpoint before any interface. */
	static const uint8_t eb[] = {CFG(9 + 7 + 9, 1), EP(0x81, 2, 64, 0),
	                             INTF(0, 0, 1, 0xff, 0, 0)};
	assert_int_equal(parse(eb, sizeof(eb)), -EPROTO);
	/* Endpoint right after an IAD (belongs to no interface). */
	static const uint8_t ea[] = {CFG(9 + 9 + 7 + 8 + 7, 2), INTF(0, 0, 1, 0xff, 0, 0),
	                             EP(0x81, 2, 64, 0), IAD(1, 1), EP(0x82, 2, 64, 0)};
	assert_int_equal(parse(ea, sizeof(ea)), -EPROTO);
	/* A config descriptor nested inside the blob. */
	static const uint8_t nc[] = {CFG(9 + 9 + 9, 1), INTF(0, 0, 0, 2, 2, 1), CFG(9, 0)};
	assert_int_equal(parse(nc, sizeof(nc)), -EPROTO);
	/* A device descriptor nested inside the blob. */
	uint8_t nd[9 + 18];
	const uint8_t hdr[] = {CFG(27, 0)};
	memcpy(nd, hdr, 9);
	memcpy(nd + 9, dev_gserial, 18);
	assert_int_equal(parse(nd, sizeof(nd)), -EPROTO);
}

/* Build `n` descriptors of `unit` bytes after a config header. */
static size_t build_repeated(uint8_t *b, size_t cap, const uint8_t *pre, size_t pre_len,
                             const uint8_t *unit, size_t unit_len, unsigned n, int vary_at)
{
	size_t total = 9 + pre_len + n * unit_len;
	assert_true(total <= cap);
	const uint8_t hdr[] = {CFG(total, 0)};
	memcpy(b, hdr, 9);
	if (pre_len)
		memcpy(b + 9, pre, pre_len);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *u = b + 9 + pre_len + i * unit_len;
		memcpy(u, unit, unit_len);
		if (vary_at >= 0)
			u[vary_at] = (uint8_t)i;
	}
	return total;
}

static void test_config_limits(void **state)
{
	static uint8_t b[2048];
	static const uint8_t intf[] = {INTF(0, 0, 0, 0xff, 0, 0)};
	static const uint8_t ep[] = {EP(0x81, 2, 64, 0)};
	static const uint8_t iad[] = {IAD(0, 1)};
	size_t n;

	n = build_repeated(b, sizeof(b), NULL, 0, intf, sizeof(intf), 32, 2);
	assert_int_equal(parse(b, n), (ssize_t)n);
	assert_int_equal(cfg.num_interfaces, 32);
	assert_int_equal(cfg.intf[31].bInterfaceNumber, 31);
	n = build_repeated(b, sizeof(b), NULL, 0, intf, sizeof(intf), 33, 2);
	assert_int_equal(parse(b, n), -E2BIG);

	n = build_repeated(b, sizeof(b), intf, sizeof(intf), ep, sizeof(ep), 32, 2);
	assert_int_equal(parse(b, n), (ssize_t)n);
	assert_int_equal(cfg.intf[0].num_endpoints, 32);
	assert_int_equal(cfg.intf[0].ep[31].bEndpointAddress, 31);
	n = build_repeated(b, sizeof(b), intf, sizeof(intf), ep, sizeof(ep), 33, 2);
	assert_int_equal(parse(b, n), -E2BIG);

	n = build_repeated(b, sizeof(b), NULL, 0, iad, sizeof(iad), 16, 2);
	assert_int_equal(parse(b, n), (ssize_t)n);
	assert_int_equal(cfg.num_iads, 16);
	assert_int_equal(cfg.iad[15].bFirstInterface, 15);
	n = build_repeated(b, sizeof(b), NULL, 0, iad, sizeof(iad), 17, 2);
	assert_int_equal(parse(b, n), -E2BIG);

	/* 4000 bytes of 2-byte unknown descriptors: no limit applies to
	 * extra bytes, they all land in one span. */
	static uint8_t big[9 + 9 + 4000];
	static const uint8_t unk[] = {2, 0x42};
	n = build_repeated(big, sizeof(big), intf, sizeof(intf), unk, sizeof(unk), 2000, -1);
	assert_int_equal(parse(big, n), (ssize_t)n);
	assert_int_equal(cfg.intf[0].extra_len, 4000);
}

static void test_config_extra_spans(void **state)
{
	/* Audio-style: 9-byte endpoint with a CS_ENDPOINT after it, an
	 * unknown descriptor (0x42) before the first interface, a HID
	 * descriptor (0x21) in an interface's extra, an OTG descriptor after
	 * the last endpoint. */
	static const uint8_t b[] = {
	    CFG(99, 3),
	    /* 9 */ 3,
	    0x42,
	    0x99,
	    /* 12 */ INTF(0, 0, 0, 1, 1, 0),
	    /* 21 */ 9,
	    0x24,
	    1,
	    0,
	    1,
	    9,
	    0,
	    1,
	    1,
	    /* 30 */ INTF(1, 0, 0, 1, 2, 0),
	    /* 39 */ INTF(1, 1, 2, 1, 2, 0),
	    /* 48 */ 7,
	    0x24,
	    1,
	    1,
	    1,
	    1,
	    0,
	    /* 55 */ 9,
	    5,
	    0x01,
	    0x09,
	    LE16(0x00c4),
	    1,
	    0,
	    0,
	    /* 64 */ 7,
	    0x25,
	    1,
	    0,
	    0,
	    0,
	    0,
	    /* 71 */ INTF(2, 0, 1, 3, 0, 0),
	    /* 80 */ 9,
	    0x21,
	    0x11,
	    0x01,
	    0,
	    1,
	    0x22,
	    LE16(52),
	    /* 89 */ EP(0x83, 3, 0x1008, 10),
	    /* 96 */ 3,
	    9,
	    3,
	};
	uint8_t *p = dup_blob(b, sizeof(b));
	assert_int_equal(usb_desc_parse_config(&cfg, p, sizeof(b)), sizeof(b));
	assert_int_equal(cfg.num_interfaces, 4);

	assert_ptr_equal(cfg.intf[0].extra, p + 21);
	assert_int_equal(cfg.intf[0].extra_len, 9);
	assert_null(cfg.intf[1].extra);
	assert_int_equal(cfg.intf[1].extra_len, 0);

	const struct usb_interface_desc *as = usb_desc_find_interface(&cfg, 1, 1);
	assert_ptr_equal(as, &cfg.intf[2]);
	assert_ptr_equal(as->extra, p + 48);
	assert_int_equal(as->extra_len, 7);
	assert_int_equal(as->num_endpoints, 1);
	assert_int_equal(as->ep[0].bEndpointAddress, 0x01);
	assert_int_equal(usb_desc_ep_type(&as->ep[0]), USB_EP_ISOC);
	assert_int_equal(as->ep[0].wMaxPacketSize, 0xc4);
	assert_int_equal(as->ep[0].bInterval, 1);
	assert_ptr_equal(as->ep[0].extra, p + 64);
	assert_int_equal(as->ep[0].extra_len, 7);

	const struct usb_interface_desc *hid = &cfg.intf[3];
	assert_ptr_equal(hid->extra, p + 80);
	assert_int_equal(hid->extra_len, 9);
	/* High-bandwidth bits (12..11) are not part of the size. */
	assert_int_equal(hid->ep[0].wMaxPacketSize, 0x1008);
	assert_int_equal(usb_desc_ep_max_packet(&hid->ep[0]), 8);
	assert_ptr_equal(hid->ep[0].extra, p + 96);
	assert_int_equal(hid->ep[0].extra_len, 3);
	free(p);
}

static void test_config_duplicate_interface(void **state)
{
	static const uint8_t b[] = {CFG(9 + 9 + 9 + 7, 1), INTF(0, 0, 0, 0xff, 1, 0),
	                            INTF(0, 0, 1, 0xff, 2, 0), EP(0x81, 2, 64, 0)};
	assert_int_equal(parse(b, sizeof(b)), sizeof(b));
	assert_int_equal(cfg.num_interfaces, 2);
	/* The first one wins, as in the Linux kernel. */
	assert_ptr_equal(usb_desc_find_interface(&cfg, 0, 0), &cfg.intf[0]);
	assert_int_equal(usb_desc_find_interface(&cfg, 0, 0)->bInterfaceSubClass, 1);
	assert_int_equal(cfg.intf[1].num_endpoints, 1);
}

/* ---- usb_desc_next ---- */

static void test_next_walk(void **state)
{
	static const uint8_t span[] = {5, 0x24, 0, 0x10, 1, 4, 0x24, 2, 2, 5, 0x24, 6, 0, 1};
	size_t pos = 0, dlen = 0;
	const uint8_t *d;

	d = usb_desc_next(span, sizeof(span), &pos, &dlen);
	assert_ptr_equal(d, span);
	assert_int_equal(dlen, 5);
	assert_int_equal(pos, 5);
	d = usb_desc_next(span, sizeof(span), &pos, &dlen);
	assert_ptr_equal(d, span + 5);
	assert_int_equal(dlen, 4);
	d = usb_desc_next(span, sizeof(span), &pos, &dlen);
	assert_ptr_equal(d, span + 9);
	assert_int_equal(dlen, 5);
	assert_int_equal(pos, sizeof(span));
	assert_null(usb_desc_next(span, sizeof(span), &pos, &dlen));
	/* Truncated span: the last descriptor no longer fits. */
	pos = 9;
	assert_null(usb_desc_next(span, sizeof(span) - 1, &pos, &dlen));
	/* One byte left. */
	pos = 0;
	assert_null(usb_desc_next(span, 1, &pos, &dlen));
	/* pos past the end. */
	pos = 100;
	assert_null(usb_desc_next(span, sizeof(span), &pos, &dlen));
	/* Empty / NULL span. */
	pos = 0;
	assert_null(usb_desc_next(NULL, 0, &pos, &dlen));
	assert_null(usb_desc_next(span, 0, &pos, &dlen));

	static const uint8_t bad0[] = {4, 0x24, 2, 2, 0, 0x24, 6, 0};
	pos = 0;
	assert_non_null(usb_desc_next(bad0, sizeof(bad0), &pos, &dlen));
	assert_null(usb_desc_next(bad0, sizeof(bad0), &pos, &dlen));
	assert_int_equal(pos, 4);
	static const uint8_t bad1[] = {1, 0x24};
	pos = 0;
	assert_null(usb_desc_next(bad1, sizeof(bad1), &pos, &dlen));
}

/* ---- strings ---- */

static ssize_t to_utf8(const uint8_t *b, size_t n, char *out, size_t out_len)
{
	uint8_t *p = dup_blob(b, n);
	ssize_t r = usb_desc_string_to_utf8(p, n, out, out_len);
	free(p);
	return r;
}

static void test_string_to_utf8(void **state)
{
	char out[64];
	static const uint8_t ascii[] = {8, 3, 'A', 0, 'C', 0, 'M', 0};
	assert_int_equal(to_utf8(ascii, sizeof(ascii), out, sizeof(out)), 3);
	assert_string_equal(out, "ACM");

	/* é (U+00E9), € (U+20AC), 😀 (U+1F600 = D83D DE00) */
	static const uint8_t mixed[] = {10, 3, 0xe9, 0x00, 0xac, 0x20, 0x3d, 0xd8, 0x00, 0xde};
	assert_int_equal(to_utf8(mixed, sizeof(mixed), out, sizeof(out)), 2 + 3 + 4);
	assert_string_equal(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

	/* Lone high surrogate followed by 'x', lone low, high at the end. */
	static const uint8_t lone[] = {10, 3, 0x3d, 0xd8, 'x', 0, 0x00, 0xde, 0x3d, 0xd8};
	assert_int_equal(to_utf8(lone, sizeof(lone), out, sizeof(out)), 3 + 1 + 3 + 3);
	assert_string_equal(out, "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd");

	/* High surrogate followed by U+E000 (above the low range). */
	static const uint8_t hi_e000[] = {6, 3, 0x00, 0xd8, 0x00, 0xe0};
	assert_int_equal(to_utf8(hi_e000, sizeof(hi_e000), out, sizeof(out)), 6);
	assert_string_equal(out, "\xef\xbf\xbd\xee\x80\x80");

	/* Two high surrogates then a low: the first is unpaired. */
	static const uint8_t hh[] = {8, 3, 0x00, 0xd8, 0x3d, 0xd8, 0x00, 0xde};
	assert_int_equal(to_utf8(hh, sizeof(hh), out, sizeof(out)), 3 + 4);
	assert_string_equal(out, "\xef\xbf\xbd\xf0\x9f\x98\x80");

	/* NUL-padded: stops at the first U+0000. */
	static const uint8_t pad[] = {10, 3, 'A', 0, 0, 0, 'B', 0, 0, 0};
	assert_int_equal(to_utf8(pad, sizeof(pad), out, sizeof(out)), 1);
	assert_string_equal(out, "A");

	/* Odd bLength: half code unit ignored. */
	static const uint8_t odd[] = {5, 3, 'O', 0, 'K'};
	assert_int_equal(to_utf8(odd, sizeof(odd), out, sizeof(out)), 1);
	assert_string_equal(out, "O");

	/* bLength shorter than the buffer: the rest is not part of it. */
	static const uint8_t shorter[] = {4, 3, 'a', 0, 'b', 0};
	assert_int_equal(to_utf8(shorter, sizeof(shorter), out, sizeof(out)), 1);
	assert_string_equal(out, "a");

	static const uint8_t empty[] = {2, 3};
	assert_int_equal(to_utf8(empty, sizeof(empty), out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_string_to_utf8_errors(void **state)
{
	char out[8];
	static const uint8_t ascii[] = {8, 3, 'A', 0, 'C', 0, 'M', 0};
	/* Needs 4 bytes (3 + NUL). */
	assert_int_equal(to_utf8(ascii, sizeof(ascii), out, 4), 3);
	memset(out, 'z', sizeof(out));
	assert_int_equal(to_utf8(ascii, sizeof(ascii), out, 3), -ENOSPC);
	assert_int_equal(out[0], '\0');
	assert_int_equal(to_utf8(ascii, sizeof(ascii), out, 0), -ENOSPC);
	assert_int_equal(out[0], '\0');
	/* A multi-byte character that does not fit is not split. */
	static const uint8_t euro[] = {6, 3, 'a', 0, 0xac, 0x20};
	assert_int_equal(to_utf8(euro, sizeof(euro), out, 4), -ENOSPC);
	assert_int_equal(to_utf8(euro, sizeof(euro), out, 5), 4);

	assert_int_equal(to_utf8(ascii, 7, out, sizeof(out)), -EMSGSIZE);
	assert_int_equal(to_utf8(ascii, 1, out, sizeof(out)), -EMSGSIZE);
	assert_int_equal(to_utf8(ascii, 0, out, sizeof(out)), -EMSGSIZE);
	static const uint8_t wrong_type[] = {4, 2, 'A', 0};
	assert_int_equal(to_utf8(wrong_type, sizeof(wrong_type), out, sizeof(out)), -EPROTO);
	static const uint8_t len1[] = {1, 3, 'A', 0};
	assert_int_equal(to_utf8(len1, sizeof(len1), out, sizeof(out)), -EPROTO);
	static const uint8_t len0[] = {0, 3};
	assert_int_equal(to_utf8(len0, sizeof(len0), out, sizeof(out)), -EPROTO);
	assert_int_equal(usb_desc_string_to_utf8(ascii, sizeof(ascii), NULL, 8), -EINVAL);
}

static void test_string_from_utf8(void **state)
{
	uint8_t b[256];
	assert_int_equal(usb_desc_string_from_utf8("ACM", b, sizeof(b)), 8);
	static const uint8_t acm[] = {8, 3, 'A', 0, 'C', 0, 'M', 0};
	assert_memory_equal(b, acm, 8);

	assert_int_equal(usb_desc_string_from_utf8("\xc3\xa9\xf0\x9f\x98\x80", b, sizeof(b)), 8);
	static const uint8_t pair[] = {8, 3, 0xe9, 0x00, 0x3d, 0xd8, 0x00, 0xde};
	assert_memory_equal(b, pair, 8);
	/* Highest code point U+10FFFF = DBFF DFFF. */
	assert_int_equal(usb_desc_string_from_utf8("\xf4\x8f\xbf\xbf", b, sizeof(b)), 6);
	static const uint8_t top[] = {6, 3, 0xff, 0xdb, 0xff, 0xdf};
	assert_memory_equal(b, top, 6);

	/* And back. */
	char out[16];
	assert_int_equal(usb_desc_string_to_utf8(pair, sizeof(pair), out, sizeof(out)), 6);
	assert_string_equal(out, "\xc3\xa9\xf0\x9f\x98\x80");

	assert_int_equal(usb_desc_string_from_utf8("", b, sizeof(b)), 2);
	assert_int_equal(b[0], 2);
	assert_int_equal(b[1], 3);
}

static void test_string_from_utf8_errors(void **state)
{
	uint8_t b[256];
	assert_int_equal(usb_desc_string_from_utf8("\xc0\x80", b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_string_from_utf8("\xe0\x80\x80", b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_string_from_utf8("a\x80", b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_string_from_utf8("\xe2\x82", b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_string_from_utf8("\xed\xa0\x80", b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_string_from_utf8("\xf4\x90\x80\x80", b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_string_from_utf8("\xf8\x88\x80\x80\x80", b, sizeof(b)), -EINVAL);
	assert_int_equal(usb_desc_string_from_utf8(NULL, b, sizeof(b)), -EINVAL);

	/* 126 UTF-16 units fit in bLength 254; 127 do not. */
	char s[130];
	memset(s, 'x', 126);
	s[126] = '\0';
	assert_int_equal(usb_desc_string_from_utf8(s, b, sizeof(b)), 254);
	assert_int_equal(b[0], 254);
	s[126] = 'x';
	s[127] = '\0';
	assert_int_equal(usb_desc_string_from_utf8(s, b, sizeof(b)), -E2BIG);
	/* 125 units + a pair would be 127. */
	memcpy(s + 125, "\xf0\x9f\x98\x80", 5);
	assert_int_equal(usb_desc_string_from_utf8(s, b, sizeof(b)), -E2BIG);

	assert_int_equal(usb_desc_string_from_utf8("ACM", b, 7), -ENOSPC);
	assert_int_equal(usb_desc_string_from_utf8("ACM", b, 8), 8);
	assert_int_equal(usb_desc_string_from_utf8("", b, 1), -ENOSPC);
}

/* ---- SETUP ---- */

static void test_setup_codec(void **state)
{
	static const uint8_t raw[8] = {0xa1, 0x21, 0x34, 0x12, 0x02, 0x00, 0x07, 0x00};
	struct usb_setup s;
	usb_desc_setup_decode(&s, raw);
	assert_int_equal(s.bmRequestType, 0xa1);
	assert_int_equal(s.bRequest, 0x21);
	assert_int_equal(s.wValue, 0x1234);
	assert_int_equal(s.wIndex, 2);
	assert_int_equal(s.wLength, 7);
	assert_true(usb_desc_setup_is_in(&s));
	uint8_t enc[8];
	usb_desc_setup_encode(&s, enc);
	assert_memory_equal(enc, raw, 8);

	s.wLength = 0;
	assert_false(usb_desc_setup_is_in(&s));
	s.bmRequestType = 0x21;
	s.wLength = 7;
	assert_false(usb_desc_setup_is_in(&s));
}

static void test_setup_builders(void **state)
{
	struct usb_setup s;
	uint8_t enc[8];

	usb_desc_setup_get_descriptor(&s, USB_DT_CONFIG, 0, 0, 0x00ff);
	usb_desc_setup_encode(&s, enc);
	static const uint8_t get_cfg[8] = {0x80, 0x06, 0x00, 0x02, 0x00, 0x00, 0xff, 0x00};
	assert_memory_equal(enc, get_cfg, 8);
	assert_true(usb_desc_setup_is_in(&s));

	usb_desc_setup_get_descriptor(&s, USB_DT_STRING, 3, 0x0409, 255);
	usb_desc_setup_encode(&s, enc);
	static const uint8_t get_str[8] = {0x80, 0x06, 0x03, 0x03, 0x09, 0x04, 0xff, 0x00};
	assert_memory_equal(enc, get_str, 8);

	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE, 0, 0, 18);
	usb_desc_setup_encode(&s, enc);
	static const uint8_t get_dev[8] = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00};
	assert_memory_equal(enc, get_dev, 8);

	usb_desc_setup_set_configuration(&s, 2);
	usb_desc_setup_encode(&s, enc);
	static const uint8_t set_cfg[8] = {0x00, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00};
	assert_memory_equal(enc, set_cfg, 8);
	assert_false(usb_desc_setup_is_in(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_device_parse),
	    cmocka_unit_test(test_device_malformed),
	    cmocka_unit_test(test_config_acm_iad),
	    cmocka_unit_test(test_config_trailing_bytes_ignored),
	    cmocka_unit_test(test_config_total_length_lies),
	    cmocka_unit_test(test_config_header_malformed),
	    cmocka_unit_test(test_config_bad_blength),
	    cmocka_unit_test(test_config_short_structural),
	    cmocka_unit_test(test_config_limits),
	    cmocka_unit_test(test_config_extra_spans),
	    cmocka_unit_test(test_config_duplicate_interface),
	    cmocka_unit_test(test_next_walk),
	    cmocka_unit_test(test_string_to_utf8),
	    cmocka_unit_test(test_string_to_utf8_errors),
	    cmocka_unit_test(test_string_from_utf8),
	    cmocka_unit_test(test_string_from_utf8_errors),
	    cmocka_unit_test(test_setup_codec),
	    cmocka_unit_test(test_setup_builders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
