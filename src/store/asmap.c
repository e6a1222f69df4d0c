/* Network tables (prefix -> ASN, org, country) and hosting ranges in the store.
 *
 * An import holds the write transaction from begin to commit and writes rows as they come in
 * multi-row statements, so a table of ~700k rows never sits in memory. A table's rows are
 * the rowid range [table id << 32, (table id << 32) + 2^32): reading or deleting a table is a
 * range on the primary key with no further index to maintain, and no foreign keys are checked
 * per row (that alone doubled the import time); this file is the only writer. Org names are
 * interned: all stored ones are loaded at begin, new ones get the next ids and are written in
 * batches too. The new table carries fields = -1 until commit, which deletes the table it
 * replaces (same format, file, as_of and fields) and finishes it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netmap/asmap.h"
#include "store/internal.h"

#define ROWS_PER_TABLE (INT64_C(1) << 32)

struct org_slot {
	uint32_t h;
	const char *name; /* NULL when empty */
	int64_t id;
};

struct sh_asmap_import {
	struct sh_store *s;
	int64_t table_id;
	char *format, *file;
	int64_t as_of;
	unsigned long rows;
	struct org_slot *orgs;
	size_t orgs_cap, orgs_n;
	int64_t org_max;
	const char *last_org; /* rows of one range repeat their org: its arena copy and id */
	int64_t last_org_id;
	struct sh_arena names;
	struct sh_store_batch batch, org_batch;
};

static bool prefix_ok(const struct sh_prefix *p)
{
	return (p->ip.af == SH_AF_V4 && p->len <= 32) || (p->ip.af == SH_AF_V6 && p->len <= 128);
}

static void import_free(struct sh_asmap_import *im)
{
	free(im->format);
	free(im->file);
	free(im->orgs);
	sh_arena_fini(&im->names);
	free(im);
}

static int orgs_grow(struct sh_asmap_import *im)
{
	size_t cap = im->orgs_cap ? im->orgs_cap * 2 : 4096;
	if (cap > SIZE_MAX / sizeof(struct org_slot))
		return SH_ENOMEM;
	struct org_slot *v = calloc(cap, sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	for (size_t i = 0; i < im->orgs_cap; i++) {
		if (!im->orgs[i].name)
			continue;
		size_t j = im->orgs[i].h & (cap - 1);
		while (v[j].name)
			j = (j + 1) & (cap - 1);
		v[j] = im->orgs[i];
	}
	free(im->orgs);
	im->orgs = v;
	im->orgs_cap = cap;
	return 0;
}

/* The slot of name[0..n): its entry, or the empty slot where it belongs. */
static struct org_slot *org_slot(struct sh_asmap_import *im, const char *name, size_t n, uint32_t h)
{
	size_t mask = im->orgs_cap - 1, i = h & mask;
	for (; im->orgs[i].name; i = (i + 1) & mask) {
		const char *k = im->orgs[i].name;
		if (im->orgs[i].h == h && strncmp(k, name, n) == 0 && k[n] == '\0')
			break;
	}
	return &im->orgs[i];
}

static int org_put(struct sh_asmap_import *im, const char *name, size_t n, int64_t id,
		   struct org_slot **out)
{
	if ((im->orgs_n + 1) * 2 > im->orgs_cap) {
		int rc = orgs_grow(im);
		if (rc != 0)
			return rc;
	}
	uint32_t h = sh_store_hash(name, n);
	struct org_slot *sl = org_slot(im, name, n, h);
	if (!sl->name) {
		char *copy = sh_arena_strndup(&im->names, name, n);
		if (!copy)
			return SH_ENOMEM;
		*sl = (struct org_slot){h, copy, id};
		im->orgs_n++;
	}
	*out = sl;
	return 0;
}

static int orgs_load(struct sh_asmap_import *im)
{
	struct sh_store *s = im->s;
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s, "SELECT id, name FROM org", &st);
	if (rc != 0)
		return rc;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		int64_t id = sqlite3_column_int64(st, 0);
		struct org_slot *sl;
		if (name &&
		    (rc = org_put(im, name, (size_t)sqlite3_column_bytes(st, 1), id, &sl)) != 0)
			break;
		im->org_max = id > im->org_max ? id : im->org_max;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_finalize(st);
	return rc;
}

int sh_asmap_import_begin(struct sh_store *s, const char *format, const char *file, int64_t as_of,
			  struct sh_asmap_import **out)
{
	*out = NULL;
	if (!format || !*format || !file || !*file)
		return SH_EINVAL;
	const char *base = strrchr(file, '/');
	base = base && base[1] ? base + 1 : file;
	struct sh_asmap_import *im = calloc(1, sizeof(*im));
	if (!im)
		return SH_ENOMEM;
	sh_arena_init(&im->names, 256 * 1024);
	im->s = s;
	im->as_of = as_of;
	im->format = strdup(format);
	im->file = strdup(base);
	if (!im->format || !im->file) {
		import_free(im);
		return SH_ENOMEM;
	}
	int rc = sh_store_begin(s);
	if (rc != 0) {
		import_free(im);
		return rc;
	}
	sqlite3_stmt *st = sh_store_stmt(s, ST_ASMAP_TABLE_INSERT);
	rc = st ? 0 : SH_ESTORE;
	if (rc == 0) {
		sqlite3_bind_text(st, 1, im->format, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, im->file, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, as_of);
		sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
		rc = sh_store_exec_stmt(s, st);
	}
	if (rc == 0) {
		im->table_id = sqlite3_last_insert_rowid(s->db);
		if (im->table_id <= 0 || im->table_id >= INT64_MAX / ROWS_PER_TABLE)
			rc = sh_store_failf(s, SH_ERANGE, "network table ids exhausted");
	}
	if (rc == 0)
		rc = orgs_load(im);
	if (rc != 0) {
		sh_store_rollback(s);
		import_free(im);
		return rc;
	}
	sh_store_batch_init(&im->batch, s, BT_ASMAP_ROW);
	sh_store_batch_init(&im->org_batch, s, BT_ORG);
	*out = im;
	return 0;
}

static int org_id(struct sh_asmap_import *im, const char *name, int64_t *id)
{
	if (im->last_org && strcmp(im->last_org, name) == 0) {
		*id = im->last_org_id;
		return 0;
	}
	size_t n = strlen(name);
	if (n > INT32_MAX)
		return SH_ERANGE;
	struct org_slot *sl;
	int rc = org_put(im, name, n, im->org_max + 1, &sl);
	if (rc != 0)
		return rc;
	*id = sl->id;
	im->last_org = sl->name;
	im->last_org_id = sl->id;
	if (sl->id <= im->org_max)
		return 0;
	im->org_max = sl->id;
	struct sh_store_cell *c = sh_store_batch_row(&im->org_batch);
	sh_store_cell_int(&c[0], sl->id);
	/* The arena copy stays put until the import ends. */
	c[1].type = CELL_TEXT;
	c[1].p = sl->name;
	c[1].len = (int)n;
	return sh_store_batch_add(&im->org_batch);
}

int sh_asmap_import_add(struct sh_asmap_import *im, const struct sh_netrow *row)
{
	if (!prefix_ok(&row->prefix))
		return SH_EINVAL;
	if (im->rows >= (unsigned long)(ROWS_PER_TABLE - 1))
		return SH_ERANGE;
	int64_t org = 0;
	if (row->org && *row->org) {
		int rc = org_id(im, row->org, &org);
		if (rc != 0)
			return rc;
	}
	struct sh_store_cell *c = sh_store_batch_row(&im->batch);
	sh_store_cell_int(&c[0], im->table_id * ROWS_PER_TABLE + (int64_t)im->rows);
	sh_store_cell_int(&c[1], row->prefix.ip.af);
	sh_store_cell_bytes(&c[2], false, row->prefix.ip.b, sh_store_addr_len(row->prefix.ip.af));
	sh_store_cell_int(&c[3], row->prefix.len);
	sh_store_cell_int(&c[4], row->asn);
	if (org)
		sh_store_cell_int(&c[5], org);
	else
		sh_store_cell_null(&c[5]);
	size_t cn = strnlen(row->country, sizeof(row->country));
	if (cn)
		sh_store_cell_bytes(&c[6], true, row->country, cn);
	else
		sh_store_cell_null(&c[6]);
	int rc = sh_store_batch_add(&im->batch);
	if (rc == 0)
		im->rows++;
	return rc;
}

static int table_delete(struct sh_store *s, int64_t id)
{
	sqlite3_stmt *st = sh_store_stmt(s, ST_ASMAP_ROWS_DELETE);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, id * ROWS_PER_TABLE);
	sqlite3_bind_int64(st, 2, id * ROWS_PER_TABLE + ROWS_PER_TABLE - 1);
	int rc = sh_store_exec_stmt(s, st);
	if (rc != 0)
		return rc;
	st = sh_store_stmt(s, ST_ASMAP_TABLE_DELETE);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, id);
	return sh_store_exec_stmt(s, st);
}

int sh_asmap_import_commit(struct sh_asmap_import *im, int fields, unsigned long *rows)
{
	struct sh_store *s = im->s;
	int rc = fields >= 0 ? sh_store_batch_flush(&im->batch) : SH_EINVAL;
	if (rc == 0)
		rc = sh_store_batch_flush(&im->org_batch);
	sqlite3_stmt *st = rc == 0 ? sh_store_stmt(s, ST_ASMAP_TABLE_REPLACED) : NULL;
	if (rc == 0 && !st)
		rc = SH_ESTORE;
	int64_t old = 0;
	if (rc == 0) {
		sqlite3_bind_text(st, 1, im->format, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, im->file, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, im->as_of);
		sqlite3_bind_int(st, 4, fields);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			old = sqlite3_column_int64(st, 0);
		else if (r != SQLITE_DONE)
			rc = sh_store_fail(s, r);
		sqlite3_reset(st);
	}
	if (rc == 0 && old)
		rc = table_delete(s, old);
	if (rc == 0) {
		st = sh_store_stmt(s, ST_ASMAP_TABLE_FINISH);
		rc = st ? 0 : SH_ESTORE;
		if (rc == 0) {
			sqlite3_bind_int64(st, 1, im->table_id);
			sqlite3_bind_int(st, 2, fields);
			sqlite3_bind_int64(st, 3, (int64_t)im->rows);
			rc = sh_store_exec_stmt(s, st);
		}
	}
	if (rc == 0)
		rc = sh_store_commit(s);
	else
		sh_store_rollback(s);
	if (rows)
		*rows = rc == 0 ? im->rows : 0;
	import_free(im);
	return rc;
}

void sh_asmap_import_abort(struct sh_asmap_import *im)
{
	if (!im)
		return;
	sh_store_rollback(im->s);
	import_free(im);
}

int sh_store_asmap_tables(struct sh_store *s, struct sh_arena *arena, struct sh_asmap_table **out,
			  size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT id, as_of, fields, format, file, n_rows FROM asmap_table"
				  " WHERE fields >= 0 ORDER BY as_of, id",
				  &st);
	if (rc != 0)
		return rc;
	size_t cap = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct sh_asmap_table *v =
				ncap <= SIZE_MAX / sizeof(*v)
					? sh_arena_alloc(arena, ncap * sizeof(*v))
					: NULL;
			if (!v) {
				rc = SH_ENOMEM;
				break;
			}
			if (*n)
				memcpy(v, *out, *n * sizeof(*v));
			*out = v;
			cap = ncap;
		}
		struct sh_asmap_table *t = &(*out)[*n];
		t->id = sqlite3_column_int64(st, 0);
		t->as_of = sqlite3_column_int64(st, 1);
		t->fields = sqlite3_column_int(st, 2);
		t->format = sh_arena_strndup(arena, (const char *)sqlite3_column_text(st, 3),
					     (size_t)sqlite3_column_bytes(st, 3));
		t->file = sh_arena_strndup(arena, (const char *)sqlite3_column_text(st, 4),
					   (size_t)sqlite3_column_bytes(st, 4));
		int64_t nrows = sqlite3_column_int64(st, 5);
		t->rows = nrows < 0 ? 0 : (unsigned long)nrows;
		if (!t->format || !t->file) {
			rc = SH_ENOMEM;
			break;
		}
		(*n)++;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_finalize(st);
	return rc;
}

struct org_name {
	int64_t id;
	const char *name;
};

/* The org table in memory, ascending ids: a binary search per row beats a join. */
static int org_names(struct sh_store *s, struct sh_arena *a, struct org_name **out, size_t *n)
{
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s, "SELECT id, name FROM org ORDER BY id", &st);
	if (rc != 0)
		return rc;
	size_t cap = 0;
	int r;
	*out = NULL;
	*n = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			struct org_name *v = ncap <= SIZE_MAX / sizeof(*v)
						     ? realloc(*out, ncap * sizeof(*v))
						     : NULL;
			if (!v) {
				rc = SH_ENOMEM;
				break;
			}
			*out = v;
			cap = ncap;
		}
		const char *name = sh_arena_strndup(a, (const char *)sqlite3_column_text(st, 1),
						    (size_t)sqlite3_column_bytes(st, 1));
		if (!name) {
			rc = SH_ENOMEM;
			break;
		}
		(*out)[(*n)++] = (struct org_name){sqlite3_column_int64(st, 0), name};
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_finalize(st);
	return rc;
}

static const char *org_lookup(const struct org_name *v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].id == id ? v[lo].name : "";
}

int sh_store_asmap_rows(struct sh_store *s, int64_t table_id,
			int (*cb)(const struct sh_netrow *row, void *arg), void *arg)
{
	if (table_id <= 0 || table_id >= INT64_MAX / ROWS_PER_TABLE)
		return SH_ENOENT;
	struct sh_arena a;
	sh_arena_init(&a, 256 * 1024);
	struct org_name *orgs = NULL;
	size_t n_orgs = 0;
	sqlite3_stmt *st = NULL;
	int rc = org_names(s, &a, &orgs, &n_orgs);
	if (rc == 0)
		rc = sh_store_prepare(s,
				      "SELECT af, addr, plen, asn, org_id, country FROM asmap"
				      " WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
				      &st);
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, table_id * ROWS_PER_TABLE);
		sqlite3_bind_int64(st, 2, table_id * ROWS_PER_TABLE + ROWS_PER_TABLE - 1);
		int r;
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			struct sh_netrow row;
			rc = sh_store_column_prefix(s, st, 0, &row.prefix);
			if (rc != 0)
				break;
			int64_t asn = sqlite3_column_int64(st, 3);
			row.asn = asn < 0 || asn > UINT32_MAX ? 0 : (uint32_t)asn;
			row.org = sqlite3_column_type(st, 4) == SQLITE_NULL
					  ? ""
					  : org_lookup(orgs, n_orgs, sqlite3_column_int64(st, 4));
			const char *cc = (const char *)sqlite3_column_text(st, 5);
			memset(row.country, 0, sizeof(row.country));
			if (cc)
				strncpy(row.country, cc, sizeof(row.country) - 1);
			rc = cb(&row, arg);
			if (rc != 0)
				break;
		}
		if (rc == 0 && r != SQLITE_DONE)
			rc = sh_store_fail(s, r);
	}
	sqlite3_finalize(st);
	free(orgs);
	sh_arena_fini(&a);
	return rc;
}

int sh_store_hosting_replace(struct sh_store *s, const char *provider,
			     const struct sh_prefix *prefixes, size_t n)
{
	if (!provider || !*provider || (n && !prefixes))
		return SH_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!prefix_ok(&prefixes[i]))
			return SH_EINVAL;
	int rc = sh_store_begin(s);
	if (rc != 0)
		return rc;
	sqlite3_stmt *st = sh_store_stmt(s, ST_HOSTING_DELETE);
	rc = st ? 0 : SH_ESTORE;
	if (rc == 0) {
		sqlite3_bind_text(st, 1, provider, -1, SQLITE_STATIC);
		rc = sh_store_exec_stmt(s, st);
	}
	struct sh_store_batch *b = rc == 0 ? malloc(sizeof(*b)) : NULL;
	if (rc == 0 && !b)
		rc = SH_ENOMEM;
	if (b)
		sh_store_batch_init(b, s, BT_HOSTING);
	size_t pn = strlen(provider);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct sh_prefix *p = &prefixes[i];
		struct sh_store_cell *c = sh_store_batch_row(b);
		/* provider outlives the batch; longer names are not copied */
		sh_store_cell_bytes(&c[0], true, provider, pn);
		sh_store_cell_int(&c[1], p->ip.af);
		sh_store_cell_bytes(&c[2], false, p->ip.b, sh_store_addr_len(p->ip.af));
		sh_store_cell_int(&c[3], p->len);
		rc = sh_store_batch_add(b);
	}
	if (rc == 0 && b)
		rc = sh_store_batch_flush(b);
	free(b);
	if (rc == 0)
		return sh_store_commit(s);
	sh_store_rollback(s);
	return rc;
}

int sh_store_hosting_foreach(struct sh_store *s,
			     int (*cb)(const char *provider, const struct sh_prefix *p, void *arg),
			     void *arg)
{
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT af, addr, plen, provider FROM hosting"
				  " ORDER BY provider, af, addr, plen",
				  &st);
	if (rc != 0)
		return rc;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct sh_prefix p;
		rc = sh_store_column_prefix(s, st, 0, &p);
		if (rc != 0)
			break;
		rc = cb((const char *)sqlite3_column_text(st, 3), &p, arg);
		if (rc != 0)
			break;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_finalize(st);
	return rc;
}
