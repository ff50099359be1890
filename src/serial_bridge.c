/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "serial-bridge"

#include "serial_bridge.h"

#include <errno.h>

#include "uc_error.h"

struct _SerialBridge {
	UsbipDevice *dev;
	CuseTty *tty;
	struct tty_core *core;
	SerialPort *port;
	GList *fx_runs; /* FxRun* waiting for the device */
	gsize stale;    /* acks still due for bytes a hangup already forgot */
	gboolean lost;  /* the link fell since the node was made */
};

static guint64 now_us(void)
{
	return (guint64)g_get_monotonic_time();
}

/* ---- data: tty -> device ---- */

static void pump_tx(SerialBridge *b)
{
	guint8 buf[16384];
	/* Pull only what the port takes at once, so the tty keeps the rest
	 * (and blocks writers) while the device is slow or the link is down. */
	while (serial_port_is_up(b->port)) {
		gsize room = MIN(serial_port_tx_room(b->port), sizeof(buf));
		if (room == 0 || tty_core_tx_ready(b->core) == 0)
			break;
		gsize n = tty_core_tx_pull(b->core, buf, room, now_us());
		if (n == 0)
			break;
		gsize took = serial_port_write(b->port, buf, n);
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
static void tx_ack(SerialBridge *b, gsize n)
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

static void port_tx_progress(SerialPort *p, gsize confirmed, gsize discarded, gpointer user)
{
	SerialBridge *b = user;
	tx_ack(b, confirmed + discarded);
	pump_tx(b);
}

static void port_tx_failed(SerialPort *p, gsize lost, gpointer user)
{
	SerialBridge *b = user;
	g_message("%s: %zu written bytes were lost with the link", cuse_tty_get_name(b->tty), lost);
	tx_ack(b, lost);
	cuse_tty_sync(b->tty);
}

/* ---- data: device -> tty ---- */

static gsize port_rx(SerialPort *p, const guint8 *data, gsize len, gpointer user)
{
	SerialBridge *b = user;
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
	SerialBridge *b = user;
	serial_port_rx_resume(b->port);
}

/* Chips whose modem status must be polled are polled while the node is open. */
static void tty_opened(CuseTty *t, guint count, gpointer user)
{
	SerialBridge *b = user;
	serial_port_watch_status(b->port, count > 0);
}

/* ---- modem state and link ---- */

static void port_status(SerialPort *p, const struct serial_status *st, gpointer user)
{
	SerialBridge *b = user;
	if (tty_core_modem_status(b->core, st, now_us()) == TTY_CORE_SS_HANGUP) {
		/* carrier lost: pending output goes, as on a tty hangup */
		serial_port_flush_tx(b->port);
		b->stale = serial_port_tx_pending(b->port);
		cuse_tty_hangup(b->tty);
	}
	cuse_tty_sync(b->tty);
}

static void port_link(SerialPort *p, gboolean up, const GError *error, gpointer user)
{
	SerialBridge *b = user;
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
	STEP_LINE,
	STEP_BREAK_ON,
	STEP_BREAK_WAIT,
	STEP_BREAK_OFF,
	STEP_DONE
} Step;

typedef struct {
	SerialBridge *b;
	struct tty_core_fx fx;
	Step step;
	int status;
	gboolean interrupted; /* the caller got a signal: end the break now */
	guint timer;
	CuseTtyFxDone done;
	gpointer done_data;
} FxRun;

static void fx_next(FxRun *r);

static void fx_step_done(SerialPort *p, int status, gpointer user)
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
	SerialBridge *b = r->b;
	for (;;) {
		switch (r->step) {
		case STEP_LINES:
			if (r->fx.flags & TTY_FX_LINES) {
				serial_port_set_lines(b->port, r->fx.lines, fx_step_done, r);
				return;
			}
			break;
		case STEP_LINE:
			if (r->fx.flags & TTY_FX_LINE) {
				serial_port_set_line(b->port, &r->fx.line, fx_step_done, r);
				return;
			}
			break;
		case STEP_BREAK_ON:
			if (r->fx.flags & TTY_FX_BREAK) {
				/* As the kernel's drivers: break on, wait, break off;
				 * a device timing the break itself is not trusted to. */
				gboolean on = r->fx.break_ms != 0;
				if (r->fx.break_ms == 0 || r->fx.break_ms == TTY_BREAK_FOREVER)
					r->step = STEP_BREAK_OFF; /* one request only */
				serial_port_set_break(b->port, on, fx_step_done, r);
				return;
			}
			r->step = STEP_DONE;
			continue;
		case STEP_BREAK_WAIT:
			if (!r->interrupted) {
				r->timer = g_timeout_add(r->fx.break_ms, fx_break_timer, r);
				return;
			}
			break;
		case STEP_BREAK_OFF:
			if ((r->fx.flags & TTY_FX_BREAK) && r->fx.break_ms != 0 &&
			    r->fx.break_ms != TTY_BREAK_FOREVER) {
				r->step = STEP_BREAK_OFF + 1;
				serial_port_set_break(b->port, FALSE, fx_step_done, r);
				return;
			}
			break;
		case STEP_DONE:
		default:
			b->fx_runs = g_list_remove(b->fx_runs, r);
			r->done(b->tty, r->interrupted ? -EINTR : r->status, r->done_data);
			g_free(r);
			return;
		}
		r->step++;
	}
}

static void tty_fx(CuseTty *t, const struct tty_core_fx *fx, CuseTtyFxDone done, gpointer done_data,
                   gpointer user)
{
	SerialBridge *b = user;
	FxRun *r = g_new0(FxRun, 1);
	r->b = b;
	r->fx = *fx;
	r->done = done;
	r->done_data = done_data;
	b->fx_runs = g_list_prepend(b->fx_runs, r);
	/* Flushes take effect at once, before any line change: our queue,
	 * then the chip's own buffers (drivers that have a purge). */
	if (fx->flags & TTY_FX_FLUSH_TX) {
		serial_port_flush_tx(b->port);
		r->fx.flags &= ~TTY_FX_FLUSH_TX;
	}
	if (fx->flags & (TTY_FX_FLUSH_RX | TTY_FX_FLUSH_TX))
		serial_port_purge(b->port, (fx->flags & TTY_FX_FLUSH_RX) != 0,
		                  (fx->flags & TTY_FX_FLUSH_TX) != 0, NULL, NULL);
	fx_next(r);
}

/* The caller waiting for a timed break got a signal: as the kernel's
 * send_break, the break ends at once and the caller gets EINTR. */
static void tty_fx_interrupt(CuseTty *t, gpointer done_data, gpointer user)
{
	SerialBridge *b = user;
	for (GList *l = b->fx_runs; l; l = l->next) {
		FxRun *r = l->data;
		if (r->done_data != done_data)
			continue;
		r->interrupted = TRUE;
		if (r->timer) {
			g_source_remove(r->timer);
			r->timer = 0;
			r->step = STEP_BREAK_OFF;
			fx_next(r);
		}
		return;
	}
}

/* ---- life cycle ---- */

SerialBridge *serial_bridge_new(UsbipDevice *dev, guint index, const CuseTtyConfig *tty_cfg,
                                const SerialPortConfig *port_cfg, GError **error)
{
	static const CuseTtyBackend be = {
	    .fx = tty_fx,
	    .tx_kick = tty_tx_kick,
	    .rx_space = tty_rx_space,
	    .opened = tty_opened,
	    .fx_interrupt = tty_fx_interrupt,
	};
	static const SerialPortCallbacks pcb = {
	    .rx = port_rx,
	    .tx_progress = port_tx_progress,
	    .tx_failed = port_tx_failed,
	    .status = port_status,
	    .link = port_link,
	};
	SerialBridge *b = g_new0(SerialBridge, 1);
	b->dev = dev;
	/* the port first: it never calls back before the main loop runs */
	b->port = serial_port_new(dev, index, port_cfg, &pcb, b);
	if (!b->port) {
		g_set_error(error, UC_ERROR, UC_ERROR_NOT_SERIAL, "%s has no serial port %u",
		            usbip_device_get_busid(dev), index);
		g_free(b);
		return NULL;
	}
	CuseTtyConfig tcfg = *tty_cfg;
	tcfg.lines_in = serial_port_get_driver(b->port)->initial_lines;
	b->tty = cuse_tty_new(&tcfg, &be, b, error);
	if (!b->tty) {
		serial_port_free(b->port);
		g_free(b);
		return NULL;
	}
	b->core = cuse_tty_get_core(b->tty);
	/* As the kernel's probe: the device starts at the tty's default
	 * settings (9600 8N1) before anybody opens the node. */
	struct serial_line line;
	tty_core_get_line(b->core, &line);
	serial_port_set_line(b->port, &line, NULL, NULL);
	return b;
}

void serial_bridge_free(SerialBridge *b)
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
	serial_port_free(b->port);
	g_free(b);
}

CuseTty *serial_bridge_get_tty(SerialBridge *b)
{
	return b->tty;
}

SerialPort *serial_bridge_get_port(SerialBridge *b)
{
	return b->port;
}
