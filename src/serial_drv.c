/* SPDX-License-Identifier: MIT */
/*
 * serial_drv - the driver table and the transfer-list helpers (level 0).
 */
#include "serial_drv.h"

#include <errno.h>
#include <string.h>

#include "cdc_acm.h"
#include "ch341.h"
#include "cp210x.h"
#include "ftdi.h"
#include "pl2303.h"

int serial_xfers_add_ex(struct serial_xfers *q, uint8_t type, uint8_t request, uint16_t value,
                        uint16_t index, const void *data, uint16_t len, uint8_t flags, uint8_t tag)
{
	bool in = (type & USB_DIR_IN) != 0;
	if (!q || (!in && len > SERIAL_XFER_DATA_MAX) || (!in && len && !data))
		return -EINVAL;
	if (q->n >= SERIAL_XFERS_MAX)
		return -ENOSPC;
	struct serial_xfer *x = &q->x[q->n];
	memset(x, 0, sizeof(*x));
	x->setup.bmRequestType = type;
	x->setup.bRequest = request;
	x->setup.wValue = value;
	x->setup.wIndex = index;
	x->setup.wLength = len;
	if (!in && len)
		memcpy(x->data, data, len);
	x->flags = flags;
	x->tag = in ? tag : 0;
	q->n++;
	return 0;
}

int serial_xfers_add(struct serial_xfers *q, uint8_t type, uint8_t request, uint16_t value,
                     uint16_t index, const void *data, uint16_t len)
{
	return serial_xfers_add_ex(q, type, request, value, index, data, len, 0, 0);
}

/* Vendor drivers register here as they are written; NULL = not built. */
static const struct serial_driver *const drivers[SERIAL_DRV_COUNT] = {
    [SERIAL_DRV_CDC_ACM] = &cdc_acm_driver, /* class driver, tried last */
    [SERIAL_DRV_FTDI] = &ftdi_driver,       /* ftdi_sio */
    [SERIAL_DRV_CP210X] = &cp210x_driver,   /* cp210x */
    [SERIAL_DRV_CH341] = &ch341_driver,     /* ch341 */
    [SERIAL_DRV_PL2303] = &pl2303_driver,   /* pl2303 */
};

const struct serial_driver *serial_drv_get(unsigned id)
{
	return id < SERIAL_DRV_COUNT ? drivers[id] : NULL;
}

const char *serial_drv_name(unsigned id)
{
	const struct serial_driver *d = serial_drv_get(id);
	return d ? d->name : "?";
}

int serial_drv_match_ids(uint16_t vid, uint16_t pid)
{
	for (unsigned id = 0; id < SERIAL_DRV_COUNT; id++)
		if (drivers[id] && drivers[id]->claims && drivers[id]->claims(vid, pid))
			return (int)id;
	return -ENOENT;
}

int serial_drv_probe(const struct usb_device_desc *dd, const struct usb_config_desc *c,
                     struct serial_function *out, size_t max)
{
	if (!dd || !c || (!out && max))
		return -EINVAL;
	/* A vendor driver claims the whole device (as the kernel's VID:PID
	 * match does); only an unclaimed device is offered to cdc_acm. */
	for (unsigned id = 0; id < SERIAL_DRV_COUNT; id++) {
		const struct serial_driver *d = drivers[id];
		if (!d || id == SERIAL_DRV_CDC_ACM)
			continue;
		int n = d->probe(dd, c, out, max);
		if (n != 0)
			return n;
	}
	return cdc_acm_driver.probe(dd, c, out, max);
}
