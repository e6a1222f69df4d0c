/* A network table in memory: rows of prefix -> (ASN, org, country), compiled into one LPM per
 * address family.
 *
 * Organisation names repeat across thousands of prefixes, so they are interned once in an
 * arena, and each distinct (ASN, org, country) triple is one record. A row is a prefix plus
 * a record index; a hash index over prefixes makes a later row for the same prefix replace
 * the earlier one in place. The LPM values are row indices, so a lookup returns the matched
 * prefix as well as its record. */
#include "lib/netmap.h"

#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/lpm.h"

struct nm_record {
	uint32_t asn;
	const char *org;
	char country[3];
};

struct nm_row {
	struct sh_prefix prefix;
	uint32_t rec;
};

/* Open-addressing index over items held elsewhere: slot = item index + 1, 0 when empty. */
struct nm_index {
	uint32_t *slot;
	size_t cap, n;
};

struct sh_netmap {
	struct sh_arena strings;
	const char **org;
	size_t n_org, cap_org;
	struct nm_index org_ix;
	struct nm_record *rec;
	size_t n_rec, cap_rec;
	struct nm_index rec_ix;
	struct nm_row *row;
	size_t n_row, cap_row;
	struct nm_index row_ix;
	struct sh_lpm *lpm4, *lpm6;
	bool built;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

#define FNV_BASIS 0xcbf29ce484222325ull

static uint64_t hash_str(const char *s)
{
	return mix(fnv(FNV_BASIS, s, strlen(s)));
}

static uint64_t hash_rec(uint32_t asn, const char *org, const char *cc)
{
	/* orgs are interned, so the pointer identifies the string */
	uint64_t h = fnv(FNV_BASIS, &asn, sizeof(asn));
	h = fnv(h, &org, sizeof(org));
	return mix(fnv(h, cc, 2));
}

static uint64_t hash_prefix(const struct sh_prefix *p)
{
	uint64_t h = fnv(FNV_BASIS, &p->ip.af, 1);
	h = fnv(h, p->ip.b, sizeof(p->ip.b));
	return mix(fnv(h, &p->len, 1));
}

static uint64_t item_hash(const struct sh_netmap *m, const struct nm_index *ix, uint32_t i)
{
	if (ix == &m->org_ix)
		return hash_str(m->org[i]);
	if (ix == &m->rec_ix)
		return hash_rec(m->rec[i].asn, m->rec[i].org, m->rec[i].country);
	return hash_prefix(&m->row[i].prefix);
}

/* Keeps the index at most half full. */
static int index_reserve(struct sh_netmap *m, struct nm_index *ix)
{
	if (ix->n < ix->cap / 2)
		return 0;
	size_t nc = ix->cap ? ix->cap * 2 : 1024;
	if (nc > SIZE_MAX / sizeof(uint32_t) || nc / 2 > UINT32_MAX)
		return SH_ENOMEM;
	uint32_t *s = calloc(nc, sizeof(*s));
	if (!s)
		return SH_ENOMEM;
	for (size_t k = 0; k < ix->cap; k++) {
		if (!ix->slot[k])
			continue;
		size_t i = item_hash(m, ix, ix->slot[k] - 1) & (nc - 1);
		while (s[i])
			i = (i + 1) & (nc - 1);
		s[i] = ix->slot[k];
	}
	free(ix->slot);
	ix->slot = s;
	ix->cap = nc;
	return 0;
}

static int grow(void **p, size_t *cap, size_t want, size_t sz)
{
	if (want <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 256;
	if (nc < want || nc > SIZE_MAX / sz || nc > UINT32_MAX)
		return SH_ENOMEM;
	void *q = realloc(*p, nc * sz);
	if (!q)
		return SH_ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

int sh_netmap_new(struct sh_netmap **out)
{
	struct sh_netmap *m = calloc(1, sizeof(*m));
	*out = m;
	if (!m)
		return SH_ENOMEM;
	sh_arena_init(&m->strings, 64 * 1024);
	return 0;
}

static int intern_org(struct sh_netmap *m, const char *s, const char **out)
{
	int rc = index_reserve(m, &m->org_ix);
	if (rc)
		return rc;
	size_t mask = m->org_ix.cap - 1, i = hash_str(s) & mask;
	for (; m->org_ix.slot[i]; i = (i + 1) & mask) {
		const char *o = m->org[m->org_ix.slot[i] - 1];
		if (strcmp(o, s) == 0) {
			*out = o;
			return 0;
		}
	}
	if ((rc = grow((void **)&m->org, &m->cap_org, m->n_org + 1, sizeof(*m->org))))
		return rc;
	char *copy = sh_arena_strndup(&m->strings, s, strlen(s));
	if (!copy)
		return SH_ENOMEM;
	m->org[m->n_org] = copy;
	m->org_ix.slot[i] = (uint32_t)++m->n_org;
	m->org_ix.n++;
	*out = copy;
	return 0;
}

static int intern_record(struct sh_netmap *m, uint32_t asn, const char *org, const char *cc,
			 uint32_t *out)
{
	int rc = index_reserve(m, &m->rec_ix);
	if (rc)
		return rc;
	size_t mask = m->rec_ix.cap - 1, i = hash_rec(asn, org, cc) & mask;
	for (; m->rec_ix.slot[i]; i = (i + 1) & mask) {
		const struct nm_record *r = &m->rec[m->rec_ix.slot[i] - 1];
		if (r->asn == asn && r->org == org && memcmp(r->country, cc, 2) == 0) {
			*out = m->rec_ix.slot[i] - 1;
			return 0;
		}
	}
	if ((rc = grow((void **)&m->rec, &m->cap_rec, m->n_rec + 1, sizeof(*m->rec))))
		return rc;
	struct nm_record *r = &m->rec[m->n_rec];
	r->asn = asn;
	r->org = org;
	memcpy(r->country, cc, 3);
	*out = (uint32_t)m->n_rec;
	m->rec_ix.slot[i] = (uint32_t)++m->n_rec;
	m->rec_ix.n++;
	return 0;
}

/* "" unless cc is two ASCII letters; upper-cased. */
static void norm_country(const char *cc, char out[3])
{
	out[0] = out[1] = out[2] = '\0';
	for (int k = 0; k < 2; k++) {
		char c = cc[k];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return;
	}
	if (cc[2] != '\0')
		return;
	out[0] = (char)(cc[0] & ~0x20);
	out[1] = (char)(cc[1] & ~0x20);
}

int sh_netmap_add(struct sh_netmap *m, const struct sh_netrow *row)
{
	if (!m || !row || m->built)
		return SH_EINVAL;
	const struct sh_ip *ip = &row->prefix.ip;
	if ((ip->af != SH_AF_V4 && ip->af != SH_AF_V6) ||
	    row->prefix.len > (ip->af == SH_AF_V4 ? 32 : 128))
		return SH_EINVAL;
	struct sh_prefix p;
	sh_prefix_from_ip(ip, row->prefix.len, &p);

	const char *org;
	char cc[3];
	norm_country(row->country, cc);
	uint32_t rec;
	int rc = intern_org(m, row->org ? row->org : "", &org);
	if (!rc)
		rc = intern_record(m, row->asn, org, cc, &rec);
	if (!rc)
		rc = index_reserve(m, &m->row_ix);
	if (rc)
		return rc;

	size_t mask = m->row_ix.cap - 1, i = hash_prefix(&p) & mask;
	for (; m->row_ix.slot[i]; i = (i + 1) & mask) {
		struct nm_row *r = &m->row[m->row_ix.slot[i] - 1];
		if (r->prefix.len == p.len && r->prefix.ip.af == p.ip.af &&
		    memcmp(r->prefix.ip.b, p.ip.b, sizeof(p.ip.b)) == 0) {
			r->rec = rec;
			return 0;
		}
	}
	if ((rc = grow((void **)&m->row, &m->cap_row, m->n_row + 1, sizeof(*m->row))))
		return rc;
	m->row[m->n_row].prefix = p;
	m->row[m->n_row].rec = rec;
	m->row_ix.slot[i] = (uint32_t)++m->n_row;
	m->row_ix.n++;
	return 0;
}

int sh_netmap_build(struct sh_netmap *m)
{
	if (!m || m->built)
		return SH_EINVAL;
	struct sh_lpm_builder *b4 = NULL, *b6 = NULL;
	int rc = sh_lpm_builder_new(SH_AF_V4, &b4);
	if (!rc)
		rc = sh_lpm_builder_new(SH_AF_V6, &b6);
	size_t n4 = 0, n6 = 0;
	for (size_t i = 0; i < m->n_row && !rc; i++) {
		const struct sh_prefix *p = &m->row[i].prefix;
		bool v4 = p->ip.af == SH_AF_V4;
		rc = sh_lpm_builder_add(v4 ? b4 : b6, p->ip.b, p->len, (uint32_t)i);
		n4 += v4;
		n6 += !v4;
	}
	if (!rc && n4)
		rc = sh_lpm_build(b4, &m->lpm4);
	if (!rc && n6)
		rc = sh_lpm_build(b6, &m->lpm6);
	sh_lpm_builder_free(b4);
	sh_lpm_builder_free(b6);
	if (rc) {
		sh_lpm_free(m->lpm4);
		sh_lpm_free(m->lpm6);
		m->lpm4 = m->lpm6 = NULL;
		return rc;
	}
	/* the indexes only serve adds, which are over */
	free(m->row_ix.slot);
	free(m->org_ix.slot);
	free(m->rec_ix.slot);
	memset(&m->row_ix, 0, sizeof(m->row_ix));
	memset(&m->org_ix, 0, sizeof(m->org_ix));
	memset(&m->rec_ix, 0, sizeof(m->rec_ix));
	m->built = true;
	return 0;
}

int sh_netmap_lookup(const struct sh_netmap *m, const struct sh_ip *ip, struct sh_netinfo *out)
{
	if (!m || !ip || !out || !m->built)
		return SH_EINVAL;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct sh_ip a = *ip;
	if (a.af == SH_AF_V6 && memcmp(a.b, mapped, sizeof(mapped)) == 0) {
		memmove(a.b, a.b + 12, 4);
		memset(a.b + 4, 0, 12);
		a.af = SH_AF_V4;
	}
	uint32_t v;
	if (a.af == SH_AF_V4)
		v = sh_lpm_lookup4(m->lpm4, (uint32_t)a.b[0] << 24 | (uint32_t)a.b[1] << 16 |
						    (uint32_t)a.b[2] << 8 | a.b[3]);
	else if (a.af == SH_AF_V6)
		v = sh_lpm_lookup6(m->lpm6, a.b);
	else
		return SH_EINVAL;
	if (v == SH_LPM_NONE || sh_ip_special(&a))
		return SH_ENOENT;
	const struct nm_row *r = &m->row[v];
	const struct nm_record *rec = &m->rec[r->rec];
	out->prefix = r->prefix;
	out->asn = rec->asn;
	out->org = rec->org;
	out->country = rec->country;
	return 0;
}

size_t sh_netmap_count(const struct sh_netmap *m)
{
	return m ? m->n_row : 0;
}

void sh_netmap_free(struct sh_netmap *m)
{
	if (!m)
		return;
	sh_lpm_free(m->lpm4);
	sh_lpm_free(m->lpm6);
	free(m->row_ix.slot);
	free(m->org_ix.slot);
	free(m->rec_ix.slot);
	free(m->row);
	free(m->rec);
	free(m->org);
	sh_arena_fini(&m->strings);
	free(m);
}
