/* SPDX-License-Identifier: MIT */
/*
 * pl2303 - Prolific PL2303 USB UARTs (level 0).  Facts from Linux 6.1
 * pl2303 (Prolific's register documentation is not public; the kernel's
 * driver is what these parts are known to work with).
 */
#include "pl2303.h"

#include <errno.h>
#include <string.h>

#include "byteorder.h"
#include "serial_match.h"

#define Q_STATE_IDX0    0x01u /* UART state at offset 0 */
#define Q_ENDPOINT_HACK 0x02u /* interrupt endpoint may sit on the first interface */

/* Prolific's own PIDs and a few well-known clones with quirks (the kernel
 * lists about ninety products, not all repeated here). */
static const struct serial_match_id pl2303_ids[] = {
    {0x067b, 0x2303, Q_ENDPOINT_HACK}, /* PL2303 H/HX/HXD/TA */
    {0x067b, 0x2304, 0},               /* PL2303TB */
    {0x067b, 0x23a3, 0},               /* PL2303GC */
    {0x067b, 0x23b3, 0},               /* PL2303GB */
    {0x067b, 0x23c3, 0},               /* PL2303GT */
    {0x067b, 0x23d3, 0},               /* PL2303GL */
    {0x067b, 0x23e3, 0},               /* PL2303GE */
    {0x067b, 0x23f3, 0},               /* PL2303GS */
    {0x0557, 0x2008, Q_ENDPOINT_HACK}, /* ATEN UC232A */
    {0x11f5, 0x0001, Q_STATE_IDX0},    /* Siemens SX1 */
    {0x11f5, 0x0003, Q_STATE_IDX0},    /* Siemens X65 */
    {0x11f5, 0x0004, Q_STATE_IDX0},    /* Siemens X75 */
};

/* priv[0]: flags and the HXN flow register; priv[1..2]: the 7 bytes of
 * the last line request sent (re-sending the same one loses bytes on some
 * parts, so the kernel does not, and neither do we). */
#define PRIV_STATE      0
#define PRIV_LINE       1
#define F_HAVE_FLOWREG  0x0100u /* identify answered */
#define F_FLOWREG_VALID 0x0200u /* bits 0..7 hold the flow register */
#define F_LINE_VALID    0x0400u /* priv[1..2] hold what the chip has */
#define FLOWREG_MASK    0x00ffu

/* Register 0 after init: the init sequence writes 1 to it. */
#define REG0_AFTER_INIT 0x01u

enum { TAG_HX_STATUS = 1, TAG_FLOWREG };

/* ---- chip type ----------------------------------------------------------------- */

unsigned pl2303_chip_from_desc(const struct usb_device_desc *dd)
{
	if (dd->bDeviceClass == 0x02 || dd->bMaxPacketSize0 != 0x40)
		return PL2303_TYPE_H;
	switch (dd->bcdUSB) {
	case 0x0101: /* USB 1.0.1: taken as 1.1, as the kernel does */
	case 0x0110:
		return dd->bcdDevice == 0x0400 ? PL2303_TYPE_HXD : PL2303_TYPE_HX;
	case 0x0200:
		switch (dd->bcdDevice) {
		case 0x0300:
			return PL2303_TYPE_TA | PL2303_CHIP_UNSURE; /* TA or GT */
		case 0x0500:
			return PL2303_TYPE_TB | PL2303_CHIP_UNSURE; /* TB or GE */
		case 0x0100:                                        /* GC */
		case 0x0105:
		case 0x0305:
		case 0x0400: /* GL */
		case 0x0405:
		case 0x0505:
		case 0x0600: /* GS */
		case 0x0605:
		case 0x0700: /* GR */
		case 0x0705:
			return PL2303_TYPE_HXN;
		}
		break;
	}
	return 0;
}

/* ---- baud rates ------------------------------------------------------------------ */

static uint32_t max_baud(unsigned type)
{
	switch (type) {
	case PL2303_TYPE_H:
		return 1228800;
	case PL2303_TYPE_HX:
	case PL2303_TYPE_TA:
		return 6000000;
	default:
		return 12000000;
	}
}

/* The standard rate nearest to baud (ties to the higher one). */
static uint32_t nearest_standard(uint32_t baud)
{
	static const uint32_t std[] = {75,      150,     300,     600,    1200,   1800,   2400,
	                               3600,    4800,    7200,    9600,   14400,  19200,  28800,
	                               38400,   57600,   115200,  230400, 460800, 614400, 921600,
	                               1228800, 2457600, 3000000, 6000000};
	size_t n = sizeof(std) / sizeof(std[0]), i = 0;
	while (i < n && std[i] <= baud)
		i++;
	if (i == n)
		return std[n - 1];
	if (i > 0 && std[i] - baud > baud - std[i - 1])
		return std[i - 1];
	return std[i];
}

#define BASELINE (12000000u * 32)

/* HX family: 12 MHz x 32 / (mantissa (9 bits) x 4^exponent (3 bits)). */
static uint32_t encode_divisor(uint32_t baud, uint8_t out[4])
{
	uint32_t mantissa = BASELINE / baud, exponent = 0;
	if (mantissa == 0)
		mantissa = 1;
	while (mantissa >= 512) {
		if (exponent < 7) {
			mantissa >>= 2;
			exponent++;
		} else {
			mantissa = 511;
			break;
		}
	}
	out[0] = (uint8_t)(mantissa & 0xff);
	out[1] = (uint8_t)(exponent << 1 | mantissa >> 8);
	out[2] = 0;
	out[3] = 0x80;
	return (BASELINE / mantissa) >> (exponent << 1);
}

/* TA/TB: mantissa (11 bits) x 2^exponent (4 bits: byte 1 bits 5..7 and
 * byte 2 bit 0). */
static uint32_t encode_divisor_alt(uint32_t baud, uint8_t out[4])
{
	uint32_t mantissa = BASELINE / baud, exponent = 0;
	if (mantissa == 0)
		mantissa = 1;
	while (mantissa >= 2048) {
		if (exponent < 15) {
			mantissa >>= 1;
			exponent++;
		} else {
			mantissa = 2047;
			break;
		}
	}
	out[0] = (uint8_t)(mantissa & 0xff);
	out[1] = (uint8_t)((exponent & ~1u) << 4 | mantissa >> 8);
	out[2] = (uint8_t)(exponent & 1);
	out[3] = 0x80;
	return (BASELINE / mantissa) >> exponent;
}

int pl2303_encode_baud(unsigned type, uint32_t baud, uint8_t out[4], uint32_t *actual)
{
	if (!out || !actual || baud == 0 || type < PL2303_TYPE_H || type > PL2303_TYPE_HXN)
		return -EINVAL;
	if (baud > max_baud(type))
		baud = max_baud(type);
	/* HXN takes any rate directly; the others their standard rates */
	if (type == PL2303_TYPE_HXN || nearest_standard(baud) == baud) {
		put_le32(out, baud);
		*actual = baud;
	} else if (type == PL2303_TYPE_TA || type == PL2303_TYPE_TB) {
		*actual = encode_divisor_alt(baud, out);
	} else {
		*actual = encode_divisor(baud, out);
	}
	return 0;
}

/* ---- the serial driver ---------------------------------------------------- */

static bool is_hxn(const struct serial_function *f)
{
	return PL2303_CHIP_TYPE(f->chip) == PL2303_TYPE_HXN;
}

static bool find_notify(const struct usb_config_desc *c, struct serial_function *f, uint8_t quirks)
{
	struct serial_function first;
	if (f->has_notify)
		return true;
	if (!(quirks & Q_ENDPOINT_HACK) || c->num_interfaces == 0)
		return false;
	/* the interrupt endpoint of the configuration's first interface */
	memset(&first, 0, sizeof(first));
	serial_match_endpoints(&c->intf[0], &first);
	if (!first.has_notify)
		return false;
	f->has_notify = true;
	f->notify_ep = first.notify_ep;
	f->notify_mps = first.notify_mps;
	f->notify_interval = first.notify_interval;
	return true;
}

static int pl2303_probe(const struct usb_device_desc *dd, const struct usb_config_desc *c,
                        struct serial_function *out, size_t max)
{
	struct serial_function f;
	const struct serial_match_id *id =
	    serial_match_id(pl2303_ids, sizeof(pl2303_ids) / sizeof(pl2303_ids[0]), dd);
	if (!id)
		return 0;
	unsigned chip = pl2303_chip_from_desc(dd);
	if (!chip)
		return -ENODEV; /* as the kernel: "unknown device type" */
	/* one port: the first interface with a bulk pair */
	if (serial_match_bulk_functions(c, SERIAL_DRV_PL2303, &f, 1) < 1)
		return -ENODEV;
	/* the kernel refuses a PL2303 without its status endpoint */
	if (!find_notify(c, &f, id->info))
		return -ENODEV;
	f.chip = (uint8_t)(chip | ((id->info & Q_STATE_IDX0) ? PL2303_CHIP_STATE_IDX0 : 0));
	if (max >= 1)
		out[0] = f;
	return 1;
}

static int vendor_write(const struct serial_function *f, struct serial_xfers *q, uint16_t reg,
                        uint16_t value)
{
	uint8_t req = is_hxn(f) ? PL2303_VENDOR_WRITE_HXN : PL2303_VENDOR_WRITE;
	return serial_xfers_add_ex(q, PL2303_REQTYPE_VENDOR_OUT, req, reg, value, NULL, 0,
	                           SERIAL_XFER_OPTIONAL, 0);
}

static int vendor_read(struct serial_xfers *q, uint8_t req, uint16_t reg, uint8_t tag)
{
	return serial_xfers_add_ex(q, PL2303_REQTYPE_VENDOR_IN, req, reg, 0, NULL, 1,
	                           SERIAL_XFER_OPTIONAL, tag);
}

static int pl2303_identify(const struct serial_function *f, struct serial_xfers *q)
{
	if (f->chip & PL2303_CHIP_UNSURE)
		return vendor_read(q, PL2303_VENDOR_READ, PL2303_READ_HX_STATUS, TAG_HX_STATUS);
	if (is_hxn(f) && !(f->priv[PRIV_STATE] & F_HAVE_FLOWREG))
		return vendor_read(q, PL2303_VENDOR_READ_HXN, PL2303_HXN_FLOW_REG, TAG_FLOWREG);
	return 0;
}

static int pl2303_absorb(struct serial_function *f, uint8_t tag, const uint8_t *data, size_t len)
{
	uint32_t *st = &f->priv[PRIV_STATE];
	switch (tag) {
	case TAG_HX_STATUS:
		if (!(f->chip & PL2303_CHIP_UNSURE))
			return -EINVAL;
		/* a TA/TB answers the old status read, an HXN stalls it */
		f->chip &= (uint8_t)~PL2303_CHIP_UNSURE;
		if (!data || len < 1)
			f->chip = (uint8_t)((f->chip & ~0x0fu) | PL2303_TYPE_HXN);
		return 0;
	case TAG_FLOWREG:
		*st = (*st & ~(FLOWREG_MASK | F_FLOWREG_VALID)) | F_HAVE_FLOWREG;
		if (data && len >= 1)
			*st |= F_FLOWREG_VALID | data[0];
		return 0;
	default:
		return -EINVAL;
	}
}

/* The kernel's startup sequence for all but HXN: reads whose answers are
 * ignored, then registers 0, 1 and 2; then open's reset of the data pipes.
 * The kernel ignores every failure here, so they are optional. */
static int init_legacy(struct serial_function *f, struct serial_xfers *q)
{
	static const struct {
		bool read;
		uint16_t reg, value;
	} seq[] = {
	    {true, 0x8484, 0},  {false, 0x0404, 0}, {true, 0x8484, 0}, {true, 0x8383, 0},
	    {true, 0x8484, 0},  {false, 0x0404, 1}, {true, 0x8484, 0}, {true, 0x8383, 0},
	    {false, 0x0000, 1}, {false, 0x0001, 0},
	};
	bool legacy = PL2303_CHIP_TYPE(f->chip) == PL2303_TYPE_H;
	int rc = 0;
	for (size_t k = 0; k < sizeof(seq) / sizeof(seq[0]) && rc == 0; k++)
		rc = seq[k].read ? vendor_read(q, PL2303_VENDOR_READ, seq[k].reg, 0)
		                 : vendor_write(f, q, seq[k].reg, seq[k].value);
	if (rc == 0)
		rc = vendor_write(f, q, 0x0002, legacy ? 0x24 : 0x44);
	/* open: reset the upstream data pipes (legacy H parts get a
	 * clear-halt of their bulk endpoints instead, which is the data
	 * path's business) */
	if (rc == 0 && !legacy)
		rc = vendor_write(f, q, 0x0008, 0);
	if (rc == 0 && !legacy)
		rc = vendor_write(f, q, 0x0009, 0);
	if (rc == 0)
		f->priv[PRIV_STATE] =
		    (f->priv[PRIV_STATE] & ~FLOWREG_MASK) | F_FLOWREG_VALID | REG0_AFTER_INIT;
	return rc;
}

static int pl2303_init(struct serial_function *f, struct serial_xfers *q)
{
	uint32_t *st = &f->priv[PRIV_STATE];
	/* the next connect asks again; the first line request is always sent */
	*st &= ~(F_HAVE_FLOWREG | F_LINE_VALID);
	if (!is_hxn(f))
		return init_legacy(f, q);
	return vendor_write(f, q, PL2303_HXN_RESET_REG, PL2303_HXN_RESET_PIPES);
}

static int line_request(unsigned type, const struct serial_line *l, uint8_t out[PL2303_LINE_SIZE],
                        uint32_t *actual)
{
	if (l->data_bits < 5 || l->data_bits > 8 || l->parity > SERIAL_PARITY_SPACE ||
	    l->stop_bits > SERIAL_STOP_2)
		return -EINVAL;
	int rc = pl2303_encode_baud(type, l->baud, out, actual);
	if (rc < 0)
		return rc;
	/* CSTOPB: 1.5 stop bits with 5 data bits ("as real UARTs"), else 2 */
	if (l->stop_bits == SERIAL_STOP_1)
		out[4] = 0;
	else
		out[4] = l->data_bits == 5 ? 1 : 2;
	out[5] = l->parity; /* enum serial_parity uses the CDC numbering */
	out[6] = l->data_bits;
	return 0;
}

/* The flow-control register value the kernel writes for these settings. */
static int flow_update(struct serial_function *f, const struct serial_line *l,
                       struct serial_xfers *q)
{
	unsigned type = PL2303_CHIP_TYPE(f->chip);
	uint32_t *st = &f->priv[PRIV_STATE];
	uint8_t val, mask = is_hxn(f) ? PL2303_HXN_FLOW_MASK : PL2303_FLOW_MASK;
	uint16_t reg = is_hxn(f) ? PL2303_HXN_FLOW_REG : 0;
	bool xonxoff = (l->flow & SERIAL_FLOW_IXON) && l->xon == 0x11 && l->xoff == 0x13 &&
	               type != PL2303_TYPE_H; /* the chip knows only DC1/DC3 */
	if (l->flow & SERIAL_FLOW_RTSCTS)
		val = type == PL2303_TYPE_H ? PL2303_FLOW_RTSCTS_H
		      : is_hxn(f)           ? PL2303_HXN_FLOW_RTSCTS
		                            : PL2303_FLOW_RTSCTS;
	else if (xonxoff)
		val = is_hxn(f) ? PL2303_HXN_FLOW_XONXOFF : PL2303_FLOW_XONXOFF;
	else
		val = is_hxn(f) ? PL2303_HXN_FLOW_NONE : 0;
	if (!(*st & F_FLOWREG_VALID))
		return 0; /* the register could not be read: left alone, as the kernel */
	uint8_t cur = (uint8_t)(*st & FLOWREG_MASK);
	uint8_t next = (uint8_t)((cur & ~mask) | (val & mask));
	int rc = vendor_write(f, q, reg, next);
	if (rc == 0)
		*st = (*st & ~FLOWREG_MASK) | next;
	return rc;
}

static int pl2303_set_line(struct serial_function *f, const struct serial_line *l,
                           struct serial_xfers *q, uint32_t *actual_baud)
{
	uint8_t req[8] = {0}, last[8];
	uint32_t actual;
	int rc = line_request(PL2303_CHIP_TYPE(f->chip), l, req, &actual);
	if (rc < 0)
		return rc;
	put_le32(last, f->priv[PRIV_LINE]);
	put_le32(last + 4, f->priv[PRIV_LINE + 1]);
	if (!(f->priv[PRIV_STATE] & F_LINE_VALID) || memcmp(req, last, PL2303_LINE_SIZE) != 0) {
		rc = serial_xfers_add(q, PL2303_REQTYPE_CLASS_OUT, PL2303_SET_LINE_REQUEST, 0, 0,
		                      req, PL2303_LINE_SIZE);
		if (rc < 0)
			return rc;
		f->priv[PRIV_LINE] = get_le32(req);
		f->priv[PRIV_LINE + 1] = get_le32(req + 4);
		f->priv[PRIV_STATE] |= F_LINE_VALID;
	}
	rc = flow_update(f, l, q);
	if (rc < 0)
		return rc;
	if (actual_baud)
		*actual_baud = actual;
	return 0;
}

static int pl2303_set_lines(struct serial_function *f, unsigned lines, struct serial_xfers *q)
{
	(void)f;
	uint16_t v =
	    (uint16_t)(((lines & SERIAL_DTR) ? 0x01 : 0) | ((lines & SERIAL_RTS) ? 0x02 : 0));
	return serial_xfers_add(q, PL2303_REQTYPE_CLASS_OUT, PL2303_SET_CONTROL_REQUEST, v, 0, NULL,
	                        0);
}

static int pl2303_set_break(struct serial_function *f, bool on, struct serial_xfers *q)
{
	(void)f;
	return serial_xfers_add(q, PL2303_REQTYPE_CLASS_OUT, PL2303_BREAK_REQUEST, on ? 0xffff : 0,
	                        0, NULL, 0);
}

static int pl2303_status_decode(const struct serial_function *f, enum serial_status_origin origin,
                                const uint8_t *buf, size_t len, struct serial_status *st)
{
	size_t idx = (f->chip & PL2303_CHIP_STATE_IDX0) ? 0 : PL2303_UART_STATE_INDEX;
	if (origin != SERIAL_ORIGIN_INTERRUPT)
		return -EINVAL;
	if (!buf || len < idx + 1)
		return -EMSGSIZE;
	uint8_t s = buf[idx];
	st->has_lines = true;
	st->lines = (uint16_t)(((s & PL2303_UART_CTS) ? SERIAL_CTS : 0) |
	                       ((s & PL2303_UART_DSR) ? SERIAL_DSR : 0) |
	                       ((s & PL2303_UART_RING) ? SERIAL_RI : 0) |
	                       ((s & PL2303_UART_DCD) ? SERIAL_DCD : 0));
	st->events = (uint16_t)(((s & PL2303_UART_BREAK) ? SERIAL_EV_BREAK : 0) |
	                        ((s & PL2303_UART_FRAME) ? SERIAL_EV_FRAMING : 0) |
	                        ((s & PL2303_UART_PARITY) ? SERIAL_EV_PARITY : 0) |
	                        ((s & PL2303_UART_OVERRUN) ? SERIAL_EV_OVERRUN : 0));
	return 0;
}

static bool pl2303_claims(uint16_t vid, uint16_t pid)
{
	const struct usb_device_desc dd = {.idVendor = vid, .idProduct = pid};
	return serial_match_id(pl2303_ids, sizeof(pl2303_ids) / sizeof(pl2303_ids[0]), &dd) != NULL;
}

const struct serial_driver pl2303_driver = {
    .name = "pl2303",
    .probe = pl2303_probe,
    .claims = pl2303_claims,
    .identify = pl2303_identify,
    .absorb = pl2303_absorb,
    .init = pl2303_init,
    .set_line = pl2303_set_line,
    .set_lines = pl2303_set_lines,
    .set_break = pl2303_set_break,
    .status_source = SERIAL_STATUS_INTERRUPT,
    .initial_lines = 0,
    .status_decode = pl2303_status_decode,
};
