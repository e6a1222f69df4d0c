/* sheriff networks: networks (prefix, ASN, AS org, country) ranked by the abuse attributed to
 * them, each indicator attributed with the network table in force on its first sighting. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/netdb.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff networks [--by prefix|asn|org|country] [--hosting-only] [--limit N]\n"
		"                        [--db PATH] [--json]\n\n"
		"Attributes every stored indicator that has an address (IPs, CIDRs, URLs on an IP) to\n"
		"its network as of its first sighting and ranks networks by indicators, active ones\n"
		"(online now) first among equals. Special-purpose space is never attributed.\n"
		"  --by KEY        group by routed prefix, origin ASN (default), AS org or country\n"
		"  --hosting-only  count only indicators inside known hosting ranges\n"
		"  --limit N       print the first N networks (default 20, 0 for all)\n");
}

enum by { BY_PREFIX, BY_ASN, BY_ORG, BY_COUNTRY };

struct net {
	char *key;
	uint32_t asn;
	const char *org, *country; /* point into the netdb */
	unsigned long total, active, hosting;
};

struct agg {
	struct sh_netdb *db;
	enum by by;
	bool hosting_only;
	struct net *v;
	size_t n, cap;
	/* open addressing over v indices + 1 */
	size_t *slots, nslots;
	unsigned long special, unmapped, attributed;
	int rc;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int grow_slots(struct agg *g)
{
	size_t n = g->nslots ? g->nslots * 2 : 1024;
	size_t *s = calloc(n, sizeof(*s));
	if (!s)
		return SH_ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		size_t k = hash_str(g->v[i].key) & (n - 1);
		while (s[k])
			k = (k + 1) & (n - 1);
		s[k] = i + 1;
	}
	free(g->slots);
	g->slots = s;
	g->nslots = n;
	return 0;
}

static struct net *find(struct agg *g, const char *key)
{
	if ((g->n + 1) * 2 > g->nslots && grow_slots(g) != 0)
		return NULL;
	size_t k = hash_str(key) & (g->nslots - 1);
	while (g->slots[k]) {
		struct net *n = &g->v[g->slots[k] - 1];
		if (strcmp(n->key, key) == 0)
			return n;
		k = (k + 1) & (g->nslots - 1);
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		struct net *v = realloc(g->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		g->v = v;
		g->cap = cap;
	}
	struct net *n = &g->v[g->n];
	memset(n, 0, sizeof(*n));
	n->key = strdup(key);
	if (!n->key)
		return NULL;
	g->slots[k] = ++g->n;
	return n;
}

static int on_ind(const struct sh_ind_brief *ind, void *arg)
{
	struct agg *g = arg;
	struct sh_attrib at;
	int rc = sh_netdb_attribute(g->db, &ind->prefix.ip, ind->first_seen, &at);
	if (rc != 0)
		return g->rc = rc;
	if (at.special) {
		g->special++;
		return 0;
	}
	if (g->hosting_only && !at.hosting)
		return 0;
	char key[SH_PREFIX_STRLEN + 16];
	switch (g->by) {
	case BY_PREFIX:
		if (!at.mapped) {
			g->unmapped++;
			return 0;
		}
		sh_prefix_format(&at.prefix, key);
		break;
	case BY_ASN:
		if (!at.mapped || !at.asn) {
			g->unmapped++;
			return 0;
		}
		snprintf(key, sizeof(key), "AS%u", at.asn);
		break;
	case BY_ORG:
		if (!at.org[0]) {
			g->unmapped++;
			return 0;
		}
		break;
	case BY_COUNTRY:
		if (!at.country[0]) {
			g->unmapped++;
			return 0;
		}
		break;
	}
	struct net *n = find(g, g->by == BY_ORG ? at.org : g->by == BY_COUNTRY ? at.country : key);
	if (!n)
		return g->rc = SH_ENOMEM;
	if (!n->total) {
		n->asn = g->by == BY_PREFIX || g->by == BY_ASN ? at.asn : 0;
		n->org = g->by == BY_PREFIX || g->by == BY_ASN ? at.org : "";
		n->country = g->by == BY_COUNTRY ? "" : at.country;
	}
	g->attributed++;
	n->total++;
	n->active += ind->online;
	n->hosting += at.hosting != NULL;
	return 0;
}

static int cmp_net(const void *a, const void *b)
{
	const struct net *x = a, *y = b;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if (x->active != y->active)
		return x->active < y->active ? 1 : -1;
	return strcmp(x->key, y->key);
}

int cmd_networks(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"by", required_argument, NULL, 'b'},
		{"hosting-only", no_argument, NULL, 'H'},
		{"limit", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct agg g = {.by = BY_ASN};
	long limit = 20;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'b':
			if (strcmp(optarg, "prefix") == 0)
				g.by = BY_PREFIX;
			else if (strcmp(optarg, "asn") == 0)
				g.by = BY_ASN;
			else if (strcmp(optarg, "org") == 0)
				g.by = BY_ORG;
			else if (strcmp(optarg, "country") == 0)
				g.by = BY_COUNTRY;
			else {
				cli_err("--by: one of prefix, asn, org, country");
				return CLI_USAGE;
			}
			break;
		case 'H':
			g.hosting_only = true;
			break;
		case 'l': {
			char *end;
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 0) {
				cli_err("--limit: give a number >= 0");
				return CLI_USAGE;
			}
			break;
		}
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
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	int rc = sh_netdb_open(s, &g.db);
	if (rc == 0 && sh_netdb_tables(g.db) == 0)
		cli_err("no network tables imported yet (sheriff asmap import): nothing to attribute");
	if (rc == 0)
		rc = sh_store_foreach_addressed(s, on_ind, &g);
	if (rc == 0)
		rc = g.rc;
	int ret = CLI_OK;
	if (rc != 0) {
		cli_err("networks: %s %s", sh_strerror(rc), rc == SH_ESTORE ? sh_store_errmsg(s) : "");
		ret = CLI_FAIL;
	} else {
		qsort(g.v, g.n, sizeof(*g.v), cmp_net);
		size_t shown = limit && (size_t)limit < g.n ? (size_t)limit : g.n;
		static const char *const bynames[] = {"prefix", "asn", "org", "country"};
		if (!c.json)
			printf("%-4s %-20s %9s %7s %8s  %-8s %-2s %s\n", "rank", bynames[g.by], "total",
			       "active", "hosting", "asn", "cc", "org");
		for (size_t i = 0; i < shown; i++) {
			const struct net *n = &g.v[i];
			if (c.json) {
				json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:i, s:i}", "rank", (json_int_t)(i + 1),
						      "by", bynames[g.by], "key", n->key, "indicators_total",
						      (json_int_t)n->total, "indicators_active", (json_int_t)n->active,
						      "indicators_in_hosting", (json_int_t)n->hosting);
				if (n->asn)
					json_object_set_new(o, "asn", json_integer(n->asn));
				if (n->org && n->org[0])
					json_object_set_new(o, "as_org", json_string(n->org));
				if (n->country && n->country[0])
					json_object_set_new(o, "country", json_string(n->country));
				cli_json_line(o);
			} else {
				char asn[16] = "";
				if (n->asn)
					snprintf(asn, sizeof(asn), "AS%u", n->asn);
				printf("%-4zu %-20s %9lu %7lu %8lu  %-8s %-2s %s\n", i + 1, n->key, n->total,
				       n->active, n->hosting, asn, n->country ? n->country : "",
				       n->org ? n->org : "");
			}
		}
		fprintf(stderr, "%lu indicators attributed to %zu networks; %lu without a network, %lu in "
				"special-purpose space\n", g.attributed, g.n, g.unmapped, g.special);
	}
	for (size_t i = 0; i < g.n; i++)
		free(g.v[i].key);
	free(g.v);
	free(g.slots);
	sh_netdb_free(g.db);
	sh_store_close(s);
	return ret;
}
