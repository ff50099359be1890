/* SPDX-License-Identifier: MIT */
/*
 * serial_match - what the vendor serial drivers share when they probe
 * (level 0: pure, no allocation): VID:PID tables and the endpoints of the
 * interfaces that carry a bulk pair.
 *
 * The vendor drivers (ftdi, cp210x, ch341, pl2303) claim a device by its
 * VID:PID, as the kernel's usb-serial drivers do, then make one function
 * of each interface that has a bulk IN and a bulk OUT endpoint.  Descriptor
 * structs are borrowed and never kept.
 */
#ifndef SERIAL_MATCH_H
#define SERIAL_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serial_drv.h"
#include "usb_desc.h"

struct serial_match_id {
	uint16_t vid, pid;
	uint8_t info; /* driver-defined quirk bits of this product */
};

/* The entry of table[0..n) for dd's idVendor:idProduct, or NULL. */
const struct serial_match_id *serial_match_id(const struct serial_match_id *table, size_t n,
                                              const struct usb_device_desc *dd);

/*
 * The first bulk IN, bulk OUT and interrupt IN endpoint of one interface
 * descriptor into f (addresses with the 0x80 IN bit, max packet sizes in
 * bytes; has_notify false without an interrupt IN).  Sets intf and
 * data_intf to the interface number, data_alt 0.  Returns true when both
 * bulk endpoints exist; f's endpoint fields are set either way.
 */
bool serial_match_endpoints(const struct usb_interface_desc *i, struct serial_function *f);

/*
 * One function (driver drv, chip 0, port 0, priv zero) for every interface
 * of c, alternate setting 0, that has a bulk pair, in descriptor order.
 * Writes at most max; returns how many there are.
 */
int serial_match_bulk_functions(const struct usb_config_desc *c, uint8_t drv,
                                struct serial_function *out, size_t max);

#endif /* SERIAL_MATCH_H */
