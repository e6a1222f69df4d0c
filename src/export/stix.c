/* Threat-sharing exports: a STIX 2.1 bundle and a MISP feed directory.
 *
 * Ids are name-based UUIDs (version 5) of the indicator, so they are the same on every run and
 * machine. With an output path, the state beside it remembers each object's version: `created`
 * stays, `modified` moves only when the published content changes, and an indicator that
 * is no longer listed is published once more as revoked (and kept so for the policy's
 * withdrawn_keep). Times inside the objects are cut to the day (last seen) or rounded up to
 * the next midnight (valid_until), so an indicator that is merely seen again does not get a
 * new version on every run. */
#include <dirent.h>
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

/* Description with day-precision dates: stable while an indicator is simply seen again. */
static void put_description(struct sh_wbuf *w, const struct sh_export_ctx *c,
			    const struct sh_listing *l)
{
	/* the evidence with its times cut to the day (the times are its two 20-byte fields) */
	char buf[1024];
	struct sh_listing day = *l;
	day.first_seen -= ((day.first_seen % 86400) + 86400) % 86400;
	day.last_seen -= ((day.last_seen % 86400) + 86400) % 86400;
	day.flags &= (uint16_t)~SH_LF_ONLINE;
	sh_listing_evidence(c->set, &day, buf, sizeof(buf));
	sh_wb_json_str(w, buf);
}

/* ---- STIX 2.1 ---------------------------------------------------------------------------- */
/* Listings per chunk formatted in parallel: a few MB of text each. */
#define STIX_CHUNK 4096

/* Versions of the listings: claimed in one pass (history look-ups and insertions are not
 * thread-safe), then updated by the threads formatting them. ver[i] is listing i's. */
static int claim_versions(const struct sh_export_ctx *c, int64_t now_ms, size_t **out)
{
	*out = NULL;
	if (!c->history)
		return 0;
	size_t *ver = malloc((c->set->n ? c->set->n : 1) * sizeof(*ver));
	if (!ver)
		return SH_ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < c->set->n && rc == 0; i++)
		if (wants_all(c, &c->set->v[i]))
			rc = sh_export_history_claim(c->history, &c->set->v[i], now_ms, &ver[i]);
	if (rc != 0) {
		free(ver);
		return rc;
	}
	*out = ver;
	return 0;
}

struct stix_run {
	const struct sh_export_ctx *c;
	struct sh_wbuf *w;
	char identity[48];
	int64_t now_ms;
	size_t *ver; /* NULL: nothing remembered */
};

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
	int rc = claim_versions(c, r.now_ms, &r.ver);
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
	rc = sh_export_par_start((c->set->n + STIX_CHUNK - 1) / STIX_CHUNK, stix_chunk, &r, &par);
	if (rc == 0) {
		for (struct sh_export_chunk *k; (k = sh_export_par_next(par)) != NULL;)
			sh_wb_put(r.w, k->text.buf, k->text.len);
		rc = sh_export_par_end(par);
	}
	free(r.ver);
	if (rc == 0 && c->history)
		rc = sh_export_history_withdrawn(c->history, r.now_ms, c->policy->withdrawn_keep * 1000,
						 stix_withdrawn, &r);
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
 * million items by comparison cost several times that. */
struct misp_group {
	uint16_t cat;
	int64_t day;
	size_t count, orig; /* items in it; its index before sorting */
};

static int cmp_group(const void *pa, const void *pb)
{
	const struct misp_group *a = pa, *b = pb;
	if (a->cat != b->cat)
		return a->cat < b->cat ? -1 : 1;
	return a->day < b->day ? -1 : a->day > b->day;
}

static uint64_t group_hash(uint16_t cat, int64_t day)
{
	uint64_t h = ((uint64_t)day ^ ((uint64_t)cat << 48)) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* Orders items[0..n) by category, then day, stably. */
static int sort_items(struct misp_item *items, size_t n)
{
	size_t cap = 64, n_groups = 0;
	struct misp_group *g = malloc(cap * sizeof(*g));
	size_t *slot = malloc(cap * 2 * sizeof(*slot));
	size_t *of = malloc((n ? n : 1) * sizeof(*of)); /* each item's group */
	struct misp_item *out = malloc((n ? n : 1) * sizeof(*out));
	int rc = g && slot && of && out ? 0 : SH_ENOMEM;
	if (rc == 0)
		memset(slot, 0xff, cap * 2 * sizeof(*slot));
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint16_t cat = items[i].cat;
		int64_t day = items[i].day;
		size_t mask = cap * 2 - 1, k = (size_t)group_hash(cat, day) & mask;
		while (slot[k] != SIZE_MAX && (g[slot[k]].cat != cat || g[slot[k]].day != day))
			k = (k + 1) & mask;
		if (slot[k] == SIZE_MAX) {
			if (n_groups == cap) {
				/* twice the groups: rehash them all */
				struct misp_group *ng = realloc(g, cap * 2 * sizeof(*ng));
				size_t *ns = ng ? malloc(cap * 4 * sizeof(*ns)) : NULL;
				if (!ng || !ns) {
					if (ng)
						g = ng;
					free(ns);
					rc = SH_ENOMEM;
					break;
				}
				g = ng;
				free(slot);
				slot = ns;
				cap *= 2;
				memset(slot, 0xff, cap * 2 * sizeof(*slot));
				for (size_t x = 0; x < n_groups; x++) {
					size_t m = (size_t)group_hash(g[x].cat, g[x].day) & (cap * 2 - 1);
					while (slot[m] != SIZE_MAX)
						m = (m + 1) & (cap * 2 - 1);
					slot[m] = x;
				}
				i--; /* place this item again */
				continue;
			}
			g[n_groups] = (struct misp_group){.cat = cat, .day = day};
			slot[k] = n_groups++;
		}
		g[slot[k]].count++;
		of[i] = slot[k];
	}
	if (rc == 0) {
		/* the groups in order, each one's start in out; of[] then maps to the new index */
		size_t *rank = malloc((n_groups ? n_groups : 1) * sizeof(*rank));
		struct misp_group *sorted = malloc((n_groups ? n_groups : 1) * sizeof(*sorted));
		if (!rank || !sorted) {
			rc = SH_ENOMEM;
		} else {
			memcpy(sorted, g, n_groups * sizeof(*g));
			for (size_t x = 0; x < n_groups; x++)
				sorted[x].orig = x;
			qsort(sorted, n_groups, sizeof(*sorted), cmp_group);
			size_t start = 0;
			for (size_t x = 0; x < n_groups; x++) {
				rank[sorted[x].orig] = start;
				start += sorted[x].count;
			}
			for (size_t i = 0; i < n; i++)
				out[rank[of[i]]++] = items[i];
			memcpy(items, out, n * sizeof(*items));
		}
		free(rank);
		free(sorted);
	}
	free(g);
	free(slot);
	free(of);
	free(out);
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
		put_description(body, r->c, l);
		sh_wb_str(body, ",\"first_seen\":\"");
		sh_wb_time_us(body, l->first_seen);
		sh_wb_str(body, "\",\"last_seen\":\"");
		sh_wb_time_us(body, (l->last_seen / DAY) * DAY);
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
	}
	return 0;
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
		if (r->n_events == cap_events) {
			cap_events = cap_events ? cap_events * 2 : 64;
			struct misp_event *ne = realloc(r->events, cap_events * sizeof(*ne));
			if (!ne)
				return SH_ENOMEM;
			r->events = ne;
		}
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
			if (r->n_chunks == cap_chunks) {
				cap_chunks = cap_chunks ? cap_chunks * 2 : 64;
				struct misp_chunk *nc = realloc(r->chunks, cap_chunks * sizeof(*nc));
				if (!nc)
					return SH_ENOMEM;
				r->chunks = nc;
			}
			r->chunks[r->n_chunks++] = (struct misp_chunk){
				.event = r->n_events, .from = from,
				.to = j - from > MISP_CHUNK ? from + MISP_CHUNK : j, .first = from == i};
		}
		r->n_events++;
		i = j;
	}
	if (!c->history)
		return 0;
	/* versions claimed in the order the attributes are published, as the next export walks */
	r->ver = malloc((n ? n : 1) * sizeof(*r->ver));
	if (!r->ver)
		return SH_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		misp_prefetch(r->items, i, n);
		int rc = sh_export_history_claim(c->history, r->items[i].l, r->now_ms, &r->ver[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The event files, streamed from the chunks as they are formatted; hashes.csv's lines are
 * collected meanwhile (a target has one open file at a time). */
static int misp_events(struct misp_run *r, struct sh_export_target *t, struct sh_wbuf *hashes)
{
	struct sh_export_par *par;
	int rc = sh_export_par_start(r->n_chunks, misp_chunk, r, &par);
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

static int misp_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	size_t n = 0;
	for (size_t i = 0; i < c->set->n; i++)
		n += wants_all(c, &c->set->v[i]);
	struct misp_item *items = malloc((n ? n : 1) * sizeof(*items));
	struct misp_run r = {.c = c, .items = items, .now_ms = c->at * 1000};
	struct sh_wbuf hashes;
	int rc = items ? sh_wbuf_init(&hashes, -1) : SH_ENOMEM;
	if (rc != 0) {
		free(items);
		return rc;
	}
	size_t k = 0;
	for (size_t i = 0; i < c->set->n; i++) {
		const struct sh_listing *l = &c->set->v[i];
		if (!wants_all(c, l))
			continue;
		items[k].l = l;
		items[k].day = (l->first_seen >= 0 ? l->first_seen : l->first_seen - DAY + 1) / DAY;
		items[k].cat = l->cat;
		k++;
	}
	rc = sort_items(items, n);
	if (rc == 0)
		rc = misp_plan(&r, n);
	if (rc == 0)
		rc = misp_events(&r, t, &hashes);
	struct sh_wbuf *w;
	if (rc == 0)
		rc = sh_export_open(t, "hashes.csv", &w);
	if (rc == 0) {
		sh_wb_put(w, hashes.buf, hashes.len);
		rc = sh_export_commit(t, w);
	}
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
	sh_wbuf_fini(&hashes);
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
