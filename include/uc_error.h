/* SPDX-License-Identifier: MIT */
/*
 * uc_error - the project's GError domain (level 1).
 */
#ifndef UC_ERROR_H
#define UC_ERROR_H

#include <glib.h>

/* Our G_LOG_DOMAINs, for G_MESSAGES_DEBUG under --verbose. */
#define UC_LOG_DOMAINS "usbip-cuse usbip-conn usbip-device serial-port serial-bridge cuse-tty"

#define UC_ERROR (uc_error_quark())
GQuark uc_error_quark(void);

typedef enum {
	UC_ERROR_CONNECT,      /* TCP connect failed */
	UC_ERROR_PROTOCOL,     /* peer broke the USBIP protocol */
	UC_ERROR_DISCONNECTED, /* link closed or reset */
	UC_ERROR_NODEV,        /* server has no such device */
	UC_ERROR_BUSY,         /* device imported by someone else */
	UC_ERROR_IMPORT,       /* import refused for another reason */
	UC_ERROR_TIMEOUT,      /* a request got no answer in time */
	UC_ERROR_USB,          /* a USB transfer failed (stall, ...) */
	UC_ERROR_NOT_SERIAL,   /* the device has no serial port we drive */
	UC_ERROR_SELECTOR,     /* a --device selector is malformed */
	UC_ERROR_CUSE,         /* /dev/cuse missing or refused */
	UC_ERROR_USAGE,        /* bad command line or configuration file (exit status 2) */
	UC_ERROR_SYSTEM,       /* a file, user or privilege operation failed */
} UcError;

#endif /* UC_ERROR_H */
