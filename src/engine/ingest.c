/* Feed ingest driver. Each input is parsed twice when needed: a first pass finds the snapshot
 * time (a header, or the DROP metadata line at the end) so that the store can tell a repeated
 * snapshot before any item is handed over; the second pass delivers the items. */
#include "engine/ingest.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/loader.h"

#define DETECT_HEAD 65536
#define STOP_FOUND 1

struct group {
	struct sh_ingest_result res;
	const struct sh_feed_format *fmt;
	struct sh_ingest *in;
};

struct pass {
	const struct sh_ingest_opts *o;
	const char *input;
	int64_t t;
	struct sh_ingest *in;
	unsigned long bad, skipped;
	char skip_why[160]; /* the first reason, for the summary */
	int add_rc;
};

static void diag(const struct sh_ingest_opts *o, const char *input, unsigned long line,
		 const char *msg)
{
	if (o->diag)
		o->diag(o->arg, input, line, msg);
}

static int probe_item(void *arg, const struct sh_feed_item *it, unsigned long line)
{
	const struct pass *p = arg;
	return p->t != SH_TIME_NONE ? STOP_FOUND : 0;
}

static void probe_bad(void *arg, unsigned long line, const char *why)
{
}

static void on_time(void *arg, int64_t t)
{
	struct pass *p = arg;
	if (p->t == SH_TIME_NONE)
		p->t = t;
}

static int add_item(void *arg, const struct sh_feed_item *it, unsigned long line)
{
	struct pass *p = arg;
	int rc = sh_ingest_add(p->in, it);
	if (rc != 0)
		p->add_rc = rc;
	return rc;
}

static void add_bad(void *arg, unsigned long line, const char *why)
{
	struct pass *p = arg;
	p->bad++;
	diag(p->o, p->input, line, why);
}

static void no_time(void *arg, int64_t t)
{
}

static void add_skipped(void *arg, unsigned long line, const char *why)
{
	struct pass *p = arg;
	if (!p->skipped++)
		snprintf(p->skip_why, sizeof(p->skip_why), "line %lu: %s", line, why);
}

static bool stamp_token(const char *s, size_t n, size_t *digits)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			d++;
		else if (s[i] != 'T' && s[i] != 'Z' && s[i] != ':')
			return false;
	}
	*digits += d;
	return d > 0;
}

void sh_source_name(const char *input, char *buf, size_t len)
{
	const char *base = input;
	if (sh_blob_is_url(input)) {
		const char *q = strpbrk(input, "?#");
		size_t n = q ? (size_t)(q - input) : strlen(input);
		while (n > 0 && input[n - 1] == '/')
			n--;
		const char *slash = input;
		for (size_t i = 0; i < n; i++)
			if (input[i] == '/')
				slash = input + i + 1;
		snprintf(buf, len, "%.*s", (int)(input + n - slash), slash);
	} else {
		const char *slash = strrchr(input, '/');
		if (slash)
			base = slash + 1;
		snprintf(buf, len, "%s", base);
	}
	/* drop extensions: everything after the first dot that is followed by a letter run */
	static const char *const exts[] = {".gz", ".txt", ".csv", ".json", ".ndjson", ".netset",
					   ".ipset", ".tsv", ".xml", ".list", ".hosts", ".stix"};
	for (bool again = true; again;) {
		again = false;
		size_t n = strlen(buf);
		for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
			size_t e = strlen(exts[i]);
			if (n > e && strcasecmp(buf + n - e, exts[i]) == 0) {
				buf[n - e] = '\0';
				again = true;
				break;
			}
		}
	}
	/* drop trailing tokens ('-', '_' or '.' separated) of digits, T, Z and ':' that hold at
	 * least six digits together: a date or time stamp */
	size_t n = strlen(buf), cut = n, digits = 0;
	while (cut > 0) {
		size_t start = cut;
		while (start > 0 && !strchr("-_.", buf[start - 1]))
			start--;
		if (start == 0 || !stamp_token(buf + start, cut - start, &digits))
			break;
		cut = start - 1;
	}
	if (digits >= 6 && cut < n)
		buf[cut] = '\0';
	if (!buf[0])
		snprintf(buf, len, "default");
}

static struct group *find_group(struct group **groups, size_t *n, const char *source)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*groups)[i].res.source, source) == 0)
			return &(*groups)[i];
	struct group *g = realloc(*groups, (*n + 1) * sizeof(**groups));
	if (!g)
		return NULL;
	*groups = g;
	g = &g[(*n)++];
	memset(g, 0, sizeof(*g));
	snprintf(g->res.source, sizeof(g->res.source), "%s", source);
	return g;
}

static void ingest_one(struct sh_store *s, const struct sh_ingest_opts *o, const char *input,
		       struct group **groups, size_t *n_groups, struct sh_ingest_summary *sum)
{
	char msg[512];
	struct sh_blob blob;
	int rc = sh_blob_load(input, &blob);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "cannot read: %s", blob.errmsg[0] ? blob.errmsg : sh_strerror(rc));
		diag(o, input, 0, msg);
		sum->unreadable++;
		return;
	}
	const struct sh_feed_format *fmt =
		o->format ? sh_feed_format_find(o->format)
			  : sh_feed_format_detect(blob.data, blob.len < DETECT_HEAD ? blob.len : DETECT_HEAD);
	if (!fmt) {
		diag(o, input, 0, "format not recognised; give --format");
		sum->unreadable++;
		sh_blob_fini(&blob);
		return;
	}
	char source[128];
	if (o->source)
		snprintf(source, sizeof(source), "%s", o->source);
	else
		sh_source_name(input, source, sizeof(source));
	struct group *g = find_group(groups, n_groups, source);
	if (!g) {
		diag(o, input, 0, "out of memory");
		sum->unreadable++;
		sh_blob_fini(&blob);
		return;
	}
	if (!g->fmt) {
		g->fmt = fmt;
		g->res.format = fmt->name;
		rc = sh_ingest_begin(s, source, fmt->name, fmt->full_list, &g->in);
		if (rc != 0) {
			g->res.rc = rc;
			g->in = NULL;
		}
	} else if (g->fmt != fmt) {
		snprintf(msg, sizeof(msg), "format %s differs from %s used for source %s in this run; "
			 "give --source", fmt->name, g->fmt->name, source);
		diag(o, input, 0, msg);
		g->res.refused++;
		sh_blob_fini(&blob);
		return;
	}
	g->res.inputs++;
	if (!g->in) {
		sh_blob_fini(&blob);
		return;
	}

	struct pass p = {.o = o, .input = input, .t = SH_TIME_NONE, .in = g->in};
	if (o->at == SH_TIME_NONE) {
		struct sh_feed_sink probe = {.item = probe_item, .bad_line = probe_bad,
					     .snapshot_time = on_time, .arg = &p};
		(void)fmt->parse(blob.data, blob.len, &probe);
	}
	int64_t t = o->at != SH_TIME_NONE ? o->at : p.t;
	if (t == SH_TIME_NONE) {
		t = blob.mtime != SH_TIME_NONE ? blob.mtime : (int64_t)time(NULL);
		char ts[SH_TIME_STRLEN];
		sh_time_format(t, ts);
		snprintf(msg, sizeof(msg), "no timestamp inside; taken as a snapshot at %s (%s); "
			 "give --at to choose", ts, blob.mtime != SH_TIME_NONE ? "modification time" : "now");
		diag(o, input, 0, msg);
	}
	const char *slash = strrchr(input, '/');
	rc = sh_ingest_snapshot_begin(g->in, t, blob.hash, slash ? slash + 1 : input);
	if (rc == SH_EEXIST) {
		g->res.stats.skipped++;
	} else if (rc == SH_ECONFLICT) {
		char ts[SH_TIME_STRLEN];
		sh_time_format(t, ts);
		snprintf(msg, sizeof(msg), "refused: source %s already has a different snapshot at %s",
			 source, ts);
		diag(o, input, 0, msg);
		g->res.refused++;
	} else if (rc != 0) {
		g->res.rc = rc;
	} else {
		struct sh_feed_sink sink = {.item = add_item, .bad_line = add_bad, .snapshot_time = no_time,
					    .arg = &p, .skipped = add_skipped};
		p.t = t;
		rc = fmt->parse(blob.data, blob.len, &sink);
		if (p.add_rc != 0) {
			g->res.rc = p.add_rc;
		} else {
			if (rc < 0) {
				snprintf(msg, sizeof(msg), "unusable as %s: %s", fmt->name, sh_strerror(rc));
				diag(o, input, 0, msg);
			}
			if (p.skipped) {
				snprintf(msg, sizeof(msg), "%lu entries are not IPs, CIDRs, domains or URLs and "
					 "were left out (first: %s)", p.skipped, p.skip_why);
				diag(o, input, 0, msg);
			}
			rc = sh_ingest_snapshot_end(g->in, p.bad);
			if (rc != 0)
				g->res.rc = rc;
		}
		g->res.bad_lines += p.bad;
	}
	if (g->res.rc != 0) {
		sh_ingest_abort(g->in);
		g->in = NULL;
	}
	sh_blob_fini(&blob);
}

int sh_engine_ingest(struct sh_store *s, const struct sh_ingest_opts *o, char *const *inputs,
		     size_t n, struct sh_ingest_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	struct group *groups = NULL;
	size_t n_groups = 0;
	for (size_t i = 0; i < n; i++) {
		ingest_one(s, o, inputs[i], &groups, &n_groups, sum);
		if (o->progress)
			o->progress(o->arg, i + 1, n);
	}
	int first_rc = 0;
	for (size_t i = 0; i < n_groups; i++) {
		struct group *g = &groups[i];
		if (g->in) {
			g->res.rc = sh_ingest_commit(g->in, &g->res.stats);
			g->in = NULL;
		}
		if (g->res.rc != 0 && first_rc == 0)
			first_rc = g->res.rc;
		sum->bad_lines += g->res.bad_lines;
		sum->refused += g->res.refused;
	}
	sum->sources = calloc(n_groups ? n_groups : 1, sizeof(*sum->sources));
	if (!sum->sources) {
		free(groups);
		return SH_ENOMEM;
	}
	for (size_t i = 0; i < n_groups; i++)
		sum->sources[i] = groups[i].res;
	sum->n_sources = n_groups;
	free(groups);
	return first_rc;
}

void sh_ingest_summary_fini(struct sh_ingest_summary *sum)
{
	free(sum->sources);
	sum->sources = NULL;
	sum->n_sources = 0;
}
