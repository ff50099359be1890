/* SPDX-License-Identifier: MIT */
/* cli - shared command-line helpers (see cli.h). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "uc_error.h"
#include "uc_escape.h"

void cli_enable_verbose(gboolean verbose)
{
	if (verbose)
		g_setenv("G_MESSAGES_DEBUG", UC_LOG_DOMAINS, TRUE);
}

static char *escape(const char *text, unsigned flags)
{
	gsize len = strlen(text);
	gsize size = UC_ESCAPE_MAX(len);
	char *out = g_malloc(size);
	uc_escape(out, size, text, len, flags);
	return out;
}

char *cli_escape(const char *text)
{
	return escape(text ? text : "", 0);
}

void cli_print_error(const char *command, const char *message)
{
	g_autofree char *safe = escape(message ? message : "", UC_ESCAPE_KEEP_BACKSLASH);
	fprintf(stderr, "usbip-cuse%s%s: %s\n", command ? " " : "", command ? command : "", safe);
}

void cli_printf_error(const char *command, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	cli_print_error(command, msg);
}

int cli_fail(const char *command, GError *error, int status)
{
	cli_print_error(command, error->message);
	g_error_free(error);
	return status;
}
