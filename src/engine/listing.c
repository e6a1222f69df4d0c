/* Building the listing set: one pass over the store's indicators, in two threads, the policy
 * applied to each (category, liveness, expiry, allowlist, guard problems), then a sort and a
 * merge that also joins entries reached twice (an IP listed itself and as the host of listed
 * URLs); see "building in two threads" below.
 *
 * Categories are decided per (source, threat, tags) triple and memoised, since a store holds
 * millions of indicators but only a few hundred such triples; repeated texts (source lists,
 * threats, tags) are interned so a million listings share a few thousand strings. */
#include "engine/listing.h"

#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/campaign.h"
#include "engine/intel.h"
#include "lib/domain.h"
#include "lib/timefmt.h"

/* ---- interned strings and the category memo -------------------------------------------- */
struct slot {
	uint64_t hash;
	const char *s; /* NULL: empty */
	int value;
};

struct table {
	struct slot *v;
	size_t cap, n;
};

struct intern {
	struct table strings, cats;
	/* the last sighting category decided: its memo key and the key's threat and tags */
	const char *last_key, *last_source, *last_threat, *last_tags;
	int last_cat;
};

struct sort_key;

/* One part of the set, built by one thread (see sh_listing_build): its listings, the strings
 * they point to, and its counts. */
struct part {
	const struct sh_policy *policy;
	int64_t at;
	struct sh_listing *v;  /* as added (freed once merged into the set) */
	size_t n;
	struct sort_key *keys; /* v in sorted order */
	struct intern intern;
	struct sh_arena arena;
	struct sh_listing_stats stats;
	double walk;           /* seconds spent reading the store and applying the policy */
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

static struct slot *table_find(struct table *t, uint64_t h, const char *s, size_t n)
{
	size_t mask = t->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct slot *x = &t->v[i];
		if (!x->s || (x->hash == h && strncmp(x->s, s, n) == 0 && x->s[n] == '\0'))
			return x;
	}
}

static int table_grow(struct table *t)
{
	if ((t->n + 1) * 2 <= t->cap)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 256;
	struct slot *v = calloc(cap, sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->v[i].s)
			continue;
		size_t mask = cap - 1, k = (size_t)t->v[i].hash & mask;
		while (v[k].s)
			k = (k + 1) & mask;
		v[k] = t->v[i];
	}
	free(t->v);
	t->v = v;
	t->cap = cap;
	return 0;
}

/* The set's one copy of s[0..n) (NULL when out of memory). */
static const char *intern(struct part *pt, const char *s, size_t n)
{
	struct intern *in = &pt->intern;
	if (table_grow(&in->strings) != 0)
		return NULL;
	uint64_t h = hash_bytes(s, n);
	struct slot *x = table_find(&in->strings, h, s, n);
	if (!x->s) {
		char *c = sh_arena_strndup(&pt->arena, s, n);
		if (!c)
			return NULL;
		x->s = c;
		x->hash = h;
		in->strings.n++;
	}
	return x->s;
}

static const char *intern_str(struct part *pt, const char *s)
{
	return s ? intern(pt, s, strlen(s)) : NULL;
}

/* ---- categories ------------------------------------------------------------------------------ */
static bool any_match(const struct sh_pattern_list *l, const char *s)
{
	for (size_t i = 0; s && i < l->n; i++)
		if (fnmatch(l->v[i], s, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

static bool tags_match(const struct sh_pattern_list *l, const char *tags)
{
	if (!tags || l->n == 0)
		return false;
	char tag[256];
	for (const char *p = tags; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		while (n && *p == ' ') {
			p++;
			n--;
		}
		if (n && n < sizeof(tag)) {
			memcpy(tag, p, n);
			tag[n] = '\0';
			if (any_match(l, tag))
				return true;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

static int match_category(const struct sh_policy *p, const struct sh_listing_src *g)
{
	for (size_t i = 0; i < p->n_cats; i++) {
		const struct sh_policy_category *c = &p->cats[i];
		if ((int)i == p->network_cat || (int)i == p->infra_cat)
			continue; /* whole networks, campaign infrastructure only */
		if (c->threats.n + c->sources.n + c->tags.n == 0)
			return (int)i;
		if (any_match(&c->threats, g->threat) || any_match(&c->sources, g->source) ||
		    tags_match(&c->tags, g->tags))
			return (int)i;
	}
	return -1;
}

/* Whether s (NULL as "") is the memo key's field that starts at f (fields end in 0x1f). */
static bool same_field(const char *f, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return strncmp(f, s ? s : "", n) == 0 && f[n] == '\x1f';
}

/* Category index of one sighting, or -1; *err set when out of memory. The last answer is
 * kept: consecutive indicators mostly come from the same source with the same threat. */
static int sighting_category(struct part *pt, const struct sh_listing_src *g,
			     int *err)
{
	struct intern *in = &pt->intern;
	if (in->last_key && g->source == in->last_source && same_field(in->last_threat, g->threat) &&
	    same_field(in->last_tags, g->tags))
		return in->last_cat;
	char key[1024];
	const char *parts[3] = {g->source, g->threat ? g->threat : "", g->tags ? g->tags : ""};
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);
		if (n + len + 1 >= sizeof(key))
			return match_category(pt->policy, g);
		memcpy(key + n, parts[i], len);
		n += len;
		key[n++] = '\x1f';
	}
	if (table_grow(&in->cats) != 0) {
		*err = SH_ENOMEM;
		return -1;
	}
	uint64_t h = hash_bytes(key, n);
	struct slot *x = table_find(&in->cats, h, key, n);
	if (!x->s) {
		char *c = sh_arena_strndup(&pt->arena, key, n);
		if (!c) {
			*err = SH_ENOMEM;
			return -1;
		}
		x->s = c;
		x->hash = h;
		x->value = match_category(pt->policy, g);
		in->cats.n++;
	}
	in->last_key = x->s;
	in->last_source = g->source;
	in->last_threat = strchr(x->s, '\x1f') + 1;
	in->last_tags = strchr(in->last_threat, '\x1f') + 1;
	in->last_cat = x->value;
	return x->value;
}

/* ---- building ---------------------------------------------------------------------------- */
struct builder {
	struct part *pt;
	const struct sh_policy *p;
	const struct sh_allowlist *al;
	size_t cap;
	int rc;
	/* the interned list of the last single source: most indicators have one */
	const char *one_name, *one_list;
	/* the indicator being added */
	struct sh_listing cur;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Joins names[0..n) sorted and without repeats, interned. */
static const char *join_names(struct part *pt, const char **names, size_t n,
			      uint32_t *count)
{
	qsort(names, n, sizeof(*names), cmp_name);
	char buf[4096];
	size_t off = 0;
	uint32_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(names[i], names[i - 1]) == 0)
			continue;
		size_t len = strlen(names[i]);
		if (off + len + 2 >= sizeof(buf))
			break;
		if (off)
			buf[off++] = ',';
		memcpy(buf + off, names[i], len);
		off += len;
		k++;
	}
	*count = k;
	return intern(pt, buf, off);
}

static int push(struct builder *b, const struct sh_listing *l)
{
	struct part *pt = b->pt;
	if (pt->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		if (cap > SIZE_MAX / sizeof(*pt->v))
			return SH_ENOMEM;
		struct sh_listing *v = realloc(pt->v, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		pt->v = v;
		b->cap = cap;
	}
	pt->v[pt->n++] = *l;
	return 0;
}

__attribute__((format(printf, 2, 3))) static const char *problemf(struct part *pt,
									  const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	return intern(pt, buf, (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n);
}

/* Adds the current indicator's evidence under an address key. */
static int add_prefix(struct builder *b, const struct sh_prefix *pf, uint16_t flags)
{
	struct part *pt = b->pt;
	const char *why = NULL;
	enum sh_allow_match m = sh_allowlist_prefix(b->al, pf, &why);
	if (m == SH_AL_INSIDE) {
		pt->stats.allowlisted++;
		return 0;
	}
	struct sh_listing l = b->cur;
	unsigned full = pf->ip.af == SH_AF_V4 ? 32 : 128;
	unsigned min = pf->ip.af == SH_AF_V4 ? b->p->min_prefix_v4 : b->p->min_prefix_v6;
	char text[SH_PREFIX_STRLEN];
	size_t n = pf->len == full ? sh_ip_format(&pf->ip, text) : sh_prefix_format(pf, text);
	l.type = pf->len == full ? SH_IND_IP : SH_IND_CIDR;
	l.prefix = *pf;
	l.flags |= flags;
	l.value = sh_arena_strndup(&pt->arena, text, n);
	if (!l.value)
		return SH_ENOMEM;
	if (pf->len == 0)
		l.problem = problemf(pt, "%s covers the whole address space", text);
	else if (pf->len < min)
		l.problem = problemf(pt, "%s is shorter than /%u, the shortest prefix the guard allows",
				     text, min);
	else if (m == SH_AL_COVERS)
		l.problem = problemf(pt, "%s would list allowlisted addresses (%s)", text, why);
	if (l.problem)
		pt->stats.problems++;
	return push(b, &l);
}

static int add_domain(struct builder *b, const char *name, uint16_t flags)
{
	struct part *pt = b->pt;
	const char *why = NULL;
	enum sh_allow_match m = sh_allowlist_domain(b->al, name, &why);
	if (m == SH_AL_INSIDE) {
		pt->stats.allowlisted++;
		return 0;
	}
	struct sh_listing l = b->cur;
	l.type = SH_IND_DOMAIN;
	l.flags |= flags;
	l.value = sh_arena_strndup(&pt->arena, name, strlen(name));
	if (!l.value)
		return SH_ENOMEM;
	if (sh_domain_is_public_suffix(name))
		l.problem = problemf(pt, "%s is a public suffix", name);
	else if (m == SH_AL_COVERS)
		l.problem = problemf(pt, "%s would list allowlisted names under it (%s)", name, why);
	if (l.problem)
		pt->stats.problems++;
	return push(b, &l);
}

static int add_url(struct builder *b, const struct sh_listing_ind *ind)
{
	enum sh_allow_match m = SH_AL_NONE;
	if (ind->has_prefix)
		m = sh_allowlist_prefix(b->al, &ind->prefix, NULL);
	else if (ind->host)
		m = sh_allowlist_domain(b->al, ind->host, NULL);
	if (m == SH_AL_INSIDE) {
		b->pt->stats.allowlisted++;
		return 0;
	}
	struct sh_listing l = b->cur;
	l.type = SH_IND_URL;
	l.value = sh_arena_strndup(&b->pt->arena, ind->value, strlen(ind->value));
	return l.value ? push(b, &l) : SH_ENOMEM;
}

static int on_indicator(const struct sh_listing_ind *ind, void *arg)
{
	struct builder *b = arg;
	struct part *pt = b->pt;
	const struct sh_policy *p = b->p;
	int64_t at = pt->at;
	pt->stats.indicators++;

	int cat = INT_MAX, err = 0;
	for (size_t i = 0; i < ind->n_sources; i++) {
		int c = sighting_category(pt, &ind->sources[i], &err);
		if (err)
			return err;
		if (c >= 0 && c < cat)
			cat = c;
	}
	if (cat == INT_MAX || !p->cats[cat].list) {
		pt->stats.unlisted++;
		return 0;
	}
	const struct sh_policy_category *c = &p->cats[cat];

	const char *names[64];
	size_t n_alive = 0;
	bool online = false;
	struct sh_listing *l = &b->cur;
	memset(l, 0, sizeof(*l));
	l->cat = (uint16_t)cat;
	for (size_t i = 0; i < ind->n_sources; i++) {
		const struct sh_listing_src *g = &ind->sources[i];
		if (g->first_seen > at)
			continue; /* not known yet at the export time */
		bool on = g->online && (p->stale_after == 0 || at - g->last_seen <= p->stale_after);
		if (!on && g->last_seen + c->offline_grace <= at)
			continue;
		online |= on;
		if (n_alive < sizeof(names) / sizeof(names[0]))
			names[n_alive] = g->source;
		if (n_alive == 0 || g->first_seen < l->first_seen)
			l->first_seen = g->first_seen;
		if (n_alive == 0 || g->last_seen > l->last_seen)
			l->last_seen = g->last_seen;
		if (!l->threat && g->threat)
			l->threat = g->threat;
		if (!l->malware && g->malware)
			l->malware = g->malware;
		if (!l->tags && g->tags)
			l->tags = g->tags;
		if (!l->ref && g->ref)
			l->ref = g->ref;
		n_alive++;
	}
	if (n_alive == 0) {
		pt->stats.expired++;
		return 0;
	}
	if (n_alive < p->min_sources) {
		pt->stats.few_sources++;
		return 0;
	}
	size_t n_names = n_alive < sizeof(names) / sizeof(names[0]) ? n_alive
								  : sizeof(names) / sizeof(names[0]);
	if (n_names == 1 && names[0] == b->one_name) {
		l->sources = b->one_list;
		l->n_sources = 1;
	} else {
		l->sources = join_names(pt, names, n_names, &l->n_sources);
		if (n_names == 1) {
			b->one_name = names[0];
			b->one_list = l->sources;
		}
	}
	l->threat = intern_str(pt, l->threat);
	l->malware = intern_str(pt, l->malware);
	l->tags = intern_str(pt, l->tags);
	l->ref = l->ref ? sh_arena_strndup(&pt->arena, l->ref, strlen(l->ref)) : NULL;
	if (!l->sources)
		return SH_ENOMEM;
	l->flags = online ? SH_LF_ONLINE : 0;
	l->expires = online ? at + c->expiry : l->last_seen + c->offline_grace;

	switch (ind->type) {
	case SH_IND_IP:
	case SH_IND_CIDR:
		if ((p->types & (1u << ind->type)) && ind->has_prefix)
			return add_prefix(b, &ind->prefix, 0);
		return 0;
	case SH_IND_DOMAIN:
		return (p->types & (1u << SH_IND_DOMAIN)) ? add_domain(b, ind->value, 0) : 0;
	case SH_IND_URL: {
		int rc = (p->types & (1u << SH_IND_URL)) ? add_url(b, ind) : 0;
		if (rc == 0 && ind->has_prefix && p->url_ip_hosts)
			rc = add_prefix(b, &ind->prefix, SH_LF_FROM_URL);
		else if (rc == 0 && !ind->has_prefix && ind->host && p->url_domain_hosts)
			rc = add_domain(b, ind->host, SH_LF_FROM_URL);
		return rc;
	}
	}
	return 0;
}

/* ---- whole networks ------------------------------------------------------------------------ */
static int add_network_piece(const struct sh_prefix *piece, void *arg)
{
	struct builder *b = arg;
	b->pt->stats.networks++;
	return add_prefix(b, piece, SH_LF_NETWORK);
}

/* The routed prefixes of the networks whose verdict the policy lists, each cut around the
 * allowlist. Without an AS map there are no routed prefixes, and the network computation
 * (a second pass over the store) is skipped. */
static int add_networks(struct builder *b, struct sh_store *s)
{
	struct part *pt = b->pt;
	const struct sh_policy *p = b->p;
	if (!p->network_verdicts || p->network_cat < 0 || !p->cats[p->network_cat].list ||
	    !(p->types & (1u << SH_IND_CIDR)))
		return 0;
	struct sh_arena tmp;
	sh_arena_init(&tmp, 4096);
	struct sh_asmap_table *tables;
	size_t n_tables = 0;
	int rc = sh_store_asmap_tables(s, &tmp, &tables, &n_tables);
	sh_arena_fini(&tmp);
	if (rc != 0 || n_tables == 0)
		return rc;
	struct sh_intel *in;
	rc = sh_intel_compute(s, SH_INTEL_PREFIX, &in);
	if (rc != 0)
		return rc;
	const struct sh_policy_category *c = &p->cats[p->network_cat];
	const char *source = intern_str(pt, "sheriff-networks"), *threat = intern_str(pt, "network");
	for (size_t i = 0; rc == 0 && i < in->n_nets; i++) {
		const struct sh_intel_net *net = &in->nets[i];
		struct sh_prefix pf;
		if (!(p->network_verdicts & (1u << net->score.verdict)) ||
		    sh_prefix_parse(net->key, strlen(net->key), false, &pf) != 0)
			continue;
		unsigned min = pf.ip.af == SH_AF_V4 ? p->network_min_prefix_v4 : p->network_min_prefix_v6;
		unsigned guard = pf.ip.af == SH_AF_V4 ? p->min_prefix_v4 : p->min_prefix_v6;
		if (pf.len < (min > guard ? min : guard)) {
			pt->stats.networks_broad++;
			continue;
		}
		char ev[400];
		int n = snprintf(ev, sizeof(ev), "network %s (AS%u%s%s): verdict %s, score %.0f, %lu "
				 "indicator%s, %lu online", net->key, net->asn, net->org[0] ? " " : "",
				 net->org, sh_verdict_name(net->score.verdict), net->score.score,
				 net->total, net->total == 1 ? "" : "s", net->active);
		struct sh_listing *l = &b->cur;
		memset(l, 0, sizeof(*l));
		l->cat = (uint16_t)p->network_cat;
		l->flags = net->active ? SH_LF_ONLINE : 0;
		l->n_sources = 1;
		l->sources = source;
		l->threat = threat;
		l->network = intern(pt, ev, n < 0 ? 0 : (size_t)n >= sizeof(ev) ? sizeof(ev) - 1 : (size_t)n);
		l->first_seen = net->first_seen;
		l->last_seen = net->last_seen;
		/* the verdict holds while the network's record does: renewed by every export */
		l->expires = pt->at + c->expiry;
		if (!l->sources || !l->threat || !l->network)
			rc = SH_ENOMEM;
		else
			rc = sh_allowlist_split(b->al, &pf, add_network_piece, b);
	}
	sh_intel_free(in);
	return rc;
}

struct infra_ctx {
	struct builder *b;
	const struct sh_campaigns *c;
	int rc;
};

static void add_infra_value(uint32_t vid, int64_t until, void *arg)
{
	struct infra_ctx *x = arg;
	struct builder *b = x->b;
	struct part *pt = b->pt;
	const struct sh_policy *p = b->p;
	enum sh_evkey key;
	const char *v = sh_linker_value(x->c->linker, vid, &key, NULL);
	int64_t live_until;
	uint32_t member;
	/* a member's own address is on its feed already, with the feed's expiry */
	if (x->rc != 0 || key == SH_EV_IP ||
	    !sh_linker_live_value(x->c->linker, vid, pt->at, &live_until, &member) ||
	    x->c->camp_of[member] == UINT32_MAX)
		return;
	const struct sh_campaign *k = &x->c->camps[x->c->camp_of[member]];
	char ev[400];
	int n = snprintf(ev, sizeof(ev), "campaign %s: %s %s (%zu members, %zu online, %zu respawn%s)",
			 k->id, sh_evkey_name(key), v, k->n_members, k->online, k->n_respawns,
			 k->n_respawns == 1 ? "" : "s");
	struct sh_listing *l = &b->cur;
	memset(l, 0, sizeof(*l));
	l->cat = (uint16_t)p->infra_cat;
	l->flags = k->online ? SH_LF_ONLINE : 0;
	l->n_sources = 1;
	l->sources = intern_str(pt, "sheriff-campaigns");
	l->threat = intern_str(pt, "infrastructure");
	l->network = intern(pt, ev, n < 0 ? 0 : (size_t)n >= sizeof(ev) ? sizeof(ev) - 1 : (size_t)n);
	l->first_seen = k->first_seen;
	l->last_seen = k->last_seen;
	/* short: one window past the last takedown there, or past now while a member is online */
	l->expires = until == SH_TIME_NONE ? pt->at + p->infrastructure_window : until;
	if (!l->sources || !l->threat || !l->network) {
		x->rc = SH_ENOMEM;
		return;
	}
	struct sh_prefix pf;
	pt->stats.infrastructure++;
	if (key == SH_EV_DOMAIN) {
		if (p->types & (1u << SH_IND_DOMAIN))
			x->rc = add_domain(b, v, SH_LF_INFRA);
	} else if (sh_prefix_parse(v, strlen(v), false, &pf) == 0 &&
		   (p->types & (1u << SH_IND_CIDR))) {
		x->rc = add_prefix(b, &pf, SH_LF_INFRA);
	}
}

/* The live infrastructure of respawn campaigns as of the export time (a pass over the store
 * like sheriff campaigns, so only when the policy asks for it). */
static int add_infrastructure(struct builder *b, struct sh_store *s)
{
	const struct sh_policy *p = b->p;
	if (!p->infrastructure || p->infra_cat < 0 || !p->cats[p->infra_cat].list)
		return 0;
	struct sh_linker_config cfg = {p->infrastructure_window, SH_CAMPAIGN_BOUND_DEFAULT};
	struct sh_campaigns *c;
	int rc = sh_campaigns_compute(s, b->al, &cfg, false, &c);
	if (rc != 0)
		return rc;
	struct infra_ctx x = {b, c, 0};
	sh_linker_live(c->linker, b->pt->at, add_infra_value, &x);
	sh_campaigns_free(c);
	return x.rc;
}

/* RFC 5782: 127.0.0.2 (and ::ffff:127.0.0.2 for IPv6 lists) and "test" are always listed;
 * they take the category whose IP code is 127.0.0.2, else the first. */
static int add_test_entries(struct builder *b)
{
	const struct sh_policy *p = b->p;
	struct sh_listing l;
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < p->n_cats; i++) {
		if (p->cats[i].ip_code == 0x7f000002u) {
			l.cat = (uint16_t)i;
			break;
		}
	}
	l.flags = SH_LF_TEST | SH_LF_ONLINE;
	l.first_seen = l.last_seen = b->pt->at;
	l.expires = b->pt->at + p->cats[l.cat].expiry;
	l.sources = "";
	struct sh_listing v4 = l, v6 = l, dom = l;
	v4.type = v6.type = SH_IND_IP;
	v4.prefix.ip.af = SH_AF_V4;
	v4.prefix.ip.b[0] = 127;
	v4.prefix.ip.b[3] = 2;
	v4.prefix.len = 32;
	v4.value = "127.0.0.2";
	v6.prefix.ip.af = SH_AF_V6;
	v6.prefix.ip.b[10] = v6.prefix.ip.b[11] = 0xff;
	v6.prefix.ip.b[12] = 127;
	v6.prefix.ip.b[15] = 2;
	v6.prefix.len = 128;
	v6.value = "::ffff:127.0.0.2";
	dom.type = SH_IND_DOMAIN;
	dom.value = "test";
	int rc = push(b, &v4);
	if (rc == 0)
		rc = push(b, &v6);
	if (rc == 0)
		rc = push(b, &dom);
	return rc;
}

static int group(const struct sh_listing *l)
{
	switch (l->type) {
	case SH_IND_IP:
	case SH_IND_CIDR:
		return l->prefix.ip.af == SH_AF_V4 ? 0 : 1;
	case SH_IND_DOMAIN:
		return 2;
	case SH_IND_URL:
		return 3;
	}
	return 4;
}

static const char *after_scheme(const char *url)
{
	const char *p = strstr(url, "://");
	return p ? p + 3 : url;
}

static int cmp_listing(const void *pa, const void *pb)
{
	const struct sh_listing *a = pa, *b = pb;
	int ga = group(a), gb = group(b);
	if (ga != gb)
		return ga < gb ? -1 : 1;
	if (ga <= 1) {
		int c = memcmp(a->prefix.ip.b, b->prefix.ip.b, 16);
		if (c)
			return c;
		return a->prefix.len < b->prefix.len ? -1 : a->prefix.len > b->prefix.len;
	}
	if (ga == 3) {
		/* URLs by what follows the scheme first: most start with "http://", which would
		 * make the sort key below useless */
		int c = strcmp(after_scheme(a->value), after_scheme(b->value));
		if (c)
			return c;
	}
	return strcmp(a->value, b->value);
}

/* A 64-bit key that orders like cmp_listing wherever two keys differ: the group in the top
 * bits, then the address (IPv4: all of it and the prefix length; IPv6: its first 61 bits) or
 * the first seven bytes of the text. Sorting 16-byte (key, index) pairs and breaking ties with
 * cmp_listing is several times faster than sorting the listings themselves. */
struct sort_key {
	uint64_t key;
	const struct sh_listing *l;
};

static uint64_t listing_key(const struct sh_listing *l)
{
	uint64_t g = (uint64_t)group(l) << 61, k = 0;
	if (g == 0) {
		const uint8_t *b = l->prefix.ip.b;
		k = (uint64_t)b[0] << 32 | (uint64_t)b[1] << 24 | (uint64_t)b[2] << 16 |
		    (uint64_t)b[3] << 8 | l->prefix.len;
	} else if (g == (uint64_t)1 << 61) {
		for (int i = 0; i < 8; i++)
			k = k << 8 | l->prefix.ip.b[i];
		k >>= 3;
	} else {
		const char *s = g == (uint64_t)3 << 61 ? after_scheme(l->value) : l->value;
		for (int i = 0; i < 7; i++) {
			k = k << 8 | (uint8_t)*s;
			if (*s)
				s++;
		}
	}
	return g | k;
}

static int cmp_key(const void *pa, const void *pb)
{
	return cmp_listing(((const struct sort_key *)pa)->l, ((const struct sort_key *)pb)->l);
}

/* LSD radix sort of the keys, 16 bits a pass (stable), then runs of equal keys sorted with
 * the full comparison. */
static int radix_sort(struct sort_key *k, size_t n)
{
	struct sort_key *tmp = malloc(n * sizeof(*tmp));
	size_t *count = malloc(65536 * sizeof(*count));
	if (!tmp || !count) {
		free(tmp);
		free(count);
		return SH_ENOMEM;
	}
	struct sort_key *src = k, *dst = tmp;
	for (unsigned shift = 0; shift < 64; shift += 16) {
		memset(count, 0, 65536 * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xffff]++;
		if (count[(src[0].key >> shift) & 0xffff] == n)
			continue; /* every key has the same digit here */
		size_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xffff]++] = src[i];
		struct sort_key *t = src;
		src = dst;
		dst = t;
	}
	if (src != k)
		memcpy(k, src, n * sizeof(*k));
	free(tmp);
	free(count);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && k[j].key == k[i].key)
			j++;
		if (j - i > 1)
			qsort(k + i, j - i, sizeof(*k), cmp_key);
		i = j;
	}
	return 0;
}

/* dst absorbs src, which has the same key; new strings go to pt. *dup_problems counts
 * guard problems that were counted for both. */
static int merge(struct part *pt, struct sh_listing *dst, const struct sh_listing *src,
		 unsigned long *dup_problems)
{
	if (src->sources != dst->sources) {
		const char *names[128];
		size_t n = 0;
		char buf[8192];
		snprintf(buf, sizeof(buf), "%s,%s", dst->sources, src->sources);
		for (char *t = strtok(buf, ","); t && n < sizeof(names) / sizeof(names[0]);
		     t = strtok(NULL, ","))
			names[n++] = t;
		dst->sources = join_names(pt, names, n, &dst->n_sources);
		if (!dst->sources)
			return SH_ENOMEM;
	}
	uint16_t from_url = dst->flags & src->flags & SH_LF_FROM_URL;
	dst->flags = (uint16_t)(((dst->flags | src->flags) & ~SH_LF_FROM_URL) | from_url);
	if (src->cat < dst->cat)
		dst->cat = src->cat;
	if (src->first_seen < dst->first_seen)
		dst->first_seen = src->first_seen;
	if (src->last_seen > dst->last_seen)
		dst->last_seen = src->last_seen;
	if (src->expires > dst->expires)
		dst->expires = src->expires;
	if (!dst->threat)
		dst->threat = src->threat;
	if (!dst->malware)
		dst->malware = src->malware;
	if (!dst->tags)
		dst->tags = src->tags;
	if (!dst->ref)
		dst->ref = src->ref;
	/* the network's or campaign's evidence stays only on a listing in its category */
	if (dst->cat != pt->policy->network_cat && dst->cat != pt->policy->infra_cat)
		dst->network = NULL;
	else if (!dst->network)
		dst->network = src->network;
	if (!dst->problem)
		dst->problem = src->problem;
	else if (src->problem)
		(*dup_problems)++;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The part's listings in sorted order (pt->keys). */
static int sort_part(struct part *pt)
{
	pt->keys = malloc((pt->n ? pt->n : 1) * sizeof(*pt->keys));
	if (!pt->keys)
		return SH_ENOMEM;
	for (size_t i = 0; i < pt->n; i++)
		pt->keys[i] = (struct sort_key){listing_key(&pt->v[i]), &pt->v[i]};
	return pt->n < 2 ? 0 : radix_sort(pt->keys, pt->n);
}

/* ---- building in two threads -------------------------------------------------------------- */
/* Design: the store is walked in two parts, each in a thread of its own with a store handle of
 * its own (SQLite's work is about half of the whole, and one handle cannot be stepped by two
 * threads at once). The indicator ids are cut into N_RANGES ranges that the two threads take
 * in turn, so the parts come out about equal even when one thread runs slower. Each thread
 * applies the policy to its part, with strings, memo and counts of its own, and sorts the
 * part. The two
 * sorted parts are then merged into the set, again in two threads: the merge is cut at a key
 * that splits the listings in about half, so each thread merges the lower or the upper keys of
 * both parts, with entries reached twice (an IP listed itself in one part and as the host of a
 * URL in the other) side by side in one of them. Each thread copies the values of the listings
 * it merges in order next to each other, so that the exporters, which read every value once
 * in order, read memory in order (scattered reads cost a cache and TLB miss each).
 *
 * The parts are read in two read transactions, which see the same data unless a writer
 * commits in the moment between their starts; each indicator is then still read whole, with
 * all its sightings, as of one of the two commits.
 *
 * The pipeline this replaces (one thread stepping SQLite, one applying the policy) left the
 * SQLite thread the longer of the two and the sort to one thread: about 1.3 s against 0.9 s
 * here for a million indicators. */
#define N_PARTS 2
#define N_RANGES 32

struct walk_plan {
	int64_t since;
	int64_t bounds[N_RANGES + 1];
	atomic_size_t next;  /* the next range to walk */
	atomic_bool stop;    /* a part failed */
};

struct build_ctx {
	struct sh_store *s;  /* the handle of this part */
	struct builder b;
	struct walk_plan *plan;
	bool first;          /* the part that also adds networks, infrastructure and test entries */
	int rc;
};

static int on_indicator_or_stop(const struct sh_listing_ind *ind, void *arg)
{
	struct build_ctx *x = arg;
	if (atomic_load_explicit(&x->plan->stop, memory_order_relaxed))
		return SH_ECANCELED;
	return on_indicator(ind, &x->b);
}

static void *build_part(void *arg)
{
	struct build_ctx *x = arg;
	struct walk_plan *w = x->plan;
	struct part *pt = x->b.pt;
	double t0 = now_s();
	x->rc = sh_store_foreach_listing(x->s, w->since, w->bounds, N_RANGES, &w->next,
					 on_indicator_or_stop, x);
	if (x->rc == 0 && x->first)
		x->rc = add_networks(&x->b, x->s);
	if (x->rc == 0 && x->first)
		x->rc = add_infrastructure(&x->b, x->s);
	if (x->rc == 0 && x->first)
		x->rc = add_test_entries(&x->b);
	pt->walk = now_s() - t0;
	if (x->rc == 0)
		x->rc = sort_part(pt);
	if (x->rc != 0)
		atomic_store(&w->stop, true);
	return NULL;
}

/* Order of the sorted listings: by key, then in full. */
static int order(const struct sort_key *a, const struct sort_key *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return cmp_listing(a->l, b->l);
}

/* The first of k[0..n) not ordered before p. */
static size_t lower_bound(const struct sort_key *k, size_t n, const struct sort_key *p)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (order(&k[mid], p) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct merge_job {
	struct part *pt;     /* where merged sources and copied values go */
	const struct sort_key *a, *b;
	size_t na, nb;
	struct sh_listing *out;
	size_t m;            /* listings written to out */
	size_t listed;       /* of them, those that are not test entries */
	unsigned long dup_problems;
	int rc;
};

static void *merge_run(void *arg)
{
	struct merge_job *j = arg;
	size_t i = 0, k = 0, m = 0;
	uint64_t last = 0;
	while ((i < j->na || k < j->nb) && j->rc == 0) {
		/* the listings are read in key order, scattered over the parts: prefetching hides
		 * the misses, first of each listing, then of its value */
		if (i + 16 < j->na)
			__builtin_prefetch(j->a[i + 16].l);
		if (k + 16 < j->nb)
			__builtin_prefetch(j->b[k + 16].l);
		if (i + 8 < j->na)
			__builtin_prefetch(j->a[i + 8].l->value);
		if (k + 8 < j->nb)
			__builtin_prefetch(j->b[k + 8].l->value);
		const struct sort_key *x =
			k >= j->nb || (i < j->na && order(&j->a[i], &j->b[k]) <= 0) ? &j->a[i++]
										 : &j->b[k++];
		if (m && x->key == last && cmp_listing(&j->out[m - 1], x->l) == 0) {
			j->rc = merge(j->pt, &j->out[m - 1], x->l, &j->dup_problems);
			continue;
		}
		struct sh_listing *o = &j->out[m++];
		*o = *x->l;
		last = x->key;
		if (!(o->flags & SH_LF_TEST)) {
			j->listed++;
			o->value = sh_arena_strndup(&j->pt->arena, o->value, strlen(o->value));
			if (!o->value)
				j->rc = SH_ENOMEM;
		}
	}
	j->m = m;
	return NULL;
}

/* Merges the sorted parts into set->v. */
static int merge_parts(struct sh_listing_set *set, struct part *parts)
{
	struct part *p0 = &parts[0], *p1 = &parts[1];
	size_t n = p0->n + p1->n;
	set->v = malloc((n ? n : 1) * sizeof(*set->v));
	if (!set->v)
		return SH_ENOMEM;
	struct merge_job j[2] = {
		{.pt = p0, .a = p0->keys, .b = p1->keys, .na = p0->n, .nb = p1->n, .out = set->v},
		{.pt = p1},
	};
	/* cut at the middle key of the larger part; small sets in one go */
	pthread_t tid;
	bool started = false;
	if (n >= 65536) {
		const struct part *big = p0->n >= p1->n ? p0 : p1;
		const struct sort_key *pivot = &big->keys[big->n / 2];
		size_t ia = lower_bound(p0->keys, p0->n, pivot), ib = lower_bound(p1->keys, p1->n, pivot);
		j[1].a = p0->keys + ia;
		j[1].na = p0->n - ia;
		j[1].b = p1->keys + ib;
		j[1].nb = p1->n - ib;
		j[1].out = set->v + ia + ib;
		j[0].na = ia;
		j[0].nb = ib;
		started = pthread_create(&tid, NULL, merge_run, &j[1]) == 0;
	}
	merge_run(&j[0]);
	if (started)
		pthread_join(tid, NULL);
	else if (j[1].out)
		merge_run(&j[1]);
	int rc = j[0].rc ? j[0].rc : j[1].rc;
	if (j[1].out && j[1].m && j[1].out != set->v + j[0].m)
		memmove(set->v + j[0].m, j[1].out, j[1].m * sizeof(*set->v));
	set->n = j[0].m + j[1].m;
	set->stats.listed = j[0].listed + j[1].listed;
	set->stats.problems -= j[0].dup_problems + j[1].dup_problems;
	return rc;
}

static void add_stats(struct sh_listing_stats *to, const struct sh_listing_stats *s)
{
	to->indicators += s->indicators;
	to->allowlisted += s->allowlisted;
	to->expired += s->expired;
	to->unlisted += s->unlisted;
	to->few_sources += s->few_sources;
	to->problems += s->problems;
	to->networks += s->networks;
	to->networks_broad += s->networks_broad;
	to->infrastructure += s->infrastructure;
}

int sh_listing_build(struct sh_store *s, const struct sh_policy *p, const struct sh_allowlist *a,
		     int64_t at, struct sh_listing_set *out)
{
	memset(out, 0, sizeof(*out));
	out->policy = p;
	out->at = at;
	struct part *parts = calloc(N_PARTS, sizeof(*parts));
	if (!parts)
		return SH_ENOMEM;
	out->parts = parts;
	int64_t grace = 0;
	for (size_t i = 0; i < p->n_cats; i++)
		if (p->cats[i].offline_grace > grace)
			grace = p->cats[i].offline_grace;
	struct walk_plan plan = {.since = at - grace};
	atomic_init(&plan.next, 0);
	atomic_init(&plan.stop, false);
	struct build_ctx x[N_PARTS];
	for (size_t i = 0; i < N_PARTS; i++) {
		parts[i].policy = p;
		parts[i].at = at;
		sh_arena_init(&parts[i].arena, 1 << 20);
		x[i] = (struct build_ctx){.s = s, .b = {.pt = &parts[i], .p = p, .al = a},
					  .plan = &plan, .first = i == 0};
	}
	double t0 = now_s();
	int64_t lo, hi;
	int rc = sh_store_listing_ids(s, &lo, &hi);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i <= N_RANGES; i++)
		plan.bounds[i] = i == N_RANGES ? hi : lo + (hi - lo) / N_RANGES * (int64_t)i;
	/* the second part in a thread with a handle of its own, where one can be opened */
	struct sh_store *r = NULL;
	pthread_t tid;
	bool started = false;
	if (hi - lo >= 2 && sh_store_open_reader(s, &r) == 0) {
		x[1].s = r;
		started = pthread_create(&tid, NULL, build_part, &x[1]) == 0;
	}
	build_part(&x[0]);
	if (started)
		pthread_join(tid, NULL);
	sh_store_close(r);
	rc = x[0].rc ? x[0].rc : started ? x[1].rc : 0;
	if (rc == 0 && !started)
		rc = sort_part(&parts[1]);
	if (rc != 0)
		return rc;
	out->timing.read = parts[0].walk > parts[1].walk ? parts[0].walk : parts[1].walk;
	for (size_t i = 0; i < N_PARTS; i++)
		add_stats(&out->stats, &parts[i].stats);
	/* the parts' arrays go with the set (sh_listing_set_fini): unmapping them here was a
	 * good share of the time between reading and writing */
	rc = merge_parts(out, parts);
	out->timing.sort = now_s() - t0 - out->timing.read;
	return rc;
}

void sh_listing_set_fini(struct sh_listing_set *set)
{
	struct part *parts = set->parts;
	for (size_t i = 0; parts && i < N_PARTS; i++) {
		free(parts[i].intern.strings.v);
		free(parts[i].intern.cats.v);
		free(parts[i].v);
		free(parts[i].keys);
		sh_arena_fini(&parts[i].arena);
	}
	free(parts);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/* Appends s to buf[*off..n), keeping the NUL; *off counts what was wanted. */
static void put(char *buf, size_t n, size_t *off, const char *s)
{
	size_t len = strlen(s);
	if (*off < n) {
		size_t room = n - *off - 1;
		memcpy(buf + *off, s, len < room ? len : room);
		buf[*off + (len < room ? len : room)] = '\0';
	}
	*off += len;
}

/* sh_time_format with a two-entry memo: exports ask for the same few snapshot times a
 * million times. */
static const char *time_text(int64_t t)
{
	static _Thread_local struct {
		int64_t t;
		bool set;
		char s[SH_TIME_STRLEN];
	} memo[2];
	static _Thread_local unsigned next;
	for (int i = 0; i < 2; i++)
		if (memo[i].set && memo[i].t == t)
			return memo[i].s;
	unsigned k = next++ & 1;
	sh_time_format(t, memo[k].s);
	memo[k].t = t;
	memo[k].set = true;
	return memo[k].s;
}

/* The evidence, with its times and online mark when with_times. */
static size_t evidence(const struct sh_listing_set *set, const struct sh_listing *l, char *buf,
		       size_t n, bool with_times)
{
	size_t off = 0;
	if (n)
		buf[0] = '\0';
	if (l->flags & SH_LF_TEST) {
		put(buf, n, &off, "RFC 5782 test entry");
		return off;
	}
	/* by hand rather than snprintf: exports format a million of these */
	const struct sh_policy_category *c = &set->policy->cats[l->cat];
	put(buf, n, &off, c->name);
	put(buf, n, &off, ": ");
	if (l->network) {
		put(buf, n, &off, l->network);
	} else {
		if (l->flags & SH_LF_FROM_URL)
			put(buf, n, &off, "serves listed URLs, ");
		put(buf, n, &off, l->threat ? l->threat : c->description);
		if (l->malware) {
			put(buf, n, &off, " (");
			put(buf, n, &off, l->malware);
			put(buf, n, &off, ")");
		}
		put(buf, n, &off, " via ");
		put(buf, n, &off, l->sources);
	}
	if (!with_times)
		return off;
	put(buf, n, &off, "; first ");
	put(buf, n, &off, time_text(l->first_seen));
	put(buf, n, &off, "; last ");
	put(buf, n, &off, time_text(l->last_seen));
	if (l->flags & SH_LF_ONLINE)
		put(buf, n, &off, "; online");
	return off;
}

size_t sh_listing_evidence(const struct sh_listing_set *set, const struct sh_listing *l,
			   char *buf, size_t n)
{
	return evidence(set, l, buf, n, true);
}

size_t sh_listing_reason(const struct sh_listing_set *set, const struct sh_listing *l,
			 char *buf, size_t n)
{
	return evidence(set, l, buf, n, false);
}

uint64_t sh_listing_key_hash(const struct sh_listing *l)
{
	uint64_t h = hash_bytes(l->value, strlen(l->value));
	return h ^ ((uint64_t)l->type * 0x9e3779b97f4a7c15ull);
}
