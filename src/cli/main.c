/* sheriff command line: one binary, one file per subcommand, dispatched from this table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"asmap", cmd_asmap, "import IP-to-ASN/org/country tables (asmap import)"},
	{"campaigns", cmd_campaigns, "groups of indicators linked by respawns, with their evidence"},
	{"dnsbl", cmd_dnsbl, "DNSBL server over rbldnsd data files (RFC 5782)"},
	{"export", cmd_export, "publish the listings: rbldnsd, RPZ, zone, DROP, nft, ipset, STIX, MISP, ..."},
	{"hosting", cmd_hosting, "import hosting and cloud provider ranges (hosting import)"},
	{"ingest", cmd_ingest, "ingest feed snapshots (files or URLs)"},
	{"lifetimes", cmd_lifetimes, "survival of indicators: lifetimes, time to takedown, one-day share"},
	{"lookup", cmd_lookup, "is this IP, CIDR, domain or URL listed, why, since when, where"},
	{"networks", cmd_networks, "networks (prefix, ASN, org, country) ranked by abuse"},
	{"report", cmd_report, "standalone HTML report with charts (report --out FILE.html)"},
	{"resolve", cmd_resolve, "resolve tracked host names (A, AAAA, NS) and store what they gave"},
	{"respawns", cmd_respawns, "new indicators linked to the ones taken down before them"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: sheriff SUBCOMMAND [--db PATH] [--json] [OPTIONS] ...\n\n"
		   "Tracks and scores the networks that harbour abuse (bulletproof hosting) and the\n"
		   "short-lived sites on them.\n\nsubcommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'sheriff SUBCOMMAND --help' describes each. The database is --db, else\n"
		   "$SHERIFF_DB, else ./sheriff.db. Exit codes: 0 ok, 1 usage error, 2 bad input partly\n"
		   "accepted, 3 failure.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("sheriff 0.1.0\n");
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	cli_err("unknown subcommand '%s'", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
