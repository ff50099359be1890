/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cdi_spec: the exact JSON for two nodes and for none, and
 * escaping.  `test_cdi_spec --dump` prints the two-node spec for
 * test/check-cdi.py (the CDI schema's required fields).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cdi_spec.h"

static const CdiSpecNode two[] = {
    {"ttyUSBIP0", 240, 0},
    {"ttyUSBIP-pico", 240, 1},
};

static void test_two_nodes(void **state)
{
	g_autofree char *json = cdi_spec_render(two, 2);
	static const char want[] = "{\n"
	                           "  \"cdiVersion\": \"0.3.0\",\n"
	                           "  \"kind\": \"usbip-cuse.io/serial\",\n"
	                           "  \"devices\": [\n"
	                           "    {\n"
	                           "      \"name\": \"ttyUSBIP0\",\n"
	                           "      \"containerEdits\": {\n"
	                           "        \"deviceNodes\": [\n"
	                           "          {\"path\": \"/dev/ttyUSBIP0\", \"type\": \"c\", "
	                           "\"major\": 240, \"minor\": 0, "
	                           "\"permissions\": \"rw\"}\n"
	                           "        ]\n"
	                           "      }\n"
	                           "    },\n"
	                           "    {\n"
	                           "      \"name\": \"ttyUSBIP-pico\",\n"
	                           "      \"containerEdits\": {\n"
	                           "        \"deviceNodes\": [\n"
	                           "          {\"path\": \"/dev/ttyUSBIP-pico\", \"type\": \"c\", "
	                           "\"major\": 240, \"minor\": "
	                           "1, \"permissions\": \"rw\"}\n"
	                           "        ]\n"
	                           "      }\n"
	                           "    }\n"
	                           "  ]\n"
	                           "}\n";
	assert_string_equal(json, want);
}

static void test_no_nodes(void **state)
{
	g_autofree char *json = cdi_spec_render(NULL, 0);
	assert_string_equal(json, "{\n  \"cdiVersion\": \"0.3.0\",\n  \"kind\": "
	                          "\"usbip-cuse.io/serial\",\n  \"devices\": []\n}\n");
}

/* Names are validated before, but the writer never emits broken JSON. */
static void test_escaping(void **state)
{
	const CdiSpecNode odd[] = {{"a\"b\\c\nd", 1, 2}};
	g_autofree char *json = cdi_spec_render(odd, 1);
	assert_non_null(strstr(json, "\"name\": \"a\\\"b\\\\c\\u000ad\""));
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--dump") == 0) {
		g_autofree char *json = cdi_spec_render(two, 2);
		fputs(json, stdout);
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_nodes),
	    cmocka_unit_test(test_no_nodes),
	    cmocka_unit_test(test_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
