/* Text network tables: ip-location-db CSV, CAIDA pfx2as and iptoasn TSV, parsed into rows of
 * prefix -> ASN / org / country. Ranges are split into CIDRs; every bad line is reported
 * with its number and the rest kept. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "netmap/asmap.h"

/* Longer organisation names are not names; the line is reported instead. */
#define ORG_MAX 1024

static const struct {
	enum sh_asmap_format f;
	const char *name;
} formats[] = {
	{SH_ASMAP_IPLDB, "ipldb"},
	{SH_ASMAP_PFX2AS, "pfx2as"},
	{SH_ASMAP_IPTOASN, "iptoasn"},
	{SH_ASMAP_MMDB, "mmdb"},
};

enum sh_asmap_format sh_asmap_format_from_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(name, formats[i].name) == 0)
			return formats[i].f;
	return 0;
}

const char *sh_asmap_format_name(enum sh_asmap_format f)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].f == f)
			return formats[i].name;
	return NULL;
}

struct span {
	const char *s;
	size_t n;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static struct span trim(struct span x)
{
	while (x.n && is_blank(x.s[0]))
		x.s++, x.n--;
	while (x.n && is_blank(x.s[x.n - 1]))
		x.n--;
	return x;
}

static bool span_ieq(struct span x, const char *lit)
{
	size_t n = strlen(lit);
	if (x.n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = x.s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return false;
	}
	return true;
}

enum sh_asmap_format sh_asmap_format_detect(const char *head, size_t n)
{
	if (!head)
		return 0;
	const char *p = head, *end = head + n;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct span line = trim((struct span){p, (size_t)((nl ? nl : end) - p)});
		p = nl ? nl + 1 : end;
		if (line.n == 0 || line.s[0] == '#')
			continue;
		if (memchr(line.s, '\0', line.n))
			return 0;
		size_t tabs = 0, commas = 0;
		for (size_t i = 0; i < line.n; i++) {
			tabs += line.s[i] == '\t';
			commas += line.s[i] == ',';
		}
		if (tabs >= 4)
			return SH_ASMAP_IPTOASN;
		if (tabs == 2)
			return SH_ASMAP_PFX2AS;
		if (commas >= 2 && !tabs)
			return SH_ASMAP_IPLDB;
		return 0;
	}
	return 0;
}

/* ---- one parse ---------------------------------------------------------------------------- */

struct parse {
	sh_netrow_cb cb;
	void *arg;
	struct sh_netrow row;
	char *org;      /* NUL-terminated copy of the current organisation */
	size_t org_cap;
	struct span fld[6];
	size_t n_fld;
	int fields;
};

/* Decimal 0..UINT32_MAX, digits only. */
static bool parse_u32(struct span x, uint32_t *out)
{
	if (x.n == 0 || x.n > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < x.n; i++) {
		if (x.s[i] < '0' || x.s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(x.s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* "13335" or "AS13335". */
static bool parse_asn(struct span x, uint32_t *out)
{
	x = trim(x);
	if (x.n > 2 && (x.s[0] == 'A' || x.s[0] == 'a') && (x.s[1] == 'S' || x.s[1] == 's'))
		x.s += 2, x.n -= 2;
	return parse_u32(x, out);
}

/* Two letters, or one of the spellings of "unknown" (empty, None, -, --, ZZ). */
static bool parse_country(struct span x, char out[3])
{
	x = trim(x);
	out[0] = out[1] = out[2] = '\0';
	if (x.n == 0 || span_ieq(x, "none") || span_ieq(x, "-") || span_ieq(x, "--") ||
	    span_ieq(x, "zz"))
		return true;
	if (x.n != 2)
		return false;
	for (int i = 0; i < 2; i++) {
		char c = x.s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return false;
		out[i] = c;
	}
	return true;
}

/* Length of the well-formed UTF-8 sequence at s (no overlongs, surrogates, > U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool sh_asmap_org_clean(const char *s, size_t n, char *dst)
{
	struct span x = trim((struct span){s, n});
	for (size_t i = 0; i < x.n;) {
		size_t k = utf8_seq((const unsigned char *)x.s + i, x.n - i);
		if (!k) {
			dst[0] = '\0';
			return false;
		}
		i += k;
	}
	/* control characters would break every later output format */
	for (size_t i = 0; i < x.n; i++) {
		unsigned char c = (unsigned char)x.s[i];
		dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	dst[x.n] = '\0';
	return true;
}

/* Copies the organisation into p->org, undoing CSV "" escapes when unquote; *why is set when
 * the name is unusable. */
static int set_org(struct parse *p, struct span x, bool unquote, const char **why)
{
	if (x.n > ORG_MAX) {
		*why = "organisation name too long";
		return 0;
	}
	if (x.n + 1 > p->org_cap) {
		size_t cap = x.n + 1 < 256 ? 256 : x.n + 1;
		char *o = realloc(p->org, cap);
		if (!o)
			return SH_ENOMEM;
		p->org = o;
		p->org_cap = cap;
	}
	size_t m = x.n;
	if (unquote) {
		m = 0;
		for (size_t i = 0; i < x.n; i++) {
			if (x.s[i] == '"' && i + 1 < x.n)
				i++;
			p->org[m++] = x.s[i];
		}
	} else {
		memcpy(p->org, x.s, m);
	}
	if (!sh_asmap_org_clean(p->org, m, p->org)) {
		*why = "invalid UTF-8 in organisation name";
		return 0;
	}
	p->row.org = p->org;
	return 0;
}

/* Splits a CSV line (RFC 4180 quoting) into p->fld; *quoted[i] tells whether field i was
 * quoted (and so may hold "" escapes). */
static const char *split_csv(struct parse *p, struct span line, bool quoted[6])
{
	p->n_fld = 0;
	const char *s = line.s, *end = line.s + line.n;
	for (;;) {
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		struct span f;
		bool q = s < end && *s == '"';
		if (q) {
			const char *b = ++s;
			for (;;) {
				const char *c = memchr(s, '"', (size_t)(end - s));
				if (!c)
					return "unterminated quote";
				if (c + 1 < end && c[1] == '"') {
					s = c + 2;
					continue;
				}
				f = (struct span){b, (size_t)(c - b)};
				s = c + 1;
				break;
			}
			while (s < end && (*s == ' ' || *s == '\t'))
				s++;
			if (s < end && *s != ',')
				return "text after a closing quote";
		} else {
			const char *c = memchr(s, ',', (size_t)(end - s));
			f = (struct span){s, (size_t)((c ? c : end) - s)};
			s = c ? c : end;
		}
		if (p->n_fld == 6)
			return "wrong column count";
		quoted[p->n_fld] = q;
		p->fld[p->n_fld++] = f;
		if (s == end)
			return NULL;
		s++; /* the comma */
	}
}

/* Splits on single tabs (pfx2as and iptoasn are tab-separated; empty fields count); the
 * last field takes the rest of the line. */
static void split_tabs(struct parse *p, struct span line, size_t max)
{
	p->n_fld = 0;
	const char *s = line.s, *end = line.s + line.n;
	while (p->n_fld + 1 < max) {
		const char *t = memchr(s, '\t', (size_t)(end - s));
		if (!t)
			break;
		p->fld[p->n_fld++] = (struct span){s, (size_t)(t - s)};
		s = t + 1;
	}
	p->fld[p->n_fld++] = (struct span){s, (size_t)(end - s)};
}

static int emit_prefix(const struct sh_prefix *pfx, void *arg)
{
	struct parse *p = arg;
	p->row.prefix = *pfx;
	return p->cb(&p->row, p->arg);
}

/* Parses "first", "last" into a range; the reason when bad. */
static const char *parse_range(struct span a, struct span b, struct sh_ip *first,
			       struct sh_ip *last)
{
	a = trim(a);
	b = trim(b);
	if (sh_ip_parse(a.s, a.n, first) != 0)
		return "bad start address";
	if (sh_ip_parse(b.s, b.n, last) != 0)
		return "bad end address";
	if (first->af != last->af)
		return "start and end addresses of different families";
	if (sh_ip_cmp(first, last) > 0)
		return "start address after end address";
	return NULL;
}

/* Each line parser returns 0 or SH_ENOMEM and sets *why: NULL when p->row and the range are
 * ready, "" when the line is well-formed but holds nothing to keep, else why it is bad. */
static int line_ipldb(struct parse *p, struct span line, struct sh_ip *first,
		      struct sh_ip *last, const char **why)
{
	bool quoted[6];
	if ((*why = split_csv(p, line, quoted)))
		return 0;
	if (p->n_fld != 3 && p->n_fld != 4) {
		*why = "wrong column count (want start,end,asn,org or start,end,country)";
		return 0;
	}
	if ((*why = parse_range(p->fld[0], p->fld[1], first, last)))
		return 0;
	p->row.asn = 0;
	p->row.org = "";
	p->row.country[0] = '\0';
	if (p->n_fld == 3) {
		struct span x = trim(p->fld[2]);
		if (x.n && x.s[0] >= '0' && x.s[0] <= '9') {
			if (!parse_asn(x, &p->row.asn))
				*why = "bad ASN";
		} else if (!parse_country(x, p->row.country)) {
			*why = "bad country code";
		}
	} else if (!parse_asn(p->fld[2], &p->row.asn)) {
		*why = "bad ASN";
	} else {
		int rc = set_org(p, p->fld[3], quoted[3], why);
		if (rc)
			return rc;
	}
	if (*why)
		return 0;
	if (p->row.asn == 0 && !p->row.country[0])
		*why = "";
	else
		p->fields |= p->row.asn ? SH_ASMAP_HAS_ASN : SH_ASMAP_HAS_COUNTRY;
	return 0;
}

static int line_pfx2as(struct parse *p, struct span line, struct sh_ip *first,
		       struct sh_ip *last, const char **why)
{
	split_tabs(p, line, 3);
	if (p->n_fld != 3 || memchr(p->fld[2].s, '\t', p->fld[2].n)) {
		*why = "wrong column count (want prefix<TAB>length<TAB>asn)";
		return 0;
	}
	struct span a = trim(p->fld[0]);
	uint32_t len;
	if (sh_ip_parse(a.s, a.n, first) != 0) {
		*why = "bad prefix address";
		return 0;
	}
	if (!parse_u32(trim(p->fld[1]), &len) || len > (first->af == SH_AF_V4 ? 32u : 128u)) {
		*why = "bad prefix length";
		return 0;
	}
	struct sh_prefix pfx;
	sh_prefix_from_ip(first, len, &pfx);
	if (memcmp(pfx.ip.b, first->b, sizeof(first->b)) != 0) {
		*why = "host bits set";
		return 0;
	}
	sh_prefix_last(&pfx, last);
	/* MOAS "a_b" and AS sets "a,b": the first origin is kept */
	struct span asn = trim(p->fld[2]);
	size_t k = 0;
	while (k < asn.n && asn.s[k] != '_' && asn.s[k] != ',')
		k++;
	bool dangling = k < asn.n && k + 1 == asn.n;
	asn.n = k;
	if (dangling || !parse_asn(asn, &p->row.asn)) {
		*why = "bad ASN";
		return 0;
	}
	p->row.org = "";
	p->row.country[0] = '\0';
	if (p->row.asn == 0)
		*why = "";
	else
		p->fields |= SH_ASMAP_HAS_ASN;
	return 0;
}

static int line_iptoasn(struct parse *p, struct span line, struct sh_ip *first,
			struct sh_ip *last, const char **why)
{
	split_tabs(p, line, 5);
	if (p->n_fld != 5) {
		*why = "wrong column count (want start<TAB>end<TAB>asn<TAB>country<TAB>description)";
		return 0;
	}
	if ((*why = parse_range(p->fld[0], p->fld[1], first, last)))
		return 0;
	if (!parse_asn(p->fld[2], &p->row.asn)) {
		*why = "bad ASN";
		return 0;
	}
	if (!parse_country(p->fld[3], p->row.country)) {
		*why = "bad country code";
		return 0;
	}
	struct span desc = trim(p->fld[4]);
	/* AS 0 / "Not routed": the range is unknown, not attributed */
	if (p->row.asn == 0 || span_ieq(desc, "not routed")) {
		*why = "";
		return 0;
	}
	int rc = set_org(p, desc, false, why);
	if (!rc && !*why)
		p->fields |= SH_ASMAP_HAS_ASN | (p->row.country[0] ? SH_ASMAP_HAS_COUNTRY : 0);
	return rc;
}

int sh_asmap_parse_text(enum sh_asmap_format f, const char *buf, size_t len, sh_netrow_cb cb,
			sh_asmap_bad_cb bad, void *arg, int *fields)
{
	if (fields)
		*fields = 0;
	if ((!buf && len) || !cb)
		return SH_EINVAL;
	int (*parse_line)(struct parse *, struct span, struct sh_ip *, struct sh_ip *,
			  const char **);
	switch (f) {
	case SH_ASMAP_IPLDB:
		parse_line = line_ipldb;
		break;
	case SH_ASMAP_PFX2AS:
		parse_line = line_pfx2as;
		break;
	case SH_ASMAP_IPTOASN:
		parse_line = line_iptoasn;
		break;
	default:
		return SH_EFORMAT;
	}
	struct parse p = {.cb = cb, .arg = arg};
	const char *s = buf, *end = buf ? buf + len : buf;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	unsigned long no = 0;
	int rc = 0;
	while (s < end && !rc) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		struct span raw = {s, (size_t)((nl ? nl : end) - s)};
		s = nl ? nl + 1 : end;
		no++;
		if (raw.n && raw.s[raw.n - 1] == '\r')
			raw.n--;
		struct span line = trim(raw);
		if (line.n == 0 || line.s[0] == '#')
			continue;
		const char *why = NULL;
		struct sh_ip first, last;
		if (memchr(raw.s, '\0', raw.n))
			why = "NUL byte in line";
		else if ((rc = parse_line(&p, line, &first, &last, &why)))
			break;
		if (!why)
			rc = sh_range_to_prefixes(&first, &last, emit_prefix, &p);
		else if (*why && bad)
			bad(no, why, arg);
	}
	free(p.org);
	if (fields)
		*fields = p.fields;
	return rc;
}
