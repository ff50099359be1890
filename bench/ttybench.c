/* SPDX-License-Identifier: MIT */
/*
 * ttybench: the measuring client of bench/guest-bench.  The same small program
 * measures every node (ours, the kernel's ttyACM, the do-nothing CUSE node),
 * so the client's own cost is the same for all of them.  It prints figures
 * as one line of KEY=VALUE fields per measurement and asserts nothing about
 * them; it fails (status 1) only when data comes back wrong, late or not at
 * all.
 *
 *   ttybench loop [--timeout S] [--rsize N] BYTES WSIZE DEV...
 *       Loopback (the far end echoes): write BYTES to every DEV in WSIZE
 *       writes from one thread per DEV while another thread per DEV reads the
 *       echo with RSIZE-byte reads (default 65536) and checks it byte-exact.
 *       All DEVs start together.  Prints one "loop-node" line per DEV and a
 *       "loop" line: secs = until the last byte of the last DEV is back,
 *       MBps = BYTES * DEVs / secs / 10^6 (payload once, as each direction
 *       carries it once); reads = the read() calls it took (bytes per read
 *       tell how the node hands its input over).
 *   ttybench readone [--timeout S] [--chunk N] BYTES DEV
 *       One-byte reads: a thread writes BYTES in N-byte writes (4096) while
 *       the main thread reads them back with read(fd, buf, 1).  Bps = bytes
 *       per second read.
 *   ttybench rtt [--mode block|select|poll] [--warmup N] [--out FILE] N DEV
 *       N one-byte round trips (write one byte, wait for its echo): blocking
 *       read(), or select()/poll() for readability then read().  The first
 *       warmup pings (10) are not counted.  Prints median, p90, p99, min and
 *       max in microseconds; FILE gets every sample (us, one a line, in order).
 *   ttybench reqrate [--seconds S] DEV
 *       read(fd, buf, 1) in a loop for S seconds (default 3) on a node that
 *       answers at once (bench/cuse-null): requests per second.
 *
 *   ttybench calib [N]
 *       The cost of the clock and of a syscall here: N clock_gettime(MONOTONIC)
 *       and N getppid() calls (20000), in ns each (under qemu TCG the guest's
 *       clock may be HPET, read with a syscall instead of the vDSO).
 *
 * Every figure line ends with cpu_user_s= and cpu_sys_s=, the client's own CPU
 * time (all its threads) for the whole command.
 * Ttys are opened O_RDWR | O_NOCTTY, put in raw mode (VMIN 1, VTIME 0) and
 * flushed; reqrate leaves the termios alone (the null node has none).
 * Times are CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_PERIOD 65521u     /* prime: a shifted stream never matches */
#define MAX_WSIZE      (1u << 20) /* largest write (and read) size */

static uint8_t *pattern; /* PATTERN_PERIOD + MAX_WSIZE bytes, periodic */
static atomic_ullong progress;
static const char *progress_what = "";

/* CPU seconds of this process (all threads), user and system. */
static void cpu_used(double *user, double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* " cpu_user_s=U cpu_sys_s=S": the client's own cost, printed on every figure line. */
static const char *cpu_fields(void)
{
	static char buf[64];
	double u, s;
	cpu_used(&u, &s);
	snprintf(buf, sizeof(buf), " cpu_user_s=%.3f cpu_sys_s=%.3f", u, s);
	return buf;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ttybench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void on_alarm(int sig)
{
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "ttybench: timed out (%s: %llu done)\n", progress_what,
	                 (unsigned long long)atomic_load(&progress));
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(3);
	_exit(3);
}

/* The whole command must finish within secs; else it fails with status 3. */
static void watchdog(unsigned int secs)
{
	signal(SIGALRM, on_alarm);
	alarm(secs);
}

static void make_pattern(void)
{
	pattern = malloc(PATTERN_PERIOD + MAX_WSIZE);
	if (!pattern)
		die("%s", "out of memory");
	uint32_t x = 2463534242u; /* xorshift32 */
	for (size_t i = 0; i < PATTERN_PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (uint8_t)(x >> 11);
	}
	for (size_t i = PATTERN_PERIOD; i < PATTERN_PERIOD + MAX_WSIZE; i++)
		pattern[i] = pattern[i - PATTERN_PERIOD];
}

/* The stream bytes at offset off, n <= MAX_WSIZE of them. */
static const uint8_t *pattern_at(uint64_t off)
{
	return pattern + off % PATTERN_PERIOD;
}

static int open_tty(const char *dev, int raw)
{
	int fd = open(dev, O_RDWR | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "ttybench: cannot open %s: %s\n", dev, strerror(errno));
		exit(1);
	}
	if (!raw)
		return fd;
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		die("tcgetattr %s failed", dev);
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		die("tcsetattr %s failed", dev);
	/* Leftovers of an earlier, failed measurement must not count. */
	tcflush(fd, TCIOFLUSH);
	usleep(100000);
	tcflush(fd, TCIOFLUSH);
	return fd;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "ttybench: write: %s\n", w < 0 ? strerror(errno) : "0");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

static unsigned long parse_num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > (1ull << 40))
		die("bad %s", what);
	return (unsigned long)v;
}

/* One "--name VALUE" option of a command: a number (parse_num; zero_ok lets
 * 0 through) or, when str is set, a string.  Tables end with {NULL}. */
struct opt {
	const char *name;
	unsigned long *num;
	const char **str;
	bool zero_ok;
};

/* The options before the operands; returns the index of the first operand. */
static int parse_opts(int argc, char **argv, const struct opt *opts)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i += 2) {
		const struct opt *o = opts;
		while (o->name && strcmp(o->name, argv[i]))
			o++;
		if (!o->name)
			die("unknown option %s", argv[i]);
		if (i + 1 >= argc)
			die("%s needs a value", argv[i]);
		if (o->str)
			*o->str = argv[i + 1];
		else if (o->zero_ok && !strcmp(argv[i + 1], "0"))
			*o->num = 0;
		else
			*o->num = parse_num(argv[i + 1], o->name);
	}
	return i;
}

/* ---- loop ------------------------------------------------------------------ */

typedef struct {
	const char *dev;
	int fd;
	uint64_t bytes;
	size_t wsize, rsize;
	pthread_barrier_t *start;
	double t0, t_done;
	uint64_t reads; /* read() calls that returned data */
	int failed;
} Loop;

static void *loop_writer(void *arg)
{
	Loop *l = arg;
	pthread_barrier_wait(l->start);
	for (uint64_t off = 0; off < l->bytes;) {
		size_t n = l->bytes - off < l->wsize ? (size_t)(l->bytes - off) : l->wsize;
		write_all(l->fd, pattern_at(off), n);
		off += n;
	}
	return NULL;
}

static void *loop_reader(void *arg)
{
	Loop *l = arg;
	uint8_t *buf = malloc(l->rsize);
	if (!buf)
		die("%s", "out of memory");
	pthread_barrier_wait(l->start);
	l->t0 = now_s();
	for (uint64_t off = 0; off < l->bytes;) {
		size_t want = l->bytes - off < l->rsize ? (size_t)(l->bytes - off) : l->rsize;
		ssize_t r = read(l->fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "ttybench: read %s: %s\n", l->dev,
			        r < 0 ? strerror(errno) : "end of file");
			l->failed = 1;
			break;
		}
		if (memcmp(buf, pattern_at(off), (size_t)r) != 0) {
			fprintf(stderr, "ttybench: %s: wrong data near byte %llu\n", l->dev,
			        (unsigned long long)off);
			l->failed = 1;
			break;
		}
		off += (uint64_t)r;
		l->reads++;
		atomic_fetch_add(&progress, (unsigned long long)r);
	}
	l->t_done = now_s();
	free(buf);
	return NULL;
}

static int cmd_loop(int argc, char **argv)
{
	unsigned long timeout = 600, rsize = 65536;
	const struct opt opts[] = {{"--timeout", &timeout}, {"--rsize", &rsize}, {NULL}};
	int i = parse_opts(argc, argv, opts);
	if (argc - i < 3)
		die("%s", "usage: ttybench loop [--timeout S] [--rsize N] BYTES WSIZE DEV...");
	uint64_t bytes = parse_num(argv[i], "BYTES");
	size_t wsize = parse_num(argv[i + 1], "WSIZE");
	if (wsize > MAX_WSIZE || rsize > MAX_WSIZE)
		die("%s", "WSIZE and --rsize are at most 1 MiB");
	int n = argc - i - 2;
	char **devs = argv + i + 2;

	Loop *l = calloc((size_t)n, sizeof(*l));
	pthread_t *th = calloc((size_t)n * 2, sizeof(*th));
	pthread_barrier_t start;
	if (!l || !th)
		die("%s", "out of memory");
	pthread_barrier_init(&start, NULL, (unsigned)(2 * n + 1));
	for (int k = 0; k < n; k++) {
		l[k] = (Loop){.dev = devs[k],
		              .fd = open_tty(devs[k], 1),
		              .bytes = bytes,
		              .wsize = wsize,
		              .rsize = rsize,
		              .start = &start};
	}
	progress_what = "bytes looped back";
	watchdog((unsigned)timeout);
	for (int k = 0; k < n; k++) {
		if (pthread_create(&th[2 * k], NULL, loop_reader, &l[k]) ||
		    pthread_create(&th[2 * k + 1], NULL, loop_writer, &l[k]))
			die("%s", "cannot start threads");
	}
	pthread_barrier_wait(&start);
	double t0 = now_s();
	int failed = 0;
	double t_end = t0;
	for (int k = 0; k < n; k++) {
		pthread_join(th[2 * k], NULL);
		if (l[k].failed) {
			failed = 1;
			/* the writer may be blocked for good: do not wait for it */
			continue;
		}
		pthread_join(th[2 * k + 1], NULL);
		if (l[k].t_done > t_end)
			t_end = l[k].t_done;
	}
	if (failed)
		return 1;
	alarm(0);
	for (int k = 0; k < n; k++) {
		double s = l[k].t_done - l[k].t0;
		printf("loop-node dev=%s bytes=%llu wsize=%zu secs=%.4f MBps=%.4f reads=%llu\n",
		       l[k].dev, (unsigned long long)bytes, wsize, s, (double)bytes / s / 1e6,
		       (unsigned long long)l[k].reads);
		close(l[k].fd);
	}
	double secs = t_end - t0;
	printf("loop nodes=%d bytes=%llu wsize=%zu secs=%.4f MBps=%.4f%s\n", n,
	       (unsigned long long)bytes, wsize, secs, (double)bytes * n / secs / 1e6,
	       cpu_fields());
	free(l);
	free(th);
	return 0;
}

/* ---- readone --------------------------------------------------------------- */

typedef struct {
	int fd;
	uint64_t bytes;
	size_t chunk;
} Feeder;

static void *feeder(void *arg)
{
	Feeder *f = arg;
	for (uint64_t off = 0; off < f->bytes;) {
		size_t n = f->bytes - off < f->chunk ? (size_t)(f->bytes - off) : f->chunk;
		write_all(f->fd, pattern_at(off), n);
		off += n;
	}
	return NULL;
}

static int cmd_readone(int argc, char **argv)
{
	unsigned long timeout = 600, chunk = 4096;
	const struct opt opts[] = {{"--timeout", &timeout}, {"--chunk", &chunk}, {NULL}};
	int i = parse_opts(argc, argv, opts);
	if (argc - i != 2)
		die("%s", "usage: ttybench readone [--timeout S] [--chunk N] BYTES DEV");
	if (chunk > MAX_WSIZE)
		die("%s", "--chunk is at most 1 MiB");
	uint64_t bytes = parse_num(argv[i], "BYTES");
	const char *dev = argv[i + 1];
	int fd = open_tty(dev, 1);
	Feeder f = {.fd = fd, .bytes = bytes, .chunk = chunk};
	pthread_t th;
	progress_what = "bytes read one by one";
	watchdog((unsigned)timeout);
	double t0 = now_s();
	if (pthread_create(&th, NULL, feeder, &f))
		die("%s", "cannot start a thread");
	for (uint64_t off = 0; off < bytes;) {
		uint8_t b;
		ssize_t r = read(fd, &b, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1)
			die("read(1) on %s failed", dev);
		if (b != *pattern_at(off))
			die("%s: wrong data", dev);
		off++;
		atomic_fetch_add(&progress, 1);
	}
	double secs = now_s() - t0;
	pthread_join(th, NULL);
	alarm(0);
	printf("readone dev=%s bytes=%llu secs=%.4f Bps=%.1f%s\n", dev, (unsigned long long)bytes,
	       secs, (double)bytes / secs, cpu_fields());
	close(fd);
	return 0;
}

/* ---- rtt ------------------------------------------------------------------- */

enum wait_mode { WAIT_BLOCK, WAIT_SELECT, WAIT_POLL };

static void wait_readable(int fd, enum wait_mode m)
{
	if (m == WAIT_SELECT) {
		fd_set rfds;
		int r;
		do {
			FD_ZERO(&rfds);
			FD_SET(fd, &rfds);
			struct timeval tv = {.tv_sec = 10};
			r = select(fd + 1, &rfds, NULL, NULL, &tv);
		} while (r < 0 && errno == EINTR);
		if (r != 1)
			die("%s", r == 0 ? "select: no echo within 10 s" : "select failed");
	} else if (m == WAIT_POLL) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r;
		do {
			r = poll(&p, 1, 10000);
		} while (r < 0 && errno == EINTR);
		if (r != 1 || !(p.revents & POLLIN))
			die("%s", r == 0 ? "poll: no echo within 10 s" : "poll failed");
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile of n sorted samples (nearest rank). */
static double quantile(const double *s, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return s[k - 1];
}

static int cmd_rtt(int argc, char **argv)
{
	enum wait_mode mode = WAIT_BLOCK;
	const char *mode_name = "block", *out = NULL;
	unsigned long warmup = 10;
	const struct opt opts[] = {{"--mode", NULL, &mode_name},
	                           {"--warmup", &warmup, NULL, true},
	                           {"--out", NULL, &out},
	                           {NULL}};
	int i = parse_opts(argc, argv, opts);
	if (!strcmp(mode_name, "block"))
		mode = WAIT_BLOCK;
	else if (!strcmp(mode_name, "select"))
		mode = WAIT_SELECT;
	else if (!strcmp(mode_name, "poll"))
		mode = WAIT_POLL;
	else
		die("unknown mode %s (block, select, poll)", mode_name);
	if (argc - i != 2)
		die("%s",
		    "usage: ttybench rtt [--mode block|select|poll] [--warmup N] [--out FILE] "
		    "N DEV");
	size_t n = parse_num(argv[i], "N");
	const char *dev = argv[i + 1];
	int fd = open_tty(dev, 1);
	double *us = malloc(n * sizeof(*us));
	double *sorted = malloc(n * sizeof(*sorted));
	if (!us || !sorted)
		die("%s", "out of memory");
	progress_what = "pings";
	signal(SIGALRM, on_alarm);
	for (size_t k = 0; k < n + warmup; k++) {
		uint8_t b = (uint8_t)(k * 37 + 11), got;
		alarm(10);
		double t0 = now_s();
		write_all(fd, &b, 1);
		wait_readable(fd, mode);
		ssize_t r;
		do {
			r = read(fd, &got, 1);
		} while (r < 0 && errno == EINTR);
		double t1 = now_s();
		if (r != 1)
			die("read of the echo on %s failed", dev);
		if (got != b)
			die("%s: the echo is not the byte sent", dev);
		if (k >= warmup)
			us[k - warmup] = (t1 - t0) * 1e6;
		atomic_fetch_add(&progress, 1);
	}
	alarm(0);
	close(fd);
	if (out) {
		FILE *f = fopen(out, "w");
		if (!f)
			die("cannot write %s", out);
		for (size_t k = 0; k < n; k++)
			fprintf(f, "%.1f\n", us[k]);
		fclose(f);
	}
	memcpy(sorted, us, n * sizeof(*us));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	printf("rtt dev=%s mode=%s n=%zu median_us=%.1f p90_us=%.1f p99_us=%.1f min_us=%.1f "
	       "max_us=%.1f%s\n",
	       dev, mode_name, n, quantile(sorted, n, 0.5), quantile(sorted, n, 0.9),
	       quantile(sorted, n, 0.99), sorted[0], sorted[n - 1], cpu_fields());
	free(us);
	free(sorted);
	return 0;
}

/* ---- reqrate --------------------------------------------------------------- */

static int cmd_reqrate(int argc, char **argv)
{
	unsigned long seconds = 3;
	const struct opt opts[] = {{"--seconds", &seconds}, {NULL}};
	int i = parse_opts(argc, argv, opts);
	if (argc - i != 1)
		die("%s", "usage: ttybench reqrate [--seconds S] DEV");
	const char *dev = argv[i];
	int fd = open_tty(dev, 0);
	progress_what = "one-byte reads";
	watchdog((unsigned)seconds + 60);
	uint64_t reqs = 0;
	double t0 = now_s(), t;
	do {
		/* check the clock every 64 requests: the clock costs too */
		for (int k = 0; k < 64; k++) {
			uint8_t b;
			if (read(fd, &b, 1) != 1)
				die("read(1) on %s failed", dev);
		}
		reqs += 64;
		t = now_s();
	} while (t - t0 < (double)seconds);
	alarm(0);
	close(fd);
	printf("reqrate dev=%s requests=%llu secs=%.4f rps=%.1f%s\n", dev, (unsigned long long)reqs,
	       t - t0, (double)reqs / (t - t0), cpu_fields());
	return 0;
}

/* ---- calib ---------------------------------------------------------------- */

static int cmd_calib(int argc, char **argv)
{
	const unsigned long n = argc >= 2 ? parse_num(argv[1], "N") : 20000;
	struct timespec ts;
	double t0 = now_s();
	for (unsigned long k = 0; k < n; k++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	double t1 = now_s();
	for (unsigned long k = 0; k < n; k++)
		syscall(SYS_getppid);
	double t2 = now_s();
	printf("calib n=%lu clock_gettime_ns=%.0f syscall_ns=%.0f%s\n", n, (t1 - t0) / n * 1e9,
	       (t2 - t1) / n * 1e9, cpu_fields());
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"loop", cmd_loop},       {"readone", cmd_readone}, {"rtt", cmd_rtt},
	    {"reqrate", cmd_reqrate}, {"calib", cmd_calib},
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	make_pattern();
	for (size_t k = 0; argc >= 2 && k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[1], cmds[k].name))
			return cmds[k].fn(argc - 1, argv + 1);
	fprintf(stderr,
	        "usage: ttybench loop|readone|rtt|reqrate|calib ... (see the comment at the "
	        "top of bench/ttybench.c)\n");
	return 2;
}
