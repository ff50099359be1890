/* SPDX-License-Identifier: MIT */
/* svc_notify - sd_notify over GIO (see svc_notify.h). */
#include "svc_notify.h"

#include <string.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "uc_error.h"

struct _SvcNotify {
	GSocket *sock;
	GSocketAddress *addr;
	gboolean connected; /* sends need no permission on the socket file any more */
};

SvcNotify *svc_notify_new(GError **error)
{
	const char *path = g_getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return NULL;
	g_autoptr(GSocketAddress) addr = NULL;
	if (path[0] == '@' && path[1])
		addr = g_unix_socket_address_new_with_type(path + 1, -1,
		                                           G_UNIX_SOCKET_ADDRESS_ABSTRACT);
	else if (path[0] == '/')
		addr = g_unix_socket_address_new(path);
	if (!addr) {
		g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM,
		            "NOTIFY_SOCKET=%s is neither an absolute path nor @abstract", path);
		return NULL;
	}
	GSocket *sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
	                             G_SOCKET_PROTOCOL_DEFAULT, error);
	if (!sock)
		return NULL;
	/* never hang on a manager that stopped reading */
	g_socket_set_timeout(sock, 5);
	SvcNotify *n = g_new0(SvcNotify, 1);
	n->sock = sock;
	/* Connected now, while the daemon may still be root: write permission
	 * on the socket file is checked here, not at each send (a manager's
	 * socket need not be writable by the user the daemon becomes).  If
	 * nobody listens yet, each send names the address instead. */
	n->connected = g_socket_connect(sock, addr, NULL, NULL);
	n->addr = g_steal_pointer(&addr);
	return n;
}

void svc_notify_free(SvcNotify *n)
{
	if (!n)
		return;
	g_socket_close(n->sock, NULL);
	g_object_unref(n->sock);
	g_object_unref(n->addr);
	g_free(n);
}

gboolean svc_notify_send(SvcNotify *n, const char *state, GError **error)
{
	if (!n)
		return TRUE;
	gsize len = strlen(state);
	/* a datagram goes whole or not at all; the socket is blocking */
	gssize sent = n->connected ? g_socket_send(n->sock, state, len, NULL, error)
	                           : g_socket_send_to(n->sock, n->addr, state, len, NULL, error);
	if (sent < 0)
		return FALSE;
	if ((gsize)sent != len) {
		g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM, "notify: %zd of %zu bytes sent", sent,
		            len);
		return FALSE;
	}
	return TRUE;
}
