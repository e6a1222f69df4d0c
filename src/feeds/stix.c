/* STIX 2.1 bundles: indicator objects with simple patterns, and the ipv4-addr, ipv6-addr,
 * domain-name and url observables.
 *
 * Supported patterns are OR-ed equality comparisons on the value of those four object types
 * ("[ipv4-addr:value = '1.2.3.4' OR url:value = 'http://x/']", also as OR-ed observations and
 * with ISSUBSET for prefixes); each comparison becomes one item. A comparison on another
 * object type (file hashes, e-mail addresses) is well-formed but no network indicator, so it is
 * reported as skipped; anything whose meaning an item cannot carry (AND, FOLLOWEDBY, other
 * operators, qualifiers such as WITHIN or REPEATS) makes the indicator a bad entry.
 *
 * A bundle has no time of its own; its snapshot time is the latest "modified" (else
 * "created") of its objects, and an indicator revoked or whose valid_until lies before that
 * time is reported offline. The malware an indicator points to comes from "indicates"
 * relationships to malware objects. All objects are loaded first for these two look-ups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/jsonscan.h"
#include "feeds/lines.h"

struct stix_obj {
	json_t *o;
	unsigned long line;
};

struct stix_bundle {
	struct stix_obj *objs;
	size_t n, cap;
	int64_t time;      /* SH_TIME_NONE when no object has a time */
	json_t *malware;   /* indicator id -> malware name */
};

/* ---- pattern parsing --------------------------------------------------------------------------- */
struct pat {
	const char *p, *end;
};

struct pat_value {
	struct pat_value *next;
	unsigned allow;
	char *s;
	size_t n;
};

struct pat_result {
	struct pat_value *values; /* in pattern order */
	struct pat_value **tail;
	const char *unsupported;  /* the first skipped object type, or NULL */
	size_t unsupported_n;
	const char *error;        /* why the pattern cannot be used, or NULL */
};

static void pat_ws(struct pat *p)
{
	while (p->p < p->end && (*p->p == ' ' || *p->p == '\t' || *p->p == '\n' || *p->p == '\r'))
		p->p++;
}

static bool is_word_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* A keyword followed by a non-word character. */
static bool pat_keyword(struct pat *p, const char *kw)
{
	size_t n = strlen(kw);
	if ((size_t)(p->end - p->p) < n || !sh_span_ieq(p->p, n, kw))
		return false;
	if (p->p + n < p->end && is_word_char(p->p[n]))
		return false;
	p->p += n;
	return true;
}

/* Grouping parentheses: only OR is supported, so they never change the meaning. */
static void pat_parens(struct pat *p, char paren, int *depth, int step)
{
	for (;;) {
		pat_ws(p);
		if (p->p < p->end && *p->p == paren) {
			p->p++;
			*depth += step;
		} else {
			return;
		}
	}
}

/* 'text' with \' and \\ escapes, copied unescaped into the arena. */
static bool pat_string(struct sh_feed_run *r, struct pat *p, char **out, size_t *out_n)
{
	if (p->p == p->end || *p->p != '\'')
		return false;
	const char *s = ++p->p;
	while (p->p < p->end && *p->p != '\'') {
		if (*p->p == '\\' && p->p + 1 < p->end)
			p->p++;
		p->p++;
	}
	if (p->p == p->end)
		return false;
	size_t n = (size_t)(p->p - s);
	p->p++;
	char *d = sh_arena_alloc(&r->arena, n + 1);
	if (!d)
		return false;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		d[k++] = s[i];
	}
	d[k] = '\0';
	*out = d;
	*out_n = k;
	return true;
}

/* "type:property", where the property path may hold quoted parts (hashes.'SHA-256'). */
static bool pat_path(struct pat *p, const char **type, size_t *type_n, const char **prop,
		     size_t *prop_n)
{
	const char *s = p->p;
	while (p->p < p->end && is_word_char(*p->p))
		p->p++;
	if (p->p == s || p->p == p->end || *p->p != ':')
		return false;
	*type = s;
	*type_n = (size_t)(p->p - s);
	*prop = ++p->p;
	while (p->p < p->end) {
		char c = *p->p;
		if (c == '\'') {
			const char *q = memchr(p->p + 1, '\'', (size_t)(p->end - p->p - 1));
			if (!q)
				return false;
			p->p = q + 1;
		} else if (is_word_char(c) || c == '.' || c == '[' || c == ']' || c == '*') {
			/* a ']' right after the path closes the observation */
			if (c == ']' && (p->p + 1 == p->end || p->p[1] != '.'))
				break;
			p->p++;
		} else {
			break;
		}
	}
	*prop_n = (size_t)(p->p - *prop);
	return *prop_n > 0;
}

static unsigned allow_for_type(const char *t, size_t n)
{
	if (sh_span_eq(t, n, "ipv4-addr") || sh_span_eq(t, n, "ipv6-addr"))
		return SH_ALLOW_NET;
	if (sh_span_eq(t, n, "domain-name"))
		return SH_ALLOW_DOMAIN;
	if (sh_span_eq(t, n, "url"))
		return SH_ALLOW_ANY;
	return 0;
}

/* One comparison; sets res->error when the pattern is unusable. */
static void pat_comparison(struct sh_feed_run *r, struct pat *p, struct pat_result *res)
{
	const char *type, *prop;
	size_t type_n, prop_n;
	pat_ws(p);
	if (!pat_path(p, &type, &type_n, &prop, &prop_n)) {
		res->error = "object path expected";
		return;
	}
	pat_ws(p);
	bool subset = false;
	if (p->p < p->end && *p->p == '=') {
		p->p++;
	} else if (pat_keyword(p, "ISSUBSET")) {
		subset = true;
	} else {
		res->error = "only '=' and ISSUBSET comparisons are supported";
		return;
	}
	pat_ws(p);
	char *v;
	size_t vn;
	if (!pat_string(r, p, &v, &vn)) {
		res->error = "a quoted string value expected";
		return;
	}
	unsigned allow = allow_for_type(type, type_n);
	if (allow && !sh_span_eq(prop, prop_n, "value")) {
		res->error = "only the value property is supported";
		return;
	}
	if (!allow) {
		if (!res->unsupported) {
			res->unsupported = type;
			res->unsupported_n = type_n;
		}
		return;
	}
	if (subset && allow != SH_ALLOW_NET) {
		res->error = "ISSUBSET needs an address type";
		return;
	}
	struct pat_value *pv = sh_arena_alloc(&r->arena, sizeof(*pv));
	if (!pv) {
		res->error = "out of memory";
		return;
	}
	pv->next = NULL;
	pv->allow = allow;
	pv->s = v;
	pv->n = vn;
	*res->tail = pv;
	res->tail = &pv->next;
}

static void pat_parse(struct sh_feed_run *r, const char *s, size_t n, struct pat_result *res)
{
	struct pat p = {s, s + n};
	int depth = 0;
	res->values = NULL;
	res->tail = &res->values;
	res->unsupported = NULL;
	res->error = NULL;
	for (;;) {
		pat_parens(&p, '(', &depth, 1);
		if (p.p == p.end || *p.p != '[') {
			res->error = "'[' expected";
			return;
		}
		p.p++;
		for (;;) {
			pat_parens(&p, '(', &depth, 1);
			pat_comparison(r, &p, res);
			if (res->error)
				return;
			pat_parens(&p, ')', &depth, -1);
			if (pat_keyword(&p, "OR"))
				continue;
			if (p.p < p.end && *p.p == ']') {
				p.p++;
				break;
			}
			res->error = pat_keyword(&p, "AND") ? "AND is not supported"
							    : "OR or ']' expected";
			return;
		}
		pat_parens(&p, ')', &depth, -1);
		if (p.p == p.end)
			break;
		if (!pat_keyword(&p, "OR")) {
			res->error = "AND, FOLLOWEDBY and qualifiers are not supported";
			return;
		}
	}
	if (depth != 0)
		res->error = "unbalanced parentheses";
}

/* ---- objects -------------------------------------------------------------------------------- */
static const char *obj_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool obj_type_is(json_t *o, const char *type)
{
	const char *t = obj_str(o, "type");
	return t && strcmp(t, type) == 0;
}

/* The first string of an array member, or the member itself when it is a string. */
static const char *first_string(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *joined_strings(struct sh_feed_run *r, json_t *o, const char *key,
				  size_t from)
{
	json_t *a = json_object_get(o, key), *v;
	const char *out = NULL;
	size_t i;
	if (!json_is_array(a))
		return NULL;
	json_array_foreach(a, i, v) {
		if (i >= from && json_is_string(v))
			out = sh_run_join(r, out, sh_run_text(r, json_string_value(v),
							      json_string_length(v)));
	}
	return out;
}

/* A member's string as sink text (NULL when absent). */
static const char *obj_text(struct sh_feed_run *r, const char *s)
{
	return s ? sh_run_text(r, s, strlen(s)) : NULL;
}

static int obj_time(struct sh_feed_run *r, const struct stix_obj *so, const char *key,
		    int64_t *out)
{
	const char *s = obj_str(so->o, key);
	return sh_run_time_field(r, so->line, key, s ? s : "", s ? strlen(s) : 0, out);
}

static int indicator_obj(struct sh_feed_run *r, const struct stix_bundle *b,
			 const struct stix_obj *so)
{
	json_t *o = so->o;
	const char *id = obj_str(o, "id"), *ptype = obj_str(o, "pattern_type");
	json_t *pattern = json_object_get(o, "pattern");
	const char *name = id ? obj_text(r, id) : "indicator";
	if (!name)
		name = "indicator";
	if (ptype && strcmp(ptype, "stix") != 0) {
		sh_run_skip(r, so->line, "%s: pattern_type %s is not supported", name,
			    sh_run_quote(r, ptype, strlen(ptype)));
		return 0;
	}
	if (!json_is_string(pattern)) {
		sh_run_bad(r, so->line, "%s: no pattern", name);
		return 0;
	}
	struct sh_feed_item it;
	int64_t until;
	sh_item_init(&it);
	if (obj_time(r, so, "valid_from", &it.first_seen) < 0 ||
	    obj_time(r, so, "valid_until", &until) < 0)
		return 0;
	if (json_is_true(json_object_get(o, "revoked")) ||
	    (until != SH_TIME_NONE && b->time != SH_TIME_NONE && until < b->time))
		it.status = SH_STATUS_OFFLINE;
	it.threat = obj_text(r, first_string(o, "indicator_types"));
	if (!it.threat)
		it.threat = obj_text(r, first_string(o, "labels"));
	it.tags = sh_run_join(r, joined_strings(r, o, "labels", 0),
			      joined_strings(r, o, "indicator_types", 1));
	if (id) {
		it.ref = name;
		json_t *m = json_object_get(b->malware, id);
		it.malware = json_is_string(m) ? obj_text(r, json_string_value(m)) : NULL;
	}

	struct pat_result res;
	pat_parse(r, json_string_value(pattern), json_string_length(pattern), &res);
	if (res.error) {
		sh_run_bad(r, so->line, "%s: unsupported pattern (%s): %s", name, res.error,
			   sh_run_quote(r, json_string_value(pattern), json_string_length(pattern)));
		return 0;
	}
	if (res.unsupported)
		sh_run_skip(r, so->line, "%s: %s patterns are not supported", name,
			    sh_run_quote(r, res.unsupported, res.unsupported_n));
	char what[96];
	snprintf(what, sizeof(what), "%s: pattern value", name);
	for (struct pat_value *v = res.values; v; v = v->next) {
		if (sh_run_indicator(r, so->line, what, v->s, v->n, v->allow) < 0)
			continue;
		int rc = sh_run_emit(r, &it, so->line);
		if (rc)
			return rc;
	}
	return 0;
}

static int observable_obj(struct sh_feed_run *r, const struct stix_obj *so, unsigned allow)
{
	json_t *v = json_object_get(so->o, "value");
	const char *type = obj_str(so->o, "type");
	if (!json_is_string(v)) {
		sh_run_bad(r, so->line, "%s object without a value", type);
		return 0;
	}
	if (sh_run_indicator(r, so->line, type, json_string_value(v), json_string_length(v),
			     allow) < 0)
		return 0;
	struct sh_feed_item it;
	sh_item_init(&it);
	it.ref = obj_text(r, obj_str(so->o, "id"));
	return sh_run_emit(r, &it, so->line);
}

/* ---- bundle ----------------------------------------------------------------------------------- */
static int bundle_add(struct stix_bundle *b, json_t *o, unsigned long line)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*b->objs))
			return SH_ENOMEM;
		struct stix_obj *nb = realloc(b->objs, cap * sizeof(*nb));
		if (!nb)
			return SH_ENOMEM;
		b->objs = nb;
		b->cap = cap;
	}
	b->objs[b->n].o = o;
	b->objs[b->n].line = line;
	b->n++;
	return 0;
}

/* Checks the outer structure, then loads every object of "objects". */
static int bundle_load(struct sh_feed_run *r, const char *buf, size_t len, struct stix_bundle *b)
{
	struct sh_jiter top, objs;
	struct sh_jspan key, val, objects = {NULL, 0, 0};
	const char *why;
	bool is_bundle = false;
	int more;
	if (sh_jiter_init(&top, buf, len, 1, &why) < 0 || top.close != '}') {
		sh_run_bad(r, top.line, "JSON: %s", top.close == ']' ? "expected an object" : why);
		return SH_EINVAL;
	}
	while ((more = sh_jiter_next(&top, &key, &val, &why)) > 0) {
		if (sh_span_eq(key.s, key.n, "type"))
			is_bundle = sh_span_eq(val.s, val.n, "\"bundle\"");
		else if (sh_span_eq(key.s, key.n, "objects"))
			objects = val;
	}
	if (more < 0 || sh_jiter_trailing(&top, &why) < 0) {
		sh_run_bad(r, top.line, "JSON: %s", why);
		return SH_EINVAL;
	}
	if (!is_bundle) {
		sh_run_bad(r, 1, "not a STIX bundle (\"type\": \"bundle\" missing)");
		return SH_EINVAL;
	}
	if (!objects.s)
		return 0;
	if (sh_jiter_init(&objs, objects.s, objects.n, objects.line, &why) < 0 || objs.close != ']') {
		sh_run_bad(r, objects.line, "\"objects\" is not an array");
		return SH_EINVAL;
	}
	while ((more = sh_jiter_next(&objs, NULL, &val, &why)) > 0) {
		json_t *o = sh_json_load_record(r, &val);
		if (!o)
			continue;
		if (!json_is_object(o)) {
			sh_run_bad(r, val.line, "STIX object is not a JSON object");
			json_decref(o);
			continue;
		}
		if (bundle_add(b, o, val.line) < 0) {
			json_decref(o);
			return SH_ENOMEM;
		}
	}
	if (more < 0) {
		sh_run_bad(r, objs.line, "JSON: %s", why);
		return SH_EINVAL;
	}
	return 0;
}

/* Bundle time and the indicator -> malware map. */
static int bundle_index(struct stix_bundle *b)
{
	json_t *names = json_object();
	b->malware = json_object();
	if (!names || !b->malware) {
		json_decref(names);
		return SH_ENOMEM;
	}
	for (size_t i = 0; i < b->n; i++) {
		json_t *o = b->objs[i].o;
		const char *t = obj_str(o, "modified");
		if (!t)
			t = obj_str(o, "created");
		int64_t when;
		if (t && sh_time_parse(t, strlen(t), &when) == 0 &&
		    (b->time == SH_TIME_NONE || when > b->time))
			b->time = when;
		const char *id = obj_str(o, "id"), *name = obj_str(o, "name");
		if (obj_type_is(o, "malware") && id && name)
			json_object_set_new(names, id, json_string(name));
	}
	for (size_t i = 0; i < b->n; i++) {
		json_t *o = b->objs[i].o;
		const char *rt = obj_str(o, "relationship_type"), *src = obj_str(o, "source_ref"),
			   *dst = obj_str(o, "target_ref");
		if (!obj_type_is(o, "relationship") || !rt || strcmp(rt, "indicates") != 0 || !src ||
		    !dst)
			continue;
		json_t *name = json_object_get(names, dst);
		if (name && !json_object_get(b->malware, src))
			json_object_set(b->malware, src, name);
	}
	json_decref(names);
	return 0;
}

static int stix_parse(const char *buf, size_t len, const struct sh_feed_sink *sink)
{
	if (sh_json_blank(buf, len))
		return 0;
	struct sh_feed_run r;
	struct stix_bundle b = {NULL, 0, 0, SH_TIME_NONE, NULL};
	sh_run_init(&r, sink);
	int rc = bundle_load(&r, buf, len, &b);
	if (rc == 0)
		rc = bundle_index(&b);
	if (rc == 0 && b.time != SH_TIME_NONE)
		sh_run_snapshot(&r, b.time);
	for (size_t i = 0; rc == 0 && i < b.n; i++) {
		json_t *o = b.objs[i].o;
		const char *type = obj_str(o, "type");
		unsigned allow = type ? allow_for_type(type, strlen(type)) : 0;
		sh_run_record(&r);
		if (type && strcmp(type, "indicator") == 0)
			rc = indicator_obj(&r, &b, &b.objs[i]);
		else if (allow)
			rc = observable_obj(&r, &b.objs[i], allow);
	}
	for (size_t i = 0; i < b.n; i++)
		json_decref(b.objs[i].o);
	free(b.objs);
	json_decref(b.malware);
	sh_run_fini(&r);
	return rc;
}

static int stix_detect(const char *head, size_t n)
{
	if (!sh_json_opens_with(head, n, '{'))
		return 0;
	if (sh_span_find(head, n, "\"bundle\"") &&
	    (sh_span_find(head, n, "\"objects\"") || sh_span_find(head, n, "\"spec_version\"")))
		return 95;
	return 0;
}

const struct sh_feed_format sh_feed_stix = {
	.name = "stix",
	.description = "STIX 2.1 bundle (indicator patterns and IP/domain/URL observables)",
	.full_list = false,
	.detect = stix_detect,
	.parse = stix_parse,
};
