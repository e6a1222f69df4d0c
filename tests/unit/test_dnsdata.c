/* Unit tests for dns/data: rbldnsd data-file parsing and the compiled lookups, against a
 * brute-force reference for random prefix sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/data.h"

struct warns {
	unsigned n;
	unsigned lines[32];
	char msgs[32][128];
};

static void warn_cb(void *ud, const char *file, unsigned line, const char *msg)
{
	(void)file;
	struct warns *w = ud;
	if (w->n < 32) {
		w->lines[w->n] = line;
		snprintf(w->msgs[w->n], sizeof(w->msgs[0]), "%s", msg);
	}
	w->n++;
}

static struct sh_dns_dataset *parse(int type, const char *text, struct warns *w)
{
	struct sh_dns_opts o;
	sh_dns_opts_init(&o);
	struct sh_dns_dataset *ds = NULL;
	assert_int_equal(sh_dns_dataset_parse(type, "t", text, strlen(text), &o, warn_cb, w, &ds), 0);
	return ds;
}

static uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }

/* The A record of a lookup result (first value), 0 when unlisted. */
static uint32_t a_of(const struct sh_dns_dataset *ds, uint32_t v)
{
	if (!v)
		return 0;
	if (v & SH_DNS_VLIST)
		v = ds->vlists[(v & ~SH_DNS_VLIST) + 1];
	const uint8_t *r = ds->vals + v;
	return ip(r[0], r[1], r[2], r[3]);
}

static void test_ip4set(void **state)
{
	(void)state;
	struct warns w = {0};
	struct sh_dns_dataset *ds = parse(SH_DNS_IP4SET,
		"# comment\n"
		":127.0.0.2:default $\n"
		"127.0.0.2\n"
		"10.0.0.0/24 :3\n"
		"10.1.0.0/16 :4:txt\n"
		"!10.1.2.3\n"
		"192.0.2.10-20 :5\n"
		"172.16-31\n"
		"10.2/16 :6\n"
		"bogus\n"
		"10.9.9.9/24\n"
		"203.0.113.1 :7:first\n"
		"203.0.113.1 :8:second\n"
		"100.64.0.1#comment\n", &w);
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(127, 0, 0, 2))), ip(127, 0, 0, 2));
	assert_int_equal(sh_dns_ds_lookup4(ds, ip(127, 0, 0, 3)), 0);
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(10, 0, 0, 200))), ip(127, 0, 0, 3));
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(10, 1, 200, 1))), ip(127, 0, 0, 4));
	assert_int_equal(sh_dns_ds_lookup4(ds, ip(10, 1, 2, 3)), 0);
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(192, 0, 2, 10))), ip(127, 0, 0, 5));
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(192, 0, 2, 20))), ip(127, 0, 0, 5));
	assert_int_equal(sh_dns_ds_lookup4(ds, ip(192, 0, 2, 21)), 0);
	assert_int_equal(sh_dns_ds_lookup4(ds, ip(192, 0, 2, 9)), 0);
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(172, 31, 255, 255))), ip(127, 0, 0, 2));
	assert_int_equal(sh_dns_ds_lookup4(ds, ip(172, 32, 0, 0)), 0);
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(10, 2, 3, 4))), ip(127, 0, 0, 6));
	assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, ip(100, 64, 0, 1))), ip(127, 0, 0, 2));
	uint32_t v = sh_dns_ds_lookup4(ds, ip(203, 0, 113, 1));
	assert_true(v & SH_DNS_VLIST);
	assert_int_equal(ds->vlists[v & ~SH_DNS_VLIST], 2);
	/* empty non-terminals */
	assert_true(sh_dns_ds_any4(ds, ip(10, 1, 0, 0), ip(10, 1, 255, 255)));
	assert_false(sh_dns_ds_any4(ds, ip(10, 3, 0, 0), ip(10, 3, 255, 255)));
	assert_true(sh_dns_ds_any4(ds, ip(127, 0, 0, 0), ip(127, 0, 0, 255)));
	/* two bad lines, reported with their numbers */
	assert_int_equal(w.n, 2);
	assert_int_equal(w.lines[0], 10);
	assert_string_equal(w.msgs[0], "invalid address");
	assert_int_equal(w.lines[1], 11);
	assert_string_equal(w.msgs[1], "invalid range (non-zero host part)");
	assert_int_equal(ds->entries, 10);
	sh_dns_dataset_free(ds);
}

static void test_specials(void **state)
{
	(void)state;
	struct warns w = {0};
	struct sh_dns_dataset *ds = parse(SH_DNS_IP4SET,
		"$SOA 0 ns1.example. hostmaster.example. 12 10m 5m 1w 2m\n"
		"$SOA 1 ignored. ignored. 1 1 1 1 1\n"
		"$NS 1d ns1.example. -ns0.example. ns2.example.\n"
		"$TTL 1h\n"
		"$1 first\n"
		"$1 second\n"
		"$= base $=\n"
		"#$2 hidden\n"
		"$MAXRANGE4 /24\n"
		"10.0.0.0/16\n"
		"$BOGUS\n"
		"$TTL x\n", &w);
	assert_true(ds->soa.present);
	assert_int_equal(ds->soa.ttl, 35 * 60); /* 0: the TTL in force at the $SOA line */
	assert_int_equal(ds->soa.serial, 12);
	assert_int_equal(ds->soa.refresh, 600);
	assert_int_equal(ds->soa.expire, 604800);
	assert_int_equal(ds->soa.minimum, 120);
	assert_memory_equal(ds->soa.mname, "\3ns1\7example\0", 13);
	assert_int_equal(ds->nns, 2);
	assert_int_equal(ds->ns_ttl, 86400);
	assert_memory_equal(ds->ns[1], "\3ns2\7example\0", 13);
	assert_int_equal(ds->ttl, 3600);
	assert_string_equal(ds->subst[1], "first");
	assert_string_equal(ds->subst[2], "hidden");
	assert_string_equal(ds->subst[10], "base $=");
	assert_int_equal(sh_dns_ds_lookup4(ds, ip(10, 0, 0, 1)), 0); /* larger than $MAXRANGE4 */
	assert_int_equal(w.n, 3);
	assert_int_equal(w.lines[1], 11);
	assert_string_equal(w.msgs[1], "invalid or unrecognized special entry");
	sh_dns_dataset_free(ds);
}

static void test_values(void **state)
{
	(void)state;
	struct warns w = {0};
	struct sh_dns_dataset *ds = parse(SH_DNS_IP4SET,
		":127.0.0.2:IP $ listed\n"
		"1.0.0.1\n"
		"1.0.0.2 :5\n"
		"1.0.0.3 :6:\n"
		"1.0.0.4 open relay $\n"
		"1.0.0.5 :0.0.0.0:zero\n"
		"1.0.0.6 :127.1:short form\n", &w);
	const uint8_t *r = ds->vals + sh_dns_ds_lookup4(ds, ip(1, 0, 0, 1));
	assert_memory_equal(r, "\177\0\0\2\013IP $ listed", 16);
	r = ds->vals + sh_dns_ds_lookup4(ds, ip(1, 0, 0, 2));
	assert_memory_equal(r, "\177\0\0\5\013IP $ listed", 16);
	r = ds->vals + sh_dns_ds_lookup4(ds, ip(1, 0, 0, 3));
	assert_memory_equal(r, "\177\0\0\6\0", 5);
	r = ds->vals + sh_dns_ds_lookup4(ds, ip(1, 0, 0, 4));
	assert_memory_equal(r, "\177\0\0\2\014open relay $", 17);
	assert_int_equal(sh_dns_ds_lookup4(ds, ip(1, 0, 0, 5)), 0);
	r = ds->vals + sh_dns_ds_lookup4(ds, ip(1, 0, 0, 6));
	assert_memory_equal(r, "\177\0\0\1", 4);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.msgs[0], "invalid A RR");
	sh_dns_dataset_free(ds);
}

static void test_ip6(void **state)
{
	(void)state;
	struct warns w = {0};
	struct sh_dns_dataset *ds = parse(SH_DNS_IP6TRIE,
		":127.0.0.2:v6\n"
		"2001:db8::/32\n"
		"2001:db8:1::/48 :3\n"
		"!2001:db8:1::1\n"
		"2001:21ab:def7:4242 :4\n"
		"::1 :5\n"
		"2001:db8::/32 :9\n"
		"2001\n"
		"1:2:3:4:5:6:7:8:9\n", &w);
	assert_int_equal(a_of(ds, sh_dns_ds_lookup6(ds, ((sh_u128)0x0001000200030004ull << 64) | 0x0005000600070008ull)),
			 ip(127, 0, 0, 9));
	sh_u128 base = (sh_u128)0x20010db8u << 96;
	assert_int_equal(a_of(ds, sh_dns_ds_lookup6(ds, base | 5)), ip(127, 0, 0, 2));
	assert_int_equal(a_of(ds, sh_dns_ds_lookup6(ds, base | (sh_u128)1 << 80 | 7)), ip(127, 0, 0, 3));
	assert_int_equal(sh_dns_ds_lookup6(ds, base | (sh_u128)1 << 80 | 1), 0);
	assert_int_equal(a_of(ds, sh_dns_ds_lookup6(ds, 1)), ip(127, 0, 0, 5));
	assert_int_equal(sh_dns_ds_lookup6(ds, 2), 0);
	sh_u128 p64 = ((sh_u128)0x200121abdef74242ull) << 64;
	assert_int_equal(a_of(ds, sh_dns_ds_lookup6(ds, p64 | 0xffff)), ip(127, 0, 0, 4));
	assert_true(sh_dns_ds_any6(ds, base, base | (((sh_u128)1 << 96) - 1)));
	assert_int_equal(w.n, 2); /* duplicate, bare number; ":9" after eight groups is a value */
	sh_dns_dataset_free(ds);
}

static void test_fmt(void **state)
{
	(void)state;
	char b[64];
	sh_dns_fmt_ip6(((sh_u128)0x20010db8u << 96) | 5, b);
	assert_string_equal(b, "2001:db8::5");
	sh_dns_fmt_ip6(1, b);
	assert_string_equal(b, "::1");
	sh_dns_fmt_ip6(0, b);
	assert_string_equal(b, "::");
	sh_dns_fmt_ip6((sh_u128)0x2001u << 112, b);
	assert_string_equal(b, "2001::");
	sh_dns_fmt_ip6(((sh_u128)1 << 112) | ((sh_u128)1 << 64) | 1, b);
	assert_string_equal(b, "1:0:0:1::1"); /* the first longest run */
	sh_dns_fmt_ip4(ip(192, 0, 2, 1), b);
	assert_string_equal(b, "192.0.2.1");
}

static void test_dnset(void **state)
{
	(void)state;
	struct warns w = {0};
	struct sh_dns_dataset *ds = parse(SH_DNS_DNSET,
		":127.0.1.2:dom $\n"
		"example.com\n"
		".wild.example :4\n"
		"*.sub.example :5\n"
		"!ok.sub.example\n"
		"Mixed.CASE.net\n"
		"..bad\n", &w);
	bool ex;
	const uint8_t *base = NULL;
	const uint8_t n1[] = "\7example\3com";
	assert_int_equal(a_of(ds, sh_dns_ds_lookupd(ds, n1, 12, 2, &ex, &base)), ip(127, 0, 1, 2));
	assert_true(ex);
	assert_memory_equal(base, "\14\7example\3com", 13);
	const uint8_t n2[] = "\3www\7example\3com";
	assert_int_equal(sh_dns_ds_lookupd(ds, n2, 16, 3, &ex, &base), 0);
	assert_false(ex);
	const uint8_t n3[] = "\3com";
	assert_int_equal(sh_dns_ds_lookupd(ds, n3, 4, 1, &ex, &base), 0);
	assert_true(ex); /* a parent of a listed name */
	const uint8_t n4[] = "\1a\1b\4wild\7example";
	assert_int_equal(a_of(ds, sh_dns_ds_lookupd(ds, n4, 17, 4, &ex, &base)), ip(127, 0, 0, 4));
	assert_memory_equal(base, "\15\4wild\7example", 14);
	const uint8_t n5[] = "\3sub\7example";
	assert_int_equal(sh_dns_ds_lookupd(ds, n5, 12, 2, &ex, &base), 0);
	assert_true(ex);
	const uint8_t n6[] = "\2ok\3sub\7example";
	assert_int_equal(sh_dns_ds_lookupd(ds, n6, 15, 3, &ex, &base), 0);
	const uint8_t n7[] = "\1x\3sub\7example";
	assert_int_equal(a_of(ds, sh_dns_ds_lookupd(ds, n7, 14, 3, &ex, &base)), ip(127, 0, 0, 5));
	const uint8_t n8[] = "\5mixed\4case\3net";
	assert_int_equal(a_of(ds, sh_dns_ds_lookupd(ds, n8, 15, 3, &ex, &base)), ip(127, 0, 1, 2));
	assert_int_equal(w.n, 1);
	assert_int_equal(w.lines[0], 7);
	sh_dns_dataset_free(ds);
}

/* Random prefix sets: ip4trie lookups equal a brute-force longest match. */
static uint64_t rs = 42;
static uint32_t rnd32(void)
{
	rs = rs * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rs >> 32);
}

static void test_trie_random(void **state)
{
	(void)state;
	enum { N = 400 };
	struct { uint32_t a; unsigned len; unsigned v; bool excl; } p[N];
	char *text = malloc(N * 64);
	size_t o = 0;
	for (int i = 0; i < N; i++) {
		p[i].len = 8 + rnd32() % 25;
		p[i].a = (0x0a000000u | (rnd32() & 0x00ffffffu)) & (p[i].len == 32 ? ~0u : ~(~0u >> p[i].len));
		p[i].v = 1 + rnd32() % 200;
		p[i].excl = rnd32() % 5 == 0;
		o += (size_t)sprintf(text + o, "%s%u.%u.%u.%u/%u :127.0.%u.%u\n", p[i].excl ? "!" : "",
				     p[i].a >> 24, (p[i].a >> 16) & 255, (p[i].a >> 8) & 255, p[i].a & 255,
				     p[i].len, p[i].v / 100, p[i].v % 100 + 1);
	}
	struct warns w = {0};
	struct sh_dns_dataset *ds = parse(SH_DNS_IP4TRIE, text, &w);
	for (int t = 0; t < 20000; t++) {
		uint32_t q = t < 400 ? p[t].a : 0x0a000000u | (rnd32() & 0x00ffffffu);
		int best = -1;
		for (int i = 0; i < N; i++) {
			uint32_t m = p[i].len == 32 ? ~0u : ~(~0u >> p[i].len);
			/* the first line wins among duplicates */
			if ((q & m) == p[i].a && (best < 0 || p[i].len > p[best].len))
				best = i;
		}
		uint32_t want = best < 0 || p[best].excl ? 0 : ip(127, 0, p[best].v / 100, p[best].v % 100 + 1);
		assert_int_equal(a_of(ds, sh_dns_ds_lookup4(ds, q)), want);
	}
	free(text);
	sh_dns_dataset_free(ds);
}

static void test_real_files(void **state)
{
	(void)state;
	struct sh_dns_opts o;
	sh_dns_opts_init(&o);
	struct warns w = {0};
	struct sh_dns_dataset *ds;
	assert_int_equal(sh_dns_dataset_load(SH_DNS_DNSET, SH_TEST_DATA "/dnsbl/domgz.txt.gz", &o,
					     warn_cb, &w, &ds), 0);
	assert_int_equal(ds->entries, 7);
	sh_dns_dataset_free(ds);
	assert_int_equal(sh_dns_dataset_load(SH_DNS_IP4SET, SH_TEST_DATA "/dnsbl/real_ip4.txt", &o,
					     warn_cb, &w, &ds), 0);
	assert_int_equal(ds->entries, 3000);
	assert_true(ds->soa.present);
	sh_dns_dataset_free(ds);
	assert_int_equal(sh_dns_dataset_load(SH_DNS_DNSET, SH_TEST_DATA "/dnsbl/none.txt", &o,
					     warn_cb, &w, &ds), SH_EIO);
}

static void test_zonespec(void **state)
{
	(void)state;
	struct sh_dns_zonespec z;
	assert_int_equal(sh_dns_zonespec_parse("bl.example:ip4set:a.txt,b.txt", &z), 0);
	assert_string_equal(z.zone, "bl.example");
	assert_int_equal(z.type, SH_DNS_IP4SET);
	assert_string_equal(z.files, "a.txt,b.txt");
	sh_dns_zonespec_fini(&z);
	assert_int_equal(sh_dns_zonespec_parse("bl.example:nope:a", &z), SH_EUNSUP);
	assert_int_equal(sh_dns_zonespec_parse("bl.example", &z), SH_EINVAL);
	assert_int_equal(sh_dns_zonespec_parse(":dnset:a", &z), SH_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4set),   cmocka_unit_test(test_specials),
		cmocka_unit_test(test_values),   cmocka_unit_test(test_ip6),
		cmocka_unit_test(test_fmt),      cmocka_unit_test(test_dnset),
		cmocka_unit_test(test_trie_random), cmocka_unit_test(test_real_files),
		cmocka_unit_test(test_zonespec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
