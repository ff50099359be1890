/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/ioctls.h>
#include <asm/termios.h>

#include "cdc_acm.h"
#include "tty_core.h"

/* ---- harness ---------------------------------------------------------------- */

#define MAXEV 32

struct ev {
	void *token;
	ssize_t result;
};

struct h {
	struct tty_core *c;
	struct ev done[MAXEV];
	int ndone;
	void *polled[MAXEV];
	unsigned int poll_mask[MAXEV];
	int npoll;
	int kicks;
	int rx_space_calls;
	size_t last_room;
	int rx_flushes;
	int rx_space_at_flush; /* rx_space_calls when rx_flush came */
};

static void cb_complete(void *token, ssize_t result, void *user)
{
	struct h *h = user;

	assert_true(h->ndone < MAXEV);
	h->done[h->ndone].token = token;
	h->done[h->ndone].result = result;
	h->ndone++;
}

static void cb_poll(void *token, unsigned int revents, void *user)
{
	struct h *h = user;

	assert_true(h->npoll < MAXEV);
	h->polled[h->npoll] = token;
	h->poll_mask[h->npoll] = revents;
	h->npoll++;
}

static void cb_kick(void *user)
{
	((struct h *)user)->kicks++;
}

static void cb_rx_space(size_t room, void *user)
{
	struct h *h = user;

	h->rx_space_calls++;
	h->last_room = room;
}

static void cb_rx_flush(void *user)
{
	struct h *h = user;

	h->rx_flushes++;
	h->rx_space_at_flush = h->rx_space_calls;
}

static const struct tty_core_ops ops = {
    .complete = cb_complete,
    .poll_notify = cb_poll,
    .tx_kick = cb_kick,
    .rx_space = cb_rx_space,
    .rx_flush = cb_rx_flush,
};

static struct h *hnew(size_t rx, size_t tx)
{
	struct h *h = calloc(1, sizeof(*h));
	/* as the bridge does: the driver's initial lines (cdc_acm: CTS) */
	struct tty_core_config cfg = {.rx_size = rx,
	                              .tx_size = tx,
	                              .ops = &ops,
	                              .user = h,
	                              .lines_in = cdc_acm_driver.initial_lines};
	struct tty_core_fx fx;

	assert_non_null(h);
	assert_int_equal(tty_core_new(&h->c, &cfg), 0);
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 1);
	return h;
}

/* A CDC SERIAL_STATE bitmap as the cdc_acm driver reports it. */
static int serial_state(struct tty_core *c, uint16_t cdc_bits, uint64_t now)
{
	struct serial_status st = {0};

	cdc_acm_serial_state_to_status(cdc_bits, &st);
	return tty_core_modem_status(c, &st, now);
}

static void hfree(struct h *h)
{
	tty_core_free(h->c);
	free(h);
}

static void rx_str(struct h *h, const char *s, uint64_t now)
{
	assert_int_equal(tty_core_rx(h->c, (const uint8_t *)s, strlen(s), now), 0);
}

/* Pull everything queued for the device into buf (NUL-terminated), acking it. */
static size_t tx_all(struct h *h, char *buf, size_t cap)
{
	size_t n = tty_core_tx_pull(h->c, (uint8_t *)buf, cap - 1, 0);

	buf[n] = 0;
	tty_core_tx_ack(h->c, n, 0);
	return n;
}

/* cfmakeraw + VMIN/VTIME */
static void set_raw(struct h *h, uint8_t vmin, uint8_t vtime)
{
	struct termios2 t;
	struct tty_core_fx fx;

	tty_core_get_termios(h->c, &t);
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_oflag &= ~(tcflag_t)OPOST;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag = (t.c_cflag & ~(tcflag_t)(CSIZE | PARENB)) | CS8;
	t.c_cc[VMIN] = vmin;
	t.c_cc[VTIME] = vtime;
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, &fx), 0);
}

static void mod_flags(struct h *h, tcflag_t iset, tcflag_t iclr, tcflag_t oset, tcflag_t oclr,
                      tcflag_t lset, tcflag_t lclr)
{
	struct termios2 t;

	tty_core_get_termios(h->c, &t);
	t.c_iflag = (t.c_iflag & ~iclr) | iset;
	t.c_oflag = (t.c_oflag & ~oclr) | oset;
	t.c_lflag = (t.c_lflag & ~lclr) | lset;
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, NULL), 0);
}

static int tok[8];
#define T(i) ((void *)&tok[i])

/* ---- defaults, open/close ----------------------------------------------------- */

static void test_defaults(void **state)
{
	struct h *h = hnew(0, 0);
	struct termios2 t;
	struct serial_line lc;
	struct tty_core_fx fx;

	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_cflag & CBAUD, B9600);
	assert_int_equal(t.c_cflag & CSIZE, CS8);
	assert_true(t.c_lflag & ICANON);
	assert_int_equal(t.c_ospeed, 9600);
	assert_int_equal(t.c_cc[VMIN], 1);
	tty_core_get_line(h->c, &lc);
	assert_int_equal(lc.baud, 9600);
	assert_int_equal(lc.data_bits, 8);
	assert_int_equal(lc.parity, SERIAL_PARITY_NONE);
	assert_int_equal(lc.stop_bits, SERIAL_STOP_1);
	/* open raised DTR|RTS; CTS always reported as cdc-acm does */
	assert_int_equal(tty_core_tiocmget(h->c), TIOCM_DTR | TIOCM_RTS | TIOCM_CTS);
	assert_int_equal(tty_core_rx_room(h->c), TTY_CORE_RX_DEFAULT);
	assert_int_equal(tty_core_poll(h->c, NULL), POLLOUT | POLLWRNORM);

	/* second open raises again (unconditionally, like tty_port), after the
	 * line settings again (the usb-serial drivers' open) */
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 2);
	assert_int_equal(fx.flags, TTY_FX_OPEN | TTY_FX_LINES);
	assert_int_equal(fx.line.baud, 9600);
	/* the lines were up already: still no "same lines" for an open, which
	 * every driver sends (lines_same is TIOCMSET's) */
	assert_false(fx.lines_same);
	assert_int_equal(fx.lines, SERIAL_DTR | SERIAL_RTS);
	assert_int_equal(tty_core_close(h->c, 0, &fx), 1);
	assert_int_equal(fx.flags, 0);
	/* last close with HUPCL drops both */
	assert_int_equal(tty_core_close(h->c, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_LINES);
	assert_int_equal(fx.lines, 0);
	assert_int_equal(tty_core_tiocmget(h->c), TIOCM_CTS);
	assert_int_equal(tty_core_close(h->c, 0, &fx), -EINVAL);
	hfree(h);
}

static void test_config_invalid(void **state)
{
	struct tty_core *c = (void *)1;
	struct tty_core_config cfg = {.rx_size = 8};

	assert_int_equal(tty_core_new(&c, &cfg), -EINVAL);
	assert_null(c);
	cfg.rx_size = 64;
	cfg.tx_size = 4;
	assert_int_equal(tty_core_new(&c, &cfg), -EINVAL);
	assert_int_equal(tty_core_new(NULL, NULL), -EINVAL);
	assert_int_equal(tty_core_new(&c, NULL), 0);
	tty_core_free(c);
	tty_core_free(NULL);
}

static void test_hupcl_off_and_b0_open(void **state)
{
	struct h *h = hnew(0, 0);
	struct termios2 t;
	struct tty_core_fx fx;

	tty_core_get_termios(h->c, &t);
	t.c_cflag &= ~(tcflag_t)HUPCL;
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_LINE); /* the driver hears of it ... */
	assert_true(fx.line_same);               /* ... with nothing new */
	assert_int_equal(tty_core_close(h->c, 0, &fx), 0);
	assert_int_equal(fx.flags, 0); /* no HUPCL: lines stay */
	assert_int_equal(tty_core_tiocmget(h->c) & (TIOCM_DTR | TIOCM_RTS), TIOCM_DTR | TIOCM_RTS);
	/* drop via B0 while closed, then open: B0 means no raise */
	t.c_cflag = (t.c_cflag & ~(tcflag_t)CBAUD) | B0;
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_LINES | TTY_FX_LINE);
	assert_true(fx.line_same); /* B0 keeps the rate */
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 1);
	assert_int_equal(fx.flags, TTY_FX_OPEN);
	assert_int_equal(tty_core_tiocmget(h->c) & (TIOCM_DTR | TIOCM_RTS), 0);
	hfree(h);
}

static void test_excl(void **state)
{
	struct h *h = hnew(0, 0);
	struct tty_core_fx fx;

	tty_core_set_excl(h->c, true);
	assert_true(tty_core_excl(h->c));
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), -EBUSY);
	assert_int_equal(tty_core_open_count(h->c), 1);
	assert_int_equal(tty_core_open(h->c, true, 0, &fx), 2);
	assert_int_equal(tty_core_close(h->c, 0, &fx), 1);
	assert_int_equal(tty_core_close(h->c, 0, &fx), 0);
	/* the last close clears TIOCEXCL */
	assert_false(tty_core_excl(h->c));
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 1);
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 2);
	hfree(h);
}

/* ---- VMIN / VTIME ------------------------------------------------------------ */

static void test_vmin0_vtime0(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[8];

	set_raw(h, 0, 0);
	/* polling read: no data -> 0 at once, also with O_NONBLOCK (n_tty
	 * checks the zero timeout before O_NONBLOCK) */
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), true, 0), 0);
	assert_false(tty_core_next_deadline(h->c, NULL));
	rx_str(h, "abcdefghij", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 8);
	assert_memory_equal(buf, "abcdefgh", 8);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	assert_memory_equal(buf, "ij", 2);
	assert_int_equal(h->ndone, 0);
	hfree(h);
}

static void test_vmin_blocking(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[16];

	set_raw(h, 4, 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), true, 0), -EAGAIN);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	assert_false(tty_core_next_deadline(h->c, NULL));
	rx_str(h, "ab", 1000);
	assert_int_equal(h->ndone, 0);
	/* far in the future: VTIME == 0 means no timer at all */
	tty_core_tick(h->c, 3600ull * 1000000);
	assert_int_equal(h->ndone, 0);
	rx_str(h, "cde", 2000);
	assert_int_equal(h->ndone, 1);
	assert_ptr_equal(h->done[0].token, T(0));
	assert_int_equal(h->done[0].result, 5);
	assert_memory_equal(buf, "abcde", 5);

	/* O_NONBLOCK with fewer than VMIN bytes returns what is there */
	rx_str(h, "xy", 3000);
	assert_int_equal(tty_core_read(h->c, T(1), buf, sizeof(buf), true, 3000), 2);
	assert_memory_equal(buf, "xy", 2);

	/* a buffer smaller than VMIN completes when full */
	assert_int_equal(tty_core_read(h->c, T(2), buf, 3, false, 3000), TTY_CORE_PENDING);
	rx_str(h, "12345", 4000);
	assert_int_equal(h->ndone, 2);
	assert_int_equal(h->done[1].result, 3);
	assert_memory_equal(buf, "123", 3);
	assert_int_equal(tty_core_inq(h->c), 2);
	hfree(h);
}

static void test_vmin_poll(void **state)
{
	struct h *h = hnew(0, 0);

	set_raw(h, 3, 0);
	/* n_tty_poll: with VMIN > 0 and VTIME == 0, POLLIN needs VMIN bytes */
	assert_false(tty_core_poll(h->c, T(0)) & POLLIN);
	rx_str(h, "ab", 0);
	assert_int_equal(h->npoll, 0);
	assert_false(tty_core_poll(h->c, NULL) & POLLIN);
	rx_str(h, "c", 0);
	assert_int_equal(h->npoll, 1);
	assert_ptr_equal(h->polled[0], T(0));
	assert_true(h->poll_mask[0] & POLLIN);
	/* one-shot: not notified again */
	rx_str(h, "d", 0);
	assert_int_equal(h->npoll, 1);
	/* with VTIME set, one byte is enough */
	set_raw(h, 0, 5);
	assert_true(tty_core_poll(h->c, NULL) & POLLIN);
	hfree(h);
}

/* A read that empties the queue takes POLLIN away: no poller wakes for
 * that, only for data that comes again. */
static void test_poll_wakes_on_gain_only(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[8];

	set_raw(h, 1, 0);
	rx_str(h, "x", 0);
	assert_true(tty_core_poll(h->c, T(0)) & POLLIN);
	assert_int_equal(tty_core_read(h->c, T(1), buf, sizeof(buf), true, 0), 1);
	assert_false(tty_core_poll(h->c, NULL) & POLLIN);
	assert_int_equal(h->npoll, 0);
	rx_str(h, "y", 0);
	assert_int_equal(h->npoll, 1);
	assert_ptr_equal(h->polled[0], T(0));
	assert_true(h->poll_mask[0] & POLLIN);
	/* a hangup brings POLLHUP up: it wakes the next poller */
	(void)tty_core_poll(h->c, T(2));
	tty_core_hangup(h->c, 0);
	assert_int_equal(h->npoll, 2);
	assert_ptr_equal(h->polled[1], T(2));
	assert_true(h->poll_mask[1] & POLLHUP);
	hfree(h);
}

static void test_vtime_only(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[8];
	uint64_t d;

	set_raw(h, 0, 5); /* 0.5 s */
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), true, 1000000), -EAGAIN);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 1000000),
	                 TTY_CORE_PENDING);
	assert_true(tty_core_next_deadline(h->c, &d));
	assert_int_equal(d, 1500000);
	tty_core_tick(h->c, 1499999);
	assert_int_equal(h->ndone, 0);
	tty_core_tick(h->c, 1500000);
	assert_int_equal(h->ndone, 1);
	assert_int_equal(h->done[0].result, 0); /* timeout: 0 bytes */
	assert_false(tty_core_next_deadline(h->c, NULL));

	/* data before the timer returns at once, even a single byte */
	assert_int_equal(tty_core_read(h->c, T(1), buf, sizeof(buf), false, 2000000),
	                 TTY_CORE_PENDING);
	rx_str(h, "z", 2100000);
	assert_int_equal(h->ndone, 2);
	assert_ptr_equal(h->done[1].token, T(1));
	assert_int_equal(h->done[1].result, 1);
	assert_int_equal(buf[0], 'z');
	/* data already there: immediate */
	rx_str(h, "qr", 2200000);
	assert_int_equal(tty_core_read(h->c, T(2), buf, sizeof(buf), false, 2200000), 2);
	hfree(h);
}

static void test_vmin_vtime_interbyte(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[16];
	uint64_t d;

	set_raw(h, 5, 2); /* 0.2 s inter-byte timer */
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	/* no timer before the first byte */
	assert_false(tty_core_next_deadline(h->c, NULL));
	tty_core_tick(h->c, 10000000);
	assert_int_equal(h->ndone, 0);
	rx_str(h, "a", 10000000);
	assert_true(tty_core_next_deadline(h->c, &d));
	assert_int_equal(d, 10200000);
	/* a second byte restarts the timer */
	rx_str(h, "b", 10150000);
	assert_true(tty_core_next_deadline(h->c, &d));
	assert_int_equal(d, 10350000);
	tty_core_tick(h->c, 10349999);
	assert_int_equal(h->ndone, 0);
	tty_core_tick(h->c, 10350000);
	assert_int_equal(h->ndone, 1);
	assert_int_equal(h->done[0].result, 2);
	assert_memory_equal(buf, "ab", 2);

	/* reaching VMIN finishes before the timer */
	assert_int_equal(tty_core_read(h->c, T(1), buf, sizeof(buf), false, 20000000),
	                 TTY_CORE_PENDING);
	rx_str(h, "12", 20000000);
	rx_str(h, "345", 20100000);
	assert_int_equal(h->ndone, 2);
	assert_int_equal(h->done[1].result, 5);
	assert_memory_equal(buf, "12345", 5);
	hfree(h);
}

static void test_queued_reader_timer_starts_at_head(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t b1[4], b2[4];
	uint64_t d;

	set_raw(h, 0, 10); /* 1 s */
	assert_int_equal(tty_core_read(h->c, T(0), b1, sizeof(b1), false, 0), TTY_CORE_PENDING);
	/* a second reader waits for the first; O_NONBLOCK fails the lock */
	assert_int_equal(tty_core_read(h->c, T(1), b2, sizeof(b2), true, 100), -EAGAIN);
	assert_int_equal(tty_core_read(h->c, T(1), b2, sizeof(b2), false, 100), TTY_CORE_PENDING);
	assert_true(tty_core_next_deadline(h->c, &d));
	assert_int_equal(d, 1000000);
	tty_core_tick(h->c, 1000000);
	assert_int_equal(h->ndone, 1);
	assert_ptr_equal(h->done[0].token, T(0));
	/* the second read's timer starts now */
	assert_true(tty_core_next_deadline(h->c, &d));
	assert_int_equal(d, 2000000);
	rx_str(h, "k", 1500000);
	assert_int_equal(h->ndone, 2);
	assert_ptr_equal(h->done[1].token, T(1));
	assert_int_equal(h->done[1].result, 1);
	assert_int_equal(b2[0], 'k');
	hfree(h);
}

static void test_cancel(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[8];

	set_raw(h, 4, 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_cancel(h->c, T(0), 0), -EINTR);
	assert_int_equal(tty_core_cancel(h->c, T(0), 0), -ENOENT);
	assert_int_equal(tty_core_read(h->c, T(1), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	rx_str(h, "ab", 0);
	/* bytes already copied are returned, like n_tty on a signal */
	assert_int_equal(tty_core_cancel(h->c, T(1), 0), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(h->ndone, 0);
	/* poller cancel */
	(void)tty_core_poll(h->c, T(2));
	assert_int_equal(tty_core_cancel(h->c, T(2), 0), 0);
	rx_str(h, "abcd", 0);
	assert_int_equal(h->npoll, 0);
	hfree(h);
}

static void test_reentrant_read_from_callback(void **state);

/* ---- canonical mode ----------------------------------------------------------- */

static void test_canon_basic_echo(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[64];
	char out[128];

	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), true, 0), -EAGAIN);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	rx_str(h, "hello", 0);
	assert_int_equal(h->ndone, 0);
	assert_int_equal(tty_core_inq(h->c), 0);
	assert_false(tty_core_poll(h->c, NULL) & POLLIN);
	assert_true(h->kicks > 0);
	rx_str(h, "\r", 0); /* ICRNL */
	assert_int_equal(h->ndone, 1);
	assert_int_equal(h->done[0].result, 6);
	assert_memory_equal(buf, "hello\n", 6);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "hello\r\n"); /* echo with ONLCR */
	hfree(h);
}

static void test_canon_erase_kill(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[64];
	char out[256];

	rx_str(h, "helo\x7f\x7flo\n", 0);
	assert_int_equal(tty_core_inq(h->c), 5);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 5);
	assert_memory_equal(buf, "helo\n", 5);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "helo\b \b\b \blo\r\n");

	/* ERASE at line start does nothing */
	rx_str(h, "\x7f", 0);
	assert_int_equal(tty_core_tx_ready(h->c), 0);

	/* KILL with ECHOK+ECHOKE+ECHOE: visual erase of each char */
	rx_str(h, "abc\x15xy\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "xy\n", 3);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "abc\b \b\b \b\b \bxy\r\n");

	/* KILL without ECHOKE: echo ^U then newline (ECHOK) */
	mod_flags(h, 0, 0, 0, 0, 0, ECHOKE);
	rx_str(h, "abc\x15q\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	assert_memory_equal(buf, "q\n", 2);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "abc^U\r\nq\r\n");

	/* ERASE without ECHOE echoes the erase character (^? with ECHOCTL) */
	mod_flags(h, 0, 0, 0, 0, 0, ECHOE);
	rx_str(h, "ab\x7f\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	assert_memory_equal(buf, "a\n", 2);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "ab^?\r\n");

	/* KILL without ECHO just empties the line */
	mod_flags(h, 0, 0, 0, 0, 0, ECHO);
	rx_str(h, "zzz\x15ok\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "ok\n", 3);
	assert_int_equal(tty_core_tx_ready(h->c), 0);
	hfree(h);
}

static void test_canon_erase_ctl_tab_utf8(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[64];
	char out[256];

	/* control char echoed as ^A, erased with two \b \b */
	rx_str(h, "\x01\x7f\n", 0);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "^A\b \b\b \b\r\n");
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 1);

	/* TAB at column 2 ("ab"): erasing it backs up 6 columns */
	rx_str(h, "ab\t\x7f\n", 0);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "ab\t\b\b\b\b\b\b\r\n");
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "ab\n", 3);

	/* the line starts after a 3-column prompt: the TAB spans 5 columns */
	assert_int_equal(tty_core_write(h->c, T(7), (const uint8_t *)"abc", 3, true, 0), 3);
	rx_str(h, "\t\x7f\n", 0);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "abc\t\b\b\b\b\b\r\n");
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 1);

	/* IUTF8: one ERASE removes a whole multi-byte character */
	mod_flags(h, IUTF8, 0, 0, 0, 0, 0);
	rx_str(h, "x\xc3\xa9\x7f\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	assert_memory_equal(buf, "x\n", 2);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "x\xc3\xa9\b \b\r\n");
	hfree(h);
}

static void test_canon_werase_lnext(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[64];
	char out[256];

	rx_str(h, "foo bar\x17\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 5);
	assert_memory_equal(buf, "foo \n", 5);
	/* trailing blanks go with the word */
	rx_str(h, "foo bar  \x17\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 5);
	assert_memory_equal(buf, "foo \n", 5);
	tx_all(h, out, sizeof(out));
	/* LNEXT makes ^U literal and echoes "^\b" first */
	rx_str(h, "a\x16\x15\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "a\x15\n", 3);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "a^\b^U\r\n");
	/* without IEXTEN, WERASE is an ordinary character */
	mod_flags(h, 0, 0, 0, 0, 0, IEXTEN);
	rx_str(h, "ab\x17\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 4);
	assert_memory_equal(buf, "ab\x17\n", 4);
	hfree(h);
}

static void test_canon_eof_and_partial(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[64];

	/* ^D alone at line start: EOF (read returns 0) */
	rx_str(h, "\x04", 0);
	assert_true(tty_core_poll(h->c, NULL) & POLLIN);
	assert_int_equal(tty_core_inq(h->c), 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), true, 0), -EAGAIN);

	/* ^D after text pushes the text without a newline, no echo of ^D */
	rx_str(h, "abc\x04", 0);
	assert_int_equal(tty_core_inq(h->c), 3);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "abc", 3);

	/* a small buffer reads a line in pieces */
	rx_str(h, "abcdef\nxy\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, 4, false, 0), 4);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "ef\n", 3);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "xy\n", 3);

	/* "abc^D" read 3 at a time: the EOF mark only pushed, it is no EOF */
	rx_str(h, "abc\x04", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, 3, false, 0), 3);
	assert_int_equal(tty_core_read(h->c, T(1), buf, 3, false, 0), TTY_CORE_PENDING);
	rx_str(h, "z\n", 0);
	assert_int_equal(h->ndone, 1);
	assert_int_equal(h->done[0].result, 2);
	assert_memory_equal(buf, "z\n", 2);

	/* VEOL ends a line too */
	struct termios2 t;

	tty_core_get_termios(h->c, &t);
	t.c_cc[VEOL] = ';';
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, NULL), 0);
	rx_str(h, "a;b", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	assert_memory_equal(buf, "a;", 2);
	hfree(h);
}

static void test_canon_echonl_noecho(void **state)
{
	struct h *h = hnew(0, 0);
	char out[64];

	mod_flags(h, 0, 0, 0, 0, ECHONL, ECHO);
	rx_str(h, "secret\n", 0);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "\r\n");
	hfree(h);
}

static void test_canon_line_limit(void **state)
{
	struct h *h = hnew(0, 0);
	static uint8_t big[5000], buf[5000];

	mod_flags(h, 0, 0, 0, 0, 0, ECHO);
	memset(big, 'a', sizeof(big));
	assert_int_equal(tty_core_rx(h->c, big, sizeof(big), 0), 0);
	rx_str(h, "\n", 0);
	/* the edited line keeps TTY_CORE_MAX_CANON characters plus newline */
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0),
	                 TTY_CORE_MAX_CANON + 1);
	assert_int_equal(buf[TTY_CORE_MAX_CANON], '\n');
	hfree(h);
}

static void test_canon_ring_wrap(void **state)
{
	struct h *h = hnew(16, 0);
	uint8_t buf[32];
	char line[16];

	mod_flags(h, 0, 0, 0, 0, 0, ECHO);
	/* line ends, EOF marks and erasure across the ring's wrap point */
	for (int i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "l%02dx\x7f\n", i);
		rx_str(h, line, 0);
		assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 4);
		assert_memory_equal(buf, line, 3);
		assert_int_equal(buf[3], '\n');
		rx_str(h,
		       "ab\x04"
		       "cdefg\n",
		       0);
		assert_int_equal(tty_core_inq(h->c), 8);
		assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
		assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 6);
		assert_memory_equal(buf, "cdefg\n", 6);
	}
	/* a full ring still takes the newline of a long line */
	assert_int_equal(tty_core_rx(h->c, (const uint8_t *)"0123456789abcdefghij", 20, 0), 5);
	rx_str(h, "\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 16);
	assert_int_equal(buf[15], '\n');
	hfree(h);
}

static void test_mode_switch(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[16];

	/* a partial canonical line becomes readable in raw mode */
	rx_str(h, "part", 0);
	assert_int_equal(tty_core_inq(h->c), 0);
	set_raw(h, 1, 0);
	assert_int_equal(tty_core_inq(h->c), 4);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 4);
	/* raw bytes become one pushed line in canonical mode */
	rx_str(h, "raw", 0);
	mod_flags(h, 0, 0, 0, 0, ICANON, 0);
	assert_int_equal(tty_core_inq(h->c), 3);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "raw", 3);
	/* a pending canonical read waits for a whole line */
	assert_int_equal(tty_core_read(h->c, T(1), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	rx_str(h, "ab", 0);
	assert_int_equal(h->ndone, 0);
	set_raw(h, 1, 0); /* leaving canonical mode releases the partial line */
	assert_int_equal(h->ndone, 1);
	assert_int_equal(h->done[0].result, 2);
	hfree(h);
}

/* ---- input translations, signals, flow --------------------------------------- */

static void test_input_translations(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[16];

	set_raw(h, 0, 0);
	mod_flags(h, ICRNL, 0, 0, 0, 0, 0);
	rx_str(h, "a\rb\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 4);
	assert_memory_equal(buf, "a\nb\n", 4);

	mod_flags(h, INLCR, ICRNL, 0, 0, 0, 0);
	rx_str(h, "a\rb\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 4);
	assert_memory_equal(buf, "a\rb\r", 4);

	mod_flags(h, IGNCR | ICRNL, INLCR, 0, 0, 0, 0); /* IGNCR wins over ICRNL */
	rx_str(h, "a\r\nb", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "a\nb", 3);

	mod_flags(h, ISTRIP, IGNCR | ICRNL, 0, 0, 0, 0);
	rx_str(h, "\xc1\xff", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	assert_int_equal(buf[0], 0x41);
	assert_int_equal(buf[1], 0x7f);

	/* raw mode: every byte value passes unchanged */
	set_raw(h, 0, 0);
	uint8_t all[256];

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	assert_int_equal(tty_core_rx(h->c, all, sizeof(all), 0), 0);
	uint8_t got[256];

	assert_int_equal(tty_core_read(h->c, T(0), got, sizeof(got), false, 0), 256);
	assert_memory_equal(got, all, 256);
	assert_int_equal(tty_core_tx_ready(h->c), 0);
	hfree(h);
}

static void test_isig_flush(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[16];
	char out[64];

	rx_str(h, "abc\ndef", 0);
	tx_all(h, out, sizeof(out));
	assert_int_equal(tty_core_write(h->c, T(5), (const uint8_t *)"zz", 2, true, 0), 2);
	rx_str(h, "\x03", 0); /* ^C: nobody to signal, but input/output flushed */
	assert_int_equal(tty_core_inq(h->c), 0);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "^C");
	rx_str(h, "x\n", 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	/* NOFLSH keeps the input */
	mod_flags(h, 0, 0, 0, 0, NOFLSH, 0);
	rx_str(h, "k\n\x1c", 0);
	assert_int_equal(tty_core_inq(h->c), 2);
	hfree(h);
}

static void test_ixon(void **state)
{
	struct h *h = hnew(0, 0);
	char out[64];
	uint8_t buf[16];

	set_raw(h, 0, 0);
	mod_flags(h, IXON, 0, 0, 0, 0, 0);
	assert_int_equal(tty_core_write(h->c, T(0), (const uint8_t *)"abc", 3, false, 0), 3);
	rx_str(h, "\x13", 0); /* ^S */
	assert_int_equal(tty_core_tx_ready(h->c), 0);
	assert_int_equal(tty_core_tx_pull(h->c, (uint8_t *)out, sizeof(out), 0), 0);
	int kicks = h->kicks;

	rx_str(h, "\x11", 0); /* ^Q */
	assert_int_equal(h->kicks, kicks + 1);
	assert_int_equal(tty_core_tx_ready(h->c), 3);
	/* START/STOP are not data */
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 0);

	/* TCOOFF is not undone by ^Q, only by TCOON */
	assert_int_equal(tty_core_flow(h->c, TCOOFF, 0), 0);
	rx_str(h, "\x11", 0);
	assert_int_equal(tty_core_tx_ready(h->c), 0);
	assert_int_equal(tty_core_flow(h->c, TCOON, 0), 0);
	assert_int_equal(tty_core_tx_ready(h->c), 3);
	/* TCIOFF sends STOP ahead of queued data */
	assert_int_equal(tty_core_flow(h->c, TCIOFF, 0), 0);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "\x13"
	                         "abc");
	assert_int_equal(tty_core_flow(h->c, TCION, 0), 0);
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "\x11");
	assert_int_equal(tty_core_flow(h->c, 4, 0), -EINVAL);

	/* IXANY: any character restarts */
	mod_flags(h, IXANY, 0, 0, 0, 0, 0);
	assert_int_equal(tty_core_write(h->c, T(0), (const uint8_t *)"q", 1, false, 0), 1);
	rx_str(h, "\x13", 0);
	assert_int_equal(tty_core_tx_ready(h->c), 0);
	rx_str(h, "m", 0);
	assert_int_equal(tty_core_tx_ready(h->c), 1);
	/* clearing IXON restarts stopped output */
	rx_str(h, "\x13", 0);
	mod_flags(h, 0, IXON, 0, 0, 0, 0);
	assert_int_equal(tty_core_tx_ready(h->c), 1);
	hfree(h);
}

/* ---- output processing --------------------------------------------------------- */

static void write_str(struct h *h, const char *s)
{
	assert_int_equal(tty_core_write(h->c, T(7), (const uint8_t *)s, strlen(s), true, 0),
	                 (ssize_t)strlen(s));
}

static void test_output_processing(void **state)
{
	struct h *h = hnew(0, 0);
	char out[128];

	write_str(h, "a\nb");
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "a\r\nb");

	mod_flags(h, 0, 0, OCRNL, ONLCR, 0, 0);
	write_str(h, "x\ry\n");
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "x\ny\n");

	mod_flags(h, 0, 0, ONOCR, OCRNL, 0, 0);
	write_str(h, "ab\r\r"); /* the second CR is at column 0: dropped */
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "ab\r");
	write_str(h, "\r");
	assert_int_equal(tx_all(h, out, sizeof(out)), 0);

	mod_flags(h, 0, 0, XTABS | OLCUC, ONOCR, 0, 0);
	write_str(h, "ab\tc");
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "AB      C");

	/* no OPOST: bytes unchanged */
	mod_flags(h, 0, 0, ONLCR, OPOST, 0, 0);
	write_str(h, "\n\t\r");
	tx_all(h, out, sizeof(out));
	assert_string_equal(out, "\n\t\r");
	hfree(h);
}

/* ---- tx queue: back-pressure, drain, flush ------------------------------------ */

static void test_tx_backpressure(void **state)
{
	struct h *h = hnew(0, 16);
	uint8_t data[40], sent[64];
	unsigned int m;

	set_raw(h, 1, 0);
	for (int i = 0; i < 40; i++)
		data[i] = (uint8_t)('A' + i);
	assert_true(tty_core_poll(h->c, NULL) & POLLOUT);
	/* non-blocking write: partial accept */
	assert_int_equal(tty_core_write(h->c, T(0), data, 40, true, 0), 16);
	assert_int_equal(tty_core_outq(h->c), 16);
	assert_int_equal(tty_core_write(h->c, T(0), data + 16, 24, true, 0), -EAGAIN);
	m = tty_core_poll(h->c, T(3));
	assert_false(m & POLLOUT);
	/* pulled bytes are still counted until acked */
	assert_int_equal(tty_core_tx_pull(h->c, sent, 10, 0), 10);
	assert_int_equal(tty_core_outq(h->c), 16);
	assert_int_equal(tty_core_write(h->c, T(0), data + 16, 24, true, 0), -EAGAIN);
	assert_int_equal(h->npoll, 0);
	tty_core_tx_ack(h->c, 10, 0);
	assert_int_equal(tty_core_outq(h->c), 6);
	assert_int_equal(h->npoll, 1);
	assert_true(h->poll_mask[0] & POLLOUT);

	/* blocking write: accepted piecewise, completes with the full length */
	assert_int_equal(tty_core_write(h->c, T(1), data + 16, 24, false, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_outq(h->c), 16);
	/* a non-blocking write may not overtake it */
	assert_int_equal(tty_core_write(h->c, T(2), data, 1, true, 0), -EAGAIN);
	size_t got = 10, n;

	while (h->ndone == 0) {
		n = tty_core_tx_pull(h->c, sent + got, 7, 0);
		assert_true(n > 0);
		got += n;
		tty_core_tx_ack(h->c, n, 0);
	}
	assert_ptr_equal(h->done[0].token, T(1));
	assert_int_equal(h->done[0].result, 24);
	assert_int_equal(tty_core_outq(h->c), 40 - got);
	while ((n = tty_core_tx_pull(h->c, sent + got, sizeof(sent) - got, 0)) > 0) {
		got += n;
		tty_core_tx_ack(h->c, n, 0);
	}
	/* every byte once, in order */
	assert_int_equal(got, 40);
	assert_memory_equal(sent, data, 40);
	struct serial_icounter_struct ic;

	tty_core_icount(h->c, &ic);
	assert_int_equal(ic.tx, 40);
	/* a write cancelled after partial progress returns its count */
	assert_int_equal(tty_core_write(h->c, T(4), data, 30, false, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_cancel(h->c, T(4), 0), 16);
	hfree(h);
}

static void test_tx_onlcr_room(void **state)
{
	struct h *h = hnew(0, 16);
	uint8_t data[16];

	/* 15 bytes + "\n" needing 2 with ONLCR: only 15 fit */
	memset(data, 'x', 15);
	data[15] = '\n';
	assert_int_equal(tty_core_write(h->c, T(0), data, 16, true, 0), 15);
	assert_int_equal(tty_core_outq(h->c), 15);
	hfree(h);
}

static void test_drain(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t out[16];

	assert_int_equal(tty_core_drain(h->c, T(0), 0), 0);
	write_str(h, "abcd");
	assert_int_equal(tty_core_drain(h->c, T(0), 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_drain(h->c, T(1), 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_tx_pull(h->c, out, sizeof(out), 0), 4);
	assert_int_equal(h->ndone, 0); /* in flight is not drained */
	tty_core_tx_ack(h->c, 3, 0);
	assert_int_equal(h->ndone, 0);
	tty_core_tx_ack(h->c, 5, 0); /* over-ack is clamped */
	assert_int_equal(h->ndone, 2);
	assert_int_equal(h->done[0].result, 0);
	assert_ptr_equal(h->done[1].token, T(1));
	assert_int_equal(tty_core_outq(h->c), 0);
	/* output flush lets a drain finish when nothing is in flight */
	write_str(h, "xy");
	assert_int_equal(tty_core_drain(h->c, T(2), 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_cancel(h->c, T(2), 0), -EINTR);
	assert_int_equal(tty_core_drain(h->c, T(3), 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_flush(h->c, TCOFLUSH, 0, NULL), 0);
	assert_int_equal(h->ndone, 3);
	assert_ptr_equal(h->done[2].token, T(3));
	hfree(h);
}

static void test_flush(void **state)
{
	struct h *h = hnew(0, 0);
	struct tty_core_fx fx;
	uint8_t buf[8];

	set_raw(h, 1, 0);
	rx_str(h, "abc", 0);
	write_str(h, "xyz");
	int spaces = h->rx_space_calls;

	assert_int_equal(tty_core_flush(h->c, TCIFLUSH, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_FLUSH_RX);
	assert_int_equal(tty_core_inq(h->c), 0);
	assert_int_equal(tty_core_outq(h->c), 3);
	assert_int_equal(h->rx_space_calls, spaces + 1);
	assert_int_equal(h->last_room, TTY_CORE_RX_DEFAULT);
	/* the owner drops what it holds for the core before it hears of room */
	assert_int_equal(h->rx_flushes, 1);
	assert_int_equal(h->rx_space_at_flush, spaces);
	assert_int_equal(tty_core_flush(h->c, TCOFLUSH, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_FLUSH_TX);
	assert_int_equal(tty_core_outq(h->c), 0);
	assert_int_equal(h->rx_flushes, 1); /* output only */
	rx_str(h, "abc", 0);
	write_str(h, "xyz");
	assert_int_equal(tty_core_flush(h->c, TCIOFLUSH, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_FLUSH_RX | TTY_FX_FLUSH_TX);
	assert_int_equal(tty_core_inq(h->c) + tty_core_outq(h->c), 0);
	assert_int_equal(tty_core_flush(h->c, 3, 0, &fx), -EINVAL);
	assert_int_equal(tty_core_flush(h->c, -1, 0, &fx), -EINVAL);
	/* a pending read survives a flush */
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_flush(h->c, TCIFLUSH, 0, &fx), 0);
	assert_int_equal(h->ndone, 0);
	rx_str(h, "q", 0);
	assert_int_equal(h->ndone, 1);
	hfree(h);
}

/* The last close drops the output nobody pulled (the node waited for it
 * as long as closing_wait allowed); an earlier close keeps it. */
static void test_last_close_drops_output(void **state)
{
	struct h *h = hnew(0, 0);
	struct tty_core_fx fx;
	char buf[16];

	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 2);
	write_str(h, "abc");
	assert_int_equal(tty_core_close(h->c, 0, &fx), 1);
	assert_int_equal(tty_core_outq(h->c), 3);
	assert_int_equal(tty_core_tx_ready(h->c), 3);
	assert_int_equal(tty_core_close(h->c, 0, &fx), 0);
	assert_int_equal(tty_core_outq(h->c), 0);
	assert_int_equal(tty_core_tx_ready(h->c), 0);
	/* a new session starts with nothing of the old one */
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 1);
	assert_int_equal(tx_all(h, buf, sizeof(buf)), 0);
	write_str(h, "d");
	assert_int_equal(tx_all(h, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "d");
	hfree(h);
}

/* Moving a parked read's buffer returns its bytes so far (what the caller
 * must copy over), and the read completes in the new buffer. */
static void test_move_buffer_returns_done(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t first[8] = {0}, moved[8] = {0};

	set_raw(h, 5, 0);
	rx_str(h, "ab", 0);
	assert_int_equal(tty_core_read(h->c, T(0), first, sizeof(first), false, 0),
	                 TTY_CORE_PENDING);
	assert_int_equal(tty_core_move_buffer(h->c, T(1), moved), -ENOENT);
	assert_int_equal(tty_core_move_buffer(h->c, T(0), moved), 2);
	memcpy(moved, first, 2);
	memset(first, 'x', sizeof(first));
	rx_str(h, "cde", 0);
	assert_int_equal(h->ndone, 1);
	assert_int_equal(h->done[0].result, 5);
	assert_memory_equal(moved, "abcde", 5);
	assert_int_equal(tty_core_move_buffer(h->c, T(0), moved), -ENOENT);
	hfree(h);
}

/* ---- rx overflow ------------------------------------------------------------ */

static void test_rx_overflow(void **state)
{
	struct h *h = hnew(16, 0);
	uint8_t data[20], buf[32];
	struct serial_icounter_struct ic;

	set_raw(h, 1, 0);
	memset(data, 'r', sizeof(data));
	assert_int_equal(tty_core_rx(h->c, data, 20, 0), 4);
	assert_int_equal(tty_core_rx_room(h->c), 0);
	tty_core_icount(h->c, &ic);
	assert_int_equal(ic.buf_overrun, 4);
	assert_int_equal(ic.rx, 20);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 16);
	assert_int_equal(h->last_room, 16);
	/* a pending reader drains the ring while data arrives: nothing lost */
	set_raw(h, 30, 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_rx(h->c, data, 20, 0), 0);
	assert_int_equal(tty_core_rx(h->c, data, 10, 0), 0);
	assert_int_equal(h->ndone, 1);
	assert_int_equal(h->done[0].result, 30);
	hfree(h);
}

/* ---- termios -> line coding ---------------------------------------------------- */

static void test_baud_table(void **state)
{
	static const struct {
		tcflag_t b;
		uint32_t rate;
	} tab[] = {
	    {B0, 0},
	    {B50, 50},
	    {B75, 75},
	    {B110, 110},
	    {B134, 134},
	    {B150, 150},
	    {B200, 200},
	    {B300, 300},
	    {B600, 600},
	    {B1200, 1200},
	    {B1800, 1800},
	    {B2400, 2400},
	    {B4800, 4800},
	    {B9600, 9600},
	    {B19200, 19200},
	    {B38400, 38400},
	    {B57600, 57600},
	    {B115200, 115200},
	    {B230400, 230400},
	    {B460800, 460800},
	    {B500000, 500000},
	    {B576000, 576000},
	    {B921600, 921600},
	    {B1000000, 1000000},
	    {B1152000, 1152000},
	    {B1500000, 1500000},
	    {B2000000, 2000000},
	    {B2500000, 2500000},
	    {B3000000, 3000000},
	    {B3500000, 3500000},
	    {B4000000, 4000000},
	};
	struct termios2 t;
	struct serial_line lc;

	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		t.c_cflag = tab[i].b | CS8;
		t.c_ospeed = 12345; /* ignored unless BOTHER */
		assert_int_equal(tty_core_termios_baud(&t), tab[i].rate);
		assert_int_equal(tty_core_termios_ibaud(&t), tab[i].rate);
		if (tab[i].rate) {
			assert_int_equal(tty_core_termios_to_line(&t, &lc), 0);
			assert_int_equal(lc.baud, tab[i].rate);
		} else {
			assert_int_equal(tty_core_termios_to_line(&t, &lc), -EINVAL);
		}
	}
	t.c_cflag = BOTHER | CS8;
	t.c_ospeed = 250000;
	assert_int_equal(tty_core_termios_baud(&t), 250000);
	assert_int_equal(tty_core_termios_to_line(&t, &lc), 0);
	assert_int_equal(lc.baud, 250000);
	/* split input speed through CIBAUD */
	t.c_cflag = B115200 | (B9600 << IBSHIFT);
	assert_int_equal(tty_core_termios_ibaud(&t), 9600);
	t.c_cflag = B115200 | (BOTHER << IBSHIFT);
	t.c_ispeed = 31250;
	assert_int_equal(tty_core_termios_ibaud(&t), 31250);
}

static void test_coding_fields(void **state)
{
	static const struct {
		tcflag_t cflag;
		uint8_t bits, stop, parity;
	} tab[] = {
	    {CS5, 5, SERIAL_STOP_1, SERIAL_PARITY_NONE},
	    {CS6 | CSTOPB, 6, SERIAL_STOP_2, SERIAL_PARITY_NONE},
	    {CS7 | PARENB, 7, SERIAL_STOP_1, SERIAL_PARITY_EVEN},
	    {CS7 | PARENB | PARODD, 7, SERIAL_STOP_1, SERIAL_PARITY_ODD},
	    {CS8 | PARENB | PARODD | CMSPAR, 8, SERIAL_STOP_1, SERIAL_PARITY_MARK},
	    {CS8 | PARENB | CMSPAR, 8, SERIAL_STOP_1, SERIAL_PARITY_SPACE},
	    {CS8 | PARODD | CMSPAR, 8, SERIAL_STOP_1, SERIAL_PARITY_NONE}, /* no PARENB */
	    {CS5 | CSTOPB, 5, SERIAL_STOP_2, SERIAL_PARITY_NONE},          /* as cdc-acm */
	};
	struct termios2 t;
	struct serial_line lc;

	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		t.c_cflag = B19200 | tab[i].cflag;
		assert_int_equal(tty_core_termios_to_line(&t, &lc), 0);
		assert_int_equal(lc.baud, 19200);
		assert_int_equal(lc.data_bits, tab[i].bits);
		assert_int_equal(lc.stop_bits, tab[i].stop);
		assert_int_equal(lc.parity, tab[i].parity);
	}
}

static void set_cflag(struct h *h, tcflag_t cflag, speed_t ospeed, struct tty_core_fx *fx)
{
	struct termios2 t;

	tty_core_get_termios(h->c, &t);
	t.c_cflag = cflag;
	t.c_ospeed = ospeed;
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, fx), 0);
}

static void test_set_termios_effects(void **state)
{
	struct h *h = hnew(0, 0);
	struct tty_core_fx fx;
	struct termios2 t;

	/* unchanged termios: the driver hears of it with nothing new */
	set_cflag(h, B9600 | CS8 | CREAD | HUPCL | CLOCAL, 0, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINE);
	assert_true(fx.line_same);
	assert_true(fx.hw_same);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_ospeed, 9600); /* recomputed from CBAUD */
	/* HUPCL alone is no hardware change (tty_termios_hw_change) ... */
	set_cflag(h, B9600 | CS8 | CREAD | CLOCAL, 0, &fx);
	assert_true(fx.line_same);
	assert_true(fx.hw_same);
	/* ... CLOCAL alone is one, though the line settings stay */
	set_cflag(h, B9600 | CS8 | CREAD, 0, &fx);
	assert_true(fx.line_same);
	assert_false(fx.hw_same);
	set_cflag(h, B9600 | CS8 | CREAD | HUPCL | CLOCAL, 0, &fx);
	assert_false(fx.hw_same);

	set_cflag(h, B115200 | CS7 | PARENB | CREAD, 0, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINE);
	assert_int_equal(fx.line.baud, 115200);
	assert_int_equal(fx.line.data_bits, 7);
	assert_int_equal(fx.line.parity, SERIAL_PARITY_EVEN);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_ospeed, 115200);
	assert_int_equal(t.c_ispeed, 115200);

	/* BOTHER 250000 (pyserial) */
	set_cflag(h, BOTHER | CS8 | CREAD, 250000, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINE);
	assert_int_equal(fx.line.baud, 250000);
	assert_int_equal(fx.line.data_bits, 8);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_ospeed, 250000);
	assert_int_equal(t.c_ispeed, 250000);

	/* B0: DTR and RTS drop; the rate is kept, so nothing new on the line */
	set_cflag(h, B0 | CS8 | CREAD, 0, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINES | TTY_FX_LINE);
	assert_true(fx.line_same);
	assert_int_equal(fx.lines, 0);
	assert_int_equal(tty_core_tiocmget(h->c) & (TIOCM_DTR | TIOCM_RTS), 0);
	struct serial_line lc;

	tty_core_get_line(h->c, &lc);
	assert_int_equal(lc.baud, 250000);
	/* B0 with other framing: lines unchanged, coding sent with old rate */
	set_cflag(h, B0 | CS7 | CREAD, 0, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINE);
	assert_int_equal(fx.line.baud, 250000);
	assert_int_equal(fx.line.data_bits, 7);
	/* leaving B0 raises them again, then the new coding */
	set_cflag(h, B57600 | CS8 | CREAD, 0, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINES | TTY_FX_LINE);
	assert_int_equal(fx.lines, SERIAL_DTR | SERIAL_RTS);
	assert_int_equal(fx.line.baud, 57600);
	/* BOTHER with speed 0 is not B0: lines stay, rate stays */
	set_cflag(h, BOTHER | CS8 | CREAD, 0, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINE);
	assert_true(fx.line_same);
	hfree(h);
}

static void test_locked_termios(void **state)
{
	struct h *h = hnew(0, 0);
	struct termios2 lk, t;

	memset(&lk, 0, sizeof(lk));
	lk.c_cflag = CSIZE;
	lk.c_cc[VMIN] = 1;
	tty_core_set_locked(h->c, &lk);
	tty_core_get_locked(h->c, &t);
	assert_memory_equal(&t, &lk, sizeof(t));
	tty_core_get_termios(h->c, &t);
	t.c_cflag = (t.c_cflag & ~(tcflag_t)CSIZE) | CS5 | PARENB;
	t.c_cc[VMIN] = 9;
	t.c_cc[VTIME] = 3;
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, NULL), 0);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_cflag & CSIZE, CS8); /* locked */
	assert_true(t.c_cflag & PARENB);          /* not locked */
	assert_int_equal(t.c_cc[VMIN], 1);
	assert_int_equal(t.c_cc[VTIME], 3);
	hfree(h);
}

/* ---- modem lines, counters, hangup ----------------------------------------------- */

static void test_tiocmset(void **state)
{
	struct h *h = hnew(0, 0);
	struct tty_core_fx fx;

	assert_int_equal(tty_core_tiocmset(h->c, 0, TIOCM_DTR, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_LINES);
	assert_int_equal(fx.lines, SERIAL_RTS);
	assert_false(fx.lines_same);
	/* no change: the driver still hears of it (the usb-serial ones send it) */
	assert_int_equal(tty_core_tiocmset(h->c, 0, TIOCM_DTR, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_LINES);
	assert_int_equal(fx.lines, SERIAL_RTS);
	assert_true(fx.lines_same);
	assert_int_equal(tty_core_tiocmset(h->c, TIOCM_DTR, TIOCM_RTS, 0, &fx), 0);
	assert_int_equal(fx.lines, SERIAL_DTR);
	/* input lines cannot be set */
	assert_int_equal(tty_core_tiocmset(h->c, TIOCM_CD | TIOCM_DSR, 0, 0, &fx), 0);
	assert_int_equal(fx.flags, 0);
	assert_int_equal(tty_core_tiocmget(h->c), TIOCM_DTR | TIOCM_CTS);
	hfree(h);
}

static void test_serial_state(void **state)
{
	struct h *h = hnew(0, 0);
	struct serial_icounter_struct ic;

	assert_int_equal(tty_core_miwait(h->c, T(0), TIOCM_DSR, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_miwait(h->c, T(1), TIOCM_CTS, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_miwait(h->c, T(2), TIOCM_CD | TIOCM_RI, 0), TTY_CORE_PENDING);
	assert_int_equal(serial_state(h->c, CDC_SS_DCD, 0), 0);
	assert_int_equal(h->ndone, 1);
	assert_ptr_equal(h->done[0].token, T(2));
	assert_int_equal(tty_core_tiocmget(h->c), TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_CD);
	assert_int_equal(serial_state(h->c, CDC_SS_DCD | CDC_SS_DSR | CDC_SS_RI, 0), 0);
	assert_int_equal(h->ndone, 2);
	assert_ptr_equal(h->done[1].token, T(0));
	assert_int_equal(h->done[1].result, 0);
	assert_int_equal(
	    serial_state(
	        h->c, CDC_SS_DCD | CDC_SS_DSR | CDC_SS_FRAMING | CDC_SS_PARITY | CDC_SS_OVERRUN, 0),
	    0);
	tty_core_icount(h->c, &ic);
	assert_int_equal(ic.dcd, 1);
	assert_int_equal(ic.dsr, 1);
	assert_int_equal(ic.rng, 1);
	assert_int_equal(ic.frame, 1);
	assert_int_equal(ic.parity, 1);
	assert_int_equal(ic.overrun, 1);
	assert_int_equal(ic.cts, 0);
	/* CTS never changes on CDC: still waiting */
	assert_int_equal(h->ndone, 2);
	assert_int_equal(tty_core_cancel(h->c, T(1), 0), -EINTR);
	/* DCD drop with CLOCAL: no hangup; without CLOCAL: hangup advised */
	assert_int_equal(serial_state(h->c, 0, 0), 0);
	assert_int_equal(serial_state(h->c, CDC_SS_DCD, 0), 0);
	set_cflag(h, B9600 | CS8 | CREAD, 0, NULL);
	assert_int_equal(serial_state(h->c, 0, 0), TTY_CORE_SS_HANGUP);
	hfree(h);
}

/* Chips other than cdc_acm report levels (usb-serial rules): CTS is real,
 * RI counts its edges, events come without levels. */
static void test_modem_levels(void **state)
{
	struct h *h = hnew(0, 0);
	struct serial_icounter_struct ic;
	struct serial_status st = {.has_lines = true, .lines = 0};

	assert_int_equal(tty_core_modem_status(h->c, &st, 0), 0); /* CTS drops */
	assert_int_equal(tty_core_tiocmget(h->c), TIOCM_DTR | TIOCM_RTS);
	assert_int_equal(tty_core_miwait(h->c, T(0), TIOCM_CTS, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_miwait(h->c, T(1), TIOCM_RI, 0), TTY_CORE_PENDING);
	st.lines = SERIAL_CTS | SERIAL_RI;
	assert_int_equal(tty_core_modem_status(h->c, &st, 0), 0);
	assert_int_equal(h->ndone, 2);
	assert_int_equal(tty_core_tiocmget(h->c), TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_RI);
	/* the same levels again count nothing; RI falling is an edge */
	assert_int_equal(tty_core_modem_status(h->c, &st, 0), 0);
	st.lines = SERIAL_CTS;
	assert_int_equal(tty_core_modem_status(h->c, &st, 0), 0);
	/* events alone leave the levels */
	struct serial_status ev = {.events = SERIAL_EV_OVERRUN | SERIAL_EV_FRAMING};
	assert_int_equal(tty_core_modem_status(h->c, &ev, 0), 0);
	assert_int_equal(tty_core_tiocmget(h->c), TIOCM_DTR | TIOCM_RTS | TIOCM_CTS);
	tty_core_icount(h->c, &ic);
	assert_int_equal(ic.cts, 2);
	assert_int_equal(ic.rng, 2);
	assert_int_equal(ic.overrun, 1);
	assert_int_equal(ic.frame, 1);
	assert_int_equal(ic.dsr, 0);
	hfree(h);
}

static void test_line_flow(void **state)
{
	struct termios2 t;
	struct serial_line l;

	memset(&t, 0, sizeof(t));
	t.c_cflag = B115200 | CS8 | CRTSCTS;
	t.c_iflag = IXON | IXOFF;
	t.c_cc[VSTART] = 0x11;
	t.c_cc[VSTOP] = 0x13;
	assert_int_equal(tty_core_termios_to_line(&t, &l), 0);
	assert_int_equal(l.flow, SERIAL_FLOW_RTSCTS | SERIAL_FLOW_IXON | SERIAL_FLOW_IXOFF);
	assert_int_equal(l.xon, 0x11);
	assert_int_equal(l.xoff, 0x13);
	t.c_cflag = B115200 | CS8;
	t.c_iflag = 0;
	assert_int_equal(tty_core_termios_to_line(&t, &l), 0);
	assert_int_equal(l.flow, 0);

	/* a flow-only change is a line change (drivers with chip flow need it) */
	struct h *h = hnew(0, 0);
	struct tty_core_fx fx;

	tty_core_get_termios(h->c, &t);
	t.c_cflag |= CRTSCTS;
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, &fx), 0);
	assert_int_equal(fx.flags, TTY_FX_LINE);
	assert_int_equal(fx.line.flow, SERIAL_FLOW_RTSCTS | SERIAL_FLOW_IXON);
	assert_int_equal(fx.line.baud, 9600);
	hfree(h);
}

/* A driver that runs other settings than asked says so in the termios, as
 * tty_encode_baud_rate and the kernel's drivers write it. */
static void test_line_reported(void **state)
{
	struct h *h = hnew(0, 0);
	struct termios2 t;
	struct serial_line l;
	struct tty_core_fx fx;

	/* B115200 asked, the chip's divisor gives 115384: still B115200 (within
	 * 2%), the exact rate in c_ospeed */
	set_cflag(h, B115200 | CS8 | CREAD, 0, &fx);
	l = fx.line;
	l.baud = 115384;
	tty_core_line_reported(h->c, &l);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_cflag & CBAUD, B115200);
	assert_int_equal(t.c_ospeed, 115384);
	assert_int_equal(t.c_ispeed, 115384);
	tty_core_get_line(h->c, &l);
	assert_int_equal(l.baud, 115384);
	/* BOTHER 31250 asked, the chip runs 38400: a precise answer is B38400 */
	set_cflag(h, BOTHER | CS8 | CREAD, 31250, &fx);
	assert_int_equal(fx.flags, TTY_FX_LINE);
	l = fx.line;
	l.baud = 38400;
	tty_core_line_reported(h->c, &l);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_cflag & CBAUD, B38400);
	assert_int_equal(t.c_ospeed, 38400);
	/* BOTHER 57600 asked, 57553 run: no standard code is exact, BOTHER stays */
	set_cflag(h, BOTHER | CS8 | CREAD, 57600, &fx);
	l = fx.line;
	l.baud = 57553;
	tty_core_line_reported(h->c, &l);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_cflag & CBAUD, BOTHER);
	assert_int_equal(t.c_ospeed, 57553);
	/* a word size the chip lacks, flow control it cannot do */
	set_cflag(h, B9600 | CS6 | CREAD | CRTSCTS, 0, &fx);
	l = fx.line;
	l.data_bits = 8;
	l.flow &= (uint8_t)~SERIAL_FLOW_RTSCTS;
	tty_core_line_reported(h->c, &l);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_cflag & CSIZE, CS8);
	assert_int_equal(t.c_cflag & CRTSCTS, 0);
	assert_int_equal(t.c_cflag & CBAUD, B9600); /* the rate as asked */
	/* the same termios again is nothing new: the tty knows what runs */
	tty_core_get_termios(h->c, &t);
	assert_int_equal(tty_core_set_termios(h->c, &t, 0, &fx), 0);
	assert_true(fx.line_same);
	/* an explicit input speed keeps its own bits */
	set_cflag(h, B115200 | (B115200 << IBSHIFT) | CS8 | CREAD, 0, &fx);
	l = fx.line;
	l.baud = 117000;
	tty_core_line_reported(h->c, &l);
	tty_core_get_termios(h->c, &t);
	assert_int_equal(t.c_cflag & CBAUD, B115200);
	assert_int_equal((t.c_cflag >> IBSHIFT) & CBAUD, B115200);
	hfree(h);
}

static void test_break_input(void **state)
{
	struct h *h = hnew(0, 0);
	uint8_t buf[8];
	struct serial_icounter_struct ic;

	set_raw(h, 1, 0);
	rx_str(h, "a", 0);
	assert_int_equal(serial_state(h->c, CDC_SS_BREAK, 0), 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 2);
	assert_int_equal(buf[1], 0); /* break reads as NUL */
	mod_flags(h, PARMRK, 0, 0, 0, 0, 0);
	assert_int_equal(serial_state(h->c, CDC_SS_BREAK, 0), 0);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 3);
	assert_memory_equal(buf, "\xff\0\0", 3);
	mod_flags(h, IGNBRK, 0, 0, 0, 0, 0);
	assert_int_equal(serial_state(h->c, CDC_SS_BREAK, 0), 0);
	assert_int_equal(tty_core_inq(h->c), 0);
	mod_flags(h, BRKINT, IGNBRK, 0, 0, 0, 0);
	rx_str(h, "zz", 0);
	assert_int_equal(serial_state(h->c, CDC_SS_BREAK, 0), 0);
	assert_int_equal(tty_core_inq(h->c), 0); /* BRKINT: flushed */
	tty_core_icount(h->c, &ic);
	assert_int_equal(ic.brk, 4);
	hfree(h);
}

/* Bytes in flight when the tty hangs up are still the device's: their late
 * acks must not be taken off bytes written after the hangup. */
static void test_inflight_across_hangup(void **state)
{
	struct h *h = hnew(0, 0);
	struct tty_core_fx fx;
	uint8_t buf[32];

	set_raw(h, 1, 0);
	assert_int_equal(tty_core_write(h->c, T(0), (const uint8_t *)"0123456789", 10, false, 0),
	                 10);
	assert_int_equal(tty_core_tx_pull(h->c, buf, sizeof(buf), 0), 10);
	tty_core_hangup(h->c, 0);
	tty_core_unhangup(h->c, 0);
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 2);
	assert_int_equal(tty_core_write(h->c, T(1), (const uint8_t *)"abcde", 5, false, 0), 5);
	assert_int_equal(tty_core_tx_pull(h->c, buf, sizeof(buf), 0), 5);
	assert_int_equal(tty_core_outq(h->c), 15);
	tty_core_tx_ack(h->c, 10, 0); /* the old ten */
	assert_int_equal(tty_core_outq(h->c), 5);
	tty_core_tx_ack(h->c, 5, 0);
	assert_int_equal(tty_core_outq(h->c), 0);
	hfree(h);
}

static void test_hangup(void **state)
{
	struct h *h = hnew(0, 16);
	uint8_t buf[8], data[32];
	struct tty_core_fx fx;

	set_raw(h, 4, 0);
	memset(data, 'w', sizeof(data));
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), TTY_CORE_PENDING);
	rx_str(h, "ab", 0);
	assert_int_equal(tty_core_write(h->c, T(1), data, 32, false, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_write(h->c, T(2), data, 4, false, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_drain(h->c, T(3), 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_miwait(h->c, T(4), TIOCM_CD, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_miwait(h->c, T(5), TIOCM_DSR, 0), TTY_CORE_PENDING);
	(void)tty_core_poll(h->c, T(6));
	unsigned int gen = tty_core_hangup_gen(h->c);

	tty_core_hangup(h->c, 0);
	assert_true(tty_core_hung_up(h->c));
	assert_int_equal(tty_core_hangup_gen(h->c), gen + 1);
	assert_int_equal(h->ndone, 6);
	assert_int_equal(h->done[0].result, 2);    /* read: bytes so far */
	assert_int_equal(h->done[1].result, 16);   /* write: bytes so far */
	assert_int_equal(h->done[2].result, -EIO); /* write: nothing */
	assert_int_equal(h->done[3].result, -EIO); /* drain */
	assert_int_equal(h->done[4].result, 0);    /* miwait on CD */
	assert_int_equal(h->done[5].result, -EIO);
	assert_int_equal(h->npoll, 1);
	assert_true(h->poll_mask[0] & POLLHUP);
	assert_int_equal(tty_core_read(h->c, T(0), buf, sizeof(buf), false, 0), 0);
	assert_int_equal(tty_core_write(h->c, T(0), data, 1, false, 0), -EIO);
	assert_int_equal(tty_core_drain(h->c, T(0), 0), -EIO);
	assert_int_equal(tty_core_miwait(h->c, T(0), TIOCM_CD, 0), -EIO);
	assert_int_equal(tty_core_rx(h->c, data, 3, 0), 3);
	assert_int_equal(tty_core_outq(h->c), 0);
	tty_core_tx_ack(h->c, 100, 0); /* late ack after hangup: ignored */
	assert_int_equal(tty_core_outq(h->c), 0);
	/* a new open starts afresh */
	assert_int_equal(tty_core_open(h->c, false, 0, &fx), 2);
	assert_false(tty_core_hung_up(h->c));
	assert_false(tty_core_poll(h->c, NULL) & POLLHUP);
	tty_core_hangup(h->c, 0);
	tty_core_unhangup(h->c, 0);
	assert_false(tty_core_hung_up(h->c));
	hfree(h);
}

/* A completion callback that immediately issues the next read, as a binding
 * might: the re-entrant call must see consistent state. */
struct reent {
	struct h h;
	uint8_t buf[4];
	ssize_t second;
};

static void cb_reent(void *token, ssize_t result, void *user)
{
	struct reent *r = user;

	cb_complete(token, result, user);
	if (token == T(0))
		r->second = tty_core_read(r->h.c, T(1), r->buf, sizeof(r->buf), false, 0);
}

static void test_reentrant_read_from_callback(void **state)
{
	static const struct tty_core_ops rops = {.complete = cb_reent};
	struct reent *r = calloc(1, sizeof(*r));
	struct tty_core_config cfg = {.ops = &rops, .user = r};
	uint8_t b0[2];

	assert_non_null(r);
	assert_int_equal(tty_core_new(&r->h.c, &cfg), 0);
	set_raw(&r->h, 2, 0);
	assert_int_equal(tty_core_read(r->h.c, T(0), b0, 2, false, 0), TTY_CORE_PENDING);
	/* 5 bytes: the first read takes 2, the re-entrant one gets 3 at once */
	assert_int_equal(tty_core_rx(r->h.c, (const uint8_t *)"12345", 5, 0), 0);
	assert_int_equal(r->h.ndone, 1);
	assert_memory_equal(b0, "12", 2);
	assert_int_equal(r->second, 3);
	assert_memory_equal(r->buf, "345", 3);
	tty_core_free(r->h.c);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_config_invalid),
	    cmocka_unit_test(test_hupcl_off_and_b0_open),
	    cmocka_unit_test(test_excl),
	    cmocka_unit_test(test_vmin0_vtime0),
	    cmocka_unit_test(test_vmin_blocking),
	    cmocka_unit_test(test_vmin_poll),
	    cmocka_unit_test(test_poll_wakes_on_gain_only),
	    cmocka_unit_test(test_vtime_only),
	    cmocka_unit_test(test_vmin_vtime_interbyte),
	    cmocka_unit_test(test_queued_reader_timer_starts_at_head),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_reentrant_read_from_callback),
	    cmocka_unit_test(test_canon_basic_echo),
	    cmocka_unit_test(test_canon_erase_kill),
	    cmocka_unit_test(test_canon_erase_ctl_tab_utf8),
	    cmocka_unit_test(test_canon_werase_lnext),
	    cmocka_unit_test(test_canon_eof_and_partial),
	    cmocka_unit_test(test_canon_echonl_noecho),
	    cmocka_unit_test(test_canon_line_limit),
	    cmocka_unit_test(test_canon_ring_wrap),
	    cmocka_unit_test(test_mode_switch),
	    cmocka_unit_test(test_input_translations),
	    cmocka_unit_test(test_isig_flush),
	    cmocka_unit_test(test_ixon),
	    cmocka_unit_test(test_output_processing),
	    cmocka_unit_test(test_tx_backpressure),
	    cmocka_unit_test(test_tx_onlcr_room),
	    cmocka_unit_test(test_drain),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_rx_overflow),
	    cmocka_unit_test(test_baud_table),
	    cmocka_unit_test(test_coding_fields),
	    cmocka_unit_test(test_set_termios_effects),
	    cmocka_unit_test(test_locked_termios),
	    cmocka_unit_test(test_tiocmset),
	    cmocka_unit_test(test_serial_state),
	    cmocka_unit_test(test_modem_levels),
	    cmocka_unit_test(test_line_flow),
	    cmocka_unit_test(test_line_reported),
	    cmocka_unit_test(test_inflight_across_hangup),
	    cmocka_unit_test(test_break_input),
	    cmocka_unit_test(test_hangup),
	    cmocka_unit_test(test_last_close_drops_output),
	    cmocka_unit_test(test_move_buffer_returns_done),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
