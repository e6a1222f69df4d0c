/* Export registry and driver: the publish guard, atomic replacement of output files, and the
 * small state file that remembers the last publish of each output.
 *
 * Atomicity: every file is written to a temporary file in its own directory, fsync'ed, then
 * renamed over the old one and the directory fsync'ed, so a consumer reading at any moment
 * sees the old file or the new one, never half of either, also across a crash. For
 * directory outputs each file is replaced that way and the index (MISP's manifest) last. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"
#include "export/history.h"

const struct sh_export_format *const sh_export_formats[] = {
	&sh_export_rbldnsd, &sh_export_rpz,	 &sh_export_zone, &sh_export_drop,
	&sh_export_drop_json, &sh_export_nft,	 &sh_export_ipset, &sh_export_suricata,
	&sh_export_zeek,    &sh_export_stix,	 &sh_export_misp, &sh_export_csv,
	&sh_export_json,    NULL,
};

const struct sh_export_format *sh_export_format_find(const char *name)
{
	for (size_t i = 0; name && sh_export_formats[i]; i++)
		if (strcmp(sh_export_formats[i]->name, name) == 0)
			return sh_export_formats[i];
	return NULL;
}

static const char *const kind_names[] = {"default", "ip4set", "ip4trie", "ip6trie",
					 "dnset",   "ip4",    "ip6",     "domain"};

int sh_export_kind_parse(const char *s, enum sh_export_kind *out)
{
	for (size_t i = 1; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum sh_export_kind)i;
			return 0;
		}
	}
	return SH_EINVAL;
}

const char *sh_export_kind_name(enum sh_export_kind k)
{
	return (size_t)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

uint32_t sh_export_code(const struct sh_export_ctx *c, const struct sh_listing *l)
{
	const struct sh_policy_category *cat = &c->policy->cats[l->cat];
	return l->type == SH_IND_DOMAIN || l->type == SH_IND_URL ? cat->domain_code : cat->ip_code;
}

size_t sh_export_evidence(const struct sh_export_ctx *c, const struct sh_listing *l,
			  const char *bad, size_t max, char *buf)
{
	char tmp[1024];
	size_t n = sh_listing_evidence(c->set, l, tmp, sizeof(tmp));
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (max > 511)
		max = 511;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)tmp[i];
		buf[i] = (ch < 0x20 || ch > 0x7e) ? '_' : (char)ch;
	}
	for (const char *b = bad; b && *b; b++)
		for (char *x = memchr(buf, *b, n); x; x = memchr(x + 1, *b, n - (size_t)(x + 1 - buf)))
			*x = '_';
	buf[n] = '\0';
	return n;
}

/* ---- formatting every listing in parallel --------------------------------------------------- */
/* Listings per chunk: a few hundred KB of text. */
#define EACH_CHUNK 8192

struct each_run {
	const struct sh_export_ctx *c;
	bool (*wants)(const struct sh_export_ctx *c, const struct sh_listing *l);
	void (*put)(const struct sh_export_ctx *c, const struct sh_listing *l, struct sh_wbuf *w);
};

static int each_chunk(void *arg, size_t k, struct sh_export_chunk *out)
{
	const struct each_run *r = arg;
	const struct sh_listing_set *set = r->c->set;
	size_t end = set->n - k * EACH_CHUNK > EACH_CHUNK ? (k + 1) * EACH_CHUNK : set->n;
	for (size_t i = k * EACH_CHUNK; i < end; i++) {
		if (r->wants(r->c, &set->v[i])) {
			r->put(r->c, &set->v[i], &out->text);
			out->stamp++;
		}
	}
	return 0;
}

int sh_export_each(const struct sh_export_ctx *c, struct sh_wbuf *w,
		   bool (*wants)(const struct sh_export_ctx *c, const struct sh_listing *l),
		   void (*put)(const struct sh_export_ctx *c, const struct sh_listing *l,
			       struct sh_wbuf *w),
		   unsigned long *n)
{
	struct each_run r = {c, wants, put};
	struct sh_export_par *par;
	int rc = sh_export_par_start((c->set->n + EACH_CHUNK - 1) / EACH_CHUNK, each_chunk, &r, &par);
	if (rc != 0)
		return rc;
	unsigned long count = 0;
	for (struct sh_export_chunk *k; (k = sh_export_par_next(par)) != NULL;) {
		sh_wb_put(w, k->text.buf, k->text.len);
		count += (unsigned long)k->stamp;
	}
	if (n)
		*n = count;
	return sh_export_par_end(par);
}

/* ---- replaced files ----------------------------------------------------------------------- */
/* Design: dropping the last link of a file of hundreds of MB frees (and on a file system
 * mounted with discard, discards) all its blocks before rename(2) returns: 0.13 s for a STIX
 * bundle of 600 MB here. A commit therefore holds the file it replaces open across the rename,
 * which then returns at once, and hands it to a thread of its own that closes it while the
 * export goes on with its next file or its state; the run waits for that thread at its end. */
struct reaper {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int *fds;
	size_t n, cap;
	bool quit;
};

static void *reaper_main(void *arg)
{
	struct reaper *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->n == 0 && !r->quit)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->n == 0)
			break;
		int fd = r->fds[--r->n];
		pthread_mutex_unlock(&r->mu);
		close(fd);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Closes fd, in the reaper's thread (started on first use) where there is one. */
static void reaper_close(struct reaper **rp, int fd)
{
	struct reaper *r = *rp;
	if (!r && (r = calloc(1, sizeof(*r))) != NULL) {
		pthread_mutex_init(&r->mu, NULL);
		pthread_cond_init(&r->cv, NULL);
		if (pthread_create(&r->tid, NULL, reaper_main, r) != 0) {
			pthread_mutex_destroy(&r->mu);
			pthread_cond_destroy(&r->cv);
			free(r);
			r = NULL;
		}
		*rp = r;
	}
	if (!r) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&r->mu);
	bool queued = sh_array_grow((void **)&r->fds, &r->cap, r->n + 1, sizeof(*r->fds)) == 0;
	if (queued) {
		r->fds[r->n++] = fd;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	if (!queued)
		close(fd);
}

/* Waits until every file handed over is closed. */
static void reaper_end(struct reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->tid, NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->fds);
	free(r);
}

/* ---- targets ------------------------------------------------------------------------------ */
enum target_kind { T_STDOUT, T_FILE, T_DIR };

/* Files a directory target may have open at once (MISP: an event file and hashes.csv). */
#define TARGET_FILES 2

struct target_file {
	struct sh_wbuf w;
	bool open;
	struct sh_replace r; /* r.fd is stdout's for a stdout target */
};

struct sh_export_target {
	enum target_kind kind;
	const char *path;
	struct target_file f[TARGET_FILES];
	char why[512];
	struct reaper *reaper; /* closes the files commits replaced */
	/* the new state file and the versions it records (NULL: no state with versions) */
	struct sh_export_state *state;
	struct sh_export_history *history;
	const char *state_path;
};

/* fsync of the directory holding path, so the rename itself survives a crash */
static void sync_dir_of(const char *path)
{
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The file that will replace final, readable like a normally created file; the file it
 * replaces stays beside it as the spare (replace.c). */
static int open_temp(struct sh_export_target *t, struct target_file *f, const char *final)
{
	char dir[4096], base[4096], tmpl[4096], spare[4096];
	snprintf(dir, sizeof(dir), "%s", final);
	snprintf(base, sizeof(base), "%s", final);
	const char *d = dirname(dir), *b = basename(base);
	int n = snprintf(tmpl, sizeof(tmpl), "%s/.%s.XXXXXX", d, b);
	int m = snprintf(spare, sizeof(spare), "%s/.%s.spare", d, b);
	if (n < 0 || (size_t)n >= sizeof(tmpl) || m < 0 || (size_t)m >= sizeof(spare))
		return SH_ETOOLONG;
	mode_t um = umask(0);
	umask(um);
	int rc = sh_replace_open(&f->r, final, tmpl, spare, 0666 & ~um);
	if (rc == SH_EIO)
		snprintf(t->why, sizeof(t->why), "cannot create a file beside %.400s: %s", final,
			 strerror(errno));
	return rc;
}

int sh_export_open(struct sh_export_target *t, const char *name, struct sh_wbuf **out)
{
	/* one file at a time but in a directory */
	size_t slots = t->kind == T_DIR ? TARGET_FILES : 1, i = 0;
	while (i < slots && t->f[i].open)
		i++;
	if (i == slots)
		return SH_EINVAL;
	struct target_file *f = &t->f[i];
	int rc = 0;
	if (t->kind == T_STDOUT) {
		f->r.fd = STDOUT_FILENO;
	} else if (t->kind == T_FILE) {
		rc = open_temp(t, f, t->path);
	} else {
		char final[4096];
		if (strchr(name, '/') || (size_t)snprintf(final, sizeof(final), "%s/%s", t->path, name) >=
						 sizeof(final))
			return SH_EINVAL;
		rc = open_temp(t, f, final);
	}
	if (rc == 0)
		rc = t->kind == T_STDOUT ? sh_wbuf_init(&f->w, f->r.fd)
					 : sh_wbuf_init_direct(&f->w, f->r.fd);
	if (rc != 0) {
		if (t->kind != T_STDOUT)
			sh_replace_abort(&f->r);
		return rc;
	}
	f->open = true;
	*out = &f->w;
	return 0;
}

static void discard(struct sh_export_target *t)
{
	for (size_t i = 0; i < TARGET_FILES; i++) {
		struct target_file *f = &t->f[i];
		if (!f->open)
			continue;
		sh_wbuf_fini(&f->w);
		if (t->kind != T_STDOUT)
			sh_replace_abort(&f->r);
		f->open = false;
	}
}

int sh_export_commit(struct sh_export_target *t, struct sh_wbuf *w)
{
	struct target_file *f = NULL;
	for (size_t i = 0; i < TARGET_FILES; i++)
		if (t->f[i].open && w == &t->f[i].w)
			f = &t->f[i];
	if (!f)
		return SH_EINVAL;
	int rc = sh_wbuf_flush(w);
	if (t->kind == T_STDOUT) {
		sh_wbuf_fini(w);
		f->open = false;
		return rc;
	}
	int replaced = -1;
	if (rc != 0)
		sh_replace_abort(&f->r);
	else
		rc = sh_replace_commit(&f->r, w->bytes, &replaced);
	if (rc != 0)
		snprintf(t->why, sizeof(t->why), "cannot write %.400s: %s", f->r.final,
			 strerror(errno));
	else
		sync_dir_of(f->r.final);
	if (replaced >= 0)
		reaper_close(&t->reaper, replaced);
	sh_wbuf_fini(w);
	f->open = false;
	return rc;
}

int sh_export_versions_final(struct sh_export_target *t)
{
	if (!t->state)
		return 0;
	int rc = sh_export_state_finish(t->state, t->history);
	if (rc != 0)
		snprintf(t->why, sizeof(t->why), "cannot write the state file %.400s", t->state_path);
	return rc;
}

int sh_export_prune(struct sh_export_target *t, bool (*stale)(const char *name, void *arg),
		    void *arg)
{
	if (t->kind != T_DIR)
		return 0;
	DIR *d = opendir(t->path);
	if (!d) {
		snprintf(t->why, sizeof(t->why), "cannot read %.400s: %s", t->path, strerror(errno));
		return SH_EIO;
	}
	int rc = 0, fd = dirfd(d);
	bool removed = false;
	for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.' || !stale(e->d_name, arg))
			continue;
		if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT) {
			snprintf(t->why, sizeof(t->why), "cannot remove %.400s/%.60s: %s", t->path,
				 e->d_name, strerror(errno));
			rc = SH_EIO;
		}
		char spare[512];
		if ((size_t)snprintf(spare, sizeof(spare), ".%s.spare", e->d_name) < sizeof(spare))
			unlinkat(fd, spare, 0);
		removed = true;
	}
	if (removed)
		fsync(fd);
	closedir(d);
	return rc;
}

/* ---- state ---------------------------------------------------------------------------------- */
static int state_path(const struct sh_export_format *f, const struct sh_export_opts *o,
		      char *buf, size_t len)
{
	char copy[4096], base[4096];
	snprintf(copy, sizeof(copy), "%s", o->out);
	snprintf(base, sizeof(base), "%s", o->out);
	/* strip trailing slashes of a directory output */
	size_t n = strlen(base);
	while (n > 1 && base[n - 1] == '/')
		base[--n] = '\0';
	const char *b = basename(base);
	int r;
	if (o->state_dir)
		r = snprintf(buf, len, "%s/%s.%s.state", o->state_dir, b, f->name);
	else if (f->dir)
		r = snprintf(buf, len, "%s/.sheriff-%s.state", o->out, f->name);
	else
		r = snprintf(buf, len, "%s/.%s.%s.state", dirname(copy), b, f->name);
	return r < 0 || (size_t)r >= len ? SH_ETOOLONG : 0;
}

/* ---- reading the state ahead ---------------------------------------------------------------- */
struct sh_export_prefetch {
	const struct sh_export_format *f;
	pthread_t tid;
	bool running;
	char path[4096];
	struct sh_export_history *hist; /* until the run takes it */
	/* closes the files the run replaced, while what follows the run (freeing the listings)
	 * goes on; sh_export_prefetch_free waits for it */
	struct reaper *reaper;
	long long previous;
	int rc;
	char why[1024];
};

/* Reads the state file: the history (for all formats: sh_export_run wants one) and the last
 * publish. */
static void *prefetch_main(void *arg)
{
	struct sh_export_prefetch *p = arg;
	p->rc = sh_export_history_new(&p->hist);
	if (p->rc == 0)
		p->rc = sh_export_state_load(p->path, p->f->name, &p->previous,
					     p->f->history ? p->hist : NULL, p->why, sizeof(p->why));
	return NULL;
}

int sh_export_prefetch_start(const struct sh_export_format *f, const struct sh_export_opts *o,
			     struct sh_export_prefetch **out)
{
	*out = NULL;
	if (!o->out)
		return 0;
	struct sh_export_prefetch *p = calloc(1, sizeof(*p));
	if (!p)
		return SH_ENOMEM;
	p->f = f;
	p->previous = -1;
	int rc = state_path(f, o, p->path, sizeof(p->path));
	if (rc != 0) {
		free(p);
		return rc;
	}
	p->running = pthread_create(&p->tid, NULL, prefetch_main, p) == 0;
	if (!p->running)
		prefetch_main(p);
	*out = p;
	return 0;
}

static void prefetch_wait(struct sh_export_prefetch *p)
{
	if (p->running)
		pthread_join(p->tid, NULL);
	p->running = false;
}

void sh_export_prefetch_free(struct sh_export_prefetch *p)
{
	if (!p)
		return;
	prefetch_wait(p);
	sh_export_history_free(p->hist);
	reaper_end(p->reaper);
	free(p);
}

/* ---- running -------------------------------------------------------------------------------- */
static void warn(const struct sh_export_opts *o, const char *msg)
{
	if (o->warn)
		o->warn(o->arg, msg);
}

int sh_export_run(const struct sh_export_format *f, struct sh_export_ctx *c,
		  const struct sh_export_opts *o, struct sh_export_result *res)
{
	memset(res, 0, sizeof(*res));
	res->previous = -1;
	const struct sh_policy *p = c->policy;
	unsigned long problems = 0;
	const char *first_problem = NULL;
	for (size_t i = 0; i < c->set->n; i++) {
		const struct sh_listing *l = &c->set->v[i];
		if (!f->wants(c, l) || (l->flags & SH_LF_TEST))
			continue;
		res->entries++;
		if (l->problem) {
			if (problems < 20) {
				char msg[600];
				snprintf(msg, sizeof(msg), "guard: %s", l->problem);
				warn(o, msg);
			}
			if (!first_problem)
				first_problem = l->problem;
			problems++;
		}
	}
	if (problems) {
		snprintf(res->why, sizeof(res->why),
			 "%lu entr%s the guard refuses, e.g. %s", problems, problems == 1 ? "y" : "ies",
			 first_problem);
		if (!o->force) {
			res->refused = true;
			return SH_ECONFLICT;
		}
	}

	struct sh_export_history *hist = NULL;
	int rc = 0;
	if (o->out && o->prefetch) {
		struct sh_export_prefetch *pf = o->prefetch;
		prefetch_wait(pf);
		snprintf(res->state_path, sizeof(res->state_path), "%s", pf->path);
		res->previous = pf->previous;
		rc = pf->rc;
		if (rc != 0)
			snprintf(res->why, sizeof(res->why), "%s", pf->why);
		hist = pf->hist;
		pf->hist = NULL;
	} else if (o->out) {
		rc = state_path(f, o, res->state_path, sizeof(res->state_path));
		if (rc == 0)
			rc = sh_export_history_new(&hist);
		if (rc == 0)
			rc = sh_export_state_load(res->state_path, f->name, &res->previous,
						  f->history ? hist : NULL, res->why, sizeof(res->why));
	}
	if (o->out) {
		if (rc != 0) {
			sh_export_history_free(hist);
			return rc;
		}
		if (res->previous >= 0 && (unsigned long long)res->previous >= p->shrink_min_entries &&
		    (double)res->entries < (double)res->previous * (1.0 - p->max_shrink)) {
			snprintf(res->why, sizeof(res->why),
				 "the list shrank from %lld to %lu entries since the last publish, "
				 "more than the %g%% the guard allows",
				 res->previous, res->entries, p->max_shrink * 100.0);
			if (!o->force) {
				res->refused = true;
				sh_export_history_free(hist);
				return SH_ECONFLICT;
			}
			warn(o, res->why);
		}
		struct stat st;
		if (f->dir && stat(o->out, &st) != 0 && mkdir(o->out, 0777) != 0) {
			snprintf(res->why, sizeof(res->why), "cannot create %.400s: %s", o->out,
				 strerror(errno));
			sh_export_history_free(hist);
			return SH_EIO;
		}
	}
	if (problems)
		warn(o, res->why);
	c->history = f->history ? hist : NULL;
	/* the versions' records are written beside the output as it is formatted */
	struct sh_export_state *st = NULL;
	if (o->out && c->history) {
		rc = sh_export_state_begin(res->state_path, f->name, res->entries, c->at, true, &st);
		if (rc != 0) {
			snprintf(res->why, sizeof(res->why), "cannot write the state file %.900s",
				 res->state_path);
			c->history = NULL;
			sh_export_history_free(hist);
			return rc;
		}
		c->state = sh_export_state_records(st);
	}
	struct sh_export_target t = {.kind = !o->out ? T_STDOUT : f->dir ? T_DIR : T_FILE,
				     .path = o->out, .state = st, .history = c->history,
				     .state_path = res->state_path};
	for (size_t i = 0; i < TARGET_FILES; i++)
		t.f[i].r.fd = -1;
	rc = f->write(c, &t);
	discard(&t);
	if (rc != 0 && t.why[0])
		snprintf(res->why, sizeof(res->why), "%s", t.why);
	if (rc == SH_EFORMAT && hist && sh_export_history_damaged(hist))
		sh_export_state_damaged(res->state_path, f->name, "entry",
					sh_export_history_damaged(hist), res->why, sizeof(res->why));
	if (rc == 0 && o->out) {
		rc = st ? sh_export_state_end(st, c->history)
			: sh_export_state_save(res->state_path, f->name, res->entries, c->at, NULL);
		st = NULL;
		if (rc == SH_EFORMAT && hist && sh_export_history_damaged(hist))
			sh_export_state_damaged(res->state_path, f->name, "entry",
						sh_export_history_damaged(hist), res->why,
						sizeof(res->why));
		else if (rc != 0)
			snprintf(res->why, sizeof(res->why), "cannot write the state file %.900s",
				 res->state_path);
	}
	sh_export_state_abort(st);
	c->history = NULL;
	c->state = NULL;
	sh_export_history_free(hist);
	if (o->prefetch && !o->prefetch->reaper)
		o->prefetch->reaper = t.reaper;
	else
		reaper_end(t.reaper);
	return rc;
}
