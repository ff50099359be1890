/* SPDX-License-Identifier: MIT */
/*
 * pl2303 - Prolific PL2303 USB UARTs as a serial driver (level 0).
 *
 * As Linux 6.1 `pl2303` drives them.  The chip type comes from the device
 * descriptor (pl2303_chip_from_desc()); a PL2303 reporting USB 2.0 with
 * bcdDevice 3.00 or 5.00 is a TA/TB if it answers the old status read
 * (vendor read 0x8080) and an HXN ("G" series) if it stalls it: identify
 * asks.  Line settings use the CDC SET_LINE_CODING layout (class request
 * 0x20, 7 bytes) with the chip's own baud encodings; DTR/RTS and break the
 * CDC requests 0x22 and 0x23.  (The kernel reads the line request back
 * before writing it, to keep the rate when B0 is asked for; B0 never
 * reaches a driver here, so that read is not made.)  Vendor requests: read 0xC0/0x01 (HXN 0x81)
 * with wValue = register, 1 byte; write 0x40/0x01 (HXN 0x80) with wValue =
 * register, wIndex = value.  Status: the UART state byte at offset 8 of
 * each interrupt notification (offset 0 on a few Siemens phones).
 */
#ifndef PL2303_H
#define PL2303_H

#include <stdint.h>

#include "serial_drv.h"

#define PL2303_REQTYPE_CLASS_OUT  0x21u
#define PL2303_REQTYPE_VENDOR_OUT 0x40u
#define PL2303_REQTYPE_VENDOR_IN  0xc0u

#define PL2303_SET_LINE_REQUEST    0x20u /* 7 bytes: baud LE32, stop, parity, data bits */
#define PL2303_SET_CONTROL_REQUEST 0x22u /* wValue: bit 0 DTR, bit 1 RTS */
#define PL2303_BREAK_REQUEST       0x23u /* wValue 0xffff on, 0 off */
#define PL2303_VENDOR_WRITE        0x01u
#define PL2303_VENDOR_READ         0x01u
#define PL2303_VENDOR_WRITE_HXN    0x80u
#define PL2303_VENDOR_READ_HXN     0x81u

#define PL2303_READ_HX_STATUS 0x8080u /* vendor read an HXN stalls */

/* Flow control: register 0 bits 4..7 (HX and older; read back at
 * register | 0x80), register 0x0a bits 2..4 on HXN. */
#define PL2303_FLOW_MASK        0xf0u
#define PL2303_FLOW_RTSCTS      0x60u
#define PL2303_FLOW_RTSCTS_H    0x40u /* legacy H parts */
#define PL2303_FLOW_XONXOFF     0xc0u
#define PL2303_HXN_FLOW_REG     0x0au
#define PL2303_HXN_FLOW_MASK    0x1cu
#define PL2303_HXN_FLOW_NONE    0x1cu
#define PL2303_HXN_FLOW_RTSCTS  0x18u
#define PL2303_HXN_FLOW_XONXOFF 0x0cu
#define PL2303_HXN_RESET_REG    0x07u
#define PL2303_HXN_RESET_PIPES  0x03u /* upstream | downstream */

/* UART state byte */
#define PL2303_UART_DCD         0x01u
#define PL2303_UART_DSR         0x02u
#define PL2303_UART_BREAK       0x04u
#define PL2303_UART_RING        0x08u
#define PL2303_UART_FRAME       0x10u
#define PL2303_UART_PARITY      0x20u
#define PL2303_UART_OVERRUN     0x40u
#define PL2303_UART_CTS         0x80u
#define PL2303_UART_STATE_INDEX 8u

#define PL2303_LINE_SIZE 7u

/* serial_function.chip: the type in bits 0..3, and flags */
enum pl2303_type {
	PL2303_TYPE_H = 1, /* legacy: bDeviceClass 2, or bMaxPacketSize0 != 64 */
	PL2303_TYPE_HX,
	PL2303_TYPE_TA,
	PL2303_TYPE_TB,
	PL2303_TYPE_HXD,
	PL2303_TYPE_HXN, /* PL2303G* */
};
#define PL2303_CHIP_TYPE(c)    ((c)&0x0fu)
#define PL2303_CHIP_UNSURE     0x40u /* TA/TB or HXN: identify asks */
#define PL2303_CHIP_STATE_IDX0 0x80u /* UART state at offset 0 */

/*
 * The type (with PL2303_CHIP_UNSURE for TA/TB-or-HXN) as the kernel 6.1
 * determines it from bDeviceClass, bMaxPacketSize0, bcdUSB and bcdDevice;
 * 0 for a combination it does not know ("unknown device type").
 */
unsigned pl2303_chip_from_desc(const struct usb_device_desc *dd);

/*
 * The 4 baud bytes of the line request for baud on a chip type, as the
 * kernel encodes them: clamped to the type's maximum (1228800 H, 6000000
 * HX/TA, 12000000 TB/HXD/HXN); the rate itself when it is one of the
 * chip's standard rates (HXN: always), else a divisor (bit 31 set:
 * 12 MHz x 32 / (mantissa x 4^exponent), TA and TB mantissa x 2^exponent).
 * *actual gets the rate the chip then runs at.
 */
int pl2303_encode_baud(unsigned type, uint32_t baud, uint8_t out[4], uint32_t *actual);

extern const struct serial_driver pl2303_driver;

#endif /* PL2303_H */
