/* SPDX-License-Identifier: MIT */
/*
 * mock_model - what every chip model shares (see mock_model.h): the loopback
 * ring, the port set-up and reset, the history and the model registry.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include "mock_model.h"

#include "serial_match.h"

#include <errno.h>
#include <string.h>

/* ---- ring ------------------------------------------------------------- */

void mock_ring_init(MockRing *r, gsize size)
{
	r->buf = g_malloc(size);
	r->size = size;
	r->head = 0;
	r->used = 0;
}

void mock_ring_free(MockRing *r)
{
	g_clear_pointer(&r->buf, g_free);
	r->size = r->head = r->used = 0;
}

void mock_ring_clear(MockRing *r)
{
	r->head = 0;
	r->used = 0;
}

gsize mock_ring_space(const MockRing *r)
{
	return r->size - r->used;
}

/* Copy in at most two pieces: the free space may wrap around the end. */
void mock_ring_write(MockRing *r, const guint8 *src, gsize n)
{
	gsize tail = (r->head + r->used) % r->size;
	gsize first = MIN(n, r->size - tail);

	g_assert(n <= mock_ring_space(r));
	memcpy(r->buf + tail, src, first);
	memcpy(r->buf, src + first, n - first);
	r->used += n;
}

void mock_ring_read(MockRing *r, guint8 *dst, gsize n)
{
	gsize first = MIN(n, r->size - r->head);

	g_assert(n <= r->used);
	memcpy(dst, r->buf + r->head, first);
	memcpy(dst + first, r->buf, n - first);
	r->head = (r->head + n) % r->size;
	r->used -= n;
}

guint8 mock_ring_peek(const MockRing *r, gsize i)
{
	g_assert(i < r->used);
	return r->buf[(r->head + i) % r->size];
}

/* ---- ports ------------------------------------------------------------ */

gboolean mock_port_endpoints(MockPort *p, const struct usb_interface_desc *it)
{
	struct serial_function f;
	gboolean pair = serial_match_endpoints(it, &f);
	memset(p, 0, sizeof(*p));
	p->intf = f.intf;
	p->bulk_in = f.bulk_in_ep;
	p->bulk_in_mps = f.bulk_in_mps;
	p->bulk_out = f.bulk_out_ep;
	p->bulk_out_mps = f.bulk_out_mps;
	p->has_notify = f.has_notify;
	p->notify_ep = f.notify_ep;
	p->notify_mps = f.notify_mps;
	return pair;
}

void mock_port_setup(MockPort *p, const MockModelOps *ops, MockHistory *hist)
{
	p->ops = ops;
	p->hist = hist;
	mock_ring_init(&p->ring, MOCK_SERVER_LOOPBACK_SIZE);
	g_queue_init(&p->notes);
	mock_port_reset(p);
}

void mock_port_reset(MockPort *p)
{
	mock_ring_clear(&p->ring);
	g_queue_clear_full(&p->notes, (GDestroyNotify)g_bytes_unref);
	memset(&p->priv, 0, sizeof(p->priv));
	p->ops->reset(p);
}

void mock_port_release(MockPort *p)
{
	mock_ring_free(&p->ring);
	g_queue_clear_full(&p->notes, (GDestroyNotify)g_bytes_unref);
}

static void history_append(GArray *a, guint16 v)
{
	if (a->len >= MOCK_MODEL_MAX_HISTORY)
		g_array_remove_range(a, 0, MOCK_MODEL_MAX_HISTORY / 2);
	g_array_append_val(a, v);
}

void mock_port_record_lines(MockPort *p, guint16 value)
{
	history_append(p->hist->lines, value);
}

void mock_port_record_break(MockPort *p, guint16 value)
{
	history_append(p->hist->breaks, value);
}

void mock_port_line_changed(MockPort *p)
{
	p->ops->line(p, &p->hist->line);
	p->hist->line_set = TRUE;
}

int mock_port_queue_note(MockPort *p, const guint8 *data, gsize len)
{
	if (g_queue_get_length(&p->notes) >= MOCK_MODEL_MAX_NOTES)
		return -ENOSPC;
	g_queue_push_tail(&p->notes, g_bytes_new(data, len));
	return 0;
}

MockPort *mock_port_by_intf(MockPort *ports, guint n, guint intf)
{
	for (guint i = 0; i < n; i++)
		if (ports[i].intf == intf)
			return &ports[i];
	return NULL;
}

gsize mock_port_loop_raw(MockPort *p, const guint8 *data, gsize len)
{
	gsize n = MIN(len, mock_ring_space(&p->ring));

	mock_ring_write(&p->ring, data, n);
	return n;
}

gssize mock_port_frame_raw(MockPort *p, guint8 *dst, gsize cap)
{
	gsize want = cap;
	gsize n;

	if (p->ring.used == 0)
		return -1;
	if (p->bulk_in_mps && want >= p->bulk_in_mps)
		want -= want % p->bulk_in_mps;
	n = MIN(want, p->ring.used);
	mock_ring_read(&p->ring, dst, n);
	return (gssize)n;
}

gsize mock_model_answer(const struct usb_setup *s, guint8 *in, const void *src, gsize len)
{
	gsize n = MIN(len, (gsize)s->wLength);

	memcpy(in, src, n);
	return n;
}

/* ---- history ---------------------------------------------------------- */

MockHistory *mock_history_new(guint8 intf)
{
	MockHistory *h = g_new0(MockHistory, 1);

	h->intf = intf;
	h->lines = g_array_new(FALSE, FALSE, sizeof(guint16));
	h->breaks = g_array_new(FALSE, FALSE, sizeof(guint16));
	return h;
}

void mock_history_clear(MockHistory *h)
{
	h->line_set = FALSE;
	g_array_set_size(h->lines, 0);
	g_array_set_size(h->breaks, 0);
}

void mock_history_free(MockHistory *h)
{
	if (!h)
		return;
	g_array_unref(h->lines);
	g_array_unref(h->breaks);
	g_free(h);
}

/* ---- registry --------------------------------------------------------- */

/* Vendor models first: a vendor chip never has a CDC-ACM function. */
static const MockModelOps *const models[] = {
    &mock_model_ftdi,   &mock_model_cp210x,  &mock_model_ch341,
    &mock_model_pl2303, &mock_model_cdc_acm,
};

const MockModelOps *mock_model_select(const MockModelDevice *dev, const char *name)
{
	if (name) {
		for (guint i = 0; i < G_N_ELEMENTS(models); i++)
			if (!strcmp(models[i]->name, name))
				return models[i];
		return NULL;
	}
	for (guint i = 0; i < G_N_ELEMENTS(models); i++)
		if (models[i]->match && models[i]->match(dev))
			return models[i];
	return &mock_model_cdc_acm;
}
