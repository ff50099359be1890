/* SPDX-License-Identifier: MIT */
/*
 * The client engine (usbip_conn, usbip_device) and `usbip-cuse list` against
 * the hostile server (issue 10): every misbehaviour ends in a clear error or a
 * dropped and re-established link within a bound, never a hang, a crash or a
 * value from the wire passed on unchecked.  One GMainContext, no threads of
 * ours (the server runs its own).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "hostile_server.h"
#include "uc_error.h"
#include "usbip_device.h"

#include "engine_test.h"

/* ---- fixture: a hostile server with the given behaviours ---- */

typedef struct {
	HostileServer *hs;
	char server[64];
} Fx;

static Fx *fx_new(const char *const *items)
{
	HostileConfig cfg;
	GError *err = NULL;
	hostile_config_init(&cfg);
	for (; items && *items; items++)
		if (!hostile_config_add(&cfg, *items, &err))
			fail_msg("%s", err->message);
	Fx *fx = g_new0(Fx, 1);
	fx->hs = hostile_server_new(&cfg, "127.0.0.1", 0, &err);
	if (!fx->hs)
		fail_msg("hostile server: %s", err->message);
	g_snprintf(fx->server, sizeof(fx->server), "127.0.0.1:%u", hostile_server_get_port(fx->hs));
	return fx;
}

static Fx *fx_one(const char *item)
{
	const char *items[] = {item, NULL};
	return fx_new(items);
}

static void fx_free(Fx *fx)
{
	hostile_server_free(fx->hs);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_free(fx);
}

static UsbipDeviceConfig fast_cfg(void)
{
	UsbipDeviceConfig cfg;
	usbip_device_config_init(&cfg);
	cfg.backoff_initial_ms = 20;
	cfg.backoff_max_ms = 200;
	cfg.control_timeout_ms = 1000;
	cfg.attach_timeout_ms = 3000;
	cfg.op_timeout_ms = 2000;
	cfg.stall_timeout_ms = 1000;
	cfg.stable_ms = 1000;
	return cfg;
}

/* ---- start ---- */

/* Start with cfg; the callback must come within 15 s whatever the server
 * does (the attach deadline is 3 s).  Returns the device or NULL + error. */
static UsbipDevice *start_dev_cfg(Fx *fx, const UsbipDeviceConfig *cfg, GError **error)
{
	UsbipSelector sel;
	assert_true(usbip_selector_parse("1-1", &sel, NULL));
	return start_device(fx->server, &sel, cfg, 15000, error);
}

static UsbipDevice *start_dev(Fx *fx, GError **error)
{
	UsbipDeviceConfig cfg = fast_cfg();
	return start_dev_cfg(fx, &cfg, error);
}

/* ---- list ---- */

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

static void list_with(Fx *fx, guint timeout_ms, ListCtx *c)
{
	usbip_conn_list_full_async(fx->server, timeout_ms, NULL, list_cb, c);
	assert_true(run_until(list_done, c, timeout_ms + 10000));
}

static gboolean has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((guchar)*s < 0x20 || *s == 0x7f)
			return TRUE;
	return FALSE;
}

/* OP statuses: every refusal names the status and its meaning. */
static void test_list_and_import_status(void **state)
{
	static const struct {
		const char *item;
		const char *want;
	} v[] = {
	    {"1", "ST_NA (request failed)"},
	    {"2", "ST_DEV_BUSY (device busy)"},
	    {"3", "ST_DEV_ERR (device in error state)"},
	    {"4", "ST_NODEV (no such device)"},
	    {"5", "ST_ERROR (unexpected response)"},
	    {"600", "status 600 (not a USBIP status)"},
	    {"-1", "status 4294967295 (not a USBIP status)"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(v); i++) {
		g_autofree char *li = g_strdup_printf("list-status=%s", v[i].item);
		Fx *fx = fx_one(li);
		ListCtx c = {0};
		list_with(fx, 2000, &c);
		assert_null(c.list);
		assert_non_null(strstr(c.error->message, v[i].want));
		g_clear_error(&c.error);
		fx_free(fx);

		g_autofree char *ii = g_strdup_printf("import-status=%s", v[i].item);
		fx = fx_one(ii);
		GError *err = NULL;
		assert_null(start_dev(fx, &err));
		if (!strstr(err->message, v[i].want) ||
		    !strstr(err->message, "refused to export 1-1"))
			fail_msg("import %s: \"%s\"", v[i].item, err->message);
		g_clear_error(&err);
		fx_free(fx);
	}
}

/* Each status the server chooses for a class request arrives as 0 or a
 * small negative errno: fuse_reply_err() takes it as is. */
typedef struct {
	gboolean done;
	int status;
} CtrlCtx;

static void ctrl_cb(UsbipDevice *d, int status, const guint8 *data, gsize len, gpointer user)
{
	CtrlCtx *c = user;
	c->status = status;
	c->done = TRUE;
}

static gboolean ctrl_done(gpointer d)
{
	return ((CtrlCtx *)d)->done;
}

static void test_ctrl_status_mapped(void **state)
{
	static const struct {
		const char *wire;
		int want;
	} v[] = {
	    {"-600", -EIO},  {"-2147483648", -EIO}, {"2147483647", -EIO},
	    {"1", -EIO},     {"-512", -EIO},        {"-115", -EIO}, /* -EINPROGRESS */
	    {"-32", -EPIPE}, {"-71", -EPROTO},      {"0", 0},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(v); i++) {
		g_autofree char *item = g_strdup_printf("ctrl-status=%s", v[i].wire);
		Fx *fx = fx_one(item);
		UsbipDevice *d = start_dev(fx, NULL);
		assert_non_null(d);
		/* SET_CONTROL_LINE_STATE DTR|RTS on interface 0 */
		struct usb_setup s = {.bmRequestType = 0x21, .bRequest = 0x22, .wValue = 3};
		CtrlCtx c = {0};
		usbip_device_control(d, &s, NULL, ctrl_cb, &c);
		assert_true(run_until(ctrl_done, &c, 5000));
		assert_int_equal(c.status, v[i].want);
		usbip_device_free(d);
		fx_free(fx);
	}
}

/* A trickling or stalled OP reply ends at the total deadline. */
static void test_op_deadlines(void **state)
{
	const char *list_modes[] = {"trickle-list=300", "stall-list=100", "stall-list=5"};
	for (gsize i = 0; i < G_N_ELEMENTS(list_modes); i++) {
		Fx *fx = fx_one(list_modes[i]);
		ListCtx c = {0};
		gint64 t0 = g_get_monotonic_time();
		list_with(fx, 1500, &c);
		assert_null(c.list);
		assert_true(g_error_matches(c.error, UC_ERROR, UC_ERROR_TIMEOUT));
		assert_non_null(strstr(c.error->message, "within 1500 ms"));
		/* ended by the deadline, not by the 10 s read timeout */
		assert_true(g_get_monotonic_time() - t0 < 8 * G_USEC_PER_SEC);
		g_clear_error(&c.error);
		fx_free(fx);
	}
	/* The import reply (and then the whole attach) trickles. */
	const char *start_modes[] = {"trickle-import=300", "trickle-urb=15"};
	for (gsize i = 0; i < G_N_ELEMENTS(start_modes); i++) {
		Fx *fx = fx_one(start_modes[i]);
		UsbipDeviceConfig cfg = fast_cfg();
		cfg.op_timeout_ms = 60000; /* the attach deadline must do it */
		cfg.control_timeout_ms = 60000;
		GError *err = NULL;
		assert_null(start_dev_cfg(fx, &cfg, &err));
		assert_true(g_error_matches(err, UC_ERROR, UC_ERROR_TIMEOUT));
		assert_non_null(strstr(err->message, "took longer than 3000 ms"));
		g_clear_error(&err);
		fx_free(fx);
	}
}

/* Replies that break the protocol or lie: a clear error, no hang. */
static void test_bad_replies(void **state)
{
	static const struct {
		const char *item;
		GQuark domain;
		int code;
		const char *want;
	} v[] = {
	    {"unknown-seqnum", 0, UC_ERROR_PROTOCOL, "unknown seqnum"},
	    {"long-actual=100", 0, UC_ERROR_PROTOCOL, "118 bytes (0 packets) when 18"},
	    {"negative-length=-1", 0, UC_ERROR_PROTOCOL, "-1 bytes"},
	    {"negative-length=-2147483648", 0, UC_ERROR_PROTOCOL, "-2147483648 bytes"},
	    {"truncate-urb=20", 0, UC_ERROR_DISCONNECTED, "closed the connection"},
	    {"truncate-urb=0", 0, UC_ERROR_DISCONNECTED, "closed the connection"},
	    {"reset-urb", 0, UC_ERROR_DISCONNECTED, "lost: Connection reset by peer"},
	    {"wtotal=65535", 0, UC_ERROR_USB, "GET_DESCRIPTOR(configuration)"},
	    {"wtotal=76", 0, UC_ERROR_USB, "GET_DESCRIPTOR(configuration)"},
	    {"wtotal=9", 0, UC_ERROR_NOT_SERIAL, "has no serial port we drive"},
	    {"wtotal=3", 0, UC_ERROR_USB, "configuration descriptor"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(v); i++) {
		Fx *fx = fx_one(v[i].item);
		GError *err = NULL;
		assert_null(start_dev(fx, &err));
		if (!g_error_matches(err, UC_ERROR, v[i].code) || !strstr(err->message, v[i].want))
			fail_msg("%s: got \"%s\" (code %d)", v[i].item, err->message, err->code);
		g_clear_error(&err);
		fx_free(fx);
	}
	/* Truncated or endless device lists. */
	const char *lists[] = {"truncate-list=0", "truncate-list=5", "truncate-list=100",
	                       "endless-list"};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		Fx *fx = fx_one(lists[i]);
		ListCtx c = {0};
		list_with(fx, 5000, &c);
		if (c.list) {
			/* the count is capped: 4096 records, then we stop reading */
			assert_true(i == 3);
			assert_int_equal(c.list->len, 4096);
			g_ptr_array_unref(c.list);
		} else {
			assert_true(g_error_matches(c.error, UC_ERROR, UC_ERROR_DISCONNECTED));
			g_clear_error(&c.error);
		}
		fx_free(fx);
	}
}

/* Control characters from the server reach the engine's callers exactly as
 * sent (a serial or bus id still names its device); every text output
 * escapes them (test_cli_list here, list-escape.sh, t-daemon-hostile's
 * log), never the engine. */
static void test_evil_strings(void **state)
{
	Fx *fx = fx_one("evil-strings");
	ListCtx c = {0};
	list_with(fx, 5000, &c);
	assert_non_null(c.list);
	assert_int_equal(c.list->len, 1);
	const UsbipExported *e = g_ptr_array_index(c.list, 0);
	assert_string_equal(e->dev.path, "/sys/\x1b[31mhostile\n\tfake 9-9 line\x07\x08");
	g_ptr_array_unref(c.list);
	UsbipDevice *d = start_dev(fx, NULL);
	assert_non_null(d);
	assert_true(has_control_chars(usbip_device_get_product(d)));
	assert_string_equal(usbip_device_get_product(d), "Evil\x1b[2J\r\nACM\x07");
	assert_string_equal(usbip_device_get_serial(d), "H0\n571\x7fLE");
	usbip_device_free(d);
	fx_free(fx);
}

/* ---- URB mode: stalls, idling, floods ---- */

static void urb_ignore(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	if (r->status == 0 && r->data)
		*(gsize *)user += r->actual_length;
}

static gboolean reconnected(gpointer d)
{
	return usbip_device_get_reconnects(d) > 0 && usbip_device_is_up(d);
}

/* 70 bytes of a RET_SUBMIT, then silence with TCP alive: the link is
 * dropped after the stall time and comes back. */
static void test_stall_mid_frame(void **state)
{
	Fx *fx = fx_one("stall-urb=70");
	UsbipDevice *d = start_dev(fx, NULL);
	assert_non_null(d);
	UsbipConn *c = usbip_device_get_conn(d);
	gsize got = 0;
	assert_true(usbip_conn_submit(c, 0x83, NULL, NULL, 512, 0, urb_ignore, &got) != 0);
	static const guint8 hello[40] = "0123456789012345678901234567890123456789";
	assert_true(usbip_conn_submit(c, 0x02, NULL, hello, sizeof(hello), 0, urb_ignore, &got) !=
	            0);
	assert_true(run_until(reconnected, d, 10000));
	assert_int_equal(got, 0);
	usbip_device_free(d);
	fx_free(fx);
}

/* A pending bulk read on a quiet link is normal: no stall, no reconnect. */
static void test_idle_link_stays(void **state)
{
	Fx *fx = fx_one("unlink-delay=0");
	UsbipDevice *d = start_dev(fx, NULL);
	assert_non_null(d);
	UsbipConn *c = usbip_device_get_conn(d);
	gsize got = 0;
	assert_true(usbip_conn_submit(c, 0x83, NULL, NULL, 512, 0, urb_ignore, &got) != 0);
	run_for(3500); /* more than three stall times */
	assert_true(usbip_device_is_up(d));
	assert_int_equal(usbip_device_get_reconnects(d), 0);
	/* and data still flows */
	static const guint8 hi[2] = "hi";
	assert_true(usbip_conn_submit(c, 0x02, NULL, hi, 2, 0, urb_ignore, &got) != 0);
	run_for(200);
	assert_int_equal(got, 2);
	usbip_device_free(d);
	fx_free(fx);
}

/* Bulk IN answered with a wild status: the URB fails with a known errno. */
typedef struct {
	gboolean done;
	int status;
} UrbCtx;

static void urb_status(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	UrbCtx *u = user;
	u->status = r->status;
	u->done = TRUE;
}

static gboolean urb_done(gpointer d)
{
	return ((UrbCtx *)d)->done;
}

static void test_bulk_status_mapped(void **state)
{
	const char *items[] = {"bulk-in-status=-600", "bulk-in-status=-2147483648",
	                       "bulk-in-status=7"};
	for (gsize i = 0; i < G_N_ELEMENTS(items); i++) {
		Fx *fx = fx_one(items[i]);
		UsbipDevice *d = start_dev(fx, NULL);
		assert_non_null(d);
		UrbCtx u = {0};
		assert_true(usbip_conn_submit(usbip_device_get_conn(d), 0x83, NULL, NULL, 512, 0,
		                              urb_status, &u) != 0);
		assert_true(run_until(urb_done, &u, 5000));
		assert_int_equal(u.status, -EIO);
		usbip_device_free(d);
		fx_free(fx);
	}
}

/* ---- leaving cleanly; flapping links ---- */

typedef struct {
	UsbipConn *conn;
	GArray *seqs;
} Reader;

static void reader_link(UsbipDevice *d, gboolean up, const GError *error, gpointer user)
{
	Reader *r = user;
	UsbipConn *c = r->conn;
	if (!up && !usbip_conn_is_closed(c)) {
		/* as the ports do: unlink what is in flight when told to go */
		for (guint i = 0; i < r->seqs->len; i++)
			usbip_conn_unlink(c, g_array_index(r->seqs, guint32, i));
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

/* The server answers unlinks slowly: the client waits for every answer
 * (bounded) before it closes, so the server never sees a reset. */
static void test_shutdown_waits_for_unlinks(void **state)
{
	Fx *fx = fx_one("unlink-delay=150");
	UsbipDevice *d = start_dev(fx, NULL);
	assert_non_null(d);
	Reader r = {.conn = usbip_device_get_conn(d),
	            .seqs = g_array_new(FALSE, FALSE, sizeof(guint32))};
	usbip_device_add_link_listener(d, reader_link, &r);
	for (int i = 0; i < 4; i++) {
		guint32 s = usbip_conn_submit(usbip_device_get_conn(d), 0x83, NULL, NULL, 512, 0,
		                              NULL, NULL);
		assert_true(s != 0);
		g_array_append_val(r.seqs, s);
	}
	ShutCtx sc = {0};
	usbip_device_shutdown_async(d, 3000, shut_cb, &sc);
	assert_true(run_until(shut_done, &sc, 10000));
	assert_true(hostile_server_wait_idle(fx->hs, 5000));
	HostileStats st;
	hostile_server_get_stats(fx->hs, &st);
	assert_int_equal(st.unlinks, 4);
	assert_int_equal(st.unlinks_answered, 4);
	assert_int_equal(st.unlinks_lost, 0);
	assert_int_equal(st.closed_busy, 0);
	usbip_device_free(d);
	g_array_unref(r.seqs);
	fx_free(fx);
}

static guint link_lost_lines;

static GLogWriterOutput count_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
                                     gpointer user)
{
	for (gsize i = 0; i < n; i++)
		if (strcmp(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0 &&
		    strstr(fields[i].value, "link lost") && !(level & G_LOG_LEVEL_DEBUG))
			link_lost_lines++;
	return g_log_writer_default(level, fields, n, user);
}

/* A server that drops every link 50 ms after the import: the backoff keeps
 * growing (it restarts only after a link stayed up stable_ms), and the log
 * says so a few times, not once per flap. */
static void test_flapping_link_backs_off(void **state)
{
	Fx *fx = fx_one("die-after-attach=50");
	/* the first start needs the enumeration done within the 50 ms: on a
	 * loaded machine it may take a few tries */
	UsbipDevice *d = NULL;
	for (int i = 0; i < 10 && !d; i++)
		d = start_dev(fx, NULL);
	assert_non_null(d);
	HostileStats st0, st1;
	hostile_server_get_stats(fx->hs, &st0);
	link_lost_lines = 0;
	g_log_set_writer_func(count_writer, NULL, NULL);
	run_for(3000);
	hostile_server_get_stats(fx->hs, &st1);
	guint imports = st1.imports - st0.imports;
	/* Delays 20, 40, 80, 160, then 200 ms, each plus 50 ms up: at most
	 * 4 + (3000 - 300 - 200) / 250 = 14 imports in 3 s.  Resetting the
	 * backoff on every attach made it one every ~70 ms (40+). */
	g_print("imports in 3 s: %u, link lost lines: %u, reconnects: %u\n", imports,
	        link_lost_lines, usbip_device_get_reconnects(d));
	assert_true(imports <= 14);
	assert_true(imports >= 2);
	assert_true(link_lost_lines <= 5); /* flaps 1, 2, 3, 4, 8 */
	usbip_device_free(d);
	fx_free(fx);
}

/* ---- the command line: `usbip-cuse list` ---- */

static const char *usbip_cuse_path(void)
{
	const char *p = g_getenv("USBIP_CUSE");
	return p ? p : "src/usbip-cuse";
}

static int run_cmd(const char *const *argv, char **out, char **err)
{
	GError *e = NULL;
	int status = 0;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, out,
	                  err, &status, &e))
		fail_msg("spawn %s: %s", argv[0], e->message);
	if (WIFSIGNALED(status))
		fail_msg("%s died of signal %d", argv[0], WTERMSIG(status));
	return WEXITSTATUS(status);
}

static void test_cli_list(void **state)
{
	/* evil strings: no raw control character on stdout, text or JSON */
	Fx *fx = fx_one("evil-strings");
	for (int json = 0; json < 2; json++) {
		const char *argv[] = {usbip_cuse_path(), "list", fx->server, json ? "--json" : NULL,
		                      NULL};
		g_autofree char *out = NULL, *err = NULL;
		assert_int_equal(run_cmd(argv, &out, &err), 0);
		for (const char *p = out; *p; p++)
			assert_true((guchar)*p >= 0x20 || *p == '\n');
		assert_non_null(strstr(out, "1209:0001") ? out : strstr(out, "\"1209\""));
	}
	fx_free(fx);
	/* refusals and broken replies: exit 1, one clear line */
	static const struct {
		const char *item;
		const char *want;
	} v[] = {
	    {"list-status=2", "ST_DEV_BUSY (device busy)"},
	    {"list-status=-600", "status 4294966696 (not a USBIP status)"},
	    {"truncate-list=7", "closed the connection in the middle of a reply"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(v); i++) {
		fx = fx_one(v[i].item);
		const char *argv[] = {usbip_cuse_path(), "list", fx->server, NULL};
		g_autofree char *out = NULL, *err = NULL;
		assert_int_equal(run_cmd(argv, &out, &err), 1);
		if (!strstr(err, v[i].want))
			fail_msg("%s: stderr \"%s\"", v[i].item, err);
		fx_free(fx);
	}
}

/* `cat` leaves cleanly: every unlink answered before it closes. */
static void test_cli_cat_exit(void **state)
{
	Fx *fx = fx_one("unlink-delay=150");
	const char *argv[] = {usbip_cuse_path(), "cat", "--server", fx->server, "--device", "1-1",
	                      "--idle-exit",     "300", NULL};
	g_autofree char *out = NULL, *err = NULL;
	assert_int_equal(run_cmd(argv, &out, &err), 0);
	assert_true(hostile_server_wait_idle(fx->hs, 5000));
	HostileStats st;
	hostile_server_get_stats(fx->hs, &st);
	g_print("cat: unlinks %u answered %u lost %u closed busy %u\n", st.unlinks,
	        st.unlinks_answered, st.unlinks_lost, st.closed_busy);
	assert_true(st.unlinks >= 2); /* 16 bulk reads and the interrupt read */
	assert_int_equal(st.unlinks_answered, st.unlinks);
	assert_int_equal(st.unlinks_lost, 0);
	assert_int_equal(st.closed_busy, 0);
	fx_free(fx);
}

/* Every option with a bad value: usage error (2), one line, no crash.  The
 * checks run before /dev/cuse is needed. */
static void test_cli_bad_options(void **state)
{
	static const char *const bad[][6] = {
	    {"--device", "1-1", "--urb-size", "1048576"},
	    {"--device", "1-1", "--urb-size", "1046529"},
	    {"--device", "1-1", "--urb-size", "1048577"},
	    {"--device", "1-1", "--urb-size", "63"},
	    {"--device", "1-1", "--urb-size", "-1"},
	    {"--device", "1-1", "--urb-size", "abc"},
	    {"--device", "1-1", "--urb-size", "99999999999999999999"},
	    {"--device", "1-1", "--rx-urbs", "0"},
	    {"--device", "1-1", "--rx-urbs", "65"},
	    {"--device", "1-1", "--rx-buffer", "1"},
	    {"--device", "1-1", "--rx-buffer", "-65536"},
	    {"--device", "1-1", "--backoff-max", "0"},
	    {"--device", "1-1", "--name", "tty%s"},
	    {"--device", "1-1", "--name", "a/%u"},
	    {"--device", "1-1", "--name", "tty"},
	    {"--device", "1-1", "--name", "%u%u"},
	    {"--device", "zz:1"},
	    {"--device", ""},
	    {"--device", "1-1", "extra"},
	    {"--device", "1-1", "--no-such-option"},
	    {"--server", "1.2.3.4"},
	    {"cat", "--device", "1-1", "--baud", "-1"},
	    {"cat", "--device", "1-1", "--function", "-1"},
	    {"cat", "--device", "1-1:"},
	    {"cat", "--server", "1.2.3.4"},
	    {"list", "a", "b"},
	    {"list", "--bogus"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *argv[8] = {usbip_cuse_path()};
		for (int j = 0; j < 6 && bad[i][j]; j++)
			argv[j + 1] = bad[i][j];
		g_autofree char *out = NULL, *err = NULL;
		int rc = run_cmd(argv, &out, &err);
		g_autofree char *line = g_strjoinv(" ", (char **)argv + 1);
		if (rc != 2 && rc != 1)
			fail_msg("usbip-cuse %s: exit %d", line, rc);
		if (!g_str_has_prefix(err, "usbip-cuse"))
			fail_msg("usbip-cuse %s: stderr \"%s\"", line, err);
		/* the daemon's own numbers are usage errors, found before /dev/cuse */
		if (strcmp(bad[i][0], "--device") == 0 && bad[i][2] && rc != 2)
			fail_msg("usbip-cuse %s: exit %d, not 2 (%s)", line, rc, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_and_import_status),
	    cmocka_unit_test(test_ctrl_status_mapped),
	    cmocka_unit_test(test_op_deadlines),
	    cmocka_unit_test(test_bad_replies),
	    cmocka_unit_test(test_evil_strings),
	    cmocka_unit_test(test_stall_mid_frame),
	    cmocka_unit_test(test_idle_link_stays),
	    cmocka_unit_test(test_bulk_status_mapped),
	    cmocka_unit_test(test_shutdown_waits_for_unlinks),
	    cmocka_unit_test(test_flapping_link_backs_off),
	    cmocka_unit_test(test_cli_list),
	    cmocka_unit_test(test_cli_cat_exit),
	    cmocka_unit_test(test_cli_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
