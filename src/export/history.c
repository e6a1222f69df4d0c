/* What an output remembers between exports: the entry count of its last publish (for the
 * guard's shrink check) and, for STIX and MISP, each published indicator's version (created,
 * modified, content hash, when it was withdrawn), so that ids stay stable, `modified` moves
 * only when the content changed, and withdrawn indicators are published as revoked.
 *
 * The state file starts with a text line "sheriff-export-state 3 FORMAT ENTRIES AT" (tabs;
 * 2 for formats that keep no versions, whose file is that line only), then holds one binary
 * record per version: type (1 byte), which digests are known (1 byte), 2 zero bytes, the
 * value's length (4 bytes), created_ms, modified_ms, content hash, first_seen, revoked_ms (8
 * bytes each; integers little-endian throughout), the uuid and the MD5 of the value (16 bytes
 * each, zeros when not known), then the value and a NUL. Binary because a STIX or MISP export
 * of a million indicators reads and writes a million versions every run: the records are read
 * in place (the values are used where they lie in the mapped file) and written without
 * formatting a number, where the text lines of version 2 took a good part of a second; the
 * digests save computing a million SHA-1s and MD5s again. Versions 1 and 2 were text, one line
 * per version (type, created_ms, modified_ms, content hash in hex, first_seen, revoked_ms,
 * value with \t, \n and \\ escaped); they are still read. Version 1 hashed the content with
 * FNV-1a, a byte at a time; its hashes are compared as FNV-1a, so an upgrade does not make
 * every indicator look changed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/history.h"

/* The fixed part of a version 3 record. */
#define REC_SIZE 80

struct slot {
	uint64_t key;
	size_t i; /* into v; SIZE_MAX: empty */
};

struct sh_export_history {
	struct sh_export_version *v;
	size_t n, cap;
	bool *dropped;
	/* open addressing over v by key, built on the first look-up the hint cannot answer */
	struct slot *index;
	size_t index_cap;
	bool indexed;
	size_t expect; /* versions the index should have room for when it is (re)built */
	bool unindexed_new; /* reserved with nothing remembered: claims append, unindexed */
	/* where the next look-up probably is: exports walk the listings in the order the
	 * previous export saved them, so most look-ups are the version after the last one */
	size_t hint;
	/* keys of versions read from a state file are computed when the index is first built:
	 * an export walking the saved order never needs them */
	bool unkeyed;
	char *file; /* the state file's text, which read versions' values point into */
	size_t file_len;
	/* the records of a version 3 file not read yet: they are read as the export claims
	 * versions in the saved order (or all at once when it needs them all), so that the
	 * thread loading the state ahead only maps the file, and the reading costs the export's
	 * formatting threads, which wait for the disk, instead of the listings' build */
	const char *pending;
	size_t pending_len;
	unsigned long damaged;  /* the number of a bad record met, 0 while none */
	bool mapped; /* file is a private mapping of the state file, else malloc'ed */
	struct sh_arena arena;
};

int sh_export_history_new(struct sh_export_history **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return SH_ENOMEM;
	sh_arena_init(&(*out)->arena, 1 << 20);
	return 0;
}

void sh_export_history_free(struct sh_export_history *h)
{
	if (!h)
		return;
	free(h->v);
	free(h->dropped);
	free(h->index);
	if (h->mapped)
		munmap(h->file, h->file_len);
	else
		free(h->file);
	sh_arena_fini(&h->arena);
	free(h);
}

static struct slot *find_slot(const struct sh_export_history *h, uint64_t key, uint8_t type,
			      const char *value)
{
	size_t mask = h->index_cap - 1;
	for (size_t i = (size_t)(key ^ (key >> 29)) & mask;; i = (i + 1) & mask) {
		struct slot *x = &h->index[i];
		if (x->i == SIZE_MAX)
			return x;
		if (x->key != key)
			continue;
		const struct sh_export_version *v = &h->v[x->i];
		if (v->type == type && strcmp(v->value, value) == 0)
			return x;
	}
}

static int read_records(struct sh_export_history *h, size_t upto);

/* Makes the index hold every version with room for one more. A repeated line of a damaged
 * state file is dropped: the first one counts. */
static int reindex(struct sh_export_history *h)
{
	int rc = read_records(h, SIZE_MAX);
	if (rc != 0)
		return rc;
	if (h->indexed && (h->n + 1) * 2 <= h->index_cap)
		return 0;
	size_t cap = h->index_cap ? h->index_cap : 1024;
	size_t want = h->expect > h->n + 1 ? h->expect : h->n + 1;
	while (cap < want * 2) {
		if (cap > SIZE_MAX / 4 / sizeof(struct slot))
			return SH_ENOMEM;
		cap *= 2;
	}
	struct slot *idx = malloc(cap * sizeof(*idx));
	if (!idx)
		return SH_ENOMEM;
	for (size_t i = 0; i < cap; i++)
		idx[i].i = SIZE_MAX;
	free(h->index);
	h->index = idx;
	h->index_cap = cap;
	h->indexed = true;
	for (size_t i = 0; h->unkeyed && i < h->n; i++) {
		struct sh_listing l = {.type = (enum sh_ind_type)h->v[i].type, .value = h->v[i].value};
		h->v[i].key = sh_listing_key_hash(&l);
	}
	h->unkeyed = false;
	for (size_t i = 0; i < h->n; i++) {
		struct slot *x = find_slot(h, h->v[i].key, h->v[i].type, h->v[i].value);
		if (x->i != SIZE_MAX) {
			h->dropped[i] = true;
			continue;
		}
		x->key = h->v[i].key;
		x->i = i;
	}
	return 0;
}

/* Room for at least cap versions. */
static int grow(struct sh_export_history *h, size_t cap)
{
	if (cap <= h->cap)
		return 0;
	if (cap > SIZE_MAX / sizeof(*h->v))
		return SH_ENOMEM;
	struct sh_export_version *nv = realloc(h->v, cap * sizeof(*nv));
	if (!nv)
		return SH_ENOMEM;
	h->v = nv;
	bool *nd = realloc(h->dropped, cap * sizeof(*nd));
	if (!nd)
		return SH_ENOMEM;
	h->dropped = nd;
	h->cap = cap;
	return 0;
}

/* At most as many versions as the records not read yet can hold (each has a value and its
 * NUL after the fixed part). */
static size_t pending_max(const struct sh_export_history *h)
{
	return h->pending_len / (REC_SIZE + 2);
}

int sh_export_history_reserve(struct sh_export_history *h, size_t more)
{
	size_t have = h->n + pending_max(h);
	if (more > SIZE_MAX - have)
		return SH_ENOMEM;
	/* an index built during these claims is built once, at its full size */
	h->expect = have + more;
	h->unindexed_new = have == 0;
	return grow(h, have + more);
}

unsigned long sh_export_history_damaged(const struct sh_export_history *h)
{
	return h->damaged;
}

/* Appends a version without indexing it (its value copied unless it is in h->file); returns
 * it or NULL. */
static struct sh_export_version *push(struct sh_export_history *h,
				      const struct sh_export_version *v, bool copy)
{
	if (h->n == h->cap && grow(h, h->cap ? h->cap * 2 : 1024) != 0)
		return NULL;
	const char *value = copy ? sh_arena_strndup(&h->arena, v->value, strlen(v->value)) : v->value;
	if (!value)
		return NULL;
	struct sh_export_version *x = &h->v[h->n];
	*x = *v;
	x->value = value;
	h->dropped[h->n++] = false;
	return x;
}

static uint64_t fnv1a(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

uint64_t sh_export_content_hash(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x243f6a8885a308d3ull ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull);
	for (; n >= 8; s += 8, n -= 8) {
		h = (h ^ le64(s)) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 31;
	}
	uint8_t tail[8] = {0};
	memcpy(tail, s, n);
	h = (h ^ le64(tail)) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 32);
}

int sh_export_history_claim(struct sh_export_history *h, const struct sh_listing *l,
			    int64_t now_ms, size_t *index)
{
	size_t i = h->hint;
	if (i >= h->n && h->pending) {
		int rc = read_records(h, i + 1);
		if (rc != 0)
			return rc;
	}
	if (h->unindexed_new && !h->indexed) {
		/* nothing was remembered: every listing is new, none is looked up; the index, should
		 * a look-up come, is built then */
		struct sh_export_version nv = {.type = (uint8_t)l->type, .value = l->value,
					       .created_ms = now_ms, .modified_ms = now_ms,
					       .fresh = true};
		if (!push(h, &nv, true))
			return SH_ENOMEM;
		h->unkeyed = true;
		i = h->n - 1;
	} else if (!(i < h->n && h->v[i].type == (uint8_t)l->type && !h->dropped[i] &&
		     strcmp(h->v[i].value, l->value) == 0)) {
		uint64_t key = sh_listing_key_hash(l);
		int rc = reindex(h);
		if (rc != 0)
			return rc;
		struct slot *x = find_slot(h, key, (uint8_t)l->type, l->value);
		if (x->i == SIZE_MAX) {
			struct sh_export_version nv = {.key = key, .type = (uint8_t)l->type,
						       .value = l->value, .created_ms = now_ms,
						       .modified_ms = now_ms, .fresh = true};
			if (!push(h, &nv, true))
				return SH_ENOMEM;
			x->key = key;
			x->i = h->n - 1;
		}
		i = x->i;
	}
	struct sh_export_version *v = &h->v[i];
	v->first_seen = l->first_seen;
	v->seen = true;
	h->hint = i + 1;
	*index = i;
	return 0;
}

struct sh_export_version *sh_export_history_update(struct sh_export_history *h, size_t index,
						   const void *body, size_t n, int64_t now_ms)
{
	struct sh_export_version *v = &h->v[index];
	uint64_t content = sh_export_content_hash(body, n);
	if (!v->fresh && ((v->legacy ? fnv1a(body, n) : content) != v->content || v->revoked_ms)) {
		v->modified_ms = now_ms > v->modified_ms ? now_ms : v->modified_ms + 1;
		v->revoked_ms = 0;
	}
	v->content = content;
	v->legacy = false;
	v->fresh = false;
	return v;
}

int sh_export_history_touch(struct sh_export_history *h, const struct sh_listing *l,
			    const void *body, size_t n, int64_t now_ms,
			    const struct sh_export_version **out)
{
	size_t i;
	int rc = sh_export_history_claim(h, l, now_ms, &i);
	if (rc == 0)
		*out = sh_export_history_update(h, i, body, n, now_ms);
	return rc;
}

int sh_export_history_withdrawn(struct sh_export_history *h, int64_t now_ms, int64_t keep_ms,
				int (*cb)(const struct sh_export_version *v, void *arg), void *arg)
{
	int rc = read_records(h, SIZE_MAX);
	if (rc != 0)
		return rc;
	/* a version not seen may be the repeat of one that was: the index drops repeats */
	size_t unseen = 0;
	for (size_t i = 0; i < h->n; i++)
		unseen += !h->v[i].seen;
	if (unseen)
		rc = reindex(h);
	for (size_t i = 0; i < h->n && rc == 0; i++) {
		struct sh_export_version *v = &h->v[i];
		if (v->seen || h->dropped[i])
			continue;
		if (!v->revoked_ms) {
			v->revoked_ms = now_ms;
			v->modified_ms = now_ms > v->modified_ms ? now_ms : v->modified_ms + 1;
		}
		if (now_ms - v->revoked_ms > keep_ms) {
			h->dropped[i] = true;
			continue;
		}
		rc = cb(v, arg);
	}
	return rc;
}

/* ---- the file ------------------------------------------------------------------------------- */
static size_t unescape(char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			i++;
			s[k++] = s[i] == 't' ? '\t' : s[i] == 'n' ? '\n' : s[i];
		} else {
			s[k++] = s[i];
		}
	}
	s[k] = '\0';
	return k;
}

/* A decimal integer filling all of s; by hand, as strtoll is a good part of loading a million
 * lines. */
static bool parse_i64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	s += neg;
	if (!*s)
		return false;
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (limit - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* 1 to 16 hexadecimal digits filling all of s. */
static bool parse_hex(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;
	for (; *s; s++, n++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;
		if (d < 0 || n == 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return n > 0;
}

/* The whole file, NUL-terminated, into *out (malloc'ed); a plain read, as the state of a STIX
 * export runs to tens of MB. */
static int read_file(const char *path, char **out, size_t *len, char *why, size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, why_len, "cannot read the state file %.400s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SH_EIO;
	}
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
	char *buf = malloc(cap);
	int rc = buf ? 0 : SH_ENOMEM;
	while (rc == 0) {
		if (n + 1 == cap) {
			char *nb = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				rc = SH_ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, why_len, "cannot read the state file %.400s: %s", path,
				 strerror(errno));
			rc = SH_EIO;
		}
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* The whole file into *data as read_file has it, NUL-terminated: a private mapping where the
 * NUL fits in its last page (a state file of a million versions is read in place, with no copy
 * and fewer page faults; the parsers' writes stay private), else read. */
static int map_file(const char *path, char **data, size_t *len, bool *mapped, char *why,
		    size_t why_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long page = sysconf(_SC_PAGESIZE);
	*mapped = false;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && page > 0 &&
	    st.st_size % page != 0 && (uint64_t)st.st_size < SIZE_MAX) {
		/* not MAP_POPULATE: on a writable private mapping it would copy every page */
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			/* the records are read later, as the export reaches them, while the disk is
			 * busy with the new output: read the file now, while the store is read (the
			 * state was written past the page cache, so none of it is cached) */
			posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
			close(fd);
			*data = m;
			*len = (size_t)st.st_size;
			(*data)[*len] = '\0'; /* the last page's zeros beyond the end */
			*mapped = true;
			return 0;
		}
	}
	if (fd >= 0)
		close(fd);
	return read_file(path, data, len, why, why_len);
}

/* The next line of [*p, end) with its tabs cut into fields (NUL-terminated, at most 8); false
 * at the end. Empty lines are skipped, as they always were. */
static bool next_line(char **p, char *end, char **f, size_t *nf)
{
	while (*p < end && **p == '\n')
		(*p)++;
	if (*p >= end)
		return false;
	char *ln = *p, *nl = memchr(ln, '\n', (size_t)(end - ln));
	if (!nl)
		nl = end;
	*nl = '\0';
	*p = nl + 1;
	*nf = 0;
	for (char *q = ln; *nf < 8;) {
		f[(*nf)++] = q;
		char *tab = memchr(q, '\t', (size_t)(nl - q));
		if (!tab)
			break;
		*tab = '\0';
		q = tab + 1;
	}
	return true;
}

/* The version lines of a version 1 or 2 file, data[0..len), into h; *line counts the lines
 * read (the bad one included). */
static int load_lines(struct sh_export_history *h, char *data, size_t len, bool legacy,
		      unsigned long *line)
{
	char *f[8];
	size_t nf;
	for (char *p = data; next_line(&p, data + len, f, &nf);) {
		++*line;
		int64_t type;
		struct sh_export_version v = {.legacy = legacy};
		if (nf != 7 || !parse_i64(f[0], &type) || type < SH_IND_IP || type > SH_IND_URL ||
		    !parse_i64(f[1], &v.created_ms) || !parse_i64(f[2], &v.modified_ms) ||
		    !parse_i64(f[4], &v.first_seen) || !parse_i64(f[5], &v.revoked_ms) ||
		    !parse_hex(f[3], &v.content) || !*f[6])
			return SH_EFORMAT;
		if (strchr(f[6], '\\'))
			unescape(f[6], strlen(f[6]));
		v.type = (uint8_t)type;
		v.value = f[6];
		if (!push(h, &v, false))
			return SH_ENOMEM;
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads pending records into h until it holds upto versions or none is left. A bad record
 * ends the reading for good: SH_EFORMAT, h->damaged its number. */
static int read_records(struct sh_export_history *h, size_t upto)
{
	if (h->damaged)
		return SH_EFORMAT;
	while (h->n < upto && h->pending_len) {
		const uint8_t *r = (const uint8_t *)h->pending;
		size_t len = h->pending_len;
		size_t vlen = len >= REC_SIZE ? le32(r + 4) : 0;
		if (vlen == 0 || r[0] < SH_IND_IP || r[0] > SH_IND_URL ||
		    (r[1] & ~(SH_DIGEST_UUID | SH_DIGEST_MD5)) || r[2] || r[3] ||
		    len - REC_SIZE <= vlen || r[REC_SIZE + vlen] != '\0' ||
		    memchr(r + REC_SIZE, '\0', vlen)) {
			/* nothing but records is in v while some are pending (a look-up reads them
			 * all before a new version goes in) */
			h->damaged = (unsigned long)h->n + 1;
			h->pending = NULL;
			h->pending_len = 0;
			return SH_EFORMAT;
		}
		struct sh_export_version v = {
			.type = r[0], .value = h->pending + REC_SIZE,
			.created_ms = (int64_t)le64(r + 8), .modified_ms = (int64_t)le64(r + 16),
			.content = le64(r + 24), .first_seen = (int64_t)le64(r + 32),
			.revoked_ms = (int64_t)le64(r + 40), .digests = r[1]};
		memcpy(v.uuid, r + 48, 16);
		memcpy(v.md5, r + 64, 16);
		if (!push(h, &v, false))
			return SH_ENOMEM;
		h->pending += REC_SIZE + vlen + 1;
		h->pending_len -= REC_SIZE + vlen + 1;
	}
	if (!h->pending_len)
		h->pending = NULL;
	return 0;
}

void sh_export_state_damaged(const char *path, const char *format, const char *where,
			     unsigned long n, char *why, size_t why_len)
{
	snprintf(why, why_len,
		 "the state file %.400s is damaged at %s %lu (not written by this version of sheriff "
		 "for --format %s?); move it away to start afresh, which also resets the shrink "
		 "check",
		 path, where, n, format);
}

int sh_export_state_load(const char *path, const char *format, long long *previous,
			 struct sh_export_history *h, char *why, size_t why_len)
{
	*previous = -1;
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	char *data;
	size_t len;
	bool mapped;
	int rc = map_file(path, &data, &len, &mapped, why, why_len);
	if (rc != 0)
		return rc;
	unsigned long line = 0;
	char *p = data, *f[8];
	size_t nf;
	if (next_line(&p, data + len, f, &nf)) {
		line = 1;
		int64_t x[2];
		int version = nf == 5 ? (int)strtol(f[1], NULL, 10) : 0;
		if (nf != 5 || strcmp(f[0], "sheriff-export-state") != 0 || version < 1 ||
		    version > 3 || strlen(f[1]) != 1 || strcmp(f[2], format) != 0 ||
		    !parse_i64(f[3], &x[0]) || x[0] < 0 || !parse_i64(f[4], &x[1]))
			rc = SH_EFORMAT;
		else
			*previous = x[0];
		/* a fresh h gets the versions, which then point into the file's text; version 3
		 * records are read as they are needed */
		size_t rest = p < data + len ? (size_t)(data + len - p) : 0;
		if (rc == 0 && h && h->n == 0 && !h->pending && version == 3 && rest) {
			h->pending = p;
			h->pending_len = rest;
			h->unkeyed = true;
			rc = grow(h, pending_max(h)) == 0 ? 0 : SH_ENOMEM;
		} else if (rc == 0 && h && h->n == 0 && !h->pending && version < 3) {
			rc = load_lines(h, p, rest, version == 1, &line);
		}
	}
	if (rc == SH_EFORMAT)
		sh_export_state_damaged(path, format, "line", line, why, why_len);
	if (rc == 0 && line == 0) {
		snprintf(why, why_len, "the state file %.400s is empty; move it away to start afresh",
			 path);
		rc = SH_EFORMAT;
	}
	if (h && (h->n || h->pending) && !h->file) {
		h->file = data;
		h->file_len = len;
		h->mapped = mapped;
	} else if (mapped) {
		munmap(data, len);
	} else {
		free(data);
	}
	return rc;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_record(const struct sh_export_version *v, struct sh_wbuf *w)
{
	size_t n = strlen(v->value);
	uint8_t r[REC_SIZE] = {v->type, v->digests};
	put_le(r + 4, n, 4);
	put_le(r + 8, (uint64_t)v->created_ms, 8);
	put_le(r + 16, (uint64_t)v->modified_ms, 8);
	put_le(r + 24, v->content, 8);
	put_le(r + 32, (uint64_t)v->first_seen, 8);
	put_le(r + 40, (uint64_t)v->revoked_ms, 8);
	memcpy(r + 48, v->uuid, 16);
	memcpy(r + 64, v->md5, 16);
	sh_wb_put(w, (const char *)r, sizeof(r));
	sh_wb_put(w, v->value, n + 1);
}

void sh_export_history_record(struct sh_export_history *h, size_t index, struct sh_wbuf *w)
{
	put_record(&h->v[index], w);
	h->v[index].saved = true;
}

struct sh_export_state {
	struct sh_replace r;
	struct sh_wbuf w;
	bool finished; /* complete and durable, not yet in place */
};

int sh_export_state_begin(const char *path, const char *format, unsigned long entries,
			  int64_t at, bool versions, struct sh_export_state **out)
{
	*out = NULL;
	struct sh_export_state *s = calloc(1, sizeof(*s));
	if (!s)
		return SH_ENOMEM;
	char tmpl[4200], spare[4200];
	int n = snprintf(tmpl, sizeof(tmpl), "%s.XXXXXX", path);
	int m = snprintf(spare, sizeof(spare), "%s.spare", path);
	int rc = n < 0 || (size_t)n >= sizeof(tmpl) || m < 0 || (size_t)m >= sizeof(spare)
			 ? SH_ETOOLONG
			 : sh_replace_open(&s->r, path, tmpl, versions ? spare : NULL, 0600);
	if (rc == 0) {
		rc = sh_wbuf_init_direct(&s->w, s->r.fd);
		if (rc != 0)
			sh_replace_abort(&s->r);
	}
	if (rc != 0) {
		free(s);
		return rc;
	}
	/* without versions (formats that keep none) the file is as version 2 wrote it */
	sh_wb_str(&s->w, versions ? "sheriff-export-state\t3\t" : "sheriff-export-state\t2\t");
	sh_wb_str(&s->w, format);
	sh_wb_char(&s->w, '\t');
	sh_wb_u64(&s->w, entries);
	sh_wb_char(&s->w, '\t');
	sh_wb_i64(&s->w, at);
	sh_wb_char(&s->w, '\n');
	*out = s;
	return 0;
}

struct sh_wbuf *sh_export_state_records(struct sh_export_state *s)
{
	return &s->w;
}

void sh_export_state_abort(struct sh_export_state *s)
{
	if (!s)
		return;
	sh_wbuf_fini(&s->w);
	sh_replace_abort(&s->r);
	free(s);
}

int sh_export_state_finish(struct sh_export_state *s, struct sh_export_history *h)
{
	if (s->finished)
		return 0;
	int rc = h ? read_records(h, SIZE_MAX) : 0;
	for (size_t i = 0; rc == 0 && h && i < h->n; i++) {
		if (!h->dropped[i] && !h->v[i].saved)
			put_record(&h->v[i], &s->w);
		h->v[i].saved = false;
	}
	if (rc == 0)
		rc = sh_wbuf_flush(&s->w) == 0 ? sh_replace_sync(&s->r, s->w.bytes) : SH_EIO;
	s->finished = rc == 0;
	return rc;
}

int sh_export_state_publish(struct sh_export_state *s)
{
	uint64_t len = s->w.bytes;
	sh_wbuf_fini(&s->w);
	int rc = SH_EINVAL, replaced = -1;
	if (s->finished)
		rc = sh_replace_commit(&s->r, len, &replaced);
	else
		sh_replace_abort(&s->r);
	/* what lost its last name here: a small state without versions, or a spare that
	 * something else held */
	if (replaced >= 0)
		close(replaced);
	free(s);
	return rc;
}

int sh_export_state_end(struct sh_export_state *s, struct sh_export_history *h)
{
	int rc = sh_export_state_finish(s, h);
	if (rc != 0) {
		sh_export_state_abort(s);
		return rc;
	}
	return sh_export_state_publish(s);
}

int sh_export_state_save(const char *path, const char *format, unsigned long entries, int64_t at,
			 struct sh_export_history *h)
{
	struct sh_export_state *s;
	int rc = sh_export_state_begin(path, format, entries, at, h != NULL, &s);
	return rc != 0 ? rc : sh_export_state_end(s, h);
}
