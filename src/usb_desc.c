/* SPDX-License-Identifier: MIT */
/*
 * usb_desc - USB standard descriptors and SETUP packets (level 0).
 *
 * Every byte read from a descriptor is preceded by a length check: the
 * descriptors come from a remote USBIP server (or a fuzzer) and must be
 * treated as hostile.  The checks follow the same cases libusb's
 * descriptor.c guards against: bLength < 2 (which would loop forever),
 * bLength running past the blob, wTotalLength shorter or longer than the
 * bytes we hold, structural descriptors shorter than their type needs, and
 * more entries than the fixed arrays hold.
 */
#include "usb_desc.h"

#include <errno.h>
#include <string.h>

#include "byteorder.h"

uint16_t usb_desc_ep_max_packet(const struct usb_endpoint_desc *ep)
{
	return ep->wMaxPacketSize & 0x7ff;
}

enum usb_ep_type usb_desc_ep_type(const struct usb_endpoint_desc *ep)
{
	return (enum usb_ep_type)(ep->bmAttributes & 3);
}

ssize_t usb_desc_parse_device(struct usb_device_desc *d, const uint8_t *buf, size_t len)
{
	if (!d || (!buf && len))
		return -EINVAL;
	if (len < 2)
		return -EMSGSIZE;
	if (buf[1] != USB_DT_DEVICE || buf[0] < USB_DT_DEVICE_SIZE)
		return -EPROTO;
	/* bLength may legally exceed 18 (future extensions); we only read
	 * the 18 bytes we know, but the span must hold what the device
	 * claims, as for any other descriptor. */
	if (len < USB_DT_DEVICE_SIZE || len < buf[0])
		return -EMSGSIZE;
	d->bcdUSB = get_le16(buf + 2);
	d->bDeviceClass = buf[4];
	d->bDeviceSubClass = buf[5];
	d->bDeviceProtocol = buf[6];
	d->bMaxPacketSize0 = buf[7];
	d->idVendor = get_le16(buf + 8);
	d->idProduct = get_le16(buf + 10);
	d->bcdDevice = get_le16(buf + 12);
	d->iManufacturer = buf[14];
	d->iProduct = buf[15];
	d->iSerialNumber = buf[16];
	d->bNumConfigurations = buf[17];
	return USB_DT_DEVICE_SIZE;
}

ssize_t usb_desc_encode_device(const struct usb_device_desc *d, uint8_t *buf, size_t len)
{
	if (!d || !buf)
		return -EINVAL;
	if (len < USB_DT_DEVICE_SIZE)
		return -EMSGSIZE;
	buf[0] = USB_DT_DEVICE_SIZE;
	buf[1] = USB_DT_DEVICE;
	put_le16(buf + 2, d->bcdUSB);
	buf[4] = d->bDeviceClass;
	buf[5] = d->bDeviceSubClass;
	buf[6] = d->bDeviceProtocol;
	buf[7] = d->bMaxPacketSize0;
	put_le16(buf + 8, d->idVendor);
	put_le16(buf + 10, d->idProduct);
	put_le16(buf + 12, d->bcdDevice);
	buf[14] = d->iManufacturer;
	buf[15] = d->iProduct;
	buf[16] = d->iSerialNumber;
	buf[17] = d->bNumConfigurations;
	return USB_DT_DEVICE_SIZE;
}

/* Where class-specific / unknown descriptors currently accumulate.  They
 * are always contiguous in the blob, so a span is just (start, length). */
struct extra_target {
	const uint8_t **ptr;
	size_t *len;
};

static void extra_append(struct extra_target *t, const uint8_t *d, size_t dlen)
{
	if (!t->ptr)
		return; /* between the config header and the first interface, or after an IAD */
	if (!*t->ptr)
		*t->ptr = d;
	*t->len += dlen;
}

static ssize_t parse_config(struct usb_config_desc *c, const uint8_t *buf, size_t len)
{
	if (len < 2)
		return -EMSGSIZE;
	if (buf[1] != USB_DT_CONFIG || buf[0] < USB_DT_CONFIG_SIZE)
		return -EPROTO;
	if (len < USB_DT_CONFIG_SIZE)
		return -EMSGSIZE;

	size_t total = get_le16(buf + 2);
	/* wTotalLength smaller than the config descriptor itself is a lie we
	 * can detect up front; a lie in the other direction (larger than the
	 * bytes we were given) means we hold a truncated blob. */
	if (total < buf[0])
		return -EPROTO;
	if (len < total)
		return -EMSGSIZE;

	c->wTotalLength = (uint16_t)total;
	c->bNumInterfaces = buf[4];
	c->bConfigurationValue = buf[5];
	c->iConfiguration = buf[6];
	c->bmAttributes = buf[7];
	c->bMaxPower = buf[8];

	struct extra_target tgt = {NULL, NULL};
	struct usb_interface_desc *cur = NULL;
	size_t pos = buf[0];

	while (pos < total) {
		size_t left = total - pos;
		const uint8_t *d = buf + pos;
		/* A lone trailing byte cannot even hold bLength + type. */
		if (left < 2)
			return -EPROTO;
		size_t dlen = d[0];
		/* bLength 0 would loop forever, 1 cannot hold the type. */
		if (dlen < 2 || dlen > left)
			return -EPROTO;

		switch (d[1]) {
		case USB_DT_INTERFACE:
			if (dlen < USB_DT_INTERFACE_SIZE)
				return -EPROTO;
			if (c->num_interfaces >= USB_DESC_MAX_INTERFACES)
				return -E2BIG;
			cur = &c->intf[c->num_interfaces++];
			cur->bInterfaceNumber = d[2];
			cur->bAlternateSetting = d[3];
			/* d[4] bNumEndpoints: devices are known to get it wrong;
			 * we count the endpoint descriptors that really follow. */
			cur->bInterfaceClass = d[5];
			cur->bInterfaceSubClass = d[6];
			cur->bInterfaceProtocol = d[7];
			cur->iInterface = d[8];
			tgt.ptr = &cur->extra;
			tgt.len = &cur->extra_len;
			break;
		case USB_DT_ENDPOINT: {
			if (dlen < USB_DT_ENDPOINT_SIZE)
				return -EPROTO;
			/* An endpoint that belongs to no interface is not a
			 * layout any host could use. */
			if (!cur)
				return -EPROTO;
			if (cur->num_endpoints >= USB_DESC_MAX_ENDPOINTS)
				return -E2BIG;
			struct usb_endpoint_desc *ep = &cur->ep[cur->num_endpoints++];
			ep->bEndpointAddress = d[2];
			ep->bmAttributes = d[3];
			ep->wMaxPacketSize = get_le16(d + 4);
			ep->bInterval = d[6];
			/* Audio endpoints are 9 bytes: the extra bytes belong to
			 * this descriptor and are simply not interpreted. */
			tgt.ptr = &ep->extra;
			tgt.len = &ep->extra_len;
			break;
		}
		case USB_DT_INTERFACE_ASSOCIATION: {
			if (dlen < USB_DT_IAD_SIZE)
				return -EPROTO;
			if (c->num_iads >= USB_DESC_MAX_IADS)
				return -E2BIG;
			struct usb_iad_desc *iad = &c->iad[c->num_iads++];
			iad->bFirstInterface = d[2];
			iad->bInterfaceCount = d[3];
			iad->bFunctionClass = d[4];
			iad->bFunctionSubClass = d[5];
			iad->bFunctionProtocol = d[6];
			iad->iFunction = d[7];
			/* The IAD starts a new function: what follows it until
			 * the next interface belongs to no interface we know. */
			tgt.ptr = NULL;
			tgt.len = NULL;
			cur = NULL;
			break;
		}
		case USB_DT_DEVICE:
		case USB_DT_CONFIG:
			/* A nested device/config descriptor means the blob is
			 * two things glued together, not one configuration. */
			return -EPROTO;
		default:
			extra_append(&tgt, d, dlen);
			break;
		}
		pos += dlen;
	}
	return (ssize_t)total;
}

ssize_t usb_desc_parse_config(struct usb_config_desc *c, const uint8_t *buf, size_t len)
{
	if (!c || (!buf && len))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	ssize_t r = parse_config(c, buf, len);
	/* Leave nothing half-parsed behind for a caller that ignores r. */
	if (r < 0)
		memset(c, 0, sizeof(*c));
	return r;
}

const struct usb_interface_desc *usb_desc_find_interface(const struct usb_config_desc *c,
                                                         uint8_t num, uint8_t alt)
{
	if (!c)
		return NULL;
	unsigned n = c->num_interfaces;
	if (n > USB_DESC_MAX_INTERFACES)
		n = USB_DESC_MAX_INTERFACES;
	for (unsigned i = 0; i < n; i++) {
		const struct usb_interface_desc *intf = &c->intf[i];
		if (intf->bInterfaceNumber == num && intf->bAlternateSetting == alt)
			return intf;
	}
	return NULL;
}

const uint8_t *usb_desc_next(const uint8_t *span, size_t span_len, size_t *pos, size_t *dlen)
{
	if (!span || !pos || !dlen || *pos >= span_len)
		return NULL;
	size_t left = span_len - *pos;
	if (left < 2)
		return NULL;
	const uint8_t *d = span + *pos;
	if (d[0] < 2 || d[0] > left)
		return NULL;
	*dlen = d[0];
	*pos += d[0];
	return d;
}

/* Append one code point as UTF-8; returns the new length or -ENOSPC when
 * it (plus the final NUL) would not fit. */
static ssize_t utf8_put(char *out, size_t out_len, size_t n, uint32_t cp)
{
	uint8_t tmp[4];
	size_t k;
	if (cp < 0x80) {
		tmp[0] = (uint8_t)cp;
		k = 1;
	} else if (cp < 0x800) {
		tmp[0] = (uint8_t)(0xc0 | (cp >> 6));
		tmp[1] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (uint8_t)(0xe0 | (cp >> 12));
		tmp[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		tmp[0] = (uint8_t)(0xf0 | (cp >> 18));
		tmp[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		tmp[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		tmp[3] = (uint8_t)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (out_len - n < k + 1)
		return -ENOSPC;
	memcpy(out + n, tmp, k);
	return (ssize_t)(n + k);
}

#define REPLACEMENT_CHAR 0xfffdu

ssize_t usb_desc_string_to_utf8(const uint8_t *buf, size_t len, char *out, size_t out_len)
{
	if ((!buf && len) || !out)
		return -EINVAL;
	if (out_len == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (len < 2)
		return -EMSGSIZE;
	if (buf[0] < 2 || buf[1] != USB_DT_STRING)
		return -EPROTO;
	if (buf[0] > len)
		return -EMSGSIZE;

	/* An odd bLength leaves half a code unit at the end: ignore it, as
	 * there is no way to know what the device meant. */
	size_t units = (size_t)(buf[0] - 2) / 2;
	const uint8_t *u = buf + 2;
	size_t n = 0;
	for (size_t i = 0; i < units; i++) {
		uint32_t cp = get_le16(u + 2 * i);
		/* Some devices NUL-pad fixed-size strings: the string ends at
		 * the first U+0000 (as the Linux kernel's usb_string does). */
		if (cp == 0)
			break;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo = i + 1 < units ? get_le16(u + 2 * (i + 1)) : 0;
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				cp = REPLACEMENT_CHAR;
			}
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			cp = REPLACEMENT_CHAR;
		}
		ssize_t r = utf8_put(out, out_len, n, cp);
		if (r < 0) {
			out[0] = '\0';
			return r;
		}
		n = (size_t)r;
	}
	out[n] = '\0';
	return (ssize_t)n;
}

/* Decode one UTF-8 sequence at s; returns its length (1..4) and stores the
 * code point, or -EINVAL for overlong forms, surrogates, values above
 * U+10FFFF and truncated or stray continuation bytes. */
static int utf8_get(const uint8_t *s, uint32_t *cp)
{
	uint8_t b = s[0];
	int k;
	uint32_t v, min;
	if (b < 0x80) {
		*cp = b;
		return 1;
	} else if ((b & 0xe0) == 0xc0) {
		k = 2;
		v = b & 0x1f;
		min = 0x80;
	} else if ((b & 0xf0) == 0xe0) {
		k = 3;
		v = b & 0x0f;
		min = 0x800;
	} else if ((b & 0xf8) == 0xf0) {
		k = 4;
		v = b & 0x07;
		min = 0x10000;
	} else {
		return -EINVAL;
	}
	/* The NUL terminator is not a continuation byte, so this loop stops
	 * at the end of the string without reading past it. */
	for (int i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -EINVAL;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -EINVAL;
	*cp = v;
	return k;
}

ssize_t usb_desc_string_from_utf8(const char *utf8, uint8_t *buf, size_t len)
{
	if (!utf8 || (!buf && len))
		return -EINVAL;
	const uint8_t *s = (const uint8_t *)utf8;
	size_t n = 2;
	while (*s) {
		uint32_t cp;
		int k = utf8_get(s, &cp);
		if (k < 0)
			return k;
		s += k;
		size_t need = cp >= 0x10000 ? 4 : 2;
		/* bLength is one byte: 2 + 2 * 126 = 254 is the longest
		 * string descriptor there is. */
		if (n + need > 254)
			return -E2BIG;
		if (n + need > len)
			return -ENOSPC;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put_le16(buf + n, (uint16_t)(0xd800 | (cp >> 10)));
			put_le16(buf + n + 2, (uint16_t)(0xdc00 | (cp & 0x3ff)));
		} else {
			put_le16(buf + n, (uint16_t)cp);
		}
		n += need;
	}
	if (len < 2)
		return -ENOSPC;
	buf[0] = (uint8_t)n;
	buf[1] = USB_DT_STRING;
	return (ssize_t)n;
}

void usb_desc_setup_encode(const struct usb_setup *s, uint8_t out[USB_SETUP_SIZE])
{
	out[0] = s->bmRequestType;
	out[1] = s->bRequest;
	put_le16(out + 2, s->wValue);
	put_le16(out + 4, s->wIndex);
	put_le16(out + 6, s->wLength);
}

void usb_desc_setup_decode(struct usb_setup *s, const uint8_t in[USB_SETUP_SIZE])
{
	s->bmRequestType = in[0];
	s->bRequest = in[1];
	s->wValue = get_le16(in + 2);
	s->wIndex = get_le16(in + 4);
	s->wLength = get_le16(in + 6);
}

bool usb_desc_setup_is_in(const struct usb_setup *s)
{
	/* A zero-length data stage counts as OUT whatever bit 7 says: that
	 * is how USBIP servers pick the URB direction (design.md 2). */
	return (s->bmRequestType & USB_DIR_IN) && s->wLength > 0;
}

void usb_desc_setup_get_descriptor(struct usb_setup *s, uint8_t type, uint8_t index,
                                   uint16_t langid, uint16_t length)
{
	s->bmRequestType = USB_DIR_IN; /* standard, device */
	s->bRequest = USB_REQ_GET_DESCRIPTOR;
	s->wValue = (uint16_t)((type << 8) | index);
	s->wIndex = langid;
	s->wLength = length;
}

void usb_desc_setup_set_configuration(struct usb_setup *s, uint8_t value)
{
	s->bmRequestType = 0x00; /* host-to-device, standard, device */
	s->bRequest = USB_REQ_SET_CONFIGURATION;
	s->wValue = value;
	s->wIndex = 0;
	s->wLength = 0;
}
