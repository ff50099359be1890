/* SPDX-License-Identifier: MIT */
/* daemon_opts - the daemon's options from argv and a GKeyFile (see daemon_opts.h). */
#define G_LOG_DOMAIN "usbip-cuse"

#include "daemon_opts.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "uc_error.h"
#include "usbip_conn.h"

/* ---- per-node options: one table for the command line and the file ---- */

typedef enum { KEY_INT, KEY_BOOL } KeyType;

typedef struct {
	const char *key; /* config key and long option name */
	KeyType type;
	gsize offset; /* in DaemonPort */
	gint min, max, def;
	const char *help;
	const char *arg;
} PortKey;

#define PORT_INT(k, field, lo, hi, d, h, a)                                                        \
	{                                                                                          \
		k, KEY_INT, G_STRUCT_OFFSET(DaemonPort, field), lo, hi, d, h, a                    \
	}

static const PortKey port_keys[] = {
    PORT_INT("rx-buffer", rx_buffer, 256, 16 << 20, 65536,
             "Receive buffer per node in bytes (65536)", "BYTES"),
    PORT_INT("rx-urbs", rx_urbs, 1, 64, 16, "Bulk-IN reads in flight (16)", "N"),
    /* at most USBIP_CONN_MAX_URB_OPTION: rounding it up to the device's
     * packet size must stay within the connection's largest URB */
    PORT_INT("urb-size", urb_size, 64, (gint)USBIP_CONN_MAX_URB_OPTION, 16384,
             "Bytes per bulk read/write URB (16384)", "BYTES"),
    PORT_INT("backoff-max", backoff_max, 10, 3600000, 10000,
             "Longest reconnect delay in ms (10000)", "MS"),
    {"keep-open-on-reset", KEY_BOOL, G_STRUCT_OFFSET(DaemonPort, keep_open_on_reset), 0, 1, 0,
     "Keep open files usable across a link loss (default: hang them up once)", NULL},
};

static const PortKey *port_key(const char *key)
{
	for (gsize i = 0; i < G_N_ELEMENTS(port_keys); i++)
		if (strcmp(port_keys[i].key, key) == 0)
			return &port_keys[i];
	return NULL;
}

void daemon_port_init_defaults(DaemonPort *p)
{
	for (gsize i = 0; i < G_N_ELEMENTS(port_keys); i++) {
		if (port_keys[i].type == KEY_INT)
			G_STRUCT_MEMBER(gint, p, port_keys[i].offset) = port_keys[i].def;
		else
			G_STRUCT_MEMBER(gboolean, p, port_keys[i].offset) = port_keys[i].def != 0;
	}
}

static const char *const log_names[] = {
    [SVC_LOG_AUTO] = "auto",
    [SVC_LOG_STDERR] = "stderr",
    [SVC_LOG_JOURNAL] = "journal",
    [SVC_LOG_SYSLOG] = "syslog",
};

const char *daemon_log_target_name(SvcLogTarget t)
{
	return (gsize)t < G_N_ELEMENTS(log_names) ? log_names[t] : "?";
}

/* ---- values ---- */

/* Errors say where: "FILE: [group] key: ..." or "--option: ...". */
G_GNUC_PRINTF(3, 4)
static void usage_error(GError **error, const char *where, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error(error, UC_ERROR, UC_ERROR_USAGE, "%s: %s", where, msg);
}

static gboolean parse_int(const char *where, const char *text, gint64 min, gint64 max, gint64 *out,
                          GError **error)
{
	gint64 v;
	g_autofree char *t = g_strstrip(g_strdup(text));
	if (!g_ascii_string_to_signed(t, 10, min, max, &v, NULL)) {
		usage_error(error, where,
		            "want a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
		            ", not \"%s\"",
		            min, max, text);
		return FALSE;
	}
	*out = v;
	return TRUE;
}

static gboolean parse_bool(const char *where, const char *text, gboolean *out, GError **error)
{
	static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
	for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(text, yes[i]) == 0) {
			*out = TRUE;
			return TRUE;
		}
		if (g_ascii_strcasecmp(text, no[i]) == 0) {
			*out = FALSE;
			return TRUE;
		}
	}
	usage_error(error, where, "want true or false, not \"%s\"", text);
	return FALSE;
}

static gboolean set_port_key(DaemonPort *p, const PortKey *k, const char *where, const char *text,
                             GError **error)
{
	if (k->type == KEY_BOOL)
		return parse_bool(where, text, &G_STRUCT_MEMBER(gboolean, p, k->offset), error);
	gint64 v;
	if (!parse_int(where, text, k->min, k->max, &v, error))
		return FALSE;
	G_STRUCT_MEMBER(gint, p, k->offset) = (gint)v;
	return TRUE;
}

static gboolean parse_log(const char *where, const char *text, SvcLogTarget *out, GError **error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(log_names); i++) {
		if (strcmp(text, log_names[i]) == 0) {
			*out = (SvcLogTarget)i;
			return TRUE;
		}
	}
	usage_error(error, where, "want auto, stderr, journal or syslog, not \"%s\"", text);
	return FALSE;
}

static gboolean parse_major(const char *where, const char *text, guint *out, GError **error)
{
	gint64 v;
	if (!parse_int(where, text, 0, DAEMON_MAJOR_MAX, &v, error))
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

static gboolean parse_cdi(const char *where, const char *text, char **out, GError **error)
{
	if (strcmp(text, "none") != 0 && !g_path_is_absolute(text)) {
		usage_error(error, where, "want an absolute path or \"none\", not \"%s\"", text);
		return FALSE;
	}
	g_free(*out);
	*out = g_strdup(strcmp(text, "none") == 0 ? "" : text);
	return TRUE;
}

/* ---- names ---- */

/* Letters, digits, '.', '_', '-'; a letter first, a letter or digit last
 * (valid as a /dev name, a udev value and a CDI device name). */
static gboolean name_valid(const char *s, gsize max)
{
	gsize n = strlen(s);
	if (n == 0 || n > max || !g_ascii_isalpha(s[0]) || !g_ascii_isalnum(s[n - 1]))
		return FALSE;
	for (gsize i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && !strchr("._-", s[i]))
			return FALSE;
	return TRUE;
}

gboolean daemon_opts_node_name_valid(const char *name)
{
	return name_valid(name, DAEMON_NODE_NAME_MAX);
}

gboolean daemon_opts_node_is_pattern(const char *node)
{
	return strchr(node, '%') != NULL;
}

gboolean daemon_opts_node_pattern_valid(const char *pattern)
{
	const char *c = strchr(pattern, '%');
	if (!c || c[1] != 'u' || strchr(c + 2, '%'))
		return FALSE;
	/* the largest number must still give a valid name */
	g_autofree char *widest = daemon_opts_node_name(pattern, G_MAXUINT);
	g_autofree char *zero = daemon_opts_node_name(pattern, 0);
	return daemon_opts_node_name_valid(widest) && daemon_opts_node_name_valid(zero);
}

char *daemon_opts_node_name(const char *pattern, guint n)
{
	const char *c = strchr(pattern, '%');
	if (!c)
		return g_strdup(pattern);
	return g_strdup_printf("%.*s%u%s", (int)(c - pattern), pattern, n, c + 2);
}

/* Whether the exact name could be one that pattern produces. */
static gboolean pattern_could_make(const char *pattern, const char *name)
{
	const char *c = strchr(pattern, '%');
	gsize pre = (gsize)(c - pattern), post = strlen(c + 2), n = strlen(name);
	if (n <= pre + post || strncmp(name, pattern, pre) != 0 ||
	    strcmp(name + n - post, c + 2) != 0)
		return FALSE;
	for (gsize i = pre; i < n - post; i++)
		if (!g_ascii_isdigit(name[i]))
			return FALSE;
	return TRUE;
}

/* ---- the structure ---- */

static void server_free(DaemonServer *s)
{
	g_free(s->name);
	g_free(s->address);
	g_free(s);
}

static void port_free(DaemonPort *p)
{
	g_free(p->name);
	g_free(p->device);
	g_free(p->node);
	g_free(p);
}

DaemonOpts *daemon_opts_new(void)
{
	DaemonOpts *o = g_new0(DaemonOpts, 1);
	o->servers = g_ptr_array_new_with_free_func((GDestroyNotify)server_free);
	o->ports = g_ptr_array_new_with_free_func((GDestroyNotify)port_free);
	o->log = SVC_LOG_AUTO;
	o->cuse_path = g_strdup("/dev/cuse");
	return o;
}

void daemon_opts_free(DaemonOpts *o)
{
	if (!o)
		return;
	g_ptr_array_unref(o->servers);
	g_ptr_array_unref(o->ports);
	g_free(o->config);
	g_free(o->user);
	g_free(o->cdi_spec);
	g_free(o->cuse_path);
	g_free(o);
}

static guint add_server(DaemonOpts *o, const char *name, const char *address)
{
	DaemonServer *s = g_new0(DaemonServer, 1);
	s->name = g_strdup(name);
	s->address = g_strdup(address);
	g_ptr_array_add(o->servers, s);
	return o->servers->len - 1;
}

static gint find_server(const DaemonOpts *o, const char *name)
{
	for (guint i = 0; i < o->servers->len; i++)
		if (strcmp(((DaemonServer *)g_ptr_array_index(o->servers, i))->name, name) == 0)
			return (gint)i;
	return -1;
}

/* ---- the command line ---- */

/* What argv said, before it is turned into servers and ports. */
typedef struct {
	DaemonOpts *o;
	char *server;
	char **devices;
	char *name;
	char *user, *log, *major, *cdi;
	DaemonPort port; /* per-node option values */
	GPtrArray *port_opts_given;
	GError *cb_error;
} Args;

static gboolean port_opt_cb(const char *option, const char *value, gpointer data, GError **error)
{
	Args *a = data;
	const char *key = option + 2; /* "--rx-buffer" */
	const PortKey *k = port_key(key);
	g_assert(k);
	g_ptr_array_add(a->port_opts_given, (gpointer)k->key);
	if (!set_port_key(&a->port, k, option, value ? value : "true", &a->cb_error)) {
		/* GOption would prefix its own text: report ours after parse */
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		                    a->cb_error->message);
		return FALSE;
	}
	return TRUE;
}

static const char summary[] =
    "Import USB serial devices (CDC-ACM; FTDI, CP210x, CH34x, PL2303 chips) from\n"
    "USBIP servers and expose each serial port as a tty node /dev/ttyUSBIP0,\n"
    "/dev/ttyUSBIP1, ... through CUSE.\n"
    "The nodes stay while the server, network or device is away; the daemon\n"
    "reconnects and sets the device up again.\n"
    "\n"
    "Either the command line names one server and its devices (--server,\n"
    "--device, --name and the per-node options), or --config FILE names any\n"
    "number of servers and ports (see usbip-cuse(1) and usbip-cuse.conf.example).\n"
    "\n"
    "Other commands: `usbip-cuse list [HOST]`, `usbip-cuse cat --help`,\n"
    "`usbip-cuse check-config FILE`, `usbip-cuse --version`.";

gboolean daemon_opts_parse_args(DaemonOpts *o, int argc, char **argv, GError **error)
{
	Args a = {.o = o, .port_opts_given = g_ptr_array_new()};
	daemon_port_init_defaults(&a.port);
	g_autofree char *config = NULL, *cuse = NULL;
	gboolean ok = FALSE;
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
	     "Read servers, ports and daemon settings from FILE (nothing else is read)", "FILE"},
	    {"server", 's', 0, G_OPTION_ARG_STRING, &a.server,
	     "USBIP server (default " CLI_DEFAULT_SERVER ", port 3240)", "HOST[:PORT]"},
	    {"device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &a.devices,
	     "Device to attach (repeatable): BUSID, VID:PID, VID:PID:SERIAL, VID:PID#N",
	     "SELECTOR"},
	    {"name", 'n', 0, G_OPTION_ARG_STRING, &a.name,
	     "Node name pattern, one %u for the number (default " DAEMON_DEFAULT_NODE ")",
	     "PATTERN"},
	    {"foreground", 'f', 0, G_OPTION_ARG_NONE, &o->foreground,
	     "Stay in the foreground (default: detach once the nodes exist)", NULL},
	    CLI_VERBOSE_ENTRY(&o->verbose),
	    {"user", 'u', 0, G_OPTION_ARG_STRING, &a.user,
	     "Once every node exists, drop root and run as USER (and its group)", "USER"},
	    {"log", 0, 0, G_OPTION_ARG_STRING, &a.log,
	     "Where logs go: auto (stderr in the foreground, else the journal or syslog), "
	     "stderr, journal, syslog",
	     "TARGET"},
	    {"major", 0, 0, G_OPTION_ARG_STRING, &a.major,
	     "Fixed character major for the nodes, minors from 0 (default: the kernel picks)",
	     "MAJOR"},
	    {"cdi-spec", 0, 0, G_OPTION_ARG_STRING, &a.cdi,
	     "Where to write the CDI spec of the nodes, or none (" DAEMON_DEFAULT_CDI_SPEC ")",
	     "PATH"},
	    {"cuse-device", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &cuse,
	     "CUSE control device", "PATH"},
	    {"debug-fuse", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &o->fuse_debug,
	     "libfuse debug output", NULL},
	    {NULL},
	};
	GOptionEntry port_entries[G_N_ELEMENTS(port_keys) + 1];
	for (gsize i = 0; i < G_N_ELEMENTS(port_keys); i++) {
		port_entries[i] = (GOptionEntry){
		    .long_name = port_keys[i].key,
		    .flags = port_keys[i].type == KEY_BOOL ? G_OPTION_FLAG_NO_ARG : 0,
		    .arg = G_OPTION_ARG_CALLBACK,
		    .arg_data = (gpointer)port_opt_cb,
		    .description = port_keys[i].help,
		    .arg_description = port_keys[i].arg,
		};
	}
	port_entries[G_N_ELEMENTS(port_keys)] = (GOptionEntry){NULL};

	g_autoptr(GOptionContext) ctx = g_option_context_new("- serial ports over USBIP");
	g_option_context_set_summary(ctx, summary);
	GOptionGroup *main_group = g_option_group_new(NULL, NULL, NULL, &a, NULL);
	g_option_group_add_entries(main_group, entries);
	g_option_group_add_entries(main_group, port_entries);
	g_option_context_set_main_group(ctx, main_group);
	GError *err = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		if (a.cb_error) {
			g_propagate_error(error, g_steal_pointer(&a.cb_error));
			g_error_free(err);
		} else {
			g_set_error_literal(error, UC_ERROR, UC_ERROR_USAGE, err->message);
			g_error_free(err);
		}
		goto out;
	}
	if (argc > 1) {
		g_set_error(error, UC_ERROR, UC_ERROR_USAGE,
		            "unexpected argument \"%s\" (see --help)", argv[1]);
		goto out;
	}
	if (cuse) {
		g_free(o->cuse_path);
		o->cuse_path = g_strdup(cuse);
	}
	if (config) {
		/* the ports come from the file alone */
		const char *port_opt = a.server    ? "--server"
		                       : a.devices ? "--device"
		                       : a.name    ? "--name"
		                       : a.port_opts_given->len
		                           ? g_ptr_array_index(a.port_opts_given, 0)
		                           : NULL;
		if (port_opt) {
			g_set_error(error, UC_ERROR, UC_ERROR_USAGE,
			            "%s%s cannot be combined with --config: describe ports in %s",
			            port_opt[0] == '-' ? "" : "--", port_opt, config);
			goto out;
		}
		o->config = g_strdup(config);
		if (!daemon_opts_load_file(o, config, error))
			goto out;
	} else {
		guint s = add_server(o, a.server ? a.server : CLI_DEFAULT_SERVER,
		                     a.server ? a.server : CLI_DEFAULT_SERVER);
		for (guint i = 0; a.devices && a.devices[i]; i++) {
			DaemonPort *p = g_new0(DaemonPort, 1);
			*p = a.port;
			p->name = g_strdup_printf("--device %s", a.devices[i]);
			p->server = s;
			p->device = g_strdup(a.devices[i]);
			p->node = g_strdup(a.name ? a.name : DAEMON_DEFAULT_NODE);
			g_ptr_array_add(o->ports, p);
		}
	}
	/* daemon-wide options: the command line wins over [daemon] */
	if (a.user) {
		g_free(o->user);
		o->user = g_strdup(a.user);
	}
	if (a.log && !parse_log("--log", a.log, &o->log, error))
		goto out;
	if (a.major && !parse_major("--major", a.major, &o->major, error))
		goto out;
	if (a.cdi && !parse_cdi("--cdi-spec", a.cdi, &o->cdi_spec, error))
		goto out;
	ok = TRUE;
out:
	g_free(a.server);
	g_strfreev(a.devices);
	g_free(a.name);
	g_free(a.user);
	g_free(a.log);
	g_free(a.major);
	g_free(a.cdi);
	g_clear_error(&a.cb_error);
	g_ptr_array_unref(a.port_opts_given);
	return ok;
}

/* ---- the configuration file ---- */

/*
 * GKeyFile merges a repeated [group] and keeps the last of repeated keys
 * silently, and does not list localized keys (key[de]=); each is almost
 * certainly a mistake here, so look for them in the text first (GKeyFile
 * reports every other syntax error).
 */
static gboolean check_repeats(const char *name, const char *data, gsize len, GError **error)
{
	g_autofree char *text = g_strndup(data, len);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	g_autoptr(GHashTable) groups = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *group = NULL;
	for (guint i = 0; lines[i]; i++) {
		char *l = g_strstrip(lines[i]);
		if (l[0] == '#' || l[0] == 0)
			continue;
		if (l[0] == '[') {
			char *end = strrchr(l, ']');
			if (!end)
				continue; /* GKeyFile will say what is wrong */
			*end = 0;
			group = l + 1;
			if (!g_hash_table_add(groups, (gpointer)group)) {
				usage_error(error, name, "line %u: group [%s] appears twice", i + 1,
				            group);
				return FALSE;
			}
			continue;
		}
		char *eq = strchr(l, '=');
		if (!eq || !group)
			continue;
		*eq = 0;
		char *key = g_strstrip(l);
		if (strchr(key, '[')) {
			/* GKeyFile hides localized keys from g_key_file_get_keys() */
			usage_error(error, name,
			            "line %u: [%s] %s: unknown key (no localized keys)", i + 1,
			            group, key);
			return FALSE;
		}
		char *full = g_strdup_printf("%s\n%s", group, key);
		if (!g_hash_table_add(keys, full)) {
			usage_error(error, name, "line %u: [%s] %s is set twice", i + 1, group,
			            key);
			return FALSE;
		}
	}
	return TRUE;
}

typedef enum { GROUP_DAEMON, GROUP_SERVER, GROUP_PORT } GroupKind;

/* "[port esp32]" -> GROUP_PORT, "esp32" */
static gboolean group_kind(const char *group, GroupKind *kind, const char **name)
{
	static const struct {
		const char *prefix;
		GroupKind kind;
	} kinds[] = {{"server ", GROUP_SERVER}, {"port ", GROUP_PORT}};
	if (strcmp(group, "daemon") == 0) {
		*kind = GROUP_DAEMON;
		*name = NULL;
		return TRUE;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (g_str_has_prefix(group, kinds[i].prefix)) {
			*kind = kinds[i].kind;
			*name = group + strlen(kinds[i].prefix);
			return TRUE;
		}
	}
	return FALSE;
}

/* Keys each group knows (the per-node keys of a port come from port_keys). */
static const char *const daemon_keys[] = {"user", "log", "major", "cdi-spec", NULL};
static const char *const server_keys[] = {"address", NULL};
static const char *const port_own_keys[] = {"server", "device", "node", NULL};

static gboolean key_known(GroupKind kind, const char *key)
{
	const char *const *list = kind == GROUP_DAEMON   ? daemon_keys
	                          : kind == GROUP_SERVER ? server_keys
	                                                 : port_own_keys;
	if (g_strv_contains(list, key))
		return TRUE;
	return kind == GROUP_PORT && port_key(key) != NULL;
}

static const char *known_keys_text(GroupKind kind)
{
	switch (kind) {
	case GROUP_DAEMON:
		return "user, log, major, cdi-spec";
	case GROUP_SERVER:
		return "address";
	default:
		return "server, device, node, rx-buffer, rx-urbs, urb-size, backoff-max, "
		       "keep-open-on-reset";
	}
}

/* The string value of group/key (GKeyFile unescapes \s, \n, ...). */
static char *get_string(GKeyFile *kf, const char *where, const char *group, const char *key,
                        GError **error)
{
	GError *e = NULL;
	char *v = g_key_file_get_string(kf, group, key, &e);
	if (!v) {
		usage_error(error, where, "%s", e->message);
		g_error_free(e);
	}
	return v;
}

static gboolean load_daemon(DaemonOpts *o, GKeyFile *kf, const char *file, GError **error)
{
	g_auto(GStrv) keys = g_key_file_get_keys(kf, "daemon", NULL, NULL);
	for (guint i = 0; keys && keys[i]; i++) {
		g_autofree char *where = g_strdup_printf("%s: [daemon] %s", file, keys[i]);
		g_autofree char *v = get_string(kf, where, "daemon", keys[i], error);
		if (!v)
			return FALSE;
		gboolean ok = TRUE;
		if (strcmp(keys[i], "user") == 0) {
			g_free(o->user);
			o->user = g_steal_pointer(&v);
		} else if (strcmp(keys[i], "log") == 0) {
			ok = parse_log(where, v, &o->log, error);
		} else if (strcmp(keys[i], "major") == 0) {
			ok = parse_major(where, v, &o->major, error);
		} else {
			ok = parse_cdi(where, v, &o->cdi_spec, error);
		}
		if (!ok)
			return FALSE;
	}
	return TRUE;
}

static gboolean load_server(DaemonOpts *o, GKeyFile *kf, const char *file, const char *group,
                            const char *name, GError **error)
{
	g_autofree char *where = g_strdup_printf("%s: [%s]", file, group);
	if (!name_valid(name, DAEMON_SERVER_NAME_MAX)) {
		usage_error(error, where,
		            "a server name has letters, digits, '.', '_' and '-' (a letter first, "
		            "at most %u)",
		            DAEMON_SERVER_NAME_MAX);
		return FALSE;
	}
	if (!g_key_file_has_key(kf, group, "address", NULL)) {
		usage_error(error, where, "address=HOST[:PORT] is missing");
		return FALSE;
	}
	g_autofree char *kwhere = g_strdup_printf("%s address", where);
	g_autofree char *addr = get_string(kf, kwhere, group, "address", error);
	if (!addr)
		return FALSE;
	g_autofree char *host = NULL;
	guint16 port;
	GError *e = NULL;
	if (!usbip_conn_parse_server(addr, &host, &port, &e)) {
		usage_error(error, kwhere, "%s", e->message);
		g_error_free(e);
		return FALSE;
	}
	add_server(o, name, addr);
	return TRUE;
}

/* *dst = v, freeing what *dst held */
static void take_str(char **dst, char *v)
{
	g_free(*dst);
	*dst = v;
}

static gboolean load_port(DaemonOpts *o, GKeyFile *kf, const char *file, const char *group,
                          const char *name, GError **error)
{
	g_autofree char *where = g_strdup_printf("%s: [%s]", file, group);
	if (!name_valid(name, DAEMON_NODE_NAME_MAX)) {
		usage_error(error, where,
		            "a port name has letters, digits, '.', '_' and '-' (a letter first)");
		return FALSE;
	}
	DaemonPort *p = g_new0(DaemonPort, 1);
	daemon_port_init_defaults(p);
	p->name = g_strdup(name);
	g_ptr_array_add(o->ports, p);

	g_autofree char *server = NULL;
	g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (guint i = 0; keys && keys[i]; i++) {
		g_autofree char *kwhere = g_strdup_printf("%s %s", where, keys[i]);
		g_autofree char *v = get_string(kf, kwhere, group, keys[i], error);
		if (!v)
			return FALSE;
		/* (check_repeats refused a key twice; a value is never dropped) */
		if (strcmp(keys[i], "server") == 0)
			take_str(&server, g_steal_pointer(&v));
		else if (strcmp(keys[i], "device") == 0)
			take_str(&p->device, g_steal_pointer(&v));
		else if (strcmp(keys[i], "node") == 0)
			take_str(&p->node, g_steal_pointer(&v));
		else if (!set_port_key(p, port_key(keys[i]), kwhere, v, error))
			return FALSE;
	}
	if (!p->device) {
		usage_error(error, where, "device=SELECTOR is missing");
		return FALSE;
	}
	if (!p->node)
		p->node = g_strdup(DAEMON_DEFAULT_NODE);
	if (server) {
		gint s = find_server(o, server);
		if (s < 0) {
			usage_error(error, where, "server=%s: there is no [server %s]", server,
			            server);
			return FALSE;
		}
		p->server = (guint)s;
	} else if (o->servers->len == 1) {
		p->server = 0;
	} else {
		usage_error(error, where, "server=NAME is missing (%s)",
		            o->servers->len ? "there are several servers" : "there is no [server]");
		return FALSE;
	}
	return TRUE;
}

gboolean daemon_opts_load_data(DaemonOpts *o, const char *data, gsize len, const char *name,
                               GError **error)
{
	/* text only: GKeyFile reads past a NUL that the checks here would stop at */
	const char *nul = memchr(data, 0, len);
	if (nul) {
		usage_error(error, name, "byte %zu is NUL: not a text file",
		            (gsize)(nul - data) + 1);
		return FALSE;
	}
	if (!check_repeats(name, data, len, error))
		return FALSE;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	GError *e = NULL;
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &e)) {
		usage_error(error, name, "%s", e->message);
		g_error_free(e);
		return FALSE;
	}
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	/* first every group's name and keys, then servers (ports refer to them) */
	for (guint i = 0; groups[i]; i++) {
		GroupKind kind;
		const char *gname;
		if (!group_kind(groups[i], &kind, &gname)) {
			usage_error(error, name,
			            "unknown group [%s] (groups: [daemon], [server NAME], "
			            "[port NAME])",
			            groups[i]);
			return FALSE;
		}
		g_auto(GStrv) keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		for (guint k = 0; keys && keys[k]; k++) {
			if (!key_known(kind, keys[k])) {
				usage_error(error, name, "[%s] %s: unknown key (keys: %s)",
				            groups[i], keys[k], known_keys_text(kind));
				return FALSE;
			}
		}
	}
	for (guint pass = 0; pass < 3; pass++) {
		for (guint i = 0; groups[i]; i++) {
			GroupKind kind;
			const char *gname;
			group_kind(groups[i], &kind, &gname);
			if ((guint)kind != pass)
				continue;
			gboolean ok = kind == GROUP_DAEMON ? load_daemon(o, kf, name, error)
			              : kind == GROUP_SERVER
			                  ? load_server(o, kf, name, groups[i], gname, error)
			                  : load_port(o, kf, name, groups[i], gname, error);
			if (!ok)
				return FALSE;
		}
	}
	return TRUE;
}

gboolean daemon_opts_load_file(DaemonOpts *o, const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len;
	GError *e = NULL;
	if (!g_file_get_contents(path, &data, &len, &e)) {
		g_set_error(error, UC_ERROR, UC_ERROR_USAGE, "%s", e->message);
		g_error_free(e);
		return FALSE;
	}
	return daemon_opts_load_data(o, data, len, path, error);
}

/* ---- validation ---- */

/* "FILE: [port NAME]" or "--device SELECTOR" */
static char *port_where(const DaemonOpts *o, const DaemonPort *p)
{
	if (o->config)
		return g_strdup_printf("%s: [port %s]", o->config, p->name);
	return g_strdup(p->name);
}

static gboolean validate_node(const DaemonOpts *o, const DaemonPort *p, GError **error)
{
	g_autofree char *where = port_where(o, p);
	if (daemon_opts_node_is_pattern(p->node)) {
		if (daemon_opts_node_pattern_valid(p->node))
			return TRUE;
	} else if (o->config && daemon_opts_node_name_valid(p->node)) {
		return TRUE;
	}
	if (o->config)
		usage_error(error, where,
		            "node: \"%s\" is neither a node name nor a pattern with exactly one "
		            "%%u (letters, digits, '.', '_', '-'; a letter first, at most %u)",
		            p->node, DAEMON_NODE_NAME_MAX);
	else
		g_set_error(error, UC_ERROR, UC_ERROR_USAGE,
		            "--name needs exactly one %%u and otherwise letters, digits, '.', '_' "
		            "and '-' (a letter first), not \"%s\"",
		            p->node);
	return FALSE;
}

/* Two ports can never get the same node name: exact names differ from each
 * other and from whatever a pattern may produce.  (Two different patterns
 * can still meet, e.g. "a%u1" and "a%u"; the daemon checks the final names
 * before it creates any node.) */
static gboolean validate_unique_nodes(const DaemonOpts *o, GError **error)
{
	for (guint i = 0; i < o->ports->len; i++) {
		const DaemonPort *p = g_ptr_array_index(o->ports, i);
		if (daemon_opts_node_is_pattern(p->node))
			continue;
		for (guint j = 0; j < o->ports->len; j++) {
			const DaemonPort *q = g_ptr_array_index(o->ports, j);
			if (i == j)
				continue;
			gboolean clash = daemon_opts_node_is_pattern(q->node)
			                     ? pattern_could_make(q->node, p->node)
			                     : (j < i && strcmp(p->node, q->node) == 0);
			if (clash) {
				g_autofree char *where = port_where(o, p);
				usage_error(error, where,
				            "node: %s is also wanted by [port %s] (node=%s)",
				            p->node, q->name, q->node);
				return FALSE;
			}
		}
	}
	return TRUE;
}

static gboolean validate_user(DaemonOpts *o, GError **error)
{
	if (!o->user)
		return TRUE;
	g_autofree char *where = o->config
	                             ? g_strdup_printf("%s: [daemon] user (or --user)", o->config)
	                             : g_strdup("--user");
	errno = 0;
	struct passwd *pw = getpwnam(o->user);
	if (!pw) {
		usage_error(error, where, "no such user \"%s\"%s%s", o->user, errno ? ": " : "",
		            errno ? g_strerror(errno) : "");
		return FALSE;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		usage_error(error, where,
		            "\"%s\" is root (uid or gid 0): leave user out to keep root, or name "
		            "an unprivileged user",
		            o->user);
		return FALSE;
	}
	o->uid = pw->pw_uid;
	o->gid = pw->pw_gid;
	return TRUE;
}

/* /run/cdi/usbip-cuse.json, or /run/cdi/usbip-cuse-NAME.json for a
 * configuration file NAME.conf other than usbip-cuse.conf (instances of
 * usbip-cuse@.service must not overwrite each other's spec). */
static char *default_cdi_spec(const char *config)
{
	if (!config)
		return g_strdup(DAEMON_DEFAULT_CDI_SPEC);
	g_autofree char *base = g_path_get_basename(config);
	if (g_str_has_suffix(base, ".conf"))
		base[strlen(base) - 5] = 0;
	if (strcmp(base, "usbip-cuse") == 0 || !name_valid(base, DAEMON_NODE_NAME_MAX))
		return g_strdup(DAEMON_DEFAULT_CDI_SPEC);
	return g_strdup_printf("/run/cdi/usbip-cuse-%s.json", base);
}

gboolean daemon_opts_validate(DaemonOpts *o, GError **error)
{
	if (o->ports->len == 0) {
		if (o->config)
			usage_error(error, o->config, "no [port NAME] group: nothing to do");
		else
			g_set_error(error, UC_ERROR, UC_ERROR_USAGE,
			            "name at least one --device (see `usbip-cuse list %s`), or use "
			            "--config FILE",
			            ((DaemonServer *)g_ptr_array_index(o->servers, 0))->address);
		return FALSE;
	}
	if (!o->config) {
		/* the --server of the command line, checked as a file's address= */
		const DaemonServer *s = g_ptr_array_index(o->servers, 0);
		g_autofree char *host = NULL;
		guint16 port;
		GError *e = NULL;
		if (!usbip_conn_parse_server(s->address, &host, &port, &e)) {
			usage_error(error, "--server", "%s", e->message);
			g_error_free(e);
			return FALSE;
		}
	}
	for (guint i = 0; i < o->ports->len; i++) {
		DaemonPort *p = g_ptr_array_index(o->ports, i);
		GError *e = NULL;
		if (!usbip_selector_parse(p->device, &p->sel, &e)) {
			g_autofree char *where = port_where(o, p);
			if (o->config)
				usage_error(error, where, "device: %s", e->message);
			else
				g_set_error_literal(error, UC_ERROR, UC_ERROR_USAGE, e->message);
			g_error_free(e);
			return FALSE;
		}
		if (!validate_node(o, p, error))
			return FALSE;
	}
	if (!o->cdi_spec)
		o->cdi_spec = default_cdi_spec(o->config);
	return validate_unique_nodes(o, error) && validate_user(o, error);
}

char *daemon_opts_describe(const DaemonOpts *o)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < o->servers->len; i++) {
		const DaemonServer *sv = g_ptr_array_index(o->servers, i);
		g_string_append_printf(s, "server %s: %s\n", sv->name, sv->address);
	}
	for (guint i = 0; i < o->ports->len; i++) {
		const DaemonPort *p = g_ptr_array_index(o->ports, i);
		const DaemonServer *sv = g_ptr_array_index(o->servers, p->server);
		g_autofree char *sel = usbip_selector_to_string(&p->sel);
		g_string_append_printf(s, "port %s: server %s, device %s, node /dev/%s", p->name,
		                       sv->name, sel, p->node);
		for (gsize k = 0; k < G_N_ELEMENTS(port_keys); k++) {
			if (port_keys[k].type == KEY_INT)
				g_string_append_printf(
				    s, ", %s %d", port_keys[k].key,
				    G_STRUCT_MEMBER(gint, p, port_keys[k].offset));
			else if (G_STRUCT_MEMBER(gboolean, p, port_keys[k].offset))
				g_string_append_printf(s, ", %s", port_keys[k].key);
		}
		g_string_append_c(s, '\n');
	}
	g_autofree char *major =
	    o->major ? g_strdup_printf("%u", o->major) : g_strdup("(the kernel picks)");
	g_string_append_printf(s, "daemon: user %s, log %s, major %s, cdi-spec %s\n",
	                       o->user ? o->user : "(stays root)", daemon_log_target_name(o->log),
	                       major, o->cdi_spec[0] ? o->cdi_spec : "none");
	return g_string_free(s, FALSE);
}
