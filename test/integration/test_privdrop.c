/* SPDX-License-Identifier: MIT */
/*
 * privdrop on this machine (needs root: skipped otherwise): a child drops to
 * nobody and finds no ids of root, no groups, no capabilities (the bounding
 * set included) and no-new-privs in /proc/self/status; root cannot come
 * back.  The keeper ignores SIGTERM and removes its files once the pipe is
 * closed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privdrop.h"

#define NOBODY 65534

static char *status_field(const char *key)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
		return NULL;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++)
		if (g_str_has_prefix(lines[i], key) && lines[i][strlen(key)] == ':')
			return g_strstrip(g_strdup(lines[i] + strlen(key) + 1));
	return NULL;
}

/* In the child: 0 when everything is as it must be, else the failed check. */
static int child_checks(void)
{
	GError *error = NULL;
	if (!privdrop_to(NOBODY, NOBODY, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	static const struct {
		const char *key, *want;
	} want[] = {
	    {"Uid", "65534\t65534\t65534\t65534"},
	    {"Gid", "65534\t65534\t65534\t65534"},
	    {"Groups", ""},
	    {"CapInh", "0000000000000000"},
	    {"CapPrm", "0000000000000000"},
	    {"CapEff", "0000000000000000"},
	    {"CapBnd", "0000000000000000"},
	    {"CapAmb", "0000000000000000"},
	    {"NoNewPrivs", "1"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		g_autofree char *v = status_field(want[i].key);
		if (!v || strcmp(v, want[i].want) != 0) {
			fprintf(stderr, "%s: '%s', want '%s'\n", want[i].key, v ? v : "?",
			        want[i].want);
			return 10 + (int)i;
		}
	}
	if (setuid(0) == 0 || setgid(0) == 0)
		return 30;
	return 0;
}

static void test_drop(void **state)
{
	if (geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_checks());
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_keeper(void **state)
{
	g_autofree char *dir = g_dir_make_tmp("keeper-XXXXXX", NULL);
	g_autofree char *a = g_build_filename(dir, "a.env", NULL);
	g_autofree char *b = g_build_filename(dir, "b.json", NULL);
	assert_true(g_file_set_contents(a, "x", 1, NULL));
	assert_true(g_file_set_contents(b, "y", 1, NULL));
	const char *const paths[] = {a, b, NULL};
	PrivdropKeeper k;
	GError *error = NULL;
	assert_true(privdrop_keeper_start(&k, paths, &error));
	/* it outlives a SIGTERM (systemd sends one to the whole unit) */
	g_usleep(100000);
	kill(k.pid, SIGTERM);
	g_usleep(100000);
	assert_int_equal(kill(k.pid, 0), 0);
	assert_true(g_file_test(a, G_FILE_TEST_EXISTS));
	privdrop_keeper_finish(&k, 5000);
	assert_int_equal(k.pid, 0);
	assert_false(g_file_test(a, G_FILE_TEST_EXISTS));
	assert_false(g_file_test(b, G_FILE_TEST_EXISTS));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drop),
	    cmocka_unit_test(test_keeper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
