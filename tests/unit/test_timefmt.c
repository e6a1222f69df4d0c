/* Unit tests for timestamp parsing and RFC 3339 formatting (lib/timefmt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lib/timefmt.h"

static int64_t parse_ok(const char *s)
{
	int64_t t = 12345;
	int rc = sh_time_parse(s, strlen(s), &t);
	if (rc != 0)
		fail_msg("sh_time_parse(\"%s\") = %d", s, rc);
	return t;
}

static void assert_rejected(const char *s)
{
	int64_t t = 777;
	int rc = sh_time_parse(s, strlen(s), &t);
	if (rc != SH_EINVAL)
		fail_msg("sh_time_parse(\"%s\") accepted: %lld", s, (long long)t);
	assert_int_equal(t, 777); /* untouched on error */
}

static void test_rfc3339(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2020-02-07T12:08:47Z"), 1581077327);
	assert_int_equal(parse_ok("2020-02-07t12:08:47z"), 1581077327);
	assert_int_equal(parse_ok("2020-02-07T14:08:47+02:00"), 1581077327);
	assert_int_equal(parse_ok("2020-02-07T06:38:47-05:30"), 1581077327);
	assert_int_equal(parse_ok("2020-02-07T12:08:47.123456Z"), 1581077327);
	assert_int_equal(parse_ok("2020-02-07T12:08:47.9+00:00"), 1581077327);
	assert_int_equal(parse_ok("2016-05-12T08:17:27.000Z"), 1463041047);
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1);
	assert_int_equal(parse_ok("2026-08-18T15:55:12+00:00"), 1787068512);
	/* no zone: UTC */
	assert_int_equal(parse_ok("2020-02-07T12:08:47"), 1581077327);
	/* a leap second counts as the next minute's first */
	assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), 1483228800);
}

static void test_space_separated(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2020-02-07 12:08:47"), 1581077327);
	assert_int_equal(parse_ok("2020-02-07 12:08:47 UTC"), 1581077327);
	assert_int_equal(parse_ok("2020-02-07 12:08:47 utc"), 1581077327);
	assert_int_equal(parse_ok("2024-04-04 07:03:03 UTC"), 1712214183);
	assert_int_equal(parse_ok("2020-02-07"), 1581033600);
	assert_int_equal(parse_ok("2024-04-01"), 1711929600);
}

static void test_rfc2822(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("Fri, 07 Feb 2020 12:08:47 UTC"), 1581077327);
	assert_int_equal(parse_ok("Fri, 07 Feb 2020 12:08:47 GMT"), 1581077327);
	assert_int_equal(parse_ok("Fri, 07 Feb 2020 14:08:47 +0200"), 1581077327);
	assert_int_equal(parse_ok("Fri, 07 Feb 2020 07:08:47 -0500"), 1581077327);
	assert_int_equal(parse_ok("Fri, 7 Feb 2020 12:08:47 +0000"), 1581077327);
	assert_int_equal(parse_ok("07 Feb 2020 12:08:47 UTC"), 1581077327);
	assert_int_equal(parse_ok("Fri,  07  Feb  2020  12:08:47  UTC"), 1581077327);
	assert_int_equal(parse_ok("fri, 07 feb 2020 12:08:47 utc"), 1581077327);
	assert_int_equal(parse_ok("Fri, 07 Feb 2020 12:08 UTC"), 1581077280);
	assert_int_equal(parse_ok("Sat, 22 Aug 2026 03:00:29 +0200"), 1787360429);
	assert_int_equal(parse_ok("Mon, 03 Mar 2025 19:07:54 GMT"), 1741028874);
}

static void test_ctime(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("Mon Nov  2 15:31:10 UTC 2015"), 1446478270);
	assert_int_equal(parse_ok("Mon Nov 2 15:31:10 UTC 2015"), 1446478270);
	assert_int_equal(parse_ok("Mon Nov 02 15:31:10 UTC 2015"), 1446478270);
	assert_int_equal(parse_ok("Mon Nov  2 15:31:10 GMT 2015"), 1446478270);
	assert_int_equal(parse_ok("Mon Nov  2 15:31:10 2015"), 1446478270);
	assert_int_equal(parse_ok("Fri Oct 23 13:45:29 UTC 2015"), 1445607929);
}

static void test_epoch(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("@1581077327"), 1581077327);
	assert_int_equal(parse_ok("1581077327"), 1581077327);
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("@0"), 0);
	assert_int_equal(parse_ok("253402300799"), INT64_C(253402300799));
	assert_int_equal(parse_ok("  \t1741028874\r\n"), 1741028874);
}

static void test_whitespace_and_bounds(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("  2020-02-07T12:08:47Z  "), 1581077327);
	assert_int_equal(parse_ok("\tFri, 07 Feb 2020 12:08:47 UTC\n"), 1581077327);
	/* only n bytes are read: the text need not be NUL-terminated */
	const char buf[] = "2020-02-07T12:08:47Zjunk";
	int64_t t;
	assert_int_equal(sh_time_parse(buf, 20, &t), 0);
	assert_int_equal(t, 1581077327);
	assert_int_equal(sh_time_parse(buf, 10, &t), 0);
	assert_int_equal(t, 1581033600);
	assert_int_equal(sh_time_parse(buf, sizeof(buf) - 1, &t), SH_EINVAL);
	/* an embedded NUL is not whitespace */
	assert_int_equal(sh_time_parse("2020-02-07\0", 11, &t), SH_EINVAL);
	assert_int_equal(sh_time_parse(NULL, 0, &t), SH_EINVAL);
}

static void test_calendar_checks(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2020-02-29"), 1582934400);
	assert_int_equal(parse_ok("2000-02-29"), 951782400);
	assert_int_equal(parse_ok("2020-12-31T23:59:59Z"), 1609459199);
	assert_rejected("2019-02-29");
	assert_rejected("1900-02-29");
	assert_rejected("2100-02-29T00:00:00Z");
	assert_rejected("2020-02-30");
	assert_rejected("2020-04-31");
	assert_rejected("2020-13-01");
	assert_rejected("2020-00-10");
	assert_rejected("2020-01-00");
	assert_rejected("2020-01-32");
	assert_rejected("2020-01-01T24:00:00Z");
	assert_rejected("2020-01-01T23:60:00Z");
	assert_rejected("2020-01-01T23:59:61Z");
	assert_rejected("2020-01-01T12:00:00+24:00");
	assert_rejected("2020-01-01T12:00:00+02:60");
	assert_rejected("Sat, 30 Feb 2020 12:08:47 UTC");
	assert_rejected("Fri, 32 Jan 2020 12:08:47 UTC");
	assert_rejected("Fri, 07 Feb 2020 25:08:47 UTC");
	assert_rejected("Mon Nov 31 15:31:10 UTC 2015");
}

static void test_rejects_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "   ", "@", "@-1", "-1", "@12a", "12345678901234567890", "253402300800",
		"2020-02-07T12:08Z", "2020-02-07T12:08:47.Z", "2020-02-07x", "2020-02-07T",
		"2020-02-07T12:08:47Zjunk", "2020-2-7", "20-02-07", "2020/02/07", "2020-02-07 12:08:47 CET",
		"2020-02-07T12:08:47+0", "2020-02-07 12:08:47 (UTC)", "Fri, 07 Feb 2020 12:08:47",
		"Fri, 07 Feb 20 12:08:47 UTC", "Fri, 07 Fbr 2020 12:08:47 UTC", "Fri 07 Feb 2020 12:08:47 UTC",
		"Foo, 07 Feb 2020 12:08:47 UTC", "Fri, 07 Feb 2020 12:08:47 +02", "Mon Xyz  2 15:31:10 UTC 2015",
		"Mon Nov  2 15:31:10 UTC", "Mon Nov  2 15:31 UTC 2015", "Mon Nov  2 15:31:10 UTC 2015 x",
		"yesterday", "now", "2020-02-07T12:08:47Z\x01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejected(bad[i]);
}

static void test_format(void **state)
{
	(void)state;
	char buf[SH_TIME_STRLEN];
	assert_int_equal(sh_time_format(0, buf), 20);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	sh_time_format(1581077327, buf);
	assert_string_equal(buf, "2020-02-07T12:08:47Z");
	sh_time_format(-1, buf);
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	sh_time_format(951782400, buf);
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
	sh_time_format(INT64_C(253402300799), buf);
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
	/* clamped to what four digits can write */
	assert_int_equal(sh_time_format(INT64_MAX, buf), 20);
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
	assert_int_equal(sh_time_format(SH_TIME_NONE, buf), 20);
	assert_string_equal(buf, "0000-01-01T00:00:00Z");
}

static void test_round_trip(void **state)
{
	(void)state;
	char buf[SH_TIME_STRLEN];
	/* a stride prime to the day length walks through every hour, month and leap rule */
	for (int64_t t = INT64_C(-62167219200); t <= INT64_C(253402300799); t += 7919 * 3617) {
		size_t n = sh_time_format(t, buf);
		int64_t back;
		assert_int_equal(sh_time_parse(buf, n, &back), 0);
		assert_int_equal(back, t);
	}
}

static void test_matches_libc(void **state)
{
	(void)state;
	char buf[SH_TIME_STRLEN], want[32];
	for (int64_t t = 0; t < INT64_C(4102444800); t += 86400 * 13 + 3607) {
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		sh_time_format(t, buf);
		assert_string_equal(buf, want);
	}
}

/* The results must not depend on the process's time zone. */
static void test_tz_independent(void **state)
{
	(void)state;
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	assert_int_equal(parse_ok("2020-02-07 12:08:47"), 1581077327);
	assert_int_equal(parse_ok("Mon Nov  2 15:31:10 2015"), 1446478270);
	char buf[SH_TIME_STRLEN];
	sh_time_format(1581077327, buf);
	assert_string_equal(buf, "2020-02-07T12:08:47Z");
	unsetenv("TZ");
	tzset();
}

/* Every snapshot header value of the genuine samples and of the urlhaus-filter history, with
 * the time Python computed for it. */
static void test_real_header_values(void **state)
{
	(void)state;
	FILE *f = fopen(SH_TEST_DATA "/feeds/header_times.tsv", "r");
	assert_non_null(f);
	char line[512];
	unsigned n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		char *tab = strchr(line, '\t');
		assert_non_null(tab);
		long long want = strtoll(tab + 1, NULL, 10);
		int64_t got;
		if (sh_time_parse(line, (size_t)(tab - line), &got) != 0 || got != want)
			fail_msg("%.*s: want %lld", (int)(tab - line), line, want);
		n++;
	}
	fclose(f);
	assert_true(n >= 790);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_space_separated),
		cmocka_unit_test(test_rfc2822),
		cmocka_unit_test(test_ctime),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_whitespace_and_bounds),
		cmocka_unit_test(test_calendar_checks),
		cmocka_unit_test(test_rejects_malformed),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_matches_libc),
		cmocka_unit_test(test_tz_independent),
		cmocka_unit_test(test_real_header_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
