/* SPDX-License-Identifier: MIT */
/*
 * mock_control - text command channel of the mock USBIP server (see
 * mock_control.h).  Non-blocking like the USBIP side: a line buffer per
 * connection, replies queued and written when the socket can take them.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include "mock_control.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

const char mock_control_help[] =
    "help                           this list\n"
    "list                           BUSID STATE per device (block)\n"
    "state BUSID                    free | imported | unplugged\n"
    "linecoding BUSID [INTF]        the line settings the chip was last given, as it decodes\n"
    "                               them: RATE DATABITS PARITY(N/O/E/M/S) STOPBITS(1/1.5/2)\n"
    "                               [rtscts] [dtrdsr] [ixon] [ixoff]; RATE is what the chip\n"
    "                               runs at (up to 3 decimals), e.g. \"115384.615 8 N 1\"\n"
    "lines BUSID [INTF]             DTR/RTS as the host set them, one value per request, in\n"
    "                               order (bit0 DTR, bit1 RTS; CDC-ACM: every\n"
    "                               SET_CONTROL_LINE_STATE wValue), e.g. \"0x3 0x2 0x0\";\n"
    "                               \"none\" if none\n"
    "breaks BUSID [INTF]            CDC-ACM: every SEND_BREAK wValue (ms, 0xffff forever);\n"
    "                               other chips: 0xffff when a break began, 0x0 when it ended\n"
    "requests BUSID                 recorded control requests, oldest first (block), one per\n"
    "                               line: TYPE REQUEST VALUE INDEX LENGTH STATUS DATA(hex|-)\n"
    "clear BUSID                    forget the recorded control requests\n"
    "serial-state BUSID BITS [INTF] send a SERIAL_STATE notification; BITS: 0x1 DCD, 0x2 DSR,\n"
    "                               0x4 break, 0x8 RI, 0x10 framing, 0x20 parity, 0x40 overrun\n"
    "modem BUSID LINES [INTF]       the far end sets its lines to exactly LINES and raises its\n"
    "                               events; LINES: comma-separated cts dsr ri dcd break framing\n"
    "                               parity overrun, or none; any chip, reported its own way\n"
    "model BUSID                    the model playing the device (cdc_acm ftdi_sio cp210x\n"
    "                               ch341 pl2303), \"none\" without serial ports\n"
    "chip BUSID [INTF]              MODEL CHIP and the port's raw registers (key=value)\n"
    "stall BUSID EP                 halt endpoint EP (e.g. 0x81) until CLEAR_FEATURE;\n"
    "                               EP 0: the next control request stalls\n"
    "unplug BUSID                   pending URBs end with -ESHUTDOWN, the link closes, the\n"
    "                               device disappears until replug\n"
    "replug BUSID                   make an unplugged device importable again\n"
    "move BUSID NEWBUSID            the device re-enumerates as NEWBUSID: its importer sees\n"
    "                               an unplug, then it is listed under the new bus id\n"
    "delay BUSID MS                 delay every URB reply of the device by MS ms (0: off)\n"
    "drop BUSID                     close the importer's TCP connection at once\n"
    "quit                           close this control connection\n"
    "INTF is the interface a serial port's requests name (CDC-ACM: its communication\n"
    "interface; default: the first port).\n"
    "Numbers are decimal or 0x-hex.  Replies: one line, or a block ended by \"ok\";\n"
    "failures: \"error: MESSAGE\".\n";

typedef struct {
	MockControl *ctl;
	GSocket *sock;
	GSource *in_src;
	GSource *out_src;
	GString *inbuf;
	GByteArray *outbuf;
	gboolean closing; /* close once outbuf is written */
} CtlConn;

struct _MockControl {
	MockServer *srv;
	GMainContext *ctx;
	char *path;
	GSocket *listen;
	GSource *listen_src;
	GList *conns;
	GSource *reap_src;
	GList *dead;
};

static gboolean parse_num(const char *s, guint64 max, guint64 *out)
{
	char *end = NULL;
	guint64 v;

	if (!s || !*s || *s == '-')
		return FALSE;
	errno = 0;
	v = g_ascii_strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return FALSE;
	*out = v;
	return TRUE;
}

/* Optional INTF argument: -1 when absent. */
static gboolean parse_intf(char **argv, guint i, gint *intf)
{
	guint64 v;

	*intf = -1;
	if (!argv[i])
		return TRUE;
	if (!parse_num(argv[i], 255, &v) || argv[i + 1])
		return FALSE;
	*intf = (gint)v;
	return TRUE;
}

/* "cts,dsr,break" -> MOCK_SERVER_* bits; "none" -> 0. */
static gboolean parse_modem(const char *s, guint16 *bits)
{
	static const struct {
		const char *name;
		guint16 bit;
	} names[] = {
	    {"cts", MOCK_SERVER_CTS},
	    {"dsr", MOCK_SERVER_DSR},
	    {"ri", MOCK_SERVER_RI},
	    {"dcd", MOCK_SERVER_DCD},
	    {"break", MOCK_SERVER_EV_BREAK},
	    {"framing", MOCK_SERVER_EV_FRAMING},
	    {"parity", MOCK_SERVER_EV_PARITY},
	    {"overrun", MOCK_SERVER_EV_OVERRUN},
	};
	g_auto(GStrv) words = NULL;

	*bits = 0;
	if (!s)
		return FALSE;
	if (!strcmp(s, "none"))
		return TRUE;
	words = g_strsplit(s, ",", -1);
	for (guint i = 0; words[i]; i++) {
		guint k;
		for (k = 0; k < G_N_ELEMENTS(names); k++)
			if (!strcmp(words[i], names[k].name))
				break;
		if (k == G_N_ELEMENTS(names))
			return FALSE;
		*bits |= names[k].bit;
	}
	return TRUE;
}

static void append_values(GString *r, GArray *vals)
{
	if (vals->len == 0)
		g_string_append(r, "none");
	for (guint i = 0; i < vals->len; i++)
		g_string_append_printf(r, "%s0x%x", i ? " " : "", g_array_index(vals, guint16, i));
	g_string_append_c(r, '\n');
}

static void append_requests(GString *r, GArray *reqs)
{
	for (guint i = 0; i < reqs->len; i++) {
		const MockServerRequest *q = &g_array_index(reqs, MockServerRequest, i);
		g_string_append_printf(r, "0x%02x 0x%02x 0x%04x 0x%04x %u %d ", q->bmRequestType,
		                       q->bRequest, q->wValue, q->wIndex, q->wLength, q->status);
		if (q->data_len == 0)
			g_string_append_c(r, '-');
		for (guint k = 0; k < q->data_len; k++)
			g_string_append_printf(r, "%02x", q->data[k]);
		g_string_append_c(r, '\n');
	}
	g_string_append(r, "ok\n");
}

static void append_line(GString *r, const MockServerLine *l)
{
	g_autofree char *text = mock_server_line_to_string(l);

	g_string_append_printf(r, "%s\n", text);
}

char *mock_control_execute(MockServer *srv, const char *line, gboolean *quit)
{
	g_auto(GStrv) argv = NULL;
	g_autoptr(GError) err = NULL;
	GString *r = g_string_new(NULL);
	g_autofree char *trimmed = g_strstrip(g_strdup(line));
	const char *cmd, *busid;
	guint argc;
	gboolean ok = TRUE;
	guint64 v;
	guint16 bits = 0;
	gint intf = -1;

	*quit = FALSE;
	/* split on runs of blanks */
	{
		g_autoptr(GPtrArray) a = g_ptr_array_new();
		g_auto(GStrv) raw = g_strsplit_set(trimmed, " \t", -1);
		for (guint i = 0; raw[i]; i++)
			if (*raw[i])
				g_ptr_array_add(a, g_strdup(raw[i]));
		g_ptr_array_add(a, NULL);
		argv = (GStrv)g_ptr_array_free(g_steal_pointer(&a), FALSE);
	}
	argc = g_strv_length(argv);
	if (argc == 0) {
		g_string_append(r, "error: empty command\n");
		return g_string_free(r, FALSE);
	}
	cmd = argv[0];
	busid = argv[1];

	if (!strcmp(cmd, "help") && argc == 1) {
		g_string_append(r, mock_control_help);
		g_string_append(r, "ok\n");
	} else if (!strcmp(cmd, "quit") && argc == 1) {
		*quit = TRUE;
		g_string_append(r, "ok\n");
	} else if (!strcmp(cmd, "list") && argc == 1) {
		g_auto(GStrv) ids = mock_server_list_busids(srv);
		for (guint i = 0; ids[i]; i++)
			g_string_append_printf(r, "%s %s\n", ids[i],
			                       mock_server_get_state(srv, ids[i]));
		g_string_append(r, "ok\n");
	} else if (!strcmp(cmd, "state") && argc == 2) {
		const char *st = mock_server_get_state(srv, busid);
		if (st)
			g_string_append_printf(r, "%s\n", st);
		else
			g_string_append_printf(r, "error: no device %s\n", busid);
	} else if (!strcmp(cmd, "linecoding") && argc >= 2 && parse_intf(argv, 2, &intf)) {
		MockServerLine l;
		ok = mock_server_get_line(srv, busid, intf, &l, &err);
		if (ok)
			append_line(r, &l);
	} else if ((!strcmp(cmd, "lines") || !strcmp(cmd, "breaks")) && argc >= 2 &&
	           parse_intf(argv, 2, &intf)) {
		g_autoptr(GArray) vals =
		    !strcmp(cmd, "lines") ? mock_server_get_line_history(srv, busid, intf, &err)
		                          : mock_server_get_break_history(srv, busid, intf, &err);
		ok = vals != NULL;
		if (ok)
			append_values(r, vals);
	} else if (!strcmp(cmd, "requests") && argc == 2) {
		g_autoptr(GArray) reqs = mock_server_get_requests(srv, busid, &err);
		ok = reqs != NULL;
		if (ok)
			append_requests(r, reqs);
	} else if (!strcmp(cmd, "clear") && argc == 2) {
		ok = mock_server_clear_requests(srv, busid, &err);
	} else if (!strcmp(cmd, "serial-state") && argc >= 3 && parse_num(argv[2], 0xffff, &v) &&
	           parse_intf(argv, 3, &intf)) {
		ok = mock_server_inject_serial_state(srv, busid, intf, (guint16)v, &err);
	} else if (!strcmp(cmd, "modem") && argc >= 3 && parse_modem(argv[2], &bits) &&
	           parse_intf(argv, 3, &intf)) {
		ok = mock_server_set_inputs(srv, busid, intf, bits, &err);
	} else if (!strcmp(cmd, "model") && argc == 2) {
		if (!mock_server_get_state(srv, busid)) {
			g_string_append_printf(r, "error: no device %s\n", busid);
		} else {
			const char *m = mock_server_get_model(srv, busid);
			g_string_append_printf(r, "%s\n", m ? m : "none");
		}
	} else if (!strcmp(cmd, "chip") && argc >= 2 && parse_intf(argv, 2, &intf)) {
		g_autofree char *d = mock_server_describe_port(srv, busid, intf, &err);
		ok = d != NULL;
		if (ok)
			g_string_append_printf(r, "%s\n", d);
	} else if (!strcmp(cmd, "stall") && argc == 3 && parse_num(argv[2], 0xff, &v)) {
		ok = mock_server_stall(srv, busid, (guint8)v, &err);
	} else if (!strcmp(cmd, "unplug") && argc == 2) {
		ok = mock_server_unplug(srv, busid, &err);
	} else if (!strcmp(cmd, "replug") && argc == 2) {
		ok = mock_server_replug(srv, busid, &err);
	} else if (!strcmp(cmd, "move") && argc == 3) {
		ok = mock_server_move(srv, busid, argv[2], &err);
	} else if (!strcmp(cmd, "delay") && argc == 3 && parse_num(argv[2], 600000, &v)) {
		ok = mock_server_set_delay(srv, busid, (guint)v, &err);
	} else if (!strcmp(cmd, "drop") && argc == 2) {
		ok = mock_server_drop(srv, busid, &err);
	} else {
		g_string_append_printf(r, "error: bad command or arguments: %s (try help)\n",
		                       trimmed);
		return g_string_free(r, FALSE);
	}
	if (!ok)
		g_string_append_printf(r, "error: %s\n", err->message);
	else if (r->len == 0)
		g_string_append(r, "ok\n");
	return g_string_free(r, FALSE);
}

/* ---- socket side ------------------------------------------------------ */

static void ctl_conn_close(CtlConn *cc);

static void destroy_source(GSource **src)
{
	if (*src) {
		g_source_destroy(*src);
		g_source_unref(*src);
		*src = NULL;
	}
}

static void ctl_conn_free(CtlConn *cc)
{
	g_string_free(cc->inbuf, TRUE);
	g_byte_array_unref(cc->outbuf);
	g_object_unref(cc->sock);
	g_free(cc);
}

static gboolean reap_cb(gpointer data)
{
	MockControl *ctl = data;

	g_list_free_full(g_steal_pointer(&ctl->dead), (GDestroyNotify)ctl_conn_free);
	g_source_unref(ctl->reap_src);
	ctl->reap_src = NULL;
	return G_SOURCE_REMOVE;
}

/* The struct is freed from an idle callback: we may be inside its source. */
static void ctl_conn_close(CtlConn *cc)
{
	MockControl *ctl = cc->ctl;

	destroy_source(&cc->in_src);
	destroy_source(&cc->out_src);
	g_socket_close(cc->sock, NULL);
	ctl->conns = g_list_remove(ctl->conns, cc);
	ctl->dead = g_list_prepend(ctl->dead, cc);
	if (!ctl->reap_src) {
		ctl->reap_src = g_idle_source_new();
		g_source_set_callback(ctl->reap_src, reap_cb, ctl, NULL);
		g_source_attach(ctl->reap_src, ctl->ctx);
	}
}

static gboolean ctl_out_cb(GSocket *sock, GIOCondition cond, gpointer data);

/* Returns FALSE when the connection was closed. */
static gboolean ctl_flush(CtlConn *cc)
{
	while (cc->outbuf->len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_send(cc->sock, (const char *)cc->outbuf->data, cc->outbuf->len,
		                         NULL, &err);
		if (n < 0) {
			if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
				if (!cc->out_src) {
					cc->out_src =
					    g_socket_create_source(cc->sock, G_IO_OUT, NULL);
					g_source_set_callback(cc->out_src,
					                      G_SOURCE_FUNC(ctl_out_cb), cc, NULL);
					g_source_attach(cc->out_src, cc->ctl->ctx);
				}
				return TRUE;
			}
			ctl_conn_close(cc);
			return FALSE;
		}
		g_byte_array_remove_range(cc->outbuf, 0, (guint)n);
	}
	if (cc->closing) {
		ctl_conn_close(cc);
		return FALSE;
	}
	return TRUE;
}

static gboolean ctl_out_cb(GSocket *sock, GIOCondition cond, gpointer data)
{
	CtlConn *cc = data;

	g_source_unref(cc->out_src);
	cc->out_src = NULL;
	ctl_flush(cc);
	return G_SOURCE_REMOVE;
}

static void ctl_run_line(CtlConn *cc, const char *line)
{
	gboolean quit = FALSE;
	g_autofree char *reply = NULL;

	if (cc->closing)
		return;
	reply = mock_control_execute(cc->ctl->srv, line, &quit);
	g_byte_array_append(cc->outbuf, (const guint8 *)reply, (guint)strlen(reply));
	if (quit)
		cc->closing = TRUE;
}

static gboolean ctl_in_cb(GSocket *sock, GIOCondition cond, gpointer data)
{
	CtlConn *cc = data;
	char buf[4096];
	gboolean eof = FALSE;
	char *nl;

	for (;;) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_receive(sock, buf, sizeof(buf), NULL, &err);
		if (n < 0) {
			if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				break;
			ctl_conn_close(cc);
			return G_SOURCE_REMOVE;
		}
		if (n == 0) {
			eof = TRUE;
			break;
		}
		g_string_append_len(cc->inbuf, buf, n);
		if ((gsize)n < sizeof(buf))
			break;
	}
	while ((nl = memchr(cc->inbuf->str, '\n', cc->inbuf->len))) {
		*nl = '\0';
		if (nl > cc->inbuf->str && nl[-1] == '\r')
			nl[-1] = '\0';
		ctl_run_line(cc, cc->inbuf->str);
		g_string_erase(cc->inbuf, 0, nl - cc->inbuf->str + 1);
	}
	if (eof) {
		/* a last command without a newline still runs */
		if (cc->inbuf->len)
			ctl_run_line(cc, cc->inbuf->str);
		g_string_truncate(cc->inbuf, 0);
		cc->closing = TRUE;
		destroy_source(&cc->in_src);
	} else if (cc->inbuf->len > 65536) {
		ctl_conn_close(cc); /* no command is that long */
		return G_SOURCE_REMOVE;
	}
	if (!ctl_flush(cc))
		return G_SOURCE_REMOVE;
	return cc->in_src ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean ctl_listen_cb(GSocket *ls, GIOCondition cond, gpointer data)
{
	MockControl *ctl = data;

	for (;;) {
		g_autoptr(GError) err = NULL;
		GSocket *s = g_socket_accept(ls, NULL, &err);
		CtlConn *cc;
		if (!s) {
			if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				g_message("control accept: %s", err->message);
			break;
		}
		g_socket_set_blocking(s, FALSE);
		cc = g_new0(CtlConn, 1);
		cc->ctl = ctl;
		cc->sock = s;
		cc->inbuf = g_string_new(NULL);
		cc->outbuf = g_byte_array_new();
		cc->in_src = g_socket_create_source(s, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
		g_source_set_callback(cc->in_src, G_SOURCE_FUNC(ctl_in_cb), cc, NULL);
		g_source_attach(cc->in_src, ctl->ctx);
		ctl->conns = g_list_prepend(ctl->conns, cc);
	}
	return G_SOURCE_CONTINUE;
}

MockControl *mock_control_new(MockServer *srv, const char *path, GMainContext *ctx, GError **error)
{
	MockControl *ctl;
	g_autoptr(GSocketAddress) sa = NULL;
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(error, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_INVALID,
			            "%s exists and is not a socket", path);
			return NULL;
		}
		unlink(path);
	}
	ctl = g_new0(MockControl, 1);
	ctl->srv = srv;
	ctl->ctx = g_main_context_ref(ctx);
	ctl->listen = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
	                           G_SOCKET_PROTOCOL_DEFAULT, error);
	sa = g_unix_socket_address_new(path);
	if (!ctl->listen || !g_socket_bind(ctl->listen, sa, FALSE, error) ||
	    !g_socket_listen(ctl->listen, error)) {
		mock_control_free(ctl);
		return NULL;
	}
	ctl->path = g_strdup(path);
	g_socket_set_blocking(ctl->listen, FALSE);
	ctl->listen_src = g_socket_create_source(ctl->listen, G_IO_IN, NULL);
	g_source_set_callback(ctl->listen_src, G_SOURCE_FUNC(ctl_listen_cb), ctl, NULL);
	g_source_attach(ctl->listen_src, ctl->ctx);
	return ctl;
}

void mock_control_free(MockControl *ctl)
{
	if (!ctl)
		return;
	while (ctl->conns)
		ctl_conn_close(ctl->conns->data);
	if (ctl->reap_src) {
		g_source_destroy(ctl->reap_src);
		reap_cb(ctl); /* drops our reference */
	}
	destroy_source(&ctl->listen_src);
	if (ctl->listen) {
		g_socket_close(ctl->listen, NULL);
		g_object_unref(ctl->listen);
	}
	if (ctl->path)
		unlink(ctl->path);
	g_free(ctl->path);
	g_main_context_unref(ctl->ctx);
	g_free(ctl);
}
