/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for daemon_opts: the command line and the configuration file
 * fill one structure with the same defaults; every kind of bad input gives
 * a message naming file, group and key (a table of files and the text the
 * error must hold); the shipped example is valid and documents every key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "daemon_opts.h"
#include "uc_error.h"

static DaemonOpts *args(GError **error, ...)
{
	va_list ap;
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, "usbip-cuse");
	va_start(ap, error);
	for (const char *a; (a = va_arg(ap, const char *));)
		g_ptr_array_add(argv, (gpointer)a);
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	DaemonOpts *o = daemon_opts_new();
	if (!daemon_opts_parse_args(o, (int)argv->len - 1, (char **)argv->pdata, error) ||
	    !daemon_opts_validate(o, error)) {
		daemon_opts_free(o);
		return NULL;
	}
	return o;
}

static DaemonOpts *file(const char *text, GError **error)
{
	DaemonOpts *o = daemon_opts_new();
	o->config = g_strdup("test.conf");
	if (!daemon_opts_load_data(o, text, strlen(text), "test.conf", error) ||
	    !daemon_opts_validate(o, error)) {
		daemon_opts_free(o);
		return NULL;
	}
	return o;
}

static DaemonPort *port(DaemonOpts *o, guint i)
{
	return g_ptr_array_index(o->ports, i);
}

static void test_cli_defaults(void **state)
{
	GError *error = NULL;
	g_autoptr(DaemonOpts) o = args(&error, "--device", "1-1", "-d", "2e8a:000a#1", NULL);
	assert_null(error);
	assert_int_equal(o->servers->len, 1);
	assert_string_equal(((DaemonServer *)g_ptr_array_index(o->servers, 0))->address,
	                    "127.0.0.1");
	assert_int_equal(o->ports->len, 2);
	DaemonPort *p = port(o, 1);
	assert_string_equal(p->node, "ttyUSBIP%u");
	assert_int_equal(p->rx_buffer, 65536);
	assert_int_equal(p->rx_urbs, 16);
	assert_int_equal(p->urb_size, 16384);
	assert_int_equal(p->backoff_max, 10000);
	assert_false(p->keep_open_on_reset);
	assert_true(p->sel.has_vidpid);
	assert_int_equal(p->sel.vid, 0x2e8a);
	assert_int_equal(p->sel.index, 1);
	assert_null(o->user);
	assert_int_equal(o->log, SVC_LOG_AUTO);
	assert_int_equal(o->major, 0);
	assert_string_equal(o->cdi_spec, DAEMON_DEFAULT_CDI_SPEC);
	assert_false(o->foreground);
}

/* The command line's per-node options reach every port it names. */
static void test_cli_values(void **state)
{
	GError *error = NULL;
	g_autoptr(DaemonOpts) o =
	    args(&error, "-s", "10.0.0.5:3241", "-d", "1-1", "-d", "1-2", "--name", "ttyX%u",
	         "--rx-urbs", "4", "--urb-size=512", "--keep-open-on-reset", "--backoff-max", "100",
	         "--rx-buffer", "4096", "--log", "syslog", "--major", "240", "--cdi-spec", "none",
	         "-f", "-v", "--user", "nobody", NULL);
	assert_null(error);
	for (guint i = 0; i < 2; i++) {
		DaemonPort *p = port(o, i);
		assert_string_equal(p->node, "ttyX%u");
		assert_int_equal(p->rx_urbs, 4);
		assert_int_equal(p->urb_size, 512);
		assert_int_equal(p->backoff_max, 100);
		assert_int_equal(p->rx_buffer, 4096);
		assert_true(p->keep_open_on_reset);
	}
	assert_string_equal(((DaemonServer *)g_ptr_array_index(o->servers, 0))->address,
	                    "10.0.0.5:3241");
	assert_int_equal(o->log, SVC_LOG_SYSLOG);
	assert_int_equal(o->major, 240);
	assert_string_equal(o->cdi_spec, "");
	assert_true(o->foreground && o->verbose);
	assert_string_equal(o->user, "nobody");
	assert_int_equal(o->uid, 65534);
}

static const struct {
	const char *argv[6];
	const char *want;
} cli_errors[] = {
    {{NULL}, "name at least one --device"},
    {{"-d", "1-1", "--rx-urbs", "0"}, "--rx-urbs: want a whole number from 1 to 64, not \"0\""},
    {{"-d", "1-1", "--urb-size", "big"}, "--urb-size: want a whole number"},
    {{"-d", "1-1", "--name", "tty/%u"}, "--name needs exactly one %u"},
    {{"-d", "1-1", "--name", "tty%u%u"}, "--name needs exactly one %u"},
    {{"-d", "1-1", "--name", "ttyA"}, "--name needs exactly one %u"},
    {{"-d", "1-1", "--log", "file"}, "--log: want auto, stderr, journal or syslog"},
    {{"-d", "1-1", "--major", "512"}, "--major: want a whole number from 0 to 511"},
    {{"-d", "1-1", "--cdi-spec", "x.json"}, "--cdi-spec: want an absolute path or \"none\""},
    {{"-d", "1-1", "--user", "no-such-user-here"}, "--user: no such user \"no-such-user-here\""},
    {{"-d", "1-1", "--user", "root"}, "--user: \"root\" is root"},
    {{"-d", "zz:1"}, "zz:1"},
    {{"-d", "1-1", "extra"}, "unexpected argument \"extra\""},
    {{"-c", "x.conf", "-d", "1-1"}, "--device cannot be combined with --config"},
    {{"-c", "x.conf", "--rx-urbs", "2"}, "--rx-urbs cannot be combined with --config"},
    {{"-c", "/nonexistent/x.conf"}, "/nonexistent/x.conf"},
    {{"-d", "1-1", "-s", "host:99999"}, "--server: "},
};

static void test_cli_errors(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cli_errors); i++) {
		GError *error = NULL;
		const char *const *a = cli_errors[i].argv;
		DaemonOpts *o = args(&error, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
		print_message("case %zu: %s\n", i, error ? error->message : "(no error)");
		assert_null(o);
		assert_true(g_error_matches(error, UC_ERROR, UC_ERROR_USAGE));
		assert_non_null(strstr(error->message, cli_errors[i].want));
		g_error_free(error);
	}
}

static const char good_file[] = "# two servers, three ports\n"
                                "[daemon]\n"
                                "user=nobody\n"
                                "log=journal\n"
                                "major=240\n"
                                "cdi-spec=/run/cdi/lab.json\n"
                                "[server lab]\n"
                                "address=127.0.0.1\n"
                                "[server bench]\n"
                                "address = [::1]:3241\n"
                                "[port pico]\n"
                                "server=lab\n"
                                "device=2e8a:000a:E6605838833C6B2A\n"
                                "node=ttyUSBIP-pico\n"
                                "rx-urbs=8\n"
                                "keep-open-on-reset=true\n"
                                "[port probe]\n"
                                "server=bench\n"
                                "device=1d50:6018\n"
                                "node=ttyBMP%u\n"
                                "backoff-max=500\n"
                                "[port more]\n"
                                "server=lab\n"
                                "device=1-1\n";

static void test_file(void **state)
{
	GError *error = NULL;
	g_autoptr(DaemonOpts) o = file(good_file, &error);
	assert_null(error);
	assert_int_equal(o->servers->len, 2);
	assert_int_equal(o->ports->len, 3);
	DaemonServer *bench = g_ptr_array_index(o->servers, 1);
	assert_string_equal(bench->name, "bench");
	assert_string_equal(bench->address, "[::1]:3241");
	DaemonPort *pico = port(o, 0), *probe = port(o, 1), *more = port(o, 2);
	assert_string_equal(pico->name, "pico");
	assert_int_equal(pico->server, 0);
	assert_string_equal(pico->node, "ttyUSBIP-pico");
	assert_string_equal(pico->sel.serial, "E6605838833C6B2A");
	assert_int_equal(pico->rx_urbs, 8);
	assert_true(pico->keep_open_on_reset);
	assert_int_equal(pico->rx_buffer, 65536); /* the same default as the command line */
	assert_int_equal(probe->server, 1);
	assert_int_equal(probe->backoff_max, 500);
	assert_string_equal(more->node, DAEMON_DEFAULT_NODE);
	assert_false(more->keep_open_on_reset);
	assert_string_equal(o->user, "nobody");
	assert_int_equal(o->log, SVC_LOG_JOURNAL);
	assert_int_equal(o->major, 240);
	assert_string_equal(o->cdi_spec, "/run/cdi/lab.json");
	g_autofree char *text = daemon_opts_describe(o);
	assert_non_null(strstr(text, "port probe: server bench, device 1d50:6018, node "
	                             "/dev/ttyBMP%u"));
}

/* One server: server= may be left out. */
static void test_file_one_server(void **state)
{
	GError *error = NULL;
	g_autoptr(DaemonOpts) o = file("[server s]\naddress=h\n[port p]\ndevice=1-1\n", &error);
	assert_null(error);
	assert_int_equal(port(o, 0)->server, 0);
}

#define SRV  "[server lab]\naddress=127.0.0.1\n"
#define SRV2 SRV "[server b]\naddress=10.0.0.5\n"

static const struct {
	const char *text;
	const char *want;
} file_errors[] = {
    {"[port p]\ndevice=1-1\n",
     "test.conf: [port p]: server=NAME is missing (there is no [server])"},
    {SRV2 "[port p]\ndevice=1-1\n",
     "test.conf: [port p]: server=NAME is missing (there are several"},
    {SRV "[port p]\nserver=nope\ndevice=1-1\n",
     "test.conf: [port p]: server=nope: there is no [server nope]"},
    {SRV "[port p]\nserver=lab\n", "test.conf: [port p]: device=SELECTOR is missing"},
    {SRV "[ports p]\n", "test.conf: unknown group [ports p]"},
    {SRV "[port p]\ndevice=1-1\nspeed=9600\n", "test.conf: [port p] speed: unknown key"},
    {SRV "[daemon]\nrx-urbs=2\n", "test.conf: [daemon] rx-urbs: unknown key"},
    {SRV "[port p]\ndevice=1-1\nname[de]=x\n", "test.conf: line 5: [port p] name[de]: unknown key"},
    {SRV "[port p]\ndevice=1-1\nrx-urbs=65\n",
     "test.conf: [port p] rx-urbs: want a whole number from 1 to 64, not \"65\""},
    {SRV "[port p]\ndevice=1-1\nurb-size=1k\n",
     "test.conf: [port p] urb-size: want a whole number"},
    {SRV "[port p]\ndevice=1-1\nkeep-open-on-reset=maybe\n",
     "test.conf: [port p] keep-open-on-reset: want true or false"},
    {SRV "[port p]\ndevice=1-1\nnode=tty/0\n", "test.conf: [port p]: node: \"tty/0\" is neither"},
    {SRV "[port p]\ndevice=1-1\nnode=0tty\n", "node: \"0tty\" is neither"},
    {SRV "[port p]\ndevice=1-1\nnode=tty%d\n", "node: \"tty%d\" is neither"},
    {SRV "[port p]\ndevice=not/a:selector\n", "test.conf: [port p]: device: "},
    {SRV "[port a]\ndevice=1-1\nnode=ttyA\n[port b]\ndevice=1-2\nnode=ttyA\n",
     "test.conf: [port b]: node: ttyA is also wanted by [port a]"},
    {SRV "[port a]\ndevice=1-1\nnode=ttyUSBIP3\n[port b]\ndevice=1-2\n",
     "test.conf: [port a]: node: ttyUSBIP3 is also wanted by [port b] (node=ttyUSBIP%u)"},
    {"[server lab]\n", "test.conf: [server lab]: address=HOST[:PORT] is missing"},
    {"[server lab]\naddress=host:port\n", "test.conf: [server lab] address: "},
    {"[server l/b]\naddress=h\n", "test.conf: [server l/b]: a server name has"},
    {"[server lab]\naddress=h\n[server lab]\naddress=g\n",
     "test.conf: line 3: group [server lab] appears twice"},
    {SRV "[port p]\ndevice=1-1\ndevice=1-2\n", "test.conf: line 5: [port p] device is set twice"},
    {SRV "[port p]\ndevice=1-1\n[daemon]\nlog=loud\n",
     "test.conf: [daemon] log: want auto, stderr, journal or syslog"},
    {SRV "[port p]\ndevice=1-1\n[daemon]\nmajor=-1\n",
     "test.conf: [daemon] major: want a whole number from 0 to 511"},
    {SRV "[port p]\ndevice=1-1\n[daemon]\ncdi-spec=cdi.json\n",
     "test.conf: [daemon] cdi-spec: want an absolute path"},
    {SRV "[port p]\ndevice=1-1\n[daemon]\nuser=no-such-user-here\n",
     "test.conf: [daemon] user (or --user): no such user"},
    {SRV, "test.conf: no [port NAME] group"},
    {"this is not a key file\n", "test.conf: "},
};

static void test_file_errors(void **state)
{
	for (gsize i = 0; i < G_N_ELEMENTS(file_errors); i++) {
		GError *error = NULL;
		DaemonOpts *o = file(file_errors[i].text, &error);
		print_message("case %zu: %s\n", i, error ? error->message : "(no error)");
		assert_null(o);
		assert_true(g_error_matches(error, UC_ERROR, UC_ERROR_USAGE));
		assert_non_null(strstr(error->message, file_errors[i].want));
		g_error_free(error);
	}
}

/* A NUL ends what the checks read but not what GKeyFile reads: refused
 * (a repeated key behind it leaked the first value). */
static void test_file_with_nul(void **state)
{
	static const char text[] = SRV "[port p]\ndevice=1-1\n\0device=1-2\n";
	g_autoptr(DaemonOpts) o = daemon_opts_new();
	GError *error = NULL;
	assert_false(daemon_opts_load_data(o, text, sizeof(text) - 1, "test.conf", &error));
	assert_true(g_error_matches(error, UC_ERROR, UC_ERROR_USAGE));
	assert_non_null(strstr(error->message, "test.conf: byte "));
	assert_non_null(strstr(error->message, " is NUL: not a text file"));
	g_error_free(error);
}

#define SRV_PORT "[server s]\naddress=h\n[port p]\ndevice=1-1\n"

/* The command line's daemon-wide options override [daemon]. */
static void test_cli_overrides_file(void **state)
{
	g_autofree char *path = NULL;
	GError *error = NULL;
	int fd = g_file_open_tmp("usbip-cuse-XXXXXX.conf", &path, &error);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, good_file, strlen(good_file)), (ssize_t)strlen(good_file));
	close(fd);
	g_autoptr(DaemonOpts) o =
	    args(&error, "--config", path, "--log", "stderr", "--major", "0", "-f", NULL);
	unlink(path);
	assert_null(error);
	assert_int_equal(o->ports->len, 3);
	assert_int_equal(o->log, SVC_LOG_STDERR);
	assert_int_equal(o->major, 0);
	assert_string_equal(o->user, "nobody"); /* not overridden: from the file */
	assert_string_equal(o->config, path);
	assert_string_equal(o->cdi_spec, "/run/cdi/lab.json");
	/* without cdi-spec=, the spec is named after the file */
	g_autoptr(DaemonOpts) o2 = daemon_opts_new();
	o2->config = g_strdup("/etc/usbip-cuse/lab2.conf");
	assert_true(daemon_opts_load_data(o2, SRV_PORT, strlen(SRV_PORT), o2->config, &error));
	assert_true(daemon_opts_validate(o2, &error));
	assert_string_equal(o2->cdi_spec, "/run/cdi/usbip-cuse-lab2.json");
	g_autoptr(DaemonOpts) o3 = daemon_opts_new();
	o3->config = g_strdup("/etc/usbip-cuse/usbip-cuse.conf");
	assert_true(daemon_opts_load_data(o3, SRV_PORT, strlen(SRV_PORT), o3->config, &error));
	assert_true(daemon_opts_validate(o3, &error));
	assert_string_equal(o3->cdi_spec, "/run/cdi/usbip-cuse.json");
}

static void test_node_names(void **state)
{
	assert_true(daemon_opts_node_pattern_valid("ttyUSBIP%u"));
	assert_true(daemon_opts_node_pattern_valid("tty%u.x"));
	assert_false(daemon_opts_node_pattern_valid("tty%u-")); /* must end alphanumeric */
	assert_false(daemon_opts_node_pattern_valid("%utty"));  /* a letter first */
	assert_false(daemon_opts_node_pattern_valid("tty%s"));
	assert_true(daemon_opts_node_name_valid("ttyUSBIP-esp32"));
	assert_false(daemon_opts_node_name_valid("tty USB"));
	assert_false(daemon_opts_node_name_valid(""));
	g_autofree char *n = daemon_opts_node_name("ttyX%u.y", 12);
	assert_string_equal(n, "ttyX12.y");
}

/* doc/usbip-cuse.conf.example is valid and mentions every key. */
static void test_example(void **state)
{
	const char *path = g_getenv("CONF_EXAMPLE");
	assert_non_null(path);
	g_autofree char *text = NULL;
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	GError *error = NULL;
	g_autoptr(DaemonOpts) o = file(text, &error);
	if (error)
		print_message("%s\n", error->message);
	assert_null(error);
	static const char *const keys[] = {
	    "[daemon]",  "user=",     "log=",         "major=",
	    "cdi-spec=", "[server ",  "address=",     "[port ",
	    "server=",   "device=",   "node=",        "rx-buffer=",
	    "rx-urbs=",  "urb-size=", "backoff-max=", "keep-open-on-reset=",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		print_message("key %s\n", keys[i]);
		assert_non_null(strstr(text, keys[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cli_defaults),    cmocka_unit_test(test_cli_values),
	    cmocka_unit_test(test_cli_errors),      cmocka_unit_test(test_file),
	    cmocka_unit_test(test_file_one_server), cmocka_unit_test(test_file_errors),
	    cmocka_unit_test(test_file_with_nul),   cmocka_unit_test(test_cli_overrides_file),
	    cmocka_unit_test(test_node_names),      cmocka_unit_test(test_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
