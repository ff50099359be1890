/* SPDX-License-Identifier: MIT */
/*
 * usbip-cuse: command line.
 *
 *   usbip-cuse [--server HOST[:PORT]] --device SELECTOR [...]   the daemon
 *   usbip-cuse --config FILE                                   the daemon
 *   usbip-cuse check-config FILE
 *   usbip-cuse list [HOST[:PORT]] [--json]
 *   usbip-cuse cat --server HOST[:PORT] --device SELECTOR
 */
#define G_LOG_DOMAIN "usbip-cuse"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_client.h"
#include "config.h"
#include "uc_error.h"
#include "usbip_device.h"

#include "daemon.h"

#define DEFAULT_SERVER CLI_DEFAULT_SERVER

static gboolean opt_verbose;

static void enable_verbose(void)
{
	cli_enable_verbose(opt_verbose);
}

static int fail(GError *error)
{
	return cli_fail(NULL, error, CLI_EXIT_FAILURE);
}

static int main_list(int argc, char **argv)
{
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
	    {"json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL},
	    CLI_VERBOSE_ENTRY(&opt_verbose),
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[HOST[:PORT]]");
	GError *error = NULL;
	g_option_context_set_summary(ctx,
	                             "List the devices a USBIP server exports; DRIVER names "
	                             "the serial driver that claims\neach (cdc_acm, ftdi, "
	                             "cp210x, ch341, pl2303) and PORTS counts its serial ports.\n"
	                             "HOST defaults to " DEFAULT_SERVER ", PORT to 3240.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		return fail(error);
	enable_verbose();
	if (argc > 2) {
		cli_print_error("list", "one server at most");
		return CLI_EXIT_USAGE;
	}
	int rc = cmd_client_list(argc == 2 ? argv[1] : DEFAULT_SERVER, json, &error);
	if (error)
		return fail(error);
	return rc;
}

static int main_cat(int argc, char **argv)
{
	g_autofree char *server = NULL, *device = NULL; /* GOption allocates them */
	gint baud = 115200, function = 0, idle_ms = 0;
	gint64 bytes = 0;
	const GOptionEntry entries[] = {
	    {"server", 's', 0, G_OPTION_ARG_STRING, &server, "USBIP server", "HOST[:PORT]"},
	    {"device", 'd', 0, G_OPTION_ARG_STRING, &device, "Device to attach", "SELECTOR"},
	    {"function", 'f', 0, G_OPTION_ARG_INT, &function,
	     "Serial port index within the device (0)", "N"},
	    {"baud", 'b', 0, G_OPTION_ARG_INT, &baud, "Line rate, 8N1 (115200)", "RATE"},
	    {"idle-exit", 'i', 0, G_OPTION_ARG_INT, &idle_ms,
	     "After end of input, exit when the device is quiet this long", "MS"},
	    {"bytes", 'n', 0, G_OPTION_ARG_INT64, &bytes, "Exit after receiving N bytes", "N"},
	    CLI_VERBOSE_ENTRY(&opt_verbose),
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	GError *error = NULL;
	g_option_context_set_summary(
	    ctx, "Attach one USB serial device and copy stdin to it and its data to stdout\n"
	         "(no /dev/cuse needed).\n\n"
	         "SELECTOR: BUSID (1-1), VID:PID (2e8a:000a), VID:PID:SERIAL, or VID:PID#N\n"
	         "(the N-th such device in bus-id order, from 0).");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		return fail(error);
	enable_verbose();
	if (!device) {
		cli_print_error("cat", "--device is required");
		return CLI_EXIT_USAGE;
	}
	if (baud <= 0 || function < 0 || idle_ms < 0 || bytes < 0) {
		cli_print_error("cat", "numbers must not be negative");
		return CLI_EXIT_USAGE;
	}
	UsbipSelector sel;
	if (!usbip_selector_parse(device, &sel, &error))
		return fail(error);
	CmdCatOptions opt = {
	    .function = (guint)function,
	    .baud = (guint)baud,
	    .idle_ms = (guint)idle_ms,
	    .bytes = (guint64)bytes,
	};
	int rc = cmd_client_cat(server ? server : DEFAULT_SERVER, &sel, &opt, &error);
	if (error)
		return fail(error);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage:\n"
	        "  usbip-cuse [--server HOST[:PORT]] --device SELECTOR [--device ...] [OPTION...]\n"
	        "  usbip-cuse --config FILE [OPTION...]\n"
	        "  usbip-cuse check-config FILE\n"
	        "  usbip-cuse list [HOST[:PORT]] [--json]\n"
	        "  usbip-cuse cat [--server HOST[:PORT]] --device SELECTOR\n"
	        "  usbip-cuse --version\n"
	        "\n"
	        "Run `usbip-cuse COMMAND --help` for the options of a command.\n");
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return main_list(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "cat") == 0)
		return main_cat(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "check-config") == 0)
		return daemon_check_config(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("usbip-cuse %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return daemon_main(argc, argv);
}
