/* Unit tests for dns/xfr: the records a secondary receives, diffs between generations, the
 * AXFR/IXFR message stream, the transfer access list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>

#include "dns/answer.h"
#include "dns/xfr.h"

static struct sh_dns_gen *mkgen(int type, const char *zone, const char *text)
{
	struct sh_dns_opts o;
	sh_dns_opts_init(&o);
	struct sh_dns_dataset *ds;
	assert_int_equal(sh_dns_dataset_parse(type, "t", text, strlen(text), &o, NULL, NULL, &ds), 0);
	struct sh_dns_zonespec zs = {(char *)zone, type, (char *)"t"};
	struct sh_dns_gen *g;
	assert_int_equal(sh_dns_gen_build(&zs, 1, &ds, &g), 0);
	ds->refs--;
	return g;
}

/* The records as "owner TYPE rdata-summary" lines, sorted as stored. */
static char *dump(const struct sh_dns_rrs *r)
{
	char *out = calloc(1, 65536);
	size_t o = 0;
	for (size_t i = 0; i < r->n; i++) {
		const uint8_t *p = r->buf + r->off[i];
		char name[1024];
		sh_dns_name_str(p + 1, p[0], name);
		size_t k = 1 + (size_t)p[0];
		unsigned type = (unsigned)(p[k] << 8 | p[k + 1]);
		const uint8_t *rd = p + k + 8;
		if (type == SH_DNS_T_A)
			o += (size_t)sprintf(out + o, "%s A %u.%u.%u.%u\n", p[0] ? name : "@", rd[0], rd[1], rd[2], rd[3]);
		else if (type == SH_DNS_T_TXT)
			o += (size_t)sprintf(out + o, "%s TXT %.*s\n", name, rd[0], (const char *)rd + 1);
		else
			o += (size_t)sprintf(out + o, "%s TYPE%u\n", p[0] ? name : "@", type);
	}
	return out;
}

static void test_ip4_blocks(void **state)
{
	(void)state;
	struct sh_dns_gen *g = mkgen(SH_DNS_IP4TRIE, "bl.test",
		"$NS 1h ns.bl.test.\n:127.0.0.2:\n10.0.16.0/20\n!10.0.17.0/24\n192.0.2.1 :3:t $\n172.16.0.0/16\n");
	struct sh_dns_rrs r;
	assert_int_equal(sh_dns_xfr_records(&g->zones[0], &r), 0);
	char *d = dump(&r);
	assert_non_null(strstr(d, "@ TYPE2\n"));              /* NS */
	assert_non_null(strstr(d, "*.16.0.10 A 127.0.0.2\n")); /* a /20 is 16 /24 wildcards */
	assert_null(strstr(d, "*.17.0.10 "));                 /* minus the excluded /24 */
	assert_non_null(strstr(d, "*.31.0.10 A 127.0.0.2\n"));
	assert_null(strstr(d, "*.32.0.10 "));
	assert_non_null(strstr(d, "1.2.0.192 A 127.0.0.3\n"));
	assert_non_null(strstr(d, "1.2.0.192 TXT t 192.0.2.1\n"));
	assert_non_null(strstr(d, "*.16.172 A 127.0.0.2\n"));
	assert_int_equal(r.n, 1 + 15 + 2 + 1);
	free(d);
	sh_dns_rrs_fini(&r);
	sh_dns_gen_free(g);
}

static void test_ip6_blocks(void **state)
{
	(void)state;
	struct sh_dns_gen *g = mkgen(SH_DNS_IP6TRIE, "six.test", ":127.0.0.2:\n2001:db8::/31\n::1\n");
	struct sh_dns_rrs r;
	assert_int_equal(sh_dns_xfr_records(&g->zones[0], &r), 0);
	char *d = dump(&r);
	/* /31 is two /32 wildcards, on the next nibble boundary */
	assert_non_null(strstr(d, "*.8.b.d.0.1.0.0.2 A 127.0.0.2\n"));
	assert_non_null(strstr(d, "*.9.b.d.0.1.0.0.2 A 127.0.0.2\n"));
	assert_non_null(strstr(d, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 A 127.0.0.2\n"));
	assert_int_equal(r.n, 3);
	free(d);
	sh_dns_rrs_fini(&r);
	sh_dns_gen_free(g);
}

static void test_dnset(void **state)
{
	(void)state;
	struct sh_dns_gen *g = mkgen(SH_DNS_DNSET, "d.test",
		":127.0.1.2:D $\nexample.com\n*.s.example\n!ok.s.example\n.w.example :4:\n!*.x.w.example\n");
	struct sh_dns_rrs r;
	assert_int_equal(sh_dns_xfr_records(&g->zones[0], &r), 0);
	char *d = dump(&r);
	assert_non_null(strstr(d, "example.com A 127.0.1.2\n"));
	assert_non_null(strstr(d, "example.com TXT D example.com\n"));
	assert_non_null(strstr(d, "*.s.example TXT D s.example\n"));
	assert_non_null(strstr(d, "ok.s.example TYPE13\n"));            /* HINFO marker */
	assert_non_null(strstr(d, "*.ok.s.example A 127.0.1.2\n"));      /* still listed below */
	assert_non_null(strstr(d, "w.example A 127.0.0.4\n"));
	assert_non_null(strstr(d, "*.w.example A 127.0.0.4\n"));
	assert_non_null(strstr(d, "x.w.example A 127.0.0.4\n"));         /* covered, but not below */
	assert_null(strstr(d, "*.x.w.example"));
	free(d);
	sh_dns_rrs_fini(&r);
	sh_dns_gen_free(g);
}

static size_t mkq(uint8_t *p, uint16_t type, uint32_t serial)
{
	static const uint8_t q[] = {0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 'b', 'l', 4, 't', 'e', 's', 't', 0, 0, 0, 0, 1};
	memcpy(p, q, sizeof(q));
	p[sizeof(q) - 3] = (uint8_t)type;
	size_t o = sizeof(q);
	if (type == SH_DNS_T_IXFR) {
		p[9] = 1;
		static const uint8_t soa[] = {0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0};
		memcpy(p + o, soa, sizeof(soa));
		o += sizeof(soa);
		p[o++] = (uint8_t)(serial >> 24), p[o++] = (uint8_t)(serial >> 16);
		p[o++] = (uint8_t)(serial >> 8), p[o++] = (uint8_t)serial;
		memset(p + o, 0, 16);
		o += 16;
	}
	return o;
}

/* Counts the answer records of a stream of length-prefixed messages; *soas gets the SOA serials. */
static unsigned count_stream(const uint8_t *s, size_t n, uint32_t *soas, unsigned *nsoa)
{
	unsigned total = 0;
	*nsoa = 0;
	for (size_t o = 0; o + 2 <= n;) {
		size_t ml = (size_t)(s[o] << 8 | s[o + 1]);
		const uint8_t *m = s + o + 2;
		assert_true(m[2] & 0x80);
		unsigned an = (unsigned)(m[6] << 8 | m[7]);
		size_t p = 12;
		assert_true(sh_dns_skip_name(m, ml, &p));
		p += 4;
		for (unsigned i = 0; i < an; i++) {
			assert_true(sh_dns_skip_name(m, ml, &p));
			unsigned type = (unsigned)(m[p] << 8 | m[p + 1]);
			size_t rdl = (size_t)(m[p + 8] << 8 | m[p + 9]);
			if (type == SH_DNS_T_SOA) {
				size_t r = p + 10;
				assert_true(sh_dns_skip_name(m, ml, &r));
				assert_true(sh_dns_skip_name(m, ml, &r));
				soas[(*nsoa)++] = (uint32_t)m[r] << 24 | (uint32_t)m[r + 1] << 16 | (uint32_t)m[r + 2] << 8 | m[r + 3];
			}
			p += 10 + rdl;
			total++;
		}
		assert_int_equal(p, ml);
		o += 2 + ml;
	}
	return total;
}

static void test_axfr_ixfr(void **state)
{
	(void)state;
	struct sh_dns_gen *g1 = mkgen(SH_DNS_IP4SET, "bl.test", "$SOA 1h ns.bl.test. h.bl.test. 10 1h 1h 1w 1h\n1.2.3.4\n5.6.7.8\n");
	assert_int_equal(sh_dns_xfr_attach(g1, NULL, 4), 0);
	struct sh_dns_gen *g2 = mkgen(SH_DNS_IP4SET, "bl.test", "$SOA 1h ns.bl.test. h.bl.test. 10 1h 1h 1w 1h\n1.2.3.4\n9.9.9.9\n");
	assert_int_equal(sh_dns_xfr_attach(g2, g1, 4), 0);
	assert_int_equal(g2->zones[0].serial, 11); /* changed, same $SOA serial: bumped */
	const struct sh_dns_xfr *x = g2->zones[0].xfr;
	assert_int_equal(x->nhist, 1);
	assert_int_equal(x->hist[0]->from, 10);
	assert_int_equal(x->hist[0]->del.n, 1);
	assert_int_equal(x->hist[0]->add.n, 1);

	uint8_t q[128];
	uint8_t *out = NULL;
	size_t len = 0, cap = 0;
	uint32_t soas[8];
	unsigned ns;
	size_t qn = mkq(q, SH_DNS_T_AXFR, 0);
	assert_int_equal(sh_dns_xfr_respond(g2, q, qn, &g2->zones[0], &out, &len, &cap), 0);
	assert_int_equal(count_stream(out, len, soas, &ns), 2 + 2);
	assert_int_equal(ns, 2);
	assert_int_equal(soas[0], 11);
	len = 0;
	qn = mkq(q, SH_DNS_T_IXFR, 10);
	assert_int_equal(sh_dns_xfr_respond(g2, q, qn, &g2->zones[0], &out, &len, &cap), 0);
	/* SOA 11, SOA 10, del 5.6.7.8, SOA 11, add 9.9.9.9, SOA 11 */
	assert_int_equal(count_stream(out, len, soas, &ns), 6);
	assert_int_equal(ns, 4);
	assert_int_equal(soas[1], 10);
	len = 0;
	qn = mkq(q, SH_DNS_T_IXFR, 11); /* up to date: the SOA alone */
	assert_int_equal(sh_dns_xfr_respond(g2, q, qn, &g2->zones[0], &out, &len, &cap), 0);
	assert_int_equal(count_stream(out, len, soas, &ns), 1);
	len = 0;
	qn = mkq(q, SH_DNS_T_IXFR, 3); /* unknown serial: the whole zone */
	assert_int_equal(sh_dns_xfr_respond(g2, q, qn, &g2->zones[0], &out, &len, &cap), 0);
	assert_int_equal(count_stream(out, len, soas, &ns), 4);
	free(out);
	sh_dns_gen_free(g1);
	sh_dns_gen_free(g2);
}

static void test_acl(void **state)
{
	(void)state;
	struct sh_dns_acl acl = {0};
	assert_int_equal(sh_dns_acl_add(&acl, "192.0.2.0/24"), 0);
	assert_int_equal(sh_dns_acl_add(&acl, "2001:db8::/32"), 0);
	assert_int_equal(sh_dns_acl_add(&acl, "10.0.0.1"), 0);
	assert_int_equal(sh_dns_acl_add(&acl, "bogus"), SH_EINVAL);
	assert_int_equal(sh_dns_acl_add(&acl, "10.0.0.0/33"), SH_EINVAL);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(0xc0000263);
	assert_true(sh_dns_acl_match(&acl, (struct sockaddr *)&a));
	a.sin_addr.s_addr = htonl(0xc0000363);
	assert_false(sh_dns_acl_match(&acl, (struct sockaddr *)&a));
	a.sin_addr.s_addr = htonl(0x0a000001);
	assert_true(sh_dns_acl_match(&acl, (struct sockaddr *)&a));
	struct sockaddr_in6 b = {.sin6_family = AF_INET6};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	memcpy(&b.sin6_addr, v6, 16);
	assert_true(sh_dns_acl_match(&acl, (struct sockaddr *)&b));
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
	memcpy(&b.sin6_addr, mapped, 16);
	assert_true(sh_dns_acl_match(&acl, (struct sockaddr *)&b));
	sh_dns_acl_fini(&acl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4_blocks), cmocka_unit_test(test_ip6_blocks),
		cmocka_unit_test(test_dnset),      cmocka_unit_test(test_axfr_ixfr),
		cmocka_unit_test(test_acl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
