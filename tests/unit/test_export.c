/* Unit tests for the exports: digests and name-based UUIDs against published vectors, JSON
 * string escaping, prefix aggregation without overlaps, formatting in parallel chunks, the
 * version history and its state file, replacing files through a spare, and the listing set
 * and guard on a real feed slice. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/ingest.h"
#include "engine/listing.h"
#include "export/export.h"
#include "export/history.h"
#include "lib/timefmt.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_digests(void **state)
{
	(void)state;
	uint8_t d[20];
	char h[41];
	/* FIPS 180 and RFC 1321 test vectors, including the 56-byte padding edge */
	sh_sha1("abc", 3, d);
	hex(d, 20, h);
	assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *m56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sh_sha1(m56, strlen(m56), d);
	hex(d, 20, h);
	assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	sh_sha1("", 0, d);
	hex(d, 20, h);
	assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sh_md5("", 0, d);
	hex(d, 16, h);
	assert_string_equal(h, "d41d8cd98f00b204e9800998ecf8427e");
	sh_md5("abc", 3, d);
	hex(d, 16, h);
	assert_string_equal(h, "900150983cd24fb0d6963f7d28e17f72");
	const char *m80 = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
	sh_md5(m80, strlen(m80), d);
	hex(d, 16, h);
	assert_string_equal(h, "57edf4a22be3c955ac49da2e2107b67a");
	/* RFC 4122 version 5: uuid5(NAMESPACE_DNS, "python.org") as Python's uuid module has it */
	static const uint8_t dns_ns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
					   0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
	char u[37];
	sh_uuid5(dns_ns, "python.org", 10, u);
	assert_string_equal(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	/* and the sheriff namespace is uuid5(NAMESPACE_DNS, "sheriff.invalid") */
	sh_uuid5(dns_ns, "sheriff.invalid", 15, u);
	char ns[37];
	static const char hexd[] = "0123456789abcdef";
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			ns[k++] = '-';
		ns[k++] = hexd[sh_uuid_ns_sheriff[i] >> 4];
		ns[k++] = hexd[sh_uuid_ns_sheriff[i] & 15];
	}
	ns[k] = '\0';
	assert_string_equal(u, ns);
}

static void test_json_strings(void **state)
{
	(void)state;
	struct sh_wbuf w;
	assert_int_equal(sh_wbuf_init(&w, -1), 0);
	sh_wb_json_str(&w, "a\"b\\c\n\x01 caf\xc3\xa9 \xff\xfe end");
	sh_wb_char(&w, '\0');
	assert_string_equal(w.buf, "\"a\\\"b\\\\c\\n\\u0001 caf\xc3\xa9 \\ufffd\\ufffd end\"");
	w.len = 0;
	sh_wb_time_ms(&w, INT64_C(1581077327123));
	sh_wb_char(&w, ' ');
	sh_wb_i64(&w, -42);
	sh_wb_char(&w, ' ');
	sh_wb_ipv4(&w, 0x7f000102u);
	sh_wb_char(&w, '\0');
	assert_string_equal(w.buf, "2020-02-07T12:08:47.123Z -42 127.0.1.2");
	/* an in-memory buffer grows past its first size */
	w.len = 0;
	for (int i = 0; i < 300000; i++)
		sh_wb_str(&w, "0123456789");
	assert_int_equal(w.len, 3000000);
	assert_int_equal(w.err, 0);
	sh_wbuf_fini(&w);
	/* the same escapes from the word-at-a-time scan: specials at every offset of long runs */
	assert_int_equal(sh_wbuf_init(&w, -1), 0);
	for (int at = 0; at < 20; at++) {
		char in[40], want[80];
		memset(in, 'x', sizeof(in));
		in[sizeof(in) - 1] = '\0';
		in[at] = "\"\\\t\x1f\x80"[at % 5];
		w.len = 0;
		sh_wb_json_str(&w, in);
		const char *esc[] = {"\\\"", "\\\\", "\\t", "\\u001f", "\\ufffd"};
		snprintf(want, sizeof(want), "\"%.*s%s%s\"", at, in, esc[at % 5], in + at + 1);
		assert_int_equal(w.len, strlen(want));
		assert_memory_equal(w.buf, want, w.len);
	}
	sh_wbuf_fini(&w);
}

/* A direct (O_DIRECT where the file system takes it) writer gives the file exactly the bytes
 * written, whatever their length, through several buffer hand-overs and a padded last block. */
static void test_direct_writes(void **state)
{
	(void)state;
	char path[] = "/tmp/sh-direct-XXXXXX";
	size_t lens[] = {0, 1, 4095, 4096, 4097, 9 * 1024 * 1024 + 123};
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		strcpy(path, "/tmp/sh-direct-XXXXXX");
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		struct sh_wbuf w;
		assert_int_equal(sh_wbuf_init_direct(&w, fd), 0);
		for (size_t i = 0; i < lens[k]; i++)
			sh_wb_char(&w, (char)('a' + i % 23));
		assert_int_equal(sh_wbuf_flush(&w), 0);
		sh_wb_str(&w, "+tail"); /* writing on after a flush appends */
		assert_int_equal(sh_wbuf_flush(&w), 0);
		sh_wbuf_fini(&w);
		close(fd);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		size_t ok = 0, n = 0;
		int ch;
		while ((ch = fgetc(f)) != EOF) {
			char want = n < lens[k] ? (char)('a' + n % 23) : "+tail"[n - lens[k] < 5 ? n - lens[k] : 0];
			ok += ch == (unsigned char)want;
			n++;
		}
		fclose(f);
		unlink(path);
		assert_int_equal(n, lens[k] + 5);
		assert_int_equal(ok, n);
	}
}

static struct sh_listing mk(const char *v, int64_t expires)
{
	struct sh_listing l;
	memset(&l, 0, sizeof(l));
	assert_int_equal(sh_prefix_parse(v, strlen(v), true, &l.prefix), 0);
	l.type = strchr(v, '/') ? SH_IND_CIDR : SH_IND_IP;
	l.value = v;
	l.sources = "t";
	l.expires = expires;
	return l;
}

static bool wants_any(const struct sh_export_ctx *c, const struct sh_listing *l)
{
	return true;
}

static void test_aggregate(void **state)
{
	(void)state;
	struct sh_listing v[] = {
		mk("1.2.3.0/24", 100), mk("1.2.3.4", 200), mk("1.2.3.5", 200),
		mk("1.2.4.0/24", 100), mk("9.0.0.0/8", 100), mk("9.9.9.9", 50),
		mk("255.255.255.255", 100),
	};
	struct sh_listing_set set = {.v = v, .n = sizeof(v) / sizeof(v[0])};
	struct sh_export_ctx c = {.set = &set};
	struct sh_segment *seg;
	size_t n;
	assert_int_equal(sh_export_aggregate(&c, wants_any, SH_AF_V4, &seg, &n), 0);
	static const char *const want[] = {
		"1.2.3.0/30 100",  "1.2.3.4/31 200", "1.2.3.6/31 100", "1.2.3.8/29 100",
		"1.2.3.16/28 100", "1.2.3.32/27 100", "1.2.3.64/26 100", "1.2.3.128/25 100",
		"1.2.4.0/24 100",  "9.0.0.0/8 100",   "255.255.255.255/32 100",
	};
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		char b[SH_PREFIX_STRLEN], line[80];
		sh_prefix_format(&seg[i].prefix, b);
		snprintf(line, sizeof(line), "%s %lld", b, (long long)seg[i].expires);
		assert_string_equal(line, want[i]);
	}
	/* 1.2.3.0/24 and 1.2.4.0/24 are adjacent with the same expiry but no common /23 */
	assert_null(seg[9].only);               /* 9.0.0.0/8 holds 9.9.9.9, which expires earlier */
	assert_null(seg[1].only);               /* two listings joined */
	assert_ptr_equal(seg[10].only, &v[6]);  /* the last address: no overflow */
	free(seg);
}

struct withdrawn_count {
	int n;
	int64_t mod;
};

static int count_withdrawn(const struct sh_export_version *x, void *arg)
{
	struct withdrawn_count *c = arg;
	c->n++;
	c->mod = x->modified_ms;
	assert_true(x->revoked_ms > 0);
	return 0;
}

static void test_history(void **state)
{
	(void)state;
	struct sh_export_history *h;
	assert_int_equal(sh_export_history_new(&h), 0);
	struct sh_listing a = mk("1.2.3.4", 0), b = mk("5.6.7.8", 0);
	a.first_seen = b.first_seen = 1000;
	const struct sh_export_version *v;
	assert_int_equal(sh_export_history_touch(h, &a, "11", 2, 5000, &v), 0);
	assert_int_equal(v->created_ms, 5000);
	assert_int_equal(sh_export_history_touch(h, &b, "22", 2, 5000, &v), 0);
	char dir[] = "/tmp/sh-hist-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/x.state", dir);
	assert_int_equal(sh_export_state_save(path, "stix", 2, 5, h), 0);
	sh_export_history_free(h);

	assert_int_equal(sh_export_history_new(&h), 0);
	long long prev;
	char why[256];
	assert_int_equal(sh_export_state_load(path, "stix", &prev, h, why, sizeof(why)), 0);
	assert_int_equal(prev, 2);
	/* same content: versions kept; changed content: modified moves on */
	assert_int_equal(sh_export_history_touch(h, &a, "11", 2, 9000, &v), 0);
	assert_int_equal(v->created_ms, 5000);
	assert_int_equal(v->modified_ms, 5000);
	assert_int_equal(sh_export_history_touch(h, &a, "12", 2, 5000, &v), 0);
	assert_int_equal(v->modified_ms, 5001); /* never back, even with an older clock */
	/* b is not in this export: revoked now, kept for 100 s, then dropped */
	struct withdrawn_count ctr = {0, 0};
	assert_int_equal(sh_export_history_withdrawn(h, 9000, 100000, count_withdrawn, &ctr), 0);
	assert_int_equal(ctr.n, 1);
	assert_int_equal(ctr.mod, 9000);
	assert_int_equal(sh_export_state_save(path, "stix", 1, 9, h), 0);
	sh_export_history_free(h);

	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "stix", &prev, h, why, sizeof(why)), 0);
	ctr.n = 0;
	assert_int_equal(sh_export_history_touch(h, &a, "12", 2, 200000, &v), 0);
	assert_int_equal(sh_export_history_withdrawn(h, 200000, 100000, count_withdrawn, &ctr), 0);
	assert_int_equal(ctr.n, 0); /* past withdrawn_keep */
	sh_export_history_free(h);

	/* the wrong format, or damage, is an error that says so */
	assert_int_equal(sh_export_state_load(path, "misp", &prev, NULL, why, sizeof(why)), SH_EFORMAT);
	assert_non_null(strstr(why, "damaged at line 1"));
	FILE *f = fopen(path, "a");
	fputs("1\tx\n", f);
	fclose(f);
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "stix", &prev, h, why, sizeof(why)), 0);
	/* the records (a, b and the garbage) are read when needed: all of them here */
	assert_int_equal(sh_export_history_withdrawn(h, 9000, 100000, count_withdrawn, &ctr),
			 SH_EFORMAT);
	assert_int_equal(sh_export_history_damaged(h), 3);
	sh_export_history_free(h);

	/* a version 1 file (FNV-1a content hashes) still counts: the same content keeps its
	 * version, other content bumps it, and the file is saved as version 3 */
	f = fopen(path, "w");
	/* FNV-1a 64 of "11" is 0x07f89307b4ba0a57 */
	fputs("sheriff-export-state\t1\tstix\t2\t5\n"
	      "1\t5000\t5000\t07f89307b4ba0a57\t1000\t0\t1.2.3.4\n"
	      "1\t5000\t5000\t07f89307b4ba0a57\t1000\t0\t5.6.7.8\n", f);
	fclose(f);
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "stix", &prev, h, why, sizeof(why)), 0);
	assert_int_equal(sh_export_history_touch(h, &a, "11", 2, 9000, &v), 0);
	assert_int_equal(v->modified_ms, 5000);
	assert_int_equal(sh_export_history_touch(h, &b, "12", 2, 9000, &v), 0);
	assert_int_equal(v->modified_ms, 9000);
	assert_int_equal(sh_export_state_save(path, "stix", 2, 9, h), 0);
	sh_export_history_free(h);
	f = fopen(path, "r");
	char head[64];
	assert_non_null(fgets(head, sizeof(head), f));
	fclose(f);
	assert_string_equal(head, "sheriff-export-state\t3\tstix\t2\t9\n");
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "stix", &prev, h, why, sizeof(why)), 0);
	assert_int_equal(sh_export_history_touch(h, &a, "11", 2, 12000, &v), 0);
	assert_int_equal(v->modified_ms, 5000); /* the new hash of the same content matches */
	sh_export_history_free(h);
	unlink(path);
	rmdir(dir);
}

/* ---- formatting in parallel --------------------------------------------------------------- */
static int par_fmt(void *arg, size_t k, struct sh_export_chunk *out)
{
	size_t fail_at = *(const size_t *)arg;
	if (k == fail_at)
		return SH_EIO;
	/* chunks of different lengths, so that fast and slow ones overtake each other */
	for (size_t i = 0; i <= k % 7; i++)
		sh_wb_printf(&out->text, "%zu.%zu\n", k, i);
	sh_wb_printf(&out->extra, "%zu\n", k);
	out->stamp = (int64_t)k;
	return 0;
}

static void test_parallel_chunks(void **state)
{
	(void)state;
	/* every chunk, in order, with its own text, extra text and stamp */
	size_t fail_at = SIZE_MAX;
	struct sh_export_par *par;
	assert_int_equal(sh_export_par_start(1000, par_fmt, &fail_at, &par), 0);
	size_t k = 0;
	for (struct sh_export_chunk *c; (c = sh_export_par_next(par)) != NULL; k++) {
		char want[64];
		snprintf(want, sizeof(want), "%zu.0\n", k);
		assert_true(c->text.len >= strlen(want));
		assert_memory_equal(c->text.buf, want, strlen(want));
		snprintf(want, sizeof(want), "%zu\n", k);
		assert_int_equal(c->extra.len, strlen(want));
		assert_memory_equal(c->extra.buf, want, strlen(want));
		assert_int_equal(c->stamp, (int64_t)k);
	}
	assert_int_equal(k, 1000);
	assert_int_equal(sh_export_par_end(par), 0);
	/* a failing chunk ends the run with its error, before any later chunk is taken */
	fail_at = 500;
	assert_int_equal(sh_export_par_start(1000, par_fmt, &fail_at, &par), 0);
	for (k = 0; sh_export_par_next(par) != NULL; k++)
		;
	assert_true(k <= 500);
	assert_int_equal(sh_export_par_end(par), SH_EIO);
	/* the caller may stop early; no chunks at all is fine too */
	fail_at = SIZE_MAX;
	assert_int_equal(sh_export_par_start(1000, par_fmt, &fail_at, &par), 0);
	assert_non_null(sh_export_par_next(par));
	assert_int_equal(sh_export_par_end(par), 0);
	assert_int_equal(sh_export_par_start(0, par_fmt, &fail_at, &par), 0);
	assert_null(sh_export_par_next(par));
	assert_int_equal(sh_export_par_end(par), 0);
}

/* Serial steps run one at a time, in chunk order, each before its chunk is formatted. */
struct serial_run {
	atomic_size_t done;  /* serial steps done */
	atomic_bool overlap; /* two steps ran at once */
	atomic_int running;
	size_t fail_at;
};

static int serial_step(void *arg, size_t k)
{
	struct serial_run *r = arg;
	if (atomic_fetch_add(&r->running, 1) != 0)
		atomic_store(&r->overlap, true);
	size_t want = k;
	bool in_order = atomic_compare_exchange_strong(&r->done, &want, k + 1);
	atomic_fetch_sub(&r->running, 1);
	if (!in_order)
		return SH_EINVAL;
	return k == r->fail_at ? SH_EIO : 0;
}

static int serial_fmt(void *arg, size_t k, struct sh_export_chunk *out)
{
	struct serial_run *r = arg;
	/* this chunk's step has run */
	if (atomic_load(&r->done) <= k)
		return SH_EINVAL;
	sh_wb_printf(&out->text, "%zu\n", k);
	sh_wb_printf(&out->state, "s%zu\n", k);
	return 0;
}

static void test_parallel_serial(void **state)
{
	(void)state;
	struct serial_run r = {.fail_at = SIZE_MAX};
	atomic_init(&r.done, 0);
	atomic_init(&r.overlap, false);
	atomic_init(&r.running, 0);
	struct sh_export_par *par;
	assert_int_equal(sh_export_par_start_serial(2000, serial_step, serial_fmt, &r, &par), 0);
	size_t k = 0;
	for (struct sh_export_chunk *c; (c = sh_export_par_next(par)) != NULL; k++) {
		char want[64];
		snprintf(want, sizeof(want), "%zu\n", k);
		assert_int_equal(c->text.len, strlen(want));
		assert_memory_equal(c->text.buf, want, strlen(want));
		snprintf(want, sizeof(want), "s%zu\n", k);
		assert_int_equal(c->state.len, strlen(want));
		assert_memory_equal(c->state.buf, want, strlen(want));
	}
	assert_int_equal(sh_export_par_end(par), 0);
	assert_int_equal(k, 2000);
	assert_int_equal(atomic_load(&r.done), 2000);
	assert_false(atomic_load(&r.overlap));
	/* a failing step ends the run with its error; no later step runs */
	atomic_store(&r.done, 0);
	r.fail_at = 700;
	assert_int_equal(sh_export_par_start_serial(2000, serial_step, serial_fmt, &r, &par), 0);
	for (k = 0; sh_export_par_next(par) != NULL; k++)
		;
	assert_true(k <= 700);
	assert_int_equal(sh_export_par_end(par), SH_EIO);
	assert_int_equal(atomic_load(&r.done), 701);
}

/* The records an export writes as it goes, and then the state's end, make the whole state:
 * the published versions in the order written, then the withdrawn ones. */
static void test_state_streamed(void **state)
{
	(void)state;
	char values[6][16];
	struct sh_listing ls[6];
	for (int i = 0; i < 6; i++) {
		snprintf(values[i], sizeof(values[i]), "192.0.2.%d", i + 1);
		ls[i] = mk(values[i], 0);
	}
	char dir[] = "/tmp/sh-hist-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/x.state", dir);
	struct sh_export_history *h;
	assert_int_equal(sh_export_history_new(&h), 0);
	size_t idx[6];
	for (int i = 0; i < 6; i++) {
		assert_int_equal(sh_export_history_claim(h, &ls[i], 1000, &idx[i]), 0);
		sh_export_history_update(h, idx[i], "x", 1, 1000);
	}
	assert_int_equal(sh_export_state_save(path, "stix", 6, 1, h), 0);
	sh_export_history_free(h);

	/* the next export publishes 5, 3 and 1 (in that order) and a new one */
	long long prev;
	char why[256];
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "stix", &prev, h, why, sizeof(why)), 0);
	assert_int_equal(sh_export_history_reserve(h, 4), 0);
	struct sh_export_state *st;
	assert_int_equal(sh_export_state_begin(path, "stix", 4, 2, true, &st), 0);
	struct sh_wbuf *w = sh_export_state_records(st);
	struct sh_listing extra = mk("198.51.100.7", 0);
	const struct sh_listing *pub[] = {&ls[5], &ls[3], &ls[1], &extra};
	for (int i = 0; i < 4; i++) {
		size_t x;
		assert_int_equal(sh_export_history_claim(h, pub[i], 2000, &x), 0);
		sh_export_history_update(h, x, "x", 1, 2000);
		sh_export_history_record(h, x, w);
	}
	struct withdrawn_count wc = {0};
	assert_int_equal(sh_export_history_withdrawn(h, 2000, 1000000, count_withdrawn, &wc), 0);
	assert_int_equal(wc.n, 3);
	assert_int_equal(sh_export_state_end(st, h), 0);
	sh_export_history_free(h);

	/* read back: the four published, then the three withdrawn, each once */
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "stix", &prev, h, why, sizeof(why)), 0);
	assert_int_equal(prev, 4);
	const char *order[] = {values[5], values[3], values[1], "198.51.100.7",
			       values[0], values[2], values[4]};
	struct sh_listing all[7];
	for (int i = 0; i < 7; i++)
		all[i] = mk(order[i], 0);
	for (int i = 0; i < 7; i++) {
		size_t x;
		assert_int_equal(sh_export_history_claim(h, &all[i], 3000, &x), 0);
		assert_int_equal(x, (size_t)i);
		const struct sh_export_version *v = sh_export_history_update(h, x, "x", 1, 3000);
		if (i >= 4) /* withdrawn at 2000, back now: a new version */
			assert_int_equal(v->modified_ms, 3000);
		else if (i == 3)
			assert_int_equal(v->created_ms, 2000);
		else
			assert_int_equal(v->modified_ms, 1000);
	}
	sh_export_history_free(h);
	unlink(path);
	rmdir(dir);
}

/* A large history round-trips through its (binary) state file in order, and a damaged record
 * is reported with its number. */
static void test_history_large(void **state)
{
	(void)state;
	enum { N = 40000 };
	static char values[N][24];
	struct sh_listing *ls = calloc(N, sizeof(*ls));
	assert_non_null(ls);
	struct sh_export_history *h;
	assert_int_equal(sh_export_history_new(&h), 0);
	size_t idx;
	for (size_t i = 0; i < N; i++) {
		snprintf(values[i], sizeof(values[i]), "%zu.%zu.%zu.%zu", 1 + i / 65536, i / 256 % 256,
			 i % 256, i % 7);
		ls[i] = mk(values[i], 0);
		ls[i].first_seen = (int64_t)i;
		assert_int_equal(sh_export_history_claim(h, &ls[i], 1000 + (int64_t)i, &idx), 0);
		assert_int_equal(idx, i);
		char body[32];
		int n = snprintf(body, sizeof(body), "body %zu", i);
		const struct sh_export_version *v = sh_export_history_update(h, idx, body, (size_t)n, 0);
		assert_int_equal(v->created_ms, 1000 + (int64_t)i);
	}
	char dir[] = "/tmp/sh-hist-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/x.state", dir);
	assert_int_equal(sh_export_state_save(path, "misp", N, 5, h), 0);
	sh_export_history_free(h);

	long long prev;
	char why[512];
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "misp", &prev, h, why, sizeof(why)), 0);
	assert_int_equal(prev, N);
	/* walked in the saved order, every version is found where it was, unchanged */
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(sh_export_history_claim(h, &ls[i], 99999, &idx), 0);
		assert_int_equal(idx, i);
		char body[32];
		int n = snprintf(body, sizeof(body), "body %zu", i);
		const struct sh_export_version *v =
			sh_export_history_update(h, idx, body, (size_t)n, 99999);
		assert_int_equal(v->created_ms, 1000 + (int64_t)i);
		assert_int_equal(v->modified_ms, 1000 + (int64_t)i);
		assert_string_equal(v->value, values[i]);
	}
	/* out of order (the index), and an unknown listing */
	assert_int_equal(sh_export_history_claim(h, &ls[N / 3], 99999, &idx), 0);
	assert_int_equal(idx, N / 3);
	struct sh_listing other = mk("203.0.113.9", 0);
	assert_int_equal(sh_export_history_claim(h, &other, 99999, &idx), 0);
	assert_int_equal(idx, N);
	sh_export_history_free(h);

	/* damage record 3N/4 + 1: its type byte, after the header line and 80-byte records with
	 * their values */
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	char line[256];
	assert_non_null(fgets(line, sizeof(line), f));
	long off = (long)strlen(line);
	for (size_t i = 0; i < 3 * N / 4; i++)
		off += 80 + (long)strlen(values[i]) + 1;
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	fputc(9, f);
	fclose(f);
	/* records are read as the claims reach them: the walk in order stops at the bad one, and
	 * a look-up that needs them all (an unknown listing) fails as well */
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "misp", &prev, h, why, sizeof(why)), 0);
	assert_int_equal(sh_export_history_reserve(h, N), 0);
	size_t i = 0;
	int rc = 0;
	for (; i < N && (rc = sh_export_history_claim(h, &ls[i], 99999, &idx)) == 0; i++)
		assert_int_equal(idx, i);
	assert_int_equal(rc, SH_EFORMAT);
	assert_int_equal(i, 3 * N / 4);
	assert_int_equal(sh_export_history_damaged(h), 3 * N / 4 + 1);
	assert_int_equal(sh_export_history_claim(h, &other, 99999, &idx), SH_EFORMAT);
	sh_export_state_damaged(path, "misp", "entry", sh_export_history_damaged(h), why,
				sizeof(why));
	char want[64];
	snprintf(want, sizeof(want), "damaged at entry %d ", 3 * N / 4 + 1);
	assert_non_null(strstr(why, want));
	sh_export_history_free(h);
	/* and so does a state file that is read whole (a new one written from it) */
	assert_int_equal(sh_export_history_new(&h), 0);
	assert_int_equal(sh_export_state_load(path, "misp", &prev, h, why, sizeof(why)), 0);
	char copy[160];
	snprintf(copy, sizeof(copy), "%s.copy", path);
	assert_int_equal(sh_export_state_save(copy, "misp", N, 5, h), SH_EFORMAT);
	assert_int_equal(access(copy, F_OK), -1);
	sh_export_history_free(h);
	unlink(path);
	rmdir(dir);
	free(ls);
}

/* A MISP feed of many events (more groups of category and day than either half of the
 * listings starts its table with): one event file per group, each with its own attributes in
 * the set's order, and hashes.csv with a line per attribute. */
static size_t count_str(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f), k = 0;
	fclose(f);
	buf[n] = '\0';
	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

static void test_misp_many_events(void **state)
{
	(void)state;
	enum { DAYS = 150, CATS = 2, PER = 10, N = DAYS * CATS * PER };
	static char values[N][20];
	struct sh_listing *v = calloc(N, sizeof(*v));
	assert_non_null(v);
	struct sh_policy *p;
	assert_int_equal(sh_policy_new(&p), 0);
	assert_true(p->n_cats >= CATS);
	int64_t day0 = 1577836800; /* 2020-01-01 */
	for (size_t i = 0; i < N; i++) {
		/* addresses in order (the set's), groups interleaved over the whole set */
		snprintf(values[i], sizeof(values[i]), "10.%zu.%zu.%zu", i / 65536, i / 256 % 256,
			 i % 256);
		v[i] = mk(values[i], day0 + 400 * 86400);
		v[i].cat = (uint16_t)(i % CATS);
		v[i].first_seen = day0 + (int64_t)(i / CATS % DAYS) * 86400 + 3600;
		v[i].last_seen = v[i].first_seen;
	}
	struct sh_listing_set set = {.v = v, .n = N, .policy = p};
	char dir[] = "/tmp/sh-misp-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char out[128];
	snprintf(out, sizeof(out), "%s/feed", dir);
	struct sh_export_ctx c = {.set = &set, .policy = p, .at = day0 + 200 * 86400, .tool = "test"};
	struct sh_export_opts o = {.out = out};
	struct sh_export_result res;
	assert_int_equal(sh_export_run(&sh_export_misp, &c, &o, &res), 0);
	assert_int_equal(res.entries, N);
	char path[256];
	snprintf(path, sizeof(path), "%s/manifest.json", out);
	assert_int_equal(count_str(path, "\"date\":"), DAYS * CATS);
	snprintf(path, sizeof(path), "%s/hashes.csv", out);
	assert_int_equal(count_str(path, "\n"), N);
	/* the event of category 1 on day 77: its ten attributes, in order */
	char key[200], uuid[37];
	snprintf(key, sizeof(key), "misp-event:%s:%s:2020-03-18", p->publisher, p->cats[1].name);
	sh_uuid5(sh_uuid_ns_sheriff, key, strlen(key), uuid);
	snprintf(path, sizeof(path), "%s/%s.json", out, uuid);
	assert_int_equal(count_str(path, "{\"uuid\":\""), PER + 1);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *at = text;
	for (size_t k = 0; k < PER; k++) {
		size_t i = (k * DAYS + 77) * CATS + 1;
		char want[40];
		snprintf(want, sizeof(want), "\"value\":\"%s\"", values[i]);
		const char *x = strstr(at, want);
		assert_non_null(x);
		at = x + 1;
	}
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	sh_policy_free(p);
	free(v);
}

/* ---- the listing set and the guard on a real feed slice ------------------------------- */
struct real {
	char dir[64], db[128];
	struct sh_store *s;
	struct sh_policy *p;
	struct sh_allowlist *a;
	struct sh_listing_set set;
};

static int real_setup(void **state)
{
	struct real *r = calloc(1, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/sh-export-test-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->db, sizeof(r->db), "%s/s.db", r->dir);
	assert_int_equal(sh_store_open(r->db, &r->s), 0);
	char *inputs[] = {SH_TEST_DATA "/feeds/urlhaus-filter-online_2020-02-07_slice.txt",
			  SH_TEST_DATA "/feeds/spamhaus_drop_legacy_sample.txt"};
	struct sh_ingest_opts o = {.at = SH_TIME_NONE};
	struct sh_ingest_summary sum;
	assert_int_equal(sh_engine_ingest(r->s, &o, inputs, 1, &sum), 0);
	sh_ingest_summary_fini(&sum);
	int64_t t;
	assert_int_equal(sh_time_parse("2020-02-07T12:00:00Z", 20, &t), 0);
	o.at = t;
	assert_int_equal(sh_engine_ingest(r->s, &o, inputs + 1, 1, &sum), 0);
	sh_ingest_summary_fini(&sum);
	assert_int_equal(sh_policy_new(&r->p), 0);
	assert_int_equal(sh_allowlist_build(r->p, r->s, NULL, NULL, &r->a), 0);
	assert_int_equal(sh_time_parse("2020-02-08T00:00:00Z", 20, &t), 0);
	assert_int_equal(sh_listing_build(r->s, r->p, r->a, t, &r->set), 0);
	*state = r;
	return 0;
}

static int real_teardown(void **state)
{
	struct real *r = *state;
	sh_listing_set_fini(&r->set);
	sh_allowlist_free(r->a);
	sh_policy_free(r->p);
	sh_store_close(r->s);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	assert_int_equal(system(cmd), 0);
	free(r);
	return 0;
}

static const struct sh_listing *find(const struct sh_listing_set *set, const char *value)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].value, value) == 0)
			return &set->v[i];
	return NULL;
}

/* replace(dir, text): writes text through sh_replace to dir/out (spare dir/.out.spare) */
static int replace_with(const char *dir, const char *text, bool *reused, int *replaced)
{
	char final[256], tmpl[256], spare[256];
	snprintf(final, sizeof(final), "%s/out", dir);
	snprintf(tmpl, sizeof(tmpl), "%s/.out.XXXXXX", dir);
	snprintf(spare, sizeof(spare), "%s/.out.spare", dir);
	struct sh_replace r;
	int rc = sh_replace_open(&r, final, tmpl, spare, 0644);
	if (rc != 0)
		return rc;
	*reused = r.reuse;
	size_t n = strlen(text);
	if (write(r.fd, text, n) != (ssize_t)n) {
		sh_replace_abort(&r);
		return SH_EIO;
	}
	return sh_replace_commit(&r, n, replaced);
}

static bool file_is(const char *dir, const char *name, const char *text)
{
	char path[256], buf[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strcmp(buf, text) == 0;
}

/* Replacing a file: the old one becomes the spare, which the next replacement writes over
 * unless something else has it open or links it. */
static void test_replace(void **state)
{
	(void)state;
	char dir[] = "/tmp/sh-replace-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char spare[256], link_path[256], out[256];
	snprintf(spare, sizeof(spare), "%s/.out.spare", dir);
	snprintf(link_path, sizeof(link_path), "%s/backup", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	bool reused;
	int replaced;

	/* the first file is renamed into place; the second exchanges with it */
	assert_int_equal(replace_with(dir, "first version\n", &reused, &replaced), 0);
	assert_false(reused);
	assert_int_equal(replaced, -1);
	assert_int_equal(access(spare, F_OK), -1);
	assert_int_equal(replace_with(dir, "second version, longer\n", &reused, &replaced), 0);
	assert_false(reused);
	assert_int_equal(replaced, -1);
	assert_true(file_is(dir, "out", "second version, longer\n"));
	assert_true(file_is(dir, ".out.spare", "first version\n"));

	/* the third writes over the spare, cut to its own length */
	assert_int_equal(replace_with(dir, "third\n", &reused, &replaced), 0);
	assert_true(reused);
	assert_true(file_is(dir, "out", "third\n"));
	assert_true(file_is(dir, ".out.spare", "second version, longer\n"));

	/* a reader still holding the spare keeps it whole: a new file is written instead, and
	 * the spare it held is handed back to be closed */
	int held = open(spare, O_RDONLY);
	assert_true(held >= 0);
	assert_int_equal(replace_with(dir, "fourth\n", &reused, &replaced), 0);
	assert_false(reused);
	assert_true(replaced >= 0);
	close(replaced);
	char buf[64] = {0};
	assert_int_equal(pread(held, buf, sizeof(buf) - 1, 0), 23);
	assert_string_equal(buf, "second version, longer\n");
	close(held);
	assert_true(file_is(dir, "out", "fourth\n"));
	assert_true(file_is(dir, ".out.spare", "third\n"));

	/* a spare with another link (a backup made with hard links) is not written over */
	assert_int_equal(link(spare, link_path), 0);
	assert_int_equal(replace_with(dir, "fifth\n", &reused, &replaced), 0);
	assert_false(reused);
	if (replaced >= 0)
		close(replaced);
	assert_true(file_is(dir, "backup", "third\n"));
	assert_true(file_is(dir, "out", "fifth\n"));
	unlink(link_path);

	/* a spare that is a symbolic link is not followed */
	assert_int_equal(unlink(spare), 0);
	assert_int_equal(symlink("backup", spare), 0);
	int fd = open(link_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "kept\n", 5), 5);
	close(fd);
	assert_int_equal(replace_with(dir, "sixth\n", &reused, &replaced), 0);
	assert_false(reused);
	if (replaced >= 0)
		close(replaced);
	assert_true(file_is(dir, "backup", "kept\n"));
	assert_true(file_is(dir, "out", "sixth\n"));
	assert_true(file_is(dir, ".out.spare", "fifth\n"));

	/* a directory at the final path is neither exchanged nor replaced */
	unlink(out);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(replace_with(dir, "seventh\n", &reused, &replaced), SH_EIO);
	if (replaced >= 0)
		close(replaced);
	struct stat st;
	assert_int_equal(lstat(out, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(rmdir(out), 0);

	unlink(spare);
	unlink(link_path);
	/* nothing else is left: no temporary file */
	assert_int_equal(rmdir(dir), 0);
}

static void test_listing_set(void **state)
{
	struct real *r = *state;
	const struct sh_listing_set *set = &r->set;
	/* 150 entries from urlhaus-filter (hosts, IPs, URLs whose IP hosts are listed too) and 40
	 * DROP prefixes; the three RFC 5782 test entries */
	assert_true(set->stats.listed > 150);
	const struct sh_listing *t = find(set, "127.0.0.2");
	assert_non_null(t);
	assert_true(t->flags & SH_LF_TEST);
	assert_non_null(find(set, "test"));
	assert_non_null(find(set, "::ffff:127.0.0.2"));
	assert_null(find(set, "127.0.0.1"));
	const struct sh_listing *ip = find(set, "1.207.29.147");
	assert_non_null(ip);
	assert_int_equal(ip->type, SH_IND_IP);
	assert_string_equal(ip->sources, "urlhaus-filter-online_2020-02-07_slice");
	assert_string_equal(r->p->cats[ip->cat].name, "malware");
	assert_true(ip->flags & SH_LF_ONLINE);
	const struct sh_listing *drop = find(set, "1.10.16.0/20");
	assert_non_null(drop);
	assert_string_equal(r->p->cats[drop->cat].name, "drop");
	char ev[512];
	sh_listing_evidence(set, ip, ev, sizeof(ev));
	assert_string_equal(ev, "malware: malware distribution via urlhaus-filter-online_2020-02-07_slice; first "
				"2020-02-07T12:08:47Z; last 2020-02-07T12:08:47Z; online");
	/* sorted: IPv4 by address then shorter first, IPv6, domains, URLs; no duplicates */
	for (size_t i = 1; i < set->n; i++) {
		const struct sh_listing *a = &set->v[i - 1], *b = &set->v[i];
		if (a->type == b->type && strcmp(a->value, b->value) == 0)
			fail_msg("duplicate %s", a->value);
	}
	/* URLs are listed as URLs; their host names stay out of the domain lists (the slice
	 * has no URL on a bare IP, whose address would be listed) */
	size_t urls = 0;
	for (size_t i = 0; i < set->n; i++) {
		urls += set->v[i].type == SH_IND_URL;
		assert_false(set->v[i].flags & SH_LF_FROM_URL);
	}
	assert_true(urls > 50);
}

static void test_guard_and_atomic_write(void **state)
{
	struct real *r = *state;
	char out[160];
	snprintf(out, sizeof(out), "%s/drop.txt", r->dir);
	struct sh_export_ctx c = {.set = &r->set, .policy = r->p, .allow = r->a, .at = r->set.at,
				  .tool = "test"};
	struct sh_export_opts o = {.out = out};
	struct sh_export_result res;
	assert_int_equal(sh_export_run(&sh_export_drop, &c, &o, &res), 0);
	assert_true(res.entries > 40);
	assert_int_equal(res.previous, -1);
	FILE *f = fopen(out, "r");
	assert_non_null(f);
	char line[600];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(strncmp(line, "; Spamhaus-style DROP list", 26), 0);
	fclose(f);
	/* an over-broad entry: refused, the file stays */
	struct sh_listing *l = (struct sh_listing *)find(&r->set, "1.10.16.0/20");
	l->problem = "test problem";
	assert_int_equal(sh_export_run(&sh_export_drop, &c, &o, &res), SH_ECONFLICT);
	assert_true(res.refused);
	assert_non_null(strstr(res.why, "test problem"));
	o.force = true;
	assert_int_equal(sh_export_run(&sh_export_drop, &c, &o, &res), 0);
	assert_true(res.previous > 40);
	l->problem = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_direct_writes),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_parallel_chunks),
		cmocka_unit_test(test_parallel_serial),
		cmocka_unit_test(test_state_streamed),
		cmocka_unit_test(test_history_large),
		cmocka_unit_test(test_misp_many_events),
		cmocka_unit_test(test_replace),
		cmocka_unit_test_setup_teardown(test_listing_set, real_setup, real_teardown),
		cmocka_unit_test_setup_teardown(test_guard_and_atomic_write, real_setup, real_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
