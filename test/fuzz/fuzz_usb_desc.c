/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for usb_desc and cdc_acm: the input is treated as a
 * device descriptor, a configuration blob (then searched for ACM functions),
 * an extra span to walk, a string descriptor, a line coding and an
 * interrupt notification.  Beyond what the sanitizers catch, it checks the
 * parsers' promises and abort()s when one is broken.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_acm.h"
#include "usb_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

/* Every borrowed span must lie inside the input (and inside wTotalLength). */
static void check_span(const uint8_t *base, size_t total, const uint8_t *p, size_t n)
{
	if (!p) {
		CHECK(n == 0);
		return;
	}
	CHECK(p >= base && p <= base + total);
	CHECK(n <= (size_t)(base + total - p));
	/* The walker must consume the span exactly: the parser only records
	 * whole, well-formed descriptors. */
	size_t pos = 0, dlen, sum = 0;
	const uint8_t *d;
	while ((d = usb_desc_next(p, n, &pos, &dlen))) {
		CHECK(dlen >= 2 && d == p + sum);
		sum += dlen;
	}
	CHECK(sum == n && pos == n);
}

static bool ep_in_config(const struct usb_config_desc *c, uint8_t intf, uint8_t alt, uint8_t addr,
                         uint8_t type, uint16_t mps)
{
	const struct usb_interface_desc *i = usb_desc_find_interface(c, intf, alt);
	if (!i)
		return false;
	for (unsigned k = 0; k < i->num_endpoints; k++) {
		const struct usb_endpoint_desc *ep = &i->ep[k];
		if (ep->bEndpointAddress == addr && usb_desc_ep_type(ep) == type &&
		    usb_desc_ep_max_packet(ep) == mps)
			return true;
	}
	return false;
}

static void fuzz_config(const uint8_t *data, size_t size)
{
	static struct usb_config_desc c;
	ssize_t r = usb_desc_parse_config(&c, data, size);
	if (r < 0) {
		CHECK(r == -EMSGSIZE || r == -EPROTO || r == -E2BIG);
		return;
	}
	CHECK((size_t)r == c.wTotalLength && (size_t)r <= size);
	CHECK(c.num_interfaces <= USB_DESC_MAX_INTERFACES && c.num_iads <= USB_DESC_MAX_IADS);
	for (unsigned i = 0; i < c.num_interfaces; i++) {
		const struct usb_interface_desc *intf = &c.intf[i];
		CHECK(intf->num_endpoints <= USB_DESC_MAX_ENDPOINTS);
		check_span(data, (size_t)r, intf->extra, intf->extra_len);
		for (unsigned e = 0; e < intf->num_endpoints; e++)
			check_span(data, (size_t)r, intf->ep[e].extra, intf->ep[e].extra_len);
		CHECK(usb_desc_find_interface(&c, intf->bInterfaceNumber,
		                              intf->bAlternateSetting) != NULL);
	}

	struct cdc_acm_function f[4];
	int n = cdc_acm_find(&c, f, 4);
	CHECK(n >= 0 && n <= 256);
	int n0 = cdc_acm_find(&c, NULL, 0);
	CHECK(n0 == n);
	for (int k = 0; k < n && k < 4; k++) {
		const struct cdc_acm_function *a = &f[k];
		if (k > 0)
			CHECK(a->comm_intf > f[k - 1].comm_intf);
		const struct usb_interface_desc *comm =
		    usb_desc_find_interface(&c, a->comm_intf, 0);
		CHECK(comm && comm->bInterfaceClass == CDC_CLASS_COMM &&
		      comm->bInterfaceSubClass == CDC_SUBCLASS_ACM);
		CHECK(a->collapsed == (a->data_intf == a->comm_intf));
		CHECK(!a->collapsed || a->data_alt == 0);
		CHECK(ep_in_config(&c, a->data_intf, a->data_alt, a->bulk_in_ep, USB_EP_BULK,
		                   a->bulk_in_mps));
		CHECK(ep_in_config(&c, a->data_intf, a->data_alt, a->bulk_out_ep, USB_EP_BULK,
		                   a->bulk_out_mps));
		CHECK(a->bulk_in_ep & USB_EP_DIR_IN);
		CHECK(!(a->bulk_out_ep & USB_EP_DIR_IN));
		if (a->has_notify) {
			CHECK(ep_in_config(&c, a->comm_intf, 0, a->notify_ep, USB_EP_INTERRUPT,
			                   a->notify_mps));
			CHECK(a->notify_ep & USB_EP_DIR_IN);
		}
	}
}

static void fuzz_string(const uint8_t *data, size_t size)
{
	char out[4 * 127 + 1];
	ssize_t r = usb_desc_string_to_utf8(data, size, out, sizeof(out));
	if (r < 0) {
		CHECK(r == -EMSGSIZE || r == -EPROTO);
		return;
	}
	CHECK((size_t)r < sizeof(out) && out[r] == '\0' && strlen(out) == (size_t)r);
	/* Our own UTF-8 must be valid and round-trip exactly: replacement
	 * characters and combined pairs never need more code units than the
	 * device sent. */
	uint8_t desc[256];
	ssize_t d = usb_desc_string_from_utf8(out, desc, sizeof(desc));
	CHECK(d >= 2 && d <= 254 && d <= data[0]);
	char again[sizeof(out)];
	ssize_t r2 = usb_desc_string_to_utf8(desc, (size_t)d, again, sizeof(again));
	CHECK(r2 == r && memcmp(out, again, (size_t)r + 1) == 0);

	/* A too-small output buffer is -ENOSPC, never an overflow. */
	if (r > 0) {
		char small[8];
		size_t sl = (size_t)r < sizeof(small) ? (size_t)r : sizeof(small);
		ssize_t rs = usb_desc_string_to_utf8(data, size, small, sl);
		CHECK(rs == -ENOSPC);
	}
}

static void fuzz_misc(const uint8_t *data, size_t size)
{
	struct usb_device_desc dev;
	ssize_t r = usb_desc_parse_device(&dev, data, size);
	if (r >= 0) {
		uint8_t enc[USB_DT_DEVICE_SIZE];
		CHECK(r == USB_DT_DEVICE_SIZE);
		CHECK(usb_desc_encode_device(&dev, enc, sizeof(enc)) == USB_DT_DEVICE_SIZE);
		CHECK(memcmp(enc + 1, data + 1, USB_DT_DEVICE_SIZE - 1) == 0);
	}

	/* The whole input as a span of class-specific descriptors. */
	size_t pos = 0, dlen, steps = 0;
	const uint8_t *d;
	while ((d = usb_desc_next(data, size, &pos, &dlen))) {
		CHECK(dlen >= 2 && pos <= size && d + dlen == data + pos);
		CHECK(++steps <= size / 2);
	}

	struct cdc_line_coding lc;
	r = cdc_acm_line_coding_decode(&lc, data, size);
	if (r >= 0) {
		uint8_t enc[CDC_LINE_CODING_SIZE];
		struct cdc_line_coding back;
		CHECK(r == CDC_LINE_CODING_SIZE);
		CHECK(cdc_acm_line_coding_encode(&lc, enc, sizeof(enc)) == CDC_LINE_CODING_SIZE);
		CHECK(memcmp(enc, data, CDC_LINE_CODING_SIZE) == 0);
		CHECK(cdc_acm_line_coding_decode(&back, enc, sizeof(enc)) == CDC_LINE_CODING_SIZE);
		CHECK(cdc_acm_line_coding_equal(&lc, &back));
	} else {
		CHECK(r == -EMSGSIZE || r == -EPROTO);
	}

	uint16_t intf, state;
	r = cdc_acm_serial_state_decode(&intf, &state, data, size);
	if (r >= 0) {
		uint8_t enc[10];
		CHECK(r == 10 && size >= 10);
		CHECK(intf == (uint16_t)(data[4] | data[5] << 8));
		if (intf <= 0xff) {
			CHECK(cdc_acm_serial_state_encode((uint8_t)intf, state, enc, sizeof(enc)) ==
			      10);
			/* wValue (bytes 2..3) is not checked on decode. */
			CHECK(enc[0] == data[0] && enc[1] == data[1]);
			CHECK(memcmp(enc + 4, data + 4, 6) == 0);
		}
	} else {
		CHECK(r == -EMSGSIZE || r == -EPROTO || r == -ENOMSG);
	}

	if (size >= USB_SETUP_SIZE) {
		struct usb_setup s;
		uint8_t enc[USB_SETUP_SIZE];
		usb_desc_setup_decode(&s, data);
		usb_desc_setup_encode(&s, enc);
		CHECK(memcmp(enc, data, USB_SETUP_SIZE) == 0);
		CHECK(usb_desc_setup_is_in(&s) == ((data[0] & 0x80) && (data[6] | data[7])));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_config(data, size);
	fuzz_string(data, size);
	fuzz_misc(data, size);
	return 0;
}
