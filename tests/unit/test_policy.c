/* Unit tests for the listing policy (parser, defaults, the shipped file) and the allowlist
 * (special space agreeing with sh_ip_special, resolvers, shared hosting with "except", user
 * entries and files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/policy.h"
#include "lib/score.h"
#include "store/store.h"

#define SHIPPED SH_TEST_DATA "/../../etc/sheriff-policy.conf"

struct diags {
	unsigned long lines[64];
	char msgs[64][256];
	size_t n;
};

static void collect(void *arg, const char *file, unsigned long line, const char *msg)
{
	struct diags *d = arg;
	if (d->n < 64) {
		d->lines[d->n] = line;
		snprintf(d->msgs[d->n], sizeof(d->msgs[0]), "%s", msg);
		d->n++;
	}
}

static char *dump(const struct sh_policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	sh_policy_dump(p, f);
	fclose(f);
	return buf;
}

static struct sh_policy *parse(const char *text, struct diags *d, int want_rc)
{
	struct sh_policy *p;
	assert_int_equal(sh_policy_new(&p), 0);
	assert_int_equal(sh_policy_parse(p, text, strlen(text), "t.conf", collect, d), want_rc);
	return p;
}

static void test_durations(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(sh_duration_parse("90s", 3, &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(sh_duration_parse("1d12h", 5, &v), 0);
	assert_int_equal(v, 36 * 3600);
	assert_int_equal(sh_duration_parse("2w", 2, &v), 0);
	assert_int_equal(v, 14 * 86400);
	assert_int_equal(sh_duration_parse("3600", 4, &v), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(sh_duration_parse("1h30", 4, &v), SH_EINVAL);
	assert_int_equal(sh_duration_parse("", 0, &v), SH_EINVAL);
	assert_int_equal(sh_duration_parse("5q", 2, &v), SH_EINVAL);
	assert_int_equal(sh_duration_parse("-5s", 3, &v), SH_EINVAL);
	assert_int_equal(sh_duration_parse("99999999999999999999s", 21, &v), SH_ERANGE);
	char b[32];
	sh_duration_format(36 * 3600 + 61, b);
	assert_string_equal(b, "1d12h1m1s");
	sh_duration_format(0, b);
	assert_string_equal(b, "0s");
	sh_duration_format(14 * 86400, b);
	assert_string_equal(b, "2w");
}

static void test_defaults_equal_shipped_file(void **state)
{
	(void)state;
	struct sh_policy *def, *file;
	assert_int_equal(sh_policy_new(&def), 0);
	struct diags d = {0};
	assert_int_equal(sh_policy_load(SHIPPED, collect, &d, &file), 0);
	assert_int_equal(d.n, 0);
	char *a = dump(def), *b = dump(file);
	assert_string_equal(a, b);
	/* the canonical dump is itself a policy file giving the same policy */
	struct sh_policy *again = parse(a, &d, 0);
	char *c = dump(again);
	assert_string_equal(a, c);
	assert_int_equal(def->n_cats, 7);
	/* whole networks: bph verdicts, in a category that takes no indicators */
	assert_int_equal(def->network_verdicts, 1u << SH_VERDICT_BPH);
	assert_int_equal(def->network_cat, 5);
	assert_string_equal(def->cats[5].name, "bph_network");
	/* campaign infrastructure: off, in the last category, which takes no indicators either */
	assert_false(def->infrastructure);
	assert_int_equal(def->infrastructure_window, 3 * 86400);
	assert_int_equal(def->infra_cat, 6);
	assert_string_equal(def->cats[6].name, "infrastructure");
	assert_int_equal(def->cats[5].ip_code, 0x7f000006u);
	assert_int_equal(def->cats[2].ip_code, 0x7f000002u);
	assert_int_equal(def->cats[2].domain_code, 0x7f000102u);
	assert_int_equal(def->offline_grace, 3 * 86400);
	free(a);
	free(b);
	free(c);
	sh_policy_free(def);
	sh_policy_free(file);
	sh_policy_free(again);
}

static void test_bad_lines_reported(void **state)
{
	(void)state;
	struct diags d = {0};
	const char *text = "# comment\n"
			   "orphan = 1\n"                 /* 2: before any section */
			   "[listing]\n"
			   "offline_grace = 2d   # trailing comment\n"
			   "nonsense\n"                   /* 5 */
			   "min_sources = 0\n"            /* 6 */
			   "[nosuch]\n"                   /* 7 */
			   "x = y\n"                      /* ignored with its section */
			   "[dns]\r\n"
			   "ttl = 10m\r\n"
			   "zone = bad..name\n"           /* 11 */
			   "[category Bad]\n"             /* 12 */
			   "[category ok]\n"
			   "ip_code = 127.0.0.1\n"        /* 14: 127.0.0.1 is never a code */
			   "ip_code = 127.0.1.2\n"        /* 15: domain block */
			   "ip_code = 127.255.255.2\n"    /* 16: error block */
			   "ip_code = 127.0.0.7\n"
			   "domain_code = 127.0.0.9\n"    /* 18 */
			   "domain_code = 127.0.1.9\n"
			   "score = 128\n"                /* 20 */
			   "[category ok]\n"              /* 21: twice */
			   "[guard]\n"
			   "max_shrink = 150%\n"          /* 23 */
			   "min_prefix_v4 = 33\n"         /* 24 */
			   "bad\0line = 1\n";             /* 25: NUL, seen through the length below */
	struct sh_policy *p;
	assert_int_equal(sh_policy_new(&p), 0);
	size_t len = strlen(text) + strlen(text + strlen(text) + 1) + 1;
	assert_int_equal(sh_policy_parse(p, text, len, "t.conf", collect, &d), SH_EINVAL);
	unsigned long want[] = {2, 5, 6, 7, 11, 12, 14, 15, 16, 18, 20, 21, 23, 24, 25};
	assert_int_equal(d.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < d.n; i++)
		assert_int_equal(d.lines[i], want[i]);
	/* the good lines were kept */
	assert_int_equal(p->offline_grace, 2 * 86400);
	assert_int_equal(p->ttl, 600);
	assert_int_equal(p->n_cats, 1);
	assert_string_equal(p->cats[0].name, "ok");
	assert_int_equal(p->cats[0].ip_code, 0x7f000007u);
	assert_int_equal(p->cats[0].domain_code, 0x7f000109u);
	/* unset values inherit the global ones */
	assert_int_equal(p->cats[0].ttl, 600);
	assert_int_equal(p->cats[0].offline_grace, 2 * 86400);
	sh_policy_free(p);
}

static void test_categories_and_inheritance(void **state)
{
	(void)state;
	struct diags d = {0};
	struct sh_policy *p = parse("[listing]\nexpiry = 2d\n[dns]\nttl = 5m\n"
				    "[category c2]\nip_code = 127.0.0.4\ndomain_code = 127.0.1.4\n"
				    "threats = botnet_cc\nttl = 1m\n"
				    "[category rest]\nip_code = 127.0.0.2\ndomain_code = 127.0.1.2\n"
				    "list = no\n",
				    &d, 0);
	assert_int_equal(p->n_cats, 2);
	assert_int_equal(p->cats[0].ttl, 60);
	assert_int_equal(p->cats[0].expiry, 2 * 86400);
	assert_int_equal(p->cats[1].ttl, 300);
	assert_false(p->cats[1].list);
	assert_int_equal(p->cats[0].threats.n, 1);
	assert_string_equal(p->cats[0].threats.v[0], "botnet_cc");
	sh_policy_free(p);
	/* changing a global value moves the built-in categories with it */
	p = parse("[listing]\noffline_grace = 1h\n", &d, 0);
	assert_int_equal(p->n_cats, 7);
	for (size_t i = 0; i < p->n_cats; i++)
		assert_int_equal(p->cats[i].offline_grace, 3600);
	sh_policy_free(p);
	/* a category file without codes is refused */
	struct diags d2 = {0};
	p = parse("[category x]\nthreats = a\n", &d2, SH_EINVAL);
	assert_int_equal(d2.n, 1);
	assert_int_equal(d2.lines[0], 0);
	sh_policy_free(p);
}

static struct sh_allowlist *allow(const char *text, struct sh_store *s, struct diags *d)
{
	struct sh_policy *p = parse(text, d, 0);
	struct sh_allowlist *a;
	assert_int_equal(sh_allowlist_build(p, s, collect, d, &a), 0);
	sh_policy_free(p);
	return a;
}

static enum sh_allow_match pfx(const struct sh_allowlist *a, const char *s)
{
	struct sh_prefix p;
	assert_int_equal(sh_prefix_parse(s, strlen(s), false, &p), 0);
	return sh_allowlist_prefix(a, &p, NULL);
}

/* The allowlist's special blocks are the ones sh_ip_special knows: every IPv4 /16 probed at
 * three addresses, every IPv6 block at its edges and just outside them. */
static void test_special_space_agrees(void **state)
{
	(void)state;
	struct diags d = {0};
	struct sh_allowlist *a = allow("[allow]\nresolvers = no\nshared_hosting =\n", NULL, &d);
	static const uint8_t lows[][2] = {{0, 0}, {128, 1}, {255, 255}};
	for (unsigned x = 0; x < 65536; x++) {
		for (size_t k = 0; k < 3; k++) {
			struct sh_prefix p = {.ip = {.af = SH_AF_V4,
						     .b = {(uint8_t)(x >> 8), (uint8_t)x, lows[k][0], lows[k][1]}},
					      .len = 32};
			bool special = sh_ip_special(&p.ip) != NULL;
			bool inside = sh_allowlist_prefix(a, &p, NULL) == SH_AL_INSIDE;
			if (special != inside)
				fail_msg("%u.%u.%u.%u: sh_ip_special %d, allowlist %d", x >> 8, x & 255,
					 lows[k][0], lows[k][1], special, inside);
		}
	}
	static const char *const v6[] = {"::1",	      "::",	     "::ffff:0:1", "64:ff9b::1",
					 "2001::1",    "2001:db8::1", "2002::1",    "fc00::1",
					 "fe80::1",    "ff02::1",     "3fff::1",    "2001:4860::8888",
					 "2a00:1450::1", "2001:1fff::1", "2001:40::1", "fbff::1",
					 "fec0::1",    "5f00::1",     "100::1",     "100:0:0:2::1"};
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		struct sh_prefix p;
		assert_int_equal(sh_prefix_parse(v6[i], strlen(v6[i]), true, &p), 0);
		if (p.ip.af != SH_AF_V6)
			continue; /* ::ffff:0:1 folds to IPv4 0.0.0.1, covered above */
		bool special = sh_ip_special(&p.ip) != NULL;
		bool inside = sh_allowlist_prefix(a, &p, NULL) == SH_AL_INSIDE;
		if (special != inside)
			fail_msg("%s: sh_ip_special %d, allowlist %d", v6[i], special, inside);
	}
	assert_int_equal(pfx(a, "10.1.0.0/16"), SH_AL_INSIDE);
	assert_int_equal(pfx(a, "8.0.0.0/5"), SH_AL_COVERS);   /* 10.0.0.0/8 inside it */
	assert_int_equal(pfx(a, "224.0.0.0/3"), SH_AL_INSIDE); /* multicast + reserved, adjacent */
	assert_int_equal(pfx(a, "0.0.0.0/0"), SH_AL_COVERS);
	assert_int_equal(pfx(a, "1.2.3.0/24"), SH_AL_NONE);
	const char *why = NULL;
	assert_int_equal(sh_allowlist_domain(a, "foo.localhost", &why), SH_AL_INSIDE);
	assert_string_equal(why, "special-use name");
	assert_int_equal(sh_allowlist_domain(a, "example.com", NULL), SH_AL_NONE);
	sh_allowlist_free(a);
}

static void test_infrastructure_settings(void **state)
{
	(void)state;
	struct diags d = {0};
	struct sh_policy *p = parse("[listing]\ninfrastructure = yes\ninfrastructure_window = 36h\n",
				    &d, 0);
	assert_true(p->infrastructure);
	assert_int_equal(p->infrastructure_window, 36 * 3600);
	char *a = dump(p);
	assert_non_null(strstr(a, "infrastructure = yes\ninfrastructure_window = 1d12h\n"));
	free(a);
	sh_policy_free(p);
	/* a window of 0 and a category the file does not define are errors, with their lines */
	p = parse("[listing]\ninfrastructure = yes\ninfrastructure_window = 0s\n"
		  "infrastructure_category = nowhere\n[category x]\nip_code = 127.0.0.2\n"
		  "domain_code = 127.0.1.2\n",
		  &d, SH_EINVAL);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.lines[0], 3);
	assert_int_equal(d.lines[1], 4);
	assert_non_null(strstr(d.msgs[1], "infrastructure_category 'nowhere'"));
	sh_policy_free(p);
}

static void test_network_settings(void **state)
{
	(void)state;
	struct diags d = {0};
	struct sh_policy *p = parse("[listing]\nnetwork_verdicts = suspicious, BPH\n"
				    "network_min_prefix_v4 = 20\nnetwork_min_prefix_v6 = 40\n", &d, 0);
	assert_int_equal(p->network_verdicts, 1u << SH_VERDICT_BPH | 1u << SH_VERDICT_SUSPICIOUS);
	assert_int_equal(p->network_min_prefix_v4, 20);
	assert_int_equal(p->network_min_prefix_v6, 40);
	char *a = dump(p);
	assert_non_null(strstr(a, "network_verdicts = bph, suspicious\n"));
	free(a);
	sh_policy_free(p);
	p = parse("[listing]\nnetwork_verdicts = none\n", &d, 0);
	assert_int_equal(p->network_verdicts, 0);
	a = dump(p);
	assert_non_null(strstr(a, "network_verdicts = none\n"));
	free(a);
	sh_policy_free(p);
	/* bad values are reported with their line */
	p = parse("[listing]\nnetwork_verdicts = bph, evil\nnetwork_min_prefix_v4 = 33\n", &d,
		  SH_EINVAL);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.lines[0], 2);
	assert_non_null(strstr(d.msgs[0], "unknown verdict 'evil'"));
	assert_int_equal(d.lines[1], 3);
	sh_policy_free(p);
	/* own categories without the network one: no network listings, no error ... */
	d.n = 0;
	p = parse("[category x]\nip_code = 127.0.0.2\ndomain_code = 127.0.1.2\n", &d, 0);
	assert_int_equal(p->network_cat, -1);
	sh_policy_free(p);
	/* ... unless the file names one that is not there */
	p = parse("[listing]\nnetwork_category = nets\n[category x]\nip_code = 127.0.0.2\n"
		  "domain_code = 127.0.1.2\n", &d, SH_EINVAL);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.lines[0], 2);
	sh_policy_free(p);
	d.n = 0;
	p = parse("[listing]\nnetwork_category = nets\n[category x]\nip_code = 127.0.0.2\n"
		  "domain_code = 127.0.1.2\n[category nets]\nip_code = 127.0.0.7\n"
		  "domain_code = 127.0.1.7\n", &d, 0);
	assert_int_equal(p->network_cat, 1);
	sh_policy_free(p);
}

static int collect_piece(const struct sh_prefix *piece, void *arg)
{
	char *out = arg, b[SH_PREFIX_STRLEN];
	sh_prefix_format(piece, b);
	strcat(out, b);
	strcat(out, " ");
	return 0;
}

static void test_allowlist_split(void **state)
{
	(void)state;
	struct diags d = {0};
	struct sh_allowlist *a = allow("[allow]\nentry = 45.0.2.0/24, 45.0.0.7\n", NULL, &d);
	char out[512] = "";
	struct sh_prefix p;
	assert_int_equal(sh_prefix_parse("45.0.0.0/22", 11, true, &p), 0);
	assert_int_equal(sh_allowlist_split(a, &p, collect_piece, out), 0);
	/* the fewest prefixes around 45.0.0.7 and 45.0.2.0/24, in address order */
	assert_string_equal(out, "45.0.0.0/30 45.0.0.4/31 45.0.0.6/32 45.0.0.8/29 45.0.0.16/28 "
				 "45.0.0.32/27 45.0.0.64/26 45.0.0.128/25 45.0.1.0/24 45.0.3.0/24 ");
	out[0] = '\0';
	assert_int_equal(sh_prefix_parse("46.0.0.0/16", 11, true, &p), 0);
	assert_int_equal(sh_allowlist_split(a, &p, collect_piece, out), 0);
	assert_string_equal(out, "46.0.0.0/16 "); /* clear of the allowlist: itself */
	out[0] = '\0';
	assert_int_equal(sh_prefix_parse("8.8.8.8", 7, true, &p), 0);
	assert_int_equal(sh_allowlist_split(a, &p, collect_piece, out), 0);
	assert_string_equal(out, ""); /* inside: nothing */
	sh_allowlist_free(a);
}

static void test_resolvers_and_entries(void **state)
{
	(void)state;
	char path[] = "/tmp/sh-allow-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *file = "# my allow file\n192.0.2.0/24\n\nsafe.example.net  # comment\n"
			   "not an entry\nhttp://a.example/x\n203.0.113.9\n";
	assert_int_equal(write(fd, file, strlen(file)), (ssize_t)strlen(file));
	close(fd);
	char text[256];
	snprintf(text, sizeof(text),
		 "[allow]\nentry = 198.51.100.7, good.example.org\nentry = 2001:db8:1::/48\nfile = %s\n",
		 path);
	struct diags d = {0};
	struct sh_allowlist *a = allow(text, NULL, &d);
	assert_int_equal(d.n, 2); /* lines 5 and 6 of the file */
	assert_int_equal(d.lines[0], 5);
	assert_int_equal(d.lines[1], 6);
	const char *why = NULL;
	struct sh_prefix p;
	assert_int_equal(sh_prefix_parse("8.8.8.8", 7, true, &p), 0);
	assert_int_equal(sh_allowlist_prefix(a, &p, &why), SH_AL_INSIDE);
	assert_string_equal(why, "public resolver");
	assert_int_equal(pfx(a, "8.8.8.0/24"), SH_AL_COVERS);
	assert_int_equal(pfx(a, "2606:4700:4700::1111"), SH_AL_INSIDE);
	assert_int_equal(pfx(a, "8.8.8.9"), SH_AL_NONE);
	assert_int_equal(pfx(a, "198.51.100.7"), SH_AL_INSIDE);
	assert_int_equal(pfx(a, "203.0.113.9"), SH_AL_INSIDE);
	assert_int_equal(sh_allowlist_domain(a, "x.dns.google", NULL), SH_AL_INSIDE);
	assert_int_equal(sh_allowlist_domain(a, "quad9.net", NULL), SH_AL_COVERS);
	assert_int_equal(sh_allowlist_domain(a, "good.example.org", NULL), SH_AL_INSIDE);
	assert_int_equal(sh_allowlist_domain(a, "example.org", NULL), SH_AL_COVERS);
	assert_int_equal(sh_allowlist_domain(a, "a.safe.example.net", NULL), SH_AL_INSIDE);
	assert_int_equal(sh_allowlist_domain(a, "unsafe.example.net", NULL), SH_AL_NONE);
	const char *const *names;
	size_t n = sh_allowlist_domains(a, &names);
	assert_true(n > 5);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(names[i - 1], names[i]) < 0);
	sh_allowlist_free(a);
	unlink(path);
}

static void test_shared_hosting_except(void **state)
{
	(void)state;
	char dir[] = "/tmp/sh-allow-db-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char db[128];
	snprintf(db, sizeof(db), "%s/s.db", dir);
	struct sh_store *s;
	assert_int_equal(sh_store_open(db, &s), 0);
	struct sh_prefix g[3], c[1], cf[1];
	assert_int_equal(sh_prefix_parse("34.0.0.0/15", 11, true, &g[0]), 0);
	assert_int_equal(sh_prefix_parse("142.250.0.0/15", 14, true, &g[1]), 0);
	assert_int_equal(sh_prefix_parse("2a00:1450::/32", 14, true, &g[2]), 0);
	assert_int_equal(sh_prefix_parse("34.0.128.0/17", 13, true, &c[0]), 0);
	assert_int_equal(sh_prefix_parse("104.16.0.0/13", 13, true, &cf[0]), 0);
	assert_int_equal(sh_store_hosting_replace(s, "google", g, 3), 0);
	assert_int_equal(sh_store_hosting_replace(s, "gcp", c, 1), 0);
	assert_int_equal(sh_store_hosting_replace(s, "cloudflare", cf, 1), 0);
	struct diags d = {0};
	struct sh_allowlist *a = allow("[allow]\n", s, &d);
	const char *why = NULL;
	struct sh_prefix p;
	assert_int_equal(sh_prefix_parse("104.17.1.1", 10, true, &p), 0);
	assert_int_equal(sh_allowlist_prefix(a, &p, &why), SH_AL_INSIDE);
	assert_string_equal(why, "shared hosting (cloudflare)");
	assert_int_equal(pfx(a, "34.0.1.1"), SH_AL_INSIDE);
	assert_int_equal(pfx(a, "34.0.200.1"), SH_AL_NONE); /* a gcp customer */
	assert_int_equal(pfx(a, "34.1.0.1"), SH_AL_INSIDE);
	assert_int_equal(pfx(a, "34.0.0.0/16"), SH_AL_COVERS);
	assert_int_equal(pfx(a, "2a00:1450:4001::1"), SH_AL_INSIDE);
	assert_int_equal(pfx(a, "142.251.255.255"), SH_AL_INSIDE);
	sh_allowlist_free(a);
	/* shared_hosting emptied: nothing from the hosting table */
	a = allow("[allow]\nshared_hosting =\n", s, &d);
	assert_int_equal(pfx(a, "104.17.1.1"), SH_AL_NONE);
	sh_allowlist_free(a);
	sh_store_close(s);
	unlink(db);
	char wal[160];
	snprintf(wal, sizeof(wal), "%s-wal", db);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", db);
	unlink(wal);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_defaults_equal_shipped_file),
		cmocka_unit_test(test_bad_lines_reported),
		cmocka_unit_test(test_categories_and_inheritance),
		cmocka_unit_test(test_special_space_agrees),
		cmocka_unit_test(test_resolvers_and_entries),
		cmocka_unit_test(test_network_settings),
		cmocka_unit_test(test_infrastructure_settings),
		cmocka_unit_test(test_allowlist_split),
		cmocka_unit_test(test_shared_hosting_except),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
