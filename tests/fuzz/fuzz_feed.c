/* libFuzzer target for one feed format (compiled once per format with -DSH_FUZZ_FORMAT):
 * parses the input with a sink that checks what every parser promises, and runs detection. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/feed.h"
#include "feeds/lines.h"

#ifndef SH_FUZZ_FORMAT
#error "SH_FUZZ_FORMAT must name a feed format"
#endif

#define STOP_VALUE 4242

struct check {
	unsigned long lines;     /* in the input */
	unsigned long items, stop_after;
	bool snapshot, stopped;
};

/* NULL or a non-empty, NUL-terminated, well-formed UTF-8 string without control bytes. */
static void check_text(const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n == 0)
		abort();
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = sh_utf8_seq(u + i, n - i);
		if (k == 0 || (k == 1 && (u[i] < 0x20 || u[i] == 0x7f)))
			abort();
		i += k;
	}
}

static void check_line(const struct check *c, unsigned long line)
{
	if (line < 1 || line > c->lines)
		abort();
}

static int on_item(void *arg, const struct sh_feed_item *it, unsigned long line)
{
	struct check *c = arg;
	if (c->stopped || !it || !it->ind)
		abort();
	check_line(c, line);
	const struct sh_indicator *ind = it->ind;
	if (ind->type < SH_IND_IP || ind->type > SH_IND_URL)
		abort();
	if (ind->value_len == 0 || ind->value_len >= SH_IND_MAX ||
	    strlen(ind->value) != ind->value_len)
		abort();
	if (it->status != SH_STATUS_UNKNOWN && it->status != SH_STATUS_ONLINE &&
	    it->status != SH_STATUS_OFFLINE)
		abort();
	check_text(it->threat);
	check_text(it->malware);
	check_text(it->tags);
	check_text(it->ref);
	char buf[SH_TIME_STRLEN];
	if (it->first_seen != SH_TIME_NONE && sh_time_format(it->first_seen, buf) != 20)
		abort();
	c->items++;
	if (c->items == c->stop_after) {
		c->stopped = true;
		return STOP_VALUE;
	}
	return 0;
}

static void on_bad(void *arg, unsigned long line, const char *why)
{
	struct check *c = arg;
	check_line(c, line);
	if (!why || !*why)
		abort();
	for (const char *p = why; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

static void on_snapshot(void *arg, int64_t t)
{
	struct check *c = arg;
	if (c->snapshot || c->items)
		abort();
	c->snapshot = true;
}

static void on_skipped(void *arg, unsigned long line, const char *why)
{
	on_bad(arg, line, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sh_feed_format *f = sh_feed_format_find(SH_FUZZ_FORMAT);
	if (!f)
		abort();
	const char *buf = (const char *)data;
	struct check c = {.lines = 1};
	for (size_t i = 0; i < size; i++)
		c.lines += data[i] == '\n';
	/* a few inputs stop early to exercise the stop path */
	c.stop_after = size > 0 && data[size - 1] == 'S' ? 1 : 0;
	struct sh_feed_sink sink = {
		.item = on_item,
		.bad_line = on_bad,
		.snapshot_time = on_snapshot,
		.arg = &c,
		.skipped = on_skipped,
	};
	int rc = f->parse(buf, size, &sink);
	if (c.stopped ? rc != STOP_VALUE : rc > 0)
		abort();
	int score = f->detect(buf, size);
	if (score < 0 || score > 100)
		abort();
	(void)sh_feed_format_detect(buf, size);
	return 0;
}
