/* Unit tests for dns/wire: query parsing (question, EDNS0 OPT, malformed packets) and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/wire.h"

/* id 0x0102, RD+CD, "Ab.example" TXT IN */
static const uint8_t q1[] = {1, 2, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0,
			     2, 'A', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 16, 0, 1};

static void test_question(void **state)
{
	(void)state;
	struct sh_dns_query q;
	assert_int_equal(sh_dns_parse_query(q1, sizeof(q1), &q), 0);
	assert_int_equal(q.id, 0x0102);
	assert_true(q.rd);
	assert_true(q.cd);
	assert_int_equal(q.qtype, 16);
	assert_int_equal(q.qclass, 1);
	assert_int_equal(q.qname_len, 12);
	assert_memory_equal(q.qname, "\2ab\7example", 12); /* lowercased */
	assert_int_equal(q.nlabels, 2);
	assert_int_equal(q.lab[1], 3);
	assert_int_equal(q.qend, sizeof(q1));
	assert_false(q.edns);
}

static void test_edns(void **state)
{
	(void)state;
	uint8_t p[64];
	memcpy(p, q1, sizeof(q1));
	p[11] = 1;
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 1, 0x80, 0, 0, 8, 0, 10, 0, 4, 1, 2, 3, 4};
	memcpy(p + sizeof(q1), opt, sizeof(opt));
	struct sh_dns_query q;
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1) + sizeof(opt), &q), 0);
	assert_true(q.edns);
	assert_int_equal(q.edns_udp, 1232);
	assert_int_equal(q.edns_version, 1);
	assert_true(q.edns_do);
	p[sizeof(q1) + 14] = 9; /* an option longer than the record */
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1) + sizeof(opt), &q), SH_EINVAL);
	assert_int_equal(q.rcode, SH_DNS_R_FORMERR);
}

static void test_malformed(void **state)
{
	(void)state;
	struct sh_dns_query q;
	uint8_t p[64];
	assert_int_equal(sh_dns_parse_query(q1, 11, &q), SH_ENOENT); /* shorter than a header */
	memcpy(p, q1, sizeof(q1));
	p[2] |= 0x80;
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1), &q), SH_ENOENT); /* a response */
	memcpy(p, q1, sizeof(q1));
	p[5] = 0;
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1), &q), SH_EINVAL);
	assert_false(q.question_ok);
	memcpy(p, q1, sizeof(q1));
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1) - 1, &q), SH_EINVAL); /* class cut */
	p[12] = 0xc0; /* a compression pointer in the question */
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1), &q), SH_EINVAL);
	memcpy(p, q1, sizeof(q1));
	p[12] = 64; /* label longer than 63 */
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1), &q), SH_EINVAL);
	memcpy(p, q1, sizeof(q1));
	p[11] = 1; /* an additional record that is not there */
	assert_int_equal(sh_dns_parse_query(p, sizeof(q1), &q), SH_EINVAL);
	assert_true(q.question_ok);
}

static void test_names(void **state)
{
	(void)state;
	char buf[1024];
	static const uint8_t n1[] = {3, 'a', '.', 'b', 2, 0x01, ' ', 0};
	assert_int_equal(sh_dns_name_str(n1, sizeof(n1), buf), 13);
	assert_string_equal(buf, "a\\.b.\\001\\032");
	static const uint8_t root[] = {0};
	sh_dns_name_str(root, 1, buf);
	assert_string_equal(buf, ".");
	static const uint8_t pk[] = {1, 'x', 0xc0, 0x0c, 0, 1};
	size_t o = 0;
	assert_true(sh_dns_skip_name(pk, sizeof(pk), &o));
	assert_int_equal(o, 4);
	o = 0;
	assert_false(sh_dns_skip_name(pk, 3, &o));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_question), cmocka_unit_test(test_edns),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
