/* Unit tests for lib/netmap: lookups over the real ip-location-db slices against a plain
 * binary search over the CSV rows, plus replace, nesting and special-space rules. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "lib/netmap.h"
#include "netmap/asmap.h"

#define DATA SH_TEST_DATA "/asn/"

__extension__ typedef unsigned __int128 u128;

/* A CSV row as the reference reads it, independently of the parsers under test. */
struct ref_row {
	u128 first, last;
	uint32_t asn;
	char *org;
};

struct ref {
	struct ref_row *v;
	size_t n, cap;
};

static uint64_t rng = 7;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static u128 addr_num(int af, const uint8_t *b)
{
	u128 x = 0;
	for (int i = 0; i < (af == AF_INET ? 4 : 16); i++)
		x = x << 8 | b[i];
	return x;
}

static void num_ip(int af, u128 x, struct sh_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = af == AF_INET ? SH_AF_V4 : SH_AF_V6;
	int n = af == AF_INET ? 4 : 16;
	for (int i = n - 1; i >= 0; i--, x >>= 8)
		ip->b[i] = (uint8_t)x;
}

/* "start,end,asn,org" with org maybe quoted ("" for a quote). */
static void ref_load(const char *path, int af, struct ref *r)
{
	gzFile f = gzopen(path, "rb");
	assert_non_null(f);
	char line[4096];
	while (gzgets(f, line, sizeof(line))) {
		line[strcspn(line, "\r\n")] = '\0';
		char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
		assert_non_null(c3);
		*c1 = *c2 = *c3 = '\0';
		uint8_t a[16], b[16];
		assert_int_equal(inet_pton(af, line, a), 1);
		assert_int_equal(inet_pton(af, c1 + 1, b), 1);
		char *org = c3 + 1, *w = org;
		if (*org == '"') {
			for (char *s = org + 1; *s; s++) {
				if (*s == '"' && s[1] != '"')
					break;
				if (*s == '"')
					s++;
				*w++ = *s;
			}
			*w = '\0';
		}
		/* names are kept without surrounding blanks */
		while (*org == ' ')
			org++;
		size_t len = strlen(org);
		while (len && org[len - 1] == ' ')
			org[--len] = '\0';
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 1024;
			r->v = realloc(r->v, r->cap * sizeof(*r->v));
			assert_non_null(r->v);
		}
		struct ref_row *row = &r->v[r->n++];
		row->first = addr_num(af, a);
		row->last = addr_num(af, b);
		row->asn = (uint32_t)strtoul(c2 + 1, NULL, 10);
		row->org = strdup(org);
		assert_true(row->first <= row->last);
		assert_true(r->n == 1 || r->v[r->n - 2].last < row->first);
	}
	gzclose(f);
}

/* The row containing x, by binary search over the sorted, disjoint rows. */
static const struct ref_row *ref_find(const struct ref *r, u128 x)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->v[mid].first <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && x <= r->v[lo - 1].last ? &r->v[lo - 1] : NULL;
}

static void ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].org);
	free(r->v);
}

static int add_row(const struct sh_netrow *row, void *arg)
{
	return sh_netmap_add(arg, row);
}

static void load_table(struct sh_netmap *m, const char *path)
{
	gzFile f = gzopen(path, "rb");
	assert_non_null(f);
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	int k;
	while ((k = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
		n += (size_t)k;
		if (n == cap) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	gzclose(f);
	int fields;
	assert_int_equal(sh_asmap_parse_text(SH_ASMAP_IPLDB, buf, n, add_row, NULL, m, &fields), 0);
	free(buf);
}

/* An address to probe: uniform, inside a random row, or at / just beyond its edges. */
static u128 probe(int af, const struct ref *r)
{
	const struct ref_row *row = &r->v[rnd() % r->n];
	u128 span = row->last - row->first, x;
	switch (rnd() % 6) {
	case 0:
		x = af == AF_INET ? (u128)(uint32_t)rnd()
				  : ((u128)(rnd() >> 3 | 1ull << 61) << 64 | rnd());
		return x;
	case 1:
		return row->first;
	case 2:
		return row->last;
	case 3:
		return row->first - 1;
	case 4:
		return row->last + 1;
	default:
		x = ((u128)rnd() << 64 | rnd());
		return row->first + (span == ~(u128)0 ? x : x % (span + 1));
	}
}

static void check_against_csv(int af, const struct ref *r, const struct sh_netmap *m,
			      size_t n_probes)
{
	size_t hits = 0;
	for (size_t i = 0; i < n_probes; i++) {
		u128 x = probe(af, r);
		if (af == AF_INET)
			x &= 0xffffffffu;
		struct sh_ip ip;
		num_ip(af, x, &ip);
		const struct ref_row *want = ref_find(r, x);
		struct sh_netinfo got;
		int rc = sh_netmap_lookup(m, &ip, &got);
		if (sh_ip_special(&ip)) {
			assert_int_equal(rc, SH_ENOENT);
			continue;
		}
		if (!want) {
			assert_int_equal(rc, SH_ENOENT);
			continue;
		}
		assert_int_equal(rc, 0);
		hits++;
		assert_int_equal(got.asn, want->asn);
		assert_string_equal(got.org, want->org);
		assert_string_equal(got.country, "");
		/* the matched prefix holds the address and lies inside the row */
		assert_true(sh_prefix_contains(&got.prefix, &ip));
		struct sh_ip last;
		sh_prefix_last(&got.prefix, &last);
		assert_true(addr_num(af, got.prefix.ip.b) >= want->first);
		assert_true(addr_num(af, last.b) <= want->last);
	}
	/* the probes reach both outcomes */
	assert_true(hits > n_probes / 3);
	assert_true(hits < n_probes);
}

static void test_real_slices(void **state)
{
	(void)state;
	struct ref r4 = {0}, r6 = {0};
	ref_load(DATA "asn-ipv4-slice.csv.gz", AF_INET, &r4);
	ref_load(DATA "asn-ipv6-slice.csv.gz", AF_INET6, &r6);
	assert_int_equal(r4.n, 5605);
	assert_int_equal(r6.n, 3555);

	struct sh_netmap *m;
	assert_int_equal(sh_netmap_new(&m), 0);
	load_table(m, DATA "asn-ipv4-slice.csv.gz");
	load_table(m, DATA "asn-ipv6-slice.csv.gz");
	size_t count = sh_netmap_count(m);
	assert_true(count > r4.n + r6.n);
	assert_int_equal(sh_netmap_build(m), 0);
	assert_int_equal(sh_netmap_count(m), count);

	check_against_csv(AF_INET, &r4, m, 200000);
	check_against_csv(AF_INET6, &r6, m, 200000);

	/* a v4-mapped IPv6 address is looked up as IPv4 */
	struct sh_ip ip = {.af = SH_AF_V6, .b = {[10] = 0xff, [11] = 0xff, 1, 0, 0, 1}};
	struct sh_netinfo ni;
	assert_int_equal(sh_netmap_lookup(m, &ip, &ni), 0);
	assert_int_equal(ni.asn, 13335);
	assert_string_equal(ni.org, "Cloudflare, Inc.");
	assert_int_equal(ni.prefix.ip.af, SH_AF_V4);
	assert_int_equal(ni.prefix.len, 24);

	sh_netmap_free(m);
	ref_free(&r4);
	ref_free(&r6);
}

static struct sh_netrow row_of(const char *prefix, uint32_t asn, const char *org,
			       const char *cc)
{
	struct sh_netrow r = {.asn = asn, .org = org};
	assert_int_equal(sh_prefix_parse(prefix, strlen(prefix), false, &r.prefix), 0);
	strncpy(r.country, cc, sizeof(r.country) - 1);
	return r;
}

static int lookup(const struct sh_netmap *m, const char *addr, struct sh_netinfo *out)
{
	struct sh_ip ip;
	assert_int_equal(sh_ip_parse(addr, strlen(addr), &ip), 0);
	return sh_netmap_lookup(m, &ip, out);
}

static void test_rules(void **state)
{
	(void)state;
	struct sh_netmap *m;
	assert_int_equal(sh_netmap_new(&m), 0);
	struct sh_netrow rows[] = {
		row_of("8.0.0.0/8", 3356, "Level 3 Parent, LLC", "us"),
		row_of("8.8.8.0/24", 15169, "Google LLC", "US"),
		row_of("8.8.8.0/24", 15169, "Google LLC", "US"),
		row_of("9.9.9.0/24", 19281, "Quad9", "CH"),
		row_of("9.9.9.0/24", 19281, "Quad9 (replaced)", "9"),
		row_of("10.0.0.0/8", 64512, "private", "XX"),
		row_of("2001:db8::/32", 64496, "documentation", "DE"),
		row_of("2a00:1450::/32", 15169, "Google LLC", ""),
		row_of("2a00:1450:4001::/48", 15169, NULL, "i1"),
		row_of("198.51.0.0/16", 64500, "covers TEST-NET-2", "GB"),
		row_of("0.0.0.0/0", 1, "default", ""),
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(sh_netmap_add(m, &rows[i]), 0);
	assert_int_equal(sh_netmap_count(m), 9);
	struct sh_netinfo ni;
	assert_int_equal(lookup(m, "8.8.8.8", &ni), SH_EINVAL); /* not built yet */
	assert_int_equal(sh_netmap_build(m), 0);
	assert_int_equal(sh_netmap_add(m, &rows[0]), SH_EINVAL); /* built */
	assert_int_equal(sh_netmap_build(m), SH_EINVAL);

	assert_int_equal(lookup(m, "8.8.8.8", &ni), 0);
	assert_int_equal(ni.asn, 15169);
	char buf[SH_PREFIX_STRLEN];
	sh_prefix_format(&ni.prefix, buf);
	assert_string_equal(buf, "8.8.8.0/24");
	const char *google = ni.org;
	assert_int_equal(lookup(m, "8.8.4.4", &ni), 0);
	assert_int_equal(ni.asn, 3356);
	assert_string_equal(ni.country, "US");
	sh_prefix_format(&ni.prefix, buf);
	assert_string_equal(buf, "8.0.0.0/8");
	/* the same organisation is stored once */
	assert_int_equal(lookup(m, "2a00:1450::1", &ni), 0);
	assert_ptr_equal(ni.org, google);
	assert_string_equal(ni.country, "");
	assert_int_equal(lookup(m, "2a00:1450:4001::5", &ni), 0);
	assert_string_equal(ni.org, "");
	assert_string_equal(ni.country, ""); /* "i1" is no country code */
	/* a later row for the same prefix replaces the earlier one; bad country codes drop */
	assert_int_equal(lookup(m, "9.9.9.9", &ni), 0);
	assert_string_equal(ni.org, "Quad9 (replaced)");
	assert_string_equal(ni.country, "");
	/* special-purpose space is never attributed, whatever the table says */
	assert_int_equal(lookup(m, "10.1.2.3", &ni), SH_ENOENT);
	assert_int_equal(lookup(m, "2001:db8::1", &ni), SH_ENOENT);
	assert_int_equal(lookup(m, "198.51.100.7", &ni), SH_ENOENT);
	assert_int_equal(lookup(m, "127.0.0.1", &ni), SH_ENOENT);
	assert_int_equal(lookup(m, "::ffff:127.0.0.1", &ni), SH_ENOENT);
	assert_int_equal(lookup(m, "198.51.0.1", &ni), 0);
	assert_int_equal(ni.asn, 64500);
	assert_int_equal(lookup(m, "1.1.1.1", &ni), 0);
	assert_int_equal(ni.asn, 1);
	assert_int_equal(lookup(m, "2c0f::1", &ni), SH_ENOENT);

	struct sh_ip bad = {.af = 5};
	assert_int_equal(sh_netmap_lookup(m, &bad, &ni), SH_EINVAL);
	assert_int_equal(sh_netmap_lookup(NULL, &bad, &ni), SH_EINVAL);
	sh_netmap_free(m);
}

static void test_bad_rows_and_empty(void **state)
{
	(void)state;
	struct sh_netmap *m;
	assert_int_equal(sh_netmap_new(&m), 0);
	struct sh_netrow r = row_of("1.2.3.0/24", 1, "x", "");
	r.prefix.len = 33;
	assert_int_equal(sh_netmap_add(m, &r), SH_EINVAL);
	r.prefix.ip.af = 0;
	r.prefix.len = 8;
	assert_int_equal(sh_netmap_add(m, &r), SH_EINVAL);
	assert_int_equal(sh_netmap_add(m, NULL), SH_EINVAL);
	/* host bits are masked: 1.2.3.4/24 is 1.2.3.0/24 */
	r = row_of("1.2.3.0/24", 1, "x", "");
	r.prefix.ip.b[3] = 4;
	assert_int_equal(sh_netmap_add(m, &r), 0);
	r.prefix.ip.b[3] = 0;
	r.asn = 2;
	assert_int_equal(sh_netmap_add(m, &r), 0);
	assert_int_equal(sh_netmap_count(m), 1);
	assert_int_equal(sh_netmap_build(m), 0);
	struct sh_netinfo ni;
	assert_int_equal(lookup(m, "1.2.3.200", &ni), 0);
	assert_int_equal(ni.asn, 2);
	assert_int_equal(lookup(m, "2606:4700::1", &ni), SH_ENOENT); /* no IPv6 rows */
	sh_netmap_free(m);

	assert_int_equal(sh_netmap_new(&m), 0);
	assert_int_equal(sh_netmap_build(m), 0);
	assert_int_equal(sh_netmap_count(m), 0);
	assert_int_equal(lookup(m, "1.1.1.1", &ni), SH_ENOENT);
	sh_netmap_free(m);
	sh_netmap_free(NULL);
	assert_int_equal(sh_netmap_count(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_bad_rows_and_empty),
		cmocka_unit_test(test_real_slices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
