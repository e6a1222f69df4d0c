/* Bulk read for respawn linking: the malware family and tags feeds gave each indicator. */
#include "store/internal.h"

int sh_store_foreach_evidence(struct sh_store *s,
			      int (*cb)(int64_t indicator_id, const char *malware, const char *tags,
					void *arg),
			      void *arg)
{
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s,
				  "SELECT indicator_id, malware, tags FROM sighting"
				  " WHERE malware IS NOT NULL OR tags IS NOT NULL"
				  " ORDER BY indicator_id, source_id",
				  &st);
	if (rc != 0)
		return rc;
	int r;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW)
		rc = cb(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2), arg);
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_finalize(st);
	return rc;
}
