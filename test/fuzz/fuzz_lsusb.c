/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for lsusb_parse: the input is `lsusb -v` text.  Beyond
 * what the sanitizers catch, it checks the parser's promises and abort()s
 * when one is broken: whatever the parser accepts must be bytes usb_desc
 * accepts too (the mock server serves them to real hosts), strings must
 * convert to string descriptors, and an error must name a line of the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_acm.h"
#include "lsusb_parse.h"
#include "usb_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

/* Both are large: static, libFuzzer runs one input at a time. */
static struct lsusb_device dev;
static struct usb_config_desc cfg;

static void check_config(unsigned i)
{
	const uint8_t *b = dev.config[i].bytes;
	uint16_t len = dev.config[i].len;
	struct cdc_acm_function fn[8];

	CHECK(len >= USB_DT_CONFIG_SIZE && len <= LSUSB_MAX_CONFIG_LEN);
	CHECK(b[0] == USB_DT_CONFIG_SIZE && b[1] == USB_DT_CONFIG);
	CHECK((uint16_t)(b[2] | b[3] << 8) == len);
	/* the parser must produce consistent bytes */
	CHECK(usb_desc_parse_config(&cfg, b, len) == (ssize_t)len);
	CHECK(cfg.num_interfaces <= USB_DESC_MAX_INTERFACES);

	int n = cdc_acm_find(&cfg, fn, sizeof(fn) / sizeof(fn[0]));
	CHECK(n >= 0);
	for (int k = 0; k < n && k < (int)(sizeof(fn) / sizeof(fn[0])); k++) {
		CHECK(fn[k].bulk_in_ep & USB_EP_DIR_IN);
		CHECK(!(fn[k].bulk_out_ep & USB_EP_DIR_IN));
		CHECK(usb_desc_find_interface(&cfg, fn[k].comm_intf, 0) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned line = 0;
	int r = lsusb_parse((const char *)data, size, &dev, &line);

	if (r < 0) {
		CHECK(r == -EINVAL || r == -EPROTO || r == -E2BIG);
		/* the error names a line that exists (0: none applies) */
		size_t lines = 1;
		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		CHECK(line <= lines);
		return 0;
	}
	CHECK(r == 0 && line == 0);

	struct usb_device_desc dd;
	CHECK(usb_desc_parse_device(&dd, dev.device_desc, sizeof(dev.device_desc)) == 18);
	CHECK(dd.bNumConfigurations == dev.num_configs);
	CHECK(dev.num_configs >= 1 && dev.num_configs <= LSUSB_MAX_CONFIGS);
	CHECK(dev.speed != 0);
	for (unsigned i = 0; i < dev.num_configs; i++)
		check_config(i);

	CHECK(dev.num_strings <= LSUSB_MAX_STRINGS);
	for (unsigned i = 0; i < dev.num_strings; i++) {
		const struct lsusb_string *s = &dev.strings[i];
		uint8_t desc[256];
		char back[LSUSB_MAX_STRING_LEN * 2 + 1];
		size_t sl = strlen(s->text);
		CHECK(s->index != 0 && sl > 0 && sl <= LSUSB_MAX_STRING_LEN);
		CHECK(lsusb_parse_string(&dev, s->index) == s->text);
		/* valid UTF-8 that fits one string descriptor, and back */
		ssize_t dl = usb_desc_string_from_utf8(s->text, desc, sizeof(desc));
		CHECK(dl >= 2 && dl <= 255);
		CHECK(usb_desc_string_to_utf8(desc, (size_t)dl, back, sizeof(back)) == (ssize_t)sl);
		CHECK(strcmp(back, s->text) == 0);
	}
	return 0;
}
