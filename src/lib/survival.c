/* Kaplan-Meier survival curves with Greenwood variance and log-log confidence bands.
 *
 * At each distinct event time t with n subjects at risk (time >= t) and d events, S drops by
 * the factor 1 - d/n; subjects censored at t count as at risk at t (the usual convention:
 * censoring happens just after events at the same time). Greenwood's sum V = sum d/(n(n-d))
 * estimates Var(log S). The band comes from the log-log transform, which keeps it inside
 * [0, 1]: se = sqrt(V) / |log S|, lo = S^exp(z se), hi = S^exp(-z se) (Kalbfleisch and
 * Prentice; R's survfit conf.type = "log-log"). */
#include "lib/survival.h"

#include <math.h>
#include <stdlib.h>

#define Z95 1.959963984540054
/* S values within this of a target count as reaching it (sums of products of ratios). */
#define EPS 1e-12

static int cmp_obs(const void *a, const void *b)
{
	const struct sh_surv_obs *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (int)y->event - (int)x->event;
}

static void band(double s, double greenwood, double *lo, double *hi)
{
	if (s <= 0) {
		*lo = *hi = 0;
		return;
	}
	if (s >= 1 || greenwood <= 0) {
		*lo = *hi = s;
		return;
	}
	double se = sqrt(greenwood) / fabs(log(s));
	*lo = pow(s, exp(Z95 * se));
	*hi = pow(s, exp(-Z95 * se));
}

int sh_km_fit(struct sh_surv_obs *obs, size_t n, struct sh_km *out)
{
	out->n = n;
	out->events = 0;
	out->n_points = 0;
	out->points = NULL;
	size_t distinct = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(obs[i].t) || obs[i].t < 0)
			return SH_EINVAL;
		out->events += obs[i].event;
	}
	if (n > 1)
		qsort(obs, n, sizeof(*obs), cmp_obs);
	if (!out->events)
		return 0;
	for (size_t i = 0; i < n; i++)
		distinct += obs[i].event && (i == 0 || obs[i].t != obs[i - 1].t || !obs[i - 1].event);
	out->points = malloc(distinct * sizeof(*out->points));
	if (!out->points)
		return SH_ENOMEM;
	double s = 1, greenwood = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, d = 0;
		while (j < n && obs[j].t == obs[i].t)
			d += obs[j++].event;
		if (d) {
			size_t at_risk = n - i;
			s *= 1.0 - (double)d / (double)at_risk;
			if (at_risk > d)
				greenwood += (double)d / ((double)at_risk * (double)(at_risk - d));
			else
				s = 0;
			struct sh_km_point *p = &out->points[out->n_points++];
			p->t = obs[i].t;
			p->s = s;
			p->at_risk = at_risk;
			p->events = d;
			band(s, greenwood, &p->lo, &p->hi);
		}
		i = j;
	}
	return 0;
}

void sh_km_fini(struct sh_km *km)
{
	free(km->points);
	km->points = NULL;
	km->n_points = 0;
}

double sh_km_at(const struct sh_km *km, double t)
{
	/* Last point with p.t <= t. */
	size_t lo = 0, hi = km->n_points;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (km->points[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? km->points[lo - 1].s : 1.0;
}

void sh_km_quantile(const struct sh_km *km, double p, double *q, double *lo, double *hi)
{
	double target = 1.0 - p;
	*q = *lo = *hi = SH_SURV_NONE;
	for (size_t i = 0; i < km->n_points; i++) {
		const struct sh_km_point *pt = &km->points[i];
		if (*q < 0 && pt->s <= target + EPS)
			*q = pt->t;
		if (*lo < 0 && pt->lo <= target + EPS)
			*lo = pt->t;
		if (*hi < 0 && pt->hi <= target + EPS) {
			*hi = pt->t;
			break;
		}
	}
}

double sh_km_rmst(const struct sh_km *km, double horizon)
{
	double area = 0, s = 1, t0 = 0;
	for (size_t i = 0; i < km->n_points && km->points[i].t < horizon; i++) {
		area += s * (km->points[i].t - t0);
		t0 = km->points[i].t;
		s = km->points[i].s;
	}
	return horizon > t0 ? area + s * (horizon - t0) : area;
}

void sh_hist(const double *v, size_t n, const double *edges, size_t n_edges, size_t *counts)
{
	if (n_edges < 2)
		return;
	for (size_t i = 0; i + 1 < n_edges; i++)
		counts[i] = 0;
	for (size_t j = 0; j < n; j++) {
		if (!(v[j] >= edges[0]) || !(v[j] < edges[n_edges - 1]))
			continue;
		size_t lo = 0, hi = n_edges - 1; /* last edge <= v[j] */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (edges[mid] <= v[j])
				lo = mid;
			else
				hi = mid;
		}
		counts[lo]++;
	}
}
