/* SPDX-License-Identifier: MIT */
#include "uc_error.h"

G_DEFINE_QUARK(usbip-cuse-error-quark, uc_error)
