/* SPDX-License-Identifier: MIT */
/*
 * model_ftdi - FTDI USB UART chips: FT232BM, FT2232C/D, FT232R, FT2232H,
 * FT4232H, FT232H and FT-X, told apart by bcdDevice (0x400, 0x500, 0x600,
 * 0x700, 0x800, 0x900, 0x1000) as the chips report it; one port per
 * interface that has a bulk pair (channel A = interface 0).
 *
 * Facts (Linux drivers/usb/serial/ftdi_sio.[ch], FTDI AN232B-05 "Configuring
 * FT232R, FT2232 and FT232B Baud Rates"):
 * - Vendor requests to the device, 0x40 (OUT, no data stage) and 0xC0 (IN):
 *   0x00 RESET (wValue 0 reset SIO: flow off, event char 0x0D disabled,
 *   buffers purged, DTR and RTS cleared; 1 purge RX; 2 purge TX),
 *   0x01 MODEM_CTRL (wValue bit8/bit9 enable DTR/RTS, bit0/bit1 their level),
 *   0x02 SET_FLOW_CTRL (wIndex high byte: 1 RTS/CTS, 2 DTR/DSR, 4 XON/XOFF;
 *   wValue XOFF << 8 | XON), 0x03 SET_BAUDRATE, 0x04 SET_DATA (bits 0-7 data
 *   bits, 8-10 parity N O E M S, 11-13 stop 1/1.5/2, 14 break),
 *   0x05 GET_MODEM_STATUS (2 bytes, as the bulk-IN status bytes),
 *   0x06 SET_EVENT_CHAR, 0x07 SET_ERROR_CHAR, 0x09 SET_LATENCY_TIMER (ms),
 *   0x0A GET_LATENCY_TIMER (1 byte), 0x0B SET_BITMODE (wValue mode << 8 |
 *   mask).  wIndex low byte names the port: 0 (default) or 1 = A, 2 = B...
 * - The chips take only 7 or 8 data bits; any other value gives 8 (the
 *   Linux driver relies on that for CS5).
 * - Baud divisor: 14 integer bits in wValue 0-13 and a 3-bit fraction code
 *   (wValue bits 14, 15 and divisor bit 16) for eighths 0, 4, 2, 1, 3, 5, 6,
 *   7; rate = base / divisor with base 3 MHz (48 MHz / 16); an encoded 0
 *   means divisor 1 and an encoded 1 means 1.5.  FT232BM and FT232R carry
 *   divisor bit 16 in wIndex bit 0; the chips that take a port number in
 *   wIndex (FT2232C, the H series, FT-X) carry divisor bits 16-17 in the wIndex
 *   high byte.  On the H series bit 17 switches the base to 12 MHz (the
 *   120 MHz clock divided by 10).
 * - Bulk IN: every max-packet starts with two status bytes, modem status
 *   (bit0 always 1, CTS 0x10, DSR 0x20, RI 0x40, DCD 0x80) and line status
 *   (OE 0x02, PE 0x04, FE 0x08, BI 0x10, THRE 0x20, TEMT 0x40).  The chip sends
 *   a packet when it holds a full one, else when the latency timer (default
 *   16 ms, restarted by each packet) expires, then with what it has, status
 *   bytes alone when it has nothing.  A received break is a NUL byte flagged
 *   BI, last in its packet.
 * Not modelled (they stall): EEPROM access, READ_PINS, bit-bang modes other
 * than reset and CBUS, the SIO and FT8U232AM.  Power-on line: 9600 8N1.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include <errno.h>
#include <string.h>

#include "mock_model.h"

enum {
	REQ_RESET = 0x00,
	REQ_MODEM_CTRL = 0x01,
	REQ_SET_FLOW_CTRL = 0x02,
	REQ_SET_BAUDRATE = 0x03,
	REQ_SET_DATA = 0x04,
	REQ_GET_MODEM_STATUS = 0x05,
	REQ_SET_EVENT_CHAR = 0x06,
	REQ_SET_ERROR_CHAR = 0x07,
	REQ_SET_LATENCY_TIMER = 0x09,
	REQ_GET_LATENCY_TIMER = 0x0a,
	REQ_SET_BITMODE = 0x0b,
};

#define TYPE_OUT 0x40
#define TYPE_IN  0xc0

#define FLOW_RTS_CTS  0x01
#define FLOW_DTR_DSR  0x02
#define FLOW_XON_XOFF 0x04

#define DATA_BREAK 0x4000u

#define MSR_RESERVED 0x01 /* modem status bit 0 is always set */
#define LSR_OE       0x02
#define LSR_PE       0x04
#define LSR_FE       0x08
#define LSR_BI       0x10
#define LSR_THRE     0x20
#define LSR_TEMT     0x40

typedef struct {
	guint16 bcd;
	const char *name;
	gboolean hi_clock;   /* H series: divisor bit 17 selects a 12 MHz base */
	gboolean port_index; /* wIndex low byte is the port, divisor bits in the high byte */
} FtdiChip;

static const FtdiChip chips[] = {
    {0x0400, "FT232BM", FALSE, FALSE}, {0x0500, "FT2232C", FALSE, TRUE},
    {0x0600, "FT232R", FALSE, FALSE},  {0x0700, "FT2232H", TRUE, TRUE},
    {0x0800, "FT4232H", TRUE, TRUE},   {0x0900, "FT232H", TRUE, TRUE},
    {0x1000, "FT-X", FALSE, TRUE},
};

/* Eighths of the fraction code (AN232B-05). */
static const guint8 frac_eighths[8] = {0, 4, 2, 1, 3, 5, 6, 7};

typedef struct {
	guint32 divisor; /* 18 bits: wValue, bit 16, bit 17 */
	guint16 data;    /* SET_DATA wValue, break bit included */
	guint8 flow;     /* SET_FLOW_CTRL protocol bits */
	guint8 xon, xoff;
	guint8 mcr; /* MOCK_SERVER_DTR | MOCK_SERVER_RTS */
	guint8 latency;
	guint16 event_char, error_char;
	guint16 bitmode;
	guint8 lsr_pending; /* line-status event bits for the next packet */
	gint32 brk_pos;     /* ring offset of a received break's NUL, -1 none */
	gint64 last_in;     /* monotonic µs of the last bulk-IN packet */
} FtdiRegs;
G_STATIC_ASSERT(sizeof(FtdiRegs) <= sizeof(((MockPort *)0)->priv));

static FtdiRegs *regs(MockPort *p)
{
	return (FtdiRegs *)p->priv.bytes;
}

static const FtdiRegs *cregs(const MockPort *p)
{
	return (const FtdiRegs *)p->priv.bytes;
}

static const FtdiChip *chip_of(const MockPort *p)
{
	return &chips[p->chip];
}

static gint chip_index(const struct usb_device_desc *d)
{
	if (d->idVendor != 0x0403)
		return -1;
	for (guint i = 0; i < G_N_ELEMENTS(chips); i++)
		if (chips[i].bcd == d->bcdDevice)
			return (gint)i;
	return -1;
}

static gboolean ftdi_match(const MockModelDevice *dev)
{
	return chip_index(dev->desc) >= 0;
}

static guint ftdi_probe(const MockModelDevice *dev, const struct usb_config_desc *c,
                        MockPort *ports, guint max)
{
	gint chip = chip_index(dev->desc);
	guint n = 0;

	if (chip < 0)
		return 0;
	for (guint i = 0; i < c->num_interfaces && n < max; i++) {
		const struct usb_interface_desc *it = &c->intf[i];
		MockPort *p = &ports[n];
		if (it->bAlternateSetting != 0 || !mock_port_endpoints(p, it))
			continue;
		p->index = it->bInterfaceNumber; /* channel A + interface number */
		p->chip = (guint8)chip;
		n++;
	}
	return n;
}

static void ftdi_reset(MockPort *p)
{
	FtdiRegs *r = regs(p);

	r->divisor = 312 | 1u << 14; /* 312.5: 9600 from 3 MHz */
	r->data = 8;                 /* 8N1 */
	r->latency = 16;
	r->event_char = 0x0d; /* disabled */
	r->brk_pos = -1;
}

static double ftdi_rate(const MockPort *p)
{
	guint32 d = cregs(p)->divisor;
	guint div = d & 0x3fff;
	guint code = ((d >> 14) & 3) | ((d >> 16) & 1) << 2;
	double base = chip_of(p)->hi_clock && (d & 0x20000) ? 12e6 : 3e6;

	if (div == 0 && code == 0)
		return base; /* divisor 1 */
	if (div == 1 && code == 0)
		return base / 1.5;
	return base * 8.0 / (div * 8.0 + frac_eighths[code]);
}

static void ftdi_line(const MockPort *p, MockServerLine *out)
{
	const FtdiRegs *r = cregs(p);

	memset(out, 0, sizeof(*out));
	out->rate = ftdi_rate(p);
	out->data_bits = (r->data & 0xff) == 7 ? 7 : 8;
	out->parity = (r->data >> 8) & 7;
	out->stop_bits = (r->data >> 11) & 7;
	if (r->flow & FLOW_RTS_CTS)
		out->flow |= MOCK_SERVER_FLOW_RTSCTS;
	if (r->flow & FLOW_DTR_DSR)
		out->flow |= MOCK_SERVER_FLOW_DTRDSR;
	if (r->flow & FLOW_XON_XOFF)
		out->flow |= MOCK_SERVER_FLOW_IXON | MOCK_SERVER_FLOW_IXOFF;
	out->xon = r->xon;
	out->xoff = r->xoff;
}

/* The port a wIndex low byte names: 0 (default) or 1 = A, 2 = B... */
static MockPort *port_named(MockPort *ports, guint n, guint8 sel)
{
	guint index = sel == 0 ? 0 : sel - 1u;

	for (guint i = 0; i < n; i++)
		if (ports[i].index == index)
			return &ports[i];
	return NULL;
}

static void set_lines(MockPort *p, guint8 mcr)
{
	regs(p)->mcr = mcr;
	mock_port_record_lines(p, mcr);
}

static void purge_rx(MockPort *p)
{
	mock_ring_clear(&p->ring);
	regs(p)->brk_pos = -1;
}

static int do_reset(MockPort *p, guint16 what)
{
	FtdiRegs *r = regs(p);

	switch (what) {
	case 0: /* reset SIO */
		r->flow = 0;
		r->event_char = 0x0d;
		r->lsr_pending = 0;
		purge_rx(p);
		if (r->mcr)
			set_lines(p, 0);
		mock_port_line_changed(p);
		return 0;
	case 1:
		purge_rx(p);
		return 0;
	case 2: /* the transmit side holds nothing: the far end took it */
		return 0;
	default:
		return -EPIPE;
	}
}

static int set_baudrate(MockPort *ports, guint n, const struct usb_setup *s)
{
	const FtdiChip *chip = &chips[ports[0].chip];
	guint8 high = chip->port_index ? s->wIndex >> 8 : s->wIndex & 0xff;
	MockPort *p = port_named(ports, n, chip->port_index ? s->wIndex & 0xff : 0);

	if (!p)
		return -EPIPE;
	regs(p)->divisor = s->wValue | (guint32)(high & (chip->hi_clock ? 3 : 1)) << 16;
	mock_port_line_changed(p);
	return 0;
}

static int set_data(MockPort *p, guint16 v)
{
	FtdiRegs *r = regs(p);
	gboolean was = (r->data & DATA_BREAK) != 0, now = (v & DATA_BREAK) != 0;

	if (((v >> 8) & 7) > 4 || ((v >> 11) & 7) > 2)
		return -EPIPE;
	r->data = v & 0x7fff;
	if (was != now)
		mock_port_record_break(p, now ? 0xffff : 0);
	mock_port_line_changed(p);
	return 0;
}

static int modem_ctrl(MockPort *p, guint16 v)
{
	guint8 mask = (v >> 8) & 3, mcr = regs(p)->mcr;

	if (!mask)
		return 0;
	mcr = (mcr & ~mask) | (v & mask);
	set_lines(p, mcr);
	return 0;
}

static void status_bytes(const MockPort *p, guint8 lsr, guint8 out[2])
{
	out[0] = MSR_RESERVED | (p->inputs & MOCK_SERVER_INPUTS);
	out[1] = LSR_THRE | LSR_TEMT | lsr;
}

static int ftdi_control(MockPort *ports, guint n, const struct usb_setup *s, const guint8 *out,
                        gsize out_len, guint8 *in, gsize *in_len)
{
	gboolean dir_in = (s->bmRequestType & USB_DIR_IN) != 0;
	MockPort *p;
	FtdiRegs *r;
	guint8 st[2];

	if (s->bmRequestType != (dir_in ? TYPE_IN : TYPE_OUT) || (!dir_in && s->wLength))
		return -EPIPE;
	if (s->bRequest == REQ_SET_BAUDRATE)
		return dir_in ? -EPIPE : set_baudrate(ports, n, s);
	p = port_named(ports, n, s->wIndex & 0xff);
	if (!p)
		return -EPIPE;
	r = regs(p);
	switch (s->bRequest) {
	case REQ_RESET:
		return dir_in ? -EPIPE : do_reset(p, s->wValue);
	case REQ_MODEM_CTRL:
		return dir_in ? -EPIPE : modem_ctrl(p, s->wValue);
	case REQ_SET_FLOW_CTRL:
		if (dir_in || (s->wIndex >> 8) & ~(FLOW_RTS_CTS | FLOW_DTR_DSR | FLOW_XON_XOFF))
			return -EPIPE;
		r->flow = s->wIndex >> 8;
		r->xon = s->wValue & 0xff;
		r->xoff = s->wValue >> 8;
		mock_port_line_changed(p);
		return 0;
	case REQ_SET_DATA:
		return dir_in ? -EPIPE : set_data(p, s->wValue);
	case REQ_GET_MODEM_STATUS:
		if (!dir_in)
			return -EPIPE;
		status_bytes(p, 0, st);
		*in_len = mock_model_answer(s, in, st, sizeof(st));
		return 0;
	case REQ_SET_EVENT_CHAR:
	case REQ_SET_ERROR_CHAR:
		if (dir_in)
			return -EPIPE;
		*(s->bRequest == REQ_SET_EVENT_CHAR ? &r->event_char : &r->error_char) = s->wValue;
		return 0;
	case REQ_SET_LATENCY_TIMER:
		if (dir_in)
			return -EPIPE;
		r->latency = s->wValue & 0xff;
		return 0;
	case REQ_GET_LATENCY_TIMER:
		if (!dir_in)
			return -EPIPE;
		*in_len = mock_model_answer(s, in, &r->latency, 1);
		return 0;
	case REQ_SET_BITMODE:
		/* 0x00 back to UART, 0x20 CBUS bit-bang (leaves the UART alone) */
		if (dir_in || ((s->wValue >> 8) != 0x00 && (s->wValue >> 8) != 0x20))
			return -EPIPE;
		r->bitmode = s->wValue;
		return 0;
	default:
		(void)out;
		(void)out_len;
		return -EPIPE;
	}
}

/* Bytes of the ring the next packet may carry: up to a received break's NUL. */
static gsize deliverable(const MockPort *p)
{
	const FtdiRegs *r = cregs(p);

	return r->brk_pos >= 0 ? MIN(p->ring.used, (gsize)r->brk_pos + 1) : p->ring.used;
}

static gssize ftdi_frame_in(MockPort *p, guint8 *dst, gsize cap, gint64 now, gint64 *wake)
{
	FtdiRegs *r = regs(p);
	gsize mps = p->bulk_in_mps ? p->bulk_in_mps : 64;
	gint64 due = r->last_in + (gint64)MAX(r->latency, 1) * 1000;
	gsize off = 0;

	if (cap < 2)
		return -1; /* no room even for the status bytes: the chip never answers */
	if (deliverable(p) < mps - 2 && now < due) {
		*wake = due;
		return -1;
	}
	for (;;) {
		gsize room = MIN(cap - off, mps);
		gsize n = MIN(room - 2, deliverable(p));
		guint8 lsr = r->lsr_pending;

		if (r->brk_pos >= 0 && n == (gsize)r->brk_pos + 1) {
			lsr |= LSR_BI;
			r->brk_pos = -1;
		} else if (r->brk_pos >= 0) {
			r->brk_pos -= (gint32)n;
		}
		r->lsr_pending = 0;
		status_bytes(p, lsr, dst + off);
		mock_ring_read(&p->ring, dst + off + 2, n);
		off += 2 + n;
		/* a short packet ends the transfer; another full one continues it */
		if (2 + n < mps || cap - off < mps || deliverable(p) < mps - 2)
			break;
	}
	r->last_in = now;
	return (gssize)off;
}

static int ftdi_inputs(MockPort *p, guint16 bits)
{
	FtdiRegs *r = regs(p);
	static const guint8 zero = 0;

	if (bits & MOCK_SERVER_EV_BREAK) {
		if (r->brk_pos >= 0 || mock_ring_space(&p->ring) < 1)
			return -ENOSPC;
		mock_ring_write(&p->ring, &zero, 1);
		r->brk_pos = (gint32)p->ring.used - 1;
	}
	if (bits & MOCK_SERVER_EV_FRAMING)
		r->lsr_pending |= LSR_FE;
	if (bits & MOCK_SERVER_EV_PARITY)
		r->lsr_pending |= LSR_PE;
	if (bits & MOCK_SERVER_EV_OVERRUN)
		r->lsr_pending |= LSR_OE;
	p->inputs = bits & MOCK_SERVER_INPUTS;
	return 0;
}

static void ftdi_describe(const MockPort *p, GString *out)
{
	const FtdiRegs *r = cregs(p);

	g_string_append_printf(out,
	                       "%s port=%c divisor=0x%05x data=0x%04x flow=0x%02x xon=0x%02x "
	                       "xoff=0x%02x mcr=0x%x latency=%u bitmode=0x%04x",
	                       chip_of(p)->name, 'A' + p->index, r->divisor, r->data, r->flow,
	                       r->xon, r->xoff, r->mcr, r->latency, r->bitmode);
}

const MockModelOps mock_model_ftdi = {
    .name = "ftdi_sio",
    .match = ftdi_match,
    .probe = ftdi_probe,
    .reset = ftdi_reset,
    .control = ftdi_control,
    .line = ftdi_line,
    .frame_in = ftdi_frame_in,
    .inputs = ftdi_inputs,
    .describe = ftdi_describe,
};
