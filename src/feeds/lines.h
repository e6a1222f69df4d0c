/* Shared reader for the feed parsers: lines, CSV fields, "key: value" header lines, clean
 * text for the sink, and the per-parse context that reports items, bad lines and the
 * snapshot time. Internal to src/feeds. */
#ifndef SH_FEEDS_LINES_H
#define SH_FEEDS_LINES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/feed.h"
#include "lib/arena.h"

/* ---- lines -------------------------------------------------------------------------------
 * A line ends at '\n' (a final line without one counts too); one trailing '\r' is dropped.
 * A UTF-8 byte order mark at the start of the buffer is skipped. */
struct sh_lines {
	const char *p, *end;
	unsigned long no;
};

struct sh_line {
	const char *s;
	size_t n;
	unsigned long no; /* 1-based */
};

void sh_lines_init(struct sh_lines *r, const char *buf, size_t len);
bool sh_lines_next(struct sh_lines *r, struct sh_line *out);

/* Drops ASCII blanks (space, tab, CR, LF, VT, FF) at both ends. */
void sh_span_trim(const char **s, size_t *n);
/* s[0..n) equals the NUL-terminated lit (case-sensitive / ASCII case-insensitive). */
bool sh_span_eq(const char *s, size_t n, const char *lit);
bool sh_span_ieq(const char *s, size_t n, const char *lit);
/* The first occurrence of the NUL-terminated lit inside s[0..n), or NULL. */
const char *sh_span_find(const char *s, size_t n, const char *lit);

/* "# Last updated: value #" style header: after leading comment characters ('#', '!', ';')
 * and blanks, an ASCII case-insensitive key, optional blanks and ':'. On a match v/vn is the
 * value with blanks and trailing '#' banner characters removed. */
bool sh_header_value(const char *s, size_t n, const char *key, const char **v, size_t *vn);

/* ---- CSV ---------------------------------------------------------------------------------
 * RFC 4180 fields on one line: separated by ',', optionally double-quoted with "" for a quote.
 * Blanks before a field and after a closing quote are skipped (ThreatFox writes '", "').
 * Fields point into the line, or into scratch when a "" had to be unescaped. */
#define SH_CSV_MAX_FIELDS 24

struct sh_field {
	const char *s;
	size_t n;
};

struct sh_csv {
	struct sh_field f[SH_CSV_MAX_FIELDS];
	size_t n; /* fields on the line; only the first SH_CSV_MAX_FIELDS are stored */
	char *scratch;
	size_t cap;
};

void sh_csv_init(struct sh_csv *c);
void sh_csv_fini(struct sh_csv *c);
/* 0, SH_EINVAL with *why set (unterminated quote, text after a closing quote), or
 * SH_ENOMEM. */
SH_MUST_CHECK int sh_csv_split(struct sh_csv *c, const char *s, size_t n, const char **why);

/* ---- UTF-8 ------------------------------------------------------------------------------ */
/* Length of the well-formed UTF-8 sequence at s[0..n) (no overlongs, surrogates or values
 * above U+10FFFF), or 0. */
size_t sh_utf8_seq(const unsigned char *s, size_t n);
bool sh_utf8_valid(const char *s, size_t n);

/* ---- per-parse context --------------------------------------------------------------------- */
/* Which indicator types a field may hold. */
enum {
	SH_ALLOW_IP = 1 << SH_IND_IP,
	SH_ALLOW_CIDR = 1 << SH_IND_CIDR,
	SH_ALLOW_DOMAIN = 1 << SH_IND_DOMAIN,
	SH_ALLOW_URL = 1 << SH_IND_URL,
	SH_ALLOW_NET = SH_ALLOW_IP | SH_ALLOW_CIDR,
	SH_ALLOW_ANY = SH_ALLOW_NET | SH_ALLOW_DOMAIN | SH_ALLOW_URL,
};

struct sh_feed_run {
	const struct sh_feed_sink *sink;
	struct sh_arena arena; /* the current record's strings */
	bool snapshot_done;
	struct sh_indicator ind;
	char why[320];
	char quote[80];
};

void sh_run_init(struct sh_feed_run *r, const struct sh_feed_sink *sink);
void sh_run_fini(struct sh_feed_run *r);
/* Reports a bad line (reason formatted printf-style). */
void sh_run_bad(struct sh_feed_run *r, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports a well-formed entry that cannot be represented as an indicator. */
void sh_run_skip(struct sh_feed_run *r, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The snapshot time; only the first call reaches the sink. */
void sh_run_snapshot(struct sh_feed_run *r, int64_t t);
/* Parses a header's time value; reports the line as bad when it does not parse. */
void sh_run_header_time(struct sh_feed_run *r, unsigned long line, const char *v, size_t n);
/* Looks through the comment block at the top of buf (blank lines and lines starting with one
 * of the characters in marks) for "key: time" headers and reports the time of the first key
 * in keys[] (priority order) that is present; a bad line when that time does not parse. */
void sh_run_scan_header(struct sh_feed_run *r, const char *buf, size_t len, const char *marks,
			const char *const keys[], size_t nkeys);
/* Normalises s[0..n) into r->ind. On failure (NUL bytes, invalid UTF-8, not an indicator, or
 * a type outside allow) the line is reported as bad, naming `what`, and a negative code
 * returned. */
int sh_run_indicator(struct sh_feed_run *r, unsigned long line, const char *what,
		     const char *s, size_t n, unsigned allow);
/* The same for text the caller has checked: non-empty printable ASCII without blanks. */
int sh_run_indicator_clean(struct sh_feed_run *r, unsigned long line, const char *what,
			   const char *s, size_t n, unsigned allow);
/* Parses an optional time field: empty and "None" give SH_TIME_NONE; otherwise the line is
 * reported as bad, naming `what`, when it does not parse. */
int sh_run_time_field(struct sh_feed_run *r, unsigned long line, const char *what,
		      const char *s, size_t n, int64_t *out);
/* A NUL-terminated copy for the sink: trimmed, well-formed UTF-8 (invalid bytes and control
 * characters become '?'); NULL when empty, "None" or "null", or out of memory. */
const char *sh_run_text(struct sh_feed_run *r, const char *s, size_t n);
/* Joins up to two texts with ',' (either may be NULL). */
const char *sh_run_join(struct sh_feed_run *r, const char *a, const char *b);
/* Hands r->ind with the item's other fields to the sink; returns the sink's stop value. */
int sh_run_emit(struct sh_feed_run *r, struct sh_feed_item *it, unsigned long line);
/* Starts the next record: frees the strings of the previous one. */
void sh_run_record(struct sh_feed_run *r);
/* A short printable quote of s[0..n) for reasons (non-printable bytes as '?'), held in
 * r->quote until the next call. */
const char *sh_run_quote(struct sh_feed_run *r, const char *s, size_t n);
/* An item with every optional field empty. */
void sh_item_init(struct sh_feed_item *it);

/* ---- format descriptors ------------------------------------------------------------------ */
extern const struct sh_feed_format sh_feed_urlhaus, sh_feed_feodo, sh_feed_threatfox_csv,
	sh_feed_threatfox_json, sh_feed_drop_json, sh_feed_drop, sh_feed_firehol, sh_feed_ipsum,
	sh_feed_plain, sh_feed_phishtank_csv, sh_feed_phishtank_json, sh_feed_stix;

#endif
