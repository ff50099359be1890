/* SPDX-License-Identifier: MIT */
/*
 * model_cdc_acm - CDC-ACM functions (USB CDC 1.1 / PSTN 1.2): one port per
 * ACM function, addressed by its communication interface.
 *
 * Requests (class, recipient interface, wIndex = comm interface):
 * SET_LINE_CODING 0x20 (7 bytes: dwDTERate, bCharFormat, bParityType,
 * bDataBits; an out-of-range field stalls), GET_LINE_CODING 0x21,
 * SET_CONTROL_LINE_STATE 0x22 (bit0 DTR, bit1 RTS), SEND_BREAK 0x23 (wValue
 * ms, 0xffff until cleared).  A fresh device reports 9600 8N1 (what Linux'
 * u_serial gadget starts with).  Status: SERIAL_STATE notifications (DCD,
 * DSR, break, RI, framing, parity, overrun; there is no CTS bit).  Bulk data
 * is not framed.  The history keeps the raw wValue of every
 * SET_CONTROL_LINE_STATE and SEND_BREAK the function accepted.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include <errno.h>
#include <string.h>

#include "cdc_acm.h"
#include "mock_model.h"

typedef struct {
	struct cdc_line_coding coding;
	guint16 lines;
} CdcRegs;
G_STATIC_ASSERT(sizeof(CdcRegs) <= sizeof(((MockPort *)0)->priv));

static CdcRegs *regs(MockPort *p)
{
	return (CdcRegs *)p->priv.bytes;
}

static const CdcRegs *cregs(const MockPort *p)
{
	return (const CdcRegs *)p->priv.bytes;
}

static guint cdc_probe(const MockModelDevice *dev, const struct usb_config_desc *c, MockPort *ports,
                       guint max)
{
	struct cdc_acm_function fn[MOCK_MODEL_MAX_PORTS];
	int n = cdc_acm_find(c, fn, G_N_ELEMENTS(fn));
	guint count = n < 0 ? 0 : MIN((guint)n, MIN(max, MOCK_MODEL_MAX_PORTS));

	for (guint i = 0; i < count; i++) {
		MockPort *p = &ports[i];
		p->intf = fn[i].comm_intf;
		p->index = (guint8)i;
		p->bulk_in = fn[i].bulk_in_ep;
		p->bulk_out = fn[i].bulk_out_ep;
		p->bulk_in_mps = fn[i].bulk_in_mps;
		p->bulk_out_mps = fn[i].bulk_out_mps;
		p->has_notify = fn[i].has_notify;
		p->notify_ep = fn[i].notify_ep;
		p->notify_mps = fn[i].notify_mps;
	}
	return count;
}

static void cdc_reset(MockPort *p)
{
	static const struct cdc_line_coding dflt = {
	    .rate = 9600, .stop_bits = CDC_STOP_1, .parity = CDC_PARITY_NONE, .data_bits = 8};
	CdcRegs *r = regs(p);

	r->coding = dflt;
	r->lines = 0;
}

static int cdc_control(MockPort *ports, guint n, const struct usb_setup *s, const guint8 *out,
                       gsize out_len, guint8 *in, gsize *in_len)
{
	MockPort *p;
	CdcRegs *r;
	guint8 buf[CDC_LINE_CODING_SIZE];
	struct cdc_line_coding lc;

	if ((s->bmRequestType & 0x60) != 0x20 || (s->bmRequestType & 0x1f) != 1)
		return -EPIPE; /* class requests to the interface only */
	p = mock_port_by_intf(ports, n, s->wIndex & 0xff);
	if (!p)
		return -EPIPE;
	r = regs(p);
	switch (s->bRequest) {
	case CDC_REQ_SET_LINE_CODING:
		if (s->bmRequestType != CDC_REQTYPE_OUT || out_len < CDC_LINE_CODING_SIZE)
			return -EPIPE;
		if (cdc_acm_line_coding_decode(&lc, out, out_len) < 0)
			return -EPIPE;
		r->coding = lc;
		mock_port_line_changed(p);
		return 0;
	case CDC_REQ_GET_LINE_CODING:
		if (s->bmRequestType != CDC_REQTYPE_IN)
			return -EPIPE;
		if (cdc_acm_line_coding_encode(&r->coding, buf, sizeof(buf)) < 0)
			return -EPIPE;
		*in_len = mock_model_answer(s, in, buf, sizeof(buf));
		return 0;
	case CDC_REQ_SET_CONTROL_LINE_STATE:
		if (s->bmRequestType != CDC_REQTYPE_OUT)
			return -EPIPE;
		r->lines = s->wValue & (CDC_CTRL_DTR | CDC_CTRL_RTS);
		mock_port_record_lines(p, s->wValue);
		return 0;
	case CDC_REQ_SEND_BREAK:
		if (s->bmRequestType != CDC_REQTYPE_OUT)
			return -EPIPE;
		mock_port_record_break(p, s->wValue);
		return 0;
	default:
		return -EPIPE;
	}
}

static void cdc_line(const MockPort *p, MockServerLine *out)
{
	const struct cdc_line_coding *lc = &cregs(p)->coding;

	memset(out, 0, sizeof(*out));
	out->rate = lc->rate;
	out->data_bits = lc->data_bits;
	out->parity = lc->parity; /* CDC numbers parity as MockServerLine does */
	out->stop_bits = lc->stop_bits;
}

/* MOCK_SERVER_* bits -> SERIAL_STATE bits. */
static const struct {
	guint16 bit;
	guint16 ss;
} ss_map[] = {
    {MOCK_SERVER_DCD, CDC_SS_DCD},
    {MOCK_SERVER_DSR, CDC_SS_DSR},
    {MOCK_SERVER_RI, CDC_SS_RI},
    {MOCK_SERVER_EV_BREAK, CDC_SS_BREAK},
    {MOCK_SERVER_EV_FRAMING, CDC_SS_FRAMING},
    {MOCK_SERVER_EV_PARITY, CDC_SS_PARITY},
    {MOCK_SERVER_EV_OVERRUN, CDC_SS_OVERRUN},
};

static int cdc_inputs(MockPort *p, guint16 bits)
{
	guint8 buf[16];
	guint16 state = 0;
	gssize len;

	if ((bits & MOCK_SERVER_CTS) || !p->has_notify)
		return -ENOTSUP;
	for (guint i = 0; i < G_N_ELEMENTS(ss_map); i++)
		if (bits & ss_map[i].bit)
			state |= ss_map[i].ss;
	len = cdc_acm_serial_state_encode(p->intf, state, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	p->inputs = bits & MOCK_SERVER_INPUTS;
	return mock_port_queue_note(p, buf, (gsize)len);
}

static void cdc_describe(const MockPort *p, GString *out)
{
	const CdcRegs *r = cregs(p);

	g_string_append_printf(out, "ACM comm=%u data=0x%02x/0x%02x notify=%s lines=0x%x", p->intf,
	                       p->bulk_in, p->bulk_out, p->has_notify ? "yes" : "no", r->lines);
}

const MockModelOps mock_model_cdc_acm = {
    .name = "cdc_acm",
    .match = NULL,
    .probe = cdc_probe,
    .reset = cdc_reset,
    .control = cdc_control,
    .line = cdc_line,
    .inputs = cdc_inputs,
    .describe = cdc_describe,
};
