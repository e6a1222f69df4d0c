/* Ingest: snapshots of one source collected in memory, applied in time order at commit.
 *
 * Design. sh_ingest_add only appends: each canonical value gets a compact local id from an
 * open-addressing hash table (values live in one string pool), and each snapshot is an array
 * of local ids (plus the items' own times for incremental sources). Nothing touches the
 * database until commit, which runs in one write transaction:
 *   1. resolve every local id to an indicator row id; new indicators get max(id) + 1 ... in
 *      multi-row inserts (the write lock makes that safe);
 *   2. load what the source's stored state contributes: for a full list its open runs (they
 *      close when a new snapshot lacks them), for an incremental source the latest run of
 *      each indicator it mentions; or, when a snapshot is older than the newest stored one,
 *      all the source's stored snapshot memberships, dropping its runs to rebuild them;
 *   3. replay the snapshots in time order over that state, queuing each run as it closes;
 *   4. write one upsert per sighting in row id order, then the runs sorted by key (B-tree
 *      appends rather than random inserts), then the new snapshot rows.
 * Stored sightings are merged in SQL (min/max of times, the descriptive fields given last),
 * so the normal path never reads them. A recompute is the same replay from empty state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/internal.h"
#include "lib/arena.h"

#define NONE SH_TIME_NONE
#define NO_VALUE UINT32_MAX
/* Times beyond +-2^53 s are refused (snapshots) or ignored (item fields), so offsets and
 * comparisons never overflow. */
#define TIME_LIMIT (INT64_C(1) << 53)
#define TIME_OK(t) ((t) >= -TIME_LIMIT && (t) <= TIME_LIMIT)

/* One indicator this commit deals with. */
struct ientry {
	int64_t db_id;        /* 0 until resolved */
	int64_t first_seen;   /* over the snapshots replayed, NONE before any */
	int64_t last_seen;
	int64_t open_start;   /* the open run's start, NONE when offline */
	int64_t stored_open;  /* start of the open run row already stored, NONE when none */
	int64_t prev_end;     /* end of the latest closed run, NONE when none known */
	int64_t meta_t;       /* time of the snapshot that gave the descriptive fields */
	uint32_t meta[4];     /* threat, malware, tags, ref: pool offset + 1, 0 when none */
	uint32_t val;         /* pool offset of the canonical value, NO_VALUE when loaded by id */
	uint32_t host;        /* pool offset + 1 of the host text, 0 when none */
	uint32_t stamp;       /* replay: position + 1 of the last snapshot containing it */
	uint16_t val_len;
	uint8_t type, af, plen;
	uint8_t flags;
	uint8_t addr[16];
};

enum { F_NEW = 1, F_CLOSED_STORED = 2, F_QUEUED = 4 };

/* The items' own fields, kept for incremental sources only. */
struct ifields {
	int64_t first_seen, last_online;
	uint8_t status;
};

struct isnap {
	int64_t t;
	uint64_t hash;
	char *file;
	unsigned long n_bad;
	uint32_t *items; /* local ids, no duplicates */
	struct ifields *fields;
	size_t n, cap;
	bool stored;     /* loaded from the database for a recompute */
	bool skip;       /* found stored at commit (another process got there first) */
};

struct slot {
	uint32_t h, off, len, payload; /* payload 0: empty */
	uint32_t added; /* values: serial of the last snapshot that added it, for duplicates */
};

struct strtab {
	struct slot *v;
	size_t cap, n;
};

/* A run to write: inserted, or closing the stored open run of the same start. */
struct runrec {
	int64_t id, start, end;
	bool close_stored;
};

struct idslot {
	int64_t id; /* 0: empty */
	uint32_t idx;
};

struct sh_ingest {
	struct sh_store *s;
	char *source, *format;
	bool full_list;
	int64_t source_id;
	char *pool;
	size_t pool_len, pool_cap;
	struct ientry *e;
	size_t n_e, cap_e;
	struct strtab values, metas;
	struct idslot *ids;
	size_t ids_cap, ids_n;
	struct isnap *snaps;
	size_t n_snaps, cap_snaps;
	long cur; /* the open snapshot, -1 when none */
	uint32_t *open;
	size_t n_open, cap_open;
	struct runrec *runs;
	size_t n_runs, cap_runs;
	int64_t newest; /* the source's newest stored snapshot time, NONE when none */
	bool recompute;
	struct sh_ingest_stats st;
};


static inline int64_t tmin(int64_t a, int64_t b)
{
	return a == NONE ? b : b == NONE ? a : a < b ? a : b;
}

static inline int64_t tmax(int64_t a, int64_t b)
{
	return a == NONE ? b : b == NONE ? a : a > b ? a : b;
}

/* ---- string pool and hash tables ---- */

/* Appends s[0..n) and a NUL to the pool; *off gets its offset. */
static int pool_add(struct sh_ingest *in, const char *s, size_t n, uint32_t *off)
{
	if (n >= UINT32_MAX - in->pool_len - 1)
		return SH_ENOMEM;
	void *p = in->pool;
	int rc = sh_array_grow(&p, &in->pool_cap, in->pool_len + n + 1, 1);
	in->pool = p;
	if (rc != 0)
		return rc;
	memcpy(in->pool + in->pool_len, s, n);
	in->pool[in->pool_len + n] = '\0';
	*off = (uint32_t)in->pool_len;
	in->pool_len += n + 1;
	return 0;
}

static struct slot *strtab_find(const struct sh_ingest *in, const struct strtab *t, const char *s,
				size_t n, uint32_t h)
{
	size_t mask = t->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct slot *sl = &t->v[i];
		if (!sl->payload ||
		    (sl->h == h && sl->len == n && memcmp(in->pool + sl->off, s, n) == 0))
			return sl;
	}
}

static int strtab_reserve(struct strtab *t)
{
	if (t->cap && (t->n + 1) * 2 <= t->cap)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 1024;
	if (cap > SIZE_MAX / sizeof(struct slot))
		return SH_ENOMEM;
	struct slot *v = calloc(cap, sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->v[i].payload)
			continue;
		size_t j = t->v[i].h & (cap - 1);
		while (v[j].payload)
			j = (j + 1) & (cap - 1);
		v[j] = t->v[i];
	}
	free(t->v);
	t->v = v;
	t->cap = cap;
	return 0;
}

/* The pool offset + 1 of an interned copy of s (descriptive fields repeat a lot). */
static int intern(struct sh_ingest *in, const char *s, uint32_t *out)
{
	size_t n = strlen(s);
	if (n >= UINT32_MAX)
		return SH_ERANGE;
	int rc = strtab_reserve(&in->metas);
	if (rc != 0)
		return rc;
	uint32_t h = sh_store_hash(s, n);
	struct slot *sl = strtab_find(in, &in->metas, s, n, h);
	if (!sl->payload) {
		uint32_t off;
		rc = pool_add(in, s, n, &off);
		if (rc != 0)
			return rc;
		*sl = (struct slot){h, off, (uint32_t)n, off + 1, 0};
		in->metas.n++;
	}
	*out = sl->payload;
	return 0;
}

/* The slot of row id `id`: its own, or the empty one where it belongs. */
static struct idslot *ids_slot(struct sh_ingest *in, int64_t id)
{
	size_t mask = in->ids_cap - 1;
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;
	for (size_t i = (size_t)(h >> 32) & mask;; i = (i + 1) & mask)
		if (in->ids[i].id == id || in->ids[i].id == 0)
			return &in->ids[i];
}

static int ids_reserve(struct sh_ingest *in, size_t more)
{
	if (in->ids_n + more <= in->ids_cap / 2)
		return 0;
	size_t cap = in->ids_cap ? in->ids_cap : 1024;
	while (cap / 2 < in->ids_n + more) {
		if (cap > SIZE_MAX / 2 / sizeof(struct idslot))
			return SH_ENOMEM;
		cap *= 2;
	}
	struct idslot *old = in->ids;
	size_t old_cap = in->ids_cap;
	in->ids = calloc(cap, sizeof(*in->ids));
	if (!in->ids) {
		in->ids = old;
		return SH_ENOMEM;
	}
	in->ids_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].id)
			*ids_slot(in, old[i].id) = old[i];
	free(old);
	return 0;
}

/* Records that row id `id` is local id idx (room reserved by the caller). */
static void ids_put(struct sh_ingest *in, int64_t id, uint32_t idx)
{
	struct idslot *sl = ids_slot(in, id);
	in->ids_n += sl->id == 0;
	*sl = (struct idslot){id, idx};
}

static int entry_new(struct sh_ingest *in, uint32_t *idx)
{
	if (in->n_e >= UINT32_MAX - 1)
		return SH_ENOMEM;
	void *p = in->e;
	int rc = sh_array_grow(&p, &in->cap_e, in->n_e + 1, sizeof(*in->e));
	in->e = p;
	if (rc != 0)
		return rc;
	struct ientry *e = &in->e[in->n_e];
	memset(e, 0, sizeof(*e));
	e->first_seen = e->last_seen = e->open_start = e->stored_open = e->prev_end = NONE;
	e->meta_t = NONE;
	e->val = NO_VALUE;
	*idx = (uint32_t)in->n_e++;
	return 0;
}

/* The local id of a stored indicator known only by its row id. */
static int entry_by_id(struct sh_ingest *in, int64_t id, uint32_t *idx)
{
	int rc = ids_reserve(in, 1);
	if (rc != 0)
		return rc;
	struct idslot *sl = ids_slot(in, id);
	if (sl->id) {
		*idx = sl->idx;
		return 0;
	}
	rc = entry_new(in, idx);
	if (rc != 0)
		return rc;
	in->e[*idx].db_id = id;
	ids_put(in, id, *idx);
	return 0;
}

/* ---- collecting ---- */

static void snaps_free(struct sh_ingest *in)
{
	for (size_t i = 0; i < in->n_snaps; i++) {
		free(in->snaps[i].file);
		free(in->snaps[i].items);
		free(in->snaps[i].fields);
	}
	free(in->snaps);
}

static void ingest_free(struct sh_ingest *in)
{
	if (!in)
		return;
	snaps_free(in);
	free(in->source);
	free(in->format);
	free(in->pool);
	free(in->e);
	free(in->values.v);
	free(in->metas.v);
	free(in->ids);
	free(in->open);
	free(in->runs);
	free(in);
}

/* Looks the source up; *full_list gets its stored kind. 0 with *id = 0 when unknown. */
static int source_find(struct sh_store *s, const char *name, int64_t *id, bool *full_list)
{
	sqlite3_stmt *st = sh_store_stmt(s, ST_SOURCE_GET);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	int rc = 0;
	*id = 0;
	if (r == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*full_list = sqlite3_column_int(st, 1) != 0;
	} else if (r != SQLITE_DONE) {
		rc = sh_store_fail(s, r);
	}
	sqlite3_reset(st);
	return rc;
}

int sh_ingest_begin(struct sh_store *s, const char *source, const char *format, bool full_list,
		    struct sh_ingest **out)
{
	*out = NULL;
	if (!source || !*source || !format)
		return SH_EINVAL;
	struct sh_ingest *in = calloc(1, sizeof(*in));
	if (!in)
		return SH_ENOMEM;
	in->s = s;
	in->full_list = full_list;
	in->cur = -1;
	in->source = strdup(source);
	in->format = strdup(format);
	if (!in->source || !in->format) {
		ingest_free(in);
		return SH_ENOMEM;
	}
	bool stored_full = full_list;
	int rc = source_find(s, source, &in->source_id, &stored_full);
	if (rc == 0 && in->source_id && stored_full != full_list)
		rc = sh_store_failf(s, SH_ECONFLICT,
				    "source %s holds %s snapshots; format %s is %s", source,
				    stored_full ? "full-list" : "incremental", format,
				    full_list ? "a full list" : "incremental");
	if (rc != 0) {
		ingest_free(in);
		return rc;
	}
	*out = in;
	return 0;
}

/* SH_EEXIST / SH_ECONFLICT when the stored source has a snapshot at t. */
static int snapshot_stored(struct sh_store *s, int64_t source_id, int64_t t, uint64_t hash)
{
	sqlite3_stmt *st = sh_store_stmt(s, ST_SNAPSHOT_FIND);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, source_id);
	sqlite3_bind_int64(st, 2, t);
	int r = sqlite3_step(st);
	int rc = 0;
	if (r == SQLITE_ROW)
		rc = (uint64_t)sqlite3_column_int64(st, 0) == hash ? SH_EEXIST : SH_ECONFLICT;
	else if (r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_reset(st);
	return rc;
}

int sh_ingest_snapshot_begin(struct sh_ingest *in, int64_t t, uint64_t content_hash,
			     const char *file_name)
{
	if (in->cur >= 0)
		return SH_EINVAL;
	if (!TIME_OK(t))
		return SH_ERANGE;
	for (size_t i = 0; i < in->n_snaps; i++) {
		if (in->snaps[i].t != t)
			continue;
		if (in->snaps[i].hash != content_hash)
			return SH_ECONFLICT;
		in->st.skipped++;
		return SH_EEXIST;
	}
	if (!in->source_id) {
		bool full = in->full_list;
		int rc = source_find(in->s, in->source, &in->source_id, &full);
		if (rc != 0)
			return rc;
	}
	if (in->source_id) {
		int rc = snapshot_stored(in->s, in->source_id, t, content_hash);
		in->st.skipped += rc == SH_EEXIST;
		if (rc != 0)
			return rc;
	}
	if (in->n_snaps >= UINT32_MAX - 1)
		return SH_ERANGE;
	void *p = in->snaps;
	int rc = sh_array_grow(&p, &in->cap_snaps, in->n_snaps + 1, sizeof(*in->snaps));
	in->snaps = p;
	if (rc != 0)
		return rc;
	struct isnap *sn = &in->snaps[in->n_snaps];
	memset(sn, 0, sizeof(*sn));
	sn->t = t;
	sn->hash = content_hash;
	if (file_name && !(sn->file = strdup(file_name)))
		return SH_ENOMEM;
	in->cur = (long)in->n_snaps++;
	return 0;
}

/* Address and host columns of a new indicator. */
static int entry_describe(struct sh_ingest *in, struct ientry *e, const struct sh_indicator *ind)
{
	const struct sh_ip *ip = NULL;
	unsigned plen = 0;
	switch (ind->type) {
	case SH_IND_IP:
	case SH_IND_CIDR:
		ip = &ind->prefix.ip;
		plen = ind->type == SH_IND_IP ? (ip->af == SH_AF_V4 ? 32 : 128) : ind->prefix.len;
		break;
	case SH_IND_DOMAIN:
		if (pool_add(in, ind->value, ind->value_len, &e->host) != 0)
			return SH_ENOMEM;
		e->host++;
		return 0;
	case SH_IND_URL:
		if (ind->host.type == SH_HOST_IP) {
			ip = &ind->host.ip;
			if (ip->af != SH_AF_V4 && ip->af != SH_AF_V6)
				return SH_EINVAL;
			plen = ip->af == SH_AF_V4 ? 32 : 128;
			char buf[SH_IP_STRLEN];
			size_t n = sh_ip_format(ip, buf);
			if (pool_add(in, buf, n, &e->host) != 0)
				return SH_ENOMEM;
		} else if (ind->host.type == SH_HOST_DOMAIN) {
			if (pool_add(in, ind->host.name, strnlen(ind->host.name, SH_DOMAIN_MAX),
				     &e->host) != 0)
				return SH_ENOMEM;
		} else {
			return SH_EINVAL;
		}
		e->host++;
		break;
	default:
		return SH_EINVAL;
	}
	if (ip) {
		if ((ip->af != SH_AF_V4 && ip->af != SH_AF_V6) ||
		    plen > (ip->af == SH_AF_V4 ? 32u : 128u))
			return SH_EINVAL;
		e->af = ip->af;
		e->plen = (uint8_t)plen;
		memcpy(e->addr, ip->b, sh_store_addr_len(ip->af));
	}
	return 0;
}

static int set_meta(struct sh_ingest *in, struct ientry *e, int64_t t,
		    const struct sh_feed_item *it)
{
	const char *f[4] = {it->threat, it->malware, it->tags, it->ref};
	bool newer = e->meta_t == NONE || t >= e->meta_t;
	bool any = false;
	for (int i = 0; i < 4; i++) {
		if (!f[i] || !*f[i] || (!newer && e->meta[i]))
			continue;
		int rc = intern(in, f[i], &e->meta[i]);
		if (rc != 0)
			return rc;
		any = true;
	}
	if (any && newer)
		e->meta_t = t;
	return 0;
}

int sh_ingest_add(struct sh_ingest *in, const struct sh_feed_item *it)
{
	if (in->cur < 0 || !it || !it->ind)
		return SH_EINVAL;
	const struct sh_indicator *ind = it->ind;
	size_t n = ind->value_len;
	if (n == 0 || n >= SH_IND_MAX || ind->type < SH_IND_IP || ind->type > SH_IND_URL)
		return SH_EINVAL;
	int rc = strtab_reserve(&in->values);
	if (rc != 0)
		return rc;
	uint32_t h = sh_store_hash(ind->value, n);
	struct slot *sl = strtab_find(in, &in->values, ind->value, n, h);
	uint32_t idx;
	if (sl->payload) {
		idx = sl->payload - 1;
	} else {
		rc = entry_new(in, &idx);
		if (rc != 0)
			return rc;
		struct ientry *e = &in->e[idx];
		e->type = (uint8_t)ind->type;
		e->val_len = (uint16_t)n;
		rc = pool_add(in, ind->value, n, &e->val);
		if (rc == 0)
			rc = entry_describe(in, e, ind);
		if (rc != 0) {
			in->n_e--;
			return rc;
		}
		*sl = (struct slot){h, e->val, (uint32_t)n, idx + 1, 0};
		in->values.n++;
	}
	struct isnap *sn = &in->snaps[in->cur];
	if (it->threat || it->malware || it->tags || it->ref) {
		rc = set_meta(in, &in->e[idx], sn->t, it);
		if (rc != 0)
			return rc;
	}
	if (sl->added == (uint32_t)in->cur + 1)
		return 0;
	void *p = sn->items;
	size_t cap = sn->cap;
	rc = sh_array_grow(&p, &cap, sn->n + 1, sizeof(*sn->items));
	sn->items = p;
	if (rc == 0 && !in->full_list) {
		size_t fcap = sn->cap;
		p = sn->fields;
		rc = sh_array_grow(&p, &fcap, sn->n + 1, sizeof(*sn->fields));
		sn->fields = p;
		if (rc == 0) {
			uint8_t status =
				it->status == SH_STATUS_ONLINE || it->status == SH_STATUS_OFFLINE
					? (uint8_t)it->status
					: SH_STATUS_UNKNOWN;
			sn->fields[sn->n] = (struct ifields){
				TIME_OK(it->first_seen) ? it->first_seen : NONE,
				TIME_OK(it->last_online) ? it->last_online : NONE, status};
		}
	}
	if (rc != 0)
		return rc;
	sn->cap = cap;
	sn->items[sn->n++] = idx;
	sl->added = (uint32_t)in->cur + 1;
	return 0;
}

int sh_ingest_snapshot_end(struct sh_ingest *in, unsigned long n_bad_lines)
{
	if (in->cur < 0)
		return SH_EINVAL;
	in->snaps[in->cur].n_bad = n_bad_lines;
	in->cur = -1;
	return 0;
}

void sh_ingest_abort(struct sh_ingest *in)
{
	ingest_free(in);
}

/* ---- commit ---- */

static void hook(const char *point)
{
	if (sh_store_test_hook)
		sh_store_test_hook(point);
}

static int source_write(struct sh_ingest *in)
{
	struct sh_store *s = in->s;
	bool full = in->full_list;
	int rc = source_find(s, in->source, &in->source_id, &full);
	if (rc != 0)
		return rc;
	if (in->source_id && full != in->full_list)
		return sh_store_failf(s, SH_ECONFLICT,
				      "source %s changed kind (full list vs incremental)",
				      in->source);
	sqlite3_stmt *st = sh_store_stmt(s, in->source_id ? ST_SOURCE_UPDATE : ST_SOURCE_INSERT);
	if (!st)
		return SH_ESTORE;
	if (in->source_id) {
		sqlite3_bind_int64(st, 1, in->source_id);
		sqlite3_bind_text(st, 2, in->format, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 1, in->source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in->format, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 3, in->full_list);
	rc = sh_store_exec_stmt(s, st);
	if (rc == 0 && !in->source_id)
		in->source_id = sqlite3_last_insert_rowid(s->db);
	if (rc != 0)
		return rc;

	st = sh_store_stmt(s, ST_SNAPSHOT_NEWEST);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, in->source_id);
	int r = sqlite3_step(st);
	in->newest = NONE;
	if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		in->newest = sqlite3_column_int64(st, 0);
	rc = r == SQLITE_ROW ? 0 : sh_store_fail(s, r);
	sqlite3_reset(st);
	return rc;
}

/* Drops snapshots stored since snapshot_begin checked; decides whether to recompute. */
static int snapshots_check(struct sh_ingest *in, size_t *n_new)
{
	*n_new = 0;
	for (size_t i = 0; i < in->n_snaps; i++) {
		struct isnap *sn = &in->snaps[i];
		int rc = snapshot_stored(in->s, in->source_id, sn->t, sn->hash);
		if (rc == SH_EEXIST || rc == SH_ECONFLICT) {
			sn->skip = true;
			in->st.skipped++;
			continue;
		}
		if (rc != 0)
			return rc;
		(*n_new)++;
		if (in->newest != NONE && sn->t < in->newest)
			in->recompute = true;
	}
	return 0;
}

static int indicator_find(struct sh_ingest *in, struct ientry *e)
{
	struct sh_store *s = in->s;
	sqlite3_stmt *st = sh_store_stmt(s, ST_IND_FIND);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_text(st, 1, in->pool + e->val, e->val_len, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		e->db_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : sh_store_fail(s, r);
}

/* Queues the indicator's row with the given id (the write lock makes max(id) + n safe). */
static int indicator_queue(struct sh_ingest *in, struct sh_store_batch *b, const struct ientry *e,
			   int64_t id)
{
	struct sh_store_cell *c = sh_store_batch_row(b);
	sh_store_cell_int(&c[0], id);
	sh_store_cell_int(&c[1], e->type);
	sh_store_cell_bytes(&c[2], true, in->pool + e->val, e->val_len);
	if (e->host)
		sh_store_cell_bytes(&c[3], true, in->pool + e->host - 1,
				    strlen(in->pool + e->host - 1));
	else
		sh_store_cell_null(&c[3]);
	if (e->af) {
		size_t n = sh_store_addr_len(e->af);
		uint8_t hi[16];
		memcpy(hi, e->addr, n);
		for (unsigned bit = e->plen; bit < n * 8; bit++)
			hi[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
		sh_store_cell_int(&c[4], e->af);
		sh_store_cell_bytes(&c[5], false, e->addr, n);
		sh_store_cell_bytes(&c[6], false, hi, n);
		sh_store_cell_int(&c[7], e->plen);
	} else {
		for (int k = 4; k < 8; k++)
			sh_store_cell_null(&c[k]);
	}
	return sh_store_batch_add(b);
}

struct resolver {
	struct sh_store_batch batch;
	int64_t next_id;
	unsigned long tried, found;
	uint32_t chunk[SH_BATCH_ROWS];
	int n;
};

/* Resolves one chunk of values. Looking values up first is cheaper when most are stored,
 * inserting first (OR IGNORE) when most are new; the order follows what the chunks so far
 * have met. */
static int resolve_chunk(struct sh_ingest *in, struct resolver *r)
{
	bool find_first = r->found * 2 >= r->tried;
	struct sh_store_batch *b = &r->batch;
	b->changes = 0;
	unsigned long queued = 0;
	int rc = 0;
	for (int i = 0; rc == 0 && i < r->n; i++) {
		struct ientry *e = &in->e[r->chunk[i]];
		if (find_first && (rc = indicator_find(in, e)) != 0)
			break;
		if (!e->db_id) {
			e->db_id = r->next_id++;
			e->flags |= F_NEW;
			queued++;
			rc = indicator_queue(in, b, e, e->db_id);
		}
	}
	if (rc == 0)
		rc = sh_store_batch_flush(b);
	if (rc == 0 && b->changes != queued) {
		if (find_first)
			return sh_store_failf(in->s, SH_ESTORE, "indicator insert ignored");
		/* Some were stored already: look each up, the rest kept the id they were given. */
		for (int i = 0; rc == 0 && i < r->n; i++) {
			struct ientry *e = &in->e[r->chunk[i]];
			int64_t given = e->db_id;
			e->db_id = 0;
			rc = indicator_find(in, e);
			if (rc == 0 && !e->db_id)
				rc = sh_store_failf(in->s, SH_ESTORE, "indicator %s vanished",
						    in->pool + e->val);
			if (e->db_id != given)
				e->flags &= (uint8_t)~F_NEW;
		}
	}
	for (int i = 0; i < r->n; i++) {
		struct ientry *e = &in->e[r->chunk[i]];
		in->st.new_indicators += (e->flags & F_NEW) != 0;
		r->found += !(e->flags & F_NEW);
	}
	r->tried += (unsigned long)r->n;
	r->n = 0;
	return rc;
}

/* Row ids for every indicator the new snapshots hold, and the id -> local id table. */
static int indicators_resolve(struct sh_ingest *in)
{
	struct sh_store *s = in->s;
	struct resolver *r = malloc(sizeof(*r));
	if (!r)
		return SH_ENOMEM;
	sh_store_batch_init(&r->batch, s, BT_INDICATOR);
	r->tried = r->found = 0;
	r->n = 0;
	int rc = 0;
	sqlite3_stmt *st = sh_store_stmt(s, ST_IND_MAX);
	if (!st) {
		rc = SH_ESTORE;
	} else {
		int res = sqlite3_step(st);
		if (res == SQLITE_ROW)
			r->next_id = sqlite3_column_int64(st, 0) + 1;
		else
			rc = sh_store_fail(s, res);
		sqlite3_reset(st);
	}
	for (size_t i = 0; rc == 0 && i < in->n_snaps; i++) {
		struct isnap *sn = &in->snaps[i];
		if (sn->skip)
			continue;
		for (size_t j = 0; rc == 0 && j < sn->n; j++) {
			struct ientry *e = &in->e[sn->items[j]];
			if (e->db_id || (e->flags & F_QUEUED))
				continue;
			e->flags |= F_QUEUED;
			r->chunk[r->n++] = sn->items[j];
			if (r->n == SH_BATCH_ROWS)
				rc = resolve_chunk(in, r);
		}
	}
	if (rc == 0 && r->n)
		rc = resolve_chunk(in, r);
	free(r);
	if (rc == 0)
		rc = ids_reserve(in, in->n_e);
	for (size_t i = 0; rc == 0 && i < in->n_e; i++)
		if (in->e[i].db_id)
			ids_put(in, in->e[i].db_id, (uint32_t)i);
	return rc;
}

static int open_push(struct sh_ingest *in, uint32_t idx)
{
	void *p = in->open;
	int rc = sh_array_grow(&p, &in->cap_open, in->n_open + 1, sizeof(*in->open));
	in->open = p;
	if (rc == 0)
		in->open[in->n_open++] = idx;
	return rc;
}

/* Full list: the source's open runs, which close at the first snapshot lacking them. */
static int load_open_runs(struct sh_ingest *in)
{
	struct sh_store *s = in->s;
	sqlite3_stmt *st = sh_store_stmt(s, ST_RUNS_OPEN);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, in->source_id);
	int r, rc = 0;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t idx;
		rc = entry_by_id(in, sqlite3_column_int64(st, 0), &idx);
		if (rc == 0) {
			struct ientry *e = &in->e[idx];
			e->open_start = e->stored_open = sqlite3_column_int64(st, 1);
			rc = open_push(in, idx);
		}
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_reset(st);
	return rc;
}

/* Incremental: the latest run of each stored indicator the new snapshots mention. */
static int load_last_runs(struct sh_ingest *in)
{
	struct sh_store *s = in->s;
	for (size_t i = 0; i < in->n_e; i++) {
		struct ientry *e = &in->e[i];
		if (!e->db_id || (e->flags & F_NEW))
			continue;
		sqlite3_stmt *st = sh_store_stmt(s, ST_RUN_LAST);
		if (!st)
			return SH_ESTORE;
		sqlite3_bind_int64(st, 1, e->db_id);
		sqlite3_bind_int64(st, 2, in->source_id);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			if (sqlite3_column_type(st, 1) == SQLITE_NULL)
				e->open_start = e->stored_open = sqlite3_column_int64(st, 0);
			else
				e->prev_end = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return sh_store_fail(s, r);
	}
	return 0;
}

static inline int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int decode_snapshot(struct sh_ingest *in, struct isnap *sn, const uint8_t *m, size_t mn,
			   const uint8_t *f, size_t fn)
{
	uint64_t id = 0;
	size_t mi = 0, fi = 0;
	while (mi < mn) {
		uint64_t d;
		size_t k = sh_store_varint_get(m + mi, mn - mi, &d);
		if (!k || d == 0 || d > (uint64_t)INT64_MAX - id)
			return sh_store_failf(in->s, SH_ESTORE, "corrupt snapshot membership");
		mi += k;
		id += d;
		uint32_t idx;
		int rc = entry_by_id(in, (int64_t)id, &idx);
		if (rc != 0)
			return rc;
		void *p = sn->items;
		size_t cap = sn->cap;
		rc = sh_array_grow(&p, &cap, sn->n + 1, sizeof(*sn->items));
		sn->items = p;
		if (rc == 0 && !in->full_list) {
			size_t fcap = sn->cap;
			p = sn->fields;
			rc = sh_array_grow(&p, &fcap, sn->n + 1, sizeof(*sn->fields));
			sn->fields = p;
		}
		if (rc != 0)
			return rc;
		sn->cap = cap;
		if (!in->full_list) {
			struct ifields x = {NONE, NONE, SH_STATUS_UNKNOWN};
			uint64_t flags = 0, v;
			if (f) {
				if (!(k = sh_store_varint_get(f + fi, fn - fi, &flags)))
					return sh_store_failf(in->s, SH_ESTORE,
							      "corrupt snapshot fields");
				fi += k;
			}
			x.status = (uint8_t)(flags & 3);
			for (int b = 2; b <= 3; b++) {
				if (!(flags & (1u << b)))
					continue;
				if (!(k = sh_store_varint_get(f + fi, fn - fi, &v)))
					return sh_store_failf(in->s, SH_ESTORE,
							      "corrupt snapshot fields");
				fi += k;
				int64_t off = unzigzag(v);
				int64_t t = TIME_OK(off) && TIME_OK(sn->t) ? sn->t + off : NONE;
				if (b == 2)
					x.first_seen = t;
				else
					x.last_online = t;
			}
			sn->fields[sn->n] = x;
		}
		sn->items[sn->n++] = idx;
	}
	return 0;
}

/* Recompute: every stored snapshot of the source joins the replay; its runs are dropped. */
static int load_stored_snapshots(struct sh_ingest *in)
{
	struct sh_store *s = in->s;
	sqlite3_stmt *st = sh_store_stmt(s, ST_SNAPSHOT_LOAD);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, in->source_id);
	int r, rc = 0;
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		void *p = in->snaps;
		rc = sh_array_grow(&p, &in->cap_snaps, in->n_snaps + 1, sizeof(*in->snaps));
		in->snaps = p;
		if (rc != 0)
			break;
		struct isnap *sn = &in->snaps[in->n_snaps++];
		memset(sn, 0, sizeof(*sn));
		sn->t = sqlite3_column_int64(st, 0);
		sn->stored = true;
		const uint8_t *m = sqlite3_column_blob(st, 1);
		size_t mn = (size_t)sqlite3_column_bytes(st, 1);
		const uint8_t *f = sqlite3_column_blob(st, 2);
		size_t fn = (size_t)sqlite3_column_bytes(st, 2);
		sqlite3_int64 hint = sqlite3_column_int64(st, 3);
		if (hint > 0 && (uint64_t)hint <= mn) {
			size_t cap = 0;
			p = NULL;
			rc = sh_array_grow(&p, &cap, (size_t)hint, sizeof(*sn->items));
			sn->items = p;
			if (rc == 0 && !in->full_list) {
				size_t fcap = 0;
				p = NULL;
				rc = sh_array_grow(&p, &fcap, (size_t)hint, sizeof(*sn->fields));
				sn->fields = p;
				cap = fcap < cap ? fcap : cap;
			}
			sn->cap = cap;
		}
		if (rc == 0)
			rc = decode_snapshot(in, sn, m, m ? mn : 0, f, f ? fn : 0);
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = sh_store_fail(s, r);
	sqlite3_reset(st);
	if (rc != 0)
		return rc;
	st = sh_store_stmt(s, ST_RUNS_DELETE);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, in->source_id);
	return sh_store_exec_stmt(s, st);
}

/* Runs are buffered and written in key order at the end: appending to the B-tree is several
 * times faster than inserting at random places. */
static int run_write(struct sh_ingest *in, struct ientry *e, int64_t start, int64_t end)
{
	if (in->n_runs >= UINT32_MAX)
		return SH_ENOMEM;
	void *p = in->runs;
	int rc = sh_array_grow(&p, &in->cap_runs, in->n_runs + 1, sizeof(*in->runs));
	in->runs = p;
	if (rc != 0)
		return rc;
	bool update = e->stored_open != NONE && e->stored_open == start;
	in->runs[in->n_runs++] = (struct runrec){e->db_id, start, end, update};
	if (update) {
		e->stored_open = NONE;
		e->flags |= F_CLOSED_STORED;
	}
	return 0;
}

static int run_close(struct sh_ingest *in, struct ientry *e, int64_t end)
{
	int rc = run_write(in, e, e->open_start, end);
	e->open_start = NONE;
	e->prev_end = end;
	in->st.runs_closed++;
	return rc;
}

static int replay_full(struct sh_ingest *in, const struct isnap *sn, uint32_t mark)
{
	int64_t t = sn->t;
	for (size_t i = 0; i < sn->n; i++) {
		uint32_t idx = sn->items[i];
		struct ientry *e = &in->e[idx];
		e->stamp = mark;
		e->first_seen = tmin(e->first_seen, t);
		e->last_seen = tmax(e->last_seen, t);
		if (e->open_start == NONE) {
			e->open_start = t;
			in->st.runs_opened++;
			int rc = open_push(in, idx);
			if (rc != 0)
				return rc;
		}
	}
	size_t keep = 0;
	for (size_t i = 0; i < in->n_open; i++) {
		struct ientry *e = &in->e[in->open[i]];
		if (e->stamp != mark) {
			int rc = run_close(in, e, t);
			if (rc != 0)
				return rc;
		} else {
			in->open[keep++] = in->open[i];
		}
	}
	in->n_open = keep;
	return 0;
}

static int replay_incremental(struct sh_ingest *in, const struct isnap *sn)
{
	int64_t t = sn->t;
	for (size_t i = 0; i < sn->n; i++) {
		struct ientry *e = &in->e[sn->items[i]];
		const struct ifields *f = &sn->fields[i];
		int64_t fs = f->first_seen != NONE ? f->first_seen : t;
		e->first_seen = tmin(e->first_seen, fs);
		if (f->status != SH_STATUS_OFFLINE) {
			e->last_seen = tmax(e->last_seen, tmax(t, f->last_online));
			if (e->open_start == NONE) {
				/* A first_seen inside the last run: it came back now. */
				int64_t start = e->prev_end == NONE || fs > e->prev_end ? fs : t;
				e->open_start = tmax(start, e->prev_end);
				in->st.runs_opened++;
			}
			continue;
		}
		int64_t end = f->last_online != NONE ? f->last_online : t;
		e->last_seen = tmax(e->last_seen, f->last_online != NONE ? f->last_online : fs);
		int rc = 0;
		if (e->open_start != NONE) {
			rc = run_close(in, e, tmax(end, e->open_start));
		} else if (e->prev_end == NONE) {
			/* Known only as already offline: it was online from first_seen on. */
			e->open_start = fs;
			in->st.runs_opened++;
			rc = run_close(in, e, tmax(end, fs));
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int snap_cmp(const void *a, const void *b)
{
	int64_t x = ((const struct isnap *)a)->t, y = ((const struct isnap *)b)->t;
	return (x > y) - (x < y);
}

static int replay(struct sh_ingest *in)
{
	qsort(in->snaps, in->n_snaps, sizeof(*in->snaps), snap_cmp);
	uint32_t mark = 0;
	for (size_t i = 0; i < in->n_snaps; i++) {
		struct isnap *sn = &in->snaps[i];
		if (sn->skip)
			continue;
		if (!sn->stored)
			in->st.items += sn->n;
		int rc = in->full_list ? replay_full(in, sn, ++mark) : replay_incremental(in, sn);
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct member {
	uint64_t id;
	uint32_t pos;
};

/* LSD radix sort by id, 8 bits a pass, as many passes as the largest id needs. */
static void members_sort(struct member *a, struct member *tmp, size_t n)
{
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = a[i].id > max ? a[i].id : max;
	for (unsigned shift = 0; shift < 64 && (max >> shift); shift += 8) {
		size_t count[257] = {0};
		for (size_t i = 0; i < n; i++)
			count[((a[i].id >> shift) & 0xff) + 1]++;
		for (int b = 0; b < 256; b++)
			count[b + 1] += count[b];
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i].id >> shift) & 0xff]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
	}
}

/* Members keyed by row id, sorted; NULL when out of memory. */
static struct member *sorted_members(size_t n, const int64_t *(*key)(const void *, size_t),
				     const void *arg)
{
	if (n > SIZE_MAX / 2 / sizeof(struct member))
		return NULL;
	struct member *m = malloc((n ? 2 * n : 1) * sizeof(*m));
	if (!m)
		return NULL;
	for (size_t i = 0; i < n; i++)
		m[i] = (struct member){(uint64_t)*key(arg, i), (uint32_t)i};
	members_sort(m, m + n, n);
	return m;
}

static const int64_t *run_key(const void *arg, size_t i)
{
	return &((const struct runrec *)arg)[i].id;
}

/* Updates close stored open runs; new runs go in batches. Sightings exist by now, as the
 * runs' foreign key wants. */
static int runs_flush(struct sh_ingest *in)
{
	struct sh_store *s = in->s;
	/* The sort is stable, so each indicator's runs stay in time order. */
	struct member *m = sorted_members(in->n_runs, run_key, in->runs);
	struct sh_store_batch *b = malloc(sizeof(*b));
	int rc = m && b ? 0 : SH_ENOMEM;
	if (b)
		sh_store_batch_init(b, s, BT_RUN);
	for (size_t i = 0; rc == 0 && i < in->n_runs; i++) {
		const struct runrec *r = &in->runs[m[i].pos];
		if (r->close_stored) {
			sqlite3_stmt *st = sh_store_stmt(s, ST_RUN_CLOSE);
			if (!st) {
				rc = SH_ESTORE;
				break;
			}
			sqlite3_bind_int64(st, 1, r->id);
			sqlite3_bind_int64(st, 2, in->source_id);
			sqlite3_bind_int64(st, 3, r->start);
			sqlite3_bind_int64(st, 4, r->end);
			rc = sh_store_exec_stmt(s, st);
			continue;
		}
		struct sh_store_cell *c = sh_store_batch_row(b);
		sh_store_cell_int(&c[0], r->id);
		sh_store_cell_int(&c[1], in->source_id);
		sh_store_cell_int(&c[2], r->start);
		if (r->end != NONE)
			sh_store_cell_int(&c[3], r->end);
		else
			sh_store_cell_null(&c[3]);
		rc = sh_store_batch_add(b);
	}
	if (rc == 0)
		rc = sh_store_batch_flush(b);
	free(b);
	free(m);
	return rc;
}

static int sighting_offline(struct sh_ingest *in, const struct ientry *e)
{
	struct sh_store *s = in->s;
	sqlite3_stmt *st = sh_store_stmt(s, ST_SIGHTING_OFFLINE);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, e->db_id);
	sqlite3_bind_int64(st, 2, in->source_id);
	return sh_store_exec_stmt(s, st);
}

static int sighting_queue(struct sh_ingest *in, struct sh_store_batch *b, const struct ientry *e)
{
	b->flag = in->recompute;
	struct sh_store_cell *c = sh_store_batch_row(b);
	sh_store_cell_int(&c[0], e->db_id);
	sh_store_cell_int(&c[1], in->source_id);
	sh_store_cell_int(&c[2], e->first_seen);
	sh_store_cell_int(&c[3], e->last_seen);
	sh_store_cell_int(&c[4], e->open_start != NONE);
	for (int k = 0; k < 4; k++) {
		if (e->meta[k]) {
			const char *v = in->pool + e->meta[k] - 1;
			sh_store_cell_bytes(&c[5 + k], true, v, strlen(v));
		} else {
			sh_store_cell_null(&c[5 + k]);
		}
	}
	if (e->meta_t != NONE)
		sh_store_cell_int(&c[9], e->meta_t);
	else
		sh_store_cell_null(&c[9]);
	return sh_store_batch_add(b);
}

static const int64_t *entry_key(const void *arg, size_t i)
{
	return &((const struct ientry *)arg)[i].db_id;
}

/* Every sighting the replay touched, in row id order, then the runs. */
static int sightings_write(struct sh_ingest *in)
{
	for (size_t i = 0; i < in->n_e; i++) {
		struct ientry *e = &in->e[i];
		if (e->open_start != NONE && e->open_start != e->stored_open) {
			int rc = run_write(in, e, e->open_start, NONE);
			if (rc != 0)
				return rc;
		}
	}
	struct member *m = sorted_members(in->n_e, entry_key, in->e);
	struct sh_store_batch *b = malloc(sizeof(*b));
	int rc = m && b ? 0 : SH_ENOMEM;
	if (b)
		sh_store_batch_init(b, in->s, BT_SIGHTING);
	for (size_t i = 0; rc == 0 && i < in->n_e; i++) {
		const struct ientry *e = &in->e[m[i].pos];
		if (!e->db_id)
			continue;
		if (e->first_seen != NONE)
			rc = sighting_queue(in, b, e);
		else if (e->flags & F_CLOSED_STORED)
			rc = sighting_offline(in, e);
	}
	if (rc == 0)
		rc = sh_store_batch_flush(b);
	free(b);
	free(m);
	hook("sightings");
	if (rc == 0)
		rc = runs_flush(in);
	hook("runs");
	return rc;
}

static int snapshot_write(struct sh_ingest *in, const struct isnap *sn, struct member *mem,
			  struct member *tmp, uint8_t *mbuf, uint8_t *fbuf, int64_t now)
{
	for (size_t i = 0; i < sn->n; i++)
		mem[i] = (struct member){(uint64_t)in->e[sn->items[i]].db_id, (uint32_t)i};
	members_sort(mem, tmp, sn->n);
	size_t mn = 0, fn = 0;
	uint64_t prev = 0;
	for (size_t i = 0; i < sn->n; i++) {
		mn += sh_store_varint_put(mbuf + mn, mem[i].id - prev);
		prev = mem[i].id;
		if (!sn->fields)
			continue;
		const struct ifields *f = &sn->fields[mem[i].pos];
		uint64_t flags = f->status | (f->first_seen != NONE ? 4u : 0) |
				 (f->last_online != NONE ? 8u : 0);
		fn += sh_store_varint_put(fbuf + fn, flags);
		if (f->first_seen != NONE)
			fn += sh_store_varint_put(fbuf + fn, zigzag(f->first_seen - sn->t));
		if (f->last_online != NONE)
			fn += sh_store_varint_put(fbuf + fn, zigzag(f->last_online - sn->t));
	}
	if (mn > INT32_MAX || fn > INT32_MAX)
		return SH_ERANGE;
	struct sh_store *s = in->s;
	sqlite3_stmt *st = sh_store_stmt(s, ST_SNAPSHOT_INSERT);
	if (!st)
		return SH_ESTORE;
	sqlite3_bind_int64(st, 1, in->source_id);
	sqlite3_bind_int64(st, 2, sn->t);
	sqlite3_bind_int64(st, 3, (int64_t)sn->hash);
	if (sn->file)
		sqlite3_bind_text(st, 4, sn->file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)sn->n);
	sqlite3_bind_int64(st, 6, sn->n_bad > INT64_MAX ? INT64_MAX : (int64_t)sn->n_bad);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_blob(st, 8, mbuf, (int)mn, SQLITE_STATIC);
	if (sn->fields)
		sqlite3_bind_blob(st, 9, fbuf, (int)fn, SQLITE_STATIC);
	return sh_store_exec_stmt(s, st);
}

static int snapshots_write(struct sh_ingest *in)
{
	size_t max = 0;
	for (size_t i = 0; i < in->n_snaps; i++)
		if (!in->snaps[i].stored && !in->snaps[i].skip && in->snaps[i].n > max)
			max = in->snaps[i].n;
	/* A member takes at most 10 bytes, its fields at most 30. */
	if (max > SIZE_MAX / 2 / sizeof(struct member) || max > SIZE_MAX / 40)
		return SH_ENOMEM;
	max = max ? max : 1;
	struct member *mem = malloc(2 * max * sizeof(*mem));
	uint8_t *mbuf = malloc(max * 10);
	uint8_t *fbuf = in->full_list ? NULL : malloc(max * 30);
	int rc = mem && mbuf && (in->full_list || fbuf) ? 0 : SH_ENOMEM;
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; rc == 0 && i < in->n_snaps; i++) {
		struct isnap *sn = &in->snaps[i];
		if (!sn->stored && !sn->skip) {
			rc = snapshot_write(in, sn, mem, mem + max, mbuf, fbuf, now);
			in->st.snapshots += rc == 0;
		}
	}
	free(mem);
	free(mbuf);
	free(fbuf);
	return rc;
}

static int commit_txn(struct sh_ingest *in)
{
	size_t n_new;
	int rc = source_write(in);
	if (rc == 0)
		rc = snapshots_check(in, &n_new);
	if (rc != 0 || n_new == 0)
		return rc;
	rc = indicators_resolve(in);
	hook("indicators");
	if (rc == 0) {
		if (in->recompute)
			rc = load_stored_snapshots(in);
		else if (in->full_list)
			rc = load_open_runs(in);
		else
			rc = load_last_runs(in);
	}
	if (rc == 0)
		rc = replay(in);
	hook("replayed");
	if (rc == 0)
		rc = sightings_write(in);
	if (rc == 0)
		rc = snapshots_write(in);
	hook("written");
	return rc;
}

int sh_ingest_commit(struct sh_ingest *in, struct sh_ingest_stats *st)
{
	if (st)
		memset(st, 0, sizeof(*st));
	if (in->cur >= 0) {
		ingest_free(in);
		return SH_EINVAL;
	}
	if (in->n_snaps == 0) {
		if (st)
			*st = in->st;
		ingest_free(in);
		return 0;
	}
	struct sh_store *s = in->s;
	int rc = sh_store_begin(s);
	if (rc == 0) {
		rc = commit_txn(in);
		if (rc == 0)
			rc = sh_store_commit(s);
		else
			sh_store_rollback(s);
	}
	if (rc == 0 && st)
		*st = in->st;
	ingest_free(in);
	return rc;
}
