/* SPDX-License-Identifier: MIT */
/*
 * mock_control - the text command channel of the mock USBIP server: one
 * command per line, answered by one line or by a block of lines ended by a
 * line "ok".  Errors are one line "error: MESSAGE".  The command list is
 * mock_control_help (also printed by `help` and by `usbip-mock-server --help`).
 */
#ifndef MOCK_CONTROL_H
#define MOCK_CONTROL_H

#include <glib.h>

#include "mock_server.h"

typedef struct _MockControl MockControl;

extern const char mock_control_help[];

/* Listen on a Unix stream socket at path (a stale socket file is replaced;
 * any other existing file is an error).  Sources attach to ctx. */
MockControl *mock_control_new(MockServer *srv, const char *path, GMainContext *ctx, GError **error);
/* Closes every control connection and removes the socket file. NULL is ok. */
void mock_control_free(MockControl *ctl);

/* Run one command line (without its newline).  Returns the reply, every line
 * ending in '\n' (free with g_free).  *quit is set for `quit`. */
char *mock_control_execute(MockServer *srv, const char *line, gboolean *quit);

#endif /* MOCK_CONTROL_H */
