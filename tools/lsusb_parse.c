/* SPDX-License-Identifier: MIT */
/*
 * lsusb_parse - `lsusb -v` text to descriptor bytes (see lsusb_parse.h).
 *
 * The parser is line based.  lsusb's layout is fixed by indentation: device
 * fields at 2 spaces, configuration fields at 4, interface/IAD fields at 6,
 * endpoint and CDC functional descriptor fields at 8; deeper lines are
 * explanations ("Transfer Type Bulk", "(Bus Powered)").  A heading starts a
 * block; the block collects its fields and is encoded when the next heading
 * (or the end) arrives, so bytes come out in exactly the order lsusb printed
 * the descriptors - which is the order libusb found them on the wire.
 */
#include "lsusb_parse.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "byteorder.h"
#include "usb_desc.h"

/* Kernel enum usb_device_speed values. */
enum {
	SPEED_LOW = 1,
	SPEED_FULL = 2,
	SPEED_HIGH = 3,
	SPEED_SUPER = 5,
	SPEED_SUPER_PLUS = 6,
};

#define MAX_UNION_SLAVES 32u
#define MAX_FIELDS       16u

/* ---- spans ------------------------------------------------------------ */

struct span {
	const char *p;
	size_t n;
};

static bool sp_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool sp_starts(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

static struct span sp_from(struct span s, size_t i)
{
	if (i > s.n)
		i = s.n;
	return (struct span){s.p + i, s.n - i};
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span sp_ltrim(struct span s)
{
	size_t i = 0;
	while (i < s.n && is_blank(s.p[i]))
		i++;
	return sp_from(s, i);
}

static struct span sp_rtrim(struct span s)
{
	while (s.n > 0 && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Split off the first whitespace-delimited token; *rest starts right after
 * it (at the separating blank, if any). */
static struct span sp_token(struct span s, struct span *rest)
{
	s = sp_ltrim(s);
	size_t i = 0;
	while (i < s.n && !is_blank(s.p[i]))
		i++;
	if (rest)
		*rest = sp_from(s, i);
	return (struct span){s.p, i};
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decimal, or hex with a 0x prefix ("0x0040"); the whole token must be the
 * number and it must not exceed max. */
static bool parse_uint(struct span t, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	size_t i = 0;
	unsigned base = 10;

	if (t.n > 2 && t.p[0] == '0' && (t.p[1] == 'x' || t.p[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i >= t.n)
		return false;
	for (; i < t.n; i++) {
		int d = base == 16 ? hexval(t.p[i])
		                   : (t.p[i] >= '0' && t.p[i] <= '9' ? t.p[i] - '0' : -1);
		if (d < 0 || (uint32_t)d > max)
			return false;
		/* checked before multiplying so a long digit string cannot wrap */
		if (v > (max - (uint32_t)d) / base)
			return false;
		v = v * base + (uint32_t)d;
	}
	*out = v;
	return true;
}

/* lsusb prints BCD as "%2x.%02x": "2.00" is 0x0200, "1.1a" is 0x011a. */
static bool parse_bcd(struct span t, uint32_t *out)
{
	size_t dot = 0;
	while (dot < t.n && t.p[dot] != '.')
		dot++;
	if (dot == 0 || dot > 2 || t.n != dot + 3)
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (i == dot)
			continue;
		int d = hexval(t.p[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF,
 * no NUL - the mock server turns these strings into UTF-16 descriptors. */
static bool utf8_valid(struct span s)
{
	size_t i = 0;
	while (i < s.n) {
		uint8_t c = (uint8_t)s.p[i];
		uint32_t cp;
		size_t n;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			n = 1;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			n = 2;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07;
			n = 3;
		} else {
			return false;
		}
		if (s.n - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			uint8_t cc = (uint8_t)s.p[i + k];
			if ((cc & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (cc & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000))
			return false;
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- block tables ----------------------------------------------------- */

enum fkind {
	F_NUM,    /* decimal or 0x hex, then an optional name */
	F_BCD,    /* "2.00" */
	F_STR,    /* string index, one space, the text */
	F_MA,     /* "100mA" */
	F_EPADDR, /* "0x81  EP 1 IN" */
	F_MPS,    /* "0x0040  1x 64 bytes" */
	F_LIST,   /* "1 2 " (Union slaves) */
};

struct fspec {
	const char *name;
	uint8_t kind;
	bool optional;
	uint32_t max;
};

enum blk {
	B_NONE,
	B_DEVICE,
	B_CONFIG,
	B_IAD,
	B_INTF,
	B_EP,
	B_CDC_HDR,
	B_CDC_CM,
	B_CDC_ACM,
	B_CDC_UNION,
};

/* Field order in each table is the index used by the encoders below. */
static const struct fspec f_device[] = {
    {"bLength", F_NUM, false, 255},         {"bDescriptorType", F_NUM, false, 255},
    {"bcdUSB", F_BCD, false, 0xffff},       {"bDeviceClass", F_NUM, false, 255},
    {"bDeviceSubClass", F_NUM, false, 255}, {"bDeviceProtocol", F_NUM, false, 255},
    {"bMaxPacketSize0", F_NUM, false, 255}, {"idVendor", F_NUM, false, 0xffff},
    {"idProduct", F_NUM, false, 0xffff},    {"bcdDevice", F_BCD, false, 0xffff},
    {"iManufacturer", F_STR, false, 255},   {"iProduct", F_STR, false, 255},
    {"iSerial", F_STR, false, 255},         {"bNumConfigurations", F_NUM, false, 255},
};

static const struct fspec f_config[] = {
    {"bLength", F_NUM, false, 255},
    {"bDescriptorType", F_NUM, false, 255},
    {"wTotalLength", F_NUM, false, 0xffff},
    {"bNumInterfaces", F_NUM, false, 255},
    {"bConfigurationValue", F_NUM, false, 255},
    {"iConfiguration", F_STR, false, 255},
    {"bmAttributes", F_NUM, false, 255},
    {"MaxPower", F_MA, false, 255 * 8},
};

static const struct fspec f_iad[] = {
    {"bLength", F_NUM, false, 255},           {"bDescriptorType", F_NUM, false, 255},
    {"bFirstInterface", F_NUM, false, 255},   {"bInterfaceCount", F_NUM, false, 255},
    {"bFunctionClass", F_NUM, false, 255},    {"bFunctionSubClass", F_NUM, false, 255},
    {"bFunctionProtocol", F_NUM, false, 255}, {"iFunction", F_STR, false, 255},
};

static const struct fspec f_intf[] = {
    {"bLength", F_NUM, false, 255},
    {"bDescriptorType", F_NUM, false, 255},
    {"bInterfaceNumber", F_NUM, false, 255},
    {"bAlternateSetting", F_NUM, false, 255},
    {"bNumEndpoints", F_NUM, false, 255},
    {"bInterfaceClass", F_NUM, false, 255},
    {"bInterfaceSubClass", F_NUM, false, 255},
    {"bInterfaceProtocol", F_NUM, false, 255},
    {"iInterface", F_STR, false, 255},
};

static const struct fspec f_ep[] = {
    {"bLength", F_NUM, false, 255},
    {"bDescriptorType", F_NUM, false, 255},
    {"bEndpointAddress", F_EPADDR, false, 255},
    {"bmAttributes", F_NUM, false, 255},
    {"wMaxPacketSize", F_MPS, false, 0xffff},
    {"bInterval", F_NUM, false, 255},
    {"bRefresh", F_NUM, true, 255},
    {"bSynchAddress", F_NUM, true, 255},
};

static const struct fspec f_cdc_hdr[] = {
    {"bcdCDC", F_BCD, false, 0xffff},
};

static const struct fspec f_cdc_cm[] = {
    {"bmCapabilities", F_NUM, false, 255},
    {"bDataInterface", F_NUM, false, 255},
};

static const struct fspec f_cdc_acm[] = {
    {"bmCapabilities", F_NUM, false, 255},
};

static const struct fspec f_cdc_union[] = {
    {"bMasterInterface", F_NUM, false, 255},
    {"bSlaveInterface", F_LIST, false, 255},
};

struct blkinfo {
	const struct fspec *f;
	unsigned nf;
	unsigned field_indent;
};

#define BLK(tab, ind)                                                                              \
	{                                                                                          \
		tab, sizeof(tab) / sizeof((tab)[0]), ind                                           \
	}
static const struct blkinfo blkinfo[] = {
    [B_NONE] = {NULL, 0, 0},         [B_DEVICE] = BLK(f_device, 2),
    [B_CONFIG] = BLK(f_config, 4),   [B_IAD] = BLK(f_iad, 6),
    [B_INTF] = BLK(f_intf, 6),       [B_EP] = BLK(f_ep, 8),
    [B_CDC_HDR] = BLK(f_cdc_hdr, 8), [B_CDC_CM] = BLK(f_cdc_cm, 8),
    [B_CDC_ACM] = BLK(f_cdc_acm, 8), [B_CDC_UNION] = BLK(f_cdc_union, 8),
};

/* ---- parser state ----------------------------------------------------- */

enum section { SEC_PRE, SEC_DEVICE, SEC_POST };

struct pstate {
	struct lsusb_device *out;
	unsigned line;
	unsigned err_line;
	enum section sec;

	bool seen_bus;
	uint16_t bus_vid, bus_pid;
	unsigned bus_line;
	unsigned device_line;
	bool have_device;
	uint16_t bcd_usb;
	uint8_t mps0;
	uint8_t num_configs_text;
	bool qualifier;
	uint8_t speed_line; /* from "Negotiated speed:", 0 if none */
	bool bulk_512, bulk_small;

	/* the block being collected */
	enum blk blk;
	unsigned blk_line;
	uint32_t seen;
	uint32_t val[MAX_FIELDS];
	int ep_ttype; /* "Transfer Type" detail, -1 if absent */
	uint8_t slaves[MAX_UNION_SLAVES];
	unsigned nslaves;

	/* lines deeper than skip_indent belong to a block we drop */
	bool skipping;
	unsigned skip_indent;

	/* the configuration being emitted */
	bool in_config;
	unsigned cfg_line;
	uint16_t cfg_len;
	uint8_t cfg_num_intf;
	uint8_t intf_nums[32]; /* bitmap of bInterfaceNumber values seen */
	unsigned n_intf_desc, n_iads;
	bool intf_open;
	unsigned intf_line;
	uint8_t intf_eps_expected, intf_eps;
};

static int fail(struct pstate *s, int err, unsigned line)
{
	s->err_line = line;
	return err;
}

static int emit(struct pstate *s, const uint8_t *b, size_t n, unsigned line)
{
	if (n > LSUSB_MAX_CONFIG_LEN - s->cfg_len)
		return fail(s, -E2BIG, line);
	memcpy(s->out->config[s->out->num_configs].bytes + s->cfg_len, b, n);
	s->cfg_len = (uint16_t)(s->cfg_len + n);
	return 0;
}

static int add_string(struct pstate *s, uint8_t index, struct span text)
{
	struct lsusb_device *d = s->out;

	if (index == 0 || text.n == 0)
		return 0;
	if (text.n > LSUSB_MAX_STRING_LEN)
		return fail(s, -E2BIG, s->line);
	if (!utf8_valid(text))
		return fail(s, -EPROTO, s->line);
	for (unsigned i = 0; i < d->num_strings; i++) {
		if (d->strings[i].index != index)
			continue;
		/* one index, one descriptor: two texts cannot both be true */
		if (strlen(d->strings[i].text) != text.n ||
		    memcmp(d->strings[i].text, text.p, text.n))
			return fail(s, -EPROTO, s->line);
		return 0;
	}
	if (d->num_strings >= LSUSB_MAX_STRINGS)
		return fail(s, -E2BIG, s->line);
	struct lsusb_string *st = &d->strings[d->num_strings++];
	st->index = index;
	memcpy(st->text, text.p, text.n);
	st->text[text.n] = '\0';
	return 0;
}

/* ---- block encoders --------------------------------------------------- */

static bool got(const struct pstate *s, unsigned i)
{
	return (s->seen >> i) & 1u;
}

static int end_interface(struct pstate *s)
{
	if (!s->intf_open)
		return 0;
	s->intf_open = false;
	/* lsusb prints exactly bNumEndpoints endpoints: fewer means the text
	 * was cut, and the bytes would disagree with the header */
	if (s->intf_eps != s->intf_eps_expected)
		return fail(s, -EPROTO, s->intf_line);
	return 0;
}

static int enc_device(struct pstate *s)
{
	const uint32_t *v = s->val;
	uint8_t *b = s->out->device_desc;

	if (v[0] != USB_DT_DEVICE_SIZE || v[1] != USB_DT_DEVICE)
		return fail(s, -EPROTO, s->blk_line);
	uint32_t mps0 = v[6];
	bool mps_ok =
	    mps0 == 8 || mps0 == 16 || mps0 == 32 || mps0 == 64 || (mps0 == 9 && v[2] >= 0x0300);
	if (!mps_ok || v[13] == 0)
		return fail(s, -EPROTO, s->blk_line);
	if (s->seen_bus && (s->bus_vid != v[7] || s->bus_pid != v[8]))
		return fail(s, -EPROTO, s->bus_line);

	b[0] = USB_DT_DEVICE_SIZE;
	b[1] = USB_DT_DEVICE;
	put_le16(b + 2, (uint16_t)v[2]);
	b[4] = (uint8_t)v[3];
	b[5] = (uint8_t)v[4];
	b[6] = (uint8_t)v[5];
	b[7] = (uint8_t)v[6];
	put_le16(b + 8, (uint16_t)v[7]);
	put_le16(b + 10, (uint16_t)v[8]);
	put_le16(b + 12, (uint16_t)v[9]);
	b[14] = (uint8_t)v[10];
	b[15] = (uint8_t)v[11];
	b[16] = (uint8_t)v[12];
	b[17] = (uint8_t)v[13];
	s->have_device = true;
	s->bcd_usb = (uint16_t)v[2];
	s->mps0 = (uint8_t)v[6];
	s->num_configs_text = (uint8_t)v[13];
	return 0;
}

static int enc_config(struct pstate *s)
{
	const uint32_t *v = s->val;
	uint8_t b[USB_DT_CONFIG_SIZE];

	if (v[0] != USB_DT_CONFIG_SIZE || v[1] != USB_DT_CONFIG)
		return fail(s, -EPROTO, s->blk_line);
	/* lsusb prints bMaxPower in mA: units of 8 mA from USB 3.0 on, else 2 */
	uint32_t unit = s->bcd_usb >= 0x0300 ? 8 : 2;
	if (v[7] % unit != 0 || v[7] / unit > 255)
		return fail(s, -EPROTO, s->blk_line);

	b[0] = USB_DT_CONFIG_SIZE;
	b[1] = USB_DT_CONFIG;
	put_le16(b + 2, 0); /* patched in end_config */
	b[4] = (uint8_t)v[3];
	b[5] = (uint8_t)v[4];
	b[6] = (uint8_t)v[5];
	b[7] = (uint8_t)v[6];
	b[8] = (uint8_t)(v[7] / unit);
	s->in_config = true;
	s->cfg_line = s->blk_line;
	s->cfg_len = 0;
	s->cfg_num_intf = (uint8_t)v[3];
	memset(s->intf_nums, 0, sizeof(s->intf_nums));
	s->n_intf_desc = 0;
	s->n_iads = 0;
	s->intf_open = false;
	s->out->config[s->out->num_configs].text_total_len = (uint16_t)v[2];
	return emit(s, b, sizeof(b), s->blk_line);
}

static int enc_iad(struct pstate *s)
{
	const uint32_t *v = s->val;
	uint8_t b[USB_DT_IAD_SIZE];

	if (v[0] != USB_DT_IAD_SIZE || v[1] != USB_DT_INTERFACE_ASSOCIATION)
		return fail(s, -EPROTO, s->blk_line);
	/* usb_desc keeps a fixed table: a blob it refuses is of no use */
	if (++s->n_iads > USB_DESC_MAX_IADS)
		return fail(s, -E2BIG, s->blk_line);
	b[0] = USB_DT_IAD_SIZE;
	b[1] = USB_DT_INTERFACE_ASSOCIATION;
	for (unsigned i = 2; i < 8; i++)
		b[i] = (uint8_t)v[i];
	return emit(s, b, sizeof(b), s->blk_line);
}

static int enc_intf(struct pstate *s)
{
	const uint32_t *v = s->val;
	uint8_t b[USB_DT_INTERFACE_SIZE];

	if (v[0] != USB_DT_INTERFACE_SIZE || v[1] != USB_DT_INTERFACE)
		return fail(s, -EPROTO, s->blk_line);
	if (++s->n_intf_desc > USB_DESC_MAX_INTERFACES || v[4] > USB_DESC_MAX_ENDPOINTS)
		return fail(s, -E2BIG, s->blk_line);
	b[0] = USB_DT_INTERFACE_SIZE;
	b[1] = USB_DT_INTERFACE;
	for (unsigned i = 2; i < 9; i++)
		b[i] = (uint8_t)v[i];
	s->intf_nums[v[2] / 8] |= (uint8_t)(1u << (v[2] % 8));
	s->intf_open = true;
	s->intf_line = s->blk_line;
	s->intf_eps_expected = (uint8_t)v[4];
	s->intf_eps = 0;
	return emit(s, b, sizeof(b), s->blk_line);
}

static int enc_ep(struct pstate *s)
{
	const uint32_t *v = s->val;
	uint8_t b[9];
	size_t n = v[0];

	if ((n != 7 && n != 9) || v[1] != USB_DT_ENDPOINT)
		return fail(s, -EPROTO, s->blk_line);
	/* audio-style 9-byte endpoints print two more fields, others do not */
	if ((n == 9) != (got(s, 6) && got(s, 7)) || (n == 7 && (got(s, 6) || got(s, 7))))
		return fail(s, -EPROTO, s->blk_line);
	if (s->ep_ttype >= 0 && (uint32_t)s->ep_ttype != (v[3] & 3))
		return fail(s, -EPROTO, s->blk_line);
	if ((v[2] & 0x0f) == 0 || (v[2] & 0x70) != 0)
		return fail(s, -EPROTO, s->blk_line);
	if (++s->intf_eps > s->intf_eps_expected)
		return fail(s, -EPROTO, s->blk_line);
	b[0] = (uint8_t)n;
	b[1] = USB_DT_ENDPOINT;
	b[2] = (uint8_t)v[2];
	b[3] = (uint8_t)v[3];
	put_le16(b + 4, (uint16_t)v[4]);
	b[6] = (uint8_t)v[5];
	b[7] = (uint8_t)v[6];
	b[8] = (uint8_t)v[7];
	if ((v[3] & 3) == USB_EP_BULK) {
		/* bulk packets are exactly 512 at high speed, at most 64 at full */
		if ((v[4] & 0x7ff) == 512)
			s->bulk_512 = true;
		else if ((v[4] & 0x7ff) <= 64)
			s->bulk_small = true;
	}
	return emit(s, b, n, s->blk_line);
}

static int enc_cdc(struct pstate *s, enum blk k)
{
	const uint32_t *v = s->val;
	uint8_t b[4 + MAX_UNION_SLAVES];
	size_t n;

	b[1] = USB_DT_CS_INTERFACE;
	switch (k) {
	case B_CDC_HDR:
		n = 5;
		b[2] = 0x00;
		put_le16(b + 3, (uint16_t)v[0]);
		break;
	case B_CDC_CM:
		n = 5;
		b[2] = 0x01;
		b[3] = (uint8_t)v[0];
		b[4] = (uint8_t)v[1];
		break;
	case B_CDC_ACM:
		n = 4;
		b[2] = 0x02;
		b[3] = (uint8_t)v[0];
		break;
	default: /* B_CDC_UNION */
		n = 4 + s->nslaves;
		b[2] = 0x06;
		b[3] = (uint8_t)v[0];
		memcpy(b + 4, s->slaves, s->nslaves);
		break;
	}
	b[0] = (uint8_t)n;
	return emit(s, b, n, s->blk_line);
}

static int flush_block(struct pstate *s)
{
	enum blk k = s->blk;
	if (k == B_NONE)
		return 0;
	s->blk = B_NONE;

	const struct blkinfo *bi = &blkinfo[k];
	for (unsigned i = 0; i < bi->nf; i++)
		if (!bi->f[i].optional && !got(s, i))
			return fail(s, -EPROTO, s->blk_line);

	switch (k) {
	case B_DEVICE:
		return enc_device(s);
	case B_CONFIG:
		return enc_config(s);
	case B_IAD:
		return enc_iad(s);
	case B_INTF:
		return enc_intf(s);
	case B_EP:
		return enc_ep(s);
	default:
		return enc_cdc(s, k);
	}
}

static int end_config(struct pstate *s)
{
	int r = flush_block(s);
	if (r < 0)
		return r;
	if (!s->in_config)
		return 0;
	r = end_interface(s);
	if (r < 0)
		return r;
	s->in_config = false;

	unsigned distinct = 0;
	for (unsigned i = 0; i < sizeof(s->intf_nums); i++)
		distinct += (unsigned)__builtin_popcount(s->intf_nums[i]);
	if (distinct != s->cfg_num_intf)
		return fail(s, -EPROTO, s->cfg_line);

	struct lsusb_device *d = s->out;
	put_le16(d->config[d->num_configs].bytes + 2, s->cfg_len);
	d->config[d->num_configs].len = s->cfg_len;
	d->num_configs++;
	return 0;
}

static int end_device(struct pstate *s)
{
	int r = end_config(s);
	if (r < 0)
		return r;
	s->sec = SEC_POST;
	return 0;
}

static void start_block(struct pstate *s, enum blk k)
{
	s->blk = k;
	s->blk_line = s->line;
	s->seen = 0;
	memset(s->val, 0, sizeof(s->val));
	s->ep_ttype = -1;
	s->nslaves = 0;
}

/* ---- line handlers ---------------------------------------------------- */

/* raw is the line after its indent, trailing blanks kept (string texts). */
static int parse_field(struct pstate *s, struct span raw)
{
	const struct blkinfo *bi = &blkinfo[s->blk];
	struct span rest;
	struct span name = sp_token(raw, &rest);
	unsigned i;

	for (i = 0; i < bi->nf; i++)
		if (sp_eq(name, bi->f[i].name))
			break;
	if (i == bi->nf)
		return 0; /* a field we do not need ("Warning: ...", newer lsusb) */
	if (got(s, i))
		return fail(s, -EPROTO, s->line);
	s->seen |= 1u << i;

	const struct fspec *f = &bi->f[i];
	struct span after;
	struct span tok = sp_token(rest, &after);
	uint32_t v = 0;

	switch (f->kind) {
	case F_NUM:
		if (!parse_uint(tok, f->max, &v))
			return fail(s, -EPROTO, s->line);
		break;
	case F_BCD:
		if (!parse_bcd(tok, &v))
			return fail(s, -EPROTO, s->line);
		break;
	case F_STR: {
		if (!parse_uint(tok, f->max, &v))
			return fail(s, -EPROTO, s->line);
		/* "%5u %s": the text is everything after exactly one blank */
		struct span text = after.n > 0 ? sp_from(after, 1) : after;
		int r = add_string(s, (uint8_t)v, text);
		if (r < 0)
			return r;
		break;
	}
	case F_MA: {
		if (tok.n < 3 || tok.p[tok.n - 2] != 'm' || tok.p[tok.n - 1] != 'A')
			return fail(s, -EPROTO, s->line);
		tok.n -= 2;
		if (!parse_uint(tok, f->max, &v))
			return fail(s, -EPROTO, s->line);
		break;
	}
	case F_EPADDR: {
		if (!parse_uint(tok, f->max, &v))
			return fail(s, -EPROTO, s->line);
		/* "EP 1 IN" is redundant; when present it must agree */
		struct span r2, r3;
		struct span ep = sp_token(after, &r2);
		if (ep.n == 0)
			break;
		struct span num = sp_token(r2, &r3);
		struct span dir = sp_token(r3, NULL);
		uint32_t n;
		bool in = (v & USB_EP_DIR_IN) != 0;
		if (!sp_eq(ep, "EP") || !parse_uint(num, 15, &n) || n != (v & 0x0f) ||
		    !sp_eq(dir, in ? "IN" : "OUT"))
			return fail(s, -EPROTO, s->line);
		break;
	}
	case F_MPS: {
		if (!parse_uint(tok, f->max, &v))
			return fail(s, -EPROTO, s->line);
		/* "1x 64 bytes": transactions per microframe and the size */
		struct span r2, r3;
		struct span mult = sp_token(after, &r2);
		if (mult.n == 0)
			break;
		struct span size = sp_token(r2, &r3);
		struct span unit = sp_token(r3, NULL);
		uint32_t hb = (v >> 11) & 3, sz;
		bool mult_ok =
		    hb == 3 ? sp_eq(mult, "(?\?)")
		            : (mult.n == 2 && mult.p[0] == (char)('1' + hb) && mult.p[1] == 'x');
		if (!mult_ok || !parse_uint(size, 0x7ff, &sz) || sz != (v & 0x7ff) ||
		    !sp_eq(unit, "bytes"))
			return fail(s, -EPROTO, s->line);
		break;
	}
	case F_LIST: {
		struct span r = rest;
		for (;;) {
			struct span t = sp_token(r, &r);
			if (t.n == 0)
				break;
			uint32_t n;
			if (!parse_uint(t, 255, &n))
				return fail(s, -EPROTO, s->line);
			if (s->nslaves >= MAX_UNION_SLAVES)
				return fail(s, -E2BIG, s->line);
			s->slaves[s->nslaves++] = (uint8_t)n;
		}
		if (s->nslaves == 0)
			return fail(s, -EPROTO, s->line);
		break;
	}
	}
	s->val[i] = v;
	return 0;
}

static int parse_detail(struct pstate *s, struct span body)
{
	static const char *const ttype[] = {"Control", "Isochronous", "Bulk", "Interrupt"};

	if (s->blk != B_EP || !sp_starts(body, "Transfer Type"))
		return 0;
	struct span word = sp_token(sp_from(body, strlen("Transfer Type")), NULL);
	for (int i = 0; i < 4; i++) {
		if (sp_eq(word, ttype[i])) {
			s->ep_ttype = i;
			return 0;
		}
	}
	return fail(s, -EPROTO, s->line);
}

/* Lines lsusb uses for descriptors it cannot decode: the bytes follow. */
static bool hexdump_prefix(struct span body, struct span *bytes)
{
	static const char *const fixed[] = {
	    "** UNRECOGNIZED:",
	    "UNRECOGNIZED CDC:",
	    "INTERFACE CLASS:",
	    "DEVICE CLASS:",
	};
	for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (sp_starts(body, fixed[i])) {
			*bytes = sp_from(body, strlen(fixed[i]));
			return true;
		}
	}
	if (sp_starts(body, "INVALID CDC (")) {
		for (size_t i = 0; i + 1 < body.n; i++) {
			if (body.p[i] == ')' && body.p[i + 1] == ':') {
				*bytes = sp_from(body, i + 2);
				return true;
			}
		}
	}
	return false;
}

static int parse_hexdump(struct pstate *s, struct span bytes)
{
	uint8_t b[255];
	size_t n = 0;

	if (!s->in_config)
		return fail(s, -EPROTO, s->line);
	for (;;) {
		struct span t = sp_token(bytes, &bytes);
		if (t.n == 0)
			break;
		int hi, lo;
		if (t.n != 2 || (hi = hexval(t.p[0])) < 0 || (lo = hexval(t.p[1])) < 0)
			return fail(s, -EPROTO, s->line);
		if (n >= sizeof(b))
			return fail(s, -EPROTO, s->line);
		b[n++] = (uint8_t)(hi << 4 | lo);
	}
	/* a dump is one whole descriptor: bLength covers exactly the bytes.
	 * The standard types are never dumped (lsusb decodes them), and
	 * pasting one in would change the structure usb_desc sees. */
	if (n < 2 || b[0] != n)
		return fail(s, -EPROTO, s->line);
	switch (b[1]) {
	case USB_DT_DEVICE:
	case USB_DT_CONFIG:
	case USB_DT_INTERFACE:
	case USB_DT_ENDPOINT:
	case USB_DT_INTERFACE_ASSOCIATION:
		return fail(s, -EPROTO, s->line);
	}
	int r = flush_block(s);
	if (r < 0)
		return r;
	return emit(s, b, n, s->line);
}

struct heading {
	unsigned indent;
	const char *text;
	enum blk blk;
};

static const struct heading headings[] = {
    {2, "Configuration Descriptor:", B_CONFIG},
    {4, "Interface Association:", B_IAD},
    {4, "Interface Descriptor:", B_INTF},
    {6, "Endpoint Descriptor:", B_EP},
    {6, "CDC Header:", B_CDC_HDR},
    {6, "CDC Call Management:", B_CDC_CM},
    {6, "CDC ACM:", B_CDC_ACM},
    {6, "CDC Union:", B_CDC_UNION},
};

static int start_heading(struct pstate *s, enum blk k)
{
	int r;

	switch (k) {
	case B_CONFIG:
		r = end_config(s);
		if (r < 0)
			return r;
		if (!s->have_device)
			return fail(s, -EPROTO, s->line);
		if (s->out->num_configs >= LSUSB_MAX_CONFIGS)
			return fail(s, -E2BIG, s->line);
		break;
	case B_IAD:
	case B_INTF:
		r = flush_block(s);
		if (r < 0)
			return r;
		if (!s->in_config)
			return fail(s, -EPROTO, s->line);
		r = end_interface(s);
		if (r < 0)
			return r;
		break;
	default: /* endpoint and CDC blocks live inside an interface */
		r = flush_block(s);
		if (r < 0)
			return r;
		if (!s->in_config || !s->intf_open)
			return fail(s, -EPROTO, s->line);
		break;
	}
	start_block(s, k);
	return 0;
}

static int device_line(struct pstate *s, unsigned indent, struct span body, struct span raw)
{
	struct span bytes;

	if (s->skipping) {
		if (indent > s->skip_indent)
			return 0;
		s->skipping = false;
	}
	if (hexdump_prefix(body, &bytes))
		return parse_hexdump(s, bytes);
	/* trailing bytes beyond a decoded descriptor have no place to go */
	if (sp_starts(body, "junk at descriptor end:"))
		return 0;
	for (unsigned i = 0; i < sizeof(headings) / sizeof(headings[0]); i++)
		if (indent == headings[i].indent && sp_eq(body, headings[i].text))
			return start_heading(s, headings[i].blk);

	unsigned fi = blkinfo[s->blk].field_indent;
	if (s->blk != B_NONE && indent > fi)
		return parse_detail(s, body);
	if (body.p[body.n - 1] == ':') {
		/* a block we cannot re-encode (HID, audio, DFU, CDC Ethernet...):
		 * drop it and everything indented below it */
		int r = flush_block(s);
		if (r < 0)
			return r;
		s->skipping = true;
		s->skip_indent = indent;
		return 0;
	}
	if (s->blk != B_NONE && indent == fi)
		return parse_field(s, raw);
	return fail(s, -EPROTO, s->line);
}

static int parse_bus(struct pstate *s, struct span body)
{
	/* "Bus 001 Device 002: ID 2e8a:000a Raspberry Pi Pico" */
	struct span r;
	struct span t = sp_token(body, &r); /* "Bus" */
	struct span bus = sp_token(r, &r);
	struct span dev = sp_token(r, &r);
	struct span devnum = sp_token(r, &r);
	struct span id = sp_token(r, &r);
	struct span vidpid = sp_token(r, NULL);
	uint32_t b, d, vid, pid;

	(void)t;
	if (!sp_eq(dev, "Device") || devnum.n < 2 || devnum.p[devnum.n - 1] != ':')
		return fail(s, -EPROTO, s->line);
	devnum.n--;
	if (!parse_uint(bus, 255, &b) || !parse_uint(devnum, 255, &d) || b == 0 || d == 0)
		return fail(s, -EPROTO, s->line);
	if (!sp_eq(id, "ID") || vidpid.n != 9 || vidpid.p[4] != ':')
		return fail(s, -EPROTO, s->line);
	vid = pid = 0;
	for (int i = 0; i < 4; i++) {
		int h1 = hexval(vidpid.p[i]), h2 = hexval(vidpid.p[5 + i]);
		if (h1 < 0 || h2 < 0)
			return fail(s, -EPROTO, s->line);
		vid = vid << 4 | (uint32_t)h1;
		pid = pid << 4 | (uint32_t)h2;
	}
	s->seen_bus = true;
	s->bus_line = s->line;
	s->out->busnum = (uint8_t)b;
	s->out->devnum = (uint8_t)d;
	s->bus_vid = (uint16_t)vid;
	s->bus_pid = (uint16_t)pid;
	return 0;
}

static void parse_speed(struct pstate *s, struct span body)
{
	struct span v = sp_ltrim(sp_from(body, strlen("Negotiated speed:")));

	/* newer usbutils: "High Speed (480Mbps)", "SuperSpeed+ (10Gbps)" ... */
	if (sp_starts(v, "Low Speed"))
		s->speed_line = SPEED_LOW;
	else if (sp_starts(v, "Full Speed"))
		s->speed_line = SPEED_FULL;
	else if (sp_starts(v, "High Speed"))
		s->speed_line = SPEED_HIGH;
	else if (sp_starts(v, "SuperSpeed+") || sp_starts(v, "SuperSpeed Plus"))
		s->speed_line = SPEED_SUPER_PLUS;
	else if (sp_starts(v, "SuperSpeed"))
		s->speed_line = SPEED_SUPER;
	/* "Unknown Speed" and anything else: fall back to the derivation */
}

static int top_line(struct pstate *s, struct span body)
{
	if (sp_starts(body, "Bus ")) {
		/* a second device in the text, or a Bus line after our device */
		if (s->seen_bus || s->sec != SEC_PRE)
			return fail(s, -EINVAL, s->line);
		return parse_bus(s, body);
	}
	if (sp_eq(body, "Device Descriptor:")) {
		if (s->sec != SEC_PRE)
			return fail(s, -EINVAL, s->line);
		s->sec = SEC_DEVICE;
		s->device_line = s->line;
		start_block(s, B_DEVICE);
		return 0;
	}
	if (sp_starts(body, "Negotiated speed:")) {
		parse_speed(s, body);
		return 0;
	}
	/* stderr noise may land anywhere when 2>&1 is used */
	if (sp_starts(body, "Couldn't ") || sp_starts(body, "can't ") || sp_starts(body, "cannot "))
		return 0;
	if (sp_starts(body, "Device Qualifier"))
		s->qualifier = true;
	/* Device Qualifier, Binary Object Store, Device Status, ...: the
	 * descriptor part is over; their indented lines are ignored below */
	if (s->sec == SEC_DEVICE)
		return end_device(s);
	return 0;
}

static int parse_lines(struct pstate *s, const char *text, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		struct span l = {text + pos, end - pos};
		pos = end < len ? end + 1 : end;
		s->line++;

		if (memchr(l.p, '\0', l.n))
			return fail(s, -EINVAL, s->line);
		if (l.n > 0 && l.p[l.n - 1] == '\r')
			l.n--;
		unsigned indent = 0;
		while (indent < l.n && l.p[indent] == ' ')
			indent++;
		/* headings and numbers use the trimmed form; string texts keep
		 * their trailing blanks */
		struct span raw = sp_from(l, indent);
		struct span body = sp_rtrim(raw);
		if (body.n == 0)
			continue;

		int r;
		if (indent == 0)
			r = top_line(s, body);
		else if (s->sec != SEC_DEVICE)
			r = 0; /* inside a skipped top-level block, or a prompt */
		else
			r = device_line(s, indent, body, raw);
		if (r < 0)
			return r;
	}
	return 0;
}

int lsusb_parse(const char *text, size_t len, struct lsusb_device *out, unsigned *err_line)
{
	struct pstate s;
	int r;

	if (err_line)
		*err_line = 0;
	if (!out || (!text && len))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.out = out;
	s.ep_ttype = -1;

	r = parse_lines(&s, text, len);
	if (r == 0 && s.sec == SEC_PRE)
		r = fail(&s, -EINVAL, 0);
	if (r == 0 && s.sec == SEC_DEVICE)
		r = end_device(&s);
	if (r == 0 && !s.have_device)
		r = fail(&s, -EPROTO, s.device_line);
	if (r == 0 && out->num_configs != s.num_configs_text)
		r = fail(&s, -EPROTO, s.device_line);
	if (r < 0) {
		if (err_line)
			*err_line = s.err_line;
		return r;
	}

	if (s.speed_line)
		out->speed = s.speed_line;
	else if (s.bcd_usb >= 0x0300)
		out->speed = SPEED_SUPER;
	else if (s.bulk_512)
		out->speed = SPEED_HIGH;
	else if (s.bulk_small)
		out->speed = SPEED_FULL;
	else if (s.qualifier && s.bcd_usb >= 0x0200 && s.mps0 == 64)
		out->speed = SPEED_HIGH;
	else
		out->speed = SPEED_FULL;
	return 0;
}

const char *lsusb_parse_string(const struct lsusb_device *d, uint8_t index)
{
	if (!d || index == 0)
		return NULL;
	for (unsigned i = 0; i < d->num_strings && i < LSUSB_MAX_STRINGS; i++)
		if (d->strings[i].index == index)
			return d->strings[i].text;
	return NULL;
}
