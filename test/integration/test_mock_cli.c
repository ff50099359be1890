/* SPDX-License-Identifier: MIT */
/*
 * Tests of the standalone usbip-mock-server program (run as a child):
 *   test_mock_cli control    EXE DIR   the --control text channel and --help
 *   test_mock_cli usbip-list EXE DIR   Debian's `usbip list -r` sees exactly the
 *                                      fixture devices (exit 77 without usbip)
 * Prints "ok"/"FAIL: ..." lines; exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "usbip_proto.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL line %d: ", __LINE__);                                        \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

typedef struct {
	GSubprocess *proc;
	guint16 port;
	char *tmpdir;
	char *ctl_path;
} Server;

static gboolean server_start(Server *s, const char *exe, const char *dir)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GDataInputStream) out = NULL;
	g_autofree char *line = NULL;

	s->tmpdir = g_dir_make_tmp("mock-cli-XXXXXX", &err);
	if (!s->tmpdir) {
		printf("FAIL: tmpdir: %s\n", err->message);
		return FALSE;
	}
	s->ctl_path = g_build_filename(s->tmpdir, "ctl", NULL);
	s->proc =
	    g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err, exe, "--dir", dir, "--port", "0",
	                     "--listen", "127.0.0.1", "--control", s->ctl_path, NULL);
	if (!s->proc) {
		printf("FAIL: spawn %s: %s\n", exe, err->message);
		return FALSE;
	}
	out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(s->proc));
	line = g_data_input_stream_read_line(out, NULL, NULL, &err);
	if (!line || atoi(line) <= 0 || atoi(line) > 65535) {
		printf("FAIL: no port line from the server (%s)\n", line ? line : "EOF");
		return FALSE;
	}
	s->port = (guint16)atoi(line);
	return TRUE;
}

static void server_stop(Server *s)
{
	g_autoptr(GError) err = NULL;

	if (s->proc) {
		g_subprocess_send_signal(s->proc, SIGTERM);
		CHECK(g_subprocess_wait(s->proc, NULL, &err), "wait");
		CHECK(g_subprocess_get_if_exited(s->proc) &&
		          g_subprocess_get_exit_status(s->proc) == 0,
		      "server did not exit 0 on SIGTERM");
		/* the control socket is removed on exit */
		CHECK(!g_file_test(s->ctl_path, G_FILE_TEST_EXISTS), "%s left behind", s->ctl_path);
		g_object_unref(s->proc);
	}
	if (s->tmpdir)
		g_rmdir(s->tmpdir);
	g_free(s->ctl_path);
	g_free(s->tmpdir);
}

static GSocket *connect_ctl(Server *s)
{
	g_autoptr(GSocketAddress) sa = g_unix_socket_address_new(s->ctl_path);
	g_autoptr(GError) err = NULL;
	GSocket *sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
	                             G_SOCKET_PROTOCOL_DEFAULT, &err);

	g_assert_nonnull(sock);
	g_socket_set_timeout(sock, 5);
	if (!g_socket_connect(sock, sa, NULL, &err))
		g_error("connect %s: %s", s->ctl_path, err->message);
	return sock;
}

static GSocket *connect_tcp(Server *s)
{
	g_autoptr(GInetAddress) ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, s->port);
	g_autoptr(GError) err = NULL;
	GSocket *sock =
	    g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);

	g_assert_nonnull(sock);
	g_socket_set_timeout(sock, 5);
	if (!g_socket_connect(sock, sa, NULL, &err))
		g_error("connect port %u: %s", s->port, err->message);
	return sock;
}

static void send_str(GSocket *sock, const char *str)
{
	gsize len = strlen(str);

	while (len) {
		gssize n = g_socket_send(sock, str, len, NULL, NULL);
		g_assert_cmpint(n, >, 0);
		str += n;
		len -= (gsize)n;
	}
}

/* Read until the reply is complete: one line, or a block ending in "ok\n"
 * when block is set.  Returns what was read. */
static char *read_reply(GSocket *sock, gboolean block)
{
	GString *r = g_string_new(NULL);
	char c;

	for (;;) {
		gssize n = g_socket_receive(sock, &c, 1, NULL, NULL);
		if (n <= 0)
			break;
		g_string_append_c(r, c);
		if (c != '\n')
			continue;
		if (!block || g_str_has_suffix(r->str, "\nok\n") || !strcmp(r->str, "ok\n") ||
		    g_str_has_prefix(r->str, "error: "))
			break;
	}
	return g_string_free(r, FALSE);
}

static char *command(GSocket *sock, const char *cmd, gboolean block)
{
	g_autofree char *line = g_strconcat(cmd, "\n", NULL);

	send_str(sock, line);
	return read_reply(sock, block);
}

static GPtrArray *fixture_busids(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)))
		if (g_str_has_suffix(name, ".lsusb"))
			g_ptr_array_add(ids, g_strndup(name, strlen(name) - 6));
	return ids;
}

static int test_control(const char *exe, const char *dir)
{
	Server s = {0};
	g_autoptr(GPtrArray) ids = fixture_busids(dir);
	g_autoptr(GSocket) ctl = NULL;
	guint8 buf[USBIP_OP_HDR_SIZE + USBIP_DEVICE_SIZE];

	/* --help documents the control commands */
	{
		const char *argv[] = {exe, "--help", NULL};
		g_autofree char *out = NULL;
		g_autoptr(GError) err = NULL;
		int status = -1;
		CHECK(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
		                   NULL, &status, &err),
		      "spawn --help");
		CHECK(out && strstr(out, "serial-state BUSID BITS") && strstr(out, "--control"),
		      "--help lacks the command list");
	}
	if (!server_start(&s, exe, dir)) {
		server_stop(&s);
		return 1;
	}
	ctl = connect_ctl(&s);
	{
		g_autofree char *r = command(ctl, "help", TRUE);
		CHECK(g_str_has_suffix(r, "\nok\n") && strstr(r, "linecoding BUSID"), "help: %s",
		      r);
	}
	{
		g_autofree char *r = command(ctl, "list", TRUE);
		for (guint i = 0; i < ids->len; i++) {
			g_autofree char *want =
			    g_strdup_printf("%s free\n", (char *)g_ptr_array_index(ids, i));
			CHECK(strstr(r, want), "list lacks %s: %s", want, r);
		}
	}
	{
		g_autofree char *r = command(ctl, "linecoding 1-1", FALSE);
		CHECK(g_str_has_prefix(r, "error: no SET_LINE_CODING"), "linecoding: %s", r);
	}
	{
		g_autofree char *r = command(ctl, "serial-state 1-1 0x3", FALSE);
		CHECK(!strcmp(r, "ok\n"), "serial-state: %s", r);
	}
	{
		g_autofree char *r = command(ctl, "frobnicate 1-1", FALSE);
		CHECK(g_str_has_prefix(r, "error: bad command"), "bad command: %s", r);
	}
	/* two commands in one write: two replies, in order */
	{
		g_autofree char *r1 = NULL, *r2 = NULL;
		send_str(ctl, "unplug 1-1\nstate 1-1\n");
		r1 = read_reply(ctl, FALSE);
		r2 = read_reply(ctl, FALSE);
		CHECK(!strcmp(r1, "ok\n") && !strcmp(r2, "unplugged\n"), "pipelined: %s %s", r1,
		      r2);
	}
	/* import while unplugged: NODEV; after replug: OK, then `drop` */
	for (int round = 0; round < 2; round++) {
		g_autoptr(GSocket) t = connect_tcp(&s);
		struct usbip_op_hdr oh;
		gssize n;
		if (round == 1) {
			g_autofree char *r = command(ctl, "replug 1-1", FALSE);
			CHECK(!strcmp(r, "ok\n"), "replug: %s", r);
		}
		usbip_proto_import_req_encode("1-1", buf, sizeof(buf));
		g_assert_cmpint(g_socket_send(t, (char *)buf, USBIP_IMPORT_REQ_SIZE, NULL, NULL),
		                ==, USBIP_IMPORT_REQ_SIZE);
		n = g_socket_receive(t, (char *)buf, USBIP_OP_HDR_SIZE, NULL, NULL);
		CHECK(n == USBIP_OP_HDR_SIZE, "import reply");
		usbip_proto_op_hdr_decode(&oh, buf, USBIP_OP_HDR_SIZE);
		if (round == 0) {
			CHECK(oh.status == USBIP_ST_NODEV, "import unplugged: %u", oh.status);
			continue;
		}
		CHECK(oh.status == USBIP_ST_OK, "import: %u", oh.status);
		gsize got = 0;
		while (got < USBIP_DEVICE_SIZE) {
			n = g_socket_receive(t, (char *)buf + got, USBIP_DEVICE_SIZE - got, NULL,
			                     NULL);
			if (n <= 0)
				break;
			got += (gsize)n;
		}
		CHECK(got == USBIP_DEVICE_SIZE, "device record");
		{
			g_autofree char *r = command(ctl, "state 1-1", FALSE);
			CHECK(!strcmp(r, "imported\n"), "state: %s", r);
		}
		{
			g_autofree char *r = command(ctl, "drop 1-1", FALSE);
			CHECK(!strcmp(r, "ok\n"), "drop: %s", r);
		}
		n = g_socket_receive(t, (char *)buf, 1, NULL, NULL);
		CHECK(n == 0, "connection not closed by drop (%zd)", n);
	}
	/* the socat way: one command, then EOF; the reply still comes */
	{
		g_autoptr(GSocket) once = connect_ctl(&s);
		g_autofree char *r = NULL;
		send_str(once, "lines 1-1");
		g_socket_shutdown(once, FALSE, TRUE, NULL);
		r = read_reply(once, FALSE);
		CHECK(!strcmp(r, "none\n"), "lines after EOF: %s", r);
		CHECK(g_socket_receive(once, (char *)buf, 1, NULL, NULL) == 0, "not closed");
	}
	{
		g_autofree char *r = command(ctl, "quit", FALSE);
		CHECK(!strcmp(r, "ok\n"), "quit: %s", r);
		CHECK(g_socket_receive(ctl, (char *)buf, 1, NULL, NULL) == 0, "quit did not close");
	}
	server_stop(&s);
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}

static int test_usbip_list(const char *exe, const char *dir)
{
	Server s = {0};
	g_autoptr(GPtrArray) ids = fixture_busids(dir);
	g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;
	g_autofree char *usbip = NULL;
	g_autofree char *out = NULL;
	g_autofree char *errout = NULL;
	g_autofree char *port = NULL;
	g_auto(GStrv) lines = NULL;
	int status = -1;

	usbip = g_file_test("/usr/sbin/usbip", G_FILE_TEST_IS_EXECUTABLE)
	            ? g_strdup("/usr/sbin/usbip")
	            : g_find_program_in_path("usbip");
	if (!usbip) {
		printf("SKIP: the usbip client (Debian package usbip) is not installed\n");
		return 77;
	}
	if (!server_start(&s, exe, dir)) {
		server_stop(&s);
		return 1;
	}
	port = g_strdup_printf("%u", s.port);
	{
		const char *argv[] = {usbip, "--tcp-port", port, "list", "-r", "127.0.0.1", NULL};
		CHECK(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
		                   &errout, &status, &err),
		      "spawn usbip: %s", err ? err->message : "");
	}
	CHECK(g_spawn_check_wait_status(status, NULL), "usbip exit status %d: %s", status,
	      errout ? errout : "");
	printf("%s", out ? out : "");
	/* device lines look like "        1-1: vendor : product (vvvv:pppp)";
	 * the lines under them start with ':' */
	lines = g_strsplit(out ? out : "", "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		const char *p = lines[i];
		const char *colon;
		while (*p == ' ' || *p == '\t')
			p++;
		colon = strstr(p, ": ");
		if (*p == ':' || *p == '-' || !colon || colon == p || memchr(p, ' ', colon - p))
			continue;
		g_ptr_array_add(seen, g_strndup(p, colon - p));
	}
	CHECK(seen->len == ids->len, "usbip listed %u devices, fixtures %u", seen->len, ids->len);
	for (guint i = 0; i < ids->len; i++) {
		gboolean found = FALSE;
		for (guint k = 0; k < seen->len; k++)
			found |= !strcmp(g_ptr_array_index(seen, k), g_ptr_array_index(ids, i));
		CHECK(found, "usbip did not list %s", (char *)g_ptr_array_index(ids, i));
	}
	server_stop(&s);
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s control|usbip-list SERVER-EXE FIXTURE-DIR\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "control"))
		return test_control(argv[2], argv[3]);
	if (!strcmp(argv[1], "usbip-list"))
		return test_usbip_list(argv[2], argv[3]);
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
