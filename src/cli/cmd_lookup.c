/* sheriff lookup: is this IP, CIDR, domain or URL listed, why, since when, and where it lives. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/campaign.h"
#include "engine/intel.h"
#include "engine/netdb.h"

#define MAX_RELATED 64
#define URLS_ON_HOST_LIMIT 100000

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff lookup [--db PATH] [--json] INDICATOR...   ('-' reads them from stdin)\n\n"
		"For each IP, CIDR, domain or URL: whether it is listed now and why (itself, a listed\n"
		"CIDR that contains it, a listed parent domain, its URL's host, listed URLs on it),\n"
		"first and last seen, whether it is online now, per-source runs, and its network\n"
		"(prefix, ASN, AS org, country, hosting provider) as of its first sighting, and that\n"
		"ASN's verdict (docs/method.md; computed over the whole store once per run).\n"
		"'listed' is true when the indicator or something covering it is on a feed now (an open\n"
		"online run), or when it lands on the address, /24 or registrable domain of a campaign\n"
		"live at the end of the data (reason 'infrastructure', docs/campaigns.md: listed at\n"
		"first sight, for the respawn window only); 'online' is that for the indicator itself\n"
		"(null when never seen itself).\n"
		"Exit 2 when an argument is not an indicator.\n");
}

enum relation { REL_SELF, REL_CIDR, REL_PARENT, REL_HOST, REL_URL };
static const char *const rel_names[] = {"self", "inside", "parent-domain", "host", "url-on-host"};

struct related {
	enum relation rel;
	struct sh_ind_record rec;
};

struct lookup {
	struct sh_store *s;
	struct sh_arena *a;
	struct related v[MAX_RELATED];
	size_t n;
	unsigned long urls_total, urls_online; /* URLs on the host, counted, not all kept */
	enum relation pending;
	unsigned cidr_max_len; /* a covering CIDR is at most this long */
	int rc;
};

static int take(const char *value, void *arg)
{
	struct lookup *l = arg;
	if (l->pending == REL_URL)
		l->urls_total++;
	struct sh_prefix p;
	if (l->pending == REL_CIDR && sh_prefix_parse(value, strlen(value), false, &p) == 0 &&
	    p.len > l->cidr_max_len)
		return 0;
	struct sh_ind_record rec;
	int rc = sh_store_indicator_get(l->s, value, l->a, &rec);
	if (rc == SH_ENOENT)
		return 0;
	if (rc != 0) {
		l->rc = rc;
		return rc;
	}
	if (l->pending == REL_URL && rec.online)
		l->urls_online++;
	/* keep every covering record, but only a few URLs (online ones first come as they come) */
	if (l->n < MAX_RELATED && (l->pending != REL_URL || l->urls_total <= 5)) {
		l->v[l->n].rel = l->pending;
		l->v[l->n].rec = rec;
		l->n++;
	}
	return 0;
}

static void collect(struct lookup *l, const struct sh_indicator *ind)
{
	char ipbuf[SH_IP_STRLEN];
	const char *hostname = NULL;
	bool host_is_ip = false;
	if (ind->type == SH_IND_DOMAIN || ind->type == SH_IND_URL) {
		if (ind->host.type == SH_HOST_DOMAIN) {
			hostname = ind->host.name;
		} else {
			sh_ip_format(&ind->host.ip, ipbuf);
			hostname = ipbuf;
			host_is_ip = true;
		}
	} else if (ind->type == SH_IND_IP) {
		sh_ip_format(&ind->prefix.ip, ipbuf);
		hostname = ipbuf;
		host_is_ip = true;
	}

	l->pending = REL_SELF;
	if (take(ind->value, l) != 0)
		return;
	if (ind->type == SH_IND_URL) {
		l->pending = REL_HOST;
		if (take(hostname, l) != 0)
			return;
	}
	l->pending = REL_CIDR;
	l->cidr_max_len = ind->type == SH_IND_CIDR ? ind->prefix.len : 128;
	if (ind->type == SH_IND_IP || ind->type == SH_IND_CIDR) {
		if (sh_store_cidrs_containing(l->s, &ind->prefix.ip, take, l) != 0 && l->rc)
			return;
	} else if (host_is_ip) {
		if (sh_store_cidrs_containing(l->s, &ind->host.ip, take, l) != 0 && l->rc)
			return;
	}
	if (hostname && !host_is_ip) {
		l->pending = REL_PARENT;
		if (sh_store_parent_domains(l->s, hostname, take, l) != 0 && l->rc)
			return;
	}
	if (hostname && ind->type != SH_IND_URL) {
		l->pending = REL_URL;
		if (sh_store_urls_on_host(l->s, hostname, URLS_ON_HOST_LIMIT, take, l) != 0 && l->rc)
			return;
	}
}

/* CIDR relations include the indicator's own value for CIDRs; drop those duplicates. */
static bool is_self_dup(const struct lookup *l, size_t i)
{
	return l->v[i].rel != REL_SELF && l->n && l->v[0].rel == REL_SELF &&
	       strcmp(l->v[i].rec.value, l->v[0].rec.value) == 0;
}

static void reason_text(const struct related *r, char *buf, size_t len)
{
	char a[SH_TIME_STRLEN], b[SH_TIME_STRLEN];
	size_t off = 0;
	switch (r->rel) {
	case REL_SELF:
		off = (size_t)snprintf(buf, len, "itself");
		break;
	case REL_CIDR:
		off = (size_t)snprintf(buf, len, "inside %s", r->rec.value);
		break;
	case REL_PARENT:
		off = (size_t)snprintf(buf, len, "under %s", r->rec.value);
		break;
	case REL_HOST:
		off = (size_t)snprintf(buf, len, "its host %s", r->rec.value);
		break;
	case REL_URL:
		off = (size_t)snprintf(buf, len, "serves %s", r->rec.value);
		break;
	}
	for (size_t i = 0; i < r->rec.n_sightings && off < len; i++) {
		const struct sh_sighting *sg = &r->rec.sightings[i];
		const char *extra = sg->malware ? sg->malware : sg->threat ? sg->threat : sg->ref;
		if (sg->online)
			off += (size_t)snprintf(buf + off, len - off, "%s on %s since %s%s%s%s", i ? ";" : "",
						sg->source, cli_time(sg->n_runs ? sg->runs[sg->n_runs - 1].start : sg->first_seen, a),
						extra ? " (" : "", extra ? extra : "", extra ? ")" : "");
		else
			off += (size_t)snprintf(buf + off, len - off, "%s was on %s %s..%s in %zu run%s%s%s%s",
						i ? ";" : "", sg->source, cli_time(sg->first_seen, a),
						cli_time(sg->last_seen, b), sg->n_runs, sg->n_runs == 1 ? "" : "s",
						extra ? " (" : "", extra ? extra : "", extra ? ")" : "");
	}
}

static json_t *sightings_json(const struct sh_ind_record *rec)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < rec->n_sightings; i++) {
		const struct sh_sighting *sg = &rec->sightings[i];
		json_t *runs = json_array();
		for (size_t k = 0; k < sg->n_runs; k++)
			json_array_append_new(runs, json_pack("{s:o, s:o}", "start", cli_json_time(sg->runs[k].start),
							      "end", cli_json_time(sg->runs[k].end)));
		json_t *o = json_pack("{s:s, s:o, s:o, s:b, s:o}", "source", sg->source,
				      "first_seen", cli_json_time(sg->first_seen), "last_seen",
				      cli_json_time(sg->last_seen), "online", sg->online, "runs", runs);
		if (sg->threat)
			json_object_set_new(o, "threat", json_string(sg->threat));
		if (sg->malware)
			json_object_set_new(o, "malware", json_string(sg->malware));
		if (sg->tags)
			json_object_set_new(o, "tags", json_string(sg->tags));
		if (sg->ref)
			json_object_set_new(o, "ref", json_string(sg->ref));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Network verdicts per ASN, computed over the whole store on first need, once per run. */
struct verdicts {
	struct sh_intel *in;
	int rc; /* non-zero: could not be computed, do not retry */
};

static const struct sh_intel_net *verdict_of(struct sh_store *s, struct verdicts *v, uint32_t asn)
{
	if (!v->in && !v->rc && (v->rc = sh_intel_compute(s, SH_INTEL_ASN, &v->in)) != 0)
		cli_err("network verdicts unavailable: %s", sh_strerror(v->rc));
	if (!v->in)
		return NULL;
	char key[16];
	snprintf(key, sizeof(key), "AS%u", asn);
	return sh_intel_find(v->in, key);
}

/* Campaigns, linked over the whole store on first need, once per run. */
struct camps {
	struct sh_campaigns *c;
	int rc;
};

static bool infra_of(struct sh_store *s, struct camps *cs, const struct sh_indicator *ind,
		     struct sh_camp_infra *out)
{
	if (!cs->c && !cs->rc) {
		struct sh_linker_config cfg = {SH_CAMPAIGN_WINDOW_DEFAULT, SH_CAMPAIGN_BOUND_DEFAULT};
		if ((cs->rc = sh_campaigns_compute(s, NULL, &cfg, false, &cs->c)) != 0)
			cli_err("campaigns unavailable: %s", sh_strerror(cs->rc));
	}
	if (!cs->c || ind->type == SH_IND_CIDR)
		return false;
	const struct sh_ip *ip = ind->type == SH_IND_IP ? &ind->prefix.ip
				 : ind->host.type == SH_HOST_IP ? &ind->host.ip : NULL;
	const char *name = ind->type == SH_IND_DOMAIN ? ind->value
			   : ind->type == SH_IND_URL && ind->host.type == SH_HOST_DOMAIN ? ind->host.name
											 : NULL;
	return sh_campaigns_infrastructure(cs->c, ip, name, out);
}

static void infra_text(const struct sh_camp_infra *x, char *buf, size_t len)
{
	char t[SH_TIME_STRLEN];
	const struct sh_campaign *k = x->campaign;
	int n = snprintf(buf, len,
			 "infrastructure: on %s %s of live campaign %s (%zu members, %zu online, "
			 "%zu respawn%s)",
			 sh_evkey_name(x->key), x->value, k->id, k->n_members, k->online,
			 k->n_respawns, k->n_respawns == 1 ? "" : "s");
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, x->until == SH_TIME_NONE
							    ? ", listed while a member is online"
							    : ", listed until %s",
			 cli_time(x->until, t));
}

static json_t *verdict_json(const struct sh_intel_net *n)
{
	json_t *reasons = json_array();
	for (size_t i = 0; i < n->score.n_reasons; i++)
		json_array_append_new(reasons, json_string(n->score.reasons[i]));
	return json_pack("{s:s, s:s, s:f, s:o}", "network", n->key, "verdict",
			 sh_verdict_name(n->score.verdict), "score", n->score.score, "reasons", reasons);
}

/* Looks one argument up and prints it; CLI_OK, CLI_PARTIAL (not an indicator) or CLI_FAIL. */
static int lookup_one(struct sh_store *s, struct sh_netdb *db, struct verdicts *vs,
		      struct camps *cs, const char *arg, bool json)
{
	struct sh_indicator *ind = malloc(sizeof(*ind));
	if (!ind)
		return CLI_FAIL;
	int rc = sh_indicator_parse(arg, strlen(arg), ind);
	if (rc != 0) {
		cli_err("%s: not an IP, CIDR, domain or URL (%s)", arg, sh_strerror(rc));
		if (json)
			cli_json_line(json_pack("{s:s, s:n, s:s}", "indicator", arg, "type", "error",
						"not an IP, CIDR, domain or URL"));
		free(ind);
		return CLI_PARTIAL;
	}
	struct sh_arena a;
	sh_arena_init(&a, 65536);
	struct lookup l = {.s = s, .a = &a};
	collect(&l, ind);
	if (l.rc != 0) {
		cli_err("%s: %s (%s)", arg, sh_strerror(l.rc), sh_store_errmsg(s));
		sh_arena_fini(&a);
		free(ind);
		return CLI_FAIL;
	}

	const struct sh_ind_record *self = l.n && l.v[0].rel == REL_SELF ? &l.v[0].rec : NULL;
	bool listed = false;
	int64_t first = SH_TIME_NONE, last = SH_TIME_NONE;
	for (size_t i = 0; i < l.n; i++) {
		const struct sh_ind_record *r = &l.v[i].rec;
		if (is_self_dup(&l, i))
			continue;
		listed |= r->online;
		if (self && r != self)
			continue; /* since-when is the indicator's own when it has one */
		if (first == SH_TIME_NONE || (r->first_seen != SH_TIME_NONE && r->first_seen < first))
			first = r->first_seen;
		if (last == SH_TIME_NONE || r->last_seen > last)
			last = r->last_seen;
	}
	listed |= l.urls_online > 0;
	struct sh_camp_infra infra;
	bool on_infra = infra_of(s, cs, ind, &infra);
	listed |= on_infra;

	/* network of the address, as of its first sighting */
	const struct sh_ip *ip = NULL;
	if (ind->type == SH_IND_IP || ind->type == SH_IND_CIDR)
		ip = &ind->prefix.ip;
	else if (ind->host.type == SH_HOST_IP)
		ip = &ind->host.ip;
	struct sh_attrib at = {.org = "", .country = ""};
	bool have_at = false;
	if (ip && db) {
		rc = sh_netdb_attribute(db, ip, first, &at);
		if (rc != 0) {
			cli_err("%s: network tables: %s", arg, sh_strerror(rc));
		} else {
			have_at = true;
		}
	}

	const struct sh_intel_net *verdict =
		have_at && at.mapped && at.asn ? verdict_of(s, vs, at.asn) : NULL;
	char reason[2048];
	char pfx[SH_PREFIX_STRLEN] = "";
	if (have_at && at.mapped)
		sh_prefix_format(&at.prefix, pfx);
	if (json) {
		json_t *reasons = json_array(), *related = json_array();
		for (size_t i = 0; i < l.n; i++) {
			if (is_self_dup(&l, i))
				continue;
			reason_text(&l.v[i], reason, sizeof(reason));
			json_array_append_new(reasons, json_string(reason));
			if (l.v[i].rel != REL_SELF)
				json_array_append_new(related,
						      json_pack("{s:s, s:s, s:b, s:o, s:o, s:o}", "value",
								l.v[i].rec.value, "relation", rel_names[l.v[i].rel],
								"online", l.v[i].rec.online, "first_seen",
								cli_json_time(l.v[i].rec.first_seen), "last_seen",
								cli_json_time(l.v[i].rec.last_seen), "sources",
								sightings_json(&l.v[i].rec)));
		}
		if (l.urls_total > 5) {
			snprintf(reason, sizeof(reason), "%lu URLs on this host are known, %lu online now",
				 l.urls_total, l.urls_online);
			json_array_append_new(reasons, json_string(reason));
		}
		if (on_infra) {
			infra_text(&infra, reason, sizeof(reason));
			json_array_append_new(reasons, json_string(reason));
		}
		if (at.special) {
			snprintf(reason, sizeof(reason), "special-purpose address space (%s): never attributed",
				 at.special);
			json_array_append_new(reasons, json_string(reason));
		}
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
				      "indicator", ind->value, "input", arg, "type", sh_ind_type_name(ind->type),
				      "listed", listed, "reasons", reasons,
				      "first_seen", cli_json_time(first), "last_seen", cli_json_time(last),
				      "online", self ? json_boolean(self->online) : json_null(),
				      "sources", self ? sightings_json(self) : json_array(),
				      "related", related);
		json_object_set_new(o, "prefix", pfx[0] ? json_string(pfx) : json_null());
		json_object_set_new(o, "asn", have_at && at.mapped && at.asn ? json_integer(at.asn) : json_null());
		json_object_set_new(o, "as_org", have_at && at.org[0] ? json_string(at.org) : json_null());
		json_object_set_new(o, "country", have_at && at.country[0] ? json_string(at.country) : json_null());
		json_object_set_new(o, "hosting", have_at && at.hosting ? json_string(at.hosting) : json_null());
		json_object_set_new(o, "special", at.special ? json_string(at.special) : json_null());
		json_object_set_new(o, "urls_on_host", json_integer((json_int_t)l.urls_total));
		json_object_set_new(o, "network_as_of", cli_json_time(at.asn_table_as_of));
		json_object_set_new(o, "network_verdict", verdict ? verdict_json(verdict) : json_null());
		json_object_set_new(o, "infrastructure",
				    on_infra ? json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "key",
							 sh_evkey_name(infra.key), "value", infra.value,
							 "campaign", infra.campaign->id,
							 "members", (json_int_t)infra.campaign->n_members,
							 "online", (json_int_t)infra.campaign->online, "until",
							 cli_json_time(infra.until))
					     : json_null());
		cli_json_line(o);
	} else {
		char a1[SH_TIME_STRLEN], a2[SH_TIME_STRLEN];
		printf("%s (%s): %s\n", ind->value, sh_ind_type_name(ind->type), listed ? "LISTED" : "not listed");
		for (size_t i = 0; i < l.n; i++) {
			if (is_self_dup(&l, i))
				continue;
			reason_text(&l.v[i], reason, sizeof(reason));
			printf("  why:      %s\n", reason);
		}
		if (l.urls_total > 5)
			printf("  why:      %lu URLs on this host are known, %lu online now\n", l.urls_total,
			       l.urls_online);
		if (on_infra) {
			infra_text(&infra, reason, sizeof(reason));
			printf("  why:      %s\n", reason);
		}
		if (l.n)
			printf("  seen:     first %s, last %s%s\n", cli_time(first, a1), cli_time(last, a2),
			       self ? (self->online ? ", online now" : ", offline now") : "");
		else
			printf("  seen:     never, in no feed\n");
		if (at.special)
			printf("  network:  special-purpose address space (%s), never attributed\n", at.special);
		else if (have_at && at.mapped)
			printf("  network:  %s  AS%u  %s  %s%s%s\n", pfx, at.asn, at.org[0] ? at.org : "-",
			       at.country[0] ? at.country : "--", at.hosting ? "  hosting: " : "",
			       at.hosting ? at.hosting : "");
		else if (ip)
			printf("  network:  not in any imported table%s%s\n", at.hosting ? "; hosting: " : "",
			       at.hosting ? at.hosting : "");
		if (verdict)
			printf("  verdict:  AS%u %s (score %.1f): %s\n", at.asn, sh_verdict_name(verdict->score.verdict),
			       verdict->score.score, verdict->score.n_reasons ? verdict->score.reasons[0] : "");
	}
	sh_arena_fini(&a);
	free(ind);
	return CLI_OK;
}

int cmd_lookup(int argc, char **argv)
{
	static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
	struct cli_common c = {0};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		if (opt == 'h') {
			help(stdout);
			return CLI_OK;
		}
		help(stderr);
		return CLI_USAGE;
	}
	if (optind >= argc) {
		cli_err("lookup: give at least one INDICATOR, or - to read them from stdin");
		return CLI_USAGE;
	}
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	struct sh_netdb *db = NULL;
	int rc = sh_netdb_open(s, &db);
	if (rc != 0)
		cli_err("network tables unavailable: %s", sh_strerror(rc));
	int ret = CLI_OK;
	struct verdicts vs = {0};
	struct camps cs = {0};
	for (int i = optind; i < argc && ret != CLI_FAIL; i++) {
		if (strcmp(argv[i], "-") != 0) {
			int r = lookup_one(s, db, &vs, &cs, argv[i], c.json);
			ret = r > ret ? r : ret;
			continue;
		}
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while (ret != CLI_FAIL && (n = getline(&line, &cap, stdin)) >= 0) {
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
				line[--n] = '\0';
			if (n == 0 || line[0] == '#')
				continue;
			int r = lookup_one(s, db, &vs, &cs, line, c.json);
			ret = r > ret ? r : ret;
		}
		free(line);
	}
	sh_intel_free(vs.in);
	sh_campaigns_free(cs.c);
	sh_netdb_free(db);
	sh_store_close(s);
	return ret;
}
