/* Read queries: one indicator's record, the stored values that explain a listing, and the
 * walk over every indicator with an address. */
#include <string.h>

#include "store/internal.h"

static const char *dup_col(struct sh_arena *a, sqlite3_stmt *st, int col, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	if (!t)
		return NULL;
	char *c = sh_arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, col));
	if (!c)
		*oom = true;
	return c;
}

static int step_done(struct sh_store *s, sqlite3_stmt *st, int r)
{
	return r == SQLITE_DONE ? 0 : sh_store_fail(s, r);
}

static int load_runs(struct sh_store *s, sqlite3_stmt *st, int64_t ind, int64_t src,
		     struct sh_arena *a, struct sh_sighting *out)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, ind);
	sqlite3_bind_int64(st, 2, src);
	size_t cap = 0;
	int r;
	out->n_runs = 0;
	out->runs = NULL;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n_runs == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			if (ncap > SIZE_MAX / sizeof(struct sh_run))
				return SH_ENOMEM;
			struct sh_run *n = sh_arena_alloc(a, ncap * sizeof(*n));
			if (!n)
				return SH_ENOMEM;
			if (out->n_runs)
				memcpy(n, out->runs, out->n_runs * sizeof(*n));
			out->runs = n;
			cap = ncap;
		}
		struct sh_run *run = &out->runs[out->n_runs++];
		run->start = sqlite3_column_int64(st, 0);
		run->end = sqlite3_column_type(st, 1) == SQLITE_NULL ? SH_TIME_NONE
								     : sqlite3_column_int64(st, 1);
	}
	return step_done(s, st, r);
}

static int load_sightings(struct sh_store *s, sqlite3_stmt *sg, sqlite3_stmt *ru, int64_t ind,
			  struct sh_arena *a, struct sh_ind_record *out)
{
	size_t cap = 0;
	int r;
	sqlite3_bind_int64(sg, 1, ind);
	while ((r = sqlite3_step(sg)) == SQLITE_ROW) {
		if (out->n_sightings == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			if (ncap > SIZE_MAX / sizeof(struct sh_sighting))
				return SH_ENOMEM;
			struct sh_sighting *n = sh_arena_alloc(a, ncap * sizeof(*n));
			if (!n)
				return SH_ENOMEM;
			if (out->n_sightings)
				memcpy(n, out->sightings, out->n_sightings * sizeof(*n));
			out->sightings = n;
			cap = ncap;
		}
		struct sh_sighting *sig = &out->sightings[out->n_sightings++];
		bool oom = false;
		sig->source = dup_col(a, sg, 1, &oom);
		sig->first_seen = sqlite3_column_int64(sg, 2);
		sig->last_seen = sqlite3_column_int64(sg, 3);
		sig->online = sqlite3_column_int(sg, 4) != 0;
		sig->threat = dup_col(a, sg, 5, &oom);
		sig->malware = dup_col(a, sg, 6, &oom);
		sig->tags = dup_col(a, sg, 7, &oom);
		sig->ref = dup_col(a, sg, 8, &oom);
		if (oom || !sig->source)
			return SH_ENOMEM;
		int rc = load_runs(s, ru, ind, sqlite3_column_int64(sg, 0), a, sig);
		if (rc != 0)
			return rc;
		if (out->n_sightings == 1 || sig->first_seen < out->first_seen)
			out->first_seen = sig->first_seen;
		if (out->n_sightings == 1 || sig->last_seen > out->last_seen)
			out->last_seen = sig->last_seen;
		out->online |= sig->online;
	}
	return step_done(s, sg, r);
}

int sh_store_indicator_get(struct sh_store *s, const char *value, struct sh_arena *arena,
			   struct sh_ind_record *out)
{
	memset(out, 0, sizeof(*out));
	out->first_seen = out->last_seen = SH_TIME_NONE;
	sqlite3_stmt *ind = NULL, *sg = NULL, *ru = NULL;
	int rc =
		sh_store_prepare(s, "SELECT id, type, value FROM indicator WHERE value = ?1", &ind);
	if (rc == 0)
		rc = sh_store_prepare(
			s,
			"SELECT s.source_id, src.name, s.first_seen, s.last_seen, s.online,"
			" s.threat, s.malware, s.tags, s.ref"
			" FROM sighting s JOIN source src ON src.id = s.source_id"
			" WHERE s.indicator_id = ?1 ORDER BY src.name",
			&sg);
	if (rc == 0)
		rc = sh_store_prepare(s,
				      "SELECT t_start, t_end FROM run WHERE indicator_id = ?1"
				      " AND source_id = ?2 ORDER BY t_start",
				      &ru);
	if (rc == 0) {
		sqlite3_bind_text(ind, 1, value, -1, SQLITE_STATIC);
		int r = sqlite3_step(ind);
		if (r == SQLITE_ROW) {
			bool oom = false;
			out->type = (enum sh_ind_type)sqlite3_column_int(ind, 1);
			out->value = dup_col(arena, ind, 2, &oom);
			rc = oom ? SH_ENOMEM
				 : load_sightings(s, sg, ru, sqlite3_column_int64(ind, 0), arena,
						  out);
		} else {
			rc = r == SQLITE_DONE ? SH_ENOENT : sh_store_fail(s, r);
		}
	}
	sqlite3_finalize(ind);
	sqlite3_finalize(sg);
	sqlite3_finalize(ru);
	return rc;
}

/* Steps st, handing column 0 of each row to cb; stops at cb's first non-zero result. */
static int each_value(struct sh_store *s, sqlite3_stmt *st, sh_value_cb cb, void *arg)
{
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (!v)
			continue;
		int rc = cb(v, arg);
		if (rc != 0)
			return rc;
	}
	return step_done(s, st, r);
}

/* The CIDRs that contain ip are exactly the stored CIDRs whose range starts at ip masked to
 * some length; one indexed probe per length, longest first, gives them most specific first
 * without scanning every CIDR below ip. */
int sh_store_cidrs_containing(struct sh_store *s, const struct sh_ip *ip, sh_value_cb cb, void *arg)
{
	if (ip->af != SH_AF_V4 && ip->af != SH_AF_V6)
		return SH_EINVAL;
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT value FROM indicator WHERE af = ?1 AND addr_lo = ?2"
				  " AND addr_hi = ?3 AND type = 2",
				  &st);
	if (rc != 0)
		return rc;
	size_t n = sh_store_addr_len(ip->af);
	int bits = (int)n * 8;
	uint8_t lo[16], hi[16];
	for (int len = bits; len >= 0 && rc == 0; len--) {
		for (int i = 0; i < (int)n; i++) {
			int keep = len - i * 8;
			int keep8 = keep < 0 ? 0 : keep > 8 ? 8 : keep;
			uint8_t mask = (uint8_t)(0xff00u >> keep8);
			lo[i] = ip->b[i] & mask;
			hi[i] = lo[i] | (uint8_t)~mask;
		}
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, ip->af);
		sqlite3_bind_blob(st, 2, lo, (int)n, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, hi, (int)n, SQLITE_STATIC);
		rc = each_value(s, st, cb, arg);
	}
	sqlite3_finalize(st);
	return rc;
}

int sh_store_parent_domains(struct sh_store *s, const char *domain, sh_value_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s, "SELECT value FROM indicator WHERE value = ?1 AND type = 3",
				  &st);
	if (rc != 0)
		return rc;
	/* Every proper suffix that still has two labels, nearest parent first. */
	for (const char *p = strchr(domain, '.'); p && rc == 0; p = strchr(p + 1, '.')) {
		if (!strchr(p + 1, '.'))
			break;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, p + 1, -1, SQLITE_STATIC);
		rc = each_value(s, st, cb, arg);
	}
	sqlite3_finalize(st);
	return rc;
}

int sh_store_urls_on_host(struct sh_store *s, const char *host, unsigned limit, sh_value_cb cb,
			  void *arg)
{
	/* IPv6 hosts are stored without the brackets URLs carry. */
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT value FROM indicator WHERE host = ?1 AND type = 4"
				  " ORDER BY id LIMIT ?2",
				  &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, host, (int)n, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
	rc = each_value(s, st, cb, arg);
	sqlite3_finalize(st);
	return rc;
}

int sh_store_foreach_addressed(struct sh_store *s,
			       int (*cb)(const struct sh_ind_brief *ind, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT i.type, i.value, i.af, i.addr_lo, i.plen,"
				  " min(s.first_seen), max(s.last_seen), max(s.online)"
				  " FROM indicator i LEFT JOIN sighting s ON s.indicator_id = i.id"
				  " WHERE i.af IS NOT NULL GROUP BY i.id ORDER BY i.id",
				  &st);
	if (rc != 0)
		return rc;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct sh_ind_brief b;
		rc = sh_store_column_prefix(s, st, 2, &b.prefix);
		if (rc != 0)
			break;
		b.type = (enum sh_ind_type)sqlite3_column_int(st, 0);
		b.value = (const char *)sqlite3_column_text(st, 1);
		bool none = sqlite3_column_type(st, 5) == SQLITE_NULL;
		b.first_seen = none ? SH_TIME_NONE : sqlite3_column_int64(st, 5);
		b.last_seen = none ? SH_TIME_NONE : sqlite3_column_int64(st, 6);
		b.online = sqlite3_column_int(st, 7) != 0;
		if (!b.value)
			continue;
		rc = cb(&b, arg);
		if (rc != 0)
			break;
	}
	if (rc == 0)
		rc = step_done(s, st, r);
	sqlite3_finalize(st);
	return rc;
}
