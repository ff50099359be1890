/* SPDX-License-Identifier: MIT */
/*
 * usbip_conn - one TCP connection to a USBIP server (level 1, GLib/GIO).
 *
 * A connection carries either one OP request (device list) or, after a
 * successful import, a stream of URBs.  Everything runs on the thread-default
 * GMainContext of the caller; no threads.
 *
 * URB mode keeps a table seqnum -> request (direction, endpoint, requested
 * length, callback), because replies do not say their direction.  A reply
 * with an unknown seqnum, a longer payload than asked, or a command a server
 * must not send drops the connection (the stream can no longer be trusted).
 *
 * Ownership: UsbipConn is reference counted; callbacks may drop the last
 * reference of their own connection.  Data passed to submit is copied.
 */
#ifndef USBIP_CONN_H
#define USBIP_CONN_H

#include <gio/gio.h>

#include "usbip_proto.h"

/* Socket tuning (design.md 2): keepalive idle/interval/count and the TCP
 * user timeout after which unacknowledged data drops the link. */
#define USBIP_CONN_KEEPIDLE_S      10
#define USBIP_CONN_KEEPINTVL_S     2
#define USBIP_CONN_KEEPCNT         5
#define USBIP_CONN_USER_TIMEOUT_MS 20000u
/* Largest URB payload we ask for or send. */
#define USBIP_CONN_MAX_URB (1u << 20)
/* Largest bulk URB size a user may configure: rounding it up to a multiple
 * of any wMaxPacketSize (at most 2047) stays within USBIP_CONN_MAX_URB. */
#define USBIP_CONN_MAX_URB_OPTION (USBIP_CONN_MAX_URB - 2048u)
/* A device list or an import must be complete within this time in all
 * (connect, request, every byte of the reply): a server that trickles
 * cannot hold a caller forever. */
#define USBIP_CONN_OP_TIMEOUT_MS 20000u
/* In URB mode, a reply that has started must not pause longer than this
 * (default; usbip_conn_set_stall_timeout).  An idle link is not a stall. */
#define USBIP_CONN_STALL_MS 15000u

/* One exported device of a device list. */
typedef struct {
	struct usbip_device dev;
	guint n_intf;
	struct usbip_intf intf[USBIP_MAX_INTERFACES];
} UsbipExported;

/*
 * Split "HOST", "HOST:PORT", "[V6]:PORT" or "V6" into host and port (default
 * USBIP_PORT).  Returns FALSE with UC_ERROR_CONNECT on a malformed string.
 */
gboolean usbip_conn_parse_server(const char *server, char **host, guint16 *port, GError **error);

/* List exported devices on their own connection.  The result is a
 * GPtrArray of UsbipExported (free with g_ptr_array_unref).  The whole
 * exchange must end within USBIP_CONN_OP_TIMEOUT_MS (the _full variant:
 * timeout_ms), else UC_ERROR_TIMEOUT.  Text fields (path, busid) hold no
 * control characters (each is replaced by '?'). */
void usbip_conn_list_async(const char *server, GCancellable *cancellable, GAsyncReadyCallback cb,
                           gpointer user);
void usbip_conn_list_full_async(const char *server, guint timeout_ms, GCancellable *cancellable,
                                GAsyncReadyCallback cb, gpointer user);
GPtrArray *usbip_conn_list_finish(GAsyncResult *res, GError **error);

typedef struct _UsbipConn UsbipConn;

/* Import busid; on success the connection is in URB mode and *dev holds the
 * record the server sent (busnum/devnum give the devid). */
void usbip_conn_import_async(const char *server, const char *busid, GCancellable *cancellable,
                             GAsyncReadyCallback cb, gpointer user);
void usbip_conn_import_full_async(const char *server, const char *busid, guint timeout_ms,
                                  GCancellable *cancellable, GAsyncReadyCallback cb, gpointer user);
UsbipConn *usbip_conn_import_finish(GAsyncResult *res, struct usbip_device *dev, GError **error);

UsbipConn *usbip_conn_ref(UsbipConn *c);
/* Dropping the last reference closes the socket without calling any
 * callback; pending URBs are forgotten. */
void usbip_conn_unref(UsbipConn *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UsbipConn, usbip_conn_unref)

/* Result of one URB, valid during the callback only. */
typedef struct {
	guint32 seqnum;
	gint status;         /* 0, or -errno from the server, -ECONNRESET when
	                        unlinked, -ESHUTDOWN when the link fell first */
	const guint8 *data;  /* IN payload (actual bytes), NULL for OUT */
	gsize actual_length; /* bytes transferred */
} UsbipUrbResult;

typedef void (*UsbipUrbFunc)(UsbipConn *c, const UsbipUrbResult *r, gpointer user);

/*
 * Called once when the link is lost (EOF, reset, protocol error, or
 * usbip_conn_close()).  Before it, every pending URB's callback runs with
 * status -ESHUTDOWN.
 */
typedef void (*UsbipConnClosedFunc)(UsbipConn *c, const GError *error, gpointer user);
void usbip_conn_set_closed_func(UsbipConn *c, UsbipConnClosedFunc fn, gpointer user);

/*
 * Submit a URB (callbacks never run from inside submit or unlink: a send
 * error closes the connection from an idle callback).  ep_addr includes the 0x80 IN bit; ep 0 is
 * control and then setup must be the 8 raw SETUP bytes (its direction bit decides IN/OUT and len
 * must equal wLength).  For OUT, data holds len bytes (copied); for IN, len is the buffer size
 * asked for.  interval: the endpoint's bInterval for interrupt endpoints, else 0.  Returns the
 * seqnum (never 0), or 0 when the connection is closed or the arguments are invalid (no callback
 * then).
 */
guint32 usbip_conn_submit(UsbipConn *c, guint8 ep_addr, const guint8 *setup, const guint8 *data,
                          gsize len, gint interval, UsbipUrbFunc cb, gpointer user);

/*
 * Submit a bulk or interrupt OUT URB whose payload the caller writes straight
 * into the connection's send buffer: fill(buf, max, fill_user) copies at
 * most max bytes to buf and returns how many (those bytes are then in
 * flight).  *len gets that count.  Returns the seqnum, or 0 (no callback
 * then) when fill gave nothing, the connection is closed or the arguments
 * are invalid (ep_addr must be an OUT endpoint other than 0, max at most
 * USBIP_CONN_MAX_URB).  fill must not call back into the connection.
 */
typedef gsize (*UsbipFillFunc)(guint8 *buf, gsize max, gpointer fill_user);
guint32 usbip_conn_submit_fill(UsbipConn *c, guint8 ep_addr, gsize max, UsbipFillFunc fill,
                               gpointer fill_user, gsize *len, UsbipUrbFunc cb, gpointer user);

/* Ask the server to cancel a pending URB.  Its callback then runs with
 * -ECONNRESET; or with its real result if it completed first; or, when the
 * server says the URB finished just before the unlink (RET_UNLINK status 0
 * with no RET_SUBMIT, as Linux does), with status 0 and, for OUT, the whole
 * length (IN data is then lost).  Returns FALSE when seqnum is not pending. */
gboolean usbip_conn_unlink(UsbipConn *c, guint32 seqnum);

/* Unlink every pending URB whose callback data is `user` and never call
 * those callbacks (for an owner that goes away before the connection). */
void usbip_conn_forget(UsbipConn *c, gpointer user);

/* Number of URBs waiting for a reply (unlink requests included). */
guint usbip_conn_pending(UsbipConn *c);
gboolean usbip_conn_is_closed(UsbipConn *c);
/* Why the connection closed (NULL while open; owned by the connection). */
const GError *usbip_conn_get_error(UsbipConn *c);

/* A frame that has started (a partial reply) and receives nothing for ms
 * drops the link with UC_ERROR_TIMEOUT; a link with no frame started may be
 * silent for any time (keepalive and the TCP user timeout watch it). */
void usbip_conn_set_stall_timeout(UsbipConn *c, guint ms);

/* Close now: fail pending URBs with -ESHUTDOWN, run the closed callback
 * with UC_ERROR_DISCONNECTED "closed", close the socket. */
void usbip_conn_close(UsbipConn *c);

#endif /* USBIP_CONN_H */
