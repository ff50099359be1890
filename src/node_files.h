/* SPDX-License-Identifier: MIT */
/*
 * node_files - the files the daemon keeps beside its nodes (level 2, POSIX).
 *
 *   /run/usbip-cuse/NODE.env            node_env text for udev (IMPORT{file});
 *                                       kept open read-write, rewritten in
 *                                       place when the device moves
 *   /sys/class/cuse/NODE/uevent         opened once the node exists; writing
 *                                       "change" makes udev run its rules again
 *   /sys/class/cuse/NODE/dev            "MAJOR:MINOR" of the node
 *   the CDI spec                        written whole (temporary file + rename)
 *
 * The descriptors are opened while the daemon is root and keep working
 * after it dropped privileges (permissions are checked at open).
 */
#ifndef NODE_FILES_H
#define NODE_FILES_H

#include <glib.h>

#define NODE_FILES_RUN_DIR "/run/usbip-cuse"

/* Create (mode 0644, replacing a stale one) dir/NODE.env holding text; the
 * open descriptor goes to *fd (close-on-exec), the path to *path. */
gboolean node_files_env_create(const char *dir, const char *node, const char *text, int *fd,
                               char **path, GError **error);
/* Replace the whole content of the file open on fd. */
gboolean node_files_env_rewrite(int fd, const char *text, GError **error);

/* Open /sys/class/cuse/NODE/uevent for writing (-1 and *error on failure). */
int node_files_uevent_open(const char *node, GError **error);
/* Write "change" to it. */
gboolean node_files_uevent_change(int fd, GError **error);

/* Whether a CUSE node of that name exists (/sys/class/cuse/NODE). */
gboolean node_files_node_exists(const char *node);

/* The node's device number from sysfs. */
gboolean node_files_devnum(const char *node, guint *major, guint *minor, GError **error);

/* Write path whole (parent directory created 0755 if missing). */
gboolean node_files_write_atomic(const char *path, const char *text, GError **error);

#endif /* NODE_FILES_H */
