/* SPDX-License-Identifier: MIT */
/*
 * svc_log - where the daemon's log messages go, as a GLib structured log
 * writer (level 2).
 *
 * Targets: stderr (GLib's standard streams format, what the foreground
 * daemon and the tests read), the systemd journal (native protocol on
 * /run/systemd/journal/socket, every field kept), syslog(3) (facility
 * daemon, ident "usbip-cuse").  SVC_LOG_AUTO picks stderr in the
 * foreground (the journal when stderr is already a journal stream, as under
 * systemd) and, once detached, the journal when its socket exists, else
 * syslog: a detached daemon never writes its logs to /dev/null.
 *
 * Every message is escaped on its way out (uc_escape, backslashes kept):
 * text a server or a device put into it cannot forge a line or drive a
 * terminal, whatever the module that logged it.
 *
 * Fields for filtering (journalctl USBIP_NODE=ttyUSBIP0): the daemon
 * registers each node with its server and bus id (svc_log_node_set); a
 * message is about a node when it carries the field USBIP_NODE itself, or
 * when its text starts with the node's name ("/dev/NAME..." or "NAME: ...",
 * as cuse_tty and the bridge word theirs), or with the bus id of its device
 * ("1-2: link lost", usbip_device).  Such a message gets USBIP_NODE (once
 * per node it concerns: a device may have several), USBIP_SERVER and
 * USBIP_BUSID.  Debug messages are dropped unless G_MESSAGES_DEBUG names
 * their domain (-v sets it).
 *
 * Single-threaded: call everything from the main thread (GLib may call the
 * writer from other threads only for messages of its own, which get no
 * node fields).
 */
#ifndef SVC_LOG_H
#define SVC_LOG_H

#include <glib.h>

typedef enum {
	SVC_LOG_AUTO,
	SVC_LOG_STDERR,
	SVC_LOG_JOURNAL,
	SVC_LOG_SYSLOG,
} SvcLogTarget;

#define SVC_LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* The target auto means here (detached: the daemon has left its terminal). */
SvcLogTarget svc_log_resolve(SvcLogTarget target, gboolean detached);

/* Install the writer for target (resolved with svc_log_resolve()). */
void svc_log_init(SvcLogTarget target);
/* Drop the node registry (the writer stays). */
void svc_log_shutdown(void);

/* Register or update a node: messages about it get these fields. */
void svc_log_node_set(const char *node, const char *server, const char *busid);

/*
 * The fields a message gets (see above), appended to out (at most max;
 * GLogField values borrowed from the registry until the next
 * svc_log_node_set/svc_log_shutdown).  Returns how many were added.
 */
gsize svc_log_node_fields(const char *message, GLogField *out, gsize max);

/* Log a message about a node with its fields; level as g_log. */
G_GNUC_PRINTF(3, 4)
void svc_log_node(GLogLevelFlags level, const char *node, const char *format, ...);

#endif /* SVC_LOG_H */
