/* SPDX-License-Identifier: MIT */
/*
 * serial_match - VID:PID tables and bulk-pair interfaces (level 0).
 */
#include "serial_match.h"

#include <string.h>

const struct serial_match_id *serial_match_id(const struct serial_match_id *table, size_t n,
                                              const struct usb_device_desc *dd)
{
	if (!table || !dd)
		return NULL;
	for (size_t k = 0; k < n; k++)
		if (table[k].vid == dd->idVendor && table[k].pid == dd->idProduct)
			return &table[k];
	return NULL;
}

bool serial_match_endpoints(const struct usb_interface_desc *i, struct serial_function *f)
{
	bool in = false, out = false;
	f->intf = i->bInterfaceNumber;
	f->data_intf = i->bInterfaceNumber;
	f->data_alt = 0;
	f->has_notify = false;
	unsigned n =
	    i->num_endpoints < USB_DESC_MAX_ENDPOINTS ? i->num_endpoints : USB_DESC_MAX_ENDPOINTS;
	for (unsigned k = 0; k < n; k++) {
		const struct usb_endpoint_desc *ep = &i->ep[k];
		bool dir_in = (ep->bEndpointAddress & USB_EP_DIR_IN) != 0;
		enum usb_ep_type type = usb_desc_ep_type(ep);
		uint16_t mps = usb_desc_ep_max_packet(ep);
		if (type == USB_EP_BULK && dir_in && !in) {
			f->bulk_in_ep = ep->bEndpointAddress;
			f->bulk_in_mps = mps;
			in = true;
		} else if (type == USB_EP_BULK && !dir_in && !out) {
			f->bulk_out_ep = ep->bEndpointAddress;
			f->bulk_out_mps = mps;
			out = true;
		} else if (type == USB_EP_INTERRUPT && dir_in && !f->has_notify) {
			f->notify_ep = ep->bEndpointAddress;
			f->notify_mps = mps;
			f->notify_interval = ep->bInterval;
			f->has_notify = true;
		}
	}
	return in && out;
}

int serial_match_bulk_functions(const struct usb_config_desc *c, uint8_t drv,
                                struct serial_function *out, size_t max)
{
	int n = 0;
	unsigned ni = c->num_interfaces < USB_DESC_MAX_INTERFACES ? c->num_interfaces
	                                                          : USB_DESC_MAX_INTERFACES;
	for (unsigned k = 0; k < ni; k++) {
		const struct usb_interface_desc *i = &c->intf[k];
		struct serial_function f;
		if (i->bAlternateSetting != 0)
			continue;
		memset(&f, 0, sizeof(f));
		f.driver = drv;
		if (!serial_match_endpoints(i, &f))
			continue;
		if ((size_t)n < max)
			out[n] = f;
		n++;
	}
	return n;
}
