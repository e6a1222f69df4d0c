/* Network intelligence: from the store's runs to per-network survival, density and verdicts.
 *
 * Design: one pass over the store (sh_store_foreach_indicator_runs) turns every indicator into
 * a small observation (lifetime, time to takedown, censoring, one-day status, network); the
 * networks are then groups of observations sorted by network and first sighting, each scored
 * from its figures. Definitions (docs/method.md):
 *  - A full-list source's run that ends at snapshot k went offline somewhere between the last
 *    snapshot containing it (k-1) and k; we take the midpoint. When the two snapshots are more
 *    than twice the source's median interval apart, the end is unknown: the run is censored at
 *    its last sighting instead. Open runs are censored at the source's last snapshot. Runs of
 *    incremental sources end at the times the source gives.
 *  - Lifetime: first seen to the end of the last run. Time to takedown: first seen to the end
 *    of the first stretch online (runs of all sources merged).
 *  - Indicators already listed in their source's first snapshot started before we could see
 *    them: they count as indicators but are not survival subjects.
 *  - One-day wonder: a subject whose lifetime ended observably under 24 h, or that was seen in
 *    exactly one snapshot; its fate is known when it ended observably or lived 24 h or more. */
#include "engine/intel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/netdb.h"
#include "lib/arena.h"
#include "lib/timefmt.h"
#include "netmap/asmap.h"

#define NO_NET UINT32_MAX
#define HOUR 3600.0

enum {
	F_SUBJECT = 1,   /* start observed, has runs */
	F_LIFE_EV = 2,   /* lifetime ended observably */
	F_TD_EV = 4,     /* taken down observably */
	F_ONE_DAY = 8,
	F_ONE_DAY_KNOWN = 16,
	F_ACTIVE = 32,
	F_URL = 64,
	F_LEFT = 128,    /* listed in its source's first snapshot */
};

struct obs {
	int64_t first_seen, last_seen;
	double td_at;    /* observed takedown time, else -1 */
	double life_h, td_h;
	const char *org, *country; /* as attributed (netdb strings), NULL when not attributed */
	uint32_t net;
	uint16_t hosting; /* provider index + 1, 0 when none */
	uint8_t flags;
	struct sh_ip addr; /* host address (IPv6 cut to its /48) when attributed */
};

struct net_priv {
	size_t first, count; /* range in priv->order */
	struct sh_prefix prefix;
	double pass_v4, pass_v6; /* space summed in the current space pass */
};

struct sh_intel_priv {
	struct sh_arena arena; /* keys and names */
	struct obs *obs;
	size_t n_obs, cap_obs;
	uint32_t *order;       /* obs indices of attributed indicators by network, first seen */
	struct net_priv *np;
	size_t cap_nets;
	size_t *slots, n_slots; /* key hash: net index + 1 */
	const char **providers;
	size_t n_providers;
	uint64_t *asn_index;   /* by ASN: asn << 32 | net index, ascending (space passes) */
};

/* Per source: when a closing snapshot follows a gap, and the end of its data. */
struct src_info {
	bool full;
	int64_t gap;
	int64_t end;
	const int64_t *t;
	size_t n;
};

struct interval {
	int64_t a;
	double b;
	bool observed;
};

struct ctx {
	struct sh_intel *in;
	struct sh_intel_priv *p;
	struct sh_netdb *db;
	struct sh_intel_source **sources;
	size_t *n_sources;
	struct src_info *src;
	struct interval *iv;
	size_t cap_iv;
	int64_t *dates; /* table dates used, for the space passes */
	size_t n_dates, cap_dates;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool sh_intel_by_parse(const char *s, enum sh_intel_by *out)
{
	static const char *const names[] = {"all", "prefix", "asn", "org", "country"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum sh_intel_by)i;
			return true;
		}
	}
	return false;
}

const char *sh_intel_by_name(enum sh_intel_by by)
{
	switch (by) {
	case SH_INTEL_PREFIX:
		return "prefix";
	case SH_INTEL_ASN:
		return "asn";
	case SH_INTEL_ORG:
		return "org";
	case SH_INTEL_COUNTRY:
		return "country";
	case SH_INTEL_ALL:
		break;
	}
	return "all";
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Gap limit and end of data per source. */
static int source_infos(struct ctx *c)
{
	size_t n = *c->n_sources;
	c->src = calloc(n ? n : 1, sizeof(*c->src));
	if (!c->src)
		return SH_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct sh_intel_source *s = &(*c->sources)[i];
		struct src_info *d = &c->src[i];
		d->full = s->full_list;
		d->t = s->snapshot_t;
		d->n = s->n_snapshots;
		d->end = s->n_snapshots ? s->snapshot_t[s->n_snapshots - 1] : SH_TIME_NONE;
		d->gap = INT64_MAX;
		if (s->n_snapshots >= 2) {
			int64_t *dt = malloc((s->n_snapshots - 1) * sizeof(*dt));
			if (!dt)
				return SH_ENOMEM;
			for (size_t k = 0; k + 1 < s->n_snapshots; k++)
				dt[k] = s->snapshot_t[k + 1] - s->snapshot_t[k];
			qsort(dt, s->n_snapshots - 1, sizeof(*dt), cmp_i64);
			size_t m = s->n_snapshots - 1;
			/* the lower median for an even count keeps the limit an observed interval */
			d->gap = 2 * dt[(m - 1) / 2];
			free(dt);
		}
	}
	return 0;
}

/* Index of the first t[i] >= v. */
static size_t lower_bound(const int64_t *t, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return x->b < y->b ? -1 : x->b > y->b;
}

/* Lifetime, takedown and one-day status of one indicator from its runs. */
static int observe(struct ctx *c, const struct sh_intel_ind *ind, struct obs *o)
{
	int64_t start = ind->first_seen;
	size_t n_iv = 0;
	unsigned long seen = 0;
	bool left = false;
	for (size_t i = 0; i < ind->n_sightings; i++) {
		const struct sh_intel_sighting *g = &ind->sightings[i];
		const struct src_info *s = &c->src[g->source];
		if (g->first_seen == start && s->full && s->n && start <= s->t[0])
			left = true;
		for (size_t k = 0; k < g->n_runs; k++) {
			const struct sh_run *r = &g->runs[k];
			if (n_iv == c->cap_iv) {
				size_t cap = c->cap_iv ? c->cap_iv * 2 : 16;
				struct interval *v = realloc(c->iv, cap * sizeof(*v));
				if (!v)
					return SH_ENOMEM;
				c->iv = v;
				c->cap_iv = cap;
			}
			struct interval *iv = &c->iv[n_iv++];
			iv->a = r->start;
			if (r->end == SH_TIME_NONE) {
				int64_t e = s->end != SH_TIME_NONE ? s->end : g->last_seen;
				iv->b = (double)(e > r->start ? e : r->start);
				iv->observed = false;
			} else if (s->full && s->n) {
				size_t j = lower_bound(s->t, s->n, r->end);
				int64_t prev = j ? s->t[j - 1] : r->start;
				if (prev < r->start)
					prev = r->start;
				if (r->end - prev > s->gap) {
					iv->b = (double)prev;
					iv->observed = false;
				} else {
					iv->b = (double)prev + (double)(r->end - prev) / 2;
					iv->observed = true;
				}
			} else {
				iv->b = (double)(r->end > r->start ? r->end : r->start);
				iv->observed = true;
			}
			if (s->full && s->n) {
				size_t from = lower_bound(s->t, s->n, r->start);
				size_t to = r->end == SH_TIME_NONE ? s->n : lower_bound(s->t, s->n, r->end);
				seen += to > from ? to - from : 0;
			}
		}
	}
	if (left)
		o->flags |= F_LEFT;
	if (left || !n_iv)
		return 0;
	/* a handful of runs, ascending per source already: insertion sort */
	for (size_t i = 1; i < n_iv; i++) {
		struct interval x = c->iv[i];
		size_t j = i;
		for (; j > 0 && cmp_interval(&c->iv[j - 1], &x) > 0; j--)
			c->iv[j] = c->iv[j - 1];
		c->iv[j] = x;
	}
	/* lifetime: the latest end; a censored end wins a tie */
	double end = c->iv[0].b;
	bool life_ev = c->iv[0].observed;
	for (size_t i = 1; i < n_iv; i++) {
		if (c->iv[i].b > end) {
			end = c->iv[i].b;
			life_ev = c->iv[i].observed;
		} else if (c->iv[i].b == end && !c->iv[i].observed) {
			life_ev = false;
		}
	}
	/* takedown: the end of the first stretch online, overlapping runs merged */
	double td = c->iv[0].b;
	bool td_ev = c->iv[0].observed;
	for (size_t i = 1; i < n_iv && (double)c->iv[i].a <= td; i++) {
		if (c->iv[i].b > td) {
			td = c->iv[i].b;
			td_ev = c->iv[i].observed;
		} else if (c->iv[i].b == td && !c->iv[i].observed) {
			td_ev = false;
		}
	}
	o->flags |= F_SUBJECT;
	o->life_h = (end - (double)start) / HOUR;
	o->td_h = (td - (double)start) / HOUR;
	if (life_ev)
		o->flags |= F_LIFE_EV;
	if (td_ev) {
		o->flags |= F_TD_EV;
		o->td_at = td;
	}
	if (life_ev || o->life_h >= 24) {
		o->flags |= F_ONE_DAY_KNOWN;
		if (life_ev && (o->life_h < 24 || seen == 1))
			o->flags |= F_ONE_DAY;
	}
	return 0;
}

/* ---- networks by key ---------------------------------------------------------------------- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h ^ (h >> 31);
}

/* Rebuilds the key index with n slots (a power of two). */
static int slots_rebuild(struct sh_intel *in, size_t n)
{
	struct sh_intel_priv *p = in->priv;
	size_t *s = calloc(n, sizeof(*s));
	if (!s)
		return SH_ENOMEM;
	for (size_t i = 0; i < in->n_nets; i++) {
		size_t k = hash_key(in->nets[i].key) & (n - 1);
		while (s[k])
			k = (k + 1) & (n - 1);
		s[k] = i + 1;
	}
	free(p->slots);
	p->slots = s;
	p->n_slots = n;
	return 0;
}

/* The network with key, created when create is set; SIZE_MAX when absent or out of memory
 * (rc tells which). */
static size_t net_find(struct sh_intel *in, const char *key, bool create, int *rc)
{
	struct sh_intel_priv *p = in->priv;
	*rc = 0;
	if ((in->n_nets + 1) * 2 > p->n_slots &&
	    (*rc = slots_rebuild(in, p->n_slots ? p->n_slots * 2 : 1024)) != 0)
		return SIZE_MAX;
	size_t k = hash_key(key) & (p->n_slots - 1);
	for (; p->slots[k]; k = (k + 1) & (p->n_slots - 1))
		if (strcmp(in->nets[p->slots[k] - 1].key, key) == 0)
			return p->slots[k] - 1;
	if (!create)
		return SIZE_MAX;
	if (in->n_nets == p->cap_nets) {
		size_t cap = p->cap_nets ? p->cap_nets * 2 : 256;
		struct sh_intel_net *v = realloc(in->nets, cap * sizeof(*v));
		struct net_priv *w = v ? realloc(p->np, cap * sizeof(*w)) : NULL;
		if (v)
			in->nets = v;
		if (!v || !w) {
			*rc = SH_ENOMEM;
			return SIZE_MAX;
		}
		p->np = w;
		p->cap_nets = cap;
	}
	struct sh_intel_net *n = &in->nets[in->n_nets];
	memset(n, 0, sizeof(*n));
	memset(&p->np[in->n_nets], 0, sizeof(p->np[0]));
	n->key = sh_arena_strndup(&p->arena, key, strlen(key));
	if (!n->key) {
		*rc = SH_ENOMEM;
		return SIZE_MAX;
	}
	n->org = n->country = "";
	p->slots[k] = ++in->n_nets;
	return in->n_nets - 1;
}

static const char *intern_name(struct sh_intel_priv *p, const char *s)
{
	return s && *s ? sh_arena_strndup(&p->arena, s, strlen(s)) : "";
}

static int provider_index(struct sh_intel_priv *p, const char *name, uint16_t *out)
{
	for (size_t i = 0; i < p->n_providers; i++) {
		if (strcmp(p->providers[i], name) == 0) {
			*out = (uint16_t)(i + 1);
			return 0;
		}
	}
	if (p->n_providers >= UINT16_MAX - 1)
		return SH_ERANGE;
	const char **v = realloc(p->providers, (p->n_providers + 1) * sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	p->providers = v;
	const char *copy = sh_arena_strndup(&p->arena, name, strlen(name));
	if (!copy)
		return SH_ENOMEM;
	p->providers[p->n_providers++] = copy;
	*out = (uint16_t)p->n_providers;
	return 0;
}

static int note_date(struct ctx *c, int64_t d)
{
	if (d == SH_TIME_NONE)
		return 0;
	for (size_t i = 0; i < c->n_dates; i++)
		if (c->dates[i] == d)
			return 0;
	if (c->n_dates == c->cap_dates) {
		size_t cap = c->cap_dates ? c->cap_dates * 2 : 4;
		int64_t *v = realloc(c->dates, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		c->dates = v;
		c->cap_dates = cap;
	}
	c->dates[c->n_dates++] = d;
	return 0;
}

/* Attributes an addressed indicator; sets o->net (NO_NET when it has no network). */
static int attribute(struct ctx *c, const struct sh_intel_ind *ind, struct obs *o)
{
	struct sh_intel *in = c->in;
	struct sh_attrib at;
	/* a country table is only read when countries are the key: the labels of other keys
	 * take the country the ASN table gives, if any */
	int fields = in->by == SH_INTEL_COUNTRY ? SH_ASMAP_HAS_COUNTRY : SH_ASMAP_HAS_ASN;
	int rc = sh_netdb_attribute_fields(c->db, &ind->prefix.ip, ind->first_seen, fields, &at);
	if (rc != 0)
		return rc;
	if (at.special) {
		in->all.special++;
		return 0;
	}
	char buf[SH_PREFIX_STRLEN + 16];
	const char *key = NULL;
	switch (in->by) {
	case SH_INTEL_PREFIX:
		if (at.mapped && at.asn) {
			sh_prefix_format(&at.prefix, buf);
			key = buf;
		}
		rc = note_date(c, at.asn_table_as_of);
		break;
	case SH_INTEL_ASN:
		if (at.mapped && at.asn) {
			snprintf(buf, sizeof(buf), "AS%u", at.asn);
			key = buf;
		}
		rc = note_date(c, at.asn_table_as_of);
		break;
	case SH_INTEL_ORG:
		if (at.mapped && at.asn && at.org[0])
			key = at.org;
		rc = note_date(c, at.asn_table_as_of);
		break;
	case SH_INTEL_COUNTRY:
		if (at.country[0])
			key = at.country;
		rc = note_date(c, at.country_table_as_of);
		break;
	case SH_INTEL_ALL:
		break;
	}
	if (rc != 0)
		return rc;
	if (!key) {
		in->all.unmapped++;
		return 0;
	}
	size_t i = net_find(in, key, true, &rc);
	if (i == SIZE_MAX)
		return rc;
	struct sh_intel_net *n = &in->nets[i];
	if (!n->total) {
		if (in->by == SH_INTEL_PREFIX || in->by == SH_INTEL_ASN)
			n->asn = at.asn;
		c->p->np[i].prefix = at.prefix;
	}
	o->org = at.org;
	o->country = at.country;
	n->total++;
	in->all.attributed++;
	if (ind->prefix.ip.af == SH_AF_V6) {
		n->total_v6++;
		in->all.attributed_v6++;
	}
	o->net = (uint32_t)i;
	if (at.hosting && (rc = provider_index(c->p, at.hosting, &o->hosting)) != 0)
		return rc;
	o->addr = ind->prefix.ip;
	if (o->addr.af == SH_AF_V6) {
		struct sh_prefix p48;
		sh_prefix_from_ip(&o->addr, 48, &p48);
		o->addr = p48.ip;
	}
	return 0;
}

static int on_indicator(const struct sh_intel_ind *ind, void *arg)
{
	struct ctx *c = arg;
	struct sh_intel_priv *p = c->p;
	int rc;
	if (!c->src && (rc = source_infos(c)) != 0)
		return rc;
	if (!ind->n_sightings)
		return 0;
	if (p->n_obs == p->cap_obs) {
		size_t cap = p->cap_obs ? p->cap_obs * 2 : 4096;
		if (cap > SIZE_MAX / sizeof(*p->obs))
			return SH_ENOMEM;
		struct obs *v = realloc(p->obs, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		p->obs = v;
		p->cap_obs = cap;
	}
	struct obs *o = &p->obs[p->n_obs];
	memset(o, 0, sizeof(*o));
	o->first_seen = ind->first_seen;
	o->last_seen = ind->last_seen;
	o->td_at = -1;
	o->net = NO_NET;
	if (ind->online)
		o->flags |= F_ACTIVE;
	if (ind->type == SH_IND_URL)
		o->flags |= F_URL;
	if ((rc = observe(c, ind, o)) != 0)
		return rc;
	p->n_obs++;
	struct sh_intel_summary *all = &c->in->all;
	all->indicators++;
	if (ind->has_addr) {
		all->addressed++;
		if (c->db) {
			double t0 = now_s();
			rc = attribute(c, ind, o);
			c->in->timing.attribute += now_s() - t0;
		} else if (sh_ip_special(&ind->prefix.ip)) {
			all->special++;
		}
	}
	return rc;
}

/* ---- address space ------------------------------------------------------------------------ */

struct space_ctx {
	struct sh_intel *in;
	double total_v4, total_v6;
	/* rows of one network tend to come together: the last row's key and network */
	uint32_t last_asn;
	const char *last_name;
	char last_cc[3];
	size_t last_net;
};

/* The network of an ASN through the sorted index; SIZE_MAX when it has none. */
static size_t asn_net(const struct sh_intel_priv *p, size_t n, uint32_t asn)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->asn_index[mid] >> 32 < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && p->asn_index[lo] >> 32 == asn ? (size_t)(p->asn_index[lo] & 0xffffffffu)
						       : SIZE_MAX;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int on_space(const struct sh_netspace *sp, void *arg)
{
	struct space_ctx *x = arg;
	struct sh_intel *in = x->in;
	bool v6 = sp->prefix.ip.af == SH_AF_V6;
	const char *key = NULL;
	bool same = false;
	switch (in->by) {
	case SH_INTEL_PREFIX:
		/* a prefix's space is the prefix itself; only the totals are wanted here */
		if (sp->asn)
			*(v6 ? &x->total_v6 : &x->total_v4) += sp->units;
		return 0;
	case SH_INTEL_ASN:
		if (!sp->asn)
			return 0;
		*(v6 ? &x->total_v6 : &x->total_v4) += sp->units;
		if (sp->asn != x->last_asn) {
			x->last_asn = sp->asn;
			x->last_net = asn_net(in->priv, in->n_nets, sp->asn);
		}
		if (x->last_net != SIZE_MAX) {
			struct net_priv *np = &in->priv->np[x->last_net];
			*(v6 ? &np->pass_v6 : &np->pass_v4) += sp->units;
		}
		return 0;
	case SH_INTEL_ORG:
		if (!sp->asn || !sp->org[0])
			return 0;
		same = x->last_name && (sp->org == x->last_name || strcmp(sp->org, x->last_name) == 0);
		key = x->last_name = sp->org;
		break;
	case SH_INTEL_COUNTRY:
		if (!sp->country[0])
			return 0;
		same = strcmp(sp->country, x->last_cc) == 0;
		key = sp->country;
		snprintf(x->last_cc, sizeof(x->last_cc), "%s", sp->country);
		break;
	case SH_INTEL_ALL:
		return 0;
	}
	*(v6 ? &x->total_v6 : &x->total_v4) += sp->units;
	if (!same) {
		int rc;
		x->last_net = net_find(in, key, false, &rc);
		if (rc != 0)
			return rc;
	}
	if (x->last_net != SIZE_MAX) {
		struct net_priv *np = &in->priv->np[x->last_net];
		*(v6 ? &np->pass_v6 : &np->pass_v4) += sp->units;
	}
	return 0;
}

static int compute_space(struct ctx *c)
{
	struct sh_intel *in = c->in;
	int field = in->by == SH_INTEL_COUNTRY ? SH_ASMAP_HAS_COUNTRY : SH_ASMAP_HAS_ASN;
	if (in->by == SH_INTEL_ASN) {
		c->p->asn_index = malloc((in->n_nets ? in->n_nets : 1) * sizeof(uint64_t));
		if (!c->p->asn_index)
			return SH_ENOMEM;
		for (size_t i = 0; i < in->n_nets; i++)
			c->p->asn_index[i] = (uint64_t)in->nets[i].asn << 32 | i;
		if (in->n_nets > 1)
			qsort(c->p->asn_index, in->n_nets, sizeof(uint64_t), cmp_u64);
	}
	for (size_t d = 0; d < c->n_dates; d++) {
		for (size_t i = 0; i < in->n_nets; i++)
			c->p->np[i].pass_v4 = c->p->np[i].pass_v6 = 0;
		struct space_ctx x = {.in = in, .last_net = SIZE_MAX};
		/* the space of a family without indicators weighs nothing: skip its sweep */
		bool v4 = in->all.attributed > in->all.attributed_v6, v6 = in->all.attributed_v6 > 0;
		int rc = v4 || v6 ? sh_netdb_foreach_space(c->db, field, v4 && v6 ? 0 : v4 ? SH_AF_V4 : SH_AF_V6,
							   c->dates[d], on_space, &x)
				  : 0;
		if (rc != 0)
			return rc;
		if (x.total_v4 > in->all.space_v4)
			in->all.space_v4 = x.total_v4;
		if (x.total_v6 > in->all.space_v6)
			in->all.space_v6 = x.total_v6;
		for (size_t i = 0; i < in->n_nets; i++) {
			struct sh_intel_net *n = &in->nets[i];
			if (c->p->np[i].pass_v4 > n->space_v4)
				n->space_v4 = c->p->np[i].pass_v4;
			if (c->p->np[i].pass_v6 > n->space_v6)
				n->space_v6 = c->p->np[i].pass_v6;
		}
	}
	if (in->by == SH_INTEL_PREFIX) {
		for (size_t i = 0; i < in->n_nets; i++) {
			const struct sh_prefix *pf = &c->p->np[i].prefix;
			*(pf->ip.af == SH_AF_V6 ? &in->nets[i].space_v6 : &in->nets[i].space_v4) =
				sh_netdb_prefix_units(pf);
		}
	}
	return 0;
}

/* ---- per-network figures ------------------------------------------------------------------ */

static int month_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		return 0;
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static int64_t month_start(int m)
{
	struct tm tm = {.tm_year = m / 12 - 1900, .tm_mon = m % 12, .tm_mday = 1};
	return (int64_t)timegm(&tm);
}

static void surv_summary(const struct sh_km *km, struct sh_intel_surv *out)
{
	out->n = km->n;
	out->events = km->events;
	sh_km_quantile(km, 0.5, &out->median_h, &out->lo_h, &out->hi_h);
}

/* Fits both curves of the observations idx[0..n) and fills the summaries. */
static int fit_pair(const struct obs *obs, const uint32_t *idx, size_t n, struct sh_surv_obs *buf,
		    struct sh_intel_surv *life, struct sh_intel_surv *td, double *followup)
{
	size_t m = 0;
	double fu = 0;
	for (size_t i = 0; i < n; i++) {
		const struct obs *o = &obs[idx ? idx[i] : i];
		if (o->flags & F_SUBJECT) {
			buf[m].t = o->life_h;
			buf[m++].event = o->flags & F_LIFE_EV;
		}
	}
	struct sh_km km;
	int rc = sh_km_fit(buf, m, &km);
	if (rc != 0)
		return rc;
	surv_summary(&km, life);
	sh_km_fini(&km);
	m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct obs *o = &obs[idx ? idx[i] : i];
		if (o->flags & F_SUBJECT) {
			buf[m].t = o->td_h;
			buf[m++].event = o->flags & F_TD_EV;
			if (o->td_h > fu)
				fu = o->td_h;
		}
	}
	rc = sh_km_fit(buf, m, &km);
	if (rc != 0)
		return rc;
	surv_summary(&km, td);
	sh_km_fini(&km);
	if (followup)
		*followup = fu;
	return 0;
}

static double share(unsigned long k, unsigned long n)
{
	return n ? (double)k / (double)n : SH_SURV_NONE;
}

static int cmp_order(const void *a, const void *b, void *arg)
{
	const struct obs *obs = arg;
	const struct obs *x = &obs[*(const uint32_t *)a], *y = &obs[*(const uint32_t *)b];
	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	if (x->first_seen != y->first_seen)
		return x->first_seen < y->first_seen ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int cmp_ip(const void *a, const void *b)
{
	return sh_ip_cmp(a, b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The most frequent non-empty string of v[0..n) (sorted in place), the smallest on a tie, so
 * that the label does not depend on the order indicators were stored in; "" when none. */
static const char *mode(const char **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	const char *best = "";
	size_t best_n = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && strcmp(v[j], v[i]) == 0)
			j++;
		if (*v[i] && j - i > best_n) {
			best = v[i];
			best_n = j - i;
		}
		i = j;
	}
	return best;
}

/* Least-squares slope of y over 0..n-1, relative to the mean of y. */
static double trend(const unsigned long *y, size_t n)
{
	if (n < 3)
		return 0;
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	for (size_t i = 0; i < n; i++) {
		sx += (double)i;
		sy += (double)y[i];
		sxx += (double)i * (double)i;
		sxy += (double)i * (double)y[i];
	}
	double den = (double)n * sxx - sx * sx;
	if (den <= 0 || sy <= 0)
		return 0;
	double slope = ((double)n * sxy - sx * sy) / den;
	return slope / (sy / (double)n);
}

static int net_figures(struct sh_intel *in, size_t i, struct sh_surv_obs *buf, struct sh_ip *addrs,
		       const char **labels, unsigned long *prov_count)
{
	struct sh_intel_priv *p = in->priv;
	struct sh_intel_net *n = &in->nets[i];
	const uint32_t *idx = p->order + p->np[i].first;
	size_t cnt = p->np[i].count;
	int rc = fit_pair(p->obs, idx, cnt, buf, &n->lifetime, &n->takedown, &n->takedown_followup_h);
	if (rc != 0)
		return rc;
	n->monthly = sh_arena_alloc(&p->arena, (in->all.n_months ? in->all.n_months : 1) *
						       sizeof(*n->monthly));
	if (!n->monthly)
		return SH_ENOMEM;
	memset(n->monthly, 0, in->all.n_months * sizeof(*n->monthly));
	memset(prov_count, 0, (p->n_providers + 1) * sizeof(*prov_count));
	double min_td = INFINITY;
	int64_t last_new = in->all.start;
	int m0 = month_of(in->all.month0);
	n->first_seen = n->last_seen = SH_TIME_NONE;
	for (size_t k = 0; k < cnt; k++) {
		const struct obs *o = &p->obs[idx[k]];
		n->active += (o->flags & F_ACTIVE) != 0;
		n->urls += (o->flags & F_URL) != 0;
		n->subjects += (o->flags & F_SUBJECT) != 0;
		n->one_day += (o->flags & F_ONE_DAY) != 0;
		n->one_day_known += (o->flags & F_ONE_DAY_KNOWN) != 0;
		if (o->hosting) {
			n->in_hosting++;
			prov_count[o->hosting]++;
		}
		/* idx is in first-seen order: a takedown before this arrival is a recurrence */
		if ((double)o->first_seen > min_td)
			n->recurrences++;
		if (o->td_at >= 0 && o->td_at < min_td)
			min_td = o->td_at;
		if (n->first_seen == SH_TIME_NONE || o->first_seen < n->first_seen)
			n->first_seen = o->first_seen;
		if (o->first_seen > last_new)
			last_new = o->first_seen;
		if (n->last_seen == SH_TIME_NONE || o->last_seen > n->last_seen)
			n->last_seen = o->last_seen;
		int mi = month_of(o->first_seen) - m0;
		if (mi >= 0 && (size_t)mi < in->all.n_months)
			n->monthly[mi]++;
		addrs[k] = o->addr;
	}
	if (in->by == SH_INTEL_PREFIX || in->by == SH_INTEL_ASN) {
		for (size_t k = 0; k < cnt; k++)
			labels[k] = p->obs[idx[k]].org ? p->obs[idx[k]].org : "";
		n->org = intern_name(p, mode(labels, cnt));
	}
	if (in->by != SH_INTEL_COUNTRY) {
		for (size_t k = 0; k < cnt; k++)
			labels[k] = p->obs[idx[k]].country ? p->obs[idx[k]].country : "";
		n->country = intern_name(p, mode(labels, cnt));
	}
	if (!n->org || !n->country)
		return SH_ENOMEM;
	qsort(addrs, cnt, sizeof(*addrs), cmp_ip);
	for (size_t k = 0; k < cnt; k++)
		n->addresses += k == 0 || sh_ip_cmp(&addrs[k], &addrs[k - 1]) != 0;
	n->one_day_share = share(n->one_day, n->one_day_known);
	n->recurrence_share = cnt ? (double)n->recurrences / (double)cnt : 0;
	n->trend = trend(n->monthly, in->all.n_months);
	/* the provider with most indicators, the first by name on a tie */
	size_t best = 0;
	for (size_t k = 1; k <= p->n_providers; k++) {
		if (!prov_count[k])
			continue;
		if (!best || prov_count[k] > prov_count[best] ||
		    (prov_count[k] == prov_count[best] &&
		     strcmp(p->providers[k - 1], p->providers[best - 1]) < 0))
			best = k;
	}
	n->hosting = best ? p->providers[best - 1] : NULL;

	struct sh_net_figures f = {
		.total = n->total,
		.total_v6 = n->total_v6,
		.active = n->active,
		.addresses = n->addresses,
		.urls = n->urls,
		.in_hosting = n->in_hosting,
		.space_v4 = n->space_v4,
		.space_v6 = n->space_v6,
		.subjects = n->subjects,
		.takedown_median_h = n->takedown.median_h,
		.takedown_followup_h = n->takedown_followup_h,
		.one_day_share = n->one_day_share,
		.recurrence_share = n->recurrence_share,
		.idle_h = (double)(in->all.end - last_new) / HOUR,
		.org = in->by == SH_INTEL_ORG ? n->key : n->org,
	};
	struct sh_score_overall ref = {
		.rate_v4 = in->all.rate_v4,
		.rate_v6 = in->all.rate_v6,
		.takedown_median_h = in->all.takedown.median_h,
	};
	sh_score_network(&f, &ref, &n->score);
	return 0;
}

static int cmp_net(const void *a, const void *b)
{
	const struct sh_intel_net *x = a, *y = b;
	if (x->score.score != y->score.score)
		return x->score.score < y->score.score ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->key, y->key);
}

/* Sorts the networks and keeps their private ranges in step. */
static int sort_nets(struct sh_intel *in)
{
	struct sh_intel_priv *p = in->priv;
	size_t n = in->n_nets;
	if (n < 2)
		return 0;
	struct keyed {
		struct sh_intel_net net;
		struct net_priv np;
	} *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return SH_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		tmp[i].net = in->nets[i];
		tmp[i].np = p->np[i];
	}
	qsort(tmp, n, sizeof(*tmp), cmp_net);
	for (size_t i = 0; i < n; i++) {
		in->nets[i] = tmp[i].net;
		p->np[i] = tmp[i].np;
	}
	free(tmp);
	/* the key index holds positions */
	return slots_rebuild(in, p->n_slots);
}

static int compute_all(struct ctx *c)
{
	struct sh_intel *in = c->in;
	struct sh_intel_priv *p = c->p;
	struct sh_intel_summary *all = &in->all;

	/* window */
	all->start = all->end = SH_TIME_NONE;
	for (size_t i = 0; i < p->n_obs; i++) {
		const struct obs *o = &p->obs[i];
		if (all->start == SH_TIME_NONE || o->first_seen < all->start)
			all->start = o->first_seen;
		all->active += (o->flags & F_ACTIVE) != 0;
		all->left_censored += (o->flags & F_LEFT) != 0;
		all->subjects += (o->flags & F_SUBJECT) != 0;
		all->one_day += (o->flags & F_ONE_DAY) != 0;
		all->one_day_known += (o->flags & F_ONE_DAY_KNOWN) != 0;
	}
	for (size_t i = 0; c->src && i < *c->n_sources; i++)
		if (c->src[i].end != SH_TIME_NONE && (all->end == SH_TIME_NONE || c->src[i].end > all->end))
			all->end = c->src[i].end;
	if (all->end == SH_TIME_NONE)
		all->end = all->start;
	all->one_day_share = share(all->one_day, all->one_day_known);
	if (all->start != SH_TIME_NONE) {
		int m0 = month_of(all->start), m1 = month_of(all->end);
		all->month0 = month_start(m0);
		all->n_months = m1 >= m0 ? (size_t)(m1 - m0 + 1) : 1;
	} else {
		all->month0 = SH_TIME_NONE;
	}
	size_t nm = all->n_months ? all->n_months : 1;
	all->monthly_new = sh_arena_alloc(&p->arena, nm * sizeof(unsigned long));
	all->monthly_one_day = sh_arena_alloc(&p->arena, nm * sizeof(unsigned long));
	all->monthly_one_day_known = sh_arena_alloc(&p->arena, nm * sizeof(unsigned long));
	if (!all->monthly_new || !all->monthly_one_day || !all->monthly_one_day_known)
		return SH_ENOMEM;
	memset(all->monthly_new, 0, nm * sizeof(unsigned long));
	memset(all->monthly_one_day, 0, nm * sizeof(unsigned long));
	memset(all->monthly_one_day_known, 0, nm * sizeof(unsigned long));
	int m0 = all->n_months ? month_of(all->month0) : 0;
	for (size_t i = 0; all->n_months && i < p->n_obs; i++) {
		const struct obs *o = &p->obs[i];
		int mi = month_of(o->first_seen) - m0;
		if (mi < 0 || (size_t)mi >= all->n_months)
			continue;
		all->monthly_new[mi]++;
		all->monthly_one_day[mi] += (o->flags & F_ONE_DAY) != 0;
		all->monthly_one_day_known[mi] += (o->flags & F_ONE_DAY_KNOWN) != 0;
	}

	struct sh_surv_obs *buf = malloc((p->n_obs ? p->n_obs : 1) * sizeof(*buf));
	if (!buf)
		return SH_ENOMEM;
	int rc = fit_pair(p->obs, NULL, p->n_obs, buf, &all->lifetime, &all->takedown, NULL);
	if (all->space_v4 > 0)
		all->rate_v4 = (double)(all->attributed - all->attributed_v6) / all->space_v4;
	if (all->space_v6 > 0)
		all->rate_v6 = (double)all->attributed_v6 / all->space_v6;

	/* group the attributed observations by network */
	size_t n_attr = 0;
	for (size_t i = 0; i < p->n_obs; i++)
		n_attr += p->obs[i].net != NO_NET;
	p->order = malloc((n_attr ? n_attr : 1) * sizeof(*p->order));
	struct sh_ip *addrs = malloc((n_attr ? n_attr : 1) * sizeof(*addrs));
	const char **labels = malloc((n_attr ? n_attr : 1) * sizeof(*labels));
	unsigned long *prov = malloc((p->n_providers + 1) * sizeof(*prov));
	if (rc == 0 && (!p->order || !addrs || !labels || !prov))
		rc = SH_ENOMEM;
	if (rc == 0) {
		size_t k = 0;
		for (size_t i = 0; i < p->n_obs; i++)
			if (p->obs[i].net != NO_NET)
				p->order[k++] = (uint32_t)i;
		qsort_r(p->order, n_attr, sizeof(*p->order), cmp_order, p->obs);
		for (size_t i = 0; i < n_attr;) {
			uint32_t net = p->obs[p->order[i]].net;
			size_t j = i;
			while (j < n_attr && p->obs[p->order[j]].net == net)
				j++;
			p->np[net].first = i;
			p->np[net].count = j - i;
			i = j;
		}
		for (size_t i = 0; rc == 0 && i < in->n_nets; i++)
			rc = net_figures(in, i, buf, addrs, labels, prov);
	}
	free(buf);
	free(addrs);
	free(labels);
	free(prov);
	if (rc == 0)
		rc = sort_nets(in);
	return rc;
}

int sh_intel_compute(struct sh_store *s, enum sh_intel_by by, struct sh_intel **out)
{
	*out = NULL;
	struct sh_intel *in = calloc(1, sizeof(*in));
	struct sh_intel_priv *p = calloc(1, sizeof(*p));
	if (!in || !p) {
		free(in);
		free(p);
		return SH_ENOMEM;
	}
	in->by = by;
	in->priv = p;
	sh_arena_init(&p->arena, 64 * 1024);
	struct sh_arena src_arena;
	sh_arena_init(&src_arena, 16 * 1024);
	struct sh_intel_source *sources = NULL;
	size_t n_sources = 0;
	struct ctx c = {.in = in, .p = p, .sources = &sources, .n_sources = &n_sources};
	int rc = 0;
	if (by != SH_INTEL_ALL)
		rc = sh_netdb_open(s, &c.db);
	double t0 = now_s();
	if (rc == 0)
		rc = sh_store_foreach_indicator_runs(s, &src_arena, &sources, &n_sources, on_indicator,
						     &c);
	double t1 = now_s();
	in->timing.read = t1 - t0 - in->timing.attribute;
	if (rc == 0 && c.db)
		rc = compute_space(&c);
	double t2 = now_s();
	in->timing.space = t2 - t1;
	if (rc == 0)
		rc = compute_all(&c);
	in->timing.compute = now_s() - t2;
	sh_netdb_free(c.db);
	free(c.src);
	free(c.iv);
	free(c.dates);
	sh_arena_fini(&src_arena);
	if (rc != 0) {
		sh_intel_free(in);
		return rc;
	}
	*out = in;
	return 0;
}

void sh_intel_free(struct sh_intel *in)
{
	if (!in)
		return;
	if (in->priv) {
		free(in->priv->obs);
		free(in->priv->order);
		free(in->priv->np);
		free(in->priv->slots);
		free(in->priv->providers);
		free(in->priv->asn_index);
		sh_arena_fini(&in->priv->arena);
		free(in->priv);
	}
	free(in->nets);
	free(in);
}

const struct sh_intel_net *sh_intel_find(const struct sh_intel *in, const char *key)
{
	const struct sh_intel_priv *p = in->priv;
	if (!p->n_slots)
		return NULL;
	size_t k = hash_key(key) & (p->n_slots - 1);
	for (; p->slots[k]; k = (k + 1) & (p->n_slots - 1))
		if (strcmp(in->nets[p->slots[k] - 1].key, key) == 0)
			return &in->nets[p->slots[k] - 1];
	return NULL;
}

int sh_intel_obs(const struct sh_intel *in, size_t net, enum sh_intel_curve which,
		 struct sh_surv_obs **v, size_t *n)
{
	const struct sh_intel_priv *p = in->priv;
	*v = NULL;
	*n = 0;
	if (net != SIZE_MAX && net >= in->n_nets)
		return SH_EINVAL;
	const uint32_t *idx = net == SIZE_MAX ? NULL : p->order + p->np[net].first;
	size_t cnt = net == SIZE_MAX ? p->n_obs : p->np[net].count;
	size_t m = 0;
	for (size_t i = 0; i < cnt; i++)
		m += (p->obs[idx ? idx[i] : i].flags & F_SUBJECT) != 0;
	if (!m)
		return 0;
	struct sh_surv_obs *buf = malloc(m * sizeof(*buf));
	if (!buf)
		return SH_ENOMEM;
	m = 0;
	for (size_t i = 0; i < cnt; i++) {
		const struct obs *o = &p->obs[idx ? idx[i] : i];
		if (!(o->flags & F_SUBJECT))
			continue;
		buf[m].t = which == SH_CURVE_LIFETIME ? o->life_h : o->td_h;
		buf[m++].event = o->flags & (which == SH_CURVE_LIFETIME ? F_LIFE_EV : F_TD_EV);
	}
	*v = buf;
	*n = m;
	return 0;
}

int sh_intel_curve(const struct sh_intel *in, size_t net, enum sh_intel_curve which,
		   struct sh_km *out)
{
	struct sh_surv_obs *v;
	size_t n;
	int rc = sh_intel_obs(in, net, which, &v, &n);
	if (rc == 0)
		rc = sh_km_fit(v, n, out);
	free(v);
	return rc;
}
