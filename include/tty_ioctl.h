/* SPDX-License-Identifier: MIT */
/*
 * tty_ioctl - the tty ioctl table (level 0: pure).
 *
 * Legacy tty ioctls do not encode their argument size, so a CUSE server
 * registered with CUSE_UNRESTRICTED_IOCTL must look the size up and use
 * fuse_reply_ioctl_retry(); each entry gives the x86_64 in/out sizes
 * (bytes the kernel copies from / to the pointer argument) and whether the
 * argument is a pointer, a plain value, or unused.
 *
 * Handlers never perform I/O: they return a struct tty_ioctl_result that
 * says whether to reply now (after performing fx device actions) or to
 * wait for a drain / a modem-line change (design.md section 4).
 *
 * Uses the kernel's <asm/termios.h> layouts: do not include glibc's
 * <termios.h> or <sys/ioctl.h> in the same file.
 */
#ifndef TTY_IOCTL_H
#define TTY_IOCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/termios.h>

#include "tty_core.h"

/* Per-node state the ioctls read or change besides the tty_core. */
struct tty_ioctl_dev {
	struct tty_core *core;
	int line;                    /* serial_struct.line (the node's minor) */
	int xmit_fifo_size;          /* serial_struct.xmit_fifo_size, bytes */
	unsigned short close_delay;  /* centiseconds (default 50) */
	unsigned short closing_wait; /* centiseconds; ASYNC_CLOSING_WAIT_NONE:
	                              * do not wait for output on close,
	                              * ASYNC_CLOSING_WAIT_INF: wait forever (default 3000) */
	struct winsize winsize;      /* TIOCGWINSZ/TIOCSWINSZ, stored only */
};

/* Defaults as tty_port_init: close_delay 0.5 s, closing_wait 30 s. */
void tty_ioctl_dev_init(struct tty_ioctl_dev *d, struct tty_core *core, int line,
                        int xmit_fifo_size);

enum tty_ioctl_arg {
	TTY_IOCTL_ARG_NONE,  /* argument unused */
	TTY_IOCTL_ARG_VALUE, /* the argument itself is the value (no retry) */
	TTY_IOCTL_ARG_PTR,   /* pointer: in_size bytes read, out_size bytes written */
};

enum tty_ioctl_phase {
	TTY_IOCTL_START,   /* first call */
	TTY_IOCTL_DRAINED, /* again, after the drain asked for by TTY_IOCTL_WAIT_DRAIN */
};

struct tty_ioctl_req {
	unsigned int cmd;
	unsigned long arg; /* the raw argument (the value for TTY_IOCTL_ARG_VALUE) */
	const void *in;    /* in_size bytes fetched from the caller (may be NULL if 0) */
	size_t in_len;
	void *out; /* room for the reply data */
	size_t out_len;
	enum tty_ioctl_phase phase;
	bool cap_sys_admin; /* the caller has CAP_SYS_ADMIN */
	uint64_t now;       /* monotonic microseconds */
};

enum tty_ioctl_action {
	/* Perform fx (in tty_core_fx order), then reply ret with out_len bytes
	 * of out.  With TTY_FX_BREAK and a timed break_ms, reply only after the
	 * break has ended (tcsendbreak blocks for its duration). */
	TTY_IOCTL_REPLY,
	/* Call tty_core_drain(token).  When it returns 0 or completes with 0,
	 * call tty_ioctl_handle() again with the same request and phase
	 * TTY_IOCTL_DRAINED; any other completion (-EINTR, -EIO) is the reply. */
	TTY_IOCTL_WAIT_DRAIN,
	/* Call tty_core_miwait(token, miwait_mask); its completion is the reply. */
	TTY_IOCTL_WAIT_MODEM,
};

struct tty_ioctl_result {
	enum tty_ioctl_action action;
	int ret;        /* REPLY: return value >= 0 or -errno */
	size_t out_len; /* REPLY: bytes of out to return */
	unsigned int miwait_mask;
	struct tty_core_fx fx;
};

typedef void (*tty_ioctl_fn)(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                             struct tty_ioctl_result *res);

struct tty_ioctl_entry {
	unsigned int cmd;
	const char *name;
	enum tty_ioctl_arg arg;
	uint32_t in_size;  /* bytes */
	uint32_t out_size; /* bytes */
	tty_ioctl_fn fn;
};

/* The entry for cmd, or NULL (the answer is then -ENOTTY). */
const struct tty_ioctl_entry *tty_ioctl_lookup(unsigned int cmd);
/* The whole table (for logging and tests); returns the entry count. */
size_t tty_ioctl_table(const struct tty_ioctl_entry **table);

/*
 * Run a request.  Unknown requests -> -ENOTTY; in_len or out_len smaller
 * than the entry's sizes -> -EFAULT (the binding did not retry); every
 * request on a hung-up tty -> -EIO (hung_up_tty_ioctl).  Fills *res and
 * returns res->ret (0 for the WAIT actions).
 */
int tty_ioctl_handle(struct tty_ioctl_dev *d, const struct tty_ioctl_req *r,
                     struct tty_ioctl_result *res);

#endif /* TTY_IOCTL_H */
