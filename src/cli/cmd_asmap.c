/* sheriff asmap: import and list the IP -> ASN / org / country tables, versioned by date. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/loader.h"
#include "engine/netdb.h"
#include "netmap/asmap.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff asmap import [--format ipldb|pfx2as|iptoasn|mmdb] [--as-of DATE] FILE...\n"
		"       sheriff asmap list [--json]\n\n"
		"Imports network tables: ip-location-db CSV (start,end,asn,org or start,end,country),\n"
		"CAIDA pfx2as, iptoasn TSV, or a MaxMind-format MMDB (ASN, org and/or country).\n"
		"Inclusive ranges become CIDRs. Each table is kept with the date it describes\n"
		"(--as-of, else a date in the file name such as 20240101 or 2024-01-01, else the\n"
		"file's modification time); a sighting is attributed with the table in force on its\n"
		"date. Importing the same file for the same date again replaces that table.\n"
		"Gzip files are read as they are (not MMDB). Bad lines: FILE:LINE on stderr, exit 2.\n");
}

struct import_ctx {
	struct sh_asmap_import *im;
	const char *file;
	unsigned long bad;
	int families; /* SH_NETDB_HAS_V4 / _V6 seen */
};

static int on_row(const struct sh_netrow *row, void *arg)
{
	struct import_ctx *ctx = arg;
	ctx->families |= row->prefix.ip.af == SH_AF_V4 ? SH_NETDB_HAS_V4 : SH_NETDB_HAS_V6;
	return sh_asmap_import_add(ctx->im, row);
}

static void on_bad(unsigned long line, const char *why, void *arg)
{
	struct import_ctx *ctx = arg;
	ctx->bad++;
	fprintf(stderr, "%s:%lu: %s\n", ctx->file, line, why);
}

/* A YYYYMMDD or YYYY-MM-DD date in the file's base name. */
static int64_t date_in_name(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (const char *p = base; *p; p++) {
		if (!isdigit((unsigned char)*p) || (p > base && isdigit((unsigned char)p[-1])))
			continue;
		char d[11];
		size_t n = 0;
		if (strspn(p, "0123456789") >= 8) {
			snprintf(d, sizeof(d), "%.4s-%.2s-%.2s", p, p + 4, p + 6);
			n = 10;
		} else if (strspn(p, "0123456789") == 4 && p[4] == '-' && strspn(p + 5, "0123456789") == 2 &&
			   p[7] == '-' && strspn(p + 8, "0123456789") >= 2) {
			snprintf(d, sizeof(d), "%.10s", p);
			n = 10;
		}
		int64_t t;
		if (n && sh_time_parse(d, n, &t) == 0)
			return t;
	}
	return SH_TIME_NONE;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static int import_one(struct sh_store *s, const char *file, enum sh_asmap_format fmt,
		      int64_t as_of, bool json)
{
	struct import_ctx ctx = {.file = file};
	struct sh_blob blob = {0};
	int rc, fields = 0;
	bool mmdb = fmt == SH_ASMAP_MMDB || (!fmt && has_suffix(file, ".mmdb"));
	if (!mmdb) {
		if ((rc = sh_blob_load(file, &blob)) != 0) {
			cli_err("%s: cannot read: %s", file, blob.errmsg[0] ? blob.errmsg : sh_strerror(rc));
			return CLI_FAIL;
		}
		if (!fmt)
			fmt = sh_asmap_format_detect(blob.data, blob.len < 65536 ? blob.len : 65536);
		if (!fmt) {
			cli_err("%s: format not recognised; give --format", file);
			sh_blob_fini(&blob);
			return CLI_FAIL;
		}
	} else {
		fmt = SH_ASMAP_MMDB;
	}
	if (as_of == SH_TIME_NONE)
		as_of = date_in_name(file);
	if (as_of == SH_TIME_NONE) {
		if (mmdb && (rc = sh_blob_load(file, &blob)) != 0) {
			cli_err("%s: cannot read: %s", file, blob.errmsg[0] ? blob.errmsg : sh_strerror(rc));
			return CLI_FAIL;
		}
		as_of = blob.mtime;
	}
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	rc = sh_asmap_import_begin(s, sh_asmap_format_name(fmt), base, as_of, &ctx.im);
	if (rc == 0) {
		if (mmdb)
			rc = sh_asmap_parse_mmdb(file, on_row, &ctx, &fields);
		else
			rc = sh_asmap_parse_text(fmt, blob.data, blob.len, on_row, on_bad, &ctx, &fields);
		unsigned long rows = 0;
		if (rc == 0) {
			rc = sh_asmap_import_commit(ctx.im, fields | ctx.families, &rows);
		} else {
			sh_asmap_import_abort(ctx.im);
		}
		if (rc == 0) {
			char ts[SH_TIME_STRLEN];
			if (json)
				cli_json_line(json_pack("{s:s, s:s, s:o, s:i, s:b, s:b, s:i}", "file", file,
							"format", sh_asmap_format_name(fmt), "as_of",
							cli_json_time(as_of), "prefixes", (json_int_t)rows,
							"asn", (fields & SH_ASMAP_HAS_ASN) != 0, "country",
							(fields & SH_ASMAP_HAS_COUNTRY) != 0,
							"bad_lines", (json_int_t)ctx.bad));
			else
				fprintf(stderr, "%s: %s table as of %s: %lu prefixes (%s%s), %lu bad lines\n",
					file, sh_asmap_format_name(fmt), cli_time(as_of, ts), rows,
					fields & SH_ASMAP_HAS_ASN ? "asn+org" : "",
					fields & SH_ASMAP_HAS_COUNTRY ? (fields & SH_ASMAP_HAS_ASN ? "+country" : "country") : "",
					ctx.bad);
		}
	}
	sh_blob_fini(&blob);
	if (rc != 0) {
		cli_err("%s: not imported: %s %s", file, sh_strerror(rc), rc == SH_ESTORE ? sh_store_errmsg(s) : "");
		return CLI_FAIL;
	}
	return ctx.bad ? CLI_PARTIAL : CLI_OK;
}

static int list_tables(struct sh_store *s, bool json)
{
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_asmap_table *t;
	size_t n;
	int rc = sh_store_asmap_tables(s, &a, &t, &n);
	if (rc != 0) {
		cli_err("cannot list tables: %s", sh_strerror(rc));
		sh_arena_fini(&a);
		return CLI_FAIL;
	}
	if (!json)
		printf("%-12s %-8s %-10s %10s  %s\n", "as_of", "format", "fields", "prefixes", "file");
	for (size_t i = 0; i < n; i++) {
		char ts[SH_TIME_STRLEN];
		const char *fields = (t[i].fields & SH_ASMAP_HAS_ASN) && (t[i].fields & SH_ASMAP_HAS_COUNTRY)
					     ? "asn+cc" : (t[i].fields & SH_ASMAP_HAS_ASN) ? "asn" : "country";
		if (json)
			cli_json_line(json_pack("{s:o, s:s, s:s, s:i, s:s}", "as_of", cli_json_time(t[i].as_of),
						"format", t[i].format, "fields", fields, "prefixes",
						(json_int_t)t[i].rows, "file", t[i].file));
		else
			printf("%-12.10s %-8s %-10s %10lu  %s\n", cli_time(t[i].as_of, ts), t[i].format, fields,
			       t[i].rows, t[i].file);
	}
	sh_arena_fini(&a);
	return CLI_OK;
}

int cmd_asmap(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"format", required_argument, NULL, 'f'},
		{"as-of", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "import") != 0 && strcmp(verb, "list") != 0) {
		cli_err("asmap: unknown action '%s'", verb);
		help(stderr);
		return CLI_USAGE;
	}
	struct cli_common c = {0};
	enum sh_asmap_format fmt = 0;
	int64_t as_of = SH_TIME_NONE;
	int opt;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'f':
			fmt = sh_asmap_format_from_name(optarg);
			if (!fmt) {
				cli_err("unknown table format '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'a':
			if (!cli_parse_time("--as-of", optarg, &as_of))
				return CLI_USAGE;
			break;
		case 'h':
			help(stdout);
			return CLI_OK;
		default:
			help(stderr);
			return CLI_USAGE;
		}
	}
	if (strcmp(verb, "import") == 0 && optind >= argc) {
		cli_err("asmap import: give at least one FILE");
		return CLI_USAGE;
	}
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	int ret = CLI_OK;
	if (strcmp(verb, "list") == 0) {
		ret = list_tables(s, c.json);
	} else {
		for (int i = optind; i < argc; i++) {
			int r = import_one(s, argv[i], fmt, as_of, c.json);
			if (r > ret)
				ret = r;
		}
	}
	sh_store_close(s);
	return ret;
}
