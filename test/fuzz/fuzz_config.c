/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a configuration file (GKeyFile text) through the daemon's
 * option loading and validation (daemon_opts), as `usbip-cuse check-config`
 * reads it.  Beyond what the sanitizers catch (memory, leaks of the error
 * paths), it checks that a refused file always says why, and that an
 * accepted one describes itself.
 */
#include <stdint.h>
#include <stdlib.h>

#include "daemon_opts.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DaemonOpts *o = daemon_opts_new();
	o->config = g_strdup("fuzz.conf"); /* as check-config and --config set it */
	GError *error = NULL;
	gboolean ok = daemon_opts_load_data(o, (const char *)data, size, "fuzz.conf", &error);
	if (ok)
		ok = daemon_opts_validate(o, &error);
	CHECK(ok == (error == NULL));
	if (ok) {
		char *text = daemon_opts_describe(o);
		CHECK(text && text[0]);
		g_free(text);
	} else {
		CHECK(error->message && error->message[0]);
		g_error_free(error);
	}
	daemon_opts_free(o);
	return 0;
}
