/* SPDX-License-Identifier: MIT */
/* uc_escape - visible escapes for control characters (see uc_escape.h). */
#include "uc_escape.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length (2..4) of the valid UTF-8 sequence of a multi-byte character at
 * s[0..n), with its code point in *cp; 0 when it is not one. */
static size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
	static const struct {
		uint8_t lead_mask, lead_val;
		size_t len;
		uint32_t min;
	} forms[] = {
	    {0xe0, 0xc0, 2, 0x80},
	    {0xf0, 0xe0, 3, 0x800},
	    {0xf8, 0xf0, 4, 0x10000},
	};
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		if ((s[0] & forms[f].lead_mask) != forms[f].lead_val)
			continue;
		size_t len = forms[f].len;
		if (n < len)
			return 0;
		uint32_t c = s[0] & (uint8_t)~forms[f].lead_mask;
		for (size_t i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i] & 0x3f);
		}
		/* overlong forms, surrogates and values past Unicode */
		if (c < forms[f].min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return 0;
		*cp = c;
		return len;
	}
	return 0;
}

/* How the character at s[0..n) is written: its escape in esc (NUL-ended,
 * returns its input length) or, when esc[0] is NUL, copied unchanged. */
static size_t classify(const uint8_t *s, size_t n, unsigned flags, char esc[8])
{
	uint8_t b = s[0];
	esc[0] = 0;
	if (b < 0x20 || b == 0x7f) {
		snprintf(esc, 8, "\\x%02x", b);
		return 1;
	}
	if (b == '\\') {
		if (!(flags & UC_ESCAPE_KEEP_BACKSLASH))
			memcpy(esc, "\\\\", 3);
		return 1;
	}
	if (b < 0x80)
		return 1;
	uint32_t cp;
	size_t len = utf8_seq(s, n, &cp);
	if (len == 0) {
		snprintf(esc, 8, "\\x%02x", b);
		return 1;
	}
	if (cp <= 0x9f)
		snprintf(esc, 8, "\\u%04x", (unsigned)cp);
	return len;
}

int uc_escape(char *dst, size_t size, const void *src, size_t len, unsigned flags)
{
	const uint8_t *s = src;
	size_t need = 0, out = 0;
	int room = size > 0;
	for (size_t i = 0; i < len;) {
		char esc[8];
		size_t in = classify(s + i, len - i, flags, esc);
		const char *piece = esc[0] ? esc : (const char *)s + i;
		size_t plen = esc[0] ? strlen(esc) : in;
		/* whole pieces only: never cut an escape or a character */
		if (room && out + plen < size) {
			memcpy(dst + out, piece, plen);
			out += plen;
		} else {
			room = 0;
		}
		need += plen;
		if (need > INT_MAX)
			return -EOVERFLOW;
		i += in;
	}
	if (size > 0)
		dst[out] = 0;
	return (int)need;
}

int uc_escape_needed(const void *src, size_t len, unsigned flags)
{
	const uint8_t *s = src;
	for (size_t i = 0; i < len;) {
		char esc[8];
		i += classify(s + i, len - i, flags, esc);
		if (esc[0])
			return 1;
	}
	return 0;
}
