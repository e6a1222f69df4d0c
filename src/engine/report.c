/* The standalone HTML report: one file with inline CSS and hand-written SVG, no script and
 * nothing fetched, so it opens anywhere (a mail attachment, an air-gapped analyst desk).
 * Every text that comes from data (org names, keys, reasons) is escaped. */
#include "engine/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/timefmt.h"

#define W 960        /* chart width */
#define MAX_CURVES 6 /* worst networks drawn against all */

static const char *const palette[] = {"#b2182b", "#ef8a62", "#2166ac", "#1b7837", "#762a83",
				      "#e08214"};

static const char *verdict_color(enum sh_verdict v)
{
	switch (v) {
	case SH_VERDICT_BPH:
		return "#b2182b";
	case SH_VERDICT_SUSPICIOUS:
		return "#ef8a62";
	case SH_VERDICT_ABUSED:
		return "#9e9e9e";
	case SH_VERDICT_CLEAN:
		break;
	}
	return "#67a9cf";
}

/* XML-escaped text; control characters become spaces. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
		}
	}
}

/* At most n bytes of s, cut at a UTF-8 character boundary, with "..." when cut. */
static void esc_cut(FILE *f, const char *s, size_t n)
{
	size_t len = strlen(s);
	if (len <= n) {
		esc(f, s);
		return;
	}
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	char buf[256];
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	esc(f, buf);
	fputs("...", f);
}

static const char *hours(double h, char *buf, size_t len)
{
	return h < 0 ? "-" : sh_score_duration(h, buf, len);
}

/* The network's label: key, then org and country when the key is not already one of them. */
static void net_label(FILE *f, const struct sh_intel *in, const struct sh_intel_net *n, size_t max)
{
	char buf[320];
	if (in->by == SH_INTEL_ORG || in->by == SH_INTEL_COUNTRY || !n->org[0])
		snprintf(buf, sizeof(buf), "%s", n->key);
	else
		snprintf(buf, sizeof(buf), "%s %s", n->key, n->org);
	esc_cut(f, buf, max);
}

static void svg_open(FILE *f, const char *id, int h, const char *title)
{
	fprintf(f, "<figure><svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>",
		id, W, h, W, h);
	esc(f, title);
	fputs("</title>\n", f);
}

static void svg_close(FILE *f, const char *caption)
{
	fputs("</svg><figcaption>", f);
	esc(f, caption);
	fputs("</figcaption></figure>\n", f);
}

/* ---- top networks -------------------------------------------------------------------------- */

static void chart_top(FILE *f, const struct sh_intel *in, size_t top)
{
	size_t n = in->n_nets < top ? in->n_nets : top;
	int row = 22, left = 330, right = 250, h = 40 + (int)n * row + 30;
	svg_open(f, "chart-top", h, "Top networks by BPH score");
	double x0 = left, span = W - left - right;
	for (int s = 0; s <= 100; s += 20) {
		double x = x0 + span * s / 100.0;
		fprintf(f, "<line x1=\"%.1f\" y1=\"30\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>"
			   "<text x=\"%.1f\" y=\"22\" class=\"tick\" text-anchor=\"middle\">%d</text>\n",
			x, x, h - 25, x, s);
	}
	for (size_t i = 0; i < n; i++) {
		const struct sh_intel_net *net = &in->nets[i];
		double y = 36 + (double)i * row, w = span * net->score.score / 100.0;
		char td[32];
		fprintf(f, "<g><title>");
		net_label(f, in, net, 200);
		fprintf(f, ": %s, score %.1f, %s\n", sh_verdict_name(net->score.verdict),
			net->score.score, sh_net_kind_name(net->score.kind));
		for (size_t r = 0; r < net->score.n_reasons; r++) {
			esc(f, net->score.reasons[r]);
			fputc('\n', f);
		}
		fprintf(f, "</title><text x=\"%d\" y=\"%.1f\" class=\"label\" text-anchor=\"end\">",
			left - 8, y + 13);
		net_label(f, in, net, 44);
		fprintf(f, "</text><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
			   "fill=\"%s\" class=\"bar\"/>",
			x0, y, w > 1 ? w : 1, row - 6, verdict_color(net->score.verdict));
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"note\">%s %.0f &#183; %lu ind. "
			   "&#183; takedown %s &#183; %s</text></g>\n",
			x0 + w + 6, y + 13, sh_verdict_name(net->score.verdict), net->score.score,
			net->total, hours(net->takedown.median_h, td, sizeof(td)),
			sh_net_kind_name(net->score.kind));
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"axis\" text-anchor=\"middle\">BPH score "
		   "(0-100); colour: verdict</text>\n",
		x0 + span / 2, h - 6);
	svg_close(f, "The networks whose abuse survives longest, densest and on hosting space "
		     "rank first. Hover a bar for the reasons.");
}

/* ---- survival curves ---------------------------------------------------------------------- */

#define SX0 70
#define SY0 30
#define SW (W - 340)
#define SH 300

static double sx(double hours_)
{
	double lo = 0, hi = log10(8760);
	double v = hours_ < 1 ? 0 : log10(hours_);
	if (v > hi)
		v = hi;
	return SX0 + SW * (v - lo) / (hi - lo);
}

static double sy(double s)
{
	return SY0 + SH * (1 - s);
}

/* A Kaplan-Meier step line from t = 1 h (earlier steps drawn at 1 h) to the last point. */
static void km_path(FILE *f, const struct sh_km *km, const char *color, double width,
		    const char *dash)
{
	fprintf(f, "<path d=\"M%.1f,%.1f", sx(1), sy(1));
	for (size_t i = 0; i < km->n_points && km->points[i].t <= 8760; i++)
		fprintf(f, " H%.1f V%.1f", sx(km->points[i].t), sy(km->points[i].s));
	fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s%s%s/>\n", color, width,
		dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
}

static int chart_survival(FILE *f, const struct sh_intel *in, size_t top)
{
	svg_open(f, "chart-survival", SY0 + SH + 60, "Time to takedown: worst networks against all");
	static const struct {
		double h;
		const char *label;
	} ticks[] = {{1, "1 h"}, {6, "6 h"}, {24, "1 d"}, {72, "3 d"}, {168, "1 w"}, {720, "30 d"},
		     {2160, "90 d"}, {8760, "1 y"}};
	for (size_t i = 0; i < sizeof(ticks) / sizeof(ticks[0]); i++)
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/><text "
			   "x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>\n",
			sx(ticks[i].h), SY0, sx(ticks[i].h), SY0 + SH, sx(ticks[i].h), SY0 + SH + 16,
			ticks[i].label);
	for (int k = 0; k <= 4; k++)
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/><text "
			   "x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%d%%</text>\n",
			SX0, sy(k / 4.0), SX0 + SW, sy(k / 4.0), SX0 - 6, sy(k / 4.0) + 4, k * 25);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"middle\">time since first "
		   "seen (log scale)</text><text x=\"14\" y=\"%d\" class=\"axis\" "
		   "transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">still listed</text>\n",
		SX0 + SW / 2, SY0 + SH + 40, SY0 + SH / 2, SY0 + SH / 2);
	struct sh_km km;
	int rc = sh_intel_curve(in, SIZE_MAX, SH_CURVE_TAKEDOWN, &km);
	if (rc != 0)
		return rc;
	/* band of the overall curve */
	if (km.n_points) {
		fprintf(f, "<path class=\"band\" d=\"M%.1f,%.1f", sx(1), sy(1));
		for (size_t i = 0; i < km.n_points && km.points[i].t <= 8760; i++)
			fprintf(f, " H%.1f V%.1f", sx(km.points[i].t), sy(km.points[i].hi));
		for (size_t i = km.n_points; i-- > 0;) {
			if (km.points[i].t > 8760)
				continue;
			fprintf(f, " L%.1f,%.1f H%.1f", sx(km.points[i].t), sy(km.points[i].lo),
				sx(i ? km.points[i - 1].t : 1));
		}
		fputs(" Z\"/>\n", f);
	}
	km_path(f, &km, "#111", 3, NULL);
	double ly = SY0 + 10;
	char m[32];
	double q, lo, hi;
	sh_km_quantile(&km, 0.5, &q, &lo, &hi);
	fprintf(f, "<g class=\"legend\"><line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
		   "stroke=\"#111\" stroke-width=\"3\"/><text x=\"%d\" y=\"%.1f\">all (n=%zu, "
		   "median %s)</text></g>\n",
		SX0 + SW + 12, ly, SX0 + SW + 36, ly, SX0 + SW + 42, ly + 4, km.n,
		hours(q, m, sizeof(m)));
	sh_km_fini(&km);
	size_t drawn = 0;
	for (size_t i = 0; i < in->n_nets && i < top && drawn < MAX_CURVES; i++) {
		const struct sh_intel_net *n = &in->nets[i];
		if (n->subjects < 3)
			continue;
		if ((rc = sh_intel_curve(in, i, SH_CURVE_TAKEDOWN, &km)) != 0)
			return rc;
		const char *color = palette[drawn % (sizeof(palette) / sizeof(palette[0]))];
		km_path(f, &km, color, 2, drawn % 2 ? "6 3" : NULL);
		ly += drawn ? 32 : 24;
		fprintf(f, "<g class=\"legend\"><line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			   "stroke=\"%s\" stroke-width=\"2\"%s/><text x=\"%d\" y=\"%.1f\">",
			SX0 + SW + 12, ly, SX0 + SW + 36, ly, color,
			drawn % 2 ? " stroke-dasharray=\"6 3\"" : "", SX0 + SW + 42, ly + 4);
		esc_cut(f, n->key, 24);
		fprintf(f, " (n=%zu, %s)</text><text x=\"%d\" y=\"%.1f\" class=\"note\">", km.n,
			hours(n->takedown.median_h, m, sizeof(m)), SX0 + SW + 42, ly + 17);
		esc_cut(f, in->by == SH_INTEL_ASN || in->by == SH_INTEL_PREFIX ? n->org : "", 34);
		fputs("</text></g>\n", f);
		sh_km_fini(&km);
		drawn++;
	}
	svg_close(f, "Kaplan-Meier survival of the time to takedown: the share of indicators still "
		     "listed after a given time. Indicators still online at the end of the data are "
		     "censored; the grey band is the 95% confidence band of the overall curve. The "
		     "networks are the highest-scoring ones with at least 3 indicators followed.");
	return 0;
}

/* ---- lifetime histogram ------------------------------------------------------------------- */

static int chart_lifetimes(FILE *f, const struct sh_intel *in)
{
	static const double edges[] = {0, 1, 6, 12, 24, 48, 96, 168, 336, 720, 2160, INFINITY};
	static const char *const labels[] = {"<1 h", "1-6 h",  "6-12 h", "12-24 h", "1-2 d", "2-4 d",
					     "4-7 d", "1-2 w", "2-4 w",  "1-3 mo",  ">3 mo"};
	enum { NB = sizeof(labels) / sizeof(labels[0]) };
	struct sh_surv_obs *v;
	size_t n;
	int rc = sh_intel_obs(in, SIZE_MAX, SH_CURVE_LIFETIME, &v, &n);
	if (rc != 0)
		return rc;
	size_t ended[NB] = {0}, cens[NB] = {0}, max = 1;
	for (size_t i = 0; i < n; i++) {
		size_t b = 0;
		while (b + 1 < NB && v[i].t >= edges[b + 1])
			b++;
		if (v[i].event)
			ended[b]++;
		else
			cens[b]++;
	}
	free(v);
	for (size_t b = 0; b < NB; b++)
		if (ended[b] + cens[b] > max)
			max = ended[b] + cens[b];
	int h = 320, x0 = 70, y0 = 30, ph = 230, bw = (W - x0 - 40) / NB;
	svg_open(f, "chart-lifetimes", h, "Lifetime histogram");
	for (int k = 0; k <= 4; k++) {
		double y = y0 + ph - ph * k / 4.0;
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/><text "
			   "x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%.0f</text>\n",
			x0, y, x0 + bw * NB, y, x0 - 6, y + 4, (double)max * k / 4.0);
	}
	for (size_t b = 0; b < NB; b++) {
		double he = ph * (double)ended[b] / (double)max, hc = ph * (double)cens[b] / (double)max;
		double x = x0 + (double)(b * (size_t)bw) + 4;
		fprintf(f, "<g><title>%s: %zu ended, %zu censored (still up or end unknown)</title>"
			   "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"#2166ac\" "
			   "class=\"bar\"/><rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
			   "fill=\"#92c5de\" class=\"bar\"/></g><text x=\"%.1f\" y=\"%d\" class=\"tick\" "
			   "text-anchor=\"middle\">%s</text>\n",
			labels[b], ended[b], cens[b], x, y0 + ph - he, bw - 8, he, x, y0 + ph - he - hc,
			bw - 8, hc, x + (bw - 8) / 2.0, y0 + ph + 16, labels[b]);
	}
	fprintf(f, "<g class=\"legend\"><rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" "
		   "fill=\"#2166ac\"/><text x=\"%d\" y=\"%d\">ended</text><rect x=\"%d\" y=\"%d\" "
		   "width=\"14\" height=\"10\" fill=\"#92c5de\"/><text x=\"%d\" y=\"%d\">censored</text>"
		   "</g><text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"middle\">lifetime: first "
		   "seen to the end of the last run</text>\n",
		W - 230, y0, W - 212, y0 + 9, W - 140, y0, W - 122, y0 + 9, x0 + bw * NB / 2,
		y0 + ph + 40);
	svg_close(f, "Lifetimes of the indicators followed from their first sighting.");
	return 0;
}

/* ---- one-day share over time --------------------------------------------------------------- */

static void chart_one_day(FILE *f, const struct sh_intel *in)
{
	const struct sh_intel_summary *a = &in->all;
	size_t nm = a->n_months;
	int h = 320, x0 = 70, y0 = 30, ph = 230, pw = W - x0 - 80;
	svg_open(f, "chart-oneday", h, "One-day-wonder share over time");
	unsigned long max = 1;
	for (size_t i = 0; i < nm; i++)
		if (a->monthly_new[i] > max)
			max = a->monthly_new[i];
	for (int k = 0; k <= 4; k++) {
		double y = y0 + ph - ph * k / 4.0;
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/><text "
			   "x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%d%%</text><text "
			   "x=\"%d\" y=\"%.1f\" class=\"tick\">%.0f</text>\n",
			x0, y, x0 + pw, y, x0 - 6, y + 4, k * 25, x0 + pw + 6, y + 4,
			(double)max * k / 4.0);
	}
	double bw = nm ? (double)pw / (double)nm : pw;
	char month[SH_TIME_STRLEN];
	for (size_t i = 0; i < nm; i++) {
		double bh = ph * (double)a->monthly_new[i] / (double)max;
		/* month i: a day in the middle of it, formatted */
		sh_time_format(a->month0 + (int64_t)i * 2629746 + 1296000, month);
		month[7] = '\0';
		fprintf(f, "<g><title>%s: %lu new, %lu of %lu with a known fate were one-day "
			   "wonders</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			   "fill=\"#d9d9d9\" class=\"bar\"/></g>",
			month, a->monthly_new[i], a->monthly_one_day[i], a->monthly_one_day_known[i],
			x0 + bw * (double)i + 1, y0 + ph - bh, bw - 2, bh);
		if (nm <= 24 || i % 3 == 0)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s"
				   "</text>",
				x0 + bw * ((double)i + 0.5), y0 + ph + 16, month);
		fputc('\n', f);
	}
	fputs("<path class=\"line\" d=\"", f);
	bool first = true;
	for (size_t i = 0; i < nm; i++) {
		if (!a->monthly_one_day_known[i])
			continue;
		double share = (double)a->monthly_one_day[i] / (double)a->monthly_one_day_known[i];
		fprintf(f, "%s%.1f,%.1f", first ? "M" : " L", x0 + bw * ((double)i + 0.5),
			y0 + ph * (1 - share));
		first = false;
	}
	fputs("\" fill=\"none\" stroke=\"#b2182b\" stroke-width=\"2.5\"/>\n", f);
	for (size_t i = 0; i < nm; i++) {
		if (!a->monthly_one_day_known[i])
			continue;
		double share = (double)a->monthly_one_day[i] / (double)a->monthly_one_day_known[i];
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#b2182b\"><title>%.0f%%"
			   "</title></circle>\n",
			x0 + bw * ((double)i + 0.5), y0 + ph * (1 - share), share * 100);
	}
	fprintf(f, "<text x=\"14\" y=\"%d\" class=\"axis\" transform=\"rotate(-90 14 %d)\" "
		   "text-anchor=\"middle\">one-day wonders (line)</text><text x=\"%d\" y=\"%d\" "
		   "class=\"axis\" transform=\"rotate(90 %d %d)\" text-anchor=\"middle\">new "
		   "indicators (bars)</text>\n",
		y0 + ph / 2, y0 + ph / 2, W - 14, y0 + ph / 2, W - 14, y0 + ph / 2);
	svg_close(f, "Per month of first sighting: new indicators (bars) and the share of those with "
		     "a known fate that were one-day wonders (line).");
}

/* ---- countries ---------------------------------------------------------------------------- */

static int cmp_total(const void *a, const void *b)
{
	const struct sh_intel_net *x = *(const struct sh_intel_net *const *)a;
	const struct sh_intel_net *y = *(const struct sh_intel_net *const *)b;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int chart_countries(FILE *f, const struct sh_intel *c, double overall_td)
{
	size_t n = c->n_nets < 15 ? c->n_nets : 15;
	const struct sh_intel_net **v = malloc((c->n_nets ? c->n_nets : 1) * sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	for (size_t i = 0; i < c->n_nets; i++)
		v[i] = &c->nets[i];
	if (c->n_nets > 1)
		qsort(v, c->n_nets, sizeof(*v), cmp_total);
	unsigned long max = 1;
	for (size_t i = 0; i < n; i++)
		if (v[i]->total > max)
			max = v[i]->total;
	int row = 22, left = 60, right = 330, h = 40 + (int)n * row + 30;
	double span = W - left - right;
	if (!n)
		h = 60;
	svg_open(f, "chart-countries", h, "Countries");
	if (!n)
		fprintf(f, "<text x=\"%d\" y=\"30\" class=\"note\">No indicator has a country: "
			   "import a country table (sheriff asmap import).</text>\n",
			left);
	for (size_t i = 0; i < n; i++) {
		const struct sh_intel_net *net = v[i];
		double y = 30 + (double)i * row, w = span * (double)net->total / (double)max;
		double r = net->takedown.median_h > 0 && overall_td > 0
				   ? net->takedown.median_h / overall_td
				   : 1;
		/* redder where abuse lives longer than overall */
		const char *color = r >= 4 ? "#b2182b" : r >= 2 ? "#ef8a62" : r >= 1 ? "#fddbc7"
										  : "#92c5de";
		char td[32], lt[32];
		fprintf(f, "<g><title>");
		esc(f, net->key);
		fprintf(f, ": %lu indicators, %lu online now, median takedown %s</title>"
			   "<text x=\"%d\" y=\"%.1f\" class=\"label\" text-anchor=\"end\">",
			net->total, net->active, hours(net->takedown.median_h, td, sizeof(td)), left - 8,
			y + 13);
		esc(f, net->key);
		fprintf(f, "</text><rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
			   "stroke=\"#777\" stroke-width=\"0.5\" class=\"bar\"/><text x=\"%.1f\" "
			   "y=\"%.1f\" class=\"note\">%lu &#183; takedown %s &#183; lifetime %s &#183; "
			   "%.0f%% one-day</text></g>\n",
			left, y, w > 1 ? w : 1, row - 6, color, left + w + 6, y + 13, net->total,
			hours(net->takedown.median_h, td, sizeof(td)),
			hours(net->lifetime.median_h, lt, sizeof(lt)),
			net->one_day_share >= 0 ? net->one_day_share * 100 : 0);
	}
	free(v);
	svg_close(f, "Indicators per country (bars); colour: median takedown against the overall "
		     "median (dark red: 4x or longer, orange: 2x, pale: about the same, blue: faster).");
	return 0;
}

/* ---- page --------------------------------------------------------------------------------- */

static void table(FILE *f, const struct sh_intel *in, size_t top)
{
	fprintf(f, "<table><thead><tr><th>#</th><th>%s</th><th>org / country</th><th>kind</th>"
		   "<th>verdict</th><th>score</th><th>indicators</th><th>active</th><th>density "
		   "/24</th><th>median takedown [95%% CI]</th><th>median lifetime</th><th>one-day"
		   "</th><th>reasons</th></tr></thead><tbody>\n",
		sh_intel_by_name(in->by));
	size_t n = in->n_nets < top ? in->n_nets : top;
	for (size_t i = 0; i < n; i++) {
		const struct sh_intel_net *x = &in->nets[i];
		char a[32], b[32], c[32], d[32];
		fprintf(f, "<tr><td>%zu</td><td>", i + 1);
		esc(f, x->key);
		fputs("</td><td>", f);
		esc_cut(f, x->org[0] ? x->org : x->country, 60);
		if (x->org[0] && x->country[0]) {
			fputs(" (", f);
			esc(f, x->country);
			fputc(')', f);
		}
		fprintf(f, "</td><td>%s</td><td><span class=\"v\" style=\"background:%s\">%s</span>"
			   "</td><td>%.1f</td><td>%lu</td><td>%lu</td><td>%.3g</td><td>%s [%s, %s]</td>"
			   "<td>%s</td><td>",
			sh_net_kind_name(x->score.kind), verdict_color(x->score.verdict),
			sh_verdict_name(x->score.verdict), x->score.score, x->total, x->active,
			x->score.density >= 0 ? x->score.density : 0,
			hours(x->takedown.median_h, a, sizeof(a)), hours(x->takedown.lo_h, b, sizeof(b)),
			hours(x->takedown.hi_h, c, sizeof(c)), hours(x->lifetime.median_h, d, sizeof(d)));
		if (x->one_day_share >= 0)
			fprintf(f, "%.0f%%", x->one_day_share * 100);
		else
			fputc('-', f);
		fputs("</td><td class=\"r\">", f);
		for (size_t r = 0; r < x->score.n_reasons; r++) {
			if (r)
				fputs("; ", f);
			esc(f, x->score.reasons[r]);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static const char css[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;margin:24px "
	"auto;max-width:1000px;padding:0 16px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;"
	"margin:32px 0 8px;border-bottom:1px solid #ddd}.sub{color:#666}.kpi{display:flex;"
	"flex-wrap:wrap;gap:12px;margin:16px 0}.kpi div{background:#f5f5f5;border-radius:6px;"
	"padding:8px 12px}.kpi b{display:block;font-size:20px}figure{margin:0}figcaption{color:#555;"
	"font-size:12px;margin:4px 0 0}svg.chart{max-width:100%;height:auto;font:12px system-ui,"
	"sans-serif}.grid{stroke:#e5e5e5}.tick{fill:#666;font-size:11px}.axis{fill:#444;"
	"font-size:12px}.label{fill:#222;font-size:12px}.note{fill:#555;font-size:11px}.legend "
	"text{fill:#222;font-size:12px}.band{fill:#bbb;opacity:.45}table{border-collapse:collapse;"
	"font-size:12px;width:100%}th,td{border-bottom:1px solid #eee;padding:3px 5px;text-align:"
	"left;vertical-align:top}td.r{color:#444;font-size:11px}.v{color:#fff;padding:1px 5px;"
	"border-radius:3px}";

int sh_report_write(FILE *f, const struct sh_intel *in, const struct sh_intel *countries,
		    const struct sh_report_opts *o)
{
	size_t top = o && o->top ? o->top : 20;
	const char *title = o && o->title ? o->title : "sheriff network report";
	const struct sh_intel_summary *a = &in->all;
	char t1[SH_TIME_STRLEN], t2[SH_TIME_STRLEN], m1[32], m2[32], m3[32], m4[32];
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
	esc(f, title);
	fprintf(f, "</title><meta name=\"viewport\" content=\"width=device-width\"><style>%s</style>"
		   "</head><body>\n<h1>",
		css);
	esc(f, title);
	fprintf(f, "</h1><p class=\"sub\">Data from %s to %s",
		a->start == SH_TIME_NONE ? "-" : (sh_time_format(a->start, t1), t1),
		a->end == SH_TIME_NONE ? "-" : (sh_time_format(a->end, t2), t2));
	if (o && o->generated != SH_TIME_NONE) {
		sh_time_format(o->generated, t1);
		fprintf(f, "; generated %s", t1);
	}
	fprintf(f, "; networks by %s. Method: docs/method.md.</p>\n", sh_intel_by_name(in->by));
	unsigned long verdicts[4] = {0};
	for (size_t i = 0; i < in->n_nets; i++)
		verdicts[in->nets[i].score.verdict]++;
	fprintf(f, "<div class=\"kpi\"><div><b>%lu</b>indicators</div><div><b>%lu</b>online now"
		   "</div><div><b>%lu</b>attributed to %zu networks</div><div><b>%s</b>median "
		   "takedown [%s, %s]</div><div><b>%s</b>median lifetime</div>",
		a->indicators, a->active, a->attributed, in->n_nets,
		hours(a->takedown.median_h, m1, sizeof(m1)), hours(a->takedown.lo_h, m2, sizeof(m2)),
		hours(a->takedown.hi_h, m3, sizeof(m3)), hours(a->lifetime.median_h, m4, sizeof(m4)));
	if (a->one_day_share >= 0)
		fprintf(f, "<div><b>%.0f%%</b>one-day wonders</div>", a->one_day_share * 100);
	fprintf(f, "<div><b>%lu / %lu</b>bph / suspicious networks</div></div>\n",
		verdicts[SH_VERDICT_BPH], verdicts[SH_VERDICT_SUSPICIOUS]);

	int rc = 0;
	fputs("<h2>Top networks</h2>\n", f);
	chart_top(f, in, top);
	fputs("<h2>How long abuse survives</h2>\n", f);
	rc = chart_survival(f, in, top);
	if (rc == 0) {
		fputs("<h2>Lifetimes</h2>\n", f);
		rc = chart_lifetimes(f, in);
	}
	if (rc == 0) {
		fputs("<h2>One-day wonders over time</h2>\n", f);
		chart_one_day(f, in);
	}
	if (rc == 0 && countries) {
		fputs("<h2>Countries</h2>\n", f);
		rc = chart_countries(f, countries, a->takedown.median_h);
	}
	if (rc == 0) {
		fputs("<h2>Ranking</h2>\n", f);
		table(f, in, top);
		fputs("<p class=\"sub\">Verdicts: bph = hosting network keeping abuse up at least 4x "
		      "longer than overall with a score of 60+; suspicious = score 40+; clean = "
		      "nothing online and nothing new for 30 days; abused = the rest.</p>\n"
		      "</body></html>\n",
		      f);
	}
	if (rc == 0 && (fflush(f) != 0 || ferror(f)))
		rc = SH_EIO;
	return rc;
}
