/* SPDX-License-Identifier: MIT */
/*
 * usbip_proto - USBIP wire codec.  See usbip_proto.h for the API contract.
 *
 * Every decoder checks the span length before it touches a byte and fills
 * the caller's struct only on success, so a failed decode never leaves a
 * half-written result behind.  Every decoder accepts exactly what the
 * matching encoder can produce (apart from padding, which is ignored on
 * decode and written as zeros on encode): the fuzz harness relies on that to
 * check round trips.
 */
#include "usbip_proto.h"

#include <errno.h>
#include <string.h>

#include "byteorder.h"

/* Signed fields travel as their two's complement bit pattern. */
static inline int32_t get_be32s(const uint8_t *p)
{
	uint32_t u = get_be32(p);
	int32_t s;
	memcpy(&s, &u, sizeof(s));
	return s;
}

static inline void put_be32s(uint8_t *p, int32_t v)
{
	uint32_t u;
	memcpy(&u, &v, sizeof(u));
	put_be32(p, u);
}

const char *usbip_proto_status_str(uint32_t status)
{
	switch (status) {
	case USBIP_ST_OK:
		return "ok";
	case USBIP_ST_NA:
		return "request failed";
	case USBIP_ST_DEV_BUSY:
		return "device busy";
	case USBIP_ST_DEV_ERR:
		return "device in error state";
	case USBIP_ST_NODEV:
		return "no such device";
	case USBIP_ST_ERROR:
		return "unexpected response";
	default:
		return "unknown status";
	}
}

const char *usbip_proto_status_name(uint32_t status)
{
	static const char *const names[] = {
	    [USBIP_ST_OK] = "ST_OK",
	    [USBIP_ST_NA] = "ST_NA",
	    [USBIP_ST_DEV_BUSY] = "ST_DEV_BUSY",
	    [USBIP_ST_DEV_ERR] = "ST_DEV_ERR",
	    [USBIP_ST_NODEV] = "ST_NODEV",
	    [USBIP_ST_ERROR] = "ST_ERROR",
	};
	return status < sizeof(names) / sizeof(names[0]) ? names[status] : NULL;
}

/* URB statuses usbcore hands to drivers (and so a Linux or Windows server
 * forwards): completion codes and usb_submit_urb() failures. */
static const int urb_errnos[] = {
    ENOENT,    EPROTO,    EILSEQ, ETIME,    ETIMEDOUT, EPIPE,      ECOMM,        ENOSR,
    EOVERFLOW, EREMOTEIO, ENODEV, EXDEV,    EINVAL,    ECONNRESET, ESHUTDOWN,    ENOMEM,
    EBUSY,     ENXIO,     EFBIG,  EMSGSIZE, ENOSPC,    EPERM,      EHOSTUNREACH, EIO,
};

int usbip_proto_urb_status_errno(int32_t status)
{
	if (status == 0)
		return 0;
	for (size_t i = 0; i < sizeof(urb_errnos) / sizeof(urb_errnos[0]); i++)
		if (status == -urb_errnos[i])
			return status;
	return -EIO;
}

/* ---- OP header ---------------------------------------------------------- */

static int op_code_known(uint16_t code)
{
	switch (code) {
	case USBIP_OP_REQ_DEVLIST:
	case USBIP_OP_REP_DEVLIST:
	case USBIP_OP_REQ_IMPORT:
	case USBIP_OP_REP_IMPORT:
		return 1;
	default:
		return 0;
	}
}

ssize_t usbip_proto_op_hdr_encode(const struct usbip_op_hdr *h, uint8_t *buf, size_t len)
{
	if (len < USBIP_OP_HDR_SIZE)
		return -EMSGSIZE;
	put_be16(buf, h->version);
	put_be16(buf + 2, h->code);
	put_be32(buf + 4, h->status);
	return USBIP_OP_HDR_SIZE;
}

ssize_t usbip_proto_op_hdr_decode(struct usbip_op_hdr *h, const uint8_t *buf, size_t len)
{
	struct usbip_op_hdr t;

	if (len < USBIP_OP_HDR_SIZE)
		return -EMSGSIZE;
	t.version = get_be16(buf);
	t.code = get_be16(buf + 2);
	t.status = get_be32(buf + 4);
	/* Linux usbipd refuses any other version; so do we, rather than guess
	 * at a layout we have never seen. */
	if (t.version != USBIP_VERSION || !op_code_known(t.code))
		return -EPROTO;
	*h = t;
	return USBIP_OP_HDR_SIZE;
}

/* Decode an OP header and require one specific code. */
static ssize_t op_hdr_expect(struct usbip_op_hdr *h, uint16_t code, const uint8_t *buf, size_t len)
{
	ssize_t r = usbip_proto_op_hdr_decode(h, buf, len);
	if (r < 0)
		return r;
	if (h->code != code)
		return -EPROTO;
	return r;
}

static void op_hdr_put(uint8_t *buf, uint16_t code, uint32_t status)
{
	put_be16(buf, USBIP_VERSION);
	put_be16(buf + 2, code);
	put_be32(buf + 4, status);
}

/* ---- device and interface records --------------------------------------- */

uint32_t usbip_proto_devid(const struct usbip_device *d)
{
	/* The kernel's vhci builds it the same way; both numbers are < 2^16. */
	return d->busnum << 16 | d->devnum;
}

/* Offsets inside the 312-byte device record. */
enum {
	DEV_OFF_PATH = 0,
	DEV_OFF_BUSID = DEV_OFF_PATH + USBIP_PATH_SIZE,    /* 256 */
	DEV_OFF_BUSNUM = DEV_OFF_BUSID + USBIP_BUSID_SIZE, /* 288 */
	DEV_OFF_DEVNUM = DEV_OFF_BUSNUM + 4,
	DEV_OFF_SPEED = DEV_OFF_DEVNUM + 4,
	DEV_OFF_VENDOR = DEV_OFF_SPEED + 4,
	DEV_OFF_PRODUCT = DEV_OFF_VENDOR + 2,
	DEV_OFF_BCDDEVICE = DEV_OFF_PRODUCT + 2,
	DEV_OFF_CLASS = DEV_OFF_BCDDEVICE + 2,
	DEV_OFF_SUBCLASS,
	DEV_OFF_PROTOCOL,
	DEV_OFF_CONFVALUE,
	DEV_OFF_NUMCONF,
	DEV_OFF_NUMINTF,
	DEV_OFF_END, /* == USBIP_DEVICE_SIZE */
};

_Static_assert(DEV_OFF_END == USBIP_DEVICE_SIZE, "device record layout");

/*
 * Copy a C string into a NUL-padded wire field.  The string must leave room
 * for at least one NUL so the peer's C code can use the field in place.
 */
static int put_str(uint8_t *dst, const char *src, size_t field)
{
	size_t n = strnlen(src, field);
	if (n >= field)
		return -EINVAL;
	memcpy(dst, src, n);
	memset(dst + n, 0, field - n);
	return 0;
}

/* Copy a NUL-padded wire field into a C string; a field with no NUL at all
 * would need a byte we do not have, so it is a malformed message. */
static int get_str(char *dst, const uint8_t *src, size_t field)
{
	const uint8_t *nul = memchr(src, 0, field);
	if (!nul)
		return -EPROTO;
	size_t n = (size_t)(nul - src);
	memcpy(dst, src, n);
	memset(dst + n, 0, field - n);
	return 0;
}

ssize_t usbip_proto_device_encode(const struct usbip_device *d, uint8_t *buf, size_t len)
{
	if (len < USBIP_DEVICE_SIZE)
		return -EMSGSIZE;
	/* Validate both strings before writing anything, so a failed encode
	 * leaves the buffer untouched. */
	if (strnlen(d->path, USBIP_PATH_SIZE) >= USBIP_PATH_SIZE ||
	    strnlen(d->busid, USBIP_BUSID_SIZE) >= USBIP_BUSID_SIZE)
		return -EINVAL;
	put_str(buf + DEV_OFF_PATH, d->path, USBIP_PATH_SIZE);
	put_str(buf + DEV_OFF_BUSID, d->busid, USBIP_BUSID_SIZE);
	put_be32(buf + DEV_OFF_BUSNUM, d->busnum);
	put_be32(buf + DEV_OFF_DEVNUM, d->devnum);
	put_be32(buf + DEV_OFF_SPEED, d->speed);
	put_be16(buf + DEV_OFF_VENDOR, d->idVendor);
	put_be16(buf + DEV_OFF_PRODUCT, d->idProduct);
	put_be16(buf + DEV_OFF_BCDDEVICE, d->bcdDevice);
	buf[DEV_OFF_CLASS] = d->bDeviceClass;
	buf[DEV_OFF_SUBCLASS] = d->bDeviceSubClass;
	buf[DEV_OFF_PROTOCOL] = d->bDeviceProtocol;
	buf[DEV_OFF_CONFVALUE] = d->bConfigurationValue;
	buf[DEV_OFF_NUMCONF] = d->bNumConfigurations;
	buf[DEV_OFF_NUMINTF] = d->bNumInterfaces;
	return USBIP_DEVICE_SIZE;
}

ssize_t usbip_proto_device_decode(struct usbip_device *d, const uint8_t *buf, size_t len)
{
	struct usbip_device t;

	if (len < USBIP_DEVICE_SIZE)
		return -EMSGSIZE;
	memset(&t, 0, sizeof(t));
	if (get_str(t.path, buf + DEV_OFF_PATH, USBIP_PATH_SIZE) < 0 ||
	    get_str(t.busid, buf + DEV_OFF_BUSID, USBIP_BUSID_SIZE) < 0)
		return -EPROTO;
	t.busnum = get_be32(buf + DEV_OFF_BUSNUM);
	t.devnum = get_be32(buf + DEV_OFF_DEVNUM);
	t.speed = get_be32(buf + DEV_OFF_SPEED);
	t.idVendor = get_be16(buf + DEV_OFF_VENDOR);
	t.idProduct = get_be16(buf + DEV_OFF_PRODUCT);
	t.bcdDevice = get_be16(buf + DEV_OFF_BCDDEVICE);
	t.bDeviceClass = buf[DEV_OFF_CLASS];
	t.bDeviceSubClass = buf[DEV_OFF_SUBCLASS];
	t.bDeviceProtocol = buf[DEV_OFF_PROTOCOL];
	t.bConfigurationValue = buf[DEV_OFF_CONFVALUE];
	t.bNumConfigurations = buf[DEV_OFF_NUMCONF];
	t.bNumInterfaces = buf[DEV_OFF_NUMINTF];
	memcpy(d, &t, sizeof(t));
	return USBIP_DEVICE_SIZE;
}

ssize_t usbip_proto_intf_encode(const struct usbip_intf *i, uint8_t *buf, size_t len)
{
	if (len < USBIP_INTF_SIZE)
		return -EMSGSIZE;
	buf[0] = i->bInterfaceClass;
	buf[1] = i->bInterfaceSubClass;
	buf[2] = i->bInterfaceProtocol;
	buf[3] = 0; /* padding */
	return USBIP_INTF_SIZE;
}

ssize_t usbip_proto_intf_decode(struct usbip_intf *i, const uint8_t *buf, size_t len)
{
	if (len < USBIP_INTF_SIZE)
		return -EMSGSIZE;
	/* The pad byte is ignored: nothing defines its value. */
	i->bInterfaceClass = buf[0];
	i->bInterfaceSubClass = buf[1];
	i->bInterfaceProtocol = buf[2];
	return USBIP_INTF_SIZE;
}

/* ---- OP_REQ_DEVLIST / OP_REP_DEVLIST ------------------------------------ */

ssize_t usbip_proto_devlist_req_encode(uint8_t *buf, size_t len)
{
	if (len < USBIP_OP_HDR_SIZE)
		return -EMSGSIZE;
	op_hdr_put(buf, USBIP_OP_REQ_DEVLIST, USBIP_ST_OK);
	return USBIP_OP_HDR_SIZE;
}

ssize_t usbip_proto_devlist_head_encode(uint32_t status, uint32_t ndev, uint8_t *buf, size_t len)
{
	if (len < USBIP_DEVLIST_HEAD_SIZE)
		return -EMSGSIZE;
	op_hdr_put(buf, USBIP_OP_REP_DEVLIST, status);
	put_be32(buf + USBIP_OP_HDR_SIZE, ndev);
	return USBIP_DEVLIST_HEAD_SIZE;
}

ssize_t usbip_proto_devlist_head_decode(uint32_t *status, uint32_t *ndev, const uint8_t *buf,
                                        size_t len)
{
	struct usbip_op_hdr h;
	ssize_t r;

	if (len < USBIP_DEVLIST_HEAD_SIZE)
		return -EMSGSIZE;
	r = op_hdr_expect(&h, USBIP_OP_REP_DEVLIST, buf, len);
	if (r < 0)
		return r;
	/* ndev is not bounded here: the caller reads entries one by one and
	 * each of them is length-checked on its own. */
	*status = h.status;
	*ndev = get_be32(buf + USBIP_OP_HDR_SIZE);
	return USBIP_DEVLIST_HEAD_SIZE;
}

ssize_t usbip_proto_devlist_entry_decode(struct usbip_device *d, struct usbip_intf *intf,
                                         size_t max_intf, const uint8_t *buf, size_t len)
{
	struct usbip_device t;
	ssize_t r;

	r = usbip_proto_device_decode(&t, buf, len);
	if (r < 0)
		return r;
	if (t.bNumInterfaces > max_intf || t.bNumInterfaces > USBIP_MAX_INTERFACES)
		return -EPROTO;
	if (t.bNumInterfaces > 0 && !intf)
		return -EINVAL;
	/* The interface count is known only now; check the whole entry fits
	 * before filling the caller's array. */
	size_t need = USBIP_DEVICE_SIZE + (size_t)t.bNumInterfaces * USBIP_INTF_SIZE;
	if (len < need)
		return -EMSGSIZE;
	for (size_t k = 0; k < t.bNumInterfaces; k++)
		usbip_proto_intf_decode(&intf[k], buf + USBIP_DEVICE_SIZE + k * USBIP_INTF_SIZE,
		                        USBIP_INTF_SIZE);
	memcpy(d, &t, sizeof(t));
	return (ssize_t)need;
}

ssize_t usbip_proto_devlist_entry_encode(const struct usbip_device *d,
                                         const struct usbip_intf *intf, uint8_t *buf, size_t len)
{
	size_t n = d->bNumInterfaces;
	ssize_t r;

	/* Mirror the decoder's limit so that what we send we would accept. */
	if (n > USBIP_MAX_INTERFACES || (n > 0 && !intf))
		return -EINVAL;
	size_t need = USBIP_DEVICE_SIZE + n * USBIP_INTF_SIZE;
	if (len < need)
		return -EMSGSIZE;
	r = usbip_proto_device_encode(d, buf, len);
	if (r < 0)
		return r;
	for (size_t k = 0; k < n; k++)
		usbip_proto_intf_encode(&intf[k], buf + USBIP_DEVICE_SIZE + k * USBIP_INTF_SIZE,
		                        USBIP_INTF_SIZE);
	return (ssize_t)need;
}

/* ---- OP_REQ_IMPORT ------------------------------------------------------ */

ssize_t usbip_proto_import_req_encode(const char *busid, uint8_t *buf, size_t len)
{
	size_t n = strnlen(busid, USBIP_BUSID_SIZE);

	if (n == 0 || n >= USBIP_BUSID_SIZE)
		return -EINVAL;
	if (len < USBIP_IMPORT_REQ_SIZE)
		return -EMSGSIZE;
	op_hdr_put(buf, USBIP_OP_REQ_IMPORT, USBIP_ST_OK);
	put_str(buf + USBIP_OP_HDR_SIZE, busid, USBIP_BUSID_SIZE);
	return USBIP_IMPORT_REQ_SIZE;
}

ssize_t usbip_proto_import_req_decode(char busid[USBIP_BUSID_SIZE], const uint8_t *buf, size_t len)
{
	struct usbip_op_hdr h;
	char t[USBIP_BUSID_SIZE];
	ssize_t r;

	if (len < USBIP_IMPORT_REQ_SIZE)
		return -EMSGSIZE;
	r = op_hdr_expect(&h, USBIP_OP_REQ_IMPORT, buf, len);
	if (r < 0)
		return r;
	/* The status of a request carries no meaning; Linux usbipd ignores it
	 * and so do we.  An empty busid cannot name any device. */
	if (get_str(t, buf + USBIP_OP_HDR_SIZE, USBIP_BUSID_SIZE) < 0 || t[0] == '\0')
		return -EPROTO;
	memcpy(busid, t, USBIP_BUSID_SIZE);
	return USBIP_IMPORT_REQ_SIZE;
}

/* ---- URB header --------------------------------------------------------- */

/* Offsets inside the 48-byte URB header (usbip_header_basic is 20 bytes). */
enum {
	URB_OFF_COMMAND = 0,
	URB_OFF_SEQNUM = 4,
	URB_OFF_DEVID = 8,
	URB_OFF_DIRECTION = 12,
	URB_OFF_EP = 16,
	URB_OFF_U = 20,
	URB_OFF_SETUP = 40,
};

/*
 * A CMD_SUBMIT the server would have to refuse anyway: direction must be
 * one of the two values, the endpoint a 4-bit number, and the length
 * non-negative (the server allocates that many bytes).
 */
static int submit_valid(const struct usbip_urb_hdr *h)
{
	return h->direction <= USBIP_DIR_IN && h->ep <= 15 &&
	       h->u.submit.transfer_buffer_length >= 0;
}

ssize_t usbip_proto_urb_hdr_encode(const struct usbip_urb_hdr *h, uint8_t *buf, size_t len)
{
	uint8_t *u = buf + URB_OFF_U;

	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		if (!submit_valid(h))
			return -EINVAL;
		break;
	case USBIP_CMD_UNLINK:
	case USBIP_RET_SUBMIT:
	case USBIP_RET_UNLINK:
		break;
	default:
		return -EINVAL;
	}
	if (len < USBIP_URB_HDR_SIZE)
		return -EMSGSIZE;

	/* Zero first: every command leaves some of the 28 bytes as padding. */
	memset(buf, 0, USBIP_URB_HDR_SIZE);
	put_be32(buf + URB_OFF_COMMAND, h->command);
	put_be32(buf + URB_OFF_SEQNUM, h->seqnum);
	put_be32(buf + URB_OFF_DEVID, h->devid);
	put_be32(buf + URB_OFF_DIRECTION, h->direction);
	put_be32(buf + URB_OFF_EP, h->ep);
	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		put_be32(u, h->u.submit.transfer_flags);
		put_be32s(u + 4, h->u.submit.transfer_buffer_length);
		put_be32s(u + 8, h->u.submit.start_frame);
		put_be32s(u + 12, h->u.submit.number_of_packets);
		put_be32s(u + 16, h->u.submit.interval);
		/* The SETUP packet is already in USB (little-endian) order. */
		memcpy(buf + URB_OFF_SETUP, h->u.submit.setup, 8);
		break;
	case USBIP_RET_SUBMIT:
		put_be32s(u, h->u.ret_submit.status);
		put_be32s(u + 4, h->u.ret_submit.actual_length);
		put_be32s(u + 8, h->u.ret_submit.start_frame);
		put_be32s(u + 12, h->u.ret_submit.number_of_packets);
		put_be32s(u + 16, h->u.ret_submit.error_count);
		break;
	case USBIP_CMD_UNLINK:
		put_be32(u, h->u.unlink.seqnum);
		break;
	case USBIP_RET_UNLINK:
		put_be32s(u, h->u.ret_unlink.status);
		break;
	}
	return USBIP_URB_HDR_SIZE;
}

ssize_t usbip_proto_urb_hdr_decode(struct usbip_urb_hdr *h, const uint8_t *buf, size_t len)
{
	struct usbip_urb_hdr t;
	const uint8_t *u = buf + URB_OFF_U;

	if (len < USBIP_URB_HDR_SIZE)
		return -EMSGSIZE;
	memset(&t, 0, sizeof(t));
	t.command = get_be32(buf + URB_OFF_COMMAND);
	t.seqnum = get_be32(buf + URB_OFF_SEQNUM);
	t.devid = get_be32(buf + URB_OFF_DEVID);
	t.direction = get_be32(buf + URB_OFF_DIRECTION);
	t.ep = get_be32(buf + URB_OFF_EP);
	/* devid/direction/ep are not checked for replies: Linux and
	 * usbipd-win send zeros there and the client ignores them. */
	switch (t.command) {
	case USBIP_CMD_SUBMIT:
		t.u.submit.transfer_flags = get_be32(u);
		t.u.submit.transfer_buffer_length = get_be32s(u + 4);
		t.u.submit.start_frame = get_be32s(u + 8);
		t.u.submit.number_of_packets = get_be32s(u + 12);
		t.u.submit.interval = get_be32s(u + 16);
		memcpy(t.u.submit.setup, buf + URB_OFF_SETUP, 8);
		if (!submit_valid(&t))
			return -EPROTO;
		break;
	case USBIP_RET_SUBMIT:
		t.u.ret_submit.status = get_be32s(u);
		t.u.ret_submit.actual_length = get_be32s(u + 4);
		t.u.ret_submit.start_frame = get_be32s(u + 8);
		t.u.ret_submit.number_of_packets = get_be32s(u + 12);
		t.u.ret_submit.error_count = get_be32s(u + 16);
		break;
	case USBIP_CMD_UNLINK:
		t.u.unlink.seqnum = get_be32(u);
		break;
	case USBIP_RET_UNLINK:
		t.u.ret_unlink.status = get_be32s(u);
		break;
	default:
		return -EPROTO;
	}
	memcpy(h, &t, sizeof(t));
	return USBIP_URB_HDR_SIZE;
}

ssize_t usbip_proto_cmd_submit_payload(const struct usbip_urb_hdr *h, size_t max_len)
{
	if (h->command != USBIP_CMD_SUBMIT)
		return -EINVAL;
	int32_t n = h->u.submit.transfer_buffer_length;
	if (n < 0 || (size_t)n > max_len)
		return -EPROTO;
	/* Isochronous URBs append packet descriptors we do not parse; the
	 * stream position would be lost. */
	if (h->u.submit.number_of_packets > 0)
		return -EPROTO;
	switch (h->direction) {
	case USBIP_DIR_OUT:
		return n;
	case USBIP_DIR_IN:
		return 0;
	default:
		return -EPROTO;
	}
}

ssize_t usbip_proto_ret_submit_payload(const struct usbip_urb_hdr *h, enum usbip_dir dir,
                                       size_t requested_len)
{
	if (h->command != USBIP_RET_SUBMIT || (dir != USBIP_DIR_OUT && dir != USBIP_DIR_IN))
		return -EINVAL;
	int32_t n = h->u.ret_submit.actual_length;
	/* A reply longer than what was asked would overrun the caller's
	 * buffer: that is a broken peer, not a short read. */
	if (n < 0 || (size_t)n > requested_len)
		return -EPROTO;
	if (h->u.ret_submit.number_of_packets > 0)
		return -EPROTO;
	/*
	 * For IN, Linux stub_tx.c sends actual_length bytes whatever the
	 * status (a cancelled or overflowed read may carry partial data), and
	 * vhci_rx reads them the same way; the status does not matter here.
	 */
	return dir == USBIP_DIR_IN ? n : 0;
}

ssize_t usbip_proto_stage_reply(const uint8_t *buf, size_t len, usbip_proto_lookup_fn lookup,
                                void *user, struct usbip_urb_hdr *h, size_t *need)
{
	*need = USBIP_URB_HDR_SIZE;
	if (len < USBIP_URB_HDR_SIZE)
		return 0;
	if (usbip_proto_urb_hdr_decode(h, buf, len) < 0) {
		/* an unknown command: say which, for the message */
		memset(h, 0, sizeof(*h));
		h->command = get_be32(buf);
		h->seqnum = get_be32(buf + 4);
		return -EBADMSG;
	}
	if (h->command != USBIP_RET_SUBMIT && h->command != USBIP_RET_UNLINK)
		return -EBADMSG;
	enum usbip_dir dir = USBIP_DIR_OUT;
	size_t req_len = 0;
	if (lookup(h->seqnum, h->command, &dir, &req_len, user) < 0)
		return -ENOENT;
	if (h->command == USBIP_RET_UNLINK)
		return USBIP_URB_HDR_SIZE;
	ssize_t payload = usbip_proto_ret_submit_payload(h, dir, req_len);
	if (payload < 0)
		return -EOVERFLOW;
	*need = USBIP_URB_HDR_SIZE + (size_t)payload;
	return len >= *need ? (ssize_t)*need : 0;
}
