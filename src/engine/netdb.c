/* Network attribution: picks the table in force per field and date, compiles it on first use. */
#include "engine/netdb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "netmap/asmap.h"

/* A table row kept beside the compiled map, for the address-space sweep. */
struct kept_row {
	struct sh_prefix prefix;
	char country[3];
	uint32_t asn;
	const char *org; /* in the netdb arena */
};

struct table {
	struct sh_asmap_table info;
	struct sh_netmap *map; /* NULL until first use */
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
	struct sh_netmap *hosting;
};

/* Loading one table's rows. Org names arrive as pointers that stay
 * put during the load, one per distinct name, so they are copied once each, found by address. */
struct load {
	struct sh_netdb *db;
	struct table *t;
	const char **from, **to; /* open addressing: source pointer -> copy */
	size_t n, cap;
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
	if ((l->n + 1) * 2 > l->cap && load_grow(l) != 0)
		return NULL;
	size_t k = ptr_slot(org, l->cap);
	for (; l->from[k]; k = (k + 1) & (l->cap - 1))
		if (l->from[k] == org)
			return l->to[k];
	char *c = sh_arena_strndup(&l->db->arena, org, strlen(org));
	if (!c)
		return NULL;
	l->from[k] = org;
	l->to[k] = c;
	l->n++;
	return c;
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

static int add_hosting(const char *provider, const struct sh_prefix *p, void *arg)
{
	struct sh_netrow row = {.prefix = *p, .org = provider};
	return sh_netmap_add(arg, &row);
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
		rc = sh_netmap_new(&db->hosting);
	if (rc == 0)
		rc = sh_store_hosting_foreach(s, add_hosting, db->hosting);
	if (rc == 0)
		rc = sh_netmap_build(db->hosting);
	if (rc != 0) {
		sh_netdb_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

static struct sh_netmap *table_map(struct sh_netdb *db, struct table *t)
{
	if (t->map || t->load_rc)
		return t->map;
	struct sh_netmap *m = NULL;
	int rc = table_rows(db, t);
	if (rc == 0)
		rc = sh_netmap_new(&m);
	for (size_t i = 0; rc == 0 && i < t->n_rows; i++) {
		const struct kept_row *k = &t->rows[i];
		struct sh_netrow row = {.prefix = k->prefix, .asn = k->asn, .org = k->org};
		memcpy(row.country, k->country, sizeof(row.country));
		rc = sh_netmap_add(m, &row);
	}
	if (rc == 0)
		rc = sh_netmap_build(m);
	if (rc != 0) {
		sh_netmap_free(m);
		t->load_rc = rc;
		return NULL;
	}
	t->map = m;
	return m;
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
		struct sh_netmap *m = table_map(db, t);
		if (!m)
			return t->load_rc;
		if (sh_netmap_lookup(m, ip, ni) == 0 && (field != SH_ASMAP_HAS_COUNTRY || (ni->country && *ni->country)))
			return 0;
	}
	return SH_ENOENT;
}

int sh_netdb_attribute(struct sh_netdb *db, const struct sh_ip *ip, int64_t when,
		       struct sh_attrib *out)
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
	int rc = lookup_at(db, SH_ASMAP_HAS_ASN, ip, when, &ni, &as_of);
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
	rc = lookup_at(db, SH_ASMAP_HAS_COUNTRY, ip, when, &ni, &as_of);
	if (rc == 0) {
		out->country = ni.country;
		out->country_table_as_of = as_of;
	} else if (rc != SH_ENOENT) {
		return rc;
	}
	if (sh_netmap_lookup(db->hosting, ip, &ni) == 0)
		out->hosting = ni.org;
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
 * nearest enclosing one, which loses the row's size. Duplicates (the same prefix from older
 * tables) are dropped first. Tables come in address order already, so the sort is skipped
 * when a single table is in force and its rows are in order. */
static int space_sweep(struct space_row *v, size_t *n)
{
	bool sorted = true;
	for (size_t i = 1; i < *n && sorted; i++)
		sorted = cmp_space_row(&v[i - 1], &v[i]) < 0;
	if (!sorted)
		qsort(v, *n, sizeof(*v), cmp_space_row);
	size_t w = 0;
	for (size_t i = 0; i < *n; i++) {
		if (w && v[w - 1].row->prefix.len == v[i].row->prefix.len &&
		    memcmp(v[w - 1].row->prefix.ip.b, v[i].row->prefix.ip.b, 16) == 0)
			continue;
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

int sh_netdb_foreach_space(struct sh_netdb *db, int field, int64_t when,
			   int (*cb)(const struct sh_netspace *sp, void *arg), void *arg)
{
	static const int families[] = {SH_AF_V4, SH_AF_V6};
	int rc = 0;
	for (size_t f = 0; rc == 0 && f < sizeof(families) / sizeof(families[0]); f++) {
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
		sh_netmap_free(db->tables[i].map);
		free(db->tables[i].rows);
	}
	free(db->tables);
	sh_netmap_free(db->hosting);
	sh_arena_fini(&db->arena);
	free(db);
}
