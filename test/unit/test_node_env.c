/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for node_env: udev's usb_id string rules (white space, allowed
 * characters, "\x", UTF-8) with our C1 difference, the serial rule, the
 * fallbacks to the hex ids and the whole file for the mock's Pico fixture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "node_env.h"

static const struct {
	const char *in, *out;
} strings[] = {
    {"Raspberry Pi", "Raspberry_Pi"},
    /* leading/trailing white space dropped, inner runs become one '_' */
    {"  Black  Magic\t\nDebug  ", "Black_Magic_Debug"},
    /* allowed punctuation stays; others become '_' */
    {"a#b+c-d.e:f=g@h_i", "a#b+c-d.e:f=g@h_i"},
    {"a/b\"c'd$e(f)", "a_b_c_d_e_f_"},
    /* control characters: ESC [ 2 J, BEL, DEL */
    {"x\x1b[2J\x07\x7fy", "x__2J__y"},
    /* "\x" pairs are kept as udev keeps them; a lone backslash is not */
    {"a\\x41\\b", "a\\x41_b"},
    /* valid UTF-8 (c3 a9, e2 82 ac) stays; C1 U+009B (c2 9b) and invalid
     * bytes (ff, lone 80) become '_' */
    {"caf\xc3\xa9\xe2\x82\xac", "caf\xc3\xa9\xe2\x82\xac"},
    {"a\xc2\x9b"
     "b\xff"
     "c\x80",
     "a_b_c_"},
    {"", ""},
    {"   ", ""},
};

static void test_udev_string(void **state)
{
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		char buf[64];
		int n = node_env_udev_string(buf, sizeof(buf), strings[i].in);
		assert_int_equal(n, (int)strlen(strings[i].out));
		assert_string_equal(buf, strings[i].out);
	}
	char small[4];
	assert_int_equal(node_env_udev_string(small, sizeof(small), "abcdef"), 6);
	assert_string_equal(small, "abc");
	assert_int_equal(node_env_udev_string(small, sizeof(small), NULL), -EINVAL);
}

/* test/lsusb/1-2.lsusb: 2e8a:000a "Raspberry Pi" "Pico" E6605838833C6B2A,
 * ACM on interface 0 */
static void test_pico(void **state)
{
	const struct node_env_id id = {
	    .vid = 0x2e8a,
	    .pid = 0x000a,
	    .manufacturer = "Raspberry Pi",
	    .product = "Pico",
	    .serial = "E6605838833C6B2A",
	    .intf = 0,
	    .server = "lab",
	    .busid = "1-2",
	};
	char buf[1024];
	static const char want[] = "# usbip-cuse: the device behind this node, for udev\n"
	                           "ID_VENDOR_ID=2e8a\n"
	                           "ID_MODEL_ID=000a\n"
	                           "ID_VENDOR=Raspberry_Pi\n"
	                           "ID_MODEL=Pico\n"
	                           "ID_SERIAL=Raspberry_Pi_Pico_E6605838833C6B2A\n"
	                           "ID_SERIAL_SHORT=E6605838833C6B2A\n"
	                           "ID_USB_INTERFACE_NUM=00\n"
	                           "USBIP_SERVER=lab\n"
	                           "USBIP_BUSID=1-2\n";
	assert_int_equal(node_env_format(buf, sizeof(buf), &id), (int)strlen(want));
	assert_string_equal(buf, want);
	/* a short buffer: whole pieces, the needed length */
	char small[60];
	assert_int_equal(node_env_format(small, sizeof(small), &id), (int)strlen(want));
	assert_true(strlen(small) < sizeof(small));
	assert_memory_equal(small, want, strlen(small));
}

/* No strings: the hex ids stand in, no serial keys; interface 0x0a is "0a";
 * an IPv6 server address loses its brackets. */
static void test_fallbacks(void **state)
{
	const struct node_env_id id = {
	    .vid = 0x1d50,
	    .pid = 0x6018,
	    .manufacturer = "",
	    .product = NULL,
	    .serial = "",
	    .intf = 10,
	    .server = "[::1]:3240",
	    .busid = "3-1.2",
	};
	char buf[1024];
	assert_true(node_env_format(buf, sizeof(buf), &id) > 0);
	assert_non_null(strstr(buf, "\nID_VENDOR=1d50\n"));
	assert_non_null(strstr(buf, "\nID_MODEL=6018\n"));
	assert_non_null(strstr(buf, "\nID_SERIAL=1d50_6018\n"));
	assert_null(strstr(buf, "ID_SERIAL_SHORT"));
	assert_non_null(strstr(buf, "\nID_USB_INTERFACE_NUM=0a\n"));
	assert_non_null(strstr(buf, "\nUSBIP_SERVER=_::1_:3240\n"));
	assert_non_null(strstr(buf, "\nUSBIP_BUSID=3-1.2\n"));
}

/* A hostile device: newlines cannot add keys, the serial with a control
 * byte or a ',' is not used, nothing but the key lines appear. */
static void test_hostile(void **state)
{
	const struct node_env_id id = {
	    .vid = 0x0525,
	    .pid = 0xa4a7,
	    .manufacturer = "Evil\nID_SERIAL=forged",
	    .product = "\x1b]0;pwned\x07",
	    .serial = "12\n34",
	    .intf = 2,
	    .server = "s",
	    .busid = "1-1\nUSBIP_SERVER=x",
	};
	char buf[1024];
	assert_true(node_env_format(buf, sizeof(buf), &id) > 0);
	assert_non_null(strstr(buf, "\nID_VENDOR=Evil_ID_SERIAL=forged\n"));
	assert_non_null(strstr(buf, "\nID_MODEL=__0_pwned_\n"));
	assert_non_null(strstr(buf, "\nID_SERIAL=Evil_ID_SERIAL=forged___0_pwned_\n"));
	assert_null(strstr(buf, "ID_SERIAL_SHORT"));
	assert_non_null(strstr(buf, "\nUSBIP_BUSID=1-1_USBIP_SERVER=x\n"));
	/* exactly the 1 comment + 8 key lines */
	int lines = 0;
	for (const char *p = buf; *p; p++) {
		lines += *p == '\n';
		assert_true((unsigned char)*p >= 0x20 || *p == '\n');
	}
	assert_int_equal(lines, 9);
	/* a ',' in the serial also drops it (usb_id) */
	struct node_env_id c = id;
	c.serial = "A,B";
	assert_true(node_env_format(buf, sizeof(buf), &c) > 0);
	assert_null(strstr(buf, "ID_SERIAL_SHORT"));
	assert_int_equal(node_env_format(buf, sizeof(buf), NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udev_string),
	    cmocka_unit_test(test_pico),
	    cmocka_unit_test(test_fallbacks),
	    cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
