/* The DNSBL answer engine (RFC 5782 with rbldnsd's data semantics).
 *
 * A query name below a zone is turned into the dataset key: four decimal labels are an
 * IPv4 address, 32 hex nibbles an IPv6 address (or an IPv4 one via 6to4 or ::ffff:0:0/96
 * in IPv4 zones, as rbldnsd does), anything else a domain for dnset. A listed key answers
 * A and TXT records; a shorter address or a parent domain of listed names is an empty
 * non-terminal (NODATA, RFC 8020); everything else is NXDOMAIN with the SOA. Responses
 * are built in place in the caller's buffer; names are compressed against the question. */
#include "dns/answer.h"

#include <string.h>

/* Where things stand while one response is written. */
struct resp {
	struct sh_dns_wbuf w;
	const struct sh_dns_query *q;
	const struct sh_dns_zone *z;
	size_t zone_off; /* offset of the zone apex inside the question name */
	uint32_t serial;
	uint16_t an, ns;
	size_t an_start;
};

static bool is_dig(uint8_t c) { return c >= '0' && c <= '9'; }

size_t sh_dns_txt_expand(const struct sh_dns_dataset *ds, const char *tpl, size_t tlen,
			 const char *subst, size_t slen, char out[256])
{
	const char *txt = tpl, *te = tpl + tlen;
	const char *sx = txt, *sxe = te; /* what "$=" expands to */
	const char *base = ds->subst[10];
	if (tlen && tpl[0] == '=') {
		txt++;
		sx = txt;
	} else if (base && *base) {
		if (tlen) {
			sx = tpl;
			sxe = te;
		} else {
			sx = subst;
			sxe = subst + slen;
		}
		txt = base;
		te = base + strlen(base);
	}
	size_t o = 0;
	const size_t max = 254;
	while (txt < te && o < max) {
		const char *d = memchr(txt, '$', (size_t)(te - txt));
		size_t n = d ? (size_t)(d - txt) : (size_t)(te - txt);
		if (n > max - o)
			n = max - o;
		memcpy(out + o, txt, n);
		o += n;
		if (!d)
			break;
		txt = d + 1;
		const char *si;
		size_t sl;
		if (txt < te && *txt == '$') {
			si = txt++;
			sl = 1;
		} else if (txt < te && is_dig((uint8_t)*txt)) {
			si = ds->subst[*txt - '0'];
			if (si) {
				sl = strlen(si);
			} else {
				si = txt - 1;
				sl = 2;
			}
			txt++;
		} else if (txt < te && *txt == '=') {
			si = sx;
			sl = (size_t)(sxe - sx);
			txt++;
		} else {
			si = subst;
			sl = slen;
		}
		if (sl > max - o)
			sl = max - o;
		memcpy(out + o, si, sl);
		o += sl;
	}
	return o;
}

/* Writes a wire name, ending in a pointer to the question's zone apex when it lies in it. */
static void put_name(struct resp *r, const uint8_t *name)
{
	size_t n = 0;
	while (name[n])
		n += (size_t)name[n] + 1;
	n++;
	const struct sh_dns_zone *z = r->z;
	if (n >= z->name_len) {
		/* the suffix of length name_len must start on a label boundary */
		for (size_t o = 0; o + z->name_len <= n; o += (size_t)name[o] + 1) {
			if (o + z->name_len == n) {
				bool eq = true;
				for (size_t i = 0; i < z->name_len && eq; i++) {
					uint8_t c = name[o + i];
					if (c >= 'A' && c <= 'Z')
						c |= 0x20;
					eq = c == z->name[i];
				}
				if (eq) {
					sh_dns_put(&r->w, name, o);
					sh_dns_put16(&r->w, 0xc000 | (unsigned)(SH_DNS_HDR + r->zone_off));
					return;
				}
				break;
			}
			if (!name[o])
				break;
		}
	}
	sh_dns_put(&r->w, name, n);
}

static void put_soa_rr(struct resp *r, uint32_t ttl)
{
	const struct sh_dns_soa *s = &r->z->soa;
	sh_dns_put16(&r->w, 0xc000 | (unsigned)(SH_DNS_HDR + r->zone_off));
	sh_dns_put16(&r->w, SH_DNS_T_SOA);
	sh_dns_put16(&r->w, SH_DNS_C_IN);
	sh_dns_put32(&r->w, ttl);
	size_t lp = r->w.len;
	sh_dns_put16(&r->w, 0);
	put_name(r, s->mname);
	put_name(r, s->rname);
	sh_dns_put32(&r->w, r->serial);
	sh_dns_put32(&r->w, s->refresh);
	sh_dns_put32(&r->w, s->retry);
	sh_dns_put32(&r->w, s->expire);
	sh_dns_put32(&r->w, s->minimum);
	if (!r->w.overflow) {
		size_t rl = r->w.len - lp - 2;
		r->w.p[lp] = (uint8_t)(rl >> 8);
		r->w.p[lp + 1] = (uint8_t)rl;
	}
}

void sh_dns_put_soa(struct sh_dns_wbuf *w, const struct sh_dns_zone *z, size_t owner_off,
		    uint32_t ttl, uint32_t serial)
{
	struct resp r = {.w = *w, .z = z, .zone_off = owner_off - SH_DNS_HDR, .serial = serial};
	put_soa_rr(&r, ttl);
	*w = r.w;
}

static void put_ns_rrs(struct resp *r)
{
	const struct sh_dns_dataset *d = r->z->ns_ds;
	for (size_t i = 0; d && i < d->nns; i++) {
		sh_dns_put16(&r->w, 0xc000 | (unsigned)(SH_DNS_HDR + r->zone_off));
		sh_dns_put16(&r->w, SH_DNS_T_NS);
		sh_dns_put16(&r->w, SH_DNS_C_IN);
		sh_dns_put32(&r->w, d->ns_ttl);
		size_t lp = r->w.len;
		sh_dns_put16(&r->w, 0);
		put_name(r, d->ns[i]);
		if (!r->w.overflow) {
			size_t rl = r->w.len - lp - 2;
			r->w.p[lp] = (uint8_t)(rl >> 8);
			r->w.p[lp + 1] = (uint8_t)rl;
		}
		r->an++;
	}
}

/* Adds an answer RR with owner the question name, unless the same RR is there already;
 * all RRs of one type get the smallest TTL (as rbldnsd does). */
static void add_rr(struct resp *r, uint16_t type, const uint8_t *rd, size_t rdlen, uint32_t ttl)
{
	uint8_t *p = r->w.p;
	size_t o = r->an_start;
	bool have = false;
	uint32_t minttl = ttl;
	for (unsigned i = 0; i < r->an; i++) {
		uint16_t t = sh_dns_get16(p + o + 2);
		size_t l = sh_dns_get16(p + o + 10);
		if (t == type) {
			uint32_t et = (uint32_t)p[o + 6] << 24 | (uint32_t)p[o + 7] << 16 |
				      (uint32_t)p[o + 8] << 8 | p[o + 9];
			if (et < minttl)
				minttl = et;
			have = true;
			if (l == rdlen && memcmp(p + o + 12, rd, rdlen) == 0)
				return;
		}
		o += 12 + l;
	}
	if (have && minttl != ttl) {
		/* equalize: the new RR and the existing ones take the smaller TTL */
		o = r->an_start;
		for (unsigned i = 0; i < r->an; i++) {
			size_t l = sh_dns_get16(p + o + 10);
			if (sh_dns_get16(p + o + 2) == type) {
				p[o + 6] = (uint8_t)(minttl >> 24), p[o + 7] = (uint8_t)(minttl >> 16);
				p[o + 8] = (uint8_t)(minttl >> 8), p[o + 9] = (uint8_t)minttl;
			}
			o += 12 + l;
		}
	}
	if (r->an >= 255) {
		r->w.overflow = true;
		return;
	}
	sh_dns_put16(&r->w, 0xc00c);
	sh_dns_put16(&r->w, type);
	sh_dns_put16(&r->w, SH_DNS_C_IN);
	sh_dns_put32(&r->w, minttl);
	sh_dns_put16(&r->w, (unsigned)rdlen);
	sh_dns_put(&r->w, rd, rdlen);
	if (!r->w.overflow)
		r->an++;
}

/* Adds the records of one value (a record offset or a list). */
static void add_value(struct resp *r, const struct sh_dns_dataset *ds, uint32_t val, bool want_a,
		      bool want_txt, const char *subst, size_t slen)
{
	const uint32_t *list = &val;
	uint32_t n = 1;
	if (val & SH_DNS_VLIST) {
		list = ds->vlists + (val & ~SH_DNS_VLIST);
		n = list[0];
		list++;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *rec = ds->vals + list[i];
		if (want_a)
			add_rr(r, SH_DNS_T_A, rec, 4, ds->ttl);
		/* under a "$=" base template even an entry without TXT gets one (rbldnsd) */
		if (want_txt && (rec[4] || (ds->subst[10] && *ds->subst[10]))) {
			char txt[257];
			size_t tl = sh_dns_txt_expand(ds, (const char *)rec + 5, rec[4], subst, slen,
						      txt + 1);
			if (tl) {
				txt[0] = (char)tl;
				add_rr(r, SH_DNS_T_TXT, (const uint8_t *)txt, tl + 1, ds->ttl);
			}
		}
	}
}

/* Decimal label of 1-3 digits, value <= 255 (rbldnsd's rule); -1 otherwise. */
static int octet(const uint8_t *l)
{
	unsigned n = l[0];
	if (n < 1 || n > 3)
		return -1;
	unsigned v = 0;
	for (unsigned i = 1; i <= n; i++) {
		if (!is_dig(l[i]))
			return -1;
		v = v * 10 + (unsigned)(l[i] - '0');
	}
	return v > 255 ? -1 : (int)v;
}

static int nibble(const uint8_t *l)
{
	if (l[0] != 1)
		return -1;
	uint8_t c = l[1];
	if (is_dig(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* What the relative name says as an address. */
struct qaddr {
	int kind;       /* 0 none, 4 IPv4 address, 6 IPv6 address, -4/-6 a partial prefix */
	uint32_t a4, lo4, hi4;
	sh_u128 a6, lo6, hi6;
	bool v4_from6;  /* an IPv4 address taken from a 6to4 or mapped IPv6 name */
	uint32_t a4b;
};

static void parse_addr(const struct sh_dns_query *q, unsigned rl, struct qaddr *qa)
{
	qa->kind = 0;
	qa->v4_from6 = false;
	if (rl >= 1 && rl <= 4) {
		uint32_t a = 0;
		unsigned i;
		for (i = 0; i < rl; i++) {
			int o = octet(q->qname + q->lab[i]);
			if (o < 0)
				break;
			/* labels are reversed: the first is the last octet */
			a |= (uint32_t)o << (8 * (4 - rl + i));
		}
		if (i == rl) {
			if (rl == 4) {
				qa->kind = 4;
				qa->a4 = a;
			} else {
				qa->kind = -4;
				qa->lo4 = a;
				qa->hi4 = a | (0xffffffffu >> (8 * rl));
			}
		}
	}
	if (qa->kind == 0 && rl >= 1 && rl <= 32) {
		sh_u128 a = 0;
		unsigned i;
		for (i = 0; i < rl; i++) {
			int v = nibble(q->qname + q->lab[i]);
			if (v < 0)
				break;
			a |= (sh_u128)(unsigned)v << (4 * (32 - rl + i));
		}
		if (i == rl) {
			if (rl == 32) {
				qa->kind = 6;
				qa->a6 = a;
				if ((unsigned)(a >> 112) == 0x2002) {
					qa->v4_from6 = true;
					qa->a4b = (uint32_t)(a >> 80);
				} else if ((a >> 32) == 0xffff) {
					qa->v4_from6 = true;
					qa->a4b = (uint32_t)a;
				}
			} else {
				qa->kind = -6;
				qa->lo6 = a;
				qa->hi6 = a | ((~(sh_u128)0) >> (4 * rl));
			}
		}
	}
}

static size_t put_opt(struct sh_dns_wbuf *w, const struct sh_dns_query *q, uint8_t ext_rcode)
{
	uint8_t opt[11] = {0, 0, SH_DNS_T_OPT, SH_DNS_UDP_MAX >> 8, SH_DNS_UDP_MAX & 255, ext_rcode,
			   0, (uint8_t)(q->edns_do ? 0x80 : 0), 0, 0, 0};
	sh_dns_put(w, opt, sizeof(opt));
	return 1;
}

/* Header + question + (OPT): the skeleton of error, refused and truncated responses. */
static size_t short_response(const struct sh_dns_query *q, const uint8_t *pkt, uint8_t *out,
			     size_t cap, unsigned rcode, bool aa, bool tc)
{
	struct sh_dns_wbuf w = {out, 0, cap, false};
	uint8_t h[12] = {0};
	h[0] = (uint8_t)(q->id >> 8);
	h[1] = (uint8_t)q->id;
	h[2] = (uint8_t)(0x80 | q->opcode << 3 | (aa ? 4 : 0) | (tc ? 2 : 0) | (q->rd ? 1 : 0));
	h[3] = (uint8_t)((q->cd ? 0x10 : 0) | (rcode & 15));
	bool qs = q->question_ok && q->qend - SH_DNS_HDR <= cap - SH_DNS_HDR - 11;
	h[5] = qs ? 1 : 0;
	bool opt = q->edns && q->rcode != SH_DNS_R_FORMERR;
	h[11] = opt ? 1 : 0;
	sh_dns_put(&w, h, 12);
	if (qs)
		sh_dns_put(&w, pkt + SH_DNS_HDR, q->qend - SH_DNS_HDR);
	if (opt)
		put_opt(&w, q, (uint8_t)(rcode >> 4));
	return w.overflow ? 0 : w.len;
}

static const struct sh_dns_zone *find_zone(const struct sh_dns_gen *g, const struct sh_dns_query *q)
{
	const struct sh_dns_zone *best = NULL;
	for (size_t i = 0; i < g->nzones; i++) {
		const struct sh_dns_zone *z = &g->zones[i];
		if (z->labels > q->nlabels || (best && z->labels <= best->labels))
			continue;
		size_t off = z->labels == 0 ? q->qname_len - 1 : q->lab[q->nlabels - z->labels];
		if (q->qname_len - off == z->name_len && memcmp(q->qname + off, z->name, z->name_len) == 0)
			best = z;
	}
	return best;
}

size_t sh_dns_answer(const struct sh_dns_gen *g, const uint8_t *pkt, size_t len, bool tcp,
		     uint8_t *out, size_t cap, struct sh_dns_ainfo *info)
{
	struct sh_dns_query q;
	memset(info, 0, sizeof(*info));
	int prc = sh_dns_parse_query(pkt, len, &q);
	if (prc == SH_ENOENT || cap < 512)
		return 0;
	info->qend = q.question_ok ? q.qend : SH_DNS_HDR;
	size_t limit = tcp ? 65535 : q.edns ? (q.edns_udp < 512 ? 512 : q.edns_udp) : 512;
	if (!tcp && limit > SH_DNS_UDP_MAX)
		limit = SH_DNS_UDP_MAX;
	if (limit > cap)
		limit = cap;
	if (prc != 0) {
		info->rcode = SH_DNS_R_FORMERR;
		return short_response(&q, pkt, out, limit, SH_DNS_R_FORMERR, false, false);
	}
	if (q.opcode != SH_DNS_OP_QUERY) {
		info->rcode = SH_DNS_R_NOTIMP;
		return short_response(&q, pkt, out, limit, SH_DNS_R_NOTIMP, false, false);
	}
	if (q.edns && q.edns_version > 0) {
		info->rcode = SH_DNS_R_BADVERS;
		return short_response(&q, pkt, out, limit, SH_DNS_R_BADVERS, false, false);
	}
	if (q.ancount || (q.nscount && q.qtype != SH_DNS_T_IXFR) || q.qtype == SH_DNS_T_OPT || q.qtype == 0) {
		info->rcode = SH_DNS_R_FORMERR;
		return short_response(&q, pkt, out, limit, SH_DNS_R_FORMERR, false, false);
	}
	const struct sh_dns_zone *z = q.qclass == SH_DNS_C_IN || q.qclass == SH_DNS_C_ANY ? find_zone(g, &q) : NULL;
	if (!z) {
		info->rcode = SH_DNS_R_REFUSED;
		return short_response(&q, pkt, out, limit, SH_DNS_R_REFUSED, false, false);
	}
	info->zone = z;
	if (q.qtype == SH_DNS_T_AXFR || (q.qtype == SH_DNS_T_IXFR && tcp)) {
		/* the server streams transfers; refused here when it does not */
		info->transfer = tcp;
		info->rcode = tcp ? SH_DNS_R_REFUSED : SH_DNS_R_NOTIMP;
		return short_response(&q, pkt, out, limit, info->rcode, false, false);
	}
	if (q.qtype >= 128 && q.qtype != SH_DNS_T_ANY) {
		info->rcode = SH_DNS_R_NOTIMP;
		return short_response(&q, pkt, out, limit, SH_DNS_R_NOTIMP, true, false);
	}

	struct resp r = {.w = {out, 0, limit - (q.edns ? 11 : 0), false}, .q = &q, .z = z, .serial = z->serial};
	r.zone_off = q.qname_len - z->name_len;
	uint8_t h[12] = {0};
	sh_dns_put(&r.w, h, 12);
	sh_dns_put(&r.w, pkt + SH_DNS_HDR, q.qend - SH_DNS_HDR);
	r.an_start = r.w.len;
	unsigned rl = q.nlabels - z->labels; /* labels below the apex */
	unsigned rcode = SH_DNS_R_NOERROR;
	bool exists = false, listed = false;
	uint16_t qt = q.qtype;
	if (rl == 0) {
		exists = true;
		if (qt == SH_DNS_T_SOA || qt == SH_DNS_T_ANY || qt == SH_DNS_T_IXFR) {
			put_soa_rr(&r, z->soa.ttl);
			r.an++;
		} else if (qt == SH_DNS_T_NS) {
			put_ns_rrs(&r);
		}
	} else {
		bool want_a = qt == SH_DNS_T_A || qt == SH_DNS_T_ANY;
		bool want_txt = qt == SH_DNS_T_TXT;
		struct qaddr qa = {0};
		if (z->ip4 || z->ip6)
			parse_addr(&q, rl, &qa);
		char sbuf[1024];
		for (size_t i = 0; i < z->nds; i++) {
			const struct sh_dns_dataset *ds = z->ds[i];
			uint32_t v = 0;
			size_t sl = 0;
			bool ex = false;
			if (ds->type == SH_DNS_DNSET) {
				const uint8_t *base = NULL;
				size_t rlen = rl < q.nlabels ? q.lab[rl] : q.qname_len - 1;
				v = sh_dns_ds_lookupd(ds, q.qname, rlen, rl, &ex, &base);
				if (v && want_txt)
					sl = sh_dns_name_str(base + 1, base[0], sbuf);
				if (v && sl == 1 && sbuf[0] == '.')
					sl = 0;
			} else if (ds->type == SH_DNS_IP6TRIE) {
				if (qa.kind == 6) {
					v = sh_dns_ds_lookup6(ds, qa.a6);
					if (v && want_txt)
						sl = sh_dns_fmt_ip6(qa.a6, sbuf);
				} else if (qa.kind == -6) {
					ex = sh_dns_ds_any6(ds, qa.lo6, qa.hi6);
				}
			} else {
				if (qa.kind == 4 || (qa.kind == 6 && qa.v4_from6)) {
					uint32_t a = qa.kind == 4 ? qa.a4 : qa.a4b;
					v = sh_dns_ds_lookup4(ds, a);
					if (v && want_txt)
						sl = sh_dns_fmt_ip4(a, sbuf);
				} else if (qa.kind == -4) {
					ex = sh_dns_ds_any4(ds, qa.lo4, qa.hi4);
				}
			}
			if (v) {
				listed = true;
				add_value(&r, ds, v, want_a, want_txt, sbuf, sl);
			}
			exists |= ex;
		}
		exists |= listed;
		if (!exists)
			rcode = SH_DNS_R_NXDOMAIN;
	}
	if (r.an == 0 && !r.w.overflow) {
		/* NXDOMAIN or NODATA: the SOA, with the negative TTL of RFC 2308 */
		uint32_t t = z->soa.minimum < z->soa.ttl ? z->soa.minimum : z->soa.ttl;
		put_soa_rr(&r, t);
		r.ns = 1;
	}
	info->listed = listed;
	info->rcode = (uint8_t)rcode;
	if (r.w.overflow) {
		info->truncated = true;
		return short_response(&q, pkt, out, limit, rcode, true, true);
	}
	out[0] = (uint8_t)(q.id >> 8);
	out[1] = (uint8_t)q.id;
	out[2] = (uint8_t)(0x80 | 4 | (q.rd ? 1 : 0));
	out[3] = (uint8_t)((q.cd ? 0x10 : 0) | rcode);
	out[5] = 1;
	out[6] = (uint8_t)(r.an >> 8);
	out[7] = (uint8_t)r.an;
	out[9] = (uint8_t)r.ns;
	if (q.edns) {
		r.w.cap += 11;
		put_opt(&r.w, &q, 0);
		out[11] = 1;
	}
	return r.w.len;
}
