/* SPDX-License-Identifier: MIT */
/*
 * tty_core - termios state, rx/tx buffers, modem lines, VMIN/VTIME and
 * deferred operations of one emulated serial tty (level 0: pure).
 *
 * Knows nothing of CUSE or USBIP.  Termios values use the KERNEL's layouts
 * (<asm/termbits.h>: struct termios, struct termios2 == struct ktermios), so
 * users of this header must not also include glibc's <termios.h> or
 * <sys/ioctl.h> in the same file (the definitions clash).
 *
 * Time is explicit: the core never sleeps or reads a clock.  Every call that
 * may start or fire a timer takes `now`, a monotonic time in microseconds,
 * and tty_core_next_deadline() tells the caller when to call tty_core_tick().
 *
 * Deferred operations (blocked read, blocked write, drain, TIOCMIWAIT) are
 * identified by an opaque, caller-owned `token` (unique among outstanding
 * operations).  They finish through ops->complete(token, result) exactly
 * once, unless cancelled with tty_core_cancel() (which returns the result
 * instead and makes no callback).  Pollers are tokens as well: registered
 * by tty_core_poll(), notified once through ops->poll_notify() when a
 * readiness bit comes up (one going away wakes no poller), then forgotten.
 *
 * Callbacks run from inside tty_core calls after the core's state is
 * consistent; they may call any tty_core function except tty_core_free()
 * (re-entrant calls are queued and processed before the outer call returns).
 *
 * Memory: tty_core_new() allocates the rx ring (rx_size bytes plus two
 * rx_size/8 bitmaps) and the tx ring (tx_size bytes); each deferred
 * operation or registered poller allocates one small record (-ENOMEM).
 * Return values are >= 0 or -errno.
 */
#ifndef TTY_CORE_H
#define TTY_CORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <asm/termbits.h>
#include <linux/serial.h>

#include "serial_drv.h"

#define TTY_CORE_RX_DEFAULT 65536u /* bytes of received, processed input */
#define TTY_CORE_TX_DEFAULT 65536u /* bytes queued + in flight towards the device */
#define TTY_CORE_MAX_CANON  4095u  /* longest canonical line being edited (as n_tty) */

/* Returned by read/write/drain/miwait: the operation was queued and will
 * finish through ops->complete(token, ...). */
#define TTY_CORE_PENDING (-EINPROGRESS)

struct tty_core;

struct tty_core_ops {
	/* A deferred operation finished.  result: read -> bytes stored in the
	 * caller's buffer (0 = EOF/timeout); write -> bytes of the caller's
	 * data consumed, or -EIO after a hangup with nothing written;
	 * drain -> 0 or -EIO; miwait -> 0 or -EIO. */
	void (*complete)(void *token, ssize_t result, void *user);
	/* A readiness bit (POLLIN/POLLOUT/POLLHUP...) came up; revents is
	 * the whole mask now. */
	void (*poll_notify)(void *token, unsigned int revents, void *user);
	/* Bytes became available for tty_core_tx_pull(). */
	void (*tx_kick)(void *user);
	/* Reading or flushing freed rx space (room = tty_core_rx_room()). */
	void (*rx_space)(size_t room, void *user);
	/* The input was flushed (TCIFLUSH, TCIOFLUSH, TCSETSF): bytes the
	 * caller holds for the core arrived before the flush and go too.
	 * Called before the rx_space that the flush causes. */
	void (*rx_flush)(void *user);
};

struct tty_core_config {
	size_t rx_size;                 /* 0 = TTY_CORE_RX_DEFAULT; else 16 .. 1 GiB */
	size_t tx_size;                 /* 0 = TTY_CORE_TX_DEFAULT; else 16 .. 1 GiB */
	const struct tty_core_ops *ops; /* may be NULL; copied */
	void *user;
	uint16_t lines_in; /* input levels at start: the driver's initial_lines (SERIAL_*) */
};

/*
 * Device actions a call asks the caller to perform, in this order: the
 * output lines, the line settings, a break.  The FLUSH flags are hints (the
 * core has already discarded its bytes).
 */
#define TTY_FX_LINES      0x01u /* lines: SERIAL_DTR | SERIAL_RTS, the full state */
#define TTY_FX_LINE       0x02u /* line: new line settings */
#define TTY_FX_BREAK      0x04u /* break_ms: 0 = off, TTY_BREAK_FOREVER = on, else timed */
#define TTY_FX_FLUSH_RX   0x08u
#define TTY_FX_FLUSH_TX   0x10u
#define TTY_FX_OPEN       0x20u /* an open: the line settings again, before the lines */
#define TTY_BREAK_FOREVER UINT32_MAX

struct tty_core_fx {
	unsigned int flags; /* TTY_FX_* */
	uint16_t lines;
	bool lines_same; /* TTY_FX_LINES: the state did not change (TIOCMSET of the same bits) */
	bool line_same;  /* TTY_FX_LINE: the settings did not change (a TCSETS of the same) */
	bool hw_same;    /* TTY_FX_LINE: neither c_cflag (but HUPCL) nor a speed changed */
	struct serial_line line;
	uint32_t break_ms; /* milliseconds */
};

/* Readiness bits are the <poll.h> POLL* values. */

int tty_core_new(struct tty_core **out, const struct tty_core_config *cfg);
/* Frees everything; outstanding tokens are dropped without callbacks. */
void tty_core_free(struct tty_core *c);

/* --- open / close / hangup ------------------------------------------------ */

/*
 * An open of the node.  -EBUSY if already open, TIOCEXCL set and the opener
 * lacks CAP_SYS_ADMIN.  The first open starts a fresh tty (empty input,
 * flow control restarted); every open clears the hangup state (the caller
 * refuses opens while the device is gone) and raises DTR|RTS unless the
 * speed is B0 (fx TTY_FX_LINES, as tty_port_block_til_ready does).  fx
 * also has TTY_FX_OPEN with the current line settings: the usb-serial
 * drivers' open sets the termios again before the lines go up.
 * Returns the new open count.
 */
int tty_core_open(struct tty_core *c, bool cap_sys_admin, uint64_t now, struct tty_core_fx *fx);
/* A release.  The last one clears TIOCEXCL, the input and the output not yet
 * pulled (the caller drained before, bounded by closing_wait), and drops
 * DTR|RTS when HUPCL is set (fx, even when they are low already).  Returns the
 * remaining open count, -EINVAL if not open. */
int tty_core_close(struct tty_core *c, uint64_t now, struct tty_core_fx *fx);
unsigned int tty_core_open_count(const struct tty_core *c);
void tty_core_set_excl(struct tty_core *c, bool excl);
bool tty_core_excl(const struct tty_core *c);

/*
 * The device went away (or DCD dropped, see tty_core_serial_state):
 * pending reads complete with their bytes so far (0 = EOF), writes with
 * -EIO (or bytes so far), drains -EIO, TIOCMIWAIT 0 if it watched TIOCM_CD
 * else -EIO; buffers are emptied.  Until tty_core_open/unhangup: reads
 * return 0, writes/drains/miwait -EIO, poll reports POLLHUP.  Each hangup
 * increments a generation (tty_core_hangup_gen) so that the caller can
 * keep files opened before it hung up (as the kernel does per file).
 */
void tty_core_hangup(struct tty_core *c, uint64_t now);
void tty_core_unhangup(struct tty_core *c, uint64_t now);
bool tty_core_hung_up(const struct tty_core *c);
unsigned int tty_core_hangup_gen(const struct tty_core *c);

/* --- termios -------------------------------------------------------------- */

void tty_core_get_termios(const struct tty_core *c, struct termios2 *t);
/*
 * Set termios (all fields of t, including c_ispeed/c_ospeed, as TCSETS2;
 * callers converting from struct termios/termio fill the speeds from the
 * current termios first).  Bits locked by TIOCSLCKTRMIOS keep their old
 * values; speeds are recomputed from CBAUD/CIBAUD unless BOTHER.
 * fx: B0 drops DTR|RTS, leaving B0 raises them; TTY_FX_LINE every time, as
 * the kernel calls the driver's set_termios (line_same when the line
 * settings did not change, hw_same when no c_cflag bit but HUPCL and no
 * speed did; B0 or a rate of 0 keeps the old rate).
 */
int tty_core_set_termios(struct tty_core *c, const struct termios2 *t, uint64_t now,
                         struct tty_core_fx *fx);
void tty_core_get_locked(const struct tty_core *c, struct termios2 *t);
void tty_core_set_locked(struct tty_core *c, const struct termios2 *t);

/* Output / input rate in bits per second from CBAUD/BOTHER (0 for B0). */
uint32_t tty_core_termios_baud(const struct termios2 *t);
uint32_t tty_core_termios_ibaud(const struct termios2 *t);
/* Line settings of t: CSTOPB -> 2 stop bits (drivers that have 1.5 for CS5
 * decide that themselves), PARENB/PARODD/CMSPAR -> none/odd/even/mark/space,
 * CRTSCTS/IXON/IXOFF -> flow with VSTART/VSTOP.  -EINVAL if the rate is 0 (B0). */
int tty_core_termios_to_line(const struct termios2 *t, struct serial_line *l);
/* The line settings the device should have now (send after (re)attach). */
void tty_core_get_line(const struct tty_core *c, struct serial_line *l);
/*
 * The driver runs the port as `rep` says rather than as asked (data bits it
 * does not have, the rate its divisor gives): as the kernel's drivers write
 * that back into the termios, the fields that differ from the last line
 * settings change in the termios, the rate encoded as tty_encode_baud_rate
 * does (a Bxxx code within 2% unless the caller asked for BOTHER), and rep
 * becomes the line settings.
 */
void tty_core_line_reported(struct tty_core *c, const struct serial_line *rep);

/* --- input (device -> reader) --------------------------------------------- */

/*
 * Bytes received from the device: input translations, canonical editing
 * and echo (echo bytes go to the tx queue; dropped if it is full), then
 * readers and pollers are served.  Returns the number of bytes dropped for
 * lack of rx space (also counted in icount.buf_overrun).
 */
size_t tty_core_rx(struct tty_core *c, const uint8_t *data, size_t len, uint64_t now);
size_t tty_core_rx_room(const struct tty_core *c);
/* FIONREAD: readable bytes (canonical: in complete lines, EOF marks excluded). */
size_t tty_core_inq(const struct tty_core *c);

/*
 * read(2) of up to size bytes into buf (caller-owned; must stay valid until
 * the token completes or is cancelled).  Returns bytes (0 = EOF/VMIN=0
 * timeout), -EAGAIN (nonblock and nothing, or another read is pending), or
 * TTY_CORE_PENDING.  Non-canonical reads follow n_tty's VMIN/VTIME rules;
 * a queued read starts its VMIN/VTIME timing when it reaches the head.
 */
ssize_t tty_core_read(struct tty_core *c, void *token, uint8_t *buf, size_t size, bool nonblock,
                      uint64_t now);
/* Fire expired timers. */
void tty_core_tick(struct tty_core *c, uint64_t now);
/* true and *deadline (monotonic us) when a pending read has a timer. */
bool tty_core_next_deadline(const struct tty_core *c, uint64_t *deadline);

/* --- output (writer -> device) -------------------------------------------- */

/*
 * write(2): output processing (OPOST) into the tx queue.  data is caller-owned
 * and must stay valid until completion.  Returns bytes of data consumed (all
 * of them, or a partial count when nonblock), -EAGAIN, -EIO after hangup,
 * or TTY_CORE_PENDING (blocking write that did not fit; completes with len).
 */
ssize_t tty_core_write(struct tty_core *c, void *token, const uint8_t *data, size_t len,
                       bool nonblock, uint64_t now);
/* Bytes tx_pull would return now (0 while output is stopped by ^S/TCOOFF,
 * except a pending START/STOP character). */
size_t tty_core_tx_ready(const struct tty_core *c);
/* Move up to max queued bytes into buf; they are "in flight" until acked. */
size_t tty_core_tx_pull(struct tty_core *c, uint8_t *buf, size_t max, uint64_t now);
/* n in-flight bytes were sent (or failed): frees room, may finish drains. */
void tty_core_tx_ack(struct tty_core *c, size_t n, uint64_t now);
/* TIOCOUTQ: queued + in-flight bytes. */
size_t tty_core_outq(const struct tty_core *c);
/* tcdrain: 0 if nothing queued or in flight, else TTY_CORE_PENDING; -EIO if hung up. */
int tty_core_drain(struct tty_core *c, void *token, uint64_t now);

/* TCFLSH: TCIFLUSH, TCOFLUSH, TCIOFLUSH; else -EINVAL.  Pending reads keep
 * waiting; in-flight bytes are not recalled. */
int tty_core_flush(struct tty_core *c, int queue, uint64_t now, struct tty_core_fx *fx);
/* TCXONC: TCOOFF, TCOON, TCIOFF, TCION; else -EINVAL. */
int tty_core_flow(struct tty_core *c, int action, uint64_t now);

/* --- cancellation and poll ------------------------------------------------ */

/*
 * Cancel a pending operation or poller (signal).  Returns what to reply:
 * a read/write's bytes so far if > 0, else -EINTR; 0 for a poller;
 * -ENOENT if the token is unknown (already completed).
 */
ssize_t tty_core_cancel(struct tty_core *c, void *token, uint64_t now);
/*
 * A pending read or write goes on in buf instead of its buffer, e.g. out of
 * a request buffer that does not outlive the call that queued it.  Returns
 * the bytes done so far (a read's stored in the old buffer, which the caller
 * copies to the start of buf before the next core call; a write's consumed
 * of it, buf holding all of its data), or -ENOENT for an unknown token.
 */
ssize_t tty_core_move_buffer(struct tty_core *c, void *token, void *buf);

/* Current readiness; registers token (if non-NULL) for one poll_notify. */
unsigned int tty_core_poll(struct tty_core *c, void *token);

/* --- modem lines and counters --------------------------------------------- */

/* TIOCM_DTR/RTS (ours), TIOCM_CTS/DSR/CAR/RNG (the device's last status). */
unsigned int tty_core_tiocmget(const struct tty_core *c);
/* Change DTR/RTS (other bits ignored); fx TTY_FX_LINES whenever set or clear
 * names DTR or RTS (lines_same when they stay as they were), as the kernel's
 * tty_tiocmset calls the driver. */
int tty_core_tiocmset(struct tty_core *c, unsigned int set, unsigned int clear, uint64_t now,
                      struct tty_core_fx *fx);
/*
 * Modem status from the device (serial_drv.h: input levels and line
 * events): updates the levels and counters, handles a break (IGNBRK/BRKINT/
 * NUL) and wakes TIOCMIWAIT.  Returns TTY_CORE_SS_HANGUP when DCD dropped
 * without CLOCAL (the kernel hangs the tty up then; the caller decides),
 * else 0.  The levels start as tty_core_config.lines_in.
 */
#define TTY_CORE_SS_HANGUP 1
int tty_core_modem_status(struct tty_core *c, const struct serial_status *st, uint64_t now);
/* TIOCMIWAIT: wait for a change of TIOCM_DSR/TIOCM_CD/TIOCM_RNG/TIOCM_CTS in
 * mask.  Returns TTY_CORE_PENDING, or -EIO if hung up. */
int tty_core_miwait(struct tty_core *c, void *token, unsigned int mask, uint64_t now);
/* TIOCGICOUNT counters (rx/tx in bytes; tx counts acked bytes). */
void tty_core_icount(const struct tty_core *c, struct serial_icounter_struct *ic);

#endif /* TTY_CORE_H */
