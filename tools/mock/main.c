/* SPDX-License-Identifier: MIT */
/*
 * usbip-mock-server - a mock USBIP server (Linux usbipd + usbip-host look-alike)
 * that exports every *.lsusb file of a directory, each played by a chip model
 * (CDC-ACM, FTDI, CP210x, CH34x, PL2303: tools/mock/mock_model.h); every
 * serial port loops its bulk OUT data back to bulk IN, framed as the chip
 * frames it.
 *
 *   usbip-mock-server [--dir DIR] [--port N] [--listen ADDR] [--control PATH] [--verbose]
 *
 * --port 0 picks a free port.  The port listened on is printed on stdout as
 * one line (a number) once the server accepts connections.
 *
 * Control channel (--control PATH, a Unix stream socket; e.g.
 * `echo 'linecoding 1-1' | socat - UNIX-CONNECT:PATH`): one command per
 * line; the reply is one line, or a block of lines ended by "ok"; failures
 * are "error: MESSAGE".
 *
 *   help                           this list
 *   list                           BUSID STATE per device (block)
 *   state BUSID                    free | imported | unplugged
 *   linecoding BUSID [INTF]        line settings as the chip decodes them, "115200 8 N 1"
 *   lines BUSID [INTF]             DTR/RTS values the host set, in order, "0x3 0x2 0x0"
 *   breaks BUSID [INTF]            SEND_BREAK values / break on (0xffff) and off (0x0)
 *   requests BUSID                 recorded control requests (block): TYPE REQUEST VALUE
 *                                  INDEX LENGTH STATUS DATA
 *   clear BUSID                    forget the recorded requests
 *   serial-state BUSID BITS [INTF] inject SERIAL_STATE (0x1 DCD 0x2 DSR 0x4 break 0x8 RI
 *                                  0x10 framing 0x20 parity 0x40 overrun)
 *   modem BUSID LINES [INTF]       far-end lines/events for any chip: cts,dsr,ri,dcd,break,...
 *   model BUSID                    the chip model playing the device
 *   chip BUSID [INTF]              the model's raw registers
 *   stall BUSID EP                 halt EP (0x81...) until CLEAR_FEATURE; 0: next control
 *   unplug BUSID / replug BUSID    simulate unplug (-ESHUTDOWN, close) and re-plug
 *   delay BUSID MS                 delay URB replies
 *   drop BUSID                     close the importer's TCP connection
 *   quit                           close the control connection
 *
 * INTF selects a serial port by the interface its requests name.
 */
#define G_LOG_DOMAIN "usbip-mock"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib-unix.h>
#include <glib.h>

#include "mock_control.h"
#include "mock_server.h"

#ifndef MOCK_SOURCE_FIXTURES
#define MOCK_SOURCE_FIXTURES "test/lsusb"
#endif

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

/* --dir default: test/lsusb when run from the source tree, else the one of
 * the tree this binary was built from. */
static const char *default_dir(void)
{
	if (g_file_test("test/lsusb", G_FILE_TEST_IS_DIR))
		return "test/lsusb";
	return MOCK_SOURCE_FIXTURES;
}

int main(int argc, char **argv)
{
	g_autofree char *dir = NULL;
	g_autofree char *listen = NULL;
	g_autofree char *control = NULL;
	gint port = 3240;
	gboolean verbose = FALSE;
	GOptionEntry entries[] = {
	    {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
	     "Directory of *.lsusb fixtures (default: test/lsusb of the source tree)", "DIR"},
	    {"port", 'p', 0, G_OPTION_ARG_INT, &port,
	     "TCP port (default 3240; 0 picks one; printed on stdout)", "N"},
	    {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
	     "Numeric address to listen on (default 127.0.0.1)", "ADDR"},
	    {"control", 'c', 0, G_OPTION_ARG_FILENAME, &control,
	     "Unix socket for text commands (see below)", "PATH"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log every request", NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) octx = g_option_context_new("- mock USBIP server");
	g_autoptr(GError) err = NULL;
	g_autoptr(MockServer) srv = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autofree char *desc = NULL;

	setlocale(LC_ALL, "");
	desc = g_strconcat("Control channel commands (one per line; reply: one line or a block "
	                   "ended by \"ok\"):\n",
	                   mock_control_help, NULL);
	g_option_context_add_main_entries(octx, entries, NULL);
	g_option_context_set_description(octx, desc);
	if (!g_option_context_parse(octx, &argc, &argv, &err)) {
		fprintf(stderr, "usbip-mock-server: %s\n", err->message);
		return 2;
	}
	if (argc > 1 || port < 0 || port > 65535) {
		fprintf(stderr, "usbip-mock-server: bad arguments (see --help)\n");
		return 2;
	}
	if (verbose)
		g_log_set_debug_enabled(TRUE);

	srv = mock_server_new(dir ? dir : default_dir(), listen, (guint16)port, &err);
	if (!srv) {
		fprintf(stderr, "usbip-mock-server: %s\n", err->message);
		return 1;
	}
	if (control && !mock_server_listen_control(srv, control, &err)) {
		fprintf(stderr, "usbip-mock-server: %s: %s\n", control, err->message);
		return 1;
	}
	printf("%u\n", mock_server_get_port(srv));
	fflush(stdout);

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	signal(SIGPIPE, SIG_IGN);
	g_main_loop_run(loop);
	return 0;
}
