/* DNSBL zone data: rbldnsd data files (ip4set, ip4trie, ip6trie, dnset) loaded into an
 * immutable generation that the answer path reads without locks or allocation.
 *
 * Design: every IP dataset is compiled into a sorted interval map (start address -> value),
 * the longest-prefix (ip4trie, ip6trie) or most-specific-octet (ip4set) rule and the '!'
 * exclusions being resolved at load time, so a lookup is one binary search narrowed by a
 * 65536-entry index on the top 16 bits. A value is either one A+TXT record (an offset into a
 * deduplicated pool) or, when ip4set lists several values for one range, a list of them.
 * dnset keeps a hash table of relative names (wire form, lowercase) with the plain and the
 * wildcard value of each name and a flag for names that only have listed descendants
 * (empty non-terminals, RFC 8020). A generation holds zones; zones point at datasets, which
 * are reference-counted so a reload can keep the datasets whose files did not change. */
#ifndef SH_DNS_DATA_H
#define SH_DNS_DATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"

enum sh_dns_dstype { SH_DNS_IP4SET, SH_DNS_IP4TRIE, SH_DNS_IP6TRIE, SH_DNS_DNSET };

/* Options shared by all datasets (rbldnsd's -t and -e). */
struct sh_dns_opts {
	uint32_t def_ttl; /* default TTL, rbldnsd's 35m */
	uint32_t min_ttl; /* 0: no constraint */
	uint32_t max_ttl; /* 0: no constraint */
	bool accept_in_cidr; /* -e: allow 10.1.2.3/24 (host bits cleared) */
};
void sh_dns_opts_init(struct sh_dns_opts *o);

/* One ZONE:TYPE:FILE[,FILE...] argument. */
struct sh_dns_zonespec {
	char *zone;  /* presentation form */
	int type;    /* enum sh_dns_dstype */
	char *files; /* comma-separated list as given */
};

/* A bad line or a failed file, reported while loading. line is 0 for file-level errors. */
typedef void (*sh_dns_warn_fn)(void *ud, const char *file, unsigned line, const char *msg);

/* The value pool: records [A 4 bytes][TXT template length][template], at offsets >= 1. A
 * dataset value is 0 (not listed), an offset (< SH_DNS_VLIST) or SH_DNS_VLIST | index of
 * a list [count, offset...] in vlists. */
#define SH_DNS_VLIST 0x80000000u
#define SH_DNS_NSUBST 11 /* $0..$9 and $= (index 10) */

__extension__ typedef unsigned __int128 sh_u128;

struct sh_dns_soa {
	bool present;
	uint32_t ttl;
	uint8_t mname[256], rname[256]; /* wire form, lowercase */
	uint32_t serial;                 /* 0: newest file modification time */
	uint32_t refresh, retry, expire, minimum;
};

struct sh_dns_dnode {
	unsigned name : 31; /* offset in names: [length][relative wire name without root] */
	unsigned below : 1; /* a listed name lies below (so the name exists) */
	uint32_t plain;     /* value for the name itself, SH_DNS_EXCL or 0 */
	uint32_t wild;      /* value for names below it, SH_DNS_EXCL or 0 */
};
#define SH_DNS_EXCL 0xffffffffu

struct sh_dns_dataset {
	int type;
	char *files;  /* comma-separated, as given */
	size_t nfiles;
	struct sh_dns_filestamp {
		int64_t mtime;
		int64_t size;
	} *stamps;
	int64_t stamp; /* newest mtime */
	int refs;      /* generations holding it (changed only by the loader thread) */

	uint32_t ttl;
	char *subst[SH_DNS_NSUBST];
	struct sh_dns_soa soa;
	uint32_t ns_ttl;
	size_t nns;
	uint8_t (*ns)[256];

	uint8_t *vals; /* value pool */
	size_t vals_len;
	uint32_t *vlists;
	size_t vlists_len;
	size_t entries; /* lines that listed or excluded something */

	/* ip4set, ip4trie: interval i starts at (bucket << 16 | v4lo[i]), its bucket being the
	 * h with v4first[h] <= i < v4first[h + 1] */
	uint16_t *v4lo;
	uint32_t *v4val;
	size_t n4;
	uint32_t *v4first; /* 65537 entries: first interval starting at or after (h << 16) */
	/* ip6trie */
	sh_u128 *v6start;
	uint32_t *v6val;
	size_t n6;
	uint32_t *v6idx;
	/* dnset */
	struct sh_dns_dnode *dnodes;
	size_t ndnodes;
	uint32_t *dtab; /* open addressing: top 8 hash bits << 24 | (node index + 1), 0 empty */
	size_t dtab_mask;
	uint8_t *names;
	size_t names_len;
	unsigned pmin, pmax, wmin, wmax; /* labels of plain and of wildcard names */
};

struct sh_dns_xfr;

struct sh_dns_zone {
	uint8_t name[256]; /* wire form, lowercase */
	size_t name_len;   /* including the root byte */
	unsigned labels;
	struct sh_dns_dataset **ds;
	size_t nds;
	bool ip4, ip6;        /* has IPv4 / IPv6 datasets */
	struct sh_dns_soa soa; /* from the first dataset with $SOA, else synthesized */
	uint32_t serial;
	const struct sh_dns_dataset *ns_ds; /* first dataset with $NS, or NULL */
	struct sh_dns_xfr *xfr; /* transfer data (dns/xfr.h), when transfers are enabled */
};

struct sh_dns_gen {
	struct sh_dns_zone *zones;
	size_t nzones;
	struct sh_dns_dataset **all; /* distinct datasets */
	size_t nall;
	uint64_t id; /* increases with every generation */
};

/* Parses a dataset type name ("ip4set", ...); -1 when unknown. */
int sh_dns_dstype_parse(const char *name);
const char *sh_dns_dstype_name(int type);

/* Parses ZONE:TYPE:FILES. */
SH_MUST_CHECK int sh_dns_zonespec_parse(const char *arg, struct sh_dns_zonespec *out);
void sh_dns_zonespec_fini(struct sh_dns_zonespec *z);

/* Loads one dataset from its files (gzip or plain). Bad lines are reported through warn and
 * skipped; a file that cannot be read fails the load (SH_EIO). */
SH_MUST_CHECK int sh_dns_dataset_load(int type, const char *files, const struct sh_dns_opts *o,
				      sh_dns_warn_fn warn, void *ud,
				      struct sh_dns_dataset **out);
/* The same over one in-memory buffer (tests, fuzzing); name is used in warnings. */
SH_MUST_CHECK int sh_dns_dataset_parse(int type, const char *name, const char *buf, size_t len,
				       const struct sh_dns_opts *o, sh_dns_warn_fn warn,
				       void *ud, struct sh_dns_dataset **out);
void sh_dns_dataset_free(struct sh_dns_dataset *ds);
/* True when a file of the dataset changed (mtime or size) or vanished since it was loaded. */
bool sh_dns_dataset_stale(const struct sh_dns_dataset *ds);

/* Builds a generation for the zone specs. With prev, datasets whose files did not change are
 * shared; a dataset that fails to load keeps prev's copy (reported through warn), and with
 * no copy to keep the load fails. *changed tells whether anything differs from prev. */
SH_MUST_CHECK int sh_dns_gen_load(const struct sh_dns_zonespec *zs, size_t nzs,
				  const struct sh_dns_opts *o, const struct sh_dns_gen *prev,
				  sh_dns_warn_fn warn, void *ud, struct sh_dns_gen **out,
				  bool *changed);
/* Builds a generation over already loaded datasets (one per zone spec; takes references). */
SH_MUST_CHECK int sh_dns_gen_build(const struct sh_dns_zonespec *zs, size_t nzs,
				   struct sh_dns_dataset **ds, struct sh_dns_gen **out);
void sh_dns_gen_free(struct sh_dns_gen *g);

/* Lookups used by the answer path; all are allocation-free. They return the value (0 when
 * not listed) and set *exists when the name exists (listed, or with listed names below). */
uint32_t sh_dns_ds_lookup4(const struct sh_dns_dataset *ds, uint32_t addr);
uint32_t sh_dns_ds_lookup6(const struct sh_dns_dataset *ds, sh_u128 addr);
/* True when some listed address lies in [lo, hi]. */
bool sh_dns_ds_any4(const struct sh_dns_dataset *ds, uint32_t lo, uint32_t hi);
bool sh_dns_ds_any6(const struct sh_dns_dataset *ds, sh_u128 lo, sh_u128 hi);
/* rel: relative wire name (no root byte), rlen bytes, labs labels. *base receives the
 * matching entry's name ([length][wire]) for '$' substitution. */
uint32_t sh_dns_ds_lookupd(const struct sh_dns_dataset *ds, const uint8_t *rel, size_t rlen,
			   unsigned labs, bool *exists, const uint8_t **base);

/* The dnset node of relative name w (n bytes), or -1. */
int64_t sh_dns_ds_node(const struct sh_dns_dataset *ds, const uint8_t *w, size_t n);

/* The i-th interval of an IPv4 or IPv6 dataset: [*start, *end] and its value (0: unlisted). */
uint32_t sh_dns_ds_interval4(const struct sh_dns_dataset *ds, size_t i, uint32_t *start, uint32_t *end);
uint32_t sh_dns_ds_interval6(const struct sh_dns_dataset *ds, size_t i, sh_u128 *start, sh_u128 *end);

/* Formats an address as rbldnsd does for '$' (IPv6: compressed, lowercase). */
size_t sh_dns_fmt_ip4(uint32_t a, char *buf);
size_t sh_dns_fmt_ip6(sh_u128 a, char *buf);

#endif
