/* SPDX-License-Identifier: MIT */
/*
 * ch341 - WCH CH340/CH341 USB UARTs as a serial driver (level 0).
 *
 * Vendor requests to the device (bmRequestType 0x40 OUT, 0xC0 IN) as the
 * Linux 6.1 `ch341` driver sends them.  Registers are written in pairs:
 * WRITE_REG with wValue = second register << 8 | first register and
 * wIndex = second value << 8 | first value; READ_REG answers two bytes the
 * same way.
 *
 * Connect (identify, one round): READ_VERSION (kept in priv: the chip's
 * version decides two things below), SERIAL_INIT, then a read of the break
 * register 0x05: parts that stall it have no break and a limited
 * prescaler, and get the kernel's simulated break; parts that answer have
 * their break/LCR pair (0x05, 0x18) read and shadowed for set_break.
 *
 * Line settings: the divisor/prescaler pair (0x12, 0x13) and, on chips
 * from version 0x30, the LCR pair (0x18, 0x25); older chips keep their
 * line control (the kernel writes no LCR to them, they lose bytes on it).
 * Modem control: MODEM_CTRL with the inverted DTR (bit 5) / RTS (bit 6)
 * byte in wValue.  Status: 4-byte interrupt notifications, the inverted
 * modem status in byte 2; read once with READ_REG 0x0706 after init.
 */
#ifndef CH341_H
#define CH341_H

#include <stdint.h>

#include "serial_drv.h"

#define CH341_REQTYPE_OUT 0x40u
#define CH341_REQTYPE_IN  0xc0u

enum ch341_request {
	CH341_REQ_READ_VERSION = 0x5f, /* IN 2 bytes: version, 0 */
	CH341_REQ_READ_REG = 0x95,     /* IN 2 bytes */
	CH341_REQ_WRITE_REG = 0x9a,
	CH341_REQ_SERIAL_INIT = 0xa1, /* wValue 0, wIndex 0 */
	CH341_REQ_MODEM_CTRL = 0xa4,  /* wValue: ~(DTR/RTS byte) */
};

enum ch341_register {
	CH341_REG_BREAK = 0x05,
	CH341_REG_STATUS = 0x06, /* READ_REG 0x0706: modem status, inverted */
	CH341_REG_PRESCALER = 0x12,
	CH341_REG_DIVISOR = 0x13,
	CH341_REG_LCR = 0x18,
	CH341_REG_LCR2 = 0x25,
};

#define CH341_NBREAK 0x01u /* register 0x05 bit 0: clear while breaking */

#define CH341_LCR_ENABLE_RX  0x80u
#define CH341_LCR_ENABLE_TX  0x40u
#define CH341_LCR_MARK_SPACE 0x20u
#define CH341_LCR_PAR_EVEN   0x10u
#define CH341_LCR_ENABLE_PAR 0x08u
#define CH341_LCR_STOP_BITS2 0x04u
#define CH341_LCR_CS5        0x00u /* data bits - 5 in bits 0..1 */

#define CH341_MCR_DTR 0x20u
#define CH341_MCR_RTS 0x40u

/* Modem status bits (after inverting what the chip sends). */
#define CH341_MS_CTS 0x01u
#define CH341_MS_DSR 0x02u
#define CH341_MS_RI  0x04u
#define CH341_MS_DCD 0x08u

#define CH341_NOTIFY_LEN 4u /* interrupt notification bytes */

/* Divisor register bit 7: send received data without waiting for a full
 * packet.  Chips up to version 0x27 have it inverted, so it is set only
 * on later ones (as the kernel does). */
#define CH341_DIV_RX_TIMER 0x80u

#define CH341_MIN_BPS 46u      /* 48 MHz / (2^12 x 256), rounded up */
#define CH341_MAX_BPS 3000000u /* 48 MHz / (2^3 x 2) */

/*
 * The prescaler/divisor word the kernel 6.1 computes for baud (clamped to
 * 46 .. 3000000): (256 - div) << 8 | fact << 2 | ps, the rate being
 * 48 MHz / (2^(12 - 3 ps - fact) x div); limited = a part without break,
 * whose prescaler needs fact 0 below ps 3.  Bit 7 (CH341_DIV_RX_TIMER) is
 * not included.  *actual gets the rate (rounded to whole baud).
 */
int ch341_divisor(uint32_t baud, bool limited, uint16_t *word, uint32_t *actual);

/* The LCR byte for line settings (enable RX and TX included). */
int ch341_lcr(const struct serial_line *l, uint8_t *lcr);

extern const struct serial_driver ch341_driver;

#endif /* CH341_H */
