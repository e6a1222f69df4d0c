/* Address-list exports: Spamhaus-style DROP (text and NDJSON with its metadata line), and the
 * firewall formats, nftables sets and ipset restore files, which need aggregated prefixes.
 *
 * Aggregation: the listed prefixes form a laminar family (two prefixes are disjoint or one
 * holds the other), so one sweep in address order with a stack of open prefixes cuts the
 * space into disjoint segments, each carrying the latest expiry of the listings over it (an
 * address stays listed until its last listing lapses) and the innermost listing for the
 * evidence. Adjacent segments with the same expiry are then joined and cut into the fewest
 * prefixes (sh_range_to_prefixes), which is what nftables requires: no overlapping
 * intervals. */
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "lib/timefmt.h"

__extension__ typedef unsigned __int128 u128;

static bool is_addr(const struct sh_listing *l)
{
	return l->type == SH_IND_IP || l->type == SH_IND_CIDR;
}

/* Addresses for IP lists: the family --kind asks for (both by default). */
static bool wants_ip(const struct sh_export_ctx *c, const struct sh_listing *l)
{
	if (!is_addr(l) || (l->flags & SH_LF_TEST))
		return false;
	if (c->kind == SH_KIND_IP4)
		return l->prefix.ip.af == SH_AF_V4;
	if (c->kind == SH_KIND_IP6)
		return l->prefix.ip.af == SH_AF_V6;
	return true;
}

static u128 to_u128(const struct sh_ip *ip)
{
	u128 v = 0;
	unsigned n = ip->af == SH_AF_V4 ? 4 : 16;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | ip->b[i];
	return v;
}

static void from_u128(u128 v, int af, struct sh_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = (uint8_t)af;
	unsigned n = af == SH_AF_V4 ? 4 : 16;
	for (unsigned i = n; i-- > 0;) {
		ip->b[i] = (uint8_t)v;
		v >>= 8;
	}
}

struct seg {
	u128 lo, hi;
	int64_t expires;
	const struct sh_listing *inner;
};

struct agg {
	struct seg *v;
	size_t n, cap;
	int af;
	struct sh_segment *out;
	size_t n_out, cap_out;
	const struct seg *group; /* segments of the range being cut into prefixes */
	size_t group_n, group_at;
};

static int seg_push(struct agg *a, u128 lo, u128 hi, int64_t expires, const struct sh_listing *l)
{
	if (sh_array_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(*a->v)) != 0)
		return SH_ENOMEM;
	a->v[a->n++] = (struct seg){lo, hi, expires, l};
	return 0;
}

struct open_pfx {
	u128 hi;
	int64_t expires; /* the latest of it and everything around it */
	const struct sh_listing *l;
};

static int on_prefix(const struct sh_prefix *p, void *arg)
{
	struct agg *a = arg;
	if (a->n_out == a->cap_out) {
		size_t cap = a->cap_out ? a->cap_out * 2 : 1024;
		if (cap > SIZE_MAX / sizeof(*a->out))
			return SH_ENOMEM;
		struct sh_segment *v = realloc(a->out, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		a->out = v;
		a->cap_out = cap;
	}
	struct sh_ip last;
	sh_prefix_last(p, &last);
	u128 lo = to_u128(&p->ip), hi = to_u128(&last);
	while (a->group_at < a->group_n && a->group[a->group_at].hi < lo)
		a->group_at++;
	const struct seg *s = &a->group[a->group_at];
	struct sh_segment *o = &a->out[a->n_out++];
	o->prefix = *p;
	o->expires = s->expires;
	o->only = s->lo <= lo && hi <= s->hi ? s->inner : NULL;
	return 0;
}

int sh_export_aggregate(const struct sh_export_ctx *c,
			bool (*wants)(const struct sh_export_ctx *, const struct sh_listing *), int af,
			struct sh_segment **out, size_t *n)
{
	struct agg a = {.af = af};
	struct open_pfx *stack = malloc(130 * sizeof(*stack)); /* nesting depth <= 129 */
	size_t top = 0;
	u128 pos = 0;
	bool pos_end = false; /* pos wrapped past the last address */
	int rc = stack ? 0 : SH_ENOMEM;
	*out = NULL;
	*n = 0;
	/* close the open prefixes that end before `until` (all of them when flush) */
	for (size_t i = 0; rc == 0 && i <= c->set->n; i++) {
		const struct sh_listing *l = i < c->set->n ? &c->set->v[i] : NULL;
		if (l && (!is_addr(l) || l->prefix.ip.af != af || !wants(c, l)))
			continue;
		u128 lo = 0, hi = 0;
		if (l) {
			struct sh_ip last;
			sh_prefix_last(&l->prefix, &last);
			lo = to_u128(&l->prefix.ip);
			hi = to_u128(&last);
		}
		while (rc == 0 && top && (!l || stack[top - 1].hi < lo)) {
			struct open_pfx *o = &stack[top - 1];
			if (!pos_end && pos <= o->hi)
				rc = seg_push(&a, pos, o->hi, o->expires, o->l);
			pos = o->hi + 1;
			pos_end = pos == 0;
			top--;
		}
		if (!l || rc != 0)
			break;
		if (top && pos < lo)
			rc = seg_push(&a, pos, lo - 1, stack[top - 1].expires, stack[top - 1].l);
		pos = lo;
		pos_end = false;
		int64_t e = l->expires;
		if (top && stack[top - 1].expires > e)
			e = stack[top - 1].expires;
		if (top < 130)
			stack[top++] = (struct open_pfx){hi, e, l};
	}
	free(stack);
	/* join adjacent segments with the same expiry, cut each run into prefixes */
	for (size_t i = 0; rc == 0 && i < a.n;) {
		size_t j = i + 1;
		while (j < a.n && a.v[j].lo == a.v[j - 1].hi + 1 && a.v[j].expires == a.v[i].expires)
			j++;
		struct sh_ip first, last;
		from_u128(a.v[i].lo, af, &first);
		from_u128(a.v[j - 1].hi, af, &last);
		a.group = &a.v[i];
		a.group_n = j - i;
		a.group_at = 0;
		rc = sh_range_to_prefixes(&first, &last, on_prefix, &a);
		i = j;
	}
	free(a.v);
	if (rc != 0) {
		free(a.out);
		return rc;
	}
	*out = a.out;
	*n = a.n_out;
	return 0;
}

/* ---- DROP text ---------------------------------------------------------------------------- */
/* "Tue, 04 Mar 2025 12:00:00 GMT" (RFC 2822), as DROP's Last-Modified header has it. */
static void put_http_date(struct sh_wbuf *w, int64_t t)
{
	static const char *const days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char b[SH_TIME_STRLEN];
	sh_time_format(t, b);
	int64_t d = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int month = (b[5] - '0') * 10 + (b[6] - '0');
	sh_wb_printf(w, "%s, %.2s %s %.4s %.8s GMT", days[((d % 7) + 7) % 7], b + 8,
		     months[(month - 1) % 12], b, b + 11);
}

/* "SH" and eight hex digits of the key: an id in the place of DROP's SBL reference. */
static void put_ref(struct sh_wbuf *w, const struct sh_listing *l)
{
	uint64_t h = sh_listing_key_hash(l);
	uint8_t b[4] = {(uint8_t)(h >> 56), (uint8_t)(h >> 48), (uint8_t)(h >> 40), (uint8_t)(h >> 32)};
	sh_wb_str(w, "SH");
	sh_wb_hex(w, b, 4);
}

static void put_cidr(struct sh_wbuf *w, const struct sh_listing *l)
{
	char b[SH_PREFIX_STRLEN];
	sh_wb_put(w, b, sh_prefix_format(&l->prefix, b));
}

static void drop_line(const struct sh_export_ctx *c, const struct sh_listing *l, struct sh_wbuf *w)
{
	char ev[512];
	put_cidr(w, l);
	sh_wb_str(w, " ; ");
	put_ref(w, l);
	sh_wb_char(w, ' ');
	sh_wb_put(w, ev, sh_export_evidence(c, l, NULL, 400, ev));
	sh_wb_char(w, '\n');
}

static int drop_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct sh_wbuf *w;
	int rc = sh_export_open(t, "drop.txt", &w);
	if (rc != 0)
		return rc;
	unsigned long n = 0;
	for (size_t i = 0; i < c->set->n; i++)
		n += wants_ip(c, &c->set->v[i]);
	/* "; Spamhaus" first: the line sheriff's own ingest (and DROP tooling) recognises */
	sh_wb_printf(w, "; Spamhaus-style DROP list of %s's listings, generated by %s\n"
			"; Last-Modified: ",
		     c->policy->publisher, c->tool);
	put_http_date(w, c->at);
	sh_wb_printf(w, "\n; Expires: ");
	put_http_date(w, c->at + c->policy->expiry);
	sh_wb_printf(w, "\n; %lu entries: prefix ; id evidence\n", n);
	rc = sh_export_each(c, w, wants_ip, drop_line, NULL);
	return rc != 0 ? rc : sh_export_commit(t, w);
}

const struct sh_export_format sh_export_drop = {
	.name = "drop",
	.description = "Spamhaus DROP-style text (\"1.2.3.0/24 ; SHxxxxxxxx evidence\")",
	.kinds = 1u << SH_KIND_IP4 | 1u << SH_KIND_IP6,
	.wants = wants_ip,
	.write = drop_write,
};

/* ---- DROP NDJSON ---------------------------------------------------------------------------- */
static void json_sources(struct sh_wbuf *w, const char *sources)
{
	sh_wb_char(w, '[');
	for (const char *p = sources; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char name[256];
		if (n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (p != sources)
				sh_wb_char(w, ',');
			sh_wb_json_str(w, name);
		}
		p = comma ? comma + 1 : NULL;
	}
	sh_wb_char(w, ']');
}

static void drop_json_line(const struct sh_export_ctx *c, const struct sh_listing *l,
			   struct sh_wbuf *w)
{
	char ev[512];
	sh_wb_str(w, "{\"cidr\":\"");
	put_cidr(w, l);
	sh_wb_str(w, "\",\"sblid\":\"");
	put_ref(w, l);
	sh_wb_str(w, "\",\"category\":\"");
	sh_wb_str(w, c->policy->cats[l->cat].name);
	sh_wb_str(w, "\",\"reason\":");
	sh_listing_evidence(c->set, l, ev, sizeof(ev));
	sh_wb_json_str(w, ev);
	sh_wb_str(w, ",\"sources\":");
	json_sources(w, l->sources);
	sh_wb_char(w, ',');
	sh_wb_json_times(w, l);
	sh_wb_str(w, "}\n");
}

static int drop_json_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct sh_wbuf *w;
	int rc = sh_export_open(t, "drop.json", &w);
	if (rc != 0)
		return rc;
	unsigned long n = 0;
	rc = sh_export_each(c, w, wants_ip, drop_json_line, &n);
	if (rc != 0)
		return rc;
	uint64_t size = w->bytes;
	sh_wb_str(w, "{\"type\":\"metadata\",\"timestamp\":");
	sh_wb_i64(w, c->at);
	sh_wb_str(w, ",\"size\":");
	sh_wb_u64(w, size);
	sh_wb_str(w, ",\"records\":");
	sh_wb_u64(w, n);
	sh_wb_str(w, ",\"copyright\":");
	sh_wb_json_str(w, c->policy->publisher);
	sh_wb_str(w, ",\"generator\":");
	sh_wb_json_str(w, c->tool);
	sh_wb_str(w, "}\n");
	return sh_export_commit(t, w);
}

const struct sh_export_format sh_export_drop_json = {
	.name = "drop-json",
	.description = "Spamhaus DROP-style NDJSON with the metadata line last",
	.kinds = 1u << SH_KIND_IP4 | 1u << SH_KIND_IP6,
	.wants = wants_ip,
	.write = drop_json_write,
};

/* ---- nftables ------------------------------------------------------------------------------ */
#define NFT_CHUNK 128 /* elements per command: one netlink message each */

/* Aggregated sets (nftables, ipset) are formatted in parallel, SEG_CHUNK segments a chunk. */
#define SEG_CHUNK 8192

struct seg_run {
	const struct sh_export_ctx *c;
	const struct sh_segment *seg;
	size_t n;
	const char *set;
	void (*put)(const struct seg_run *r, size_t i, struct sh_wbuf *w); /* segment i */
};

static int seg_chunk(void *arg, size_t k, struct sh_export_chunk *out)
{
	const struct seg_run *r = arg;
	size_t end = r->n - k * SEG_CHUNK > SEG_CHUNK ? (k + 1) * SEG_CHUNK : r->n;
	for (size_t i = k * SEG_CHUNK; i < end; i++)
		r->put(r, i, &out->text);
	return 0;
}

static int put_segments(struct sh_wbuf *w, struct seg_run *r)
{
	struct sh_export_par *par;
	int rc = sh_export_par_start((r->n + SEG_CHUNK - 1) / SEG_CHUNK, seg_chunk, r, &par);
	if (rc != 0)
		return rc;
	for (struct sh_export_chunk *k; (k = sh_export_par_next(par)) != NULL;)
		sh_wb_put(w, k->text.buf, k->text.len);
	return sh_export_par_end(par);
}

static void put_segment_prefix(struct sh_wbuf *w, const struct sh_segment *s)
{
	char b[SH_PREFIX_STRLEN];
	unsigned full = s->prefix.ip.af == SH_AF_V4 ? 32 : 128;
	sh_wb_put(w, b, s->prefix.len == full ? sh_ip_format(&s->prefix.ip, b)
					      : sh_prefix_format(&s->prefix, b));
}

static void put_comment(struct sh_wbuf *w, const struct sh_export_ctx *c,
			const struct sh_segment *s, size_t max)
{
	char ev[512];
	if (!s->only) {
		sh_wb_str(w, "aggregate of several listings");
		return;
	}
	sh_wb_put(w, ev, sh_export_evidence(c, s->only, "\"\\", max, ev));
}

static int64_t timeout_of(const struct sh_export_ctx *c, const struct sh_segment *s, int64_t max)
{
	int64_t t = s->expires - c->at;
	return t < 1 ? 1 : t > max ? max : t;
}

/* An element of an nft set, elements grouped NFT_CHUNK to a command. */
static void nft_element(const struct seg_run *r, size_t i, struct sh_wbuf *w)
{
	if (i % NFT_CHUNK == 0)
		sh_wb_printf(w, "%sadd element inet sheriff %s {\n", i ? "}\n" : "", r->set);
	sh_wb_char(w, '\t');
	put_segment_prefix(w, &r->seg[i]);
	sh_wb_str(w, " timeout ");
	sh_wb_i64(w, timeout_of(r->c, &r->seg[i], INT64_C(315360000)));
	sh_wb_str(w, "s comment \"");
	put_comment(w, r->c, &r->seg[i], 120);
	sh_wb_str(w, i + 1 == r->n || (i + 1) % NFT_CHUNK == 0 ? "\"\n" : "\",\n");
}

static int nft_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct sh_wbuf *w;
	int rc = sh_export_open(t, "sheriff.nft", &w);
	if (rc != 0)
		return rc;
	sh_wb_printf(w, "#!/usr/sbin/nft -f\n# %s blocklist sets, generated by %s at ",
		     c->policy->publisher, c->tool);
	sh_wb_time(w, c->at);
	sh_wb_str(w, "\n# Load with 'nft -f FILE' (one transaction; reloading replaces the elements).\n"
		     "# Use from your own rules, e.g. ip saddr @sheriff_v4 drop\n"
		     "add table inet sheriff\n");
	static const struct {
		int af;
		const char *set, *type;
		enum sh_export_kind skip;
	} fam[] = {{SH_AF_V4, "sheriff_v4", "ipv4_addr", SH_KIND_IP6},
		   {SH_AF_V6, "sheriff_v6", "ipv6_addr", SH_KIND_IP4}};
	for (int f = 0; f < 2 && rc == 0; f++) {
		if (c->kind == fam[f].skip)
			continue;
		struct sh_segment *seg;
		size_t n;
		rc = sh_export_aggregate(c, wants_ip, fam[f].af, &seg, &n);
		if (rc != 0)
			break;
		sh_wb_printf(w, "add set inet sheriff %s { type %s; flags interval, timeout; }\n"
				"flush set inet sheriff %s\n",
			     fam[f].set, fam[f].type, fam[f].set);
		struct seg_run r = {c, seg, n, fam[f].set, nft_element};
		rc = put_segments(w, &r);
		if (n)
			sh_wb_str(w, "}\n");
		free(seg);
	}
	if (rc != 0)
		return rc;
	return sh_export_commit(t, w);
}

const struct sh_export_format sh_export_nft = {
	.name = "nft",
	.description = "nftables sets (aggregated intervals, per-element timeouts), for nft -f",
	.kinds = 1u << SH_KIND_IP4 | 1u << SH_KIND_IP6,
	.wants = wants_ip,
	.write = nft_write,
};

/* ---- ipset ---------------------------------------------------------------------------------- */
#define IPSET_MAX_TIMEOUT INT64_C(2147483) /* the kernel's limit, about 24.8 days */
#define IPSET_MAXELEM 16777216

static void ipset_entry(const struct seg_run *r, size_t i, struct sh_wbuf *w)
{
	sh_wb_str(w, "add ");
	sh_wb_str(w, r->set);
	sh_wb_str(w, "_new ");
	put_segment_prefix(w, &r->seg[i]);
	sh_wb_str(w, " timeout ");
	sh_wb_i64(w, timeout_of(r->c, &r->seg[i], IPSET_MAX_TIMEOUT));
	sh_wb_str(w, " comment \"");
	put_comment(w, r->c, &r->seg[i], 250);
	sh_wb_str(w, "\"\n");
}

static int ipset_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct sh_wbuf *w;
	int rc = sh_export_open(t, "sheriff.ipset", &w);
	if (rc != 0)
		return rc;
	sh_wb_printf(w, "# %s blocklist sets, generated by %s at ", c->policy->publisher, c->tool);
	sh_wb_time(w, c->at);
	sh_wb_str(w, "\n# Load with 'ipset restore -f FILE': fills a new set and swaps it in.\n");
	static const struct {
		int af;
		const char *set, *family;
		enum sh_export_kind skip;
	} fam[] = {{SH_AF_V4, "sheriff_v4", "inet", SH_KIND_IP6},
		   {SH_AF_V6, "sheriff_v6", "inet6", SH_KIND_IP4}};
	for (int f = 0; f < 2 && rc == 0; f++) {
		if (c->kind == fam[f].skip)
			continue;
		struct sh_segment *seg;
		size_t n;
		rc = sh_export_aggregate(c, wants_ip, fam[f].af, &seg, &n);
		if (rc != 0)
			break;
		const char *s = fam[f].set;
		for (int k = 0; k < 2; k++)
			sh_wb_printf(w,
				     "create %s%s hash:net family %s hashsize 1024 maxelem %d timeout 0 "
				     "comment -exist\n",
				     s, k ? "_new" : "", fam[f].family, IPSET_MAXELEM);
		sh_wb_printf(w, "flush %s_new\n", s);
		struct seg_run r = {c, seg, n, s, ipset_entry};
		rc = put_segments(w, &r);
		sh_wb_printf(w, "swap %s_new %s\ndestroy %s_new\n", s, s, s);
		free(seg);
	}
	if (rc != 0)
		return rc;
	return sh_export_commit(t, w);
}

const struct sh_export_format sh_export_ipset = {
	.name = "ipset",
	.description = "ipset restore file (hash:net sets with per-entry timeouts, swapped in)",
	.kinds = 1u << SH_KIND_IP4 | 1u << SH_KIND_IP6,
	.wants = wants_ip,
	.write = ipset_write,
};
