/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for usbip_proto: the whole input goes to every decoder
 * (OP header, OP_REP_DEVLIST head and its entries, OP_REQ_IMPORT,
 * OP_REP_IMPORT's device record, a stream of URB headers with their
 * payloads).  Whatever decodes must encode back to the same bytes (padding
 * aside) and decode again to the same struct; any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usbip_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* A NUL-padded string field: the encoder keeps the bytes up to the first
 * NUL and zeroes the rest, whatever trailed the NUL in the input. */
static void check_str_field(const uint8_t *in, const uint8_t *out, size_t field)
{
	const uint8_t *nul = memchr(in, 0, field);
	CHECK(nul);
	size_t n = (size_t)(nul - in);
	CHECK(memcmp(in, out, n) == 0);
	CHECK(all_zero(out + n, field - n));
}

static void check_device_bytes(const uint8_t *in, const uint8_t *out)
{
	check_str_field(in, out, USBIP_PATH_SIZE);
	check_str_field(in + USBIP_PATH_SIZE, out + USBIP_PATH_SIZE, USBIP_BUSID_SIZE);
	size_t num = USBIP_PATH_SIZE + USBIP_BUSID_SIZE;
	CHECK(memcmp(in + num, out + num, USBIP_DEVICE_SIZE - num) == 0);
}

static void fuzz_op_hdr(const uint8_t *data, size_t size)
{
	struct usbip_op_hdr h, h2;
	uint8_t out[USBIP_OP_HDR_SIZE];

	if (usbip_proto_op_hdr_decode(&h, data, size) < 0)
		return;
	CHECK(size >= USBIP_OP_HDR_SIZE);
	CHECK(usbip_proto_op_hdr_encode(&h, out, sizeof(out)) == USBIP_OP_HDR_SIZE);
	CHECK(memcmp(out, data, sizeof(out)) == 0);
	CHECK(usbip_proto_op_hdr_decode(&h2, out, sizeof(out)) == USBIP_OP_HDR_SIZE);
	CHECK(h.version == h2.version && h.code == h2.code && h.status == h2.status);
	CHECK(usbip_proto_status_str(h.status) != NULL);

	/* OP_REP_IMPORT: on OK a device record follows the header. */
	if (h.code == USBIP_OP_REP_IMPORT && h.status == USBIP_ST_OK) {
		struct usbip_device d, d2;
		uint8_t rec[USBIP_DEVICE_SIZE];
		const uint8_t *p = data + USBIP_OP_HDR_SIZE;
		if (usbip_proto_device_decode(&d, p, size - USBIP_OP_HDR_SIZE) < 0)
			return;
		CHECK(usbip_proto_device_encode(&d, rec, sizeof(rec)) == USBIP_DEVICE_SIZE);
		check_device_bytes(p, rec);
		CHECK(usbip_proto_device_decode(&d2, rec, sizeof(rec)) == USBIP_DEVICE_SIZE);
		CHECK(memcmp(&d, &d2, sizeof(d)) == 0);
		(void)usbip_proto_devid(&d);
	}
}

static void fuzz_devlist(const uint8_t *data, size_t size)
{
	uint32_t status, ndev, status2, ndev2;
	uint8_t head[USBIP_DEVLIST_HEAD_SIZE];
	static uint8_t out[USBIP_DEVICE_SIZE + USBIP_MAX_INTERFACES * USBIP_INTF_SIZE];

	if (usbip_proto_devlist_head_decode(&status, &ndev, data, size) < 0)
		return;
	CHECK(usbip_proto_devlist_head_encode(status, ndev, head, sizeof(head)) ==
	      USBIP_DEVLIST_HEAD_SIZE);
	CHECK(memcmp(head, data, sizeof(head)) == 0);
	CHECK(usbip_proto_devlist_head_decode(&status2, &ndev2, head, sizeof(head)) ==
	      USBIP_DEVLIST_HEAD_SIZE);
	CHECK(status == status2 && ndev == ndev2);

	size_t off = USBIP_DEVLIST_HEAD_SIZE;
	for (uint32_t i = 0; i < ndev && off < size; i++) {
		struct usbip_device d, d2;
		struct usbip_intf intf[USBIP_MAX_INTERFACES], intf2[USBIP_MAX_INTERFACES];
		/* Vary max_intf with the input so the limit check is reached. */
		size_t max_intf = (data[off] & 1) ? USBIP_MAX_INTERFACES : 2;
		ssize_t r =
		    usbip_proto_devlist_entry_decode(&d, intf, max_intf, data + off, size - off);
		if (r < 0)
			break;
		CHECK((size_t)r <= size - off);
		CHECK((size_t)r == USBIP_DEVICE_SIZE + d.bNumInterfaces * USBIP_INTF_SIZE);
		CHECK(d.bNumInterfaces <= max_intf);
		CHECK(usbip_proto_devlist_entry_encode(&d, intf, out, sizeof(out)) == r);
		/* One byte short must be refused, not truncated. */
		CHECK(usbip_proto_devlist_entry_encode(&d, intf, out, (size_t)r - 1) < 0);
		check_device_bytes(data + off, out);
		for (size_t k = 0; k < d.bNumInterfaces; k++) {
			const uint8_t *a = data + off + USBIP_DEVICE_SIZE + k * USBIP_INTF_SIZE;
			const uint8_t *b = out + USBIP_DEVICE_SIZE + k * USBIP_INTF_SIZE;
			CHECK(memcmp(a, b, 3) == 0 && b[3] == 0);
		}
		CHECK(usbip_proto_devlist_entry_decode(&d2, intf2, max_intf, out, (size_t)r) == r);
		CHECK(memcmp(&d, &d2, sizeof(d)) == 0);
		CHECK(memcmp(intf, intf2, d.bNumInterfaces * sizeof(intf[0])) == 0);
		off += (size_t)r;
	}
}

static void fuzz_import_req(const uint8_t *data, size_t size)
{
	char busid[USBIP_BUSID_SIZE], busid2[USBIP_BUSID_SIZE];
	uint8_t out[USBIP_IMPORT_REQ_SIZE];

	if (usbip_proto_import_req_decode(busid, data, size) < 0)
		return;
	CHECK(memchr(busid, 0, sizeof(busid)) != NULL && busid[0] != '\0');
	CHECK(usbip_proto_import_req_encode(busid, out, sizeof(out)) == USBIP_IMPORT_REQ_SIZE);
	/* The request's status word is ignored on decode and 0 on encode. */
	CHECK(memcmp(out, data, 4) == 0 && all_zero(out + 4, 4));
	check_str_field(data + USBIP_OP_HDR_SIZE, out + USBIP_OP_HDR_SIZE, USBIP_BUSID_SIZE);
	CHECK(usbip_proto_import_req_decode(busid2, out, sizeof(out)) == USBIP_IMPORT_REQ_SIZE);
	CHECK(memcmp(busid, busid2, sizeof(busid)) == 0);
}

static void fuzz_device(const uint8_t *data, size_t size)
{
	struct usbip_device d, d2;
	uint8_t out[USBIP_DEVICE_SIZE];

	if (usbip_proto_device_decode(&d, data, size) < 0)
		return;
	CHECK(usbip_proto_device_encode(&d, out, sizeof(out)) == USBIP_DEVICE_SIZE);
	check_device_bytes(data, out);
	CHECK(usbip_proto_device_decode(&d2, out, sizeof(out)) == USBIP_DEVICE_SIZE);
	CHECK(memcmp(&d, &d2, sizeof(d)) == 0);
}

/* Bytes of the 48-byte URB header that carry a field for this command. */
static size_t urb_used_bytes(uint32_t command)
{
	switch (command) {
	case USBIP_CMD_SUBMIT:
		return 48;
	case USBIP_RET_SUBMIT:
		return 40;
	default:
		return 24;
	}
}

/*
 * Payload length of one decoded URB message under the given limits, with
 * the invariants the payload helpers promise checked on every success.
 */
static ssize_t urb_payload(const struct usbip_urb_hdr *h, size_t limit, enum usbip_dir dir)
{
	ssize_t pay;

	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		pay = usbip_proto_cmd_submit_payload(h, limit);
		if (pay >= 0) {
			CHECK(h->u.submit.transfer_buffer_length >= 0);
			CHECK((size_t)h->u.submit.transfer_buffer_length <= limit);
			CHECK(h->u.submit.number_of_packets <= 0);
			CHECK(pay == (h->direction == USBIP_DIR_OUT
			                  ? h->u.submit.transfer_buffer_length
			                  : 0));
		}
		/* Each payload helper answers only for its own command. */
		CHECK(usbip_proto_ret_submit_payload(h, dir, limit) < 0);
		return pay;
	case USBIP_RET_SUBMIT:
		pay = usbip_proto_ret_submit_payload(h, dir, limit);
		if (pay >= 0) {
			CHECK(h->u.ret_submit.actual_length >= 0);
			CHECK((size_t)h->u.ret_submit.actual_length <= limit);
			CHECK(h->u.ret_submit.number_of_packets <= 0);
			CHECK(pay == (dir == USBIP_DIR_IN ? h->u.ret_submit.actual_length : 0));
		}
		CHECK(usbip_proto_cmd_submit_payload(h, limit) < 0);
		return pay;
	default:
		CHECK(usbip_proto_cmd_submit_payload(h, limit) < 0);
		CHECK(usbip_proto_ret_submit_payload(h, dir, limit) < 0);
		return 0;
	}
}

/* Walk the input as a stream of URB messages, as usbip_conn would. */
static void fuzz_urb_stream(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct usbip_urb_hdr h, h2;
		uint8_t out[USBIP_URB_HDR_SIZE];
		const uint8_t *p = data + off;
		ssize_t r = usbip_proto_urb_hdr_decode(&h, p, size - off);
		if (r < 0)
			return;
		CHECK(r == USBIP_URB_HDR_SIZE);
		CHECK(usbip_proto_urb_hdr_encode(&h, out, sizeof(out)) == USBIP_URB_HDR_SIZE);
		size_t used = urb_used_bytes(h.command);
		CHECK(memcmp(out, p, used) == 0);
		CHECK(all_zero(out + used, USBIP_URB_HDR_SIZE - used));
		CHECK(usbip_proto_urb_hdr_decode(&h2, out, sizeof(out)) == USBIP_URB_HDR_SIZE);
		CHECK(memcmp(&h, &h2, sizeof(h)) == 0);
		off += USBIP_URB_HDR_SIZE;

		/* A reply does not say its direction: take it from the seqnum's
		 * low bit, and a small limit from its low byte so that the
		 * "longer than allowed" branch is reached too. */
		enum usbip_dir dir = (h.seqnum & 1) ? USBIP_DIR_IN : USBIP_DIR_OUT;
		(void)urb_payload(&h, h.seqnum & 0xff, dir);
		ssize_t pay = urb_payload(&h, 65536, dir);
		if (pay < 0 || (size_t)pay > size - off)
			return;
		off += (size_t)pay;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_op_hdr(data, size);
	fuzz_devlist(data, size);
	fuzz_import_req(data, size);
	fuzz_device(data, size);
	fuzz_urb_stream(data, size);
	return 0;
}
