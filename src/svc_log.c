/* SPDX-License-Identifier: MIT */
/* svc_log - the daemon's log writer (see svc_log.h). */
#define G_LOG_DOMAIN "usbip-cuse"

#include "svc_log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "uc_escape.h"

typedef struct {
	char *node;
	char *server;
	char *busid;
} NodeLog;

static struct {
	SvcLogTarget target;
	GPtrArray *nodes;     /* NodeLog*, in registration order */
	GThread *main_thread; /* the only one that reads nodes */
} lg = {.target = SVC_LOG_STDERR};

SvcLogTarget svc_log_resolve(SvcLogTarget target, gboolean detached)
{
	if (target != SVC_LOG_AUTO)
		return target;
	if (detached)
		return g_file_test(SVC_LOG_JOURNAL_SOCKET, G_FILE_TEST_EXISTS) ? SVC_LOG_JOURNAL
		                                                               : SVC_LOG_SYSLOG;
	return g_log_writer_is_journald(fileno(stderr)) ? SVC_LOG_JOURNAL : SVC_LOG_STDERR;
}

static void node_log_free(NodeLog *n)
{
	g_free(n->node);
	g_free(n->server);
	g_free(n->busid);
	g_free(n);
}

void svc_log_node_set(const char *node, const char *server, const char *busid)
{
	if (!lg.nodes)
		lg.nodes = g_ptr_array_new_with_free_func((GDestroyNotify)node_log_free);
	NodeLog *n = NULL;
	for (guint i = 0; i < lg.nodes->len && !n; i++)
		if (strcmp(((NodeLog *)g_ptr_array_index(lg.nodes, i))->node, node) == 0)
			n = g_ptr_array_index(lg.nodes, i);
	if (!n) {
		n = g_new0(NodeLog, 1);
		n->node = g_strdup(node);
		g_ptr_array_add(lg.nodes, n);
	}
	g_free(n->server);
	g_free(n->busid);
	n->server = g_strdup(server);
	n->busid = g_strdup(busid);
}

void svc_log_shutdown(void)
{
	g_clear_pointer(&lg.nodes, g_ptr_array_unref);
}

/* text starts with word followed by one of the bytes in ends (or its end) */
static gboolean starts_with_word(const char *text, const char *word, const char *ends)
{
	gsize n = strlen(word);
	return n > 0 && strncmp(text, word, n) == 0 && (text[n] == 0 || strchr(ends, text[n]));
}

static gboolean message_names_node(const char *msg, const NodeLog *n)
{
	if (g_str_has_prefix(msg, "/dev/") && starts_with_word(msg + 5, n->node, ": "))
		return TRUE;
	return starts_with_word(msg, n->node, ":");
}

static void add_field(GLogField *out, gsize max, gsize *k, const char *key, const char *value)
{
	if (*k < max)
		out[(*k)++] = (GLogField){key, value, -1};
}

gsize svc_log_node_fields(const char *message, GLogField *out, gsize max)
{
	gsize k = 0;
	if (!lg.nodes || !message)
		return 0;
	/* a message about one node by name */
	for (guint i = 0; i < lg.nodes->len; i++) {
		const NodeLog *n = g_ptr_array_index(lg.nodes, i);
		if (message_names_node(message, n)) {
			add_field(out, max, &k, "USBIP_NODE", n->node);
			add_field(out, max, &k, "USBIP_SERVER", n->server);
			add_field(out, max, &k, "USBIP_BUSID", n->busid);
			return k;
		}
	}
	/* a message about a device by bus id: every node of that device, if
	 * the bus id is unique to one server */
	const NodeLog *first = NULL;
	for (guint i = 0; i < lg.nodes->len; i++) {
		const NodeLog *n = g_ptr_array_index(lg.nodes, i);
		if (!starts_with_word(message, n->busid, ":"))
			continue;
		if (first && strcmp(first->server, n->server) != 0)
			return 0; /* the same bus id on two servers: cannot tell */
		if (!first)
			first = n;
	}
	if (!first)
		return 0;
	for (guint i = 0; i < lg.nodes->len; i++) {
		const NodeLog *n = g_ptr_array_index(lg.nodes, i);
		if (strcmp(n->busid, first->busid) == 0 && strcmp(n->server, first->server) == 0)
			add_field(out, max, &k, "USBIP_NODE", n->node);
	}
	add_field(out, max, &k, "USBIP_SERVER", first->server);
	add_field(out, max, &k, "USBIP_BUSID", first->busid);
	return k;
}

static int syslog_priority(GLogLevelFlags level)
{
	static const struct {
		GLogLevelFlags level;
		int prio;
	} map[] = {
	    {G_LOG_LEVEL_ERROR, LOG_ERR},       {G_LOG_LEVEL_CRITICAL, LOG_CRIT},
	    {G_LOG_LEVEL_WARNING, LOG_WARNING}, {G_LOG_LEVEL_MESSAGE, LOG_NOTICE},
	    {G_LOG_LEVEL_INFO, LOG_INFO},       {G_LOG_LEVEL_DEBUG, LOG_DEBUG},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(map); i++)
		if (level & map[i].level)
			return map[i].prio;
	return LOG_NOTICE;
}

#define MAX_EXTRA 16

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                               gpointer user)
{
	const char *domain = NULL, *message = NULL;
	gssize message_len = -1;
	gboolean has_node = FALSE;
	for (gsize i = 0; i < n_fields; i++) {
		if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
		else if (strcmp(fields[i].key, "MESSAGE") == 0) {
			message = fields[i].value;
			message_len = fields[i].length;
		} else if (strcmp(fields[i].key, "USBIP_NODE") == 0)
			has_node = TRUE;
	}
	if (g_log_writer_default_would_drop(level, domain))
		return G_LOG_WRITER_HANDLED;
	if (!message)
		message = "";
	gsize len = message_len < 0 ? strlen(message) : (gsize)message_len;
	gsize size = UC_ESCAPE_MAX(len);
	g_autofree char *safe = g_malloc(size);
	uc_escape(safe, size, message, len, UC_ESCAPE_KEEP_BACKSLASH);

	GLogField *out = g_newa(GLogField, n_fields + MAX_EXTRA);
	gsize k = 0;
	for (gsize i = 0; i < n_fields; i++) {
		out[k] = fields[i];
		if (strcmp(fields[i].key, "MESSAGE") == 0) {
			out[k].value = safe;
			out[k].length = -1;
		}
		k++;
	}
	if (!has_node && g_thread_self() == lg.main_thread && lg.nodes)
		k += svc_log_node_fields(safe, out + k, MAX_EXTRA);

	switch (lg.target) {
	case SVC_LOG_JOURNAL:
		if (g_log_writer_journald(level, out, k, user) == G_LOG_WRITER_HANDLED)
			return G_LOG_WRITER_HANDLED;
		/* the journal went away: syslog rather than nothing */
		G_GNUC_FALLTHROUGH;
	case SVC_LOG_SYSLOG:
		syslog(syslog_priority(level), "%s", safe);
		return G_LOG_WRITER_HANDLED;
	default:
		return g_log_writer_standard_streams(level, out, k, user);
	}
}

void svc_log_init(SvcLogTarget target)
{
	lg.target = target;
	lg.main_thread = g_thread_self();
	if (target == SVC_LOG_SYSLOG || target == SVC_LOG_JOURNAL)
		/* connect now: /dev/log stays reachable after a privilege drop */
		openlog("usbip-cuse", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	static gsize once;
	if (g_once_init_enter(&once)) {
		g_log_set_writer_func(writer, NULL, NULL);
		g_once_init_leave(&once, 1);
	}
}

void svc_log_node(GLogLevelFlags level, const char *node, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	g_autofree char *msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	const NodeLog *n = NULL;
	for (guint i = 0; lg.nodes && i < lg.nodes->len && !n; i++)
		if (strcmp(((NodeLog *)g_ptr_array_index(lg.nodes, i))->node, node) == 0)
			n = g_ptr_array_index(lg.nodes, i);
	GLogField fields[] = {
	    {"GLIB_DOMAIN", G_LOG_DOMAIN, -1},
	    {"MESSAGE", msg, -1},
	    {"PRIORITY", "", -1},
	    {"USBIP_NODE", node, -1},
	    {"USBIP_SERVER", n ? n->server : "", -1},
	    {"USBIP_BUSID", n ? n->busid : "", -1},
	};
	static const char *const prio[] = {"0", "1", "2", "3", "4", "5", "6", "7"};
	fields[2].value = prio[syslog_priority(level)];
	g_log_structured_array(level, fields, n ? G_N_ELEMENTS(fields) : 4);
}
