/* Resolutions of tracked names: what their A and AAAA records gave and the name servers of
 * their registrable domains, each value with when it was first and last seen. */
#include "store/internal.h"

int sh_store_resolutions_put(struct sh_store *s, const struct sh_resolution *r, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc = sh_store_begin(s);
	if (rc != 0)
		return rc;
	rc = sh_store_prepare(s,
			      "INSERT INTO resolution (name, rtype, value, first_seen, last_seen)"
			      " VALUES (?1, ?2, ?3, ?4, ?5)"
			      " ON CONFLICT (name, rtype, value) DO UPDATE SET"
			      "  first_seen = min(first_seen, excluded.first_seen),"
			      "  last_seen = max(last_seen, excluded.last_seen)",
			      &st);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (r[i].first_seen > r[i].last_seen ||
		    (r[i].rtype != 1 && r[i].rtype != 28 && r[i].rtype != 2)) {
			rc = sh_store_failf(s, SH_EINVAL, "resolution %s: bad type or times",
					    r[i].name);
			break;
		}
		sqlite3_bind_text(st, 1, r[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, r[i].rtype);
		sqlite3_bind_text(st, 3, r[i].value, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, r[i].first_seen);
		sqlite3_bind_int64(st, 5, r[i].last_seen);
		rc = sh_store_exec_stmt(s, st);
	}
	if (rc == 0) {
		sqlite3_finalize(st);
		return sh_store_commit(s);
	}
	sqlite3_finalize(st);
	sh_store_rollback(s);
	return rc;
}

int sh_store_foreach_name_to_resolve(struct sh_store *s, int64_t at, bool all,
				     int (*cb)(const char *name, void *arg), void *arg)
{
	/* domains and URLs on a host name: type 3 and 4 without an address */
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT DISTINCT i.host FROM indicator i"
				  " WHERE i.type IN (3, 4) AND i.af IS NULL AND i.host IS NOT NULL"
				  " AND (?1 OR EXISTS (SELECT 1 FROM run r WHERE r.indicator_id = i.id"
				  "  AND r.t_start <= ?2 AND (r.t_end IS NULL OR r.t_end > ?2)))"
				  " ORDER BY i.host",
				  &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_int(st, 1, all);
	sqlite3_bind_int64(st, 2, at);
	int r;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW)
		rc = cb((const char *)sqlite3_column_text(st, 0), arg);
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_finalize(st);
	return rc;
}

int sh_store_foreach_resolution(struct sh_store *s,
				int (*cb)(const struct sh_resolution *r, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT name, rtype, value, first_seen, last_seen FROM resolution"
				  " ORDER BY name, rtype, value",
				  &st);
	if (rc != 0)
		return rc;
	int r;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		struct sh_resolution res = {
			.name = (const char *)sqlite3_column_text(st, 0),
			.rtype = sqlite3_column_int(st, 1),
			.value = (const char *)sqlite3_column_text(st, 2),
			.first_seen = sqlite3_column_int64(st, 3),
			.last_seen = sqlite3_column_int64(st, 4),
		};
		rc = cb(&res, arg);
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_finalize(st);
	return rc;
}
