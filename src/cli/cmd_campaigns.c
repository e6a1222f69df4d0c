/* sheriff campaigns and sheriff respawns: new sites linked to the ones taken down before
 * them, the connected groups, and the no-look-ahead replay of first-sight listing
 * (docs/campaigns.md). */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/campaign.h"
#include "lib/addr.h"
#include "lib/timefmt.h"

struct opts {
	struct cli_common c;
	struct sh_linker_config cfg;
	const char *policy;
	unsigned long limit, min_size;
	bool timing, countries;
	/* campaigns */
	int64_t replay_after;
	/* respawns */
	const char *campaign;
	const char *network;
	bool first_sight;
};

enum { O_WINDOW = 1, O_BOUND, O_POLICY, O_LIMIT, O_MIN_SIZE, O_TIMING, O_REPLAY, O_CAMPAIGN,
       O_NETWORK, O_FIRST_SIGHT, O_COUNTRIES };

static void help_campaigns(FILE *f)
{
	fprintf(f,
		"usage: sheriff campaigns [--limit N] [--min-size N] [--window DUR] [--bound N]\n"
		"                         [--policy FILE] [--countries] [--replay-after DUR] [--timing]\n"
		"                         [--db PATH] [--json]\n\n"
		"Campaigns: groups of indicators linked by respawns (a new indicator first seen within\n"
		"--window of another one's takedown, sharing evidence: the same IP, /24 or /48,\n"
		"registrable domain, or routed prefix, URL path shape, malware family and tags in\n"
		"combination; the ASN alone never links). Largest first, with first and last\n"
		"sighting, members online, median respawn delay, networks crossed and the evidence\n"
		"that links them. docs/campaigns.md has the rules.\n"
		"  --limit N          campaigns to print (default 20, 0 for all)\n"
		"  --min-size N       only campaigns with at least N members (default 2)\n"
		"  --window DUR       longest takedown-to-respawn delay linked (default 3d)\n"
		"  --bound N          a value carried by more than N indicators so far does not link\n"
		"                     (over-correlation guard; default 100)\n"
		"  --policy FILE      listing policy whose allowlist never links (default built-in)\n"
		"  --countries        also count the countries crossed (loads the country table)\n"
		"  --replay-after DUR instead, the replay summary: of the indicators first seen DUR\n"
		"                     after the first sighting or later, how many were linked or\n"
		"                     listed by live campaign infrastructure at first sight, and what\n"
		"                     that infrastructure listing covered\n"
		"  --timing           print the time spent to stderr\n");
}

static void help_respawns(FILE *f)
{
	fprintf(f,
		"usage: sheriff respawns [--campaign ID] [--network KEY] [--limit N] [--window DUR]\n"
		"                        [--bound N] [--policy FILE] [--first-sight] [--timing]\n"
		"                        [--db PATH] [--json]\n\n"
		"Respawns: each new indicator linked to the one taken down before it, with the\n"
		"takedown time, the respawn time, the delay and the shared evidence; in time order.\n"
		"  --campaign ID   only this campaign's (its id in 'sheriff campaigns')\n"
		"  --network KEY   only respawns into this network: AS number (AS4837), routed\n"
		"                  prefix or country code\n"
		"  --limit N       respawns to print (default 0: all)\n"
		"  --window DUR, --bound N, --policy FILE: as for 'sheriff campaigns'\n"
		"  --first-sight   instead, one line per indicator: what was known at its first\n"
		"                  sighting (linked, on live campaign infrastructure, its host\n"
		"                  already listed, guarded, sharing a value with an earlier one)\n"
		"  --timing        print the time spent to stderr\n");
}

static json_t *hours(double h)
{
	if (!isfinite(h) || h < 0)
		return json_null();
	return json_real(round(h * 1000) / 1000);
}

static int parse(int argc, char **argv, bool respawns, struct opts *o)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"window", required_argument, NULL, O_WINDOW},
		{"bound", required_argument, NULL, O_BOUND},
		{"policy", required_argument, NULL, O_POLICY},
		{"limit", required_argument, NULL, O_LIMIT},
		{"min-size", required_argument, NULL, O_MIN_SIZE},
		{"timing", no_argument, NULL, O_TIMING},
		{"replay-after", required_argument, NULL, O_REPLAY},
		{"campaign", required_argument, NULL, O_CAMPAIGN},
		{"network", required_argument, NULL, O_NETWORK},
		{"first-sight", no_argument, NULL, O_FIRST_SIGHT},
		{"countries", no_argument, NULL, O_COUNTRIES},
		{NULL, 0, NULL, 0},
	};
	void (*help)(FILE *) = respawns ? help_respawns : help_campaigns;
	*o = (struct opts){
		.cfg = {SH_CAMPAIGN_WINDOW_DEFAULT, SH_CAMPAIGN_BOUND_DEFAULT},
		.limit = respawns ? 0 : 20, .min_size = 2, .replay_after = -1,
	};
	unsigned long v;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&o->c, opt, optarg))
			continue;
		bool ok = true;
		switch (opt) {
		case O_WINDOW:
			ok = sh_duration_parse(optarg, strlen(optarg), &o->cfg.window) == 0 &&
			     o->cfg.window > 0;
			if (!ok)
				cli_err("--window: a duration such as 3d, 36h or 1d12h");
			break;
		case O_BOUND:
			ok = cli_parse_count("--bound", optarg, 1, UINT32_MAX, &v);
			o->cfg.bound = (uint32_t)v;
			break;
		case O_POLICY:
			o->policy = optarg;
			break;
		case O_LIMIT:
			ok = cli_parse_count("--limit", optarg, 0, ULONG_MAX, &o->limit);
			break;
		case O_MIN_SIZE:
			ok = !respawns && cli_parse_count("--min-size", optarg, 2, ULONG_MAX, &o->min_size);
			break;
		case O_TIMING:
			o->timing = true;
			break;
		case O_REPLAY:
			ok = !respawns && sh_duration_parse(optarg, strlen(optarg), &o->replay_after) == 0;
			if (!ok)
				cli_err("--replay-after: a duration such as 90d");
			break;
		case O_CAMPAIGN:
			ok = respawns;
			o->campaign = optarg;
			break;
		case O_NETWORK:
			ok = respawns;
			o->network = optarg;
			break;
		case O_COUNTRIES:
			ok = !respawns;
			o->countries = true;
			break;
		case O_FIRST_SIGHT:
			ok = respawns;
			o->first_sight = true;
			break;
		case 'h':
			help(stdout);
			return CLI_OK + 100;
		default:
			ok = false;
		}
		if (!ok) {
			help(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("%s: unexpected argument '%s'", respawns ? "respawns" : "campaigns",
			argv[optind]);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static void diag(void *arg, const char *file, unsigned long line, const char *msg)
{
	unsigned long *n = arg;
	(*n)++;
	if (line)
		fprintf(stderr, "%s:%lu: %s\n", file ? file : "policy", line, msg);
	else
		fprintf(stderr, "%s: %s\n", file ? file : "policy", msg);
}

/* Opens the store and links it; CLI_OK or an exit code. */
static int compute(const struct opts *o, const char *cmd, struct sh_store **s,
		   struct sh_campaigns **out)
{
	struct sh_policy *p = NULL;
	unsigned long bad = 0;
	if (o->policy && sh_policy_load(o->policy, diag, &bad, &p) != 0) {
		cli_err("%s: the policy %s cannot be used", cmd, o->policy);
		sh_policy_free(p);
		return CLI_USAGE;
	}
	if (cli_open_store(&o->c, s) != CLI_OK) {
		sh_policy_free(p);
		return CLI_FAIL;
	}
	/* with a policy, its allowlist (bad lines of its allow files reported); else built-in */
	struct sh_allowlist *al = NULL;
	int rc = p ? sh_allowlist_build(p, *s, diag, &bad, &al) : 0;
	if (rc == 0)
		rc = sh_campaigns_compute(*s, al, &o->cfg, o->countries, out);
	sh_allowlist_free(al);
	sh_policy_free(p);
	if (rc != 0) {
		cli_err("%s: %s %s", cmd, sh_strerror(rc), rc == SH_ESTORE ? sh_store_errmsg(*s) : "");
		sh_store_close(*s);
		return CLI_FAIL;
	}
	if (o->timing)
		fprintf(stderr, "%s: read and attribute %.3f s, link and group %.3f s\n", cmd,
			(*out)->timing.read, (*out)->timing.link);
	return CLI_OK;
}

static json_t *evidence_json(const struct sh_campaigns *g, uint32_t vid, uint32_t respawns)
{
	enum sh_evkey type;
	uint32_t carriers;
	const char *v = sh_linker_value(g->linker, vid, &type, &carriers);
	json_t *o = json_pack("{s:s, s:s, s:I}", "key", sh_evkey_name(type), "value", v,
			      "carriers", (json_int_t)carriers);
	if (respawns)
		json_object_set_new(o, "respawns", json_integer(respawns));
	return o;
}

static void campaign_row(const struct sh_campaigns *g, const struct sh_campaign *k, bool cc)
{
	char a[SH_TIME_STRLEN], b[SH_TIME_STRLEN];
	char delay[32] = "-", ncc[24] = "-";
	if (cc)
		snprintf(ncc, sizeof(ncc), "%zu", k->n_countries);
	if (k->median_delay_h >= 0)
		snprintf(delay, sizeof(delay), "%.1f", k->median_delay_h);
	printf("%-8s %7zu %7zu %-20s %-20s %7.1f %6zu %8s %4zu %4zu %3s  ", k->id,
	       k->n_members, k->n_respawns, cli_time(k->first_seen, a), cli_time(k->last_seen, b),
	       (double)(k->last_seen - k->first_seen) / 86400.0, k->online, delay, k->n_asns,
	       k->n_prefixes, ncc);
	for (size_t e = 0; e < k->n_evidence && e < 3; e++) {
		enum sh_evkey type;
		const char *v = sh_linker_value(g->linker, k->evidence[e].vid, &type, NULL);
		printf("%s%s=%s (%u)", e ? ", " : "", sh_evkey_name(type), v, k->evidence[e].respawns);
	}
	putchar('\n');
}

static void campaign_json(const struct sh_campaigns *g, const struct sh_campaign *k, bool cc)
{
	json_t *o = json_object();
	json_object_set_new(o, "campaign", json_string(k->id));
	json_object_set_new(o, "members", json_integer((json_int_t)k->n_members));
	json_object_set_new(o, "respawns", json_integer((json_int_t)k->n_respawns));
	json_object_set_new(o, "first_seen", cli_json_time(k->first_seen));
	json_object_set_new(o, "last_seen", cli_json_time(k->last_seen));
	json_object_set_new(o, "lifetime_h", hours((double)(k->last_seen - k->first_seen) / 3600.0));
	json_object_set_new(o, "online", json_integer((json_int_t)k->online));
	json_object_set_new(o, "active", json_boolean(k->online > 0));
	json_object_set_new(o, "median_respawn_delay_h", hours(k->median_delay_h));
	json_object_set_new(o, "asns", json_integer((json_int_t)k->n_asns));
	json_object_set_new(o, "prefixes", json_integer((json_int_t)k->n_prefixes));
	json_object_set_new(o, "countries", cc ? json_integer((json_int_t)k->n_countries) : json_null());
	json_t *ev = json_array();
	for (size_t e = 0; e < k->n_evidence; e++)
		json_array_append_new(ev, evidence_json(g, k->evidence[e].vid, k->evidence[e].respawns));
	json_object_set_new(o, "evidence", ev);
	json_t *m = json_array();
	for (size_t i = 0; i < k->n_members; i++)
		json_array_append_new(m, json_string(g->inds[k->members[i]].value));
	json_object_set_new(o, "indicators", m);
	cli_json_line(o);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The replay summary: what first-sight listing would have caught, and what it cost. */
static int replay(const struct sh_campaigns *g, const struct opts *o)
{
	int64_t start = INT64_MAX;
	for (size_t i = 0; i < g->n_inds; i++)
		if (g->inds[i].first_seen < start)
			start = g->inds[i].first_seen;
	int64_t from = g->n_inds ? start + o->replay_after : 0;
	unsigned long n = 0, linked = 0, covered = 0, host = 0, either = 0, guarded = 0, seen = 0;
	for (size_t i = 0; i < g->n_inds; i++) {
		if (g->inds[i].first_seen < from)
			continue;
		unsigned f = sh_linker_sight(g->linker, (uint32_t)i);
		n++;
		linked += (f & SH_SIGHT_LINKED) != 0;
		covered += (f & SH_SIGHT_COVERED) != 0;
		host += (f & SH_SIGHT_HOST) != 0;
		either += (f & (SH_SIGHT_LINKED | SH_SIGHT_COVERED | SH_SIGHT_HOST)) != 0;
		guarded += (f & SH_SIGHT_GUARDED) != 0;
		seen += (f & SH_SIGHT_SEEN) != 0;
	}
	const char **values = malloc((g->n_inds ? g->n_inds : 1) * sizeof(*values));
	if (!values)
		return CLI_FAIL;
	for (size_t i = 0; i < g->n_inds; i++)
		values[i] = g->inds[i].value;
	qsort(values, g->n_inds, sizeof(*values), cmp_cstr);
	const uint32_t *vids;
	const int64_t *since;
	size_t n_listed = sh_linker_listed(g->linker, &vids, &since);
	unsigned long by_kind[SH_EV_N] = {0}, unseen[SH_EV_N] = {0};
	double v4 = 0, v6_48 = 0;
	for (size_t i = 0; i < n_listed; i++) {
		enum sh_evkey type;
		const char *v = sh_linker_value(g->linker, vids[i], &type, NULL);
		by_kind[type]++;
		if (!bsearch(&v, values, g->n_inds, sizeof(*values), cmp_cstr))
			unseen[type]++;
		bool six = strchr(v, ':') != NULL;
		if (type == SH_EV_NET)
			six ? (v6_48 += 1) : (v4 += 256);
	}
	/* a listed address inside a listed /24 adds no space */
	const char **nets = malloc((n_listed ? n_listed : 1) * sizeof(*nets));
	if (!nets) {
		free(values);
		return CLI_FAIL;
	}
	size_t n_nets = 0;
	for (size_t i = 0; i < n_listed; i++) {
		enum sh_evkey type;
		const char *v = sh_linker_value(g->linker, vids[i], &type, NULL);
		if (type == SH_EV_NET)
			nets[n_nets++] = v;
	}
	qsort(nets, n_nets, sizeof(*nets), cmp_cstr);
	for (size_t i = 0; i < n_listed; i++) {
		enum sh_evkey type;
		const char *v = sh_linker_value(g->linker, vids[i], &type, NULL);
		const char *dot = strrchr(v, '.');
		if (type != SH_EV_IP || strchr(v, ':') || !dot)
			continue;
		char net[SH_PREFIX_STRLEN];
		snprintf(net, sizeof(net), "%.*s.0/24", (int)(dot - v), v);
		const char *key = net;
		v4 += !bsearch(&key, nets, n_nets, sizeof(*nets), cmp_cstr);
	}
	free(nets);
	free(values);
	double share = n ? (double)either / (double)n : 0;
	if (o->c.json) {
		json_t *r = json_object();
		json_object_set_new(r, "from", cli_json_time(from));
		json_object_set_new(r, "window_h", json_real((double)o->cfg.window / 3600.0));
		json_object_set_new(r, "bound", json_integer(o->cfg.bound));
		json_object_set_new(r, "new_indicators", json_integer((json_int_t)n));
		json_object_set_new(r, "linked_at_first_sight", json_integer((json_int_t)linked));
		json_object_set_new(r, "on_live_infrastructure", json_integer((json_int_t)covered));
		json_object_set_new(r, "host_already_listed", json_integer((json_int_t)host));
		json_object_set_new(r, "listed_at_first_sight", json_integer((json_int_t)either));
		json_object_set_new(r, "recall_at_first_sight", json_real(round(share * 1e4) / 1e4));
		json_object_set_new(r, "guarded", json_integer((json_int_t)guarded));
		json_object_set_new(r, "shared_with_earlier", json_integer((json_int_t)seen));
		json_t *l = json_object();
		for (int k = 0; k < SH_EV_N; k++)
			if (sh_evkey_listable((enum sh_evkey)k))
				json_object_set_new(l, sh_evkey_name((enum sh_evkey)k),
						    json_pack("{s:I, s:I}", "values", (json_int_t)by_kind[k],
							      "never_in_a_feed", (json_int_t)unseen[k]));
		json_object_set_new(r, "infrastructure_listed", l);
		json_object_set_new(r, "space_v4_addresses", json_real(v4));
		json_object_set_new(r, "space_v6_48s", json_real(v6_48));
		cli_json_line(r);
		return CLI_OK;
	}
	char t[SH_TIME_STRLEN];
	printf("indicators first seen from %s: %lu\n", cli_time(from, t), n);
	printf("  listed at first sight: %lu (%.1f%%): linked to a takedown %lu, on live campaign "
	       "infrastructure %lu, on a host already listed %lu\n",
	       either, 100 * share, linked, covered, host);
	printf("  a shared value over the bound or allowlisted: %lu\n", guarded);
	printf("  sharing an address, net or registrable domain with any earlier indicator, "
	       "whatever the window, the bound or whether it is still online: %lu (%.1f%%)\n",
	       seen, n ? 100.0 * (double)seen / (double)n : 0.0);
	printf("infrastructure listed over the replay (window %.0f h, bound %u):\n",
	       (double)o->cfg.window / 3600.0, o->cfg.bound);
	for (int k = 0; k < SH_EV_N; k++)
		if (sh_evkey_listable((enum sh_evkey)k))
			printf("  %-6s %lu values, %lu never in a feed\n", sh_evkey_name((enum sh_evkey)k),
			       by_kind[k], unseen[k]);
	printf("  address space: %.0f IPv4 addresses, %.0f IPv6 /48s; no prefix shorter than "
	       "/24 (IPv4) or /48 (IPv6)\n",
	       v4, v6_48);
	return CLI_OK;
}

int cmd_campaigns(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, false, &o);
	if (rc != CLI_OK)
		return rc == CLI_OK + 100 ? CLI_OK : rc;
	struct sh_store *s;
	struct sh_campaigns *g;
	if ((rc = compute(&o, "campaigns", &s, &g)) != CLI_OK)
		return rc;
	if (o.replay_after >= 0) {
		rc = replay(g, &o);
	} else {
		if (!o.c.json)
			printf("%-8s %7s %7s %-20s %-20s %7s %6s %8s %4s %4s %3s  %s\n", "campaign",
			       "members", "respawn", "first_seen", "last_seen", "days", "online",
			       "delay_h", "asns", "pfx", "cc", "evidence (respawns it links)");
		unsigned long shown = 0;
		for (size_t j = 0; j < g->n_camps; j++) {
			const struct sh_campaign *k = &g->camps[j];
			if (k->n_members < o.min_size || (o.limit && shown == o.limit))
				continue;
			shown++;
			if (o.c.json)
				campaign_json(g, k, o.countries);
			else
				campaign_row(g, k, o.countries);
		}
		if (!o.c.json) {
			size_t in = 0;
			for (size_t j = 0; j < g->n_camps; j++)
				in += g->camps[j].n_members;
			const struct sh_respawn *e;
			printf("%zu campaigns, %zu respawns, %zu of %zu indicators in a campaign\n",
			       g->n_camps, sh_linker_respawns(g->linker, &e), in, g->n_inds);
		}
	}
	sh_campaigns_free(g);
	sh_store_close(s);
	return rc;
}

static bool on_network(const struct sh_camp_ind *m, const char *key)
{
	if (m->prefix && strcmp(m->prefix, key) == 0)
		return true;
	if (m->country && strcmp(m->country, key) == 0)
		return true;
	char asn[16];
	snprintf(asn, sizeof(asn), "AS%u", m->asn);
	return m->asn && strcasecmp(asn, key) == 0;
}

static void respawn_out(const struct sh_campaigns *g, const struct sh_respawn *e, bool json)
{
	const uint32_t *shared = sh_linker_shared(g->linker);
	const struct sh_camp_ind *a = &g->inds[e->old_ind], *b = &g->inds[e->new_ind];
	const struct sh_campaign *k = &g->camps[g->camp_of[e->new_ind]];
	double delay = (double)(e->t_new - e->t_off) / 3600.0;
	if (json) {
		json_t *o = json_object();
		json_object_set_new(o, "old", json_string(a->value));
		json_object_set_new(o, "new", json_string(b->value));
		json_object_set_new(o, "taken_down", cli_json_time(e->t_off));
		json_object_set_new(o, "respawned", cli_json_time(e->t_new));
		json_object_set_new(o, "delay_h", hours(delay));
		json_t *sh = json_array();
		for (uint32_t j = 0; j < e->n_shared; j++)
			json_array_append_new(sh, evidence_json(g, shared[e->first_shared + j], 0));
		json_object_set_new(o, "shared", sh);
		json_object_set_new(o, "weight", json_real(e->weight / 2.0));
		json_object_set_new(o, "campaign", json_string(k->id));
		json_object_set_new(o, "asn", b->asn ? json_integer(b->asn) : json_null());
		json_object_set_new(o, "prefix", b->prefix ? json_string(b->prefix) : json_null());
		json_object_set_new(o, "country", b->country ? json_string(b->country) : json_null());
		cli_json_line(o);
		return;
	}
	char t1[SH_TIME_STRLEN], t2[SH_TIME_STRLEN];
	printf("%-20s %-20s %7.1f %-8s %s -> %s  [", cli_time(e->t_off, t1), cli_time(e->t_new, t2),
	       delay, k->id, a->value, b->value);
	for (uint32_t j = 0; j < e->n_shared; j++) {
		enum sh_evkey type;
		const char *v = sh_linker_value(g->linker, shared[e->first_shared + j], &type, NULL);
		printf("%s%s=%s", j ? ", " : "", sh_evkey_name(type), v);
	}
	printf("]\n");
}

static void first_sight(const struct sh_campaigns *g, bool json)
{
	for (size_t i = 0; i < g->n_inds; i++) {
		const struct sh_camp_ind *m = &g->inds[i];
		unsigned f = sh_linker_sight(g->linker, (uint32_t)i);
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "indicator", json_string(m->value));
			json_object_set_new(o, "first_seen", cli_json_time(m->first_seen));
			json_object_set_new(o, "linked", json_boolean(f & SH_SIGHT_LINKED));
			json_object_set_new(o, "on_live_infrastructure",
					    json_boolean(f & SH_SIGHT_COVERED));
			json_object_set_new(o, "host_already_listed", json_boolean(f & SH_SIGHT_HOST));
			json_object_set_new(o, "guarded", json_boolean(f & SH_SIGHT_GUARDED));
			json_object_set_new(o, "shared_with_earlier", json_boolean(f & SH_SIGHT_SEEN));
			json_object_set_new(o, "asn", m->asn ? json_integer(m->asn) : json_null());
			json_object_set_new(o, "prefix", m->prefix ? json_string(m->prefix) : json_null());
			cli_json_line(o);
		} else {
			char t[SH_TIME_STRLEN];
			printf("%s %s%s%s%s%s%s\n", cli_time(m->first_seen, t), m->value,
			       f & SH_SIGHT_LINKED ? " linked" : "",
			       f & SH_SIGHT_COVERED ? " infrastructure" : "",
			       f & SH_SIGHT_HOST ? " host-listed" : "",
			       f & SH_SIGHT_GUARDED ? " guarded" : "",
			       f & SH_SIGHT_SEEN ? " shared" : "");
		}
	}
}

int cmd_respawns(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, true, &o);
	if (rc != CLI_OK)
		return rc == CLI_OK + 100 ? CLI_OK : rc;
	struct sh_store *s;
	struct sh_campaigns *g;
	if ((rc = compute(&o, "respawns", &s, &g)) != CLI_OK)
		return rc;
	if (o.first_sight) {
		first_sight(g, o.c.json);
	} else {
		const struct sh_respawn *e;
		size_t n = sh_linker_respawns(g->linker, &e);
		if (!o.c.json)
			printf("%-20s %-20s %7s %-8s %s\n", "taken_down", "respawned", "delay_h",
			       "campaign", "old -> new  [shared evidence]");
		unsigned long shown = 0;
		for (size_t i = 0; i < n && (!o.limit || shown < o.limit); i++) {
			if (o.campaign && strcmp(g->camps[g->camp_of[e[i].new_ind]].id, o.campaign) != 0)
				continue;
			if (o.network && !on_network(&g->inds[e[i].new_ind], o.network))
				continue;
			respawn_out(g, &e[i], o.c.json);
			shown++;
		}
	}
	sh_campaigns_free(g);
	sh_store_close(s);
	return CLI_OK;
}
