/* SPDX-License-Identifier: MIT */
/*
 * mock_device - the device behind the mock USBIP server: descriptors from an
 * lsusb fixture, the active configuration and alternate settings, standard
 * requests on endpoint 0, the chip model (mock_model.h) that answers class and
 * vendor requests and owns the serial ports, the ports' histories and the
 * request record.  No sockets and no URBs: mock_server owns those.
 *
 * A fixture may name its model in a comment line before the "Bus" line:
 * "# mock-model: NAME" or "# mock-model: NAME/VARIANT" (e.g. "cp210x/CP2104"
 * for a chip the descriptors alone do not tell apart).
 */
#ifndef MOCK_DEVICE_H
#define MOCK_DEVICE_H

#include <glib.h>

#include "mock_model.h"
#include "mock_server.h"
#include "usb_desc.h"
#include "usbip_proto.h"

typedef struct _MockDevice MockDevice;

typedef enum {
	MOCK_EP_OTHER,    /* not part of a serial port: IN pends, OUT is swallowed */
	MOCK_EP_LOOP_OUT, /* a port's bulk OUT */
	MOCK_EP_LOOP_IN,  /* a port's bulk IN */
	MOCK_EP_NOTIFY,   /* a port's interrupt IN */
} MockEpRole;

typedef struct {
	guint8 addr; /* with the 0x80 IN bit */
	enum usb_ep_type type;
	guint16 mps; /* bytes */
	guint8 interval;
	MockEpRole role;
	gint port; /* index into the ports, -1 for MOCK_EP_OTHER */
} MockEpInfo;

/* Effects of a control request the server must apply to its URB state. */
#define MOCK_DEVICE_FX_RECONFIGURED 0x1u /* endpoints changed: flush them */
#define MOCK_DEVICE_FX_CLEAR_HALT   0x2u /* *clear_ep names the endpoint */
#define MOCK_DEVICE_FX_ALTSETTING   0x4u /* an interface changed its alternate setting */

/* Load `path`; busid is the file name without ".lsusb". */
MockDevice *mock_device_load(const char *path, GError **error);
void mock_device_free(MockDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MockDevice, mock_device_free)

const char *mock_device_get_busid(const MockDevice *d);
/* Give the device another bus id (1..31 bytes; busnum/devnum follow a
 * "B-D..." form, else stay). */
void mock_device_set_busid(MockDevice *d, const char *busid);
guint32 mock_device_get_devid(const MockDevice *d);
guint16 mock_device_get_vid(const MockDevice *d);
guint16 mock_device_get_pid(const MockDevice *d);

/* The 312-byte record fields and the interface records of the active
 * configuration (alt 0 of each interface, at most max). Returns the count. */
guint mock_device_fill_record(const MockDevice *d, struct usbip_device *rec,
                              struct usbip_intf *intf, guint max);

/* Back to the state after enumeration: first configuration active, alt 0
 * everywhere, the chip's ports at their power-on state.  The record and the
 * histories survive. */
void mock_device_reset(MockDevice *d);

/* Find an endpoint of the active configuration / alternate settings. */
gboolean mock_device_find_ep(const MockDevice *d, guint8 addr, MockEpInfo *info);

/* The model playing the device, or NULL (no fixture line named one and no
 * model recognised the descriptors: then there are never ports). */
const MockModelOps *mock_device_get_model(const MockDevice *d);
/* Serial ports of the active configuration. */
guint mock_device_get_n_ports(const MockDevice *d);
MockPort *mock_device_get_port(MockDevice *d, guint i);
/* Index of the port whose interface is intf (-1: the first); -1 if none. */
gint mock_device_find_port(const MockDevice *d, gint intf);
/* The history of the port with interface intf (-1: the first port's, or
 * when the active configuration has none, the first history kept); NULL if
 * nothing was kept for it.  Borrowed. */
const MockHistory *mock_device_get_history(const MockDevice *d, gint intf);

/*
 * Run a control request: standard ones here, class and vendor ones by the
 * model.  out/out_len: the OUT data stage (wLength bytes) for host-to-device
 * requests.  For device-to-host requests the answer goes to in[] (at most
 * wLength bytes; *in_len set).  Returns 0 or -EPIPE (stall).  The request is
 * recorded.  *fx gets MOCK_DEVICE_FX_* bits.
 */
int mock_device_control(MockDevice *d, const struct usb_setup *s, const guint8 *out, gsize out_len,
                        guint8 *in, gsize *in_len, guint *fx, guint8 *clear_ep);
/* Record a request the server answered itself (a forced stall). */
void mock_device_record(MockDevice *d, const struct usb_setup *s, int status, const guint8 *data,
                        gsize len);

/* The records (MockServerRequest), oldest first: borrowed. */
const GArray *mock_device_get_records(const MockDevice *d);
/* Forget the records and every history. */
void mock_device_clear_records(MockDevice *d);

#endif /* MOCK_DEVICE_H */
