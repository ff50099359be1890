/* SPDX-License-Identifier: MIT */
/*
 * daemon_opts - everything the daemon is told, from its command line and
 * from a configuration file, in one structure (level 2: GLib, no CUSE, no
 * sockets; usable from unit tests).
 *
 * The daemon runs parse -> validate -> run: daemon_opts_parse_args() fills
 * the structure from argv (and, with --config FILE, from that GKeyFile),
 * daemon_opts_validate() checks every value and resolves what can be
 * resolved without starting anything (selectors, the user), and only then
 * does daemon.c open /dev/cuse or a socket.  Every error is a GError
 * UC_ERROR_USAGE whose message names where the bad value came from:
 *   "/etc/usbip-cuse/usbip-cuse.conf: [port esp32] rx-urbs: ..."  or
 *   "--rx-urbs: ..."; the daemon then exits with status 2.
 *
 * The file (see doc/usbip-cuse.conf.example):
 *   [daemon]        user=, log=, major=, cdi-spec=
 *   [server NAME]   address=HOST[:PORT]
 *   [port NAME]     server=NAME, device=SELECTOR, node=NAME or PATTERN (one %u),
 *                   and every per-node option of the command line under the
 *                   same name: rx-buffer=, rx-urbs=, urb-size=, backoff-max=,
 *                   keep-open-on-reset=
 * The command line alone (no --config) describes one server and its ports:
 * --server, one port per --device, --name and the per-node options apply to
 * all of them.  With --config the ports come from the file only; the
 * daemon-wide options given on the command line (--user, --log, --major,
 * --cdi-spec, --foreground, --verbose) override the file's [daemon] group.
 */
#ifndef DAEMON_OPTS_H
#define DAEMON_OPTS_H

#include <glib.h>
#include <sys/types.h>

#include "svc_log.h"
#include "usbip_device.h"

#define DAEMON_DEFAULT_NODE     "ttyUSBIP%u"
#define DAEMON_DEFAULT_CDI_SPEC "/run/cdi/usbip-cuse.json"
#define DAEMON_NODE_NAME_MAX    63u /* characters of a node name */
#define DAEMON_SERVER_NAME_MAX  63u
#define DAEMON_MAJOR_MAX        511u /* the kernel's CHRDEV_MAJOR_MAX - 1 */

typedef struct {
	char *name;    /* [server NAME]; the address itself for --server */
	char *address; /* HOST[:PORT] */
} DaemonServer;

typedef struct {
	char *name;        /* [port NAME]; "--device SELECTOR" for the command line */
	guint server;      /* index into DaemonOpts.servers */
	char *device;      /* selector text */
	UsbipSelector sel; /* parsed from device by daemon_opts_validate() */
	char *node;        /* exact node name, or a pattern with one %u */
	gint rx_buffer;    /* bytes of the node's receive buffer */
	gint rx_urbs;      /* bulk-IN reads in flight */
	gint urb_size;     /* bytes per bulk URB */
	gint backoff_max;  /* longest reconnect delay, ms */
	gboolean keep_open_on_reset;
} DaemonPort;

typedef struct {
	GPtrArray *servers;  /* DaemonServer* */
	GPtrArray *ports;    /* DaemonPort*, in node order */
	char *config;        /* the --config file, or NULL */
	char *user;          /* drop to this user once the nodes exist; NULL: stay */
	uid_t uid;           /* resolved by validate when user is set */
	gid_t gid;           /* the user's primary group */
	SvcLogTarget log;    /* --log / log= */
	guint major;         /* fixed character major; 0: the kernel picks one */
	char *cdi_spec;      /* CDI spec path; "" writes none; NULL until validate
	                      * picks the default (DAEMON_DEFAULT_CDI_SPEC, or
	                      * /run/cdi/usbip-cuse-NAME.json for --config NAME.conf) */
	char *cuse_path;     /* "/dev/cuse" unless testing */
	gboolean foreground; /* do not detach */
	gboolean verbose;
	gboolean fuse_debug;
} DaemonOpts;

/* Defaults; no ports. */
DaemonOpts *daemon_opts_new(void);
void daemon_opts_free(DaemonOpts *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DaemonOpts, daemon_opts_free)

/* A port with every per-node option at its default. */
void daemon_port_init_defaults(DaemonPort *p);

/* The daemon's command line (argv[0] is the program); loads --config. */
gboolean daemon_opts_parse_args(DaemonOpts *o, int argc, char **argv, GError **error);
/* The servers, ports and [daemon] settings of a configuration file; `name`
 * is how messages call it (its path). */
gboolean daemon_opts_load_file(DaemonOpts *o, const char *path, GError **error);
gboolean daemon_opts_load_data(DaemonOpts *o, const char *data, gsize len, const char *name,
                               GError **error);
/* Check everything; parse the selectors; resolve the user. */
gboolean daemon_opts_validate(DaemonOpts *o, GError **error);

/* What a validated configuration will do, one line per server and port
 * (`usbip-cuse check-config`). */
char *daemon_opts_describe(const DaemonOpts *o);

/* Whether name is a valid exact node name / pattern (one %u). */
gboolean daemon_opts_node_name_valid(const char *name);
gboolean daemon_opts_node_pattern_valid(const char *pattern);
/* pattern with its %u replaced by n. */
char *daemon_opts_node_name(const char *pattern, guint n);
gboolean daemon_opts_node_is_pattern(const char *node);

const char *daemon_log_target_name(SvcLogTarget t);

#endif /* DAEMON_OPTS_H */
