/* Spamhaus DROP lists: the NDJSON files (DROP, DROPv6, ASN-DROP) and the legacy text files.
 *
 * Both are complete lists. The NDJSON's last line, {"type":"metadata","timestamp":EPOCH,
 * "records":N,...}, gives the snapshot time and the record count; a count that does not match
 * the file reveals a truncated download, which matters for a full list (everything missing
 * would look delisted), so it is reported as a bad line. ASN-DROP entries name an AS, not an
 * address, and are reported as skipped. */
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "feeds/lines.h"

static const char *const last_modified[] = {"Last-Modified"};

/* "AS123" */
static bool is_asn(const char *s, size_t n)
{
	if (n < 3 || (s[0] != 'A' && s[0] != 'a') || (s[1] != 'S' && s[1] != 's'))
		return false;
	for (size_t i = 2; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static const char *rir_tag(struct sh_feed_run *r, json_t *o)
{
	json_t *rir = json_object_get(o, "rir");
	if (!json_is_string(rir))
		return NULL;
	const char *t = sh_run_text(r, json_string_value(rir), json_string_length(rir));
	if (!t)
		return NULL;
	size_t n = strlen(t);
	char *out = sh_arena_alloc(&r->arena, n + 5);
	if (!out)
		return NULL;
	memcpy(out, "rir=", 4);
	memcpy(out + 4, t, n + 1);
	return out;
}

/* ---- NDJSON -------------------------------------------------------------------------------- */
struct drop_meta {
	unsigned long line; /* 0 when the file has no metadata line */
	json_int_t records; /* -1 when absent */
};

static bool is_metadata(json_t *o)
{
	json_t *type = json_object_get(o, "type");
	return json_is_string(type) && strcmp(json_string_value(type), "metadata") == 0;
}

/* Reads the metadata from the last non-blank line, before any item is reported, so the
 * snapshot time reaches the sink first. */
static void drop_json_metadata(struct sh_feed_run *r, const char *buf, size_t len,
			       struct drop_meta *m)
{
	m->line = 0;
	m->records = -1;
	size_t e = len;
	while (e > 0 && (buf[e - 1] == '\n' || buf[e - 1] == '\r' || buf[e - 1] == ' ' ||
			 buf[e - 1] == '\t'))
		e--;
	if (e == 0)
		return;
	const char *nl = memrchr(buf, '\n', e);
	size_t start = nl ? (size_t)(nl - buf) + 1 : 0;
	json_t *o = json_loadb(buf + start, e - start, 0, NULL);
	if (!json_is_object(o) || !is_metadata(o)) {
		json_decref(o);
		return;
	}
	unsigned long line = 1;
	for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + start - p))); p++)
		line++;
	m->line = line;
	json_t *ts = json_object_get(o, "timestamp");
	json_int_t t = json_is_integer(ts) ? json_integer_value(ts) : -1;
	if (t >= 0 && t <= INT64_C(253402300799))
		sh_run_snapshot(r, (int64_t)t);
	else
		sh_run_bad(r, line, "metadata without a usable timestamp");
	json_t *rec = json_object_get(o, "records");
	if (json_is_integer(rec))
		m->records = json_integer_value(rec);
	json_decref(o);
}

static int drop_json_line(struct sh_feed_run *r, const struct sh_line *ln, unsigned long *entries)
{
	json_error_t err;
	json_t *o = json_loadb(ln->s, ln->n, 0, &err);
	if (!o) {
		(*entries)++;
		sh_run_bad(r, ln->no, "JSON: %s", err.text);
		return 0;
	}
	int rc = 0;
	json_t *cidr = json_object_get(o, "cidr"), *asn = json_object_get(o, "asn");
	if (!json_is_object(o)) {
		(*entries)++;
		sh_run_bad(r, ln->no, "not a JSON object");
	} else if (is_metadata(o)) {
		/* read up front */
	} else if (json_is_string(cidr)) {
		(*entries)++;
		if (sh_run_indicator(r, ln->no, "cidr", json_string_value(cidr),
				     json_string_length(cidr), SH_ALLOW_NET) == 0) {
			struct sh_feed_item it;
			sh_item_init(&it);
			json_t *sbl = json_object_get(o, "sblid");
			if (json_is_string(sbl))
				it.ref = sh_run_text(r, json_string_value(sbl), json_string_length(sbl));
			it.tags = rir_tag(r, o);
			rc = sh_run_emit(r, &it, ln->no);
		}
	} else if (json_is_integer(asn)) {
		(*entries)++;
		sh_run_skip(r, ln->no, "ASN entries are not supported as indicators (AS%" PRId64 ")",
			    (int64_t)json_integer_value(asn));
	} else {
		(*entries)++;
		sh_run_bad(r, ln->no, "neither \"cidr\" nor \"asn\"");
	}
	json_decref(o);
	return rc;
}

static int drop_json_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	struct sh_feed_run r;
	struct drop_meta meta;
	struct sh_lines lr;
	struct sh_line ln;
	unsigned long entries = 0;
	int rc = 0;
	sh_run_init(&r, sink);
	drop_json_metadata(&r, buf, len, &meta);
	sh_lines_init(&lr, buf, len);
	while (rc == 0 && sh_lines_next(&lr, &ln)) {
		sh_span_trim(&ln.s, &ln.n);
		if (ln.n == 0)
			continue;
		sh_run_record(&r);
		rc = drop_json_line(&r, &ln, &entries);
	}
	if (rc == 0 && meta.line && meta.records >= 0 && (json_int_t)entries != meta.records)
		sh_run_bad(&r, meta.line, "metadata says %" PRId64 " records, the file has %lu",
			   (int64_t)meta.records, entries);
	sh_run_fini(&r);
	return rc;
}

static int drop_json_detect(const char *head, size_t n)
{
	size_t i = 0;
	while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
		i++;
	if (i == n || head[i] != '{')
		return 0;
	const char *nl = memchr(head + i, '\n', n - i);
	size_t ln = nl ? (size_t)(nl - head) - i : n - i;
	const char *first = head + i;
	if (sh_span_find(first, ln, "\"cidr\"") && sh_span_find(first, ln, "\"sblid\""))
		return 100;
	if (sh_span_find(first, ln, "\"asn\"") && sh_span_find(first, ln, "\"rir\""))
		return 100;
	if (sh_span_find(first, ln, "\"type\":\"metadata\"") &&
	    sh_span_find(first, ln, "spamhaus"))
		return 80;
	return 0;
}

const struct sh_feed_format sh_feed_drop_json = {
	.name = "drop-json",
	.description = "Spamhaus DROP / DROPv6 / ASN-DROP (NDJSON with metadata line)",
	.full_list = true,
	.detect = drop_json_detect,
	.parse = drop_json_parse,
};

/* ---- legacy text: "1.10.16.0/20 ; SBL256894" -------------------------------------------- */
static int drop_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	struct sh_feed_run r;
	struct sh_lines lr;
	struct sh_line ln;
	int rc = 0;
	sh_run_init(&r, sink);
	sh_run_scan_header(&r, buf, len, ";#", last_modified, 1);
	sh_lines_init(&lr, buf, len);
	while (rc == 0 && sh_lines_next(&lr, &ln)) {
		const char *s = ln.s;
		size_t n = ln.n;
		sh_span_trim(&s, &n);
		if (n == 0 || s[0] == ';' || s[0] == '#')
			continue;
		sh_run_record(&r);
		const char *semi = memchr(s, ';', n);
		size_t vn = semi ? (size_t)(semi - s) : n;
		const char *note = semi ? semi + 1 : s + n;
		size_t note_n = (size_t)(s + n - note);
		sh_span_trim(&s, &vn);
		const char *blank = memchr(s, ' ', vn);
		if (!blank)
			blank = memchr(s, '\t', vn);
		if (blank) {
			sh_run_bad(&r, ln.no, "expected \"prefix ; SBL id\": %s", sh_run_quote(&r, s, vn));
			continue;
		}
		if (is_asn(s, vn)) {
			sh_run_skip(&r, ln.no, "ASN entries are not supported as indicators (%s)",
				    sh_run_quote(&r, s, vn));
			continue;
		}
		if (sh_run_indicator(&r, ln.no, "entry", s, vn, SH_ALLOW_NET) < 0)
			continue;
		struct sh_feed_item it;
		sh_item_init(&it);
		it.ref = sh_run_text(&r, note, note_n);
		rc = sh_run_emit(&r, &it, ln.no);
	}
	sh_run_fini(&r);
	return rc;
}

static int drop_detect(const char *head, size_t n)
{
	if (sh_span_find(head, n, " ; SBL"))
		return 100;
	if (n >= 10 && memcmp(head, "; Spamhaus", 10) == 0)
		return 90;
	return 0;
}

const struct sh_feed_format sh_feed_drop = {
	.name = "drop",
	.description = "Spamhaus DROP / EDROP / ASN-DROP legacy text (\"1.10.16.0/20 ; SBL256894\")",
	.full_list = true,
	.detect = drop_detect,
	.parse = drop_parse,
};
