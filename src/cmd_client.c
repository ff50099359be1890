/* SPDX-License-Identifier: MIT */
/*
 * `usbip-cuse list` and `usbip-cuse cat`: the client engine without CUSE,
 * usable on machines without /dev/cuse.
 */
#define G_LOG_DOMAIN "usbip-cuse"

#include "cmd_client.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acm_port.h"
#include "cli.h"
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

/* ACM comm interfaces among the interface records (class 2, subclass 2);
 * -1 when the server sent none: Linux lists a device it has not configured
 * yet (bConfigurationValue 0) with no interfaces, so nobody knows. */
static gint count_acm(const UsbipExported *e)
{
	gint n = 0;
	if (e->n_intf == 0)
		return -1;
	for (guint i = 0; i < e->n_intf; i++)
		if (e->intf[i].bInterfaceClass == CDC_CLASS_COMM &&
		    e->intf[i].bInterfaceSubClass == CDC_SUBCLASS_ACM)
			n++;
	return n;
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
			gint acm = count_acm(e);
			g_string_append(s, i ? ",\n  {\"busid\": " : "\n  {\"busid\": ");
			json_string(s, e->dev.busid);
			g_string_append_printf(
			    s,
			    ", \"vid\": \"%04x\", \"pid\": \"%04x\", \"bcdDevice\": \"%04x\", "
			    "\"speed\": \"%s\", \"class\": %u, \"interfaces\": %u, ",
			    e->dev.idVendor, e->dev.idProduct, e->dev.bcdDevice,
			    speed_str(e->dev.speed), e->dev.bDeviceClass, e->n_intf);
			if (acm < 0)
				g_string_append(s, "\"acm_functions\": null, \"path\": ");
			else
				g_string_append_printf(s, "\"acm_functions\": %d, \"path\": ", acm);
			json_string(s, e->dev.path);
			g_string_append_c(s, '}');
		}
		g_string_append(s, list->len ? "\n]\n" : "]\n");
		fputs(s->str, stdout);
		return 0;
	}
	printf("%-12s %-9s %-8s %-5s %-4s %s\n", "BUSID", "VID:PID", "SPEED", "IFACES", "ACM",
	       "PATH");
	for (guint i = 0; i < list->len; i++) {
		const UsbipExported *e = g_ptr_array_index(list, i);
		gint acm = count_acm(e);
		/* "?": the server sent no interfaces (device not configured yet) */
		g_autofree char *acm_s = acm < 0   ? g_strdup("?")
		                         : acm > 0 ? g_strdup_printf("%d", acm)
		                                   : g_strdup("-");
		/* the server's text may hold control characters: escape it */
		g_autofree char *busid = cli_escape(e->dev.busid);
		g_autofree char *path = cli_escape(e->dev.path);
		printf("%-12s %04x:%04x %-8s %-6u %-4s %s\n", busid, e->dev.idVendor,
		       e->dev.idProduct, speed_str(e->dev.speed), e->n_intf, acm_s, path);
	}
	if (list->len == 0)
		printf("(the server exports no devices)\n");
	return 0;
}

/* ---- cat ---- */

typedef struct {
	GMainLoop *loop;
	UsbipDevice *dev;
	AcmPort *port;
	const CmdCatOptions *opt;
	GError *error;
	int status;
	/* stdin -> device */
	guint8 inbuf[65536];
	gsize in_len, in_off;
	gboolean in_eof;
	guint in_watch;
	/* device -> stdout */
	guint64 received;
	guint idle_timer;
	gboolean started;
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
	if (c->in_eof && acm_port_tx_pending(c->port) == 0) {
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

static gsize cat_rx(AcmPort *p, const guint8 *data, gsize len, gpointer user)
{
	CatCtx *c = user;
	gsize off = 0;
	/* stdout is blocking; a slow reader slows the device, no data is lost */
	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(&c->error, G_IO_ERROR, g_io_error_from_errno(errno),
			            "writing to stdout: %s", g_strerror(errno));
			cat_stop(c, 1);
			return len;
		}
		off += (gsize)n;
	}
	c->received += len;
	cat_rearm_idle(c);
	if (c->opt->bytes && c->received >= c->opt->bytes)
		cat_stop(c, 0);
	return len;
}

static gboolean cat_stdin_cb(gint fd, GIOCondition cond, gpointer user);

static void cat_pump(CatCtx *c)
{
	while (c->in_off < c->in_len) {
		gsize n = acm_port_write(c->port, c->inbuf + c->in_off, c->in_len - c->in_off);
		if (n == 0)
			break;
		c->in_off += n;
	}
	if (c->in_off == c->in_len && !c->in_eof && !c->in_watch && acm_port_is_up(c->port))
		c->in_watch = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP, cat_stdin_cb, c);
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
	cat_pump(c);
	return G_SOURCE_REMOVE;
}

static void cat_tx_progress(AcmPort *p, gsize confirmed, gsize discarded, gpointer user)
{
	cat_pump(user);
}

static void cat_tx_failed(AcmPort *p, gsize lost, gpointer user)
{
	g_warning("%zu written bytes were lost when the link fell", lost);
}

static void cat_link(AcmPort *p, gboolean up, const GError *error, gpointer user)
{
	CatCtx *c = user;
	if (up)
		cat_pump(c);
	else if (error)
		g_message("link down (%s); reconnecting", error->message);
}

static void cat_lc_done(AcmPort *p, int status, gpointer user)
{
	if (status < 0)
		g_warning("SET_LINE_CODING failed: %s", g_strerror(-status));
}

static void cat_started(GObject *src, GAsyncResult *res, gpointer user)
{
	CatCtx *c = user;
	if (!usbip_device_start_finish(c->dev, res, &c->error)) {
		cat_stop(c, 1);
		return;
	}
	if (usbip_device_get_n_functions(c->dev) <= c->opt->function) {
		g_set_error(&c->error, UC_ERROR, UC_ERROR_NOT_ACM,
		            "the device has %u ACM function(s); there is no function %u",
		            usbip_device_get_n_functions(c->dev), c->opt->function);
		cat_stop(c, 1);
		return;
	}
	static const AcmPortCallbacks cb = {
	    .rx = cat_rx,
	    .tx_progress = cat_tx_progress,
	    .tx_failed = cat_tx_failed,
	    .link = cat_link,
	};
	c->port = acm_port_new(c->dev, c->opt->function, NULL, &cb, c);
	struct cdc_line_coding lc = {.rate = c->opt->baud, .data_bits = 8};
	acm_port_set_line_coding(c->port, &lc, cat_lc_done, c);
	acm_port_set_control_lines(c->port, CDC_CTRL_DTR | CDC_CTRL_RTS, NULL, NULL);
	cat_pump(c);
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
	/* a closed stdout is an error to report, not a signal to die of */
	signal(SIGPIPE, SIG_IGN);
	c.dev = usbip_device_new(server, sel, NULL);
	guint sig1 = g_unix_signal_add(SIGINT, cat_signal, &c);
	guint sig2 = g_unix_signal_add(SIGTERM, cat_signal, &c);
	usbip_device_start_async(c.dev, cat_started, &c);
	g_main_loop_run(c.loop);
	g_source_remove(sig1);
	g_source_remove(sig2);
	if (c.in_watch)
		g_source_remove(c.in_watch);
	if (c.idle_timer)
		g_source_remove(c.idle_timer);
	/* The port first: it unregisters from the device and forgets its URBs. */
	acm_port_free(c.port);
	usbip_device_free(c.dev);
	g_main_loop_unref(c.loop);
	if (c.error)
		g_propagate_error(error, c.error);
	return c.status;
}
