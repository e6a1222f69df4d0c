/* Unit tests for lib/score: hosting-or-eyeball tagging, the BPH score and verdict, their reasons
 * in plain figures, and sane output (no NaN, bounded) for empty and one-indicator networks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/score.h"
#include "lib/survival.h"

/* The URLhaus 2019-2020 history: 26k attributed IPv4 indicators over 3.7e9 addresses,
 * median takedown 30 h. */
static const struct sh_score_overall all = {
	.rate_v4 = 26170.0 / 3.7e9,
	.rate_v6 = 1e-9,
	.takedown_median_h = 30,
};

static bool has_reason(const struct sh_score *s, const char *text)
{
	for (size_t i = 0; i < s->n_reasons; i++)
		if (strstr(s->reasons[i], text))
			return true;
	return false;
}

static void sane(const struct sh_score *s)
{
	assert_true(s->score >= 0 && s->score <= 100);
	assert_false(isnan(s->score) || isnan(s->density_ratio) || isnan(s->takedown_ratio));
	assert_false(isnan(s->density) || isnan(s->density_v4) || isnan(s->expected));
	assert_true(s->n_reasons >= 1);
}

/* A hoster keeping 64 indicators up for a median 19 days on a /22 of hosting space. */
static struct sh_net_figures bph(void)
{
	return (struct sh_net_figures){
		.total = 64, .active = 12, .addresses = 40, .in_hosting = 64,
		.space_v4 = 1024, .subjects = 60, .takedown_median_h = 19 * 24,
		.takedown_followup_h = 100 * 24, .one_day_share = 0.05, .recurrence_share = 0.6,
		.idle_h = 2, .org = "Example Servers Ltd",
	};
}

/* A consumer ISP with 7,000 one-day IoT infections across a /6. */
static struct sh_net_figures isp(void)
{
	return (struct sh_net_figures){
		.total = 7000, .active = 40, .addresses = 7000, .space_v4 = 64.0 * 1024 * 1024,
		.subjects = 6900, .takedown_median_h = 18, .takedown_followup_h = 4000,
		.one_day_share = 0.55, .recurrence_share = 0.99, .idle_h = 12,
		.org = "Example Unicom Backbone",
	};
}

static void test_bph_and_isp(void **state)
{
	(void)state;
	struct sh_net_figures f = bph();
	struct sh_score b, i;
	sh_score_network(&f, &all, &b);
	sane(&b);
	assert_int_equal(b.kind, SH_NET_HOSTING);
	assert_int_equal(b.verdict, SH_VERDICT_BPH);
	assert_true(b.score >= 60);
	assert_true(has_reason(&b, "median takedown 19 d vs 30.0 h overall (60 indicators followed)"));
	assert_true(has_reason(&b, "64 indicators on a /22: 16 per /24"));
	assert_true(has_reason(&b, "hosting space: 100% of indicators in published hosting ranges"));
	assert_true(has_reason(&b, "12 online now"));
	assert_true(b.takedown_ratio > 10 && b.takedown_ratio < 15.2);

	f = isp();
	sh_score_network(&f, &all, &i);
	sane(&i);
	assert_int_equal(i.kind, SH_NET_EYEBALL);
	assert_true(i.verdict != SH_VERDICT_BPH && i.verdict != SH_VERDICT_SUSPICIOUS);
	assert_true(has_reason(&i, "eyeball shape: 7000 addresses"));
	assert_true(i.score < b.score);
	assert_true(i.score < 20);

	/* a few long-lived indicators on hosting space still outrank the ISP */
	f = bph();
	f.total = f.in_hosting = 3;
	f.subjects = 3;
	f.addresses = 3;
	f.active = 1;
	struct sh_score few;
	sh_score_network(&f, &all, &few);
	sane(&few);
	assert_true(few.score > i.score);
	assert_int_equal(few.verdict, SH_VERDICT_BPH);
}

static void test_kinds(void **state)
{
	(void)state;
	char why[200];
	/* eyeball by size: a few indicators scattered over a /9 */
	struct sh_net_figures f = {.total = 20, .addresses = 20, .space_v4 = 8388608,
				   .one_day_share = 0.1, .takedown_median_h = 200,
				   .org = "Example Cable"};
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_EYEBALL);
	assert_non_null(strstr(why, "eyeball by size: 20 indicators scattered over a /9"));
	/* the same on a /20 is not sparse: the name decides */
	f.space_v4 = 4096;
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_EYEBALL);
	assert_non_null(strstr(why, "eyeball by name"));
	f.org = "Example Hosting GmbH";
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_HOSTING);
	assert_non_null(strstr(why, "hosting by name"));
	/* several indicators per address: servers, not devices */
	f.org = "Example AB";
	f.addresses = 5;
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_HOSTING);
	assert_non_null(strstr(why, "4.0 indicators served per address"));
	/* one per address but packed: 20 on a /20 */
	f.addresses = 20;
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_HOSTING);
	assert_non_null(strstr(why, "hosting shape: 20 indicators packed in a /20 (1.2 per /24)"));
	/* the same on a /16, long-lived: nothing to go by */
	f.space_v4 = 65536;
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_UNKNOWN);
	assert_string_equal(why, "");
	/* taken down as fast as overall, one per address, on a /16: devices */
	f.takedown_median_h = 20;
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_EYEBALL);
	assert_non_null(strstr(why, "eyeball shape: 20 addresses across a /16"));
	/* a fifth in hosting ranges: not eyeball by size any more */
	f.space_v4 = 8388608;
	f.in_hosting = 4;
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_UNKNOWN);
	/* hosting ranges win over everything */
	f.in_hosting = 10;
	f.space_v4 = 8388608;
	assert_int_equal(sh_score_kind(&f, &all, why, sizeof(why)), SH_NET_HOSTING);
	assert_non_null(strstr(why, "50% of indicators"));

	assert_true(sh_score_org_hosting("OVH SAS cloud"));
	assert_true(sh_score_org_hosting("Hetzner Online GmbH dedicated"));
	assert_false(sh_score_org_hosting("Deutsche Telekom AG"));
	assert_false(sh_score_org_hosting(NULL));
	assert_true(sh_score_org_eyeball("Deutsche Telekom AG"));
	assert_true(sh_score_org_eyeball("Comcast Cable Communications, LLC"));
	assert_false(sh_score_org_eyeball("OVH SAS"));
}

/* Empty figures, one indicator, unknown space, no overall median: figures, never NaN. */
static void test_degenerate(void **state)
{
	(void)state;
	struct sh_score s;
	struct sh_net_figures zero = {.takedown_median_h = SH_SURV_NONE,
				      .one_day_share = SH_SURV_NONE};
	struct sh_score_overall none = {.takedown_median_h = SH_SURV_NONE};
	sh_score_network(&zero, &none, &s);
	sane(&s);
	assert_true(s.density == SH_SURV_NONE && s.density_v4 == SH_SURV_NONE);
	assert_true(s.density_ratio == 1 && s.takedown_ratio == 1);
	assert_int_equal(s.kind, SH_NET_UNKNOWN);
	assert_true(has_reason(&s, "no takedown observed yet"));
	assert_true(has_reason(&s, "0 indicators on unknown space"));

	struct sh_net_figures one = {.total = 1, .addresses = 1, .space_v4 = 256, .subjects = 1,
				     .takedown_median_h = 6, .takedown_followup_h = 6,
				     .one_day_share = 1, .idle_h = 2000};
	sh_score_network(&one, &all, &s);
	sane(&s);
	assert_true(fabs(s.density_v4 - 1) < 1e-12);
	assert_int_equal(s.verdict, SH_VERDICT_CLEAN);
	assert_true(has_reason(&s, "1 indicator on a /24: 1 per /24"));
	assert_true(has_reason(&s, "nothing online and nothing new for 83 d"));
	/* the same indicator online now is not clean */
	one.active = 1;
	sh_score_network(&one, &all, &s);
	assert_int_equal(s.verdict, SH_VERDICT_ABUSED);
	assert_true(has_reason(&s, "1 online now"));

	/* median not reached: the follow-up is a lower bound */
	struct sh_net_figures up = {.total = 2, .addresses = 2, .in_hosting = 2, .space_v4 = 512,
				    .subjects = 2, .takedown_median_h = SH_SURV_NONE,
				    .takedown_followup_h = 40 * 24, .one_day_share = 0, .active = 2};
	sh_score_network(&up, &all, &s);
	sane(&s);
	assert_true(has_reason(&s, "median takedown not reached after 40 d vs 30.0 h overall"));
	assert_true(s.takedown_ratio > 1);
	assert_int_equal(s.verdict, SH_VERDICT_SUSPICIOUS); /* 2 indicators are not enough for bph */
}

static void test_monotone(void **state)
{
	(void)state;
	double last = -1;
	for (double h = 1; h < 5000; h *= 1.5) {
		struct sh_net_figures f = bph();
		f.takedown_median_h = h;
		struct sh_score s;
		sh_score_network(&f, &all, &s);
		assert_true(s.score >= last);
		last = s.score;
	}
	last = -1;
	for (unsigned long x = 1; x < 5000; x *= 2) {
		struct sh_net_figures f = bph();
		f.total = f.in_hosting = x;
		struct sh_score s;
		sh_score_network(&f, &all, &s);
		assert_true(s.score >= last);
		last = s.score;
	}
}

static void test_names(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(sh_verdict_name(SH_VERDICT_BPH), "bph");
	assert_string_equal(sh_verdict_name(SH_VERDICT_CLEAN), "clean");
	assert_string_equal(sh_net_kind_name(SH_NET_EYEBALL), "eyeball");
	assert_string_equal(sh_score_duration(0.5, b, sizeof(b)), "30 min");
	assert_string_equal(sh_score_duration(26.4, b, sizeof(b)), "26.4 h");
	assert_string_equal(sh_score_duration(26.4 * 24, b, sizeof(b)), "26 d");
	assert_string_equal(sh_score_duration(1.1 * 24, b, sizeof(b)), "26.4 h");
	assert_string_equal(sh_score_duration(3 * 24, b, sizeof(b)), "3.0 d");
	assert_string_equal(sh_score_duration(SH_SURV_NONE, b, sizeof(b)), "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bph_and_isp),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_monotone),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
