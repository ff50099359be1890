/* SPDX-License-Identifier: MIT */
/*
 * The usbip-cuse daemon: attach the selected devices, create one CUSE tty
 * node per serial port, keep them alive across link losses, and remove
 * them cleanly on SIGTERM/SIGINT.  One GLib main loop, no threads of ours.
 */
#define G_LOG_DOMAIN "usbip-cuse"

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serial_bridge.h"
#include "uc_error.h"

#define DEFAULT_SERVER "127.0.0.1"
#define DEFAULT_NAME   "ttyUSBIP%u"

typedef struct {
	GMainLoop *loop;
	GPtrArray *devices; /* UsbipDevice* */
	GPtrArray *bridges; /* SerialBridge* */
	guint starting;
	guint stopping;
	GError *error;
	int ready_fd; /* write end of the pipe to the parent, or -1 */
	gboolean quitting;
	int exit_code;
	gint64 ready_deadline; /* monotonic us */
	guint ready_src;
} Daemon;

static gboolean valid_pattern(const char *p)
{
	/* exactly one %u (or %d), no other conversion: it is a format string */
	const char *c = strchr(p, '%');
	if (!c || (c[1] != 'u' && c[1] != 'd') || strchr(c + 2, '%'))
		return FALSE;
	return !strchr(p, '/') && strlen(p) < 64;
}

/* pattern with its one %u/%d replaced by n (validated by valid_pattern) */
static char *node_name(const char *pattern, guint n)
{
	const char *c = strchr(pattern, '%');
	return g_strdup_printf("%.*s%u%s", (int)(c - pattern), pattern, n, c + 2);
}

static void report_ready(Daemon *d, const char *msg)
{
	if (d->ready_fd < 0)
		return;
	/* The parent prints msg, or exits 0 on the single NUL of success. */
	if (write(d->ready_fd, msg ? msg : "", msg ? strlen(msg) : 1) < 0)
		g_debug("cannot report to the parent: %s", g_strerror(errno));
	close(d->ready_fd);
	d->ready_fd = -1;
}

typedef struct {
	Daemon *d;
	UsbipDevice *dev;
} StartCtx;

static void device_started(GObject *src, GAsyncResult *res, gpointer user)
{
	StartCtx *c = user;
	Daemon *d = c->d;
	GError *err = NULL;
	if (!usbip_device_start_finish(c->dev, res, &err)) {
		if (!d->error)
			d->error = err;
		else
			g_error_free(err);
	}
	g_free(c);
	/* after a signal the loop belongs to the shutdown: leave it running */
	if (--d->starting == 0 && !d->quitting)
		g_main_loop_quit(d->loop);
}

static gboolean all_ready(Daemon *d)
{
	for (guint i = 0; i < d->bridges->len; i++)
		if (!cuse_tty_is_ready(serial_bridge_get_tty(g_ptr_array_index(d->bridges, i))))
			return FALSE;
	return TRUE;
}

/* Wait for CUSE_INIT of every node, at most 10 s. */
static gboolean ready_poll(gpointer user)
{
	Daemon *d = user;
	if (all_ready(d) || d->quitting) {
		d->ready_src = 0;
		g_main_loop_quit(d->loop);
		return G_SOURCE_REMOVE;
	}
	if (g_get_monotonic_time() > d->ready_deadline) {
		g_set_error(&d->error, UC_ERROR, UC_ERROR_CUSE,
		            "the kernel did not create the device nodes (CUSE_INIT unanswered)");
		d->ready_src = 0;
		g_main_loop_quit(d->loop);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void device_stopped(GObject *src, GAsyncResult *res, gpointer user)
{
	Daemon *d = user;
	d->stopping--;
}

static gboolean on_signal(gpointer user)
{
	Daemon *d = user;
	if (!d->quitting) {
		g_message("signal received: removing the nodes");
		d->quitting = TRUE;
		g_main_loop_quit(d->loop);
	}
	return G_SOURCE_CONTINUE;
}

/* Orderly stop: unlink and close every device (the server releases it),
 * then remove the nodes. */
static void daemon_stop(Daemon *d)
{
	d->stopping = d->devices->len;
	for (guint i = 0; i < d->devices->len; i++)
		usbip_device_shutdown_async(g_ptr_array_index(d->devices, i), 1000, device_stopped,
		                            d);
	/* Not the main loop: a late start-up source could quit it early. */
	while (d->stopping > 0)
		g_main_context_iteration(NULL, TRUE);
	g_ptr_array_set_size(d->bridges, 0);
	g_ptr_array_set_size(d->devices, 0);
}

/* Fork; the parent waits until the child reports its start-up result, so
 * that errors still reach the terminal that started us. */
static int daemonize(int *ready_fd)
{
	int p[2];
	if (pipe(p) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		char buf[1024];
		ssize_t n, total = 0;
		while ((n = read(p[0], buf + total, sizeof(buf) - 1 - (gsize)total)) > 0)
			total += n;
		/* one NUL byte: ready; text: the error; nothing: it died */
		if (total == 1 && buf[0] == 0)
			_exit(0);
		buf[total] = 0;
		fprintf(stderr, "usbip-cuse: %s\n",
		        total > 0 ? buf : "the daemon exited during start-up");
		_exit(1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (chdir("/") < 0)
		g_debug("chdir /: %s", g_strerror(errno));
}

int daemon_main(int argc, char **argv)
{
	/* GOption allocates what it parses; the defaults are filled in after. */
	g_autofree char *server_opt = NULL, *pattern_opt = NULL, *cuse_opt = NULL;
	g_auto(GStrv) selectors = NULL;
	gboolean foreground = FALSE, verbose = FALSE, keep_open = FALSE, fuse_debug = FALSE;
	gint rx_buffer = 65536, backoff_max = 10000, rx_urbs = 16, urb_size = 16384;
	const GOptionEntry entries[] = {
	    {"server", 's', 0, G_OPTION_ARG_STRING, &server_opt,
	     "USBIP server (default " DEFAULT_SERVER ", port 3240)", "HOST[:PORT]"},
	    {"device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &selectors,
	     "Device to attach (repeatable): BUSID, VID:PID, VID:PID:SERIAL, VID:PID#N",
	     "SELECTOR"},
	    {"name", 'n', 0, G_OPTION_ARG_STRING, &pattern_opt,
	     "Node name pattern, one %u for the number (default " DEFAULT_NAME ")", "PATTERN"},
	    {"foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground,
	     "Stay in the foreground (default: detach once the nodes exist)", NULL},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL},
	    {"keep-open-on-reset", 0, 0, G_OPTION_ARG_NONE, &keep_open,
	     "Keep open files usable across a link loss (default: hang them up once)", NULL},
	    {"rx-buffer", 0, 0, G_OPTION_ARG_INT, &rx_buffer,
	     "Receive buffer per node in bytes (65536)", "BYTES"},
	    {"rx-urbs", 0, 0, G_OPTION_ARG_INT, &rx_urbs, "Bulk-IN reads in flight (16)", "N"},
	    {"urb-size", 0, 0, G_OPTION_ARG_INT, &urb_size, "Bytes per bulk read/write URB (16384)",
	     "BYTES"},
	    {"backoff-max", 0, 0, G_OPTION_ARG_INT, &backoff_max,
	     "Longest reconnect delay in ms (10000)", "MS"},
	    {"cuse-device", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &cuse_opt,
	     "CUSE control device", "PATH"},
	    {"debug-fuse", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &fuse_debug,
	     "libfuse debug output", NULL},
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- serial ports over USBIP");
	GError *error = NULL;
	g_option_context_set_summary(
	    ctx, "Import USB serial devices (CDC-ACM; FTDI, CP210x, CH34x, PL2303 chips) from a\n"
	         "USBIP server and expose each serial port as a tty node /dev/ttyUSBIP0,\n"
	         "/dev/ttyUSBIP1, ... through CUSE.\n"
	         "The nodes stay while the server, network or device is away; the daemon\n"
	         "reconnects and sets the device up again.\n\n"
	         "Other commands: `usbip-cuse list [HOST]`, `usbip-cuse cat --help`.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "usbip-cuse: %s\n", error->message);
		g_error_free(error);
		return 2;
	}
	const char *server = server_opt ? server_opt : DEFAULT_SERVER;
	const char *pattern = pattern_opt ? pattern_opt : DEFAULT_NAME;
	const char *cuse_path = cuse_opt ? cuse_opt : "/dev/cuse";
	if (argc > 1) {
		fprintf(stderr, "usbip-cuse: unexpected argument \"%s\" (see --help)\n", argv[1]);
		return 2;
	}
	if (!selectors || !selectors[0]) {
		fprintf(stderr,
		        "usbip-cuse: name at least one --device (see `usbip-cuse list %s`)\n",
		        server);
		return 2;
	}
	if (!valid_pattern(pattern)) {
		fprintf(stderr, "usbip-cuse: --name needs exactly one %%u and no '/'\n");
		return 2;
	}
	if (urb_size > (gint)USBIP_CONN_MAX_URB_OPTION && urb_size <= (gint)USBIP_CONN_MAX_URB) {
		fprintf(stderr,
		        "usbip-cuse: --urb-size %d: at most %u, so that rounding it up to the "
		        "device's packet size stays within the %u-byte URB limit\n",
		        urb_size, USBIP_CONN_MAX_URB_OPTION, USBIP_CONN_MAX_URB);
		return 2;
	}
	if (rx_buffer < 256 || rx_urbs < 1 || rx_urbs > 64 || urb_size < 64 ||
	    urb_size > (1 << 20) || backoff_max < 10) {
		fprintf(stderr, "usbip-cuse: a numeric option is out of range (see --help)\n");
		return 2;
	}
	if (verbose)
		g_setenv("G_MESSAGES_DEBUG", UC_LOG_DOMAINS, TRUE);

	guint n_sel = g_strv_length(selectors);
	UsbipSelector *sels = g_new0(UsbipSelector, n_sel);
	for (guint i = 0; i < n_sel; i++) {
		if (!usbip_selector_parse(selectors[i], &sels[i], &error)) {
			fprintf(stderr, "usbip-cuse: %s\n", error->message);
			g_error_free(error);
			g_free(sels);
			return 2;
		}
	}
	/* Fail early and clearly when CUSE is not usable here. */
	int probe = open(cuse_path, O_RDWR | O_CLOEXEC);
	if (probe < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			fprintf(stderr,
			        "usbip-cuse: %s is missing: load the cuse module: modprobe cuse\n",
			        cuse_path);
		else if (e == EACCES || e == EPERM)
			fprintf(stderr, "usbip-cuse: cannot open %s: %s (run usbip-cuse as root)\n",
			        cuse_path, g_strerror(e));
		else
			fprintf(stderr, "usbip-cuse: cannot open %s: %s\n", cuse_path,
			        g_strerror(e));
		g_free(sels);
		return 1;
	}
	close(probe);

	Daemon d = {.ready_fd = -1};
	if (!foreground) {
		int rc = daemonize(&d.ready_fd);
		if (rc < 0) {
			fprintf(stderr, "usbip-cuse: cannot detach: %s\n", g_strerror(-rc));
			g_free(sels);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	d.loop = g_main_loop_new(NULL, FALSE);
	d.devices = g_ptr_array_new_with_free_func((GDestroyNotify)usbip_device_free);
	d.bridges = g_ptr_array_new_with_free_func((GDestroyNotify)serial_bridge_free);
	guint sig_term = g_unix_signal_add(SIGTERM, on_signal, &d);
	guint sig_int = g_unix_signal_add(SIGINT, on_signal, &d);

	UsbipDeviceConfig dcfg;
	usbip_device_config_init(&dcfg);
	dcfg.backoff_max_ms = (guint)backoff_max;
	for (guint i = 0; i < n_sel; i++)
		g_ptr_array_add(d.devices, usbip_device_new(server, &sels[i], &dcfg));
	g_free(sels);

	/* Attach every device (concurrently); the first failure is fatal. */
	d.starting = d.devices->len;
	for (guint i = 0; i < d.devices->len; i++) {
		StartCtx *c = g_new0(StartCtx, 1);
		c->d = &d;
		c->dev = g_ptr_array_index(d.devices, i);
		usbip_device_start_async(c->dev, device_started, c);
	}
	g_main_loop_run(d.loop);

	SerialPortConfig pcfg;
	serial_port_config_init(&pcfg);
	pcfg.rx_urbs = (guint)rx_urbs;
	pcfg.rx_urb_size = (gsize)urb_size;
	pcfg.tx_urb_size = (gsize)urb_size;
	guint node = 0;
	for (guint i = 0; !d.error && !d.quitting && i < d.devices->len; i++) {
		UsbipDevice *dev = g_ptr_array_index(d.devices, i);
		for (guint f = 0; !d.error && f < usbip_device_get_n_functions(dev); f++) {
			g_autofree char *name = node_name(pattern, node);
			CuseTtyConfig tcfg = {
			    .name = name,
			    .cuse_path = cuse_path,
			    .line = node,
			    .rx_size = (gsize)rx_buffer,
			    .keep_open_on_reset = keep_open,
			    .debug = fuse_debug,
			};
			SerialBridge *b = serial_bridge_new(dev, f, &tcfg, &pcfg, &d.error);
			if (!b)
				break;
			g_ptr_array_add(d.bridges, b);
			g_message("/dev/%s: %s %s %04x:%04x \"%s\" serial \"%s\" port %u (%s)",
			          name, server, usbip_device_get_busid(dev),
			          usbip_device_get_descriptor(dev)->idVendor,
			          usbip_device_get_descriptor(dev)->idProduct,
			          usbip_device_get_product(dev), usbip_device_get_serial(dev), f,
			          serial_drv_name(usbip_device_get_function(dev, f)->driver));
			node++;
		}
	}
	if (!d.error && !d.quitting) {
		d.ready_deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
		d.ready_src = g_timeout_add(5, ready_poll, &d);
		g_main_loop_run(d.loop);
		if (d.ready_src)
			g_source_remove(d.ready_src);
	}
	if (d.error) {
		if (d.ready_fd >= 0)
			report_ready(&d, d.error->message);
		else
			fprintf(stderr, "usbip-cuse: %s\n", d.error->message);
		d.exit_code = 1;
	} else if (d.quitting) {
		report_ready(&d, "stopped by a signal during start-up");
	} else {
		report_ready(&d, NULL);
		if (!foreground)
			detach_stdio();
		printf("usbip-cuse: ready with %u node(s)\n", node);
		fflush(stdout);
		g_main_loop_run(d.loop);
	}
	daemon_stop(&d);
	g_source_remove(sig_term);
	g_source_remove(sig_int);
	g_ptr_array_unref(d.bridges);
	g_ptr_array_unref(d.devices);
	g_main_loop_unref(d.loop);
	g_clear_error(&d.error);
	return d.exit_code;
}
