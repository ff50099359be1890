/* SPDX-License-Identifier: MIT */
/*
 * mock_server - a mock USBIP server (usbipd + usbip-host look-alike) that
 * exports every `*.lsusb` file of a directory as a device.  The busid is the
 * file name without ".lsusb"; "B-D..." gives busnum B and devnum D.  Every
 * CDC-ACM function loops bulk OUT back to bulk IN through a bounded buffer.
 *
 * Threading: none.  Every source is attached to the GMainContext that was
 * thread-default when mock_server_new() ran; call every function from the
 * thread that iterates it.  Control functions take effect at once (replies
 * are queued on the connection and go out when the context runs).
 *
 * Errors: GError in MOCK_SERVER_ERROR (or G_IO_ERROR from sockets).
 * Interface arguments (`intf`) select an ACM function by the number of its
 * communication interface (the wIndex of its class requests); -1 means the
 * first ACM function of the active configuration.
 */
#ifndef MOCK_SERVER_H
#define MOCK_SERVER_H

#include <glib.h>

#include "cdc_acm.h"

G_BEGIN_DECLS

/* Bytes each ACM function buffers between bulk OUT and bulk IN; OUT URBs
 * wait (are not completed) while it is full.  Larger than the 16 x 1 KiB
 * reads and 10 KiB writes the kernel's cdc-acm keeps in flight, so one
 * round trip moves a full window. */
#define MOCK_SERVER_LOOPBACK_SIZE 65536u
/* Largest transfer_buffer_length accepted; above it the link is closed. */
#define MOCK_SERVER_MAX_TRANSFER (4u * 1024u * 1024u)
/* Control requests kept per device (the oldest are dropped beyond it). */
#define MOCK_SERVER_MAX_RECORDS 8192u

#define MOCK_SERVER_ERROR (mock_server_error_quark())
GQuark mock_server_error_quark(void);

typedef enum {
	MOCK_SERVER_ERROR_NO_DEVICE,   /* no fixture with that busid */
	MOCK_SERVER_ERROR_NO_FUNCTION, /* no such ACM function / no notify endpoint */
	MOCK_SERVER_ERROR_NOT_FOUND,   /* nothing recorded yet */
	MOCK_SERVER_ERROR_STATE,       /* not imported, already unplugged, ... */
	MOCK_SERVER_ERROR_FIXTURE,     /* a fixture file could not be loaded */
	MOCK_SERVER_ERROR_INVALID,     /* bad argument */
} MockServerError;

/* One control request seen on endpoint 0, in arrival order. */
typedef struct {
	guint8 bmRequestType;
	guint8 bRequest;
	guint16 wValue;
	guint16 wIndex;
	guint16 wLength;
	gint status;     /* reply status: 0, or -EPIPE when stalled */
	guint data_len;  /* valid bytes in data[] */
	guint8 data[64]; /* OUT data stage, or the IN data answered (first 64 bytes) */
} MockServerRequest;

typedef struct _MockServer MockServer;

/*
 * Load every `*.lsusb` of `dir` (a file that fails to parse is an error) and
 * listen on listen_addr:port (TCP; port 0 picks a free one).  listen_addr
 * NULL means "127.0.0.1".  Returns NULL with *error set on failure.
 */
MockServer *mock_server_new(const char *dir, const char *listen_addr, guint16 port, GError **error);
/* Closes every connection (no replies), the listener and the control socket. */
void mock_server_free(MockServer *srv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MockServer, mock_server_free)

/* The TCP port actually listened on (host order). */
guint16 mock_server_get_port(MockServer *srv);

/* Also listen for text commands (see mock_control.h) on a Unix socket at
 * `path` (an existing socket file there is replaced; removed on free). */
gboolean mock_server_listen_control(MockServer *srv, const char *path, GError **error);

/* Busids of all fixtures, sorted; free with g_strfreev(). */
char **mock_server_list_busids(MockServer *srv);
/* "free", "imported" or "unplugged"; NULL for an unknown busid. */
const char *mock_server_get_state(MockServer *srv, const char *busid);
/* Zero-length bulk OUT URBs the device's ACM functions received (the
 * explicit end of a write that filled its last packet); 0 for an unknown
 * busid. */
guint mock_server_get_zero_length_outs(MockServer *srv, const char *busid);
/* Number of open TCP connections (any phase). */
guint mock_server_get_n_connections(MockServer *srv);

/* Queue a SERIAL_STATE notification (state = CDC_SS_* bits) on the interrupt
 * IN endpoint of an ACM function; it completes the oldest pending interrupt
 * URB, or waits for the next one.  Pending notifications are dropped when
 * the importing client disconnects (the device resets). */
gboolean mock_server_inject_serial_state(MockServer *srv, const char *busid, gint intf,
                                         guint16 state, GError **error);

/* Copy of the control requests recorded for busid, oldest first (survives
 * disconnects); free with g_array_unref().  Element type MockServerRequest. */
GArray *mock_server_get_requests(MockServer *srv, const char *busid, GError **error);
gboolean mock_server_clear_requests(MockServer *srv, const char *busid, GError **error);
/* The last SET_LINE_CODING accepted for the function (MOCK_SERVER_ERROR_NOT_FOUND
 * if none was recorded). */
gboolean mock_server_get_line_coding(MockServer *srv, const char *busid, gint intf,
                                     struct cdc_line_coding *out, GError **error);
/* wValue of every SET_CONTROL_LINE_STATE of the function (bit0 DTR, bit1 RTS)
 * in order; element type guint16; free with g_array_unref(). */
GArray *mock_server_get_line_history(MockServer *srv, const char *busid, gint intf, GError **error);
/* wValue of every SEND_BREAK of the function (duration in ms, 0xffff forever). */
GArray *mock_server_get_break_history(MockServer *srv, const char *busid, gint intf,
                                      GError **error);

/* Halt an endpoint (address with the 0x80 IN bit).  Endpoint 0: the next
 * control request stalls (-EPIPE).  Other endpoints: pending URBs complete
 * with -EPIPE at once, new ones too, until CLEAR_FEATURE(ENDPOINT_HALT). */
gboolean mock_server_stall(MockServer *srv, const char *busid, guint8 ep, GError **error);
/* Simulate unplug: pending URBs of the importer complete with -ESHUTDOWN,
 * then its connection closes once those replies are sent; the device leaves
 * the device list and imports get NODEV until mock_server_replug(). */
gboolean mock_server_unplug(MockServer *srv, const char *busid, GError **error);
gboolean mock_server_replug(MockServer *srv, const char *busid, GError **error);
/* Simulate the device coming back on another port: as an unplug for its
 * importer (pending URBs end with -ESHUTDOWN, the connection closes), then
 * it is listed and importable as new_busid (busnum/devnum from its "B-D"
 * form); its record of requests stays. */
gboolean mock_server_move(MockServer *srv, const char *busid, const char *new_busid,
                          GError **error);
/* Delay every URB reply of the device by ms milliseconds (0: none); order is kept. */
gboolean mock_server_set_delay(MockServer *srv, const char *busid, guint ms, GError **error);
/* Close the importer's TCP connection now, without any reply. */
gboolean mock_server_drop(MockServer *srv, const char *busid, GError **error);

G_END_DECLS

#endif /* MOCK_SERVER_H */
