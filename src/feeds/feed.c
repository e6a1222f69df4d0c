/* Feed format registry: the table behind --format, and detection over a file's head. */
#include "feeds/feed.h"

#include <string.h>

#include "feeds/lines.h"

/* Detection asks every format and takes the highest score, so the order here only breaks
 * ties; plain, the fallback, scores lowest by design. */
const struct sh_feed_format *const sh_feed_formats[] = {
	&sh_feed_urlhaus,
	&sh_feed_drop_json,
	&sh_feed_drop,
	&sh_feed_firehol,
	&sh_feed_threatfox_csv,
	&sh_feed_threatfox_json,
	&sh_feed_feodo,
	&sh_feed_phishtank_csv,
	&sh_feed_phishtank_json,
	&sh_feed_ipsum,
	&sh_feed_plain,
	&sh_feed_stix,
	NULL,
};

const struct sh_feed_format *sh_feed_format_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; sh_feed_formats[i]; i++)
		if (strcmp(sh_feed_formats[i]->name, name) == 0)
			return sh_feed_formats[i];
	return NULL;
}

const struct sh_feed_format *sh_feed_format_detect(const char *head, size_t n)
{
	const struct sh_feed_format *best = NULL;
	int best_score = 0;
	if (!head || n == 0)
		return NULL;
	for (size_t i = 0; sh_feed_formats[i]; i++) {
		int score = sh_feed_formats[i]->detect(head, n);
		if (score > best_score) {
			best = sh_feed_formats[i];
			best_score = score;
		}
	}
	return best;
}
