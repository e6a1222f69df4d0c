/* Private to src/store: the handle, its statement cache, error translation and blob codecs. */
#ifndef SH_STORE_INTERNAL_H
#define SH_STORE_INTERNAL_H
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"
#include "store/testing.h"

/* Statements prepared once per handle (SQLITE_PREPARE_PERSISTENT) and reused. Functions that
 * call back into user code while stepping prepare their own statements instead, so a callback
 * may use the store again. */
enum st_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_SOURCE_GET,
	ST_SOURCE_INSERT,
	ST_SOURCE_UPDATE,
	ST_SNAPSHOT_FIND,
	ST_SNAPSHOT_NEWEST,
	ST_SNAPSHOT_INSERT,
	ST_SNAPSHOT_LOAD,
	ST_IND_FIND,
	ST_IND_MAX,
	ST_RUNS_OPEN,
	ST_RUN_LAST,
	ST_RUN_CLOSE,
	ST_RUNS_DELETE,
	ST_SIGHTING_OFFLINE,
	ST_ASMAP_TABLE_INSERT,
	ST_ASMAP_TABLE_REPLACED,
	ST_ASMAP_TABLE_DELETE,
	ST_ASMAP_TABLE_FINISH,
	ST_ASMAP_ROWS_DELETE,
	ST_HOSTING_DELETE,
	ST__COUNT
};

/* Multi-row inserts: one statement writes up to SH_BATCH_ROWS rows, which saves most of
 * SQLite's per-statement cost on bulk writes. */
enum bt_id { BT_INDICATOR, BT_RUN, BT_SIGHTING, BT_ASMAP_ROW, BT_ORG, BT_HOSTING, BT__COUNT };

#define SH_BATCH_ROWS 32
#define SH_BATCH_MAX_COLS 10

struct sh_store {
	sqlite3 *db;
	int version;
	bool in_txn;                 /* an explicit transaction of ours is open */
	sqlite3_stmt *st[ST__COUNT];
	sqlite3_stmt *bt[BT__COUNT][SH_BATCH_ROWS + 1]; /* by row count */
	char errmsg[512];
};

/* One value of a batched row. Short texts and blobs are copied; longer ones must stay
 * valid until the batch is flushed. */
struct sh_store_cell {
	enum { CELL_NULL, CELL_INT, CELL_TEXT, CELL_BLOB } type;
	int len;
	int64_t i;
	const void *p;
	uint8_t copy[16];
};

struct sh_store_batch {
	struct sh_store *s;
	enum bt_id id;
	int cols, rows;
	int64_t flag;          /* value of the statement's :a parameter, if it has one */
	unsigned long changes; /* rows the flushed statements changed */
	struct sh_store_cell cell[SH_BATCH_ROWS * SH_BATCH_MAX_COLS];
};

void sh_store_batch_init(struct sh_store_batch *b, struct sh_store *s, enum bt_id id);
/* The cells of the next row, to fill in; SH_BATCH_MAX_COLS of them. */
static inline struct sh_store_cell *sh_store_batch_row(struct sh_store_batch *b)
{
	return &b->cell[b->rows * b->cols];
}
/* Counts the row filled in through sh_store_batch_row; flushes when the batch is full. */
SH_MUST_CHECK int sh_store_batch_add(struct sh_store_batch *b);
/* Writes the rows pending. */
SH_MUST_CHECK int sh_store_batch_flush(struct sh_store_batch *b);

static inline void sh_store_cell_int(struct sh_store_cell *c, int64_t v)
{
	c->type = CELL_INT;
	c->i = v;
}
static inline void sh_store_cell_null(struct sh_store_cell *c)
{
	c->type = CELL_NULL;
}
/* Text or blob p[0..n); copied when it fits the cell. */
static inline void sh_store_cell_bytes(struct sh_store_cell *c, bool text, const void *p, size_t n)
{
	c->type = text ? CELL_TEXT : CELL_BLOB;
	c->len = (int)n;
	if (n <= sizeof(c->copy)) {
		memcpy(c->copy, p, n);
		c->p = c->copy;
	} else {
		c->p = p;
	}
}

/* Schema migrations, oldest first; migration i brings user_version from i to i + 1. */
extern const char *const sh_store_migrations[];

/* The SH_E* code for a SQLite result code (also records the handle's message). */
int sh_store_fail(struct sh_store *s, int sqlite_rc);
/* Records a message of our own and returns err. */
int sh_store_failf(struct sh_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The cached statement, reset and with bindings cleared; NULL on failure (errmsg set). */
sqlite3_stmt *sh_store_stmt(struct sh_store *s, enum st_id id);
/* Steps a statement expected to finish without rows; resets it. */
SH_MUST_CHECK int sh_store_exec_stmt(struct sh_store *s, sqlite3_stmt *st);
/* A fresh statement for a query that calls back into user code (caller finalizes). */
SH_MUST_CHECK int sh_store_prepare(struct sh_store *s, const char *sql, sqlite3_stmt **out);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK of the handle's single write transaction. */
SH_MUST_CHECK int sh_store_begin(struct sh_store *s);
SH_MUST_CHECK int sh_store_commit(struct sh_store *s);
void sh_store_rollback(struct sh_store *s);

/* Prefixes as the schema stores them: family (4/6), address bytes (4 or 16), length. */
static inline size_t sh_store_addr_len(uint8_t af)
{
	return af == SH_AF_V4 ? 4 : 16;
}
/* Reads a prefix from columns (af, addr, len) of a row; SH_ESTORE when malformed. */
SH_MUST_CHECK int sh_store_column_prefix(struct sh_store *s, sqlite3_stmt *st, int col,
					 struct sh_prefix *out);

/* A fast 32-bit hash of s[0..n) for the in-memory tables of ingest and import. */
static inline uint32_t sh_store_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (((h << 5) | (h >> 59)) ^ w) * 0x517cc1b727220a95ull;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, p, n);
		h = (((h << 5) | (h >> 59)) ^ w) * 0x517cc1b727220a95ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* Unsigned LEB128. put returns the bytes written (at most 10); get returns the bytes read,
 * 0 when the input ends early or the value does not fit. */
size_t sh_store_varint_put(uint8_t *p, uint64_t v);
size_t sh_store_varint_get(const uint8_t *p, size_t n, uint64_t *v);

#endif
