/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the mock USBIP server, run in-process: a raw USBIP
 * client built on usbip_proto talks to it over 127.0.0.1.  The client socket
 * is non-blocking and every wait iterates the (single) main context, so the
 * server runs while the test waits.  Expected values come from the fixtures
 * themselves (parsed with lsusb_parse), never from copies in this file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "cdc_acm.h"
#include "lsusb_parse.h"
#include "mock_control.h"
#include "mock_server.h"
#include "usb_desc.h"
#include "usbip_proto.h"

#define TIMEOUT_MS 5000
#define SILENCE_MS 200 /* how long "no reply" is awaited */

static const char *fixtures;
static MockServer *srv;
/* every client socket, so a failed test (cmocka longjmps past the
 * g_autoptr cleanups) cannot leave connections behind for the next one */
static GPtrArray *open_socks;

/* ---- waiting on the main context ----------------------------------------- */

static gboolean set_flag(gpointer data)
{
	*(gboolean *)data = TRUE;
	return G_SOURCE_REMOVE;
}

static gboolean sock_ready(GSocket *s, GIOCondition c, gpointer data)
{
	return set_flag(data);
}

/* Run the context until the socket has cond or timeout_ms pass. */
static gboolean wait_sock(GSocket *s, GIOCondition cond, guint timeout_ms)
{
	gboolean ready = FALSE, timed_out = FALSE;
	GSource *src, *timer;

	/* give the server a turn first: it may have queued output already */
	while (g_main_context_iteration(NULL, FALSE))
		;
	if (g_socket_condition_check(s, cond | G_IO_HUP | G_IO_ERR))
		return TRUE;
	src = g_socket_create_source(s, cond | G_IO_HUP | G_IO_ERR, NULL);
	g_source_set_callback(src, G_SOURCE_FUNC(sock_ready), &ready, NULL);
	g_source_attach(src, NULL);
	timer = g_timeout_source_new(timeout_ms);
	g_source_set_callback(timer, set_flag, &timed_out, NULL);
	g_source_attach(timer, NULL);
	while (!ready && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	g_source_destroy(src);
	g_source_unref(src);
	g_source_destroy(timer);
	g_source_unref(timer);
	return ready;
}

static void spin(guint ms)
{
	gboolean done = FALSE;
	GSource *timer = g_timeout_source_new(ms);

	g_source_set_callback(timer, set_flag, &done, NULL);
	g_source_attach(timer, NULL);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	g_source_unref(timer);
}

/* Run the context until the server has no connection left. */
static void wait_no_connections(void)
{
	gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000;

	while (mock_server_get_n_connections(srv) > 0 && g_get_monotonic_time() < end)
		spin(5);
	assert_int_equal(mock_server_get_n_connections(srv), 0);
}

/* ---- raw client ------------------------------------------------------- */

typedef struct {
	struct usbip_urb_hdr h;
	guint8 *data;
	gsize len;
} Reply;

typedef struct {
	enum usbip_dir dir;
	guint32 len;
} Sent;

typedef struct {
	GSocket *sock;
	guint32 devid;
	guint32 seq;
	GHashTable *sent; /* seqnum -> Sent* */
	GQueue replies;   /* Reply* received but not yet asked for */
} Client;

static void reply_free(Reply *r)
{
	if (r) {
		g_free(r->data);
		g_free(r);
	}
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Reply, reply_free)

static GSocket *tcp_connect(void)
{
	g_autoptr(GInetAddress) ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, mock_server_get_port(srv));
	g_autoptr(GError) err = NULL;
	GSocket *s =
	    g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);

	assert_non_null(s);
	/* the listen backlog accepts this without the server running */
	assert_true(g_socket_connect(s, sa, NULL, &err));
	g_socket_set_blocking(s, FALSE);
	g_ptr_array_add(open_socks, g_object_ref(s));
	return s;
}

static void send_all(GSocket *s, const void *buf, gsize len)
{
	const guint8 *p = buf;

	while (len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_send(s, (const char *)p, len, NULL, &err);
		if (n < 0) {
			assert_true(g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK));
			assert_true(wait_sock(s, G_IO_OUT, TIMEOUT_MS));
			continue;
		}
		p += n;
		len -= (gsize)n;
	}
}

/* 1: got len bytes; 0: EOF or error first; -1: timeout. */
static int recv_exact(GSocket *s, void *buf, gsize len, guint timeout_ms)
{
	guint8 *p = buf;

	while (len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_receive(s, (char *)p, len, NULL, &err);
		if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			if (!wait_sock(s, G_IO_IN, timeout_ms))
				return -1;
			continue;
		}
		if (n <= 0)
			return 0;
		p += n;
		len -= (gsize)n;
	}
	return 1;
}

/* TRUE when the peer closes (EOF) within the timeout with no data first. */
static gboolean closed_without_data(GSocket *s)
{
	guint8 b;

	return recv_exact(s, &b, 1, TIMEOUT_MS) == 0;
}

static void client_free(Client *c)
{
	if (!c)
		return;
	g_socket_close(c->sock, NULL);
	g_object_unref(c->sock);
	g_hash_table_unref(c->sent);
	g_queue_clear_full(&c->replies, (GDestroyNotify)reply_free);
	g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Client, client_free)

/* OP_REQ_IMPORT on a new connection; returns the status, and the client on OK. */
static guint32 import(const char *busid, Client **out, struct usbip_device *rec)
{
	GSocket *s = tcp_connect();
	guint8 buf[USBIP_OP_HDR_SIZE + USBIP_DEVICE_SIZE];
	struct usbip_op_hdr oh;
	struct usbip_device d;

	*out = NULL;
	assert_int_equal(usbip_proto_import_req_encode(busid, buf, sizeof(buf)),
	                 USBIP_IMPORT_REQ_SIZE);
	send_all(s, buf, USBIP_IMPORT_REQ_SIZE);
	assert_int_equal(recv_exact(s, buf, USBIP_OP_HDR_SIZE, TIMEOUT_MS), 1);
	assert_int_equal(usbip_proto_op_hdr_decode(&oh, buf, USBIP_OP_HDR_SIZE), USBIP_OP_HDR_SIZE);
	assert_int_equal(oh.code, USBIP_OP_REP_IMPORT);
	if (oh.status != USBIP_ST_OK) {
		/* failure: the header alone, then close */
		assert_true(closed_without_data(s));
		g_object_unref(s);
		return oh.status;
	}
	assert_int_equal(recv_exact(s, buf, USBIP_DEVICE_SIZE, TIMEOUT_MS), 1);
	assert_int_equal(usbip_proto_device_decode(&d, buf, USBIP_DEVICE_SIZE), USBIP_DEVICE_SIZE);
	assert_string_equal(d.busid, busid);
	if (rec)
		*rec = d;
	Client *c = g_new0(Client, 1);
	c->sock = s;
	c->devid = usbip_proto_devid(&d);
	c->sent = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	g_queue_init(&c->replies);
	*out = c;
	return USBIP_ST_OK;
}

static Client *import_ok(const char *busid)
{
	Client *c = NULL;

	assert_int_equal(import(busid, &c, NULL), USBIP_ST_OK);
	return c;
}

static guint32 submit_full(Client *c, guint32 devid, enum usbip_dir dir, guint8 ep, guint32 len,
                           const struct usb_setup *setup, const void *out, gint32 interval)
{
	struct usbip_urb_hdr h = {0};
	guint8 hdr[USBIP_URB_HDR_SIZE];
	Sent *s = g_new0(Sent, 1);

	h.command = USBIP_CMD_SUBMIT;
	h.seqnum = ++c->seq;
	h.devid = devid;
	h.direction = dir;
	h.ep = ep;
	h.u.submit.transfer_flags = dir == USBIP_DIR_IN ? USBIP_URB_DIR_IN : 0;
	h.u.submit.transfer_buffer_length = (gint32)len;
	h.u.submit.interval = interval;
	if (setup)
		usb_desc_setup_encode(setup, h.u.submit.setup);
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, hdr, sizeof(hdr)), USBIP_URB_HDR_SIZE);
	send_all(c->sock, hdr, sizeof(hdr));
	if (dir == USBIP_DIR_OUT && len)
		send_all(c->sock, out, len);
	s->dir = dir;
	s->len = len;
	g_hash_table_insert(c->sent, GUINT_TO_POINTER(h.seqnum), s);
	return h.seqnum;
}

static guint32 submit(Client *c, enum usbip_dir dir, guint8 ep, guint32 len, const void *out)
{
	return submit_full(c, c->devid, dir, ep, len, NULL, out, 0);
}

static guint32 unlink_urb(Client *c, guint32 target)
{
	struct usbip_urb_hdr h = {0};
	guint8 hdr[USBIP_URB_HDR_SIZE];

	h.command = USBIP_CMD_UNLINK;
	h.seqnum = ++c->seq;
	h.devid = c->devid;
	h.u.unlink.seqnum = target;
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, hdr, sizeof(hdr)), USBIP_URB_HDR_SIZE);
	send_all(c->sock, hdr, sizeof(hdr));
	return h.seqnum;
}

/* Read one reply from the wire (NULL on timeout). */
static Reply *read_reply(Client *c, guint timeout_ms)
{
	guint8 hdr[USBIP_URB_HDR_SIZE];
	g_autoptr(Reply) r = g_new0(Reply, 1);
	int rc = recv_exact(c->sock, hdr, sizeof(hdr), timeout_ms);

	if (rc < 0)
		return NULL;
	assert_int_equal(rc, 1);
	assert_int_equal(usbip_proto_urb_hdr_decode(&r->h, hdr, sizeof(hdr)), USBIP_URB_HDR_SIZE);
	/* Linux sends 0 in devid, direction and ep of every reply */
	assert_int_equal(r->h.devid, 0);
	assert_int_equal(r->h.direction, 0);
	assert_int_equal(r->h.ep, 0);
	if (r->h.command == USBIP_RET_SUBMIT) {
		Sent *s = g_hash_table_lookup(c->sent, GUINT_TO_POINTER(r->h.seqnum));
		gssize n;
		assert_non_null(s);
		assert_int_equal(r->h.u.ret_submit.number_of_packets, 0);
		n = usbip_proto_ret_submit_payload(&r->h, s->dir, s->len);
		assert_true(n >= 0);
		r->len = (gsize)n;
		r->data = g_malloc(MAX(r->len, 1));
		if (r->len)
			assert_int_equal(recv_exact(c->sock, r->data, r->len, TIMEOUT_MS), 1);
		g_hash_table_remove(c->sent, GUINT_TO_POINTER(r->h.seqnum));
	} else {
		assert_int_equal(r->h.command, USBIP_RET_UNLINK);
	}
	return g_steal_pointer(&r);
}

/* The reply with this seqnum (others are kept for later); NULL on timeout. */
static Reply *wait_reply(Client *c, guint32 seqnum, guint timeout_ms)
{
	for (GList *l = c->replies.head; l; l = l->next) {
		Reply *r = l->data;
		if (r->h.seqnum == seqnum) {
			g_queue_delete_link(&c->replies, l);
			return r;
		}
	}
	for (;;) {
		Reply *r = read_reply(c, timeout_ms);
		if (!r || r->h.seqnum == seqnum)
			return r;
		g_queue_push_tail(&c->replies, r);
	}
}

static Reply *expect_reply(Client *c, guint32 seqnum)
{
	Reply *r = wait_reply(c, seqnum, TIMEOUT_MS);

	assert_non_null(r);
	return r;
}

/* Synchronous control transfer; returns the status, IN data in *in. */
static gint32 control(Client *c, const struct usb_setup *s, const void *out, guint8 *in,
                      gsize *in_len)
{
	gboolean dir_in = (s->bmRequestType & USB_DIR_IN) && s->wLength;
	guint32 seq = submit_full(c, c->devid, dir_in ? USBIP_DIR_IN : USBIP_DIR_OUT, 0, s->wLength,
	                          s, out, 0);
	g_autoptr(Reply) r = expect_reply(c, seq);
	gint32 status = r->h.u.ret_submit.status;

	assert_int_equal(r->h.command, USBIP_RET_SUBMIT);
	if (in) {
		memcpy(in, r->data, r->len);
		*in_len = r->len;
	}
	if (!dir_in && status == 0)
		assert_int_equal(r->h.u.ret_submit.actual_length, s->wLength);
	return status;
}

static void setup(struct usb_setup *s, guint8 type, guint8 req, guint16 value, guint16 index,
                  guint16 length)
{
	s->bmRequestType = type;
	s->bRequest = req;
	s->wValue = value;
	s->wIndex = index;
	s->wLength = length;
}

/* ---- fixtures --------------------------------------------------------- */

static struct lsusb_device *load_fixture(const char *busid)
{
	g_autofree char *path = g_strdup_printf("%s/%s.lsusb", fixtures, busid);
	g_autofree char *text = NULL;
	gsize len;
	struct lsusb_device *d = g_new0(struct lsusb_device, 1);

	assert_true(g_file_get_contents(path, &text, &len, NULL));
	assert_int_equal(lsusb_parse(text, len, d, NULL), 0);
	return d;
}

/* What a client learns by enumerating: the ACM functions of config 0. */
typedef struct {
	struct usb_config_desc cfg;
	guint8 raw[LSUSB_MAX_CONFIG_LEN];
	guint n_acm;
	struct cdc_acm_function acm[8];
} Enum;

static Enum *enumerate(Client *c)
{
	Enum *e = g_new0(Enum, 1);
	struct usb_setup s;
	guint8 head[9];
	gsize n = 0;
	int found;

	usb_desc_setup_get_descriptor(&s, USB_DT_CONFIG, 0, 0, 9);
	assert_int_equal(control(c, &s, NULL, head, &n), 0);
	assert_int_equal(n, 9);
	usb_desc_setup_get_descriptor(&s, USB_DT_CONFIG, 0, 0, head[2] | head[3] << 8);
	assert_int_equal(control(c, &s, NULL, e->raw, &n), 0);
	assert_int_equal(usb_desc_parse_config(&e->cfg, e->raw, n), (gssize)n);
	found = cdc_acm_find(&e->cfg, e->acm, G_N_ELEMENTS(e->acm));
	assert_true(found >= 0);
	e->n_acm = (guint)found;
	usb_desc_setup_set_configuration(&s, e->cfg.bConfigurationValue);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), 0);
	return e;
}

/* ---- tests ------------------------------------------------------------ */

static GPtrArray *fixture_busids(void)
{
	g_autoptr(GDir) d = g_dir_open(fixtures, 0, NULL);
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	assert_non_null(d);
	while ((name = g_dir_read_name(d)))
		if (g_str_has_suffix(name, ".lsusb"))
			g_ptr_array_add(ids, g_strndup(name, strlen(name) - 6));
	assert_true(ids->len > 0);
	return ids;
}

/* OP_REQ_DEVLIST; returns the busids listed (checks every record). */
static GPtrArray *devlist(void)
{
	g_autoptr(GSocket) s = tcp_connect();
	guint8 buf[USBIP_DEVICE_SIZE + USBIP_MAX_INTERFACES * USBIP_INTF_SIZE];
	guint32 status = 99, ndev = 0;
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);

	assert_int_equal(usbip_proto_devlist_req_encode(buf, sizeof(buf)), USBIP_OP_HDR_SIZE);
	send_all(s, buf, USBIP_OP_HDR_SIZE);
	assert_int_equal(recv_exact(s, buf, USBIP_DEVLIST_HEAD_SIZE, TIMEOUT_MS), 1);
	assert_int_equal(usbip_proto_devlist_head_decode(&status, &ndev, buf, sizeof(buf)),
	                 USBIP_DEVLIST_HEAD_SIZE);
	assert_int_equal(status, USBIP_ST_OK);
	for (guint32 i = 0; i < ndev; i++) {
		struct usbip_device d;
		struct usbip_intf intf[USBIP_MAX_INTERFACES];
		g_autofree struct lsusb_device *ls = NULL;
		struct usb_config_desc *cfg = g_new0(struct usb_config_desc, 1);
		struct usb_device_desc dd;

		assert_int_equal(recv_exact(s, buf, USBIP_DEVICE_SIZE, TIMEOUT_MS), 1);
		assert_int_equal(usbip_proto_device_decode(&d, buf, USBIP_DEVICE_SIZE),
		                 USBIP_DEVICE_SIZE);
		assert_true(d.bNumInterfaces <= USBIP_MAX_INTERFACES);
		assert_int_equal(recv_exact(s, buf + USBIP_DEVICE_SIZE,
		                            d.bNumInterfaces * USBIP_INTF_SIZE, TIMEOUT_MS),
		                 1);
		assert_int_equal(usbip_proto_devlist_entry_decode(
		                     &d, intf, USBIP_MAX_INTERFACES, buf,
		                     USBIP_DEVICE_SIZE + d.bNumInterfaces * USBIP_INTF_SIZE),
		                 USBIP_DEVICE_SIZE + d.bNumInterfaces * USBIP_INTF_SIZE);
		/* the record matches the fixture's descriptors */
		ls = load_fixture(d.busid);
		assert_int_equal(usb_desc_parse_device(&dd, ls->device_desc, 18), 18);
		assert_int_equal(d.idVendor, dd.idVendor);
		assert_int_equal(d.idProduct, dd.idProduct);
		assert_int_equal(d.bcdDevice, dd.bcdDevice);
		assert_int_equal(d.bDeviceClass, dd.bDeviceClass);
		assert_int_equal(d.bNumConfigurations, dd.bNumConfigurations);
		assert_int_equal(d.speed, ls->speed);
		assert_true(usb_desc_parse_config(cfg, ls->config[0].bytes, ls->config[0].len) > 0);
		assert_int_equal(d.bConfigurationValue, cfg->bConfigurationValue);
		assert_int_equal(d.bNumInterfaces, cfg->bNumInterfaces);
		for (guint k = 0, n = 0; k < cfg->num_interfaces; k++) {
			if (cfg->intf[k].bAlternateSetting)
				continue;
			assert_int_equal(intf[n].bInterfaceClass, cfg->intf[k].bInterfaceClass);
			assert_int_equal(intf[n].bInterfaceSubClass,
			                 cfg->intf[k].bInterfaceSubClass);
			n++;
		}
		g_free(cfg);
		{
			unsigned b = 0, dv = 0;
			assert_int_equal(sscanf(d.busid, "%u-%u", &b, &dv), 2);
			assert_int_equal(d.busnum, b);
			assert_int_equal(d.devnum, dv);
		}
		g_ptr_array_add(ids, g_strdup(d.busid));
	}
	/* one OP per connection: the server closes after the reply */
	assert_true(closed_without_data(s));
	return ids;
}

static gboolean contains(GPtrArray *a, const char *s)
{
	for (guint i = 0; i < a->len; i++)
		if (!strcmp(g_ptr_array_index(a, i), s))
			return TRUE;
	return FALSE;
}

static void test_devlist(void **state)
{
	g_autoptr(GPtrArray) want = fixture_busids();
	g_autoptr(GPtrArray) got = devlist();

	assert_int_equal(got->len, want->len);
	for (guint i = 0; i < want->len; i++)
		assert_true(contains(got, g_ptr_array_index(want, i)));
	wait_no_connections();
}

static void test_op_errors(void **state)
{
	guint8 buf[USBIP_IMPORT_REQ_SIZE];
	struct usbip_op_hdr oh = {.version = 0x0110, .code = USBIP_OP_REQ_DEVLIST};
	Client *c = NULL;

	/* another protocol version: closed without any reply */
	{
		g_autoptr(GSocket) s = tcp_connect();
		buf[0] = 0x01;
		buf[1] = 0x10;
		buf[2] = 0x80;
		buf[3] = 0x05;
		memset(buf + 4, 0, 4);
		send_all(s, buf, 8);
		assert_true(closed_without_data(s));
	}
	/* a request with a non-zero status, and a reply code as request */
	oh.version = USBIP_VERSION;
	oh.status = 1;
	{
		g_autoptr(GSocket) s = tcp_connect();
		assert_int_equal(usbip_proto_op_hdr_encode(&oh, buf, sizeof(buf)), 8);
		send_all(s, buf, 8);
		assert_true(closed_without_data(s));
	}
	oh.status = 0;
	oh.code = USBIP_OP_REP_DEVLIST;
	{
		g_autoptr(GSocket) s = tcp_connect();
		assert_int_equal(usbip_proto_op_hdr_encode(&oh, buf, sizeof(buf)), 8);
		send_all(s, buf, 8);
		assert_true(closed_without_data(s));
	}
	assert_int_equal(import("7-7", &c, NULL), USBIP_ST_NODEV);
	assert_null(c);
	/* 99-99 is listed but its import always fails */
	assert_int_equal(import("99-99", &c, NULL), USBIP_ST_DEV_ERR);
	assert_null(c);
	wait_no_connections();
}

static void test_import_busy(void **state)
{
	struct usbip_device rec;
	Client *c2 = NULL;
	Client *c = NULL;

	assert_int_equal(import("1-2", &c, &rec), USBIP_ST_OK);
	assert_int_equal(rec.busnum, 1);
	assert_int_equal(rec.devnum, 2);
	assert_int_equal(c->devid, 1u << 16 | 2);
	assert_string_equal(mock_server_get_state(srv, "1-2"), "imported");
	assert_int_equal(import("1-2", &c2, NULL), USBIP_ST_DEV_BUSY);
	/* another device is independent */
	{
		g_autoptr(Client) c3 = import_ok("1-3");
		assert_non_null(c3);
	}
	client_free(c);
	wait_no_connections();
	assert_string_equal(mock_server_get_state(srv, "1-2"), "free");
	c = import_ok("1-2");
	client_free(c);
	wait_no_connections();
}

static void test_descriptors(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree struct lsusb_device *ls = load_fixture("1-1");
	guint8 buf[4096];
	char text[256];
	struct usb_setup s;
	gsize n = 0;

	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE, 0, 0, 18);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, 18);
	assert_memory_equal(buf, ls->device_desc, 18);
	/* any wLength truncates, never stalls */
	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE, 0, 0, 8);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(buf, ls->device_desc, 8);
	usb_desc_setup_get_descriptor(&s, USB_DT_CONFIG, 0, 0, 9);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, 9);
	usb_desc_setup_get_descriptor(&s, USB_DT_CONFIG, 0, 0, 4000);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, ls->config[0].len);
	assert_memory_equal(buf, ls->config[0].bytes, n);
	usb_desc_setup_get_descriptor(&s, USB_DT_CONFIG, 5, 0, 9);
	assert_int_equal(control(c, &s, NULL, buf, &n), -EPIPE);
	assert_int_equal(n, 0);
	/* string 0: LANGID US English */
	usb_desc_setup_get_descriptor(&s, USB_DT_STRING, 0, 0, 255);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(buf[0], 4);
	assert_int_equal(buf[1], USB_DT_STRING);
	assert_int_equal(buf[2] | buf[3] << 8, 0x0409);
	/* every string of the fixture, whole and truncated */
	assert_true(ls->num_strings > 0);
	for (guint i = 0; i < ls->num_strings; i++) {
		usb_desc_setup_get_descriptor(&s, USB_DT_STRING, ls->strings[i].index, 0x0409, 255);
		assert_int_equal(control(c, &s, NULL, buf, &n), 0);
		assert_int_equal(n, buf[0]);
		assert_true(usb_desc_string_to_utf8(buf, n, text, sizeof(text)) >= 0);
		assert_string_equal(text, ls->strings[i].text);
		usb_desc_setup_get_descriptor(&s, USB_DT_STRING, ls->strings[i].index, 0x0409, 2);
		assert_int_equal(control(c, &s, NULL, buf, &n), 0);
		assert_int_equal(n, 2);
	}
	usb_desc_setup_get_descriptor(&s, USB_DT_STRING, 200, 0x0409, 255);
	assert_int_equal(control(c, &s, NULL, buf, &n), -EPIPE);
	/* device qualifier: none */
	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE_QUALIFIER, 0, 0, 10);
	assert_int_equal(control(c, &s, NULL, buf, &n), -EPIPE);
}

static void test_standard_requests(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	struct usb_setup s;
	guint8 buf[8];
	gsize n;

	/* the fixture's value is not 1: an invalid value stalls */
	usb_desc_setup_set_configuration(&s, (guint8)(e->cfg.bConfigurationValue + 1));
	assert_int_equal(control(c, &s, NULL, NULL, NULL), -EPIPE);
	usb_desc_setup_set_configuration(&s, e->cfg.bConfigurationValue);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), 0);
	setup(&s, 0x80, USB_REQ_GET_CONFIGURATION, 0, 0, 1);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], e->cfg.bConfigurationValue);
	/* SET_INTERFACE to alt 0 is accepted, to a missing alt stalls */
	setup(&s, 0x01, USB_REQ_SET_INTERFACE, 0, e->acm[0].data_intf, 0);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), 0);
	setup(&s, 0x01, USB_REQ_SET_INTERFACE, 9, e->acm[0].data_intf, 0);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), -EPIPE);
	/* CLEAR_FEATURE(ENDPOINT_HALT) on an existing endpoint */
	setup(&s, 0x02, USB_REQ_CLEAR_FEATURE, 0, e->acm[0].bulk_in_ep, 0);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), 0);
	/* vendor and unknown requests stall */
	setup(&s, 0xc0, 0x42, 0, 0, 4);
	assert_int_equal(control(c, &s, NULL, buf, &n), -EPIPE);
	setup(&s, 0x00, USB_REQ_SET_ADDRESS, 5, 0, 0);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), -EPIPE);
	setup(&s, 0x21, 0x7f, 0, e->acm[0].comm_intf, 0);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), -EPIPE);
	/* a class request to an interface that is not an ACM comm interface */
	setup(&s, 0x21, CDC_REQ_SET_CONTROL_LINE_STATE, 3, 77, 0);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), -EPIPE);
}

static void test_line_coding(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	struct cdc_line_coding lc = {
	    .rate = 115200, .stop_bits = CDC_STOP_2, .parity = CDC_PARITY_EVEN, .data_bits = 7};
	struct cdc_line_coding got, dflt;
	guint8 wire[CDC_LINE_CODING_SIZE], buf[16];
	struct usb_setup s;
	gsize n;
	g_autoptr(GError) err = NULL;

	assert_int_equal(e->n_acm, 1);
	assert_true(mock_server_clear_requests(srv, "1-1", NULL));
	assert_false(mock_server_get_line_coding(srv, "1-1", -1, &got, &err));
	assert_true(g_error_matches(err, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_NOT_FOUND));
	g_clear_error(&err);

	cdc_acm_setup_get_line_coding(&s, e->acm[0].comm_intf);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(cdc_acm_line_coding_decode(&dflt, buf, n), 7);

	assert_int_equal(cdc_acm_line_coding_encode(&lc, wire, sizeof(wire)), 7);
	cdc_acm_setup_set_line_coding(&s, e->acm[0].comm_intf);
	assert_int_equal(control(c, &s, wire, NULL, NULL), 0);
	cdc_acm_setup_get_line_coding(&s, e->acm[0].comm_intf);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(buf, wire, 7);
	assert_true(mock_server_get_line_coding(srv, "1-1", -1, &got, NULL));
	assert_true(cdc_acm_line_coding_equal(&got, &lc));
	assert_true(mock_server_get_line_coding(srv, "1-1", e->acm[0].comm_intf, &got, NULL));
	assert_false(mock_server_get_line_coding(srv, "1-1", 42, &got, NULL));
	/* an impossible line coding stalls and is not recorded as set */
	wire[5] = 9; /* parity 9 */
	cdc_acm_setup_set_line_coding(&s, e->acm[0].comm_intf);
	assert_int_equal(control(c, &s, wire, NULL, NULL), -EPIPE);
	assert_true(mock_server_get_line_coding(srv, "1-1", -1, &got, NULL));
	assert_true(cdc_acm_line_coding_equal(&got, &lc));
	/* SEND_BREAK is recorded */
	cdc_acm_setup_send_break(&s, e->acm[0].comm_intf, 250);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), 0);
	{
		g_autoptr(GArray) b = mock_server_get_break_history(srv, "1-1", -1, NULL);
		assert_int_equal(b->len, 1);
		assert_int_equal(g_array_index(b, guint16, 0), 250);
	}
	/* the control channel prints it */
	{
		gboolean quit;
		g_autofree char *r = mock_control_execute(srv, "linecoding 1-1", &quit);
		assert_string_equal(r, "115200 7 E 2\n");
	}

	/* after a disconnect the device is reset: GET_LINE_CODING is the default */
	client_free(g_steal_pointer(&c));
	wait_no_connections();
	c = import_ok("1-1");
	cdc_acm_setup_get_line_coding(&s, e->acm[0].comm_intf);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(cdc_acm_line_coding_decode(&got, buf, n), 7);
	assert_true(cdc_acm_line_coding_equal(&got, &dflt));
}

static void test_control_lines(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	static const guint16 seq[] = {0x3, 0x1, 0x0, 0x2, 0x2, 0x3, 0x0};
	struct usb_setup s;

	assert_true(mock_server_clear_requests(srv, "1-1", NULL));
	for (guint i = 0; i < G_N_ELEMENTS(seq); i++) {
		cdc_acm_setup_set_control_line_state(&s, e->acm[0].comm_intf, seq[i]);
		assert_int_equal(control(c, &s, NULL, NULL, NULL), 0);
	}
	g_autoptr(GArray) h = mock_server_get_line_history(srv, "1-1", -1, NULL);
	assert_int_equal(h->len, G_N_ELEMENTS(seq));
	for (guint i = 0; i < G_N_ELEMENTS(seq); i++)
		assert_int_equal(g_array_index(h, guint16, i), seq[i]);
	{
		gboolean quit;
		g_autofree char *r = mock_control_execute(srv, "lines 1-1", &quit);
		assert_string_equal(r, "0x3 0x1 0x0 0x2 0x2 0x3 0x0\n");
	}
	/* every request is recorded in order, with its data */
	g_autoptr(GArray) all = mock_server_get_requests(srv, "1-1", NULL);
	assert_int_equal(all->len, G_N_ELEMENTS(seq));
	for (guint i = 0; i < all->len; i++) {
		MockServerRequest *q = &g_array_index(all, MockServerRequest, i);
		assert_int_equal(q->bmRequestType, CDC_REQTYPE_OUT);
		assert_int_equal(q->bRequest, CDC_REQ_SET_CONTROL_LINE_STATE);
		assert_int_equal(q->wValue, seq[i]);
		assert_int_equal(q->status, 0);
	}
}

/* Keep `depth` OUT and IN URBs in flight until `total` bytes came back. */
static void loopback(Client *c, const struct cdc_acm_function *fn, gsize total, guint chunk,
                     guint depth, guint32 seed)
{
	g_autofree guint8 *data = g_malloc(total);
	g_autofree guint8 *back = g_malloc(total);
	g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
	g_autoptr(GHashTable) ins = g_hash_table_new(NULL, NULL);
	g_autoptr(GHashTable) outs = g_hash_table_new(NULL, NULL);
	gsize sent = 0, got = 0, acked = 0;

	for (gsize i = 0; i < total; i++)
		data[i] = (guint8)g_rand_int(rand);
	for (guint i = 0; i < depth; i++)
		g_hash_table_add(ins, GUINT_TO_POINTER(submit(c, USBIP_DIR_IN,
		                                              fn->bulk_in_ep & 0x0f, chunk, NULL)));
	while (got < total) {
		while (g_hash_table_size(outs) < depth && sent < total) {
			guint n = (guint)MIN(chunk, total - sent);
			g_hash_table_add(outs,
			                 GUINT_TO_POINTER(submit(c, USBIP_DIR_OUT, fn->bulk_out_ep,
			                                         n, data + sent)));
			sent += n;
		}
		g_autoptr(Reply) r =
		    c->replies.length ? g_queue_pop_head(&c->replies) : read_reply(c, TIMEOUT_MS);
		assert_non_null(r);
		assert_int_equal(r->h.command, USBIP_RET_SUBMIT);
		assert_int_equal(r->h.u.ret_submit.status, 0);
		if (g_hash_table_remove(outs, GUINT_TO_POINTER(r->h.seqnum))) {
			acked += (gsize)r->h.u.ret_submit.actual_length;
			continue;
		}
		assert_true(g_hash_table_remove(ins, GUINT_TO_POINTER(r->h.seqnum)));
		assert_true(r->len > 0);
		assert_true(got + r->len <= total);
		/* whole packets unless it is the end of what was there */
		memcpy(back + got, r->data, r->len);
		got += r->len;
		if (got < total)
			g_hash_table_add(
			    ins, GUINT_TO_POINTER(
			             submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, chunk, NULL)));
	}
	assert_memory_equal(back, data, total);
	/* the remaining OUT acks */
	while (g_hash_table_size(outs)) {
		g_autoptr(Reply) r = read_reply(c, TIMEOUT_MS);
		assert_non_null(r);
		assert_true(g_hash_table_remove(outs, GUINT_TO_POINTER(r->h.seqnum)));
		acked += (gsize)r->h.u.ret_submit.actual_length;
	}
	assert_int_equal(acked, total);
	/* leftover IN URBs: unlink them (pending -> -ECONNRESET) */
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, ins);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		guint32 u = unlink_urb(c, GPOINTER_TO_UINT(key));
		g_autoptr(Reply) r = expect_reply(c, u);
		assert_int_equal(r->h.command, USBIP_RET_UNLINK);
		assert_int_equal(r->h.u.ret_unlink.status, -ECONNRESET);
		g_hash_table_remove(c->sent, key);
	}
	assert_null(wait_reply(c, 0xdeadbeef, SILENCE_MS));
}

static void test_loopback_1mib(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);

	loopback(c, &e->acm[0], 1024 * 1024, 4096, 6, 1);
	/* odd sizes, unaligned to the packet size */
	loopback(c, &e->acm[0], 100000, 1000, 3, 2);
}

static void test_loopback_backpressure(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	const struct cdc_acm_function *fn = &e->acm[0];
	guint n_out = MOCK_SERVER_LOOPBACK_SIZE / 1024 + 4;
	g_autofree guint32 *seqs = g_new(guint32, n_out);
	g_autofree guint8 *data = g_malloc(n_out * 1024);
	gsize got = 0;
	guint done = 0;

	for (gsize i = 0; i < n_out * 1024; i++)
		data[i] = (guint8)(i * 7 + 3);
	for (guint i = 0; i < n_out; i++)
		seqs[i] = submit(c, USBIP_DIR_OUT, fn->bulk_out_ep, 1024, data + i * 1024);
	/* the ring holds MOCK_SERVER_LOOPBACK_SIZE bytes: that many URBs
	 * complete, the others wait */
	for (guint i = 0; i < MOCK_SERVER_LOOPBACK_SIZE / 1024; i++) {
		g_autoptr(Reply) r = expect_reply(c, seqs[i]);
		assert_int_equal(r->h.u.ret_submit.status, 0);
		assert_int_equal(r->h.u.ret_submit.actual_length, 1024);
		done++;
	}
	assert_null(wait_reply(c, seqs[done], SILENCE_MS));
	/* a zero-length OUT waits behind them, in order */
	guint32 zlp = submit(c, USBIP_DIR_OUT, fn->bulk_out_ep, 0, NULL);
	assert_null(wait_reply(c, zlp, SILENCE_MS));
	/* reading drains the ring and lets the rest in; nothing is lost */
	g_autofree guint8 *back = g_malloc(n_out * 1024);
	while (got < n_out * 1024) {
		guint32 in = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 4096, NULL);
		g_autoptr(Reply) r = expect_reply(c, in);
		assert_int_equal(r->h.u.ret_submit.status, 0);
		memcpy(back + got, r->data, r->len);
		got += r->len;
	}
	assert_memory_equal(back, data, n_out * 1024);
	for (; done < n_out; done++) {
		g_autoptr(Reply) r = expect_reply(c, seqs[done]);
		assert_int_equal(r->h.u.ret_submit.actual_length, 1024);
	}
	g_autoptr(Reply) z = expect_reply(c, zlp);
	assert_int_equal(z->h.u.ret_submit.status, 0);
	assert_int_equal(z->h.u.ret_submit.actual_length, 0);
}

static void test_loopback_packets(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	const struct cdc_acm_function *fn = &e->acm[0];
	guint mps = fn->bulk_in_mps;
	g_autofree guint8 *data = g_malloc(mps + 10);
	guint32 seq;

	for (guint i = 0; i < mps + 10; i++)
		data[i] = (guint8)i;
	seq = submit(c, USBIP_DIR_OUT, fn->bulk_out_ep, mps + 10, data);
	g_autoptr(Reply) w = expect_reply(c, seq);
	assert_int_equal(w->h.u.ret_submit.status, 0);
	/* an IN URB of one packet and a bit gets one whole packet */
	seq = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, mps + 5, NULL);
	g_autoptr(Reply) r1 = expect_reply(c, seq);
	assert_int_equal(r1->len, mps);
	assert_memory_equal(r1->data, data, mps);
	/* then the short rest */
	seq = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 4 * mps, NULL);
	g_autoptr(Reply) r2 = expect_reply(c, seq);
	assert_int_equal(r2->len, 10);
	assert_memory_equal(r2->data, data + mps, 10);
	/* a zero-length IN completes at once */
	seq = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 0, NULL);
	g_autoptr(Reply) r3 = expect_reply(c, seq);
	assert_int_equal(r3->h.u.ret_submit.status, 0);
	assert_int_equal(r3->len, 0);
}

static void test_unlink(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	const struct cdc_acm_function *fn = &e->acm[0];
	guint8 b = 0x55;

	/* pending IN: RET_UNLINK -ECONNRESET and never a RET_SUBMIT */
	guint32 in = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 512, NULL);
	guint32 un = unlink_urb(c, in);
	g_autoptr(Reply) r = expect_reply(c, un);
	assert_int_equal(r->h.command, USBIP_RET_UNLINK);
	assert_int_equal(r->h.u.ret_unlink.status, -ECONNRESET);
	/* data written now must not go to the unlinked URB */
	guint32 out = submit(c, USBIP_DIR_OUT, fn->bulk_out_ep, 1, &b);
	g_autoptr(Reply) w = expect_reply(c, out);
	assert_null(wait_reply(c, in, SILENCE_MS));
	g_hash_table_remove(c->sent, GUINT_TO_POINTER(in));

	/* completed URB: RET_SUBMIT first, then RET_UNLINK 0 */
	guint32 in2 = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 512, NULL);
	g_autoptr(Reply) r2 = expect_reply(c, in2);
	assert_int_equal(r2->len, 1);
	assert_int_equal(r2->data[0], 0x55);
	guint32 un2 = unlink_urb(c, in2);
	g_autoptr(Reply) r3 = expect_reply(c, un2);
	assert_int_equal(r3->h.command, USBIP_RET_UNLINK);
	assert_int_equal(r3->h.u.ret_unlink.status, 0);
	/* unlink of a seqnum never used: also 0 */
	guint32 un3 = unlink_urb(c, 999999);
	g_autoptr(Reply) r4 = expect_reply(c, un3);
	assert_int_equal(r4->h.u.ret_unlink.status, 0);
}

static void test_stall(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	const struct cdc_acm_function *fn = &e->acm[0];
	struct usb_setup s;
	guint8 buf[32];
	gsize n;

	guint32 in = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 512, NULL);
	assert_true(mock_server_stall(srv, "1-1", fn->bulk_in_ep, NULL));
	g_autoptr(Reply) r = expect_reply(c, in);
	assert_int_equal(r->h.u.ret_submit.status, -EPIPE);
	assert_int_equal(r->len, 0);
	/* halted until CLEAR_FEATURE(ENDPOINT_HALT) */
	in = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 512, NULL);
	g_autoptr(Reply) r2 = expect_reply(c, in);
	assert_int_equal(r2->h.u.ret_submit.status, -EPIPE);
	setup(&s, 0x02, USB_REQ_CLEAR_FEATURE, 0, fn->bulk_in_ep, 0);
	assert_int_equal(control(c, &s, NULL, NULL, NULL), 0);
	in = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 512, NULL);
	assert_null(wait_reply(c, in, SILENCE_MS));
	/* endpoint 0: the next control request stalls, the one after works */
	assert_true(mock_server_stall(srv, "1-1", 0, NULL));
	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE, 0, 0, 18);
	assert_int_equal(control(c, &s, NULL, buf, &n), -EPIPE);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_int_equal(n, 18);
	assert_false(mock_server_stall(srv, "9-9", 0x81, NULL));
	assert_false(mock_server_stall(srv, "1-1", 0x71, NULL));
}

static void test_notification(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	const struct cdc_acm_function *fn = &e->acm[0];
	guint16 intf = 0, st = 0;

	assert_true(fn->has_notify);
	guint32 irq = submit_full(c, c->devid, USBIP_DIR_IN, fn->notify_ep & 0x0f, fn->notify_mps,
	                          NULL, NULL, fn->notify_interval);
	/* pending until something is injected */
	assert_null(wait_reply(c, irq, SILENCE_MS));
	assert_true(mock_server_inject_serial_state(srv, "1-1", -1, CDC_SS_DCD | CDC_SS_DSR, NULL));
	g_autoptr(Reply) r = expect_reply(c, irq);
	assert_int_equal(r->h.u.ret_submit.status, 0);
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, r->data, r->len), 10);
	assert_int_equal(intf, fn->comm_intf);
	assert_int_equal(st, CDC_SS_DCD | CDC_SS_DSR);
	/* injected first, delivered to the next URB, in order */
	assert_true(mock_server_inject_serial_state(srv, "1-1", fn->comm_intf, CDC_SS_RI, NULL));
	{
		gboolean quit;
		g_autofree char *rep = mock_control_execute(srv, "serial-state 1-1 0x44", &quit);
		assert_string_equal(rep, "ok\n");
	}
	for (guint i = 0; i < 2; i++) {
		irq = submit_full(c, c->devid, USBIP_DIR_IN, fn->notify_ep & 0x0f, fn->notify_mps,
		                  NULL, NULL, fn->notify_interval);
		g_autoptr(Reply) q = expect_reply(c, irq);
		assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, q->data, q->len), 10);
		assert_int_equal(st, i == 0 ? CDC_SS_RI : (CDC_SS_BREAK | CDC_SS_OVERRUN));
	}
	assert_false(mock_server_inject_serial_state(srv, "1-1", 9, CDC_SS_DCD, NULL));
	assert_false(mock_server_inject_serial_state(srv, "2-1", -1, CDC_SS_DCD, NULL));
	/* an interrupt URB with interval 0 fails usb_submit_urb: link dropped */
	submit_full(c, c->devid, USBIP_DIR_IN, fn->notify_ep & 0x0f, fn->notify_mps, NULL, NULL, 0);
	assert_true(closed_without_data(c->sock));
}

/* `modem` on a CDC-ACM function: SERIAL_STATE bits, and CTS refused (ACM has
 * no CTS bit). */
static void test_modem_on_acm(void **state)
{
	g_autoptr(Client) c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	const struct cdc_acm_function *fn = &e->acm[0];
	guint16 intf = 0, st = 0;
	gboolean quit;

	{
		g_autofree char *rep = mock_control_execute(srv, "modem 1-1 dsr,dcd,parity", &quit);
		assert_string_equal(rep, "ok\n");
	}
	guint32 irq = submit_full(c, c->devid, USBIP_DIR_IN, fn->notify_ep & 0x0f, fn->notify_mps,
	                          NULL, NULL, fn->notify_interval);
	g_autoptr(Reply) r = expect_reply(c, irq);
	assert_int_equal(cdc_acm_serial_state_decode(&intf, &st, r->data, r->len), 10);
	assert_int_equal(st, CDC_SS_DCD | CDC_SS_DSR | CDC_SS_PARITY);
	{
		g_autoptr(GError) err = NULL;
		assert_false(mock_server_set_inputs(srv, "1-1", -1, MOCK_SERVER_CTS, &err));
		assert_true(g_error_matches(err, MOCK_SERVER_ERROR, MOCK_SERVER_ERROR_UNSUPPORTED));
	}
	{
		g_autofree char *m = mock_control_execute(srv, "model 1-1", &quit);
		assert_string_equal(m, "cdc_acm\n");
		g_autofree char *n = mock_control_execute(srv, "model 2-1", &quit);
		assert_string_equal(n, "none\n");
	}
}

static void test_link_errors(void **state)
{
	Client *c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	struct usb_setup s;
	guint8 buf[64] = {0};
	gsize n;

	/* an endpoint that does not exist: no reply at all, link stays up */
	guint32 seq = submit(c, USBIP_DIR_IN, 9, 64, NULL);
	assert_null(wait_reply(c, seq, SILENCE_MS));
	seq = submit(c, USBIP_DIR_OUT, 9, 16, buf);
	assert_null(wait_reply(c, seq, SILENCE_MS));
	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE, 0, 0, 18);
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	/* wrong devid: closed */
	submit_full(c, c->devid + 1, USBIP_DIR_IN, 0, 18, &s, NULL, 0);
	assert_true(closed_without_data(c->sock));
	client_free(c);
	wait_no_connections();

	/* control buffer length != wLength: closed */
	c = import_ok("1-1");
	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE, 0, 0, 18);
	submit_full(c, c->devid, USBIP_DIR_IN, 0, 64, &s, NULL, 0);
	assert_true(closed_without_data(c->sock));
	client_free(c);
	wait_no_connections();

	/* a RET_SUBMIT from the client: closed */
	c = import_ok("1-1");
	{
		struct usbip_urb_hdr h = {.command = USBIP_RET_SUBMIT, .seqnum = 1};
		guint8 hdr[USBIP_URB_HDR_SIZE];
		assert_int_equal(usbip_proto_urb_hdr_encode(&h, hdr, sizeof(hdr)), 48);
		send_all(c->sock, hdr, sizeof(hdr));
	}
	assert_true(closed_without_data(c->sock));
	client_free(c);
	wait_no_connections();
	assert_string_equal(mock_server_get_state(srv, "1-1"), "free");
}

static void test_unplug(void **state)
{
	Client *c = import_ok("1-1");
	g_autofree Enum *e = enumerate(c);
	const struct cdc_acm_function *fn = &e->acm[0];
	Client *c2 = NULL;

	guint32 in = submit(c, USBIP_DIR_IN, fn->bulk_in_ep & 0x0f, 512, NULL);
	guint32 irq = submit_full(c, c->devid, USBIP_DIR_IN, fn->notify_ep & 0x0f, fn->notify_mps,
	                          NULL, NULL, fn->notify_interval);
	assert_null(wait_reply(c, in, SILENCE_MS));
	assert_true(mock_server_unplug(srv, "1-1", NULL));
	assert_false(mock_server_unplug(srv, "1-1", NULL));
	g_autoptr(Reply) r1 = expect_reply(c, in);
	g_autoptr(Reply) r2 = expect_reply(c, irq);
	assert_int_equal(r1->h.u.ret_submit.status, -ESHUTDOWN);
	assert_int_equal(r2->h.u.ret_submit.status, -ESHUTDOWN);
	assert_true(closed_without_data(c->sock));
	client_free(c);
	wait_no_connections();
	/* gone from the list; import says NODEV */
	{
		g_autoptr(GPtrArray) ids = devlist();
		assert_false(contains(ids, "1-1"));
		assert_true(contains(ids, "1-2"));
	}
	assert_int_equal(import("1-1", &c2, NULL), USBIP_ST_NODEV);
	assert_true(mock_server_replug(srv, "1-1", NULL));
	assert_false(mock_server_replug(srv, "1-1", NULL));
	c = import_ok("1-1");
	client_free(c);
	wait_no_connections();
}

/* move: the importer sees an unplug; the device is then 1-7 (devid 1:7). */
static void test_move(void **state)
{
	Client *c = import_ok("1-2");
	Client *c2 = NULL;
	struct usbip_device rec;

	assert_true(mock_server_move(srv, "1-2", "1-7", NULL));
	assert_true(closed_without_data(c->sock));
	client_free(c);
	wait_no_connections();
	{
		/* (devlist() compares with the fixture files: there is no 1-7.lsusb) */
		g_auto(GStrv) ids = mock_server_list_busids(srv);
		assert_false(g_strv_contains((const char *const *)ids, "1-2"));
		assert_true(g_strv_contains((const char *const *)ids, "1-7"));
		assert_string_equal(mock_server_get_state(srv, "1-7"), "free");
	}
	assert_int_equal(import("1-2", &c2, NULL), USBIP_ST_NODEV);
	assert_int_equal(import("1-7", &c2, &rec), USBIP_ST_OK);
	assert_string_equal(rec.busid, "1-7");
	assert_int_equal(rec.busnum, 1);
	assert_int_equal(rec.devnum, 7);
	client_free(c2);
	wait_no_connections();
	/* errors: a taken or bad new bus id, an unknown device */
	assert_false(mock_server_move(srv, "1-7", "1-3", NULL));
	assert_false(mock_server_move(srv, "1-7", "", NULL));
	assert_false(mock_server_move(srv, "9-9", "9-8", NULL));
	assert_true(mock_server_move(srv, "1-7", "1-2", NULL));
	c = import_ok("1-2");
	client_free(c);
	wait_no_connections();
}

static void test_drop_and_delay(void **state)
{
	Client *c = import_ok("1-1");
	struct usb_setup s;
	guint8 buf[32];
	gsize n;
	gint64 t0;

	assert_true(mock_server_set_delay(srv, "1-1", 150, NULL));
	usb_desc_setup_get_descriptor(&s, USB_DT_DEVICE, 0, 0, 18);
	t0 = g_get_monotonic_time();
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_true(g_get_monotonic_time() - t0 >= 150 * 1000);
	assert_true(mock_server_set_delay(srv, "1-1", 0, NULL));
	t0 = g_get_monotonic_time();
	assert_int_equal(control(c, &s, NULL, buf, &n), 0);
	assert_true(g_get_monotonic_time() - t0 < 150 * 1000);

	assert_true(mock_server_drop(srv, "1-1", NULL));
	assert_true(closed_without_data(c->sock));
	assert_string_equal(mock_server_get_state(srv, "1-1"), "free");
	assert_false(mock_server_drop(srv, "1-1", NULL));
	client_free(c);
	wait_no_connections();
}

static void test_two_functions_and_collapsed(void **state)
{
	g_autoptr(Client) c = import_ok("1-4");
	g_autofree Enum *e = enumerate(c);
	struct cdc_line_coding lc1 = {.rate = 9600, .data_bits = 8},
	                       lc2 = {.rate = 57600, .data_bits = 7};
	guint8 wire[7];
	struct usb_setup s;

	assert_int_equal(e->n_acm, 2);
	loopback(c, &e->acm[0], 20000, 512, 2, 3);
	loopback(c, &e->acm[1], 20000, 512, 2, 4);
	cdc_acm_line_coding_encode(&lc1, wire, 7);
	cdc_acm_setup_set_line_coding(&s, e->acm[0].comm_intf);
	assert_int_equal(control(c, &s, wire, NULL, NULL), 0);
	cdc_acm_line_coding_encode(&lc2, wire, 7);
	cdc_acm_setup_set_line_coding(&s, e->acm[1].comm_intf);
	assert_int_equal(control(c, &s, wire, NULL, NULL), 0);
	struct cdc_line_coding got;
	assert_true(mock_server_get_line_coding(srv, "1-4", e->acm[1].comm_intf, &got, NULL));
	assert_true(cdc_acm_line_coding_equal(&got, &lc2));
	assert_true(mock_server_get_line_coding(srv, "1-4", e->acm[0].comm_intf, &got, NULL));
	assert_true(cdc_acm_line_coding_equal(&got, &lc1));

	/* collapsed single-interface ACM, used at the same time */
	g_autoptr(Client) c5 = import_ok("1-5");
	g_autofree Enum *e5 = enumerate(c5);
	assert_int_equal(e5->n_acm, 1);
	assert_true(e5->acm[0].collapsed);
	loopback(c5, &e5->acm[0], 50000, 256, 4, 5);
}

static void test_mass_storage(void **state)
{
	g_autoptr(Client) c = import_ok("2-1");
	g_autofree Enum *e = enumerate(c);
	const struct usb_interface_desc *it = &e->cfg.intf[0];
	guint8 out_ep = 0, in_ep = 0, buf[31] = {0};

	assert_int_equal(e->n_acm, 0);
	for (guint i = 0; i < it->num_endpoints; i++) {
		if (it->ep[i].bEndpointAddress & USB_EP_DIR_IN)
			in_ep = it->ep[i].bEndpointAddress;
		else
			out_ep = it->ep[i].bEndpointAddress;
	}
	assert_true(in_ep && out_ep);
	/* not a loopback: OUT is accepted, IN never completes */
	guint32 o = submit(c, USBIP_DIR_OUT, out_ep, sizeof(buf), buf);
	g_autoptr(Reply) r = expect_reply(c, o);
	assert_int_equal(r->h.u.ret_submit.status, 0);
	assert_int_equal(r->h.u.ret_submit.actual_length, sizeof(buf));
	guint32 i = submit(c, USBIP_DIR_IN, in_ep & 0x0f, 512, NULL);
	assert_null(wait_reply(c, i, SILENCE_MS));
}

/* A client may vanish at any byte: the server must survive and clean up. */
static void test_disconnect_anywhere(void **state)
{
	g_autofree Enum *e = NULL;
	g_autoptr(GByteArray) stream = g_byte_array_new();
	struct usb_setup s;
	guint8 buf[64];
	struct usbip_urb_hdr h = {0};

	{
		g_autoptr(Client) c = import_ok("1-1");
		e = enumerate(c);
	}
	wait_no_connections();
	/* the byte stream of a session: import, control, OUT with data,
	 * pending IN, pending interrupt, unlink */
	assert_int_equal(usbip_proto_import_req_encode("1-1", buf, sizeof(buf)), 40);
	g_byte_array_append(stream, buf, 40);
	h.command = USBIP_CMD_SUBMIT;
	h.devid = 1u << 16 | 1;
	h.seqnum = 1;
	h.direction = USBIP_DIR_OUT;
	h.ep = 0;
	usb_desc_setup_set_configuration(&s, e->cfg.bConfigurationValue);
	usb_desc_setup_encode(&s, h.u.submit.setup);
	usbip_proto_urb_hdr_encode(&h, buf, 48);
	g_byte_array_append(stream, buf, 48);
	memset(h.u.submit.setup, 0, 8);
	h.seqnum = 2;
	h.ep = e->acm[0].bulk_out_ep;
	h.u.submit.transfer_buffer_length = 16;
	usbip_proto_urb_hdr_encode(&h, buf, 48);
	g_byte_array_append(stream, buf, 48);
	g_byte_array_append(stream, (const guint8 *)"0123456789abcdef", 16);
	h.seqnum = 3;
	h.direction = USBIP_DIR_IN;
	h.ep = e->acm[0].bulk_in_ep & 0x0f;
	h.u.submit.transfer_buffer_length = 8; /* takes 8 of the 16 bytes */
	usbip_proto_urb_hdr_encode(&h, buf, 48);
	g_byte_array_append(stream, buf, 48);
	h.seqnum = 4;
	h.u.submit.transfer_buffer_length = 512;
	usbip_proto_urb_hdr_encode(&h, buf, 48);
	g_byte_array_append(stream, buf, 48);
	h.seqnum = 5;
	h.ep = e->acm[0].notify_ep & 0x0f;
	h.u.submit.transfer_buffer_length = e->acm[0].notify_mps;
	h.u.submit.interval = e->acm[0].notify_interval;
	usbip_proto_urb_hdr_encode(&h, buf, 48);
	g_byte_array_append(stream, buf, 48);
	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_UNLINK;
	h.devid = 1u << 16 | 1;
	h.seqnum = 6;
	h.u.unlink.seqnum = 5;
	usbip_proto_urb_hdr_encode(&h, buf, 48);
	g_byte_array_append(stream, buf, 48);

	for (guint cut = 0; cut <= stream->len; cut++) {
		g_autoptr(GSocket) sk = tcp_connect();
		if (cut)
			send_all(sk, stream->data, cut);
		/* let the server read it, then vanish */
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_socket_close(sk, NULL);
		if (cut % 7 == 0 || cut == stream->len)
			wait_no_connections();
	}
	wait_no_connections();
	assert_string_equal(mock_server_get_state(srv, "1-1"), "free");
	/* the device was reset each time: the ring is empty again */
	g_autoptr(Client) c = import_ok("1-1");
	g_free(enumerate(c));
	guint32 in = submit(c, USBIP_DIR_IN, e->acm[0].bulk_in_ep & 0x0f, 512, NULL);
	assert_null(wait_reply(c, in, SILENCE_MS));
}

static void test_control_commands(void **state)
{
	static const struct {
		const char *cmd;
		const char *prefix;
	} cases[] = {
	    {"", "error: "},
	    {"bogus", "error: bad command"},
	    {"state 1-2", "free\n"},
	    {"state 8-8", "error: no device"},
	    {"linecoding 8-8", "error: no device"},
	    {"linecoding 1-2 x", "error: bad command"},
	    {"lines 1-2 1 2", "error: bad command"},
	    {"stall 1-2 0x181", "error: bad command"},
	    {"serial-state 1-2 -1", "error: bad command"},
	    {"serial-state 2-1 1", "error: "},
	    {"delay 1-2 25", "ok\n"},
	    {"delay 1-2 0", "ok\n"},
	    {"drop 1-2", "error: 1-2 is not imported"},
	    {"replug 1-2", "error: "},
	    {"clear 1-2", "ok\n"},
	    {"requests 1-2", "ok\n"},
	    {"lines 1-2", "none\n"},
	    {"breaks 1-2", "none\n"},
	    {"  state\t1-3  ", "free\n"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		gboolean quit = TRUE;
		g_autofree char *r = mock_control_execute(srv, cases[i].cmd, &quit);
		if (!g_str_has_prefix(r, cases[i].prefix))
			fail_msg("'%s' -> '%s', want prefix '%s'", cases[i].cmd, r,
			         cases[i].prefix);
		assert_false(quit);
		assert_true(g_str_has_suffix(r, "\n"));
	}
	gboolean quit = FALSE;
	g_autofree char *r = mock_control_execute(srv, "quit", &quit);
	assert_true(quit);
	g_autofree char *h = mock_control_execute(srv, "help", &quit);
	assert_true(g_str_has_suffix(h, "\nok\n"));
	g_autofree char *l = mock_control_execute(srv, "list", &quit);
	assert_non_null(strstr(l, "1-1 free\n"));
	assert_true(g_str_has_suffix(l, "\nok\n"));
	/* requests shows the data stage in hex */
	{
		g_autoptr(Client) c = import_ok("1-2");
		g_autofree Enum *e = enumerate(c);
		struct cdc_line_coding lc = {.rate = 115200, .data_bits = 8};
		guint8 wire[7];
		struct usb_setup s;
		assert_true(mock_server_clear_requests(srv, "1-2", NULL));
		cdc_acm_line_coding_encode(&lc, wire, 7);
		cdc_acm_setup_set_line_coding(&s, e->acm[0].comm_intf);
		assert_int_equal(control(c, &s, wire, NULL, NULL), 0);
		g_autofree char *q = mock_control_execute(srv, "requests 1-2", &quit);
		g_autofree char *want = g_strdup_printf(
		    "0x21 0x20 0x0000 0x%04x 7 0 00c20100000008\nok\n", e->acm[0].comm_intf);
		assert_string_equal(q, want);
		g_autofree char *lcs = mock_control_execute(srv, "linecoding 1-2", &quit);
		assert_string_equal(lcs, "115200 8 N 1\n");
	}
	wait_no_connections();
}

static int group_setup(void **state)
{
	g_autoptr(GError) err = NULL;

	open_socks = g_ptr_array_new_with_free_func(g_object_unref);
	fixtures = g_getenv("LSUSB_FIXTURES");
	if (!fixtures)
		fixtures = "test/lsusb";
	srv = mock_server_new(fixtures, "127.0.0.1", 0, &err);
	if (!srv) {
		fprintf(stderr, "mock_server_new: %s\n", err->message);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	mock_server_free(srv);
	srv = NULL;
	g_ptr_array_unref(open_socks);
	return 0;
}

/* Every test leaves the server without connections for the next one. */
static int settle(void **state)
{
	for (guint i = 0; i < open_socks->len; i++)
		g_socket_close(g_ptr_array_index(open_socks, i), NULL);
	g_ptr_array_set_size(open_socks, 0);
	gint64 end = g_get_monotonic_time() + TIMEOUT_MS * 1000;

	while (mock_server_get_n_connections(srv) > 0 && g_get_monotonic_time() < end)
		spin(5);
	return mock_server_get_n_connections(srv) == 0 ? 0 : -1;
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, settle)
	const struct CMUnitTest tests[] = {
	    T(test_devlist),
	    T(test_op_errors),
	    T(test_import_busy),
	    T(test_descriptors),
	    T(test_standard_requests),
	    T(test_line_coding),
	    T(test_control_lines),
	    T(test_loopback_1mib),
	    T(test_loopback_backpressure),
	    T(test_loopback_packets),
	    T(test_unlink),
	    T(test_stall),
	    T(test_notification),
	    T(test_modem_on_acm),
	    T(test_link_errors),
	    T(test_unplug),
	    T(test_move),
	    T(test_drop_and_delay),
	    T(test_two_functions_and_collapsed),
	    T(test_mass_storage),
	    T(test_disconnect_anywhere),
	    T(test_control_commands),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
