/* The current listing set: what the policy publishes from the store, one entry per IP, CIDR,
 * domain or URL, each with its category and evidence, sorted for the exporters. */
#ifndef SH_LISTING_H
#define SH_LISTING_H
#include <stddef.h>
#include <stdint.h>

#include "engine/policy.h"
#include "store/store.h"

enum sh_listing_flag {
	SH_LF_ONLINE = 1,   /* online in some source now (else listed for its grace period) */
	SH_LF_FROM_URL = 2, /* a host that serves listed URLs, not listed itself */
	SH_LF_TEST = 4,     /* RFC 5782 test entry (127.0.0.2, ::ffff:127.0.0.2, "test") */
	SH_LF_NETWORK = 8,  /* the routed prefix (or a part of it) of a network with a listed verdict */
	SH_LF_INFRA = 16,   /* live infrastructure of a respawn campaign (policy infrastructure) */
};

struct sh_listing {
	enum sh_ind_type type;     /* SH_IND_IP (full-length prefix), CIDR, DOMAIN or URL */
	struct sh_prefix prefix;   /* IP and CIDR */
	const char *value;         /* canonical text: "1.2.3.4", "1.2.3.0/24", name or URL */
	uint16_t cat;              /* index into policy->cats */
	uint16_t flags;            /* SH_LF_* */
	uint32_t n_sources;
	const char *sources;       /* source names, sorted, comma-separated */
	const char *threat, *malware, *tags, *ref; /* the first source's that has one, or NULL */
	/* SH_LF_NETWORK: "network 45.0.0.0/22 (AS64500 Example Ltd): verdict bph, score 91,
	 * 4 indicators, 1 online"; SH_LF_INFRA: "campaign 213ae2c5: net 192.0.2.0/24 (83
	 * members, 2 online, 52 respawns)"; else NULL */
	const char *network;
	int64_t first_seen, last_seen; /* over the sources that list it */
	int64_t expires;           /* when the listing lapses unless a later export renews it */
	/* Why the publish guard must refuse a list holding this entry (over-broad, covering
	 * allowlisted space or names, a public suffix), or NULL. */
	const char *problem;
};

struct sh_listing_stats {
	unsigned long indicators;    /* read from the store (recent enough to matter) */
	unsigned long listed;        /* entries in the set, test entries excluded */
	unsigned long allowlisted;   /* withheld because the allowlist covers them */
	unsigned long expired;       /* offline for longer than their grace period */
	unsigned long unlisted;      /* category not published, or no category matched */
	unsigned long few_sources;   /* fewer sources than min_sources */
	unsigned long problems;      /* entries with a guard problem */
	unsigned long networks;      /* network prefixes listed (after allowlist cuts) */
	unsigned long networks_broad;/* networks with the verdict but too short a prefix */
	unsigned long infrastructure;/* campaign infrastructure entries listed */
};

/* Seconds spent building the set, for --timing and the benchmark. */
struct sh_listing_timing {
	double read;  /* reading the store and applying the policy and the allowlist */
	double sort;  /* sorting and merging */
};

struct sh_listing_set {
	const struct sh_policy *policy;
	int64_t at;               /* the export time */
	struct sh_listing *v;     /* IPv4 (address, then shorter prefix first), IPv6, domains, URLs */
	size_t n;
	struct sh_listing_stats stats;
	struct sh_listing_timing timing;
	void *parts;              /* private: the strings the listings point to */
};

/* Builds the set as of time at from the store: its indicators, and the routed prefixes of the
 * networks whose verdict the policy lists (when the store has an AS map). */
SH_MUST_CHECK int sh_listing_build(struct sh_store *s, const struct sh_policy *p,
				   const struct sh_allowlist *a, int64_t at,
				   struct sh_listing_set *out);
void sh_listing_set_fini(struct sh_listing_set *set);

/* One line of evidence, e.g. "malware: malware_download (Mozi) via urlhaus; first
 * 2019-08-10T00:22:24Z; last 2019-09-20T12:00:00Z; online". Returns the length it needed
 * (like snprintf); buf always NUL-terminated when n > 0. */
size_t sh_listing_evidence(const struct sh_listing_set *set, const struct sh_listing *l,
			   char *buf, size_t n);
/* The same without its times and online mark ("malware: malware_download (Mozi) via
 * urlhaus"), for formats that carry those in fields of their own. */
size_t sh_listing_reason(const struct sh_listing_set *set, const struct sh_listing *l,
			 char *buf, size_t n);

/* A 64-bit hash of the listing's key (type and value), stable across runs and machines. */
uint64_t sh_listing_key_hash(const struct sh_listing *l);

#endif
