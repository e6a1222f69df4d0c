/* Unit tests for the SQLite store: migrations, ingest semantics, recompute, crash safety,
 * queries, network tables and hosting ranges, against real database files in a temp dir. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/timefmt.h"
#include "netmap/asmap.h"
#include "store/store.h"
#include "store/testing.h"

#define NONE SH_TIME_NONE

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sh-store-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sheriff.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(f->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			char p[512];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct sh_store *open_store(const char *path)
{
	struct sh_store *s = NULL;
	int rc = sh_store_open(path, &s);
	if (rc != 0)
		print_error("open %s: %s\n", path, sh_store_errmsg(NULL));
	assert_int_equal(rc, 0);
	return s;
}

/* ---- building snapshots ---- */

struct item {
	const char *v;
	int64_t fs, lo;
	enum sh_status st;
	const char *threat, *tags;
};

#define ON(v) {v, NONE, NONE, SH_STATUS_UNKNOWN, NULL, NULL}

struct snap {
	int64_t t;
	struct item items[12];
};

static int add_item(struct sh_ingest *in, const struct item *it)
{
	struct sh_indicator ind;
	assert_int_equal(sh_indicator_parse(it->v, strlen(it->v), &ind), 0);
	struct sh_feed_item fi = {
		.ind = &ind, .first_seen = it->fs, .last_online = it->lo, .status = it->st,
		.threat = it->threat, .tags = it->tags,
	};
	return sh_ingest_add(in, &fi);
}

static void add_snap(struct sh_ingest *in, const struct snap *sn, uint64_t hash)
{
	int rc = sh_ingest_snapshot_begin(in, sn->t, hash, "handmade.txt");
	if (rc == SH_EEXIST)
		return;
	assert_int_equal(rc, 0);
	for (const struct item *it = sn->items; it->v; it++)
		assert_int_equal(add_item(in, it), 0);
	assert_int_equal(sh_ingest_snapshot_end(in, 0), 0);
}

/* Ingests the snapshots listed by index (-1 ends) in that order, in one ingest; those the
 * store has already are skipped. */
static struct sh_ingest_stats ingest(struct sh_store *s, const char *source, bool full,
				     const struct snap *snaps, const int *order)
{
	struct sh_ingest *in;
	assert_int_equal(sh_ingest_begin(s, source, full ? "list" : "feed", full, &in), 0);
	for (const int *o = order; *o >= 0; o++)
		add_snap(in, &snaps[*o], (uint64_t)snaps[*o].t * 7919u);
	struct sh_ingest_stats st;
	int rc = sh_ingest_commit(in, &st);
	if (rc != 0)
		print_error("commit: %s %s\n", sh_strerror(rc), sh_store_errmsg(s));
	assert_int_equal(rc, 0);
	return st;
}

/* ---- checking records ---- */

/* runs: start/end pairs, ending with 0, 0; end NONE for an open run. */
static void expect_sighting(struct sh_store *s, const char *value, const char *source, int64_t fs,
			    int64_t ls, bool online, const int64_t *runs)
{
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_ind_record r;
	int rc = sh_store_indicator_get(s, value, &a, &r);
	if (rc != 0)
		print_error("%s: %s\n", value, sh_strerror(rc));
	assert_int_equal(rc, 0);
	assert_string_equal(r.value, value);
	const struct sh_sighting *sg = NULL;
	for (size_t i = 0; i < r.n_sightings; i++)
		if (strcmp(r.sightings[i].source, source) == 0)
			sg = &r.sightings[i];
	assert_non_null(sg);
	if (sg->first_seen != fs || sg->last_seen != ls || sg->online != online)
		print_error("%s: first %lld last %lld online %d\n", value,
			    (long long)sg->first_seen, (long long)sg->last_seen, sg->online);
	assert_int_equal(sg->first_seen, fs);
	assert_int_equal(sg->last_seen, ls);
	assert_int_equal(sg->online, online);
	size_t n = 0;
	while (runs[2 * n] || runs[2 * n + 1])
		n++;
	if (sg->n_runs != n)
		print_error("%s: %zu runs, want %zu\n", value, sg->n_runs, n);
	assert_int_equal(sg->n_runs, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sg->runs[i].start, runs[2 * i]);
		assert_int_equal(sg->runs[i].end, runs[2 * i + 1]);
	}
	sh_arena_fini(&a);
}

static void expect_unknown(struct sh_store *s, const char *value)
{
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_ind_record r;
	assert_int_equal(sh_store_indicator_get(s, value, &a, &r), SH_ENOENT);
	sh_arena_fini(&a);
}

/* ---- the handmade full-list series ----
 * a: always there; b: gone at 300, back at 400; c: gone at 200, back at 300, gone at 400;
 * d: only at the end; the URL and the CIDR ride along with a and c. */
static const struct snap series[] = {
	{100, {ON("a.example"), ON("b.example"), ON("c.example"), ON("10.1.0.0/16")}},
	{200, {ON("a.example"), ON("b.example"), ON("http://a.example/Path"), ON("10.1.0.0/16")}},
	{300, {ON("a.example"), ON("c.example"), ON("a.example"), ON("10.1.0.0/16")}},
	{400, {ON("a.example"), ON("b.example"), ON("10.1.0.0/16")}},
	{500, {ON("a.example"), ON("d.example"), ON("B.example"), ON("10.1.0.0/16")}},
};

static void expect_series(struct sh_store *s)
{
	expect_sighting(s, "a.example", "list", 100, 500, true, (int64_t[]){100, NONE, 0, 0});
	expect_sighting(s, "b.example", "list", 100, 500, true,
			(int64_t[]){100, 300, 400, NONE, 0, 0});
	expect_sighting(s, "c.example", "list", 100, 300, false,
			(int64_t[]){100, 200, 300, 400, 0, 0});
	expect_sighting(s, "d.example", "list", 500, 500, true, (int64_t[]){500, NONE, 0, 0});
	expect_sighting(s, "http://a.example/Path", "list", 200, 200, false,
			(int64_t[]){200, 300, 0, 0});
	expect_sighting(s, "10.1.0.0/16", "list", 100, 500, true, (int64_t[]){100, NONE, 0, 0});
	expect_unknown(s, "http://a.example/path");
}

static void test_migrations_new(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	assert_int_equal(sh_store_schema_version(s), sh_store_n_migrations);
	assert_string_equal(sh_store_errmsg(s), "");
	sh_store_close(s);
	s = open_store(f->path);
	assert_int_equal(sh_store_schema_version(s), sh_store_n_migrations);
	sh_store_close(s);
}

static void test_migrations_existing(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = NULL;
	assert_int_equal(sh_store_open_at(f->path, 1, &s), 0);
	assert_int_equal(sh_store_schema_version(s), 1);
	ingest(s, "list", true, series, (int[]){0, 1, 2, 3, 4, -1});
	sh_store_close(s);

	s = open_store(f->path);
	assert_int_equal(sh_store_schema_version(s), sh_store_n_migrations);
	expect_series(s);
	struct sh_prefix p = {{SH_AF_V4, {192, 0, 2}}, 24};
	assert_int_equal(sh_store_hosting_replace(s, "example-cloud", &p, 1), 0);
	sh_store_close(s);
}

static void test_open_garbage(void **state)
{
	struct fx *f = *state;
	FILE *fp = fopen(f->path, "wb");
	assert_non_null(fp);
	for (int i = 0; i < 2048; i++)
		fputc("not a database"[i % 14], fp);
	fclose(fp);
	struct sh_store *s = (struct sh_store *)1;
	assert_int_equal(sh_store_open(f->path, &s), SH_ESTORE);
	assert_null(s);
	assert_true(strlen(sh_store_errmsg(NULL)) > 0);

	char missing[256];
	snprintf(missing, sizeof(missing), "%s/no/such/dir/x.db", f->dir);
	assert_int_equal(sh_store_open(missing, &s), SH_ESTORE);
	assert_null(s);
}

static void test_series_in_order(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	struct sh_ingest_stats st = ingest(s, "list", true, series, (int[]){0, 1, 2, 3, 4, -1});
	assert_int_equal(st.snapshots, 5);
	assert_int_equal(st.skipped, 0);
	/* snapshot 2 names a.example twice and snapshot 4 B.example (= b.example) */
	assert_int_equal(st.items, 4 + 4 + 3 + 3 + 4);
	assert_int_equal(st.new_indicators, 6);
	assert_int_equal(st.runs_opened, 8);
	assert_int_equal(st.runs_closed, 4);
	expect_series(s);
	sh_store_close(s);
}

static void test_series_split_and_idempotent(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	ingest(s, "list", true, series, (int[]){1, 0, -1});
	ingest(s, "list", true, series, (int[]){2, -1});
	struct sh_ingest_stats st = ingest(s, "list", true, series, (int[]){4, 3, -1});
	assert_int_equal(st.new_indicators, 1);
	expect_series(s);

	/* the same files again: every snapshot is refused as known, nothing changes */
	struct sh_ingest *in;
	assert_int_equal(sh_ingest_begin(s, "list", "list", true, &in), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sh_ingest_snapshot_begin(in, series[i].t,
							  (uint64_t)series[i].t * 7919u,
							  "again.txt"),
				 SH_EEXIST);
	assert_int_equal(sh_ingest_add(in, &(struct sh_feed_item){0}), SH_EINVAL);
	assert_int_equal(sh_ingest_commit(in, &st), 0);
	assert_int_equal(st.snapshots, 0);
	assert_int_equal(st.skipped, 5);
	expect_series(s);
	sh_store_close(s);
}

static void test_series_out_of_order(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	/* 300 arrives after 400 and 500 were stored: the source is recomputed */
	ingest(s, "list", true, series, (int[]){4, 0, 3, 1, -1});
	expect_sighting(s, "c.example", "list", 100, 100, false, (int64_t[]){100, 200, 0, 0});
	struct sh_ingest_stats st = ingest(s, "list", true, series, (int[]){2, -1});
	assert_int_equal(st.snapshots, 1);
	expect_series(s);
	/* and the oldest one last */
	sh_store_close(s);
	unlink(f->path);
	s = open_store(f->path);
	ingest(s, "list", true, series, (int[]){1, 2, 3, 4, -1});
	ingest(s, "list", true, series, (int[]){0, -1});
	expect_series(s);
	sh_store_close(s);
}

static void test_conflict(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	ingest(s, "list", true, series, (int[]){0, -1});
	struct sh_ingest *in;
	assert_int_equal(sh_ingest_begin(s, "list", "list", true, &in), 0);
	assert_int_equal(sh_ingest_snapshot_begin(in, 100, 1, "other.txt"), SH_ECONFLICT);
	add_snap(in, &series[1], 42);
	assert_int_equal(sh_ingest_snapshot_begin(in, 200, 43, "other.txt"), SH_ECONFLICT);
	assert_int_equal(sh_ingest_snapshot_begin(in, 200, 42, "same.txt"), SH_EEXIST);
	/* misuse is refused, not crashed on */
	assert_int_equal(sh_ingest_snapshot_end(in, 0), SH_EINVAL);
	assert_int_equal(sh_ingest_snapshot_begin(in, 300, 44, "x.txt"), 0);
	assert_int_equal(sh_ingest_snapshot_begin(in, 400, 45, "y.txt"), SH_EINVAL);
	assert_int_equal(sh_ingest_snapshot_end(in, 3), 0);
	assert_int_equal(sh_ingest_snapshot_begin(in, INT64_MAX, 46, "z.txt"), SH_ERANGE);
	struct sh_ingest_stats st;
	assert_int_equal(sh_ingest_commit(in, &st), 0);
	assert_int_equal(st.snapshots, 2);
	/* an empty snapshot at 300: everything went offline then */
	expect_sighting(s, "a.example", "list", 100, 200, false, (int64_t[]){100, 300, 0, 0});

	/* a source keeps its kind */
	assert_int_equal(sh_ingest_begin(s, "list", "csv", false, &in), SH_ECONFLICT);
	assert_null(in);
	assert_true(strlen(sh_store_errmsg(s)) > 0);
	sh_store_close(s);
}

static void test_incremental(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	static const struct snap inc[] = {
		{1000,
		 {{"http://x.example/a", 900, NONE, SH_STATUS_ONLINE, "malware_download", "elf"},
		  {"y.example", 950, 980, SH_STATUS_OFFLINE, "phishing", NULL}}},
		{2000,
		 {{"http://x.example/a", 900, 1500, SH_STATUS_OFFLINE, NULL, "elf,mozi"},
		  {"192.0.2.7", 1900, NONE, SH_STATUS_UNKNOWN, NULL, NULL}}},
		{3000, {{"http://x.example/a", 900, NONE, SH_STATUS_ONLINE, NULL, NULL}}},
	};
	struct sh_ingest_stats st = ingest(s, "feed", false, inc, (int[]){0, 1, 2, -1});
	assert_int_equal(st.snapshots, 3);
	assert_int_equal(st.runs_opened, 4);
	assert_int_equal(st.runs_closed, 2);

	/* back online at 3000: its first_seen lies inside the closed run, so the run starts now */
	expect_sighting(s, "http://x.example/a", "feed", 900, 3000, true,
			(int64_t[]){900, 1500, 3000, NONE, 0, 0});
	expect_sighting(s, "y.example", "feed", 950, 980, false, (int64_t[]){950, 980, 0, 0});
	/* absent from a later incremental snapshot changes nothing */
	expect_sighting(s, "192.0.2.7", "feed", 1900, 2000, true, (int64_t[]){1900, NONE, 0, 0});

	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_ind_record r;
	assert_int_equal(sh_store_indicator_get(s, "http://x.example/a", &a, &r), 0);
	assert_int_equal(r.type, SH_IND_URL);
	assert_int_equal(r.n_sightings, 1);
	assert_string_equal(r.sightings[0].threat, "malware_download");
	assert_string_equal(r.sightings[0].tags, "elf,mozi");
	assert_null(r.sightings[0].malware);
	assert_null(r.sightings[0].ref);
	sh_arena_reset(&a);

	/* the same data in another order (the middle snapshot late) gives the same state */
	ingest(s, "feed2", false, inc, (int[]){0, 2, -1});
	ingest(s, "feed2", false, inc, (int[]){1, -1});
	expect_sighting(s, "http://x.example/a", "feed2", 900, 3000, true,
			(int64_t[]){900, 1500, 3000, NONE, 0, 0});
	expect_sighting(s, "y.example", "feed2", 950, 980, false, (int64_t[]){950, 980, 0, 0});
	expect_sighting(s, "192.0.2.7", "feed2", 1900, 2000, true, (int64_t[]){1900, NONE, 0, 0});
	assert_int_equal(sh_store_indicator_get(s, "http://x.example/a", &a, &r), 0);
	assert_int_equal(r.n_sightings, 2);
	assert_string_equal(r.sightings[1].source, "feed2");
	assert_string_equal(r.sightings[1].tags, "elf,mozi");

	/* a later ingest continues from the stored runs; offline items count until last_online */
	static const struct snap more[] = {
		{4000, {{"http://x.example/a", 900, 3500, SH_STATUS_OFFLINE, NULL, NULL},
			{"y.example", 950, 3900, SH_STATUS_ONLINE, NULL, NULL}}},
	};
	ingest(s, "feed", false, more, (int[]){0, -1});
	expect_sighting(s, "http://x.example/a", "feed", 900, 3500, false,
			(int64_t[]){900, 1500, 3000, 3500, 0, 0});
	expect_sighting(s, "y.example", "feed", 950, 4000, true,
			(int64_t[]){950, 980, 4000, NONE, 0, 0});
	/* last_online in the future of later snapshots: odd runs, but no failed commit */
	static const struct snap odd[] = {
		{1000, {{"z.example", 5000, 5000, SH_STATUS_OFFLINE, NULL, NULL}}},
		{2000, {{"z.example", 5000, NONE, SH_STATUS_ONLINE, NULL, NULL}}},
	};
	ingest(s, "odd", false, odd, (int[]){0, 1, -1});
	expect_sighting(s, "z.example", "odd", 5000, 5000, true, (int64_t[]){5000, NONE, 0, 0});

	assert_int_equal(sh_store_indicator_get(s, "y.example", &a, &r), 0);
	assert_int_equal(r.first_seen, 950);
	assert_int_equal(r.last_seen, 4000);
	assert_true(r.online);
	sh_arena_fini(&a);
	sh_store_close(s);
}

static void test_abort_keeps_state(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	ingest(s, "list", true, series, (int[]){0, 1, 2, 3, 4, -1});
	struct sh_ingest *in;
	assert_int_equal(sh_ingest_begin(s, "list", "list", true, &in), 0);
	static const struct snap later = {600, {ON("e.example")}};
	add_snap(in, &later, 1);
	sh_ingest_abort(in);
	expect_series(s);
	expect_unknown(s, "e.example");
	/* a commit refused for misuse also leaves the state */
	assert_int_equal(sh_ingest_begin(s, "list", "list", true, &in), 0);
	assert_int_equal(sh_ingest_snapshot_begin(in, 600, 1, "open.txt"), 0);
	assert_int_equal(sh_ingest_commit(in, NULL), SH_EINVAL);
	expect_series(s);
	sh_store_close(s);
}

static void crash_at(const char *point)
{
	if (strcmp(point, "sightings") == 0)
		raise(SIGKILL);
}

static void test_kill_during_commit(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	ingest(s, "list", true, series, (int[]){0, 1, -1});
	sh_store_close(s);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sh_store *cs;
		if (sh_store_open(f->path, &cs) != 0)
			_exit(2);
		struct sh_ingest *in;
		if (sh_ingest_begin(cs, "list", "list", true, &in) != 0)
			_exit(2);
		for (int i = 2; i < 5; i++) {
			if (sh_ingest_snapshot_begin(in, series[i].t, (uint64_t)series[i].t * 7919u,
						     "k") != 0)
				_exit(2);
			for (const struct item *it = series[i].items; it->v; it++)
				if (add_item(in, it) != 0)
					_exit(2);
			if (sh_ingest_snapshot_end(in, 0) != 0)
				_exit(2);
		}
		sh_store_test_hook = crash_at;
		struct sh_ingest_stats st;
		_exit(sh_ingest_commit(in, &st) == 0 ? 3 : 4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	/* the state of before the killed commit, then a re-run completes it */
	s = open_store(f->path);
	expect_sighting(s, "a.example", "list", 100, 200, true, (int64_t[]){100, NONE, 0, 0});
	expect_sighting(s, "c.example", "list", 100, 100, false, (int64_t[]){100, 200, 0, 0});
	expect_unknown(s, "d.example");
	struct sh_ingest_stats st = ingest(s, "list", true, series, (int[]){0, 1, 2, 3, 4, -1});
	assert_int_equal(st.skipped, 2);
	assert_int_equal(st.snapshots, 3);
	expect_series(s);
	sh_store_close(s);
}

/* ---- queries ---- */

struct values {
	char v[16][128];
	int n;
};

static int collect(const char *value, void *arg)
{
	struct values *vs = arg;
	assert_true(vs->n < 16);
	snprintf(vs->v[vs->n++], sizeof(vs->v[0]), "%s", value);
	return 0;
}

static int stop_after_one(const char *value, void *arg)
{
	(void)value;
	(*(int *)arg)++;
	return 7;
}

struct briefs {
	int n, ip, cidr, url;
	bool v6_seen;
};

static int count_brief(const struct sh_ind_brief *b, void *arg)
{
	struct briefs *c = arg;
	c->n++;
	c->ip += b->type == SH_IND_IP;
	c->cidr += b->type == SH_IND_CIDR;
	c->url += b->type == SH_IND_URL;
	if (strcmp(b->value, "2001:db8::/32") == 0) {
		assert_int_equal(b->prefix.ip.af, SH_AF_V6);
		assert_int_equal(b->prefix.len, 32);
		c->v6_seen = true;
	}
	if (strcmp(b->value, "http://198.51.100.9:8080/x") == 0) {
		assert_int_equal(b->prefix.len, 32);
		assert_int_equal(b->prefix.ip.b[0], 198);
		assert_int_equal(b->prefix.ip.b[3], 9);
		assert_int_equal(b->first_seen, 10);
		assert_true(b->online);
	}
	return 0;
}

static void test_queries(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	static const struct snap q[] = {
		{10,
		 {ON("10.0.0.0/8"), ON("10.1.0.0/16"), ON("10.1.2.0/24"), ON("10.2.0.0/16"),
		  ON("10.1.2.3"), ON("2001:db8::/32"), ON("2001:db8:1::/48"),
		  ON("http://198.51.100.9:8080/x")}},
		{20,
		 {ON("example.com"), ON("c.example.com"), ON("a.b.c.example.com"),
		  ON("http://evil.example/a"), ON("https://evil.example/b"), ON("evil.example/c"),
		  ON("http://other.example/x"), ON("http://[2001:db8::5]/z")}},
	};
	ingest(s, "q", false, q, (int[]){0, 1, -1});

	struct values vs = {0};
	struct sh_ip ip;
	assert_int_equal(sh_ip_parse("10.1.2.3", 8, &ip), 0);
	assert_int_equal(sh_store_cidrs_containing(s, &ip, collect, &vs), 0);
	assert_int_equal(vs.n, 3);
	assert_string_equal(vs.v[0], "10.1.2.0/24");
	assert_string_equal(vs.v[1], "10.1.0.0/16");
	assert_string_equal(vs.v[2], "10.0.0.0/8");
	vs.n = 0;
	assert_int_equal(sh_ip_parse("2001:db8:1::77", 14, &ip), 0);
	assert_int_equal(sh_store_cidrs_containing(s, &ip, collect, &vs), 0);
	assert_int_equal(vs.n, 2);
	assert_string_equal(vs.v[0], "2001:db8:1::/48");
	assert_string_equal(vs.v[1], "2001:db8::/32");
	vs.n = 0;
	assert_int_equal(sh_ip_parse("192.0.2.1", 9, &ip), 0);
	assert_int_equal(sh_store_cidrs_containing(s, &ip, collect, &vs), 0);
	assert_int_equal(vs.n, 0);
	int calls = 0;
	assert_int_equal(sh_ip_parse("10.1.2.3", 8, &ip), 0);
	assert_int_equal(sh_store_cidrs_containing(s, &ip, stop_after_one, &calls), 7);
	assert_int_equal(calls, 1);

	vs.n = 0;
	assert_int_equal(sh_store_parent_domains(s, "x.a.b.c.example.com", collect, &vs), 0);
	assert_int_equal(vs.n, 3);
	assert_string_equal(vs.v[0], "a.b.c.example.com");
	assert_string_equal(vs.v[1], "c.example.com");
	assert_string_equal(vs.v[2], "example.com");
	vs.n = 0;
	assert_int_equal(sh_store_parent_domains(s, "example.com", collect, &vs), 0);
	assert_int_equal(vs.n, 0);
	assert_int_equal(sh_store_parent_domains(s, "com", collect, &vs), 0);
	assert_int_equal(vs.n, 0);

	vs.n = 0;
	assert_int_equal(sh_store_urls_on_host(s, "evil.example", 0, collect, &vs), 0);
	assert_int_equal(vs.n, 3);
	assert_string_equal(vs.v[0], "http://evil.example/a");
	assert_string_equal(vs.v[1], "https://evil.example/b");
	assert_string_equal(vs.v[2], "evil.example/c");
	vs.n = 0;
	assert_int_equal(sh_store_urls_on_host(s, "evil.example", 2, collect, &vs), 0);
	assert_int_equal(vs.n, 2);
	vs.n = 0;
	assert_int_equal(sh_store_urls_on_host(s, "198.51.100.9", 0, collect, &vs), 0);
	assert_int_equal(vs.n, 1);
	vs.n = 0;
	assert_int_equal(sh_store_urls_on_host(s, "[2001:db8::5]", 0, collect, &vs), 0);
	assert_int_equal(vs.n, 1);
	assert_string_equal(vs.v[0], "http://[2001:db8::5]/z");
	vs.n = 0;
	assert_int_equal(sh_store_urls_on_host(s, "example.com", 0, collect, &vs), 0);
	assert_int_equal(vs.n, 0);

	struct briefs c = {0};
	assert_int_equal(sh_store_foreach_addressed(s, count_brief, &c), 0);
	assert_int_equal(c.ip, 1);
	assert_int_equal(c.cidr, 6);
	assert_int_equal(c.url, 2);
	assert_int_equal(c.n, 9);
	assert_true(c.v6_seen);
	sh_store_close(s);
}

/* ---- real data: a slice of the urlhaus-filter history ---- */

#define REAL_MAX_SNAPS 16
#define REAL_MAX_VALUES 512

struct real {
	int n_snaps, n_values;
	int64_t t[REAL_MAX_SNAPS];
	char *file[REAL_MAX_SNAPS];
	char value[REAL_MAX_VALUES][SH_IND_MAX];
	bool in[REAL_MAX_SNAPS][REAL_MAX_VALUES]; /* by time order */
};

static int value_index(struct real *r, const char *v)
{
	for (int i = 0; i < r->n_values; i++)
		if (strcmp(r->value[i], v) == 0)
			return i;
	assert_true(r->n_values < REAL_MAX_VALUES);
	snprintf(r->value[r->n_values], SH_IND_MAX, "%s", v);
	return r->n_values++;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the slice (file names sort by time) and the membership table the test expects. */
static void real_load(struct real *r)
{
	memset(r, 0, sizeof(*r));
	const char *dir = SH_TEST_DATA "/store";
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "urlhaus-filter-online-", 22) != 0)
			continue;
		assert_true(r->n_snaps < REAL_MAX_SNAPS);
		size_t n = strlen(dir) + strlen(e->d_name) + 2;
		r->file[r->n_snaps] = malloc(n);
		snprintf(r->file[r->n_snaps++], n, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	assert_int_equal(r->n_snaps, 11);
	qsort(r->file, (size_t)r->n_snaps, sizeof(r->file[0]), name_cmp);
	for (int k = 0; k < r->n_snaps; k++) {
		FILE *fp = fopen(r->file[k], "r");
		assert_non_null(fp);
		char line[4096];
		r->t[k] = NONE;
		while (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (strncmp(line, "! Updated:", 10) == 0) {
				assert_int_equal(
					sh_time_parse(line + 10, strlen(line + 10), &r->t[k]), 0);
				continue;
			}
			struct sh_indicator ind;
			if (line[0] == '!' || !line[0] ||
			    sh_indicator_parse(line, strlen(line), &ind) != 0)
				continue;
			r->in[k][value_index(r, ind.value)] = true;
		}
		fclose(fp);
		assert_true(r->t[k] != NONE);
		assert_true(k == 0 || r->t[k] > r->t[k - 1]);
	}
	assert_true(r->n_values > 300);
}

static void real_ingest(struct sh_store *s, struct real *r, const int *order)
{
	struct sh_ingest *in;
	assert_int_equal(sh_ingest_begin(s, "urlhaus-filter", "list", true, &in), 0);
	for (const int *o = order; *o >= 0; o++) {
		assert_int_equal(
			sh_ingest_snapshot_begin(in, r->t[*o], (uint64_t)*o + 1, r->file[*o]), 0);
		FILE *fp = fopen(r->file[*o], "r");
		char line[4096];
		unsigned long bad = 0;
		while (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\r\n")] = '\0';
			struct sh_indicator ind;
			if (line[0] == '!' || !line[0])
				continue;
			if (sh_indicator_parse(line, strlen(line), &ind) != 0) {
				bad++;
				continue;
			}
			struct sh_feed_item it = {
				.ind = &ind, .first_seen = NONE, .last_online = NONE};
			assert_int_equal(sh_ingest_add(in, &it), 0);
		}
		fclose(fp);
		assert_int_equal(sh_ingest_snapshot_end(in, bad), 0);
	}
	assert_int_equal(sh_ingest_commit(in, NULL), 0);
}

/* The expected sighting of value i, computed the plain way from the membership table. */
static void real_check(struct sh_store *s, const struct real *r)
{
	for (int i = 0; i < r->n_values; i++) {
		int64_t runs[2 * REAL_MAX_SNAPS + 2], fs = NONE, ls = NONE;
		int n = 0;
		bool open = false;
		for (int k = 0; k < r->n_snaps; k++) {
			if (r->in[k][i]) {
				if (fs == NONE)
					fs = r->t[k];
				ls = r->t[k];
				if (!open) {
					runs[2 * n] = r->t[k];
					runs[2 * n + 1] = NONE;
					open = true;
				}
			} else if (open) {
				runs[2 * n++ + 1] = r->t[k];
				open = false;
			}
		}
		n += open;
		runs[2 * n] = runs[2 * n + 1] = 0;
		expect_sighting(s, r->value[i], "urlhaus-filter", fs, ls, open, runs);
	}
}

static void test_real_slice(void **state)
{
	struct fx *f = *state;
	struct real *r = malloc(sizeof(*r));
	assert_non_null(r);
	real_load(r);

	struct sh_store *s = open_store(f->path);
	real_ingest(s, r, (int[]){10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1});
	real_check(s, r);
	sh_store_close(s);
	unlink(f->path);

	/* in three ingests, the last one older than what is stored */
	s = open_store(f->path);
	real_ingest(s, r, (int[]){0, 1, 2, 3, 4, -1});
	real_ingest(s, r, (int[]){8, 9, 10, -1});
	real_ingest(s, r, (int[]){6, 5, 7, -1});
	real_check(s, r);
	sh_store_close(s);

	for (int k = 0; k < r->n_snaps; k++)
		free(r->file[k]);
	free(r);
}

/* ---- network tables ---- */

struct rows_seen {
	int n;
	struct sh_netrow first, last;
	char first_org[64], last_org[64];
};

static int see_row(const struct sh_netrow *row, void *arg)
{
	struct rows_seen *rs = arg;
	if (rs->n == 0) {
		rs->first = *row;
		snprintf(rs->first_org, sizeof(rs->first_org), "%s", row->org);
	}
	rs->last = *row;
	snprintf(rs->last_org, sizeof(rs->last_org), "%s", row->org);
	rs->n++;
	return 0;
}

static unsigned long import_rows(struct sh_store *s, const char *format, const char *file,
				 int64_t as_of, int fields, int n, uint32_t asn_base)
{
	struct sh_asmap_import *im;
	assert_int_equal(sh_asmap_import_begin(s, format, file, as_of, &im), 0);
	for (int i = 0; i < n; i++) {
		char org[32];
		snprintf(org, sizeof(org), "Org %d", i % 7);
		struct sh_netrow row = {.asn = asn_base + (uint32_t)i, .org = i % 5 ? org : ""};
		row.prefix.ip.af = i % 3 ? SH_AF_V4 : SH_AF_V6;
		row.prefix.ip.b[0] = row.prefix.ip.af == SH_AF_V4 ? 10 : 0x20;
		row.prefix.ip.b[1] = (uint8_t)(i >> 8);
		row.prefix.ip.b[2] = (uint8_t)i;
		row.prefix.len = 24;
		if (fields & SH_ASMAP_HAS_COUNTRY)
			memcpy(row.country, i % 2 ? "NL" : "US", 3);
		assert_int_equal(sh_asmap_import_add(im, &row), 0);
	}
	unsigned long rows = 0;
	assert_int_equal(sh_asmap_import_commit(im, fields, &rows), 0);
	return rows;
}

static void test_asmap(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_asmap_table *t;
	size_t n;

	assert_int_equal(import_rows(s, "ipldb", "/data/asn-ipv4.csv", 2000, SH_ASMAP_HAS_ASN, 1000,
				     64500),
			 1000);
	assert_int_equal(sh_store_asmap_tables(s, &a, &t, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].format, "ipldb");
	assert_string_equal(t[0].file, "asn-ipv4.csv");
	assert_int_equal(t[0].as_of, 2000);
	assert_int_equal(t[0].fields, SH_ASMAP_HAS_ASN);
	assert_int_equal(t[0].rows, 1000);
	int64_t first_id = t[0].id;

	struct rows_seen rs = {0};
	assert_int_equal(sh_store_asmap_rows(s, first_id, see_row, &rs), 0);
	assert_int_equal(rs.n, 1000);
	assert_int_equal(rs.first.asn, 64500);
	assert_int_equal(rs.first.prefix.ip.af, SH_AF_V6);
	assert_int_equal(rs.first.prefix.len, 24);
	assert_string_equal(rs.first_org, "");
	assert_string_equal(rs.first.country, "");
	assert_int_equal(rs.last.asn, 64500 + 999);
	assert_int_equal(rs.last.prefix.ip.b[1], 999 >> 8);
	assert_int_equal(rs.last.prefix.ip.b[2], 999 & 0xff);
	assert_string_equal(rs.last_org, "Org 5");

	/* the same file again replaces the table: still one, with the new rows */
	assert_int_equal(import_rows(s, "ipldb", "asn-ipv4.csv", 2000, SH_ASMAP_HAS_ASN, 777, 1),
			 777);
	sh_arena_reset(&a);
	assert_int_equal(sh_store_asmap_tables(s, &a, &t, &n), 0);
	assert_int_equal(n, 1);
	assert_true(t[0].id != first_id);
	assert_int_equal(t[0].rows, 777);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(sh_store_asmap_rows(s, t[0].id, see_row, &rs), 0);
	assert_int_equal(rs.n, 777);
	assert_int_equal(rs.first.asn, 1);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(sh_store_asmap_rows(s, first_id, see_row, &rs), 0);
	assert_int_equal(rs.n, 0);

	/* another date, other fields, another file: kept beside it, ordered by as_of */
	import_rows(s, "ipldb", "asn-ipv4.csv", 1000, SH_ASMAP_HAS_ASN, 10, 1);
	import_rows(s, "ipldb", "asn-ipv4.csv", 2000, SH_ASMAP_HAS_COUNTRY, 10, 1);
	import_rows(s, "pfx2as", "asn-ipv4.csv", 2000, SH_ASMAP_HAS_ASN, 10, 1);
	sh_arena_reset(&a);
	assert_int_equal(sh_store_asmap_tables(s, &a, &t, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(t[0].as_of, 1000);
	memset(&rs, 0, sizeof(rs));
	for (size_t i = 0; i < n; i++)
		if (t[i].fields == SH_ASMAP_HAS_COUNTRY)
			assert_int_equal(sh_store_asmap_rows(s, t[i].id, see_row, &rs), 0);
	assert_int_equal(rs.n, 10);
	assert_string_equal(rs.first.country, "US");
	assert_string_equal(rs.last.country, "NL");

	/* an aborted import and a bad row leave nothing */
	struct sh_asmap_import *im;
	assert_int_equal(sh_asmap_import_begin(s, "mmdb", "x.mmdb", 5, &im), 0);
	struct sh_netrow bad = {.prefix = {{SH_AF_V4, {1}}, 33}, .org = ""};
	assert_int_equal(sh_asmap_import_add(im, &bad), SH_EINVAL);
	sh_asmap_import_abort(im);
	sh_arena_reset(&a);
	assert_int_equal(sh_store_asmap_tables(s, &a, &t, &n), 0);
	assert_int_equal(n, 4);

	/* an import holds the write transaction: an ingest commit on the handle waits its turn */
	assert_int_equal(sh_asmap_import_begin(s, "mmdb", "x.mmdb", 5, &im), 0);
	struct sh_ingest *in;
	assert_int_equal(sh_ingest_begin(s, "list", "list", true, &in), 0);
	add_snap(in, &series[0], 1);
	assert_int_equal(sh_ingest_commit(in, NULL), SH_ESTORE);
	unsigned long rows;
	assert_int_equal(sh_asmap_import_commit(im, SH_ASMAP_HAS_ASN, &rows), 0);
	assert_int_equal(rows, 0);

	sh_arena_fini(&a);
	sh_store_close(s);
}

static void test_asmap_bulk(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	assert_int_equal(import_rows(s, "iptoasn", "big.tsv", 3000, 3, 65537 + 5, 7), 65542);
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	struct sh_asmap_table *t;
	size_t n;
	assert_int_equal(sh_store_asmap_tables(s, &a, &t, &n), 0);
	assert_int_equal(n, 1);
	struct rows_seen rs = {0};
	assert_int_equal(sh_store_asmap_rows(s, t[0].id, see_row, &rs), 0);
	assert_int_equal(rs.n, 65542);
	assert_int_equal(rs.last.asn, 7 + 65541);
	sh_arena_fini(&a);
	sh_store_close(s);
}

/* ---- hosting ---- */

struct hosting_seen {
	int n, a, b;
};

static int see_hosting(const char *provider, const struct sh_prefix *p, void *arg)
{
	struct hosting_seen *h = arg;
	h->n++;
	h->a += strcmp(provider, "alpha") == 0;
	h->b += strcmp(provider, "beta") == 0;
	assert_true(p->ip.af == SH_AF_V4 || p->ip.af == SH_AF_V6);
	return 0;
}

static void test_hosting(void **state)
{
	struct fx *f = *state;
	struct sh_store *s = open_store(f->path);
	struct sh_prefix p[4] = {
		{{SH_AF_V4, {192, 0, 2}}, 24},
		{{SH_AF_V4, {198, 51, 100}}, 24},
		{{SH_AF_V6, {0x20, 0x01, 0x0d, 0xb8}}, 32},
		{{SH_AF_V4, {192, 0, 2}}, 24},
	};
	assert_int_equal(sh_store_hosting_replace(s, "alpha", p, 4), 0);
	assert_int_equal(sh_store_hosting_replace(s, "beta", p + 1, 2), 0);
	struct hosting_seen h = {0};
	assert_int_equal(sh_store_hosting_foreach(s, see_hosting, &h), 0);
	assert_int_equal(h.a, 3);
	assert_int_equal(h.b, 2);

	assert_int_equal(sh_store_hosting_replace(s, "alpha", p + 2, 1), 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(sh_store_hosting_foreach(s, see_hosting, &h), 0);
	assert_int_equal(h.a, 1);
	assert_int_equal(h.b, 2);
	assert_int_equal(h.n, 3);

	struct sh_prefix badp = {{SH_AF_V6, {0}}, 129};
	assert_int_equal(sh_store_hosting_replace(s, "alpha", &badp, 1), SH_EINVAL);
	assert_int_equal(sh_store_hosting_replace(s, "beta", NULL, 0), 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(sh_store_hosting_foreach(s, see_hosting, &h), 0);
	assert_int_equal(h.n, 1);
	sh_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrations_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_split_and_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_during_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_slice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_asmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_asmap_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosting, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
