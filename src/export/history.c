/* What an output remembers between exports: the entry count of its last publish (for the
 * guard's shrink check) and, for STIX and MISP, each published indicator's version (created,
 * modified, content hash, when it was withdrawn), so that ids stay stable, `modified` moves
 * only when the content changed, and withdrawn indicators are published as revoked.
 *
 * The state file is text: a header line "sheriff-export-state 1 FORMAT ENTRIES AT" (tabs),
 * then one line per version: type, created_ms, modified_ms, content hash (hex), first_seen,
 * revoked_ms, value (\t, \n and \\ escaped). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/loader.h"
#include "export/history.h"

struct sh_export_history {
	struct sh_export_version *v;
	size_t n, cap;
	bool *dropped;
	size_t *index; /* open addressing over v by key; SIZE_MAX empty */
	size_t index_cap;
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

static size_t *find_slot(const struct sh_export_history *h, uint64_t key, uint8_t type,
			 const char *value)
{
	size_t mask = h->index_cap - 1;
	for (size_t i = (size_t)(key ^ (key >> 29)) & mask;; i = (i + 1) & mask) {
		size_t k = h->index[i];
		if (k == SIZE_MAX)
			return &h->index[i];
		const struct sh_export_version *v = &h->v[k];
		if (v->key == key && v->type == type && strcmp(v->value, value) == 0)
			return &h->index[i];
	}
}

static int reindex(struct sh_export_history *h)
{
	size_t cap = 1024;
	while (cap < (h->n + 1) * 2) {
		if (cap > SIZE_MAX / 4)
			return SH_ENOMEM;
		cap *= 2;
	}
	if (cap <= h->index_cap)
		return 0;
	size_t *idx = malloc(cap * sizeof(*idx));
	if (!idx)
		return SH_ENOMEM;
	memset(idx, 0xff, cap * sizeof(*idx));
	free(h->index);
	h->index = idx;
	h->index_cap = cap;
	for (size_t i = 0; i < h->n; i++)
		*find_slot(h, h->v[i].key, h->v[i].type, h->v[i].value) = i;
	return 0;
}

/* Appends a version (value copied); returns it or NULL. */
static struct sh_export_version *append(struct sh_export_history *h,
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
	if (reindex(h) != 0)
		return NULL;
	char *value = sh_arena_strndup(&h->arena, v->value, strlen(v->value));
	if (!value)
		return NULL;
	size_t *slot = find_slot(h, v->key, v->type, value);
	if (*slot != SIZE_MAX)
		return &h->v[*slot]; /* a duplicate line in the state file: keep the first */
	struct sh_export_version *x = &h->v[h->n];
	*x = *v;
	x->value = value;
	h->dropped[h->n] = false;
	*slot = h->n++;
	return x;
}

int sh_export_history_touch(struct sh_export_history *h, const struct sh_listing *l,
			    uint64_t content, int64_t now_ms, const struct sh_export_version **out)
{
	uint64_t key = sh_listing_key_hash(l);
	struct sh_export_version *v = NULL;
	if (h->index_cap) {
		size_t *slot = find_slot(h, key, (uint8_t)l->type, l->value);
		if (*slot != SIZE_MAX)
			v = &h->v[*slot];
	}
	if (!v) {
		struct sh_export_version nv = {.key = key, .type = (uint8_t)l->type, .value = l->value,
					       .created_ms = now_ms, .modified_ms = now_ms,
					       .content = content, .first_seen = l->first_seen};
		v = append(h, &nv);
		if (!v)
			return SH_ENOMEM;
	} else if (v->content != content || v->revoked_ms) {
		v->modified_ms = now_ms > v->modified_ms ? now_ms : v->modified_ms + 1;
		v->content = content;
		v->revoked_ms = 0;
	}
	v->first_seen = l->first_seen;
	v->seen = true;
	*out = v;
	return 0;
}

int sh_export_history_withdrawn(struct sh_export_history *h, int64_t now_ms, int64_t keep_ms,
				int (*cb)(const struct sh_export_version *v, void *arg), void *arg)
{
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

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

int sh_export_state_load(const char *path, const char *format, long long *previous,
			 struct sh_export_history *h, char *why, size_t why_len)
{
	*previous = -1;
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	struct sh_blob b;
	int rc = sh_blob_load(path, &b);
	if (rc != 0) {
		snprintf(why, why_len, "cannot read the state file %.400s: %s", path, b.errmsg);
		return rc;
	}
	unsigned long line = 0;
	char *save = NULL;
	rc = 0;
	for (char *ln = strtok_r(b.data, "\n", &save); ln && rc == 0; ln = strtok_r(NULL, "\n", &save)) {
		line++;
		char *f[8];
		size_t nf = 0;
		for (char *p = ln; nf < 8;) {
			f[nf++] = p;
			char *tab = strchr(p, '\t');
			if (!tab)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		int64_t x[6];
		if (line == 1) {
			if (nf != 5 || strcmp(f[0], "sheriff-export-state") != 0 || strcmp(f[1], "1") != 0 ||
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
		char *end;
		v.content = strtoull(f[3], &end, 16);
		if (*end || !*f[6]) {
			rc = SH_EFORMAT;
			break;
		}
		unescape(f[6], strlen(f[6]));
		struct sh_listing l = {.type = (enum sh_ind_type)x[0], .value = f[6]};
		v.type = (uint8_t)x[0];
		v.value = f[6];
		v.key = sh_listing_key_hash(&l);
		if (!append(h, &v))
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
	sh_blob_fini(&b);
	return rc;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			fputs("\\t", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\\')
			fputs("\\\\", f);
		else
			fputc(*s, f);
	}
}

int sh_export_state_save(const char *path, const char *format, unsigned long entries, int64_t at,
			 const struct sh_export_history *h)
{
	char tmp[4200];
	int n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return SH_ETOOLONG;
	int fd = mkstemp(tmp);
	if (fd < 0)
		return SH_EIO;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return SH_EIO;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	fprintf(f, "sheriff-export-state\t1\t%s\t%lu\t%" PRId64 "\n", format, entries, at);
	for (size_t i = 0; h && i < h->n; i++) {
		const struct sh_export_version *v = &h->v[i];
		if (h->dropped[i])
			continue;
		fprintf(f, "%u\t%" PRId64 "\t%" PRId64 "\t%016" PRIx64 "\t%" PRId64 "\t%" PRId64 "\t",
			v->type, v->created_ms, v->modified_ms, v->content, v->first_seen, v->revoked_ms);
		put_escaped(f, v->value);
		fputc('\n', f);
	}
	int rc = fflush(f) == 0 && fsync(fd) == 0 ? 0 : SH_EIO;
	if (fclose(f) != 0)
		rc = SH_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = SH_EIO;
	if (rc != 0)
		unlink(tmp);
	return rc;
}
