/* SPDX-License-Identifier: MIT */
/*
 * ftdi - FTDI USB UART chips (level 0).  Facts from Linux 6.1 ftdi_sio
 * (the reference for how hosts drive these chips) and FTDI AN232B-05 /
 * AN_120; where they differ the kernel wins and the difference is noted.
 */
#include "ftdi.h"

#include <errno.h>
#include <string.h>

#include "serial_match.h"

/* Products: FTDI's own PIDs (the kernel also lists several hundred
 * third-party ones, which are not repeated here). */
static const struct serial_match_id ftdi_ids[] = {
    {FTDI_VID, 0x6001, 0}, /* FT232R, FT232BM, FT232AM */
    {FTDI_VID, 0x6006, 0}, /* FT8U232AM, alternative PID */
    {FTDI_VID, 0x6010, 0}, /* FT2232C/D/H */
    {FTDI_VID, 0x6011, 0}, /* FT4232H */
    {FTDI_VID, 0x6014, 0}, /* FT232H */
    {FTDI_VID, 0x6015, 0}, /* FT-X series */
    {FTDI_VID, 0x6040, 0}, /* FT2233HP */
    {FTDI_VID, 0x6041, 0}, /* FT4233HP */
    {FTDI_VID, 0x6042, 0}, /* FT2232HP */
    {FTDI_VID, 0x6043, 0}, /* FT4232HP */
    {FTDI_VID, 0x6044, 0}, /* FT233HP */
    {FTDI_VID, 0x6045, 0}, /* FT232HP */
    {FTDI_VID, 0x6048, 0}, /* FT4232HA */
    {FTDI_VID, 0x8372, 0}, /* FT8U100AX (SIO) */
    {FTDI_VID, 0xfbfa, 0}, /* FT232RL, alternative PID */
};

/* priv[0]: the SET_DATA word without the break bit (break is a bit of the
 * same request, so set_break needs the last word set_line sent). */
#define PRIV_DATA 0

/* The tag of the latency-timer read that tells an FT232B from an FT232A. */
#define TAG_LATENCY 1

#define CLOCK_3MHZ_X8  24000000u /* 48 MHz / 2: the divisor counts eighths of 16 */
#define CLOCK_12MHZ_X8 96000000u /* 120 MHz * 8 / 10: H chips, 10-bit sampling */
#define DIV_H_CLOCK    0x20000u  /* divisor bit 17: H chips skip the divide by 2.5 */
#define DIV_INT_MAX    0x3fffu   /* 14-bit integer part */
#define H_MIN_BAUD     1200u     /* H chips use the 3 MHz formula below this */
#define MAX_BAUD       3000000u
#define MAX_BAUD_H     12000000u

unsigned ftdi_chip_from_bcd(uint16_t bcd)
{
	static const struct {
		uint16_t bcd;
		uint8_t chip;
	} types[] = {
	    {0x0200, FTDI_CHIP_FT232A},   {0x0400, FTDI_CHIP_FT232B},
	    {0x0500, FTDI_CHIP_FT2232C},  {0x0600, FTDI_CHIP_FT232R},
	    {0x0700, FTDI_CHIP_FT2232H},  {0x0800, FTDI_CHIP_FT4232H},
	    {0x0900, FTDI_CHIP_FT232H},   {0x1000, FTDI_CHIP_FTX},
	    {0x2800, FTDI_CHIP_FT2233HP}, {0x2900, FTDI_CHIP_FT4233HP},
	    {0x3000, FTDI_CHIP_FT2232HP}, {0x3100, FTDI_CHIP_FT4232HP},
	    {0x3200, FTDI_CHIP_FT233HP},  {0x3300, FTDI_CHIP_FT232HP},
	    {0x3600, FTDI_CHIP_FT4232HA},
	};
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (types[k].bcd == bcd)
			return types[k].chip;
	return bcd < 0x0200 ? FTDI_CHIP_SIO : 0;
}

/* 120 MHz parts: the H series and the HP/HA parts after FT-X */
static bool chip_is_h(unsigned chip)
{
	return chip == FTDI_CHIP_FT2232H || chip == FTDI_CHIP_FT4232H || chip == FTDI_CHIP_FT232H ||
	       (chip > FTDI_CHIP_FTX && chip <= FTDI_CHIP_FT4232HA);
}

/* Single-channel legacy chips take wIndex 0; the others name the channel. */
static bool chip_has_channel(unsigned chip)
{
	return chip == FTDI_CHIP_FT2232C || chip == FTDI_CHIP_FTX || chip_is_h(chip);
}

static bool chip_has_latency_timer(unsigned chip)
{
	return chip != FTDI_CHIP_SIO && chip != FTDI_CHIP_FT232A;
}

uint16_t ftdi_channel(const struct serial_function *f)
{
	return chip_has_channel(FTDI_CHIP_TYPE(f->chip)) ? (uint16_t)(f->port + 1) : 0;
}

static uint32_t div_round(uint32_t num, uint32_t den)
{
	return (num + den / 2) / den;
}

/* SIO: ten fixed rates, each a code. */
static int divisor_sio(uint32_t baud, uint32_t *div)
{
	static const uint32_t rates[] = {300,  600,   1200,  2400,  4800,
	                                 9600, 19200, 38400, 57600, 115200};
	for (uint32_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		if (rates[k] == baud) {
			*div = k;
			return 0;
		}
	}
	return -EINVAL;
}

/* FT232A: the divisor in eighths, rounded to what the AM can express
 * (0, 1/8, 1/4, 1/2; x.7/8 rounds up). */
static int divisor_am(uint32_t baud, uint32_t *div, uint32_t *eighths)
{
	uint32_t d3 = div_round(CLOCK_3MHZ_X8, baud);
	if ((d3 & 7) == 7)
		d3++;
	uint32_t d = d3 >> 3, frac = d3 & 7;
	if (d > DIV_INT_MAX)
		return -EINVAL;
	if (frac == 1) {
		*div = d | 0xc000; /* + 0.125 */
		*eighths = d * 8 + 1;
	} else if (frac >= 4) {
		*div = d | 0x4000; /* + 0.5 */
		*eighths = d * 8 + 4;
	} else if (frac != 0) {
		*div = d | 0x8000; /* + 0.25 */
		*eighths = d * 8 + 2;
	} else {
		*div = d == 1 ? 0 : d; /* 0 is the 3 MHz special case */
		*eighths = d * 8;
	}
	return 0;
}

/* BM and later: any eighth, the fraction as a 3-bit code in bits 14..16;
 * divisors 1 and 1.5 have the special codes 0 and 1. */
static int divisor_bm(uint32_t clock_x8, uint32_t baud, uint32_t *div, uint32_t *eighths)
{
	static const uint8_t frac_code[8] = {0, 3, 2, 4, 1, 5, 6, 7};
	uint32_t d3 = div_round(clock_x8, baud);
	if ((d3 >> 3) > DIV_INT_MAX)
		return -EINVAL;
	uint32_t d = (d3 >> 3) | ((uint32_t)frac_code[d3 & 7] << 14);
	if (d == 1)
		d = 0;
	else if (d == 0x4001)
		d = 1;
	*div = d;
	*eighths = d3;
	return 0;
}

int ftdi_divisor(unsigned chip, uint32_t baud, uint32_t *divisor, uint32_t *actual)
{
	uint32_t div = 0, eighths = 0, clock = CLOCK_3MHZ_X8;
	int rc;
	if (!divisor || !actual || baud == 0)
		return -EINVAL;
	chip = FTDI_CHIP_TYPE(chip);
	switch (chip) {
	case FTDI_CHIP_SIO:
		rc = divisor_sio(baud, &div);
		*divisor = div;
		*actual = baud;
		return rc;
	case FTDI_CHIP_FT232A:
		if (baud > MAX_BAUD)
			return -EINVAL;
		rc = divisor_am(baud, &div, &eighths);
		break;
	case FTDI_CHIP_FT232B:
	case FTDI_CHIP_FT2232C:
	case FTDI_CHIP_FT232R:
	case FTDI_CHIP_FTX:
		if (baud > MAX_BAUD)
			return -EINVAL;
		rc = divisor_bm(clock, baud, &div, &eighths);
		break;
	default:
		if (!chip_is_h(chip))
			return -EINVAL;
		if (baud > MAX_BAUD_H)
			return -EINVAL;
		if (baud < H_MIN_BAUD) {
			rc = divisor_bm(clock, baud, &div, &eighths);
			break;
		}
		clock = CLOCK_12MHZ_X8;
		rc = divisor_bm(clock, baud, &div, &eighths);
		div |= DIV_H_CLOCK;
		break;
	}
	if (rc < 0)
		return rc;
	*divisor = div;
	*actual = div_round(clock, eighths);
	return 0;
}

/* ---- the serial driver ---------------------------------------------------- */

static int ftdi_probe(const struct usb_device_desc *dd, const struct usb_config_desc *c,
                      struct serial_function *out, size_t max)
{
	if (!serial_match_id(ftdi_ids, sizeof(ftdi_ids) / sizeof(ftdi_ids[0]), dd))
		return 0;
	unsigned chip = ftdi_chip_from_bcd(dd->bcdDevice);
	if (!chip)
		return -ENODEV; /* as the kernel: "unknown device type" */
	if (chip == FTDI_CHIP_FT232A && dd->iSerialNumber == 0)
		chip |= FTDI_CHIP_UNSURE;
	int n = serial_match_bulk_functions(c, SERIAL_DRV_FTDI, out, max);
	for (int k = 0; k < n && (size_t)k < max; k++) {
		struct serial_function *f = &out[k];
		f->chip = (uint8_t)chip;
		f->port = f->intf; /* channel A is interface 0 */
		/* Some FT232R are programmed with wMaxPacketSize 0; the kernel
		 * uses 64 for them. */
		if (f->bulk_in_mps == 0)
			f->bulk_in_mps = 64;
		if (f->bulk_out_mps == 0)
			f->bulk_out_mps = 64;
	}
	return n;
}

static int ftdi_out(const struct serial_function *f, struct serial_xfers *q, uint8_t req,
                    uint16_t value, uint16_t index_hi)
{
	return serial_xfers_add(q, FTDI_REQTYPE_OUT, req, value,
	                        (uint16_t)(index_hi | ftdi_channel(f)), NULL, 0);
}

static int ftdi_identify(const struct serial_function *f, struct serial_xfers *q)
{
	if (!(f->chip & FTDI_CHIP_UNSURE))
		return 0;
	return serial_xfers_add_ex(q, FTDI_REQTYPE_IN, FTDI_REQ_GET_LATENCY_TIMER, 0,
	                           ftdi_channel(f), NULL, 1, SERIAL_XFER_OPTIONAL, TAG_LATENCY);
}

static int ftdi_absorb(struct serial_function *f, uint8_t tag, const uint8_t *data, size_t len)
{
	if (tag != TAG_LATENCY || !(f->chip & FTDI_CHIP_UNSURE))
		return -EINVAL;
	/* An FT232B with the serial-number bug answers; an FT232A stalls. */
	f->chip = (data && len >= 1) ? FTDI_CHIP_FT232B : FTDI_CHIP_FT232A;
	return 0;
}

static int ftdi_init(struct serial_function *f, struct serial_xfers *q)
{
	int rc = ftdi_out(f, q, FTDI_REQ_RESET, FTDI_RESET_SIO, 0);
	if (rc == 0 && chip_has_latency_timer(FTDI_CHIP_TYPE(f->chip)))
		rc = ftdi_out(f, q, FTDI_REQ_SET_LATENCY_TIMER, FTDI_LATENCY_MS, 0);
	return rc;
}

static int data_word(const struct serial_line *l, uint16_t *word)
{
	uint16_t bits, stop;
	switch (l->data_bits) {
	case 5:
		bits = 0; /* the kernel's CS5 quirk: original chips send 8 */
		break;
	case 7:
	case 8:
		bits = l->data_bits;
		break;
	default:
		return -EINVAL; /* CS6: no FTDI UART has it */
	}
	if (l->parity > SERIAL_PARITY_SPACE || l->stop_bits > SERIAL_STOP_2)
		return -EINVAL;
	/* CSTOPB is two stop bits whatever the word size, as the kernel does */
	stop = l->stop_bits == SERIAL_STOP_1 ? 0 : 2;
	/* enum serial_parity uses the chip's numbering */
	*word = (uint16_t)(bits | (uint16_t)(l->parity << FTDI_DATA_PARITY_SHIFT) |
	                   (uint16_t)(stop << FTDI_DATA_STOP_SHIFT));
	return 0;
}

static int ftdi_set_line(struct serial_function *f, const struct serial_line *l,
                         struct serial_xfers *q, uint32_t *actual_baud)
{
	uint16_t word, flow_value = 0, flow = FTDI_FLOW_NONE;
	uint32_t div, actual;
	int rc = data_word(l, &word);
	if (rc == 0)
		rc = ftdi_divisor(f->chip, l->baud, &div, &actual);
	if (rc < 0)
		return rc;
	uint16_t index_hi = (uint16_t)(div >> 16);
	if (chip_has_channel(FTDI_CHIP_TYPE(f->chip)))
		index_hi = (uint16_t)(index_hi << 8);
	if (l->flow & SERIAL_FLOW_RTSCTS) {
		flow = FTDI_FLOW_RTS_CTS;
	} else if (l->flow & SERIAL_FLOW_IXON) {
		/* the chip stops sending on XOFF; IXOFF alone it cannot do */
		flow = FTDI_FLOW_XON_XOFF;
		flow_value = (uint16_t)(l->xoff << 8 | l->xon);
	}
	rc = ftdi_out(f, q, FTDI_REQ_SET_DATA, word, 0);
	if (rc == 0)
		rc = ftdi_out(f, q, FTDI_REQ_SET_BAUDRATE, (uint16_t)div, index_hi);
	if (rc == 0)
		rc = ftdi_out(f, q, FTDI_REQ_SET_FLOW_CTRL, flow_value, flow);
	if (rc < 0)
		return rc;
	f->priv[PRIV_DATA] = word;
	if (actual_baud)
		*actual_baud = actual;
	return 0;
}

static int ftdi_set_lines(struct serial_function *f, unsigned lines, struct serial_xfers *q)
{
	/* Both levels with both write enables: one request sets the state. */
	uint16_t v = FTDI_MCTRL_DTR_ENABLE | FTDI_MCTRL_RTS_ENABLE |
	             ((lines & SERIAL_DTR) ? FTDI_MCTRL_DTR : 0) |
	             ((lines & SERIAL_RTS) ? FTDI_MCTRL_RTS : 0);
	return ftdi_out(f, q, FTDI_REQ_MODEM_CTRL, v, 0);
}

static int ftdi_set_break(struct serial_function *f, bool on, struct serial_xfers *q)
{
	uint16_t word = (uint16_t)f->priv[PRIV_DATA];
	return ftdi_out(f, q, FTDI_REQ_SET_DATA, on ? (uint16_t)(word | FTDI_DATA_BREAK) : word, 0);
}

static int ftdi_purge(struct serial_function *f, bool rx, bool tx, struct serial_xfers *q)
{
	int rc = 0;
	if (rx)
		rc = ftdi_out(f, q, FTDI_REQ_RESET, FTDI_RESET_PURGE_RX, 0);
	if (rc == 0 && tx)
		rc = ftdi_out(f, q, FTDI_REQ_RESET, FTDI_RESET_PURGE_TX, 0);
	return rc;
}

static uint16_t lines_from_modem_status(uint8_t ms)
{
	return (uint16_t)(((ms & FTDI_MS_CTS) ? SERIAL_CTS : 0) |
	                  ((ms & FTDI_MS_DSR) ? SERIAL_DSR : 0) |
	                  ((ms & FTDI_MS_RI) ? SERIAL_RI : 0) |
	                  ((ms & FTDI_MS_DCD) ? SERIAL_DCD : 0));
}

/* Line errors of a packet with payload (the kernel ignores them in
 * status-only packets, which repeat them); a break only when the last
 * byte is the NUL the break produced. */
static uint16_t events_from_line_status(uint8_t ls, const uint8_t *payload, size_t n)
{
	uint16_t ev = 0;
	if (n == 0)
		return 0;
	if ((ls & FTDI_LS_BI) && payload[n - 1] == 0)
		ev |= SERIAL_EV_BREAK;
	if (ls & FTDI_LS_PE)
		ev |= SERIAL_EV_PARITY;
	else if (ls & FTDI_LS_FE)
		ev |= SERIAL_EV_FRAMING;
	if (ls & FTDI_LS_OE)
		ev |= SERIAL_EV_OVERRUN;
	return ev;
}

static ssize_t ftdi_rx_frame(struct serial_function *f, uint8_t *buf, size_t len,
                             struct serial_status *st)
{
	size_t mps = f->bulk_in_mps ? f->bulk_in_mps : 64;
	size_t out = 0;
	bool any = false;
	if (!buf && len)
		return -EINVAL;
	for (size_t at = 0; at < len; at += mps) {
		size_t n = len - at < mps ? len - at : mps;
		/* A packet shorter than its status bytes can only be the
		 * transfer's last; the kernel drops it, and so do we. */
		if (n < FTDI_STATUS_LEN)
			break;
		uint8_t ms = buf[at], ls = buf[at + 1];
		size_t payload = n - FTDI_STATUS_LEN;
		memmove(buf + out, buf + at + FTDI_STATUS_LEN, payload);
		st->has_lines = true;
		st->lines = lines_from_modem_status(ms);
		st->events |= events_from_line_status(ls, buf + out, payload);
		out += payload;
		any = true;
	}
	if (len && !any)
		return -EPROTO;
	return (ssize_t)out;
}

static bool ftdi_claims(uint16_t vid, uint16_t pid)
{
	const struct usb_device_desc dd = {.idVendor = vid, .idProduct = pid};
	return serial_match_id(ftdi_ids, sizeof(ftdi_ids) / sizeof(ftdi_ids[0]), &dd) != NULL;
}

const struct serial_driver ftdi_driver = {
    .name = "ftdi_sio",
    .probe = ftdi_probe,
    .claims = ftdi_claims,
    .identify = ftdi_identify,
    .absorb = ftdi_absorb,
    .init = ftdi_init,
    .set_line = ftdi_set_line,
    .set_lines = ftdi_set_lines,
    .set_break = ftdi_set_break,
    .purge = ftdi_purge,
    .status_source = SERIAL_STATUS_INBAND,
    .initial_lines = 0,
    .rx_frame = ftdi_rx_frame,
};
