/* The standalone HTML report of network intelligence: inline CSS and hand-written SVG charts
 * (top networks, survival curves, lifetime histogram, one-day share over time, countries) and
 * the ranking with its reasons; nothing is fetched when it is viewed. */
#ifndef SH_ENGINE_REPORT_H
#define SH_ENGINE_REPORT_H
#include <stdint.h>
#include <stdio.h>

#include "engine/intel.h"

struct sh_report_opts {
	const char *title;   /* NULL: "sheriff network report" */
	size_t top;          /* networks in the charts and the table; 0: 20 */
	int64_t generated;   /* shown in the header; SH_TIME_NONE to leave out */
};

/* Writes the report of nets (networks by any key) and countries (by country; may be NULL)
 * to out. SH_EIO when writing fails. */
SH_MUST_CHECK int sh_report_write(FILE *out, const struct sh_intel *nets,
				  const struct sh_intel *countries, const struct sh_report_opts *o);

#endif
