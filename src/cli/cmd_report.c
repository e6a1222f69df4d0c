/* sheriff report: one self-contained HTML file with the network ranking, survival curves,
 * lifetime histogram, one-day share over time and countries, as SVG (no script, nothing
 * fetched when viewed). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "engine/report.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff report --out FILE.html [--by prefix|asn|org|country] [--top N]\n"
		"                      [--title TEXT] [--db PATH]\n\n"
		"Writes one standalone HTML file (inline CSS and SVG, no script, nothing fetched when\n"
		"viewed): the networks ranked by BPH score with their verdicts and reasons, the time\n"
		"to takedown of the worst networks against all (Kaplan-Meier), the lifetime\n"
		"histogram, the one-day-wonder share per month and the countries. '-' writes to\n"
		"stdout. Method: docs/method.md.\n"
		"  --out FILE   where to write (required)\n"
		"  --by KEY     networks by routed prefix, origin ASN (default), AS org or country\n"
		"  --top N      networks in the charts and the table (default 20)\n"
		"  --title TEXT the report's title\n");
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"out", required_argument, NULL, 'o'},
		{"by", required_argument, NULL, 'b'},
		{"top", required_argument, NULL, 't'},
		{"title", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	enum sh_intel_by by = SH_INTEL_ASN;
	const char *out = NULL;
	struct sh_report_opts ro = {.generated = (int64_t)time(NULL)};
	int opt;
	while ((opt = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'b':
			if (!sh_intel_by_parse(optarg, &by) || by == SH_INTEL_ALL) {
				cli_err("--by: one of prefix, asn, org, country");
				return CLI_USAGE;
			}
			break;
		case 't': {
			unsigned long n;
			if (!cli_parse_count("--top", optarg, 1, 1000, &n))
				return CLI_USAGE;
			ro.top = (size_t)n;
			break;
		}
		case 'T':
			ro.title = optarg;
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
		cli_err("report: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (!out) {
		cli_err("report: give --out FILE.html");
		help(stderr);
		return CLI_USAGE;
	}
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	struct sh_intel *nets = NULL, *countries = NULL;
	int rc = sh_intel_compute(s, by, &nets);
	if (rc == 0)
		rc = by == SH_INTEL_COUNTRY ? 0 : sh_intel_compute(s, SH_INTEL_COUNTRY, &countries);
	sh_store_close(s);
	if (rc != 0) {
		cli_err("report: %s", sh_strerror(rc));
		sh_intel_free(nets);
		return CLI_FAIL;
	}
	/* written beside the target and renamed, so a failed run leaves no half report */
	bool to_stdout = strcmp(out, "-") == 0;
	char *tmp = NULL;
	FILE *f = to_stdout ? stdout : NULL;
	if (!to_stdout) {
		if (asprintf(&tmp, "%s.tmp", out) < 0) {
			tmp = NULL;
			rc = SH_ENOMEM;
		} else if (!(f = fopen(tmp, "w"))) {
			cli_err("report: cannot write %s: %s", tmp, strerror(errno));
			rc = SH_EIO;
		}
	}
	if (rc == 0)
		rc = sh_report_write(f, nets, by == SH_INTEL_COUNTRY ? nets : countries, &ro);
	if (!to_stdout && f) {
		if (fclose(f) != 0 && rc == 0)
			rc = SH_EIO;
		if (rc == 0 && rename(tmp, out) != 0) {
			cli_err("report: cannot rename %s to %s: %s", tmp, out, strerror(errno));
			rc = SH_EIO;
		}
		if (rc != 0)
			remove(tmp);
	}
	if (rc != 0)
		cli_err("report: %s", sh_strerror(rc));
	else if (!to_stdout)
		fprintf(stderr, "report: %s (%zu networks, %lu indicators)\n", out, nets->n_nets,
			nets->all.indicators);
	free(tmp);
	sh_intel_free(nets);
	sh_intel_free(countries);
	return rc == 0 ? CLI_OK : CLI_FAIL;
}
