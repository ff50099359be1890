/* SPDX-License-Identifier: MIT */
/*
 * usbip_device - one imported USB device with its serial ports, kept alive
 * across link losses (level 1, GLib/GIO, one GMainContext, no threads).
 *
 * It selects the device on the server (by busid, VID:PID, VID:PID + serial,
 * or position among identical devices), imports it, enumerates it (device and
 * configuration descriptors, strings, SET_CONFIGURATION), serialises control
 * transfers with a timeout, and, when the link falls, reconnects with
 * exponential backoff, finds the same device again (by VID:PID + serial when
 * the busid changed) and enumerates it anew.  Listeners learn when the link
 * goes up (after enumeration) or down.
 */
#ifndef USBIP_DEVICE_H
#define USBIP_DEVICE_H

#include <gio/gio.h>

#include "serial_drv.h"
#include "usb_desc.h"
#include "usbip_conn.h"

#define USBIP_DEVICE_MAX_FUNCTIONS 8u

/* --device SELECTOR:
 *   BUSID              "1-1", "3-1.2"
 *   VID:PID            "2e8a:000a"        (hex; the only such device, or the first)
 *   VID:PID:SERIAL     "2e8a:000a:E6614C" (serial string, exact)
 *   VID:PID#N          "2e8a:000a#1"      (N-th such device in bus-id order, from 0)
 */
typedef struct {
	char busid[USBIP_BUSID_SIZE]; /* "" when selecting by VID:PID */
	gboolean has_vidpid;
	guint16 vid, pid;
	char serial[128]; /* "" = any */
	gint index;       /* -1 = not given */
} UsbipSelector;

gboolean usbip_selector_parse(const char *text, UsbipSelector *sel, GError **error);
/* Canonical text of a selector, for messages. */
char *usbip_selector_to_string(const UsbipSelector *sel);
/* Whether an exported record could be the device (busid or VID:PID). */
gboolean usbip_selector_matches(const UsbipSelector *sel, const struct usbip_device *dev);

typedef struct {
	guint backoff_initial_ms; /* first reconnect delay (default 250) */
	guint backoff_max_ms;     /* cap (default 10000) */
	guint control_timeout_ms; /* per control transfer (default 5000) */
} UsbipDeviceConfig;

void usbip_device_config_init(UsbipDeviceConfig *cfg);

typedef struct _UsbipDevice UsbipDevice;

/* up: enumerated and configured, URBs may flow; down: link lost (error says
 * why) and a reconnect is scheduled.  Called on every change. */
typedef void (*UsbipDeviceLinkFunc)(UsbipDevice *d, gboolean up, const GError *error,
                                    gpointer user);

UsbipDevice *usbip_device_new(const char *server, const UsbipSelector *sel,
                              const UsbipDeviceConfig *cfg);
void usbip_device_free(UsbipDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UsbipDevice, usbip_device_free)

/*
 * First attach: select, import, enumerate.  The callback's result is
 * usbip_device_start_finish(); on failure the device stays stopped (no
 * retry), so a daemon can report "server has no device ..." and exit.  On
 * success the device reconnects by itself from then on.
 */
void usbip_device_start_async(UsbipDevice *d, GAsyncReadyCallback cb, gpointer user);
gboolean usbip_device_start_finish(UsbipDevice *d, GAsyncResult *res, GError **error);

/* Listener for link changes (several allowed); returns an id for removal. */
guint usbip_device_add_link_listener(UsbipDevice *d, UsbipDeviceLinkFunc fn, gpointer user);
void usbip_device_remove_link_listener(UsbipDevice *d, guint id);

gboolean usbip_device_is_up(UsbipDevice *d);
/* The connection while up, else NULL (borrowed). */
UsbipConn *usbip_device_get_conn(UsbipDevice *d);

/* Descriptors and strings of the last enumeration (borrowed). */
const struct usb_device_desc *usbip_device_get_descriptor(UsbipDevice *d);
const char *usbip_device_get_busid(UsbipDevice *d);
const char *usbip_device_get_manufacturer(UsbipDevice *d);
const char *usbip_device_get_product(UsbipDevice *d);
const char *usbip_device_get_serial(UsbipDevice *d);
guint usbip_device_get_n_functions(UsbipDevice *d);
const struct serial_function *usbip_device_get_function(UsbipDevice *d, guint i);
/* Link losses so far (for tests and statistics). */
guint usbip_device_get_reconnects(UsbipDevice *d);

/*
 * Queue a control transfer (sent one at a time, in order, each with the
 * configured timeout).  For OUT, data holds s->wLength bytes (copied).  The
 * callback gets 0 and the IN data, or -errno: -ENOTCONN when the link is
 * down, -ETIMEDOUT (the link is then dropped and re-established, since an
 * unanswered URB leaves the device in an unknown state), -EPIPE on a stall.
 */
typedef void (*UsbipControlFunc)(UsbipDevice *d, int status, const guint8 *data, gsize len,
                                 gpointer user);
void usbip_device_control(UsbipDevice *d, const struct usb_setup *s, const guint8 *data,
                          UsbipControlFunc cb, gpointer user);

/* Report that a transfer saw a device-gone status: drop the link now and
 * reconnect. */
void usbip_device_link_lost(UsbipDevice *d, const char *why);

/*
 * Orderly stop: unlink every pending URB, wait for the answers (at most
 * timeout_ms), close the connection (the server then releases the device)
 * and stop reconnecting.  cb may be NULL.
 */
void usbip_device_shutdown_async(UsbipDevice *d, guint timeout_ms, GAsyncReadyCallback cb,
                                 gpointer user);

#endif /* USBIP_DEVICE_H */
