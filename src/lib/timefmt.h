/* Timestamps: parsing the forms feeds use, formatting as RFC 3339 UTC. */
#ifndef SH_TIMEFMT_H
#define SH_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SH_TIME_NONE INT64_MIN
#define SH_TIME_STRLEN 21 /* "2020-02-07T12:08:47Z" + NUL */

/* Unix seconds from: RFC 3339 ("2020-02-07T12:08:47Z", "+02:00" offsets, fractions ignored),
 * "2020-02-07 12:08:47" (UTC assumed, optional " UTC"), "2020-02-07" (midnight UTC),
 * RFC 2822 ("Fri, 07 Feb 2020 12:08:47 UTC|GMT|+0200"), ctime-like
 * ("Mon Nov  2 15:31:10 UTC 2015"), "@1581077327" and plain epoch seconds.
 * Surrounding whitespace allowed. SH_EINVAL otherwise. */
SH_MUST_CHECK int sh_time_parse(const char *s, size_t n, int64_t *out);

/* RFC 3339 UTC text; returns the length. */
size_t sh_time_format(int64_t t, char buf[SH_TIME_STRLEN]);

#endif
