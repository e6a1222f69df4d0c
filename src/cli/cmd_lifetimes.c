/* sheriff lifetimes: Kaplan-Meier survival of indicator lifetimes and times to takedown, with
 * medians, their 95% confidence intervals and the one-day-wonder share, over all indicators
 * and per network (docs/method.md). */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/intel.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff lifetimes [--by prefix|asn|org|country] [--hosting-only] [--limit N]\n"
		"                         [--points grid|all] [--timing] [--db PATH] [--json]\n\n"
		"Survival curves (Kaplan-Meier) of how long indicators stay online (lifetime: first\n"
		"seen to the end of the last run) and how long until they are first taken down\n"
		"(first seen to the end of the first run). Indicators still online at the end of the\n"
		"data are censored, and so is a run whose end falls in a gap between snapshots; the\n"
		"ones already listed in their source's first snapshot are not followed. Without --by,\n"
		"one curve pair over all indicators; with --by, that first, then the networks in\n"
		"'sheriff networks' order.\n"
		"  --by KEY        also per routed prefix, origin ASN, AS org or country\n"
		"  --hosting-only  only networks tagged hosting\n"
		"  --limit N       networks to print (default 20, 0 for all)\n"
		"  --points P      grid: S(t) at fixed times (default); all: every step of the curve\n"
		"  --timing        print the time spent to stderr\n");
}

/* Times (hours) at which the curves are reported by default. */
static const double grid[] = {1,   2,   3,   6,    12,   18,   24,   36,   48,  72,   96,
			      120, 168, 240, 336,  504,  720,  1080, 1440, 2160, 4320, 8760};

static json_t *num(double v, double scale)
{
	if (!isfinite(v) || v < 0)
		return json_null();
	return json_real(round(v * scale) / scale);
}

/* Subjects with time >= t in obs sorted by time. */
static size_t at_risk(const struct sh_surv_obs *obs, size_t n, double t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (obs[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n - lo;
}

/* The band around S(t) at t: the last step's. */
static void band_at(const struct sh_km *km, double t, double *lo, double *hi)
{
	*lo = *hi = 1;
	for (size_t i = 0; i < km->n_points && km->points[i].t <= t; i++) {
		*lo = km->points[i].lo;
		*hi = km->points[i].hi;
	}
}

struct curve {
	struct sh_surv_obs *obs;
	size_t n;
	struct sh_km km;
	double median, lo, hi;
};

static int curve_load(const struct sh_intel *in, size_t net, enum sh_intel_curve which,
		      struct curve *c)
{
	memset(c, 0, sizeof(*c));
	int rc = sh_intel_obs(in, net, which, &c->obs, &c->n);
	if (rc == 0)
		rc = sh_km_fit(c->obs, c->n, &c->km);
	if (rc == 0)
		sh_km_quantile(&c->km, 0.5, &c->median, &c->lo, &c->hi);
	return rc;
}

static void curve_fini(struct curve *c)
{
	sh_km_fini(&c->km);
	free(c->obs);
}

static json_t *curve_json(const struct curve *c, bool all_points)
{
	json_t *o = json_object();
	json_object_set_new(o, "n", json_integer((json_int_t)c->n));
	json_object_set_new(o, "events", json_integer((json_int_t)c->km.events));
	json_object_set_new(o, "censored", json_integer((json_int_t)(c->n - c->km.events)));
	json_object_set_new(o, "median_h", num(c->median, 1000));
	json_object_set_new(o, "median_ci_h", json_pack("[o,o]", num(c->lo, 1000), num(c->hi, 1000)));
	json_t *pts = json_array();
	if (all_points) {
		for (size_t i = 0; i < c->km.n_points; i++) {
			const struct sh_km_point *p = &c->km.points[i];
			json_array_append_new(pts, json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}", "t_h",
							     num(p->t, 1000), "survival", num(p->s, 1e6),
							     "lower", num(p->lo, 1e6), "upper",
							     num(p->hi, 1e6), "at_risk", (json_int_t)p->at_risk,
							     "events", (json_int_t)p->events));
		}
	} else if (c->n) {
		for (size_t i = 0; i < sizeof(grid) / sizeof(grid[0]); i++) {
			double lo, hi;
			band_at(&c->km, grid[i], &lo, &hi);
			json_array_append_new(pts, json_pack("{s:f, s:o, s:o, s:o, s:I}", "t_h",
							     grid[i], "survival",
							     num(sh_km_at(&c->km, grid[i]), 1e6), "lower",
							     num(lo, 1e6), "upper", num(hi, 1e6), "at_risk",
							     (json_int_t)at_risk(c->obs, c->n, grid[i])));
		}
	}
	json_object_set_new(o, "points", pts);
	return o;
}

static const char *hours(double h, char *buf, size_t len)
{
	return h < 0 ? "-" : sh_score_duration(h, buf, len);
}

static void row(const char *key, unsigned long indicators, double one_day, const struct curve *life,
		const struct curve *td)
{
	char m1[16], l1[16], h1[16], m2[16], l2[16], h2[16], od[8], ci1[40], ci2[40];
	snprintf(ci1, sizeof(ci1), "%s [%s, %s]", hours(life->median, m1, sizeof(m1)),
		 hours(life->lo, l1, sizeof(l1)), hours(life->hi, h1, sizeof(h1)));
	snprintf(ci2, sizeof(ci2), "%s [%s, %s]", hours(td->median, m2, sizeof(m2)),
		 hours(td->lo, l2, sizeof(l2)), hours(td->hi, h2, sizeof(h2)));
	if (one_day >= 0)
		snprintf(od, sizeof(od), "%.0f%%", one_day * 100);
	else
		snprintf(od, sizeof(od), "-");
	printf("%-22s %7lu %7zu %-26s %-26s %5s %6.2f %6.2f %6.2f\n", key, indicators, life->n, ci1, ci2,
	       od, sh_km_at(&td->km, 24), sh_km_at(&td->km, 168), sh_km_at(&td->km, 720));
}

static int emit(const struct sh_intel *in, size_t net, bool json, bool all_points)
{
	struct curve life, td;
	int rc = curve_load(in, net, SH_CURVE_LIFETIME, &life);
	if (rc == 0)
		rc = curve_load(in, net, SH_CURVE_TAKEDOWN, &td);
	else
		memset(&td, 0, sizeof(td));
	if (rc == 0) {
		const struct sh_intel_summary *a = &in->all;
		const struct sh_intel_net *n = net == SIZE_MAX ? NULL : &in->nets[net];
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "by", json_string(n ? sh_intel_by_name(in->by) : "all"));
			json_object_set_new(o, "key", json_string(n ? n->key : "all"));
			json_object_set_new(o, "indicators",
					    json_integer((json_int_t)(n ? n->total : a->indicators)));
			if (!n)
				json_object_set_new(o, "left_censored",
						    json_integer((json_int_t)a->left_censored));
			else
				json_object_set_new(o, "verdict",
						    json_string(sh_verdict_name(n->score.verdict)));
			json_object_set_new(o, "one_day_share",
					    num(n ? n->one_day_share : a->one_day_share, 1e6));
			json_object_set_new(o, "one_day",
					    json_integer((json_int_t)(n ? n->one_day : a->one_day)));
			json_object_set_new(o, "one_day_known",
					    json_integer((json_int_t)(n ? n->one_day_known
									: a->one_day_known)));
			json_object_set_new(o, "lifetime", curve_json(&life, all_points));
			json_object_set_new(o, "takedown", curve_json(&td, all_points));
			cli_json_line(o);
		} else {
			row(n ? n->key : "all", n ? n->total : a->indicators,
			    n ? n->one_day_share : a->one_day_share, &life, &td);
		}
	}
	curve_fini(&life);
	curve_fini(&td);
	return rc;
}

int cmd_lifetimes(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"by", required_argument, NULL, 'b'},
		{"hosting-only", no_argument, NULL, 'H'},
		{"limit", required_argument, NULL, 'l'},
		{"points", required_argument, NULL, 'p'},
		{"timing", no_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	enum sh_intel_by by = SH_INTEL_ALL;
	bool hosting_only = false, all_points = false, timing = false;
	unsigned long limit = 20;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'b':
			if (!sh_intel_by_parse(optarg, &by)) {
				cli_err("--by: one of prefix, asn, org, country");
				return CLI_USAGE;
			}
			break;
		case 'H':
			hosting_only = true;
			break;
		case 'l':
			if (!cli_parse_count("--limit", optarg, 0, ULONG_MAX, &limit))
				return CLI_USAGE;
			break;
		case 'p':
			if (strcmp(optarg, "all") == 0)
				all_points = true;
			else if (strcmp(optarg, "grid") != 0) {
				cli_err("--points: grid or all");
				return CLI_USAGE;
			}
			break;
		case 'T':
			timing = true;
			break;
		case 'h':
			help(stdout);
			return CLI_OK;
		default:
			help(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("lifetimes: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (hosting_only && by == SH_INTEL_ALL)
		by = SH_INTEL_ASN;
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	struct sh_intel *in;
	int rc = sh_intel_compute(s, by, &in);
	if (rc != 0) {
		cli_err("lifetimes: %s %s", sh_strerror(rc), rc == SH_ESTORE ? sh_store_errmsg(s) : "");
		sh_store_close(s);
		return CLI_FAIL;
	}
	if (!c.json)
		printf("%-22s %7s %7s %-26s %-26s %5s %6s %6s %6s\n", by == SH_INTEL_ALL ? "key" : sh_intel_by_name(by),
		       "indic.", "follow", "lifetime median [95% CI]", "takedown median [95% CI]",
		       "1-day", "up@1d", "up@7d", "up@30d");
	rc = emit(in, SIZE_MAX, c.json, all_points);
	size_t shown = 0;
	for (size_t i = 0; rc == 0 && i < in->n_nets && (!limit || shown < (size_t)limit); i++) {
		if (hosting_only && in->nets[i].score.kind != SH_NET_HOSTING)
			continue;
		shown++;
		rc = emit(in, i, c.json, all_points);
	}
	if (rc != 0)
		cli_err("lifetimes: %s", sh_strerror(rc));
	if (timing)
		fprintf(stderr, "timing: read %.3f s, attribute %.3f s, space %.3f s, compute %.3f s\n",
			in->timing.read, in->timing.attribute, in->timing.space, in->timing.compute);
	sh_intel_free(in);
	sh_store_close(s);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}
