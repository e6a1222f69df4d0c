/* Threat-sharing exports: a STIX 2.1 bundle and a MISP feed directory.
 *
 * Ids are name-based UUIDs (version 5) of the indicator, so they are the same on every run and
 * machine. With an output path, the state beside it remembers each object's version: `created`
 * stays, `modified` moves only when the published content changes, and an indicator that
 * is no longer listed is published once more as revoked (and kept so for the policy's
 * withdrawn_keep). The last sighting is given as a date and the expiry is rounded up to the
 * next midnight (valid_until), so an indicator that is merely seen again does not get a new
 * version on every run. */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "lib/timefmt.h"

#define DAY INT64_C(86400)

static bool wants_all(const struct sh_export_ctx *c, const struct sh_listing *l)
{
	return !(l->flags & SH_LF_TEST);
}

/* uuid5 of "type:value" in the sheriff namespace */
static void listing_uuid_raw(int type, const char *value, uint8_t out[16])
{
	size_t n = strlen(value);
	char small[600];
	char *buf = n + 3 <= sizeof(small) ? small : malloc(n + 3);
	if (!buf) {
		sh_uuid5_raw(sh_uuid_ns_sheriff, value, n, out);
		return;
	}
	buf[0] = (char)('0' + type);
	buf[1] = ':';
	memcpy(buf + 2, value, n + 1);
	sh_uuid5_raw(sh_uuid_ns_sheriff, buf, n + 2, out);
	if (buf != small)
		free(buf);
}

/* The listing's uuid as text: from its version (v, may be NULL) when that knows it, else
 * computed (and then remembered there). */
static void listing_uuid(struct sh_export_version *v, const struct sh_listing *l, char out[37])
{
	uint8_t u[16];
	if (!v) {
		listing_uuid_raw(l->type, l->value, u);
		sh_uuid_text(u, out);
		return;
	}
	if (!(v->digests & SH_DIGEST_UUID)) {
		listing_uuid_raw(l->type, l->value, v->uuid);
		v->digests |= SH_DIGEST_UUID;
	}
	sh_uuid_text(v->uuid, out);
}

static int64_t next_midnight(int64_t t)
{
	return (t / DAY + 1) * DAY;
}

/* A STIX pattern string literal: quote and backslash escaped, then JSON-escaped. */
static void put_pattern(struct sh_wbuf *w, const char *type, const char *value)
{
	char small[4200];
	size_t k = strlen(type), n = strlen(value);
	small[0] = '[';
	memcpy(small + 1, type, k);
	memcpy(small + 1 + k, ":value = '", 10);
	k += 11;
	for (size_t i = 0; i < n && k + 4 < sizeof(small); i++) {
		if (value[i] == '\'' || value[i] == '\\')
			small[k++] = '\\';
		small[k++] = value[i];
	}
	memcpy(small + k, "']", 3);
	sh_wb_json_str(w, small);
}

static const char *stix_type(const struct sh_listing *l)
{
	switch (l->type) {
	case SH_IND_IP:
	case SH_IND_CIDR:
		return l->prefix.ip.af == SH_AF_V4 ? "ipv4-addr" : "ipv6-addr";
	case SH_IND_DOMAIN:
		return "domain-name";
	case SH_IND_URL:
		return "url";
	}
	return "x-unknown";
}

/* The reason and the day of the last sighting: stable while an indicator is merely seen again.
 * The first sighting is valid_from, to the second. */
static void put_description(struct sh_wbuf *w, const struct sh_export_ctx *c,
			    const struct sh_listing *l)
{
	static const char last[] = "; last seen ";
	/* the date of the day last formatted: a million listings share a few days */
	static _Thread_local int64_t memo_day = INT64_MIN;
	static _Thread_local char memo_date[SH_TIME_STRLEN];
	char buf[1024];
	size_t room = sizeof(buf) - (sizeof(last) - 1) - 10;
	size_t n = sh_listing_reason(c->set, l, buf, room);
	if (n >= room)
		n = room - 1; /* cut, as every evidence text is at its buffer's size */
	memcpy(buf + n, last, sizeof(last) - 1);
	n += sizeof(last) - 1;
	int64_t day = l->last_seen >= 0 ? l->last_seen / DAY : (l->last_seen - DAY + 1) / DAY;
	if (day != memo_day) {
		sh_time_format(day * DAY, memo_date);
		memo_day = day;
	}
	memcpy(buf + n, memo_date, 10); /* "2020-02-07" of "2020-02-07T00:00:00Z" */
	buf[n + 10] = '\0';
	sh_wb_json_str(w, buf);
}

/* The reason without its times, for MISP, whose attributes carry them in fields of their own. */
static void put_reason(struct sh_wbuf *w, const struct sh_export_ctx *c, const struct sh_listing *l)
{
	char buf[1024];
	sh_listing_reason(c->set, l, buf, sizeof(buf));
	sh_wb_json_str(w, buf);
}

/* ---- STIX 2.1 ---------------------------------------------------------------------------- */
/* Listings per chunk formatted in parallel: a few MB of text each. */
#define STIX_CHUNK 4096

struct stix_run {
	const struct sh_export_ctx *c;
	struct sh_wbuf *w;
	char identity[48];
	int64_t now_ms;
	size_t *ver; /* each listing's version; NULL: nothing remembered */
};

/* Claims the versions of chunk k's listings (a serial step: history look-ups and insertions
 * are not thread-safe), while earlier chunks are being formatted. */
static int stix_claim(void *arg, size_t k)
{
	const struct stix_run *r = arg;
	const struct sh_export_ctx *c = r->c;
	size_t end = c->set->n - k * STIX_CHUNK > STIX_CHUNK ? (k + 1) * STIX_CHUNK : c->set->n;
	int rc = 0;
	for (size_t i = k * STIX_CHUNK; i < end && rc == 0 && r->ver; i++)
		if (wants_all(c, &c->set->v[i]))
			rc = sh_export_history_claim(c->history, &c->set->v[i], r->now_ms, &r->ver[i]);
	return rc;
}

static void stix_obj_start(struct sh_wbuf *w, bool first, const char *id_type, const char *uuid)
{
	sh_wb_str(w, first ? "\n{\"type\":\"" : ",\n{\"type\":\"");
	sh_wb_str(w, id_type);
	sh_wb_str(w, "\",\"spec_version\":\"2.1\",\"id\":\"");
	sh_wb_str(w, id_type);
	sh_wb_str(w, "--");
	sh_wb_str(w, uuid);
	sh_wb_char(w, '"');
}

static int stix_withdrawn(const struct sh_export_version *v, void *arg)
{
	struct stix_run *r = arg;
	struct sh_listing l = {.type = (enum sh_ind_type)v->type, .value = v->value};
	if (l.type == SH_IND_IP || l.type == SH_IND_CIDR)
		l.prefix.ip.af = strchr(v->value, ':') ? SH_AF_V6 : SH_AF_V4;
	char uuid[37];
	uint8_t u[16];
	if (v->digests & SH_DIGEST_UUID)
		memcpy(u, v->uuid, 16);
	else
		listing_uuid_raw(v->type, v->value, u);
	sh_uuid_text(u, uuid);
	stix_obj_start(r->w, false, "indicator", uuid);
	sh_wb_printf(r->w, ",\"created_by_ref\":\"%s\",\"created\":\"", r->identity);
	sh_wb_time_ms(r->w, v->created_ms);
	sh_wb_str(r->w, "\",\"modified\":\"");
	sh_wb_time_ms(r->w, v->modified_ms);
	sh_wb_str(r->w, "\",\"revoked\":true,\"indicator_types\":[\"malicious-activity\"],\"pattern\":");
	put_pattern(r->w, stix_type(&l), v->value);
	sh_wb_str(r->w, ",\"pattern_type\":\"stix\",\"valid_from\":\"");
	sh_wb_time(r->w, v->first_seen);
	sh_wb_str(r->w, "\"}");
	return 0;
}

/* Indicators of listings [k * STIX_CHUNK, ...), each after a ",\n". */
static int stix_chunk(void *arg, size_t k, struct sh_export_chunk *out)
{
	const struct stix_run *r = arg;
	const struct sh_export_ctx *c = r->c;
	struct sh_wbuf *b = &out->scratch, *w = &out->text;
	size_t end = c->set->n - k * STIX_CHUNK > STIX_CHUNK ? (k + 1) * STIX_CHUNK : c->set->n;
	char uuid[37];
	for (size_t i = k * STIX_CHUNK; i < end; i++) {
		const struct sh_listing *l = &c->set->v[i];
		if (!wants_all(c, l))
			continue;
		/* everything but the id and the version times, hashed to see whether it changed */
		b->len = 0;
		sh_wb_str(b, ",\"created_by_ref\":\"");
		sh_wb_str(b, r->identity);
		sh_wb_char(b, '"');
		size_t body_from = b->len;
		sh_wb_str(b, ",\"description\":");
		put_description(b, c, l);
		sh_wb_str(b, ",\"indicator_types\":[\"malicious-activity\"],\"pattern\":");
		put_pattern(b, stix_type(l), l->value);
		sh_wb_str(b, ",\"pattern_type\":\"stix\",\"valid_from\":\"");
		sh_wb_time(b, l->first_seen);
		int64_t until = next_midnight(l->expires);
		if (until > l->first_seen) {
			sh_wb_str(b, "\",\"valid_until\":\"");
			sh_wb_time(b, until);
		}
		sh_wb_str(b, "\",\"labels\":[");
		sh_wb_json_str(b, c->policy->cats[l->cat].name);
		if (l->malware) {
			sh_wb_char(b, ',');
			sh_wb_json_str(b, l->malware);
		}
		sh_wb_str(b, "],\"confidence\":");
		sh_wb_u64(b, l->n_sources > 1 ? 85 : 70);
		sh_wb_char(b, '}');
		if (b->err)
			return b->err;
		int64_t created = r->now_ms, modified = r->now_ms;
		struct sh_export_version *v = NULL;
		if (r->ver) {
			v = sh_export_history_update(c->history, r->ver[i], b->buf + body_from,
						     b->len - body_from, r->now_ms);
			created = v->created_ms;
			modified = v->modified_ms;
		}
		listing_uuid(v, l, uuid);
		if (v && c->state)
			sh_export_history_record(c->history, r->ver[i], &out->state);
		stix_obj_start(w, false, "indicator", uuid);
		sh_wb_str(w, ",\"created\":\"");
		sh_wb_time_ms(w, created);
		sh_wb_str(w, "\",\"modified\":\"");
		sh_wb_time_ms(w, modified);
		sh_wb_char(w, '"');
		sh_wb_put(w, b->buf, b->len);
	}
	return 0;
}

static int stix_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct stix_run r = {.c = c, .now_ms = c->at * 1000};
	int rc = 0;
	if (c->history) {
		r.ver = malloc((c->set->n ? c->set->n : 1) * sizeof(*r.ver));
		rc = r.ver ? sh_export_history_reserve(c->history, c->set->n) : SH_ENOMEM;
	}
	if (rc == 0)
		rc = sh_export_open(t, "sheriff.stix.json", &r.w);
	if (rc != 0) {
		free(r.ver);
		return rc;
	}
	const char *pub = c->policy->publisher;
	char uuid[37];
	sh_uuid5(sh_uuid_ns_sheriff, pub, strlen(pub), uuid);
	snprintf(r.identity, sizeof(r.identity), "identity--%s", uuid);
	char bundle_name[128];
	int bn = snprintf(bundle_name, sizeof(bundle_name), "bundle:%s:%lld", pub, (long long)c->at);
	sh_uuid5(sh_uuid_ns_sheriff, bundle_name, (size_t)bn, uuid);
	sh_wb_printf(r.w, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[", uuid);
	sh_uuid5(sh_uuid_ns_sheriff, pub, strlen(pub), uuid);
	stix_obj_start(r.w, true, "identity", uuid);
	/* a fixed early version: stable, and never later than the indicators, since readers
	 * (sheriff's own ingest among them) take the newest object time as the bundle's */
	sh_wb_str(r.w, ",\"created\":\"1970-01-01T00:00:00.000Z\",\"modified\":\"1970-01-01T00:00:00.000Z\","
		       "\"name\":");
	sh_wb_json_str(r.w, pub);
	sh_wb_str(r.w, ",\"identity_class\":\"system\"}");
	struct sh_export_par *par;
	rc = sh_export_par_start_serial((c->set->n + STIX_CHUNK - 1) / STIX_CHUNK, stix_claim,
					stix_chunk, &r, &par);
	if (rc == 0) {
		for (struct sh_export_chunk *k; (k = sh_export_par_next(par)) != NULL;) {
			sh_wb_put(r.w, k->text.buf, k->text.len);
			if (c->state)
				sh_wb_put(c->state, k->state.buf, k->state.len);
		}
		rc = sh_export_par_end(par);
	}
	free(r.ver);
	if (rc == 0 && c->history)
		rc = sh_export_history_withdrawn(c->history, r.now_ms, c->policy->withdrawn_keep * 1000,
						 stix_withdrawn, &r);
	if (rc == 0)
		rc = sh_export_versions_final(t);
	if (rc != 0)
		return rc;
	sh_wb_str(r.w, "\n]}\n");
	return sh_export_commit(t, r.w);
}

const struct sh_export_format sh_export_stix = {
	.name = "stix",
	.description = "STIX 2.1 bundle of indicators (stable ids, versions, revoked when withdrawn)",
	.history = true,
	.wants = wants_all,
	.write = stix_write,
};

/* ---- MISP feed ---------------------------------------------------------------------------- */
/* One event per category and day of first sighting: events stay small, and an event whose
 * attributes did not change keeps its timestamp, so MISP skips it when it pulls the feed. */
struct misp_item {
	const struct sh_listing *l;
	int64_t day;
	uint16_t cat; /* l's, at hand: the items are sorted and grouped by it */
};

/* MISP walks the listings in item order, scattered over the set: the listing of item i + 16
 * and the value of item i + 8 are fetched ahead (the serial pass that groups the items and
 * claims their versions took 0.086 s for a million without, 0.072 s with). */
static void misp_prefetch(const struct misp_item *items, size_t i, size_t n)
{
	if (i + 16 < n)
		__builtin_prefetch(items[i + 16].l);
	if (i + 8 < n)
		__builtin_prefetch(items[i + 8].l->value);
}

/* The (category, day) groups of a feed, for ordering the items: a counting sort over the few
 * groups present keeps the listing order within each and costs two passes, where sorting a
 * million items by comparison cost several times that. Both passes run in two threads, each
 * over half of the listings: the first collects its half's items and counts them per group,
 * the second places them, the lower half's first in each group. */
struct misp_group {
	uint16_t cat;
	int64_t day;
	size_t count;  /* items of the half in it */
	size_t start;  /* where the half's next item of it goes */
	int half;      /* 0 or 1: the lower half's come first */
};

struct misp_half {
	const struct sh_export_ctx *c;
	size_t from, to;       /* its listings */
	struct misp_item *v;   /* its items, in listing order */
	uint32_t *of;          /* each one's group */
	size_t n;
	struct misp_group *g;  /* the groups it met */
	size_t n_groups, cap;
	size_t *slot;          /* open addressing over g, 2 * cap slots */
	struct misp_item *out; /* phase 2: all items in event order */
	int half;
	int rc;
};

static uint64_t group_hash(uint16_t cat, int64_t day)
{
	uint64_t h = ((uint64_t)day ^ ((uint64_t)cat << 48)) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* Doubles the group table; false when out of memory. */
static bool group_grow(struct misp_half *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	struct misp_group *ng = realloc(h->g, cap * sizeof(*ng));
	if (!ng)
		return false;
	h->g = ng;
	size_t *ns = malloc(cap * 2 * sizeof(*ns));
	if (!ns)
		return false;
	free(h->slot);
	h->slot = ns;
	h->cap = cap;
	memset(ns, 0xff, cap * 2 * sizeof(*ns));
	for (size_t x = 0; x < h->n_groups; x++) {
		size_t m = (size_t)group_hash(h->g[x].cat, h->g[x].day) & (cap * 2 - 1);
		while (ns[m] != SIZE_MAX)
			m = (m + 1) & (cap * 2 - 1);
		ns[m] = x;
	}
	return true;
}

static void *misp_collect(void *arg)
{
	struct misp_half *h = arg;
	const struct sh_listing_set *set = h->c->set;
	size_t n = h->to - h->from, last = SIZE_MAX;
	h->v = malloc((n ? n : 1) * sizeof(*h->v));
	h->of = malloc((n ? n : 1) * sizeof(*h->of));
	if (!h->v || !h->of || !group_grow(h)) {
		h->rc = SH_ENOMEM;
		return NULL;
	}
	for (size_t i = h->from; i < h->to; i++) {
		const struct sh_listing *l = &set->v[i];
		if (!wants_all(h->c, l))
			continue;
		int64_t day = (l->first_seen >= 0 ? l->first_seen : l->first_seen - DAY + 1) / DAY;
		uint16_t cat = l->cat;
		/* neighbours often share their group */
		if (last == SIZE_MAX || h->g[last].cat != cat || h->g[last].day != day) {
			size_t mask = h->cap * 2 - 1, k = (size_t)group_hash(cat, day) & mask;
			while (h->slot[k] != SIZE_MAX &&
			       (h->g[h->slot[k]].cat != cat || h->g[h->slot[k]].day != day))
				k = (k + 1) & mask;
			if (h->slot[k] == SIZE_MAX) {
				if (h->n_groups == h->cap) {
					if (!group_grow(h)) {
						h->rc = SH_ENOMEM;
						return NULL;
					}
					i--; /* place this listing again */
					continue;
				}
				h->g[h->n_groups] =
					(struct misp_group){.cat = cat, .day = day, .half = h->half};
				h->slot[k] = h->n_groups++;
			}
			last = h->slot[k];
		}
		h->g[last].count++;
		h->v[h->n] = (struct misp_item){.l = l, .day = day, .cat = cat};
		h->of[h->n++] = (uint32_t)last;
	}
	return NULL;
}

static void *misp_place(void *arg)
{
	struct misp_half *h = arg;
	for (size_t i = 0; i < h->n; i++)
		h->out[h->g[h->of[i]].start++] = h->v[i];
	return NULL;
}

/* Runs fn on both halves, the second in a thread of its own where one starts. */
static void both_halves(void *(*fn)(void *), struct misp_half *h)
{
	pthread_t tid;
	bool started = pthread_create(&tid, NULL, fn, &h[1]) == 0;
	fn(&h[0]);
	if (started)
		pthread_join(tid, NULL);
	else
		fn(&h[1]);
}

static int cmp_group_ptr(const void *pa, const void *pb)
{
	const struct misp_group *a = *(const struct misp_group *const *)pa;
	const struct misp_group *b = *(const struct misp_group *const *)pb;
	if (a->cat != b->cat)
		return a->cat < b->cat ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return a->half - b->half;
}

/* The listings MISP publishes, ordered by category, then day, then as in the set: *out
 * (malloc'ed), *n of them. */
static int misp_items(const struct sh_export_ctx *c, struct misp_item **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct misp_half h[2] = {{.c = c, .from = 0, .to = c->set->n / 2},
				 {.c = c, .from = c->set->n / 2, .to = c->set->n, .half = 1}};
	both_halves(misp_collect, h);
	size_t total = h[0].n + h[1].n, n_groups = h[0].n_groups + h[1].n_groups;
	const struct misp_group **order = malloc((n_groups ? n_groups : 1) * sizeof(*order));
	struct misp_item *items = malloc((total ? total : 1) * sizeof(*items));
	int rc = h[0].rc ? h[0].rc : h[1].rc ? h[1].rc : order && items ? 0 : SH_ENOMEM;
	if (rc == 0) {
		/* both halves' groups in order; equal groups side by side, the lower half's first */
		size_t k = 0;
		for (int x = 0; x < 2; x++)
			for (size_t i = 0; i < h[x].n_groups; i++)
				order[k++] = &h[x].g[i];
		qsort(order, n_groups, sizeof(*order), cmp_group_ptr);
		size_t start = 0;
		for (size_t i = 0; i < n_groups; i++) {
			struct misp_group *g = (struct misp_group *)order[i];
			g->start = start;
			start += g->count;
		}
		h[0].out = h[1].out = items;
		both_halves(misp_place, h);
		*out = items;
		*n = total;
		items = NULL;
	}
	free(items);
	free(order);
	for (int x = 0; x < 2; x++) {
		free(h[x].v);
		free(h[x].of);
		free(h[x].g);
		free(h[x].slot);
	}
	return rc;
}

static const char *misp_type(const struct sh_listing *l)
{
	switch (l->type) {
	case SH_IND_IP:
	case SH_IND_CIDR:
		return "ip-dst";
	case SH_IND_DOMAIN:
		return "domain";
	default:
		return "url";
	}
}


struct misp_event {
	char uuid[37];
	char info[160];
	char date[11];
	const char *cat;
	int64_t timestamp;
	size_t n;
};

/* The events of this export, sorted by uuid, to tell stale event files from current ones. */
struct misp_keep {
	const struct misp_event *v;
	size_t n;
};

static int cmp_event_uuid(const void *a, const void *b)
{
	return strcmp(((const struct misp_event *)a)->uuid, ((const struct misp_event *)b)->uuid);
}

/* An event file ("UUID.json", lowercase hex) of an earlier export that this one does not have.
 * Anything else in the directory is left alone. */
static bool misp_stale(const char *name, void *arg)
{
	const struct misp_keep *k = arg;
	if (strlen(name) != 41 || strcmp(name + 36, ".json") != 0)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? name[i] != '-' : !strchr("0123456789abcdef", name[i]))
			return false;
	}
	size_t lo = 0, hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(k->v[mid].uuid, name, 36);
		if (c == 0)
			return false;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return true;
}

static void put_orgc(struct sh_wbuf *w, const struct sh_export_ctx *c)
{
	char uuid[37];
	const char *pub = c->policy->publisher;
	sh_uuid5(sh_uuid_ns_sheriff, pub, strlen(pub), uuid);
	sh_wb_str(w, "\"Orgc\":{\"name\":");
	sh_wb_json_str(w, pub);
	sh_wb_printf(w, ",\"uuid\":\"%s\"}", uuid);
}

static void put_event_times(struct sh_wbuf *w, const struct misp_event *e)
{
	sh_wb_printf(w, "\"timestamp\":\"%lld\",\"publish_timestamp\":\"%lld\"",
		     (long long)e->timestamp, (long long)e->timestamp);
}

/* The event's members but its attributes; its times only when with_times (an event file has
 * them after its attributes, which it streams: the times are the newest attribute's). */
static void put_event_head(struct sh_wbuf *w, const struct sh_export_ctx *c,
			   const struct misp_event *e, bool with_times)
{
	sh_wb_str(w, "\"info\":");
	sh_wb_json_str(w, e->info);
	sh_wb_printf(w, ",\"date\":\"%s\",\"analysis\":\"2\",\"threat_level_id\":\"2\",",
		     e->date);
	if (with_times) {
		put_event_times(w, e);
		sh_wb_char(w, ',');
	}
	put_orgc(w, c);
	sh_wb_printf(w, ",\"Tag\":[{\"name\":\"sheriff:category=\\\"%s\\\"\"},"
			"{\"name\":\"tlp:white\"}]",
		     e->cat);
}

/* Attributes per chunk formatted in parallel; chunks do not cross events. */
#define MISP_CHUNK 4096

struct misp_chunk {
	size_t event;    /* into misp_run.events */
	size_t from, to; /* items[from..to) */
	bool first;      /* the event's first chunk */
};

struct misp_run {
	const struct sh_export_ctx *c;
	const struct misp_item *items;
	struct misp_event *events;
	size_t n_events;
	struct misp_chunk *chunks;
	size_t n_chunks;
	size_t *ver; /* each item's version; NULL: nothing remembered */
	int64_t now_ms;
};

/* The attributes of one chunk, and their lines of hashes.csv (md5 of the value, event). */
static int misp_chunk(void *arg, size_t k, struct sh_export_chunk *out)
{
	const struct misp_run *r = arg;
	const struct misp_chunk *ch = &r->chunks[k];
	const struct misp_event *e = &r->events[ch->event];
	struct sh_wbuf *body = &out->scratch, *ev = &out->text;
	char uuid[37];
	for (size_t x = ch->from; x < ch->to; x++) {
		misp_prefetch(r->items, x, ch->to);
		const struct sh_listing *l = r->items[x].l;
		body->len = 0;
		sh_wb_str(body, ",\"type\":\"");
		sh_wb_str(body, misp_type(l));
		sh_wb_str(body, "\",\"category\":\"Network activity\",\"to_ids\":true,"
				"\"distribution\":\"5\",\"value\":");
		sh_wb_json_str(body, l->value);
		sh_wb_str(body, ",\"comment\":");
		put_reason(body, r->c, l);
		sh_wb_str(body, ",\"first_seen\":\"");
		sh_wb_time_us(body, l->first_seen);
		/* last seen cut to the day (stable while merely seen again), never before the first
		 * sighting: MISP refuses an attribute whose last_seen is earlier than its first_seen */
		int64_t last = (l->last_seen / DAY) * DAY;
		sh_wb_str(body, "\",\"last_seen\":\"");
		sh_wb_time_us(body, last > l->first_seen ? last : l->first_seen);
		sh_wb_str(body, "\"}");
		if (body->err)
			return body->err;
		int64_t modified = r->now_ms;
		struct sh_export_version *v = NULL;
		if (r->ver) {
			v = sh_export_history_update(r->c->history, r->ver[x], body->buf, body->len,
						     r->now_ms);
			modified = v->modified_ms;
		}
		if (modified / 1000 > out->stamp)
			out->stamp = modified / 1000;
		listing_uuid(v, l, uuid);
		sh_wb_str(ev, x == ch->from && ch->first ? "{\"uuid\":\"" : ",{\"uuid\":\"");
		sh_wb_str(ev, uuid);
		sh_wb_str(ev, "\",\"timestamp\":\"");
		sh_wb_i64(ev, modified / 1000);
		sh_wb_char(ev, '"');
		sh_wb_put(ev, body->buf, body->len);
		uint8_t md[16];
		if (v && (v->digests & SH_DIGEST_MD5)) {
			memcpy(md, v->md5, 16);
		} else {
			sh_md5(l->value, strlen(l->value), md);
			if (v) {
				memcpy(v->md5, md, 16);
				v->digests |= SH_DIGEST_MD5;
			}
		}
		sh_wb_hex(&out->extra, md, 16);
		sh_wb_char(&out->extra, ',');
		sh_wb_put(&out->extra, e->uuid, 36);
		sh_wb_char(&out->extra, '\n');
		if (v && r->c->state)
			sh_export_history_record(r->c->history, r->ver[x], &out->state);
	}
	return 0;
}

/* Claims the versions of chunk k's attributes, in the order they are published (as the next
 * export walks them), while earlier chunks are being formatted. */
static int misp_claim(void *arg, size_t k)
{
	const struct misp_run *r = arg;
	const struct misp_chunk *ch = &r->chunks[k];
	int rc = 0;
	for (size_t i = ch->from; i < ch->to && rc == 0 && r->ver; i++) {
		misp_prefetch(r->items, i, ch->to);
		rc = sh_export_history_claim(r->c->history, r->items[i].l, r->now_ms, &r->ver[i]);
	}
	return rc;
}

/* The events (one per category and day, over the sorted items) and their chunks. */
static int misp_plan(struct misp_run *r, size_t n)
{
	const struct sh_export_ctx *c = r->c;
	size_t cap_events = 0, cap_chunks = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		const struct misp_item *it = &r->items[i];
		while (j < n && r->items[j].cat == it->cat && r->items[j].day == it->day)
			j++;
		if (sh_array_grow((void **)&r->events, &cap_events, r->n_events + 1,
				  sizeof(*r->events)) != 0)
			return SH_ENOMEM;
		struct misp_event *e = &r->events[r->n_events];
		const char *catname = c->policy->cats[it->cat].name;
		char d[SH_TIME_STRLEN], key[200];
		sh_time_format(it->day * DAY, d);
		memcpy(e->date, d, 10);
		e->date[10] = '\0';
		e->cat = catname;
		e->n = j - i;
		e->timestamp = 0;
		int kn = snprintf(key, sizeof(key), "misp-event:%s:%s:%s", c->policy->publisher,
				  catname, e->date);
		sh_uuid5(sh_uuid_ns_sheriff, key, (size_t)kn, e->uuid);
		snprintf(e->info, sizeof(e->info), "%s %s listings first seen %s", c->policy->publisher,
			 catname, e->date);
		for (size_t from = i; from < j; from += MISP_CHUNK) {
			if (sh_array_grow((void **)&r->chunks, &cap_chunks, r->n_chunks + 1,
					  sizeof(*r->chunks)) != 0)
				return SH_ENOMEM;
			r->chunks[r->n_chunks++] = (struct misp_chunk){
				.event = r->n_events, .from = from,
				.to = j - from > MISP_CHUNK ? from + MISP_CHUNK : j, .first = from == i};
		}
		r->n_events++;
		i = j;
	}
	if (!c->history)
		return 0;
	r->ver = malloc((n ? n : 1) * sizeof(*r->ver));
	return r->ver ? sh_export_history_reserve(c->history, n) : SH_ENOMEM;
}

/* The event files, streamed from the chunks as they are formatted, and hashes.csv's lines
 * meanwhile. */
static int misp_events(struct misp_run *r, struct sh_export_target *t, struct sh_wbuf *hashes)
{
	struct sh_export_par *par;
	int rc = sh_export_par_start_serial(r->n_chunks, misp_claim, misp_chunk, r, &par);
	if (rc != 0)
		return rc;
	size_t k = 0;
	for (size_t i = 0; i < r->n_events && rc == 0; i++) {
		struct misp_event *e = &r->events[i];
		char name[64];
		snprintf(name, sizeof(name), "%s.json", e->uuid);
		struct sh_wbuf *w;
		rc = sh_export_open(t, name, &w);
		if (rc != 0)
			break;
		sh_wb_printf(w, "{\"Event\":{\"uuid\":\"%s\",", e->uuid);
		put_event_head(w, r->c, e, false);
		sh_wb_str(w, ",\"published\":true,\"Attribute\":[");
		for (; k < r->n_chunks && r->chunks[k].event == i; k++) {
			struct sh_export_chunk *ch = sh_export_par_next(par);
			if (!ch) {
				rc = SH_ECANCELED;
				break;
			}
			sh_wb_put(w, ch->text.buf, ch->text.len);
			sh_wb_put(hashes, ch->extra.buf, ch->extra.len);
			if (r->c->state)
				sh_wb_put(r->c->state, ch->state.buf, ch->state.len);
			if (ch->stamp > e->timestamp)
				e->timestamp = ch->stamp;
		}
		if (rc != 0)
			break;
		sh_wb_str(w, "],");
		put_event_times(w, e);
		sh_wb_str(w, "}}\n");
		rc = sh_export_commit(t, w);
	}
	int prc = sh_export_par_end(par);
	return prc ? prc : rc ? rc : hashes->err;
}

static int misp_withdrawn(const struct sh_export_version *v, void *arg)
{
	(void)v;
	(void)arg;
	return 0;
}

static int misp_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct misp_item *items;
	size_t n;
	int rc = misp_items(c, &items, &n);
	if (rc != 0)
		return rc;
	struct misp_run r = {.c = c, .items = items, .now_ms = c->at * 1000};
	/* hashes.csv is written beside the event files, and committed after them */
	struct sh_wbuf *hashes;
	rc = sh_export_open(t, "hashes.csv", &hashes);
	if (rc == 0)
		rc = misp_plan(&r, n);
	if (rc == 0)
		rc = misp_events(&r, t, hashes);
	/* a feed has no revocation: the state remembers a withdrawn attribute for withdrawn_keep,
	 * so that one coming back gets a new timestamp, which makes MISP pull its event again */
	if (rc == 0 && c->history)
		rc = sh_export_history_withdrawn(c->history, r.now_ms, c->policy->withdrawn_keep * 1000,
						 misp_withdrawn, NULL);
	if (rc == 0)
		rc = sh_export_versions_final(t);
	if (rc == 0)
		rc = sh_export_commit(t, hashes);
	struct sh_wbuf *w;
	if (rc == 0)
		rc = sh_export_open(t, "manifest.json", &w);
	if (rc == 0) {
		sh_wb_char(w, '{');
		for (size_t i = 0; i < r.n_events; i++) {
			sh_wb_printf(w, "%s\"%s\":{", i ? ",\n" : "\n", r.events[i].uuid);
			put_event_head(w, c, &r.events[i], true);
			sh_wb_char(w, '}');
		}
		sh_wb_str(w, "\n}\n");
		rc = sh_export_commit(t, w);
	}
	if (rc == 0) {
		/* the manifest is in place: event files it no longer names go */
		struct misp_keep keep = {r.events, r.n_events};
		qsort(r.events, r.n_events, sizeof(*r.events), cmp_event_uuid);
		rc = sh_export_prune(t, misp_stale, &keep);
	}
	free(items);
	free(r.events);
	free(r.chunks);
	free(r.ver);
	return rc;
}

const struct sh_export_format sh_export_misp = {
	.name = "misp",
	.description = "MISP feed: manifest.json, one event file per category and day, hashes.csv (--out DIR)",
	.dir = true,
	.history = true,
	.wants = wants_all,
	.write = misp_write,
};
