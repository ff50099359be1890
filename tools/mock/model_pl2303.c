/* SPDX-License-Identifier: MIT */
/*
 * model_pl2303 - Prolific PL2303: the HX family (067b:2303: bcdUSB 1.10,
 * bMaxPacketSize0 64; bcdDevice 3.00 HX, 4.00 HXD) and the HXN family
 * (067b:23a3 and its siblings 23b3, 23c3, 23d3, 23e3, 23f3; bcdUSB 2.00).
 * One port on interface 0: interrupt IN, bulk OUT, bulk IN.
 *
 * Facts (Linux drivers/usb/serial/pl2303.c):
 * - Class requests to interface 0 in the CDC layout: SET_LINE_REQUEST 0x20
 *   (7 bytes: rate, stop bits 0/1/2 = 1/1.5/2, parity N O E M S, data bits
 *   5-8), GET_LINE_REQUEST 0x21, SET_CONTROL_REQUEST 0x22 (bit0 DTR, bit1
 *   RTS), BREAK_REQUEST 0x23 (0xffff on, 0 off).
 * - Vendor registers, device requests: HX: write 0x40 0x01 (wValue
 *   register, wIndex value), read 0xC0 0x01 (wValue register | 0x80, 1 byte;
 *   0x8484 and 0x8383 in the init sequence read registers 4 and 3).  Register
 *   0 bits 4-7: 0x60 RTS/CTS, 0xC0 XON/XOFF.  HXN: write 0x40 0x80 and read
 *   0xC0 0x81 (wValue the register itself); register 0x07 resets the pipes,
 *   register 0x0A bits 2-4: 0x18 RTS/CTS, 0x0C XON/XOFF, 0x1C none.  An HXN
 *   stalls the HX requests (that is how Linux tells an HXN from a TA/TB).
 * - Rate: HX: "direct" (bit 31 clear) for the rates the chip supports (75,
 *   150, 300, 600, 1200, 1800, 2400, 3600, 4800, 7200, 9600, 14400, 19200,
 *   28800, 38400, 57600, 115200, 230400, 460800, 614400, 921600, 1228800,
 *   2457600, 3000000, 6000000; any other direct rate gives 9600), or
 *   "divisor" (byte 3 0x80): rate = 12 MHz x 32 / (mantissa x 4^exponent),
 *   mantissa bits 0-8, exponent bits 9-11.  HXN takes any rate directly.
 * - Status: a 10-byte notification on the interrupt endpoint whose byte 8
 *   holds DCD 0x01, DSR 0x02, break 0x04, RI 0x08, framing 0x10, parity 0x20,
 *   overrun 0x40, CTS 0x80.
 * Power-on: 9600 8N1, DTR and RTS off, flow control off.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include <errno.h>
#include <string.h>

#include "byteorder.h"
#include "mock_model.h"

enum {
	REQ_SET_LINE = 0x20,
	REQ_GET_LINE = 0x21,
	REQ_SET_CONTROL = 0x22,
	REQ_BREAK = 0x23,
	REQ_HX_WRITE = 0x01,
	REQ_HX_READ = 0x01,
	REQ_HXN_WRITE = 0x80,
	REQ_HXN_READ = 0x81,
};

#define TYPE_CLASS_OUT  0x21
#define TYPE_CLASS_IN   0xa1
#define TYPE_VENDOR_OUT 0x40
#define TYPE_VENDOR_IN  0xc0

#define HX_READ_BIT      0x80
#define HX_FLOW_REG      0x00
#define HX_FLOW_MASK     0xf0
#define HX_FLOW_RTSCTS   0x60
#define HX_FLOW_XONXOFF  0xc0
#define HXN_FLOW_REG     0x0a
#define HXN_FLOW_MASK    0x1c
#define HXN_FLOW_RTSCTS  0x18
#define HXN_FLOW_XONXOFF 0x0c
#define HXN_FLOW_NONE    0x1c
#define RATE_DIVISOR     0x80000000u
#define LINE_SIZE        7u
#define NOTE_SIZE        10u
#define ST_DCD           0x01
#define ST_DSR           0x02
#define ST_BREAK         0x04
#define ST_RI            0x08
#define ST_FRAMING       0x10
#define ST_PARITY        0x20
#define ST_OVERRUN       0x40
#define ST_CTS           0x80

enum { PL_HX, PL_HXN };
static const char *const chip_names[] = {[PL_HX] = "HX", [PL_HXN] = "HXN"};

/* Rates the HX sets directly. */
static const guint32 direct_rates[] = {
    75,     150,    300,    600,     1200,    1800,    2400,    3600,   4800,
    7200,   9600,   14400,  19200,   28800,   38400,   57600,   115200, 230400,
    460800, 614400, 921600, 1228800, 2457600, 3000000, 6000000,
};

typedef struct {
	guint8 line[LINE_SIZE]; /* the line request as last set */
	guint8 reg[256];        /* vendor registers */
	guint8 mcr;             /* MOCK_SERVER_DTR | MOCK_SERVER_RTS */
	gboolean brk;
} PlRegs;
G_STATIC_ASSERT(sizeof(PlRegs) <= sizeof(((MockPort *)0)->priv));

static PlRegs *regs(MockPort *p)
{
	return (PlRegs *)p->priv.bytes;
}

static const PlRegs *cregs(const MockPort *p)
{
	return (const PlRegs *)p->priv.bytes;
}

static gboolean is_hxn_pid(guint16 pid)
{
	return pid == 0x23a3 || pid == 0x23b3 || pid == 0x23c3 || pid == 0x23d3 || pid == 0x23e3 ||
	       pid == 0x23f3;
}

static gboolean pl_match(const MockModelDevice *dev)
{
	const struct usb_device_desc *d = dev->desc;

	if (d->idVendor != 0x067b)
		return FALSE;
	if (d->idProduct == 0x2303)
		return d->bMaxPacketSize0 == 64 && (d->bcdUSB == 0x110 || d->bcdUSB == 0x101);
	return is_hxn_pid(d->idProduct) && d->bcdUSB == 0x200;
}

static guint pl_probe(const MockModelDevice *dev, const struct usb_config_desc *c, MockPort *ports,
                      guint max)
{
	const struct usb_interface_desc *it = usb_desc_find_interface(c, 0, 0);
	MockPort *p = &ports[0];

	if (!it || max < 1 || !mock_port_endpoints(p, it) || !p->has_notify)
		return 0;
	p->chip = is_hxn_pid(dev->desc->idProduct) ? PL_HXN : PL_HX;
	return 1;
}

static void pl_reset(MockPort *p)
{
	PlRegs *r = regs(p);

	put_le32(r->line, 9600);
	r->line[6] = 8; /* 8N1 */
	if (p->chip == PL_HXN)
		r->reg[HXN_FLOW_REG] = HXN_FLOW_NONE;
}

static double pl_rate(const MockPort *p)
{
	const guint8 *l = cregs(p)->line;
	guint32 v = get_le32(l);

	if (p->chip == PL_HXN)
		return v;
	if (v & RATE_DIVISOR) {
		guint mantissa = l[0] | (l[1] & 1u) << 8, exponent = (l[1] >> 1) & 7;
		return 12e6 * 32 / ((double)MAX(mantissa, 1u) * (1u << (2 * exponent)));
	}
	for (guint i = 0; i < G_N_ELEMENTS(direct_rates); i++)
		if (direct_rates[i] == v)
			return v;
	return 9600; /* an unsupported direct rate */
}

static guint8 flow_bits(const MockPort *p)
{
	const PlRegs *r = cregs(p);

	if (p->chip == PL_HXN) {
		guint8 f = r->reg[HXN_FLOW_REG] & HXN_FLOW_MASK;
		return f == HXN_FLOW_RTSCTS    ? MOCK_SERVER_FLOW_RTSCTS
		       : f == HXN_FLOW_XONXOFF ? MOCK_SERVER_FLOW_IXON | MOCK_SERVER_FLOW_IXOFF
		                               : 0;
	} else {
		guint8 f = r->reg[HX_FLOW_REG] & HX_FLOW_MASK;
		return f == HX_FLOW_RTSCTS    ? MOCK_SERVER_FLOW_RTSCTS
		       : f == HX_FLOW_XONXOFF ? MOCK_SERVER_FLOW_IXON | MOCK_SERVER_FLOW_IXOFF
		                              : 0;
	}
}

static void pl_line(const MockPort *p, MockServerLine *out)
{
	const PlRegs *r = cregs(p);

	memset(out, 0, sizeof(*out));
	out->rate = pl_rate(p);
	out->stop_bits = r->line[4];
	out->parity = r->line[5];
	out->data_bits = r->line[6];
	out->flow = flow_bits(p);
	out->xon = 0x11; /* the chip's XON/XOFF are fixed */
	out->xoff = 0x13;
}

static int class_request(MockPort *p, const struct usb_setup *s, const guint8 *out, gsize out_len,
                         guint8 *in, gsize *in_len)
{
	PlRegs *r = regs(p);
	gboolean on;

	switch (s->bRequest) {
	case REQ_SET_LINE:
		if (s->bmRequestType != TYPE_CLASS_OUT || out_len != LINE_SIZE || out[4] > 2 ||
		    out[5] > 4 || out[6] < 5 || out[6] > 8)
			return -EPIPE;
		memcpy(r->line, out, LINE_SIZE);
		mock_port_line_changed(p);
		return 0;
	case REQ_GET_LINE:
		if (s->bmRequestType != TYPE_CLASS_IN)
			return -EPIPE;
		*in_len = mock_model_answer(s, in, r->line, LINE_SIZE);
		return 0;
	case REQ_SET_CONTROL:
		if (s->bmRequestType != TYPE_CLASS_OUT)
			return -EPIPE;
		r->mcr = s->wValue & (MOCK_SERVER_DTR | MOCK_SERVER_RTS);
		mock_port_record_lines(p, r->mcr);
		return 0;
	case REQ_BREAK:
		if (s->bmRequestType != TYPE_CLASS_OUT)
			return -EPIPE;
		on = s->wValue != 0;
		if (on != r->brk)
			mock_port_record_break(p, on ? 0xffff : 0);
		r->brk = on;
		return 0;
	default:
		return -EPIPE;
	}
}

static int vendor_request(MockPort *p, const struct usb_setup *s, guint8 *in, gsize *in_len)
{
	PlRegs *r = regs(p);
	gboolean hxn = p->chip == PL_HXN;
	guint8 reg;

	if (s->bmRequestType == TYPE_VENDOR_OUT &&
	    s->bRequest == (hxn ? REQ_HXN_WRITE : REQ_HX_WRITE)) {
		reg = s->wValue & 0xff;
		r->reg[reg] = s->wIndex & 0xff;
		if (reg == (hxn ? HXN_FLOW_REG : HX_FLOW_REG))
			mock_port_line_changed(p);
		return 0;
	}
	if (s->bmRequestType == TYPE_VENDOR_IN &&
	    s->bRequest == (hxn ? REQ_HXN_READ : REQ_HX_READ)) {
		if (!hxn && !(s->wValue & HX_READ_BIT))
			return -EPIPE;
		reg = hxn ? s->wValue & 0xff : s->wValue & 0x7f;
		*in_len = mock_model_answer(s, in, &r->reg[reg], 1);
		return 0;
	}
	return -EPIPE;
}

static int pl_control(MockPort *ports, guint n, const struct usb_setup *s, const guint8 *out,
                      gsize out_len, guint8 *in, gsize *in_len)
{
	MockPort *p = &ports[0];

	if ((s->bmRequestType & 0x60) == 0x20) {
		if ((s->wIndex & 0xff) != p->intf)
			return -EPIPE;
		return class_request(p, s, out, out_len, in, in_len);
	}
	(void)n;
	return vendor_request(p, s, in, in_len);
}

static int pl_inputs(MockPort *p, guint16 bits)
{
	static const struct {
		guint16 bit;
		guint8 st;
	} map[] = {
	    {MOCK_SERVER_DCD, ST_DCD},
	    {MOCK_SERVER_DSR, ST_DSR},
	    {MOCK_SERVER_RI, ST_RI},
	    {MOCK_SERVER_CTS, ST_CTS},
	    {MOCK_SERVER_EV_BREAK, ST_BREAK},
	    {MOCK_SERVER_EV_FRAMING, ST_FRAMING},
	    {MOCK_SERVER_EV_PARITY, ST_PARITY},
	    {MOCK_SERVER_EV_OVERRUN, ST_OVERRUN},
	};
	/* bmRequestType 0xA1, SERIAL_STATE 0x20, wValue 0, wIndex 0, wLength 2 */
	guint8 note[NOTE_SIZE] = {0xa1, 0x20, 0, 0, 0, 0, 2, 0, 0, 0};

	for (guint i = 0; i < G_N_ELEMENTS(map); i++)
		if (bits & map[i].bit)
			note[8] |= map[i].st;
	p->inputs = bits & MOCK_SERVER_INPUTS;
	return mock_port_queue_note(p, note, sizeof(note));
}

static void pl_describe(const MockPort *p, GString *out)
{
	const PlRegs *r = cregs(p);

	g_string_append_printf(out, "%s line=", chip_names[p->chip]);
	for (guint i = 0; i < LINE_SIZE; i++)
		g_string_append_printf(out, "%02x", r->line[i]);
	g_string_append_printf(out, " flow_reg=0x%02x mcr=0x%x break=%d",
	                       r->reg[p->chip == PL_HXN ? HXN_FLOW_REG : HX_FLOW_REG], r->mcr,
	                       r->brk);
}

const MockModelOps mock_model_pl2303 = {
    .name = "pl2303",
    .match = pl_match,
    .probe = pl_probe,
    .reset = pl_reset,
    .control = pl_control,
    .line = pl_line,
    .inputs = pl_inputs,
    .describe = pl_describe,
};
