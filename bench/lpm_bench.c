/* Benchmark: IPv4 longest-prefix lookups of sh_lpm against a sorted-range binary search and
 * libmaxminddb on the same table and the same random addresses, in one run; optionally
 * IPv6 lookups of sh_lpm against a binary search. Rates are per second of CPU time.
 *
 * usage: lpm_bench [-n LOOKUPS] [-r ROUNDS] [-s SEED] [-6 ASN_IPV6_CSV] [ASN_IPV4_CSV] [MMDB]
 * The CSVs are ip-location-db's "start,end,asn,org" (gzip or plain); the MMDB is the IPv4
 * table written by bench/mkmmdb.py. Rounds run the methods in turn (not one method's rounds
 * back to back), and the best round of each counts, so that a noisy neighbour on a shared
 * machine slows every method alike instead of one. */
#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/addr.h"
#include "lib/lpm.h"

#define DEFAULT_CSV "/work/shared/data/asn/asn-ipv4.csv.gz"
#define DEFAULT_MMDB "asn-ipv4.mmdb"
#define CHECK_SAMPLE 1000000u

__extension__ typedef unsigned __int128 u128;

struct table {
	uint32_t *start, *end, *asn;
	size_t n, cap;
};

struct table6 {
	u128 *start, *end;
	size_t n, cap;
};

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* Lookup rounds are timed in this thread's CPU time: on a shared machine, wall time would
 * also count the slices the scheduler gives to other processes on the same core. */
static double cpu_now(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int parse_v4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static int table_push(struct table *t, uint32_t s, uint32_t e, uint32_t asn)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 1 << 16;
		uint32_t *a = realloc(t->start, nc * sizeof(*a));
		if (a)
			t->start = a;
		uint32_t *b = realloc(t->end, nc * sizeof(*b));
		if (b)
			t->end = b;
		uint32_t *c = realloc(t->asn, nc * sizeof(*c));
		if (c)
			t->asn = c;
		if (!a || !b || !c)
			return -1;
		t->cap = nc;
	}
	t->start[t->n] = s;
	t->end[t->n] = e;
	t->asn[t->n] = asn;
	t->n++;
	return 0;
}

/* Reads "start,end,asn,..." rows; the rest of the line (the organisation) is not needed. */
static int load_csv(const char *path, struct table *t)
{
	gzFile f = gzopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[4096];
	unsigned long lineno = 0;
	while (gzgets(f, line, sizeof(line))) {
		lineno++;
		char *c1 = strchr(line, ',');
		char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		uint32_t s, e;
		char *endp;
		unsigned long asn = strtoul(c2 + 1, &endp, 10);
		if (parse_v4(line, &s) || parse_v4(c1 + 1, &e) || s > e || endp == c2 + 1) {
			fprintf(stderr, "%s:%lu: bad row skipped\n", path, lineno);
			continue;
		}
		if (t->n && s < t->start[t->n - 1]) {
			fprintf(stderr, "%s:%lu: rows not sorted\n", path, lineno);
			gzclose(f);
			return -1;
		}
		if (table_push(t, s, e, (uint32_t)asn)) {
			gzclose(f);
			return -1;
		}
	}
	gzclose(f);
	return 0;
}

/* Index of the last range starting at or before a, if it contains a. */
static uint32_t bsearch_range(const struct table *t, uint32_t a)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->start[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || a > t->end[lo - 1])
		return SH_LPM_NONE;
	return (uint32_t)(lo - 1);
}

static u128 be128(const uint8_t b[16])
{
	u128 x = 0;
	for (int i = 0; i < 16; i++)
		x = x << 8 | b[i];
	return x;
}

static int load_csv6(const char *path, struct table6 *t)
{
	gzFile f = gzopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[4096];
	while (gzgets(f, line, sizeof(line))) {
		char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		uint8_t a[16], b[16];
		if (inet_pton(AF_INET6, line, a) != 1 || inet_pton(AF_INET6, c1 + 1, b) != 1)
			continue;
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 1 << 14;
			u128 *x = realloc(t->start, nc * sizeof(*x));
			if (x)
				t->start = x;
			u128 *y = realloc(t->end, nc * sizeof(*y));
			if (y)
				t->end = y;
			if (!x || !y) {
				gzclose(f);
				return -1;
			}
			t->cap = nc;
		}
		t->start[t->n] = be128(a);
		t->end[t->n] = be128(b);
		t->n++;
	}
	gzclose(f);
	return 0;
}

static uint32_t bsearch_range6(const struct table6 *t, u128 a)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->start[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || a > t->end[lo - 1])
		return SH_LPM_NONE;
	return (uint32_t)(lo - 1);
}

struct add_ctx {
	struct sh_lpm_builder *b;
	uint32_t value;
	size_t n_prefixes;
};

static int add_prefix(const struct sh_prefix *p, void *arg)
{
	struct add_ctx *c = arg;
	c->n_prefixes++;
	return sh_lpm_builder_add(c->b, p->ip.b, p->len, c->value);
}

/* Value of each prefix: the index of its CSV row, so the LPM answers what the binary search
 * answers (a row), and distinct values are as many as rows. */
static int build_lpm(int af, size_t n, void (*row)(const void *, size_t, struct sh_ip *,
						     struct sh_ip *),
		     const void *t, struct sh_lpm **out, size_t *n_prefixes)
{
	struct sh_lpm_builder *b;
	int rc = sh_lpm_builder_new(af, &b);
	if (rc)
		return rc;
	struct add_ctx c = {.b = b};
	for (size_t i = 0; i < n && !rc; i++) {
		struct sh_ip first, last;
		row(t, i, &first, &last);
		c.value = (uint32_t)i;
		rc = sh_range_to_prefixes(&first, &last, add_prefix, &c);
	}
	if (!rc)
		rc = sh_lpm_build(b, out);
	sh_lpm_builder_free(b);
	*n_prefixes = c.n_prefixes;
	return rc;
}

static void row4(const void *tv, size_t i, struct sh_ip *first, struct sh_ip *last)
{
	const struct table *t = tv;
	memset(first, 0, sizeof(*first));
	memset(last, 0, sizeof(*last));
	first->af = last->af = SH_AF_V4;
	uint32_t s = htonl(t->start[i]), e = htonl(t->end[i]);
	memcpy(first->b, &s, 4);
	memcpy(last->b, &e, 4);
}

static void put128(u128 x, uint8_t b[16])
{
	for (int i = 15; i >= 0; i--, x >>= 8)
		b[i] = (uint8_t)x;
}

static void row6(const void *tv, size_t i, struct sh_ip *first, struct sh_ip *last)
{
	const struct table6 *t = tv;
	first->af = last->af = SH_AF_V6;
	put128(t->start[i], first->b);
	put128(t->end[i], last->b);
}

static void to_sockaddr(uint32_t a, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(a);
}

static uint32_t mmdb_asn(MMDB_s *db, uint32_t a)
{
	struct sockaddr_in sa;
	to_sockaddr(a, &sa);
	int err;
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr(db, (struct sockaddr *)&sa, &err);
	if (err || !r.found_entry)
		return 0;
	MMDB_entry_data_s d;
	if (MMDB_get_value(&r.entry, &d, "autonomous_system_number", NULL) != MMDB_SUCCESS ||
	    !d.has_data || d.type != MMDB_DATA_TYPE_UINT32)
		return 0;
	return d.uint32;
}

/* Ratios are taken against M_MMDB, the tree walk alone; M_MMDB_ASN also reads the ASN
 * field, which is what a user of the library needs, and is shown for reference. */
enum { M_LPM, M_LPM_BATCH, M_BSEARCH, M_MMDB, M_MMDB_ASN, M_COUNT };
static const char *const method_name[M_COUNT] = {
	"sh_lpm_lookup4", "sh_lpm_lookup4_batch", "binary search", "libmaxminddb",
	"libmaxminddb + get ASN"};

/* One timed pass; returns seconds and adds a checksum so no work is optimised away. */
static double run(int m, const struct sh_lpm *lpm, const struct table *t, MMDB_s *db,
		  const uint32_t *addrs, uint32_t *out, size_t n, uint64_t *sum)
{
	double t0 = cpu_now();
	uint64_t s = 0;
	switch (m) {
	case M_LPM:
		for (size_t i = 0; i < n; i++)
			s += sh_lpm_lookup4(lpm, addrs[i]);
		break;
	case M_LPM_BATCH:
		sh_lpm_lookup4_batch(lpm, addrs, n, out);
		for (size_t i = 0; i < n; i++)
			s += out[i];
		break;
	case M_BSEARCH:
		for (size_t i = 0; i < n; i++)
			s += bsearch_range(t, addrs[i]);
		break;
	case M_MMDB:
		for (size_t i = 0; i < n; i++) {
			struct sockaddr_in sa;
			to_sockaddr(addrs[i], &sa);
			int err;
			MMDB_lookup_result_s r =
				MMDB_lookup_sockaddr(db, (struct sockaddr *)&sa, &err);
			s += r.found_entry ? r.entry.offset : 0;
		}
		break;
	case M_MMDB_ASN:
		for (size_t i = 0; i < n; i++)
			s += mmdb_asn(db, addrs[i]);
		break;
	}
	double dt = cpu_now() - t0;
	*sum += s;
	return dt;
}

static void usage(void)
{
	fprintf(stderr, "usage: lpm_bench [-n LOOKUPS] [-r ROUNDS] [-s SEED] [-6 ASN_IPV6_CSV] "
			"[ASN_IPV4_CSV] [MMDB]\n");
}

/* IPv6: sh_lpm against a binary search over the ranges; half the addresses fall inside
 * random rows, half anywhere in 2000::/3. */
static int bench_v6(const char *csv6, size_t n, int rounds, uint64_t seed)
{
	struct table6 t = {0};
	if (load_csv6(csv6, &t) || t.n == 0) {
		fprintf(stderr, "cannot load %s\n", csv6);
		return -1;
	}
	struct sh_lpm *lpm;
	size_t n_prefixes;
	double t0 = now();
	int rc = build_lpm(SH_AF_V6, t.n, row6, &t, &lpm, &n_prefixes);
	double build_s = now() - t0;
	if (rc) {
		fprintf(stderr, "lpm build (IPv6): %s\n", sh_strerror(rc));
		return -1;
	}
	uint8_t(*addrs)[16] = malloc(n * sizeof(*addrs));
	if (!addrs)
		return -1;
	uint64_t st = seed ^ 6;
	for (size_t i = 0; i < n; i++) {
		u128 x = (u128)splitmix64(&st) << 64 | splitmix64(&st);
		if (i % 2) {
			size_t row = (size_t)(splitmix64(&st) % t.n);
			u128 span = t.end[row] - t.start[row];
			x = t.start[row] + (span == ~(u128)0 ? x : x % (span + 1));
		} else {
			x = x >> 3 | (u128)1 << 125;
		}
		put128(x, addrs[i]);
	}
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += sh_lpm_lookup6(lpm, addrs[i]) != bsearch_range6(&t, be128(addrs[i]));
	double best_l = 1e30, best_b = 1e30;
	uint64_t sum = 0;
	for (int r = 0; r < rounds; r++) {
		t0 = cpu_now();
		for (size_t i = 0; i < n; i++)
			sum += sh_lpm_lookup6(lpm, addrs[i]);
		double dt = cpu_now() - t0;
		best_l = dt < best_l ? dt : best_l;
		t0 = cpu_now();
		for (size_t i = 0; i < n; i++)
			sum += bsearch_range6(&t, be128(addrs[i]));
		dt = cpu_now() - t0;
		best_b = dt < best_b ? dt : best_b;
	}
	printf("\nIPv6: %s: %zu ranges -> %zu prefixes; sh_lpm build %.3f s, memory %.2f MiB; "
	       "%zu mismatches with binary search\n",
	       csv6, t.n, n_prefixes, build_s, (double)sh_lpm_memsize(lpm) / (1024.0 * 1024.0),
	       bad);
	printf("%zu IPv6 lookups (half inside rows, half in 2000::/3), best of %d rounds\n", n,
	       rounds);
	printf("%-22s %10.2f M %10.2f %9s %9.1fx\n", "sh_lpm_lookup6", n / best_l / 1e6,
	       best_l * 1e9 / (double)n, "", best_b / best_l);
	printf("%-22s %10.2f M %10.2f %9s %9.1fx\n", "binary search", n / best_b / 1e6,
	       best_b * 1e9 / (double)n, "", 1.0);
	printf("(checksum %llu)\n", (unsigned long long)sum);
	sh_lpm_free(lpm);
	free(addrs);
	free(t.start);
	free(t.end);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	size_t n = 20000000;
	int rounds = 5;
	uint64_t seed = 20260617;
	const char *csv6 = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "n:r:s:6:h")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case '6':
			csv6 = optarg;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 1;
		}
	}
	const char *csv = optind < argc ? argv[optind] : DEFAULT_CSV;
	const char *mmdb_path = optind + 1 < argc ? argv[optind + 1] : DEFAULT_MMDB;
	if (n == 0 || rounds < 1) {
		usage();
		return 1;
	}

	struct table t = {0};
	double t0 = now();
	if (load_csv(csv, &t) || t.n == 0) {
		fprintf(stderr, "cannot load %s\n", csv);
		return 3;
	}
	double load_s = now() - t0;

	struct sh_lpm *lpm;
	size_t n_prefixes;
	t0 = now();
	int rc = build_lpm(SH_AF_V4, t.n, row4, &t, &lpm, &n_prefixes);
	double build_s = now() - t0;
	if (rc) {
		fprintf(stderr, "lpm build: %s\n", sh_strerror(rc));
		return 3;
	}

	MMDB_s db;
	int mrc = MMDB_open(mmdb_path, MMDB_MODE_MMAP, &db);
	if (mrc != MMDB_SUCCESS) {
		fprintf(stderr, "%s: %s (make it with bench/mkmmdb.py)\n", mmdb_path,
			MMDB_strerror(mrc));
		return 3;
	}

	uint32_t *addrs = malloc(n * sizeof(*addrs));
	uint32_t *out = malloc(n * sizeof(*out));
	if (!addrs || !out)
		return 3;
	uint64_t st = seed;
	for (size_t i = 0; i < n; i++)
		addrs[i] = (uint32_t)(splitmix64(&st) >> 32);

	/* agreement on the ASN of a sample, before anything is timed */
	size_t sample = n < CHECK_SAMPLE ? n : CHECK_SAMPLE;
	size_t bad_bs = 0, bad_mmdb = 0, bad_batch = 0, found = 0;
	sh_lpm_lookup4_batch(lpm, addrs, sample, out);
	for (size_t i = 0; i < sample; i++) {
		uint32_t v = sh_lpm_lookup4(lpm, addrs[i]);
		uint32_t b = bsearch_range(&t, addrs[i]);
		uint32_t asn_l = v == SH_LPM_NONE ? 0 : t.asn[v];
		uint32_t asn_b = b == SH_LPM_NONE ? 0 : t.asn[b];
		found += v != SH_LPM_NONE;
		bad_batch += out[i] != v;
		bad_bs += asn_l != asn_b;
		bad_mmdb += asn_l != mmdb_asn(&db, addrs[i]);
	}

	double best[M_COUNT];
	uint64_t sum = 0;
	for (int m = 0; m < M_COUNT; m++)
		best[m] = 1e30;
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < M_COUNT; m++) {
			double dt = run(m, lpm, &t, &db, addrs, out, n, &sum);
			if (dt < best[m])
				best[m] = dt;
		}
	}

	printf("table: %s: %zu ranges -> %zu prefixes; mmdb: %s (%u nodes)\n", csv, t.n,
	       n_prefixes, mmdb_path, db.metadata.node_count);
	printf("csv load %.3f s; sh_lpm build (range split + compile) %.3f s; sh_lpm memory "
	       "%.2f MiB\n",
	       load_s, build_s, (double)sh_lpm_memsize(lpm) / (1024.0 * 1024.0));
	printf("ASN agreement on %zu random addresses (%zu covered): binary search %zu "
	       "mismatches, mmdb %zu, batch %zu\n",
	       sample, found, bad_bs, bad_mmdb, bad_batch);
	printf("%zu random IPv4 lookups, best of %d interleaved rounds, one thread, per CPU "
	       "second\n\n",
	       n, rounds);
	printf("%-22s %12s %10s %10s %10s\n", "method", "lookups/s", "ns/lookup", "vs mmdb",
	       "vs bsearch");
	for (int m = 0; m < M_COUNT; m++) {
		double rate = (double)n / best[m];
		printf("%-22s %10.2f M %10.2f %9.1fx %9.1fx\n", method_name[m], rate / 1e6,
		       1e9 / rate, best[M_MMDB] / best[m], best[M_BSEARCH] / best[m]);
	}
	printf("(checksum %llu)\n", (unsigned long long)sum);

	int bad6 = csv6 ? bench_v6(csv6, n / 4, rounds, seed) : 0;

	MMDB_close(&db);
	sh_lpm_free(lpm);
	free(addrs);
	free(out);
	free(t.start);
	free(t.end);
	free(t.asn);
	return bad_bs || bad_mmdb || bad_batch || bad6 ? 2 : 0;
}
