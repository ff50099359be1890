/* SPDX-License-Identifier: MIT */
/* node_files - files beside the nodes (see node_files.h). */
#include "node_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uc_error.h"

#define CUSE_CLASS "/sys/class/cuse"

static gboolean fail(GError **error, const char *what, const char *path)
{
	int e = errno;
	g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM, "%s %s: %s", what, path, g_strerror(e));
	return FALSE;
}

static gboolean write_all(int fd, const char *text, gsize len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, text, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		text += n;
		len -= (gsize)n;
		off += n;
	}
	return TRUE;
}

gboolean node_files_env_create(const char *dir, const char *node, const char *text, int *fd,
                               char **path, GError **error)
{
	if (g_mkdir_with_parents(dir, 0755) < 0)
		return fail(error, "cannot create", dir);
	g_autofree char *p = g_strdup_printf("%s/%s.env", dir, node);
	/* a stale file of an earlier run (or anything else there) goes */
	if (unlink(p) < 0 && errno != ENOENT)
		return fail(error, "cannot remove", p);
	int f = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f < 0)
		return fail(error, "cannot create", p);
	if (!write_all(f, text, strlen(text), 0)) {
		fail(error, "cannot write", p);
		close(f);
		unlink(p);
		return FALSE;
	}
	*fd = f;
	*path = g_steal_pointer(&p);
	return TRUE;
}

gboolean node_files_env_rewrite(int fd, const char *text, GError **error)
{
	/* new text first, then cut: the file is never empty */
	gsize len = strlen(text);
	if (!write_all(fd, text, len, 0) || ftruncate(fd, (off_t)len) < 0)
		return fail(error, "cannot rewrite", "the env file");
	return TRUE;
}

int node_files_uevent_open(const char *node, GError **error)
{
	g_autofree char *p = g_strdup_printf(CUSE_CLASS "/%s/uevent", node);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail(error, "cannot open", p);
	return fd;
}

gboolean node_files_uevent_change(int fd, GError **error)
{
	static const char change[] = "change";
	if (!write_all(fd, change, sizeof(change) - 1, 0))
		return fail(error, "cannot write", "uevent");
	return TRUE;
}

gboolean node_files_node_exists(const char *node)
{
	g_autofree char *p = g_strdup_printf(CUSE_CLASS "/%s", node);
	return g_file_test(p, G_FILE_TEST_EXISTS);
}

gboolean node_files_devnum(const char *node, guint *major, guint *minor, GError **error)
{
	g_autofree char *p = g_strdup_printf(CUSE_CLASS "/%s/dev", node);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(p, &text, NULL, error))
		return FALSE;
	if (sscanf(text, "%u:%u", major, minor) != 2) {
		g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM, "%s: unexpected \"%s\"", p, text);
		return FALSE;
	}
	return TRUE;
}

gboolean node_files_write_atomic(const char *path, const char *text, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	if (g_mkdir_with_parents(dir, 0755) < 0)
		return fail(error, "cannot create", dir);
	GError *e = NULL;
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &e)) {
		g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM, "%s", e->message);
		g_error_free(e);
		return FALSE;
	}
	return TRUE;
}
