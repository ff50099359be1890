/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the mock server's chip models (tools/mock/model_*.c)
 * over USBIP on 127.0.0.1, in process: a raw client sends each chip the
 * requests its Linux driver sends and checks what the model decodes (line
 * settings, DTR/RTS, breaks), how it frames bulk IN, loops data back and
 * reports modem lines.  Fixtures: test/lsusb-chips (LSUSB_CHIPS).  Expected
 * rates are computed here from the vendors' formulas, byte by byte in the
 * comments, never taken from the model.
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

#include "mock_control.h"
#include "mock_server.h"
#include "usb_desc.h"
#include "usbip_proto.h"

#define TIMEOUT_MS 5000
#define SILENCE_MS 100 /* how long "no reply yet" is awaited */

/* busids of test/lsusb-chips */
#define FT232R  "5-1"
#define FT2232H "5-2"
#define CP2102  "5-3"
#define CP2104  "5-4"
#define CH340   "5-5"
#define PL2303  "5-6"
#define PL2303N "5-7"

static MockServer *srv;

/* ---- main-context waiting and a raw USBIP client ------------------------- */

static gboolean set_flag(gpointer data)
{
	*(gboolean *)data = TRUE;
	return G_SOURCE_REMOVE;
}

static void spin(guint ms)
{
	gboolean done = FALSE;
	GSource *t = g_timeout_source_new(ms);

	g_source_set_callback(t, set_flag, &done, NULL);
	g_source_attach(t, NULL);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	g_source_unref(t);
}

/* Run the context until s has data, or timeout_ms pass. */
static gboolean wait_readable(GSocket *s, guint timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		if (g_socket_condition_check(s, G_IO_IN | G_IO_HUP | G_IO_ERR))
			return TRUE;
		if (g_get_monotonic_time() >= end)
			return FALSE;
		spin(1);
	}
}

typedef struct {
	GSocket *sock;
	guint32 devid;
	guint32 seq;
	GHashTable *sent; /* seqnum -> transfer length << 1 | 1 for IN */
	GQueue replies;   /* Reply* read but not yet asked for */
} Client;

typedef struct {
	guint32 seqnum;
	gint32 status;
	gsize len;
	guint8 data[];
} Reply;

static void client_free(Client *c)
{
	if (!c)
		return;
	g_socket_close(c->sock, NULL);
	g_object_unref(c->sock);
	g_hash_table_unref(c->sent);
	g_queue_clear_full(&c->replies, g_free);
	g_free(c);
	/* let the server see the close and reset the device */
	spin(20);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Client, client_free)

static void send_all(GSocket *s, const void *buf, gsize len)
{
	const guint8 *p = buf;

	while (len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_send(s, (const char *)p, len, NULL, &err);
		if (n < 0) {
			assert_true(g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK));
			spin(1);
			continue;
		}
		p += n;
		len -= (gsize)n;
	}
}

static gboolean recv_exact(GSocket *s, void *buf, gsize len, guint timeout_ms)
{
	guint8 *p = buf;

	while (len) {
		g_autoptr(GError) err = NULL;
		gssize n = g_socket_receive(s, (char *)p, len, NULL, &err);
		if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			if (!wait_readable(s, timeout_ms))
				return FALSE;
			continue;
		}
		assert_true(n > 0);
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* Import busid and select its first configuration. */
static Client *open_dev(const char *busid)
{
	g_autoptr(GInetAddress) ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, mock_server_get_port(srv));
	guint8 buf[USBIP_OP_HDR_SIZE + USBIP_DEVICE_SIZE];
	struct usbip_op_hdr oh;
	struct usbip_device d;
	Client *c = g_new0(Client, 1);

	c->sock =
	    g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
	assert_non_null(c->sock);
	assert_true(g_socket_connect(c->sock, sa, NULL, NULL));
	g_socket_set_blocking(c->sock, FALSE);
	c->sent = g_hash_table_new(NULL, NULL);
	g_queue_init(&c->replies);
	assert_int_equal(usbip_proto_import_req_encode(busid, buf, sizeof(buf)),
	                 USBIP_IMPORT_REQ_SIZE);
	send_all(c->sock, buf, USBIP_IMPORT_REQ_SIZE);
	assert_true(recv_exact(c->sock, buf, sizeof(buf), TIMEOUT_MS));
	assert_int_equal(usbip_proto_op_hdr_decode(&oh, buf, USBIP_OP_HDR_SIZE), USBIP_OP_HDR_SIZE);
	assert_int_equal(oh.status, USBIP_ST_OK);
	assert_int_equal(usbip_proto_device_decode(&d, buf + USBIP_OP_HDR_SIZE, USBIP_DEVICE_SIZE),
	                 USBIP_DEVICE_SIZE);
	c->devid = usbip_proto_devid(&d);
	return c;
}

static guint32 submit(Client *c, guint8 ep, gboolean in, guint32 len, const void *out,
                      const struct usb_setup *s, gint32 interval)
{
	struct usbip_urb_hdr h = {0};
	guint8 hdr[USBIP_URB_HDR_SIZE];

	h.command = USBIP_CMD_SUBMIT;
	h.seqnum = ++c->seq;
	h.devid = c->devid;
	h.direction = in ? USBIP_DIR_IN : USBIP_DIR_OUT;
	h.ep = ep & 0x0f;
	h.u.submit.transfer_flags = in ? USBIP_URB_DIR_IN : 0;
	h.u.submit.transfer_buffer_length = (gint32)len;
	h.u.submit.interval = interval;
	if (s)
		usb_desc_setup_encode(s, h.u.submit.setup);
	assert_int_equal(usbip_proto_urb_hdr_encode(&h, hdr, sizeof(hdr)), USBIP_URB_HDR_SIZE);
	send_all(c->sock, hdr, sizeof(hdr));
	if (!in && len)
		send_all(c->sock, out, len);
	g_hash_table_insert(c->sent, GUINT_TO_POINTER(h.seqnum),
	                    GUINT_TO_POINTER(len << 1 | (in ? 1u : 0u)));
	return h.seqnum;
}

static Reply *read_reply(Client *c, guint timeout_ms)
{
	guint8 hdr[USBIP_URB_HDR_SIZE];
	struct usbip_urb_hdr h;
	guint sent;
	gssize n;
	Reply *r;

	if (!recv_exact(c->sock, hdr, sizeof(hdr), timeout_ms))
		return NULL;
	assert_int_equal(usbip_proto_urb_hdr_decode(&h, hdr, sizeof(hdr)), USBIP_URB_HDR_SIZE);
	assert_int_equal(h.command, USBIP_RET_SUBMIT);
	sent = GPOINTER_TO_UINT(g_hash_table_lookup(c->sent, GUINT_TO_POINTER(h.seqnum)));
	n = usbip_proto_ret_submit_payload(&h, sent & 1 ? USBIP_DIR_IN : USBIP_DIR_OUT, sent >> 1);
	assert_true(n >= 0);
	r = g_malloc0(sizeof(*r) + (gsize)n + 1);
	r->seqnum = h.seqnum;
	r->status = h.u.ret_submit.status;
	r->len = (gsize)n;
	if (n)
		assert_true(recv_exact(c->sock, r->data, (gsize)n, TIMEOUT_MS));
	g_hash_table_remove(c->sent, GUINT_TO_POINTER(h.seqnum));
	return r;
}

/* The reply to seqnum (others are kept); NULL on timeout. */
static Reply *wait_reply(Client *c, guint32 seqnum, guint timeout_ms)
{
	for (GList *l = c->replies.head; l; l = l->next) {
		Reply *r = l->data;
		if (r->seqnum == seqnum) {
			g_queue_delete_link(&c->replies, l);
			return r;
		}
	}
	for (;;) {
		Reply *r = read_reply(c, timeout_ms);
		if (!r || r->seqnum == seqnum)
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

/* A control transfer; IN data to in (if given).  Returns the status. */
static gint32 ctrl(Client *c, guint8 type, guint8 req, guint16 value, guint16 index, guint16 len,
                   const void *out, guint8 *in, gsize *in_len)
{
	struct usb_setup s = {type, req, value, index, len};
	gboolean dir_in = (type & USB_DIR_IN) && len;
	g_autofree Reply *r = expect_reply(c, submit(c, 0, dir_in, len, out, &s, 0));

	if (in) {
		memcpy(in, r->data, r->len);
		*in_len = r->len;
	}
	return r->status;
}

#define CTRL_OK(c, type, req, value, index)                                                        \
	assert_int_equal(ctrl((c), (type), (req), (value), (index), 0, NULL, NULL, NULL), 0)
#define CTRL_STALLS(c, type, req, value, index)                                                    \
	assert_int_equal(ctrl((c), (type), (req), (value), (index), 0, NULL, NULL, NULL), -EPIPE)

static void configure(Client *c)
{
	CTRL_OK(c, 0x00, USB_REQ_SET_CONFIGURATION, 1, 0);
}

/* One control-channel command; the reply without its final newline. */
static char *cmd(const char *fmt, ...)
{
	va_list ap;
	gboolean quit;
	g_autofree char *line = NULL;
	char *r;

	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	r = mock_control_execute(srv, line, &quit);
	g_strchomp(r);
	return r;
}

#define EXPECT_CMD(want, ...)                                                                      \
	do {                                                                                       \
		g_autofree char *got_ = cmd(__VA_ARGS__);                                          \
		assert_string_equal(got_, (want));                                                 \
	} while (0)

/* Bytes the far end echoes back on bulk IN (raw chips): send, then read
 * until len bytes came. */
static void loopback_raw(Client *c, guint8 out_ep, guint8 in_ep, const guint8 *data, gsize len)
{
	g_autofree guint8 *got = g_malloc(len);
	gsize have = 0;
	g_autofree Reply *w = NULL;

	w = expect_reply(c, submit(c, out_ep, FALSE, (guint32)len, data, NULL, 0));
	assert_int_equal(w->status, 0);
	while (have < len) {
		g_autofree Reply *r = expect_reply(c, submit(c, in_ep, TRUE, 4096, NULL, NULL, 0));
		assert_int_equal(r->status, 0);
		assert_true(have + r->len <= len);
		memcpy(got + have, r->data, r->len);
		have += r->len;
	}
	assert_memory_equal(got, data, len);
}

/* ---- model selection ------------------------------------------------------ */

static void test_models_selected(void **state)
{
	static const struct {
		const char *busid, *model, *chip;
	} want[] = {
	    {FT232R, "ftdi_sio", "ftdi_sio FT232R port=A "},
	    {FT2232H, "ftdi_sio", "ftdi_sio FT2232H port=A "},
	    {CP2102, "cp210x", "cp210x CP2102 "},
	    {CP2104, "cp210x", "cp210x CP2104 "},
	    {CH340, "ch341", "ch341 CH340 "},
	    {PL2303, "pl2303", "pl2303 HX "},
	    {PL2303N, "pl2303", "pl2303 HXN "},
	};

	for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
		g_autofree char *chip = cmd("chip %s", want[i].busid);
		EXPECT_CMD(want[i].model, "model %s", want[i].busid);
		if (!g_str_has_prefix(chip, want[i].chip))
			fail_msg("chip %s: '%s', want prefix '%s'", want[i].busid, chip,
			         want[i].chip);
	}
	/* the second FT2232H port is interface 1, channel B */
	{
		g_autofree char *chip = cmd("chip %s 1", FT2232H);
		assert_true(g_str_has_prefix(chip, "ftdi_sio FT2232H port=B "));
	}
	/* a fresh chip has no line settings recorded yet */
	{
		g_autofree char *r = cmd("linecoding %s", CH340);
		assert_true(g_str_has_prefix(r, "error: no line settings recorded"));
	}
}

/* ---- FTDI ------------------------------------------------------------------ */

#define FT_OUT 0x40
#define FT_IN  0xc0

static void test_ftdi_divisors(void **state)
{
	g_autoptr(Client) c = open_dev(FT232R);
	g_autoptr(Client) h = open_dev(FT2232H);

	configure(c);
	configure(h);
	assert_true(mock_server_clear_requests(srv, FT232R, NULL));
	assert_true(mock_server_clear_requests(srv, FT2232H, NULL));

	/* FT232R, 3 MHz base.  wValue 0x001a: 26.0 -> 3e6 / 26 */
	CTRL_OK(c, FT_OUT, 0x03, 0x001a, 0x0000);
	EXPECT_CMD("115384.615 8 N 1", "linecoding " FT232R);
	/* 0x8003: 3 + code 2 (bits 15..14 = 10) = .25 -> 3e6 / 3.25 (Linux's 921600) */
	CTRL_OK(c, FT_OUT, 0x03, 0x8003, 0x0000);
	EXPECT_CMD("923076.923 8 N 1", "linecoding " FT232R);
	/* code 4 = bit 16 (wIndex bit 0 on the FT232R): .375 -> 3e6 / 3.375 */
	CTRL_OK(c, FT_OUT, 0x03, 0x0003, 0x0001);
	EXPECT_CMD("888888.889 8 N 1", "linecoding " FT232R);
	/* code 3 (bits 15..14 = 11) = .125: 0xc068 = 104.125 -> 28811.5 */
	CTRL_OK(c, FT_OUT, 0x03, 0xc068, 0x0000);
	EXPECT_CMD("28811.525 8 N 1", "linecoding " FT232R);
	/* the two special encodings: 0 = divisor 1, 1 = divisor 1.5 */
	CTRL_OK(c, FT_OUT, 0x03, 0x0000, 0x0000);
	EXPECT_CMD("3000000 8 N 1", "linecoding " FT232R);
	CTRL_OK(c, FT_OUT, 0x03, 0x0001, 0x0000);
	EXPECT_CMD("2000000 8 N 1", "linecoding " FT232R);
	/* 0x2710 = 10000 -> 300 */
	CTRL_OK(c, FT_OUT, 0x03, 0x2710, 0x0000);
	EXPECT_CMD("300 8 N 1", "linecoding " FT232R);

	/* FT2232H port A = channel 1 in the wIndex low byte, divisor bits 16-17
	 * in the high byte.  0xc068 with bit 17 (0x02..): 12e6 / 104.125 */
	CTRL_OK(h, FT_OUT, 0x03, 0xc068, 0x0201);
	EXPECT_CMD("115246.098 8 N 1", "linecoding " FT2232H " 0");
	/* without bit 17 the base is 3 MHz: 3e6 / 104.125 */
	CTRL_OK(h, FT_OUT, 0x03, 0xc068, 0x0001);
	EXPECT_CMD("28811.525 8 N 1", "linecoding " FT2232H " 0");
	/* port B (2), 12 MHz, encoded 0 = divisor 1: 12 Mbaud; port A unchanged */
	CTRL_OK(h, FT_OUT, 0x03, 0x0000, 0x0202);
	EXPECT_CMD("12000000 8 N 1", "linecoding " FT2232H " 1");
	EXPECT_CMD("28811.525 8 N 1", "linecoding " FT2232H " 0");
	/* bit 16 and bit 17: code 4 (.375), 12 MHz: 12e6 / 3.375 */
	CTRL_OK(h, FT_OUT, 0x03, 0x0003, 0x0301);
	EXPECT_CMD("3555555.556 8 N 1", "linecoding " FT2232H " 0");
	/* a port the chip does not have */
	CTRL_STALLS(h, FT_OUT, 0x03, 0x001a, 0x0003);
}

static void test_ftdi_requests(void **state)
{
	g_autoptr(Client) c = open_dev(FT232R);
	guint8 buf[8];
	gsize n;

	configure(c);
	assert_true(mock_server_clear_requests(srv, FT232R, NULL));
	CTRL_OK(c, FT_OUT, 0x03, 0x001a, 0);
	/* SET_DATA 0x1207: 7 bits (0x07), even (2 << 8), 2 stop (2 << 11) */
	CTRL_OK(c, FT_OUT, 0x04, 0x1207, 0);
	EXPECT_CMD("115384.615 7 E 2", "linecoding " FT232R);
	/* mark (3 << 8), space (4 << 8), 1.5 stop (1 << 11) */
	CTRL_OK(c, FT_OUT, 0x04, 0x0b08, 0);
	EXPECT_CMD("115384.615 8 M 1.5", "linecoding " FT232R);
	CTRL_OK(c, FT_OUT, 0x04, 0x0408, 0);
	EXPECT_CMD("115384.615 8 S 1", "linecoding " FT232R);
	/* 0 data bits (Linux's CS5): the chip falls back to 8 */
	CTRL_OK(c, FT_OUT, 0x04, 0x0000, 0);
	EXPECT_CMD("115384.615 8 N 1", "linecoding " FT232R);
	/* parity 5 and stop code 3 do not exist */
	CTRL_STALLS(c, FT_OUT, 0x04, 0x0508, 0);
	CTRL_STALLS(c, FT_OUT, 0x04, 0x1808, 0);
	/* SET_FLOW_CTRL: RTS/CTS (wIndex 0x0100), XON/XOFF (0x0400, wValue 0x1311) */
	CTRL_OK(c, FT_OUT, 0x02, 0x0000, 0x0100);
	EXPECT_CMD("115384.615 8 N 1 rtscts", "linecoding " FT232R);
	CTRL_OK(c, FT_OUT, 0x02, 0x1311, 0x0400);
	EXPECT_CMD("115384.615 8 N 1 ixon ixoff", "linecoding " FT232R);
	CTRL_STALLS(c, FT_OUT, 0x02, 0x0000, 0x0800);
	CTRL_OK(c, FT_OUT, 0x02, 0x0000, 0x0000);
	/* MODEM_CTRL: enable bits 8/9, levels 0/1: DTR+RTS on, DTR off, RTS off;
	 * no enable bit: no change, nothing recorded */
	CTRL_OK(c, FT_OUT, 0x01, 0x0303, 0);
	CTRL_OK(c, FT_OUT, 0x01, 0x0100, 0);
	CTRL_OK(c, FT_OUT, 0x01, 0x0003, 0);
	CTRL_OK(c, FT_OUT, 0x01, 0x0200, 0);
	EXPECT_CMD("0x3 0x2 0x0", "lines " FT232R);
	/* break = SET_DATA bit 14, recorded when it changes */
	CTRL_OK(c, FT_OUT, 0x04, 0x4008, 0);
	CTRL_OK(c, FT_OUT, 0x04, 0x0008, 0);
	CTRL_OK(c, FT_OUT, 0x04, 0x0008, 0);
	EXPECT_CMD("0xffff 0x0", "breaks " FT232R);
	/* latency timer: default 16, set 2 */
	assert_int_equal(ctrl(c, FT_IN, 0x0a, 0, 0, 1, NULL, buf, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 16);
	CTRL_OK(c, FT_OUT, 0x09, 2, 0);
	assert_int_equal(ctrl(c, FT_IN, 0x0a, 0, 0, 1, NULL, buf, &n), 0);
	assert_int_equal(buf[0], 2);
	/* GET_MODEM_STATUS: 0x01 (bit 0 always set), 0x60 (THRE | TEMT) ... */
	assert_int_equal(ctrl(c, FT_IN, 0x05, 0, 0, 2, NULL, buf, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(buf[0], 0x01);
	assert_int_equal(buf[1], 0x60);
	/* ... then CTS 0x10 | DCD 0x80 from the far end */
	EXPECT_CMD("ok", "modem " FT232R " cts,dcd");
	assert_int_equal(ctrl(c, FT_IN, 0x05, 0, 0, 2, NULL, buf, &n), 0);
	assert_int_equal(buf[0], 0x91);
	/* requests the chip does not know, IN for an OUT request, a data stage,
	 * port 2 on a one-port chip */
	CTRL_STALLS(c, FT_OUT, 0x08, 0, 0);
	assert_int_equal(ctrl(c, FT_IN, 0x04, 0x0008, 0, 1, NULL, buf, &n), -EPIPE);
	assert_int_equal(ctrl(c, FT_OUT, 0x04, 0x0008, 0, 1, "x", NULL, NULL), -EPIPE);
	CTRL_STALLS(c, FT_OUT, 0x04, 0x0008, 2);
	/* RESET (SIO) clears DTR/RTS: recorded as one more value */
	CTRL_OK(c, FT_OUT, 0x01, 0x0101, 0);
	CTRL_OK(c, FT_OUT, 0x00, 0, 0);
	EXPECT_CMD("0x3 0x2 0x0 0x1 0x0", "lines " FT232R);
}

/* FT232R framing: 2 status bytes per 64-byte packet, the latency timer. */
static void test_ftdi_framing(void **state)
{
	g_autoptr(Client) c = open_dev(FT232R);
	guint8 data[200];
	gint64 t0;
	guint32 seq;

	configure(c);
	CTRL_OK(c, FT_OUT, 0x09, 40, 0); /* latency 40 ms */
	/* idle: the first IN gets status bytes alone at once ... */
	{
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 512, NULL, NULL, 0));
		assert_int_equal(r->len, 2);
		assert_int_equal(r->data[0], 0x01);
		assert_int_equal(r->data[1], 0x60);
	}
	/* ... the next one not before the latency timer expired */
	t0 = g_get_monotonic_time();
	seq = submit(c, 0x81, TRUE, 512, NULL, NULL, 0);
	{
		g_autofree Reply *r = expect_reply(c, seq);
		assert_int_equal(r->len, 2);
		assert_true(g_get_monotonic_time() - t0 >= 39000);
	}
	/* 200 bytes: three full packets (2 + 62) at once, the last 14 bytes in a
	 * short packet when the timer expires */
	for (guint i = 0; i < sizeof(data); i++)
		data[i] = (guint8)(i * 7 + 3);
	{
		g_autofree Reply *w =
		    expect_reply(c, submit(c, 0x02, FALSE, sizeof(data), data, NULL, 0));
		assert_int_equal(w->status, 0);
	}
	{
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 512, NULL, NULL, 0));
		assert_int_equal(r->len, 192);
		for (guint p = 0; p < 3; p++) {
			assert_int_equal(r->data[p * 64], 0x01);
			assert_int_equal(r->data[p * 64 + 1], 0x60);
			assert_memory_equal(r->data + p * 64 + 2, data + p * 62, 62);
		}
	}
	{
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 512, NULL, NULL, 0));
		assert_int_equal(r->len, 16);
		assert_memory_equal(r->data + 2, data + 186, 14);
	}
	/* a break from the far end: a NUL flagged BI (0x10), last in its packet;
	 * DSR 0x20 shows in the modem status byte */
	EXPECT_CMD("ok", "modem " FT232R " dsr,break");
	{
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 512, NULL, NULL, 0));
		assert_int_equal(r->len, 3);
		assert_int_equal(r->data[0], 0x21);
		assert_int_equal(r->data[1], 0x70);
		assert_int_equal(r->data[2], 0x00);
	}
	/* RESET purge RX (wValue 1) drops what waits */
	{
		g_autofree Reply *w = expect_reply(c, submit(c, 0x02, FALSE, 10, data, NULL, 0));
		CTRL_OK(c, FT_OUT, 0x00, 1, 0);
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 512, NULL, NULL, 0));
		assert_int_equal(r->len, 2);
	}
}

/* FT2232H: 512-byte packets (510 data bytes), each port its own loop. */
static void test_ftdi_h_loopback(void **state)
{
	g_autoptr(Client) c = open_dev(FT2232H);
	g_autofree guint8 *data = g_malloc(1020);
	guint8 b[3] = {1, 2, 3};

	configure(c);
	for (guint i = 0; i < 1020; i++)
		data[i] = (guint8)(255 - i);
	{
		g_autofree Reply *w = expect_reply(c, submit(c, 0x02, FALSE, 1020, data, NULL, 0));
		g_autofree Reply *wb = expect_reply(c, submit(c, 0x04, FALSE, 3, b, NULL, 0));
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 2048, NULL, NULL, 0));
		assert_int_equal(r->len, 1024);
		assert_memory_equal(r->data + 2, data, 510);
		assert_int_equal(r->data[512], 0x01);
		assert_memory_equal(r->data + 514, data + 510, 510);
		g_autofree Reply *rb = expect_reply(c, submit(c, 0x83, TRUE, 512, NULL, NULL, 0));
		assert_int_equal(rb->len, 5);
		assert_memory_equal(rb->data + 2, b, 3);
	}
}

/* ---- CP210x ---------------------------------------------------------------- */

#define CP_OUT 0x41
#define CP_IN  0xc1

static void cp_set_baud(Client *c, guint32 baud)
{
	guint8 le[4] = {baud & 0xff, (baud >> 8) & 0xff, (baud >> 16) & 0xff, baud >> 24};

	assert_int_equal(ctrl(c, CP_OUT, 0x1e, 0, 0, 4, le, NULL, NULL), 0);
}

static void test_cp210x(void **state)
{
	g_autoptr(Client) c = open_dev(CP2102);
	guint8 buf[32], flow[16] = {0};
	gsize n;

	configure(c);
	assert_true(mock_server_clear_requests(srv, CP2102, NULL));
	/* part number, a 2-byte read: 0x02 and a second byte */
	assert_int_equal(ctrl(c, 0xc0, 0xff, 0x370b, 0, 2, NULL, buf, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(buf[0], 0x02);
	/* the CP2102 has no port configuration (a CP2104 request) */
	assert_int_equal(ctrl(c, 0xc0, 0xff, 0x370c, 0, 13, NULL, buf, &n), -EPIPE);
	/* the UART moves no data before IFC_ENABLE */
	{
		guint8 d[4] = {9, 8, 7, 6};
		guint32 w = submit(c, 0x01, FALSE, 4, d, NULL, 0);
		assert_null(wait_reply(c, w, SILENCE_MS));
		CTRL_OK(c, CP_OUT, 0x00, 1, 0);
		g_autofree Reply *wr = expect_reply(c, w);
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 64, NULL, NULL, 0));
		assert_int_equal(r->len, 4);
		assert_memory_equal(r->data, d, 4);
	}
	/* AN205 Table 1: a request maps to the rate of its range */
	cp_set_baud(c, 921600);
	EXPECT_CMD("921600 8 N 1", "linecoding " CP2102);
	cp_set_baud(c, 31250); /* 28913..38601 -> 38400 */
	EXPECT_CMD("38400 8 N 1", "linecoding " CP2102);
	cp_set_baud(c, 1000000); /* 670255..1053257 -> 921600 */
	EXPECT_CMD("921600 8 N 1", "linecoding " CP2102);
	cp_set_baud(c, 250000);
	EXPECT_CMD("250000 8 N 1", "linecoding " CP2102);
	assert_int_equal(ctrl(c, CP_IN, 0x1d, 0, 0, 4, NULL, buf, &n), 0);
	assert_int_equal(buf[0] | buf[1] << 8 | buf[2] << 16, 250000);
	/* SET_LINE_CTL 0x0712: 7 data bits, odd (1 << 4), 2 stop bits (2) */
	CTRL_OK(c, CP_OUT, 0x03, 0x0712, 0);
	EXPECT_CMD("250000 7 O 2", "linecoding " CP2102);
	CTRL_OK(c, CP_OUT, 0x03, 0x0530, 0);
	EXPECT_CMD("250000 5 M 1", "linecoding " CP2102);
	CTRL_STALLS(c, CP_OUT, 0x03, 0x0900, 0); /* 9 data bits */
	CTRL_STALLS(c, CP_OUT, 0x03, 0x0850, 0); /* parity 5 */
	/* SET_MHS: write-enable bits 8/9 */
	CTRL_OK(c, CP_OUT, 0x07, 0x0303, 0);
	CTRL_OK(c, CP_OUT, 0x07, 0x0100, 0);
	/* SET_FLOW: ulControlHandshake 0x09 (DTR active, CTS handshake),
	 * ulFlowReplace 0x80 (RTS flow controlled): RTS/CTS, DTR on again */
	flow[0] = 0x09;
	flow[4] = 0x80;
	assert_int_equal(ctrl(c, CP_OUT, 0x13, 0, 0, 16, flow, NULL, NULL), 0);
	EXPECT_CMD("250000 5 M 1 rtscts", "linecoding " CP2102);
	EXPECT_CMD("0x3 0x2 0x3", "lines " CP2102);
	assert_int_equal(ctrl(c, CP_IN, 0x14, 0, 0, 16, NULL, buf, &n), 0);
	assert_memory_equal(buf, flow, 16);
	/* GET_MDMSTS: DTR 0x01 | RTS 0x02 | CTS 0x10 | RI 0x40 */
	EXPECT_CMD("ok", "modem " CP2102 " cts,ri");
	assert_int_equal(ctrl(c, CP_IN, 0x08, 0, 0, 1, NULL, buf, &n), 0);
	assert_int_equal(buf[0], 0x53);
	/* breaks */
	CTRL_OK(c, CP_OUT, 0x05, 1, 0);
	CTRL_OK(c, CP_OUT, 0x05, 0, 0);
	EXPECT_CMD("0xffff 0x0", "breaks " CP2102);
	/* a request to another interface, and one the model does not know */
	CTRL_STALLS(c, CP_OUT, 0x05, 0, 1);
	CTRL_STALLS(c, CP_OUT, 0x11, 0, 0);
}

static void test_cp210x_events(void **state)
{
	g_autoptr(Client) c = open_dev(CP2102);
	const guint8 data[3] = {0x41, 0xec, 0x42};
	const guint8 escaped[4] = {0x41, 0xec, 0x00, 0x42};

	configure(c);
	CTRL_OK(c, CP_OUT, 0x00, 1, 0);
	/* EMBED_EVENTS 0xEC: the escape character arrives as ESC 0x00 ... */
	CTRL_OK(c, CP_OUT, 0x15, 0xec, 0);
	{
		g_autofree Reply *w = expect_reply(c, submit(c, 0x01, FALSE, 3, data, NULL, 0));
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 64, NULL, NULL, 0));
		assert_int_equal(r->len, 4);
		assert_memory_equal(r->data, escaped, 4);
	}
	/* ... a break as ESC 0x01 LSR 0x10 (break) NUL */
	EXPECT_CMD("ok", "modem " CP2102 " break");
	{
		const guint8 ev[4] = {0xec, 0x01, 0x10, 0x00};
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 64, NULL, NULL, 0));
		assert_int_equal(r->len, 4);
		assert_memory_equal(r->data, ev, 4);
	}
	/* GET_COMM_STATUS reports the break (ulErrors bit 0) once */
	{
		guint8 st[19];
		gsize n;
		assert_int_equal(ctrl(c, CP_IN, 0x10, 0, 0, 19, NULL, st, &n), 0);
		assert_int_equal(n, 19);
		assert_int_equal(st[0], 0x01);
		assert_int_equal(ctrl(c, CP_IN, 0x10, 0, 0, 19, NULL, st, &n), 0);
		assert_int_equal(st[0], 0x00);
	}
	/* turning the UART off ends event insertion */
	CTRL_OK(c, CP_OUT, 0x00, 0, 0);
	CTRL_OK(c, CP_OUT, 0x00, 1, 0);
	loopback_raw(c, 0x01, 0x81, data, 3);
}

static void test_cp2104_rates(void **state)
{
	g_autoptr(Client) c = open_dev(CP2104);
	guint8 buf[16];
	gsize n;

	configure(c);
	assert_int_equal(ctrl(c, 0xc0, 0xff, 0x370b, 0, 1, NULL, buf, &n), 0);
	assert_int_equal(buf[0], 0x04);
	assert_int_equal(ctrl(c, 0xc0, 0xff, 0x370c, 0, 13, NULL, buf, &n), 0);
	assert_int_equal(n, 13);
	/* 48 MHz / (2 x 1 x round(24e6 / 921600 = 26.04) = 26) */
	cp_set_baud(c, 921600);
	EXPECT_CMD("923076.923 8 N 1", "linecoding " CP2104);
	/* 24e6 / 31250 = 768 exactly */
	cp_set_baud(c, 31250);
	EXPECT_CMD("31250 8 N 1", "linecoding " CP2104);
	/* <= 365: prescale 4: 48e6 / (8 x round(6e6 / 300 = 20000)) */
	cp_set_baud(c, 300);
	EXPECT_CMD("300 8 N 1", "linecoding " CP2104);
	/* 6e6 / 365 = 16438.4 -> 16438: 365.009 */
	cp_set_baud(c, 365);
	EXPECT_CMD("365.008 8 N 1", "linecoding " CP2104);
	/* 24e6 / 115200 = 208.33 -> 208: 115384.615 */
	cp_set_baud(c, 115200);
	EXPECT_CMD("115384.615 8 N 1", "linecoding " CP2104);
}

/* ---- CH340 ----------------------------------------------------------------- */

#define CH_OUT 0x40
#define CH_IN  0xc0

static void test_ch340(void **state)
{
	g_autoptr(Client) c = open_dev(CH340);
	guint8 buf[8];
	gsize n;

	configure(c);
	assert_true(mock_server_clear_requests(srv, CH340, NULL));
	assert_int_equal(ctrl(c, CH_IN, 0x5f, 0, 0, 2, NULL, buf, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(buf[0], 0x30);
	CTRL_OK(c, CH_OUT, 0xa1, 0, 0);
	/* divisor (0x13) 0xcc = 256 - 52, prescaler (0x12) 0x83 = ps 3, fact 0,
	 * bit 7: 48e6 / (2^(12 - 9 - 0) x 52) = 115384.6 (Linux's 115200) */
	CTRL_OK(c, CH_OUT, 0x9a, 0x1312, 0xcc83);
	/* LCR 0x18 = 0xdb: RX 0x80 | TX 0x40 | even 0x10 | parity 0x08 | CS8 3 */
	CTRL_OK(c, CH_OUT, 0x9a, 0x2518, 0x00db);
	EXPECT_CMD("115384.615 8 E 1", "linecoding " CH340);
	/* stick parity 0x20: odd+stick = mark, even+stick = space; CS5 + 0x04 */
	CTRL_OK(c, CH_OUT, 0x9a, 0x2518, 0x00eb);
	EXPECT_CMD("115384.615 8 M 1", "linecoding " CH340);
	CTRL_OK(c, CH_OUT, 0x9a, 0x2518, 0x00fb);
	EXPECT_CMD("115384.615 8 S 1", "linecoding " CH340);
	CTRL_OK(c, CH_OUT, 0x9a, 0x2518, 0x00c4);
	EXPECT_CMD("115384.615 5 N 2", "linecoding " CH340);
	/* ps 2, fact 1: 48e6 / (2^5 x 156) = 9615.4; fact 1 at ps 3, div 2: 6 MHz */
	CTRL_OK(c, CH_OUT, 0x9a, 0x1312, 0x6486);
	EXPECT_CMD("9615.385 5 N 2", "linecoding " CH340);
	CTRL_OK(c, CH_OUT, 0x9a, 0x1312, 0xfe87);
	EXPECT_CMD("6000000 5 N 2", "linecoding " CH340);
	/* flow control register 0x27 = 0x01 written twice, as Linux does */
	CTRL_OK(c, CH_OUT, 0x9a, 0x2727, 0x0101);
	EXPECT_CMD("6000000 5 N 2 rtscts", "linecoding " CH340);
	/* MODEM_CTRL takes the inverted byte: ~(DTR 0x20 | RTS 0x40), ~DTR */
	CTRL_OK(c, CH_OUT, 0xa4, 0xff9f, 0);
	CTRL_OK(c, CH_OUT, 0xa4, 0xffdf, 0);
	CTRL_OK(c, CH_OUT, 0xa4, 0xffff, 0);
	EXPECT_CMD("0x3 0x1 0x0", "lines " CH340);
	/* break: read registers 0x05 and 0x18, clear bit 0 and TX 0x40, write */
	assert_int_equal(ctrl(c, CH_IN, 0x95, 0x1805, 0, 2, NULL, buf, &n), 0);
	assert_int_equal(buf[0] & 1, 1);
	CTRL_OK(c, CH_OUT, 0x9a, 0x1805, (guint16)(((buf[1] & ~0x40) << 8) | (buf[0] & ~1)));
	CTRL_OK(c, CH_OUT, 0x9a, 0x1805, (guint16)((buf[1] << 8) | buf[0]));
	EXPECT_CMD("0xffff 0x0", "breaks " CH340);
	/* status register 0x06 (active low): CTS 0x01 and DCD 0x08 on */
	EXPECT_CMD("ok", "modem " CH340 " cts,dcd");
	assert_int_equal(ctrl(c, CH_IN, 0x95, 0x0706, 0, 2, NULL, buf, &n), 0);
	assert_int_equal(buf[0] & 0x0f, 0x06);
	/* ... and on the interrupt endpoint: byte 2's low nibble */
	{
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 8, NULL, NULL, 1));
		assert_int_equal(r->len, 4);
		assert_int_equal(r->data[2] & 0x0f, 0x06);
	}
	/* the CH34x reports no line events */
	{
		g_autofree char *e = cmd("modem %s break", CH340);
		assert_true(g_str_has_prefix(e, "error: "));
	}
	CTRL_STALLS(c, CH_OUT, 0x01, 0, 0);
	loopback_raw(c, 0x02, 0x82, (const guint8 *)"ch340 loop", 10);
}

/* ---- PL2303 ---------------------------------------------------------------- */

static void test_pl2303_hx(void **state)
{
	g_autoptr(Client) c = open_dev(PL2303);
	/* 115200 direct: 00 c2 01 00, 1 stop, no parity, 8 bits */
	const guint8 direct[7] = {0x00, 0xc2, 0x01, 0x00, 0, 0, 8};
	/* 250000 as a divisor: mantissa 384 (0x180), exponent 1: byte 1 = 1 << 1 |
	 * 0x1, byte 3 0x80; 12e6 x 32 / (384 x 4) */
	const guint8 divisor[7] = {0x80, 0x03, 0x00, 0x80, 2, 2, 7};
	/* 250000 direct is not a rate the HX sets directly: it runs at 9600 */
	const guint8 bad_direct[7] = {0x90, 0xd0, 0x03, 0x00, 0, 0, 8};
	guint8 buf[8];
	gsize n;

	configure(c);
	assert_true(mock_server_clear_requests(srv, PL2303, NULL));
	/* vendor register read (wValue | 0x80) and write */
	CTRL_OK(c, 0x40, 0x01, 0x0404, 0x00);
	assert_int_equal(ctrl(c, 0xc0, 0x01, 0x8484, 0, 1, NULL, buf, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ctrl(c, 0xc0, 0x01, 0x0004, 0, 1, NULL, buf, &n), -EPIPE);
	assert_int_equal(ctrl(c, 0x21, 0x20, 0, 0, 7, direct, NULL, NULL), 0);
	EXPECT_CMD("115200 8 N 1", "linecoding " PL2303);
	assert_int_equal(ctrl(c, 0x21, 0x20, 0, 0, 7, divisor, NULL, NULL), 0);
	EXPECT_CMD("250000 7 E 2", "linecoding " PL2303);
	assert_int_equal(ctrl(c, 0xa1, 0x21, 0, 0, 7, NULL, buf, &n), 0);
	assert_memory_equal(buf, divisor, 7);
	assert_int_equal(ctrl(c, 0x21, 0x20, 0, 0, 7, bad_direct, NULL, NULL), 0);
	EXPECT_CMD("9600 8 N 1", "linecoding " PL2303);
	/* flow control: register 0 bits 4-7 = 0x60 RTS/CTS */
	CTRL_OK(c, 0x40, 0x01, 0x0000, 0x61);
	EXPECT_CMD("9600 8 N 1 rtscts", "linecoding " PL2303);
	CTRL_OK(c, 0x40, 0x01, 0x0000, 0x01);
	/* lines and breaks (a break off while off is not a change) */
	CTRL_OK(c, 0x21, 0x22, 3, 0);
	CTRL_OK(c, 0x21, 0x22, 1, 0);
	EXPECT_CMD("0x3 0x1", "lines " PL2303);
	CTRL_OK(c, 0x21, 0x23, 0xffff, 0);
	CTRL_OK(c, 0x21, 0x23, 0, 0);
	CTRL_OK(c, 0x21, 0x23, 0, 0);
	EXPECT_CMD("0xffff 0x0", "breaks " PL2303);
	/* 5 data bits: 1.5 stop bits; a data bit count of 9 stalls */
	{
		const guint8 five[7] = {0x80, 0x25, 0, 0, 1, 0, 5};
		const guint8 nine[7] = {0x80, 0x25, 0, 0, 0, 0, 9};
		assert_int_equal(ctrl(c, 0x21, 0x20, 0, 0, 7, five, NULL, NULL), 0);
		EXPECT_CMD("9600 5 N 1.5", "linecoding " PL2303);
		assert_int_equal(ctrl(c, 0x21, 0x20, 0, 0, 7, nine, NULL, NULL), -EPIPE);
	}
	/* modem lines: byte 8 of the notification, CTS 0x80 | DCD 0x01 */
	EXPECT_CMD("ok", "modem " PL2303 " cts,dcd");
	{
		const guint8 want[10] = {0xa1, 0x20, 0, 0, 0, 0, 2, 0, 0x81, 0};
		g_autofree Reply *r = expect_reply(c, submit(c, 0x81, TRUE, 10, NULL, NULL, 1));
		assert_int_equal(r->len, 10);
		assert_memory_equal(r->data, want, 10);
	}
	loopback_raw(c, 0x02, 0x83, (const guint8 *)"pl2303", 6);
}

static void test_pl2303_hxn(void **state)
{
	g_autoptr(Client) c = open_dev(PL2303N);
	/* 250000 direct: 90 d0 03 00 */
	const guint8 line[7] = {0x90, 0xd0, 0x03, 0x00, 0, 0, 8};
	guint8 buf[8];
	gsize n;

	configure(c);
	/* the HX status request stalls on an HXN (how Linux tells them apart) */
	assert_int_equal(ctrl(c, 0xc0, 0x01, 0x8080, 0, 1, NULL, buf, &n), -EPIPE);
	/* HXN registers: read 0x81, flow register 0x0a at "none" 0x1c */
	assert_int_equal(ctrl(c, 0xc0, 0x81, 0x000a, 0, 1, NULL, buf, &n), 0);
	assert_int_equal(buf[0], 0x1c);
	assert_int_equal(ctrl(c, 0x21, 0x20, 0, 0, 7, line, NULL, NULL), 0);
	EXPECT_CMD("250000 8 N 1", "linecoding " PL2303N);
	CTRL_OK(c, 0x40, 0x80, 0x000a, 0x18);
	EXPECT_CMD("250000 8 N 1 rtscts", "linecoding " PL2303N);
}

/* ---- the control channel on any chip -------------------------------------- */

static void test_modem_command(void **state)
{
	static const struct {
		const char *cmd, *prefix;
	} cases[] = {
	    {"modem " FT232R " none", "ok"},
	    {"modem " FT232R " cts,bogus", "error: bad command"},
	    {"modem " FT232R " cts 7", "error: "},
	    {"modem " FT232R, "error: bad command"},
	    {"chip " FT232R " 4", "error: "},
	    {"model 8-8", "error: no device"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *r = cmd("%s", cases[i].cmd);
		if (!g_str_has_prefix(r, cases[i].prefix))
			fail_msg("'%s' -> '%s', want prefix '%s'", cases[i].cmd, r,
			         cases[i].prefix);
	}
}

static int group_setup(void **state)
{
	g_autoptr(GError) err = NULL;
	const char *dir = g_getenv("LSUSB_CHIPS");

	srv = mock_server_new(dir ? dir : "test/lsusb-chips", "127.0.0.1", 0, &err);
	if (!srv) {
		fprintf(stderr, "mock_server_new: %s\n", err->message);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	mock_server_free(srv);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_models_selected), cmocka_unit_test(test_ftdi_divisors),
	    cmocka_unit_test(test_ftdi_requests),   cmocka_unit_test(test_ftdi_framing),
	    cmocka_unit_test(test_ftdi_h_loopback), cmocka_unit_test(test_cp210x),
	    cmocka_unit_test(test_cp210x_events),   cmocka_unit_test(test_cp2104_rates),
	    cmocka_unit_test(test_ch340),           cmocka_unit_test(test_pl2303_hx),
	    cmocka_unit_test(test_pl2303_hxn),      cmocka_unit_test(test_modem_command),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
