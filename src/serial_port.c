/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "serial-port"

#include "serial_port.h"

#include <errno.h>
#include <string.h>

#include "uc_error.h"

void serial_port_config_init(SerialPortConfig *cfg)
{
	cfg->rx_urbs = 16;
	cfg->rx_urb_size = 16384;
	cfg->tx_urbs = 16;
	cfg->tx_urb_size = 16384;
}

typedef struct {
	guint32 seqnum;
	gsize len;
	gboolean flushed; /* cancelled by serial_port_flush_tx: not a failure */
} TxUrb;

/* ---- control operations: one queue, one runner ---- */

typedef enum {
	OP_IDENTIFY,
	OP_INIT,
	OP_LINE,
	OP_LINES,
	OP_STATUS, /* read the status (drivers with status_poll) */
	OP_SETUP_DONE,
	OP_BREAK,
	OP_PURGE,
	OP_CLEAR_HALT,
	OP_ACTIVE, /* the node opened or closed */
} OpKind;

typedef struct Op Op;

struct _SerialPort {
	UsbipDevice *dev;
	guint index;
	guint listener;
	const struct serial_driver *drv;
	struct serial_function f;
	SerialPortConfig cfg;
	SerialPortCallbacks cb;
	gpointer user;

	gboolean linked;     /* the device link is up: conn is valid (setup may run) */
	gboolean up;         /* set up: data flows */
	UsbipConn *conn;     /* ref held while linked */
	UsbipConn *old_conn; /* the last one, until freed: URBs may still name us */

	GQueue ops;       /* Op*, in run order */
	Op *op_cur;       /* running: its transfers are in the device's queue */
	guint op_src;     /* idle that starts the next operation */
	guint op_timer;   /* op_cur waits for a simulated break to be sent */
	gint64 break_end; /* monotonic us: a simulated break's NUL byte is out */

	/* rx */
	gsize rx_size;
	GArray *rx_seqs; /* guint32 seqnums in flight */
	GByteArray *rx_held;
	gsize rx_held_off;
	gboolean rx_delivering; /* inside cb.rx: a resume only asks for another pass */
	gboolean rx_again;      /* room was freed while delivering */
	gboolean tx_halted;     /* bulk OUT stalled: no URBs until its halt is cleared */
	guint8 *rx_frame_buf;   /* rx_size bytes, for drivers that frame their data */

	/* tx: the owner's queue is the only one; these are the URBs in flight */
	GQueue tx_inflight; /* TxUrb* in submission order */
	gsize tx_inflight_bytes;

	/* modem status */
	guint32 notify_seq;
	guint16 in_lines; /* input levels last reported */
	gboolean active;  /* the node is open: poll the status, tell the chip */
	gboolean poll_queued;
	guint poll_timer;

	/* what every setup replays: the last values asked for; *_seq counts
	 * the requests, *_sent is the last one on the wire in this link */
	gboolean have_line;
	struct serial_line line;
	gboolean have_reported;
	struct serial_line reported; /* what the driver said it runs, as it would tell the tty */
	guint32 actual_baud;
	guint line_seq, line_sent;
	gboolean have_lines;
	guint lines;
	guint lines_seq, lines_sent;

	SerialPortStats st;
};

struct Op {
	SerialPort *p; /* NULL once the port is freed: then nobody is called */
	OpKind kind;
	gboolean setup; /* a step of the setup every link-up queues at the head */
	struct serial_line line;
	guint lines;
	gboolean on, rx, tx;
	guint8 ep;
	guint seq;                   /* OP_LINE / OP_LINES asked by the owner: its request number */
	struct serial_line reported; /* OP_LINE: what the driver reported ... */
	gboolean reported_valid;     /* ... when it took the settings */
	SerialPortDoneFunc cb;
	gpointer user;
	struct serial_xfers q;
	guint next;   /* next transfer of q */
	guint round;  /* OP_IDENTIFY: rounds asked so far */
	guint sim_ms; /* OP_BREAK on: the chip simulates it with a NUL byte this long */
	int status;   /* first failure */
	gboolean in_device;
};

static void rx_fill(SerialPort *p);
static void tx_kick(SerialPort *p);
static void notify_submit(SerialPort *p);
static void poll_schedule(SerialPort *p);
static void op_kick(SerialPort *p);

gboolean serial_port_is_up(SerialPort *p)
{
	return p->up;
}

const struct serial_function *serial_port_get_function(SerialPort *p)
{
	return &p->f;
}

const struct serial_driver *serial_port_get_driver(SerialPort *p)
{
	return p->drv;
}

guint serial_port_get_lines(SerialPort *p)
{
	return p->lines;
}

guint serial_port_get_input_lines(SerialPort *p)
{
	return p->in_lines;
}

guint32 serial_port_get_actual_baud(SerialPort *p)
{
	return p->actual_baud;
}

gboolean serial_port_get_reported_line(SerialPort *p, struct serial_line *l)
{
	if (p->have_reported)
		*l = p->reported;
	return p->have_reported;
}

void serial_port_get_stats(SerialPort *p, SerialPortStats *st)
{
	*st = p->st;
}

static gboolean status_means_gone(int status)
{
	/* What servers send when the device left or the link is going away. */
	return status == -ESHUTDOWN || status == -ENODEV || status == -EPROTO || status == -ENOENT;
}

/* ---- modem status ---- */

static void status_report(SerialPort *p, const struct serial_status *st)
{
	gboolean news = st->events != 0;
	if (st->has_lines) {
		guint16 in = (guint16)(st->lines & SERIAL_IN_MASK);
		news = news || in != p->in_lines || (st->ri_event && (in & SERIAL_RI));
		p->in_lines = in;
	}
	if (news && p->cb.status)
		p->cb.status(p, st, p->user);
}

/* ---- control operations ---- */

static const char *op_name(OpKind k)
{
	static const char *const names[] = {
	    [OP_IDENTIFY] = "identify", [OP_INIT] = "init",          [OP_LINE] = "line settings",
	    [OP_LINES] = "modem lines", [OP_STATUS] = "status read", [OP_SETUP_DONE] = "setup",
	    [OP_BREAK] = "break",       [OP_PURGE] = "purge",        [OP_CLEAR_HALT] = "clear halt",
	    [OP_ACTIVE] = "activity",
	};
	return names[k];
}

/* Fill op->q from the driver's table; -errno if the chip cannot. */
static int op_build(SerialPort *p, Op *op)
{
	const struct serial_driver *d = p->drv;
	struct serial_xfer x;
	unsigned interval;
	guint32 actual = 0;
	int rc = 0;

	serial_xfers_init(&op->q);
	switch (op->kind) {
	case OP_IDENTIFY:
		return d->identify ? d->identify(&p->f, &op->q) : 0;
	case OP_INIT:
		return d->init ? d->init(&p->f, &op->q) : 0;
	case OP_LINE:
		if (!p->have_line)
			return 0;
		op->reported = op->line;
		rc = d->set_line(&p->f, &op->reported, &op->q, &actual);
		if (rc >= 0) {
			if (actual != op->line.baud)
				g_message("port %u: %u bit/s runs at %u bit/s on this %s chip",
				          p->index, op->line.baud, actual, d->name);
			p->actual_baud = actual;
			p->line_sent = op->seq;
			op->reported_valid = TRUE;
		}
		return rc;
	case OP_LINES:
		if (!p->have_lines)
			return 0;
		p->lines_sent = op->seq;
		return d->set_lines(&p->f, op->lines, &op->q);
	case OP_BREAK:
		rc = d->set_break(&p->f, op->on, &op->q);
		if (rc > 0)
			op->sim_ms = (guint)rc;
		return rc > 0 ? 0 : rc;
	case OP_PURGE:
		return d->purge ? d->purge(&p->f, op->rx, op->tx, &op->q) : 0;
	case OP_ACTIVE:
		/* a setup's step tells the chip what is now */
		return d->set_active ? d->set_active(&p->f, op->setup ? p->active : op->on, &op->q)
		                     : 0;
	case OP_STATUS:
		rc = d->status_poll ? d->status_poll(&p->f, &x, &interval) : 0;
		if (rc < 0 || !d->status_poll)
			return rc;
		op->q.x[0] = x;
		op->q.n = 1;
		return 0;
	case OP_CLEAR_HALT:
		/* host-to-device, standard, endpoint: CLEAR_FEATURE(ENDPOINT_HALT) */
		return serial_xfers_add(&op->q, 0x02, USB_REQ_CLEAR_FEATURE, 0, op->ep, NULL, 0);
	case OP_SETUP_DONE:
		return 0;
	}
	return -EINVAL;
}

static void op_free(Op *op)
{
	g_free(op);
}

static void setup_done(SerialPort *p);

static void sim_break_sent(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
}

/* A chip without a break register (ch341): one NUL byte at the slowest
 * rate the break's transfers selected is the break. */
static void sim_break_start(SerialPort *p, guint ms)
{
	static const guint8 nul[1] = {0};
	p->break_end = g_get_monotonic_time() + (gint64)ms * 1000;
	if (!usbip_conn_submit(p->conn, p->f.bulk_out_ep, NULL, nul, 1, 0, sim_break_sent, p))
		g_debug("port %u: cannot send the simulated break", p->index);
}

/* The operation ran all its transfers (or stopped at a failure). */
static void op_finish(SerialPort *p, Op *op)
{
	p->op_cur = NULL;
	if (op->kind == OP_BREAK && op->sim_ms && op->status == 0 && p->linked)
		sim_break_start(p, op->sim_ms);
	/* an identification the driver cannot work with fails the connect */
	if (op->kind == OP_IDENTIFY && op->status < 0 && op->status != -ENOTCONN && p->linked) {
		g_warning("port %u: %s identify failed: %s", p->index, p->drv->name,
		          g_strerror(-op->status));
		usbip_device_link_lost(p->dev, "the chip could not be identified");
	}
	if (op->kind == OP_STATUS)
		p->poll_queued = FALSE;
	/* a setup step has nobody to answer: say it here */
	if (op->status < 0 && op->status != -ENOTCONN && op->setup && op->kind != OP_STATUS &&
	    op->kind != OP_IDENTIFY)
		g_warning("port %u: %s %s failed: %s", p->index, p->drv->name, op_name(op->kind),
		          g_strerror(-op->status));
	if (op->kind == OP_SETUP_DONE && p->linked)
		setup_done(p);
	if (op->kind == OP_LINE && op->status == 0 && op->reported_valid) {
		p->reported = op->reported;
		p->have_reported = TRUE;
	}
	if (op->kind == OP_CLEAR_HALT && op->ep == p->f.bulk_out_ep)
		p->tx_halted = FALSE;
	if (op->kind == OP_CLEAR_HALT && p->up) {
		if (op->status < 0)
			g_debug("port %u: CLEAR_FEATURE(HALT) failed: %s", p->index,
			        g_strerror(-op->status));
		/* whichever pipe stalled can run again */
		rx_fill(p);
		tx_kick(p);
		notify_submit(p);
	}
	if (op->kind == OP_STATUS)
		poll_schedule(p);
	if (op->cb)
		op->cb(p, op->status, op->user);
	op_free(op);
	op_kick(p);
}

static void op_step(SerialPort *p, Op *op);

static void op_xfer_done(UsbipDevice *d, int status, const guint8 *data, gsize len, gpointer user)
{
	Op *op = user;
	SerialPort *p = op->p;
	op->in_device = FALSE;
	if (!p) {
		op_free(op); /* the port went away meanwhile */
		return;
	}
	const struct serial_xfer *x = &op->q.x[op->next - 1];
	if (status == 0 && op->kind == OP_STATUS) {
		struct serial_status st = {0};
		int rc = p->drv->status_decode(&p->f, SERIAL_ORIGIN_POLL, data, len, &st);
		if (rc == 0)
			status_report(p, &st);
		else if (rc != -ENOMSG)
			g_debug("port %u: malformed status reply (%d)", p->index, rc);
	} else if (x->tag && p->drv->absorb && (status == 0 || (x->flags & SERIAL_XFER_OPTIONAL))) {
		int rc =
		    p->drv->absorb(&p->f, x->tag, status == 0 ? data : NULL, status == 0 ? len : 0);
		if (rc < 0 && status == 0)
			status = rc;
	}
	if (status < 0 && !(x->flags & SERIAL_XFER_OPTIONAL)) {
		/* a link that fell is "not connected" to the caller, whatever
		 * the transfer saw on its way down */
		op->status = p->linked && status != -ESHUTDOWN ? status : -ENOTCONN;
		op->next = op->q.n;
	}
	op_step(p, op);
}

/* Identify asks again after each round, until it has no more questions. */
static gboolean identify_next_round(SerialPort *p, Op *op)
{
	if (op->kind != OP_IDENTIFY || op->status < 0 || op->q.n == 0)
		return FALSE;
	if (++op->round >= SERIAL_IDENTIFY_ROUNDS) {
		op->status = -ELOOP;
		return FALSE;
	}
	int rc = op_build(p, op);
	op->next = 0;
	if (rc < 0)
		op->status = rc;
	return rc >= 0 && op->q.n > 0;
}

static void op_step(SerialPort *p, Op *op)
{
	if (op->next >= op->q.n && !identify_next_round(p, op)) {
		op_finish(p, op);
		return;
	}
	if (!p->linked) {
		op->status = -ENOTCONN;
		op_finish(p, op);
		return;
	}
	const struct serial_xfer *x = &op->q.x[op->next++];
	op->in_device = TRUE;
	/* may call back at once (-ENOTCONN): op_xfer_done then steps on */
	usbip_device_control(p->dev, &x->setup, x->data, op_xfer_done, op);
}

/* A setup replays the newest values; the owner's requests that it covered
 * are on the wire already and are not sent twice. */
static gboolean op_covered(SerialPort *p, Op *op)
{
	if (op->setup) {
		if (op->kind == OP_LINE) {
			op->line = p->line;
			op->seq = p->line_seq;
		} else if (op->kind == OP_LINES) {
			op->lines = p->lines;
			op->seq = p->lines_seq;
		}
		return FALSE;
	}
	return (op->kind == OP_LINE && op->seq <= p->line_sent) ||
	       (op->kind == OP_LINES && op->seq <= p->lines_sent);
}

static void op_start(SerialPort *p, Op *op);

static gboolean op_resume(gpointer user)
{
	SerialPort *p = user;
	p->op_timer = 0;
	p->break_end = 0;
	op_start(p, g_steal_pointer(&p->op_cur));
	return G_SOURCE_REMOVE;
}

static void op_start(SerialPort *p, Op *op)
{
	p->op_cur = op;
	op->next = 0;
	op->status = 0;
	/* a simulated break ends no sooner than its NUL byte is out */
	gint64 wait = p->break_end - g_get_monotonic_time();
	if (op->kind == OP_BREAK && !op->on && p->linked && wait > 0) {
		p->op_timer = g_timeout_add((guint)((wait + 999) / 1000), op_resume, p);
		return;
	}
	if (!p->linked) {
		op->status = -ENOTCONN;
		op_finish(p, op);
		return;
	}
	if (op_covered(p, op)) {
		op_finish(p, op);
		return;
	}
	int rc = op_build(p, op);
	if (rc < 0) {
		op->status = rc;
		op_finish(p, op);
		return;
	}
	op_step(p, op);
}

static gboolean op_idle(gpointer user)
{
	SerialPort *p = user;
	p->op_src = 0;
	if (!p->op_cur && !g_queue_is_empty(&p->ops))
		op_start(p, g_queue_pop_head(&p->ops));
	return G_SOURCE_REMOVE;
}

/* Start the next operation from the main loop, never from inside a call. */
static void op_kick(SerialPort *p)
{
	if (!p->op_src && !p->op_cur && !g_queue_is_empty(&p->ops))
		p->op_src = g_idle_add_full(G_PRIORITY_HIGH_IDLE, op_idle, p, NULL);
}

static Op *op_new(SerialPort *p, OpKind kind, SerialPortDoneFunc cb, gpointer user)
{
	Op *op = g_new0(Op, 1);
	op->p = p;
	op->kind = kind;
	op->cb = cb;
	op->user = user;
	return op;
}

static void op_push(SerialPort *p, Op *op)
{
	g_queue_push_tail(&p->ops, op);
	op_kick(p);
}

void serial_port_set_line(SerialPort *p, const struct serial_line *l, SerialPortDoneFunc cb,
                          gpointer user)
{
	Op *op = op_new(p, OP_LINE, cb, user);
	op->line = *l;
	op->seq = ++p->line_seq;
	p->line = *l;
	p->have_line = TRUE;
	op_push(p, op);
}

void serial_port_set_lines(SerialPort *p, guint lines, SerialPortDoneFunc cb, gpointer user)
{
	Op *op = op_new(p, OP_LINES, cb, user);
	op->lines = lines & (SERIAL_DTR | SERIAL_RTS);
	op->seq = ++p->lines_seq;
	p->lines = op->lines;
	p->have_lines = TRUE;
	op_push(p, op);
}

void serial_port_set_break(SerialPort *p, gboolean on, SerialPortDoneFunc cb, gpointer user)
{
	Op *op = op_new(p, OP_BREAK, cb, user);
	op->on = on;
	op_push(p, op);
}

void serial_port_purge(SerialPort *p, gboolean rx, gboolean tx, SerialPortDoneFunc cb,
                       gpointer user)
{
	Op *op = op_new(p, OP_PURGE, cb, user);
	op->rx = rx;
	op->tx = tx;
	op_push(p, op);
}

static void clear_halt(SerialPort *p, guint8 ep)
{
	Op *op = op_new(p, OP_CLEAR_HALT, NULL, NULL);
	op->ep = ep;
	p->st.stalls++;
	op_push(p, op);
}

/* ---- status polling ---- */

static gboolean poll_cb(gpointer user)
{
	SerialPort *p = user;
	p->poll_timer = 0;
	if (p->up && p->active && !p->poll_queued) {
		p->poll_queued = TRUE;
		op_push(p, op_new(p, OP_STATUS, NULL, NULL));
	}
	return G_SOURCE_REMOVE;
}

static void poll_schedule(SerialPort *p)
{
	struct serial_xfer x;
	unsigned interval = 0;
	if (p->poll_timer || p->poll_queued || !p->up || !p->active ||
	    p->drv->status_source != SERIAL_STATUS_POLL ||
	    p->drv->status_poll(&p->f, &x, &interval) < 0 || interval == 0)
		return;
	p->poll_timer = g_timeout_add(interval, poll_cb, p);
}

void serial_port_set_active(SerialPort *p, gboolean active)
{
	if (p->active == active)
		return;
	p->active = active;
	if (!active && p->poll_timer) {
		g_source_remove(p->poll_timer);
		p->poll_timer = 0;
	}
	poll_schedule(p);
	if (p->drv->set_active) {
		Op *op = op_new(p, OP_ACTIVE, NULL, NULL);
		op->on = active;
		op_push(p, op);
	}
}

/* ---- rx ---- */

static void rx_remove_seq(SerialPort *p, guint32 seq)
{
	for (guint i = 0; i < p->rx_seqs->len; i++) {
		if (g_array_index(p->rx_seqs, guint32, i) == seq) {
			g_array_remove_index(p->rx_seqs, i);
			return;
		}
	}
}

static gboolean rx_held_pending(SerialPort *p)
{
	return p->rx_held_off < p->rx_held->len;
}

/* The consumer takes bytes; it may free room (a reader served) and ask to
 * resume from inside: that only asks the running pass for another round,
 * the bytes being delivered not being counted yet. */
static gsize rx_offer(SerialPort *p, const guint8 *data, gsize len)
{
	p->rx_delivering = TRUE;
	gsize took = p->cb.rx(p, data, len, p->user);
	p->rx_delivering = FALSE;
	return MIN(took, len);
}

/* Offer held bytes to the consumer; TRUE when all were taken. */
static gboolean rx_deliver_held(SerialPort *p)
{
	if (p->rx_delivering) {
		p->rx_again = TRUE;
		return FALSE;
	}
	while (rx_held_pending(p)) {
		gsize n = p->rx_held->len - p->rx_held_off;
		p->rx_again = FALSE;
		gsize took = rx_offer(p, p->rx_held->data + p->rx_held_off, n);
		p->rx_held_off += took;
		if (took == 0 && !p->rx_again)
			break;
	}
	if (!rx_held_pending(p)) {
		g_byte_array_set_size(p->rx_held, 0);
		p->rx_held_off = 0;
		return TRUE;
	}
	return FALSE;
}

/* Payload in order: behind any held bytes, the rest held. */
static void rx_payload(SerialPort *p, const guint8 *data, gsize len)
{
	if (len == 0)
		return;
	if (rx_held_pending(p)) {
		g_byte_array_append(p->rx_held, data, (guint)len);
	} else {
		p->rx_again = FALSE;
		gsize took = rx_offer(p, data, len);
		if (took < len) {
			g_byte_array_append(p->rx_held, data + took, (guint)(len - took));
			if (p->rx_again)
				rx_deliver_held(p); /* room came free meanwhile */
		}
	}
	p->st.rx_held_max = MAX(p->st.rx_held_max, p->rx_held->len - p->rx_held_off);
}

/* A bulk-IN transfer: strip the chip's framing (and learn its in-band
 * status) when the driver has one. */
static void rx_transfer(SerialPort *p, const guint8 *data, gsize len)
{
	if (!p->drv->rx_frame) {
		rx_payload(p, data, len);
		return;
	}
	len = MIN(len, p->rx_size);
	memcpy(p->rx_frame_buf, data, len);
	struct serial_status st = {0};
	gssize n = p->drv->rx_frame(&p->f, p->rx_frame_buf, len, &st);
	if (n < 0) {
		g_debug("port %u: malformed bulk-IN framing (%zd)", p->index, n);
		return;
	}
	status_report(p, &st);
	rx_payload(p, p->rx_frame_buf, (gsize)n);
}

static void rx_done(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	SerialPort *p = user;
	rx_remove_seq(p, r->seqnum);
	if (r->status == 0) {
		p->st.rx_bytes += r->actual_length;
		rx_transfer(p, r->data, r->actual_length);
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

static void rx_fill(SerialPort *p)
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

void serial_port_rx_resume(SerialPort *p)
{
	if (rx_deliver_held(p))
		rx_fill(p);
}

void serial_port_flush_rx(SerialPort *p)
{
	/* what is held arrived before the flush: the kernel's flush empties
	 * its flip buffers the same way (reads go on at the next resume) */
	p->st.rx_flushed += p->rx_held->len - p->rx_held_off;
	g_byte_array_set_size(p->rx_held, 0);
	p->rx_held_off = 0;
}

/* ---- tx ---- */

gsize serial_port_tx_inflight(SerialPort *p)
{
	return p->tx_inflight_bytes;
}

static void tx_done(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	SerialPort *p = user;
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
		if (p->cb.tx_done && t->len)
			p->cb.tx_done(p, t->len, 0, p->user);
	} else if (t->flushed || r->status == -ECONNRESET) {
		/* discarded on purpose */
		if (p->cb.tx_done && t->len)
			p->cb.tx_done(p, 0, t->len, p->user);
	} else {
		p->st.tx_errors++;
		p->st.tx_lost += t->len;
		/* the link goes first: a writer that tx_failed wakes must not
		 * fill URBs on it */
		if (p->up && status_means_gone(r->status) && !usbip_conn_is_closed(c))
			usbip_device_link_lost(p->dev, "the device went away (bulk OUT)");
		if (p->cb.tx_failed && t->len)
			p->cb.tx_failed(p, t->len, p->user);
		/* one clear-halt; until it is done no URB goes to the halted pipe */
		if (p->up && r->status == -EPIPE && !p->tx_halted) {
			p->tx_halted = TRUE;
			clear_halt(p, p->f.bulk_out_ep);
		}
	}
	g_free(t);
	tx_kick(p);
}

static void tx_track(SerialPort *p, guint32 seq, gsize len)
{
	TxUrb *t = g_new0(TxUrb, 1);
	t->seqnum = seq;
	t->len = len;
	g_queue_push_tail(&p->tx_inflight, t);
	p->tx_inflight_bytes += len;
	p->st.tx_inflight_max = MAX(p->st.tx_inflight_max, p->tx_inflight_bytes);
}

static gsize tx_fill(guint8 *buf, gsize max, gpointer user)
{
	SerialPort *p = user;
	return p->cb.tx_pull(p, buf, max, p->user);
}

static void tx_kick(SerialPort *p)
{
	static const guint8 none[1];
	if (!p->up || !p->cb.tx_pull || p->tx_halted)
		return;
	while (g_queue_get_length(&p->tx_inflight) < p->cfg.tx_urbs) {
		gsize n;
		guint32 seq = usbip_conn_submit_fill(p->conn, p->f.bulk_out_ep, p->cfg.tx_urb_size,
		                                     tx_fill, p, &n, tx_done, p);
		if (!seq)
			return;
		tx_track(p, seq, n);
		/* usbipd-win ignores URB_ZERO_PACKET: when a write ends on a packet
		 * boundary and nothing follows, end the transfer explicitly. */
		if (p->f.bulk_out_mps && n % p->f.bulk_out_mps == 0 &&
		    (!p->cb.tx_ready || p->cb.tx_ready(p, p->user) == 0)) {
			seq = usbip_conn_submit(p->conn, p->f.bulk_out_ep, NULL, none, 0, 0,
			                        tx_done, p);
			if (seq)
				tx_track(p, seq, 0);
		}
	}
}

void serial_port_tx_kick(SerialPort *p)
{
	tx_kick(p);
}

void serial_port_flush_tx(SerialPort *p)
{
	for (GList *l = p->tx_inflight.head; l; l = l->next) {
		TxUrb *t = l->data;
		t->flushed = TRUE;
		if (p->conn)
			usbip_conn_unlink(p->conn, t->seqnum);
	}
}

/* ---- interrupt-IN status ---- */

static void notify_done(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	SerialPort *p = user;
	if (r->seqnum != p->notify_seq)
		return;
	p->notify_seq = 0;
	if (r->status == 0) {
		struct serial_status st = {0};
		int rc = p->drv->status_decode(&p->f, SERIAL_ORIGIN_INTERRUPT, r->data,
		                               r->actual_length, &st);
		if (rc == 0)
			status_report(p, &st);
		else if (rc != -ENOMSG)
			g_debug("port %u: ignoring a malformed notification (%d)", p->index, rc);
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

static void notify_submit(SerialPort *p)
{
	if (!p->up || !p->f.has_notify || p->notify_seq ||
	    p->drv->status_source != SERIAL_STATUS_INTERRUPT)
		return;
	/* One packet per URB, as the kernel's drivers read it: a packet of
	 * wMaxPacketSize does not end a transfer, so a longer buffer would
	 * hold a PL2303's 10-byte status (on a 10-byte endpoint) until the
	 * next one overflows it.  A CDC SERIAL_STATE is 10 bytes: on an
	 * endpoint smaller than that it spans packets and ends with a short
	 * one, so the buffer then takes whole packets up to 10 bytes or more. */
	gsize mps = p->f.notify_mps;
	gsize len = mps >= 10 ? mps : mps ? (10 + mps - 1) / mps * mps : 16;
	p->notify_seq = usbip_conn_submit(p->conn, p->f.notify_ep, NULL, NULL, len,
	                                  MAX(1, p->f.notify_interval), notify_done, p);
}

/* ---- link ---- */

static void port_down(SerialPort *p)
{
	p->up = FALSE;
	p->linked = FALSE;
	if (p->poll_timer) {
		g_source_remove(p->poll_timer);
		p->poll_timer = 0;
	}
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
	/* What nobody waits for was for the link that is gone: setup steps
	 * (the next link-up queues its own), polls, halts to clear; values
	 * asked for are remembered and replayed.  The owner's operations with
	 * a callback fail with -ENOTCONN when they run. */
	for (GList *l = p->ops.head; l;) {
		GList *next = l->next;
		Op *op = l->data;
		if (!op->cb) {
			g_queue_delete_link(&p->ops, l);
			op_free(op);
		}
		l = next;
	}
	p->poll_queued = p->op_cur && p->op_cur->kind == OP_STATUS;
	/* Callbacks of a closed connection already ran; forget what is left. */
	g_array_set_size(p->rx_seqs, 0);
	p->notify_seq = 0;
	/* Held rx bytes stay: they were received and must not be lost; so do
	 * the bytes the owner has not handed over yet. */
}

/* The setup ran: start the pipes and tell the owner. */
static void setup_done(SerialPort *p)
{
	p->up = TRUE;
	p->st.setups++;
	notify_submit(p);
	if (rx_deliver_held(p))
		rx_fill(p);
	tx_kick(p);
	poll_schedule(p);
	if (p->cb.link)
		p->cb.link(p, TRUE, NULL, p->user);
}

/* The link is up: take the connection and set the chip up again, in the
 * order a fresh open would, ahead of anything the owner queued. */
static void port_linked(SerialPort *p)
{
	UsbipDevice *d = p->dev;
	const struct serial_function *f = usbip_device_get_function(d, p->index);
	if (!f || f->driver != p->f.driver) {
		g_warning("port %u: the device came back without this serial port", p->index);
		return;
	}
	if (p->linked)
		port_down(p); /* a new link without word of the old one's end */
	p->f = *f;            /* fresh endpoints, zero driver state: the chip was reset */
	/* whole packets (a device ends a transfer with a short one), within
	 * the largest URB the connection takes */
	gsize mps = p->f.bulk_in_mps ? p->f.bulk_in_mps : 1;
	p->rx_size =
	    MIN((p->cfg.rx_urb_size + mps - 1) / mps * mps, USBIP_CONN_MAX_URB / mps * mps);
	g_free(p->rx_frame_buf);
	p->rx_frame_buf = p->drv->rx_frame ? g_malloc(p->rx_size) : NULL;
	p->conn = usbip_conn_ref(usbip_device_get_conn(d));
	p->linked = TRUE;
	p->tx_halted = FALSE; /* a halt to clear was for the old link */
	p->in_lines = p->drv->initial_lines;
	p->line_sent = p->lines_sent = 0;
	p->break_end = 0;

	/* The line settings and lines steps take the newest values when they
	 * run (values asked for before then need not wait for the setup). */
	OpKind steps[7];
	guint n = 0;
	steps[n++] = OP_IDENTIFY;
	steps[n++] = OP_INIT;
	steps[n++] = OP_LINE;
	steps[n++] = OP_LINES;
	steps[n++] = OP_ACTIVE;
	if (p->drv->status_poll)
		steps[n++] = OP_STATUS;
	steps[n++] = OP_SETUP_DONE;
	while (n-- > 0) {
		Op *op = op_new(p, steps[n], NULL, NULL);
		op->setup = TRUE;
		if (steps[n] == OP_STATUS)
			p->poll_queued = TRUE;
		g_queue_push_head(&p->ops, op);
	}
	op_kick(p);
}

static void on_link(UsbipDevice *d, gboolean up, const GError *error, gpointer user)
{
	SerialPort *p = user;
	if (up) {
		/* a port made by the device's start callback is linked already */
		if (!p->linked || p->conn != usbip_device_get_conn(d))
			port_linked(p);
		return;
	}
	gboolean was_up = p->up;
	if (p->linked || p->conn)
		port_down(p);
	if (p->cb.link && was_up)
		p->cb.link(p, FALSE, error, p->user);
}

SerialPort *serial_port_new(UsbipDevice *dev, guint index, const SerialPortConfig *cfg,
                            const SerialPortCallbacks *cb, gpointer user)
{
	const struct serial_function *f = usbip_device_get_function(dev, index);
	const struct serial_driver *drv = f ? serial_drv_get(f->driver) : NULL;
	if (!drv)
		return NULL;
	SerialPort *p = g_new0(SerialPort, 1);
	p->dev = dev;
	p->index = index;
	p->drv = drv;
	p->f = *f;
	p->in_lines = drv->initial_lines;
	if (cfg)
		p->cfg = *cfg;
	else
		serial_port_config_init(&p->cfg);
	p->cfg.rx_urbs = MAX(1u, p->cfg.rx_urbs);
	p->cfg.tx_urbs = MAX(1u, p->cfg.tx_urbs);
	p->cfg.rx_urb_size = CLAMP(p->cfg.rx_urb_size, 64u, USBIP_CONN_MAX_URB);
	p->cfg.tx_urb_size = CLAMP(p->cfg.tx_urb_size, 64u, USBIP_CONN_MAX_URB);
	p->cb = *cb;
	p->user = user;
	p->rx_seqs = g_array_new(FALSE, FALSE, sizeof(guint32));
	p->rx_held = g_byte_array_new();
	g_queue_init(&p->tx_inflight);
	g_queue_init(&p->ops);
	p->listener = usbip_device_add_link_listener(dev, on_link, p);
	if (usbip_device_is_up(dev))
		port_linked(p);
	return p;
}

void serial_port_free(SerialPort *p)
{
	if (!p)
		return;
	usbip_device_remove_link_listener(p->dev, p->listener);
	/* Nothing queued in the device or in flight may call us any more. */
	if (p->op_cur && p->op_cur->in_device)
		p->op_cur->p = NULL; /* its transfer's callback frees it */
	else if (p->op_cur)
		op_free(p->op_cur);
	g_queue_clear_full(&p->ops, (GDestroyNotify)op_free);
	if (p->op_src)
		g_source_remove(p->op_src);
	if (p->op_timer)
		g_source_remove(p->op_timer);
	if (p->poll_timer)
		g_source_remove(p->poll_timer);
	if (p->conn)
		usbip_conn_forget(p->conn, p);
	if (p->old_conn && !usbip_conn_is_closed(p->old_conn))
		usbip_conn_forget(p->old_conn, p);
	g_clear_pointer(&p->conn, usbip_conn_unref);
	g_clear_pointer(&p->old_conn, usbip_conn_unref);
	g_array_unref(p->rx_seqs);
	g_byte_array_unref(p->rx_held);
	g_free(p->rx_frame_buf);
	g_queue_clear_full(&p->tx_inflight, g_free);
	g_free(p);
}
