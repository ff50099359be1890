/* SPDX-License-Identifier: MIT */
/*
 * stream-check - a self-locating byte stream for loopbacks across faults.
 *
 *   stream-check gen BYTES            write the stream to stdout
 *   stream-check verify BYTES FILE    check FILE against the first BYTES of it
 *
 * The stream is the sequence of 64-bit little-endian words 0, 1, 2, ... cut
 * at BYTES: any 16 bytes of it say where they come from.  verify accepts
 * FILE only if it is the stream with bytes left out (a link loss drops
 * bytes; it must never duplicate, reorder or invent any): it walks FILE
 * against the stream and, where they differ, relocates by the next 16 bytes,
 * which must come from later in the stream.  A tail of fewer than 16 bytes
 * after a gap cannot be located and is reported, not judged.  Prints one line
 * "received R of S bytes, lost L in G gaps, unlocated tail T" and exits 0, or
 * says what is wrong and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t stream_byte(uint64_t pos)
{
	uint64_t word = pos / 8;
	return (uint8_t)(word >> (8 * (pos % 8)));
}

static int gen(uint64_t n)
{
	static uint8_t buf[65536];
	for (uint64_t pos = 0; pos < n;) {
		size_t k = 0;
		while (k < sizeof(buf) && pos < n)
			buf[k++] = stream_byte(pos++);
		if (fwrite(buf, 1, k, stdout) != k)
			return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The stream position at which r[0..16) lies, or -1: for each possible
 * offset of r[0] within its word, the first whole word in r names its index. */
static int64_t locate(const uint8_t *r, uint64_t n)
{
	for (unsigned k = 0; k < 8; k++) { /* r[k] starts a word */
		uint64_t w = 0;
		for (unsigned i = 0; i < 8; i++)
			w |= (uint64_t)r[k + i] << (8 * i);
		if (w > (n + 7) / 8 || w * 8 < k)
			continue;
		uint64_t p = w * 8 - k;
		if (p + 16 > n)
			continue;
		int match = 1;
		for (unsigned i = 0; i < 16 && match; i++)
			match = stream_byte(p + i) == r[i];
		if (match)
			return (int64_t)p;
	}
	return -1;
}

static int verify(uint64_t n, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "stream-check: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *r = malloc(len > 0 ? (size_t)len : 1);
	if (!r || fread(r, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "stream-check: cannot read %s\n", path);
		return 1;
	}
	fclose(f);
	uint64_t p = 0, gaps = 0, tail = 0;
	for (uint64_t j = 0; j < (uint64_t)len;) {
		if (p < n && r[j] == stream_byte(p)) {
			j++;
			p++;
			continue;
		}
		if ((uint64_t)len - j < 16) {
			tail = (uint64_t)len - j;
			break;
		}
		int64_t q = locate(r + j, n);
		if (q < 0) {
			fprintf(stderr,
			        "stream-check: byte %" PRIu64 " of %s is not from the stream "
			        "(invented)\n",
			        j, path);
			return 1;
		}
		if ((uint64_t)q < p) {
			fprintf(stderr,
			        "stream-check: byte %" PRIu64 " of %s repeats stream byte %" PRId64
			        " (expected %" PRIu64 " or later: duplicated or reordered)\n",
			        j, path, q, p);
			return 1;
		}
		gaps++;
		p = (uint64_t)q;
	}
	printf("received %ld of %" PRIu64 " bytes, lost %" PRIu64 " in %" PRIu64
	       " gaps, unlocated tail %" PRIu64 "\n",
	       len, n, n - (uint64_t)len, gaps, tail);
	free(r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "gen") == 0)
		return gen(strtoull(argv[2], NULL, 0));
	if (argc >= 4 && strcmp(argv[1], "verify") == 0)
		return verify(strtoull(argv[2], NULL, 0), argv[3]);
	fprintf(stderr, "usage: stream-check gen BYTES | verify BYTES FILE\n");
	return 2;
}
