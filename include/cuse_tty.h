/* SPDX-License-Identifier: MIT */
/*
 * cuse_tty - one CUSE character device that behaves like a serial tty
 * (level 1: libfuse3 cuse_lowlevel + a GLib source on the session fd).
 *
 * It alone owns a tty_core and answers open/read/write/poll/ioctl/flush/
 * fsync/release from it, with deferred replies for blocked operations, FUSE
 * interrupts (signals) for cancellation, and fuse_lowlevel_notify_poll for
 * poll wake-ups.  Device actions (modem lines, line settings, breaks) go to a
 * backend (serial_bridge), which hands bytes and modem status over through
 * the cuse_tty_rx/tx/modem functions below.  Readers, writers and pollers
 * are answered from inside those calls, in the same main-loop iteration.
 *
 * Must not include glibc <termios.h> (tty_core uses the kernel layouts).
 */
#ifndef CUSE_TTY_H
#define CUSE_TTY_H

#include <glib.h>

#include "tty_core.h"

typedef struct _CuseTty CuseTty;

/* Called by the backend when the device actions are done (0 or -errno;
 * the reply to the waiting caller is sent then). */
typedef void (*CuseTtyFxDone)(CuseTty *t, int status, gpointer data);

typedef struct {
	/* Perform fx (flags TTY_FX_*, in the order tty_core.h gives); call
	 * done(t, status, done_data) when finished, possibly at once. */
	void (*fx)(CuseTty *t, const struct tty_core_fx *fx, CuseTtyFxDone done, gpointer done_data,
	           gpointer user);
	/* The core has bytes for the device (tty_core_tx_pull). */
	void (*tx_kick)(CuseTty *t, gpointer user);
	/* The core has rx room again. */
	void (*rx_space)(CuseTty *t, gsize room, gpointer user);
	/* The input was flushed: drop what is held for the node (before the
	 * rx_space the flush causes).  May be NULL. */
	void (*rx_flush)(CuseTty *t, gpointer user);
	/* The node was opened or released: `count` files are open now. */
	void (*opened)(CuseTty *t, guint count, gpointer user);
	/* The caller waiting on fx done_data (a timed break) got a signal:
	 * finish early; done() then runs with -EINTR, maybe later. */
	void (*fx_interrupt)(CuseTty *t, gpointer done_data, gpointer user);
} CuseTtyBackend;

typedef struct {
	const char *name;            /* device name under /dev, e.g. "ttyUSBIP0" */
	const char *cuse_path;       /* "/dev/cuse" unless testing */
	guint line;                  /* serial_struct.line */
	gsize rx_size;               /* tty_core rx buffer (0: default 64 KiB) */
	gsize tx_size;               /* tty_core tx queue (0: default) */
	guint16 lines_in;            /* modem input levels at start (the driver's, SERIAL_*) */
	gboolean keep_open_on_reset; /* see cuse_tty_link_lost() */
	gboolean debug;              /* libfuse debug output */
	guint dev_major;             /* fixed char major (0: the kernel picks one) */
	guint dev_minor;             /* minor under a fixed major */
} CuseTtyConfig;

/*
 * Open /dev/cuse and register the device; the node appears once the kernel
 * has processed CUSE_INIT (cuse_tty_is_ready()).  Errors (UC_ERROR_CUSE)
 * say what to do: "load the cuse module: modprobe cuse", "run as root".
 */
CuseTty *cuse_tty_new(const CuseTtyConfig *cfg, const CuseTtyBackend *be, gpointer user,
                      GError **error);
/* Remove the node: pending callers get EIO, the session is destroyed. */
void cuse_tty_free(CuseTty *t);

gboolean cuse_tty_is_ready(CuseTty *t);
/* The kernel closed the channel.  Check it before cuse_tty_is_ready():
 * libfuse reports readiness once it has sent the CUSE_INIT reply, also when
 * the kernel then refused the node (its name or, with dev_major, its
 * device number is taken) and closed the channel. */
gboolean cuse_tty_is_closed(CuseTty *t);
const char *cuse_tty_get_name(CuseTty *t);

/* ---- for the backend: data and status of the device --------------------- */

/* Bytes from the device; returns how many the node took (the rest waits at
 * the backend until rx_space).  While nobody has the node open they are
 * dropped (all taken): a fresh open starts with empty input, as on a tty
 * whose driver does not read while closed. */
gsize cuse_tty_rx(CuseTty *t, const guint8 *data, gsize len);
/* Output for the device: at most max bytes into buf, in flight until
 * cuse_tty_tx_done(); cuse_tty_tx_ready() says how many there are. */
gsize cuse_tty_tx_pull(CuseTty *t, guint8 *buf, gsize max);
gsize cuse_tty_tx_ready(CuseTty *t);
/* n pulled bytes reached the device, were discarded or lost: their room is
 * the writers' again. */
void cuse_tty_tx_done(CuseTty *t, gsize n);
/* Modem status from the device.  TRUE when DCD dropped without CLOCAL: the
 * files open now were hung up (as n_tty), their output dropped. */
gboolean cuse_tty_modem_status(CuseTty *t, const struct serial_status *st);
/* The line settings the device should have, and what its driver reported it
 * runs instead (written into the termios: tty_core_line_reported). */
void cuse_tty_get_line(CuseTty *t, struct serial_line *l);
void cuse_tty_line_reported(CuseTty *t, const struct serial_line *l);

/*
 * The device was lost or reset.  Default: files open now are hung up as on
 * a real tty (reads return EOF, writes EIO, poll POLLHUP), once; new opens
 * work and block until the device is back.  With keep_open_on_reset the
 * files stay usable and simply wait.
 */
void cuse_tty_link_lost(CuseTty *t);
/* DCD dropped without CLOCAL: hang up the files open now (as n_tty). */
void cuse_tty_hangup(CuseTty *t);

#endif /* CUSE_TTY_H */
