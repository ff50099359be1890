/* SPDX-License-Identifier: MIT */
/*
 * The usbip-cuse daemon: parse -> validate -> run.  The options (command
 * line or configuration file, daemon_opts) describe servers and ports; the
 * run attaches every port's device (each on its own server, all on the one
 * GLib main loop), creates one CUSE tty node per serial port of it, writes
 * what udev and container runtimes read beside the nodes, tells systemd how
 * it is doing, drops root if asked, keeps the nodes alive across link
 * losses and removes everything cleanly on SIGTERM/SIGINT.  No threads of
 * ours.
 */
#define G_LOG_DOMAIN "usbip-cuse"

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serial_bridge.h"
#include "cdi_spec.h"
#include "cli.h"
#include "daemon_opts.h"
#include "node_env.h"
#include "node_files.h"
#include "privdrop.h"
#include "svc_log.h"
#include "svc_notify.h"
#include "uc_error.h"

typedef struct Daemon Daemon;

/* One port's device. */
typedef struct {
	Daemon *d;
	const DaemonPort *port;
	const DaemonServer *server;
	UsbipDevice *dev;
	guint listener; /* link listener id, 0 before the nodes exist */
} Attached;

/* One tty node: a serial function of an attached device. */
typedef struct {
	Attached *att;
	guint function; /* index among the device's serial functions */
	char *name;     /* node name under /dev */
	guint minor;    /* position in node order (the minor under --major) */
	SerialBridge *bridge;
	int env_fd; /* NODE_FILES_RUN_DIR/NAME.env, open while the node lives */
	char *env_path;
	char busid[USBIP_BUSID_SIZE]; /* the bus id the env file names */
	int uevent_fd;                /* its sysfs uevent, once it exists */
} Node;

struct Daemon {
	const DaemonOpts *o;
	GMainLoop *loop;
	GPtrArray *attached; /* Attached*, one per port, in port order */
	GPtrArray *nodes;    /* Node*, in node order */
	guint starting;
	guint stopping;
	GError *error;
	int ready_fd; /* write end of the pipe to the parent, or -1 */
	gboolean quitting;
	gboolean running; /* start-up finished */
	gboolean dropped; /* runs as o->user now */
	int exit_code;
	gint64 ready_deadline; /* monotonic us */
	guint ready_src;
	SvcNotify *notify;
	PrivdropKeeper keeper;
	char *cdi_written; /* the spec we wrote, to remove at exit */
};

/* ---- the one place that makes a node from a serial function ---- */

/* bInterfaceNumber that names function f (ID_USB_INTERFACE_NUM, by-id -ifNN). */
static guint node_intf(UsbipDevice *dev, guint f)
{
	return usbip_device_get_function(dev, f)->intf;
}

static CuseTty *node_tty(const Node *n)
{
	return serial_bridge_get_tty(n->bridge);
}

static gboolean node_create(Daemon *d, Node *n, GError **error)
{
	const DaemonPort *p = n->att->port;
	CuseTtyConfig tcfg = {
	    .name = n->name,
	    .cuse_path = d->o->cuse_path,
	    .line = n->minor,
	    .rx_size = (gsize)p->rx_buffer,
	    .keep_open_on_reset = p->keep_open_on_reset,
	    .debug = d->o->fuse_debug,
	    .dev_major = d->o->major,
	    .dev_minor = n->minor,
	};
	SerialPortConfig pcfg;
	serial_port_config_init(&pcfg);
	pcfg.rx_urbs = (guint)p->rx_urbs;
	pcfg.rx_urb_size = (gsize)p->urb_size;
	pcfg.tx_urb_size = (gsize)p->urb_size;
	n->bridge = serial_bridge_new(n->att->dev, n->function, &tcfg, &pcfg, error);
	return n->bridge != NULL;
}

/* ---- identity files ---- */

static char *node_env_text(const Node *n)
{
	UsbipDevice *dev = n->att->dev;
	const struct usb_device_desc *desc = usbip_device_get_descriptor(dev);
	const struct node_env_id id = {
	    .vid = desc->idVendor,
	    .pid = desc->idProduct,
	    .manufacturer = usbip_device_get_manufacturer(dev),
	    .product = usbip_device_get_product(dev),
	    .serial = usbip_device_get_serial(dev),
	    .intf = node_intf(dev, n->function),
	    .server = n->att->server->name,
	    .busid = usbip_device_get_busid(dev),
	};
	int len = node_env_format(NULL, 0, &id);
	char *text = g_malloc((gsize)len + 1);
	node_env_format(text, (gsize)len + 1, &id);
	return text;
}

/* After a reconnect: if the device came back on another bus id, say so
 * in the env file and let udev re-read it (a "change" uevent). */
static void node_sync_identity(Node *n)
{
	const char *busid = usbip_device_get_busid(n->att->dev);
	if (strcmp(busid, n->busid) == 0 || n->env_fd < 0)
		return;
	g_autofree char *old = g_strdup(n->busid);
	g_strlcpy(n->busid, busid, sizeof(n->busid));
	svc_log_node_set(n->name, n->att->server->name, n->busid);
	g_autofree char *text = node_env_text(n);
	GError *err = NULL;
	if (!node_files_env_rewrite(n->env_fd, text, &err) ||
	    (n->uevent_fd >= 0 && !node_files_uevent_change(n->uevent_fd, &err))) {
		svc_log_node(G_LOG_LEVEL_WARNING, n->name, "/dev/%s: %s", n->name, err->message);
		g_error_free(err);
		return;
	}
	svc_log_node(G_LOG_LEVEL_MESSAGE, n->name,
	             "/dev/%s: the device is now bus id %s on %s (was %s); %s rewritten", n->name,
	             busid, n->att->server->name, old, n->env_path);
}

/* ---- systemd notification ---- */

static void notify(Daemon *d, const char *state)
{
	GError *err = NULL;
	if (!svc_notify_send(d->notify, state, &err)) {
		g_warning("cannot notify the service manager: %s", err->message);
		g_error_free(err);
	}
}

/* STATUS=: how many nodes have their device, and each node's state. */
static void notify_status(Daemon *d)
{
	if (!d->notify)
		return;
	g_autoptr(GString) s = g_string_new(NULL);
	guint up = 0;
	for (guint i = 0; i < d->nodes->len; i++) {
		Node *n = g_ptr_array_index(d->nodes, i);
		gboolean is_up = usbip_device_is_up(n->att->dev);
		up += is_up;
		g_string_append_printf(s, "%s%s %s", i ? ", " : ": ", n->name,
		                       is_up ? "up" : "down (reconnecting)");
	}
	g_autofree char *state =
	    g_strdup_printf("STATUS=%u of %u node(s) up%s", up, d->nodes->len, s->str);
	notify(d, state);
}

static void link_changed(UsbipDevice *dev, gboolean up, const GError *error, gpointer user)
{
	Attached *a = user;
	Daemon *d = a->d;
	for (guint i = 0; up && i < d->nodes->len; i++) {
		Node *n = g_ptr_array_index(d->nodes, i);
		if (n->att == a)
			node_sync_identity(n);
	}
	if (d->running && !d->quitting)
		notify_status(d);
}

/* ---- start-up ---- */

static void report_ready(Daemon *d, const char *msg)
{
	if (d->ready_fd < 0)
		return;
	/* The parent prints msg, or exits 0 on the single NUL of success. */
	if (write(d->ready_fd, msg ? msg : "", msg ? strlen(msg) : 1) < 0)
		g_debug("cannot report to the parent: %s", g_strerror(errno));
	close(d->ready_fd);
	d->ready_fd = -1;
}

static void device_started(GObject *src, GAsyncResult *res, gpointer user)
{
	Attached *a = user;
	Daemon *d = a->d;
	GError *err = NULL;
	if (!usbip_device_start_finish(a->dev, res, &err)) {
		if (!d->error)
			d->error = err;
		else
			g_error_free(err);
	}
	/* after a signal the loop belongs to the shutdown: leave it running */
	if (--d->starting == 0 && !d->quitting)
		g_main_loop_quit(d->loop);
}

/* "FILE: [port NAME]" or "--device SELECTOR", for messages. */
static char *port_where(const Daemon *d, const DaemonPort *p)
{
	if (d->o->config)
		return g_strdup_printf("%s: [port %s]", d->o->config, p->name);
	return g_strdup(p->name);
}

/* Names and minors of every node, checked before any node is made. */
static gboolean plan_nodes(Daemon *d, GError **error)
{
	g_autoptr(GHashTable) counters = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < d->attached->len; i++) {
		Attached *a = g_ptr_array_index(d->attached, i);
		guint nf = usbip_device_get_n_functions(a->dev);
		const char *node = a->port->node;
		gboolean pattern = daemon_opts_node_is_pattern(node);
		if (!pattern && nf != 1) {
			g_autofree char *where = port_where(d, a->port);
			g_set_error(
			    error, UC_ERROR, UC_ERROR_USAGE,
			    "%s: node=%s names one node, but %s %s has %u serial functions: "
			    "use a pattern with %%u",
			    where, node, a->server->name, usbip_device_get_busid(a->dev), nf);
			return FALSE;
		}
		for (guint f = 0; f < nf; f++) {
			Node *n = g_new0(Node, 1);
			n->att = a;
			n->function = f;
			n->minor = d->nodes->len;
			n->env_fd = -1;
			n->uevent_fd = -1;
			guint count = GPOINTER_TO_UINT(g_hash_table_lookup(counters, node));
			n->name = daemon_opts_node_name(node, count);
			g_hash_table_insert(counters, (gpointer)node, GUINT_TO_POINTER(count + 1));
			g_ptr_array_add(d->nodes, n);
			if (!g_hash_table_add(names, n->name)) {
				g_autofree char *where = port_where(d, a->port);
				g_set_error(error, UC_ERROR, UC_ERROR_USAGE,
				            "%s: node %s is wanted by another port as well", where,
				            n->name);
				return FALSE;
			}
		}
	}
	return TRUE;
}

/* Env file first (udev reads it when the node appears), then the node. */
static gboolean make_nodes(Daemon *d, GError **error)
{
	for (guint i = 0; i < d->nodes->len; i++) {
		Node *n = g_ptr_array_index(d->nodes, i);
		UsbipDevice *dev = n->att->dev;
		if (node_files_node_exists(n->name)) {
			/* another daemon's node: leave its env file alone */
			g_set_error(error, UC_ERROR, UC_ERROR_CUSE,
			            "/dev/%s exists already (another usbip-cuse running?)",
			            n->name);
			return FALSE;
		}
		g_strlcpy(n->busid, usbip_device_get_busid(dev), sizeof(n->busid));
		svc_log_node_set(n->name, n->att->server->name, n->busid);
		g_autofree char *text = node_env_text(n);
		if (!node_files_env_create(NODE_FILES_RUN_DIR, n->name, text, &n->env_fd,
		                           &n->env_path, error))
			return FALSE;
		if (!node_create(d, n, error))
			return FALSE;
		const struct usb_device_desc *desc = usbip_device_get_descriptor(dev);
		svc_log_node(G_LOG_LEVEL_MESSAGE, n->name,
		             "/dev/%s: %s %s %04x:%04x \"%s\" serial \"%s\" port %u (%s)", n->name,
		             n->att->server->address, n->busid, desc->idVendor, desc->idProduct,
		             usbip_device_get_product(dev), usbip_device_get_serial(dev),
		             n->function,
		             serial_drv_name(usbip_device_get_function(dev, n->function)->driver));
	}
	for (guint i = 0; i < d->attached->len; i++) {
		Attached *a = g_ptr_array_index(d->attached, i);
		a->listener = usbip_device_add_link_listener(a->dev, link_changed, a);
	}
	return TRUE;
}

/* Who holds char major `major` according to /proc/devices, or NULL. */
static char *major_holder(guint major)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents("/proc/devices", &text, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] && !g_str_has_prefix(lines[i], "Block"); i++) {
		guint m;
		char name[64];
		if (sscanf(lines[i], "%u %63s", &m, name) == 2 && m == major)
			return g_strdup(name);
	}
	return NULL;
}

/* The kernel closed a node's channel before it existed: say why. */
static void refused_error(Daemon *d, const Node *n)
{
	if (!d->o->major) {
		g_set_error(
		    &d->error, UC_ERROR, UC_ERROR_CUSE,
		    "the kernel refused /dev/%s (is a CUSE node of that name already there?)",
		    n->name);
		return;
	}
	g_autofree char *holder = major_holder(d->o->major);
	g_autofree char *who =
	    holder ? g_strdup_printf(" (/proc/devices lists major %u as %s)", d->o->major, holder)
	           : g_strdup("");
	g_set_error(&d->error, UC_ERROR, UC_ERROR_CUSE,
	            "the kernel refused /dev/%s as character device %u:%u: that number is taken%s; "
	            "choose another major (60-63, 120-127 and 240-254 are for local use)",
	            n->name, d->o->major, n->minor, who);
}

/* Wait for CUSE_INIT of every node, at most 10 s. */
static gboolean ready_poll(gpointer user)
{
	Daemon *d = user;
	gboolean all = TRUE;
	for (guint i = 0; i < d->nodes->len && !d->error; i++) {
		Node *n = g_ptr_array_index(d->nodes, i);
		if (cuse_tty_is_closed(node_tty(n))) {
			refused_error(d, n);
			all = FALSE;
		} else if (!cuse_tty_is_ready(node_tty(n))) {
			all = FALSE;
		}
	}
	if (!d->error && !all && !d->quitting && g_get_monotonic_time() > d->ready_deadline)
		g_set_error(&d->error, UC_ERROR, UC_ERROR_CUSE,
		            "the kernel did not create the device nodes (CUSE_INIT unanswered)");
	if (all || d->error || d->quitting) {
		d->ready_src = 0;
		g_main_loop_quit(d->loop);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* What needs the node to exist: its uevent file, the CDI spec. */
static gboolean after_ready(Daemon *d, GError **error)
{
	g_autofree CdiSpecNode *cdi = g_new0(CdiSpecNode, d->nodes->len);
	for (guint i = 0; i < d->nodes->len; i++) {
		Node *n = g_ptr_array_index(d->nodes, i);
		n->uevent_fd = node_files_uevent_open(n->name, error);
		if (n->uevent_fd < 0 ||
		    !node_files_devnum(n->name, &cdi[i].major, &cdi[i].minor, error))
			return FALSE;
		cdi[i].name = n->name;
		/* a move while the node was being made */
		node_sync_identity(n);
	}
	if (d->o->cdi_spec[0]) {
		g_autofree char *json = cdi_spec_render(cdi, d->nodes->len);
		GError *err = NULL;
		if (node_files_write_atomic(d->o->cdi_spec, json, &err)) {
			d->cdi_written = g_strdup(d->o->cdi_spec);
			g_message("CDI spec %s: %u device(s) of kind " CDI_SPEC_KIND,
			          d->cdi_written, d->nodes->len);
		} else {
			g_warning("no CDI spec for containers: %s", err->message);
			g_error_free(err);
		}
	}
	return TRUE;
}

/* Become d->o->user, leaving the file removal to a keeper that stays root. */
static gboolean drop_privileges(Daemon *d, GError **error)
{
	g_autoptr(GPtrArray) paths = g_ptr_array_new();
	for (guint i = 0; i < d->nodes->len; i++)
		g_ptr_array_add(paths, ((Node *)g_ptr_array_index(d->nodes, i))->env_path);
	if (d->cdi_written)
		g_ptr_array_add(paths, d->cdi_written);
	g_ptr_array_add(paths, NULL);
	if (!privdrop_keeper_start(&d->keeper, (const char *const *)paths->pdata, error))
		return FALSE;
	if (!privdrop_to(d->o->uid, d->o->gid, error))
		return FALSE;
	d->dropped = TRUE;
	g_message("running as %s (uid %u, gid %u), no capabilities", d->o->user,
	          (unsigned)d->o->uid, (unsigned)d->o->gid);
	return TRUE;
}

/* ---- stop ---- */

static void device_stopped(GObject *src, GAsyncResult *res, gpointer user)
{
	Daemon *d = user;
	d->stopping--;
}

static gboolean on_signal(gpointer user)
{
	Daemon *d = user;
	if (!d->quitting) {
		g_message("signal received: removing the nodes");
		d->quitting = TRUE;
		notify(d, "STOPPING=1\nSTATUS=stopping: removing the nodes");
		g_main_loop_quit(d->loop);
	}
	return G_SOURCE_CONTINUE;
}

static void node_free(Node *n)
{
	/* the node first: udev sees it go while the env file still exists */
	if (n->bridge)
		serial_bridge_free(n->bridge);
	if (n->uevent_fd >= 0)
		close(n->uevent_fd);
	if (n->env_fd >= 0)
		close(n->env_fd);
	g_free(n->env_path);
	g_free(n->name);
	g_free(n);
}

static void attached_free(Attached *a)
{
	if (a->listener)
		usbip_device_remove_link_listener(a->dev, a->listener);
	usbip_device_free(a->dev);
	g_free(a);
}

/* Orderly stop: unlink and close every device (the server releases it),
 * remove the nodes, then the files beside them. */
static void daemon_stop(Daemon *d)
{
	d->stopping = d->attached->len;
	for (guint i = 0; i < d->attached->len; i++)
		usbip_device_shutdown_async(((Attached *)g_ptr_array_index(d->attached, i))->dev,
		                            1000, device_stopped, d);
	/* Not the main loop: a late start-up source could quit it early. */
	while (d->stopping > 0)
		g_main_context_iteration(NULL, TRUE);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < d->nodes->len; i++) {
		Node *n = g_ptr_array_index(d->nodes, i);
		if (n->env_path)
			g_ptr_array_add(paths, g_strdup(n->env_path));
	}
	g_ptr_array_set_size(d->nodes, 0);
	g_ptr_array_set_size(d->attached, 0);
	if (d->cdi_written)
		g_ptr_array_add(paths, g_steal_pointer(&d->cdi_written));
	if (d->keeper.pid) {
		privdrop_keeper_finish(&d->keeper, 2000);
		return;
	}
	for (guint i = 0; i < paths->len; i++)
		if (unlink(g_ptr_array_index(paths, i)) < 0 && errno != ENOENT)
			g_warning("cannot remove %s: %s", (char *)g_ptr_array_index(paths, i),
			          g_strerror(errno));
}

/* ---- detaching ---- */

/* Fork; the parent waits until the child reports its start-up result, so
 * that errors still reach the terminal that started us. */
static int daemonize(int *ready_fd)
{
	int p[2];
	if (pipe(p) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		char buf[1024];
		ssize_t n, total = 0;
		while ((n = read(p[0], buf + total, sizeof(buf) - 1 - (gsize)total)) > 0)
			total += n;
		/* one NUL byte: ready; text: the error; nothing: it died */
		if (total == 1 && buf[0] == 0)
			_exit(0);
		buf[total] = 0;
		cli_print_error(NULL, total > 0 ? buf : "the daemon exited during start-up");
		_exit(1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (chdir("/") < 0)
		g_debug("chdir /: %s", g_strerror(errno));
}

/* Fail early and clearly when CUSE is not usable here. */
static int probe_cuse(const char *path)
{
	int probe = open(path, O_RDWR | O_CLOEXEC);
	if (probe >= 0) {
		close(probe);
		return 0;
	}
	int e = errno;
	if (e == ENOENT || e == ENODEV || e == ENXIO)
		cli_printf_error(NULL, "%s is missing: load the cuse module: modprobe cuse", path);
	else if (e == EACCES || e == EPERM)
		cli_printf_error(NULL, "cannot open %s: %s (run usbip-cuse as root)", path,
		                 g_strerror(e));
	else
		cli_printf_error(NULL, "cannot open %s: %s", path, g_strerror(e));
	return -1;
}

/* ---- run ---- */

static gboolean start(Daemon *d)
{
	const DaemonOpts *o = d->o;
	UsbipDeviceConfig dcfg;
	/* Attach every device (concurrently); the first failure is fatal. */
	for (guint i = 0; i < o->ports->len; i++) {
		const DaemonPort *p = g_ptr_array_index(o->ports, i);
		Attached *a = g_new0(Attached, 1);
		a->d = d;
		a->port = p;
		a->server = g_ptr_array_index(o->servers, p->server);
		usbip_device_config_init(&dcfg);
		dcfg.backoff_max_ms = (guint)p->backoff_max;
		a->dev = usbip_device_new(a->server->address, &p->sel, &dcfg);
		g_ptr_array_add(d->attached, a);
	}
	d->starting = d->attached->len;
	for (guint i = 0; i < d->attached->len; i++) {
		Attached *a = g_ptr_array_index(d->attached, i);
		usbip_device_start_async(a->dev, device_started, a);
	}
	g_main_loop_run(d->loop);
	if (d->error || d->quitting)
		return FALSE;
	if (!plan_nodes(d, &d->error) || !make_nodes(d, &d->error))
		return FALSE;
	d->ready_deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	d->ready_src = g_timeout_add(5, ready_poll, d);
	g_main_loop_run(d->loop);
	if (d->ready_src)
		g_source_remove(d->ready_src);
	if (d->error || d->quitting)
		return FALSE;
	if (!after_ready(d, &d->error))
		return FALSE;
	if (o->user && !drop_privileges(d, &d->error))
		return FALSE;
	return TRUE;
}

static int daemon_run(const DaemonOpts *o)
{
	svc_log_init(svc_log_resolve(o->log, !o->foreground));
	cli_enable_verbose(o->verbose);
	if (probe_cuse(o->cuse_path) < 0)
		return CLI_EXIT_FAILURE;

	Daemon d = {.o = o, .ready_fd = -1, .keeper = {.fd = -1}};
	GError *err = NULL;
	d.notify = svc_notify_new(&err);
	if (err) {
		cli_print_error(NULL, err->message);
		g_error_free(err);
		return CLI_EXIT_FAILURE;
	}
	if (!o->foreground) {
		int rc = daemonize(&d.ready_fd);
		if (rc < 0) {
			cli_printf_error(NULL, "cannot detach: %s", g_strerror(-rc));
			svc_notify_free(d.notify);
			return CLI_EXIT_FAILURE;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	d.loop = g_main_loop_new(NULL, FALSE);
	d.attached = g_ptr_array_new_with_free_func((GDestroyNotify)attached_free);
	d.nodes = g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
	guint sig_term = g_unix_signal_add(SIGTERM, on_signal, &d);
	guint sig_int = g_unix_signal_add(SIGINT, on_signal, &d);
	notify(&d, "STATUS=attaching the devices");

	if (start(&d)) {
		d.running = TRUE;
		report_ready(&d, NULL);
		if (!o->foreground)
			detach_stdio();
		notify(&d, "READY=1");
		notify_status(&d);
		printf("usbip-cuse: ready with %u node(s)\n", d.nodes->len);
		fflush(stdout);
		g_main_loop_run(d.loop);
	} else if (d.error) {
		g_autofree char *state = g_strdup_printf("STATUS=failed: %s", d.error->message);
		notify(&d, state);
		if (d.ready_fd >= 0)
			report_ready(&d, d.error->message);
		else
			cli_print_error(NULL, d.error->message);
		d.exit_code = g_error_matches(d.error, UC_ERROR, UC_ERROR_USAGE) ? CLI_EXIT_USAGE
		                                                                 : CLI_EXIT_FAILURE;
	} else {
		report_ready(&d, "stopped by a signal during start-up");
	}
	daemon_stop(&d);
	g_source_remove(sig_term);
	g_source_remove(sig_int);
	g_ptr_array_unref(d.nodes);
	g_ptr_array_unref(d.attached);
	g_main_loop_unref(d.loop);
	g_clear_error(&d.error);
	svc_notify_free(d.notify);
	svc_log_shutdown();
	return d.exit_code;
}

int daemon_main(int argc, char **argv)
{
	g_autoptr(DaemonOpts) o = daemon_opts_new();
	GError *error = NULL;
	if (!daemon_opts_parse_args(o, argc, argv, &error) || !daemon_opts_validate(o, &error))
		return cli_fail(NULL, error, CLI_EXIT_USAGE);
	return daemon_run(o);
}

int daemon_check_config(int argc, char **argv)
{
	gboolean verbose = FALSE;
	const GOptionEntry entries[] = {
	    CLI_VERBOSE_ENTRY(&verbose),
	    {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE");
	g_option_context_set_summary(ctx, "Check a configuration file as the daemon would read it, "
	                                  "without starting anything;\nprint what it describes.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *error = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		return cli_fail("check-config", error, CLI_EXIT_USAGE);
	cli_enable_verbose(verbose);
	if (argc != 2) {
		cli_print_error("check-config", "name one configuration file");
		return CLI_EXIT_USAGE;
	}
	g_autoptr(DaemonOpts) o = daemon_opts_new();
	o->config = g_strdup(argv[1]);
	if (!daemon_opts_load_file(o, argv[1], &error) || !daemon_opts_validate(o, &error))
		return cli_fail("check-config", error, CLI_EXIT_USAGE);
	g_autofree char *text = daemon_opts_describe(o);
	g_autofree char *safe = cli_escape(argv[1]);
	printf("%s: ok\n%s", safe, text);
	return CLI_EXIT_OK;
}
