/* SPDX-License-Identifier: MIT */
/*
 * serial_drv - the USB serial driver interface (level 0: pure, no allocation).
 *
 * A driver is a table of pure functions, as the kernel's usb-serial drivers
 * or libusb's backends are tables of operations, except that nothing here
 * performs I/O: each operation appends the control transfers the chip needs
 * to a `struct serial_xfers` list, and the level-1 data path
 * (serial_port) sends them in order on endpoint 0.  Chip facts learned at
 * run time (a CH341's version, a CP210x's part number) come back through
 * ops->absorb; registers a driver must read-modify-write are shadowed in the
 * function's `priv` words.  So every request a driver makes, for every
 * setting, is unit-testable byte for byte.
 *
 * Neutral vocabulary: tty_core speaks `struct serial_line` and SERIAL_*
 * line bits; drivers translate them into the chip's requests and the chip's
 * status bytes back into them.
 *
 * Conventions: every function returns >= 0 or -errno (-EINVAL a setting the
 * chip cannot do at all, -ENOSPC the xfer list is full, -EPROTO malformed
 * bytes from the device, -EMSGSIZE a short span).  Multi-byte wire fields
 * are little-endian (USB); structs hold host-order values.  A driver never
 * keeps pointers into the buffers it is given.
 */
#ifndef SERIAL_DRV_H
#define SERIAL_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "usb_desc.h"

/* ---- neutral line settings ---------------------------------------------- */

enum serial_parity {
	SERIAL_PARITY_NONE = 0,
	SERIAL_PARITY_ODD = 1,
	SERIAL_PARITY_EVEN = 2,
	SERIAL_PARITY_MARK = 3,
	SERIAL_PARITY_SPACE = 4,
};

enum serial_stop {
	SERIAL_STOP_1 = 0,
	SERIAL_STOP_1_5 = 1, /* what a chip does for CSTOPB with 5 data bits, if it can */
	SERIAL_STOP_2 = 2,
};

/* Flow control done by the chip (termios CRTSCTS, IXON, IXOFF). */
#define SERIAL_FLOW_RTSCTS 0x01u
#define SERIAL_FLOW_IXON   0x02u /* chip stops sending on XOFF from the far end */
#define SERIAL_FLOW_IXOFF  0x04u /* chip sends XOFF/XON when its buffer fills */

struct serial_line {
	uint32_t baud;     /* requested bits per second, > 0 (B0 never reaches a driver) */
	uint8_t data_bits; /* 5..8 */
	uint8_t parity;    /* enum serial_parity */
	uint8_t stop_bits; /* enum serial_stop */
	uint8_t flow;      /* SERIAL_FLOW_* */
	uint8_t xon, xoff; /* VSTART / VSTOP characters for SERIAL_FLOW_IX* */
};

/* ---- modem lines and line events ----------------------------------------- */

/* Outputs (host -> device). */
#define SERIAL_DTR 0x0001u
#define SERIAL_RTS 0x0002u
/* Inputs (device -> host), a level each. */
#define SERIAL_CTS     0x0010u
#define SERIAL_DSR     0x0020u
#define SERIAL_RI      0x0040u
#define SERIAL_DCD     0x0080u
#define SERIAL_IN_MASK (SERIAL_CTS | SERIAL_DSR | SERIAL_RI | SERIAL_DCD)

/* One-shot line events (counted, a break also handled by the tty). */
#define SERIAL_EV_BREAK   0x0100u
#define SERIAL_EV_FRAMING 0x0200u
#define SERIAL_EV_PARITY  0x0400u
#define SERIAL_EV_OVERRUN 0x0800u
#define SERIAL_EV_MASK    (SERIAL_EV_BREAK | SERIAL_EV_FRAMING | SERIAL_EV_PARITY | SERIAL_EV_OVERRUN)

/* What a status source reported.  `lines` is valid only with has_lines
 * (a notification that carries just events leaves the levels as they are).
 * Every change of an input level counts once (TIOCGICOUNT, TIOCMIWAIT), as
 * in the kernel's usb-serial drivers; with ri_event, RI is instead a ring
 * indication counted once per report that has it set (CDC bRingSignal, as
 * the kernel's cdc-acm counts it). */
struct serial_status {
	bool has_lines;
	bool ri_event;
	uint16_t lines;  /* SERIAL_IN_MASK bits */
	uint16_t events; /* SERIAL_EV_* bits */
};

/* ---- control transfers ---------------------------------------------------- */

#define SERIAL_XFER_DATA_MAX   16u /* longest OUT data stage a driver sends */
#define SERIAL_XFERS_MAX       32u /* transfers one operation may queue */
#define SERIAL_IDENTIFY_ROUNDS 4u  /* identify rounds per connect (see ops->identify) */

/* The transfer may fail (stall) without failing the operation. */
#define SERIAL_XFER_OPTIONAL 0x01u

struct serial_xfer {
	struct usb_setup setup; /* wLength <= SERIAL_XFER_DATA_MAX for OUT; any for IN */
	uint8_t data[SERIAL_XFER_DATA_MAX];
	uint8_t flags; /* SERIAL_XFER_* */
	uint8_t tag;   /* IN transfers: nonzero = hand the reply to ops->absorb */
};

struct serial_xfers {
	unsigned n;
	struct serial_xfer x[SERIAL_XFERS_MAX];
};

static inline void serial_xfers_init(struct serial_xfers *q)
{
	q->n = 0;
}

/* Append one transfer.  For OUT (type bit 7 clear) len bytes of data are
 * copied (len <= SERIAL_XFER_DATA_MAX, data may be NULL when len is 0); for
 * IN, len is wLength and data is ignored.  -ENOSPC when full, -EINVAL when
 * an OUT data stage is too long. */
int serial_xfers_add(struct serial_xfers *q, uint8_t type, uint8_t request, uint16_t value,
                     uint16_t index, const void *data, uint16_t len);
/* Same, and set flags / tag on the new transfer. */
int serial_xfers_add_ex(struct serial_xfers *q, uint8_t type, uint8_t request, uint16_t value,
                        uint16_t index, const void *data, uint16_t len, uint8_t flags, uint8_t tag);

/* ---- functions ------------------------------------------------------------- */

/* Driver ids (serial_drv_probe tries the vendor drivers before CDC-ACM). */
enum serial_driver_id {
	SERIAL_DRV_CDC_ACM = 0,
	SERIAL_DRV_FTDI,
	SERIAL_DRV_CP210X,
	SERIAL_DRV_CH341,
	SERIAL_DRV_PL2303,
	SERIAL_DRV_COUNT
};

/* Words of driver-private state per function (a CP210x shadows its 16-byte
 * flow-control block and its identification in 5). */
#define SERIAL_PRIV_WORDS 8u

/* One serial port of a device: what probe finds, owned (as a copy) by the
 * data path, which passes it to every operation.  Endpoint addresses include
 * the 0x80 IN bit; max packet sizes are bytes. */
struct serial_function {
	uint8_t driver;    /* enum serial_driver_id */
	uint8_t chip;      /* driver-defined chip type (e.g. FT232R), 0 = generic */
	uint8_t intf;      /* interface the function's requests address */
	uint8_t port;      /* channel of a multi-port chip (FTDI: 0 = A), else 0 */
	uint8_t data_intf; /* interface holding the bulk pair (== intf unless CDC) */
	uint8_t data_alt;  /* alternate setting of data_intf to select (0 = none needed) */
	uint8_t bulk_in_ep;
	uint8_t bulk_out_ep;
	uint16_t bulk_in_mps;
	uint16_t bulk_out_mps;
	bool has_notify; /* notify_* valid: an interrupt IN endpoint */
	uint8_t notify_ep;
	uint16_t notify_mps;
	uint8_t notify_interval; /* bInterval */
	/* Driver-private words: learned chip facts, shadowed registers, rx
	 * framing state.  Zero after probe and at the start of every
	 * (re)connect (the chip was reset: identify learns again). */
	uint32_t priv[SERIAL_PRIV_WORDS];
};

/* Where modem-line levels come from. */
enum serial_status_source {
	SERIAL_STATUS_NONE = 0,  /* no inputs: the levels in ops->initial_lines stay */
	SERIAL_STATUS_INTERRUPT, /* interrupt-IN endpoint, decoded by status_decode */
	SERIAL_STATUS_INBAND,    /* in the bulk-IN data, extracted by rx_frame */
	SERIAL_STATUS_POLL,      /* a control IN (status_poll), decoded by status_decode */
};

/* Which bytes status_decode is given. */
enum serial_status_origin {
	SERIAL_ORIGIN_INTERRUPT = 0, /* one interrupt-IN transfer */
	SERIAL_ORIGIN_POLL = 1,      /* the reply to status_poll's request */
};

struct serial_driver {
	const char *name; /* the kernel driver's name: "cdc_acm", "ftdi_sio", ... */

	/*
	 * Find this driver's ports in a parsed configuration of the device.
	 * Writes at most max; returns how many were found (may exceed max), 0
	 * when the device is not ours.  Sets every field but priv.
	 */
	int (*probe)(const struct usb_device_desc *dd, const struct usb_config_desc *c,
	             struct serial_function *out, size_t max);
	/* Whether a vendor driver handles this VID:PID at all (what a server's
	 * device list tells before any import).  NULL for the class driver. */
	bool (*claims)(uint16_t vid, uint16_t pid);

	/* After every (re)connect, before anything else: IN transfers whose
	 * tagged replies go to absorb (chip identification).  A tagged
	 * SERIAL_XFER_OPTIONAL transfer that fails reaches absorb with data
	 * NULL and len 0 (a stall can be the answer).  May be NULL.
	 * Rounds: after absorbing a round's replies the data path calls
	 * identify again, until it queues nothing (at most
	 * SERIAL_IDENTIFY_ROUNDS rounds; more is -ELOOP), so a question that
	 * depends on an earlier answer (a CP2102N's firmware version once its
	 * part number is known) is asked in the next round.  A round may also
	 * hold OUT transfers an answer depends on (a CH341 is initialised
	 * before its break register is read, a CP210x interface enabled before
	 * its flow-control block is read).  The driver keeps its progress in
	 * priv, which every connect starts at zero (init clears it too). */
	int (*identify)(const struct serial_function *f, struct serial_xfers *q);
	/* -EPROTO: an answer the driver cannot work with; the connect fails
	 * (the question still counts as answered, so identify settles). */
	int (*absorb)(struct serial_function *f, uint8_t tag, const uint8_t *data, size_t len);

	/* After identify on every (re)connect: put the chip in a known state
	 * (enable the UART, reset, latency timer, ...).  Line settings, lines
	 * and break come after it through their own operations.  May be NULL. */
	int (*init)(struct serial_function *f, struct serial_xfers *q);

	/*
	 * New line settings.  *l is what the tty asked for; on return it is
	 * what the driver reports back, as the kernel's drivers write it into
	 * the termios: settings the chip does not have reverted or replaced
	 * (ftdi_sio: CS6 keeps the old word size), and for drivers that report
	 * it (cp210x, pl2303) the rate the chip will run at.  *actual_baud
	 * gets the rate the chip really runs at (its divisor's rate), reported
	 * or not.  -EINVAL when the chip cannot take the settings at all (a
	 * rate no divisor reaches): nothing is queued then.
	 */
	int (*set_line)(struct serial_function *f, struct serial_line *l, struct serial_xfers *q,
	                uint32_t *actual_baud);
	/* The full state of the outputs (SERIAL_DTR | SERIAL_RTS). */
	int (*set_lines)(struct serial_function *f, unsigned lines, struct serial_xfers *q);
	/* A TIOCMSET that leaves the lines as they were sends nothing (cdc-acm);
	 * false: the chip is told again (the kernel's usb-serial drivers). */
	bool lines_on_change_only;
	/* A termios change that leaves the line settings as they were sends
	 * nothing (the kernel's cdc-acm, ftdi_sio, cp210x, pl2303). */
	bool line_on_change_only;
	/* A termios change sends nothing unless a c_cflag bit other than HUPCL
	 * or a speed changed (ch341: tty_termios_hw_change; otherwise it sends
	 * everything, ending with the handshake, even for CLOCAL alone). */
	bool line_on_hw_change_only;
	/* Break on or off (the data path times a break; drivers only switch).
	 * Returns 0, or for a chip that cannot hold a break (CH34x parts
	 * without a break register, as the kernel's ch341 simulates it) a
	 * positive number of milliseconds: after the transfers the data path
	 * writes one 0x00 byte on bulk OUT (sent at the slowest rate the
	 * transfers selected) and calls set_break(false) no sooner than that
	 * many milliseconds later, which restores the line settings. */
	int (*set_break)(struct serial_function *f, bool on, struct serial_xfers *q);
	/* Discard the chip's buffers (TCFLSH).  May be NULL. */
	int (*purge)(struct serial_function *f, bool rx, bool tx, struct serial_xfers *q);
	/* The node was opened (active) or its last file closed: a chip may
	 * trade idle traffic for latency while somebody listens (ftdi_sio:
	 * latency timer 1 ms while open, the chip's 16 ms while closed).
	 * init leaves the chip inactive.  May be NULL. */
	int (*set_active)(struct serial_function *f, bool active, struct serial_xfers *q);

	enum serial_status_source status_source;
	/* Input levels before the first status arrives (cdc_acm: CTS, as the
	 * kernel's driver reports it always). */
	uint16_t initial_lines;
	/* INTERRUPT / POLL: decode status bytes.  Returns 0 and fills *st, or
	 * -ENOMSG for a well-formed message that carries no status, or -errno. */
	int (*status_decode)(const struct serial_function *f, enum serial_status_origin origin,
	                     const uint8_t *buf, size_t len, struct serial_status *st);
	/* POLL: the request to read the status; *interval_ms how often while
	 * the port is open.  INTERRUPT: if set, read once after init on every
	 * (re)connect for the levels before the first notification (ch341),
	 * decoded with SERIAL_ORIGIN_POLL; *interval_ms is 0.  May be NULL. */
	int (*status_poll)(const struct serial_function *f, struct serial_xfer *x,
	                   unsigned *interval_ms);

	/*
	 * Bulk-IN framing.  NULL: the payload is the data.  Else rewrite one
	 * received transfer in place (as the bulk-IN URB delivered it, up to
	 * its max packets) to its payload bytes and return their count; status
	 * carried in-band is merged into *st (has_lines, events).  May keep
	 * state across transfers in f->priv.
	 */
	ssize_t (*rx_frame)(struct serial_function *f, uint8_t *buf, size_t len,
	                    struct serial_status *st);
};

/* For messages: what the drivers drive. */
#define SERIAL_DRV_NAMES "CDC-ACM, FTDI, CP210x, CH34x, PL2303"

/* The driver table, indexed by enum serial_driver_id. */
const struct serial_driver *serial_drv_get(unsigned id);
/* Name of a driver id ("?" when out of range). */
const char *serial_drv_name(unsigned id);

/* The vendor driver that claims vid:pid (enum serial_driver_id), or -ENOENT. */
int serial_drv_match_ids(uint16_t vid, uint16_t pid);

/*
 * Every serial port of a configuration: vendor drivers first (matched by
 * VID:PID and interface), then the CDC-ACM class driver.  A device matched
 * by a vendor driver is not offered to the class driver.  Writes at most
 * max; returns how many were found (may exceed max).
 */
int serial_drv_probe(const struct usb_device_desc *dd, const struct usb_config_desc *c,
                     struct serial_function *out, size_t max);

#endif /* SERIAL_DRV_H */
