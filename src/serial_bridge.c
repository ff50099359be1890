/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "serial-bridge"

#include "serial_bridge.h"

#include <errno.h>
#include <string.h>

#include "uc_error.h"

struct _SerialBridge {
	UsbipDevice *dev;
	CuseTty *tty; /* owns the tty_core: the bridge only talks to the node */
	SerialPort *port;
	GList *fx_runs; /* FxRun* waiting for the device */
	gboolean lost;  /* the link fell since the node was made */
};

/* ---- data: tty -> device (the tty's queue is the only one) ---- */

static gsize port_tx_pull(SerialPort *p, guint8 *buf, gsize max, gpointer user)
{
	SerialBridge *b = user;
	return cuse_tty_tx_pull(b->tty, buf, max);
}

static gsize port_tx_ready(SerialPort *p, gpointer user)
{
	SerialBridge *b = user;
	return cuse_tty_tx_ready(b->tty);
}

static void tty_tx_kick(CuseTty *t, gpointer user)
{
	SerialBridge *b = user;
	serial_port_tx_kick(b->port);
}

static void port_tx_done(SerialPort *p, gsize confirmed, gsize discarded, gpointer user)
{
	SerialBridge *b = user;
	cuse_tty_tx_done(b->tty, confirmed + discarded);
}

static void port_tx_failed(SerialPort *p, gsize lost, gpointer user)
{
	SerialBridge *b = user;
	g_message("%s: %zu written bytes were lost with the link", cuse_tty_get_name(b->tty), lost);
	cuse_tty_tx_done(b->tty, lost);
}

/* ---- data: device -> tty ---- */

static gsize port_rx(SerialPort *p, const guint8 *data, gsize len, gpointer user)
{
	SerialBridge *b = user;
	return cuse_tty_rx(b->tty, data, len);
}

static void tty_rx_space(CuseTty *t, gsize room, gpointer user)
{
	SerialBridge *b = user;
	serial_port_rx_resume(b->port);
}

static void tty_rx_flush(CuseTty *t, gpointer user)
{
	SerialBridge *b = user;
	serial_port_flush_rx(b->port);
}

/* While the node is open the chip is active: its status polled, its latency
 * low (serial_drv.h set_active). */
static void tty_opened(CuseTty *t, guint count, gpointer user)
{
	SerialBridge *b = user;
	/* the last close dropped the output it did not wait for: the writes
	 * in flight go too, as the kernel's drivers kill their write URBs */
	if (count == 0)
		serial_port_flush_tx(b->port);
	serial_port_set_active(b->port, count > 0);
}

/* ---- modem state and link ---- */

static void port_status(SerialPort *p, const struct serial_status *st, gpointer user)
{
	SerialBridge *b = user;
	/* carrier lost: the node hung its files up; their output goes too */
	if (cuse_tty_modem_status(b->tty, st))
		serial_port_flush_tx(b->port);
}

static void port_link(SerialPort *p, gboolean up, const GError *error, gpointer user)
{
	SerialBridge *b = user;
	/* a link that keeps falling is logged as the device logs it */
	GLogLevelFlags level =
	    usbip_device_link_news(b->dev) ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_DEBUG;
	if (up) {
		if (b->lost)
			g_log(G_LOG_DOMAIN, level, "%s: device is back", cuse_tty_get_name(b->tty));
		b->lost = FALSE;
		serial_port_tx_kick(b->port);
		return;
	}
	b->lost = TRUE;
	g_log(G_LOG_DOMAIN, level, "%s: device lost%s%s", cuse_tty_get_name(b->tty),
	      error ? ": " : "", error ? error->message : "");
	cuse_tty_link_lost(b->tty);
}

/* ---- device actions from ioctls, open and close ---- */

typedef enum {
	STEP_OPEN_LINE, /* an open: the usb-serial drivers set the termios again first */
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

/* The driver may run other settings than the tty asked for (a word size
 * the chip lacks, the rate its divisor gives; or the old ones when it
 * refused): the termios says so afterwards, as with the kernel's drivers. */
static void line_done(FxRun *r, int status)
{
	struct serial_line rep;
	if ((status == 0 || status == -EINVAL) && serial_port_get_reported_line(r->b->port, &rep) &&
	    memcmp(&rep, &r->fx.line, sizeof(rep)) != 0)
		cuse_tty_line_reported(r->b->tty, &rep);
}

static void fx_step_done(SerialPort *p, int status, gpointer user)
{
	FxRun *r = user;
	if (r->step == STEP_LINE || r->step == STEP_OPEN_LINE)
		line_done(r, status);
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

/* A termios change the driver sends nothing for (serial_drv.h). */
static gboolean line_skipped(SerialBridge *b, const struct tty_core_fx *fx)
{
	const struct serial_driver *drv = serial_port_get_driver(b->port);
	return (fx->line_same && drv->line_on_change_only) ||
	       (fx->hw_same && drv->line_on_hw_change_only);
}

static void fx_next(FxRun *r)
{
	SerialBridge *b = r->b;
	for (;;) {
		switch (r->step) {
		case STEP_OPEN_LINE:
			if (r->fx.flags & TTY_FX_OPEN) {
				serial_port_set_line(b->port, &r->fx.line, fx_step_done, r);
				return;
			}
			break;
		case STEP_LINES:
			if ((r->fx.flags & TTY_FX_LINES) &&
			    !(r->fx.lines_same &&
			      serial_port_get_driver(b->port)->lines_on_change_only)) {
				serial_port_set_lines(b->port, r->fx.lines, fx_step_done, r);
				return;
			}
			break;
		case STEP_LINE:
			if ((r->fx.flags & TTY_FX_LINE) && !line_skipped(b, &r->fx)) {
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
	    .rx_flush = tty_rx_flush,
	    .opened = tty_opened,
	    .fx_interrupt = tty_fx_interrupt,
	};
	static const SerialPortCallbacks pcb = {
	    .rx = port_rx,
	    .tx_pull = port_tx_pull,
	    .tx_ready = port_tx_ready,
	    .tx_done = port_tx_done,
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
	/* As the kernel's probe: the device starts at the tty's default
	 * settings (9600 8N1) before anybody opens the node. */
	struct serial_line line;
	cuse_tty_get_line(b->tty, &line);
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
