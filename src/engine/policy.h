/* Listing policy: what gets published, in which category and DNSBL return code, for how long,
 * what the publish guard refuses, and the allowlist that always wins. Read from a documented
 * "key = value" file with [sections] (etc/sheriff-policy.conf, docs/policy.md). */
#ifndef SH_POLICY_H
#define SH_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/addr.h"
#include "lib/arena.h"
#include "lib/domain.h"
#include "lib/indicator.h"

struct sh_store;

#define SH_POLICY_NAME_MAX 32
#define SH_POLICY_MAX_CATEGORIES 60 /* Suricata's iprep category ids end at 60 */

/* Reports one problem: file name (may be NULL), 1-based line (0: the file as a whole), why. */
typedef void (*sh_policy_diag)(void *arg, const char *file, unsigned long line, const char *msg);

/* Patterns are fnmatch(3) globs matched without regard to case. */
struct sh_pattern_list {
	char **v;
	size_t n;
};

struct sh_policy_category {
	char name[SH_POLICY_NAME_MAX]; /* [a-z0-9_-], used in TXT, comments and file names */
	char description[128];
	uint32_t ip_code;     /* A record of IP listings, host order: 127.0.0.2 and up */
	uint32_t domain_code; /* A record of domain listings: 127.0.1.x */
	int64_t ttl;          /* DNS TTL of its listings, seconds */
	int64_t expiry;       /* lifetime of an online listing from the export time, seconds */
	int64_t offline_grace;/* how long it stays listed after its last sighting, seconds */
	unsigned score;       /* Suricata reputation score, 1..127 */
	bool list;            /* false: indicators in this category are not published */
	/* An indicator falls in the first category (in file order) where a sighting's threat,
	 * source name or one of its tags matches a pattern; a category without patterns
	 * matches every indicator. */
	struct sh_pattern_list threats, sources, tags;
};

/* One allowlist entry given in the policy: an IP, a CIDR or a domain. */
struct sh_policy_allow {
	enum sh_ind_type type; /* SH_IND_IP, SH_IND_CIDR or SH_IND_DOMAIN */
	struct sh_prefix prefix;
	char domain[SH_DOMAIN_MAX];
};

struct sh_policy {
	/* [listing] */
	int64_t offline_grace;  /* default per category */
	int64_t stale_after;    /* online but not seen for this long counts as offline; 0: never */
	int64_t expiry;         /* default per category */
	unsigned types;         /* bit (1 << SH_IND_*) per indicator type published */
	bool url_ip_hosts;      /* the IP host of a listed URL goes into IP lists */
	bool url_domain_hosts;  /* the host name of a listed URL goes into domain lists */
	unsigned min_sources;   /* sources that must agree before an indicator is listed */
	/* Whole routed prefixes of networks whose verdict (enum sh_verdict, lib/score.h) has its
	 * bit here are listed too, in category network_cat (which takes no indicators of its
	 * own; -1: none, and nothing is listed so), when no shorter than network_min_prefix_v4/v6
	 * and the guard's min_prefix_v4/v6. */
	unsigned network_verdicts;
	char network_category[SH_POLICY_NAME_MAX];
	int network_cat;
	unsigned network_min_prefix_v4, network_min_prefix_v6;
	/* The live infrastructure of respawn campaigns (docs/campaigns.md: addresses, /24s or
	 * /48s and registrable domains of members online or taken down within the window) is
	 * listed too when set, in infra_cat (no indicators of its own; -1: none). */
	bool infrastructure;
	int64_t infrastructure_window;
	char infrastructure_category[SH_POLICY_NAME_MAX];
	int infra_cat;
	/* [dns] */
	int64_t ttl, negative_ttl, refresh, retry, soa_expire;
	char zone[SH_DOMAIN_MAX], rpz_zone[SH_DOMAIN_MAX];
	char ns[SH_DOMAIN_MAX], hostmaster[SH_DOMAIN_MAX];
	bool rpz_ip_triggers;   /* also emit rpz-ip triggers for listed addresses */
	/* [guard] */
	double max_shrink;      /* refuse when the list lost more than this share (0..1) */
	unsigned long shrink_min_entries; /* ...and the previous list had at least this many */
	unsigned min_prefix_v4, min_prefix_v6; /* refuse prefixes shorter than these */
	/* [allow] */
	bool allow_special;     /* special-purpose address space and names */
	bool allow_resolvers;   /* the big public DNS resolvers */
	struct sh_pattern_list shared_hosting; /* "provider" or "provider except other" */
	struct sh_policy_allow *allow;
	size_t n_allow;
	struct sh_pattern_list allow_files;
	/* [publish] */
	char publisher[64];     /* producer name in STIX, MISP and file headers */
	int64_t withdrawn_keep; /* how long STIX keeps revoked indicators */
	/* [category NAME] sections, in file order */
	struct sh_policy_category cats[SH_POLICY_MAX_CATEGORIES];
	size_t n_cats;
	struct sh_arena arena;  /* pattern strings */
};

/* The built-in defaults (identical to etc/sheriff-policy.conf). */
SH_MUST_CHECK int sh_policy_new(struct sh_policy **out);
/* Applies the policy file held in buf[0..len) on top of p. Categories: the first [category]
 * section replaces the built-in set, later ones add to it. Every bad line is reported through
 * diag with its line number and skipped; when there was any, the result is SH_EINVAL (after
 * the whole file was read), and the policy must not be used to publish. */
SH_MUST_CHECK int sh_policy_parse(struct sh_policy *p, const char *buf, size_t len,
				  const char *file, sh_policy_diag diag, void *arg);
/* sh_policy_new + sh_policy_parse of a file. */
SH_MUST_CHECK int sh_policy_load(const char *path, sh_policy_diag diag, void *arg,
				 struct sh_policy **out);
void sh_policy_free(struct sh_policy *p);
/* Writes the effective policy in the file syntax, one setting per line, canonical forms. */
void sh_policy_dump(const struct sh_policy *p, FILE *f);

/* "1d2h", "90s", "0"; SH_EINVAL when malformed. */
SH_MUST_CHECK int sh_duration_parse(const char *s, size_t n, int64_t *out);
/* Canonical short form: "7d", "1h30m", "0s". */
void sh_duration_format(int64_t secs, char buf[32]);

/* ---- allowlist -------------------------------------------------------------------------- */
struct sh_allowlist;

enum sh_allow_match {
	SH_AL_NONE = 0,   /* no allowlisted space or name involved */
	SH_AL_INSIDE = 1, /* the entry lies inside allowlisted space: the allowlist wins */
	SH_AL_COVERS = 2, /* the entry would also list something allowlisted */
};

/* Builds the allowlist the policy asks for: special-purpose space and names, public resolvers,
 * the shared hosting providers' ranges from the store (s may be NULL), the policy's own
 * entries and allow files (bad lines of those reported through diag and skipped). */
SH_MUST_CHECK int sh_allowlist_build(const struct sh_policy *p, struct sh_store *s,
				     sh_policy_diag diag, void *arg, struct sh_allowlist **out);
void sh_allowlist_free(struct sh_allowlist *a);
/* How prefix p relates to allowlisted address space; *why names the allowlist entry. */
enum sh_allow_match sh_allowlist_prefix(const struct sh_allowlist *a, const struct sh_prefix *p,
					const char **why);
/* How a normalised domain relates to allowlisted names: equal to or under one (INSIDE), or a
 * parent of one (COVERS, since a listed domain lists its subdomains). */
enum sh_allow_match sh_allowlist_domain(const struct sh_allowlist *a, const char *name,
					const char **why);
/* Cuts the allowlisted space out of prefix p: calls cb with the fewest prefixes covering what
 * is left, in address order (p itself when nothing in it is allowlisted, nothing when all of
 * it is). A non-zero cb result stops and is returned. */
SH_MUST_CHECK int sh_allowlist_split(const struct sh_allowlist *a, const struct sh_prefix *p,
				     int (*cb)(const struct sh_prefix *piece, void *arg), void *arg);
/* The allowlisted domain names, sorted (RPZ publishes them as passthru rules). */
size_t sh_allowlist_domains(const struct sh_allowlist *a, const char *const **out);
/* Number of address ranges and names held. */
size_t sh_allowlist_size(const struct sh_allowlist *a);

#endif
