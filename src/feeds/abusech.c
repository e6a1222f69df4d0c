/* abuse.ch feeds: URLhaus CSV dump, Feodo Tracker C2 CSV, ThreatFox CSV and JSON exports.
 *
 * All four are incremental: each row carries its own first-seen time, and where it has one,
 * its own status and last-online time. The CSV dumps open with a '#' banner whose
 * "Last updated:" line is the snapshot time. ThreatFox lists hashes too; those are reported
 * as skipped, since only IPs, CIDRs, domains and URLs are indicators here. */
#include <stdio.h>
#include <string.h>

#include "feeds/jsonscan.h"
#include "feeds/lines.h"

static const char *const last_updated[] = {"Last updated"};

static enum sh_status status_of(const char *s, size_t n)
{
	sh_span_trim(&s, &n);
	if (sh_span_ieq(s, n, "online"))
		return SH_STATUS_ONLINE;
	if (sh_span_ieq(s, n, "offline"))
		return SH_STATUS_OFFLINE;
	return SH_STATUS_UNKNOWN;
}

/* A TCP/UDP port 1..65535 in decimal. */
static bool parse_port(const char *s, size_t n, unsigned *port)
{
	sh_span_trim(&s, &n);
	if (n == 0 || n > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = v;
	return true;
}

/* "name=value" as a tag. */
static const char *tag_kv(struct sh_feed_run *r, const char *name, unsigned long v)
{
	char tmp[48];
	int k = snprintf(tmp, sizeof(tmp), "%s=%lu", name, v);
	return k > 0 ? sh_run_text(r, tmp, (size_t)k) : NULL;
}

static bool is_comment_or_blank(const char *s, size_t n)
{
	sh_span_trim(&s, &n);
	return n == 0 || s[0] == '#';
}

/* ---- URLhaus ------------------------------------------------------------------------------
 * "id","dateadded","url","url_status","last_online","threat","tags","urlhaus_link","reporter"
 * (dumps before 2021 have no last_online: 8 columns). */
static int urlhaus_row(struct sh_feed_run *r, const struct sh_csv *c, unsigned long no)
{
	const struct sh_field *f = c->f;
	bool has_last = c->n == 9;
	if (c->n != 8 && c->n != 9) {
		sh_run_bad(r, no, "expected 9 fields, got %zu", c->n);
		return 0;
	}
	if (sh_span_eq(f[0].s, f[0].n, "id"))
		return 0; /* an uncommented header */
	struct sh_feed_item it;
	sh_item_init(&it);
	if (sh_run_indicator(r, no, "url", f[2].s, f[2].n, SH_ALLOW_ANY) < 0 ||
	    sh_run_time_field(r, no, "dateadded", f[1].s, f[1].n, &it.first_seen) < 0)
		return 0;
	if (has_last && sh_run_time_field(r, no, "last_online", f[4].s, f[4].n,
					  &it.last_online) < 0)
		return 0;
	size_t k = has_last ? 5 : 4;
	it.status = status_of(f[3].s, f[3].n);
	it.threat = sh_run_text(r, f[k].s, f[k].n);
	it.tags = sh_run_text(r, f[k + 1].s, f[k + 1].n);
	it.ref = sh_run_text(r, f[k + 2].s, f[k + 2].n);
	return sh_run_emit(r, &it, no);
}

/* The loop shared by the abuse.ch CSV formats: '#' comments anywhere, one row per line. */
static int csv_rows(const char *buf, size_t len, const struct sh_feed_sink *sink,
		    int (*row)(struct sh_feed_run *, const struct sh_csv *, unsigned long))
{
	struct sh_feed_run r;
	struct sh_csv c;
	struct sh_lines lr;
	struct sh_line ln;
	int rc = 0;
	sh_run_init(&r, sink);
	sh_csv_init(&c);
	sh_run_scan_header(&r, buf, len, "#", last_updated, 1);
	sh_lines_init(&lr, buf, len);
	while (rc == 0 && sh_lines_next(&lr, &ln)) {
		if (is_comment_or_blank(ln.s, ln.n))
			continue;
		sh_run_record(&r);
		const char *why;
		int e = sh_csv_split(&c, ln.s, ln.n, &why);
		if (e == SH_ENOMEM) {
			rc = e;
			break;
		}
		if (e < 0) {
			sh_run_bad(&r, ln.no, "%s", why);
			continue;
		}
		rc = row(&r, &c, ln.no);
	}
	sh_csv_fini(&c);
	sh_run_fini(&r);
	return rc;
}

static int urlhaus_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	return csv_rows(buf, len, sink, urlhaus_row);
}

static int urlhaus_detect(const char *head, size_t n)
{
	if (sh_span_find(head, n, "id,dateadded,url,url_status"))
		return 100;
	if (sh_span_find(head, n, "URLhaus Database Dump"))
		return 90;
	return 0;
}

const struct sh_feed_format sh_feed_urlhaus = {
	.name = "urlhaus",
	.description = "abuse.ch URLhaus CSV dump (csv_online, csv_recent, full)",
	.full_list = false,
	.detect = urlhaus_detect,
	.parse = urlhaus_parse,
};

/* ---- Feodo Tracker --------------------------------------------------------------------------
 * "first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"; the older list
 * had Firstseen,DstIP,DstPort,LastOnline,Malware (no status). */
static int feodo_row(struct sh_feed_run *r, const struct sh_csv *c, unsigned long no)
{
	const struct sh_field *f = c->f;
	if (c->n != 6 && c->n != 5) {
		sh_run_bad(r, no, "expected 6 fields, got %zu", c->n);
		return 0;
	}
	if (sh_span_ieq(f[0].s, f[0].n, "first_seen_utc") || sh_span_ieq(f[0].s, f[0].n, "Firstseen"))
		return 0;
	bool has_status = c->n == 6;
	struct sh_feed_item it;
	unsigned port;
	sh_item_init(&it);
	if (sh_run_indicator(r, no, "dst_ip", f[1].s, f[1].n, SH_ALLOW_IP) < 0 ||
	    sh_run_time_field(r, no, "first_seen", f[0].s, f[0].n, &it.first_seen) < 0)
		return 0;
	const struct sh_field *last = &f[has_status ? 4 : 3], *mal = &f[has_status ? 5 : 4];
	if (sh_run_time_field(r, no, "last_online", last->s, last->n, &it.last_online) < 0)
		return 0;
	if (!parse_port(f[2].s, f[2].n, &port)) {
		sh_run_bad(r, no, "bad dst_port %s", sh_run_quote(r, f[2].s, f[2].n));
		return 0;
	}
	if (has_status)
		it.status = status_of(f[3].s, f[3].n);
	it.threat = "botnet_cc";
	it.malware = sh_run_text(r, mal->s, mal->n);
	it.tags = tag_kv(r, "port", port);
	return sh_run_emit(r, &it, no);
}

static int feodo_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	return csv_rows(buf, len, sink, feodo_row);
}

static int feodo_detect(const char *head, size_t n)
{
	if (sh_span_find(head, n, "\"first_seen_utc\",\"dst_ip\"") ||
	    sh_span_find(head, n, "Firstseen,DstIP,DstPort"))
		return 100;
	if (sh_span_find(head, n, "Feodo Tracker Botnet C2 IP Blocklist (CSV)"))
		return 90;
	return 0;
}

const struct sh_feed_format sh_feed_feodo = {
	.name = "feodo",
	.description = "abuse.ch Feodo Tracker botnet C2 IP blocklist (CSV)",
	.full_list = false,
	.detect = feodo_detect,
	.parse = feodo_parse,
};

/* ---- ThreatFox, one record in either format -------------------------------------------- */
struct tf_record {
	struct sh_field id, value, type, threat, malware, malware_id, first, last, confidence,
		tags;
};

static int threatfox_record(struct sh_feed_run *r, const struct tf_record *t, unsigned long no)
{
	const char *v = t->value.s, *ty = t->type.s;
	size_t vn = t->value.n, tyn = t->type.n;
	unsigned port = 0;
	unsigned allow;
	sh_span_trim(&v, &vn);
	sh_span_trim(&ty, &tyn);
	if (sh_span_eq(ty, tyn, "ip:port")) {
		const char *colon = vn ? memrchr(v, ':', vn) : NULL;
		/* "a.b.c.d:port" or "[v6]:port"; a bare IPv6 has colons but no port */
		if (colon && (v[0] == '[' || !memchr(v, ':', (size_t)(colon - v)))) {
			if (!parse_port(colon + 1, (size_t)(v + vn - colon - 1), &port)) {
				sh_run_bad(r, no, "bad port in ioc_value %s", sh_run_quote(r, v, vn));
				return 0;
			}
			vn = (size_t)(colon - v);
			if (vn >= 2 && v[0] == '[' && v[vn - 1] == ']') {
				v++;
				vn -= 2;
			}
		}
		allow = SH_ALLOW_IP;
	} else if (sh_span_eq(ty, tyn, "domain")) {
		allow = SH_ALLOW_DOMAIN | SH_ALLOW_IP;
	} else if (sh_span_eq(ty, tyn, "url")) {
		allow = SH_ALLOW_ANY;
	} else if (tyn > 5 && memcmp(ty + tyn - 5, "_hash", 5) == 0) {
		sh_run_skip(r, no, "%s indicators are not supported", sh_run_quote(r, ty, tyn));
		return 0;
	} else {
		sh_run_skip(r, no, "ioc_type %s is not supported", sh_run_quote(r, ty, tyn));
		return 0;
	}
	struct sh_feed_item it;
	sh_item_init(&it);
	if (sh_run_indicator(r, no, "ioc_value", v, vn, allow) < 0 ||
	    sh_run_time_field(r, no, "first_seen_utc", t->first.s, t->first.n, &it.first_seen) < 0 ||
	    sh_run_time_field(r, no, "last_seen_utc", t->last.s, t->last.n, &it.last_online) < 0)
		return 0;
	it.threat = sh_run_text(r, t->threat.s, t->threat.n);
	it.malware = sh_run_text(r, t->malware.s, t->malware.n);
	if (!it.malware)
		it.malware = sh_run_text(r, t->malware_id.s, t->malware_id.n);
	it.ref = sh_run_text(r, t->id.s, t->id.n);
	it.tags = sh_run_text(r, t->tags.s, t->tags.n);
	if (port)
		it.tags = sh_run_join(r, it.tags, tag_kv(r, "port", port));
	unsigned conf;
	if (parse_port(t->confidence.s, t->confidence.n, &conf) && conf <= 100)
		it.tags = sh_run_join(r, it.tags, tag_kv(r, "confidence", conf));
	return sh_run_emit(r, &it, no);
}

/* ---- ThreatFox CSV ----------------------------------------------------------------------------
 * "first_seen_utc", "ioc_id", "ioc_value", "ioc_type", "threat_type", "fk_malware",
 * "malware_alias", "malware_printable", "last_seen_utc", "confidence_level", "is_compromised",
 * "reference", "tags", "anonymous", "reporter" (15; older exports lack is_compromised). */
static int threatfox_csv_row(struct sh_feed_run *r, const struct sh_csv *c, unsigned long no)
{
	const struct sh_field *f = c->f;
	if (c->n != 15 && c->n != 14) {
		sh_run_bad(r, no, "expected 15 fields, got %zu", c->n);
		return 0;
	}
	if (sh_span_eq(f[0].s, f[0].n, "first_seen_utc"))
		return 0;
	size_t tags = c->n == 15 ? 12 : 11;
	struct tf_record t = {
		.id = f[1], .value = f[2], .type = f[3], .threat = f[4], .malware_id = f[5],
		.malware = f[7], .first = f[0], .last = f[8], .confidence = f[9], .tags = f[tags],
	};
	return threatfox_record(r, &t, no);
}

static int threatfox_csv_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	return csv_rows(buf, len, sink, threatfox_csv_row);
}

static int threatfox_csv_detect(const char *head, size_t n)
{
	if (sh_span_find(head, n, "\"ioc_id\",\"ioc_value\",\"ioc_type\""))
		return 100;
	if (sh_span_find(head, n, "ThreatFox IOCs") && sh_span_find(head, n, "CSV"))
		return 90;
	return 0;
}

const struct sh_feed_format sh_feed_threatfox_csv = {
	.name = "threatfox-csv",
	.description = "abuse.ch ThreatFox IOC export (CSV)",
	.full_list = false,
	.detect = threatfox_csv_detect,
	.parse = threatfox_csv_parse,
};

/* ---- ThreatFox JSON ---------------------------------------------------------------------------
 * {"<ioc id>": [{"ioc_value": ..., "ioc_type": ..., ...}], ...} */
static void json_field(struct sh_feed_run *r, json_t *o, const char *key, struct sh_field *f)
{
	if (!sh_json_text(r, o, key, &f->s, &f->n)) {
		f->s = "";
		f->n = 0;
	}
}

/* tags: a comma-separated string, or an array of strings. */
static void json_tags(struct sh_feed_run *r, json_t *o, struct sh_field *f)
{
	json_t *a = json_object_get(o, "tags");
	f->s = "";
	f->n = 0;
	if (!json_is_array(a)) {
		json_field(r, o, "tags", f);
		return;
	}
	const char *joined = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (json_is_string(v))
			joined = sh_run_join(r, joined,
					     sh_run_text(r, json_string_value(v), json_string_length(v)));
	}
	if (joined) {
		f->s = joined;
		f->n = strlen(joined);
	}
}

static int threatfox_json_entry(struct sh_feed_run *r, const struct sh_jspan *id,
				const struct sh_jspan *val, const char **why)
{
	struct sh_jiter recs;
	struct sh_jspan rec;
	int rc, more;
	if (sh_jiter_init(&recs, val->s, val->n, val->line, why) < 0 || recs.close != ']') {
		sh_run_bad(r, val->line, "IOC %s: expected an array of records",
			   sh_run_quote(r, id->s, id->n));
		return 0;
	}
	while ((more = sh_jiter_next(&recs, NULL, &rec, why)) > 0) {
		sh_run_record(r);
		json_t *o = sh_json_load_record(r, &rec);
		if (!o)
			continue;
		if (!json_is_object(o)) {
			sh_run_bad(r, rec.line, "IOC %s: record is not an object",
				   sh_run_quote(r, id->s, id->n));
			json_decref(o);
			continue;
		}
		struct tf_record t = {.id = {id->s, id->n}};
		json_field(r, o, "ioc_value", &t.value);
		json_field(r, o, "ioc_type", &t.type);
		json_field(r, o, "threat_type", &t.threat);
		json_field(r, o, "malware_printable", &t.malware);
		json_field(r, o, "malware", &t.malware_id);
		json_field(r, o, "first_seen_utc", &t.first);
		json_field(r, o, "last_seen_utc", &t.last);
		json_field(r, o, "confidence_level", &t.confidence);
		json_tags(r, o, &t.tags);
		rc = threatfox_record(r, &t, rec.line);
		json_decref(o);
		if (rc)
			return rc;
	}
	if (more < 0)
		sh_run_bad(r, recs.line, "JSON: %s", *why);
	return 0;
}

/* Walks the outer object twice: first only its structure, so a truncated or broken file is
 * refused before anything is reported as an item; then record by record. */
static int threatfox_json_walk(struct sh_feed_run *r, const char *buf, size_t len, bool emit)
{
	struct sh_jiter top;
	struct sh_jspan key, val;
	const char *why;
	int more;
	if (sh_jiter_init(&top, buf, len, 1, &why) < 0 || top.close != '}') {
		sh_run_bad(r, top.line, "JSON: %s", top.close == ']' ? "expected an object" : why);
		return SH_EINVAL;
	}
	while ((more = sh_jiter_next(&top, &key, &val, &why)) > 0) {
		if (!emit)
			continue;
		int rc = threatfox_json_entry(r, &key, &val, &why);
		if (rc)
			return rc;
	}
	if (more < 0 || sh_jiter_trailing(&top, &why) < 0) {
		sh_run_bad(r, top.line, "JSON: %s", why);
		return SH_EINVAL;
	}
	return 0;
}

static int threatfox_json_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	return sh_json_parse_twice(buf, len, sink, threatfox_json_walk);
}

static int threatfox_json_detect(const char *head, size_t n)
{
	if (!sh_json_opens_with(head, n, '{'))
		return 0;
	if (sh_span_find(head, n, "\"ioc_value\"") && sh_span_find(head, n, "\"ioc_type\""))
		return 95;
	return 0;
}

const struct sh_feed_format sh_feed_threatfox_json = {
	.name = "threatfox-json",
	.description = "abuse.ch ThreatFox IOC export (JSON)",
	.full_list = false,
	.detect = threatfox_json_detect,
	.parse = threatfox_json_parse,
};
