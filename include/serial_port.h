/* SPDX-License-Identifier: MIT */
/*
 * serial_port - the data path of one serial port of a UsbipDevice, for any
 * driver of serial_drv.h (level 1, GLib; no CUSE).  It keeps bulk-IN reads,
 * bulk-OUT writes and the modem-status source (interrupt-IN read, in-band
 * status, or a polled control request) going while the link is up, and
 * after every (re)connect sets the chip up again: identify, init, the last
 * line settings, the last output lines, in that order, before any data
 * moves.
 *
 * Control operations (line settings, lines, break, purge, status polls)
 * run one at a time in call order through one queue; each is built from
 * the driver's table when it reaches the head (so it sees what identify
 * learned) and runs its transfers in order, stopping at the first failure
 * that is not optional.
 *
 * Flow control: received payload goes to the rx callback, which returns how
 * many bytes it took.  Whatever it did not take is held here and no read is
 * resubmitted until serial_port_rx_resume(); memory is therefore bounded by
 * rx_urbs * rx_urb_size.  The port keeps no write queue of its own: the
 * owner's queue is the only one, and whenever a bulk-OUT URB is free the
 * port asks tx_pull for bytes, which go straight into the connection's send
 * buffer and are in flight from then on, until tx_done (confirmed by the
 * device, or discarded by serial_port_flush_tx) or tx_failed (the link fell
 * first: they are never re-sent).  Bytes the owner still holds when the link
 * falls stay the owner's, and go out after the reconnect unless it drops them.
 */
#ifndef SERIAL_PORT_H
#define SERIAL_PORT_H

#include <glib.h>
#include <string.h>

#include "serial_drv.h"
#include "usbip_device.h"

typedef struct {
	guint rx_urbs;     /* bulk-IN reads in flight (default 16) */
	gsize rx_urb_size; /* bytes each, rounded up to wMaxPacketSize (default 16384) */
	guint tx_urbs;     /* bulk-OUT writes in flight (default 16) */
	gsize tx_urb_size; /* bytes each at most (default 16384) */
} SerialPortConfig;

void serial_port_config_init(SerialPortConfig *cfg);

typedef struct _SerialPort SerialPort;

typedef struct {
	/* Payload bytes from the device, in order; return how many were taken. */
	gsize (*rx)(SerialPort *p, const guint8 *data, gsize len, gpointer user);
	/* A bulk-OUT URB is free: copy at most max bytes of the owner's queue
	 * to buf and return how many (0: nothing now; call serial_port_tx_kick
	 * when there is).  Must not call into the port. */
	gsize (*tx_pull)(SerialPort *p, guint8 *buf, gsize max, gpointer user);
	/* Bytes tx_pull would give now (a write that ends on a packet boundary
	 * with nothing behind it gets an explicit zero-length packet). */
	gsize (*tx_ready)(SerialPort *p, gpointer user);
	/* `confirmed` more pulled bytes reached the device, `discarded` were
	 * cancelled by serial_port_flush_tx(). */
	void (*tx_done)(SerialPort *p, gsize confirmed, gsize discarded, gpointer user);
	/* `lost` written bytes were not confirmed before the link fell (or the
	 * device refused them) and are dropped. */
	void (*tx_failed)(SerialPort *p, gsize lost, gpointer user);
	/* Modem status from the device: input levels changed and/or line
	 * events (serial_drv.h).  Not called for a report that repeats the
	 * levels without events. */
	void (*status)(SerialPort *p, const struct serial_status *st, gpointer user);
	/* Link up (the chip set up again, data flows) or down. */
	void (*link)(SerialPort *p, gboolean up, const GError *error, gpointer user);
} SerialPortCallbacks;

/* Bind to serial port `index` of the device (valid after its first start;
 * NULL when there is no such port).  When the device is up the port starts
 * its setup at once; the link callback reports when it is done (never from
 * inside serial_port_new). */
SerialPort *serial_port_new(UsbipDevice *dev, guint index, const SerialPortConfig *cfg,
                            const SerialPortCallbacks *cb, gpointer user);
void serial_port_free(SerialPort *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SerialPort, serial_port_free)

/* Set up and moving data. */
gboolean serial_port_is_up(SerialPort *p);
/* The port as probed (endpoints of the last enumeration; borrowed). */
const struct serial_function *serial_port_get_function(SerialPort *p);
const struct serial_driver *serial_port_get_driver(SerialPort *p);

/* A tx_pull for an owner whose write queue is one byte span: copies what
 * fits of data[*off..len) to buf and advances *off. */
static inline gsize serial_port_take(guint8 *buf, gsize max, const guint8 *data, gsize len,
                                     gsize *off)
{
	gsize n = MIN(max, len - *off);
	if (n == 0)
		return 0; /* data may be NULL when nothing is queued */
	memcpy(buf, data + *off, n);
	*off += n;
	return n;
}

/* The owner has bytes for tx_pull: fill the free bulk-OUT URBs (at once,
 * never calling back from inside). */
void serial_port_tx_kick(SerialPort *p);
/* Pulled bytes not yet confirmed or failed. */
gsize serial_port_tx_inflight(SerialPort *p);
/* Cancel the writes in flight (TCFLSH TCOFLUSH; the owner drops its own
 * queue): reported as `discarded` through tx_done when the server confirms
 * the unlink (a write that completed first counts as confirmed). */
void serial_port_flush_tx(SerialPort *p);

/* The consumer has room again: deliver held bytes, restart reads. */
void serial_port_rx_resume(SerialPort *p);
/* The owner flushed its input (TCIFLUSH): bytes held back for it (it had no
 * room) arrived before the flush and are dropped.  Reads resume with the
 * next serial_port_rx_resume. */
void serial_port_flush_rx(SerialPort *p);

/* Control operations, run in call order.  cb may be NULL; status is 0 or
 * -errno: -ENOTCONN while the link is down (the value is still remembered
 * and sent by the next setup), -EINVAL for settings the chip cannot take.
 * Line settings and lines asked for before a setup reached them are sent by
 * that setup (newest value only) and not again: the calls then complete
 * with 0.  The callback never runs from inside the call. */
typedef void (*SerialPortDoneFunc)(SerialPort *p, int status, gpointer user);
void serial_port_set_line(SerialPort *p, const struct serial_line *l, SerialPortDoneFunc cb,
                          gpointer user);
/* SERIAL_DTR | SERIAL_RTS; every call is its own operation, never merged
 * (reset circuits of ESP32/Arduino boards depend on the sequence). */
void serial_port_set_lines(SerialPort *p, guint lines, SerialPortDoneFunc cb, gpointer user);
void serial_port_set_break(SerialPort *p, gboolean on, SerialPortDoneFunc cb, gpointer user);
/* Discard the chip's own buffers (drivers without a purge: nothing). */
void serial_port_purge(SerialPort *p, gboolean rx, gboolean tx, SerialPortDoneFunc cb,
                       gpointer user);
/* The node is open (somebody listens) or not: drivers whose status is
 * polled (SERIAL_STATUS_POLL) poll only while active, and a driver may
 * trade idle traffic for latency (serial_drv.h set_active). */
void serial_port_set_active(SerialPort *p, gboolean active);

/* The output lines last set, the input levels last reported (SERIAL_*),
 * and the rate the chip runs at after the last set_line (0 before). */
guint serial_port_get_lines(SerialPort *p);
guint serial_port_get_input_lines(SerialPort *p);
guint32 serial_port_get_actual_baud(SerialPort *p);
/* The line settings the driver last reported for what it sent (a driver
 * may run other settings than asked: serial_drv.h set_line); FALSE before
 * any. */
gboolean serial_port_get_reported_line(SerialPort *p, struct serial_line *l);

/* Statistics. */
typedef struct {
	guint64 rx_bytes, tx_bytes, tx_lost;
	gsize rx_held_max;     /* most bytes ever held for a slow consumer */
	gsize rx_flushed;      /* held bytes dropped by serial_port_flush_rx */
	gsize tx_inflight_max; /* most bytes ever in flight */
	guint rx_errors, tx_errors, stalls, setups;
} SerialPortStats;
void serial_port_get_stats(SerialPort *p, SerialPortStats *st);

#endif /* SERIAL_PORT_H */
