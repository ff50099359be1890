/* SPDX-License-Identifier: MIT */
/*
 * ch341 - WCH CH340/CH341 USB UARTs (level 0).  Facts from Linux 6.1
 * ch341 (WCH publishes no register manual for the UART mode; the kernel's
 * driver is what these parts are known to work with).
 */
#include "ch341.h"

#include <errno.h>
#include <string.h>

#include "serial_match.h"

/* The kernel 6.1 table. */
static const struct serial_match_id ch341_ids[] = {
    {0x1a86, 0x5523, 0}, /* CH341 in serial mode */
    {0x1a86, 0x7522, 0}, /* CH340K */
    {0x1a86, 0x7523, 0}, /* CH340 */
    {0x2184, 0x0057, 0}, /* GW Instek */
    {0x4348, 0x5523, 0}, /* CH341, old VID */
    {0x9986, 0x7523, 0},
};

/* priv[0]: version (bits 0..7), register 0x05 (8..15), register 0x18
 * (16..23) as last read or written, flags (24..31);
 * priv[1]: the baud rate last set; priv[2]: the LCR last set (+ valid);
 * priv[3]: the modem control bits last set (CH341_MCR_*). */
#define PRIV_STATE      0
#define PRIV_BAUD       1
#define PRIV_LCR        2
#define PRIV_MCR        3
#define F_HAVE_VERSION  (1u << 24) /* identify answered ... */
#define F_HAVE_QUIRK    (1u << 25)
#define F_HAVE_REGS     (1u << 26)
#define F_NO_BREAK      (1u << 27) /* no break register: simulated break */
#define F_REGS_VALID    (1u << 28) /* registers 0x05/0x18 known */
#define F_PROGRESS      (F_HAVE_VERSION | F_HAVE_QUIRK | F_HAVE_REGS)
#define LCR_VALID       0x100u
#define DEFAULT_BAUD    9600u
#define SIM_BREAK_BITS  11u   /* start, 8 data, stop and a margin, as the kernel */
#define VERSION_LCR     0x30u /* from this version the LCR is written */
#define VERSION_RXTIMER 0x27u /* above this version divisor bit 7 is set */

enum { TAG_VERSION = 1, TAG_QUIRK, TAG_REGS };

static uint8_t get_version(const struct serial_function *f)
{
	return (uint8_t)(f->priv[PRIV_STATE] & 0xff);
}

static uint8_t get_reg(const struct serial_function *f, unsigned shift)
{
	return (uint8_t)((f->priv[PRIV_STATE] >> shift) & 0xff);
}

static void set_reg(struct serial_function *f, unsigned shift, uint8_t v)
{
	f->priv[PRIV_STATE] = (f->priv[PRIV_STATE] & ~(0xffu << shift)) | ((uint32_t)v << shift);
}
#define SHIFT_VERSION 0
#define SHIFT_REG05   8
#define SHIFT_REG18   16

/* ---- divisor ----------------------------------------------------------------- */

#define CLKRATE 48000000u

static uint32_t clk_div(unsigned ps, unsigned fact)
{
	return 1u << (12 - 3 * ps - fact);
}

int ch341_divisor(uint32_t baud, bool limited, uint16_t *word, uint32_t *actual)
{
	unsigned fact = 1, ps;
	uint32_t cd, div;
	if (!word || !actual || baud == 0)
		return -EINVAL;
	baud = baud < CH341_MIN_BPS ? CH341_MIN_BPS : baud > CH341_MAX_BPS ? CH341_MAX_BPS : baud;
	/* The highest prescaler whose base clock (fact 1) keeps the divisor
	 * below 512: baud above that prescaler's minimum rate. */
	for (ps = 3; ps > 0; ps--)
		if (baud > CLKRATE / (clk_div(ps, 1) * 512))
			break;
	cd = clk_div(ps, fact);
	div = CLKRATE / (cd * baud);
	if (div < 9 || div > 255 || (limited && ps < 3)) {
		div /= 2;
		cd *= 2;
		fact = 0;
	}
	if (div < 2)
		return -EINVAL;
	/* the next divisor if its rate is nearer, in 1/16 baud */
	if (16 * CLKRATE / (cd * div) - 16 * baud >= 16 * baud - 16 * CLKRATE / (cd * (div + 1)))
		div++;
	/* an even divisor at the base clock is half of it at the slower one */
	if (fact == 1 && div % 2 == 0) {
		div /= 2;
		fact = 0;
	}
	*word = (uint16_t)((0x100 - div) << 8 | fact << 2 | ps);
	cd = clk_div(ps, fact) * div;
	*actual = (CLKRATE + cd / 2) / cd;
	return 0;
}

int ch341_lcr(const struct serial_line *l, uint8_t *lcr)
{
	static const uint8_t parity_bits[] = {
	    [SERIAL_PARITY_NONE] = 0,
	    [SERIAL_PARITY_ODD] = CH341_LCR_ENABLE_PAR,
	    [SERIAL_PARITY_EVEN] = CH341_LCR_ENABLE_PAR | CH341_LCR_PAR_EVEN,
	    [SERIAL_PARITY_MARK] = CH341_LCR_ENABLE_PAR | CH341_LCR_MARK_SPACE,
	    [SERIAL_PARITY_SPACE] =
	        CH341_LCR_ENABLE_PAR | CH341_LCR_PAR_EVEN | CH341_LCR_MARK_SPACE,
	};
	if (!l || !lcr || l->data_bits < 5 || l->data_bits > 8 || l->parity > SERIAL_PARITY_SPACE ||
	    l->stop_bits > SERIAL_STOP_2)
		return -EINVAL;
	*lcr = (uint8_t)(CH341_LCR_ENABLE_RX | CH341_LCR_ENABLE_TX | (l->data_bits - 5) |
	                 parity_bits[l->parity] |
	                 (l->stop_bits != SERIAL_STOP_1 ? CH341_LCR_STOP_BITS2 : 0));
	return 0;
}

/* ---- the serial driver ---------------------------------------------------- */

static int ch341_probe(const struct usb_device_desc *dd, const struct usb_config_desc *c,
                       struct serial_function *out, size_t max)
{
	struct serial_function f;
	if (!serial_match_id(ch341_ids, sizeof(ch341_ids) / sizeof(ch341_ids[0]), dd))
		return 0;
	/* one port: the first interface with a bulk pair */
	if (serial_match_bulk_functions(c, SERIAL_DRV_CH341, &f, 1) < 1)
		return -ENODEV;
	/* the kernel's open fails without the status endpoint */
	if (!f.has_notify)
		return -ENODEV;
	if (max >= 1)
		out[0] = f;
	return 1;
}

static int write_reg(struct serial_xfers *q, uint8_t reg1, uint8_t reg2, uint16_t value)
{
	return serial_xfers_add(q, CH341_REQTYPE_OUT, CH341_REQ_WRITE_REG,
	                        (uint16_t)(reg2 << 8 | reg1), value, NULL, 0);
}

static int read_reg(struct serial_xfers *q, uint8_t reg1, uint8_t reg2, uint8_t flags, uint8_t tag)
{
	return serial_xfers_add_ex(q, CH341_REQTYPE_IN, CH341_REQ_READ_REG,
	                           (uint16_t)(reg2 << 8 | reg1), 0, NULL, 2, flags, tag);
}

static int ch341_identify(const struct serial_function *f, struct serial_xfers *q)
{
	if ((f->priv[PRIV_STATE] & F_PROGRESS) == F_PROGRESS)
		return 0;
	int rc = serial_xfers_add_ex(q, CH341_REQTYPE_IN, CH341_REQ_READ_VERSION, 0, 0, NULL, 2, 0,
	                             TAG_VERSION);
	if (rc == 0)
		rc = serial_xfers_add(q, CH341_REQTYPE_OUT, CH341_REQ_SERIAL_INIT, 0, 0, NULL, 0);
	/* a stall here is the answer "no break register" */
	if (rc == 0)
		rc = read_reg(q, CH341_REG_BREAK, 0, SERIAL_XFER_OPTIONAL, TAG_QUIRK);
	if (rc == 0)
		rc = read_reg(q, CH341_REG_BREAK, CH341_REG_LCR, SERIAL_XFER_OPTIONAL, TAG_REGS);
	return rc;
}

static int ch341_absorb(struct serial_function *f, uint8_t tag, const uint8_t *data, size_t len)
{
	uint32_t *st = &f->priv[PRIV_STATE];
	switch (tag) {
	case TAG_VERSION:
		*st |= F_HAVE_VERSION; /* answered, even if badly: identify settles */
		if (!data || len < 1)
			return -EPROTO;
		set_reg(f, SHIFT_VERSION, data[0]);
		return 0;
	case TAG_QUIRK:
		*st |= F_HAVE_QUIRK;
		*st = data ? (*st & ~F_NO_BREAK) : (*st | F_NO_BREAK);
		return 0;
	case TAG_REGS:
		*st |= F_HAVE_REGS;
		*st &= ~F_REGS_VALID;
		if (data && len >= 2) {
			set_reg(f, SHIFT_REG05, data[0]);
			set_reg(f, SHIFT_REG18, data[1]);
			*st |= F_REGS_VALID;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

static int ch341_init(struct serial_function *f, struct serial_xfers *q)
{
	(void)q; /* SERIAL_INIT went with identify, before the register reads */
	f->priv[PRIV_STATE] &= ~F_PROGRESS;
	return 0;
}

/* The divisor (and, from version 0x30, LCR) writes for a rate and LCR. */
static int write_line(struct serial_function *f, uint32_t baud, uint8_t lcr, struct serial_xfers *q,
                      uint32_t *actual)
{
	uint16_t word;
	uint8_t version = get_version(f);
	int rc = ch341_divisor(baud, (f->priv[PRIV_STATE] & F_NO_BREAK) != 0, &word, actual);
	if (rc < 0)
		return rc;
	if (version > VERSION_RXTIMER)
		word |= CH341_DIV_RX_TIMER;
	rc = write_reg(q, CH341_REG_PRESCALER, CH341_REG_DIVISOR, word);
	if (rc == 0 && version >= VERSION_LCR) {
		/* LCR2 is always zero on these chips */
		rc = write_reg(q, CH341_REG_LCR, CH341_REG_LCR2, lcr);
		if (rc == 0)
			set_reg(f, SHIFT_REG18, lcr);
	}
	return rc;
}

/* MODEM_CTRL: active low; the kernel passes ~mcr as an int, so the high
 * byte is 0xff. */
static int handshake(struct serial_function *f, struct serial_xfers *q)
{
	uint8_t mcr = (uint8_t)f->priv[PRIV_MCR];
	return serial_xfers_add(q, CH341_REQTYPE_OUT, CH341_REQ_MODEM_CTRL,
	                        (uint16_t)(0xff00 | (uint8_t)~mcr), 0, NULL, 0);
}

static int ch341_set_line(struct serial_function *f, struct serial_line *l, struct serial_xfers *q,
                          uint32_t *actual_baud)
{
	uint8_t lcr;
	uint32_t actual;
	int rc = ch341_lcr(l, &lcr);
	if (rc == 0 && l->baud == 0)
		rc = -EINVAL;
	if (rc == 0)
		rc = write_line(f, l->baud, lcr, q, &actual);
	/* ch341_set_termios ends with the handshake, whatever changed */
	if (rc == 0)
		rc = handshake(f, q);
	if (rc < 0)
		return rc;
	/* the chip does no flow control of its own in the kernel 6.1 driver */
	f->priv[PRIV_BAUD] = l->baud;
	f->priv[PRIV_LCR] = LCR_VALID | lcr;
	if (actual_baud)
		*actual_baud = actual;
	return 0;
}

static int ch341_set_lines(struct serial_function *f, unsigned lines, struct serial_xfers *q)
{
	f->priv[PRIV_MCR] =
	    ((lines & SERIAL_DTR) ? CH341_MCR_DTR : 0) | ((lines & SERIAL_RTS) ? CH341_MCR_RTS : 0);
	return handshake(f, q);
}

/* Parts without a break register: as the kernel, the slowest rate, 8N1,
 * and one NUL byte (written by the data path), then the settings back. */
static int simulated_break(struct serial_function *f, bool on, struct serial_xfers *q)
{
	uint32_t actual, baud = f->priv[PRIV_BAUD];
	uint8_t lcr = (uint8_t)f->priv[PRIV_LCR];
	int rc;
	if (on) {
		rc = write_line(f, CH341_MIN_BPS, CH341_LCR_ENABLE_RX | CH341_LCR_ENABLE_TX | 3, q,
		                &actual);
		if (rc < 0)
			return rc;
		return (int)((SIM_BREAK_BITS * 1000 + CH341_MIN_BPS - 1) / CH341_MIN_BPS);
	}
	if (!(f->priv[PRIV_LCR] & LCR_VALID) || baud == 0) {
		baud = DEFAULT_BAUD; /* the kernel's settings before any set_termios */
		lcr = CH341_LCR_ENABLE_RX | CH341_LCR_ENABLE_TX | 3;
	}
	return write_line(f, baud, lcr, q, &actual);
}

static int ch341_set_break(struct serial_function *f, bool on, struct serial_xfers *q)
{
	if (f->priv[PRIV_STATE] & F_NO_BREAK)
		return simulated_break(f, on, q);
	if (!(f->priv[PRIV_STATE] & F_REGS_VALID))
		return -EIO; /* the break register could not be read */
	uint8_t r05 = get_reg(f, SHIFT_REG05), r18 = get_reg(f, SHIFT_REG18);
	if (on) {
		r05 &= (uint8_t)~CH341_NBREAK;
		r18 &= (uint8_t)~CH341_LCR_ENABLE_TX;
	} else {
		r05 |= CH341_NBREAK;
		r18 |= CH341_LCR_ENABLE_TX;
	}
	int rc = write_reg(q, CH341_REG_BREAK, CH341_REG_LCR, (uint16_t)(r18 << 8 | r05));
	if (rc == 0) {
		set_reg(f, SHIFT_REG05, r05);
		set_reg(f, SHIFT_REG18, r18);
	}
	return rc;
}

static uint16_t lines_from_status(uint8_t raw)
{
	uint8_t s = (uint8_t)~raw;
	return (uint16_t)(((s & CH341_MS_CTS) ? SERIAL_CTS : 0) |
	                  ((s & CH341_MS_DSR) ? SERIAL_DSR : 0) |
	                  ((s & CH341_MS_RI) ? SERIAL_RI : 0) |
	                  ((s & CH341_MS_DCD) ? SERIAL_DCD : 0));
}

static int ch341_status_decode(const struct serial_function *f, enum serial_status_origin origin,
                               const uint8_t *buf, size_t len, struct serial_status *st)
{
	(void)f;
	size_t need = origin == SERIAL_ORIGIN_INTERRUPT ? CH341_NOTIFY_LEN : 2;
	if (origin != SERIAL_ORIGIN_INTERRUPT && origin != SERIAL_ORIGIN_POLL)
		return -EINVAL;
	if (!buf || len < need)
		return -EMSGSIZE;
	st->has_lines = true;
	st->lines = lines_from_status(origin == SERIAL_ORIGIN_INTERRUPT ? buf[2] : buf[0]);
	st->events = 0;
	return 0;
}

static int ch341_status_poll(const struct serial_function *f, struct serial_xfer *x,
                             unsigned *interval_ms)
{
	(void)f;
	memset(x, 0, sizeof(*x));
	x->setup.bmRequestType = CH341_REQTYPE_IN;
	x->setup.bRequest = CH341_REQ_READ_REG;
	x->setup.wValue = CH341_REG_STATUS | (CH341_REG_STATUS + 1) << 8;
	x->setup.wLength = 2;
	*interval_ms = 0; /* once after init: status then comes by interrupt */
	return 0;
}

static bool ch341_claims(uint16_t vid, uint16_t pid)
{
	const struct usb_device_desc dd = {.idVendor = vid, .idProduct = pid};
	return serial_match_id(ch341_ids, sizeof(ch341_ids) / sizeof(ch341_ids[0]), &dd) != NULL;
}

const struct serial_driver ch341_driver = {
    .name = "ch341",
    .probe = ch341_probe,
    .claims = ch341_claims,
    .identify = ch341_identify,
    .absorb = ch341_absorb,
    .init = ch341_init,
    .set_line = ch341_set_line,
    .set_lines = ch341_set_lines,
    .line_on_hw_change_only = true,
    .set_break = ch341_set_break,
    .status_source = SERIAL_STATUS_INTERRUPT,
    .initial_lines = 0,
    .status_decode = ch341_status_decode,
    .status_poll = ch341_status_poll,
};
