/* SPDX-License-Identifier: MIT */
/*
 * privdrop - giving up root once the nodes exist (level 2, POSIX/Linux).
 *
 * Root is needed to open /dev/cuse (one open file per node, kept), to
 * create files in /run/usbip-cuse and /run/cdi, and to open each node's
 * sysfs uevent file.  After that the daemon runs as an ordinary user: the
 * CUSE sessions, TCP connections, log and notify sockets and the kept file
 * descriptors (env files, uevent) go on working, since permissions are
 * checked when a file is opened.  What root could still do and the daemon
 * then cannot: create another node, or remove files from the root-owned
 * directories.  The second is left to a keeper: a child forked before the
 * drop that keeps root, holds nothing but the read end of a pipe, ignores
 * SIGTERM/SIGINT/SIGHUP, and removes the listed files once the pipe reaches
 * end-of-file, i.e. when the daemon exits, however it exits.
 */
#ifndef PRIVDROP_H
#define PRIVDROP_H

#include <glib.h>
#include <sys/types.h>

/*
 * Become uid:gid for good: every capability is dropped from the bounding
 * set, supplementary groups are cleared, real/effective/saved ids set (so
 * permitted, effective and ambient capabilities go), no-new-privs is set.
 * The result is checked (ids and capability sets read back); any failure
 * is an error and the process should exit.
 */
gboolean privdrop_to(uid_t uid, gid_t gid, GError **error);

typedef struct {
	pid_t pid; /* 0: none */
	int fd;    /* write end of the pipe the keeper waits on */
} PrivdropKeeper;

/* Fork the keeper for the NULL-terminated list of absolute paths. */
gboolean privdrop_keeper_start(PrivdropKeeper *k, const char *const *paths, GError **error);
/* Let the keeper remove the files now and wait for it (at most timeout_ms). */
void privdrop_keeper_finish(PrivdropKeeper *k, guint timeout_ms);

#endif /* PRIVDROP_H */
