/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "acm-port"

#include "acm_port.h"

#include <errno.h>
#include <string.h>

#include "uc_error.h"

void acm_port_config_init(AcmPortConfig *cfg)
{
	cfg->rx_urbs = 16;
	cfg->rx_urb_size = 16384;
	cfg->tx_urbs = 16;
	cfg->tx_urb_size = 16384;
	cfg->tx_limit = 65536;
}

typedef struct {
	guint32 seqnum;
	gsize len;
	gboolean flushed; /* cancelled by acm_port_flush_tx: not a failure */
} TxUrb;

struct _AcmPort {
	UsbipDevice *dev;
	guint index;
	guint listener;
	struct cdc_acm_function f;
	AcmPortConfig cfg;
	AcmPortCallbacks cb;
	gpointer user;

	gboolean up;
	UsbipConn *conn;     /* ref held while up */
	UsbipConn *old_conn; /* the last one, until freed: URBs may still name us */
	GList *ctrl_reqs;    /* CtrlReq* queued in the device */

	/* rx */
	gsize rx_size;
	GArray *rx_seqs; /* guint32 seqnums in flight */
	GByteArray *rx_held;
	gsize rx_held_off;

	/* tx */
	GByteArray *txq;
	gsize txq_off;
	GQueue tx_inflight; /* TxUrb* in submission order */
	gsize tx_inflight_bytes;

	guint32 notify_seq;
	guint16 serial_state;

	/* what the device must be told again after a reconnect */
	gboolean have_lc;
	struct cdc_line_coding lc;
	gboolean have_lines;
	guint16 lines;

	AcmPortStats st;
};

static void rx_fill(AcmPort *p);
static void tx_kick(AcmPort *p);
static void notify_submit(AcmPort *p);

gboolean acm_port_is_up(AcmPort *p)
{
	return p->up;
}

const struct cdc_acm_function *acm_port_get_function(AcmPort *p)
{
	return &p->f;
}

guint16 acm_port_get_serial_state(AcmPort *p)
{
	return p->serial_state;
}

guint16 acm_port_get_control_lines(AcmPort *p)
{
	return p->lines;
}

void acm_port_get_stats(AcmPort *p, AcmPortStats *st)
{
	*st = p->st;
}

static gboolean status_means_gone(int status)
{
	/* What servers send when the device left or the link is going away. */
	return status == -ESHUTDOWN || status == -ENODEV || status == -EPROTO || status == -ENOENT;
}

/* ---- control requests ---- */

typedef struct {
	AcmPort *p; /* NULL once the port is freed: then nobody is called */
	AcmPortDoneFunc cb;
	AcmPortLineCodingFunc lc_cb;
	gpointer user;
} CtrlReq;

static void ctrl_done(UsbipDevice *d, int status, const guint8 *data, gsize len, gpointer user)
{
	CtrlReq *r = user;
	if (r->p) {
		r->p->ctrl_reqs = g_list_remove(r->p->ctrl_reqs, r);
		if (r->lc_cb) {
			struct cdc_line_coding lc = {0};
			if (status == 0 && cdc_acm_line_coding_decode(&lc, data, len) < 0)
				status = -EPROTO;
			r->lc_cb(r->p, status, status == 0 ? &lc : NULL, r->user);
		} else if (r->cb) {
			r->cb(r->p, status, r->user);
		}
	}
	g_free(r);
}

static void ctrl_send(AcmPort *p, const struct usb_setup *s, const guint8 *data, AcmPortDoneFunc cb,
                      AcmPortLineCodingFunc lc_cb, gpointer user)
{
	CtrlReq *r = g_new0(CtrlReq, 1);
	r->p = p;
	r->cb = cb;
	r->lc_cb = lc_cb;
	r->user = user;
	p->ctrl_reqs = g_list_prepend(p->ctrl_reqs, r);
	if (!p->up) {
		ctrl_done(p->dev, -ENOTCONN, NULL, 0, r);
		return;
	}
	usbip_device_control(p->dev, s, data, ctrl_done, r);
}

/* ---- clear halt after a stall ---- */

static void clear_halt_done(AcmPort *p, int status, gpointer user)
{
	if (status < 0)
		g_debug("port %u: CLEAR_FEATURE(HALT) failed: %s", p->index, g_strerror(-status));
	/* Whichever pipe stalled can run again. */
	rx_fill(p);
	tx_kick(p);
	if (!p->notify_seq)
		notify_submit(p);
}

static void clear_halt(AcmPort *p, guint8 ep)
{
	struct usb_setup s = {
	    .bmRequestType = 0x02, /* host-to-device, standard, endpoint */
	    .bRequest = USB_REQ_CLEAR_FEATURE,
	    .wValue = 0, /* ENDPOINT_HALT */
	    .wIndex = ep,
	    .wLength = 0,
	};
	p->st.stalls++;
	ctrl_send(p, &s, NULL, clear_halt_done, NULL, NULL);
}

/* ---- rx ---- */

static void rx_remove_seq(AcmPort *p, guint32 seq)
{
	for (guint i = 0; i < p->rx_seqs->len; i++) {
		if (g_array_index(p->rx_seqs, guint32, i) == seq) {
			g_array_remove_index(p->rx_seqs, i);
			return;
		}
	}
}

static gboolean rx_held_pending(AcmPort *p)
{
	return p->rx_held_off < p->rx_held->len;
}

/* Offer held bytes to the consumer; TRUE when all were taken. */
static gboolean rx_deliver_held(AcmPort *p)
{
	while (rx_held_pending(p)) {
		gsize n = p->rx_held->len - p->rx_held_off;
		gsize took = p->cb.rx(p, p->rx_held->data + p->rx_held_off, n, p->user);
		if (took > n)
			took = n;
		p->rx_held_off += took;
		if (took == 0)
			break;
	}
	if (!rx_held_pending(p)) {
		g_byte_array_set_size(p->rx_held, 0);
		p->rx_held_off = 0;
		return TRUE;
	}
	return FALSE;
}

static void rx_done(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	AcmPort *p = user;
	rx_remove_seq(p, r->seqnum);
	if (r->status == 0) {
		p->st.rx_bytes += r->actual_length;
		if (r->actual_length) {
			/* Keep order: new bytes go behind any held ones. */
			if (rx_held_pending(p)) {
				g_byte_array_append(p->rx_held, r->data, (guint)r->actual_length);
			} else {
				gsize took = p->cb.rx(p, r->data, r->actual_length, p->user);
				if (took < r->actual_length)
					g_byte_array_append(p->rx_held, r->data + took,
					                    (guint)(r->actual_length - took));
			}
			p->st.rx_held_max =
			    MAX(p->st.rx_held_max, p->rx_held->len - p->rx_held_off);
		}
		rx_fill(p);
		return;
	}
	if (r->status == -ECONNRESET || !p->up)
		return;
	p->st.rx_errors++;
	if (r->status == -EPIPE) {
		if (p->rx_seqs->len == 0)
			clear_halt(p, p->f.bulk_in_ep);
		return;
	}
	if (status_means_gone(r->status)) {
		if (!usbip_conn_is_closed(c))
			usbip_device_link_lost(p->dev, "the device went away (bulk IN)");
		return;
	}
	/* A transient USB error (CRC, babble, timeout): read on. */
	g_debug("port %u: bulk IN status %d", p->index, r->status);
	rx_fill(p);
}

static void rx_fill(AcmPort *p)
{
	if (!p->up || rx_held_pending(p))
		return;
	while (p->rx_seqs->len < p->cfg.rx_urbs) {
		guint32 seq = usbip_conn_submit(p->conn, p->f.bulk_in_ep, NULL, NULL, p->rx_size, 0,
		                                rx_done, p);
		if (!seq)
			return;
		g_array_append_val(p->rx_seqs, seq);
	}
}

void acm_port_rx_resume(AcmPort *p)
{
	if (rx_deliver_held(p))
		rx_fill(p);
}

/* ---- tx ---- */

gsize acm_port_tx_pending(AcmPort *p)
{
	return p->txq->len - p->txq_off + p->tx_inflight_bytes;
}

gsize acm_port_tx_room(AcmPort *p)
{
	gsize pend = acm_port_tx_pending(p);
	return pend >= p->cfg.tx_limit ? 0 : p->cfg.tx_limit - pend;
}

gsize acm_port_write(AcmPort *p, const guint8 *data, gsize len)
{
	if (!p->up)
		return 0;
	gsize n = MIN(len, acm_port_tx_room(p));
	if (n == 0)
		return 0;
	if (p->txq_off > 0 && p->txq_off == p->txq->len) {
		g_byte_array_set_size(p->txq, 0);
		p->txq_off = 0;
	}
	g_byte_array_append(p->txq, data, (guint)n);
	tx_kick(p);
	return n;
}

static void tx_done(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	AcmPort *p = user;
	TxUrb *t = NULL;
	for (GList *l = p->tx_inflight.head; l; l = l->next) {
		TxUrb *x = l->data;
		if (x->seqnum == r->seqnum) {
			t = x;
			g_queue_delete_link(&p->tx_inflight, l);
			break;
		}
	}
	if (!t)
		return;
	p->tx_inflight_bytes -= t->len;
	if (r->status == 0) {
		p->st.tx_bytes += t->len;
		if (p->cb.tx_progress)
			p->cb.tx_progress(p, t->len, 0, p->user);
	} else if (t->flushed || r->status == -ECONNRESET) {
		/* discarded on purpose */
		if (p->cb.tx_progress)
			p->cb.tx_progress(p, 0, t->len, p->user);
	} else {
		p->st.tx_errors++;
		p->st.tx_lost += t->len;
		if (p->cb.tx_failed && t->len)
			p->cb.tx_failed(p, t->len, p->user);
		if (p->up && r->status == -EPIPE)
			clear_halt(p, p->f.bulk_out_ep);
		else if (p->up && status_means_gone(r->status) && !usbip_conn_is_closed(c))
			usbip_device_link_lost(p->dev, "the device went away (bulk OUT)");
	}
	g_free(t);
	tx_kick(p);
}

static gboolean tx_submit(AcmPort *p, const guint8 *data, gsize len)
{
	guint32 seq = usbip_conn_submit(p->conn, p->f.bulk_out_ep, NULL, data, len, 0, tx_done, p);
	if (!seq)
		return FALSE;
	TxUrb *t = g_new0(TxUrb, 1);
	t->seqnum = seq;
	t->len = len;
	g_queue_push_tail(&p->tx_inflight, t);
	p->tx_inflight_bytes += len;
	return TRUE;
}

static void tx_kick(AcmPort *p)
{
	if (!p->up)
		return;
	while (p->txq_off < p->txq->len && g_queue_get_length(&p->tx_inflight) < p->cfg.tx_urbs) {
		gsize n = MIN(p->txq->len - p->txq_off, p->cfg.tx_urb_size);
		if (!tx_submit(p, p->txq->data + p->txq_off, n))
			return;
		p->txq_off += n;
		/* usbipd-win ignores URB_ZERO_PACKET: when a write ends on a packet
		 * boundary and nothing follows, end the transfer explicitly. */
		if (p->txq_off == p->txq->len && p->f.bulk_out_mps && n % p->f.bulk_out_mps == 0)
			tx_submit(p, NULL, 0);
	}
	if (p->txq_off == p->txq->len) {
		g_byte_array_set_size(p->txq, 0);
		p->txq_off = 0;
	}
}

void acm_port_flush_tx(AcmPort *p)
{
	gsize dropped = p->txq->len - p->txq_off;
	g_byte_array_set_size(p->txq, 0);
	p->txq_off = 0;
	for (GList *l = p->tx_inflight.head; l; l = l->next) {
		TxUrb *t = l->data;
		t->flushed = TRUE;
		if (p->conn)
			usbip_conn_unlink(p->conn, t->seqnum);
	}
	if (dropped && p->cb.tx_progress)
		p->cb.tx_progress(p, 0, dropped, p->user);
}

/* ---- notifications ---- */

static void notify_done(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	AcmPort *p = user;
	if (r->seqnum != p->notify_seq)
		return;
	p->notify_seq = 0;
	if (r->status == 0) {
		guint16 intf, state;
		gssize rc = cdc_acm_serial_state_decode(&intf, &state, r->data, r->actual_length);
		if (rc >= 0 && intf == p->f.comm_intf) {
			p->serial_state = state;
			if (p->cb.serial_state)
				p->cb.serial_state(p, state, p->user);
		} else if (rc != -ENOMSG) {
			g_debug("port %u: ignoring a malformed notification (%zd)", p->index, rc);
		}
		notify_submit(p);
		return;
	}
	if (r->status == -ECONNRESET || !p->up)
		return;
	if (r->status == -EPIPE) {
		clear_halt(p, p->f.notify_ep);
		return;
	}
	if (status_means_gone(r->status)) {
		if (!usbip_conn_is_closed(c))
			usbip_device_link_lost(p->dev, "the device went away (interrupt IN)");
		return;
	}
	notify_submit(p);
}

static void notify_submit(AcmPort *p)
{
	if (!p->up || !p->f.has_notify || p->notify_seq)
		return;
	/* A SERIAL_STATE is 10 bytes and may span packets of a small endpoint. */
	gsize len = MAX(16u, p->f.notify_mps);
	p->notify_seq = usbip_conn_submit(p->conn, p->f.notify_ep, NULL, NULL, len,
	                                  MAX(1, p->f.notify_interval), notify_done, p);
}

/* ---- class requests ---- */

static void send_line_coding(AcmPort *p, AcmPortDoneFunc cb, gpointer user)
{
	guint8 buf[CDC_LINE_CODING_SIZE];
	struct usb_setup s;
	cdc_acm_line_coding_encode(&p->lc, buf, sizeof(buf));
	cdc_acm_setup_set_line_coding(&s, p->f.comm_intf);
	ctrl_send(p, &s, buf, cb, NULL, user);
}

static void send_lines(AcmPort *p, AcmPortDoneFunc cb, gpointer user)
{
	struct usb_setup s;
	cdc_acm_setup_set_control_line_state(&s, p->f.comm_intf, p->lines);
	ctrl_send(p, &s, NULL, cb, NULL, user);
}

void acm_port_set_line_coding(AcmPort *p, const struct cdc_line_coding *lc, AcmPortDoneFunc cb,
                              gpointer user)
{
	guint8 buf[CDC_LINE_CODING_SIZE];
	if (cdc_acm_line_coding_encode(lc, buf, sizeof(buf)) < 0) {
		if (cb)
			cb(p, -EINVAL, user);
		return;
	}
	p->lc = *lc;
	p->have_lc = TRUE;
	send_line_coding(p, cb, user);
}

void acm_port_set_control_lines(AcmPort *p, guint16 lines, AcmPortDoneFunc cb, gpointer user)
{
	p->lines = lines & (CDC_CTRL_DTR | CDC_CTRL_RTS);
	p->have_lines = TRUE;
	send_lines(p, cb, user);
}

void acm_port_send_break(AcmPort *p, guint16 ms, AcmPortDoneFunc cb, gpointer user)
{
	struct usb_setup s;
	cdc_acm_setup_send_break(&s, p->f.comm_intf, ms);
	ctrl_send(p, &s, NULL, cb, NULL, user);
}

void acm_port_get_line_coding(AcmPort *p, AcmPortLineCodingFunc cb, gpointer user)
{
	struct usb_setup s;
	cdc_acm_setup_get_line_coding(&s, p->f.comm_intf);
	ctrl_send(p, &s, NULL, NULL, cb, user);
}

/* ---- link ---- */

static void port_down(AcmPort *p)
{
	gsize queued = p->txq->len - p->txq_off;
	p->up = FALSE;
	if (p->conn && !usbip_conn_is_closed(p->conn)) {
		/* Orderly shutdown: cancel everything in flight; the answers
		 * arrive before the connection closes. */
		for (guint i = 0; i < p->rx_seqs->len; i++)
			usbip_conn_unlink(p->conn, g_array_index(p->rx_seqs, guint32, i));
		for (GList *l = p->tx_inflight.head; l; l = l->next)
			usbip_conn_unlink(p->conn, ((TxUrb *)l->data)->seqnum);
		if (p->notify_seq)
			usbip_conn_unlink(p->conn, p->notify_seq);
	}
	g_clear_pointer(&p->old_conn, usbip_conn_unref);
	p->old_conn = g_steal_pointer(&p->conn);
	/* Callbacks of a closed connection already ran; forget what is left. */
	g_array_set_size(p->rx_seqs, 0);
	p->notify_seq = 0;
	g_byte_array_set_size(p->txq, 0);
	p->txq_off = 0;
	if (queued) {
		p->st.tx_lost += queued;
		if (p->cb.tx_failed)
			p->cb.tx_failed(p, queued, p->user);
	}
	/* Held rx bytes stay: they were received and must not be lost. */
}

/* The link is up: take the connection, replay the setup, start the pipes.
 * announce: tell the owner (not while acm_port_new() has not returned). */
static void port_up(AcmPort *p, gboolean announce)
{
	UsbipDevice *d = p->dev;
	const struct cdc_acm_function *f = usbip_device_get_function(d, p->index);
	if (!f) {
		g_warning("port %u: the device came back without this ACM function", p->index);
		return;
	}
	p->f = *f;
	p->rx_size = p->cfg.rx_urb_size;
	if (p->f.bulk_in_mps)
		p->rx_size =
		    (p->rx_size + p->f.bulk_in_mps - 1) / p->f.bulk_in_mps * p->f.bulk_in_mps;
	p->conn = usbip_conn_ref(usbip_device_get_conn(d));
	p->up = TRUE;
	/* The server reset the device after the last disconnect: tell it
	 * everything again, in the order a fresh open would. */
	if (p->have_lc)
		send_line_coding(p, NULL, NULL);
	if (p->have_lines)
		send_lines(p, NULL, NULL);
	notify_submit(p);
	if (rx_deliver_held(p))
		rx_fill(p);
	if (announce && p->cb.link)
		p->cb.link(p, TRUE, NULL, p->user);
}

static void on_link(UsbipDevice *d, gboolean up, const GError *error, gpointer user)
{
	AcmPort *p = user;
	if (up) {
		port_up(p, TRUE);
		return;
	}
	if (p->up || p->conn)
		port_down(p);
	if (p->cb.link)
		p->cb.link(p, FALSE, error, p->user);
}

AcmPort *acm_port_new(UsbipDevice *dev, guint index, const AcmPortConfig *cfg,
                      const AcmPortCallbacks *cb, gpointer user)
{
	AcmPort *p = g_new0(AcmPort, 1);
	p->dev = dev;
	p->index = index;
	if (cfg)
		p->cfg = *cfg;
	else
		acm_port_config_init(&p->cfg);
	p->cfg.rx_urbs = MAX(1u, p->cfg.rx_urbs);
	p->cfg.tx_urbs = MAX(1u, p->cfg.tx_urbs);
	p->cfg.rx_urb_size = CLAMP(p->cfg.rx_urb_size, 64u, USBIP_CONN_MAX_URB);
	p->cfg.tx_urb_size = CLAMP(p->cfg.tx_urb_size, 64u, USBIP_CONN_MAX_URB);
	p->cb = *cb;
	p->user = user;
	p->rx_seqs = g_array_new(FALSE, FALSE, sizeof(guint32));
	p->rx_held = g_byte_array_new();
	p->txq = g_byte_array_new();
	g_queue_init(&p->tx_inflight);
	p->listener = usbip_device_add_link_listener(dev, on_link, p);
	if (usbip_device_is_up(dev))
		port_up(p, FALSE); /* no callback before the caller has the port */
	else if (usbip_device_get_function(dev, index))
		p->f = *usbip_device_get_function(dev, index);
	return p;
}

void acm_port_free(AcmPort *p)
{
	if (!p)
		return;
	usbip_device_remove_link_listener(p->dev, p->listener);
	/* Nothing queued in the device or in flight may call us any more. */
	for (GList *l = p->ctrl_reqs; l; l = l->next)
		((CtrlReq *)l->data)->p = NULL;
	g_list_free(p->ctrl_reqs);
	if (p->conn)
		usbip_conn_forget(p->conn, p);
	if (p->old_conn && !usbip_conn_is_closed(p->old_conn))
		usbip_conn_forget(p->old_conn, p);
	g_clear_pointer(&p->conn, usbip_conn_unref);
	g_clear_pointer(&p->old_conn, usbip_conn_unref);
	g_array_unref(p->rx_seqs);
	g_byte_array_unref(p->rx_held);
	g_byte_array_unref(p->txq);
	g_queue_clear_full(&p->tx_inflight, g_free);
	g_free(p);
}
