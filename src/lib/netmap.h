/* A network table in memory: prefix -> origin ASN, AS org, country, compiled for lookups. */
#ifndef SH_NETMAP_H
#define SH_NETMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

struct sh_netmap;

/* One row of a network table, as parsers emit it and the store keeps it. */
struct sh_netrow {
	struct sh_prefix prefix;
	uint32_t asn;        /* 0: unknown / not routed */
	const char *org;     /* NUL-terminated, "" when unknown; valid during the call only */
	char country[3];     /* ISO 3166 alpha-2 uppercase, "" when unknown */
};

/* What a lookup finds; strings point into the netmap and live as long as it does. */
struct sh_netinfo {
	struct sh_prefix prefix; /* the longest matching prefix */
	uint32_t asn;
	const char *org;
	const char *country;
};

SH_MUST_CHECK int sh_netmap_new(struct sh_netmap **out);
/* Later rows for the same prefix replace earlier ones. */
SH_MUST_CHECK int sh_netmap_add(struct sh_netmap *m, const struct sh_netrow *row);
/* Compiles the LPM structures; no adds after this. */
SH_MUST_CHECK int sh_netmap_build(struct sh_netmap *m);
/* Longest match for ip: 0 and *out filled, or SH_ENOENT (not covered, or special-purpose
 * space, which is never attributed). Allocation-free and thread-safe after build. */
SH_MUST_CHECK int sh_netmap_lookup(const struct sh_netmap *m, const struct sh_ip *ip,
				   struct sh_netinfo *out);
size_t sh_netmap_count(const struct sh_netmap *m);
void sh_netmap_free(struct sh_netmap *m);

#endif
