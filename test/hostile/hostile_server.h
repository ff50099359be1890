/* SPDX-License-Identifier: MIT */
/*
 * hostile_server - a deliberately misbehaving USBIP server for tests (not
 * part of the product; see test/hostile/main.c for the program).
 *
 * It exports one CDC-ACM device, busid "1-1", 1209:0001, whose bulk OUT data
 * loops back to bulk IN, and breaks the protocol the way the configuration
 * says.  One blocking thread per connection (and one for accept), so an
 * in-process test can run the client engine on its own GMainContext while
 * the server sleeps, trickles or stalls.
 *
 * Configuration: a list of "NAME" or "NAME=VALUE" items (hostile_config_add);
 * values are decimal and may be negative (statuses are int32 on the wire, so
 * -600 and -2147483648 are valid; OP statuses are u32).
 *
 *   list-status=N       OP_REP_DEVLIST with status N and no devices
 *   import-status=N     OP_REP_IMPORT with status N, then close
 *   ctrl-status=N       class requests (SET_LINE_CODING, SET_CONTROL_LINE_STATE,
 *                       SEND_BREAK) answered with status N
 *   bulk-in-status=N    the first bulk-IN reply carries status N (and no data)
 *   trickle-list=MS     the device list reply, one byte every MS ms
 *   trickle-import=MS   the import reply, one byte every MS ms
 *   trickle-urb=MS      every URB reply, one byte every MS ms
 *   stall-list=N        N bytes of the device list reply, then silence (open)
 *   stall-urb=N         N bytes of the first bulk-IN reply, then silence (open)
 *   truncate-list=N     N bytes of the device list header, then EOF
 *   truncate-urb=N      N bytes of the first URB reply header, then EOF
 *   reset-urb           the first URB reply is a TCP reset (RST, no data)
 *   unknown-seqnum      the first URB reply names a seqnum never sent
 *   long-actual=N       the first control IN reply is N bytes longer than asked
 *   negative-length=N   the first control IN reply has actual_length N (< 0)
 *   endless-list        a device count of 4096 and device records forever
 *   endless-bulk        every bulk IN answered at once with its full length
 *   evil-strings        control characters in path and string descriptors
 *   wtotal=N            the configuration descriptor claims wTotalLength N
 *   unlink-delay=MS     RET_UNLINK answers start MS ms after the first CMD_UNLINK
 *   die-after-attach=MS close the URB connection MS ms after the import
 */
#ifndef HOSTILE_SERVER_H
#define HOSTILE_SERVER_H

#include <glib.h>

typedef struct {
	gint64 list_status, import_status, ctrl_status, bulk_in_status;
	gboolean has_list_status, has_import_status, has_ctrl_status, has_bulk_in_status;
	guint trickle_list_ms, trickle_import_ms, trickle_urb_ms;
	gint stall_list, stall_urb;       /* -1: off */
	gint truncate_list, truncate_urb; /* -1: off */
	gboolean unknown_seqnum, reset_urb;
	guint long_actual;
	gint negative_length; /* 0: off */
	gboolean endless_list, endless_bulk, evil_strings;
	gint wtotal; /* -1: off */
	guint unlink_delay_ms;
	gint die_after_attach_ms; /* -1: off */
} HostileConfig;

void hostile_config_init(HostileConfig *cfg);
/* Add one "NAME[=VALUE]" item; FALSE with a message for an unknown or bad one. */
gboolean hostile_config_add(HostileConfig *cfg, const char *item, GError **error);

/* What the server saw (a snapshot; counters only grow). */
typedef struct {
	guint connections;
	guint lists, imports;
	guint urbs;             /* CMD_SUBMITs */
	guint unlinks;          /* CMD_UNLINKs received */
	guint unlinks_answered; /* RET_UNLINKs delivered while the peer was still there */
	guint unlinks_lost;     /* RET_UNLINKs the peer had closed before */
	guint closed_busy;      /* URB connections the peer closed with URBs outstanding */
	guint class_requests;   /* SET_LINE_CODING / SET_CONTROL_LINE_STATE / SEND_BREAK */
	guint64 bulk_out_bytes;
} HostileStats;

typedef struct _HostileServer HostileServer;

/* Listen on addr:port (port 0 picks one); NULL with an error. */
HostileServer *hostile_server_new(const HostileConfig *cfg, const char *addr, guint16 port,
                                  GError **error);
guint16 hostile_server_get_port(HostileServer *s);
void hostile_server_get_stats(HostileServer *s, HostileStats *st);
/* Wait (at most timeout_ms) until every connection thread has ended. */
gboolean hostile_server_wait_idle(HostileServer *s, guint timeout_ms);
/* Close every connection and the listener; join the threads. */
void hostile_server_free(HostileServer *s);

#endif /* HOSTILE_SERVER_H */
