/* Network scoring: hosting-or-eyeball tagging, the BPH score, the verdict and the reasons in
 * plain figures, as pure functions of a network's figures (docs/method.md explains the method
 * and its thresholds). */
#ifndef SH_SCORE_H
#define SH_SCORE_H
#include <stdbool.h>
#include <stddef.h>

/* Units per /24 equivalent: densities are given per 256 IPv4 addresses or 256 IPv6 /48s. */
#define SH_SCORE_DENSITY_UNIT 256.0

enum sh_net_kind { SH_NET_UNKNOWN = 0, SH_NET_HOSTING, SH_NET_EYEBALL };
enum sh_verdict { SH_VERDICT_CLEAN = 0, SH_VERDICT_ABUSED, SH_VERDICT_SUSPICIOUS, SH_VERDICT_BPH };

/* What the score looks at for one network. Times in hours; SH_SURV_NONE (lib/survival.h)
 * where a median was not reached or a share is undefined. */
struct sh_net_figures {
	unsigned long total;      /* indicators attributed */
	unsigned long active;     /* online now */
	unsigned long addresses;  /* distinct host addresses (IPv6 per /48) */
	unsigned long urls;       /* URL indicators among total */
	unsigned long in_hosting; /* inside published hosting ranges */
	double space;             /* address units mapped to it (0: unknown) */
	unsigned long subjects;   /* indicators with an observed start (survival subjects) */
	double takedown_median_h;
	double takedown_followup_h; /* longest time any subject was followed */
	double one_day_share;
	double recurrence_share;
	const char *org;          /* AS org name, "" or NULL when unknown */
};

/* The reference every network is compared with. */
struct sh_score_overall {
	double density;           /* indicators per unit over all mapped space */
	double takedown_median_h; /* of all indicators; SH_SURV_NONE when not reached */
};

#define SH_SCORE_REASONS 6
#define SH_SCORE_REASON_LEN 160

struct sh_score {
	enum sh_net_kind kind;
	double score;          /* 0 .. 100 */
	enum sh_verdict verdict;
	double density;        /* per SH_SCORE_DENSITY_UNIT units, raw */
	double density_shrunk; /* the same shrunk towards the overall rate */
	double takedown_ratio; /* shrunk network median takedown over the overall median */
	size_t n_reasons;
	char reasons[SH_SCORE_REASONS][SH_SCORE_REASON_LEN];
};

/* Scores one network; deterministic, never NaN. */
void sh_score_network(const struct sh_net_figures *f, const struct sh_score_overall *all,
		      struct sh_score *out);
/* Hosting, eyeball or unknown, from the hosting-range share, the shape of the abuse and the
 * org name; why (a short phrase, "" for unknown) into why[0..len). */
enum sh_net_kind sh_score_kind(const struct sh_net_figures *f, char *why, size_t len);
/* True when an AS org name reads as a hosting business ("hosting", "server", "cloud", ...). */
bool sh_score_org_hosting(const char *org);

/* "bph", "suspicious", "abused", "clean"; "hosting", "eyeball", "unknown". */
const char *sh_verdict_name(enum sh_verdict v);
const char *sh_net_kind_name(enum sh_net_kind k);
/* A duration in hours as "19 d", "1.1 d", "7.5 h", "40 min" into buf. */
const char *sh_score_duration(double hours, char *buf, size_t len);

#endif
