/* Unit tests for lib/survival: Kaplan-Meier on the textbook 6-MP leukaemia data (Freireich
 * 1963, as in Kalbfleisch and Prentice and R's survival package), Greenwood log-log bands,
 * median CIs, ties, censoring, empty and degenerate inputs, RMST and histograms. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/survival.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void near(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.9f, want %.9f", got, want);
}

/* Weeks of remission under 6-MP; false: censored. */
static const struct sh_surv_obs six_mp[] = {
	{6, true},   {6, true},   {6, true},   {6, false},  {7, true},   {9, false},  {10, true},
	{10, false}, {11, false}, {13, true},  {16, true},  {17, false}, {19, false}, {20, false},
	{22, true},  {23, true},  {25, false}, {32, false}, {32, false}, {34, false}, {35, false},
};

static void test_six_mp(void **state)
{
	(void)state;
	struct sh_surv_obs obs[N(six_mp)];
	/* reversed, so the fit has to sort */
	for (size_t i = 0; i < N(six_mp); i++)
		obs[i] = six_mp[N(six_mp) - 1 - i];
	struct sh_km km;
	assert_int_equal(sh_km_fit(obs, N(obs), &km), 0);
	assert_int_equal(km.n, 21);
	assert_int_equal(km.events, 9);
	assert_int_equal(km.n_points, 7);
	/* R: survfit(Surv(time, status) ~ 1, conf.type = "log-log") */
	static const double want[][4] = {
		{6, 0.857142857, 0.619717955, 0.951551748},  {7, 0.806722689, 0.563146565, 0.922809019},
		{10, 0.752941176, 0.503199511, 0.889361835}, {13, 0.690196078, 0.431610222, 0.849065963},
		{16, 0.627450980, 0.367510856, 0.804912189}, {22, 0.537815126, 0.267778937, 0.746790718},
		{23, 0.448179272, 0.188052006, 0.680142628},
	};
	static const size_t at_risk[] = {21, 17, 15, 12, 11, 7, 6};
	for (size_t i = 0; i < N(want); i++) {
		near(km.points[i].t, want[i][0], 0);
		near(km.points[i].s, want[i][1], 1e-8);
		near(km.points[i].lo, want[i][2], 1e-8);
		near(km.points[i].hi, want[i][3], 1e-8);
		assert_int_equal(km.points[i].at_risk, at_risk[i]);
	}
	assert_int_equal(km.points[0].events, 3);
	double q, lo, hi;
	sh_km_quantile(&km, 0.5, &q, &lo, &hi);
	near(q, 23, 0);
	near(lo, 13, 0);
	near(hi, SH_SURV_NONE, 0); /* the upper band never reaches 0.5 */
	sh_km_quantile(&km, 0.25, &q, &lo, &hi);
	near(q, 13, 0);
	near(sh_km_at(&km, 0), 1, 0);
	near(sh_km_at(&km, 5.99), 1, 0);
	near(sh_km_at(&km, 6), 0.857142857, 1e-8);
	near(sh_km_at(&km, 22.5), 0.537815126, 1e-8);
	near(sh_km_at(&km, 100), 0.448179272, 1e-8);
	/* area under the steps up to 10: 6 + 0.857 * 1 + 0.807 * 3 */
	near(sh_km_rmst(&km, 10), 6 + 0.857142857 + 3 * 0.806722689, 1e-8);
	near(sh_km_rmst(&km, 3), 3, 1e-12);
	sh_km_fini(&km);
}

static void test_degenerate(void **state)
{
	(void)state;
	struct sh_km km;
	double q, lo, hi;
	/* nothing at all */
	assert_int_equal(sh_km_fit(NULL, 0, &km), 0);
	assert_int_equal(km.n_points, 0);
	sh_km_quantile(&km, 0.5, &q, &lo, &hi);
	near(q, SH_SURV_NONE, 0);
	near(lo, SH_SURV_NONE, 0);
	near(sh_km_at(&km, 5), 1, 0);
	near(sh_km_rmst(&km, 4), 4, 0);
	sh_km_fini(&km);

	/* everybody censored: the curve stays at 1, no median */
	struct sh_surv_obs cens[] = {{3, false}, {1, false}, {2, false}};
	assert_int_equal(sh_km_fit(cens, N(cens), &km), 0);
	assert_int_equal(km.events, 0);
	assert_int_equal(km.n_points, 0);
	near(cens[0].t, 1, 0); /* sorted in place even so */
	sh_km_quantile(&km, 0.5, &q, &lo, &hi);
	near(q, SH_SURV_NONE, 0);
	sh_km_fini(&km);

	/* one subject, one event: S drops to 0, the band collapses, no NaN */
	struct sh_surv_obs one[] = {{6, true}};
	assert_int_equal(sh_km_fit(one, 1, &km), 0);
	assert_int_equal(km.n_points, 1);
	near(km.points[0].s, 0, 0);
	near(km.points[0].lo, 0, 0);
	near(km.points[0].hi, 0, 0);
	sh_km_quantile(&km, 0.5, &q, &lo, &hi);
	near(q, 6, 0);
	near(lo, 6, 0);
	near(hi, 6, 0);
	sh_km_fini(&km);

	/* all events at the same time zero */
	struct sh_surv_obs zero[] = {{0, true}, {0, true}, {0, false}};
	assert_int_equal(sh_km_fit(zero, N(zero), &km), 0);
	assert_int_equal(km.n_points, 1);
	near(km.points[0].s, 1.0 / 3, 1e-12);
	assert_false(isnan(km.points[0].lo) || isnan(km.points[0].hi));
	sh_km_fini(&km);

	/* bad times */
	struct sh_surv_obs neg[] = {{1, true}, {-1, true}};
	assert_int_equal(sh_km_fit(neg, N(neg), &km), SH_EINVAL);
	struct sh_surv_obs nan_t[] = {{NAN, true}};
	assert_int_equal(sh_km_fit(nan_t, 1, &km), SH_EINVAL);
	struct sh_surv_obs inf_t[] = {{INFINITY, false}};
	assert_int_equal(sh_km_fit(inf_t, 1, &km), SH_EINVAL);
}

/* Censored at the same time as events: still at risk at that time. */
static void test_ties(void **state)
{
	(void)state;
	struct sh_surv_obs obs[] = {{5, false}, {5, true}, {5, true}, {8, true}, {9, false}};
	struct sh_km km;
	assert_int_equal(sh_km_fit(obs, N(obs), &km), 0);
	assert_int_equal(km.n_points, 2);
	near(km.points[0].s, 3.0 / 5, 1e-12);
	assert_int_equal(km.points[0].at_risk, 5);
	assert_int_equal(km.points[1].at_risk, 2);
	near(km.points[1].s, 3.0 / 5 * 1.0 / 2, 1e-12);
	sh_km_fini(&km);
}

static void test_hist(void **state)
{
	(void)state;
	const double edges[] = {0, 1, 6, 24, 168};
	const double v[] = {0, 0.5, 1, 5.9, 6, 23.99, 24, 200, -1, NAN, 167.9};
	size_t counts[N(edges) - 1] = {99, 99, 99, 99};
	sh_hist(v, N(v), edges, N(edges), counts);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 2);
	assert_int_equal(counts[2], 2);
	assert_int_equal(counts[3], 2);
	sh_hist(v, 0, edges, N(edges), counts);
	assert_int_equal(counts[0] + counts[1] + counts[2] + counts[3], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_six_mp),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_hist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
