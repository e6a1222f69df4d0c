/* Feed formats: one descriptor per format (detect, parse), registered in one table. */
#ifndef SH_FEED_H
#define SH_FEED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/indicator.h"
#include "lib/timefmt.h"

enum sh_status { SH_STATUS_UNKNOWN = 0, SH_STATUS_ONLINE = 1, SH_STATUS_OFFLINE = 2 };

/* One indicator read from a feed. Pointers are valid during the callback only. */
struct sh_feed_item {
	const struct sh_indicator *ind; /* normalised */
	int64_t first_seen;  /* the feed's own "added"/"first seen" time, or SH_TIME_NONE */
	int64_t last_online; /* the feed's own "last online"/"last seen", or SH_TIME_NONE */
	enum sh_status status; /* the feed's own status field, UNKNOWN when it has none */
	const char *threat;  /* threat type / category ("malware_download", "phishing"), or NULL */
	const char *malware; /* malware family, or NULL */
	const char *tags;    /* comma-separated tags, or NULL */
	const char *ref;     /* the feed's own id or link for this entry, or NULL */
};

/* Where a parser sends what it reads. */
struct sh_feed_sink {
	/* A good item; a non-zero return stops the parse and is returned by parse(). */
	int (*item)(void *arg, const struct sh_feed_item *it, unsigned long line);
	/* A bad line (1-based) and why; the parse goes on. */
	void (*bad_line)(void *arg, unsigned long line, const char *why);
	/* The snapshot time found in the file's own header or metadata: called at most once,
	 * and before the first item. */
	void (*snapshot_time)(void *arg, int64_t t);
	void *arg;
	/* Optional (may be NULL): a well-formed entry that is not an IP, CIDR, domain or URL
	 * (an ASN-DROP line, a ThreatFox hash, a STIX file-hash pattern) and why; not an error. */
	void (*skipped)(void *arg, unsigned long line, const char *why);
};

struct sh_feed_format {
	const char *name;        /* the --format name */
	const char *description; /* one line for --help */
	/* true: the file is a complete list, so an indicator absent from a later snapshot of
	 * the same source went offline then; false: incremental, the items' own fields count. */
	bool full_list;
	/* Confidence 0..100 that the file starting with head[0..n) is in this format. */
	int (*detect)(const char *head, size_t n);
	/* Parses the whole file held in buf[0..len) (need not be NUL-terminated; may hold NUL
	 * bytes, invalid UTF-8, CRLF, very long lines). Returns 0 or the sink's stop value, or
	 * a negative SH_E* when the file as a whole is unusable (e.g. JSON that does not parse;
	 * the parser still reports it as a bad line first). */
	int (*parse)(const char *buf, size_t len, const struct sh_feed_sink *sink);
};

/* All formats, NULL-terminated. */
extern const struct sh_feed_format *const sh_feed_formats[];
const struct sh_feed_format *sh_feed_format_find(const char *name);
/* The format with the highest detect() score over the file's head, or NULL when none
 * scores above 0. */
const struct sh_feed_format *sh_feed_format_detect(const char *head, size_t n);

#endif
