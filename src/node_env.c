/* SPDX-License-Identifier: MIT */
/* node_env - a node's identity as a udev environment file (see node_env.h). */
#include "node_env.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* snprintf-like output: whole pieces while they fit, the needed length. */
struct out {
	char *buf;
	size_t size;
	size_t used; /* bytes written (< size) */
	size_t need; /* bytes the full result needs */
	int full;    /* a piece did not fit: write nothing more */
};

static void out_put(struct out *o, const char *p, size_t n)
{
	if (!o->full && o->size > 0 && o->used + n < o->size) {
		memcpy(o->buf + o->used, p, n);
		o->used += n;
	} else {
		o->full = 1;
	}
	o->need += n;
}

static int out_end(struct out *o)
{
	if (o->size > 0)
		o->buf[o->used] = 0;
	return o->need > INT_MAX ? -EOVERFLOW : (int)o->need;
}

static int c_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int allowed_ascii(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c && strchr("#+-.:=@_", c));
}

/* Length (2..4) of a valid multi-byte UTF-8 character at s, else 0; its
 * code point in *cp. */
static size_t utf8_char(const unsigned char *s, unsigned *cp_out)
{
	size_t len;
	unsigned cp, min;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*cp_out = cp;
	return len;
}

static void put_udev_string(struct out *o, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	while (c_isspace(*s))
		s++;
	int gap = 0; /* white space seen since the last piece */
	while (*s) {
		if (c_isspace(*s)) {
			gap = 1;
			s++;
			continue;
		}
		if (gap)
			out_put(o, "_", 1);
		gap = 0;
		size_t n = 1;
		unsigned cp = 0;
		if (allowed_ascii(*s)) {
			out_put(o, (const char *)s, 1);
		} else if (s[0] == '\\' && s[1] == 'x') {
			out_put(o, "\\x", 2);
			n = 2;
		} else if ((n = utf8_char(s, &cp)) > 0 && cp >= 0xa0) {
			out_put(o, (const char *)s, n);
		} else {
			out_put(o, "_", 1); /* one '_' for a C1 character too */
			n = n ? n : 1;
		}
		s += n;
	}
}

int node_env_udev_string(char *dst, size_t size, const char *src)
{
	if (!src || (!dst && size))
		return -EINVAL;
	struct out o = {.buf = dst, .size = size};
	put_udev_string(&o, src);
	return out_end(&o);
}

/* usb_id ignores a serial holding control bytes, non-ASCII or ','. */
static int serial_usable(const char *s)
{
	if (!s || !*s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7f || *p == ',')
			return 0;
	return 1;
}

/* The udev form of s, or of fallback when s is empty or becomes empty. */
static void udev_or(char *dst, size_t size, const char *s, const char *fallback)
{
	if (!s || node_env_udev_string(dst, size, s) <= 0)
		node_env_udev_string(dst, size, fallback);
}

static void put_key(struct out *o, const char *key, const char *value)
{
	if (!value[0])
		return; /* udev rejects KEY= */
	out_put(o, key, strlen(key));
	out_put(o, "=", 1);
	out_put(o, value, strlen(value));
	out_put(o, "\n", 1);
}

int node_env_format(char *buf, size_t size, const struct node_env_id *id)
{
	if (!id || !id->server || !id->busid || (!buf && size))
		return -EINVAL;
	/* USB strings are at most 126 UTF-16 units: 378 UTF-8 bytes */
	char vid[8], pid[8], ifnum[8], vendor[512], model[512], serial[512];
	char idserial[1600], server[512], busid[512];
	snprintf(vid, sizeof(vid), "%04x", id->vid);
	snprintf(pid, sizeof(pid), "%04x", id->pid);
	snprintf(ifnum, sizeof(ifnum), "%02x", id->intf & 0xffu);
	udev_or(vendor, sizeof(vendor), id->manufacturer, vid);
	udev_or(model, sizeof(model), id->product, pid);
	serial[0] = 0;
	if (serial_usable(id->serial))
		node_env_udev_string(serial, sizeof(serial), id->serial);
	snprintf(idserial, sizeof(idserial), "%s_%s%s%s", vendor, model, serial[0] ? "_" : "",
	         serial);
	node_env_udev_string(server, sizeof(server), id->server);
	node_env_udev_string(busid, sizeof(busid), id->busid);

	struct out o = {.buf = buf, .size = size};
	static const char head[] = "# usbip-cuse: the device behind this node, for udev\n";
	out_put(&o, head, sizeof(head) - 1);
	put_key(&o, "ID_VENDOR_ID", vid);
	put_key(&o, "ID_MODEL_ID", pid);
	put_key(&o, "ID_VENDOR", vendor);
	put_key(&o, "ID_MODEL", model);
	put_key(&o, "ID_SERIAL", idserial);
	put_key(&o, "ID_SERIAL_SHORT", serial);
	put_key(&o, "ID_USB_INTERFACE_NUM", ifnum);
	put_key(&o, "USBIP_SERVER", server);
	put_key(&o, "USBIP_BUSID", busid);
	return out_end(&o);
}
