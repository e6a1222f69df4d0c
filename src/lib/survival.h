/* Survival analysis for lifetimes and takedown times: Kaplan-Meier with right censoring,
 * Greenwood variance, log-log confidence bands, quantiles with confidence intervals, and
 * histograms. Pure computation on numbers. */
#ifndef SH_SURVIVAL_H
#define SH_SURVIVAL_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/* "Not reached" or "undefined" for quantiles and their bounds (never NaN). */
#define SH_SURV_NONE (-1.0)

/* One subject: time to the event (event true) or to censoring (event false). */
struct sh_surv_obs {
	double t;
	bool event;
};

/* The curve just after time t (one point per distinct event time). */
struct sh_km_point {
	double t;
	double s;        /* estimate */
	double lo, hi;   /* pointwise 95% band, log-log transform */
	size_t at_risk;  /* subjects with time >= t */
	size_t events;   /* events at t */
};

struct sh_km {
	size_t n, events;          /* subjects and events */
	size_t n_points;
	struct sh_km_point *points; /* ascending t; owned */
};

/* Fits the curve to obs[0..n) (sorted in place). n may be 0. Negative or non-finite times are
 * SH_EINVAL. Free with sh_km_fini. */
SH_MUST_CHECK int sh_km_fit(struct sh_surv_obs *obs, size_t n, struct sh_km *out);
void sh_km_fini(struct sh_km *km);

/* S(t): 1 before the first event, the step function after. */
double sh_km_at(const struct sh_km *km, double t);

/* The p-quantile of the time to event (p = 0.5: the median): the smallest event time at which
 * S <= 1 - p, and its 95% confidence interval from the pointwise log-log band (the
 * Brookmeyer-Crowley interval: lo where the lower band reaches 1 - p, hi where the upper band
 * does). Each is SH_SURV_NONE when not reached. */
void sh_km_quantile(const struct sh_km *km, double p, double *q, double *lo, double *hi);

/* Restricted mean survival time up to horizon: the area under S on [0, horizon]. */
double sh_km_rmst(const struct sh_km *km, double horizon);

/* counts[i] = number of v[j] with edges[i] <= v[j] < edges[i + 1], for i < n_edges - 1;
 * values outside [edges[0], edges[n_edges - 1]) are ignored. edges ascending. */
void sh_hist(const double *v, size_t n, const double *edges, size_t n_edges, size_t *counts);

#endif
