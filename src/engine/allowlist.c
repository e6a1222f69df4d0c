/* The allowlist a policy asks for: special-purpose space and names, public resolvers, shared
 * CDN and cloud front-end ranges from the hosting table, and the user's own entries.
 *
 * Address space is kept per family as sorted, merged [lo, hi] ranges (a prefix's relation to
 * the union is one binary search). Names are kept in a hash set, together with a second set of
 * every proper parent of an allowlisted name, so that both "this name is under an allowlisted
 * one" and "listing this name would cover an allowlisted one" are a few look-ups per label. */
#include <stdlib.h>
#include <string.h>

#include "engine/loader.h"
#include "engine/policy.h"
#include "store/store.h"

struct range {
	uint8_t lo[16], hi[16];
	const char *why;
};

struct ranges {
	struct range *v;
	size_t n, cap;
	unsigned width; /* 4 or 16 bytes */
};

struct name_set {
	const char **names; /* open addressing; NULL is empty */
	const char **whys;
	size_t cap, n;
};

struct sh_allowlist {
	struct ranges v4, v6;
	struct name_set names, parents;
	const char **sorted;
	size_t n_sorted;
	struct sh_arena arena;
};

/* Special-purpose blocks as in sh_ip_special (lib/addr.c), whose table is private there;
 * tests/unit/test_policy.c checks the two agree address by address. */
static const struct {
	const char *prefix, *name;
} special_blocks[] = {
	{"0.0.0.0/8", "this-network"},
	{"10.0.0.0/8", "private-use"},
	{"100.64.0.0/10", "shared-address-space"},
	{"127.0.0.0/8", "loopback"},
	{"169.254.0.0/16", "link-local"},
	{"172.16.0.0/12", "private-use"},
	{"192.0.0.0/24", "ietf-protocol-assignments"},
	{"192.0.2.0/24", "documentation"},
	{"192.88.99.0/24", "6to4-relay-anycast"},
	{"192.168.0.0/16", "private-use"},
	{"198.18.0.0/15", "benchmarking"},
	{"198.51.100.0/24", "documentation"},
	{"203.0.113.0/24", "documentation"},
	{"224.0.0.0/4", "multicast"},
	{"240.0.0.0/4", "reserved"},
	{"::/96", "ipv4-compatible"},
	{"::ffff:0:0/96", "ipv4-mapped"},
	{"64:ff9b::/96", "ipv4-ipv6-translation"},
	{"64:ff9b:1::/48", "local-use-translation"},
	{"100::/64", "discard-only"},
	{"100:0:0:1::/64", "dummy-prefix"},
	{"2001::/32", "teredo"},
	{"2001:2::/48", "benchmarking"},
	{"2001:10::/28", "orchid"},
	{"2001:20::/28", "orchid-v2"},
	{"2001:30::/28", "drip-det"},
	{"2001:db8::/32", "documentation"},
	{"2002::/16", "6to4"},
	{"3fff::/20", "documentation"},
	{"5f00::/16", "segment-routing-sid"},
	{"fc00::/7", "unique-local"},
	{"fe80::/10", "link-local"},
	{"ff00::/8", "multicast"},
};

/* Special-use names (RFC 6761, RFC 6762, RFC 8375). "test" stays out: RFC 5782 wants it
 * listed as the test entry of domain lists. */
static const char *const special_names[] = {"localhost", "invalid", "local", "home.arpa"};

/* The big public resolvers, their filtering variants and their DoH/DoT names. */
static const char *const resolvers[] = {
	/* Google Public DNS */
	"8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844", "dns.google",
	/* Cloudflare 1.1.1.1 (plain, malware, family) */
	"1.1.1.1", "1.0.0.1", "1.1.1.2", "1.0.0.2", "1.1.1.3", "1.0.0.3", "2606:4700:4700::1111",
	"2606:4700:4700::1001", "2606:4700:4700::1112", "2606:4700:4700::1002",
	"2606:4700:4700::1113", "2606:4700:4700::1003", "cloudflare-dns.com", "one.one.one.one",
	/* Quad9 */
	"9.9.9.9", "149.112.112.112", "9.9.9.10", "149.112.112.10", "9.9.9.11", "149.112.112.11",
	"2620:fe::fe", "2620:fe::9", "2620:fe::10", "2620:fe::fe:10", "2620:fe::11",
	"2620:fe::fe:11", "dns.quad9.net",
	/* Cisco OpenDNS */
	"208.67.222.222", "208.67.220.220", "208.67.222.123", "208.67.220.123", "2620:119:35::35",
	"2620:119:53::53", "doh.opendns.com",
	/* AdGuard DNS */
	"94.140.14.14", "94.140.15.15", "2a10:50c0::ad1:ff", "2a10:50c0::ad2:ff",
	"dns.adguard-dns.com",
	/* CleanBrowsing, Yandex, Control D */
	"185.228.168.9", "185.228.169.9", "77.88.8.8", "77.88.8.1", "76.76.2.0", "76.76.10.0",
};

/* ---- ranges -------------------------------------------------------------------------------- */
static int ranges_add(struct ranges *r, const uint8_t *lo, const uint8_t *hi, const char *why)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*r->v))
			return SH_ENOMEM;
		struct range *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	struct range *x = &r->v[r->n++];
	memcpy(x->lo, lo, 16);
	memcpy(x->hi, hi, 16);
	x->why = why;
	return 0;
}

static int ranges_add_prefix(struct ranges *r, const struct sh_prefix *p, const char *why)
{
	struct sh_ip last;
	sh_prefix_last(p, &last);
	return ranges_add(r, p->ip.b, last.b, why);
}

static int cmp_range(const void *a, const void *b)
{
	return memcmp(((const struct range *)a)->lo, ((const struct range *)b)->lo, 16);
}

/* a + 1 over the family's width; false on overflow. */
static bool next_addr(const uint8_t *a, unsigned width, uint8_t *out)
{
	memcpy(out, a, 16);
	for (unsigned i = width; i-- > 0;)
		if (++out[i] != 0)
			return true;
	return false;
}

/* Sorts and merges overlapping or adjacent ranges; the first range's reason is kept. */
static void ranges_merge(struct ranges *r)
{
	if (r->n == 0)
		return;
	qsort(r->v, r->n, sizeof(*r->v), cmp_range);
	size_t k = 0;
	for (size_t i = 1; i < r->n; i++) {
		struct range *cur = &r->v[k];
		uint8_t after[16];
		bool has_after = next_addr(cur->hi, r->width, after);
		if (!has_after || memcmp(r->v[i].lo, after, 16) <= 0) {
			if (memcmp(r->v[i].hi, cur->hi, 16) > 0)
				memcpy(cur->hi, r->v[i].hi, 16);
		} else {
			r->v[++k] = r->v[i];
		}
	}
	r->n = k + 1;
}

/* a - 1; false on underflow. */
static bool prev_addr(const uint8_t *a, unsigned width, uint8_t *out)
{
	memcpy(out, a, 16);
	for (unsigned i = width; i-- > 0;)
		if (out[i]-- != 0)
			return true;
	return false;
}

/* out = a minus b, both merged. */
static int ranges_subtract(const struct ranges *a, const struct ranges *b, struct ranges *out)
{
	size_t j = 0;
	for (size_t i = 0; i < a->n; i++) {
		uint8_t lo[16], hi[16];
		memcpy(lo, a->v[i].lo, 16);
		memcpy(hi, a->v[i].hi, 16);
		bool empty = false;
		while (j < b->n && memcmp(b->v[j].hi, lo, 16) < 0)
			j++;
		for (size_t k = j; !empty && k < b->n && memcmp(b->v[k].lo, hi, 16) <= 0; k++) {
			uint8_t before[16];
			if (memcmp(b->v[k].lo, lo, 16) > 0 && prev_addr(b->v[k].lo, a->width, before)) {
				int rc = ranges_add(out, lo, before, a->v[i].why);
				if (rc != 0)
					return rc;
			}
			if (memcmp(b->v[k].hi, hi, 16) >= 0 || !next_addr(b->v[k].hi, a->width, lo))
				empty = true;
		}
		if (!empty) {
			int rc = ranges_add(out, lo, hi, a->v[i].why);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static enum sh_allow_match ranges_match(const struct ranges *r, const struct sh_prefix *p,
					const char **why)
{
	struct sh_ip last;
	sh_prefix_last(p, &last);
	/* first range whose hi >= p's first address */
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(r->v[mid].hi, p->ip.b, 16) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->n || memcmp(r->v[lo].lo, last.b, 16) > 0)
		return SH_AL_NONE;
	if (why)
		*why = r->v[lo].why;
	if (memcmp(r->v[lo].lo, p->ip.b, 16) <= 0 && memcmp(last.b, r->v[lo].hi, 16) <= 0)
		return SH_AL_INSIDE;
	return SH_AL_COVERS;
}

/* ---- names --------------------------------------------------------------------------------- */
static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

static const char **name_slot(const struct name_set *ns, const char *s, size_t n, size_t *idx)
{
	size_t mask = ns->cap - 1;
	for (size_t i = (size_t)name_hash(s, n) & mask;; i = (i + 1) & mask) {
		const char *x = ns->names[i];
		if (!x || (strncmp(x, s, n) == 0 && x[n] == '\0')) {
			*idx = i;
			return &ns->names[i];
		}
	}
}

static int name_add(struct name_set *ns, struct sh_arena *a, const char *s, size_t n,
		    const char *why)
{
	if ((ns->n + 1) * 2 > ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		struct name_set big = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(char *)), cap, 0};
		if (!big.names || !big.whys) {
			free(big.names);
			free(big.whys);
			return SH_ENOMEM;
		}
		for (size_t i = 0; i < ns->cap; i++) {
			if (!ns->names[i])
				continue;
			size_t idx;
			*name_slot(&big, ns->names[i], strlen(ns->names[i]), &idx) = ns->names[i];
			big.whys[idx] = ns->whys[i];
			big.n++;
		}
		free(ns->names);
		free(ns->whys);
		*ns = big;
	}
	size_t idx;
	const char **slot = name_slot(ns, s, n, &idx);
	if (*slot)
		return 0;
	char *copy = sh_arena_strndup(a, s, n);
	if (!copy)
		return SH_ENOMEM;
	*slot = copy;
	ns->whys[idx] = why;
	ns->n++;
	return 0;
}

static const char *name_find(const struct name_set *ns, const char *s, size_t n)
{
	if (ns->n == 0)
		return NULL;
	size_t idx;
	const char **slot = name_slot(ns, s, n, &idx);
	return *slot ? ns->whys[idx] : NULL;
}

static int add_name(struct sh_allowlist *a, const char *name, const char *why)
{
	size_t n = strlen(name);
	int rc = name_add(&a->names, &a->arena, name, n, why);
	for (const char *dot = memchr(name, '.', n); rc == 0 && dot;
	     dot = memchr(dot + 1, '.', n - (size_t)(dot + 1 - name)))
		rc = name_add(&a->parents, &a->arena, dot + 1, n - (size_t)(dot + 1 - name), why);
	return rc;
}

/* ---- building ------------------------------------------------------------------------------ */
static int add_prefix(struct sh_allowlist *a, const struct sh_prefix *p, const char *why)
{
	return ranges_add_prefix(p->ip.af == SH_AF_V4 ? &a->v4 : &a->v6, p, why);
}

/* An entry given as text: IP, CIDR or domain. SH_EINVAL for anything else. */
static int add_text(struct sh_allowlist *a, const char *s, size_t n, const char *why)
{
	struct sh_indicator *ind = malloc(sizeof(*ind));
	if (!ind)
		return SH_ENOMEM;
	int rc = sh_indicator_parse(s, n, ind);
	if (rc == 0 && ind->type == SH_IND_URL)
		rc = SH_EINVAL;
	if (rc == 0)
		rc = ind->type == SH_IND_DOMAIN ? add_name(a, ind->value, why)
						: add_prefix(a, &ind->prefix, why);
	free(ind);
	return rc;
}

struct hosting_walk {
	const char *want;   /* provider name */
	struct ranges *out;
	const char *why;
};

static int hosting_cb(const char *provider, const struct sh_prefix *p, void *arg)
{
	struct hosting_walk *w = arg;
	if (strcasecmp(provider, w->want) != 0)
		return 0;
	return ranges_add_prefix(&w->out[p->ip.af == SH_AF_V4 ? 0 : 1], p, w->why);
}

/* "provider" or "provider except other": that provider's ranges, less the other's. */
static int add_shared(struct sh_allowlist *a, struct sh_store *s, const char *spec)
{
	char prov[128], other[128] = "";
	const char *ex = strstr(spec, " except ");
	size_t pn = ex ? (size_t)(ex - spec) : strlen(spec);
	if (pn >= sizeof(prov))
		return 0;
	memcpy(prov, spec, pn);
	prov[pn] = '\0';
	if (ex)
		snprintf(other, sizeof(other), "%s", ex + 8);
	char *why = sh_arena_alloc(&a->arena, strlen(prov) + 32);
	if (!why)
		return SH_ENOMEM;
	sprintf(why, "shared hosting (%s)", prov);
	struct ranges mine[2] = {{.width = 4}, {.width = 16}}, theirs[2] = {{.width = 4}, {.width = 16}};
	struct hosting_walk w = {prov, mine, why};
	int rc = sh_store_hosting_foreach(s, hosting_cb, &w);
	if (rc == 0 && other[0]) {
		w.want = other;
		w.out = theirs;
		rc = sh_store_hosting_foreach(s, hosting_cb, &w);
	}
	for (int f = 0; f < 2 && rc == 0; f++) {
		ranges_merge(&mine[f]);
		ranges_merge(&theirs[f]);
		rc = ranges_subtract(&mine[f], &theirs[f], f == 0 ? &a->v4 : &a->v6);
	}
	for (int f = 0; f < 2; f++) {
		free(mine[f].v);
		free(theirs[f].v);
	}
	return rc;
}

static int add_file(struct sh_allowlist *a, const char *path, sh_policy_diag diag, void *arg)
{
	struct sh_blob b;
	int rc = sh_blob_load(path, &b);
	if (rc != 0) {
		if (diag)
			diag(arg, path, 0, b.errmsg[0] ? b.errmsg : sh_strerror(rc));
		return rc;
	}
	char *why = sh_arena_alloc(&a->arena, strlen(path) + 16);
	if (!why) {
		sh_blob_fini(&b);
		return SH_ENOMEM;
	}
	sprintf(why, "allow file %s", path);
	unsigned long line = 0;
	for (size_t off = 0; off < b.len && rc == 0;) {
		const char *s = b.data + off;
		const char *nl = memchr(s, '\n', b.len - off);
		size_t n = nl ? (size_t)(nl - s) : b.len - off;
		off += n + (nl ? 1 : 0);
		line++;
		const char *hash = memchr(s, '#', n);
		if (hash)
			n = (size_t)(hash - s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
			n--;
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (n == 0)
			continue;
		rc = add_text(a, s, n, why);
		if (rc == SH_EINVAL || rc == SH_ETOOLONG) {
			if (diag)
				diag(arg, path, line, "not an IP, CIDR or domain; skipped");
			rc = 0;
		}
	}
	sh_blob_fini(&b);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sh_allowlist_build(const struct sh_policy *p, struct sh_store *s, sh_policy_diag diag,
		       void *arg, struct sh_allowlist **out)
{
	*out = NULL;
	struct sh_allowlist *a = calloc(1, sizeof(*a));
	if (!a)
		return SH_ENOMEM;
	a->v4.width = 4;
	a->v6.width = 16;
	sh_arena_init(&a->arena, 16384);
	int rc = 0;
	if (p->allow_special) {
		for (size_t i = 0; rc == 0 && i < sizeof(special_blocks) / sizeof(special_blocks[0]); i++) {
			struct sh_prefix pf;
			const char *t = special_blocks[i].prefix;
			rc = sh_prefix_parse(t, strlen(t), true, &pf);
			/* the IPv4-mapped block parses as IPv4 0.0.0.0/0: add it as IPv6 by hand */
			if (rc == 0 && strcmp(t, "::ffff:0:0/96") == 0) {
				memset(&pf, 0, sizeof(pf));
				pf.ip.af = SH_AF_V6;
				pf.ip.b[10] = pf.ip.b[11] = 0xff;
				pf.len = 96;
			}
			if (rc == 0)
				rc = add_prefix(a, &pf, special_blocks[i].name);
		}
		for (size_t i = 0; rc == 0 && i < sizeof(special_names) / sizeof(special_names[0]); i++)
			rc = add_name(a, special_names[i], "special-use name");
	}
	if (p->allow_resolvers)
		for (size_t i = 0; rc == 0 && i < sizeof(resolvers) / sizeof(resolvers[0]); i++)
			rc = add_text(a, resolvers[i], strlen(resolvers[i]), "public resolver");
	for (size_t i = 0; rc == 0 && s && i < p->shared_hosting.n; i++)
		rc = add_shared(a, s, p->shared_hosting.v[i]);
	for (size_t i = 0; rc == 0 && i < p->n_allow; i++) {
		const struct sh_policy_allow *e = &p->allow[i];
		rc = e->type == SH_IND_DOMAIN ? add_name(a, e->domain, "policy allow entry")
					      : add_prefix(a, &e->prefix, "policy allow entry");
	}
	for (size_t i = 0; rc == 0 && i < p->allow_files.n; i++)
		rc = add_file(a, p->allow_files.v[i], diag, arg);
	if (rc == 0) {
		ranges_merge(&a->v4);
		ranges_merge(&a->v6);
		a->sorted = malloc((a->names.n + 1) * sizeof(*a->sorted));
		if (!a->sorted)
			rc = SH_ENOMEM;
	}
	if (rc == 0) {
		for (size_t i = 0; i < a->names.cap; i++)
			if (a->names.names[i])
				a->sorted[a->n_sorted++] = a->names.names[i];
		qsort(a->sorted, a->n_sorted, sizeof(*a->sorted), cmp_str);
	}
	if (rc != 0) {
		sh_allowlist_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void sh_allowlist_free(struct sh_allowlist *a)
{
	if (!a)
		return;
	free(a->v4.v);
	free(a->v6.v);
	free(a->names.names);
	free(a->names.whys);
	free(a->parents.names);
	free(a->parents.whys);
	free(a->sorted);
	sh_arena_fini(&a->arena);
	free(a);
}

enum sh_allow_match sh_allowlist_prefix(const struct sh_allowlist *a, const struct sh_prefix *p,
					const char **why)
{
	return ranges_match(p->ip.af == SH_AF_V4 ? &a->v4 : &a->v6, p, why);
}

enum sh_allow_match sh_allowlist_domain(const struct sh_allowlist *a, const char *name,
					const char **why)
{
	size_t n = strlen(name);
	for (const char *s = name; s;) {
		const char *w = name_find(&a->names, s, n - (size_t)(s - name));
		if (w) {
			if (why)
				*why = w;
			return SH_AL_INSIDE;
		}
		s = strchr(s, '.');
		if (s)
			s++;
	}
	const char *w = name_find(&a->parents, name, n);
	if (w) {
		if (why)
			*why = w;
		return SH_AL_COVERS;
	}
	return SH_AL_NONE;
}

/* Halving a prefix until each half is clear of the allowlist or inside it gives the fewest
 * prefixes: a half that is clear is never split further. */
int sh_allowlist_split(const struct sh_allowlist *a, const struct sh_prefix *p,
		       int (*cb)(const struct sh_prefix *piece, void *arg), void *arg)
{
	enum sh_allow_match m = sh_allowlist_prefix(a, p, NULL);
	if (m == SH_AL_NONE)
		return cb(p, arg);
	if (m == SH_AL_INSIDE || p->len >= (p->ip.af == SH_AF_V4 ? 32 : 128))
		return 0;
	struct sh_prefix half = *p;
	half.len++;
	int rc = sh_allowlist_split(a, &half, cb, arg);
	if (rc == 0) {
		half.ip.b[p->len / 8] |= (uint8_t)(0x80u >> (p->len % 8));
		rc = sh_allowlist_split(a, &half, cb, arg);
	}
	return rc;
}

size_t sh_allowlist_domains(const struct sh_allowlist *a, const char *const **out)
{
	*out = a->sorted;
	return a->n_sorted;
}

size_t sh_allowlist_size(const struct sh_allowlist *a)
{
	return a->v4.n + a->v6.n + a->names.n;
}
