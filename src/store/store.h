/* The SQLite store: indicators, sightings per source, online runs, snapshots, network tables
 * and hosting ranges. The only module that talks to SQLite. */
#ifndef SH_STORE_H
#define SH_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/feed.h"
#include "lib/arena.h"
#include "lib/netmap.h"

struct sh_store;

/* Opens or creates the database (WAL mode, busy timeout) and applies pending numbered
 * migrations. SH_ESTORE with *out set to NULL on failure; sh_store_errmsg(NULL) then tells
 * why (per thread). A handle is for one thread at a time: a server opens one per thread. */
SH_MUST_CHECK int sh_store_open(const char *path, struct sh_store **out);
void sh_store_close(struct sh_store *s);
/* Text of the last SQLite error on this handle ("" when none); with NULL, of the last failed
 * sh_store_open in this thread. */
const char *sh_store_errmsg(const struct sh_store *s);
/* Schema version after migrations. */
int sh_store_schema_version(const struct sh_store *s);

/* ---- ingest ----------------------------------------------------------------------------
 * One ingest is one source (e.g. "urlhaus-filter") and one transaction: snapshots are
 * collected in any order, then commit applies them in time order together with what the
 * store already holds for that source, so a crash before commit leaves the old state and
 * a re-run completes it. Semantics per snapshot of a full-list source: an indicator present
 * opens a run (or keeps its run open) and gets last_seen = snapshot time; an indicator with
 * an open run that is absent closes its run at this snapshot's time. For an incremental
 * source the items' own fields count: first_seen (else the snapshot time) opens the run,
 * status OFFLINE closes it at last_online (else the snapshot time), last_seen is the latest
 * of last_online and (for online items) the snapshot time. A snapshot older than the source's
 * newest stored one makes commit recompute that source's runs from all its snapshots. */
struct sh_ingest;

struct sh_ingest_stats {
	unsigned long snapshots;       /* applied */
	unsigned long skipped;         /* already in the store (same source, time and content) */
	unsigned long items;           /* item rows applied */
	unsigned long new_indicators;  /* indicators the store did not know */
	unsigned long runs_opened, runs_closed;
};

SH_MUST_CHECK int sh_ingest_begin(struct sh_store *s, const char *source, const char *format,
				  bool full_list, struct sh_ingest **out);
/* Starts a snapshot taken at time t. content_hash identifies the file's bytes.
 * SH_EEXIST: this source already has this snapshot (same t and hash): skip its items.
 * SH_ECONFLICT: same source and t but other content: refused, skip it. */
SH_MUST_CHECK int sh_ingest_snapshot_begin(struct sh_ingest *in, int64_t t,
					   uint64_t content_hash, const char *file_name);
SH_MUST_CHECK int sh_ingest_add(struct sh_ingest *in, const struct sh_feed_item *it);
SH_MUST_CHECK int sh_ingest_snapshot_end(struct sh_ingest *in, unsigned long n_bad_lines);
/* Writes everything in one transaction and frees in (also on error, which rolls back). */
SH_MUST_CHECK int sh_ingest_commit(struct sh_ingest *in, struct sh_ingest_stats *st);
void sh_ingest_abort(struct sh_ingest *in);

/* ---- indicators --------------------------------------------------------------------------- */
struct sh_run {
	int64_t start, end; /* end == SH_TIME_NONE while open */
};

struct sh_sighting {
	const char *source;
	int64_t first_seen, last_seen;
	bool online;         /* an open run */
	const char *threat, *malware, *tags, *ref; /* latest the source gave, NULL if none */
	size_t n_runs;
	struct sh_run *runs; /* ascending */
};

struct sh_ind_record {
	enum sh_ind_type type;
	const char *value;
	int64_t first_seen, last_seen; /* over all sources */
	bool online;                   /* online in any source */
	size_t n_sightings;
	struct sh_sighting *sightings;
};

/* The record of one canonical indicator value, allocated in arena. SH_ENOENT if unknown. */
SH_MUST_CHECK int sh_store_indicator_get(struct sh_store *s, const char *value,
					 struct sh_arena *arena, struct sh_ind_record *out);
/* Canonical values of stored CIDR indicators that contain ip (most specific first), of
 * stored parent domains of a domain name, or of URLs on a host; for "why is this listed". */
typedef int (*sh_value_cb)(const char *value, void *arg);
SH_MUST_CHECK int sh_store_cidrs_containing(struct sh_store *s, const struct sh_ip *ip,
					    sh_value_cb cb, void *arg);
SH_MUST_CHECK int sh_store_parent_domains(struct sh_store *s, const char *domain,
					  sh_value_cb cb, void *arg);
SH_MUST_CHECK int sh_store_urls_on_host(struct sh_store *s, const char *host, unsigned limit,
					sh_value_cb cb, void *arg);

/* Every indicator with a host IP or a prefix (IP, CIDR, URLs on an IP), for attribution
 * to networks. Fields of ind valid during the call. */
struct sh_ind_brief {
	enum sh_ind_type type;
	const char *value;
	struct sh_prefix prefix; /* the IP (full length) or CIDR */
	int64_t first_seen, last_seen;
	bool online;
};
SH_MUST_CHECK int sh_store_foreach_addressed(struct sh_store *s,
					     int (*cb)(const struct sh_ind_brief *ind, void *arg),
					     void *arg);

/* ---- network tables ------------------------------------------------------------------------ */
struct sh_asmap_table {
	int64_t id;
	int64_t as_of;       /* the date the table describes */
	int fields;          /* SH_ASMAP_HAS_* (netmap/asmap.h) */
	const char *format;  /* "ipldb", "pfx2as", ... */
	const char *file;    /* base name it came from */
	unsigned long rows;
};

struct sh_asmap_import;
/* A new table; on commit it replaces a stored table with the same format, fields, as_of and
 * file base name (so re-importing a file changes nothing). */
SH_MUST_CHECK int sh_asmap_import_begin(struct sh_store *s, const char *format, const char *file,
					int64_t as_of, struct sh_asmap_import **out);
SH_MUST_CHECK int sh_asmap_import_add(struct sh_asmap_import *im, const struct sh_netrow *row);
/* fields: what the file provided. Frees im. */
SH_MUST_CHECK int sh_asmap_import_commit(struct sh_asmap_import *im, int fields,
					 unsigned long *rows);
void sh_asmap_import_abort(struct sh_asmap_import *im);

/* All tables, oldest as_of first, allocated in arena. */
SH_MUST_CHECK int sh_store_asmap_tables(struct sh_store *s, struct sh_arena *arena,
					struct sh_asmap_table **out, size_t *n);
/* Rows of one table, in storage order. */
SH_MUST_CHECK int sh_store_asmap_rows(struct sh_store *s, int64_t table_id,
				      int (*cb)(const struct sh_netrow *row, void *arg), void *arg);

/* ---- hosting ranges ------------------------------------------------------------------------ */
/* Replaces all ranges of provider with prefixes[0..n) in one transaction. */
SH_MUST_CHECK int sh_store_hosting_replace(struct sh_store *s, const char *provider,
					   const struct sh_prefix *prefixes, size_t n);
SH_MUST_CHECK int sh_store_hosting_foreach(struct sh_store *s,
					   int (*cb)(const char *provider, const struct sh_prefix *p,
						     void *arg),
					   void *arg);

/* ---- bulk read for network intelligence (src/store/intel.c) ---------------------------------
 * Everything survival analysis needs in one ordered pass, without a query per indicator. */
struct sh_intel_source {
	const char *name;
	bool full_list;             /* absence from a snapshot means offline */
	size_t n_snapshots;
	const int64_t *snapshot_t;  /* ascending snapshot times */
};

struct sh_intel_sighting {
	size_t source; /* index into the sources array of sh_store_foreach_indicator_runs */
	int64_t first_seen, last_seen;
	bool online;
	size_t n_runs;
	const struct sh_run *runs; /* ascending by start */
};

struct sh_intel_ind {
	int64_t id;
	enum sh_ind_type type;
	const char *value;
	bool has_addr;           /* IPs, CIDRs and URLs on an IP */
	struct sh_prefix prefix; /* the address (full length) or CIDR when has_addr */
	int64_t first_seen, last_seen; /* over all sources; SH_TIME_NONE without sightings */
	bool online;
	size_t n_sightings;
	const struct sh_intel_sighting *sightings; /* ascending by source index */
};

/* Reads the sources (into arena; *sources and *n_sources are set before the first call of
 * cb, so cb may use them through arg), then calls cb for every indicator in id order with its
 * sightings and runs; the record and everything it points to are valid during the call only.
 * One read transaction covers both, so a concurrent ingest is either wholly seen or not. A
 * non-zero cb result stops the walk and is returned. */
SH_MUST_CHECK int sh_store_foreach_indicator_runs(struct sh_store *s, struct sh_arena *arena,
						  struct sh_intel_source **sources,
						  size_t *n_sources,
						  int (*cb)(const struct sh_intel_ind *ind,
							    void *arg),
						  void *arg);

/* ---- evidence for respawn linking (src/store/campaign.c) ------------------------------- */
/* Calls cb for every sighting that names a malware family or tags (NULL when absent), in
 * indicator id order; a non-zero cb result stops the walk and is returned. */
SH_MUST_CHECK int sh_store_foreach_evidence(struct sh_store *s,
					    int (*cb)(int64_t indicator_id, const char *malware,
						      const char *tags, void *arg),
					    void *arg);

/* ---- bulk read for publishing (src/store/listing.c) --------------------------------------- */
#include <stdatomic.h>

/* What one source says about an indicator. */
struct sh_listing_src {
	const char *source;
	int64_t first_seen, last_seen;
	bool online;                               /* an open run */
	const char *threat, *malware, *tags, *ref; /* NULL when none */
};

struct sh_listing_ind {
	enum sh_ind_type type;
	const char *value;       /* canonical */
	const char *host;        /* domains and URLs: the host (IPv6 without brackets), else NULL */
	bool has_prefix;
	struct sh_prefix prefix; /* IPs, CIDRs and URLs on an IP */
	size_t n_sources;
	const struct sh_listing_src *sources; /* by source id */
};

/* Calls cb for every indicator in the id ranges [bounds[r], bounds[r + 1]), r < n_ranges, in id
 * order, with its sightings that are online or were last seen at or after since
 * (SH_TIME_NONE: all); indicators left without sightings are skipped. The ranges are walked in
 * order, or, with next, each r taken as atomic_fetch_add(next, 1): threads with a handle each
 * share one walk that way. One read transaction; everything cb sees is valid during the call
 * only; a non-zero cb result stops the walk and is returned. */
SH_MUST_CHECK int sh_store_foreach_listing(struct sh_store *s, int64_t since,
					   const int64_t *bounds, size_t n_ranges,
					   atomic_size_t *next,
					   int (*cb)(const struct sh_listing_ind *ind, void *arg),
					   void *arg);
/* The indicator ids in use: lo <= id < hi for all (lo == hi when there are none). */
SH_MUST_CHECK int sh_store_listing_ids(struct sh_store *s, int64_t *lo, int64_t *hi);
/* A second, read-only handle on s's database, for walking part of it in another thread
 * (close it with sh_store_close). SH_EUNSUP for a database without a file (in memory). */
SH_MUST_CHECK int sh_store_open_reader(struct sh_store *s, struct sh_store **out);

/* ---- resolutions of tracked names (src/store/resolution.c) ------------------------------ */
/* What a name resolved to (A, AAAA: an address) or the name servers of a registrable domain
 * (NS: a host name), with when that was first and last seen. */
struct sh_resolution {
	const char *name;
	int rtype;            /* 1 A, 28 AAAA, 2 NS */
	const char *value;
	int64_t first_seen, last_seen;
};
/* Records n resolutions seen at their first_seen..last_seen (existing rows widen their
 * range), in one transaction. */
SH_MUST_CHECK int sh_store_resolutions_put(struct sh_store *s, const struct sh_resolution *r,
					  size_t n);
/* Calls cb for each distinct host name to resolve as of at: the names of domain indicators and
 * the host names of URL indicators (not IP hosts) that are online at at, or, with all, every
 * one ever seen; in name order. A non-zero cb result stops the walk and is returned. */
SH_MUST_CHECK int sh_store_foreach_name_to_resolve(struct sh_store *s, int64_t at, bool all,
						    int (*cb)(const char *name, void *arg),
						    void *arg);
/* Calls cb for every stored resolution in (name, rtype, value) order; a non-zero cb result
 * stops the walk and is returned. */
SH_MUST_CHECK int sh_store_foreach_resolution(struct sh_store *s,
					      int (*cb)(const struct sh_resolution *r, void *arg),
					      void *arg);

#endif
