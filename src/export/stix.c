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
static void listing_uuid(int type, const char *value, char out[37])
{
	size_t n = strlen(value);
	char small[600];
	char *buf = n + 3 <= sizeof(small) ? small : malloc(n + 3);
	if (!buf) {
		sh_uuid5(sh_uuid_ns_sheriff, value, n, out);
		return;
	}
	buf[0] = (char)('0' + type);
	buf[1] = ':';
	memcpy(buf + 2, value, n + 1);
	sh_uuid5(sh_uuid_ns_sheriff, buf, n + 2, out);
	if (buf != small)
		free(buf);
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
struct stix_run {
	const struct sh_export_ctx *c;
	struct sh_wbuf *w, body;
	char identity[48];
	bool first;
	int64_t now_ms;
};

static void stix_obj_start(struct stix_run *r, const char *id_type, const char *uuid)
{
	sh_wb_str(r->w, r->first ? "\n{\"type\":\"" : ",\n{\"type\":\"");
	r->first = false;
	sh_wb_str(r->w, id_type);
	sh_wb_str(r->w, "\",\"spec_version\":\"2.1\",\"id\":\"");
	sh_wb_str(r->w, id_type);
	sh_wb_str(r->w, "--");
	sh_wb_str(r->w, uuid);
	sh_wb_char(r->w, '"');
}

static int stix_withdrawn(const struct sh_export_version *v, void *arg)
{
	struct stix_run *r = arg;
	struct sh_listing l = {.type = (enum sh_ind_type)v->type, .value = v->value};
	if (l.type == SH_IND_IP || l.type == SH_IND_CIDR)
		l.prefix.ip.af = strchr(v->value, ':') ? SH_AF_V6 : SH_AF_V4;
	char uuid[37];
	listing_uuid(v->type, v->value, uuid);
	stix_obj_start(r, "indicator", uuid);
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

static int stix_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct stix_run r = {.c = c, .first = true, .now_ms = c->at * 1000};
	int rc = sh_export_open(t, "sheriff.stix.json", &r.w);
	if (rc != 0)
		return rc;
	rc = sh_wbuf_init(&r.body, -1);
	if (rc != 0)
		return rc;
	const char *pub = c->policy->publisher;
	char uuid[37];
	sh_uuid5(sh_uuid_ns_sheriff, pub, strlen(pub), uuid);
	snprintf(r.identity, sizeof(r.identity), "identity--%s", uuid);
	char bundle_name[128];
	int bn = snprintf(bundle_name, sizeof(bundle_name), "bundle:%s:%lld", pub, (long long)c->at);
	sh_uuid5(sh_uuid_ns_sheriff, bundle_name, (size_t)bn, uuid);
	sh_wb_printf(r.w, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[", uuid);
	sh_uuid5(sh_uuid_ns_sheriff, pub, strlen(pub), uuid);
	stix_obj_start(&r, "identity", uuid);
	/* a fixed early version: stable, and never later than the indicators, since readers
	 * (sheriff's own ingest among them) take the newest object time as the bundle's */
	sh_wb_str(r.w, ",\"created\":\"1970-01-01T00:00:00.000Z\",\"modified\":\"1970-01-01T00:00:00.000Z\","
		       "\"name\":");
	sh_wb_json_str(r.w, pub);
	sh_wb_str(r.w, ",\"identity_class\":\"system\"}");
	for (size_t i = 0; i < c->set->n && rc == 0; i++) {
		const struct sh_listing *l = &c->set->v[i];
		if (!wants_all(c, l))
			continue;
		/* everything but the id and the version times, hashed to see whether it changed */
		struct sh_wbuf *b = &r.body;
		b->len = 0;
		sh_wb_str(b, ",\"created_by_ref\":\"");
		sh_wb_str(b, r.identity);
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
		if (b->err) {
			rc = b->err;
			break;
		}
		int64_t created = r.now_ms, modified = r.now_ms;
		if (c->history) {
			const struct sh_export_version *v;
			rc = sh_export_history_touch(c->history, l, b->buf + body_from,
						     b->len - body_from, r.now_ms, &v);
			if (rc != 0)
				break;
			created = v->created_ms;
			modified = v->modified_ms;
		}
		listing_uuid(l->type, l->value, uuid);
		stix_obj_start(&r, "indicator", uuid);
		sh_wb_str(r.w, ",\"created\":\"");
		sh_wb_time_ms(r.w, created);
		sh_wb_str(r.w, "\",\"modified\":\"");
		sh_wb_time_ms(r.w, modified);
		sh_wb_char(r.w, '"');
		sh_wb_put(r.w, b->buf, b->len);
	}
	if (rc == 0 && c->history)
		rc = sh_export_history_withdrawn(c->history, r.now_ms, c->policy->withdrawn_keep * 1000,
						 stix_withdrawn, &r);
	sh_wbuf_fini(&r.body);
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
};

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
		uint16_t cat = items[i].l->cat;
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

/* MISP's attribute times: ISO 8601 with microseconds and an offset. */
static void misp_time(struct sh_wbuf *w, int64_t t)
{
	char b[SH_TIME_STRLEN];
	sh_time_format(t, b);
	sh_wb_put(w, b, 19);
	sh_wb_str(w, ".000000+00:00");
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

static void put_event_head(struct sh_wbuf *w, const struct sh_export_ctx *c,
			   const struct misp_event *e)
{
	sh_wb_str(w, "\"info\":");
	sh_wb_json_str(w, e->info);
	sh_wb_printf(w, ",\"date\":\"%s\",\"analysis\":\"2\",\"threat_level_id\":\"2\","
			"\"timestamp\":\"%lld\",\"publish_timestamp\":\"%lld\",",
		     e->date, (long long)e->timestamp, (long long)e->timestamp);
	put_orgc(w, c);
	sh_wb_printf(w, ",\"Tag\":[{\"name\":\"sheriff:category=\\\"%s\\\"\"},"
			"{\"name\":\"tlp:white\"}]",
		     e->cat);
}

static int misp_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	size_t n = 0;
	for (size_t i = 0; i < c->set->n; i++)
		n += wants_all(c, &c->set->v[i]);
	struct misp_item *items = malloc((n ? n : 1) * sizeof(*items));
	struct misp_event *events = NULL;
	size_t n_events = 0, cap_events = 0;
	struct sh_wbuf body;
	int rc = items ? sh_wbuf_init(&body, -1) : SH_ENOMEM;
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
		k++;
	}
	rc = sort_items(items, n);
	if (rc != 0) {
		free(items);
		sh_wbuf_fini(&body);
		return rc;
	}
	struct sh_wbuf *hashes = NULL;
	/* a target has one open file at a time: each event is built in memory, and hashes.csv
	 * collected, while the event files are written */
	int64_t now_ms = c->at * 1000;
	char uuid[37];
	struct sh_wbuf ev;
	rc = sh_wbuf_init(&ev, -1);
	if (rc != 0) {
		free(items);
		sh_wbuf_fini(&body);
		return rc;
	}
	char *hash_lines = NULL;
	size_t hash_len = 0, hash_cap = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		size_t j = i;
		while (j < n && items[j].l->cat == items[i].l->cat && items[j].day == items[i].day)
			j++;
		if (n_events == cap_events) {
			cap_events = cap_events ? cap_events * 2 : 64;
			struct misp_event *ne = realloc(events, cap_events * sizeof(*ne));
			if (!ne) {
				rc = SH_ENOMEM;
				break;
			}
			events = ne;
		}
		struct misp_event *e = &events[n_events++];
		const char *catname = c->policy->cats[items[i].l->cat].name;
		char d[SH_TIME_STRLEN], key[200];
		sh_time_format(items[i].day * DAY, d);
		memcpy(e->date, d, 10);
		e->date[10] = '\0';
		e->cat = catname;
		e->n = j - i;
		int kn = snprintf(key, sizeof(key), "misp-event:%s:%s:%s", c->policy->publisher,
				  catname, e->date);
		sh_uuid5(sh_uuid_ns_sheriff, key, (size_t)kn, e->uuid);
		snprintf(e->info, sizeof(e->info), "%s %s listings first seen %s", c->policy->publisher,
			 catname, e->date);
		e->timestamp = 0;
		/* attributes into ev, each one's content hashed for its version */
		ev.len = 0;
		ev.bytes = 0;
		for (size_t x = i; x < j && rc == 0; x++) {
			const struct sh_listing *l = items[x].l;
			body.len = 0;
			sh_wb_str(&body, ",\"type\":\"");
			sh_wb_str(&body, misp_type(l));
			sh_wb_str(&body, "\",\"category\":\"Network activity\",\"to_ids\":true,"
					 "\"distribution\":\"5\",\"value\":");
			sh_wb_json_str(&body, l->value);
			sh_wb_str(&body, ",\"comment\":");
			put_description(&body, c, l);
			sh_wb_str(&body, ",\"first_seen\":\"");
			misp_time(&body, l->first_seen);
			sh_wb_str(&body, "\",\"last_seen\":\"");
			misp_time(&body, (l->last_seen / DAY) * DAY);
			sh_wb_str(&body, "\"}");
			int64_t modified = now_ms;
			if (c->history) {
				const struct sh_export_version *v;
				rc = sh_export_history_touch(c->history, l, body.buf, body.len,
							     now_ms, &v);
				if (rc != 0)
					break;
				modified = v->modified_ms;
			}
			if (modified / 1000 > e->timestamp)
				e->timestamp = modified / 1000;
			listing_uuid(l->type, l->value, uuid);
			sh_wb_str(&ev, x == i ? "{\"uuid\":\"" : ",{\"uuid\":\"");
			sh_wb_str(&ev, uuid);
			sh_wb_str(&ev, "\",\"timestamp\":\"");
			sh_wb_i64(&ev, modified / 1000);
			sh_wb_char(&ev, '"');
			sh_wb_put(&ev, body.buf, body.len);
			if (ev.err || body.err) {
				rc = SH_ENOMEM;
				break;
			}
			/* hashes.csv: md5 of the value, the event */
			uint8_t md[16];
			sh_md5(l->value, strlen(l->value), md);
			if (hash_len + 80 > hash_cap) {
				size_t cap = hash_cap ? hash_cap * 2 : 1 << 16;
				char *nh = realloc(hash_lines, cap);
				if (!nh) {
					rc = SH_ENOMEM;
					break;
				}
				hash_lines = nh;
				hash_cap = cap;
			}
			static const char hx[] = "0123456789abcdef";
			for (int b = 0; b < 16; b++) {
				hash_lines[hash_len++] = hx[md[b] >> 4];
				hash_lines[hash_len++] = hx[md[b] & 15];
			}
			hash_lines[hash_len++] = ',';
			memcpy(hash_lines + hash_len, e->uuid, 36);
			hash_len += 36;
			hash_lines[hash_len++] = '\n';
		}
		if (rc != 0)
			break;
		char name[64];
		snprintf(name, sizeof(name), "%s.json", e->uuid);
		struct sh_wbuf *w;
		rc = sh_export_open(t, name, &w);
		if (rc != 0)
			break;
		sh_wb_printf(w, "{\"Event\":{\"uuid\":\"%s\",", e->uuid);
		put_event_head(w, c, e);
		sh_wb_str(w, ",\"published\":true,\"Attribute\":[");
		sh_wb_put(w, ev.buf, ev.len);
		sh_wb_str(w, "]}}\n");
		rc = sh_export_commit(t, w);
		i = j;
	}
	if (rc == 0)
		rc = sh_export_open(t, "hashes.csv", &hashes);
	if (rc == 0) {
		sh_wb_put(hashes, hash_lines ? hash_lines : "", hash_len);
		rc = sh_export_commit(t, hashes);
	}
	if (rc == 0) {
		struct sh_wbuf *w;
		rc = sh_export_open(t, "manifest.json", &w);
		if (rc == 0) {
			sh_wb_char(w, '{');
			for (size_t i = 0; i < n_events; i++) {
				sh_wb_printf(w, "%s\"%s\":{", i ? ",\n" : "\n", events[i].uuid);
				put_event_head(w, c, &events[i]);
				sh_wb_char(w, '}');
			}
			sh_wb_str(w, "\n}\n");
			rc = sh_export_commit(t, w);
		}
	}
	if (rc == 0) {
		/* the manifest is in place: event files it no longer names go */
		struct misp_keep keep = {events, n_events};
		qsort(events, n_events, sizeof(*events), cmp_event_uuid);
		rc = sh_export_prune(t, misp_stale, &keep);
	}
	free(hash_lines);
	free(items);
	free(events);
	sh_wbuf_fini(&body);
	sh_wbuf_fini(&ev);
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
