/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: text from a server or a device on its way to a terminal, a
 * log or a udev env file (uc_escape, node_env).  Beyond what the sanitizers
 * catch, it checks the promises: no control character (C0, DEL, C1) in any
 * output, the snprintf-style lengths, NUL termination, cuts only at
 * character boundaries, and env values that are single udev tokens.
 *
 * Input: one byte of flags, then NUL-separated strings (manufacturer,
 * product, serial, bus id), the rest of the input as one more span.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node_env.h"
#include "uc_escape.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static void no_controls(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		CHECK(*p >= 0x20 && *p != 0x7f);
		CHECK(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f));
	}
}

static void escape_checks(const uint8_t *data, size_t len, unsigned flags, size_t cut)
{
	size_t size = UC_ESCAPE_MAX(len);
	char *full = malloc(size);
	CHECK(full);
	int n = uc_escape(full, size, data, len, flags);
	CHECK(n >= 0 && (size_t)n < size && strlen(full) == (size_t)n);
	no_controls(full);
	/* without escapes to make, the text comes out as it went in */
	if (!uc_escape_needed(data, len, flags))
		CHECK((size_t)n == len && memcmp(full, data, len) == 0);
	/* a short buffer: a prefix of the full result, never cut in an escape */
	cut %= size;
	char *part = malloc(cut + 1);
	CHECK(part);
	CHECK(uc_escape(part, cut, data, len, flags) == n);
	if (cut > 0) {
		size_t got = strlen(part);
		CHECK(got < cut && memcmp(part, full, got) == 0);
		no_controls(part);
	}
	free(part);
	free(full);
}

static void env_checks(const struct node_env_id *id)
{
	char buf[4096];
	int n = node_env_format(buf, sizeof(buf), id);
	CHECK(n >= 0);
	if ((size_t)n >= sizeof(buf))
		return;
	CHECK(strlen(buf) == (size_t)n);
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		CHECK(nl); /* every line ends */
		*nl = 0;
		no_controls(line);
		if (line[0] != '#') {
			char *eq = strchr(line, '=');
			CHECK(eq && eq > line && eq[1]); /* KEY=VALUE, never empty */
			/* one udev token, a file name component */
			for (char *v = eq + 1; *v; v++)
				CHECK(*v != ' ' && *v != '\t' && *v != '"' && *v != '\'' &&
				      *v != '/');
		}
		line = nl + 1;
	}
	char one[256];
	n = node_env_udev_string(one, sizeof(one), id->product);
	CHECK(n >= 0);
	no_controls(one);
	CHECK(!strchr(one, ' ') && !strchr(one, '/'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0] & UC_ESCAPE_KEEP_BACKSLASH;
	size_t cut = data[0] >> 1;
	data++;
	size--;
	escape_checks(data, size, flags, cut);

	/* NUL-separated fields for a node's identity */
	char *copy = malloc(size + 1);
	CHECK(copy);
	memcpy(copy, data, size);
	copy[size] = 0;
	const char *field[4] = {"", "", "", "1-1"};
	char *p = copy;
	for (int i = 0; i < 4 && p < copy + size; i++) {
		field[i] = p;
		p += strlen(p) + 1;
	}
	struct node_env_id id = {
	    .vid = 0x0403,
	    .pid = 0x6001,
	    .manufacturer = field[0],
	    .product = field[1],
	    .serial = field[2],
	    .intf = (unsigned)(cut & 7),
	    .server = "server",
	    .busid = field[3],
	};
	env_checks(&id);
	free(copy);
	return 0;
}
