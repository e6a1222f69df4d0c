/* Unit tests for the WHATWG host parser and URL splitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/url.h"

/* Host text as the tests compare it: the IP or the name. */
static void host_str(const struct sh_host *h, char *buf)
{
	if (h->type == SH_HOST_IP)
		sh_ip_format(&h->ip, buf);
	else
		strcpy(buf, h->name);
}

static void check_host(const char *in, enum sh_host_type type, const char *want)
{
	struct sh_host h;
	char buf[SH_DOMAIN_MAX + SH_IP_STRLEN];
	int rc = sh_host_parse(in, strlen(in), &h);
	if (rc) {
		print_error("sh_host_parse(%s) = %s\n", in, sh_strerror(rc));
		fail();
	}
	assert_int_equal(h.type, type);
	host_str(&h, buf);
	assert_string_equal(buf, want);
}

static void check_bad_host(const char *in)
{
	struct sh_host h;
	char buf[SH_DOMAIN_MAX + SH_IP_STRLEN];
	int rc = sh_host_parse(in, strlen(in), &h);
	if (rc != SH_EINVAL) {
		if (!rc)
			host_str(&h, buf);
		print_error("accepted host %s as %s\n", in, rc ? sh_strerror(rc) : buf);
		fail();
	}
}

static void test_ipv4_numeric_forms(void **state)
{
	(void)state;
	/* the WHATWG URL standard's IPv4 parser examples and friends */
	check_host("0x7f.1", SH_HOST_IP, "127.0.0.1");
	check_host("0177.1", SH_HOST_IP, "127.0.0.1");
	check_host("127.1", SH_HOST_IP, "127.0.0.1");
	check_host("2130706433", SH_HOST_IP, "127.0.0.1");
	check_host("0x7f000001", SH_HOST_IP, "127.0.0.1");
	check_host("0X7F.0.0.1", SH_HOST_IP, "127.0.0.1");
	check_host("017700000001", SH_HOST_IP, "127.0.0.1");
	check_host("127.0.0.1", SH_HOST_IP, "127.0.0.1");
	check_host("127.0.0.1.", SH_HOST_IP, "127.0.0.1");
	check_host("192.168.257", SH_HOST_IP, "192.168.1.1");
	check_host("192.0x00A80001", SH_HOST_IP, "192.168.0.1");
	check_host("0xc0.0250.01", SH_HOST_IP, "192.168.0.1");
	check_host("1.2.65535", SH_HOST_IP, "1.2.255.255");
	check_host("1.16777215", SH_HOST_IP, "1.255.255.255");
	check_host("4294967295", SH_HOST_IP, "255.255.255.255");
	check_host("0", SH_HOST_IP, "0.0.0.0");
	check_host("0x", SH_HOST_IP, "0.0.0.0");
	check_host("0x.0x.0", SH_HOST_IP, "0.0.0.0");
	check_host("00000000000000000000001", SH_HOST_IP, "0.0.0.1");
	check_host("0xffffffff", SH_HOST_IP, "255.255.255.255");
	check_host("1.2.3.4", SH_HOST_IP, "1.2.3.4");
	check_host("1.246.222.105", SH_HOST_IP, "1.246.222.105");
	/* percent-encoded and full-width digits decode before the number check */
	check_host("%31%32%37.0.0.1", SH_HOST_IP, "127.0.0.1");
	check_host("１２７.０.０.１", SH_HOST_IP, "127.0.0.1");
}

static void test_ipv4_failures(void **state)
{
	(void)state;
	const char *bad[] = {
		"4294967296",      /* 2^32 */
		"0x100000000",
		"1.2.3.256",
		"1.2.65536",
		"1.16777216",
		"256.0.0.1",
		"1.2.3.4.5",       /* ends in a number, so not a domain, and too many parts */
		"1.2.3.4.5.",
		"foo.0x1f",        /* ends in a number, "foo" is not one */
		"foo.123",
		"foo.09",
		"09.1",            /* 9 is not octal */
		"0x1g.1",
		"1..2",
		".1.2",
		"1.2.3.4..",
		"99999999999999999999999",
		"x.１２３",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_host(bad[i]);
}

static void test_ipv6_hosts(void **state)
{
	(void)state;
	check_host("[::1]", SH_HOST_IP, "::1");
	check_host("[2001:DB8::0:1]", SH_HOST_IP, "2001:db8::1");
	check_host("[::ffff:1.2.3.4]", SH_HOST_IP, "1.2.3.4");
	check_host("[::ffff:7f00:1]", SH_HOST_IP, "127.0.0.1");
	const char *bad[] = {"[]", "[:]", "[1.2.3.4]", "[::1", "::1]", "[::1]x", "[g::1]",
			     "[::1%25eth0]", "[fe80::1]:80", "2001:db8::1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_host(bad[i]);
}

static void test_domain_hosts(void **state)
{
	(void)state;
	check_host("Example.COM", SH_HOST_DOMAIN, "example.com");
	check_host("example.com.", SH_HOST_DOMAIN, "example.com");
	check_host("%65xample.com", SH_HOST_DOMAIN, "example.com");
	check_host("EXAMPLE%2ecom", SH_HOST_DOMAIN, "example.com");
	check_host("b%C3%BCcher.de", SH_HOST_DOMAIN, "xn--bcher-kva.de");
	check_host("bücher.de", SH_HOST_DOMAIN, "xn--bcher-kva.de");
	check_host("1.2.3.com", SH_HOST_DOMAIN, "1.2.3.com");
	check_host("0x7f.com", SH_HOST_DOMAIN, "0x7f.com");
	check_host("a.0xg", SH_HOST_DOMAIN, "a.0xg");
	const char *bad[] = {"", "%", "%zz.com", "exa%20mple.com", "exa%00mple.com", "a b.com",
			     "example", "*.example.com", "ex..com", "%2e%2e"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_host(bad[i]);
}

/* Parses a URL and checks "scheme|host|port|rest". */
static void check_url(const char *in, const char *want)
{
	struct sh_url u;
	char host[SH_DOMAIN_MAX + SH_IP_STRLEN], got[4096];
	int rc = sh_url_parse(in, strlen(in), &u);
	if (rc) {
		print_error("sh_url_parse(%s) = %s\n", in, sh_strerror(rc));
		fail();
	}
	host_str(&u.host, host);
	snprintf(got, sizeof(got), "%s|%s|%u|%.*s", u.scheme, host, u.port, (int)u.rest_len,
		 u.rest);
	assert_string_equal(got, want);
	if (u.rest_len)
		assert_ptr_equal(u.rest + u.rest_len, in + strlen(in)); /* points into the input */
}

static void check_bad_url(const char *in, size_t n)
{
	struct sh_url u;
	if (sh_url_parse(in, n, &u) == 0) {
		print_error("accepted URL %.*s\n", (int)n, in);
		fail();
	}
}

static void test_urls(void **state)
{
	(void)state;
	check_url("http://example.com/", "http|example.com|0|/");
	check_url("HTTP://Example.COM/A/b?C=D#E", "http|example.com|0|/A/b?C=D#E");
	check_url("http://example.com", "http|example.com|0|");
	check_url("http://example.com:80/x", "http|example.com|0|/x");
	check_url("http://example.com:8080/x", "http|example.com|8080|/x");
	check_url("http://example.com:/x", "http|example.com|0|/x");
	check_url("https://example.com:443", "https|example.com|0|");
	check_url("https://example.com:80", "https|example.com|80|");
	check_url("ftp://example.com:21/f", "ftp|example.com|0|/f");
	check_url("ws://example.com:80/", "ws|example.com|0|/");
	check_url("wss://example.com:443/", "wss|example.com|0|/");
	check_url("wss://example.com:0443/", "wss|example.com|0|/");
	check_url("tcp://1.2.3.4:443", "tcp|1.2.3.4|443|");
	check_url("abcdefghijklmno://x.com/", "abcdefghijklmno|x.com|0|/"); /* 15: the longest kept */
	check_url("http://user:pass@example.com:80/", "http|example.com|0|/");
	check_url("http://a@b@example.com/", "http|example.com|0|/");
	check_url("http://[2001:db8::1]:8080/x", "http|2001:db8::1|8080|/x");
	check_url("http://[::ffff:1.2.3.4]/", "http|1.2.3.4|0|/");
	check_url("http://0x7f.1/", "http|127.0.0.1|0|/");
	check_url("http://2130706433:8000/a", "http|127.0.0.1|8000|/a");
	check_url("http://example.com?q", "http|example.com|0|?q");
	check_url("http://example.com#f", "http|example.com|0|#f");
	check_url("http:\\\\example.com\\a", "http|example.com|0|\\a");
	check_url("http:/example.com/a", "http|example.com|0|/a");
	check_url("http:example.com/a", "http|example.com|0|/a");
	check_url("http://ex%41mple.com/%41", "http|example.com|0|/%41");
	check_url("http://bücher.de/ü", "http|xn--bcher-kva.de|0|/ü");
	check_url("http://example.com/a b", "http|example.com|0|/a b");
	/* schemeless, as in the URLhaus filter lists */
	check_url("2.indexsinas.me:811/c64.exe", "|2.indexsinas.me|811|/c64.exe");
	check_url("example.com/Path/File.EXE", "|example.com|0|/Path/File.EXE");
	check_url("example.com:80/x", "|example.com|80|/x");
	check_url("1.2.3.4:8080", "|1.2.3.4|8080|");
	check_url("example.com", "|example.com|0|");
	check_url("linkprotect.cudasvc.com/url?a=http://jjtphoto.com/scan",
		  "|linkprotect.cudasvc.com|0|/url?a=http://jjtphoto.com/scan");
	check_url("down1.greenxf.com:8010/%E5%AA%92%E4%BD%93.zip",
		  "|down1.greenxf.com|8010|/%E5%AA%92%E4%BD%93.zip");
}

static void test_bad_urls(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "http://", "http:///x", "http://:80/", "http://example.com:65536/",
		"http://example.com:8x/", "http://example.com:-1/", "http://example.com:99999999999/",
		"http://[::1/", "http://[::1]x/", "http://ex ample.com/", " http://example.com/",
		"http://example.com/ ", "http://example.com/a\r", "http://example.com/a\nb",
		"http://example.com/\x7f", "http://1.2.3.4.5/", "mailto:x@example.com",
		"user@example.com/x", "javascript:alert(1)", "http://@/", "://example.com",
		"verylongschemename://example.com/", "abcdefghijklmnop://x.com/",
		"very.long.scheme.name.x://example.com", "http://*.example.com/", "tcp:/1.2.3.4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad_url(bad[i], strlen(bad[i]));
	check_bad_url("http://example.com/\0x", 21);
	check_bad_url("http://exa\0mple.com/", 20);
}

static void test_real_lines(void **state)
{
	(void)state;
	FILE *f = fopen(SH_TEST_DATA "/norm/urlhaus-lines.txt", "r");
	assert_non_null(f);
	char line[4096];
	unsigned n = 0, with_path = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");
		struct sh_url u;
		int rc = sh_url_parse(line, len, &u);
		if (rc) {
			print_error("line %u: %s: %s\n", n + 1, line, sh_strerror(rc));
			fail();
		}
		assert_string_equal(u.scheme, "");
		const char *slash = memchr(line, '/', len);
		if (slash) {
			/* the path keeps its case and encoding */
			assert_ptr_equal(u.rest, slash);
			with_path++;
		}
		n++;
	}
	fclose(f);
	assert_int_equal(n, 273);
	assert_true(with_path > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_numeric_forms),
		cmocka_unit_test(test_ipv4_failures),
		cmocka_unit_test(test_ipv6_hosts),
		cmocka_unit_test(test_domain_hosts),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_real_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
