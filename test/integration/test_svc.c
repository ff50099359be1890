/* SPDX-License-Identifier: MIT */
/*
 * The service helpers without CUSE: svc_notify datagrams received on a
 * socket of our own (path and abstract), svc_log's node fields and the
 * escaping of every message on its way to stderr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "svc_log.h"
#include "svc_notify.h"
#include "uc_error.h"

static GSocket *listen_dgram(GSocketAddress *addr)
{
	GError *error = NULL;
	GSocket *s = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
	                          G_SOCKET_PROTOCOL_DEFAULT, &error);
	assert_non_null(s);
	assert_true(g_socket_bind(s, addr, TRUE, &error));
	g_socket_set_timeout(s, 5);
	return s;
}

static char *receive(GSocket *s)
{
	char buf[4096];
	GError *error = NULL;
	gssize n = g_socket_receive(s, buf, sizeof(buf), NULL, &error);
	assert_true(n >= 0);
	return g_strndup(buf, (gsize)n);
}

static void test_notify_path(void **state)
{
	g_autofree char *dir = g_dir_make_tmp("svc-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "notify", NULL);
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
	g_autoptr(GSocket) s = listen_dgram(addr);
	g_setenv("NOTIFY_SOCKET", path, TRUE);
	GError *error = NULL;
	g_autoptr(SvcNotify) n = svc_notify_new(&error);
	assert_non_null(n);
	assert_true(svc_notify_send(n, "READY=1\nSTATUS=2 of 2 node(s) up", &error));
	assert_true(svc_notify_send(n, "STOPPING=1", &error));
	g_autofree char *a = receive(s);
	g_autofree char *b = receive(s);
	assert_string_equal(a, "READY=1\nSTATUS=2 of 2 node(s) up");
	assert_string_equal(b, "STOPPING=1");
	unlink(path);
	rmdir(dir);
}

static void test_notify_abstract(void **state)
{
	g_autofree char *name = g_strdup_printf("usbip-cuse-test-%d", (int)getpid());
	g_autoptr(GSocketAddress) addr =
	    g_unix_socket_address_new_with_type(name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
	g_autoptr(GSocket) s = listen_dgram(addr);
	g_autofree char *env = g_strdup_printf("@%s", name);
	g_setenv("NOTIFY_SOCKET", env, TRUE);
	GError *error = NULL;
	g_autoptr(SvcNotify) n = svc_notify_new(&error);
	assert_non_null(n);
	assert_true(svc_notify_send(n, "READY=1", &error));
	g_autofree char *a = receive(s);
	assert_string_equal(a, "READY=1");
}

static void test_notify_unset_or_bad(void **state)
{
	GError *error = NULL;
	g_unsetenv("NOTIFY_SOCKET");
	assert_null(svc_notify_new(&error));
	assert_null(error);
	assert_true(svc_notify_send(NULL, "READY=1", &error));
	g_setenv("NOTIFY_SOCKET", "relative/path", TRUE);
	assert_null(svc_notify_new(&error));
	assert_true(g_error_matches(error, UC_ERROR, UC_ERROR_SYSTEM));
	g_clear_error(&error);
	/* nobody listening: the send fails, it does not hang */
	g_setenv("NOTIFY_SOCKET", "/nonexistent/notify", TRUE);
	g_autoptr(SvcNotify) n = svc_notify_new(&error);
	assert_non_null(n);
	assert_false(svc_notify_send(n, "READY=1", &error));
	g_clear_error(&error);
	g_unsetenv("NOTIFY_SOCKET");
}

static const char *field(const GLogField *f, gsize n, const char *key, guint nth)
{
	for (gsize i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0 && nth-- == 0)
			return f[i].value;
	return NULL;
}

static void test_log_fields(void **state)
{
	svc_log_node_set("ttyUSBIP0", "lab", "1-1");
	svc_log_node_set("ttyUSBIP1", "lab", "1-4");
	svc_log_node_set("ttyUSBIP2", "lab", "1-4");
	svc_log_node_set("ttyESP", "bench", "3-1");
	GLogField f[16];
	gsize n;
	/* cuse_tty: "/dev/NAME ..." */
	n = svc_log_node_fields("/dev/ttyUSBIP0 is ready", f, 16);
	assert_int_equal(n, 3);
	assert_string_equal(field(f, n, "USBIP_NODE", 0), "ttyUSBIP0");
	assert_string_equal(field(f, n, "USBIP_SERVER", 0), "lab");
	assert_string_equal(field(f, n, "USBIP_BUSID", 0), "1-1");
	/* the bridge: "NAME: ..." */
	n = svc_log_node_fields("ttyUSBIP2: device lost", f, 16);
	assert_string_equal(field(f, n, "USBIP_NODE", 0), "ttyUSBIP2");
	/* a prefix of another name is not that name */
	assert_int_equal(svc_log_node_fields("ttyUSBIP: x", f, 16), 0);
	assert_int_equal(svc_log_node_fields("/dev/ttyUSBIP10 is ready", f, 16), 0);
	/* usbip_device: "BUSID: ..." concerns every node of the device */
	n = svc_log_node_fields("1-4: link lost: reset", f, 16);
	assert_int_equal(n, 4);
	assert_string_equal(field(f, n, "USBIP_NODE", 0), "ttyUSBIP1");
	assert_string_equal(field(f, n, "USBIP_NODE", 1), "ttyUSBIP2");
	assert_string_equal(field(f, n, "USBIP_BUSID", 0), "1-4");
	/* the bus id moved: the registry follows */
	svc_log_node_set("ttyESP", "bench", "3-2");
	n = svc_log_node_fields("3-2: attached", f, 16);
	assert_string_equal(field(f, n, "USBIP_NODE", 0), "ttyESP");
	assert_string_equal(field(f, n, "USBIP_SERVER", 0), "bench");
	/* the same bus id on two servers: no guess */
	svc_log_node_set("ttyOther", "bench", "1-1");
	assert_int_equal(svc_log_node_fields("1-1: link lost", f, 16), 0);
	assert_int_equal(svc_log_node_fields("nothing to do with nodes", f, 16), 0);
	svc_log_shutdown();
	assert_int_equal(svc_log_node_fields("/dev/ttyUSBIP0 is ready", f, 16), 0);
}

/* Whatever a message holds, stderr gets one line without control bytes. */
static void test_log_escapes(void **state)
{
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("svc-log-XXXXXX", &path, NULL);
	assert_true(fd >= 0);
	int saved = dup(2);
	dup2(fd, 2);
	svc_log_init(SVC_LOG_STDERR);
	g_message("product \"%s\"", "Pico\nusbip-cuse-Message: forged\x1b[2J\x07");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	g_autofree char *text = NULL;
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	unlink(path);
	print_message("%s", text);
	assert_non_null(
	    strstr(text, "product \"Pico\\x0ausbip-cuse-Message: forged\\x1b[2J\\x07\""));
	/* exactly one line, no ESC */
	assert_null(strchr(text, 0x1b));
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notify_path),         cmocka_unit_test(test_notify_abstract),
	    cmocka_unit_test(test_notify_unset_or_bad), cmocka_unit_test(test_log_fields),
	    cmocka_unit_test(test_log_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
