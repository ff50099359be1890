/* SPDX-License-Identifier: MIT */
/*
 * `usbip-cuse cat` (run as a child) against the in-process mock server on
 * 127.0.0.1: what it tells the device, and that it stays responsive.
 *
 *   test_cat USBIP_CUSE_EXE
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "cdc_acm.h"
#include "mock_server.h"

static const char *exe;

typedef struct {
	MockServer *mock;
	char server[64];
} Fx;

static int fx_setup(void **state)
{
	Fx *fx = g_new0(Fx, 1);
	GError *err = NULL;
	const char *dir = g_getenv("LSUSB_FIXTURES");
	fx->mock = mock_server_new(dir ? dir : "test/lsusb", "127.0.0.1", 0, &err);
	if (!fx->mock)
		fail_msg("mock server: %s", err->message);
	g_snprintf(fx->server, sizeof(fx->server), "127.0.0.1:%u", mock_server_get_port(fx->mock));
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	Fx *fx = *state;
	mock_server_free(fx->mock);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_free(fx);
	return 0;
}

static void wait_cb(GObject *src, GAsyncResult *res, gpointer user)
{
	g_subprocess_wait_finish(G_SUBPROCESS(src), res, NULL);
	*(gboolean *)user = TRUE;
}

static gboolean flag_cb(gpointer user)
{
	*(gboolean *)user = TRUE;
	return G_SOURCE_REMOVE;
}

/* Serve the mock until the child exits or ms pass; TRUE if it exited. */
static gboolean serve_until_exit(GSubprocess *p, guint ms)
{
	gboolean exited = FALSE, timeout = FALSE;
	g_subprocess_wait_async(p, NULL, wait_cb, &exited);
	guint t = g_timeout_add(ms, flag_cb, &timeout);
	while (!exited && !timeout)
		g_main_context_iteration(NULL, TRUE);
	if (!timeout)
		g_source_remove(t);
	while (!exited) { /* the async wait must finish before p goes */
		if (timeout) {
			g_subprocess_force_exit(p);
			timeout = FALSE;
		}
		g_main_context_iteration(NULL, TRUE);
	}
	return g_subprocess_get_if_exited(p);
}

static void serve_for(guint ms)
{
	gboolean timeout = FALSE;
	g_timeout_add(ms, flag_cb, &timeout);
	while (!timeout)
		g_main_context_iteration(NULL, TRUE);
}

/* The line settings and lines go to the device once, before any data. */
static void test_setup_once(void **state)
{
	Fx *fx = *state;
	GError *err = NULL;
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GSubprocess) p =
	    g_subprocess_launcher_spawn(l, &err, exe, "cat", "--server", fx->server, "--device",
	                                "1-1", "--baud", "57600", "--idle-exit", "500", NULL);
	assert_non_null(p);
	static const char msg[] = "hello, device\n";
	GOutputStream *in = g_subprocess_get_stdin_pipe(p);
	assert_true(g_output_stream_write_all(in, msg, strlen(msg), NULL, NULL, NULL));
	assert_true(g_output_stream_close(in, NULL, NULL));
	assert_true(serve_until_exit(p, 20000));
	assert_int_equal(g_subprocess_get_exit_status(p), 0);
	char out[256] = {0};
	gsize got = 0;
	g_input_stream_read_all(g_subprocess_get_stdout_pipe(p), out, sizeof(out) - 1, &got, NULL,
	                        NULL);
	assert_string_equal(out, msg);

	g_autoptr(GArray) reqs = mock_server_get_requests(fx->mock, "1-1", NULL);
	guint codings = 0, lines = 0;
	for (guint i = 0; i < reqs->len; i++) {
		const MockServerRequest *r = &g_array_index(reqs, MockServerRequest, i);
		if (r->bmRequestType == CDC_REQTYPE_OUT && r->bRequest == CDC_REQ_SET_LINE_CODING)
			codings++;
		if (r->bmRequestType == CDC_REQTYPE_OUT &&
		    r->bRequest == CDC_REQ_SET_CONTROL_LINE_STATE) {
			lines++;
			assert_int_equal(r->wValue, CDC_CTRL_DTR | CDC_CTRL_RTS);
		}
	}
	assert_int_equal(codings, 1);
	assert_int_equal(lines, 1);
	struct cdc_line_coding lc;
	assert_true(mock_server_get_line_coding(fx->mock, "1-1", -1, &lc, NULL));
	assert_int_equal(lc.rate, 57600);
}

/* A consumer that stops reading must not keep cat from its signals. */
static void test_sigterm_with_stalled_stdout(void **state)
{
	Fx *fx = *state;
	GError *err = NULL;
	g_autofree char *tmp = NULL;
	int fd = g_file_open_tmp("cat-in-XXXXXX", &tmp, &err);
	assert_true(fd >= 0);
	g_autofree guint8 *data = g_malloc(4u << 20);
	for (gsize i = 0; i < (4u << 20); i++)
		data[i] = (guint8)(i * 7);
	assert_true(write(fd, data, 4u << 20) == (ssize_t)(4u << 20));
	close(fd);
	g_autoptr(GSubprocessLauncher) l =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_subprocess_launcher_set_stdin_file_path(l, tmp);
	g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn(l, &err, exe, "cat", "--server",
	                                                       fx->server, "--device", "1-1", NULL);
	assert_non_null(p);
	/* nobody reads stdout: the pipe fills, then the device's data waits */
	serve_for(1500);
	g_subprocess_send_signal(p, SIGTERM);
	assert_true(serve_until_exit(p, 5000));
	g_unlink(tmp);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		g_printerr("usage: test_cat USBIP_CUSE_EXE\n");
		return 2;
	}
	exe = argv[1];
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_setup_once, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_sigterm_with_stalled_stdout, fx_setup,
	                                    fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
