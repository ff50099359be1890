/* SPDX-License-Identifier: MIT */
/*
 * model_cp210x - Silicon Labs CP2102 and CP2104 (10c4:ea60): one port on
 * interface 0.  The two parts share descriptors; a fixture's product string
 * "CP2104..." or a "# mock-model: cp210x/CP2104" line selects the CP2104.
 *
 * Facts (Linux drivers/usb/serial/cp210x.c, Silicon Labs AN571 "CP210x
 * Virtual COM Port Interface", AN205 "CP210x Baud Rate Support", CP2104 data
 * sheet section 6.1):
 * - Interface requests 0x41 (OUT) / 0xC1 (IN), wIndex = interface:
 *   IFC_ENABLE 0x00 (1 on, 0 off: the UART moves no data while off, and
 *   turning it off ends event insertion), SET_BAUDDIV 0x01 / GET_BAUDDIV 0x02
 *   (divisor of 3.6864 MHz), SET_LINE_CTL 0x03 / GET_LINE_CTL 0x04 (bits 0-3
 *   stop 1/1.5/2, 4-7 parity N O E M S, 8-15 data bits 5-8; others stall),
 *   SET_BREAK 0x05, IMM_CHAR 0x06, SET_MHS 0x07 (bit0 DTR, bit1 RTS, bit8/bit9
 *   write them), GET_MDMSTS 0x08 (DTR 0x01, RTS 0x02, CTS 0x10, DSR 0x20,
 *   RI 0x40, DCD 0x80), SET_XON 0x09, SET_XOFF 0x0A, SET/GET_EVENTMASK
 *   0x0B/0x0C, SET_CHAR 0x0D, GET_CHARS 0x0E, GET_COMM_STATUS 0x10 (19
 *   bytes), PURGE 0x12 (bit 1 or 3: receive queue), SET_FLOW 0x13 / GET_FLOW
 *   0x14 (16 bytes: ulControlHandshake bits 0-1 DTR mode, bit 3 CTS
 *   handshake, bit 4 DSR handshake; ulFlowReplace bit 0 auto-transmit (obey
 *   XON/XOFF), bit 1 auto-receive (send them), bits 6-7 RTS mode; the XON and
 *   XOFF limits), EMBED_EVENTS 0x15 (wValue: escape character, 0 off),
 *   SET_CHARS 0x19 (6 bytes: EOF, error, break, event, XON, XOFF),
 *   GET_BAUDRATE 0x1D / SET_BAUDRATE 0x1E (4 bytes).
 * - Device request 0xC0 0xFF wValue 0x370B: part number (CP2102 0x02,
 *   CP2104 0x04); a genuine CP2102 answers a 2-byte read with 2 bytes (the
 *   second byte's value is not documented: 0 here).  CP2104 only: 0x370C,
 *   the 13-byte port configuration (all GPIO pins inputs, its default).
 * - Rates: the CP2102 maps a request to one of AN205 Table 1's rates (a
 *   request outside 57..1053257 is undefined there and kept as asked); the
 *   CP2104 runs at 48 MHz / (2 x prescale x round(48 MHz / (2 x prescale x
 *   request))), prescale 4 for requests up to 365 bit/s, else 1.
 * - With EMBED_EVENTS set, received data carry events after the escape
 *   character: ESC 0x00 a literal escape character, ESC 0x01 LSR DATA a byte
 *   received with line status (break 0x10, framing 0x08, parity 0x04,
 *   overrun 0x02), ESC 0x02 LSR line status alone.  Modem-status changes are
 *   not inserted here (the Linux driver ignores them).
 * Not modelled (they stall): GET_PROPS, RESET, GET_EVENTSTATE, GPIO latch
 * requests.  Power-on: UART off, 9600 8N1, DTR and RTS inactive.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "byteorder.h"
#include "mock_model.h"

enum {
	REQ_IFC_ENABLE = 0x00,
	REQ_SET_BAUDDIV = 0x01,
	REQ_GET_BAUDDIV = 0x02,
	REQ_SET_LINE_CTL = 0x03,
	REQ_GET_LINE_CTL = 0x04,
	REQ_SET_BREAK = 0x05,
	REQ_IMM_CHAR = 0x06,
	REQ_SET_MHS = 0x07,
	REQ_GET_MDMSTS = 0x08,
	REQ_SET_XON = 0x09,
	REQ_SET_XOFF = 0x0a,
	REQ_SET_EVENTMASK = 0x0b,
	REQ_GET_EVENTMASK = 0x0c,
	REQ_SET_CHAR = 0x0d,
	REQ_GET_CHARS = 0x0e,
	REQ_GET_COMM_STATUS = 0x10,
	REQ_PURGE = 0x12,
	REQ_SET_FLOW = 0x13,
	REQ_GET_FLOW = 0x14,
	REQ_EMBED_EVENTS = 0x15,
	REQ_SET_CHARS = 0x19,
	REQ_GET_BAUDRATE = 0x1d,
	REQ_SET_BAUDRATE = 0x1e,
	REQ_VENDOR = 0xff,
};

#define TYPE_IFC_OUT 0x41
#define TYPE_IFC_IN  0xc1
#define TYPE_DEV_IN  0xc0

#define VAL_GET_PARTNUM    0x370b
#define VAL_GET_PORTCONFIG 0x370c

#define BAUDDIV_CLOCK 3686400u

/* ulControlHandshake / ulFlowReplace bits */
#define HS_DTR_MASK   0x03u
#define HS_CTS        0x08u
#define HS_DSR        0x10u
#define FR_AUTO_TX    0x01u
#define FR_AUTO_RX    0x02u
#define FR_RTS_SHIFT  6
#define FR_RTS_MASK   (3u << FR_RTS_SHIFT)
#define MODE_INACTIVE 0u
#define MODE_ACTIVE   1u
#define MODE_FLOW_CTL 2u

/* GET_COMM_STATUS ulErrors (AN571) and the inserted LSR bits */
#define ERR_BREAK   0x01u
#define ERR_FRAMING 0x02u
#define ERR_OVERRUN 0x04u
#define ERR_PARITY  0x10u
#define LSR_OE      0x02
#define LSR_PE      0x04
#define LSR_FE      0x08
#define LSR_BI      0x10

enum { CP2102, CP2104 };

static const struct {
	const char *name;
	guint8 partnum;
} chips[] = {
    [CP2102] = {"CP2102", 0x02},
    [CP2104] = {"CP2104", 0x04},
};

typedef struct {
	gboolean enabled;
	guint32 baud; /* as the host set it (SET_BAUDRATE, or from SET_BAUDDIV) */
	guint16 line_ctl;
	gboolean brk;
	guint32 ctl_hs, flow_repl, xon_limit, xoff_limit;
	guint8 chars[6]; /* EOF, error, break, event, XON, XOFF */
	guint8 esc;      /* EMBED_EVENTS escape character, 0 off */
	guint16 event_mask;
	guint32 errors; /* since the last GET_COMM_STATUS */
} CpRegs;
G_STATIC_ASSERT(sizeof(CpRegs) <= sizeof(((MockPort *)0)->priv));

/* AN205 Table 1: requests from `low` up to the next row's low give `rate`. */
static const struct {
	guint32 low, rate;
} an205[] = {
    {57, 300},        {301, 600},       {601, 1200},      {1201, 1800},
    {1801, 2400},     {2401, 4000},     {4001, 4800},     {4804, 7200},
    {7208, 9600},     {9613, 14400},    {14429, 16000},   {16063, 19200},
    {19251, 28800},   {28913, 38400},   {38602, 51200},   {51559, 56000},
    {56281, 57600},   {58054, 64000},   {64112, 76800},   {77609, 115200},
    {117029, 128000}, {129348, 153600}, {156869, 230400}, {237833, 250000},
    {254235, 256000}, {273067, 460800}, {491521, 500000}, {567139, 576000},
    {670255, 921600}, {1053258, 0}, /* 1053258 and up: undefined */
};

static CpRegs *regs(MockPort *p)
{
	return (CpRegs *)p->priv.bytes;
}

static const CpRegs *cregs(const MockPort *p)
{
	return (const CpRegs *)p->priv.bytes;
}

static gboolean cp_match(const MockModelDevice *dev)
{
	return dev->desc->idVendor == 0x10c4 && dev->desc->idProduct == 0xea60;
}

static guint cp_probe(const MockModelDevice *dev, const struct usb_config_desc *c, MockPort *ports,
                      guint max)
{
	gboolean cp2104 = (dev->variant && !g_ascii_strcasecmp(dev->variant, "CP2104")) ||
	                  strstr(dev->product, "CP2104");
	guint n = 0;

	for (guint i = 0; i < c->num_interfaces && n < max; i++) {
		const struct usb_interface_desc *it = &c->intf[i];
		MockPort *p = &ports[n];
		if (it->bAlternateSetting != 0 || !mock_port_endpoints(p, it))
			continue;
		p->index = (guint8)n;
		p->chip = cp2104 ? CP2104 : CP2102;
		n++;
	}
	return n;
}

static void cp_reset(MockPort *p)
{
	CpRegs *r = regs(p);

	r->baud = 9600;
	r->line_ctl = 0x0800; /* 8N1 */
	r->chars[4] = 0x11;   /* XON */
	r->chars[5] = 0x13;   /* XOFF */
}

static double cp_rate(const MockPort *p)
{
	guint32 req = cregs(p)->baud;

	if (p->chip == CP2104) {
		double prescale = req <= 365 ? 4.0 : 1.0;
		double div = round(48e6 / (2.0 * prescale * req));
		return 48e6 / (2.0 * prescale * MAX(div, 1.0));
	}
	if (req < an205[0].low)
		return req;
	for (guint i = 0; i + 1 < G_N_ELEMENTS(an205); i++)
		if (req < an205[i + 1].low)
			return an205[i].rate;
	return req;
}

static guint8 dtr_mode(const CpRegs *r)
{
	return r->ctl_hs & HS_DTR_MASK;
}

static guint8 rts_mode(const CpRegs *r)
{
	return (r->flow_repl & FR_RTS_MASK) >> FR_RTS_SHIFT;
}

/* DTR/RTS as the host set them (a flow-controlled line counts as on). */
static guint16 mcr_of(const CpRegs *r)
{
	return (dtr_mode(r) != MODE_INACTIVE ? MOCK_SERVER_DTR : 0) |
	       (rts_mode(r) != MODE_INACTIVE ? MOCK_SERVER_RTS : 0);
}

static void cp_line(const MockPort *p, MockServerLine *out)
{
	const CpRegs *r = cregs(p);

	memset(out, 0, sizeof(*out));
	out->rate = cp_rate(p);
	out->data_bits = r->line_ctl >> 8;
	out->parity = (r->line_ctl >> 4) & 0xf;
	out->stop_bits = r->line_ctl & 0xf;
	if (r->ctl_hs & HS_CTS)
		out->flow |= MOCK_SERVER_FLOW_RTSCTS;
	if (r->ctl_hs & HS_DSR)
		out->flow |= MOCK_SERVER_FLOW_DTRDSR;
	if (r->flow_repl & FR_AUTO_TX)
		out->flow |= MOCK_SERVER_FLOW_IXON;
	if (r->flow_repl & FR_AUTO_RX)
		out->flow |= MOCK_SERVER_FLOW_IXOFF;
	out->xon = r->chars[4];
	out->xoff = r->chars[5];
}

static int set_line_ctl(MockPort *p, guint16 v)
{
	guint data = v >> 8, parity = (v >> 4) & 0xf, stop = v & 0xf;

	if (data < 5 || data > 8 || parity > 4 || stop > 2)
		return -EPIPE;
	regs(p)->line_ctl = v;
	mock_port_line_changed(p);
	return 0;
}

static int set_mhs(MockPort *p, guint16 v)
{
	CpRegs *r = regs(p);

	if (!(v & 0x0300))
		return 0;
	if (v & 0x0100) {
		r->ctl_hs &= ~HS_DTR_MASK;
		r->ctl_hs |= (v & 0x01) ? MODE_ACTIVE : MODE_INACTIVE;
	}
	if (v & 0x0200) {
		guint8 mode = (v & 0x02)
		                  ? (rts_mode(r) == MODE_FLOW_CTL ? MODE_FLOW_CTL : MODE_ACTIVE)
		                  : MODE_INACTIVE;
		r->flow_repl = (r->flow_repl & ~FR_RTS_MASK) | (guint32)mode << FR_RTS_SHIFT;
	}
	mock_port_record_lines(p, mcr_of(r));
	return 0;
}

static void set_flow(MockPort *p, const guint8 *d)
{
	CpRegs *r = regs(p);
	guint16 before = mcr_of(r);

	r->ctl_hs = get_le32(d);
	r->flow_repl = get_le32(d + 4);
	r->xon_limit = get_le32(d + 8);
	r->xoff_limit = get_le32(d + 12);
	if (mcr_of(r) != before)
		mock_port_record_lines(p, mcr_of(r));
	mock_port_line_changed(p);
}

static void get_flow(const CpRegs *r, guint8 d[16])
{
	put_le32(d, r->ctl_hs);
	put_le32(d + 4, r->flow_repl);
	put_le32(d + 8, r->xon_limit);
	put_le32(d + 12, r->xoff_limit);
}

static void set_break(MockPort *p, gboolean on)
{
	CpRegs *r = regs(p);

	if (r->brk != on)
		mock_port_record_break(p, on ? 0xffff : 0);
	r->brk = on;
}

static void comm_status(MockPort *p, guint8 d[19])
{
	CpRegs *r = regs(p);

	memset(d, 0, 19);
	put_le32(d, r->errors);
	put_le32(d + 8, (guint32)p->ring.used); /* ulAmountInInQueue */
	/* ulAmountInOutQueue 0: the far end took every byte at once */
	r->errors = 0;
}

static gsize cp_loop_in(MockPort *p, const guint8 *data, gsize len);

/* Vendor requests to the device (part number, port configuration). */
static int vendor_request(MockPort *p, const struct usb_setup *s, guint8 *in, gsize *in_len)
{
	guint8 buf[13] = {0};

	if (s->bmRequestType != TYPE_DEV_IN)
		return -EPIPE;
	switch (s->wValue) {
	case VAL_GET_PARTNUM:
		buf[0] = chips[p->chip].partnum;
		*in_len = mock_model_answer(s, in, buf, 2);
		return 0;
	case VAL_GET_PORTCONFIG:
		if (p->chip != CP2104)
			return -EPIPE;
		/* gpio_mode 0 (open drain), reset_state latches high: inputs;
		 * device_cfg 0: no alternate functions */
		put_le16(buf + 4, 0x0f00);
		*in_len = mock_model_answer(s, in, buf, 13);
		return 0;
	default:
		return -EPIPE;
	}
}

static int interface_in(MockPort *p, const struct usb_setup *s, guint8 *in, gsize *in_len)
{
	CpRegs *r = regs(p);
	guint8 buf[19];

	switch (s->bRequest) {
	case REQ_GET_BAUDDIV:
		put_le16(buf, (guint16)(BAUDDIV_CLOCK / MAX(r->baud, 1u)));
		*in_len = mock_model_answer(s, in, buf, 2);
		return 0;
	case REQ_GET_LINE_CTL:
		put_le16(buf, r->line_ctl);
		*in_len = mock_model_answer(s, in, buf, 2);
		return 0;
	case REQ_GET_MDMSTS:
		buf[0] = (guint8)(mcr_of(r) | (p->inputs & MOCK_SERVER_INPUTS));
		*in_len = mock_model_answer(s, in, buf, 1);
		return 0;
	case REQ_GET_EVENTMASK:
		put_le16(buf, r->event_mask);
		*in_len = mock_model_answer(s, in, buf, 2);
		return 0;
	case REQ_GET_CHARS:
		*in_len = mock_model_answer(s, in, r->chars, 6);
		return 0;
	case REQ_GET_COMM_STATUS:
		comm_status(p, buf);
		*in_len = mock_model_answer(s, in, buf, 19);
		return 0;
	case REQ_GET_FLOW:
		get_flow(r, buf);
		*in_len = mock_model_answer(s, in, buf, 16);
		return 0;
	case REQ_GET_BAUDRATE:
		put_le32(buf, r->baud);
		*in_len = mock_model_answer(s, in, buf, 4);
		return 0;
	default:
		return -EPIPE;
	}
}

static int interface_out(MockPort *p, const struct usb_setup *s, const guint8 *out, gsize out_len)
{
	CpRegs *r = regs(p);
	guint8 c;

	switch (s->bRequest) {
	case REQ_IFC_ENABLE:
		if (s->wValue > 1)
			return -EPIPE;
		r->enabled = s->wValue == 1;
		if (!r->enabled)
			r->esc = 0;
		return 0;
	case REQ_SET_BAUDDIV:
		if (s->wValue == 0)
			return -EPIPE;
		r->baud = BAUDDIV_CLOCK / s->wValue;
		mock_port_line_changed(p);
		return 0;
	case REQ_SET_LINE_CTL:
		return set_line_ctl(p, s->wValue);
	case REQ_SET_BREAK:
		if (s->wValue > 1)
			return -EPIPE;
		set_break(p, s->wValue == 1);
		return 0;
	case REQ_IMM_CHAR:
		c = s->wValue & 0xff;
		cp_loop_in(p, &c, 1); /* sent ahead of the queue, echoed back */
		return 0;
	case REQ_SET_MHS:
		return set_mhs(p, s->wValue);
	case REQ_SET_XON:
	case REQ_SET_XOFF:
		return 0;
	case REQ_SET_EVENTMASK:
		r->event_mask = s->wValue;
		return 0;
	case REQ_SET_CHAR:
		if ((s->wValue >> 8) >= G_N_ELEMENTS(r->chars))
			return -EPIPE;
		r->chars[s->wValue >> 8] = s->wValue & 0xff;
		mock_port_line_changed(p);
		return 0;
	case REQ_PURGE:
		if (s->wValue & 0x0a)
			mock_ring_clear(&p->ring);
		return 0;
	case REQ_SET_FLOW:
		if (out_len != 16)
			return -EPIPE;
		set_flow(p, out);
		return 0;
	case REQ_EMBED_EVENTS:
		r->esc = s->wValue & 0xff;
		return 0;
	case REQ_SET_CHARS:
		if (out_len != 6)
			return -EPIPE;
		memcpy(r->chars, out, 6);
		mock_port_line_changed(p);
		return 0;
	case REQ_SET_BAUDRATE:
		if (out_len != 4 || get_le32(out) == 0)
			return -EPIPE;
		r->baud = get_le32(out);
		mock_port_line_changed(p);
		return 0;
	default:
		return -EPIPE;
	}
}

static int cp_control(MockPort *ports, guint n, const struct usb_setup *s, const guint8 *out,
                      gsize out_len, guint8 *in, gsize *in_len)
{
	MockPort *p = mock_port_by_intf(ports, n, s->wIndex & 0xff);

	if (!p)
		return -EPIPE;
	if (s->bRequest == REQ_VENDOR)
		return vendor_request(p, s, in, in_len);
	if (s->bmRequestType == TYPE_IFC_IN)
		return interface_in(p, s, in, in_len);
	if (s->bmRequestType == TYPE_IFC_OUT)
		return interface_out(p, s, out, out_len);
	return -EPIPE;
}

/* The UART receives what the far end echoes: nothing while it is off; with
 * event insertion on, the escape character arrives doubled as ESC 0x00. */
static gsize cp_loop_in(MockPort *p, const guint8 *data, gsize len)
{
	const CpRegs *r = cregs(p);
	gsize i;

	if (!r->enabled)
		return 0;
	if (!r->esc)
		return mock_port_loop_raw(p, data, len);
	for (i = 0; i < len; i++) {
		static const guint8 escaped_zero = 0x00;
		gboolean esc = data[i] == r->esc;
		if (mock_ring_space(&p->ring) < (esc ? 2u : 1u))
			break;
		mock_ring_write(&p->ring, &data[i], 1);
		if (esc)
			mock_ring_write(&p->ring, &escaped_zero, 1);
	}
	return i;
}

static gssize cp_frame_in(MockPort *p, guint8 *dst, gsize cap, gint64 now, gint64 *wake)
{
	if (!cregs(p)->enabled)
		return -1;
	return mock_port_frame_raw(p, dst, cap);
}

static int cp_inputs(MockPort *p, guint16 bits)
{
	CpRegs *r = regs(p);
	guint8 lsr = 0;

	if (bits & MOCK_SERVER_EV_BREAK) {
		r->errors |= ERR_BREAK;
		lsr |= LSR_BI;
	}
	if (bits & MOCK_SERVER_EV_FRAMING) {
		r->errors |= ERR_FRAMING;
		lsr |= LSR_FE;
	}
	if (bits & MOCK_SERVER_EV_PARITY) {
		r->errors |= ERR_PARITY;
		lsr |= LSR_PE;
	}
	if (bits & MOCK_SERVER_EV_OVERRUN) {
		r->errors |= ERR_OVERRUN;
		lsr |= LSR_OE;
	}
	if (lsr && r->enabled && r->esc) {
		/* a break arrives as a NUL received with the break status */
		guint8 ev[4] = {r->esc, (lsr & LSR_BI) ? 0x01 : 0x02, lsr, 0x00};
		gsize len = (lsr & LSR_BI) ? 4 : 3;
		if (mock_ring_space(&p->ring) < len)
			return -ENOSPC;
		mock_ring_write(&p->ring, ev, len);
	}
	p->inputs = bits & MOCK_SERVER_INPUTS;
	return 0;
}

static void cp_describe(const MockPort *p, GString *out)
{
	const CpRegs *r = cregs(p);

	g_string_append_printf(out,
	                       "%s enabled=%d baud=%u line_ctl=0x%04x ctl_hs=0x%08x "
	                       "flow_repl=0x%08x xon=0x%02x xoff=0x%02x esc=0x%02x break=%d",
	                       chips[p->chip].name, r->enabled, r->baud, r->line_ctl, r->ctl_hs,
	                       r->flow_repl, r->chars[4], r->chars[5], r->esc, r->brk);
}

const MockModelOps mock_model_cp210x = {
    .name = "cp210x",
    .match = cp_match,
    .probe = cp_probe,
    .reset = cp_reset,
    .control = cp_control,
    .line = cp_line,
    .loop_in = cp_loop_in,
    .frame_in = cp_frame_in,
    .inputs = cp_inputs,
    .describe = cp_describe,
};
