/* Unit tests for lib/lpm: compiled lookups against brute-force and bit-trie references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/addr.h"
#include "lib/lpm.h"

struct ref_pfx {
	uint8_t a[16];
	unsigned len;
	uint32_t value;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rnd_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static void mask(uint8_t *a, unsigned bytes, unsigned len)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bit = i * 8;
		if (bit >= len)
			a[i] = 0;
		else if (len - bit < 8)
			a[i] &= (uint8_t)(0xff00u >> (len - bit));
	}
}

static int bit_at(const uint8_t *a, unsigned i)
{
	return a[i / 8] >> (7 - i % 8) & 1;
}

static int contains(const struct ref_pfx *p, const uint8_t *a)
{
	for (unsigned i = 0; i < p->len; i++)
		if (bit_at(p->a, i) != bit_at(a, i))
			return 0;
	return 1;
}

/* Brute force: the longest containing prefix, and among equal ones the last added. */
static uint32_t brute(const struct ref_pfx *p, size_t n, const uint8_t *a)
{
	uint32_t v = SH_LPM_NONE;
	int best = -1;
	for (size_t i = 0; i < n; i++)
		if ((int)p[i].len >= best && contains(&p[i], a)) {
			best = (int)p[i].len;
			v = p[i].value;
		}
	return v;
}

/* A one-bit-per-level trie, the obviously correct reference for large sets. */
struct trie {
	int32_t (*kid)[2];
	uint32_t *val;
	size_t n, cap;
};

static int32_t trie_node(struct trie *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->kid = realloc(t->kid, t->cap * sizeof(*t->kid));
		t->val = realloc(t->val, t->cap * sizeof(*t->val));
		assert_non_null(t->kid);
		assert_non_null(t->val);
	}
	t->kid[t->n][0] = t->kid[t->n][1] = -1;
	t->val[t->n] = SH_LPM_NONE;
	return (int32_t)t->n++;
}

static void trie_add(struct trie *t, const struct ref_pfx *p)
{
	if (!t->n)
		trie_node(t);
	int32_t n = 0;
	for (unsigned i = 0; i < p->len; i++) {
		int b = bit_at(p->a, i);
		if (t->kid[n][b] < 0) {
			int32_t k = trie_node(t);
			t->kid[n][b] = k;
		}
		n = t->kid[n][b];
	}
	t->val[n] = p->value;
}

static uint32_t trie_find(const struct trie *t, const uint8_t *a, unsigned bits)
{
	uint32_t v = SH_LPM_NONE;
	int32_t n = t->n ? 0 : -1;
	for (unsigned i = 0; n >= 0; i++) {
		if (t->val[n] != SH_LPM_NONE)
			v = t->val[n];
		if (i == bits)
			break;
		n = t->kid[n][bit_at(a, i)];
	}
	return v;
}

static void trie_free(struct trie *t)
{
	free(t->kid);
	free(t->val);
}

static uint32_t be32(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static uint32_t lookup(const struct sh_lpm *t, int af, const uint8_t *a)
{
	return af == SH_AF_V4 ? sh_lpm_lookup4(t, be32(a)) : sh_lpm_lookup6(t, a);
}

static struct sh_lpm *build(int af, const struct ref_pfx *p, size_t n)
{
	struct sh_lpm_builder *b;
	assert_int_equal(sh_lpm_builder_new(af, &b), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sh_lpm_builder_add(b, p[i].a, p[i].len, p[i].value), 0);
	struct sh_lpm *t;
	assert_int_equal(sh_lpm_build(b, &t), 0);
	sh_lpm_builder_free(b);
	assert_true(sh_lpm_memsize(t) > 0);
	return t;
}

/* Random prefixes of every length, many nested in earlier ones (extended by a few bits),
 * some repeated with a new value, some clustered so that chunks overflow into child
 * tables; values include ones too large to be stored inline. */
static struct ref_pfx *gen_prefixes(int af, size_t n)
{
	unsigned bytes = af == SH_AF_V4 ? 4 : 16, bits = bytes * 8;
	struct ref_pfx *p = calloc(n, sizeof(*p));
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		unsigned kind = (unsigned)(rnd() % 10);
		if (i > 0 && kind < 3) {
			const struct ref_pfx *q = &p[rnd() % i];
			memcpy(p[i].a, q->a, 16);
			unsigned ext = (unsigned)(rnd() % 24);
			p[i].len = q->len + ext > bits ? bits : q->len + ext;
			for (unsigned k = q->len; k < p[i].len; k++)
				if (rnd() & 1)
					p[i].a[k / 8] |= (uint8_t)(0x80 >> (k % 8));
		} else if (i > 0 && kind == 3) {
			p[i] = p[rnd() % i];
		} else if (i > 0 && kind == 4) {
			/* neighbours in a dense block: many ranges in one chunk */
			memcpy(p[i].a, p[rnd() % i].a, 16);
			rnd_bytes(p[i].a + bytes - 2, 2);
			p[i].len = bits - (unsigned)(rnd() % 4);
		} else {
			rnd_bytes(p[i].a, bytes);
			p[i].len = (unsigned)(rnd() % (bits + 1));
		}
		mask(p[i].a, bytes, p[i].len);
		uint64_t r = rnd();
		p[i].value = (r & 7) == 0   ? (uint32_t)(0x7fffffffu + (r >> 40) % 1000)
			     : (r & 7) == 1 ? (uint32_t)(r >> 61)
					    : (uint32_t)(r >> 34);
		if (p[i].value == SH_LPM_NONE)
			p[i].value = 0;
	}
	return p;
}

/* An address to probe: random, or at / just outside the edges of a random prefix. */
static void gen_addr(int af, const struct ref_pfx *p, size_t n, uint8_t *a)
{
	unsigned bytes = af == SH_AF_V4 ? 4 : 16, bits = bytes * 8;
	memset(a, 0, 16);
	unsigned kind = (unsigned)(rnd() % 6);
	if (kind == 0 || n == 0) {
		rnd_bytes(a, bytes);
		return;
	}
	const struct ref_pfx *q = &p[rnd() % n];
	memcpy(a, q->a, 16);
	if (kind == 1)
		return;
	/* the last address of the prefix, maybe stepped one further */
	for (unsigned k = q->len; k < bits; k++)
		a[k / 8] |= (uint8_t)(0x80 >> (k % 8));
	if (kind == 2)
		return;
	if (kind == 3) {
		for (int i = (int)bytes - 1; i >= 0 && ++a[i] == 0; i--)
			;
		return;
	}
	if (kind == 4) {
		memcpy(a, q->a, 16);
		for (int i = (int)bytes - 1; i >= 0 && a[i]-- == 0; i--)
			;
		return;
	}
	memcpy(a, q->a, 16);
	for (unsigned k = q->len; k < bits; k++)
		if (rnd() & 1)
			a[k / 8] |= (uint8_t)(0x80 >> (k % 8));
}

static void check_against_brute(int af, size_t n_pfx, size_t n_addr)
{
	struct ref_pfx *p = gen_prefixes(af, n_pfx);
	struct sh_lpm *t = build(af, p, n_pfx);
	for (size_t i = 0; i < n_addr; i++) {
		uint8_t a[16];
		gen_addr(af, p, n_pfx, a);
		assert_int_equal(lookup(t, af, a), brute(p, n_pfx, a));
	}
	sh_lpm_free(t);
	free(p);
}

static void check_against_trie(int af, size_t n_pfx, size_t n_addr)
{
	unsigned bits = af == SH_AF_V4 ? 32 : 128;
	struct ref_pfx *p = gen_prefixes(af, n_pfx);
	struct trie ref = {0};
	for (size_t i = 0; i < n_pfx; i++)
		trie_add(&ref, &p[i]);
	struct sh_lpm *t = build(af, p, n_pfx);
	uint32_t *addrs = malloc(n_addr * sizeof(*addrs));
	uint32_t *batch = malloc(n_addr * sizeof(*batch));
	assert_non_null(addrs);
	assert_non_null(batch);
	for (size_t i = 0; i < n_addr; i++) {
		uint8_t a[16];
		gen_addr(af, p, n_pfx, a);
		uint32_t want = trie_find(&ref, a, bits);
		assert_int_equal(lookup(t, af, a), want);
		addrs[i] = be32(a);
		batch[i] = want;
	}
	if (af == SH_AF_V4) {
		uint32_t *out = malloc(n_addr * sizeof(*out));
		assert_non_null(out);
		sh_lpm_lookup4_batch(t, addrs, n_addr, out);
		for (size_t i = 0; i < n_addr; i++)
			assert_int_equal(out[i], batch[i]);
		free(out);
	}
	free(addrs);
	free(batch);
	trie_free(&ref);
	sh_lpm_free(t);
	free(p);
}

static void test_v4_brute(void **state)
{
	(void)state;
	rng_state = 1;
	check_against_brute(SH_AF_V4, 40, 50000);
	check_against_brute(SH_AF_V4, 600, 100000);
}

static void test_v6_brute(void **state)
{
	(void)state;
	rng_state = 2;
	check_against_brute(SH_AF_V6, 40, 50000);
	check_against_brute(SH_AF_V6, 600, 100000);
}

static void test_v4_trie(void **state)
{
	(void)state;
	rng_state = 3;
	check_against_trie(SH_AF_V4, 30000, 300000);
}

static void test_v6_trie(void **state)
{
	(void)state;
	rng_state = 4;
	check_against_trie(SH_AF_V6, 30000, 300000);
}

static void test_empty_and_default(void **state)
{
	(void)state;
	struct sh_lpm *t = build(SH_AF_V4, NULL, 0);
	assert_int_equal(sh_lpm_lookup4(t, 0), SH_LPM_NONE);
	assert_int_equal(sh_lpm_lookup4(t, 0xffffffffu), SH_LPM_NONE);
	uint8_t v6[16] = {0};
	assert_int_equal(sh_lpm_lookup6(t, v6), SH_LPM_NONE); /* wrong family */
	sh_lpm_free(t);

	struct ref_pfx all = {.len = 0, .value = 7};
	t = build(SH_AF_V4, &all, 1);
	assert_int_equal(sh_lpm_lookup4(t, 0), 7);
	assert_int_equal(sh_lpm_lookup4(t, 0xffffffffu), 7);
	sh_lpm_free(t);

	t = build(SH_AF_V6, &all, 1);
	memset(v6, 0xff, 16);
	assert_int_equal(sh_lpm_lookup6(t, v6), 7);
	assert_int_equal(sh_lpm_lookup4(t, 1), SH_LPM_NONE); /* wrong family */
	sh_lpm_free(t);
}

static void test_hosts_and_edges(void **state)
{
	(void)state;
	struct ref_pfx p[] = {
		{{0, 0, 0, 0}, 32, 1},
		{{255, 255, 255, 255}, 32, 0x7fffffffu},
		{{10, 0, 0, 0}, 8, 0},
		{{10, 1, 2, 3}, 32, 0xfffffffeu},
		{{10, 1, 2, 0}, 24, 4},
	};
	struct sh_lpm *t = build(SH_AF_V4, p, 5);
	assert_int_equal(sh_lpm_lookup4(t, 0), 1);
	assert_int_equal(sh_lpm_lookup4(t, 1), SH_LPM_NONE);
	assert_int_equal(sh_lpm_lookup4(t, 0xffffffffu), 0x7fffffffu);
	assert_int_equal(sh_lpm_lookup4(t, 0xfffffffeu), SH_LPM_NONE);
	assert_int_equal(sh_lpm_lookup4(t, 0x0a000000u), 0);
	assert_int_equal(sh_lpm_lookup4(t, 0x0a010203u), 0xfffffffeu);
	assert_int_equal(sh_lpm_lookup4(t, 0x0a010202u), 4);
	assert_int_equal(sh_lpm_lookup4(t, 0x0a010204u), 4);
	assert_int_equal(sh_lpm_lookup4(t, 0x0a010300u), 0);
	assert_int_equal(sh_lpm_lookup4(t, 0x0b000000u), SH_LPM_NONE);
	sh_lpm_free(t);

	/* IPv6: /128 hosts, prefixes longer than /64 inside a /64, the top address */
	struct ref_pfx q[5] = {0};
	q[0].a[0] = 0x20, q[0].a[1] = 0x01, q[0].a[2] = 0x0d, q[0].a[3] = 0xb8;
	q[0].len = 32, q[0].value = 1;
	memcpy(q[1].a, q[0].a, 16), q[1].a[15] = 1, q[1].len = 128, q[1].value = 2;
	memcpy(q[2].a, q[0].a, 16), q[2].a[8] = 0x80, q[2].len = 65, q[2].value = 3;
	memcpy(q[3].a, q[2].a, 16), q[3].a[14] = 0x12, q[3].len = 120, q[3].value = 4;
	memset(q[4].a, 0xff, 16), q[4].len = 128, q[4].value = 5;
	t = build(SH_AF_V6, q, 5);
	uint8_t a[16];
	memcpy(a, q[0].a, 16);
	assert_int_equal(sh_lpm_lookup6(t, a), 1);
	a[15] = 1;
	assert_int_equal(sh_lpm_lookup6(t, a), 2);
	a[15] = 2;
	assert_int_equal(sh_lpm_lookup6(t, a), 1);
	memcpy(a, q[2].a, 16);
	assert_int_equal(sh_lpm_lookup6(t, a), 3);
	a[14] = 0x12, a[15] = 0xff;
	assert_int_equal(sh_lpm_lookup6(t, a), 4);
	a[14] = 0x13;
	assert_int_equal(sh_lpm_lookup6(t, a), 3);
	a[8] = 0x7f, memset(a + 9, 0xff, 7);
	assert_int_equal(sh_lpm_lookup6(t, a), 1);
	memset(a, 0xff, 16);
	assert_int_equal(sh_lpm_lookup6(t, a), 5);
	a[15] = 0xfe;
	assert_int_equal(sh_lpm_lookup6(t, a), SH_LPM_NONE);
	sh_lpm_free(t);
}

static void test_replace_and_host_bits(void **state)
{
	(void)state;
	struct sh_lpm_builder *b;
	assert_int_equal(sh_lpm_builder_new(SH_AF_V4, &b), 0);
	const uint8_t net[4] = {192, 0, 2, 0}, dirty[4] = {192, 0, 2, 77};
	assert_int_equal(sh_lpm_builder_add(b, net, 24, 1), 0);
	assert_int_equal(sh_lpm_builder_add(b, net, 25, 2), 0);
	assert_int_equal(sh_lpm_builder_add(b, dirty, 24, 3), 0); /* same /24: replaces */
	struct sh_lpm *t;
	assert_int_equal(sh_lpm_build(b, &t), 0);
	assert_int_equal(sh_lpm_lookup4(t, 0xc0000201u), 2);
	assert_int_equal(sh_lpm_lookup4(t, 0xc0000281u), 3);
	sh_lpm_free(t);
	/* the builder survives a build and can be extended and built again */
	assert_int_equal(sh_lpm_builder_add(b, net, 24, 9), 0);
	assert_int_equal(sh_lpm_build(b, &t), 0);
	assert_int_equal(sh_lpm_lookup4(t, 0xc0000281u), 9);
	sh_lpm_free(t);
	sh_lpm_builder_free(b);
}

static void test_bad_args(void **state)
{
	(void)state;
	struct sh_lpm_builder *b;
	assert_int_equal(sh_lpm_builder_new(5, &b), SH_EINVAL);
	assert_null(b);
	assert_int_equal(sh_lpm_builder_new(SH_AF_V4, &b), 0);
	const uint8_t a[16] = {1};
	assert_int_equal(sh_lpm_builder_add(b, a, 33, 1), SH_EINVAL);
	assert_int_equal(sh_lpm_builder_add(b, a, 8, SH_LPM_NONE), SH_EINVAL);
	assert_int_equal(sh_lpm_builder_add(b, NULL, 8, 1), SH_EINVAL);
	sh_lpm_builder_free(b);
	assert_int_equal(sh_lpm_builder_new(SH_AF_V6, &b), 0);
	assert_int_equal(sh_lpm_builder_add(b, a, 129, 1), SH_EINVAL);
	assert_int_equal(sh_lpm_builder_add(b, a, 128, 1), 0);
	sh_lpm_builder_free(b);
	sh_lpm_builder_free(NULL);
	sh_lpm_free(NULL);
	assert_int_equal(sh_lpm_memsize(NULL), 0);
	assert_int_equal(sh_lpm_lookup4(NULL, 1), SH_LPM_NONE);
}

/* Every address of a /16 cut into /32s, /31s and /30s: the densest chunk possible, so
 * child tables and their runs are exercised exhaustively. */
static void test_dense_chunk(void **state)
{
	(void)state;
	rng_state = 5;
	struct sh_lpm_builder *b;
	assert_int_equal(sh_lpm_builder_new(SH_AF_V4, &b), 0);
	uint32_t *want = malloc(65536 * sizeof(*want));
	assert_non_null(want);
	for (uint32_t x = 0; x < 65536;) {
		unsigned len = 30 + (unsigned)(rnd() % 3);
		uint32_t span = 1u << (32 - len);
		if (x % span)
			len = 32, span = 1;
		uint32_t addr = 0x64400000u | x, v = (uint32_t)rnd() % 5000;
		uint8_t a[4] = {(uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
				(uint8_t)addr};
		if (rnd() % 7 == 0) {
			for (uint32_t k = 0; k < span; k++)
				want[x + k] = SH_LPM_NONE;
		} else {
			assert_int_equal(sh_lpm_builder_add(b, a, len, v), 0);
			for (uint32_t k = 0; k < span; k++)
				want[x + k] = v;
		}
		x += span;
	}
	struct sh_lpm *t;
	assert_int_equal(sh_lpm_build(b, &t), 0);
	for (uint32_t x = 0; x < 65536; x++)
		assert_int_equal(sh_lpm_lookup4(t, 0x64400000u | x), want[x]);
	assert_int_equal(sh_lpm_lookup4(t, 0x643fffffu), SH_LPM_NONE);
	assert_int_equal(sh_lpm_lookup4(t, 0x64410000u), SH_LPM_NONE);
	uint32_t addrs[100], out[100];
	for (uint32_t k = 0; k < 100; k++)
		addrs[k] = 0x64400000u | (k * 655);
	sh_lpm_lookup4_batch(t, addrs, 100, out);
	for (uint32_t k = 0; k < 100; k++)
		assert_int_equal(out[k], want[k * 655]);
	sh_lpm_free(t);
	sh_lpm_builder_free(b);
	free(want);
}

/* The IPv6 counterpart: consecutive /128s, so children nest down to the last byte. */
static void test_dense_v6(void **state)
{
	(void)state;
	struct sh_lpm_builder *b;
	assert_int_equal(sh_lpm_builder_new(SH_AF_V6, &b), 0);
	uint8_t a[16] = {0x2a, 0x02, 0x12, 0x34};
	for (unsigned x = 0; x < 4096; x += 2) {
		a[14] = (uint8_t)(x >> 8), a[15] = (uint8_t)x;
		assert_int_equal(sh_lpm_builder_add(b, a, 128, x), 0);
	}
	struct sh_lpm *t;
	assert_int_equal(sh_lpm_build(b, &t), 0);
	for (unsigned x = 0; x < 4100; x++) {
		a[14] = (uint8_t)(x >> 8), a[15] = (uint8_t)x;
		assert_int_equal(sh_lpm_lookup6(t, a), x % 2 || x >= 4096 ? SH_LPM_NONE : x);
	}
	sh_lpm_free(t);
	sh_lpm_builder_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_default),
		cmocka_unit_test(test_hosts_and_edges),
		cmocka_unit_test(test_replace_and_host_bits),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_dense_chunk),
		cmocka_unit_test(test_dense_v6),
		cmocka_unit_test(test_v4_brute),
		cmocka_unit_test(test_v6_brute),
		cmocka_unit_test(test_v4_trie),
		cmocka_unit_test(test_v6_trie),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
