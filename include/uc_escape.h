/* SPDX-License-Identifier: MIT */
/*
 * uc_escape - make text from a server or a device safe for a terminal, a
 * log line or a KEY=VALUE file (level 0: pure).
 *
 * Bus ids, sysfs paths, manufacturer, product and serial strings come from
 * the network: a product string holding "\n" could forge a log line, one
 * holding ESC "[2J" could repaint the terminal that prints it.  uc_escape()
 * copies such text with every control character written as a visible
 * escape, so the result is one line of printable text:
 *
 *   C0 controls 0x00-0x1f and DEL 0x7f   -> "\xNN"
 *   C1 controls U+0080-U+009F (UTF-8 0xc2 0x80..0x9f) -> "\u0080".."\u009f"
 *   a byte that does not start a valid UTF-8 sequence -> "\xNN"
 *   '\' itself                           -> "\\" (unless UC_ESCAPE_KEEP_BACKSLASH)
 *   everything else (printable ASCII, valid UTF-8 above U+009F) unchanged
 *
 * Valid UTF-8 means shortest form, no surrogates, at most U+10FFFF (as
 * g_utf8_validate()).  The input is a byte span (NULs in it are escaped).
 *
 * UC_ESCAPE_KEEP_BACKSLASH is for text that may already hold our escapes
 * (a whole log message built from escaped parts): the result is still free
 * of control characters, and already escaped parts are not escaped twice.
 *
 * Return values follow snprintf(): the length the full result needs (not
 * counting the NUL); at most size - 1 bytes are written, always followed by
 * a NUL when size > 0, and the output is never cut inside an escape or a
 * UTF-8 sequence.  -EOVERFLOW when the length would not fit in an int.
 */
#ifndef UC_ESCAPE_H
#define UC_ESCAPE_H

#include <stddef.h>

#define UC_ESCAPE_KEEP_BACKSLASH 0x1u

/* Worst case growth: every input byte may become 4 output bytes ("\xNN");
 * a 2-byte C1 character becomes 6 ("\u0085"), i.e. 3 per byte. */
#define UC_ESCAPE_MAX(len) ((len)*4u + 1u)

int uc_escape(char *dst, size_t size, const void *src, size_t len, unsigned flags);

/* Whether escaping would change the text (it holds a control character, an
 * invalid UTF-8 byte or, unless UC_ESCAPE_KEEP_BACKSLASH, a backslash). */
int uc_escape_needed(const void *src, size_t len, unsigned flags);

#endif /* UC_ESCAPE_H */
