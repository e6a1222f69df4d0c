/* Building the listing set: one pass over the store's indicators, the policy applied to each
 * (category, liveness, expiry, allowlist, guard problems), then one sort that also merges
 * entries reached twice (an IP listed itself and as the host of listed URLs).
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
static const char *intern(struct sh_listing_set *set, const char *s, size_t n)
{
	struct intern *in = set->intern;
	if (table_grow(&in->strings) != 0)
		return NULL;
	uint64_t h = hash_bytes(s, n);
	struct slot *x = table_find(&in->strings, h, s, n);
	if (!x->s) {
		char *c = sh_arena_strndup(&set->arena, s, n);
		if (!c)
			return NULL;
		x->s = c;
		x->hash = h;
		in->strings.n++;
	}
	return x->s;
}

static const char *intern_str(struct sh_listing_set *set, const char *s)
{
	return s ? intern(set, s, strlen(s)) : NULL;
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
static int sighting_category(struct sh_listing_set *set, const struct sh_listing_src *g,
			     int *err)
{
	struct intern *in = set->intern;
	if (in->last_key && g->source == in->last_source && same_field(in->last_threat, g->threat) &&
	    same_field(in->last_tags, g->tags))
		return in->last_cat;
	char key[1024];
	const char *parts[3] = {g->source, g->threat ? g->threat : "", g->tags ? g->tags : ""};
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);
		if (n + len + 1 >= sizeof(key))
			return match_category(set->policy, g);
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
		char *c = sh_arena_strndup(&set->arena, key, n);
		if (!c) {
			*err = SH_ENOMEM;
			return -1;
		}
		x->s = c;
		x->hash = h;
		x->value = match_category(set->policy, g);
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
	struct sh_listing_set *set;
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
static const char *join_names(struct sh_listing_set *set, const char **names, size_t n,
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
	return intern(set, buf, off);
}

static int push(struct builder *b, const struct sh_listing *l)
{
	struct sh_listing_set *set = b->set;
	if (set->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		if (cap > SIZE_MAX / sizeof(*set->v))
			return SH_ENOMEM;
		struct sh_listing *v = realloc(set->v, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		set->v = v;
		b->cap = cap;
	}
	set->v[set->n++] = *l;
	return 0;
}

__attribute__((format(printf, 2, 3))) static const char *problemf(struct sh_listing_set *set,
									  const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	return intern(set, buf, (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n);
}

/* Adds the current indicator's evidence under an address key. */
static int add_prefix(struct builder *b, const struct sh_prefix *pf, uint16_t flags)
{
	struct sh_listing_set *set = b->set;
	const char *why = NULL;
	enum sh_allow_match m = sh_allowlist_prefix(b->al, pf, &why);
	if (m == SH_AL_INSIDE) {
		set->stats.allowlisted++;
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
	l.value = sh_arena_strndup(&set->arena, text, n);
	if (!l.value)
		return SH_ENOMEM;
	if (pf->len == 0)
		l.problem = problemf(set, "%s covers the whole address space", text);
	else if (pf->len < min)
		l.problem = problemf(set, "%s is shorter than /%u, the shortest prefix the guard allows",
				     text, min);
	else if (m == SH_AL_COVERS)
		l.problem = problemf(set, "%s would list allowlisted addresses (%s)", text, why);
	if (l.problem)
		set->stats.problems++;
	return push(b, &l);
}

static int add_domain(struct builder *b, const char *name, uint16_t flags)
{
	struct sh_listing_set *set = b->set;
	const char *why = NULL;
	enum sh_allow_match m = sh_allowlist_domain(b->al, name, &why);
	if (m == SH_AL_INSIDE) {
		set->stats.allowlisted++;
		return 0;
	}
	struct sh_listing l = b->cur;
	l.type = SH_IND_DOMAIN;
	l.flags |= flags;
	l.value = sh_arena_strndup(&set->arena, name, strlen(name));
	if (!l.value)
		return SH_ENOMEM;
	char reg[SH_DOMAIN_MAX];
	if (sh_domain_registrable(name, reg) == SH_ENOENT)
		l.problem = problemf(set, "%s is a public suffix", name);
	else if (m == SH_AL_COVERS)
		l.problem = problemf(set, "%s would list allowlisted names under it (%s)", name, why);
	if (l.problem)
		set->stats.problems++;
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
		b->set->stats.allowlisted++;
		return 0;
	}
	struct sh_listing l = b->cur;
	l.type = SH_IND_URL;
	l.value = sh_arena_strndup(&b->set->arena, ind->value, strlen(ind->value));
	return l.value ? push(b, &l) : SH_ENOMEM;
}

static int on_indicator(const struct sh_listing_ind *ind, void *arg)
{
	struct builder *b = arg;
	struct sh_listing_set *set = b->set;
	const struct sh_policy *p = b->p;
	int64_t at = set->at;
	set->stats.indicators++;

	int cat = INT_MAX, err = 0;
	for (size_t i = 0; i < ind->n_sources; i++) {
		int c = sighting_category(set, &ind->sources[i], &err);
		if (err)
			return err;
		if (c >= 0 && c < cat)
			cat = c;
	}
	if (cat == INT_MAX || !p->cats[cat].list) {
		set->stats.unlisted++;
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
		set->stats.expired++;
		return 0;
	}
	if (n_alive < p->min_sources) {
		set->stats.few_sources++;
		return 0;
	}
	size_t n_names = n_alive < sizeof(names) / sizeof(names[0]) ? n_alive
								  : sizeof(names) / sizeof(names[0]);
	if (n_names == 1 && names[0] == b->one_name) {
		l->sources = b->one_list;
		l->n_sources = 1;
	} else {
		l->sources = join_names(set, names, n_names, &l->n_sources);
		if (n_names == 1) {
			b->one_name = names[0];
			b->one_list = l->sources;
		}
	}
	l->threat = intern_str(set, l->threat);
	l->malware = intern_str(set, l->malware);
	l->tags = intern_str(set, l->tags);
	l->ref = l->ref ? sh_arena_strndup(&set->arena, l->ref, strlen(l->ref)) : NULL;
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

/* ---- reading the store in a thread of its own ------------------------------------------- */
/* SQLite's stepping and decoding is about half of the work and the policy most of the rest, so
 * the store is walked in a second thread that hands over batches of indicators, copied (a
 * walk's rows are valid during its callback only), and the two halves overlap. Source names
 * get one copy each for the whole walk, so equal sources keep equal pointers (the category
 * memo and the source lists compare pointers first). */
#define BATCH_INDS 4096
#define N_BATCHES 4

struct batch {
	struct sh_listing_ind *inds;
	size_t n;
	struct sh_listing_src *srcs;
	size_t n_srcs, cap_srcs;
	struct sh_arena texts;
	struct batch *next;
};

struct reader {
	struct sh_store *s;
	int64_t since;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *full, **full_tail, *free_list; /* handed over, and back */
	struct batch *cur;                           /* being filled by the reader */
	bool done;                                   /* the walk is over */
	atomic_bool stop;                            /* the builder failed: stop reading */
	int rc;                                      /* the walk's result */
	/* source names: the walk's pointer and the reader's own copy */
	const char **name_from, **name_to;
	size_t n_names;
	struct sh_arena names;
	struct batch pool[N_BATCHES];
};

static const char *reader_name(struct reader *r, const char *name)
{
	for (size_t i = r->n_names; i-- > 0;)
		if (r->name_from[i] == name)
			return r->name_to[i];
	if ((r->n_names & (r->n_names - 1)) == 0) {
		size_t cap = r->n_names ? r->n_names * 2 : 8;
		const char **from = realloc(r->name_from, cap * sizeof(*from));
		if (!from)
			return NULL;
		r->name_from = from;
		const char **to = realloc(r->name_to, cap * sizeof(*to));
		if (!to)
			return NULL;
		r->name_to = to;
	}
	const char *copy = sh_arena_strndup(&r->names, name, strlen(name));
	if (!copy)
		return NULL;
	r->name_from[r->n_names] = name;
	r->name_to[r->n_names++] = copy;
	return copy;
}

/* Hands the current batch over, when it holds anything; called with the lock held. */
static void reader_submit(struct reader *r)
{
	if (r->cur && r->cur->n) {
		r->cur->next = NULL;
		*r->full_tail = r->cur;
		r->full_tail = &r->cur->next;
		r->cur = NULL;
		pthread_cond_broadcast(&r->cv);
	}
}

/* Hands the current batch over and waits for an empty one. */
static int reader_next_batch(struct reader *r)
{
	pthread_mutex_lock(&r->mu);
	reader_submit(r);
	while (!r->cur && !r->free_list && !atomic_load(&r->stop))
		pthread_cond_wait(&r->cv, &r->mu);
	if (!r->cur && r->free_list) {
		r->cur = r->free_list;
		r->free_list = r->cur->next;
	}
	pthread_mutex_unlock(&r->mu);
	if (!r->cur)
		return SH_ECANCELED;
	r->cur->n = r->cur->n_srcs = 0;
	sh_arena_reset(&r->cur->texts);
	return 0;
}

static const char *copy_text(struct batch *b, const char *s)
{
	return s ? sh_arena_strndup(&b->texts, s, strlen(s)) : NULL;
}

static int reader_take(const struct sh_listing_ind *ind, void *arg)
{
	struct reader *r = arg;
	if (atomic_load_explicit(&r->stop, memory_order_relaxed))
		return SH_ECANCELED;
	struct batch *b = r->cur;
	if (!b || b->n == BATCH_INDS || b->cap_srcs - b->n_srcs < ind->n_sources) {
		int rc = reader_next_batch(r);
		if (rc != 0)
			return rc;
		b = r->cur;
		if (b->cap_srcs < ind->n_sources) {
			/* the batch is empty: nothing points into its sources yet */
			struct sh_listing_src *v = realloc(b->srcs, ind->n_sources * sizeof(*v));
			if (!v)
				return SH_ENOMEM;
			b->srcs = v;
			b->cap_srcs = ind->n_sources;
		}
	}
	struct sh_listing_ind *x = &b->inds[b->n];
	*x = *ind;
	x->value = copy_text(b, ind->value);
	x->host = copy_text(b, ind->host);
	struct sh_listing_src *g = &b->srcs[b->n_srcs];
	x->sources = g;
	for (size_t i = 0; i < ind->n_sources; i++) {
		const struct sh_listing_src *o = &ind->sources[i];
		g[i] = *o;
		g[i].source = reader_name(r, o->source);
		g[i].threat = copy_text(b, o->threat);
		g[i].malware = copy_text(b, o->malware);
		g[i].tags = copy_text(b, o->tags);
		g[i].ref = copy_text(b, o->ref);
		if (!g[i].source || (o->threat && !g[i].threat) || (o->malware && !g[i].malware) ||
		    (o->tags && !g[i].tags) || (o->ref && !g[i].ref))
			return SH_ENOMEM;
	}
	if (!x->value || (ind->host && !x->host))
		return SH_ENOMEM;
	b->n_srcs += ind->n_sources;
	b->n++;
	return 0;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int rc = sh_store_foreach_listing(r->s, r->since, reader_take, r);
	pthread_mutex_lock(&r->mu);
	if (rc == 0)
		reader_submit(r);
	r->rc = rc;
	r->done = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Walks the store in a second thread, calling on_indicator here for every indicator. */
static int read_store(struct sh_store *s, int64_t since, struct builder *bld)
{
	struct reader *r = calloc(1, sizeof(*r));
	if (!r)
		return SH_ENOMEM;
	r->s = s;
	r->since = since;
	r->full_tail = &r->full;
	atomic_init(&r->stop, false);
	sh_arena_init(&r->names, 4096);
	int rc = 0;
	for (size_t i = 0; i < N_BATCHES; i++) {
		struct batch *b = &r->pool[i];
		sh_arena_init(&b->texts, 1 << 18);
		b->inds = malloc(BATCH_INDS * sizeof(*b->inds));
		b->cap_srcs = 4 * BATCH_INDS;
		b->srcs = malloc(b->cap_srcs * sizeof(*b->srcs));
		if (!b->inds || !b->srcs)
			rc = SH_ENOMEM;
		b->next = r->free_list;
		r->free_list = b;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	pthread_t tid;
	bool started = rc == 0 && pthread_create(&tid, NULL, reader_main, r) == 0;
	if (rc == 0 && !started)
		rc = sh_store_foreach_listing(s, since, on_indicator, bld); /* no thread: one pass */
	while (started) {
		pthread_mutex_lock(&r->mu);
		while (!r->full && !r->done)
			pthread_cond_wait(&r->cv, &r->mu);
		struct batch *b = r->full;
		if (b) {
			r->full = b->next;
			if (!r->full)
				r->full_tail = &r->full;
		}
		pthread_mutex_unlock(&r->mu);
		if (!b)
			break;
		for (size_t i = 0; i < b->n && rc == 0; i++)
			rc = on_indicator(&b->inds[i], bld);
		pthread_mutex_lock(&r->mu);
		b->next = r->free_list;
		r->free_list = b;
		if (rc != 0)
			atomic_store(&r->stop, true);
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		if (rc != 0)
			break;
	}
	if (started) {
		pthread_join(tid, NULL);
		if (rc == 0)
			rc = r->rc;
	}
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	for (size_t i = 0; i < N_BATCHES; i++) {
		free(r->pool[i].inds);
		free(r->pool[i].srcs);
		sh_arena_fini(&r->pool[i].texts);
	}
	free(r->name_from);
	free(r->name_to);
	sh_arena_fini(&r->names);
	free(r);
	return rc;
}

/* ---- whole networks ------------------------------------------------------------------------ */
static int add_network_piece(const struct sh_prefix *piece, void *arg)
{
	struct builder *b = arg;
	b->set->stats.networks++;
	return add_prefix(b, piece, SH_LF_NETWORK);
}

/* The routed prefixes of the networks whose verdict the policy lists, each cut around the
 * allowlist. Without an AS map there are no routed prefixes, and the network computation
 * (a second pass over the store) is skipped. */
static int add_networks(struct builder *b, struct sh_store *s)
{
	struct sh_listing_set *set = b->set;
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
	const char *source = intern_str(set, "sheriff-networks"), *threat = intern_str(set, "network");
	for (size_t i = 0; rc == 0 && i < in->n_nets; i++) {
		const struct sh_intel_net *net = &in->nets[i];
		struct sh_prefix pf;
		if (!(p->network_verdicts & (1u << net->score.verdict)) ||
		    sh_prefix_parse(net->key, strlen(net->key), false, &pf) != 0)
			continue;
		unsigned min = pf.ip.af == SH_AF_V4 ? p->network_min_prefix_v4 : p->network_min_prefix_v6;
		unsigned guard = pf.ip.af == SH_AF_V4 ? p->min_prefix_v4 : p->min_prefix_v6;
		if (pf.len < (min > guard ? min : guard)) {
			set->stats.networks_broad++;
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
		l->network = intern(set, ev, n < 0 ? 0 : (size_t)n >= sizeof(ev) ? sizeof(ev) - 1 : (size_t)n);
		l->first_seen = net->first_seen;
		l->last_seen = net->last_seen;
		/* the verdict holds while the network's record does: renewed by every export */
		l->expires = set->at + c->expiry;
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
	struct sh_listing_set *set = b->set;
	const struct sh_policy *p = b->p;
	enum sh_evkey key;
	const char *v = sh_linker_value(x->c->linker, vid, &key, NULL);
	int64_t live_until;
	uint32_t member;
	/* a member's own address is on its feed already, with the feed's expiry */
	if (x->rc != 0 || key == SH_EV_IP ||
	    !sh_linker_live_value(x->c->linker, vid, set->at, &live_until, &member) ||
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
	l->sources = intern_str(set, "sheriff-campaigns");
	l->threat = intern_str(set, "infrastructure");
	l->network = intern(set, ev, n < 0 ? 0 : (size_t)n >= sizeof(ev) ? sizeof(ev) - 1 : (size_t)n);
	l->first_seen = k->first_seen;
	l->last_seen = k->last_seen;
	/* short: one window past the last takedown there, or past now while a member is online */
	l->expires = until == SH_TIME_NONE ? set->at + p->infrastructure_window : until;
	if (!l->sources || !l->threat || !l->network) {
		x->rc = SH_ENOMEM;
		return;
	}
	struct sh_prefix pf;
	set->stats.infrastructure++;
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
	sh_linker_live(c->linker, b->set->at, add_infra_value, &x);
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
	l.first_seen = l.last_seen = b->set->at;
	l.expires = b->set->at + p->cats[l.cat].expiry;
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

/* dst absorbs src, which has the same key. */
static int merge(struct sh_listing_set *set, struct sh_listing *dst, const struct sh_listing *src)
{
	if (src->sources != dst->sources) {
		const char *names[128];
		size_t n = 0;
		char buf[8192];
		snprintf(buf, sizeof(buf), "%s,%s", dst->sources, src->sources);
		for (char *t = strtok(buf, ","); t && n < sizeof(names) / sizeof(names[0]);
		     t = strtok(NULL, ","))
			names[n++] = t;
		dst->sources = join_names(set, names, n, &dst->n_sources);
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
	if (dst->cat != set->policy->network_cat && dst->cat != set->policy->infra_cat)
		dst->network = NULL;
	else if (!dst->network)
		dst->network = src->network;
	if (!dst->problem)
		dst->problem = src->problem;
	else if (src->problem)
		set->stats.problems--; /* counted twice for one entry */
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sorts the set and merges entries with the same key into one, in one pass over the sorted
 * keys (only entries with equal sort keys can be equal). */
static int sort_listings(struct sh_listing_set *set)
{
	if (set->n < 2)
		return 0;
	struct sort_key *k = malloc(set->n * sizeof(*k));
	struct sh_listing *v = malloc(set->n * sizeof(*v));
	if (!k || !v) {
		free(k);
		free(v);
		return SH_ENOMEM;
	}
	for (size_t i = 0; i < set->n; i++)
		k[i] = (struct sort_key){listing_key(&set->v[i]), &set->v[i]};
	int rc = radix_sort(k, set->n);
	/* The listings are gathered in sorted order, and their values copied along in that order,
	 * so that the exporters, which read every value once in order, read memory in order:
	 * scattered reads cost a cache and TLB miss each. Prefetching hides the gather's own. */
	size_t m = 0;
	for (size_t i = 0; i < set->n && rc == 0; i++) {
		if (i + 16 < set->n)
			__builtin_prefetch(k[i + 16].l);
		if (i + 8 < set->n)
			__builtin_prefetch(k[i + 8].l->value);
		if (m && k[i].key == k[i - 1].key && cmp_listing(&v[m - 1], k[i].l) == 0) {
			rc = merge(set, &v[m - 1], k[i].l);
			continue;
		}
		v[m] = *k[i].l;
		if (!(v[m].flags & SH_LF_TEST)) {
			v[m].value = sh_arena_strndup(&set->arena, v[m].value, strlen(v[m].value));
			if (!v[m].value)
				rc = SH_ENOMEM;
		}
		m++;
	}
	free(k);
	if (rc != 0) {
		free(v);
		return rc;
	}
	free(set->v);
	set->v = v;
	set->n = m;
	return 0;
}

int sh_listing_build(struct sh_store *s, const struct sh_policy *p, const struct sh_allowlist *a,
		     int64_t at, struct sh_listing_set *out)
{
	memset(out, 0, sizeof(*out));
	out->policy = p;
	out->at = at;
	sh_arena_init(&out->arena, 1 << 20);
	out->intern = calloc(1, sizeof(struct intern));
	if (!out->intern)
		return SH_ENOMEM;
	struct builder b = {.set = out, .p = p, .al = a};
	int64_t grace = 0;
	for (size_t i = 0; i < p->n_cats; i++)
		if (p->cats[i].offline_grace > grace)
			grace = p->cats[i].offline_grace;
	double t0 = now_s();
	int rc = read_store(s, at - grace, &b);
	if (rc == 0)
		rc = add_networks(&b, s);
	if (rc == 0)
		rc = add_infrastructure(&b, s);
	if (rc == 0)
		rc = add_test_entries(&b);
	if (rc != 0)
		return rc;
	double t1 = now_s();
	out->timing.read = t1 - t0;
	rc = sort_listings(out);
	for (size_t i = 0; i < out->n; i++)
		if (!(out->v[i].flags & SH_LF_TEST))
			out->stats.listed++;
	out->timing.sort = now_s() - t1;
	return rc;
}

void sh_listing_set_fini(struct sh_listing_set *set)
{
	struct intern *in = set->intern;
	if (in) {
		free(in->strings.v);
		free(in->cats.v);
		free(in);
	}
	free(set->v);
	sh_arena_fini(&set->arena);
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

size_t sh_listing_evidence(const struct sh_listing_set *set, const struct sh_listing *l,
			   char *buf, size_t n)
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
	char first[SH_TIME_STRLEN], last[SH_TIME_STRLEN];
	memcpy(first, time_text(l->first_seen), sizeof(first));
	memcpy(last, time_text(l->last_seen), sizeof(last));
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
	put(buf, n, &off, "; first ");
	put(buf, n, &off, first);
	put(buf, n, &off, "; last ");
	put(buf, n, &off, last);
	if (l->flags & SH_LF_ONLINE)
		put(buf, n, &off, "; online");
	return off;
}

uint64_t sh_listing_key_hash(const struct sh_listing *l)
{
	uint64_t h = hash_bytes(l->value, strlen(l->value));
	return h ^ ((uint64_t)l->type * 0x9e3779b97f4a7c15ull);
}
