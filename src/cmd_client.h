/* SPDX-License-Identifier: MIT */
/* The `list` and `cat` subcommands of usbip-cuse (no CUSE needed). */
#ifndef CMD_CLIENT_H
#define CMD_CLIENT_H

#include <glib.h>

#include "usbip_device.h"

/* Device list of a server, run on a private main loop (UsbipExported). */
GPtrArray *cmd_client_list_sync(const char *server, GError **error);
/* Print the table (or JSON); returns the exit status. */
int cmd_client_list(const char *server, gboolean json, GError **error);

typedef struct {
	guint function; /* serial port index in the device */
	guint baud;     /* line rate set after attach (8N1) */
	guint idle_ms;  /* exit after stdin EOF + this long without data (0: never) */
	guint64 bytes;  /* exit after receiving this many bytes (0: no limit) */
} CmdCatOptions;

/* Copy stdin to the device and the device to stdout. */
int cmd_client_cat(const char *server, const UsbipSelector *sel, const CmdCatOptions *opt,
                   GError **error);

#endif /* CMD_CLIENT_H */
