/* SPDX-License-Identifier: MIT */
/*
 * model_ch341 - WCH CH340 (1a86:7523) and CH341 (1a86:5523) in UART mode:
 * one port on interface 0 (bulk pair and an interrupt IN endpoint).
 *
 * Facts (Linux drivers/usb/serial/ch341.c; OpenBSD uchcom.c for the
 * register pairs and the alternative SERIAL_INIT form):
 * - Vendor requests to the device: 0x5F READ_VERSION (IN, 2 bytes: version,
 *   0), 0xA1 SERIAL_INIT (wValue 0: reset the UART; else the OpenBSD form:
 *   LCR in the wValue high byte, prescaler and divisor in the wIndex low and
 *   high bytes), 0x9A WRITE_REG (register wValue low := wIndex low, register
 *   wValue high := wIndex high), 0x95 READ_REG (IN, 2 bytes: the registers
 *   named by the wValue low and high bytes), 0xA4 MODEM_CTRL (wValue = the
 *   inverted control byte: DTR 0x20, RTS 0x40 active low).
 * - Registers: 0x05 break (bit 0 clear = break), 0x06 status (read only:
 *   CTS 0x01, DSR 0x02, RI 0x04, DCD 0x08, DTR 0x20, RTS 0x40, all active
 *   low), 0x12 prescaler (bits 0-1 ps, bit 2 fact, bit 7 send short packets at
 *   once), 0x13 divisor (256 - div), 0x18 LCR (0x80 RX on, 0x40 TX on, 0x20
 *   stick parity, 0x10 even, 0x08 parity on, 0x04 two stop bits, bits 0-1
 *   data bits - 5), 0x25 LCR2 (0 on version 0x30 and later), 0x27 flow control
 *   (0x01 RTS/CTS).  Rate = 48 MHz / (2^(12 - 3 ps - fact) x div).
 * - Modem status: a 4-byte interrupt packet whose byte 2 low nibble holds
 *   CTS/DSR/RI/DCD active low (the Linux driver reads only that nibble; the
 *   other bytes follow its comment: 0x08, 0x00, ..., 0xee), and register 0x06.
 * - CH341A (5523): without prescaler bit 7 it holds received bytes until it
 *   has a full 32-byte packet.
 * This model reports version 0x30 (later parts: LCR in register 0x18) and has
 * a break register, so Linux uses the real break, not its simulation.  Line
 * events are not reported (the Linux driver has no use for them).
 * Power-on: 9600 8N1, RX and TX on, DTR and RTS off.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include <errno.h>
#include <string.h>

#include "mock_model.h"

enum {
	REQ_READ_VERSION = 0x5f,
	REQ_WRITE_REG = 0x9a,
	REQ_READ_REG = 0x95,
	REQ_SERIAL_INIT = 0xa1,
	REQ_MODEM_CTRL = 0xa4,
};

#define TYPE_OUT 0x40
#define TYPE_IN  0xc0

#define REG_BREAK     0x05
#define REG_STATUS    0x06
#define REG_STATUS2   0x07
#define REG_PRESCALER 0x12
#define REG_DIVISOR   0x13
#define REG_LCR       0x18
#define REG_LCR2      0x25
#define REG_FLOW      0x27

#define BREAK_OFF    0x01 /* register 0x05 bit 0 set: no break */
#define PRESCALE_NOW 0x80
#define LCR_RX       0x80
#define LCR_TX       0x40
#define LCR_STICK    0x20
#define LCR_EVEN     0x10
#define LCR_PARITY   0x08
#define LCR_STOP2    0x04
#define MCR_DTR      0x20
#define MCR_RTS      0x40
#define FLOW_RTSCTS  0x01

#define VERSION 0x30

enum { CH340, CH341 };
static const char *const chip_names[] = {[CH340] = "CH340", [CH341] = "CH341"};

typedef struct {
	guint8 reg[256];
	guint8 mcr; /* MOCK_SERVER_DTR | MOCK_SERVER_RTS */
} ChRegs;
G_STATIC_ASSERT(sizeof(ChRegs) <= sizeof(((MockPort *)0)->priv));

static ChRegs *regs(MockPort *p)
{
	return (ChRegs *)p->priv.bytes;
}

static const ChRegs *cregs(const MockPort *p)
{
	return (const ChRegs *)p->priv.bytes;
}

static gboolean ch_match(const MockModelDevice *dev)
{
	return dev->desc->idVendor == 0x1a86 &&
	       (dev->desc->idProduct == 0x7523 || dev->desc->idProduct == 0x5523);
}

static guint ch_probe(const MockModelDevice *dev, const struct usb_config_desc *c, MockPort *ports,
                      guint max)
{
	const struct usb_interface_desc *it = usb_desc_find_interface(c, 0, 0);
	MockPort *p = &ports[0];

	if (!it || max < 1 || !mock_port_endpoints(p, it))
		return 0;
	p->chip = dev->desc->idProduct == 0x5523 ? CH341 : CH340;
	return 1;
}

static void uart_defaults(ChRegs *r)
{
	r->reg[REG_BREAK] = BREAK_OFF;
	r->reg[REG_PRESCALER] = 0x02; /* ps 2, fact 0 */
	r->reg[REG_DIVISOR] = 0xb2;   /* div 78: 9615 bit/s, the nearest to 9600 */
	r->reg[REG_LCR] = LCR_RX | LCR_TX | 0x03;
	r->reg[REG_LCR2] = 0;
	r->reg[REG_FLOW] = 0;
}

static void ch_reset(MockPort *p)
{
	uart_defaults(regs(p));
}

static double ch_rate(const ChRegs *r)
{
	guint ps = r->reg[REG_PRESCALER] & 3, fact = (r->reg[REG_PRESCALER] >> 2) & 1;
	guint div = 256u - r->reg[REG_DIVISOR];

	return 48e6 / ((double)(1u << (12 - 3 * ps - fact)) * div);
}

static void ch_line(const MockPort *p, MockServerLine *out)
{
	const ChRegs *r = cregs(p);
	guint8 lcr = r->reg[REG_LCR];

	memset(out, 0, sizeof(*out));
	out->rate = ch_rate(r);
	out->data_bits = 5 + (lcr & 3);
	if (!(lcr & LCR_PARITY))
		out->parity = MOCK_SERVER_PARITY_NONE;
	else if (lcr & LCR_STICK)
		out->parity = lcr & LCR_EVEN ? MOCK_SERVER_PARITY_SPACE : MOCK_SERVER_PARITY_MARK;
	else
		out->parity = lcr & LCR_EVEN ? MOCK_SERVER_PARITY_EVEN : MOCK_SERVER_PARITY_ODD;
	out->stop_bits = lcr & LCR_STOP2 ? MOCK_SERVER_STOP_2 : MOCK_SERVER_STOP_1;
	if (r->reg[REG_FLOW] & FLOW_RTSCTS)
		out->flow |= MOCK_SERVER_FLOW_RTSCTS;
}

static guint8 status_reg(const MockPort *p)
{
	const ChRegs *r = cregs(p);
	guint8 active = (guint8)((p->inputs & MOCK_SERVER_INPUTS) >> 4); /* CTS..DCD */

	return (guint8)(~active & 0x0f) | (r->mcr & MOCK_SERVER_DTR ? 0 : MCR_DTR) |
	       (r->mcr & MOCK_SERVER_RTS ? 0 : MCR_RTS);
}

static gboolean in_break(const ChRegs *r)
{
	return !(r->reg[REG_BREAK] & BREAK_OFF);
}

/* Write one register with the side effects the host sees in the history. */
static void write_reg(MockPort *p, guint8 reg, guint8 val)
{
	ChRegs *r = regs(p);
	gboolean was = in_break(r);

	if (reg == REG_STATUS)
		return; /* read only */
	r->reg[reg] = val;
	if (reg == REG_BREAK && in_break(r) != was)
		mock_port_record_break(p, in_break(r) ? 0xffff : 0);
}

static gboolean is_line_reg(guint8 reg)
{
	return reg == REG_PRESCALER || reg == REG_DIVISOR || reg == REG_LCR || reg == REG_FLOW;
}

static int ch_control(MockPort *ports, guint n, const struct usb_setup *s, const guint8 *out,
                      gsize out_len, guint8 *in, gsize *in_len)
{
	MockPort *p = &ports[0];
	ChRegs *r = regs(p);
	gboolean dir_in = (s->bmRequestType & USB_DIR_IN) != 0;
	guint8 buf[2];

	if (s->bmRequestType != (dir_in ? TYPE_IN : TYPE_OUT))
		return -EPIPE;
	switch (s->bRequest) {
	case REQ_READ_VERSION:
		if (!dir_in)
			return -EPIPE;
		buf[0] = VERSION;
		buf[1] = 0;
		*in_len = mock_model_answer(s, in, buf, 2);
		return 0;
	case REQ_READ_REG:
		if (!dir_in)
			return -EPIPE;
		buf[0] =
		    (s->wValue & 0xff) == REG_STATUS ? status_reg(p) : r->reg[s->wValue & 0xff];
		buf[1] = (s->wValue >> 8) == REG_STATUS ? status_reg(p) : r->reg[s->wValue >> 8];
		*in_len = mock_model_answer(s, in, buf, 2);
		return 0;
	case REQ_WRITE_REG:
		if (dir_in)
			return -EPIPE;
		write_reg(p, s->wValue & 0xff, s->wIndex & 0xff);
		write_reg(p, s->wValue >> 8, s->wIndex >> 8);
		if (is_line_reg(s->wValue & 0xff) || is_line_reg(s->wValue >> 8))
			mock_port_line_changed(p);
		return 0;
	case REQ_SERIAL_INIT:
		if (dir_in)
			return -EPIPE;
		uart_defaults(r);
		if (s->wValue) {
			write_reg(p, REG_LCR, s->wValue >> 8);
			write_reg(p, REG_PRESCALER, s->wIndex & 0xff);
			write_reg(p, REG_DIVISOR, s->wIndex >> 8);
		}
		mock_port_line_changed(p);
		return 0;
	case REQ_MODEM_CTRL:
		if (dir_in)
			return -EPIPE;
		r->mcr = (s->wValue & MCR_DTR ? 0 : MOCK_SERVER_DTR) |
		         (s->wValue & MCR_RTS ? 0 : MOCK_SERVER_RTS);
		mock_port_record_lines(p, r->mcr);
		return 0;
	default:
		(void)n;
		(void)out;
		(void)out_len;
		return -EPIPE;
	}
}

/* The far end only hears what the transmitter sends: nothing in a break or
 * with TX off; the receiver keeps nothing with RX off. */
static gsize ch_loop_in(MockPort *p, const guint8 *data, gsize len)
{
	const ChRegs *r = cregs(p);

	if (in_break(r) || !(r->reg[REG_LCR] & LCR_TX))
		return 0;
	if (!(r->reg[REG_LCR] & LCR_RX))
		return len; /* sent, echoed, not received */
	return mock_port_loop_raw(p, data, len);
}

static gssize ch_frame_in(MockPort *p, guint8 *dst, gsize cap, gint64 now, gint64 *wake)
{
	const ChRegs *r = cregs(p);

	if (p->chip == CH341 && !(r->reg[REG_PRESCALER] & PRESCALE_NOW) &&
	    p->ring.used < p->bulk_in_mps)
		return -1; /* buffers until a full packet */
	return mock_port_frame_raw(p, dst, cap);
}

static int ch_inputs(MockPort *p, guint16 bits)
{
	guint8 pkt[4] = {0x08, 0x00, 0, 0xee};

	if (bits & MOCK_SERVER_EVENTS)
		return -ENOTSUP;
	if (!p->has_notify)
		return -ENOTSUP;
	p->inputs = bits & MOCK_SERVER_INPUTS;
	pkt[2] = 0x90 | (status_reg(p) & 0x0f);
	return mock_port_queue_note(p, pkt, sizeof(pkt));
}

static void ch_describe(const MockPort *p, GString *out)
{
	const ChRegs *r = cregs(p);

	g_string_append_printf(out,
	                       "%s version=0x%02x prescaler=0x%02x divisor=0x%02x lcr=0x%02x "
	                       "lcr2=0x%02x flow=0x%02x break_reg=0x%02x status=0x%02x",
	                       chip_names[p->chip], VERSION, r->reg[REG_PRESCALER],
	                       r->reg[REG_DIVISOR], r->reg[REG_LCR], r->reg[REG_LCR2],
	                       r->reg[REG_FLOW], r->reg[REG_BREAK], status_reg(p));
}

const MockModelOps mock_model_ch341 = {
    .name = "ch341",
    .match = ch_match,
    .probe = ch_probe,
    .reset = ch_reset,
    .control = ch_control,
    .line = ch_line,
    .loop_in = ch_loop_in,
    .frame_in = ch_frame_in,
    .inputs = ch_inputs,
    .describe = ch_describe,
};
