/* SPDX-License-Identifier: MIT */
/*
 * cli - what every usbip-cuse command shares on its command line: the
 * default server, -v, and how errors reach the terminal (level 2).
 */
#ifndef CLI_H
#define CLI_H

#include <glib.h>

#define CLI_DEFAULT_SERVER "127.0.0.1"

/* Exit statuses of every command. */
#define CLI_EXIT_OK      0
#define CLI_EXIT_FAILURE 1 /* start-up or runtime error */
#define CLI_EXIT_USAGE   2 /* bad command line or configuration */

/* "-v, --verbose": sets *flag. */
#define CLI_VERBOSE_ENTRY(flag)                                                                    \
	{                                                                                          \
		"verbose", 'v', 0, G_OPTION_ARG_NONE, (flag), "Log debug messages", NULL           \
	}

/* Turn on debug messages of every usbip-cuse log domain (G_MESSAGES_DEBUG). */
void cli_enable_verbose(gboolean verbose);

/*
 * Print "usbip-cuse[ COMMAND]: MESSAGE" on stderr.  The message may hold
 * text from a server or a device (bus ids, strings): control characters
 * are escaped (uc_escape, backslashes kept) so it stays one harmless line.
 * command may be NULL.
 */
void cli_print_error(const char *command, const char *message);
G_GNUC_PRINTF(2, 3) void cli_printf_error(const char *command, const char *format, ...);

/* Print error (see cli_print_error), free it, return status. */
int cli_fail(const char *command, GError *error, int status);

/* Text from a server or a device made safe for a terminal (uc_escape,
 * backslashes doubled); free with g_free(). */
char *cli_escape(const char *text);

#endif /* CLI_H */
