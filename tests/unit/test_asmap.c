/* Unit tests for netmap/asmap: the text table parsers and the MMDB walker, on real slices
 * and on malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "netmap/asmap.h"

#define DATA SH_TEST_DATA "/asn/"

struct row {
	char prefix[SH_PREFIX_STRLEN];
	uint32_t asn;
	char *org;
	char country[3];
};

struct bad_line {
	unsigned long line;
	const char *why;
};

struct got {
	struct row *rows;
	size_t n, cap;
	struct bad_line bad[64];
	size_t n_bad;
	size_t stop_after; /* 0: never stop */
};

static int on_row(const struct sh_netrow *r, void *arg)
{
	struct got *g = arg;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->rows = realloc(g->rows, g->cap * sizeof(*g->rows));
		assert_non_null(g->rows);
	}
	struct row *w = &g->rows[g->n++];
	sh_prefix_format(&r->prefix, w->prefix);
	w->asn = r->asn;
	assert_non_null(r->org);
	w->org = strdup(r->org);
	memcpy(w->country, r->country, 3);
	return g->stop_after && g->n == g->stop_after ? 42 : 0;
}

static void on_bad(unsigned long line, const char *why, void *arg)
{
	struct got *g = arg;
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	if (g->n_bad < sizeof(g->bad) / sizeof(g->bad[0]))
		g->bad[g->n_bad] = (struct bad_line){line, why};
	g->n_bad++;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->rows[i].org);
	free(g->rows);
	memset(g, 0, sizeof(*g));
}

static char *slurp(const char *path, size_t *n)
{
	gzFile f = gzopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 16;
	char *b = malloc(cap);
	assert_non_null(b);
	*n = 0;
	int k;
	while ((k = gzread(f, b + *n, (unsigned)(cap - *n))) > 0) {
		*n += (size_t)k;
		if (*n == cap) {
			cap *= 2;
			b = realloc(b, cap);
			assert_non_null(b);
		}
	}
	assert_true(k == 0);
	gzclose(f);
	return b;
}

static const struct row *find(const struct got *g, const char *prefix)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->rows[i].prefix, prefix) == 0)
			return &g->rows[i];
	return NULL;
}

static int parse(enum sh_asmap_format f, const char *s, size_t n, struct got *g, int *fields)
{
	return sh_asmap_parse_text(f, s, n, on_row, on_bad, g, fields);
}

static int parse_str(enum sh_asmap_format f, const char *s, struct got *g)
{
	int fields;
	return parse(f, s, strlen(s), g, &fields);
}

static void test_names(void **state)
{
	(void)state;
	for (int f = SH_ASMAP_IPLDB; f <= SH_ASMAP_MMDB; f++)
		assert_int_equal(sh_asmap_format_from_name(sh_asmap_format_name(f)), f);
	assert_int_equal(sh_asmap_format_from_name("csv"), 0);
	assert_int_equal(sh_asmap_format_from_name(NULL), 0);
	assert_null(sh_asmap_format_name(0));
	assert_string_equal(sh_asmap_format_name(SH_ASMAP_PFX2AS), "pfx2as");
}

static void test_detect(void **state)
{
	(void)state;
	const char *ipldb = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n";
	const char *pfx = "# comment\n\n1.0.0.0\t24\t13335\n";
	const char *i2a = "\xef\xbb\xbf" "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\r\n";
	const char *cc = "1.0.2.0,1.0.3.255,CN\n";
	assert_int_equal(sh_asmap_format_detect(ipldb, strlen(ipldb)), SH_ASMAP_IPLDB);
	assert_int_equal(sh_asmap_format_detect(cc, strlen(cc)), SH_ASMAP_IPLDB);
	assert_int_equal(sh_asmap_format_detect(pfx, strlen(pfx)), SH_ASMAP_PFX2AS);
	assert_int_equal(sh_asmap_format_detect(i2a, strlen(i2a)), SH_ASMAP_IPTOASN);
	/* a head cut inside the second line decides on the first */
	char two[128];
	snprintf(two, sizeof(two), "%s1.0.1.0\t1.0", i2a);
	assert_int_equal(sh_asmap_format_detect(two, strlen(two)), SH_ASMAP_IPTOASN);
	assert_int_equal(sh_asmap_format_detect("", 0), 0);
	assert_int_equal(sh_asmap_format_detect("hello world\n", 12), 0);
	assert_int_equal(sh_asmap_format_detect("\x89PNG\0\0\0", 7), 0);
	assert_int_equal(sh_asmap_format_detect(NULL, 0), 0);
}

/* The real ip-location-db slices: every row parses, is split into CIDRs that tile the
 * range exactly, and keeps its ASN and (CSV-unquoted) organisation. */
static void check_ipldb_slice(const char *file, size_t rows_in_file)
{
	size_t n;
	char *buf = slurp(file, &n);
	struct got g = {0};
	int fields;
	assert_int_equal(parse(SH_ASMAP_IPLDB, buf, n, &g, &fields), 0);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(fields, SH_ASMAP_HAS_ASN);
	assert_true(g.n >= rows_in_file);
	/* every CIDR lies inside some row, and consecutive CIDRs of a range touch */
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, rows_in_file);
	for (size_t i = 0; i < g.n; i++) {
		assert_true(g.rows[i].asn > 0);
		assert_string_equal(g.rows[i].country, "");
	}
	free(buf);
	got_free(&g);
}

static void test_ipldb_slices(void **state)
{
	(void)state;
	check_ipldb_slice(DATA "asn-ipv4-slice.csv.gz", 5605);
	check_ipldb_slice(DATA "asn-ipv6-slice.csv.gz", 3555);

	size_t n;
	char *buf = slurp(DATA "asn-ipv4-slice.csv.gz", &n);
	struct got g = {0};
	int fields;
	assert_int_equal(parse(SH_ASMAP_IPLDB, buf, n, &g, &fields), 0);
	/* first row: 1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc." */
	const struct row *r = find(&g, "1.0.0.0/24");
	assert_non_null(r);
	assert_int_equal(r->asn, 13335);
	assert_string_equal(r->org, "Cloudflare, Inc.");
	/* 181.55.103.0,181.55.147.255,10620,Telmex Colombia S.A.: split into CIDRs */
	const char *split[] = {"181.55.103.0/24", "181.55.104.0/21", "181.55.112.0/20",
			       "181.55.128.0/20", "181.55.144.0/22"};
	for (size_t i = 0; i < 5; i++) {
		r = find(&g, split[i]);
		assert_non_null(r);
		assert_int_equal(r->asn, 10620);
		assert_string_equal(r->org, "Telmex Colombia S.A.");
	}
	free(buf);
	got_free(&g);
}

static void test_country_rows(void **state)
{
	(void)state;
	size_t n;
	char *buf = slurp(DATA "country-slice.csv", &n);
	struct got g = {0};
	int fields;
	assert_int_equal(parse(SH_ASMAP_IPLDB, buf, n, &g, &fields), 0);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(fields, SH_ASMAP_HAS_COUNTRY);
	const struct row *r = find(&g, "1.0.2.0/23");
	assert_non_null(r);
	assert_string_equal(r->country, "CN");
	assert_int_equal(r->asn, 0);
	assert_string_equal(r->org, "");
	free(buf);
	got_free(&g);

	/* lower case is folded; ZZ / None / empty mean unknown and give no row */
	assert_int_equal(parse_str(SH_ASMAP_IPLDB,
				   "192.0.2.0,192.0.2.255,de\n198.51.100.0,198.51.100.255,ZZ\n"
				   "203.0.113.0,203.0.113.255,\n2001:db8::,2001:db8::ff,None\n"
				   "100.0.0.0,100.0.0.3,USA\n",
				   &g),
			 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rows[0].country, "DE");
	assert_int_equal(g.n_bad, 1);
	assert_int_equal(g.bad[0].line, 5);
	got_free(&g);
}

static void test_pfx2as(void **state)
{
	(void)state;
	size_t n;
	char *buf = slurp(DATA "pfx2as-sample.txt", &n);
	struct got g = {0};
	int fields;
	assert_int_equal(sh_asmap_format_detect(buf, n), SH_ASMAP_PFX2AS);
	assert_int_equal(parse(SH_ASMAP_PFX2AS, buf, n, &g, &fields), 0);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(g.n, 15);
	assert_int_equal(fields, SH_ASMAP_HAS_ASN);
	assert_int_equal(find(&g, "1.0.64.0/18")->asn, 18144);
	assert_int_equal(find(&g, "41.77.0.0/17")->asn, 37126); /* MOAS: first */
	assert_int_equal(find(&g, "45.65.8.0/22")->asn, 263707); /* AS set: first */
	assert_int_equal(find(&g, "2a0a:e5c0::/29")->asn, 209242);
	assert_int_equal(find(&g, "2001:200::/32")->asn, 2500);
	assert_string_equal(find(&g, "8.8.8.0/24")->org, "");
	free(buf);
	got_free(&g);
}

static void test_iptoasn(void **state)
{
	(void)state;
	size_t n;
	char *buf = slurp(DATA "iptoasn-sample.tsv", &n);
	struct got g = {0};
	int fields;
	assert_int_equal(sh_asmap_format_detect(buf, n), SH_ASMAP_IPTOASN);
	assert_int_equal(parse(SH_ASMAP_IPTOASN, buf, n, &g, &fields), 0);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(fields, SH_ASMAP_HAS_ASN | SH_ASMAP_HAS_COUNTRY);
	/* "Not routed" rows (0.0.0.0/8, 1.0.1.0-1.0.3.255, ...) give nothing */
	assert_null(find(&g, "0.0.0.0/8"));
	assert_null(find(&g, "1.0.1.0/24"));
	assert_null(find(&g, "2c0f:fff0::/28"));
	const struct row *r = find(&g, "1.0.4.0/22");
	assert_non_null(r);
	assert_int_equal(r->asn, 38803);
	assert_string_equal(r->country, "AU");
	assert_string_equal(r->org, "GTELECOM-AUSTRALIA Gtelecom Pty Ltd");
	r = find(&g, "185.15.56.0/22");
	assert_non_null(r);
	assert_string_equal(r->country, "NL");
	r = find(&g, "2620:0:860::/46");
	assert_non_null(r);
	assert_int_equal(r->asn, 14907);
	for (size_t i = 0; i < g.n; i++)
		assert_int_not_equal(g.rows[i].asn, 0);
	free(buf);
	got_free(&g);
}

/* One bad line of each kind between good ones: the good rows are kept, each bad line is
 * reported once with its number. */
static void check_bad(enum sh_asmap_format f, const char *text, size_t len, size_t want_rows,
		      const unsigned long *want_bad, size_t n_want_bad)
{
	struct got g = {0};
	int fields;
	assert_int_equal(parse(f, text, len, &g, &fields), 0);
	assert_int_equal(g.n, want_rows);
	assert_int_equal(g.n_bad, n_want_bad);
	for (size_t i = 0; i < n_want_bad; i++)
		assert_int_equal(g.bad[i].line, want_bad[i]);
	got_free(&g);
}

static void test_ipldb_malformed(void **state)
{
	(void)state;
	static const char text[] =
		"1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\r\n"          /* 1 good, CRLF */
		"1.0.4.0,1.0.7.255,38803\r\n"                               /* 2 good: no org */
		"1.0.16.0,1.0.16.255\n"                                     /* 3 columns */
		"1.0.64.0,1.0.127.255,18144,Enecom,Inc.\n"                  /* 4 unquoted comma */
		"1.0.300.0,1.0.300.255,1,x\n"                               /* 5 bad start */
		"1.1.1.0,1.1.1.x,13335,x\n"                                 /* 6 bad end */
		"2.2.2.2,2.2.2.1,1,x\n"                                     /* 7 start > end */
		"3.0.0.0,::1,1,x\n"                                         /* 8 mixed families */
		"4.0.0.0,4.0.0.255,AS-1,x\n"                                /* 9 bad ASN */
		"5.0.0.0,5.0.0.255,4294967296,x\n"                          /* 10 ASN too big */
		"6.0.0.0,6.0.0.255,6,\"unterminated\n"                      /* 11 quote */
		"7.0.0.0,7.0.0.255,7,\"a\"b\n"                              /* 12 after quote */
		"8.0.0.0,8.0.0.255,8,caf\xc3\n"                             /* 13 bad UTF-8 */
		"9.0.0.0,9.0.0.255,9,\"Say \"\"hi\"\"\"\n"                  /* 14 good: "" */
		"# a comment\n"                                             /* 15 */
		"\n"                                                        /* 16 */
		"10.0.0.0,10.0.0.255,AS65000,\"Tab\there\"\n"               /* 17 good: AS prefix */
		"11.0.0.0,11.0.0.255,0,Nobody\n"                            /* 18 AS 0: skipped */
		"::ffff:12.0.0.0,12.0.0.255,12,Mapped\n"                    /* 19 good: folded */
		"13.0.0.0,13.0.0.255,13,x,y\n"                              /* 20 5 columns */
		"14.0.0.0 ,14.0.0.255, 14 , padded \n"                      /* 21 good */
		"15.0.0.0,15.0.0.255,15,cut";                               /* 22 good, no LF */
	static const unsigned long bad[] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 20};
	check_bad(SH_ASMAP_IPLDB, text, sizeof(text) - 1, 7, bad, 12);

	struct got g = {0};
	assert_int_equal(parse_str(SH_ASMAP_IPLDB, text, &g), 0);
	assert_string_equal(find(&g, "1.0.0.0/24")->org, "Cloudflare, Inc.");
	assert_string_equal(find(&g, "1.0.4.0/22")->org, "");
	assert_string_equal(find(&g, "9.0.0.0/24")->org, "Say \"hi\"");
	assert_string_equal(find(&g, "10.0.0.0/24")->org, "Tab here");
	assert_int_equal(find(&g, "10.0.0.0/24")->asn, 65000);
	assert_int_equal(find(&g, "12.0.0.0/24")->asn, 12);
	assert_string_equal(find(&g, "14.0.0.0/24")->org, "padded");
	assert_string_equal(find(&g, "15.0.0.0/24")->org, "cut");
	assert_null(find(&g, "11.0.0.0/24"));
	got_free(&g);
}

static void test_pfx2as_malformed(void **state)
{
	(void)state;
	static const char text[] =
		"1.0.0.0\t24\t13335\n"        /* 1 good */
		"1.0.4.0\t22\n"               /* 2 columns */
		"1.0.4.0\t22\t1\t2\n"         /* 3 columns */
		"1.0.4.1\t22\t38803\n"        /* 4 host bits */
		"1.0.4.0\t33\t38803\n"        /* 5 length */
		"1.0.4.0\t-1\t38803\n"        /* 6 length */
		"1.0.4\t22\t38803\n"          /* 7 address */
		"1.0.8.0\t22\t38803_\n"       /* 8 dangling MOAS */
		"1.0.8.0\t22\tx\n"            /* 9 ASN */
		"2001:db8::\t129\t1\n"        /* 10 length */
		"2001:db8::\t32\t64496\r\n"   /* 11 good */
		"1.0.12.0 22 38803\n"         /* 12 spaces, not tabs */
		"1.0.16.0\t24\t0\n"           /* 13 AS 0: skipped */
		"1.0.20.0\t24\t{1,2}\n";      /* 14 ASN */
	static const unsigned long bad[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14};
	check_bad(SH_ASMAP_PFX2AS, text, sizeof(text) - 1, 2, bad, 11);
}

static void test_iptoasn_malformed(void **state)
{
	(void)state;
	static const char text[] =
		"1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"    /* 1 good */
		"1.0.0.0\t1.0.0.255\t13335\tUS\n"                   /* 2 columns */
		"1.0.0.0\t1.0.0.255\t13335\tUSA\tX\n"               /* 3 country */
		"1.0.0.0\t1.0.0.255\tAS\tUS\tX\n"                   /* 4 ASN */
		"1.0.1.0\t1.0.0.255\t1\tUS\tX\n"                    /* 5 start > end */
		"1.0.2.0\t1.0.2.255\t0\tNone\tNot routed\n"         /* 6 skipped */
		"1.0.3.0\t1.0.3.255\t5\tNone\tNot routed\n"         /* 7 skipped */
		"1.0.4.0\t1.0.4.255\t6\t\tno country\n"             /* 8 good */
		"1.0.5.0\t1.0.5.255\t7\tUS\t\xff\xfe\n"             /* 9 bad UTF-8 */
		"1.0.6.0\t1.0.6.255\t8\tUS\tdesc\twith tab\n";      /* 10 good: tab kept in org */
	static const unsigned long bad[] = {2, 3, 4, 5, 9};
	check_bad(SH_ASMAP_IPTOASN, text, sizeof(text) - 1, 3, bad, 5);
	struct got g = {0};
	int fields;
	assert_int_equal(parse(SH_ASMAP_IPTOASN, text, sizeof(text) - 1, &g, &fields), 0);
	assert_string_equal(find(&g, "1.0.4.0/24")->country, "");
	assert_string_equal(find(&g, "1.0.6.0/24")->org, "desc with tab");
	got_free(&g);
}

/* NUL bytes, a 1 MB line, an empty buffer, only comments, unknown format, callback stop. */
static void test_text_edges(void **state)
{
	(void)state;
	static const char nul[] = "1.0.0.0,1.0.0.255,1,a\0b\n2.0.0.0,2.0.0.255,2,ok\n\0\n";
	static const unsigned long bad_nul[] = {1, 3};
	check_bad(SH_ASMAP_IPLDB, nul, sizeof(nul) - 1, 1, bad_nul, 2);
	check_bad(SH_ASMAP_PFX2AS, nul, sizeof(nul) - 1, 0, (const unsigned long[]){1, 2, 3}, 3);

	size_t big = 1 << 20;
	char *buf = malloc(big + 64);
	assert_non_null(buf);
	strcpy(buf, "3.0.0.0,3.0.0.255,3,\"");
	size_t k = strlen(buf);
	memset(buf + k, 'x', big);
	strcpy(buf + k + big, "\"\n4.0.0.0,4.0.0.255,4,four\n");
	static const unsigned long bad_big[] = {1};
	check_bad(SH_ASMAP_IPLDB, buf, strlen(buf), 1, bad_big, 1);
	memset(buf, '1', big);
	strcpy(buf + big, "\t24\t1\n");
	check_bad(SH_ASMAP_PFX2AS, buf, strlen(buf), 0, bad_big, 1);
	free(buf);

	struct got g = {0};
	int fields = -1;
	assert_int_equal(parse(SH_ASMAP_IPLDB, "", 0, &g, &fields), 0);
	assert_int_equal(fields, 0);
	assert_int_equal(parse(SH_ASMAP_IPTOASN, NULL, 0, &g, &fields), 0);
	assert_int_equal(parse_str(SH_ASMAP_PFX2AS, "# only\n#comments\n\n\r\n", &g), 0);
	assert_int_equal(g.n + g.n_bad, 0);
	assert_int_equal(parse_str(SH_ASMAP_MMDB, "1.0.0.0\t24\t1\n", &g), SH_EFORMAT);
	assert_int_equal(parse_str(0, "1.0.0.0\t24\t1\n", &g), SH_EFORMAT);
	assert_int_equal(sh_asmap_parse_text(SH_ASMAP_PFX2AS, "x", 1, NULL, NULL, NULL, NULL),
			 SH_EINVAL);
	/* no bad-line callback: still parses */
	assert_int_equal(sh_asmap_parse_text(SH_ASMAP_PFX2AS, "x\n1.0.0.0\t24\t1\n", 15, on_row,
					     NULL, &g, NULL),
			 0);
	assert_int_equal(g.n, 1);
	got_free(&g);

	/* a range split into many CIDRs stops at the first non-zero callback result */
	g.stop_after = 3;
	assert_int_equal(parse_str(SH_ASMAP_IPLDB, "1.0.0.1,1.0.0.254,1,x\n2.0.0.0,2.0.0.255,2,y\n",
				   &g),
			 42);
	assert_int_equal(g.n, 3);
	got_free(&g);
}

/* Reads the rows a CSV file gives, for comparison with the MMDB made from it. */
static void rows_of_csv(const char *path, size_t from, size_t to, struct got *g)
{
	size_t n;
	char *buf = slurp(path, &n);
	size_t line = 1, a = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		if (line >= from && line <= to) {
			int fields;
			assert_int_equal(parse(SH_ASMAP_IPLDB, buf + a, i + 1 - a, g, &fields), 0);
		}
		line++;
		a = i + 1;
	}
	free(buf);
}

static int row_cmp(const void *x, const void *y)
{
	const struct row *a = x, *b = y;
	return strcmp(a->prefix, b->prefix);
}

static void test_mmdb(void **state)
{
	(void)state;
	struct got m = {0}, want = {0};
	int fields;
	assert_int_equal(sh_asmap_parse_mmdb(DATA "asn-slice.mmdb", on_row, &m, &fields), 0);
	assert_int_equal(fields, SH_ASMAP_HAS_ASN);
	/* the file was made from lines 2000-2600 / 1300-1500 of the slices (see SOURCE.md) */
	rows_of_csv(DATA "asn-ipv4-slice.csv.gz", 2000, 2600, &want);
	rows_of_csv(DATA "asn-ipv6-slice.csv.gz", 1300, 1500, &want);
	assert_int_equal(m.n, want.n);
	qsort(m.rows, m.n, sizeof(*m.rows), row_cmp);
	qsort(want.rows, want.n, sizeof(*want.rows), row_cmp);
	for (size_t i = 0; i < m.n; i++) {
		assert_string_equal(m.rows[i].prefix, want.rows[i].prefix);
		assert_int_equal(m.rows[i].asn, want.rows[i].asn);
		assert_string_equal(m.rows[i].org, want.rows[i].org);
	}
	/* the aliases (::ffff:0:0/96, 2002::/16) point at the IPv4 subtree and are skipped */
	for (size_t i = 0; i < m.n; i++) {
		assert_true(strncmp(m.rows[i].prefix, "::ffff:", 7) != 0);
		assert_true(strncmp(m.rows[i].prefix, "2002:", 5) != 0);
		assert_true(strncmp(m.rows[i].prefix, "::", 2) != 0);
	}
	got_free(&m);
	got_free(&want);

	assert_int_equal(sh_asmap_parse_mmdb(DATA "country-slice.mmdb", on_row, &m, &fields), 0);
	assert_int_equal(fields, SH_ASMAP_HAS_COUNTRY);
	assert_int_equal(m.n, 203);
	const struct row *r = find(&m, "1.0.2.0/23");
	assert_non_null(r);
	assert_string_equal(r->country, "CN");
	assert_int_equal(r->asn, 0);
	got_free(&m);

	/* real data under ::ffff:0:0/96 and 2002::/16 is never walked (those are IPv4 space
	 * spelt in IPv6); 2001:db8::/32 points at the IPv4 subtree, so it is an alias too */
	assert_int_equal(sh_asmap_parse_mmdb(DATA "asn-aliases.mmdb", on_row, &m, &fields), 0);
	assert_int_equal(m.n, 8);
	for (size_t i = 0; i < m.n; i++) {
		assert_true(strncmp(m.rows[i].prefix, "::ffff:", 7) != 0);
		assert_true(strncmp(m.rows[i].prefix, "2002:", 5) != 0);
		assert_true(strncmp(m.rows[i].prefix, "2001:db8:", 9) != 0);
	}
	assert_string_equal(find(&m, "1.0.0.0/24")->org, "Cloudflare, Inc.");
	assert_int_equal(find(&m, "1.0.4.0/22")->asn, 38803);
	assert_int_equal(find(&m, "2001:200::/40")->asn, 2500);
	got_free(&m);

	m.stop_after = 5;
	assert_int_equal(sh_asmap_parse_mmdb(DATA "asn-slice.mmdb", on_row, &m, &fields), 42);
	assert_int_equal(m.n, 5);
	got_free(&m);
}

static void test_mmdb_bad_files(void **state)
{
	(void)state;
	struct got g = {0};
	int fields;
	assert_int_equal(sh_asmap_parse_mmdb(DATA "no-such-file.mmdb", on_row, &g, &fields),
			 SH_EIO);
	assert_int_equal(sh_asmap_parse_mmdb(DATA "pfx2as-sample.txt", on_row, &g, &fields),
			 SH_EINVAL);
	assert_int_equal(sh_asmap_parse_mmdb(NULL, on_row, &g, &fields), SH_EINVAL);

	/* a copy whose search tree is overwritten with records pointing back at the root:
	 * the walk must stop instead of looping */
	size_t n;
	char *buf = slurp(DATA "asn-slice.mmdb", &n);
	char path[] = "/tmp/sheriff-test-mmdb-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(buf, 0, 6 * 64);
	FILE *f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	assert_int_equal(sh_asmap_parse_mmdb(path, on_row, &g, &fields), SH_EINVAL);
	/* truncated inside the data section */
	assert_int_equal(truncate(path, (off_t)(n / 2)), 0);
	assert_int_not_equal(sh_asmap_parse_mmdb(path, on_row, &g, &fields), 0);
	unlink(path);
	free(buf);
	got_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_ipldb_slices),
		cmocka_unit_test(test_country_rows),
		cmocka_unit_test(test_pfx2as),
		cmocka_unit_test(test_iptoasn),
		cmocka_unit_test(test_ipldb_malformed),
		cmocka_unit_test(test_pfx2as_malformed),
		cmocka_unit_test(test_iptoasn_malformed),
		cmocka_unit_test(test_text_edges),
		cmocka_unit_test(test_mmdb),
		cmocka_unit_test(test_mmdb_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
