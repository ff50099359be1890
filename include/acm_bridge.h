/* SPDX-License-Identifier: MIT */
/*
 * acm_bridge - joins one tty node (cuse_tty + tty_core) to one ACM function
 * (acm_port): bytes both ways with flow control, termios and modem ioctls
 * turned into CDC requests, SERIAL_STATE into modem lines, link losses into
 * hangups (level 2).
 */
#ifndef ACM_BRIDGE_H
#define ACM_BRIDGE_H

#include <glib.h>

#include "acm_port.h"
#include "cuse_tty.h"
#include "usbip_device.h"

typedef struct _AcmBridge AcmBridge;

/* Create the node tty_cfg->name for function `index` of dev (which must have
 * been started).  port_cfg may be NULL for defaults. */
AcmBridge *acm_bridge_new(UsbipDevice *dev, guint index, const CuseTtyConfig *tty_cfg,
                          const AcmPortConfig *port_cfg, GError **error);
/* Removes the node.  Free every bridge of a device before the device
 * (after usbip_device_shutdown_async() for an orderly stop). */
void acm_bridge_free(AcmBridge *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AcmBridge, acm_bridge_free)

CuseTty *acm_bridge_get_tty(AcmBridge *b);
AcmPort *acm_bridge_get_port(AcmBridge *b);

#endif /* ACM_BRIDGE_H */
