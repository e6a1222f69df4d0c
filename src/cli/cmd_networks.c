/* sheriff networks: networks (prefix, ASN, AS org, country) ranked by their BPH score, with
 * the figures behind it: indicators, density, lifetimes, takedown, one-day share, recurrence,
 * trend, hosting-or-eyeball tag, verdict and reasons (docs/method.md). */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/campaign.h"
#include "engine/intel.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff networks [--by prefix|asn|org|country] [--hosting-only] [--limit N]\n"
		"                        [--timing] [--db PATH] [--json | --csv]\n\n"
		"Attributes every stored indicator that has an address (IPs, CIDRs, URLs on an IP) to\n"
		"its network as of its first sighting and ranks the networks by BPH score: how long\n"
		"abuse survives there against the overall median, its density on the network's address\n"
		"space, hosting or eyeball, what is online now. Each network gets a verdict (bph,\n"
		"suspicious, abused, clean) and the figures behind it. Special-purpose space is never\n"
		"attributed. Method: docs/method.md.\n"
		"  --by KEY        group by routed prefix, origin ASN (default), AS org or country\n"
		"  --hosting-only  only networks tagged hosting (hosting ranges, org name or the shape\n"
		"                  of their abuse), not eyeball ISPs with infected customers\n"
		"  --limit N       print the first N networks (default 20, 0 for all)\n"
		"  --csv           RFC 4180 CSV with a header line instead of the table\n"
		"  --timing        print the time spent reading, attributing and computing to stderr\n");
}

/* A number rounded to a few decimals, or null for SH_SURV_NONE / not finite. */
static json_t *num(double v, double scale)
{
	if (!isfinite(v) || v < 0)
		return json_null();
	return json_real(round(v * scale) / scale);
}

static json_t *ci(double lo, double hi)
{
	return json_pack("[o,o]", num(lo, 1000), num(hi, 1000));
}

static char *month_text(int64_t t, char *buf)
{
	if (t == SH_TIME_NONE) {
		buf[0] = '\0';
		return buf;
	}
	char full[SH_TIME_STRLEN];
	sh_time_format(t, full);
	memcpy(buf, full, 7);
	buf[7] = '\0';
	return buf;
}

/* Respawns into each network (engine/campaign.h), looked up by the network's key. */
struct resp {
	struct sh_respawn_net *v;
	size_t n;
};

static const struct sh_respawn_net *resp_of(const struct resp *r, const struct sh_intel_net *n)
{
	return sh_respawn_net_find(r->v, r->n, n->key);
}

static json_t *net_json(const struct sh_intel *in, const struct sh_intel_net *n, size_t rank,
			const struct resp *rs)
{
	const struct sh_score *sc = &n->score;
	json_t *o = json_object();
	json_object_set_new(o, "rank", json_integer((json_int_t)rank));
	json_object_set_new(o, "by", json_string(sh_intel_by_name(in->by)));
	json_object_set_new(o, "key", json_string(n->key));
	json_object_set_new(o, "asn", n->asn ? json_integer(n->asn) : json_null());
	json_object_set_new(o, "as_org", n->org[0] ? json_string(n->org) : json_null());
	json_object_set_new(o, "country", n->country[0] ? json_string(n->country) : json_null());
	json_object_set_new(o, "kind", json_string(sh_net_kind_name(sc->kind)));
	json_object_set_new(o, "hosting", n->hosting ? json_string(n->hosting) : json_null());
	json_object_set_new(o, "hosting_share",
			    num(n->total ? (double)n->in_hosting / (double)n->total : 0, 1e6));
	json_object_set_new(o, "indicators_total", json_integer((json_int_t)n->total));
	json_object_set_new(o, "indicators_active", json_integer((json_int_t)n->active));
	json_object_set_new(o, "addresses", json_integer((json_int_t)n->addresses));
	json_object_set_new(o, "urls", json_integer((json_int_t)n->urls));
	json_object_set_new(o, "space_v4", json_real(n->space_v4));
	json_object_set_new(o, "space_v6_48",
			    in->all.attributed_v6 ? json_real(n->space_v6) : json_null());
	json_object_set_new(o, "density", num(sc->density, 1e6));
	json_object_set_new(o, "density_v4", num(sc->density_v4, 1e6));
	json_object_set_new(o, "expected", num(sc->expected, 1e6));
	json_object_set_new(o, "density_ratio", num(sc->density_ratio, 1e4));
	json_object_set_new(o, "subjects", json_integer((json_int_t)n->subjects));
	json_object_set_new(o, "median_lifetime_h", num(n->lifetime.median_h, 1000));
	json_object_set_new(o, "lifetime_ci_h", ci(n->lifetime.lo_h, n->lifetime.hi_h));
	json_object_set_new(o, "median_takedown_h", num(n->takedown.median_h, 1000));
	json_object_set_new(o, "takedown_ci_h", ci(n->takedown.lo_h, n->takedown.hi_h));
	json_object_set_new(o, "takedowns", json_integer((json_int_t)n->takedown.events));
	json_object_set_new(o, "followup_h", num(n->takedown_followup_h, 1000));
	json_object_set_new(o, "one_day_share", num(n->one_day_share, 1e6));
	json_object_set_new(o, "one_day", json_integer((json_int_t)n->one_day));
	json_object_set_new(o, "one_day_known", json_integer((json_int_t)n->one_day_known));
	json_object_set_new(o, "recurrences", json_integer((json_int_t)n->recurrences));
	json_object_set_new(o, "recurrence_share", num(n->recurrence_share, 1e6));
	json_object_set_new(o, "first_seen", cli_json_time(n->first_seen));
	json_object_set_new(o, "last_seen", cli_json_time(n->last_seen));
	char m[8];
	json_object_set_new(o, "trend", isfinite(n->trend) ? json_real(round(n->trend * 1e4) / 1e4)
							   : json_null());
	json_object_set_new(o, "trend_from", json_string(month_text(in->all.month0, m)));
	json_t *months = json_array();
	for (size_t i = 0; i < in->all.n_months; i++)
		json_array_append_new(months, json_integer((json_int_t)n->monthly[i]));
	json_object_set_new(o, "trend_monthly", months);
	json_object_set_new(o, "takedown_ratio", num(sc->takedown_ratio, 1000));
	json_object_set_new(o, "score", json_real(sc->score));
	json_object_set_new(o, "verdict", json_string(sh_verdict_name(sc->verdict)));
	json_t *r = json_array();
	for (size_t i = 0; i < sc->n_reasons; i++)
		json_array_append_new(r, json_string(sc->reasons[i]));
	json_object_set_new(o, "reasons", r);
	const struct sh_respawn_net *rn = resp_of(rs, n);
	json_object_set_new(o, "respawns", json_integer(rn ? (json_int_t)rn->respawns : 0));
	json_object_set_new(o, "median_respawn_delay_h",
			    rn ? num(rn->median_delay_h, 1000) : json_null());
	return o;
}

/* A CSV field: quoted, quotes doubled. */
static void csv_text(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void csv_num(double v)
{
	if (v >= 0 && isfinite(v))
		printf(",%.6g", v);
	else
		printf(",");
}

static void csv_header(void)
{
	printf("rank,key,asn,as_org,country,kind,verdict,score,indicators_total,indicators_active,"
	       "addresses,density,density_ratio,median_lifetime_h,median_takedown_h,"
	       "takedown_ci_lo_h,takedown_ci_hi_h,one_day_share,recurrence_share,hosting,reasons,"
	       "respawns,median_respawn_delay_h\n");
}

static void csv_row(const struct sh_intel_net *n, size_t rank, const struct resp *rs)
{
	const struct sh_score *sc = &n->score;
	printf("%zu,", rank);
	csv_text(n->key);
	if (n->asn)
		printf(",%u,", n->asn);
	else
		printf(",,");
	csv_text(n->org);
	putchar(',');
	csv_text(n->country);
	printf(",%s,%s,%.1f,%lu,%lu,%lu", sh_net_kind_name(sc->kind), sh_verdict_name(sc->verdict),
	       sc->score, n->total, n->active, n->addresses);
	csv_num(sc->density);
	csv_num(sc->density_ratio);
	csv_num(n->lifetime.median_h);
	csv_num(n->takedown.median_h);
	csv_num(n->takedown.lo_h);
	csv_num(n->takedown.hi_h);
	csv_num(n->one_day_share);
	csv_num(n->recurrence_share);
	putchar(',');
	csv_text(n->hosting ? n->hosting : "");
	putchar(',');
	char all[SH_SCORE_REASONS * (SH_SCORE_REASON_LEN + 2)] = "";
	for (size_t i = 0; i < sc->n_reasons; i++) {
		if (i)
			strcat(all, "; ");
		strcat(all, sc->reasons[i]);
	}
	csv_text(all);
	const struct sh_respawn_net *rn = resp_of(rs, n);
	printf(",%lu", rn ? rn->respawns : 0);
	csv_num(rn ? rn->median_delay_h : -1);
	putchar('\n');
}

static const char *hours(double h, char *buf, size_t len)
{
	if (h < 0)
		return "-";
	return sh_score_duration(h, buf, len);
}

static void net_row(const struct sh_intel_net *n, size_t rank, const struct resp *rs)
{
	char d[24], lt[16], td[16], od[8], rd[16], re[32];
	const struct sh_score *sc = &n->score;
	if (sc->density >= 0)
		snprintf(d, sizeof(d), "%.3g", sc->density);
	else
		snprintf(d, sizeof(d), "-");
	if (n->one_day_share >= 0)
		snprintf(od, sizeof(od), "%.0f%%", n->one_day_share * 100);
	else
		snprintf(od, sizeof(od), "-");
	char name[40];
	snprintf(name, sizeof(name), "%s", n->org[0] ? n->org : n->country);
	const struct sh_respawn_net *rn = resp_of(rs, n);
	if (rn)
		snprintf(re, sizeof(re), "%lu/%s", rn->respawns, hours(rn->median_delay_h, rd, sizeof(rd)));
	else
		snprintf(re, sizeof(re), "-");
	printf("%-4zu %-20s %-10s %5.1f %-7s %7lu %6lu %8s %8s %8s %5s %-10s %s\n", rank, n->key,
	       sh_verdict_name(sc->verdict), sc->score, sh_net_kind_name(sc->kind), n->total,
	       n->active, d, hours(n->takedown.median_h, td, sizeof(td)),
	       hours(n->lifetime.median_h, lt, sizeof(lt)), od, re, name);
	printf("     ");
	for (size_t i = 0; i < sc->n_reasons; i++)
		printf("%s%s", i ? "; " : "", sc->reasons[i]);
	printf("\n");
}

int cmd_networks(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"by", required_argument, NULL, 'b'},
		{"hosting-only", no_argument, NULL, 'H'},
		{"limit", required_argument, NULL, 'l'},
		{"timing", no_argument, NULL, 'T'},
		{"csv", no_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	enum sh_intel_by by = SH_INTEL_ASN;
	bool hosting_only = false, timing = false, csv = false;
	unsigned long limit = 20;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'b':
			if (!sh_intel_by_parse(optarg, &by) || by == SH_INTEL_ALL) {
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
		case 'T':
			timing = true;
			break;
		case 'C':
			csv = true;
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
		cli_err("networks: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (csv && c.json) {
		cli_err("networks: --json or --csv, not both");
		return CLI_USAGE;
	}
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	struct sh_intel *in;
	int rc = sh_intel_compute(s, by, &in);
	if (rc != 0) {
		cli_err("networks: %s %s", sh_strerror(rc), rc == SH_ESTORE ? sh_store_errmsg(s) : "");
		sh_store_close(s);
		return CLI_FAIL;
	}
	struct resp rs = {0};
	struct sh_campaigns *g = NULL;
	struct sh_linker_config lc = {SH_CAMPAIGN_WINDOW_DEFAULT, SH_CAMPAIGN_BOUND_DEFAULT};
	rc = sh_campaigns_compute(s, NULL, &lc, by == SH_INTEL_COUNTRY, &g);
	if (rc == 0)
		rc = sh_campaigns_by_network(g, by, &rs.v, &rs.n);
	if (rc != 0) {
		cli_err("networks: respawns: %s %s", sh_strerror(rc),
			rc == SH_ESTORE ? sh_store_errmsg(s) : "");
		sh_campaigns_free(g);
		sh_intel_free(in);
		sh_store_close(s);
		return CLI_FAIL;
	}
	const struct sh_intel_summary *a = &in->all;
	if (a->addressed && !a->attributed && !a->special)
		cli_err("no network tables imported yet (sheriff asmap import): nothing to attribute");
	if (csv)
		csv_header();
	else if (!c.json)
		printf("%-4s %-20s %-10s %5s %-7s %7s %6s %8s %8s %8s %5s %-10s %s\n", "rank",
		       sh_intel_by_name(by), "verdict", "score", "kind", "total", "active",
		       "dens/24", "takedown", "lifetime", "1-day", "respawn/d", "name");
	size_t shown = 0;
	for (size_t i = 0; i < in->n_nets && (!limit || shown < (size_t)limit); i++) {
		const struct sh_intel_net *n = &in->nets[i];
		if (hosting_only && n->score.kind != SH_NET_HOSTING)
			continue;
		shown++;
		if (c.json)
			cli_json_line(net_json(in, n, shown, &rs));
		else if (csv)
			csv_row(n, shown, &rs);
		else
			net_row(n, shown, &rs);
	}
	char m1[16], m2[16];
	fprintf(stderr,
		"%lu indicators (%lu with an address): %lu attributed to %zu networks, %lu without a "
		"network, %lu in special-purpose space; overall median takedown %s, lifetime %s\n",
		a->indicators, a->addressed, a->attributed, in->n_nets, a->unmapped, a->special,
		hours(a->takedown.median_h, m1, sizeof(m1)), hours(a->lifetime.median_h, m2, sizeof(m2)));
	if (timing)
		fprintf(stderr, "timing: read %.3f s, attribute %.3f s, space %.3f s, compute %.3f s\n",
			in->timing.read, in->timing.attribute, in->timing.space, in->timing.compute);
	free(rs.v);
	sh_campaigns_free(g);
	sh_intel_free(in);
	sh_store_close(s);
	return CLI_OK;
}
