/* DNSBL zone data: parses rbldnsd data files and compiles them into lookup structures.
 *
 * The syntax follows rbldnsd(8): '$' specials ($SOA, $NS, $TTL, $MAXRANGE4, $TIMESTAMP,
 * $0-$9, $=), ':A:TXT' default lines, per-entry values, '!' exclusions, '#'/';' comments.
 * Loading collects (prefix, value, line) entries, then sorts them and sweeps them into a
 * flat interval map (see data.h); dnset names go into a hash table. Memory used only while
 * loading is freed before the dataset is published. */
#include "dns/data.h"
#include "dns/xfr.h"
#include "lib/arena.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAXLINE 8192

void sh_dns_opts_init(struct sh_dns_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->def_ttl = 35 * 60;
}

static const char *const dstype_names[] = {"ip4set", "ip4trie", "ip6trie", "dnset"};

int sh_dns_dstype_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, dstype_names[i]) == 0)
			return i;
	/* the "trivial" variants take a subset of the same syntax */
	if (strcmp(name, "ip4tset") == 0)
		return SH_DNS_IP4SET;
	if (strcmp(name, "ip6tset") == 0)
		return SH_DNS_IP6TRIE;
	return -1;
}

const char *sh_dns_dstype_name(int type)
{
	return type >= 0 && type < 4 ? dstype_names[type] : "?";
}

int sh_dns_zonespec_parse(const char *arg, struct sh_dns_zonespec *out)
{
	memset(out, 0, sizeof(*out));
	const char *c1 = strchr(arg, ':');
	if (!c1 || c1 == arg)
		return SH_EINVAL;
	const char *c2 = strchr(c1 + 1, ':');
	if (!c2 || !c2[1])
		return SH_EINVAL;
	char type[32];
	size_t tl = (size_t)(c2 - c1 - 1);
	if (tl >= sizeof(type))
		return SH_EINVAL;
	memcpy(type, c1 + 1, tl);
	type[tl] = 0;
	out->type = sh_dns_dstype_parse(type);
	if (out->type < 0)
		return SH_EUNSUP;
	out->zone = strndup(arg, (size_t)(c1 - arg));
	out->files = strdup(c2 + 1);
	if (!out->zone || !out->files) {
		sh_dns_zonespec_fini(out);
		return SH_ENOMEM;
	}
	return 0;
}

void sh_dns_zonespec_fini(struct sh_dns_zonespec *z)
{
	free(z->zone);
	free(z->files);
	z->zone = z->files = NULL;
}

/* ---- growable arrays ---- */


/* ---- small parsers (rbldnsd's rules) ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
static bool is_comment(char c) { return c == '#' || c == ';'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static char *skip_space(char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/* Decimal digits at s into *n (at most UINT32_MAX); the first byte after them, or NULL. */
static char *parse_digits(char *s, uint64_t *n)
{
	if (!is_digit(*s))
		return NULL;
	*n = 0;
	while (is_digit(*s)) {
		*n = *n * 10 + (uint64_t)(*s++ - '0');
		if (*n > UINT32_MAX)
			return NULL;
	}
	return s;
}

/* rbldnsd's parse_time: a number with an optional s/m/h/d/w unit, then end, ':' or space. */
static char *parse_time(char *s, uint32_t *out)
{
	uint64_t n;
	if (!(s = parse_digits(s, &n)))
		return NULL;
	uint64_t m = 1;
	switch (*s | 0x20) {
	case 'w': m = 7 * 86400; break;
	case 'd': m = 86400; break;
	case 'h': m = 3600; break;
	case 'm': m = 60; break;
	case 's': m = 1; break;
	default: m = 0;
	}
	if (m) {
		s++;
		n *= m;
		if (n > UINT32_MAX)
			return NULL;
	}
	if (*s && *s != ':') {
		if (!is_space(*s))
			return NULL;
		s = skip_space(s);
	}
	*out = (uint32_t)n;
	return s;
}

static uint32_t clamp_ttl(const struct sh_dns_opts *o, uint32_t t, uint32_t def)
{
	if (t == 0)
		return def;
	if (o->min_ttl && t < o->min_ttl)
		return o->min_ttl;
	if (o->max_ttl && t > o->max_ttl)
		return o->max_ttl;
	return t;
}

static char *parse_u32(char *s, uint32_t *out)
{
	uint64_t n;
	if (!(s = parse_digits(s, &n)))
		return NULL;
	if (*s) {
		if (!is_space(*s))
			return NULL;
		s = skip_space(s);
	}
	*out = (uint32_t)n;
	return s;
}

/* Presentation name (up to end) to wire form; "\X" and "\DDD" escapes; returns the wire
 * length (root byte included) or 0 when invalid. */
static size_t name_to_wire(const char *s, const char *end, uint8_t out[256])
{
	size_t o = 0;
	if (end - s == 1 && *s == '.') {
		out[0] = 0;
		return 1;
	}
	while (s < end) {
		size_t lp = o++;
		size_t ll = 0;
		while (s < end && *s != '.') {
			unsigned c = (unsigned char)*s++;
			if (c == '\\' && s < end) {
				if (is_digit(s[0]) && end - s >= 3 && is_digit(s[1]) && is_digit(s[2])) {
					c = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 +
					    (unsigned)(s[2] - '0');
					if (c > 255)
						return 0;
					s += 3;
				} else {
					c = (unsigned char)*s++;
				}
			}
			if (o >= 254 || ll >= 63)
				return 0;
			out[o++] = (uint8_t)c;
			ll++;
		}
		if (ll == 0)
			return 0;
		out[lp] = (uint8_t)ll;
		if (s < end)
			s++; /* the dot; a trailing one ends the name */
	}
	if (o >= 255)
		return 0;
	out[o++] = 0;
	return o;
}

static void wire_lower(uint8_t *w, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t l = w[i++];
		for (size_t j = 0; j < l && i < len; j++, i++)
			if (w[i] >= 'A' && w[i] <= 'Z')
				w[i] |= 0x20;
	}
}

/* One whitespace-delimited name; returns the rest (spaces skipped) or NULL. */
static char *parse_dn(char *s, uint8_t out[256], size_t *len)
{
	char *e = s;
	while (*e && !is_space(*e))
		e++;
	if (e == s)
		return NULL;
	size_t l = name_to_wire(s, e, out);
	if (!l)
		return NULL;
	*len = l;
	return skip_space(e);
}

/* rbldnsd's ip4prefix: 1-4 dotted octets; returns bits (8..32) or -1; *end after it. */
static int ip4prefix(const char *s, uint32_t *a, const char **end)
{
	*a = 0;
	int bits = 0;
	for (int i = 0; i < 4; i++) {
		if (!is_digit(*s)) {
			*end = s;
			return -1;
		}
		unsigned o = 0;
		while (is_digit(*s)) {
			o = o * 10 + (unsigned)(*s++ - '0');
			if (o > 255) {
				*end = s;
				return -1;
			}
		}
		*a |= o << (24 - 8 * i);
		bits += 8;
		if (*s != '.' || i == 3)
			break;
		s++;
	}
	*end = s;
	return bits;
}

static uint32_t ip4mask(int bits) { return bits <= 0 ? 0 : bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits); }

static int ip4mbits(const char *s, const char **end)
{
	if (!is_digit(*s)) {
		*end = s;
		return -1;
	}
	int bits = 0;
	while (is_digit(*s)) {
		bits = bits * 10 + (*s++ - '0');
		if (bits > 32) {
			*end = s;
			return -1;
		}
	}
	*end = s;
	return bits;
}

/* rbldnsd's ip4range: prefix, CIDR or a-b range; returns bits (32 for ranges) or -1. */
static int ip4range(const char *s, uint32_t *a, uint32_t *b, const char **end)
{
	int bits = ip4prefix(s, a, &s);
	if (bits < 0) {
		*end = s;
		return -1;
	}
	if (*s == '-') {
		int bb = ip4prefix(s + 1, b, &s);
		*end = s;
		if (bb < 0)
			return -1;
		if (bb == 8) { /* 127.0.0.1-2: the last octet of the first boundary */
			*b = (*b >> (bits - 8)) | (*a & ip4mask(bits - 8));
			bb = bits;
		} else if (bb != bits) {
			return -1;
		}
		if (bb != 32)
			*b |= ~ip4mask(bb);
		if (*a > *b)
			return -1;
		return 32;
	}
	if (*s == '/') {
		bits = ip4mbits(s + 1, &s);
		if (bits < 0) {
			*end = s;
			return -1;
		}
	} else if (bits == 8) { /* bare numbers are not addresses */
		*end = s;
		return -1;
	}
	*b = *a | ~ip4mask(bits);
	*end = s;
	return bits;
}

static int ip4cidr(const char *s, uint32_t *a, const char **end)
{
	int bits = ip4prefix(s, a, &s);
	if (bits < 0) {
		*end = s;
		return -1;
	}
	if (*s == '/')
		return ip4mbits(s + 1, end);
	*end = s;
	return bits == 8 ? -1 : bits;
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* IPv6 prefix "a:b:c" (bits = 16 per group) or a full address with "::"; optional /bits.
 * Returns bits or -1. */
static int ip6cidr(const char *s, uint8_t a[16], const char **end)
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	memset(a, 0, 16);
	if (s[0] == ':' && s[1] == ':') {
		gap = 0;
		s += 2;
	}
	while (ng < 8) {
		int v = 0, nd = 0, h;
		while ((h = hexval(*s)) >= 0 && nd < 5) {
			v = v * 16 + h;
			s++;
			nd++;
		}
		if (nd == 0 || nd > 4) {
			if (nd == 0 && gap >= 0 && gap == ng)
				break; /* "::" at the end or alone */
			*end = s;
			return -1;
		}
		g[ng++] = (uint16_t)v;
		if (*s != ':')
			break;
		if (s[1] == ':') {
			if (gap >= 0) {
				*end = s;
				return -1;
			}
			gap = ng;
			s += 2;
			continue;
		}
		if (ng == 8)
			break;
		s++;
	}
	int bits;
	if (gap >= 0) {
		if (ng > 7) {
			*end = s;
			return -1;
		}
		int k = 0;
		for (int i = 0; i < gap; i++, k++)
			a[2 * k] = (uint8_t)(g[i] >> 8), a[2 * k + 1] = (uint8_t)g[i];
		k = 8 - (ng - gap);
		for (int i = gap; i < ng; i++, k++)
			a[2 * k] = (uint8_t)(g[i] >> 8), a[2 * k + 1] = (uint8_t)g[i];
		bits = 128;
	} else {
		for (int i = 0; i < ng; i++)
			a[2 * i] = (uint8_t)(g[i] >> 8), a[2 * i + 1] = (uint8_t)g[i];
		bits = ng * 16;
	}
	if (*s == '/') {
		s++;
		if (!is_digit(*s)) {
			*end = s;
			return -1;
		}
		bits = 0;
		while (is_digit(*s)) {
			bits = bits * 10 + (*s++ - '0');
			if (bits > 128) {
				*end = s;
				return -1;
			}
		}
	} else if (bits == 16 && gap < 0) {
		*end = s;
		return -1; /* bare number */
	}
	*end = s;
	return bits;
}

static sh_u128 u128_from(const uint8_t a[16])
{
	sh_u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | a[i];
	return v;
}

static sh_u128 mask128(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 128)
		return ~(sh_u128)0;
	return ~((~(sh_u128)0) >> bits);
}

size_t sh_dns_fmt_ip4(uint32_t a, char *buf)
{
	return (size_t)sprintf(buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* rbldnsd's ip6atos: the first longest run of two or more zero groups becomes "::". */
size_t sh_dns_fmt_ip6(sh_u128 a, char *buf)
{
	unsigned g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)(a >> (112 - 16 * i)) & 0xffff;
	int zs = 0, zn = 0;
	for (int i = 0; i < 8; i++) {
		int n = 0;
		while (i + n < 8 && g[i + n] == 0)
			n++;
		if (n > 1 && n > zn) {
			zn = n;
			zs = i;
		}
	}
	char tmp[48], *p = tmp;
	for (int i = 0; i < (zn ? zs : 8); i++)
		p += sprintf(p, ":%x", g[i]);
	if (zn) {
		*p++ = ':';
		if (zs == 0)
			*p++ = ':';
		if (zs + zn == 8)
			*p++ = ':';
		for (int i = zs + zn; i < 8; i++)
			p += sprintf(p, ":%x", g[i]);
	}
	size_t n = (size_t)(p - tmp) - 1;
	memcpy(buf, tmp + 1, n);
	p = buf + n;
	*p = 0;
	return (size_t)(p - buf);
}

/* ---- value pool ---- */

struct vpool {
	uint8_t *buf;
	size_t len, cap;
	uint32_t *ht; /* offsets, 0 empty */
	size_t htcap, count;
	uint32_t *lists;
	size_t nlists, clists;
	uint32_t *lht; /* list hash: index + 1 */
	size_t lhtcap, lcount;
};

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static size_t vrec_len(const uint8_t *r) { return 5 + (size_t)r[4]; }

/* Adds an A+TXT record; returns its offset (>= 1) or 0 when out of memory. */
static uint32_t vpool_add(struct vpool *v, const uint8_t rec[], size_t n)
{
	if (v->len == 0) {
		if (sh_array_grow((void **)&v->buf, &v->cap, 1, 1))
			return 0;
		v->buf[0] = 0;
		v->len = 1;
	}
	if (v->count * 2 >= v->htcap) {
		size_t nc = v->htcap ? v->htcap * 2 : 1024;
		uint32_t *nt = calloc(nc, sizeof(*nt));
		if (!nt)
			return 0;
		for (size_t i = 0; i < v->htcap; i++) {
			uint32_t off = v->ht[i];
			if (!off)
				continue;
			size_t j = hash_bytes(v->buf + off, vrec_len(v->buf + off)) & (nc - 1);
			while (nt[j])
				j = (j + 1) & (nc - 1);
			nt[j] = off;
		}
		free(v->ht);
		v->ht = nt;
		v->htcap = nc;
	}
	size_t j = hash_bytes(rec, n) & (v->htcap - 1);
	while (v->ht[j]) {
		const uint8_t *r = v->buf + v->ht[j];
		if (vrec_len(r) == n && memcmp(r, rec, n) == 0)
			return v->ht[j];
		j = (j + 1) & (v->htcap - 1);
	}
	if (v->len + n >= SH_DNS_VLIST || sh_array_grow((void **)&v->buf, &v->cap, v->len + n, 1))
		return 0;
	uint32_t off = (uint32_t)v->len;
	memcpy(v->buf + off, rec, n);
	v->len += n;
	v->ht[j] = off;
	v->count++;
	return off;
}

/* A list of several record offsets; returns SH_DNS_VLIST | index, or 0 when out of memory. */
static uint32_t vpool_list(struct vpool *v, const uint32_t *offs, size_t n)
{
	if (v->nlists == 0) {
		if (sh_array_grow((void **)&v->lists, &v->clists, 1, sizeof(uint32_t)))
			return 0;
		v->lists[0] = 0;
		v->nlists = 1;
	}
	if (v->lcount * 2 >= v->lhtcap) {
		size_t nc = v->lhtcap ? v->lhtcap * 2 : 256;
		uint32_t *nt = calloc(nc, sizeof(*nt));
		if (!nt)
			return 0;
		for (size_t i = 0; i < v->lhtcap; i++) {
			uint32_t idx = v->lht[i];
			if (!idx)
				continue;
			const uint32_t *l = v->lists + idx - 1;
			size_t j = hash_bytes((const uint8_t *)(l + 1), l[0] * 4) & (nc - 1);
			while (nt[j])
				j = (j + 1) & (nc - 1);
			nt[j] = idx;
		}
		free(v->lht);
		v->lht = nt;
		v->lhtcap = nc;
	}
	size_t j = hash_bytes((const uint8_t *)offs, n * 4) & (v->lhtcap - 1);
	while (v->lht[j]) {
		const uint32_t *l = v->lists + v->lht[j] - 1;
		if (l[0] == n && memcmp(l + 1, offs, n * 4) == 0)
			return SH_DNS_VLIST | (v->lht[j] - 1);
		j = (j + 1) & (v->lhtcap - 1);
	}
	if (v->nlists + n + 1 >= SH_DNS_VLIST ||
	    sh_array_grow((void **)&v->lists, &v->clists, v->nlists + n + 1, sizeof(uint32_t)))
		return 0;
	uint32_t idx = (uint32_t)v->nlists;
	v->lists[idx] = (uint32_t)n;
	memcpy(v->lists + idx + 1, offs, n * 4);
	v->nlists += n + 1;
	v->lht[j] = idx + 1;
	v->lcount++;
	return SH_DNS_VLIST | idx;
}

/* ---- load state ---- */

struct ent4 {
	uint32_t addr;
	uint32_t val; /* record offset or SH_DNS_EXCL */
	uint32_t line;
	uint8_t len;
};
struct ent6 {
	sh_u128 addr;
	uint32_t val;
	uint32_t line;
	uint8_t len;
};
struct entd {
	uint32_t node;
	uint32_t val;
	uint8_t wild;
};

struct loader {
	struct sh_dns_dataset *ds;
	const struct sh_dns_opts *o;
	sh_dns_warn_fn warn;
	void *ud;
	const char *fname;
	unsigned lineno;
	struct vpool vp;
	uint8_t def_rr[4 + 256]; /* current default: A, length, TXT */
	uint32_t maxrange4;
	bool soa_seen, ns_seen;
	struct ent4 *e4;
	size_t n4, c4;
	struct ent6 *e6;
	size_t n6, c6;
	struct entd *ed;
	size_t ned, ced;
	size_t cnodes, cnames;
	int err; /* first fatal error (out of memory) */
};

static void lwarn(struct loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lwarn(struct loader *L, const char *fmt, ...)
{
	if (!L->warn)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->warn(L->ud, L->fname, L->lineno, msg);
}

static void set_default_rr(struct loader *L)
{
	static const uint8_t def[5] = {127, 0, 0, 2, 0};
	memcpy(L->def_rr, def, 5);
}

/* rbldnsd's parse_a_txt: ":A:TXT", ":A" (default TXT), ":A:" (no TXT) or "TXT" (default A).
 * Fills rec ([A][len][TXT]); returns its length or 0 when invalid (warned). */
static size_t parse_a_txt(struct loader *L, char *s, const uint8_t *def, uint8_t rec[4 + 256])
{
	const char *txt;
	if (*s == ':') {
		uint32_t a;
		const char *e;
		int bits = ip4prefix(s + 1, &a, &e);
		/* inet_aton's short forms: "2" is 127.0.0.2, "1.2" is 1.0.0.2 */
		if (bits == 8)
			a = 0x7f000000u | (a >> 24);
		else if (bits == 16)
			a = (a & 0xff000000u) | ((a >> 16) & 255);
		else if (bits == 24)
			a = (a & 0xffff0000u) | ((a >> 8) & 255);
		if (bits <= 0 || a == 0) {
			lwarn(L, "invalid A RR");
			return 0;
		}
		s = skip_space((char *)e);
		rec[0] = (uint8_t)(a >> 24), rec[1] = (uint8_t)(a >> 16);
		rec[2] = (uint8_t)(a >> 8), rec[3] = (uint8_t)a;
		if (*s == ':') {
			txt = skip_space(s + 1);
		} else if (*s) {
			lwarn(L, "unrecognized value for an entry");
			return 0;
		} else {
			memcpy(rec + 4, def + 4, 1 + (size_t)def[4]);
			return 5 + (size_t)def[4];
		}
	} else {
		memcpy(rec, def, 4);
		txt = s;
	}
	size_t tl = strlen(txt);
	if (tl > 255) {
		lwarn(L, "TXT RR truncated to 255 bytes");
		tl = 255;
	}
	rec[4] = (uint8_t)tl;
	memcpy(rec + 5, txt, tl);
	return 5 + tl;
}

/* The value of an entry line's tail: default, or parsed. Returns the record offset, 0 when
 * the value is invalid (warned) or out of memory (L->err set). */
static uint32_t entry_value(struct loader *L, char *s)
{
	uint8_t rec[4 + 256 + 1];
	size_t n;
	s = skip_space(s);
	if (!*s || is_comment(*s)) {
		n = 5 + (size_t)L->def_rr[4];
		memcpy(rec, L->def_rr, n);
	} else if (!(n = parse_a_txt(L, s, L->def_rr, rec))) {
		return 0;
	}
	uint32_t off = vpool_add(&L->vp, rec, n);
	if (!off)
		L->err = SH_ENOMEM;
	return off;
}

static void default_line(struct loader *L, char *s)
{
	uint8_t rec[4 + 256 + 1];
	static const uint8_t global[5] = {127, 0, 0, 2, 0};
	size_t n = parse_a_txt(L, s, global, rec);
	if (n)
		memcpy(L->def_rr, rec, n);
}

static bool addr_tail_ok(const char *s) { return !*s || is_space(*s) || is_comment(*s) || *s == ':'; }

static void add4(struct loader *L, uint32_t addr, unsigned len, uint32_t val)
{
	if (sh_array_grow((void **)&L->e4, &L->c4, L->n4 + 1, sizeof(*L->e4))) {
		L->err = SH_ENOMEM;
		return;
	}
	L->e4[L->n4++] = (struct ent4){addr, val, L->lineno, (uint8_t)len};
}

/* ip4set: a range becomes octet-aligned prefixes (/32, /24, /16, /8), as rbldnsd stores it. */
static void add4_range(struct loader *L, uint32_t a, uint32_t b, uint32_t val)
{
	uint64_t lo = a, hi = (uint64_t)b + 1; /* [lo, hi) */
	while (lo < hi) {
		unsigned len = 32;
		for (unsigned l = 24; l >= 8; l -= 8) {
			uint64_t sz = 1ull << (32 - l);
			if (lo % sz == 0 && lo + sz <= hi)
				len = l;
			else
				break;
		}
		add4(L, (uint32_t)lo, len, val);
		if (L->err)
			return;
		lo += 1ull << (32 - len);
	}
}

static void line_ip4(struct loader *L, char *s, bool trie)
{
	if (*s == ':') {
		default_line(L, s);
		return;
	}
	bool excl = false;
	if (*s == '!') {
		excl = true;
		s = skip_space(s + 1);
	}
	uint32_t a, b = 0;
	const char *e;
	int bits = trie ? ip4cidr(s, &a, &e) : ip4range(s, &a, &b, &e);
	if (bits < 0 || (!trie && bits == 0) || !addr_tail_ok(e)) {
		lwarn(L, "invalid address");
		return;
	}
	if (a & ~ip4mask(bits)) {
		if (!L->o->accept_in_cidr) {
			lwarn(L, "invalid range (non-zero host part)");
			return;
		}
		a &= ip4mask(bits);
	}
	if (trie)
		b = a | ~ip4mask(bits);
	if (L->maxrange4 && L->maxrange4 <= b - a) {
		lwarn(L, "too large range (%llu) ignored (%u max)", (unsigned long long)b - a + 1,
		      L->maxrange4);
		return;
	}
	uint32_t val = SH_DNS_EXCL;
	if (!excl && !(val = entry_value(L, (char *)e)))
		return;
	L->ds->entries++;
	if (trie)
		add4(L, a, (unsigned)bits, val);
	else
		add4_range(L, a, b, val);
}

static void line_ip6(struct loader *L, char *s)
{
	if (*s == ':' && s[1] != ':') {
		default_line(L, s);
		return;
	}
	bool excl = false;
	if (*s == '!') {
		excl = true;
		s = skip_space(s + 1);
	}
	uint8_t ab[16];
	const char *e;
	int bits = ip6cidr(s, ab, &e);
	if (bits < 0 || !addr_tail_ok(e)) {
		lwarn(L, "invalid address");
		return;
	}
	sh_u128 a = u128_from(ab);
	if (a & ~mask128(bits)) {
		if (!L->o->accept_in_cidr) {
			lwarn(L, "invalid range (non-zero host part)");
			return;
		}
		a &= mask128(bits);
	}
	uint32_t val = SH_DNS_EXCL;
	if (!excl && !(val = entry_value(L, (char *)e)))
		return;
	L->ds->entries++;
	if (sh_array_grow((void **)&L->e6, &L->c6, L->n6 + 1, sizeof(*L->e6))) {
		L->err = SH_ENOMEM;
		return;
	}
	L->e6[L->n6++] = (struct ent6){a, val, L->lineno, (uint8_t)bits};
}

/* ---- dnset hash table ---- */

static uint32_t dn_hash(const uint8_t *w, size_t n) { return hash_bytes(w, n) | 1; }

#define DN_TAG 0xff000000u
#define DN_MAXNODES 0xfffffeu /* node index + 1 fits the 24 low bits of a slot */

static int64_t dn_find(const struct sh_dns_dataset *ds, const uint8_t *w, size_t n, uint32_t h)
{
	if (!ds->dtab)
		return -1;
	size_t j = h & ds->dtab_mask;
	for (;;) {
		uint32_t k = ds->dtab[j];
		if (!k)
			return -1;
		if ((k & DN_TAG) == (h & DN_TAG)) {
			const struct sh_dns_dnode *d = &ds->dnodes[(k & ~DN_TAG) - 1];
			if (ds->names[d->name] == n && memcmp(ds->names + d->name + 1, w, n) == 0)
				return (int64_t)(k & ~DN_TAG) - 1;
		}
		j = (j + 1) & ds->dtab_mask;
	}
}

static uint32_t node_hash(const struct sh_dns_dataset *ds, size_t i)
{
	const uint8_t *nm = ds->names + ds->dnodes[i].name;
	return dn_hash(nm + 1, nm[0]);
}

static int dn_rehash(struct sh_dns_dataset *ds, size_t cap)
{
	uint32_t *t = calloc(cap, sizeof(*t));
	if (!t)
		return SH_ENOMEM;
	for (size_t i = 0; i < ds->ndnodes; i++) {
		uint32_t h = node_hash(ds, i);
		size_t j = h & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = (h & DN_TAG) | (uint32_t)(i + 1);
	}
	free(ds->dtab);
	ds->dtab = t;
	ds->dtab_mask = cap - 1;
	return 0;
}

/* Finds or adds the node for relative wire name w (n bytes, n < 256). */
static int64_t dn_insert(struct loader *L, const uint8_t *w, size_t n)
{
	struct sh_dns_dataset *ds = L->ds;
	uint32_t h = dn_hash(w, n);
	int64_t k = dn_find(ds, w, n, h);
	if (k >= 0)
		return k;
	if ((ds->ndnodes + 1) * 2 > (ds->dtab ? ds->dtab_mask + 1 : 0) &&
	    dn_rehash(ds, ds->dtab ? (ds->dtab_mask + 1) * 2 : 1024))
		return -1;
	if (ds->ndnodes >= DN_MAXNODES || ds->names_len + n + 1 >= 0x7fffffffu ||
	    sh_array_grow((void **)&ds->dnodes, &L->cnodes, ds->ndnodes + 1, sizeof(*ds->dnodes)) ||
	    sh_array_grow((void **)&ds->names, &L->cnames, ds->names_len + n + 1, 1))
		return -1;
	struct sh_dns_dnode *d = &ds->dnodes[ds->ndnodes];
	memset(d, 0, sizeof(*d));
	d->name = (unsigned)ds->names_len & 0x7fffffffu;
	ds->names[ds->names_len] = (uint8_t)n;
	memcpy(ds->names + ds->names_len + 1, w, n);
	ds->names_len += n + 1;
	size_t j = h & ds->dtab_mask;
	while (ds->dtab[j])
		j = (j + 1) & ds->dtab_mask;
	ds->dtab[j] = (h & DN_TAG) | (uint32_t)(ds->ndnodes + 1);
	return (int64_t)ds->ndnodes++;
}

static unsigned wire_labels(const uint8_t *w, size_t n)
{
	unsigned c = 0;
	for (size_t i = 0; i < n; i += (size_t)w[i] + 1)
		c++;
	return c;
}

static void line_dnset(struct loader *L, char *s)
{
	if (*s == ':') {
		default_line(L, s);
		return;
	}
	bool excl = false, wild, plain;
	if (*s == '!') {
		excl = true;
		s = skip_space(s + 1);
	}
	if (*s == '.') {
		wild = plain = true;
		s++;
	} else if (s[0] == '*' && s[1] == '.') {
		wild = true;
		plain = false;
		s += 2;
	} else {
		wild = false;
		plain = true;
	}
	uint8_t dn[256];
	size_t len;
	char *rest = parse_dn(s, dn, &len);
	if (!rest || len == 1) {
		lwarn(L, "invalid domain name");
		return;
	}
	wire_lower(dn, len);
	uint32_t val = SH_DNS_EXCL;
	if (!excl && !(val = entry_value(L, rest)))
		return;
	int64_t k = dn_insert(L, dn, len - 1);
	if (k < 0) {
		L->err = SH_ENOMEM;
		return;
	}
	L->ds->entries++;
	unsigned labs = wire_labels(dn, len - 1);
	struct sh_dns_dataset *ds = L->ds;
	if (plain) {
		ds->pmax = labs > ds->pmax ? labs : ds->pmax;
		ds->pmin = labs < ds->pmin ? labs : ds->pmin;
	}
	if (wild) {
		ds->wmax = labs > ds->wmax ? labs : ds->wmax;
		ds->wmin = labs < ds->wmin ? labs : ds->wmin;
	}
	for (int w = 0; w < 2; w++) {
		if (!(w ? wild : plain))
			continue;
		if (sh_array_grow((void **)&L->ed, &L->ced, L->ned + 1, sizeof(*L->ed))) {
			L->err = SH_ENOMEM;
			return;
		}
		L->ed[L->ned++] = (struct entd){(uint32_t)k, val, (uint8_t)w};
	}
}

/* ---- specials ---- */

static char *first_word(char *line, const char *kw)
{
	size_t n = strlen(kw);
	if (strncasecmp(line, kw, n) != 0 || !is_space(line[n]))
		return NULL;
	return skip_space(line + n);
}

/* Returns false when the special is invalid or unrecognized. */
static bool special(struct loader *L, char *line)
{
	struct sh_dns_dataset *ds = L->ds;
	char *w;
	if ((w = first_word(line, "soa"))) {
		if (L->soa_seen)
			return true; /* only the first $SOA counts */
		struct sh_dns_soa soa = {.present = true};
		size_t l;
		if (!(w = parse_time(w, &soa.ttl)))
			return false;
		soa.ttl = clamp_ttl(L->o, soa.ttl, ds->ttl);
		if (!(w = parse_dn(w, soa.mname, &l)) || !(w = parse_dn(w, soa.rname, &l)) ||
		    !(w = parse_u32(w, &soa.serial)) || !(w = parse_time(w, &soa.refresh)) ||
		    !(w = parse_time(w, &soa.retry)) || !(w = parse_time(w, &soa.expire)) ||
		    !(w = parse_time(w, &soa.minimum)) || *w)
			return false;
		ds->soa = soa;
		L->soa_seen = true;
		return true;
	}
	if ((w = first_word(line, "ns")) || (w = first_word(line, "nameserver"))) {
		if (L->ns_seen)
			return true;
		uint32_t ttl;
		if (!(w = parse_time(w, &ttl)))
			return false;
		uint8_t (*ns)[256] = NULL;
		size_t nns = 0, cns = 0;
		while (*w) {
			if (*w == '-') { /* a commented-out name server */
				while (*w && !is_space(*w))
					w++;
				w = skip_space(w);
				continue;
			}
			size_t l;
			uint8_t dn[256];
			if (!(w = parse_dn(w, dn, &l))) {
				free(ns);
				return false;
			}
			if (nns >= 32)
				continue;
			if (sh_array_grow((void **)&ns, &cns, nns + 1, sizeof(*ns))) {
				free(ns);
				L->err = SH_ENOMEM;
				return true;
			}
			memcpy(ns[nns++], dn, sizeof(dn));
		}
		free(ds->ns);
		ds->ns = ns;
		ds->nns = nns;
		ds->ns_ttl = clamp_ttl(L->o, ttl, ds->ttl);
		L->ns_seen = true;
		return true;
	}
	if ((w = first_word(line, "ttl"))) {
		uint32_t t;
		if (!(w = parse_time(w, &t)) || *w)
			return false;
		ds->ttl = clamp_ttl(L->o, t, L->o->def_ttl);
		return true;
	}
	if ((w = first_word(line, "maxrange4"))) {
		bool cidr = *w == '/';
		uint32_t r;
		if (cidr)
			w++;
		if (!(w = parse_u32(w, &r)) || *w || !r)
			return false;
		if (cidr) {
			if (r > 32)
				return false;
			r = ~ip4mask((int)r) + 1;
			if (r == 0)
				r = UINT32_MAX;
		}
		if (L->maxrange4 && L->maxrange4 < r)
			lwarn(L, "ignoring attempt to increase $MAXRANGE4 from %u to %u", L->maxrange4, r);
		else
			L->maxrange4 = r;
		return true;
	}
	if ((is_digit(line[0]) || line[0] == '=') && is_space(line[1])) {
		unsigned n = line[0] == '=' ? 10 : (unsigned)(line[0] - '0');
		if (ds->subst[n])
			return true; /* the first assignment counts */
		w = skip_space(line + 2);
		if (!*w)
			return false;
		if (!(ds->subst[n] = strdup(w)))
			L->err = SH_ENOMEM;
		return true;
	}
	if ((w = first_word(line, "timestamp")))
		return true; /* accepted; data expiry is not enforced */
	return false;
}

static void process_line(struct loader *L, char *line)
{
	char *s = skip_space(line);
	size_t n = strlen(s);
	while (n && is_space(s[n - 1]))
		s[--n] = 0;
	if (s[0] == '$' || ((is_comment(s[0]) || s[0] == ':') && s[1] == '$')) {
		if (!special(L, s[0] == '$' ? s + 1 : s + 2))
			lwarn(L, "invalid or unrecognized special entry");
		return;
	}
	if (!s[0] || is_comment(s[0]))
		return;
	switch (L->ds->type) {
	case SH_DNS_IP4SET: line_ip4(L, s, false); break;
	case SH_DNS_IP4TRIE: line_ip4(L, s, true); break;
	case SH_DNS_IP6TRIE: line_ip6(L, s); break;
	default: line_dnset(L, s); break;
	}
}

/* Feeds a file's bytes line by line; long lines are cut at MAXLINE (warned). */
struct linebuf {
	char buf[MAXLINE + 1];
	size_t len;
	bool skipping;
};

static void feed(struct loader *L, struct linebuf *lb, const char *p, size_t n, bool last)
{
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : n - i;
		if (!lb->skipping) {
			size_t room = MAXLINE - lb->len;
			size_t c = take < room ? take : room;
			memcpy(lb->buf + lb->len, p + i, c);
			lb->len += c;
			if (take > room) {
				L->lineno++;
				lwarn(L, "long line (truncated)");
				L->lineno--;
				lb->skipping = true;
			}
		}
		i += take;
		if (nl) {
			i++;
			L->lineno++;
			lb->buf[lb->len] = 0;
			process_line(L, lb->buf);
			lb->len = 0;
			lb->skipping = false;
			if (L->err)
				return;
		}
	}
	if (last && (lb->len || lb->skipping)) {
		L->lineno++;
		lb->buf[lb->len] = 0;
		process_line(L, lb->buf);
		lb->len = 0;
	}
}

static void start_file(struct loader *L, const char *name)
{
	L->fname = name;
	L->lineno = 0;
	set_default_rr(L);
}

/* ---- compile ---- */

static int cmp_ent4(const void *x, const void *y)
{
	const struct ent4 *a = x, *b = y;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->val != b->val) /* exclusions first, as rbldnsd sorts its NULL values */
		return a->val == SH_DNS_EXCL ? -1 : b->val == SH_DNS_EXCL ? 1 : a->val < b->val ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int cmp_ent4_line(const void *x, const void *y)
{
	const struct ent4 *a = x, *b = y;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* The value of a group of entries for one key: an exclusion wins (rbldnsd), several
 * distinct values make a list. */
static uint32_t group_value(struct loader *L, const uint32_t *vals, size_t n, uint32_t *tmp)
{
	if (vals[0] == SH_DNS_EXCL)
		return SH_DNS_EXCL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || tmp[k - 1] != vals[i])
			tmp[k++] = vals[i];
	if (k == 1)
		return tmp[0];
	uint32_t v = vpool_list(&L->vp, tmp, k);
	if (!v)
		L->err = SH_ENOMEM;
	return v;
}

struct ivbuild4 {
	uint32_t *start, *val;
	size_t n, cap;
};

static int iv4_push(struct ivbuild4 *b, uint32_t start, uint32_t val)
{
	if (b->n && b->start[b->n - 1] == start) {
		b->val[b->n - 1] = val;
		if (b->n > 1 && b->val[b->n - 2] == val)
			b->n--;
		return 0;
	}
	if (b->n && b->val[b->n - 1] == val)
		return 0;
	size_t c = b->cap;
	if (sh_array_grow((void **)&b->start, &c, b->n + 1, sizeof(uint32_t)))
		return SH_ENOMEM;
	c = b->cap;
	if (sh_array_grow((void **)&b->val, &c, b->n + 1, sizeof(uint32_t)))
		return SH_ENOMEM;
	b->cap = c;
	b->start[b->n] = start;
	b->val[b->n++] = val;
	return 0;
}

static int compile4(struct loader *L)
{
	struct sh_dns_dataset *ds = L->ds;
	bool trie = ds->type == SH_DNS_IP4TRIE;
	if (L->n4)
		qsort(L->e4, L->n4, sizeof(*L->e4), trie ? cmp_ent4_line : cmp_ent4);
	/* collapse each (addr, len) group to one entry */
	size_t out = 0;
	uint32_t *vals = NULL, *tmp = NULL;
	size_t cv = 0, ct = 0;
	for (size_t i = 0; i < L->n4;) {
		size_t j = i + 1;
		while (j < L->n4 && L->e4[j].addr == L->e4[i].addr && L->e4[j].len == L->e4[i].len)
			j++;
		uint32_t v;
		if (trie) {
			for (size_t k = i + 1; k < j; k++) {
				L->fname = ds->files;
				char a[16];
				sh_dns_fmt_ip4(L->e4[k].addr, a);
				unsigned save = L->lineno;
				L->lineno = L->e4[k].line;
				lwarn(L, "duplicated entry for %s/%u", a, L->e4[k].len);
				L->lineno = save;
			}
			v = L->e4[i].val;
		} else {
			if (sh_array_grow((void **)&vals, &cv, j - i, 4) ||
			    sh_array_grow((void **)&tmp, &ct, j - i, 4)) {
				free(vals);
				free(tmp);
				return SH_ENOMEM;
			}
			for (size_t k = i; k < j; k++)
				vals[k - i] = L->e4[k].val;
			v = group_value(L, vals, j - i, tmp);
		}
		L->e4[out] = L->e4[i];
		L->e4[out++].val = v;
		i = j;
	}
	free(vals);
	free(tmp);
	if (L->err)
		return L->err;
	struct ivbuild4 b = {0};
	struct {
		uint64_t end;
		uint32_t val;
	} st[40];
	int sp = 0;
	int rc = iv4_push(&b, 0, 0);
	for (size_t i = 0; i < out && !rc; i++) {
		const struct ent4 *e = &L->e4[i];
		uint64_t s = e->addr, end = s + (1ull << (32 - e->len)) - 1;
		while (sp > 0 && st[sp - 1].end < s && !rc) {
			sp--;
			rc = iv4_push(&b, (uint32_t)(st[sp].end + 1), sp ? st[sp - 1].val : 0);
		}
		uint32_t v = e->val == SH_DNS_EXCL ? 0 : e->val;
		if (!rc)
			rc = iv4_push(&b, (uint32_t)s, v);
		st[sp].end = end;
		st[sp++].val = v;
	}
	while (sp > 0 && !rc) {
		sp--;
		if (st[sp].end < 0xffffffffull)
			rc = iv4_push(&b, (uint32_t)(st[sp].end + 1), sp ? st[sp - 1].val : 0);
	}
	free(L->e4);
	L->e4 = NULL;
	L->n4 = L->c4 = 0;
	if (rc || !(ds->v4first = malloc(65537 * sizeof(uint32_t))) ||
	    !(ds->v4lo = malloc((b.n ? b.n : 1) * sizeof(uint16_t)))) {
		free(b.start);
		free(b.val);
		return SH_ENOMEM;
	}
	size_t k = 0;
	for (uint64_t h = 0; h <= 65536; h++) {
		while (k < b.n && b.start[k] < (h << 16))
			k++;
		ds->v4first[h] = (uint32_t)k;
	}
	for (size_t i = 0; i < b.n; i++)
		ds->v4lo[i] = (uint16_t)b.start[i];
	free(b.start);
	uint32_t *v2 = realloc(b.val, b.n * sizeof(uint32_t));
	ds->v4val = v2 ? v2 : b.val;
	ds->n4 = b.n;
	return 0;
}

static int cmp_ent6(const void *x, const void *y)
{
	const struct ent6 *a = x, *b = y;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int compile6(struct loader *L)
{
	struct sh_dns_dataset *ds = L->ds;
	if (L->n6)
		qsort(L->e6, L->n6, sizeof(*L->e6), cmp_ent6);
	size_t out = 0;
	for (size_t i = 0; i < L->n6;) {
		size_t j = i + 1;
		while (j < L->n6 && L->e6[j].addr == L->e6[i].addr && L->e6[j].len == L->e6[i].len) {
			char a[48];
			sh_dns_fmt_ip6(L->e6[j].addr, a);
			unsigned save = L->lineno;
			L->fname = ds->files;
			L->lineno = L->e6[j].line;
			lwarn(L, "duplicated entry for %s/%u", a, L->e6[j].len);
			L->lineno = save;
			j++;
		}
		L->e6[out++] = L->e6[i];
		i = j;
	}
	sh_u128 *start = NULL;
	uint32_t *val = NULL;
	size_t n = 0, cap = 0;
	struct {
		sh_u128 end;
		uint32_t val;
	} st[140];
	int sp = 0;
	int rc = 0;
#define PUSH6(S, V)                                                                            \
	do {                                                                                   \
		sh_u128 s_ = (S);                                                              \
		uint32_t v_ = (V);                                                             \
		if (n && start[n - 1] == s_) {                                                 \
			val[n - 1] = v_;                                                       \
			if (n > 1 && val[n - 2] == v_)                                         \
				n--;                                                           \
		} else if (!n || val[n - 1] != v_) {                                           \
			size_t c1 = cap, c2 = cap;                                             \
			if (sh_array_grow((void **)&start, &c1, n + 1, sizeof(sh_u128)) ||     \
			    sh_array_grow((void **)&val, &c2, n + 1, sizeof(uint32_t))) {      \
				rc = SH_ENOMEM;                                                \
				break;                                                         \
			}                                                                      \
			cap = c1 < c2 ? c1 : c2;                                               \
			start[n] = s_;                                                         \
			val[n++] = v_;                                                         \
		}                                                                              \
	} while (0)
	PUSH6(0, 0);
	for (size_t i = 0; i < out && !rc; i++) {
		const struct ent6 *e = &L->e6[i];
		sh_u128 s = e->addr, end = s | ~mask128(e->len);
		while (sp > 0 && st[sp - 1].end < s && !rc) {
			sp--;
			PUSH6(st[sp].end + 1, sp ? st[sp - 1].val : 0);
		}
		uint32_t v = e->val == SH_DNS_EXCL ? 0 : e->val;
		if (!rc)
			PUSH6(s, v);
		st[sp].end = end;
		st[sp++].val = v;
	}
	while (sp > 0 && !rc) {
		sp--;
		if (st[sp].end != ~(sh_u128)0)
			PUSH6(st[sp].end + 1, sp ? st[sp - 1].val : 0);
	}
#undef PUSH6
	free(L->e6);
	L->e6 = NULL;
	L->n6 = L->c6 = 0;
	if (rc || !(ds->v6idx = malloc(65537 * sizeof(uint32_t)))) {
		free(start);
		free(val);
		return SH_ENOMEM;
	}
	ds->v6start = start;
	ds->v6val = val;
	ds->n6 = n;
	size_t k = 0;
	for (uint64_t h = 0; h <= 65536; h++) {
		sh_u128 at = h == 65536 ? ~(sh_u128)0 : (sh_u128)h << 112;
		while (k + 1 < n && start[k + 1] <= at)
			k++;
		ds->v6idx[h] = (uint32_t)k;
	}
	return 0;
}

static int cmp_entd(const void *x, const void *y)
{
	const struct entd *a = x, *b = y;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->wild != b->wild)
		return a->wild < b->wild ? -1 : 1;
	if (a->val != b->val)
		return a->val == SH_DNS_EXCL ? -1 : b->val == SH_DNS_EXCL ? 1 : a->val < b->val ? -1 : 1;
	return 0;
}

static int compiled(struct loader *L)
{
	struct sh_dns_dataset *ds = L->ds;
	if (L->ned)
		qsort(L->ed, L->ned, sizeof(*L->ed), cmp_entd);
	uint32_t *vals = NULL, *tmp = NULL;
	size_t cv = 0, ct = 0;
	for (size_t i = 0; i < L->ned && !L->err;) {
		size_t j = i + 1;
		while (j < L->ned && L->ed[j].node == L->ed[i].node && L->ed[j].wild == L->ed[i].wild)
			j++;
		if (sh_array_grow((void **)&vals, &cv, j - i, 4) ||
		    sh_array_grow((void **)&tmp, &ct, j - i, 4)) {
			L->err = SH_ENOMEM;
			break;
		}
		for (size_t k = i; k < j; k++)
			vals[k - i] = L->ed[k].val;
		uint32_t v = group_value(L, vals, j - i, tmp);
		if (L->ed[i].wild)
			ds->dnodes[L->ed[i].node].wild = v;
		else
			ds->dnodes[L->ed[i].node].plain = v;
		i = j;
	}
	free(vals);
	free(tmp);
	free(L->ed);
	L->ed = NULL;
	L->ned = L->ced = 0;
	if (L->err)
		return L->err;
	/* mark the ancestors of listed names (and the base of listed wildcards) as existing */
	size_t nn = ds->ndnodes;
	for (size_t i = 0; i < nn; i++) {
		uint32_t pl = ds->dnodes[i].plain, wi = ds->dnodes[i].wild;
		bool listed_plain = pl && pl != SH_DNS_EXCL;
		bool listed_wild = wi && wi != SH_DNS_EXCL;
		if (!listed_plain && !listed_wild)
			continue;
		uint8_t w[256];
		size_t n = ds->names[ds->dnodes[i].name];
		memcpy(w, ds->names + ds->dnodes[i].name + 1, n);
		if (listed_wild)
			ds->dnodes[i].below = 1;
		for (size_t off = (size_t)w[0] + 1; off < n; off += (size_t)w[off] + 1) {
			int64_t k = dn_insert(L, w + off, n - off);
			if (k < 0)
				return SH_ENOMEM;
			if (ds->dnodes[k].below)
				break; /* its ancestors are marked already */
			ds->dnodes[k].below = 1;
		}
	}
	struct sh_dns_dnode *d2 = ds->ndnodes ? realloc(ds->dnodes, ds->ndnodes * sizeof(*d2)) : NULL;
	if (d2)
		ds->dnodes = d2;
	uint8_t *n2 = ds->names_len ? realloc(ds->names, ds->names_len) : NULL;
	if (n2)
		ds->names = n2;
	return 0;
}

static void loader_init(struct loader *L, struct sh_dns_dataset *ds, const struct sh_dns_opts *o,
			sh_dns_warn_fn warn, void *ud)
{
	memset(L, 0, sizeof(*L));
	L->ds = ds;
	L->o = o;
	L->warn = warn;
	L->ud = ud;
	ds->ttl = o->def_ttl;
	ds->pmin = ds->wmin = 255;
	set_default_rr(L);
}

static int loader_finish(struct loader *L)
{
	struct sh_dns_dataset *ds = L->ds;
	int rc = L->err;
	if (!rc) {
		if (ds->type == SH_DNS_IP6TRIE)
			rc = compile6(L);
		else if (ds->type == SH_DNS_DNSET)
			rc = compiled(L);
		else
			rc = compile4(L);
	}
	free(L->e4);
	free(L->e6);
	free(L->ed);
	free(L->vp.ht);
	free(L->vp.lht);
	if (rc) {
		free(L->vp.buf);
		free(L->vp.lists);
		return rc;
	}
	ds->vals = L->vp.buf;
	ds->vals_len = L->vp.len;
	ds->vlists = L->vp.lists;
	ds->vlists_len = L->vp.nlists;
	if (ds->vals_len) {
		uint8_t *v = realloc(ds->vals, ds->vals_len);
		if (v)
			ds->vals = v;
	}
	return 0;
}

static struct sh_dns_dataset *dataset_new(int type, const char *files)
{
	struct sh_dns_dataset *ds = calloc(1, sizeof(*ds));
	if (!ds)
		return NULL;
	ds->type = type;
	ds->refs = 1;
	ds->files = strdup(files ? files : "");
	if (!ds->files) {
		free(ds);
		return NULL;
	}
	return ds;
}

int sh_dns_dataset_parse(int type, const char *name, const char *buf, size_t len,
			 const struct sh_dns_opts *o, sh_dns_warn_fn warn, void *ud,
			 struct sh_dns_dataset **out)
{
	*out = NULL;
	if (type < 0 || type > SH_DNS_DNSET)
		return SH_EINVAL;
	struct sh_dns_dataset *ds = dataset_new(type, name);
	if (!ds)
		return SH_ENOMEM;
	struct loader L;
	loader_init(&L, ds, o, warn, ud);
	struct linebuf *lb = calloc(1, sizeof(*lb));
	if (!lb) {
		sh_dns_dataset_free(ds);
		return SH_ENOMEM;
	}
	start_file(&L, name);
	feed(&L, lb, buf, len, true);
	free(lb);
	int rc = loader_finish(&L);
	if (rc) {
		sh_dns_dataset_free(ds);
		return rc;
	}
	*out = ds;
	return 0;
}

static int load_file(struct loader *L, struct linebuf *lb, const char *path, struct sh_dns_filestamp *st)
{
	start_file(L, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat s0, s1;
	if (fd < 0 || fstat(fd, &s0) != 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "unable to open file: %s", strerror(errno));
		if (L->warn)
			L->warn(L->ud, path, 0, msg);
		if (fd >= 0)
			close(fd);
		return SH_EIO;
	}
	int fd2 = dup(fd);
	gzFile gz = fd2 >= 0 ? gzdopen(fd2, "rb") : NULL;
	if (!gz) {
		if (fd2 >= 0)
			close(fd2);
		close(fd);
		return SH_ENOMEM;
	}
	gzbuffer(gz, 1 << 17);
	static __thread char chunk[1 << 16];
	int rc = 0;
	for (;;) {
		int n = gzread(gz, chunk, sizeof(chunk));
		if (n < 0) {
			int e;
			const char *m = gzerror(gz, &e);
			if (L->warn)
				L->warn(L->ud, path, 0, m ? m : "read error");
			rc = SH_EIO;
			break;
		}
		feed(L, lb, chunk, (size_t)n, n == 0);
		if (L->err) {
			rc = L->err;
			break;
		}
		if (n == 0)
			break;
	}
	gzclose(gz);
	if (!rc && (fstat(fd, &s1) != 0 || s1.st_mtime != s0.st_mtime || s1.st_size != s0.st_size)) {
		if (L->warn)
			L->warn(L->ud, path, 0,
				"file changed while being read, load aborted (write a temporary file and rename it)");
		rc = SH_EIO;
	}
	close(fd);
	st->mtime = (int64_t)s0.st_mtime;
	st->size = (int64_t)s0.st_size;
	return rc;
}

int sh_dns_dataset_load(int type, const char *files, const struct sh_dns_opts *o,
			sh_dns_warn_fn warn, void *ud, struct sh_dns_dataset **out)
{
	*out = NULL;
	if (type < 0 || type > SH_DNS_DNSET)
		return SH_EINVAL;
	struct sh_dns_dataset *ds = dataset_new(type, files);
	char *list = strdup(files);
	struct linebuf *lb = calloc(1, sizeof(*lb));
	if (!ds || !list || !lb) {
		free(list);
		free(lb);
		if (ds)
			sh_dns_dataset_free(ds);
		return SH_ENOMEM;
	}
	size_t nf = 1;
	for (const char *p = files; *p; p++)
		nf += *p == ',';
	ds->stamps = calloc(nf, sizeof(*ds->stamps));
	if (!ds->stamps) {
		free(list);
		free(lb);
		sh_dns_dataset_free(ds);
		return SH_ENOMEM;
	}
	struct loader L;
	loader_init(&L, ds, o, warn, ud);
	int rc = 0;
	char *save = NULL;
	for (char *f = strtok_r(list, ",", &save); f && !rc; f = strtok_r(NULL, ",", &save)) {
		rc = load_file(&L, lb, f, &ds->stamps[ds->nfiles]);
		if (ds->stamps[ds->nfiles].mtime > ds->stamp)
			ds->stamp = ds->stamps[ds->nfiles].mtime;
		ds->nfiles++;
	}
	if (!rc && ds->nfiles == 0)
		rc = SH_EINVAL;
	free(list);
	free(lb);
	if (rc) {
		L.err = rc;
		(void)loader_finish(&L);
		sh_dns_dataset_free(ds);
		return rc;
	}
	rc = loader_finish(&L);
	if (rc) {
		sh_dns_dataset_free(ds);
		return rc;
	}
	*out = ds;
	return 0;
}

bool sh_dns_dataset_stale(const struct sh_dns_dataset *ds)
{
	char *list = strdup(ds->files);
	if (!list)
		return false;
	bool stale = false;
	size_t i = 0;
	char *save = NULL;
	for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save), i++) {
		struct stat st;
		if (i >= ds->nfiles || stat(f, &st) != 0 || (int64_t)st.st_mtime != ds->stamps[i].mtime ||
		    (int64_t)st.st_size != ds->stamps[i].size) {
			stale = true;
			break;
		}
	}
	free(list);
	return stale;
}

void sh_dns_dataset_free(struct sh_dns_dataset *ds)
{
	if (!ds)
		return;
	free(ds->files);
	free(ds->stamps);
	for (int i = 0; i < SH_DNS_NSUBST; i++)
		free(ds->subst[i]);
	free(ds->ns);
	free(ds->vals);
	free(ds->vlists);
	free(ds->v4lo);
	free(ds->v4val);
	free(ds->v4first);
	free(ds->v6start);
	free(ds->v6val);
	free(ds->v6idx);
	free(ds->dnodes);
	free(ds->dtab);
	free(ds->names);
	free(ds);
}

/* ---- lookups ---- */

/* The interval holding addr: the last one of its /16 bucket starting at or before it, or the
 * one running into the bucket from before. */
static size_t find4(const struct sh_dns_dataset *ds, uint32_t addr)
{
	unsigned h = addr >> 16;
	uint16_t l = (uint16_t)addr;
	size_t a = ds->v4first[h], b = ds->v4first[h + 1];
	const uint16_t *lo = ds->v4lo;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (lo[m] <= l)
			a = m + 1;
		else
			b = m;
	}
	return a - 1; /* interval 0 starts at 0.0.0.0, so a >= 1 */
}

static uint32_t start4(const struct sh_dns_dataset *ds, size_t i)
{
	size_t a = 0, b = 65536;
	while (a < b) {
		size_t m = (a + b + 1) / 2;
		if (ds->v4first[m] <= i)
			a = m;
		else
			b = m - 1;
	}
	return (uint32_t)a << 16 | ds->v4lo[i];
}

int64_t sh_dns_ds_node(const struct sh_dns_dataset *ds, const uint8_t *w, size_t n)
{
	return dn_find(ds, w, n, dn_hash(w, n));
}

uint32_t sh_dns_ds_interval4(const struct sh_dns_dataset *ds, size_t i, uint32_t *start, uint32_t *end)
{
	*start = start4(ds, i);
	*end = i + 1 < ds->n4 ? start4(ds, i + 1) - 1 : 0xffffffffu;
	return ds->v4val[i];
}

uint32_t sh_dns_ds_interval6(const struct sh_dns_dataset *ds, size_t i, sh_u128 *start, sh_u128 *end)
{
	*start = ds->v6start[i];
	*end = i + 1 < ds->n6 ? ds->v6start[i + 1] - 1 : ~(sh_u128)0;
	return ds->v6val[i];
}

uint32_t sh_dns_ds_lookup4(const struct sh_dns_dataset *ds, uint32_t addr)
{
	return ds->n4 ? ds->v4val[find4(ds, addr)] : 0;
}

uint32_t sh_dns_ds_lookup6(const struct sh_dns_dataset *ds, sh_u128 addr)
{
	if (!ds->n6)
		return 0;
	unsigned h = (unsigned)(addr >> 112);
	size_t lo = ds->v6idx[h], hi = ds->v6idx[h + 1];
	const sh_u128 *s = ds->v6start;
	while (lo < hi) {
		size_t m = (lo + hi + 1) / 2;
		if (s[m] <= addr)
			lo = m;
		else
			hi = m - 1;
	}
	return ds->v6val[lo];
}

bool sh_dns_ds_any4(const struct sh_dns_dataset *ds, uint32_t lo, uint32_t hi)
{
	if (!ds->n4)
		return false;
	size_t i = find4(ds, lo);
	if (ds->v4val[i])
		return true;
	/* adjacent intervals differ, so after an unlisted one comes a listed one */
	i++;
	return i < ds->n4 && start4(ds, i) <= hi && ds->v4val[i];
}

bool sh_dns_ds_any6(const struct sh_dns_dataset *ds, sh_u128 lo, sh_u128 hi)
{
	if (!ds->n6)
		return false;
	unsigned h = (unsigned)(lo >> 112);
	size_t a = ds->v6idx[h], b = ds->v6idx[h + 1];
	while (a < b) {
		size_t m = (a + b + 1) / 2;
		if (ds->v6start[m] <= lo)
			a = m;
		else
			b = m - 1;
	}
	for (size_t i = a; i < ds->n6 && (i == a || ds->v6start[i] <= hi); i++)
		if (ds->v6val[i])
			return true;
	return false;
}

uint32_t sh_dns_ds_lookupd(const struct sh_dns_dataset *ds, const uint8_t *rel, size_t rlen,
			   unsigned labs, bool *exists, const uint8_t **base)
{
	*exists = false;
	if (!labs || !ds->ndnodes)
		return 0;
	/* the name itself: listed, excluded, or a parent of listed names */
	int64_t k = dn_find(ds, rel, rlen, dn_hash(rel, rlen));
	if (k >= 0) {
		const struct sh_dns_dnode *d = &ds->dnodes[k];
		*exists = d->below != 0;
		if (d->plain) {
			if (d->plain == SH_DNS_EXCL)
				return 0;
			*exists = true;
			*base = ds->names + d->name;
			return d->plain;
		}
	}
	/* the closest listed wildcard: drop at least one label */
	size_t off = 0;
	while (labs > 1) {
		off += (size_t)rel[off] + 1;
		labs--;
		if (labs > ds->wmax)
			continue;
		if (labs < ds->wmin)
			break;
		int64_t w = dn_find(ds, rel + off, rlen - off, dn_hash(rel + off, rlen - off));
		if (w >= 0 && ds->dnodes[w].wild) {
			if (ds->dnodes[w].wild == SH_DNS_EXCL)
				return 0;
			*exists = true;
			*base = ds->names + ds->dnodes[w].name;
			return ds->dnodes[w].wild;
		}
	}
	return 0;
}

/* ---- generations ---- */

static int zone_name(const char *zone, uint8_t out[256], size_t *len)
{
	size_t n = strlen(zone);
	if (n == 0)
		return SH_EINVAL;
	size_t l = name_to_wire(zone, zone + n, out);
	if (!l)
		return SH_EINVAL;
	wire_lower(out, l);
	*len = l;
	return 0;
}

void sh_dns_gen_free(struct sh_dns_gen *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nzones; i++) {
		free(g->zones[i].ds);
		sh_dns_xfr_free(g->zones[i].xfr);
	}
	free(g->zones);
	for (size_t i = 0; i < g->nall; i++)
		if (--g->all[i]->refs == 0)
			sh_dns_dataset_free(g->all[i]);
	free(g->all);
	free(g);
}

int sh_dns_gen_build(const struct sh_dns_zonespec *zs, size_t nzs, struct sh_dns_dataset **ds,
		     struct sh_dns_gen **out)
{
	static uint64_t next_id = 1;
	*out = NULL;
	struct sh_dns_gen *g = calloc(1, sizeof(*g));
	if (!g || !(g->zones = calloc(nzs ? nzs : 1, sizeof(*g->zones))) ||
	    !(g->all = calloc(nzs ? nzs : 1, sizeof(*g->all)))) {
		if (g)
			free(g->zones);
		free(g);
		return SH_ENOMEM;
	}
	g->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < nzs; i++) {
		bool seen = false;
		for (size_t j = 0; j < g->nall; j++)
			seen |= g->all[j] == ds[i];
		if (!seen) {
			g->all[g->nall++] = ds[i];
			ds[i]->refs++;
		}
	}
	int rc = 0;
	for (size_t i = 0; i < nzs && !rc; i++) {
		uint8_t name[256];
		size_t len;
		rc = zone_name(zs[i].zone, name, &len);
		if (rc)
			break;
		struct sh_dns_zone *z = NULL;
		for (size_t j = 0; j < g->nzones; j++)
			if (g->zones[j].name_len == len && memcmp(g->zones[j].name, name, len) == 0)
				z = &g->zones[j];
		if (!z) {
			z = &g->zones[g->nzones++];
			memcpy(z->name, name, len);
			z->name_len = len;
			z->labels = wire_labels(name, len - 1);
		}
		struct sh_dns_dataset **nd = realloc(z->ds, (z->nds + 1) * sizeof(*nd));
		if (!nd) {
			rc = SH_ENOMEM;
			break;
		}
		z->ds = nd;
		z->ds[z->nds++] = ds[i];
		if (ds[i]->type == SH_DNS_IP6TRIE)
			z->ip6 = true;
		else if (ds[i]->type != SH_DNS_DNSET)
			z->ip4 = true;
	}
	for (size_t i = 0; i < g->nzones && !rc; i++) {
		struct sh_dns_zone *z = &g->zones[i];
		int64_t stamp = 0;
		for (size_t j = 0; j < z->nds; j++) {
			if (z->ds[j]->stamp > stamp)
				stamp = z->ds[j]->stamp;
			if (!z->soa.present && z->ds[j]->soa.present)
				z->soa = z->ds[j]->soa;
			if (!z->ns_ds && z->ds[j]->nns)
				z->ns_ds = z->ds[j];
		}
		if (!z->soa.present) {
			/* RFC 1035 wants an SOA at the apex; rbldnsd refuses SOA queries instead */
			z->soa.present = true;
			z->soa.ttl = z->nds ? z->ds[0]->ttl : 2100;
			memcpy(z->soa.mname, z->name, z->name_len);
			static const uint8_t hm[] = "\012hostmaster";
			memcpy(z->soa.rname, hm, 11);
			if (z->name_len + 11 <= 255)
				memcpy(z->soa.rname + 11, z->name, z->name_len);
			else
				z->soa.rname[0] = 0;
			z->soa.refresh = 3600;
			z->soa.retry = 900;
			z->soa.expire = 604800;
			z->soa.minimum = 300;
		}
		z->serial = z->soa.serial ? z->soa.serial : (uint32_t)stamp;
	}
	if (rc) {
		sh_dns_gen_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

int sh_dns_gen_load(const struct sh_dns_zonespec *zs, size_t nzs, const struct sh_dns_opts *o,
		    const struct sh_dns_gen *prev, sh_dns_warn_fn warn, void *ud,
		    struct sh_dns_gen **out, bool *changed)
{
	*out = NULL;
	*changed = prev == NULL;
	struct sh_dns_dataset **ds = calloc(nzs ? nzs : 1, sizeof(*ds));
	if (!ds)
		return SH_ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < nzs && !rc; i++) {
		/* the same TYPE:FILES is one dataset, loaded once */
		for (size_t j = 0; j < i && !ds[i]; j++)
			if (zs[j].type == zs[i].type && strcmp(zs[j].files, zs[i].files) == 0)
				ds[i] = ds[j];
		if (ds[i])
			continue;
		struct sh_dns_dataset *old = NULL;
		for (size_t j = 0; prev && j < prev->nall && !old; j++)
			if (prev->all[j]->type == zs[i].type && strcmp(prev->all[j]->files, zs[i].files) == 0)
				old = prev->all[j];
		if (old && !sh_dns_dataset_stale(old)) {
			ds[i] = old;
			old->refs++;
			continue;
		}
		struct sh_dns_dataset *nd;
		int lrc = sh_dns_dataset_load(zs[i].type, zs[i].files, o, warn, ud, &nd);
		if (lrc == 0) {
			ds[i] = nd;
			*changed = true;
		} else if (old) {
			if (warn)
				warn(ud, zs[i].files, 0, "load failed, keeping the previous data");
			ds[i] = old;
			old->refs++;
		} else {
			rc = lrc;
		}
	}
	if (!rc)
		rc = sh_dns_gen_build(zs, nzs, ds, out);
	/* drop the loader's references: the generation holds its own */
	for (size_t i = 0; i < nzs; i++) {
		if (!ds[i])
			continue;
		bool first = true;
		for (size_t j = 0; j < i; j++)
			first &= ds[j] != ds[i];
		if (first && --ds[i]->refs == 0)
			sh_dns_dataset_free(ds[i]);
	}
	free(ds);
	return rc;
}
