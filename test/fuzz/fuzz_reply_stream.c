/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the client's frame staging (usbip_proto_stage_reply,
 * what usbip_conn runs on every byte a server sends in URB mode).
 *
 * Input: a table of outstanding requests, then a chunking seed, then a whole
 * reply byte stream.
 *   byte 0           n: requests (n % 24)
 *   n x 6 bytes      seqnum (u16 BE), flags (bit0 IN, bit1 CMD_UNLINK entry),
 *                    pad, requested length (u16 BE)
 *   1 byte           chunk seed
 *   rest             the stream
 * The stream is staged twice, as one buffer and fed in chunks of 1..64 bytes
 * (as TCP may deliver it); both must yield the same frames and the same end
 * (waiting for more, or a fatal error at the same offset).  Every frame is
 * checked against the table: size, payload within what was asked, the
 * status mapped to 0 or -1..-511.  Answered requests leave the table, as in
 * usbip_conn.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usbip_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define MAX_REQ    24
#define MAX_FRAMES 4096

struct req {
	uint32_t seqnum;
	int in, unlink, live;
	size_t len;
};

struct table {
	struct req r[MAX_REQ];
	size_t n;
};

static int lookup(uint32_t seqnum, uint32_t command, enum usbip_dir *dir, size_t *req_len,
                  void *user)
{
	struct table *t = user;
	for (size_t i = 0; i < t->n; i++) {
		struct req *r = &t->r[i];
		if (!r->live || r->seqnum != seqnum)
			continue;
		if ((command == USBIP_RET_UNLINK) != (r->unlink != 0))
			return -ENOENT;
		*dir = r->in ? USBIP_DIR_IN : USBIP_DIR_OUT;
		*req_len = r->len;
		return 0;
	}
	return -ENOENT;
}

static struct req *find(struct table *t, uint32_t seqnum)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->r[i].live && t->r[i].seqnum == seqnum)
			return &t->r[i];
	return NULL;
}

struct outcome {
	size_t frames[MAX_FRAMES];
	size_t nframes;
	size_t consumed; /* stream bytes in whole frames */
	ssize_t end;     /* 0: waiting for more; < 0: the fatal error */
};

/* Stage whatever whole frames buf[0..len) holds; updates the table and the
 * outcome; returns bytes consumed, or sets o->end on a fatal error. */
static size_t stage(struct table *t, const uint8_t *buf, size_t len, struct outcome *o)
{
	size_t off = 0;
	while (o->end == 0) {
		struct usbip_urb_hdr h;
		size_t need = 0;
		ssize_t rc = usbip_proto_stage_reply(buf + off, len - off, lookup, t, &h, &need);
		if (rc == 0) {
			CHECK(need > len - off);
			CHECK(need >= USBIP_URB_HDR_SIZE);
			CHECK(need <= USBIP_URB_HDR_SIZE + 65535u);
			break;
		}
		if (rc < 0) {
			CHECK(rc == -EBADMSG || rc == -ENOENT || rc == -EOVERFLOW);
			o->end = rc;
			break;
		}
		CHECK((size_t)rc >= USBIP_URB_HDR_SIZE && (size_t)rc <= len - off);
		struct req *r = find(t, h.seqnum);
		CHECK(r);
		if (h.command == USBIP_RET_SUBMIT) {
			size_t payload = (size_t)rc - USBIP_URB_HDR_SIZE;
			CHECK(!r->unlink);
			CHECK(payload <= r->len);
			CHECK(r->in || payload == 0);
			CHECK(h.u.ret_submit.actual_length >= 0);
			int e = usbip_proto_urb_status_errno(h.u.ret_submit.status);
			CHECK(e == 0 || (e < 0 && e > -512));
		} else {
			CHECK(r->unlink && (size_t)rc == USBIP_URB_HDR_SIZE);
		}
		r->live = 0;
		if (o->nframes < MAX_FRAMES)
			o->frames[o->nframes++] = (size_t)rc;
		off += (size_t)rc;
		o->consumed += (size_t)rc;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct table t0 = {0};
	if (size < 2)
		return 0;
	size_t n = data[0] % MAX_REQ, pos = 1;
	for (size_t i = 0; i < n && pos + 6 <= size; i++, pos += 6) {
		struct req *r = &t0.r[t0.n++];
		r->seqnum = (uint32_t)(data[pos] << 8 | data[pos + 1]);
		r->in = data[pos + 2] & 1;
		r->unlink = (data[pos + 2] >> 1) & 1;
		r->len = (size_t)(data[pos + 4] << 8 | data[pos + 5]);
		r->live = 1;
	}
	if (pos >= size)
		return 0;
	uint32_t seed = data[pos++];
	const uint8_t *stream = data + pos;
	size_t slen = size - pos;

	/* one buffer */
	struct table t1 = t0;
	static struct outcome whole, chunked;
	memset(&whole, 0, sizeof(whole));
	memset(&chunked, 0, sizeof(chunked));
	stage(&t1, stream, slen, &whole);

	/* chunks, staged as usbip_conn does: keep the partial frame, append */
	struct table t2 = t0;
	uint8_t *buf = malloc(slen ? slen : 1);
	CHECK(buf);
	size_t have = 0, fed = 0;
	while (fed < slen && chunked.end == 0) {
		seed = seed * 1103515245u + 12345u;
		size_t chunk = 1 + (seed >> 16) % 64;
		if (chunk > slen - fed)
			chunk = slen - fed;
		memcpy(buf + have, stream + fed, chunk);
		have += chunk;
		fed += chunk;
		size_t used = stage(&t2, buf, have, &chunked);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);

	CHECK(whole.end == chunked.end);
	CHECK(whole.nframes == chunked.nframes);
	CHECK(whole.consumed == chunked.consumed);
	CHECK(memcmp(whole.frames, chunked.frames, whole.nframes * sizeof(size_t)) == 0);
	return 0;
}
