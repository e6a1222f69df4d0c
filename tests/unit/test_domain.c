/* Unit tests for domain names: normalisation, IDNA, the own LDH check, registrable domain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/domain.h"

static void check_norm(const char *in, const char *want)
{
	char out[SH_DOMAIN_MAX];
	int rc = sh_domain_normalise(in, strlen(in), out);
	if (rc) {
		print_error("sh_domain_normalise(%s) = %s\n", in, sh_strerror(rc));
		fail();
	}
	assert_string_equal(out, want);
}

static void check_bad(const char *in, size_t n)
{
	char out[SH_DOMAIN_MAX];
	int rc = sh_domain_normalise(in, n, out);
	if (rc != SH_EINVAL) {
		print_error("accepted %.*s as %s\n", (int)n, in, rc ? sh_strerror(rc) : out);
		fail();
	}
}

static void check_bad_str(const char *in)
{
	check_bad(in, strlen(in));
}

static void test_ascii(void **state)
{
	(void)state;
	check_norm("example.com", "example.com");
	check_norm("Example.COM", "example.com");
	check_norm("example.com.", "example.com");
	check_norm("ZEROTERWWGFBOT.hoesbigmadzero.tk", "zeroterwwgfbot.hoesbigmadzero.tk");
	check_norm("01.losbuhosweb.com.mx", "01.losbuhosweb.com.mx");
	check_norm("0400msc.com", "0400msc.com");
	check_norm("1.com", "1.com");
	check_norm("a-b.c-d.example", "a-b.c-d.example");
	check_norm("xn--p1ai.xn--p1ai", "xn--p1ai.xn--p1ai");
	/* underscores appear in real feeds (and in SRV/DKIM-style names) */
	check_norm("a_b.example.com", "a_b.example.com");
	check_norm("_dmarc.example.com", "_dmarc.example.com");
	check_norm("a.b", "a.b");
	check_norm("1.2.3.com", "1.2.3.com");
	check_norm("ab--cd.com", "ab--cd.com");
	check_norm("x.0x1f", "x.0x1f"); /* a name here; the URL host parser decides numbers */
}

static void test_not_nul_terminated(void **state)
{
	(void)state;
	char out[SH_DOMAIN_MAX];
	const char buf[] = "example.comX";
	assert_int_equal(sh_domain_normalise(buf, 11, out), 0);
	assert_string_equal(out, "example.com");
	check_bad("example.com\0x", 13);
	check_bad("exa\0mple.com", 12);
}

static void test_ldh_failures(void **state)
{
	(void)state;
	const char *bad[] = {
		"", ".", "..", "com", "com.", "localhost", "a b.com", " example.com", "example.com ",
		"*.example.com", "ex*ample.com", "a..com", ".a.com", "a.com..", "-a.com", "a-.com",
		"a.-com", "a.com-", "example.123", "1.2.3.4", "example.com/path", "example.com:80",
		"user@example.com", "exa%41mple.com", "exa!mple.com", "[::1]", "a.b.c.d.e.f.1",
		"example.com\r", "tab\t.com", "ex\\ample.com", "a.0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_str(bad[i]);
}

static void test_lengths(void **state)
{
	(void)state;
	char name[600], out[SH_DOMAIN_MAX];
	/* a 63-octet label is fine, 64 is not */
	memset(name, 'a', 63);
	memcpy(name + 63, ".com", 5);
	check_norm(name, name);
	memset(name, 'a', 64);
	memcpy(name + 64, ".com", 5);
	check_bad_str(name);
	/* 253 octets total is fine (with or without the trailing dot), 254 is not */
	size_t o = 0;
	while (o < 240) {
		memset(name + o, 'b', 9);
		name[o + 9] = '.';
		o += 10;
	}
	memcpy(name + o, "abcdefghi.com", 14); /* 240 + 13 = 253 */
	assert_int_equal(strlen(name), 253);
	check_norm(name, name);
	name[253] = '.';
	name[254] = '\0';
	assert_int_equal(sh_domain_normalise(name, 254, out), 0);
	assert_int_equal(strlen(out), 253);
	memcpy(name + o, "abcdefghij.com", 15); /* 254 */
	check_bad_str(name);
	/* very long input, ASCII and not */
	memset(name, 'c', sizeof(name));
	check_bad(name, sizeof(name));
	memcpy(name, "\xc3\xbc", 2);
	check_bad(name, sizeof(name));
}

static void test_idn(void **state)
{
	(void)state;
	check_norm("bücher.de", "xn--bcher-kva.de");
	check_norm("BÜCHER.DE", "xn--bcher-kva.de");
	check_norm("bücher.de.", "xn--bcher-kva.de");
	check_norm("xn--bcher-kva.bücher.de", "xn--bcher-kva.xn--bcher-kva.de");
	check_norm("пример.рф", "xn--e1afmkfd.xn--p1ai");
	check_norm("例え.テスト", "xn--r8jz45g.xn--zckzah");
	/* non-transitional: ß stays ß, as browsers resolve it */
	check_norm("faß.de", "xn--fa-hia.de");
	/* UTS#46 maps the ideographic full stop to a dot, and full-width letters */
	check_norm("bücher。de", "xn--bcher-kva.de");
	check_norm("ｅｘａｍｐｌｅ．com", "example.com");
	check_norm("a_b.bücher.de", "a_b.xn--bcher-kva.de");
}

static void test_idn_failures(void **state)
{
	(void)state;
	const char *bad[] = {
		"bü cher.de", /* libidn2 without STD3 keeps the space; our check rejects it */
		"bü*cher.de",
		"bücher..de",
		"-bücher.de",
		"bücher-.de",
		"\xff\xfe.de",           /* invalid UTF-8 */
		"b\xc3.de",              /* truncated UTF-8 */
		"xn--zz.bücher.de",      /* bad Punycode next to a U-label */
		"bücher.１２３",          /* maps to an all-numeric last label */
		"bücher",                /* one label */
		"bücher.de。.",
		"bücher.de\xe2\x80\x8b/", /* mapping does not make '/' valid */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_str(bad[i]);
	/* an A-label longer than 63 octets */
	char name[200];
	size_t o = 0;
	for (int i = 0; i < 60; i++) {
		memcpy(name + o, "ü", 2);
		o += 2;
	}
	memcpy(name + o, ".de", 4);
	check_bad_str(name);
}

static void test_to_ascii(void **state)
{
	(void)state;
	char out[SH_DOMAIN_MAX];
	size_t len;
	assert_int_equal(sh_domain_to_ascii("Ab.C", 4, out, &len), 0);
	assert_string_equal(out, "ab.c");
	assert_int_equal(len, 4);
	/* no LDH check here: the URL host parser needs the numeric form */
	assert_int_equal(sh_domain_to_ascii("１２７.０.０.１", strlen("１２７.０.０.１"), out, &len), 0);
	assert_string_equal(out, "127.0.0.1");
	assert_int_equal(sh_domain_to_ascii("x.y.", 4, out, &len), 0);
	assert_string_equal(out, "x.y.");
	assert_int_equal(sh_domain_to_ascii("bücher.de", strlen("bücher.de"), out, &len), 0);
	assert_string_equal(out, "xn--bcher-kva.de");
	assert_int_equal(sh_domain_to_ascii("\xff", 1, out, &len), SH_EINVAL);
	char big[300];
	memset(big, 'a', sizeof(big));
	assert_int_equal(sh_domain_to_ascii(big, sizeof(big), out, &len), SH_EINVAL);
}

static void check_reg(const char *name, const char *want)
{
	char out[SH_DOMAIN_MAX];
	int rc = sh_domain_registrable(name, out);
	/* the one-lookup test agrees with it */
	assert_int_equal(sh_domain_is_public_suffix(name), want == NULL);
	if (!want) {
		if (rc != SH_ENOENT) {
			print_error("%s: %s, want SH_ENOENT\n", name, rc ? sh_strerror(rc) : out);
			fail();
		}
		return;
	}
	if (rc) {
		print_error("sh_domain_registrable(%s) = %s\n", name, sh_strerror(rc));
		fail();
	}
	assert_string_equal(out, want);
}

static void test_registrable(void **state)
{
	(void)state;
	check_reg("a.b.example.co.uk", "example.co.uk");
	check_reg("example.co.uk", "example.co.uk");
	check_reg("www.example.com", "example.com");
	check_reg("example.com", "example.com");
	check_reg("2.indexsinas.me", "indexsinas.me");
	check_reg("01.losbuhosweb.com.mx", "losbuhosweb.com.mx");
	check_reg("xn--bcher-kva.de", "xn--bcher-kva.de");
	check_reg("www.xn--bcher-kva.de", "xn--bcher-kva.de");
	check_reg("a_b.example.com", "example.com");
	/* private-section suffixes: each user site is its own registrable domain */
	check_reg("evil.github.io", "evil.github.io");
	check_reg("a.b.evil.github.io", "evil.github.io");
	check_reg("bbuseruploads.s3.amazonaws.com", "bbuseruploads.s3.amazonaws.com");
	/* wildcard and exception rules, IDN suffixes in A-label form */
	check_reg("a.b.c.kawasaki.jp", "b.c.kawasaki.jp");
	check_reg("a.b.city.kawasaki.jp", "city.kawasaki.jp");
	check_reg("a.b.xn--55qx5d.cn", "b.xn--55qx5d.cn");
	check_reg("a.example.xn--p1ai", "example.xn--p1ai");
	/* public suffixes themselves */
	check_reg("github.io", NULL);
	check_reg("co.uk", NULL);
	check_reg("com", NULL);
	check_reg("uk", NULL);
	check_reg("xn--55qx5d.cn", NULL);
	/* a TLD the list does not know: the "*" rule */
	check_reg("nosuchtld", NULL);
	check_reg("a.example.nosuchtld", "example.nosuchtld");
	char out[SH_DOMAIN_MAX];
	assert_int_equal(sh_domain_registrable("", out), SH_EINVAL);
}

static void test_real_names(void **state)
{
	(void)state;
	/* from the URLhaus online list, 2019-2020 */
	check_norm("Chrome.theworkpc.com", "chrome.theworkpc.com");
	check_norm("sl9XA73g7u3EO07WT42n7f4vIn5fZH.biz", "sl9xa73g7u3eo07wt42n7f4vin5fzh.biz");
	check_norm("04.bd-pcgame.720582.com", "04.bd-pcgame.720582.com");
	check_norm("bbuseruploads.s3.amazonaws.com", "bbuseruploads.s3.amazonaws.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_ldh_failures),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_idn),
		cmocka_unit_test(test_idn_failures),
		cmocka_unit_test(test_to_ascii),
		cmocka_unit_test(test_registrable),
		cmocka_unit_test(test_real_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
