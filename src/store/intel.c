/* Bulk read for network intelligence: every indicator with its sightings and runs, and every
 * source with its snapshot times, in one pass.
 *
 * Design: indicators, sightings and runs are three statements stepped side by side, each in
 * its primary-key order (indicator id, then source id, then run start), so the walk is a merge
 * join that reads each table once in storage order; a query per indicator would cost a B-tree
 * descent per row and be many times slower on 60k indicators. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "lib/arena.h"

struct walk {
	struct sh_store *s;
	sqlite3_stmt *src, *snap, *ind, *sig, *run;
	int r_sig, r_run; /* last step result of the two child statements */
	struct sh_intel_source *sources;
	int64_t *source_ids;
	size_t n_sources;
	struct sh_intel_sighting *sg;
	size_t cap_sg;
	struct sh_run *runs;
	size_t *run_first; /* per sighting: index of its first run in runs */
	size_t cap_first, cap_runs;
};


static int prepare_all(struct walk *w)
{
	static const char *const sql[] = {
		"SELECT id, name, full_list FROM source ORDER BY id",
		"SELECT source_id, t FROM snapshot ORDER BY source_id, t",
		"SELECT id, type, value, af, addr_lo, plen FROM indicator ORDER BY id",
		"SELECT indicator_id, source_id, first_seen, last_seen, online FROM sighting"
		" ORDER BY indicator_id, source_id",
		"SELECT indicator_id, source_id, t_start, t_end FROM run"
		" ORDER BY indicator_id, source_id, t_start",
	};
	sqlite3_stmt **st[] = {&w->src, &w->snap, &w->ind, &w->sig, &w->run};
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		int rc = sh_store_prepare(w->s, sql[i], st[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static size_t source_index(const struct walk *w, int64_t id)
{
	size_t lo = 0, hi = w->n_sources;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->source_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int read_sources(struct walk *w, struct sh_arena *arena)
{
	size_t cap = 0;
	int r;
	while ((r = sqlite3_step(w->src)) == SQLITE_ROW) {
		if (w->n_sources == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct sh_intel_source *v = sh_arena_alloc(arena, ncap * sizeof(*v));
			int64_t *ids = sh_arena_alloc(arena, ncap * sizeof(*ids));
			if (!v || !ids)
				return SH_ENOMEM;
			if (w->n_sources) {
				memcpy(v, w->sources, w->n_sources * sizeof(*v));
				memcpy(ids, w->source_ids, w->n_sources * sizeof(*ids));
			}
			w->sources = v;
			w->source_ids = ids;
			cap = ncap;
		}
		struct sh_intel_source *src = &w->sources[w->n_sources];
		const unsigned char *name = sqlite3_column_text(w->src, 1);
		src->name = sh_arena_strndup(arena, name ? (const char *)name : "",
					     (size_t)sqlite3_column_bytes(w->src, 1));
		if (!src->name)
			return SH_ENOMEM;
		src->full_list = sqlite3_column_int(w->src, 2) != 0;
		src->n_snapshots = 0;
		src->snapshot_t = NULL;
		w->source_ids[w->n_sources++] = sqlite3_column_int64(w->src, 0);
	}
	if (r != SQLITE_DONE)
		return sh_store_fail(w->s, r);

	/* Snapshot times: count per source first, then fill, so each list is one allocation. */
	int64_t *all = NULL;
	size_t n_all = 0, cap_all = 0;
	size_t *src_of = NULL, cap_src = 0;
	int rc = 0;
	while ((r = sqlite3_step(w->snap)) == SQLITE_ROW) {
		size_t i = source_index(w, sqlite3_column_int64(w->snap, 0));
		if (i >= w->n_sources)
			continue;
		if ((rc = sh_array_grow((void **)&all, &cap_all, n_all + 1, sizeof(*all))) != 0 ||
		    (rc = sh_array_grow((void **)&src_of, &cap_src, n_all + 1, sizeof(*src_of))) != 0)
			break;
		all[n_all] = sqlite3_column_int64(w->snap, 1);
		src_of[n_all++] = i;
		w->sources[i].n_snapshots++;
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(w->s, r);
	for (size_t i = 0, k = 0; rc == 0 && i < w->n_sources; i++) {
		struct sh_intel_source *src = &w->sources[i];
		if (!src->n_snapshots)
			continue;
		int64_t *t = sh_arena_alloc(arena, src->n_snapshots * sizeof(*t));
		if (!t) {
			rc = SH_ENOMEM;
			break;
		}
		/* Rows come ordered by source id, then time: each source is one stretch. */
		while (k < n_all && src_of[k] != i)
			k++;
		memcpy(t, all + k, src->n_snapshots * sizeof(*t));
		k += src->n_snapshots;
		src->snapshot_t = t;
	}
	free(all);
	free(src_of);
	return rc;
}

/* Collects the sightings and runs of indicator id from the two child statements, which are
 * positioned at their first row not yet consumed. */
static int collect(struct walk *w, int64_t id, struct sh_intel_ind *out)
{
	size_t n_sg = 0, n_runs = 0;
	int rc;
	/* Rows of indicators that no longer exist cannot occur (rows are never deleted), but a
	 * child row with a smaller id would stall the merge: skip it. */
	while (w->r_sig == SQLITE_ROW && sqlite3_column_int64(w->sig, 0) < id)
		w->r_sig = sqlite3_step(w->sig);
	while (w->r_run == SQLITE_ROW && sqlite3_column_int64(w->run, 0) < id)
		w->r_run = sqlite3_step(w->run);
	while (w->r_sig == SQLITE_ROW && sqlite3_column_int64(w->sig, 0) == id) {
		if ((rc = sh_array_grow((void **)&w->sg, &w->cap_sg, n_sg + 1, sizeof(*w->sg))) != 0)
			return rc;
		int64_t src_id = sqlite3_column_int64(w->sig, 1);
		struct sh_intel_sighting *g = &w->sg[n_sg];
		g->source = source_index(w, src_id);
		g->first_seen = sqlite3_column_int64(w->sig, 2);
		g->last_seen = sqlite3_column_int64(w->sig, 3);
		g->online = sqlite3_column_int(w->sig, 4) != 0;
		g->n_runs = 0;
		g->runs = NULL;
		if ((rc = sh_array_grow((void **)&w->run_first, &w->cap_first, n_sg + 1, sizeof(size_t))) != 0)
			return rc;
		w->run_first[n_sg] = n_runs;
		while (w->r_run == SQLITE_ROW && sqlite3_column_int64(w->run, 0) == id &&
		       sqlite3_column_int64(w->run, 1) < src_id)
			w->r_run = sqlite3_step(w->run);
		while (w->r_run == SQLITE_ROW && sqlite3_column_int64(w->run, 0) == id &&
		       sqlite3_column_int64(w->run, 1) == src_id) {
			if ((rc = sh_array_grow((void **)&w->runs, &w->cap_runs, n_runs + 1,
						sizeof(*w->runs))) != 0)
				return rc;
			struct sh_run *run = &w->runs[n_runs++];
			run->start = sqlite3_column_int64(w->run, 2);
			run->end = sqlite3_column_type(w->run, 3) == SQLITE_NULL
					   ? SH_TIME_NONE
					   : sqlite3_column_int64(w->run, 3);
			g->n_runs++;
			w->r_run = sqlite3_step(w->run);
		}
		if (g->source < w->n_sources) {
			if (n_sg == 0 || g->first_seen < out->first_seen)
				out->first_seen = g->first_seen;
			if (n_sg == 0 || g->last_seen > out->last_seen)
				out->last_seen = g->last_seen;
			out->online |= g->online;
			n_sg++;
		}
		w->r_sig = sqlite3_step(w->sig);
	}
	if (w->r_sig != SQLITE_ROW && w->r_sig != SQLITE_DONE)
		return sh_store_fail(w->s, w->r_sig);
	if (w->r_run != SQLITE_ROW && w->r_run != SQLITE_DONE)
		return sh_store_fail(w->s, w->r_run);
	/* The run buffer may have moved while growing: point into it only now. */
	for (size_t i = 0; i < n_sg; i++)
		w->sg[i].runs = w->runs + w->run_first[i];
	out->n_sightings = n_sg;
	out->sightings = w->sg;
	return 0;
}

static int walk_indicators(struct walk *w, int (*cb)(const struct sh_intel_ind *ind, void *arg),
			   void *arg)
{
	w->r_sig = sqlite3_step(w->sig);
	w->r_run = sqlite3_step(w->run);
	int r, rc = 0;
	while ((r = sqlite3_step(w->ind)) == SQLITE_ROW) {
		struct sh_intel_ind ind;
		memset(&ind, 0, sizeof(ind));
		ind.id = sqlite3_column_int64(w->ind, 0);
		ind.type = (enum sh_ind_type)sqlite3_column_int(w->ind, 1);
		ind.value = (const char *)sqlite3_column_text(w->ind, 2);
		ind.first_seen = ind.last_seen = SH_TIME_NONE;
		if (sqlite3_column_type(w->ind, 3) != SQLITE_NULL) {
			if ((rc = sh_store_column_prefix(w->s, w->ind, 3, &ind.prefix)) != 0)
				return rc;
			ind.has_addr = true;
		}
		if ((rc = collect(w, ind.id, &ind)) != 0)
			return rc;
		if (!ind.value)
			continue;
		if ((rc = cb(&ind, arg)) != 0)
			return rc;
	}
	return r == SQLITE_DONE ? 0 : sh_store_fail(w->s, r);
}

int sh_store_foreach_indicator_runs(struct sh_store *s, struct sh_arena *arena,
				    struct sh_intel_source **sources, size_t *n_sources,
				    int (*cb)(const struct sh_intel_ind *ind, void *arg), void *arg)
{
	*sources = NULL;
	*n_sources = 0;
	struct walk w = {.s = s};
	/* Our own read transaction unless the caller already holds one. */
	bool own_txn = sqlite3_get_autocommit(s->db) != 0;
	int rc = 0;
	if (own_txn) {
		int r = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
		if (r != SQLITE_OK)
			return sh_store_fail(s, r);
	}
	rc = prepare_all(&w);
	if (rc == 0)
		rc = read_sources(&w, arena);
	if (rc == 0) {
		*sources = w.sources;
		*n_sources = w.n_sources;
		rc = walk_indicators(&w, cb, arg);
	}
	sqlite3_finalize(w.src);
	sqlite3_finalize(w.snap);
	sqlite3_finalize(w.ind);
	sqlite3_finalize(w.sig);
	sqlite3_finalize(w.run);
	free(w.sg);
	free(w.run_first);
	free(w.runs);
	if (own_txn)
		(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}
