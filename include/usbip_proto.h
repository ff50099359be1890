/* SPDX-License-Identifier: MIT */
/*
 * usbip_proto - USBIP wire codec (level 0: no GLib, no sockets, no allocation).
 *
 * Every function works on a caller-provided byte span and never reads or
 * writes past `len`.  On the wire every USBIP header field is big-endian; the
 * 8-byte USB SETUP packet carried in CMD_SUBMIT is copied verbatim (it is
 * little-endian by USB rules, see usb_desc.h usb_desc_setup_*()).  The structs
 * below hold host-order values.
 *
 * Return convention: the number of bytes consumed or produced (>= 0), or a
 * negative errno:
 *   -EMSGSIZE  the span is too short (decode) or too small (encode)
 *   -EPROTO    the bytes are not a valid message (bad version, unknown code,
 *              inconsistent lengths)
 *   -EINVAL    the struct to encode holds a value the wire cannot carry
 */
#ifndef USBIP_PROTO_H
#define USBIP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define USBIP_PORT            3240
#define USBIP_VERSION         0x0111
#define USBIP_OP_HDR_SIZE     8u
#define USBIP_DEVICE_SIZE     312u
#define USBIP_INTF_SIZE       4u
#define USBIP_URB_HDR_SIZE    48u
#define USBIP_PATH_SIZE       256u
#define USBIP_BUSID_SIZE      32u
#define USBIP_IMPORT_REQ_SIZE (USBIP_OP_HDR_SIZE + USBIP_BUSID_SIZE)
/* Upper bound on interfaces per device record we accept from a peer. */
#define USBIP_MAX_INTERFACES 32u

enum usbip_op_code {
	USBIP_OP_REQ_DEVLIST = 0x8005,
	USBIP_OP_REP_DEVLIST = 0x0005,
	USBIP_OP_REQ_IMPORT = 0x8003,
	USBIP_OP_REP_IMPORT = 0x0003,
};

/* OP reply status (tools/usb/usbip/src/usbip_network.h). */
enum usbip_op_status {
	USBIP_ST_OK = 0,
	USBIP_ST_NA = 1,
	USBIP_ST_DEV_BUSY = 2,
	USBIP_ST_DEV_ERR = 3,
	USBIP_ST_NODEV = 4,
	USBIP_ST_ERROR = 5,
};

/* Human readable name of an OP status ("device busy", ...); never NULL. */
const char *usbip_proto_status_str(uint32_t status);
/* The OP status as Linux's usbip_network.h names it ("ST_DEV_BUSY"), or
 * NULL for a value outside enum usbip_op_status. */
const char *usbip_proto_status_name(uint32_t status);

/*
 * The completion status of a RET_SUBMIT as the layers above may see it:
 * 0 stays 0; a negative errno that usbcore reports for a URB (submission or
 * completion, Documentation/driver-api/usb/error-codes.rst) stays; every other
 * value (positive, as some servers send +1; -EINPROGRESS, which no finished
 * URB may carry; unknown values such as -600 or INT32_MIN) becomes -EIO.
 * The result is always 0 or in -1 .. -511; the argument is never negated.
 */
int usbip_proto_urb_status_errno(int32_t status);

struct usbip_op_hdr {
	uint16_t version; /* USBIP_VERSION */
	uint16_t code;    /* enum usbip_op_code */
	uint32_t status;  /* enum usbip_op_status (0 in requests) */
};

/* Encode 8 bytes.  Returns 8 or -EMSGSIZE. */
ssize_t usbip_proto_op_hdr_encode(const struct usbip_op_hdr *h, uint8_t *buf, size_t len);
/* Decode 8 bytes.  -EPROTO when version != USBIP_VERSION or the code is not
 * one of enum usbip_op_code. */
ssize_t usbip_proto_op_hdr_decode(struct usbip_op_hdr *h, const uint8_t *buf, size_t len);

/* One interface record of OP_REP_DEVLIST (4 bytes on the wire, last is pad). */
struct usbip_intf {
	uint8_t bInterfaceClass;
	uint8_t bInterfaceSubClass;
	uint8_t bInterfaceProtocol;
};

/* The 312-byte exported-device record.  path and busid are NUL-terminated
 * here; on the wire they are NUL-padded to 256 / 32 bytes (a wire string that
 * fills its whole field is rejected with -EPROTO on decode). */
struct usbip_device {
	char path[USBIP_PATH_SIZE];
	char busid[USBIP_BUSID_SIZE];
	uint32_t busnum;
	uint32_t devnum;
	uint32_t speed; /* enum usb_device_speed of the kernel: 1 low .. 5 super */
	uint16_t idVendor;
	uint16_t idProduct;
	uint16_t bcdDevice;
	uint8_t bDeviceClass;
	uint8_t bDeviceSubClass;
	uint8_t bDeviceProtocol;
	uint8_t bConfigurationValue;
	uint8_t bNumConfigurations;
	uint8_t bNumInterfaces;
};

/* devid used in URB headers: busnum << 16 | devnum. */
uint32_t usbip_proto_devid(const struct usbip_device *d);

/* Device record: exactly USBIP_DEVICE_SIZE bytes.  Encode returns -EINVAL
 * when path or busid do not fit their field with a terminating NUL. */
ssize_t usbip_proto_device_encode(const struct usbip_device *d, uint8_t *buf, size_t len);
ssize_t usbip_proto_device_decode(struct usbip_device *d, const uint8_t *buf, size_t len);

/* Interface record: USBIP_INTF_SIZE bytes. */
ssize_t usbip_proto_intf_encode(const struct usbip_intf *i, uint8_t *buf, size_t len);
ssize_t usbip_proto_intf_decode(struct usbip_intf *i, const uint8_t *buf, size_t len);

/* OP_REQ_DEVLIST: the 8-byte header alone. */
ssize_t usbip_proto_devlist_req_encode(uint8_t *buf, size_t len);

/* OP_REP_DEVLIST starts with the OP header and a u32 device count; then for
 * each device one device record and bNumInterfaces interface records.
 * Encode/decode of the 12-byte head: */
#define USBIP_DEVLIST_HEAD_SIZE (USBIP_OP_HDR_SIZE + 4u)
ssize_t usbip_proto_devlist_head_encode(uint32_t status, uint32_t ndev, uint8_t *buf, size_t len);
/* Checks version/code (OP_REP_DEVLIST); returns 12 and fills *status, *ndev. */
ssize_t usbip_proto_devlist_head_decode(uint32_t *status, uint32_t *ndev, const uint8_t *buf,
                                        size_t len);
/* Decode one device record and its interface records from the span;
 * `intf` receives up to `max_intf` records (-EPROTO if bNumInterfaces is
 * larger than max_intf).  Returns the bytes consumed. */
ssize_t usbip_proto_devlist_entry_decode(struct usbip_device *d, struct usbip_intf *intf,
                                         size_t max_intf, const uint8_t *buf, size_t len);
ssize_t usbip_proto_devlist_entry_encode(const struct usbip_device *d,
                                         const struct usbip_intf *intf, uint8_t *buf, size_t len);

/* OP_REQ_IMPORT: header + busid[32].  Encode: -EINVAL if busid is empty or
 * longer than 31 bytes.  Decode: checks code OP_REQ_IMPORT, NUL-terminates. */
ssize_t usbip_proto_import_req_encode(const char *busid, uint8_t *buf, size_t len);
ssize_t usbip_proto_import_req_decode(char busid[USBIP_BUSID_SIZE], const uint8_t *buf, size_t len);
/* OP_REP_IMPORT head is a plain OP header (code OP_REP_IMPORT); on status
 * OK a device record follows (no interface records).  Use the op_hdr and
 * device functions. */

enum usbip_urb_command {
	USBIP_CMD_SUBMIT = 1,
	USBIP_CMD_UNLINK = 2,
	USBIP_RET_SUBMIT = 3,
	USBIP_RET_UNLINK = 4,
};

enum usbip_dir {
	USBIP_DIR_OUT = 0,
	USBIP_DIR_IN = 1,
};

/* URB transfer_flags the client may set. */
#define USBIP_URB_SHORT_NOT_OK 0x0001u
#define USBIP_URB_ZERO_PACKET  0x0040u
#define USBIP_URB_DIR_IN       0x0200u

/*
 * The 48-byte URB header.  Which member of `u` is valid follows `command`.
 * number_of_packets is 0 (or -1 from some servers) for non-isochronous URBs.
 */
struct usbip_urb_hdr {
	uint32_t command;
	uint32_t seqnum;
	uint32_t devid;
	uint32_t direction; /* enum usbip_dir; 0 in replies from real servers */
	uint32_t ep;        /* endpoint number 0..15, no 0x80 bit */
	union {
		struct {
			uint32_t transfer_flags;
			int32_t transfer_buffer_length;
			int32_t start_frame;
			int32_t number_of_packets;
			int32_t interval;
			uint8_t setup[8]; /* raw USB SETUP, little-endian fields */
		} submit;
		struct {
			int32_t status; /* 0 or -errno (some servers: +1) */
			int32_t actual_length;
			int32_t start_frame;
			int32_t number_of_packets;
			int32_t error_count;
		} ret_submit;
		struct {
			uint32_t seqnum; /* the URB to cancel */
		} unlink;
		struct {
			int32_t status; /* -ECONNRESET: cancelled; 0: already done */
		} ret_unlink;
	} u;
};

/* Encode/decode 48 bytes.  Decode returns -EPROTO for an unknown command;
 * -EINVAL on encode of an unknown command or a negative buffer length.
 * A CMD_SUBMIT with direction > 1, ep > 15 or a negative length is refused
 * both ways (-EPROTO on decode, -EINVAL on encode); padding is zero on
 * encode and ignored on decode. */
ssize_t usbip_proto_urb_hdr_encode(const struct usbip_urb_hdr *h, uint8_t *buf, size_t len);
ssize_t usbip_proto_urb_hdr_decode(struct usbip_urb_hdr *h, const uint8_t *buf, size_t len);

/*
 * Payload bytes that follow a decoded CMD_SUBMIT (server side): the
 * transfer_buffer_length for OUT, 0 for IN.  -EPROTO when the length is
 * negative or larger than max_len, or when number_of_packets is > 0
 * (isochronous URBs are not supported).
 */
ssize_t usbip_proto_cmd_submit_payload(const struct usbip_urb_hdr *h, size_t max_len);

/*
 * Payload bytes that follow a decoded RET_SUBMIT (client side).  Replies do
 * not say their direction, so the caller passes what it recorded when it sent
 * the request: dir and the requested length.  Returns actual_length for IN
 * whatever the status (Linux stub_tx.c sends the bytes received before an
 * error, e.g. on -ECONNRESET or -EOVERFLOW), 0 for OUT; -EPROTO when
 * actual_length is negative, larger than requested_len, or
 * number_of_packets > 0; -EINVAL when h is not a RET_SUBMIT.
 */
ssize_t usbip_proto_ret_submit_payload(const struct usbip_urb_hdr *h, enum usbip_dir dir,
                                       size_t requested_len);

/*
 * Client-side staging of a reply stream.  buf holds the bytes received so far
 * from the start of a frame.  lookup(seqnum, command, &dir, &req_len, user)
 * names the outstanding request a reply answers: 0 with its direction and
 * requested length, or < 0 when the seqnum is not outstanding for that
 * command.  Returns the size of the whole frame (> 0) when it is in buf;
 * 0 when more bytes are needed (*need: the frame's size as far as known, always
 * > len); or, once the header is decoded: -EBADMSG for a command a server must
 * not send, -ENOENT for an unknown seqnum, -EOVERFLOW for an actual_length
 * that is negative or longer than asked (the stream can no longer be trusted).
 * *h is filled as soon as 48 bytes are there (also on those errors).
 */
typedef int (*usbip_proto_lookup_fn)(uint32_t seqnum, uint32_t command, enum usbip_dir *dir,
                                     size_t *req_len, void *user);
ssize_t usbip_proto_stage_reply(const uint8_t *buf, size_t len, usbip_proto_lookup_fn lookup,
                                void *user, struct usbip_urb_hdr *h, size_t *need);

#endif /* USBIP_PROTO_H */
