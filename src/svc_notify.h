/* SPDX-License-Identifier: MIT */
/*
 * svc_notify - the systemd service notification protocol, spoken with GIO
 * (level 2; no libsystemd).
 *
 * A service of Type=notify tells systemd its state with datagrams of
 * newline-separated VARIABLE=VALUE lines ("READY=1", "STATUS=...",
 * "STOPPING=1") sent to the AF_UNIX datagram socket named by the
 * environment variable NOTIFY_SOCKET: a file system path ("/run/systemd/
 * notify"), or an abstract socket when it starts with '@' (the '@' stands
 * for the leading NUL byte).  See sd_notify(3).  Without NOTIFY_SOCKET
 * nothing is sent and nothing fails.
 *
 * The socket is created and connected once (svc_notify_new()) so that
 * sending keeps working after the daemon dropped its privileges.
 */
#ifndef SVC_NOTIFY_H
#define SVC_NOTIFY_H

#include <glib.h>

typedef struct _SvcNotify SvcNotify;

/* NULL (and no error) when NOTIFY_SOCKET is unset or empty; NULL with
 * *error when it is malformed or no socket can be made. */
SvcNotify *svc_notify_new(GError **error);
void svc_notify_free(SvcNotify *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvcNotify, svc_notify_free)

/* Send one datagram holding state ("READY=1\nSTATUS=..."); n may be NULL
 * (nothing sent, TRUE). */
gboolean svc_notify_send(SvcNotify *n, const char *state, GError **error);

#endif /* SVC_NOTIFY_H */
