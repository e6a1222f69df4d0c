/* Longest-prefix match for IPv4 and IPv6, compiled into a DXR-style range table.
 *
 * Design. A prefix set partitions the address space into disjoint ranges, each carrying the
 * value of the longest prefix that covers it (or none). The builder sorts the prefixes
 * (start, then shorter first) and sweeps them with a stack of open prefixes to produce that
 * partition as a sorted list of range starts; neighbouring ranges with the same value merge.
 * Lookups then never see prefixes again, only ranges (Zec, Rizzo, Mikuc: "DXR: towards a
 * billion routing lookups per second in software", 2012).
 *
 * The compiled form is a direct table indexed by the top bits of the address (18 for IPv4,
 * 16 for IPv6). Each 32-bit entry is one of
 *   0xxx...  the value itself (31 bits; 0x7fffffff stands for "no match"), when one range
 *            covers the whole chunk: most of the IPv4 space resolves in this single load;
 *   10xx...  a run: the sorted range starts inside the chunk followed by their values, found
 *            by a branch-free binary search over the starts;
 *   11xx...  a child table of 256 entries indexed by the next 8 bits, used when a chunk holds
 *            more than a run limit of ranges, so that runs stay a cache line or two long.
 * IPv4 runs keep 16-bit starts relative to the chunk (32 per cache line) followed by the
 * 32-bit values, so a run costs one or two cache misses. IPv6 runs key on the top 64 bits
 * of the starts, or on all 128 where a range starts inside a /64, so prefixes longer than /64
 * are exact like any other. Values that do not fit 31 bits are
 * stored as one-range runs. For the full IPv4 table (564k prefixes, 467k ranges) this is
 * 3.7 MiB and 83% of random addresses resolve with the first load.
 *
 * Random lookups over a few MiB are bound by cache and TLB misses, not by instructions: the
 * compiled arrays live in one block, advised as transparent huge pages when it is 2 MiB or
 * more, and the batched lookup issues the loads of 16 addresses before using any of them so
 * that their misses overlap. Building is a sort, a linear sweep and a linear compile (about
 * 0.15 s for the full IPv4 table). The table is immutable after the build and needs no locks
 * to read. */
#include "lib/lpm.h"

#include <stdbool.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/addr.h"
#include "lib/arena.h"

__extension__ typedef unsigned __int128 u128;

#define V4_TOP_BITS 18
#define V6_TOP_BITS 16
#define CHILD_BITS 8
/* A chunk with more ranges than this gets a child table instead of a run. */
#define V4_RUN_MAX 64
#define V6_RUN_MAX 32

#define E_TAG_RUN 0x80000000u
#define E_TAG_CHILD 0xc0000000u
#define E_PAYLOAD 0x3fffffffu
#define E_INLINE_NONE 0x7fffffffu

struct lpm_pfx {
	u128 start;
	uint32_t value;
	uint32_t seq;
	uint8_t len;
};

struct sh_lpm_builder {
	int af;
	unsigned bits;
	struct lpm_pfx *v;
	size_t n, cap;
};

struct lpm_range {
	u128 start;
	uint32_t value;
};

/* The range partition: starts ascending, the first at 0. */
struct lpm_ranges {
	struct lpm_range *v;
	size_t n, cap;
};

struct sh_lpm {
	int af;
	void *block;        /* one allocation holding every array below */
	size_t block_size;
	uint32_t *top;      /* 2^V4_TOP_BITS or 2^V6_TOP_BITS entries */
	uint32_t *child;    /* child tables, 256 entries each */
	size_t n_child;
	uint16_t *run4;     /* IPv4 runs: count-1, starts, padding, values (as 16-bit halves) */
	size_t n_run4;
	uint64_t *run6;     /* IPv6 runs: header, starts (64 or 128 bits), values (32-bit halves) */
	size_t n_run6;
};

/* Grows *p (elements of size sz) to hold at least want elements. */

int sh_lpm_builder_new(int af, struct sh_lpm_builder **out)
{
	*out = NULL;
	if (af != SH_AF_V4 && af != SH_AF_V6)
		return SH_EINVAL;
	struct sh_lpm_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return SH_ENOMEM;
	b->af = af;
	b->bits = af == SH_AF_V4 ? 32 : 128;
	*out = b;
	return 0;
}

static u128 load_addr(int af, const uint8_t *addr)
{
	u128 x = 0;
	unsigned n = af == SH_AF_V4 ? 4 : 16;
	for (unsigned i = 0; i < n; i++)
		x = x << 8 | addr[i];
	return x;
}

/* Mask with the low (bits - len) bits set: the host part of a prefix. */
static u128 host_mask(unsigned bits, unsigned len)
{
	unsigned h = bits - len;
	return h == 128 ? ~(u128)0 : ((u128)1 << h) - 1;
}

int sh_lpm_builder_add(struct sh_lpm_builder *b, const uint8_t *addr, unsigned len,
		       uint32_t value)
{
	if (!b || !addr || len > b->bits || value == SH_LPM_NONE)
		return SH_EINVAL;
	if (b->n >= UINT32_MAX)
		return SH_ERANGE;
	int rc = sh_array_grow((void **)&b->v, &b->cap, b->n + 1, sizeof(*b->v));
	if (rc)
		return rc;
	struct lpm_pfx *p = &b->v[b->n];
	p->start = load_addr(b->af, addr) & ~host_mask(b->bits, len);
	p->len = (uint8_t)len;
	p->value = value;
	p->seq = (uint32_t)b->n;
	b->n++;
	return 0;
}

void sh_lpm_builder_free(struct sh_lpm_builder *b)
{
	if (!b)
		return;
	free(b->v);
	free(b);
}

static int pfx_cmp(const void *a, const void *b)
{
	const struct lpm_pfx *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int ranges_emit(struct lpm_ranges *r, u128 start, uint32_t value)
{
	if (r->n && r->v[r->n - 1].value == value)
		return 0;
	int rc = sh_array_grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	if (rc)
		return rc;
	r->v[r->n].start = start;
	r->v[r->n].value = value;
	r->n++;
	return 0;
}

/* Sweeps the sorted, de-duplicated prefixes into the range partition. Prefixes are nested or
 * disjoint, so the open ones form a stack: a range begins wherever a prefix starts or an
 * enclosing prefix resumes after a nested one ends. */
static int sweep(const struct lpm_pfx *p, size_t n, unsigned bits, struct lpm_ranges *r)
{
	struct {
		u128 end;
		uint32_t value;
	} st[130];
	const u128 space_end = host_mask(bits, 0);
	int sp = 0;
	st[0].end = space_end;
	st[0].value = SH_LPM_NONE;
	u128 cur = 0;
	int rc;
	for (size_t i = 0; i < n; i++) {
		u128 end = p[i].start | host_mask(bits, p[i].len);
		while (p[i].start > st[sp].end) {
			if (cur <= st[sp].end) {
				if ((rc = ranges_emit(r, cur, st[sp].value)))
					return rc;
				cur = st[sp].end + 1;
			}
			sp--;
		}
		if (cur < p[i].start) {
			if ((rc = ranges_emit(r, cur, st[sp].value)))
				return rc;
			cur = p[i].start;
		}
		sp++;
		st[sp].end = end;
		st[sp].value = p[i].value;
	}
	bool covered = false;
	for (; sp >= 0; sp--) {
		if (covered || cur > st[sp].end)
			continue;
		if ((rc = ranges_emit(r, cur, st[sp].value)))
			return rc;
		if (st[sp].end == space_end)
			covered = true;
		else
			cur = st[sp].end + 1;
	}
	return 0;
}

struct lpm_compiler {
	struct sh_lpm *t;
	const struct lpm_ranges *r;
	size_t cap_child, cap_run4, cap_run6;
	size_t last_single; /* the range whose whole-chunk entry is last_entry, or SIZE_MAX */
	uint32_t last_entry;
	int err;
};

static uint32_t emit_run4(struct lpm_compiler *c, size_t i, size_t cnt, u128 cs)
{
	struct sh_lpm *t = c->t;
	size_t voff = (cnt + 1) & ~(size_t)1;
	size_t need = voff + 2 * cnt;
	size_t off = t->n_run4;
	if (off / 2 > E_PAYLOAD || need > SIZE_MAX - off) {
		c->err = SH_ERANGE;
		return 0;
	}
	int rc = sh_array_grow((void **)&t->run4, &c->cap_run4, off + need, sizeof(*t->run4));
	if (rc) {
		c->err = rc;
		return 0;
	}
	uint16_t *run = t->run4 + off;
	run[0] = (uint16_t)(cnt - 1);
	for (size_t k = 1; k < cnt; k++)
		run[k] = (uint16_t)(c->r->v[i + k].start - cs);
	if (voff > cnt)
		run[cnt] = 0;
	for (size_t k = 0; k < cnt; k++) {
		uint32_t v = c->r->v[i + k].value;
		memcpy(run + voff + 2 * k, &v, sizeof(v));
	}
	t->n_run4 = off + need;
	return E_TAG_RUN | (uint32_t)(off / 2);
}

/* An IPv6 run: a header word (count - 1, and the top bit set when starts take 128 bits),
 * the starts of ranges 1.., then the values. Real tables hardly ever start a range inside a
 * /64, so most runs key on the top 64 bits alone, which is exact when every start has zero
 * low bits, and halves the cache lines a search touches. */
#define RUN6_WIDE (1ull << 63)

static uint32_t emit_run6(struct lpm_compiler *c, size_t i, size_t cnt)
{
	struct sh_lpm *t = c->t;
	bool wide = false;
	for (size_t k = 1; k < cnt; k++)
		wide |= (uint64_t)c->r->v[i + k].start != 0;
	size_t key_words = (wide ? 2 : 1) * (cnt - 1);
	size_t need = 1 + key_words + (cnt + 1) / 2;
	size_t off = t->n_run6;
	if (off > E_PAYLOAD || cnt > UINT32_MAX || need > SIZE_MAX - off) {
		c->err = SH_ERANGE;
		return 0;
	}
	int rc = sh_array_grow((void **)&t->run6, &c->cap_run6, off + need, sizeof(*t->run6));
	if (rc) {
		c->err = rc;
		return 0;
	}
	uint64_t *run = t->run6 + off;
	run[need - 1] = 0;
	run[0] = (cnt - 1) | (wide ? RUN6_WIDE : 0);
	for (size_t k = 1; k < cnt; k++) {
		u128 st = c->r->v[i + k].start;
		if (wide) {
			run[2 * k - 1] = (uint64_t)(st >> 64);
			run[2 * k] = (uint64_t)st;
		} else {
			run[k] = (uint64_t)(st >> 64);
		}
	}
	uint8_t *val = (uint8_t *)(run + 1 + key_words);
	for (size_t k = 0; k < cnt; k++)
		memcpy(val + 4 * k, &c->r->v[i + k].value, 4);
	t->n_run6 = off + need;
	return E_TAG_RUN | (uint32_t)off;
}

/* The entry for chunks that range i covers whole: the value itself, or a one-range run
 * (shared by all of the range's chunks) when the value does not fit an entry. */
static uint32_t single_entry(struct lpm_compiler *c, size_t i)
{
	if (c->last_single == i)
		return c->last_entry;
	uint32_t v = c->r->v[i].value, e;
	if (v == SH_LPM_NONE)
		e = E_INLINE_NONE;
	else if (v < E_INLINE_NONE)
		e = v;
	else if (c->t->af == SH_AF_V4)
		e = emit_run4(c, i, 1, 0);
	else
		e = emit_run6(c, i, 1);
	c->last_single = i;
	c->last_entry = e;
	return e;
}

/* True when range i, which contains cs, runs at least to cs + 2^shift - 1. */
static bool covers_chunk(const struct lpm_ranges *r, size_t i, u128 cs, unsigned shift)
{
	return i + 1 == r->n || r->v[i + 1].start > cs + host_mask(shift, 0);
}

/* The entry for the chunk [cs, cs + 2^shift); range i contains cs. */
static uint32_t compile_chunk(struct lpm_compiler *c, size_t i, u128 cs, unsigned shift)
{
	const struct lpm_ranges *r = c->r;
	bool v4 = c->t->af == SH_AF_V4;
	if (covers_chunk(r, i, cs, shift))
		return single_entry(c, i);
	u128 last = cs + host_mask(shift, 0);
	size_t j = i + 1;
	while (j < r->n && r->v[j].start <= last)
		j++;
	size_t cnt = j - i;
	if (cnt <= (v4 ? V4_RUN_MAX : V6_RUN_MAX) || shift < CHILD_BITS)
		return v4 ? emit_run4(c, i, cnt, cs) : emit_run6(c, i, cnt);

	struct sh_lpm *t = c->t;
	size_t base = t->n_child;
	if (base > E_PAYLOAD - (1u << CHILD_BITS)) {
		c->err = SH_ERANGE;
		return 0;
	}
	int rc = sh_array_grow((void **)&t->child, &c->cap_child, base + (1u << CHILD_BITS),
			       sizeof(*t->child));
	if (rc) {
		c->err = rc;
		return 0;
	}
	t->n_child = base + (1u << CHILD_BITS);
	unsigned sub = shift - CHILD_BITS;
	for (unsigned k = 0; k < (1u << CHILD_BITS) && !c->err; k++) {
		u128 scs = cs + ((u128)k << sub);
		while (i + 1 < r->n && r->v[i + 1].start <= scs)
			i++;
		uint32_t e = compile_chunk(c, i, scs, sub);
		t->child[base + k] = e;
	}
	return E_TAG_CHILD | (uint32_t)base;
}

#define HUGE_PAGE ((size_t)2 << 20)

static size_t round_up(size_t n, size_t to)
{
	return n > SIZE_MAX - (to - 1) ? SIZE_MAX : (n + to - 1) / to * to;
}

/* Moves the arrays into one block; when it is big enough, the block is aligned to and
 * advised as huge pages, because random lookups over several MiB are otherwise dominated by
 * TLB misses. */
static int pack(struct sh_lpm *t, size_t n_top)
{
	struct {
		void **p;
		size_t bytes;
	} part[] = {
		{(void **)&t->top, n_top * sizeof(*t->top)},
		{(void **)&t->child, t->n_child * sizeof(*t->child)},
		{(void **)&t->run4, t->n_run4 * sizeof(*t->run4)},
		{(void **)&t->run6, t->n_run6 * sizeof(*t->run6)},
	};
	size_t total = 0;
	for (size_t k = 0; k < sizeof(part) / sizeof(part[0]); k++) {
		size_t b = round_up(part[k].bytes, 64);
		if (b == SIZE_MAX || total > SIZE_MAX - b)
			return SH_ENOMEM;
		total += b;
	}
	size_t align = total >= HUGE_PAGE ? HUGE_PAGE : 64;
	size_t size = round_up(total, align);
	if (size == SIZE_MAX)
		return SH_ENOMEM;
	uint8_t *block = aligned_alloc(align, size);
	if (!block)
		return SH_ENOMEM;
	if (align == HUGE_PAGE)
		(void)madvise(block, size, MADV_HUGEPAGE);
	size_t off = 0;
	for (size_t k = 0; k < sizeof(part) / sizeof(part[0]); k++) {
		if (part[k].bytes)
			memcpy(block + off, *part[k].p, part[k].bytes);
		free(*part[k].p);
		*part[k].p = part[k].bytes ? block + off : NULL;
		off += round_up(part[k].bytes, 64);
	}
	t->block = block;
	t->block_size = size;
	return 0;
}

static int compile(struct sh_lpm *t, const struct lpm_ranges *r, unsigned bits)
{
	unsigned top = t->af == SH_AF_V4 ? V4_TOP_BITS : V6_TOP_BITS;
	unsigned shift = bits - top;
	size_t n_top = (size_t)1 << top;
	t->top = malloc(n_top * sizeof(*t->top));
	if (!t->top)
		return SH_ENOMEM;
	struct lpm_compiler c = {.t = t, .r = r, .last_single = SIZE_MAX};
	size_t i = 0;
	for (size_t k = 0; k < n_top && !c.err;) {
		u128 cs = (u128)k << shift;
		while (i + 1 < r->n && r->v[i + 1].start <= cs)
			i++;
		if (!covers_chunk(r, i, cs, shift)) {
			t->top[k++] = compile_chunk(&c, i, cs, shift);
			continue;
		}
		/* every chunk up to the one where the next range starts has the same entry */
		size_t end = i + 1 == r->n ? n_top : (size_t)(r->v[i + 1].start >> shift);
		uint32_t e = single_entry(&c, i);
		while (k < end)
			t->top[k++] = e;
	}
	return c.err ? c.err : pack(t, n_top);
}

int sh_lpm_build(const struct sh_lpm_builder *b, struct sh_lpm **out)
{
	*out = NULL;
	if (!b)
		return SH_EINVAL;
	struct lpm_pfx *p = NULL;
	if (b->n) {
		p = malloc(b->n * sizeof(*p));
		if (!p)
			return SH_ENOMEM;
		memcpy(p, b->v, b->n * sizeof(*p));
		qsort(p, b->n, sizeof(*p), pfx_cmp);
	}
	/* the same prefix added again: the last addition wins */
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (n && p[n - 1].start == p[i].start && p[n - 1].len == p[i].len)
			n--;
		p[n++] = p[i];
	}
	struct lpm_ranges r = {0};
	int rc = sweep(p, n, b->bits, &r);
	free(p);
	struct sh_lpm *t = NULL;
	if (!rc) {
		t = calloc(1, sizeof(*t));
		rc = t ? 0 : SH_ENOMEM;
	}
	if (!rc) {
		t->af = b->af;
		rc = compile(t, &r, b->bits);
	}
	free(r.v);
	if (rc) {
		sh_lpm_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

static inline uint32_t run4_find(const uint16_t *run, uint32_t x)
{
	uint32_t n = (uint32_t)run[0] + 1, base = 0, len = n;
	while (len > 1) {
		uint32_t half = len / 2;
		base = run[base + half] <= x ? base + half : base;
		len -= half;
	}
	uint32_t v;
	memcpy(&v, run + ((n + 1) & ~1u) + 2 * base, sizeof(v));
	return v;
}

static inline uint32_t resolve4(const struct sh_lpm *t, uint32_t e, uint32_t a, unsigned shift)
{
	while (e >= E_TAG_CHILD) {
		shift -= CHILD_BITS;
		e = t->child[(e & E_PAYLOAD) + ((a >> shift) & ((1u << CHILD_BITS) - 1))];
	}
	if (e < E_TAG_RUN)
		return e == E_INLINE_NONE ? SH_LPM_NONE : e;
	return run4_find(t->run4 + 2 * (size_t)(e & E_PAYLOAD), a & ((1u << shift) - 1));
}

uint32_t sh_lpm_lookup4(const struct sh_lpm *t, uint32_t addr)
{
	if (!t || t->af != SH_AF_V4)
		return SH_LPM_NONE;
	return resolve4(t, t->top[addr >> (32 - V4_TOP_BITS)], addr, 32 - V4_TOP_BITS);
}

/* Lookups in groups: the direct-table loads and the run heads of a whole group are
 * requested before any of them is needed, so their cache misses overlap. */
#define BATCH 16
void sh_lpm_lookup4_batch(const struct sh_lpm *t, const uint32_t *addrs, size_t n,
			  uint32_t *out)
{
	if (!t || t->af != SH_AF_V4) {
		for (size_t i = 0; i < n; i++)
			out[i] = SH_LPM_NONE;
		return;
	}
	const unsigned shift = 32 - V4_TOP_BITS;
	for (size_t i = 0; i < n; i += BATCH) {
		size_t m = n - i < BATCH ? n - i : BATCH;
		uint32_t e[BATCH];
		for (size_t k = 0; k < m; k++)
			__builtin_prefetch(&t->top[addrs[i + k] >> shift]);
		for (size_t k = 0; k < m; k++) {
			e[k] = t->top[addrs[i + k] >> shift];
			if (e[k] >= E_TAG_CHILD)
				__builtin_prefetch(&t->child[(e[k] & E_PAYLOAD) +
							     ((addrs[i + k] >> (shift - CHILD_BITS)) &
							      ((1u << CHILD_BITS) - 1))]);
			else if (e[k] >= E_TAG_RUN)
				__builtin_prefetch(t->run4 + 2 * (size_t)(e[k] & E_PAYLOAD));
		}
		for (size_t k = 0; k < m; k++)
			out[i + k] = resolve4(t, e[k], addrs[i + k], shift);
	}
}

static inline uint32_t run6_find(const uint64_t *run, u128 x)
{
	uint64_t head = run[0];
	uint32_t n = (uint32_t)head + 1, base = 0, len = n;
	const uint64_t *val;
	if (!(head & RUN6_WIDE)) {
		uint64_t hi = (uint64_t)(x >> 64);
		while (len > 1) {
			uint32_t half = len / 2;
			base = run[base + half] <= hi ? base + half : base;
			len -= half;
		}
		val = run + n;
	} else {
		while (len > 1) {
			uint32_t half = len / 2, k = base + half;
			u128 key = (u128)run[2 * k - 1] << 64 | run[2 * k];
			base = key <= x ? k : base;
			len -= half;
		}
		val = run + 2 * (size_t)n - 1;
	}
	uint32_t v;
	memcpy(&v, (const uint8_t *)val + 4 * (size_t)base, sizeof(v));
	return v;
}

uint32_t sh_lpm_lookup6(const struct sh_lpm *t, const uint8_t addr[16])
{
	if (!t || t->af != SH_AF_V6)
		return SH_LPM_NONE;
	uint64_t hi, lo;
	memcpy(&hi, addr, 8);
	memcpy(&lo, addr + 8, 8);
	u128 x = (u128)be64toh(hi) << 64 | be64toh(lo);
	unsigned shift = 128 - V6_TOP_BITS;
	uint32_t e = t->top[(size_t)(x >> shift)];
	while (e >= E_TAG_CHILD) {
		shift -= CHILD_BITS;
		e = t->child[(e & E_PAYLOAD) + (size_t)((x >> shift) & ((1u << CHILD_BITS) - 1))];
	}
	if (e < E_TAG_RUN)
		return e == E_INLINE_NONE ? SH_LPM_NONE : e;
	return run6_find(t->run6 + (e & E_PAYLOAD), x);
}

size_t sh_lpm_memsize(const struct sh_lpm *t)
{
	return t ? sizeof(*t) + t->block_size : 0;
}

void sh_lpm_free(struct sh_lpm *t)
{
	if (!t)
		return;
	if (t->block) {
		free(t->block);
	} else {
		free(t->top);
		free(t->child);
		free(t->run4);
		free(t->run6);
	}
	free(t);
}
