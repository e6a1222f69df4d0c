/* Zone transfers out (AXFR, IXFR) and NOTIFY.
 *
 * A zone is turned into the records a standard secondary needs to give the same answers:
 * every listed address range is cut into blocks on label boundaries (an exact name for a
 * /32 or /128, "*.c.b.a" for a /24, "*.b.a" for a /16, ... and per nibble for IPv6), with
 * the dataset's A and TXT values ('$' in a wildcard's TXT becomes the block's first address,
 * as rbldnsd's dump does). dnset names and wildcards map one to one; a name excluded below
 * a listed wildcard gets an HINFO marker so the wildcard does not cover it. The records are
 * kept sorted, so the difference between two generations is one merge, which becomes an
 * IXFR step in a bounded history. */
#include "dns/xfr.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/answer.h"
#include "lib/arena.h"

#define MSG_MAX 16384

struct rbuild {
	struct sh_dns_rrs r;
	size_t cap, ocap;
	int err;
};


static void add_rec(struct rbuild *b, const uint8_t *owner, size_t olen, uint16_t type, uint32_t ttl,
		    const uint8_t *rd, size_t rdlen)
{
	size_t n = 1 + olen + 8 + rdlen;
	if (b->err || olen > 255 || rdlen > 65535 || b->r.len + n > UINT32_MAX ||
	    sh_array_grow((void **)&b->r.buf, &b->cap, b->r.len + n, 1) ||
	    sh_array_grow((void **)&b->r.off, &b->ocap, b->r.n + 1, sizeof(uint32_t))) {
		b->err = SH_ENOMEM;
		return;
	}
	uint8_t *p = b->r.buf + b->r.len;
	b->r.off[b->r.n++] = (uint32_t)b->r.len;
	*p++ = (uint8_t)olen;
	if (olen)
		memcpy(p, owner, olen);
	p += olen;
	*p++ = (uint8_t)(type >> 8), *p++ = (uint8_t)type;
	*p++ = (uint8_t)(ttl >> 24), *p++ = (uint8_t)(ttl >> 16), *p++ = (uint8_t)(ttl >> 8), *p++ = (uint8_t)ttl;
	*p++ = (uint8_t)(rdlen >> 8), *p++ = (uint8_t)rdlen;
	memcpy(p, rd, rdlen);
	b->r.len += n;
}

static size_t rec_len(const uint8_t *r)
{
	size_t o = 1 + (size_t)r[0] + 6;
	return o + 2 + (size_t)(r[o] << 8 | r[o + 1]);
}

/* A and TXT records of one value at owner; subst fills '$' in TXT. */
static void add_value(struct rbuild *b, const struct sh_dns_dataset *ds, uint32_t val,
		      const uint8_t *owner, size_t olen, const char *subst, size_t slen)
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
		add_rec(b, owner, olen, SH_DNS_T_A, ds->ttl, rec, 4);
		if (rec[4] || (ds->subst[10] && *ds->subst[10])) {
			char txt[257];
			size_t tl = sh_dns_txt_expand(ds, (const char *)rec + 5, rec[4], subst, slen, txt + 1);
			if (tl) {
				txt[0] = (char)tl;
				add_rec(b, owner, olen, SH_DNS_T_TXT, ds->ttl, (const uint8_t *)txt, tl + 1);
			}
		}
	}
}

static void enum_ip4(struct rbuild *b, const struct sh_dns_dataset *ds)
{
	for (size_t i = 0; i < ds->n4 && !b->err; i++) {
		uint32_t s, e;
		uint32_t v = sh_dns_ds_interval4(ds, i, &s, &e);
		if (!v)
			continue;
		uint64_t lo = s, hi = (uint64_t)e + 1;
		while (lo < hi && !b->err) {
			unsigned len = 32;
			for (unsigned l = 24; l >= 8; l -= 8) {
				uint64_t sz = 1ull << (32 - l);
				if (lo % sz == 0 && lo + sz <= hi)
					len = l;
				else
					break;
			}
			uint8_t owner[32];
			size_t o = 0;
			if (len < 32) {
				owner[o++] = 1;
				owner[o++] = '*';
			}
			for (int k = (int)len / 8 - 1; k >= 0; k--) {
				char lab[4];
				int ll = snprintf(lab, sizeof(lab), "%u", (unsigned)(lo >> (24 - 8 * k)) & 255);
				owner[o++] = (uint8_t)ll;
				memcpy(owner + o, lab, (size_t)ll);
				o += (size_t)ll;
			}
			char sb[20];
			size_t sl = sh_dns_fmt_ip4((uint32_t)lo, sb);
			add_value(b, ds, v, owner, o, sb, sl);
			lo += 1ull << (32 - len);
		}
	}
}

static void enum_ip6(struct rbuild *b, const struct sh_dns_dataset *ds)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < ds->n6 && !b->err; i++) {
		sh_u128 s, e;
		uint32_t v = sh_dns_ds_interval6(ds, i, &s, &e);
		if (!v)
			continue;
		sh_u128 lo = s;
		for (;;) {
			/* the largest nibble-aligned block at lo that ends by e */
			unsigned bits = 0; /* host bits of the block */
			while (bits < 128) {
				unsigned nb = bits + 4;
				sh_u128 m = nb >= 128 ? ~(sh_u128)0 : (((sh_u128)1 << nb) - 1);
				if ((lo & m) != 0 || (lo | m) > e)
					break;
				bits = nb;
			}
			uint8_t owner[80];
			size_t o = 0;
			if (bits) {
				owner[o++] = 1;
				owner[o++] = '*';
			}
			for (unsigned k = bits / 4; k < 32; k++) {
				owner[o++] = 1;
				owner[o++] = (uint8_t)hex[(unsigned)(lo >> (4 * k)) & 15];
			}
			char sb[48];
			size_t sl = sh_dns_fmt_ip6(lo, sb);
			add_value(b, ds, v, owner, o, sb, sl);
			sh_u128 m = bits >= 128 ? ~(sh_u128)0 : (((sh_u128)1 << bits) - 1);
			if ((lo | m) >= e || b->err)
				break;
			lo = (lo | m) + 1;
		}
	}
}

/* The closest wildcard strictly above name when it is a listed one (rbldnsd's search stops
 * at the closest wildcard, listed or excluded); -1 otherwise. */
static int64_t covering_wild(const struct sh_dns_dataset *ds, const uint8_t *w, size_t n)
{
	for (size_t off = (size_t)w[0] + 1; off < n; off += (size_t)w[off] + 1) {
		int64_t k = sh_dns_ds_node(ds, w + off, n - off);
		if (k >= 0 && ds->dnodes[k].wild)
			return ds->dnodes[k].wild == SH_DNS_EXCL ? -1 : k;
	}
	return -1;
}

static void enum_dnset(struct rbuild *b, const struct sh_dns_dataset *ds)
{
	static const uint8_t hinfo[] = {8, 'e', 'x', 'c', 'l', 'u', 'd', 'e', 'd', 0};
	for (size_t i = 0; i < ds->ndnodes && !b->err; i++) {
		const struct sh_dns_dnode *d = &ds->dnodes[i];
		const uint8_t *nm = ds->names + d->name;
		size_t n = nm[0];
		char sb[1024];
		size_t sl = sh_dns_name_str(nm + 1, n, sb);
		uint8_t star[258] = {1, '*'};
		memcpy(star + 2, nm + 1, n);
		bool plain = d->plain && d->plain != SH_DNS_EXCL;
		if (plain)
			add_value(b, ds, d->plain, nm + 1, n, sb, sl);
		if (d->wild && d->wild != SH_DNS_EXCL && n + 2 <= 255)
			add_value(b, ds, d->wild, star, n + 2, sb, sl);
		if (d->wild == SH_DNS_EXCL && !d->plain) {
			/* "!*.name": the name itself stays covered by a wildcard above, if any; then it
			 * must exist, so the wildcards above do not reach below it */
			int64_t w = covering_wild(ds, nm + 1, n);
			if (w >= 0) {
				const uint8_t *wn = ds->names + ds->dnodes[w].name;
				char wb[1024];
				size_t wl = sh_dns_name_str(wn + 1, wn[0], wb);
				add_value(b, ds, ds->dnodes[w].wild, nm + 1, n, wb, wl);
			} else if (!d->below) {
				add_rec(b, nm + 1, n, 13, ds->ttl, hinfo, sizeof(hinfo));
			}
		} else if (d->wild == SH_DNS_EXCL && d->plain == SH_DNS_EXCL && !d->below) {
			add_rec(b, nm + 1, n, 13, ds->ttl, hinfo, sizeof(hinfo)); /* stops wildcards above */
		}
		if (d->plain == SH_DNS_EXCL) {
			int64_t w = covering_wild(ds, nm + 1, n);
			if (w >= 0) {
				if (!d->below)
					add_rec(b, nm + 1, n, 13, ds->ttl, hinfo, sizeof(hinfo));
				if (!d->wild && n + 2 <= 255) {
					/* names below it stay listed by the wildcard, as in rbldnsd */
					const uint8_t *wn = ds->names + ds->dnodes[w].name;
					char wb[1024];
					size_t wl = sh_dns_name_str(wn + 1, wn[0], wb);
					add_value(b, ds, ds->dnodes[w].wild, star, n + 2, wb, wl);
				}
			}
		}
	}
}

static int cmp_rec(const void *x, const void *y, void *arg)
{
	const uint8_t *buf = arg;
	const uint8_t *a = buf + *(const uint32_t *)x, *b = buf + *(const uint32_t *)y;
	size_t la = rec_len(a), lb = rec_len(b);
	int c = memcmp(a, b, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

static void rrs_sort(struct sh_dns_rrs *r)
{
	if (r->n > 1)
		qsort_r(r->off, r->n, sizeof(uint32_t), cmp_rec, r->buf);
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		if (k == 0 || cmp_rec(&r->off[k - 1], &r->off[i], r->buf) != 0)
			r->off[k++] = r->off[i];
	r->n = k;
}

int sh_dns_xfr_records(const struct sh_dns_zone *z, struct sh_dns_rrs *out)
{
	struct rbuild b;
	memset(&b, 0, sizeof(b));
	const struct sh_dns_dataset *nd = z->ns_ds;
	for (size_t i = 0; nd && i < nd->nns; i++) {
		size_t l = 0;
		while (nd->ns[i][l])
			l += (size_t)nd->ns[i][l] + 1;
		add_rec(&b, NULL, 0, SH_DNS_T_NS, nd->ns_ttl, nd->ns[i], l + 1);
	}
	for (size_t i = 0; i < z->nds && !b.err; i++) {
		const struct sh_dns_dataset *ds = z->ds[i];
		if (ds->type == SH_DNS_DNSET)
			enum_dnset(&b, ds);
		else if (ds->type == SH_DNS_IP6TRIE)
			enum_ip6(&b, ds);
		else
			enum_ip4(&b, ds);
	}
	if (b.err) {
		sh_dns_rrs_fini(&b.r);
		return b.err;
	}
	rrs_sort(&b.r);
	*out = b.r;
	return 0;
}

void sh_dns_rrs_fini(struct sh_dns_rrs *r)
{
	free(r->buf);
	free(r->off);
	memset(r, 0, sizeof(*r));
}

static void diff_unref(struct sh_dns_diff *d)
{
	if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		sh_dns_rrs_fini(&d->del);
		sh_dns_rrs_fini(&d->add);
		free(d);
	}
}

void sh_dns_xfr_free(struct sh_dns_xfr *x)
{
	if (!x)
		return;
	sh_dns_rrs_fini(&x->rrs);
	for (size_t i = 0; i < x->nhist; i++)
		diff_unref(x->hist[i]);
	free(x->hist);
	free(x);
}

static int copy_rec(struct rbuild *b, const uint8_t *r)
{
	size_t n = rec_len(r);
	if (sh_array_grow((void **)&b->r.buf, &b->cap, b->r.len + n, 1) ||
	    sh_array_grow((void **)&b->r.off, &b->ocap, b->r.n + 1, sizeof(uint32_t)))
		return SH_ENOMEM;
	b->r.off[b->r.n++] = (uint32_t)b->r.len;
	memcpy(b->r.buf + b->r.len, r, n);
	b->r.len += n;
	return 0;
}

/* del = old - new, add = new - old (both sorted the same way). */
static int diff_sets(const struct sh_dns_rrs *o, const struct sh_dns_rrs *n, struct sh_dns_diff *d)
{
	struct rbuild del, add;
	memset(&del, 0, sizeof(del));
	memset(&add, 0, sizeof(add));
	size_t i = 0, j = 0;
	int rc = 0;
	while (!rc && (i < o->n || j < n->n)) {
		int c;
		if (i == o->n)
			c = 1;
		else if (j == n->n)
			c = -1;
		else {
			const uint8_t *a = o->buf + o->off[i], *b2 = n->buf + n->off[j];
			size_t la = rec_len(a), lb = rec_len(b2);
			c = memcmp(a, b2, la < lb ? la : lb);
			if (!c)
				c = (la > lb) - (la < lb);
		}
		if (c < 0)
			rc = copy_rec(&del, o->buf + o->off[i++]);
		else if (c > 0)
			rc = copy_rec(&add, n->buf + n->off[j++]);
		else
			i++, j++;
	}
	if (rc) {
		sh_dns_rrs_fini(&del.r);
		sh_dns_rrs_fini(&add.r);
		return rc;
	}
	d->del = del.r;
	d->add = add.r;
	return 0;
}

int sh_dns_xfr_attach(struct sh_dns_gen *g, const struct sh_dns_gen *prev, size_t keep)
{
	for (size_t zi = 0; zi < g->nzones; zi++) {
		struct sh_dns_zone *z = &g->zones[zi];
		struct sh_dns_xfr *x = calloc(1, sizeof(*x));
		if (!x)
			return SH_ENOMEM;
		z->xfr = x;
		int rc = sh_dns_xfr_records(z, &x->rrs);
		if (rc)
			return rc;
		const struct sh_dns_zone *pz = NULL;
		for (size_t j = 0; prev && j < prev->nzones && !pz; j++)
			if (prev->zones[j].name_len == z->name_len &&
			    memcmp(prev->zones[j].name, z->name, z->name_len) == 0 && prev->zones[j].xfr)
				pz = &prev->zones[j];
		if (!pz)
			continue;
		const struct sh_dns_xfr *px = pz->xfr;
		struct sh_dns_diff *d = calloc(1, sizeof(*d));
		if (!d)
			return SH_ENOMEM;
		if ((rc = diff_sets(&px->rrs, &x->rrs, d)) != 0) {
			free(d);
			return rc;
		}
		bool same = d->del.n == 0 && d->add.n == 0;
		if (!same && (int32_t)(z->serial - pz->serial) <= 0)
			z->serial = pz->serial + 1 ? pz->serial + 1 : 1;
		size_t nh = px->nhist + 1;
		x->hist = calloc(nh, sizeof(*x->hist));
		if (!x->hist) {
			diff_unref((__atomic_store_n(&d->refs, 1, __ATOMIC_RELAXED), d));
			return SH_ENOMEM;
		}
		size_t start = px->nhist >= keep ? px->nhist - keep + 1 : 0;
		for (size_t k = start; k < px->nhist; k++) {
			__atomic_add_fetch(&px->hist[k]->refs, 1, __ATOMIC_RELAXED);
			x->hist[x->nhist++] = px->hist[k];
		}
		if (z->serial != pz->serial) {
			d->from = pz->serial;
			d->to = z->serial;
			d->refs = 1;
			x->hist[x->nhist++] = d;
		} else {
			sh_dns_rrs_fini(&d->del);
			sh_dns_rrs_fini(&d->add);
			free(d);
		}
	}
	return 0;
}

/* ---- access list ---- */

int sh_dns_acl_add(struct sh_dns_acl *acl, const char *prefix)
{
	char a[64];
	const char *slash = strchr(prefix, '/');
	size_t al = slash ? (size_t)(slash - prefix) : strlen(prefix);
	if (al >= sizeof(a))
		return SH_EINVAL;
	memcpy(a, prefix, al);
	a[al] = 0;
	struct sh_dns_acl_entry e;
	memset(&e, 0, sizeof(e));
	if (inet_pton(AF_INET, a, e.addr) == 1)
		e.af = AF_INET;
	else if (inet_pton(AF_INET6, a, e.addr) == 1)
		e.af = AF_INET6;
	else
		return SH_EINVAL;
	unsigned max = e.af == AF_INET ? 32 : 128;
	e.len = max;
	if (slash) {
		char *end;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (*end || end == slash + 1 || l > max)
			return SH_EINVAL;
		e.len = (unsigned)l;
	}
	struct sh_dns_acl_entry *ne = realloc(acl->e, (acl->n + 1) * sizeof(*ne));
	if (!ne)
		return SH_ENOMEM;
	acl->e = ne;
	acl->e[acl->n++] = e;
	return 0;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	return !bits || ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

bool sh_dns_acl_match(const struct sh_dns_acl *acl, const struct sockaddr *sa)
{
	uint8_t a[16];
	int af;
	if (sa->sa_family == AF_INET) {
		af = AF_INET;
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(p, mapped, 12) == 0) {
			af = AF_INET;
			memcpy(a, p + 12, 4);
		} else {
			af = AF_INET6;
			memcpy(a, p, 16);
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < acl->n; i++)
		if (acl->e[i].af == af && prefix_eq(a, acl->e[i].addr, acl->e[i].len))
			return true;
	return false;
}

void sh_dns_acl_fini(struct sh_dns_acl *acl)
{
	free(acl->e);
	acl->e = NULL;
	acl->n = 0;
}

/* ---- responses ---- */

struct stream {
	uint8_t **out;
	size_t *len, *cap;
	const uint8_t *pkt;
	size_t qend; /* end of the question in pkt */
	size_t zone_off; /* offset of the zone name in a message */
	const struct sh_dns_zone *z;
	uint8_t msg[MSG_MAX + 512];
	struct sh_dns_wbuf w;
	uint16_t an;
	int err;
};

static void msg_start(struct stream *s)
{
	s->w = (struct sh_dns_wbuf){s->msg, 0, sizeof(s->msg), false};
	uint8_t h[12] = {s->pkt[0], s->pkt[1], 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	sh_dns_put(&s->w, h, 12);
	sh_dns_put(&s->w, s->pkt + SH_DNS_HDR, s->qend - SH_DNS_HDR);
	s->an = 0;
}

static void msg_flush(struct stream *s)
{
	if (s->err || s->an == 0)
		return;
	s->msg[6] = (uint8_t)(s->an >> 8);
	s->msg[7] = (uint8_t)s->an;
	size_t n = s->w.len;
	if (sh_array_grow((void **)s->out, s->cap, *s->len + n + 2, 1)) {
		s->err = SH_ENOMEM;
		return;
	}
	(*s->out)[*s->len] = (uint8_t)(n >> 8);
	(*s->out)[*s->len + 1] = (uint8_t)n;
	memcpy(*s->out + *s->len + 2, s->msg, n);
	*s->len += n + 2;
	msg_start(s);
}

static void put_soa(struct stream *s, uint32_t serial)
{
	if (s->w.len + 600 > MSG_MAX)
		msg_flush(s);
	sh_dns_put_soa(&s->w, s->z, s->zone_off, s->z->soa.ttl, serial);
	s->an++;
}

static void put_rec(struct stream *s, const uint8_t *r)
{
	size_t n = rec_len(r);
	if (s->w.len + n + 2 > MSG_MAX)
		msg_flush(s);
	sh_dns_put(&s->w, r + 1, r[0]); /* relative owner, then the zone by pointer */
	sh_dns_put16(&s->w, 0xc000 | (unsigned)s->zone_off);
	size_t o = 1 + (size_t)r[0];
	sh_dns_put(&s->w, r + o, 2);         /* type */
	sh_dns_put16(&s->w, SH_DNS_C_IN);
	sh_dns_put(&s->w, r + o + 2, n - o - 2); /* TTL, rdlength, rdata */
	s->an++;
}

static void put_set(struct stream *s, const struct sh_dns_rrs *r)
{
	for (size_t i = 0; i < r->n && !s->err; i++)
		put_rec(s, r->buf + r->off[i]);
}

/* The serial in an IXFR query's authority SOA, or false. */
static bool ixfr_serial(const uint8_t *pkt, size_t len, size_t qend, uint32_t *serial)
{
	size_t o = qend;
	if (!sh_dns_skip_name(pkt, len, &o) || o + 10 > len || sh_dns_get16(pkt + o) != SH_DNS_T_SOA)
		return false;
	o += 10;
	if (!sh_dns_skip_name(pkt, len, &o) || !sh_dns_skip_name(pkt, len, &o) || o + 4 > len)
		return false;
	*serial = (uint32_t)pkt[o] << 24 | (uint32_t)pkt[o + 1] << 16 | (uint32_t)pkt[o + 2] << 8 | pkt[o + 3];
	return true;
}

int sh_dns_xfr_respond(const struct sh_dns_gen *g, const uint8_t *pkt, size_t len,
		       const struct sh_dns_zone *z, uint8_t **out, size_t *outlen, size_t *outcap)
{
	(void)g;
	struct sh_dns_query q;
	if (sh_dns_parse_query(pkt, len, &q) != 0 || !z->xfr)
		return SH_EINVAL;
	struct stream *s = calloc(1, sizeof(*s));
	if (!s)
		return SH_ENOMEM;
	s->out = out;
	s->len = outlen;
	s->cap = outcap;
	s->pkt = pkt;
	s->qend = q.qend;
	s->zone_off = SH_DNS_HDR + q.qname_len - z->name_len;
	s->z = z;
	msg_start(s);
	const struct sh_dns_xfr *x = z->xfr;
	uint32_t from;
	bool incremental = false;
	size_t first = 0;
	if (q.qtype == SH_DNS_T_IXFR && ixfr_serial(pkt, len, q.qend, &from)) {
		if (from == z->serial) {
			put_soa(s, z->serial); /* up to date: the SOA alone */
			msg_flush(s);
			int rc = s->err;
			free(s);
			return rc;
		}
		/* a chain of diffs from the client's serial to ours */
		for (size_t i = 0; i < x->nhist; i++)
			if (x->hist[i]->from == from) {
				first = i;
				incremental = true;
				break;
			}
	}
	put_soa(s, z->serial);
	if (incremental) {
		for (size_t i = first; i < x->nhist && !s->err; i++) {
			put_soa(s, x->hist[i]->from);
			put_set(s, &x->hist[i]->del);
			put_soa(s, x->hist[i]->to);
			put_set(s, &x->hist[i]->add);
		}
	} else {
		put_set(s, &x->rrs);
	}
	put_soa(s, z->serial);
	msg_flush(s);
	int rc = s->err;
	free(s);
	return rc;
}

/* ---- NOTIFY ---- */

int sh_dns_notify(const struct sh_dns_zone *z, const struct sockaddr *addr, socklen_t alen,
		  unsigned tries)
{
	uint8_t pkt[600];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint16_t id = (uint16_t)(ts.tv_nsec ^ (ts.tv_nsec >> 16));
	uint8_t h[12] = {(uint8_t)(id >> 8), (uint8_t)id, 0x24, 0, 0, 1, 0, 1, 0, 0, 0, 0};
	struct sh_dns_wbuf w = {pkt, 0, sizeof(pkt), false};
	sh_dns_put(&w, h, 12);
	sh_dns_put(&w, z->name, z->name_len);
	sh_dns_put16(&w, SH_DNS_T_SOA);
	sh_dns_put16(&w, SH_DNS_C_IN);
	sh_dns_put_soa(&w, z, SH_DNS_HDR, z->soa.ttl, z->serial);
	if (w.overflow)
		return SH_ERANGE;
	int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return SH_EIO;
	int rc = SH_EIO;
	for (unsigned t = 0; t < tries && rc; t++) {
		if (sendto(fd, pkt, w.len, 0, addr, alen) < 0)
			break;
		struct pollfd p = {fd, POLLIN, 0};
		while (poll(&p, 1, 1000) == 1) {
			uint8_t r[512];
			ssize_t n = recv(fd, r, sizeof(r), 0);
			if (n >= 12 && r[0] == pkt[0] && r[1] == pkt[1] && (r[2] & 0x80) &&
			    ((r[2] >> 3) & 15) == SH_DNS_OP_NOTIFY) {
				rc = 0;
				break;
			}
		}
	}
	close(fd);
	return rc;
}
