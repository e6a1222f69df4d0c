/* Unit tests for addresses and prefixes: parsing, RFC 5952 text, ranges, special space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/addr.h"

static struct sh_ip ip_of(const char *s)
{
	struct sh_ip ip;
	assert_int_equal(sh_ip_parse(s, strlen(s), &ip), 0);
	return ip;
}

/* Parses s and checks the canonical text. */
static void check_ip(const char *s, const char *want)
{
	struct sh_ip ip;
	char buf[SH_IP_STRLEN];
	int rc = sh_ip_parse(s, strlen(s), &ip);
	if (rc) {
		print_error("sh_ip_parse(%s) = %d\n", s, rc);
		fail();
	}
	size_t n = sh_ip_format(&ip, buf);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void check_bad_ip(const char *s)
{
	struct sh_ip ip;
	if (sh_ip_parse(s, strlen(s), &ip) != SH_EINVAL) {
		print_error("accepted %s\n", s);
		fail();
	}
}

static void check_prefix(const char *s, bool strict, const char *want)
{
	struct sh_prefix p;
	char buf[SH_PREFIX_STRLEN];
	int rc = sh_prefix_parse(s, strlen(s), strict, &p);
	if (rc) {
		print_error("sh_prefix_parse(%s) = %d\n", s, rc);
		fail();
	}
	sh_prefix_format(&p, buf);
	assert_string_equal(buf, want);
}

static void check_bad_prefix(const char *s, bool strict)
{
	struct sh_prefix p;
	if (sh_prefix_parse(s, strlen(s), strict, &p) != SH_EINVAL) {
		print_error("accepted %s\n", s);
		fail();
	}
}

static void test_v4_parse(void **state)
{
	(void)state;
	check_ip("1.2.3.4", "1.2.3.4");
	check_ip("0.0.0.0", "0.0.0.0");
	check_ip("255.255.255.255", "255.255.255.255");
	check_ip("1.246.222.105", "1.246.222.105");
	check_ip("10.0.100.9", "10.0.100.9");
	const char *bad[] = {"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04", "01.2.3.4",
			     "1..2.3", ".1.2.3.4", "1.2.3.4.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4",
			     "0x7f.0.0.1", "1.2.3.1000", "1.2.3.4/24", "a.b.c.d", "1.2.3.4x",
			     "127.1", "2130706433", "1.2.3.0255"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_ip(bad[i]);
	struct sh_ip ip = ip_of("192.168.1.2");
	assert_int_equal(ip.af, SH_AF_V4);
	static const uint8_t want[16] = {192, 168, 1, 2};
	assert_memory_equal(ip.b, want, 16);
}

static void test_v4_not_nul_terminated(void **state)
{
	(void)state;
	const char buf[] = "1.2.3.45";
	struct sh_ip ip;
	char out[SH_IP_STRLEN];
	assert_int_equal(sh_ip_parse(buf, 7, &ip), 0);
	sh_ip_format(&ip, out);
	assert_string_equal(out, "1.2.3.4");
	const char nul[] = {'1', '.', '2', '.', '3', '.', '4', '\0', '5'};
	assert_int_equal(sh_ip_parse(nul, sizeof(nul), &ip), SH_EINVAL);
}

static void test_v6_rfc5952(void **state)
{
	(void)state;
	/* RFC 5952 section 4 rules: lowercase, no leading zeros, longest run, first on tie,
	 * no "::" for a single zero group */
	check_ip("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	check_ip("2001:DB8::1", "2001:db8::1");
	check_ip("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	check_ip("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
	check_ip("2001:db8::0:1:0:0:0", "2001:db8:0:0:1::");
	check_ip("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");
	check_ip("::", "::");
	check_ip("::1", "::1");
	check_ip("1::", "1::");
	check_ip("0:0:0:0:0:0:0:0", "::");
	check_ip("fe80::1:2:3:4", "fe80::1:2:3:4");
	check_ip("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0");
	check_ip("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8");
	check_ip("1:0:0:2:0:0:0:3", "1:0:0:2::3");
	check_ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	check_ip("64:ff9b::192.0.2.33", "64:ff9b::c000:221");
	check_ip("::1.2.3.4", "::102:304");
	check_ip("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304");
	check_ip("2a01:4f8:0:0::00ff", "2a01:4f8::ff");
}

static void test_v6_bad(void **state)
{
	(void)state;
	const char *bad[] = {":", ":::", "1:::2", "1::2::3", ":1::2", "1::2:", "1:2:3:4:5:6:7",
			     "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
			     "12345::", "g::1", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::1.2.3.4:5",
			     "::01.2.3.4", "fe80::1%eth0", "[::1]", "1:2:3:4:5:1.2.3.4", "::ffff:256.1.1.1",
			     "1.2.3.4::"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_ip(bad[i]);
}

static void test_v4_mapped_folding(void **state)
{
	(void)state;
	struct sh_ip ip = ip_of("::ffff:1.2.3.4");
	assert_int_equal(ip.af, SH_AF_V4);
	check_ip("::ffff:1.2.3.4", "1.2.3.4");
	check_ip("::FFFF:0102:0304", "1.2.3.4");
	check_ip("0:0:0:0:0:ffff:c0a8:0101", "192.168.1.1");
	/* not mapped: ::fffe and the deprecated compatible form stay IPv6 */
	check_ip("::fffe:1.2.3.4", "::fffe:102:304");
	check_prefix("::ffff:10.0.0.0/104", true, "10.0.0.0/8");
	check_prefix("::ffff:0:0/96", true, "0.0.0.0/0");
	check_prefix("::ffff:1.2.3.4", true, "1.2.3.4/32");
	check_prefix("::ffff:0:0/95", false, "::fffe:0:0/95");
	check_prefix("::ffff:1.2.3.4/80", false, "::/80");
	check_bad_prefix("::ffff:1.2.3.4/80", true);
}

static void test_prefix_parse(void **state)
{
	(void)state;
	check_prefix("10.0.0.0/8", true, "10.0.0.0/8");
	check_prefix("1.2.3.4", true, "1.2.3.4/32");
	check_prefix("0.0.0.0/0", true, "0.0.0.0/0");
	check_prefix("2001:db8::/32", true, "2001:db8::/32");
	check_prefix("2001:DB8:0::/48", true, "2001:db8::/48");
	check_prefix("::/0", true, "::/0");
	check_prefix("::1", true, "::1/128");
	/* host bits: masked when not strict */
	check_prefix("10.1.2.3/8", false, "10.0.0.0/8");
	check_prefix("1.2.3.255/31", false, "1.2.3.254/31");
	check_prefix("2001:db8::1/32", false, "2001:db8::/32");
	check_prefix("1.2.3.4/0", false, "0.0.0.0/0");
	check_bad_prefix("10.1.2.3/8", true);
	check_bad_prefix("2001:db8::1/64", true);
	check_bad_prefix("1.2.3.4/33", false);
	check_bad_prefix("::/129", false);
	check_bad_prefix("1.2.3.0/", false);
	check_bad_prefix("1.2.3.0/-1", false);
	check_bad_prefix("1.2.3.0/ 24", false);
	check_bad_prefix("1.2.3.0/24 ", false);
	check_bad_prefix("1.2.3.0/2x", false);
	check_bad_prefix("1.2.3.0/1000", false);
	check_bad_prefix("/24", false);
	check_bad_prefix("1.2.3.0/24/24", false);
	check_bad_prefix("", false);
}

static void test_cmp_contains(void **state)
{
	(void)state;
	struct sh_ip a = ip_of("1.2.3.4"), b = ip_of("1.2.3.5"), c = ip_of("::1");
	assert_true(sh_ip_cmp(&a, &b) < 0);
	assert_true(sh_ip_cmp(&b, &a) > 0);
	assert_int_equal(sh_ip_cmp(&a, &a), 0);
	assert_true(sh_ip_cmp(&b, &c) < 0); /* IPv4 sorts first */
	struct sh_ip d = ip_of("255.255.255.255");
	assert_true(sh_ip_cmp(&d, &c) < 0);

	struct sh_prefix p;
	assert_int_equal(sh_prefix_parse("1.2.0.0/15", 10, true, &p), 0);
	struct sh_ip in = ip_of("1.3.255.255"), out = ip_of("1.4.0.0");
	assert_true(sh_prefix_contains(&p, &in));
	assert_false(sh_prefix_contains(&p, &out));
	assert_false(sh_prefix_contains(&p, &c));
	struct sh_prefix all;
	assert_int_equal(sh_prefix_parse("::/0", 4, true, &all), 0);
	assert_true(sh_prefix_contains(&all, &c));
	assert_false(sh_prefix_contains(&all, &a)); /* families never mix */

	struct sh_ip last;
	char buf[SH_IP_STRLEN];
	sh_prefix_last(&p, &last);
	sh_ip_format(&last, buf);
	assert_string_equal(buf, "1.3.255.255");
	assert_int_equal(sh_prefix_parse("2001:db8::/29", 13, true, &p), 0);
	sh_prefix_last(&p, &last);
	sh_ip_format(&last, buf);
	assert_string_equal(buf, "2001:dbf:ffff:ffff:ffff:ffff:ffff:ffff");

	struct sh_prefix q;
	char pbuf[SH_PREFIX_STRLEN];
	struct sh_ip x = ip_of("203.0.113.77");
	sh_prefix_from_ip(&x, 24, &q);
	sh_prefix_format(&q, pbuf);
	assert_string_equal(pbuf, "203.0.113.0/24");
	sh_prefix_from_ip(&x, 99, &q);
	sh_prefix_format(&q, pbuf);
	assert_string_equal(pbuf, "203.0.113.77/32");
	struct sh_ip y = ip_of("2a02:c207:2012:3456::1");
	sh_prefix_from_ip(&y, 48, &q);
	sh_prefix_format(&q, pbuf);
	assert_string_equal(pbuf, "2a02:c207:2012::/48");
	sh_prefix_from_ip(&y, 0, &q);
	sh_prefix_format(&q, pbuf);
	assert_string_equal(pbuf, "::/0");
}

struct collect {
	char out[4096];
	size_t n, count, stop_after;
};

static int collect_cb(const struct sh_prefix *p, void *arg)
{
	struct collect *c = arg;
	char buf[SH_PREFIX_STRLEN];
	sh_prefix_format(p, buf);
	c->n += (size_t)snprintf(c->out + c->n, sizeof(c->out) - c->n, "%s%s", c->n ? " " : "", buf);
	c->count++;
	return c->stop_after && c->count == c->stop_after ? 42 : 0;
}

static void check_range(const char *a, const char *b, const char *want)
{
	struct sh_ip first = ip_of(a), last = ip_of(b);
	struct collect c = {0};
	assert_int_equal(sh_range_to_prefixes(&first, &last, collect_cb, &c), 0);
	assert_string_equal(c.out, want);
}

static void test_range_to_prefixes(void **state)
{
	(void)state;
	check_range("1.0.0.0", "1.0.0.255", "1.0.0.0/24");
	check_range("0.0.0.0", "255.255.255.255", "0.0.0.0/0");
	check_range("1.2.3.4", "1.2.3.4", "1.2.3.4/32");
	check_range("255.255.255.255", "255.255.255.255", "255.255.255.255/32");
	check_range("1.0.0.1", "1.0.0.6", "1.0.0.1/32 1.0.0.2/31 1.0.0.4/31 1.0.0.6/32");
	check_range("1.0.0.0", "1.0.2.255", "1.0.0.0/23 1.0.2.0/24");
	check_range("128.0.0.0", "255.255.255.255", "128.0.0.0/1");
	check_range("0.0.0.1", "255.255.255.254",
		    "0.0.0.1/32 0.0.0.2/31 0.0.0.4/30 0.0.0.8/29 0.0.0.16/28 0.0.0.32/27 "
		    "0.0.0.64/26 0.0.0.128/25 0.0.1.0/24 0.0.2.0/23 0.0.4.0/22 0.0.8.0/21 "
		    "0.0.16.0/20 0.0.32.0/19 0.0.64.0/18 0.0.128.0/17 0.1.0.0/16 0.2.0.0/15 "
		    "0.4.0.0/14 0.8.0.0/13 0.16.0.0/12 0.32.0.0/11 0.64.0.0/10 0.128.0.0/9 "
		    "1.0.0.0/8 2.0.0.0/7 4.0.0.0/6 8.0.0.0/5 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 "
		    "128.0.0.0/2 192.0.0.0/3 224.0.0.0/4 240.0.0.0/5 248.0.0.0/6 252.0.0.0/7 "
		    "254.0.0.0/8 255.0.0.0/9 255.128.0.0/10 255.192.0.0/11 255.224.0.0/12 "
		    "255.240.0.0/13 255.248.0.0/14 255.252.0.0/15 255.254.0.0/16 255.255.0.0/17 "
		    "255.255.128.0/18 255.255.192.0/19 255.255.224.0/20 255.255.240.0/21 "
		    "255.255.248.0/22 255.255.252.0/23 255.255.254.0/24 255.255.255.0/25 "
		    "255.255.255.128/26 255.255.255.192/27 255.255.255.224/28 255.255.255.240/29 "
		    "255.255.255.248/30 255.255.255.252/31 255.255.255.254/32");
	/* a real row of the iptoasn table */
	check_range("1.0.4.0", "1.0.7.255", "1.0.4.0/22");
	check_range("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0");
	check_range("2001:db8::", "2001:db8::ffff", "2001:db8::/112");
	check_range("2001:db8::1", "2001:db8::3", "2001:db8::1/128 2001:db8::2/127");
	check_range("2c0f:f7a8::", "2c0f:f7a8:ffff:ffff:ffff:ffff:ffff:ffff", "2c0f:f7a8::/32");
	check_range("::1", "::1", "::1/128");
	check_range("8000::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::/1");
	check_range("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
}

static void test_range_errors(void **state)
{
	(void)state;
	struct sh_ip a = ip_of("1.2.3.4"), b = ip_of("1.2.3.3"), c = ip_of("::1");
	struct collect col = {0};
	assert_int_equal(sh_range_to_prefixes(&a, &b, collect_cb, &col), SH_EINVAL);
	assert_int_equal(sh_range_to_prefixes(&a, &c, collect_cb, &col), SH_EINVAL);
	assert_int_equal(col.count, 0);
	struct sh_ip lo = ip_of("1.0.0.1"), hi = ip_of("1.0.0.6");
	col.stop_after = 2;
	assert_int_equal(sh_range_to_prefixes(&lo, &hi, collect_cb, &col), 42);
	assert_int_equal(col.count, 2);
}

static void check_special(const char *s, const char *want)
{
	struct sh_ip ip = ip_of(s);
	const char *got = sh_ip_special(&ip);
	if (!want) {
		if (got) {
			print_error("%s: %s, want globally routable\n", s, got);
			fail();
		}
		return;
	}
	if (!got) {
		print_error("%s: not special, want %s\n", s, want);
		fail();
	}
	assert_string_equal(got, want);
}

static void test_special_v4(void **state)
{
	(void)state;
	check_special("0.0.0.0", "this-host");
	check_special("0.1.2.3", "this-network");
	check_special("10.0.0.1", "private-use");
	check_special("100.64.0.1", "shared-address-space");
	check_special("100.127.255.255", "shared-address-space");
	check_special("100.128.0.0", NULL);
	check_special("127.0.0.1", "loopback");
	check_special("127.255.255.255", "loopback");
	check_special("169.254.169.254", "link-local");
	check_special("172.16.0.1", "private-use");
	check_special("172.31.255.255", "private-use");
	check_special("172.32.0.0", NULL);
	check_special("192.0.0.8", "ietf-protocol-assignments");
	check_special("192.0.2.1", "documentation");
	check_special("192.88.99.1", "6to4-relay-anycast");
	check_special("192.168.1.1", "private-use");
	check_special("198.18.0.1", "benchmarking");
	check_special("198.19.255.255", "benchmarking");
	check_special("198.20.0.0", NULL);
	check_special("198.51.100.7", "documentation");
	check_special("203.0.113.200", "documentation");
	check_special("224.0.0.251", "multicast");
	check_special("239.255.255.250", "multicast");
	check_special("240.0.0.1", "reserved");
	check_special("255.255.255.255", "limited-broadcast");
	check_special("1.1.1.1", NULL);
	check_special("8.8.8.8", NULL);
	check_special("1.246.222.105", NULL);
	check_special("192.0.1.255", NULL);
	check_special("223.255.255.255", NULL);
	check_special("11.0.0.0", NULL);
	check_special("9.255.255.255", NULL);
}

static void test_special_v6(void **state)
{
	(void)state;
	check_special("::", "unspecified");
	check_special("::1", "loopback");
	check_special("::1.2.3.4", "ipv4-compatible");
	check_special("64:ff9b::1.2.3.4", "ipv4-ipv6-translation");
	check_special("64:ff9b:1::1", "local-use-translation");
	check_special("100::1", "discard-only");
	check_special("2001::1", "teredo");
	check_special("2001:0:ffff::", "teredo");
	check_special("2001:2::1", "benchmarking");
	check_special("2001:10::1", "orchid");
	check_special("2001:20::1", "orchid-v2");
	check_special("2001:db8::1", "documentation");
	check_special("2002:c000:204::1", "6to4");
	check_special("3fff::1", "documentation");
	check_special("3fff:fff:ffff::", "documentation");
	check_special("fc00::1", "unique-local");
	check_special("fd12:3456::1", "unique-local");
	check_special("fe80::1", "link-local");
	check_special("febf::1", "link-local");
	check_special("ff02::1", "multicast");
	/* globally reachable entries of the IETF block and real allocations */
	check_special("2001:1::1", NULL);
	check_special("2001:3::1", NULL);
	check_special("2001:4:112::1", NULL);
	check_special("2001:200::1", NULL);
	check_special("2001:470::1", NULL);
	check_special("2a00:1450:4001::1", NULL);
	check_special("2606:4700::1111", NULL);
	check_special("3ffe::1", NULL);
	check_special("3fff:1000::", NULL);
	check_special("fec0::1", NULL);
}

static void check_prefix_special(const char *s, const char *want)
{
	struct sh_prefix p;
	assert_int_equal(sh_prefix_parse(s, strlen(s), false, &p), 0);
	const char *got = sh_prefix_special(&p);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_special_prefix(void **state)
{
	(void)state;
	check_prefix_special("10.1.0.0/16", "private-use");
	check_prefix_special("10.0.0.0/8", "private-use");
	check_prefix_special("10.0.0.0/7", "private-use");   /* overlaps */
	check_prefix_special("192.0.0.0/16", "ietf-protocol-assignments");
	check_prefix_special("0.0.0.0/0", "this-host");
	check_prefix_special("2001:db8:1::/48", "documentation");
	check_prefix_special("2001::/16", "teredo");
	check_prefix_special("2001:4::/32", NULL);
	check_prefix_special("1.0.0.0/24", NULL);
	check_prefix_special("11.0.0.0/8", NULL);
	check_prefix_special("2a00::/12", NULL);
	check_prefix_special("255.255.255.0/24", "reserved");
	check_prefix_special("255.255.255.255/32", "limited-broadcast");
}

static void test_round_trip(void **state)
{
	(void)state;
	const char *in[] = {"1.2.3.4", "::", "::1", "1::", "2001:db8::1:0:0:1", "fe80::",
			    "1:2:3:4:5:6:7:8", "0:1:0:1:0:1:0:1", "1:0:0:1::"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct sh_ip a, b;
		char buf[SH_IP_STRLEN];
		assert_int_equal(sh_ip_parse(in[i], strlen(in[i]), &a), 0);
		size_t n = sh_ip_format(&a, buf);
		assert_int_equal(sh_ip_parse(buf, n, &b), 0);
		assert_memory_equal(&a, &b, sizeof(a));
		assert_string_equal(buf, in[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_parse),
		cmocka_unit_test(test_v4_not_nul_terminated),
		cmocka_unit_test(test_v6_rfc5952),
		cmocka_unit_test(test_v6_bad),
		cmocka_unit_test(test_v4_mapped_folding),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_cmp_contains),
		cmocka_unit_test(test_range_to_prefixes),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_special_v4),
		cmocka_unit_test(test_special_v6),
		cmocka_unit_test(test_special_prefix),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
