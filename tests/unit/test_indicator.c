/* Unit tests for indicator classification and canonical values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/indicator.h"

static void check_ind(const char *in, enum sh_ind_type type, const char *want)
{
	struct sh_indicator ind;
	int rc = sh_indicator_parse(in, strlen(in), &ind);
	if (rc) {
		print_error("sh_indicator_parse(%s) = %s\n", in, sh_strerror(rc));
		fail();
	}
	if (ind.type != type) {
		print_error("%s: type %s, want %s\n", in, sh_ind_type_name(ind.type),
			    sh_ind_type_name(type));
		fail();
	}
	assert_string_equal(ind.value, want);
	assert_int_equal(ind.value_len, strlen(want));
	/* the canonical value is a fixed point */
	struct sh_indicator again;
	assert_int_equal(sh_indicator_parse(ind.value, ind.value_len, &again), 0);
	assert_int_equal(again.type, ind.type);
	assert_string_equal(again.value, ind.value);
}

static void check_bad(const char *in, size_t n, int want)
{
	struct sh_indicator ind;
	int rc = sh_indicator_parse(in, n, &ind);
	if (rc != want) {
		print_error("%.*s: %s, want %s\n", (int)n, in, rc ? sh_strerror(rc) : ind.value,
			    sh_strerror(want));
		fail();
	}
}

static void test_ips(void **state)
{
	(void)state;
	check_ind("1.2.3.4", SH_IND_IP, "1.2.3.4");
	check_ind("1.246.222.105", SH_IND_IP, "1.246.222.105");
	check_ind("  10.0.0.1\r\n", SH_IND_IP, "10.0.0.1");
	check_ind("2001:DB8::1", SH_IND_IP, "2001:db8::1");
	check_ind("[2001:db8::1]", SH_IND_IP, "2001:db8::1");
	check_ind("::ffff:192.0.2.1", SH_IND_IP, "192.0.2.1");
	check_ind("1.2.3.4/32", SH_IND_IP, "1.2.3.4");
	check_ind("2001:db8::1/128", SH_IND_IP, "2001:db8::1");
	/* numeric host forms the WHATWG host parser accepts */
	check_ind("0x7f.1", SH_IND_IP, "127.0.0.1");
	check_ind("127.1", SH_IND_IP, "127.0.0.1");
	check_ind("2130706433", SH_IND_IP, "127.0.0.1");

	struct sh_indicator ind;
	assert_int_equal(sh_indicator_parse("192.0.2.7", 9, &ind), 0);
	assert_int_equal(ind.host.type, SH_HOST_IP);
	assert_int_equal(ind.prefix.len, 32);
	assert_int_equal(ind.prefix.ip.af, SH_AF_V4);
	/* special space is accepted; callers decide */
	assert_non_null(sh_ip_special(&ind.host.ip));
	assert_int_equal(sh_indicator_parse("2001:db8::/128", 14, &ind), 0);
	assert_int_equal(ind.type, SH_IND_IP);
	assert_int_equal(ind.prefix.len, 128);
}

static void test_cidrs(void **state)
{
	(void)state;
	check_ind("10.0.0.0/8", SH_IND_CIDR, "10.0.0.0/8");
	check_ind("10.1.2.3/8", SH_IND_CIDR, "10.0.0.0/8");
	check_ind("2001:DB8::/32", SH_IND_CIDR, "2001:db8::/32");
	check_ind("0.0.0.0/0", SH_IND_CIDR, "0.0.0.0/0");
	check_ind("::ffff:10.0.0.0/104", SH_IND_CIDR, "10.0.0.0/8");
	struct sh_indicator ind;
	assert_int_equal(sh_indicator_parse("192.0.2.0/24", 12, &ind), 0);
	assert_int_equal(ind.prefix.len, 24);
	/* not CIDRs: these are URLs with a path */
	check_ind("1.2.3.4/", SH_IND_URL, "1.2.3.4/");
	check_ind("1.2.3.4/33", SH_IND_URL, "1.2.3.4/33");
	check_ind("1.2.3.4/0024", SH_IND_URL, "1.2.3.4/0024");
	check_ind("example.com/24", SH_IND_URL, "example.com/24");
	check_ind("1.2.3.4/24/8", SH_IND_URL, "1.2.3.4/24/8");
	check_ind("[::1]/64/x", SH_IND_URL, "[::1]/64/x");
	/* numeric host forms with "/len" read back as CIDRs, so they are CIDRs */
	check_ind("127.1/8", SH_IND_CIDR, "127.0.0.0/8");
	check_ind("0x7f.1/24", SH_IND_CIDR, "127.0.0.0/24");
	check_ind("20014.:/32", SH_IND_IP, "0.0.78.46");
	check_ind("1.2.3.4:80/8", SH_IND_URL, "1.2.3.4:80/8");
}

static void test_domains(void **state)
{
	(void)state;
	check_ind("example.com", SH_IND_DOMAIN, "example.com");
	check_ind("Example.COM.", SH_IND_DOMAIN, "example.com");
	check_ind("\texample.com ", SH_IND_DOMAIN, "example.com");
	check_ind("bücher.de", SH_IND_DOMAIN, "xn--bcher-kva.de");
	check_ind("0400msc.com", SH_IND_DOMAIN, "0400msc.com");
	check_ind("1.2.3.com", SH_IND_DOMAIN, "1.2.3.com");
	check_ind("a_b.example.com", SH_IND_DOMAIN, "a_b.example.com");
	check_ind("ex%41mple.com", SH_IND_DOMAIN, "example.com");
	/* a schemeless URL with nothing after the host is the host */
	check_ind("example.com:", SH_IND_DOMAIN, "example.com");
	check_ind("1.2.3.4:", SH_IND_IP, "1.2.3.4");
	check_ind("[::1]:", SH_IND_IP, "::1");
	struct sh_indicator ind;
	assert_int_equal(sh_indicator_parse("Chrome.theworkpc.com", 20, &ind), 0);
	assert_int_equal(ind.host.type, SH_HOST_DOMAIN);
	assert_string_equal(ind.host.name, "chrome.theworkpc.com");
}

static void test_urls(void **state)
{
	(void)state;
	check_ind("http://example.com/x", SH_IND_URL, "http://example.com/x");
	check_ind("HTTP://User:Pw@EXAMPLE.com:80/A/B?C#D", SH_IND_URL, "http://example.com/A/B?C#D");
	check_ind("https://example.com:8443/", SH_IND_URL, "https://example.com:8443/");
	check_ind("https://example.com:443/", SH_IND_URL, "https://example.com/");
	check_ind("http://[2001:DB8::1]:8080/x", SH_IND_URL, "http://[2001:db8::1]:8080/x");
	check_ind("http://0x7f.1/x", SH_IND_URL, "http://127.0.0.1/x");
	check_ind("http://bücher.de/Ü", SH_IND_URL, "http://xn--bcher-kva.de/Ü");
	check_ind("tcp://1.2.3.4:4444", SH_IND_URL, "tcp://1.2.3.4:4444");
	check_ind("1.2.3.4:8080", SH_IND_URL, "1.2.3.4:8080");
	check_ind("1.2.3.4:8080/a", SH_IND_URL, "1.2.3.4:8080/a");
	check_ind("x.com/path", SH_IND_URL, "x.com/path");
	check_ind("X.com:1/Path?Q", SH_IND_URL, "x.com:1/Path?Q");
	check_ind("2.indexsinas.me:811/c64.exe", SH_IND_URL, "2.indexsinas.me:811/c64.exe");
	check_ind("down1.greenxf.com:8010/DOWNCAIJI/12/ASM_TOOL.RAR", SH_IND_URL,
		  "down1.greenxf.com:8010/DOWNCAIJI/12/ASM_TOOL.RAR");
	check_ind("down1.greenxf.com:8010/%E5%AA%92%E4%BD%93%E5%B7%A5%E5%85%B7/srecorder"
		  "(www.greenxf.com).zip",
		  SH_IND_URL,
		  "down1.greenxf.com:8010/%E5%AA%92%E4%BD%93%E5%B7%A5%E5%85%B7/srecorder"
		  "(www.greenxf.com).zip");
	check_ind("example.com?x", SH_IND_URL, "example.com?x");
	struct sh_indicator ind;
	assert_int_equal(sh_indicator_parse("http://[::1]:81/", 16, &ind), 0);
	assert_int_equal(ind.host.type, SH_HOST_IP);
	assert_int_equal(ind.host.ip.af, SH_AF_V6);
	assert_int_equal(sh_indicator_parse("Http://WWW.Example.com/", 23, &ind), 0);
	assert_int_equal(ind.host.type, SH_HOST_DOMAIN);
	assert_string_equal(ind.host.name, "www.example.com");
}

static void test_bad(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "   ", "\r\n", "!comment", "# comment", "localhost", "*.example.com",
		"1.2.3.4.5", "4294967296", "foo.0x1f", "a b.com", "user@example.com",
		"http://", "http://example.com:99999/", "2001:db8::1::1", "1.2.3.4 5.6.7.8",
		"example..com", "http://ex ample.com/", "||example.com^", "0.0.0.0 example.com",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(bad[i], strlen(bad[i]), SH_EINVAL);
	check_bad("1.2.3.4\0", 8, SH_EINVAL);
	check_bad("example.com\0evil", 16, SH_EINVAL);
}

static void test_too_long(void **state)
{
	(void)state;
	static char url[SH_IND_MAX + 64];
	memcpy(url, "http://example.com/", 19);
	size_t n = 19;
	/* exactly SH_IND_MAX - 1 characters fits */
	memset(url + n, 'a', SH_IND_MAX - 1 - n);
	n = SH_IND_MAX - 1;
	struct sh_indicator ind;
	assert_int_equal(sh_indicator_parse(url, n, &ind), 0);
	assert_int_equal(ind.value_len, SH_IND_MAX - 1);
	url[n++] = 'b';
	check_bad(url, n, SH_ETOOLONG);
	/* the canonical form counts, not the input: a dropped default port makes room */
	memcpy(url, "http://example.com:80/", 22);
	memset(url + 22, 'c', SH_IND_MAX - 1 - 19);
	assert_int_equal(sh_indicator_parse(url, 22 + SH_IND_MAX - 1 - 19, &ind), 0);
	assert_int_equal(ind.value_len, SH_IND_MAX - 1);
}

static void test_huge_lines(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *line = test_malloc(n);
	memset(line, 'a', n);
	check_bad(line, n, SH_EINVAL);
	memcpy(line, "http://example.com/", 19);
	check_bad(line, n, SH_ETOOLONG);
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(line + i, "\xc3\xbc", 2);
	check_bad(line, n, SH_EINVAL);
	memset(line, 0, n);
	check_bad(line, n, SH_EINVAL);
	test_free(line);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(sh_ind_type_name(SH_IND_IP), "ip");
	assert_string_equal(sh_ind_type_name(SH_IND_CIDR), "cidr");
	assert_string_equal(sh_ind_type_name(SH_IND_DOMAIN), "domain");
	assert_string_equal(sh_ind_type_name(SH_IND_URL), "url");
}

/* Every line of a real URLhaus list slice parses; the type follows the shape of the line,
 * the canonical value keeps the line except for host case, and is a fixed point. */
static void test_real_lines(void **state)
{
	(void)state;
	FILE *f = fopen(SH_TEST_DATA "/norm/urlhaus-lines.txt", "r");
	assert_non_null(f);
	char line[4096];
	unsigned n = 0, counts[5] = {0};
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");
		line[len] = '\0';
		n++;
		struct sh_indicator ind;
		int rc = sh_indicator_parse(line, len, &ind);
		if (rc) {
			print_error("line %u: %s: %s\n", n, line, sh_strerror(rc));
			fail();
		}
		counts[ind.type]++;
		enum sh_ind_type want = strpbrk(line, "/:?")         ? SH_IND_URL
					: strspn(line, "0123456789.") == len ? SH_IND_IP
									     : SH_IND_DOMAIN;
		assert_int_equal(ind.type, want);
		assert_int_equal(ind.value_len, len);
		size_t host_len = strcspn(line, "/:?");
		assert_true(strncasecmp(ind.value, line, host_len) == 0);
		assert_string_equal(ind.value + host_len, line + host_len);
		struct sh_indicator again;
		assert_int_equal(sh_indicator_parse(ind.value, ind.value_len, &again), 0);
		assert_string_equal(again.value, ind.value);
	}
	fclose(f);
	assert_int_equal(n, 273);
	assert_int_equal(counts[SH_IND_IP], 80);
	assert_true(counts[SH_IND_URL] > 100);
	assert_true(counts[SH_IND_DOMAIN] > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ips),
		cmocka_unit_test(test_cidrs),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_huge_lines),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_real_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
