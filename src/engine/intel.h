/* Network intelligence: lifetimes and takedown survival per indicator, aggregated per prefix,
 * ASN, AS org or country with density, one-day share, recurrence, trend and a BPH verdict.
 * Definitions in docs/method.md. */
#ifndef SH_ENGINE_INTEL_H
#define SH_ENGINE_INTEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/score.h"
#include "lib/survival.h"
#include "store/store.h"

enum sh_intel_by { SH_INTEL_ALL = 0, SH_INTEL_PREFIX, SH_INTEL_ASN, SH_INTEL_ORG, SH_INTEL_COUNTRY };

/* "prefix", "asn", "org", "country" (and "all") <-> enum; false when unknown. */
bool sh_intel_by_parse(const char *s, enum sh_intel_by *out);
const char *sh_intel_by_name(enum sh_intel_by by);

/* A survival curve's summary; times in hours, SH_SURV_NONE when not reached. */
struct sh_intel_surv {
	size_t n, events;
	double median_h, lo_h, hi_h;
};

struct sh_intel_net {
	char *key;                   /* "AS4837", "1.2.3.0/24", org name or country code */
	uint32_t asn;                /* prefix and asn: the origin ASN */
	const char *org, *country;   /* "" when unknown */
	const char *hosting;         /* the hosting provider most of its indicators are in, or NULL */
	unsigned long total, total_v6, active, addresses, urls, in_hosting;
	unsigned long subjects;      /* followed from an observed start */
	double space_v4, space_v6;   /* IPv4 addresses and IPv6 /48s mapped to it; 0 when unknown */
	struct sh_intel_surv lifetime, takedown;
	double takedown_followup_h;  /* longest follow-up among its subjects */
	unsigned long one_day, one_day_known;
	double one_day_share;        /* SH_SURV_NONE when no indicator's fate is known */
	unsigned long recurrences;
	double recurrence_share;
	int64_t first_seen, last_seen;
	unsigned long *monthly;      /* new indicators per month of the window (n_months) */
	double trend;                /* least-squares slope of monthly, over its mean (per month) */
	struct sh_score score;
};

struct sh_intel_summary {
	unsigned long indicators;    /* every indicator with a sighting */
	unsigned long addressed;     /* with an IP or prefix */
	unsigned long attributed, attributed_v6, unmapped, special;
	unsigned long active;
	unsigned long left_censored; /* already listed in their source's first snapshot */
	unsigned long subjects;
	struct sh_intel_surv lifetime, takedown; /* all indicators */
	unsigned long one_day, one_day_known;
	double one_day_share;
	/* Space mapped by the tables in force (largest over the table dates used), in IPv4
	 * addresses and IPv6 /48s, and the overall rates: attributed indicators per unit. */
	double space_v4, space_v6;
	double rate_v4, rate_v6;
	int64_t start, end;          /* first sighting and last snapshot */
	int64_t month0;              /* start of the window's first month */
	size_t n_months;
	unsigned long *monthly_new, *monthly_one_day, *monthly_one_day_known;
};

/* Seconds spent, for --timing and the benchmark. */
struct sh_intel_timing {
	double read, attribute, space, compute;
};

struct sh_intel_priv;

struct sh_intel {
	enum sh_intel_by by;
	struct sh_intel_summary all;
	struct sh_intel_net *nets; /* by score, then indicators, then key */
	size_t n_nets;
	struct sh_intel_timing timing;
	struct sh_intel_priv *priv;
};

/* Reads the store, attributes every addressed indicator to its network as of its first
 * sighting (for by != SH_INTEL_ALL) and computes everything. */
SH_MUST_CHECK int sh_intel_compute(struct sh_store *s, enum sh_intel_by by, struct sh_intel **out);
void sh_intel_free(struct sh_intel *in);

/* The network with this key ("AS4837", a prefix, an org name, a country code), or NULL. */
const struct sh_intel_net *sh_intel_find(const struct sh_intel *in, const char *key);

enum sh_intel_curve { SH_CURVE_LIFETIME, SH_CURVE_TAKEDOWN };
/* The survival subjects (times in hours, event false when censored) of network net (an index
 * into nets), or of all indicators when net is SIZE_MAX; *v is malloc'ed (NULL when *n is 0). */
SH_MUST_CHECK int sh_intel_obs(const struct sh_intel *in, size_t net, enum sh_intel_curve which,
			       struct sh_surv_obs **v, size_t *n);
/* Kaplan-Meier curve of the same; free with sh_km_fini. */
SH_MUST_CHECK int sh_intel_curve(const struct sh_intel *in, size_t net, enum sh_intel_curve which,
				 struct sh_km *out);

#endif
