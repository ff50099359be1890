/* SPDX-License-Identifier: MIT */
/*
 * cdi_spec - the daemon's nodes as a Container Device Interface spec
 * (level 2, GLib strings only).
 *
 * CDI (github.com/cncf-tags/container-device-interface, SPEC.md) is the
 * JSON file podman, containerd, CRI-O and Kubernetes read from /etc/cdi and
 * /run/cdi to add devices to a container by a qualified name such as
 * "usbip-cuse.io/serial=ttyUSBIP0".  Required by the spec's JSON schema:
 * cdiVersion and kind at the top, a devices array, each device with a name
 * and containerEdits; each containerEdits.deviceNodes entry with a path.
 * We write version 0.3.0 (the first tagged one: every field used here
 * exists there, and every CDI library accepts it), kind CDI_SPEC_KIND, one
 * device per node named like the node, with its device node (path, type c,
 * major, minor, cgroup permissions rw).  Node names are validated by
 * daemon_opts (letters, digits, '.', '_', '-', a letter first), which the
 * CDI device-name rule accepts; strings are JSON-escaped anyway.
 */
#ifndef CDI_SPEC_H
#define CDI_SPEC_H

#include <glib.h>

#define CDI_SPEC_VERSION "0.3.0"
#define CDI_SPEC_KIND    "usbip-cuse.io/serial"

typedef struct {
	const char *name; /* node name, e.g. "ttyUSBIP0": the CDI device name */
	guint major, minor;
} CdiSpecNode;

/* The spec text (JSON, ends with a newline); free with g_free(). */
char *cdi_spec_render(const CdiSpecNode *nodes, gsize n);

#endif /* CDI_SPEC_H */
