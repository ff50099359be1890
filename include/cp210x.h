/* SPDX-License-Identifier: MIT */
/*
 * cp210x - Silicon Labs CP210x USB UARTs as a serial driver (level 0).
 *
 * The interface requests of AN571 as Linux 6.1 `cp210x` sends them: to the
 * function's interface (bmRequestType 0x41 OUT, 0xC1 IN, wIndex = the
 * interface number); vendor-specific reads (bRequest 0xFF) go to the
 * device (0xC0) with the interface number in wIndex too.  One function per
 * interface (a CP2105 has two, a CP2108 four).  Multi-byte fields are
 * little-endian.
 *
 * Connect: identify reads the part number (GET_PARTNUM), enables the
 * interface (IFC_ENABLE comes before anything that configures the UART)
 * and reads the flow-control block (GET_FLOW) that set_line and set_lines
 * then change bit by bit as the kernel does; a CP2102N's firmware version
 * is read in a second round (up to 1.0.4 it misreads the flow block,
 * erratum CP2102N_E104, so flow control stays off as the kernel keeps it).
 *
 * Baud: the part decides (see cp210x_baud()).  Modem status: polled with
 * GET_MDMSTS every CP210X_POLL_MS while the port is open.  The kernel 6.1
 * reads GET_MDMSTS only when asked (TIOCMGET) and has no TIOCMIWAIT for
 * these parts; its event-insertion mode (EMBED_EVENTS) is used only for
 * line errors with INPCK, which neutral line settings do not carry, so it
 * is not used: received data is passed through unchanged.
 */
#ifndef CP210X_H
#define CP210X_H

#include <stdint.h>

#include "serial_drv.h"

#define CP210X_REQTYPE_IFC_OUT 0x41u /* host to interface */
#define CP210X_REQTYPE_IFC_IN  0xc1u /* interface to host */
#define CP210X_REQTYPE_DEV_IN  0xc0u /* device to host (vendor-specific reads) */

enum cp210x_request {
	CP210X_IFC_ENABLE = 0x00,      /* wValue 1 enable, 0 disable */
	CP210X_SET_LINE_CTL = 0x03,    /* wValue: data bits << 8 | parity << 4 | stop */
	CP210X_SET_BREAK = 0x05,       /* wValue 1 on, 0 off */
	CP210X_SET_MHS = 0x07,         /* wValue: CP210X_MHS_* */
	CP210X_GET_MDMSTS = 0x08,      /* IN 1 byte: CP210X_MHS_* levels */
	CP210X_PURGE = 0x12,           /* wValue: CP210X_PURGE_* */
	CP210X_SET_FLOW = 0x13,        /* 16 bytes: struct cp210x_flow */
	CP210X_GET_FLOW = 0x14,        /* IN 16 bytes */
	CP210X_SET_CHARS = 0x19,       /* 6 bytes: EOF, error, break, event, XON, XOFF */
	CP210X_SET_BAUDRATE = 0x1e,    /* 4 bytes: baud, little-endian */
	CP210X_VENDOR_SPECIFIC = 0xff, /* wValue: CP210X_GET_PARTNUM, ... */
};

/* CP210X_VENDOR_SPECIFIC wValue */
#define CP210X_GET_PARTNUM   0x370bu /* IN 1 byte: enum cp210x_part */
#define CP210X_GET_FW_VER_2N 0x0010u /* IN 3 bytes: major, minor, build (CP2102N) */

/* SET_MHS / GET_MDMSTS bits */
#define CP210X_MHS_DTR       0x0001u
#define CP210X_MHS_RTS       0x0002u
#define CP210X_MHS_CTS       0x0010u
#define CP210X_MHS_DSR       0x0020u
#define CP210X_MHS_RI        0x0040u
#define CP210X_MHS_DCD       0x0080u
#define CP210X_MHS_WRITE_DTR 0x0100u
#define CP210X_MHS_WRITE_RTS 0x0200u

/* PURGE wValue (AN571: bits 0 and 2 transmit, 1 and 3 receive) */
#define CP210X_PURGE_TX 0x0005u
#define CP210X_PURGE_RX 0x000au

/* The flow-control block (GET_FLOW/SET_FLOW), host order here. */
struct cp210x_flow {
	uint32_t control_handshake; /* ulControlHandshake */
	uint32_t flow_replace;      /* ulFlowReplace */
	uint32_t xon_limit;         /* ulXonLimit */
	uint32_t xoff_limit;        /* ulXoffLimit */
};
#define CP210X_FLOW_SIZE 16u

/* ulControlHandshake */
#define CP210X_CH_DTR_MASK        0x00000003u
#define CP210X_CH_DTR_ACTIVE      0x00000001u
#define CP210X_CH_CTS_HANDSHAKE   0x00000008u
#define CP210X_CH_DSR_HANDSHAKE   0x00000010u
#define CP210X_CH_DCD_HANDSHAKE   0x00000020u
#define CP210X_CH_DSR_SENSITIVITY 0x00000040u
/* ulFlowReplace */
#define CP210X_FR_AUTO_TRANSMIT 0x00000001u
#define CP210X_FR_AUTO_RECEIVE  0x00000002u
#define CP210X_FR_RTS_MASK      0x000000c0u
#define CP210X_FR_RTS_ACTIVE    0x00000040u
#define CP210X_FR_RTS_FLOW_CTL  0x00000080u
/* Limits the kernel writes with IXOFF */
#define CP210X_XON_XOFF_LIMIT 128u

/* serial_function.chip: the GET_PARTNUM answer (0 = not known) */
enum cp210x_part {
	CP210X_PART_CP2101 = 0x01,
	CP210X_PART_CP2102 = 0x02,
	CP210X_PART_CP2103 = 0x03,
	CP210X_PART_CP2104 = 0x04,
	CP210X_PART_CP2105 = 0x05,
	CP210X_PART_CP2108 = 0x08,
	CP210X_PART_CP2102N_QFN28 = 0x20,
	CP210X_PART_CP2102N_QFN24 = 0x21,
	CP210X_PART_CP2102N_QFN20 = 0x22,
};

/* Modem-status poll interval while the port is open: 100 ms notices a
 * change within a human reaction time for ten 1-byte control transfers a
 * second. */
#define CP210X_POLL_MS 100u

/*
 * The rate the kernel 6.1 asks part for on interface intf (what goes into
 * SET_BAUDRATE, which is also the rate the part runs at): the request is
 * clamped to the part's range (300 .. 921600 CP2101, .. 1000000 CP2102/3,
 * .. 2000000 CP2104/CP2108/unknown, CP2105 2000000 on interface 0 and
 * 2400 .. 921600 on 1, .. 3000000 CP2102N); CP2104, CP2105 interface 0
 * and CP2102N run 48 MHz / (2 x prescale x round(48 MHz / (2 x prescale x
 * rate))) with prescale 4 up to 365 baud, else 1; the others below 1 MHz
 * get the nearest rate of AN205 table 1.
 */
uint32_t cp210x_baud(unsigned part, uint8_t intf, uint32_t baud);

/* The flow block as 16 wire bytes and back. */
void cp210x_flow_encode(const struct cp210x_flow *fl, uint8_t out[CP210X_FLOW_SIZE]);
void cp210x_flow_decode(struct cp210x_flow *fl, const uint8_t in[CP210X_FLOW_SIZE]);

extern const struct serial_driver cp210x_driver;

#endif /* CP210X_H */
