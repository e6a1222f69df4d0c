/* Shared reader for the feed parsers: lines, CSV fields, header lines, clean text, reporting. */
#include "feeds/lines.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sh_lines_init(struct sh_lines *r, const char *buf, size_t len)
{
	if (!buf) {
		buf = "";
		len = 0;
	}
	r->p = buf;
	r->end = buf + len;
	r->no = 0;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		r->p += 3;
}

bool sh_lines_next(struct sh_lines *r, struct sh_line *out)
{
	if (r->p >= r->end)
		return false;
	const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	const char *stop = nl ? nl : r->end;
	out->s = r->p;
	out->n = (size_t)(stop - r->p);
	if (out->n && out->s[out->n - 1] == '\r')
		out->n--;
	out->no = ++r->no;
	r->p = nl ? nl + 1 : r->end;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void sh_span_trim(const char **s, size_t *n)
{
	const char *p = *s, *e = *s + *n;
	while (p < e && is_blank(*p))
		p++;
	while (e > p && is_blank(e[-1]))
		e--;
	*s = p;
	*n = (size_t)(e - p);
}

bool sh_span_eq(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return k == n && memcmp(s, lit, n) == 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool sh_span_ieq(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	if (k != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != lower(lit[i]))
			return false;
	return true;
}

const char *sh_span_find(const char *s, size_t n, const char *lit)
{
	return memmem(s, n, lit, strlen(lit));
}

bool sh_header_value(const char *s, size_t n, const char *key, const char **v, size_t *vn)
{
	const char *p = s, *e = s + n;
	while (p < e && (*p == '#' || *p == '!' || *p == ';' || is_blank(*p)))
		p++;
	size_t k = strlen(key);
	if ((size_t)(e - p) < k || !sh_span_ieq(p, k, key))
		return false;
	p += k;
	while (p < e && is_blank(*p))
		p++;
	if (p == e || *p != ':')
		return false;
	p++;
	while (e > p && (is_blank(e[-1]) || e[-1] == '#'))
		e--;
	while (p < e && is_blank(*p))
		p++;
	*v = p;
	*vn = (size_t)(e - p);
	return true;
}

void sh_csv_init(struct sh_csv *c)
{
	memset(c, 0, sizeof(*c));
}

void sh_csv_fini(struct sh_csv *c)
{
	free(c->scratch);
	c->scratch = NULL;
	c->cap = 0;
}

/* Copies a quoted field's body with "" turned into ". */
static size_t unescape(char *dst, const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		dst[k++] = s[i];
		if (s[i] == '"' && i + 1 < n && s[i + 1] == '"')
			i++;
	}
	return k;
}

int sh_csv_split(struct sh_csv *c, const char *s, size_t n, const char **why)
{
	const char *p = s, *end = s + n;
	size_t used = 0;
	bool scratch_ready = false;
	c->n = 0;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		struct sh_field f;
		if (p < end && *p == '"') {
			const char *start = ++p, *q;
			bool escaped = false;
			for (;;) {
				q = memchr(p, '"', (size_t)(end - p));
				if (!q) {
					*why = "unterminated quoted field";
					return SH_EINVAL;
				}
				if (q + 1 < end && q[1] == '"') {
					escaped = true;
					p = q + 2;
					continue;
				}
				break;
			}
			f.s = start;
			f.n = (size_t)(q - start);
			p = q + 1;
			if (escaped) {
				/* every unescaped field is shorter than the line, so one
				 * line-sized buffer holds them all without moving */
				if (!scratch_ready && c->cap < n) {
					char *nb = realloc(c->scratch, n);
					if (!nb)
						return SH_ENOMEM;
					c->scratch = nb;
					c->cap = n;
				}
				scratch_ready = true;
				size_t k = unescape(c->scratch + used, f.s, f.n);
				f.s = c->scratch + used;
				f.n = k;
				used += k;
			}
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p < end && *p != ',') {
				*why = "text after a closing quote";
				return SH_EINVAL;
			}
		} else {
			const char *q = memchr(p, ',', (size_t)(end - p));
			if (!q)
				q = end;
			f.s = p;
			f.n = (size_t)(q - p);
			while (f.n && (f.s[f.n - 1] == ' ' || f.s[f.n - 1] == '\t'))
				f.n--;
			p = q;
		}
		if (c->n < SH_CSV_MAX_FIELDS)
			c->f[c->n] = f;
		c->n++;
		if (p >= end)
			return 0;
		p++; /* the comma; a trailing one leaves an empty last field */
		if (p == end) {
			if (c->n < SH_CSV_MAX_FIELDS)
				c->f[c->n] = (struct sh_field){p, 0};
			c->n++;
			return 0;
		}
	}
}

size_t sh_utf8_seq(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

bool sh_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = sh_utf8_seq(u + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

void sh_run_init(struct sh_feed_run *r, const struct sh_feed_sink *sink)
{
	r->sink = sink;
	sh_arena_init(&r->arena, 4096);
	r->snapshot_done = false;
	r->why[0] = '\0';
	r->quote[0] = '\0';
}

void sh_run_fini(struct sh_feed_run *r)
{
	sh_arena_fini(&r->arena);
}

/* Reasons end up on a terminal as "file:line: reason"; bytes copied from the input (jansson
 * quotes the text near a syntax error) must not carry control characters there. */
static void format_reason(struct sh_feed_run *r, const char *fmt, va_list ap)
{
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	for (char *p = r->why; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

void sh_run_bad(struct sh_feed_run *r, unsigned long line, const char *fmt, ...)
{
	if (!r->sink->bad_line)
		return;
	va_list ap;
	va_start(ap, fmt);
	format_reason(r, fmt, ap);
	va_end(ap);
	r->sink->bad_line(r->sink->arg, line, r->why);
}

void sh_run_skip(struct sh_feed_run *r, unsigned long line, const char *fmt, ...)
{
	if (!r->sink->skipped)
		return;
	va_list ap;
	va_start(ap, fmt);
	format_reason(r, fmt, ap);
	va_end(ap);
	r->sink->skipped(r->sink->arg, line, r->why);
}

void sh_run_snapshot(struct sh_feed_run *r, int64_t t)
{
	if (r->snapshot_done)
		return;
	r->snapshot_done = true;
	if (r->sink->snapshot_time)
		r->sink->snapshot_time(r->sink->arg, t);
}

void sh_run_header_time(struct sh_feed_run *r, unsigned long line, const char *v, size_t n)
{
	int64_t t;
	/* URLhaus writes "2026-08-18 16:17:08 (UTC)" */
	if (n >= 5 && memcmp(v + n - 5, "(UTC)", 5) == 0) {
		n -= 5;
		sh_span_trim(&v, &n);
	}
	if (sh_time_parse(v, n, &t) == 0)
		sh_run_snapshot(r, t);
	else
		sh_run_bad(r, line, "unreadable snapshot time %s", sh_run_quote(r, v, n));
}

void sh_run_scan_header(struct sh_feed_run *r, const char *buf, size_t len, const char *marks,
			const char *const keys[], size_t nkeys)
{
	struct sh_lines lr;
	struct sh_line ln;
	size_t best = nkeys;
	struct sh_line best_line = {NULL, 0, 0};
	const char *best_v = NULL;
	size_t best_n = 0;
	sh_lines_init(&lr, buf, len);
	while (best > 0 && sh_lines_next(&lr, &ln)) {
		const char *s = ln.s;
		size_t n = ln.n;
		sh_span_trim(&s, &n);
		if (n == 0)
			continue;
		if (s[0] == '\0' || !strchr(marks, s[0]))
			break;
		for (size_t i = 0; i < best; i++) {
			const char *v;
			size_t vn;
			if (sh_header_value(s, n, keys[i], &v, &vn)) {
				best = i;
				best_line = ln;
				best_v = v;
				best_n = vn;
				break;
			}
		}
	}
	if (best_v)
		sh_run_header_time(r, best_line.no, best_v, best_n);
}

const char *sh_run_quote(struct sh_feed_run *r, const char *s, size_t n)
{
	const size_t max = sizeof(r->quote) - 6; /* quotes, "..." and NUL */
	size_t k = 0;
	r->quote[k++] = '"';
	for (size_t i = 0; i < n && i < max; i++)
		r->quote[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	r->quote[k++] = '"';
	if (n > max) {
		memcpy(r->quote + k, "...", 3);
		k += 3;
	}
	r->quote[k] = '\0';
	return r->quote;
}

/* "an IP or CIDR", "a domain or URL", ... for the types allowed. */
static const char *allow_desc(unsigned allow)
{
	static const char *const desc[SH_ALLOW_ANY + 1] = {
		[SH_ALLOW_IP] = "an IP address",
		[SH_ALLOW_NET] = "an IP or CIDR",
		[SH_ALLOW_DOMAIN] = "a domain",
		[SH_ALLOW_URL] = "a URL",
		[SH_ALLOW_DOMAIN | SH_ALLOW_IP] = "a domain or IP address",
		[SH_ALLOW_DOMAIN | SH_ALLOW_URL] = "a domain or URL",
		[SH_ALLOW_IP | SH_ALLOW_DOMAIN | SH_ALLOW_URL] = "an IP, domain or URL",
	};
	const char *d = allow <= SH_ALLOW_ANY ? desc[allow] : NULL;
	return d ? d : "an IP, CIDR, domain or URL";
}

/* sh_indicator_parse reads a bare address as a URL host would (WHATWG: "2130706433",
 * "0x7f.1", "1.2.3" are IPv4 there), which suits URLs but would turn a stray number in a list
 * into an address; a bare IP or CIDR in a feed must be in the standard text form. */
static bool strict_net(const char *s, size_t n)
{
	struct sh_prefix p;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	return sh_prefix_parse(s, n, false, &p) == 0;
}

/* "1.2.3.4/33": an address, '/' and digits only. sh_indicator_parse reads it as a URL with
 * the path "/33", but in a feed it is a prefix with a length out of range. */
static bool looks_like_prefix(const char *s, size_t n)
{
	const char *slash = memrchr(s, '/', n);
	struct sh_ip ip;
	if (!slash || slash + 1 == s + n || sh_ip_parse(s, (size_t)(slash - s), &ip) != 0)
		return false;
	for (const char *p = slash + 1; p < s + n; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

int sh_run_indicator(struct sh_feed_run *r, unsigned long line, const char *what,
		     const char *s, size_t n, unsigned allow)
{
	sh_span_trim(&s, &n);
	if (n == 0) {
		sh_run_bad(r, line, "missing %s", what);
		return SH_EINVAL;
	}
	bool high = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0') {
			sh_run_bad(r, line, "NUL byte in %s", what);
			return SH_EINVAL;
		}
		high |= (unsigned char)s[i] >= 0x80;
	}
	if (high && !sh_utf8_valid(s, n)) {
		sh_run_bad(r, line, "invalid UTF-8 in %s: %s", what, sh_run_quote(r, s, n));
		return SH_EINVAL;
	}
	return sh_run_indicator_clean(r, line, what, s, n, allow);
}

int sh_run_indicator_clean(struct sh_feed_run *r, unsigned long line, const char *what,
			   const char *s, size_t n, unsigned allow)
{
	int rc = sh_indicator_parse(s, n, &r->ind);
	if (rc == SH_ETOOLONG) {
		sh_run_bad(r, line, "%s too long (%zu bytes)", what, n);
		return rc;
	}
	if (rc < 0) {
		sh_run_bad(r, line, "%s is not %s: %s", what, allow_desc(allow),
			   sh_run_quote(r, s, n));
		return rc;
	}
	if (r->ind.type == SH_IND_URL && looks_like_prefix(s, n)) {
		sh_run_bad(r, line, "%s has a bad prefix length: %s", what, sh_run_quote(r, s, n));
		return SH_EINVAL;
	}
	/* text already in canonical form is strict; only other spellings need the check */
	if ((r->ind.type == SH_IND_IP || r->ind.type == SH_IND_CIDR) &&
	    !(n == r->ind.value_len && memcmp(s, r->ind.value, n) == 0) && !strict_net(s, n)) {
		sh_run_bad(r, line, "%s is not %s (only dotted-quad and RFC 4291 text): %s", what,
			   allow_desc(allow & SH_ALLOW_NET ? allow & SH_ALLOW_NET : SH_ALLOW_NET),
			   sh_run_quote(r, s, n));
		return SH_EINVAL;
	}
	if (!(allow & (1u << r->ind.type))) {
		sh_run_bad(r, line, "%s is a %s, expected %s: %s", what,
			   sh_ind_type_name(r->ind.type), allow_desc(allow), sh_run_quote(r, s, n));
		return SH_EINVAL;
	}
	return 0;
}

static bool is_null_word(const char *s, size_t n)
{
	return sh_span_eq(s, n, "None") || sh_span_eq(s, n, "null");
}

int sh_run_time_field(struct sh_feed_run *r, unsigned long line, const char *what,
		      const char *s, size_t n, int64_t *out)
{
	sh_span_trim(&s, &n);
	*out = SH_TIME_NONE;
	if (n == 0 || is_null_word(s, n))
		return 0;
	if (sh_time_parse(s, n, out) == 0)
		return 0;
	*out = SH_TIME_NONE;
	sh_run_bad(r, line, "bad time in %s: %s", what, sh_run_quote(r, s, n));
	return SH_EINVAL;
}

const char *sh_run_text(struct sh_feed_run *r, const char *s, size_t n)
{
	sh_span_trim(&s, &n);
	if (n == 0 || is_null_word(s, n))
		return NULL;
	char *out = sh_arena_alloc(&r->arena, n + 1);
	if (!out)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t len = sh_utf8_seq(u + i, n - i);
		if (len == 0 || (len == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
			out[k++] = '?';
			i++;
			continue;
		}
		memcpy(out + k, s + i, len);
		k += len;
		i += len;
	}
	out[k] = '\0';
	return out;
}

const char *sh_run_join(struct sh_feed_run *r, const char *a, const char *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	size_t na = strlen(a), nb = strlen(b);
	char *out = sh_arena_alloc(&r->arena, na + nb + 2);
	if (!out)
		return a;
	memcpy(out, a, na);
	out[na] = ',';
	memcpy(out + na + 1, b, nb + 1);
	return out;
}

void sh_item_init(struct sh_feed_item *it)
{
	it->ind = NULL;
	it->first_seen = SH_TIME_NONE;
	it->last_online = SH_TIME_NONE;
	it->status = SH_STATUS_UNKNOWN;
	it->threat = NULL;
	it->malware = NULL;
	it->tags = NULL;
	it->ref = NULL;
}

int sh_run_emit(struct sh_feed_run *r, struct sh_feed_item *it, unsigned long line)
{
	it->ind = &r->ind;
	return r->sink->item ? r->sink->item(r->sink->arg, it, line) : 0;
}

void sh_run_record(struct sh_feed_run *r)
{
	sh_arena_reset(&r->arena);
}
