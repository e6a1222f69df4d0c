/* sheriff hosting: import the address ranges that hosting and cloud providers publish. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/loader.h"
#include "netmap/asmap.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff hosting import [--name PROVIDER] FILE...\n"
		"       sheriff hosting list [--json]\n\n"
		"Imports a provider's published ranges: any JSON document (AWS ip-ranges.json, GCP\n"
		"cloud.json, plain arrays, {\"IPv4Prefixes\": [...]} ...; every string that is a prefix\n"
		"counts) or a text list with one prefix per line and '#' comments. The provider is\n"
		"--name, else the file name without extensions. An import replaces that provider's\n"
		"ranges. Addresses inside these ranges are tagged as hosting space.\n");
}

struct prefixes {
	struct sh_prefix *v;
	size_t n, cap;
};

static int push(const struct sh_netrow *row, void *arg)
{
	struct prefixes *p = arg;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct sh_prefix *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = row->prefix;
	return 0;
}

/* One prefix per line, '#' comments; returns bad line count. */
static unsigned long parse_text(const char *file, const char *buf, size_t len, struct prefixes *out,
				int *rc)
{
	unsigned long bad = 0, line = 0;
	for (size_t i = 0; i < len && *rc == 0;) {
		size_t j = i;
		while (j < len && buf[j] != '\n')
			j++;
		line++;
		size_t a = i, b = j;
		const char *hash = memchr(buf + a, '#', b - a);
		if (hash)
			b = (size_t)(hash - buf);
		while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\r'))
			a++;
		while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\r'))
			b--;
		if (b > a) {
			struct sh_netrow row = {.org = ""};
			if (sh_prefix_parse(buf + a, b - a, false, &row.prefix) == 0) {
				*rc = push(&row, out);
			} else {
				bad++;
				fprintf(stderr, "%s:%lu: not an IP prefix\n", file, line);
			}
		}
		i = j + 1;
	}
	return bad;
}

static void provider_name(const char *file, char *buf, size_t len)
{
	const char *base = strrchr(file, '/');
	snprintf(buf, len, "%s", base ? base + 1 : file);
	char *dot = strchr(buf, '.');
	if (dot && dot != buf)
		*dot = '\0';
}

static int import_one(struct sh_store *s, const char *file, const char *name, bool json)
{
	struct sh_blob blob;
	int rc = sh_blob_load(file, &blob);
	if (rc != 0) {
		cli_err("%s: cannot read: %s", file, blob.errmsg[0] ? blob.errmsg : sh_strerror(rc));
		return CLI_FAIL;
	}
	char provider[128];
	if (name)
		snprintf(provider, sizeof(provider), "%s", name);
	else
		provider_name(file, provider, sizeof(provider));
	struct prefixes p = {0};
	unsigned long bad = 0;
	size_t k = strspn(blob.data, " \t\r\n");
	if (blob.data[k] == '{' || blob.data[k] == '[') {
		rc = sh_hosting_parse_json(blob.data, blob.len, push, &p, &bad);
		if (rc == SH_EINVAL)
			cli_err("%s: not valid JSON", file);
	} else {
		bad = parse_text(file, blob.data, blob.len, &p, &rc);
	}
	if (rc == 0 && p.n == 0) {
		cli_err("%s: no prefixes found; %s keeps its previous ranges", file, provider);
		rc = SH_EINVAL;
	}
	if (rc == 0)
		rc = sh_store_hosting_replace(s, provider, p.v, p.n);
	if (rc == 0) {
		if (json)
			cli_json_line(json_pack("{s:s, s:s, s:i, s:i}", "file", file, "provider", provider,
						"prefixes", (json_int_t)p.n, "bad", (json_int_t)bad));
		else
			fprintf(stderr, "%s: %s: %zu prefixes%s\n", file, provider, p.n,
				bad ? " (some entries were not prefixes)" : "");
	} else if (rc != SH_EINVAL) {
		cli_err("%s: not imported: %s", file, sh_strerror(rc));
	}
	free(p.v);
	sh_blob_fini(&blob);
	if (rc != 0)
		return rc == SH_EINVAL ? CLI_PARTIAL : CLI_FAIL;
	return bad ? CLI_PARTIAL : CLI_OK;
}

struct list_ctx {
	bool json;
	char last[128];
	unsigned long v4, v6;
};

static void flush(struct list_ctx *l)
{
	if (!l->last[0])
		return;
	if (l->json)
		cli_json_line(json_pack("{s:s, s:i, s:i}", "provider", l->last, "ipv4_prefixes",
					(json_int_t)l->v4, "ipv6_prefixes", (json_int_t)l->v6));
	else
		printf("%-28s %8lu %8lu\n", l->last, l->v4, l->v6);
	l->v4 = l->v6 = 0;
}

static int list_row(const char *provider, const struct sh_prefix *p, void *arg)
{
	struct list_ctx *l = arg;
	if (strcmp(provider, l->last) != 0) {
		flush(l);
		snprintf(l->last, sizeof(l->last), "%s", provider);
	}
	if (p->ip.af == SH_AF_V4)
		l->v4++;
	else
		l->v6++;
	return 0;
}

int cmd_hosting(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"name", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "import") != 0 && strcmp(verb, "list") != 0) {
		cli_err("hosting: unknown action '%s'", verb);
		help(stderr);
		return CLI_USAGE;
	}
	struct cli_common c = {0};
	const char *name = NULL;
	int opt;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'n':
			name = optarg;
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
		cli_err("hosting import: give at least one FILE");
		return CLI_USAGE;
	}
	if (name && argc - optind > 1) {
		cli_err("hosting import: --name takes one FILE (each import replaces the provider's ranges)");
		return CLI_USAGE;
	}
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	int ret = CLI_OK;
	if (strcmp(verb, "list") == 0) {
		struct list_ctx l = {.json = c.json};
		if (!c.json)
			printf("%-28s %8s %8s\n", "provider", "ipv4", "ipv6");
		if (sh_store_hosting_foreach(s, list_row, &l) != 0)
			ret = CLI_FAIL;
		flush(&l);
	} else {
		for (int i = optind; i < argc; i++) {
			int r = import_one(s, argv[i], name, c.json);
			if (r > ret)
				ret = r;
		}
	}
	sh_store_close(s);
	return ret;
}
