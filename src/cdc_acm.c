/* SPDX-License-Identifier: MIT */
/*
 * cdc_acm - CDC-ACM function discovery, line coding, class requests and
 * SERIAL_STATE notifications (level 0).
 *
 * Discovery is deliberately forgiving: real ACM devices get their
 * functional descriptors wrong in many ways (no Union, a Union naming a
 * missing interface, bulk endpoints on an alternate setting, everything on
 * one interface), so every hint is only a candidate that must be confirmed
 * by a bulk IN + bulk OUT pair actually present in the configuration.
 */
#include "cdc_acm.h"

#include <errno.h>
#include <string.h>

#include "byteorder.h"

static unsigned num_intf(const struct usb_config_desc *c)
{
	return c->num_interfaces < USB_DESC_MAX_INTERFACES ? c->num_interfaces
	                                                   : USB_DESC_MAX_INTERFACES;
}

static bool is_acm_comm(const struct usb_interface_desc *i)
{
	return i->bInterfaceClass == CDC_CLASS_COMM && i->bInterfaceSubClass == CDC_SUBCLASS_ACM;
}

static const struct usb_endpoint_desc *find_ep(const struct usb_interface_desc *i,
                                               enum usb_ep_type type, bool in)
{
	unsigned n =
	    i->num_endpoints < USB_DESC_MAX_ENDPOINTS ? i->num_endpoints : USB_DESC_MAX_ENDPOINTS;
	for (unsigned k = 0; k < n; k++) {
		const struct usb_endpoint_desc *ep = &i->ep[k];
		if (usb_desc_ep_type(ep) == type && !!(ep->bEndpointAddress & USB_EP_DIR_IN) == in)
			return ep;
	}
	return NULL;
}

/* The lowest alternate setting of interface `num` that has a bulk IN and a
 * bulk OUT endpoint.  Some devices keep alt 0 of the data interface empty
 * and put the pair on alt 1, which then needs SET_INTERFACE. */
static const struct usb_interface_desc *bulk_pair_alt(const struct usb_config_desc *c, uint8_t num,
                                                      const struct usb_endpoint_desc **in,
                                                      const struct usb_endpoint_desc **out)
{
	const struct usb_interface_desc *best = NULL;
	unsigned n = num_intf(c);
	for (unsigned k = 0; k < n; k++) {
		const struct usb_interface_desc *i = &c->intf[k];
		if (i->bInterfaceNumber != num)
			continue;
		if (best && best->bAlternateSetting <= i->bAlternateSetting)
			continue;
		/* A repeated (number, alt) pair is ignored, as the Linux
		 * kernel does: only the first is what SET_INTERFACE selects
		 * and what usb_desc_find_interface() returns. */
		if (usb_desc_find_interface(c, num, i->bAlternateSetting) != i)
			continue;
		const struct usb_endpoint_desc *bi = find_ep(i, USB_EP_BULK, true);
		const struct usb_endpoint_desc *bo = find_ep(i, USB_EP_BULK, false);
		if (bi && bo) {
			best = i;
			*in = bi;
			*out = bo;
		}
	}
	return best;
}

/* A candidate data interface must exist and must not be another ACM
 * control interface (that one is a function of its own). */
static const struct usb_interface_desc *try_data(const struct usb_config_desc *c, uint8_t comm,
                                                 int cand, const struct usb_endpoint_desc **in,
                                                 const struct usb_endpoint_desc **out)
{
	if (cand < 0 || cand > 255 || cand == comm)
		return NULL;
	const struct usb_interface_desc *alt0 = usb_desc_find_interface(c, (uint8_t)cand, 0);
	if (alt0 && is_acm_comm(alt0))
		return NULL;
	return bulk_pair_alt(c, (uint8_t)cand, in, out);
}

struct func_hints {
	int union_data; /* bSubordinateInterface0, or -1 */
	int cm_data;    /* Call Management bDataInterface, or -1 */
	int acm_caps;   /* ACM bmCapabilities, or -1 */
};

static void read_hints(const struct usb_interface_desc *i, struct func_hints *h)
{
	h->union_data = h->cm_data = h->acm_caps = -1;
	size_t pos = 0, dlen;
	const uint8_t *d;
	while ((d = usb_desc_next(i->extra, i->extra_len, &pos, &dlen))) {
		/* Too-short functional descriptors are ignored rather than
		 * failing the function: the endpoints decide in the end. */
		if (dlen < 3 || d[1] != USB_DT_CS_INTERFACE)
			continue;
		switch (d[2]) {
		case CDC_FUNC_UNION:
			/* Only the first subordinate matters for ACM; the first
			 * Union wins if a device repeats it. */
			if (dlen >= 5 && h->union_data < 0)
				h->union_data = d[4];
			break;
		case CDC_FUNC_CALL_MGMT:
			if (dlen >= 5 && h->cm_data < 0)
				h->cm_data = d[4];
			break;
		case CDC_FUNC_ACM:
			if (dlen >= 4 && h->acm_caps < 0)
				h->acm_caps = d[3];
			break;
		default:
			break;
		}
	}
}

/* The interface with the smallest number greater than `num`. */
static int next_intf_number(const struct usb_config_desc *c, uint8_t num)
{
	int best = -1;
	unsigned n = num_intf(c);
	for (unsigned k = 0; k < n; k++) {
		int v = c->intf[k].bInterfaceNumber;
		if (v > num && (best < 0 || v < best))
			best = v;
	}
	return best;
}

static bool iad_covers(const struct usb_config_desc *c, uint8_t num)
{
	unsigned n = c->num_iads < USB_DESC_MAX_IADS ? c->num_iads : USB_DESC_MAX_IADS;
	for (unsigned k = 0; k < n; k++) {
		unsigned first = c->iad[k].bFirstInterface;
		if (num >= first && num < first + c->iad[k].bInterfaceCount)
			return true;
	}
	return false;
}

static bool describe(const struct usb_config_desc *c, const struct usb_interface_desc *comm,
                     struct cdc_acm_function *f)
{
	struct func_hints h;
	const struct usb_endpoint_desc *in = NULL, *out = NULL;
	const struct usb_interface_desc *data = NULL;
	uint8_t num = comm->bInterfaceNumber;

	read_hints(comm, &h);
	memset(f, 0, sizeof(*f));

	/* Candidates in order of how much the device promised: the Union,
	 * then Call Management, then the comm interface itself (collapsed),
	 * then the next interface number (the usual layout when a device
	 * gives no hint at all). */
	bool collapsed = false;
	if (h.union_data >= 0 && h.union_data != num) {
		data = try_data(c, num, h.union_data, &in, &out);
		f->has_union = data != NULL;
	}
	if (!data)
		data = try_data(c, num, h.cm_data, &in, &out);
	if (!data) {
		in = find_ep(comm, USB_EP_BULK, true);
		out = find_ep(comm, USB_EP_BULK, false);
		if (in && out) {
			data = comm;
			collapsed = true;
			/* A Union naming the comm interface itself is how some
			 * single-interface devices say "collapsed". */
			f->has_union = h.union_data == num;
		}
	}
	if (!data)
		data = try_data(c, num, next_intf_number(c, num), &in, &out);
	if (!data)
		return false;

	f->comm_intf = num;
	f->data_intf = data->bInterfaceNumber;
	f->data_alt = data->bAlternateSetting;
	f->collapsed = collapsed;
	f->has_iad = iad_covers(c, num);
	f->acm_caps = h.acm_caps < 0 ? 0 : (uint8_t)h.acm_caps;

	const struct usb_endpoint_desc *n = find_ep(comm, USB_EP_INTERRUPT, true);
	if (n) {
		f->has_notify = true;
		f->notify_ep = n->bEndpointAddress;
		f->notify_mps = usb_desc_ep_max_packet(n);
		f->notify_interval = n->bInterval;
	}
	f->bulk_in_ep = in->bEndpointAddress;
	f->bulk_in_mps = usb_desc_ep_max_packet(in);
	f->bulk_out_ep = out->bEndpointAddress;
	f->bulk_out_mps = usb_desc_ep_max_packet(out);
	return true;
}

int cdc_acm_find(const struct usb_config_desc *c, struct cdc_acm_function *out, size_t max)
{
	if (!c || (!out && max))
		return -EINVAL;
	int found = 0;
	/* Interface-number order, whatever order the descriptors came in;
	 * a repeated (number, alt 0) pair counts once (find_interface
	 * returns the first). */
	for (unsigned num = 0; num < 256; num++) {
		const struct usb_interface_desc *comm = usb_desc_find_interface(c, (uint8_t)num, 0);
		if (!comm || !is_acm_comm(comm))
			continue;
		struct cdc_acm_function f;
		if (!describe(c, comm, &f))
			continue;
		if ((size_t)found < max)
			out[found] = f;
		found++;
	}
	return found;
}

static bool line_coding_valid(uint32_t rate, uint8_t stop, uint8_t parity, uint8_t bits)
{
	/* Rate 0 is B0 (hang up) on the tty side and is never sent. */
	if (rate == 0 || stop > CDC_STOP_2 || parity > CDC_PARITY_SPACE)
		return false;
	return (bits >= 5 && bits <= 8) || bits == 16;
}

ssize_t cdc_acm_line_coding_encode(const struct cdc_line_coding *lc, uint8_t *buf, size_t len)
{
	if (!lc || (!buf && len))
		return -EINVAL;
	if (!line_coding_valid(lc->rate, lc->stop_bits, lc->parity, lc->data_bits))
		return -EINVAL;
	if (len < CDC_LINE_CODING_SIZE)
		return -EMSGSIZE;
	put_le32(buf, lc->rate);
	buf[4] = lc->stop_bits;
	buf[5] = lc->parity;
	buf[6] = lc->data_bits;
	return CDC_LINE_CODING_SIZE;
}

ssize_t cdc_acm_line_coding_decode(struct cdc_line_coding *lc, const uint8_t *buf, size_t len)
{
	if (!lc || (!buf && len))
		return -EINVAL;
	if (len < CDC_LINE_CODING_SIZE)
		return -EMSGSIZE;
	uint32_t rate = get_le32(buf);
	if (!line_coding_valid(rate, buf[4], buf[5], buf[6]))
		return -EPROTO;
	lc->rate = rate;
	lc->stop_bits = buf[4];
	lc->parity = buf[5];
	lc->data_bits = buf[6];
	return CDC_LINE_CODING_SIZE;
}

bool cdc_acm_line_coding_equal(const struct cdc_line_coding *a, const struct cdc_line_coding *b)
{
	return a->rate == b->rate && a->stop_bits == b->stop_bits && a->parity == b->parity &&
	       a->data_bits == b->data_bits;
}

static void class_setup(struct usb_setup *s, uint8_t type, uint8_t req, uint16_t value,
                        uint8_t intf, uint16_t length)
{
	s->bmRequestType = type;
	s->bRequest = req;
	s->wValue = value;
	s->wIndex = intf;
	s->wLength = length;
}

void cdc_acm_setup_set_line_coding(struct usb_setup *s, uint8_t intf)
{
	class_setup(s, CDC_REQTYPE_OUT, CDC_REQ_SET_LINE_CODING, 0, intf, CDC_LINE_CODING_SIZE);
}

void cdc_acm_setup_get_line_coding(struct usb_setup *s, uint8_t intf)
{
	class_setup(s, CDC_REQTYPE_IN, CDC_REQ_GET_LINE_CODING, 0, intf, CDC_LINE_CODING_SIZE);
}

void cdc_acm_setup_set_control_line_state(struct usb_setup *s, uint8_t intf, uint16_t lines)
{
	/* Bits 2..15 are reserved (must be zero) in CDC 1.2 table 18. */
	class_setup(s, CDC_REQTYPE_OUT, CDC_REQ_SET_CONTROL_LINE_STATE,
	            (uint16_t)(lines & (CDC_CTRL_DTR | CDC_CTRL_RTS)), intf, 0);
}

void cdc_acm_setup_send_break(struct usb_setup *s, uint8_t intf, uint16_t ms)
{
	class_setup(s, CDC_REQTYPE_OUT, CDC_REQ_SEND_BREAK, ms, intf, 0);
}

#define NOTIFY_HDR_SIZE       8u
#define SERIAL_STATE_SIZE     10u
#define SERIAL_STATE_DATA_LEN 2u

ssize_t cdc_acm_serial_state_encode(uint8_t intf, uint16_t state, uint8_t *buf, size_t len)
{
	if (!buf && len)
		return -EINVAL;
	if (len < SERIAL_STATE_SIZE)
		return -EMSGSIZE;
	buf[0] = CDC_REQTYPE_IN;
	buf[1] = CDC_SERIAL_STATE_NOTIFY;
	put_le16(buf + 2, 0);
	put_le16(buf + 4, intf);
	put_le16(buf + 6, SERIAL_STATE_DATA_LEN);
	put_le16(buf + 8, state);
	return SERIAL_STATE_SIZE;
}

ssize_t cdc_acm_serial_state_decode(uint16_t *intf, uint16_t *state, const uint8_t *buf, size_t len)
{
	if (!intf || !state || (!buf && len))
		return -EINVAL;
	if (len < NOTIFY_HDR_SIZE)
		return -EMSGSIZE;
	/* Every CDC notification should be class, interface, device-to-host
	 * (0xa1); like the kernel's cdc-acm, bmRequestType is not checked:
	 * the endpoint says what the message is. */
	uint16_t wlength = get_le16(buf + 6);
	/* A notification longer than one interrupt packet arrives in pieces;
	 * -EMSGSIZE tells the caller to read on and retry with more. */
	if (len - NOTIFY_HDR_SIZE < wlength)
		return -EMSGSIZE;
	if (buf[1] != CDC_SERIAL_STATE_NOTIFY)
		return -ENOMSG;
	/* wValue is 0 by the spec but not checked: the Linux cdc-acm driver
	 * ignores it, and a device that gets it wrong still reports its
	 * modem lines correctly. */
	if (wlength != SERIAL_STATE_DATA_LEN)
		return -EPROTO;
	*intf = get_le16(buf + 4);
	*state = get_le16(buf + 8);
	return SERIAL_STATE_SIZE;
}

/* ---- the serial driver ---------------------------------------------------- */

static int acm_probe(const struct usb_device_desc *dd, const struct usb_config_desc *c,
                     struct serial_function *out, size_t max)
{
	struct cdc_acm_function acm[16];
	int n = cdc_acm_find(c, acm, sizeof(acm) / sizeof(acm[0]));
	if (n < 0)
		return n;
	int kept = n < 16 ? n : 16;
	for (int i = 0; i < kept && (size_t)i < max; i++) {
		struct serial_function *f = &out[i];
		memset(f, 0, sizeof(*f));
		f->driver = SERIAL_DRV_CDC_ACM;
		f->intf = acm[i].comm_intf;
		f->data_intf = acm[i].data_intf;
		f->data_alt = acm[i].data_alt;
		f->bulk_in_ep = acm[i].bulk_in_ep;
		f->bulk_in_mps = acm[i].bulk_in_mps;
		f->bulk_out_ep = acm[i].bulk_out_ep;
		f->bulk_out_mps = acm[i].bulk_out_mps;
		f->has_notify = acm[i].has_notify;
		f->notify_ep = acm[i].notify_ep;
		f->notify_mps = acm[i].notify_mps;
		f->notify_interval = acm[i].notify_interval;
	}
	return kept; /* what did not fit in acm[] was not written either */
}

int cdc_acm_line_coding_from_line(struct cdc_line_coding *lc, const struct serial_line *l)
{
	if (!lc || !l || l->baud == 0 || l->data_bits < 5 || l->data_bits > 8 ||
	    l->parity > SERIAL_PARITY_SPACE || l->stop_bits > SERIAL_STOP_2)
		return -EINVAL;
	/* enum serial_parity and enum serial_stop use the CDC numbering */
	lc->rate = l->baud;
	lc->stop_bits = l->stop_bits;
	lc->parity = l->parity;
	lc->data_bits = l->data_bits;
	return 0;
}

static int acm_set_line(struct serial_function *f, struct serial_line *l, struct serial_xfers *q,
                        uint32_t *actual_baud)
{
	struct cdc_line_coding lc;
	uint8_t buf[CDC_LINE_CODING_SIZE];
	int rc = cdc_acm_line_coding_from_line(&lc, l);
	if (rc < 0)
		return rc;
	cdc_acm_line_coding_encode(&lc, buf, sizeof(buf));
	if (actual_baud)
		*actual_baud = l->baud;
	/* As cdc-acm, only a changed coding goes out: CRTSCTS or IXON alone
	 * change nothing here.  priv[0..1] hold the coding last sent in this
	 * connection (priv[1] bit 31 marks it valid). */
	uint32_t packed =
	    1u << 31 | (uint32_t)lc.data_bits << 16 | (uint32_t)lc.parity << 8 | lc.stop_bits;
	if (f->priv[1] == packed && f->priv[0] == lc.rate)
		return 0;
	rc = serial_xfers_add(q, CDC_REQTYPE_OUT, CDC_REQ_SET_LINE_CODING, 0, f->intf, buf,
	                      CDC_LINE_CODING_SIZE);
	if (rc == 0) {
		f->priv[0] = lc.rate;
		f->priv[1] = packed;
	}
	return rc;
}

static int acm_set_lines(struct serial_function *f, unsigned lines, struct serial_xfers *q)
{
	uint16_t v = (uint16_t)(((lines & SERIAL_DTR) ? CDC_CTRL_DTR : 0) |
	                        ((lines & SERIAL_RTS) ? CDC_CTRL_RTS : 0));
	return serial_xfers_add(q, CDC_REQTYPE_OUT, CDC_REQ_SET_CONTROL_LINE_STATE, v, f->intf,
	                        NULL, 0);
}

static int acm_set_break(struct serial_function *f, bool on, struct serial_xfers *q)
{
	/* As the kernel's cdc-acm: "until cleared", then a SEND_BREAK 0. */
	return serial_xfers_add(q, CDC_REQTYPE_OUT, CDC_REQ_SEND_BREAK, on ? CDC_BREAK_FOREVER : 0,
	                        f->intf, NULL, 0);
}

uint16_t cdc_acm_serial_state_to_status(uint16_t state, struct serial_status *st)
{
	st->has_lines = true;
	st->ri_event = true;
	st->lines = SERIAL_CTS | ((state & CDC_SS_DCD) ? SERIAL_DCD : 0) |
	            ((state & CDC_SS_DSR) ? SERIAL_DSR : 0) | ((state & CDC_SS_RI) ? SERIAL_RI : 0);
	st->events = (uint16_t)(((state & CDC_SS_BREAK) ? SERIAL_EV_BREAK : 0) |
	                        ((state & CDC_SS_FRAMING) ? SERIAL_EV_FRAMING : 0) |
	                        ((state & CDC_SS_PARITY) ? SERIAL_EV_PARITY : 0) |
	                        ((state & CDC_SS_OVERRUN) ? SERIAL_EV_OVERRUN : 0));
	return st->lines;
}

static int acm_status_decode(const struct serial_function *f, enum serial_status_origin origin,
                             const uint8_t *buf, size_t len, struct serial_status *st)
{
	uint16_t intf, state;
	if (origin != SERIAL_ORIGIN_INTERRUPT)
		return -EINVAL;
	ssize_t rc = cdc_acm_serial_state_decode(&intf, &state, buf, len);
	if (rc < 0)
		return (int)rc;
	/* wIndex (intf) is not checked: each function has its own interrupt
	 * endpoint, and the kernel's cdc-acm takes the message from a firmware
	 * that puts 0 or the data interface there too. */
	cdc_acm_serial_state_to_status(state, st);
	return 0;
}

const struct serial_driver cdc_acm_driver = {
    .name = "cdc_acm",
    .probe = acm_probe,
    .set_line = acm_set_line,
    .set_lines = acm_set_lines,
    .line_on_change_only = true,
    .lines_on_change_only = true,
    .set_break = acm_set_break,
    .status_source = SERIAL_STATUS_INTERRUPT,
    .initial_lines = SERIAL_CTS,
    .status_decode = acm_status_decode,
};
