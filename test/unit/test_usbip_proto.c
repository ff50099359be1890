/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for usbip_proto.  The byte vectors are written by hand from the
 * field tables (design.md section 2, Documentation/usb/usbip_protocol.rst);
 * the CMD_SUBMIT / RET_SUBMIT interrupt-IN vectors are the kernel
 * documentation's wire capture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "usbip_proto.h"

/*
 * Decoders get an exact-size heap copy so that ASan reports any read past
 * the span, which a stack array with slack would hide.
 */
static uint8_t *dup_span(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* ---- OP header and OP_REQ_DEVLIST --------------------------------------- */

static const uint8_t v_req_devlist[8] = {
    0x01, 0x11,             /* version 0x0111 */
    0x80, 0x05,             /* OP_REQ_DEVLIST */
    0x00, 0x00, 0x00, 0x00, /* status */
};

static void test_status_str(void **state)
{
	assert_string_equal(usbip_proto_status_str(USBIP_ST_OK), "ok");
	assert_string_equal(usbip_proto_status_str(USBIP_ST_DEV_BUSY), "device busy");
	assert_string_equal(usbip_proto_status_str(USBIP_ST_NODEV), "no such device");
	assert_string_equal(usbip_proto_status_str(USBIP_ST_DEV_ERR), "device in error state");
	assert_string_equal(usbip_proto_status_str(6), "unknown status");
	assert_string_equal(usbip_proto_status_str(0xffffffffu), "unknown status");
	for (uint32_t s = 0; s <= 6; s++)
		assert_non_null(usbip_proto_status_str(s));
}

static void test_status_name(void **state)
{
	static const struct {
		uint32_t status;
		const char *name;
	} v[] = {
	    {0, "ST_OK"},        {1, "ST_NA"},        {2, "ST_DEV_BUSY"}, {3, "ST_DEV_ERR"},
	    {4, "ST_NODEV"},     {5, "ST_ERROR"},     {6, NULL},          {600, NULL},
	    {0x80000000u, NULL}, {0xffffffffu, NULL},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *n = usbip_proto_status_name(v[i].status);
		if (v[i].name)
			assert_string_equal(n, v[i].name);
		else
			assert_null(n);
	}
}

/* Every wire status maps to 0 or a small negative errno; unknown -> -EIO. */
static void test_urb_status_errno(void **state)
{
	static const struct {
		int32_t wire;
		int want;
	} v[] = {
	    {0, 0},
	    {-EPIPE, -EPIPE},           /* -32 stall */
	    {-ECONNRESET, -ECONNRESET}, /* -104 unlinked */
	    {-ESHUTDOWN, -ESHUTDOWN},   /* -108 device gone */
	    {-ENODEV, -ENODEV},         /* -19 */
	    {-EPROTO, -EPROTO},         /* -71 */
	    {-EOVERFLOW, -EOVERFLOW},   /* -75 babble */
	    {-ETIME, -ETIME},           /* -62 */
	    {-ENOENT, -ENOENT},         /* -2 */
	    {1, -EIO},                  /* "+1 for any error" servers */
	    {EPIPE, -EIO},              /* a positive errno is not one either */
	    {-EINPROGRESS, -EIO},       /* a finished URB cannot be in progress */
	    {-600, -EIO},               /* below -511: fuse would refuse it */
	    {-512, -EIO},               /* ERESTARTSYS */
	    {-4096, -EIO},
	    {-ENOTTY, -EIO},   /* a valid errno, but not a URB status */
	    {INT32_MIN, -EIO}, /* must not be negated */
	    {INT32_MAX, -EIO},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(usbip_proto_urb_status_errno(v[i].wire), v[i].want);
	for (int64_t s = INT32_MIN; s <= INT32_MAX; s += 65521) {
		int e = usbip_proto_urb_status_errno((int32_t)s);
		assert_true(e == 0 || (e < 0 && e > -512));
	}
}

static void test_req_devlist_vector(void **state)
{
	uint8_t buf[16];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_devlist_req_encode(buf, sizeof(buf)), 8);
	assert_memory_equal(buf, v_req_devlist, 8);
	assert_int_equal(buf[8], 0xaa); /* nothing written past the message */

	struct usbip_op_hdr h = {.version = USBIP_VERSION, .code = USBIP_OP_REQ_DEVLIST};
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_op_hdr_encode(&h, buf, 8), 8);
	assert_memory_equal(buf, v_req_devlist, 8);

	uint8_t *span = dup_span(v_req_devlist, 8);
	memset(&h, 0xff, sizeof(h));
	assert_int_equal(usbip_proto_op_hdr_decode(&h, span, 8), 8);
	assert_int_equal(h.version, 0x0111);
	assert_int_equal(h.code, USBIP_OP_REQ_DEVLIST);
	assert_int_equal(h.status, 0);
	free(span);
}

static void test_op_hdr_short(void **state)
{
	struct usbip_op_hdr h = {.version = USBIP_VERSION, .code = USBIP_OP_REP_IMPORT};
	uint8_t buf[8];
	for (size_t len = 0; len < 8; len++) {
		uint8_t *span = dup_span(v_req_devlist, len);
		assert_int_equal(usbip_proto_op_hdr_decode(&h, span, len), -EMSGSIZE);
		assert_int_equal(usbip_proto_op_hdr_encode(&h, buf, len), -EMSGSIZE);
		assert_int_equal(usbip_proto_devlist_req_encode(buf, len), -EMSGSIZE);
		free(span);
	}
}

static void test_op_hdr_bad(void **state)
{
	struct usbip_op_hdr h = {.version = 1, .code = 2, .status = 3};
	/* Old protocol version 0x0106, otherwise a valid OP_REQ_DEVLIST. */
	const uint8_t old_version[8] = {0x01, 0x06, 0x80, 0x05, 0, 0, 0, 0};
	/* Version in little-endian order: a peer that forgot htons(). */
	const uint8_t swapped[8] = {0x11, 0x01, 0x80, 0x05, 0, 0, 0, 0};
	/* 0x8004 and 0x0000 are not OP codes. */
	const uint8_t unknown1[8] = {0x01, 0x11, 0x80, 0x04, 0, 0, 0, 0};
	const uint8_t unknown2[8] = {0x01, 0x11, 0x00, 0x00, 0, 0, 0, 0};
	/* Code with its direction bit flipped from the other side: 0x0005
	 * is valid, 0x0006 is not. */
	const uint8_t unknown3[8] = {0x01, 0x11, 0x00, 0x06, 0, 0, 0, 0};

	assert_int_equal(usbip_proto_op_hdr_decode(&h, old_version, 8), -EPROTO);
	assert_int_equal(usbip_proto_op_hdr_decode(&h, swapped, 8), -EPROTO);
	assert_int_equal(usbip_proto_op_hdr_decode(&h, unknown1, 8), -EPROTO);
	assert_int_equal(usbip_proto_op_hdr_decode(&h, unknown2, 8), -EPROTO);
	assert_int_equal(usbip_proto_op_hdr_decode(&h, unknown3, 8), -EPROTO);
	/* Failed decodes leave the output alone. */
	assert_int_equal(h.version, 1);
	assert_int_equal(h.code, 2);
	assert_int_equal(h.status, 3);

	/* The status word is carried whatever its value. */
	const uint8_t busy[8] = {0x01, 0x11, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02};
	assert_int_equal(usbip_proto_op_hdr_decode(&h, busy, 8), 8);
	assert_int_equal(h.code, USBIP_OP_REP_IMPORT);
	assert_int_equal(h.status, USBIP_ST_DEV_BUSY);
	const uint8_t big[8] = {0x01, 0x11, 0x00, 0x05, 0x12, 0x34, 0x56, 0x78};
	assert_int_equal(usbip_proto_op_hdr_decode(&h, big, 8), 8);
	assert_int_equal(h.status, 0x12345678);
}

/* ---- OP_REP_DEVLIST ----------------------------------------------------- */

#define DEVLIST_LEN (12 + 312 + 2 * 4)
#define REC         12 /* offset of the device record in v_rep_devlist */

static const uint8_t v_rep_devlist[DEVLIST_LEN] = {
    0x01, 0x11, 0x00, 0x05, /* version, OP_REP_DEVLIST */
    0x00, 0x00, 0x00, 0x00, /* status OK */
    0x00, 0x00, 0x00, 0x01, /* one device */
    /* path[256] at record offset 0 */
    [REC + 0] = '/', 's', 'y', 's', '/', 'd', 'e', 'v', 'i', 'c', 'e', 's', '/', 'u', 's', 'b', '1',
    '/', '1', '-', '1',
    /* busid[32] at record offset 0x100 */
    [REC + 0x100] = '1', '-', '1',
    /* numbers at record offset 0x120 */
    [REC + 0x120] = 0x00, 0x00, 0x00, 0x01, /* busnum 1 */
    0x00, 0x00, 0x00, 0x0f,                 /* devnum 15 */
    0x00, 0x00, 0x00, 0x03,                 /* speed 3 (high) */
    0x05, 0x25,                             /* idVendor 0x0525 */
    0xa4, 0xa7,                             /* idProduct 0xa4a7 */
    0x03, 0x10,                             /* bcdDevice 0x0310 */
    0xef,                                   /* bDeviceClass (misc) */
    0x02,                                   /* bDeviceSubClass */
    0x01,                                   /* bDeviceProtocol (IAD) */
    0x02,                                   /* bConfigurationValue */
    0x03,                                   /* bNumConfigurations */
    0x02,                                   /* bNumInterfaces */
    /* interface records */
    0x02, 0x02, 0x01, 0x00, /* CDC comm, ACM, AT commands */
    0x0a, 0x00, 0x00, 0x00, /* CDC data */
};

static void fill_devlist_device(struct usbip_device *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->path, "/sys/devices/usb1/1-1");
	strcpy(d->busid, "1-1");
	d->busnum = 1;
	d->devnum = 15;
	d->speed = 3;
	d->idVendor = 0x0525;
	d->idProduct = 0xa4a7;
	d->bcdDevice = 0x0310;
	d->bDeviceClass = 0xef;
	d->bDeviceSubClass = 0x02;
	d->bDeviceProtocol = 0x01;
	d->bConfigurationValue = 2;
	d->bNumConfigurations = 3;
	d->bNumInterfaces = 2;
}

static const struct usbip_intf devlist_intf[2] = {
    {.bInterfaceClass = 0x02, .bInterfaceSubClass = 0x02, .bInterfaceProtocol = 0x01},
    {.bInterfaceClass = 0x0a, .bInterfaceSubClass = 0x00, .bInterfaceProtocol = 0x00},
};

static void test_rep_devlist_encode(void **state)
{
	uint8_t buf[DEVLIST_LEN + 4];
	struct usbip_device d;
	fill_devlist_device(&d);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_devlist_head_encode(USBIP_ST_OK, 1, buf, sizeof(buf)), 12);
	assert_int_equal(
	    usbip_proto_devlist_entry_encode(&d, devlist_intf, buf + 12, sizeof(buf) - 12),
	    312 + 8);
	assert_memory_equal(buf, v_rep_devlist, DEVLIST_LEN);
	assert_int_equal(buf[DEVLIST_LEN], 0xaa);
}

static void test_rep_devlist_decode(void **state)
{
	uint8_t *span = dup_span(v_rep_devlist, DEVLIST_LEN);
	uint32_t status = 99, ndev = 99;
	struct usbip_device d, want;
	struct usbip_intf intf[4];

	assert_int_equal(usbip_proto_devlist_head_decode(&status, &ndev, span, DEVLIST_LEN), 12);
	assert_int_equal(status, 0);
	assert_int_equal(ndev, 1);

	memset(intf, 0x55, sizeof(intf));
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 4, span + 12, DEVLIST_LEN - 12),
	                 320);
	fill_devlist_device(&want);
	assert_string_equal(d.path, want.path);
	assert_string_equal(d.busid, want.busid);
	assert_memory_equal(&d, &want, sizeof(d));
	assert_int_equal(usbip_proto_devid(&d), 0x0001000f);
	assert_int_equal(intf[0].bInterfaceClass, 0x02);
	assert_int_equal(intf[0].bInterfaceSubClass, 0x02);
	assert_int_equal(intf[0].bInterfaceProtocol, 0x01);
	assert_int_equal(intf[1].bInterfaceClass, 0x0a);
	assert_int_equal(intf[1].bInterfaceSubClass, 0x00);
	assert_int_equal(intf[1].bInterfaceProtocol, 0x00);
	/* Only bNumInterfaces records are written. */
	assert_int_equal(intf[2].bInterfaceClass, 0x55);

	/* max_intf equal to bNumInterfaces is enough. */
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 2, span + 12, DEVLIST_LEN - 12),
	                 320);
	free(span);
}

static void test_devlist_head_errors(void **state)
{
	uint32_t status = 7, ndev = 8;
	for (size_t len = 0; len < 12; len++) {
		uint8_t *span = dup_span(v_rep_devlist, len);
		assert_int_equal(usbip_proto_devlist_head_decode(&status, &ndev, span, len),
		                 -EMSGSIZE);
		free(span);
	}
	uint8_t buf[12];
	for (size_t len = 0; len < 12; len++)
		assert_int_equal(usbip_proto_devlist_head_encode(0, 1, buf, len), -EMSGSIZE);

	/* An OP_REQ_DEVLIST is not a reply. */
	uint8_t bad[12];
	memcpy(bad, v_rep_devlist, 12);
	bad[2] = 0x80;
	assert_int_equal(usbip_proto_devlist_head_decode(&status, &ndev, bad, 12), -EPROTO);
	/* An OP_REP_IMPORT is valid OP but the wrong reply. */
	memcpy(bad, v_rep_devlist, 12);
	bad[3] = 0x03;
	assert_int_equal(usbip_proto_devlist_head_decode(&status, &ndev, bad, 12), -EPROTO);
	memcpy(bad, v_rep_devlist, 12);
	bad[1] = 0x10;
	assert_int_equal(usbip_proto_devlist_head_decode(&status, &ndev, bad, 12), -EPROTO);
	assert_int_equal(status, 7);
	assert_int_equal(ndev, 8);

	/* Status and count are big-endian. */
	const uint8_t v[12] = {0x01, 0x11, 0x00, 0x05, 0, 0, 0, 1, 0x00, 0x00, 0x01, 0x02};
	assert_int_equal(usbip_proto_devlist_head_decode(&status, &ndev, v, 12), 12);
	assert_int_equal(status, 1);
	assert_int_equal(ndev, 0x102);
	assert_int_equal(usbip_proto_devlist_head_encode(1, 0x102, buf, 12), 12);
	assert_memory_equal(buf, v, 12);
}

static void test_devlist_entry_short(void **state)
{
	const uint8_t *entry = v_rep_devlist + 12;
	struct usbip_device d;
	struct usbip_intf intf[2];
	uint8_t out[320];
	struct usbip_device src;
	fill_devlist_device(&src);

	/* Every cut, inside the record and inside the interface records. */
	for (size_t len = 0; len < 320; len++) {
		uint8_t *span = dup_span(entry, len);
		memset(&d, 0x77, sizeof(d));
		assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 2, span, len),
		                 -EMSGSIZE);
		assert_int_equal(d.busnum, 0x77777777u);
		assert_int_equal(usbip_proto_devlist_entry_encode(&src, devlist_intf, out, len),
		                 -EMSGSIZE);
		free(span);
	}
}

static void test_devlist_entry_intf_limits(void **state)
{
	uint8_t rec[312 + 33 * 4];
	struct usbip_device d;
	struct usbip_intf intf[64];

	memset(rec, 0, sizeof(rec));
	memcpy(rec, v_rep_devlist + 12, 312 + 8);

	/* bNumInterfaces 2 but the caller has room for 1. */
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 1, rec, sizeof(rec)), -EPROTO);
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 0, rec, sizeof(rec)), -EPROTO);

	/* 33 > USBIP_MAX_INTERFACES even when the caller's array is larger. */
	rec[0x137] = 33;
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 64, rec, sizeof(rec)), -EPROTO);
	/* 32 is the largest accepted; the records after the first two are zero. */
	rec[0x137] = 32;
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 64, rec, 312 + 32 * 4),
	                 312 + 32 * 4);
	assert_int_equal(d.bNumInterfaces, 32);
	assert_int_equal(intf[1].bInterfaceClass, 0x0a);
	assert_int_equal(intf[31].bInterfaceClass, 0);
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 64, rec, 312 + 31 * 4),
	                 -EMSGSIZE);

	/* A caller that claims room but passes no array is refused. */
	rec[0x137] = 2;
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, NULL, 4, rec, 320), -EINVAL);

	/* No interfaces: intf may be NULL. */
	rec[0x137] = 0;
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, NULL, 0, rec, 312), 312);

	/* The pad byte of an interface record is ignored. */
	rec[0x137] = 2;
	rec[312 + 3] = 0xff;
	rec[312 + 7] = 0x12;
	assert_int_equal(usbip_proto_devlist_entry_decode(&d, intf, 2, rec, 320), 320);
	assert_int_equal(intf[0].bInterfaceProtocol, 0x01);
	assert_int_equal(intf[1].bInterfaceProtocol, 0x00);

	/* Encode refuses what decode would refuse. */
	uint8_t out[312 + 40 * 4];
	struct usbip_device src;
	fill_devlist_device(&src);
	assert_int_equal(usbip_proto_devlist_entry_encode(&src, NULL, out, sizeof(out)), -EINVAL);
	src.bNumInterfaces = 33;
	assert_int_equal(usbip_proto_devlist_entry_encode(&src, intf, out, sizeof(out)), -EINVAL);
	src.bNumInterfaces = 0;
	assert_int_equal(usbip_proto_devlist_entry_encode(&src, NULL, out, sizeof(out)), 312);
}

static void test_intf_record(void **state)
{
	struct usbip_intf i = {
	    .bInterfaceClass = 0xff, .bInterfaceSubClass = 0x42, .bInterfaceProtocol = 0x01};
	uint8_t buf[4];
	const uint8_t want[4] = {0xff, 0x42, 0x01, 0x00};
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_intf_encode(&i, buf, 4), 4);
	assert_memory_equal(buf, want, 4);
	for (size_t len = 0; len < 4; len++) {
		uint8_t *span = dup_span(want, len);
		assert_int_equal(usbip_proto_intf_decode(&i, span, len), -EMSGSIZE);
		assert_int_equal(usbip_proto_intf_encode(&i, buf, len), -EMSGSIZE);
		free(span);
	}
	const uint8_t in[4] = {0x0a, 0x01, 0x02, 0x99};
	assert_int_equal(usbip_proto_intf_decode(&i, in, 4), 4);
	assert_int_equal(i.bInterfaceClass, 0x0a);
	assert_int_equal(i.bInterfaceSubClass, 0x01);
	assert_int_equal(i.bInterfaceProtocol, 0x02);
}

/* ---- device record strings ---------------------------------------------- */

static void test_device_short(void **state)
{
	struct usbip_device d;
	fill_devlist_device(&d);
	uint8_t out[312];
	for (size_t len = 0; len < 312; len++) {
		uint8_t *span = dup_span(v_rep_devlist + 12, len);
		assert_int_equal(usbip_proto_device_decode(&d, span, len), -EMSGSIZE);
		assert_int_equal(usbip_proto_device_encode(&d, out, len), -EMSGSIZE);
		free(span);
	}
	assert_int_equal(usbip_proto_device_decode(&d, v_rep_devlist + 12, 312), 312);
	/* A longer span: the record is still 312 bytes. */
	assert_int_equal(usbip_proto_device_decode(&d, v_rep_devlist + 12, 320), 312);
}

static void test_device_strings_decode(void **state)
{
	uint8_t rec[312];
	struct usbip_device d;

	/* path fills all 256 bytes with no NUL. */
	memcpy(rec, v_rep_devlist + 12, 312);
	memset(rec, 'p', 256);
	memset(&d, 0x33, sizeof(d));
	assert_int_equal(usbip_proto_device_decode(&d, rec, 312), -EPROTO);
	assert_int_equal(d.busnum, 0x33333333u);

	/* 255 characters and a NUL is the longest valid path. */
	rec[255] = 0;
	assert_int_equal(usbip_proto_device_decode(&d, rec, 312), 312);
	assert_int_equal(strlen(d.path), 255);

	/* busid fills all 32 bytes with no NUL (path valid). */
	memcpy(rec, v_rep_devlist + 12, 312);
	memset(rec + 256, 'b', 32);
	assert_int_equal(usbip_proto_device_decode(&d, rec, 312), -EPROTO);
	rec[256 + 31] = 0;
	assert_int_equal(usbip_proto_device_decode(&d, rec, 312), 312);
	assert_int_equal(strlen(d.busid), 31);

	/* Bytes after the NUL are dropped: the struct holds a clean string. */
	memcpy(rec, v_rep_devlist + 12, 312);
	memset(rec + 256 + 4, 'x', 28); /* "1-1\0xxxx..." */
	memset(rec + 22, 'y', 256 - 22);
	assert_int_equal(usbip_proto_device_decode(&d, rec, 312), 312);
	assert_string_equal(d.busid, "1-1");
	assert_string_equal(d.path, "/sys/devices/usb1/1-1");
	for (size_t k = 4; k < sizeof(d.busid); k++)
		assert_int_equal(d.busid[k], 0);

	/* Empty strings are allowed in a device record. */
	memcpy(rec, v_rep_devlist + 12, 312);
	memset(rec, 0, 256 + 32);
	assert_int_equal(usbip_proto_device_decode(&d, rec, 312), 312);
	assert_string_equal(d.path, "");
	assert_string_equal(d.busid, "");
}

static void test_device_strings_encode(void **state)
{
	struct usbip_device d;
	uint8_t out[312];

	fill_devlist_device(&d);
	memset(d.path, 'p', sizeof(d.path)); /* 256 characters, no room for NUL */
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(usbip_proto_device_encode(&d, out, sizeof(out)), -EINVAL);
	assert_int_equal(out[0], 0xaa); /* nothing written */
	d.path[255] = 0;
	assert_int_equal(usbip_proto_device_encode(&d, out, sizeof(out)), 312);
	assert_int_equal(out[254], 'p');
	assert_int_equal(out[255], 0);

	fill_devlist_device(&d);
	memset(d.busid, 'b', sizeof(d.busid)); /* 32 characters */
	assert_int_equal(usbip_proto_device_encode(&d, out, sizeof(out)), -EINVAL);
	d.busid[31] = 0;
	assert_int_equal(usbip_proto_device_encode(&d, out, sizeof(out)), 312);
	assert_int_equal(out[256 + 30], 'b');
	assert_int_equal(out[256 + 31], 0);

	/* Garbage after the NUL in the struct does not leak to the wire. */
	fill_devlist_device(&d);
	memset(d.path + 22, 'z', sizeof(d.path) - 22);
	memset(d.busid + 4, 'z', sizeof(d.busid) - 4);
	assert_int_equal(usbip_proto_device_encode(&d, out, sizeof(out)), 312);
	assert_memory_equal(out, v_rep_devlist + 12, 312);
}

/* ---- OP_REQ_IMPORT ------------------------------------------------------ */

static const uint8_t v_req_import[40] = {
    0x01, 0x11, 0x80, 0x03,      /* version, OP_REQ_IMPORT */
    0x00, 0x00, 0x00, 0x00,      /* status */
    '1',  '-',  '1',  '.',  '2', /* busid "1-1.2", NUL-padded to 32 */
};

static void test_req_import_vector(void **state)
{
	uint8_t buf[44];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_import_req_encode("1-1.2", buf, sizeof(buf)), 40);
	assert_memory_equal(buf, v_req_import, 40);
	assert_int_equal(buf[40], 0xaa);

	char busid[32];
	memset(busid, 'q', sizeof(busid));
	uint8_t *span = dup_span(v_req_import, 40);
	assert_int_equal(usbip_proto_import_req_decode(busid, span, 40), 40);
	assert_string_equal(busid, "1-1.2");
	for (size_t k = 5; k < sizeof(busid); k++)
		assert_int_equal(busid[k], 0);
	free(span);
}

static void test_req_import_errors(void **state)
{
	uint8_t buf[40];
	char busid[32];
	char s[40];

	/* Encode: empty, 32 characters, 31 characters (the longest). */
	assert_int_equal(usbip_proto_import_req_encode("", buf, sizeof(buf)), -EINVAL);
	memset(s, 'b', sizeof(s));
	s[32] = 0;
	assert_int_equal(usbip_proto_import_req_encode(s, buf, sizeof(buf)), -EINVAL);
	s[39] = 0;
	s[32] = 'b';
	assert_int_equal(usbip_proto_import_req_encode(s, buf, sizeof(buf)), -EINVAL);
	s[31] = 0;
	assert_int_equal(usbip_proto_import_req_encode(s, buf, sizeof(buf)), 40);
	assert_int_equal(buf[8 + 30], 'b');
	assert_int_equal(buf[8 + 31], 0);
	for (size_t len = 0; len < 40; len++)
		assert_int_equal(usbip_proto_import_req_encode("1-1", buf, len), -EMSGSIZE);

	/* Decode: every short span. */
	for (size_t len = 0; len < 40; len++) {
		uint8_t *span = dup_span(v_req_import, len);
		assert_int_equal(usbip_proto_import_req_decode(busid, span, len), -EMSGSIZE);
		free(span);
	}

	uint8_t bad[40];
	/* busid not NUL-terminated within 32 bytes. */
	memcpy(bad, v_req_import, 40);
	memset(bad + 8, 'x', 32);
	memset(busid, 'q', sizeof(busid));
	assert_int_equal(usbip_proto_import_req_decode(busid, bad, 40), -EPROTO);
	assert_int_equal(busid[0], 'q');
	/* ... and with the NUL in the very last byte it is fine. */
	bad[39] = 0;
	assert_int_equal(usbip_proto_import_req_decode(busid, bad, 40), 40);
	assert_int_equal(strlen(busid), 31);
	/* Empty busid. */
	memcpy(bad, v_req_import, 40);
	memset(bad + 8, 0, 32);
	assert_int_equal(usbip_proto_import_req_decode(busid, bad, 40), -EPROTO);
	/* Wrong code (a devlist request with 32 bytes after it). */
	memcpy(bad, v_req_import, 40);
	bad[3] = 0x05;
	assert_int_equal(usbip_proto_import_req_decode(busid, bad, 40), -EPROTO);
	/* A reply code is not a request. */
	bad[2] = 0x00;
	bad[3] = 0x03;
	assert_int_equal(usbip_proto_import_req_decode(busid, bad, 40), -EPROTO);
	/* Wrong version. */
	memcpy(bad, v_req_import, 40);
	bad[0] = 0x00;
	assert_int_equal(usbip_proto_import_req_decode(busid, bad, 40), -EPROTO);
	/* The request status is not looked at. */
	memcpy(bad, v_req_import, 40);
	bad[7] = 0x01;
	assert_int_equal(usbip_proto_import_req_decode(busid, bad, 40), 40);
	assert_string_equal(busid, "1-1.2");
}

/* ---- OP_REP_IMPORT ------------------------------------------------------ */

#define IMP 8 /* offset of the device record in v_rep_import */

static const uint8_t v_rep_import[8 + 312] = {
    0x01,
    0x11,
    0x00,
    0x03, /* version, OP_REP_IMPORT */
    0x00,
    0x00,
    0x00,
    0x00, /* status OK */
    [IMP + 0] = '/',
    's',
    'y',
    's',
    '/',
    'b',
    'u',
    's',
    '/',
    'u',
    's',
    'b',
    '/',
    '3',
    '-',
    '2',
    [IMP + 0x100] = '3',
    '-',
    '2',
    [IMP + 0x120] = 0x00,
    0x00,
    0x00,
    0x03, /* busnum 3 */
    0x00,
    0x00,
    0x01,
    0x02, /* devnum 258 */
    0x00,
    0x00,
    0x00,
    0x02, /* speed 2 (full) */
    0x2e,
    0x8a, /* idVendor 0x2e8a */
    0x00,
    0x0a, /* idProduct 0x000a */
    0x01,
    0x00, /* bcdDevice 0x0100 */
    0x02,
    0x00,
    0x00, /* class 2, subclass 0, protocol 0 */
    0x01, /* bConfigurationValue */
    0x01, /* bNumConfigurations */
    0x02, /* bNumInterfaces (no records follow) */
};

static void test_rep_import_vector(void **state)
{
	struct usbip_device d;
	memset(&d, 0, sizeof(d));
	strcpy(d.path, "/sys/bus/usb/3-2");
	strcpy(d.busid, "3-2");
	d.busnum = 3;
	d.devnum = 258;
	d.speed = 2;
	d.idVendor = 0x2e8a;
	d.idProduct = 0x000a;
	d.bcdDevice = 0x0100;
	d.bDeviceClass = 2;
	d.bConfigurationValue = 1;
	d.bNumConfigurations = 1;
	d.bNumInterfaces = 2;

	uint8_t buf[8 + 312];
	struct usbip_op_hdr h = {.version = USBIP_VERSION, .code = USBIP_OP_REP_IMPORT};
	assert_int_equal(usbip_proto_op_hdr_encode(&h, buf, sizeof(buf)), 8);
	assert_int_equal(usbip_proto_device_encode(&d, buf + 8, sizeof(buf) - 8), 312);
	assert_memory_equal(buf, v_rep_import, sizeof(buf));

	uint8_t *span = dup_span(v_rep_import, sizeof(v_rep_import));
	struct usbip_device got;
	assert_int_equal(usbip_proto_op_hdr_decode(&h, span, sizeof(v_rep_import)), 8);
	assert_int_equal(h.code, USBIP_OP_REP_IMPORT);
	assert_int_equal(h.status, USBIP_ST_OK);
	assert_int_equal(usbip_proto_device_decode(&got, span + 8, sizeof(v_rep_import) - 8), 312);
	assert_memory_equal(&got, &d, sizeof(d));
	/* devid is busnum << 16 | devnum. */
	assert_int_equal(usbip_proto_devid(&got), 0x00030102);
	free(span);

	/* Failure: the reply is the 8-byte header alone. */
	const uint8_t nodev[8] = {0x01, 0x11, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04};
	assert_int_equal(usbip_proto_op_hdr_decode(&h, nodev, 8), 8);
	assert_int_equal(h.status, USBIP_ST_NODEV);
	assert_string_equal(usbip_proto_status_str(h.status), "no such device");
}

/* ---- URB headers -------------------------------------------------------- */

/* Documentation/usb/usbip_protocol.rst, "CmdIntrIN" capture. */
static const uint8_t v_cmd_int_in[48] = {
    0x00, 0x00, 0x00, 0x01,                         /* command CMD_SUBMIT */
    0x00, 0x00, 0x0d, 0x05,                         /* seqnum */
    0x00, 0x01, 0x00, 0x0f,                         /* devid: bus 1, dev 15 */
    0x00, 0x00, 0x00, 0x01,                         /* direction IN */
    0x00, 0x00, 0x00, 0x01,                         /* ep 1 */
    0x00, 0x00, 0x02, 0x00,                         /* transfer_flags URB_DIR_IN */
    0x00, 0x00, 0x00, 0x40,                         /* transfer_buffer_length 64 */
    0xff, 0xff, 0xff, 0xff,                         /* start_frame -1 */
    0x00, 0x00, 0x00, 0x00,                         /* number_of_packets 0 */
    0x00, 0x00, 0x00, 0x04,                         /* interval 4 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* setup (unused) */
};

static void test_cmd_submit_int_in(void **state)
{
	struct usbip_urb_hdr h;
	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_SUBMIT;
	h.seqnum = 0xd05;
	h.devid = 0x0001000f;
	h.direction = USBIP_DIR_IN;
	h.ep = 1;
	h.u.submit.transfer_flags = USBIP_URB_DIR_IN;
	h.u.submit.transfer_buffer_length = 64;
	h.u.submit.start_frame = -1;
	h.u.submit.number_of_packets = 0;
	h.u.submit.interval = 4;

	uint8_t buf[52];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, buf, sizeof(buf)), 48);
	assert_memory_equal(buf, v_cmd_int_in, 48);
	assert_int_equal(buf[48], 0xaa);

	struct usbip_urb_hdr got;
	uint8_t *span = dup_span(v_cmd_int_in, 48);
	assert_int_equal(usbip_proto_urb_hdr_decode(&got, span, 48), 48);
	free(span);
	assert_int_equal(got.command, USBIP_CMD_SUBMIT);
	assert_int_equal(got.seqnum, 0xd05);
	assert_int_equal(got.devid, 0x0001000f);
	assert_int_equal(got.direction, USBIP_DIR_IN);
	assert_int_equal(got.ep, 1);
	assert_int_equal(got.u.submit.transfer_flags, 0x200);
	assert_int_equal(got.u.submit.transfer_buffer_length, 64);
	assert_int_equal(got.u.submit.start_frame, -1);
	assert_int_equal(got.u.submit.number_of_packets, 0);
	assert_int_equal(got.u.submit.interval, 4);
	assert_memory_equal(&got, &h, sizeof(h));
	/* IN: no payload follows the command. */
	assert_int_equal(usbip_proto_cmd_submit_payload(&got, 64), 0);
}

/* SET_LINE_CODING 115200 8N1 on interface 0: a control OUT with data. */
static const uint8_t v_cmd_ctrl_out[48] = {
    0x00,
    0x00,
    0x00,
    0x01, /* CMD_SUBMIT */
    0x00,
    0x00,
    0x00,
    0x07, /* seqnum 7 */
    0x00,
    0x01,
    0x00,
    0x0f, /* devid */
    0x00,
    0x00,
    0x00,
    0x00, /* direction OUT */
    0x00,
    0x00,
    0x00,
    0x00, /* ep 0 */
    0x00,
    0x00,
    0x00,
    0x00, /* transfer_flags */
    0x00,
    0x00,
    0x00,
    0x07, /* transfer_buffer_length 7 == wLength */
    0x00,
    0x00,
    0x00,
    0x00, /* start_frame */
    0xff,
    0xff,
    0xff,
    0xff, /* number_of_packets -1 */
    0x00,
    0x00,
    0x00,
    0x00, /* interval */
    /* setup, little-endian: bmRequestType 0x21, bRequest 0x20,
     * wValue 0, wIndex 0x0102, wLength 7 */
    0x21,
    0x20,
    0x00,
    0x00,
    0x02,
    0x01,
    0x07,
    0x00,
};

static void test_cmd_submit_ctrl_out(void **state)
{
	struct usbip_urb_hdr h;
	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_SUBMIT;
	h.seqnum = 7;
	h.devid = 0x0001000f;
	h.direction = USBIP_DIR_OUT;
	h.ep = 0;
	h.u.submit.transfer_buffer_length = 7;
	h.u.submit.number_of_packets = -1;
	const uint8_t setup[8] = {0x21, 0x20, 0x00, 0x00, 0x02, 0x01, 0x07, 0x00};
	memcpy(h.u.submit.setup, setup, 8);

	uint8_t buf[48];
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, buf, sizeof(buf)), 48);
	assert_memory_equal(buf, v_cmd_ctrl_out, 48);

	struct usbip_urb_hdr got;
	assert_int_equal(usbip_proto_urb_hdr_decode(&got, v_cmd_ctrl_out, 48), 48);
	assert_memory_equal(&got, &h, sizeof(h));
	/* The setup bytes are not byte-swapped. */
	assert_int_equal(got.u.submit.setup[4], 0x02);
	assert_int_equal(got.u.submit.setup[5], 0x01);
	/* OUT: the 7 line-coding bytes follow. */
	assert_int_equal(usbip_proto_cmd_submit_payload(&got, 7), 7);
	assert_int_equal(usbip_proto_cmd_submit_payload(&got, 6), -EPROTO);
}

/* "RetIntrIn" capture: 64 bytes of IN data follow. */
static const uint8_t v_ret_submit[48] = {
    0x00, 0x00, 0x00, 0x03,                         /* RET_SUBMIT */
    0x00, 0x00, 0x0d, 0x05,                         /* seqnum */
    0x00, 0x00, 0x00, 0x00,                         /* devid 0 in replies */
    0x00, 0x00, 0x00, 0x00,                         /* direction 0 in replies */
    0x00, 0x00, 0x00, 0x00,                         /* ep 0 in replies */
    0x00, 0x00, 0x00, 0x00,                         /* status 0 */
    0x00, 0x00, 0x00, 0x40,                         /* actual_length 64 */
    0xff, 0xff, 0xff, 0xff,                         /* start_frame -1 */
    0x00, 0x00, 0x00, 0x00,                         /* number_of_packets 0 */
    0x00, 0x00, 0x00, 0x00,                         /* error_count */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* padding */
};

static void test_ret_submit_vector(void **state)
{
	struct usbip_urb_hdr h;
	memset(&h, 0, sizeof(h));
	h.command = USBIP_RET_SUBMIT;
	h.seqnum = 0xd05;
	h.u.ret_submit.actual_length = 64;
	h.u.ret_submit.start_frame = -1;

	uint8_t buf[48];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, buf, sizeof(buf)), 48);
	assert_memory_equal(buf, v_ret_submit, 48);

	struct usbip_urb_hdr got;
	uint8_t *span = dup_span(v_ret_submit, 48);
	assert_int_equal(usbip_proto_urb_hdr_decode(&got, span, 48), 48);
	free(span);
	assert_memory_equal(&got, &h, sizeof(h));
	assert_int_equal(usbip_proto_ret_submit_payload(&got, USBIP_DIR_IN, 64), 64);
	assert_int_equal(usbip_proto_ret_submit_payload(&got, USBIP_DIR_OUT, 64), 0);

	/* Padding is ignored on decode. */
	uint8_t padded[48];
	memcpy(padded, v_ret_submit, 48);
	memset(padded + 40, 0xee, 8);
	assert_int_equal(usbip_proto_urb_hdr_decode(&got, padded, 48), 48);
	assert_memory_equal(&got, &h, sizeof(h));

	/* Negative fields: status -32 (stall), error_count 3. */
	const uint8_t stall[48] = {
	    0x00,        0x00, 0x00, 0x03, 0x00,        0x00, 0x00, 0x09,
	    [20] = 0xff, 0xff, 0xff, 0xe0, [36] = 0x00, 0x00, 0x00, 0x03,
	};
	assert_int_equal(usbip_proto_urb_hdr_decode(&got, stall, 48), 48);
	assert_int_equal(got.seqnum, 9);
	assert_int_equal(got.u.ret_submit.status, -32);
	assert_int_equal(got.u.ret_submit.actual_length, 0);
	assert_int_equal(got.u.ret_submit.error_count, 3);
	assert_int_equal(usbip_proto_ret_submit_payload(&got, USBIP_DIR_IN, 64), 0);
}

static const uint8_t v_cmd_unlink[48] = {
    0x00, 0x00, 0x00, 0x02, /* CMD_UNLINK */
    0x00, 0x00, 0x0d, 0x07, /* seqnum of this request */
    0x00, 0x01, 0x00, 0x0f, /* devid */
    0x00, 0x00, 0x00, 0x00, /* direction */
    0x00, 0x00, 0x00, 0x00, /* ep 0 */
    0x00, 0x00, 0x0d, 0x05, /* unlink_seqnum */
                            /* 24 bytes padding */
};

static void test_cmd_unlink_vector(void **state)
{
	struct usbip_urb_hdr h;
	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_UNLINK;
	h.seqnum = 0xd07;
	h.devid = 0x0001000f;
	h.u.unlink.seqnum = 0xd05;

	uint8_t buf[48];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, buf, sizeof(buf)), 48);
	assert_memory_equal(buf, v_cmd_unlink, 48);

	struct usbip_urb_hdr got;
	uint8_t in[48];
	memcpy(in, v_cmd_unlink, 48);
	memset(in + 24, 0x5a, 24); /* padding ignored */
	assert_int_equal(usbip_proto_urb_hdr_decode(&got, in, 48), 48);
	assert_memory_equal(&got, &h, sizeof(h));
	assert_int_equal(got.u.unlink.seqnum, 0xd05);
	/* Neither payload helper applies to an unlink. */
	assert_int_equal(usbip_proto_cmd_submit_payload(&got, 64), -EINVAL);
	assert_int_equal(usbip_proto_ret_submit_payload(&got, USBIP_DIR_IN, 64), -EINVAL);
}

static const uint8_t v_ret_unlink[48] = {
    0x00, 0x00, 0x00, 0x04, /* RET_UNLINK */
    0x00, 0x00, 0x0d, 0x07, /* seqnum of the CMD_UNLINK */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x98, /* status -104 (-ECONNRESET) */
};

static void test_ret_unlink_vector(void **state)
{
	struct usbip_urb_hdr h;
	memset(&h, 0, sizeof(h));
	h.command = USBIP_RET_UNLINK;
	h.seqnum = 0xd07;
	h.u.ret_unlink.status = -104;

	uint8_t buf[48];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, buf, sizeof(buf)), 48);
	assert_memory_equal(buf, v_ret_unlink, 48);

	struct usbip_urb_hdr got;
	assert_int_equal(usbip_proto_urb_hdr_decode(&got, v_ret_unlink, 48), 48);
	assert_memory_equal(&got, &h, sizeof(h));
	assert_int_equal(got.u.ret_unlink.status, -ECONNRESET);
}

static void test_urb_short(void **state)
{
	const uint8_t *vectors[] = {v_cmd_int_in, v_ret_submit, v_cmd_unlink, v_ret_unlink};
	struct usbip_urb_hdr h;
	uint8_t buf[48];
	for (size_t v = 0; v < 4; v++) {
		assert_int_equal(usbip_proto_urb_hdr_decode(&h, vectors[v], 48), 48);
		for (size_t len = 0; len < 48; len++) {
			uint8_t *span = dup_span(vectors[v], len);
			struct usbip_urb_hdr g;
			memset(&g, 0x11, sizeof(g));
			assert_int_equal(usbip_proto_urb_hdr_decode(&g, span, len), -EMSGSIZE);
			assert_int_equal(g.seqnum, 0x11111111u);
			assert_int_equal(usbip_proto_urb_hdr_encode(&h, buf, len), -EMSGSIZE);
			free(span);
		}
	}
}

static void test_urb_unknown_command(void **state)
{
	uint8_t in[48];
	struct usbip_urb_hdr h;
	const uint32_t bad[] = {0, 5, 0x100, 0x80000001u, 0x01000000u};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memcpy(in, v_ret_unlink, 48);
		in[0] = (uint8_t)(bad[k] >> 24);
		in[1] = (uint8_t)(bad[k] >> 16);
		in[2] = (uint8_t)(bad[k] >> 8);
		in[3] = (uint8_t)bad[k];
		memset(&h, 0x22, sizeof(h));
		assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), -EPROTO);
		assert_int_equal(h.seqnum, 0x22222222u);

		memset(&h, 0, sizeof(h));
		h.command = bad[k];
		assert_int_equal(usbip_proto_urb_hdr_encode(&h, in, 48), -EINVAL);
	}
}

static void test_urb_submit_invalid(void **state)
{
	uint8_t in[48];
	struct usbip_urb_hdr h;

	/* direction 2 */
	memcpy(in, v_cmd_int_in, 48);
	in[15] = 2;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), -EPROTO);
	/* ep 16 and an ep with the 0x80 bit */
	memcpy(in, v_cmd_int_in, 48);
	in[19] = 16;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), -EPROTO);
	in[19] = 0x81;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), -EPROTO);
	in[19] = 15;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), 48);
	/* negative transfer_buffer_length */
	memcpy(in, v_cmd_int_in, 48);
	in[24] = 0x80;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), -EPROTO);
	in[24] = 0x7f; /* INT32_MAX-ish is representable; the payload check bounds it */
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), 48);
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 1u << 20), -EPROTO);

	/* The same values refused on encode. */
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, v_cmd_int_in, 48), 48);
	h.u.submit.transfer_buffer_length = -1;
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, in, 48), -EINVAL);
	h.u.submit.transfer_buffer_length = 0;
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, in, 48), 48);
	h.direction = 2;
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, in, 48), -EINVAL);
	h.direction = USBIP_DIR_OUT;
	h.ep = 0x81;
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, in, 48), -EINVAL);

	/* Replies carry whatever the server put in direction/ep. */
	memcpy(in, v_ret_submit, 48);
	in[15] = 7;
	in[19] = 0x81;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), 48);
	assert_int_equal(h.direction, 7);
	assert_int_equal(h.ep, 0x81);
}

static void test_cmd_submit_payload(void **state)
{
	struct usbip_urb_hdr h;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, v_cmd_ctrl_out, 48), 48);

	/* number_of_packets: -1 and 0 accepted, anything > 0 is isochronous. */
	h.u.submit.number_of_packets = -1;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), 7);
	h.u.submit.number_of_packets = 0;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), 7);
	h.u.submit.number_of_packets = 1;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), -EPROTO);
	h.u.submit.number_of_packets = 0x7fffffff;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), -EPROTO);
	h.u.submit.number_of_packets = 0;

	/* Length limit, both directions (the server allocates either way). */
	h.u.submit.transfer_buffer_length = 4096;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), 4096);
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4095), -EPROTO);
	h.direction = USBIP_DIR_IN;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), 0);
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4095), -EPROTO);
	h.u.submit.transfer_buffer_length = 0;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 0), 0);

	/* Hand-built structs the decoder would never produce. */
	h.direction = USBIP_DIR_OUT;
	h.u.submit.transfer_buffer_length = -1;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), -EPROTO);
	h.u.submit.transfer_buffer_length = 8;
	h.direction = 2;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), -EPROTO);
	h.direction = USBIP_DIR_OUT;
	h.command = USBIP_RET_SUBMIT;
	assert_int_equal(usbip_proto_cmd_submit_payload(&h, 4096), -EINVAL);
}

static void test_ret_submit_payload(void **state)
{
	struct usbip_urb_hdr h;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, v_ret_submit, 48), 48);

	/* actual_length 64 against what was requested. */
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 65), 64);
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 63), -EPROTO);
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_OUT, 63), -EPROTO);
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 0), -EPROTO);

	/* Negative actual_length, decoded from the wire. */
	uint8_t in[48];
	memcpy(in, v_ret_submit, 48);
	in[24] = 0xff;
	in[25] = 0xff;
	in[26] = 0xff;
	in[27] = 0xff;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, in, 48), 48);
	assert_int_equal(h.u.ret_submit.actual_length, -1);
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 64), -EPROTO);
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_OUT, 64), -EPROTO);

	/* number_of_packets: -1 and 0 accepted, > 0 rejected. */
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, v_ret_submit, 48), 48);
	h.u.ret_submit.number_of_packets = -1;
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 64), 64);
	h.u.ret_submit.number_of_packets = 0;
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 64), 64);
	h.u.ret_submit.number_of_packets = 2;
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 64), -EPROTO);
	h.u.ret_submit.number_of_packets = 0;

	/* A failed IN still carries actual_length bytes (Linux stub_tx). */
	h.u.ret_submit.status = -104;
	h.u.ret_submit.actual_length = 5;
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 64), 5);
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_OUT, 64), 0);
	/* Some servers send +1 for any error. */
	h.u.ret_submit.status = 1;
	h.u.ret_submit.actual_length = 0;
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 64), 0);

	/* Misuse. */
	assert_int_equal(usbip_proto_ret_submit_payload(&h, (enum usbip_dir)2, 64), -EINVAL);
	h.command = USBIP_CMD_SUBMIT;
	assert_int_equal(usbip_proto_ret_submit_payload(&h, USBIP_DIR_IN, 64), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_str),
	    cmocka_unit_test(test_status_name),
	    cmocka_unit_test(test_urb_status_errno),
	    cmocka_unit_test(test_req_devlist_vector),
	    cmocka_unit_test(test_op_hdr_short),
	    cmocka_unit_test(test_op_hdr_bad),
	    cmocka_unit_test(test_rep_devlist_encode),
	    cmocka_unit_test(test_rep_devlist_decode),
	    cmocka_unit_test(test_devlist_head_errors),
	    cmocka_unit_test(test_devlist_entry_short),
	    cmocka_unit_test(test_devlist_entry_intf_limits),
	    cmocka_unit_test(test_intf_record),
	    cmocka_unit_test(test_device_short),
	    cmocka_unit_test(test_device_strings_decode),
	    cmocka_unit_test(test_device_strings_encode),
	    cmocka_unit_test(test_req_import_vector),
	    cmocka_unit_test(test_req_import_errors),
	    cmocka_unit_test(test_rep_import_vector),
	    cmocka_unit_test(test_cmd_submit_int_in),
	    cmocka_unit_test(test_cmd_submit_ctrl_out),
	    cmocka_unit_test(test_ret_submit_vector),
	    cmocka_unit_test(test_cmd_unlink_vector),
	    cmocka_unit_test(test_ret_unlink_vector),
	    cmocka_unit_test(test_urb_short),
	    cmocka_unit_test(test_urb_unknown_command),
	    cmocka_unit_test(test_urb_submit_invalid),
	    cmocka_unit_test(test_cmd_submit_payload),
	    cmocka_unit_test(test_ret_submit_payload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
