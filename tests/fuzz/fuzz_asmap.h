/* Shared body of the network-table fuzz targets: parse, load into a netmap, build, look up,
 * checking the parsers' contracts (rows the netmap accepts, bad lines in increasing order
 * with a reason, every row's own first address found again). */
#ifndef SH_FUZZ_ASMAP_H
#define SH_FUZZ_ASMAP_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/netmap.h"
#include "netmap/asmap.h"

/* Enough rows to exercise the LPM, few enough to keep each input fast. */
#define FUZZ_MAX_ROWS 5000
#define FUZZ_PROBES 16

struct fuzz_ctx {
	struct sh_netmap *m;
	size_t rows;
	unsigned long last_bad, max_line;
	struct sh_ip probe[FUZZ_PROBES];
	size_t n_probe;
};

static inline int fuzz_on_row(const struct sh_netrow *row, void *arg)
{
	struct fuzz_ctx *c = arg;
	if (!row->org || strlen(row->country) > 2)
		abort();
	if (c->rows++ >= FUZZ_MAX_ROWS)
		return 0;
	if (sh_netmap_add(c->m, row) != 0)
		abort();
	if (c->n_probe < FUZZ_PROBES)
		c->probe[c->n_probe++] = row->prefix.ip;
	return 0;
}

static inline void fuzz_on_bad(unsigned long line, const char *why, void *arg)
{
	struct fuzz_ctx *c = arg;
	if (line <= c->last_bad || line > c->max_line || !why || !*why)
		abort();
	c->last_bad = line;
}

/* Builds the netmap and checks that each probe (a row's first address) is found. */
static inline void fuzz_finish(struct fuzz_ctx *c)
{
	if (sh_netmap_build(c->m) != 0)
		abort();
	for (size_t i = 0; i < c->n_probe; i++) {
		struct sh_netinfo ni;
		int rc = sh_netmap_lookup(c->m, &c->probe[i], &ni);
		if (rc == 0 ? !sh_prefix_contains(&ni.prefix, &c->probe[i]) || !ni.org
			    : rc != SH_ENOENT || !sh_ip_special(&c->probe[i]))
			abort();
	}
	sh_netmap_free(c->m);
}

static inline void fuzz_asmap_text(enum sh_asmap_format f, const uint8_t *data, size_t size)
{
	struct fuzz_ctx c = {.max_line = 1};
	for (size_t i = 0; i < size; i++)
		c.max_line += data[i] == '\n';
	(void)sh_asmap_format_detect((const char *)data, size);
	if (sh_netmap_new(&c.m) != 0)
		abort();
	int fields;
	if (sh_asmap_parse_text(f, (const char *)data, size, fuzz_on_row, fuzz_on_bad, &c,
				&fields) != 0)
		abort();
	if (c.rows && !fields)
		abort();
	fuzz_finish(&c);
}

#endif
