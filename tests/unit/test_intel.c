/* Unit tests for the intel engine and its store and netdb support: the bulk read against
 * per-indicator reads on real URLhaus snapshots, the observation rules (midpoint of the closing
 * interval, gaps censored, first snapshot not followed, one-day wonders, runs merged across
 * sources), attribution, address space with nested prefixes, and empty stores. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/ingest.h"
#include "engine/intel.h"
#include "engine/netdb.h"
#include "lib/timefmt.h"
#include "netmap/asmap.h"
#include "store/store.h"

#define H 3600
#define NONE SH_TIME_NONE
#define T0 1590969600 /* 2020-06-01T00:00:00Z */

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sheriff-intel-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct sh_store *open_store(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct sh_store *s = NULL;
	assert_int_equal(sh_store_open(path, &s), 0);
	return s;
}

/* ---- the bulk read equals per-indicator reads (real snapshots) ---------------------------- */

struct cmp_ctx {
	struct sh_store *s;
	struct sh_intel_source **sources;
	size_t *n_sources;
	unsigned long seen, with_addr;
};

static int cmp_one(const struct sh_intel_ind *ind, void *arg)
{
	struct cmp_ctx *c = arg;
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_ind_record r;
	assert_int_equal(sh_store_indicator_get(c->s, ind->value, &a, &r), 0);
	assert_int_equal(r.type, ind->type);
	assert_true(r.first_seen == ind->first_seen && r.last_seen == ind->last_seen);
	assert_int_equal(r.online, ind->online);
	assert_int_equal(r.n_sightings, ind->n_sightings);
	for (size_t i = 0; i < ind->n_sightings; i++) {
		const struct sh_intel_sighting *g = &ind->sightings[i];
		assert_true(g->source < *c->n_sources);
		const struct sh_sighting *want = NULL;
		for (size_t j = 0; j < r.n_sightings; j++)
			if (strcmp(r.sightings[j].source, (*c->sources)[g->source].name) == 0)
				want = &r.sightings[j];
		assert_non_null(want);
		assert_true(g->first_seen == want->first_seen && g->last_seen == want->last_seen);
		assert_int_equal(g->online, want->online);
		assert_int_equal(g->n_runs, want->n_runs);
		for (size_t k = 0; k < g->n_runs; k++) {
			assert_true(g->runs[k].start == want->runs[k].start);
			assert_true(g->runs[k].end == want->runs[k].end);
		}
		if (i)
			assert_true(ind->sightings[i - 1].source < g->source);
	}
	c->seen++;
	c->with_addr += ind->has_addr;
	sh_arena_fini(&a);
	return 0;
}

static int stop_at_third(const struct sh_intel_ind *ind, void *arg)
{
	(void)ind;
	unsigned long *calls = arg;
	return ++*calls == 3 ? SH_ECANCELED : 0;
}

static void test_bulk_read(void **state)
{
	(void)state;
	struct sh_store *s = open_store("real.db");
	/* two real snapshots of one full list (given out of order), one incremental feed */
	char *lists[] = {SH_TEST_DATA "/feeds/urlhaus-filter-online_2020-02-07_slice.txt",
			 SH_TEST_DATA "/feeds/urlhaus-filter-online_2019-06-13_head.txt"};
	char *feodo[] = {SH_TEST_DATA "/feeds/feodo_ipblocklist_2024-04-04.csv"};
	struct sh_ingest_opts o = {.source = "urlhaus-filter-online", .at = NONE};
	struct sh_ingest_summary sum;
	assert_int_equal(sh_engine_ingest(s, &o, lists, 2, &sum), 0);
	sh_ingest_summary_fini(&sum);
	o.source = NULL;
	assert_int_equal(sh_engine_ingest(s, &o, feodo, 1, &sum), 0);
	sh_ingest_summary_fini(&sum);
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_intel_source *sources;
	size_t n;
	struct cmp_ctx c = {.s = s, .sources = &sources, .n_sources = &n};
	assert_int_equal(sh_store_foreach_indicator_runs(s, &a, &sources, &n, cmp_one, &c), 0);
	assert_int_equal(n, 2);
	/* urlhaus-filter-online: two snapshots, full list; feodo: one, incremental */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(sources[i].name, "urlhaus-filter-online") == 0) {
			assert_true(sources[i].full_list);
			assert_int_equal(sources[i].n_snapshots, 2);
			assert_true(sources[i].snapshot_t[0] < sources[i].snapshot_t[1]);
		} else {
			assert_false(sources[i].full_list);
			assert_int_equal(sources[i].n_snapshots, 1);
		}
	}
	assert_true(c.seen > 400);
	assert_true(c.with_addr > 30);
	sh_arena_fini(&a);

	/* a callback's non-zero result stops the walk and comes back */
	struct sh_arena b;
	sh_arena_init(&b, 4096);
	unsigned long calls = 0;
	assert_int_equal(sh_store_foreach_indicator_runs(s, &b, &sources, &n, stop_at_third, &calls),
			 SH_ECANCELED);
	assert_int_equal(calls, 3);
	sh_arena_fini(&b);
	sh_store_close(s);
}

/* ---- observation rules -------------------------------------------------------------------- */

static void add(struct sh_ingest *in, const char *v, int64_t fs, int64_t lo, enum sh_status st)
{
	struct sh_indicator ind;
	assert_int_equal(sh_indicator_parse(v, strlen(v), &ind), 0);
	struct sh_feed_item fi = {.ind = &ind, .first_seen = fs, .last_online = lo, .status = st};
	assert_int_equal(sh_ingest_add(in, &fi), 0);
}

/* Snapshots of a full list every 12 h with an 84 h gap between 36 h and 120 h:
 *   A 45.0.0.1  at 12, 24            -> down at 30 (midpoint): 18 h, one-day
 *   B 45.0.1.5  at 12 .. 36          -> absent after the gap: censored at 36 (24 h)
 *   C 60.0.0.9  from 0 (first)       -> already listed: not followed
 *   D 60.0.0.10 at 132               -> down at 138: 6 h, one-day, seen once
 *   E 60.0.0.11 at 144 (last)        -> open: censored at 0 h, fate unknown
 *   F 45.0.0.2  at 12, then 36 .. 144 -> taken down at 18, lifetime censored at 132 h
 *   G 45.0.0.3  at 12 .. 36 in the list, and an incremental feed saying first seen 6, offline
 *               at 60: runs merged, taken down at 60 (54 h after 6)
 *   dom.example at 12 (a domain: followed, never attributed) */
static const int64_t snap_h[] = {0, 12, 24, 36, 120, 132, 144};

static bool listed(const char *v, int64_t h)
{
	if (!strcmp(v, "45.0.0.1"))
		return h == 12 || h == 24;
	if (!strcmp(v, "45.0.1.5") || !strcmp(v, "45.0.0.3"))
		return h >= 12 && h <= 36;
	if (!strcmp(v, "60.0.0.9"))
		return true;
	if (!strcmp(v, "60.0.0.10"))
		return h == 132;
	if (!strcmp(v, "60.0.0.11"))
		return h == 144;
	if (!strcmp(v, "45.0.0.2"))
		return h == 12 || h >= 36;
	if (!strcmp(v, "dom.example"))
		return h == 12;
	return false;
}

static const char *const values[] = {"45.0.0.1",  "45.0.1.5",  "60.0.0.9", "60.0.0.10",
				     "60.0.0.11", "45.0.0.2",  "45.0.0.3", "dom.example"};

static struct sh_store *scenario(const char *name, bool with_tables)
{
	struct sh_store *s = open_store(name);
	struct sh_ingest *in;
	assert_int_equal(sh_ingest_begin(s, "list", "plain", true, &in), 0);
	for (size_t k = 0; k < sizeof(snap_h) / sizeof(snap_h[0]); k++) {
		assert_int_equal(sh_ingest_snapshot_begin(in, T0 + snap_h[k] * H, 1000 + k, "l.txt"), 0);
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
			if (listed(values[i], snap_h[k]))
				add(in, values[i], NONE, NONE, SH_STATUS_UNKNOWN);
		assert_int_equal(sh_ingest_snapshot_end(in, 0), 0);
	}
	struct sh_ingest_stats st;
	assert_int_equal(sh_ingest_commit(in, &st), 0);
	assert_int_equal(sh_ingest_begin(s, "feed", "csv", false, &in), 0);
	assert_int_equal(sh_ingest_snapshot_begin(in, T0 + 70 * H, 77, "f.csv"), 0);
	add(in, "45.0.0.3", T0 + 6 * H, T0 + 60 * H, SH_STATUS_OFFLINE);
	assert_int_equal(sh_ingest_snapshot_end(in, 0), 0);
	assert_int_equal(sh_ingest_commit(in, &st), 0);
	if (!with_tables)
		return s;
	/* 45.0.0.0/22 of AS64500 with a /24 carved out for AS64501; an IPv6 /32 of AS64500 */
	struct sh_asmap_import *im;
	assert_int_equal(sh_asmap_import_begin(s, "ipldb", "t.csv", T0 - 86400, &im), 0);
	struct sh_netrow rows[] = {
		{.asn = 64500, .org = "Example Hosting", .country = "NL"},
		{.asn = 64501, .org = "Carved Out", .country = "DE"},
		{.asn = 64502, .org = "Example Broadband", .country = "FR"},
		{.asn = 64500, .org = "Example Hosting", .country = "NL"},
	};
	const char *pfx[] = {"45.0.0.0/22", "45.0.1.0/24", "60.0.0.0/16", "2a00:1::/32"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(sh_prefix_parse(pfx[i], strlen(pfx[i]), true, &rows[i].prefix), 0);
		assert_int_equal(sh_asmap_import_add(im, &rows[i]), 0);
	}
	unsigned long n;
	assert_int_equal(sh_asmap_import_commit(im, SH_ASMAP_HAS_ASN | SH_ASMAP_HAS_COUNTRY, &n), 0);
	struct sh_prefix hp;
	assert_int_equal(sh_prefix_parse("45.0.0.0/23", 11, true, &hp), 0);
	assert_int_equal(sh_store_hosting_replace(s, "examplehost", &hp, 1), 0);
	return s;
}

static void near(double got, double want)
{
	if (fabs(got - want) > 1e-9)
		fail_msg("got %.6f, want %.6f", got, want);
}

static int cmp_obs(const void *a, const void *b)
{
	const struct sh_surv_obs *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (int)x->event - (int)y->event;
}

static void test_observations(void **state)
{
	(void)state;
	struct sh_store *s = scenario("obs.db", false);
	struct sh_intel *in;
	assert_int_equal(sh_intel_compute(s, SH_INTEL_ALL, &in), 0);
	const struct sh_intel_summary *a = &in->all;
	assert_int_equal(a->indicators, 8);
	assert_int_equal(a->left_censored, 1);
	assert_int_equal(a->subjects, 7);
	assert_int_equal(a->one_day, 3);       /* A, D, dom.example */
	assert_int_equal(a->one_day_known, 6); /* not E */
	near(a->one_day_share, 0.5);
	assert_int_equal(in->n_nets, 0);
	assert_true(a->start == T0 && a->end == T0 + 144 * H);

	/* the observations of A B D E F G dom (C is not a subject), compared in time order */
	struct sh_surv_obs *v;
	size_t n;
	static const struct sh_surv_obs life[] = {{0, false}, {6, true},   {6, true},  {18, true},
						  {24, false}, {54, true}, {132, false}};
	static const struct sh_surv_obs td[] = {{0, false}, {6, true},  {6, true},  {6, true},
						{18, true}, {24, false}, {54, true}};
	for (int w = 0; w < 2; w++) {
		assert_int_equal(sh_intel_obs(in, SIZE_MAX, w ? SH_CURVE_TAKEDOWN : SH_CURVE_LIFETIME,
					      &v, &n),
				 0);
		assert_int_equal(n, 7);
		qsort(v, n, sizeof(*v), cmp_obs);
		for (size_t i = 0; i < n; i++) {
			near(v[i].t, (w ? td : life)[i].t);
			assert_int_equal(v[i].event, (w ? td : life)[i].event);
		}
		free(v);
	}
	/* takedown KM: E censored at 0, then 3 of 6 at risk down at 6 h: S(6) = 0.5 */
	near(a->takedown.median_h, 6);
	assert_int_equal(a->takedown.events, 5);
	struct sh_km km;
	assert_int_equal(sh_intel_curve(in, SIZE_MAX, SH_CURVE_TAKEDOWN, &km), 0);
	near(sh_km_at(&km, 6), 1 - 3.0 / 6);
	sh_km_fini(&km);
	assert_int_equal(sh_intel_curve(in, 5, SH_CURVE_TAKEDOWN, &km), SH_EINVAL);
	sh_intel_free(in);
	sh_store_close(s);
}

struct space_sum {
	double v4, v6;
	int rows;
};

static int add_space(const struct sh_netspace *sp, void *arg)
{
	struct space_sum *sum = arg;
	*(sp->prefix.ip.af == SH_AF_V4 ? &sum->v4 : &sum->v6) += sp->units;
	sum->rows++;
	return 0;
}

static void test_networks(void **state)
{
	(void)state;
	struct sh_store *s = scenario("net.db", true);
	struct sh_intel *in;
	assert_int_equal(sh_intel_compute(s, SH_INTEL_ASN, &in), 0);
	const struct sh_intel_summary *a = &in->all;
	assert_int_equal(a->addressed, 7);
	assert_int_equal(a->attributed, 7);
	assert_int_equal(in->n_nets, 3);
	/* space: the /22 less the carved /24, the /24, the /16; IPv6 holds no indicator, so its
	 * space is not swept (the netdb sweep below counts it) */
	near(a->space_v4, 1024 + 65536);
	near(a->space_v6, 0);
	near(a->rate_v4, 7.0 / (1024 + 65536));
	const struct sh_intel_net *h = sh_intel_find(in, "AS64500");
	const struct sh_intel_net *c = sh_intel_find(in, "AS64501");
	const struct sh_intel_net *b = sh_intel_find(in, "AS64502");
	assert_non_null(h);
	assert_non_null(c);
	assert_non_null(b);
	assert_null(sh_intel_find(in, "AS1"));
	near(h->space_v4, 768);
	near(h->space_v6, 0);
	near(c->space_v4, 256);
	near(b->space_v4, 65536);
	assert_int_equal(h->total, 3); /* A, F, G */
	assert_int_equal(c->total, 1); /* B */
	assert_int_equal(b->total, 3); /* C, D, E */
	assert_int_equal(h->in_hosting, 3);
	assert_string_equal(h->hosting, "examplehost");
	assert_string_equal(h->org, "Example Hosting");
	assert_string_equal(h->country, "NL");
	assert_int_equal(h->addresses, 3);
	assert_int_equal(h->active, 1);
	assert_int_equal(b->subjects, 2);
	/* G arrived (first seen 6 h) before any takedown; F and A came at 12 h, before A's 30 h */
	assert_int_equal(h->recurrences, 0);
	/* E (144 h) arrived after D was taken down (138 h) */
	assert_int_equal(b->recurrences, 1);
	near(h->takedown.median_h, 18);
	assert_int_equal(h->score.kind, SH_NET_HOSTING);
	for (size_t i = 1; i < in->n_nets; i++)
		assert_true(in->nets[i - 1].score.score >= in->nets[i].score.score);
	assert_int_equal(in->nets[0].monthly[0], in->nets[0].total);

	/* by prefix: the space is the prefix itself */
	sh_intel_free(in);
	assert_int_equal(sh_intel_compute(s, SH_INTEL_PREFIX, &in), 0);
	const struct sh_intel_net *p = sh_intel_find(in, "45.0.1.0/24");
	assert_non_null(p);
	near(p->space_v4, 256);
	near(sh_intel_find(in, "45.0.0.0/22")->space_v4, 1024);
	sh_intel_free(in);
	assert_int_equal(sh_intel_compute(s, SH_INTEL_COUNTRY, &in), 0);
	assert_int_equal(in->n_nets, 3);
	near(sh_intel_find(in, "NL")->space_v4, 768);
	sh_intel_free(in);
	assert_int_equal(sh_intel_compute(s, SH_INTEL_ORG, &in), 0);
	assert_non_null(sh_intel_find(in, "Carved Out"));
	sh_intel_free(in);

	/* the sweep itself, through netdb */
	struct sh_netdb *db;
	assert_int_equal(sh_netdb_open(s, &db), 0);
	struct space_sum sum = {0};
	assert_int_equal(sh_netdb_foreach_space(db, SH_ASMAP_HAS_ASN, 0, NONE, add_space, &sum), 0);
	assert_int_equal(sum.rows, 4);
	near(sum.v4, 1024 + 65536);
	near(sum.v6, 65536);
	memset(&sum, 0, sizeof(sum));
	assert_int_equal(sh_netdb_foreach_space(db, SH_ASMAP_HAS_ASN, SH_AF_V6, NONE, add_space, &sum),
			 0);
	assert_int_equal(sum.rows, 1);
	near(sum.v6, 65536);
	sh_netdb_free(db);
	sh_store_close(s);
}

/* ---- netdb lookups on nested tables against a brute-force longest match ------------------- */

static uint64_t rng = 42;

static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33);
}

static void test_nested_lookups(void **state)
{
	(void)state;
	struct sh_store *s = open_store("nested.db");
	/* 3000 random prefixes inside 20.0.0.0/8 of lengths 8..28 (many nest, some repeat: the
	 * later row of a prefix wins), imported out of address order, plus IPv6 ones */
	enum { N = 3000, N6 = 300 };
	static struct sh_prefix pfx[N + N6];
	static uint32_t asn[N + N6];
	struct sh_asmap_import *im;
	assert_int_equal(sh_asmap_import_begin(s, "pfx2as", "n.txt", T0, &im), 0);
	for (int i = 0; i < N + N6; i++) {
		struct sh_ip ip = {.af = i < N ? SH_AF_V4 : SH_AF_V6};
		if (i < N) {
			uint32_t a = 20u << 24 | (rnd() & 0xffffff);
			for (int k = 0; k < 4; k++)
				ip.b[k] = (uint8_t)(a >> (24 - 8 * k));
			sh_prefix_from_ip(&ip, 8 + rnd() % 21, &pfx[i]);
		} else {
			ip.b[0] = 0x2a;
			ip.b[1] = 0x01;
			ip.b[2] = (uint8_t)(rnd() & 3);
			ip.b[3] = (uint8_t)rnd();
			ip.b[4] = (uint8_t)rnd();
			sh_prefix_from_ip(&ip, 16 + rnd() % 25, &pfx[i]);
		}
		asn[i] = 1000 + (uint32_t)i;
		struct sh_netrow row = {.prefix = pfx[i], .asn = asn[i], .org = "o"};
		assert_int_equal(sh_asmap_import_add(im, &row), 0);
	}
	unsigned long n;
	assert_int_equal(sh_asmap_import_commit(im, SH_ASMAP_HAS_ASN, &n), 0);
	struct sh_netdb *db;
	assert_int_equal(sh_netdb_open(s, &db), 0);
	for (int q = 0; q < 20000; q++) {
		struct sh_ip ip = {.af = q % 10 ? SH_AF_V4 : SH_AF_V6};
		if (ip.af == SH_AF_V4) {
			uint32_t a = (q % 7 ? 20u << 24 : rnd() & 0xff000000u) | (rnd() & 0xffffff);
			for (int k = 0; k < 4; k++)
				ip.b[k] = (uint8_t)(a >> (24 - 8 * k));
		} else {
			ip.b[0] = 0x2a;
			ip.b[1] = 0x01;
			for (int k = 2; k < 16; k++)
				ip.b[k] = (uint8_t)rnd();
			ip.b[2] &= 3;
		}
		if (sh_ip_special(&ip))
			continue;
		int best = -1;
		for (int i = 0; i < N + N6; i++)
			if (sh_prefix_contains(&pfx[i], &ip) &&
			    (best < 0 || pfx[i].len >= pfx[best].len))
				best = i; /* >=: the later row of a repeated prefix wins */
		struct sh_attrib at;
		assert_int_equal(sh_netdb_attribute(db, &ip, NONE, &at), 0);
		if (best < 0) {
			assert_false(at.mapped);
		} else {
			assert_true(at.mapped);
			assert_int_equal(at.asn, asn[best]);
			assert_int_equal(at.prefix.len, pfx[best].len);
		}
	}
	sh_netdb_free(db);
	sh_store_close(s);
}

static void test_empty(void **state)
{
	(void)state;
	struct sh_store *s = open_store("empty.db");
	for (int by = SH_INTEL_ALL; by <= SH_INTEL_COUNTRY; by++) {
		struct sh_intel *in;
		assert_int_equal(sh_intel_compute(s, (enum sh_intel_by)by, &in), 0);
		assert_int_equal(in->all.indicators, 0);
		assert_int_equal(in->n_nets, 0);
		assert_true(in->all.one_day_share == SH_SURV_NONE);
		assert_true(in->all.takedown.median_h == SH_SURV_NONE);
		struct sh_km km;
		assert_int_equal(sh_intel_curve(in, SIZE_MAX, SH_CURVE_LIFETIME, &km), 0);
		assert_int_equal(km.n, 0);
		sh_km_fini(&km);
		sh_intel_free(in);
	}
	enum sh_intel_by by;
	assert_true(sh_intel_by_parse("country", &by) && by == SH_INTEL_COUNTRY);
	assert_false(sh_intel_by_parse("planet", &by));
	assert_string_equal(sh_intel_by_name(SH_INTEL_ORG), "org");
	sh_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bulk_read),
		cmocka_unit_test(test_observations),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_nested_lookups),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
