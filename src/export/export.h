/* Export formats: one descriptor per format in one registry table, so `sheriff export
 * --format X` is a table look-up; plus what every format shares: a fast buffered writer,
 * atomic file replacement, the publish guard and the state remembered between exports. */
#ifndef SH_EXPORT_H
#define SH_EXPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "engine/listing.h"
#include "engine/policy.h"

/* ---- buffered writer -------------------------------------------------------------------- */
struct sh_wbuf {
	int fd;
	char *buf;
	size_t len, cap;
	uint64_t bytes; /* written so far, flushed or not */
	int err;        /* first write error */
	bool direct;    /* fd is in O_DIRECT mode: whole aligned blocks until the end */
	struct sh_wb_async *async; /* private: the thread writing a direct file's full buffers */
	/* the last times formatted by sh_wb_time: listings from one snapshot share their times */
	struct {
		int64_t t;
		size_t len; /* 0: unused */
		char s[24];
	} times[4];
	unsigned next_time;
};

/* fd -1 makes an in-memory buffer that grows as needed (buf[0..len) is the content). */
SH_MUST_CHECK int sh_wbuf_init(struct sh_wbuf *w, int fd);
/* For a new, empty file of our own: writes it with O_DIRECT where the file system allows,
 * bypassing the page cache (the length comes out right; flush before closing). */
SH_MUST_CHECK int sh_wbuf_init_direct(struct sh_wbuf *w, int fd);
/* Writes what is buffered; returns the first error of this writer. */
SH_MUST_CHECK int sh_wbuf_flush(struct sh_wbuf *w);
void sh_wbuf_fini(struct sh_wbuf *w);
/* Appends n bytes when the buffer has no room for them. */
void sh_wb_put_slow(struct sh_wbuf *w, const char *s, size_t n);
/* The appends are inline: exports make tens of millions of small ones. */
static inline void sh_wb_put(struct sh_wbuf *w, const char *s, size_t n)
{
	if (n <= w->cap - w->len) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
		w->bytes += n;
	} else {
		sh_wb_put_slow(w, s, n);
	}
}
static inline void sh_wb_str(struct sh_wbuf *w, const char *s)
{
	sh_wb_put(w, s, strlen(s));
}
static inline void sh_wb_char(struct sh_wbuf *w, char c)
{
	if (w->len < w->cap) {
		w->buf[w->len++] = c;
		w->bytes++;
	} else {
		sh_wb_put_slow(w, &c, 1);
	}
}
void sh_wb_u64(struct sh_wbuf *w, uint64_t v);
void sh_wb_i64(struct sh_wbuf *w, int64_t v);
__attribute__((format(printf, 2, 3))) void sh_wb_printf(struct sh_wbuf *w, const char *fmt, ...);
/* s as a JSON string, quotes included; invalid UTF-8 bytes become U+FFFD. */
void sh_wb_json_str(struct sh_wbuf *w, const char *s);
/* RFC 3339 UTC, and the same with milliseconds ("...T12:00:00.000Z"). */
void sh_wb_time(struct sh_wbuf *w, int64_t t);
void sh_wb_time_ms(struct sh_wbuf *w, int64_t ms);
/* ISO 8601 with microseconds and a numeric offset, as MISP has them ("...T12:00:00.000000+00:00"). */
void sh_wb_time_us(struct sh_wbuf *w, int64_t t);
/* A listing's times as JSON members: "first_seen":"...","last_seen":"...","expires":"..."
 * (the json and drop-json lines). */
void sh_wb_json_times(struct sh_wbuf *w, const struct sh_listing *l);
/* n bytes as lowercase hexadecimal. */
void sh_wb_hex(struct sh_wbuf *w, const uint8_t *b, size_t n);
/* 127.0.0.2 from a host-order address. */
void sh_wb_ipv4(struct sh_wbuf *w, uint32_t host_order);

/* ---- formatting in parallel -------------------------------------------------------------- */
/* What one chunk of an export formats: its text, in the output's order. */
struct sh_export_chunk {
	struct sh_wbuf text;    /* what the chunk adds to the output */
	struct sh_wbuf extra;   /* a second output (MISP: its lines of hashes.csv) */
	struct sh_wbuf state;   /* its records of the state file (sh_export_history_record) */
	struct sh_wbuf scratch; /* the formatter's own */
	int64_t stamp;          /* a figure the chunk reports (MISP: its newest version), 0 first */
};

/* Chunks 0..n-1 of an output formatted by fn in two threads while the caller takes them in
 * order (see wbuf.c). fn's non-zero result stops the run; sh_export_par_end returns it. */
struct sh_export_par;
SH_MUST_CHECK int sh_export_par_start(size_t n, int (*fn)(void *arg, size_t k,
							    struct sh_export_chunk *out),
				      void *arg, struct sh_export_par **out);
/* The same, and serial(arg, k) before chunk k is formatted: one step at a time, in chunk order
 * (chunk k's after chunk k - 1's), while chunks are formatted side by side. For the work an
 * export must do in order, such as claiming versions, overlapped with formatting. */
SH_MUST_CHECK int sh_export_par_start_serial(size_t n, int (*serial)(void *arg, size_t k),
					     int (*fn)(void *arg, size_t k,
						       struct sh_export_chunk *out),
					     void *arg, struct sh_export_par **out);
/* The next chunk, in order, once it is formatted; NULL after the last one or on failure.
 * Valid until the next call. */
struct sh_export_chunk *sh_export_par_next(struct sh_export_par *p);
/* Stops the threads (also before the last chunk) and frees p; the first failure, or 0. */
SH_MUST_CHECK int sh_export_par_end(struct sh_export_par *p);

/* ---- history kept between exports (STIX, MISP) ------------------------------------------ */
struct sh_export_version {
	uint64_t key;         /* sh_listing_key_hash */
	const char *value;
	int64_t created_ms, modified_ms;
	uint64_t content;     /* hash of the published content (sh_export_content_hash) */
	int64_t first_seen;
	int64_t revoked_ms;   /* 0 while listed */
	uint8_t type;         /* enum sh_ind_type */
	bool seen;            /* in the current export */
	bool legacy;          /* content is a version 1 state file's FNV-1a hash */
	bool fresh;           /* claimed new in this export: no earlier content to compare */
	/* digests of the key, computed once and remembered (a million SHA-1s and MD5s are a good
	 * part of a STIX or MISP export): which of them are known (SH_DIGEST_*), the listing's
	 * uuid (as the formats name it) and the MD5 of its value (MISP's hashes.csv); the flags
	 * and bytes last, so that a version takes 96 bytes, not 112 */
	uint8_t digests;
	bool saved;           /* its record is in the new state file (sh_export_history_record) */
	uint8_t uuid[16], md5[16];
};

enum { SH_DIGEST_UUID = 1, SH_DIGEST_MD5 = 2 };

struct sh_export_history;

SH_MUST_CHECK int sh_export_history_new(struct sh_export_history **out);
void sh_export_history_free(struct sh_export_history *h);
/* A 64-bit hash of published content, eight bytes a step (a million STIX objects hash in a
 * few tens of milliseconds); the same on every machine. */
uint64_t sh_export_content_hash(const void *p, size_t n);
/* The version of a listing as of now (ms), given the content about to be published
 * (content[0..n)): created and modified kept while the content is unchanged, modified bumped
 * past the previous one when it changed, a new entry when unknown. Marks it seen. The same as
 * sh_export_history_claim and sh_export_history_update. */
SH_MUST_CHECK int sh_export_history_touch(struct sh_export_history *h, const struct sh_listing *l,
					  const void *content, size_t n, int64_t now_ms,
					  const struct sh_export_version **out);
/* For exports that format in several threads: the listings' versions are claimed one at a time
 * (found, or new as of now_ms; marked seen), then each is updated with its content by whichever
 * thread formats it; updates of different versions may run at once, and beside claims when
 * sh_export_history_reserve made room for every new version the claims may add. */
SH_MUST_CHECK int sh_export_history_reserve(struct sh_export_history *h, size_t more);
SH_MUST_CHECK int sh_export_history_claim(struct sh_export_history *h, const struct sh_listing *l,
					  int64_t now_ms, size_t *index);
struct sh_export_version *sh_export_history_update(struct sh_export_history *h, size_t index,
						   const void *content, size_t n, int64_t now_ms);
/* The number of the damaged record of the state file that made a call fail with SH_EFORMAT,
 * 0 when none. */
unsigned long sh_export_history_damaged(const struct sh_export_history *h);
/* Appends version index's record of the state file to w and marks it saved: the export writes
 * the records of what it publishes as it goes, beside the output; the state file gets the
 * others (withdrawn versions) at its end. For any thread, on different versions. */
void sh_export_history_record(struct sh_export_history *h, size_t index, struct sh_wbuf *w);
/* Entries not seen in this export: marked revoked at now_ms the first time, then kept for
 * keep_ms and dropped. cb sees each one still kept (revoked_ms set). */
SH_MUST_CHECK int sh_export_history_withdrawn(struct sh_export_history *h, int64_t now_ms,
					      int64_t keep_ms,
					      int (*cb)(const struct sh_export_version *v, void *arg),
					      void *arg);

/* ---- formats -------------------------------------------------------------------------------- */
/* --kind: which list of a format (rbldnsd dataset type, zone contents, address family). */
enum sh_export_kind {
	SH_KIND_DEFAULT = 0,
	SH_KIND_IP4SET,
	SH_KIND_IP4TRIE,
	SH_KIND_IP6TRIE,
	SH_KIND_DNSET,
	SH_KIND_IP4, /* IPv4 only (drop, nft, ipset, zone) */
	SH_KIND_IP6,
	SH_KIND_DOMAIN,
};

struct sh_export_ctx {
	const struct sh_listing_set *set;
	const struct sh_policy *policy;
	const struct sh_allowlist *allow;   /* may be NULL */
	enum sh_export_kind kind;
	const char *zone;                   /* zone name (rbldnsd, zone, rpz) */
	int64_t at;                         /* the export time */
	struct sh_export_history *history;  /* NULL: nothing is remembered (stdout) */
	/* the new state file's records, which the formats with a history write (through their
	 * chunks' state) as they publish; NULL when no state is written */
	struct sh_wbuf *state;
	const char *tool;                   /* "sheriff 0.1.0" */
};

/* A file being written to replace final (replace.c): a new temporary file beside it, or
 * final's spare, the file the previous export replaced, written over. */
struct sh_replace {
	int fd;
	bool reuse;  /* fd is the spare */
	bool synced; /* cut to its length and durable */
	char final[4096], tmp[4096], spare[4096];
};
/* Opens the file to write, with the given mode: the spare (NULL: no spare is kept) where
 * nothing else can be reading it, else a new file from the mkstemp template tmpl. */
SH_MUST_CHECK int sh_replace_open(struct sh_replace *r, const char *final, const char *tmpl,
				  const char *spare, mode_t mode);
/* Cuts the file to len (a spare may have been longer) and makes it durable. */
SH_MUST_CHECK int sh_replace_sync(struct sh_replace *r, uint64_t len);
/* sh_replace_sync unless done, then puts the file at final:
 * exchanged with the file there, which becomes the spare, or renamed over it. *replaced is a
 * file that lost its last name by it, held open for the caller to close (which frees it), or
 * -1. The file is closed either way, and removed on failure (errno says why). */
SH_MUST_CHECK int sh_replace_commit(struct sh_replace *r, uint64_t len, int *replaced);
/* Closes and removes the file being written. */
void sh_replace_abort(struct sh_replace *r);

/* Where a format writes: one file, a directory of files, or stdout. */
struct sh_export_target;
/* A writer for the file name (ignored by single-file targets); commit makes it visible. One
 * file is open at a time, two in a directory. */
SH_MUST_CHECK int sh_export_open(struct sh_export_target *t, const char *name,
				 struct sh_wbuf **out);
SH_MUST_CHECK int sh_export_commit(struct sh_export_target *t, struct sh_wbuf *w);
/* For formats that keep versions: they are final now (their last change made, withdrawn ones
 * included), so the state file is completed and made durable before the output is committed,
 * whose replaced files are then freed (a good tenth of a second for hundreds of MB) without
 * holding it up; the run puts it in place after the output. Without a call, the run completes
 * it after the output. */
SH_MUST_CHECK int sh_export_versions_final(struct sh_export_target *t);
/* Directory targets: removes the files that match (cb true) from the directory, and their
 * spares, then makes the removal durable (fsync of the directory). For dropping files the new
 * index no longer names, after that index was committed. Nothing for other targets. */
SH_MUST_CHECK int sh_export_prune(struct sh_export_target *t,
				  bool (*stale)(const char *name, void *arg), void *arg);

struct sh_export_format {
	const char *name;
	const char *description;
	bool dir;     /* --out names a directory of several files */
	bool history; /* remembers versions between exports */
	/* The --kind values it accepts (SH_KIND_DEFAULT always), as a bit mask of 1 << kind. */
	unsigned kinds;
	/* Whether the listing goes into this export: the guard counts and checks these. */
	bool (*wants)(const struct sh_export_ctx *c, const struct sh_listing *l);
	int (*write)(const struct sh_export_ctx *c, struct sh_export_target *t);
};

extern const struct sh_export_format *const sh_export_formats[];
const struct sh_export_format *sh_export_format_find(const char *name);
/* "ip4trie" -> SH_KIND_IP4TRIE; SH_EINVAL when unknown. */
SH_MUST_CHECK int sh_export_kind_parse(const char *s, enum sh_export_kind *out);
const char *sh_export_kind_name(enum sh_export_kind k);

/* ---- running an export ---------------------------------------------------------------------- */
struct sh_export_result {
	unsigned long entries;   /* listings in this export (test entries excluded) */
	long long previous;      /* entries of the last publish, -1 when unknown */
	bool refused;            /* the guard refused: nothing was written */
	char why[1024];          /* why refused, or why it failed */
	char state_path[4096];
};

struct sh_export_prefetch;

struct sh_export_opts {
	const char *out;        /* file or directory; NULL: stdout */
	const char *state_dir;  /* NULL: beside the output */
	/* The output's state read ahead (sh_export_prefetch_start), or NULL: read by the run. */
	struct sh_export_prefetch *prefetch;
	bool force;             /* publish even when the guard refuses (reasons still reported) */
	/* Told about every guard problem (also when forced). */
	void (*warn)(void *arg, const char *msg);
	void *arg;
};

/* Checks the guard, writes the export atomically (temp file in the same directory, fsync,
 * rename) and updates the remembered state. Without an output (stdout) nothing is read or
 * remembered and only the content checks of the guard apply. Returns SH_ECONFLICT when the
 * guard refused (res->why says why; the previous output is untouched). */
SH_MUST_CHECK int sh_export_run(const struct sh_export_format *f, struct sh_export_ctx *c,
				const struct sh_export_opts *o, struct sh_export_result *res);

/* Starts reading the state of the output o names (the last publish, and the versions of
 * STIX and MISP, a million of which take a good fraction of a second) in a thread of its own,
 * to overlap with building the listing set; give it to sh_export_run in
 * o->prefetch, and free it last (sh_export_prefetch_free waits for the thread, and for the
 * files the run replaced to be freed, which takes a good tenth of a second for hundreds of MB
 * and so overlaps with freeing the rest). *out is NULL without --out. */
SH_MUST_CHECK int sh_export_prefetch_start(const struct sh_export_format *f,
					   const struct sh_export_opts *o,
					   struct sh_export_prefetch **out);
void sh_export_prefetch_free(struct sh_export_prefetch *p);

/* ---- shared by the formats ---------------------------------------------------------------- */
/* put's text for every listing that wants takes, in the set's order, formatted in two threads
 * (sh_export_par) and appended to w; *n (may be NULL) gets the number of listings. put may
 * only write to the writer it is given. */
SH_MUST_CHECK int sh_export_each(const struct sh_export_ctx *c, struct sh_wbuf *w,
				 bool (*wants)(const struct sh_export_ctx *c, const struct sh_listing *l),
				 void (*put)(const struct sh_export_ctx *c, const struct sh_listing *l,
					     struct sh_wbuf *w),
				 unsigned long *n);
/* The DNSBL A record of a listing (IP code for addresses, domain code for names). */
uint32_t sh_export_code(const struct sh_export_ctx *c, const struct sh_listing *l);
/* Evidence text with characters outside printable ASCII, and those in bad (may be NULL),
 * replaced by '_', cut to max bytes (at most 511). */
size_t sh_export_evidence(const struct sh_export_ctx *c, const struct sh_listing *l,
			  const char *bad, size_t max, char *buf);
/* Address lists with no overlap: merged [lo, hi] intervals, each with the latest expiry of
 * the listings covering it and the listing when exactly one does. */
struct sh_segment {
	struct sh_prefix prefix;
	int64_t expires;
	const struct sh_listing *only; /* NULL when several listings make up this prefix */
};
/* Aggregates the address listings of family af that the format wants into non-overlapping
 * prefixes (adjacent ranges with the same expiry merged), in address order. */
SH_MUST_CHECK int sh_export_aggregate(const struct sh_export_ctx *c,
				      bool (*wants)(const struct sh_export_ctx *,
						    const struct sh_listing *),
				      int af, struct sh_segment **out, size_t *n);

/* Name-based UUIDs (RFC 4122 version 5, SHA-1) and digests. */
void sh_uuid5(const uint8_t ns[16], const char *name, size_t n, char out[37]);
/* The same as its 16 bytes, and the text of such bytes. */
void sh_uuid5_raw(const uint8_t ns[16], const char *name, size_t n, uint8_t out[16]);
void sh_uuid_text(const uint8_t u[16], char out[37]);
void sh_sha1(const void *data, size_t n, uint8_t out[20]);
void sh_md5(const void *data, size_t n, uint8_t out[16]);
extern const uint8_t sh_uuid_ns_sheriff[16];

/* The registered formats, one per file family. */
extern const struct sh_export_format sh_export_csv, sh_export_json, sh_export_rbldnsd,
	sh_export_rpz, sh_export_zone, sh_export_drop, sh_export_drop_json, sh_export_nft,
	sh_export_ipset, sh_export_suricata, sh_export_zeek, sh_export_stix, sh_export_misp;

#endif
