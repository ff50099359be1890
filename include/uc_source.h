/* uc_source.h: GLib main-loop helpers for the level-1 modules. */
#pragma once

#include <glib.h>

/*
 * A file-descriptor source whose callback never iterates the main context
 * (no nested loop runs inside it) need not be blocked while it is
 * dispatched.  GLib blocks every other source by taking its descriptors out
 * of the poll set for the dispatch and putting them back after it; each
 * change signals the context's wakeup eventfd, so every dispatch costs two
 * write(2)s, a read(2) and one more poll iteration.  Call before attaching.
 */
static inline void uc_source_no_block(GSource *src)
{
	g_source_set_can_recurse(src, TRUE);
}

/*
 * Now, in microseconds of g_get_monotonic_time(), as the main loop read it
 * for the dispatch that runs.  GLib reads the clock at most once per
 * iteration (in its check after the poll, in its prepare when a source was
 * ready without a poll, or at the first call here) and gives every source
 * dispatched in it the same value, at most the iteration's length old.  A
 * handler that takes the time several times per request then costs no
 * clock read of its own; where the clocksource has no vDSO path (a qemu
 * guest's HPET) each read is a syscall and an emulated device access.
 * Outside a dispatch (or in a destroyed source's last callback) it reads
 * the clock.
 */
static inline gint64 uc_now_us(void)
{
	GSource *src = g_main_current_source();

	if (src && !g_source_is_destroyed(src))
		return g_source_get_time(src);
	return g_get_monotonic_time();
}
