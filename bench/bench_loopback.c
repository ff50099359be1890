/* SPDX-License-Identifier: MIT */
/*
 * bench_loopback: throughput, 1-byte round-trip latency and client CPU cost
 * of the client engine against a USBIP server's loopback device.
 *
 *   bench-loopback [--server HOST[:PORT]] [--device SEL] [--mib N] [--pings N]
 *
 * Without --server it starts tools/mock/usbip-mock-server as a child process
 * (so the figures count only the client's CPU time) on a free port.
 * Prints figures; asserts nothing about them.
 */
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "serial_port.h"
#include "usbip_device.h"

typedef struct {
	GMainLoop *loop;
	UsbipDevice *dev;
	SerialPort *port;
	gboolean started_ok;
	GError *error;
	const guint8 *tx;
	gsize tx_len, tx_off;
	gsize rx_len, rx_want;
	guint8 rx_last;
	gboolean mismatch;
} Bench;

/* The data to send is the port's write queue: it pulls from it. */
static gsize on_pull(SerialPort *p, guint8 *buf, gsize max, gpointer user)
{
	Bench *b = user;
	return serial_port_take(buf, max, b->tx, b->tx_len, &b->tx_off);
}

static gsize on_ready(SerialPort *p, gpointer user)
{
	Bench *b = user;
	return b->tx_len - b->tx_off;
}

static void pump(Bench *b)
{
	serial_port_tx_kick(b->port);
}

static gsize on_rx(SerialPort *p, const guint8 *data, gsize len, gpointer user)
{
	Bench *b = user;
	for (gsize i = 0; i < len; i++)
		if (data[i] != b->tx[(b->rx_len + i) % b->tx_len])
			b->mismatch = TRUE;
	b->rx_len += len;
	if (b->rx_len >= b->rx_want)
		g_main_loop_quit(b->loop);
	return len;
}

static void on_link(SerialPort *p, gboolean up, const GError *error, gpointer user)
{
	Bench *b = user;
	if (up)
		g_main_loop_quit(b->loop);
}

static void started(GObject *src, GAsyncResult *res, gpointer user)
{
	Bench *b = user;
	b->started_ok = usbip_device_start_finish(b->dev, res, &b->error);
	g_main_loop_quit(b->loop);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static gboolean timeout_cb(gpointer user)
{
	Bench *b = user;
	g_printerr("bench: timed out\n");
	b->mismatch = TRUE;
	g_main_loop_quit(b->loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	const char *server = NULL;
	const char *device = "1-1";
	const char *mock = NULL;
	gint mib = 16, pings = 1000;
	GOptionEntry entries[] = {
	    {"server", 's', 0, G_OPTION_ARG_STRING, &server,
	     "USBIP server (default: start the mock)", "HOST[:PORT]"},
	    {"device", 'd', 0, G_OPTION_ARG_STRING, &device, "Device selector (1-1)", "SEL"},
	    {"mock", 0, 0, G_OPTION_ARG_FILENAME, &mock, "Path of usbip-mock-server", "PATH"},
	    {"mib", 'm', 0, G_OPTION_ARG_INT, &mib, "MiB to loop back (16)", "N"},
	    {"pings", 'p', 0, G_OPTION_ARG_INT, &pings, "1-byte round trips (1000)", "N"},
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	GError *err = NULL;
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || mib <= 0 || pings <= 0) {
		g_printerr("bench: %s\n", err ? err->message : "bad numbers");
		return 2;
	}

	GPid child = 0;
	g_autofree char *server_buf = NULL;
	if (!server) {
		if (!mock)
			mock = MOCK_SERVER_PATH;
		const char *fixtures = FIXTURE_DIR;
		char *child_argv[] = {(char *)mock, "--dir", (char *)fixtures, "--port", "0", NULL};
		gint out_fd;
		if (!g_spawn_async_with_pipes(NULL, child_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
		                              &child, NULL, &out_fd, NULL, &err)) {
			g_printerr("bench: cannot start the mock: %s\n", err->message);
			return 1;
		}
		/* The mock prints the port it picked on its first line. */
		char line[256] = {0};
		gsize n = 0;
		while (n < sizeof(line) - 1 && read(out_fd, line + n, 1) == 1 && line[n] != '\n')
			n++;
		line[n] = 0;
		const char *digits = line + strcspn(line, "0123456789");
		guint port = (guint)g_ascii_strtoull(digits, NULL, 10);
		if (!port) {
			g_printerr("bench: the mock printed no port (\"%s\")\n", line);
			return 1;
		}
		server_buf = g_strdup_printf("127.0.0.1:%u", port);
		server = server_buf;
	}

	UsbipSelector sel;
	if (!usbip_selector_parse(device, &sel, &err)) {
		g_printerr("bench: %s\n", err->message);
		return 2;
	}
	Bench b = {.loop = g_main_loop_new(NULL, FALSE)};
	b.dev = usbip_device_new(server, &sel, NULL);
	usbip_device_start_async(b.dev, started, &b);
	g_main_loop_run(b.loop);
	if (!b.started_ok) {
		g_printerr("bench: %s\n", b.error->message);
		return 1;
	}
	static const SerialPortCallbacks cb = {
	    .rx = on_rx, .tx_pull = on_pull, .tx_ready = on_ready, .link = on_link};
	b.port = serial_port_new(b.dev, 0, NULL, &cb, &b);
	g_main_loop_run(b.loop); /* until the port is set up */

	/* throughput: mib MiB through the loopback, writes and reads in flight */
	gsize total = (gsize)mib << 20;
	guint8 *data = g_malloc(total);
	for (gsize i = 0; i < total; i++)
		data[i] = (guint8)(i * 2654435761u >> 13);
	b.tx = data;
	b.tx_len = total;
	b.rx_want = total;
	guint to = g_timeout_add_seconds(300, timeout_cb, &b);
	double cpu0 = cpu_seconds();
	gint64 t0 = g_get_monotonic_time();
	pump(&b);
	g_main_loop_run(b.loop);
	gint64 t1 = g_get_monotonic_time();
	double cpu1 = cpu_seconds();
	g_source_remove(to);
	if (b.mismatch || b.rx_len != total) {
		g_printerr("bench: loopback data mismatch\n");
		return 1;
	}
	double secs = (double)(t1 - t0) / 1e6;
	double mb = (double)total / 1e6;
	printf("loopback: %d MiB in %.3f s = %.1f MB/s (both directions at once)\n", mib, secs,
	       mb / secs);
	printf("client CPU: %.3f s = %.4f CPU-s per MB looped back\n", cpu1 - cpu0,
	       (cpu1 - cpu0) / mb);

	/* latency: one byte out, wait for it back, pings times */
	double *rtt = g_new(double, pings);
	guint8 one[1];
	for (gint i = 0; i < pings; i++) {
		one[0] = (guint8)i;
		b.tx = one;
		b.tx_len = 1;
		b.tx_off = 0;
		b.rx_len = 0;
		b.rx_want = 1;
		gint64 s = g_get_monotonic_time();
		pump(&b);
		g_main_loop_run(b.loop);
		rtt[i] = (double)(g_get_monotonic_time() - s);
		if (b.mismatch) {
			g_printerr("bench: ping mismatch\n");
			return 1;
		}
	}
	qsort(rtt, (size_t)pings, sizeof(double), cmp_double);
	printf("1-byte round trip: median %.0f us, p99 %.0f us, max %.0f us (%d pings)\n",
	       rtt[pings / 2], rtt[(gsize)((pings - 1) * 0.99)], rtt[pings - 1], pings);

	serial_port_free(b.port);
	usbip_device_free(b.dev);
	if (child) {
		kill(child, SIGTERM);
		g_spawn_close_pid(child);
	}
	g_free(rtt);
	g_free(data);
	g_main_loop_unref(b.loop);
	return 0;
}
