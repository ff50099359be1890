/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN     "cuse-tty"
#define FUSE_USE_VERSION 35

#include "cuse_tty.h"

#include <cuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tty_ioctl.h"
#include "uc_error.h"
#include "uc_source.h"

/* Bytes the blocked reads and writes of one node may hold together (each
 * blocked read has a buffer, each blocked write a copy of its data); past
 * it, each further request holds at most CUSE_TTY_HELD_FLOOR and so moves
 * fewer bytes than asked, as a tty read or write may (callers repeat). */
#define CUSE_TTY_HELD_MAX   (1u << 20)
#define CUSE_TTY_HELD_FLOOR 4096u

typedef enum { OP_READ, OP_WRITE, OP_DRAIN, OP_IOCTL_DRAIN, OP_IOCTL_MODEM, OP_POLL } OpKind;

typedef struct File File;

/* A deferred operation; its address is the tty_core token. */
typedef struct {
	OpKind kind;
	CuseTty *t;
	fuse_req_t req;
	File *file;
	guint8 *buf; /* read buffer / copy of the write data / ioctl input */
	gsize len;
	gsize held; /* bytes of buf counted in the node's budget */
	/* ioctl rerun after a drain */
	unsigned int cmd;
	unsigned long arg;
	gsize out_size;
	guint timer;       /* close drain timeout */
	gboolean is_close; /* OP_DRAIN of a close(2): answered 0 whatever happens */
	struct fuse_pollhandle *ph;
} Op;

struct File {
	guint gen; /* tty hangup generation at open: a file older than the tty's is hung up */
	Op *poll;  /* registered poller, at most one a file */
};

struct _CuseTty {
	char *name;
	CuseTtyConfig cfg;
	CuseTtyBackend be;
	gpointer user;
	struct fuse_session *se;
	guint watch;
	struct fuse_buf fbuf;
	gboolean ready;
	struct tty_core *core;
	struct tty_ioctl_dev dev;
	guint gen; /* files opened before a link loss have an older gen */
	guint timer;
	guint64 timer_deadline; /* of the armed timer (monotonic us) */
	GHashTable *ops;        /* Op* set: everything still waiting */
	GHashTable *fx_waiting; /* FxReply* set: device actions not yet done */
	GHashTable *files;
	gsize held; /* sum of the ops' held bytes (<= CUSE_TTY_HELD_MAX + floors) */
};

/* Where a read works until it must wait: a read that finishes at once is
 * answered from here within the same call (one thread: one read at a time).
 * The kernel's largest read is 128 KiB; a larger one is a short read. */
static guint8 read_scratch[131072];

static guint64 now_us(void)
{
	return (guint64)uc_now_us();
}

static Op *op_new(CuseTty *t, OpKind kind, fuse_req_t req, File *f)
{
	Op *op = g_new0(Op, 1);
	op->kind = kind;
	op->t = t;
	op->req = req;
	op->file = f;
	g_hash_table_add(t->ops, op);
	return op;
}

static void op_free(Op *op)
{
	if (op->timer)
		g_source_remove(op->timer);
	if (op->ph)
		fuse_pollhandle_destroy(op->ph);
	g_hash_table_remove(op->t->ops, op);
	op->t->held -= op->held;
	g_free(op->buf);
	g_free(op);
}

/* Allocate op->buf for `want` data bytes within the node's budget; returns
 * the size given (>= 1, <= want unless want is 0). */
static gsize op_alloc(Op *op, gsize want)
{
	CuseTty *t = op->t;
	gsize left = t->held < CUSE_TTY_HELD_MAX ? CUSE_TTY_HELD_MAX - t->held : 0;
	gsize n = MAX(MIN(want, MAX(left, CUSE_TTY_HELD_FLOOR)), 1);
	op->buf = g_malloc(n);
	op->held = n;
	t->held += n;
	return n;
}

static File *file_of(struct fuse_file_info *fi)
{
	return (File *)(uintptr_t)fi->fh;
}

/* A file opened before the last hangup is dead, as after tty_vhangup(). */
static gboolean file_hung_up(CuseTty *t, File *f)
{
	return f->gen != t->gen;
}

/* ---- timers ---- */

static void cuse_tty_sync(CuseTty *t);

static gboolean timer_cb(gpointer user)
{
	CuseTty *t = user;
	t->timer = 0;
	tty_core_tick(t->core, now_us());
	cuse_tty_sync(t);
	return G_SOURCE_REMOVE;
}

/* Arm the core's next VMIN/VTIME timer after it changed (a timer already set
 * for the same deadline stays: this runs after every request). */
static void cuse_tty_sync(CuseTty *t)
{
	guint64 deadline;
	gboolean want = tty_core_next_deadline(t->core, &deadline);
	if (t->timer && want && deadline == t->timer_deadline)
		return;
	if (t->timer) {
		g_source_remove(t->timer);
		t->timer = 0;
	}
	if (!want)
		return;
	guint64 now = now_us();
	guint ms = deadline > now ? (guint)((deadline - now + 999) / 1000) : 0;
	t->timer_deadline = deadline;
	t->timer = g_timeout_add(ms, timer_cb, t);
}

/* ---- replies ---- */

/*
 * Fail a request with a negative errno.  The kernel's fuse device refuses a
 * reply error outside -511..0 before it matches the request, which would
 * leave the caller blocked for good (in D state after SIGKILL): anything
 * else (a positive value, -512 or below) is answered as EIO.  The value is
 * range-checked before it is negated.
 */
static void reply_error(fuse_req_t req, ssize_t neg_errno)
{
	fuse_reply_err(req, neg_errno < 0 && neg_errno > -512 ? (int)-neg_errno : EIO);
}

/* ---- core callbacks ---- */

static void reply_ioctl_rerun(Op *op);

/* Answer a deferred or immediate operation with its result and free it. */
static void op_finish(Op *op, ssize_t result)
{
	switch (op->kind) {
	case OP_READ:
		/* a read that finished at once did so in the scratch buffer */
		if (result >= 0)
			fuse_reply_buf(op->req, (const char *)(op->buf ? op->buf : read_scratch),
			               (size_t)result);
		else
			reply_error(op->req, result);
		break;
	case OP_WRITE:
		if (result >= 0)
			fuse_reply_write(op->req, (size_t)result);
		else
			reply_error(op->req, result);
		break;
	case OP_DRAIN:
		/* close/fsync after drain; a hangup is not the caller's error,
		 * and close(2) of a tty succeeds even when a signal cut its
		 * wait for the output short */
		if (result == -EIO || result >= 0 || op->is_close)
			fuse_reply_err(op->req, 0);
		else
			reply_error(op->req, result);
		break;
	case OP_IOCTL_DRAIN:
		if (result == 0) {
			reply_ioctl_rerun(op);
			return;
		}
		reply_error(op->req, result);
		break;
	case OP_IOCTL_MODEM:
		if (result >= 0)
			fuse_reply_ioctl(op->req, 0, NULL, 0);
		else
			reply_error(op->req, result);
		break;
	case OP_POLL:
		break;
	}
	op_free(op);
}

static void core_complete(void *token, ssize_t result, void *user)
{
	op_finish(token, result);
}

static void core_poll_notify(void *token, unsigned int revents, void *user)
{
	Op *op = token;
	if (op->ph)
		fuse_lowlevel_notify_poll(op->ph);
	if (op->file && op->file->poll == op)
		op->file->poll = NULL;
	op_free(op);
}

static void core_tx_kick(void *user)
{
	CuseTty *t = user;
	if (t->be.tx_kick)
		t->be.tx_kick(t, t->user);
}

static void core_rx_space(size_t room, void *user)
{
	CuseTty *t = user;
	if (t->be.rx_space)
		t->be.rx_space(t, room, t->user);
}

static void core_rx_flush(void *user)
{
	CuseTty *t = user;
	if (t->be.rx_flush)
		t->be.rx_flush(t, t->user);
}

static const struct tty_core_ops core_ops = {
    .complete = core_complete,
    .poll_notify = core_poll_notify,
    .tx_kick = core_tx_kick,
    .rx_space = core_rx_space,
    .rx_flush = core_rx_flush,
};

/* ---- signals: FUSE interrupts ---- */

static void interrupt_cb(fuse_req_t req, void *data)
{
	Op *op = data;
	CuseTty *t = op->t;
	ssize_t r = tty_core_cancel(t->core, op, now_us());
	if (r == -ENOENT)
		return; /* completed meanwhile: already answered */
	/* a read or write that moved bytes reports them, as a tty does */
	op_finish(op, r > 0 ? r : -EINTR);
	cuse_tty_sync(t);
}

/* A core call returned r for op: wait for its completion (interruptible by
 * a signal) or answer now. */
static void op_settle(Op *op, ssize_t r)
{
	if (r == TTY_CORE_PENDING)
		fuse_req_interrupt_func(op->req, interrupt_cb, op);
	else
		op_finish(op, r);
}

/* ---- device actions ---- */

typedef struct {
	fuse_req_t req;
	enum { FX_REPLY_OPEN, FX_REPLY_ERR, FX_REPLY_IOCTL } how;
	gboolean interruptible; /* an interrupt function is registered on req */
	struct fuse_file_info fi;
	int ret;
	guint8 *out;
	gsize out_len;
	File *file; /* FX_REPLY_OPEN: freed if the open fails */
} FxReply;

static void fx_reply(CuseTty *t, int status, gpointer data)
{
	FxReply *r = data;
	g_hash_table_remove(t->fx_waiting, r);
	/* the reply frees req: no interrupt may find it after this */
	if (r->interruptible)
		fuse_req_interrupt_func(r->req, NULL, NULL);
	switch (r->how) {
	case FX_REPLY_OPEN:
		/* The lines are remembered and replayed when the device comes
		 * back; an open never fails because the link is down. */
		fuse_reply_open(r->req, &r->fi);
		break;
	case FX_REPLY_ERR:
		fuse_reply_err(r->req, 0);
		break;
	case FX_REPLY_IOCTL:
		if (r->ret < 0)
			reply_error(r->req, r->ret);
		else if (status < 0 && status != -ENOTCONN)
			reply_error(r->req, status);
		else
			fuse_reply_ioctl(r->req, r->ret, r->out, r->out_len);
		break;
	}
	g_free(r->out);
	g_free(r);
}

static void fx_interrupt_cb(fuse_req_t req, void *data)
{
	CuseTty *t = fuse_req_userdata(req);
	if (g_hash_table_contains(t->fx_waiting, data) && t->be.fx_interrupt)
		t->be.fx_interrupt(t, data, t->user);
}

static void do_fx(CuseTty *t, const struct tty_core_fx *fx, FxReply *r)
{
	if (!fx->flags || !t->be.fx) {
		fx_reply(t, 0, r);
		return;
	}
	g_hash_table_add(t->fx_waiting, r);
	t->be.fx(t, fx, fx_reply, r, t->user);
	/* A timed break sleeps, interruptibly as the kernel's send_break.
	 * (The function runs at once if a signal came already.) */
	if (g_hash_table_contains(t->fx_waiting, r) && r->how == FX_REPLY_IOCTL &&
	    (fx->flags & TTY_FX_BREAK) && fx->break_ms != 0 && fx->break_ms != TTY_BREAK_FOREVER) {
		r->interruptible = TRUE;
		fuse_req_interrupt_func(r->req, fx_interrupt_cb, r);
	}
}

/* ---- file operations ---- */

/* Whether pid lives in our own user namespace (the one /dev/cuse was opened
 * in: the initial one when the daemon runs on the host). */
static gboolean in_our_user_ns(pid_t pid)
{
	char path[64];
	struct stat theirs, ours;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	return stat(path, &theirs) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
	       theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

/*
 * CAP_SYS_ADMIN as the kernel's capable() means it (TIOCEXCL override,
 * closing_wait/close_delay, termios locks): in the caller's CapEff AND held
 * in our user namespace.  CapEff alone is relative to the caller's own
 * namespace (`unshare -r` gives a full set); a caller in another pid
 * namespace arrives with pid 0.  Anything we cannot check is "no".
 */
static gboolean caller_is_admin(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[64];
	g_autofree char *status = NULL;
	if (ctx->pid <= 0 || !in_our_user_ns(ctx->pid))
		return FALSE;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
	if (!g_file_get_contents(path, &status, NULL, NULL))
		return FALSE;
	const char *cap = strstr(status, "\nCapEff:");
	if (!cap)
		return FALSE;
	guint64 eff = g_ascii_strtoull(cap + 8, NULL, 16);
	return (eff >> 21) & 1; /* CAP_SYS_ADMIN */
}

static void t_open(fuse_req_t req, struct fuse_file_info *fi)
{
	CuseTty *t = fuse_req_userdata(req);
	struct tty_core_fx fx = {0};
	int rc = tty_core_open(t->core, caller_is_admin(req), now_us(), &fx);
	if (rc < 0) {
		reply_error(req, rc);
		return;
	}
	File *f = g_new0(File, 1);
	f->gen = t->gen;
	g_hash_table_add(t->files, f);
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1;   /* no page cache: a tty is a stream */
	fi->nonseekable = 1; /* lseek gives ESPIPE, as on a tty */
	FxReply *r = g_new0(FxReply, 1);
	r->req = req;
	r->how = FX_REPLY_OPEN;
	r->fi = *fi;
	r->file = f;
	do_fx(t, &fx, r);
	if (t->be.opened)
		t->be.opened(t, (guint)rc, t->user);
	cuse_tty_sync(t);
}

static void t_release(fuse_req_t req, struct fuse_file_info *fi)
{
	CuseTty *t = fuse_req_userdata(req);
	File *f = file_of(fi);
	struct tty_core_fx fx = {0};
	if (f->poll) {
		tty_core_cancel(t->core, f->poll, now_us());
		op_free(f->poll);
	}
	g_hash_table_remove(t->files, f);
	g_free(f);
	int left = tty_core_close(t->core, now_us(), &fx);
	FxReply *r = g_new0(FxReply, 1);
	r->req = req;
	r->how = FX_REPLY_ERR;
	do_fx(t, &fx, r);
	if (t->be.opened && left >= 0)
		t->be.opened(t, (guint)left, t->user);
	cuse_tty_sync(t);
}

/*
 * A read or write that cannot finish at once keeps its data in a buffer of
 * its own (within the node's budget); until then it works on the request's
 * own bytes (write) or the shared scratch buffer (read), so the common case
 * copies nothing extra and allocates no buffer.  Returns the core's result,
 * or a smaller one when the budget could not hold the whole request (a
 * short read or write, as a tty may give).
 */
static ssize_t op_keep(Op *op, ssize_t r, const void *from, gsize size, gboolean is_read,
                       gboolean nonblock)
{
	CuseTty *t = op->t;
	if (r != TTY_CORE_PENDING)
		return r;
	gsize room = op_alloc(op, size);
	if (room >= size) {
		/* a write's data is all in the request; of a read's buffer only
		 * the bytes stored so far (a 64 KiB read parked with nothing in
		 * it copied 64 KiB of scratch) */
		ssize_t done = tty_core_move_buffer(t->core, op, op->buf);
		gsize n = is_read ? (gsize)MAX(done, 0) : size;
		if (n)
			memcpy(op->buf, from, n);
		return r;
	}
	/* over the budget: what moved so far (answered now, from where it is),
	 * or a smaller request */
	ssize_t done = tty_core_cancel(t->core, op, now_us());
	if (done > 0) {
		t->held -= op->held;
		op->held = 0;
		g_clear_pointer(&op->buf, g_free);
		return done;
	}
	op->len = room;
	if (is_read)
		return tty_core_read(t->core, op, op->buf, room, nonblock, now_us());
	memcpy(op->buf, from, room);
	return tty_core_write(t->core, op, op->buf, room, nonblock, now_us());
}

static void t_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	CuseTty *t = fuse_req_userdata(req);
	File *f = file_of(fi);
	gboolean nonblock = (fi->flags & O_NONBLOCK) != 0;
	if (file_hung_up(t, f)) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	Op *op = op_new(t, OP_READ, req, f);
	op->len = MIN(size, sizeof(read_scratch));
	ssize_t r = tty_core_read(t->core, op, read_scratch, op->len, nonblock, now_us());
	op_settle(op, op_keep(op, r, read_scratch, op->len, TRUE, nonblock));
	cuse_tty_sync(t);
}

static void t_write(fuse_req_t req, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	CuseTty *t = fuse_req_userdata(req);
	File *f = file_of(fi);
	if (file_hung_up(t, f)) {
		fuse_reply_err(req, EIO);
		return;
	}
	gboolean nonblock = (fi->flags & O_NONBLOCK) != 0;
	Op *op = op_new(t, OP_WRITE, req, f);
	/* the request buffer dies with this callback: only a blocked write
	 * keeps a copy */
	op->len = size;
	ssize_t r = tty_core_write(t->core, op, (const guint8 *)buf, size, nonblock, now_us());
	op_settle(op, op_keep(op, r, buf, size, FALSE, nonblock));
	cuse_tty_sync(t);
}

static gboolean close_drain_timeout(gpointer data)
{
	Op *op = data;
	CuseTty *t = op->t;
	op->timer = 0;
	/* closing_wait expired: give up on the output, as the kernel does */
	if (tty_core_cancel(t->core, op, now_us()) != -ENOENT) {
		fuse_reply_err(op->req, 0);
		op_free(op);
	}
	return G_SOURCE_REMOVE;
}

/* flush = close(2) of one fd (the last one drains, bounded by closing_wait);
 * fsync = tcdrain. */
static void drain_common(fuse_req_t req, struct fuse_file_info *fi, gboolean is_close)
{
	CuseTty *t = fuse_req_userdata(req);
	File *f = file_of(fi);
	/* closing_wait (TIOCSSERIAL, centiseconds): how long a close waits for
	 * the output, with "none" and "forever" as the kernel has them. */
	guint16 cw = t->dev.closing_wait;
	if (file_hung_up(t, f) || (is_close && tty_core_open_count(t->core) > 1) ||
	    (is_close && cw == ASYNC_CLOSING_WAIT_NONE)) {
		fuse_reply_err(req, 0);
		return;
	}
	Op *op = op_new(t, OP_DRAIN, req, f);
	op->is_close = is_close;
	int r = tty_core_drain(t->core, op, now_us());
	/* the timer first: an interrupt may answer (and free) op at once */
	if (r == TTY_CORE_PENDING && is_close && cw != ASYNC_CLOSING_WAIT_INF)
		op->timer = g_timeout_add((guint)cw * 10, close_drain_timeout, op);
	op_settle(op, r);
}

static void t_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	drain_common(req, fi, TRUE);
}

static void t_fsync(fuse_req_t req, int datasync, struct fuse_file_info *fi)
{
	drain_common(req, fi, FALSE);
}

static void t_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	CuseTty *t = fuse_req_userdata(req);
	File *f = file_of(fi);
	if (file_hung_up(t, f)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req,
		                POLLIN | POLLOUT | POLLHUP | POLLERR | POLLRDNORM | POLLWRNORM);
		return;
	}
	/* One registration a file: the kernel sends a new handle each poll. */
	if (f->poll) {
		tty_core_cancel(t->core, f->poll, now_us());
		op_free(f->poll);
		f->poll = NULL;
	}
	Op *op = NULL;
	if (ph) {
		op = op_new(t, OP_POLL, NULL, f);
		op->ph = ph;
		f->poll = op;
	}
	unsigned int rev = tty_core_poll(t->core, op);
	fuse_reply_poll(req, rev);
}

/* ---- ioctl ---- */

static void ioctl_run(CuseTty *t, fuse_req_t req, File *f, unsigned int cmd, unsigned long arg,
                      const void *in, gsize in_len, gsize out_size, enum tty_ioctl_phase phase);

static void reply_ioctl_rerun(Op *op)
{
	CuseTty *t = op->t;
	/* The request moves on without this Op: an interrupt must not find it. */
	fuse_req_interrupt_func(op->req, NULL, NULL);
	ioctl_run(t, op->req, op->file, op->cmd, op->arg, op->buf, op->len, op->out_size,
	          TTY_IOCTL_DRAINED);
	op_free(op);
}

static void ioctl_run(CuseTty *t, fuse_req_t req, File *f, unsigned int cmd, unsigned long arg,
                      const void *in, gsize in_len, gsize out_size, enum tty_ioctl_phase phase)
{
	g_autofree guint8 *out = out_size ? g_malloc0(out_size) : NULL;
	struct tty_ioctl_req r = {
	    .cmd = cmd,
	    .arg = arg,
	    .in = in,
	    .in_len = in_len,
	    .out = out,
	    .out_len = out_size,
	    .phase = phase,
	    .cap_sys_admin = phase == TTY_IOCTL_START ? caller_is_admin(req) : FALSE,
	    .now = now_us(),
	};
	struct tty_ioctl_result res = {0};
	tty_ioctl_handle(&t->dev, &r, &res);
	switch (res.action) {
	case TTY_IOCTL_REPLY: {
		FxReply *fr = g_new0(FxReply, 1);
		fr->req = req;
		fr->how = FX_REPLY_IOCTL;
		fr->ret = res.ret;
		fr->out = g_steal_pointer(&out);
		fr->out_len = res.ret >= 0 ? res.out_len : 0;
		do_fx(t, &res.fx, fr);
		break;
	}
	case TTY_IOCTL_WAIT_DRAIN: {
		Op *op = op_new(t, OP_IOCTL_DRAIN, req, f);
		op->cmd = cmd;
		op->arg = arg;
		op->buf = in_len ? g_memdup2(in, in_len) : NULL;
		op->len = in_len;
		op->out_size = out_size;
		int rc = tty_core_drain(t->core, op, now_us());
		op_settle(op, rc); /* 0: runs the second phase now */
		break;
	}
	case TTY_IOCTL_WAIT_MODEM: {
		Op *op = op_new(t, OP_IOCTL_MODEM, req, f);
		int rc = tty_core_miwait(t->core, op, res.miwait_mask, now_us());
		op_settle(op, rc);
		break;
	}
	}
	cuse_tty_sync(t);
}

static void t_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
                    unsigned int flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	CuseTty *t = fuse_req_userdata(req);
	File *f = file_of(fi);
	unsigned int ucmd = (unsigned int)cmd;
	const struct tty_ioctl_entry *e = tty_ioctl_lookup(ucmd);

	if (!e || (flags & FUSE_IOCTL_COMPAT)) {
		/* 32-bit callers would need other structure sizes */
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (file_hung_up(t, f)) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (e->arg == TTY_IOCTL_ARG_PTR && (in_bufsz < e->in_size || out_bufsz < e->out_size)) {
		/* Unrestricted ioctls arrive without data: ask the kernel to
		 * copy the sizes our table knows (libfuse example/cuse.c). */
		struct iovec iov_in = {arg, e->in_size};
		struct iovec iov_out = {arg, e->out_size};
		fuse_reply_ioctl_retry(req, e->in_size ? &iov_in : NULL, e->in_size ? 1 : 0,
		                       e->out_size ? &iov_out : NULL, e->out_size ? 1 : 0);
		return;
	}
	ioctl_run(t, req, f, ucmd, (unsigned long)(uintptr_t)arg, in_buf,
	          e->arg == TTY_IOCTL_ARG_PTR ? e->in_size : 0,
	          e->arg == TTY_IOCTL_ARG_PTR ? e->out_size : 0, TTY_IOCTL_START);
}

static void t_init_done(void *userdata)
{
	CuseTty *t = userdata;
	t->ready = TRUE;
	g_message("/dev/%s is ready", t->name);
}

static const struct cuse_lowlevel_ops clops = {
    .init_done = t_init_done,
    .open = t_open,
    .read = t_read,
    .write = t_write,
    .flush = t_flush,
    .release = t_release,
    .fsync = t_fsync,
    .ioctl = t_ioctl,
    .poll = t_poll,
};

/* ---- session on the GLib main loop ---- */

static gboolean session_cb(gint fd, GIOCondition cond, gpointer user)
{
	CuseTty *t = user;
	/* a bounded batch, so one busy node cannot starve the others */
	for (int i = 0; i < 64; i++) {
		int res = fuse_session_receive_buf(t->se, &t->fbuf);
		if (res == -EINTR)
			continue;
		if (res == -EAGAIN)
			return G_SOURCE_CONTINUE;
		if (res <= 0 || fuse_session_exited(t->se)) {
			g_warning("/dev/%s: the kernel closed the CUSE channel (%s)", t->name,
			          res < 0 ? g_strerror(-res) : "exit");
			t->watch = 0;
			return G_SOURCE_REMOVE;
		}
		fuse_session_process_buf(t->se, &t->fbuf);
	}
	return G_SOURCE_CONTINUE;
}

CuseTty *cuse_tty_new(const CuseTtyConfig *cfg, const CuseTtyBackend *be, gpointer user,
                      GError **error)
{
	const char *path = cfg->cuse_path ? cfg->cuse_path : "/dev/cuse";
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			g_set_error(error, UC_ERROR, UC_ERROR_CUSE,
			            "%s is missing: load the cuse module: modprobe cuse", path);
		else if (e == EACCES || e == EPERM)
			g_set_error(error, UC_ERROR, UC_ERROR_CUSE,
			            "cannot open %s: %s (run usbip-cuse as root)", path,
			            g_strerror(e));
		else
			g_set_error(error, UC_ERROR, UC_ERROR_CUSE, "cannot open %s: %s", path,
			            g_strerror(e));
		return NULL;
	}
	CuseTty *t = g_new0(CuseTty, 1);
	t->name = g_strdup(cfg->name);
	t->cfg = *cfg;
	t->cfg.name = t->name;
	t->be = *be;
	t->user = user;
	t->ops = g_hash_table_new(NULL, NULL);
	t->fx_waiting = g_hash_table_new(NULL, NULL);
	t->files = g_hash_table_new(NULL, NULL);
	struct tty_core_config cc = {
	    .rx_size = cfg->rx_size,
	    .tx_size = cfg->tx_size,
	    .ops = &core_ops,
	    .user = t,
	    .lines_in = cfg->lines_in,
	};
	int rc = tty_core_new(&t->core, &cc);
	if (rc < 0) {
		close(fd);
		g_set_error(error, UC_ERROR, UC_ERROR_CUSE, "tty buffers: %s", g_strerror(-rc));
		cuse_tty_free(t);
		return NULL;
	}
	tty_ioctl_dev_init(&t->dev, t->core, (int)cfg->line, 4096);

	g_autofree char *devname = g_strdup_printf("DEVNAME=%s", cfg->name);
	const char *dev_info[] = {devname};
	struct cuse_info ci = {
	    .dev_major = cfg->dev_major,
	    .dev_minor = cfg->dev_major ? cfg->dev_minor : 0,
	    .dev_info_argc = 1,
	    .dev_info_argv = dev_info,
	    .flags = CUSE_UNRESTRICTED_IOCTL,
	};
	char *argv[] = {"usbip-cuse", cfg->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(cfg->debug ? 2 : 1, argv);
	t->se = cuse_lowlevel_new(&args, &ci, &clops, t);
	/* option parsing may have copied the arguments */
	fuse_opt_free_args(&args);
	if (!t->se) {
		close(fd);
		g_set_error(error, UC_ERROR, UC_ERROR_CUSE, "cannot create the CUSE session");
		cuse_tty_free(t);
		return NULL;
	}
	/* As cuse_lowlevel_setup() does: hand the open fd to the session. */
	char mnt[32];
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fd);
	if (fuse_session_mount(t->se, mnt) != 0) {
		close(fd);
		g_set_error(error, UC_ERROR, UC_ERROR_CUSE, "cannot attach to %s", path);
		cuse_tty_free(t);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	GSource *src = g_unix_fd_source_new(fuse_session_fd(t->se), G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(src, (GSourceFunc)(void (*)(void))session_cb, t, NULL);
	uc_source_no_block(src);
	t->watch = g_source_attach(src, NULL);
	g_source_unref(src);
	return t;
}

void cuse_tty_free(CuseTty *t)
{
	if (!t)
		return;
	if (t->core) {
		/* Answer everybody still waiting before the session goes. */
		tty_core_hangup(t->core, now_us());
		GList *ops = g_hash_table_get_keys(t->ops);
		for (GList *l = ops; l; l = l->next) {
			Op *op = l->data;
			tty_core_cancel(t->core, op, now_us());
			if (op->req)
				fuse_reply_err(op->req, EIO);
			op_free(op);
		}
		g_list_free(ops);
	}
	if (t->timer)
		g_source_remove(t->timer);
	if (t->watch)
		g_source_remove(t->watch);
	if (t->se) {
		fuse_session_unmount(t->se);
		fuse_session_destroy(t->se);
	}
	free(t->fbuf.mem);
	if (t->core)
		tty_core_free(t->core);
	GList *files = g_hash_table_get_keys(t->files);
	g_list_free_full(files, g_free);
	g_hash_table_destroy(t->files);
	g_hash_table_destroy(t->ops);
	g_hash_table_destroy(t->fx_waiting);
	g_free(t->name);
	g_free(t);
}

gboolean cuse_tty_is_ready(CuseTty *t)
{
	return t->ready;
}

gboolean cuse_tty_is_closed(CuseTty *t)
{
	if (t->watch == 0)
		return TRUE;
	/* A refused node: the kernel aborts the connection while it takes the
	 * CUSE_INIT reply (before init_done runs), and an aborted FUSE device
	 * polls POLLERR at once, before the session source has read it. */
	struct pollfd p = {.fd = fuse_session_fd(t->se), .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

const char *cuse_tty_get_name(CuseTty *t)
{
	return t->name;
}

gsize cuse_tty_rx(CuseTty *t, const guint8 *data, gsize len)
{
	if (tty_core_open_count(t->core) == 0)
		return len;
	gsize n = MIN(len, tty_core_rx_room(t->core));
	if (n)
		tty_core_rx(t->core, data, n, now_us());
	cuse_tty_sync(t);
	return n;
}

gsize cuse_tty_tx_pull(CuseTty *t, guint8 *buf, gsize max)
{
	return tty_core_tx_pull(t->core, buf, max, now_us());
}

gsize cuse_tty_tx_ready(CuseTty *t)
{
	return tty_core_tx_ready(t->core);
}

void cuse_tty_tx_done(CuseTty *t, gsize n)
{
	tty_core_tx_ack(t->core, n, now_us());
	cuse_tty_sync(t);
}

gboolean cuse_tty_modem_status(CuseTty *t, const struct serial_status *st)
{
	gboolean hang = tty_core_modem_status(t->core, st, now_us()) == TTY_CORE_SS_HANGUP;
	if (hang)
		cuse_tty_hangup(t);
	cuse_tty_sync(t);
	return hang;
}

void cuse_tty_get_line(CuseTty *t, struct serial_line *l)
{
	tty_core_get_line(t->core, l);
}

void cuse_tty_line_reported(CuseTty *t, const struct serial_line *l)
{
	tty_core_line_reported(t->core, l);
}

void cuse_tty_hangup(CuseTty *t)
{
	/* Complete what waits (EOF / EIO), mark every open file dead, and let
	 * new opens start afresh. */
	t->gen++;
	tty_core_hangup(t->core, now_us());
	tty_core_unhangup(t->core, now_us());
	/* Pollers of dead files learn it now. */
	GList *ops = g_hash_table_get_keys(t->ops);
	for (GList *l = ops; l; l = l->next) {
		Op *op = l->data;
		if (op->kind == OP_POLL && op->file && file_hung_up(t, op->file)) {
			tty_core_cancel(t->core, op, now_us());
			if (op->ph)
				fuse_lowlevel_notify_poll(op->ph);
			op->file->poll = NULL;
			op_free(op);
		}
	}
	g_list_free(ops);
	cuse_tty_sync(t);
}

void cuse_tty_link_lost(CuseTty *t)
{
	if (t->cfg.keep_open_on_reset)
		return;
	if (tty_core_open_count(t->core) > 0)
		cuse_tty_hangup(t);
}
