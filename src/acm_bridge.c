/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "acm-bridge"

#include "acm_bridge.h"

#include <errno.h>

struct _AcmBridge {
	UsbipDevice *dev;
	CuseTty *tty;
	struct tty_core *core;
	AcmPort *port;
	GList *fx_runs; /* FxRun* waiting for the device */
	gsize stale;    /* acks still due for bytes a hangup already forgot */
	gboolean lost;  /* the link fell since the node was made */
};

static guint64 now_us(void)
{
	return (guint64)g_get_monotonic_time();
}

/* ---- data: tty -> device ---- */

static void pump_tx(AcmBridge *b)
{
	guint8 buf[16384];
	/* Pull only what the port takes at once, so the tty keeps the rest
	 * (and blocks writers) while the device is slow or the link is down. */
	while (acm_port_is_up(b->port)) {
		gsize room = MIN(acm_port_tx_room(b->port), sizeof(buf));
		if (room == 0 || tty_core_tx_ready(b->core) == 0)
			break;
		gsize n = tty_core_tx_pull(b->core, buf, room, now_us());
		if (n == 0)
			break;
		gsize took = acm_port_write(b->port, buf, n);
		if (took < n) {
			/* cannot happen (n <= room); never lose bytes silently */
			g_warning("%s: port took %zu of %zu bytes", cuse_tty_get_name(b->tty), took,
			          n);
			tty_core_tx_ack(b->core, n - took, now_us());
		}
	}
	cuse_tty_sync(b->tty);
}

/* Bytes the port is done with (sent, flushed or lost).  Those a hangup
 * already dropped from the tty's count must not be taken off bytes written
 * after it. */
static void tx_ack(AcmBridge *b, gsize n)
{
	gsize skip = MIN(n, b->stale);
	b->stale -= skip;
	if (n > skip)
		tty_core_tx_ack(b->core, n - skip, now_us());
}

static void tty_tx_kick(CuseTty *t, gpointer user)
{
	pump_tx(user);
}

static void port_tx_progress(AcmPort *p, gsize confirmed, gsize discarded, gpointer user)
{
	AcmBridge *b = user;
	tx_ack(b, confirmed + discarded);
	pump_tx(b);
}

static void port_tx_failed(AcmPort *p, gsize lost, gpointer user)
{
	AcmBridge *b = user;
	g_message("%s: %zu written bytes were lost with the link", cuse_tty_get_name(b->tty), lost);
	tx_ack(b, lost);
	cuse_tty_sync(b->tty);
}

/* ---- data: device -> tty ---- */

static gsize port_rx(AcmPort *p, const guint8 *data, gsize len, gpointer user)
{
	AcmBridge *b = user;
	/* Nobody has the node open: a fresh open starts with empty input, as
	 * on a tty whose driver does not read while closed. */
	if (tty_core_open_count(b->core) == 0)
		return len;
	gsize n = MIN(len, tty_core_rx_room(b->core));
	if (n)
		tty_core_rx(b->core, data, n, now_us());
	cuse_tty_sync(b->tty);
	return n;
}

static void tty_rx_space(CuseTty *t, gsize room, gpointer user)
{
	AcmBridge *b = user;
	acm_port_rx_resume(b->port);
}

/* ---- modem state and link ---- */

static void port_serial_state(AcmPort *p, guint16 state, gpointer user)
{
	AcmBridge *b = user;
	if (tty_core_serial_state(b->core, state, now_us()) == TTY_CORE_SS_HANGUP) {
		/* carrier lost: pending output goes, as on a tty hangup */
		acm_port_flush_tx(b->port);
		b->stale = acm_port_tx_pending(b->port);
		cuse_tty_hangup(b->tty);
	}
	cuse_tty_sync(b->tty);
}

static void port_link(AcmPort *p, gboolean up, const GError *error, gpointer user)
{
	AcmBridge *b = user;
	if (up) {
		if (b->lost)
			g_message("%s: device is back", cuse_tty_get_name(b->tty));
		b->lost = FALSE;
		pump_tx(b);
		return;
	}
	b->lost = TRUE;
	g_message("%s: device lost%s%s", cuse_tty_get_name(b->tty), error ? ": " : "",
	          error ? error->message : "");
	cuse_tty_link_lost(b->tty);
}

/* ---- device actions from ioctls, open and close ---- */

typedef enum {
	STEP_LINES,
	STEP_CODING,
	STEP_BREAK_ON,
	STEP_BREAK_WAIT,
	STEP_BREAK_OFF,
	STEP_DONE
} Step;

typedef struct {
	AcmBridge *b;
	struct tty_core_fx fx;
	Step step;
	int status;
	guint timer;
	CuseTtyFxDone done;
	gpointer done_data;
} FxRun;

static void fx_next(FxRun *r);

static void fx_step_done(AcmPort *p, int status, gpointer user)
{
	FxRun *r = user;
	/* While the link is down the values are remembered and replayed. */
	if (status < 0 && status != -ENOTCONN && r->status == 0)
		r->status = status;
	r->step++;
	fx_next(r);
}

static gboolean fx_break_timer(gpointer user)
{
	FxRun *r = user;
	r->timer = 0;
	r->step = STEP_BREAK_OFF;
	fx_next(r);
	return G_SOURCE_REMOVE;
}

static void fx_next(FxRun *r)
{
	AcmBridge *b = r->b;
	for (;;) {
		switch (r->step) {
		case STEP_LINES:
			if (r->fx.flags & TTY_FX_LINES) {
				acm_port_set_control_lines(b->port, r->fx.lines, fx_step_done, r);
				return;
			}
			break;
		case STEP_CODING:
			if (r->fx.flags & TTY_FX_LINE_CODING) {
				acm_port_set_line_coding(b->port, &r->fx.coding, fx_step_done, r);
				return;
			}
			break;
		case STEP_BREAK_ON:
			if (r->fx.flags & TTY_FX_BREAK) {
				/* As cdc-acm: break on, wait, break off; a device timing
				 * the break itself is not trusted to. */
				guint16 v = r->fx.break_ms == 0 ? 0 : CDC_BREAK_FOREVER;
				if (r->fx.break_ms == 0 || r->fx.break_ms == TTY_BREAK_FOREVER)
					r->step = STEP_BREAK_OFF; /* one request only */
				acm_port_send_break(b->port, v, fx_step_done, r);
				return;
			}
			r->step = STEP_DONE;
			continue;
		case STEP_BREAK_WAIT:
			r->timer = g_timeout_add(r->fx.break_ms, fx_break_timer, r);
			return;
		case STEP_BREAK_OFF:
			if ((r->fx.flags & TTY_FX_BREAK) && r->fx.break_ms != 0 &&
			    r->fx.break_ms != TTY_BREAK_FOREVER) {
				r->step = STEP_BREAK_OFF + 1;
				acm_port_send_break(b->port, 0, fx_step_done, r);
				return;
			}
			break;
		case STEP_DONE:
		default:
			b->fx_runs = g_list_remove(b->fx_runs, r);
			if (r->fx.flags & TTY_FX_FLUSH_TX)
				acm_port_flush_tx(b->port);
			r->done(b->tty, r->status, r->done_data);
			g_free(r);
			return;
		}
		r->step++;
	}
}

static void tty_fx(CuseTty *t, const struct tty_core_fx *fx, CuseTtyFxDone done, gpointer done_data,
                   gpointer user)
{
	AcmBridge *b = user;
	FxRun *r = g_new0(FxRun, 1);
	r->b = b;
	r->fx = *fx;
	r->done = done;
	r->done_data = done_data;
	b->fx_runs = g_list_prepend(b->fx_runs, r);
	/* Output flushes take effect at once, before any line change. */
	if (fx->flags & TTY_FX_FLUSH_TX) {
		acm_port_flush_tx(b->port);
		r->fx.flags &= ~TTY_FX_FLUSH_TX;
	}
	fx_next(r);
}

/* ---- life cycle ---- */

AcmBridge *acm_bridge_new(UsbipDevice *dev, guint index, const CuseTtyConfig *tty_cfg,
                          const AcmPortConfig *port_cfg, GError **error)
{
	static const CuseTtyBackend be = {
	    .fx = tty_fx,
	    .tx_kick = tty_tx_kick,
	    .rx_space = tty_rx_space,
	};
	static const AcmPortCallbacks pcb = {
	    .rx = port_rx,
	    .tx_progress = port_tx_progress,
	    .tx_failed = port_tx_failed,
	    .serial_state = port_serial_state,
	    .link = port_link,
	};
	AcmBridge *b = g_new0(AcmBridge, 1);
	b->dev = dev;
	b->tty = cuse_tty_new(tty_cfg, &be, b, error);
	if (!b->tty) {
		g_free(b);
		return NULL;
	}
	b->core = cuse_tty_get_core(b->tty);
	b->port = acm_port_new(dev, index, port_cfg, &pcb, b);
	/* As cdc-acm's probe: the device starts at the tty's default coding
	 * (9600 8N1) before anybody opens the node. */
	struct cdc_line_coding lc;
	tty_core_get_coding(b->core, &lc);
	acm_port_set_line_coding(b->port, &lc, NULL, NULL);
	return b;
}

void acm_bridge_free(AcmBridge *b)
{
	if (!b)
		return;
	/* Callers waiting for a break to end are answered first, then the
	 * node goes (answering everybody else), then the port. */
	GList *runs = g_steal_pointer(&b->fx_runs);
	for (GList *l = runs; l; l = l->next) {
		FxRun *r = l->data;
		if (r->timer)
			g_source_remove(r->timer);
		r->done(b->tty, -EIO, r->done_data);
		g_free(r);
	}
	g_list_free(runs);
	cuse_tty_free(b->tty);
	acm_port_free(b->port);
	g_free(b);
}

CuseTty *acm_bridge_get_tty(AcmBridge *b)
{
	return b->tty;
}

AcmPort *acm_bridge_get_port(AcmBridge *b)
{
	return b->port;
}
