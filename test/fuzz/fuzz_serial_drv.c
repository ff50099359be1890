/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the serial drivers (serial_drv and the vendor
 * drivers ftdi, cp210x, ch341, pl2303, plus cdc_acm through the registry).
 *
 * Input: byte 0 picks the path.
 *   even: probe.  Bytes 1..18 are a device descriptor (its fields taken
 *         as they are, unvalidated), bytes 19..20 a configuration length
 *         L (little-endian), then L bytes of configuration; every function
 *         serial_drv_probe finds then runs a session on the rest.
 *   odd:  a made-up function: byte 1 the driver, byte 2 the chip, bytes
 *         3..4 bulk-IN max packet, byte 5 the interface; a session on
 *         the rest.
 * A session takes what it needs from the remaining bytes in order:
 * replies to identify's questions (or stalls), line settings, output
 * lines, break, a status message for each origin (length byte first) and
 * a bulk-IN transfer (16-bit length first).
 * Beyond what the sanitizers catch, it checks the drivers' promises
 * (transfer lists within bounds, identify ending within its rounds,
 * framing never growing the data, decoded bits within their masks) and
 * abort()s when one is broken.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "serial_drv.h"
#include "usb_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

struct src {
	const uint8_t *p;
	size_t n;
};

static uint8_t take1(struct src *s)
{
	if (!s->n)
		return 0;
	s->n--;
	return *s->p++;
}

/* Up to want bytes (fewer at the end of the input). */
static const uint8_t *take(struct src *s, size_t want, size_t *got)
{
	const uint8_t *p = s->p;
	*got = want < s->n ? want : s->n;
	s->p += *got;
	s->n -= *got;
	return p;
}

static void check_xfers(const struct serial_xfers *q)
{
	CHECK(q->n <= SERIAL_XFERS_MAX);
	for (unsigned k = 0; k < q->n; k++) {
		const struct serial_xfer *x = &q->x[k];
		bool in = (x->setup.bmRequestType & USB_DIR_IN) != 0;
		if (!in)
			CHECK(x->setup.wLength <= SERIAL_XFER_DATA_MAX && x->tag == 0);
		CHECK((x->flags & ~SERIAL_XFER_OPTIONAL) == 0);
	}
}

static bool ep_in_config(const struct usb_config_desc *c, uint8_t intf, uint8_t addr, uint8_t type)
{
	for (unsigned i = 0; i < c->num_interfaces; i++) {
		const struct usb_interface_desc *d = &c->intf[i];
		if (d->bInterfaceNumber != intf)
			continue;
		for (unsigned e = 0; e < d->num_endpoints; e++)
			if (d->ep[e].bEndpointAddress == addr &&
			    usb_desc_ep_type(&d->ep[e]) == type)
				return true;
	}
	return false;
}

/* identify rounds, each tagged question answered from the input: the
 * first byte's low bit stalls an optional one, the second is a length. */
static void identify(const struct serial_driver *d, struct serial_function *f, struct src *s)
{
	unsigned round;
	if (!d->identify)
		return;
	for (round = 0; round < SERIAL_IDENTIFY_ROUNDS + 1; round++) {
		struct serial_xfers q;
		serial_xfers_init(&q);
		int rc = d->identify(f, &q);
		CHECK(rc == 0 || rc == -ENOSPC);
		check_xfers(&q);
		if (rc < 0 || q.n == 0)
			break;
		for (unsigned k = 0; k < q.n; k++) {
			const struct serial_xfer *x = &q.x[k];
			if (!x->tag)
				continue;
			CHECK(x->setup.bmRequestType & USB_DIR_IN);
			uint8_t how = take1(s);
			if ((how & 1) && (x->flags & SERIAL_XFER_OPTIONAL)) {
				rc = d->absorb(f, x->tag, NULL, 0);
			} else {
				size_t got, want = take1(s);
				if (want > x->setup.wLength)
					want = x->setup.wLength;
				const uint8_t *p = take(s, want, &got);
				uint8_t *copy = malloc(got ? got : 1);
				CHECK(copy);
				memcpy(copy, p, got);
				rc = d->absorb(f, x->tag, copy, got);
				free(copy);
			}
			CHECK(rc == 0 || rc == -EINVAL || rc == -EPROTO);
		}
	}
	/* every driver settles within its rounds */
	CHECK(round <= SERIAL_IDENTIFY_ROUNDS);
}

static void check_status(const struct serial_status *st)
{
	CHECK((st->lines & ~SERIAL_IN_MASK) == 0);
	CHECK((st->events & ~SERIAL_EV_MASK) == 0);
}

static void status_and_rx(const struct serial_driver *d, struct serial_function *f, struct src *s)
{
	for (int origin = SERIAL_ORIGIN_INTERRUPT; origin <= SERIAL_ORIGIN_POLL; origin++) {
		size_t got;
		const uint8_t *p = take(s, take1(s), &got);
		if (!d->status_decode)
			continue;
		uint8_t *copy = malloc(got ? got : 1);
		CHECK(copy);
		memcpy(copy, p, got);
		struct serial_status st = {0};
		int rc = d->status_decode(f, origin, copy, got, &st);
		free(copy);
		CHECK(rc == 0 || rc == -ENOMSG || rc == -EMSGSIZE || rc == -EPROTO ||
		      rc == -EINVAL);
		if (rc == 0)
			check_status(&st);
	}
	/* a bulk-IN transfer: a 16-bit length, then as many bytes */
	size_t got, want = take1(s);
	want |= (size_t)take1(s) << 8;
	const uint8_t *p = take(s, want, &got);
	if (!d->rx_frame)
		return;
	uint8_t *copy = malloc(got ? got : 1);
	CHECK(copy);
	memcpy(copy, p, got);
	struct serial_status st = {0};
	ssize_t n = d->rx_frame(f, copy, got, &st);
	CHECK(n == -EPROTO || (n >= 0 && (size_t)n <= got));
	CHECK(n != -EPROTO || got > 0);
	check_status(&st);
	free(copy);
}

static void session(struct serial_function *f, struct src *s)
{
	const struct serial_driver *d = serial_drv_get(f->driver);
	struct serial_xfers q;
	int rc;
	CHECK(d && d->probe && d->set_line && d->set_lines && d->set_break);
	identify(d, f, s);
	if (d->init) {
		serial_xfers_init(&q);
		rc = d->init(f, &q);
		CHECK(rc == 0 || rc == -ENOSPC);
		check_xfers(&q);
	}
	if (d->status_poll) {
		struct serial_xfer x;
		unsigned interval = 12345;
		CHECK(d->status_poll(f, &x, &interval) == 0);
		CHECK((x.setup.bmRequestType & USB_DIR_IN) && x.setup.wLength > 0);
		CHECK(d->status_source == SERIAL_STATUS_POLL ? interval > 0 : interval == 0);
	}
	for (int k = 0; k < 2; k++) {
		size_t got;
		const uint8_t *p = take(s, 10, &got);
		uint8_t b[10] = {0};
		memcpy(b, p, got);
		struct serial_line l = {get_le32(b), b[4], b[5], b[6], b[7], b[8], b[9]};
		uint32_t actual = 0;
		serial_xfers_init(&q);
		rc = d->set_line(f, &l, &q, &actual);
		CHECK(rc == 0 || rc == -EINVAL || rc == -ENOSPC);
		CHECK(rc != 0 || actual > 0 || l.baud == 0);
		check_xfers(&q);
	}
	uint8_t ctl = take1(s);
	serial_xfers_init(&q);
	CHECK(d->set_lines(f, ctl & (SERIAL_DTR | SERIAL_RTS), &q) == 0);
	check_xfers(&q);
	for (int on = 1; on >= 0; on--) {
		serial_xfers_init(&q);
		rc = d->set_break(f, on, &q);
		/* a simulated break asks for a hold time of at most a second */
		CHECK(rc == 0 || rc == -EIO || (on && rc > 0 && rc <= 1000));
		check_xfers(&q);
	}
	if (d->purge) {
		serial_xfers_init(&q);
		CHECK(d->purge(f, ctl & 4, ctl & 8, &q) == 0);
		check_xfers(&q);
	}
	status_and_rx(d, f, s);
}

static void probe_path(const uint8_t *data, size_t size)
{
	static struct usb_config_desc c;
	struct usb_device_desc dd;
	struct serial_function fs[4];
	if (size < 21)
		return;
	const uint8_t *d = data + 1;
	dd.bcdUSB = get_le16(d + 2);
	dd.bDeviceClass = d[4];
	dd.bDeviceSubClass = d[5];
	dd.bDeviceProtocol = d[6];
	dd.bMaxPacketSize0 = d[7];
	dd.idVendor = get_le16(d + 8);
	dd.idProduct = get_le16(d + 10);
	dd.bcdDevice = get_le16(d + 12);
	dd.iManufacturer = d[14];
	dd.iProduct = d[15];
	dd.iSerialNumber = d[16];
	dd.bNumConfigurations = d[17];
	size_t len = get_le16(data + 19);
	if (len > size - 21)
		len = size - 21;
	uint8_t *blob = malloc(len ? len : 1);
	CHECK(blob);
	memcpy(blob, data + 21, len);
	if (usb_desc_parse_config(&c, blob, len) < 0) {
		free(blob);
		return;
	}
	memset(fs, 0xa5, sizeof(fs));
	int n = serial_drv_probe(&dd, &c, fs, 4);
	CHECK(n == -ENODEV || n >= 0);
	CHECK(serial_drv_probe(&dd, &c, NULL, 0) == n);
	struct src s = {data + 21 + len, size - 21 - len};
	for (int k = 0; k < n && k < 4; k++) {
		struct serial_function *f = &fs[k];
		CHECK(f->driver < SERIAL_DRV_COUNT);
		for (unsigned w = 0; w < SERIAL_PRIV_WORDS; w++)
			CHECK(f->priv[w] == 0);
		CHECK(f->bulk_in_ep & USB_EP_DIR_IN);
		CHECK(!(f->bulk_out_ep & USB_EP_DIR_IN));
		CHECK(ep_in_config(&c, f->data_intf, f->bulk_in_ep, USB_EP_BULK));
		CHECK(ep_in_config(&c, f->data_intf, f->bulk_out_ep, USB_EP_BULK));
		if (f->has_notify)
			CHECK(f->notify_ep & USB_EP_DIR_IN);
		session(f, &s);
	}
	free(blob);
}

static void made_up_path(const uint8_t *data, size_t size)
{
	struct serial_function f;
	if (size < 6)
		return;
	memset(&f, 0, sizeof(f));
	f.driver = (uint8_t)(data[1] % SERIAL_DRV_COUNT);
	f.chip = data[2];
	f.bulk_in_mps = get_le16(data + 3);
	f.bulk_out_mps = 64;
	f.bulk_in_ep = 0x81;
	f.bulk_out_ep = 0x02;
	f.intf = f.data_intf = data[5];
	f.port = data[5] & 3;
	f.has_notify = true;
	f.notify_ep = 0x83;
	struct src s = {data + 6, size - 6};
	session(&f, &s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		made_up_path(data, size);
	else
		probe_path(data, size);
	return 0;
}
