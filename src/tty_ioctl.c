/* SPDX-License-Identifier: MIT */
/*
 * tty_ioctl - request table and handlers.  Semantics follow the kernel's
 * tty_io.c / tty_ioctl.c / n_tty.c with cdc-acm as the driver, so that a
 * program sees what it would see on /dev/ttyACM*.
 */
#include "tty_ioctl.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <asm/ioctls.h>
#include <linux/serial.h>
#include <linux/tty.h>

void tty_ioctl_dev_init(struct tty_ioctl_dev *d, struct tty_core *core, int line,
                        int xmit_fifo_size)
{
	memset(d, 0, sizeof(*d));
	d->core = core;
	d->line = line;
	d->xmit_fifo_size = xmit_fifo_size;
	d->close_delay = 50;    /* tty_port_init: HZ / 2 */
	d->closing_wait = 3000; /* tty_port_init: 30 * HZ */
}

/* ---- helpers ---------------------------------------------------------------- */

static void reply(struct tty_ioctl_result *res, int ret)
{
	res->action = TTY_IOCTL_REPLY;
	res->ret = ret;
}

static void reply_int(const struct tty_ioctl_req *r, struct tty_ioctl_result *res, int v)
{
	memcpy(r->out, &v, sizeof(v));
	res->out_len = sizeof(v);
	reply(res, 0);
}

static int in_int(const struct tty_ioctl_req *r)
{
	int v;

	memcpy(&v, r->in, sizeof(v));
	return v;
}

static int clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* Accumulate device actions of several core calls (fields of set flags). */
static void fx_merge(struct tty_core_fx *dst, const struct tty_core_fx *src)
{
	if (src->flags & TTY_FX_LINES) {
		dst->lines = src->lines;
		dst->lines_same = src->lines_same;
	}
	if (src->flags & TTY_FX_LINE) {
		dst->line = src->line;
		dst->line_same = src->line_same;
		dst->hw_same = src->hw_same;
	}
	if (src->flags & TTY_FX_BREAK)
		dst->break_ms = src->break_ms;
	dst->flags |= src->flags;
}

/* tty_wait_until_sent before the action: defer while output is pending. */
static bool need_drain(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	if (r->phase == TTY_IOCTL_START && tty_core_outq(d->core) > 0) {
		res->action = TTY_IOCTL_WAIT_DRAIN;
		return true;
	}
	return false;
}

/* ---- termios ---------------------------------------------------------------- */

static void h_tcgets(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res)
{
	struct termios2 t;

	tty_core_get_termios(d->core, &t);
	/* struct termios is the first 36 bytes of struct termios2 */
	memcpy(r->out, &t, sizeof(struct termios));
	res->out_len = sizeof(struct termios);
	reply(res, 0);
}

static void h_tcgets2(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                      struct tty_ioctl_result *res)
{
	struct termios2 t;

	tty_core_get_termios(d->core, &t);
	memcpy(r->out, &t, sizeof(t));
	res->out_len = sizeof(t);
	reply(res, 0);
}

static void h_tcgeta(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res)
{
	struct termios2 t;
	struct termio o;

	tty_core_get_termios(d->core, &t);
	memset(&o, 0, sizeof(o));
	/* kernel_termios_to_user_termio: low 16 bits of each flag word */
	o.c_iflag = (unsigned short)t.c_iflag;
	o.c_oflag = (unsigned short)t.c_oflag;
	o.c_cflag = (unsigned short)t.c_cflag;
	o.c_lflag = (unsigned short)t.c_lflag;
	o.c_line = t.c_line;
	memcpy(o.c_cc, t.c_cc, NCC);
	memcpy(r->out, &o, sizeof(o));
	res->out_len = sizeof(o);
	reply(res, 0);
}

enum { LAYOUT_TERMIOS, LAYOUT_TERMIOS2, LAYOUT_TERMIO };
#define OPT_WAIT  1
#define OPT_FLUSH 2

/* set_termios(): flush input (TCSETSF), wait for output (TCSETSW/F), set. */
static void set_termios(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                        struct tty_ioctl_result *res, int layout, int opt)
{
	struct termios2 t;
	struct tty_core_fx fx;

	if (r->phase == TTY_IOCTL_START && (opt & OPT_FLUSH)) {
		(void)tty_core_flush(d->core, TCIFLUSH, r->now, &fx);
		fx_merge(&res->fx, &fx);
	}
	if ((opt & OPT_WAIT) && need_drain(d, r, res))
		return;

	tty_core_get_termios(d->core, &t);
	switch (layout) {
	case LAYOUT_TERMIOS:
		/* the speeds stay those of the current termios; tty_core then
		 * recomputes them from CBAUD unless BOTHER */
		memcpy(&t, r->in, sizeof(struct termios));
		break;
	case LAYOUT_TERMIOS2:
		memcpy(&t, r->in, sizeof(struct termios2));
		break;
	default: {
		struct termio o;

		/* user_termio_to_kernel_termios: replace the low 16 bits only */
		memcpy(&o, r->in, sizeof(o));
		t.c_iflag = (t.c_iflag & 0xffff0000u) | o.c_iflag;
		t.c_oflag = (t.c_oflag & 0xffff0000u) | o.c_oflag;
		t.c_cflag = (t.c_cflag & 0xffff0000u) | o.c_cflag;
		t.c_lflag = (t.c_lflag & 0xffff0000u) | o.c_lflag;
		t.c_line = o.c_line;
		memcpy(t.c_cc, o.c_cc, NCC);
		break;
	}
	}
	(void)tty_core_set_termios(d->core, &t, r->now, &fx);
	fx_merge(&res->fx, &fx);
	reply(res, 0);
}

#define SETTER(fn, layout, opt)                                                                    \
	static void fn(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,                     \
	               struct tty_ioctl_result *res)                                               \
	{                                                                                          \
		set_termios(d, r, res, layout, opt);                                               \
	}
SETTER(h_tcsets, LAYOUT_TERMIOS, 0)
SETTER(h_tcsetsw, LAYOUT_TERMIOS, OPT_WAIT)
SETTER(h_tcsetsf, LAYOUT_TERMIOS, OPT_WAIT | OPT_FLUSH)
SETTER(h_tcsets2, LAYOUT_TERMIOS2, 0)
SETTER(h_tcsetsw2, LAYOUT_TERMIOS2, OPT_WAIT)
SETTER(h_tcsetsf2, LAYOUT_TERMIOS2, OPT_WAIT | OPT_FLUSH)
SETTER(h_tcseta, LAYOUT_TERMIO, 0)
SETTER(h_tcsetaw, LAYOUT_TERMIO, OPT_WAIT)
SETTER(h_tcsetaf, LAYOUT_TERMIO, OPT_WAIT | OPT_FLUSH)

static void h_tiocglcktrmios(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                             struct tty_ioctl_result *res)
{
	struct termios2 t;

	tty_core_get_locked(d->core, &t);
	memcpy(r->out, &t, sizeof(struct termios));
	res->out_len = sizeof(struct termios);
	reply(res, 0);
}

static void h_tiocslcktrmios(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                             struct tty_ioctl_result *res)
{
	struct termios2 t;

	if (!r->cap_sys_admin) {
		reply(res, -EPERM);
		return;
	}
	/* old layout (36 bytes): the locked speeds are kept */
	tty_core_get_locked(d->core, &t);
	memcpy(&t, r->in, sizeof(struct termios));
	tty_core_set_locked(d->core, &t);
	reply(res, 0);
}

/* ---- modem lines ------------------------------------------------------------ */

static void h_tiocmget(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	reply_int(r, res, (int)tty_core_tiocmget(d->core));
}

static void tiocm(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                  struct tty_ioctl_result *res, unsigned int set, unsigned int clear)
{
	/* tty_tiocmset keeps the bits a driver may drive; cdc-acm only
	 * drives DTR and RTS */
	const unsigned int drv = TIOCM_DTR | TIOCM_RTS | TIOCM_OUT1 | TIOCM_OUT2 | TIOCM_LOOP;

	(void)tty_core_tiocmset(d->core, set & drv, clear & drv, r->now, &res->fx);
	reply(res, 0);
}

static void h_tiocmset(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	unsigned int v = (unsigned int)in_int(r);

	tiocm(d, r, res, v, ~v);
}

static void h_tiocmbis(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	tiocm(d, r, res, (unsigned int)in_int(r), 0);
}

static void h_tiocmbic(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	tiocm(d, r, res, 0, (unsigned int)in_int(r));
}

static void h_tiocmiwait(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                         struct tty_ioctl_result *res)
{
	res->action = TTY_IOCTL_WAIT_MODEM;
	res->miwait_mask = (unsigned int)r->arg;
}

static void h_tiocgicount(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                          struct tty_ioctl_result *res)
{
	struct serial_icounter_struct ic;

	tty_core_icount(d->core, &ic);
	memcpy(r->out, &ic, sizeof(ic));
	res->out_len = sizeof(ic);
	reply(res, 0);
}

/* ---- queues, flow and break ------------------------------------------------- */

static void h_tcflsh(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res)
{
	/* tty_perform_flush: anything but the three selectors is -EINVAL */
	if (r->arg > TCIOFLUSH) {
		reply(res, -EINVAL);
		return;
	}
	reply(res, tty_core_flush(d->core, (int)r->arg, r->now, &res->fx));
}

static void h_tcxonc(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res)
{
	if (r->arg > TCION) {
		reply(res, -EINVAL);
		return;
	}
	reply(res, tty_core_flow(d->core, (int)r->arg, r->now));
}

static void set_break(struct tty_ioctl_result *res, uint32_t ms)
{
	res->fx.flags |= TTY_FX_BREAK;
	res->fx.break_ms = ms;
	reply(res, 0);
}

static void h_tcsbrk(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res)
{
	if (need_drain(d, r, res))
		return;
	/* SVID: a non-zero argument only drains (tcdrain) */
	if (r->arg == 0)
		set_break(res, 250);
	else
		reply(res, 0);
}

static void h_tcsbrkp(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                      struct tty_ioctl_result *res)
{
	unsigned long ms;

	if (need_drain(d, r, res))
		return;
	/* POSIX tcsendbreak: tenths of a second, 0 -> 250 ms (the kernel's
	 * send_break sleeps that long, interruptibly; so does the caller). */
	if (r->arg == 0)
		ms = 250;
	else if (r->arg > (TTY_BREAK_FOREVER - 1) / 100)
		ms = TTY_BREAK_FOREVER - 1;
	else
		ms = r->arg * 100;
	set_break(res, (uint32_t)ms);
}

static void h_tiocsbrk(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	/* tty_ioctl waits until sent before TIOCSBRK too */
	if (need_drain(d, r, res))
		return;
	set_break(res, TTY_BREAK_FOREVER);
}

static void h_tioccbrk(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	set_break(res, 0);
}

static void h_fionread(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	reply_int(r, res, clamp_int(tty_core_inq(d->core)));
}

static void h_tiocoutq(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	reply_int(r, res, clamp_int(tty_core_outq(d->core)));
}

/* ---- exclusive mode, line discipline, window size --------------------------- */

static void h_tiocexcl(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	tty_core_set_excl(d->core, true);
	reply(res, 0);
}

static void h_tiocnxcl(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	tty_core_set_excl(d->core, false);
	reply(res, 0);
}

static void h_tiocgexcl(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                        struct tty_ioctl_result *res)
{
	reply_int(r, res, tty_core_excl(d->core) ? 1 : 0);
}

static void h_tiocgetd(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	reply_int(r, res, N_TTY);
}

static void h_tiocsetd(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                       struct tty_ioctl_result *res)
{
	/* Only n_tty exists here.  The kernel answers -EINVAL for numbers it
	 * does not know; other disciplines (SLIP, PPP...) need the kernel. */
	reply(res, in_int(r) == N_TTY ? 0 : -EINVAL);
}

static void h_tiocgwinsz(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                         struct tty_ioctl_result *res)
{
	memcpy(r->out, &d->winsize, sizeof(d->winsize));
	res->out_len = sizeof(d->winsize);
	reply(res, 0);
}

static void h_tiocswinsz(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                         struct tty_ioctl_result *res)
{
	/* stored only: SIGWINCH would go to a process group we cannot have */
	memcpy(&d->winsize, r->in, sizeof(d->winsize));
	reply(res, 0);
}

/* ---- serial_struct ---------------------------------------------------------- */

static void h_tiocgserial(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                          struct tty_ioctl_result *res)
{
	struct serial_struct ss;
	struct serial_line line;

	/* tty_tiocgserial zeroes the struct (type PORT_UNKNOWN, no port/irq);
	 * cdc-acm fills line, xmit_fifo_size, baud_base and the close times */
	memset(&ss, 0, sizeof(ss));
	tty_core_get_line(d->core, &line);
	ss.type = PORT_UNKNOWN;
	ss.line = d->line;
	ss.xmit_fifo_size = d->xmit_fifo_size;
	ss.baud_base = line.baud > INT_MAX ? INT_MAX : (int)line.baud;
	ss.close_delay = d->close_delay;
	ss.closing_wait = d->closing_wait;
	memcpy(r->out, &ss, sizeof(ss));
	res->out_len = sizeof(ss);
	reply(res, 0);
}

static void h_tiocsserial(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                          struct tty_ioctl_result *res)
{
	struct serial_struct ss;

	memcpy(&ss, r->in, sizeof(ss));
	/* cdc-acm set_serial_info: only the close times can change, and only
	 * with CAP_SYS_ADMIN; an unprivileged call that changes nothing is OK */
	if (!r->cap_sys_admin) {
		if (ss.close_delay != d->close_delay || ss.closing_wait != d->closing_wait) {
			reply(res, -EPERM);
			return;
		}
	} else {
		d->close_delay = ss.close_delay;
		d->closing_wait = ss.closing_wait;
	}
	reply(res, 0);
}

/* ---- controlling terminal --------------------------------------------------- */

/*
 * This node can never become a controlling terminal: the kernel does not
 * know it is a tty, so it cannot be attached to a session.
 * TIOCSCTTY: -EPERM, what tiocsctty() answers when the tty cannot be taken
 *   (the request is understood, the operation is not permitted).
 * TIOCNOTTY / TIOCGPGRP: -ENOTTY, exactly what the kernel answers when the
 *   tty is not the caller's controlling terminal (tiocgpgrp, tty_ioctl).
 */
static void h_eperm(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                    struct tty_ioctl_result *res)
{
	reply(res, -EPERM);
}

static void h_enotty(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res)
{
	reply(res, -ENOTTY);
}

/* ---- table ------------------------------------------------------------------ */

#define PTR(cmd, in, out, fn)                                                                      \
	{                                                                                          \
		cmd, #cmd, TTY_IOCTL_ARG_PTR, in, out, fn                                          \
	}
#define VAL(cmd, fn)                                                                               \
	{                                                                                          \
		cmd, #cmd, TTY_IOCTL_ARG_VALUE, 0, 0, fn                                           \
	}
#define NONE(cmd, fn)                                                                              \
	{                                                                                          \
		cmd, #cmd, TTY_IOCTL_ARG_NONE, 0, 0, fn                                            \
	}
#define SZ(t) ((uint32_t)sizeof(t))

static const struct tty_ioctl_entry table[] = {
    PTR(TCGETS, 0, SZ(struct termios), h_tcgets),
    PTR(TCSETS, SZ(struct termios), 0, h_tcsets),
    PTR(TCSETSW, SZ(struct termios), 0, h_tcsetsw),
    PTR(TCSETSF, SZ(struct termios), 0, h_tcsetsf),
    PTR(TCGETS2, 0, SZ(struct termios2), h_tcgets2),
    PTR(TCSETS2, SZ(struct termios2), 0, h_tcsets2),
    PTR(TCSETSW2, SZ(struct termios2), 0, h_tcsetsw2),
    PTR(TCSETSF2, SZ(struct termios2), 0, h_tcsetsf2),
    PTR(TCGETA, 0, SZ(struct termio), h_tcgeta),
    PTR(TCSETA, SZ(struct termio), 0, h_tcseta),
    PTR(TCSETAW, SZ(struct termio), 0, h_tcsetaw),
    PTR(TCSETAF, SZ(struct termio), 0, h_tcsetaf),
    PTR(TIOCMGET, 0, SZ(int), h_tiocmget),
    PTR(TIOCMSET, SZ(int), 0, h_tiocmset),
    PTR(TIOCMBIS, SZ(int), 0, h_tiocmbis),
    PTR(TIOCMBIC, SZ(int), 0, h_tiocmbic),
    VAL(TIOCMIWAIT, h_tiocmiwait),
    PTR(TIOCGICOUNT, 0, SZ(struct serial_icounter_struct), h_tiocgicount),
    VAL(TCFLSH, h_tcflsh),
    VAL(TCXONC, h_tcxonc),
    VAL(TCSBRK, h_tcsbrk),
    VAL(TCSBRKP, h_tcsbrkp),
    NONE(TIOCSBRK, h_tiocsbrk),
    NONE(TIOCCBRK, h_tioccbrk),
    PTR(FIONREAD, 0, SZ(int), h_fionread), /* == TIOCINQ */
    PTR(TIOCOUTQ, 0, SZ(int), h_tiocoutq),
    NONE(TIOCEXCL, h_tiocexcl),
    NONE(TIOCNXCL, h_tiocnxcl),
    PTR(TIOCGEXCL, 0, SZ(int), h_tiocgexcl),
    PTR(TIOCGSERIAL, 0, SZ(struct serial_struct), h_tiocgserial),
    PTR(TIOCSSERIAL, SZ(struct serial_struct), 0, h_tiocsserial),
    PTR(TIOCGWINSZ, 0, SZ(struct winsize), h_tiocgwinsz),
    PTR(TIOCSWINSZ, SZ(struct winsize), 0, h_tiocswinsz),
    VAL(TIOCSCTTY, h_eperm),
    NONE(TIOCNOTTY, h_enotty),
    PTR(TIOCGPGRP, 0, SZ(pid_t), h_enotty),
    PTR(TIOCGETD, 0, SZ(int), h_tiocgetd),
    PTR(TIOCSETD, SZ(int), 0, h_tiocsetd),
    PTR(TIOCGLCKTRMIOS, 0, SZ(struct termios), h_tiocglcktrmios),
    PTR(TIOCSLCKTRMIOS, SZ(struct termios), 0, h_tiocslcktrmios),
};

const struct tty_ioctl_entry *tty_ioctl_lookup(unsigned int cmd)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].cmd == cmd)
			return &table[i];
	return NULL;
}

size_t tty_ioctl_table(const struct tty_ioctl_entry **t)
{
	if (t)
		*t = table;
	return sizeof(table) / sizeof(table[0]);
}

int tty_ioctl_handle(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res)
{
	const struct tty_ioctl_entry *e;

	memset(res, 0, sizeof(*res));
	res->action = TTY_IOCTL_REPLY;
	if (!d || !d->core || !r) {
		res->ret = -EINVAL;
		return res->ret;
	}
	e = tty_ioctl_lookup(r->cmd);
	if (!e) {
		res->ret = -ENOTTY;
		return res->ret;
	}
	if (tty_core_hung_up(d->core)) {
		res->ret = -EIO;
		return res->ret;
	}
	if ((e->in_size && (!r->in || r->in_len < e->in_size)) ||
	    (e->out_size && (!r->out || r->out_len < e->out_size))) {
		res->ret = -EFAULT;
		return res->ret;
	}
	e->fn(d, r, res);
	if (res->action != TTY_IOCTL_REPLY) {
		res->ret = 0;
		res->out_len = 0;
	}
	return res->ret;
}
