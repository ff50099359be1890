/* SPDX-License-Identifier: MIT */
/* privdrop - dropping root; the keeper that removes files later (see privdrop.h). */
#define G_LOG_DOMAIN "usbip-cuse"

#include "privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uc_error.h"

static gboolean fail_errno(GError **error, const char *what)
{
	int e = errno;
	g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM, "dropping privileges: %s: %s", what,
	            g_strerror(e));
	return FALSE;
}

/* The three capability sets of this process, ORed over both 32-bit words. */
static gboolean caps_empty(GError **error)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return fail_errno(error, "capget");
	for (int i = 0; i < 2; i++) {
		if (data[i].effective || data[i].permitted || data[i].inheritable) {
			g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM,
			            "dropping privileges: capabilities remain (effective %08x%08x)",
			            data[1].effective, data[0].effective);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean privdrop_to(uid_t uid, gid_t gid, GError **error)
{
	/* The bounding set first: dropping from it needs CAP_SETPCAP.  A
	 * manager that already took CAP_SETPCAP away leaves the set as it
	 * is; with no-new-privs and no root nothing in it can be gained. */
	for (int cap = 0;; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in < 0)
			break; /* past the kernel's last capability */
		if (in == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno != EPERM)
				return fail_errno(error, "PR_CAPBSET_DROP");
			g_debug("no CAP_SETPCAP: the capability bounding set stays");
			break;
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail_errno(error, "PR_SET_KEEPCAPS");
	if (setgroups(0, NULL) < 0)
		return fail_errno(error, "setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return fail_errno(error, "setresgid");
	if (setresuid(uid, uid, uid) < 0)
		return fail_errno(error, "setresuid");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail_errno(error, "PR_SET_NO_NEW_PRIVS");
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return fail_errno(error, "getresuid");
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0) {
		g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM,
		            "dropping privileges: ids are %u/%u/%u:%u/%u/%u, wanted %u:%u", r, e, s,
		            rg, eg, sg, uid, gid);
		return FALSE;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* Sanitizer builds only: changing ids made the process non-dumpable,
	 * which stops LeakSanitizer's exit check (it ptraces its own threads)
	 * with a fatal error.  Release builds stay non-dumpable. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	/* root again must be impossible */
	if (setresuid(0, 0, 0) == 0) {
		g_set_error(error, UC_ERROR, UC_ERROR_SYSTEM,
		            "dropping privileges: root came back");
		return FALSE;
	}
	return caps_empty(error);
}

/* The keeper's life after fork(): async-signal-safe calls only. */
static G_GNUC_NORETURN void keeper_main(int rfd, int nullfd, char *const *paths)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2};
	struct sigaction ign = {.sa_handler = SIG_IGN};
	for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++)
		sigaction(sigs[i], &ign, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* nothing of the daemon stays open here: not the CUSE sessions (the
	 * nodes must vanish with the daemon), not the write end of our pipe */
	if (rfd != 3) {
		dup2(rfd, 3);
		rfd = 3;
	}
	dup2(nullfd, 0);
	dup2(nullfd, 1);
	dup2(nullfd, 2);
	/* (a seccomp filter may refuse close_range with any errno) */
	if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
	prctl(PR_SET_NAME, "usbip-cuse-keep", 0, 0, 0);
	char buf[64];
	for (;;) {
		ssize_t n = read(rfd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	for (size_t i = 0; paths[i]; i++)
		unlink(paths[i]);
	_exit(0);
}

gboolean privdrop_keeper_start(PrivdropKeeper *k, const char *const *paths, GError **error)
{
	int p[2];
	k->pid = 0;
	k->fd = -1;
	/* everything the child needs is made before fork() */
	g_auto(GStrv) copy = g_strdupv((char **)paths);
	int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd < 0)
		return fail_errno(error, "/dev/null");
	if (pipe2(p, O_CLOEXEC) < 0) {
		close(nullfd);
		return fail_errno(error, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		close(nullfd);
		return fail_errno(error, "fork");
	}
	if (pid == 0)
		keeper_main(p[0], nullfd, copy);
	close(p[0]);
	close(nullfd);
	k->pid = pid;
	k->fd = p[1];
	return TRUE;
}

void privdrop_keeper_finish(PrivdropKeeper *k, guint timeout_ms)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	if (k->pid <= 0)
		return;
	for (guint waited = 0;; waited += 10) {
		pid_t r = waitpid(k->pid, NULL, WNOHANG);
		if (r == k->pid || (r < 0 && errno != EINTR))
			break;
		if (waited >= timeout_ms) {
			g_warning("the file keeper (pid %d) has not finished", (int)k->pid);
			break;
		}
		g_usleep(10000);
	}
	k->pid = 0;
}
