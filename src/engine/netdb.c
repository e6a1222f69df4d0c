/* Network attribution: picks the table in force per field and date, compiles it on first use.
 *
 * A table's rows are read once and kept, and both lookups and the address-space sweep work on
 * them. Lookups use, per address family, the rows in address order (shorter prefixes first at
 * the same address; of two rows for one prefix the later wins, as in a netmap) with a link
 * from each row to its nearest enclosing row: the last row starting at or before the address
 * is inside every row that contains the address, so the longest match is the first row on its
 * chain of enclosing rows that contains the address. Tables arrive in address order, so
 * building this is one pass, not the sort and compile an LPM structure would need. */
#include "engine/netdb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "netmap/asmap.h"

/* A table row, for lookups and the address-space sweep. */
struct kept_row {
	struct sh_prefix prefix;
	char country[3];
	uint32_t asn;
	const char *org; /* in the netdb arena */
};

#define NO_ROW UINT32_MAX

/* The lookup order of one family's rows. */
struct family_index {
	uint32_t *row;    /* row indices in address order, one per distinct prefix */
	uint32_t *parent; /* position in row of the nearest enclosing prefix, or NO_ROW */
	size_t n;
};

struct table {
	struct sh_asmap_table info;
	struct family_index *ix[2]; /* IPv4, IPv6; NULL until first use */
	int load_rc;
	struct kept_row *rows; /* every row, in storage order */
	size_t n_rows, cap_rows;
	bool rows_loaded;
};

struct sh_netdb {
	struct sh_store *store;
	struct sh_arena arena;
	struct table *tables; /* oldest first */
	size_t n;
	struct table hosting;          /* provider ranges, provider names as orgs */
	const char *last_provider;     /* the copy of the provider of the last range read */
};

/* Loading one table's rows. Org names arrive as pointers that stay
 * put during the load, one per distinct name, so they are copied once each, found by address. */
struct load {
	struct sh_netdb *db;
	struct table *t;
	const char **from, **to; /* open addressing: source pointer -> copy */
	size_t n, cap;
	const char *last_from, *last_to;
};

static size_t ptr_slot(const void *p, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (cap - 1);
}

static int load_grow(struct load *l)
{
	size_t cap = l->cap ? l->cap * 2 : 4096;
	const char **from = calloc(cap, sizeof(*from)), **to = calloc(cap, sizeof(*to));
	if (!from || !to) {
		free(from);
		free(to);
		return SH_ENOMEM;
	}
	for (size_t i = 0; i < l->cap; i++) {
		if (!l->from[i])
			continue;
		size_t k = ptr_slot(l->from[i], cap);
		while (from[k])
			k = (k + 1) & (cap - 1);
		from[k] = l->from[i];
		to[k] = l->to[i];
	}
	free(l->from);
	free(l->to);
	l->from = from;
	l->to = to;
	l->cap = cap;
	return 0;
}

static const char *org_copy(struct load *l, const char *org)
{
	if (!org || !*org)
		return "";
	/* a range split into several prefixes gives rows in a row with the same org */
	if (org == l->last_from)
		return l->last_to;
	if ((l->n + 1) * 2 > l->cap && load_grow(l) != 0)
		return NULL;
	size_t k = ptr_slot(org, l->cap);
	for (; l->from[k]; k = (k + 1) & (l->cap - 1)) {
		if (l->from[k] == org) {
			l->last_from = org;
			return l->last_to = l->to[k];
		}
	}
	char *c = sh_arena_strndup(&l->db->arena, org, strlen(org));
	if (!c)
		return NULL;
	l->from[k] = org;
	l->to[k] = c;
	l->n++;
	l->last_from = org;
	return l->last_to = c;
}

static int keep_row(const struct sh_netrow *row, void *arg)
{
	struct load *l = arg;
	struct table *t = l->t;
	if (t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 4096;
		if (cap > SIZE_MAX / sizeof(*t->rows))
			return SH_ENOMEM;
		struct kept_row *v = realloc(t->rows, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		t->rows = v;
		t->cap_rows = cap;
	}
	struct kept_row *k = &t->rows[t->n_rows];
	k->prefix = row->prefix;
	k->asn = row->asn;
	memcpy(k->country, row->country, sizeof(k->country));
	k->country[2] = '\0';
	k->org = org_copy(l, row->org);
	if (!k->org)
		return SH_ENOMEM;
	t->n_rows++;
	return 0;
}

/* Reads a table's rows once; the map and the space sweep are built from them. */
static int table_rows(struct sh_netdb *db, struct table *t)
{
	if (t->rows_loaded || t->load_rc)
		return t->load_rc;
	struct load l = {.db = db, .t = t};
	/* the table says how many rows it has: one allocation instead of a dozen copies */
	if (t->info.rows && t->info.rows < SIZE_MAX / sizeof(*t->rows)) {
		t->rows = malloc(t->info.rows * sizeof(*t->rows));
		t->cap_rows = t->rows ? t->info.rows : 0;
	}
	int rc = sh_store_asmap_rows(db->store, t->info.id, keep_row, &l);
	free(l.from);
	free(l.to);
	if (rc != 0) {
		free(t->rows);
		t->rows = NULL;
		t->n_rows = t->cap_rows = 0;
		t->load_rc = rc;
		return rc;
	}
	t->rows_loaded = true;
	return 0;
}

/* Ranges come grouped by provider: each name is copied once, when it changes. */
static int add_hosting(const char *provider, const struct sh_prefix *p, void *arg)
{
	struct sh_netdb *db = arg;
	struct table *t = &db->hosting;
	if (t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 1024;
		if (cap > SIZE_MAX / sizeof(*t->rows))
			return SH_ENOMEM;
		struct kept_row *v = realloc(t->rows, cap * sizeof(*v));
		if (!v)
			return SH_ENOMEM;
		t->rows = v;
		t->cap_rows = cap;
	}
	if (!db->last_provider || strcmp(db->last_provider, provider) != 0) {
		db->last_provider = sh_arena_strndup(&db->arena, provider, strlen(provider));
		if (!db->last_provider)
			return SH_ENOMEM;
	}
	struct kept_row *k = &t->rows[t->n_rows++];
	memset(k, 0, sizeof(*k));
	k->prefix = *p;
	k->org = db->last_provider;
	return 0;
}

int sh_netdb_open(struct sh_store *s, struct sh_netdb **out)
{
	*out = NULL;
	struct sh_netdb *db = calloc(1, sizeof(*db));
	if (!db)
		return SH_ENOMEM;
	db->store = s;
	sh_arena_init(&db->arena, 16384);
	struct sh_asmap_table *t;
	int rc = sh_store_asmap_tables(s, &db->arena, &t, &db->n);
	if (rc == 0 && db->n) {
		db->tables = calloc(db->n, sizeof(*db->tables));
		if (!db->tables)
			rc = SH_ENOMEM;
		for (size_t i = 0; rc == 0 && i < db->n; i++)
			db->tables[i].info = t[i];
	}
	if (rc == 0)
		rc = sh_store_hosting_foreach(s, add_hosting, db);
	db->hosting.rows_loaded = true;
	if (rc != 0) {
		sh_netdb_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

static int cmp_prefix(const struct sh_prefix *a, const struct sh_prefix *b)
{
	int c = memcmp(a->ip.b, b->ip.b, sizeof(a->ip.b));
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_row_index(const void *a, const void *b, void *arg)
{
	const struct kept_row *rows = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = cmp_prefix(&rows[x].prefix, &rows[y].prefix);
	return c ? c : x < y ? -1 : x > y;
}

static void family_index_free(struct family_index *ix)
{
	if (!ix)
		return;
	free(ix->row);
	free(ix->parent);
	free(ix);
}

/* The lookup order of one family (0: IPv4, 1: IPv6), built on first use. */
static const struct family_index *table_index(struct sh_netdb *db, struct table *t, int fam)
{
	if (t->ix[fam] || t->load_rc)
		return t->ix[fam];
	int af = fam ? SH_AF_V6 : SH_AF_V4;
	int rc = table_rows(db, t);
	struct family_index *ix = NULL;
	if (rc == 0 && t->n_rows >= NO_ROW)
		rc = SH_ERANGE;
	if (rc == 0 && !(ix = calloc(1, sizeof(*ix))))
		rc = SH_ENOMEM;
	if (rc == 0) {
		ix->row = malloc((t->n_rows ? t->n_rows : 1) * sizeof(*ix->row));
		ix->parent = malloc((t->n_rows ? t->n_rows : 1) * sizeof(*ix->parent));
		if (!ix->row || !ix->parent)
			rc = SH_ENOMEM;
	}
	if (rc != 0) {
		family_index_free(ix);
		t->load_rc = rc;
		return NULL;
	}
	bool sorted = true;
	for (size_t i = 0; i < t->n_rows; i++) {
		if (t->rows[i].prefix.ip.af != af)
			continue;
		if (ix->n && cmp_prefix(&t->rows[ix->row[ix->n - 1]].prefix, &t->rows[i].prefix) > 0)
			sorted = false;
		ix->row[ix->n++] = (uint32_t)i;
	}
	if (!sorted)
		qsort_r(ix->row, ix->n, sizeof(*ix->row), cmp_row_index, t->rows);
	/* one row per prefix, the later one */
	size_t w = 0;
	for (size_t i = 0; i < ix->n; i++) {
		if (w && cmp_prefix(&t->rows[ix->row[w - 1]].prefix, &t->rows[ix->row[i]].prefix) == 0)
			w--;
		ix->row[w++] = ix->row[i];
	}
	ix->n = w;
	/* nearest enclosing prefix: a stack of the open prefixes, as in the space sweep */
	uint32_t *stack = malloc((ix->n ? ix->n : 1) * sizeof(*stack));
	if (!stack) {
		family_index_free(ix);
		t->load_rc = SH_ENOMEM;
		return NULL;
	}
	size_t depth = 0;
	for (size_t i = 0; i < ix->n; i++) {
		const struct sh_ip *ip = &t->rows[ix->row[i]].prefix.ip;
		while (depth && !sh_prefix_contains(&t->rows[ix->row[stack[depth - 1]]].prefix, ip))
			depth--;
		ix->parent[i] = depth ? stack[depth - 1] : NO_ROW;
		stack[depth++] = (uint32_t)i;
	}
	free(stack);
	t->ix[fam] = ix;
	return ix;
}

/* Longest match in one table: 0 and *ni filled (strings live as long as db), or SH_ENOENT. */
static int table_lookup(struct sh_netdb *db, struct table *t, const struct sh_ip *ip,
			struct sh_netinfo *ni)
{
	const struct family_index *ix = table_index(db, t, ip->af == SH_AF_V6);
	if (!ix)
		return t->load_rc;
	/* the last prefix starting at or before ip */
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(t->rows[ix->row[mid]].prefix.ip.b, ip->b, sizeof(ip->b)) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t k = lo ? (uint32_t)(lo - 1) : NO_ROW;
	while (k != NO_ROW && !sh_prefix_contains(&t->rows[ix->row[k]].prefix, ip))
		k = ix->parent[k];
	if (k == NO_ROW)
		return SH_ENOENT;
	const struct kept_row *r = &t->rows[ix->row[k]];
	ni->prefix = r->prefix;
	ni->asn = r->asn;
	ni->org = r->org;
	ni->country = r->country;
	return 0;
}

static bool covers(const struct table *t, int field, int af)
{
	int fam = t->info.fields & (SH_NETDB_HAS_V4 | SH_NETDB_HAS_V6);
	return (t->info.fields & field) &&
	       (!fam || (fam & (af == SH_AF_V4 ? SH_NETDB_HAS_V4 : SH_NETDB_HAS_V6)));
}

/* The as_of date in force: the newest date not after when among tables with the field and
 * family, else the oldest such date. False when no table qualifies. */
static bool pick_date(const struct sh_netdb *db, int field, int af, int64_t when, int64_t *as_of)
{
	bool any = false, found = false;
	int64_t oldest = 0, best = 0;
	for (size_t i = 0; i < db->n; i++) {
		const struct table *t = &db->tables[i];
		if (!covers(t, field, af))
			continue;
		if (!any || t->info.as_of < oldest)
			oldest = t->info.as_of;
		any = true;
		if ((when == SH_TIME_NONE || t->info.as_of <= when) && (!found || t->info.as_of > best)) {
			best = t->info.as_of;
			found = true;
		}
	}
	*as_of = found ? best : oldest;
	return any;
}

/* Longest match among the tables of that date, the most recently imported first. */
static int lookup_at(struct sh_netdb *db, int field, const struct sh_ip *ip, int64_t when,
		     struct sh_netinfo *ni, int64_t *as_of)
{
	if (!pick_date(db, field, ip->af, when, as_of))
		return SH_ENOENT;
	for (size_t i = db->n; i-- > 0;) {
		struct table *t = &db->tables[i];
		if (t->info.as_of != *as_of || !covers(t, field, ip->af))
			continue;
		int rc = table_lookup(db, t, ip, ni);
		if (rc == 0 && (field != SH_ASMAP_HAS_COUNTRY || *ni->country))
			return 0;
		if (rc != SH_ENOENT)
			return rc;
	}
	return SH_ENOENT;
}

int sh_netdb_attribute(struct sh_netdb *db, const struct sh_ip *ip, int64_t when,
		       struct sh_attrib *out)
{
	return sh_netdb_attribute_fields(db, ip, when, SH_ASMAP_HAS_ASN | SH_ASMAP_HAS_COUNTRY, out);
}

int sh_netdb_attribute_fields(struct sh_netdb *db, const struct sh_ip *ip, int64_t when,
			      int fields, struct sh_attrib *out)
{
	memset(out, 0, sizeof(*out));
	out->org = "";
	out->country = "";
	out->asn_table_as_of = SH_TIME_NONE;
	out->country_table_as_of = SH_TIME_NONE;
	out->special = sh_ip_special(ip);
	if (out->special)
		return 0;
	struct sh_netinfo ni;
	int64_t as_of;
	int rc = fields & SH_ASMAP_HAS_ASN ? lookup_at(db, SH_ASMAP_HAS_ASN, ip, when, &ni, &as_of)
					    : SH_ENOENT;
	if (rc == 0) {
		out->mapped = true;
		out->prefix = ni.prefix;
		out->asn = ni.asn;
		out->org = ni.org;
		out->asn_table_as_of = as_of;
		if (ni.country && *ni.country) {
			out->country = ni.country;
			out->country_table_as_of = as_of;
		}
	} else if (rc != SH_ENOENT) {
		return rc;
	}
	rc = fields & SH_ASMAP_HAS_COUNTRY ? lookup_at(db, SH_ASMAP_HAS_COUNTRY, ip, when, &ni, &as_of)
					    : SH_ENOENT;
	if (rc == 0) {
		out->country = ni.country;
		out->country_table_as_of = as_of;
	} else if (rc != SH_ENOENT) {
		return rc;
	}
	rc = table_lookup(db, &db->hosting, ip, &ni);
	if (rc == 0)
		out->hosting = ni.org;
	else if (rc != SH_ENOENT)
		return rc;
	return 0;
}

unsigned sh_netdb_tables(const struct sh_netdb *db)
{
	return (unsigned)db->n;
}

double sh_netdb_prefix_units(const struct sh_prefix *p)
{
	return p->ip.af == SH_AF_V4 ? ldexp(1.0, 32 - p->len) : ldexp(1.0, 48 - p->len);
}

/* Rows of one family from the tables in force, for the space sweep. */
struct space_row {
	const struct kept_row *row;
	uint32_t rank; /* 0 for the most recently imported table */
	double units;
};

/* Address order, shorter prefixes first at the same address, then the newest table first. */
static int cmp_space_row(const void *a, const void *b)
{
	const struct space_row *x = a, *y = b;
	int c = memcmp(x->row->prefix.ip.b, y->row->prefix.ip.b, sizeof(x->row->prefix.ip.b));
	if (c)
		return c;
	if (x->row->prefix.len != y->row->prefix.len)
		return x->row->prefix.len < y->row->prefix.len ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Sorted rows nest like parentheses: a stack of the enclosing prefixes finds each row's
 * nearest enclosing one, which loses the row's size. Of several rows for one prefix the one a
 * lookup finds counts: the newest table's, and within a table the later row. Tables come in
 * address order already, so the sort is skipped when the rows are in order. */
static int space_sweep(struct space_row *v, size_t *n)
{
	bool sorted = true;
	for (size_t i = 1; i < *n && sorted; i++)
		sorted = cmp_space_row(&v[i - 1], &v[i]) <= 0;
	if (!sorted)
		qsort(v, *n, sizeof(*v), cmp_space_row);
	size_t w = 0;
	for (size_t i = 0; i < *n; i++) {
		struct space_row *last = w ? &v[w - 1] : NULL;
		if (last && last->row->prefix.len == v[i].row->prefix.len &&
		    memcmp(last->row->prefix.ip.b, v[i].row->prefix.ip.b, 16) == 0) {
			if (v[i].rank < last->rank || (v[i].rank == last->rank && v[i].row > last->row))
				*last = v[i];
			continue;
		}
		v[w++] = v[i];
	}
	*n = w;
	size_t *stack = malloc((w ? w : 1) * sizeof(*stack));
	if (!stack)
		return SH_ENOMEM;
	size_t depth = 0;
	for (size_t i = 0; i < w; i++) {
		while (depth &&
		       !sh_prefix_contains(&v[stack[depth - 1]].row->prefix, &v[i].row->prefix.ip))
			depth--;
		if (depth)
			v[stack[depth - 1]].units -= v[i].units;
		stack[depth++] = i;
	}
	free(stack);
	return 0;
}

/* The rows of family af from the tables in force at when for field. */
static int space_rows(struct sh_netdb *db, int field, int af, int64_t when, struct space_row **out,
		      size_t *n)
{
	*out = NULL;
	*n = 0;
	int64_t as_of;
	if (!pick_date(db, field, af, when, &as_of))
		return 0;
	size_t total = 0;
	for (size_t i = 0; i < db->n; i++) {
		struct table *t = &db->tables[i];
		if (t->info.as_of != as_of || !covers(t, field, af))
			continue;
		int rc = table_rows(db, t);
		if (rc != 0)
			return rc;
		total += t->n_rows;
	}
	struct space_row *v = malloc((total ? total : 1) * sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	uint32_t rank = 0;
	for (size_t i = db->n; i-- > 0;) {
		struct table *t = &db->tables[i];
		if (t->info.as_of != as_of || !covers(t, field, af))
			continue;
		for (size_t k = 0; k < t->n_rows; k++) {
			if (t->rows[k].prefix.ip.af != af)
				continue;
			v[*n].row = &t->rows[k];
			v[*n].rank = rank;
			v[*n].units = sh_netdb_prefix_units(&t->rows[k].prefix);
			(*n)++;
		}
		rank++;
	}
	*out = v;
	return 0;
}

int sh_netdb_foreach_space(struct sh_netdb *db, int field, int af, int64_t when,
			   int (*cb)(const struct sh_netspace *sp, void *arg), void *arg)
{
	static const int families[] = {SH_AF_V4, SH_AF_V6};
	int rc = 0;
	for (size_t f = 0; rc == 0 && f < sizeof(families) / sizeof(families[0]); f++) {
		if (af && af != families[f])
			continue;
		struct space_row *v;
		size_t n;
		rc = space_rows(db, field, families[f], when, &v, &n);
		if (rc == 0)
			rc = space_sweep(v, &n);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			const struct kept_row *r = v[i].row;
			struct sh_netspace out = {
				.prefix = r->prefix,
				.asn = r->asn,
				.org = r->org,
				.country = r->country,
				.units = v[i].units > 0 ? v[i].units : 0,
			};
			rc = cb(&out, arg);
		}
		free(v);
	}
	return rc;
}

void sh_netdb_free(struct sh_netdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++) {
		family_index_free(db->tables[i].ix[0]);
		family_index_free(db->tables[i].ix[1]);
		free(db->tables[i].rows);
	}
	free(db->tables);
	family_index_free(db->hosting.ix[0]);
	family_index_free(db->hosting.ix[1]);
	free(db->hosting.rows);
	sh_arena_fini(&db->arena);
	free(db);
}
