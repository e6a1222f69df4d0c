/* Unit tests for dns/answer: byte-level fixtures for the responses of sh_dns_answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/answer.h"

static struct sh_dns_gen *gen;

static const char ip4data[] =
	"$SOA 1h ns.bl.test. hostmaster.bl.test. 77 10m 5m 1w 2m\n"
	"$NS 1d ns.bl.test.\n"
	"$TTL 60\n"
	"$1 http://x/\n"
	":127.0.0.2:L $ $1\n"
	"127.0.0.2\n"
	"10.0.0.0/24 :3\n"
	"198.18.0.1 :2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	"198.18.0.1 :2:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n"
	"198.18.0.1 :2:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\n";
static const char domdata[] = ":127.0.1.2:D $\nexample.com\n";

static int setup(void **state)
{
	(void)state;
	struct sh_dns_opts o;
	sh_dns_opts_init(&o);
	struct sh_dns_dataset *ds[2];
	assert_int_equal(sh_dns_dataset_parse(SH_DNS_IP4SET, "ip4", ip4data, strlen(ip4data), &o, NULL,
					      NULL, &ds[0]), 0);
	assert_int_equal(sh_dns_dataset_parse(SH_DNS_DNSET, "dom", domdata, strlen(domdata), &o, NULL,
					      NULL, &ds[1]), 0);
	struct sh_dns_zonespec zs[2] = {{(char *)"bl.test", SH_DNS_IP4SET, (char *)"ip4"},
					{(char *)"dbl.test", SH_DNS_DNSET, (char *)"dom"}};
	assert_int_equal(sh_dns_gen_build(zs, 2, ds, &gen), 0);
	for (int i = 0; i < 2; i++) /* the generation holds its own references */
		if (--ds[i]->refs == 0)
			sh_dns_dataset_free(ds[i]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh_dns_gen_free(gen);
	return 0;
}

/* A query packet: header (id 0x1234, RD), the name, type, class IN, optional extra bytes. */
static size_t mkq(uint8_t *p, const char *name, uint16_t type, const uint8_t *extra, size_t xn,
		  uint16_t arcount)
{
	size_t o = 0;
	const uint8_t h[12] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, (uint8_t)(arcount >> 8), (uint8_t)arcount};
	memcpy(p, h, 12);
	o = 12;
	const char *s = name;
	while (*s) {
		const char *d = strchr(s, '.');
		size_t l = d ? (size_t)(d - s) : strlen(s);
		p[o++] = (uint8_t)l;
		memcpy(p + o, s, l);
		o += l;
		s += l + (d ? 1 : 0);
	}
	p[o++] = 0;
	p[o++] = (uint8_t)(type >> 8);
	p[o++] = (uint8_t)type;
	p[o++] = 0;
	p[o++] = 1;
	if (xn)
		memcpy(p + o, extra, xn);
	return o + xn;
}

static size_t ask(const uint8_t *q, size_t qn, bool tcp, uint8_t *out, struct sh_dns_ainfo *info)
{
	return sh_dns_answer(gen, q, qn, tcp, out, 65535, info);
}

static void test_listed_a(void **state)
{
	(void)state;
	uint8_t q[512], r[65535];
	struct sh_dns_ainfo info;
	size_t qn = mkq(q, "2.0.0.127.bl.test", 1, NULL, 0, 0);
	size_t rn = ask(q, qn, false, r, &info);
	static const uint8_t want_hdr[12] = {0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0};
	static const uint8_t want_an[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 2};
	assert_int_equal(rn, qn + sizeof(want_an));
	assert_memory_equal(r, want_hdr, 12);
	assert_memory_equal(r + 12, q + 12, qn - 12);
	assert_memory_equal(r + qn, want_an, sizeof(want_an));
	assert_true(info.listed);
}

static void test_listed_txt(void **state)
{
	(void)state;
	uint8_t q[512], r[65535];
	struct sh_dns_ainfo info;
	size_t qn = mkq(q, "2.0.0.127.BL.test", 16, NULL, 0, 0);
	size_t rn = ask(q, qn, false, r, &info);
	static const uint8_t want_an[] = {0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 22, 21,
					  'L', ' ', '1', '2', '7', '.', '0', '.', '0', '.', '2',
					  ' ', 'h', 't', 't', 'p', ':', '/', '/', 'x', '/'};
	assert_int_equal(rn, qn + sizeof(want_an));
	assert_memory_equal(r + qn, want_an, sizeof(want_an));
	assert_memory_equal(r + 12, q + 12, qn - 12); /* the question keeps its case */
}

static void test_nxdomain(void **state)
{
	(void)state;
	uint8_t q[512], r[65535];
	struct sh_dns_ainfo info;
	size_t qn = mkq(q, "1.0.0.127.bl.test", 1, NULL, 0, 0);
	size_t rn = ask(q, qn, false, r, &info);
	static const uint8_t want_hdr[12] = {0x12, 0x34, 0x85, 0x03, 0, 1, 0, 0, 0, 1, 0, 0};
	/* SOA owner: a pointer to "bl.test" inside the question (offset 12 + 10) */
	static const uint8_t want_ns[] = {
		0xc0, 22, 0, 6, 0, 1, 0, 0, 0, 120, 0, 38,
		2, 'n', 's', 0xc0, 22,
		10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 0xc0, 22,
		0, 0, 0, 77, 0, 0, 2, 88, 0, 0, 1, 44, 0, 9, 0x3a, 0x80, 0, 0, 0, 120};
	assert_int_equal(rn, qn + sizeof(want_ns));
	assert_memory_equal(r, want_hdr, 12);
	assert_memory_equal(r + qn, want_ns, sizeof(want_ns));
	assert_int_equal(info.rcode, SH_DNS_R_NXDOMAIN);
}

static void test_nodata_ent(void **state)
{
	(void)state;
	uint8_t q[512], r[65535];
	struct sh_dns_ainfo info;
	size_t qn = mkq(q, "0.10.bl.test", 1, NULL, 0, 0);
	ask(q, qn, false, r, &info);
	assert_int_equal(r[3] & 15, 0);
	assert_int_equal(r[7], 0);
	assert_int_equal(r[9], 1);
	qn = mkq(q, "com.dbl.test", 1, NULL, 0, 0);
	ask(q, qn, false, r, &info);
	assert_int_equal(r[3] & 15, 0);
	assert_int_equal(r[9], 1);
	qn = mkq(q, "org.dbl.test", 1, NULL, 0, 0);
	ask(q, qn, false, r, &info);
	assert_int_equal(r[3] & 15, 3);
}

static void test_apex_and_refused(void **state)
{
	(void)state;
	uint8_t q[512], r[65535];
	struct sh_dns_ainfo info;
	size_t qn = mkq(q, "bl.test", 2, NULL, 0, 0);
	size_t rn = ask(q, qn, false, r, &info);
	static const uint8_t want_ns[] = {0xc0, 12, 0, 2, 0, 1, 0, 1, 0x51, 0x80, 0, 5, 2, 'n', 's', 0xc0, 12};
	assert_int_equal(rn, qn + sizeof(want_ns));
	assert_memory_equal(r + qn, want_ns, sizeof(want_ns));
	qn = mkq(q, "example.org", 1, NULL, 0, 0);
	rn = ask(q, qn, false, r, &info);
	static const uint8_t want_hdr[12] = {0x12, 0x34, 0x81, 0x05, 0, 1, 0, 0, 0, 0, 0, 0};
	assert_int_equal(rn, qn);
	assert_memory_equal(r, want_hdr, 12);
}

static void test_edns(void **state)
{
	(void)state;
	uint8_t q[512], r[65535];
	struct sh_dns_ainfo info;
	static const uint8_t opt0[] = {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};
	size_t qn = mkq(q, "2.0.0.127.bl.test", 1, opt0, sizeof(opt0), 1);
	size_t rn = ask(q, qn, false, r, &info);
	static const uint8_t want_opt[] = {0, 0, 41, SH_DNS_UDP_MAX >> 8, SH_DNS_UDP_MAX & 255, 0, 0, 0x80, 0, 0, 0};
	assert_int_equal(r[11], 1);
	assert_memory_equal(r + rn - 11, want_opt, 11);
	static const uint8_t opt1[] = {0, 0, 41, 0x10, 0, 0, 1, 0, 0, 0, 0};
	qn = mkq(q, "2.0.0.127.bl.test", 1, opt1, sizeof(opt1), 1);
	rn = ask(q, qn, false, r, &info);
	static const uint8_t want_badvers[] = {0, 0, 41, SH_DNS_UDP_MAX >> 8, SH_DNS_UDP_MAX & 255, 1, 0, 0, 0, 0, 0};
	assert_int_equal(r[3] & 15, 0);
	assert_int_equal(r[7], 0);
	assert_int_equal(rn, qn);
	assert_memory_equal(r + rn - 11, want_badvers, 11);
	assert_int_equal(info.rcode, SH_DNS_R_BADVERS);
}

static void test_truncation(void **state)
{
	(void)state;
	uint8_t q[512], r[65535];
	struct sh_dns_ainfo info;
	size_t qn = mkq(q, "1.0.18.198.bl.test", 16, NULL, 0, 0);
	size_t rn = ask(q, qn, false, r, &info);
	assert_int_equal(rn, qn);
	assert_true(r[2] & 2);
	assert_int_equal(r[7], 0);
	assert_true(info.truncated);
	rn = ask(q, qn, true, r, &info);
	assert_false(r[2] & 2);
	assert_int_equal(r[7], 3);
	assert_true(rn > 512);
}

static void test_malformed(void **state)
{
	(void)state;
	uint8_t q[512] = {0}, r[65535];
	struct sh_dns_ainfo info;
	assert_int_equal(sh_dns_answer(gen, q, 5, false, r, sizeof(r), &info), 0);
	size_t qn = mkq(q, "2.0.0.127.bl.test", 1, NULL, 0, 0);
	q[2] |= 0x80; /* a response: never answered */
	assert_int_equal(ask(q, qn, false, r, &info), 0);
	q[2] &= 0x7f;
	size_t rn = ask(q, qn - 3, false, r, &info); /* qtype/qclass cut */
	assert_int_equal(rn, 12);
	assert_int_equal(r[3] & 15, SH_DNS_R_FORMERR);
	assert_int_equal(r[5], 0);
	q[5] = 2; /* two questions */
	rn = ask(q, qn, false, r, &info);
	assert_int_equal(r[3] & 15, SH_DNS_R_FORMERR);
}

static void test_txt_expand(void **state)
{
	(void)state;
	struct sh_dns_dataset ds;
	memset(&ds, 0, sizeof(ds));
	char one[] = "See http://bl/", base[] = "Base $= ($)";
	ds.subst[1] = one;
	char out[256];
	size_t n = sh_dns_txt_expand(&ds, "$1$ costs $$5 $9", 16, "1.2.3.4", 7, out);
	out[n] = 0;
	assert_string_equal(out, "See http://bl/1.2.3.4 costs $5 $9");
	ds.subst[10] = base;
	n = sh_dns_txt_expand(&ds, "r123", 4, "1.2.3.4", 7, out);
	out[n] = 0;
	assert_string_equal(out, "Base r123 (1.2.3.4)");
	n = sh_dns_txt_expand(&ds, "", 0, "1.2.3.4", 7, out);
	out[n] = 0;
	assert_string_equal(out, "Base 1.2.3.4 (1.2.3.4)");
	n = sh_dns_txt_expand(&ds, "=Own $", 6, "1.2.3.4", 7, out);
	out[n] = 0;
	assert_string_equal(out, "Own 1.2.3.4");
	char big[300];
	memset(big, 'x', sizeof(big));
	assert_int_equal(sh_dns_txt_expand(&ds, big, 255, "", 0, out), 254);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listed_a),   cmocka_unit_test(test_listed_txt),
		cmocka_unit_test(test_nxdomain),   cmocka_unit_test(test_nodata_ent),
		cmocka_unit_test(test_apex_and_refused), cmocka_unit_test(test_edns),
		cmocka_unit_test(test_truncation), cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_txt_expand),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
