/* A buffered writer for exports: a million lines must cost well under a second, so numbers,
 * times and JSON strings are formatted by hand into one large buffer instead of stdio.
 *
 * Files an export creates are written with O_DIRECT where the file system takes it: the data
 * goes from the buffer to the disk without being copied into the page cache, which for the
 * hundreds of MB of a STIX or MISP export cost more CPU than formatting them (and the fsync
 * that follows then has little left to do). Direct writes must be whole aligned blocks, so
 * the last block is written padded and the file cut back to its length. A direct write returns
 * when the disk has the data, so a thread of the writer's own writes one buffer while the
 * export fills the other.
 *
 * Formatting itself runs in two threads where the output allows (sh_export_par, at the end):
 * chunks of the output are formatted ahead of the writer, which copies them in order. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export.h"
#include "lib/timefmt.h"

#define WBUF_SIZE (4u << 20)
/* Direct writes go in larger pieces: with 8 MiB a write a STIX export kept the disk busier
 * (its write phase 0.86 s against 0.97 s with 4 MiB, the median of 7 runs each); 16 MiB was
 * no better. */
#define DIRECT_SIZE (8u << 20)
#define DIRECT_ALIGN 4096u

int sh_wbuf_init(struct sh_wbuf *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = malloc(WBUF_SIZE);
	if (!w->buf)
		return SH_ENOMEM;
	w->cap = WBUF_SIZE;
	return 0;
}

int sh_wbuf_init_direct(struct sh_wbuf *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = aligned_alloc(DIRECT_ALIGN, DIRECT_SIZE);
	if (!w->buf)
		return SH_ENOMEM;
	w->cap = DIRECT_SIZE;
	int fl = fcntl(fd, F_GETFL);
	w->direct = fl >= 0 && lseek(fd, 0, SEEK_CUR) == 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
	return 0;
}

/* Back to writing through the page cache, from the length written so far. */
static void stop_direct(struct sh_wbuf *w, uint64_t written)
{
	int fl = fcntl(w->fd, F_GETFL);
	if (fl >= 0)
		fcntl(w->fd, F_SETFL, fl & ~O_DIRECT);
	if (lseek(w->fd, (off_t)written, SEEK_SET) < 0)
		w->err = w->err ? w->err : SH_EIO;
	w->direct = false;
}

/* Writes buf[0..n); false on failure, with errno. */
static bool write_all(int fd, const char *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t r = write(fd, buf + off, n - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		off += (size_t)r;
	}
	return true;
}

struct sh_wb_async {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	const char *job; /* the buffer being written, NULL when idle */
	size_t job_len;
	char *spare;     /* the buffer not in use */
	bool quit;
	bool buffered;   /* the file system refused O_DIRECT writes: through the page cache */
	int err;         /* first failure */
	uint64_t written;
};

static void *async_main(void *arg)
{
	struct sh_wb_async *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->job && !a->quit)
			pthread_cond_wait(&a->cv, &a->mu);
		if (!a->job)
			break;
		const char *b = a->job;
		size_t n = a->job_len;
		pthread_mutex_unlock(&a->mu);
		int err = 0;
		if (!write_all(a->fd, b, n)) {
			err = SH_EIO;
			if (errno == EINVAL && !a->buffered) {
				int fl = fcntl(a->fd, F_GETFL);
				a->buffered = true;
				if (fl >= 0 && fcntl(a->fd, F_SETFL, fl & ~O_DIRECT) == 0 &&
				    lseek(a->fd, (off_t)a->written, SEEK_SET) >= 0 && write_all(a->fd, b, n))
					err = 0;
			}
		}
		pthread_mutex_lock(&a->mu);
		if (err && !a->err)
			a->err = err;
		a->written += n;
		a->spare = (char *)b;
		a->job = NULL;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Waits until the writer thread is idle; takes over its failure. */
static void async_wait(struct sh_wbuf *w)
{
	struct sh_wb_async *a = w->async;
	pthread_mutex_lock(&a->mu);
	while (a->job)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->err && !w->err)
		w->err = a->err;
	pthread_mutex_unlock(&a->mu);
}

/* Stops the writer thread after its current buffer; the file is left where it wrote it. */
static void async_stop(struct sh_wbuf *w)
{
	struct sh_wb_async *a = w->async;
	if (!a)
		return;
	async_wait(w);
	pthread_mutex_lock(&a->mu);
	a->quit = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->tid, NULL);
	if (a->buffered)
		w->direct = false;
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a->spare);
	free(a);
	w->async = NULL;
}

/* Hands buf[0..n) (whole blocks) to the writer thread, started on first use; false when
 * there is no thread, and the caller writes itself. */
static bool async_write(struct sh_wbuf *w, size_t n)
{
	struct sh_wb_async *a = w->async;
	if (!a) {
		a = calloc(1, sizeof(*a));
		char *spare = a ? aligned_alloc(DIRECT_ALIGN, w->cap) : NULL;
		if (!spare) {
			free(a);
			return false;
		}
		a->fd = w->fd;
		a->spare = spare;
		a->written = w->bytes - w->len;
		pthread_mutex_init(&a->mu, NULL);
		pthread_cond_init(&a->cv, NULL);
		if (pthread_create(&a->tid, NULL, async_main, a) != 0) {
			pthread_mutex_destroy(&a->mu);
			pthread_cond_destroy(&a->cv);
			free(spare);
			free(a);
			return false;
		}
		w->async = a;
	}
	async_wait(w);
	pthread_mutex_lock(&a->mu);
	char *next = a->spare;
	a->spare = NULL;
	a->job = w->buf;
	a->job_len = n;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	/* the thread only reads its buffer: the partial block after n can be copied meanwhile */
	memcpy(next, w->buf + n, w->len - n);
	w->buf = next;
	w->len -= n;
	return true;
}

/* Writes what is buffered; direct writes keep back a partial block unless final. */
static void drain(struct sh_wbuf *w, bool final)
{
	if (w->fd < 0 || w->err) {
		if (w->fd >= 0)
			w->len = 0;
		return;
	}
	if (w->direct && !final) {
		size_t n = w->len & ~(size_t)(DIRECT_ALIGN - 1);
		if (n && async_write(w, n))
			return;
	}
	if (w->async) {
		async_stop(w);
		if (w->err) {
			w->len = 0;
			return;
		}
	}
	uint64_t file_len = w->bytes - w->len; /* what the file holds before this write */
	if (w->direct) {
		size_t n = w->len & ~(size_t)(DIRECT_ALIGN - 1), pad = 0;
		if (final && n < w->len) {
			pad = DIRECT_ALIGN - (w->len - n);
			memset(w->buf + w->len, 0, pad); /* cap is a multiple of the block */
			n = w->len + pad;
		}
		if (write_all(w->fd, w->buf, n)) {
			size_t kept = n < w->len ? w->len - n : 0;
			if (kept)
				memmove(w->buf, w->buf + n, kept);
			w->len = kept;
			if (pad) {
				if (ftruncate(w->fd, (off_t)w->bytes) != 0)
					w->err = SH_EIO;
				stop_direct(w, w->bytes);
			}
			return;
		}
		/* the file system took O_DIRECT at open but not these writes: write normally */
		if (errno != EINVAL) {
			w->err = SH_EIO;
			w->len = 0;
			return;
		}
		stop_direct(w, file_len);
	}
	if (!write_all(w->fd, w->buf, w->len))
		w->err = SH_EIO;
	w->len = 0;
}

int sh_wbuf_flush(struct sh_wbuf *w)
{
	drain(w, true);
	return w->err;
}

void sh_wbuf_fini(struct sh_wbuf *w)
{
	async_stop(w);
	free(w->buf);
	w->buf = NULL;
	w->cap = w->len = 0;
}

/* Makes room: writes out a file buffer, grows an in-memory one (fd -1). */
static void make_room(struct sh_wbuf *w)
{
	if (w->fd >= 0) {
		drain(w, false);
		return;
	}
	size_t cap = w->cap * 2;
	char *b = cap > w->cap ? realloc(w->buf, cap) : NULL;
	if (!b) {
		w->err = w->err ? w->err : SH_ENOMEM;
		w->len = 0; /* keep going without corrupting memory; the error is reported */
		return;
	}
	w->buf = b;
	w->cap = cap;
}

void sh_wb_put_slow(struct sh_wbuf *w, const char *s, size_t n)
{
	w->bytes += n;
	while (n) {
		if (w->len == w->cap)
			make_room(w);
		size_t k = w->cap - w->len < n ? w->cap - w->len : n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
}

void sh_wb_u64(struct sh_wbuf *w, uint64_t v)
{
	/* two digits a division: state files and JSON carry millions of numbers */
	static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
				       "25262728293031323334353637383940414243444546474849"
				       "50515253545556575859606162636465666768697071727374"
				       "75767778798081828384858687888990919293949596979899";
	char b[20];
	size_t n = 0;
	while (v >= 100) {
		memcpy(b + sizeof(b) - 2 - n, pairs + 2 * (v % 100), 2);
		v /= 100;
		n += 2;
	}
	if (v >= 10) {
		memcpy(b + sizeof(b) - 2 - n, pairs + 2 * v, 2);
		n += 2;
	} else {
		b[sizeof(b) - 1 - n++] = (char)('0' + v);
	}
	sh_wb_put(w, b + sizeof(b) - n, n);
}

void sh_wb_i64(struct sh_wbuf *w, int64_t v)
{
	if (v < 0) {
		sh_wb_char(w, '-');
		sh_wb_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		sh_wb_u64(w, (uint64_t)v);
	}
}

void sh_wb_printf(struct sh_wbuf *w, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sh_wb_put(w, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		w->err = w->err ? w->err : SH_ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sh_wb_put(w, big, (size_t)n);
	free(big);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Bytes a JSON string takes as they are: printable ASCII other than '"' and '\\'. */
static const bool json_plain[256] = {
	[' '] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1,
	[')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, ['0'] = 1,
	['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
	['9'] = 1, [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1,
	['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
	['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
	['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1, [0x7f] = 1,
};

void sh_wb_json_str(struct sh_wbuf *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	sh_wb_char(w, '"');
	size_t i = 0, run = 0; /* p[i - run .. i) needs no escaping: written in one go */
	for (;;) {
		/* eight bytes at a time while none is below 0x20, '"', '\\' or non-ASCII */
		while (i + 8 <= n) {
			uint64_t x;
			memcpy(&x, p + i, 8);
			const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
			uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
			if (((x - ones * 0x20) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & high)
				break;
			i += 8;
			run += 8;
		}
		while (json_plain[p[i]])
			i++, run++;
		unsigned char c = p[i];
		if (!c)
			break;
		size_t ul = c >= 0x80 ? utf8_len(p + i, n - i) : 0;
		if (ul) {
			run += ul;
			i += ul;
			continue;
		}
		sh_wb_put(w, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			char e[2] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c};
			sh_wb_put(w, e, 2);
		} else if (c < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			sh_wb_put(w, e, 6);
		} else {
			sh_wb_put(w, "\\ufffd", 6);
		}
		i++;
	}
	sh_wb_put(w, s + i - run, run);
	sh_wb_char(w, '"');
}

/* The text of time t from the writer's small memo (times repeat: one snapshot, one export). */
static const char *memo_time(struct sh_wbuf *w, int64_t t, size_t *len)
{
	for (size_t i = 0; i < sizeof(w->times) / sizeof(w->times[0]); i++) {
		if (w->times[i].len && w->times[i].t == t) {
			*len = w->times[i].len;
			return w->times[i].s;
		}
	}
	size_t k = w->next_time++ % (sizeof(w->times) / sizeof(w->times[0]));
	w->times[k].len = sh_time_format(t, w->times[k].s);
	w->times[k].t = t;
	*len = w->times[k].len;
	return w->times[k].s;
}

void sh_wb_time(struct sh_wbuf *w, int64_t t)
{
	size_t n;
	const char *s = memo_time(w, t, &n);
	sh_wb_put(w, s, n);
}

void sh_wb_time_ms(struct sh_wbuf *w, int64_t ms)
{
	int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int64_t frac = ms - s * 1000;
	size_t n;
	const char *text = memo_time(w, s, &n);
	sh_wb_put(w, text, n - 1); /* without the Z */
	char f[5] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
		     (char)('0' + frac % 10), 'Z'};
	sh_wb_put(w, f, 5);
}

void sh_wb_time_us(struct sh_wbuf *w, int64_t t)
{
	size_t n;
	const char *text = memo_time(w, t, &n);
	sh_wb_put(w, text, n - 1); /* without the Z */
	sh_wb_put(w, ".000000+00:00", 13);
}

void sh_wb_json_times(struct sh_wbuf *w, const struct sh_listing *l)
{
	sh_wb_str(w, "\"first_seen\":\"");
	sh_wb_time(w, l->first_seen);
	sh_wb_str(w, "\",\"last_seen\":\"");
	sh_wb_time(w, l->last_seen);
	sh_wb_str(w, "\",\"expires\":\"");
	sh_wb_time(w, l->expires);
	sh_wb_char(w, '"');
}

void sh_wb_hex(struct sh_wbuf *w, const uint8_t *b, size_t n)
{
	/* 32 digits a put: MISP's hashes.csv has a million MD5s */
	static const char hex[] = "0123456789abcdef";
	char h[32];
	for (size_t i = 0; i < n;) {
		size_t k = 0;
		for (; i < n && k < sizeof(h); i++, k += 2) {
			h[k] = hex[b[i] >> 4];
			h[k + 1] = hex[b[i] & 15];
		}
		sh_wb_put(w, h, k);
	}
}

void sh_wb_ipv4(struct sh_wbuf *w, uint32_t a)
{
	sh_wb_u64(w, a >> 24);
	sh_wb_char(w, '.');
	sh_wb_u64(w, (a >> 16) & 0xff);
	sh_wb_char(w, '.');
	sh_wb_u64(w, (a >> 8) & 0xff);
	sh_wb_char(w, '.');
	sh_wb_u64(w, a & 0xff);
}

/* ---- formatting in parallel ------------------------------------------------------------- */
/* Design: PAR_THREADS workers take chunk numbers in increasing order and format chunk k into
 * slot k % PAR_SLOTS, once the caller is done with chunk k - PAR_SLOTS; the caller takes the
 * chunks in order and copies them to the output. The output is the same as from one thread,
 * at most PAR_SLOTS chunks are in memory, and a worker that runs ahead waits. Without threads
 * (pthread_create failed) the caller formats each chunk itself when it asks for it. The
 * serial step of chunk k (when there is one) runs after that of chunk k - 1 has ended, so the
 * steps run one at a time and in order while the chunks are formatted side by side. */
#define PAR_THREADS 2
#define PAR_SLOTS 8

struct par_slot {
	struct sh_export_chunk c;
	bool ready;
};

struct sh_export_par {
	int (*serial)(void *arg, size_t k);
	int (*fn)(void *arg, size_t k, struct sh_export_chunk *out);
	void *arg;
	size_t n;
	size_t next;  /* the next chunk a worker formats */
	size_t turn;  /* the chunk whose serial step runs next */
	size_t taken; /* chunks the caller is done with */
	bool holding; /* the caller holds chunk `taken` */
	bool stop;    /* a chunk failed, or the caller ended the run */
	int rc;       /* the first failure */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t tid[PAR_THREADS];
	size_t n_threads;
	struct par_slot slot[PAR_SLOTS];
};

/* Chunk k's serial step, once chunk k - 1's is done; called and returns with p->mu held. */
static int par_serial(struct sh_export_par *p, size_t k)
{
	if (!p->serial)
		return 0;
	while (p->turn != k && !p->stop)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->stop)
		return SH_ECANCELED;
	pthread_mutex_unlock(&p->mu);
	int rc = p->serial(p->arg, k);
	pthread_mutex_lock(&p->mu);
	if (rc != 0) { /* before the next step may start */
		p->rc = p->rc ? p->rc : rc;
		p->stop = true;
	}
	p->turn = k + 1;
	pthread_cond_broadcast(&p->cv);
	return rc;
}

static int par_format(struct sh_export_par *p, size_t k, struct par_slot *s)
{
	struct sh_export_chunk *c = &s->c;
	c->text.len = c->text.bytes = c->extra.len = c->extra.bytes = 0;
	c->state.len = c->state.bytes = 0;
	c->stamp = 0;
	int rc = p->fn(p->arg, k, c);
	if (rc == 0)
		rc = c->text.err	? c->text.err
		     : c->extra.err ? c->extra.err
		     : c->state.err ? c->state.err
				    : c->scratch.err;
	return rc;
}

static void *par_main(void *arg)
{
	struct sh_export_par *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next < p->n && p->next >= p->taken + PAR_SLOTS)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop || p->next >= p->n)
			break;
		size_t k = p->next++;
		struct par_slot *s = &p->slot[k % PAR_SLOTS];
		int rc = par_serial(p, k);
		pthread_mutex_unlock(&p->mu);
		if (rc == 0)
			rc = par_format(p, k, s);
		pthread_mutex_lock(&p->mu);
		if (rc != 0) {
			p->rc = p->rc ? p->rc : rc;
			p->stop = true;
		}
		s->ready = true;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Stops the workers and frees p; returns the first failure. */
static int par_free(struct sh_export_par *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->n_threads; i++)
		pthread_join(p->tid[i], NULL);
	int rc = p->rc;
	for (size_t i = 0; i < PAR_SLOTS; i++) {
		sh_wbuf_fini(&p->slot[i].c.text);
		sh_wbuf_fini(&p->slot[i].c.extra);
		sh_wbuf_fini(&p->slot[i].c.state);
		sh_wbuf_fini(&p->slot[i].c.scratch);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	return rc;
}

int sh_export_par_start_serial(size_t n, int (*serial)(void *arg, size_t k),
			       int (*fn)(void *arg, size_t k, struct sh_export_chunk *out), void *arg,
			       struct sh_export_par **out)
{
	struct sh_export_par *p = calloc(1, sizeof(*p));
	if (!p)
		return SH_ENOMEM;
	p->serial = serial;
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (size_t i = 0; i < PAR_SLOTS; i++) {
		struct sh_export_chunk *c = &p->slot[i].c;
		if (sh_wbuf_init(&c->text, -1) != 0 || sh_wbuf_init(&c->extra, -1) != 0 ||
		    sh_wbuf_init(&c->state, -1) != 0 || sh_wbuf_init(&c->scratch, -1) != 0) {
			p->rc = SH_ENOMEM;
			return par_free(p);
		}
	}
	for (size_t i = 0; i < PAR_THREADS && i < n; i++) {
		if (pthread_create(&p->tid[i], NULL, par_main, p) != 0)
			break;
		p->n_threads++;
	}
	*out = p;
	return 0;
}

int sh_export_par_start(size_t n, int (*fn)(void *arg, size_t k, struct sh_export_chunk *out),
			void *arg, struct sh_export_par **out)
{
	return sh_export_par_start_serial(n, NULL, fn, arg, out);
}

struct sh_export_chunk *sh_export_par_next(struct sh_export_par *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->holding) {
		p->slot[p->taken % PAR_SLOTS].ready = false;
		p->taken++;
		p->holding = false;
		pthread_cond_broadcast(&p->cv);
	}
	if (p->stop || p->taken >= p->n) {
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	struct par_slot *s = &p->slot[p->taken % PAR_SLOTS];
	if (p->n_threads == 0) {
		p->rc = par_serial(p, p->taken);
		if (p->rc == 0)
			p->rc = par_format(p, p->taken, s);
		p->stop = p->rc != 0;
		s->ready = true;
	}
	while (!s->ready && !p->stop)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->stop) {
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	p->holding = true;
	pthread_mutex_unlock(&p->mu);
	return &s->c;
}

int sh_export_par_end(struct sh_export_par *p)
{
	return par_free(p);
}
