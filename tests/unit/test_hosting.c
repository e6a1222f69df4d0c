/* Unit tests for netmap/hosting: prefixes from providers' range files of every shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netmap/asmap.h"

#define DATA SH_TEST_DATA "/asn/hosting/"

struct got {
	char (*pfx)[SH_PREFIX_STRLEN];
	size_t n, cap;
	size_t stop_after;
};

static int on_row(const struct sh_netrow *r, void *arg)
{
	struct got *g = arg;
	assert_int_equal(r->asn, 0);
	assert_non_null(r->org);
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->pfx = realloc(g->pfx, g->cap * sizeof(*g->pfx));
		assert_non_null(g->pfx);
	}
	sh_prefix_format(&r->prefix, g->pfx[g->n++]);
	return g->stop_after && g->n == g->stop_after ? 7 : 0;
}

static bool has(const struct got *g, const char *p)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->pfx[i], p) == 0)
			return true;
	return false;
}

static int parse_str(const char *json, struct got *g, unsigned long *bad)
{
	g->n = 0;
	return sh_hosting_parse_json(json, strlen(json), on_row, g, bad);
}

static int parse_file(const char *name, struct got *g, unsigned long *bad)
{
	char path[512];
	snprintf(path, sizeof(path), "%s%s.json", DATA, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	assert_true(feof(f));
	fclose(f);
	g->n = 0;
	return sh_hosting_parse_json(buf, n, on_row, g, bad);
}

/* Real excerpts, one per shape: how many ranges each gives and a few of them. */
static void test_provider_files(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		size_t n;
		const char *some[3];
	} files[] = {
		{"aws", 7, {"3.4.12.4/32", "3.5.140.0/22", "2600:9000:5206::/48"}},
		{"gcp", 5, {"34.1.208.0/20", "34.35.0.0/16", NULL}},
		{"cloudflare", 6, {"173.245.48.0/20", "103.21.244.0/22", NULL}},
		/* "network" is the bare address of each "cidr"; "mask" is skipped */
		{"atlassian", 6, {"52.82.172.0/22", "52.82.172.0/32", NULL}},
		{"datadog", 4, {"3.233.144.0/20", "2600:1f18:24e6:b900::/56", NULL}},
		{"oci", 3, {"40.233.0.0/19", NULL, NULL}},
		{"linode", 3, {"2600:3c00::/32", NULL, NULL}},
		{"vultr", 5, {"45.80.194.0/24", "2a12:7240::/29", NULL}},
		{"zscaler", 2, {NULL, NULL, NULL}},
		{"bunny", 6, {"89.187.188.227/32", NULL, NULL}},
	};
	struct got g = {0};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		unsigned long bad = 99;
		assert_int_equal(parse_file(files[i].name, &g, &bad), 0);
		assert_int_equal(bad, 0);
		assert_int_equal(g.n, files[i].n);
		for (size_t k = 0; k < 3 && files[i].some[k]; k++)
			assert_true(has(&g, files[i].some[k]));
	}
	assert_int_equal(parse_file("atlassian", &g, NULL), 0);
	assert_false(has(&g, "255.255.252.0/32"));
	free(g.pfx);
}

static void test_shapes(void **state)
{
	(void)state;
	struct got g = {0};
	unsigned long bad;
	/* any depth, any key; host bits masked; v4-mapped folded */
	assert_int_equal(parse_str("{\"a\":{\"b\":[{\"c\":\"192.0.2.0/24\"}]},"
				   "\"d\":[[\"2001:db8::/33\"]],\"e\":\"198.51.100.7/24\","
				   "\"f\":\"::ffff:203.0.113.9\"}",
				   &g, &bad),
			 0);
	assert_int_equal(g.n, 4);
	assert_true(has(&g, "192.0.2.0/24"));
	assert_true(has(&g, "2001:db8::/33"));
	assert_true(has(&g, "198.51.100.0/24"));
	assert_true(has(&g, "203.0.113.9/32"));
	assert_int_equal(bad, 0);

	/* a top-level string, and scalars that are no prefixes */
	assert_int_equal(parse_str("\"10.0.0.0/8\"", &g, &bad), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(parse_str("[1, 2.5, true, null, {}, []]", &g, &bad), 0);
	assert_int_equal(g.n + bad, 0);

	/* bad strings: under prefix-like keys, or beside prefixes in a list; other strings
	 * (regions, dates, services) do not count */
	assert_int_equal(parse_str("{\"syncToken\":\"1787297825\",\"createDate\":\"2026-08-21\","
				   "\"prefixes\":[{\"ip_prefix\":\"3.4.12.4/33\",\"region\":\"eu-west-1\","
				   "\"network_border_group\":\"eu-west-1\"},"
				   "{\"ipv6_prefix\":\"2600:1f69::/40\",\"service\":\"EC2\"}],"
				   "\"IPv4Prefixes\":[\"1.2.3.0/24\",\"1.2.3.0/\",\"\",\"x\"],"
				   "\"regions\":[\"us-east-1\",\"eu-west-1\"],"
				   "\"cidr\":\"300.1.1.1/8\",\"ipv4\":[\"1.1.1.1.1\"],"
				   "\"netmask\":\"255.255.255.0\",\"subnet_mask\":\"255.0.0.0\"}",
				   &g, &bad),
			 0);
	assert_int_equal(g.n, 2);
	assert_true(has(&g, "2600:1f69::/40"));
	assert_true(has(&g, "1.2.3.0/24"));
	assert_int_equal(bad, 5); /* /33, "1.2.3.0/", "x", 300.1.1.1/8, 1.1.1.1.1 */

	/* a non-string under a prefix key is not counted; an array under one is */
	assert_int_equal(parse_str("{\"prefix\":24,\"cidrs\":[\"nope\",7]}", &g, &bad), 0);
	assert_int_equal(bad, 1);
	free(g.pfx);
}

static void test_bad_documents(void **state)
{
	(void)state;
	struct got g = {0};
	unsigned long bad = 5;
	assert_int_equal(parse_str("", &g, &bad), SH_EINVAL);
	assert_int_equal(bad, 0);
	assert_int_equal(parse_str("{\"ipv4\":[\"1.2.3.0/24\"", &g, &bad), SH_EINVAL);
	assert_int_equal(parse_str("{\"a\":\"b\"} trailing", &g, &bad), SH_EINVAL);
	assert_int_equal(parse_str("{\"a\":\"\xc3\x28\"}", &g, &bad), SH_EINVAL);
	assert_int_equal(parse_str("{\"a\":\"1.2.3.4\\u0000\"}", &g, &bad), SH_EINVAL);
	static const char nul[] = "{\"a\":\"1.2.3.4\"}\0{}";
	assert_int_equal(sh_hosting_parse_json(nul, sizeof(nul) - 1, on_row, &g, &bad), SH_EINVAL);
	assert_int_equal(sh_hosting_parse_json(NULL, 0, on_row, &g, &bad), SH_EINVAL);
	assert_int_equal(sh_hosting_parse_json("[]", 2, NULL, &g, &bad), SH_EINVAL);
	assert_int_equal(sh_hosting_parse_json("[]", 2, on_row, &g, NULL), 0);

	/* deep nesting is refused by the JSON parser, not by a stack overflow */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 1);
	assert_non_null(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	assert_int_equal(parse_str(deep, &g, &bad), SH_EINVAL);
	free(deep);

	/* a 1 MB string is just a string that is no prefix */
	size_t big = 1 << 20;
	char *doc = malloc(big + 64);
	assert_non_null(doc);
	strcpy(doc, "{\"ip_prefix\":\"");
	size_t k = strlen(doc);
	memset(doc + k, '1', big);
	strcpy(doc + k + big, "\",\"x\":\"192.0.2.1\"}");
	assert_int_equal(parse_str(doc, &g, &bad), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(bad, 1);
	free(doc);

	/* the callback's non-zero result stops the walk and is returned */
	g.stop_after = 2;
	assert_int_equal(parse_str("[\"1.0.0.0/8\",\"2.0.0.0/8\",\"3.0.0.0/8\"]", &g, &bad), 7);
	assert_int_equal(g.n, 2);
	free(g.pfx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider_files),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_bad_documents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
