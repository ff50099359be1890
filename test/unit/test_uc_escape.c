/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for uc_escape: a table of inputs (as bytes) and the visible
 * text each becomes, truncation at piece boundaries, the backslash mode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "uc_escape.h"

static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *out;
	const char *out_keep; /* with UC_ESCAPE_KEEP_BACKSLASH */
} cases[] = {
    {"Pico", 0, "Pico", "Pico"},
    {"", 0, "", ""},
    /* a forged log line: 0x0a NL, 0x0d CR */
    {"Pico\nusbip-cuse: fake", 0, "Pico\\x0ausbip-cuse: fake", "Pico\\x0ausbip-cuse: fake"},
    {"a\rb", 0, "a\\x0db", "a\\x0db"},
    /* ESC [ 2 J: clear the screen; ESC ] 0 ; t BEL: set the title */
    {"\x1b[2Jx", 0, "\\x1b[2Jx", "\\x1b[2Jx"},
    {"\x1b]0;t\x07", 0, "\\x1b]0;t\\x07", "\\x1b]0;t\\x07"},
    /* 0x09 TAB and 0x7f DEL are controls too */
    {"\tA\x7f", 0, "\\x09A\\x7f", "\\x09A\\x7f"},
    /* an embedded NUL (byte span) */
    {"a\0b", 3, "a\\x00b", "a\\x00b"},
    /* backslash: doubled, or kept */
    {"C:\\x1b", 0, "C:\\\\x1b", "C:\\x1b"},
    /* valid UTF-8 stays: c3 a9 'e acute', e2 82 ac euro, f0 9f 98 80 emoji */
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    /* C1 controls in UTF-8: c2 9b = U+009B CSI, c2 85 = U+0085 NEL; c2 a0 NBSP stays */
    {"\xc2\x9b"
     "31m",
     0, "\\u009b31m", "\\u009b31m"},
    {"x\xc2\x85y\xc2\xa0z", 0, "x\\u0085y\xc2\xa0z", "x\\u0085y\xc2\xa0z"},
    /* invalid UTF-8: lone continuation 80, truncated c3, overlong c0 af,
     * surrogate ed a0 80, past U+10FFFF f4 90 80 80, ff */
    {"\x80", 0, "\\x80", "\\x80"},
    {"a\xc3", 0, "a\\xc3", "a\\xc3"},
    {"\xc0\xaf", 0, "\\xc0\\xaf", "\\xc0\\xaf"},
    {"\xed\xa0\x80", 0, "\\xed\\xa0\\x80", "\\xed\\xa0\\x80"},
    {"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80", "\\xf4\\x90\\x80\\x80"},
    {"\xff", 0, "\\xff", "\\xff"},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		char buf[128];
		int n = uc_escape(buf, sizeof(buf), cases[i].in, len, 0);
		print_message("case %zu: %s\n", i, buf);
		assert_int_equal(n, (int)strlen(cases[i].out));
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(uc_escape_needed(cases[i].in, len, 0),
		                 strcmp(cases[i].in, cases[i].out) != 0 ||
		                     len != strlen(cases[i].in));
		n = uc_escape(buf, sizeof(buf), cases[i].in, len, UC_ESCAPE_KEEP_BACKSLASH);
		assert_int_equal(n, (int)strlen(cases[i].out_keep));
		assert_string_equal(buf, cases[i].out_keep);
		/* the result itself is clean: escaping it again (keeping
		 * backslashes) changes nothing */
		assert_false(uc_escape_needed(buf, strlen(buf), UC_ESCAPE_KEEP_BACKSLASH));
		assert_true((size_t)n < UC_ESCAPE_MAX(len));
	}
}

/* A short buffer gets whole pieces only, and the needed length. */
static void test_truncation(void **state)
{
	char buf[6];
	/* "ab" fits, "\x1b" (4) does not fit behind it in 5 usable bytes */
	assert_int_equal(uc_escape(buf, sizeof(buf), "ab\x1b", 3, 0), 6);
	assert_string_equal(buf, "ab");
	/* a UTF-8 character is not cut: e2 82 ac needs 3, only 2 remain */
	assert_int_equal(uc_escape(buf, sizeof(buf), "abc\xe2\x82\xac", 6, 0), 6);
	assert_string_equal(buf, "abc");
	/* nothing after a piece that did not fit, even if a later one would */
	assert_int_equal(uc_escape(buf, sizeof(buf),
	                           "abc\x01"
	                           "d",
	                           5, 0),
	                 8);
	assert_string_equal(buf, "abc");
	/* size 0: only the length */
	assert_int_equal(uc_escape(NULL, 0, "\n", 1, 0), 4);
	/* size 1: the empty string */
	assert_int_equal(uc_escape(buf, 1, "x", 1, 0), 1);
	assert_string_equal(buf, "");
}

/* Every single byte value: the output never holds a control byte. */
static void test_every_byte(void **state)
{
	for (unsigned b = 0; b < 256; b++) {
		char in[3] = {'a', (char)b, 'z'}, buf[32];
		int n = uc_escape(buf, sizeof(buf), in, 3, 0);
		assert_true(n >= 3 && n < (int)sizeof(buf));
		for (int i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];
			assert_true(c >= 0x20 && c != 0x7f && c < 0x80);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
