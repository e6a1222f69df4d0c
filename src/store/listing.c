/* Bulk read for publishing: every indicator still worth listing, with what each source says
 * about it (times, online, threat, malware, tags, reference), in one pass.
 *
 * Like the intelligence walk (intel.c), indicators and sightings are two statements stepped
 * side by side in primary-key order, a merge join that reads each table once in storage
 * order; sightings that ended before `since` are filtered inside SQLite so that long-dead
 * indicators cost one skipped row each. A walk can cover a range of ids, so that parts of the
 * table are walked in threads of their own, each with a handle of its own. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

struct lwalk {
	struct sh_store *s;
	sqlite3_stmt *src, *ind, *sig;
	int r_sig;
	int64_t *source_ids;
	const char **source_names;
	size_t n_sources;
	struct sh_listing_src *sg;
	size_t cap_sg;
};

static size_t source_at(const struct lwalk *w, int64_t id)
{
	size_t lo = 0, hi = w->n_sources;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->source_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->n_sources && w->source_ids[lo] == id ? lo : SIZE_MAX;
}

static int read_sources(struct lwalk *w, struct sh_arena *a)
{
	size_t cap = 0;
	int r;
	while ((r = sqlite3_step(w->src)) == SQLITE_ROW) {
		if (w->n_sources == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			int64_t *ids = sh_arena_alloc(a, ncap * sizeof(*ids));
			const char **names = sh_arena_alloc(a, ncap * sizeof(*names));
			if (!ids || !names)
				return SH_ENOMEM;
			if (w->n_sources) {
				memcpy(ids, w->source_ids, w->n_sources * sizeof(*ids));
				memcpy(names, w->source_names, w->n_sources * sizeof(*names));
			}
			w->source_ids = ids;
			w->source_names = names;
			cap = ncap;
		}
		const unsigned char *name = sqlite3_column_text(w->src, 1);
		const char *copy = sh_arena_strndup(a, name ? (const char *)name : "",
						    (size_t)sqlite3_column_bytes(w->src, 1));
		if (!copy)
			return SH_ENOMEM;
		w->source_ids[w->n_sources] = sqlite3_column_int64(w->src, 0);
		w->source_names[w->n_sources++] = copy;
	}
	return r == SQLITE_DONE ? 0 : sh_store_fail(w->s, r);
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* Copies the current sighting row (its texts into the arena, as the statement steps on before
 * the callback) to the end of the row buffer. */
static int take_row(struct lwalk *w, struct sh_arena *a, size_t *n)
{
	size_t src = source_at(w, sqlite3_column_int64(w->sig, 1));
	if (src == SIZE_MAX)
		return 0;
	if (sh_array_grow((void **)&w->sg, &w->cap_sg, *n + 1, sizeof(*w->sg)) != 0)
		return SH_ENOMEM;
	struct sh_listing_src *g = &w->sg[*n];
	g->source = w->source_names[src];
	g->first_seen = sqlite3_column_int64(w->sig, 2);
	g->last_seen = sqlite3_column_int64(w->sig, 3);
	g->online = sqlite3_column_int(w->sig, 4) != 0;
	g->threat = g->malware = g->tags = g->ref = NULL;
	const char **f[] = {&g->threat, &g->malware, &g->tags, &g->ref};
	for (int i = 0; i < 4; i++) {
		/* most sightings carry none: the type is known without a conversion */
		if (sqlite3_column_type(w->sig, 5 + i) != SQLITE_NULL) {
			const char *t = col_text(w->sig, 5 + i);
			*f[i] = t ? sh_arena_strndup(a, t, (size_t)sqlite3_column_bytes(w->sig, 5 + i))
				  : NULL;
			if (t && !*f[i])
				return SH_ENOMEM;
		}
	}
	(*n)++;
	return 0;
}

/* Steps the sighting statement; *id gets the indicator of the new row (INT64_MAX at the end). */
static int next_sighting(struct lwalk *w, int64_t *id)
{
	w->r_sig = sqlite3_step(w->sig);
	if (w->r_sig == SQLITE_ROW) {
		*id = sqlite3_column_int64(w->sig, 0);
		return 0;
	}
	*id = INT64_MAX;
	return w->r_sig == SQLITE_DONE ? 0 : sh_store_fail(w->s, w->r_sig);
}

int sh_store_listing_ids(struct sh_store *s, int64_t *lo, int64_t *hi)
{
	sqlite3_stmt *st;
	*lo = *hi = 0;
	int rc = sh_store_prepare(s, "SELECT (SELECT min(id) FROM indicator), (SELECT max(id) FROM indicator)", &st);
	if (rc != 0)
		return rc;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*lo = sqlite3_column_int64(st, 0);
		*hi = sqlite3_column_int64(st, 1) + 1;
	}
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 0 : sh_store_fail(s, r);
}

int sh_store_open_reader(struct sh_store *s, struct sh_store **out)
{
	*out = NULL;
	const char *path = sqlite3_db_filename(s->db, "main");
	if (!path || !*path)
		return SH_EUNSUP;
	struct sh_store *r = calloc(1, sizeof(*r));
	if (!r)
		return SH_ENOMEM;
	r->version = s->version;
	int e = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (e != SQLITE_OK) {
		sh_store_failf(s, SH_ESTORE, "cannot open a second handle on %.300s: %s", path,
			       sqlite3_errstr(e));
		sh_store_close(r);
		return SH_ESTORE;
	}
	sqlite3_busy_timeout(r->db, 5000);
	*out = r;
	return 0;
}

/* One range of ids: the merge join of indicators and their sightings. */
static int walk_range(struct lwalk *w, struct sh_arena *a, int64_t lo, int64_t hi,
		      int (*cb)(const struct sh_listing_ind *ind, void *arg), void *arg)
{
	struct sh_store *s = w->s;
	sqlite3_reset(w->ind);
	sqlite3_reset(w->sig);
	sqlite3_bind_int64(w->sig, 2, lo);
	sqlite3_bind_int64(w->sig, 3, hi);
	sqlite3_bind_int64(w->ind, 1, lo);
	sqlite3_bind_int64(w->ind, 2, hi);
	int64_t sig_id;
	int rc = next_sighting(w, &sig_id);
	int r = SQLITE_DONE;
	while (rc == 0 && sig_id != INT64_MAX && (r = sqlite3_step(w->ind)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(w->ind, 0);
		if (sig_id > id)
			continue;
		while (rc == 0 && sig_id < id)
			rc = next_sighting(w, &sig_id);
		if (rc != 0 || sig_id != id)
			continue;
		sh_arena_reset(a);
		size_t n = 0;
		while (rc == 0 && sig_id == id) {
			rc = take_row(w, a, &n);
			if (rc == 0)
				rc = next_sighting(w, &sig_id);
		}
		if (rc != 0 || n == 0)
			continue;
		struct sh_listing_ind ind;
		memset(&ind, 0, sizeof(ind));
		ind.type = (enum sh_ind_type)sqlite3_column_int(w->ind, 1);
		ind.value = col_text(w->ind, 2);
		ind.host = col_text(w->ind, 3);
		int pf = sqlite3_column_int(w->ind, 4);
		if (pf >= 0) {
			int af = pf >> 8, len = pf & 0xff;
			const void *b = sqlite3_column_blob(w->ind, 5);
			size_t bn = (size_t)sqlite3_column_bytes(w->ind, 5);
			if ((af != SH_AF_V4 && af != SH_AF_V6) || !b ||
			    bn != sh_store_addr_len((uint8_t)af) || len > (af == SH_AF_V4 ? 32 : 128)) {
				rc = sh_store_failf(s, SH_ESTORE, "malformed prefix in the database");
				break;
			}
			ind.prefix.ip.af = (uint8_t)af;
			memcpy(ind.prefix.ip.b, b, bn);
			ind.prefix.len = (uint8_t)len;
			ind.has_prefix = true;
		}
		if (!ind.value)
			continue;
		ind.n_sources = n;
		ind.sources = w->sg;
		rc = cb(&ind, arg);
	}
	if (rc == 0 && r != SQLITE_DONE && r != SQLITE_ROW)
		rc = sh_store_fail(s, r);
	return rc;
}

int sh_store_foreach_listing(struct sh_store *s, int64_t since, const int64_t *bounds,
			     size_t n_ranges, atomic_size_t *next,
			     int (*cb)(const struct sh_listing_ind *ind, void *arg), void *arg)
{
	size_t i = 0;
	struct lwalk w = {.s = s};
	struct sh_arena names, a; /* source names for the whole walk; texts of one indicator */
	sh_arena_init(&names, 4096);
	sh_arena_init(&a, 16384);
	bool own_txn = sqlite3_get_autocommit(s->db) != 0;
	int rc = 0;
	/* one sequential pass over tables of hundreds of MB: map them rather than copying every
	 * page through the page cache (reset to SQLite's default afterwards) */
	sqlite3_exec(s->db, "PRAGMA mmap_size = 4294967296", NULL, NULL, NULL);
	if (own_txn) {
		int r = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
		if (r != SQLITE_OK) {
			sh_arena_fini(&names);
			sh_arena_fini(&a);
			return sh_store_fail(s, r);
		}
	}
	rc = sh_store_prepare(s, "SELECT id, name FROM source ORDER BY id", &w.src);
	/* the prefix's family and length as one integer (af << 8 | plen, -1 without one):
	 * fewer column calls on a million rows */
	if (rc == 0)
		rc = sh_store_prepare(s,
				      "SELECT id, type, value, host,"
				      " CASE WHEN af IS NULL THEN -1 ELSE af * 256 + plen END, addr_lo"
				      " FROM indicator WHERE id >= ?1 AND id < ?2 ORDER BY id",
				      &w.ind);
	if (rc == 0)
		rc = sh_store_prepare(s,
				      "SELECT indicator_id, source_id, first_seen, last_seen, online,"
				      " threat, malware, tags, ref FROM sighting"
				      " WHERE indicator_id >= ?2 AND indicator_id < ?3"
				      " AND (online OR last_seen >= ?1)"
				      " ORDER BY indicator_id, source_id",
				      &w.sig);
	if (rc == 0)
		rc = read_sources(&w, &names);
	if (rc == 0) {
		sqlite3_bind_int64(w.sig, 1, since == SH_TIME_NONE ? INT64_MIN : since);
		for (size_t r; rc == 0 && (r = next ? atomic_fetch_add(next, 1) : i++) < n_ranges;)
			rc = walk_range(&w, &a, bounds[r], bounds[r + 1], cb, arg);
	}
	sqlite3_finalize(w.src);
	sqlite3_finalize(w.ind);
	sqlite3_finalize(w.sig);
	if (own_txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	sqlite3_exec(s->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
	free(w.sg);
	sh_arena_fini(&names);
	sh_arena_fini(&a);
	return rc;
}
