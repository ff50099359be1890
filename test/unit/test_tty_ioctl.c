/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <asm/ioctls.h>
#include <asm/termios.h>
#include <linux/serial.h>
#include <linux/tty.h>

#include "cdc_acm.h"
#include "tty_ioctl.h"

/* ---- harness ---------------------------------------------------------------- */

struct fixture {
	struct tty_core *core;
	struct tty_ioctl_dev dev;
	void *last_token;
	ssize_t last_result;
	int ndone;
};

static void cb_complete(void *token, ssize_t result, void *user)
{
	struct fixture *f = user;

	f->last_token = token;
	f->last_result = result;
	f->ndone++;
}

static const struct tty_core_ops ops = {.complete = cb_complete};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	/* as the bridge does: the driver's initial lines (cdc_acm: CTS) */
	struct tty_core_config cfg = {
	    .ops = &ops, .user = f, .lines_in = cdc_acm_driver.initial_lines};
	struct tty_core_fx fx;

	if (!f || tty_core_new(&f->core, &cfg) < 0)
		return -1;
	tty_ioctl_dev_init(&f->dev, f->core, 3, 64);
	if (tty_core_open(f->core, false, 0, &fx) != 1)
		return -1;
	*state = f;
	return 0;
}

/* A CDC SERIAL_STATE bitmap as the cdc_acm driver reports it. */
static int serial_state(struct tty_core *c, uint16_t cdc_bits, uint64_t now)
{
	struct serial_status st = {0};

	cdc_acm_serial_state_to_status(cdc_bits, &st);
	return tty_core_modem_status(c, &st, now);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tty_core_free(f->core);
	free(f);
	return 0;
}

/* Run cmd as the CUSE binding would after its retry: in/out sized per table. */
static int run(struct fixture *f, unsigned int cmd, unsigned long arg, const void *in, void *out,
               enum tty_ioctl_phase phase, bool admin, struct tty_ioctl_result *res)
{
	const struct tty_ioctl_entry *e = tty_ioctl_lookup(cmd);
	struct tty_ioctl_req r = {
	    .cmd = cmd,
	    .arg = arg,
	    .in = in,
	    .in_len = e ? e->in_size : 0,
	    .out = out,
	    .out_len = e ? e->out_size : 0,
	    .phase = phase,
	    .cap_sys_admin = admin,
	    .now = 0,
	};

	return tty_ioctl_handle(&f->dev, &r, res);
}

static int run_simple(struct fixture *f, unsigned int cmd, unsigned long arg, const void *in,
                      void *out, struct tty_ioctl_result *res)
{
	return run(f, cmd, arg, in, out, TTY_IOCTL_START, false, res);
}

static int get_int(struct fixture *f, unsigned int cmd)
{
	struct tty_ioctl_result res;
	int v = -12345;

	assert_int_equal(run_simple(f, cmd, 0, NULL, &v, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(res.out_len, sizeof(int));
	return v;
}

static void queue_output(struct fixture *f, const char *s)
{
	assert_int_equal(tty_core_write(f->core, NULL, (const uint8_t *)s, strlen(s), true, 0),
	                 (ssize_t)strlen(s));
}

/* ---- table -------------------------------------------------------------------- */

static void test_table_sizes(void **state)
{
	static const struct {
		unsigned int cmd;
		enum tty_ioctl_arg arg;
		size_t in, out;
	} want[] = {
	    {TCGETS, TTY_IOCTL_ARG_PTR, 0, sizeof(struct termios)},
	    {TCSETS, TTY_IOCTL_ARG_PTR, sizeof(struct termios), 0},
	    {TCSETSW, TTY_IOCTL_ARG_PTR, sizeof(struct termios), 0},
	    {TCSETSF, TTY_IOCTL_ARG_PTR, sizeof(struct termios), 0},
	    {TCGETS2, TTY_IOCTL_ARG_PTR, 0, sizeof(struct termios2)},
	    {TCSETS2, TTY_IOCTL_ARG_PTR, sizeof(struct termios2), 0},
	    {TCSETSW2, TTY_IOCTL_ARG_PTR, sizeof(struct termios2), 0},
	    {TCSETSF2, TTY_IOCTL_ARG_PTR, sizeof(struct termios2), 0},
	    {TCGETA, TTY_IOCTL_ARG_PTR, 0, sizeof(struct termio)},
	    {TCSETA, TTY_IOCTL_ARG_PTR, sizeof(struct termio), 0},
	    {TCSETAW, TTY_IOCTL_ARG_PTR, sizeof(struct termio), 0},
	    {TCSETAF, TTY_IOCTL_ARG_PTR, sizeof(struct termio), 0},
	    {TIOCMGET, TTY_IOCTL_ARG_PTR, 0, sizeof(int)},
	    {TIOCMSET, TTY_IOCTL_ARG_PTR, sizeof(int), 0},
	    {TIOCMBIS, TTY_IOCTL_ARG_PTR, sizeof(int), 0},
	    {TIOCMBIC, TTY_IOCTL_ARG_PTR, sizeof(int), 0},
	    {TIOCMIWAIT, TTY_IOCTL_ARG_VALUE, 0, 0},
	    {TIOCGICOUNT, TTY_IOCTL_ARG_PTR, 0, sizeof(struct serial_icounter_struct)},
	    {TCFLSH, TTY_IOCTL_ARG_VALUE, 0, 0},
	    {TCXONC, TTY_IOCTL_ARG_VALUE, 0, 0},
	    {TCSBRK, TTY_IOCTL_ARG_VALUE, 0, 0},
	    {TCSBRKP, TTY_IOCTL_ARG_VALUE, 0, 0},
	    {TIOCSBRK, TTY_IOCTL_ARG_NONE, 0, 0},
	    {TIOCCBRK, TTY_IOCTL_ARG_NONE, 0, 0},
	    {FIONREAD, TTY_IOCTL_ARG_PTR, 0, sizeof(int)},
	    {TIOCINQ, TTY_IOCTL_ARG_PTR, 0, sizeof(int)},
	    {TIOCOUTQ, TTY_IOCTL_ARG_PTR, 0, sizeof(int)},
	    {TIOCEXCL, TTY_IOCTL_ARG_NONE, 0, 0},
	    {TIOCNXCL, TTY_IOCTL_ARG_NONE, 0, 0},
	    {TIOCGEXCL, TTY_IOCTL_ARG_PTR, 0, sizeof(int)},
	    {TIOCGSERIAL, TTY_IOCTL_ARG_PTR, 0, sizeof(struct serial_struct)},
	    {TIOCSSERIAL, TTY_IOCTL_ARG_PTR, sizeof(struct serial_struct), 0},
	    {TIOCGWINSZ, TTY_IOCTL_ARG_PTR, 0, sizeof(struct winsize)},
	    {TIOCSWINSZ, TTY_IOCTL_ARG_PTR, sizeof(struct winsize), 0},
	    {TIOCSCTTY, TTY_IOCTL_ARG_VALUE, 0, 0},
	    {TIOCNOTTY, TTY_IOCTL_ARG_NONE, 0, 0},
	    {TIOCGPGRP, TTY_IOCTL_ARG_PTR, 0, sizeof(pid_t)},
	    {TIOCGETD, TTY_IOCTL_ARG_PTR, 0, sizeof(int)},
	    {TIOCSETD, TTY_IOCTL_ARG_PTR, sizeof(int), 0}, /* a pointer to int */
	    {TIOCGLCKTRMIOS, TTY_IOCTL_ARG_PTR, 0, sizeof(struct termios)},
	    {TIOCSLCKTRMIOS, TTY_IOCTL_ARG_PTR, sizeof(struct termios), 0},
	};
	const struct tty_ioctl_entry *t;
	size_t n = tty_ioctl_table(&t);

	/* x86_64 kernel ABI sizes */
	assert_int_equal(sizeof(struct termios), 36);
	assert_int_equal(sizeof(struct termios2), 44);
	assert_int_equal(sizeof(struct termio), 18);
	assert_int_equal(sizeof(struct winsize), 8);
	assert_int_equal(sizeof(struct serial_struct), 72);
	assert_int_equal(sizeof(struct serial_icounter_struct), 80);
	/* the size-encoded requests agree with the table */
	assert_int_equal(_IOC_SIZE(TCGETS2), sizeof(struct termios2));
	assert_int_equal(_IOC_SIZE(TCSETSF2), sizeof(struct termios2));
	assert_int_equal(_IOC_SIZE(TIOCGEXCL), sizeof(int));
	assert_int_equal(TCGETS2, 0x802c542a);
	assert_int_equal(TCSETS2, 0x402c542b);

	assert_int_equal(n, sizeof(want) / sizeof(want[0]) - 1); /* TIOCINQ == FIONREAD */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct tty_ioctl_entry *e = tty_ioctl_lookup(want[i].cmd);

		assert_non_null(e);
		assert_int_equal(e->cmd, want[i].cmd);
		assert_int_equal(e->arg, want[i].arg);
		assert_int_equal(e->in_size, want[i].in);
		assert_int_equal(e->out_size, want[i].out);
		assert_non_null(e->fn);
		assert_non_null(e->name);
		assert_true(strlen(e->name) > 3);
	}
	/* names are the request macros, entries unique */
	assert_string_equal(tty_ioctl_lookup(TCGETS)->name, "TCGETS");
	assert_string_equal(tty_ioctl_lookup(TIOCMIWAIT)->name, "TIOCMIWAIT");
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(t[i].cmd, t[j].cmd);
}

static void test_unknown_enotty(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	static const unsigned int cmds[] = {TIOCGRS485, TIOCSRS485, TIOCSTI, TIOCSERGETLSR,
	                                    TIOCGSID,   0x1234,     0,       0xdeadbeef};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_null(tty_ioctl_lookup(cmds[i]));
		assert_int_equal(run_simple(f, cmds[i], 0, NULL, NULL, &res), -ENOTTY);
		assert_int_equal(res.action, TTY_IOCTL_REPLY);
		assert_int_equal(res.out_len, 0);
	}
}

static void test_short_buffers_efault(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct termios2 t2;
	struct tty_ioctl_req r = {.cmd = TCGETS, .out = &t2, .out_len = 35};

	assert_int_equal(tty_ioctl_handle(&f->dev, &r, &res), -EFAULT);
	r.out = NULL;
	r.out_len = 36;
	assert_int_equal(tty_ioctl_handle(&f->dev, &r, &res), -EFAULT);
	r.cmd = TCSETS2;
	r.in = &t2;
	r.in_len = 43;
	assert_int_equal(tty_ioctl_handle(&f->dev, &r, &res), -EFAULT);
	r.in_len = 0;
	r.in = NULL;
	r.cmd = TIOCMSET;
	assert_int_equal(tty_ioctl_handle(&f->dev, &r, &res), -EFAULT);
	assert_int_equal(tty_ioctl_handle(&f->dev, NULL, &res), -EINVAL);
}

/* ---- termios ------------------------------------------------------------------- */

static void test_tcgets_tcsets(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct termios t;
	struct termios2 t2, k;

	memset(&t, 0xaa, sizeof(t));
	assert_int_equal(run_simple(f, TCGETS, 0, NULL, &t, &res), 0);
	assert_int_equal(res.out_len, 36);
	tty_core_get_termios(f->core, &k);
	assert_memory_equal(&t, &k, sizeof(t));
	assert_true(t.c_lflag & ICANON);

	/* stty 115200 cs7 parenb via TCSETSW with nothing queued: immediate */
	t.c_cflag = (t.c_cflag & ~(tcflag_t)(CBAUD | CSIZE)) | B115200 | CS7 | PARENB;
	assert_int_equal(run_simple(f, TCSETSW, 0, &t, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(res.fx.flags, TTY_FX_LINE);
	assert_int_equal(res.fx.line.baud, 115200);
	assert_int_equal(res.fx.line.data_bits, 7);
	assert_int_equal(res.fx.line.parity, SERIAL_PARITY_EVEN);
	/* TCGETS2 shows the speed computed from CBAUD */
	assert_int_equal(run_simple(f, TCGETS2, 0, NULL, &t2, &res), 0);
	assert_int_equal(res.out_len, 44);
	assert_int_equal(t2.c_ospeed, 115200);
	assert_int_equal(t2.c_ispeed, 115200);

	/* pyserial: TCSETS2 with BOTHER 250000 */
	t2.c_cflag = (t2.c_cflag & ~(tcflag_t)(CBAUD | CSIZE | PARENB)) | BOTHER | CS8;
	t2.c_ospeed = t2.c_ispeed = 250000;
	assert_int_equal(run_simple(f, TCSETS2, 0, &t2, NULL, &res), 0);
	assert_int_equal(res.fx.flags, TTY_FX_LINE);
	assert_int_equal(res.fx.line.baud, 250000);
	memset(&t2, 0, sizeof(t2));
	assert_int_equal(run_simple(f, TCGETS2, 0, NULL, &t2, &res), 0);
	assert_int_equal(t2.c_cflag & CBAUD, BOTHER);
	assert_int_equal(t2.c_ospeed, 250000);
	/* old TCSETS keeps the BOTHER speed (it has no speed fields) */
	memcpy(&t, &t2, sizeof(t));
	assert_int_equal(run_simple(f, TCSETS, 0, &t, NULL, &res), 0);
	assert_int_equal(res.fx.flags, 0);
	assert_int_equal(run_simple(f, TCGETS2, 0, NULL, &t2, &res), 0);
	assert_int_equal(t2.c_ospeed, 250000);
	/* B0 via TCSETS: lines drop */
	t.c_cflag = (t.c_cflag & ~(tcflag_t)CBAUD) | B0;
	assert_int_equal(run_simple(f, TCSETS, 0, &t, NULL, &res), 0);
	assert_int_equal(res.fx.flags, TTY_FX_LINES);
	assert_int_equal(res.fx.lines, 0);
}

static void test_tcsetsw_deferred(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct termios2 t2, now;
	uint8_t out[16];

	queue_output(f, "abc");
	tty_core_get_termios(f->core, &t2);
	t2.c_cflag = (t2.c_cflag & ~(tcflag_t)CBAUD) | B38400;
	assert_int_equal(run_simple(f, TCSETSW2, 0, &t2, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_WAIT_DRAIN);
	assert_int_equal(res.fx.flags, 0);
	/* nothing applied yet */
	tty_core_get_termios(f->core, &now);
	assert_int_equal(now.c_cflag & CBAUD, B9600);
	/* the binding drains, then calls again */
	assert_int_equal(tty_core_drain(f->core, &res, 0), TTY_CORE_PENDING);
	assert_int_equal(tty_core_tx_pull(f->core, out, sizeof(out), 0), 3);
	tty_core_tx_ack(f->core, 3, 0);
	assert_int_equal(f->ndone, 1);
	assert_int_equal(f->last_result, 0);
	assert_int_equal(run(f, TCSETSW2, 0, &t2, NULL, TTY_IOCTL_DRAINED, false, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(res.fx.flags, TTY_FX_LINE);
	assert_int_equal(res.fx.line.baud, 38400);
	tty_core_get_termios(f->core, &now);
	assert_int_equal(now.c_cflag & CBAUD, B38400);
}

static void test_tcsetsf_flushes_input_first(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct termios t;

	assert_int_equal(tty_core_rx(f->core, (const uint8_t *)"old\n", 4, 0), 0);
	queue_output(f, "x");
	assert_int_equal(run_simple(f, TCGETS, 0, NULL, &t, &res), 0);
	assert_int_equal(run_simple(f, TCSETSF, 0, &t, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_WAIT_DRAIN);
	assert_true(res.fx.flags & TTY_FX_FLUSH_RX);
	assert_int_equal(tty_core_inq(f->core), 0);
	/* input arriving during the drain is not flushed by the second call */
	assert_int_equal(tty_core_rx(f->core, (const uint8_t *)"new\n", 4, 0), 0);
	assert_int_equal(run(f, TCSETSF, 0, &t, NULL, TTY_IOCTL_DRAINED, false, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(tty_core_inq(f->core), 4);
	/* TCSETAF with nothing queued: flush and set at once */
	struct termio o;

	assert_int_equal(run_simple(f, TCGETA, 0, NULL, &o, &res), 0);
	uint8_t b[32];

	/* echoes "old\r\n", "x", echo "new\r\n" */
	assert_int_equal(tty_core_tx_pull(f->core, b, sizeof(b), 0), 11);
	assert_memory_equal(b, "old\r\nxnew\r\n", 11);
	tty_core_tx_ack(f->core, 11, 0);
	assert_int_equal(run_simple(f, TCSETAF, 0, &o, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(tty_core_inq(f->core), 0);
}

static void test_termio(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct termio o;
	struct termios2 k;

	/* set a high c_cflag bit (CRTSCTS) that struct termio cannot carry */
	tty_core_get_termios(f->core, &k);
	k.c_cflag |= CRTSCTS;
	assert_int_equal(tty_core_set_termios(f->core, &k, 0, NULL), 0);
	memset(&o, 0xee, sizeof(o));
	assert_int_equal(run_simple(f, TCGETA, 0, NULL, &o, &res), 0);
	assert_int_equal(res.out_len, sizeof(struct termio));
	assert_int_equal(o.c_cflag, (unsigned short)k.c_cflag);
	assert_int_equal(o.c_lflag, (unsigned short)k.c_lflag);
	assert_memory_equal(o.c_cc, k.c_cc, NCC);
	o.c_lflag &= (unsigned short)~ICANON;
	o.c_cc[VMIN] = 7;
	o.c_cflag = (unsigned short)((o.c_cflag & ~CSIZE) | CS6);
	assert_int_equal(run_simple(f, TCSETA, 0, &o, NULL, &res), 0);
	assert_int_equal(res.fx.flags, TTY_FX_LINE);
	assert_int_equal(res.fx.line.data_bits, 6);
	tty_core_get_termios(f->core, &k);
	assert_false(k.c_lflag & ICANON);
	assert_int_equal(k.c_cc[VMIN], 7);
	assert_true(k.c_cflag & CRTSCTS); /* high bits kept */
	/* TCSETAW defers while output is queued */
	queue_output(f, "q");
	assert_int_equal(run_simple(f, TCSETAW, 0, &o, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_WAIT_DRAIN);
}

static void test_lcktrmios(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct termios lk, t;

	memset(&lk, 0, sizeof(lk));
	lk.c_cflag = CBAUD;
	assert_int_equal(run(f, TIOCSLCKTRMIOS, 0, &lk, NULL, TTY_IOCTL_START, false, &res),
	                 -EPERM);
	assert_int_equal(run(f, TIOCSLCKTRMIOS, 0, &lk, NULL, TTY_IOCTL_START, true, &res), 0);
	memset(&t, 0xff, sizeof(t));
	assert_int_equal(run_simple(f, TIOCGLCKTRMIOS, 0, NULL, &t, &res), 0);
	assert_int_equal(res.out_len, 36);
	assert_memory_equal(&t, &lk, sizeof(t));
	/* the speed is now locked */
	assert_int_equal(run_simple(f, TCGETS, 0, NULL, &t, &res), 0);
	t.c_cflag = (t.c_cflag & ~(tcflag_t)CBAUD) | B115200;
	assert_int_equal(run_simple(f, TCSETS, 0, &t, NULL, &res), 0);
	assert_int_equal(res.fx.flags, 0);
	assert_int_equal(run_simple(f, TCGETS, 0, NULL, &t, &res), 0);
	assert_int_equal(t.c_cflag & CBAUD, B9600);
}

/* ---- modem lines ------------------------------------------------------------------ */

static void test_tiocm(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	int v;

	assert_int_equal(get_int(f, TIOCMGET), TIOCM_DTR | TIOCM_RTS | TIOCM_CTS);
	v = TIOCM_DTR;
	assert_int_equal(run_simple(f, TIOCMBIC, 0, &v, NULL, &res), 0);
	assert_int_equal(res.fx.flags, TTY_FX_LINES);
	assert_int_equal(res.fx.lines, SERIAL_RTS);
	assert_int_equal(run_simple(f, TIOCMBIC, 0, &v, NULL, &res), 0);
	assert_int_equal(res.fx.flags, 0);
	v = TIOCM_DTR | TIOCM_RTS;
	assert_int_equal(run_simple(f, TIOCMBIS, 0, &v, NULL, &res), 0);
	assert_int_equal(res.fx.lines, SERIAL_DTR | SERIAL_RTS);
	v = TIOCM_RTS | TIOCM_CD;
	assert_int_equal(run_simple(f, TIOCMSET, 0, &v, NULL, &res), 0);
	assert_int_equal(res.fx.flags, TTY_FX_LINES);
	assert_int_equal(res.fx.lines, SERIAL_RTS);
	assert_int_equal(serial_state(f->core, CDC_SS_DSR | CDC_SS_RI, 0), 0);
	assert_int_equal(get_int(f, TIOCMGET), TIOCM_RTS | TIOCM_CTS | TIOCM_DSR | TIOCM_RNG);
}

static void test_tiocmiwait_icount(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct serial_icounter_struct ic;

	assert_int_equal(run_simple(f, TIOCMIWAIT, TIOCM_DSR | TIOCM_CD, NULL, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_WAIT_MODEM);
	assert_int_equal(res.miwait_mask, TIOCM_DSR | TIOCM_CD);
	assert_int_equal(tty_core_miwait(f->core, &res, res.miwait_mask, 0), TTY_CORE_PENDING);
	assert_int_equal(serial_state(f->core, CDC_SS_DSR | CDC_SS_PARITY, 0), 0);
	assert_int_equal(f->ndone, 1);
	assert_ptr_equal(f->last_token, &res);
	assert_int_equal(tty_core_rx(f->core, (const uint8_t *)"12345", 5, 0), 0);
	memset(&ic, 0xff, sizeof(ic));
	assert_int_equal(run_simple(f, TIOCGICOUNT, 0, NULL, &ic, &res), 0);
	assert_int_equal(res.out_len, sizeof(ic));
	assert_int_equal(ic.dsr, 1);
	assert_int_equal(ic.parity, 1);
	assert_int_equal(ic.rx, 5);
	assert_int_equal(ic.cts, 0);
	assert_int_equal(ic.reserved[0], 0);
}

/* ---- queues, flow, break ----------------------------------------------------------- */

static void test_tcflsh_tcxonc(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;

	assert_int_equal(tty_core_rx(f->core, (const uint8_t *)"ab\n", 3, 0), 0);
	queue_output(f, "zz");
	assert_int_equal(get_int(f, FIONREAD), 3);
	assert_int_equal(get_int(f, TIOCINQ), 3);
	assert_int_equal(get_int(f, TIOCOUTQ), 6); /* "ab\r\n" echo + "zz" */
	assert_int_equal(run_simple(f, TCFLSH, TCIFLUSH, NULL, NULL, &res), 0);
	assert_int_equal(res.fx.flags, TTY_FX_FLUSH_RX);
	assert_int_equal(get_int(f, FIONREAD), 0);
	assert_int_equal(get_int(f, TIOCOUTQ), 6);
	assert_int_equal(run_simple(f, TCFLSH, TCIOFLUSH, NULL, NULL, &res), 0);
	assert_int_equal(get_int(f, TIOCOUTQ), 0);
	assert_int_equal(run_simple(f, TCFLSH, 7, NULL, NULL, &res), -EINVAL);
	assert_int_equal(run_simple(f, TCFLSH, (unsigned long)-1, NULL, NULL, &res), -EINVAL);

	queue_output(f, "k");
	assert_int_equal(run_simple(f, TCXONC, TCOOFF, NULL, NULL, &res), 0);
	assert_int_equal(tty_core_tx_ready(f->core), 0);
	assert_int_equal(run_simple(f, TCXONC, TCOON, NULL, NULL, &res), 0);
	assert_int_equal(tty_core_tx_ready(f->core), 1);
	assert_int_equal(run_simple(f, TCXONC, 4, NULL, NULL, &res), -EINVAL);
	assert_int_equal(run_simple(f, TCXONC, 1ul << 40, NULL, NULL, &res), -EINVAL);
}

static void test_break(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	uint8_t b[8];

	/* tcsendbreak(fd, 0) */
	assert_int_equal(run_simple(f, TCSBRK, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(res.fx.flags, TTY_FX_BREAK);
	assert_int_equal(res.fx.break_ms, 250);
	/* tcdrain: TCSBRK 1, no break */
	assert_int_equal(run_simple(f, TCSBRK, 1, NULL, NULL, &res), 0);
	assert_int_equal(res.fx.flags, 0);
	queue_output(f, "x");
	assert_int_equal(run_simple(f, TCSBRK, 1, NULL, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_WAIT_DRAIN);
	assert_int_equal(run_simple(f, TCSBRK, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_WAIT_DRAIN);
	assert_int_equal(res.fx.flags, 0);
	assert_int_equal(run(f, TCSBRK, 0, NULL, NULL, TTY_IOCTL_DRAINED, false, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(res.fx.break_ms, 250);
	/* TIOCSBRK waits for output too; TIOCCBRK does not */
	assert_int_equal(run_simple(f, TIOCSBRK, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_WAIT_DRAIN);
	assert_int_equal(run_simple(f, TIOCCBRK, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(res.fx.flags, TTY_FX_BREAK);
	assert_int_equal(res.fx.break_ms, 0);
	assert_int_equal(tty_core_tx_pull(f->core, b, sizeof(b), 0), 1);
	tty_core_tx_ack(f->core, 1, 0);
	assert_int_equal(run_simple(f, TIOCSBRK, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	assert_int_equal(res.fx.break_ms, TTY_BREAK_FOREVER);
	/* TCSBRKP: deciseconds, 0 -> 250 ms */
	assert_int_equal(run_simple(f, TCSBRKP, 3, NULL, NULL, &res), 0);
	assert_int_equal(res.fx.break_ms, 300);
	assert_int_equal(run_simple(f, TCSBRKP, 0, NULL, NULL, &res), 0);
	assert_int_equal(res.fx.break_ms, 250);
	/* long breaks are timed by the caller, as the kernel sleeps them */
	assert_int_equal(run_simple(f, TCSBRKP, 100000, NULL, NULL, &res), 0);
	assert_int_equal(res.fx.break_ms, 10000000);
	/* never "forever": that is TIOCSBRK's value */
	assert_int_equal(run_simple(f, TCSBRKP, (unsigned long)-1, NULL, NULL, &res), 0);
	assert_int_equal(res.fx.break_ms, TTY_BREAK_FOREVER - 1);
}

/* ---- excl, ldisc, winsize, serial, ctty ------------------------------------------- */

static void test_excl(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct tty_core_fx fx;

	assert_int_equal(get_int(f, TIOCGEXCL), 0);
	assert_int_equal(run_simple(f, TIOCEXCL, 0, NULL, NULL, &res), 0);
	assert_int_equal(get_int(f, TIOCGEXCL), 1);
	assert_int_equal(tty_core_open(f->core, false, 0, &fx), -EBUSY);
	assert_int_equal(tty_core_open(f->core, true, 0, &fx), 2);
	assert_int_equal(run_simple(f, TIOCNXCL, 0, NULL, NULL, &res), 0);
	assert_int_equal(get_int(f, TIOCGEXCL), 0);
	assert_int_equal(tty_core_open(f->core, false, 0, &fx), 3);
}

static void test_ldisc(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	int v;

	assert_int_equal(get_int(f, TIOCGETD), N_TTY);
	v = N_TTY;
	assert_int_equal(run_simple(f, TIOCSETD, 0, &v, NULL, &res), 0);
	v = N_SLIP;
	assert_int_equal(run_simple(f, TIOCSETD, 0, &v, NULL, &res), -EINVAL);
	v = -1;
	assert_int_equal(run_simple(f, TIOCSETD, 0, &v, NULL, &res), -EINVAL);
	assert_int_equal(get_int(f, TIOCGETD), N_TTY);
}

static void test_winsize(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct winsize w = {.ws_row = 24, .ws_col = 80, .ws_xpixel = 640, .ws_ypixel = 480};
	struct winsize g;

	memset(&g, 0xff, sizeof(g));
	/* must succeed (stty -a fails as a whole otherwise), zeros at first */
	assert_int_equal(run_simple(f, TIOCGWINSZ, 0, NULL, &g, &res), 0);
	assert_int_equal(res.out_len, 8);
	assert_int_equal(g.ws_row, 0);
	assert_int_equal(g.ws_col, 0);
	assert_int_equal(run_simple(f, TIOCSWINSZ, 0, &w, NULL, &res), 0);
	assert_int_equal(run_simple(f, TIOCGWINSZ, 0, NULL, &g, &res), 0);
	assert_memory_equal(&g, &w, sizeof(w));
}

static void test_serial(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct serial_struct ss;
	struct termios2 t;

	tty_core_get_termios(f->core, &t);
	t.c_cflag = (t.c_cflag & ~(tcflag_t)CBAUD) | B115200;
	assert_int_equal(tty_core_set_termios(f->core, &t, 0, NULL), 0);
	memset(&ss, 0xff, sizeof(ss));
	assert_int_equal(run_simple(f, TIOCGSERIAL, 0, NULL, &ss, &res), 0);
	assert_int_equal(res.out_len, sizeof(ss));
	assert_int_equal(ss.type, PORT_UNKNOWN);
	assert_int_equal(ss.line, 3);
	assert_int_equal(ss.xmit_fifo_size, 64);
	assert_int_equal(ss.baud_base, 115200);
	assert_int_equal(ss.close_delay, 50);
	assert_int_equal(ss.closing_wait, 3000);
	assert_int_equal(ss.port, 0);
	assert_int_equal(ss.irq, 0);
	assert_null(ss.iomem_base);

	/* unprivileged: writing back the same values is fine (setserial) */
	assert_int_equal(run_simple(f, TIOCSSERIAL, 0, &ss, NULL, &res), 0);
	ss.closing_wait = ASYNC_CLOSING_WAIT_NONE;
	assert_int_equal(run_simple(f, TIOCSSERIAL, 0, &ss, NULL, &res), -EPERM);
	assert_int_equal(f->dev.closing_wait, 3000);
	assert_int_equal(run(f, TIOCSSERIAL, 0, &ss, NULL, TTY_IOCTL_START, true, &res), 0);
	assert_int_equal(f->dev.closing_wait, ASYNC_CLOSING_WAIT_NONE);
	assert_int_equal(run_simple(f, TIOCGSERIAL, 0, NULL, &ss, &res), 0);
	assert_int_equal(ss.closing_wait, ASYNC_CLOSING_WAIT_NONE);
}

static void test_ctty(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	int pgrp = 77;

	assert_int_equal(run_simple(f, TIOCSCTTY, 0, NULL, NULL, &res), -EPERM);
	assert_int_equal(run_simple(f, TIOCSCTTY, 1, NULL, NULL, &res), -EPERM);
	assert_int_equal(run_simple(f, TIOCNOTTY, 0, NULL, NULL, &res), -ENOTTY);
	assert_int_equal(run_simple(f, TIOCGPGRP, 0, NULL, &pgrp, &res), -ENOTTY);
	assert_int_equal(res.out_len, 0);
	assert_int_equal(pgrp, 77);
}

static void test_hung_up_eio(void **state)
{
	struct fixture *f = *state;
	struct tty_ioctl_result res;
	struct termios t;

	tty_core_hangup(f->core, 0);
	assert_int_equal(run_simple(f, TCGETS, 0, NULL, &t, &res), -EIO);
	assert_int_equal(run_simple(f, TIOCMIWAIT, TIOCM_CD, NULL, NULL, &res), -EIO);
	assert_int_equal(res.action, TTY_IOCTL_REPLY);
	/* unknown stays -ENOTTY */
	assert_int_equal(run_simple(f, 0x1234, 0, NULL, NULL, &res), -ENOTTY);
	tty_core_unhangup(f->core, 0);
	assert_int_equal(run_simple(f, TCGETS, 0, NULL, &t, &res), 0);
}

#define FT(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_sizes),
	    FT(test_unknown_enotty),
	    FT(test_short_buffers_efault),
	    FT(test_tcgets_tcsets),
	    FT(test_tcsetsw_deferred),
	    FT(test_tcsetsf_flushes_input_first),
	    FT(test_termio),
	    FT(test_lcktrmios),
	    FT(test_tiocm),
	    FT(test_tiocmiwait_icount),
	    FT(test_tcflsh_tcxonc),
	    FT(test_break),
	    FT(test_excl),
	    FT(test_ldisc),
	    FT(test_winsize),
	    FT(test_serial),
	    FT(test_ctty),
	    FT(test_hung_up_eio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
