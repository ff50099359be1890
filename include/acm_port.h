/* SPDX-License-Identifier: MIT */
/*
 * acm_port - the data path of one CDC-ACM function of a UsbipDevice
 * (level 1, GLib; no CUSE).  It keeps bulk-IN reads, bulk-OUT writes and
 * the interrupt-IN notification read in flight while the link is up, and
 * replays the line coding and control lines after every reconnect.
 *
 * Flow control: received bytes go to the rx callback, which returns how many
 * it took.  Whatever it did not take is held here and no read is resubmitted
 * until acm_port_rx_resume(); memory is therefore bounded by
 * rx_urbs * rx_urb_size.  Writes are accepted up to tx_limit bytes queued or
 * in flight; tx_progress says when bytes are confirmed by the device (room
 * again).  On a link loss, unconfirmed and queued writes are dropped and
 * reported once through tx_failed: they are never re-sent.
 */
#ifndef ACM_PORT_H
#define ACM_PORT_H

#include <glib.h>

#include "cdc_acm.h"
#include "usbip_device.h"

typedef struct {
	guint rx_urbs;     /* bulk-IN reads in flight (default 16) */
	gsize rx_urb_size; /* bytes each, rounded up to wMaxPacketSize (default 16384) */
	guint tx_urbs;     /* bulk-OUT writes in flight (default 16) */
	gsize tx_urb_size; /* bytes each at most (default 16384) */
	gsize tx_limit;    /* queued + in flight (default 65536) */
} AcmPortConfig;

void acm_port_config_init(AcmPortConfig *cfg);

typedef struct _AcmPort AcmPort;

typedef struct {
	/* Bytes from the device, in order; return how many were taken. */
	gsize (*rx)(AcmPort *p, const guint8 *data, gsize len, gpointer user);
	/* `confirmed` more bytes reached the device, `discarded` were dropped
	 * by acm_port_flush_tx(); room may be available. */
	void (*tx_progress)(AcmPort *p, gsize confirmed, gsize discarded, gpointer user);
	/* `lost` written bytes were not confirmed before the link fell (or the
	 * device refused them) and are dropped. */
	void (*tx_failed)(AcmPort *p, gsize lost, gpointer user);
	/* SERIAL_STATE bitmap (CDC_SS_*) from the device. */
	void (*serial_state)(AcmPort *p, guint16 state, gpointer user);
	/* Link up (setup replayed, data flows) or down. */
	void (*link)(AcmPort *p, gboolean up, const GError *error, gpointer user);
} AcmPortCallbacks;

/* Bind to function `index` of the device (valid after its first start).
 * When the device is up the port starts at once, without a link callback:
 * check acm_port_is_up(). */
AcmPort *acm_port_new(UsbipDevice *dev, guint index, const AcmPortConfig *cfg,
                      const AcmPortCallbacks *cb, gpointer user);
void acm_port_free(AcmPort *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AcmPort, acm_port_free)

gboolean acm_port_is_up(AcmPort *p);
const struct cdc_acm_function *acm_port_get_function(AcmPort *p);

/* Queue bytes; returns how many were accepted (0 when full or down). */
gsize acm_port_write(AcmPort *p, const guint8 *data, gsize len);
/* Bytes queued or in flight, not yet confirmed. */
gsize acm_port_tx_pending(AcmPort *p);
gsize acm_port_tx_room(AcmPort *p);
/* Drop queued writes and cancel the ones in flight (TCFLSH TCOFLUSH); the
 * dropped bytes are reported as `discarded` through tx_progress (queued
 * ones at once, in-flight ones when the server confirms the unlink; a write
 * that completed first counts as confirmed). */
void acm_port_flush_tx(AcmPort *p);

/* The consumer has room again: deliver held bytes, restart reads. */
void acm_port_rx_resume(AcmPort *p);

/* Control requests, sent in call order.  cb may be NULL; status is 0 or
 * -errno (-ENOTCONN while down: the value is still remembered and sent
 * after the next reconnect). */
typedef void (*AcmPortDoneFunc)(AcmPort *p, int status, gpointer user);
void acm_port_set_line_coding(AcmPort *p, const struct cdc_line_coding *lc, AcmPortDoneFunc cb,
                              gpointer user);
/* CDC_CTRL_DTR | CDC_CTRL_RTS; every call is its own request, never merged. */
void acm_port_set_control_lines(AcmPort *p, guint16 lines, AcmPortDoneFunc cb, gpointer user);
void acm_port_send_break(AcmPort *p, guint16 ms, AcmPortDoneFunc cb, gpointer user);
/* The line coding read back from the device (GET_LINE_CODING). */
typedef void (*AcmPortLineCodingFunc)(AcmPort *p, int status, const struct cdc_line_coding *lc,
                                      gpointer user);
void acm_port_get_line_coding(AcmPort *p, AcmPortLineCodingFunc cb, gpointer user);

guint16 acm_port_get_serial_state(AcmPort *p);
guint16 acm_port_get_control_lines(AcmPort *p);

/* Statistics. */
typedef struct {
	guint64 rx_bytes, tx_bytes, tx_lost;
	gsize rx_held_max; /* most bytes ever held for a slow consumer */
	guint rx_errors, tx_errors, stalls;
} AcmPortStats;
void acm_port_get_stats(AcmPort *p, AcmPortStats *st);

#endif /* ACM_PORT_H */
