/* What an output remembers between exports: the entry count of its last publish (for the
 * guard's shrink check) and, for STIX and MISP, each published indicator's version (created,
 * modified, content hash, when it was withdrawn), so that ids stay stable, `modified` moves
 * only when the content changed, and withdrawn indicators are published as revoked.
 *
 * The state file is text: a header line "sheriff-export-state 2 FORMAT ENTRIES AT" (tabs),
 * then one line per version: type, created_ms, modified_ms, content hash (hex), first_seen,
 * revoked_ms, value (\t, \n and \\ escaped). Version 1 files hashed the content with
 * FNV-1a, a byte at a time; they are still read, and their hashes compared as FNV-1a, so an
 * upgrade does not make every indicator look changed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/history.h"

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
	/* where the next look-up probably is: exports walk the listings in the order the
	 * previous export saved them, so most look-ups are the version after the last one */
	size_t hint;
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

/* Makes the index hold every version with room for one more. A repeated line of a damaged
 * state file is dropped: the first one counts. */
static int reindex(struct sh_export_history *h)
{
	if (h->indexed && (h->n + 1) * 2 <= h->index_cap)
		return 0;
	size_t cap = h->index_cap ? h->index_cap : 1024;
	while (cap < (h->n + 1) * 2) {
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

/* Appends a version (value copied) without indexing it; returns it or NULL. */
static struct sh_export_version *push(struct sh_export_history *h,
				      const struct sh_export_version *v)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		if (cap > SIZE_MAX / sizeof(*h->v))
			return NULL;
		struct sh_export_version *nv = realloc(h->v, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		h->v = nv;
		bool *nd = realloc(h->dropped, cap * sizeof(*nd));
		if (!nd)
			return NULL;
		h->dropped = nd;
		h->cap = cap;
	}
	char *value = sh_arena_strndup(&h->arena, v->value, strlen(v->value));
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

int sh_export_history_touch(struct sh_export_history *h, const struct sh_listing *l,
			    const void *body, size_t n, int64_t now_ms,
			    const struct sh_export_version **out)
{
	uint64_t content = sh_export_content_hash(body, n);
	uint64_t key = sh_listing_key_hash(l);
	struct sh_export_version *v = NULL;
	bool fresh = false;
	if (h->hint < h->n && h->v[h->hint].key == key && h->v[h->hint].type == (uint8_t)l->type &&
	    !h->dropped[h->hint] && strcmp(h->v[h->hint].value, l->value) == 0) {
		v = &h->v[h->hint];
	} else {
		int rc = reindex(h);
		if (rc != 0)
			return rc;
		struct slot *x = find_slot(h, key, (uint8_t)l->type, l->value);
		if (x->i == SIZE_MAX) {
			struct sh_export_version nv = {.key = key, .type = (uint8_t)l->type,
						       .value = l->value, .created_ms = now_ms,
						       .modified_ms = now_ms, .content = content,
						       .first_seen = l->first_seen};
			if (!push(h, &nv))
				return SH_ENOMEM;
			x->key = key;
			x->i = h->n - 1;
			fresh = true;
		}
		v = &h->v[x->i];
	}
	if (!fresh && ((v->legacy ? fnv1a(body, n) : content) != v->content || v->revoked_ms)) {
		v->modified_ms = now_ms > v->modified_ms ? now_ms : v->modified_ms + 1;
		v->revoked_ms = 0;
	}
	v->content = content;
	v->legacy = false;
	v->first_seen = l->first_seen;
	v->seen = true;
	h->hint = (size_t)(v - h->v) + 1;
	*out = v;
	return 0;
}

int sh_export_history_withdrawn(struct sh_export_history *h, int64_t now_ms, int64_t keep_ms,
				int (*cb)(const struct sh_export_version *v, void *arg), void *arg)
{
	/* a version not seen may be the repeat of one that was: the index drops repeats */
	size_t unseen = 0;
	for (size_t i = 0; i < h->n; i++)
		unseen += !h->v[i].seen;
	if (unseen) {
		int rc = reindex(h);
		if (rc != 0)
			return rc;
	}
	for (size_t i = 0; i < h->n; i++) {
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
		int rc = cb(v, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
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

int sh_export_state_load(const char *path, const char *format, long long *previous,
			 struct sh_export_history *h, char *why, size_t why_len)
{
	*previous = -1;
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	char *data;
	size_t len;
	int rc = read_file(path, &data, &len, why, why_len);
	if (rc != 0)
		return rc;
	unsigned long line = 0;
	bool legacy = false;
	for (char *ln = data, *end = data + len; ln < end && rc == 0;) {
		char *nl = memchr(ln, '\n', (size_t)(end - ln));
		if (!nl)
			nl = end;
		*nl = '\0';
		char *next = nl + 1;
		if (nl == ln) { /* empty lines are skipped, as they always were */
			ln = next;
			continue;
		}
		line++;
		char *f[8];
		size_t nf = 0;
		for (char *p = ln; nf < 8;) {
			f[nf++] = p;
			char *tab = memchr(p, '\t', (size_t)(nl - p));
			if (!tab)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		ln = next;
		int64_t x[6];
		if (line == 1) {
			legacy = nf == 5 && strcmp(f[1], "1") == 0;
			if (nf != 5 || strcmp(f[0], "sheriff-export-state") != 0 ||
			    (!legacy && strcmp(f[1], "2") != 0) ||
			    strcmp(f[2], format) != 0 || !parse_i64(f[3], &x[0]) || x[0] < 0 ||
			    !parse_i64(f[4], &x[1]))
				rc = SH_EFORMAT;
			else
				*previous = x[0];
			continue;
		}
		if (!h)
			break;
		struct sh_export_version v = {0};
		if (nf != 7 || !parse_i64(f[0], &x[0]) || x[0] < SH_IND_IP || x[0] > SH_IND_URL ||
		    !parse_i64(f[1], &v.created_ms) || !parse_i64(f[2], &v.modified_ms) ||
		    !parse_i64(f[4], &v.first_seen) || !parse_i64(f[5], &v.revoked_ms)) {
			rc = SH_EFORMAT;
			break;
		}
		if (!parse_hex(f[3], &v.content) || !*f[6]) {
			rc = SH_EFORMAT;
			break;
		}
		if (strchr(f[6], '\\'))
			unescape(f[6], strlen(f[6]));
		struct sh_listing l = {.type = (enum sh_ind_type)x[0], .value = f[6]};
		v.type = (uint8_t)x[0];
		v.value = f[6];
		v.legacy = legacy;
		v.key = sh_listing_key_hash(&l);
		if (!push(h, &v))
			rc = SH_ENOMEM;
	}
	if (rc == SH_EFORMAT)
		snprintf(why, why_len,
			 "the state file %.400s is damaged at line %lu (not written by this version of "
			 "sheriff for --format %s?); move it away to start afresh, which also resets "
			 "the shrink check",
			 path, line, format);
	if (rc == 0 && line == 0) {
		snprintf(why, why_len, "the state file %.400s is empty; move it away to start afresh",
			 path);
		rc = SH_EFORMAT;
	}
	free(data);
	return rc;
}

static void put_escaped(struct sh_wbuf *w, const char *s)
{
	for (const char *run = s;; s++) {
		if (*s && *s != '\t' && *s != '\n' && *s != '\\')
			continue;
		sh_wb_put(w, run, (size_t)(s - run));
		if (!*s)
			return;
		sh_wb_put(w, *s == '\t' ? "\\t" : *s == '\n' ? "\\n" : "\\\\", 2);
		run = s + 1;
	}
}

int sh_export_state_save(const char *path, const char *format, unsigned long entries, int64_t at,
			 const struct sh_export_history *h)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[4200];
	int n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return SH_ETOOLONG;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return SH_EIO;
	struct sh_wbuf w;
	int rc = sh_wbuf_init(&w, fd);
	if (rc != 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	/* by hand rather than fprintf: a million lines */
	sh_wb_str(&w, "sheriff-export-state\t2\t");
	sh_wb_str(&w, format);
	sh_wb_char(&w, '\t');
	sh_wb_u64(&w, entries);
	sh_wb_char(&w, '\t');
	sh_wb_i64(&w, at);
	sh_wb_char(&w, '\n');
	for (size_t i = 0; h && i < h->n; i++) {
		const struct sh_export_version *v = &h->v[i];
		if (h->dropped[i])
			continue;
		char c[17];
		for (int k = 0; k < 16; k++)
			c[k] = hex[(v->content >> (60 - 4 * k)) & 15];
		c[16] = '\t';
		sh_wb_u64(&w, v->type);
		sh_wb_char(&w, '\t');
		sh_wb_i64(&w, v->created_ms);
		sh_wb_char(&w, '\t');
		sh_wb_i64(&w, v->modified_ms);
		sh_wb_char(&w, '\t');
		sh_wb_put(&w, c, sizeof(c));
		sh_wb_i64(&w, v->first_seen);
		sh_wb_char(&w, '\t');
		sh_wb_i64(&w, v->revoked_ms);
		sh_wb_char(&w, '\t');
		put_escaped(&w, v->value);
		sh_wb_char(&w, '\n');
	}
	rc = sh_wbuf_flush(&w) == 0 && fsync(fd) == 0 ? 0 : SH_EIO;
	sh_wbuf_fini(&w);
	if (close(fd) != 0)
		rc = SH_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = SH_EIO;
	if (rc != 0)
		unlink(tmp);
	return rc;
}
