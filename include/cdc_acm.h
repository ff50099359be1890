/* SPDX-License-Identifier: MIT */
/*
 * cdc_acm - CDC-ACM function discovery, line coding, class requests and
 * SERIAL_STATE notifications (level 0: pure, no allocation).
 *
 * Wire forms are little-endian (USB).  Structs hold host-order values.
 * Returns >= 0 or -errno (-EINVAL bad argument, -EMSGSIZE short span,
 * -EPROTO malformed bytes, -ENOMSG a valid notification that is not
 * SERIAL_STATE).
 */
#ifndef CDC_ACM_H
#define CDC_ACM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "serial_drv.h"
#include "usb_desc.h"

#define CDC_CLASS_COMM   0x02
#define CDC_SUBCLASS_ACM 0x02
#define CDC_CLASS_DATA   0x0a

/* CDC functional descriptor subtypes (bDescriptorSubtype of CS_INTERFACE). */
enum cdc_func_subtype {
	CDC_FUNC_HEADER = 0x00,
	CDC_FUNC_CALL_MGMT = 0x01,
	CDC_FUNC_ACM = 0x02,
	CDC_FUNC_UNION = 0x06,
};

/* Class requests. */
enum cdc_request {
	CDC_REQ_SET_LINE_CODING = 0x20,
	CDC_REQ_GET_LINE_CODING = 0x21,
	CDC_REQ_SET_CONTROL_LINE_STATE = 0x22,
	CDC_REQ_SEND_BREAK = 0x23,
};
#define CDC_REQTYPE_OUT 0x21 /* host-to-device, class, interface */
#define CDC_REQTYPE_IN  0xa1

/* SET_CONTROL_LINE_STATE wValue bits. */
#define CDC_CTRL_DTR 0x01u
#define CDC_CTRL_RTS 0x02u

/* SEND_BREAK wValue meaning "until a SEND_BREAK with 0". */
#define CDC_BREAK_FOREVER 0xffffu

/* SERIAL_STATE bitmap bits. */
#define CDC_SERIAL_STATE_NOTIFY 0x20
#define CDC_SS_DCD              0x0001u
#define CDC_SS_DSR              0x0002u
#define CDC_SS_BREAK            0x0004u
#define CDC_SS_RI               0x0008u
#define CDC_SS_FRAMING          0x0010u
#define CDC_SS_PARITY           0x0020u
#define CDC_SS_OVERRUN          0x0040u

/* One ACM function of a configuration.  Endpoint addresses include the
 * 0x80 IN bit; max packet sizes are bytes (wMaxPacketSize & 0x7ff). */
struct cdc_acm_function {
	uint8_t comm_intf; /* control interface number */
	uint8_t data_intf; /* == comm_intf when collapsed */
	uint8_t data_alt;  /* alt setting of the data interface holding the bulk pair */
	bool collapsed;    /* one interface with interrupt + bulk IN + bulk OUT */
	bool has_union;    /* a Union functional descriptor named data_intf */
	bool has_iad;      /* an IAD covers comm_intf */
	bool has_notify;   /* notify_ep is valid */
	uint8_t acm_caps;  /* bmCapabilities of the ACM descriptor (0 if none) */
	uint8_t notify_ep; /* interrupt IN endpoint address */
	uint16_t notify_mps;
	uint8_t notify_interval; /* bInterval */
	uint8_t bulk_in_ep;
	uint16_t bulk_in_mps;
	uint8_t bulk_out_ep;
	uint16_t bulk_out_mps;
};

/*
 * Find every ACM function (alt setting 0 of each comm interface) in a
 * parsed configuration, in interface-number order.  Accepts: IAD + Union,
 * Union without IAD, Call Management without Union (data interface from
 * bDataInterface, else the next interface), a collapsed single interface,
 * any interface numbers.  Functions without a bulk IN + bulk OUT pair are
 * skipped.  Writes at most max entries; returns how many were found (may
 * exceed max: then only max were written).
 */
int cdc_acm_find(const struct usb_config_desc *c, struct cdc_acm_function *out, size_t max);

/* Line coding (SET/GET_LINE_CODING data stage). */
enum cdc_stop_bits { CDC_STOP_1 = 0, CDC_STOP_1_5 = 1, CDC_STOP_2 = 2 };
enum cdc_parity {
	CDC_PARITY_NONE = 0,
	CDC_PARITY_ODD = 1,
	CDC_PARITY_EVEN = 2,
	CDC_PARITY_MARK = 3,
	CDC_PARITY_SPACE = 4,
};
#define CDC_LINE_CODING_SIZE 7u

struct cdc_line_coding {
	uint32_t rate;     /* bits per second */
	uint8_t stop_bits; /* enum cdc_stop_bits */
	uint8_t parity;    /* enum cdc_parity */
	uint8_t data_bits; /* 5, 6, 7, 8 or 16 */
};

/* Returns 7, or -EINVAL for a field out of range, -EMSGSIZE if len < 7. */
ssize_t cdc_acm_line_coding_encode(const struct cdc_line_coding *lc, uint8_t *buf, size_t len);
/* Returns 7; -EPROTO for out-of-range fields. */
ssize_t cdc_acm_line_coding_decode(struct cdc_line_coding *lc, const uint8_t *buf, size_t len);
bool cdc_acm_line_coding_equal(const struct cdc_line_coding *a, const struct cdc_line_coding *b);

/* Setup packet builders; intf is the comm interface number. */
void cdc_acm_setup_set_line_coding(struct usb_setup *s, uint8_t intf);
void cdc_acm_setup_get_line_coding(struct usb_setup *s, uint8_t intf);
void cdc_acm_setup_set_control_line_state(struct usb_setup *s, uint8_t intf, uint16_t lines);
void cdc_acm_setup_send_break(struct usb_setup *s, uint8_t intf, uint16_t ms);

/* Encode a SERIAL_STATE notification (10 bytes) for a mock device. */
ssize_t cdc_acm_serial_state_encode(uint8_t intf, uint16_t state, uint8_t *buf, size_t len);
/*
 * Decode an interrupt-IN notification.  Returns 10 and fills *intf and
 * *state for SERIAL_STATE; -ENOMSG for another well-formed notification
 * (NETWORK_CONNECTION, RESPONSE_AVAILABLE, ...; the caller ignores it);
 * -EMSGSIZE / -EPROTO for bad bytes.
 */
ssize_t cdc_acm_serial_state_decode(uint16_t *intf, uint16_t *state, const uint8_t *buf,
                                    size_t len);

/* ---- as a serial driver (serial_drv.h) ---------------------------------- */

/* The class driver: SET_LINE_CODING, SET_CONTROL_LINE_STATE, SEND_BREAK,
 * SERIAL_STATE on the interrupt endpoint; CTS always reported (as the
 * kernel's cdc-acm does). */
extern const struct serial_driver cdc_acm_driver;

/* Neutral line settings -> line coding (enum serial_parity and
 * serial_stop share the CDC numbering).  -EINVAL out of range. */
int cdc_acm_line_coding_from_line(struct cdc_line_coding *lc, const struct serial_line *l);
/* SERIAL_STATE bitmap -> neutral status (lines with CTS set); returns lines. */
uint16_t cdc_acm_serial_state_to_status(uint16_t state, struct serial_status *st);

#endif /* CDC_ACM_H */
