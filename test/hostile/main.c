/* SPDX-License-Identifier: MIT */
/*
 * usbip-hostile-server - a misbehaving USBIP server for tests.
 *
 *   usbip-hostile-server [--listen ADDR] [--port N] [--stats FILE] [BEHAVIOUR...]
 *
 * BEHAVIOURs are the items of hostile_server.h ("ctrl-status=-600",
 * "trickle-list=500", "evil-strings", ...); none: a well-behaved CDC-ACM
 * loopback device 1209:0001 on busid 1-1.  The port is printed on stdout as
 * one line once the server accepts connections.  SIGUSR1 and the exit
 * (SIGTERM/SIGINT) write the counters to FILE (or stdout) as NAME=VALUE lines.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>

#include <glib-unix.h>
#include <glib.h>

#include "hostile_server.h"

typedef struct {
	GMainLoop *loop;
	HostileServer *s;
	const char *stats;
} Ctx;

static void write_stats(Ctx *c)
{
	HostileStats st;
	hostile_server_get_stats(c->s, &st);
	g_autofree char *text = g_strdup_printf(
	    "connections=%u\nlists=%u\nimports=%u\nurbs=%u\nunlinks=%u\nunlinks_answered=%u\n"
	    "unlinks_lost=%u\nclosed_busy=%u\nclass_requests=%u\nbulk_out_bytes=%" G_GUINT64_FORMAT
	    "\n",
	    st.connections, st.lists, st.imports, st.urbs, st.unlinks, st.unlinks_answered,
	    st.unlinks_lost, st.closed_busy, st.class_requests, st.bulk_out_bytes);
	if (!c->stats) {
		fputs(text, stdout);
		fflush(stdout);
	} else if (!g_file_set_contents(c->stats, text, -1, NULL)) {
		fprintf(stderr, "usbip-hostile-server: cannot write %s\n", c->stats);
	}
}

static gboolean on_quit(gpointer user)
{
	g_main_loop_quit(((Ctx *)user)->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_usr1(gpointer user)
{
	write_stats(user);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	g_autofree char *listen = NULL, *stats = NULL;
	gint port = 3240;
	const GOptionEntry entries[] = {
	    {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Address (127.0.0.1)", "ADDR"},
	    {"port", 'p', 0, G_OPTION_ARG_INT, &port, "TCP port (3240; 0 picks one)", "N"},
	    {"stats", 's', 0, G_OPTION_ARG_FILENAME, &stats, "Counters file", "FILE"},
	    {NULL},
	};
	setlocale(LC_ALL, "");
	g_autoptr(GOptionContext) octx = g_option_context_new("[BEHAVIOUR...]");
	g_option_context_add_main_entries(octx, entries, NULL);
	GError *err = NULL;
	if (!g_option_context_parse(octx, &argc, &argv, &err)) {
		fprintf(stderr, "usbip-hostile-server: %s\n", err->message);
		return 2;
	}
	HostileConfig cfg;
	hostile_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		if (!hostile_config_add(&cfg, argv[i], &err)) {
			fprintf(stderr, "usbip-hostile-server: %s\n", err->message);
			return 2;
		}
	}
	if (port < 0 || port > 65535) {
		fprintf(stderr, "usbip-hostile-server: bad port %d\n", port);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	Ctx c = {.loop = g_main_loop_new(NULL, FALSE), .stats = stats};
	c.s = hostile_server_new(&cfg, listen ? listen : "127.0.0.1", (guint16)port, &err);
	if (!c.s) {
		fprintf(stderr, "usbip-hostile-server: %s\n", err->message);
		return 1;
	}
	printf("%u\n", hostile_server_get_port(c.s));
	fflush(stdout);
	g_unix_signal_add(SIGTERM, on_quit, &c);
	g_unix_signal_add(SIGINT, on_quit, &c);
	g_unix_signal_add(SIGUSR1, on_usr1, &c);
	g_main_loop_run(c.loop);
	write_stats(&c);
	hostile_server_free(c.s);
	g_main_loop_unref(c.loop);
	return 0;
}
