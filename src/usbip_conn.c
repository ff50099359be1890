/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "usbip-conn"

#include "usbip_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "uc_error.h"
#include "uc_source.h"

#define CONNECT_TIMEOUT_S 10

gboolean usbip_conn_parse_server(const char *server, char **host, guint16 *port, GError **error)
{
	g_autoptr(GSocketConnectable) addr = NULL;
	g_autoptr(GError) local = NULL;

	if (!server || !*server) {
		g_set_error(error, UC_ERROR, UC_ERROR_CONNECT, "no server given");
		return FALSE;
	}
	/* A bare IPv6 literal has several colons and no brackets: no port. */
	const char *colon = strchr(server, ':');
	if (server[0] != '[' && colon && strchr(colon + 1, ':')) {
		*host = g_strdup(server);
		*port = USBIP_PORT;
		return TRUE;
	}
	addr = g_network_address_parse(server, USBIP_PORT, &local);
	if (!addr) {
		g_set_error(error, UC_ERROR, UC_ERROR_CONNECT, "bad server address \"%s\": %s",
		            server, local->message);
		return FALSE;
	}
	*host = g_strdup(g_network_address_get_hostname(G_NETWORK_ADDRESS(addr)));
	*port = g_network_address_get_port(G_NETWORK_ADDRESS(addr));
	if (*port == 0) {
		g_free(*host);
		*host = NULL;
		g_set_error(error, UC_ERROR, UC_ERROR_CONNECT, "bad server address \"%s\": port 0",
		            server);
		return FALSE;
	}
	return TRUE;
}

/* "host:port", with brackets around an IPv6 literal. */
static char *peer_name(const char *host, guint16 port)
{
	return strchr(host, ':') ? g_strdup_printf("[%s]:%u", host, port)
	                         : g_strdup_printf("%s:%u", host, port);
}

static void set_int_opt(GSocket *s, int level, int opt, int val, const char *name)
{
	g_autoptr(GError) err = NULL;
	if (!g_socket_set_option(s, level, opt, val, &err))
		g_debug("setsockopt %s: %s", name, err->message);
}

/* Why each option: NODELAY because every URB is a small request/response
 * pair; keepalive and the user timeout so a dead peer or a silent network
 * drops the link in ~20 s instead of hanging until the kernel's 2 h default. */
static void tune_socket(GSocket *s)
{
	set_int_opt(s, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	g_socket_set_keepalive(s, TRUE);
	set_int_opt(s, IPPROTO_TCP, TCP_KEEPIDLE, USBIP_CONN_KEEPIDLE_S, "TCP_KEEPIDLE");
	set_int_opt(s, IPPROTO_TCP, TCP_KEEPINTVL, USBIP_CONN_KEEPINTVL_S, "TCP_KEEPINTVL");
	set_int_opt(s, IPPROTO_TCP, TCP_KEEPCNT, USBIP_CONN_KEEPCNT, "TCP_KEEPCNT");
	set_int_opt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, USBIP_CONN_USER_TIMEOUT_MS,
	            "TCP_USER_TIMEOUT");
}

/* ---- OP phase: one request per connection, driven by a GTask ---- */

typedef enum { OP_LIST, OP_IMPORT } OpKind;

typedef struct {
	OpKind kind;
	char *server;
	char *host;
	guint16 port;
	char *peer; /* "host:port" for messages */
	char busid[USBIP_BUSID_SIZE];
	GSocketConnection *sc;
	guint8 buf[USBIP_DEVICE_SIZE + USBIP_MAX_INTERFACES * USBIP_INTF_SIZE];
	gsize want;
	guint32 ndev, idev;
	GPtrArray *list;
	struct usbip_device dev;
	GCancellable *cancel;      /* every GIO call: the caller's or the deadline */
	GCancellable *user_cancel; /* the caller's, chained to cancel */
	gulong chain;
	guint timer; /* the total deadline */
	guint timeout_ms;
	gboolean timed_out;
} OpData;

static void op_data_free(gpointer p)
{
	OpData *d = p;
	if (d->timer)
		g_source_remove(d->timer);
	if (d->user_cancel)
		g_cancellable_disconnect(d->user_cancel, d->chain);
	g_clear_object(&d->user_cancel);
	g_clear_object(&d->cancel);
	g_free(d->server);
	g_free(d->host);
	g_free(d->peer);
	g_clear_object(&d->sc);
	g_clear_pointer(&d->list, g_ptr_array_unref);
	g_free(d);
}

static void op_read(GTask *task, gsize n, GAsyncReadyCallback next);

/* "ST_DEV_BUSY (device busy)", or "status 600 (not a USBIP status)". */
static char *op_status_text(guint32 status)
{
	const char *name = usbip_proto_status_name(status);
	if (name)
		return g_strdup_printf("%s (%s)", name, usbip_proto_status_str(status));
	return g_strdup_printf("status %u (not a USBIP status)", status);
}

static void op_fail_protocol(GTask *task, const char *what, gssize rc)
{
	OpData *d = g_task_get_task_data(task);
	g_task_return_new_error(task, UC_ERROR, UC_ERROR_PROTOCOL, "server %s sent a bad %s (%s)",
	                        d->peer, what, g_strerror((int)-rc));
	g_object_unref(task);
}

/* The total deadline passed: the pending GIO call fails as cancelled. */
static gboolean op_deadline_cb(gpointer user)
{
	OpData *d = user;
	d->timer = 0;
	d->timed_out = TRUE;
	g_cancellable_cancel(d->cancel);
	return G_SOURCE_REMOVE;
}

static void op_chain_cancel(GCancellable *user_cancel, gpointer cancel)
{
	g_cancellable_cancel(cancel);
}

/* Return the deadline's error if it caused a GIO failure. */
static gboolean op_fail_deadline(GTask *task)
{
	OpData *d = g_task_get_task_data(task);
	if (!d->timed_out)
		return FALSE;
	g_task_return_new_error(task, UC_ERROR, UC_ERROR_TIMEOUT,
	                        "%s did not complete its %s reply within %u ms", d->peer,
	                        d->kind == OP_LIST ? "device list" : "import", d->timeout_ms);
	g_object_unref(task);
	return TRUE;
}

/* Completion of g_input_stream_read_all_async; TRUE when d->want bytes are
 * in d->buf, else the task was returned and unreferenced. */
static gboolean op_read_done(GTask *task, GAsyncResult *res)
{
	OpData *d = g_task_get_task_data(task);
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(d->sc));
	g_autoptr(GError) err = NULL;
	gsize got = 0;

	if (!g_input_stream_read_all_finish(in, res, &got, &err)) {
		if (op_fail_deadline(task))
			return FALSE;
		g_task_return_new_error(task, UC_ERROR, UC_ERROR_DISCONNECTED,
		                        "reading from %s: %s", d->peer, err->message);
		g_object_unref(task);
		return FALSE;
	}
	if (got != d->want) {
		g_task_return_new_error(task, UC_ERROR, UC_ERROR_DISCONNECTED,
		                        "%s closed the connection in the middle of a reply",
		                        d->peer);
		g_object_unref(task);
		return FALSE;
	}
	return TRUE;
}

static void list_entry_intf_cb(GObject *src, GAsyncResult *res, gpointer user);

static void list_next_entry(GTask *task)
{
	OpData *d = g_task_get_task_data(task);
	if (d->idev == d->ndev) {
		g_task_return_pointer(task, g_steal_pointer(&d->list),
		                      (GDestroyNotify)g_ptr_array_unref);
		g_object_unref(task);
		return;
	}
	op_read(task, USBIP_DEVICE_SIZE, list_entry_intf_cb);
}

/* d->buf holds a device record and its d->want bytes of interface records. */
static void list_entry_complete(GTask *task)
{
	OpData *d = g_task_get_task_data(task);
	UsbipExported *e = g_new0(UsbipExported, 1);
	gssize rc = usbip_proto_devlist_entry_decode(&e->dev, e->intf, USBIP_MAX_INTERFACES, d->buf,
	                                             USBIP_DEVICE_SIZE + d->want);
	if (rc < 0) {
		g_free(e);
		op_fail_protocol(task, "device list entry", rc);
		return;
	}
	e->n_intf = e->dev.bNumInterfaces;
	g_ptr_array_add(d->list, e);
	d->idev++;
	list_next_entry(task);
}

static void list_entry_done_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	GTask *task = user;
	if (op_read_done(task, res))
		list_entry_complete(task);
}

static void list_entry_intf_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	GTask *task = user;
	OpData *d = g_task_get_task_data(task);
	if (!op_read_done(task, res))
		return;
	/* bNumInterfaces is the last byte of the 312-byte record. */
	guint nintf = d->buf[USBIP_DEVICE_SIZE - 1];
	if (nintf > USBIP_MAX_INTERFACES) {
		op_fail_protocol(task, "device list entry", -E2BIG);
		return;
	}
	if (nintf == 0) {
		d->want = 0;
		list_entry_complete(task);
		return;
	}
	d->want = nintf * USBIP_INTF_SIZE;
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(d->sc));
	g_input_stream_read_all_async(in, d->buf + USBIP_DEVICE_SIZE, d->want, G_PRIORITY_DEFAULT,
	                              d->cancel, list_entry_done_cb, task);
}

static void list_head_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	GTask *task = user;
	OpData *d = g_task_get_task_data(task);
	uint32_t status;
	if (!op_read_done(task, res))
		return;
	gssize rc = usbip_proto_devlist_head_decode(&status, &d->ndev, d->buf, d->want);
	if (rc < 0) {
		op_fail_protocol(task, "device list header", rc);
		return;
	}
	if (status != USBIP_ST_OK) {
		g_autofree char *st = op_status_text(status);
		g_task_return_new_error(task, UC_ERROR, UC_ERROR_IMPORT,
		                        "%s refused the device list: %s", d->peer, st);
		g_object_unref(task);
		return;
	}
	/* A hostile count must not make us loop for long: every entry needs
	 * 312 bytes from the peer anyway, so this only bounds the array. */
	if (d->ndev > 4096) {
		op_fail_protocol(task, "device count", -E2BIG);
		return;
	}
	d->list = g_ptr_array_new_with_free_func(g_free);
	list_next_entry(task);
}

static void import_dev_cb(GObject *src, GAsyncResult *res, gpointer user);

static void import_head_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	GTask *task = user;
	OpData *d = g_task_get_task_data(task);
	struct usbip_op_hdr h;
	if (!op_read_done(task, res))
		return;
	gssize rc = usbip_proto_op_hdr_decode(&h, d->buf, d->want);
	if (rc < 0 || h.code != USBIP_OP_REP_IMPORT) {
		op_fail_protocol(task, "import reply", rc < 0 ? rc : -EPROTO);
		return;
	}
	if (h.status != USBIP_ST_OK) {
		int code = h.status == USBIP_ST_NODEV      ? UC_ERROR_NODEV
		           : h.status == USBIP_ST_DEV_BUSY ? UC_ERROR_BUSY
		                                           : UC_ERROR_IMPORT;
		g_autofree char *st = op_status_text(h.status);
		g_task_return_new_error(task, UC_ERROR, code, "%s refused to export %s: %s",
		                        d->peer, d->busid, st);
		g_object_unref(task);
		return;
	}
	op_read(task, USBIP_DEVICE_SIZE, import_dev_cb);
}

static UsbipConn *conn_new(GSocketConnection *sc, const char *peer, uint32_t devid);

static void import_dev_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	GTask *task = user;
	OpData *d = g_task_get_task_data(task);
	if (!op_read_done(task, res))
		return;
	gssize rc = usbip_proto_device_decode(&d->dev, d->buf, d->want);
	if (rc < 0) {
		op_fail_protocol(task, "import device record", rc);
		return;
	}
	if (strcmp(d->dev.busid, d->busid) != 0) {
		g_task_return_new_error(task, UC_ERROR, UC_ERROR_PROTOCOL,
		                        "%s imported %s when asked for %s", d->peer, d->dev.busid,
		                        d->busid);
		g_object_unref(task);
		return;
	}
	g_task_return_pointer(task, conn_new(d->sc, d->peer, usbip_proto_devid(&d->dev)),
	                      (GDestroyNotify)usbip_conn_unref);
	g_object_unref(task);
}

static void op_read(GTask *task, gsize n, GAsyncReadyCallback next)
{
	OpData *d = g_task_get_task_data(task);
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(d->sc));
	d->want = n;
	g_input_stream_read_all_async(in, d->buf, n, G_PRIORITY_DEFAULT, d->cancel, next, task);
}

static void op_written_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	GTask *task = user;
	OpData *d = g_task_get_task_data(task);
	g_autoptr(GError) err = NULL;
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, &err)) {
		if (op_fail_deadline(task))
			return;
		g_task_return_new_error(task, UC_ERROR, UC_ERROR_DISCONNECTED, "sending to %s: %s",
		                        d->peer, err->message);
		g_object_unref(task);
		return;
	}
	if (d->kind == OP_LIST)
		op_read(task, USBIP_DEVLIST_HEAD_SIZE, list_head_cb);
	else
		op_read(task, USBIP_OP_HDR_SIZE, import_head_cb);
}

static void op_connected_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	GTask *task = user;
	OpData *d = g_task_get_task_data(task);
	g_autoptr(GError) err = NULL;

	d->sc = g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(src), res, &err);
	if (!d->sc) {
		if (op_fail_deadline(task))
			return;
		const char *why = err->message;
		if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
			why = "Connection refused";
		else if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
			why = "Connection timed out";
		g_task_return_new_error(task, UC_ERROR, UC_ERROR_CONNECT,
		                        "cannot connect to %s: %s", d->peer, why);
		g_object_unref(task);
		return;
	}
	GSocket *s = g_socket_connection_get_socket(d->sc);
	tune_socket(s);

	gssize n;
	if (d->kind == OP_LIST)
		n = usbip_proto_devlist_req_encode(d->buf, sizeof(d->buf));
	else
		n = usbip_proto_import_req_encode(d->busid, d->buf, sizeof(d->buf));
	g_assert(n > 0);
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(d->sc));
	g_output_stream_write_all_async(out, d->buf, (gsize)n, G_PRIORITY_DEFAULT, d->cancel,
	                                op_written_cb, task);
}

static void op_start(OpKind kind, const char *server, const char *busid, guint timeout_ms,
                     GCancellable *cancellable, GAsyncReadyCallback cb, gpointer user,
                     gpointer source_tag)
{
	GTask *task = g_task_new(NULL, cancellable, cb, user);
	OpData *d = g_new0(OpData, 1);
	g_autoptr(GError) err = NULL;

	g_task_set_source_tag(task, source_tag);
	g_task_set_task_data(task, d, op_data_free);
	d->kind = kind;
	d->server = g_strdup(server);
	if (!usbip_conn_parse_server(server, &d->host, &d->port, &err)) {
		g_task_return_error(task, g_steal_pointer(&err));
		g_object_unref(task);
		return;
	}
	d->peer = peer_name(d->host, d->port);
	if (busid) {
		if (strlen(busid) >= USBIP_BUSID_SIZE || !*busid) {
			g_task_return_new_error(task, UC_ERROR, UC_ERROR_SELECTOR,
			                        "bad bus id \"%s\"", busid);
			g_object_unref(task);
			return;
		}
		g_strlcpy(d->busid, busid, sizeof(d->busid));
	}
	d->cancel = g_cancellable_new();
	if (cancellable) {
		d->user_cancel = g_object_ref(cancellable);
		d->chain = g_cancellable_connect(cancellable, G_CALLBACK(op_chain_cancel),
		                                 d->cancel, NULL);
	}
	d->timeout_ms = MAX(timeout_ms, 1u);
	d->timer = g_timeout_add(d->timeout_ms, op_deadline_cb, d);
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_socket_client_set_timeout(client, CONNECT_TIMEOUT_S);
	g_socket_client_connect_to_host_async(client, d->host, d->port, d->cancel, op_connected_cb,
	                                      task);
}

void usbip_conn_list_full_async(const char *server, guint timeout_ms, GCancellable *cancellable,
                                GAsyncReadyCallback cb, gpointer user)
{
	op_start(OP_LIST, server, NULL, timeout_ms, cancellable, cb, user, usbip_conn_list_async);
}

void usbip_conn_list_async(const char *server, GCancellable *cancellable, GAsyncReadyCallback cb,
                           gpointer user)
{
	usbip_conn_list_full_async(server, USBIP_CONN_OP_TIMEOUT_MS, cancellable, cb, user);
}

GPtrArray *usbip_conn_list_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

void usbip_conn_import_full_async(const char *server, const char *busid, guint timeout_ms,
                                  GCancellable *cancellable, GAsyncReadyCallback cb, gpointer user)
{
	op_start(OP_IMPORT, server, busid, timeout_ms, cancellable, cb, user,
	         usbip_conn_import_async);
}

void usbip_conn_import_async(const char *server, const char *busid, GCancellable *cancellable,
                             GAsyncReadyCallback cb, gpointer user)
{
	usbip_conn_import_full_async(server, busid, USBIP_CONN_OP_TIMEOUT_MS, cancellable, cb,
	                             user);
}

UsbipConn *usbip_conn_import_finish(GAsyncResult *res, struct usbip_device *dev, GError **error)
{
	OpData *d = g_task_get_task_data(G_TASK(res));
	UsbipConn *c = g_task_propagate_pointer(G_TASK(res), error);
	if (c && dev)
		*dev = d->dev;
	return c;
}

/* ---- URB mode ---- */

typedef struct {
	guint32 seqnum;
	guint32 unlink_target; /* != 0: this entry is a CMD_UNLINK */
	gboolean unlinked;     /* a CMD_UNLINK for this URB was sent */
	enum usbip_dir dir;
	gsize len; /* requested IN length / OUT length */
	UsbipUrbFunc cb;
	gpointer user;
} Urb;

struct _UsbipConn {
	gint ref;
	GSocketConnection *sc;
	GSocket *sock;
	char *peer;
	guint32 devid;
	guint32 next_seq;
	GHashTable *pending; /* seqnum -> Urb* (owned) */
	GByteArray *out;
	gsize out_off;
	guint corked; /* replies are being dispatched: sends wait for the batch */
	GSource *out_src;
	GSource *in_src;
	guint8 *in;
	gsize in_len, in_cap;
	gboolean closed;
	guint fail_idle; /* a send failed: conn_fail() runs from this idle */
	GError *send_error;
	GHashTable *tombs; /* seqnum -> Urb*: answered by RET_UNLINK, RET_SUBMIT may follow */
	GError *error;     /* why it closed */
	guint stall_ms;    /* a partial frame may wait this long for a byte */
	guint stall_timer;
	gint64 last_rx_us; /* monotonic time of the last bytes received */
	UsbipConnClosedFunc closed_fn;
	gpointer closed_user;
};

UsbipConn *usbip_conn_ref(UsbipConn *c)
{
	g_atomic_int_inc(&c->ref);
	return c;
}

static void conn_detach_sources(UsbipConn *c)
{
	if (c->stall_timer) {
		g_source_remove(c->stall_timer);
		c->stall_timer = 0;
	}
	if (c->in_src) {
		g_source_destroy(c->in_src);
		g_clear_pointer(&c->in_src, g_source_unref);
	}
	if (c->out_src) {
		g_source_destroy(c->out_src);
		g_clear_pointer(&c->out_src, g_source_unref);
	}
}

void usbip_conn_unref(UsbipConn *c)
{
	if (!c || !g_atomic_int_dec_and_test(&c->ref))
		return;
	conn_detach_sources(c);
	if (c->sc)
		g_io_stream_close(G_IO_STREAM(c->sc), NULL, NULL);
	g_clear_object(&c->sc);
	g_hash_table_destroy(c->pending);
	g_hash_table_destroy(c->tombs);
	g_clear_error(&c->send_error);
	g_byte_array_unref(c->out);
	g_free(c->in);
	g_free(c->peer);
	g_clear_error(&c->error);
	g_free(c);
}

const GError *usbip_conn_get_error(UsbipConn *c)
{
	return c->error;
}

void usbip_conn_set_closed_func(UsbipConn *c, UsbipConnClosedFunc fn, gpointer user)
{
	c->closed_fn = fn;
	c->closed_user = user;
}

guint usbip_conn_pending(UsbipConn *c)
{
	return g_hash_table_size(c->pending);
}

gboolean usbip_conn_is_closed(UsbipConn *c)
{
	return c->closed;
}

/* Fail in submission order, so a consumer sees its writes fail in order. */
static gint urb_cmp(gconstpointer a, gconstpointer b)
{
	const Urb *x = a, *y = b;
	return (gint32)(x->seqnum - y->seqnum);
}

/* Fail everything, tell the owner once, release the socket.  Callbacks may
 * drop references, so hold one for the duration. */
static void conn_fail(UsbipConn *c, GError *error)
{
	if (c->closed) {
		g_error_free(error);
		return;
	}
	usbip_conn_ref(c);
	c->closed = TRUE;
	c->error = error;
	g_clear_error(&c->send_error);
	/* A peer that broke the protocol is worth a line in any log. */
	if (error->domain == UC_ERROR && error->code == UC_ERROR_PROTOCOL)
		g_warning("%s", error->message);
	conn_detach_sources(c);
	g_io_stream_close(G_IO_STREAM(c->sc), NULL, NULL);

	/* Steal the table first so callbacks that submit or unlink see an
	 * empty, closed connection. */
	GHashTable *pending = c->pending;
	c->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	GList *urbs = g_hash_table_get_values(pending);
	urbs = g_list_sort(urbs, urb_cmp);
	for (GList *l = urbs; l; l = l->next) {
		Urb *u = l->data;
		if (u->unlink_target || !u->cb)
			continue;
		UsbipUrbResult r = {.seqnum = u->seqnum, .status = -ESHUTDOWN};
		u->cb(c, &r, u->user);
	}
	g_list_free(urbs);
	g_hash_table_destroy(pending);

	if (c->closed_fn)
		c->closed_fn(c, error, c->closed_user);
	usbip_conn_unref(c);
}

void usbip_conn_close(UsbipConn *c)
{
	conn_fail(c,
	          g_error_new(UC_ERROR, UC_ERROR_DISCONNECTED, "connection to %s closed", c->peer));
}

static gboolean conn_out_ready(GSocket *s, GIOCondition cond, gpointer user);

static gboolean conn_fail_idle(gpointer user)
{
	UsbipConn *c = user;
	c->fail_idle = 0;
	/* An EOF may have closed the connection (and dropped the error) first. */
	GError *e = g_steal_pointer(&c->send_error);
	if (e)
		conn_fail(c, e);
	usbip_conn_unref(c);
	return G_SOURCE_REMOVE;
}

static void conn_flush(UsbipConn *c)
{
	if (c->closed || c->send_error || c->corked)
		return; /* the link is down or going down / replies are being dispatched */
	int fd = g_socket_get_fd(c->sock);
	while (c->out_off < c->out->len) {
		/* send(2) itself: g_socket_send reads the clock for its timeout
		 * on every call, and the socket has none */
		ssize_t n = send(fd, c->out->data + c->out_off, c->out->len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			if (e == EAGAIN || e == EWOULDBLOCK) {
				if (!c->out_src) {
					c->out_src =
					    g_socket_create_source(c->sock, G_IO_OUT, NULL);
					g_source_set_callback(
					    c->out_src, (GSourceFunc)(void (*)(void))conn_out_ready,
					    c, NULL);
					g_source_attach(c->out_src, NULL);
				}
				return;
			}
			/* Never fail from inside submit/unlink: their callers are in
			 * the middle of their own bookkeeping. */
			c->send_error = g_error_new(UC_ERROR, UC_ERROR_DISCONNECTED,
			                            "sending to %s: %s", c->peer, g_strerror(e));
			c->fail_idle = g_idle_add(conn_fail_idle, usbip_conn_ref(c));
			return;
		}
		c->out_off += (gsize)n;
		/* Under sustained load the buffer may never drain completely:
		 * drop what was sent so it cannot grow without bound. */
		if (c->out_off >= 65536 && c->out_off * 2 >= c->out->len) {
			g_byte_array_remove_range(c->out, 0, (guint)c->out_off);
			c->out_off = 0;
		}
	}
	g_byte_array_set_size(c->out, 0);
	c->out_off = 0;
	if (c->out_src) {
		g_source_destroy(c->out_src);
		g_clear_pointer(&c->out_src, g_source_unref);
	}
}

static gboolean conn_out_ready(GSocket *s, GIOCondition cond, gpointer user)
{
	UsbipConn *c = user;
	usbip_conn_ref(c);
	conn_flush(c);
	usbip_conn_unref(c);
	return G_SOURCE_CONTINUE;
}

static guint32 conn_next_seq(UsbipConn *c)
{
	/* seqnum 0 is never used; skip values still outstanding after wrap. */
	do {
		c->next_seq++;
		if (c->next_seq == 0)
			c->next_seq = 1;
	} while (g_hash_table_contains(c->pending, GUINT_TO_POINTER(c->next_seq)) ||
	         g_hash_table_contains(c->tombs, GUINT_TO_POINTER(c->next_seq)));
	return c->next_seq;
}

static void conn_queue(UsbipConn *c, const struct usbip_urb_hdr *h, const guint8 *data, gsize len)
{
	guint8 hdr[USBIP_URB_HDR_SIZE];
	gssize n = usbip_proto_urb_hdr_encode(h, hdr, sizeof(hdr));
	g_assert(n == USBIP_URB_HDR_SIZE);
	g_byte_array_append(c->out, hdr, sizeof(hdr));
	if (len)
		g_byte_array_append(c->out, data, (guint)len);
}

/* A new pending URB, its seqnum allocated. */
static Urb *conn_urb_new(UsbipConn *c, enum usbip_dir dir, gsize len, UsbipUrbFunc cb,
                         gpointer user)
{
	Urb *u = g_new0(Urb, 1);
	u->seqnum = conn_next_seq(c);
	u->dir = dir;
	u->len = len;
	u->cb = cb;
	u->user = user;
	g_hash_table_insert(c->pending, GUINT_TO_POINTER(u->seqnum), u);
	return u;
}

static void submit_hdr(UsbipConn *c, struct usbip_urb_hdr *h, const Urb *u, guint8 ep,
                       gint interval)
{
	h->command = USBIP_CMD_SUBMIT;
	h->seqnum = u->seqnum;
	h->devid = c->devid;
	h->direction = u->dir;
	h->ep = ep;
	h->u.submit.transfer_flags = u->dir == USBIP_DIR_IN ? USBIP_URB_DIR_IN : 0;
	h->u.submit.transfer_buffer_length = (int32_t)u->len;
	h->u.submit.number_of_packets = 0;
	h->u.submit.interval = interval;
}

guint32 usbip_conn_submit(UsbipConn *c, guint8 ep_addr, const guint8 *setup, const guint8 *data,
                          gsize len, gint interval, UsbipUrbFunc cb, gpointer user)
{
	struct usbip_urb_hdr h = {0};
	enum usbip_dir dir = (ep_addr & 0x80) ? USBIP_DIR_IN : USBIP_DIR_OUT;
	guint8 ep = ep_addr & 0x0f;

	if (c->closed || len > USBIP_CONN_MAX_URB || (ep_addr & 0x70))
		return 0;
	if (ep == 0) {
		if (!setup)
			return 0;
		/* The control direction comes from bmRequestType, and the buffer
		 * must be exactly wLength (a Linux server resets otherwise). */
		guint16 wlength = (guint16)(setup[6] | setup[7] << 8);
		if (wlength != len)
			return 0;
		dir = (setup[0] & 0x80) && wlength ? USBIP_DIR_IN : USBIP_DIR_OUT;
		memcpy(h.u.submit.setup, setup, 8);
	}
	Urb *u = conn_urb_new(c, dir, len, cb, user);
	submit_hdr(c, &h, u, ep, interval);
	conn_queue(c, &h, dir == USBIP_DIR_OUT ? data : NULL, dir == USBIP_DIR_OUT ? len : 0);
	guint32 seq = u->seqnum;
	conn_flush(c);
	return c->closed ? 0 : seq;
}

guint32 usbip_conn_submit_fill(UsbipConn *c, guint8 ep_addr, gsize max, UsbipFillFunc fill,
                               gpointer fill_user, gsize *len, UsbipUrbFunc cb, gpointer user)
{
	*len = 0;
	if (c->closed || (ep_addr & 0x80) || (ep_addr & 0x7f) == 0 || (ep_addr & 0x70) ||
	    max > USBIP_CONN_MAX_URB)
		return 0;
	/* the payload goes straight behind its header in the send buffer */
	guint hdr_at = c->out->len;
	g_byte_array_set_size(c->out, hdr_at + USBIP_URB_HDR_SIZE + (guint)max);
	gsize n = fill(c->out->data + hdr_at + USBIP_URB_HDR_SIZE, max, fill_user);
	if (n == 0 || n > max) {
		g_byte_array_set_size(c->out, hdr_at);
		return 0;
	}
	g_byte_array_set_size(c->out, hdr_at + USBIP_URB_HDR_SIZE + (guint)n);
	struct usbip_urb_hdr h = {0};
	Urb *u = conn_urb_new(c, USBIP_DIR_OUT, n, cb, user);
	submit_hdr(c, &h, u, ep_addr, 0);
	gssize hn = usbip_proto_urb_hdr_encode(&h, c->out->data + hdr_at, USBIP_URB_HDR_SIZE);
	g_assert(hn == USBIP_URB_HDR_SIZE);
	guint32 seq = u->seqnum;
	*len = n;
	conn_flush(c);
	return c->closed ? 0 : seq;
}

gboolean usbip_conn_unlink(UsbipConn *c, guint32 seqnum)
{
	Urb *target = g_hash_table_lookup(c->pending, GUINT_TO_POINTER(seqnum));
	if (c->closed || !target || target->unlink_target || target->unlinked)
		return FALSE;
	target->unlinked = TRUE;
	Urb *u = g_new0(Urb, 1);
	u->seqnum = conn_next_seq(c);
	u->unlink_target = seqnum;
	g_hash_table_insert(c->pending, GUINT_TO_POINTER(u->seqnum), u);

	struct usbip_urb_hdr h = {0};
	h.command = USBIP_CMD_UNLINK;
	h.seqnum = u->seqnum;
	h.devid = c->devid;
	h.direction = target->dir;
	h.u.unlink.seqnum = seqnum;
	conn_queue(c, &h, NULL, 0);
	conn_flush(c);
	return !c->closed;
}

void usbip_conn_forget(UsbipConn *c, gpointer user)
{
	GHashTableIter it;
	gpointer v;
	g_autoptr(GArray) seqs = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_hash_table_iter_init(&it, c->pending);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		Urb *u = v;
		if (u->cb && u->user == user) {
			u->cb = NULL;
			g_array_append_val(seqs, u->seqnum);
		}
	}
	for (guint i = 0; i < seqs->len; i++)
		usbip_conn_unlink(c, g_array_index(seqs, guint32, i));
}

static Urb *conn_find(UsbipConn *c, guint32 seqnum, guint32 command, gboolean *tomb)
{
	Urb *u = g_hash_table_lookup(c->pending, GUINT_TO_POINTER(seqnum));
	*tomb = FALSE;
	if (!u && command == USBIP_RET_SUBMIT) {
		u = g_hash_table_lookup(c->tombs, GUINT_TO_POINTER(seqnum));
		*tomb = u != NULL;
	}
	if (!u || (command == USBIP_RET_UNLINK) != (u->unlink_target != 0))
		return NULL;
	return u;
}

static int conn_lookup(guint32 seqnum, guint32 command, enum usbip_dir *dir, size_t *req_len,
                       void *user)
{
	gboolean tomb;
	Urb *u = conn_find(user, seqnum, command, &tomb);
	if (!u)
		return -ENOENT;
	*dir = u->dir;
	*req_len = u->len;
	return 0;
}

/* The staged frame could not be trusted: say why and drop the link. */
static void conn_fail_frame(UsbipConn *c, ssize_t rc, const struct usbip_urb_hdr *h)
{
	const char *peer = c->peer;
	GError *e;
	if (rc == -ENOENT)
		e = g_error_new(
		    UC_ERROR, UC_ERROR_PROTOCOL,
		    "%s answered unknown seqnum %u (command %u); dropping the connection", peer,
		    h->seqnum, h->command);
	else if (rc == -EOVERFLOW) {
		gboolean tomb;
		Urb *u = conn_find(c, h->seqnum, h->command, &tomb);
		e = g_error_new(UC_ERROR, UC_ERROR_PROTOCOL,
		                "%s answered seqnum %u with %d bytes (%d packets) when %zu were "
		                "asked for; dropping the connection",
		                peer, h->seqnum, h->u.ret_submit.actual_length,
		                h->u.ret_submit.number_of_packets, u ? u->len : 0);
	} else
		e = g_error_new(
		    UC_ERROR, UC_ERROR_PROTOCOL,
		    "%s sent an invalid URB header (command %u); dropping the connection", peer,
		    h->command);
	conn_fail(c, e);
}

/* Handle one message at buf; returns bytes consumed, 0 when more input is
 * needed (*need says how much in all), -1 when the connection was failed. */
static gssize conn_dispatch(UsbipConn *c, const guint8 *buf, gsize len, gsize *need_out)
{
	struct usbip_urb_hdr h;
	gssize rc = usbip_proto_stage_reply(buf, len, conn_lookup, c, &h, need_out);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		conn_fail_frame(c, rc, &h);
		return -1;
	}
	gboolean tomb;
	Urb *u = conn_find(c, h.seqnum, h.command, &tomb);
	if (h.command == USBIP_RET_UNLINK) {
		guint32 target = u->unlink_target;
		g_hash_table_remove(c->pending, GUINT_TO_POINTER(h.seqnum));
		Urb *t = g_hash_table_lookup(c->pending, GUINT_TO_POINTER(target));
		if (t) {
			/* Linux answers an unlink of a URB still in flight with
			 * RET_UNLINK alone, even when the URB finished first
			 * (status 0, its IN data dropped). Complete the target
			 * now; keep a tombstone so a server that sends the
			 * RET_SUBMIT after all does not desynchronise us. */
			g_hash_table_steal(c->pending, GUINT_TO_POINTER(target));
			gboolean done = h.u.ret_unlink.status == 0;
			UsbipUrbResult r = {
			    .seqnum = target,
			    .status = done ? 0 : -ECONNRESET,
			    .actual_length = done && t->dir == USBIP_DIR_OUT ? t->len : 0,
			};
			UsbipUrbFunc cb = t->cb;
			t->cb = NULL;
			if (g_hash_table_size(c->tombs) >= 256)
				g_hash_table_remove_all(c->tombs);
			g_hash_table_insert(c->tombs, GUINT_TO_POINTER(target), t);
			if (cb)
				cb(c, &r, t->user);
		}
		return rc;
	}
	if (tomb) {
		/* already completed by its RET_UNLINK: consume and forget */
		g_hash_table_remove(c->tombs, GUINT_TO_POINTER(h.seqnum));
		return rc;
	}
	gsize payload = (gsize)rc - USBIP_URB_HDR_SIZE;
	g_hash_table_steal(c->pending, GUINT_TO_POINTER(h.seqnum));
	UsbipUrbResult r = {
	    .seqnum = h.seqnum,
	    /* The one place a server's status enters: from here on it is 0 or
	     * a known -errno (+1, -600, INT32_MIN... become -EIO). */
	    .status = usbip_proto_urb_status_errno(h.u.ret_submit.status),
	    .data = u->dir == USBIP_DIR_IN ? buf + USBIP_URB_HDR_SIZE : NULL,
	    .actual_length = u->dir == USBIP_DIR_IN
	                         ? payload
	                         : (h.u.ret_submit.actual_length > 0
	                                ? MIN((gsize)h.u.ret_submit.actual_length, u->len)
	                                : 0),
	};
	if (u->cb)
		u->cb(c, &r, u->user);
	g_free(u);
	return rc;
}

/* A frame has started but not ended: it must make progress.  A link with
 * no frame started is simply idle (bulk reads may pend for hours). */
static gboolean conn_stall_cb(gpointer user)
{
	UsbipConn *c = user;
	c->stall_timer = 0;
	if (c->closed || c->in_len == 0)
		return G_SOURCE_REMOVE;
	gint64 quiet_ms = (g_get_monotonic_time() - c->last_rx_us) / 1000;
	if (quiet_ms < c->stall_ms) {
		c->stall_timer = g_timeout_add(c->stall_ms - (guint)quiet_ms, conn_stall_cb, c);
		return G_SOURCE_REMOVE;
	}
	usbip_conn_ref(c);
	conn_fail(c, g_error_new(UC_ERROR, UC_ERROR_TIMEOUT,
	                         "%s stopped in the middle of a reply (%zu bytes of it, nothing "
	                         "more for %u ms); dropping the connection",
	                         c->peer, c->in_len, c->stall_ms));
	usbip_conn_unref(c);
	return G_SOURCE_REMOVE;
}

static void conn_watch_stall(UsbipConn *c)
{
	if (c->in_len == 0) {
		if (c->stall_timer) {
			g_source_remove(c->stall_timer);
			c->stall_timer = 0;
		}
	} else if (!c->stall_timer) {
		c->stall_timer = g_timeout_add(c->stall_ms, conn_stall_cb, c);
	}
}

void usbip_conn_set_stall_timeout(UsbipConn *c, guint ms)
{
	c->stall_ms = MAX(ms, 1u);
	if (c->stall_timer) {
		g_source_remove(c->stall_timer);
		c->stall_timer = 0;
	}
	if (!c->closed)
		conn_watch_stall(c);
}

static gboolean conn_in_ready(GSocket *s, GIOCondition cond, gpointer user)
{
	UsbipConn *c = user;

	if (c->in_cap - c->in_len < 16384) {
		c->in_cap = MAX(c->in_cap * 2, c->in_len + 65536);
		c->in = g_realloc(c->in, c->in_cap);
	}
	/* recv(2) itself, as conn_flush sends */
	ssize_t n;
	do
		n = recv(g_socket_get_fd(c->sock), c->in + c->in_len, c->in_cap - c->in_len,
		         MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	int e = errno;
	if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK))
		return G_SOURCE_CONTINUE;
	usbip_conn_ref(c);
	if (n <= 0) {
		if (n == 0)
			conn_fail(c, g_error_new(UC_ERROR, UC_ERROR_DISCONNECTED,
			                         "%s closed the connection", c->peer));
		else
			conn_fail(c,
			          g_error_new(UC_ERROR, UC_ERROR_DISCONNECTED,
			                      "connection to %s lost: %s", c->peer, g_strerror(e)));
		usbip_conn_unref(c);
		return G_SOURCE_REMOVE;
	}
	c->in_len += (gsize)n;
	c->last_rx_us = uc_now_us();
	gsize off = 0, need = 0;
	/* What the callbacks submit goes out in one send after the replies
	 * (a read resubmitted per completion would be a syscall each). */
	c->corked++;
	while (!c->closed) {
		gssize used = conn_dispatch(c, c->in + off, c->in_len - off, &need);
		if (used <= 0)
			break;
		off += (gsize)used;
	}
	c->corked--;
	conn_flush(c);
	if (!c->closed) {
		/* Keep the partial message at the start; grow for a large reply. */
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		if (need > c->in_cap) {
			c->in_cap = need;
			c->in = g_realloc(c->in, c->in_cap);
		}
		conn_watch_stall(c);
	}
	gboolean keep = !c->closed;
	usbip_conn_unref(c);
	return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static UsbipConn *conn_new(GSocketConnection *sc, const char *peer, uint32_t devid)
{
	UsbipConn *c = g_new0(UsbipConn, 1);
	c->ref = 1;
	c->sc = g_object_ref(sc);
	c->sock = g_socket_connection_get_socket(sc);
	c->peer = g_strdup(peer);
	c->devid = devid;
	c->stall_ms = USBIP_CONN_STALL_MS;
	c->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	c->tombs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	c->out = g_byte_array_new();
	c->in_cap = 65536 + USBIP_URB_HDR_SIZE;
	c->in = g_malloc(c->in_cap);
	/* From here on the socket is driven by sources, never blocking; a
	 * socket timeout would make the sources fire spuriously. */
	g_socket_set_timeout(c->sock, 0);
	g_socket_set_blocking(c->sock, FALSE);
	c->in_src = g_socket_create_source(c->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(c->in_src, (GSourceFunc)(void (*)(void))conn_in_ready, c, NULL);
	uc_source_no_block(c->in_src);
	g_source_attach(c->in_src, NULL);
	return c;
}
