/* SPDX-License-Identifier: MIT */
/*
 * cuse-null: a do-nothing CUSE character device, the ceiling of what any CUSE
 * node can answer.  Every request is answered at once: a read of N bytes gets
 * N zero bytes (at most 128 KiB, the max_read libfuse announces), a write is
 * accepted whole, poll reports readable and writable, ioctls fail ENOTTY.
 *
 *   cuse-null [--name NAME] [--glib]
 *
 * Creates /dev/NAME (default cuse-null), prints "ready" on stdout once the
 * kernel has created it, and runs until SIGTERM or SIGINT.
 * Without --glib the session runs on libfuse's own single-threaded loop
 * (fuse_session_loop: one blocking read of /dev/cuse a request).  With --glib
 * it runs as usbip-cuse's cuse_tty runs it: the /dev/cuse fd non-blocking, a
 * GLib source on it, up to 64 requests a wakeup; the difference between the
 * two is the cost of the main loop itself.
 */
#define FUSE_USE_VERSION 35

#include <cuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NULL_MAX_READ 131072

static char zeros[NULL_MAX_READ];

static void n_init_done(void *userdata)
{
	printf("ready\n");
	fflush(stdout);
}

static void n_open(fuse_req_t req, struct fuse_file_info *fi)
{
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void n_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_reply_buf(req, zeros, size < sizeof(zeros) ? size : sizeof(zeros));
}

static void n_write(fuse_req_t req, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	fuse_reply_write(req, size);
}

static void n_ok(fuse_req_t req, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void n_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
}

static void n_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
                    unsigned int flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	fuse_reply_err(req, ENOTTY);
}

static const struct cuse_lowlevel_ops ops = {
    .init_done = n_init_done,
    .open = n_open,
    .read = n_read,
    .write = n_write,
    .flush = n_ok,
    .release = n_ok,
    .poll = n_poll,
    .ioctl = n_ioctl,
};

/* ---- --glib: the session on a GLib main loop, as cuse_tty runs it ---- */

typedef struct {
	struct fuse_session *se;
	struct fuse_buf fbuf;
	GMainLoop *loop;
} GlibNull;

static gboolean on_session(gint fd, GIOCondition cond, gpointer user)
{
	GlibNull *g = user;
	for (int i = 0; i < 64; i++) {
		int res = fuse_session_receive_buf(g->se, &g->fbuf);
		if (res == -EINTR)
			continue;
		if (res == -EAGAIN)
			return G_SOURCE_CONTINUE;
		if (res <= 0 || fuse_session_exited(g->se)) {
			g_main_loop_quit(g->loop);
			return G_SOURCE_REMOVE;
		}
		fuse_session_process_buf(g->se, &g->fbuf);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer user)
{
	g_main_loop_quit(user);
	return G_SOURCE_REMOVE;
}

static int run_glib(const struct cuse_info *ci)
{
	int fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cuse-null: cannot open /dev/cuse: %s\n", strerror(errno));
		return 1;
	}
	char *argv[] = {"cuse-null", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	GlibNull g = {0};
	g.se = cuse_lowlevel_new(&args, ci, &ops, NULL);
	fuse_opt_free_args(&args);
	char mnt[32];
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fd);
	if (!g.se || fuse_session_mount(g.se, mnt) != 0) {
		fprintf(stderr, "cuse-null: cannot start the CUSE session\n");
		return 1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	g.loop = g_main_loop_new(NULL, FALSE);
	guint src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_session, &g);
	g_unix_signal_add(SIGTERM, on_signal, g.loop);
	g_unix_signal_add(SIGINT, on_signal, g.loop);
	g_main_loop_run(g.loop);
	g_source_remove(src);
	fuse_session_unmount(g.se);
	fuse_session_destroy(g.se);
	free(g.fbuf.mem);
	g_main_loop_unref(g.loop);
	return 0;
}

static int run_plain(const struct cuse_info *ci)
{
	char *argv[] = {"cuse-null", "-f", "-s", NULL};
	int mt;
	struct fuse_session *se = cuse_lowlevel_setup(3, argv, ci, &ops, &mt, NULL);
	if (!se)
		return 1;
	int rc = fuse_session_loop(se);
	cuse_lowlevel_teardown(se);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *name = "cuse-null";
	int glib = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--glib")) {
			glib = 1;
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			name = argv[++i];
		} else {
			fprintf(stderr, "usage: cuse-null [--name NAME] [--glib]\n");
			return 2;
		}
	}
	char *devname = g_strdup_printf("DEVNAME=%s", name);
	const char *dev_info[] = {devname};
	struct cuse_info ci = {.dev_info_argc = 1, .dev_info_argv = dev_info};
	int rc = glib ? run_glib(&ci) : run_plain(&ci);
	g_free(devname);
	return rc;
}
