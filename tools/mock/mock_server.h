/* SPDX-License-Identifier: MIT */
/*
 * mock_server - a mock USBIP server (usbipd + usbip-host look-alike) that
 * exports every `*.lsusb` file of a directory as a device.  The busid is the
 * file name without ".lsusb"; "B-D..." gives busnum B and devnum D.  A device
 * is played by a chip model (mock_model.h): CDC-ACM, FTDI, CP210x, CH34x or
 * PL2303, chosen from its descriptors.  Every serial port of a model loops
 * bulk OUT back to bulk IN through a bounded buffer, framed as the chip frames
 * it, and records the line settings, modem lines and breaks it was given,
 * decoded the way the chip decodes them.
 *
 * Threading: none.  Every source is attached to the GMainContext that was
 * thread-default when mock_server_new() ran; call every function from the
 * thread that iterates it.  Control functions take effect at once (replies
 * are queued on the connection and go out when the context runs).
 *
 * Errors: GError in MOCK_SERVER_ERROR (or G_IO_ERROR from sockets).
 * Interface arguments (`intf`) select a serial port by the interface number
 * its requests name (CDC-ACM: the communication interface; FTDI H-series:
 * the port's own interface); -1 means the first port of the active
 * configuration.
 */
#ifndef MOCK_SERVER_H
#define MOCK_SERVER_H

#include <glib.h>

#include "cdc_acm.h"

G_BEGIN_DECLS

/* Bytes each serial port buffers between bulk OUT and bulk IN; OUT URBs
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
	MOCK_SERVER_ERROR_NO_FUNCTION, /* no such serial port / no notify endpoint */
	MOCK_SERVER_ERROR_NOT_FOUND,   /* nothing recorded yet */
	MOCK_SERVER_ERROR_STATE,       /* not imported, already unplugged, ... */
	MOCK_SERVER_ERROR_FIXTURE,     /* a fixture file could not be loaded */
	MOCK_SERVER_ERROR_INVALID,     /* bad argument */
	MOCK_SERVER_ERROR_UNSUPPORTED, /* the chip cannot signal that */
} MockServerError;

/*
 * Line settings as a chip decodes its registers: the neutral form every
 * model reports.  `rate` is the rate the chip really runs at (its clock
 * divided by the divisor it was given), which may differ from the rate the
 * host asked for.
 */
typedef struct {
	double rate;      /* bits per second */
	guint8 data_bits; /* 5..8 */
	guint8 parity;    /* MOCK_SERVER_PARITY_* */
	guint8 stop_bits; /* MOCK_SERVER_STOP_* */
	guint8 flow;      /* MOCK_SERVER_FLOW_* bits */
	guint8 xon, xoff; /* characters the chip uses for the IXON/IXOFF flows */
} MockServerLine;

enum {
	MOCK_SERVER_PARITY_NONE = 0,
	MOCK_SERVER_PARITY_ODD = 1,
	MOCK_SERVER_PARITY_EVEN = 2,
	MOCK_SERVER_PARITY_MARK = 3,
	MOCK_SERVER_PARITY_SPACE = 4,
};
enum { MOCK_SERVER_STOP_1 = 0, MOCK_SERVER_STOP_1_5 = 1, MOCK_SERVER_STOP_2 = 2 };

#define MOCK_SERVER_FLOW_RTSCTS 0x01u /* chip honours CTS and drives RTS */
#define MOCK_SERVER_FLOW_DTRDSR 0x02u /* chip honours DSR and drives DTR */
#define MOCK_SERVER_FLOW_IXON   0x04u /* chip stops sending on XOFF from the far end */
#define MOCK_SERVER_FLOW_IXOFF  0x08u /* chip sends XOFF/XON as its buffer fills/drains */

/* Modem lines (a level each) and one-shot line events. */
#define MOCK_SERVER_DTR        0x0001u /* outputs: the history values use these */
#define MOCK_SERVER_RTS        0x0002u
#define MOCK_SERVER_CTS        0x0010u /* inputs: driven by the far end */
#define MOCK_SERVER_DSR        0x0020u
#define MOCK_SERVER_RI         0x0040u
#define MOCK_SERVER_DCD        0x0080u
#define MOCK_SERVER_INPUTS     0x00f0u
#define MOCK_SERVER_EV_BREAK   0x0100u /* the far end sent a break */
#define MOCK_SERVER_EV_FRAMING 0x0200u
#define MOCK_SERVER_EV_PARITY  0x0400u
#define MOCK_SERVER_EV_OVERRUN 0x0800u
#define MOCK_SERVER_EVENTS     0x0f00u

/* The neutral text form of line settings, as `linecoding` prints it:
 * "RATE DATABITS PARITY STOPBITS[ FLOW...]", e.g. "115200 8 N 1" or
 * "115384.615 7 E 2 rtscts".  RATE is decimal, with up to 3 decimals when
 * not whole; PARITY one of N O E M S; STOPBITS 1, 1.5 or 2; FLOW words in
 * this order when set: rtscts dtrdsr ixon ixoff.  Free with g_free(). */
char *mock_server_line_to_string(const MockServerLine *l);

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
/* Zero-length bulk OUT URBs the device's serial ports received (the
 * explicit end of a write that filled its last packet); 0 for an unknown
 * busid. */
guint mock_server_get_zero_length_outs(MockServer *srv, const char *busid);
/* transfer_buffer_length of the last URB submitted to endpoint ep_addr
 * (0x81 is IN 1; endpoint 0 is not recorded) since the device was last
 * imported: 0 before the first (and after a release); -1 for an unknown
 * busid or endpoint 0. */
gint64 mock_server_get_last_urb_len(MockServer *srv, const char *busid, guint8 ep_addr);
/* Number of open TCP connections (any phase). */
guint mock_server_get_n_connections(MockServer *srv);

/* Queue a SERIAL_STATE notification (state = CDC_SS_* bits) on the interrupt
 * IN endpoint of a CDC-ACM function; it completes the oldest pending interrupt
 * URB, or waits for the next one.  Pending notifications are dropped when
 * the importing client disconnects (the device resets). */
gboolean mock_server_inject_serial_state(MockServer *srv, const char *busid, gint intf,
                                         guint16 state, GError **error);

/* The far end drives the port's input lines to exactly `bits` &
 * MOCK_SERVER_INPUTS and raises the one-shot events in `bits` &
 * MOCK_SERVER_EVENTS; the chip reports them its own way (CDC-ACM and PL2303:
 * a notification on the interrupt endpoint; CH34x: its interrupt packet and
 * status register; FTDI: the status bytes of the next bulk-IN packets and
 * GET_MODEM_STATUS, a break as a NUL byte flagged BI; CP210x: GET_MDMSTS, and
 * events inserted in the data when the host enabled EMBED_EVENTS).
 * MOCK_SERVER_ERROR_UNSUPPORTED when the chip has no way to signal one of
 * them (CDC-ACM has no CTS; CH34x reports no line events). */
gboolean mock_server_set_inputs(MockServer *srv, const char *busid, gint intf, guint16 bits,
                                GError **error);
/* Name of the model playing the device, the Linux driver's module name
 * ("cdc_acm", "ftdi_sio", "cp210x", "ch341", "pl2303"), or NULL when no model
 * does (no serial port). */
const char *mock_server_get_model(MockServer *srv, const char *busid);
/* One line describing the port's chip and raw registers as the model holds
 * them, e.g. "ftdi_sio FT232R port=A divisor=0x0001a ... latency=16";
 * free with g_free().  For tests and the `chip` control command. */
char *mock_server_describe_port(MockServer *srv, const char *busid, gint intf, GError **error);

/* Copy of the control requests recorded for busid, oldest first (survives
 * disconnects); free with g_array_unref().  Element type MockServerRequest. */
GArray *mock_server_get_requests(MockServer *srv, const char *busid, GError **error);
/* Forget the recorded requests and every port's line, line and break history. */
gboolean mock_server_clear_requests(MockServer *srv, const char *busid, GError **error);
/* The line settings in effect after the last line request the port's chip
 * accepted, decoded the way the chip decodes them (CDC-ACM: the last
 * SET_LINE_CODING).  Kept across disconnects; forgotten by
 * mock_server_clear_requests().  MOCK_SERVER_ERROR_NOT_FOUND if none. */
gboolean mock_server_get_line(MockServer *srv, const char *busid, gint intf, MockServerLine *out,
                              GError **error);
/* The same as a CDC line coding (rate rounded to whole bits per second). */
gboolean mock_server_get_line_coding(MockServer *srv, const char *busid, gint intf,
                                     struct cdc_line_coding *out, GError **error);
/* DTR/RTS as the host set them, one value per request that set them, in
 * order; element type guint16, bit0 DTR, bit1 RTS (CDC-ACM: the raw wValue
 * of every SET_CONTROL_LINE_STATE).  Free with g_array_unref(). */
GArray *mock_server_get_line_history(MockServer *srv, const char *busid, gint intf, GError **error);
/* Breaks: CDC-ACM: the wValue of every SEND_BREAK (duration in ms, 0xffff
 * until cleared); other chips: 0xffff each time the break condition went on
 * and 0 each time it went off. */
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
