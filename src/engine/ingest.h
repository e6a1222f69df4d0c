/* Feed ingest driver: loads inputs, detects formats, groups snapshots by source and hands
 * them to the store, reporting bad lines as file:line. */
#ifndef SH_ENGINE_INGEST_H
#define SH_ENGINE_INGEST_H
#include <stddef.h>

#include "store/store.h"

struct sh_ingest_opts {
	const char *format; /* NULL: detected per input */
	const char *source; /* NULL: derived from each input's name (sh_source_name) */
	int64_t at;         /* SH_TIME_NONE: the input's own timestamp, else its mtime */
	/* Diagnostics: line 0 for messages about a whole input. */
	void (*diag)(void *arg, const char *input, unsigned long line, const char *msg);
	/* Called after each input. */
	void (*progress)(void *arg, size_t done, size_t total);
	void *arg;
};

/* What happened to one source. */
struct sh_ingest_result {
	char source[128];
	const char *format;
	struct sh_ingest_stats stats;
	unsigned long inputs, bad_lines, refused; /* refused: conflicting or unusable inputs */
	int rc;                                   /* commit result */
};

struct sh_ingest_summary {
	struct sh_ingest_result *sources;
	size_t n_sources;
	unsigned long unreadable; /* inputs that could not be loaded or whose format is unknown */
	unsigned long bad_lines, refused;
};

/* Ingests inputs[0..n). Returns 0 when every source committed (inputs may still have had bad
 * lines: see the summary), else the first commit error. Free the summary with
 * sh_ingest_summary_fini. */
SH_MUST_CHECK int sh_engine_ingest(struct sh_store *s, const struct sh_ingest_opts *o,
				   char *const *inputs, size_t n, struct sh_ingest_summary *sum);
void sh_ingest_summary_fini(struct sh_ingest_summary *sum);

/* Default source name of an input: its base name without extensions and without a trailing
 * date/time stamp, e.g. "urlhaus-filter-online-20200207T120849Z.txt" -> "urlhaus-filter-online",
 * "feodo_ipblocklist_2024-04-04.csv" -> "feodo_ipblocklist". */
void sh_source_name(const char *input, char *buf, size_t len);

#endif
