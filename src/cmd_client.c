/* SPDX-License-Identifier: MIT */
/*
 * `usbip-cuse list` and `usbip-cuse cat`: the client engine without CUSE,
 * usable on machines without /dev/cuse.
 */
#define G_LOG_DOMAIN "usbip-cuse"

#include "cmd_client.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cdc_acm.h"
#include "cli.h"
#include "serial_port.h"
#include "uc_error.h"
#include "usbip_device.h"

/* ---- list ---- */

typedef struct {
	GMainLoop *loop;
	GPtrArray *list;
	GError *error;
} ListCtx;

static void list_done(GObject *src, GAsyncResult *res, gpointer user)
{
	ListCtx *c = user;
	c->list = usbip_conn_list_finish(res, &c->error);
	g_main_loop_quit(c->loop);
}

static const char *speed_str(guint32 s)
{
	static const char *names[] = {"unknown",  "low",   "full",  "high",
	                              "wireless", "super", "super+"};
	return s < G_N_ELEMENTS(names) ? names[s] : "unknown";
}

/* What a device list tells of a device's serial ports, before any import:
 * the driver (a vendor driver by VID:PID, else cdc_acm by its interface
 * records) and how many ports.  ports -1: unknown, because Linux lists a
 * device it has not configured yet (bConfigurationValue 0) with no
 * interface records. */
typedef struct {
	const char *driver; /* NULL: no serial port we drive (or unknown) */
	gint ports;
} ListSerial;

static ListSerial list_serial(const UsbipExported *e)
{
	ListSerial r = {NULL, e->n_intf ? 0 : -1};
	int id = serial_drv_match_ids(e->dev.idVendor, e->dev.idProduct);
	for (guint i = 0; i < e->n_intf; i++) {
		const struct usbip_intf *in = &e->intf[i];
		if (id >= 0 ? in->bInterfaceClass == 0xff
		            : in->bInterfaceClass == CDC_CLASS_COMM &&
		                  in->bInterfaceSubClass == CDC_SUBCLASS_ACM)
			r.ports++;
	}
	if (id >= 0)
		r.driver = serial_drv_name((unsigned)id);
	else if (r.ports > 0)
		r.driver = cdc_acm_driver.name;
	return r;
}

/* A JSON string literal of text from the server (any bytes). */
static void json_string(GString *out, const char *text)
{
	g_autofree char *valid = g_utf8_make_valid(text, -1);
	g_string_append_c(out, '"');
	for (const char *p = valid; *p; p++) {
		guchar c = (guchar)*p;
		if (c == '"' || c == '\\')
			g_string_append_printf(out, "\\%c", c);
		else if (c < 0x20)
			g_string_append_printf(out, "\\u%04x", c);
		else
			g_string_append_c(out, (char)c);
	}
	g_string_append_c(out, '"');
}

GPtrArray *cmd_client_list_sync(const char *server, GError **error)
{
	ListCtx c = {.loop = g_main_loop_new(NULL, FALSE)};
	usbip_conn_list_async(server, NULL, list_done, &c);
	g_main_loop_run(c.loop);
	g_main_loop_unref(c.loop);
	if (!c.list)
		g_propagate_error(error, c.error);
	return c.list;
}

int cmd_client_list(const char *server, gboolean json, GError **error)
{
	g_autoptr(GPtrArray) list = cmd_client_list_sync(server, error);
	if (!list)
		return 1;
	if (json) {
		g_autoptr(GString) s = g_string_new("[");
		for (guint i = 0; i < list->len; i++) {
			const UsbipExported *e = g_ptr_array_index(list, i);
			ListSerial ls = list_serial(e);
			g_string_append(s, i ? ",\n  {\"busid\": " : "\n  {\"busid\": ");
			json_string(s, e->dev.busid);
			g_string_append_printf(
			    s,
			    ", \"vid\": \"%04x\", \"pid\": \"%04x\", \"bcdDevice\": \"%04x\", "
			    "\"speed\": \"%s\", \"class\": %u, \"interfaces\": %u, ",
			    e->dev.idVendor, e->dev.idProduct, e->dev.bcdDevice,
			    speed_str(e->dev.speed), e->dev.bDeviceClass, e->n_intf);
			if (ls.driver)
				g_string_append_printf(s, "\"driver\": \"%s\", ", ls.driver);
			else
				g_string_append(s, "\"driver\": null, ");
			if (ls.ports < 0)
				g_string_append(s, "\"ports\": null, \"path\": ");
			else
				g_string_append_printf(s, "\"ports\": %d, \"path\": ", ls.ports);
			json_string(s, e->dev.path);
			g_string_append_c(s, '}');
		}
		g_string_append(s, list->len ? "\n]\n" : "]\n");
		fputs(s->str, stdout);
		return 0;
	}
	printf("%-12s %-9s %-8s %-6s %-8s %-5s %s\n", "BUSID", "VID:PID", "SPEED", "IFACES",
	       "DRIVER", "PORTS", "PATH");
	for (guint i = 0; i < list->len; i++) {
		const UsbipExported *e = g_ptr_array_index(list, i);
		ListSerial ls = list_serial(e);
		/* "?": the server sent no interfaces (device not configured yet) */
		g_autofree char *ports = ls.ports < 0 ? g_strdup("?")
		                         : ls.driver  ? g_strdup_printf("%d", ls.ports)
		                                      : g_strdup("-");
		const char *driver = ls.driver ? ls.driver : ls.ports < 0 ? "?" : "-";
		/* the server's text may hold control characters: escape it */
		g_autofree char *busid = cli_escape(e->dev.busid);
		g_autofree char *path = cli_escape(e->dev.path);
		printf("%-12s %04x:%04x %-8s %-6u %-8s %-5s %s\n", busid, e->dev.idVendor,
		       e->dev.idProduct, speed_str(e->dev.speed), e->n_intf, driver, ports, path);
	}
	if (list->len == 0)
		printf("(the server exports no devices)\n");
	return 0;
}

/* ---- cat ---- */

/* stdin and stdout are non-blocking while cat runs (restored at the end), so
 * that neither a stalled consumer nor a quiet producer blocks the main loop:
 * signals and the device are always served. */
typedef struct {
	int fd;
	int flags; /* to restore, or -1 */
} FdMode;

static void fd_nonblock(FdMode *m, int fd)
{
	m->fd = fd;
	m->flags = fcntl(fd, F_GETFL);
	if (m->flags >= 0 && !(m->flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, m->flags | O_NONBLOCK);
}

static void fd_restore(FdMode *m)
{
	if (m->flags >= 0 && !(m->flags & O_NONBLOCK))
		fcntl(m->fd, F_SETFL, m->flags);
}

typedef struct {
	GMainLoop *loop;
	UsbipDevice *dev;
	SerialPort *port;
	const CmdCatOptions *opt;
	GError *error;
	int status;
	/* stdin -> device */
	guint8 inbuf[65536];
	gsize in_len, in_off;
	gboolean in_eof;
	guint in_watch;
	/* device -> stdout: bytes stdout did not take stay in the port */
	guint out_watch;
	guint64 received;
	guint idle_timer;
} CatCtx;

static void cat_stop(CatCtx *c, int status)
{
	c->status = status;
	g_main_loop_quit(c->loop);
}

static gboolean cat_idle_cb(gpointer user)
{
	CatCtx *c = user;
	c->idle_timer = 0;
	/* Quiet for long enough after stdin ended and all writes landed. */
	if (c->in_eof && serial_port_tx_inflight(c->port) == 0) {
		cat_stop(c, 0);
		return G_SOURCE_REMOVE;
	}
	c->idle_timer = g_timeout_add(c->opt->idle_ms, cat_idle_cb, c);
	return G_SOURCE_REMOVE;
}

static void cat_rearm_idle(CatCtx *c)
{
	if (c->opt->idle_ms == 0)
		return;
	if (c->idle_timer)
		g_source_remove(c->idle_timer);
	c->idle_timer = g_timeout_add(c->opt->idle_ms, cat_idle_cb, c);
}

static gboolean cat_stdout_cb(gint fd, GIOCondition cond, gpointer user)
{
	CatCtx *c = user;
	c->out_watch = 0;
	serial_port_rx_resume(c->port);
	return G_SOURCE_REMOVE;
}

static gsize cat_rx(SerialPort *p, const guint8 *data, gsize len, gpointer user)
{
	CatCtx *c = user;
	gsize off = 0;
	if (c->error)
		return len; /* stopping: stdout is gone */
	if (c->opt->bytes && c->received + len > c->opt->bytes)
		len = (gsize)(c->opt->bytes - c->received); /* the rest is not ours */
	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* the reader is slow: the port holds the rest, reads pause */
			if (!c->out_watch)
				c->out_watch = g_unix_fd_add(STDOUT_FILENO, G_IO_OUT | G_IO_ERR,
				                             cat_stdout_cb, c);
			break;
		}
		if (n <= 0) {
			g_set_error(&c->error, G_IO_ERROR, g_io_error_from_errno(errno),
			            "writing to stdout: %s", g_strerror(errno));
			cat_stop(c, 1);
			return len;
		}
		off += (gsize)n;
	}
	c->received += off;
	if (off)
		cat_rearm_idle(c);
	if (c->opt->bytes && c->received >= c->opt->bytes)
		cat_stop(c, 0);
	return off;
}

static gboolean cat_stdin_cb(gint fd, GIOCondition cond, gpointer user);

/* Read stdin again once the port has taken all of the last read. */
static void cat_want_input(CatCtx *c)
{
	if (c->in_off == c->in_len && !c->in_eof && !c->in_watch)
		c->in_watch = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP, cat_stdin_cb, c);
}

/* stdin's bytes are the port's write queue: it pulls them into its URBs */
static gsize cat_tx_pull(SerialPort *p, guint8 *buf, gsize max, gpointer user)
{
	CatCtx *c = user;
	return serial_port_take(buf, max, c->inbuf, c->in_len, &c->in_off);
}

static gsize cat_tx_ready(SerialPort *p, gpointer user)
{
	CatCtx *c = user;
	return c->in_len - c->in_off;
}

static gboolean cat_stdin_cb(gint fd, GIOCondition cond, gpointer user)
{
	CatCtx *c = user;
	ssize_t n = read(fd, c->inbuf, sizeof(c->inbuf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	c->in_watch = 0;
	if (n <= 0) {
		c->in_eof = TRUE;
		cat_rearm_idle(c);
		return G_SOURCE_REMOVE;
	}
	c->in_len = (gsize)n;
	c->in_off = 0;
	serial_port_tx_kick(c->port);
	cat_want_input(c);
	return G_SOURCE_REMOVE;
}

static void cat_tx_done(SerialPort *p, gsize confirmed, gsize discarded, gpointer user)
{
	cat_want_input(user); /* the port pulled the rest when the URB freed */
}

static void cat_tx_failed(SerialPort *p, gsize lost, gpointer user)
{
	g_warning("%zu written bytes were lost when the link fell", lost);
}

static void cat_link(SerialPort *p, gboolean up, const GError *error, gpointer user)
{
	CatCtx *c = user;
	if (up) {
		serial_port_tx_kick(c->port); /* the setup raised DTR/RTS first */
		cat_want_input(c);
	} else if (error)
		g_message("link down (%s); reconnecting", error->message);
}

static void cat_line_done(SerialPort *p, int status, gpointer user)
{
	if (status < 0 && status != -ENOTCONN)
		g_warning("the line settings: %s", g_strerror(-status));
}

static void cat_started(GObject *src, GAsyncResult *res, gpointer user)
{
	CatCtx *c = user;
	if (!usbip_device_start_finish(c->dev, res, &c->error)) {
		cat_stop(c, 1);
		return;
	}
	if (usbip_device_get_n_functions(c->dev) <= c->opt->function) {
		g_set_error(&c->error, UC_ERROR, UC_ERROR_NOT_SERIAL,
		            "the device has %u serial port(s); there is no port %u",
		            usbip_device_get_n_functions(c->dev), c->opt->function);
		cat_stop(c, 1);
		return;
	}
	static const SerialPortCallbacks cb = {
	    .rx = cat_rx,
	    .tx_pull = cat_tx_pull,
	    .tx_ready = cat_tx_ready,
	    .tx_done = cat_tx_done,
	    .tx_failed = cat_tx_failed,
	    .link = cat_link,
	};
	c->port = serial_port_new(c->dev, c->opt->function, NULL, &cb, c);
	/* Asked for before the port's setup runs: the setup sends them (once),
	 * DTR/RTS up before any data moves, as the kernel raises them on open. */
	const struct serial_line line = {.baud = c->opt->baud, .data_bits = 8};
	serial_port_set_line(c->port, &line, cat_line_done, c);
	serial_port_set_lines(c->port, SERIAL_DTR | SERIAL_RTS, NULL, NULL);
	serial_port_set_active(c->port, TRUE); /* as an open node: low latency */
	cat_rearm_idle(c);
}

static gboolean cat_signal(gpointer user)
{
	cat_stop(user, 130);
	return G_SOURCE_CONTINUE;
}

int cmd_client_cat(const char *server, const UsbipSelector *sel, const CmdCatOptions *opt,
                   GError **error)
{
	CatCtx c = {.opt = opt, .loop = g_main_loop_new(NULL, FALSE)};
	FdMode in_mode, out_mode;
	/* a closed stdout is an error to report, not a signal to die of */
	signal(SIGPIPE, SIG_IGN);
	fd_nonblock(&in_mode, STDIN_FILENO);
	fd_nonblock(&out_mode, STDOUT_FILENO);
	c.dev = usbip_device_new(server, sel, NULL);
	guint sig1 = g_unix_signal_add(SIGINT, cat_signal, &c);
	guint sig2 = g_unix_signal_add(SIGTERM, cat_signal, &c);
	usbip_device_start_async(c.dev, cat_started, &c);
	g_main_loop_run(c.loop);
	g_source_remove(sig1);
	g_source_remove(sig2);
	if (c.in_watch)
		g_source_remove(c.in_watch);
	if (c.out_watch)
		g_source_remove(c.out_watch);
	if (c.idle_timer)
		g_source_remove(c.idle_timer);
	usbip_device_shutdown_sync(c.dev, 1000); /* unlink, wait for the answers, close */
	/* The port first: it unregisters from the device and forgets its URBs. */
	serial_port_free(c.port);
	usbip_device_free(c.dev);
	g_main_loop_unref(c.loop);
	fd_restore(&in_mode);
	fd_restore(&out_mode);
	if (c.error)
		g_propagate_error(error, c.error);
	return c.status;
}
