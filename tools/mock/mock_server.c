/* SPDX-License-Identifier: MIT */
/*
 * mock_server - sockets, USBIP OP/URB handling and the loopback data path of
 * the mock USBIP server (see mock_server.h).
 *
 * Every connection is non-blocking: bytes are appended to an input buffer
 * and only complete messages are decoded, so a client that stops half way
 * through a header never blocks the loop.  Replies go to a per-connection
 * output queue (each message has a "not before" time for delayed replies).
 * A connection is never freed from inside a callback that may still use it:
 * closing moves it to a dead list that an idle source frees.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include "mock_server.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include <gio/gio.h>

#include "cdc_acm.h"
#include "mock_control.h"
#include "mock_device.h"
#include "usbip_proto.h"

G_DEFINE_QUARK(mock - server - error - quark, mock_server_error)

typedef struct MockConn MockConn;
typedef struct MockDev MockDev;

typedef struct {
	guint32 seqnum;
	guint32 len;  /* transfer_buffer_length */
	guint32 done; /* OUT bytes already moved into the loopback buffer */
	guint8 *data; /* OUT data (len bytes); NULL for IN */
} MockUrb;

typedef struct {
	GQueue urbs; /* MockUrb*, oldest first */
	gboolean halted;
	guint32 last_len; /* transfer_buffer_length of the last URB submitted here */
} EpSlot;

typedef struct {
	MockDev *md;
	guint port;
	GSource *src; /* a one-shot timeout, or NULL */
	gint64 due;   /* monotonic µs it fires at */
} PortWake;

struct MockDev {
	MockServer *srv;
	MockDevice *dev;
	MockConn *owner; /* the connection that imported it, or NULL */
	gboolean unplugged;
	gboolean stall_ep0;
	guint delay_ms;
	guint zero_length_outs; /* zero-length bulk OUT URBs received (ZLPs) */
	EpSlot ep[32];          /* see slot_of() */
	/* when a port's chip will have something for bulk IN (FTDI latency timer) */
	PortWake wake[MOCK_MODEL_MAX_PORTS];
};

typedef struct {
	gint64 due; /* monotonic time (µs) before which it must not be sent */
	gsize len;
	gsize off;
	guint8 data[];
} OutMsg;

typedef enum {
	CONN_OP,     /* waiting for the OP request */
	CONN_URB,    /* imported: URB stream */
	CONN_DRAIN,  /* not reading any more; close when the output is sent */
	CONN_CLOSED, /* on the dead list */
} ConnState;

struct MockConn {
	MockServer *srv;
	guint id;
	GSocket *sock;
	GSource *in_src;
	GSource *out_src;
	GSource *timer_src;
	GByteArray *inbuf;
	GQueue outq; /* OutMsg* */
	gint64 last_due;
	ConnState state;
	gboolean close_pending; /* close from the reaper (not safe where it was decided) */
	MockDev *dev;           /* imported device */
};

struct _MockServer {
	GMainContext *ctx;
	GSocket *listen;
	GSource *listen_src;
	guint16 port;
	GPtrArray *devs; /* MockDev*, sorted by busid */
	GList *conns;    /* MockConn* open */
	GList *dead;     /* MockConn* closed, to free */
	GSource *reap_src;
	MockControl *control;
	guint next_id;
	guint8 *scratch; /* MOCK_SERVER_MAX_TRANSFER bytes: a bulk-IN answer being built */
};

static void conn_flush(MockConn *c);
static void conn_close(MockConn *c);
static void pump_all(MockDev *md);

/* ---- devices ---------------------------------------------------------- */

static EpSlot *slot_of(MockDev *md, guint8 addr)
{
	return &md->ep[(addr & 0x0f) | ((addr & 0x80) ? 16 : 0)];
}

static void urb_free(MockUrb *u)
{
	if (!u)
		return;
	g_free(u->data);
	g_free(u);
}

static void wake_cancel(PortWake *w)
{
	if (w->src) {
		g_source_destroy(w->src);
		g_source_unref(w->src);
		w->src = NULL;
	}
}

static void wake_cancel_all(MockDev *md)
{
	for (guint i = 0; i < G_N_ELEMENTS(md->wake); i++)
		wake_cancel(&md->wake[i]);
}

static void mock_dev_free(MockDev *md)
{
	wake_cancel_all(md);
	for (guint i = 0; i < G_N_ELEMENTS(md->ep); i++)
		g_queue_clear_full(&md->ep[i].urbs, (GDestroyNotify)urb_free);
	mock_device_free(md->dev);
	g_free(md);
}

static MockDev *find_dev(MockServer *srv, const char *busid, GError **error)
{
	for (guint i = 0; i < srv->devs->len; i++) {
		MockDev *md = g_ptr_array_index(srv->devs, i);
		if (g_strcmp0(mock_device_get_busid(md->dev), busid) == 0)
			return md;
	}
	g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_NO_DEVICE, "no device %s",
	            busid ? busid : "(null)");
	return NULL;
}

/* The importer went away: Linux resets the device, so every URB is gone
 * (without replies: there is no one to send them to) and the device state
 * returns to its power-on values. */
static void dev_release(MockDev *md)
{
	for (guint i = 0; i < G_N_ELEMENTS(md->ep); i++) {
		g_queue_clear_full(&md->ep[i].urbs, (GDestroyNotify)urb_free);
		md->ep[i].halted = FALSE;
		md->ep[i].last_len = 0;
	}
	wake_cancel_all(md);
	md->stall_ep0 = FALSE;
	md->owner = NULL;
	mock_device_reset(md->dev);
}

/* ---- output ----------------------------------------------------------- */

static void conn_queue(MockConn *c, const guint8 *hdr, gsize hlen, const guint8 *data, gsize dlen,
                       gboolean delayed)
{
	OutMsg *m;
	gint64 due = 0;

	if (c->state == CONN_CLOSED)
		return;
	if (delayed && c->dev && c->dev->delay_ms)
		due = g_get_monotonic_time() + (gint64)c->dev->delay_ms * 1000;
	/* replies never overtake each other, whatever the delay was */
	due = MAX(due, c->last_due);
	c->last_due = due;
	m = g_malloc(sizeof(*m) + hlen + dlen);
	m->due = due;
	m->len = hlen + dlen;
	m->off = 0;
	memcpy(m->data, hdr, hlen);
	if (dlen)
		memcpy(m->data + hlen, data, dlen);
	g_queue_push_tail(&c->outq, m);
	conn_flush(c);
}

static void send_ret_submit(MockConn *c, guint32 seqnum, gint32 status, guint32 actual,
                            const guint8 *in_data, gsize in_len)
{
	struct usbip_urb_hdr h = {0};
	guint8 buf[USBIP_URB_HDR_SIZE];

	/* devid, direction and ep stay 0 as in Linux' stub_tx.c */
	h.command = USBIP_RET_SUBMIT;
	h.seqnum = seqnum;
	h.u.ret_submit.status = status;
	h.u.ret_submit.actual_length = (gint32)actual;
	if (usbip_proto_urb_hdr_encode(&h, buf, sizeof(buf)) < 0)
		g_error("cannot encode RET_SUBMIT");
	conn_queue(c, buf, sizeof(buf), in_data, in_len, TRUE);
}

static void send_ret_unlink(MockConn *c, guint32 seqnum, gint32 status)
{
	struct usbip_urb_hdr h = {0};
	guint8 buf[USBIP_URB_HDR_SIZE];

	h.command = USBIP_RET_UNLINK;
	h.seqnum = seqnum;
	h.u.ret_unlink.status = status;
	if (usbip_proto_urb_hdr_encode(&h, buf, sizeof(buf)) < 0)
		g_error("cannot encode RET_UNLINK");
	conn_queue(c, buf, sizeof(buf), NULL, 0, TRUE);
}

/* Complete a URB that is no longer in any queue; frees it. */
static void urb_complete(MockDev *md, MockUrb *u, gint32 status, const guint8 *in_data,
                         gsize in_len, gboolean is_in)
{
	guint32 actual = status == 0 ? (is_in ? (guint32)in_len : u->len) : 0;

	if (md->owner)
		send_ret_submit(md->owner, u->seqnum, status, actual, is_in ? in_data : NULL,
		                is_in && status == 0 ? in_len : 0);
	urb_free(u);
}

static void slot_fail_all(MockDev *md, guint index, gint32 status)
{
	MockUrb *u;

	while ((u = g_queue_pop_head(&md->ep[index].urbs)))
		urb_complete(md, u, status, NULL, 0, index >= 16);
}

/* ---- data path -------------------------------------------------------- */

static gboolean wake_cb(gpointer data)
{
	PortWake *w = data;

	g_source_unref(w->src);
	w->src = NULL;
	pump_all(w->md);
	return G_SOURCE_REMOVE;
}

/* Ask the port again at monotonic time due (µs), unless asked earlier. */
static void wake_at(MockDev *md, guint f, gint64 due)
{
	PortWake *w = &md->wake[f];
	gint64 now = g_get_monotonic_time();

	if (w->src && w->due <= due)
		return;
	wake_cancel(w);
	w->md = md;
	w->port = f;
	w->due = due;
	w->src = g_timeout_source_new((guint)MAX((due - now + 999) / 1000, 0));
	g_source_set_callback(w->src, wake_cb, w, NULL);
	g_source_attach(w->src, md->srv->ctx);
}

/*
 * Move bytes OUT URB -> chip (loopback) -> IN URB until nothing moves.  An OUT
 * URB completes only when the chip took all its bytes (back-pressure instead
 * of loss).  What an IN URB gets, and when, is the chip's framing
 * (ops->frame_in): raw whole packets as soon as there is data, or FTDI's
 * status bytes and latency timer.
 */
static void pump_port(MockDev *md, guint f)
{
	MockPort *p = mock_device_get_port(md->dev, f);
	const MockModelOps *ops;
	EpSlot *out, *in;
	gboolean progress;

	if (!p || !md->owner)
		return;
	ops = p->ops;
	out = slot_of(md, p->bulk_out);
	in = slot_of(md, p->bulk_in);
	do {
		MockUrb *u;

		progress = FALSE;
		while (!in->halted && (u = g_queue_peek_head(&in->urbs))) {
			guint8 *buf = md->srv->scratch;
			gint64 wake = 0;
			gssize n = ops->frame_in ? ops->frame_in(p, buf, u->len,
			                                         g_get_monotonic_time(), &wake)
			                         : mock_port_frame_raw(p, buf, u->len);
			if (n < 0) {
				if (wake > 0)
					wake_at(md, f, wake);
				break;
			}
			g_queue_pop_head(&in->urbs);
			urb_complete(md, u, 0, buf, (gsize)n, TRUE);
			progress = TRUE;
		}
		while (!out->halted && (u = g_queue_peek_head(&out->urbs))) {
			gsize n = ops->loop_in
			              ? ops->loop_in(p, u->data + u->done, u->len - u->done)
			              : mock_port_loop_raw(p, u->data + u->done, u->len - u->done);
			u->done += (guint32)n;
			if (n)
				progress = TRUE;
			if (u->done < u->len)
				break;
			g_queue_pop_head(&out->urbs);
			urb_complete(md, u, 0, NULL, 0, FALSE);
			progress = TRUE;
		}
	} while (progress);
}

static void pump_notify(MockDev *md, guint f)
{
	MockPort *p = mock_device_get_port(md->dev, f);
	EpSlot *s;

	if (!p || !p->has_notify || !md->owner)
		return;
	s = slot_of(md, p->notify_ep);
	while (!s->halted && !g_queue_is_empty(&p->notes) && !g_queue_is_empty(&s->urbs)) {
		MockUrb *u = g_queue_pop_head(&s->urbs);
		g_autoptr(GBytes) note = g_queue_pop_head(&p->notes);
		gsize len = 0;
		const guint8 *d = g_bytes_get_data(note, &len);
		urb_complete(md, u, 0, d, MIN(len, (gsize)u->len), TRUE);
	}
}

static void pump_all(MockDev *md)
{
	for (guint f = 0; f < mock_device_get_n_ports(md->dev); f++) {
		pump_port(md, f);
		pump_notify(md, f);
	}
}

/* ---- URB stream ------------------------------------------------------- */

static void after_reconfigure(MockDev *md, guint fx, guint8 clear_ep)
{
	if (fx & (MOCK_DEVICE_FX_RECONFIGURED | MOCK_DEVICE_FX_ALTSETTING)) {
		/* usb_set_configuration() flushes every endpoint and
		 * usb_set_interface() the ones it disables: those URBs end
		 * with -ESHUTDOWN. */
		for (guint i = 0; i < G_N_ELEMENTS(md->ep); i++) {
			MockEpInfo info;
			guint8 addr = (guint8)((i & 0x0f) | (i >= 16 ? 0x80 : 0));
			if ((addr & 0x0f) == 0)
				continue;
			if (!(fx & MOCK_DEVICE_FX_RECONFIGURED) &&
			    mock_device_find_ep(md->dev, addr, &info))
				continue;
			slot_fail_all(md, i, -ESHUTDOWN);
			md->ep[i].halted = FALSE;
		}
	}
	if (fx & MOCK_DEVICE_FX_RECONFIGURED) {
		/* the ports are those of the new configuration */
		wake_cancel_all(md);
	}
	if (fx & MOCK_DEVICE_FX_CLEAR_HALT) {
		slot_of(md, clear_ep)->halted = FALSE;
		pump_all(md);
	}
}

static int handle_control(MockConn *c, const struct usbip_urb_hdr *h, const guint8 *payload,
                          gsize plen)
{
	MockDev *md = c->dev;
	struct usb_setup s;
	guint fx = 0;
	guint8 clear_ep = 0;
	gsize in_len = 0;
	gboolean setup_in;
	int rc;

	usb_desc_setup_decode(&s, h->u.submit.setup);
	if ((guint32)h->u.submit.transfer_buffer_length != s.wLength) {
		/* usb_submit_urb() returns -EBADR and stub_rx drops the link */
		g_message("conn %u: control URB %u: buffer length %d != wLength %u, closing", c->id,
		          h->seqnum, h->u.submit.transfer_buffer_length, s.wLength);
		return -1;
	}
	setup_in = (s.bmRequestType & USB_DIR_IN) && s.wLength > 0;
	if (setup_in != (h->direction == USBIP_DIR_IN) && s.wLength > 0)
		g_message(
		    "conn %u: control URB %u: direction %u disagrees with bmRequestType 0x%02x",
		    c->id, h->seqnum, h->direction, s.bmRequestType);

	g_autofree guint8 *in = g_malloc0(MAX(s.wLength, 1));
	/* without an OUT payload (direction said IN) the device sees zeros,
	 * like the zeroed kernel buffer */
	g_autofree guint8 *out = g_malloc0(MAX(s.wLength, 1));
	if (!setup_in && plen)
		memcpy(out, payload, MIN(plen, (gsize)s.wLength));

	if (md->stall_ep0) {
		md->stall_ep0 = FALSE;
		mock_device_record(md->dev, &s, -EPIPE, NULL, 0);
		send_ret_submit(c, h->seqnum, -EPIPE, 0, NULL, 0);
		return 0;
	}
	rc = mock_device_control(md->dev, &s, out, setup_in ? 0 : s.wLength, in, &in_len, &fx,
	                         &clear_ep);
	g_debug("conn %u: control %02x %02x %04x %04x %u -> %d", c->id, s.bmRequestType, s.bRequest,
	        s.wValue, s.wIndex, s.wLength, rc);
	after_reconfigure(md, fx, clear_ep);
	/* the chip may now take or have data (UART enabled, buffer purged,
	 * lines changed) */
	pump_all(md);
	if (rc < 0)
		send_ret_submit(c, h->seqnum, rc, 0, NULL, 0);
	else if (setup_in)
		send_ret_submit(c, h->seqnum, 0, (guint32)in_len, in, in_len);
	else
		send_ret_submit(c, h->seqnum, 0, s.wLength, NULL, 0);
	return 0;
}

static int handle_submit(MockConn *c, const struct usbip_urb_hdr *h, const guint8 *payload,
                         gsize plen)
{
	MockDev *md = c->dev;
	gboolean is_in = h->direction == USBIP_DIR_IN;
	MockEpInfo info;
	MockUrb *u;
	EpSlot *s;
	guint8 addr;

	if (h->u.submit.transfer_buffer_length < 0 ||
	    h->u.submit.transfer_buffer_length > (gint32)MOCK_SERVER_MAX_TRANSFER)
		return -1;
	if (h->ep == 0)
		return handle_control(c, h, payload, plen);
	addr = (guint8)((h->ep & 0x0f) | (is_in ? 0x80 : 0));
	if (h->ep > 15 || !mock_device_find_ep(md->dev, addr, &info)) {
		/* stub_rx.c get_pipe() fails: the URB is dropped without reply */
		g_debug("conn %u: URB %u for missing endpoint %u/%s: no reply", c->id, h->seqnum,
		        h->ep, is_in ? "in" : "out");
		return 0;
	}
	if (info.type == USB_EP_ISOC)
		return -1;
	if (info.type == USB_EP_INTERRUPT && h->u.submit.interval <= 0) {
		/* usb_submit_urb() -EINVAL: stub_rx drops the link */
		g_message("conn %u: interrupt URB %u with interval %d, closing", c->id, h->seqnum,
		          h->u.submit.interval);
		return -1;
	}

	u = g_new0(MockUrb, 1);
	u->seqnum = h->seqnum;
	u->len = (guint32)h->u.submit.transfer_buffer_length;
	if (!is_in) {
		u->data = g_malloc0(MAX(plen, 1));
		if (plen)
			memcpy(u->data, payload, plen);
	}
	s = slot_of(md, addr);
	s->last_len = u->len;
	if (s->halted) {
		urb_complete(md, u, -EPIPE, NULL, 0, is_in);
		return 0;
	}
	switch (info.role) {
	case MOCK_EP_LOOP_OUT:
	case MOCK_EP_LOOP_IN:
		if (!is_in && u->len == 0)
			md->zero_length_outs++;
		if (is_in && u->len == 0) {
			urb_complete(md, u, 0, NULL, 0, TRUE);
			break;
		}
		g_queue_push_tail(&s->urbs, u);
		pump_port(md, (guint)info.port);
		break;
	case MOCK_EP_NOTIFY:
		g_queue_push_tail(&s->urbs, u);
		pump_notify(md, (guint)info.port);
		break;
	case MOCK_EP_OTHER:
	default:
		if (is_in)
			g_queue_push_tail(&s->urbs, u); /* NAKed forever */
		else
			urb_complete(md, u, 0, NULL, 0, FALSE);
		break;
	}
	return 0;
}

static void handle_unlink(MockConn *c, const struct usbip_urb_hdr *h)
{
	MockDev *md = c->dev;
	guint32 target = h->u.unlink.seqnum;

	for (guint i = 0; i < G_N_ELEMENTS(md->ep); i++) {
		for (GList *l = md->ep[i].urbs.head; l; l = l->next) {
			MockUrb *u = l->data;
			if (u->seqnum != target)
				continue;
			g_queue_delete_link(&md->ep[i].urbs, l);
			urb_free(u);
			/* stub_rx: the unlinked URB gets RET_UNLINK -ECONNRESET
			 * and no RET_SUBMIT */
			send_ret_unlink(c, h->seqnum, -ECONNRESET);
			/* an OUT URB that was blocking the ring may be gone */
			pump_all(md);
			return;
		}
	}
	/* already completed (its RET_SUBMIT is sent or queued before this) */
	send_ret_unlink(c, h->seqnum, 0);
}

/* Returns bytes consumed, 0 when more input is needed, -1 to close. */
static gssize process_urb(MockConn *c, const guint8 *p, gsize len)
{
	struct usbip_urb_hdr h;
	gssize plen = 0;

	if (len < USBIP_URB_HDR_SIZE)
		return 0;
	if (usbip_proto_urb_hdr_decode(&h, p, len) < 0) {
		g_message("conn %u: bad URB header, closing", c->id);
		return -1;
	}
	if (h.command == USBIP_CMD_SUBMIT) {
		plen = usbip_proto_cmd_submit_payload(&h, MOCK_SERVER_MAX_TRANSFER);
		if (plen < 0) {
			g_message("conn %u: bad CMD_SUBMIT %u, closing", c->id, h.seqnum);
			return -1;
		}
		if (len < USBIP_URB_HDR_SIZE + (gsize)plen)
			return 0;
	} else if (h.command != USBIP_CMD_UNLINK) {
		g_message("conn %u: unexpected URB command %u, closing", c->id, h.command);
		return -1;
	}
	if (h.devid != mock_device_get_devid(c->dev->dev)) {
		/* stub_rx.c valid_request() fails: SDEV_EVENT_ERROR_TCP */
		g_message("conn %u: wrong devid 0x%08x, closing", c->id, h.devid);
		return -1;
	}
	if (h.command == USBIP_CMD_UNLINK)
		handle_unlink(c, &h);
	else if (handle_submit(c, &h, p + USBIP_URB_HDR_SIZE, (gsize)plen) < 0)
		return -1;
	return USBIP_URB_HDR_SIZE + plen;
}

/* ---- OP requests ------------------------------------------------------ */

static void conn_start_drain(MockConn *c)
{
	c->state = CONN_DRAIN;
	if (c->in_src) {
		g_source_destroy(c->in_src);
		g_source_unref(c->in_src);
		c->in_src = NULL;
	}
	conn_flush(c);
}

static void send_devlist(MockConn *c)
{
	MockServer *srv = c->srv;
	g_autoptr(GByteArray) out = g_byte_array_new();
	guint8 buf[USBIP_DEVICE_SIZE + USBIP_MAX_INTERFACES * USBIP_INTF_SIZE];
	guint32 ndev = 0;

	for (guint i = 0; i < srv->devs->len; i++)
		ndev += !((MockDev *)g_ptr_array_index(srv->devs, i))->unplugged;
	if (usbip_proto_devlist_head_encode(USBIP_ST_OK, ndev, buf, sizeof(buf)) < 0)
		g_error("cannot encode devlist head");
	g_byte_array_append(out, buf, USBIP_DEVLIST_HEAD_SIZE);
	for (guint i = 0; i < srv->devs->len; i++) {
		MockDev *md = g_ptr_array_index(srv->devs, i);
		struct usbip_device rec;
		struct usbip_intf intf[USBIP_MAX_INTERFACES];
		gssize n;

		if (md->unplugged)
			continue;
		mock_device_fill_record(md->dev, &rec, intf, USBIP_MAX_INTERFACES);
		n = usbip_proto_devlist_entry_encode(&rec, intf, buf, sizeof(buf));
		if (n < 0)
			g_error("cannot encode device %s", rec.busid);
		g_byte_array_append(out, buf, (guint)n);
	}
	conn_queue(c, out->data, out->len, NULL, 0, FALSE);
}

static void do_import(MockConn *c, const char *busid)
{
	MockDev *md = find_dev(c->srv, busid, NULL);
	struct usbip_op_hdr oh = {.version = USBIP_VERSION, .code = USBIP_OP_REP_IMPORT};
	guint8 buf[USBIP_OP_HDR_SIZE + USBIP_DEVICE_SIZE];
	struct usbip_device rec;
	struct usbip_intf intf[USBIP_MAX_INTERFACES];

	if (!md || md->unplugged)
		oh.status = USBIP_ST_NODEV;
	else if (g_strcmp0(busid, "99-99") == 0)
		oh.status = USBIP_ST_DEV_ERR; /* the reserved device that always fails */
	else if (md->owner)
		oh.status = USBIP_ST_DEV_BUSY;
	else
		oh.status = USBIP_ST_OK;
	g_debug("conn %u: import %s -> %s", c->id, busid, usbip_proto_status_str(oh.status));
	if (usbip_proto_op_hdr_encode(&oh, buf, sizeof(buf)) < 0)
		g_error("cannot encode OP header");
	if (oh.status != USBIP_ST_OK) {
		conn_queue(c, buf, USBIP_OP_HDR_SIZE, NULL, 0, FALSE);
		conn_start_drain(c);
		return;
	}
	mock_device_fill_record(md->dev, &rec, intf, USBIP_MAX_INTERFACES);
	if (usbip_proto_device_encode(&rec, buf + USBIP_OP_HDR_SIZE, USBIP_DEVICE_SIZE) < 0)
		g_error("cannot encode device %s", busid);
	md->owner = c;
	c->dev = md;
	c->state = CONN_URB;
	conn_queue(c, buf, sizeof(buf), NULL, 0, FALSE);
}

static gssize process_op(MockConn *c, const guint8 *p, gsize len)
{
	struct usbip_op_hdr oh;
	char busid[USBIP_BUSID_SIZE];

	if (len < USBIP_OP_HDR_SIZE)
		return 0;
	/* usbipd: a wrong version or a non-zero status ends the connection
	 * without a reply */
	if (usbip_proto_op_hdr_decode(&oh, p, len) < 0 || oh.status != 0) {
		g_message("conn %u: bad OP header, closing", c->id);
		return -1;
	}
	switch (oh.code) {
	case USBIP_OP_REQ_DEVLIST:
		send_devlist(c);
		conn_start_drain(c);
		return USBIP_OP_HDR_SIZE;
	case USBIP_OP_REQ_IMPORT:
		if (len < USBIP_IMPORT_REQ_SIZE)
			return 0;
		if (usbip_proto_import_req_decode(busid, p, len) < 0) {
			g_message("conn %u: bad OP_REQ_IMPORT, closing", c->id);
			return -1;
		}
		do_import(c, busid);
		return USBIP_IMPORT_REQ_SIZE;
	default:
		g_message("conn %u: unexpected OP code 0x%04x, closing", c->id, oh.code);
		return -1;
	}
}

/* ---- connections ------------------------------------------------------ */

static void destroy_source(GSource **src)
{
	if (*src) {
		g_source_destroy(*src);
		g_source_unref(*src);
		*src = NULL;
	}
}

static gboolean reap_cb(gpointer data)
{
	MockServer *srv = data;
	GList *l, *next;

	for (l = srv->conns; l; l = next) {
		next = l->next;
		if (((MockConn *)l->data)->close_pending)
			conn_close(l->data);
	}
	while ((l = srv->dead)) {
		MockConn *c = l->data;
		srv->dead = g_list_delete_link(srv->dead, l);
		g_queue_clear_full(&c->outq, g_free);
		g_byte_array_unref(c->inbuf);
		g_object_unref(c->sock);
		g_free(c);
	}
	g_source_unref(srv->reap_src);
	srv->reap_src = NULL;
	return G_SOURCE_REMOVE;
}

static void schedule_reap(MockServer *srv)
{
	if (srv->reap_src)
		return;
	srv->reap_src = g_idle_source_new();
	g_source_set_callback(srv->reap_src, reap_cb, srv, NULL);
	g_source_attach(srv->reap_src, srv->ctx);
}

static void conn_close_soon(MockConn *c)
{
	c->close_pending = TRUE;
	schedule_reap(c->srv);
}

/* Safe anywhere no MockDev queue is being walked. */
static void conn_close(MockConn *c)
{
	MockServer *srv = c->srv;

	if (c->state == CONN_CLOSED)
		return;
	g_debug("conn %u: closed", c->id);
	c->state = CONN_CLOSED;
	destroy_source(&c->in_src);
	destroy_source(&c->out_src);
	destroy_source(&c->timer_src);
	if (c->dev && c->dev->owner == c)
		dev_release(c->dev);
	c->dev = NULL;
	g_socket_close(c->sock, NULL);
	srv->conns = g_list_remove(srv->conns, c);
	srv->dead = g_list_prepend(srv->dead, c);
	schedule_reap(srv);
}

static gboolean out_cb(GSocket *sock, GIOCondition cond, gpointer data)
{
	MockConn *c = data;

	g_source_unref(c->out_src);
	c->out_src = NULL;
	conn_flush(c);
	return G_SOURCE_REMOVE;
}

static gboolean timer_cb(gpointer data)
{
	MockConn *c = data;

	g_source_unref(c->timer_src);
	c->timer_src = NULL;
	conn_flush(c);
	return G_SOURCE_REMOVE;
}

static void conn_flush(MockConn *c)
{
	OutMsg *m;
	gint64 now;

	if (c->state == CONN_CLOSED || c->close_pending)
		return;
	now = g_get_monotonic_time();
	while ((m = g_queue_peek_head(&c->outq))) {
		g_autoptr(GError) err = NULL;
		gssize n;

		if (m->due > now) {
			if (!c->timer_src) {
				c->timer_src =
				    g_timeout_source_new((guint)((m->due - now + 999) / 1000));
				g_source_set_callback(c->timer_src, timer_cb, c, NULL);
				g_source_attach(c->timer_src, c->srv->ctx);
			}
			return;
		}
		n = g_socket_send(c->sock, (const char *)m->data + m->off, m->len - m->off, NULL,
		                  &err);
		if (n < 0) {
			if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
				if (!c->out_src) {
					c->out_src =
					    g_socket_create_source(c->sock, G_IO_OUT, NULL);
					g_source_set_callback(c->out_src, G_SOURCE_FUNC(out_cb), c,
					                      NULL);
					g_source_attach(c->out_src, c->srv->ctx);
				}
				return;
			}
			g_debug("conn %u: send: %s", c->id, err->message);
			conn_close_soon(c);
			return;
		}
		m->off += (gsize)n;
		if (m->off == m->len)
			g_free(g_queue_pop_head(&c->outq));
	}
	if (c->state == CONN_DRAIN)
		conn_close_soon(c);
}

static gboolean in_cb(GSocket *sock, GIOCondition cond, gpointer data)
{
	MockConn *c = data;
	guint8 buf[65536];
	gboolean eof = FALSE;
	gsize off = 0;

	for (;;) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_receive(sock, (char *)buf, sizeof(buf), NULL, &err);
		if (n < 0) {
			if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				break;
			g_debug("conn %u: receive: %s", c->id, err->message);
			conn_close(c);
			return G_SOURCE_REMOVE;
		}
		if (n == 0) {
			eof = TRUE;
			break;
		}
		g_byte_array_append(c->inbuf, buf, (guint)n);
		if ((gsize)n < sizeof(buf))
			break;
	}
	/* a request followed by a half-close is still answered */
	while (c->state == CONN_OP || c->state == CONN_URB) {
		gssize used;
		if (c->state == CONN_OP)
			used = process_op(c, c->inbuf->data + off, c->inbuf->len - off);
		else
			used = process_urb(c, c->inbuf->data + off, c->inbuf->len - off);
		if (used < 0) {
			conn_close(c);
			return G_SOURCE_REMOVE;
		}
		if (used == 0)
			break;
		off += (gsize)used;
	}
	if (c->state == CONN_CLOSED)
		return G_SOURCE_REMOVE;
	g_byte_array_remove_range(c->inbuf, 0, (guint)off);
	if (eof) {
		g_debug("conn %u: peer closed", c->id);
		if (c->state == CONN_DRAIN)
			return G_SOURCE_REMOVE; /* conn_start_drain() removed us */
		/* usbip-host drops the device link (and its URBs) on EOF */
		conn_close(c);
		return G_SOURCE_REMOVE;
	}
	return c->in_src ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void conn_new(MockServer *srv, GSocket *sock)
{
	MockConn *c = g_new0(MockConn, 1);

	c->srv = srv;
	c->id = ++srv->next_id;
	c->sock = sock;
	c->inbuf = g_byte_array_new();
	g_queue_init(&c->outq);
	c->state = CONN_OP;
	g_socket_set_blocking(sock, FALSE);
	/* usbipd sets TCP_NODELAY on imported links; small URBs must not wait */
	g_socket_set_option(sock, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	c->in_src = g_socket_create_source(sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(c->in_src, G_SOURCE_FUNC(in_cb), c, NULL);
	g_source_attach(c->in_src, srv->ctx);
	srv->conns = g_list_prepend(srv->conns, c);
	g_debug("conn %u: accepted", c->id);
}

static gboolean listen_cb(GSocket *ls, GIOCondition cond, gpointer data)
{
	MockServer *srv = data;

	for (;;) {
		g_autoptr(GError) err = NULL;
		GSocket *s = g_socket_accept(ls, NULL, &err);
		if (!s) {
			if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				g_message("accept: %s", err->message);
			break;
		}
		conn_new(srv, s);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- public API ------------------------------------------------------- */

static gint cmp_dev(gconstpointer a, gconstpointer b)
{
	const MockDev *x = *(MockDev *const *)a, *y = *(MockDev *const *)b;

	return strcmp(mock_device_get_busid(x->dev), mock_device_get_busid(y->dev));
}

static gboolean load_dir(MockServer *srv, const char *dir, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, error);
	const char *name;

	if (!d)
		return FALSE;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = NULL;
		MockDev *md;
		MockDevice *dev;

		if (!g_str_has_suffix(name, ".lsusb"))
			continue;
		path = g_build_filename(dir, name, NULL);
		dev = mock_device_load(path, error);
		if (!dev)
			return FALSE;
		md = g_new0(MockDev, 1);
		md->srv = srv;
		md->dev = dev;
		g_ptr_array_add(srv->devs, md);
	}
	g_ptr_array_sort(srv->devs, cmp_dev);
	return TRUE;
}

static gboolean start_listening(MockServer *srv, const char *addr, guint16 port, GError **error)
{
	g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(addr);
	g_autoptr(GSocketAddress) sa = NULL;
	g_autoptr(GSocketAddress) local = NULL;

	if (!ia) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_INVALID,
		            "not a numeric IP address: %s", addr);
		return FALSE;
	}
	sa = g_inet_socket_address_new(ia, port);
	srv->listen = g_socket_new(g_inet_address_get_family(ia), G_SOCKET_TYPE_STREAM,
	                           G_SOCKET_PROTOCOL_TCP, error);
	if (!srv->listen)
		return FALSE;
	g_socket_set_blocking(srv->listen, FALSE);
	if (!g_socket_bind(srv->listen, sa, TRUE, error) || !g_socket_listen(srv->listen, error))
		return FALSE;
	local = g_socket_get_local_address(srv->listen, error);
	if (!local)
		return FALSE;
	srv->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
	srv->listen_src = g_socket_create_source(srv->listen, G_IO_IN, NULL);
	g_source_set_callback(srv->listen_src, G_SOURCE_FUNC(listen_cb), srv, NULL);
	g_source_attach(srv->listen_src, srv->ctx);
	return TRUE;
}

MockServer *mock_server_new(const char *dir, const char *listen_addr, guint16 port, GError **error)
{
	g_autoptr(MockServer) srv = g_new0(MockServer, 1);

	srv->ctx = g_main_context_ref_thread_default();
	srv->scratch = g_malloc(MOCK_SERVER_MAX_TRANSFER);
	srv->devs = g_ptr_array_new_with_free_func((GDestroyNotify)mock_dev_free);
	if (!load_dir(srv, dir, error))
		return NULL;
	if (!start_listening(srv, listen_addr ? listen_addr : "127.0.0.1", port, error))
		return NULL;
	g_debug("serving %u devices from %s on port %u", srv->devs->len, dir, srv->port);
	return g_steal_pointer(&srv);
}

void mock_server_free(MockServer *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		conn_close(srv->conns->data);
	if (srv->reap_src) {
		/* reap_cb() drops our reference */
		g_source_destroy(srv->reap_src);
		reap_cb(srv);
	}
	mock_control_free(srv->control);
	destroy_source(&srv->listen_src);
	if (srv->listen) {
		g_socket_close(srv->listen, NULL);
		g_object_unref(srv->listen);
	}
	if (srv->devs)
		g_ptr_array_unref(srv->devs);
	g_main_context_unref(srv->ctx);
	g_free(srv->scratch);
	g_free(srv);
}

guint16 mock_server_get_port(MockServer *srv)
{
	return srv->port;
}

gboolean mock_server_listen_control(MockServer *srv, const char *path, GError **error)
{
	MockControl *ctl = mock_control_new(srv, path, srv->ctx, error);

	if (!ctl)
		return FALSE;
	mock_control_free(srv->control);
	srv->control = ctl;
	return TRUE;
}

char **mock_server_list_busids(MockServer *srv)
{
	GPtrArray *a = g_ptr_array_new();

	for (guint i = 0; i < srv->devs->len; i++) {
		MockDev *md = g_ptr_array_index(srv->devs, i);
		g_ptr_array_add(a, g_strdup(mock_device_get_busid(md->dev)));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

const char *mock_server_get_state(MockServer *srv, const char *busid)
{
	MockDev *md = find_dev(srv, busid, NULL);

	if (!md)
		return NULL;
	if (md->unplugged)
		return "unplugged";
	return md->owner ? "imported" : "free";
}

guint mock_server_get_zero_length_outs(MockServer *srv, const char *busid)
{
	MockDev *md = find_dev(srv, busid, NULL);
	return md ? md->zero_length_outs : 0;
}

gint64 mock_server_get_last_urb_len(MockServer *srv, const char *busid, guint8 ep_addr)
{
	MockDev *md = find_dev(srv, busid, NULL);
	if (!md || (ep_addr & 0x0f) == 0 || (ep_addr & 0x70))
		return -1;
	return slot_of(md, ep_addr)->last_len;
}

guint mock_server_get_n_connections(MockServer *srv)
{
	return g_list_length(srv->conns);
}

static MockPort *port_of(MockDev *md, gint intf, GError **error)
{
	gint f = mock_device_find_port(md->dev, intf);

	if (f < 0) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_NO_FUNCTION,
		            "%s has no serial port with interface %d",
		            mock_device_get_busid(md->dev), intf);
		return NULL;
	}
	return mock_device_get_port(md->dev, (guint)f);
}

gboolean mock_server_inject_serial_state(MockServer *srv, const char *busid, gint intf,
                                         guint16 state, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);
	MockPort *p;
	guint8 buf[16];
	gssize n;

	if (!md || !(p = port_of(md, intf, error)))
		return FALSE;
	if (p->ops != &mock_model_cdc_acm) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_NO_FUNCTION,
		            "%s is played by the %s model, not cdc_acm: use modem", busid,
		            p->ops->name);
		return FALSE;
	}
	if (!p->has_notify) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_NO_FUNCTION,
		            "ACM function %u of %s has no notification endpoint", p->intf, busid);
		return FALSE;
	}
	n = cdc_acm_serial_state_encode(p->intf, state, buf, sizeof(buf));
	if (n < 0) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_INVALID,
		            "cannot encode SERIAL_STATE: %s", g_strerror((int)-n));
		return FALSE;
	}
	if (mock_port_queue_note(p, buf, (gsize)n) < 0) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_STATE,
		            "%u notifications already wait on %s", MOCK_MODEL_MAX_NOTES, busid);
		return FALSE;
	}
	pump_all(md);
	return TRUE;
}

gboolean mock_server_set_inputs(MockServer *srv, const char *busid, gint intf, guint16 bits,
                                GError **error)
{
	MockDev *md = find_dev(srv, busid, error);
	MockPort *p;
	int rc;

	if (!md || !(p = port_of(md, intf, error)))
		return FALSE;
	if (bits & ~(MOCK_SERVER_INPUTS | MOCK_SERVER_EVENTS)) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_INVALID,
		            "not input lines or line events: 0x%x", bits);
		return FALSE;
	}
	rc = p->ops->inputs(p, bits);
	if (rc == -ENOTSUP) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_UNSUPPORTED,
		            "the %s model of %s cannot signal that (0x%x)", p->ops->name, busid,
		            bits);
		return FALSE;
	}
	if (rc < 0) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_STATE,
		            "%s cannot take more input events now: %s", busid, g_strerror(-rc));
		return FALSE;
	}
	pump_all(md);
	return TRUE;
}

const char *mock_server_get_model(MockServer *srv, const char *busid)
{
	MockDev *md = find_dev(srv, busid, NULL);
	const MockModelOps *ops = md ? mock_device_get_model(md->dev) : NULL;

	if (!md || mock_device_get_n_ports(md->dev) == 0 || !ops)
		return NULL;
	return ops->name;
}

char *mock_server_describe_port(MockServer *srv, const char *busid, gint intf, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);
	MockPort *p;
	GString *out;

	if (!md || !(p = port_of(md, intf, error)))
		return NULL;
	out = g_string_new(p->ops->name);
	g_string_append_c(out, ' ');
	p->ops->describe(p, out);
	return g_string_free(out, FALSE);
}

char *mock_server_line_to_string(const MockServerLine *l)
{
	static const char parity[] = "NOEMS";
	static const char *const stop[] = {"1", "1.5", "2"};
	static const struct {
		guint8 bit;
		const char *word;
	} flows[] = {
	    {MOCK_SERVER_FLOW_RTSCTS, "rtscts"},
	    {MOCK_SERVER_FLOW_DTRDSR, "dtrdsr"},
	    {MOCK_SERVER_FLOW_IXON, "ixon"},
	    {MOCK_SERVER_FLOW_IXOFF, "ixoff"},
	};
	GString *r = g_string_new(NULL);
	double whole = round(l->rate);

	if (fabs(l->rate - whole) < 0.0005) {
		g_string_append_printf(r, "%.0f", whole);
	} else {
		g_string_append_printf(r, "%.3f", l->rate);
		while (r->str[r->len - 1] == '0')
			g_string_truncate(r, r->len - 1);
	}
	g_string_append_printf(r, " %u %c %s", l->data_bits,
	                       l->parity < 5 ? parity[l->parity] : '?',
	                       l->stop_bits < 3 ? stop[l->stop_bits] : "?");
	for (guint i = 0; i < G_N_ELEMENTS(flows); i++)
		if (l->flow & flows[i].bit)
			g_string_append_printf(r, " %s", flows[i].word);
	return g_string_free(r, FALSE);
}

GArray *mock_server_get_requests(MockServer *srv, const char *busid, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);
	const GArray *r;
	GArray *copy;

	if (!md)
		return NULL;
	r = mock_device_get_records(md->dev);
	copy = g_array_sized_new(FALSE, FALSE, sizeof(MockServerRequest), r->len);
	g_array_append_vals(copy, r->data, r->len);
	return copy;
}

gboolean mock_server_clear_requests(MockServer *srv, const char *busid, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);

	if (!md)
		return FALSE;
	mock_device_clear_records(md->dev);
	return TRUE;
}

gboolean mock_server_get_line(MockServer *srv, const char *busid, gint intf, MockServerLine *out,
                              GError **error)
{
	MockDev *md = find_dev(srv, busid, error);
	const MockHistory *h;
	const MockModelOps *ops;

	if (!md)
		return FALSE;
	h = mock_device_get_history(md->dev, intf);
	if (!h || !h->line_set) {
		ops = mock_device_get_model(md->dev);
		g_set_error(
		    error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_NOT_FOUND, "no %s recorded on %s",
		    !ops || ops == &mock_model_cdc_acm ? "SET_LINE_CODING" : "line settings",
		    busid);
		return FALSE;
	}
	*out = h->line;
	return TRUE;
}

gboolean mock_server_get_line_coding(MockServer *srv, const char *busid, gint intf,
                                     struct cdc_line_coding *lc, GError **error)
{
	MockServerLine l;

	if (!mock_server_get_line(srv, busid, intf, &l, error))
		return FALSE;
	lc->rate = (guint32)lround(l.rate);
	lc->data_bits = l.data_bits;
	lc->parity = l.parity;
	lc->stop_bits = l.stop_bits;
	return TRUE;
}

static GArray *history_copy(MockServer *srv, const char *busid, gint intf, gboolean breaks,
                            GError **error)
{
	MockDev *md = find_dev(srv, busid, error);
	const MockHistory *h;
	GArray *out;

	if (!md)
		return NULL;
	out = g_array_new(FALSE, FALSE, sizeof(guint16));
	h = mock_device_get_history(md->dev, intf);
	if (h) {
		const GArray *src = breaks ? h->breaks : h->lines;
		g_array_append_vals(out, src->data, src->len);
	}
	return out;
}

GArray *mock_server_get_line_history(MockServer *srv, const char *busid, gint intf, GError **error)
{
	return history_copy(srv, busid, intf, FALSE, error);
}

GArray *mock_server_get_break_history(MockServer *srv, const char *busid, gint intf, GError **error)
{
	return history_copy(srv, busid, intf, TRUE, error);
}

gboolean mock_server_stall(MockServer *srv, const char *busid, guint8 ep, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);
	guint index;

	if (!md)
		return FALSE;
	if ((ep & 0x0f) == 0 && (ep & 0x70) == 0) {
		md->stall_ep0 = TRUE;
		return TRUE;
	}
	if (ep & 0x70) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_INVALID,
		            "not an endpoint address: 0x%02x", ep);
		return FALSE;
	}
	index = (ep & 0x0f) | ((ep & 0x80) ? 16 : 0);
	md->ep[index].halted = TRUE;
	slot_fail_all(md, index, -EPIPE);
	return TRUE;
}

gboolean mock_server_unplug(MockServer *srv, const char *busid, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);

	if (!md)
		return FALSE;
	if (md->unplugged) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_STATE,
		            "%s is already unplugged", busid);
		return FALSE;
	}
	md->unplugged = TRUE;
	if (md->owner) {
		MockConn *c = md->owner;
		/* usb_hcd_flush_endpoint(): every pending URB ends with
		 * -ESHUTDOWN, then usbip-host closes the socket */
		for (guint i = 0; i < G_N_ELEMENTS(md->ep); i++)
			slot_fail_all(md, i, -ESHUTDOWN);
		conn_start_drain(c);
	}
	return TRUE;
}

gboolean mock_server_replug(MockServer *srv, const char *busid, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);

	if (!md)
		return FALSE;
	if (!md->unplugged) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_STATE,
		            "%s is not unplugged", busid);
		return FALSE;
	}
	md->unplugged = FALSE;
	return TRUE;
}

gboolean mock_server_move(MockServer *srv, const char *busid, const char *new_busid, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);

	if (!md)
		return FALSE;
	if (!*new_busid || strlen(new_busid) >= USBIP_BUSID_SIZE) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_INVALID,
		            "a busid has 1..%u bytes", USBIP_BUSID_SIZE - 1);
		return FALSE;
	}
	if (find_dev(srv, new_busid, NULL)) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_INVALID,
		            "there is a device %s already", new_busid);
		return FALSE;
	}
	if (md->owner) {
		MockConn *c = md->owner;
		/* the importer sees an unplug */
		for (guint i = 0; i < G_N_ELEMENTS(md->ep); i++)
			slot_fail_all(md, i, -ESHUTDOWN);
		conn_start_drain(c);
	}
	mock_device_set_busid(md->dev, new_busid);
	g_ptr_array_sort(srv->devs, cmp_dev);
	return TRUE;
}

gboolean mock_server_set_delay(MockServer *srv, const char *busid, guint ms, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);

	if (!md)
		return FALSE;
	md->delay_ms = ms;
	return TRUE;
}

gboolean mock_server_drop(MockServer *srv, const char *busid, GError **error)
{
	MockDev *md = find_dev(srv, busid, error);

	if (!md)
		return FALSE;
	if (!md->owner) {
		g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_STATE, "%s is not imported",
		            busid);
		return FALSE;
	}
	conn_close(md->owner);
	return TRUE;
}
