/* SPDX-License-Identifier: MIT */
/*
 * cp210x - Silicon Labs CP210x USB UARTs (level 0).  Facts from Linux 6.1
 * cp210x and Silicon Labs AN571 / AN205; the kernel wins where they differ.
 */
#include "cp210x.h"

#include <errno.h>
#include <string.h>

#include "byteorder.h"
#include "serial_match.h"

/* Silicon Labs' own product IDs (the kernel also lists a few hundred
 * products built on these parts, not repeated here). */
static const struct serial_match_id cp210x_ids[] = {
    {0x10c4, 0xea60, 0}, /* CP2102/CP2102N/CP2104/CP2109 factory default */
    {0x10c4, 0xea61, 0}, /* factory default */
    {0x10c4, 0xea63, 0}, /* Windows Update (CP2101-4/CP2102N) */
    {0x10c4, 0xea70, 0}, /* CP2105 factory default */
    {0x10c4, 0xea71, 0}, /* CP2108 factory default */
    {0x10c4, 0xea7a, 0}, /* Windows Update (CP2105) */
    {0x10c4, 0xea7b, 0}, /* Windows Update (CP2108) */
};

/* priv[0] flags; priv[1..4] the flow block shadow. */
#define PRIV_FLAGS       0
#define PRIV_FLOW        1
#define F_HAVE_PARTNUM   0x0001u /* round 1 answered (part number, flow block) */
#define F_HAVE_FLOW      0x0002u
#define F_HAVE_FW        0x0004u /* round 2 answered (CP2102N firmware) */
#define F_FLOW_VALID     0x0008u /* the shadow holds what GET_FLOW returned */
#define F_NO_FLOW        0x0010u /* CP2102N_E104: no flow control */
#define F_DTR            0x0020u /* output levels last set (SET_FLOW carries them) */
#define F_RTS            0x0040u
#define F_CRTSCTS        0x0080u /* hardware flow control on */
#define F_ROUND_PROGRESS (F_HAVE_PARTNUM | F_HAVE_FLOW | F_HAVE_FW)

enum { TAG_PARTNUM = 1, TAG_FLOW, TAG_FW };

/* ---- baud rates ------------------------------------------------------------ */

/* AN205 table 1: each rate is used for requests up to `high`. */
static const struct {
	uint32_t rate, high;
} an205[] = {
    {300, 300},       {600, 600},       {1200, 1200},     {1800, 1800},         {2400, 2400},
    {4000, 4000},     {4800, 4803},     {7200, 7207},     {9600, 9612},         {14400, 14428},
    {16000, 16062},   {19200, 19250},   {28800, 28912},   {38400, 38601},       {51200, 51558},
    {56000, 56280},   {57600, 58053},   {64000, 64111},   {76800, 77608},       {115200, 117028},
    {128000, 129347}, {153600, 156868}, {230400, 237832}, {250000, 254234},     {256000, 273066},
    {460800, 491520}, {500000, 567138}, {576000, 670254}, {921600, UINT32_MAX},
};

static uint32_t an205_rate(uint32_t baud)
{
	size_t k = 0;
	while (k + 1 < sizeof(an205) / sizeof(an205[0]) && baud > an205[k].high)
		k++;
	return an205[k].rate;
}

static uint32_t actual_rate(uint32_t baud)
{
	uint32_t prescale = baud <= 365 ? 4 : 1;
	uint32_t den = 2 * prescale * baud;
	uint32_t div = (48000000u + den / 2) / den;
	return 48000000u / (2 * prescale * div);
}

static bool is_cp2102n(unsigned part)
{
	return part == CP210X_PART_CP2102N_QFN28 || part == CP210X_PART_CP2102N_QFN24 ||
	       part == CP210X_PART_CP2102N_QFN20;
}

uint32_t cp210x_baud(unsigned part, uint8_t intf, uint32_t baud)
{
	uint32_t min = 300, max = 2000000;
	bool actual = false;
	switch (part) {
	case CP210X_PART_CP2101:
		max = 921600;
		break;
	case CP210X_PART_CP2102:
	case CP210X_PART_CP2103:
		max = 1000000;
		break;
	case CP210X_PART_CP2104:
		actual = true;
		break;
	case CP210X_PART_CP2105:
		if (intf == 0) {
			actual = true; /* ECI */
		} else {
			min = 2400; /* SCI */
			max = 921600;
		}
		break;
	default:
		if (is_cp2102n(part)) {
			actual = true;
			max = 3000000;
		}
		break; /* CP2108 and unknown parts: 300 .. 2000000 */
	}
	baud = baud < min ? min : baud > max ? max : baud;
	if (actual)
		return actual_rate(baud);
	return baud < 1000000 ? an205_rate(baud) : baud;
}

/* ---- flow block ------------------------------------------------------------- */

void cp210x_flow_encode(const struct cp210x_flow *fl, uint8_t out[CP210X_FLOW_SIZE])
{
	put_le32(out, fl->control_handshake);
	put_le32(out + 4, fl->flow_replace);
	put_le32(out + 8, fl->xon_limit);
	put_le32(out + 12, fl->xoff_limit);
}

void cp210x_flow_decode(struct cp210x_flow *fl, const uint8_t in[CP210X_FLOW_SIZE])
{
	fl->control_handshake = get_le32(in);
	fl->flow_replace = get_le32(in + 4);
	fl->xon_limit = get_le32(in + 8);
	fl->xoff_limit = get_le32(in + 12);
}

static void shadow_get(const struct serial_function *f, struct cp210x_flow *fl)
{
	fl->control_handshake = f->priv[PRIV_FLOW];
	fl->flow_replace = f->priv[PRIV_FLOW + 1];
	fl->xon_limit = f->priv[PRIV_FLOW + 2];
	fl->xoff_limit = f->priv[PRIV_FLOW + 3];
}

static void shadow_set(struct serial_function *f, const struct cp210x_flow *fl)
{
	f->priv[PRIV_FLOW] = fl->control_handshake;
	f->priv[PRIV_FLOW + 1] = fl->flow_replace;
	f->priv[PRIV_FLOW + 2] = fl->xon_limit;
	f->priv[PRIV_FLOW + 3] = fl->xoff_limit;
}

/* The kernel's changes to the block: DTR and RTS as last set, RTS under
 * hardware control with CRTSCTS, no DSR/DCD handshakes, the XON/XOFF
 * automatics per IXON and IXOFF (with its limits for IXOFF). */
static void flow_apply(struct cp210x_flow *fl, uint32_t flags, uint8_t flow)
{
	uint32_t ch = fl->control_handshake, fr = fl->flow_replace;
	ch &= ~(CP210X_CH_DSR_HANDSHAKE | CP210X_CH_DCD_HANDSHAKE | CP210X_CH_DSR_SENSITIVITY |
	        CP210X_CH_DTR_MASK);
	if (flags & F_DTR)
		ch |= CP210X_CH_DTR_ACTIVE;
	fr &= ~CP210X_FR_RTS_MASK;
	if (flow & SERIAL_FLOW_RTSCTS) {
		ch |= CP210X_CH_CTS_HANDSHAKE;
		if (flags & F_RTS)
			fr |= CP210X_FR_RTS_FLOW_CTL;
	} else {
		ch &= ~CP210X_CH_CTS_HANDSHAKE;
		if (flags & F_RTS)
			fr |= CP210X_FR_RTS_ACTIVE;
	}
	if (flow & SERIAL_FLOW_IXOFF) {
		fr |= CP210X_FR_AUTO_RECEIVE;
		fl->xon_limit = CP210X_XON_XOFF_LIMIT;
		fl->xoff_limit = CP210X_XON_XOFF_LIMIT;
	} else {
		fr &= ~CP210X_FR_AUTO_RECEIVE;
	}
	if (flow & SERIAL_FLOW_IXON)
		fr |= CP210X_FR_AUTO_TRANSMIT;
	else
		fr &= ~CP210X_FR_AUTO_TRANSMIT;
	fl->control_handshake = ch;
	fl->flow_replace = fr;
}

/* ---- the serial driver ---------------------------------------------------- */

static int cp210x_probe(const struct usb_device_desc *dd, const struct usb_config_desc *c,
                        struct serial_function *out, size_t max)
{
	if (!serial_match_id(cp210x_ids, sizeof(cp210x_ids) / sizeof(cp210x_ids[0]), dd))
		return 0;
	return serial_match_bulk_functions(c, SERIAL_DRV_CP210X, out, max);
}

static int ifc_out(const struct serial_function *f, struct serial_xfers *q, uint8_t req,
                   uint16_t value, const void *data, uint16_t len)
{
	return serial_xfers_add(q, CP210X_REQTYPE_IFC_OUT, req, value, f->intf, data, len);
}

static int cp210x_identify(const struct serial_function *f, struct serial_xfers *q)
{
	uint32_t flags = f->priv[PRIV_FLAGS];
	int rc;
	if (!(flags & F_HAVE_PARTNUM) || !(flags & F_HAVE_FLOW)) {
		/* A part that cannot tell its number is driven as "unknown". */
		rc = serial_xfers_add_ex(q, CP210X_REQTYPE_DEV_IN, CP210X_VENDOR_SPECIFIC,
		                         CP210X_GET_PARTNUM, f->intf, NULL, 1, SERIAL_XFER_OPTIONAL,
		                         TAG_PARTNUM);
		if (rc == 0)
			rc = ifc_out(f, q, CP210X_IFC_ENABLE, 1, NULL, 0);
		if (rc == 0)
			rc = serial_xfers_add_ex(q, CP210X_REQTYPE_IFC_IN, CP210X_GET_FLOW, 0,
			                         f->intf, NULL, CP210X_FLOW_SIZE,
			                         SERIAL_XFER_OPTIONAL, TAG_FLOW);
		return rc;
	}
	if (is_cp2102n(f->chip) && !(flags & F_HAVE_FW))
		return serial_xfers_add_ex(q, CP210X_REQTYPE_DEV_IN, CP210X_VENDOR_SPECIFIC,
		                           CP210X_GET_FW_VER_2N, f->intf, NULL, 3,
		                           SERIAL_XFER_OPTIONAL, TAG_FW);
	return 0;
}

static int cp210x_absorb(struct serial_function *f, uint8_t tag, const uint8_t *data, size_t len)
{
	uint32_t *flags = &f->priv[PRIV_FLAGS];
	struct cp210x_flow fl;
	switch (tag) {
	case TAG_PARTNUM:
		f->chip = (data && len >= 1 && data[0] != 0xff) ? data[0] : 0;
		*flags |= F_HAVE_PARTNUM;
		return 0;
	case TAG_FLOW:
		*flags |= F_HAVE_FLOW;
		*flags &= ~F_FLOW_VALID;
		if (!data || len < CP210X_FLOW_SIZE)
			return 0; /* the kernel then leaves flow control alone */
		cp210x_flow_decode(&fl, data);
		shadow_set(f, &fl);
		*flags |= F_FLOW_VALID;
		return 0;
	case TAG_FW:
		*flags |= F_HAVE_FW;
		*flags &= ~F_NO_FLOW;
		/* firmware up to 1.0.4 reads ulXonLimit as ulFlowReplace */
		if (data && len >= 3 &&
		    ((uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 | data[2]) <= 0x010004)
			*flags |= F_NO_FLOW;
		return 0;
	default:
		return -EINVAL;
	}
}

static int cp210x_init(struct serial_function *f, struct serial_xfers *q)
{
	(void)q; /* the interface was enabled in identify, before GET_FLOW */
	f->priv[PRIV_FLAGS] &= ~F_ROUND_PROGRESS;
	return 0;
}

static int line_ctl(unsigned part, struct serial_line *l, uint16_t *ctl)
{
	static const uint8_t parity_code[] = {
	    [SERIAL_PARITY_NONE] = 0, [SERIAL_PARITY_ODD] = 1,   [SERIAL_PARITY_EVEN] = 2,
	    [SERIAL_PARITY_MARK] = 3, [SERIAL_PARITY_SPACE] = 4,
	};
	unsigned bits = l->data_bits, parity = l->parity, stop = l->stop_bits;
	if (bits < 5 || bits > 8 || parity > SERIAL_PARITY_SPACE || stop > SERIAL_STOP_2)
		return -EINVAL;
	/* CP2101 only supports CS8, one stop bit and no stick parity; the
	 * kernel runs it so and says so in the termios. */
	if (part == CP210X_PART_CP2101) {
		bits = 8;
		stop = SERIAL_STOP_1;
		if (parity == SERIAL_PARITY_MARK)
			parity = SERIAL_PARITY_ODD;
		else if (parity == SERIAL_PARITY_SPACE)
			parity = SERIAL_PARITY_EVEN;
		l->data_bits = (uint8_t)bits;
		l->stop_bits = (uint8_t)stop;
		l->parity = (uint8_t)parity;
	}
	/* CSTOPB is two stop bits, as the kernel sends it */
	*ctl = (uint16_t)(bits << 8 | parity_code[parity] << 4 | (stop == SERIAL_STOP_1 ? 0 : 2));
	return 0;
}

static int cp210x_set_line(struct serial_function *f, struct serial_line *l, struct serial_xfers *q,
                           uint32_t *actual_baud)
{
	uint32_t *flags = &f->priv[PRIV_FLAGS];
	uint8_t rate[4], chars[6] = {0};
	uint16_t ctl;
	uint8_t flow = l->flow;
	int rc = line_ctl(f->chip, l, &ctl);
	if (rc < 0 || l->baud == 0)
		return rc < 0 ? rc : -EINVAL;
	uint32_t baud = cp210x_baud(f->chip, f->intf, l->baud);
	if (*flags & F_NO_FLOW)
		flow = 0;
	put_le32(rate, baud);
	rc = ifc_out(f, q, CP210X_SET_BAUDRATE, 0, rate, sizeof(rate));
	if (rc == 0)
		rc = ifc_out(f, q, CP210X_SET_LINE_CTL, ctl, NULL, 0);
	if (rc == 0 && (flow & (SERIAL_FLOW_IXON | SERIAL_FLOW_IXOFF))) {
		chars[4] = l->xon;
		chars[5] = l->xoff;
		rc = ifc_out(f, q, CP210X_SET_CHARS, 0, chars, sizeof(chars));
	}
	if (rc == 0 && (*flags & F_FLOW_VALID)) {
		struct cp210x_flow fl;
		uint8_t block[CP210X_FLOW_SIZE];
		shadow_get(f, &fl);
		flow_apply(&fl, *flags, flow);
		cp210x_flow_encode(&fl, block);
		rc = ifc_out(f, q, CP210X_SET_FLOW, 0, block, sizeof(block));
		if (rc == 0) {
			shadow_set(f, &fl);
			*flags = (flow & SERIAL_FLOW_RTSCTS) ? (*flags | F_CRTSCTS)
			                                     : (*flags & ~F_CRTSCTS);
		}
	}
	if (rc < 0)
		return rc;
	/* cp210x_change_speed reports the rate it sent (tty_encode_baud_rate);
	 * a part without flow control has it cleared from the termios */
	l->baud = baud;
	if (*flags & F_NO_FLOW)
		l->flow &= (uint8_t) ~(SERIAL_FLOW_RTSCTS | SERIAL_FLOW_IXON | SERIAL_FLOW_IXOFF);
	if (actual_baud)
		*actual_baud = baud;
	return 0;
}

static int cp210x_set_lines(struct serial_function *f, unsigned lines, struct serial_xfers *q)
{
	uint32_t *flags = &f->priv[PRIV_FLAGS];
	uint32_t want = ((lines & SERIAL_DTR) ? F_DTR : 0) | ((lines & SERIAL_RTS) ? F_RTS : 0);
	int rc;
	if ((*flags & F_CRTSCTS) && (*flags & F_FLOW_VALID)) {
		/* RTS belongs to the flow control: set both through SET_FLOW */
		struct cp210x_flow fl;
		uint8_t block[CP210X_FLOW_SIZE];
		shadow_get(f, &fl);
		fl.control_handshake &= ~CP210X_CH_DTR_MASK;
		if (want & F_DTR)
			fl.control_handshake |= CP210X_CH_DTR_ACTIVE;
		fl.flow_replace &= ~CP210X_FR_RTS_MASK;
		if (want & F_RTS)
			fl.flow_replace |= CP210X_FR_RTS_FLOW_CTL;
		cp210x_flow_encode(&fl, block);
		rc = ifc_out(f, q, CP210X_SET_FLOW, 0, block, sizeof(block));
		if (rc == 0)
			shadow_set(f, &fl);
	} else {
		uint16_t v = CP210X_MHS_WRITE_DTR | CP210X_MHS_WRITE_RTS |
		             ((want & F_DTR) ? CP210X_MHS_DTR : 0) |
		             ((want & F_RTS) ? CP210X_MHS_RTS : 0);
		rc = ifc_out(f, q, CP210X_SET_MHS, v, NULL, 0);
	}
	if (rc == 0)
		*flags = (*flags & ~(F_DTR | F_RTS)) | want;
	return rc;
}

static int cp210x_set_break(struct serial_function *f, bool on, struct serial_xfers *q)
{
	return ifc_out(f, q, CP210X_SET_BREAK, on ? 1 : 0, NULL, 0);
}

static int cp210x_purge(struct serial_function *f, bool rx, bool tx, struct serial_xfers *q)
{
	uint16_t v = (uint16_t)((rx ? CP210X_PURGE_RX : 0) | (tx ? CP210X_PURGE_TX : 0));
	if (!v)
		return 0;
	return ifc_out(f, q, CP210X_PURGE, v, NULL, 0);
}

/* Last close: clear both queues, as the kernel's cp210x_close does (a CP2108
 * occasionally hangs otherwise).  The interface stays enabled: the line and
 * the lines the daemon keeps set are the chip's while nobody listens. */
static int cp210x_set_active(struct serial_function *f, bool active, struct serial_xfers *q)
{
	return active ? 0 : cp210x_purge(f, true, true, q);
}

static int cp210x_status_decode(const struct serial_function *f, enum serial_status_origin origin,
                                const uint8_t *buf, size_t len, struct serial_status *st)
{
	(void)f;
	if (origin != SERIAL_ORIGIN_POLL)
		return -EINVAL;
	if (!buf || len < 1)
		return -EMSGSIZE;
	uint8_t s = buf[0];
	st->has_lines = true;
	st->lines = (uint16_t)(((s & CP210X_MHS_CTS) ? SERIAL_CTS : 0) |
	                       ((s & CP210X_MHS_DSR) ? SERIAL_DSR : 0) |
	                       ((s & CP210X_MHS_RI) ? SERIAL_RI : 0) |
	                       ((s & CP210X_MHS_DCD) ? SERIAL_DCD : 0));
	st->events = 0;
	return 0;
}

static int cp210x_status_poll(const struct serial_function *f, struct serial_xfer *x,
                              unsigned *interval_ms)
{
	memset(x, 0, sizeof(*x));
	x->setup.bmRequestType = CP210X_REQTYPE_IFC_IN;
	x->setup.bRequest = CP210X_GET_MDMSTS;
	x->setup.wIndex = f->intf;
	x->setup.wLength = 1;
	*interval_ms = CP210X_POLL_MS;
	return 0;
}

static bool cp210x_claims(uint16_t vid, uint16_t pid)
{
	const struct usb_device_desc dd = {.idVendor = vid, .idProduct = pid};
	return serial_match_id(cp210x_ids, sizeof(cp210x_ids) / sizeof(cp210x_ids[0]), &dd) != NULL;
}

const struct serial_driver cp210x_driver = {
    .name = "cp210x",
    .probe = cp210x_probe,
    .claims = cp210x_claims,
    .identify = cp210x_identify,
    .absorb = cp210x_absorb,
    .init = cp210x_init,
    .set_line = cp210x_set_line,
    .set_lines = cp210x_set_lines,
    .line_on_change_only = true,
    .set_break = cp210x_set_break,
    .purge = cp210x_purge,
    .set_active = cp210x_set_active,
    .status_source = SERIAL_STATUS_POLL,
    .initial_lines = 0,
    .status_decode = cp210x_status_decode,
    .status_poll = cp210x_status_poll,
};
