/* PhishTank dumps: online-valid.csv and online-valid.json (complete lists of online phish).
 * Fields: phish_id, url, phish_detail_url, submission_time, verified, verification_time,
 * online, target. The dumps carry no snapshot time of their own. */
#include <string.h>

#include "feeds/jsonscan.h"
#include "feeds/lines.h"

struct pt_record {
	struct sh_field id, url, detail, submitted, verified, online, target;
};

static int phishtank_record(struct sh_feed_run *r, const struct pt_record *p, unsigned long no)
{
	struct sh_feed_item it;
	sh_item_init(&it);
	if (sh_run_indicator(r, no, "url", p->url.s, p->url.n, SH_ALLOW_ANY) < 0 ||
	    sh_run_time_field(r, no, "submission_time", p->submitted.s, p->submitted.n,
			      &it.first_seen) < 0)
		return 0;
	const char *s = p->online.s;
	size_t n = p->online.n;
	sh_span_trim(&s, &n);
	if (sh_span_ieq(s, n, "yes") || sh_span_ieq(s, n, "true"))
		it.status = SH_STATUS_ONLINE;
	else if (sh_span_ieq(s, n, "no") || sh_span_ieq(s, n, "false"))
		it.status = SH_STATUS_OFFLINE;
	it.threat = "phishing";
	s = p->target.s;
	n = p->target.n;
	sh_span_trim(&s, &n);
	if (!sh_span_eq(s, n, "Other"))
		it.tags = sh_run_text(r, s, n);
	s = p->verified.s;
	n = p->verified.n;
	sh_span_trim(&s, &n);
	if (sh_span_ieq(s, n, "no") || sh_span_ieq(s, n, "false"))
		it.tags = sh_run_join(r, it.tags, "unverified");
	it.ref = sh_run_text(r, p->detail.s, p->detail.n);
	if (!it.ref)
		it.ref = sh_run_text(r, p->id.s, p->id.n);
	return sh_run_emit(r, &it, no);
}

/* ---- CSV -------------------------------------------------------------------------------------- */
static int phishtank_csv_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	struct sh_feed_run r;
	struct sh_csv c;
	struct sh_lines lr;
	struct sh_line ln;
	int rc = 0;
	sh_run_init(&r, sink);
	sh_csv_init(&c);
	sh_lines_init(&lr, buf, len);
	while (rc == 0 && sh_lines_next(&lr, &ln)) {
		const char *s = ln.s;
		size_t n = ln.n;
		sh_span_trim(&s, &n);
		if (n == 0 || s[0] == '#')
			continue;
		sh_run_record(&r);
		const char *why;
		int e = sh_csv_split(&c, s, n, &why);
		if (e == SH_ENOMEM) {
			rc = e;
			break;
		}
		if (e < 0) {
			sh_run_bad(&r, ln.no, "%s", why);
			continue;
		}
		const struct sh_field *f = c.f;
		if (c.n != 8) {
			sh_run_bad(&r, ln.no, "expected 8 fields, got %zu", c.n);
			continue;
		}
		if (sh_span_eq(f[0].s, f[0].n, "phish_id"))
			continue;
		struct pt_record p = {
			.id = f[0], .url = f[1], .detail = f[2], .submitted = f[3], .verified = f[4],
			.online = f[6], .target = f[7],
		};
		rc = phishtank_record(&r, &p, ln.no);
	}
	sh_csv_fini(&c);
	sh_run_fini(&r);
	return rc;
}

static int phishtank_csv_detect(const char *head, size_t n)
{
	if (n >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0) {
		head += 3;
		n -= 3;
	}
	static const char hdr[] = "phish_id,url,phish_detail_url";
	if (n >= sizeof(hdr) - 1 && memcmp(head, hdr, sizeof(hdr) - 1) == 0)
		return 100;
	return 0;
}

const struct sh_feed_format sh_feed_phishtank_csv = {
	.name = "phishtank-csv",
	.description = "PhishTank online-valid dump (CSV)",
	.full_list = true,
	.detect = phishtank_csv_detect,
	.parse = phishtank_csv_parse,
};

/* ---- JSON: [{"phish_id": ..., "url": ..., ...}, ...] ------------------------------------------ */
static void field(struct sh_feed_run *r, json_t *o, const char *key, struct sh_field *f)
{
	if (!sh_json_text(r, o, key, &f->s, &f->n)) {
		f->s = "";
		f->n = 0;
	}
}

static int phishtank_json_walk(struct sh_feed_run *r, const char *buf, size_t len, bool emit)
{
	struct sh_jiter top;
	struct sh_jspan val;
	const char *why;
	int more;
	if (sh_jiter_init(&top, buf, len, 1, &why) < 0 || top.close != ']') {
		sh_run_bad(r, top.line, "JSON: %s", top.close == '}' ? "expected an array" : why);
		return SH_EINVAL;
	}
	while ((more = sh_jiter_next(&top, NULL, &val, &why)) > 0) {
		if (!emit)
			continue;
		sh_run_record(r);
		json_t *o = sh_json_load_record(r, &val);
		if (!o)
			continue;
		int rc = 0;
		if (!json_is_object(o)) {
			sh_run_bad(r, val.line, "record is not an object");
		} else {
			struct pt_record p;
			field(r, o, "phish_id", &p.id);
			field(r, o, "url", &p.url);
			field(r, o, "phish_detail_url", &p.detail);
			field(r, o, "submission_time", &p.submitted);
			field(r, o, "verified", &p.verified);
			field(r, o, "online", &p.online);
			field(r, o, "target", &p.target);
			rc = phishtank_record(r, &p, val.line);
		}
		json_decref(o);
		if (rc)
			return rc;
	}
	if (more < 0 || sh_jiter_trailing(&top, &why) < 0) {
		sh_run_bad(r, top.line, "JSON: %s", why);
		return SH_EINVAL;
	}
	return 0;
}

static int phishtank_json_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	return sh_json_parse_twice(buf, len, sink, phishtank_json_walk);
}

static int phishtank_json_detect(const char *head, size_t n)
{
	if (!sh_json_opens_with(head, n, '['))
		return 0;
	if (sh_span_find(head, n, "\"phish_detail_url\"") || sh_span_find(head, n, "\"phish_id\""))
		return 100;
	return 0;
}

const struct sh_feed_format sh_feed_phishtank_json = {
	.name = "phishtank-json",
	.description = "PhishTank online-valid dump (JSON)",
	.full_list = true,
	.detect = phishtank_json_detect,
	.parse = phishtank_json_parse,
};
