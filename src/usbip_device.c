/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "usbip-device"

#include "usbip_device.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uc_error.h"

/* ---- selectors ---- */

static gboolean parse_hex16(const char *s, gsize n, guint16 *out)
{
	if (n == 0 || n > 4)
		return FALSE;
	guint v = 0;
	for (gsize i = 0; i < n; i++) {
		int x = g_ascii_xdigit_value(s[i]);
		if (x < 0)
			return FALSE;
		v = v << 4 | (guint)x;
	}
	*out = (guint16)v;
	return TRUE;
}

static gboolean is_busid(const char *s)
{
	/* busnum-port[.port...]: digits, one '-', then digits and dots */
	const char *dash = strchr(s, '-');
	if (!dash || dash == s || !dash[1])
		return FALSE;
	for (const char *p = s; *p; p++) {
		if (p == dash)
			continue;
		if (!g_ascii_isdigit(*p) && !(*p == '.' && p > dash + 1 && p[1] && p[-1] != '.'))
			return FALSE;
	}
	return TRUE;
}

gboolean usbip_selector_parse(const char *text, UsbipSelector *sel, GError **error)
{
	memset(sel, 0, sizeof(*sel));
	sel->index = -1;
	if (!text || !*text)
		goto bad;
	if (is_busid(text)) {
		if (strlen(text) >= sizeof(sel->busid))
			goto bad;
		g_strlcpy(sel->busid, text, sizeof(sel->busid));
		return TRUE;
	}
	const char *c1 = strchr(text, ':');
	if (!c1 || !parse_hex16(text, (gsize)(c1 - text), &sel->vid))
		goto bad;
	const char *rest = c1 + 1;
	gsize pidlen = strcspn(rest, ":#");
	if (!parse_hex16(rest, pidlen, &sel->pid))
		goto bad;
	sel->has_vidpid = TRUE;
	rest += pidlen;
	if (*rest == ':') {
		rest++;
		if (!*rest || strlen(rest) >= sizeof(sel->serial))
			goto bad;
		g_strlcpy(sel->serial, rest, sizeof(sel->serial));
	} else if (*rest == '#') {
		char *end;
		rest++;
		if (!g_ascii_isdigit(*rest))
			goto bad;
		long n = strtol(rest, &end, 10);
		if (*end || n < 0 || n > 255)
			goto bad;
		sel->index = (gint)n;
	} else if (*rest) {
		goto bad;
	}
	return TRUE;
bad:
	g_set_error(error, UC_ERROR, UC_ERROR_SELECTOR,
	            "bad device selector \"%s\": use BUSID (1-1), VID:PID (2e8a:000a), "
	            "VID:PID:SERIAL or VID:PID#N",
	            text ? text : "");
	return FALSE;
}

char *usbip_selector_to_string(const UsbipSelector *sel)
{
	if (sel->busid[0])
		return g_strdup(sel->busid);
	if (sel->serial[0])
		return g_strdup_printf("%04x:%04x:%s", sel->vid, sel->pid, sel->serial);
	if (sel->index >= 0)
		return g_strdup_printf("%04x:%04x#%d", sel->vid, sel->pid, sel->index);
	return g_strdup_printf("%04x:%04x", sel->vid, sel->pid);
}

gboolean usbip_selector_matches(const UsbipSelector *sel, const struct usbip_device *dev)
{
	if (sel->busid[0])
		return strcmp(sel->busid, dev->busid) == 0;
	return sel->has_vidpid && dev->idVendor == sel->vid && dev->idProduct == sel->pid;
}

void usbip_device_config_init(UsbipDeviceConfig *cfg)
{
	cfg->backoff_initial_ms = 250;
	cfg->backoff_max_ms = 10000;
	cfg->control_timeout_ms = 5000;
	cfg->attach_timeout_ms = 30000;
	cfg->op_timeout_ms = USBIP_CONN_OP_TIMEOUT_MS;
	cfg->stall_timeout_ms = USBIP_CONN_STALL_MS;
	cfg->stable_ms = 10000;
}

/* ---- the device ---- */

typedef enum {
	ST_STOPPED,
	ST_CONNECTING,
	ST_UP,
	ST_WAITING, /* reconnect timer armed */
	ST_SHUTDOWN,
} State;

typedef struct {
	struct usb_setup s;
	guint8 *data;
	UsbipControlFunc cb;
	gpointer user;
} Ctrl;

typedef struct {
	guint id;
	UsbipDeviceLinkFunc fn;
	gpointer user;
} Listener;

typedef struct Attempt Attempt;

struct _UsbipDevice {
	char *server;
	UsbipSelector sel;
	UsbipDeviceConfig cfg;
	State state;
	gboolean started; /* first attach succeeded: reconnect from now on */
	UsbipConn *conn;
	Attempt *attempt;
	GCancellable *cancel;
	guint retry_timer;
	guint backoff_ms;
	guint reconnects;
	guint attempt_timer; /* the attach deadline of the running attempt */
	gint64 up_since;     /* monotonic us of the last attach */
	guint flaps;         /* links lost in a row before stable_ms */

	/* what we learned, used to find the device again */
	char busid[USBIP_BUSID_SIZE];
	struct usb_device_desc desc;
	char manufacturer[128], product[128], serial[128];
	guint n_func;
	struct serial_function func[USBIP_DEVICE_MAX_FUNCTIONS];
	guint8 config_value;

	GQueue ctrlq;
	Ctrl *ctrl_cur;
	guint32 ctrl_seq;
	guint ctrl_timer;

	GArray *listeners;
	guint next_listener;
	GTask *start_task;
	GTask *shutdown_task;
	guint shutdown_timer;
	gint64 shutdown_deadline; /* monotonic us */
	gboolean freeing;         /* freed by the owner while an attempt runs */
};

static void ctrl_kick(UsbipDevice *d);
static void attempt_begin(UsbipDevice *d);
static void device_link_down(UsbipDevice *d, GError *error);

UsbipDevice *usbip_device_new(const char *server, const UsbipSelector *sel,
                              const UsbipDeviceConfig *cfg)
{
	UsbipDevice *d = g_new0(UsbipDevice, 1);
	d->server = g_strdup(server);
	d->sel = *sel;
	if (cfg)
		d->cfg = *cfg;
	else
		usbip_device_config_init(&d->cfg);
	d->backoff_ms = d->cfg.backoff_initial_ms;
	d->listeners = g_array_new(FALSE, FALSE, sizeof(Listener));
	g_queue_init(&d->ctrlq);
	return d;
}

static void ctrl_free(Ctrl *c)
{
	g_free(c->data);
	g_free(c);
}

/* Fail the running and the queued control transfers. */
static void ctrl_fail_all(UsbipDevice *d, int status)
{
	if (d->ctrl_timer) {
		g_source_remove(d->ctrl_timer);
		d->ctrl_timer = 0;
	}
	Ctrl *cur = g_steal_pointer(&d->ctrl_cur);
	GQueue q = d->ctrlq;
	g_queue_init(&d->ctrlq);
	if (cur) {
		if (cur->cb)
			cur->cb(d, status, NULL, 0, cur->user);
		ctrl_free(cur);
	}
	Ctrl *c;
	while ((c = g_queue_pop_head(&q))) {
		if (c->cb)
			c->cb(d, status, NULL, 0, c->user);
		ctrl_free(c);
	}
}

static void device_free_now(UsbipDevice *d)
{
	g_array_unref(d->listeners);
	g_free(d->server);
	g_free(d);
}

void usbip_device_free(UsbipDevice *d)
{
	if (!d)
		return;
	d->state = ST_SHUTDOWN;
	if (d->cancel)
		g_cancellable_cancel(d->cancel);
	g_clear_object(&d->cancel);
	if (d->retry_timer)
		g_source_remove(d->retry_timer);
	if (d->shutdown_timer)
		g_source_remove(d->shutdown_timer);
	if (d->attempt_timer)
		g_source_remove(d->attempt_timer);
	d->attempt_timer = 0;
	if (d->conn) {
		usbip_conn_set_closed_func(d->conn, NULL, NULL);
		g_clear_pointer(&d->conn, usbip_conn_unref);
	}
	ctrl_fail_all(d, -ESHUTDOWN);
	GTask *st = g_steal_pointer(&d->shutdown_task);
	if (st) {
		g_task_return_boolean(st, TRUE);
		g_object_unref(st);
	}
	if (d->attempt) {
		/* A list or import is still in GIO's hands; its (cancelled)
		 * completion frees the device. */
		d->freeing = TRUE;
		return;
	}
	device_free_now(d);
}

guint usbip_device_add_link_listener(UsbipDevice *d, UsbipDeviceLinkFunc fn, gpointer user)
{
	Listener l = {.id = ++d->next_listener, .fn = fn, .user = user};
	g_array_append_val(d->listeners, l);
	return l.id;
}

void usbip_device_remove_link_listener(UsbipDevice *d, guint id)
{
	for (guint i = 0; i < d->listeners->len; i++) {
		if (g_array_index(d->listeners, Listener, i).id == id) {
			g_array_remove_index(d->listeners, i);
			return;
		}
	}
}

static void notify_link(UsbipDevice *d, gboolean up, const GError *error)
{
	/* Copy: a listener may add or remove listeners. */
	g_autoptr(GArray) ls = g_array_copy(d->listeners);
	for (guint i = 0; i < ls->len; i++) {
		Listener *l = &g_array_index(ls, Listener, i);
		l->fn(d, up, error, l->user);
	}
}

gboolean usbip_device_is_up(UsbipDevice *d)
{
	return d->state == ST_UP;
}

UsbipConn *usbip_device_get_conn(UsbipDevice *d)
{
	return d->state == ST_UP ? d->conn : NULL;
}

const struct usb_device_desc *usbip_device_get_descriptor(UsbipDevice *d)
{
	return &d->desc;
}

const char *usbip_device_get_busid(UsbipDevice *d)
{
	return d->busid;
}

const char *usbip_device_get_manufacturer(UsbipDevice *d)
{
	return d->manufacturer;
}

const char *usbip_device_get_product(UsbipDevice *d)
{
	return d->product;
}

const char *usbip_device_get_serial(UsbipDevice *d)
{
	return d->serial;
}

guint usbip_device_get_n_functions(UsbipDevice *d)
{
	return d->n_func;
}

const struct serial_function *usbip_device_get_function(UsbipDevice *d, guint i)
{
	return i < d->n_func ? &d->func[i] : NULL;
}

guint usbip_device_get_reconnects(UsbipDevice *d)
{
	return d->reconnects;
}

/* ---- control transfers ---- */

static gboolean ctrl_timeout_cb(gpointer user)
{
	UsbipDevice *d = user;
	d->ctrl_timer = 0;
	g_autofree char *why = g_strdup_printf(
	    "control request 0x%02x/0x%02x got no answer in %u ms", d->ctrl_cur->s.bmRequestType,
	    d->ctrl_cur->s.bRequest, d->cfg.control_timeout_ms);
	g_warning("%s: %s; dropping the link", d->busid, why);
	Ctrl *cur = g_steal_pointer(&d->ctrl_cur);
	if (cur->cb)
		cur->cb(d, -ETIMEDOUT, NULL, 0, cur->user);
	ctrl_free(cur);
	usbip_device_link_lost(d, why);
	return G_SOURCE_REMOVE;
}

static void ctrl_done(UsbipConn *c, const UsbipUrbResult *r, gpointer user)
{
	UsbipDevice *d = user;
	Ctrl *cur = d->ctrl_cur;
	/* After a timeout the request is gone; the link is being dropped. */
	if (!cur || r->seqnum != d->ctrl_seq)
		return;
	d->ctrl_cur = NULL;
	if (d->ctrl_timer) {
		g_source_remove(d->ctrl_timer);
		d->ctrl_timer = 0;
	}
	if (cur->cb)
		cur->cb(d, r->status, r->data, r->actual_length, cur->user);
	ctrl_free(cur);
	ctrl_kick(d);
}

static void ctrl_kick(UsbipDevice *d)
{
	while (!d->ctrl_cur && !g_queue_is_empty(&d->ctrlq)) {
		Ctrl *c = g_queue_pop_head(&d->ctrlq);
		guint8 setup[USB_SETUP_SIZE];
		if (!d->conn || usbip_conn_is_closed(d->conn)) {
			if (c->cb)
				c->cb(d, -ENOTCONN, NULL, 0, c->user);
			ctrl_free(c);
			continue;
		}
		usb_desc_setup_encode(&c->s, setup);
		d->ctrl_cur = c;
		d->ctrl_seq =
		    usbip_conn_submit(d->conn, 0, setup, c->data, c->s.wLength, 0, ctrl_done, d);
		if (d->ctrl_seq == 0) {
			d->ctrl_cur = NULL;
			if (c->cb)
				c->cb(d, -ENOTCONN, NULL, 0, c->user);
			ctrl_free(c);
			continue;
		}
		d->ctrl_timer = g_timeout_add(d->cfg.control_timeout_ms, ctrl_timeout_cb, d);
	}
}

void usbip_device_control(UsbipDevice *d, const struct usb_setup *s, const guint8 *data,
                          UsbipControlFunc cb, gpointer user)
{
	if (!d->conn || d->state == ST_SHUTDOWN) {
		if (cb)
			cb(d, -ENOTCONN, NULL, 0, user);
		return;
	}
	Ctrl *c = g_new0(Ctrl, 1);
	c->s = *s;
	if (!usb_desc_setup_is_in(s) && s->wLength)
		c->data = g_memdup2(data, s->wLength);
	c->cb = cb;
	c->user = user;
	g_queue_push_tail(&d->ctrlq, c);
	ctrl_kick(d);
}

/* ---- link management ---- */

static void on_conn_closed(UsbipConn *c, const GError *error, gpointer user)
{
	UsbipDevice *d = user;
	if (c != d->conn)
		return;
	device_link_down(d, g_error_copy(error));
}

void usbip_device_link_lost(UsbipDevice *d, const char *why)
{
	if (!d->conn)
		return;
	device_link_down(d, g_error_new(UC_ERROR, UC_ERROR_DISCONNECTED, "%s", why));
}

static gboolean retry_cb(gpointer user)
{
	UsbipDevice *d = user;
	d->retry_timer = 0;
	attempt_begin(d);
	return G_SOURCE_REMOVE;
}

static void schedule_retry(UsbipDevice *d)
{
	d->state = ST_WAITING;
	guint delay = d->backoff_ms;
	/* exponential, capped */
	d->backoff_ms = MIN(d->backoff_ms * 2, d->cfg.backoff_max_ms);
	g_debug("%s: reconnecting in %u ms", d->busid, delay);
	d->retry_timer = g_timeout_add(delay, retry_cb, d);
}

static void finish_shutdown(UsbipDevice *d);

/* A link that keeps falling right after attach must not fill the log: the
 * first three flaps in a row, then the 4th, 8th, 16th... */
static gboolean flap_worth_logging(guint flaps)
{
	return flaps <= 3 || (flaps & (flaps - 1)) == 0;
}

gboolean usbip_device_link_news(UsbipDevice *d)
{
	return flap_worth_logging(d->flaps);
}

/* Takes ownership of error. */
static void device_link_down(UsbipDevice *d, GError *error)
{
	UsbipConn *c = g_steal_pointer(&d->conn);
	State was = d->state;
	if (c) {
		usbip_conn_set_closed_func(c, NULL, NULL);
		usbip_conn_close(c);
		usbip_conn_unref(c);
	}
	ctrl_fail_all(d, -ENOTCONN);
	if (was == ST_SHUTDOWN) {
		finish_shutdown(d);
		g_error_free(error);
		return;
	}
	if (was == ST_UP) {
		d->reconnects++;
		gint64 up_ms = (g_get_monotonic_time() - d->up_since) / 1000;
		if (up_ms >= d->cfg.stable_ms) {
			d->flaps = 0;
			d->backoff_ms = d->cfg.backoff_initial_ms;
		} else {
			d->flaps++;
		}
		if (flap_worth_logging(d->flaps))
			g_message("%s: link lost after %" G_GINT64_FORMAT " ms: %s%s", d->busid,
			          up_ms, error->message,
			          d->flaps >= 3 ? " (it keeps failing: logging less often)" : "");
		else
			g_debug("%s: link lost after %" G_GINT64_FORMAT " ms: %s", d->busid, up_ms,
			        error->message);
		schedule_retry(d);
		notify_link(d, FALSE, error);
	}
	/* while connecting, the attempt sees its own failure */
	g_error_free(error);
}

/* ---- one attach attempt: choose candidates, import, enumerate ---- */

struct Attempt {
	UsbipDevice *d;
	gboolean timed_out;    /* the attach deadline passed */
	GPtrArray *list;       /* UsbipExported from the server */
	GPtrArray *candidates; /* busids (char*) to try in order */
	guint next;
	GError *error; /* the most telling failure so far */
	/* enumeration scratch */
	struct usb_device_desc desc;
	char busid[USBIP_BUSID_SIZE]; /* the candidate being tried */
	guint8 cfg_index;
	guint alt_pos; /* next function to check for SET_INTERFACE */
	guint16 langid;
	guint8 *config;
	gsize config_len;
	struct usb_config_desc parsed;
	guint n_func;
	struct serial_function func[USBIP_DEVICE_MAX_FUNCTIONS];
	char manufacturer[128], product[128], serial[128];
};

static void attempt_free(Attempt *a)
{
	g_clear_pointer(&a->list, g_ptr_array_unref);
	g_clear_pointer(&a->candidates, g_ptr_array_unref);
	g_clear_error(&a->error);
	g_free(a->config);
	g_free(a);
}

static void attempt_keep_error(Attempt *a, GError *e)
{
	/* Prefer errors about the device over "not found"; among "not found"
	 * errors the first one, which lists what the server exports. */
	if (!a->error || (g_error_matches(a->error, UC_ERROR, UC_ERROR_NODEV) &&
	                  !g_error_matches(e, UC_ERROR, UC_ERROR_NODEV))) {
		g_clear_error(&a->error);
		a->error = e;
	} else {
		g_error_free(e);
	}
}

static void attempt_next(Attempt *a);

static void attempt_done(Attempt *a, gboolean ok)
{
	UsbipDevice *d = a->d;
	d->attempt = NULL;
	if (d->attempt_timer) {
		g_source_remove(d->attempt_timer);
		d->attempt_timer = 0;
	}
	if (!ok && a->timed_out) {
		g_clear_error(&a->error);
		g_autofree char *what = usbip_selector_to_string(&d->sel);
		a->error = g_error_new(UC_ERROR, UC_ERROR_TIMEOUT,
		                       "attaching %s on %s took longer than %u ms", what, d->server,
		                       d->cfg.attach_timeout_ms);
	}
	if (d->freeing) {
		attempt_free(a);
		GTask *t = g_steal_pointer(&d->start_task);
		if (t) {
			g_task_return_new_error(t, G_IO_ERROR, G_IO_ERROR_CANCELLED,
			                        "the device was freed");
			g_object_unref(t);
		}
		device_free_now(d);
		return;
	}
	if (ok) {
		/* only a success names the device: a failed candidate must not
		 * become the first one tried next time */
		memcpy(d->busid, a->busid, sizeof(d->busid));
		d->desc = a->desc;
		memcpy(d->manufacturer, a->manufacturer, sizeof(d->manufacturer));
		memcpy(d->product, a->product, sizeof(d->product));
		memcpy(d->serial, a->serial, sizeof(d->serial));
		d->n_func = a->n_func;
		memcpy(d->func, a->func, sizeof(d->func));
		d->state = ST_UP;
		d->started = TRUE;
		d->up_since = g_get_monotonic_time();
		if (flap_worth_logging(d->flaps))
			g_message("%s: %04x:%04x %s %s (serial \"%s\") attached, %u serial port(s)",
			          d->busid, d->desc.idVendor, d->desc.idProduct, d->manufacturer,
			          d->product, d->serial, d->n_func);
		attempt_free(a);
		if (d->start_task) {
			GTask *t = g_steal_pointer(&d->start_task);
			g_task_return_boolean(t, TRUE);
			g_object_unref(t);
		}
		notify_link(d, TRUE, NULL);
		return;
	}
	GError *e = a->error ? g_steal_pointer(&a->error)
	                     : g_error_new(UC_ERROR, UC_ERROR_NODEV, "device not found");
	attempt_free(a);
	if (d->state == ST_SHUTDOWN) {
		GTask *t = g_steal_pointer(&d->start_task);
		if (t) {
			g_task_return_error(t, g_error_copy(e));
			g_object_unref(t);
		}
		g_error_free(e);
		finish_shutdown(d);
		return;
	}
	if (!d->started) {
		d->state = ST_STOPPED;
		GTask *t = g_steal_pointer(&d->start_task);
		if (t) {
			g_task_return_error(t, e);
			g_object_unref(t);
		} else {
			g_error_free(e);
		}
		return;
	}
	g_debug("reconnect attempt failed: %s", e->message);
	g_error_free(e);
	schedule_retry(d);
}

static void enum_fail(Attempt *a, int status, const char *what)
{
	UsbipDevice *d = a->d;
	const GError *why = d->conn ? usbip_conn_get_error(d->conn) : NULL;
	if (why)
		/* the link fell under the request: say why it fell */
		attempt_keep_error(a, g_error_new(why->domain, why->code, "%s: %s failed: %s",
		                                  a->busid, what, why->message));
	else
		attempt_keep_error(
		    a, g_error_new(UC_ERROR, status == -ETIMEDOUT ? UC_ERROR_TIMEOUT : UC_ERROR_USB,
		                   "%s: %s failed: %s", a->busid, what, g_strerror(-status)));
	if (d->conn) {
		UsbipConn *c = g_steal_pointer(&d->conn);
		usbip_conn_set_closed_func(c, NULL, NULL);
		usbip_conn_close(c);
		usbip_conn_unref(c);
	}
	ctrl_fail_all(d, -ENOTCONN);
	attempt_next(a);
}

/* Attempt steps run as control-transfer callbacks.  If the device is being
 * shut down meanwhile the link is gone and every step sees -ENOTCONN. */
#define ENUM_CHECK(a, status, what)                                                                \
	do {                                                                                       \
		if ((status) < 0) {                                                                \
			enum_fail((a), (status), (what));                                          \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static void get_control(Attempt *a, uint8_t type, uint8_t index, uint16_t langid, uint16_t len,
                        UsbipControlFunc cb)
{
	struct usb_setup s;
	usb_desc_setup_get_descriptor(&s, type, index, langid, len);
	usbip_device_control(a->d, &s, NULL, cb, a);
}

static void enum_set_config_done(UsbipDevice *d, int status, const guint8 *data, gsize len,
                                 gpointer user);

static void enum_set_interface(Attempt *a, guint i);

static void enum_set_interface(Attempt *a, guint i)
{
	/* Data interfaces whose bulk pair is on a non-zero alternate setting
	 * need SET_INTERFACE, one function after another. */
	for (; i < a->n_func; i++) {
		if (a->func[i].data_alt == 0)
			continue;
		struct usb_setup s = {
		    .bmRequestType = 0x01,
		    .bRequest = USB_REQ_SET_INTERFACE,
		    .wValue = a->func[i].data_alt,
		    .wIndex = a->func[i].data_intf,
		    .wLength = 0,
		};
		a->alt_pos = i + 1;
		usbip_device_control(a->d, &s, NULL, enum_set_config_done, a);
		return;
	}
	attempt_done(a, TRUE);
}

static void enum_set_config_done(UsbipDevice *d, int status, const guint8 *data, gsize len,
                                 gpointer user)
{
	Attempt *a = user;
	ENUM_CHECK(a, status, "SET_CONFIGURATION");
	enum_set_interface(a, a->alt_pos);
}

static gboolean serial_acceptable(Attempt *a)
{
	UsbipDevice *d = a->d;
	const char *want = d->sel.serial[0] ? d->sel.serial : NULL;
	/* On reconnect, a device found by VID:PID must also be the same unit. */
	if (!want && d->started && d->serial[0])
		want = d->serial;
	return !want || strcmp(want, a->serial) == 0;
}

static void enum_strings_done(Attempt *a)
{
	UsbipDevice *d = a->d;
	if (!serial_acceptable(a)) {
		g_debug("%s: serial \"%s\" is not the one wanted", a->busid, a->serial);
		/* says more than "no device" from the list, which has no serials */
		g_clear_error(&a->error);
		a->error = g_error_new(UC_ERROR, UC_ERROR_NODEV,
		                       "no %04x:%04x with serial \"%s\" on %s (%s has \"%s\")",
		                       a->desc.idVendor, a->desc.idProduct,
		                       d->sel.serial[0] ? d->sel.serial : d->serial, d->server,
		                       a->busid, a->serial);
		UsbipConn *c = g_steal_pointer(&d->conn);
		if (c) {
			usbip_conn_set_closed_func(c, NULL, NULL);
			usbip_conn_close(c);
			usbip_conn_unref(c);
		}
		attempt_next(a);
		return;
	}
	struct usb_setup s;
	usb_desc_setup_set_configuration(&s, d->config_value);
	a->alt_pos = 0;
	usbip_device_control(d, &s, NULL, enum_set_config_done, a);
}

static void enum_get_string(Attempt *a, guint which);

/* Many devices stall (or overflow) string requests they do not have; that
 * is not a reason to give up.  A lost link or a timeout is. */
static gboolean string_error_tolerable(int status)
{
	return status >= 0 || status == -EPIPE || status == -EOVERFLOW;
}

static void enum_string_done(UsbipDevice *d, int status, const guint8 *data, gsize len,
                             gpointer user, guint which)
{
	Attempt *a = user;
	char *dst = which == 0 ? a->manufacturer : which == 1 ? a->product : a->serial;
	if (!string_error_tolerable(status)) {
		enum_fail(a, status, "GET_DESCRIPTOR(string)");
		return;
	}
	/* A stalled or malformed string is not fatal: many devices lack some. */
	if (status < 0 || usb_desc_string_to_utf8(data, len, dst, 128) < 0)
		dst[0] = 0;
	enum_get_string(a, which + 1);
}

static void enum_str0_done(UsbipDevice *d, int s, const guint8 *data, gsize len, gpointer u)
{
	enum_string_done(d, s, data, len, u, 0);
}
static void enum_str1_done(UsbipDevice *d, int s, const guint8 *data, gsize len, gpointer u)
{
	enum_string_done(d, s, data, len, u, 1);
}
static void enum_str2_done(UsbipDevice *d, int s, const guint8 *data, gsize len, gpointer u)
{
	enum_string_done(d, s, data, len, u, 2);
}

static void enum_get_string(Attempt *a, guint which)
{
	static const UsbipControlFunc fns[] = {enum_str0_done, enum_str1_done, enum_str2_done};
	for (; which < 3; which++) {
		uint8_t idx = which == 0   ? a->desc.iManufacturer
		              : which == 1 ? a->desc.iProduct
		                           : a->desc.iSerialNumber;
		if (idx && a->langid) {
			get_control(a, USB_DT_STRING, idx, a->langid, 255, fns[which]);
			return;
		}
	}
	enum_strings_done(a);
}

static void enum_langid_done(UsbipDevice *d, int status, const guint8 *data, gsize len,
                             gpointer user)
{
	Attempt *a = user;
	if (!string_error_tolerable(status)) {
		enum_fail(a, status, "GET_DESCRIPTOR(string 0)");
		return;
	}
	a->langid = 0;
	if (status == 0 && len >= 4 && data[0] >= 4 && data[1] == USB_DT_STRING)
		a->langid = (guint16)(data[2] | data[3] << 8);
	enum_get_string(a, 0);
}

static void enum_get_config(Attempt *a);

static void enum_config_done(UsbipDevice *d, int status, const guint8 *data, gsize len,
                             gpointer user)
{
	Attempt *a = user;
	ENUM_CHECK(a, status, "GET_DESCRIPTOR(configuration)");
	if (len < USB_DT_CONFIG_SIZE) {
		enum_fail(a, -EPROTO, "GET_DESCRIPTOR(configuration)");
		return;
	}
	guint16 total = (guint16)(data[2] | data[3] << 8);
	if (len < total) {
		/* first we asked for 9 bytes; now ask for all of it */
		if (a->config_len != 0 || total < USB_DT_CONFIG_SIZE) {
			enum_fail(a, -EPROTO, "GET_DESCRIPTOR(configuration)");
			return;
		}
		a->config_len = total;
		get_control(a, USB_DT_CONFIG, a->cfg_index, 0, total, enum_config_done);
		return;
	}
	g_free(a->config);
	a->config = g_memdup2(data, len);
	a->config_len = len;
	gssize rc = usb_desc_parse_config(&a->parsed, a->config, a->config_len);
	if (rc < 0) {
		enum_fail(a, (int)rc, "parsing the configuration descriptor");
		return;
	}
	int n = serial_drv_probe(&a->desc, &a->parsed, a->func, USBIP_DEVICE_MAX_FUNCTIONS);
	if (n <= 0) {
		a->cfg_index++;
		if (a->cfg_index < a->desc.bNumConfigurations) {
			enum_get_config(a);
			return;
		}
		attempt_keep_error(
		    a,
		    g_error_new(UC_ERROR, UC_ERROR_NOT_SERIAL,
		                "%s (%04x:%04x) has no serial port we drive (" SERIAL_DRV_NAMES ")",
		                a->busid, a->desc.idVendor, a->desc.idProduct));
		enum_fail(a, -ENODEV, "finding a serial port");
		return;
	}
	a->n_func = MIN((guint)n, USBIP_DEVICE_MAX_FUNCTIONS);
	d->config_value = a->parsed.bConfigurationValue;
	get_control(a, USB_DT_STRING, 0, 0, 255, enum_langid_done);
}

static void enum_get_config(Attempt *a)
{
	a->config_len = 0;
	get_control(a, USB_DT_CONFIG, a->cfg_index, 0, USB_DT_CONFIG_SIZE, enum_config_done);
}

static void enum_device_done(UsbipDevice *d, int status, const guint8 *data, gsize len,
                             gpointer user)
{
	Attempt *a = user;
	ENUM_CHECK(a, status, "GET_DESCRIPTOR(device)");
	if (usb_desc_parse_device(&a->desc, data, len) < 0) {
		enum_fail(a, -EPROTO, "GET_DESCRIPTOR(device)");
		return;
	}
	a->cfg_index = 0;
	enum_get_config(a);
}

static gboolean attempt_listed(Attempt *a, const char *busid)
{
	for (guint i = 0; a->list && i < a->list->len; i++)
		if (strcmp(((UsbipExported *)g_ptr_array_index(a->list, i))->dev.busid, busid) == 0)
			return TRUE;
	return FALSE;
}

static void import_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	Attempt *a = user;
	UsbipDevice *d = a->d;
	GError *err = NULL;
	struct usbip_device rec;
	UsbipConn *c = usbip_conn_import_finish(res, &rec, &err);
	if (!c) {
		if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
		    d->state == ST_SHUTDOWN) {
			attempt_keep_error(a, err);
			attempt_done(a, FALSE);
			return;
		}
		if (g_error_matches(err, UC_ERROR, UC_ERROR_NODEV) && attempt_listed(a, a->busid)) {
			/* "no device" about a listed device: the server's refusal
			 * says more than the device list does */
			g_clear_error(&a->error);
			a->error = err;
		} else {
			attempt_keep_error(a, err);
		}
		attempt_next(a);
		return;
	}
	g_strlcpy(a->busid, rec.busid, sizeof(a->busid));
	d->conn = c;
	usbip_conn_set_stall_timeout(c, d->cfg.stall_timeout_ms);
	usbip_conn_set_closed_func(c, on_conn_closed, d);
	memset(a->manufacturer, 0, sizeof(a->manufacturer));
	memset(a->product, 0, sizeof(a->product));
	memset(a->serial, 0, sizeof(a->serial));
	get_control(a, USB_DT_DEVICE, 0, 0, USB_DT_DEVICE_SIZE, enum_device_done);
}

static void attempt_next(Attempt *a)
{
	UsbipDevice *d = a->d;
	if (d->state == ST_SHUTDOWN || a->timed_out || a->next >= a->candidates->len) {
		attempt_done(a, FALSE);
		return;
	}
	const char *busid = g_ptr_array_index(a->candidates, a->next++);
	g_strlcpy(a->busid, busid, sizeof(a->busid));
	usbip_conn_import_full_async(d->server, busid, d->cfg.op_timeout_ms, d->cancel, import_cb,
	                             a);
}

static gint exported_cmp(gconstpointer pa, gconstpointer pb)
{
	const UsbipExported *x = *(UsbipExported *const *)pa;
	const UsbipExported *y = *(UsbipExported *const *)pb;
	if (x->dev.busnum != y->dev.busnum)
		return x->dev.busnum < y->dev.busnum ? -1 : 1;
	return strcmp(x->dev.busid, y->dev.busid);
}

static char *describe_list(GPtrArray *list)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < list->len; i++) {
		const UsbipExported *e = g_ptr_array_index(list, i);
		g_string_append_printf(s, "%s%s (%04x:%04x)", i ? ", " : "", e->dev.busid,
		                       e->dev.idVendor, e->dev.idProduct);
	}
	if (!list->len)
		g_string_append(s, "nothing");
	return g_string_free(s, FALSE);
}

static void list_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	Attempt *a = user;
	UsbipDevice *d = a->d;
	GError *err = NULL;
	a->list = usbip_conn_list_finish(res, &err);
	if (!a->list) {
		attempt_keep_error(a, err);
		attempt_done(a, FALSE);
		return;
	}
	g_ptr_array_sort(a->list, exported_cmp);
	a->candidates = g_ptr_array_new_with_free_func(g_free);

	UsbipSelector sel = d->sel;
	if (d->started && d->desc.idVendor) {
		/* Reconnect: the same busid first, then any device with the same
		 * VID:PID (the serial check after enumeration picks the unit). */
		g_ptr_array_add(a->candidates, g_strdup(d->busid));
		if (d->serial[0]) {
			for (guint i = 0; i < a->list->len; i++) {
				const UsbipExported *e = g_ptr_array_index(a->list, i);
				if (e->dev.idVendor == d->desc.idVendor &&
				    e->dev.idProduct == d->desc.idProduct &&
				    strcmp(e->dev.busid, d->busid) != 0)
					g_ptr_array_add(a->candidates, g_strdup(e->dev.busid));
			}
		}
	} else if (sel.busid[0]) {
		/* Try it even if unlisted: Linux hides imported devices, and the
		 * import then says "busy" rather than "no such device". */
		g_ptr_array_add(a->candidates, g_strdup(sel.busid));
	} else {
		gint pos = 0;
		for (guint i = 0; i < a->list->len; i++) {
			const UsbipExported *e = g_ptr_array_index(a->list, i);
			if (!usbip_selector_matches(&sel, &e->dev))
				continue;
			if (sel.index < 0 || pos == sel.index)
				g_ptr_array_add(a->candidates, g_strdup(e->dev.busid));
			pos++;
		}
	}
	g_autofree char *what = usbip_selector_to_string(&sel);
	g_autofree char *exports = describe_list(a->list);
	if (a->candidates->len == 0) {
		attempt_keep_error(a, g_error_new(UC_ERROR, UC_ERROR_NODEV,
		                                  "server %s has no device %s; it exports: %s",
		                                  d->server, what, exports));
		attempt_done(a, FALSE);
		return;
	}
	/* Pre-set the error a plain NODEV import would give, with the list. */
	attempt_keep_error(a, g_error_new(UC_ERROR, UC_ERROR_NODEV,
	                                  "server %s has no device %s; it exports: %s", d->server,
	                                  what, exports));
	attempt_next(a);
}

/* The attempt took too long: whatever it waits for fails now (a list or
 * import is cancelled, an enumeration loses its link) and the attempt ends
 * with UC_ERROR_TIMEOUT. */
static gboolean attempt_deadline_cb(gpointer user)
{
	UsbipDevice *d = user;
	d->attempt_timer = 0;
	if (!d->attempt)
		return G_SOURCE_REMOVE;
	d->attempt->timed_out = TRUE;
	g_cancellable_cancel(d->cancel);
	if (d->conn)
		usbip_device_link_lost(d, "attach deadline passed");
	return G_SOURCE_REMOVE;
}

static void attempt_begin(UsbipDevice *d)
{
	Attempt *a = g_new0(Attempt, 1);
	a->d = d;
	d->attempt = a;
	d->state = ST_CONNECTING;
	/* a deadline cancelled the last attempt's; each attempt needs its own */
	if (d->cancel && g_cancellable_is_cancelled(d->cancel))
		g_clear_object(&d->cancel);
	if (!d->cancel)
		d->cancel = g_cancellable_new();
	d->attempt_timer = g_timeout_add(MAX(d->cfg.attach_timeout_ms, 1u), attempt_deadline_cb, d);
	usbip_conn_list_full_async(d->server, d->cfg.op_timeout_ms, d->cancel, list_cb, a);
}

void usbip_device_start_async(UsbipDevice *d, GAsyncReadyCallback cb, gpointer user)
{
	GTask *t = g_task_new(NULL, NULL, cb, user);
	g_task_set_source_tag(t, usbip_device_start_async);
	if (d->state != ST_STOPPED || d->start_task) {
		g_task_return_new_error(t, UC_ERROR, UC_ERROR_IMPORT, "device already started");
		g_object_unref(t);
		return;
	}
	d->start_task = t;
	attempt_begin(d);
}

gboolean usbip_device_start_finish(UsbipDevice *d, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

/* ---- shutdown ---- */

static void finish_shutdown(UsbipDevice *d)
{
	if (d->shutdown_timer) {
		g_source_remove(d->shutdown_timer);
		d->shutdown_timer = 0;
	}
	if (d->conn) {
		UsbipConn *c = g_steal_pointer(&d->conn);
		usbip_conn_set_closed_func(c, NULL, NULL);
		usbip_conn_close(c);
		usbip_conn_unref(c);
	}
	GTask *t = g_steal_pointer(&d->shutdown_task);
	if (t) {
		g_task_return_boolean(t, TRUE);
		g_object_unref(t);
	}
}

static gboolean shutdown_poll_cb(gpointer user)
{
	UsbipDevice *d = user;
	/* Done when the server answered every unlink, or at the deadline. */
	if (d->conn && usbip_conn_pending(d->conn) > 0 &&
	    g_get_monotonic_time() < d->shutdown_deadline)
		return G_SOURCE_CONTINUE;
	d->shutdown_timer = 0;
	finish_shutdown(d);
	return G_SOURCE_REMOVE;
}

void usbip_device_shutdown_async(UsbipDevice *d, guint timeout_ms, GAsyncReadyCallback cb,
                                 gpointer user)
{
	GTask *t = g_task_new(NULL, NULL, cb, user);
	g_task_set_source_tag(t, usbip_device_shutdown_async);
	State was = d->state;
	d->state = ST_SHUTDOWN;
	if (d->retry_timer) {
		g_source_remove(d->retry_timer);
		d->retry_timer = 0;
	}
	if (d->shutdown_task) {
		g_task_return_boolean(t, TRUE);
		g_object_unref(t);
		return;
	}
	d->shutdown_task = t;
	d->shutdown_deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	if (was == ST_CONNECTING) {
		/* The attempt finishes the shutdown when it unwinds. */
		g_cancellable_cancel(d->cancel);
		if (d->conn)
			usbip_device_link_lost(d, "shutting down");
		return;
	}
	if (was == ST_UP)
		notify_link(d, FALSE, NULL);
	if (!d->conn) {
		finish_shutdown(d);
		return;
	}
	/* The link listeners unlinked their URBs when told the link is going
	 * down; wait for the answers. */
	d->shutdown_timer = g_timeout_add(10, shutdown_poll_cb, d);
}

static void shutdown_sync_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	*(gboolean *)user = TRUE;
}

void usbip_device_shutdown_sync(UsbipDevice *d, guint timeout_ms)
{
	gboolean done = FALSE;
	usbip_device_shutdown_async(d, timeout_ms, shutdown_sync_cb, &done);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
}
