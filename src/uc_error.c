/* SPDX-License-Identifier: MIT */
#include "uc_error.h"

GQuark uc_error_quark(void)
{
	return g_quark_from_static_string("usbip-cuse-error-quark");
}
