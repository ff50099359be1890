/* SPDX-License-Identifier: MIT */
/*
 * usb_desc - USB standard descriptors and SETUP packets (level 0).
 *
 * Parses device, configuration (the whole wTotalLength blob), interface,
 * endpoint and interface-association descriptors with every length checked
 * before use.  Multi-byte USB fields are little-endian on the wire; structs
 * hold host-order values.  No allocation: parsed configurations live in a
 * caller-provided struct with fixed limits, and `extra` pointers BORROW the
 * caller's buffer (which must outlive the struct).
 *
 * Returns >= 0 or -errno:
 *   -EMSGSIZE  the span is shorter than the descriptor claims
 *   -EPROTO    malformed (bLength < 2, wrong type, wTotalLength lies, ...)
 *   -E2BIG     more interfaces/endpoints/IADs than the fixed limits
 */
#ifndef USB_DESC_H
#define USB_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum usb_desc_type {
	USB_DT_DEVICE = 0x01,
	USB_DT_CONFIG = 0x02,
	USB_DT_STRING = 0x03,
	USB_DT_INTERFACE = 0x04,
	USB_DT_ENDPOINT = 0x05,
	USB_DT_DEVICE_QUALIFIER = 0x06,
	USB_DT_INTERFACE_ASSOCIATION = 0x0b,
	USB_DT_CS_INTERFACE = 0x24,
	USB_DT_CS_ENDPOINT = 0x25,
};

#define USB_DT_DEVICE_SIZE    18u
#define USB_DT_CONFIG_SIZE    9u
#define USB_DT_INTERFACE_SIZE 9u
#define USB_DT_ENDPOINT_SIZE  7u
#define USB_DT_IAD_SIZE       8u

#define USB_DESC_MAX_INTERFACES 32u /* interface descriptors (alt settings count) */
#define USB_DESC_MAX_ENDPOINTS  32u /* per interface descriptor */
#define USB_DESC_MAX_IADS       16u

/* bmAttributes & 3 */
enum usb_ep_type {
	USB_EP_CONTROL = 0,
	USB_EP_ISOC = 1,
	USB_EP_BULK = 2,
	USB_EP_INTERRUPT = 3,
};
#define USB_EP_DIR_IN 0x80u

struct usb_device_desc {
	uint16_t bcdUSB;
	uint8_t bDeviceClass;
	uint8_t bDeviceSubClass;
	uint8_t bDeviceProtocol;
	uint8_t bMaxPacketSize0;
	uint16_t idVendor;
	uint16_t idProduct;
	uint16_t bcdDevice;
	uint8_t iManufacturer;
	uint8_t iProduct;
	uint8_t iSerialNumber;
	uint8_t bNumConfigurations;
};

struct usb_endpoint_desc {
	uint8_t bEndpointAddress; /* with USB_EP_DIR_IN bit */
	uint8_t bmAttributes;
	uint16_t wMaxPacketSize; /* raw field; bits 0..10 are the size */
	uint8_t bInterval;
	const uint8_t *extra; /* class-specific descriptors after it (borrowed) */
	size_t extra_len;
};

struct usb_interface_desc {
	uint8_t bInterfaceNumber;
	uint8_t bAlternateSetting;
	uint8_t bInterfaceClass;
	uint8_t bInterfaceSubClass;
	uint8_t bInterfaceProtocol;
	uint8_t iInterface;
	uint8_t num_endpoints; /* endpoints actually parsed into ep[] */
	struct usb_endpoint_desc ep[USB_DESC_MAX_ENDPOINTS];
	/* class-specific descriptors between this interface descriptor and its
	 * first endpoint (CDC functional descriptors live here; borrowed) */
	const uint8_t *extra;
	size_t extra_len;
};

struct usb_iad_desc {
	uint8_t bFirstInterface;
	uint8_t bInterfaceCount;
	uint8_t bFunctionClass;
	uint8_t bFunctionSubClass;
	uint8_t bFunctionProtocol;
	uint8_t iFunction;
};

struct usb_config_desc {
	uint16_t wTotalLength;
	uint8_t bNumInterfaces;
	uint8_t bConfigurationValue;
	uint8_t iConfiguration;
	uint8_t bmAttributes;
	uint8_t bMaxPower;       /* units of 2 mA (USB 2) */
	unsigned num_interfaces; /* interface descriptors in intf[] */
	struct usb_interface_desc intf[USB_DESC_MAX_INTERFACES];
	unsigned num_iads;
	struct usb_iad_desc iad[USB_DESC_MAX_IADS];
};

/* wMaxPacketSize & 0x7ff */
uint16_t usb_desc_ep_max_packet(const struct usb_endpoint_desc *ep);
enum usb_ep_type usb_desc_ep_type(const struct usb_endpoint_desc *ep);

/* Parse an 18-byte device descriptor; returns 18. */
ssize_t usb_desc_parse_device(struct usb_device_desc *d, const uint8_t *buf, size_t len);
/* Encode 18 bytes (used by tools); returns 18. */
ssize_t usb_desc_encode_device(const struct usb_device_desc *d, uint8_t *buf, size_t len);

/*
 * Parse a full configuration descriptor blob.  len may exceed wTotalLength
 * (the rest is ignored); len < wTotalLength is -EMSGSIZE.  A descriptor with
 * bLength < 2 or running past wTotalLength is -EPROTO.  Descriptors that are
 * too short for their type (an interface with bLength < 9, ...) are -EPROTO;
 * unknown descriptor types are kept in the preceding extra span.
 * Returns wTotalLength.
 */
ssize_t usb_desc_parse_config(struct usb_config_desc *c, const uint8_t *buf, size_t len);

/* The interface descriptor with number `num` and alternate setting `alt`,
 * or NULL. */
const struct usb_interface_desc *usb_desc_find_interface(const struct usb_config_desc *c,
                                                         uint8_t num, uint8_t alt);

/*
 * Walk class-specific descriptors in an `extra` span: on each call, *pos is
 * the offset of the next descriptor.  Returns a pointer to it and its length
 * in *dlen (>= 2, within the span), or NULL at the end or on a malformed
 * bLength (< 2 or past the end).
 */
const uint8_t *usb_desc_next(const uint8_t *span, size_t span_len, size_t *pos, size_t *dlen);

/*
 * String descriptor (bLength, 3, UTF-16LE...) -> NUL-terminated UTF-8 in out
 * (surrogate pairs combined; unpaired surrogates become U+FFFD).  Returns the
 * UTF-8 byte count without the NUL; -ENOSPC when out is too small.
 */
ssize_t usb_desc_string_to_utf8(const uint8_t *buf, size_t len, char *out, size_t out_len);
/* UTF-8 -> string descriptor; returns bytes written (2 + 2 * UTF-16 units). */
ssize_t usb_desc_string_from_utf8(const char *utf8, uint8_t *buf, size_t len);

/* USB SETUP packet (8 bytes, little-endian on the wire). */
struct usb_setup {
	uint8_t bmRequestType;
	uint8_t bRequest;
	uint16_t wValue;
	uint16_t wIndex;
	uint16_t wLength;
};
#define USB_SETUP_SIZE 8u
#define USB_DIR_IN     0x80u

enum usb_std_request {
	USB_REQ_GET_STATUS = 0x00,
	USB_REQ_CLEAR_FEATURE = 0x01,
	USB_REQ_SET_FEATURE = 0x03,
	USB_REQ_SET_ADDRESS = 0x05,
	USB_REQ_GET_DESCRIPTOR = 0x06,
	USB_REQ_SET_DESCRIPTOR = 0x07,
	USB_REQ_GET_CONFIGURATION = 0x08,
	USB_REQ_SET_CONFIGURATION = 0x09,
	USB_REQ_GET_INTERFACE = 0x0a,
	USB_REQ_SET_INTERFACE = 0x0b,
};

void usb_desc_setup_encode(const struct usb_setup *s, uint8_t out[USB_SETUP_SIZE]);
void usb_desc_setup_decode(struct usb_setup *s, const uint8_t in[USB_SETUP_SIZE]);
/* true when the data stage is device-to-host (bit 7 set and wLength > 0) */
bool usb_desc_setup_is_in(const struct usb_setup *s);

/* Standard request builders. */
void usb_desc_setup_get_descriptor(struct usb_setup *s, uint8_t type, uint8_t index,
                                   uint16_t langid, uint16_t length);
void usb_desc_setup_set_configuration(struct usb_setup *s, uint8_t value);

#endif /* USB_DESC_H */
