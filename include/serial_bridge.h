/* SPDX-License-Identifier: MIT */
/*
 * serial_bridge - joins one tty node (cuse_tty + tty_core) to one serial
 * port (serial_port, any driver): bytes both ways with flow control, termios
 * and modem ioctls turned into the driver's requests, the chip's modem
 * status into modem lines, link losses into hangups (level 2).
 */
#ifndef SERIAL_BRIDGE_H
#define SERIAL_BRIDGE_H

#include <glib.h>

#include "cuse_tty.h"
#include "serial_port.h"
#include "usbip_device.h"

typedef struct _SerialBridge SerialBridge;

/* Create the node tty_cfg->name for serial port `index` of dev (which must
 * have been started).  port_cfg may be NULL for defaults. */
SerialBridge *serial_bridge_new(UsbipDevice *dev, guint index, const CuseTtyConfig *tty_cfg,
                                const SerialPortConfig *port_cfg, GError **error);
/* Removes the node.  Free every bridge of a device before the device
 * (after usbip_device_shutdown_async() for an orderly stop). */
void serial_bridge_free(SerialBridge *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SerialBridge, serial_bridge_free)

CuseTty *serial_bridge_get_tty(SerialBridge *b);
SerialPort *serial_bridge_get_port(SerialBridge *b);

#endif /* SERIAL_BRIDGE_H */
