/* Network scoring: hosting-or-eyeball tagging, the BPH score, the verdict and the reasons in
 * plain figures, as pure functions of a network's figures (docs/method.md explains the method
 * and its thresholds). */
#ifndef SH_SCORE_H
#define SH_SCORE_H
#include <stdbool.h>
#include <stddef.h>

/* Densities are given per 256 units: a /24 of IPv4 addresses, or 256 IPv6 /48s. */
#define SH_SCORE_DENSITY_UNIT 256.0

enum sh_net_kind { SH_NET_UNKNOWN = 0, SH_NET_HOSTING, SH_NET_EYEBALL };
enum sh_verdict { SH_VERDICT_CLEAN = 0, SH_VERDICT_ABUSED, SH_VERDICT_SUSPICIOUS, SH_VERDICT_BPH };

/* What the score looks at for one network. Times in hours; SH_SURV_NONE (lib/survival.h)
 * where a median was not reached or a share is undefined. */
struct sh_net_figures {
	unsigned long total;      /* indicators attributed */
	unsigned long total_v6;   /* of which on IPv6 */
	unsigned long active;     /* online now */
	unsigned long addresses;  /* distinct host addresses (IPv6 per /48) */
	unsigned long urls;       /* URL indicators among total */
	unsigned long in_hosting; /* inside published hosting ranges */
	double space_v4;          /* IPv4 addresses mapped to it (0: none or unknown) */
	double space_v6;          /* IPv6 /48s mapped to it */
	unsigned long subjects;   /* indicators with an observed start (survival subjects) */
	double takedown_median_h;
	double takedown_followup_h; /* longest time any subject was followed */
	double one_day_share;
	double recurrence_share;
	double idle_h;            /* since its last new indicator, at the end of the data */
	const char *org;          /* AS org name, "" or NULL when unknown */
};

/* The reference every network is compared with. */
struct sh_score_overall {
	double rate_v4;           /* indicators per IPv4 address over all mapped IPv4 space */
	double rate_v6;           /* indicators per IPv6 /48 over all mapped IPv6 space */
	double takedown_median_h; /* of all indicators; SH_SURV_NONE when not reached */
};

#define SH_SCORE_REASONS 6
#define SH_SCORE_REASON_LEN 200

struct sh_score {
	enum sh_net_kind kind;
	double score;          /* 0 .. 100 */
	enum sh_verdict verdict;
	/* Indicators per SH_SCORE_DENSITY_UNIT units of the space of the families they are in
	 * (IPv4 addresses, IPv6 /48s), and IPv4 indicators per /24 of IPv4 space; SH_SURV_NONE
	 * without space. */
	double density, density_v4;
	double expected;       /* indicators the space would hold at the overall rates */
	double density_ratio;  /* (total + k) / (expected + k), k = what a /16 holds */
	double takedown_ratio; /* shrunk network median takedown over the overall median */
	size_t n_reasons;
	char reasons[SH_SCORE_REASONS][SH_SCORE_REASON_LEN];
};

/* Scores one network; deterministic, never NaN. */
void sh_score_network(const struct sh_net_figures *f, const struct sh_score_overall *all,
		      struct sh_score *out);
/* Hosting, eyeball or unknown, from the hosting-range share, the shape and spread of the abuse
 * and the org name; why (a short phrase, "" for unknown) into why[0..len). */
enum sh_net_kind sh_score_kind(const struct sh_net_figures *f, const struct sh_score_overall *all,
			       char *why, size_t len);
/* True when an AS org name reads as a hosting business ("hosting", "server", "cloud", ...). */
bool sh_score_org_hosting(const char *org);
/* True when it reads as an access provider ("telecom", "broadband", "cable", "mobile", ...). */
bool sh_score_org_eyeball(const char *org);

/* "bph", "suspicious", "abused", "clean"; "hosting", "eyeball", "unknown". */
const char *sh_verdict_name(enum sh_verdict v);
const char *sh_net_kind_name(enum sh_net_kind k);
/* A duration in hours as "19 d", "1.1 d", "7.5 h", "40 min" into buf. */
const char *sh_score_duration(double hours, char *buf, size_t len);

#endif
