/* Structural JSON scanner for the JSON feed formats, plus helpers to read jansson records.
 *
 * Feed files are one large container of records. Rather than have jansson build the whole
 * document, the scanner walks the outer containers without building anything, tracking
 * strings, escapes, bracket depth and line numbers, and hands each record's text to jansson
 * alone. So every record gets its real line number, a malformed record is reported and the
 * rest kept, and memory stays bounded by the largest record. The scanner is not a validator:
 * jansson checks each record; the scanner only reports what breaks the outer structure
 * (a truncated file, garbage between records), after which nothing further can be trusted. */
#ifndef SH_FEEDS_JSONSCAN_H
#define SH_FEEDS_JSONSCAN_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "feeds/lines.h"

struct sh_jspan {
	const char *s;
	size_t n;
	unsigned long line; /* where the span starts, 1-based */
};

struct sh_jiter {
	const char *p, *end;
	unsigned long line; /* at p */
	char close;         /* '}' or ']' */
	bool first;
};

/* Positions the iterator inside the object or array that starts (after blanks) at s, whose
 * first byte is on line `line`. SH_EINVAL (and *why) when s holds no object or array. */
SH_MUST_CHECK int sh_jiter_init(struct sh_jiter *it, const char *s, size_t n, unsigned long line,
				const char **why);
/* The next member: 1 with key (objects only: the raw text between the quotes) and value,
 * 0 after the closing bracket, SH_EINVAL with *why and it->line at the error. */
SH_MUST_CHECK int sh_jiter_next(struct sh_jiter *it, struct sh_jspan *key, struct sh_jspan *val,
				const char **why);
/* After the outermost container closed: SH_EINVAL when more than blanks follow. */
SH_MUST_CHECK int sh_jiter_trailing(struct sh_jiter *it, const char **why);

/* True when s[0..n) holds nothing but blanks (and a byte order mark): an empty file, which
 * the JSON formats accept as an empty snapshot. */
bool sh_json_blank(const char *s, size_t n);

/* Parses a JSON feed by calling walk twice: the structure first (emit false), so that a
 * truncated file is refused before any item of it is reported (a partial full list would look
 * like mass delisting), then with emit true to deliver the items. A blank file is an empty
 * snapshot. */
int sh_json_parse_twice(const char *buf, size_t len, const struct sh_feed_sink *sink,
			int (*walk)(struct sh_feed_run *r, const char *buf, size_t len, bool emit));

/* True when the first byte after blanks in head[0..n) is c: the cheap part of detect(). */
bool sh_json_opens_with(const char *head, size_t n, char c);

/* Loads one record with jansson; on a syntax error reports the record's line plus the error's
 * offset inside it as bad and returns NULL. */
json_t *sh_json_load_record(struct sh_feed_run *r, const struct sh_jspan *val);

/* The text of member key: a string as is, an integer or real in decimal (in the run's
 * arena), true/false as words; false for null, a missing member or a container. */
bool sh_json_text(struct sh_feed_run *r, json_t *obj, const char *key, const char **s,
		  size_t *n);

#endif
