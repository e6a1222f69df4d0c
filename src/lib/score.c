/* Network scoring: hosting-or-eyeball tagging, BPH score, verdict and reasons.
 *
 * The score adds points for what marks a bulletproof host (docs/method.md gives the method
 * and its sources):
 *   longevity  up to 45: 15 per doubling of the median takedown time over the overall median,
 *              after shrinking the network's log median towards the overall one with the weight
 *              n / (n + 2) (takedown times are roughly lognormal, so the log scale is where
 *              averages make sense; two indicators count as much as the prior);
 *   density    up to 20: 4 per doubling of the density ratio beyond 4. The ratio compares the
 *              indicators with what the network's space would hold at the overall rates (IPv4
 *              per address, IPv6 per /48), shrunk Gamma-Poisson style: (x + k) / (e + k) with k
 *              what a /16 holds at the overall rate, so one indicator on a /29 says little and
 *              64 on a /22 a lot;
 *   hosting    20 when tagged hosting, 5 when unknown, 0 for eyeball networks;
 *   active     up to 10: 2.5 per doubling of 1 + indicators online now;
 *   recurrence up to 5: the share of indicators that arrived after an earlier takedown.
 * Eyeball networks (consumer space full of infected devices) get half.
 * The verdict: bph at 60 for a hosting network with a shrunk takedown ratio of at least 4 and
 * at least 3 indicators; suspicious at 40; clean when nothing is online and nothing new came
 * for 30 days; abused otherwise. */
#include "lib/score.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/survival.h"

#define PRIOR_N 2.0           /* takedown shrinkage: prior weight in indicators */
#define PRIOR_SPACE 65536.0   /* density shrinkage: prior weight, IPv4 addresses (a /16) */
#define BPH_SCORE 60.0
#define BPH_RATIO 4.0
#define BPH_MIN_INDICATORS 3
#define SUSPICIOUS_SCORE 40.0
#define CLEAN_IDLE_H 720.0    /* clean: nothing online and nothing new for 30 days */
#define HOSTING_SHARE 0.5     /* share of indicators in hosting ranges that tags hosting */
#define EYEBALL_MAX_HOSTING 0.2 /* the eyeball rules need less than this share in them */
#define EYEBALL_ADDRESSES 20  /* eyeball shape: at least this many addresses, */
#define EYEBALL_SPACE 16384.0 /* on at least a /18, */
#define EYEBALL_ONE_DAY 0.4   /* at least this share one-day wonders or taken down as fast as
			       * the overall median, */
#define EYEBALL_PER_ADDR 1.5  /* and at most this many indicators per address */
#define HOSTING_PER_ADDR 2.0  /* hosting shape: several indicators served per address, */
#define HOSTING_DENSE 1.0     /* or at least one indicator per /24 of its IPv4 space */
#define HOSTING_DENSE_MIN 5   /* over at least this many indicators */
#define SPARSE_SPACE 1048576.0 /* eyeball by size: at least a /12 of IPv4 */
#define SPARSE_RATIO 2.0       /* with a density ratio of at most 2 */

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

const char *sh_verdict_name(enum sh_verdict v)
{
	switch (v) {
	case SH_VERDICT_BPH:
		return "bph";
	case SH_VERDICT_SUSPICIOUS:
		return "suspicious";
	case SH_VERDICT_ABUSED:
		return "abused";
	case SH_VERDICT_CLEAN:
		break;
	}
	return "clean";
}

const char *sh_net_kind_name(enum sh_net_kind k)
{
	switch (k) {
	case SH_NET_HOSTING:
		return "hosting";
	case SH_NET_EYEBALL:
		return "eyeball";
	case SH_NET_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *sh_score_duration(double hours, char *buf, size_t len)
{
	if (hours < 0)
		snprintf(buf, len, "-");
	else if (hours < 1)
		snprintf(buf, len, "%.0f min", hours * 60);
	else if (hours < 48)
		snprintf(buf, len, "%.1f h", hours);
	else if (hours < 240)
		snprintf(buf, len, "%.1f d", hours / 24);
	else
		snprintf(buf, len, "%.0f d", hours / 24);
	return buf;
}

/* Case-insensitive substring test on ASCII. */
static bool has_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && tolower((unsigned char)s[i]) == w[i])
			i++;
		if (i == n)
			return true;
	}
	return false;
}

bool sh_score_org_hosting(const char *org)
{
	static const char *const words[] = {
		"hosting", "hoster", "host ", "server", "cloud", "datacenter", "data center",
		"data-center", "vps", "colocation", "dedicated", "webhost", "web host",
	};
	if (!org)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_word(org, words[i]))
			return true;
	return false;
}

bool sh_score_org_eyeball(const char *org)
{
	static const char *const words[] = {
		"telecom", "telekom", "telecomunica", "telecommunica", "telephon", "broadband", "cable",
		"communications", "mobile", "wireless", "dsl", "fiber", "fibre", "internet service",
		"telefonica", "telmex", "unicom", "chinanet", "china telecom", "kabel", "vodafone",
		"comcast", "charter", "verizon", "at&t",
	};
	if (!org)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_word(org, words[i]))
			return true;
	return false;
}

/* "a /22" when units is an exact IPv4 prefix size, else "about a /N" or a count. */
static void space_text(double units, char *buf, size_t len)
{
	if (units <= 0) {
		snprintf(buf, len, "unknown space");
		return;
	}
	double bits = log2(units);
	double r = floor(bits + 0.5);
	if (r >= 0 && r <= 32 && fabs(bits - r) < 1e-9)
		snprintf(buf, len, "a /%d", 32 - (int)r);
	else if (units >= 256)
		snprintf(buf, len, "about a /%d (%.0f addresses)", 32 - (int)r, units);
	else
		snprintf(buf, len, "%.0f addresses", units);
}

/* Indicators expected at the overall rates, and the prior weight in the same terms. */
static void expectation(const struct sh_net_figures *f, const struct sh_score_overall *all,
			double *e, double *k)
{
	double r4 = all->rate_v4 > 0 ? all->rate_v4 : 0, r6 = all->rate_v6 > 0 ? all->rate_v6 : 0;
	*e = r4 * f->space_v4 + r6 * f->space_v6;
	*k = (r4 > 0 ? r4 : r6) * PRIOR_SPACE;
}

/* (x + k) / (e + k); 1 (no evidence either way) without space or rates. */
static double density_ratio(const struct sh_net_figures *f, const struct sh_score_overall *all)
{
	double e, k;
	expectation(f, all, &e, &k);
	if (e <= 0 || k <= 0)
		return 1;
	return ((double)f->total + k) / (e + k);
}

enum sh_net_kind sh_score_kind(const struct sh_net_figures *f, const struct sh_score_overall *all,
			       char *why, size_t len)
{
	why[0] = '\0';
	if (!f->total)
		return SH_NET_UNKNOWN;
	double hosting = (double)f->in_hosting / (double)f->total;
	if (hosting >= HOSTING_SHARE) {
		snprintf(why, len, "hosting space: %.0f%% of indicators in published hosting ranges",
			 hosting * 100);
		return SH_NET_HOSTING;
	}
	double per_addr = f->addresses ? (double)f->total / (double)f->addresses : 0;
	bool churn = f->one_day_share >= EYEBALL_ONE_DAY ||
		     (f->takedown_median_h >= 0 && all->takedown_median_h >= 0 &&
		      f->takedown_median_h <= all->takedown_median_h);
	bool may_be_eyeball = hosting < EYEBALL_MAX_HOSTING;
	if (may_be_eyeball && f->addresses >= EYEBALL_ADDRESSES &&
	    f->space_v4 + f->space_v6 >= EYEBALL_SPACE && churn && per_addr <= EYEBALL_PER_ADDR) {
		char sp[64];
		space_text(f->space_v4 + f->space_v6, sp, sizeof(sp));
		snprintf(why, len,
			 "eyeball shape: %lu addresses across %s, %.0f%% one-day, %.1f indicators per "
			 "address (infected devices)",
			 f->addresses, sp, f->one_day_share >= 0 ? f->one_day_share * 100 : 0, per_addr);
		return SH_NET_EYEBALL;
	}
	double ratio = density_ratio(f, all);
	if (may_be_eyeball && f->space_v4 >= SPARSE_SPACE && ratio <= SPARSE_RATIO) {
		char sp[64];
		space_text(f->space_v4, sp, sizeof(sp));
		snprintf(why, len,
			 "eyeball by size: %lu indicator%s scattered over %s, %.2g x the overall "
			 "density",
			 f->total, f->total == 1 ? "" : "s", sp, ratio);
		return SH_NET_EYEBALL;
	}
	if (sh_score_org_hosting(f->org)) {
		snprintf(why, len, "hosting by name: \"%s\"", f->org);
		return SH_NET_HOSTING;
	}
	if (sh_score_org_eyeball(f->org)) {
		snprintf(why, len, "eyeball by name: \"%s\"", f->org);
		return SH_NET_EYEBALL;
	}
	if (f->addresses && f->total >= 2 && per_addr >= HOSTING_PER_ADDR) {
		snprintf(why, len, "hosting shape: %.1f indicators served per address", per_addr);
		return SH_NET_HOSTING;
	}
	double dense = f->space_v4 > 0 ? (double)(f->total - f->total_v6) / f->space_v4 * 256 : 0;
	if (f->total >= HOSTING_DENSE_MIN && dense >= HOSTING_DENSE) {
		char sp[64];
		space_text(f->space_v4, sp, sizeof(sp));
		snprintf(why, len, "hosting shape: %lu indicators packed in %s (%.2g per /24)",
			 f->total, sp, dense);
		return SH_NET_HOSTING;
	}
	return SH_NET_UNKNOWN;
}

static void reason(struct sh_score *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct sh_score *out, const char *fmt, ...)
{
	if (out->n_reasons == SH_SCORE_REASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reasons[out->n_reasons++], SH_SCORE_REASON_LEN, fmt, ap);
	va_end(ap);
}

/* The network's median takedown, or the follow-up as a lower bound when it was not reached. */
static double takedown_estimate(const struct sh_net_figures *f, bool *reached)
{
	*reached = f->takedown_median_h >= 0;
	if (*reached)
		return f->takedown_median_h;
	return f->takedown_followup_h > 0 ? f->takedown_followup_h : 0;
}

void sh_score_network(const struct sh_net_figures *f, const struct sh_score_overall *all,
		      struct sh_score *out)
{
	memset(out, 0, sizeof(*out));
	char why[SH_SCORE_REASON_LEN];
	out->kind = sh_score_kind(f, all, why, sizeof(why));

	/* longevity */
	bool reached;
	double m = takedown_estimate(f, &reached);
	double ratio = 1;
	if (f->subjects && m > 0 && all->takedown_median_h > 0) {
		double w = (double)f->subjects / ((double)f->subjects + PRIOR_N);
		ratio = exp(w * log(m / all->takedown_median_h));
	}
	out->takedown_ratio = ratio;
	double longevity = 15 * clamp(log2(ratio), 0, 3);

	/* density */
	/* over the space of the families its indicators are in */
	unsigned long x4 = f->total - f->total_v6;
	double space = (x4 || !f->total ? f->space_v4 : 0) + (f->total_v6 ? f->space_v6 : 0);
	out->density = out->density_v4 = SH_SURV_NONE;
	if (space > 0)
		out->density = (double)f->total / space * SH_SCORE_DENSITY_UNIT;
	if (f->space_v4 > 0)
		out->density_v4 = (double)x4 / f->space_v4 * SH_SCORE_DENSITY_UNIT;
	double k;
	expectation(f, all, &out->expected, &k);
	out->density_ratio = density_ratio(f, all);
	double dens_points = 4 * clamp(log2(out->density_ratio) - 2, 0, 5);

	double kind_points = out->kind == SH_NET_HOSTING ? 20 : out->kind == SH_NET_UNKNOWN ? 5 : 0;
	double active = 2.5 * clamp(log2(1.0 + (double)f->active), 0, 4);
	double recur = f->recurrence_share > 0 ? 5 * clamp(f->recurrence_share, 0, 1) : 0;
	double score = longevity + dens_points + kind_points + active + recur;
	if (out->kind == SH_NET_EYEBALL)
		score /= 2;
	out->score = floor(clamp(score, 0, 100) * 10 + 0.5) / 10;

	if (out->score >= BPH_SCORE && ratio >= BPH_RATIO && f->total >= BPH_MIN_INDICATORS &&
	    out->kind == SH_NET_HOSTING)
		out->verdict = SH_VERDICT_BPH;
	else if (out->score >= SUSPICIOUS_SCORE)
		out->verdict = SH_VERDICT_SUSPICIOUS;
	else if (f->active == 0 && f->idle_h >= CLEAN_IDLE_H)
		out->verdict = SH_VERDICT_CLEAN;
	else
		out->verdict = SH_VERDICT_ABUSED;

	/* Reasons, most telling first. */
	char a[32], b[32], sp[64];
	const char *ind_s = f->subjects == 1 ? "" : "s";
	if (f->subjects) {
		if (reached)
			reason(out, "median takedown %s vs %s overall (%lu indicator%s followed)",
			       sh_score_duration(m, a, sizeof(a)),
			       sh_score_duration(all->takedown_median_h, b, sizeof(b)), f->subjects,
			       ind_s);
		else
			reason(out,
			       "median takedown not reached after %s vs %s overall (%lu indicator%s "
			       "followed, most still up)",
			       sh_score_duration(m, a, sizeof(a)),
			       sh_score_duration(all->takedown_median_h, b, sizeof(b)), f->subjects,
			       ind_s);
	} else {
		reason(out, "no takedown observed yet (no indicator followed from its start)");
	}
	if (f->space_v4 > 0 || f->space_v6 > 0) {
		if (f->space_v4 > 0)
			space_text(f->space_v4, sp, sizeof(sp));
		else
			snprintf(sp, sizeof(sp), "%.0f IPv6 /48s", f->space_v6);
		if (out->density_v4 >= 0 && f->total_v6 == 0)
			reason(out,
			       "%lu indicator%s on %s: %.2g per /24, %.3g x the overall density "
			       "after shrinkage",
			       f->total, f->total == 1 ? "" : "s", sp, out->density_v4,
			       out->density_ratio);
		else
			reason(out, "%lu indicator%s on %s: %.3g x the overall density after shrinkage",
			       f->total, f->total == 1 ? "" : "s", sp, out->density_ratio);
	} else {
		reason(out, "%lu indicator%s on unknown space", f->total, f->total == 1 ? "" : "s");
	}
	if (why[0])
		reason(out, "%s", why);
	if (f->active)
		reason(out, "%lu online now", f->active);
	if (f->one_day_share >= 0)
		reason(out, "%.0f%% one-day wonders", f->one_day_share * 100);
	if (f->recurrence_share > 0)
		reason(out, "%.0f%% arrived after an earlier takedown", f->recurrence_share * 100);
	if (out->verdict == SH_VERDICT_CLEAN)
		reason(out, "nothing online and nothing new for %s",
		       sh_score_duration(f->idle_h, a, sizeof(a)));
}
