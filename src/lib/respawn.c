/* Respawn linking: path shapes, evidence values and the time-ordered linking pass. */
#include "lib/respawn.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

#define NONE_T INT64_MIN
#define NO_IND UINT32_MAX

static const char *const key_names[SH_EV_N] = {
	"ip", "net", "domain", "prefix", "shape", "family", "ns", "tag", "asn",
};
static const unsigned key_weights[SH_EV_N] = {4, 4, 4, 2, 2, 2, 2, 1, 1};

const char *sh_evkey_name(enum sh_evkey k)
{
	return (unsigned)k < SH_EV_N ? key_names[k] : "?";
}

unsigned sh_evkey_weight(enum sh_evkey k)
{
	return (unsigned)k < SH_EV_N ? key_weights[k] : 0;
}

bool sh_evkey_listable(enum sh_evkey k)
{
	return k == SH_EV_IP || k == SH_EV_NET || k == SH_EV_DOMAIN;
}

/* ---- path shapes ------------------------------------------------------------------------ */

static bool generated(const char *s, size_t n)
{
	bool digit = false, alpha = false;
	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digit = true;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
	}
	return n >= 20 || (n >= 5 && digit && alpha);
}

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n >= o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* One segment's name part: generated -> '*', else lowercase with digit runs as '#'. */
static void put_token(struct out *o, const char *s, size_t n)
{
	if (generated(s, n)) {
		put(o, "*", 1);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isdigit(c)) {
			while (i + 1 < n && isdigit((unsigned char)s[i + 1]))
				i++;
			put(o, "#", 1);
		} else {
			char lc = (char)tolower(c);
			put(o, &lc, 1);
		}
	}
}

int sh_path_shape(const char *path, size_t n, char *out, size_t cap)
{
	size_t end = 0;
	while (end < n && path[end] != '?' && path[end] != '#')
		end++;
	while (end > 0 && path[end - 1] == '/')
		end--;
	if (end == 0 || cap == 0)
		return SH_EINVAL;
	struct out o = {out, 0, cap, false};
	size_t i = 0;
	while (i < end) {
		while (i < end && path[i] == '/')
			i++;
		size_t j = i;
		while (j < end && path[j] != '/')
			j++;
		if (j == i)
			break;
		put(&o, "/", 1);
		size_t name_end = j;
		if (j == end) {
			const char *dot = memrchr(path + i, '.', j - i);
			if (dot && dot > path + i)
				name_end = (size_t)(dot - path);
		}
		put_token(&o, path + i, name_end - i);
		if (name_end < j)
			put(&o, ".*", 2);
		i = j;
	}
	if (o.full)
		return SH_ERANGE;
	if (o.len == 0)
		return SH_EINVAL;
	out[o.len] = '\0';
	return 0;
}

/* ---- the linker ------------------------------------------------------------------------- */

struct value {
	const char *s;
	uint64_t hash;
	uint32_t len;
	uint8_t type;
	bool allow;
	uint32_t carriers;      /* during the pass: carriers first seen so far; after: all */
	uint32_t last_off;      /* carrier most recently taken down */
	int64_t last_off_t;
	uint32_t live_members;  /* campaign members carrying it that are online */
	int64_t member_off_t;   /* latest takedown of a campaign member carrying it */
	uint32_t rep;           /* the campaign member that carried it last */
	int64_t listed_since;
};

struct ind {
	uint64_t site;
	int64_t first, off_t;
	int64_t respawned_off;  /* the takedown a respawn already answered */
	uint32_t run0, n_runs, val0, n_vals;
	uint32_t parent;
	uint8_t sight;
	bool online, member, host;
};

enum { EV_OFF = 0, EV_ON = 1, EV_NEW = 2 };

struct event {
	int64_t t;
	uint32_t rank, ind;
	uint32_t kind;
};

struct site_host {
	uint64_t site;
	uint32_t ind;
};

struct sh_linker {
	struct sh_linker_config cfg;
	struct sh_arena strings;
	struct value *vals;
	size_t n_vals, cap_vals;
	uint32_t *slots; /* open addressing: value index + 1, 0 empty */
	size_t n_slots;
	struct ind *inds;
	size_t n_inds, cap_inds;
	struct sh_linker_run *runs;
	size_t n_runs, cap_runs;
	uint32_t *ind_vals;
	size_t n_ind_vals, cap_ind_vals;
	struct sh_respawn *edges;
	size_t n_edges, cap_edges;
	uint32_t *shared;
	size_t n_shared, cap_shared;
	const uint32_t *order;
	uint32_t *listed;
	int64_t *listed_t;
	size_t n_listed;
	struct site_host *hosts; /* host indicators by site, for SH_SIGHT_HOST */
	size_t n_hosts;
	bool ran;
};


int sh_linker_new(const struct sh_linker_config *cfg, struct sh_linker **out)
{
	struct sh_linker *l = calloc(1, sizeof(*l));
	if (!l)
		return SH_ENOMEM;
	l->cfg = *cfg;
	sh_arena_init(&l->strings, 1 << 16);
	*out = l;
	return 0;
}

void sh_linker_free(struct sh_linker *l)
{
	if (!l)
		return;
	sh_arena_fini(&l->strings);
	free(l->vals);
	free(l->slots);
	free(l->inds);
	free(l->runs);
	free(l->ind_vals);
	free(l->edges);
	free(l->shared);
	free(l->listed);
	free(l->listed_t);
	free(l->hosts);
	free(l);
}

size_t sh_linker_count(const struct sh_linker *l)
{
	return l->n_inds;
}

static uint64_t value_hash(enum sh_evkey type, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603u ^ (uint64_t)type;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211u;
	}
	return h ^ (h >> 29);
}

static int rehash(struct sh_linker *l, size_t n_slots)
{
	uint32_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return SH_ENOMEM;
	for (size_t i = 0; i < l->n_vals; i++) {
		size_t k = l->vals[i].hash & (n_slots - 1);
		while (slots[k])
			k = (k + 1) & (n_slots - 1);
		slots[k] = (uint32_t)i + 1;
	}
	free(l->slots);
	l->slots = slots;
	l->n_slots = n_slots;
	return 0;
}

static int intern(struct sh_linker *l, const struct sh_evval *v, uint32_t *vid)
{
	if (l->n_vals + 1 >= UINT32_MAX || v->len > UINT32_MAX)
		return SH_ERANGE;
	if ((l->n_vals + 1) * 2 > l->n_slots) {
		int rc = rehash(l, l->n_slots ? l->n_slots * 2 : 1024);
		if (rc != 0)
			return rc;
	}
	uint64_t h = value_hash(v->type, v->value, v->len);
	size_t k = h & (l->n_slots - 1);
	for (; l->slots[k]; k = (k + 1) & (l->n_slots - 1)) {
		struct value *x = &l->vals[l->slots[k] - 1];
		if (x->hash == h && x->type == v->type && x->len == v->len &&
		    memcmp(x->s, v->value, v->len) == 0) {
			x->allow = x->allow || v->allowlisted;
			*vid = l->slots[k] - 1;
			return 0;
		}
	}
	int rc = sh_array_grow((void **)&l->vals, &l->cap_vals, l->n_vals + 1, sizeof(*l->vals));
	if (rc != 0)
		return rc;
	char *s = sh_arena_strndup(&l->strings, v->value, v->len);
	if (!s)
		return SH_ENOMEM;
	l->vals[l->n_vals] = (struct value){
		.s = s, .hash = h, .len = (uint32_t)v->len, .type = (uint8_t)v->type,
		.allow = v->allowlisted, .last_off = NO_IND, .last_off_t = NONE_T,
		.member_off_t = NONE_T, .listed_since = NONE_T, .rep = NO_IND,
	};
	l->slots[k] = (uint32_t)l->n_vals + 1;
	*vid = (uint32_t)l->n_vals++;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

int sh_linker_add(struct sh_linker *l, int64_t first_seen, uint64_t site, bool is_host,
		  const struct sh_linker_run *runs, size_t n_runs, const struct sh_evval *vals,
		  size_t n_vals)
{
	if (l->ran || l->n_inds + 1 >= UINT32_MAX || n_runs > UINT32_MAX || n_vals > UINT32_MAX)
		return SH_EINVAL;
	int rc = sh_array_grow((void **)&l->inds, &l->cap_inds, l->n_inds + 1, sizeof(*l->inds));
	if (rc == 0)
		rc = sh_array_grow((void **)&l->runs, &l->cap_runs, l->n_runs + n_runs, sizeof(*l->runs));
	if (rc == 0)
		rc = sh_array_grow((void **)&l->ind_vals, &l->cap_ind_vals, l->n_ind_vals + n_vals,
				   sizeof(*l->ind_vals));
	if (rc != 0)
		return rc;
	uint32_t *iv = l->ind_vals + l->n_ind_vals;
	size_t m = 0;
	for (size_t i = 0; i < n_vals; i++) {
		rc = intern(l, &vals[i], &iv[m]);
		if (rc != 0)
			return rc;
		m++;
	}
	qsort(iv, m, sizeof(*iv), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < m; i++)
		if (u == 0 || iv[u - 1] != iv[i])
			iv[u++] = iv[i];
	memcpy(l->runs + l->n_runs, runs, n_runs * sizeof(*runs));
	l->inds[l->n_inds] = (struct ind){
		.site = site, .first = first_seen, .off_t = NONE_T, .respawned_off = NONE_T,
		.run0 = (uint32_t)l->n_runs, .n_runs = (uint32_t)n_runs, .val0 = (uint32_t)l->n_ind_vals, .n_vals = (uint32_t)u,
		.parent = (uint32_t)l->n_inds, .host = is_host && site != 0,
	};
	l->n_runs += n_runs;
	l->n_ind_vals += u;
	l->n_inds++;
	return 0;
}

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Value ids by kind, then text: the order they are reported in. */
static int cmp_value(const void *a, const void *b, void *arg)
{
	const struct sh_linker *l = arg;
	const struct value *x = &l->vals[*(const uint32_t *)a], *y = &l->vals[*(const uint32_t *)b];
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->s, y->s);
}

static uint32_t rank(const struct sh_linker *l, uint32_t i)
{
	return l->order ? l->order[i] : i;
}

static uint32_t find(struct sh_linker *l, uint32_t i)
{
	while (l->inds[i].parent != i) {
		l->inds[i].parent = l->inds[l->inds[i].parent].parent;
		i = l->inds[i].parent;
	}
	return i;
}

static bool guarded(const struct sh_linker *l, const struct value *v)
{
	return v->allow || v->carriers >= l->cfg.bound;
}

static bool listed_at(const struct sh_linker *l, const struct value *v, int64_t t)
{
	if (!sh_evkey_listable((enum sh_evkey)v->type) || guarded(l, v))
		return false;
	return v->live_members > 0 ||
	       (v->member_off_t != NONE_T && t - v->member_off_t <= l->cfg.window);
}

static void note_listed(struct sh_linker *l, struct value *v, int64_t t)
{
	if (v->listed_since == NONE_T && listed_at(l, v, t))
		v->listed_since = t;
}

static void unite(struct sh_linker *l, uint32_t a, uint32_t b)
{
	uint32_t ra = find(l, a), rb = find(l, b);
	if (ra == rb)
		return;
	if (rank(l, ra) < rank(l, rb))
		l->inds[rb].parent = ra;
	else
		l->inds[ra].parent = rb;
}

/* A member's values are infrastructure while it is online and for a window after. Campaigns
 * that come to share live infrastructure are one: which member a value names as its
 * representative then does not matter, so the groups do not depend on processing order. */
static void join(struct sh_linker *l, uint32_t i, int64_t t)
{
	struct ind *x = &l->inds[i];
	if (x->member)
		return;
	x->member = true;
	for (uint32_t k = 0; k < x->n_vals; k++) {
		struct value *v = &l->vals[l->ind_vals[x->val0 + k]];
		if (v->rep != NO_IND && listed_at(l, v, t))
			unite(l, i, v->rep);
		if (x->online)
			v->live_members++;
		else if (v->member_off_t == NONE_T || v->member_off_t < x->off_t)
			v->member_off_t = x->off_t;
		v->rep = i;
		note_listed(l, v, t);
	}
}

static void on_off(struct sh_linker *l, uint32_t i, int64_t t)
{
	struct ind *x = &l->inds[i];
	x->online = false;
	x->off_t = t;
	for (uint32_t k = 0; k < x->n_vals; k++) {
		struct value *v = &l->vals[l->ind_vals[x->val0 + k]];
		v->last_off = i;
		v->last_off_t = t;
		if (x->member) {
			v->live_members--;
			v->member_off_t = t;
		}
	}
}

static void on_on(struct sh_linker *l, uint32_t i, int64_t t)
{
	struct ind *x = &l->inds[i];
	x->online = true;
	if (!x->member)
		return;
	for (uint32_t k = 0; k < x->n_vals; k++) {
		struct value *v = &l->vals[l->ind_vals[x->val0 + k]];
		if (v->rep != NO_IND && listed_at(l, v, t))
			unite(l, i, v->rep);
		v->live_members++;
		v->rep = i;
		note_listed(l, v, t);
	}
}

/* Shared unguarded values of a and b (both sorted) appended to l->shared; their weight. */
static int share(struct sh_linker *l, uint32_t a, uint32_t b, unsigned *weight, bool *guard)
{
	const uint32_t *va = l->ind_vals + l->inds[a].val0, *vb = l->ind_vals + l->inds[b].val0;
	size_t na = l->inds[a].n_vals, nb = l->inds[b].n_vals, i = 0, j = 0;
	*weight = 0;
	while (i < na && j < nb) {
		if (va[i] < vb[j]) {
			i++;
		} else if (va[i] > vb[j]) {
			j++;
		} else {
			const struct value *v = &l->vals[va[i]];
			if (guarded(l, v)) {
				*guard = true;
			} else {
				int rc = sh_array_grow((void **)&l->shared, &l->cap_shared, l->n_shared + 1,
						       sizeof(*l->shared));
				if (rc != 0)
					return rc;
				l->shared[l->n_shared++] = va[i];
				*weight += sh_evkey_weight((enum sh_evkey)v->type);
			}
			i++;
			j++;
		}
	}
	return 0;
}

static int cmp_site_host(const void *a, const void *b)
{
	const struct site_host *x = a, *y = b;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return (x->ind > y->ind) - (x->ind < y->ind);
}

static int index_hosts(struct sh_linker *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n_inds; i++)
		n += l->inds[i].host;
	l->hosts = malloc((n ? n : 1) * sizeof(*l->hosts));
	if (!l->hosts)
		return SH_ENOMEM;
	for (uint32_t i = 0; i < l->n_inds; i++)
		if (l->inds[i].host)
			l->hosts[l->n_hosts++] = (struct site_host){l->inds[i].site, i};
	qsort(l->hosts, l->n_hosts, sizeof(*l->hosts), cmp_site_host);
	return 0;
}

/* Whether an indicator naming host site itself, first seen before t, is online. */
static bool host_listed(const struct sh_linker *l, uint64_t site, int64_t t)
{
	size_t lo = 0, hi = l->n_hosts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->hosts[mid].site < site)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; site != 0 && lo < l->n_hosts && l->hosts[lo].site == site; lo++) {
		const struct ind *h = &l->inds[l->hosts[lo].ind];
		if (h->online && h->first < t)
			return true;
	}
	return false;
}

static int on_new(struct sh_linker *l, uint32_t b, int64_t t)
{
	struct ind *x = &l->inds[b];
	const uint32_t *vb = l->ind_vals + x->val0;
	uint32_t tried[32], links[32];
	size_t n_tried = 0, n_links = 0;
	if (!x->host && host_listed(l, x->site, t))
		x->sight |= SH_SIGHT_HOST;
	for (uint32_t k = 0; k < x->n_vals; k++) {
		const struct value *v = &l->vals[vb[k]];
		if (v->carriers > 0 && !v->allow && sh_evkey_listable((enum sh_evkey)v->type))
			x->sight |= SH_SIGHT_SEEN;
	}
	/* landing on a live campaign's infrastructure joins that campaign */
	for (uint32_t k = 0; k < x->n_vals; k++)
		if (listed_at(l, &l->vals[vb[k]], t)) {
			x->sight |= SH_SIGHT_COVERED;
			if (n_links < sizeof(links) / sizeof(links[0]))
				links[n_links++] = l->vals[vb[k]].rep;
		}
	/* Candidates: per value, the carrier taken down most recently, if within the window and
	 * still down. The best candidate by shared weight, then shortest delay, wins. */
	struct sh_respawn best = {.old_ind = NO_IND};
	bool guard = false;
	for (uint32_t k = 0; k < x->n_vals; k++) {
		const struct value *v = &l->vals[vb[k]];
		uint32_t a = v->last_off;
		if (a == NO_IND || l->inds[a].online || t - v->last_off_t > l->cfg.window ||
		    l->inds[a].respawned_off == l->inds[a].off_t ||
		    (x->site && l->inds[a].site == x->site))
			continue;
		bool seen = false;
		for (size_t q = 0; q < n_tried && !seen; q++)
			seen = tried[q] == a;
		if (seen)
			continue;
		if (n_tried < sizeof(tried) / sizeof(tried[0]))
			tried[n_tried++] = a;
		size_t mark = l->n_shared;
		unsigned w;
		int rc = share(l, a, b, &w, &guard);
		if (rc != 0)
			return rc;
		int64_t off = l->inds[a].off_t;
		if (w >= SH_LINK_MIN) {
			if (n_links < sizeof(links) / sizeof(links[0]))
				links[n_links++] = a;
		}
		bool better = w >= SH_LINK_MIN &&
			      (best.old_ind == NO_IND || w > best.weight ||
			       (w == best.weight &&
				(off > best.t_off ||
				 (off == best.t_off && rank(l, a) < rank(l, best.old_ind)))));
		if (!better) {
			l->n_shared = mark;
			continue;
		}
		if (best.old_ind != NO_IND) {
			/* keep the new winner's values at the old winner's place */
			memmove(l->shared + best.first_shared, l->shared + mark,
				(l->n_shared - mark) * sizeof(*l->shared));
			l->n_shared = best.first_shared + (l->n_shared - mark);
			mark = best.first_shared;
		}
		best = (struct sh_respawn){
			.old_ind = a, .new_ind = b, .t_off = off, .t_new = t, .weight = w,
			.first_shared = (uint32_t)mark, .n_shared = (uint32_t)(l->n_shared - mark),
		};
	}
	if (guard)
		x->sight |= SH_SIGHT_GUARDED;
	for (uint32_t k = 0; k < x->n_vals; k++)
		l->vals[vb[k]].carriers++;
	x->online = true;
	if (best.old_ind != NO_IND) {
		int rc = sh_array_grow((void **)&l->edges, &l->cap_edges, l->n_edges + 1,
				       sizeof(*l->edges));
		if (rc != 0)
			return rc;
		qsort_r(l->shared + best.first_shared, best.n_shared, sizeof(*l->shared),
			cmp_value, l);
		l->edges[l->n_edges++] = best;
		l->inds[best.old_ind].respawned_off = best.t_off;
		x->sight |= SH_SIGHT_LINKED;
	}
	if (n_links == 0)
		return 0;
	/* the respawn names the best predecessor; the campaign takes in every one that links */
	for (size_t q = 0; q < n_links; q++) {
		unite(l, links[q], b);
		join(l, links[q], t);
	}
	join(l, b, t);
	return 0;
}

static int collect_listed(struct sh_linker *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n_vals; i++)
		n += l->vals[i].listed_since != NONE_T;
	l->listed = malloc((n ? n : 1) * sizeof(*l->listed));
	l->listed_t = malloc((n ? n : 1) * sizeof(*l->listed_t));
	if (!l->listed || !l->listed_t)
		return SH_ENOMEM;
	for (size_t i = 0; i < l->n_vals; i++)
		if (l->vals[i].listed_since != NONE_T) {
			l->listed[l->n_listed] = (uint32_t)i;
			l->listed_t[l->n_listed++] = l->vals[i].listed_since;
		}
	return 0;
}

int sh_linker_run(struct sh_linker *l, const uint32_t *order)
{
	if (l->ran)
		return SH_EINVAL;
	l->ran = true;
	l->order = order;
	size_t n = l->n_inds;
	for (size_t i = 0; i < l->n_inds; i++)
		n += 2 * (size_t)l->inds[i].n_runs;
	int rc = index_hosts(l);
	if (rc != 0)
		return rc;
	struct event *ev = malloc((n ? n : 1) * sizeof(*ev));
	if (!ev)
		return SH_ENOMEM;
	size_t m = 0;
	for (uint32_t i = 0; i < l->n_inds; i++) {
		const struct ind *x = &l->inds[i];
		uint32_t k = rank(l, i);
		ev[m++] = (struct event){x->first, k, i, EV_NEW};
		for (uint32_t r = 0; r < x->n_runs; r++) {
			const struct sh_linker_run *run = &l->runs[x->run0 + r];
			if (run->start > x->first)
				ev[m++] = (struct event){run->start, k, i, EV_ON};
			if (run->end != NONE_T)
				ev[m++] = (struct event){run->end, k, i, EV_OFF};
		}
	}
	qsort(ev, m, sizeof(*ev), cmp_event);
	for (size_t k = 0; k < m && rc == 0; k++) {
		switch (ev[k].kind) {
		case EV_OFF:
			on_off(l, ev[k].ind, ev[k].t);
			break;
		case EV_ON:
			on_on(l, ev[k].ind, ev[k].t);
			break;
		default:
			rc = on_new(l, ev[k].ind, ev[k].t);
		}
	}
	free(ev);
	if (rc == 0)
		rc = collect_listed(l);
	/* campaign roots are fixed now; the caller's array need not outlive the call */
	for (uint32_t i = 0; i < l->n_inds && rc == 0; i++)
		(void)find(l, i);
	l->order = NULL;
	return rc;
}

size_t sh_linker_respawns(const struct sh_linker *l, const struct sh_respawn **out)
{
	*out = l->edges;
	return l->n_edges;
}

const uint32_t *sh_linker_shared(const struct sh_linker *l)
{
	return l->shared;
}

const char *sh_linker_value(const struct sh_linker *l, uint32_t vid, enum sh_evkey *type,
			    uint32_t *carriers)
{
	const struct value *v = &l->vals[vid];
	if (type)
		*type = (enum sh_evkey)v->type;
	if (carriers)
		*carriers = v->carriers;
	return v->s;
}

unsigned sh_linker_sight(const struct sh_linker *l, uint32_t i)
{
	return l->inds[i].sight;
}

uint32_t sh_linker_campaign(const struct sh_linker *l, uint32_t i)
{
	if (!l->inds[i].member)
		return UINT32_MAX;
	uint32_t r = i;
	while (l->inds[r].parent != r)
		r = l->inds[r].parent;
	return r;
}

size_t sh_linker_listed(const struct sh_linker *l, const uint32_t **vids, const int64_t **since)
{
	*vids = l->listed;
	*since = l->listed_t;
	return l->n_listed;
}

void sh_linker_live(const struct sh_linker *l, int64_t now,
		    void (*cb)(uint32_t vid, int64_t until, void *arg), void *arg)
{
	for (size_t i = 0; i < l->n_vals; i++) {
		int64_t until;
		uint32_t member;
		if (sh_linker_live_value(l, (uint32_t)i, now, &until, &member))
			cb((uint32_t)i, until, arg);
	}
}

uint32_t sh_linker_find(const struct sh_linker *l, enum sh_evkey type, const char *value,
			size_t len)
{
	if (!l->n_slots)
		return UINT32_MAX;
	uint64_t h = value_hash(type, value, len);
	for (size_t k = h & (l->n_slots - 1); l->slots[k]; k = (k + 1) & (l->n_slots - 1)) {
		const struct value *x = &l->vals[l->slots[k] - 1];
		if (x->hash == h && x->type == type && x->len == len && memcmp(x->s, value, len) == 0)
			return l->slots[k] - 1;
	}
	return UINT32_MAX;
}

bool sh_linker_live_value(const struct sh_linker *l, uint32_t vid, int64_t now, int64_t *until,
			  uint32_t *member)
{
	const struct value *v = &l->vals[vid];
	if (!listed_at(l, v, now))
		return false;
	*until = v->live_members ? NONE_T : v->member_off_t + l->cfg.window;
	*member = v->rep;
	return true;
}
