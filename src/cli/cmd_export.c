/* sheriff export: publishes the current listings in a consumer's format, under the listing
 * policy and the publish guard. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "engine/listing.h"
#include "engine/policy.h"
#include "export/export.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void help(FILE *f)
{
	fprintf(f, "usage: sheriff export --format NAME [--out PATH] [--policy FILE] [--kind KIND]\n"
		   "                      [--zone NAME] [--state DIR] [--at TIME] [--force] [--db PATH]\n"
		   "                      [--timing] [--json]\n"
		   "       sheriff export --show-policy [--policy FILE]\n\n"
		   "Writes what the store lists now (online indicators, offline ones for their grace\n"
		   "period, never anything allowlisted) in a consumer's format, each entry with its\n"
		   "evidence where the format has room. Formats:\n");
	for (size_t i = 0; sh_export_formats[i]; i++)
		fprintf(f, "  %-10s %s\n", sh_export_formats[i]->name, sh_export_formats[i]->description);
	fprintf(f,
		"\n  --out PATH      the file (a directory for suricata and misp), replaced atomically;\n"
		"                  without it the export goes to stdout\n"
		"  --policy FILE   listing policy (default: the built-in one, as etc/sheriff-policy.conf)\n"
		"  --kind KIND     rbldnsd: ip4set, ip4trie (default), ip6trie, dnset; zone: ip4\n"
		"                  (default), ip6, domain; drop, drop-json, nft, ipset: ip4 or ip6 only\n"
		"  --zone NAME     zone name for rbldnsd, zone and rpz (default: the policy's)\n"
		"  --state DIR     where the guard and STIX/MISP versions are remembered (default:\n"
		"                  beside the output, .NAME.FORMAT.state)\n"
		"  --at TIME       the export time (default: now); listings expire relative to it\n"
		"  --force         publish even when the guard refuses (it still says why)\n"
		"  --show-policy   print the effective policy and exit\n"
		"  --timing        print the time spent in each phase to stderr\n\n"
		"The guard refuses to replace the output when the list shrank by more than the\n"
		"policy's max_shrink since the last publish, or when it would list the whole address\n"
		"space, a prefix shorter than min_prefix_v4/v6, a public suffix, or anything the\n"
		"allowlist holds; the previous output then stays as it was (exit 3). To stdout the\n"
		"content checks apply but nothing is remembered. Exit 2 when allow files had bad lines.\n");
}

struct diag_state {
	unsigned long n;
};

static void on_diag(void *arg, const char *file, unsigned long line, const char *msg)
{
	struct diag_state *d = arg;
	d->n++;
	if (line)
		fprintf(stderr, "%s:%lu: %s\n", file ? file : "policy", line, msg);
	else
		fprintf(stderr, "%s: %s\n", file ? file : "policy", msg);
}

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	cli_err("%s", msg);
}

int cmd_export(int argc, char **argv)
{
	enum { O_FORMAT = 1, O_OUT, O_POLICY, O_KIND, O_ZONE, O_STATE, O_AT, O_FORCE, O_SHOW, O_TIMING };
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"format", required_argument, NULL, O_FORMAT},
		{"out", required_argument, NULL, O_OUT},
		{"policy", required_argument, NULL, O_POLICY},
		{"kind", required_argument, NULL, O_KIND},
		{"zone", required_argument, NULL, O_ZONE},
		{"state", required_argument, NULL, O_STATE},
		{"at", required_argument, NULL, O_AT},
		{"force", no_argument, NULL, O_FORCE},
		{"show-policy", no_argument, NULL, O_SHOW},
		{"timing", no_argument, NULL, O_TIMING},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	const struct sh_export_format *fmt = NULL;
	const char *policy_path = NULL, *zone = NULL;
	enum sh_export_kind kind = SH_KIND_DEFAULT;
	struct sh_export_opts o = {.warn = on_warn};
	int64_t at = (int64_t)time(NULL);
	bool show = false, timing = false;
	char zone_buf[SH_DOMAIN_MAX];
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case O_FORMAT:
			fmt = sh_export_format_find(optarg);
			if (!fmt) {
				cli_err("unknown format '%s' (see sheriff export --help)", optarg);
				return CLI_USAGE;
			}
			break;
		case O_OUT:
			o.out = optarg;
			break;
		case O_POLICY:
			policy_path = optarg;
			break;
		case O_KIND:
			if (sh_export_kind_parse(optarg, &kind) != 0) {
				cli_err("unknown --kind '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case O_ZONE:
			if (sh_domain_normalise(optarg, strlen(optarg), zone_buf) != 0) {
				cli_err("--zone: '%s' is not a domain name", optarg);
				return CLI_USAGE;
			}
			zone = zone_buf;
			break;
		case O_STATE:
			o.state_dir = optarg;
			break;
		case O_AT:
			if (!cli_parse_time("--at", optarg, &at))
				return CLI_USAGE;
			break;
		case O_FORCE:
			o.force = true;
			break;
		case O_SHOW:
			show = true;
			break;
		case O_TIMING:
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
		cli_err("export: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	struct diag_state ds = {0};
	struct sh_policy *p = NULL;
	int rc = policy_path ? sh_policy_load(policy_path, on_diag, &ds, &p) : sh_policy_new(&p);
	if (rc != 0) {
		cli_err("export: the policy %s cannot be used (%s); nothing was published",
			policy_path ? policy_path : "(built-in)", sh_strerror(rc));
		return CLI_USAGE;
	}
	if (show) {
		sh_policy_dump(p, stdout);
		sh_policy_free(p);
		return CLI_OK;
	}
	if (!fmt) {
		cli_err("export: --format is required (see sheriff export --help)");
		sh_policy_free(p);
		return CLI_USAGE;
	}
	if (kind != SH_KIND_DEFAULT && !(fmt->kinds & (1u << kind))) {
		cli_err("export: --kind %s does not apply to --format %s", sh_export_kind_name(kind),
			fmt->name);
		sh_policy_free(p);
		return CLI_USAGE;
	}
	if (fmt->dir && !o.out) {
		cli_err("export: --format %s writes several files: give --out DIR", fmt->name);
		sh_policy_free(p);
		return CLI_USAGE;
	}
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK) {
		sh_policy_free(p);
		return CLI_FAIL;
	}
	struct sh_allowlist *al = NULL;
	struct sh_listing_set set;
	memset(&set, 0, sizeof(set));
	unsigned long policy_diags = ds.n;
	/* STIX and MISP remember a million versions: read them while the listings are built */
	struct sh_export_prefetch *pre = NULL;
	if (sh_export_prefetch_start(fmt, &o, &pre) == 0)
		o.prefetch = pre;
	double t0 = now_s();
	rc = sh_allowlist_build(p, s, on_diag, &ds, &al);
	double t_allow = now_s() - t0;
	if (rc == 0)
		rc = sh_listing_build(s, p, al, at, &set);
	int ret = CLI_OK;
	if (rc != 0) {
		cli_err("export: cannot build the listings: %s (%s)", sh_strerror(rc), sh_store_errmsg(s));
		ret = CLI_FAIL;
	} else {
		struct sh_export_ctx ctx = {.set = &set, .policy = p, .allow = al, .kind = kind,
					    .zone = zone, .at = at, .tool = "sheriff 0.1.0"};
		struct sh_export_result res;
		double t1 = now_s();
		rc = sh_export_run(fmt, &ctx, &o, &res);
		if (timing)
			fprintf(stderr,
				"timing: allowlist %.3f s, read and policy %.3f s, sort %.3f s, "
				"write %.3f s\n",
				t_allow, set.timing.read, set.timing.sort, now_s() - t1);
		if (rc == SH_ECONFLICT && res.refused) {
			cli_err("export refused by the guard: %s; %s", res.why,
				o.out ? "the previous output is kept (--force publishes anyway)"
				      : "nothing was written (--force writes anyway)");
			ret = CLI_FAIL;
		} else if (rc != 0) {
			cli_err("export failed: %s%s%s", sh_strerror(rc), res.why[0] ? ": " : "", res.why);
			ret = CLI_FAIL;
		} else {
			const struct sh_listing_stats *st = &set.stats;
			if (c.json) {
				json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
						      "format", fmt->name, "out", o.out ? o.out : "-",
						      "entries", (json_int_t)res.entries, "previous",
						      (json_int_t)res.previous, "listed",
						      (json_int_t)st->listed, "allowlisted",
						      (json_int_t)st->allowlisted, "expired",
						      (json_int_t)st->expired, "problems",
						      (json_int_t)st->problems, "networks",
						      (json_int_t)st->networks);
				if (o.out)
					cli_json_line(j);
				else
					json_decref(j);
			}
			fprintf(stderr,
				"export %s: %lu entries%s%s (previous publish: %lld); all formats: %lu "
				"listed, %lu withheld by the allowlist\n",
				fmt->name, res.entries, o.out ? " to " : "", o.out ? o.out : "",
				res.previous, st->listed, st->allowlisted);
			if (ds.n > policy_diags)
				ret = CLI_PARTIAL;
		}
	}
	sh_listing_set_fini(&set);
	sh_allowlist_free(al);
	sh_store_close(s);
	sh_policy_free(p);
	/* last: it waits for the replaced output files to be freed, which the above overlaps */
	sh_export_prefetch_free(pre);
	return ret;
}
