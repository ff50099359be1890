/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the client engine (usbip_conn, usbip_device,
 * serial_port) against the in-process mock server on 127.0.0.1, one
 * GMainContext, no threads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cdc_acm.h"
#include "serial_port.h"
#include "mock_server.h"
#include "uc_error.h"
#include "uc_source.h"
#include "usbip_device.h"

#include "engine_test.h"

typedef struct {
	MockServer *mock;
	guint16 port;
	char server[64];
} Fx;

static const char *fixture_dir(void)
{
	const char *d = g_getenv("LSUSB_FIXTURES");
	return d ? d : "test/lsusb";
}

static int fx_setup(void **state)
{
	Fx *fx = g_new0(Fx, 1);
	GError *err = NULL;
	fx->mock = mock_server_new(fixture_dir(), "127.0.0.1", 0, &err);
	if (!fx->mock)
		fail_msg("mock server: %s", err->message);
	fx->port = mock_server_get_port(fx->mock);
	g_snprintf(fx->server, sizeof(fx->server), "127.0.0.1:%u", fx->port);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	Fx *fx = *state;
	mock_server_free(fx->mock);
	/* let closed sockets' sources run down */
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_free(fx);
	return 0;
}

/* ---- starting a device ---- */

static UsbipDeviceConfig fast_cfg(void)
{
	UsbipDeviceConfig cfg;
	usbip_device_config_init(&cfg);
	cfg.backoff_initial_ms = 20;
	cfg.backoff_max_ms = 200;
	cfg.control_timeout_ms = 1000;
	return cfg;
}

static UsbipDevice *start_dev(Fx *fx, const char *selector, GError **error)
{
	UsbipSelector sel;
	if (!usbip_selector_parse(selector, &sel, error))
		return NULL;
	UsbipDeviceConfig cfg = fast_cfg();
	return start_device(fx->server, &sel, &cfg, 10000, error);
}

/* ---- selectors ---- */

static void test_selector_parse(void **state)
{
	UsbipSelector s;
	GError *err = NULL;
	assert_true(usbip_selector_parse("1-1", &s, NULL));
	assert_string_equal(s.busid, "1-1");
	assert_true(usbip_selector_parse("3-1.2.4", &s, NULL));
	assert_string_equal(s.busid, "3-1.2.4");
	assert_true(usbip_selector_parse("2e8a:000A", &s, NULL));
	assert_true(s.has_vidpid);
	assert_int_equal(s.vid, 0x2e8a);
	assert_int_equal(s.pid, 0x000a);
	assert_int_equal(s.index, -1);
	assert_true(usbip_selector_parse("2e8a:a:E66:1", &s, NULL));
	assert_string_equal(s.serial, "E66:1");
	assert_true(usbip_selector_parse("2e8a:000a#2", &s, NULL));
	assert_int_equal(s.index, 2);
	const char *bad[] = {"",     "1-",    "-1",     "1-1..2", "zz:0001", "12345:1",
	                     "1:2#", "1:2#x", "1:2#-1", "1:2:",   "1:2x",    "abc"};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		assert_false(usbip_selector_parse(bad[i], &s, &err));
		assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_SELECTOR));
		g_clear_error(&err);
	}
	g_autofree char *txt = NULL;
	assert_true(usbip_selector_parse("2e8a:000a#1", &s, NULL));
	txt = usbip_selector_to_string(&s);
	assert_string_equal(txt, "2e8a:000a#1");
}

/* ---- listing and enumeration ---- */

typedef struct {
	gboolean done;
	GPtrArray *list;
	GError *error;
} ListCtx;

static void list_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	ListCtx *c = user;
	c->list = usbip_conn_list_finish(res, &c->error);
	c->done = TRUE;
}

static gboolean list_done(gpointer d)
{
	return ((ListCtx *)d)->done;
}

static void test_list_matches_fixtures(void **state)
{
	Fx *fx = *state;
	ListCtx c = {0};
	usbip_conn_list_async(fx->server, NULL, list_cb, &c);
	assert_true(run_until(list_done, &c, 5000));
	assert_non_null(c.list);
	g_auto(GStrv) busids = mock_server_list_busids(fx->mock);
	assert_int_equal(c.list->len, g_strv_length(busids));
	for (guint i = 0; i < c.list->len; i++) {
		const UsbipExported *e = g_ptr_array_index(c.list, i);
		assert_true(g_strv_contains((const char *const *)busids, e->dev.busid));
		assert_int_equal(e->n_intf, e->dev.bNumInterfaces);
	}
	g_ptr_array_unref(c.list);
}

static void test_connect_refused(void **state)
{
	ListCtx c = {0};
	/* a port nobody listens on: bind-and-close gives one */
	GSocket *s =
	    g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
	GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	GSocketAddress *a = g_inet_socket_address_new(lo, 0);
	assert_true(g_socket_bind(s, a, TRUE, NULL));
	GSocketAddress *bound = g_socket_get_local_address(s, NULL);
	guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
	g_object_unref(bound);
	g_object_unref(a);
	g_object_unref(lo);
	g_socket_close(s, NULL);
	g_object_unref(s);

	g_autofree char *server = g_strdup_printf("127.0.0.1:%u", port);
	usbip_conn_list_async(server, NULL, list_cb, &c);
	assert_true(run_until(list_done, &c, 5000));
	assert_null(c.list);
	assert_true(g_error_matches(c.error, UC_ERROR, UC_ERROR_CONNECT));
	g_autofree char *want = g_strdup_printf("cannot connect to %s: Connection refused", server);
	assert_string_equal(c.error->message, want);
	g_error_free(c.error);
}

/* Every ACM fixture enumerates with the functions lsusb describes. */
static void test_enumerate_fixtures(void **state)
{
	Fx *fx = *state;
	struct {
		const char *busid;
		guint n_func;
	} want[] = {{"1-1", 1}, {"1-2", 1}, {"1-3", 1}, {"1-4", 2}, {"1-5", 1}};
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		GError *err = NULL;
		UsbipDevice *d = start_dev(fx, want[i].busid, &err);
		if (!d)
			fail_msg("%s: %s", want[i].busid, err->message);
		assert_true(usbip_device_is_up(d));
		assert_int_equal(usbip_device_get_n_functions(d), want[i].n_func);
		assert_string_equal(usbip_device_get_busid(d), want[i].busid);
		for (guint f = 0; f < want[i].n_func; f++) {
			const struct serial_function *fn = usbip_device_get_function(d, f);
			assert_int_equal(fn->driver, SERIAL_DRV_CDC_ACM);
			assert_true(fn->bulk_in_ep & 0x80);
			assert_false(fn->bulk_out_ep & 0x80);
			assert_true(fn->bulk_in_mps > 0);
		}
		/* the mock saw SET_CONFIGURATION, after the descriptor reads */
		g_autoptr(GArray) reqs = mock_server_get_requests(fx->mock, want[i].busid, NULL);
		assert_non_null(reqs);
		gboolean set_config = FALSE;
		for (guint r = 0; r < reqs->len; r++) {
			MockServerRequest *q = &g_array_index(reqs, MockServerRequest, r);
			assert_int_not_equal(q->bRequest, USB_REQ_SET_ADDRESS);
			assert_int_not_equal(q->bRequest, USB_REQ_GET_STATUS);
			if (q->bmRequestType == 0 && q->bRequest == USB_REQ_SET_CONFIGURATION)
				set_config = TRUE;
		}
		assert_true(set_config);
		usbip_device_free(d);
		run_for(20);
	}
}

static void test_select_failures(void **state)
{
	Fx *fx = *state;
	GError *err = NULL;
	assert_null(start_dev(fx, "9-9", &err));
	assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_NODEV));
	assert_non_null(strstr(err->message, "it exports: "));
	assert_non_null(strstr(err->message, "1-1 ("));
	g_clear_error(&err);

	assert_null(start_dev(fx, "1234:5678", &err));
	assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_NODEV));
	assert_non_null(strstr(err->message, "has no device 1234:5678; it exports: "));
	g_clear_error(&err);

	assert_null(start_dev(fx, "99-99", &err));
	assert_non_null(err);
	g_clear_error(&err);

	assert_null(start_dev(fx, "2-1", &err));
	assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_NOT_SERIAL));
	g_clear_error(&err);

	/* busy: a second client of an imported device */
	UsbipDevice *d = start_dev(fx, "1-1", &err);
	assert_non_null(d);
	assert_null(start_dev(fx, "1-1", &err));
	assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_BUSY));
	g_clear_error(&err);
	usbip_device_free(d);
}

static void test_select_by_vidpid_serial_index(void **state)
{
	Fx *fx = *state;
	GError *err = NULL;
	/* 1-2 and 1-3 share a VID:PID; learn it and the serials */
	UsbipDevice *a = start_dev(fx, "1-2", &err);
	assert_non_null(a);
	UsbipDevice *b = start_dev(fx, "1-3", &err);
	assert_non_null(b);
	const struct usb_device_desc *da = usbip_device_get_descriptor(a);
	const struct usb_device_desc *db = usbip_device_get_descriptor(b);
	assert_int_equal(da->idVendor, db->idVendor);
	assert_int_equal(da->idProduct, db->idProduct);
	g_autofree char *serial_b = g_strdup(usbip_device_get_serial(b));
	assert_string_not_equal(usbip_device_get_serial(a), serial_b);
	g_autofree char *vidpid = g_strdup_printf("%04x:%04x", da->idVendor, da->idProduct);
	usbip_device_free(a);
	usbip_device_free(b);
	run_for(20);

	g_autofree char *by_serial = g_strdup_printf("%s:%s", vidpid, serial_b);
	UsbipDevice *d = start_dev(fx, by_serial, &err);
	if (!d)
		fail_msg("%s: %s", by_serial, err->message);
	assert_string_equal(usbip_device_get_busid(d), "1-3");
	usbip_device_free(d);
	run_for(20);

	g_autofree char *by_index = g_strdup_printf("%s#1", vidpid);
	d = start_dev(fx, by_index, &err);
	assert_non_null(d);
	assert_string_equal(usbip_device_get_busid(d), "1-3");
	usbip_device_free(d);
	run_for(20);

	g_autofree char *first = g_strdup_printf("%s#0", vidpid);
	d = start_dev(fx, first, &err);
	assert_non_null(d);
	assert_string_equal(usbip_device_get_busid(d), "1-2");
	usbip_device_free(d);
	run_for(20);

	g_autofree char *bad_serial = g_strdup_printf("%s:NOSUCHSERIAL", vidpid);
	assert_null(start_dev(fx, bad_serial, &err));
	assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_NODEV));
	assert_non_null(strstr(err->message, "NOSUCHSERIAL"));
	g_clear_error(&err);

	g_autofree char *bad_index = g_strdup_printf("%s#2", vidpid);
	assert_null(start_dev(fx, bad_index, &err));
	assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_NODEV));
	g_clear_error(&err);
}

/* ---- data path ---- */

typedef struct {
	SerialPort *port;
	GByteArray *rx;
	const guint8 *tx;
	gsize tx_len, tx_off;
	gsize accept_max; /* per rx callback; 0 = all */
	gboolean paused;
	struct serial_status status; /* the last report */
	guint n_serial_state;
	gsize lost;
	guint ups, downs;
	gboolean up;
	gboolean stop_tx_on_down; /* the writer gives up its stream on a link loss */
} Pipe;

/* The data to send is the port's write queue: it pulls from it. */
static gsize pipe_pull(SerialPort *port, guint8 *buf, gsize max, gpointer user)
{
	Pipe *p = user;
	return serial_port_take(buf, max, p->tx, p->tx_len, &p->tx_off);
}

static gsize pipe_ready(SerialPort *port, gpointer user)
{
	Pipe *p = user;
	return p->tx_len - p->tx_off;
}

static void pipe_pump(Pipe *p)
{
	serial_port_tx_kick(p->port);
}

static gsize pipe_rx(SerialPort *port, const guint8 *data, gsize len, gpointer user)
{
	Pipe *p = user;
	gsize n = len;
	if (p->accept_max) {
		n = MIN(len, p->accept_max);
		if (n < len)
			p->paused = TRUE;
	}
	g_byte_array_append(p->rx, data, (guint)n);
	return n;
}

static void pipe_failed(SerialPort *port, gsize lost, gpointer user)
{
	((Pipe *)user)->lost += lost;
}

static void pipe_state(SerialPort *port, const struct serial_status *st, gpointer user)
{
	Pipe *p = user;
	p->status = *st;
	p->n_serial_state++;
}

static void pipe_link(SerialPort *port, gboolean up, const GError *error, gpointer user)
{
	Pipe *p = user;
	p->up = up;
	if (up) {
		p->ups++;
		pipe_pump(p);
	} else {
		p->downs++;
		if (p->stop_tx_on_down)
			p->tx_len = p->tx_off;
	}
}

static const SerialPortCallbacks pipe_cb = {
    .rx = pipe_rx,
    .tx_pull = pipe_pull,
    .tx_ready = pipe_ready,
    .tx_failed = pipe_failed,
    .status = pipe_state,
    .link = pipe_link,
};

static gboolean pipe_is_up(gpointer data)
{
	return ((Pipe *)data)->up;
}

static void pipe_init_cfg(Pipe *p, UsbipDevice *d, guint func, const SerialPortConfig *cfg)
{
	memset(p, 0, sizeof(*p));
	p->rx = g_byte_array_new();
	p->port = serial_port_new(d, func, cfg, &pipe_cb, p);
	assert_non_null(p->port);
	/* the setup runs first; data moves once it is done */
	assert_false(serial_port_is_up(p->port));
	assert_true(run_until(pipe_is_up, p, 5000));
}

static void pipe_init(Pipe *p, UsbipDevice *d, guint func)
{
	pipe_init_cfg(p, d, func, NULL);
}

static void pipe_clear(Pipe *p)
{
	serial_port_free(p->port);
	g_byte_array_unref(p->rx);
}

static gsize want_len;
static gboolean rx_reached(gpointer data)
{
	return ((Pipe *)data)->rx->len >= want_len;
}

static guint8 *random_bytes(gsize n, guint32 seed)
{
	GRand *r = g_rand_new_with_seed(seed);
	guint8 *b = g_malloc(n);
	for (gsize i = 0; i < n; i++)
		b[i] = (guint8)g_rand_int(r);
	g_rand_free(r);
	return b;
}

static void test_loopback_16mib(void **state)
{
	Fx *fx = *state;
	GError *err = NULL;
	UsbipDevice *d = start_dev(fx, "1-1", &err);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	const gsize n = 16u << 20;
	g_autofree guint8 *data = random_bytes(n, 42);
	p.tx = data;
	p.tx_len = n;
	pipe_pump(&p);
	want_len = n;
	assert_true(run_until(rx_reached, &p, 120000));
	assert_int_equal(p.rx->len, n);
	assert_memory_equal(p.rx->data, data, n);
	assert_int_equal(p.lost, 0);
	SerialPortStats st;
	serial_port_get_stats(p.port, &st);
	assert_int_equal(st.rx_bytes, n);
	assert_int_equal(st.tx_bytes, n);
	assert_int_equal(serial_port_tx_inflight(p.port), 0);
	pipe_clear(&p);
	usbip_device_free(d);
}

/* Two ACM functions of one device carry separate streams. */
static void test_two_functions(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-4", NULL);
	assert_non_null(d);
	Pipe a, b;
	pipe_init(&a, d, 0);
	pipe_init(&b, d, 1);
	const gsize n = 256 * 1024;
	g_autofree guint8 *da = random_bytes(n, 1);
	g_autofree guint8 *db = random_bytes(n, 2);
	a.tx = da;
	a.tx_len = n;
	b.tx = db;
	b.tx_len = n;
	pipe_pump(&a);
	pipe_pump(&b);
	want_len = n;
	assert_true(run_until(rx_reached, &a, 30000));
	assert_true(run_until(rx_reached, &b, 30000));
	assert_memory_equal(a.rx->data, da, n);
	assert_memory_equal(b.rx->data, db, n);
	pipe_clear(&a);
	pipe_clear(&b);
	usbip_device_free(d);
}

static gboolean resume_cb(gpointer user)
{
	Pipe *p = user;
	if (p->paused) {
		p->paused = FALSE;
		serial_port_rx_resume(p->port);
	}
	return G_SOURCE_CONTINUE;
}

/* A consumer that takes at most 1000 bytes a call and pauses: nothing is
 * lost and the engine never holds more than its reads in flight. */
static void test_backpressure_slow_consumer(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	p.accept_max = 1000;
	const gsize n = 2u << 20;
	g_autofree guint8 *data = random_bytes(n, 7);
	p.tx = data;
	p.tx_len = n;
	pipe_pump(&p);
	guint t = g_timeout_add(1, resume_cb, &p);
	want_len = n;
	assert_true(run_until(rx_reached, &p, 120000));
	g_source_remove(t);
	assert_memory_equal(p.rx->data, data, n);
	SerialPortStats st;
	serial_port_get_stats(p.port, &st);
	SerialPortConfig cfg;
	serial_port_config_init(&cfg);
	assert_true(st.rx_held_max > 0);
	assert_true(st.rx_held_max <= cfg.rx_urbs * cfg.rx_urb_size);
	/* writes in flight never exceed the URBs configured */
	assert_true(st.tx_inflight_max > 0);
	assert_true(st.tx_inflight_max <= cfg.tx_urbs * cfg.tx_urb_size);
	pipe_clear(&p);
	usbip_device_free(d);
}

static gsize held_max(Pipe *p)
{
	SerialPortStats st;
	serial_port_get_stats(p->port, &st);
	return st.rx_held_max;
}

static gboolean some_held(gpointer data)
{
	return held_max(data) > 0;
}

/* TCIFLUSH with bytes held for a full consumer: the held bytes arrived before
 * the flush and are dropped (counted), never delivered after it; the stream
 * goes on in order behind them. */
static void test_flush_rx_drops_held(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	p.accept_max = 1000;
	const gsize n = 256 * 1024;
	g_autofree guint8 *data = random_bytes(n, 13);
	p.tx = data;
	p.tx_len = n;
	pipe_pump(&p);
	assert_true(run_until(some_held, &p, 10000));
	run_for(100);
	assert_int_equal(p.rx->len, 1000); /* the consumer took no more */
	serial_port_flush_rx(p.port);
	SerialPortStats st;
	serial_port_get_stats(p.port, &st);
	assert_true(st.rx_flushed > 0);
	p.accept_max = 0;
	serial_port_rx_resume(p.port);
	want_len = n - st.rx_flushed;
	assert_true(run_until(rx_reached, &p, 20000));
	run_for(100);
	assert_int_equal(p.rx->len, n - st.rx_flushed);
	assert_memory_equal(p.rx->data, data, 1000);
	assert_memory_equal(p.rx->data + 1000, data + 1000 + st.rx_flushed, p.rx->len - 1000);
	pipe_clear(&p);
	usbip_device_free(d);
}

/* A write that ends on a packet boundary is ended by an explicit zero-length
 * OUT (usbipd-win ignores URB_ZERO_PACKET); one that does not, is not. */
static void test_zero_length_packet(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	const struct serial_function *f = serial_port_get_function(p.port);
	gsize mps = f->bulk_out_mps;
	assert_true(mps > 1);
	g_autofree guint8 *data = random_bytes(4 * mps, 3);
	/* 4 packets exactly: one ZLP follows */
	p.tx = data;
	p.tx_len = 4 * mps;
	pipe_pump(&p);
	want_len = 4 * mps;
	assert_true(run_until(rx_reached, &p, 5000));
	run_for(50);
	assert_int_equal(mock_server_get_zero_length_outs(fx->mock, "1-1"), 1);
	/* a short last packet ends the transfer by itself: no ZLP */
	p.tx = data;
	p.tx_len = mps + 1;
	p.tx_off = 0;
	pipe_pump(&p);
	want_len = 5 * mps + 1;
	assert_true(run_until(rx_reached, &p, 5000));
	run_for(50);
	assert_int_equal(mock_server_get_zero_length_outs(fx->mock, "1-1"), 1);
	assert_memory_equal(p.rx->data, data, 4 * mps);
	assert_memory_equal(p.rx->data + 4 * mps, data, mps + 1);
	pipe_clear(&p);
	usbip_device_free(d);
}

typedef struct {
	MockServer *mock;
	guint8 ep;
} LastLen;

static gboolean last_len_known(gpointer data)
{
	LastLen *ll = data;
	return mock_server_get_last_urb_len(ll->mock, "1-1", ll->ep) != 0;
}

/* A bulk-IN read asks for rx-urb-size rounded up to whole packets: a device
 * sends whole packets, and one that does not fit the rest of the buffer is a
 * babble (-EOVERFLOW) on a real host.  A size below the 64-byte minimum
 * counts as 64 (the fixture's 512-byte packets round both up alike). */
static void test_rx_urb_whole_packets(void **state)
{
	Fx *fx = *state;
	static const gsize asked[] = {100, 1, 16385, 512, USBIP_CONN_MAX_URB_OPTION};
	for (gsize i = 0; i < G_N_ELEMENTS(asked); i++) {
		UsbipDevice *d = start_dev(fx, "1-1", NULL);
		assert_non_null(d);
		SerialPortConfig cfg;
		serial_port_config_init(&cfg);
		cfg.rx_urb_size = asked[i];
		Pipe p;
		pipe_init_cfg(&p, d, 0, &cfg);
		const struct serial_function *f = serial_port_get_function(p.port);
		gsize mps = f->bulk_in_mps;
		assert_true(mps >= 8);
		gsize want = (MAX(asked[i], 64) + mps - 1) / mps * mps;
		/* the record starts at 0 with each import: wait for the reads */
		LastLen ll = {fx->mock, f->bulk_in_ep};
		assert_true(run_until(last_len_known, &ll, 5000));
		gint64 got = mock_server_get_last_urb_len(fx->mock, "1-1", f->bulk_in_ep);
		if (got != (gint64)want)
			fail_msg("rx-urb-size %zu, wMaxPacketSize %zu: read of %" G_GINT64_FORMAT
			         " bytes, want %zu",
			         asked[i], mps, got, want);
		/* and data still flows through reads of that size */
		g_autofree guint8 *data = random_bytes(3 * mps + 7, (guint32)i);
		p.tx = data;
		p.tx_len = 3 * mps + 7;
		pipe_pump(&p);
		want_len = p.tx_len;
		assert_true(run_until(rx_reached, &p, 5000));
		assert_memory_equal(p.rx->data, data, p.tx_len);
		pipe_clear(&p);
		usbip_device_free(d);
	}
}

/* ---- control requests ---- */

static int ctrl_done_count;
static void count_done(SerialPort *p, int status, gpointer user)
{
	assert_int_equal(status, *(int *)user);
	ctrl_done_count++;
}

static gboolean ctrl_count_reached(gpointer data)
{
	return ctrl_done_count >= GPOINTER_TO_INT(data);
}

typedef struct {
	gboolean done;
	int status;
	struct cdc_line_coding lc;
} LcCtx;

static void lc_cb(UsbipDevice *d, int status, const guint8 *data, gsize len, gpointer user)
{
	LcCtx *c = user;
	c->status = status;
	if (status == 0 && cdc_acm_line_coding_decode(&c->lc, data, len) < 0)
		c->status = -EPROTO;
	c->done = TRUE;
}

static gboolean lc_done(gpointer d)
{
	return ((LcCtx *)d)->done;
}

static void test_line_coding_and_lines_in_order(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	int ok = 0;
	ctrl_done_count = 0;
	const struct serial_line line = {.baud = 250000,
	                                 .stop_bits = SERIAL_STOP_2,
	                                 .parity = SERIAL_PARITY_EVEN,
	                                 .data_bits = 7};
	const struct cdc_line_coding lc = {
	    .rate = 250000, .stop_bits = CDC_STOP_2, .parity = CDC_PARITY_EVEN, .data_bits = 7};
	serial_port_set_line(p.port, &line, count_done, &ok);
	/* the ESP32 auto-reset dance: every step its own request, in order */
	const guint16 seq[] = {
	    CDC_CTRL_DTR | CDC_CTRL_RTS, CDC_CTRL_RTS, CDC_CTRL_DTR, 0, CDC_CTRL_DTR, CDC_CTRL_DTR};
	for (size_t i = 0; i < G_N_ELEMENTS(seq); i++)
		serial_port_set_lines(p.port, seq[i], count_done, &ok); /* same bits */
	serial_port_set_break(p.port, TRUE, count_done, &ok);
	serial_port_set_break(p.port, FALSE, count_done, &ok);
	assert_true(run_until(ctrl_count_reached, GINT_TO_POINTER(9), 5000));

	struct cdc_line_coding got;
	assert_true(mock_server_get_line_coding(fx->mock, "1-1", -1, &got, NULL));
	assert_true(cdc_acm_line_coding_equal(&got, &lc));
	g_autoptr(GArray) hist = mock_server_get_line_history(fx->mock, "1-1", -1, NULL);
	assert_non_null(hist);
	assert_int_equal(hist->len, G_N_ELEMENTS(seq));
	for (size_t i = 0; i < G_N_ELEMENTS(seq); i++)
		assert_int_equal(g_array_index(hist, guint16, i), seq[i]);
	/* a break is on ("until cleared"), then off, as the kernel's cdc-acm */
	g_autoptr(GArray) brk = mock_server_get_break_history(fx->mock, "1-1", -1, NULL);
	assert_int_equal(brk->len, 2);
	assert_int_equal(g_array_index(brk, guint16, 0), CDC_BREAK_FOREVER);
	assert_int_equal(g_array_index(brk, guint16, 1), 0);

	/* the device reads back what it was told */
	LcCtx c = {0};
	struct usb_setup get;
	cdc_acm_setup_get_line_coding(&get, serial_port_get_function(p.port)->intf);
	usbip_device_control(d, &get, NULL, lc_cb, &c);
	assert_true(run_until(lc_done, &c, 5000));
	assert_int_equal(c.status, 0);
	assert_true(cdc_acm_line_coding_equal(&c.lc, &lc));

	/* an invalid setting is refused locally, and nothing is sent */
	int einval = -EINVAL;
	const struct serial_line bad = {.baud = 9600, .data_bits = 9};
	guint before = hist->len;
	serial_port_set_line(p.port, &bad, count_done, &einval);
	assert_int_equal(ctrl_done_count, 9); /* never from inside the call */
	assert_true(run_until(ctrl_count_reached, GINT_TO_POINTER(10), 5000));
	g_autoptr(GArray) hist2 = mock_server_get_line_history(fx->mock, "1-1", -1, NULL);
	assert_int_equal(hist2->len, before);
	pipe_clear(&p);
	usbip_device_free(d);
}

static gboolean state_seen(gpointer data)
{
	return ((Pipe *)data)->n_serial_state > 0;
}

static void test_serial_state_notification(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	run_for(50);
	assert_true(mock_server_inject_serial_state(fx->mock, "1-1", -1,
	                                            CDC_SS_DCD | CDC_SS_DSR | CDC_SS_RI, NULL));
	assert_true(run_until(state_seen, &p, 5000));
	const guint want = SERIAL_CTS | SERIAL_DCD | SERIAL_DSR | SERIAL_RI;
	assert_true(p.status.has_lines);
	assert_int_equal(p.status.lines, want);
	assert_int_equal(p.status.events, 0);
	assert_int_equal(serial_port_get_input_lines(p.port), want);
	p.n_serial_state = 0;
	assert_true(mock_server_inject_serial_state(fx->mock, "1-1", -1, CDC_SS_BREAK, NULL));
	assert_true(run_until(state_seen, &p, 5000));
	assert_int_equal(p.status.lines, SERIAL_CTS);
	assert_int_equal(p.status.events, SERIAL_EV_BREAK);
	pipe_clear(&p);
	usbip_device_free(d);
}

/* 1-1 attached and its port up, then its bulk IN or OUT endpoint halted. */
static UsbipDevice *stalled_pipe(Fx *fx, Pipe *p, gboolean out)
{
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	pipe_init(p, d, 0);
	run_for(50);
	const struct serial_function *f = serial_port_get_function(p->port);
	assert_true(mock_server_stall(fx->mock, "1-1", out ? f->bulk_out_ep : f->bulk_in_ep, NULL));
	return d;
}

/* A stalled bulk-IN endpoint is cleared and data flows again. */
static void test_stall_recovery(void **state)
{
	Fx *fx = *state;
	Pipe p;
	UsbipDevice *d = stalled_pipe(fx, &p, FALSE);
	run_for(100);
	const gsize n = 100000;
	g_autofree guint8 *data = random_bytes(n, 9);
	p.tx = data;
	p.tx_len = n;
	pipe_pump(&p);
	want_len = n;
	assert_true(run_until(rx_reached, &p, 20000));
	assert_memory_equal(p.rx->data, data, n);
	SerialPortStats st;
	serial_port_get_stats(p.port, &st);
	assert_true(st.stalls >= 1);
	assert_true(usbip_device_is_up(d));
	assert_int_equal(usbip_device_get_reconnects(d), 0);
	pipe_clear(&p);
	usbip_device_free(d);
}

/* A halted bulk OUT: the writes in flight when it stalled are lost (and
 * reported), one CLEAR_FEATURE(HALT) goes out, and no further write goes to
 * the halted pipe before it is done: the rest of the stream arrives whole. */
static void test_stall_out_loses_only_inflight(void **state)
{
	Fx *fx = *state;
	Pipe p;
	UsbipDevice *d = stalled_pipe(fx, &p, TRUE);
	SerialPortConfig cfg;
	serial_port_config_init(&cfg);
	const gsize n = 8 * cfg.tx_urbs * cfg.tx_urb_size;
	g_autofree guint8 *data = random_bytes(n, 11);
	p.tx = data;
	p.tx_len = n;
	pipe_pump(&p);
	want_len = n - cfg.tx_urbs * cfg.tx_urb_size;
	assert_true(run_until(rx_reached, &p, 20000));
	run_for(200);
	assert_true(p.lost > 0);
	assert_true(p.lost <= cfg.tx_urbs * cfg.tx_urb_size);
	assert_int_equal(p.rx->len + p.lost, n);
	assert_memory_equal(p.rx->data, data + p.lost, p.rx->len);
	SerialPortStats st;
	serial_port_get_stats(p.port, &st);
	assert_int_equal(st.stalls, 1);
	assert_int_equal(usbip_device_get_reconnects(d), 0);
	pipe_clear(&p);
	usbip_device_free(d);
}

/* ---- link loss ---- */

static gboolean pipe_down(gpointer data)
{
	return !((Pipe *)data)->up;
}

static gboolean pipe_up(gpointer data)
{
	return ((Pipe *)data)->up;
}

/* Stream A (bytes < 128) is cut by a server restart; stream B (bytes >= 128)
 * is written after the reconnect.  What arrives must be a prefix of A
 * followed by exactly B: nothing duplicated, nothing re-sent. */
static void test_server_restart_midstream(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	const struct cdc_line_coding lc = {.rate = 57600, .data_bits = 8};
	const struct serial_line line = {.baud = 57600, .data_bits = 8};
	serial_port_set_line(p.port, &line, NULL, NULL);
	serial_port_set_lines(p.port, SERIAL_DTR | SERIAL_RTS, NULL, NULL);

	const gsize n = 4u << 20;
	g_autofree guint8 *a = g_malloc(n);
	g_autofree guint8 *b = g_malloc(n / 4);
	for (gsize i = 0; i < n; i++)
		a[i] = (guint8)(i % 127);
	for (gsize i = 0; i < n / 4; i++)
		b[i] = (guint8)(128 + i % 127);
	p.tx = a;
	p.tx_len = n;
	p.stop_tx_on_down = TRUE;
	pipe_pump(&p);
	want_len = 256 * 1024;
	assert_true(run_until(rx_reached, &p, 30000));

	/* kill the server mid-transfer and start a new one on the same port */
	mock_server_free(fx->mock);
	fx->mock = NULL;
	assert_true(run_until(pipe_down, &p, 10000));
	GError *err = NULL;
	fx->mock = mock_server_new(fixture_dir(), "127.0.0.1", fx->port, &err);
	if (!fx->mock)
		fail_msg("restart: %s", err->message);
	assert_true(run_until(pipe_up, &p, 20000));
	assert_true(usbip_device_get_reconnects(d) >= 1);
	gsize before = p.rx->len;
	assert_true(before < n);
	/* The rest of A was dropped and reported, never re-sent. */
	assert_true(p.lost > 0);

	/* the new server got the setup again */
	run_for(100);
	struct cdc_line_coding got;
	assert_true(mock_server_get_line_coding(fx->mock, "1-1", -1, &got, NULL));
	assert_true(cdc_acm_line_coding_equal(&got, &lc));
	g_autoptr(GArray) hist = mock_server_get_line_history(fx->mock, "1-1", -1, NULL);
	assert_true(hist->len >= 1);
	assert_int_equal(g_array_index(hist, guint16, hist->len - 1), CDC_CTRL_DTR | CDC_CTRL_RTS);

	p.tx = b;
	p.tx_len = n / 4;
	p.tx_off = 0;
	pipe_pump(&p);
	want_len = before + n / 4;
	assert_true(run_until(rx_reached, &p, 30000));
	run_for(50);
	assert_int_equal(p.rx->len, before + n / 4);
	assert_memory_equal(p.rx->data, a, before);
	assert_memory_equal(p.rx->data + before, b, n / 4);
	pipe_clear(&p);
	usbip_device_free(d);
}

static void test_unplug_and_return(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	run_for(50);
	assert_true(mock_server_unplug(fx->mock, "1-1", NULL));
	assert_true(run_until(pipe_down, &p, 5000));
	assert_int_equal(p.downs, 1);
	/* while unplugged, reconnects fail and back off */
	run_for(300);
	assert_false(p.up);
	assert_false(usbip_device_is_up(d));
	/* nothing is taken from the writer while the link is down */
	p.tx = (const guint8 *)"x";
	p.tx_len = 1;
	p.tx_off = 0;
	pipe_pump(&p);
	run_for(50);
	assert_int_equal(p.tx_off, 0);
	p.tx_len = 0; /* (it would go out once the device is back) */
	assert_true(mock_server_replug(fx->mock, "1-1", NULL));
	assert_true(run_until(pipe_up, &p, 10000));
	const gsize n = 50000;
	g_autofree guint8 *data = random_bytes(n, 5);
	p.tx = data;
	p.tx_len = n;
	pipe_pump(&p);
	want_len = n;
	assert_true(run_until(rx_reached, &p, 20000));
	assert_memory_equal(p.rx->data, data, n);
	pipe_clear(&p);
	usbip_device_free(d);
}

/* A dropped TCP connection (no replies at all) reconnects the same way. */
static void test_drop_reconnects(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-2", NULL);
	assert_non_null(d);
	g_autofree char *serial = g_strdup(usbip_device_get_serial(d));
	Pipe p;
	pipe_init(&p, d, 0);
	run_for(50);
	assert_true(mock_server_drop(fx->mock, "1-2", NULL));
	assert_true(run_until(pipe_down, &p, 5000));
	assert_true(run_until(pipe_up, &p, 10000));
	assert_string_equal(usbip_device_get_busid(d), "1-2");
	assert_string_equal(usbip_device_get_serial(d), serial);
	pipe_clear(&p);
	usbip_device_free(d);
}

/* A control request the server never answers times out, and the link is
 * re-established rather than left in an unknown state. */
static void test_control_timeout(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	run_for(50);
	assert_true(mock_server_set_delay(fx->mock, "1-1", 3000, NULL));
	int etimedout = -ETIMEDOUT;
	ctrl_done_count = 0;
	serial_port_set_lines(p.port, SERIAL_DTR, count_done, &etimedout);
	assert_true(run_until(ctrl_count_reached, GINT_TO_POINTER(1), 5000));
	assert_true(run_until(pipe_down, &p, 2000));
	assert_true(mock_server_set_delay(fx->mock, "1-1", 0, NULL));
	assert_true(run_until(pipe_up, &p, 10000));
	pipe_clear(&p);
	usbip_device_free(d);
}

/* IPv6 literals and host names reach the server too. */
static void test_ipv6_and_names(void **state)
{
	GError *err = NULL;
	g_autoptr(MockServer) m6 = mock_server_new(fixture_dir(), "::1", 0, &err);
	if (!m6) {
		/* a machine without IPv6 loopback: nothing to test there */
		g_clear_error(&err);
		skip();
	}
	g_autofree char *v6 = g_strdup_printf("[::1]:%u", mock_server_get_port(m6));
	ListCtx c = {0};
	usbip_conn_list_async(v6, NULL, list_cb, &c);
	assert_true(run_until(list_done, &c, 5000));
	if (!c.list)
		fail_msg("%s: %s", v6, c.error->message);
	assert_true(c.list->len > 0);
	g_ptr_array_unref(c.list);

	Fx *fx = *state;
	g_autofree char *named = g_strdup_printf("localhost:%u", fx->port);
	ListCtx n = {0};
	usbip_conn_list_async(named, NULL, list_cb, &n);
	assert_true(run_until(list_done, &n, 5000));
	if (!n.list)
		fail_msg("%s: %s", named, n.error->message);
	g_ptr_array_unref(n.list);

	char *host = NULL;
	guint16 port = 0;
	assert_true(usbip_conn_parse_server("fe80::1", &host, &port, NULL));
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, USBIP_PORT);
	g_free(host);
	assert_true(usbip_conn_parse_server("[fe80::1]:99", &host, &port, NULL));
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 99);
	g_free(host);
	assert_false(usbip_conn_parse_server("host:0", &host, &port, &err));
	g_clear_error(&err);
	assert_false(usbip_conn_parse_server("", &host, &port, &err));
	g_clear_error(&err);
}

/* A hand-written server that imports 1-1 and then answers the first URB
 * with a seqnum nobody asked for (or a longer reply than asked): the client
 * must drop the connection with a clear error instead of trusting it. */
typedef struct {
	GSocketService *svc; /* a GThreadedSocketService */
	guint16 port;
	int mode; /* 0: unknown seqnum, 1: too long */
} EvilServer;

static gboolean read_exact(GInputStream *in, guint8 *buf, gsize n)
{
	gsize got = 0;
	return g_input_stream_read_all(in, buf, n, &got, NULL, NULL) && got == n;
}

static gboolean evil_run(GThreadedSocketService *svc, GSocketConnection *conn, GObject *src,
                         gpointer user)
{
	EvilServer *e = user;
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	guint8 buf[512];
	struct usbip_op_hdr h;
	/* A threaded service: this handler may block while the client, on
	 * the test's main loop, goes on. */
	if (!read_exact(in, buf, USBIP_OP_HDR_SIZE) ||
	    usbip_proto_op_hdr_decode(&h, buf, USBIP_OP_HDR_SIZE) < 0)
		return TRUE;
	struct usbip_device dev = {.busnum = 1,
	                           .devnum = 1,
	                           .speed = 3,
	                           .idVendor = 0x0525,
	                           .idProduct = 0xa4a7,
	                           .bNumConfigurations = 1,
	                           .bNumInterfaces = 0};
	g_strlcpy(dev.busid, "1-1", sizeof(dev.busid));
	g_strlcpy(dev.path, "/sys/evil", sizeof(dev.path));
	if (h.code == USBIP_OP_REQ_DEVLIST) {
		gssize n = usbip_proto_devlist_head_encode(0, 1, buf, sizeof(buf));
		n += usbip_proto_devlist_entry_encode(&dev, NULL, buf + n, sizeof(buf) - (gsize)n);
		g_output_stream_write_all(out, buf, (gsize)n, NULL, NULL, NULL);
		return TRUE;
	}
	if (!read_exact(in, buf, USBIP_BUSID_SIZE))
		return TRUE;
	struct usbip_op_hdr rep = {.version = USBIP_VERSION, .code = USBIP_OP_REP_IMPORT};
	usbip_proto_op_hdr_encode(&rep, buf, sizeof(buf));
	usbip_proto_device_encode(&dev, buf + USBIP_OP_HDR_SIZE, sizeof(buf) - USBIP_OP_HDR_SIZE);
	g_output_stream_write_all(out, buf, USBIP_OP_HDR_SIZE + USBIP_DEVICE_SIZE, NULL, NULL,
	                          NULL);
	/* first URB: GET_DESCRIPTOR(device, 18) */
	struct usbip_urb_hdr u;
	if (!read_exact(in, buf, USBIP_URB_HDR_SIZE) ||
	    usbip_proto_urb_hdr_decode(&u, buf, USBIP_URB_HDR_SIZE) < 0)
		return TRUE;
	struct usbip_urb_hdr r = {.command = USBIP_RET_SUBMIT, .seqnum = u.seqnum};
	r.u.ret_submit.actual_length = 18;
	if (e->mode == 0)
		r.seqnum = u.seqnum + 1000;
	else
		r.u.ret_submit.actual_length = 64; /* asked for 18 */
	usbip_proto_urb_hdr_encode(&r, buf, sizeof(buf));
	memset(buf + USBIP_URB_HDR_SIZE, 0x12, 64);
	g_output_stream_write_all(out, buf, USBIP_URB_HDR_SIZE + 64, NULL, NULL, NULL);
	/* hold the connection until the client gives up on it */
	while (g_input_stream_read(in, buf, sizeof(buf), NULL, NULL) > 0)
		;
	return TRUE;
}

static void test_untrusted_reply_drops_link(void **state)
{
	for (int mode = 0; mode < 2; mode++) {
		EvilServer e = {.mode = mode};
		e.svc = g_threaded_socket_service_new(4);
		GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
		GSocketAddress *sa = g_inet_socket_address_new(lo, 0);
		GSocketAddress *eff = NULL;
		assert_true(g_socket_listener_add_address(G_SOCKET_LISTENER(e.svc), sa,
		                                          G_SOCKET_TYPE_STREAM,
		                                          G_SOCKET_PROTOCOL_TCP, NULL, &eff, NULL));
		e.port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(eff));
		g_object_unref(eff);
		g_object_unref(sa);
		g_object_unref(lo);
		g_signal_connect(e.svc, "run", G_CALLBACK(evil_run), &e);
		g_socket_service_start(e.svc);

		Fx fake = {0};
		g_snprintf(fake.server, sizeof(fake.server), "127.0.0.1:%u", e.port);
		GError *err = NULL;
		assert_null(start_dev(&fake, "1-1", &err));
		assert_non_null(err);
		/* the error names what went wrong */
		assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_PROTOCOL));
		assert_non_null(strstr(err->message, "GET_DESCRIPTOR(device)"));
		assert_non_null(
		    strstr(err->message, mode == 0 ? "unknown seqnum" : "18 were asked for"));
		g_clear_error(&err);
		g_socket_service_stop(e.svc);
		g_socket_listener_close(G_SOCKET_LISTENER(e.svc));
		g_object_unref(e.svc);
		run_for(20);
	}
}

typedef struct {
	gboolean done;
} ShutCtx;

static void shut_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	((ShutCtx *)user)->done = TRUE;
}

static gboolean shut_done(gpointer d)
{
	return ((ShutCtx *)d)->done;
}

static gboolean mock_free_state(gpointer d)
{
	Fx *fx = d;
	return g_strcmp0(mock_server_get_state(fx->mock, "1-1"), "free") == 0;
}

/* Orderly close: every URB unlinked and answered, then the connection
 * closed, and the server releases the device. */
static void test_orderly_shutdown(void **state)
{
	Fx *fx = *state;
	UsbipDevice *d = start_dev(fx, "1-1", NULL);
	assert_non_null(d);
	Pipe p;
	pipe_init(&p, d, 0);
	run_for(50);
	assert_string_equal(mock_server_get_state(fx->mock, "1-1"), "imported");
	UsbipConn *c = usbip_conn_ref(usbip_device_get_conn(d));
	assert_true(usbip_conn_pending(c) >= 16); /* reads + notification in flight */
	ShutCtx s = {0};
	usbip_device_shutdown_async(d, 2000, shut_cb, &s);
	assert_true(run_until(shut_done, &s, 5000));
	assert_int_equal(usbip_conn_pending(c), 0);
	assert_true(usbip_conn_is_closed(c));
	usbip_conn_unref(c);
	assert_false(p.up);
	assert_true(run_until(mock_free_state, fx, 5000));
	/* no reconnect after a shutdown */
	run_for(300);
	assert_false(usbip_device_is_up(d));
	pipe_clear(&p);
	usbip_device_free(d);
}

/* ---- RET_UNLINK without RET_SUBMIT (Linux's race) ---- */

static gboolean unlink_race_run(GThreadedSocketService *svc, GSocketConnection *conn, GObject *src,
                                gpointer user)
{
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
	guint8 buf[512];
	struct usbip_urb_hdr a, u, r;
	struct usbip_device dev = {.busnum = 1, .devnum = 1, .bNumConfigurations = 1};
	g_strlcpy(dev.busid, "1-1", sizeof(dev.busid));
	if (!read_exact(in, buf, USBIP_IMPORT_REQ_SIZE))
		return TRUE;
	struct usbip_op_hdr rep = {.version = USBIP_VERSION, .code = USBIP_OP_REP_IMPORT};
	usbip_proto_op_hdr_encode(&rep, buf, sizeof(buf));
	usbip_proto_device_encode(&dev, buf + USBIP_OP_HDR_SIZE, sizeof(buf) - USBIP_OP_HDR_SIZE);
	g_output_stream_write_all(out, buf, USBIP_OP_HDR_SIZE + USBIP_DEVICE_SIZE, NULL, NULL,
	                          NULL);
	/* a bulk-IN read, then its unlink */
	if (!read_exact(in, buf, USBIP_URB_HDR_SIZE) ||
	    usbip_proto_urb_hdr_decode(&a, buf, USBIP_URB_HDR_SIZE) < 0)
		return TRUE;
	if (!read_exact(in, buf, USBIP_URB_HDR_SIZE) ||
	    usbip_proto_urb_hdr_decode(&u, buf, USBIP_URB_HDR_SIZE) < 0)
		return TRUE;
	/* "it completed just before the unlink": RET_UNLINK 0, and (as another
	 * server might) the RET_SUBMIT afterwards, with 3 bytes */
	r = (struct usbip_urb_hdr){.command = USBIP_RET_UNLINK, .seqnum = u.seqnum};
	usbip_proto_urb_hdr_encode(&r, buf, sizeof(buf));
	r = (struct usbip_urb_hdr){.command = USBIP_RET_SUBMIT, .seqnum = a.seqnum};
	r.u.ret_submit.actual_length = 3;
	usbip_proto_urb_hdr_encode(&r, buf + USBIP_URB_HDR_SIZE, sizeof(buf) - USBIP_URB_HDR_SIZE);
	memcpy(buf + 2 * USBIP_URB_HDR_SIZE, "old", 3);
	g_output_stream_write_all(out, buf, 2 * USBIP_URB_HDR_SIZE + 3, NULL, NULL, NULL);
	/* a second read is answered normally */
	if (!read_exact(in, buf, USBIP_URB_HDR_SIZE) ||
	    usbip_proto_urb_hdr_decode(&a, buf, USBIP_URB_HDR_SIZE) < 0)
		return TRUE;
	r = (struct usbip_urb_hdr){.command = USBIP_RET_SUBMIT, .seqnum = a.seqnum};
	r.u.ret_submit.actual_length = 3;
	usbip_proto_urb_hdr_encode(&r, buf, sizeof(buf));
	memcpy(buf + USBIP_URB_HDR_SIZE, "new", 3);
	g_output_stream_write_all(out, buf, USBIP_URB_HDR_SIZE + 3, NULL, NULL, NULL);
	while (g_input_stream_read(in, buf, sizeof(buf), NULL, NULL) > 0)
		;
	return TRUE;
}

typedef struct {
	UsbipConn *conn;
	gboolean imported;
	int n;
	int status[2];
	gsize len[2];
	char data[2][8];
} RaceCtx;

static void race_import_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	RaceCtx *c = user;
	c->conn = usbip_conn_import_finish(res, NULL, NULL);
	c->imported = TRUE;
}

static void race_urb_cb(UsbipConn *conn, const UsbipUrbResult *r, gpointer user)
{
	RaceCtx *c = user;
	c->status[c->n] = r->status;
	c->len[c->n] = r->actual_length;
	if (r->data && r->actual_length <= 7)
		memcpy(c->data[c->n], r->data, r->actual_length);
	c->n++;
}

static gboolean race_imported(gpointer d)
{
	return ((RaceCtx *)d)->imported;
}

static gboolean race_n1(gpointer d)
{
	return ((RaceCtx *)d)->n >= 1;
}

static gboolean race_n2(gpointer d)
{
	return ((RaceCtx *)d)->n >= 2;
}

static void test_unlink_answered_without_submit(void **state)
{
	GSocketService *svc = g_threaded_socket_service_new(2);
	GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	GSocketAddress *sa = g_inet_socket_address_new(lo, 0), *eff = NULL;
	assert_true(g_socket_listener_add_address(G_SOCKET_LISTENER(svc), sa, G_SOCKET_TYPE_STREAM,
	                                          G_SOCKET_PROTOCOL_TCP, NULL, &eff, NULL));
	g_autofree char *server = g_strdup_printf(
	    "127.0.0.1:%u", g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(eff)));
	g_object_unref(eff);
	g_object_unref(sa);
	g_object_unref(lo);
	g_signal_connect(svc, "run", G_CALLBACK(unlink_race_run), NULL);
	g_socket_service_start(svc);

	RaceCtx c = {0};
	usbip_conn_import_async(server, "1-1", NULL, race_import_cb, &c);
	assert_true(run_until(race_imported, &c, 5000));
	assert_non_null(c.conn);
	guint32 seq = usbip_conn_submit(c.conn, 0x81, NULL, NULL, 64, 0, race_urb_cb, &c);
	assert_true(seq != 0);
	assert_true(usbip_conn_unlink(c.conn, seq));
	assert_false(usbip_conn_unlink(c.conn, seq)); /* never twice */
	assert_true(run_until(race_n1, &c, 5000));
	/* completed by the RET_UNLINK: status 0, its IN data gone */
	assert_int_equal(c.status[0], 0);
	assert_int_equal(c.len[0], 0);
	/* the late RET_SUBMIT was swallowed, the link stays, the next read works */
	assert_true(usbip_conn_submit(c.conn, 0x81, NULL, NULL, 64, 0, race_urb_cb, &c) != 0);
	assert_true(run_until(race_n2, &c, 5000));
	assert_false(usbip_conn_is_closed(c.conn));
	assert_int_equal(c.status[1], 0);
	assert_int_equal(c.len[1], 3);
	assert_memory_equal(c.data[1], "new", 3);
	assert_int_equal(usbip_conn_pending(c.conn), 0);
	usbip_conn_unref(c.conn);
	g_socket_service_stop(svc);
	g_socket_listener_close(G_SOCKET_LISTENER(svc));
	g_object_unref(svc);
	run_for(20);
}

static void never_called(GObject *src, GAsyncResult *res, gpointer user)
{
	/* the start result may arrive, but must not touch the freed device */
	*(gboolean *)user = TRUE;
}

/* Freeing a device while its list/import is in flight is safe (ASan checks
 * the rest), at every stage of the attempt. */
static void test_free_while_connecting(void **state)
{
	Fx *fx = *state;
	for (guint delay = 0; delay < 40; delay += 2) {
		UsbipSelector sel;
		assert_true(usbip_selector_parse("1-1", &sel, NULL));
		UsbipDeviceConfig cfg = fast_cfg();
		UsbipDevice *d = usbip_device_new(fx->server, &sel, &cfg);
		gboolean called = FALSE;
		usbip_device_start_async(d, never_called, &called);
		run_for(delay);
		usbip_device_free(d);
		run_for(30);
		assert_true(run_until(mock_free_state, fx, 5000));
	}
}

/* uc_now_us: one time per main-loop iteration, read after the poll (a
 * handler after a long sleep gets the time it woke, not the time it slept). */
typedef struct {
	gint64 first, second, real;
	gboolean ran;
} NowCtx;

static gboolean now_twice(gpointer user)
{
	NowCtx *n = user;
	n->real = g_get_monotonic_time();
	n->first = uc_now_us();
	g_usleep(20000);
	n->second = uc_now_us();
	n->ran = TRUE;
	return G_SOURCE_REMOVE;
}

static void test_now_is_the_dispatch_time(void **state)
{
	NowCtx n = {0};
	gint64 t0 = g_get_monotonic_time();
	/* outside a dispatch: the clock */
	assert_true(uc_now_us() >= t0);
	assert_true(uc_now_us() - t0 < G_USEC_PER_SEC);
	/* the main loop sleeps 300 ms in its poll before the dispatch */
	g_timeout_add(300, now_twice, &n);
	while (!n.ran)
		g_main_context_iteration(NULL, TRUE);
	assert_true(n.real - t0 >= 300000);
	assert_true(n.first - t0 >= 300000);
	assert_true(n.first <= n.real);
	assert_true(n.real - n.first < 100000);
	assert_int_equal(n.second, n.first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_selector_parse),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_now_is_the_dispatch_time),
	    cmocka_unit_test_setup_teardown(test_list_matches_fixtures, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_enumerate_fixtures, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_select_failures, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_select_by_vidpid_serial_index, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_loopback_16mib, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_two_functions, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_backpressure_slow_consumer, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_line_coding_and_lines_in_order, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_serial_state_notification, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_stall_out_loses_only_inflight, fx_setup,
	                                    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_flush_rx_drops_held, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_stall_recovery, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_server_restart_midstream, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unplug_and_return, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_drop_reconnects, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_control_timeout, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_and_names, fx_setup, fx_teardown),
	    cmocka_unit_test(test_untrusted_reply_drops_link),
	    cmocka_unit_test_setup_teardown(test_orderly_shutdown, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_free_while_connecting, fx_setup, fx_teardown),
	    cmocka_unit_test(test_unlink_answered_without_submit),
	    cmocka_unit_test_setup_teardown(test_zero_length_packet, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_rx_urb_whole_packets, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
