/* Unit tests for the feed parsers: every format on genuine samples, detection, the shared
 * line/CSV reader, and malformed input (the malformed/ files plus generated cases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feeds/feed.h"
#include "feeds/lines.h"

#define DATA SH_TEST_DATA "/feeds/"

/* ---- a sink that keeps everything --------------------------------------------------------- */
struct got_item {
	enum sh_ind_type type;
	char *value, *threat, *malware, *tags, *ref;
	int64_t first_seen, last_online;
	enum sh_status status;
	unsigned long line;
};

struct got_note {
	unsigned long line;
	char *why;
};

struct got {
	struct got_item *items;
	size_t n_items, cap_items;
	struct got_note *bad, *skipped;
	size_t n_bad, n_skipped, cap_bad, cap_skipped;
	int64_t snapshot;
	unsigned snapshots;
	bool snapshot_after_item;
	unsigned long stop_at; /* return stop_value on this item (1-based), 0: never */
	int stop_value;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(p, *cap * size);
	assert_non_null(p);
	return p;
}

static int got_item(void *arg, const struct sh_feed_item *it, unsigned long line)
{
	struct got *g = arg;
	g->items = grow(g->items, &g->cap_items, g->n_items, sizeof(*g->items));
	struct got_item *x = &g->items[g->n_items++];
	x->type = it->ind->type;
	x->value = strdup(it->ind->value);
	x->threat = dup_or_null(it->threat);
	x->malware = dup_or_null(it->malware);
	x->tags = dup_or_null(it->tags);
	x->ref = dup_or_null(it->ref);
	x->first_seen = it->first_seen;
	x->last_online = it->last_online;
	x->status = it->status;
	x->line = line;
	return g->stop_at && g->n_items == g->stop_at ? g->stop_value : 0;
}

static void got_bad(void *arg, unsigned long line, const char *why)
{
	struct got *g = arg;
	assert_non_null(why);
	assert_true(why[0] != '\0');
	g->bad = grow(g->bad, &g->cap_bad, g->n_bad, sizeof(*g->bad));
	g->bad[g->n_bad].line = line;
	g->bad[g->n_bad++].why = strdup(why);
}

static void got_skipped(void *arg, unsigned long line, const char *why)
{
	struct got *g = arg;
	g->skipped = grow(g->skipped, &g->cap_skipped, g->n_skipped, sizeof(*g->skipped));
	g->skipped[g->n_skipped].line = line;
	g->skipped[g->n_skipped++].why = strdup(why);
}

static void got_snapshot(void *arg, int64_t t)
{
	struct got *g = arg;
	g->snapshot = t;
	g->snapshots++;
	if (g->n_items)
		g->snapshot_after_item = true;
}

static void got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	g->snapshot = SH_TIME_NONE;
}

static void got_fini(struct got *g)
{
	for (size_t i = 0; i < g->n_items; i++) {
		struct got_item *x = &g->items[i];
		free(x->value);
		free(x->threat);
		free(x->malware);
		free(x->tags);
		free(x->ref);
	}
	for (size_t i = 0; i < g->n_bad; i++)
		free(g->bad[i].why);
	for (size_t i = 0; i < g->n_skipped; i++)
		free(g->skipped[i].why);
	free(g->items);
	free(g->bad);
	free(g->skipped);
}

static int parse_buf(const char *format, const char *buf, size_t len, struct got *g)
{
	const struct sh_feed_format *f = sh_feed_format_find(format);
	assert_non_null(f);
	struct sh_feed_sink sink = {
		.item = got_item,
		.bad_line = got_bad,
		.snapshot_time = got_snapshot,
		.arg = g,
		.skipped = got_skipped,
	};
	int rc = f->parse(buf, len, &sink);
	assert_true(g->snapshots <= 1);
	assert_false(g->snapshot_after_item);
	return rc;
}

static int parse_str(const char *format, const char *s, struct got *g)
{
	return parse_buf(format, s, strlen(s), g);
}

static char *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int parse_file(const char *format, const char *name, struct got *g)
{
	char path[512];
	size_t len;
	snprintf(path, sizeof(path), DATA "%s", name);
	char *buf = load(path, &len);
	int rc = parse_buf(format, buf, len, g);
	free(buf);
	return rc;
}

static const char *fmt_time(int64_t t, char buf[SH_TIME_STRLEN])
{
	if (t == SH_TIME_NONE)
		return "none";
	sh_time_format(t, buf);
	return buf;
}

static void assert_time(int64_t t, const char *want)
{
	char buf[SH_TIME_STRLEN];
	assert_string_equal(fmt_time(t, buf), want);
}

static size_t count_type(const struct got *g, enum sh_ind_type type)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n_items; i++)
		n += g->items[i].type == type;
	return n;
}

static bool has_bad_line(const struct got *g, unsigned long line)
{
	for (size_t i = 0; i < g->n_bad; i++)
		if (g->bad[i].line == line)
			return true;
	return false;
}

/* ---- registry and detection --------------------------------------------------------------- */
static const char *const all_formats[] = {
	"urlhaus", "drop-json", "drop", "firehol", "threatfox-csv", "threatfox-json", "feodo",
	"phishtank-csv", "phishtank-json", "ipsum", "plain", "stix",
};
#define N_FORMATS (sizeof(all_formats) / sizeof(all_formats[0]))

static void test_registry(void **state)
{
	(void)state;
	size_t n = 0;
	for (; sh_feed_formats[n]; n++) {
		const struct sh_feed_format *f = sh_feed_formats[n];
		assert_non_null(f->name);
		assert_non_null(f->description);
		assert_non_null(f->detect);
		assert_non_null(f->parse);
		assert_ptr_equal(sh_feed_format_find(f->name), f);
	}
	assert_int_equal(n, N_FORMATS);
	for (size_t i = 0; i < N_FORMATS; i++)
		assert_non_null(sh_feed_format_find(all_formats[i]));
	assert_null(sh_feed_format_find("csv"));
	assert_null(sh_feed_format_find(""));
	assert_null(sh_feed_format_find(NULL));
	assert_false(sh_feed_format_find("urlhaus")->full_list);
	assert_true(sh_feed_format_find("drop-json")->full_list);
	assert_true(sh_feed_format_find("plain")->full_list);
	assert_false(sh_feed_format_find("stix")->full_list);
}

static const struct {
	const char *file, *format;
} samples[] = {
	{"urlhaus_csv_online_2026-08-18_head.csv", "urlhaus"},
	{"feodo_ipblocklist_2024-04-04.csv", "feodo"},
	{"threatfox_export_json_2026-10-07_first26.json", "threatfox-json"},
	{"threatfox_recent_sample.csv", "threatfox-csv"},
	{"phishtank_online_valid_2026-08-18_head.csv", "phishtank-csv"},
	{"phishtank_online_valid_sample.json", "phishtank-json"},
	{"spamhaus_drop_v4_2025-03-03.json", "drop-json"},
	{"spamhaus_asndrop_sample.json", "drop-json"},
	{"spamhaus_drop_legacy_sample.txt", "drop"},
	{"spamhaus_edrop_2015-11-03.netset", "firehol"},
	{"feodo_2015-10-23.ipset", "firehol"},
	{"ipsum_2026-08-22_head.txt", "ipsum"},
	{"urlhaus-filter-online_2019-06-13_head.txt", "plain"},
	{"urlhaus-filter-online_2020-02-07_slice.txt", "plain"},
	{"openphish_sample.txt", "plain"},
	{"hosts_sample.txt", "plain"},
	{"adblock_sample.txt", "plain"},
	{"stix_bundle_sample.json", "stix"},
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static void test_detect_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_SAMPLES; i++) {
		char path[512];
		size_t len;
		snprintf(path, sizeof(path), DATA "%s", samples[i].file);
		char *buf = load(path, &len);
		/* the whole file, and only a head as the CLI passes */
		size_t heads[] = {len, len < 4096 ? len : 4096, len < 1024 ? len : 1024};
		for (size_t h = 0; h < 3; h++) {
			const struct sh_feed_format *f = sh_feed_format_detect(buf, heads[h]);
			if (!f || strcmp(f->name, samples[i].format) != 0)
				fail_msg("%s (head %zu): detected %s, want %s", samples[i].file, heads[h],
					 f ? f->name : "nothing", samples[i].format);
		}
		/* no other format claims it as strongly */
		int own = sh_feed_format_find(samples[i].format)->detect(buf, len);
		for (size_t k = 0; sh_feed_formats[k]; k++) {
			if (strcmp(sh_feed_formats[k]->name, samples[i].format) == 0)
				continue;
			int other = sh_feed_formats[k]->detect(buf, len);
			if (other >= own)
				fail_msg("%s: %s scores %d, %s %d", samples[i].file,
					 sh_feed_formats[k]->name, other, samples[i].format, own);
		}
		free(buf);
	}
}

static void test_detect_nothing(void **state)
{
	(void)state;
	assert_null(sh_feed_format_detect("", 0));
	assert_null(sh_feed_format_detect(NULL, 0));
	assert_null(sh_feed_format_detect("\x00\x01\x02garbage\n", 11));
	assert_null(sh_feed_format_detect("hello world, this is prose.\nNot a feed at all.\n", 48));
	const struct sh_feed_format *f = sh_feed_format_detect("example.com\n192.0.2.1\n", 22);
	assert_non_null(f);
	assert_string_equal(f->name, "plain");
}

/* ---- genuine samples, format by format ------------------------------------------------------ */
static void test_urlhaus(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("urlhaus", "urlhaus_csv_online_2026-08-18_head.csv", &g), 0);
	assert_int_equal(g.n_items, 78);
	assert_int_equal(g.n_bad, 0);
	assert_time(g.snapshot, "2026-08-18T16:17:08Z");
	struct got_item *x = &g.items[0];
	assert_int_equal(x->line, 10);
	assert_int_equal(x->type, SH_IND_URL);
	assert_string_equal(x->value, "http://120.84.215.27:44835/i");
	assert_time(x->first_seen, "2026-08-18T16:17:08Z");
	assert_time(x->last_online, "2026-08-18T16:17:08Z");
	assert_int_equal(x->status, SH_STATUS_ONLINE);
	assert_string_equal(x->threat, "malware_download");
	assert_null(x->tags); /* literal None */
	assert_null(x->malware);
	assert_string_equal(x->ref, "https://urlhaus.abuse.ch/url/3905439/");
	assert_string_equal(g.items[1].tags, "176-65-139-212,elf,mirai,ua-wget");
	assert_int_equal(g.items[77].line, 87);
	got_fini(&g);
}

static void test_urlhaus_old_layout(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	/* before 2021 the dump had no last_online column */
	assert_int_equal(parse_str("urlhaus",
				   "# id,dateadded,url,url_status,threat,tags,urlhaus_link,reporter\n"
				   "\"105\",\"2018-03-01 10:00:00\",\"http://192.0.2.9/a.exe\",\"offline\","
				   "\"malware_download\",\"exe\",\"https://urlhaus.abuse.ch/url/105/\",\"x\"\n",
				   &g),
			 0);
	assert_int_equal(g.n_items, 1);
	assert_int_equal(g.items[0].status, SH_STATUS_OFFLINE);
	assert_int_equal(g.items[0].last_online, SH_TIME_NONE);
	assert_string_equal(g.items[0].tags, "exe");
	assert_string_equal(g.items[0].ref, "https://urlhaus.abuse.ch/url/105/");
	got_fini(&g);
}

static void test_feodo(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("feodo", "feodo_ipblocklist_2024-04-04.csv", &g), 0);
	assert_int_equal(g.n_items, 28);
	assert_int_equal(g.n_bad, 0);
	assert_time(g.snapshot, "2024-04-04T07:03:03Z");
	struct got_item *x = &g.items[0];
	assert_int_equal(x->line, 10);
	assert_int_equal(x->type, SH_IND_IP);
	assert_string_equal(x->value, "192.9.135.73");
	assert_time(x->first_seen, "2023-05-23T17:51:44Z");
	assert_time(x->last_online, "2024-04-01T00:00:00Z");
	assert_int_equal(x->status, SH_STATUS_ONLINE);
	assert_string_equal(x->malware, "Pikabot");
	assert_string_equal(x->threat, "botnet_cc");
	assert_string_equal(x->tags, "port=1194");
	assert_int_equal(g.items[1].status, SH_STATUS_OFFLINE);
	assert_int_equal(count_type(&g, SH_IND_IP), 28);
	got_fini(&g);

	/* the 2019-2021 layout: Firstseen,DstIP,DstPort,LastOnline,Malware */
	got_init(&g);
	assert_int_equal(parse_str("feodo",
				   "Firstseen,DstIP,DstPort,LastOnline,Malware\n"
				   "2019-05-01 10:00:00,192.0.2.5,447,2019-06-01,TrickBot\n",
				   &g),
			 0);
	assert_int_equal(g.n_items, 1);
	assert_int_equal(g.items[0].status, SH_STATUS_UNKNOWN);
	assert_string_equal(g.items[0].malware, "TrickBot");
	assert_string_equal(g.items[0].tags, "port=447");
	got_fini(&g);
}

static void test_threatfox_json(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("threatfox-json", "threatfox_export_json_2026-10-07_first26.json",
				    &g),
			 0);
	assert_int_equal(g.n_items, 26);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(g.snapshots, 0);
	struct got_item *x = &g.items[0];
	assert_int_equal(x->line, 3);
	assert_int_equal(x->type, SH_IND_IP);
	assert_string_equal(x->value, "103.83.86.40");
	assert_string_equal(x->ref, "1956272");
	assert_string_equal(x->threat, "botnet_cc");
	assert_string_equal(x->malware, "Remcos");
	assert_string_equal(x->tags, "c2,Remcos,RemoteHost,port=14642,confidence=100");
	assert_time(x->first_seen, "2026-10-07T11:44:51Z");
	assert_int_equal(x->last_online, SH_TIME_NONE);
	assert_int_equal(g.items[1].line, 21);
	assert_time(g.items[1].last_online, "2026-10-07T11:53:44Z");
	got_fini(&g);
}

static void test_threatfox_csv(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("threatfox-csv", "threatfox_recent_sample.csv", &g), 0);
	assert_int_equal(g.n_items, 10);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(g.n_skipped, 1); /* the sha256_hash row */
	assert_int_equal(g.skipped[0].line, 20);
	assert_time(g.snapshot, "2026-10-07T11:50:02Z");
	assert_string_equal(g.items[0].value, "103.83.86.40");
	assert_string_equal(g.items[0].tags, "c2,Remcos,RemoteHost,port=14642,confidence=100");
	assert_string_equal(g.items[0].ref, "1956272");
	assert_int_equal(g.items[0].line, 10);
	assert_int_equal(g.items[8].type, SH_IND_URL);
	assert_string_equal(g.items[8].value, "http://176.65.139.212/eclipse.sh4");
	assert_int_equal(g.items[9].type, SH_IND_DOMAIN);
	assert_string_equal(g.items[9].value, "registro-de-cita-almhn-2026.cr-web.workers.dev");
	assert_string_equal(g.items[9].malware, "ClearFake");
	got_fini(&g);

	/* the JSON and CSV exports of the same records agree */
	struct got j;
	got_init(&j);
	got_init(&g);
	assert_int_equal(parse_file("threatfox-json", "threatfox_export_json_2026-10-07_first26.json",
				    &j),
			 0);
	assert_int_equal(parse_file("threatfox-csv", "threatfox_recent_sample.csv", &g), 0);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(g.items[i].value, j.items[i].value);
		assert_string_equal(g.items[i].tags, j.items[i].tags);
		assert_int_equal(g.items[i].first_seen, j.items[i].first_seen);
		assert_int_equal(g.items[i].last_online, j.items[i].last_online);
	}
	got_fini(&j);
	got_fini(&g);
}

static void test_threatfox_ipv6_port(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_str("threatfox-json",
				   "{\"1\": [{\"ioc_value\": \"[2001:db8::7]:443\", \"ioc_type\": \"ip:port\","
				   " \"tags\": null, \"confidence_level\": 50}],\n"
				   " \"2\": [{\"ioc_value\": \"2001:db8::8\", \"ioc_type\": \"ip:port\"}],\n"
				   " \"3\": [{\"ioc_value\": \"x\", \"ioc_type\": \"email\"}]}",
				   &g),
			 0);
	assert_int_equal(g.n_items, 2);
	assert_string_equal(g.items[0].value, "2001:db8::7");
	assert_string_equal(g.items[0].tags, "port=443,confidence=50");
	assert_string_equal(g.items[1].value, "2001:db8::8");
	assert_null(g.items[1].tags);
	assert_int_equal(g.n_skipped, 1);
	assert_int_equal(g.skipped[0].line, 3);
	got_fini(&g);
}

static void test_phishtank(void **state)
{
	(void)state;
	struct got c, j;
	got_init(&c);
	got_init(&j);
	assert_int_equal(parse_file("phishtank-csv", "phishtank_online_valid_2026-08-18_head.csv", &c),
			 0);
	assert_int_equal(c.n_items, 87);
	assert_int_equal(c.n_bad, 0);
	assert_int_equal(c.snapshots, 0);
	struct got_item *x = &c.items[0];
	assert_int_equal(x->line, 2);
	assert_int_equal(x->type, SH_IND_URL);
	assert_string_equal(x->value, "http://allegrolokalnie.623456ip.top");
	assert_time(x->first_seen, "2026-08-18T15:55:12Z");
	assert_int_equal(x->status, SH_STATUS_ONLINE);
	assert_string_equal(x->threat, "phishing");
	assert_string_equal(x->tags, "Allegro");
	assert_string_equal(x->ref, "http://www.phishtank.com/phish_detail.php?phish_id=9507035");
	assert_null(c.items[3].tags); /* target "Other" */

	assert_int_equal(parse_file("phishtank-json", "phishtank_online_valid_sample.json", &j), 0);
	assert_int_equal(j.n_items, 12);
	assert_int_equal(j.n_bad, 0);
	assert_int_equal(j.items[0].line, 2);
	assert_int_equal(j.items[1].line, 13);
	for (size_t i = 0; i < j.n_items; i++) {
		assert_string_equal(j.items[i].value, c.items[i].value);
		assert_string_equal(j.items[i].ref, c.items[i].ref);
		assert_int_equal(j.items[i].first_seen, c.items[i].first_seen);
		assert_int_equal(j.items[i].status, c.items[i].status);
	}
	got_fini(&c);
	got_fini(&j);
}

static void test_drop_json(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("drop-json", "spamhaus_drop_v4_2025-03-03.json", &g), 0);
	assert_int_equal(g.n_items, 1360);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(g.snapshot, 1741028874);
	assert_int_equal(count_type(&g, SH_IND_CIDR), 1360);
	assert_string_equal(g.items[0].value, "1.10.16.0/20");
	assert_string_equal(g.items[0].ref, "SBL256894");
	assert_string_equal(g.items[0].tags, "rir=apnic");
	assert_int_equal(g.items[0].line, 1);
	assert_int_equal(g.items[1359].line, 1360);
	got_fini(&g);

	got_init(&g);
	assert_int_equal(parse_file("drop-json", "spamhaus_asndrop_sample.json", &g), 0);
	assert_int_equal(g.n_items, 0);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(g.n_skipped, 3);
	assert_non_null(strstr(g.skipped[0].why, "ASN entries are not supported as indicators"));
	assert_int_equal(g.snapshot, 1741028874);
	got_fini(&g);
}

/* A full list cut short is reported: the metadata's record count does not match. */
static void test_drop_json_count(void **state)
{
	(void)state;
	size_t len;
	char *buf = load(DATA "spamhaus_drop_v4_2025-03-03.json", &len);
	char *second = (char *)memchr(buf, '\n', len) + 1;
	char *third = (char *)memchr(second, '\n', len - (size_t)(second - buf)) + 1;
	memmove(second, third, len - (size_t)(third - buf));
	len -= (size_t)(third - second);
	struct got g;
	got_init(&g);
	assert_int_equal(parse_buf("drop-json", buf, len, &g), 0);
	assert_int_equal(g.n_items, 1359);
	assert_int_equal(g.n_bad, 1);
	assert_int_equal(g.bad[0].line, 1360);
	assert_non_null(strstr(g.bad[0].why, "1360 records"));
	got_fini(&g);
	free(buf);
}

static void test_drop_legacy(void **state)
{
	(void)state;
	struct got t, j;
	got_init(&t);
	got_init(&j);
	assert_int_equal(parse_file("drop", "spamhaus_drop_legacy_sample.txt", &t), 0);
	assert_int_equal(parse_file("drop-json", "spamhaus_drop_v4_2025-03-03.json", &j), 0);
	assert_int_equal(t.n_items, 40);
	assert_int_equal(t.n_bad, 0);
	assert_time(t.snapshot, "2025-03-03T19:07:54Z");
	assert_int_equal(t.snapshot, j.snapshot);
	for (size_t i = 0; i < t.n_items; i++) {
		assert_string_equal(t.items[i].value, j.items[i].value);
		assert_string_equal(t.items[i].ref, j.items[i].ref);
		assert_int_equal(t.items[i].line, i + 5);
	}
	got_fini(&t);
	got_fini(&j);
}

static void test_firehol(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("firehol", "spamhaus_edrop_2015-11-03.netset", &g), 0);
	assert_int_equal(g.n_items, 63);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(count_type(&g, SH_IND_CIDR), 63);
	/* "Source File Date" wins over "This File Date" (2015-11-03) */
	assert_time(g.snapshot, "2015-11-02T15:31:10Z");
	assert_string_equal(g.items[0].value, "27.112.32.0/19");
	assert_int_equal(g.items[0].line, 31);
	got_fini(&g);

	got_init(&g);
	assert_int_equal(parse_file("firehol", "feodo_2015-10-23.ipset", &g), 0);
	assert_int_equal(g.n_items, 235);
	assert_int_equal(count_type(&g, SH_IND_IP), 235);
	assert_time(g.snapshot, "2015-10-23T13:45:29Z");
	got_fini(&g);

	/* no Source File Date: This File Date */
	got_init(&g);
	assert_int_equal(parse_str("firehol", "# This File Date  : Tue Nov  3 13:27:06 UTC 2015\n"
					      "192.0.2.0/24\n",
				   &g),
			 0);
	assert_time(g.snapshot, "2015-11-03T13:27:06Z");
	got_fini(&g);
}

static void test_ipsum(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("ipsum", "ipsum_2026-08-22_head.txt", &g), 0);
	assert_int_equal(g.n_items, 200);
	assert_int_equal(g.n_bad, 0);
	assert_time(g.snapshot, "2026-08-22T01:00:29Z");
	assert_string_equal(g.items[0].value, "77.90.185.20");
	assert_string_equal(g.items[0].tags, "lists=10");
	assert_int_equal(g.items[0].line, 8);
	got_fini(&g);
}

static void test_plain_samples(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("plain", "urlhaus-filter-online_2020-02-07_slice.txt", &g), 0);
	assert_int_equal(g.n_items, 250);
	assert_int_equal(g.n_bad, 0);
	assert_time(g.snapshot, "2020-02-07T12:08:47Z");
	assert_int_equal(count_type(&g, SH_IND_URL), 60);
	assert_true(count_type(&g, SH_IND_IP) > 100);
	assert_true(count_type(&g, SH_IND_DOMAIN) > 40);
	assert_string_equal(g.items[0].value, "01.losbuhosweb.com.mx");
	assert_int_equal(g.items[0].line, 7);
	got_fini(&g);

	got_init(&g);
	assert_int_equal(parse_file("plain", "urlhaus-filter-online_2019-06-13_head.txt", &g), 0);
	assert_int_equal(g.n_items, 194);
	assert_time(g.snapshot, "2019-06-13T06:57:19Z"); /* "+0000" */
	got_fini(&g);

	got_init(&g);
	assert_int_equal(parse_file("plain", "openphish_sample.txt", &g), 0);
	assert_int_equal(g.n_items, 30);
	assert_int_equal(count_type(&g, SH_IND_URL), 30);
	assert_int_equal(g.snapshots, 0);
	got_fini(&g);

	struct got h, a;
	got_init(&h);
	got_init(&a);
	assert_int_equal(parse_file("plain", "hosts_sample.txt", &h), 0);
	assert_int_equal(parse_file("plain", "adblock_sample.txt", &a), 0);
	assert_int_equal(h.n_items, 30);
	assert_int_equal(a.n_items, 30);
	assert_int_equal(h.n_bad + a.n_bad + h.n_skipped + a.n_skipped, 0);
	assert_int_equal(h.snapshot, a.snapshot);
	for (size_t i = 0; i < 30; i++) {
		assert_int_equal(h.items[i].type, SH_IND_DOMAIN);
		assert_string_equal(h.items[i].value, a.items[i].value);
	}
	got_fini(&h);
	got_fini(&a);
}

static void test_plain_forms(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_str("plain",
				   "! Last modified: 07 Feb 2020 12:08:47 UTC\n"
				   "0.0.0.0 a.example.com b.example.com  # two hosts\n"
				   "127.0.0.1 localhost\n"
				   "::1 ip6-localhost ip6-loopback\n"
				   "255.255.255.255 broadcasthost\n"
				   "||c.example.com^$third-party,script\n"
				   "||d.example.com/path^\n"
				   "|http://e.example.com/x|\n"
				   "@@||allowed.example.com^\n"
				   "||*.wild.example.com^\n"
				   "[2001:db8::1]\n"
				   "198.51.100.0/24 ; note\n"
				   "2130706433\n"
				   "f.example.com // note\n"
				   "|\n"
				   "||",
				   &g),
			 0);
	assert_time(g.snapshot, "2020-02-07T12:08:47Z");
	const char *want[] = {"a.example.com", "b.example.com", "c.example.com",
			      "d.example.com/path", "http://e.example.com/x", "2001:db8::1",
			      "198.51.100.0/24", "f.example.com"};
	assert_int_equal(g.n_items, 8);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(g.items[i].value, want[i]);
	assert_int_equal(g.items[0].line, 2);
	assert_int_equal(g.items[1].line, 2);
	assert_int_equal(g.n_skipped, 2); /* @@ exception and wildcard */
	assert_int_equal(g.n_bad, 3); /* a bare number is not an address; empty rules */
	assert_int_equal(g.bad[0].line, 13);
	assert_int_equal(g.bad[1].line, 15);
	assert_int_equal(g.bad[2].line, 16);
	got_fini(&g);

	/* a prefix length out of range is not a URL with the path "/33" */
	got_init(&g);
	assert_int_equal(parse_str("plain", "198.51.100.0/33\n192.0.2.1/32\n192.0.2.1/24/x\n", &g), 0);
	assert_int_equal(g.n_bad, 1);
	assert_int_equal(g.bad[0].line, 1);
	assert_int_equal(g.n_items, 2);
	assert_int_equal(g.items[0].type, SH_IND_IP);
	assert_string_equal(g.items[0].value, "192.0.2.1");
	assert_int_equal(g.items[1].type, SH_IND_URL);
	got_fini(&g);
}

static void test_stix(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_file("stix", "stix_bundle_sample.json", &g), 0);
	assert_int_equal(g.n_bad, 0);
	assert_int_equal(g.n_skipped, 1); /* the file-hash indicator */
	assert_time(g.snapshot, "2026-03-05T12:00:00Z");
	assert_int_equal(g.n_items, 8);
	struct got_item *x = &g.items[0];
	assert_string_equal(x->value, "198.51.100.7");
	assert_string_equal(x->malware, "Remcos");
	assert_string_equal(x->threat, "malicious-activity");
	assert_string_equal(x->tags, "c2,attribution");
	assert_string_equal(x->ref, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
	assert_time(x->first_seen, "2026-03-02T08:17:27Z");
	assert_int_equal(x->status, SH_STATUS_UNKNOWN);
	assert_int_equal(x->line, 23);
	assert_string_equal(g.items[1].value, "c2.example.com");
	assert_string_equal(g.items[2].value, "c2.example.net");
	assert_string_equal(g.items[3].value, "http://203.0.113.9/gate.php");
	assert_int_equal(g.items[3].line, g.items[1].line);
	assert_null(g.items[1].malware);
	/* ISSUBSET prefix, valid_until before the bundle's time: offline */
	assert_string_equal(g.items[4].value, "192.0.2.0/24");
	assert_int_equal(g.items[4].status, SH_STATUS_OFFLINE);
	/* revoked */
	assert_string_equal(g.items[5].value, "2001:db8:5::1");
	assert_int_equal(g.items[5].status, SH_STATUS_OFFLINE);
	/* observables */
	assert_string_equal(g.items[6].value, "https://login.example.org/verify/account");
	assert_string_equal(g.items[7].value, "198.51.100.3");
	got_fini(&g);
}

static void test_stix_patterns(void **state)
{
	(void)state;
	static const struct {
		const char *pattern;
		size_t items, bad, skipped;
	} cases[] = {
		{"[ipv4-addr:value = '192.0.2.1']", 1, 0, 0},
		{"([ipv4-addr:value = '192.0.2.1'] OR [ipv6-addr:value = '2001:db8::1'])", 2, 0, 0},
		{"[(domain-name:value = 'a.example.com' OR domain-name:value = 'b.example.com')]", 2, 0, 0},
		{"[url:value = 'http://x.example.com/it\\\\'s']", 1, 0, 0},
		{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", 1, 0, 0},
		{"[ipv4-addr:value = '192.0.2.1'] or [file:hashes.MD5 = 'abc']", 1, 0, 1},
		{"[file:hashes.'SHA-256' = 'abc']", 0, 0, 1},
		{"[domain-name:value ISSUBSET 'example.com']", 0, 1, 0},
		{"[ipv4-addr:value != '192.0.2.1']", 0, 1, 0},
		{"[ipv4-addr:value MATCHES '^192']", 0, 1, 0},
		{"[ipv4-addr:resolves_to_refs[*].value = '192.0.2.1']", 0, 1, 0},
		{"[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']", 0, 1, 0},
		{"[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES", 0, 1, 0},
		{"[ipv4-addr:value = 192]", 0, 1, 0},
		{"ipv4-addr:value = '192.0.2.1'", 0, 1, 0},
		{"[ipv4-addr:value = '192.0.2.1'", 0, 1, 0},
		{"[ipv4-addr:value = '192.0.2.1", 0, 1, 0},
		{"[ipv4-addr:value = '192.0.2.1'])", 0, 1, 0},
		{"", 0, 1, 0},
		{"[ipv4-addr:value = 'example.com']", 0, 1, 0},
		{"[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.300']", 1, 1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char doc[1024];
		snprintf(doc, sizeof(doc),
			 "{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n"
			 "{\"type\": \"indicator\", \"id\": \"indicator--1\", \"pattern\": \"%s\", "
			 "\"pattern_type\": \"stix\"}]}",
			 cases[i].pattern);
		struct got g;
		got_init(&g);
		assert_int_equal(parse_str("stix", doc, &g), 0);
		if (g.n_items != cases[i].items || g.n_bad != cases[i].bad ||
		    g.n_skipped != cases[i].skipped)
			fail_msg("%s: %zu items, %zu bad, %zu skipped", cases[i].pattern, g.n_items,
				 g.n_bad, g.n_skipped);
		for (size_t k = 0; k < g.n_bad; k++)
			assert_int_equal(g.bad[k].line, 2);
		got_fini(&g);
	}
}

static void test_stix_bundle_errors(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_str("stix", "{\"type\": \"indicator\", \"objects\": []}", &g),
			 SH_EINVAL);
	assert_int_equal(g.n_bad, 1);
	got_fini(&g);
	got_init(&g);
	assert_int_equal(parse_str("stix", "{\"type\": \"bundle\", \"objects\": {}}", &g), SH_EINVAL);
	assert_int_equal(g.n_bad, 1);
	got_fini(&g);
	got_init(&g);
	assert_int_equal(parse_str("stix", "{\"type\": \"bundle\", \"id\": \"bundle--1\"}", &g), 0);
	assert_int_equal(g.n_items + g.n_bad, 0);
	got_fini(&g);
	got_init(&g);
	assert_int_equal(parse_str("stix",
				   "{\"type\": \"bundle\", \"objects\": [{\"type\": \"indicator\", "
				   "\"pattern\": \"[x:y = 'z']\", \"pattern_type\": \"sigma\"}]}",
				   &g),
			 0);
	assert_int_equal(g.n_skipped, 1);
	got_fini(&g);
}

/* ---- malformed input ------------------------------------------------------------------------- */

/* The committed malformed files and their expected outcome (EXPECTED.tsv). */
static void test_malformed_files(void **state)
{
	(void)state;
	FILE *f = fopen(DATA "malformed/EXPECTED.tsv", "r");
	assert_non_null(f);
	char line[512];
	unsigned files = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		char name[128], format[128], lines[256] = "";
		size_t good;
		if (sscanf(line, "%127[^\t]\t%zu\t%255[0-9,]", name, &good, lines) < 2)
			fail_msg("bad EXPECTED.tsv line: %s", line);
		snprintf(format, sizeof(format), "%s", name);
		*strrchr(format, '.') = '\0';
		char path[256];
		snprintf(path, sizeof(path), "malformed/%s", name);
		struct got g;
		got_init(&g);
		int rc = parse_file(format, path, &g);
		if (rc != 0 || g.n_items != good)
			fail_msg("%s: rc %d, %zu items, want %zu", name, rc, g.n_items, good);
		char have[256] = "";
		size_t k = 0;
		for (size_t i = 0; i < g.n_bad; i++)
			k += (size_t)snprintf(have + k, sizeof(have) - k, "%s%lu", i ? "," : "",
					      g.bad[i].line);
		/* reasons arrive in line order except where a record was read up front */
		unsigned long want_lines[64], n_want = 0;
		for (char *p = lines; *p; p++) {
			want_lines[n_want++] = strtoul(p, &p, 10);
			if (!*p)
				break;
		}
		if (n_want != g.n_bad)
			fail_msg("%s: bad lines %s, want %s", name, have, lines);
		for (size_t i = 0; i < n_want; i++)
			if (!has_bad_line(&g, want_lines[i]))
				fail_msg("%s: bad lines %s, want %s", name, have, lines);
		got_fini(&g);
		files++;
	}
	fclose(f);
	assert_int_equal(files, N_FORMATS);
}

/* A line or record of about 1 MB between two good ones, per format. */
static void test_huge_line(void **state)
{
	(void)state;
	static const struct {
		const char *format, *good, *bad; /* bad: %s is the 1 MB token */
	} cases[] = {
		{"urlhaus",
		 "\"1\",\"2026-08-18 16:17:08\",\"http://192.0.2.1/\",\"online\",\"\",\"x\",\"None\",\"r\",\"x\"\n",
		 "\"1\",\"2026-08-18 16:17:08\",\"http://192.0.2.1/%s\",\"online\",\"\",\"x\",\"None\",\"r\","
		 "\"x\"\n"},
		{"feodo", "\"2024-02-08 19:20:49\",\"192.0.2.9\",\"5000\",\"offline\",\"2024-03-11\",\"P\"\n",
		 "\"2024-02-08 19:20:49\",\"192.0.2.%s\",\"5000\",\"offline\",\"2024-03-11\",\"P\"\n"},
		{"threatfox-csv",
		 "\"2026-10-07 11:44:51\", \"1\", \"http://192.0.2.1/\", \"url\", \"x\", \"x\", \"None\", \"X\", "
		 "\"\", \"100\", \"False\", \"None\", \"None\", \"0\", \"r\"\n",
		 "\"2026-10-07 11:44:51\", \"1\", \"http://192.0.2.1/%s\", \"url\", \"x\", \"x\", \"None\", \"X\", "
		 "\"\", \"100\", \"False\", \"None\", \"None\", \"0\", \"r\"\n"},
		{"phishtank-csv", "1,http://192.0.2.1/,d,2026-08-18T15:55:12+00:00,yes,x,yes,Other\n",
		 "1,http://192.0.2.1/%s,d,2026-08-18T15:55:12+00:00,yes,x,yes,Other\n"},
		{"drop-json", "{\"cidr\":\"192.0.2.0/24\",\"sblid\":\"SBL1\"}\n",
		 "{\"cidr\":\"192.0.2.0/24%s\",\"sblid\":\"SBL1\"}\n"},
		{"drop", "192.0.2.0/24 ; SBL1\n", "192.0.2.0/24%s ; SBL1\n"},
		{"firehol", "192.0.2.9\n", "192.0.2.%s\n"},
		{"ipsum", "192.0.2.1\t1\n", "192.0.2.1\t1%s\n"},
		{"plain", "a.example.com\n", "%s.example.com\n"},
	};
	const size_t big = 1 << 20;
	char *tok = malloc(big + 1);
	assert_non_null(tok);
	memset(tok, 'a', big);
	tok[big] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t cap = 2 * strlen(cases[i].good) + strlen(cases[i].bad) + big + 1;
		char *doc = malloc(cap);
		assert_non_null(doc);
		int k = snprintf(doc, cap, "%s", cases[i].good);
		k += snprintf(doc + k, cap - (size_t)k, cases[i].bad, tok);
		k += snprintf(doc + k, cap - (size_t)k, "%s", cases[i].good);
		struct got g;
		got_init(&g);
		assert_int_equal(parse_buf(cases[i].format, doc, (size_t)k, &g), 0);
		if (g.n_items != 2 || g.n_bad != 1 || g.bad[0].line != 2)
			fail_msg("%s: %zu items, %zu bad", cases[i].format, g.n_items, g.n_bad);
		assert_true(strlen(g.bad[0].why) < 400);
		got_fini(&g);
		free(doc);
	}
	/* the JSON formats: a 1 MB string inside one record */
	static const struct {
		const char *format, *tmpl;
		unsigned long bad_line;
	} json[] = {
		{"threatfox-json", "{\"1\": [{\"ioc_value\": \"http://192.0.2.1/x\", \"ioc_type\": \"url\"}],\n"
				   "\"2\": [{\"ioc_value\": \"http://192.0.2.1/%s\", \"ioc_type\": \"url\"}],\n"
				   "\"3\": [{\"ioc_value\": \"192.0.2.3:80\", \"ioc_type\": \"ip:port\"}]}",
		 2},
		{"phishtank-json", "[{\"url\": \"http://192.0.2.1/x\"},\n{\"url\": \"http://192.0.2.1/%s\"},\n"
				   "{\"url\": \"http://192.0.2.3/\"}]",
		 2},
		{"stix", "{\"type\": \"bundle\", \"objects\": [{\"type\": \"url\", \"value\": \"http://x.example/\"},\n"
			 "{\"type\": \"url\", \"value\": \"http://192.0.2.1/%s\"},\n"
			 "{\"type\": \"ipv4-addr\", \"value\": \"192.0.2.3\"}]}",
		 2},
	};
	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
		size_t cap = strlen(json[i].tmpl) + big + 1;
		char *doc = malloc(cap);
		assert_non_null(doc);
		int k = snprintf(doc, cap, json[i].tmpl, tok);
		struct got g;
		got_init(&g);
		assert_int_equal(parse_buf(json[i].format, doc, (size_t)k, &g), 0);
		if (g.n_items != 2 || g.n_bad != 1 || g.bad[0].line != json[i].bad_line)
			fail_msg("%s: %zu items, %zu bad", json[i].format, g.n_items, g.n_bad);
		got_fini(&g);
		free(doc);
	}
	free(tok);
}

/* An empty or blank file is an empty snapshot in every format. */
static void test_empty_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FORMATS; i++) {
		const char *inputs[] = {"", "\n", "\r\n\r\n", "   \n\t\n", "\xEF\xBB\xBF\n"};
		for (size_t k = 0; k < 5; k++) {
			struct got g;
			got_init(&g);
			assert_int_equal(parse_str(all_formats[i], inputs[k], &g), 0);
			assert_int_equal(g.n_items + g.n_bad + g.n_skipped, 0);
			got_fini(&g);
		}
		/* a zero-length buffer need not be readable at all */
		struct got g;
		got_init(&g);
		assert_int_equal(parse_buf(all_formats[i], NULL, 0, &g), 0);
		assert_int_equal(g.n_items, 0);
		got_fini(&g);
	}
	/* but a JSON file that is not JSON is unusable */
	struct got g;
	got_init(&g);
	assert_int_equal(parse_str("stix", "198.51.100.77\n", &g), SH_EINVAL);
	assert_int_equal(g.n_bad, 1);
	assert_int_equal(g.bad[0].line, 1);
	got_fini(&g);
}

/* Cutting a genuine file anywhere never crashes; text formats keep every complete line (only
 * the cut one may be bad), JSON formats refuse the file before reporting any item. */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_SAMPLES; i++) {
		char path[512];
		size_t len;
		snprintf(path, sizeof(path), DATA "%s", samples[i].file);
		char *buf = load(path, &len);
		struct got full;
		got_init(&full);
		assert_int_equal(parse_buf(samples[i].format, buf, len, &full), 0);
		bool json = strcmp(samples[i].format, "threatfox-json") == 0 ||
			    strcmp(samples[i].format, "phishtank-json") == 0 ||
			    strcmp(samples[i].format, "stix") == 0;
		size_t content = len;
		while (content > 0 && (buf[content - 1] == '\n' || buf[content - 1] == '\r'))
			content--;
		for (size_t cut = 1; cut < content; cut += 1 + len / 37) {
			char *part = malloc(cut);
			assert_non_null(part);
			memcpy(part, buf, cut);
			struct got g;
			got_init(&g);
			int rc = parse_buf(samples[i].format, part, cut, &g);
			assert_true(g.n_items <= full.n_items);
			if (json) {
				if (rc != SH_EINVAL)
					fail_msg("%s cut at %zu: rc %d", samples[i].file, cut, rc);
				assert_int_equal(g.n_items, 0);
				assert_true(g.n_bad >= 1);
			} else {
				assert_int_equal(rc, 0);
				/* the cut line, and for NDJSON the missing metadata count */
				assert_true(g.n_bad <= 1);
			}
			got_fini(&g);
			free(part);
		}
		got_fini(&full);
		free(buf);
	}
}

/* Deterministic garbage, and garbage spliced into genuine files, through every parser. */
static void test_garbage(void **state)
{
	(void)state;
	uint32_t x = 2463534242u;
	char *buf = malloc(8192);
	assert_non_null(buf);
	for (size_t round = 0; round < 200; round++) {
		size_t n = 1 + round * 37 % 8191;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* mostly separators and printable bytes, some NUL, CR and high bytes */
			static const char alphabet[] = "\n\n\r,\"\"{}[]:; \t#!|^$/.0123456789abcf:";
			buf[i] = (x >> 8) % 4 == 0 ? (char)(x & 0xff)
						   : alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
		}
		for (size_t f = 0; f < N_FORMATS; f++) {
			struct got g;
			got_init(&g);
			int rc = parse_buf(all_formats[f], buf, n, &g);
			assert_true(rc <= 0);
			unsigned long lines = 1;
			for (size_t i = 0; i < n; i++)
				lines += buf[i] == '\n';
			for (size_t i = 0; i < g.n_bad; i++)
				assert_true(g.bad[i].line >= 1 && g.bad[i].line <= lines);
			got_fini(&g);
		}
	}
	free(buf);
}

static void test_bom_crlf_nul(void **state)
{
	(void)state;
	size_t len;
	char *buf = load(DATA "urlhaus_csv_online_2026-08-18_head.csv", &len);
	char *bom = malloc(len + 3);
	assert_non_null(bom);
	memcpy(bom, "\xEF\xBB\xBF", 3);
	memcpy(bom + 3, buf, len);
	struct got g;
	got_init(&g);
	assert_int_equal(parse_buf("urlhaus", bom, len + 3, &g), 0);
	assert_int_equal(g.n_items, 78);
	assert_time(g.snapshot, "2026-08-18T16:17:08Z");
	got_fini(&g);
	free(bom);
	free(buf);

	/* a NUL in a text field is cleaned; in the indicator it makes the line bad */
	const char doc[] = "192.0.2.1\t3\r\n192.0.2.2\0\t3\r\n192.0.2.3\t3";
	got_init(&g);
	assert_int_equal(parse_buf("ipsum", doc, sizeof(doc) - 1, &g), 0);
	assert_int_equal(g.n_items, 2);
	assert_int_equal(g.n_bad, 1);
	assert_int_equal(g.bad[0].line, 2);
	assert_string_equal(g.items[1].tags, "lists=3");
	got_fini(&g);

	const char csv[] = "\"1\",\"2026-08-18 16:17:08\",\"http://192.0.2.1/x\",\"online\",\"\","
			   "\"mal\0ware\",\"a\xff" "b\",\"r\",\"x\"\n";
	got_init(&g);
	assert_int_equal(parse_buf("urlhaus", csv, sizeof(csv) - 1, &g), 0);
	assert_int_equal(g.n_items, 1);
	assert_string_equal(g.items[0].threat, "mal?ware");
	assert_string_equal(g.items[0].tags, "a?b");
	got_fini(&g);
}

static void test_bad_header_time(void **state)
{
	(void)state;
	struct got g;
	got_init(&g);
	assert_int_equal(parse_str("feodo",
				   "# Last updated: sometime last week\n"
				   "\"2023-05-23 17:51:44\",\"192.0.2.73\",\"1194\",\"online\",\"2024-04-01\",\"X\"\n",
				   &g),
			 0);
	assert_int_equal(g.snapshots, 0);
	assert_int_equal(g.n_bad, 1);
	assert_int_equal(g.bad[0].line, 1);
	assert_int_equal(g.n_items, 1);
	got_fini(&g);

	got_init(&g);
	assert_int_equal(parse_str("drop-json",
				   "{\"cidr\":\"192.0.2.0/24\",\"sblid\":\"SBL1\"}\n"
				   "{\"type\":\"metadata\",\"timestamp\":\"soon\",\"records\":1}\n",
				   &g),
			 0);
	assert_int_equal(g.snapshots, 0);
	assert_int_equal(g.n_bad, 1);
	assert_int_equal(g.bad[0].line, 2);
	got_fini(&g);
}

/* A non-zero return from the item callback stops the parse and comes back from parse(). */
static void test_stop(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_SAMPLES; i++) {
		struct got g;
		got_init(&g);
		g.stop_at = 3;
		g.stop_value = 7;
		int rc = parse_file(samples[i].format, samples[i].file, &g);
		if (strcmp(samples[i].file, "spamhaus_asndrop_sample.json") == 0) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, 7);
			assert_int_equal(g.n_items, 3);
		}
		got_fini(&g);
	}
}

/* Only item is required; the other callbacks may be NULL. */
static void test_minimal_sink(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FORMATS; i++) {
		char path[256];
		struct got g;
		got_init(&g);
		snprintf(path, sizeof(path), DATA "malformed/%s", all_formats[i]);
		const char *ext[] = {".csv", ".json", ".txt", ".netset"};
		size_t len = 0;
		char *buf = NULL;
		for (size_t e = 0; e < 4 && !buf; e++) {
			char p2[300];
			snprintf(p2, sizeof(p2), "%s%s", path, ext[e]);
			FILE *f = fopen(p2, "rb");
			if (f) {
				fclose(f);
				buf = load(p2, &len);
			}
		}
		assert_non_null(buf);
		struct sh_feed_sink sink = {.item = got_item, .arg = &g};
		assert_int_equal(sh_feed_format_find(all_formats[i])->parse(buf, len, &sink), 0);
		assert_true(g.n_items > 0);
		got_fini(&g);
		free(buf);
	}
}

/* ---- the shared reader ---------------------------------------------------------------------- */
static void test_lines(void **state)
{
	(void)state;
	struct sh_lines r;
	struct sh_line ln;
	const char doc[] = "a\r\n\nb\rc\nlast";
	sh_lines_init(&r, doc, sizeof(doc) - 1);
	assert_true(sh_lines_next(&r, &ln));
	assert_int_equal(ln.n, 1);
	assert_int_equal(ln.no, 1);
	assert_true(sh_lines_next(&r, &ln));
	assert_int_equal(ln.n, 0);
	assert_true(sh_lines_next(&r, &ln));
	assert_int_equal(ln.n, 3); /* a lone CR inside a line stays */
	assert_true(sh_lines_next(&r, &ln));
	assert_int_equal(ln.no, 4);
	assert_int_equal(ln.n, 4);
	assert_memory_equal(ln.s, "last", 4);
	assert_false(sh_lines_next(&r, &ln));
	sh_lines_init(&r, "x\n", 2);
	assert_true(sh_lines_next(&r, &ln));
	assert_false(sh_lines_next(&r, &ln)); /* no empty line after the final newline */
	sh_lines_init(&r, "", 0);
	assert_false(sh_lines_next(&r, &ln));
}

static void assert_fields(const char *line, size_t n, ...)
{
	struct sh_csv c;
	const char *why = NULL;
	sh_csv_init(&c);
	assert_int_equal(sh_csv_split(&c, line, strlen(line), &why), 0);
	assert_int_equal(c.n, n);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n && i < SH_CSV_MAX_FIELDS; i++) {
		const char *want = va_arg(ap, const char *);
		if (c.f[i].n != strlen(want) || memcmp(c.f[i].s, want, c.f[i].n) != 0)
			fail_msg("%s: field %zu is '%.*s', want '%s'", line, i, (int)c.f[i].n, c.f[i].s,
				 want);
	}
	va_end(ap);
	sh_csv_fini(&c);
}

static void test_csv(void **state)
{
	(void)state;
	assert_fields("a,b,c", 3, "a", "b", "c");
	assert_fields("\"a,b\",c", 2, "a,b", "c");
	assert_fields("\"say \"\"hi\"\"\",\"x\"\"\"", 2, "say \"hi\"", "x\"");
	assert_fields("\"a\", \"b\",  \"c\"  ", 3, "a", "b", "c");
	assert_fields("a,,c,", 4, "a", "", "c", "");
	assert_fields("", 1, "");
	assert_fields("\"\"", 1, "");
	assert_fields(" a , b ", 2, "a", "b");
	struct sh_csv c;
	const char *why;
	sh_csv_init(&c);
	assert_int_equal(sh_csv_split(&c, "\"abc,d", 6, &why), SH_EINVAL);
	assert_non_null(why);
	assert_int_equal(sh_csv_split(&c, "\"abc\"x,d", 8, &why), SH_EINVAL);
	char many[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(many, i ? ",x" : "x");
	assert_int_equal(sh_csv_split(&c, many, strlen(many), &why), 0);
	assert_int_equal(c.n, 40); /* counted past the stored fields */
	sh_csv_fini(&c);
}

static void test_header_value(void **state)
{
	(void)state;
	const char *v;
	size_t n;
	const char *l = "# Last updated: 2026-08-18 16:17:08 (UTC)                      #";
	assert_true(sh_header_value(l, strlen(l), "last updated", &v, &n));
	assert_int_equal(n, strlen("2026-08-18 16:17:08 (UTC)"));
	l = "# This File Date  : Tue Nov  3 13:27:06 UTC 2015";
	assert_true(sh_header_value(l, strlen(l), "This File Date", &v, &n));
	assert_memory_equal(v, "Tue Nov  3 13:27:06 UTC 2015", n);
	l = "! Updated: Fri, 07 Feb 2020 12:08:47 UTC";
	assert_true(sh_header_value(l, strlen(l), "Updated", &v, &n));
	assert_false(sh_header_value(l, strlen(l), "Update", &v, &n));
	l = "; Last-Modified: Mon, 03 Mar 2025 19:07:54 GMT";
	assert_true(sh_header_value(l, strlen(l), "Last-Modified", &v, &n));
	l = "# Last updated";
	assert_false(sh_header_value(l, strlen(l), "Last updated", &v, &n));
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(sh_utf8_valid("abc", 3));
	assert_true(sh_utf8_valid("\xc3\xa9\xe4\xbe\x8b\xf0\x9f\x98\x80", 9));
	assert_false(sh_utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(sh_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(sh_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	assert_false(sh_utf8_valid("\xe4\xbe", 2));         /* truncated */
	assert_false(sh_utf8_valid("\xff", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_detect_samples),
		cmocka_unit_test(test_detect_nothing),
		cmocka_unit_test(test_urlhaus),
		cmocka_unit_test(test_urlhaus_old_layout),
		cmocka_unit_test(test_feodo),
		cmocka_unit_test(test_threatfox_json),
		cmocka_unit_test(test_threatfox_csv),
		cmocka_unit_test(test_threatfox_ipv6_port),
		cmocka_unit_test(test_phishtank),
		cmocka_unit_test(test_drop_json),
		cmocka_unit_test(test_drop_json_count),
		cmocka_unit_test(test_drop_legacy),
		cmocka_unit_test(test_firehol),
		cmocka_unit_test(test_ipsum),
		cmocka_unit_test(test_plain_samples),
		cmocka_unit_test(test_plain_forms),
		cmocka_unit_test(test_stix),
		cmocka_unit_test(test_stix_patterns),
		cmocka_unit_test(test_stix_bundle_errors),
		cmocka_unit_test(test_malformed_files),
		cmocka_unit_test(test_huge_line),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bom_crlf_nul),
		cmocka_unit_test(test_bad_header_time),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_minimal_sink),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_header_value),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
