/* Structural JSON scanner: record spans with line numbers, each record loaded by jansson. */
#include "feeds/jsonscan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void skip_blanks(struct sh_jiter *it)
{
	while (it->p < it->end) {
		char c = *it->p;
		if (c == '\n')
			it->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			break;
		it->p++;
	}
}

/* At the opening quote; leaves p after the closing one. */
static int skip_string(struct sh_jiter *it, const char **why)
{
	it->p++;
	while (it->p < it->end) {
		char c = *it->p++;
		if (c == '"')
			return 0;
		if (c == '\\') {
			if (it->p == it->end)
				break;
			c = *it->p++;
		}
		if (c == '\n')
			it->line++;
	}
	*why = "unterminated string";
	return SH_EINVAL;
}

/* Skips one value: a string, a balanced container, or a scalar token. */
static int skip_value(struct sh_jiter *it, const char **why)
{
	if (it->p == it->end) {
		*why = "unexpected end of input, value expected";
		return SH_EINVAL;
	}
	char c = *it->p;
	if (c == '"')
		return skip_string(it, why);
	if (c == '{' || c == '[') {
		size_t depth = 0;
		while (it->p < it->end) {
			c = *it->p;
			if (c == '"') {
				if (skip_string(it, why) < 0)
					return SH_EINVAL;
				continue;
			}
			it->p++;
			if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (--depth == 0)
					return 0;
			} else if (c == '\n') {
				it->line++;
			}
		}
		*why = "unexpected end of input inside an object or array";
		return SH_EINVAL;
	}
	const char *start = it->p;
	while (it->p < it->end) {
		c = *it->p;
		if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' ||
		    c == '\n' || c == ':' || c == '{' || c == '[' || c == '"')
			break;
		it->p++;
	}
	if (it->p == start) {
		*why = "value expected";
		return SH_EINVAL;
	}
	return 0;
}

int sh_jiter_init(struct sh_jiter *it, const char *s, size_t n, unsigned long line,
		  const char **why)
{
	if (!s) {
		s = "";
		n = 0;
	}
	it->p = s;
	it->end = s + n;
	it->line = line;
	it->first = true;
	it->close = '\0';
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		it->p += 3;
	skip_blanks(it);
	if (it->p == it->end) {
		*why = "no JSON object or array";
		return SH_EINVAL;
	}
	if (*it->p == '{') {
		it->close = '}';
	} else if (*it->p == '[') {
		it->close = ']';
	} else {
		*why = "expected a JSON object or array";
		return SH_EINVAL;
	}
	it->p++;
	return 0;
}

int sh_jiter_next(struct sh_jiter *it, struct sh_jspan *key, struct sh_jspan *val,
		  const char **why)
{
	skip_blanks(it);
	if (it->p == it->end) {
		*why = "unexpected end of input (truncated file?)";
		return SH_EINVAL;
	}
	if (*it->p == it->close && it->first) {
		it->p++;
		return 0;
	}
	if (!it->first) {
		if (*it->p == it->close) {
			it->p++;
			return 0;
		}
		if (*it->p != ',') {
			*why = "',' or closing bracket expected";
			return SH_EINVAL;
		}
		it->p++;
		skip_blanks(it);
	}
	it->first = false;
	if (it->close == '}') {
		if (it->p == it->end || *it->p != '"') {
			*why = "member name expected";
			return SH_EINVAL;
		}
		const char *k = it->p;
		key->line = it->line;
		if (skip_string(it, why) < 0)
			return SH_EINVAL;
		key->s = k + 1;
		key->n = (size_t)(it->p - k - 2);
		skip_blanks(it);
		if (it->p == it->end || *it->p != ':') {
			*why = "':' expected";
			return SH_EINVAL;
		}
		it->p++;
		skip_blanks(it);
	} else if (key) {
		key->s = NULL;
		key->n = 0;
		key->line = it->line;
	}
	val->s = it->p;
	val->line = it->line;
	if (it->p < it->end && *it->p == it->close) {
		*why = "value expected";
		return SH_EINVAL;
	}
	if (skip_value(it, why) < 0)
		return SH_EINVAL;
	val->n = (size_t)(it->p - val->s);
	return 1;
}

int sh_jiter_trailing(struct sh_jiter *it, const char **why)
{
	skip_blanks(it);
	if (it->p != it->end) {
		*why = "unexpected text after the JSON document";
		return SH_EINVAL;
	}
	return 0;
}

bool sh_json_blank(const char *s, size_t n)
{
	if (!s)
		return true;
	struct sh_jiter it = {s, s + n, 1, '\0', true};
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		it.p += 3;
	skip_blanks(&it);
	return it.p == it.end;
}

json_t *sh_json_load_record(struct sh_feed_run *r, const struct sh_jspan *val)
{
	json_error_t err;
	json_t *j = json_loadb(val->s, val->n, 0, &err);
	if (!j) {
		unsigned long line = val->line + (err.line > 0 ? (unsigned long)err.line - 1 : 0);
		sh_run_bad(r, line, "JSON: %s", err.text);
	}
	return j;
}

bool sh_json_text(struct sh_feed_run *r, json_t *obj, const char *key, const char **s,
		  size_t *n)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	char tmp[32];
	int k;
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		*s = json_string_value(v);
		*n = json_string_length(v);
		return true;
	case JSON_INTEGER:
		k = snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)json_integer_value(v));
		break;
	case JSON_REAL:
		k = snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		k = snprintf(tmp, sizeof(tmp), "true");
		break;
	case JSON_FALSE:
		k = snprintf(tmp, sizeof(tmp), "false");
		break;
	default:
		return false;
	}
	if (k < 0 || (size_t)k >= sizeof(tmp))
		return false;
	char *p = sh_arena_strndup(&r->arena, tmp, (size_t)k);
	if (!p)
		return false;
	*s = p;
	*n = (size_t)k;
	return true;
}

int sh_json_parse_twice(const char *buf, size_t len, const struct sh_feed_sink *sink,
			int (*walk)(struct sh_feed_run *r, const char *buf, size_t len, bool emit))
{
	if (sh_json_blank(buf, len))
		return 0;
	struct sh_feed_run r;
	sh_run_init(&r, sink);
	int rc = walk(&r, buf, len, false);
	if (rc == 0)
		rc = walk(&r, buf, len, true);
	sh_run_fini(&r);
	return rc;
}

bool sh_json_opens_with(const char *head, size_t n, char c)
{
	size_t i = 0;
	while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
		i++;
	return i < n && head[i] == c;
}
