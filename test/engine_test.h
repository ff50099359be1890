/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the tests that drive the client engine on the default
 * GLib main context (test/client, test/hostile): run the loop until a
 * condition or a timeout, and start a device the way the daemon does.
 * Include after cmocka.h and usbip_device.h.
 */
#ifndef ENGINE_TEST_H
#define ENGINE_TEST_H

#include <glib.h>

static gboolean timed_out_cb(gpointer user)
{
	*(gboolean *)user = TRUE;
	return G_SOURCE_REMOVE;
}

/* Iterate the default context until cond() or timeout_ms; FALSE on timeout. */
static gboolean run_until(gboolean (*cond)(gpointer), gpointer data, guint timeout_ms)
{
	gboolean timed_out = FALSE;
	guint id = g_timeout_add(timeout_ms, timed_out_cb, &timed_out);
	while (!cond(data) && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (!timed_out)
		g_source_remove(id);
	return cond(data);
}

static gboolean never(gpointer data)
{
	return FALSE;
}

static void run_for(guint ms)
{
	run_until(never, NULL, ms);
}

typedef struct {
	gboolean done, ok;
	GError *error;
	UsbipDevice *dev;
} StartCtx;

static void start_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	StartCtx *c = user;
	c->ok = usbip_device_start_finish(c->dev, res, &c->error);
	c->done = TRUE;
}

static gboolean start_done(gpointer data)
{
	return ((StartCtx *)data)->done;
}

/* Import sel from server with cfg; the start callback must come within
 * timeout_ms.  The device, or NULL and error. */
static UsbipDevice *start_device(const char *server, const UsbipSelector *sel,
                                 const UsbipDeviceConfig *cfg, guint timeout_ms, GError **error)
{
	StartCtx c = {.dev = usbip_device_new(server, sel, cfg)};
	usbip_device_start_async(c.dev, start_cb, &c);
	assert_true(run_until(start_done, &c, timeout_ms));
	if (!c.ok) {
		g_propagate_error(error, c.error);
		usbip_device_free(c.dev);
		return NULL;
	}
	return c.dev;
}

#endif
