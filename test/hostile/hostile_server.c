/* SPDX-License-Identifier: MIT */
/* A deliberately misbehaving USBIP server for tests; see hostile_server.h. */
#include "hostile_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "byteorder.h"
#include "usbip_proto.h"

#define HS_BUSID   "1-1"
#define HS_VID     0x1209
#define HS_PID     0x0001
#define HS_EP_INT  1 /* 0x81 */
#define HS_EP_OUT  2 /* 0x02 */
#define HS_EP_IN   3 /* 0x83 */
#define HS_MAX_URB (1u << 20)

/* Device descriptor: USB 2.0, class EF/02/01 (IAD), ep0 64 bytes, 1209:0001,
 * bcdDevice 1.00, strings 1/2/3, one configuration. */
static const guint8 dev_desc[18] = {
    0x12, 0x01, 0x00, 0x02, 0xef, 0x02, 0x01, 0x40, 0x09,
    0x12, 0x01, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
};

/* One CDC-ACM function: IAD, comm interface 0 (interrupt 0x81), data
 * interface 1 (bulk 0x02 OUT, 0x83 IN, 512 bytes). 75 bytes. */
static const guint8 cfg_desc[75] = {
    0x09, 0x02, 0x4b, 0x00, 0x02, 0x01, 0x00, 0x80, 0x32, /* config, wTotalLength 75 */
    0x08, 0x0b, 0x00, 0x02, 0x02, 0x02, 0x01, 0x00,       /* IAD: intf 0-1, CDC ACM */
    0x09, 0x04, 0x00, 0x00, 0x01, 0x02, 0x02, 0x01, 0x00, /* intf 0: comm, 1 ep */
    0x05, 0x24, 0x00, 0x10, 0x01,                         /* CDC header 1.10 */
    0x05, 0x24, 0x01, 0x00, 0x01,                         /* call management, data intf 1 */
    0x04, 0x24, 0x02, 0x02,                               /* ACM: line coding + state */
    0x05, 0x24, 0x06, 0x00, 0x01,                         /* union: 0 -> 1 */
    0x07, 0x05, 0x81, 0x03, 0x0a, 0x00, 0x10,             /* ep 0x81 interrupt, 10 B */
    0x09, 0x04, 0x01, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x00, /* intf 1: data, 2 eps */
    0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00,             /* ep 0x02 bulk OUT, 512 B */
    0x07, 0x05, 0x83, 0x02, 0x00, 0x02, 0x00,             /* ep 0x83 bulk IN, 512 B */
};

static const char *const plain_strings[] = {"Hostile", "Hostile ACM", "H0571LE"};
/* Terminal escapes, line breaks, BEL and DEL: nothing of this may reach a
 * terminal or a log line raw. */
static const char *const evil_strings[] = {
    "Host\x1b]0;owned\x07ile",
    "Evil\x1b[2J\r\nACM\x07",
    "H0\n571\x7fLE",
};
static const char plain_path[] = "/sys/devices/platform/hostile/usb1/1-1";
static const char evil_path[] = "/sys/\x1b[31mhostile\n\tfake 9-9 line\x07\x08";

typedef struct {
	guint32 seqnum;
	guint32 len;
} Pending;

typedef struct {
	HostileServer *s;
	int fd;
	GThread *thread;
	gint done;          /* atomic */
	gint64 deadline_us; /* monotonic; 0 = none: close the URB link then */
	GArray *bulk_in;    /* Pending, oldest first */
	GArray *intr_in;    /* Pending */
	GByteArray *loop;   /* bulk OUT bytes not yet returned */
	gboolean first_reply_sent, first_ctrl_in_sent, first_bulk_in_sent;
	gboolean unlink_delayed;
} Conn;

struct _HostileServer {
	HostileConfig cfg;
	int lfd;
	guint16 port;
	GThread *acceptor;
	GMutex lock;
	GPtrArray *conns; /* Conn*, guarded by lock */
	HostileStats st;  /* guarded by lock */
	gint stopping;    /* atomic */
};

/* ---- configuration ---- */

void hostile_config_init(HostileConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->stall_list = cfg->stall_urb = -1;
	cfg->truncate_list = cfg->truncate_urb = -1;
	cfg->wtotal = -1;
	cfg->die_after_attach_ms = -1;
}

typedef enum { V_NONE, V_INT, V_UINT } ValKind;

gboolean hostile_config_add(HostileConfig *cfg, const char *item, GError **error)
{
	const char *eq = strchr(item, '=');
	g_autofree char *name = eq ? g_strndup(item, (gsize)(eq - item)) : g_strdup(item);
	gint64 v = 0;
	if (eq) {
		char *end;
		errno = 0;
		v = g_ascii_strtoll(eq + 1, &end, 10);
		if (errno || end == eq + 1 || *end || v < G_MININT32 || v > G_MAXUINT32) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			            "bad value in \"%s\"", item);
			return FALSE;
		}
	}
	const struct {
		const char *name;
		ValKind kind;
	} known[] = {
	    {"list-status", V_INT},    {"import-status", V_INT},     {"ctrl-status", V_INT},
	    {"bulk-in-status", V_INT}, {"trickle-list", V_UINT},     {"trickle-import", V_UINT},
	    {"trickle-urb", V_UINT},   {"stall-list", V_UINT},       {"stall-urb", V_UINT},
	    {"truncate-list", V_UINT}, {"truncate-urb", V_UINT},     {"unknown-seqnum", V_NONE},
	    {"long-actual", V_UINT},   {"negative-length", V_INT},   {"endless-list", V_NONE},
	    {"endless-bulk", V_NONE},  {"evil-strings", V_NONE},     {"wtotal", V_UINT},
	    {"unlink-delay", V_UINT},  {"die-after-attach", V_UINT}, {"reset-urb", V_NONE},
	};
	gsize i;
	for (i = 0; i < G_N_ELEMENTS(known); i++)
		if (strcmp(known[i].name, name) == 0)
			break;
	if (i == G_N_ELEMENTS(known)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		            "unknown hostile behaviour \"%s\"", name);
		return FALSE;
	}
	if ((known[i].kind == V_NONE) != !eq ||
	    (known[i].kind == V_UINT && (v < 0 || v > G_MAXINT)) ||
	    (strcmp(name, "negative-length") == 0 && v >= 0)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "bad value in \"%s\"",
		            item);
		return FALSE;
	}
	if (strcmp(name, "list-status") == 0)
		cfg->list_status = v, cfg->has_list_status = TRUE;
	else if (strcmp(name, "import-status") == 0)
		cfg->import_status = v, cfg->has_import_status = TRUE;
	else if (strcmp(name, "ctrl-status") == 0)
		cfg->ctrl_status = v, cfg->has_ctrl_status = TRUE;
	else if (strcmp(name, "bulk-in-status") == 0)
		cfg->bulk_in_status = v, cfg->has_bulk_in_status = TRUE;
	else if (strcmp(name, "trickle-list") == 0)
		cfg->trickle_list_ms = (guint)v;
	else if (strcmp(name, "trickle-import") == 0)
		cfg->trickle_import_ms = (guint)v;
	else if (strcmp(name, "trickle-urb") == 0)
		cfg->trickle_urb_ms = (guint)v;
	else if (strcmp(name, "stall-list") == 0)
		cfg->stall_list = (gint)v;
	else if (strcmp(name, "stall-urb") == 0)
		cfg->stall_urb = (gint)v;
	else if (strcmp(name, "truncate-list") == 0)
		cfg->truncate_list = (gint)v;
	else if (strcmp(name, "truncate-urb") == 0)
		cfg->truncate_urb = (gint)v;
	else if (strcmp(name, "unknown-seqnum") == 0)
		cfg->unknown_seqnum = TRUE;
	else if (strcmp(name, "reset-urb") == 0)
		cfg->reset_urb = TRUE;
	else if (strcmp(name, "long-actual") == 0)
		cfg->long_actual = (guint)v;
	else if (strcmp(name, "negative-length") == 0)
		cfg->negative_length = (gint)v;
	else if (strcmp(name, "endless-list") == 0)
		cfg->endless_list = TRUE;
	else if (strcmp(name, "endless-bulk") == 0)
		cfg->endless_bulk = TRUE;
	else if (strcmp(name, "evil-strings") == 0)
		cfg->evil_strings = TRUE;
	else if (strcmp(name, "wtotal") == 0)
		cfg->wtotal = (gint)v;
	else if (strcmp(name, "unlink-delay") == 0)
		cfg->unlink_delay_ms = (guint)v;
	else if (strcmp(name, "die-after-attach") == 0)
		cfg->die_after_attach_ms = (gint)v;
	return TRUE;
}

/* ---- socket helpers (blocking, bounded by stopping and the deadline) ---- */

static gboolean stopping(HostileServer *s)
{
	return g_atomic_int_get(&s->stopping) != 0;
}

static void nap(HostileServer *s, guint ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	while (!stopping(s) && g_get_monotonic_time() < end)
		g_usleep(MIN(10000, (gulong)MAX(0, end - g_get_monotonic_time())));
}

static gboolean send_all(Conn *c, const void *buf, gsize len, guint trickle_ms)
{
	const guint8 *p = buf;
	while (len > 0 && !stopping(c->s)) {
		gsize chunk = trickle_ms ? 1 : len;
		ssize_t n = send(c->fd, p, chunk, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (gsize)n;
		if (trickle_ms && len)
			nap(c->s, trickle_ms);
	}
	return len == 0;
}

/* Wait until readable: FALSE when stopping or past the deadline. */
static gboolean wait_readable(Conn *c)
{
	for (;;) {
		if (stopping(c->s))
			return FALSE;
		gint64 now = g_get_monotonic_time();
		if (c->deadline_us && now >= c->deadline_us)
			return FALSE;
		int ms = 100;
		if (c->deadline_us)
			ms = (int)MIN(100, (c->deadline_us - now + 999) / 1000);
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int r = poll(&pfd, 1, ms);
		if (r > 0)
			return TRUE;
		if (r < 0 && errno != EINTR)
			return FALSE;
	}
}

static gboolean recv_all(Conn *c, void *buf, gsize len)
{
	guint8 *p = buf;
	while (len > 0) {
		if (!wait_readable(c))
			return FALSE;
		ssize_t n = recv(c->fd, p, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return FALSE;
		p += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* Keep the connection open and say nothing more: read and drop whatever
 * the peer sends until it gives up. */
static void idle_until_eof(Conn *c)
{
	guint8 buf[4096];
	while (wait_readable(c)) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return;
	}
}

static gboolean peer_closed(Conn *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLRDHUP};
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

#define STAT_ADD(s, field, n)                                                                      \
	do {                                                                                       \
		g_mutex_lock(&(s)->lock);                                                          \
		(s)->st.field += (n);                                                              \
		g_mutex_unlock(&(s)->lock);                                                        \
	} while (0)

/* ---- OP phase ---- */

static void fill_device(const HostileConfig *cfg, struct usbip_device *d)
{
	memset(d, 0, sizeof(*d));
	g_strlcpy(d->path, cfg->evil_strings ? evil_path : plain_path, sizeof(d->path));
	g_strlcpy(d->busid, HS_BUSID, sizeof(d->busid));
	d->busnum = 1;
	d->devnum = 2;
	d->speed = 3; /* high */
	d->idVendor = HS_VID;
	d->idProduct = HS_PID;
	d->bcdDevice = 0x0100;
	d->bDeviceClass = 0xef;
	d->bDeviceSubClass = 0x02;
	d->bDeviceProtocol = 0x01;
	d->bConfigurationValue = 1;
	d->bNumConfigurations = 1;
	d->bNumInterfaces = 2;
}

static void do_list(Conn *c)
{
	const HostileConfig *cfg = &c->s->cfg;
	guint8 buf[USBIP_DEVLIST_HEAD_SIZE + USBIP_DEVICE_SIZE + 2 * USBIP_INTF_SIZE];
	static const struct usbip_intf intf[2] = {{0x02, 0x02, 0x01}, {0x0a, 0x00, 0x00}};
	struct usbip_device d;
	fill_device(cfg, &d);
	if (cfg->has_list_status) {
		usbip_proto_devlist_head_encode((guint32)cfg->list_status, 0, buf, sizeof(buf));
		send_all(c, buf, USBIP_DEVLIST_HEAD_SIZE, cfg->trickle_list_ms);
		return;
	}
	if (cfg->endless_list) {
		usbip_proto_devlist_head_encode(0, 4096, buf, sizeof(buf));
		if (!send_all(c, buf, USBIP_DEVLIST_HEAD_SIZE, 0))
			return;
		gssize n = usbip_proto_devlist_entry_encode(&d, intf, buf, sizeof(buf));
		while (n > 0 && send_all(c, buf, (gsize)n, cfg->trickle_list_ms))
			;
		return;
	}
	gsize len = USBIP_DEVLIST_HEAD_SIZE;
	usbip_proto_devlist_head_encode(0, 1, buf, sizeof(buf));
	len += (gsize)usbip_proto_devlist_entry_encode(&d, intf, buf + len, sizeof(buf) - len);
	if (cfg->truncate_list >= 0) {
		send_all(c, buf, MIN(len, (gsize)cfg->truncate_list), 0);
		return;
	}
	if (cfg->stall_list >= 0) {
		if (send_all(c, buf, MIN(len, (gsize)cfg->stall_list), 0))
			idle_until_eof(c);
		return;
	}
	send_all(c, buf, len, cfg->trickle_list_ms);
}

static void urb_loop(Conn *c);

static void do_import(Conn *c, const char *busid)
{
	const HostileConfig *cfg = &c->s->cfg;
	guint8 buf[USBIP_OP_HDR_SIZE + USBIP_DEVICE_SIZE];
	struct usbip_op_hdr h = {.version = USBIP_VERSION, .code = USBIP_OP_REP_IMPORT};
	if (cfg->has_import_status)
		h.status = (guint32)cfg->import_status;
	else if (strcmp(busid, HS_BUSID) != 0)
		h.status = USBIP_ST_NODEV;
	usbip_proto_op_hdr_encode(&h, buf, sizeof(buf));
	if (h.status != USBIP_ST_OK) {
		send_all(c, buf, USBIP_OP_HDR_SIZE, cfg->trickle_import_ms);
		return;
	}
	struct usbip_device d;
	fill_device(cfg, &d);
	usbip_proto_device_encode(&d, buf + USBIP_OP_HDR_SIZE, USBIP_DEVICE_SIZE);
	if (!send_all(c, buf, sizeof(buf), cfg->trickle_import_ms))
		return;
	urb_loop(c);
}

/* ---- URB phase ---- */

/* Send a RET_SUBMIT (or, with unlink, a RET_UNLINK); the hostile variants of
 * the first reply of a connection are applied here.  FALSE: close. */
static gboolean reply(Conn *c, guint32 cmd, guint32 seqnum, gint32 status, gint32 actual,
                      const guint8 *data, gsize len)
{
	const HostileConfig *cfg = &c->s->cfg;
	gboolean first = !c->first_reply_sent;
	c->first_reply_sent = TRUE;
	guint8 *frame = g_malloc0(USBIP_URB_HDR_SIZE + len);
	if (first && cfg->unknown_seqnum)
		seqnum ^= 0x40000000u;
	put_be32(frame + 0, cmd);
	put_be32(frame + 4, seqnum);
	/* devid, direction, ep: 0, as Linux and usbipd-win send them */
	put_be32(frame + 20, (guint32)status);
	if (cmd == USBIP_RET_SUBMIT)
		put_be32(frame + 24, (guint32)actual);
	if (len)
		memcpy(frame + USBIP_URB_HDR_SIZE, data, len);
	gboolean ok;
	if (first && cfg->reset_urb) {
		/* close with a zero linger: the peer's next recv fails with
		 * ECONNRESET instead of seeing EOF */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		/* under the lock: hostile_server_free must not shut down a
		 * number that close() just gave back */
		g_mutex_lock(&c->s->lock);
		close(c->fd);
		c->fd = -1;
		g_mutex_unlock(&c->s->lock);
		ok = FALSE;
	} else if (first && cfg->truncate_urb >= 0) {
		send_all(c, frame, MIN((gsize)cfg->truncate_urb, USBIP_URB_HDR_SIZE), 0);
		ok = FALSE;
	} else {
		ok = send_all(c, frame, USBIP_URB_HDR_SIZE + len, cfg->trickle_urb_ms);
	}
	g_free(frame);
	return ok;
}

static gsize string_desc(guint idx, gboolean evil, guint8 *out)
{
	if (idx == 0) {
		static const guint8 langs[4] = {0x04, 0x03, 0x09, 0x04}; /* en-US */
		memcpy(out, langs, sizeof(langs));
		return sizeof(langs);
	}
	if (idx > 3)
		return 0;
	const char *s = (evil ? evil_strings : plain_strings)[idx - 1];
	gsize n = strlen(s);
	out[0] = (guint8)(2 + 2 * n);
	out[1] = 0x03;
	for (gsize i = 0; i < n; i++)
		put_le16(out + 2 + 2 * i, (guint8)s[i]);
	return 2 + 2 * n;
}

static gboolean on_control(Conn *c, const struct usbip_urb_hdr *h, const guint8 *data, gsize n)
{
	const HostileConfig *cfg = &c->s->cfg;
	const guint8 *su = h->u.submit.setup;
	guint8 type = su[0], req = su[1];
	guint16 val = get_le16(su + 2), wlen = get_le16(su + 6);
	guint8 resp[256];
	gsize rlen = 0;
	gint32 status = 0;

	if (type == 0x80 && req == 6) { /* GET_DESCRIPTOR */
		switch (val >> 8) {
		case 1:
			memcpy(resp, dev_desc, sizeof(dev_desc));
			rlen = sizeof(dev_desc);
			break;
		case 2:
			memcpy(resp, cfg_desc, sizeof(cfg_desc));
			rlen = sizeof(cfg_desc);
			if (cfg->wtotal >= 0)
				put_le16(resp + 2, (guint16)cfg->wtotal);
			break;
		case 3:
			rlen = string_desc(val & 0xff, cfg->evil_strings, resp);
			status = rlen ? 0 : -32;
			break;
		default:
			status = -32; /* stall */
		}
	} else if ((type == 0x00 && req == 9) || (type == 0x01 && req == 11) ||
	           (type == 0x02 && req == 1)) {
		/* SET_CONFIGURATION, SET_INTERFACE, CLEAR_FEATURE */
	} else if (type == 0x21 && (req == 0x20 || req == 0x22 || req == 0x23)) {
		STAT_ADD(c->s, class_requests, 1);
		if (cfg->has_ctrl_status)
			status = (gint32)cfg->ctrl_status;
	} else if (type == 0xa1 && req == 0x21) { /* GET_LINE_CODING */
		static const guint8 lc[7] = {0x80, 0x25, 0, 0, 0, 0, 8};
		memcpy(resp, lc, sizeof(lc));
		rlen = sizeof(lc);
	} else {
		status = -32;
	}
	if (!(type & 0x80) || wlen == 0)
		return reply(c, USBIP_RET_SUBMIT, h->seqnum, status, status ? 0 : (gint32)n, NULL,
		             0);
	gsize out = status ? 0 : MIN(rlen, (gsize)wlen);
	gint32 actual = (gint32)out;
	if (!c->first_ctrl_in_sent) {
		c->first_ctrl_in_sent = TRUE;
		if (cfg->long_actual) {
			gsize more = MIN((gsize)cfg->long_actual, sizeof(resp) - out);
			memset(resp + out, 0x5a, more);
			out += more;
			actual = (gint32)(wlen + cfg->long_actual);
		} else if (cfg->negative_length) {
			out = 0;
			actual = cfg->negative_length;
		}
	}
	return reply(c, USBIP_RET_SUBMIT, h->seqnum, status, actual, resp, out);
}

/* Return looped-back bytes to the oldest waiting bulk-IN URBs. */
static gboolean serve_bulk_in(Conn *c)
{
	const HostileConfig *cfg = &c->s->cfg;
	while (c->bulk_in->len && c->loop->len) {
		Pending p = g_array_index(c->bulk_in, Pending, 0);
		g_array_remove_index(c->bulk_in, 0);
		gsize n = MIN((gsize)p.len, c->loop->len);
		if (!c->first_bulk_in_sent && cfg->stall_urb >= 0) {
			c->first_bulk_in_sent = TRUE;
			guint8 *frame = g_malloc0(USBIP_URB_HDR_SIZE + n);
			put_be32(frame, USBIP_RET_SUBMIT);
			put_be32(frame + 4, p.seqnum);
			put_be32(frame + 24, (guint32)n);
			memcpy(frame + USBIP_URB_HDR_SIZE, c->loop->data, n);
			gboolean ok = send_all(
			    c, frame, MIN((gsize)cfg->stall_urb, USBIP_URB_HDR_SIZE + n), 0);
			g_free(frame);
			if (ok)
				idle_until_eof(c);
			return FALSE;
		}
		c->first_bulk_in_sent = TRUE;
		if (!reply(c, USBIP_RET_SUBMIT, p.seqnum, 0, (gint32)n, c->loop->data, n))
			return FALSE;
		g_byte_array_remove_range(c->loop, 0, (guint)n);
	}
	return TRUE;
}

static gboolean on_submit(Conn *c, const struct usbip_urb_hdr *h, const guint8 *data, gsize n)
{
	const HostileConfig *cfg = &c->s->cfg;
	STAT_ADD(c->s, urbs, 1);
	if (h->ep == 0)
		return on_control(c, h, data, n);
	Pending p = {.seqnum = h->seqnum, .len = (guint32)h->u.submit.transfer_buffer_length};
	if (h->direction == USBIP_DIR_OUT) {
		STAT_ADD(c->s, bulk_out_bytes, n);
		g_byte_array_append(c->loop, data, (guint)n);
		if (!reply(c, USBIP_RET_SUBMIT, h->seqnum, 0, (gint32)n, NULL, 0))
			return FALSE;
		return serve_bulk_in(c);
	}
	if (h->ep == HS_EP_INT) {
		g_array_append_val(c->intr_in, p);
		return TRUE;
	}
	if (!c->first_bulk_in_sent && cfg->has_bulk_in_status) {
		c->first_bulk_in_sent = TRUE;
		return reply(c, USBIP_RET_SUBMIT, h->seqnum, (gint32)cfg->bulk_in_status, 0, NULL,
		             0);
	}
	if (cfg->endless_bulk) {
		guint8 *fill = g_malloc(p.len);
		for (guint32 i = 0; i < p.len; i++)
			fill[i] = (guint8)('a' + i % 26);
		gboolean ok = reply(c, USBIP_RET_SUBMIT, h->seqnum, 0, (gint32)p.len, fill, p.len);
		g_free(fill);
		return ok;
	}
	g_array_append_val(c->bulk_in, p);
	return serve_bulk_in(c);
}

static gboolean take_pending(GArray *a, guint32 seqnum)
{
	for (guint i = 0; i < a->len; i++) {
		if (g_array_index(a, Pending, i).seqnum == seqnum) {
			g_array_remove_index(a, i);
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean on_unlink(Conn *c, const struct usbip_urb_hdr *h)
{
	STAT_ADD(c->s, unlinks, 1);
	gboolean found = take_pending(c->bulk_in, h->u.unlink.seqnum) ||
	                 take_pending(c->intr_in, h->u.unlink.seqnum);
	/* a slow server: the answers start MS ms after the first unlink */
	if (c->s->cfg.unlink_delay_ms && !c->unlink_delayed)
		nap(c->s, c->s->cfg.unlink_delay_ms);
	c->unlink_delayed = TRUE;
	if (peer_closed(c)) {
		STAT_ADD(c->s, unlinks_lost, 1);
		return TRUE; /* read the rest; EOF ends the loop */
	}
	if (!reply(c, USBIP_RET_UNLINK, h->seqnum, found ? -104 : 0, 0, NULL, 0))
		return FALSE;
	STAT_ADD(c->s, unlinks_answered, 1);
	return TRUE;
}

static void urb_loop(Conn *c)
{
	const HostileConfig *cfg = &c->s->cfg;
	if (cfg->die_after_attach_ms >= 0)
		c->deadline_us = g_get_monotonic_time() + (gint64)cfg->die_after_attach_ms * 1000;
	for (;;) {
		guint8 hb[USBIP_URB_HDR_SIZE];
		struct usbip_urb_hdr h;
		if (!recv_all(c, hb, sizeof(hb)) ||
		    usbip_proto_urb_hdr_decode(&h, hb, sizeof(hb)) < 0)
			break;
		if (h.command == USBIP_CMD_UNLINK) {
			if (!on_unlink(c, &h))
				break;
			continue;
		}
		gssize n = usbip_proto_cmd_submit_payload(&h, HS_MAX_URB);
		if (h.command != USBIP_CMD_SUBMIT || n < 0)
			break;
		guint8 *data = n ? g_malloc((gsize)n) : NULL;
		gboolean ok =
		    (n == 0 || recv_all(c, data, (gsize)n)) && on_submit(c, &h, data, (gsize)n);
		g_free(data);
		if (!ok)
			break;
	}
	if (c->bulk_in->len || c->intr_in->len)
		STAT_ADD(c->s, closed_busy, 1);
}

static gpointer conn_thread(gpointer user)
{
	Conn *c = user;
	guint8 hb[USBIP_OP_HDR_SIZE];
	struct usbip_op_hdr h;
	if (recv_all(c, hb, sizeof(hb)) && usbip_proto_op_hdr_decode(&h, hb, sizeof(hb)) >= 0) {
		if (h.code == USBIP_OP_REQ_DEVLIST) {
			STAT_ADD(c->s, lists, 1);
			do_list(c);
		} else if (h.code == USBIP_OP_REQ_IMPORT) {
			char busid[USBIP_BUSID_SIZE + 1] = {0};
			if (recv_all(c, busid, USBIP_BUSID_SIZE)) {
				STAT_ADD(c->s, imports, 1);
				do_import(c, busid);
			}
		}
	}
	shutdown(c->fd, SHUT_RDWR);
	g_atomic_int_set(&c->done, 1);
	return NULL;
}

static gpointer accept_thread(gpointer user)
{
	HostileServer *s = user;
	while (!stopping(s)) {
		struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		Conn *c = g_new0(Conn, 1);
		c->s = s;
		c->fd = fd;
		c->bulk_in = g_array_new(FALSE, FALSE, sizeof(Pending));
		c->intr_in = g_array_new(FALSE, FALSE, sizeof(Pending));
		c->loop = g_byte_array_new();
		g_mutex_lock(&s->lock);
		s->st.connections++;
		g_ptr_array_add(s->conns, c);
		c->thread = g_thread_new("hostile-conn", conn_thread, c);
		g_mutex_unlock(&s->lock);
	}
	return NULL;
}

HostileServer *hostile_server_new(const HostileConfig *cfg, const char *addr, guint16 port,
                                  GError **error)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad address %s", addr);
		return NULL;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "listen on %s:%u: %s",
		            addr, port, g_strerror(e));
		return NULL;
	}
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	HostileServer *s = g_new0(HostileServer, 1);
	s->cfg = *cfg;
	s->lfd = fd;
	s->port = ntohs(sa.sin_port);
	g_mutex_init(&s->lock);
	s->conns = g_ptr_array_new();
	s->acceptor = g_thread_new("hostile-accept", accept_thread, s);
	return s;
}

guint16 hostile_server_get_port(HostileServer *s)
{
	return s->port;
}

void hostile_server_get_stats(HostileServer *s, HostileStats *st)
{
	g_mutex_lock(&s->lock);
	*st = s->st;
	g_mutex_unlock(&s->lock);
}

gboolean hostile_server_wait_idle(HostileServer *s, guint timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		gboolean idle = TRUE;
		g_mutex_lock(&s->lock);
		for (guint i = 0; i < s->conns->len; i++)
			if (!g_atomic_int_get(&((Conn *)g_ptr_array_index(s->conns, i))->done))
				idle = FALSE;
		g_mutex_unlock(&s->lock);
		if (idle)
			return TRUE;
		if (g_get_monotonic_time() >= end)
			return FALSE;
		g_usleep(5000);
	}
}

void hostile_server_free(HostileServer *s)
{
	if (!s)
		return;
	g_atomic_int_set(&s->stopping, 1);
	g_thread_join(s->acceptor);
	for (guint i = 0; i < s->conns->len; i++) {
		Conn *c = g_ptr_array_index(s->conns, i);
		/* -1 once reset-urb closed it */
		g_mutex_lock(&s->lock);
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		g_mutex_unlock(&s->lock);
		g_thread_join(c->thread);
		if (c->fd >= 0)
			close(c->fd);
		g_array_unref(c->bulk_in);
		g_array_unref(c->intr_in);
		g_byte_array_unref(c->loop);
		g_free(c);
	}
	g_ptr_array_unref(s->conns);
	close(s->lfd);
	g_mutex_clear(&s->lock);
	g_free(s);
}
