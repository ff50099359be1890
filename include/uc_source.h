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
