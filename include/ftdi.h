/* SPDX-License-Identifier: MIT */
/*
 * ftdi - FTDI USB UART chips as a serial driver (level 0: pure).
 *
 * The chips the Linux 6.1 `ftdi_sio` driver knows by bcdDevice: SIO
 * (< 0x200), FT232A/AM (0x200), FT232B/BM (0x400, or 0x200 without a
 * serial number string when the latency timer answers), FT2232C/D
 * (0x500), FT232R (0x600), FT2232H (0x700), FT4232H (0x800), FT232H
 * (0x900), FT-X (0x1000) and the HP/HA parts (0x2800 FT2233HP, 0x2900
 * FT4233HP, 0x3000 FT2232HP, 0x3100 FT4232HP, 0x3200 FT233HP, 0x3300
 * FT232HP, 0x3600 FT4232HA: the Debian 6.1 kernel the system tests boot
 * has them); one function per interface (channel A, B, ...).  All requests are vendor requests to
 * the device (bmRequestType 0x40 OUT, 0xC0 IN) whose wIndex low byte selects the channel: 0 on the
 * single-channel legacy chips (SIO, FT232A/B/R), 1 + interface number on
 * the others (FT232H and FT-X accept 1 for their only channel).
 *
 * Every bulk-IN max-packet starts with two status bytes, even when no data
 * follows: byte 0 the modem status (bit 4 CTS, 5 DSR, 6 RI, 7 DCD), byte 1
 * the line status (bit 1 overrun, 2 parity, 3 framing, 4 break).  rx_frame
 * strips them from every packet of a transfer.
 *
 * Baud rates are divisors of a 3 MHz clock (48 MHz / 16) in eighths, with
 * a 3-bit fractional code in bits 14..16; H, HP and HA chips from 1200
 * baud up use a 12 MHz clock (120 MHz / 10, bit 17 set).  See
 * ftdi_divisor().
 */
#ifndef FTDI_H
#define FTDI_H

#include <stdint.h>

#include "serial_drv.h"

#define FTDI_VID 0x0403u

#define FTDI_REQTYPE_OUT 0x40u
#define FTDI_REQTYPE_IN  0xc0u

enum ftdi_request {
	FTDI_REQ_RESET = 0x00,            /* wValue: FTDI_RESET_* */
	FTDI_REQ_MODEM_CTRL = 0x01,       /* wValue: FTDI_MCTRL_* */
	FTDI_REQ_SET_FLOW_CTRL = 0x02,    /* wValue XOFF << 8 | XON; wIndex FTDI_FLOW_* | channel */
	FTDI_REQ_SET_BAUDRATE = 0x03,     /* divisor bits 0..15; wIndex see ftdi_divisor() */
	FTDI_REQ_SET_DATA = 0x04,         /* wValue: bits | FTDI_DATA_* */
	FTDI_REQ_GET_MODEM_STATUS = 0x05, /* IN 2 bytes, as the bulk status bytes */
	FTDI_REQ_SET_LATENCY_TIMER = 0x09, /* wValue: milliseconds 1..255 */
	FTDI_REQ_GET_LATENCY_TIMER = 0x0a, /* IN 1 byte */
};

/* FTDI_REQ_RESET wValue.  PURGE_TX (1) empties the chip's transmit buffer
 * and PURGE_RX (2) its receive buffer, as libftdi >= 1.5 and FTDI's D2XX
 * use them (the kernel header names them the other way round and never
 * sends either). */
#define FTDI_RESET_SIO      0x0000u
#define FTDI_RESET_PURGE_TX 0x0001u
#define FTDI_RESET_PURGE_RX 0x0002u

/* FTDI_REQ_MODEM_CTRL wValue: the level in bits 0/1, the write enable in
 * bits 8/9 (a line whose enable bit is clear keeps its level). */
#define FTDI_MCTRL_DTR        0x0001u
#define FTDI_MCTRL_RTS        0x0002u
#define FTDI_MCTRL_DTR_ENABLE 0x0100u
#define FTDI_MCTRL_RTS_ENABLE 0x0200u

/* FTDI_REQ_SET_FLOW_CTRL wIndex high byte. */
#define FTDI_FLOW_NONE     0x0000u
#define FTDI_FLOW_RTS_CTS  0x0100u
#define FTDI_FLOW_DTR_DSR  0x0200u
#define FTDI_FLOW_XON_XOFF 0x0400u

/* FTDI_REQ_SET_DATA wValue: data bits in bits 0..7 (7 or 8; 0 is the
 * kernel's CS5 quirk, which original chips run as 8), then: */
#define FTDI_DATA_PARITY_SHIFT 8  /* 0 none, 1 odd, 2 even, 3 mark, 4 space */
#define FTDI_DATA_STOP_SHIFT   11 /* 0 one, 1 one and a half, 2 two */
#define FTDI_DATA_BREAK        0x4000u

/* Status byte 0 (modem status) and byte 1 (line status). */
#define FTDI_MS_CTS  0x10u
#define FTDI_MS_DSR  0x20u
#define FTDI_MS_RI   0x40u
#define FTDI_MS_DCD  0x80u
#define FTDI_LS_OE   0x02u
#define FTDI_LS_PE   0x04u
#define FTDI_LS_FE   0x08u
#define FTDI_LS_BI   0x10u
#define FTDI_LS_TEMT 0x40u

#define FTDI_STATUS_LEN 2u /* status bytes at the start of every bulk-IN packet */

/*
 * Latency timer written at init: 1 ms, the chip's minimum.  The chip sends
 * a short packet (held data, or just the two status bytes) when the timer
 * runs out, so this bounds how long a received byte waits in the chip (the
 * default 16 ms would dominate a serial round trip over USBIP).  The cost:
 * an open idle port returns one 2-byte status packet per millisecond.  The
 * kernel keeps the chip's value unless ASYNC_LOW_LATENCY asks for 1.
 */
#define FTDI_LATENCY_MS 1u

/* serial_function.chip */
enum ftdi_chip {
	FTDI_CHIP_SIO = 1, /* FT8U100AX: fixed rate codes, no latency timer */
	FTDI_CHIP_FT232A,  /* FT8U232AM/FT8U245AM */
	FTDI_CHIP_FT232B,  /* FT232BM/FT245BM */
	FTDI_CHIP_FT2232C, /* FT2232C/D/L */
	FTDI_CHIP_FT232R,
	FTDI_CHIP_FT2232H,
	FTDI_CHIP_FT4232H,
	FTDI_CHIP_FT232H,
	FTDI_CHIP_FTX,
	/* the HP/HA parts (H clock, channels), in Debian's 6.1 kernel */
	FTDI_CHIP_FT2233HP,
	FTDI_CHIP_FT4233HP,
	FTDI_CHIP_FT2232HP,
	FTDI_CHIP_FT4232HP,
	FTDI_CHIP_FT233HP,
	FTDI_CHIP_FT232HP,
	FTDI_CHIP_FT4232HA,
};
/* Or-ed into chip by probe: an FT232A (bcdDevice 0x200, no serial number)
 * that is an FT232B if its latency timer can be read; identify asks. */
#define FTDI_CHIP_UNSURE  0x80u
#define FTDI_CHIP_TYPE(c) ((c)&0x7fu)

/* Chip type from bcdDevice as the kernel 6.1 determines it; 0 for an
 * unknown value (>= 0x200 and none of the above). */
unsigned ftdi_chip_from_bcd(uint16_t bcd_device);

/*
 * The 32-bit divisor (SET_BAUDRATE wValue = bits 0..15, the rest go to
 * wIndex: legacy chips bits 16.. as wIndex, channel chips
 * (bits 16.. << 8) | channel) the kernel computes for baud on chip, and
 * the rate the chip then runs at (rounded to whole baud).  -EINVAL when
 * the chip has no divisor for it: SIO beyond its ten rates, above 3 MHz
 * (12 MHz on H chips), or below the 14-bit integer divisor (184 baud).
 */
int ftdi_divisor(unsigned chip, uint32_t baud, uint32_t *divisor, uint32_t *actual);

/* The channel selector in wIndex for a function (0 legacy, 1 + port). */
uint16_t ftdi_channel(const struct serial_function *f);

extern const struct serial_driver ftdi_driver;

#endif /* FTDI_H */
