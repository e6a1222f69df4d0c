/* A buffered writer for exports: a million lines must cost well under a second, so numbers,
 * times and JSON strings are formatted by hand into one large buffer instead of stdio. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export.h"
#include "lib/timefmt.h"

#define WBUF_SIZE (1u << 20)

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

static void drain(struct sh_wbuf *w)
{
	if (w->fd < 0)
		return;
	size_t off = 0;
	while (off < w->len && !w->err) {
		ssize_t r = write(w->fd, w->buf + off, w->len - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			w->err = SH_EIO;
			break;
		}
		off += (size_t)r;
	}
	w->len = 0;
}

int sh_wbuf_flush(struct sh_wbuf *w)
{
	drain(w);
	return w->err;
}

void sh_wbuf_fini(struct sh_wbuf *w)
{
	free(w->buf);
	w->buf = NULL;
	w->cap = w->len = 0;
}

/* Makes room: writes out a file buffer, grows an in-memory one (fd -1). */
static void make_room(struct sh_wbuf *w)
{
	if (w->fd >= 0) {
		drain(w);
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

void sh_wb_put(struct sh_wbuf *w, const char *s, size_t n)
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

void sh_wb_str(struct sh_wbuf *w, const char *s)
{
	sh_wb_put(w, s, strlen(s));
}

void sh_wb_char(struct sh_wbuf *w, char c)
{
	if (w->len == w->cap)
		make_room(w);
	w->buf[w->len++] = c;
	w->bytes++;
}

void sh_wb_u64(struct sh_wbuf *w, uint64_t v)
{
	char b[20];
	size_t n = 0;
	do {
		b[sizeof(b) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
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

void sh_wb_json_str(struct sh_wbuf *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	sh_wb_char(w, '"');
	size_t run = 0; /* bytes that need no escaping, written in one go */
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
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
	sh_wb_put(w, s + n - run, run);
	sh_wb_char(w, '"');
}

void sh_wb_time(struct sh_wbuf *w, int64_t t)
{
	char b[SH_TIME_STRLEN];
	sh_wb_put(w, b, sh_time_format(t, b));
}

void sh_wb_time_ms(struct sh_wbuf *w, int64_t ms)
{
	char b[SH_TIME_STRLEN];
	int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int64_t frac = ms - s * 1000;
	size_t n = sh_time_format(s, b);
	sh_wb_put(w, b, n - 1); /* without the Z */
	char f[5] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
		     (char)('0' + frac % 10), 'Z'};
	sh_wb_put(w, f, 5);
}

void sh_wb_hex(struct sh_wbuf *w, const uint8_t *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		char h[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
		sh_wb_put(w, h, 2);
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
