/* Unit tests for lib/respawn: path shapes, link rules (strong keys alone, medium keys in
 * pairs, the ASN never alone), the window, the over-correlation bound, the allowlist,
 * campaign grouping and first-sight infrastructure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/respawn.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define H 3600
#define OPEN INT64_MIN

static void shape_is(const char *path, const char *want)
{
	char out[128];
	int rc = sh_path_shape(path, strlen(path), out, sizeof(out));
	if (!want) {
		assert_int_equal(rc, SH_EINVAL);
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
}

static void test_shapes(void **state)
{
	(void)state;
	shape_is("/bins/Mozi.arm7", "/bins/mozi.*");
	shape_is("/bins/mozi.m", "/bins/mozi.*");
	shape_is("/Mozi.a", "/mozi.*");
	shape_is("/p_406nxh4v1.jpg", "/*.*");
	shape_is("/wp-content/uploads/2019/11/x.exe", "/wp-content/uploads/#/#/x.*");
	shape_is("/raw/XyZ12abc", "/raw/*");
	shape_is("/docs/a?x=1#f", "/docs/a");
	shape_is("//a//b/", "/a/b");
	shape_is("/.htaccess", "/.htaccess");
	shape_is("/", NULL);
	shape_is("", NULL);
	shape_is("?q=1", NULL);
	char small[4];
	assert_int_equal(sh_path_shape("/abcdef", 7, small, sizeof(small)), SH_ERANGE);
}

struct ind {
	int64_t first;
	uint64_t site;
	struct sh_linker_run runs[2];
	size_t n_runs;
	struct sh_evval vals[4];
	size_t n_vals;
};

#define V(t, s) {t, s, sizeof(s) - 1, false}

/* hosts (NULL: none) says which indicators are their host itself */
static struct sh_linker *link_hosts(const struct ind *v, size_t n, uint32_t bound,
				    const bool *hosts)
{
	struct sh_linker_config cfg = {72 * H, bound};
	struct sh_linker *l;
	assert_int_equal(sh_linker_new(&cfg, &l), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sh_linker_add(l, v[i].first, v[i].site, hosts && hosts[i], v[i].runs, v[i].n_runs,
					       v[i].vals, v[i].n_vals),
				 0);
	assert_int_equal(sh_linker_count(l), n);
	assert_int_equal(sh_linker_run(l, NULL), 0);
	return l;
}

static struct sh_linker *link_all(const struct ind *v, size_t n, uint32_t bound)
{
	return link_hosts(v, n, bound, NULL);
}

static void test_links(void **state)
{
	(void)state;
	const struct ind v[] = {
		/* 0: taken down at 100 h */
		{0, 0, {{0, 100 * H}}, 1, {V(SH_EV_IP, "192.0.2.10"), V(SH_EV_NET, "192.0.2.0/24"),
				      V(SH_EV_ASN, "AS64500")}, 3},
		/* 1: same /24, 20 h after the takedown: a respawn of 0 */
		{120 * H, 0, {{120 * H, OPEN}}, 1, {V(SH_EV_IP, "192.0.2.20"),
						 V(SH_EV_NET, "192.0.2.0/24"),
						 V(SH_EV_ASN, "AS64500")}, 3},
		/* 2: same ASN only: never linked */
		{130 * H, 0, {{130 * H, 131 * H}}, 1, {V(SH_EV_IP, "198.51.100.1"),
						   V(SH_EV_NET, "198.51.100.0/24"),
						   V(SH_EV_ASN, "AS64500")}, 3},
		/* 3: a domain taken down at 10 h; 4 shares its registrable domain too late */
		{0, 0, {{0, 10 * H}}, 1, {V(SH_EV_DOMAIN, "example.net")}, 1},
		{100 * H, 0, {{100 * H, OPEN}}, 1, {V(SH_EV_DOMAIN, "example.net")}, 1},
		/* 5 and 6: prefix and path shape together link (2 + 2) */
		{0, 0, {{0, 50 * H}}, 1, {V(SH_EV_PREFIX, "203.0.112.0/22"), V(SH_EV_SHAPE, "/bins/x.*")}, 2},
		{60 * H, 0, {{60 * H, OPEN}}, 1, {V(SH_EV_PREFIX, "203.0.112.0/22"),
					      V(SH_EV_SHAPE, "/bins/x.*")}, 2},
		/* 7 and 8: the prefix alone does not */
		{0, 0, {{0, 50 * H}}, 1, {V(SH_EV_PREFIX, "203.0.120.0/22"), V(SH_EV_TAG, "elf")}, 2},
		{60 * H, 0, {{60 * H, OPEN}}, 1, {V(SH_EV_PREFIX, "203.0.120.0/22")}, 1},
	};
	struct sh_linker *l = link_all(v, N(v), 100);
	const struct sh_respawn *e;
	size_t n = sh_linker_respawns(l, &e);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].old_ind, 5);
	assert_int_equal(e[0].new_ind, 6);
	assert_int_equal(e[0].t_new - e[0].t_off, 10 * H);
	assert_int_equal(e[0].weight, 4);
	assert_int_equal(e[1].old_ind, 0);
	assert_int_equal(e[1].new_ind, 1);
	assert_int_equal(e[1].t_off, 100 * H);
	assert_int_equal(e[1].t_new, 120 * H);
	/* net and ASN shared: 4 + 1 */
	assert_int_equal(e[1].weight, 5);
	assert_int_equal(e[1].n_shared, 2);
	enum sh_evkey t;
	uint32_t carriers;
	const char *s = sh_linker_value(l, sh_linker_shared(l)[e[1].first_shared], &t, &carriers);
	assert_int_equal(t, SH_EV_NET);
	assert_string_equal(s, "192.0.2.0/24");
	assert_int_equal(carriers, 2);
	assert_int_equal(sh_linker_campaign(l, 0), 0);
	assert_int_equal(sh_linker_campaign(l, 1), 0);
	assert_int_equal(sh_linker_campaign(l, 2), UINT32_MAX);
	assert_int_equal(sh_linker_campaign(l, 4), UINT32_MAX);
	assert_int_equal(sh_linker_campaign(l, 6), 5);
	assert_int_equal(sh_linker_campaign(l, 8), UINT32_MAX);
	assert_true(sh_linker_sight(l, 1) & SH_SIGHT_LINKED);
	assert_false(sh_linker_sight(l, 2) & SH_SIGHT_LINKED);
	sh_linker_free(l);
}

/* A value carried by more indicators than the bound, or allowlisted, links nobody. */
static void test_guard(void **state)
{
	(void)state;
	struct ind v[6];
	for (size_t i = 0; i < N(v); i++)
		v[i] = (struct ind){(int64_t)i * 10 * H, 0, {{(int64_t)i * 10 * H, (int64_t)i * 10 * H + 5 * H}},
				    1, {V(SH_EV_DOMAIN, "shared.example")}, 1};
	struct sh_linker *l = link_all(v, N(v), 3);
	const struct sh_respawn *e;
	/* the 2nd and 3rd link (1 and 2 carriers before them); the 4th on sees 3 */
	assert_int_equal(sh_linker_respawns(l, &e), 2);
	assert_true(sh_linker_sight(l, 4) & SH_SIGHT_GUARDED);
	sh_linker_free(l);
	for (size_t i = 0; i < N(v); i++)
		v[i].vals[0].allowlisted = true;
	l = link_all(v, N(v), 100);
	assert_int_equal(sh_linker_respawns(l, &e), 0);
	sh_linker_free(l);
}

struct live {
	size_t n;
	int64_t until;
};

static void on_live(uint32_t vid, int64_t until, void *arg)
{
	struct live *x = arg;
	(void)vid;
	x->n++;
	x->until = until;
}

/* A new indicator on a live campaign's /24 is listed at first sight and joins it. */
static void test_infrastructure(void **state)
{
	(void)state;
	const struct ind v[] = {
		{0, 0, {{0, 10 * H}}, 1, {V(SH_EV_NET, "192.0.2.0/24")}, 1},
		{12 * H, 0, {{12 * H, OPEN}}, 1, {V(SH_EV_NET, "192.0.2.0/24")}, 1},
		/* 1 still online: 2 is no respawn, but lands on the campaign's /24 */
		{20 * H, 0, {{20 * H, OPEN}}, 1, {V(SH_EV_NET, "192.0.2.0/24")}, 1},
		/* a /24 nobody linked yet */
		{20 * H, 0, {{20 * H, OPEN}}, 1, {V(SH_EV_NET, "198.51.100.0/24")}, 1},
	};
	struct sh_linker *l = link_all(v, N(v), 100);
	assert_int_equal(sh_linker_sight(l, 2), SH_SIGHT_COVERED | SH_SIGHT_SEEN);
	assert_int_equal(sh_linker_campaign(l, 2), 0);
	assert_int_equal(sh_linker_sight(l, 3), 0);
	const uint32_t *vids;
	const int64_t *since;
	assert_int_equal(sh_linker_listed(l, &vids, &since), 1);
	assert_string_equal(sh_linker_value(l, vids[0], NULL, NULL), "192.0.2.0/24");
	assert_int_equal(since[0], 12 * H);
	struct live seen = {0};
	sh_linker_live(l, 30 * H, on_live, &seen);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.until, OPEN);
	sh_linker_free(l);
}

/* The window: a respawn 73 h after the takedown is not linked; a comeback is no takedown. */
static void test_window(void **state)
{
	(void)state;
	const struct ind v[] = {
		{0, 0, {{0, 10 * H}, {20 * H, OPEN}}, 2, {V(SH_EV_IP, "192.0.2.1")}, 1},
		{15 * H, 0, {{15 * H, OPEN}}, 1, {V(SH_EV_IP, "192.0.2.1")}, 1},
		{0, 0, {{0, 10 * H}}, 1, {V(SH_EV_IP, "192.0.2.2")}, 1},
		{83 * H, 0, {{83 * H, OPEN}}, 1, {V(SH_EV_IP, "192.0.2.2")}, 1},
		/* 0 came back at 20 h: 4 at 30 h is no respawn of it */
		{30 * H, 0, {{30 * H, OPEN}}, 1, {V(SH_EV_IP, "192.0.2.1")}, 1},
		/* the same site (a URL after its host): listed another way, not respawned */
		{0, 7, {{0, 10 * H}}, 1, {V(SH_EV_DOMAIN, "example.org")}, 1},
		{10 * H, 7, {{10 * H, OPEN}}, 1, {V(SH_EV_DOMAIN, "example.org")}, 1},
	};
	struct sh_linker *l = link_all(v, N(v), 100);
	const struct sh_respawn *e;
	assert_int_equal(sh_linker_respawns(l, &e), 1);
	assert_int_equal(e[0].old_ind, 0);
	assert_int_equal(e[0].new_ind, 1);
	assert_int_equal(sh_linker_campaign(l, 3), UINT32_MAX);
	/* the campaign of 0 and 1 is online: its address is live infrastructure */
	struct live seen = {0};
	sh_linker_live(l, 100 * H, on_live, &seen);
	assert_int_equal(seen.n, 1);
	sh_linker_free(l);
}

static void test_name_servers(void **state)
{
	(void)state;
	const struct ind v[] = {
		/* 0 and 1: the same name servers only: no link */
		{0, 0, {{0, 10 * H}}, 1, {V(SH_EV_DOMAIN, "a.example"), V(SH_EV_NS, "bph-dns.example")}, 2},
		{20 * H, 0, {{20 * H, OPEN}}, 1, {V(SH_EV_DOMAIN, "b.example"),
						V(SH_EV_NS, "bph-dns.example")}, 2},
		/* 2 and 3: name servers and path shape together link (2 + 2) */
		{0, 0, {{0, 10 * H}}, 1, {V(SH_EV_DOMAIN, "c.example"), V(SH_EV_NS, "ns.example"),
					 V(SH_EV_SHAPE, "/gate.*")}, 3},
		{20 * H, 0, {{20 * H, OPEN}}, 1, {V(SH_EV_DOMAIN, "d.example"), V(SH_EV_NS, "ns.example"),
						V(SH_EV_SHAPE, "/gate.*")}, 3},
	};
	struct sh_linker *l = link_all(v, N(v), 100);
	const struct sh_respawn *e;
	assert_int_equal(sh_linker_respawns(l, &e), 1);
	assert_int_equal(e[0].old_ind, 2);
	assert_int_equal(e[0].new_ind, 3);
	assert_int_equal(e[0].weight, 4);
	assert_string_equal(sh_evkey_name(SH_EV_NS), "ns");
	sh_linker_free(l);
}

static void test_sights(void **state)
{
	(void)state;
	const struct sh_evval shared = {SH_EV_DOMAIN, "example.org", 11, true};
	const struct ind v[] = {
		/* 0: a host, online from 0 */
		{0, 7, {{0, OPEN}}, 1, {V(SH_EV_IP, "192.0.2.5"), V(SH_EV_NET, "192.0.2.0/24")}, 2},
		/* 1: a URL on it: its host is listed, and it shares the address */
		{10 * H, 7, {{10 * H, OPEN}}, 1, {V(SH_EV_IP, "192.0.2.5"),
						V(SH_EV_NET, "192.0.2.0/24")}, 2},
		/* 2 and 3: a URL on host 8, then host 8 itself and 4, a URL with it */
		{15 * H, 8, {{15 * H, OPEN}}, 1, {V(SH_EV_SHAPE, "/a.*")}, 1},
		{20 * H, 8, {{20 * H, OPEN}}, 1, {V(SH_EV_DOMAIN, "example.com")}, 1},
		{20 * H, 8, {{20 * H, OPEN}}, 1, {V(SH_EV_DOMAIN, "example.com")}, 1},
		/* 5: the ASN of an earlier one only; 6: an allowlisted name another one carried */
		{30 * H, 0, {{30 * H, OPEN}}, 1, {V(SH_EV_ASN, "AS64500")}, 1},
		{31 * H, 0, {{31 * H, OPEN}}, 1, {shared}, 1},
		{32 * H, 0, {{32 * H, OPEN}}, 1, {V(SH_EV_ASN, "AS64500"), shared}, 2},
		/* 8: the /24 of 0, which is still online: seen, neither linked nor covered */
		{40 * H, 0, {{40 * H, OPEN}}, 1, {V(SH_EV_IP, "192.0.2.9"), V(SH_EV_NET, "192.0.2.0/24")}, 2},
	};
	const bool hosts[N(v)] = {[0] = true, [3] = true};
	struct sh_linker *l = link_hosts(v, N(v), 100, hosts);
	assert_int_equal(sh_linker_sight(l, 0), 0);
	assert_int_equal(sh_linker_sight(l, 1), SH_SIGHT_HOST | SH_SIGHT_SEEN);
	assert_int_equal(sh_linker_sight(l, 2), 0);
	assert_int_equal(sh_linker_sight(l, 3), 0);
	assert_int_equal(sh_linker_sight(l, 4) & SH_SIGHT_HOST, 0);
	assert_int_equal(sh_linker_sight(l, 7) & SH_SIGHT_SEEN, 0);
	assert_int_equal(sh_linker_sight(l, 8), SH_SIGHT_SEEN);
	sh_linker_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_infrastructure),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_name_servers),
		cmocka_unit_test(test_sights),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
