/* SPDX-License-Identifier: MIT */
/*
 * tty_core - a pure model of the kernel's n_tty line discipline on top of
 * a cdc-acm port.  Behaviour follows drivers/tty/n_tty.c, tty_ioctl.c and
 * drivers/usb/class/cdc-acm.c where applications can observe it; the
 * places where we differ are commented.
 */
#include "tty_core.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <asm/ioctls.h>
#include <asm/termios.h>

enum waiter_kind { W_READ, W_WRITE, W_DRAIN, W_MIWAIT, W_POLL };

struct waiter {
	struct waiter *next;
	void *token;
	enum waiter_kind kind;
	/* read / write */
	uint8_t *rbuf;
	const uint8_t *wbuf;
	size_t size;
	size_t done;
	/* read timing, captured when the read reaches the head (n_tty takes
	 * VMIN/VTIME after it got the read lock) */
	bool started;
	uint8_t vmin, vtime;
	bool has_deadline;
	uint64_t deadline;
	/* miwait */
	unsigned int mask;
	int dsr, dcd, rng, cts;
};

struct tty_core {
	struct tty_core_ops ops;
	void *user;

	struct termios2 t;
	struct termios2 locked;
	struct serial_line line;
	unsigned int mctrl; /* TIOCM_DTR | TIOCM_RTS we drive */
	uint16_t lines_in;  /* SERIAL_CTS | SERIAL_DSR | SERIAL_RI | SERIAL_DCD */
	struct serial_icounter_struct ic;

	/* rx ring: positions are monotonic byte counts, index = pos % rsize.
	 * [rtail, rcanon) is readable; in canonical mode [rcanon, rhead) is the
	 * line being edited (non-canonical: rcanon == rhead). */
	uint8_t *rbuf;
	uint8_t *delim; /* bitmap: byte ends a canonical line */
	uint8_t *eofm;  /* bitmap: byte is an EOF mark (not returned) */
	size_t rsize;
	size_t rtail, rcanon, rhead, line_start;
	bool lnext;
	unsigned int column, canon_column;

	/* tx ring: tlen queued bytes starting at ttail; inflight pulled, not acked */
	uint8_t *tbuf;
	size_t tsize, ttail, tlen, inflight;
	int xchar;
	bool stopped, tco_stopped;

	struct waiter *readers, *writers, *drains, *miwaits, *polls;
	unsigned int last_mask;

	unsigned int opens;
	bool excl;
	bool hung;
	unsigned int hangup_gen;

	uint64_t now;
	bool dispatching, redo;
	bool kick, rx_freed;
	size_t dropped; /* rx bytes dropped for lack of room, ever */
};

/* ---- small helpers ---------------------------------------------------------- */

/* The kernel's ctype: 0-31 and 127-159 are control characters. */
static bool k_iscntrl(uint8_t ch)
{
	return ch < 32 || (ch >= 127 && ch < 160);
}

/* The kernel's ctype (Latin-1) letters and digits, for WERASE. */
static bool k_isalnum(uint8_t ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
		return true;
	return ch >= 192 && ch != 215 && ch != 247;
}

static bool lflag(const struct tty_core *c, tcflag_t f)
{
	return (c->t.c_lflag & f) != 0;
}

static bool iflag(const struct tty_core *c, tcflag_t f)
{
	return (c->t.c_iflag & f) != 0;
}

static bool oflag(const struct tty_core *c, tcflag_t f)
{
	return (c->t.c_oflag & f) != 0;
}

/* c_cc value 0 is _POSIX_VDISABLE: a disabled slot never matches (n_tty
 * clears __DISABLED_CHAR from its char_map). */
static bool is_cc(const struct tty_core *c, uint8_t ch, int idx)
{
	return c->t.c_cc[idx] != 0 && c->t.c_cc[idx] == ch;
}

static bool is_continuation(const struct tty_core *c, uint8_t ch)
{
	return iflag(c, IUTF8) && (ch & 0xc0) == 0x80;
}

static size_t ridx(const struct tty_core *c, size_t pos)
{
	return pos % c->rsize;
}

static bool bit_get(const uint8_t *map, size_t i)
{
	return (map[i >> 3] >> (i & 7)) & 1;
}

static void bit_put(uint8_t *map, size_t i, bool v)
{
	if (v)
		map[i >> 3] |= (uint8_t)(1u << (i & 7));
	else
		map[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* The icount fields are ints that wrap like the kernel's; add without UB. */
static void ic_add(int *field, size_t n)
{
	*field = (int)(unsigned int)((unsigned int)*field + (unsigned int)n);
}

static size_t tx_room(const struct tty_core *c)
{
	return c->tsize - c->tlen - c->inflight;
}

static void fx_init(struct tty_core_fx *fx)
{
	if (fx)
		memset(fx, 0, sizeof(*fx));
}

static void set_lines(struct tty_core *c, unsigned int mctrl, bool always, struct tty_core_fx *fx)
{
	mctrl &= TIOCM_DTR | TIOCM_RTS;
	if (mctrl == c->mctrl && !always)
		return;
	c->mctrl = mctrl;
	if (fx) {
		fx->flags |= TTY_FX_LINES;
		fx->lines = (uint16_t)(((mctrl & TIOCM_DTR) ? SERIAL_DTR : 0) |
		                       ((mctrl & TIOCM_RTS) ? SERIAL_RTS : 0));
	}
}

/* ---- waiter lists ----------------------------------------------------------- */

static void list_append(struct waiter **head, struct waiter *w)
{
	while (*head)
		head = &(*head)->next;
	w->next = NULL;
	*head = w;
}

static struct waiter *list_take(struct waiter **head, void *token)
{
	for (; *head; head = &(*head)->next) {
		if ((*head)->token == token) {
			struct waiter *w = *head;
			*head = w->next;
			return w;
		}
	}
	return NULL;
}

static void list_free(struct waiter **head)
{
	while (*head) {
		struct waiter *w = *head;
		*head = w->next;
		free(w);
	}
}

static void complete(struct tty_core *c, struct waiter *w, ssize_t result)
{
	void *token = w->token;

	free(w);
	if (c->ops.complete)
		c->ops.complete(token, result, c->user);
}

/* ---- tx queue and output processing ----------------------------------------- */

static void tx_put(struct tty_core *c, uint8_t ch)
{
	c->tbuf[(c->ttail + c->tlen) % c->tsize] = ch;
	c->tlen++;
	c->kick = true;
}

/*
 * OPOST processing of one character (n_tty do_output_char).  Returns the
 * bytes queued (0: consumed without output, ONOCR), or -1 when room is too
 * small, in which case nothing changed.
 */
static int opost_char(struct tty_core *c, uint8_t ch, size_t room)
{
	unsigned int spaces;

	switch (ch) {
	case '\n':
		if (oflag(c, ONLRET))
			c->column = 0;
		if (oflag(c, ONLCR)) {
			if (room < 2)
				return -1;
			c->canon_column = c->column = 0;
			tx_put(c, '\r');
			tx_put(c, '\n');
			return 2;
		}
		c->canon_column = c->column;
		break;
	case '\r':
		if (oflag(c, ONOCR) && c->column == 0)
			return 0;
		if (oflag(c, OCRNL)) {
			ch = '\n';
			if (oflag(c, ONLRET))
				c->canon_column = c->column = 0;
			break;
		}
		c->canon_column = c->column = 0;
		break;
	case '\t':
		spaces = 8 - (c->column & 7);
		if ((c->t.c_oflag & TABDLY) == XTABS) {
			if (room < spaces)
				return -1;
			c->column += spaces;
			for (unsigned int i = 0; i < spaces; i++)
				tx_put(c, ' ');
			return (int)spaces;
		}
		c->column += spaces;
		break;
	case '\b':
		if (c->column > 0)
			c->column--;
		break;
	default:
		if (!k_iscntrl(ch)) {
			if (oflag(c, OLCUC) && ch >= 'a' && ch <= 'z')
				ch = (uint8_t)(ch - 'a' + 'A');
			if (!is_continuation(c, ch))
				c->column++;
		}
		break;
	}
	if (room < 1)
		return -1;
	tx_put(c, ch);
	return 1;
}

/* Echo output goes through OPOST like n_tty's echo buffer.  The kernel keeps
 * echoes in a 4 KiB buffer until the driver has room; we queue them at once
 * and drop an echo that does not fit (the kernel also discards old echoes
 * when its buffer overflows). */
static void echo_raw(struct tty_core *c, uint8_t ch)
{
	if (oflag(c, OPOST))
		(void)opost_char(c, ch, tx_room(c));
	else if (tx_room(c) > 0)
		tx_put(c, ch);
}

/* echo_char: control characters as ^X when ECHOCTL (except TAB). */
static void echo_char(struct tty_core *c, uint8_t ch)
{
	if (lflag(c, ECHOCTL) && k_iscntrl(ch) && ch != '\t') {
		if (tx_room(c) < 2)
			return;
		tx_put(c, '^');
		tx_put(c, ch ^ 0x40);
		c->column += 2;
		return;
	}
	echo_raw(c, ch);
}

static void echo_bs_sp_bs(struct tty_core *c)
{
	echo_raw(c, '\b');
	echo_raw(c, ' ');
	echo_raw(c, '\b');
}

/* ---- rx ring ---------------------------------------------------------------- */

static size_t rx_used(const struct tty_core *c)
{
	return c->rhead - c->rtail;
}

static bool icanon(const struct tty_core *c)
{
	return lflag(c, ICANON) && !lflag(c, EXTPROC);
}

static void rx_reset(struct tty_core *c)
{
	if (rx_used(c))
		c->rx_freed = true;
	c->rtail = c->rcanon = c->rhead = c->line_start = 0;
	c->lnext = false;
}

/* Store one byte at rhead.  delim/eof mark canonical line ends. */
static bool rx_store(struct tty_core *c, uint8_t ch, bool delim, bool eof)
{
	size_t i;

	if (rx_used(c) >= c->rsize) {
		ic_add(&c->ic.buf_overrun, 1);
		c->dropped++;
		return false;
	}
	i = ridx(c, c->rhead);
	c->rbuf[i] = ch;
	bit_put(c->delim, i, delim);
	bit_put(c->eofm, i, eof);
	c->rhead++;
	if (!icanon(c) || delim)
		c->rcanon = c->rhead;
	return true;
}

/* A character for the current line (or for raw input). */
static void rx_put(struct tty_core *c, uint8_t ch)
{
	if (icanon(c)) {
		/* n_tty discards input beyond its line length, and we keep one
		 * slot so that a line delimiter always fits after a long line. */
		if (c->rhead - c->rcanon >= TTY_CORE_MAX_CANON || c->rsize - rx_used(c) < 2) {
			if (c->rsize - rx_used(c) < 2) {
				ic_add(&c->ic.buf_overrun, 1);
				c->dropped++;
			}
			return;
		}
	}
	(void)rx_store(c, ch, false, false);
}

static void start_tty(struct tty_core *c)
{
	if (!c->stopped || c->tco_stopped)
		return;
	c->stopped = false;
	c->kick = true;
}

static void stop_tty(struct tty_core *c)
{
	c->stopped = true;
}

static void flush_output(struct tty_core *c)
{
	c->ttail = 0;
	c->tlen = 0;
}

/* ISIG without a process group to signal (this tty is nobody's controlling
 * terminal): what remains of n_tty's isig() is the flush unless NOFLSH. */
static void isig_flush(struct tty_core *c)
{
	if (!lflag(c, NOFLSH)) {
		rx_reset(c);
		flush_output(c);
	}
}

static void rx_signal_char(struct tty_core *c, uint8_t ch)
{
	isig_flush(c);
	if (iflag(c, IXON))
		start_tty(c);
	if (lflag(c, ECHO))
		echo_char(c, ch);
}

/* Columns to back up over an erased TAB (n_tty echo_erase_tab). */
static void erase_tab(struct tty_core *c)
{
	unsigned int num = 0, nbs;
	bool after_tab = false;
	size_t pos = c->rhead;

	while (pos != c->rcanon) {
		uint8_t ch = c->rbuf[ridx(c, --pos)];

		if (ch == '\t') {
			after_tab = true;
			break;
		} else if (k_iscntrl(ch)) {
			if (lflag(c, ECHOCTL))
				num += 2;
		} else if (!is_continuation(c, ch)) {
			num++;
		}
	}
	if (!after_tab)
		num += c->canon_column;
	nbs = 8 - (num & 7);
	if (nbs > c->column)
		nbs = c->column;
	while (nbs-- && tx_room(c) > 0) {
		tx_put(c, '\b');
		if (c->column > 0)
			c->column--;
	}
}

enum { KILL_ERASE, KILL_WERASE, KILL_LINE };

/* ERASE / WERASE / KILL in canonical mode (n_tty eraser(); ECHOPRT is not
 * implemented: erasure is echoed as with ECHOE). */
static void eraser(struct tty_core *c, uint8_t ch)
{
	int kill_type;
	unsigned int seen_alnums = 0;

	if (c->rhead == c->rcanon)
		return;
	if (is_cc(c, ch, VERASE)) {
		kill_type = KILL_ERASE;
	} else if (is_cc(c, ch, VWERASE)) {
		kill_type = KILL_WERASE;
	} else {
		if (!lflag(c, ECHO)) {
			c->rhead = c->rcanon;
			return;
		}
		if (!lflag(c, ECHOK) || !lflag(c, ECHOKE) || !lflag(c, ECHOE)) {
			c->rhead = c->rcanon;
			echo_char(c, ch);
			if (lflag(c, ECHOK))
				echo_raw(c, '\n');
			return;
		}
		kill_type = KILL_LINE;
	}

	while (c->rhead != c->rcanon) {
		size_t head = c->rhead;
		uint8_t b;

		/* erase a whole (UTF-8) character, never part of one */
		do {
			head--;
			b = c->rbuf[ridx(c, head)];
		} while (is_continuation(c, b) && head != c->rcanon);
		if (is_continuation(c, b))
			break;
		if (kill_type == KILL_WERASE) {
			if (k_isalnum(b) || b == '_')
				seen_alnums++;
			else if (seen_alnums)
				break;
		}
		c->rhead = head;
		if (lflag(c, ECHO)) {
			if (kill_type == KILL_ERASE && !lflag(c, ECHOE)) {
				echo_char(c, c->t.c_cc[VERASE]);
			} else if (b == '\t') {
				erase_tab(c);
			} else {
				if (k_iscntrl(b) && lflag(c, ECHOCTL))
					echo_bs_sp_bs(c);
				if (!k_iscntrl(b) || lflag(c, ECHOCTL))
					echo_bs_sp_bs(c);
			}
		}
		if (kill_type == KILL_ERASE)
			break;
	}
}

/* A line delimiter: '\n', EOL, EOL2, or the EOF mark (stored as NUL like
 * n_tty's __DISABLED_CHAR and never returned to the reader). */
static void rx_newline(struct tty_core *c, uint8_t ch, bool eof)
{
	(void)rx_store(c, ch, true, eof);
}

static void rx_echo_normal(struct tty_core *c, uint8_t ch)
{
	if (!lflag(c, ECHO))
		return;
	if (ch == '\n') {
		echo_raw(c, '\n');
	} else {
		if (c->rcanon == c->rhead)
			c->canon_column = c->column;
		echo_char(c, ch);
	}
}

static void rx_break(struct tty_core *c)
{
	if (iflag(c, IGNBRK))
		return;
	if (iflag(c, BRKINT)) {
		isig_flush(c);
		return;
	}
	if (iflag(c, PARMRK)) {
		rx_put(c, 0xff);
		rx_put(c, 0);
	}
	rx_put(c, 0);
}

/* One received byte (n_tty_receive_char_special and friends). */
static void rx_char(struct tty_core *c, uint8_t ch)
{
	if (iflag(c, ISTRIP))
		ch &= 0x7f;
	if (iflag(c, IUCLC) && lflag(c, IEXTEN) && ch >= 'A' && ch <= 'Z')
		ch = (uint8_t)(ch - 'A' + 'a');
	if (lflag(c, EXTPROC)) {
		rx_put(c, ch);
		return;
	}
	if (c->lnext) {
		/* literal next: no special meaning, no CR/NL mapping */
		c->lnext = false;
		rx_echo_normal(c, ch);
		rx_put(c, ch);
		return;
	}
	if (iflag(c, IXON)) {
		if (is_cc(c, ch, VSTART)) {
			start_tty(c);
			return;
		}
		if (is_cc(c, ch, VSTOP)) {
			stop_tty(c);
			return;
		}
	}
	if (lflag(c, ISIG) && (is_cc(c, ch, VINTR) || is_cc(c, ch, VQUIT) || is_cc(c, ch, VSUSP))) {
		rx_signal_char(c, ch);
		return;
	}
	if (c->stopped && !c->tco_stopped && iflag(c, IXON) && iflag(c, IXANY))
		start_tty(c);
	if (ch == '\r') {
		if (iflag(c, IGNCR))
			return;
		if (iflag(c, ICRNL))
			ch = '\n';
	} else if (ch == '\n' && iflag(c, INLCR)) {
		ch = '\r';
	}
	if (icanon(c)) {
		if (is_cc(c, ch, VERASE) || is_cc(c, ch, VKILL) ||
		    (is_cc(c, ch, VWERASE) && lflag(c, IEXTEN))) {
			eraser(c, ch);
			return;
		}
		if (is_cc(c, ch, VLNEXT) && lflag(c, IEXTEN)) {
			c->lnext = true;
			if (lflag(c, ECHO) && lflag(c, ECHOCTL)) {
				echo_raw(c, '^');
				echo_raw(c, '\b');
			}
			return;
		}
		if (ch == '\n') {
			if (lflag(c, ECHO) || lflag(c, ECHONL))
				echo_raw(c, '\n');
			rx_newline(c, ch, false);
			return;
		}
		if (is_cc(c, ch, VEOF)) {
			rx_newline(c, 0, true);
			return;
		}
		if (is_cc(c, ch, VEOL) || (is_cc(c, ch, VEOL2) && lflag(c, IEXTEN))) {
			if (lflag(c, ECHO)) {
				if (c->rcanon == c->rhead)
					c->canon_column = c->column;
				echo_char(c, ch);
			}
			rx_newline(c, ch, false);
			return;
		}
	}
	rx_echo_normal(c, ch);
	if (ch == 0xff && iflag(c, PARMRK))
		rx_put(c, ch);
	rx_put(c, ch);
}

/* ---- readiness and dispatch --------------------------------------------------- */

static size_t inq_canon(const struct tty_core *c)
{
	size_t n = 0;

	for (size_t pos = c->rtail; pos != c->rcanon; pos++) {
		size_t i = ridx(c, pos);

		if (!(bit_get(c->delim, i) && bit_get(c->eofm, i)))
			n++;
	}
	return n;
}

static unsigned int compute_mask(const struct tty_core *c)
{
	unsigned int mask = 0;

	if (c->hung)
		return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
	if (icanon(c)) {
		if (c->rcanon != c->rtail)
			mask |= POLLIN | POLLRDNORM;
	} else {
		/* n_tty_poll: with VMIN > 0 and VTIME == 0, readable means a
		 * read would not block, i.e. VMIN bytes are there. */
		size_t amt = 1;

		if (c->t.c_cc[VTIME] == 0 && c->t.c_cc[VMIN] > 0)
			amt = c->t.c_cc[VMIN];
		if (c->rhead - c->rtail >= amt)
			mask |= POLLIN | POLLRDNORM;
	}
	/* n_tty: writable when the driver has room and less than WAKEUP_CHARS
	 * (256) are queued.  Our queue is larger than cdc-acm's URB pool, so
	 * the hysteresis is half of it rather than a fixed 256. */
	if (tx_room(c) > 0 && c->tlen + c->inflight < c->tsize / 2 && !c->writers)
		mask |= POLLOUT | POLLWRNORM;
	return mask;
}

/*
 * Advance a read.  Returns true when it is finished (result in w->done).
 * n_tty_read: canonical reads return one line (or what fits); raw reads
 * copy what is there and finish at VMIN bytes, at the buffer size, or when
 * the timer (VTIME) runs out; VMIN == 0 && VTIME == 0 never waits.
 */
static bool reader_step(struct tty_core *c, struct waiter *w)
{
	if (!w->started) {
		w->started = true;
		w->vmin = c->t.c_cc[VMIN];
		w->vtime = c->t.c_cc[VTIME];
		if (!icanon(c) && w->vmin == 0 && w->vtime > 0) {
			w->has_deadline = true;
			w->deadline = c->now + (uint64_t)w->vtime * 100000u;
		}
		if (icanon(c)) {
			/* n_tty: a canonical read has no timer and, should the mode
			 * change under it, returns after the first bytes */
			w->vmin = 1;
			w->vtime = 0;
		}
	}
	if (c->hung || w->done == w->size)
		return true;
	if (icanon(c)) {
		while (c->rcanon != c->rtail) {
			size_t copied = 0;
			bool real_eof = false, consumed_mark = false;

			while (c->rtail != c->rcanon && w->done < w->size) {
				size_t i = ridx(c, c->rtail);
				bool delim = bit_get(c->delim, i);

				if (delim && bit_get(c->eofm, i)) {
					/* An EOF mark after part of its line was read
					 * only pushed that data (n_tty eof_push). */
					real_eof = copied == 0 && c->rtail == c->line_start;
					c->rtail++;
					c->line_start = c->rtail;
					consumed_mark = true;
					break;
				}
				w->rbuf[w->done++] = c->rbuf[i];
				copied++;
				c->rtail++;
				if (delim) {
					c->line_start = c->rtail;
					break;
				}
			}
			if (copied || consumed_mark)
				c->rx_freed = true;
			if (copied || real_eof || w->done == w->size)
				return true;
		}
	} else {
		size_t avail = c->rcanon - c->rtail;
		size_t n = w->size - w->done;
		size_t minimum = w->vmin ? w->vmin : 1;

		if (n > avail)
			n = avail;
		for (size_t k = 0; k < n; k++)
			w->rbuf[w->done + k] = c->rbuf[ridx(c, c->rtail + k)];
		c->rtail += n;
		w->done += n;
		if (n) {
			c->rx_freed = true;
			c->line_start = c->rtail;
		}
		if (w->done >= minimum || w->done == w->size)
			return true;
		if (w->vmin == 0 && w->vtime == 0)
			return true;
		if (n && w->vmin > 0 && w->vtime > 0) {
			/* inter-byte timer, restarted by every arrival */
			w->has_deadline = true;
			w->deadline = c->now + (uint64_t)w->vtime * 100000u;
		}
	}
	/* n_tty keeps the timeout of the read even if ICANON changes meanwhile */
	return w->has_deadline && c->now >= w->deadline;
}

/* Feed a write into the tx queue; true when all of it was consumed. */
static bool writer_step(struct tty_core *c, struct waiter *w)
{
	while (w->done < w->size) {
		uint8_t ch = w->wbuf[w->done];

		if (oflag(c, OPOST)) {
			if (opost_char(c, ch, tx_room(c)) < 0)
				break;
		} else {
			if (tx_room(c) == 0)
				break;
			tx_put(c, ch);
		}
		w->done++;
	}
	return w->done == w->size;
}

static bool miwait_fired(const struct tty_core *c, const struct waiter *w)
{
	return ((w->mask & TIOCM_DSR) && w->dsr != c->ic.dsr) ||
	       ((w->mask & TIOCM_CD) && w->dcd != c->ic.dcd) ||
	       ((w->mask & TIOCM_RI) && w->rng != c->ic.rng) ||
	       ((w->mask & TIOCM_CTS) && w->cts != c->ic.cts);
}

/* Serve everything that can make progress, then report readiness.  Runs
 * again if a callback changed the state (re-entrant calls only set redo). */
static void dispatch(struct tty_core *c)
{
	if (c->dispatching) {
		c->redo = true;
		return;
	}
	c->dispatching = true;
	do {
		struct waiter *w;
		unsigned int mask, gained;

		c->redo = false;
		while ((w = c->readers) && reader_step(c, w)) {
			c->readers = w->next;
			complete(c, w, (ssize_t)w->done);
		}
		while ((w = c->writers) && writer_step(c, w)) {
			c->writers = w->next;
			complete(c, w, (ssize_t)w->done);
		}
		while ((w = c->drains) && c->tlen + c->inflight == 0) {
			c->drains = w->next;
			complete(c, w, 0);
		}
		for (struct waiter **pp = &c->miwaits; *pp;) {
			w = *pp;
			if (miwait_fired(c, w)) {
				*pp = w->next;
				complete(c, w, 0);
				/* the callback may have edited the list */
				pp = &c->miwaits;
				continue;
			}
			pp = &w->next;
		}
		if (c->kick && tty_core_tx_ready(c) > 0) {
			c->kick = false;
			if (c->ops.tx_kick)
				c->ops.tx_kick(c->user);
		}
		if (c->rx_freed) {
			c->rx_freed = false;
			if (c->ops.rx_space)
				c->ops.rx_space(tty_core_rx_room(c), c->user);
		}
		/* A poller sleeps until an event it asked for is true, so only a
		 * bit that comes up wakes it; one that goes away (a read emptying
		 * the queue) would cost each poller a wakeup and a poll for
		 * nothing (n_tty wakes read_wait on input, write_wait on room). */
		mask = compute_mask(c);
		gained = mask & ~c->last_mask;
		c->last_mask = mask;
		if (gained) {
			while ((w = c->polls)) {
				void *token = w->token;

				c->polls = w->next;
				free(w);
				if (c->ops.poll_notify)
					c->ops.poll_notify(token, mask, c->user);
			}
		}
	} while (c->redo);
	c->dispatching = false;
}

static void set_now(struct tty_core *c, uint64_t now)
{
	if (now > c->now)
		c->now = now;
}

/* ---- termios ---------------------------------------------------------------- */

static const uint32_t baud_table[] = {
    0,      50,      75,      110,     134,     150,     200,     300,     600,     1200,   1800,
    2400,   4800,    9600,    19200,   38400,   57600,   115200,  230400,  460800,  500000, 576000,
    921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
};

static uint32_t cbaud_rate(tcflag_t cbaud)
{
	size_t i = cbaud & ~(tcflag_t)CBAUDEX;

	if (cbaud & CBAUDEX) {
		if (i == 0) /* BOTHER: handled by the callers */
			return 0;
		i += 15;
	}
	return i < sizeof(baud_table) / sizeof(baud_table[0]) ? baud_table[i] : 0;
}

uint32_t tty_core_termios_baud(const struct termios2 *t)
{
	tcflag_t cbaud = t->c_cflag & CBAUD;

	if (cbaud == BOTHER)
		return t->c_ospeed;
	return cbaud_rate(cbaud);
}

uint32_t tty_core_termios_ibaud(const struct termios2 *t)
{
	tcflag_t cbaud = (t->c_cflag >> IBSHIFT) & CBAUD;

	if (cbaud == B0) /* input speed follows the output speed */
		return tty_core_termios_baud(t);
	if (cbaud == BOTHER)
		return t->c_ispeed;
	return cbaud_rate(cbaud);
}

int tty_core_termios_to_line(const struct termios2 *t, struct serial_line *l)
{
	static const uint8_t bits[] = {
	    [CS5 >> 4] = 5, [CS6 >> 4] = 6, [CS7 >> 4] = 7, [CS8 >> 4] = 8};
	tcflag_t cf = t->c_cflag;
	uint32_t rate = tty_core_termios_baud(t);

	if (rate == 0)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->baud = rate;
	/* cdc-acm sends 2 stop bits for CSTOPB even with CS5 (CDC's 1.5) */
	l->stop_bits = (cf & CSTOPB) ? SERIAL_STOP_2 : SERIAL_STOP_1;
	if (!(cf & PARENB))
		l->parity = SERIAL_PARITY_NONE;
	else if (cf & CMSPAR)
		l->parity = (cf & PARODD) ? SERIAL_PARITY_MARK : SERIAL_PARITY_SPACE;
	else
		l->parity = (cf & PARODD) ? SERIAL_PARITY_ODD : SERIAL_PARITY_EVEN;
	l->data_bits = bits[(cf & CSIZE) >> 4];
	l->flow = (uint8_t)(((cf & CRTSCTS) ? SERIAL_FLOW_RTSCTS : 0) |
	                    ((t->c_iflag & IXON) ? SERIAL_FLOW_IXON : 0) |
	                    ((t->c_iflag & IXOFF) ? SERIAL_FLOW_IXOFF : 0));
	l->xon = t->c_cc[VSTART];
	l->xoff = t->c_cc[VSTOP];
	return 0;
}

static void default_termios(struct termios2 *t)
{
	/* tty_std_termios as adjusted by cdc-acm: 9600 8N1, CREAD HUPCL CLOCAL */
	static const uint8_t cc[NCCS] = {
	    [VINTR] = 3,   [VQUIT] = 28, [VERASE] = 127,  [VKILL] = 21,    [VEOF] = 4,
	    [VTIME] = 0,   [VMIN] = 1,   [VSWTC] = 0,     [VSTART] = 17,   [VSTOP] = 19,
	    [VSUSP] = 26,  [VEOL] = 0,   [VREPRINT] = 18, [VDISCARD] = 15, [VWERASE] = 23,
	    [VLNEXT] = 22, [VEOL2] = 0,
	};

	memset(t, 0, sizeof(*t));
	t->c_iflag = ICRNL | IXON;
	t->c_oflag = OPOST | ONLCR;
	t->c_cflag = B9600 | CS8 | CREAD | HUPCL | CLOCAL;
	t->c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
	memcpy(t->c_cc, cc, NCCS);
	t->c_ispeed = t->c_ospeed = 9600;
}

void tty_core_get_termios(const struct tty_core *c, struct termios2 *t)
{
	*t = c->t;
}

void tty_core_get_locked(const struct tty_core *c, struct termios2 *t)
{
	*t = c->locked;
}

void tty_core_set_locked(struct tty_core *c, const struct termios2 *t)
{
	c->locked = *t;
}

void tty_core_get_line(const struct tty_core *c, struct serial_line *l)
{
	*l = c->line;
}

/* The CBAUD code of a standard rate within tol bit/s of rate, else BOTHER. */
static tcflag_t rate_code(uint32_t rate, uint32_t tol)
{
	for (size_t i = 1; i < sizeof(baud_table) / sizeof(baud_table[0]); i++) {
		uint32_t b = baud_table[i];
		if ((rate >= b ? rate - b : b - rate) <= tol)
			return i < 16 ? (tcflag_t)i : CBAUDEX | (tcflag_t)(i - 15);
	}
	return BOTHER;
}

void tty_core_line_reported(struct tty_core *c, const struct serial_line *rep)
{
	static const tcflag_t csize[] = {[5] = CS5, [6] = CS6, [7] = CS7, [8] = CS8};
	struct termios2 *t = &c->t;
	struct serial_line asked = c->line;

	c->line = *rep;
	if (rep->data_bits != asked.data_bits && rep->data_bits >= 5 && rep->data_bits <= 8)
		t->c_cflag = (t->c_cflag & ~(tcflag_t)CSIZE) | csize[rep->data_bits];
	if (rep->parity != asked.parity) {
		t->c_cflag &= ~(tcflag_t)(PARENB | PARODD | CMSPAR);
		if (rep->parity != SERIAL_PARITY_NONE)
			t->c_cflag |= PARENB;
		if (rep->parity == SERIAL_PARITY_ODD || rep->parity == SERIAL_PARITY_MARK)
			t->c_cflag |= PARODD;
		if (rep->parity == SERIAL_PARITY_MARK || rep->parity == SERIAL_PARITY_SPACE)
			t->c_cflag |= CMSPAR;
	}
	if (rep->stop_bits != asked.stop_bits)
		t->c_cflag = rep->stop_bits == SERIAL_STOP_1 ? t->c_cflag & ~(tcflag_t)CSTOPB
		                                             : t->c_cflag | CSTOPB;
	if ((rep->flow ^ asked.flow) & SERIAL_FLOW_RTSCTS)
		t->c_cflag ^= CRTSCTS;
	if ((rep->flow ^ asked.flow) & SERIAL_FLOW_IXON)
		t->c_iflag ^= IXON;
	if ((rep->flow ^ asked.flow) & SERIAL_FLOW_IXOFF)
		t->c_iflag ^= IXOFF;
	if (rep->baud != asked.baud && rep->baud != 0) {
		/* tty_encode_baud_rate: a precise answer to a BOTHER request; a
		 * standard code within 2% by preference to a Bxxx one.  The input
		 * speed keeps its own bits only when the caller gave them. */
		tcflag_t ocbaud = t->c_cflag & CBAUD, icbaud = (t->c_cflag >> IBSHIFT) & CBAUD;
		tcflag_t ocode = rate_code(rep->baud, ocbaud == BOTHER ? 0 : rep->baud / 50);
		t->c_cflag &= ~(tcflag_t)(CBAUD | (CBAUD << IBSHIFT));
		t->c_cflag |= ocode;
		if (icbaud != B0)
			t->c_cflag |= rate_code(rep->baud, icbaud == BOTHER ? 0 : rep->baud / 50)
			              << IBSHIFT;
		t->c_ispeed = t->c_ospeed = rep->baud;
	}
}

int tty_core_set_termios(struct tty_core *c, const struct termios2 *t, uint64_t now,
                         struct tty_core_fx *fx)
{
	struct termios2 nt = *t, old = c->t;
	struct serial_line line;
	unsigned int mctrl = c->mctrl;

	fx_init(fx);
	set_now(c, now);
	/* unset_locked_termios: locked bits and c_cc slots keep old values */
	nt.c_iflag = (nt.c_iflag & ~c->locked.c_iflag) | (old.c_iflag & c->locked.c_iflag);
	nt.c_oflag = (nt.c_oflag & ~c->locked.c_oflag) | (old.c_oflag & c->locked.c_oflag);
	nt.c_cflag = (nt.c_cflag & ~c->locked.c_cflag) | (old.c_cflag & c->locked.c_cflag);
	nt.c_lflag = (nt.c_lflag & ~c->locked.c_lflag) | (old.c_lflag & c->locked.c_lflag);
	if (c->locked.c_line)
		nt.c_line = old.c_line;
	for (int i = 0; i < NCCS; i++)
		if (c->locked.c_cc[i])
			nt.c_cc[i] = old.c_cc[i];
	/* set_termios makes the speed fields always usable */
	nt.c_ispeed = tty_core_termios_ibaud(&nt);
	nt.c_ospeed = tty_core_termios_baud(&nt);
	c->t = nt;

	if ((old.c_lflag ^ nt.c_lflag) & (ICANON | EXTPROC)) {
		/* n_tty_set_termios: entering canonical mode with pending input
		 * makes it one pushed line; leaving it makes all of it readable. */
		for (size_t pos = c->rtail; pos != c->rhead; pos++) {
			bit_put(c->delim, ridx(c, pos), false);
			bit_put(c->eofm, ridx(c, pos), false);
		}
		c->line_start = c->rtail;
		if (icanon(c) && c->rhead != c->rtail)
			bit_put(c->delim, ridx(c, c->rhead - 1), true);
		c->rcanon = c->rhead;
		c->lnext = false;
	}
	if (!(nt.c_iflag & IXON) && (old.c_iflag & IXON) && !c->tco_stopped)
		start_tty(c);

	/* set_termios of cdc-acm and usb-serial: B0 drops DTR|RTS, leaving B0
	 * raises them, then the line settings go out only when they changed
	 * (B0 keeps the rate). */
	if ((nt.c_cflag & CBAUD) == B0)
		mctrl &= ~(unsigned int)(TIOCM_DTR | TIOCM_RTS);
	else if ((old.c_cflag & CBAUD) == B0)
		mctrl |= TIOCM_DTR | TIOCM_RTS;
	set_lines(c, mctrl, false, fx);

	if (tty_core_termios_to_line(&nt, &line) < 0) {
		/* B0 (or BOTHER with 0): the drivers keep the old rate, a device
		 * cannot run at 0 bit/s; the other fields still come from nt */
		struct termios2 tmp = nt;

		tmp.c_cflag = (tmp.c_cflag & ~(tcflag_t)CBAUD) | BOTHER;
		tmp.c_ospeed = c->line.baud;
		(void)tty_core_termios_to_line(&tmp, &line);
	}
	/* tty_set_termios calls the driver every time; most send nothing when
	 * the line settings did not change (line_same), ch341 nothing when no
	 * c_cflag bit but HUPCL and no speed changed (tty_termios_hw_change) */
	if (fx) {
		fx->flags |= TTY_FX_LINE;
		fx->line = line;
		fx->line_same = memcmp(&line, &c->line, sizeof(line)) == 0;
		fx->hw_same = nt.c_ispeed == old.c_ispeed && nt.c_ospeed == old.c_ospeed &&
		              !((nt.c_cflag ^ old.c_cflag) & ~(tcflag_t)HUPCL);
	}
	c->line = line;
	dispatch(c);
	return 0;
}

/* ---- lifecycle -------------------------------------------------------------- */

int tty_core_new(struct tty_core **out, const struct tty_core_config *cfg)
{
	struct tty_core *c;
	size_t rs = TTY_CORE_RX_DEFAULT, ts = TTY_CORE_TX_DEFAULT;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (cfg && cfg->rx_size)
		rs = cfg->rx_size;
	if (cfg && cfg->tx_size)
		ts = cfg->tx_size;
	/* a tab expanded by XTABS needs 8 bytes of tx room at once */
	if (rs < 16 || ts < 16 || rs > (1u << 30) || ts > (1u << 30))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->rsize = rs;
	c->tsize = ts;
	c->rbuf = malloc(rs);
	c->delim = calloc(1, (rs + 7) / 8);
	c->eofm = calloc(1, (rs + 7) / 8);
	c->tbuf = malloc(ts);
	if (!c->rbuf || !c->delim || !c->eofm || !c->tbuf) {
		tty_core_free(c);
		return -ENOMEM;
	}
	if (cfg && cfg->ops)
		c->ops = *cfg->ops;
	if (cfg) {
		c->user = cfg->user;
		c->lines_in = cfg->lines_in & SERIAL_IN_MASK;
	}
	default_termios(&c->t);
	(void)tty_core_termios_to_line(&c->t, &c->line);
	c->xchar = -1;
	c->last_mask = compute_mask(c);
	*out = c;
	return 0;
}

void tty_core_free(struct tty_core *c)
{
	if (!c)
		return;
	list_free(&c->readers);
	list_free(&c->writers);
	list_free(&c->drains);
	list_free(&c->miwaits);
	list_free(&c->polls);
	free(c->rbuf);
	free(c->delim);
	free(c->eofm);
	free(c->tbuf);
	free(c);
}

int tty_core_open(struct tty_core *c, bool cap_sys_admin, uint64_t now, struct tty_core_fx *fx)
{
	fx_init(fx);
	set_now(c, now);
	if (c->opens > 0 && c->excl && !cap_sys_admin)
		return -EBUSY;
	if (c->opens == 0) {
		/* a fresh tty: new n_tty buffers, flow restarted */
		rx_reset(c);
		c->stopped = c->tco_stopped = false;
	}
	/* A new open works even after a hangup; files opened before it are
	 * told apart by the hangup generation. */
	c->hung = false;
	c->opens++;
	if (fx) {
		fx->flags |= TTY_FX_OPEN;
		fx->line = c->line;
	}
	if ((c->t.c_cflag & CBAUD) != B0)
		set_lines(c, c->mctrl | TIOCM_DTR | TIOCM_RTS, true, fx);
	dispatch(c);
	return (int)c->opens;
}

int tty_core_close(struct tty_core *c, uint64_t now, struct tty_core_fx *fx)
{
	fx_init(fx);
	set_now(c, now);
	if (c->opens == 0)
		return -EINVAL;
	c->opens--;
	if (c->opens == 0) {
		c->excl = false;
		rx_reset(c);
		/* the close drained what closing_wait allowed; the rest is
		 * dropped (tty_port_shutdown; the owner cancels what is in
		 * flight when it hears of the last close) */
		flush_output(c);
		c->xchar = -1;
		/* tty_port_shutdown: dtr_rts(0), whatever the lines were */
		if (c->t.c_cflag & HUPCL)
			set_lines(c, 0, true, fx);
		dispatch(c);
	}
	return (int)c->opens;
}

unsigned int tty_core_open_count(const struct tty_core *c)
{
	return c->opens;
}

void tty_core_set_excl(struct tty_core *c, bool excl)
{
	c->excl = excl;
}

bool tty_core_excl(const struct tty_core *c)
{
	return c->excl;
}

void tty_core_hangup(struct tty_core *c, uint64_t now)
{
	struct waiter *w;

	set_now(c, now);
	c->hung = true;
	c->hangup_gen++;
	rx_reset(c);
	/* queued output goes; bytes in flight stay counted until the device
	 * side reports each of them done or lost (exactly once) */
	flush_output(c);
	c->xchar = -1;
	c->stopped = c->tco_stopped = false;
	/* re-entrant calls from the callbacks below are deferred to dispatch */
	c->dispatching = true;
	while ((w = c->readers)) {
		c->readers = w->next;
		complete(c, w, (ssize_t)w->done);
	}
	while ((w = c->writers)) {
		c->writers = w->next;
		complete(c, w, w->done ? (ssize_t)w->done : -EIO);
	}
	while ((w = c->drains)) {
		c->drains = w->next;
		complete(c, w, -EIO);
	}
	while ((w = c->miwaits)) {
		/* cdc-acm: a disconnect satisfies a wait for carrier changes */
		c->miwaits = w->next;
		complete(c, w, (w->mask & TIOCM_CD) ? 0 : -EIO);
	}
	c->dispatching = false;
	dispatch(c);
}

void tty_core_unhangup(struct tty_core *c, uint64_t now)
{
	set_now(c, now);
	c->hung = false;
	dispatch(c);
}

bool tty_core_hung_up(const struct tty_core *c)
{
	return c->hung;
}

unsigned int tty_core_hangup_gen(const struct tty_core *c)
{
	return c->hangup_gen;
}

/* ---- input ------------------------------------------------------------------ */

size_t tty_core_rx(struct tty_core *c, const uint8_t *data, size_t len, uint64_t now)
{
	size_t before = c->dropped;

	set_now(c, now);
	if (c->hung || !data)
		return len;
	ic_add(&c->ic.rx, len);
	for (size_t i = 0; i < len; i++) {
		/* let a pending reader make room before dropping anything */
		if (rx_used(c) >= c->rsize - 1 && c->readers)
			dispatch(c);
		rx_char(c, data[i]);
	}
	dispatch(c);
	return c->dropped - before;
}

size_t tty_core_rx_room(const struct tty_core *c)
{
	return c->rsize - rx_used(c);
}

size_t tty_core_inq(const struct tty_core *c)
{
	if (icanon(c))
		return inq_canon(c);
	return c->rhead - c->rtail;
}

/* A read or write that could not finish at once: a non-blocking caller gets
 * what was done (or -EAGAIN); a blocking one is queued on *list. */
static ssize_t park(struct tty_core *c, struct waiter **list, const struct waiter *tmp,
                    bool nonblock)
{
	struct waiter *w = nonblock ? NULL : malloc(sizeof(*w));
	if (!w) {
		dispatch(c);
		return tmp->done ? (ssize_t)tmp->done : nonblock ? -EAGAIN : -ENOMEM;
	}
	*w = *tmp;
	list_append(list, w);
	dispatch(c);
	return TTY_CORE_PENDING;
}

ssize_t tty_core_read(struct tty_core *c, void *token, uint8_t *buf, size_t size, bool nonblock,
                      uint64_t now)
{
	struct waiter tmp, *w;

	set_now(c, now);
	if (size == 0 || c->hung)
		return 0;
	if (!buf)
		return -EINVAL;
	if (c->readers) {
		/* n_tty serialises readers; O_NONBLOCK fails the trylock */
		if (nonblock)
			return -EAGAIN;
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->token = token;
		w->kind = W_READ;
		w->rbuf = buf;
		w->size = size;
		list_append(&c->readers, w);
		return TTY_CORE_PENDING;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.kind = W_READ;
	tmp.token = token;
	tmp.rbuf = buf;
	tmp.size = size;
	if (reader_step(c, &tmp)) {
		dispatch(c);
		return (ssize_t)tmp.done;
	}
	return park(c, &c->readers, &tmp, nonblock);
}

void tty_core_tick(struct tty_core *c, uint64_t now)
{
	set_now(c, now);
	dispatch(c);
}

bool tty_core_next_deadline(const struct tty_core *c, uint64_t *deadline)
{
	const struct waiter *w = c->readers;

	if (!w || !w->started || !w->has_deadline)
		return false;
	if (deadline)
		*deadline = w->deadline;
	return true;
}

/* ---- output ----------------------------------------------------------------- */

ssize_t tty_core_write(struct tty_core *c, void *token, const uint8_t *data, size_t len,
                       bool nonblock, uint64_t now)
{
	struct waiter tmp;

	set_now(c, now);
	if (c->hung)
		return -EIO;
	if (len == 0)
		return 0;
	if (!data)
		return -EINVAL;
	memset(&tmp, 0, sizeof(tmp));
	tmp.kind = W_WRITE;
	tmp.token = token;
	tmp.wbuf = data;
	tmp.size = len;
	if (c->writers) {
		/* tty_write_lock: O_NONBLOCK fails when another write holds it */
		if (nonblock)
			return -EAGAIN;
	} else if (writer_step(c, &tmp)) {
		dispatch(c);
		return (ssize_t)len;
	}
	return park(c, &c->writers, &tmp, nonblock);
}

size_t tty_core_tx_ready(const struct tty_core *c)
{
	size_t n = c->xchar >= 0 ? 1 : 0;

	if (!c->stopped)
		n += c->tlen;
	return n;
}

size_t tty_core_tx_pull(struct tty_core *c, uint8_t *buf, size_t max, uint64_t now)
{
	size_t n = 0;

	set_now(c, now);
	if (!buf || max == 0)
		return 0;
	/* a START/STOP character jumps the queue and ignores ^S (send_xchar) */
	if (c->xchar >= 0) {
		buf[n++] = (uint8_t)c->xchar;
		c->xchar = -1;
	}
	if (!c->stopped) {
		while (n < max && c->tlen) {
			buf[n++] = c->tbuf[c->ttail];
			c->ttail = (c->ttail + 1) % c->tsize;
			c->tlen--;
		}
	}
	c->inflight += n;
	dispatch(c);
	return n;
}

void tty_core_tx_ack(struct tty_core *c, size_t n, uint64_t now)
{
	set_now(c, now);
	if (n > c->inflight)
		n = c->inflight;
	c->inflight -= n;
	ic_add(&c->ic.tx, n);
	dispatch(c);
}

size_t tty_core_outq(const struct tty_core *c)
{
	return c->tlen + c->inflight;
}

int tty_core_drain(struct tty_core *c, void *token, uint64_t now)
{
	struct waiter *w;

	set_now(c, now);
	if (c->hung)
		return -EIO;
	if (c->tlen + c->inflight == 0)
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->token = token;
	w->kind = W_DRAIN;
	list_append(&c->drains, w);
	return TTY_CORE_PENDING;
}

int tty_core_flush(struct tty_core *c, int queue, uint64_t now, struct tty_core_fx *fx)
{
	fx_init(fx);
	set_now(c, now);
	if (queue != TCIFLUSH && queue != TCOFLUSH && queue != TCIOFLUSH)
		return -EINVAL;
	if (queue != TCOFLUSH) {
		rx_reset(c);
		if (c->ops.rx_flush)
			c->ops.rx_flush(c->user);
		if (fx)
			fx->flags |= TTY_FX_FLUSH_RX;
	}
	if (queue != TCIFLUSH) {
		flush_output(c);
		if (fx)
			fx->flags |= TTY_FX_FLUSH_TX;
	}
	dispatch(c);
	return 0;
}

int tty_core_flow(struct tty_core *c, int action, uint64_t now)
{
	set_now(c, now);
	switch (action) {
	case TCOOFF:
		if (!c->tco_stopped) {
			c->tco_stopped = true;
			c->stopped = true;
		}
		break;
	case TCOON:
		if (c->tco_stopped) {
			c->tco_stopped = false;
			start_tty(c);
		}
		break;
	case TCIOFF:
	case TCION: {
		uint8_t ch = c->t.c_cc[action == TCIOFF ? VSTOP : VSTART];

		if (ch != 0) {
			c->xchar = ch;
			c->kick = true;
		}
		break;
	}
	default:
		return -EINVAL;
	}
	dispatch(c);
	return 0;
}

/* ---- cancel / poll ---------------------------------------------------------- */

ssize_t tty_core_cancel(struct tty_core *c, void *token, uint64_t now)
{
	struct waiter *w;
	ssize_t r;

	set_now(c, now);
	if ((w = list_take(&c->readers, token)) || (w = list_take(&c->writers, token))) {
		r = w->done ? (ssize_t)w->done : -EINTR;
	} else if ((w = list_take(&c->drains, token)) || (w = list_take(&c->miwaits, token))) {
		r = -EINTR;
	} else if ((w = list_take(&c->polls, token))) {
		r = 0;
	} else {
		return -ENOENT;
	}
	free(w);
	/* the next read or write may now make progress */
	dispatch(c);
	return r;
}

ssize_t tty_core_move_buffer(struct tty_core *c, void *token, void *buf)
{
	for (struct waiter *w = c->readers; w; w = w->next) {
		if (w->token == token) {
			w->rbuf = buf;
			return (ssize_t)w->done;
		}
	}
	for (struct waiter *w = c->writers; w; w = w->next) {
		if (w->token == token) {
			w->wbuf = buf;
			return (ssize_t)w->done;
		}
	}
	return -ENOENT;
}

unsigned int tty_core_poll(struct tty_core *c, void *token)
{
	unsigned int mask = compute_mask(c);

	c->last_mask = mask;
	if (token) {
		/* a token registered again keeps a single record */
		struct waiter *w = list_take(&c->polls, token);

		if (!w)
			w = calloc(1, sizeof(*w));
		if (w) {
			w->token = token;
			w->kind = W_POLL;
			list_append(&c->polls, w);
		}
	}
	return mask;
}

/* ---- modem lines ------------------------------------------------------------ */

unsigned int tty_core_tiocmget(const struct tty_core *c)
{
	uint16_t in = c->lines_in;

	return c->mctrl | ((in & SERIAL_CTS) ? TIOCM_CTS : 0) |
	       ((in & SERIAL_DSR) ? TIOCM_DSR : 0) | ((in & SERIAL_RI) ? TIOCM_RI : 0) |
	       ((in & SERIAL_DCD) ? TIOCM_CD : 0);
}

int tty_core_tiocmset(struct tty_core *c, unsigned int set, unsigned int clear, uint64_t now,
                      struct tty_core_fx *fx)
{
	fx_init(fx);
	set_now(c, now);
	/* The drivers see every TIOCMSET/BIS/BIC that touches DTR or RTS, the
	 * usb-serial ones send it even unchanged (cdc-acm does not: lines_same) */
	unsigned int was = c->mctrl;
	set_lines(c, (c->mctrl & ~clear) | set, ((set | clear) & (TIOCM_DTR | TIOCM_RTS)) != 0, fx);
	if (fx)
		fx->lines_same = c->mctrl == was;
	return 0;
}

int tty_core_modem_status(struct tty_core *c, const struct serial_status *st, uint64_t now)
{
	uint16_t in = st->has_lines ? (uint16_t)(st->lines & SERIAL_IN_MASK) : c->lines_in;
	uint16_t diff = c->lines_in ^ in;
	uint16_t ev = st->events;
	int ret = 0;

	set_now(c, now);
	if ((diff & SERIAL_DCD) && !(in & SERIAL_DCD) && !(c->t.c_cflag & CLOCAL))
		ret = TTY_CORE_SS_HANGUP;
	c->lines_in = in;
	/* levels count their changes; events (and a CDC ring indication)
	 * count every report that has them */
	if (diff & SERIAL_DSR)
		ic_add(&c->ic.dsr, 1);
	if (diff & SERIAL_DCD)
		ic_add(&c->ic.dcd, 1);
	if (diff & SERIAL_CTS)
		ic_add(&c->ic.cts, 1);
	if (st->ri_event ? (st->has_lines && (in & SERIAL_RI)) : (diff & SERIAL_RI) != 0)
		ic_add(&c->ic.rng, 1);
	if (ev & SERIAL_EV_BREAK) {
		ic_add(&c->ic.brk, 1);
		if (!c->hung)
			rx_break(c);
	}
	if (ev & SERIAL_EV_FRAMING)
		ic_add(&c->ic.frame, 1);
	if (ev & SERIAL_EV_PARITY)
		ic_add(&c->ic.parity, 1);
	if (ev & SERIAL_EV_OVERRUN)
		ic_add(&c->ic.overrun, 1);
	dispatch(c);
	return ret;
}

int tty_core_miwait(struct tty_core *c, void *token, unsigned int mask, uint64_t now)
{
	struct waiter *w;

	set_now(c, now);
	if (c->hung)
		return -EIO;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->token = token;
	w->kind = W_MIWAIT;
	w->mask = mask;
	w->dsr = c->ic.dsr;
	w->dcd = c->ic.dcd;
	w->rng = c->ic.rng;
	w->cts = c->ic.cts;
	list_append(&c->miwaits, w);
	return TTY_CORE_PENDING;
}

void tty_core_icount(const struct tty_core *c, struct serial_icounter_struct *ic)
{
	*ic = c->ic;
}
