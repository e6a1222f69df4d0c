/* Store handle: opening, pragmas, migrations, the statement cache and error translation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define APPLICATION_ID 1397248582 /* 'SHRF', set by migration 1 */
#define BUSY_TIMEOUT_MS 10000

void (*sh_store_test_hook)(const char *point);

/* Open failures have no handle to carry their message. */
static _Thread_local char open_errmsg[512];

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_SOURCE_GET] = "SELECT id, full_list FROM source WHERE name = ?1",
	[ST_SOURCE_INSERT] = "INSERT INTO source (name, format, full_list) VALUES (?1, ?2, ?3)",
	[ST_SOURCE_UPDATE] = "UPDATE source SET format = ?2, full_list = ?3 WHERE id = ?1",
	[ST_SNAPSHOT_FIND] = "SELECT content_hash FROM snapshot WHERE source_id = ?1 AND t = ?2",
	[ST_SNAPSHOT_NEWEST] = "SELECT max(t) FROM snapshot WHERE source_id = ?1",
	[ST_SNAPSHOT_INSERT] =
		"INSERT INTO snapshot (source_id, t, content_hash, file_name, n_items, n_bad_lines,"
		" ingested_at, members, item_fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_SNAPSHOT_LOAD] =
		"SELECT t, members, item_fields, n_items FROM snapshot WHERE source_id = ?1",
	[ST_IND_FIND] = "SELECT id FROM indicator WHERE value = ?1",
	[ST_IND_MAX] = "SELECT coalesce(max(id), 0) FROM indicator",
	[ST_RUNS_OPEN] =
		"SELECT indicator_id, t_start FROM run WHERE source_id = ?1 AND t_end IS NULL",
	[ST_RUN_LAST] = "SELECT t_start, t_end FROM run WHERE indicator_id = ?1 AND source_id = ?2"
			" ORDER BY t_start DESC LIMIT 1",
	[ST_RUN_CLOSE] = "UPDATE run SET t_end = ?4"
			 " WHERE indicator_id = ?1 AND source_id = ?2 AND t_start = ?3",
	[ST_RUNS_DELETE] = "DELETE FROM run WHERE source_id = ?1 AND indicator_id IN"
			   " (SELECT indicator_id FROM sighting WHERE source_id = ?1)",
	[ST_SIGHTING_OFFLINE] =
		"UPDATE sighting SET online = 0 WHERE indicator_id = ?1 AND source_id = ?2",
	[ST_ASMAP_TABLE_INSERT] =
		"INSERT INTO asmap_table (format, file, as_of, fields, n_rows, imported_at)"
		" VALUES (?1, ?2, ?3, -1, 0, ?4)",
	[ST_ASMAP_TABLE_REPLACED] =
		"SELECT id FROM asmap_table"
		" WHERE format = ?1 AND file = ?2 AND as_of = ?3 AND fields = ?4",
	[ST_ASMAP_TABLE_DELETE] = "DELETE FROM asmap_table WHERE id = ?1",
	[ST_ASMAP_TABLE_FINISH] = "UPDATE asmap_table SET fields = ?2, n_rows = ?3 WHERE id = ?1",
	[ST_ASMAP_ROWS_DELETE] = "DELETE FROM asmap WHERE id BETWEEN ?1 AND ?2",
	[ST_HOSTING_DELETE] = "DELETE FROM hosting WHERE provider = ?1",
};

/* Multi-row statements: prefix, then cols placeholders per row, then suffix, where :a and
 * :b are parameters shared by all rows. */
static const struct {
	const char *prefix, *suffix;
	int cols;
} batch_sql[BT__COUNT] = {
	[BT_INDICATOR] = {"INSERT OR IGNORE INTO indicator"
			  " (id, type, value, host, af, addr_lo, addr_hi, plen) VALUES ", "", 8},
	/* Two runs of one indicator can only share a start when an incremental feed gives
	 * last_online times after its later snapshots; the later run wins. */
	[BT_RUN] = {"INSERT OR REPLACE INTO run (indicator_id, source_id, t_start, t_end) VALUES ",
		    "", 4},
	/* :a: the times were recomputed from all snapshots and replace the stored ones. The
	 * descriptive fields given later win; earlier ones only fill gaps. */
	[BT_SIGHTING] = {
		"INSERT INTO sighting (indicator_id, source_id, first_seen, last_seen, online,"
		" threat, malware, tags, ref, meta_t) VALUES ",
		" ON CONFLICT (indicator_id, source_id) DO UPDATE SET"
		" first_seen = CASE WHEN :a THEN excluded.first_seen"
		"  ELSE min(first_seen, excluded.first_seen) END,"
		" last_seen = CASE WHEN :a THEN excluded.last_seen"
		"  ELSE max(last_seen, excluded.last_seen) END,"
		" online = excluded.online,"
		" threat = CASE WHEN excluded.meta_t >= coalesce(meta_t, excluded.meta_t)"
		"  THEN coalesce(excluded.threat, threat)"
		"  ELSE coalesce(threat, excluded.threat) END,"
		" malware = CASE WHEN excluded.meta_t >= coalesce(meta_t, excluded.meta_t)"
		"  THEN coalesce(excluded.malware, malware)"
		"  ELSE coalesce(malware, excluded.malware) END,"
		" tags = CASE WHEN excluded.meta_t >= coalesce(meta_t, excluded.meta_t)"
		"  THEN coalesce(excluded.tags, tags) ELSE coalesce(tags, excluded.tags) END,"
		" ref = CASE WHEN excluded.meta_t >= coalesce(meta_t, excluded.meta_t)"
		"  THEN coalesce(excluded.ref, ref) ELSE coalesce(ref, excluded.ref) END,"
		" meta_t = CASE WHEN excluded.meta_t IS NULL THEN meta_t WHEN meta_t IS NULL"
		"  THEN excluded.meta_t ELSE max(meta_t, excluded.meta_t) END",
		10},
	[BT_ASMAP_ROW] = {"INSERT INTO asmap (id, af, addr, plen, asn, org_id, country) VALUES ",
			  "", 7},
	[BT_ORG] = {"INSERT INTO org (id, name) VALUES ", "", 2},
	[BT_HOSTING] = {"INSERT OR IGNORE INTO hosting (provider, af, addr, plen) VALUES ", "", 4},
};

static int translate(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return SH_ENOMEM;
	default:
		return SH_ESTORE;
	}
}

int sh_store_fail(struct sh_store *s, int sqlite_rc)
{
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(sqlite_rc);
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
	return translate(sqlite_rc);
}

int sh_store_failf(struct sh_store *s, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return err;
}

const char *sh_store_errmsg(const struct sh_store *s)
{
	return s ? s->errmsg : open_errmsg;
}

int sh_store_schema_version(const struct sh_store *s)
{
	return s->version;
}

sqlite3_stmt *sh_store_stmt(struct sh_store *s, enum st_id id)
{
	sqlite3_stmt *st = s->st[id];
	if (!st) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st,
					    NULL);
		if (rc != SQLITE_OK) {
			(void)sh_store_fail(s, rc);
			return NULL;
		}
		s->st[id] = st;
	} else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return st;
}

int sh_store_exec_stmt(struct sh_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int err = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sh_store_fail(s, rc);
	sqlite3_reset(st);
	return err;
}

int sh_store_prepare(struct sh_store *s, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);
	return rc == SQLITE_OK ? 0 : sh_store_fail(s, rc);
}

static sqlite3_stmt *batch_stmt(struct sh_store *s, enum bt_id id, int rows)
{
	sqlite3_stmt *st = s->bt[id][rows];
	if (st) {
		sqlite3_reset(st);
		return st;
	}
	size_t cap = strlen(batch_sql[id].prefix) + strlen(batch_sql[id].suffix) +
		     (size_t)rows * (size_t)(2 * batch_sql[id].cols + 2) + 1;
	char *sql = malloc(cap);
	if (!sql) {
		(void)sh_store_failf(s, SH_ENOMEM, "out of memory");
		return NULL;
	}
	char *p = stpcpy(sql, batch_sql[id].prefix);
	for (int r = 0; r < rows; r++) {
		*p++ = r ? ',' : '(';
		if (r)
			*p++ = '(';
		for (int c = 0; c < batch_sql[id].cols; c++) {
			*p++ = c ? ',' : '?';
			if (c)
				*p++ = '?';
		}
		*p++ = ')';
	}
	strcpy(p, batch_sql[id].suffix);
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		(void)sh_store_fail(s, rc);
		return NULL;
	}
	s->bt[id][rows] = st;
	return st;
}

void sh_store_batch_init(struct sh_store_batch *b, struct sh_store *s, enum bt_id id)
{
	b->s = s;
	b->id = id;
	b->cols = batch_sql[id].cols;
	b->rows = 0;
	b->flag = 0;
	b->changes = 0;
}

int sh_store_batch_flush(struct sh_store_batch *b)
{
	if (b->rows == 0)
		return 0;
	struct sh_store *s = b->s;
	sqlite3_stmt *st = batch_stmt(s, b->id, b->rows);
	if (!st)
		return SH_ESTORE;
	int n = b->rows * b->cols;
	for (int i = 0; i < n; i++) {
		const struct sh_store_cell *c = &b->cell[i];
		switch (c->type) {
		case CELL_NULL:
			sqlite3_bind_null(st, i + 1);
			break;
		case CELL_INT:
			sqlite3_bind_int64(st, i + 1, c->i);
			break;
		case CELL_TEXT:
			sqlite3_bind_text(st, i + 1, c->p, c->len, SQLITE_STATIC);
			break;
		case CELL_BLOB:
			sqlite3_bind_blob(st, i + 1, c->p, c->len, SQLITE_STATIC);
			break;
		}
	}
	int a = sqlite3_bind_parameter_index(st, ":a");
	if (a)
		sqlite3_bind_int64(st, a, b->flag);
	b->rows = 0;
	int rc = sh_store_exec_stmt(s, st);
	if (rc == 0)
		b->changes += (unsigned long)sqlite3_changes(s->db);
	return rc;
}

int sh_store_batch_add(struct sh_store_batch *b)
{
	return ++b->rows == SH_BATCH_ROWS ? sh_store_batch_flush(b) : 0;
}

static int exec_id(struct sh_store *s, enum st_id id)
{
	sqlite3_stmt *st = sh_store_stmt(s, id);
	return st ? sh_store_exec_stmt(s, st) : SH_ESTORE;
}

int sh_store_begin(struct sh_store *s)
{
	if (s->in_txn)
		return sh_store_failf(s, SH_ESTORE,
				      "another ingest or import holds this handle's transaction");
	int rc = exec_id(s, ST_BEGIN);
	if (rc == 0)
		s->in_txn = true;
	return rc;
}

int sh_store_commit(struct sh_store *s)
{
	int rc = exec_id(s, ST_COMMIT);
	if (rc == 0)
		s->in_txn = false;
	else
		sh_store_rollback(s);
	return rc;
}

void sh_store_rollback(struct sh_store *s)
{
	if (!s->in_txn)
		return;
	/* Keep the message of the failure that led here. */
	if (sqlite3_get_autocommit(s->db) == 0)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = false;
}

int sh_store_column_prefix(struct sh_store *s, sqlite3_stmt *st, int col, struct sh_prefix *out)
{
	int af = sqlite3_column_int(st, col);
	const void *b = sqlite3_column_blob(st, col + 1);
	size_t n = (size_t)sqlite3_column_bytes(st, col + 1);
	int len = sqlite3_column_int(st, col + 2);
	memset(out, 0, sizeof(*out));
	if ((af != SH_AF_V4 && af != SH_AF_V6) || !b || n != sh_store_addr_len((uint8_t)af) ||
	    len < 0 || len > (af == SH_AF_V4 ? 32 : 128))
		return sh_store_failf(s, SH_ESTORE, "malformed prefix in the database");
	out->ip.af = (uint8_t)af;
	memcpy(out->ip.b, b, n);
	out->len = (uint8_t)len;
	return 0;
}

size_t sh_store_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t sh_store_varint_get(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t r = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		uint64_t b = p[i] & 0x7f;
		if (i == 9 && b > 1)
			return 0;
		r |= b << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return 0;
}

static int query_int(struct sh_store *s, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc = sh_store_prepare(s, sql, &st);
	if (rc != 0)
		return rc;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = 0;
	} else {
		rc = sh_store_fail(s, r);
	}
	sqlite3_finalize(st);
	return rc;
}

static int exec_sql(struct sh_store *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return translate(rc);
}

/* Applies migration v + 1 inside the open transaction. A database at version 0 must be
 * empty: sheriff does not add its tables to somebody else's database. */
static int migrate_one(struct sh_store *s, int v)
{
	int n_objects = 0;
	int rc = v == 0 ? query_int(s, "SELECT count(*) FROM sqlite_master", &n_objects) : 0;
	if (rc != 0)
		return rc;
	if (n_objects > 0)
		return sh_store_failf(s, SH_ESTORE, "not a sheriff database (no schema version)");
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
	rc = exec_sql(s, sh_store_migrations[v]);
	if (rc == 0)
		rc = exec_sql(s, sql);
	if (rc != 0) {
		char why[sizeof(s->errmsg)];
		memcpy(why, s->errmsg, sizeof(why));
		snprintf(s->errmsg, sizeof(s->errmsg), "migration %d: %.480s", v + 1, why);
	}
	return rc;
}

/* Each migration runs in its own transaction; the version is read again under the write
 * lock so that two processes opening a new database at once do not both migrate it. */
static int migrate(struct sh_store *s, int max_version)
{
	for (;;) {
		int v;
		int rc = query_int(s, "PRAGMA user_version", &v);
		if (rc != 0)
			return rc;
		if (v > sh_store_n_migrations)
			return sh_store_failf(s, SH_ESTORE,
					      "database schema version %d is newer than this "
					      "sheriff knows (%d)",
					      v, sh_store_n_migrations);
		if (v >= max_version) {
			s->version = v;
			return 0;
		}
		rc = sh_store_begin(s);
		if (rc != 0)
			return rc;
		rc = query_int(s, "PRAGMA user_version", &v);
		if (rc == 0 && v < max_version)
			rc = migrate_one(s, v);
		if (rc != 0) {
			sh_store_rollback(s);
			return rc;
		}
		rc = sh_store_commit(s);
		if (rc != 0)
			return rc;
	}
}

static int configure(struct sh_store *s)
{
	int rc = sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return sh_store_fail(s, rc);
	/* journal_mode answers with the mode in force; only in-memory databases refuse WAL. */
	sqlite3_stmt *st;
	rc = sh_store_prepare(s, "PRAGMA journal_mode = WAL", &st);
	if (rc != 0)
		return rc;
	int r = sqlite3_step(st);
	if (r != SQLITE_ROW) {
		rc = sh_store_fail(s, r);
	} else {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0))
			rc = sh_store_failf(s, SH_ESTORE,
					    "cannot switch to WAL mode (journal mode %s)",
					    mode ? mode : "unknown");
	}
	sqlite3_finalize(st);
	if (rc != 0)
		return rc;
	/* The size limit keeps the WAL file from staying as large as the largest import. */
	rc = exec_sql(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
			 "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;"
			 "PRAGMA journal_size_limit = 67108864");
	if (rc != 0)
		return rc;
	int app;
	rc = query_int(s, "PRAGMA application_id", &app);
	if (rc == 0 && app != 0 && app != APPLICATION_ID)
		rc = sh_store_failf(s, SH_ESTORE, "not a sheriff database (application_id %d)",
				    app);
	return rc;
}

int sh_store_open_at(const char *path, int max_version, struct sh_store **out)
{
	*out = NULL;
	open_errmsg[0] = '\0';
	struct sh_store *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(open_errmsg, sizeof(open_errmsg), "out of memory");
		return SH_ENOMEM;
	}
	/* NOMUTEX: a handle is used by one thread at a time. */
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int r = sqlite3_open_v2(path, &s->db, flags, NULL);
	int rc = r == SQLITE_OK ? configure(s) : sh_store_fail(s, r);
	if (rc == 0)
		rc = migrate(s, max_version < sh_store_n_migrations ? max_version
								    : sh_store_n_migrations);
	if (rc != 0) {
		snprintf(open_errmsg, sizeof(open_errmsg), "%.200s: %.300s", path, s->errmsg);
		sh_store_close(s);
		return rc == SH_ENOMEM ? SH_ENOMEM : SH_ESTORE;
	}
	*out = s;
	return 0;
}

int sh_store_open(const char *path, struct sh_store **out)
{
	return sh_store_open_at(path, sh_store_n_migrations, out);
}

void sh_store_close(struct sh_store *s)
{
	if (!s)
		return;
	sh_store_rollback(s);
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	for (int i = 0; i < BT__COUNT; i++)
		for (int r = 0; r <= SH_BATCH_ROWS; r++)
			sqlite3_finalize(s->bt[i][r]);
	sqlite3_close_v2(s->db);
	free(s);
}
